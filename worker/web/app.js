// modq review page (docs/api.md is the contract). No framework, no build step, no inline code.
// Safety rules this file keeps: the token lives in sessionStorage and only travels in the
// Authorization header; media is fetched with that header and shown through blob: URLs that are
// revoked as soon as they leave the screen; a 423 break view removes every image first. The JWT
// payload is decoded only to choose the view: the server enforces every role.

const TOKEN_KEY = 'modq.token';
const PREF_PREFIX = 'modq.blur.';
const BREAK_REASONS = new Set(['ON_BREAK', 'BREAK_DUE', 'COOLDOWN', 'DAILY_CAP', 'TIER_CAP', 'SHIFT_OVER']);
const ITEM_REASONS = new Set(['REVEAL_LEVEL', 'COLOUR', 'NEEDS_REASON']);
const EMPTY_RETRY_MS = 5000;
const DENIED_RETRY_MS = 15000;
const ME_REFRESH_MS = 15000;
const TEAM_REFRESH_MS = 5000;
const PEEK_LEVEL = 1;
const VERDICTS = {
  no_violation: 'No violation',
  remove: 'Remove',
  restrict: 'Restrict',
  remove_and_report: 'Remove and report',
};
const REASON_TEXT = {
  NONE: 'Reviewing',
  ON_BREAK: 'On a break',
  SHIFT_OVER: 'Shift over',
  BREAK_DUE: 'Break due',
  ROLE: 'No queue for this role',
  SKILL: 'Needs a skill',
  OPT_OUT: 'Opted out',
  DAILY_CAP: 'Daily cap reached',
  TIER_CAP: 'Tier cap reached',
  COOLDOWN: 'Short pause',
  ROTATION: 'Another category first',
  REVEAL_LEVEL: 'That view is not allowed',
  COLOUR: 'Colour is not allowed',
  NEEDS_REASON: 'A reason is needed',
  LEDGER_FULL: 'Exposure record full',
};
const LEVEL_TEXT = ['clear', 'light blur', 'medium blur', 'heavy blur'];

const $ = (id) => document.getElementById(id);

const st = {
  token: null,
  roles: [],
  isLead: false,
  skew: 0, // server clock minus local clock, from the last Status
  status: null,
  mode: 'login', // login | review | team | break
  queue: null, // null: any queue; 'escalations' for the lead tab
  leadTab: 'team', // the lead's last tab, to come back to after a break
  item: null,
  level: 3, // level of the base (non-peek) view
  colour: false,
  baseUrl: null,
  peekUrl: null,
  peeking: false,
  gen: 0, // bumped whenever the item or view changes, so late answers are dropped
  busy: false,
  leaseFired: false,
  brk: null, // {reason, until}
  timers: {},
};

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

// ---- Utilities -----------------------------------------------------------------------------

function serverNow() {
  return Date.now() + st.skew;
}

