/*
 * test_worker_metrics.c: the Prometheus registry (worker/obs/metrics.c): the text format of each
 * type, escaping, cumulative histogram buckets, numbers that read back exactly, the series cap
 * with its "other" overflow, unknown families ignored, declaration checks, the output cap, and
 * exact totals when four threads update while another renders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "obs/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *render(modq_metrics *m)
{
    char *text = NULL;
    size_t len = 0;

    assert_int_equal(modq_metrics_render(m, &text, &len), MODQ_METRICS_OK);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

/* The value of the sample line that starts with prefix (name and labels, then a space). */
static int sample(const char *text, const char *prefix, double *v)
{
    size_t n = strlen(prefix);

    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');

        if (!end) {
            return 0;
        }
        if ((size_t)(end - line) > n && strncmp(line, prefix, n) == 0 && line[n] == ' ') {
            char *stop;

            *v = strtod(line + n + 1, &stop);
            return stop == end;
        }
        line = end + 1;
    }
    return 0;
}

static size_t count_lines_starting(const char *text, const char *prefix)
{
    size_t count = 0, n = strlen(prefix);

    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');

        if (strncmp(line, prefix, n) == 0) {
            count++;
        }
        if (!end) {
            break;
        }
        line = end + 1;
    }
    return count;
}

static void test_metrics_counter_format(void **state)
{
    modq_metrics *m = modq_metrics_new();
    char *text;

    (void)state;
    assert_int_equal(modq_metrics_declare(m, "modq_things_total", MODQ_METRICS_COUNTER,
                                          "Things seen.", "kind", NULL, 0),
                     MODQ_METRICS_OK);
    assert_int_equal(
        modq_metrics_declare(m, "modq_runs_total", MODQ_METRICS_COUNTER, "Runs.", NULL, NULL, 0),
        MODQ_METRICS_OK);
    modq_metrics_add(m, "modq_things_total", "b", 2);
    modq_metrics_add(m, "modq_things_total", "a", 1);
    modq_metrics_add(m, "modq_things_total", "b", 5);
    text = render(m);
    /* Declaration order, series in first-use order, unlabelled family at 0 before any use. */
    assert_string_equal(text, "# HELP modq_things_total Things seen.\n"
                              "# TYPE modq_things_total counter\n"
                              "modq_things_total{kind=\"b\"} 7\n"
                              "modq_things_total{kind=\"a\"} 1\n"
                              "# HELP modq_runs_total Runs.\n"
                              "# TYPE modq_runs_total counter\n"
                              "modq_runs_total 0\n");
    free(text);
    modq_metrics_set_counter(m, "modq_runs_total", NULL, UINT64_C(18446744073709551615));
    text = render(m);
    assert_non_null(strstr(text, "\nmodq_runs_total 18446744073709551615\n"));
    free(text);
    modq_metrics_free(m);
}

static void test_metrics_gauge_format(void **state)
{
    modq_metrics *m = modq_metrics_new();
    char *text;

    (void)state;
    assert_int_equal(
        modq_metrics_declare(m, "modq_level", MODQ_METRICS_GAUGE, "Level.", "q", NULL, 0),
        MODQ_METRICS_OK);
    modq_metrics_set(m, "modq_level", "int", 42);
    modq_metrics_set(m, "modq_level", "neg", -3);
    modq_metrics_set(m, "modq_level", "frac", 0.1);
    modq_metrics_set(m, "modq_level", "pinf", INFINITY);
    modq_metrics_set(m, "modq_level", "ninf", -INFINITY);
    modq_metrics_set(m, "modq_level", "nan", NAN);
    modq_metrics_set(m, "modq_level", "big", 1e300);
    modq_metrics_set(m, "modq_level", "int", 43); /* set replaces */
    text = render(m);
    assert_string_equal(text, "# HELP modq_level Level.\n"
                              "# TYPE modq_level gauge\n"
                              "modq_level{q=\"int\"} 43\n"
                              "modq_level{q=\"neg\"} -3\n"
                              "modq_level{q=\"frac\"} 0.1\n"
                              "modq_level{q=\"pinf\"} +Inf\n"
                              "modq_level{q=\"ninf\"} -Inf\n"
                              "modq_level{q=\"nan\"} NaN\n"
                              "modq_level{q=\"big\"} 1e+300\n");
    free(text);
    modq_metrics_free(m);
}

