/*
 * test_worker_consume_commit.c: worker/kafka/consume_rebalance.c against librdkafka's mock cluster:
 * a rebalance commits and voids what the leaving owner had in flight and returns partitions when it
 * leaves; the committed metadata carries exactly the completed offsets above the low watermark;
 * unreadable metadata is reported and consumption goes on; metadata near its cap pauses the
 * partition until completions shrink it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "kafka/consume.h"
#include "dev/mock.h"
#include "kafka/offsets.h"

#include "consume_testutil.h"

static void poll_both(sink *a, sink *b, int (*pred)(sink *, sink *), int64_t wait_ms)
{
    int64_t end = now_ms() + wait_ms;
    while (!pred(a, b) && now_ms() < end) {
        poll_once(a, 50);
        if (b->c != NULL) {
            poll_once(b, 50);
        }
    }
    assert_true(pred(a, b));
}

static int odd_offset(int32_t p, int64_t o)
{
    (void)p;
    return o % 2 == 1;
}

static int split_assignment(sink *a, sink *b)
{
    return modq_consume_assigned(b->c) > 0 &&
           modq_consume_assigned(a->c) + modq_consume_assigned(b->c) == NPART;
}

static int all_back_to_a(sink *a, sink *b)
{
    (void)b;
    return modq_consume_assigned(a->c) == NPART;
}

static void test_rebalance_commits_voids_and_returns_partitions(void **state)
{
    (void)state;
    static int completed[NPART][MAXOFF];
    static sink a, b;
    int refused = 0;
    memset(completed, 0, sizeof completed);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.completed = b.completed = completed;
    a.refused = b.refused = &refused;
    /* The group rebalances three times or more here (B joins, the SyncGroup race below, B
     * leaves): a group error a consumer meets meanwhile is reported and polling goes on. None
     * was seen in 10 runs; a few are allowed, each shown, and more fail the test. */
    a.kafka_errors_max = b.kafka_errors_max = 3;
    modq_mock *m = start("q4");
    modq_config *cfg = config(m, "g4", 64);
    produce(m, "q4", 40, -1); /* 10 per partition */
    uint32_t seed = 5;

    /* A holds all 40; it completes the even offsets of every partition, out of order, and
     * nothing is committed before B joins but what the revocation commits. */
    modq_consume *ca = consumer(cfg, "q4", &a);
    poll_until_delivered(&a, 40, 0);
    complete_shuffled(&a, &seed, odd_offset);
    assert_int_equal(a.n, 20);
    /* librdkafka 2.0.2's mock coordinator answers a follower's SyncGroup that arrives after the
     * leader's with INVALID_REQUEST, and the follower rejoins: each such round costs a rebalance
     * (about 5 s here), so the split may take several. A broker hands the follower its
     * assignment (README, "the mock cluster"). */
    modq_consume *cb = consumer(cfg, "q4", &b);
    poll_both(&a, &b, split_assignment, 2 * WAIT_MS);
    int revoked = 0;
    for (int p = 0; p < NPART; p++) {
        revoked += a.revoked[p];
        for (size_t i = 0; i < a.n; i++) { /* voided: none of A's held are of revoked partitions */
            assert_true(a.revoked[p] == 0 || a.msgs[i]->partition != p);
        }
    }
    assert_true(revoked > 0);
    assert_int_equal(revoked, (int)modq_consume_assigned(cb));
    /* B gets exactly what A had in flight on the partitions it took: the odd offsets. Unless
     * the group refused the revocation's commit: the mock refuses commits while a rebalance is
     * in progress (REBALANCE_IN_PROGRESS), which the rejoin above causes; then nothing was
     * committed and B gets all ten of each, A's completed ones again (at least once). B's
     * fetches start only after its assignment (slow on a loaded machine): wait for as many as it
     * must get, then a while longer for any it must not. */
    bool again = refused > 0;
    int want = (again ? 10 : 5) * revoked;
    for (int64_t end = now_ms() + WAIT_MS;
         count((const int(*)[MAXOFF])b.delivered) < want && now_ms() < end;) {
        poll_once(&a, 50);
        poll_once(&b, 50);
    }
    for (int64_t q = now_ms() + 1500; now_ms() < q;) {
        poll_once(&a, 50);
        poll_once(&b, 50);
    }
    for (int p = 0; p < NPART; p++) {
        for (int o = 0; o < 10; o++) {
            assert_int_equal(b.delivered[p][o], a.revoked[p] && (o % 2 == 1 || again));
        }
    }
    assert_int_equal(b.again, again ? want / 2 : 0);
    if (again) {
        print_message("the revocation's commit was refused (%d): %d completed tickets came "
                      "again\n",
                      refused, b.again);
    }
    produce(m, "q4", 160, -1);

    /* Both work for a while; then B leaves with some of its reviews unfinished. */
    for (int64_t q = now_ms() + 2000; now_ms() < q;) {
        poll_once(&a, 50);
        poll_once(&b, 50);
        complete_shuffled(&a, &seed, NULL);
        if (b.n > 2) {
            complete_at(&b, 0);
        }
    }
    assert_true(count((const int(*)[MAXOFF])b.delivered) > 0);
    close_free(cb);
    assert_int_equal(b.n, 0);
    b.c = NULL;
    poll_both(&a, &b, all_back_to_a, WAIT_MS);

    int64_t end = now_ms() + WAIT_MS;
    while (count((const int(*)[MAXOFF])completed) < 200 && now_ms() < end) {
        poll_once(&a, 100);
        complete_shuffled(&a, &seed, NULL);
    }
    assert_int_equal(count((const int(*)[MAXOFF])completed), 200);
    assert_int_equal(modq_consume_late_completions(ca), 0);
    assert_int_equal(modq_consume_strays(ca), 0);
    close_free(ca);
    modq_config_free(cfg);
    modq_mock_free(m);
}

