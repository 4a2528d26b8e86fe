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
    size_t nparts, parts_cap;
    size_t window, low;
    size_t metadata_cap;
    modq_consume_callbacks cb;
    bool stopped, closed;
    atomic_bool joined; /* a rebalance assigned (possibly nothing): the group state exists */
    /* The membership probe (consume_confirm.c). confirmed_until is read by any thread; the rest
     * belongs to the poll thread. */
    _Atomic int64_t confirmed_until; /* monotonic ms; INT64_MIN: not confirmed */
    int64_t mandate_ms;              /* session.timeout.ms - heartbeat.interval.ms */
    int64_t probe_sent_ms;
    uint64_t probe_epoch, epoch; /* epoch: revocations so far; a probe older than one is void */
    bool probe_in_flight;
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
void consume_invalidate(modq_consume *c, const rd_kafka_topic_partition_list_t *l, bool all);
void consume_unconfirm(modq_consume *c);
modq_consume_result consume_mandate_read(modq_consume *c, char *errstr, size_t errstr_size);
void consume_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t *offsets, void *opaque);
void consume_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t *partitions, void *opaque);

#endif
