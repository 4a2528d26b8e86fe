/*
 * test_worker_run_sandbox.c: the worker with its media in sandbox helpers (sandbox.*), end to end
 * against the in-process mock cluster. With the tests' build of the helper, media bytes can make
 * a helper crash or hang: each such ticket is dead-lettered (decoder_crashed, decode_timeout)
 * with its original bytes, and the worker goes on: a good ticket after them is held for review
 * and a bank-matched one is decided, on fresh helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "run_testutil.h"

typedef struct dl_codes {
    int crashed, timeout;
} dl_codes;

static void check_dead_letter(const rd_kafka_message_t *msg, void *arg)
{
    dl_codes *dc = arg;
    char code[64], key[32];

    header(msg, "modq-error", code, sizeof code);
    snprintf(key, sizeof key, "%.*s", (int)msg->key_len, (const char *)msg->key);
    print_message("dead letter %s: %s\n", key, code);
    if (strcmp(key, "k-crash") == 0) {
        assert_string_equal(code, "decoder_crashed");
        dc->crashed++;
    } else {
        assert_string_equal(key, "k-hang");
        assert_string_equal(code, "decode_timeout");
        dc->timeout++;
    }
}

static int all_done(modq_run *r)
{
    modq_run_counters c;
    modq_run_counts(r, &c);
    return c.dead_letter == 2 && c.auto_decided == 1 && c.review == 1 && c.confirmed == 3;
}

static void test_a_crashing_or_hanging_decoder_costs_one_item(void **state)
{
    fixture *f = *state;
    modq_run_opts opts = run_opts(f, 0);
    static const char crash[] = "modq-test:crash", hang[] = "modq-test:hang";
    char err[512] = "";
    uint8_t *t_crash, *t_hang, *t_good, *t_banned;
    size_t crash_len, hang_len, good_len, banned_len;
    modq_run_counters c;
    dl_codes dc = {0, 0};

    snprintf(f->helper, sizeof f->helper, "%s/modq-media-sandbox-test", getenv("MODQ_BUILD_DIR"));
    assert_int_equal(load_config(f, "  timeout_ms: 1500\n", &f->cfg2), 0);
    t_crash = tt_ticket("t-crash", "self_harm", (const uint8_t *)crash, sizeof crash - 1, NULL,
                        &crash_len);
    t_hang =
        tt_ticket("t-hang", "self_harm", (const uint8_t *)hang, sizeof hang - 1, NULL, &hang_len);
    t_good = tt_ticket("t-good", "self_harm", f->img, f->img_len, NULL, &good_len);
    t_banned =
        tt_ticket("t-banned", "violent_extremism", f->banned, f->banned_len, NULL, &banned_len);
    assert_true(t_crash && t_hang && t_good && t_banned);

    assert_int_equal(modq_run_new(f->cfg2, f->policy, &opts, &f->r, err, sizeof err), MODQ_RUN_OK);
    produce(f, T_REVIEW, "k-crash", t_crash, crash_len);
    produce(f, T_REVIEW, "k-hang", t_hang, hang_len);
    produce(f, T_REVIEW, "k-good", t_good, good_len);
    produce(f, T_BANNED, "k-banned", t_banned, banned_len);
    step_until(f, all_done);
    assert_int_equal(modq_run_review_count(f->r), 1);
    assert_int_equal(modq_run_drain(f->r, 5000), MODQ_RUN_OK);
    modq_run_counts(f->r, &c);
    assert_int_equal(c.prepare_failed, 0);
    assert_int_equal(c.publish_failed, 0);
    modq_run_free(f->r);
    f->r = NULL;

    assert_int_equal(read_topic(f, T_DLQ, check_dead_letter, &dc), 2);
    assert_int_equal(dc.crashed, 1);
    assert_int_equal(dc.timeout, 1);
    free(t_crash);
    free(t_hang);
    free(t_good);
    free(t_banned);
}

/* A helper program that is not there stops the worker's start, with the path in the reason. */
static void test_a_missing_helper_stops_the_start(void **state)
{
    fixture *f = *state;
    modq_run_opts opts = run_opts(f, 0);
    char err[512] = "";

    snprintf(f->helper, sizeof f->helper, "/nonexistent/modq-media-sandbox");
    assert_int_equal(load_config(f, "", &f->cfg2), 0);
    assert_int_equal(modq_run_new(f->cfg2, f->policy, &opts, &f->r, err, sizeof err),
                     MODQ_RUN_ERR_SETUP);
    print_message("%s\n", err);
    assert_non_null(strstr(err, "/nonexistent/modq-media-sandbox"));
    assert_null(f->r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_crashing_or_hanging_decoder_costs_one_item, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_missing_helper_stops_the_start, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    modq_blur_shutdown();
    return failed;
}