static void test_commit_writes_low_watermark_and_metadata(void **state)
{
    (void)state;
    static int completed[NPART][MAXOFF];
    static sink a;
    memset(completed, 0, sizeof completed);
    memset(&a, 0, sizeof a);
    a.completed = completed;
    modq_mock *m = start("q5");
    modq_config *cfg = config(m, "g5", 64);
    produce(m, "q5", 20, 0);
    static const int64_t done[] = {9, 5, 1, 0, 15, 2, 6};

    modq_consume *c = consumer(cfg, "q5", &a);
    poll_until_delivered(&a, 20, 0);
    for (size_t k = 0; k < sizeof done / sizeof done[0]; k++) {
        for (size_t i = 0; i < a.n; i++) {
            if (a.msgs[i]->offset == done[k]) {
                complete_at(&a, i);
                break;
            }
        }
    }
    commit_sync(c);

    /* A fresh handle of the group reads what the broker keeps. */
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(
        rd_kafka_conf_set(conf, "bootstrap.servers", modq_mock_bootstrap(m), err, sizeof err),
        RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "group.id", "g5", err, sizeof err), RD_KAFKA_CONF_OK);
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, "q5", 0);
    assert_int_equal(rd_kafka_committed(rk, l, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(l->elems[0].offset, 3); /* 0, 1, 2 done; 3 is the lowest not done */
    assert_true(l->elems[0].metadata_size > 0);
    char meta[MODQ_OFFSETS_METADATA_BUF];
    assert_true(l->elems[0].metadata_size < sizeof meta);
    memcpy(meta, l->elems[0].metadata, l->elems[0].metadata_size);
    meta[l->elems[0].metadata_size] = '\0';
    modq_offsets *t = NULL;
    assert_int_equal(modq_offsets_new(3, meta, 3000, &t, err, sizeof err), MODQ_OFFSETS_OK);
    for (int64_t o = 3; o < 20; o++) {
        assert_int_equal(modq_offsets_is_done(t, o), o == 5 || o == 6 || o == 9 || o == 15);
    }
    modq_offsets_free(t);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);

    /* 20 in the log, the watermark at 3: 17 not known to be done. */
    assert_int_equal(modq_consume_lag(c, 0), 17);

    /* Shutdown's first step: nothing new arrives, however long we keep polling. */
    assert_int_equal(modq_consume_stop_fetching(c), MODQ_CONSUME_OK);
    produce(m, "q5", 5, 0);
    for (int64_t q = now_ms() + 1500; now_ms() < q;) {
        poll_once(&a, 100);
    }
    assert_int_equal(count((const int(*)[MAXOFF])a.delivered), 20);
    assert_int_equal(modq_consume_paused(c), modq_consume_assigned(c));

    drop_all(&a);
    close_free(c);
    modq_config_free(cfg);
    modq_mock_free(m);
}

