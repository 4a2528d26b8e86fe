/* run_impl.h: what the run*.c files share (private to worker/core/run*.c). */
#ifndef MODQ_WORKER_RUN_IMPL_H
#define MODQ_WORKER_RUN_IMPL_H

#include "kafka/consume.h"
#include "prepare/decided.h"
#include "desk/desk.h"
#include "prepare/fetch.h"
#include "kafka/follow.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "pool.h"
#include "prepare/prepare.h"
#include "kafka/publish.h"
#include "run.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODQ_RUN_TOPIC_MAX 256 /* bytes of a topic name, incl. NUL (Kafka allows 249) */
#define MODQ_RUN_DEAD_KEY  65  /* a dead-lettered message's key: hex SHA-256 and NUL */

/* Why a message was published, so that its confirmation does the right thing. */
typedef enum modq_run_cookie_kind {
    MODQ_RUN_AUTO = 0,  /* an automatic decision: completes the ticket, joins the decided set */
    MODQ_RUN_DEAD,      /* a dead letter: completes the ticket */
    MODQ_RUN_HUMAN,     /* a person's decision: as AUTO, and retried until confirmed */
    MODQ_RUN_WELLBEING, /* events: retried until confirmed, no ticket */
    MODQ_RUN_AUDIT,
    MODQ_RUN_LEDGER,     /* not retried: a later ledger supersedes it (compacted topic) */
    MODQ_RUN_REVIEW,     /* role prepare: a review item for the desk; completes the ticket */
    MODQ_RUN_ESCALATION, /* role desk: an escalated item again on the review topic; retried */
} modq_run_cookie_kind;

/*
 * What a publish confirmation needs. Owned by the publisher between the publish call and its
 * confirmation, then by the retry list or freed. buf (HUMAN and events) is the packed message
 * kept for a retry, owned by the cookie.
 */
typedef struct modq_run_cookie {
    struct modq_run_cookie *next; /* retry list */
    /* HUMAN, and an ESCALATION someone waits for: the list of those not yet confirmed, oldest
     * first (run_wait), and since when this one has waited (monotonic, from its first publish:
     * retries keep it). */
    struct modq_run_cookie *wait_prev, *wait_next;
    bool waiting;
    int64_t waiting_from_ms;
    modq_run_cookie_kind kind;
    bool has_ref; /* a ticket's offset completes on confirmation */
    char topic[MODQ_RUN_TOPIC_MAX];
    int32_t partition;
    int64_t offset;
    char key[MODQ_PUBLISH_MAX_ID]; /* content id, associate id or audit key */
    char ticket_id[MODQ_DECIDED_MAX_ID + 1];
    bool has_sha256;
    uint8_t sha256[32];
    int verdict;
    char labels[MODQ_DECIDED_MAX_LABELS + 1];
    int64_t decided_at_ms;
    char dead_key[MODQ_RUN_DEAD_KEY]; /* DEAD: remembered once confirmed ("": none made) */
    /* HUMAN: who waits to hear the decision's fate (the person's HTTP answer); told once,
     * by whichever thread clears answer_pending. */
    atomic_bool answer_pending;
    modq_desk_confirm answer;
    atomic_size_t *answers_pending; /* the run's count, which answer_pending is part of */
    /* HUMAN, ESCALATION of a fleet's desk: its consumer's tenure when the person acted
     * (modq_consume_tenure); sent again only within that tenure (run_sink.c, fence). */
    uint64_t tenure;
    uint8_t *buf;
    size_t len;
    unsigned attempts;
    int64_t retry_at_ms; /* monotonic */
} modq_run_cookie;

#define MODQ_RUN_ERRSTR_SIZE 512

/* A bank file's identity and version, for the change check (run_banks.c). */
typedef struct run_bank_file {
    uint64_t dev, ino;
    int64_t size, mtime_ns;
} run_bank_file;

