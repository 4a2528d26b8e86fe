// main.js: the entry point (index.html loads only this). Sign-in and sign-out, the Status
// refresh, support requests, and the wiring of buttons and keys to the views.
// Safety rules the modules keep: the token lives in sessionStorage and only travels in the
// Authorization header (api.js); media is shown through blob: URLs revoked as soon as they leave
// the screen (media.js); a 423 break view removes every image first (breaks.js). The JWT payload
// is decoded only to choose the tabs: the server enforces every role.
// Nothing of one person may remain for the next (a shared workstation): signing out loads the
// page afresh (see signOut), and what outlives a load is either keyed by the person (their blur
// and shortcut settings in localStorage) or removed first (the token).

import { KEYS_PREFIX, ME_REFRESH_MS, SIGNED_OUT_KEY, TOKEN_KEY, setStatus, state, update } from '/static/state.js';
import { $, announce, askText, clearTimer, decodeClaims, notice, setTimer, show } from '/static/ui.js';
import { ApiError, api, onFailure, onUnauthorized } from '/static/api.js';
import { clearMedia, hideMedia, loadBase, setPersonalLevel } from '/static/media.js';
import { renderClocks, watchGauges } from '/static/gauges.js';
import {
  blurMore,
  decide,
  dropItem,
  endPeek,
  escalate,
  itemAction,
  loadNext,
  release,
  revealClearer,
  showAgain,
  showReviewState,
  startPeek,
  tickItem,
  toggleColour,
} from '/static/review.js';
import { endBreak, leaveBreak, renderBreakClock, takeBreak } from '/static/breaks.js';
import { moveTab, selectTab, setMode, setTabs } from '/static/views.js';
import { handleError } from '/static/denials.js';

const SIGNED_OUT_TEXT = {
  refused: 'This token was not accepted (it may have expired). Please paste a fresh one.',
};

async function signIn(token) {
  const claims = decodeClaims(token);
  if (!claims) {
    loginError('That does not look like an access token. It has three parts separated by dots.');
    return;
  }
  update({ token });
  try {
    setStatus(await api('GET', '/v1/me'));
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) {
      update({ token: null });
      loginError('The review service could not be reached. Please try again.');
    }
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  update({ sub: String(claims.sub || '') });
  setKeys(localStorage.getItem(keysKey()) !== 'off', false);
  const roles = Array.isArray(claims.roles) ? claims.roles : [];
  setTabs(roles);
  const extra = [roles.includes('lead') && 'lead', roles.includes('qa') && 'QA'].filter(Boolean);
  $('who').textContent = `${claims.sub || ''}${extra.length ? ` (${extra.join(', ')})` : ''}`;
  $('token-input').value = '';
  show($('login-error'), false);
  selectTab(state.tabs[0]);
  setTimer('me', meLoop, ME_REFRESH_MS);
}

function loginError(text) {
  const el = $('login-error');
  el.textContent = text;
  el.hidden = false;
  $('token-input').focus();
}

// Why a fresh load rather than a reset: one person's state is spread over every module (state,
// module variables, named and module timers, the notice and the live region, the card, break,
// team and dialog texts, blob: URLs) and over fetches still in flight, whose answers would land
// on the next person's screen. A load drops all of it at once and stays right as modules grow.
// Before it: the item goes back to the queue, the image and every view leave the screen at once
// (the old page stays painted until the new one is), and the token is forgotten. Form fields
// carry autocomplete="off" so that the browser does not restore them into the new page.
function signOut(reason) {
  const item = state.item;
  const token = state.token;
  if (item && token && reason === undefined) {
    // Hand the item back now rather than when its lease runs out; keepalive outlives the load.
    fetch(`/v1/items/${encodeURIComponent(item.id)}/release`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      keepalive: true,
      credentials: 'same-origin',
    }).catch(() => {});
  }
  update({ token: null });
  clearMedia();
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
  for (const id of ['topbar', 'notice', 'live', 'main']) $(id).hidden = true;
  sessionStorage.removeItem(TOKEN_KEY);
  if (reason) sessionStorage.setItem(SIGNED_OUT_KEY, reason);
  location.reload();
}