static void test_unreadable_metadata_is_reported_and_consumption_goes_on(void **state)
{
    (void)state;
    static int completed[NPART][MAXOFF];
    static sink a;
    memset(completed, 0, sizeof completed);
    memset(&a, 0, sizeof a);
    a.completed = completed;
    modq_mock *m = start("q7");
    modq_config *cfg = config(m, "g7", 64);
    produce(m, "q7", 10, 0);

    /* Someone else's commit: offset 2 with metadata that is not ours. */
    char err[512] = "";
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(
        rd_kafka_conf_set(conf, "bootstrap.servers", modq_mock_bootstrap(m), err, sizeof err),
        RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "group.id", "g7", err, sizeof err), RD_KAFKA_CONF_OK);
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_t *e = rd_kafka_topic_partition_list_add(l, "q7", 0);
    e->offset = 2;
    e->metadata = strdup("not-modq-metadata");
    e->metadata_size = strlen("not-modq-metadata");
    assert_int_equal(rd_kafka_commit(rk, l, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);

    modq_consume *c = consumer(cfg, "q7", &a);
    poll_until_delivered(&a, 8, 500);
    for (int o = 0; o < 10; o++) {
        assert_int_equal(a.delivered[0][o], o >= 2);
    }
    assert_int_equal(modq_consume_problems(c, MODQ_CONSUME_PROBLEM_METADATA), 1);
    assert_int_equal(a.metadata_problems[0], 1);
    drop_all(&a);
    close_free(c);
    modq_config_free(cfg);
    modq_mock_free(m);
}

static void test_metadata_near_the_cap_pauses_the_partition_until_completions(void **state)
{
    (void)state;
    static int completed[NPART][MAXOFF];
    static sink a;
    memset(completed, 0, sizeof completed);
    memset(&a, 0, sizeof a);
    a.completed = completed;
    modq_mock *m = start("q9");
    modq_config *cfg = config_cap(m, "g9", 1000, 256);
    produce(m, "q9", 400, 0);

    /* Every other offset completed at once: one done run per two offsets, so the metadata grows
     * until the tracker asks for a pause, long before the window (1000) is reached. */
    modq_consume *c = consumer(cfg, "q9", &a);
    int64_t end = now_ms() + WAIT_MS, last_new = now_ms();
    int seen = 0;
    while (now_ms() < end && (seen == 0 || now_ms() - last_new < 1500)) {
        poll_once(&a, 100);
        for (size_t i = a.n; i > 0; i--) {
            if (a.msgs[i - 1]->offset % 2 == 0) {
                complete_at(&a, i - 1);
            }
        }
        int now_seen = count((const int(*)[MAXOFF])a.delivered);
        if (now_seen != seen) {
            last_new = now_ms();
        }
        seen = now_seen;
    }
    assert_true(seen > 20 && seen < 400);
    assert_int_equal(modq_consume_paused(c), 1); /* partition 0; the others are empty */
    assert_int_equal(modq_consume_held(c), 0);

    /* The reviews finish: the metadata shrinks, the partition resumes, the rest arrives. */
    end = now_ms() + WAIT_MS;
    while (count((const int(*)[MAXOFF])completed) < 400 && now_ms() < end) {
        complete_shuffled(&a, &(uint32_t){9}, NULL);
        poll_once(&a, 100);
    }
    complete_shuffled(&a, &(uint32_t){9}, NULL);
    assert_int_equal(count((const int(*)[MAXOFF])completed), 400);
    for (int o = 0; o < 400; o++) {
        assert_int_equal(a.delivered[0][o], 1);
    }
    close_free(c);
    modq_config_free(cfg);
    modq_mock_free(m);
}

/* Messages handed to a reviewer thread that completes them, as publishing's delivery reports
 * will: modq_consume_complete runs concurrently with the poll loop. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rebalance_commits_voids_and_returns_partitions),
        cmocka_unit_test(test_commit_writes_low_watermark_and_metadata),
        cmocka_unit_test(test_unreadable_metadata_is_reported_and_consumption_goes_on),
        cmocka_unit_test(test_metadata_near_the_cap_pauses_the_partition_until_completions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
