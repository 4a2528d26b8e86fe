// media.js: the item's image. Renditions are fetched with the Authorization header and shown
// through blob: URLs, each revoked as soon as it leaves the screen; also the level line and the
// view controls' enabled state, and the person's own heavier default per category.

import { LEVEL_TEXT, PEEK_LEVEL, PREF_PREFIX, bump, state, update } from '/static/state.js';
import { $, show } from '/static/ui.js';
import { failed, request } from '/static/api.js';

export async function fetchMediaUrl(item, level, colour) {
  let path = `/v1/items/${encodeURIComponent(item.id)}/media?level=${level}`;
  if (colour) path += '&colour=1';
  const seq = bump('mediaSeq');
  const res = await request('GET', path);
  // Every view renews the lease on the server, and a reveal may shorten it (a clearer view uses
  // up what is left of a cap sooner): the countdown follows the newest answer, either way.
  const until = Number(res.headers.get('X-Modq-Lease-Expires'));
  if (until > 0 && state.item === item && seq > state.leaseSeq) update({ leaseSeq: seq, leaseUntil: until });
  return URL.createObjectURL(await res.blob());
}

export function renderMedia() {
  const frame = $('media-frame');
  const url = state.peeking && state.peekUrl ? state.peekUrl : state.baseUrl;
  show(frame, !state.mediaHidden);
  show($('media-hidden'), state.mediaHidden);
  if (state.mediaHidden) {
    frame.replaceChildren();
  } else if (!url) {
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
    const lv = state.peeking && state.peekUrl ? PEEK_LEVEL : state.level;
    img.src = url;
    img.alt = `Image from the ticket, ${LEVEL_TEXT[lv]}`;
    img.dataset.level = String(lv);
    img.classList.toggle('colour', state.colour);
  }
  renderLevel();
}

export function renderLevel() {
  const item = state.item;
  if (!item) return;
  const busy = state.busy;
  if (state.mediaHidden) {
    $('level-text').textContent = 'Hidden. You can still decide without it.';
    for (const id of ['btn-peek', 'btn-reveal', 'btn-blur', 'btn-colour']) $(id).disabled = true;
    $('btn-show-again').disabled = busy;
    return;
  }
  const lv = state.peeking ? PEEK_LEVEL : state.level;
  let t = `Showing ${LEVEL_TEXT[lv]} (level ${lv})${state.colour ? ', in colour' : ', greyscale'}.`;
  if (state.peeking) t += ' Peeking: release to go back.';
  else if (item.min_level < state.level) {
    t += ` Clearest allowed: level ${item.min_level}${item.min_level === 0 && item.reason_required ? ' (with a reason)' : ''}.`;
  }
  $('level-text').textContent = t;
  $('btn-peek').disabled = busy || !item.has_media || state.level <= PEEK_LEVEL || item.min_level > PEEK_LEVEL;
  $('btn-reveal').disabled = busy || state.peeking || !item.has_media || state.level <= item.min_level;
  $('btn-blur').disabled = busy || state.peeking || !item.has_media || state.level >= 3;
  const colourOk = !!(item.colour_allowed && item.colour_available);
  show($('btn-colour'), colourOk);
  $('btn-colour').disabled = busy || state.peeking || !colourOk;
  $('btn-colour').setAttribute('aria-pressed', String(state.colour));
}

export function revoke(url) {
  if (url) URL.revokeObjectURL(url);
}

// Takes the image off the screen at once, and keeps it off (whatever the item's lease does)
// until the person asks for it back or the next item comes.
export function hideMedia() {
  clearMedia();
  update({ mediaHidden: true });
  $('btn-peek').classList.remove('held');
  renderMedia();
}

// Removes every image and blob URL: used on item change, breaks and sign-out.
export function clearMedia() {
  revoke(state.peekUrl);
  revoke(state.baseUrl);
  update({ gen: state.gen + 1, peeking: false, peekUrl: null, baseUrl: null });
  $('media-frame').replaceChildren();
}

// Shows the base view at level (and colour); returns false when refused.
export async function loadBase(level, colour) {
  const item = state.item;
  const gen = bump('gen');
  try {
    const url = await fetchMediaUrl(item, level, colour);
    if (gen !== state.gen || state.item !== item) {
      revoke(url);
      return false;
    }
    revoke(state.baseUrl);
    update({ baseUrl: url, level, colour });
    renderMedia();
    return true;
  } catch (e) {
    if (gen === state.gen) failed(e, 'media');
    return false;
  }
}

// Each person's own, on this browser: keyed by the token's subject, so that on a shared
// workstation one person's setting never lightens (or weighs on) the next one's view.
function prefKey(category) {
  return `${PREF_PREFIX}${encodeURIComponent(state.sub)}.${category}`;
}

export function personalLevel(category) {
  const v = Number(localStorage.getItem(prefKey(category)));
  return v >= 1 && v <= 3 ? v : 0;
}

export function setPersonalLevel(category, v) {
  if (v) localStorage.setItem(prefKey(category), v);
  else localStorage.removeItem(prefKey(category));
}
