// breaks.js: the full-screen break view. Nothing harmful stays reachable while it shows; it
// counts down to when the policy lets the person back, starts and ends a break on request, and
// returns to the tab the person was on. What it says is the server's own message from the 423
// that sent the person here; the page adds the heading and the countdown.

import { setStatus, state, update } from '/static/state.js';
import { $, announce, clearTimer, fmtDuration, serverNow, setTimer, show } from '/static/ui.js';
import { ApiError, api, failed, nextPath } from '/static/api.js';
import { clearMedia } from '/static/media.js';
import { selectTab, setMode } from '/static/views.js';

// Headings name the kind of stop; the sentence under them is the server's own message, so the
// two must not say the same thing twice.
const BREAK_TITLE = {
  BREAK_DUE: 'Break time',
  ON_BREAK: 'Your break',
  COOLDOWN: 'Pause',
  DAILY_CAP: 'Done for today',
  TIER_CAP: 'Limit for this kind of content',
  SHIFT_OVER: 'End of shift',
};
// A break the person started has no 423 to quote (the Status carries no message).
const OWN_BREAK_TEXT = 'Nothing from the queue will be shown until the break ends. Take this time for yourself.';

// reason and until (Unix ms, 0: only an action ends it) from the Status or a 423 denial, and
// that denial's message as the server sent it (empty for a break the person started).
export function showBreak(reason, until, message) {
  // Nothing harmful stays reachable: images and blob URLs go first, and a half-typed reveal
  // reason or escalation note for an item that is gone is dropped.
  clearMedia();
  for (const id of ['dlg-reason', 'dlg-escalate']) if ($(id).open) $(id).close();
  clearTimer('retry');
  update({ item: null, brk: { reason, until, shownAt: Date.now(), checked: false } });
  clearTimer('breakcheck');
  setMode('break');
  const title = BREAK_TITLE[reason] || BREAK_TITLE.BREAK_DUE;
  $('break-title').textContent = title;
  $('break-text-body').textContent = message || (reason === 'ON_BREAK' ? OWN_BREAK_TEXT : '');
  show($('btn-start-break'), reason === 'BREAK_DUE');
  show($('btn-end-break'), reason === 'ON_BREAK');
  $('btn-end-break').disabled = until > serverNow();
  show($('btn-break-check'), false);
  renderBreakClock();
  $('break-title').focus();
  announce(`${title}. ${until > 0 ? `${fmtDuration(until - serverNow())} to go.` : ''}`);
}

export function renderBreakClock() {
  const b = state.brk;
  if (!b) return;
  const cd = $('break-countdown');
  const left = b.until - serverNow();
  if (b.until <= 0) {
    cd.textContent =
      b.reason === 'ON_BREAK'
        ? 'End the break whenever you are ready.'
        : 'This lifts when your lead or your next shift clears it.';
    $('btn-end-break').disabled = false;
    show($('btn-break-check'), b.reason !== 'ON_BREAK');
    return;
  }
  if (left > 0) {
    cd.textContent =
      b.reason === 'ON_BREAK' ? `${fmtDuration(left)} of your break left` : `Back in ${fmtDuration(left)}`;
    return;
  }
  if (b.reason === 'ON_BREAK') {
    if ($('btn-end-break').disabled) {
      $('btn-end-break').disabled = false;
      cd.textContent = 'Your break time is up. End it when you are ready.';
      announce('Your break time is up. End the break when you are ready.');
    }
  } else if (!b.checked) {
    // A few seconds' grace, so a clock slightly ahead of the server cannot loop on 423s.
    update({ brk: { ...b, checked: true } });
    cd.textContent = 'Checking…';
    setTimer('breakcheck', leaveBreak, Math.max(0, b.shownAt + 3000 - Date.now()));
  }
}

export async function takeBreak() {
  try {
    const s = await api('POST', '/v1/breaks/start');
    setStatus(s);
    announce('Your break has started.');
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 409) {
      failed(e, 'break');
      return;
    }
  }
  await enterOnBreak();
}

// The break's end is in the Status after start; otherwise /v1/next's 423 says it.
async function enterOnBreak() {
  const s = state.status;
  if (s && s.on_break && s.reason === 'ON_BREAK' && s.until_ms > 0) {
    showBreak('ON_BREAK', s.until_ms);
    return;
  }
  try {
    const r = await api('GET', nextPath(state.queue));
    setStatus(r.status);
    showBreak('ON_BREAK', 0);
  } catch (e) {
    if (e instanceof ApiError && e.status === 423) showBreak(e.body.reason, e.body.until_ms || 0, e.body.message);
    else showBreak('ON_BREAK', 0);
  }
}

export async function endBreak() {
  $('btn-end-break').disabled = true;
  try {
    const s = await api('POST', '/v1/breaks/end');
    setStatus(s);
    announce('Welcome back.');
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 409) {
      $('btn-end-break').disabled = false;
      failed(e, 'break');
      return;
    }
  }
  leaveBreak();
}

export function leaveBreak() {
  update({ brk: null });
  clearTimer('breakcheck');
  selectTab(state.tab);
}
