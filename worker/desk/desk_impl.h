/*
 * desk_impl.h: what the desk's files share (private to worker/desk/desk*.c): the item and associate
 * records, the desk itself, and the outbox that carries packed messages out of the locked section
 * to the sink.
 *
 * Everything here is touched only under modq_desk.lock, except an outbox, which belongs to the
 * one call that fills it and is flushed after the lock is let go.
 */
#ifndef MODQ_WORKER_DESK_IMPL_H
#define MODQ_WORKER_DESK_IMPL_H

#include "prepare/decided.h"
#include "desk.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DESK_ID_MAX    MODQ_POLICY_NAME_MAX      /* associate ids and team names, incl. NUL */
#define DESK_KEY_MAX   (MODQ_DECIDED_MAX_ID + 1) /* ticket ids (and associate ids), incl. NUL */
#define DESK_LABEL_MAX 64                        /* one label, incl. NUL */
#define DESK_OUT_MAX   32 /* messages one locked section may queue for the sink */
#define DESK_OUT_ROOM  8  /* the most one item's hand-back adds: batch loops keep this free */

/* The two virtual queues follow the policy's queues in modq_desk.lists. */
enum { DESK_VQ_ESCALATIONS = 0, DESK_VQ_QA = 1, DESK_VQ_COUNT = 2 };

struct desk_person;

typedef struct desk_item {
    struct desk_item *next_id;     /* chain in the ticket id table */
    struct desk_item *prev, *next; /* in lists[list], arrival order */
    size_t list;
    uint64_t seq;     /* arrival order: the last tie-break between equal items */
    modq_prepared *p; /* owned */
    modq_desk_ref ref;
    bool has_ref; /* false for QA copies: their offset completed with the first decision */
    size_t qi;    /* the policy queue the ticket came from: tier, category, rules */
    struct desk_person *lessee; /* NULL while waiting */
    int64_t lease_until;        /* the lease ends here (never after policy_until) */
    int64_t policy_until;       /* the policy's deadline for the current view */
    int64_t shown_ms;           /* when the current lessee's view began */
    int level;                  /* level shown now */
    int open_level;             /* what a first "show" opens at: the tier's or the person's own */
    bool colour;                /* shown in colour now (a lease starts greyscale) */
    int max_level;              /* clearest level anyone viewed; -1 before anyone did */
    int64_t first_shown_ms;     /* -1 before anyone saw it */
    bool escalated;
    char *note; /* escalation note (malloc'd), NULL when none */
    char escalated_by[DESK_ID_MAX];
    char escalated_team[DESK_ID_MAX]; /* the escalating person's team: only its leads take it */
    bool gone; /* decided elsewhere while leased: out of the id table, freed once off screen */
    /* Its Item object could not be built (text no JSON can hold got past preparation, or memory
     * ran short): set aside before any lease was taken, never handed out again. It stays, its
     * offset uncompleted, until its partition moves or the worker restarts; preparation then
     * dead-letters a ticket whose text is the cause. */
    bool unservable;
    bool qa; /* a QA copy: its first decision below */
    int qa_verdict;
    char decided_by[DESK_ID_MAX];
    /* The last refused reveal of this item: a repeat is counted, not audited again (one
     * REVEAL_DENIED per distinct refusal, so a client retrying cannot flood the audit topic). */
    int denied_level;
    bool denied_colour;
    int denied_reason; /* modq_policy_reason; 0 when none yet */
} desk_item;

typedef struct desk_list {
    desk_item *head, *tail;
    size_t count, leased, unservable;
} desk_list;

typedef struct desk_person {
    struct desk_person *next_id;       /* chain in the associate table */
    struct desk_person *newer, *older; /* recency: eviction takes the oldest idle one */
    char id[DESK_ID_MAX];
    char team[DESK_ID_MAX];
    unsigned roles;
    modq_ledger *ledger;     /* owned */
    modq_settings *settings; /* owned; rebuilt from the identity on every call */
    desk_item *item;         /* the leased item, NULL when none */
    unsigned warned;         /* bit c: CAP_WARNING sent for cap c since it last cleared */
    modq_policy_reason last_denial;
    bool near_cap;      /* as of the last status computed, for the figures */
    bool dirty;         /* the ledger changed: publish it before the lock is let go */
    bool written_here;  /* this desk published the ledger (since it began to serve) */
    int64_t support_ms; /* an open support request (0: none) */
    char *support_msg;  /* owned: its message, NULL when none; valid by modq_desk_text_ok */
    int64_t last_seen_ms;
    int64_t break_started_ms;
    int64_t cooldown_sent_ms; /* the cooldown end already announced */
    char last_category[MODQ_POLICY_NAME_MAX];
} desk_person;

