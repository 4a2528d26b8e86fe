/*
 * desk.h: the review desk (private to worker/): prepared tickets waiting for people, the leases
 * that hand them out, and each associate's exposure ledger, all under the wellbeing policy.
 *
 * The desk never talks to Kafka or HTTP. The review API (api.c) calls it for a person; the worker
 * loop (run.c) adds prepared items, expires leases (modq_desk_tick), drops items of revoked
 * partitions and feeds it ledgers read back from the ledgers topic. What must be published leaves
 * through the sink (modq_desk_sink): decisions, wellbeing events, audit events and ledgers, as
 * packed protobuf messages, called WITHOUT the desk's lock held, on the calling thread.
 *
 * Safety by construction: an item is only handed out after modq_policy_check allows it for that
 * person now; every clearer view goes through modq_policy_check_reveal and the person's ledger;
 * the ledger records what was on screen, when, how clearly. A lease never outlives the instant the
 * policy said the item must leave the screen.
 *
 * Queues: the policy's queues (by index), plus two virtual ones: "escalations" (leads) and "qa"
 * (QA reviewers; a share of human decisions, http.qa_sample_rate, is copied there for a second
 * review whose agreement is published as an audit event).
 *
 * Threads: every function may be called from any thread; one mutex guards the desk. The JSON and
 * byte outputs are the caller's and are built under the lock from the desk's own state.
 */
#ifndef MODQ_WORKER_DESK_H
#define MODQ_WORKER_DESK_H

#include "modq_policy.h"
#include "prepare/prepare.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum modq_desk_result {
    MODQ_DESK_OK = 0,
    MODQ_DESK_ERR_INVALID_ARG, /* a caller bug or a bad request value (unknown verdict...) */
    MODQ_DESK_ERR_NOMEM,
    MODQ_DESK_ERR_NOT_FOUND,   /* no such item (or it left: decided, dropped) */
    MODQ_DESK_ERR_FORBIDDEN,   /* not this person's item, or their role may not do this */
    MODQ_DESK_ERR_DENIED,      /* the policy refuses: see the modq_desk_denial filled */
    MODQ_DESK_ERR_STATE,       /* already on a break, not on a break, ... */
    MODQ_DESK_ERR_UNAVAILABLE, /* no colour rendition, or the desk is closing */
    MODQ_DESK_ERR_FULL,        /* the desk holds its maximum of items */
    MODQ_DESK_ERR_UNKNOWN_QUEUE,
    MODQ_DESK_ERR_PAUSED, /* no new items while Kafka confirms nothing (modq_desk_set_paused) */
    MODQ_DESK_ERR_UNCONFIRMED, /* this desk is not confirmed as the fleet's desk now
                                  (modq_desk_opts.confirmed) */
    MODQ_DESK_RESULT_COUNT
} modq_desk_result;

const char *modq_desk_strerror(modq_desk_result r);

#define MODQ_DESK_QUEUE_ESCALATIONS "escalations"
#define MODQ_DESK_QUEUE_QA          "qa"
#define MODQ_DESK_MAX_ASSOCIATES    10000 /* associates remembered; the least recent goes first */
#define MODQ_DESK_MAX_NOTE          2000  /* bytes of a note or a typed reason */
#define MODQ_DESK_MAX_LABELS        16
#define MODQ_DESK_TOPIC_MAX         256

/* Where a ticket came from (its offset completes when its decision is confirmed). */
typedef struct modq_desk_ref {
    char topic[MODQ_DESK_TOPIC_MAX];
    int32_t partition;
    int64_t offset;
} modq_desk_ref;

/* Who is asking: filled from the verified token by the API. Strings borrowed for the call. */
typedef struct modq_desk_who {
    const char *id;            /* associate id (sub), 1..63 bytes */
    const char *team;          /* "" when none */
    unsigned roles;            /* modq_policy_role bits */
    const char *const *skills; /* skills and locales */
    size_t nskills;
    const char *const *opt_outs;
    size_t nopt_outs;
} modq_desk_who;

/* Why the policy refused, for a 423 answer. */
typedef struct modq_desk_denial {
    modq_policy_reason reason;
    int64_t until_ms; /* 0: only an action clears it */
} modq_desk_denial;

