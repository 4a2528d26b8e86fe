/*
 * modq_policy.h: the public interface of libmodq_policy, the wellbeing policy engine.
 *
 * The tool, not the associate, measures exposure to harmful content and refuses to hand out work
 * that would push a person past what the policy allows. Four objects:
 *   - modq_policy: a validated policy file (tiers, queues, limits); immutable once loaded.
 *   - modq_settings: one associate's identity facts (roles, skills) and personal settings, which
 *     may only be stricter than the policy.
 *   - modq_ledger: what one associate was shown, when, for how long and how clearly; breaks; shift.
 *   - modq_decision: the answer to "may this person take this item / reveal this far now?", with
 *     the reason, the instant until which it holds, the warnings due and a usage snapshot.
 *
 * Time: every function takes "now" as int64 Unix milliseconds (UTC). Nothing here reads the system
 * clock, so every rule can be tested at exact instants. Every "now" and every stored time must lie
 * in 0 .. MODQ_POLICY_TIME_MAX (ERR_INVALID_ARG, or ERR_DECODE for a stored ledger, otherwise), so
 * that no sum of a time and a duration can overflow.
 *
 * Threads: a loaded modq_policy may be shared read-only by any number of threads. A modq_ledger,
 * modq_settings or modq_decision is NOT thread-safe: the caller serialises all access to one
 * object (the worker holds its per-associate lock across check-then-record).
 *
 * No Kafka, no HTTP, no logging: errors come back as a modq_policy_result plus, where a function
 * takes one, a one-line message in the caller's errstr buffer.
 */
#ifndef MODQ_POLICY_H
#define MODQ_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The one result type of this library. */
typedef enum modq_policy_result {
    MODQ_POLICY_OK = 0,
    MODQ_POLICY_ERR_INVALID_ARG,   /* a caller bug: NULL pointer, out-of-range argument */
    MODQ_POLICY_ERR_NOMEM,         /* allocation failed */
    MODQ_POLICY_ERR_IO,            /* the policy file could not be read */
    MODQ_POLICY_ERR_SYNTAX,        /* the policy file is not well-formed YAML */
    MODQ_POLICY_ERR_INVALID,       /* a policy field is missing, unknown or out of range */
    MODQ_POLICY_ERR_SETTINGS,      /* personal settings looser than the policy, or unknown */
    MODQ_POLICY_ERR_UNKNOWN_QUEUE, /* no queue of that name in the policy */
    MODQ_POLICY_ERR_STATE,         /* e.g. hide with nothing shown, show while an item is shown */
    MODQ_POLICY_ERR_TIME_ORDER,    /* "now" is earlier than the ledger's latest event */
    MODQ_POLICY_ERR_LEDGER_FULL,   /* a ledger size cap was reached (see modq_ledger_new) */
    MODQ_POLICY_ERR_DECODE,        /* a serialised ledger is malformed */
    MODQ_POLICY_RESULT_COUNT
} modq_policy_result;

/* 9999-12-31T23:59:59.999Z: the latest instant accepted anywhere. */
#define MODQ_POLICY_TIME_MAX INT64_C(253402300799999)

/* A static English sentence for a result. Never NULL. */
const char *modq_policy_strerror(modq_policy_result r);

/* Why an item or a reveal was refused. Order = precedence: when several apply, the lowest wins
 * (check, check_reveal and status all test them in this order). */
typedef enum modq_policy_reason {
    MODQ_REASON_NONE = 0,     /* allowed */
    MODQ_REASON_ON_BREAK,     /* a break is in progress */
    MODQ_REASON_SHIFT_OVER,   /* hard end of the work period reached, or a shift was ended and
                               * the policy's minimum rest since then is not over */
    MODQ_REASON_BREAK_DUE,    /* continuous review reached its maximum; a break must come first */
    MODQ_REASON_ROLE,         /* none of the associate's roles may take from this queue */
    MODQ_REASON_SKILL,        /* the associate lacks a skill or locale the queue requires */
    MODQ_REASON_OPT_OUT,      /* the associate opted out of this category */
    MODQ_REASON_DAILY_CAP,    /* rolling 24 h weighted exposure cap */
    MODQ_REASON_TIER_CAP,     /* rolling 24 h on-screen cap of this item's tier */
    MODQ_REASON_COOLDOWN,     /* after a severe item, no harmful content for a while */
    MODQ_REASON_ROTATION,     /* too many consecutive items from one category */
    MODQ_REASON_REVEAL_LEVEL, /* reveal: level below the tier's highest reveal */
    MODQ_REASON_COLOUR,       /* reveal: colour not allowed for this tier */
    MODQ_REASON_NEEDS_REASON, /* reveal: a full reveal (level 0) needs a typed reason */
    MODQ_REASON_LEDGER_FULL,  /* the ledger is at its size cap: refuse rather than under-count */
    MODQ_REASON_COUNT
} modq_policy_reason;