/* The policy check of one queue for one person, cached while one next() looks at its items. */
typedef struct desk_check {
    bool done, allowed;
    modq_policy_reason reason;
    int64_t until;
} desk_check;

struct modq_desk {
    pthread_mutex_t lock;
    const modq_policy *policy;
    bool sole_writer;             /* modq_desk_opts.sole_writer */
    bool (*confirmed)(void *arg); /* modq_desk_opts.confirmed; see desk_confirmed */
    void *confirmed_arg;
    modq_desk_sink sink;
    char worker_id[256];
    int64_t lease_ms;
    double qa_rate;
    size_t max_items;
    uint64_t rng; /* xorshift64* state */
    bool closed;
    bool paused; /* modq_desk_set_paused */
    size_t nq;   /* policy queues; lists has nq + DESK_VQ_COUNT */
    desk_list *lists;
    desk_check *checks; /* nq */
    desk_item **by_id;
    size_t id_buckets, nitems;
    uint64_t seq;
    desk_person **by_person;
    size_t person_buckets, npersons;
    desk_person *newest, *oldest;
    modq_decision *dec; /* reused for every check, under the lock */
    uint64_t reveals[MODQ_POLICY_LEVELS];
    uint64_t denials[MODQ_REASON_COUNT];
    uint64_t decisions[5];
    uint64_t leases_expired;
    uint64_t copies_decided;
    bool decide_copies;
    int near_distance;
};

typedef enum desk_out_kind {
    DESK_OUT_DECISION,
    DESK_OUT_WELLBEING,
    DESK_OUT_AUDIT,
    DESK_OUT_LEDGER,
    DESK_OUT_ON_SCREEN,
    DESK_OUT_ESCALATION, /* an escalated item packed for the review topic (sink.escalation) */
} desk_out_kind;

typedef struct desk_out_msg {
    desk_out_kind kind;
    char key[DESK_KEY_MAX]; /* associate id, audit key, or the decision's ticket id */
    uint8_t *buf;           /* owned until flushed */
    size_t len;
    /* DECISION */
    modq_desk_ref ref;
    char *content_id; /* owned */
    bool has_sha;
    uint8_t sha256[MODQ_SHA256_LEN];
    int verdict;
    char *labels; /* owned */
    /* ON_SCREEN */
    const char *queue; /* the policy's */
    double seconds, minutes;
} desk_out_msg;

/* What one call sends once the lock is let go. Lives on the caller's stack. */
typedef struct desk_out {
    desk_out_msg m[DESK_OUT_MAX];
    size_t n;
    /* Told the fate of the decision or escalation among m (desk_out_flush hands it to the sink,
     * then clears it); NULL: no one waits. */
    const modq_desk_confirm *confirm;
} desk_out;

/* ---- desk.c: items and queues --------------------------------------------------------------- */
desk_item *desk_item_find(const modq_desk *d, const char *ticket_id);
const char *desk_item_id(const desk_item *it);
/* Items pr must not get: leased, or one they escalated or decided themselves (a second look
 * must come from someone else), or an escalation from another team (a lead sees their own
 * team's; one from someone without a team goes to any lead). */
bool desk_item_excluded(const desk_item *it, const desk_person *pr);
/* Takes it out of its list and the id table; the caller owns it then (desk_item_free). */
void desk_item_unlink(modq_desk *d, desk_item *it);
/* Appends it to list (arrival order kept by seq, not by position). */
void desk_item_push(modq_desk *d, desk_item *it, size_t list);
/* Moves it to the end of list. */
void desk_item_move(modq_desk *d, desk_item *it, size_t list);
/* Sets it aside for good (desk_item.unservable). */
void desk_item_set_aside(modq_desk *d, desk_item *it);
/* Frees it and, when free_prepared, its prepared ticket. */
void desk_item_free(desk_item *it, bool free_prepared);
/* Frees pr and what it owns; pr must be out of the associate table and the recency list. */
void desk_person_free(desk_person *pr);
uint64_t desk_random(modq_desk *d);
bool desk_time_ok(int64_t t);
/* A person's lease of it runs lease_ms from t again, never past the policy's on-screen limit. */
static inline void desk_item_renew(const modq_desk *d, desk_item *it, int64_t t)
{
    int64_t e = t + d->lease_ms;
    it->lease_until = e < it->policy_until ? e : it->policy_until;
}
/* pr's leased item id into *out (desk_review.c): NOT_FOUND, FORBIDDEN (someone else's), or
 * UNCONFIRMED while the desk may not act. Lock held. */
