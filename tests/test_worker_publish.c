/*
 * test_worker_publish.c: worker/publish.c, the idempotent producer and its per-message
 * completions, against librdkafka's mock cluster (worker/mock.c): every kind read back with key,
 * value and headers by a plain consumer, exactly one completion per cookie, broker refusals,
 * local refusals, a broker down then up, message timeouts, a full queue, shutdown with messages
 * outstanding, concurrent publishers, and the configuration the module must refuse.
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
#include "mock.h"
#include "publish.h"

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

static void on_delivered(void *arg, void *cookie, int ok, const char *error)
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

static int total(recorder *r)
{
    int n;

    pthread_mutex_lock(&r->lock);
    n = r->total;
    pthread_mutex_unlock(&r->lock);
    return n;
}

static int64_t now_ms(void)
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
static modq_publish_result try_new(fixture *f, const char *const *extra, int queue_wait_ms)
{
    char bootstrap[512];
    char *env[16];
    size_t n = 0;
    modq_publish_opts opts = {on_delivered, &f->rec, NULL, queue_wait_ms};

    snprintf(bootstrap, sizeof bootstrap, "MODQ_KAFKA_BOOTSTRAP_SERVERS=%s",
             modq_mock_bootstrap(f->m));
    env[n++] = bootstrap;
    env[n++] = (char *)(uintptr_t) "MODQ_WORKER_ID=" WORKER_ID;
    for (; extra != NULL && *extra != NULL && n < 15; extra++)
        env[n++] = (char *)(uintptr_t)*extra;
    env[n] = NULL;
    modq_config_free(f->cfg);
    f->cfg = NULL;
    assert_int_equal(modq_config_load_buffer("", 0, "test", env, &f->cfg, f->err, sizeof f->err),
                     MODQ_CONFIG_OK);
    return modq_publish_new(f->cfg, &opts, &f->p, f->err, sizeof f->err);
}

/* A cluster of `brokers` with the four topics (one partition each, led by broker `leader`). */
static void start(fixture *f, int brokers, int leader, const char *const *extra, int queue_wait_ms)
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

static void stop(fixture *f)
{
    modq_publish_free(f->p);
    modq_config_free(f->cfg);
    modq_mock_free(f->m);
    pthread_mutex_destroy(&f->rec.lock);
}

