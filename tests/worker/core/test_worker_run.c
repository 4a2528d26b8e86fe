/*
 * test_worker_run.c: the worker loop (worker/core/run.c) end to end against an in-process mock
 * Kafka cluster, with the shipped policy and a hash bank: a bank-matched ticket is decided without
 * a person, a malformed and an SVG ticket are dead-lettered with their original bytes, a good
 * ticket is held for review (its offset not committed), a redelivered decided ticket completes as a
 * duplicate, and after a drain the committed offsets say exactly that. A drain whose final commit
 * is refused because the group moved on (a rebalance) still succeeds; any other refusal fails it.
 * The pause while Kafka does not confirm is tested in test_worker_run_pause.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "run_testutil.h"

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

static void test_run_end_to_end(void **state)
{
    fixture *f = *state;
    static const char svg[] = "<svg xmlns='http://www.w3.org/2000/svg'/>";
    modq_run_opts opts = run_opts(f, 0);
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

/* Set-up errors come back with a reason and leave nothing behind; a stop request is seen. */
static void test_run_new_errors_and_stop(void **state)
{
    fixture *f = *state;
    static const char yaml[] = "banks:\n  - name: missing\n    file: /nonexistent/bank.txt\n"
                               "    verdict: remove\n";
    modq_run_opts opts = run_opts(f, 0);
    modq_config *cfg = NULL;
    modq_run *r = NULL;
    char err[512] = "";

    for (int i = 0; i <= MODQ_RUN_RESULT_COUNT; i++) {
        assert_non_null(modq_run_strerror((modq_run_result)i));
    }
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

/* Whether the worker's log has a line containing text. */

/* A person decides a review item; then every OffsetCommit the coordinator gets is answered
 * `error` while the worker drains, which publishes the decision and makes its final commit.
 * Returns the drain's result; the decision is published once whatever it is, and its offset is
 * not committed: the partition's next owner gets the ticket again (its decided set or a person
 * settles it there). */
static modq_run_result drain_refused(fixture *f, const char *error)
{
    modq_run_opts opts = run_opts(f, 0);
    modq_desk_who a = {.id = "a1", .team = "", .roles = MODQ_ROLE_ASSOCIATE};
    json_t *item = NULL, *status = NULL;
    char err[512] = "";
    size_t len;
    uint8_t *good = tt_ticket("t-good", "self_harm", f->img, f->img_len, NULL, &len);
    decided_by_a1 got = {"t-good", 0};

    assert_non_null(good);
    assert_int_equal(modq_run_new(f->cfg, f->policy, &opts, &f->r, err, sizeof err), MODQ_RUN_OK);
    produce(f, T_REVIEW, "k-good", good, len);
    free(good);
    step_until(f, one_in_review);
    step_for(f, 1200); /* a periodic commit of the partition's start point, accepted */
    modq_desk *desk = modq_run_desk(f->r);
    assert_int_equal(modq_desk_next(desk, &a, NULL, wall_ms(), &item, &status, NULL), MODQ_DESK_OK);
    assert_string_equal(json_string_value(json_object_get(item, "id")), "t-good");
    json_decref(item);
    json_decref(status);
    assert_int_equal(modq_mock_push_errors(f->m, "OffsetCommit", 5, error, err, sizeof err),
                     MODQ_MOCK_OK);
    fates told = {0};
    assert_int_equal(modq_desk_decide_then(desk, &a, "t-good", "remove", NULL, 0, NULL, wall_ms(),
                                           &(modq_desk_confirm){record_fate, &told}, NULL),
                     MODQ_DESK_OK);
    modq_run_result rc = modq_run_drain(f->r, 5000);
    /* The person's answer waited for Kafka's word on the decision, whatever the commit did. */
    assert_int_equal(atomic_load(&told.n), 1);
    assert_int_equal(atomic_load(&told.last), MODQ_DESK_FATE_CONFIRMED);
    assert_int_equal(modq_mock_clear_errors(f->m, "OffsetCommit", err, sizeof err), MODQ_MOCK_OK);
    modq_run_free(f->r);
    f->r = NULL;

    assert_int_equal(read_topic(f, T_DECISIONS, count_a1, &got), 1);
    assert_int_equal(got.n, 1);
    rd_kafka_t *rk = client(f, RD_KAFKA_CONSUMER, GROUP);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, T_REVIEW, 0);
    assert_int_equal(rd_kafka_committed(rk, l, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_true(l->elems[0].offset < 1); /* the decided offset 0 was not committed */
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    return rc;
}

/* SIGTERM during a rebalance: the coordinator refuses the final commit with the group's new
 * generation (and, for a member it forgot, an unknown member id). The partitions are another
 * member's already: the drain succeeds, with a warning. */
static void test_run_drain_succeeds_when_the_group_moved_on(void **state)
{
    fixture *f = *state;
    assert_int_equal(drain_refused(f, "ILLEGAL_GENERATION"), MODQ_RUN_OK);
    assert_true(log_has(f, "final commit refused, the group moved on"));
    assert_false(log_has(f, "consumer close failed"));
}

static void test_run_drain_succeeds_when_the_member_is_unknown(void **state)
{
    fixture *f = *state;
    assert_int_equal(drain_refused(f, "UNKNOWN_MEMBER_ID"), MODQ_RUN_OK);
    assert_true(log_has(f, "final commit refused, the group moved on"));
}

/* Any other refusal of the final commit is a failed drain (the worker exits non-zero). */
static void test_run_drain_fails_when_the_final_commit_fails(void **state)
{
    fixture *f = *state;
    assert_int_equal(drain_refused(f, "GROUP_AUTHORIZATION_FAILED"), MODQ_RUN_ERR_FATAL);
    assert_true(log_has(f, "consumer close failed"));
    assert_false(log_has(f, "the group moved on"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_end_to_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_new_errors_and_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_drain_succeeds_when_the_group_moved_on, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_drain_succeeds_when_the_member_is_unknown, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_drain_fails_when_the_final_commit_fails, setup,
                                        teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    modq_blur_shutdown();
    return failed;
}
