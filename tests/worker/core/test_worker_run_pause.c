/*
 * test_worker_run_pause.c: the worker's pause (watch_kafka in worker/core/run.c, the list of
 * waiting decisions in worker/core/run_sink.c) against an in-process mock Kafka cluster. While
 * Kafka confirms nothing, or one person's decision waits unconfirmed while others are confirmed,
 * the desk hands out no new item; a decision made then lands once Kafka is back, once, and the desk
 * resumes by itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "run_testutil.h"

#define T_DECISIONS2 "modq.decisions.two" /* two partitions */
#define C_ITEMS      7                    /* c1's items in the partition test (window 8) */
/* The partition test: a1's decision waits; c1 decides one item per PACE_MS until the desk pauses
 * STUCK_MS after a1's decision, about 4 of its 7 items, and at least 2 must be confirmed
 * meanwhile. A decision and the next item can take 350 ms under ThreadSanitizer on a loaded
 * machine: with 1000 and 200, one run in six had c1 decide only once. */
#define STUCK_MS 2000
#define PACE_MS  400

static int all_in_review(modq_run *r)
{
    return n_in_review(r, 1 + C_ITEMS);
}

/* A person decides while the only broker is down: the decision waits in the worker, so after
 * stuck_ms of Kafka confirming nothing nobody gets a new item (a crash now would show this ticket
 * to a person again). With the broker back the decision lands, once, and the desk resumes. */
static void test_run_pauses_new_leases_while_kafka_confirms_nothing(void **state)
{
    fixture *f = *state;
    modq_run_opts opts = run_opts(f, STUCK_MS);
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
    step_until(f, one_in_review);
    modq_desk *desk = modq_run_desk(f->r);
    assert_int_equal(modq_desk_next(desk, &a, NULL, wall_ms(), &item, &status, NULL), MODQ_DESK_OK);
    assert_string_equal(json_string_value(json_object_get(item, "id")), "t-good");
    json_decref(item);
    json_decref(status);
    step_for(f, 300); /* the lease's audit and ledger confirmed */
    assert_false(modq_run_paused(f->r));

    assert_int_equal(modq_mock_broker_down(f->m, 1, err, sizeof err), MODQ_MOCK_OK);
    fates told = {0};
    assert_int_equal(modq_desk_decide_then(desk, &a, "t-good", "remove", NULL, 0, NULL, wall_ms(),
                                           &(modq_desk_confirm){record_fate, &told}, NULL),
                     MODQ_DESK_OK);
    step_until(f, paused);
    /* a1 is not kept waiting for Kafka: after the answer's wait they hear it is kept, once. */
    for (int i = 0; i < 60 && atomic_load(&told.n) == 0; i++) {
        step_for(f, 50);
    }
    assert_int_equal(atomic_load(&told.n), 1);
    assert_int_equal(atomic_load(&told.last), MODQ_DESK_FATE_PENDING);
    item = status = NULL;
    assert_int_equal(modq_desk_next(desk, &b, NULL, wall_ms(), &item, &status, NULL),
                     MODQ_DESK_ERR_PAUSED);
    assert_null(item);

    assert_int_equal(modq_mock_broker_up(f->m, 1, err, sizeof err), MODQ_MOCK_OK);
    step_until(f, resumed);
    assert_int_equal(modq_desk_next(desk, &b, NULL, wall_ms(), &item, &status, NULL), MODQ_DESK_OK);
    assert_null(item); /* nothing waits: the one ticket was decided */
    json_decref(status);
    assert_int_equal(atomic_load(&told.n), 1); /* told once: the landing is not told again */
    assert_int_equal(modq_run_drain(f->r, 5000), MODQ_RUN_OK);
    modq_run_free(f->r);
    f->r = NULL;
    assert_int_equal(read_topic(f, T_DECISIONS, count_a1, &got), 1);
    assert_int_equal(got.n, 1);
    free(good);
}

/* The partition of a 2-partition topic that key goes to: the producer's default partitioner. */
static int32_t partition_of(const char *key)
{
    return rd_kafka_msg_partitioner_consistent_random(NULL, key, strlen(key), 2, NULL, NULL);
}

/* One partition of the decisions topic has no leader: a1's decision waits there, while c1 keeps
 * deciding items whose decisions go to the other partition and are confirmed (as are both
 * people's audit events). The wait of a1's decision alone pauses the desk, stuck_ms after it
 * was made, although Kafka confirms decisions all along; a leader again, and it lands, once. */
