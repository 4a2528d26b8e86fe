/*
 * test_worker_run_banks.c: the hash banks reloaded without a restart (worker/core/run_banks.c),
 * against an in-process mock Kafka cluster. On request (SIGHUP's path) the new file is swapped
 * in: media it lists is decided by the bank, media it dropped goes to review; nothing is
 * reloaded without a request or a change. A broken file is refused with FILE:LINE and the banks
 * in use stay. A changed file is picked up by the periodic check alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "run_testutil.h"

/* Replaces f's bank file with text, as a deployment does: written aside, renamed over it. */
static void write_bank(fixture *f, const char *text)
{
    char tmp[96];
    FILE *fp;

    snprintf(tmp, sizeof tmp, "%s.new", f->bank);
    assert_non_null(fp = fopen(tmp, "w"));
    assert_true(fputs(text, fp) >= 0);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(rename(tmp, f->bank), 0);
}

/* "sha256 HEX\n" of buf. */
static void bank_line(const uint8_t *buf, size_t len, char *out, size_t size)
{
    uint8_t sha[MODQ_SHA256_LEN];
    char hex[2 * MODQ_SHA256_LEN + 1];

    assert_int_equal(modq_digest_compute(buf, len, sha, NULL), MODQ_BLUR_OK);
    modq_digest_hex(sha, sizeof sha, hex);
    snprintf(out, size, "sha256 %s\n", hex);
}

static uint64_t counter(modq_run *r, int which)
{
    modq_run_counters c;
    modq_run_counts(r, &c);
    return which == 0 ? c.banks_reloaded : which == 1 ? c.banks_failed : c.auto_decided;
}

static int reloaded_1(modq_run *r)
{
    return counter(r, 0) == 1;
}
static int failed_1(modq_run *r)
{
    return counter(r, 1) == 1;
}
static int auto_1(modq_run *r)
{
    return counter(r, 2) == 1;
}
static int auto_2(modq_run *r)
{
    return counter(r, 2) == 2;
}

static int review_1(modq_run *r)
{
    modq_run_counters c;
    modq_run_counts(r, &c);
    return c.review == 1;
}

static void produce_ticket(fixture *f, const char *id, const uint8_t *img, size_t len)
{
    size_t n;
    uint8_t *t = tt_ticket(id, "violent_extremism", img, len, NULL, &n);

    assert_non_null(t);
    produce(f, T_BANNED, id, t, n);
    free(t);
}

static void test_run_reloads_banks_on_request(void **state)
{
    fixture *f = *state;
    modq_run_opts opts = run_opts(f, 0);
    char err[512] = "", line[128], want[160];
    modq_run_counters c;

    opts.banks_check_ms = 3600 * 1000; /* no check during the test: only requests reload */
    assert_int_equal(modq_run_new(f->cfg, f->policy, &opts, &f->r, err, sizeof err), MODQ_RUN_OK);
    step_for(f, 200); /* the first turn's look at the files, which a change would reload */
    /* The bank now lists the other image instead; nothing happens until it is asked for. */
    bank_line(f->img, f->img_len, line, sizeof line);
    write_bank(f, line);
    step_for(f, 300);
    assert_int_equal(counter(f->r, 0), 0);
    modq_run_reload_banks(f->r);
    step_until(f, reloaded_1);
    assert_true(log_has(f, "banks reloaded"));
    modq_run_counts(f->r, &c);
    assert_int_equal(c.bank_hashes, 1);
    produce_ticket(f, "t-img", f->img, f->img_len);
    step_until(f, auto_1);
    produce_ticket(f, "t-banned", f->banned, f->banned_len); /* no longer listed */
    step_until(f, review_1);

    /* A broken file: refused, said where, and the banks in use stay. */
    write_bank(f, "# new list\nsha256 0123\n");
    modq_run_reload_banks(f->r);
    step_until(f, failed_1);
    snprintf(want, sizeof want, "%s:2: sha256 needs 64 hex digits", f->bank);
    assert_true(log_has(f, "banks not reloaded: the banks in use stay"));
    assert_true(log_has(f, want));
    produce_ticket(f, "t-img-2", f->img, f->img_len);
    step_until(f, auto_2);
    modq_run_counts(f->r, &c);
    assert_int_equal(c.banks_reloaded, 1);
    assert_int_equal(c.bank_hashes, 1);
    assert_int_equal(modq_run_drain(f->r, 5000), MODQ_RUN_OK);
}

static void test_run_reloads_a_changed_bank_file(void **state)
{
    fixture *f = *state;
    modq_run_opts opts = run_opts(f, 0);
    char err[512] = "", line[256], two[128];
    modq_run_counters c;

    opts.banks_check_ms = 100;
    assert_int_equal(modq_run_new(f->cfg, f->policy, &opts, &f->r, err, sizeof err), MODQ_RUN_OK);
    step_for(f, 400); /* checked a few times: unchanged, nothing reloaded */
    assert_int_equal(counter(f->r, 0), 0);
    bank_line(f->banned, f->banned_len, line, sizeof line);
    bank_line(f->img, f->img_len, two, sizeof two);
    strncat(line, two, sizeof line - strlen(line) - 1);
    write_bank(f, line);
    step_until(f, reloaded_1);
    modq_run_counts(f->r, &c);
    assert_int_equal(c.bank_hashes, 2);
    produce_ticket(f, "t-img", f->img, f->img_len);
    step_until(f, auto_1);
    step_for(f, 400); /* unchanged since: no second reload */
    assert_int_equal(counter(f->r, 0), 1);
    assert_int_equal(modq_run_drain(f->r, 5000), MODQ_RUN_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_reloads_banks_on_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_reloads_a_changed_bank_file, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    modq_blur_shutdown();
    return failed;
}
