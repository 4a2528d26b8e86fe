// review.js: the item card, shared by the review, QA and escalations tabs: asking for the next
// item, showing it, the lease running out, peek (only while held), reveal (a typed reason for the
// clear view), more blur, colour, and decide / escalate / release.

import { $, EMPTY_RETRY_MS, LEASE_SETTLE_MS, LEVEL_TEXT, PEEK_LEVEL, VERDICTS, st } from '/static/state.js';
import { announce, askText, clearTimer, fmtAge, serverNow, setTimer, show } from '/static/ui.js';
import { ApiError, api, nextPath } from '/static/api.js';
import { clearMedia, fetchMediaUrl, loadBase, personalLevel, renderLevel, renderMedia, revoke } from '/static/media.js';
import { renderClocks, updateStatus } from '/static/gauges.js';
import { handleError } from '/static/denials.js';

export function showReviewState(which) {
  for (const id of ['state-empty', 'state-denied', 'state-loading', 'state-timeout', 'state-support', 'card']) show($(id), id === which);
  show($('keys'), which === 'card'); // the shortcut setting goes with the card the keys act on
}

// The last /v1/next in flight: a tab switch waits for it, so that an item leased for the old
// tab is known (and handed back) before the new tab asks; the server would give it back again.
let inflight = Promise.resolve();
export function nextSettled() {
  return inflight;
}

export function loadNext() {
  const p = loadNextOnce();
  inflight = p.catch(() => {});
  return p;
}