function keysKey() {
  return `${KEYS_PREFIX}${encodeURIComponent(state.sub)}`;
}

// The person's single-key shortcuts on or off, remembered for them on this browser.
function setKeys(on, save) {
  update({ keys: on });
  $('pref-keys').checked = on;
  $('view-review').classList.toggle('keys-off', !on);
  show($('keys-help'), on);
  show($('keys-off'), !on);
  if (!save) return;
  if (on) localStorage.removeItem(keysKey());
  else localStorage.setItem(keysKey(), 'off');
  announce(on ? 'Single-key shortcuts are on while the item is selected.' : 'Single-key shortcuts are off.');
}

async function meLoop() {
  clearTimer('me');
  if (!state.token) return;
  try {
    setStatus(await api('GET', '/v1/me'));
  } catch {
    // The next action reports real trouble; the gauges just keep their last value.
  }
  if (state.token) setTimer('me', meLoop, ME_REFRESH_MS);
}

// One paragraph of text: the API refuses control characters (line breaks too), so they become
// spaces here rather than a refusal for someone asking for help.
function supportText(message) {
  // eslint-disable-next-line no-control-regex -- control characters are what this removes
  return message.replace(/[\u0000-\u001f\u007f-\u009f\s]+/g, ' ').trim();
}

async function askSupport() {
  // The image leaves the screen at once: nobody should have to look at it while asking for help.
  if (state.mode === 'review' && state.item && state.item.has_media && !state.mediaHidden) hideMedia();
  const message = await askText($('dlg-support'), $('support-message'), false);
  if (message === null) return; // cancelled: the image stays hidden until asked back
  try {
    await api('POST', '/v1/support', { message: supportText(message) });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    notice('That did not go through. Please try again, or speak to your lead directly.', 'error');
    return;
  }
  if (state.mode === 'review') {
    restAfterSupport();
    return;
  }
  const t =
    'Thank you for reaching out. Your lead has been told, confidentially, and will be in touch. Take the time you need.';
  notice(t, 'kind', 15000);
  announce(t);
}

// After a support request from the review view: the item goes back to the queue and nothing
// more is shown until the person says so (no retry, no lease countdown, no keys).
function restAfterSupport() {
  const item = state.item;
  for (const name of ['retry', 'lease']) clearTimer(name);
  dropItem();
  setMode('support');
  showReviewState('state-support');
  $('support-title').focus();
  announce(
    'Thank you for reaching out. Your lead has been told, confidentially, and will be in touch. Take the time you need.',
  );
  if (item) {
    api('POST', `/v1/items/${encodeURIComponent(item.id)}/release`).catch(() => {
      // Gone already (decided elsewhere, expired): nothing to hand back.
    });
  }
}

function isTyping(el) {
  return el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

// Single keys act only on the item card that has focus (WCAG 2.1.4): a stray key with the focus
// elsewhere (the page, the top bar, a tab) must not decide anything.
function cardKeys(e) {
  return (
    state.keys &&
    state.mode === 'review' &&
    !!state.item &&
    !$('card').hidden &&
    $('card').contains(e.target) &&
    !isTyping(e.target) &&
    !document.querySelector('dialog[open]')
  );
}

function onKeyDown(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || !cardKeys(e)) return;
  if (e.code === 'Space' || e.key === ' ') {
    // Space never activates a focused button here: a held peek must not turn into a decision.
    e.preventDefault();
    if (!e.repeat) startPeek();
    return;
  }
  if (e.repeat) return;
  const k = e.key.toLowerCase();
  const verdict = { 1: 'no_violation', 2: 'remove', 3: 'restrict', 4: 'remove_and_report' }[k];
  if (verdict) {
    e.preventDefault();
    decide(verdict);
  } else if (k === 'e') {
    e.preventDefault();
    escalate();
  } else if (k === 'r') {
    e.preventDefault();
    release();
  } else if (k === 'v') {
    e.preventDefault();
    revealClearer();
  } else if (k === 'b') {
    e.preventDefault();
    blurMore();
  } else if (k === 'c') {
    e.preventDefault();
    toggleColour();
  }
}

