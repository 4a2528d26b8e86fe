/*
 * test_worker_consume.c: worker/kafka/consume.c against librdkafka's mock cluster
 * (worker/dev/mock.c): out-of-order completion survives a clean restart and a crash, the per-queue
 * window pauses and resumes, completions may come from other threads, and the worker owns its key
 * settings. Rebalances and commit metadata are in test_worker_consume_commit.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "kafka/consume.h"
#include "dev/mock.h"
#include "kafka/offsets.h"

#include "consume_testutil.h"

static void test_clean_restart_delivers_exactly_the_uncompleted(void **state)
{
    (void)state;
    static int completed[NPART][MAXOFF];
    static sink a, b;
    memset(completed, 0, sizeof completed);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.completed = b.completed = completed;
    modq_mock *m = start("q1");
    modq_config *cfg = config(m, "g1", 128);
    produce(m, "q1", 500, -1);
    uint32_t seed = 7;

    modq_consume *c = consumer(cfg, "q1", &a);
    int64_t end = now_ms() + WAIT_MS;
    while (count((const int(*)[MAXOFF])a.delivered) < 500 && now_ms() < end) {
        poll_once(&a, 100);
        if (a.n >= 40) {
            complete_shuffled(&a, &seed, hold_back);
        }
    }
    complete_shuffled(&a, &seed, hold_back);
    assert_int_equal(count((const int(*)[MAXOFF])a.delivered), 500);
    int held = (int)a.n;
    assert_true(held > 20);
    for (size_t i = 0; i < a.n; i++) {
        assert_true(hold_back(a.msgs[i]->partition, a.msgs[i]->offset));
    }
    commit_sync(c);
    close_free(c); /* revokes: the held messages are voided through on_revoked */
    assert_int_equal(a.n, 0);

    c = consumer(cfg, "q1", &b);
    poll_until_delivered(&b, held, 1500);
    for (int p = 0; p < NPART; p++) {
        for (int o = 0; o < 125; o++) {
            assert_int_equal(b.delivered[p][o], hold_back(p, o) ? 1 : 0);
        }
    }
    assert_true(modq_consume_skipped(c) > 0); /* completed offsets above the watermark */
    complete_shuffled(&b, &seed, NULL);
    close_free(c);
    modq_config_free(cfg);
    modq_mock_free(m);
}

static void test_crash_loses_nothing_and_repeats_nothing_committed(void **state)
{
    (void)state;
    static int completed[NPART][MAXOFF], committed[NPART][MAXOFF];
    static sink a, b;
    memset(completed, 0, sizeof completed);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.completed = completed;
    modq_mock *m = start("q2");
    modq_config *cfg = config(m, "g2", 256);
    produce(m, "q2", 200, -1);
    uint32_t seed = 11;

    modq_consume *c = consumer(cfg, "q2", &a);
    poll_until_delivered(&a, 200, 0);
    /* Two thirds completed and committed, then a few more completed and never committed. */
    for (size_t left = a.n * 2 / 3; left > 0; left--) {
        complete_at(&a, rnd(&seed) % a.n);
    }
    commit_sync(c);
    memcpy(committed, completed, sizeof committed);
    for (size_t left = 10; left > 0; left--) {
        complete_at(&a, rnd(&seed) % a.n);
    }
    drop_all(&a);
    modq_consume_free(c); /* no close, no commit: a crash */

    /* The restart must redeliver whatever was not committed, completed or not. */
    static int after[NPART][MAXOFF];
    memset(after, 0, sizeof after);
    b.completed = after;
    c = consumer(cfg, "q2", &b);
    int want = 200 - count((const int(*)[MAXOFF])committed);
    int64_t end = now_ms() + WAIT_MS;
    while (count((const int(*)[MAXOFF])b.delivered) < want && now_ms() < end) {
        poll_once(&b, 100);
    }
    for (int64_t q = now_ms() + 1500; now_ms() < q;) {
        poll_once(&b, 100);
    }
    for (int p = 0; p < NPART; p++) {
        for (int o = 0; o < 50; o++) {
            assert_int_equal(b.delivered[p][o], committed[p][o] ? 0 : 1);
        }
    }
    complete_shuffled(&b, &seed, NULL);
    close_free(c);
    modq_config_free(cfg);
    modq_mock_free(m);
}

