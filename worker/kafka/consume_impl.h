/*
 * consume_impl.h: the consumer's state, shared by consume.c (polling, pausing, life cycle) and
 * consume_rebalance.c (commits and rebalances). Private to those two files.
 */
#ifndef MODQ_WORKER_CONSUME_IMPL_H
#define MODQ_WORKER_CONSUME_IMPL_H

#include "consume.h"
#include "offsets.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct topic {
    char *name;
    size_t in_flight; /* handed out, not completed, of its assigned partitions */
    bool full;        /* window hysteresis: set at the window, cleared at the low mark */
} topic;

typedef struct part {
    size_t ti;
    int32_t partition;
    modq_offsets *tracker;    /* NULL when it could not be made: the partition stays paused */
    rd_kafka_message_t *held; /* returned by librdkafka, not tracked yet */
    int paused;               /* as last told to librdkafka; -1 unknown */
    bool last_valid;          /* last_* is what the broker has (or was last sent) */
    int64_t last_offset;
    uint64_t last_hash;
} part;

struct modq_consume {
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue; /* the consumer queue, to wake a poll */
    pthread_mutex_t lock;
    topic *topics;
    size_t ntopics;
    part **parts;
    atomic_size_t nassigned; /* = nparts, for modq_consume_assigned without the lock */
    size_t nparts, parts_cap;
    size_t window, low;
    size_t metadata_cap;
    modq_consume_callbacks cb;
    bool stopped, closed;
    atomic_bool joined; /* a rebalance assigned (possibly nothing): the group state exists */
    /* The membership probe (consume_confirm.c) and the join state (consume_rebalance.c). The
     * atomics are read by any thread; the rest belongs to the poll thread. */
    _Atomic int64_t confirmed_until; /* monotonic ms, valid while confirmed_epoch == epoch */
    _Atomic uint64_t confirmed_epoch;
    int64_t mandate_ms; /* session.timeout.ms - heartbeat.interval.ms */
    int64_t probe_sent_ms;
    uint64_t probe_epoch;
    _Atomic uint64_t epoch; /* revocations so far (consume_rebalance.c): older probes are void */
    bool probe_in_flight;
    atomic_bool joining;          /* the statistics' join state is not "steady" */
    _Atomic int64_t join_seen_ms; /* monotonic: when the statistics said so */
    size_t npaused;
    uint64_t skipped, late, strays;
    uint64_t problems[MODQ_CONSUME_PROBLEM_COUNT];
};

void consume_report_problem(modq_consume *c, modq_consume_problem kind, const char *topic_name,
                            int32_t partition, const char *text);
long consume_topic_find(const modq_consume *c, const char *name);
long consume_part_find(const modq_consume *c, const char *topic_name, int32_t partition);
void consume_part_free(part *p);
void consume_reconcile(modq_consume *c);
/* Whether a commit's (or the close's) error says the group moved on without this member: the
 * coordinator no longer knows its generation or member id, is rebalancing, or fenced it (another
 * process has its group.instance.id), or librdkafka knows the assignment is lost. */
bool consume_moved_on(rd_kafka_resp_err_t err);
rd_kafka_topic_partition_list_t *consume_commit_list(modq_consume *c, part *const *parts, size_t n,
                                                     char *bufs, bool force);
void consume_commit_list_destroy(rd_kafka_topic_partition_list_t *l);
/* An answer to a commit, served by a later poll (rd_kafka_commit_queue's callback). */
typedef void (*consume_commit_reply)(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                     rd_kafka_topic_partition_list_t *offsets, void *opaque);
/* Commits every assigned partition's point (only changed ones unless force): synchronously when
 * sync, else asynchronously to consume_commit_cb, or with reply to reply(c) on the consumer's
 * queue. *sent (may be NULL) says whether a commit went out. Errors as modq_consume_commit. */
modq_consume_result consume_commit_send(modq_consume *c, bool force, bool sync,
                                        consume_commit_reply reply, bool *sent, char *errstr,
                                        size_t errstr_size);
void consume_invalidate(modq_consume *c, const rd_kafka_topic_partition_list_t *l, bool all);
/* librdkafka's statistics callback (role desk): the group join state for consume_joining. */
int consume_stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque);
/* Whether the group is rebalancing with this member's JoinGroup pending, as the statistics of
 * the last second say (false without them): commits wait (consume_rebalance.c). */
bool consume_joining(modq_consume *c);
modq_consume_result consume_mandate_read(modq_consume *c, char *errstr, size_t errstr_size);
void consume_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t *offsets, void *opaque);
void consume_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t *partitions, void *opaque);

#endif
