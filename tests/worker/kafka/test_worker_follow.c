/*
 * test_worker_follow.c: the topic follower (worker/kafka/follow.c) against an in-process mock
 * cluster. Records from start_ms on are delivered once each, in partition order, and none older;
 * the follower is caught up only once the records there at its start were delivered, and keeps
 * delivering after that; start_ms 0 reads everything; an empty and a missing topic are caught up
 * at once, and the missing one is followed once it exists; tombstones arrive with a NULL value;
 * freeing it in the middle of a large backlog is prompt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/follow.h"
#include "dev/mock.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NPART   4
#define MAXSEQ  1024
#define WAIT_MS 30000 /* the longest any one phase may take before the test fails */
/* Record timestamps are explicit and far from now, so that only start_ms decides. */
#define T_BASE 1700000000000LL

static const char *const extra[] = {"fetch.wait.max.ms", "100", "log_level", "3"};
#define NEXTRA (sizeof extra / sizeof extra[0] / 2)

/* What the follower delivered. Values are "PARTITION:SEQ"; on_message runs on the follower's
 * thread, so it only records, and the test thread checks. */
typedef struct rec {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int seen[NPART][MAXSEQ];
    int last[NPART]; /* highest SEQ delivered per partition, -1 for none */
    int out_of_order, malformed, older, tombstones, tomb_key_ok, total;
    int64_t min_ts;  /* a record below it counts in older */
    bool gated;      /* while set, on_message waits (bounded) for the test to open the gate */
    long sleep_ns;   /* per record, to make a backlog take a while */
    atomic_int logs; /* librdkafka log lines seen */
} rec;

static void rec_init(rec *r, int64_t min_ts)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(pthread_mutex_init(&r->lock, NULL), 0);
    assert_int_equal(pthread_cond_init(&r->cond, NULL), 0);
    for (int p = 0; p < NPART; p++) {
        r->last[p] = -1;
    }
    r->min_ts = min_ts;
    atomic_init(&r->logs, 0);
}

static void rec_destroy(rec *r)
{
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
}

static int rec_total(rec *r)
{
    pthread_mutex_lock(&r->lock);
    int total = r->total;
    pthread_mutex_unlock(&r->lock);
    return total;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* "P:S" into *p and *s; false when it is not that. */
static bool parse_value(const void *value, size_t len, int *p, int *s)
{
    char buf[32], *end = NULL;
    if (len == 0 || len >= sizeof buf) {
        return false;
    }
    memcpy(buf, value, len);
    buf[len] = '\0';
    long lp = strtol(buf, &end, 10);
    if (end == buf || *end != ':' || lp < 0 || lp >= NPART) {
        return false;
    }
    const char *rest = end + 1;
    long ls = strtol(rest, &end, 10);
    if (end == rest || *end != '\0' || ls < 0 || ls > 1000000) {
        return false;
    }
    *p = (int)lp;
    *s = (int)ls;
    return true;
}

static void on_message(void *arg, const modq_follow_record *m)
{
    rec *r = arg;
    const void *key = m->key, *value = m->value;
    size_t key_len = m->key_len, value_len = m->value_len;
    int64_t ts = m->timestamp_ms;
    int p = 0, s = 0;

    pthread_mutex_lock(&r->lock);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WAIT_MS / 1000;
    int rc = 0;
    while (r->gated && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&r->cond, &r->lock, &deadline);
    }
    r->total++;
    if (ts < r->min_ts) {
        r->older++;
    }
    if (value == NULL) {
        r->tombstones++;
        r->tomb_key_ok += value_len == 0 && key_len == 4 && memcmp(key, "tomb", 4) == 0;
    } else if (!parse_value(value, value_len, &p, &s)) {
        r->malformed++;
    } else {
        if (s < MAXSEQ) {
            r->seen[p][s]++;
        }
        r->out_of_order += s <= r->last[p];
        r->last[p] = s;
    }
    long sleep_ns = r->sleep_ns;
    pthread_mutex_unlock(&r->lock);
    if (sleep_ns > 0) {
        struct timespec t = {0, sleep_ns};
        nanosleep(&t, NULL);
    }
}