/* Stable machine strings: "NONE", "BREAK_DUE", "ON_BREAK", "COOLDOWN", "DAILY_CAP", "TIER_CAP",
 * "OPT_OUT", "ROTATION", "SHIFT_OVER", "ROLE", "SKILL", "REVEAL_LEVEL", "COLOUR", "NEEDS_REASON",
 * "LEDGER_FULL". Never NULL ("UNKNOWN" for an out-of-range value). */
const char *modq_policy_reason_name(modq_policy_reason r);

/* The caps a decision reports usage of and warns about. */
typedef enum modq_policy_cap {
    MODQ_CAP_DAILY = 0, /* weighted exposure, rolling 24 h */
    MODQ_CAP_TIER1,     /* on-screen minutes of tier-1 items, rolling 24 h */
    MODQ_CAP_TIER2,
    MODQ_CAP_TIER3,
    MODQ_CAP_TIER4,
    MODQ_CAP_CONTINUOUS, /* minutes of review since the last full break, or the last gap of a
                          * break's length with nothing on screen (shift boundaries do not count) */
    MODQ_CAP_SHIFT,      /* minutes since the work period began: the first shift after the last
                          * minimum rest (restarts do not count) */
    MODQ_CAP_COUNT
} modq_policy_cap;

/* Stable names as used in WellbeingEvent.cap: "daily", "tier1".."tier4", "continuous", "shift". */
const char *modq_policy_cap_name(modq_policy_cap c);

#define MODQ_POLICY_TIERS  4 /* tiers 1..4; 4 = most severe */
#define MODQ_POLICY_LEVELS 4 /* reveal levels 0 (clear) .. 3 (heaviest blur, the default view) */

typedef enum modq_policy_role {
    MODQ_ROLE_ASSOCIATE = 1 << 0,
    MODQ_ROLE_LEAD = 1 << 1,
    MODQ_ROLE_QA = 1 << 2,
} modq_policy_role;

/* ---------------------------------------------------------------------------------------------
 * The policy (policy/policy_load.c, policy/policy_file.c, policy/policy.c).
 */
typedef struct modq_policy modq_policy;

/* Size caps of a policy, so that a hostile or mistaken file cannot make us allocate without end. */
#define MODQ_POLICY_MAX_FILE_BYTES (1024 * 1024)
#define MODQ_POLICY_MAX_QUEUES     256
#define MODQ_POLICY_MAX_SKILLS     16 /* per queue, and per associate */
#define MODQ_POLICY_NAME_MAX       64 /* queue, category, skill names, version; bytes incl. NUL */
#define MODQ_POLICY_TOPIC_MAX      250

/*
 * Loads and validates the YAML policy at path. On success *out is a new policy owned by the
 * caller (free with modq_policy_free). On failure *out is NULL and errstr receives the first error
 * as "FILE:LINE: field 'limits.daily_cap_minutes': must be a positive number" (LINE 1-based).
 */
modq_policy_result modq_policy_load_file(const char *path, modq_policy **out, char *errstr,
                                         size_t errstr_size);
/* As modq_policy_load_file, from a buffer; name stands for FILE in messages. buf is not kept. */
modq_policy_result modq_policy_load_buffer(const char *buf, size_t len, const char *name,
                                           modq_policy **out, char *errstr, size_t errstr_size);
/*
 * Loads path and, only if it is valid, frees *live and puts the new policy in its place. A reload
 * that fails leaves *live exactly as it was (the old policy stays in force) and fills errstr.
 * The caller must ensure no other thread uses *live during the swap.
 */
modq_policy_result modq_policy_reload(modq_policy **live, const char *path, char *errstr,
                                      size_t errstr_size);
/* Frees p (NULL is fine). */
void modq_policy_free(modq_policy *p);

