/*
 * test_worker_consume.c: worker/consume.c against librdkafka's mock cluster (worker/mock.c):
 * out-of-order completion survives a clean restart and a crash, the per-queue window pauses and
 * resumes, a rebalance commits and voids what the leaving owner had in flight, and the committed
 * metadata really carries the completed offsets above the low watermark.
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

#include "config.h"
#include "consume.h"
#include "mock.h"
#include "offsets.h"

#define NPART   4
#define MAXOFF  512
#define SINKMAX 1024
#define WAIT_MS 30000 /* the longest any one phase may take before the test fails */

static const char *const extra[] = {
    "session.timeout.ms", "6000", "heartbeat.interval.ms", "500", "fetch.wait.max.ms", "100",
    "log_level",          "3"};
#define NEXTRA (sizeof extra / sizeof extra[0] / 2)

/* What one consumer was handed and still holds, and what the test saw overall. */
typedef struct sink {
    modq_consume *c;
    rd_kafka_message_t *msgs[SINKMAX]; /* handed out, not completed or voided */
    size_t n;
    size_t max_n;
    int delivered[NPART][MAXOFF];
    int revoked[NPART];
    int metadata_problems[NPART];
    int (*completed)[MAXOFF]; /* shared by the consumers of one test */
} sink;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void handler(void *arg, rd_kafka_message_t *msg)
{
    sink *s = arg;
    assert_in_range(msg->partition, 0, NPART - 1);
    assert_in_range(msg->offset, 0, MAXOFF - 1);
    /* A completed ticket must never be shown again. */
    assert_int_equal(s->completed[msg->partition][msg->offset], 0);
    s->delivered[msg->partition][msg->offset]++;
    assert_true(s->n < SINKMAX);
    s->msgs[s->n++] = msg;
    if (s->n > s->max_n)
        s->max_n = s->n;
}

static void on_revoked(void *arg, const char *topic, int32_t partition)
{
    sink *s = arg;
    (void)topic;
    s->revoked[partition]++;
    for (size_t i = 0; i < s->n;) {
        if (s->msgs[i]->partition == partition) {
            rd_kafka_message_destroy(s->msgs[i]);
            s->msgs[i] = s->msgs[--s->n];
        } else {
            i++;
        }
    }
}

/* Completes the message at index i of s and forgets it. */
static void complete_at(sink *s, size_t i)
{
    rd_kafka_message_t *m = s->msgs[i];
    assert_int_equal(
        modq_consume_complete(s->c, rd_kafka_topic_name(m->rkt), m->partition, m->offset),
        MODQ_CONSUME_OK);
    assert_int_equal(s->completed[m->partition][m->offset], 0);
    s->completed[m->partition][m->offset] = 1;
    rd_kafka_message_destroy(m);
    s->msgs[i] = s->msgs[--s->n];
}

static uint32_t rnd(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

/* Completes the held messages in a random order, except those keep() says to hold back. */
static void complete_shuffled(sink *s, uint32_t *seed, int (*keep)(int32_t, int64_t))
{
    for (size_t i = s->n; i > 1; i--) {
        size_t j = rnd(seed) % i;
        rd_kafka_message_t *t = s->msgs[i - 1];
        s->msgs[i - 1] = s->msgs[j];
        s->msgs[j] = t;
    }
    /* From the end, so that complete_at's swap only brings back a message already seen. */
    for (size_t i = s->n; i > 0; i--)
        if (keep == NULL || !keep(s->msgs[i - 1]->partition, s->msgs[i - 1]->offset))
            complete_at(s, i - 1);
}

static void drop_all(sink *s)
{
    while (s->n > 0)
        rd_kafka_message_destroy(s->msgs[--s->n]);
}

static modq_mock *start(const char *topic)
{
    modq_mock *m = NULL;
    char err[256] = "";
    assert_int_equal(modq_mock_new(1, NULL, &m, err, sizeof err), MODQ_MOCK_OK);
    assert_int_equal(modq_mock_topic_create(m, topic, NPART, 1, err, sizeof err), MODQ_MOCK_OK);
    return m;
}

static modq_config *config_cap(const modq_mock *m, const char *group, int window, int cap)
{
    char yaml[512], err[256] = "";
    modq_config *cfg = NULL;
    snprintf(yaml, sizeof yaml,
             "kafka:\n  bootstrap.servers: \"%s\"\nconsumer:\n  group_id: %s\n"
             "  metadata_cap_bytes: %d\nworker:\n  window_per_queue: %d\n",
             modq_mock_bootstrap(m), group, cap, window);
    assert_int_equal(
        modq_config_load_buffer(yaml, strlen(yaml), "t.yaml", NULL, &cfg, err, sizeof err),
        MODQ_CONFIG_OK);
    return cfg;
}

static modq_config *config(const modq_mock *m, const char *group, int window)
{
    return config_cap(m, group, window, 3000);
}

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk, (void)level, (void)fac, (void)buf;
}

