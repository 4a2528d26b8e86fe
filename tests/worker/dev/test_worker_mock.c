/*
 * test_worker_mock.c: worker/dev/mock.c, the in-process development Kafka cluster, driven by real
 * librdkafka producers and consumers over loopback: topics, a produce/consume round trip with
 * headers, committed offsets with metadata read back by a new consumer, broker down/up, leader
 * moves and injected request errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/mock.h"

#define WAIT_MS 15000 /* the longest any one step may take before the test fails */

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}

static void conf_set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    char err[256];

    assert_int_equal(rd_kafka_conf_set(conf, key, value, err, sizeof(err)), RD_KAFKA_CONF_OK);
}

/* Counts delivery reports: opaque is an int[3] of {delivered, failed, last error}. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    int *counts = opaque;

    (void)rk;
    if (msg->err) {
        counts[1]++;
        counts[2] = msg->err;
    } else {
        counts[0]++;
    }
}

/* A producer on m; counts (int[3]: delivered, failed, last error) receives delivery reports.
 * Caller owns the handle (rd_kafka_destroy). */
static rd_kafka_t *new_producer(const modq_mock *m, int idempotent, int *counts)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256];
    rd_kafka_t *rk;

    conf_set(conf, "bootstrap.servers", modq_mock_bootstrap(m));
    conf_set(conf, "enable.idempotence", idempotent ? "true" : "false");
    conf_set(conf, "acks", "all");
    conf_set(conf, "linger.ms", "0");
    if (!idempotent) {
        conf_set(conf, "retries", "0"); /* so that an injected error reaches the report */
    }
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, counts);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    assert_non_null(rk);
    return rk;
}

/* A consumer in group, not subscribed (the tests assign partitions or only commit). Caller owns. */
static rd_kafka_t *new_consumer(const modq_mock *m, const char *group)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256];
    rd_kafka_t *rk;

    conf_set(conf, "bootstrap.servers", modq_mock_bootstrap(m));
    conf_set(conf, "group.id", group);
    conf_set(conf, "enable.auto.commit", "false");
    conf_set(conf, "auto.offset.reset", "earliest");
    conf_set(conf, "partition.assignment.strategy", "cooperative-sticky");
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    assert_non_null(rk);
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

static modq_mock *start(int brokers)
{
    modq_mock *m = NULL;
    char err[256] = "";

    assert_int_equal(modq_mock_new(brokers, NULL, &m, err, sizeof(err)), MODQ_MOCK_OK);
    assert_non_null(m);
    return m;
}