static void test_window_pauses_the_queue_and_resumes_after_completions(void **state)
{
    (void)state;
    static int completed[NPART][MAXOFF];
    static sink a;
    memset(completed, 0, sizeof completed);
    memset(&a, 0, sizeof a);
    a.completed = completed;
    modq_mock *m = start("q3");
    modq_config *cfg = config(m, "g3", 8);
    produce(m, "q3", 60, -1);
    uint32_t seed = 3;
    int pauses = 0;

    modq_consume *c = consumer(cfg, "q3", &a);
    int64_t end = now_ms() + WAIT_MS;
    while (count((const int(*)[MAXOFF])completed) < 60 && now_ms() < end) {
        poll_once(&a, 100);
        assert_true(modq_consume_in_flight(c, 0) <= 8);
        assert_true(a.n <= 8);
        assert_int_equal(modq_consume_in_flight(c, 0), a.n);
        if (a.n == 8) {
            /* Full: every partition paused, and nothing more arrives however long we poll. */
            for (int64_t q = now_ms() + 300; now_ms() < q;) {
                poll_once(&a, 100);
            }
            assert_int_equal(a.n, 8);
            assert_int_equal(modq_consume_paused(c), modq_consume_assigned(c));
            /* Paused in Kafka, not only here: nothing arrived that had to be kept back. */
            assert_int_equal(modq_consume_held(c), 0);
            pauses++;
            for (int k = 0; k < 3; k++) {
                complete_at(&a, rnd(&seed) % a.n);
            }
        } else if (count((const int(*)[MAXOFF])a.delivered) == 60) {
            complete_shuffled(&a, &seed, NULL);
        }
    }
    assert_int_equal(count((const int(*)[MAXOFF])completed), 60);
    assert_int_equal(count((const int(*)[MAXOFF])a.delivered), 60);
    assert_int_equal(a.max_n, 8);
    assert_true(pauses >= 5);
    assert_int_equal(modq_consume_strays(c), 0);
    assert_int_equal(modq_consume_late_completions(c), 0);
    close_free(c);
    modq_config_free(cfg);
    modq_mock_free(m);
}

/* Reviewers on another thread: the poll hands messages over, they complete them. */
typedef struct reviewers {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    modq_consume *c;
    rd_kafka_message_t *q[SINKMAX];
    size_t n;
    int stop, completed, errors;
    int delivered[NPART][MAXOFF];
} reviewers;