/* Produces n messages to topic, message i to partition i % NPART (or all to `only` >= 0). */
static void produce(const modq_mock *m, const char *topic, int n, int32_t only)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(
        rd_kafka_conf_set(conf, "bootstrap.servers", modq_mock_bootstrap(m), err, sizeof err),
        RD_KAFKA_CONF_OK);
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(p);
    for (int i = 0; i < n; i++) {
        char v[32];
        snprintf(v, sizeof v, "ticket-%d", i);
        assert_int_equal(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic),
                                           RD_KAFKA_V_PARTITION(only >= 0 ? only : i % NPART),
                                           RD_KAFKA_V_VALUE(v, strlen(v)),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_END),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    assert_int_equal(rd_kafka_flush(p, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);
}

static modq_consume *consumer(const modq_config *cfg, const char *topic, sink *s)
{
    modq_consume_callbacks cb = {.on_revoked = on_revoked, .arg = s};
    modq_consume *c = NULL;
    char err[512] = "";
    const char *topics[] = {topic};
    modq_consume_result r =
        modq_consume_new(cfg, topics, 1, extra, NEXTRA, &cb, &c, err, sizeof err);
    if (r != MODQ_CONSUME_OK)
        print_error("modq_consume_new: %s\n", err);
    assert_int_equal(r, MODQ_CONSUME_OK);
    s->c = c;
    return c;
}

static void poll_once(sink *s, int timeout_ms)
{
    char err[512] = "";
    modq_consume_result r = modq_consume_poll(s->c, timeout_ms, handler, s, err, sizeof err);
    assert_true(r == MODQ_CONSUME_OK || r == MODQ_CONSUME_ERR_KAFKA);
}

static int count(const int (*a)[MAXOFF])
{
    int n = 0;
    for (int p = 0; p < NPART; p++)
        for (int o = 0; o < MAXOFF; o++)
            n += a[p][o];
    return n;
}

static void commit_sync(modq_consume *c)
{
    char err[512] = "";
    modq_consume_result r = modq_consume_commit(c, true, err, sizeof err);
    if (r != MODQ_CONSUME_OK)
        print_error("commit: %s\n", err);
    assert_int_equal(r, MODQ_CONSUME_OK);
}

static void close_free(modq_consume *c)
{
    char err[512] = "";
    assert_int_equal(modq_consume_close(c, err, sizeof err), MODQ_CONSUME_OK);
    modq_consume_free(c);
}

/* Polls s until want messages were delivered in all, then for quiet_ms more (nothing else may
 * come meanwhile when settle is set: the caller checks the totals). */
static void poll_until_delivered(sink *s, int want, int quiet_ms)
{
    int64_t end = now_ms() + WAIT_MS;
    while (count((const int(*)[MAXOFF])s->delivered) < want && now_ms() < end)
        poll_once(s, 100);
    assert_int_equal(count((const int(*)[MAXOFF])s->delivered), want);
    for (int64_t q = now_ms() + quiet_ms; now_ms() < q;)
        poll_once(s, 100);
}