/* How a person's decision fared on Kafka, told once to whoever waits for it. */
typedef enum modq_desk_fate {
    MODQ_DESK_FATE_CONFIRMED, /* Kafka confirmed it: it survives this process */
    MODQ_DESK_FATE_PENDING,   /* not confirmed in time: kept and sent again until it is */
    MODQ_DESK_FATE_LOST,      /* dropped (out of memory, stopping): its ticket comes back */
} modq_desk_fate;

/* Whom to tell a decision's fate: fn(arg, fate) exactly once, from any thread (possibly before
 * the decide call returns). */
typedef struct modq_desk_confirm {
    void (*fn)(void *arg, modq_desk_fate fate);
    void *arg;
} modq_desk_confirm;

/*
 * What leaves the desk. Every function is required except on_screen. Buffers are borrowed for the
 * call. Called without the desk's lock, on the thread of the desk call that caused it.
 */
typedef struct modq_desk_sink {
    void *arg;
    /* A person's decision on the ticket at ref: the sink publishes it (key content_id), retries
     * until Kafka confirms it, then completes ref's offset and remembers ticket_id (and sha256,
     * NULL without media) as decided with verdict and labels (comma-joined). When confirm is
     * not NULL the sink tells it the decision's fate (a copy of *confirm is kept). */
    void (*decision)(void *arg, const modq_desk_ref *ref, const char *content_id,
                     const char *ticket_id, const uint8_t *sha256, int verdict, const char *labels,
                     const uint8_t *buf, size_t len, const modq_desk_confirm *confirm);
    void (*wellbeing)(void *arg, const char *associate_id, const uint8_t *buf, size_t len);
    void (*audit)(void *arg, const char *key, const uint8_t *buf, size_t len);
    /* The associate's packed ledger (modq.v1.Ledger) after a change: key associate_id. */
    void (*ledger)(void *arg, const char *associate_id, const uint8_t *buf, size_t len);
    /* Optional (may be NULL): an item of queue left a person's screen after seconds on it, which
     * weighed minutes of exposure (modq_policy_exposure_minutes: tier, levels and colour). */
    void (*on_screen)(void *arg, const char *queue, double seconds, double minutes);
    /* Optional: an item was escalated; buf is it as a review record (modq.v1.ReviewItem with
     * the escalation set) for the review topic, so that a desk taking over has the escalation
     * (worker.role desk). NULL: escalations live in this desk's memory only. confirm as for
     * decision. */
    void (*escalation)(void *arg, const char *ticket_id, const uint8_t *buf, size_t len,
                       const modq_desk_confirm *confirm);
} modq_desk_sink;

typedef struct modq_desk_opts {
    const modq_policy *policy; /* borrowed; outlives the desk */
    modq_desk_sink sink;
    const char *worker_id; /* copied */
    int64_t lease_ms;      /* > 0 */
    double qa_sample_rate; /* 0..1 */
    size_t max_items;      /* > 0: items held at once, all queues (QA copies included) */
    uint64_t seed;         /* QA sampling and event ids; 0 = from the clock */
    /* This desk is the one writer of every ledger while it serves (worker.role desk: the active
     * desk of a fleet). A ledger read back never replaces one it has written since it began to
     * serve (a late record of a desk that died or was cut off would drop what was recorded
     * here); modq_desk_hand_over ends that, and it follows the topic again as a standby. */
    bool sole_writer;
    /* Optional (NULL: always): whether this desk may act for the fleet at this instant (worker.role
     * desk: Kafka confirmed recently that this desk still holds the review topic). Asked under
     * the desk's lock whenever an item would be leased, shown again, looked at, decided, released
     * or escalated; false answers ERR_UNCONFIRMED and changes nothing. Must not call the desk. */
    bool (*confirmed)(void *arg);
    void *confirmed_arg;
    /* One review for copies: when a person decides an item, the items of the same queue still
     * waiting with the same media bytes, or (for a verdict other than no_violation) media whose
     * PDQ hash is within near_distance (the queue's near_copy_distance when its policy sets one)
     * are decided the same way, each with its own Decision naming the reviewed ticket. */
    bool decide_copies;
    int near_distance; /* 0..31 */
} modq_desk_opts;

