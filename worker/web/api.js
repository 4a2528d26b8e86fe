// api.js: the fetch wrapper for the review API (docs/api.md is the contract). The token only
// travels in the Authorization header, never in a URL; non-2xx answers become ApiError with the
// server's JSON error body; a 401 signs the person out through the handler main.js installs, and
// what any other failure means for the screen is the handler main.js installs for failed().

import { state } from '/static/state.js';

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

// Installed by main.js, which owns sign-out; kept as a hook so this module needs no view code.
let unauthorized = () => {};
export function onUnauthorized(fn) {
  unauthorized = fn;
}

// A failed call, reported where it was made with what it was for (ctx: 'next', 'item', 'media',
// 'break'); the views that react to it (denials.js) sit above every module that calls, so they
// are installed by main.js rather than imported here.
let failure = () => {};
export function onFailure(fn) {
  failure = fn;
}
export function failed(e, ctx) {
  failure(e, ctx);
}

export async function request(method, path, body) {
  const headers = { Authorization: `Bearer ${state.token}` };
  // same-origin: the ingress's affinity cookie must travel, so a person's calls reach the pod
  // that holds their lease and their exposure ledger (the token still goes only in the header).
  const init = { method, headers, cache: 'no-store', credentials: 'same-origin', referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 401) {
    unauthorized('refused');
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

export async function api(method, path, body) {
  const res = await request(method, path, body);
  const text = await res.text();
  return text ? JSON.parse(text) : {};
}

export function nextPath(queue) {
  return `/v1/next${queue ? `?queue=${encodeURIComponent(queue)}` : ''}`;
}
