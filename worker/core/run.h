/*
 * run.h: modq-worker's main loop (private to worker/): wires the consumer, the preparation pool,
 * the publisher, the hash banks, the decided set and the fetcher together.
 *
 * Flow. The poll thread (the one calling modq_run_step) polls the consumer; each ticket message
 * becomes a pool job. A pool thread prepares it (prepare.h) and acts on the outcome:
 *   AUTO        -> a Decision to topics.decisions; once Kafka confirms it, its offset is completed
 *                  and the ticket id (and media SHA-256) join the decided set, so a redelivery is
 *                  recognised as a duplicate. Added on confirmation, not before: a decision that
 *                  failed to publish must not turn its own redelivery into a silent duplicate.
 *   DEAD_LETTER -> the ORIGINAL bytes and key to topics.dead_letter with modq-error/-reason and
 *                  the source topic/partition/offset; completed once Kafka confirms.
 *   DUPLICATE   -> completed at once.
 *   REVIEW      -> handed to the review desk (desk.h), where the review API gives it to a person;
 *                  its offset stays in flight until the person's decision is confirmed, so the
 *                  consumer's per-queue window bounds the desk and a restart re-delivers it.
 * The desk publishes through this module (run_sink.c): people's decisions and the wellbeing and
 * audit events are retried until confirmed; ledgers are not (the next one supersedes them).
 * Confirmations run inside modq_publish_poll on the poll thread. A failed one is logged once and
 * its offset left uncompleted (redelivered after a restart or rebalance): never retried forever.
 * When a partition is revoked, its waiting review items are dropped (the new owner gets them
 * again); leased ones stay with their reviewer, and the decisions follower drops from the desk
 * any ticket another worker decided. Known gap: a job of a revoked partition still being
 * prepared when the revocation happens may reach the desk afterwards; it waits there (bounded by
 * the window) until someone decides it or another worker's decision removes it.
 *
 * Pool full: the consumer's window normally keeps the pool queue from filling (it is sized to
 * hold every queue's window). If a submit is refused anyway, the message is kept (in order) and
 * submitted again at the start of the next step, before the consumer is polled for more.
 *
 * Threads: modq_run_new, _step, _drain and _free belong to one thread (the poll thread).
 * modq_run_request_stop is async-signal-safe. The counters and the review count may be read from
 * any thread.
 */
#ifndef MODQ_WORKER_RUN_H
#define MODQ_WORKER_RUN_H

#include "config/config.h"
#include "modq_policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum modq_run_result {
    MODQ_RUN_OK = 0,
    MODQ_RUN_STOPPED,         /* not an error: a stop was requested; call modq_run_drain */
    MODQ_RUN_ERR_INVALID_ARG, /* a caller bug: NULL pointer, bad option */
    MODQ_RUN_ERR_NOMEM,       /* allocation failed */
    MODQ_RUN_ERR_SETUP,       /* a part could not be made (banks, fetcher, pool...); errstr says */
    MODQ_RUN_ERR_FATAL,       /* Kafka says the consumer or producer cannot go on: drain, exit */
    MODQ_RUN_RESULT_COUNT
} modq_run_result;

/* A static English sentence for a result. Never NULL. */
const char *modq_run_strerror(modq_run_result r);

/* Caps. */
#define MODQ_RUN_COMMIT_PERIOD_MS 1000 /* asynchronous commits at most this often */
#define MODQ_RUN_MAX_EXTRA        32   /* extra consumer properties (pairs) */

/* Monotonic milliseconds (commit period); arg is the option's clock_arg. */
typedef int64_t (*modq_run_clock)(void *arg);

typedef struct modq_run_opts {
    const char *const *consumer_extra; /* NAME, VALUE pairs for the consumer and followers */
    size_t consumer_nextra;            /* pairs, at most MODQ_RUN_MAX_EXTRA */
    FILE *log_out;                     /* where log lines go; NULL = stderr. Not owned */
    modq_run_clock clock;              /* NULL = CLOCK_MONOTONIC */
    void *clock_arg;
    struct modq_metrics *metrics; /* borrowed, may be NULL: the exposure histogram goes there */
    int follow_timeout_ms;        /* wait for the followers to catch up; 0 = 120000 */
    int stuck_ms;       /* Kafka confirming nothing this long while messages wait pauses the desk
                           (modq_desk_set_paused); 0 = MODQ_RUN_STUCK_MS */
    int banks_check_ms; /* how often bank files are checked for a change;
                           0 = MODQ_RUN_BANKS_CHECK_MS */
} modq_run_opts;

#define MODQ_RUN_STUCK_MS       5000
#define MODQ_RUN_BANKS_CHECK_MS 30000

typedef struct modq_run modq_run;

/*
 * Loads the banks cfg lists into a new set (*out, owned by the caller: modq_banks_free). Also what
 * `modq-worker --check-config` uses. On failure *out is NULL and errstr names the bank file.
 */
modq_run_result modq_run_load_banks(const modq_config *cfg, modq_banks **out, char *errstr,
                                    size_t errstr_size);