/* The policy's version string (owned by p), published with every decision. */
const char *modq_policy_version(const modq_policy *p);
/* One line for `modq-policy check`, e.g. "version X: 4 tiers, 8 queues, daily cap 240 min ...". */
void modq_policy_summary(const modq_policy *p, char *buf, size_t size);

/* Queues, by index 0 .. count-1; strings owned by p. The worker consumes every queue's topic. */
size_t modq_policy_queue_count(const modq_policy *p);
/* Index of the queue named name, or -1. */
int modq_policy_queue_find(const modq_policy *p, const char *name);
const char *modq_policy_queue_name(const modq_policy *p, size_t i);
const char *modq_policy_queue_topic(const modq_policy *p, size_t i);
const char *modq_policy_queue_category(const modq_policy *p, size_t i);
int modq_policy_queue_tier(const modq_policy *p, size_t i);
/* Bitmask of modq_policy_role that may take from the queue. */
unsigned modq_policy_queue_roles(const modq_policy *p, size_t i);
size_t modq_policy_queue_skill_count(const modq_policy *p, size_t i);
/* The PDQ distance within which a copy of media removed before is decided the same way without a
 * person, for this queue (near_copy_distance, 0..MODQ_POLICY_NEAR_COPY_MAX; 0: only the same
 * bytes); fallback (the worker's default) when the policy leaves it unset. */
#define MODQ_POLICY_NEAR_COPY_MAX 31
int modq_policy_queue_near_copy_distance(const modq_policy *p, size_t i, int fallback);
const char *modq_policy_queue_skill(const modq_policy *p, size_t i, size_t k);

/* Tier settings for tier 1..4 (-1 / false for an out-of-range tier). */
int modq_policy_tier_default_level(const modq_policy *p, int tier);
int modq_policy_tier_max_reveal(const modq_policy *p, int tier); /* lowest level allowed */
bool modq_policy_tier_colour_allowed(const modq_policy *p, int tier);
bool modq_policy_tier_reason_required(const modq_policy *p, int tier);

/* Role names "associate", "lead", "qa" to a modq_policy_role bit; 0 when unknown. */
unsigned modq_policy_role_parse(const char *name);

/* ---------------------------------------------------------------------------------------------
 * Per-associate settings (policy/settings.c). Filled by the caller from the identity (JWT claims).
 * Personal values may only be stricter: modq_settings_validate rejects looser ones, and the
 * checks below apply min(policy, personal) anyway, so unvalidated settings can never loosen.
 */
typedef struct modq_settings modq_settings;

/* A new, empty settings object (no roles, no skills). Caller owns it: modq_settings_free.
 * NULL only when out of memory. */
modq_settings *modq_settings_new(void);
void modq_settings_free(modq_settings *s);
/* roles: bitmask of modq_policy_role. */
void modq_settings_set_roles(modq_settings *s, unsigned roles);
/* Skills or locales (e.g. "ar", "de-DE"); copied. ERR_INVALID_ARG beyond MODQ_POLICY_MAX_SKILLS
 * entries, or when the name is empty or MODQ_POLICY_NAME_MAX bytes or longer. */
modq_policy_result modq_settings_add_skill(modq_settings *s, const char *skill);
/* A category the associate opted out of; same limits as skills. */
modq_policy_result modq_settings_add_opt_out(modq_settings *s, const char *category);
/* Personal daily weighted exposure cap, minutes (> 0). */
modq_policy_result modq_settings_set_daily_cap(modq_settings *s, double minutes);
/* Personal daily cap of one tier (1..4), on-screen minutes (> 0). */
modq_policy_result modq_settings_set_tier_cap(modq_settings *s, int tier, double minutes);
/* Personal default blur level (0..3) for a category: what items of it are first shown at. */
modq_policy_result modq_settings_set_default_level(modq_settings *s, const char *category,
                                                   int level);
/* Checks s against p: every personal value must be at least as strict as the policy's, and every
 * category named must exist in p. MODQ_POLICY_ERR_SETTINGS with a message naming the setting. */
modq_policy_result modq_settings_validate(const modq_settings *s, const modq_policy *p,
                                          char *errstr, size_t errstr_size);
/* The blur level an item of queue qi is first shown at for this associate (s may be NULL):
 * the tier's default, or the personal default for the category when that is heavier. */
int modq_settings_show_level(const modq_settings *s, const modq_policy *p, size_t qi);