typedef struct modq_desk modq_desk;

/* A new desk (caller owns it: modq_desk_free). opts is read, not kept. */
modq_desk_result modq_desk_new(const modq_desk_opts *opts, modq_desk **out);
/* Frees every item and ledger (NULL is fine). Nothing more is published. */
void modq_desk_free(modq_desk *d);

/* ---- The worker loop ---------------------------------------------------------------------- */

/* Takes p (kind REVIEW, queue_index valid) from ref. On OK the desk owns p; otherwise the caller
 * still does (ERR_FULL, ERR_NOMEM, ERR_INVALID_ARG). A ticket id already held is refused
 * (ERR_INVALID_ARG): a redelivery while the first copy waits. An escalated p (read back from
 * the review topic) goes to the escalation queue with its note, person and team. */
modq_desk_result modq_desk_add(modq_desk *d, modq_prepared *p, const modq_desk_ref *ref,
                               int64_t now_ms);
/* p (an escalated review record, p->escalated, read from ref) names a ticket this desk holds:
 * the held item becomes that escalation (note, who, team; to the escalation queue unless someone
 * has it on screen) if it was not one yet, and takes ref as its source. Returns 1 and fills
 * *old with the source it had (an empty topic when none), whose offset the caller completes:
 * the escalated record now carries the item. 0 when the ticket is not held (p stays the
 * caller's either way). */
int modq_desk_take_escalation(modq_desk *d, const modq_prepared *p, const modq_desk_ref *ref,
                              modq_desk_ref *old);
/* 1 when the desk holds ticket_id (in any state) and, when ref is non-NULL, *ref its source (an
 * empty topic when it has none, e.g. a QA copy); else 0. */
int modq_desk_holds(modq_desk *d, const char *ticket_id, modq_desk_ref *ref);
/* Hands back every lease that ran out (or whose on-screen limit passed) at now: the item returns
 * to its queue, the ledger records it left the screen, an audit LEASE_EXPIRED goes out. Returns
 * how many. */
size_t modq_desk_tick(modq_desk *d, int64_t now_ms);
/* Drops the items of a revoked partition that are neither leased nor escalated (a lease goes on:
 * its decision is still published, the new owner of the partition skips the ticket once decided;
 * an escalation keeps its note and its lead). Returns how many were dropped. */
size_t modq_desk_drop_partition(modq_desk *d, const char *topic, int32_t partition);
/* This desk stops being the desk of the partition's items (worker.role desk: the review topic's
 * partition went to another desk, which reads its undecided items again): every lease is handed
 * back as modq_desk_release_all does (ledgers record the items off screen, audit RELEASED), then
 * every item of the partition is dropped, leased and escalated ones too. Returns how many were
 * dropped. */
size_t modq_desk_hand_over(modq_desk *d, const char *topic, int32_t partition, int64_t now_ms);
/* The ticket was decided elsewhere (seen on the decisions topic): drops it if held. Returns 1 and
 * fills *ref (may be NULL) when it was held, so the caller completes that offset; 0 otherwise.
 * A leased item leaves the lessee's screen (and the desk) at their next call or the next tick,
 * which know the time; meanwhile it is NOT_FOUND. A QA copy is this desk's own decision read
 * back: it is kept and 0 returned. */
int modq_desk_forget_ticket(modq_desk *d, const char *ticket_id, modq_desk_ref *ref);
/* A ledger read back from the ledgers topic (packed modq.v1.Ledger). Adopted when the associate
 * is unknown here, or has nothing on screen here and the ledger is newer than ours (and, for a
 * sole_writer desk, this desk has not written their ledger since it began to serve). Returns OK
 * (adopted or ignored), or ERR_INVALID_ARG when it does not decode (errstr says why). */
modq_desk_result modq_desk_ledger_restore(modq_desk *d, const uint8_t *buf, size_t len,
                                          char *errstr, size_t errstr_size);
/* Stops handing out items: next answers ERR_UNAVAILABLE from now on. Leased items stay leased
 * until modq_desk_release_all. */
void modq_desk_close(modq_desk *d);
/* While paused, next hands out no new item (ERR_PAUSED); a person's leased item still comes
 * back to them, and decisions, releases and escalations still go through. The worker pauses the
 * desk while Kafka confirms none of what it publishes: a decision made then exists only in this
 * process, and a crash would show its ticket to a person again. */