static int hold_back(int32_t p, int64_t o)
{
    return (p * 1000 + o) % 9 == 4;
}

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
        if (a.n >= 40)
            complete_shuffled(&a, &seed, hold_back);
    }
    complete_shuffled(&a, &seed, hold_back);
    assert_int_equal(count((const int(*)[MAXOFF])a.delivered), 500);
    int held = (int)a.n;
    assert_true(held > 20);
    for (size_t i = 0; i < a.n; i++)
        assert_true(hold_back(a.msgs[i]->partition, a.msgs[i]->offset));
    commit_sync(c);
    close_free(c); /* revokes: the held messages are voided through on_revoked */
    assert_int_equal(a.n, 0);

    c = consumer(cfg, "q1", &b);
    poll_until_delivered(&b, held, 1500);
    for (int p = 0; p < NPART; p++)
        for (int o = 0; o < 125; o++)
            assert_int_equal(b.delivered[p][o], hold_back(p, o) ? 1 : 0);
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
    for (size_t left = a.n * 2 / 3; left > 0; left--)
        complete_at(&a, rnd(&seed) % a.n);
    commit_sync(c);
    memcpy(committed, completed, sizeof committed);
    for (size_t left = 10; left > 0; left--)
        complete_at(&a, rnd(&seed) % a.n);
    drop_all(&a);
    modq_consume_free(c); /* no close, no commit: a crash */

    /* The restart must redeliver whatever was not committed, completed or not. */
    static int after[NPART][MAXOFF];
    memset(after, 0, sizeof after);
    b.completed = after;
    c = consumer(cfg, "q2", &b);
    int want = 200 - count((const int(*)[MAXOFF])committed);
    int64_t end = now_ms() + WAIT_MS;
    while (count((const int(*)[MAXOFF])b.delivered) < want && now_ms() < end)
        poll_once(&b, 100);
    for (int64_t q = now_ms() + 1500; now_ms() < q;)
        poll_once(&b, 100);
    for (int p = 0; p < NPART; p++)
        for (int o = 0; o < 50; o++)
            assert_int_equal(b.delivered[p][o], committed[p][o] ? 0 : 1);
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
            for (int64_t q = now_ms() + 300; now_ms() < q;)
                poll_once(&a, 100);
            assert_int_equal(a.n, 8);
            assert_int_equal(modq_consume_paused(c), modq_consume_assigned(c));
            /* Paused in Kafka, not only here: nothing arrived that had to be kept back. */
            assert_int_equal(modq_consume_held(c), 0);
            pauses++;
            for (int k = 0; k < 3; k++)
                complete_at(&a, rnd(&seed) % a.n);
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

