/*
 * test_worker_run.c: the worker loop (worker/run.c) end to end against an in-process mock Kafka
 * cluster, with the shipped policy and a hash bank: a bank-matched ticket is decided without a
 * person, a malformed and an SVG ticket are dead-lettered with their original bytes, a good ticket
 * is held for review (its offset not committed), a redelivered decided ticket completes as a
 * duplicate, and after a drain the committed offsets say exactly that. While Kafka confirms
 * nothing, the desk hands out no new item, and resumes by itself once Kafka is back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "desk.h"
#include "mock.h"
#include "modq_blur.h"
#include "modq_policy.h"
#include "proto/modq.pb-c.h"
#include "run.h"
#include "ticket_testutil.h"

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
    modq_config *cfg;
    modq_policy *policy;
    modq_run *r;
    FILE *log;
    char bank[64];
    uint8_t *img, *banned;
    size_t img_len, banned_len;
} fixture;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk, (void)level, (void)fac, (void)buf;
}

/* A plain librdkafka client of the mock (producer or, with group, consumer). */
static rd_kafka_t *client(const fixture *f, rd_kafka_type_t type, const char *group)
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
static void produce(const fixture *f, const char *topic, const char *key, const void *v, size_t len)
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

/* Hands every message of partition 0 of topic, from the beginning, to check(msg, arg) (the client
 * must outlive them: rd_kafka_destroy waits for its messages); returns how many. */