static void test_metrics_numbers_read_back_exactly(void **state)
{
    modq_metrics *m = modq_metrics_new();
    uint64_t x = 0x9e3779b97f4a7c15ULL;

    (void)state;
    assert_int_equal(modq_metrics_declare(m, "modq_g", MODQ_METRICS_GAUGE, NULL, NULL, NULL, 0),
                     MODQ_METRICS_OK);
    for (int i = 0; i < 2000; i++) {
        double v, got;
        char *text;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* Values across many magnitudes, with full 53-bit mantissas. */
        v = ldexp((double)(x >> 11), (int)(x % 200) - 100 - 53);
        if (i % 3 == 0) {
            v = -v;
        }
        modq_metrics_set(m, "modq_g", NULL, v);
        text = render(m);
        assert_true(sample(text, "modq_g", &got));
        assert_true(got == v);
        free(text);
    }
    modq_metrics_free(m);
}

static void test_metrics_histogram_cumulative_buckets(void **state)
{
    static const double bounds[] = {0.005, 0.01, 1};
    static const double obs[] = {0.001, 0.005, 0.007, 0.5, 3, 0.002};
    modq_metrics *m = modq_metrics_new();
    double v, sum = 0;
    char *text;

    (void)state;
    assert_int_equal(modq_metrics_declare(m, "modq_wait_seconds", MODQ_METRICS_HISTOGRAM, "Wait.",
                                          "route", bounds, 3),
                     MODQ_METRICS_OK);
    for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++) {
        modq_metrics_observe(m, "modq_wait_seconds", "/a", obs[i]);
        sum += obs[i];
    }
    modq_metrics_observe(m, "modq_wait_seconds", "/b", 0.02);
    text = render(m);
    assert_non_null(strstr(text, "# TYPE modq_wait_seconds histogram\n"));
    /* A bound is inclusive: 0.005 lands in le="0.005". */
    assert_non_null(strstr(text, "modq_wait_seconds_bucket{route=\"/a\",le=\"0.005\"} 3\n"
                                 "modq_wait_seconds_bucket{route=\"/a\",le=\"0.01\"} 4\n"
                                 "modq_wait_seconds_bucket{route=\"/a\",le=\"1\"} 5\n"
                                 "modq_wait_seconds_bucket{route=\"/a\",le=\"+Inf\"} 6\n"
                                 "modq_wait_seconds_sum{route=\"/a\"} "));
    assert_true(sample(text, "modq_wait_seconds_sum{route=\"/a\"}", &v));
    assert_true(v == sum);
    assert_true(sample(text, "modq_wait_seconds_count{route=\"/a\"}", &v));
    assert_true(v == 6);
    assert_true(sample(text, "modq_wait_seconds_bucket{route=\"/b\",le=\"0.01\"}", &v));
    assert_true(v == 0);
    assert_true(sample(text, "modq_wait_seconds_bucket{route=\"/b\",le=\"1\"}", &v));
    assert_true(v == 1);
    free(text);
    modq_metrics_free(m);
}

static void test_metrics_unlabelled_histogram(void **state)
{
    static const double bounds[] = {1, 2};
    modq_metrics *m = modq_metrics_new();
    char *text;

    (void)state;
    assert_int_equal(
        modq_metrics_declare(m, "modq_h", MODQ_METRICS_HISTOGRAM, "H.", NULL, bounds, 2),
        MODQ_METRICS_OK);
    modq_metrics_observe(m, "modq_h", NULL, 1.5);
    modq_metrics_observe(m, "modq_h", NULL, NAN); /* counted under +Inf only */
    text = render(m);
    assert_string_equal(text, "# HELP modq_h H.\n"
                              "# TYPE modq_h histogram\n"
                              "modq_h_bucket{le=\"1\"} 0\n"
                              "modq_h_bucket{le=\"2\"} 1\n"
                              "modq_h_bucket{le=\"+Inf\"} 2\n"
                              "modq_h_sum NaN\n"
                              "modq_h_count 2\n");
    free(text);
    modq_metrics_free(m);
}

