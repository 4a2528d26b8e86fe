// Browser test of the review page (worker/web/) against a running modq-worker --demo, driven by
// tests/worker/test_worker_web.sh. Env: MODQ_WEB_URL, MODQ_ASSOCIATE_TOKEN, MODQ_LEAD_TOKEN,
// MODQ_ARTIFACTS (screenshots), MODQ_CHROMIUM (default /usr/bin/chromium); optional
// MODQ_QA_TOKEN (roles associate and qa) and MODQ_LEAD_ASSOCIATE_TOKEN (roles associate and lead)
// for the QA tab and the two-role tabs, skipped without them.
// Every wait is timeboxed; the first failure prints which step failed and why, saves
// failure.png, and exits 1. axe-core checks the views it is run on against WCAG 2.x A and AA.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { axeViolations, leftovers, pageSnapshot } from './checks.mjs';

const base = process.env.MODQ_WEB_URL;
const assocToken = process.env.MODQ_ASSOCIATE_TOKEN;
const leadToken = process.env.MODQ_LEAD_TOKEN;
const qaToken = process.env.MODQ_QA_TOKEN || '';
const leadAssocToken = process.env.MODQ_LEAD_ASSOCIATE_TOKEN || '';
const out = process.env.MODQ_ARTIFACTS || 'web-artifacts';
const exe = process.env.MODQ_CHROMIUM || '/usr/bin/chromium';
const BREAK_WAIT_MS = Number(process.env.MODQ_WEB_BREAK_WAIT_MS || 150000);
if (!base || !assocToken || !leadToken) {
  console.error('review.mjs: MODQ_WEB_URL, MODQ_ASSOCIATE_TOKEN and MODQ_LEAD_TOKEN are required');
  process.exit(2);
}
fs.mkdirSync(out, { recursive: true });