/* The bank reload's thread: none, loading, or done and waiting for the loop to collect it. */
enum { RUN_BANKS_IDLE, RUN_BANKS_LOADING, RUN_BANKS_DONE };

#define MODQ_RUN_RETRY_MAX      100000 /* messages waiting for a retry; beyond, logged and dropped */
#define MODQ_RUN_RETRY_BASE_MS  500
#define MODQ_RUN_ANSWER_WAIT_MS 2000 /* a person waits this long at most for Kafka's word */
#define MODQ_RUN_RETRY_CAP_MS   30000

/* The worker (run.h). Shared by run.c (the loop) and run_new.c (making and freeing it). */
struct modq_run {
    const modq_config *cfg;    /* borrowed */
    const modq_policy *policy; /* borrowed */
    modq_config_role role;     /* what this process does in a fleet (worker.role) */
    modq_log *log;
    modq_media_opts *media_opts;
    /* The banks in use (NULL for a desk pod), swapped by a reload under banks_lock's write side;
     * preparation holds its read side while it matches and uses the match (run_banks.c). */
    modq_banks *banks;
    pthread_rwlock_t banks_lock;
    bool banks_lock_init;
    atomic_bool banks_asked; /* a reload was asked for (SIGHUP) */
    atomic_int banks_state;  /* RUN_BANKS_* */
    pthread_t banks_thread;
    run_bank_file banks_seen[MODQ_BANKS_MAX_BANKS]; /* the files as last loaded (or tried) */
    int64_t banks_next_check_ms;                    /* monotonic */
    int64_t banks_check_ms;                         /* the period of the change check */
    int64_t banks_load_ms;                          /* how long the last reload took */
    char banks_err[MODQ_RUN_ERRSTR_SIZE];           /* why the last reload failed, "" if not */
    modq_decided *decided;
    modq_decided *dead;           /* dead-lettered messages by key (run_dead.c) */
    pthread_mutex_t decided_lock; /* guards decided and dead */
    bool decided_lock_init;
    modq_fetch *fetch;     /* NULL: URI media dead-letters */
    modq_sandbox *sandbox; /* NULL: media is decoded in this process (sandbox.enabled false) */
    modq_prepare_ctx ctx;
    modq_desk *desk;
    modq_follow *follow_decisions; /* the decisions topic -> decided set, desk */
    modq_follow *follow_ledgers;   /* the ledgers topic -> desk */
    modq_follow *follow_dead;      /* the dead-letter topic -> dead */
    modq_metrics *metrics;         /* borrowed, may be NULL */
    pthread_mutex_t retry_lock;
    bool retry_lock_init;
    modq_run_cookie *retry;      /* failed publishes waiting for their retry, oldest first */
    modq_run_cookie *retry_tail; /* its last element: appends stay O(1) at the cap */
    size_t nretry;
    modq_pool *pool;
    bool pool_stopped;
    modq_consume *consume;
    _Atomic(modq_consume *) consume_live; /* = consume, for the followers' threads */
    modq_publish *publish;
    const char **topics; /* ntopics consumed: the policy's queue topics (strings owned by the
                            policy), or for role desk the review topic alone (owned by cfg) */
    size_t ntopics;
    rd_kafka_message_t **held; /* refused by the pool, in arrival order; cap_held slots */
    size_t nheld;
    size_t cap_held;
    modq_run_clock clock;
    void *clock_arg;
    int64_t last_commit_ms;
    int64_t last_expire_ms;
    int64_t last_trim_ms;
    int64_t last_probe_ms;    /* role desk: the last confirmation asked of Kafka (run_desk.c) */
    int desk_state;           /* role desk, poll thread: what run_desk_confirm last saw */
    bool desk_announced;      /* role desk: "active" was logged since it last was a standby */
    int64_t stuck_ms;         /* opts.stuck_ms or MODQ_RUN_STUCK_MS */
    int64_t last_confirm_ms;  /* monotonic: Kafka's last confirmation (poll thread) */
    int64_t waiting_since_ms; /* monotonic: since something has waited for Kafka; -1: nothing */
    /* People's decisions (and escalations) not yet confirmed (published or waiting for a
     * retry), oldest first: the oldest one's age pauses the desk even while other partitions
     * and topics confirm. */
    pthread_mutex_t wait_lock;
    bool wait_lock_init;
    /* People waiting now to hear a record's fate (cookies whose answer_pending is set): the loop
     * turns quickly while there are any. */
    atomic_size_t answers_pending;
    modq_run_cookie *wait_oldest, *wait_newest;
    size_t nwait;
    atomic_bool paused;           /* the desk is paused (see watch_kafka in run.c) */
    _Atomic int64_t last_turn_ms; /* monotonic, for /healthz */
    atomic_bool assigned_once;    /* for /readyz */
    volatile sig_atomic_t stop;
    bool drained;
    bool retry_closed; /* after the drain's last flush: failures are dropped, not retried */
    _Atomic uint64_t n_received, n_review, n_auto_decided, n_duplicate, n_dead_letter, n_confirmed,
        n_prepare_failed, n_publish_failed, n_review_dropped, n_decided_evicted, n_retried,
        n_event_failed, n_follow_bad, n_banks_reloaded, n_banks_failed;
};
/* One more of r's counter n_<f> (relaxed: figures for /metrics). */
#define RUN_COUNT(r, f) atomic_fetch_add_explicit(&(r)->n_##f, 1, memory_order_relaxed)