async function loadNextOnce() {
  clearTimer('retry');
  if (st.mode !== 'review') return;
  const tab = st.tab;
  if (!st.item) showReviewState('state-loading');
  try {
    const r = await api('GET', nextPath(st.queue));
    if (st.mode !== 'review' || st.tab !== tab) {
      if (r.item) st.held = { id: r.item.id, tab };
      return;
    }
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

export function dropItem() {
  clearMedia();
  st.mediaHidden = false;
  st.item = null;
  st.held = null;
  renderClocks();
}

function showItem(item) {
  // A hidden image stays hidden when its lease comes back renewed.
  const same = st.item && st.item.id === item.id && (st.mediaHidden || (st.baseUrl && item.level === st.level));
  clearTimer('lease');
  st.leaseFired = false;
  st.leaseSeq = st.mediaSeq; // lease times of answers to older requests are stale now
  st.held = { id: item.id, tab: st.tab };
  if (same) {
    // The same lease came back (renewed): keep what is on screen.
    st.item = item;
    showReviewState('card');
    renderClocks();
    return;
  }
  clearMedia();
  st.item = item;
  st.itemTab = st.tab;
  st.colour = false;
  st.mediaHidden = false;
  // Every item opens at the heaviest blur, whatever the server last served (a reload after a
  // reveal or an interrupted peek must not bring a clearer view back unasked).
  st.level = 3;
  $('card-category').textContent = item.category.replace(/_/g, ' ');
  $('card-queue').textContent = item.queue;
  $('card-tier').textContent = String(item.tier);
  $('card-priority').textContent = String(item.priority);
  $('card-locale').textContent = item.locale || '–';
  $('card-age').textContent = fmtAge(serverNow() - item.created_at_ms);
  $('card-reason').textContent = item.reporter_reason || '–';
  $('card-text').textContent = item.text || '–';
  // The Item carries no flag or first verdict for a QA copy: only the tab tells.
  show($('card-qa'), st.itemTab === 'qa');
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
  // Escalated items and QA copies have nobody above them to go to (the server answers 409).
  show($('btn-escalate'), canEscalate());
  show($('keys-escalate'), canEscalate());
  showReviewState('card');
  renderMedia();
  renderClocks();
  $('card').focus({ preventScroll: true });
  const what = st.itemTab === 'qa' ? 'New item for second review' : 'New item';
  announce(`${what}: ${item.category.replace(/_/g, ' ')}, priority ${item.priority}.`);
  if (item.has_media) loadBase(st.level, false);
}

function canEscalate() {
  return st.itemTab === 'review';
}

// The lease ran out on this page's clock (which takes the server's lease time from /v1/next and
// from each media answer). The image leaves the screen at once. Then, a moment later (the server's
// clock may be a little behind), /v1/me says why: when the policy's limit ended it (a break due,
// a cap), /v1/next brings the calm view for that; otherwise nothing more is asked until the
// person says they are back. An open tab is not activity, and asking /v1/next then would renew
// the lease for someone who may have walked away.
export function leaseRanOut() {
  dropItem();
  showReviewState('state-loading');
  setTimer('lease', async () => {
    if (st.item) return; // something else brought an item meanwhile
    try {
      const me = await api('GET', '/v1/me');
      if (st.mode !== 'review' || st.item) return;
      updateStatus(me);
      if (me && me.allowed === false) {
        await loadNext();
        return;
      }
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return; // signed out already
      // Unreachable for now: the person's "Continue" asks again.
    }
    if (st.mode !== 'review' || st.item) return;
    showReviewState('state-timeout');
    announce('Time on that item ran out, so it was taken off the screen and went back to the queue.');
  }, LEASE_SETTLE_MS);
}

function canAct() {
  return st.mode === 'review' && st.item && !st.busy && !$('card').hidden;
}

// The view controls work on an image on screen: not on one hidden after a support request.
function canView() {
  return canAct() && !st.mediaHidden && st.item.has_media;
}

// Brings a hidden image back, at the heaviest blur whatever was on screen before.
export function showAgain() {
  if (!canAct() || !st.mediaHidden) return;
  st.mediaHidden = false;
  renderMedia();
  return itemAction(async () => {
    if (await loadBase(3, false)) announce(`Showing ${LEVEL_TEXT[3]}.`);
  });
}

export async function itemAction(fn) {
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

export function decide(verdict) {
  return itemAction(async (item) => {
    const second = st.itemTab === 'qa';
    const r = await api('POST', `/v1/items/${encodeURIComponent(item.id)}/decision`, { verdict, labels: [] });
    updateStatus(r.status);
    dropItem();
    announce(`${VERDICTS[verdict]}: recorded${second ? ' as the second review' : ''}. Loading the next item.`);
    await loadNext();
  });
}

export async function escalate() {
  if (!canAct() || !canEscalate()) return;
  const note = await askText($('dlg-escalate'), $('escalate-note'), false);
  if (note === null) return;
  await itemAction(async (item) => {
    await api('POST', `/v1/items/${encodeURIComponent(item.id)}/escalate`, { note });
    dropItem();
    announce('Escalated to a lead. Loading the next item.');
    await loadNext();
  });
}

export function release() {
  return itemAction(async (item) => {
    await api('POST', `/v1/items/${encodeURIComponent(item.id)}/release`);
    dropItem();
    announce('Handed back to the queue. Loading the next item.');
    await loadNext();
  });
}

export async function revealClearer() {
  if (!canView() || st.peeking) return;
  const item = st.item;
  // The first step opens at the level the tier sets (spam: clear), or the person's own heavier
  // one; from there, or where the tier opens at the heaviest, one level at a time.
  const open = Math.max(item.open_level, personalLevel(item.category), item.min_level);
  const target = st.level > open ? open : st.level - 1;
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

export function blurMore() {
  if (!canView() || st.peeking || st.level >= 3) return;
  return itemAction(async () => {
    if (await loadBase(st.level + 1, st.colour)) announce(`Showing ${LEVEL_TEXT[st.level]}.`);
  });
}

export function toggleColour() {
  const item = st.item;
  if (!canView() || st.peeking || !(item.colour_allowed && item.colour_available)) return;
  const want = !st.colour;
  return itemAction(async () => {
    if (await loadBase(st.level, want)) announce(want ? 'Showing colour.' : 'Back to greyscale.');
  });
}

// Peek: a lighter view only while the button or Space is held.
export async function startPeek() {
  if (!canView() || st.peeking) return;
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

export function endPeek() {
  if (!st.peeking) return;
  st.peeking = false;
  $('btn-peek').classList.remove('held');
  revoke(st.peekUrl);
  st.peekUrl = null;
  renderMedia();
  // Ask for the base level again so the server records that the lighter view left the screen.
  if (st.item && st.item.has_media && st.mode === 'review') loadBase(st.level, st.colour);
}