const claims = (t) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString());
const assocSub = claims(assocToken).sub;
const leadSub = claims(leadToken).sub;
const subs = [assocToken, leadToken, qaToken, leadAssocToken].filter(Boolean).map((t) => claims(t).sub);
const t0 = Date.now();
const log = (m) => console.log(`[web ${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);

let page;
let current = 'start';
function check(cond, what) {
  if (!cond) throw new Error(what);
}
async function step(name, fn) {
  current = name;
  log(`step: ${name}`);
  await fn();
}
async function shot(name) {
  await page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true });
}

// ---- Plain HTTP checks ---------------------------------------------------------------------
async function headerChecks() {
  const r = await fetch(new URL('/', base));
  check(r.status === 200, `GET / answered ${r.status}`);
  const csp = r.headers.get('content-security-policy') || '';
  check(
    csp.includes("default-src 'none'") && csp.includes("script-src 'self'"),
    `GET /: CSP missing or weak: '${csp}'`,
  );
  const html = await r.text();
  const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
  check(
    scripts.length === 1 && /type="module"/.test(scripts[0]) && /src="\/static\/main\.js"/.test(scripts[0]),
    `GET /: index.html should load only the module /static/main.js, not ${scripts.join(' ')}`,
  );
  const css = await fetch(new URL('/static/app.css', base));
  check(css.status === 200, `GET /static/app.css answered ${css.status}`);
  // The module graph from main.js: every import is a flat /static/NAME.js served as JavaScript.
  const todo = ['main.js'];
  while (todo.length) {
    const f = todo.shift();
    const s = await fetch(new URL(`/static/${f}`, base));
    check(s.status === 200, `GET /static/${f} answered ${s.status}`);
    check(
      /javascript/.test(s.headers.get('content-type') || ''),
      `/static/${f} is served as '${s.headers.get('content-type')}'`,
    );
    const src = await s.text();
    for (const m of src.matchAll(/^import [^;]*? from '([^']+)';/gm)) {
      const name = m[1].match(/^\/static\/([A-Za-z0-9._-]+\.js)$/);
      check(name, `${f} imports '${m[1]}', not a flat /static/NAME.js`);
      if (!modules.has(name[1])) todo.push(name[1]);
      modules.add(name[1]);
    }
  }
  modules.add('main.js');
  log(`  ${modules.size} modules: ${[...modules].join(' ')}`);
  const n = await fetch(new URL('/v1/me', base));
  check(n.status === 401, `GET /v1/me without a token answered ${n.status}, not 401`);
}

// ---- Browser -------------------------------------------------------------------------------
const requests = []; // {method, url, auth, body}
const entries = new WeakMap(); // playwright request -> entry in requests
const mediaResponses = [];
let lastItem = null; // the item of the last /v1/next answer
const denials = []; // the bodies of 423 answers, in order
const cspErrors = [];
const modules = new Set(); // the module graph from main.js, found by headerChecks
const loadedModules = new Set(); // the modules the browser fetched

function mediaReqs() {
  return requests.filter((r) => /\/v1\/items\/[^/]+\/media/.test(r.url));
}
function levelOf(url) {
  return Number(new URL(url).searchParams.get('level'));
}
async function imgLevel() {
  return page.evaluate(() => {
    const img = document.querySelector('#media-frame img');
    return img && img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0 ? Number(img.dataset.level) : -1;
  });
}
async function waitImgLevel(level, ms, what) {
  try {
    await page.waitForFunction(
      (lv) => {
        const img = document.querySelector('#media-frame img');
        return (
          img && img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0 && Number(img.dataset.level) === lv
        );
      },
      level,
      { timeout: ms },
    );
  } catch {
    throw new Error(`${what}: no image at level ${level} within ${ms / 1000} s (now ${await imgLevel()})`);
  }
}
async function visible(sel) {
  return page.locator(sel).isVisible();
}
async function signIn(token) {
  await page.waitForSelector('#token-input', { state: 'visible', timeout: 10000 });
  await page.fill('#token-input', token);
  await page.click('#login-form button[type=submit]');
}
// The review view's state: 'card' (with or without media), 'empty', 'denied', 'break' or ''.
async function reviewState() {
  return page.evaluate(() => {
    const vis = (id) => {
      const e = document.getElementById(id);
      return !!e && e.checkVisibility();
    };
    if (vis('view-break')) return 'break';
    if (vis('card')) return 'card';
    if (vis('state-empty')) return 'empty';
    if (vis('state-denied')) return 'denied';
    return '';
  });
}
async function currentItem() {
  return page.evaluate(() => {
    const img = document.querySelector('#media-frame img');
    return {
      category: document.getElementById('card-category').textContent,
      hasMedia: !document.getElementById('media-block').hidden,
      tier: Number(document.getElementById('card-tier').textContent),
      level: img && img.src.startsWith('blob:') && img.naturalWidth > 0 ? Number(img.dataset.level) : -1,
      peekable: !document.getElementById('btn-peek').disabled,
    };
  });
}

// Waits for an item with media of tier 3 or 4 (it opens at the heaviest level, 3, and reveals
// one level at a time) that allows peeking; other items are decided "no violation" with the
// keyboard to move on. Every item with media must open at level 3, spam too; the first one of
// tier 1 or 2 is revealed once, which must open it at its tier's level (short-policy.yaml: 0, 2).
async function waitForBlurredItem(ms) {
  const end = Date.now() + ms;
  let decided = 0;
  let opened = false;
  while (Date.now() < end) {
    const s = await reviewState();
    if (s === 'break') throw new Error('sent on a break before any blurred item was seen');
    if (s === 'card') {
      const it = await currentItem();
      if (it.hasMedia && it.level < 0) {
        await page.waitForTimeout(200);
        continue;
      }
      check(
        !it.hasMedia || it.level === 3,
        `a ${it.category} item (tier ${it.tier}) opened at level ${it.level}, not 3`,
      );
      if (it.hasMedia && it.tier >= 3 && it.peekable) {
        if (!opened)
          log('  no tier-1/2 item came first: its first reveal is left to tests/worker/desk/test_worker_desk.c');
        return it;
      }
      if (it.hasMedia && it.tier <= 2 && !opened) {
        const open = it.tier === 1 ? 0 : 2;
        await page.keyboard.press('v');
        await waitImgLevel(open, 5000, `a first reveal of a tier-${it.tier} item`);
        log(`  a ${it.category} item (tier ${it.tier}) opened at 3, its first reveal at ${open}`);
        opened = true;
      }
      log(`  skipping an item (${it.category}, media ${it.hasMedia}, level ${it.level}): key 1`);
      const before = requests.length;
      await page.keyboard.press('1');
      decided++;
      await waitForRequest((r) => r.method === 'POST' && r.url.includes('/decision'), 10000, before, 'skip decision');
      await page.waitForTimeout(300);
      continue;
    }
    await page.waitForTimeout(300);
  }
  throw new Error(
    `no blurred item with media within ${ms / 1000} s (state ${await reviewState()}, ${decided} skipped)`,
  );
}

// Waits for a request matching pred (made after requests[from]) and its answer; checks the
// status when want is given.
async function waitForRequest(pred, ms, from = 0, what = 'request', want = 0) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const r = requests.slice(from).find(pred);
    if (r && r.status) {
      check(!want || r.status === want, `${what}: answered ${r.status}, not ${want}`);
      return r;
    }
    await page.waitForTimeout(100);
  }
  throw new Error(`${what}: no matching request answered within ${ms / 1000} s`);
}

async function logOut(who) {
  await page.click('#btn-logout');
  await page.waitForSelector('#view-login', { state: 'visible', timeout: 5000 });
  await checkNothingRemains(who);
}

// The page as a new visitor gets it, taken before anyone signs in: after every log out the page
// must be that again (nothing of one person may remain for the next).
let pristine = null;
async function checkNothingRemains(who) {
  const found = await leftovers(page, pristine, who, subs);
  check(found.length === 0, found.join(' | '));
}
// The break view says what the server's last 423 with this reason said, as it said it (the page
// keeps no texts of its own for a denial).
async function checkBreakSays(reason) {
  let said = '';
  let sent;
  const end = Date.now() + 3000;
  do {
    sent = denials.filter((d) => d.reason === reason).pop();
    said = await page.textContent('#break-text-body');
    if (sent && said === sent.message) return;
    await page.waitForTimeout(200);
  } while (Date.now() < end);
  check(sent, `the break view shows for ${reason} with no 423 ${reason} answer seen`);
  check(sent.message, `the 423 ${reason} answer carries no message: ${JSON.stringify(sent)}`);
  throw new Error(`the break view says '${said}', not the server's message '${sent.message}'`);
}
async function keysOn() {
  return page.evaluate(() => document.getElementById('pref-keys')?.checked);
}
async function axeCheck(what) {
  const found = await axeViolations(page);
  check(found.length === 0, `axe on ${what}: ${found.join(' | ')}`);
  log(`  axe: ${what} clean`);
}