/* run_banks.c: the banks, reloaded on request or when a file changes. */
/* Starts a reload when one was asked for or a file changed; collects a finished one (logged,
 * counted). Loop thread. */
void run_banks_tick(modq_run *r, int64_t mono);
/* Remembers the bank files as they are now: the banks just loaded are theirs. */
void run_banks_seen(modq_run *r);
/* Waits for a reload still running (at free). */
void run_banks_stop(modq_run *r);

/* Monotonic milliseconds: the default clock. */
int64_t run_mono_ms(void *arg);
/* The pool's job function (job: an rd_kafka_message_t, owned), and its drop function. */
void run_pool_job(void *job, void *arg);
void run_drop_job(void *job, void *arg);
/* The publisher's confirmation callback (poll thread): completes, retries or frees the cookie. */
void run_delivered(void *arg, void *ck, int ok, const char *error);

/* run_util.c: shared by the loop, the sink and the dead letters. */
/* Whether ticket_id is in the decided set (under decided_lock). Any thread. */
bool run_is_decided(modq_run *r, const char *ticket_id);
/* One log line about the ticket message at (topic, partition, offset); error may be NULL. */
void run_log_msg(modq_run *r, modq_log_level level, const char *msg, const char *topic,
                 int32_t partition, int64_t offset, const char *error);

/* run_sink.c: the desk's sink, publish retries and the followers' record handlers. */
/* The sink the desk publishes through (arg: the modq_run). */
modq_desk_sink run_desk_sink(modq_run *r);
/* Publishes c (kind HUMAN or an event kind, buf set) again; on failure it goes back to the
 * retry list. Takes c. */
void run_republish(modq_run *r, modq_run_cookie *c);
/* Puts c on the retry list with a backoff, or frees it (logged) when the list is full. */
void run_retry_later(modq_run *r, modq_run_cookie *c, const char *error);
/* Republishes the cookies whose retry is due (poll thread). */
void run_retry_due(modq_run *r);
/* Frees what waits for a retry (at drain, after the last chance); returns how many. */
size_t run_retry_drop(modq_run *r);
/* Frees c; a waiter not told yet hears LOST. */
void run_cookie_free(modq_run_cookie *c);
/* Tells c's waiter (if any, and only the first time) the decision's fate. Any thread. */
void run_cookie_tell(modq_run_cookie *c, modq_desk_fate fate);
/* Tells PENDING to every waiter whose decision has waited MODQ_RUN_ANSWER_WAIT_MS at mono:
 * a person is answered in bounded time while Kafka is slow. Poll thread. */
