// state.js: the page's fixed settings and its one state, owned here. Other modules read the
// state through the live binding `state`, a frozen snapshot, and change it only with update()
// (or the setters below), so every write goes through one place; subscribe() tells a view when
// fields it shows have changed. A late answer can always tell whether the screen moved on
// (state.gen, state.tab). All of it is one person's: signing out loads the page afresh rather
// than resetting it.

export const TOKEN_KEY = 'modq.token';
export const SIGNED_OUT_KEY = 'modq.signedOut'; // why the last person was signed out; read once
export const PREF_PREFIX = 'modq.blur.';
export const KEYS_PREFIX = 'modq.keys.';
export const BREAK_REASONS = new Set(['ON_BREAK', 'BREAK_DUE', 'COOLDOWN', 'DAILY_CAP', 'TIER_CAP', 'SHIFT_OVER']);
export const ITEM_REASONS = new Set(['REVEAL_LEVEL', 'COLOUR', 'NEEDS_REASON']);
export const EMPTY_RETRY_MS = 5000;
export const LEASE_SETTLE_MS = 1000; // after a lease runs out, before asking why (clock skew)
export const DENIED_RETRY_MS = 15000;
// A fleet's desk changing hands (503 standby or unconfirmed): a failover takes about 12 s, so
// ask again soon rather than after a denial's pace.
export const CHANGEOVER_RETRY_MS = 3000;
export const ME_REFRESH_MS = 15000;
export const TEAM_REFRESH_MS = 5000;
export const PEEK_LEVEL = 1;
export const VERDICTS = {
  no_violation: 'No violation',
  remove: 'Remove',
  restrict: 'Restrict',
  remove_and_report: 'Remove and report',
};
export const REASON_TEXT = {
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
export const LEVEL_TEXT = ['clear', 'light blur', 'medium blur', 'heavy blur'];

const initial = {
  token: null,
  sub: '', // the token's subject: whose own settings (a shared workstation keeps them apart)
  skew: 0, // server clock minus local clock, from the last Status
  status: null,
  mode: 'login', // login | review | support (paused after a support request) | team | break
  tabs: [], // the tabs the roles give: review | qa | team | escalations
  tab: null, // the current (or last) tab, to come back to after a break
  queue: null, // null: any queue; 'qa' or 'escalations' for those tabs
  item: null,
  itemTab: null, // the tab state.item was handed out in: a QA copy looks like any other item
  held: null, // {id, tab}: the lease this person holds, on screen or not
  leaseUntil: 0, // when the lease of state.item ends (server ms), from /v1/next or a media answer
  level: 3, // level of the base (non-peek) view
  colour: false,
  baseUrl: null,
  peekUrl: null,
  peeking: false,
  mediaHidden: false, // the image was taken off the screen (support asked) until asked back
  keys: true, // this person's single-key shortcuts are on
  gen: 0, // bumped whenever the item or view changes, so late answers are dropped
  busy: false,
  mediaSeq: 0, // media requests started, to take lease times from the newest answer only
  leaseSeq: 0, // the request whose lease time the countdown shows
  brk: null, // {reason, until, message, shownAt, checked}
};

function frozen(v) {
  return v !== null && typeof v === 'object' ? Object.freeze(v) : v;
}

// The current state. Importers cannot assign it or its fields (both frozen); objects in it (the
// item, the Status, brk, held) are frozen too, so a change is always a new value through update.
export let state = Object.freeze({ ...initial });

const subscribers = [];

// Sets the fields of patch (each must be a known field), then calls the subscribers of any field
// whose value changed, once each.
export function update(patch) {
  const changed = [];
  const next = { ...state };
  for (const [k, v] of Object.entries(patch)) {
    if (!(k in initial)) throw new Error(`state: no field '${k}'`);
    if (next[k] !== v) changed.push(k);
    next[k] = frozen(v);
  }
  if (changed.length === 0) return;
  state = Object.freeze(next);
  for (const s of subscribers) if (s.keys.some((k) => changed.includes(k))) s.fn(state);
}

// Adds one to a counter field and returns its new value.
export function bump(key) {
  update({ [key]: state[key] + 1 });
  return state[key];
}

// Calls fn(state) after every update that changes one of keys.
export function subscribe(keys, fn) {
  for (const k of keys) if (!(k in initial)) throw new Error(`state: no field '${k}'`);
  subscribers.push({ keys, fn });
}

// A Status from the server (/v1/me, or `status` in other answers): kept with the clock skew.
export function setStatus(s) {
  if (!s || typeof s !== 'object') return;
  update(typeof s.now_ms === 'number' ? { status: s, skew: s.now_ms - Date.now() } : { status: s });
}
