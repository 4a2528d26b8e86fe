// gauges.js: the top bar (exposure today, next break, time on this item) and the once-a-second
// clock that also drives the lease countdown and the break view's countdown.

import { $, st } from '/static/state.js';
import { fmtAge, fmtDuration, fmtMinutes, serverNow, show } from '/static/ui.js';
import { leaseRanOut } from '/static/review.js';
import { renderBreakClock } from '/static/breaks.js';

export function updateStatus(s) {
  if (!s || typeof s !== 'object') return;
  st.status = s;
  if (typeof s.now_ms === 'number') st.skew = s.now_ms - Date.now();
  renderGauges();
}

function renderGauges() {
  const s = st.status;
  if (!s) return;
  const daily = (s.caps || []).find((c) => c.cap === 'daily');
  const meter = $('exposure-meter');
  const gauge = $('g-exposure');
  if (daily && daily.limit_minutes > 0) {
    meter.value = Math.min(1, daily.used_minutes / daily.limit_minutes);
    $('exposure-text').textContent = `${fmtMinutes(daily.used_minutes)} of ${fmtMinutes(daily.limit_minutes)} min`;
    gauge.classList.toggle('warn', !!daily.warning);
  } else {
    meter.value = 0;
    $('exposure-text').textContent = '–';
  }
  renderClocks();
}

export function renderClocks() {
  const s = st.status;
  const now = serverNow();
  if (s) {
    let t;
    if (s.on_break) t = 'on a break';
    else if (s.break_due_ms > 0) t = s.break_due_ms <= now ? 'due now' : `in ${fmtDuration(s.break_due_ms - now)}`;
    else t = '–';
    $('break-text').textContent = t;
  }
  const item = st.item;
  const leaseOn = !!item && st.mode === 'review' && item.lease_expires_ms > 0;
  show($('g-lease'), leaseOn);
  if (leaseOn) {
    const left = item.lease_expires_ms - now;
    $('lease-text').textContent = fmtDuration(left);
    $('g-lease').classList.toggle('warn', left < 60000);
    if (left <= 0 && !st.leaseFired) {
      st.leaseFired = true;
      leaseRanOut();
    }
  }
  if (item && st.mode === 'review') $('card-age').textContent = fmtAge(now - item.created_at_ms);
  if (st.mode === 'break') renderBreakClock();
}
