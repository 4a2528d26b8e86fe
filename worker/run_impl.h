/* run_impl.h: what run.c and run_review.c share (private to worker/run*.c). */
#ifndef MODQ_WORKER_RUN_IMPL_H
#define MODQ_WORKER_RUN_IMPL_H

#include "consume.h"
#include "decided.h"
#include "fetch.h"
#include "log.h"
#include "pool.h"
#include "prepare.h"
#include "publish.h"
#include "run.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODQ_RUN_TOPIC_MAX 256 /* bytes of a topic name, incl. NUL (Kafka allows 249) */

/* One prepared ticket waiting for a person. Owns p. */
typedef struct modq_run_review_item {
    struct modq_run_review_item *next;
    modq_prepared *p;
    char topic[MODQ_RUN_TOPIC_MAX];
    int32_t partition;
    int64_t offset;
} modq_run_review_item;

/* The review store: one list per policy queue, at most cap items in all, under one mutex. */
typedef struct modq_run_review {
    pthread_mutex_t lock;
    modq_run_review_item **heads; /* nqueues lists, newest first */
    size_t nqueues;
    size_t count;
    size_t cap;
} modq_run_review;

/* Sets up s for nqueues queues and cap items. 0, or -1 when out of memory. */
int modq_run_review_init(modq_run_review *s, size_t nqueues, size_t cap);
/* Frees every item held, then the store's own memory. */
void modq_run_review_fini(modq_run_review *s);
/* Takes p (REVIEW, queue_index in range) from (topic, partition, offset). 0 when stored (the store
 * owns p); -1 when full, out of memory or the queue is out of range (the caller still owns p). */
int modq_run_review_add(modq_run_review *s, modq_prepared *p, const char *topic, int32_t partition,
                        int64_t offset);
/* Drops (frees) every item of (topic, partition); returns how many. */
size_t modq_run_review_drop_partition(modq_run_review *s, const char *topic, int32_t partition);
size_t modq_run_review_size(modq_run_review *s);

/* The worker (run.h). Shared by run.c (the loop) and run_new.c (making and freeing it). */
struct modq_run {
    const modq_config *cfg;    /* borrowed */
    const modq_policy *policy; /* borrowed */
    modq_log *log;
    modq_media_opts *media_opts;
    modq_banks *banks;
    modq_decided *decided;
    pthread_mutex_t decided_lock;
    bool decided_lock_init;
    modq_fetch *fetch; /* NULL: URI media dead-letters */
    modq_prepare_ctx ctx;
    modq_run_review review;
    bool review_init;
    modq_pool *pool;
    bool pool_stopped;
    modq_consume *consume;
    modq_publish *publish;
    const char **topics; /* ntopics, strings owned by the policy */
    size_t ntopics;
    rd_kafka_message_t **held; /* refused by the pool, in arrival order; cap_held slots */
    size_t nheld;
    size_t cap_held;
    modq_run_clock clock;
    void *clock_arg;
    int64_t last_commit_ms;
    volatile sig_atomic_t stop;
    bool drained;
    _Atomic uint64_t n_received, n_review, n_auto_decided, n_duplicate, n_dead_letter, n_confirmed,
        n_prepare_failed, n_publish_failed, n_review_dropped, n_decided_evicted;
};

#define MODQ_RUN_ERRSTR_SIZE 512

/* Monotonic milliseconds: the default clock. */
int64_t modq_run_mono_ms(void *arg);
/* One log line about the ticket message at (topic, partition, offset); error may be NULL. */
void modq_run_log_msg(modq_run *r, modq_log_level level, const char *msg, const char *topic,
                      int32_t partition, int64_t offset, const char *error);
/* The pool's job function (job: an rd_kafka_message_t, owned), and its drop function. */
void modq_run_job(void *job, void *arg);
void modq_run_drop_job(void *job, void *arg);
/* The publisher's confirmation callback (poll thread); frees the cookie. */
void modq_run_delivered(void *arg, void *ck, int ok, const char *error);

#endif