function onKeyUp(e) {
  if (e.code === 'Space' || e.key === ' ') {
    if (state.peeking) {
      e.preventDefault();
      endPeek();
    } else if (cardKeys(e)) {
      e.preventDefault();
    }
  }
}

// Once a second: the top bar's countdowns, the card's age and lease, the break's countdown.
function tick() {
  renderClocks();
  tickItem();
  if (state.mode === 'break') renderBreakClock();
}

function wire() {
  onUnauthorized(signOut);
  onFailure(handleError);
  watchGauges();
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const t = $('token-input')
      .value.trim()
      .replace(/^Bearer\s+/i, '');
    if (t) signIn(t);
    else loginError('Please paste your access token.');
  });
  $('btn-logout').addEventListener('click', () => signOut());
  $('btn-support').addEventListener('click', askSupport);
  $('btn-support-continue').addEventListener('click', () => selectTab(state.tab));
  $('btn-show-again').addEventListener('click', showAgain);
  $('pref-keys').addEventListener('change', () => setKeys($('pref-keys').checked, true));
  $('btn-break-support').addEventListener('click', askSupport);
  $('btn-take-break').addEventListener('click', takeBreak);
  $('btn-start-break').addEventListener('click', takeBreak);
  $('btn-end-break').addEventListener('click', endBreak);
  $('btn-break-check').addEventListener('click', leaveBreak);
  $('btn-retry').addEventListener('click', loadNext);
  $('btn-continue').addEventListener('click', loadNext);
  $('btn-denied-retry').addEventListener('click', loadNext);
  for (const b of document.querySelectorAll('button.decide')) {
    b.addEventListener('click', () => decide(b.dataset.verdict));
  }
  $('btn-escalate').addEventListener('click', escalate);
  $('btn-release').addEventListener('click', release);
  $('btn-reveal').addEventListener('click', revealClearer);
  $('btn-blur').addEventListener('click', blurMore);
  $('btn-colour').addEventListener('click', toggleColour);
  const peek = $('btn-peek');
  peek.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    peek.setPointerCapture(e.pointerId);
    startPeek();
  });
  for (const ev of ['pointerup', 'pointercancel', 'lostpointercapture']) peek.addEventListener(ev, endPeek);
  peek.addEventListener('contextmenu', (e) => e.preventDefault());
  window.addEventListener('blur', endPeek);
  $('pref-level').addEventListener('change', () => {
    const item = state.item;
    if (!item) return;
    const v = $('pref-level').value;
    setPersonalLevel(item.category, v);
    announce(
      v
        ? `Revealing a ${item.category.replace(/_/g, ' ')} item will first open it at level ${v} or heavier.`
        : 'Revealing follows the policy’s level for this category.',
    );
    const want = Number(v);
    if (want > state.level && item.has_media && !state.mediaHidden) itemAction(() => loadBase(want, state.colour));
  });
  for (const b of document.querySelectorAll('#tabs [role="tab"]')) {
    b.addEventListener('click', () => selectTab(b.dataset.tab));
  }
  $('tabs').addEventListener('keydown', (e) => {
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') moveTab(e.key === 'ArrowRight' ? 1 : -1);
  });
  for (const b of document.querySelectorAll('dialog [data-close]')) {
    b.addEventListener('click', () => b.closest('dialog').close());
  }
  document.addEventListener('keydown', onKeyDown);
  document.addEventListener('keyup', onKeyUp);
  setInterval(tick, 1000);
}

function start() {
  wire();
  const saved = sessionStorage.getItem(TOKEN_KEY);
  const why = sessionStorage.getItem(SIGNED_OUT_KEY);
  sessionStorage.removeItem(SIGNED_OUT_KEY);
  setMode('login');
  if (saved) signIn(saved);
  else if (SIGNED_OUT_TEXT[why]) loginError(SIGNED_OUT_TEXT[why]);
  else $('token-input').focus();
}

start();