static size_t read_topic(const fixture *f, const char *topic,
                         void (*check)(const rd_kafka_message_t *, void *), void *arg)
{
    rd_kafka_t *rk = client(f, RD_KAFKA_CONSUMER, "modq-run-reader");
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    int64_t deadline = now_ms() + WAIT_MS;
    size_t n = 0;

    rd_kafka_topic_partition_list_add(l, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(rk, l), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(l);
    for (;;) {
        assert_true(now_ms() < deadline);
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 100);
        if (msg == NULL)
            continue;
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

/* The value of header name of msg, as a string in buf. */
static const char *header(const rd_kafka_message_t *msg, const char *name, char *buf, size_t size)
{
    rd_kafka_headers_t *h = NULL;
    const void *v = NULL;
    size_t len = 0;
    assert_int_equal(rd_kafka_message_headers(msg, &h), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_header_get_last(h, name, &v, &len), RD_KAFKA_RESP_ERR_NO_ERROR);
    snprintf(buf, size, "%.*s", (int)len, (const char *)v);
    return buf;
}

static void check_decision(const rd_kafka_message_t *msg, void *arg)
{
    char buf[128];
    Modq__V1__Decision *d = modq__v1__decision__unpack(NULL, msg->len, msg->payload);
    (void)arg;
    assert_non_null(d);
    assert_string_equal(d->ticket_id, "t-banned");
    assert_true(d->auto_decided);
    assert_int_equal(d->verdict, MODQ__V1__VERDICT__VERDICT_REMOVE);
    assert_string_equal(d->decided_by, "gifct-sample");
    assert_string_equal(header(msg, "modq-ticket", buf, sizeof buf), "t-banned");
    modq__v1__decision__free_unpacked(d, NULL);
}

/* What the dead letters should hold, and which were seen. */
typedef struct dl_seen {
    const uint8_t *svg_ticket;
    size_t svg_len;
    int malformed, blocked;
} dl_seen;

static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};

static void check_dead_letter(const rd_kafka_message_t *msg, void *arg)
{
    dl_seen *ds = arg;
    char code[64], buf[128];

    header(msg, "modq-error", code, sizeof code);
    if (strcmp(code, "malformed_ticket") == 0) {
        ds->malformed++;
        assert_int_equal(msg->len, sizeof junk);
        assert_memory_equal(msg->payload, junk, sizeof junk);
        assert_int_equal(msg->key_len, 6);
        assert_memory_equal(msg->key, "k-junk", 6);
        assert_string_equal(header(msg, "modq-source-offset", buf, sizeof buf), "1");
    } else {
        assert_string_equal(code, "blocked_format");
        ds->blocked++;
        assert_int_equal(msg->len, ds->svg_len);
        assert_memory_equal(msg->payload, ds->svg_ticket, ds->svg_len);
        assert_int_equal(msg->key_len, 5);
        assert_memory_equal(msg->key, "k-svg", 5);
        assert_string_equal(header(msg, "modq-source-offset", buf, sizeof buf), "2");
    }
    assert_string_equal(header(msg, "modq-source-topic", buf, sizeof buf), T_BANNED);
    assert_string_equal(header(msg, "modq-source-partition", buf, sizeof buf), "0");
}

/* Steps r until done(r) or the deadline (which fails the test). */
static void step_until(fixture *f, int (*done)(modq_run *))
{
    int64_t deadline = now_ms() + WAIT_MS;
    while (!done(f->r)) {
        assert_true(now_ms() < deadline);
        assert_int_equal(modq_run_step(f->r, 50), MODQ_RUN_OK);
    }
}

static void step_for(fixture *f, int ms)
{
    int64_t end = now_ms() + ms;
    while (now_ms() < end)
        assert_int_equal(modq_run_step(f->r, 50), MODQ_RUN_OK);
}

/* The first phase is done: one decision, two dead letters confirmed, one review item. */
static int first_done(modq_run *r)
{
    modq_run_counters c;
    modq_run_counts(r, &c);
    return c.auto_decided == 1 && c.dead_letter == 2 && c.confirmed == 3 && c.review == 1;
}

static int duplicate_done(modq_run *r)
{
    modq_run_counters c;
    modq_run_counts(r, &c);
    return c.duplicate == 1;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *src = getenv("MODQ_SOURCE_DIR");
    char path[512], err[512] = "", env0[512], yaml[1024];
    char *env[] = {env0, NULL};
    modq_media_opts *opts = NULL;
    modq_media *m = NULL;
    FILE *fp;
    int fd;

    if (f == NULL || src == NULL || modq_blur_init("test") != MODQ_BLUR_OK)
        return -1;
    snprintf(path, sizeof path, "%s/policy/default.yaml", src);
    if (modq_policy_load_file(path, &f->policy, err, sizeof err) != MODQ_POLICY_OK) {
        print_error("%s\n", err);
        return -1;
    }
    /* Two synthetic images; the second one's SHA-256 goes into the bank. */
    opts = modq_opts_new();
    if (modq_synth_image(MODQ_SYNTH_SHAPES, 320, 240, 1, "jpeg", &f->img, &f->img_len) ||
        modq_synth_image(MODQ_SYNTH_SHAPES, 320, 240, 2, "jpeg", &f->banned, &f->banned_len) ||
        opts == NULL || modq_media_process(opts, f->banned, f->banned_len, &m, NULL, 0))
        return -1;
    snprintf(f->bank, sizeof f->bank, "/tmp/modq-run-bank-XXXXXX");
    if ((fd = mkstemp(f->bank)) < 0 || (fp = fdopen(fd, "w")) == NULL)
        return -1;
    fprintf(fp, "sha256 %s\n", modq_media_sha256_hex(m));
    fclose(fp);
    modq_media_free(m);
    modq_opts_free(opts);

    if (modq_mock_new(1, NULL, &f->m, err, sizeof err) != MODQ_MOCK_OK)
        return -1;
    for (size_t i = 0; i < modq_policy_queue_count(f->policy); i++)
        modq_mock_topic_create(f->m, modq_policy_queue_topic(f->policy, i), 1, 1, err, sizeof err);
    modq_mock_topic_create(f->m, T_DECISIONS, 1, 1, err, sizeof err);
    modq_mock_topic_create(f->m, T_DLQ, 1, 1, err, sizeof err);
    snprintf(env0, sizeof env0, "MODQ_KAFKA_BOOTSTRAP_SERVERS=%s", modq_mock_bootstrap(f->m));
    snprintf(yaml, sizeof yaml,
             "worker:\n  id: w-run\n  prepare_threads: 2\n  window_per_queue: 8\n"
             "kafka:\n  log_level: 3\n"
             "consumer:\n  group_id: " GROUP "\n"
             "banks:\n  - name: gifct-sample\n    file: %s\n    verdict: remove\n"
             "    labels: [terror]\n"
             "log:\n  level: info\n",
             f->bank);
    if (modq_config_load_buffer(yaml, strlen(yaml), "t.yaml", env, &f->cfg, err, sizeof err) !=
        MODQ_CONFIG_OK) {
        print_error("%s\n", err);
        return -1;
    }
    f->log = tmpfile();
    *state = f;
    return f->log ? 0 : -1;
}

/* Prints the worker's log (for ctest --output-on-failure). */
static void dump_log(fixture *f)
{
    char line[1024];
    rewind(f->log);
    while (fgets(line, sizeof line, f->log))
        print_message("log: %s", line);
}

static int teardown(void **state)
{
    fixture *f = *state;
    modq_run_free(f->r);
    if (f->log)
        dump_log(f);
    modq_config_free(f->cfg);
    modq_policy_free(f->policy);
    modq_mock_free(f->m);
    modq_synth_free(f->img);
    modq_synth_free(f->banned);
    unlink(f->bank);
    if (f->log)
        fclose(f->log);
    free(f);
    return 0;
}

static void test_run_end_to_end(void **state)
{
    fixture *f = *state;
    static const char svg[] = "<svg xmlns='http://www.w3.org/2000/svg'/>";
    modq_run_opts opts = {.consumer_extra = extra,
                          .consumer_nextra = sizeof extra / sizeof extra[0] / 2,
                          .log_out = f->log};
    char err[512] = "";
    uint8_t *banned, *svg_ticket, *good;
    size_t banned_len, svg_len, good_len;
    modq_run_counters c;

    banned =
        tt_ticket("t-banned", "violent_extremism", f->banned, f->banned_len, NULL, &banned_len);
    svg_ticket = tt_ticket("t-svg", "violent_extremism", (const uint8_t *)svg, sizeof svg - 1, NULL,
                           &svg_len);
    good = tt_ticket("t-good", "self_harm", f->img, f->img_len, NULL, &good_len);
    assert_non_null(banned);
    assert_non_null(svg_ticket);
    assert_non_null(good);

    assert_int_equal(modq_run_new(f->cfg, f->policy, &opts, &f->r, err, sizeof err), MODQ_RUN_OK);
    produce(f, T_BANNED, "k-a", banned, banned_len);    /* offset 0: decided by the bank */
    produce(f, T_BANNED, "k-junk", junk, sizeof junk);  /* offset 1: malformed */
    produce(f, T_BANNED, "k-svg", svg_ticket, svg_len); /* offset 2: blocked format */
    produce(f, T_REVIEW, "k-good", good, good_len);     /* offset 0 of its topic: review */
    step_until(f, first_done);
    /* The same ticket again, once its decision is known: a duplicate, not a second decision. */
    produce(f, T_BANNED, "k-a", banned, banned_len); /* offset 3 */
    step_until(f, duplicate_done);
    step_for(f, 1200); /* one periodic commit */
    assert_int_equal(modq_run_review_count(f->r), 1);
    assert_int_equal(modq_run_drain(f->r, 5000), MODQ_RUN_OK);
    assert_int_equal(modq_run_step(f->r, 0), MODQ_RUN_STOPPED);
    modq_run_counts(f->r, &c);
    assert_int_equal(c.received, 5);
    assert_int_equal(c.auto_decided, 1);
    assert_int_equal(c.dead_letter, 2);
    assert_int_equal(c.duplicate, 1);
    assert_int_equal(c.review, 1);
    assert_int_equal(c.review_dropped, 1); /* the close revoked its partition */
    assert_int_equal(c.publish_failed, 0);
    assert_int_equal(c.prepare_failed, 0);
    modq_run_free(f->r);
    f->r = NULL;

    /* (a) and (d): exactly one decision, automatic, with the bank's verdict. */
    assert_int_equal(read_topic(f, T_DECISIONS, check_decision, NULL), 1);
    /* (b): two dead letters, original bytes and key, with their codes and sources. */
    dl_seen ds = {svg_ticket, svg_len, 0, 0};
    assert_int_equal(read_topic(f, T_DLQ, check_dead_letter, &ds), 2);
    assert_int_equal(ds.malformed, 1);
    assert_int_equal(ds.blocked, 1);

    /* Committed: everything of the banned topic (a, b, d), nothing of the review topic (c). */
    rd_kafka_t *rk = client(f, RD_KAFKA_CONSUMER, GROUP);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(l, T_BANNED, 0);
    rd_kafka_topic_partition_list_add(l, T_REVIEW, 0);
    assert_int_equal(rd_kafka_committed(rk, l, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    print_message("committed %s:%lld %s:%lld\n", T_BANNED, (long long)l->elems[0].offset, T_REVIEW,
                  (long long)l->elems[1].offset);
    assert_int_equal(l->elems[0].offset, 4);
    assert_true(l->elems[1].offset < 1); /* none, or 0: offset 0 (the review item) not done */
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);

    free(banned);
    free(svg_ticket);
    free(good);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int review_done(modq_run *r)
{
    modq_run_counters c;
    modq_run_counts(r, &c);
    return c.review == 1;
}

static int two_in_review(modq_run *r)
{
    modq_run_counters c;
    modq_run_counts(r, &c);
    return c.review == 2;
}

static int paused(modq_run *r)
{
    return modq_run_paused(r);
}

static int resumed(modq_run *r)
{
    return !modq_run_paused(r);
}

/* Decisions read back: each must be a1's decision of the ticket named. */
typedef struct decided_by_a1 {
    const char *ticket_id;
    int n;
} decided_by_a1;

static void count_a1(const rd_kafka_message_t *msg, void *arg)
{
    decided_by_a1 *want = arg;
    Modq__V1__Decision *d = modq__v1__decision__unpack(NULL, msg->len, msg->payload);
    assert_non_null(d);
    assert_string_equal(d->ticket_id, want->ticket_id);
    assert_string_equal(d->decided_by, "a1");
    want->n++;
    modq__v1__decision__free_unpacked(d, NULL);
}

/* A person decides while the only broker is down: the decision waits in the worker, so after
 * stuck_ms of Kafka confirming nothing nobody gets a new item (a crash now would show this ticket
 * to a person again). With the broker back the decision lands, once, and the desk resumes. */
static void test_run_pauses_new_leases_while_kafka_confirms_nothing(void **state)
{
    fixture *f = *state;
    modq_run_opts opts = {.consumer_extra = extra,
                          .consumer_nextra = sizeof extra / sizeof extra[0] / 2,
                          .log_out = f->log,
                          .stuck_ms = 1000};
    modq_desk_who a = {.id = "a1", .team = "", .roles = MODQ_ROLE_ASSOCIATE},
                  b = {.id = "b1", .team = "", .roles = MODQ_ROLE_ASSOCIATE};
    json_t *item = NULL, *status = NULL;
    char err[512] = "";
    size_t good_len;
    uint8_t *good = tt_ticket("t-good", "self_harm", f->img, f->img_len, NULL, &good_len);
    decided_by_a1 got = {"t-good", 0};

    assert_non_null(good);
    assert_int_equal(modq_run_new(f->cfg, f->policy, &opts, &f->r, err, sizeof err), MODQ_RUN_OK);
    produce(f, T_REVIEW, "k-good", good, good_len);
    step_until(f, review_done);
    modq_desk *desk = modq_run_desk(f->r);
    assert_int_equal(modq_desk_next(desk, &a, NULL, wall_ms(), &item, &status, NULL), MODQ_DESK_OK);
    assert_string_equal(json_string_value(json_object_get(item, "id")), "t-good");
    json_decref(item);
    json_decref(status);
    step_for(f, 300); /* the lease's audit and ledger confirmed */
    assert_false(modq_run_paused(f->r));

    assert_int_equal(modq_mock_broker_down(f->m, 1, err, sizeof err), MODQ_MOCK_OK);
    assert_int_equal(modq_desk_decide(desk, &a, "t-good", "remove", NULL, 0, NULL, wall_ms(), NULL),
                     MODQ_DESK_OK);
    step_until(f, paused);
    item = status = NULL;
    assert_int_equal(modq_desk_next(desk, &b, NULL, wall_ms(), &item, &status, NULL),
                     MODQ_DESK_ERR_PAUSED);
    assert_null(item);

    assert_int_equal(modq_mock_broker_up(f->m, 1, err, sizeof err), MODQ_MOCK_OK);
    step_until(f, resumed);
    assert_int_equal(modq_desk_next(desk, &b, NULL, wall_ms(), &item, &status, NULL), MODQ_DESK_OK);
    assert_null(item); /* nothing waits: the one ticket was decided */
    json_decref(status);
    assert_int_equal(modq_run_drain(f->r, 5000), MODQ_RUN_OK);
    modq_run_free(f->r);
    f->r = NULL;
    assert_int_equal(read_topic(f, T_DECISIONS, count_a1, &got), 1);
    assert_int_equal(got.n, 1);
    free(good);
}

/* Only the decisions topic's partition has no leader: audit events still confirm (another person
 * keeps revealing), but a person's decision waits, so the desk pauses all the same; a leader
 * again, and the decision lands and the desk resumes. */
static void test_run_pauses_when_decisions_wait_while_other_topics_confirm(void **state)
{
    fixture *f = *state;
    modq_run_opts opts = {.consumer_extra = extra,
                          .consumer_nextra = sizeof extra / sizeof extra[0] / 2,
                          .log_out = f->log,
                          .stuck_ms = 1000};
    modq_desk_who a = {.id = "a1", .team = "", .roles = MODQ_ROLE_ASSOCIATE},
                  c = {.id = "c1", .team = "", .roles = MODQ_ROLE_ASSOCIATE};
    json_t *item = NULL, *status = NULL;
    char err[512] = "", mine[64], other[64];
    size_t len1, len2, img_len;
    uint8_t *img = NULL, *t1, *t2;
    int64_t deadline = now_ms() + WAIT_MS;
    decided_by_a1 got = {mine, 0};
    int level = 2;

    assert_int_equal(modq_synth_image(MODQ_SYNTH_SHAPES, 320, 240, 3, "jpeg", &img, &img_len), 0);
    t1 = tt_ticket("t-good", "self_harm", f->img, f->img_len, NULL, &len1);
    t2 = tt_ticket("t-other", "self_harm", img, img_len, NULL, &len2);
    assert_non_null(t1);
    assert_non_null(t2);
    assert_int_equal(modq_run_new(f->cfg, f->policy, &opts, &f->r, err, sizeof err), MODQ_RUN_OK);
    produce(f, T_REVIEW, "k-good", t1, len1);
    produce(f, T_REVIEW, "k-other", t2, len2);
    step_until(f, two_in_review);
    modq_desk *desk = modq_run_desk(f->r);
    /* Same queue and priority: which of the two a gets first does not matter here. */
    assert_int_equal(modq_desk_next(desk, &a, NULL, wall_ms(), &item, &status, NULL), MODQ_DESK_OK);
    snprintf(mine, sizeof mine, "%s", json_string_value(json_object_get(item, "id")));
    json_decref(item);
    json_decref(status);
    assert_int_equal(modq_desk_next(desk, &c, NULL, wall_ms(), &item, &status, NULL), MODQ_DESK_OK);
    snprintf(other, sizeof other, "%s", json_string_value(json_object_get(item, "id")));
    assert_string_not_equal(mine, other);
    json_decref(item);
    json_decref(status);
    step_for(f, 300);

    assert_int_equal(
        rd_kafka_mock_partition_set_leader(modq_mock_cluster(f->m), T_DECISIONS, 0, -1),
        RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(modq_desk_decide(desk, &a, mine, "remove", NULL, 0, NULL, wall_ms(), NULL),
                     MODQ_DESK_OK);
    /* c's reveals go to the audit topic, which still confirms, every 200 ms. */
    while (!modq_run_paused(f->r)) {
        assert_true(now_ms() < deadline);
        level = level == 2 ? 3 : 2;
        assert_int_equal(modq_desk_reveal(desk, &c, other, level, false, "", wall_ms(), NULL),
                         MODQ_DESK_OK);
        step_for(f, 200);
    }
    assert_int_equal(modq_desk_next(desk, &a, NULL, wall_ms(), &item, &status, NULL),
                     MODQ_DESK_ERR_PAUSED);

    assert_int_equal(rd_kafka_mock_partition_set_leader(modq_mock_cluster(f->m), T_DECISIONS, 0, 1),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    step_until(f, resumed);
    assert_int_equal(modq_run_drain(f->r, 5000), MODQ_RUN_OK);
    modq_run_free(f->r);
    f->r = NULL;
    assert_int_equal(read_topic(f, T_DECISIONS, count_a1, &got), 1);
    assert_int_equal(got.n, 1);
    free(t1);
    free(t2);
    modq_synth_free(img);
}

/* Set-up errors come back with a reason and leave nothing behind; a stop request is seen. */
static void test_run_new_errors_and_stop(void **state)
{
    fixture *f = *state;
    static const char yaml[] = "banks:\n  - name: missing\n    file: /nonexistent/bank.txt\n"
                               "    verdict: remove\n";
    modq_run_opts opts = {.consumer_extra = extra,
                          .consumer_nextra = sizeof extra / sizeof extra[0] / 2,
                          .log_out = f->log};
    modq_config *cfg = NULL;
    modq_run *r = NULL;
    char err[512] = "";

    for (int i = 0; i <= MODQ_RUN_RESULT_COUNT; i++)
        assert_non_null(modq_run_strerror((modq_run_result)i));
    assert_int_equal(modq_run_new(NULL, f->policy, NULL, &r, err, sizeof err),
                     MODQ_RUN_ERR_INVALID_ARG);
    assert_null(r);
    opts.consumer_nextra = MODQ_RUN_MAX_EXTRA + 1;
    assert_int_equal(modq_run_new(f->cfg, f->policy, &opts, &r, err, sizeof err),
                     MODQ_RUN_ERR_INVALID_ARG);
    opts.consumer_nextra = sizeof extra / sizeof extra[0] / 2;
    assert_int_equal(
        modq_config_load_buffer(yaml, strlen(yaml), "t.yaml", NULL, &cfg, err, sizeof err),
        MODQ_CONFIG_OK);
    assert_int_equal(modq_run_new(cfg, f->policy, &opts, &r, err, sizeof err), MODQ_RUN_ERR_SETUP);
    assert_null(r);
    assert_non_null(strstr(err, "/nonexistent/bank.txt"));
    modq_config_free(cfg);

    /* A worker that is asked to stop before its first step does no work and drains cleanly. */
    assert_int_equal(modq_run_new(f->cfg, f->policy, &opts, &f->r, err, sizeof err), MODQ_RUN_OK);
    assert_int_equal(modq_run_step(f->r, 10), MODQ_RUN_OK);
    modq_run_request_stop(f->r);
    assert_int_equal(modq_run_step(f->r, 10), MODQ_RUN_STOPPED);
    assert_int_equal(modq_run_drain(f->r, 1000), MODQ_RUN_OK);
    assert_int_equal(modq_run_review_count(f->r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_end_to_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_new_errors_and_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_pauses_new_leases_while_kafka_confirms_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_run_pauses_when_decisions_wait_while_other_topics_confirm, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    modq_blur_shutdown();
    return failed;
}
