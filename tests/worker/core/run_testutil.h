/*
 * run_testutil.h: the fixture shared by the tests of worker/core/run*.c: an in-process mock Kafka
 * cluster with the queue, decisions and dead-letter topics, the shipped policy, a hash bank
 * holding one of two synthetic images, the worker's configuration for them, and plain
 * librdkafka clients to produce tickets and read back what the worker published.
 */
#ifndef MODQ_RUN_TESTUTIL_H
#define MODQ_RUN_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "desk/desk.h"
#include "dev/mock.h"
#include "modq_blur.h"
#include "modq_policy.h"
#include "proto/modq.pb-c.h"
#include "core/run.h"
#include "ticket_testutil.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS     30000 /* the longest any one phase may take */
#define T_BANNED    "modq.tickets.violent_extremism"
#define T_REVIEW    "modq.tickets.self_harm"
#define T_DECISIONS "modq.decisions"
#define T_DLQ       "modq.dead-letter"
#define GROUP       "modq-run-test"
#define MAX_READ    16

static const char *const extra[] = {"session.timeout.ms", "6000", "heartbeat.interval.ms", "500",
                                    "fetch.wait.max.ms",  "100"};

typedef struct fixture {
    modq_mock *m;
    modq_config *cfg, *cfg2; /* cfg2: a test's own, freed in teardown */
    modq_policy *policy;
    modq_run *r;
    FILE *log;
    char bank[64];
    char helper[512]; /* the media sandbox's helper program (the test build's, in sandbox tests) */
    uint8_t *img, *banned;
    size_t img_len, banned_len;
} fixture;

/* The worker's options in these tests: quick group timings, its log into f->log, and stuck_ms
 * before the desk pauses (0: the worker's default). */
static inline modq_run_opts run_opts(const fixture *f, int64_t stuck_ms)
{
    return (modq_run_opts){.consumer_extra = extra,
                           .consumer_nextra = sizeof extra / sizeof extra[0] / 2,
                           .log_out = f->log,
                           .stuck_ms = stuck_ms};
}

static inline int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk, (void)level, (void)fac, (void)buf;
}

/* A plain librdkafka client of the mock (producer or, with group, consumer). */
static inline rd_kafka_t *client(const fixture *f, rd_kafka_type_t type, const char *group)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(
        rd_kafka_conf_set(conf, "bootstrap.servers", modq_mock_bootstrap(f->m), err, sizeof err),
        RD_KAFKA_CONF_OK);
    if (group) {
        assert_int_equal(rd_kafka_conf_set(conf, "group.id", group, err, sizeof err),
                         RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err),
                         RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err),
                         RD_KAFKA_CONF_OK);
    }
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    assert_non_null(rk);
    return rk;
}

