// state.js: the page's shared state and fixed settings. Every module reads and writes the one
// `st` object, so a late answer can always tell whether the screen moved on (st.gen, st.tab).
// All of it is one person's: signing out loads the page afresh rather than resetting it.

export const TOKEN_KEY = 'modq.token';
export const SIGNED_OUT_KEY = 'modq.signedOut'; // why the last person was signed out; read once
export const PREF_PREFIX = 'modq.blur.';
export const KEYS_PREFIX = 'modq.keys.';
export const BREAK_REASONS = new Set(['ON_BREAK', 'BREAK_DUE', 'COOLDOWN', 'DAILY_CAP', 'TIER_CAP', 'SHIFT_OVER']);
export const ITEM_REASONS = new Set(['REVEAL_LEVEL', 'COLOUR', 'NEEDS_REASON']);
export const EMPTY_RETRY_MS = 5000;
export const LEASE_SETTLE_MS = 1000; // after a lease runs out, before asking why (clock skew)
export const DENIED_RETRY_MS = 15000;
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

export const $ = (id) => document.getElementById(id);

export const st = {
  token: null,
  sub: '', // the token's subject: whose own settings (a shared workstation keeps them apart)
  roles: [],
  skew: 0, // server clock minus local clock, from the last Status
  status: null,
  mode: 'login', // login | review | support (paused after a support request) | team | break
  tabs: [], // the tabs the roles give: review | qa | team | escalations
  tab: null, // the current (or last) tab, to come back to after a break
  queue: null, // null: any queue; 'qa' or 'escalations' for those tabs
  item: null,
  itemTab: null, // the tab st.item was handed out in: a QA copy looks like any other item
  held: null, // {id, tab}: the lease this person holds, on screen or not
  level: 3, // level of the base (non-peek) view
  colour: false,
  baseUrl: null,
  peekUrl: null,
  peeking: false,
  mediaHidden: false, // the image was taken off the screen (support asked) until asked back
  keys: true, // this person's single-key shortcuts are on
  gen: 0, // bumped whenever the item or view changes, so late answers are dropped
  busy: false,
  leaseFired: false,
  mediaSeq: 0, // media requests started, to take lease times from the newest answer only
  leaseSeq: 0, // the request whose lease time the countdown shows
  brk: null, // {reason, until}
  timers: {},
};