/* ---------------------------------------------------------------------------------------------
 * The exposure ledger of one associate (policy/ledger.c, policy/ledger_proto.c).
 *
 * Records are segments: an item's time on screen at one reveal level and colour. A reveal ends
 * one segment and starts the next. Records must come in time order (ERR_TIME_ORDER otherwise).
 * Memory is bounded: segments, breaks and shifts that ended more than 24 h before the newest
 * record are pruned (nothing older can affect any rule, since the longest window is 24 h and a
 * shift may not be longer; the end of the newest pruned shift is kept, so a work period that began
 * before it still counts as begun). The category table keeps only categories of live segments. At
 * MODQ_LEDGER_MAX_SEGMENTS live segments a new show fails with ERR_LEDGER_FULL and every check
 * refuses with LEDGER_FULL until old segments age out: the engine would rather stop work than
 * under-count exposure.
 */
typedef struct modq_ledger modq_ledger;

#define MODQ_LEDGER_MAX_SEGMENTS   16384 /* one every ~5 s for 24 h */
#define MODQ_LEDGER_MAX_BREAKS     512
#define MODQ_LEDGER_MAX_CATEGORIES 64 /* a policy may not name more distinct categories */
#define MODQ_LEDGER_MAX_SHIFTS     32 /* beyond, the two oldest merge (their gap is not a rest) */
#define MODQ_LEDGER_MAX_BYTES      (4 * 1024 * 1024) /* serialised size cap */

/* A new, empty ledger for associate_id (copied; at most MODQ_POLICY_NAME_MAX - 1 bytes).
 * Caller owns *out: modq_ledger_free. */
modq_policy_result modq_ledger_new(const char *associate_id, modq_ledger **out);
void modq_ledger_free(modq_ledger *l);
const char *modq_ledger_associate(const modq_ledger *l);

/* Starts a shift at now (hides an open item and closes an open break first). When a shift is
 * already open it goes on: a restart is neither an end nor a rest. Shows auto-start a shift when
 * none is open. Shifts are kept as records, so the rules can tell a rest from a restart. */
modq_policy_result modq_ledger_start_shift(modq_ledger *l, int64_t now);
/* Ends the shift (hides an open item and closes an open break first); nothing when none is
 * open. The policy's minimum rest between shifts starts here: until it is over every check is
 * refused with SHIFT_OVER, even if a new shift is started meanwhile. */
modq_policy_result modq_ledger_end_shift(modq_ledger *l, int64_t now);
/* An item of category and tier is now on screen at reveal level (colour off). */
modq_policy_result modq_ledger_show(modq_ledger *l, const char *category, int tier, int level,
                                    int64_t now);
/* The shown item now displays at level, in colour or not. ERR_STATE when nothing is shown. */
modq_policy_result modq_ledger_reveal(modq_ledger *l, int level, bool colour, int64_t now);
/* The shown item left the screen. ERR_STATE when nothing is shown. */
modq_policy_result modq_ledger_hide(modq_ledger *l, int64_t now);
/* A break starts (hides an open item first) / ends. ERR_STATE when already on / not on break. */
modq_policy_result modq_ledger_break_start(modq_ledger *l, int64_t now);
modq_policy_result modq_ledger_break_end(modq_ledger *l, int64_t now);

/* State queries, for the worker and tests. */
bool modq_ledger_item_open(const modq_ledger *l);
bool modq_ledger_on_break(const modq_ledger *l);
/* Start of the open shift, or -1 when no shift is open. */
int64_t modq_ledger_shift_start(const modq_ledger *l);
/* Live segments and breaks (after pruning). */
size_t modq_ledger_segment_count(const modq_ledger *l);
size_t modq_ledger_break_count(const modq_ledger *l);
/* Time of the newest record, or INT64_MIN for an empty ledger. */
int64_t modq_ledger_last_ms(const modq_ledger *l);

/* Weighted exposure of what l records on screen in [from, to), in minutes: each minute counts
 * its tier's weight times its level's weight (times the colour factor in colour), as the daily
 * cap counts it. An item still on screen counts until to. 0 when either is NULL. */
double modq_policy_exposure_minutes(const modq_policy *p, const modq_ledger *l, int64_t from,
                                    int64_t to);

/*
 * Serialises l as a modq.v1.Ledger protobuf message. On success *buf is a new buffer of *len
 * bytes owned by the caller (free with free()).
 */
