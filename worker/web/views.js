// views.js: routing between the views. The roles in the token choose the tabs (review for
// associates, QA for qa, team and escalations for leads); one role's worth of tabs shows no tab
// bar. The server enforces every role: a tab is only a way in.

import { state, update } from '/static/state.js';
import { $, clearTimer, show } from '/static/ui.js';
import { api } from '/static/api.js';
import { clearMedia } from '/static/media.js';
import { endPeek, loadNext, nextSettled, showReviewState } from '/static/review.js';
import { loadTeam } from '/static/lead.js';

const TABS = [
  { name: 'review', id: 'tab-review', role: 'associate', queue: null },
  { name: 'qa', id: 'tab-qa', role: 'qa', queue: 'qa' },
  { name: 'team', id: 'tab-team', role: 'lead', queue: 'escalations' },
  { name: 'escalations', id: 'tab-esc', role: 'lead', queue: 'escalations' },
];

export function setTabs(roles) {
  const tabs = TABS.filter((t) => roles.includes(t.role)).map((t) => t.name);
  update({ tabs: tabs.length > 0 ? tabs : ['review'] });
  for (const t of TABS) show($(t.id), state.tabs.includes(t.name));
}

let tabGen = 0;

export async function selectTab(which) {
  const tab = TABS.find((t) => t.name === which) || TABS[0];
  const g = ++tabGen;
  update({ tab: tab.name, queue: tab.queue });
  for (const t of TABS) {
    const on = t === tab;
    $(t.id).setAttribute('aria-selected', String(on));
    $(t.id).tabIndex = on ? 0 : -1;
  }
  if (state.item && (tab.name === 'team' || state.itemTab !== tab.name)) {
    // The item keeps its lease, but leaves the screen.
    endPeek();
    clearMedia();
    update({ item: null });
  }
  if (tab.name === 'team') {
    setMode('team');
    loadTeam();
    return;
  }
  setMode('review');
  if (!state.item) showReviewState('state-loading');
  await nextSettled();
  if (g !== tabGen) return;
  const held = state.held;
  if (held && held.tab !== tab.name) {
    // The server gives a held lease back whatever queue is asked: hand it back, or the other
    // tab's item would show here.
    update({ held: null });
    try {
      await api('POST', `/v1/items/${encodeURIComponent(held.id)}/release`);
    } catch {
      // Already gone (decided, expired): nothing to hand back.
    }
    if (g !== tabGen) return;
  }
  loadNext();
}

// Arrow keys move between the visible tabs, as in the ARIA tabs pattern.
export function moveTab(delta) {
  const i = state.tabs.indexOf(state.tab);
  const name = state.tabs[(i + delta + state.tabs.length) % state.tabs.length];
  const el = $(TABS.find((t) => t.name === name).id);
  el.focus();
  el.click();
}

export function setMode(mode) {
  update({ mode });
  clearTimer('team');
  if (mode !== 'review') clearTimer('retry');
  const signedIn = mode !== 'login';
  show($('view-login'), mode === 'login');
  // 'support': the calm view after a support request from the review (main.js), items paused.
  show($('view-review'), mode === 'review' || mode === 'support');
  show($('view-team'), mode === 'team');
  show($('view-break'), mode === 'break');
  show($('tabs'), state.tabs.length > 1 && mode !== 'login' && mode !== 'break');
  show($('gauges'), signedIn);
  show($('who'), signedIn);
  show($('btn-logout'), signedIn);
  show($('btn-take-break'), signedIn && mode !== 'break');
  show($('btn-support'), signedIn && mode !== 'break');
  document.body.classList.toggle('on-break', mode === 'break');
}
