// ui.js: small helpers every view uses: finding elements, formatting of times, showing and
// hiding, the live region and the notice bar, named timers, the one-field dialogs, and reading a
// token's claims.

import { state } from '/static/state.js';

export const $ = (id) => document.getElementById(id);

export function serverNow() {
  return Date.now() + state.skew;
}

export function fmtDuration(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export function fmtAge(ms) {
  const m = Math.floor(Math.max(0, ms) / 60000);
  if (m < 1) return 'just now';
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h` : `${Math.floor(h / 24)} d`;
}

export function fmtClock(ms) {
  return new Date(ms - state.skew).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function fmtMinutes(x) {
  return Number.isFinite(x) ? (Math.round(x * 10) / 10).toString() : '–';
}

export function show(el, on) {
  el.hidden = !on;
}

let liveTimer = 0;
export function announce(text) {
  // Clearing first makes screen readers repeat an identical message.
  const live = $('live');
  live.textContent = '';
  clearTimeout(liveTimer);
  liveTimer = setTimeout(() => {
    live.textContent = text;
  }, 50);
}

let noticeTimer = 0;
export function notice(text, kind = 'info', ms = 8000) {
  const n = $('notice');
  n.textContent = text;
  n.className = `notice ${kind}`;
  n.hidden = false;
  clearTimeout(noticeTimer);
  if (ms > 0) noticeTimer = setTimeout(() => (n.hidden = true), ms);
}

// At most one pending timer per name: setting one again replaces it.
const timers = new Map();
export function setTimer(name, fn, ms) {
  clearTimer(name);
  timers.set(
    name,
    setTimeout(() => {
      timers.delete(name);
      fn();
    }, ms),
  );
}

export function clearTimer(name) {
  clearTimeout(timers.get(name));
  timers.delete(name);
}

export function decodeClaims(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const pad = b64 + '==='.slice((b64.length + 3) % 4);
    const bytes = Uint8Array.from(atob(pad), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

// Opens a dialog with one text field; resolves to the text, or null when cancelled.
export function askText(dlg, input, required) {
  return new Promise((resolve) => {
    const form = dlg.querySelector('form');
    const err = dlg.querySelector('.error');
    input.value = '';
    if (err) err.hidden = true;
    let done = false;
    const finish = (v) => {
      if (done) return;
      done = true;
      form.removeEventListener('submit', onSubmit);
      dlg.removeEventListener('close', onClose);
      if (dlg.open) dlg.close();
      resolve(v);
    };
    const onSubmit = (ev) => {
      ev.preventDefault();
      const v = input.value.trim();
      if (required && !v) {
        if (err) err.hidden = false;
        input.focus();
        return;
      }
      finish(v);
    };
    const onClose = () => finish(null);
    form.addEventListener('submit', onSubmit);
    dlg.addEventListener('close', onClose);
    dlg.showModal();
    input.focus();
  });
}