/* Produces one message to partition 0 of topic and waits until the broker has it. */
static inline void produce(const fixture *f, const char *topic, const char *key, const void *v,
                           size_t len)
{
    rd_kafka_t *rk = client(f, RD_KAFKA_PRODUCER, NULL);
    assert_int_equal(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                                       RD_KAFKA_V_KEY(key, strlen(key)),
                                       RD_KAFKA_V_VALUE((void *)(uintptr_t)v, len),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(rk);
}

/* Hands every message of one partition of topic, from the beginning, to check(msg, arg) (the
 * client must outlive them: rd_kafka_destroy waits for its messages); returns how many. */
static inline size_t read_partition(const fixture *f, const char *topic, int32_t partition,
                                    void (*check)(const rd_kafka_message_t *, void *), void *arg)
{
    rd_kafka_t *rk = client(f, RD_KAFKA_CONSUMER, "modq-run-reader");
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    int64_t deadline = now_ms() + WAIT_MS;
    size_t n = 0;

    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(rk, l), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(l);
    for (;;) {
        assert_true(now_ms() < deadline);
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 100);
        if (msg == NULL) {
            continue;
        }
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(msg);
            break;
        }
        assert_int_equal(msg->err, RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_true(n < MAX_READ);
        n++;
        check(msg, arg);
        rd_kafka_message_destroy(msg);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return n;
}

static inline size_t read_topic(const fixture *f, const char *topic,
                                void (*check)(const rd_kafka_message_t *, void *), void *arg)
{
    return read_partition(f, topic, 0, check, arg);
}

/* The value of header name of msg, as a string in buf. */
static inline const char *header(const rd_kafka_message_t *msg, const char *name, char *buf,
                                 size_t size)
{
    rd_kafka_headers_t *h = NULL;
    const void *v = NULL;
    size_t len = 0;
    assert_int_equal(rd_kafka_message_headers(msg, &h), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_header_get_last(h, name, &v, &len), RD_KAFKA_RESP_ERR_NO_ERROR);
    snprintf(buf, size, "%.*s", (int)len, (const char *)v);
    return buf;
}

/* Steps r until done(r) or the deadline (which fails the test). */
/* What a person waiting for a decision's answer was told (modq_desk_decide_then). */
typedef struct fates {
    atomic_int n;
    atomic_int last; /* a modq_desk_fate */
} fates;

static inline void record_fate(void *arg, modq_desk_fate fate)
{
    fates *x = arg;
    atomic_store(&x->last, (int)fate);
    atomic_fetch_add(&x->n, 1);
}

static inline void step_until(fixture *f, int (*done)(modq_run *))
{
    int64_t deadline = now_ms() + WAIT_MS;
    while (!done(f->r)) {
        assert_true(now_ms() < deadline);
        assert_int_equal(modq_run_step(f->r, 50), MODQ_RUN_OK);
    }
}

static inline void step_for(fixture *f, int ms)
{
    int64_t end = now_ms() + ms;
    while (now_ms() < end) {
        assert_int_equal(modq_run_step(f->r, 50), MODQ_RUN_OK);
    }
}

/* The worker's configuration for f's cluster, bank and sandbox helper, with more YAML at the end
 * (may be ""): new sections, or indented keys that go on the sandbox section, which is last. */
static inline int load_config(const fixture *f, const char *more, modq_config **out)
{
    char err[512] = "", env0[512], yaml[2048];
    /* After a broker comes back, a client in librdkafka's reconnect backoff (up to 10 s by
     * default) may not see it for seconds: a drain right after could not commit (one run in
     * five of test_worker_run_pause under TSan). 1 s keeps the tests' waits short. */
    const char *env[] = {env0, "MODQ_KAFKA_RECONNECT_BACKOFF_MAX_MS=1000", NULL};

    snprintf(env0, sizeof env0, "MODQ_KAFKA_BOOTSTRAP_SERVERS=%s", modq_mock_bootstrap(f->m));
    snprintf(yaml, sizeof yaml,
             "worker:\n  id: w-run\n  prepare_threads: 2\n  window_per_queue: 8\n"
             "kafka:\n  log_level: 3\n"
             "consumer:\n  group_id: " GROUP "\n"
             "banks:\n  - name: gifct-sample\n    file: %s\n    verdict: remove\n"
             "    labels: [terror]\n"
             "log:\n  level: info\n"
             "sandbox:\n  helper: \"%s\"\n%s",
             f->bank, f->helper, more);
    if (modq_config_load_buffer(yaml, strlen(yaml), "t.yaml", env, out, err, sizeof err) !=
        MODQ_CONFIG_OK) {
        print_error("%s\n", err);
        return -1;
    }
    return 0;
}

static inline int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *src = getenv("MODQ_SOURCE_DIR"), *build = getenv("MODQ_BUILD_DIR");
    char path[512], err[512] = "";
    modq_media_opts *opts = NULL;
    modq_media *m = NULL;
    FILE *fp;
    int fd;

    if (f == NULL || src == NULL || build == NULL || modq_blur_init("test") != MODQ_BLUR_OK) {
        return -1;
    }
    snprintf(f->helper, sizeof f->helper, "%s/modq-media-sandbox", build);
    snprintf(path, sizeof path, "%s/policy/default.yaml", src);
    if (modq_policy_load_file(path, &f->policy, err, sizeof err) != MODQ_POLICY_OK) {
        print_error("%s\n", err);
        return -1;
    }
    /* Two synthetic images; the second one's SHA-256 goes into the bank. */
    opts = modq_opts_new();
    if (modq_synth_image(MODQ_SYNTH_SHAPES, 320, 240, 1, "jpeg", &f->img, &f->img_len) ||
        modq_synth_image(MODQ_SYNTH_SHAPES, 320, 240, 2, "jpeg", &f->banned, &f->banned_len) ||
        opts == NULL || modq_media_process(opts, f->banned, f->banned_len, &m, NULL, 0)) {
        return -1;
    }
    snprintf(f->bank, sizeof f->bank, "/tmp/modq-run-bank-XXXXXX");
    if ((fd = mkstemp(f->bank)) < 0 || (fp = fdopen(fd, "w")) == NULL) {
        return -1;
    }
    fprintf(fp, "sha256 %s\n", modq_media_sha256_hex(m));
    fclose(fp);
    modq_media_free(m);
    modq_opts_free(opts);

    if (modq_mock_new(1, NULL, &f->m, err, sizeof err) != MODQ_MOCK_OK) {
        return -1;
    }
    for (size_t i = 0; i < modq_policy_queue_count(f->policy); i++) {
        modq_mock_topic_create(f->m, modq_policy_queue_topic(f->policy, i), 1, 1, err, sizeof err);
    }
    modq_mock_topic_create(f->m, T_DECISIONS, 1, 1, err, sizeof err);
    modq_mock_topic_create(f->m, T_DLQ, 1, 1, err, sizeof err);
    if (load_config(f, "", &f->cfg) != 0) {
        return -1;
    }
    f->log = tmpfile();
    *state = f;
    return f->log ? 0 : -1;
}