static void test_metrics_escaping(void **state)
{
    modq_metrics *m = modq_metrics_new();
    char *text;

    (void)state;
    assert_int_equal(modq_metrics_declare(m, "modq_e_total", MODQ_METRICS_COUNTER,
                                          "Back\\slash \"quoted\"\nnext line", "v", NULL, 0),
                     MODQ_METRICS_OK);
    modq_metrics_add(m, "modq_e_total", "a\\b\"c\nd", 1);
    text = render(m);
    /* Help escapes backslash and newline only; label values also escape the quote. */
    assert_string_equal(text, "# HELP modq_e_total Back\\\\slash \"quoted\"\\nnext line\n"
                              "# TYPE modq_e_total counter\n"
                              "modq_e_total{v=\"a\\\\b\\\"c\\nd\"} 1\n");
    free(text);
    modq_metrics_free(m);
}

static void test_metrics_series_cap_overflows_into_other(void **state)
{
    modq_metrics *m = modq_metrics_new();
    char long_value[300], *text;
    double v;

    (void)state;
    assert_int_equal(
        modq_metrics_declare(m, "modq_c_total", MODQ_METRICS_COUNTER, "C.", "k", NULL, 0),
        MODQ_METRICS_OK);
    for (int i = 0; i < 100; i++) {
        char value[16];

        snprintf(value, sizeof(value), "v%d", i);
        modq_metrics_add(m, "modq_c_total", value, 1);
    }
    /* An old value still lands in its own series. */
    modq_metrics_add(m, "modq_c_total", "v0", 10);
    /* Too long or not UTF-8: never stored as given. */
    memset(long_value, 'x', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    modq_metrics_add(m, "modq_c_total", long_value, 1000);
    text = render(m);
    assert_int_equal(count_lines_starting(text, "modq_c_total{"), MODQ_METRICS_MAX_SERIES);
    assert_true(sample(text, "modq_c_total{k=\"v0\"}", &v));
    assert_true(v == 11);
    assert_true(sample(text, "modq_c_total{k=\"v62\"}", &v));
    assert_true(v == 1);
    assert_false(sample(text, "modq_c_total{k=\"v63\"}", &v));
    assert_true(sample(text, "modq_c_total{k=\"other\"}", &v));
    assert_true(v == 100 - (MODQ_METRICS_MAX_SERIES - 1) + 1000);
    assert_null(strstr(text, "xxxxxxxx"));
    free(text);
    modq_metrics_free(m);
}

static void test_metrics_bad_utf8_label_counted_as_other(void **state)
{
    modq_metrics *m = modq_metrics_new();
    char *text;
    double v;

    (void)state;
    assert_int_equal(
        modq_metrics_declare(m, "modq_u_total", MODQ_METRICS_COUNTER, "U.", "k", NULL, 0),
        MODQ_METRICS_OK);
    modq_metrics_add(m, "modq_u_total", "caf\xc3\xa9", 1); /* valid: kept */
    modq_metrics_add(m, "modq_u_total", "bad\xff", 2);
    modq_metrics_add(m, "modq_u_total", "\xc0\xaf", 3);     /* overlong '/' */
    modq_metrics_add(m, "modq_u_total", "\xed\xa0\x80", 4); /* a surrogate */
    modq_metrics_add(m, "modq_u_total", "cut\xe2\x82", 5);  /* truncated */
    text = render(m);
    assert_true(sample(text, "modq_u_total{k=\"caf\xc3\xa9\"}", &v));
    assert_true(v == 1);
    assert_true(sample(text, "modq_u_total{k=\"other\"}", &v));
    assert_true(v == 14);
    assert_int_equal(count_lines_starting(text, "modq_u_total{"), 2);
    free(text);
    modq_metrics_free(m);
}

static void test_metrics_unknown_family_ignored(void **state)
{
    static const double bounds[] = {1};
    modq_metrics *m = modq_metrics_new();
    char *before, *after;

    (void)state;
    assert_int_equal(
        modq_metrics_declare(m, "modq_a_total", MODQ_METRICS_COUNTER, "A.", NULL, NULL, 0),
        MODQ_METRICS_OK);
    assert_int_equal(
        modq_metrics_declare(m, "modq_b", MODQ_METRICS_HISTOGRAM, "B.", NULL, bounds, 1),
        MODQ_METRICS_OK);
    modq_metrics_add(m, "modq_a_total", NULL, 3);
    before = render(m);
    modq_metrics_add(m, "modq_nope_total", "x", 1);
    modq_metrics_observe(m, "modq_nope", NULL, 1);
    modq_metrics_set(m, NULL, NULL, 1);
    /* The wrong kind of update for a family is ignored too. */
    modq_metrics_set(m, "modq_a_total", NULL, 99);
    modq_metrics_observe(m, "modq_a_total", NULL, 99);
    modq_metrics_add(m, "modq_b", NULL, 99);
    modq_metrics_add(NULL, "modq_a_total", NULL, 1);
    after = render(m);
    assert_string_equal(before, after);
    assert_true(modq_metrics_has(m, "modq_a_total", MODQ_METRICS_COUNTER));
    assert_false(modq_metrics_has(m, "modq_a_total", MODQ_METRICS_GAUGE));
    assert_false(modq_metrics_has(m, "modq_nope_total", MODQ_METRICS_COUNTER));
    free(before);
    free(after);
    modq_metrics_free(m);
}

static void test_metrics_declare_checks(void **state)
{
    static const double up[] = {1, 2}, flat[] = {1, 1}, nan_b[] = {NAN};
    modq_metrics *m = modq_metrics_new();

    (void)state;
    assert_int_equal(modq_metrics_declare(m, "9bad", MODQ_METRICS_COUNTER, "", NULL, NULL, 0),
                     MODQ_METRICS_ERR_INVALID_ARG);
    assert_int_equal(modq_metrics_declare(m, "bad-name", MODQ_METRICS_GAUGE, "", NULL, NULL, 0),
                     MODQ_METRICS_ERR_INVALID_ARG);
    assert_int_equal(modq_metrics_declare(m, "", MODQ_METRICS_GAUGE, "", NULL, NULL, 0),
                     MODQ_METRICS_ERR_INVALID_ARG);
    assert_int_equal(modq_metrics_declare(m, "ok:name_1", MODQ_METRICS_GAUGE, "", NULL, NULL, 0),
                     MODQ_METRICS_OK);
    assert_int_equal(modq_metrics_declare(m, "ok:name_1", MODQ_METRICS_GAUGE, "", NULL, NULL, 0),
                     MODQ_METRICS_ERR_INVALID_ARG);
    assert_int_equal(modq_metrics_declare(m, "g2", MODQ_METRICS_GAUGE, "", "a:b", NULL, 0),
                     MODQ_METRICS_ERR_INVALID_ARG);
    assert_int_equal(modq_metrics_declare(m, "g2", MODQ_METRICS_GAUGE, "", "__x", NULL, 0),
                     MODQ_METRICS_ERR_INVALID_ARG);
    assert_int_equal(modq_metrics_declare(m, "g2", MODQ_METRICS_GAUGE, "", NULL, up, 2),
                     MODQ_METRICS_ERR_INVALID_ARG);
    assert_int_equal(modq_metrics_declare(m, "h", MODQ_METRICS_HISTOGRAM, "", "le", up, 2),
                     MODQ_METRICS_ERR_INVALID_ARG);
    assert_int_equal(modq_metrics_declare(m, "h", MODQ_METRICS_HISTOGRAM, "", NULL, flat, 2),
                     MODQ_METRICS_ERR_INVALID_ARG);
    assert_int_equal(modq_metrics_declare(m, "h", MODQ_METRICS_HISTOGRAM, "", NULL, nan_b, 1),
                     MODQ_METRICS_ERR_INVALID_ARG);
    assert_int_equal(modq_metrics_declare(m, "h", MODQ_METRICS_HISTOGRAM, "", NULL, up,
                                          MODQ_METRICS_MAX_BUCKETS + 1),
                     MODQ_METRICS_ERR_INVALID_ARG);
    assert_int_equal(modq_metrics_declare(m, "h", MODQ_METRICS_HISTOGRAM, "", NULL, up, 2),
                     MODQ_METRICS_OK);
    /* h's samples include h_count and h_sum: no other family may take those names. */
    assert_int_equal(modq_metrics_declare(m, "h_count", MODQ_METRICS_COUNTER, "", NULL, NULL, 0),
                     MODQ_METRICS_ERR_INVALID_ARG);
    assert_int_equal(modq_metrics_declare(m, "c", MODQ_METRICS_COUNTER, "", NULL, NULL, 0),
                     MODQ_METRICS_OK);
    assert_int_equal(modq_metrics_declare(m, "c_bucket", MODQ_METRICS_COUNTER, "", NULL, NULL, 0),
                     MODQ_METRICS_OK);
    assert_int_equal(modq_metrics_declare(m, "c", MODQ_METRICS_HISTOGRAM, "", NULL, up, 2),
                     MODQ_METRICS_ERR_INVALID_ARG);
    assert_int_equal(modq_metrics_declare(NULL, "x", MODQ_METRICS_GAUGE, "", NULL, NULL, 0),
                     MODQ_METRICS_ERR_INVALID_ARG);
    modq_metrics_free(m);
    modq_metrics_free(NULL);
}

static void test_metrics_family_limit(void **state)
{
    modq_metrics *m = modq_metrics_new();
    char *text;

    (void)state;
    for (int i = 0; i < MODQ_METRICS_MAX_FAMILIES; i++) {
        char name[32];

        snprintf(name, sizeof(name), "modq_f%d", i);
        assert_int_equal(modq_metrics_declare(m, name, MODQ_METRICS_GAUGE, "", NULL, NULL, 0),
                         MODQ_METRICS_OK);
    }
    assert_int_equal(modq_metrics_declare(m, "modq_more", MODQ_METRICS_GAUGE, "", NULL, NULL, 0),
                     MODQ_METRICS_ERR_FULL);
    text = render(m);
    assert_int_equal(count_lines_starting(text, "# TYPE "), MODQ_METRICS_MAX_FAMILIES);
    /* A family without help has no HELP line. */
    assert_int_equal(count_lines_starting(text, "# HELP "), 0);
    free(text);
    modq_metrics_free(m);
}

static void test_metrics_render_output_capped(void **state)
{
    double bounds[MODQ_METRICS_MAX_BUCKETS];
    modq_metrics *m = modq_metrics_new();
    char dummy, *text = &dummy;
    size_t len = 1;

    (void)state;
    for (int i = 0; i < MODQ_METRICS_MAX_BUCKETS; i++) {
        bounds[i] = i + 1;
    }
    for (int f = 0; f < 8; f++) {
        char name[32];

        snprintf(name, sizeof(name), "modq_big%d", f);
        assert_int_equal(modq_metrics_declare(m, name, MODQ_METRICS_HISTOGRAM, "", "l", bounds,
                                              MODQ_METRICS_MAX_BUCKETS),
                         MODQ_METRICS_OK);
        for (int s = 0; s < MODQ_METRICS_MAX_SERIES; s++) {
            char value[128];

            /* 127 bytes, distinct in the first two. */
            memset(value, 'x', sizeof(value) - 1);
            value[sizeof(value) - 1] = '\0';
            value[0] = (char)('a' + s % 26);
            value[1] = (char)('a' + s / 26);
            modq_metrics_observe(m, name, value, 1);
        }
    }
    assert_int_equal(modq_metrics_render(m, &text, &len), MODQ_METRICS_ERR_FULL);
    assert_null(text);
    assert_int_equal(len, 0);
    modq_metrics_free(m);
}

#define THREADS 4
#define ROUNDS  20000
#define NLABELS 5

typedef struct worker_arg {
    modq_metrics *m;
    int id;
} worker_arg;

static void *update_worker(void *p)
{
    const worker_arg *a = p;
    static const char *const labels[NLABELS] = {"a", "b", "c", "d", "e"};

    for (int i = 0; i < ROUNDS; i++) {
        modq_metrics_add(a->m, "modq_n_total", labels[(i + a->id) % NLABELS], 1);
        modq_metrics_observe(a->m, "modq_d_seconds", labels[i % NLABELS], (i % 4) * 0.5);
        modq_metrics_set(a->m, "modq_g", NULL, i);
    }
    return NULL;
}

static void test_metrics_concurrent_updates_exact(void **state)
{
    static const double bounds[] = {0.25, 1};
    modq_metrics *m = modq_metrics_new();
    pthread_t th[THREADS];
    worker_arg args[THREADS];
    double total = 0, count = 0, low = 0, v;
    char *text;

    (void)state;
    assert_int_equal(
        modq_metrics_declare(m, "modq_n_total", MODQ_METRICS_COUNTER, "N.", "l", NULL, 0),
        MODQ_METRICS_OK);
    assert_int_equal(
        modq_metrics_declare(m, "modq_d_seconds", MODQ_METRICS_HISTOGRAM, "D.", "l", bounds, 2),
        MODQ_METRICS_OK);
    assert_int_equal(modq_metrics_declare(m, "modq_g", MODQ_METRICS_GAUGE, "G.", NULL, NULL, 0),
                     MODQ_METRICS_OK);
    for (int i = 0; i < THREADS; i++) {
        args[i].m = m;
        args[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, update_worker, &args[i]), 0);
    }
    /* Renders while the updates run: each must be whole (ASan/UBSan catch torn state). */
    for (int i = 0; i < 50; i++) {
        text = render(m);
        assert_non_null(strstr(text, "# TYPE modq_g gauge\n"));
        free(text);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    text = render(m);
    for (int l = 0; l < NLABELS; l++) {
        char prefix[64];

        snprintf(prefix, sizeof(prefix), "modq_n_total{l=\"%c\"}", 'a' + l);
        assert_true(sample(text, prefix, &v));
        assert_true(v == (double)(THREADS * ROUNDS / NLABELS));
        total += v;
        snprintf(prefix, sizeof(prefix), "modq_d_seconds_count{l=\"%c\"}", 'a' + l);
        assert_true(sample(text, prefix, &v));
        count += v;
        snprintf(prefix, sizeof(prefix), "modq_d_seconds_bucket{l=\"%c\",le=\"0.25\"}", 'a' + l);
        assert_true(sample(text, prefix, &v));
        low += v;
    }
    assert_true(total == (double)THREADS * ROUNDS);
    assert_true(count == (double)THREADS * ROUNDS);
    /* Only the 0 observations (one round in four) are at or below 0.25. */
    assert_true(low == (double)THREADS * ROUNDS / 4);
    assert_true(sample(text, "modq_g", &v));
    assert_true(v == ROUNDS - 1);
    free(text);
    modq_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_counter_format),
        cmocka_unit_test(test_metrics_gauge_format),
        cmocka_unit_test(test_metrics_numbers_read_back_exactly),
        cmocka_unit_test(test_metrics_histogram_cumulative_buckets),
        cmocka_unit_test(test_metrics_unlabelled_histogram),
        cmocka_unit_test(test_metrics_escaping),
        cmocka_unit_test(test_metrics_series_cap_overflows_into_other),
        cmocka_unit_test(test_metrics_bad_utf8_label_counted_as_other),
        cmocka_unit_test(test_metrics_unknown_family_ignored),
        cmocka_unit_test(test_metrics_declare_checks),
        cmocka_unit_test(test_metrics_family_limit),
        cmocka_unit_test(test_metrics_render_output_capped),
        cmocka_unit_test(test_metrics_concurrent_updates_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
