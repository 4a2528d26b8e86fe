/*
 * consume.h: modq-worker's Kafka consumer (private to worker/). One consumer group over every
 * queue topic the policy names; tickets finish out of order (people review them for minutes), so
 * each assigned partition has an offsets tracker (offsets.h) and what is committed is the low
 * watermark plus, in the commit's metadata, the offsets completed above it. A crash or a
 * rebalance neither loses a ticket nor shows a decided one again.
 *
 * Threads: modq_consume_poll, _commit, _stop_fetching, _close and _free belong to ONE thread, the
 * poll thread (rebalance and commit callbacks run inside them). modq_consume_complete and the
 * stats accessors may be called from any thread. Pause and resume decisions are taken on the poll
 * thread only, from bookkeeping kept under one mutex.
 *
 * Backpressure: each topic (queue) has a window of messages handed out and not yet completed.
 * When a topic's window is full its partitions are paused, and resumed once it drained to 3/4 of
 * the window; a partition is also paused while its tracker asks for it (metadata near the cap),
 * and while it holds a message it could not track yet. Kafka holds the backlog, not our memory.
 */
#ifndef MODQ_WORKER_CONSUME_H
#define MODQ_WORKER_CONSUME_H

#include "config/config.h"

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum modq_consume_result {
    MODQ_CONSUME_OK = 0,
    MODQ_CONSUME_ERR_INVALID_ARG, /* a caller bug: NULL pointer, no topics, bad extra list */
    MODQ_CONSUME_ERR_NOMEM,       /* allocation failed */
    MODQ_CONSUME_ERR_CONFIG,      /* a property refused (by us or librdkafka); errstr says which */
    MODQ_CONSUME_ERR_KAFKA,       /* librdkafka reported an error; errstr says what */
    MODQ_CONSUME_ERR_FATAL,       /* the consumer cannot go on: close it and exit */
    MODQ_CONSUME_ERR_CLOSED,      /* the consumer was closed already */
    MODQ_CONSUME_ERR_MOVED_ON,    /* a commit refused because the group moved on without this
                                     member (a rebalance, an expired session, a fenced instance):
                                     the partitions are another member's, which gets their
                                     uncommitted tickets again; nothing is lost */
    MODQ_CONSUME_RESULT_COUNT
} modq_consume_result;

/* A static English sentence for a result. Never NULL. */
const char *modq_consume_strerror(modq_consume_result r);

/* Caps: topics one worker consumes, partitions it may be assigned, extra properties. */
#define MODQ_CONSUME_MAX_TOPICS     256
#define MODQ_CONSUME_MAX_PARTITIONS 4096
#define MODQ_CONSUME_MAX_EXTRA      64
/* Bound on rd_kafka_committed at assignment and on synchronous commits' retries (ms). */
#define MODQ_CONSUME_COMMITTED_TIMEOUT_MS 10000

/* What went wrong in a rebalance or a commit, for the caller to log and count. */
typedef enum modq_consume_problem {
    MODQ_CONSUME_PROBLEM_METADATA = 0, /* committed metadata unusable: decided tickets above the
                                          committed offset may be delivered again */
    MODQ_CONSUME_PROBLEM_COMMITTED,    /* reading committed offsets failed at assignment */
    MODQ_CONSUME_PROBLEM_COMMIT,       /* a commit failed (it is retried by the next one) */
    MODQ_CONSUME_PROBLEM_ASSIGN,       /* incremental assign/unassign failed */
    MODQ_CONSUME_PROBLEM_TRACKER,      /* a tracker could not be made: partition not consumed */
    MODQ_CONSUME_PROBLEM_COUNT
} modq_consume_problem;

typedef struct modq_consume modq_consume;

/*
 * Hands one message to the caller, who takes ownership of msg (rd_kafka_message_destroy it, on
 * any thread, before modq_consume_free) and must call modq_consume_complete for its
 * (topic, partition, offset) once its outcome is delivered, unless on_revoked voided it first.
 * Called on the poll thread with no lock held: it may call modq_consume_complete.
 */
typedef void (*modq_consume_handler)(void *arg, rd_kafka_message_t *msg);

