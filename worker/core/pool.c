/*
 * pool.c: a fixed set of threads over a bounded ring of jobs. One mutex guards the ring and the
 * counters; "work" wakes threads, "idle" wakes a stopping caller when the ring and the threads
 * are empty. Timed waits use CLOCK_MONOTONIC so that a clock change cannot stretch a shutdown.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct modq_pool {
    pthread_mutex_t lock;
    pthread_cond_t work, idle;
    void **ring;
    size_t cap, head, count, running;
    bool stopping, draining_done;
    modq_pool_run_fn run;
    void *arg;
    pthread_t threads[MODQ_POOL_MAX_THREADS];
    int nthreads;
};

static void *worker_main(void *opaque)
{
    modq_pool *p = opaque;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        void *job;
        while (p->count == 0 && !p->stopping) {
            pthread_cond_wait(&p->work, &p->lock);
        }
        if (p->count == 0 || p->draining_done) {
            break;
        }
        job = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->count--;
        p->running++;
        pthread_mutex_unlock(&p->lock);
        p->run(job, p->arg);
        pthread_mutex_lock(&p->lock);
        p->running--;
        if (p->count == 0 && p->running == 0) {
            pthread_cond_broadcast(&p->idle);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* The lock and the two conditions, "idle" timed on CLOCK_MONOTONIC. false, with none of them
 * left made, when one cannot be made. */
static bool init_sync(modq_pool *p)
{
    pthread_condattr_t ca;
    bool ok = false;

    if (pthread_condattr_init(&ca) != 0) {
        return false;
    }
    if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_mutex_init(&p->lock, NULL) != 0) {
        goto out;
    }
    if (pthread_cond_init(&p->work, NULL) != 0) {
        pthread_mutex_destroy(&p->lock);
        goto out;
    }
    if (pthread_cond_init(&p->idle, &ca) != 0) {
        pthread_cond_destroy(&p->work);
        pthread_mutex_destroy(&p->lock);
        goto out;
    }
    ok = true;
out:
    pthread_condattr_destroy(&ca);
    return ok;
}

modq_pool *modq_pool_new(int threads, size_t max_queued, modq_pool_run_fn run, void *arg)
{
    modq_pool *p;

    if (threads < 1 || threads > MODQ_POOL_MAX_THREADS || max_queued < 1 ||
        max_queued > MODQ_POOL_MAX_QUEUE || !run || !(p = calloc(1, sizeof(*p)))) {
        return NULL;
    }
    if (!(p->ring = calloc(max_queued, sizeof(*p->ring))) || !init_sync(p)) {
        free(p->ring);
        free(p);
        return NULL;
    }
    p->cap = max_queued;
    p->run = run;
    p->arg = arg;
    for (; p->nthreads < threads; p->nthreads++) {
        if (pthread_create(&p->threads[p->nthreads], NULL, worker_main, p) != 0) {
            modq_pool_stop(p, 0, NULL, NULL);
            modq_pool_free(p);
            return NULL;
        }
    }
    return p;
}

int modq_pool_submit(modq_pool *p, void *job)
{
    int rc = -1;

    if (!p) {
        return -1;
    }
    pthread_mutex_lock(&p->lock);
    if (!p->stopping && p->count < p->cap) {
        p->ring[(p->head + p->count) % p->cap] = job;
        p->count++;
        pthread_cond_signal(&p->work);
        rc = 0;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

size_t modq_pool_queued(modq_pool *p)
{
    size_t n;
    pthread_mutex_lock(&p->lock);
    n = p->count;
    pthread_mutex_unlock(&p->lock);
    return n;
}

size_t modq_pool_running(modq_pool *p)
{
    size_t n;
    pthread_mutex_lock(&p->lock);
    n = p->running;
    pthread_mutex_unlock(&p->lock);
    return n;
}

size_t modq_pool_stop(modq_pool *p, int64_t timeout_ms, modq_pool_drop_fn drop, void *arg)
{
    struct timespec deadline;
    size_t dropped = 0;

    if (!p) {
        return 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)(timeout_ms / 1000);
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->work);
    while (p->count > 0 && pthread_cond_timedwait(&p->idle, &p->lock, &deadline) != ETIMEDOUT)
        ;
    /* Whatever still waits is handed back, not run: the threads stop taking jobs. */
    p->draining_done = true;
    while (p->count > 0) {
        void *job = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->count--;
        dropped++;
        if (drop) {
            pthread_mutex_unlock(&p->lock);
            drop(job, arg);
            pthread_mutex_lock(&p->lock);
        }
    }
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nthreads; i++) {
        pthread_join(p->threads[i], NULL);
    }
    p->nthreads = 0;
    return dropped;
}

void modq_pool_free(modq_pool *p)
{
    if (!p) {
        return;
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->idle);
    free(p->ring);
    free(p);
}