/* Polls until `want` completions in all were seen; fails after WAIT_MS. */
static void await_total(fixture *f, int want)
{
    int64_t deadline = now_ms() + WAIT_MS;

    while (total(&f->rec) < want && now_ms() < deadline)
        modq_publish_poll(f->p, 50);
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

static uint8_t *copy_of(const void *p, size_t n)
{
    uint8_t *c;

    if (p == NULL)
        return NULL;
    c = malloc(n + 1);
    assert_non_null(c);
    memcpy(c, p, n);
    return c;
}

static void record_free(record *r)
{
    free(r->key);
    free(r->value);
    if (r->h != NULL)
        rd_kafka_headers_destroy(r->h);
    memset(r, 0, sizeof *r);
}

/* Reads the message at offset of partition 0 of topic with a plain consumer into *out (caller
 * frees with record_free). The consumer is gone when this returns. */
static void read_back(fixture *f, const char *topic, int64_t offset, record *out)
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
static void assert_header(const record *r, const char *name, const void *value, size_t n)
{
    const void *v = NULL;
    size_t len = 0;

    assert_int_equal(rd_kafka_header_get(r->h, 0, name, &v, &len), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_header_get(r->h, 1, name, &v, &len), RD_KAFKA_RESP_ERR__NOENT);
    assert_int_equal(len, n);
    assert_memory_equal(v, value, n);
}

static void assert_header_str(const record *r, const char *name, const char *value)
{
    assert_header(r, name, value, strlen(value));
}

/* r has exactly this key, value and number of headers. */
static void assert_record(const record *r, const void *key, size_t key_len, const void *value,
                          size_t len, size_t headers)
{
    assert_int_equal(r->key_len, key_len);
    assert_memory_equal(r->key, key, key_len);
    assert_int_equal(r->len, len);
    assert_memory_equal(r->value, value, len);
    assert_int_equal(rd_kafka_header_cnt(r->h), headers);
}

static void assert_counts(fixture *f, modq_publish_kind kind, uint64_t produced, uint64_t delivered,
                          uint64_t failed)
{
    modq_publish_counters c;

    assert_int_equal(modq_publish_counts(f->p, kind, &c), MODQ_PUBLISH_OK);
    assert_int_equal(c.produced, produced);
    assert_int_equal(c.delivered, delivered);
    assert_int_equal(c.failed, failed);
}

static void test_publish_each_kind_reads_back_with_key_value_and_headers(void **state)
{
    static const uint8_t decision[] = {0x0a, 0x03, 't', '-', '1', 0x10, 0x02};
    static const uint8_t wellbeing[] = {0x08, 0x01, 0x12, 0x00};
    static const uint8_t audit[] = {0x0a, 0x05, 'a', 'u', 'd', 'i', 't'};
    static const uint8_t original[] = {0x00, 0xff, 0x13, 0x00, 'b', 'a', 'd'};
    static const uint8_t dl_key[] = {'c', 0x00, 0xfe};
    modq_publish_source src = {"modq.tickets.spam", 3, 1234567890123};
    fixture f;
    record got;

    (void)state;
    start(&f, 1, 1, NULL, 0);
    assert_int_equal(modq_publish_decision(f.p, "content-42", "ticket-7", decision, sizeof decision,
                                           &f.rec.slot[0], f.err, sizeof f.err),
                     MODQ_PUBLISH_OK);
    assert_int_equal(modq_publish_wellbeing(f.p, "associate-9", wellbeing, sizeof wellbeing,
                                            &f.rec.slot[1], f.err, sizeof f.err),
                     MODQ_PUBLISH_OK);
    assert_int_equal(modq_publish_audit(f.p, "ticket-7", audit, sizeof audit, &f.rec.slot[2], f.err,
                                        sizeof f.err),
                     MODQ_PUBLISH_OK);
    assert_int_equal(modq_publish_dead_letter(f.p, original, sizeof original, dl_key, sizeof dl_key,
                                              "malformed_ticket", "protobuf: truncated varint",
                                              &src, &f.rec.slot[3], f.err, sizeof f.err),
                     MODQ_PUBLISH_OK);
    assert_int_equal(modq_publish_flush(f.p, WAIT_MS), 0);
    assert_int_equal(total(&f.rec), 4);
    assert_int_equal(f.rec.stray, 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(f.rec.calls[i], 1);
        assert_int_equal(f.rec.ok[i], 1);
    }

    read_back(&f, "modq.decisions", 0, &got);
    assert_record(&got, "content-42", strlen("content-42"), decision, sizeof decision, 2);
    assert_header_str(&got, MODQ_PUBLISH_H_WORKER, WORKER_ID);
    assert_header_str(&got, MODQ_PUBLISH_H_TICKET, "ticket-7");
    record_free(&got);

    read_back(&f, "modq.wellbeing", 0, &got);
    assert_record(&got, "associate-9", strlen("associate-9"), wellbeing, sizeof wellbeing, 1);
    assert_header_str(&got, MODQ_PUBLISH_H_WORKER, WORKER_ID);
    record_free(&got);

    read_back(&f, "modq.audit", 0, &got);
    assert_record(&got, "ticket-7", strlen("ticket-7"), audit, sizeof audit, 1);
    assert_header_str(&got, MODQ_PUBLISH_H_WORKER, WORKER_ID);
    record_free(&got);

    read_back(&f, "modq.dead-letter", 0, &got);
    assert_record(&got, dl_key, sizeof dl_key, original, sizeof original, 6);
    assert_header_str(&got, MODQ_PUBLISH_H_ERROR, "malformed_ticket");
    assert_header_str(&got, MODQ_PUBLISH_H_REASON, "protobuf: truncated varint");
    assert_header_str(&got, MODQ_PUBLISH_H_SRC_TOPIC, "modq.tickets.spam");
    assert_header_str(&got, MODQ_PUBLISH_H_SRC_PART, "3");
    assert_header_str(&got, MODQ_PUBLISH_H_SRC_OFF, "1234567890123");
    assert_header_str(&got, MODQ_PUBLISH_H_WORKER, WORKER_ID);
    record_free(&got);

    for (int k = 0; k < MODQ_PUBLISH_KIND_COUNT; k++)
        assert_counts(&f, (modq_publish_kind)k, 1, 1, 0);
    assert_int_equal(modq_publish_outstanding(f.p), 0);
    stop(&f);
}

static void test_publish_dead_letter_reason_is_one_line_cut_at_utf8_boundary(void **state)
{
    modq_publish_source src = {"modq.tickets.csam", 0, 0};
    const char *head = "bad image:\r\n\tline two\x7f!";
    const char *want_head = "bad image:   line two !";
    size_t hn = strlen(head);
    char *reason = malloc(hn + 2 * 1000 + 1); /* then 1000 two-byte characters */
    record got;
    const char *v = NULL;
    size_t len = 0;
    fixture f;

    (void)state;
    assert_non_null(reason);
    memcpy(reason, head, hn);
    for (size_t i = 0; i < 1000; i++)
        memcpy(reason + hn + 2 * i, "\xc3\xa9", 2);
    reason[hn + 2000] = '\0';
    start(&f, 1, 1, NULL, 0);
    assert_int_equal(modq_publish_dead_letter(f.p, "x", 1, NULL, 0, "decode_failed", reason, &src,
                                              &f.rec.slot[0], f.err, sizeof f.err),
                     MODQ_PUBLISH_OK);
    await_total(&f, 1);
    assert_int_equal(f.rec.ok[0], 1);
    read_back(&f, "modq.dead-letter", 0, &got);
    assert_null(got.key);
    assert_int_equal(
        rd_kafka_header_get_last(got.h, MODQ_PUBLISH_H_REASON, (const void **)&v, &len),
        RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_true(len <= MODQ_PUBLISH_MAX_REASON);
    assert_true(len > MODQ_PUBLISH_MAX_REASON - 2); /* cut only as far as the boundary needs */
    assert_memory_equal(v, want_head, strlen(want_head));
    for (size_t i = 0; i < len; i++)
        assert_true((unsigned char)v[i] >= 0x20 && (unsigned char)v[i] != 0x7f);
    assert_int_equal((len - hn) % 2, 0); /* whole characters only */
    assert_memory_equal(v + hn, reason + hn, len - hn);
    record_free(&got);
    free(reason);
    stop(&f);
}

static void test_publish_broker_refusal_completes_not_ok_with_its_error(void **state)
{
    fixture f;

    (void)state;
    start(&f, 1, 1, NULL, 0);
    assert_int_equal(
        modq_mock_push_errors(f.m, "Produce", 1, "MSG_SIZE_TOO_LARGE", f.err, sizeof f.err),
        MODQ_MOCK_OK);
    assert_int_equal(
        modq_publish_decision(f.p, "content-1", NULL, "d", 1, &f.rec.slot[0], f.err, sizeof f.err),
        MODQ_PUBLISH_OK);
    await_total(&f, 1);
    assert_int_equal(f.rec.calls[0], 1);
    assert_int_equal(f.rec.ok[0], 0);
    assert_string_equal(f.rec.error[0], rd_kafka_err2str(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE));
    assert_counts(&f, MODQ_PUBLISH_DECISION, 1, 0, 1);

    /* The producer stays usable for the next ticket. */
    assert_int_equal(
        modq_publish_decision(f.p, "content-2", NULL, "e", 1, &f.rec.slot[1], f.err, sizeof f.err),
        MODQ_PUBLISH_OK);
    await_total(&f, 2);
    assert_int_equal(f.rec.ok[1], 1);
    assert_false(modq_publish_fatal(f.p, f.err, sizeof f.err));
    stop(&f);
}

static void test_publish_over_message_max_bytes_completes_not_ok_at_next_poll(void **state)
{
    static const char *const env[] = {"MODQ_KAFKA_MESSAGE_MAX_BYTES=10000", NULL};
    size_t big = 20000;
    uint8_t *value = calloc(1, big);
    modq_publish_source src = {"modq.tickets.spam", 0, 5};
    fixture f;

    (void)state;
    assert_non_null(value);
    start(&f, 1, 1, env, 0);
    assert_int_equal(modq_publish_dead_letter(f.p, value, big, NULL, 0, "message_too_large",
                                              "too big", &src, &f.rec.slot[0], f.err, sizeof f.err),
                     MODQ_PUBLISH_ERR_REFUSED);
    assert_true(modq_publish_will_complete(MODQ_PUBLISH_ERR_REFUSED));
    assert_non_null(strstr(f.err, "modq.dead-letter"));
    assert_int_equal(total(&f.rec), 0); /* never inside the publish call */
    assert_int_equal(modq_publish_outstanding(f.p), 1);
    assert_true(modq_publish_poll(f.p, 0) >= 1);
    assert_int_equal(f.rec.calls[0], 1);
    assert_int_equal(f.rec.ok[0], 0);
    assert_string_equal(f.rec.error[0], rd_kafka_err2str(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE));
    assert_counts(&f, MODQ_PUBLISH_DEAD_LETTER, 0, 0, 1);
    assert_int_equal(modq_publish_outstanding(f.p), 0);
    free(value);
    stop(&f);
}

static void test_publish_broker_down_then_up_completes_only_after_delivery(void **state)
{
    fixture f;
    record got;
    int64_t until;

    (void)state;
    start(&f, 3, 2, NULL, 0);
    assert_int_equal(modq_publish_decision(f.p, "content-a", "t-a", "first", 5, &f.rec.slot[0],
                                           f.err, sizeof f.err),
                     MODQ_PUBLISH_OK);
    await_total(&f, 1);
    assert_int_equal(f.rec.ok[0], 1);

    assert_int_equal(modq_mock_broker_down(f.m, 2, f.err, sizeof f.err), MODQ_MOCK_OK);
    assert_int_equal(modq_publish_decision(f.p, "content-b", "t-b", "second", 6, &f.rec.slot[1],
                                           f.err, sizeof f.err),
                     MODQ_PUBLISH_OK);
    until = now_ms() + 2000;
    while (now_ms() < until)
        modq_publish_poll(f.p, 100);
    assert_int_equal(f.rec.calls[1], 0);
    assert_int_equal(modq_publish_outstanding(f.p), 1);

    assert_int_equal(modq_mock_broker_up(f.m, 2, f.err, sizeof f.err), MODQ_MOCK_OK);
    await_total(&f, 2);
    assert_int_equal(f.rec.calls[1], 1);
    assert_int_equal(f.rec.ok[1], 1);
    read_back(&f, "modq.decisions", 1, &got);
    assert_int_equal(got.len, 6);
    assert_memory_equal(got.value, "second", 6);
    assert_memory_equal(got.key, "content-b", got.key_len);
    record_free(&got);
    assert_counts(&f, MODQ_PUBLISH_DECISION, 2, 2, 0);
    stop(&f);
}

static void test_publish_message_timeout_completes_not_ok(void **state)
{
    static const char *const env[] = {"MODQ_KAFKA_MESSAGE_TIMEOUT_MS=1000", NULL};
    fixture f;

    (void)state;
    start(&f, 3, 2, env, 0);
    assert_int_equal(modq_mock_broker_down(f.m, 2, f.err, sizeof f.err), MODQ_MOCK_OK);
    assert_int_equal(
        modq_publish_audit(f.p, "actor-1", "a", 1, &f.rec.slot[0], f.err, sizeof f.err),
        MODQ_PUBLISH_OK);
    await_total(&f, 1);
    assert_int_equal(f.rec.ok[0], 0);
    assert_string_equal(f.rec.error[0], rd_kafka_err2str(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT));
    assert_counts(&f, MODQ_PUBLISH_AUDIT, 1, 0, 1);
    stop(&f);
}

static void test_publish_full_queue_waits_bounded_then_reports_not_ok(void **state)
{
    static const char *const env[] = {"MODQ_KAFKA_QUEUE_BUFFERING_MAX_MESSAGES=1", NULL};
    fixture f;
    int64_t t0, waited;

    (void)state;
    start(&f, 3, 2, env, 300);
    assert_int_equal(modq_mock_broker_down(f.m, 2, f.err, sizeof f.err), MODQ_MOCK_OK);
    assert_int_equal(
        modq_publish_wellbeing(f.p, "associate-1", "w", 1, &f.rec.slot[0], f.err, sizeof f.err),
        MODQ_PUBLISH_OK);
    t0 = now_ms();
    assert_int_equal(
        modq_publish_wellbeing(f.p, "associate-1", "x", 1, &f.rec.slot[1], f.err, sizeof f.err),
        MODQ_PUBLISH_ERR_QUEUE_FULL);
    waited = now_ms() - t0;
    assert_in_range(waited, 290, 5000);
    assert_int_equal(total(&f.rec), 0);
    modq_publish_poll(f.p, 0);
    assert_int_equal(f.rec.calls[1], 1);
    assert_int_equal(f.rec.ok[1], 0);
    assert_string_equal(f.rec.error[1], rd_kafka_err2str(RD_KAFKA_RESP_ERR__QUEUE_FULL));

    assert_int_equal(modq_mock_broker_up(f.m, 2, f.err, sizeof f.err), MODQ_MOCK_OK);
    await_total(&f, 2);
    assert_int_equal(f.rec.ok[0], 1);
    assert_counts(&f, MODQ_PUBLISH_WELLBEING, 1, 1, 1);
    stop(&f);
}

static void test_publish_free_completes_outstanding_as_shutdown(void **state)
{
    fixture f;
    modq_mock *m;
    modq_config *cfg;

    (void)state;
    start(&f, 3, 2, NULL, 0);
    assert_int_equal(modq_mock_broker_down(f.m, 2, f.err, sizeof f.err), MODQ_MOCK_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(modq_publish_decision(f.p, "content-x", NULL, "d", 1, &f.rec.slot[i],
                                               f.err, sizeof f.err),
                         MODQ_PUBLISH_OK);
    assert_int_equal(modq_publish_flush(f.p, 500), 3);
    assert_int_equal(total(&f.rec), 0);
    /* stop() would free the mock too: free the producer alone first, with the leader down. */
    m = f.m;
    cfg = f.cfg;
    modq_publish_free(f.p);
    assert_int_equal(total(&f.rec), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(f.rec.calls[i], 1);
        assert_int_equal(f.rec.ok[i], 0);
        assert_string_equal(f.rec.error[i], "shutdown");
    }
    modq_config_free(cfg);
    modq_mock_free(m);
    pthread_mutex_destroy(&f.rec.lock);
}

#define THREADS        4
#define PER_THREAD     50
#define THREAD_COOKIES (THREADS * PER_THREAD)

typedef struct worker_arg {
    fixture *f;
    int first;
    int failures;
} worker_arg;

static void *publisher(void *arg)
{
    worker_arg *w = arg;
    char err[256];
    char id[32];

    for (int i = w->first; i < w->first + PER_THREAD; i++) {
        snprintf(id, sizeof id, "content-%d", i);
        if (modq_publish_decision(w->f->p, id, NULL, id, strlen(id), &w->f->rec.slot[i], err,
                                  sizeof err) != MODQ_PUBLISH_OK)
            w->failures++;
    }
    return NULL;
}

static void test_publish_concurrent_publishers_complete_every_cookie_once(void **state)
{
    fixture f;
    pthread_t th[THREADS];
    worker_arg args[THREADS];

    (void)state;
    start(&f, 1, 1, NULL, 0);
    for (int t = 0; t < THREADS; t++) {
        args[t] = (worker_arg){&f, t * PER_THREAD, 0};
        assert_int_equal(pthread_create(&th[t], NULL, publisher, &args[t]), 0);
    }
    for (int i = 0; i < 20; i++) /* completions served while publishers still run */
        modq_publish_poll(f.p, 5);
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(args[t].failures, 0);
    }
    await_total(&f, THREAD_COOKIES);
    assert_int_equal(f.rec.stray, 0);
    for (int i = 0; i < THREAD_COOKIES; i++) {
        assert_int_equal(f.rec.calls[i], 1);
        assert_int_equal(f.rec.ok[i], 1);
    }
    assert_counts(&f, MODQ_PUBLISH_DECISION, THREAD_COOKIES, THREAD_COOKIES, 0);
    stop(&f);
}

/* try_new with one extra variable must be refused, naming `names` in errstr. */
static void assert_refused(fixture *f, const char *var, const char *names)
{
    const char *const env[] = {var, NULL};

    assert_int_equal(try_new(f, env, 0), MODQ_PUBLISH_ERR_CONFIG);
    assert_null(f->p);
    assert_non_null(strstr(f->err, names));
}

static void test_publish_new_refuses_weakened_delivery_guarantees(void **state)
{
    static const char *const accepted[] = {"MODQ_KAFKA_ACKS=-1",
                                           "MODQ_KAFKA_ENABLE_IDEMPOTENCE=true", NULL};
    fixture f;

    (void)state;
    start(&f, 1, 1, NULL, 0);
    modq_publish_free(f.p);
    f.p = NULL;
    assert_refused(&f, "MODQ_KAFKA_ENABLE_IDEMPOTENCE=false", "enable.idempotence");
    assert_refused(&f, "MODQ_KAFKA_ACKS=1", "acks");
    assert_refused(&f, "MODQ_KAFKA_REQUEST_REQUIRED_ACKS=0", "request.required.acks");
    assert_refused(&f, "MODQ_KAFKA_MESSAGE_TIMEOUT_MS=0", "message.timeout.ms");
    assert_refused(&f, "MODQ_KAFKA_TRANSACTIONAL_ID=modq", "transactional.id");
    assert_refused(&f, "MODQ_TOPICS_AUDIT=modq.decisions", "topics.audit");
    /* librdkafka's own refusal of an idempotence-incompatible setting comes through too. */
    {
        const char *const env[] = {"MODQ_KAFKA_MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION=6", NULL};

        assert_int_equal(try_new(&f, env, 0), MODQ_PUBLISH_ERR_KAFKA);
        assert_null(f.p);
        assert_non_null(strstr(f.err, "max.in.flight"));
    }
    assert_int_equal(try_new(&f, accepted, 0), MODQ_PUBLISH_OK);
    assert_non_null(f.p);
    stop(&f);
}

static void test_publish_invalid_arguments_are_refused_without_completion(void **state)
{
    modq_publish_source src = {"modq.tickets.spam", 0, 1};
    modq_publish_source no_topic = {NULL, 0, 1};
    char long_id[MODQ_PUBLISH_MAX_ID + 8];
    modq_publish_opts opts = {NULL, NULL, NULL, 0};
    modq_publish *none = NULL;
    modq_publish_counters c;
    fixture f;
    void *cookie;

    (void)state;
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    start(&f, 1, 1, NULL, 0);
    cookie = &f.rec.slot[0];
    assert_int_equal(modq_publish_new(f.cfg, &opts, &none, f.err, sizeof f.err),
                     MODQ_PUBLISH_ERR_INVALID_ARG);
    assert_null(none);
    assert_int_equal(modq_publish_decision(NULL, "c", NULL, "d", 1, cookie, f.err, sizeof f.err),
                     MODQ_PUBLISH_ERR_INVALID_ARG);
    assert_int_equal(modq_publish_decision(f.p, "", NULL, "d", 1, cookie, f.err, sizeof f.err),
                     MODQ_PUBLISH_ERR_INVALID_ARG);
    assert_int_equal(modq_publish_decision(f.p, long_id, NULL, "d", 1, cookie, f.err, sizeof f.err),
                     MODQ_PUBLISH_ERR_INVALID_ARG);
    assert_int_equal(modq_publish_decision(f.p, "c", NULL, NULL, 1, cookie, f.err, sizeof f.err),
                     MODQ_PUBLISH_ERR_INVALID_ARG);
    assert_int_equal(modq_publish_wellbeing(f.p, NULL, "w", 1, cookie, f.err, sizeof f.err),
                     MODQ_PUBLISH_ERR_INVALID_ARG);
    assert_int_equal(modq_publish_audit(f.p, "", "a", 1, cookie, f.err, sizeof f.err),
                     MODQ_PUBLISH_ERR_INVALID_ARG);
    assert_int_equal(modq_publish_dead_letter(f.p, "x", 1, NULL, 0, "has space", "r", &src, cookie,
                                              f.err, sizeof f.err),
                     MODQ_PUBLISH_ERR_INVALID_ARG);
    assert_int_equal(
        modq_publish_dead_letter(f.p, "x", 1, NULL, 0, "", "r", &src, cookie, f.err, sizeof f.err),
        MODQ_PUBLISH_ERR_INVALID_ARG);
    assert_int_equal(modq_publish_dead_letter(f.p, "x", 1, NULL, 0, "code", NULL, &src, cookie,
                                              f.err, sizeof f.err),
                     MODQ_PUBLISH_ERR_INVALID_ARG);
    assert_int_equal(modq_publish_dead_letter(f.p, "x", 1, NULL, 0, "code", "r", &no_topic, cookie,
                                              f.err, sizeof f.err),
                     MODQ_PUBLISH_ERR_INVALID_ARG);
    assert_false(modq_publish_will_complete(MODQ_PUBLISH_ERR_INVALID_ARG));
    assert_int_equal(modq_publish_counts(f.p, MODQ_PUBLISH_KIND_COUNT, &c),
                     MODQ_PUBLISH_ERR_INVALID_ARG);
    assert_int_equal(modq_publish_flush(f.p, 100), 0);
    assert_int_equal(total(&f.rec), 0);
    assert_string_equal(modq_publish_strerror(MODQ_PUBLISH_RESULT_COUNT), "unknown result");
    stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_each_kind_reads_back_with_key_value_and_headers),
        cmocka_unit_test(test_publish_dead_letter_reason_is_one_line_cut_at_utf8_boundary),
        cmocka_unit_test(test_publish_broker_refusal_completes_not_ok_with_its_error),
        cmocka_unit_test(test_publish_over_message_max_bytes_completes_not_ok_at_next_poll),
        cmocka_unit_test(test_publish_broker_down_then_up_completes_only_after_delivery),
        cmocka_unit_test(test_publish_message_timeout_completes_not_ok),
        cmocka_unit_test(test_publish_full_queue_waits_bounded_then_reports_not_ok),
        cmocka_unit_test(test_publish_free_completes_outstanding_as_shutdown),
        cmocka_unit_test(test_publish_concurrent_publishers_complete_every_cookie_once),
        cmocka_unit_test(test_publish_new_refuses_weakened_delivery_guarantees),
        cmocka_unit_test(test_publish_invalid_arguments_are_refused_without_completion),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