modq_desk_result desk_own(const modq_desk *d, const desk_person *pr, const char *id,
                          desk_item **out);
/* Whether the desk may act for the fleet now (modq_desk_opts.confirmed). Lock held. */
static inline bool desk_confirmed(const modq_desk *d)
{
    return d->confirmed == NULL || d->confirmed(d->confirmed_arg);
}

/* ---- desk_person.c: associates, ledgers, the policy ----------------------------------------- */
/* The associate record of who (created, evicting the least recent idle one, when new), brought up
 * to date with who's identity. ERR_INVALID_ARG for a bad identity, ERR_FULL when nobody can go. */
modq_desk_result desk_person_get(modq_desk *d, const modq_desk_who *who, int64_t now_ms,
                                 desk_person **out);
desk_person *desk_person_find(const modq_desk *d, const char *id);
/* now, or the ledger's newest record when the clock stepped back (the ledger refuses the past). */
int64_t desk_person_time(const desk_person *pr, int64_t now_ms);
/* Expires pr's lease when it ran out, and closes a view the ledger holds open but this desk does
 * not lease (a ledger adopted from another worker). */
void desk_person_settle(modq_desk *d, desk_out *o, desk_person *pr, int64_t t);
/* pr's item leaves the screen at t: ledger hide, lease cleared, audit action (0: none), cooldown
 * announced. The item stays in its list; the caller moves or drops it. */
void desk_person_hide(modq_desk *d, desk_out *o, desk_person *pr, int action, const char *reason,
                      int64_t t);
/* Takes pr's item off screen at t for a hand-back (action: LEASE_EXPIRED, RELEASED); an item
 * decided elsewhere meanwhile leaves the desk then. */
void desk_person_hand_back(modq_desk *d, desk_out *o, desk_person *pr, int action,
                           const char *reason, int64_t t);
/* modq_policy_status for pr at t into d->dec, with CAP_WARNING events for caps newly in warning.
 * Returns false when the policy could not answer (d->dec then holds no status). */
bool desk_person_status(modq_desk *d, desk_out *o, desk_person *pr, int64_t t);
/* A policy denial answered to pr: counted, and a POLICY_DENIAL event when the reason changed. */
void desk_person_denied(modq_desk *d, desk_out *o, desk_person *pr, modq_policy_reason why,
                        int64_t until, int64_t t);
/* The common start of a person's call: the record, the time to record at (*t), a lapsed lease
 * handed back. */
modq_desk_result desk_person_begin(modq_desk *d, const modq_desk_who *who, int64_t now_ms,
                                   desk_out *o, desk_person **pr, int64_t *t);
/* The common end: status (warnings) and the ledger queued. Returns desk_person_status's answer:
 * whether d->dec holds pr's status at t, for desk_json_status. */
bool desk_person_end(modq_desk *d, desk_out *o, desk_person *pr, int64_t t);
/* Queues pr's packed ledger when it changed. */
void desk_person_flush(modq_desk *d, desk_out *o, desk_person *pr);
/* Whether who's skills (and locales) include every skill the ticket requires. */
bool desk_person_has_skills(const modq_desk_who *who, const desk_item *it);

/* ---- desk_events.c: protobuf messages into the outbox ------------------------------------- */
bool desk_out_full(const desk_out *o, size_t room);
void desk_out_wellbeing(modq_desk *d, desk_out *o, const desk_person *pr, int type,
                        modq_policy_reason why, int64_t until, int cap, const char *message,
                        int64_t t);
