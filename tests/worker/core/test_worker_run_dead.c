/*
 * test_worker_run_dead.c: what the worker remembers from the topics it follows
 * (worker/core/run_dead.c, run_sink.c), against an in-process mock Kafka cluster. A dead letter is
 * published once: after a crash between the dead letter's confirmation and the commit of its
 * offset, the redelivered tickets (a malformed one and one whose caption is not UTF-8) complete
 * without a second dead letter, while the same bytes replayed at a new offset are dead-lettered
 * again. And a decision read back whose ticket id ingest would refuse is left out of the decided
 * set, so it cannot reach a person's answer as the prior decision of the same bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "run_testutil.h"

static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};

/* A clock that stands still: the periodic commit never comes due, as when a worker is killed
 * within a second of its last confirmations. */
static int64_t frozen(void *arg)
{
    (void)arg;
    return 1000000;
}

/* A ticket of the hate queue whose caption is not UTF-8 (caller frees). */
static uint8_t *poison_ticket(size_t *len)
{
    Modq__V1__Ticket t;
    uint8_t *buf;

    modq__v1__ticket__init(&t);
    t.ticket_id = (char *)(uintptr_t) "t-poison";
    t.content_id = (char *)(uintptr_t) "c-poison";
    t.queue = (char *)(uintptr_t) "hate";
    t.text = (char *)(uintptr_t) "caption \xff\xfe";
    *len = modq__v1__ticket__get_packed_size(&t);
    buf = malloc(*len);
    assert_non_null(buf);
    modq__v1__ticket__pack(&t, buf);
    return buf;
}

static int two_dead_letters(modq_run *r)
{
    modq_run_counters c;
    modq_run_counts(r, &c);
    return c.dead_letter == 2 && c.confirmed == 2;
}

static int two_handled(modq_run *r)
{
    modq_run_counters c;
    modq_run_counts(r, &c);
    return c.received >= 2 && c.dead_letter + c.duplicate >= 2;
}

static int replay_handled(modq_run *r)
{
    modq_run_counters c;
    modq_run_counts(r, &c);
    return c.received >= 3 && c.dead_letter + c.duplicate >= 3;
}

typedef struct dl_count {
    int malformed, invalid;
    char invalid_reason[320];
} dl_count;

static void count_dead_letter(const rd_kafka_message_t *msg, void *arg)
{
    dl_count *n = arg;
    char code[64];

    header(msg, "modq-error", code, sizeof code);
    if (strcmp(code, "malformed_ticket") == 0) {
        n->malformed++;
    } else {
        assert_string_equal(code, "invalid_ticket");
        header(msg, "modq-reason", n->invalid_reason, sizeof n->invalid_reason);
        n->invalid++;
    }
}

