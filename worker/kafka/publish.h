/*
 * publish.h: modq-worker's producer (private to worker/). Publishes decisions, wellbeing events,
 * audit events and dead letters with an idempotent librdkafka producer (enable.idempotence=true,
 * acks=all, both forced) and tells the caller, per message, when Kafka has confirmed it. The
 * consumer completes a ticket's offset only on that confirmation, so a ticket whose decision is
 * lost stays uncompleted and comes back after a restart: "exactly once in effect" together with
 * the decided-ticket filter downstream.
 *
 * Completions. Every publish call takes an opaque cookie. For each call that returns a result
 * for which modq_publish_will_complete() is true, on_delivered(arg, cookie, ok, error) is called
 * exactly once:
 *   ok=1: the brokers (all in-sync replicas) have the message.
 *   ok=0: it will not be delivered by this producer: a broker refused it (e.g. too large), it
 *     timed out (message.timeout.ms, default 300000), librdkafka refused it at once (queue still
 *     full after a bounded wait, larger than message.max.bytes), or the producer was freed first
 *     ("shutdown"). error is a line of text valid during the call only ("" when ok=1). The
 *     ticket must then stay uncompleted: it holds its partition's watermark and is consumed again
 *     after a restart or rebalance. The caller, still holding the outcome, may instead publish it
 *     again. (A message purged in flight at shutdown may in fact have reached the broker: ok=0
 *     means "not confirmed", never "certainly absent"; a ticket decided twice is recognised by
 *     its id downstream.)
 * Completions run only inside modq_publish_poll, modq_publish_flush and modq_publish_free, on the
 * thread calling them, never inside a publish call (a failure known at once is kept and reported
 * by the next poll), so a caller may hold its own lock while publishing. Poll regularly: until a
 * completion is served its message counts against librdkafka's queue.buffering.max.messages.
 * Why no internal poll thread: completions then run where the caller chooses (the consumer's
 * loop can serve them with modq_publish_poll(p, 0) each turn, next to its commits), tests can
 * serve them at exact points, and there is no thread to stop at shutdown. A completion may
 * publish again, except during modq_publish_free.
 *
 * Queue full: librdkafka's queue is bounded (queue.buffering.max.messages / .kbytes). A publish
 * call that finds it full retries for up to opts.queue_full_wait_ms (default 1000) while the
 * poller drains it, then fails with MODQ_PUBLISH_ERR_QUEUE_FULL (and a completion with ok=0). It
 * never blocks without bound; the thread that polls should not publish into a full queue, since
 * nothing would drain it during the wait.
 *
 * Threads: publish calls may come from any number of threads at once; poll, flush and the
 * accessors from any thread; free from one thread once no other call is running.
 */
#ifndef MODQ_WORKER_PUBLISH_H
#define MODQ_WORKER_PUBLISH_H

#include "config/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum modq_publish_result {
    MODQ_PUBLISH_OK = 0,
    MODQ_PUBLISH_ERR_INVALID_ARG, /* a caller bug: NULL pointer, empty or oversized id or code */
    MODQ_PUBLISH_ERR_NOMEM,       /* allocation failed; nothing was attempted */
    MODQ_PUBLISH_ERR_CONFIG,      /* a kafka property weakens delivery or librdkafka refused it */
    MODQ_PUBLISH_ERR_KAFKA,       /* librdkafka could not create the producer */
    MODQ_PUBLISH_ERR_BACKLOG,     /* MODQ_PUBLISH_MAX_OUTSTANDING unconfirmed: nothing attempted */
    MODQ_PUBLISH_ERR_QUEUE_FULL,  /* librdkafka's queue stayed full: not queued, completes ok=0 */
    MODQ_PUBLISH_ERR_REFUSED,     /* librdkafka refused the message: not queued, completes ok=0 */
    MODQ_PUBLISH_RESULT_COUNT
} modq_publish_result;

/* A static English sentence for a result. Never NULL. */
const char *modq_publish_strerror(modq_publish_result r);

/* True when a publish call that returned r will be followed by exactly one completion: OK,
 * ERR_QUEUE_FULL and ERR_REFUSED. For the others nothing was queued and no completion comes. */
bool modq_publish_will_complete(modq_publish_result r);