modq_policy_result modq_ledger_pack(const modq_ledger *l, uint8_t **buf, size_t *len);
/*
 * Rebuilds a ledger from a modq.v1.Ledger message (at most MODQ_LEDGER_MAX_BYTES), checking that
 * it is consistent (ordered times, every time in 0 .. MODQ_POLICY_TIME_MAX, valid tiers and
 * levels, size caps, strings of UTF-8 without NUL), and that it survives its own pack: a ledger
 * unpack accepts packs to bytes unpack accepts again as the same ledger
 * (tests/policy/test_policy_ledger_random.c). On success *out is a new ledger owned by the caller;
 * on failure ERR_DECODE and a message in errstr.
 */
modq_policy_result modq_ledger_unpack(const uint8_t *buf, size_t len, modq_ledger **out,
                                      char *errstr, size_t errstr_size);

/* ---------------------------------------------------------------------------------------------
 * Decisions (policy/decision.c, policy/policy_check.c).
 */
typedef struct modq_decision modq_decision;

/* A new decision (allocated once, reused for every check). Caller owns it: modq_decision_free.
 * NULL only when out of memory. */
modq_decision *modq_decision_new(void);
void modq_decision_free(modq_decision *d);

bool modq_decision_allowed(const modq_decision *d);
modq_policy_reason modq_decision_reason(const modq_decision *d);
/*
 * Allowed: the instant by which the item must leave the screen (or the reveal be undone) so that
 * no cap, break or shift rule is broken; the worker hides it then. Denied: the earliest instant at
 * which the reason can clear with no further action (COOLDOWN, DAILY_CAP, TIER_CAP, ON_BREAK: the
 * minimum break end; BREAK_DUE: a break's length after the screen went blank, or after now while
 * an item is shown; SHIFT_OVER after a shift ended: the end of the minimum rest), or 0 when only an
 * action clears it (ROLE, SKILL, OPT_OUT, ROTATION, SHIFT_OVER at the hard stop of an open shift:
 * end the shift, then rest; reveal reasons; LEDGER_FULL of the category table).
 */
int64_t modq_decision_until_ms(const modq_decision *d);
/* Usage of a cap at the decision's instant, minutes. Returns false (and zeros) when the cap is
 * not configured. The daily cap's "used" is weighted exposure. */
bool modq_decision_cap(const modq_decision *d, modq_policy_cap c, double *used_minutes,
                       double *limit_minutes);
/* Caps at or over the early-warning threshold but not yet reached: the worker emits a
 * CAP_WARNING event when a cap first appears here. */
size_t modq_decision_warning_count(const modq_decision *d);
modq_policy_cap modq_decision_warning(const modq_decision *d, size_t i);
/* For /v1/me: when the next mandatory break is due, when the shift hard-ends (-1 when no shift),
 * and until when a cooldown runs (0 when none). */
int64_t modq_decision_break_due_ms(const modq_decision *d);
int64_t modq_decision_shift_end_ms(const modq_decision *d);
int64_t modq_decision_cooldown_until_ms(const modq_decision *d);
/* The level the checked item would be shown at (check only; -1 otherwise). */
int modq_decision_show_level(const modq_decision *d);

/*
 * May the associate take the next item from queue qi at now? settings may be NULL (no roles: every
 * queue is refused with ROLE). Fills d. Returns OK whenever d holds a decision (allowed or not);
 * any other result means d holds a denial and the caller must not hand out the item.
 */
modq_policy_result modq_policy_check(const modq_policy *p, const modq_ledger *l,
                                     const modq_settings *s, size_t qi, int64_t now,
                                     modq_decision *d);
/*
 * May the item on screen now be shown at level, in colour or not? typed_reason: the associate
 * typed a reason (the worker audits it). ERR_STATE when nothing is shown.
 */
modq_policy_result modq_policy_check_reveal(const modq_policy *p, const modq_ledger *l,
                                            const modq_settings *s, int level, bool colour,
                                            bool typed_reason, int64_t now, modq_decision *d);
/* The associate's status at now, for /v1/me: usage of every cap, warnings, next break, shift end;
 * allowed is false with a reason when no harmful work could be handed out (break, shift, cap). */
modq_policy_result modq_policy_status(const modq_policy *p, const modq_ledger *l,
                                      const modq_settings *s, int64_t now, modq_decision *d);

#ifdef __cplusplus
}
#endif

#endif /* MODQ_POLICY_H */
