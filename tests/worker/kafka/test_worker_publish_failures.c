/*
 * test_worker_publish_failures.c: worker/kafka/publish.c when delivery does not go well, against
 * librdkafka's mock cluster: a broker refusal and a local size refusal complete not-ok with their
 * error; a broker down then up completes only after delivery; message timeouts, a full queue and
 * shutdown with messages outstanding all complete every cookie exactly once, not-ok.
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
    while (now_ms() < until) {
        modq_publish_poll(f.p, 100);
    }
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
    for (int i = 0; i < 3; i++) {
        assert_int_equal(modq_publish_decision(f.p, "content-x", NULL, "d", 1, &f.rec.slot[i],
                                               f.err, sizeof f.err),
                         MODQ_PUBLISH_OK);
    }
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_broker_refusal_completes_not_ok_with_its_error),
        cmocka_unit_test(test_publish_over_message_max_bytes_completes_not_ok_at_next_poll),
        cmocka_unit_test(test_publish_broker_down_then_up_completes_only_after_delivery),
        cmocka_unit_test(test_publish_message_timeout_completes_not_ok),
        cmocka_unit_test(test_publish_full_queue_waits_bounded_then_reports_not_ok),
        cmocka_unit_test(test_publish_free_completes_outstanding_as_shutdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
