// review.js: the item card, shared by the review, QA and escalations tabs: asking for the next
// item, showing it, the lease running out, peek (only while held), reveal (a typed reason for the
// clear view), more blur, colour, and decide / escalate / release.

import {
  EMPTY_RETRY_MS,
  LEASE_SETTLE_MS,
  LEVEL_TEXT,
  PEEK_LEVEL,
  VERDICTS,
  setStatus,
  state,
  update,
} from '/static/state.js';
import { $, announce, askText, clearTimer, fmtAge, serverNow, setTimer, show } from '/static/ui.js';
import { ApiError, api, failed, nextPath } from '/static/api.js';
import { clearMedia, fetchMediaUrl, loadBase, personalLevel, renderLevel, renderMedia, revoke } from '/static/media.js';

export function showReviewState(which) {
  for (const id of ['state-empty', 'state-denied', 'state-loading', 'state-timeout', 'state-support', 'card']) {
    show($(id), id === which);
  }
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
  if (state.mode !== 'review') return;
  const tab = state.tab;
  if (!state.item) showReviewState('state-loading');
  try {
    const r = await api('GET', nextPath(state.queue));
    if (state.mode !== 'review' || state.tab !== tab) {
      if (r.item) update({ held: { id: r.item.id, tab } });
      return;
    }
    setStatus(r.status);
    if (!r.item) {
      dropItem();
      showReviewState('state-empty');
      setTimer('retry', loadNext, EMPTY_RETRY_MS);
      return;
    }
    showItem(r.item);
  } catch (e) {
    failed(e, 'next');
  }
}

export function dropItem() {
  clearMedia();
  update({ mediaHidden: false, item: null, held: null });
}

function showItem(item) {
  // A hidden image stays hidden when its lease comes back renewed.
  const same =
    state.item && state.item.id === item.id && (state.mediaHidden || (state.baseUrl && item.level === state.level));
  clearTimer('lease');
  leaseFired = false;
  const lease = {
    held: { id: item.id, tab: state.tab },
    leaseUntil: item.lease_expires_ms,
    leaseSeq: state.mediaSeq, // lease times of answers to older requests are stale now
  };
  if (same) {
    // The same lease came back (renewed): keep what is on screen.
    update({ ...lease, item });
    showReviewState('card');
    tickItem();
    return;
  }
  clearMedia();
  // Every item opens at the heaviest blur, whatever the server last served (a reload after a
  // reveal or an interrupted peek must not bring a clearer view back unasked).
  update({ ...lease, item, itemTab: state.tab, colour: false, mediaHidden: false, level: 3 });
  $('card-category').textContent = item.category.replace(/_/g, ' ');
  $('card-queue').textContent = item.queue;
  $('card-tier').textContent = String(item.tier);
  $('card-priority').textContent = String(item.priority);
  $('card-locale').textContent = item.locale || '–';
  $('card-age').textContent = fmtAge(serverNow() - item.created_at_ms);
  $('card-reason').textContent = item.reporter_reason || '–';
  $('card-text').textContent = item.text || '–';
  // The Item carries no flag or first verdict for a QA copy: only the tab tells.
  show($('card-qa'), state.itemTab === 'qa');
  const esc = $('card-escalation');
  esc.textContent = item.escalated
    ? `Escalated${item.escalation_note ? `: “${item.escalation_note}”` : ' (no note)'}`
    : '';
  show(esc, !!item.escalated);
  const prior = $('card-prior');
  if (item.prior && item.prior.verdict) {
    const verdict = VERDICTS[item.prior.verdict] || item.prior.verdict;
    prior.textContent = item.prior.distance
      ? `A very similar image (${item.prior.distance} of 256 bits apart) was decided before: ${verdict}. If it is the same, decide the same without revealing it.`
      : `The same image was decided before: ${verdict}.`;
  }
  show(prior, !!(item.prior && item.prior.verdict));
  // Copies waiting with it are decided with it: one look for all of them.
  const copies = $('card-copies');
  const sameCopies = (item.copies && item.copies.same) || 0;
  const nearCopies = (item.copies && item.copies.near) || 0;
  const nCopies = sameCopies + nearCopies;
  copies.textContent = nCopies
    ? `Your decision also applies to ${nCopies} more ${nCopies === 1 ? 'ticket' : 'tickets'} waiting with ${nearCopies ? 'the same or a very similar image' : 'the same image'}` +
      (nearCopies ? ' (the very similar ones unless you decide No violation).' : '.')
    : '';
  show(copies, nCopies > 0);
  $('pref-category').textContent = item.category.replace(/_/g, ' ');
  $('pref-level').value = String(personalLevel(item.category) || '');
  show($('media-block'), !!item.has_media);
  show($('card-nomedia'), !item.has_media);
  // Escalated items and QA copies have nobody above them to go to (the server answers 409).
  show($('btn-escalate'), canEscalate());
  show($('keys-escalate'), canEscalate());
  showReviewState('card');
  renderMedia();
  tickItem();
  $('card').focus({ preventScroll: true });
  const what = state.itemTab === 'qa' ? 'New item for second review' : 'New item';
  announce(`${what}: ${item.category.replace(/_/g, ' ')}, priority ${item.priority}.`);
  if (item.has_media) loadBase(state.level, false);
}

function canEscalate() {
  return state.itemTab === 'review';
}

// Once a second (main.js) and when an item comes: the card's age, and whether the lease ran out.
let leaseFired = false;
export function tickItem() {
  const item = state.item;
  if (!item || state.mode !== 'review') return;
  const now = serverNow();
  if (state.leaseUntil > 0 && state.leaseUntil - now <= 0 && !leaseFired) {
    leaseFired = true;
    leaseRanOut();
    return;
  }
  $('card-age').textContent = fmtAge(now - item.created_at_ms);
}

