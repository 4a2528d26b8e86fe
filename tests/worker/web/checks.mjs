// Checks of the review page shared by the browser test's steps (review.mjs): what of a person
// remains after they log out, and axe-core's WCAG 2.x A and AA rules. Each returns the problems
// it found, as sentences; an empty list is a pass.
import fs from 'node:fs';
import { createRequire } from 'node:module';

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// What a person could find of someone else on the page: its markup, its form fields and the
// browser's storage.
export async function pageSnapshot(page) {
  return page.evaluate(() => ({
    html: document.body.outerHTML,
    values: [...document.querySelectorAll('input, textarea, select')]
      .map((e) => `${e.id}=${e.type === 'checkbox' ? e.checked : e.value}`)
      .join(' '),
    session: Object.keys(sessionStorage),
    local: Object.keys(localStorage),
  }));
}

function firstDifference(a, b) {
  const ta = a.split(/(?=<)/);
  const tb = b.split(/(?=<)/);
  let i = 0;
  while (i < ta.length && i < tb.length && ta[i] === tb[i]) i++;
  const cut = (t) => JSON.stringify((t || '').slice(0, 200));
  return `fresh ${cut(ta[i])}, now ${cut(tb[i])}`;
}

// After who logged out, the page must be the one a new visitor gets (fresh, from pageSnapshot
// before anyone signed in); localStorage may keep only settings under a person's name
// (modq.KIND.SUB...), one of subs.
export async function leftovers(page, fresh, who, subs) {
  const now = await pageSnapshot(page);
  const found = [];
  if (now.html !== fresh.html)
    found.push(`after ${who} logged out, the page is not a fresh one: ${firstDifference(fresh.html, now.html)}`);
  if (now.values !== fresh.values)
    found.push(`after ${who} logged out, form fields hold '${now.values}', not '${fresh.values}'`);
  if (now.session.length) found.push(`after ${who} logged out, sessionStorage keeps ${now.session.join(', ')}`);
  const unkeyed = now.local.filter(
    (k) => !subs.some((s) => k.startsWith('modq.') && k.split('.')[2] === encodeURIComponent(s)),
  );
  if (unkeyed.length) found.push(`localStorage keys not under a person's name: ${unkeyed.join(', ')}`);
  return found;
}

// axe-core over the page as it is now (colour contrast included), injected through the driver:
// the page's CSP allows no inline script.
export async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
    });
    const why = (n) => [...n.any, ...n.all, ...n.none].map((c) => c.message).filter(Boolean)[0] || '';
    return r.violations.map(
      (v) =>
        `${v.id} (${v.impact}): ${v.nodes
          .slice(0, 3)
          .map((n) => `${n.target.join(' ')}: ${why(n)}`)
          .join('; ')}`,
    );
  });
}
