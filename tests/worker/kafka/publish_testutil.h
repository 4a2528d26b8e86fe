/* publish_testutil.h: helpers shared by the tests of worker/kafka/publish.c: a mock cluster, a
 * recorder of delivery completions, and reading published records back with a plain consumer. */
#ifndef MODQ_PUBLISH_TESTUTIL_H
#define MODQ_PUBLISH_TESTUTIL_H

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
#include "dev/mock.h"
#include "kafka/publish.h"

#define WAIT_MS     15000 /* the longest any one step may take before the test fails */
#define MAX_COOKIES 256
#define WORKER_ID   "worker-under-test"

/* Completions seen, per cookie: cookie i is &rec->slot[i]. */
typedef struct recorder {
    pthread_mutex_t lock;
    int slot[MAX_COOKIES];
    int calls[MAX_COOKIES];
    int ok[MAX_COOKIES];
    char error[MAX_COOKIES][128];
    int total;
    int stray; /* completions for cookies that are not ours */
} recorder;

static inline void on_delivered(void *arg, void *cookie, int ok, const char *error)
{
    recorder *r = arg;
    int *c = cookie;

    pthread_mutex_lock(&r->lock);
    if (c < r->slot || c >= r->slot + MAX_COOKIES) {
        r->stray++;
    } else {
        size_t i = (size_t)(c - r->slot);

        r->calls[i]++;
        r->ok[i] = ok;
        snprintf(r->error[i], sizeof r->error[i], "%s", error != NULL ? error : "(null)");
    }
    r->total++;
    pthread_mutex_unlock(&r->lock);
}

static inline int total(recorder *r)
{
    int n;

    pthread_mutex_lock(&r->lock);
    n = r->total;
    pthread_mutex_unlock(&r->lock);
    return n;
}

static inline int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One cluster, one config, one producer and its recorder. */
typedef struct fixture {
    modq_mock *m;
    modq_config *cfg;
    modq_publish *p;
    recorder rec;
    char err[512];
} fixture;

/* Loads a config for m from extra "MODQ_..." entries (NULL-ended) and tries to make a producer. */
static inline modq_publish_result try_new(fixture *f, const char *const *extra, int queue_wait_ms)
{
    char bootstrap[512];
    const char *env[16];
    size_t n = 0;
    modq_publish_opts opts = {on_delivered, &f->rec, NULL, queue_wait_ms};

    snprintf(bootstrap, sizeof bootstrap, "MODQ_KAFKA_BOOTSTRAP_SERVERS=%s",
             modq_mock_bootstrap(f->m));
    env[n++] = bootstrap;
    env[n++] = "MODQ_WORKER_ID=" WORKER_ID;
    for (; extra != NULL && *extra != NULL && n < 15; extra++) {
        env[n++] = *extra;
    }
    env[n] = NULL;
    modq_config_free(f->cfg);
    f->cfg = NULL;
    assert_int_equal(modq_config_load_buffer("", 0, "test", env, &f->cfg, f->err, sizeof f->err),
                     MODQ_CONFIG_OK);
    return modq_publish_new(f->cfg, &opts, &f->p, f->err, sizeof f->err);
}

/* A cluster of `brokers` with the four topics (one partition each, led by broker `leader`). */
static inline void start(fixture *f, int brokers, int leader, const char *const *extra,
                         int queue_wait_ms)
{
    static const char *const topics[] = {"modq.decisions", "modq.wellbeing", "modq.audit",
                                         "modq.dead-letter"};

    memset(f, 0, sizeof *f);
    assert_int_equal(pthread_mutex_init(&f->rec.lock, NULL), 0);
    assert_int_equal(modq_mock_new(brokers, NULL, &f->m, f->err, sizeof f->err), MODQ_MOCK_OK);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(modq_mock_topic_create(f->m, topics[i], 1, brokers, f->err, sizeof f->err),
                         MODQ_MOCK_OK);
        assert_int_equal(
            modq_mock_partition_leader(f->m, topics[i], 0, leader, f->err, sizeof f->err),
            MODQ_MOCK_OK);
    }
    assert_int_equal(try_new(f, extra, queue_wait_ms), MODQ_PUBLISH_OK);
    assert_non_null(f->p);
}