static void test_a_dead_letter_is_published_once_across_a_crash(void **state)
{
    fixture *f = *state;
    modq_run_opts opts = run_opts(f, 0);
    char err[512] = "";
    size_t poison_len;
    uint8_t *poison = poison_ticket(&poison_len);
    modq_run_counters c;
    dl_count n = {0};

    /* The first worker dead-letters both, Kafka confirms, and it dies before any commit. */
    opts.clock = frozen;
    assert_int_equal(modq_run_new(f->cfg, f->policy, &opts, &f->r, err, sizeof err), MODQ_RUN_OK);
    produce(f, T_BANNED, "k-junk", junk, sizeof junk);    /* offset 0 */
    produce(f, T_BANNED, "k-poison", poison, poison_len); /* offset 1 */
    step_until(f, two_dead_letters);
    modq_run_free(f->r); /* no drain: nothing committed */
    f->r = NULL;

    /* The next worker is given both again; it reads the dead letters back first. */
    opts.clock = NULL;
    assert_int_equal(modq_run_new(f->cfg, f->policy, &opts, &f->r, err, sizeof err), MODQ_RUN_OK);
    step_until(f, two_handled);
    modq_run_counts(f->r, &c);
    print_message("after the crash: %llu dead letters, %llu duplicates\n",
                  (unsigned long long)c.dead_letter, (unsigned long long)c.duplicate);
    assert_int_equal(c.dead_letter, 0);
    assert_int_equal(c.duplicate, 2);
    /* Replayed from the dead-letter topic (the same bytes, a new offset): prepared again. */
    produce(f, T_BANNED, "k-junk", junk, sizeof junk); /* offset 2 */
    step_until(f, replay_handled);
    modq_run_counts(f->r, &c);
    assert_int_equal(c.dead_letter, 1);
    assert_int_equal(c.duplicate, 2);
    assert_int_equal(c.publish_failed, 0);
    assert_int_equal(modq_run_drain(f->r, 5000), MODQ_RUN_OK);
    modq_run_free(f->r);
    f->r = NULL;

    assert_int_equal(read_topic(f, T_DLQ, count_dead_letter, &n), 3);
    assert_int_equal(n.malformed, 2);
    assert_int_equal(n.invalid, 1);
    print_message("invalid_ticket: %s\n", n.invalid_reason);
    assert_int_equal(strncmp(n.invalid_reason, "text: not valid UTF-8", 21), 0);

    /* And every offset of the topic is done. */
    rd_kafka_t *rk = client(f, RD_KAFKA_CONSUMER, GROUP);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, T_BANNED, 0);
    assert_int_equal(rd_kafka_committed(rk, l, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(l->elems[0].offset, 3);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    free(poison);
}

static int one_review_item(modq_run *r)
{
    return n_in_review(r, 1);
}

/* A decided record whose ticket id no ticket can have (not UTF-8) names the same bytes as a new
 * ticket: the new one is served, without that prior decision. */
static void test_a_decision_read_back_with_a_bad_id_is_left_out(void **state)
{
    fixture *f = *state;
    modq_run_opts opts = run_opts(f, 0);
    modq_media_opts *mo = modq_opts_new();
    modq_media *m = NULL;
    Modq__V1__Decision d;
    Modq__V1__Hashes h;
    uint8_t *buf, *good;
    size_t len, good_len;
    char err[512] = "";
    modq_desk_who who = {.id = "a1", .team = "t1", .roles = MODQ_ROLE_ASSOCIATE};
    json_t *item = NULL, *status = NULL;
    modq_run_counters c;

    assert_int_equal(modq_media_process(mo, f->img, f->img_len, &m, NULL, 0), MODQ_BLUR_OK);
    modq__v1__decision__init(&d);
    modq__v1__hashes__init(&h);
    d.ticket_id = (char *)(uintptr_t) "old-\xff";
    d.content_id = (char *)(uintptr_t) "c-old";
    d.verdict = MODQ__V1__VERDICT__VERDICT_NO_VIOLATION; /* not re-applied: shown as the prior */
    d.decided_at_ms = wall_ms() - 1000;
    h.sha256 = (char *)(uintptr_t)modq_media_sha256_hex(m);
    d.hashes = &h;
    len = modq__v1__decision__get_packed_size(&d);
    buf = malloc(len);
    modq__v1__decision__pack(&d, buf);
    produce(f, T_DECISIONS, "c-old", buf, len);

    assert_int_equal(modq_run_new(f->cfg, f->policy, &opts, &f->r, err, sizeof err), MODQ_RUN_OK);
    good = tt_ticket("t-same-bytes", "self_harm", f->img, f->img_len, NULL, &good_len);
    produce(f, T_REVIEW, "k-good", good, good_len);
    step_until(f, one_review_item);
    assert_int_equal(
        modq_desk_next(modq_run_desk(f->r), &who, NULL, wall_ms(), &item, &status, NULL),
        MODQ_DESK_OK);
    assert_non_null(item);
    assert_string_equal(json_string_value(json_object_get(item, "id")), "t-same-bytes");
    assert_true(json_is_null(json_object_get(item, "prior")));
    modq_run_counts(f->r, &c);
    assert_int_equal(c.follow_bad, 1);
    json_decref(item);
    json_decref(status);
    free(buf);
    free(good);
    modq_media_free(m);
    modq_opts_free(mo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_dead_letter_is_published_once_across_a_crash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_decision_read_back_with_a_bad_id_is_left_out, setup,
                                        teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    modq_blur_shutdown();
    return failed;
}