/*
 * Makes the worker: logger, media options, banks, decided set, fetcher (NULL when neither
 * fetch.file_root nor fetch.allowed_hosts is set), pool, publisher, review desk, the followers of
 * the decisions topic (from now minus decided.retention_hours) and of the ledgers topic (whole),
 * and, once both have caught up (at most opts.follow_timeout_ms, else ERR_SETUP), the consumer
 * over every queue topic of policy (deduplicated). cfg and policy are borrowed and must outlive the
 * worker; opts (NULL = defaults) is only read. modq_blur_init must have been called. On success
 * *out is owned by the caller (modq_run_drain, then modq_run_free); on failure *out is NULL and
 * errstr says why.
 */
modq_run_result modq_run_new(const modq_config *cfg, const modq_policy *policy,
                             const modq_run_opts *opts, modq_run **out, char *errstr,
                             size_t errstr_size);

/*
 * One turn: hands held messages to the pool, polls the consumer for up to timeout_ms (not when a
 * message is still held), serves publish confirmations and commits when the period has passed.
 * Errors are logged here. MODQ_RUN_OK to go on; MODQ_RUN_STOPPED once a stop was requested (no
 * work done); MODQ_RUN_ERR_FATAL when Kafka says the consumer or the producer is unusable.
 */
modq_run_result modq_run_step(modq_run *r, int timeout_ms);

/* Asks the loop to load the bank files again (SIGHUP): only sets a flag. The loop reloads them
 * on a thread of its own and swaps the new banks in; a file that does not load is logged and the
 * banks in use stay. Files are also checked for changes every MODQ_RUN_BANKS_CHECK_MS. */
void modq_run_reload_banks(modq_run *r);

/* Asks the loop to stop: only sets a flag. Async-signal-safe. */
void modq_run_request_stop(modq_run *r);

/*
 * Clean shutdown, within about grace_ms: stops fetching, lets the pool finish its jobs (jobs not
 * started by then are dropped, their offsets left uncompleted), flushes the publisher (serving
 * confirmations), commits synchronously and closes the consumer (leaving the group). Call once.
 * MODQ_RUN_OK also when the final commit was refused only because the group moved on without this
 * worker (a rebalance gave its partitions to another member, which gets their uncommitted tickets
 * again: logged as a warning); MODQ_RUN_ERR_FATAL when Kafka failed otherwise (logged).
 */
modq_run_result modq_run_drain(modq_run *r, int64_t grace_ms);

/* Frees r (NULL is fine). Without a drain first this is a crash as far as Kafka is concerned:
 * nothing more is committed. */
void modq_run_free(modq_run *r);

/* Tickets counted by outcome, for metrics. */
typedef struct modq_run_counters {
    uint64_t received;        /* messages handed to the pool */
    uint64_t review;          /* held for review */
    uint64_t auto_decided;    /* decisions published */
    uint64_t duplicate;       /* completed as already decided */
    uint64_t dead_letter;     /* dead letters published */
    uint64_t prepare_failed;  /* preparation ran out of memory: left uncompleted */
    uint64_t confirmed;       /* decisions and dead letters confirmed: offsets completed */
    uint64_t publish_failed;  /* refused at once or confirmed not delivered: left uncompleted */
    uint64_t review_dropped;  /* review items dropped because their partition was revoked */
    uint64_t decided_evicted; /* decided-set entries evicted because it was full */
    uint64_t retried;         /* decisions and events published again after no confirmation */
    uint64_t event_failed;    /* events and ledgers given up (logged) */
    uint64_t follow_bad;      /* records of the decisions or ledgers topic that did not decode */
    uint64_t banks_reloaded;  /* bank reloads swapped in */
    uint64_t banks_failed;    /* bank reloads refused (the banks in use stayed) */
    uint64_t bank_hashes;     /* hashes in the banks in use (a gauge) */
} modq_run_counters;
void modq_run_counts(modq_run *r, modq_run_counters *out);

/* Review items held right now (waiting, leased, escalated). */
size_t modq_run_review_count(modq_run *r);

/* The review desk the API serves people from (owned by r). */
struct modq_desk *modq_run_desk(modq_run *r);
/* Milliseconds since the loop last turned (liveness: a stalled loop grows it). Any thread. */
int64_t modq_run_idle_ms(modq_run *r);
/* Ready: no stop was requested and a partition assignment was received (role desk: the review
 * topic is held now, i.e. this desk is the active one of its group, and Kafka confirmed that
 * within its mandate: run_desk.c). Any thread. */
bool modq_run_ready(modq_run *r);
/* Role desk: whether this desk holds the review topic, confirmed by Kafka or not (a desk that
 * holds it but is not ready waits for Kafka to confirm it). */
bool modq_run_holds_review(modq_run *r);
/* Role desk: how long it may still serve on Kafka's last confirmation, in ms (0 when it is not
 * confirmed; run_desk.c). Any thread. */
int64_t modq_run_mandate_left_ms(modq_run *r);
/* worker.role of r. Any thread. */
modq_config_role modq_run_role(const modq_run *r);
/* The desk is paused: Kafka has confirmed nothing for stuck_ms while messages wait. Any thread. */
bool modq_run_paused(modq_run *r);
/* The consumer (owned by r), for its lag figures; and the queue topics (owned by the policy). */
struct modq_consume *modq_run_consumer(modq_run *r);
const char *const *modq_run_topics(modq_run *r, size_t *n);
/* Publishes a packed AuditEvent keyed by key (retried until confirmed). Any thread. */
void modq_run_publish_audit(modq_run *r, const char *key, const uint8_t *buf, size_t len);

#endif