void run_answer_overdue(modq_run *r, int64_t mono);
/* c (a person's decision, about to be published the first time) starts to wait (any thread). */
void run_wait(modq_run *r, modq_run_cookie *c);
/* c's publishing is over (confirmed, or given up): a waiting decision stops waiting. Call before
 * freeing c. Any thread. */
void run_settle(modq_run *r, modq_run_cookie *c);
/* How many decisions wait, and since when the oldest has (monotonic; -1 when none does). */
size_t run_waiting(modq_run *r, int64_t *oldest_ms);
/* Follower handlers. */
void run_on_decision_record(void *arg, const modq_follow_record *rec);
void run_on_ledger_record(void *arg, const modq_follow_record *rec);

/* run_outcome.c: what a ticket's message becomes on Kafka when no person here decides it. */
/* A confirmation cookie for msg (completes its offset); NULL when out of memory. */
modq_run_cookie *run_cookie_for(const rd_kafka_message_t *msg, modq_run_cookie_kind kind);
/* Publishes an AUTO or DEAD_LETTER outcome of msg; false when nothing will confirm it (logged). */
bool run_publish_outcome(modq_run *r, const rd_kafka_message_t *msg, const modq_prepared *p,
                         int64_t now_ms);
/* Role prepare: publishes p (kind REVIEW) from the ticket msg to topics.review; the ticket
 * completes when Kafka confirms it. An item too large for a record is dead-lettered instead.
 * Returns false when nothing will complete the ticket (logged). Pool threads. */
bool run_publish_review(modq_run *r, const rd_kafka_message_t *msg, modq_prepared *p,
                        int64_t now_ms);

/* run_desk.c: what a fleet's desk pod (worker.role desk) does differently. */
/* The review record msg as a prepared item (kind REVIEW, or DEAD_LETTER for a record the desk
 * refuses, or DUPLICATE for a ticket already decided). NULL when out of memory. */
modq_prepared *run_unpack_review(modq_run *r, const rd_kafka_message_t *msg);
/* Whether this desk may act for the fleet now, Kafka having confirmed recently that it holds
 * the review topic (modq_desk_opts.confirmed). Any thread. */
bool run_desk_confirmed(void *arg);
/* Whether it serves people now: it holds the review topic and is confirmed, or has nothing a
 * confirmation could commit yet (an empty review topic: nothing to hand out). Any thread. */
bool run_desk_serving(modq_run *r);
/* Each turn of the loop: asks Kafka to confirm this desk (about every second) and logs when it
 * stops or starts being confirmed. */
void run_desk_confirm(modq_run *r, int64_t mono);
/* At start: the consumer's session leaves a mandate of at least a second. */
int run_desk_check(modq_run *r, char *errstr, size_t errstr_size);

/* run_dead.c: each dead letter published once, even when its ticket comes back after a crash. */
/* key (MODQ_RUN_DEAD_KEY bytes) of the ticket message value (len bytes) at (topic, partition,
 * offset). false (and "") when no digest could be made. */
bool run_dead_key(const char *topic, int32_t partition, int64_t offset, const void *value,
                  size_t len, char key[MODQ_RUN_DEAD_KEY]);
/* The ticket message msg was dead-lettered before (it came back after a crash): completes it,
 * counted as a duplicate, and returns true; false otherwise. Pool threads. */
bool run_dead_again(modq_run *r, const rd_kafka_message_t *msg);
/* Remembers key ("" is ignored) as dead-lettered at at_ms (any thread). */
void run_dead_remember(modq_run *r, const char *key, int64_t at_ms);
/* Follower handler of the dead-letter topic. */
void run_on_dead_letter_record(void *arg, const modq_follow_record *rec);

#endif
