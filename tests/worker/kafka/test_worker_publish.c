/*
 * test_worker_publish.c: worker/kafka/publish.c, the idempotent producer, against librdkafka's mock
 * cluster (worker/dev/mock.c): every kind read back with key, value and headers by a plain
 * consumer, the dead-letter reason kept to one line, concurrent publishers with exactly one
 * completion per cookie, and the configuration the module must refuse. Failure modes are in
 * test_worker_publish_failures.c.
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
#include "dev/mock.h"
#include "kafka/publish.h"

#include "publish_testutil.h"

static void test_publish_each_kind_reads_back_with_key_value_and_headers(void **state)
{
    static const uint8_t decision[] = {0x0a, 0x03, 't', '-', '1', 0x10, 0x02};
    static const uint8_t wellbeing[] = {0x08, 0x01, 0x12, 0x00};
    static const uint8_t audit[] = {0x0a, 0x05, 'a', 'u', 'd', 'i', 't'};
    static const uint8_t original[] = {0x00, 0xff, 0x13, 0x00, 'b', 'a', 'd'};
    static const uint8_t dl_key[] = {'c', 0x00, 0xfe};
    static const uint8_t ledger[] = {0x0a, 0x02, 'a', '9'};
    static const uint8_t review[] = {0x08, 0x01, 0x12, 0x00};
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
    assert_int_equal(modq_publish_ledger(f.p, "associate-9", ledger, sizeof ledger, &f.rec.slot[4],
                                         f.err, sizeof f.err),
                     MODQ_PUBLISH_OK);
    assert_int_equal(modq_publish_review(f.p, "ticket-7", review, sizeof review, &f.rec.slot[5],
                                         f.err, sizeof f.err),
                     MODQ_PUBLISH_OK);
    assert_int_equal(modq_publish_flush(f.p, WAIT_MS), 0);
    assert_int_equal(total(&f.rec), 6);
    assert_int_equal(f.rec.stray, 0);
    for (int i = 0; i < 6; i++) {
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

    read_back(&f, "modq.ledgers", 0, &got);
    assert_record(&got, "associate-9", strlen("associate-9"), ledger, sizeof ledger, 1);
    record_free(&got);

    read_back(&f, "modq.review", 0, &got);
    assert_record(&got, "ticket-7", strlen("ticket-7"), review, sizeof review, 2);
    assert_header_str(&got, MODQ_PUBLISH_H_TICKET, "ticket-7");
    record_free(&got);

    for (int k = 0; k < MODQ_PUBLISH_KIND_COUNT; k++) {
        assert_counts(&f, (modq_publish_kind)k, 1, 1, 0);
    }
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
    for (size_t i = 0; i < 1000; i++) {
        memcpy(reason + hn + 2 * i, "\xc3\xa9", 2);
    }
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
    for (size_t i = 0; i < len; i++) {
        assert_true((unsigned char)v[i] >= 0x20 && (unsigned char)v[i] != 0x7f);
    }
    assert_int_equal((len - hn) % 2, 0); /* whole characters only */
    assert_memory_equal(v + hn, reason + hn, len - hn);
    record_free(&got);
    free(reason);
    stop(&f);
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
                                  sizeof err) != MODQ_PUBLISH_OK) {
            w->failures++;
        }
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
    for (int i = 0; i < 20; i++) { /* completions served while publishers still run */
        modq_publish_poll(f.p, 5);
    }
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
        cmocka_unit_test(test_publish_concurrent_publishers_complete_every_cookie_once),
        cmocka_unit_test(test_publish_new_refuses_weakened_delivery_guarantees),
        cmocka_unit_test(test_publish_invalid_arguments_are_refused_without_completion),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
