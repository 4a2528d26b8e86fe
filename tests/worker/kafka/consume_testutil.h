/* consume_testutil.h: helpers shared by the tests of worker/kafka/consume*.c: a mock cluster, sinks
 * that play the worker's queues, producing and polling with bounded waits. */
#ifndef MODQ_CONSUME_TESTUTIL_H
#define MODQ_CONSUME_TESTUTIL_H

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
    int *refused;             /* shared: commits the group refused (NULL: none may be) */
    int again;                /* completed tickets delivered again after such a refusal */
    int kafka_errors;         /* consumer error events poll_once met */
    int kafka_errors_max;     /* how many the test expects at most (0 unless it says) */
} sink;

static inline int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void handler(void *arg, rd_kafka_message_t *msg)
{
    sink *s = arg;
    assert_in_range(msg->partition, 0, NPART - 1);
    assert_in_range(msg->offset, 0, MAXOFF - 1);
    /* A completed ticket is never shown again, unless the group refused the commit that
     * carried it (the at-least-once path: the worker's decided set answers it then). */
    if (s->completed[msg->partition][msg->offset]) {
        assert_true(s->refused != NULL && *s->refused > 0);
        s->again++;
    }
    s->delivered[msg->partition][msg->offset]++;
    assert_true(s->n < SINKMAX);
    s->msgs[s->n++] = msg;
    if (s->n > s->max_n) {
        s->max_n = s->n;
    }
}

static inline void on_revoked(void *arg, const char *topic, int32_t partition)
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
static inline void complete_at(sink *s, size_t i)
{
    rd_kafka_message_t *m = s->msgs[i];
    assert_int_equal(
        modq_consume_complete(s->c, rd_kafka_topic_name(m->rkt), m->partition, m->offset),
        MODQ_CONSUME_OK);
    assert_true(s->completed[m->partition][m->offset] == 0 ||
                (s->refused != NULL && *s->refused > 0));
    s->completed[m->partition][m->offset] = 1;
    rd_kafka_message_destroy(m);
    s->msgs[i] = s->msgs[--s->n];
}

static inline uint32_t rnd(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

/* Completes the held messages in a random order, except those keep() says to hold back. */
static inline void complete_shuffled(sink *s, uint32_t *seed, int (*keep)(int32_t, int64_t))
{
    for (size_t i = s->n; i > 1; i--) {
        size_t j = rnd(seed) % i;
        rd_kafka_message_t *t = s->msgs[i - 1];
        s->msgs[i - 1] = s->msgs[j];
        s->msgs[j] = t;
    }
    /* From the end, so that complete_at's swap only brings back a message already seen. */
    for (size_t i = s->n; i > 0; i--) {
        if (keep == NULL || !keep(s->msgs[i - 1]->partition, s->msgs[i - 1]->offset)) {
            complete_at(s, i - 1);
        }
    }
}

static inline void drop_all(sink *s)
{
    while (s->n > 0) {
        rd_kafka_message_destroy(s->msgs[--s->n]);
    }
}

static inline modq_mock *start(const char *topic)
{
    modq_mock *m = NULL;
    char err[256] = "";
    assert_int_equal(modq_mock_new(1, NULL, &m, err, sizeof err), MODQ_MOCK_OK);
    assert_int_equal(modq_mock_topic_create(m, topic, NPART, 1, err, sizeof err), MODQ_MOCK_OK);
    return m;
}

static inline modq_config *config_cap(const modq_mock *m, const char *group, int window, int cap)
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

static inline modq_config *config(const modq_mock *m, const char *group, int window)
{
    return config_cap(m, group, window, 3000);
}

static inline void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk, (void)level, (void)fac, (void)buf;
}

/* Produces n messages to topic, message i to partition i % NPART (or all to `only` >= 0). */
static inline void produce(const modq_mock *m, const char *topic, int n, int32_t only)
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

/* MODQ_TEST_KAFKA_DEBUG=cgrp,... (librdkafka's debug contexts) prints the consumers' logs with
 * the time and the sink, to see a rebalance that went wrong. */
static inline void debug_log(void *arg, int level, const char *fac, const char *text)
{
    fprintf(stderr, "%lld %p %d %s %s\n", (long long)now_ms(), arg, level, fac, text);
}

