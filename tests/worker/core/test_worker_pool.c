/*
 * test_worker_pool.c: the preparation thread pool (worker/core/pool.c): every job runs exactly once
 * across threads, a full queue refuses (backpressure) without losing the job, and stopping runs
 * what fits in the grace period and hands back the rest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 2000

typedef struct counts {
    atomic_int ran[N];
    atomic_int dropped[N];
    /* A gate that holds running jobs until opened. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int open;
    atomic_int started;
} counts;

static void run_job(void *job, void *arg)
{
    counts *c = arg;
    int i = (int)(intptr_t)job;

    atomic_fetch_add(&c->started, 1);
    pthread_mutex_lock(&c->lock);
    while (!c->open) {
        pthread_cond_wait(&c->cond, &c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    atomic_fetch_add(&c->ran[i], 1);
}

static void drop_job(void *job, void *arg)
{
    counts *c = arg;
    atomic_fetch_add(&c->dropped[(int)(intptr_t)job], 1);
}

static counts *new_counts(int open)
{
    counts *c = calloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    c->open = open;
    return c;
}

static void open_gate(counts *c)
{
    pthread_mutex_lock(&c->lock);
    c->open = 1;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static void free_counts(counts *c)
{
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_pool_runs_every_job_exactly_once(void **state)
{
    counts *c = new_counts(1);
    modq_pool *p = modq_pool_new(4, 64, run_job, c);
    int i = 0;

    (void)state;
    assert_non_null(p);
    while (i < N) {
        if (modq_pool_submit(p, (void *)(intptr_t)i) == 0) {
            i++;
        } else {
            sleep_ms(1); /* full: the caller keeps the job and retries */
        }
    }
    assert_int_equal(modq_pool_stop(p, 10000, drop_job, c), 0);
    for (i = 0; i < N; i++) {
        assert_int_equal(atomic_load(&c->ran[i]), 1);
        assert_int_equal(atomic_load(&c->dropped[i]), 0);
    }
    modq_pool_free(p);
    free_counts(c);
}

static void test_pool_full_queue_refuses_without_taking_the_job(void **state)
{
    counts *c = new_counts(0);
    modq_pool *p = modq_pool_new(2, 3, run_job, c);
    int accepted = 0;

    (void)state;
    /* Two jobs block the two threads, three fill the queue; the sixth is refused. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(modq_pool_submit(p, (void *)(intptr_t)i), 0);
    }
    while (atomic_load(&c->started) < 2) {
        sleep_ms(1);
    }
    for (int i = 2; i < 6; i++) {
        accepted += modq_pool_submit(p, (void *)(intptr_t)i) == 0;
    }
    assert_int_equal(accepted, 3);
    assert_int_equal(modq_pool_queued(p), 3);
    assert_int_equal(modq_pool_running(p), 2);
    open_gate(c);
    assert_int_equal(modq_pool_stop(p, 10000, drop_job, c), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(atomic_load(&c->ran[i]), 1);
    }
    assert_int_equal(atomic_load(&c->ran[5]), 0);
    modq_pool_free(p);
    free_counts(c);
}

typedef struct opener {
    counts *c;
    int after_ms;
} opener;

static void *open_later(void *arg)
{
    opener *o = arg;
    sleep_ms(o->after_ms);
    open_gate(o->c);
    return NULL;
}

/* Stopping: jobs still queued when the grace period ends are handed back; none is lost, none
 * runs twice, and running jobs are waited for. */
static void test_pool_stop_hands_back_what_did_not_run(void **state)
{
    counts *c = new_counts(0);
    modq_pool *p = modq_pool_new(2, 16, run_job, c);
    pthread_t th;
    opener o = {c, 400};
    size_t dropped;
    int ran = 0, back = 0;

    (void)state;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(modq_pool_submit(p, (void *)(intptr_t)i), 0);
    }
    while (atomic_load(&c->started) < 2) {
        sleep_ms(1);
    }
    pthread_create(&th, NULL, open_later, &o);
    dropped = modq_pool_stop(p, 100, drop_job, c);
    pthread_join(th, NULL);
    assert_int_equal(dropped, 8); /* the gate opened only after the grace period */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(atomic_load(&c->ran[i]) + atomic_load(&c->dropped[i]), 1);
        ran += atomic_load(&c->ran[i]);
        back += atomic_load(&c->dropped[i]);
    }
    assert_int_equal(ran, 2);
    assert_int_equal(back, 8);
    assert_int_equal(modq_pool_submit(p, (void *)(intptr_t)0), -1);
    modq_pool_free(p);
    free_counts(c);
}

static void test_pool_rejects_bad_arguments(void **state)
{
    counts *c = new_counts(1);

    (void)state;
    assert_null(modq_pool_new(0, 4, run_job, c));
    assert_null(modq_pool_new(MODQ_POOL_MAX_THREADS + 1, 4, run_job, c));
    assert_null(modq_pool_new(2, 0, run_job, c));
    assert_null(modq_pool_new(2, 4, NULL, c));
    assert_int_equal(modq_pool_submit(NULL, c), -1);
    free_counts(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_runs_every_job_exactly_once),
        cmocka_unit_test(test_pool_full_queue_refuses_without_taking_the_job),
        cmocka_unit_test(test_pool_stop_hands_back_what_did_not_run),
        cmocka_unit_test(test_pool_rejects_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