/* What the module sets when the configuration does not (see modq_publish_new). */
#define MODQ_PUBLISH_DEFAULT_LINGER_MS          "5"
#define MODQ_PUBLISH_DEFAULT_MESSAGE_TIMEOUT_MS "300000"
#define MODQ_PUBLISH_DEFAULT_COMPRESSION        "lz4"
#define MODQ_PUBLISH_DEFAULT_QUEUE_FULL_WAIT_MS 1000
/* Caps. */
#define MODQ_PUBLISH_MAX_OUTSTANDING   (1 << 20) /* messages queued and not yet completed */
#define MODQ_PUBLISH_MAX_QUEUE_WAIT_MS 60000     /* opts.queue_full_wait_ms */
#define MODQ_PUBLISH_MAX_ID            512       /* bytes of a key (content, associate, ticket) */
#define MODQ_PUBLISH_MAX_CODE          64        /* bytes of a dead-letter code */
#define MODQ_PUBLISH_MAX_REASON        1024      /* bytes of the modq-reason header (cut) */

/* Header names. */
#define MODQ_PUBLISH_H_WORKER    "modq-worker"
#define MODQ_PUBLISH_H_TICKET    "modq-ticket"
#define MODQ_PUBLISH_H_ERROR     "modq-error"
#define MODQ_PUBLISH_H_REASON    "modq-reason"
#define MODQ_PUBLISH_H_SRC_TOPIC "modq-source-topic"
#define MODQ_PUBLISH_H_SRC_PART  "modq-source-partition"
#define MODQ_PUBLISH_H_SRC_OFF   "modq-source-offset"

/* The outbound topics, for the counters. */
typedef enum modq_publish_kind {
    MODQ_PUBLISH_DECISION = 0,
    MODQ_PUBLISH_WELLBEING,
    MODQ_PUBLISH_AUDIT,
    MODQ_PUBLISH_DEAD_LETTER,
    MODQ_PUBLISH_LEDGER, /* exposure ledgers: a compacted topic keyed by associate id */
    MODQ_PUBLISH_REVIEW, /* prepared review items, from role prepare to the desk */
    MODQ_PUBLISH_KIND_COUNT
} modq_publish_kind;

/* ok: 1 confirmed, 0 not (error says why). cookie is the publish call's, never touched. */
typedef void (*modq_publish_delivered_fn)(void *arg, void *cookie, int ok, const char *error);
/* librdkafka's log lines (syslog levels), from librdkafka's threads. */
typedef void (*modq_publish_log_fn)(void *arg, int level, const char *facility, const char *line);

typedef struct modq_publish_opts {
    modq_publish_delivered_fn on_delivered; /* required */
    void *arg;                              /* passed to both callbacks */
    modq_publish_log_fn on_log;             /* NULL: librdkafka's log lines are dropped */
    int queue_full_wait_ms; /* 0 = MODQ_PUBLISH_DEFAULT_QUEUE_FULL_WAIT_MS; -1 = do not wait */
} modq_publish_opts;

typedef struct modq_publish modq_publish;

/*
 * Creates the producer from cfg's kafka properties (all of them, in order), topics.* and
 * worker.id; cfg is only read, never kept. Forced: enable.idempotence=true and acks=all; a
 * property that sets either to anything else (also via request.required.acks), sets
 * message.timeout.ms / delivery.timeout.ms to 0 (no bound) or sets transactional.id is refused
 * with MODQ_PUBLISH_ERR_CONFIG and errstr naming it. Defaults when not configured: linger.ms,
 * message.timeout.ms and compression.type as the MODQ_PUBLISH_DEFAULT_* above. Two kinds may not
 * share a topic. On success *out is a new producer owned by the caller (modq_publish_free); on
 * failure *out is NULL and errstr says why (never with a secret value).
 */
modq_publish_result modq_publish_new(const modq_config *cfg, const modq_publish_opts *opts,
                                     modq_publish **out, char *errstr, size_t errstr_size);

/*
 * Completes what is still outstanding, then frees p (NULL is fine). Call modq_publish_flush first
 * with the grace period: whatever is left is purged and completed with ok=0 "shutdown" here,
 * never dropped silently.
 */
void modq_publish_free(modq_publish *p);

