/*
 * pool.h: the preparation thread pool (private). Ticket preparation (decode, fetch, hashing,
 * renditions) takes tens of milliseconds and must never run in the Kafka poll loop, so jobs go
 * through a bounded queue to a few threads. The queue is bounded on purpose: when it is full
 * the caller keeps the message and pauses its partition, and Kafka holds the backlog.
 */
#ifndef MODQ_WORKER_POOL_H
#define MODQ_WORKER_POOL_H

#include <stddef.h>
#include <stdint.h>

#define MODQ_POOL_MAX_THREADS 64
#define MODQ_POOL_MAX_QUEUE   65536

typedef struct modq_pool modq_pool;

/* Runs one job on a pool thread; owns job from then on. */
typedef void (*modq_pool_run_fn)(void *job, void *arg);
/* Hands back a job that will not run (the pool is stopping); owns job from then on. */
typedef void (*modq_pool_drop_fn)(void *job, void *arg);

/*
 * Starts threads (1..MODQ_POOL_MAX_THREADS) that run jobs with run(job, arg), holding at most
 * max_queued (1..MODQ_POOL_MAX_QUEUE) jobs waiting. Caller owns the pool (modq_pool_stop, then
 * modq_pool_free). NULL on bad arguments, or when its lock or threads cannot be made.
 */
modq_pool *modq_pool_new(int threads, size_t max_queued, modq_pool_run_fn run, void *arg);

/*
 * Queues job. Returns 0 when the pool took it (it will be run or dropped, never lost), or -1
 * when the queue is full or the pool is stopping: the caller still owns job and retries later.
 */
int modq_pool_submit(modq_pool *p, void *job);

/* Jobs waiting, and jobs running right now. */
size_t modq_pool_queued(modq_pool *p);
size_t modq_pool_running(modq_pool *p);

/*
 * Stops taking jobs and lets queued ones run until timeout_ms has passed; the jobs still queued
 * then are handed to drop(job, arg) instead of being run. Jobs already running are waited for
 * (a decode cannot be interrupted; each is bounded by the media limits). Returns the number of
 * jobs dropped. Call once.
 */
size_t modq_pool_stop(modq_pool *p, int64_t timeout_ms, modq_pool_drop_fn drop, void *arg);

/* Frees a stopped pool (NULL is fine). */
void modq_pool_free(modq_pool *p);

#endif