static inline void stop(fixture *f)
{
    modq_publish_free(f->p);
    modq_config_free(f->cfg);
    modq_mock_free(f->m);
    pthread_mutex_destroy(&f->rec.lock);
}

/* Polls until `want` completions in all were seen; fails after WAIT_MS. */
static inline void await_total(fixture *f, int want)
{
    int64_t deadline = now_ms() + WAIT_MS;

    while (total(&f->rec) < want && now_ms() < deadline) {
        modq_publish_poll(f->p, 50);
    }
    assert_int_equal(total(&f->rec), want);
}

/* A record read back: copies, independent of the consumer that read it. */
typedef struct record {
    uint8_t *key; /* NULL when the message had none */
    size_t key_len;
    uint8_t *value;
    size_t len;
    rd_kafka_headers_t *h;
} record;

static inline uint8_t *copy_of(const void *p, size_t n)
{
    uint8_t *c;

    if (p == NULL) {
        return NULL;
    }
    c = malloc(n + 1);
    assert_non_null(c);
    memcpy(c, p, n);
    return c;
}

static inline void record_free(record *r)
{
    free(r->key);
    free(r->value);
    if (r->h != NULL) {
        rd_kafka_headers_destroy(r->h);
    }
    memset(r, 0, sizeof *r);
}

/* Reads the message at offset of partition 0 of topic with a plain consumer into *out (caller
 * frees with record_free). The consumer is gone when this returns. */
static inline void read_back(fixture *f, const char *topic, int64_t offset, record *out)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_message_t *msg = NULL;
    rd_kafka_headers_t *h = NULL;
    char err[256];
    rd_kafka_t *c;
    int64_t deadline = now_ms() + WAIT_MS;

    assert_int_equal(
        rd_kafka_conf_set(conf, "bootstrap.servers", modq_mock_bootstrap(f->m), err, sizeof err),
        RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "group.id", "read-back", err, sizeof err),
                     RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err),
                     RD_KAFKA_CONF_OK);
    c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(c);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = offset;
    assert_int_equal(rd_kafka_assign(c, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
    while (msg == NULL && now_ms() < deadline) {
        msg = rd_kafka_consumer_poll(c, 100);
        if (msg != NULL && msg->err) {
            rd_kafka_message_destroy(msg);
            msg = NULL;
        }
    }
    assert_non_null(msg);
    assert_int_equal(msg->offset, offset);
    out->key = copy_of(msg->key, msg->key_len);
    out->key_len = msg->key_len;
    out->value = copy_of(msg->payload, msg->len);
    out->len = msg->len;
    assert_int_equal(rd_kafka_message_headers(msg, &h), RD_KAFKA_RESP_ERR_NO_ERROR);
    out->h = rd_kafka_headers_copy(h);
    rd_kafka_message_destroy(msg); /* before destroy, which waits for every message of c */
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
}

/* Header name occurs exactly once in r, with value (n bytes). */
static inline void assert_header(const record *r, const char *name, const void *value, size_t n)
{
    const void *v = NULL;
    size_t len = 0;

    assert_int_equal(rd_kafka_header_get(r->h, 0, name, &v, &len), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_header_get(r->h, 1, name, &v, &len), RD_KAFKA_RESP_ERR__NOENT);
    assert_int_equal(len, n);
    assert_memory_equal(v, value, n);
}

static inline void assert_header_str(const record *r, const char *name, const char *value)
{
    assert_header(r, name, value, strlen(value));
}

/* r has exactly this key, value and number of headers. */
static inline void assert_record(const record *r, const void *key, size_t key_len,
                                 const void *value, size_t len, size_t headers)
{
    assert_int_equal(r->key_len, key_len);
    assert_memory_equal(r->key, key, key_len);
    assert_int_equal(r->len, len);
    assert_memory_equal(r->value, value, len);
    assert_int_equal(rd_kafka_header_cnt(r->h), headers);
}

static inline void assert_counts(fixture *f, modq_publish_kind kind, uint64_t produced,
                                 uint64_t delivered, uint64_t failed)
{
    modq_publish_counters c;

    assert_int_equal(modq_publish_counts(f->p, kind, &c), MODQ_PUBLISH_OK);
    assert_int_equal(c.produced, produced);
    assert_int_equal(c.delivered, delivered);
    assert_int_equal(c.failed, failed);
}

#endif