typedef struct modq_consume_callbacks {
    /* Partition (topic, partition) was taken from us, after its completed offsets were committed:
     * every message of it handed out and not completed is void (drop it; it will be delivered to
     * the partition's next owner), and completing it later is ignored. Poll thread. May be NULL. */
    void (*on_revoked)(void *arg, const char *topic, int32_t partition);
    /* A problem worth a log line; text is one line, valid during the call; topic "" and
     * partition -1 when it is not about one partition. Called on the poll thread only
     * (rebalances and commits). May be NULL. */
    void (*on_problem)(void *arg, modq_consume_problem kind, const char *topic, int32_t partition,
                       const char *text);
    /* librdkafka's own log lines (level as syslog); NULL leaves librdkafka's default (stderr).
     * Any librdkafka thread. */
    void (*on_log)(void *arg, int level, const char *fac, const char *text);
    void *arg;
} modq_consume_callbacks;

/*
 * A consumer subscribed to topics[0 .. ntopics-1] (each one queue; at most MODQ_CONSUME_MAX_TOPICS,
 * no duplicates) in group consumer.group_id of cfg (consumer.desk_group_id for worker.role desk),
 * with cfg's kafka.* properties, its consumer.group_instance_id, consumer.metadata_cap_bytes and
 * worker.window_per_queue. extra holds nextra NAME, VALUE pairs (2 * nextra strings) applied after
 * cfg's, for tests (session.timeout.ms and the like). The worker owns group.id, group.instance.id,
 * enable.auto.commit=false, enable.auto.offset.store=false and
 * partition.assignment.strategy=cooperative-sticky: another value for any of them is refused
 * (MODQ_CONSUME_ERR_CONFIG). auto.offset.reset defaults to earliest (a ticket produced before the
 * group first joined is still a ticket). cb (copied; NULL = none) reports revocations and problems.
 * cfg, topics and extra are only read. On success *out is a new consumer owned by the caller
 * (modq_consume_close, then modq_consume_free); otherwise *out is NULL and errstr says why.
 */
modq_consume_result modq_consume_new(const modq_config *cfg, const char *const *topics,
                                     size_t ntopics, const char *const *extra, size_t nextra,
                                     const modq_consume_callbacks *cb, modq_consume **out,
                                     char *errstr, size_t errstr_size);

/* Sets each topic's window (default worker.window_per_queue): a desk pod's one review topic
 * carries every queue's items. 1 .. MODQ_CONSUME_MAX_WINDOW; call before the first poll. */
#define MODQ_CONSUME_MAX_WINDOW 1000000
modq_consume_result modq_consume_set_window(modq_consume *c, size_t window);
/* The partitions topic name has, from the cluster's metadata (asked for within timeout_ms) into *n.
 * MODQ_CONSUME_ERR_KAFKA (errstr says) when the metadata could not be read or the topic does not
 * exist. Poll thread. */
modq_consume_result modq_consume_partition_count(modq_consume *c, const char *name, int timeout_ms,
                                                 int *n, char *errstr, size_t errstr_size);

/*
 * One rd_kafka_consumer_poll of up to timeout_ms, after retrying held messages and before and
 * after which partitions are paused or resumed as the windows and trackers say. A message whose
 * offset is already done is destroyed and counted; a new one is tracked and given to
 * handler(arg, msg). When a message cannot be tracked (tracker full, out of memory) or its
 * topic's window is full, it is kept here, its partition paused, and it is tracked and handed
 * out by a later call, before any later offset of its partition: never dropped, never skipped.
 * MODQ_CONSUME_OK also when nothing arrived or on partition EOF; MODQ_CONSUME_ERR_KAFKA for a
 * consumer error event (errstr says; keep polling); MODQ_CONSUME_ERR_FATAL when librdkafka says
 * the consumer is unusable; MODQ_CONSUME_ERR_CLOSED after modq_consume_close.
 */
modq_consume_result modq_consume_poll(modq_consume *c, int timeout_ms, modq_consume_handler handler,
                                      void *arg, char *errstr, size_t errstr_size);

/*
 * Marks the message at (topic, partition, offset) as done: its decision or dead-letter record
 * was delivered. Thread-safe. A partition no longer assigned, or an offset not in flight, is
 * ignored and counted (modq_consume_late_completions). The next commit includes it.
 */
modq_consume_result modq_consume_complete(modq_consume *c, const char *topic, int32_t partition,
                                          int64_t offset);

/*
 * Commits every assigned partition's commit point (low watermark, completed offsets above it in
 * the metadata), skipping partitions whose point did not change since the last successful commit.
 * A desk pod's consumer sends nothing while its group rebalances (consume_rebalance.c says why).
 * sync waits for the broker: MODQ_CONSUME_ERR_MOVED_ON when it refused because the group moved on
 * without this member, MODQ_CONSUME_ERR_KAFKA for any other refusal; errstr says. Otherwise
 * the result arrives in a later poll (a failure makes the next commit resend). Poll thread.
 */
