// gauges.js: the top bar (exposure today, next break, time left on this item's lease). It follows
// the state: a new Status, item, lease time or view redraws it, and main.js's once-a-second clock
// calls renderClocks for the countdowns.

import { state, subscribe } from '/static/state.js';
import { $, fmtDuration, fmtMinutes, serverNow, show } from '/static/ui.js';

export function watchGauges() {
  subscribe(['status', 'skew'], renderGauges);
  subscribe(['item', 'mode', 'leaseUntil'], renderClocks);
}

function renderGauges() {
  const s = state.status;
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
  const s = state.status;
  const now = serverNow();
  if (s) {
    let t;
    if (s.on_break) t = 'on a break';
    else if (s.break_due_ms > 0) t = s.break_due_ms <= now ? 'due now' : `in ${fmtDuration(s.break_due_ms - now)}`;
    else t = '–';
    $('break-text').textContent = t;
  }
  const leaseOn = !!state.item && state.mode === 'review' && state.leaseUntil > 0;
  show($('g-lease'), leaseOn);
  if (leaseOn) {
    const left = state.leaseUntil - now;
    $('lease-text').textContent = fmtDuration(left);
    $('g-lease').classList.toggle('warn', left < 60000);
  }
}