static void produce_one(rd_kafka_t *p, const char *topic, int32_t partition, const char *value)
{
    assert_int_equal(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                       RD_KAFKA_V_VALUE((void *)(uintptr_t)value, strlen(value)),
                                       RD_KAFKA_V_HEADER("ticket", "t-1", 3),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* The partition count and leader of partition 0 of topic, from a metadata request. */
static void topic_facts(rd_kafka_t *rk, const char *topic, int *partitions, int32_t *leader0)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);

    assert_int_equal(rd_kafka_metadata(rk, 0, rkt, &md, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(md->topic_cnt, 1);
    assert_int_equal(md->topics[0].err, RD_KAFKA_RESP_ERR_NO_ERROR);
    *partitions = md->topics[0].partition_cnt;
    *leader0 = md->topics[0].partition_cnt > 0 ? md->topics[0].partitions[0].leader : -1;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
}

static void test_mock_new_refuses_bad_broker_counts(void **state)
{
    modq_mock *m = (modq_mock *)1;
    char err[256] = "";

    (void)state;
    assert_int_equal(modq_mock_new(0, NULL, &m, err, sizeof(err)), MODQ_MOCK_ERR_INVALID_ARG);
    assert_null(m);
    assert_int_equal(modq_mock_new(MODQ_MOCK_MAX_BROKERS + 1, NULL, &m, err, sizeof(err)),
                     MODQ_MOCK_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "broker count"));
}

static void test_mock_bootstrap_lists_one_loopback_address_per_broker(void **state)
{
    modq_mock *m = start(3);
    const char *bs = modq_mock_bootstrap(m);
    int entries = 1;

    (void)state;
    assert_int_equal(modq_mock_broker_count(m), 3);
    for (const char *c = bs; *c; c++) {
        entries += *c == ',';
    }
    assert_int_equal(entries, 3);
    assert_int_equal(strncmp(bs, "127.0.0.1:", 10), 0);
    modq_mock_free(m);
}

static void test_mock_topic_create_checks_and_creates(void **state)
{
    modq_mock *m = start(3);
    int counts[3] = {0};
    rd_kafka_t *p = new_producer(m, 0, counts);
    char err[256] = "";
    int partitions = 0;
    int32_t leader = 0;

    (void)state;
    assert_int_equal(modq_mock_topic_create(m, "bad/name", 1, 1, err, sizeof(err)),
                     MODQ_MOCK_ERR_INVALID_ARG);
    assert_int_equal(modq_mock_topic_create(m, "t", 0, 1, err, sizeof(err)),
                     MODQ_MOCK_ERR_INVALID_ARG);
    assert_int_equal(modq_mock_topic_create(m, "t", 2, 4, err, sizeof(err)),
                     MODQ_MOCK_ERR_INVALID_ARG);
    assert_int_equal(modq_mock_topic_create(m, "modq.tickets.spam", 6, 3, err, sizeof(err)),
                     MODQ_MOCK_OK);
    assert_int_equal(modq_mock_topic_create(m, "modq.tickets.spam", 6, 3, err, sizeof(err)),
                     MODQ_MOCK_ERR_TOPIC_EXISTS);
    assert_non_null(strstr(err, "TOPIC_ALREADY_EXISTS"));
    topic_facts(p, "modq.tickets.spam", &partitions, &leader);
    assert_int_equal(partitions, 6);
    assert_in_range(leader, 1, 3);
    rd_kafka_destroy(p);
    modq_mock_free(m);
}

static void test_mock_names_resolve_requests_and_errors(void **state)
{
    int16_t key = -1;
    rd_kafka_resp_err_t code = RD_KAFKA_RESP_ERR_NO_ERROR;

    (void)state;
    assert_int_equal(modq_mock_api_key("Produce", &key), MODQ_MOCK_OK);
    assert_int_equal(key, 0);
    assert_int_equal(modq_mock_api_key("OffsetCommit", &key), MODQ_MOCK_OK);
    assert_int_equal(key, 8);
    assert_int_equal(modq_mock_api_key("22", &key), MODQ_MOCK_OK);
    assert_int_equal(key, 22);
    assert_int_equal(modq_mock_api_key("Produce ", &key), MODQ_MOCK_ERR_UNKNOWN_API);
    assert_int_equal(modq_mock_api_key("-1", &key), MODQ_MOCK_ERR_UNKNOWN_API);
    assert_int_equal(modq_mock_error_code("NOT_LEADER_FOR_PARTITION", &code), MODQ_MOCK_OK);
    assert_int_equal(code, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    assert_int_equal(modq_mock_error_code("RD_KAFKA_RESP_ERR__TRANSPORT", &code), MODQ_MOCK_OK);
    assert_int_equal(code, RD_KAFKA_RESP_ERR__TRANSPORT);
    assert_int_equal(modq_mock_error_code("7", &code), MODQ_MOCK_OK);
    assert_int_equal(code, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
    assert_int_equal(modq_mock_error_code("NOT_AN_ERROR", &code), MODQ_MOCK_ERR_UNKNOWN_ERROR);
    assert_string_equal(modq_mock_strerror(MODQ_MOCK_ERR_UNKNOWN_BROKER), "no broker with that id");
    assert_string_equal(modq_mock_strerror(MODQ_MOCK_RESULT_COUNT), "unknown result");
}

static void test_mock_round_trip_through_idempotent_producer_and_consumer(void **state)
{
    modq_mock *m = start(3);
    int counts[3] = {0};
    rd_kafka_t *p = new_producer(m, 1, counts);
    rd_kafka_t *c = new_consumer(m, "round-trip");
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_message_t *msg = NULL;
    char err[256] = "";
    const void *hval = NULL;
    size_t hlen = 0;

    (void)state;
    assert_int_equal(modq_mock_topic_create(m, "tickets", 3, 3, err, sizeof(err)), MODQ_MOCK_OK);
    produce_one(p, "tickets", 1, "flagged-item-1");
    assert_int_equal(rd_kafka_flush(p, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(counts[0], 1);
    assert_int_equal(counts[1], 0);

    rd_kafka_topic_partition_list_add(parts, "tickets", 1)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(c, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
    for (int waited = 0; !msg && waited < WAIT_MS; waited += 100) {
        msg = rd_kafka_consumer_poll(c, 100);
        if (msg && msg->err) {
            rd_kafka_message_destroy(msg);
            msg = NULL;
        }
    }
    assert_non_null(msg);
    assert_int_equal(msg->partition, 1);
    assert_int_equal(msg->offset, 0);
    assert_int_equal(msg->len, strlen("flagged-item-1"));
    assert_memory_equal(msg->payload, "flagged-item-1", msg->len);
    {
        rd_kafka_headers_t *hdrs = NULL;

        assert_int_equal(rd_kafka_message_headers(msg, &hdrs), RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(rd_kafka_header_get_last(hdrs, "ticket", &hval, &hlen),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(hlen, 3);
        assert_memory_equal(hval, "t-1", 3);
    }
    rd_kafka_message_destroy(msg);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    rd_kafka_destroy(p);
    modq_mock_free(m);
}

/* The worker keeps out-of-order completion state in the commit metadata: it must come back to the
 * next consumer instance of the group exactly as written. */
static void test_mock_commit_metadata_read_back_by_new_consumer(void **state)
{
    static const char meta[] = "modq:v1:done=7,9,12";
    modq_mock *m = start(3);
    rd_kafka_t *c1 = new_consumer(m, "workers");
    rd_kafka_t *c2 = NULL;
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_t *tp;
    char err[256] = "";

    (void)state;
    assert_int_equal(modq_mock_topic_create(m, "tickets", 2, 3, err, sizeof(err)), MODQ_MOCK_OK);
    tp = rd_kafka_topic_partition_list_add(offs, "tickets", 0);
    tp->offset = 5;
    tp->metadata = malloc(sizeof(meta) - 1); /* the list frees it */
    assert_non_null(tp->metadata);
    memcpy(tp->metadata, meta, sizeof(meta) - 1);
    tp->metadata_size = sizeof(meta) - 1;
    rd_kafka_topic_partition_list_add(offs, "tickets", 1)->offset = 2;
    assert_int_equal(rd_kafka_commit(c1, offs, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(offs);
    rd_kafka_consumer_close(c1);
    rd_kafka_destroy(c1);

    c2 = new_consumer(m, "workers");
    offs = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(offs, "tickets", 0);
    rd_kafka_topic_partition_list_add(offs, "tickets", 1);
    assert_int_equal(rd_kafka_committed(c2, offs, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(offs->elems[0].offset, 5);
    assert_int_equal(offs->elems[0].metadata_size, sizeof(meta) - 1);
    assert_memory_equal(offs->elems[0].metadata, meta, sizeof(meta) - 1);
    assert_int_equal(offs->elems[1].offset, 2);
    assert_int_equal(offs->elems[1].metadata_size, 0);
    rd_kafka_topic_partition_list_destroy(offs);
    rd_kafka_consumer_close(c2);
    rd_kafka_destroy(c2);
    modq_mock_free(m);
}

/* The mock does not move leadership away from a down broker: produce to its partition waits until
 * the broker is back, and a leader move makes the partition available again meanwhile. */
static void test_mock_broker_down_holds_produce_until_up(void **state)
{
    modq_mock *m = start(3);
    int counts[3] = {0};
    rd_kafka_t *p = new_producer(m, 1, counts);
    char err[256] = "";
    int partitions = 0;
    int32_t leader = 0;

    (void)state;
    assert_int_equal(modq_mock_topic_create(m, "decisions", 1, 3, err, sizeof(err)), MODQ_MOCK_OK);
    assert_int_equal(modq_mock_partition_leader(m, "decisions", 0, 2, err, sizeof(err)),
                     MODQ_MOCK_OK);
    assert_int_equal(modq_mock_broker_down(m, 9, err, sizeof(err)), MODQ_MOCK_ERR_UNKNOWN_BROKER);
    produce_one(p, "decisions", 0, "before");
    assert_int_equal(rd_kafka_flush(p, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(counts[0], 1);

    assert_int_equal(modq_mock_broker_down(m, 2, err, sizeof(err)), MODQ_MOCK_OK);
    produce_one(p, "decisions", 0, "while-down");
    assert_int_equal(rd_kafka_flush(p, 1500), RD_KAFKA_RESP_ERR__TIMED_OUT);
    assert_int_equal(counts[0], 1);
    assert_int_equal(counts[1], 0);
    assert_int_equal(modq_mock_broker_up(m, 2, err, sizeof(err)), MODQ_MOCK_OK);
    assert_int_equal(rd_kafka_flush(p, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(counts[0], 2);

    /* Failover by hand: broker 2 down again, leadership to broker 3. */
    assert_int_equal(modq_mock_broker_down(m, 2, err, sizeof(err)), MODQ_MOCK_OK);
    assert_int_equal(modq_mock_partition_leader(m, "decisions", 0, 3, err, sizeof(err)),
                     MODQ_MOCK_OK);
    produce_one(p, "decisions", 0, "after-failover");
    assert_int_equal(rd_kafka_flush(p, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(counts[0], 3);
    assert_int_equal(counts[1], 0);
    /* Asked only now: rd_kafka_metadata sticks to the broker it picks, which may be the down one.
     */
    assert_int_equal(modq_mock_broker_up(m, 2, err, sizeof(err)), MODQ_MOCK_OK);
    topic_facts(p, "decisions", &partitions, &leader);
    assert_int_equal(leader, 3);
    rd_kafka_destroy(p);
    modq_mock_free(m);
}

static void test_mock_injected_errors_reach_the_client_until_cleared(void **state)
{
    modq_mock *m = start(1);
    int counts[3] = {0};
    rd_kafka_t *p = new_producer(m, 0, counts);
    char err[256] = "";

    (void)state;
    assert_int_equal(modq_mock_topic_create(m, "audit", 1, 1, err, sizeof(err)), MODQ_MOCK_OK);
    assert_int_equal(
        modq_mock_push_errors(m, "Nope", 1, "NOT_LEADER_FOR_PARTITION", err, sizeof(err)),
        MODQ_MOCK_ERR_UNKNOWN_API);
    assert_int_equal(
        modq_mock_push_errors(m, "Produce", 0, "NOT_LEADER_FOR_PARTITION", err, sizeof(err)),
        MODQ_MOCK_ERR_INVALID_ARG);
    /* A non-retriable error, with retries off: the delivery report must carry it. */
    assert_int_equal(modq_mock_push_errors(m, "Produce", 1, "MSG_SIZE_TOO_LARGE", err, sizeof(err)),
                     MODQ_MOCK_OK);
    produce_one(p, "audit", 0, "refused");
    assert_int_equal(rd_kafka_flush(p, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(counts[1], 1);
    assert_int_equal(counts[2], RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);

    assert_int_equal(modq_mock_push_errors(m, "0", 3, "MSG_SIZE_TOO_LARGE", err, sizeof(err)),
                     MODQ_MOCK_OK);
    assert_int_equal(modq_mock_clear_errors(m, "Produce", err, sizeof(err)), MODQ_MOCK_OK);
    produce_one(p, "audit", 0, "accepted");
    assert_int_equal(rd_kafka_flush(p, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(counts[0], 1);
    assert_int_equal(counts[1], 1);
    rd_kafka_destroy(p);
    modq_mock_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mock_new_refuses_bad_broker_counts),
        cmocka_unit_test(test_mock_bootstrap_lists_one_loopback_address_per_broker),
        cmocka_unit_test(test_mock_topic_create_checks_and_creates),
        cmocka_unit_test(test_mock_names_resolve_requests_and_errors),
        cmocka_unit_test(test_mock_round_trip_through_idempotent_producer_and_consumer),
        cmocka_unit_test(test_mock_commit_metadata_read_back_by_new_consumer),
        cmocka_unit_test(test_mock_broker_down_holds_produce_until_up),
        cmocka_unit_test(test_mock_injected_errors_reach_the_client_until_cleared),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