void modq_desk_set_paused(modq_desk *d, bool paused);
/* Hands back every leased item (draining): ledgers record them off screen, audit RELEASED.
 * Returns how many. */
size_t modq_desk_release_all(modq_desk *d, int64_t now_ms);

/* ---- A person (the review API) ------------------------------------------------------------ */

/*
 * The next item for who from queue (a policy queue name, "escalations", "qa", or NULL: any policy
 * queue the person may take, best first: priority, then age, preferring another category than the
 * last; queues refused for ROLE, SKILL or OPT_OUT are skipped silently). Items of the virtual
 * queues are checked against the policy as items of the queue they came from, the role aside. On
 * OK, *item is the Item object of docs/api.md, or NULL when nothing is waiting; *status (may be
 * NULL) the Status object; both owned by the caller (json_decref). While who holds a lease the same
 * item comes back. An item's Item object is built before its lease is taken; one that cannot be
 * built is set aside (never handed out: modq_desk_counts.unservable) and the next best is taken.
 * ERR_DENIED fills *denial; ERR_UNKNOWN_QUEUE; ERR_FORBIDDEN for a virtual queue the role may not
 * take; ERR_UNAVAILABLE when closed.
 */
modq_desk_result modq_desk_next(modq_desk *d, const modq_desk_who *who, const char *queue,
                                int64_t now_ms, json_t **item, json_t **status,
                                modq_desk_denial *denial);
/*
 * The rendition of who's item id at level (-1: the heaviest, 3), colour or not. A clearer level
 * than the current one is a reveal (typed_reason: "" when none): policy-checked (ERR_DENIED with
 * REVEAL_LEVEL, COLOUR or NEEDS_REASON), recorded in the ledger, audited. Renews the lease. On OK
 * *data is a copy (malloc, caller frees), *len its size, *mime a static string, *level_out the
 * level served, and *lease_until (when not NULL) when the renewed lease now ends. ERR_UNAVAILABLE
 * when colour was asked but no colour rendition exists, or the level was not rendered;
 * ERR_NOT_FOUND also for an item without media.
 */
modq_desk_result modq_desk_media(modq_desk *d, const modq_desk_who *who, const char *id, int level,
                                 bool colour, const char *typed_reason, int64_t now_ms,
                                 uint8_t **data, size_t *len, const char **mime, int *level_out,
                                 int64_t *lease_until, modq_desk_denial *denial);
/* A deliberate reveal with a typed reason, without fetching: as modq_desk_media's check. */
modq_desk_result modq_desk_reveal(modq_desk *d, const modq_desk_who *who, const char *id, int level,
                                  bool colour, const char *typed_reason, int64_t now_ms,
                                  modq_desk_denial *denial);
/*
 * who decides their item id: verdict ("no_violation", "remove", "restrict",
 * "remove_and_report"), labels (at most MODQ_DESK_MAX_LABELS), note (may be NULL). The item
 * leaves the desk, the ledger records it off screen, the Decision goes to the sink (a QA item
 * instead publishes its agreement as an audit event). *status (may be NULL) as for next.
 */
modq_desk_result modq_desk_decide(modq_desk *d, const modq_desk_who *who, const char *id,
                                  const char *verdict, const char *const *labels, size_t nlabels,
                                  const char *note, int64_t now_ms, json_t **status);
/* As modq_desk_decide, and on OK confirm (copied) is told the decision's fate: so that a person
 * is answered once Kafka has it (a QA copy's second review, an audit event, is told CONFIRMED at
 * once). On any other result confirm is never called. */
modq_desk_result modq_desk_decide_then(modq_desk *d, const modq_desk_who *who, const char *id,
                                       const char *verdict, const char *const *labels,
                                       size_t nlabels, const char *note, int64_t now_ms,
                                       const modq_desk_confirm *confirm, json_t **status);
/* who sends their item id to the escalation queue with a note (may be NULL). ERR_STATE for a QA
 * copy. */
modq_desk_result modq_desk_escalate(modq_desk *d, const modq_desk_who *who, const char *id,
                                    const char *note, int64_t now_ms);