static void on_log(void *arg, int level, const char *fac, const char *line)
{
    rec *r = arg;
    (void)level, (void)fac, (void)line;
    atomic_fetch_add(&r->logs, 1);
}

static void open_gate(rec *r)
{
    pthread_mutex_lock(&r->lock);
    r->gated = false;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static modq_mock *mock_start(void)
{
    modq_mock *m = NULL;
    char err[256] = "";
    assert_int_equal(modq_mock_new(1, NULL, &m, err, sizeof err), MODQ_MOCK_OK);
    return m;
}

static void topic_create(modq_mock *m, const char *topic, int partitions)
{
    char err[256] = "";
    assert_int_equal(modq_mock_topic_create(m, topic, partitions, 1, err, sizeof err),
                     MODQ_MOCK_OK);
}

static modq_config *config_for(const char *bootstrap)
{
    char yaml[512], err[256] = "";
    modq_config *cfg = NULL;
    snprintf(yaml, sizeof yaml, "kafka:\n  bootstrap.servers: \"%s\"\n", bootstrap);
    modq_config_result r =
        modq_config_load_buffer(yaml, strlen(yaml), "t.yaml", NULL, &cfg, err, sizeof err);
    if (r != MODQ_CONFIG_OK) {
        print_error("config: %s\n", err);
    }
    assert_int_equal(r, MODQ_CONFIG_OK);
    return cfg;
}

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk, (void)level, (void)fac, (void)buf;
}

static rd_kafka_t *producer(const modq_mock *m)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(
        rd_kafka_conf_set(conf, "bootstrap.servers", modq_mock_bootstrap(m), err, sizeof err),
        RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err), RD_KAFKA_CONF_OK);
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(p);
    return p;
}

