// main.js: the entry point (index.html loads only this). Sign-in and sign-out, the Status
// refresh, support requests, and the wiring of buttons and keys to the views.
// Safety rules the modules keep: the token lives in sessionStorage and only travels in the
// Authorization header (api.js); media is shown through blob: URLs revoked as soon as they leave
// the screen (media.js); a 423 break view removes every image first (breaks.js). The JWT payload
// is decoded only to choose the tabs: the server enforces every role.

import { $, ME_REFRESH_MS, TOKEN_KEY, st } from '/static/state.js';
import { announce, askText, clearTimer, decodeClaims, notice, setTimer, show } from '/static/ui.js';
import { ApiError, api, onUnauthorized } from '/static/api.js';
import { clearMedia, loadBase, setPersonalLevel } from '/static/media.js';
import { renderClocks, updateStatus } from '/static/gauges.js';
import { blurMore, decide, endPeek, escalate, itemAction, loadNext, release, revealClearer, startPeek, toggleColour } from '/static/review.js';
import { endBreak, leaveBreak, takeBreak } from '/static/breaks.js';
import { clearTeam } from '/static/lead.js';
import { moveTab, selectTab, setMode, setTabs } from '/static/views.js';

async function signIn(token) {
  const claims = decodeClaims(token);
  if (!claims) {
    loginError('That does not look like an access token. It has three parts separated by dots.');
    return;
  }
  st.token = token;
  try {
    updateStatus(await api('GET', '/v1/me'));
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) {
      st.token = null;
      loginError('The review service could not be reached. Please try again.');
    }
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  st.sub = String(claims.sub || '');
  const roles = Array.isArray(claims.roles) ? claims.roles : [];
  st.roles = roles;
  setTabs(roles);
  const extra = [roles.includes('lead') && 'lead', roles.includes('qa') && 'QA'].filter(Boolean);
  $('who').textContent = `${claims.sub || ''}${extra.length ? ` (${extra.join(', ')})` : ''}`;
  $('token-input').value = '';
  show($('login-error'), false);
  selectTab(st.tabs[0]);
  setTimer('me', meLoop, ME_REFRESH_MS);
}

function loginError(text) {
  const el = $('login-error');
  el.textContent = text;
  el.hidden = false;
  $('token-input').focus();
}

function signOut(message) {
  const item = st.item;
  const token = st.token;
  if (item && token && message === undefined) {
    // Hand the item back now rather than when its lease runs out.
    fetch(`/v1/items/${encodeURIComponent(item.id)}/release`, {
      method: 'POST', headers: { Authorization: `Bearer ${token}` }, keepalive: true, credentials: 'same-origin',
    }).catch(() => {});
  }
  clearMedia();
  clearTeam();
  st.item = null;
  st.itemTab = null;
  st.held = null;
  st.token = null;
  st.sub = '';
  st.status = null;
  st.brk = null;
  st.roles = [];
  st.tabs = [];
  st.tab = null;
  st.queue = null;
  for (const name of Object.keys(st.timers)) clearTimer(name);
  sessionStorage.removeItem(TOKEN_KEY);
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
  setMode('login');
  if (message) loginError(message);
  else $('token-input').focus();
}

async function meLoop() {
  clearTimer('me');
  if (!st.token) return;
  try {
    updateStatus(await api('GET', '/v1/me'));
  } catch {
    // The next action reports real trouble; the gauges just keep their last value.
  }
  if (st.token) setTimer('me', meLoop, ME_REFRESH_MS);
}

async function askSupport() {
  const message = await askText($('dlg-support'), $('support-message'), false);
  if (message === null) return;
  try {
    await api('POST', '/v1/support', { message });
    const t = 'Thank you for reaching out. Your lead has been told, confidentially, and will be in touch. Take the time you need.';
    notice(t, 'kind', 15000);
    announce(t);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    notice('That did not go through. Please try again, or speak to your lead directly.', 'error');
  }
}

function isTyping(el) {
  return el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

function onKeyDown(e) {
  if (document.querySelector('dialog[open]') || isTyping(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
  if (st.mode !== 'review' || !st.item || $('card').hidden) return;
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
    if (st.peeking) {
      e.preventDefault();
      endPeek();
    } else if (st.mode === 'review' && !isTyping(e.target) && !document.querySelector('dialog[open]')) {
      e.preventDefault();
    }
  }
}

function wire() {
  onUnauthorized(signOut);
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const t = $('token-input').value.trim().replace(/^Bearer\s+/i, '');
    if (t) signIn(t);
    else loginError('Please paste your access token.');
  });
  $('btn-logout').addEventListener('click', () => signOut());
  $('btn-support').addEventListener('click', askSupport);
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
    const item = st.item;
    if (!item) return;
    const v = $('pref-level').value;
    setPersonalLevel(item.category, v);
    announce(v ? `Revealing a ${item.category.replace(/_/g, ' ')} item will first open it at level ${v} or heavier.` : 'Revealing follows the policy’s level for this category.');
    const want = Number(v);
    if (want > st.level && item.has_media) itemAction(() => loadBase(want, st.colour));
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
  setInterval(renderClocks, 1000);
}

function start() {
  wire();
  const saved = sessionStorage.getItem(TOKEN_KEY);
  setMode('login');
  if (saved) signIn(saved);
  else $('token-input').focus();
}

start();