/* As modq_desk_escalate, and on OK confirm (copied) is told the escalation's fate as
 * modq_desk_decide_then tells a decision's (CONFIRMED at once without a sink.escalation: the
 * escalation lives in this desk's memory only). */
modq_desk_result modq_desk_escalate_then(modq_desk *d, const modq_desk_who *who, const char *id,
                                         const char *note, int64_t now_ms,
                                         const modq_desk_confirm *confirm);
/* who hands their item id back to its queue, undecided. */
modq_desk_result modq_desk_release(modq_desk *d, const modq_desk_who *who, const char *id,
                                   int64_t now_ms);
/* Breaks: start hands back a current item. ERR_STATE when already on / not on a break. */
modq_desk_result modq_desk_break_start(modq_desk *d, const modq_desk_who *who, int64_t now_ms,
                                       json_t **status);
modq_desk_result modq_desk_break_end(modq_desk *d, const modq_desk_who *who, int64_t now_ms,
                                     json_t **status);
/* A lead of associate's team takes up their support request: it leaves the team view, and a
 * SUPPORT_ACKNOWLEDGED wellbeing event names the lead. ERR_FORBIDDEN for someone not a lead
 * and for a lead's own request (another lead takes it up),
 * ERR_NOT_FOUND for an associate this desk does not know in the lead's team (a lead without a
 * team has none). OK, and nothing sent, when no request is open. */
modq_desk_result modq_desk_support_ack(modq_desk *d, const modq_desk_who *lead,
                                       const char *associate, int64_t now_ms);
/* who asks for a lead or counsellor: a SUPPORT_REQUESTED wellbeing event carrying message (may be
 * NULL or ""; cut at a character boundary to MODQ_DESK_MAX_NOTE bytes), and the request and its
 * message in the team view of who's team until a lead takes it up. A press moments after the
 * last one that brings no new message is the same request. ERR_INVALID_ARG for a message that is
 * not text by modq_desk_text_ok. */
modq_desk_result modq_desk_support(modq_desk *d, const modq_desk_who *who, const char *message,
                                   int64_t now_ms);
/* Whether the n bytes at s are text one person may send another: strict UTF-8 (no overlong
 * forms, surrogates or code points past U+10FFFF) without control characters (U+0000-U+001F,
 * U+007F-U+009F: line breaks and tabs too). False for s NULL. */
bool modq_desk_text_ok(const char *s, size_t n);
/* who's Status object (docs/api.md); caller owns *out. */
modq_desk_result modq_desk_me(modq_desk *d, const modq_desk_who *who, int64_t now_ms, json_t **out);
/* A lead's team view (docs/api.md); ERR_FORBIDDEN without the lead role. */
modq_desk_result modq_desk_team(modq_desk *d, const modq_desk_who *who, int64_t now_ms,
                                json_t **out);

/* ---- Figures, for /metrics ---------------------------------------------------------------- */

typedef struct modq_desk_counts {
    size_t waiting, leased, escalations, qa; /* items now: waiting in policy queues, leased
                                                anywhere, all in the virtual queues */
    size_t associates, near_cap, on_break;   /* associates now */
    uint64_t reveals[MODQ_POLICY_LEVELS];    /* reveals served, by level, since start */
    uint64_t denials[MODQ_REASON_COUNT];     /* policy denials by reason */
    uint64_t decisions[5];                   /* human decisions by Verdict number */
    uint64_t leases_expired;
    uint64_t copies_decided; /* waiting copies decided with a person's decision (decide_copies) */
    size_t unservable; /* items set aside because their answer could not be built: never handed
                          out, held until their partition moves or the worker restarts */
} modq_desk_counts;
void modq_desk_get_counts(modq_desk *d, modq_desk_counts *out);
/* Items waiting (not leased, not set aside) in policy queue qi; 0 when out of range. */
size_t modq_desk_waiting(modq_desk *d, size_t qi);
/* When the oldest ticket waiting in policy queue qi was created (its created_at_ms, wall clock);
 * -1 when none waits (or none says when it was made). For the floor's age figures. */
int64_t modq_desk_oldest_waiting_ms(modq_desk *d, size_t qi);

#endif