static void put_raw(rd_kafka_t *p, const char *topic, int32_t partition, const char *key,
                    const char *value, int64_t ts)
{
    /* librdkafka's argument macros want plain expressions */
    size_t key_len = key != NULL ? strlen(key) : 0;
    size_t value_len = value != NULL ? strlen(value) : 0;
    rd_kafka_resp_err_t err = rd_kafka_producev(
        p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_KEY(key, key_len),
        RD_KAFKA_V_VALUE((void *)(uintptr_t)value, value_len), RD_KAFKA_V_TIMESTAMP(ts),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(p, 100);
        put_raw(p, topic, partition, key, value, ts);
        return;
    }
    assert_int_equal(err, RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* Record SEQ of partition, value "PARTITION:SEQ". */
static void put(rd_kafka_t *p, const char *topic, int32_t partition, int seq, int64_t ts)
{
    char v[32];
    snprintf(v, sizeof v, "%d:%d", (int)partition, seq);
    put_raw(p, topic, partition, "k", v, ts);
}

static void flush_free(rd_kafka_t *p)
{
    assert_int_equal(rd_kafka_flush(p, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);
}

static modq_follow *follow(const modq_config *cfg, const char *topic, int64_t start_ms, rec *r,
                           int metadata_ms)
{
    modq_follow_opts o = {.topic = topic,
                          .start_ms = start_ms,
                          .on_message = on_message,
                          .arg = r,
                          .extra = extra,
                          .nextra = NEXTRA,
                          .metadata_ms = metadata_ms};
    modq_follow *f = NULL;
    char err[512] = "";
    modq_follow_result res = modq_follow_new(cfg, &o, &f, err, sizeof err);
    if (res != MODQ_FOLLOW_OK) {
        print_error("modq_follow_new: %s: %s\n", modq_follow_strerror(res), err);
    }
    assert_int_equal(res, MODQ_FOLLOW_OK);
    assert_non_null(f);
    return f;
}

/* Waits until n records were delivered, then a little longer: no more may come. */
static void wait_count(modq_follow *f, rec *r, int n)
{
    for (int64_t end = now_ms() + WAIT_MS; modq_follow_count(f) < (uint64_t)n && now_ms() < end;) {
        sleep_ms(20);
    }
    sleep_ms(300);
    assert_int_equal(rec_total(r), n);
    assert_int_equal(modq_follow_count(f), (uint64_t)n);
}

/* Every partition's sequences lo..hi delivered exactly once. */
static void assert_seen_once(rec *r, int nparts, int lo, int hi)
{
    pthread_mutex_lock(&r->lock);
    for (int p = 0; p < nparts; p++) {
        for (int s = lo; s <= hi; s++) {
            if (r->seen[p][s] != 1) {
                print_error("partition %d seq %d delivered %d times\n", p, s, r->seen[p][s]);
            }
            assert_int_equal(r->seen[p][s], 1);
        }
    }
    pthread_mutex_unlock(&r->lock);
}

/* Nothing out of partition order, unreadable, or older than r->min_ts. */
static void assert_clean(rec *r)
{
    pthread_mutex_lock(&r->lock);
    assert_int_equal(r->out_of_order + r->malformed + r->older, 0);
    pthread_mutex_unlock(&r->lock);
}

static void test_follow_start_ms_delivers_newer_records_once_in_order_then_follows(void **state)
{
    (void)state;
    const char *topic = "follow.start_ms";
    modq_mock *m = mock_start();
    topic_create(m, topic, NPART);
    rd_kafka_t *p = producer(m);
    /* Per partition: SEQ 0..5 before start_ms, 6..11 from it on (6 exactly at it). */
    for (int s = 0; s < 12; s++) {
        for (int32_t part = 0; part < NPART; part++) {
            put(p, topic, part, s, s < 6 ? T_BASE - 60000 + s * 10 : T_BASE + (s - 6) * 10);
        }
    }
    flush_free(p);

    modq_config *cfg = config_for(modq_mock_bootstrap(m));
    rec r;
    rec_init(&r, T_BASE);
    modq_follow *f = follow(cfg, topic, T_BASE, &r, 0);
    assert_int_equal(modq_follow_wait(f, WAIT_MS), MODQ_FOLLOW_OK);
    assert_true(modq_follow_caught_up(f));
    /* Caught up means everything from start_ms that was there is delivered already. */
    assert_int_equal(rec_total(&r), NPART * 6);
    assert_int_equal(modq_follow_count(f), (uint64_t)NPART * 6); /* skipped ones not counted */
    assert_seen_once(&r, NPART, 6, 11);
    pthread_mutex_lock(&r.lock);
    for (int part = 0; part < NPART; part++) {
        for (int s = 0; s < 6; s++) {
            assert_int_equal(r.seen[part][s], 0);
        }
    }
    pthread_mutex_unlock(&r.lock);

    /* Following: records produced after catching up arrive too. */
    p = producer(m);
    for (int s = 12; s < 15; s++) {
        for (int32_t part = 0; part < NPART; part++) {
            put(p, topic, part, s, T_BASE + 100000 + s);
        }
    }
    flush_free(p);
    wait_count(f, &r, NPART * 9);
    assert_seen_once(&r, NPART, 6, 14);
    assert_clean(&r);
    assert_true(modq_follow_caught_up(f));

    modq_follow_free(f);
    rec_destroy(&r);
    modq_config_free(cfg);
    modq_mock_free(m);
}

static void test_follow_not_caught_up_until_backlog_delivered(void **state)
{
    (void)state;
    const char *topic = "follow.gate";
    modq_mock *m = mock_start();
    topic_create(m, topic, NPART);
    rd_kafka_t *p = producer(m);
    for (int s = 0; s < 10; s++) {
        put(p, topic, 0, s, T_BASE + s);
        put(p, topic, 2, s, T_BASE + s);
    }
    flush_free(p);

    modq_config *cfg = config_for(modq_mock_bootstrap(m));
    rec r;
    rec_init(&r, 0);
    r.gated = true; /* the follower's first on_message blocks */
    modq_follow *f = follow(cfg, topic, 0, &r, 0);
    assert_int_equal(modq_follow_wait(f, 500), MODQ_FOLLOW_ERR_TIMEOUT);
    assert_false(modq_follow_caught_up(f));
    open_gate(&r);
    assert_int_equal(modq_follow_wait(f, WAIT_MS), MODQ_FOLLOW_OK);
    assert_int_equal(rec_total(&r), 20);
    assert_seen_once(&r, 1, 0, 9);
    pthread_mutex_lock(&r.lock);
    for (int s = 0; s < 10; s++) {
        assert_int_equal(r.seen[2][s], 1);
    }
    pthread_mutex_unlock(&r.lock);
    assert_clean(&r);

    modq_follow_free(f);
    rec_destroy(&r);
    modq_config_free(cfg);
    modq_mock_free(m);
}

static void test_follow_start_zero_reads_from_the_beginning(void **state)
{
    (void)state;
    const char *topic = "follow.beginning";
    modq_mock *m = mock_start();
    topic_create(m, topic, NPART);
    rd_kafka_t *p = producer(m);
    /* Timestamps all over the place, some tiny: with start_ms 0 none of them matters. */
    for (int s = 0; s < 8; s++) {
        for (int32_t part = 0; part < NPART; part++) {
            put(p, topic, part, s, s % 2 ? 1000 + s : T_BASE - s * 1000);
        }
    }
    flush_free(p);

    modq_config *cfg = config_for(modq_mock_bootstrap(m));
    rec r;
    rec_init(&r, 0);
    modq_follow *f = follow(cfg, topic, 0, &r, 0);
    assert_int_equal(modq_follow_wait(f, WAIT_MS), MODQ_FOLLOW_OK);
    assert_int_equal(rec_total(&r), NPART * 8);
    wait_count(f, &r, NPART * 8);
    assert_seen_once(&r, NPART, 0, 7);
    assert_clean(&r);

    modq_follow_free(f);
    rec_destroy(&r);
    modq_config_free(cfg);
    modq_mock_free(m);
}

static void test_follow_empty_topic_caught_up_at_once_then_follows(void **state)
{
    (void)state;
    const char *topic = "follow.empty";
    modq_mock *m = mock_start();
    topic_create(m, topic, 3);
    modq_config *cfg = config_for(modq_mock_bootstrap(m));
    rec r;
    rec_init(&r, 0);
    modq_follow *f = follow(cfg, topic, T_BASE, &r, 0);
    assert_true(modq_follow_caught_up(f));
    assert_int_equal(modq_follow_wait(f, 0), MODQ_FOLLOW_OK);
    assert_int_equal(modq_follow_count(f), 0);

    rd_kafka_t *p = producer(m);
    put(p, topic, 2, 0, T_BASE + 5);
    flush_free(p);
    wait_count(f, &r, 1);
    pthread_mutex_lock(&r.lock);
    assert_int_equal(r.seen[2][0], 1);
    pthread_mutex_unlock(&r.lock);
    assert_clean(&r);

    modq_follow_free(f);
    rec_destroy(&r);
    modq_config_free(cfg);
    modq_mock_free(m);
}

static void test_follow_missing_topic_caught_up_at_once_and_followed_once_created(void **state)
{
    (void)state;
    const char *topic = "follow.missing";
    modq_mock *m = mock_start();
    modq_config *cfg = config_for(modq_mock_bootstrap(m));
    rec r;
    rec_init(&r, 0);
    modq_follow *f = follow(cfg, topic, 0, &r, 200);
    assert_true(modq_follow_caught_up(f));
    assert_int_equal(modq_follow_wait(f, 0), MODQ_FOLLOW_OK);
    sleep_ms(600); /* several metadata checks: none of them may create the topic */
    topic_create(m, topic, 2);

    int64_t t0 = now_ms();
    rd_kafka_t *p = producer(m);
    put(p, topic, 1, 0, T_BASE);
    put(p, topic, 1, 1, T_BASE + 1);
    put(p, topic, 0, 0, T_BASE + 2);
    flush_free(p);
    wait_count(f, &r, 3);
    /* Found by the next metadata check (200 ms), not some much later one. */
    assert_in_range(now_ms() - t0, 0, 5000);
    pthread_mutex_lock(&r.lock);
    assert_int_equal(r.seen[0][0], 1);
    assert_int_equal(r.seen[1][0], 1);
    assert_int_equal(r.seen[1][1], 1);
    pthread_mutex_unlock(&r.lock);
    assert_clean(&r);
    assert_true(modq_follow_caught_up(f));

    modq_follow_free(f);
    rec_destroy(&r);
    modq_config_free(cfg);
    modq_mock_free(m);
}

static void test_follow_tombstone_delivered_with_null_value(void **state)
{
    (void)state;
    const char *topic = "follow.tombstone";
    modq_mock *m = mock_start();
    topic_create(m, topic, 1);
    rd_kafka_t *p = producer(m);
    put(p, topic, 0, 0, T_BASE);
    put_raw(p, topic, 0, "tomb", NULL, T_BASE + 1);
    put(p, topic, 0, 1, T_BASE + 2);
    flush_free(p);

    modq_config *cfg = config_for(modq_mock_bootstrap(m));
    rec r;
    rec_init(&r, 0);
    modq_follow *f = follow(cfg, topic, 0, &r, 0);
    assert_int_equal(modq_follow_wait(f, WAIT_MS), MODQ_FOLLOW_OK);
    wait_count(f, &r, 3);
    pthread_mutex_lock(&r.lock);
    assert_int_equal(r.tombstones, 1);
    assert_int_equal(r.tomb_key_ok, 1);
    pthread_mutex_unlock(&r.lock);
    assert_seen_once(&r, 1, 0, 1);
    assert_clean(&r);

    modq_follow_free(f);
    rec_destroy(&r);
    modq_config_free(cfg);
    modq_mock_free(m);
}

static void test_follow_free_during_large_backlog_returns_promptly(void **state)
{
    (void)state;
    const char *topic = "follow.backlog";
    const int n = 20000;
    modq_mock *m = mock_start();
    topic_create(m, topic, NPART);
    rd_kafka_t *p = producer(m);
    for (int s = 0; s < n / NPART; s++) {
        for (int32_t part = 0; part < NPART; part++) {
            put(p, topic, part, s, T_BASE + s);
        }
    }
    flush_free(p);

    modq_config *cfg = config_for(modq_mock_bootstrap(m));
    rec r;
    rec_init(&r, 0);
    r.sleep_ns = 500000; /* 0.5 ms a record: the backlog takes 10 s to read */
    modq_follow *f = follow(cfg, topic, 0, &r, 0);
    for (int64_t end = now_ms() + WAIT_MS; modq_follow_count(f) < 200 && now_ms() < end;) {
        sleep_ms(10);
    }
    assert_true(modq_follow_count(f) >= 200);
    assert_false(modq_follow_caught_up(f));
    int64_t t0 = now_ms();
    modq_follow_free(f);
    int64_t took = now_ms() - t0;
    if (took > 2000) {
        print_error("free took %lld ms\n", (long long)took);
    }
    assert_in_range(took, 0, 2000);
    assert_true(rec_total(&r) < n); /* it was stopped, not run to the end */
    assert_clean(&r);

    rec_destroy(&r);
    modq_config_free(cfg);
    modq_mock_free(m);
}

static void test_follow_new_fails_when_the_cluster_is_unreachable(void **state)
{
    (void)state;
    /* Port 1 on loopback: nothing listens there, so the topic cannot be listed. */
    modq_config *cfg = config_for("127.0.0.1:1");
    rec r;
    rec_init(&r, 0);
    modq_follow_opts o = {
        .topic = "follow.nowhere", .on_message = on_message, .on_log = on_log, .arg = &r};
    modq_follow *f = (modq_follow *)&r; /* must be reset to NULL */
    char err[512] = "";
    int64_t t0 = now_ms();
    assert_int_equal(modq_follow_new(cfg, &o, &f, err, sizeof err), MODQ_FOLLOW_ERR_KAFKA);
    assert_in_range(now_ms() - t0, 0, MODQ_FOLLOW_CALL_MS + 3000);
    assert_null(f);
    assert_non_null(strstr(err, "follow.nowhere"));
    assert_true(atomic_load(&r.logs) > 0); /* librdkafka's complaints went to on_log */
    rec_destroy(&r);
    modq_config_free(cfg);
}

static void test_follow_refuses_bad_arguments(void **state)
{
    (void)state;
    modq_config *cfg = config_for("127.0.0.1:1");
    rec r;
    rec_init(&r, 0);
    const modq_follow_opts good = {.topic = "t", .on_message = on_message, .arg = &r};
    modq_follow_opts bad[6];
    for (size_t i = 0; i < 6; i++) {
        bad[i] = good;
    }
    bad[0].topic = NULL;
    bad[1].topic = "";
    bad[2].on_message = NULL;
    bad[3].start_ms = -1;
    bad[4].nextra = 1; /* with no extra list */
    bad[5].metadata_ms = -5;
    char err[256];
    for (size_t i = 0; i < 6; i++) {
        modq_follow *f = (modq_follow *)&r;
        err[0] = '\0';
        assert_int_equal(modq_follow_new(cfg, &bad[i], &f, err, sizeof err),
                         MODQ_FOLLOW_ERR_INVALID_ARG);
        assert_null(f);
        assert_true(err[0] != '\0');
    }
    modq_follow *f = NULL;
    assert_int_equal(modq_follow_new(NULL, &good, &f, err, sizeof err),
                     MODQ_FOLLOW_ERR_INVALID_ARG);
    assert_int_equal(modq_follow_new(cfg, &good, NULL, err, sizeof err),
                     MODQ_FOLLOW_ERR_INVALID_ARG);
    assert_int_equal(modq_follow_wait(NULL, 0), MODQ_FOLLOW_ERR_INVALID_ARG);
    assert_false(modq_follow_caught_up(NULL));
    assert_int_equal(modq_follow_count(NULL), 0);
    modq_follow_free(NULL);
    for (int i = 0; i < MODQ_FOLLOW_RESULT_COUNT; i++) {
        assert_string_not_equal(modq_follow_strerror((modq_follow_result)i), "unknown result");
    }
    assert_string_equal(modq_follow_strerror(MODQ_FOLLOW_RESULT_COUNT), "unknown result");
    rec_destroy(&r);
    modq_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follow_start_ms_delivers_newer_records_once_in_order_then_follows),
        cmocka_unit_test(test_follow_not_caught_up_until_backlog_delivered),
        cmocka_unit_test(test_follow_start_zero_reads_from_the_beginning),
        cmocka_unit_test(test_follow_empty_topic_caught_up_at_once_then_follows),
        cmocka_unit_test(test_follow_missing_topic_caught_up_at_once_and_followed_once_created),
        cmocka_unit_test(test_follow_tombstone_delivered_with_null_value),
        cmocka_unit_test(test_follow_free_during_large_backlog_returns_promptly),
        cmocka_unit_test(test_follow_new_fails_when_the_cluster_is_unreachable),
        cmocka_unit_test(test_follow_refuses_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