static void test_run_pauses_when_one_decision_waits_while_others_confirm(void **state)
{
    fixture *f = *state;
    modq_run_opts opts = run_opts(f, STUCK_MS);
    modq_desk_who a = {.id = "a1", .team = "", .roles = MODQ_ROLE_ASSOCIATE},
                  c = {.id = "c1", .team = "", .roles = MODQ_ROLE_ASSOCIATE};
    modq_run_counters before, after;
    json_t *item = NULL, *status = NULL;
    char err[512] = "", id[32], content[32], held[64];
    size_t len;
    uint8_t *t;
    int64_t decided_ms, deadline = now_ms() + WAIT_MS;
    decided_by_a1 got = {"t-a", 0};
    int32_t stuck = partition_of("content-a");
    int n_c = 0, decided_by_c = 0;

    assert_int_equal(modq_mock_topic_create(f->m, T_DECISIONS2, 2, 1, err, sizeof err),
                     MODQ_MOCK_OK);
    assert_int_equal(load_config(f, "topics:\n  decisions: " T_DECISIONS2 "\n", &f->cfg2), 0);
    assert_int_equal(modq_run_new(f->cfg2, f->policy, &opts, &f->r, err, sizeof err), MODQ_RUN_OK);
    modq_desk *desk = modq_run_desk(f->r);
    assert_non_null(
        t = tt_ticket_of("t-a", "content-a", "self_harm", f->img, f->img_len, NULL, &len));
    produce(f, T_REVIEW, "k-a", t, len);
    free(t);
    step_until(f, one_in_review);
    assert_int_equal(modq_desk_next(desk, &a, NULL, wall_ms(), &item, &status, NULL), MODQ_DESK_OK);
    assert_string_equal(json_string_value(json_object_get(item, "id")), "t-a");
    json_decref(item);
    json_decref(status);
    /* c1's items: contents whose decisions go to the partition that keeps its leader. */
    for (int i = 0; n_c < C_ITEMS; i++) {
        snprintf(content, sizeof content, "content-c%d", i);
        if (partition_of(content) == stuck) {
            continue;
        }
        /* Each its own picture: copies of t-a's would be decided with a1's decision. */
        uint8_t *img = NULL;
        size_t img_len = 0;
        assert_int_equal(modq_synth_image(MODQ_SYNTH_SHAPES, 320, 240, 100 + (uint32_t)n_c, "jpeg",
                                          &img, &img_len),
                         MODQ_BLUR_OK);
        snprintf(id, sizeof id, "t-c%d", n_c++);
        assert_non_null(t = tt_ticket_of(id, content, "self_harm", img, img_len, NULL, &len));
        produce(f, T_REVIEW, id, t, len);
        free(t);
        modq_synth_free(img);
    }
    step_until(f, all_in_review);
    assert_int_equal(modq_desk_next(desk, &c, NULL, wall_ms(), &item, &status, NULL), MODQ_DESK_OK);
    snprintf(held, sizeof held, "%s", json_string_value(json_object_get(item, "id")));
    json_decref(item);
    json_decref(status);
    step_for(f, 300);
    assert_false(modq_run_paused(f->r));

    assert_int_equal(
        rd_kafka_mock_partition_set_leader(modq_mock_cluster(f->m), T_DECISIONS2, stuck, -1),
        RD_KAFKA_RESP_ERR_NO_ERROR);
    modq_run_counts(f->r, &before);
    assert_int_equal(modq_desk_decide(desk, &a, "t-a", "remove", NULL, 0, NULL, wall_ms(), NULL),
                     MODQ_DESK_OK);
    decided_ms = now_ms();
    /* c1 decides one item every PACE_MS and takes the next, until the desk refuses. */
    for (;;) {
        assert_true(now_ms() < deadline);
        step_for(f, PACE_MS);
        if (modq_run_paused(f->r)) {
            break;
        }
        assert_int_equal(
            modq_desk_decide(desk, &c, held, "no_violation", NULL, 0, NULL, wall_ms(), NULL),
            MODQ_DESK_OK);
        decided_by_c++;
        item = NULL;
        modq_desk_result dr = modq_desk_next(desk, &c, NULL, wall_ms(), &item, &status, NULL);
        if (dr == MODQ_DESK_ERR_PAUSED) {
            break;
        }
        assert_int_equal(dr, MODQ_DESK_OK);
        if (item == NULL) {
            fail_msg("c1 ran out of items after %d decisions and the desk never paused, with "
                     "a1's decision unconfirmed for %lld ms",
                     decided_by_c, (long long)(now_ms() - decided_ms));
        }
        snprintf(held, sizeof held, "%s", json_string_value(json_object_get(item, "id")));
        json_decref(item);
        json_decref(status);
    }
    step_until(f, paused);
    modq_run_counts(f->r, &after);
    /* c1's decisions were confirmed all the while, and completed their tickets. */
    assert_true(decided_by_c >= 2);
    assert_true(after.confirmed >= before.confirmed + 2);
    assert_int_equal(modq_desk_next(desk, &a, NULL, wall_ms(), &item, &status, NULL),
                     MODQ_DESK_ERR_PAUSED);

    assert_int_equal(
        rd_kafka_mock_partition_set_leader(modq_mock_cluster(f->m), T_DECISIONS2, stuck, 1),
        RD_KAFKA_RESP_ERR_NO_ERROR);
    step_until(f, resumed);
    assert_int_equal(modq_run_drain(f->r, 5000), MODQ_RUN_OK);
    modq_run_free(f->r);
    f->r = NULL;
    assert_int_equal(read_partition(f, T_DECISIONS2, stuck, count_a1, &got), 1);
    assert_int_equal(got.n, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_pauses_new_leases_while_kafka_confirms_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_run_pauses_when_one_decision_waits_while_others_confirm, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    modq_blur_shutdown();
    return failed;
}