// The lease ran out on this page's clock (which takes the server's lease time from /v1/next and
// from each media answer). The image leaves the screen at once. Then, a moment later (the server's
// clock may be a little behind), /v1/me says why: when the policy's limit ended it (a break due,
// a cap), /v1/next brings the calm view for that; otherwise nothing more is asked until the
// person says they are back. An open tab is not activity, and asking /v1/next then would renew
// the lease for someone who may have walked away.
function leaseRanOut() {
  dropItem();
  showReviewState('state-loading');
  setTimer(
    'lease',
    async () => {
      if (state.item) return; // something else brought an item meanwhile
      try {
        const me = await api('GET', '/v1/me');
        if (state.mode !== 'review' || state.item) return;
        setStatus(me);
        if (me && me.allowed === false) {
          await loadNext();
          return;
        }
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return; // signed out already
        // Unreachable for now: the person's "Continue" asks again.
      }
      if (state.mode !== 'review' || state.item) return;
      showReviewState('state-timeout');
      announce('Time on that item ran out, so it was taken off the screen and went back to the queue.');
    },
    LEASE_SETTLE_MS,
  );
}

function canAct() {
  return state.mode === 'review' && state.item && !state.busy && !$('card').hidden;
}

// The view controls work on an image on screen: not on one hidden after a support request.
function canView() {
  return canAct() && !state.mediaHidden && state.item.has_media;
}

// Brings a hidden image back, at the heaviest blur whatever was on screen before.
export function showAgain() {
  if (!canAct() || !state.mediaHidden) return;
  update({ mediaHidden: false });
  renderMedia();
  return itemAction(async () => {
    if (await loadBase(3, false)) announce(`Showing ${LEVEL_TEXT[3]}.`);
  });
}

export async function itemAction(fn) {
  if (!canAct()) return;
  update({ busy: true });
  setBusy(true);
  try {
    await fn(state.item);
  } catch (e) {
    failed(e, 'item');
  } finally {
    update({ busy: false });
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
    const second = state.itemTab === 'qa';
    const r = await api('POST', `/v1/items/${encodeURIComponent(item.id)}/decision`, { verdict, labels: [] });
    setStatus(r.status);
    dropItem();
    // 202: the worker keeps the decision and sends it again until Kafka confirms it.
    const saved = r.confirmed === false ? 'accepted, still being saved' : 'recorded';
    announce(`${VERDICTS[verdict]}: ${saved}${second ? ' as the second review' : ''}. Loading the next item.`);
    await loadNext();
  });
}

export async function escalate() {
  if (!canAct() || !canEscalate()) return;
  const note = await askText($('dlg-escalate'), $('escalate-note'), false);
  if (note === null) return;
  await itemAction(async (item) => {
    const r = await api('POST', `/v1/items/${encodeURIComponent(item.id)}/escalate`, { note });
    dropItem();
    const saved = r.confirmed === false ? ' (still being saved)' : '';
    announce(`Escalated to a lead${saved}. Loading the next item.`);
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
  if (!canView() || state.peeking) return;
  const item = state.item;
  // The first step opens at the level the tier sets (spam: clear), or the person's own heavier
  // one; from there, or where the tier opens at the heaviest, one level at a time.
  const open = Math.max(item.open_level, personalLevel(item.category), item.min_level);
  const target = state.level > open ? open : state.level - 1;
  if (target < item.min_level) return;
  if (target === 0 && item.reason_required) {
    const reason = await askText($('dlg-reason'), $('reason-input'), true);
    if (reason === null || state.item !== item) return;
    await itemAction(async () => {
      await api('POST', `/v1/items/${encodeURIComponent(item.id)}/reveal`, { level: 0, colour: state.colour, reason });
      if (await loadBase(0, state.colour)) announce('Showing the image clearly.');
    });
    return;
  }
  await itemAction(async () => {
    if (await loadBase(target, state.colour)) announce(`Showing ${LEVEL_TEXT[target]}.`);
  });
}

export function blurMore() {
  if (!canView() || state.peeking || state.level >= 3) return;
  return itemAction(async () => {
    if (await loadBase(state.level + 1, state.colour)) announce(`Showing ${LEVEL_TEXT[state.level]}.`);
  });
}

export function toggleColour() {
  const item = state.item;
  if (!canView() || state.peeking || !(item.colour_allowed && item.colour_available)) return;
  const want = !state.colour;
  return itemAction(async () => {
    if (await loadBase(state.level, want)) announce(want ? 'Showing colour.' : 'Back to greyscale.');
  });
}

// Peek: a lighter view only while the button or Space is held.
export async function startPeek() {
  if (!canView() || state.peeking) return;
  const item = state.item;
  if (state.level <= PEEK_LEVEL || item.min_level > PEEK_LEVEL) return;
  update({ peeking: true });
  $('btn-peek').classList.add('held');
  renderLevel();
  const gen = state.gen;
  try {
    const url = await fetchMediaUrl(item, PEEK_LEVEL, state.colour);
    if (!state.peeking || gen !== state.gen || state.item !== item) {
      revoke(url); // released before the answer came: never show it
      return;
    }
    update({ peekUrl: url });
    renderMedia();
  } catch (e) {
    update({ peeking: false });
    $('btn-peek').classList.remove('held');
    renderLevel();
    if (gen === state.gen) failed(e, 'media');
  }
}

export function endPeek() {
  if (!state.peeking) return;
  $('btn-peek').classList.remove('held');
  revoke(state.peekUrl);
  update({ peeking: false, peekUrl: null });
  renderMedia();
  // Ask for the base level again so the server records that the lighter view left the screen.
  if (state.item && state.item.has_media && state.mode === 'review') loadBase(state.level, state.colour);
}
