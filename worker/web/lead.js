// lead.js: the lead's team table (exposure, status, support requests with what they say, current
// item), refreshed every few seconds while it is on screen. The escalations tab is the review
// card (review.js).

import { REASON_TEXT, TEAM_REFRESH_MS, state } from '/static/state.js';
import { $, clearTimer, fmtAge, fmtClock, fmtMinutes, notice, serverNow, setTimer } from '/static/ui.js';
import { ApiError, api } from '/static/api.js';

export async function loadTeam() {
  clearTimer('team');
  if (state.mode !== 'team') return;
  try {
    const t = await api('GET', '/v1/team');
    if (state.mode !== 'team') return;
    renderTeam(t);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    notice(
      e instanceof ApiError
        ? e.body.message || `Team view failed (${e.status}).`
        : 'The connection was lost. Trying again.',
      'error',
      4000,
    );
  }
  if (state.mode === 'team') setTimer('team', loadTeam, TEAM_REFRESH_MS);
}

async function ackSupport(associate, button) {
  button.disabled = true;
  try {
    await api('POST', '/v1/team/support/ack', { associate });
    notice(`You took up ${associate}'s request for support.`, 'info', 4000);
  } catch (e) {
    button.disabled = false;
    if (e instanceof ApiError && e.status === 401) return;
    notice(
      e instanceof ApiError ? e.body.message || `That failed (${e.status}).` : 'The connection was lost. Try again.',
      'error',
      4000,
    );
    return;
  }
  loadTeam();
}

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function renderTeam(t) {
  $('team-title').textContent = t.team ? `Team ${t.team}` : 'Team';
  $('esc-count').textContent = t.escalations > 0 ? `(${t.escalations})` : '';
  const now = serverNow();
  const rows = (t.associates || [])
    .slice()
    .sort(
      (a, b) =>
        (b.support_requested_ms || 0) - (a.support_requested_ms || 0) ||
        Number(!!b.near_cap) - Number(!!a.near_cap) ||
        String(a.associate).localeCompare(String(b.associate)),
    );
  const body = $('team-body');
  const trs = rows.map((a) => {
    const tr = document.createElement('tr');
    tr.dataset.associate = a.associate;
    if (a.near_cap) tr.classList.add('near-cap');
    if (a.support_requested_ms > 0) tr.classList.add('support-row');
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = a.associate;
    tr.append(th);
    const daily = (a.caps || []).find((c) => c.cap === 'daily');
    const exp = document.createElement('td');
    if (daily) {
      const m = document.createElement('meter');
      m.min = 0;
      m.max = 1;
      m.low = 0.6;
      m.high = 0.8;
      m.optimum = 0;
      m.value = daily.limit_minutes > 0 ? Math.min(1, daily.used_minutes / daily.limit_minutes) : 0;
      m.setAttribute('aria-hidden', 'true');
      exp.append(m, ` ${fmtMinutes(daily.used_minutes)} / ${fmtMinutes(daily.limit_minutes)} min`);
    } else {
      exp.textContent = '–';
    }
    if (a.near_cap) {
      const badge = document.createElement('span');
      badge.className = 'badge warn';
      badge.textContent = 'near cap';
      exp.append(' ', badge);
    }
    tr.append(exp);
    const status = a.on_break ? 'On a break' : a.allowed ? 'Available' : REASON_TEXT[a.reason] || a.reason || '–';
    tr.append(cell(status, a.on_break ? 'on-break' : ''));
    const sup = document.createElement('td');
    if (a.support_requested_ms > 0) {
      const badge = document.createElement('span');
      badge.className = 'badge support';
      badge.textContent = `asked at ${fmtClock(a.support_requested_ms)}`;
      // Taking the request up clears it here; the wellbeing topic records who did.
      const ack = document.createElement('button');
      ack.type = 'button';
      ack.className = 'quiet ack-support';
      ack.textContent = 'I am on it';
      ack.setAttribute('aria-label', `I am on it: take up ${a.associate}'s support request`);
      ack.addEventListener('click', () => ackSupport(a.associate, ack));
      sup.append(badge);
      if (a.support_message) {
        // As typed (the server allows text only); dir=auto isolates a right-to-left message.
        const said = document.createElement('p');
        said.className = 'support-message';
        said.dir = 'auto';
        said.textContent = a.support_message;
        sup.append(said);
      } else {
        sup.append(' ');
      }
      sup.append(ack);
    } else {
      sup.textContent = '–';
    }
    tr.append(sup);
    tr.append(cell(a.current_item || '–'));
    const seen = fmtAge(now - a.last_seen_ms);
    tr.append(cell(a.last_seen_ms > 0 ? (seen === 'just now' ? seen : `${seen} ago`) : '–'));
    return tr;
  });
  if (trs.length === 0) {
    const tr = document.createElement('tr');
    const td = cell('Nobody from the team has been seen yet.');
    td.colSpan = 6;
    tr.append(td);
    trs.push(tr);
  }
  body.replaceChildren(...trs);
  $('team-updated').textContent = `Updated ${new Date().toLocaleTimeString()}. Refreshes every 5 seconds.`;
}