/* Counts what the consumer reports: unusable metadata by partition, and the commits the group
 * refused into the shared counter when the test keeps one. */
static inline void on_problem(void *arg, modq_consume_problem kind, const char *topic,
                              int32_t partition, const char *text)
{
    sink *s = arg;
    (void)topic;
    assert_true(text[0] != '\0');
    if (kind == MODQ_CONSUME_PROBLEM_METADATA && partition >= 0 && partition < NPART) {
        s->metadata_problems[partition]++;
    }
    if (kind == MODQ_CONSUME_PROBLEM_COMMIT && s->refused != NULL) {
        (*s->refused)++;
    }
}

static inline modq_consume *consumer(const modq_config *cfg, const char *topic, sink *s)
{
    modq_consume_callbacks cb = {.on_revoked = on_revoked, .on_problem = on_problem, .arg = s};
    modq_consume *c = NULL;
    char err[512] = "";
    const char *topics[] = {topic};
    const char *debug = getenv("MODQ_TEST_KAFKA_DEBUG");
    const char *dextra[2 * NEXTRA + 2];
    size_t n = NEXTRA;
    memcpy(dextra, extra, sizeof extra);
    if (debug != NULL && debug[0] != '\0') {
        cb.on_log = debug_log;
        dextra[2 * NEXTRA - 1] = "7"; /* log_level, the last of extra */
        dextra[2 * NEXTRA] = "debug";
        dextra[2 * NEXTRA + 1] = debug;
        n++;
    }
    modq_consume_result r = modq_consume_new(cfg, topics, 1, dextra, n, &cb, &c, err, sizeof err);
    if (r != MODQ_CONSUME_OK) {
        print_error("modq_consume_new: %s\n", err);
    }
    assert_int_equal(r, MODQ_CONSUME_OK);
    s->c = c;
    return c;
}

/* One poll. A consumer error event (MODQ_CONSUME_ERR_KAFKA) is counted and shown, and allowed
 * only up to the sink's kafka_errors_max: a test with one consumer on a healthy mock cluster
 * expects none, one that makes the group rebalance says how many it may meet. */
static inline void poll_once(sink *s, int timeout_ms)
{
    char err[512] = "";
    modq_consume_result r = modq_consume_poll(s->c, timeout_ms, handler, s, err, sizeof err);
    if (r == MODQ_CONSUME_ERR_KAFKA) {
        s->kafka_errors++;
        print_message("consumer %p: %s (%d of at most %d)\n", (void *)s, err, s->kafka_errors,
                      s->kafka_errors_max);
        assert_true(s->kafka_errors <= s->kafka_errors_max);
        return;
    }
    assert_int_equal(r, MODQ_CONSUME_OK);
}

static inline int count(const int (*a)[MAXOFF])
{
    int n = 0;
    for (int p = 0; p < NPART; p++) {
        for (int o = 0; o < MAXOFF; o++) {
            n += a[p][o];
        }
    }
    return n;
}

static inline void commit_sync(modq_consume *c)
{
    char err[512] = "";
    modq_consume_result r = modq_consume_commit(c, true, err, sizeof err);
    if (r != MODQ_CONSUME_OK) {
        print_error("commit: %s\n", err);
    }
    assert_int_equal(r, MODQ_CONSUME_OK);
}

static inline void close_free(modq_consume *c)
{
    char err[512] = "";
    assert_int_equal(modq_consume_close(c, err, sizeof err), MODQ_CONSUME_OK);
    modq_consume_free(c);
}

/* Polls s until want messages were delivered in all, then for quiet_ms more (nothing else may
 * come meanwhile when settle is set: the caller checks the totals). */
static inline void poll_until_delivered(sink *s, int want, int quiet_ms)
{
    int64_t end = now_ms() + WAIT_MS;
    while (count((const int(*)[MAXOFF])s->delivered) < want && now_ms() < end) {
        poll_once(s, 100);
    }
    assert_int_equal(count((const int(*)[MAXOFF])s->delivered), want);
    for (int64_t q = now_ms() + quiet_ms; now_ms() < q;) {
        poll_once(s, 100);
    }
}

static inline int hold_back(int32_t p, int64_t o)
{
    return (p * 1000 + o) % 9 == 4;
}

#endif
