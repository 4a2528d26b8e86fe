// denials.js: what the page does with a failed call (main.js installs handleError as api.js's
// failure handler): a 423 becomes the break view, a short notice or the calm "not available"
// state; a lost item moves on to the next one; a lost connection retries later.

import { BREAK_REASONS, DENIED_RETRY_MS, ITEM_REASONS, REASON_TEXT } from '/static/state.js';
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
  if (e.status === 503 && b.error === 'paused') {
    // Not the person's fault and nothing for them to do: say so calmly and ask again later.
    notice(b.message || 'No new items for now. Trying again shortly.', 'info');
    if (ctx === 'next') setTimer('retry', loadNext, DENIED_RETRY_MS);
    return;
  }
  notice(b.message || `Something went wrong (${e.status}). Trying again shortly.`, 'error');
  if (ctx === 'next') setTimer('retry', loadNext, DENIED_RETRY_MS);
}

function showDenied(reason, message) {
  dropItem();
  $('denied-title').textContent = REASON_TEXT[reason] || 'Not available right now';
  let t = message || '';
  if (reason === 'ROTATION') {
    t =
      'You have reviewed several items of this category in a row. The next item will come from another category as soon as one is waiting.';
  } else if (reason === 'OPT_OUT') t = 'Nothing is waiting outside the categories you opted out of.';
  else if (reason === 'SKILL') t = 'The waiting items need a skill your account does not have.';
  else if (reason === 'ROLE') t = t || 'Your role cannot take items from this queue.';
  $('denied-text').textContent = t;
  showReviewState('state-denied');
  announce(`${$('denied-title').textContent}. ${t}`);
  setTimer('retry', loadNext, DENIED_RETRY_MS);
}