function fmtDuration(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

function fmtAge(ms) {
  const m = Math.floor(Math.max(0, ms) / 60000);
  if (m < 1) return 'just now';
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h` : `${Math.floor(h / 24)} d`;
}

function fmtClock(ms) {
  return new Date(ms - st.skew).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function fmtMinutes(x) {
  return Number.isFinite(x) ? (Math.round(x * 10) / 10).toString() : '–';
}

function show(el, on) {
  el.hidden = !on;
}

let liveTimer = 0;
function announce(text) {
  // Clearing first makes screen readers repeat an identical message.
  const live = $('live');
  live.textContent = '';
  clearTimeout(liveTimer);
  liveTimer = setTimeout(() => {
    live.textContent = text;
  }, 50);
}

let noticeTimer = 0;
function notice(text, kind = 'info', ms = 8000) {
  const n = $('notice');
  n.textContent = text;
  n.className = `notice ${kind}`;
  n.hidden = false;
  clearTimeout(noticeTimer);
  if (ms > 0) noticeTimer = setTimeout(() => (n.hidden = true), ms);
}

function setTimer(name, fn, ms) {
  clearTimer(name);
  st.timers[name] = setTimeout(() => {
    delete st.timers[name];
    fn();
  }, ms);
}

function clearTimer(name) {
  if (st.timers[name]) clearTimeout(st.timers[name]);
  delete st.timers[name];
}

function decodeClaims(token) {
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

// ---- API -----------------------------------------------------------------------------------

async function request(method, path, body) {
  const headers = { Authorization: `Bearer ${st.token}` };
  const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 401) {
    signOut('This token was not accepted (it may have expired). Please paste a fresh one.');
    throw new ApiError(401, { error: 'unauthorized' });
  }
  if (!res.ok) {
    let b = null;
    try {
      b = await res.json();
    } catch {
      b = null;
    }
    throw new ApiError(res.status, b);
  }
  return res;
}

async function api(method, path, body) {
  const res = await request(method, path, body);
  const text = await res.text();
  return text ? JSON.parse(text) : {};
}

async function fetchMediaUrl(item, level, colour) {
  let path = `/v1/items/${encodeURIComponent(item.id)}/media?level=${level}`;
  if (colour) path += '&colour=1';
  const res = await request('GET', path);
  return URL.createObjectURL(await res.blob());
}

function updateStatus(s) {
  if (!s || typeof s !== 'object') return;
  st.status = s;
  if (typeof s.now_ms === 'number') st.skew = s.now_ms - Date.now();
  renderGauges();
}

// ---- Top bar -------------------------------------------------------------------------------

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

// Called every second: the countdowns in the top bar, the lease and the break view.
function renderClocks() {
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

// ---- Media ---------------------------------------------------------------------------------

function renderMedia() {
  const frame = $('media-frame');
  const url = st.peeking && st.peekUrl ? st.peekUrl : st.baseUrl;
  if (!url) {
    const p = document.createElement('p');
    p.className = 'media-placeholder';
    p.textContent = 'Loading the blurred view…';
    frame.replaceChildren(p);
  } else {
    let img = frame.querySelector('img');
    if (!img) {
      img = document.createElement('img');
      img.draggable = false;
      img.decoding = 'async';
      frame.replaceChildren(img);
    }
    const lv = st.peeking && st.peekUrl ? PEEK_LEVEL : st.level;
    img.src = url;
    img.alt = `Image from the ticket, ${LEVEL_TEXT[lv]}`;
    img.dataset.level = String(lv);
    img.classList.toggle('colour', st.colour);
  }
  renderLevel();
}

function renderLevel() {
  const item = st.item;
  if (!item) return;
  const lv = st.peeking ? PEEK_LEVEL : st.level;
  let t = `Showing ${LEVEL_TEXT[lv]} (level ${lv})${st.colour ? ', in colour' : ', greyscale'}.`;
  if (st.peeking) t += ' Peeking: release to go back.';
  else if (item.min_level < st.level) t += ` Clearest allowed: level ${item.min_level}${item.min_level === 0 && item.reason_required ? ' (with a reason)' : ''}.`;
  $('level-text').textContent = t;
  const busy = st.busy;
  $('btn-peek').disabled = busy || !item.has_media || st.level <= PEEK_LEVEL || item.min_level > PEEK_LEVEL;
  $('btn-reveal').disabled = busy || st.peeking || !item.has_media || st.level <= item.min_level;
  $('btn-blur').disabled = busy || st.peeking || !item.has_media || st.level >= 3;
  const colourOk = !!(item.colour_allowed && item.colour_available);
  show($('btn-colour'), colourOk);
  $('btn-colour').disabled = busy || st.peeking || !colourOk;
  $('btn-colour').setAttribute('aria-pressed', String(st.colour));
}

function revoke(url) {
  if (url) URL.revokeObjectURL(url);
}

// Removes every image and blob URL: used on item change, breaks and sign-out.
function clearMedia() {
  st.gen++;
  st.peeking = false;
  revoke(st.peekUrl);
  revoke(st.baseUrl);
  st.peekUrl = null;
  st.baseUrl = null;
  $('media-frame').replaceChildren();
}

// Shows the base view at level (and colour); returns false when refused.
async function loadBase(level, colour) {
  const item = st.item;
  const gen = ++st.gen;
  try {
    const url = await fetchMediaUrl(item, level, colour);
    if (gen !== st.gen || st.item !== item) {
      revoke(url);
      return false;
    }
    revoke(st.baseUrl);
    st.baseUrl = url;
    st.level = level;
    st.colour = colour;
    renderMedia();
    return true;
  } catch (e) {
    if (gen === st.gen) handleError(e, 'media');
    return false;
  }
}

function personalLevel(category) {
  const v = Number(localStorage.getItem(PREF_PREFIX + category));
  return v >= 1 && v <= 3 ? v : 0;
}

// ---- Review --------------------------------------------------------------------------------

function showReviewState(which) {
  for (const id of ['state-empty', 'state-denied', 'state-loading', 'card']) show($(id), id === which);
}

async function loadNext() {
  clearTimer('retry');
  if (st.mode !== 'review') return;
  const q = st.queue ? `?queue=${encodeURIComponent(st.queue)}` : '';
  if (!st.item) showReviewState('state-loading');
  try {
    const r = await api('GET', `/v1/next${q}`);
    if (st.mode !== 'review') return;
    updateStatus(r.status);
    if (!r.item) {
      dropItem();
      showReviewState('state-empty');
      setTimer('retry', loadNext, EMPTY_RETRY_MS);
      return;
    }
    showItem(r.item);
  } catch (e) {
    handleError(e, 'next');
  }
}

function dropItem() {
  clearMedia();
  st.item = null;
  renderClocks();
}

function showItem(item) {
  const same = st.item && st.item.id === item.id && st.baseUrl && item.level === st.level;
  st.leaseFired = false;
  if (same) {
    // The same lease came back (renewed): keep what is on screen.
    st.item = item;
    renderClocks();
    return;
  }
  clearMedia();
  st.item = item;
  st.colour = false;
  // The personal default may only make the view heavier than the server's level.
  st.level = Math.min(3, Math.max(item.level, personalLevel(item.category)));
  $('card-category').textContent = item.category.replace(/_/g, ' ');
  $('card-queue').textContent = item.queue;
  $('card-tier').textContent = String(item.tier);
  $('card-priority').textContent = String(item.priority);
  $('card-locale').textContent = item.locale || '–';
  $('card-age').textContent = fmtAge(serverNow() - item.created_at_ms);
  $('card-reason').textContent = item.reporter_reason || '–';
  $('card-text').textContent = item.text || '–';
  const esc = $('card-escalation');
  esc.textContent = item.escalated ? `Escalated${item.escalation_note ? `: “${item.escalation_note}”` : ' (no note)'}` : '';
  show(esc, !!item.escalated);
  const prior = $('card-prior');
  if (item.prior && item.prior.verdict) {
    prior.textContent = `The same image was decided before: ${VERDICTS[item.prior.verdict] || item.prior.verdict}.`;
  }
  show(prior, !!(item.prior && item.prior.verdict));
  $('pref-category').textContent = item.category.replace(/_/g, ' ');
  $('pref-level').value = String(personalLevel(item.category) || '');
  show($('media-block'), !!item.has_media);
  show($('card-nomedia'), !item.has_media);
  show($('btn-escalate'), st.queue !== 'escalations');
  showReviewState('card');
  renderMedia();
  renderClocks();
  $('card').focus({ preventScroll: true });
  announce(`New item: ${item.category.replace(/_/g, ' ')}, priority ${item.priority}.`);
  if (item.has_media) loadBase(st.level, false);
}

async function leaseRanOut() {
  // The server handed the item back; ask again (a renewed lease gives the same item back).
  const id = st.item && st.item.id;
  try {
    const q = st.queue ? `?queue=${encodeURIComponent(st.queue)}` : '';
    const r = await api('GET', `/v1/next${q}`);
    if (st.mode !== 'review') return;
    updateStatus(r.status);
    if (r.item && r.item.id === id && r.item.lease_expires_ms > serverNow()) {
      showItem(r.item);
      return;
    }
    announce('Time on that item ran out, so it went back to the queue.');
    if (!r.item) {
      dropItem();
      showReviewState('state-empty');
      setTimer('retry', loadNext, EMPTY_RETRY_MS);
    } else {
      showItem(r.item);
    }
  } catch (e) {
    dropItem();
    handleError(e, 'next');
  }
}

function canAct() {
  return st.mode === 'review' && st.item && !st.busy && !$('card').hidden;
}

async function itemAction(fn) {
  if (!canAct()) return;
  st.busy = true;
  setBusy(true);
  try {
    await fn(st.item);
  } catch (e) {
    handleError(e, 'item');
  } finally {
    st.busy = false;
    setBusy(false);
  }
}

function setBusy(on) {
  for (const b of document.querySelectorAll('#card button')) {
    if (!b.closest('.media-controls')) b.disabled = on;
  }
  renderLevel();
}

function decide(verdict) {
  return itemAction(async (item) => {
    const r = await api('POST', `/v1/items/${encodeURIComponent(item.id)}/decision`, { verdict, labels: [] });
    updateStatus(r.status);
    dropItem();
    announce(`${VERDICTS[verdict]}: recorded. Loading the next item.`);
    await loadNext();
  });
}

async function escalate() {
  if (!canAct() || st.queue === 'escalations') return;
  const note = await askText($('dlg-escalate'), $('escalate-note'), false);
  if (note === null) return;
  await itemAction(async (item) => {
    await api('POST', `/v1/items/${encodeURIComponent(item.id)}/escalate`, { note });
    dropItem();
    announce('Escalated to a lead. Loading the next item.');
    await loadNext();
  });
}

function release() {
  return itemAction(async (item) => {
    await api('POST', `/v1/items/${encodeURIComponent(item.id)}/release`);
    dropItem();
    announce('Handed back to the queue. Loading the next item.');
    await loadNext();
  });
}

async function revealClearer() {
  if (!canAct() || st.peeking || !st.item.has_media) return;
  const item = st.item;
  const target = st.level - 1;
  if (target < item.min_level) return;
  if (target === 0 && item.reason_required) {
    const reason = await askText($('dlg-reason'), $('reason-input'), true);
    if (reason === null || st.item !== item) return;
    await itemAction(async () => {
      await api('POST', `/v1/items/${encodeURIComponent(item.id)}/reveal`, { level: 0, colour: st.colour, reason });
      if (await loadBase(0, st.colour)) announce('Showing the image clearly.');
    });
    return;
  }
  await itemAction(async () => {
    if (await loadBase(target, st.colour)) announce(`Showing ${LEVEL_TEXT[target]}.`);
  });
}

function blurMore() {
  if (!canAct() || st.peeking || st.level >= 3) return;
  return itemAction(async () => {
    if (await loadBase(st.level + 1, st.colour)) announce(`Showing ${LEVEL_TEXT[st.level]}.`);
  });
}

function toggleColour() {
  const item = st.item;
  if (!canAct() || st.peeking || !(item.colour_allowed && item.colour_available)) return;
  const want = !st.colour;
  return itemAction(async () => {
    if (await loadBase(st.level, want)) announce(want ? 'Showing colour.' : 'Back to greyscale.');
  });
}

// Peek: a lighter view only while the button or Space is held.
async function startPeek() {
  if (!canAct() || st.peeking || !st.item.has_media) return;
  const item = st.item;
  if (st.level <= PEEK_LEVEL || item.min_level > PEEK_LEVEL) return;
  st.peeking = true;
  $('btn-peek').classList.add('held');
  renderLevel();
  const gen = st.gen;
  try {
    const url = await fetchMediaUrl(item, PEEK_LEVEL, st.colour);
    if (!st.peeking || gen !== st.gen || st.item !== item) {
      revoke(url); // released before the answer came: never show it
      return;
    }
    st.peekUrl = url;
    renderMedia();
  } catch (e) {
    st.peeking = false;
    $('btn-peek').classList.remove('held');
    renderLevel();
    if (gen === st.gen) handleError(e, 'media');
  }
}

function endPeek() {
  if (!st.peeking) return;
  st.peeking = false;
  $('btn-peek').classList.remove('held');
  revoke(st.peekUrl);
  st.peekUrl = null;
  renderMedia();
  // Ask for the base level again so the server records that the lighter view left the screen.
  if (st.item && st.item.has_media && st.mode === 'review') loadBase(st.level, st.colour);
}

// ---- Denials and errors --------------------------------------------------------------------

function handleError(e, ctx) {
  if (!(e instanceof ApiError)) {
    notice('The connection to the review service was lost. Trying again shortly.', 'error');
    if (ctx === 'next' || ctx === 'item') setTimer('retry', loadNext, DENIED_RETRY_MS);
    return;
  }
  const b = e.body || {};
  if (e.status === 401) return;
  if (e.status === 423) {
    if (BREAK_REASONS.has(b.reason)) {
      showBreak(b.reason, b.until_ms || 0);
    } else if (ITEM_REASONS.has(b.reason) && ctx !== 'next') {
      notice(`${REASON_TEXT[b.reason] || 'Not allowed'}. ${b.message || ''}`.trim(), 'info');
      announce(REASON_TEXT[b.reason] || 'Not allowed');
      renderMedia();
    } else {
      showDenied(b.reason, b.message);
    }
    return;
  }
  if ((e.status === 404 || e.status === 403) && ctx !== 'next') {
    announce('That item is no longer yours (it may have been decided elsewhere). Loading the next one.');
    notice('That item is no longer yours. Loading the next one.', 'info');
    dropItem();
    loadNext();
    return;
  }
  if (e.status === 409 && ctx === 'media') {
    notice('There is no colour version of this image.', 'info');
    renderMedia();
    return;
  }
  if (e.status === 403 && ctx === 'next') {
    showDenied('ROLE', b.message);
    return;
  }
  notice(b.message || `Something went wrong (${e.status}). Trying again shortly.`, 'error');
  if (ctx === 'next') setTimer('retry', loadNext, DENIED_RETRY_MS);
}

function showDenied(reason, message) {
  dropItem();
  $('denied-title').textContent = REASON_TEXT[reason] || 'Not available right now';
  let t = message || '';
  if (reason === 'ROTATION') t = 'You have reviewed several items of this category in a row. The next item will come from another category as soon as one is waiting.';
  else if (reason === 'OPT_OUT') t = 'Nothing is waiting outside the categories you opted out of.';
  else if (reason === 'SKILL') t = 'The waiting items need a skill your account does not have.';
  else if (reason === 'ROLE') t = t || 'Your role cannot take items from this queue.';
  $('denied-text').textContent = t;
  showReviewState('state-denied');
  announce(`${$('denied-title').textContent}. ${t}`);
  setTimer('retry', loadNext, DENIED_RETRY_MS);
}

// ---- Break view ----------------------------------------------------------------------------

const BREAK_COPY = {
  BREAK_DUE: ['Time for a break', 'You have been reviewing for a while. A short break helps. Start it now, or simply step away: the queue opens again when the countdown ends.'],
  ON_BREAK: ['You are on a break', 'Nothing from the queue will be shown until the break ends. Take this time for yourself.'],
  COOLDOWN: ['A short pause', 'After a heavy item there is a short pause before the next one.'],
  DAILY_CAP: ['That is enough for today', 'You have reached today’s exposure limit. Thank you for your work.'],
  TIER_CAP: ['That is enough of this kind for today', 'You have reached today’s limit for this kind of content. Thank you for your work.'],
  SHIFT_OVER: ['Your shift is over', 'Thank you for your work today. Please rest before your next shift.'],
};

function showBreak(reason, until) {
  // Nothing harmful stays reachable: images and blob URLs go first, and a half-typed reveal
  // reason or escalation note for an item that is gone is dropped.
  clearMedia();
  for (const id of ['dlg-reason', 'dlg-escalate']) if ($(id).open) $(id).close();
  st.item = null;
  clearTimer('retry');
  st.brk = { reason, until, shownAt: Date.now() };
  clearTimer('breakcheck');
  setMode('break');
  const [title, body] = BREAK_COPY[reason] || BREAK_COPY.BREAK_DUE;
  $('break-title').textContent = title;
  $('break-text-body').textContent = body;
  show($('btn-start-break'), reason === 'BREAK_DUE');
  show($('btn-end-break'), reason === 'ON_BREAK');
  $('btn-end-break').disabled = until > serverNow();
  show($('btn-break-check'), false);
  renderBreakClock();
  $('break-title').focus();
  announce(`${title}. ${until > 0 ? `${fmtDuration(until - serverNow())} to go.` : ''}`);
}

function renderBreakClock() {
  const b = st.brk;
  if (!b) return;
  const cd = $('break-countdown');
  const left = b.until - serverNow();
  if (b.until <= 0) {
    cd.textContent = b.reason === 'ON_BREAK' ? 'End the break whenever you are ready.' : 'This lifts when your lead or your next shift clears it.';
    $('btn-end-break').disabled = false;
    show($('btn-break-check'), b.reason !== 'ON_BREAK');
    return;
  }
  if (left > 0) {
    cd.textContent = b.reason === 'ON_BREAK' ? `${fmtDuration(left)} of your break left` : `Back in ${fmtDuration(left)}`;
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
    b.checked = true;
    cd.textContent = 'Checking…';
    setTimer('breakcheck', leaveBreak, Math.max(0, b.shownAt + 3000 - Date.now()));
  }
}

async function takeBreak() {
  try {
    const s = await api('POST', '/v1/breaks/start');
    updateStatus(s);
    announce('Your break has started.');
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 409) {
      handleError(e, 'break');
      return;
    }
  }
  await enterOnBreak();
}

// The break's end is in the Status after start; otherwise /v1/next's 423 says it.
async function enterOnBreak() {
  const s = st.status;
  if (s && s.on_break && s.reason === 'ON_BREAK' && s.until_ms > 0) {
    showBreak('ON_BREAK', s.until_ms);
    return;
  }
  try {
    const q = st.queue ? `?queue=${encodeURIComponent(st.queue)}` : '';
    const r = await api('GET', `/v1/next${q}`);
    updateStatus(r.status);
    showBreak('ON_BREAK', 0);
  } catch (e) {
    if (e instanceof ApiError && e.status === 423 && e.body.reason === 'ON_BREAK') showBreak('ON_BREAK', e.body.until_ms || 0);
    else if (e instanceof ApiError && e.status === 423) showBreak(e.body.reason, e.body.until_ms || 0);
    else showBreak('ON_BREAK', 0);
  }
}

async function endBreak() {
  $('btn-end-break').disabled = true;
  try {
    const s = await api('POST', '/v1/breaks/end');
    updateStatus(s);
    announce('Welcome back.');
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 409) {
      $('btn-end-break').disabled = false;
      handleError(e, 'break');
      return;
    }
  }
  leaveBreak();
}

function leaveBreak() {
  st.brk = null;
  clearTimer('breakcheck');
  if (st.isLead) {
    selectTab(st.leadTab);
  } else {
    setMode('review');
    loadNext();
  }
}

// ---- Lead: team ----------------------------------------------------------------------------

async function loadTeam() {
  clearTimer('team');
  if (st.mode !== 'team') return;
  try {
    const t = await api('GET', '/v1/team');
    if (st.mode !== 'team') return;
    renderTeam(t);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    notice(e instanceof ApiError ? e.body.message || `Team view failed (${e.status}).` : 'The connection was lost. Trying again.', 'error', 4000);
  }
  if (st.mode === 'team') setTimer('team', loadTeam, TEAM_REFRESH_MS);
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
  const rows = (t.associates || []).slice().sort((a, b) =>
    (b.support_requested_ms || 0) - (a.support_requested_ms || 0) ||
    Number(!!b.near_cap) - Number(!!a.near_cap) ||
    String(a.associate).localeCompare(String(b.associate)));
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
      sup.append(badge);
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

function selectTab(which) {
  const team = which === 'team';
  st.leadTab = team ? 'team' : 'escalations';
  $('tab-team').setAttribute('aria-selected', String(team));
  $('tab-esc').setAttribute('aria-selected', String(!team));
  $('tab-team').tabIndex = team ? 0 : -1;
  $('tab-esc').tabIndex = team ? -1 : 0;
  if (team) {
    // The escalation item keeps its lease, but leaves the screen.
    endPeek();
    clearMedia();
    st.item = null;
    st.queue = 'escalations';
    setMode('team');
    loadTeam();
  } else {
    st.queue = 'escalations';
    setMode('review');
    loadNext();
  }
}

// ---- Views, sign-in ------------------------------------------------------------------------

function setMode(mode) {
  st.mode = mode;
  clearTimer('team');
  if (mode !== 'review') clearTimer('retry');
  const signedIn = mode !== 'login';
  show($('view-login'), mode === 'login');
  show($('view-review'), mode === 'review');
  show($('view-team'), mode === 'team');
  show($('view-break'), mode === 'break');
  show($('lead-tabs'), st.isLead && (mode === 'review' || mode === 'team'));
  show($('gauges'), signedIn);
  show($('who'), signedIn);
  show($('btn-logout'), signedIn);
  show($('btn-take-break'), signedIn && mode !== 'break');
  show($('btn-support'), signedIn && mode !== 'break');
  document.body.classList.toggle('on-break', mode === 'break');
  if (mode !== 'review') show($('g-lease'), false);
}

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
  const roles = Array.isArray(claims.roles) ? claims.roles : [];
  st.roles = roles;
  st.isLead = roles.includes('lead');
  $('who').textContent = `${claims.sub || ''}${st.isLead ? ' (lead)' : ''}`;
  $('token-input').value = '';
  show($('login-error'), false);
  if (st.isLead) {
    selectTab('team');
  } else {
    st.queue = null;
    setMode('review');
    loadNext();
  }
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
      method: 'POST', headers: { Authorization: `Bearer ${token}` }, keepalive: true, credentials: 'omit',
    }).catch(() => {});
  }
  clearMedia();
  st.item = null;
  st.token = null;
  st.status = null;
  st.brk = null;
  st.isLead = false;
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

// ---- Dialogs -------------------------------------------------------------------------------

// Opens a dialog with one text field; resolves to the text, or null when cancelled.
function askText(dlg, input, required) {
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

// ---- Wiring --------------------------------------------------------------------------------

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
    if (v) localStorage.setItem(PREF_PREFIX + item.category, v);
    else localStorage.removeItem(PREF_PREFIX + item.category);
    announce(v ? `New ${item.category.replace(/_/g, ' ')} items will open at level ${v} or heavier.` : 'Using the server’s level for this category.');
    const want = Number(v);
    if (want > st.level && item.has_media) itemAction(() => loadBase(want, st.colour));
  });
  $('tab-team').addEventListener('click', () => selectTab('team'));
  $('tab-esc').addEventListener('click', () => selectTab('escalations'));
  $('lead-tabs').addEventListener('keydown', (e) => {
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      const next = document.activeElement === $('tab-team') ? $('tab-esc') : $('tab-team');
      next.focus();
      next.click();
    }
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