// Waits for an item card with its image on screen at level 3, moving past items without media
// with the No violation button (the mouse: the person may have turned keys off).
async function waitForMediaCard(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if ((await reviewState()) === 'card') {
      const it = await currentItem();
      if (it.hasMedia && it.level === 3) return it;
      if (!it.hasMedia) {
        const before = requests.length;
        await page.click('button.decide[data-verdict="no_violation"]');
        await waitForRequest((r) => r.method === 'POST' && r.url.includes('/decision'), 10000, before, 'skip decision');
      }
    }
    await page.waitForTimeout(300);
  }
  throw new Error(`no item with its image on screen within ${ms / 1000} s (state ${await reviewState()})`);
}

// Waits until the review view settles on a card or the empty state.
async function waitCardOrEmpty(ms, what) {
  const end = Date.now() + ms;
  let s;
  while (!['card', 'empty'].includes((s = await reviewState()))) {
    check(Date.now() < end, `${what}: no card or empty state within ${ms / 1000} s (state ${s})`);
    await page.waitForTimeout(200);
  }
  return s;
}

// QA: a person with the associate and qa roles gets Review and QA tabs; the QA tab gets a copy
// of something the associate decided (every decision is sampled in this test) on the same card,
// and deciding it is the second review.
async function qaSteps() {
  let qaItem;
  await step('QA: an associate+qa token gets the Review and QA tabs, Review first', async () => {
    await logOut('the lead');
    await signIn(qaToken);
    await page.waitForSelector('#tabs', { state: 'visible', timeout: 10000 });
    check((await visible('#tab-review')) && (await visible('#tab-qa')), 'no Review and QA tabs');
    check(
      !(await visible('#tab-team')) && !(await visible('#tab-esc')),
      'Team or Escalations tab without the lead role',
    );
    check((await page.getAttribute('#tab-review', 'aria-selected')) === 'true', 'the Review tab is not selected first');
    await waitCardOrEmpty(15000, 'Review tab');
  });

  await step('QA tab: the review item is handed back, a QA copy of an associate decision shows', async () => {
    const onScreen = (await reviewState()) === 'card';
    const from = requests.length;
    const nextAnswer = page.waitForResponse((r) => r.url().includes('/v1/next?queue=qa'), { timeout: 10000 });
    await page.click('#tab-qa');
    const body = await (await nextAnswer).json();
    log(`  the Review tab showed ${onScreen ? 'an item: it must be handed back' : 'nothing'}`);
    if (onScreen) {
      await waitForRequest(
        (r) => r.method === 'POST' && r.url.includes('/release'),
        5000,
        from,
        'release of the Review item',
        200,
      );
    }
    check(body.item, `GET /v1/next?queue=qa gave no item: ${JSON.stringify(body)}`);
    qaItem = body.item;
    const decidedByAssoc = requests
      .filter((r) => r.method === 'POST' && r.url.includes('/decision') && r.auth === `Bearer ${assocToken}`)
      .map((r) => decodeURIComponent(r.url.match(/\/v1\/items\/([^/]+)\/decision/)[1]));
    check(
      decidedByAssoc.includes(qaItem.id),
      `QA item ${qaItem.id} is not one the associate decided (${decidedByAssoc.join(', ')})`,
    );
    await page.waitForSelector('#card-qa', { state: 'visible', timeout: 5000 });
    check(!(await visible('#btn-escalate')), 'Escalate is offered on a QA copy');
    if (qaItem.has_media) await waitImgLevel(qaItem.level, 10000, 'QA item media');
    await shot('09-qa-item');
  });

  await step('QA: E does nothing, 3 records the second review', async () => {
    await page.focus('#card');
    await page.keyboard.press('e');
    await page.waitForTimeout(300);
    check(!(await visible('#dlg-escalate')), 'E opened the escalation dialog on a QA copy');
    const from = requests.length;
    await page.keyboard.press('3');
    const d = await waitForRequest(
      (r) => r.method === 'POST' && r.url.includes('/decision'),
      5000,
      from,
      'QA decision',
      200,
    );
    check(d.url.includes(`/v1/items/${encodeURIComponent(qaItem.id)}/decision`), `QA decision went to ${d.url}`);
    check(JSON.parse(d.body).verdict === 'restrict', `QA decision body ${d.body}`);
    await waitForRequest((r) => r.url.includes('/v1/next?queue=qa'), 5000, from, 'next QA item after the decision');
  });
}