/* Polls both consumers in turn until pred(a, b) holds. */
static void poll_both(sink *a, sink *b, int (*pred)(sink *, sink *))
{
    int64_t end = now_ms() + WAIT_MS;
    while (!pred(a, b) && now_ms() < end) {
        poll_once(a, 50);
        if (b->c != NULL)
            poll_once(b, 50);
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
    memset(completed, 0, sizeof completed);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.completed = b.completed = completed;
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
    modq_consume *cb = consumer(cfg, "q4", &b);
    poll_both(&a, &b, split_assignment);
    int revoked = 0;
    for (int p = 0; p < NPART; p++) {
        revoked += a.revoked[p];
        for (size_t i = 0; i < a.n; i++) /* voided: none of A's held are of revoked partitions */
            assert_true(a.revoked[p] == 0 || a.msgs[i]->partition != p);
    }
    assert_true(revoked > 0);
    assert_int_equal(revoked, (int)modq_consume_assigned(cb));
    /* B gets exactly what A had in flight on the partitions it took: the odd offsets. */
    for (int64_t q = now_ms() + 1500; now_ms() < q;) {
        poll_once(&a, 50);
        poll_once(&b, 50);
    }
    for (int p = 0; p < NPART; p++)
        for (int o = 0; o < 10; o++)
            assert_int_equal(b.delivered[p][o], a.revoked[p] && o % 2 == 1);
    produce(m, "q4", 160, -1);

    /* Both work for a while; then B leaves with some of its reviews unfinished. */
    for (int64_t q = now_ms() + 2000; now_ms() < q;) {
        poll_once(&a, 50);
        poll_once(&b, 50);
        complete_shuffled(&a, &seed, NULL);
        if (b.n > 2)
            complete_at(&b, 0);
    }
    assert_true(count((const int(*)[MAXOFF])b.delivered) > 0);
    close_free(cb);
    assert_int_equal(b.n, 0);
    b.c = NULL;
    poll_both(&a, &b, all_back_to_a);

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
    for (size_t k = 0; k < sizeof done / sizeof done[0]; k++)
        for (size_t i = 0; i < a.n; i++)
            if (a.msgs[i]->offset == done[k]) {
                complete_at(&a, i);
                break;
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
    for (int64_t o = 3; o < 20; o++)
        assert_int_equal(modq_offsets_is_done(t, o), o == 5 || o == 6 || o == 9 || o == 15);
    modq_offsets_free(t);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);

    /* 20 in the log, the watermark at 3: 17 not known to be done. */
    assert_int_equal(modq_consume_lag(c, 0), 17);

    /* Shutdown's first step: nothing new arrives, however long we keep polling. */
    assert_int_equal(modq_consume_stop_fetching(c), MODQ_CONSUME_OK);
    produce(m, "q5", 5, 0);
    for (int64_t q = now_ms() + 1500; now_ms() < q;)
        poll_once(&a, 100);
    assert_int_equal(count((const int(*)[MAXOFF])a.delivered), 20);
    assert_int_equal(modq_consume_paused(c), modq_consume_assigned(c));

    drop_all(&a);
    close_free(c);
    modq_config_free(cfg);
    modq_mock_free(m);
}

static void on_problem(void *arg, modq_consume_problem kind, const char *topic, int32_t partition,
                       const char *text)
{
    sink *s = arg;
    (void)topic;
    assert_true(text[0] != '\0');
    if (kind == MODQ_CONSUME_PROBLEM_METADATA && partition >= 0 && partition < NPART)
        s->metadata_problems[partition]++;
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

    modq_consume_callbacks cb = {.on_revoked = on_revoked, .on_problem = on_problem, .arg = &a};
    const char *topics[] = {"q7"};
    modq_consume *c = NULL;
    assert_int_equal(modq_consume_new(cfg, topics, 1, extra, NEXTRA, &cb, &c, err, sizeof err),
                     MODQ_CONSUME_OK);
    a.c = c;
    poll_until_delivered(&a, 8, 500);
    for (int o = 0; o < 10; o++)
        assert_int_equal(a.delivered[0][o], o >= 2);
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
        for (size_t i = a.n; i > 0; i--)
            if (a.msgs[i - 1]->offset % 2 == 0)
                complete_at(&a, i - 1);
        int now_seen = count((const int(*)[MAXOFF])a.delivered);
        if (now_seen != seen)
            last_new = now_ms();
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
    for (int o = 0; o < 400; o++)
        assert_int_equal(a.delivered[0][o], 1);
    close_free(c);
    modq_config_free(cfg);
    modq_mock_free(m);
}

/* Messages handed to a reviewer thread that completes them, as publishing's delivery reports
 * will: modq_consume_complete runs concurrently with the poll loop. */
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
        while (r->n == 0 && !r->stop)
            pthread_cond_wait(&r->cond, &r->lock);
        if (r->n == 0)
            break;
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
        assert_true(res == MODQ_CONSUME_OK || res == MODQ_CONSUME_ERR_KAFKA);
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
    for (int p = 0; p < NPART; p++)
        for (int o = 0; o < 25; o++)
            assert_int_equal(r.delivered[p][o], 1);
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
        cmocka_unit_test(test_commit_writes_low_watermark_and_metadata),
        cmocka_unit_test(test_unreadable_metadata_is_reported_and_consumption_goes_on),
        cmocka_unit_test(test_window_pauses_the_queue_and_resumes_after_completions),
        cmocka_unit_test(test_completions_from_another_thread_drain_the_window),
        cmocka_unit_test(test_metadata_near_the_cap_pauses_the_partition_until_completions),
        cmocka_unit_test(test_clean_restart_delivers_exactly_the_uncompleted),
        cmocka_unit_test(test_crash_loses_nothing_and_repeats_nothing_committed),
        cmocka_unit_test(test_rebalance_commits_voids_and_returns_partitions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