/*
 * Publishing. Values, keys and header texts are copied: the caller keeps its buffers. The cookie
 * is only handed back to on_delivered. Every message carries header modq-worker (worker.id).
 *
 * A decision to topics.decisions keyed by content_id; ticket_id (NULL = none) goes in header
 * modq-ticket.
 */
modq_publish_result modq_publish_decision(modq_publish *p, const char *content_id,
                                          const char *ticket_id, const void *packed, size_t len,
                                          void *cookie, char *errstr, size_t errstr_size);
/* A wellbeing event to topics.wellbeing keyed by the associate's id. */
modq_publish_result modq_publish_wellbeing(modq_publish *p, const char *associate_id,
                                           const void *packed, size_t len, void *cookie,
                                           char *errstr, size_t errstr_size);
/* An audit event to topics.audit keyed by key (the ticket id, or the actor). */
modq_publish_result modq_publish_audit(modq_publish *p, const char *key, const void *packed,
                                       size_t len, void *cookie, char *errstr, size_t errstr_size);
/* An associate's packed exposure ledger (modq.v1.Ledger) to topics.ledgers, keyed by associate
 * id: the latest record per key is the ledger (the topic is compacted). */
modq_publish_result modq_publish_ledger(modq_publish *p, const char *associate_id,
                                        const void *packed, size_t len, void *cookie, char *errstr,
                                        size_t errstr_size);

/* A prepared review item (modq.v1.ReviewItem) to topics.review keyed by the ticket id, with
 * header modq-ticket. */
modq_publish_result modq_publish_review(modq_publish *p, const char *ticket_id, const void *packed,
                                        size_t len, void *cookie, char *errstr, size_t errstr_size);

/* Where a dead letter came from. */
typedef struct modq_publish_source {
    const char *topic;
    int32_t partition;
    int64_t offset;
} modq_publish_source;

/*
 * A dead letter to topics.dead_letter: the original message's bytes (len at original) and key
 * (key_len bytes at key; NULL = none) UNCHANGED, with headers modq-error (code: 1 ..
 * MODQ_PUBLISH_MAX_CODE - 1 bytes of [A-Za-z0-9_.-]), modq-reason (reason made one line: control
 * characters become spaces; cut at a UTF-8 boundary to at most MODQ_PUBLISH_MAX_REASON bytes),
 * modq-source-topic, modq-source-partition and modq-source-offset (decimal), modq-worker.
 */
modq_publish_result modq_publish_dead_letter(modq_publish *p, const void *original, size_t len,
                                             const void *key, size_t key_len, const char *code,
                                             const char *reason, const modq_publish_source *src,
                                             void *cookie, char *errstr, size_t errstr_size);

/* Serves completions (see above) for up to timeout_ms (0 = only what is ready). Returns how many
 * were served. */
int modq_publish_poll(modq_publish *p, int timeout_ms);

/* Waits up to timeout_ms for every outstanding message to complete, serving completions. Returns
 * how many are still outstanding (0 = all completed). */
size_t modq_publish_flush(modq_publish *p, int timeout_ms);

/* Messages published and not yet completed. */
size_t modq_publish_outstanding(modq_publish *p);

/* Withdraws every message not yet sent to a broker (those in flight go on): each completes with
 * ok=0 through the next poll, to be retried or dropped by its owner. A fleet's desk does this
 * when Kafka stops confirming it, so that nothing it queued before reaches Kafka after another
 * desk took over. */
void modq_publish_withdraw_queued(modq_publish *p);

/* Figures for metrics, per kind, since the producer was made. */
typedef struct modq_publish_counters {
    uint64_t produced;  /* accepted by librdkafka */
    uint64_t delivered; /* completed ok=1 */
    uint64_t failed;    /* completed ok=0 (refusals at once included) */
} modq_publish_counters;
modq_publish_result modq_publish_counts(modq_publish *p, modq_publish_kind kind,
                                        modq_publish_counters *out);

/*
 * True when the idempotent producer hit a fatal error (e.g. the broker lost its sequence state):
 * every later message will complete with ok=0. The worker should then stop consuming, flush and
 * restart. errstr receives librdkafka's reason.
 */
bool modq_publish_fatal(modq_publish *p, char *errstr, size_t errstr_size);

#endif