// A person with the associate and lead roles gets the review view and the lead's views.
async function leadAssociateSteps() {
  await step('lead+associate: Review, Team and Escalations tabs, Review first', async () => {
    await logOut('the QA reviewer');
    await signIn(leadAssocToken);
    await page.waitForSelector('#tabs', { state: 'visible', timeout: 10000 });
    for (const id of ['#tab-review', '#tab-team', '#tab-esc']) check(await visible(id), `no ${id} tab`);
    check(!(await visible('#tab-qa')), 'a QA tab without the qa role');
    await waitCardOrEmpty(15000, 'Review tab');
    await page.click('#tab-team');
    await page.waitForSelector('#view-team', { state: 'visible', timeout: 5000 });
    try {
      await page.waitForSelector(`#team-body tr[data-associate="${claims(leadAssocToken).sub}"]`, { timeout: 10000 });
    } catch {
      throw new Error(
        `the team table does not list ${claims(leadAssocToken).sub}: '${await page.textContent('#team-body')}'`,
      );
    }
    check(!(await visible('#view-review')), 'the review view shows beside the team view');
    await shot('10-lead-associate-team');
    await logOut('the lead with the associate role');
  });
}

async function run() {
  await step('headers on / and static files', headerChecks);
  const browser = await chromium.launch({ executablePath: exe, headless: true, args: ['--headless', '--no-sandbox'] });
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await ctx.newPage();
    page.on('console', (m) => {
      const t = m.text();
      if (/Content.Security.Policy|Refused to/i.test(t)) cspErrors.push(t);
      if (m.type() === 'error' && !/status of 423/.test(t)) log(`  console error: ${t}`);
    });
    page.on('pageerror', (e) => {
      cspErrors.push(`page error: ${e.message}`);
    });
    page.on('request', (req) => {
      const u = req.url();
      if (!u.startsWith(base.replace(/\/$/, '')) && !u.startsWith('blob:'))
        cspErrors.push(`request outside the worker: ${u}`);
      if (u.includes('/v1/')) {
        const entry = {
          method: req.method(),
          url: u,
          auth: req.headers().authorization || '',
          body: req.postData() || '',
          status: 0,
        };
        entries.set(req, entry);
        requests.push(entry);
      }
    });
    page.on('response', async (res) => {
      const js = res.url().match(/\/static\/([A-Za-z0-9._-]+\.js)$/);
      if (js && res.status() === 200) loadedModules.add(js[1]);
      else if (js) cspErrors.push(`GET ${res.url()} answered ${res.status()}`);
      const entry = entries.get(res.request());
      if (entry) entry.status = res.status();
      if (/\/v1\/next/.test(res.url()) && res.status() === 200) {
        res
          .json()
          .then((b) => {
            if (b.item) lastItem = b.item;
          })
          .catch(() => {});
      }
      if (/\/v1\//.test(res.url()) && res.status() === 423)
        res
          .json()
          .then((b) => denials.push(b))
          .catch(() => {});
      if (/\/v1\/items\/[^/]+\/media/.test(res.url())) {
        mediaResponses.push({
          url: res.url(),
          status: res.status(),
          cache: (await res.allHeaders())['cache-control'] || '',
        });
      }
    });

    await step('open the page and sign in as the associate', async () => {
      await page.goto(base, { timeout: 15000 });
      await page.waitForSelector('#view-login', { state: 'visible', timeout: 10000 });
      pristine = await pageSnapshot(page);
      await axeCheck('the sign-in view');
      await signIn(assocToken);
      const missing = [...modules].filter((m) => !loadedModules.has(m));
      check(missing.length === 0, `modules not loaded by the browser: ${missing.join(' ')}`);
      check(!(await visible('#tabs')), 'an associate-only token shows tabs');
    });

    let item;
    await step('a blurred item appears (media by fetch with the Authorization header)', async () => {
      item = await waitForBlurredItem(60000);
      const m = mediaReqs();
      check(m.length > 0, 'no media request was made');
      const first = m[m.length - 1];
      check(
        levelOf(first.url) === 3,
        `the media request asked for level ${levelOf(first.url)}, not the item's level 3`,
      );
      check(first.auth === `Bearer ${assocToken}`, 'the media request did not carry the Authorization header');
      const ok = mediaResponses.find((r) => r.url === first.url && r.status === 200);
      check(ok, 'no 200 answer for the media request');
      check(/no-store/.test(ok.cache), `media Cache-Control is '${ok.cache}', not no-store`);
      log(`  item: ${item.category}, level ${item.level}`);
      await shot('01-blurred-item');
      await axeCheck('the review card');
    });

    await step('peek: hold the button, level 1 only while held', async () => {
      const from = requests.length;
      await page.locator('#btn-peek').hover();
      await page.mouse.down();
      await waitForRequest((r) => r.url.includes('/media') && levelOf(r.url) === 1, 5000, from, 'peek request');
      await waitImgLevel(1, 5000, 'while held');
      await shot('02-peek-held');
      const held = requests.length;
      await page.mouse.up();
      await waitImgLevel(3, 5000, 'after release');
      await waitForRequest((r) => r.url.includes('/media') && levelOf(r.url) === 3, 5000, held, 'back to level 3');
      check(
        !requests.slice(held).some((r) => r.url.includes('/media') && levelOf(r.url) === 1),
        'a level-1 request after release',
      );
    });

    await step('peek with Space held on a focused decision button (no decision is made)', async () => {
      await page.focus('button.decide[data-verdict="remove"]');
      const from = requests.length;
      await page.keyboard.down('Space');
      await waitForRequest((r) => r.url.includes('/media') && levelOf(r.url) === 1, 5000, from, 'Space peek request');
      await waitImgLevel(1, 5000, 'Space held');
      await page.keyboard.up('Space');
      await waitImgLevel(3, 5000, 'Space released');
      await page.waitForTimeout(300);
      check(
        !requests.slice(from).some((r) => r.url.includes('/decision')),
        'Space on a focused button made a decision',
      );
      await page.focus('#card');
    });

    await step('reveal step by step, with a typed reason for the clear view', async () => {
      for (const lv of [2, 1]) {
        await page.keyboard.press('v');
        await waitImgLevel(lv, 5000, `reveal to ${lv}`);
      }
      const from = requests.length;
      await page.keyboard.press('v');
      await page.waitForSelector('#dlg-reason[open]', { timeout: 5000 });
      await shot('03-reveal-reason');
      await page.fill('#reason-input', 'web test: checking a detail');
      await page.click('#form-reason button[type=submit]');
      const rv = await waitForRequest(
        (r) => r.method === 'POST' && r.url.includes('/reveal'),
        5000,
        from,
        'reveal POST',
        200,
      );
      const body = JSON.parse(rv.body);
      check(body.level === 0 && body.reason === 'web test: checking a detail', `reveal body ${rv.body}`);
      await waitImgLevel(0, 5000, 'after the reveal');
      check(mediaReqs().slice(-1)[0].url.includes('level=0'), 'no level-0 media request after the reveal');
    });

    await step('decide with the keyboard (2 = remove)', async () => {
      const from = requests.length;
      await page.keyboard.press('2');
      const d = await waitForRequest(
        (r) => r.method === 'POST' && r.url.includes('/decision'),
        5000,
        from,
        'decision',
        200,
      );
      check(JSON.parse(d.body).verdict === 'remove', `decision body ${d.body}`);
      await waitForRequest((r) => r.url.includes('/v1/next'), 5000, from, 'next after the decision');
    });

    await step('single-key shortcuts act only while the item card has focus (WCAG 2.1.4)', async () => {
      await waitCardOrEmpty(30000, 'after the decision');
      const end = Date.now() + 60000;
      while ((await reviewState()) !== 'card') {
        check(Date.now() < end, `no item on screen (state ${await reviewState()})`);
        await page.waitForTimeout(300);
      }
      await page.click('.brand'); // the focus leaves the card for the page itself
      check(await page.evaluate(() => document.activeElement === document.body), 'the focus is not on the page body');
      const from = requests.length;
      await page.keyboard.press('4');
      await page.keyboard.press('e');
      await page.waitForTimeout(1000);
      const acts = requests
        .slice(from)
        .filter((r) => r.method === 'POST' && /\/(decision|escalate|release)$/.test(r.url));
      check(
        acts.length === 0,
        `a stray key with the focus on the page body acted: ${acts.map((r) => `${r.url.replace(/^.*\/v1/, '/v1')} ${r.body}`).join('; ')}`,
      );
      check(
        !(await visible('#dlg-escalate')),
        'a stray E with the focus on the page body opened the escalation dialog',
      );
      check((await reviewState()) === 'card', `the item left the screen (state ${await reviewState()})`);
    });

    await step('shortcuts can be turned off (a visible setting, per person)', async () => {
      try {
        await page.uncheck('#pref-keys', { timeout: 5000 });
      } catch (e) {
        throw new Error(`no shortcut setting to turn off: ${e.message.split('\n')[0]}`);
      }
      await page.focus('#card');
      const from = requests.length;
      await page.keyboard.press('1');
      await page.waitForTimeout(1000);
      check(
        !requests.slice(from).some((r) => r.url.includes('/decision')),
        'key 1 decided with the shortcuts turned off',
      );
      check(
        !(await page.locator('button.decide kbd').first().isVisible()),
        'key hints still show on the buttons with the shortcuts off',
      );
      check(await visible('#keys-off'), 'nothing says the shortcuts are off');
      await shot('03b-keys-off');
      await axeCheck('the review card with the shortcuts off');
    });

    await step('I need support: the image leaves the screen at once, the message goes with the request', async () => {
      await waitForMediaCard(60000);
      const shown = lastItem;
      const blobImages = () =>
        page.evaluate(() =>
          [...document.images].filter((i) => i.src.startsWith('blob:')).map((i) => `level ${i.dataset.level}`),
        );
      await page.click('#btn-support');
      await page.waitForSelector('#dlg-support[open]', { timeout: 5000 });
      let imgs = await blobImages();
      check(imgs.length === 0, `the image is still on screen with the support dialog open (${imgs.join(', ')})`);
      // Cancelled, the image stays away until the person brings it back, at the heaviest blur.
      await page.click('#form-support button[data-close]');
      await page.waitForTimeout(1000);
      imgs = await blobImages();
      check(
        imgs.length === 0,
        `the image came back by itself after the support dialog was cancelled (${imgs.join(', ')})`,
      );
      check(await visible('#media-hidden'), 'nothing says the image is hidden');
      await shot('04a-image-hidden');
      await axeCheck('the card with its image hidden');
      await page.click('#btn-show-again');
      await waitImgLevel(3, 5000, 'shown again');
      await page.click('#btn-support');
      await page.waitForSelector('#dlg-support[open]', { timeout: 5000 });
      imgs = await blobImages();
      check(imgs.length === 0, `the image is still on screen with the support dialog open again (${imgs.join(', ')})`);
      await shot('04b-support-dialog');
      await axeCheck('the support dialog');
      await page.fill('#support-message', 'web test:\nthat one stayed with me');
      const from = requests.length;
      await page.click('#form-support button[type=submit]');
      const sup = await waitForRequest(
        (r) => r.method === 'POST' && r.url.endsWith('/v1/support'),
        5000,
        from,
        'support POST',
        202,
      );
      check(JSON.parse(sup.body).message === 'web test: that one stayed with me', `support body ${sup.body}`);
      await waitForRequest(
        (r) => r.method === 'POST' && r.url.endsWith(`/v1/items/${encodeURIComponent(shown.id)}/release`),
        5000,
        from,
        'release of the item on screen',
        200,
      );
      await page.waitForSelector('#state-support', { state: 'visible', timeout: 5000 });
      check(!(await visible('#card')), 'the item card still shows after the support request');
      await page.waitForTimeout(1500);
      check(
        !requests.slice(from).some((r) => r.url.includes('/v1/next')),
        'a new item was asked for without the person saying so',
      );
      await shot('04c-support-sent');
      await axeCheck('the view after a support request');
      await page.click('#btn-support-continue');
      await waitCardOrEmpty(15000, 'continue after the support request');
    });

    await step('a desk changing hands (503 unconfirmed) takes the item off the screen; it comes back', async () => {
      await waitForMediaCard(60000);
      const shownId = lastItem.id;
      const blobImages = () =>
        page.evaluate(() => [...document.images].filter((i) => i.src.startsWith('blob:')).length);
      // The desk loses Kafka's confirmation under the page: every call is refused for a moment.
      await page.route('**/v1/**', (route) =>
        route.fulfill({
          status: 503,
          contentType: 'application/json',
          headers: { 'Retry-After': '2' },
          body: JSON.stringify({ error: 'unconfirmed', message: 'This desk cannot confirm it is the active desk.' }),
        }),
      );
      await page.click('button.decide[data-verdict="no_violation"]');
      const end = Date.now() + 3000;
      while ((await blobImages()) > 0 || (await visible('#card'))) {
        check(Date.now() < end, 'the item stayed on screen 3 s after the desk answered unconfirmed');
        await page.waitForTimeout(100);
      }
      const said = await page.textContent('#state-denied');
      check(/cannot confirm/.test(said), `the page says '${said}' after 503 unconfirmed`);
      await axeCheck('the view while the desk changes hands');
      await shot('04d-desk-changing-hands');
      await page.unroute('**/v1/**');
      // The decision never reached the desk: the item is still this person's and comes back.
      // The page asks again by itself within a few seconds (a failover takes about 12).
      const back = Date.now() + 10000;
      while ((await reviewState()) !== 'card') {
        check(Date.now() < back, `no item came back within 10 s (state ${await reviewState()})`);
        await page.waitForTimeout(200);
      }
      check(lastItem.id === shownId, `after the failover the page shows ${lastItem.id}, not ${shownId}`);
    });

    let escalatedId = null;
    await step('escalate one item with a note (E)', async () => {
      const end = Date.now() + 60000;
      while ((await reviewState()) !== 'card') {
        check(Date.now() < end, `no item to escalate (state ${await reviewState()})`);
        await page.waitForTimeout(300);
      }
      const from = requests.length;
      await page.click('#btn-escalate'); // the associate turned the shortcuts off
      await page.waitForSelector('#dlg-escalate[open]', { timeout: 5000 });
      await page.fill('#escalate-note', 'web test escalation');
      await page.click('#form-escalate button[type=submit]');
      const r = await waitForRequest(
        (x) => x.method === 'POST' && x.url.includes('/escalate'),
        5000,
        from,
        'escalate POST',
        200,
      );
      escalatedId = decodeURIComponent(r.url.match(/\/v1\/items\/([^/]+)\/escalate/)[1]);
      log(`  escalated ${escalatedId}`);
    });

    await step('keep reviewing until the policy sends the associate on a break', async () => {
      // The lease never outlives the policy's on-screen limit, so holding an item reaches it.
      const end = Date.now() + BREAK_WAIT_MS;
      while ((await reviewState()) !== 'break') {
        check(Date.now() < end, `no break view within ${BREAK_WAIT_MS / 1000} s (state ${await reviewState()})`);
        await page.waitForTimeout(500);
      }
      await page.waitForSelector('#btn-start-break', { state: 'visible', timeout: 5000 });
      const cd = await page.textContent('#break-countdown');
      check(/\d+:\d\d|ready|lifts/.test(cd), `break countdown text '${cd}'`);
      const imgs = await page.evaluate(() =>
        [...document.querySelectorAll('img')].map((i) => i.src).filter((s) => s.startsWith('blob:')),
      );
      check(imgs.length === 0, `media still on the page during the break: ${imgs.join(', ')}`);
      check(!(await visible('#card')), 'the review card is visible during the break');
      await checkBreakSays('BREAK_DUE');
      await shot('04-break-due');
      await axeCheck('the break view');
    });

    await step('start the break', async () => {
      const from = requests.length;
      await page.click('#btn-start-break');
      await waitForRequest(
        (r) => r.method === 'POST' && r.url.endsWith('/v1/breaks/start'),
        5000,
        from,
        'break start',
        200,
      );
      await page.waitForSelector('#btn-end-break', { state: 'visible', timeout: 5000 });
      check(await page.isDisabled('#btn-end-break'), 'End break is enabled before the countdown ends');
      await shot('05-on-break');
    });

    await step(
      'on the break, ask for support again and log out at once: nothing of the associate remains',
      async () => {
        const from = requests.length;
        await page.click('#btn-break-support');
        await page.waitForSelector('#dlg-support[open]', { timeout: 5000 });
        await page.click('#form-support button[type=submit]'); // no words this time
        await waitForRequest(
          (r) => r.method === 'POST' && r.url.endsWith('/v1/support'),
          5000,
          from,
          'support POST',
          202,
        );
        await page.waitForSelector('#notice.kind', { state: 'visible', timeout: 5000 });
        await page.click('#btn-logout');
        await page.waitForSelector('#view-login', { state: 'visible', timeout: 5000 });
        check(!(await visible('#notice')), `a notice outlives the log out: '${await page.textContent('#notice')}'`);
        await checkNothingRemains('the associate');
      },
    );

    await step(
      'the lead sees what the associate wrote and takes the request up; nothing of either remains',
      async () => {
        await signIn(leadToken);
        await page.waitForSelector('#view-team', { state: 'visible', timeout: 10000 });
        const row = `#team-body tr[data-associate="${assocSub}"]`;
        try {
          await page.waitForSelector(`${row} .badge.support`, { timeout: 12000 });
        } catch {
          throw new Error(
            `no support request in the team table for ${assocSub}: '${await page.textContent('#team-body')}'`,
          );
        }
        const said = await page
          .locator(`${row} .support-message`)
          .textContent({ timeout: 2000 })
          .catch(() => null);
        check(
          said === 'web test: that one stayed with me',
          `the team view shows the request's message as ${JSON.stringify(said)}`,
        );
        check(!(await visible('#notice')), `the lead's screen shows a notice: '${await page.textContent('#notice')}'`);
        check(await keysOn(), `${leadSub}'s shortcuts are off: the setting is not per person`);
        await shot('07b-lead-support-message');
        await axeCheck('the team view with a support request');
        const from = requests.length;
        await page.click(`${row} button.ack-support`);
        const ack = await waitForRequest(
          (r) => r.method === 'POST' && r.url.endsWith('/v1/team/support/ack'),
          5000,
          from,
          'support ack',
          200,
        );
        check(JSON.parse(ack.body).associate === assocSub, `ack body ${ack.body}`);
        await page.waitForSelector(`${row} .badge.support`, { state: 'detached', timeout: 10000 });
        await logOut('the lead');
      },
    );

    await step('the associate is back on the break, with the shortcuts still off', async () => {
      await signIn(assocToken);
      await page.waitForSelector('#btn-end-break', { state: 'visible', timeout: 10000 });
      await checkBreakSays('ON_BREAK');
      check(!(await keysOn()), `${assocSub}'s shortcut setting was not remembered`);
    });

    await step('wait for the countdown, end the break, back to the queue; shortcuts on again', async () => {
      await page.waitForSelector('#btn-end-break:not([disabled])', { timeout: 60000 });
      const from2 = requests.length;
      await page.click('#btn-end-break');
      await waitForRequest(
        (r) => r.method === 'POST' && r.url.endsWith('/v1/breaks/end'),
        5000,
        from2,
        'break end',
        200,
      );
      const end = Date.now() + 30000;
      let s;
      while (!['card', 'empty'].includes((s = await reviewState()))) {
        check(Date.now() < end, `not back at the queue after the break (state ${s})`);
        await page.waitForTimeout(300);
      }
      await page.check('#pref-keys');
      check(await visible('#keys-help'), 'the key list is not back with the shortcuts on');
      await shot('06-after-break');
    });

    await step('log out; the token is forgotten', async () => {
      await page.click('#btn-logout');
      await page.waitForSelector('#view-login', { state: 'visible', timeout: 5000 });
      const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
      check(!stored.includes(assocToken), 'the token is still stored after logging out');
      await checkNothingRemains('the associate');
    });

    await step('sign in as the lead: the team table lists the associate', async () => {
      await signIn(leadToken);
      await page.waitForSelector('#view-team', { state: 'visible', timeout: 10000 });
      try {
        await page.waitForSelector(`#team-body tr[data-associate="${assocSub}"]`, { timeout: 12000 });
      } catch {
        throw new Error(`the team table does not list ${assocSub}: '${await page.textContent('#team-body')}'`);
      }
      await shot('07-lead-team');
    });

    await step('the escalations tab shows the escalated item', async () => {
      const nextAnswer = page.waitForResponse((r) => r.url().includes('/v1/next?queue=escalations'), {
        timeout: 10000,
      });
      await page.click('#tab-esc');
      const body = await (await nextAnswer).json();
      check(body.item, `GET /v1/next?queue=escalations gave no item: ${JSON.stringify(body)}`);
      check(body.item.id === escalatedId, `escalations show ${body.item.id}, not the escalated ${escalatedId}`);
      await page.waitForSelector('#card-escalation', { state: 'visible', timeout: 5000 });
      const note = await page.textContent('#card-escalation');
      check(note.includes('web test escalation'), `escalation note shown as '${note}'`);
      if (body.item.has_media) await waitImgLevel(body.item.level, 10000, 'escalated item media');
      await shot('08-lead-escalation');
    });

    await step('the lead sees no Review or QA tab', async () => {
      check((await visible('#tab-team')) && (await visible('#tab-esc')), 'the lead has no Team and Escalations tabs');
      check(
        !(await visible('#tab-review')) && !(await visible('#tab-qa')),
        'a lead-only token shows a Review or QA tab',
      );
    });

    if (qaToken) await qaSteps();
    else log('  MODQ_QA_TOKEN not set: QA steps skipped');
    if (leadAssocToken) await leadAssociateSteps();
    else log('  MODQ_LEAD_ASSOCIATE_TOKEN not set: lead+associate steps skipped');

    await step('a token refused mid-review signs out the same way: a fresh page that says why', async () => {
      await signIn(assocToken);
      await waitCardOrEmpty(15000, 'signed in again');
      // The token expires (or its key is rotated) under the page: every call is now refused.
      await page.route('**/v1/**', (route) =>
        route.fulfill({
          status: 401,
          contentType: 'application/json',
          body: '{"error":"unauthorized","message":"no"}',
        }),
      );
      await page.click('#btn-take-break');
      await page.waitForSelector('#login-error', { state: 'visible', timeout: 10000 });
      await page.unroute('**/v1/**');
      const said = await page.textContent('#login-error');
      check(/not accepted/.test(said), `the sign-in view says '${said}' after a refused token`);
      const now = await pageSnapshot(page);
      check(now.values === pristine.values, `after a refused token, form fields hold '${now.values}'`);
      check(now.session.length === 0, `after a refused token, sessionStorage keeps ${now.session.join(', ')}`);
      check(
        !(await visible('#who')) && !(await visible('#card')),
        "the associate's name or card outlives the refused token",
      );
    });

    await step('no token in any URL, the header on every API call, no CSP violations', async () => {
      const tokens = [assocToken, leadToken, qaToken, leadAssocToken].filter(Boolean);
      for (const r of requests) {
        check(!tokens.some((t) => r.url.includes(t)), `a token in a URL: ${r.url}`);
        check(/^Bearer .+/.test(r.auth), `no Authorization header on ${r.method} ${r.url}`);
      }
      check(cspErrors.length === 0, `CSP violations or page errors: ${cspErrors.join(' | ')}`);
    });
  } catch (e) {
    if (page) await shot('failure').catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
}

try {
  await run();
  log(`PASS: ${requests.length} API requests, ${mediaReqs().length} media fetches`);
} catch (e) {
  console.error(`FAIL in step '${current}': ${e.message}`);
  console.error(`(screenshots in ${out})`);
  process.exitCode = 1;
}
