/*
 * policy_impl.h: private structures of libmodq_policy, shared by its .c files only.
 *
 * Durations are held as int64 milliseconds so that rules compare exactly; weighted exposure is a
 * double in "weighted milliseconds" (on-screen ms x tier weight x level weight x colour factor).
 */
#ifndef MODQ_POLICY_IMPL_H
#define MODQ_POLICY_IMPL_H

#include "modq_common.h"
#include "modq_policy.h"

#include <stdarg.h>

#define MS_PER_MIN INT64_C(60000)
#define MS_PER_DAY (INT64_C(24) * 60 * MS_PER_MIN)
/* limits.min_rest_between_shifts_minutes when a file does not set it: 10 h (policy/default.yaml).
 */
#define POLICY_DEFAULT_MIN_REST_MS (600 * MS_PER_MIN)

typedef struct tier_cfg {
    double weight;        /* exposure weight of a minute on screen */
    int default_level;    /* level items are first shown at */
    int max_reveal;       /* lowest level a reveal may reach */
    bool colour;          /* colour may be revealed */
    bool reason_required; /* level 0 needs a typed reason */
    int64_t cooldown_ms;  /* after an item of this tier: no harmful content for this long */
    int64_t daily_cap_ms; /* on-screen ms per rolling 24 h; 0 = no tier cap */
} tier_cfg;

typedef struct queue_cfg {
    char name[MODQ_POLICY_NAME_MAX];
    char topic[MODQ_POLICY_TOPIC_MAX];
    char category[MODQ_POLICY_NAME_MAX];
    int tier;
    unsigned roles;
    size_t nskills;
    char skills[MODQ_POLICY_MAX_SKILLS][MODQ_POLICY_NAME_MAX];
    int near_copy_distance; /* -1 when not set: the worker's default */
} queue_cfg;

struct modq_policy {
    char version[MODQ_POLICY_NAME_MAX];
    double level_weight[MODQ_POLICY_LEVELS];
    double colour_factor;
    tier_cfg tiers[MODQ_POLICY_TIERS + 1]; /* index 1..4 */
    queue_cfg *queues;                     /* owned, nqueues entries */
    size_t nqueues;
    int64_t daily_cap_ms; /* weighted */
    int64_t max_continuous_ms;
    int64_t break_ms;
    int cooldown_min_tier; /* cooldowns block items of this tier and above */
    int rotation_max;
    int64_t shift_max_ms;
    int64_t min_rest_ms; /* after a shift ends: no work until this much time off */
    double warning_fraction;
};

struct modq_settings {
    unsigned roles;
    size_t nskills;
    char skills[MODQ_POLICY_MAX_SKILLS][MODQ_POLICY_NAME_MAX];
    size_t noptouts;
    char optouts[MODQ_POLICY_MAX_SKILLS][MODQ_POLICY_NAME_MAX];
    int64_t daily_cap_ms; /* 0 = none */
    int64_t tier_cap_ms[MODQ_POLICY_TIERS + 1];
    size_t nlevels;
    char level_category[MODQ_POLICY_MAX_SKILLS][MODQ_POLICY_NAME_MAX];
    int level[MODQ_POLICY_MAX_SKILLS];
};

/* One stretch of an item on screen at one level and colour. */
typedef struct ledger_segment {
    int64_t start_ms;
    int64_t end_ms;    /* -1 while open */
    uint16_t category; /* index into the ledger's category table */
    uint8_t tier;
    uint8_t level;
    bool colour;
    bool item_start; /* first segment of an item */
} ledger_segment;

typedef struct ledger_break {
    int64_t start_ms;
    int64_t end_ms; /* -1 while open */
} ledger_break;

/* A shift, from start (or auto-start by a show) to end; the rules derive work periods and rests
 * from these rather than from one restartable start time. */
typedef struct ledger_shift {
    int64_t start_ms;
    int64_t end_ms; /* -1 while open; only the newest may be open */
} ledger_shift;

struct modq_ledger {
    char associate[MODQ_POLICY_NAME_MAX];
    ledger_segment *segs; /* owned; nsegs live of cap_segs allocated, cap_segs <= MAX_SEGMENTS */
    size_t nsegs, cap_segs;
    ledger_break breaks[MODQ_LEDGER_MAX_BREAKS];
    size_t nbreaks;
    char categories[MODQ_LEDGER_MAX_CATEGORIES][MODQ_POLICY_NAME_MAX];
    size_t ncategories; /* only categories of live segments: prune compacts the table */
    ledger_shift shifts[MODQ_LEDGER_MAX_SHIFTS]; /* oldest first */
    size_t nshifts;
    int64_t shift_floor_ms; /* newest end of a shift pruned away, -1 when none */
    int64_t last_ms;        /* INT64_MIN when empty */
    bool item_open;
    bool on_break;
};

struct modq_decision {
    bool allowed;
    modq_policy_reason reason;
    int64_t until_ms;
    bool cap_set[MODQ_CAP_COUNT];
    double cap_used_ms[MODQ_CAP_COUNT];
    double cap_limit_ms[MODQ_CAP_COUNT];
    size_t nwarnings;
    modq_policy_cap warnings[MODQ_CAP_COUNT];
    int64_t break_due_ms;
    int64_t shift_end_ms;
    int64_t cooldown_until_ms;
    int show_level;
};

/* Copies src into dst (size bytes incl. NUL); false when it does not fit or is empty. */
bool policy_copy_name(char *dst, size_t size, const char *src);
/* Weighted ms per on-screen ms of an item of tier at level, colour or not. */
double policy_rate(const modq_policy *p, int tier, int level, bool colour);
/* Weighted exposure (ms x rate) of l's segments inside [from, to); open segments end at
 * open_end. tier_ms (MODQ_POLICY_TIERS + 1 entries, may be NULL) gets the unweighted ms per tier.
 */
double policy_weighted_ms(const modq_policy *p, const modq_ledger *l, int64_t from, int64_t to,
                          int64_t open_end, int64_t tier_ms[]);
/* Effective caps: the stricter of policy and personal (s may be NULL); 0 = no cap. */
int64_t policy_daily_cap_ms(const modq_policy *p, const modq_settings *s);
int64_t policy_tier_cap_ms(const modq_policy *p, const modq_settings *s, int tier);
/* A time any entry point accepts: 0 .. MODQ_POLICY_TIME_MAX. */
bool policy_time_ok(int64_t t);
/* Start of the open shift, or -1. */
int64_t ledger_open_shift_start(const modq_ledger *l);
/* End of the newest ended shift (pruned ones included), or -1. */
int64_t ledger_last_shift_end(const modq_ledger *l);
/* Index of a category name in the ledger's table, or -1. */
int ledger_category_find(const modq_ledger *l, const char *name);
/* Interns a category; -1 when the table is full. */
int ledger_category_intern(modq_ledger *l, const char *name);

#endif /* MODQ_POLICY_IMPL_H */