/* Whether a line of the worker's log so far holds text. */
static inline int log_has(fixture *f, const char *text)
{
    char line[2048];
    int found = 0;
    fflush(f->log);
    rewind(f->log);
    while (!found && fgets(line, sizeof line, f->log)) {
        found = strstr(line, text) != NULL;
    }
    fseek(f->log, 0, SEEK_END);
    return found;
}

/* Prints the worker's log (for ctest --output-on-failure). */
static inline void dump_log(fixture *f)
{
    char line[1024];
    rewind(f->log);
    while (fgets(line, sizeof line, f->log)) {
        print_message("log: %s", line);
    }
}

static inline int teardown(void **state)
{
    fixture *f = *state;
    modq_run_free(f->r);
    if (f->log) {
        dump_log(f);
    }
    modq_config_free(f->cfg);
    modq_config_free(f->cfg2);
    modq_policy_free(f->policy);
    modq_mock_free(f->m);
    modq_synth_free(f->img);
    modq_synth_free(f->banned);
    unlink(f->bank);
    if (f->log) {
        fclose(f->log);
    }
    free(f);
    return 0;
}

static inline int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int n_in_review(modq_run *r, size_t n)
{
    modq_run_counters c;
    modq_run_counts(r, &c);
    return c.review == n;
}

static inline int one_in_review(modq_run *r)
{
    return n_in_review(r, 1);
}

static inline int paused(modq_run *r)
{
    return modq_run_paused(r);
}

static inline int resumed(modq_run *r)
{
    return !modq_run_paused(r);
}

/* Decisions read back: each must be a1's decision of the ticket named. */
typedef struct decided_by_a1 {
    const char *ticket_id;
    int n;
} decided_by_a1;

static inline void count_a1(const rd_kafka_message_t *msg, void *arg)
{
    decided_by_a1 *want = arg;
    Modq__V1__Decision *d = modq__v1__decision__unpack(NULL, msg->len, msg->payload);
    assert_non_null(d);
    assert_string_equal(d->ticket_id, want->ticket_id);
    assert_string_equal(d->decided_by, "a1");
    want->n++;
    modq__v1__decision__free_unpacked(d, NULL);
}

#endif