static void hand_to_reviewers(void *arg, rd_kafka_message_t *msg)
{
    reviewers *r = arg;
    pthread_mutex_lock(&r->lock);
    if (r->n < SINKMAX && msg->partition >= 0 && msg->partition < NPART && msg->offset >= 0 &&
        msg->offset < MAXOFF) {
        r->delivered[msg->partition][msg->offset]++;
        r->q[r->n++] = msg;
    } else {
        r->errors++;
        rd_kafka_message_destroy(msg);
    }
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void *review(void *arg)
{
    reviewers *r = arg;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (r->n == 0 && !r->stop) {
            pthread_cond_wait(&r->cond, &r->lock);
        }
        if (r->n == 0) {
            break;
        }
        rd_kafka_message_t *m = r->q[--r->n];
        pthread_mutex_unlock(&r->lock);
        struct timespec pause = {0, 2 * 1000 * 1000};
        nanosleep(&pause, NULL);
        modq_consume_result res =
            modq_consume_complete(r->c, rd_kafka_topic_name(m->rkt), m->partition, m->offset);
        rd_kafka_message_destroy(m);
        pthread_mutex_lock(&r->lock);
        r->completed++;
        r->errors += res != MODQ_CONSUME_OK;
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static void test_completions_from_another_thread_drain_the_window(void **state)
{
    (void)state;
    static reviewers r;
    memset(&r, 0, sizeof r);
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.cond, NULL);
    modq_mock *m = start("q8");
    modq_config *cfg = config(m, "g8", 8);
    produce(m, "q8", 100, -1);
    const char *topics[] = {"q8"};
    char err[512] = "";
    assert_int_equal(modq_consume_new(cfg, topics, 1, extra, NEXTRA, NULL, &r.c, err, sizeof err),
                     MODQ_CONSUME_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, review, &r), 0);

    int done = 0;
    for (int64_t end = now_ms() + WAIT_MS; done < 100 && now_ms() < end;) {
        modq_consume_result res =
            modq_consume_poll(r.c, 100, hand_to_reviewers, &r, err, sizeof err);
        /* One consumer, its topic made before it joined, the cluster never touched: no broker
         * error has a cause here. */
        if (res != MODQ_CONSUME_OK) {
            print_error("poll: %s\n", err);
        }
        assert_int_equal(res, MODQ_CONSUME_OK);
        assert_true(modq_consume_in_flight(r.c, 0) <= 8);
        pthread_mutex_lock(&r.lock);
        done = r.completed;
        pthread_mutex_unlock(&r.lock);
    }
    pthread_mutex_lock(&r.lock);
    r.stop = 1;
    pthread_cond_signal(&r.cond);
    pthread_mutex_unlock(&r.lock);
    pthread_join(t, NULL);
    assert_int_equal(done, 100);
    assert_int_equal(r.errors, 0);
    for (int p = 0; p < NPART; p++) {
        for (int o = 0; o < 25; o++) {
            assert_int_equal(r.delivered[p][o], 1);
        }
    }
    assert_int_equal(modq_consume_in_flight(r.c, 0), 0);
    assert_int_equal(modq_consume_late_completions(r.c), 0);
    char cerr[512] = "";
    assert_int_equal(modq_consume_close(r.c, cerr, sizeof cerr), MODQ_CONSUME_OK);
    modq_consume_free(r.c);
    pthread_cond_destroy(&r.cond);
    pthread_mutex_destroy(&r.lock);
    modq_config_free(cfg);
    modq_mock_free(m);
}

static void test_new_refuses_properties_the_worker_owns(void **state)
{
    (void)state;
    modq_mock *m = start("q6");
    modq_config *cfg = config(m, "g6", 8);
    const char *topics[] = {"q6"};
    static const char *const bad[][2] = {{"enable.auto.commit", "true"},
                                         {"enable.auto.offset.store", "true"},
                                         {"partition.assignment.strategy", "range"},
                                         {"group.id", "other"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        modq_consume *c = (modq_consume *)&i;
        char err[512] = "";
        assert_int_equal(modq_consume_new(cfg, topics, 1, bad[i], 1, NULL, &c, err, sizeof err),
                         MODQ_CONSUME_ERR_CONFIG);
        assert_null(c);
        assert_non_null(strstr(err, bad[i][0]));
    }
    const char *twice[] = {"q6", "q6"};
    modq_consume *c = NULL;
    char err[512] = "";
    assert_int_equal(modq_consume_new(cfg, twice, 2, NULL, 0, NULL, &c, err, sizeof err),
                     MODQ_CONSUME_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "given twice"));
    modq_config_free(cfg);
    modq_mock_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_refuses_properties_the_worker_owns),
        cmocka_unit_test(test_window_pauses_the_queue_and_resumes_after_completions),
        cmocka_unit_test(test_completions_from_another_thread_drain_the_window),
        cmocka_unit_test(test_clean_restart_delivers_exactly_the_uncompleted),
        cmocka_unit_test(test_crash_loses_nothing_and_repeats_nothing_committed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