/* As desk_out_wellbeing, with who acted for pr (a lead's id; NULL: nobody but pr). */
void desk_out_wellbeing_by(modq_desk *d, desk_out *o, const desk_person *pr, int type,
                           modq_policy_reason why, int64_t until, int cap, const char *message,
                           const char *actor, int64_t t);
/* actor may be NULL ("modq"); it may be NULL only for automatic actions. */
void desk_out_audit(modq_desk *d, desk_out *o, const desk_person *actor, int action,
                    const desk_item *it, int level, bool colour, const char *reason, int64_t t);
/* it (just escalated) as a review record for sink.escalation, when the sink has one. */
void desk_out_escalation(modq_desk *d, desk_out *o, const desk_item *it);
void desk_out_ledger(desk_out *o, const desk_person *pr);
/* pr's item left the screen at t: how long it was there, and what that weighed. */
void desk_out_on_screen(modq_desk *d, desk_out *o, const desk_person *pr, int64_t t);
/* The Decision of pr on it. ERR_NOMEM leaves o unchanged. */
modq_desk_result desk_out_decision(modq_desk *d, desk_out *o, const desk_person *pr,
                                   const desk_item *it, int verdict, const char *const *labels,
                                   size_t nlabels, const char *note, int64_t t);
/* pr's decision on reviewed, applied to copy (a waiting item of the same media): its own
 * Decision, automatic, PRIOR_DECISION naming reviewed, with the hash that matched and how far. */
modq_desk_result desk_out_copy_decision(modq_desk *d, desk_out *o, const desk_person *pr,
                                        const desk_item *copy, const desk_item *reviewed,
                                        int verdict, const char *const *labels, size_t nlabels,
                                        const char *hash_hex, int distance, int64_t t);
/* desk_review.c, one review for copies. */
/* Whether c waits as a copy candidate of it: same queue, media, nobody's, not escalated or QA. */
bool desk_copy_waits(const desk_item *it, const desk_item *c);
/* How far copy's media is from reviewed's: 0 for the same bytes, the PDQ distance when both
 * hashes are worth matching and within the strict distance (never for verdict no_violation;
 * verdict 0: not decided yet), or -1. */
int desk_copy_distance(const modq_desk *d, const desk_item *reviewed, const desk_item *copy,
                       int verdict);
/* The copies of it that wait (decide_copies): with the same bytes, and near ones. */
void desk_copies_waiting(const modq_desk *d, const desk_item *it, size_t *same, size_t *near);
/* Calls the sink for every message (no lock held) and empties o. */
void desk_out_flush(const modq_desk *d, desk_out *o);
/* desk_out_flush for a call that r ends and that someone may wait on (o->confirm): that waiter
 * is told nothing unless r is OK, and CONFIRMED at once when no message took it (nothing goes
 * to Kafka for it: a second review, an escalation kept in memory only). */
void desk_out_flush_told(const modq_desk *d, desk_out *o, modq_desk_result r);

/* ---- desk_json.c: the objects of docs/api.md ---------------------------------------------- */
/* What an Item object says of its lease: the item's own, or what a lease about to be taken will
 * set (the answer is built before the lease is taken). */
typedef struct desk_view {
    int level, open_level;
    int64_t policy_until, lease_until;
} desk_view;
/* The Item object of it as v shows it (NULL: as it is now). New reference; NULL when it cannot be
 * built. */
json_t *desk_json_item(const modq_desk *d, const desk_item *it, const desk_view *v);
/* The Status object into *status (NULL: none wanted) from d->dec, when known says it holds a
 * status computed for pr at t (desk_person_end's answer). ERR_NOMEM when one is wanted and cannot
 * be built. */
modq_desk_result desk_json_status(const modq_desk *d, const desk_person *pr, int64_t t, bool known,
                                  json_t **status);
/* One associate of a lead's team from d->dec, a status computed for pr without events. New
 * reference; NULL when it cannot be built. */
json_t *desk_json_member(const modq_desk *d, const desk_person *pr);
/* The Team object: the lead's team, its associates (members, not taken) and the escalations the
 * lead may take. New reference; NULL when it cannot be built. */
json_t *desk_json_team(const desk_person *lead, json_t *members, json_int_t escalations);
/* Verdict names to proto numbers (0 when unknown) and back. */
int desk_verdict_parse(const char *name);
const char *desk_verdict_name(int verdict);

#endif