modq_consume_result modq_consume_commit(modq_consume *c, bool sync, char *errstr,
                                        size_t errstr_size);

/*
 * Asks the group coordinator to confirm that this member still holds its partitions: a commit of
 * every assigned partition's point, sent even when unchanged (consume_confirm.c says why that
 * proves it). sent_ms is the caller's monotonic clock now. At most one is in flight (a call
 * meanwhile does nothing), and none is sent while no assigned partition has a point
 * (modq_consume_confirmable) or while the group rebalances, as for modq_consume_commit. The
 * answer arrives in a later poll. MODQ_CONSUME_ERR_KAFKA when
 * librdkafka refused to send it (errstr says). Poll thread.
 */
modq_consume_result modq_consume_confirm(modq_consume *c, int64_t sent_ms, char *errstr,
                                         size_t errstr_size);
/* Until when (the caller's monotonic ms) no other member of the group can hold this member's
 * partitions: the send time of the last confirmation the coordinator accepted plus the mandate.
 * INT64_MIN when none was accepted since the last revocation. Thread-safe. */
int64_t modq_consume_confirmed_until(modq_consume *c);
/* How many revocations this consumer has seen. Read while it holds a partition, it names that
 * holding: a different value later means the partition was revoked meanwhile, even if it came
 * back. Thread-safe. */
uint64_t modq_consume_tenure(modq_consume *c);
/* session.timeout.ms - heartbeat.interval.ms, as this consumer was configured. */
int64_t modq_consume_mandate_ms(const modq_consume *c);
/* Whether an assigned partition has a point a confirmation can commit. Thread-safe. */
bool modq_consume_confirmable(modq_consume *c);

/* Shutdown step one: pauses every assigned partition (and any assigned later) so that nothing new
 * arrives while what is in flight finishes. Keep polling (rebalances, commits) meanwhile. */
modq_consume_result modq_consume_stop_fetching(modq_consume *c);

/*
 * Clean exit: a synchronous commit, then rd_kafka_consumer_close (which revokes every partition:
 * committed again if changed, reported to on_revoked). Poll thread. Unless it was closed already
 * (MODQ_CONSUME_ERR_CLOSED), the consumer is closed whatever the result: MODQ_CONSUME_ERR_MOVED_ON
 * when the final commit or the close was refused only because the group moved on without this
 * member, MODQ_CONSUME_ERR_KAFKA for any other failure (errstr says which).
 */
modq_consume_result modq_consume_close(modq_consume *c, char *errstr, size_t errstr_size);
/* As modq_consume_close, spending at most about wait_ms (plus the close itself, which then has
 * nothing left to revoke) on the first join and on leaving the partitions; see consume.c for the
 * librdkafka faults this avoids. modq_consume_close waits MODQ_CONSUME_CLOSE_WAIT_MS. */
modq_consume_result modq_consume_close_within(modq_consume *c, int64_t wait_ms, char *errstr,
                                              size_t errstr_size);
#define MODQ_CONSUME_CLOSE_WAIT_MS 10000

/*
 * Frees c (NULL is fine). Every message handed out must have been destroyed before. Without a
 * modq_consume_close first, nothing is committed and the group is not left: the handle goes away
 * as in a crash, and the group notices after session.timeout.ms.
 */
void modq_consume_free(modq_consume *c);

/* Figures for metrics; thread-safe. topic_index is the index in the topics given to _new. */
size_t modq_consume_assigned(modq_consume *c);
size_t modq_consume_paused(modq_consume *c); /* assigned partitions currently paused */
size_t modq_consume_held(modq_consume *c);   /* messages kept back, not handed out yet */
size_t modq_consume_in_flight(modq_consume *c, size_t topic_index);
uint64_t modq_consume_skipped(modq_consume *c);          /* delivered but already done */
uint64_t modq_consume_late_completions(modq_consume *c); /* completes ignored */
/* Messages delivered twice (in flight already) or out of order behind a held one: dropped, and in
 * the latter case the partition is rewound to them, so they come back. Expected to stay 0. */
uint64_t modq_consume_strays(modq_consume *c);
uint64_t modq_consume_problems(modq_consume *c, modq_consume_problem kind);
/* Messages of topic_index not yet completed: log end (last fetched high watermark) minus the
 * commit point, summed over assigned partitions; -1 when not known yet. No network round trip. */
int64_t modq_consume_lag(modq_consume *c, size_t topic_index);

#endif
