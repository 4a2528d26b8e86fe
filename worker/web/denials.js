// denials.js: what the page does with a failed call (main.js installs handleError as api.js's
// failure handler): a 423 becomes the break view, a short notice or the calm "not available"
// state; a lost item moves on to the next one; a desk changing hands takes the item off the
// screen; a lost connection retries later. The words are
// the server's `message`, shown as sent (as text); the page only picks the view, the heading
// for a reason code, and what to say when a body carries no message.

import { BREAK_REASONS, CHANGEOVER_RETRY_MS, DENIED_RETRY_MS, ITEM_REASONS, REASON_TEXT } from '/static/state.js';
import { $, announce, notice, setTimer } from '/static/ui.js';
import { ApiError } from '/static/api.js';
import { renderMedia } from '/static/media.js';
import { dropItem, loadNext, showReviewState } from '/static/review.js';
import { showBreak } from '/static/breaks.js';

export function handleError(e, ctx) {
  if (!(e instanceof ApiError)) {
    notice('The connection to the review service was lost. Trying again shortly.', 'error');
    if (ctx === 'next' || ctx === 'item') setTimer('retry', loadNext, DENIED_RETRY_MS);
    return;
  }
  const b = e.body || {};
  if (e.status === 401) return;
  if (e.status === 423) {
    if (BREAK_REASONS.has(b.reason)) {
      showBreak(b.reason, b.until_ms || 0, b.message);
    } else if (ITEM_REASONS.has(b.reason) && ctx !== 'next') {
      const said = b.message || REASON_TEXT[b.reason] || 'Not allowed';
      notice(said, 'info');
      announce(said);
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
    showDenied('ROLE', b.message || 'Your role cannot take items from this queue.');
    return;
  }
  if (e.status === 503 && (b.error === 'unconfirmed' || b.error === 'standby')) {
    // The desk is changing hands (a failover in a fleet): the item may be handed to someone
    // else now, so it leaves the screen at once; the next call reaches the desk that serves,
    // which gives it back if it is still this person's.
    showDenied(null, b.message || 'Trying again shortly.', 'The review desk is changing over', CHANGEOVER_RETRY_MS);
    return;
  }
  if (e.status === 503 && b.error === 'paused') {
    // Not the person's fault and nothing for them to do: say so calmly and ask again later.
    notice(b.message || 'No new items for now. Trying again shortly.', 'info');
    if (ctx === 'next') setTimer('retry', loadNext, DENIED_RETRY_MS);
    return;
  }
  notice(b.message || `Something went wrong (${e.status}). Trying again shortly.`, 'error');
  if (ctx === 'next') setTimer('retry', loadNext, DENIED_RETRY_MS);
}

function showDenied(reason, message, title, retryMs = DENIED_RETRY_MS) {
  dropItem();
  $('denied-title').textContent = title || REASON_TEXT[reason] || 'Not available right now';
  const t = message || '';
  $('denied-text').textContent = t;
  showReviewState('state-denied');
  announce(`${$('denied-title').textContent}. ${t}`);
  setTimer('retry', loadNext, retryMs);
}
