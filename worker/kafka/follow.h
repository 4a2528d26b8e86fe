/*
 * follow.h: reading a whole topic and then following it (private to worker/). The worker uses
 * it twice: the decisions topic, from the decided retention on, fills the decided set (so a
 * redelivered or re-flagged ticket is recognised after a restart, and a ticket decided by
 * another worker leaves this one's desk), and the compacted ledgers topic, from the beginning,
 * restores each associate's exposure ledger (so caps survive restarts and moving between pods).
 *
 * A follower is a plain librdkafka consumer with no group: it assigns itself every partition of
 * the topic (and those added later, checked every MODQ_FOLLOW_METADATA_MS), starting each at the
 * first offset whose timestamp is >= start_ms (rd_kafka_offsets_for_times; start_ms 0 = the
 * beginning), and never commits. It runs its own thread, which calls on_message for each record
 * in partition order. "Caught up" is reached when every partition has been read up to the high
 * watermark it had when the follower started (an empty or missing topic is caught up at once);
 * the worker waits for that before it consumes tickets, so nothing is shown that the topic says
 * was already decided.
 *
 * Threads: new/free on one thread; caught_up and wait from any; on_message runs on the
 * follower's thread and must be thread-safe with respect to the rest of the worker.
 */
#ifndef MODQ_WORKER_FOLLOW_H
#define MODQ_WORKER_FOLLOW_H

#include "config/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum modq_follow_result {
    MODQ_FOLLOW_OK = 0,
    MODQ_FOLLOW_ERR_INVALID_ARG,
    MODQ_FOLLOW_ERR_NOMEM,
    MODQ_FOLLOW_ERR_KAFKA,   /* the consumer could not be made or the topic not listed */
    MODQ_FOLLOW_ERR_TIMEOUT, /* not caught up in time */
    MODQ_FOLLOW_RESULT_COUNT
} modq_follow_result;

const char *modq_follow_strerror(modq_follow_result r);

#define MODQ_FOLLOW_METADATA_MS 10000
/* Caps: partitions followed (a topic with more is refused at start, partitions added beyond the
 * cap later are not followed), extra property pairs. */
#define MODQ_FOLLOW_MAX_PARTITIONS 4096
#define MODQ_FOLLOW_MAX_EXTRA      64
/* Bound on each blocking request the follower makes (metadata, watermarks, offsets by time). */
#define MODQ_FOLLOW_CALL_MS 5000

/* One record, borrowed for the call: key and value may be NULL (a tombstone has a NULL value). */
typedef struct modq_follow_record {
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    int64_t timestamp_ms; /* -1 when the record has none */
    const void *msg;      /* the client's record, for modq_follow_header */
} modq_follow_record;
typedef void (*modq_follow_fn)(void *arg, const modq_follow_record *rec);
/* librdkafka log lines (may be NULL: they are dropped). Any librdkafka thread. */
typedef void (*modq_follow_log_fn)(void *arg, int level, const char *facility, const char *line);

typedef struct modq_follow_opts {
    const char *topic;         /* required */
    int64_t start_ms;          /* 0: from the beginning */
    modq_follow_fn on_message; /* required */
    modq_follow_log_fn on_log;
    void *arg;
    const char *const *extra; /* NAME, VALUE pairs for the consumer (tests) */
    size_t nextra;
    int metadata_ms; /* 0: MODQ_FOLLOW_METADATA_MS; tests shorten it (at most one hour) */
} modq_follow_opts;

typedef struct modq_follow modq_follow;

/*
 * Starts following opts->topic with cfg's kafka properties (all of them; the group properties are
 * not used). cfg and opts are read, not kept (strings copied). On OK *out is owned by the caller
 * (modq_follow_free); errstr says why not.
 */
modq_follow_result modq_follow_new(const modq_config *cfg, const modq_follow_opts *opts,
                                   modq_follow **out, char *errstr, size_t errstr_size);
/* Waits up to timeout_ms (>= 0) for the follower to have caught up: OK, or ERR_TIMEOUT. */
modq_follow_result modq_follow_wait(modq_follow *f, int timeout_ms);
bool modq_follow_caught_up(const modq_follow *f);
/* The last header name of rec, copied into out (size bytes, NUL-terminated). false when rec has
 * no such header, or its value holds a NUL or does not fit. */
bool modq_follow_header(const modq_follow_record *rec, const char *name, char *out, size_t size);
/* Records delivered to on_message so far. */
uint64_t modq_follow_count(const modq_follow *f);
/* Stops the thread, closes the consumer and frees (NULL is fine). Returns within about
 * MODQ_FOLLOW_CALL_MS even in the middle of a backlog (the thread checks between records). */
void modq_follow_free(modq_follow *f);

#endif
