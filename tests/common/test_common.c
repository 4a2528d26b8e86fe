/*
 * test_common.c: tests of common/ (libmodq_common): the error buffer at its edges (truncation,
 * no buffer, a zero size), whole-string integers at their bounds and against overflow and stray
 * text, the two clocks, and array growth up to its cap, past it, and when memory runs out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "modq_common.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* The out-of-memory case asks for an impossible allocation: under AddressSanitizer that must come
 * back as NULL, as it does from glibc, rather than end the test with a report. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

/* ---------------------------------------------------------------------------------------------- */

static void test_errstr_formats_into_the_buffer(void **state)
{
    char buf[64];
    (void)state;
    modq_errstr_set(buf, sizeof buf, "%s %d of %zu", "part", 3, (size_t)7);
    assert_string_equal(buf, "part 3 of 7");
}

static void test_errstr_cuts_long_text_and_always_terminates(void **state)
{
    char buf[8];
    (void)state;
    memset(buf, 'x', sizeof buf);
    modq_errstr_set(buf, sizeof buf, "%s", "0123456789abcdef");
    assert_string_equal(buf, "0123456");

    memset(buf, 'x', sizeof buf);
    modq_errstr_set(buf, 1, "%s", "anything");
    assert_int_equal(buf[0], '\0');
    assert_int_equal(buf[1], 'x'); /* nothing beyond the size given */
}

static void test_errstr_without_a_buffer_writes_nothing(void **state)
{
    char buf[4] = "abc";
    (void)state;
    modq_errstr_set(NULL, 100, "%s", "dropped");
    modq_errstr_set(NULL, 0, "%s", "dropped");
    modq_errstr_set(buf, 0, "%s", "dropped");
    assert_string_equal(buf, "abc");
}

static void MODQ_PRINTF(3, 4) through_va_list(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    modq_errstr_vset(buf, size, fmt, ap);
    va_end(ap);
}

static void test_errstr_vset_is_the_same_through_a_va_list(void **state)
{
    char buf[6];
    (void)state;
    through_va_list(buf, sizeof buf, "%d-%d", 12, 345678);
    assert_string_equal(buf, "12-34");
    through_va_list(NULL, sizeof buf, "%d", 1);
}

static int freed;

static void counting_free(void *p)
{
    freed += p != NULL;
    free(p);
}

static void test_free_null_clears_the_pointer(void **state)
{
    char *p = malloc(16);
    (void)state;
    assert_non_null(p);
    MODQ_FREE_NULL(p);
    assert_null(p);
    MODQ_FREE_NULL(p); /* a second cleanup path frees NULL: harmless */
    assert_null(p);

    freed = 0;
    p = malloc(16);
    assert_non_null(p);
    MODQ_FREE_NULL_WITH(counting_free, p);
    assert_null(p);
    MODQ_FREE_NULL_WITH(counting_free, p);
    assert_int_equal(freed, 1); /* through the function given, once */
}

/* ---------------------------------------------------------------------------------------------- */

static void test_parse_accepts_whole_decimal_numbers_in_range(void **state)
{
    int64_t v = -1;
    (void)state;
    assert_true(modq_parse_int64("0", 0, 10, &v));
    assert_int_equal(v, 0);
    assert_true(modq_parse_int64("42", 0, 100, &v));
    assert_int_equal(v, 42);
    assert_true(modq_parse_int64("+7", 0, 10, &v));
    assert_int_equal(v, 7);
    assert_true(modq_parse_int64("-0", 0, 0, &v));
    assert_int_equal(v, 0);
    assert_true(modq_parse_int64("-12", -20, 0, &v));
    assert_int_equal(v, -12);
    assert_true(modq_parse_int64("007", 0, 10, &v)); /* base 10 always: not octal */
    assert_int_equal(v, 7);
}

static void test_parse_bounds_are_inclusive(void **state)
{
    int64_t v = 0;
    (void)state;
    assert_true(modq_parse_int64("1", 1, 8000, &v));
    assert_int_equal(v, 1);
    assert_true(modq_parse_int64("8000", 1, 8000, &v));
    assert_int_equal(v, 8000);
    v = 99;
    assert_false(modq_parse_int64("0", 1, 8000, &v));
    assert_false(modq_parse_int64("8001", 1, 8000, &v));
    assert_false(modq_parse_int64("-1", 0, 10, &v));
    assert_false(modq_parse_int64("5", 6, 4, &v)); /* an empty range holds nothing */
    assert_int_equal(v, 99);                       /* left alone on every refusal */
}

static void test_parse_reaches_the_int64_limits_and_refuses_beyond(void **state)
{
    int64_t v = 0;
    (void)state;
    assert_true(modq_parse_int64("9223372036854775807", INT64_MIN, INT64_MAX, &v));
    assert_true(v == INT64_MAX);
    assert_true(modq_parse_int64("-9223372036854775808", INT64_MIN, INT64_MAX, &v));
    assert_true(v == INT64_MIN);
    v = 5;
    assert_false(modq_parse_int64("9223372036854775808", INT64_MIN, INT64_MAX, &v));
    assert_false(modq_parse_int64("-9223372036854775809", INT64_MIN, INT64_MAX, &v));
    assert_false(modq_parse_int64("99999999999999999999999", INT64_MIN, INT64_MAX, &v));
    assert_int_equal(v, 5);
}

static void test_parse_refuses_anything_but_the_number(void **state)
{
    static const char *const bad[] = {
        "",    " ",   "+",  "-",  "+-1", "--1", " 1",   "1 ",
        "\t1", "1\n", "1x", "x1", "1.0", "1e3", "0x10", "1,000",
    };
    int64_t v = 3;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (modq_parse_int64(bad[i], INT64_MIN, INT64_MAX, &v)) {
            fail_msg("'%s' was taken as %lld", bad[i], (long long)v);
        }
    }
    assert_false(modq_parse_int64(NULL, INT64_MIN, INT64_MAX, &v));
    assert_int_equal(v, 3);
}

static void test_parse_leaves_errno_alone(void **state)
{
    int64_t v = 0;
    (void)state;
    errno = EDOM;
    assert_false(modq_parse_int64("9223372036854775808", INT64_MIN, INT64_MAX, &v));
    assert_int_equal(errno, EDOM);
    assert_true(modq_parse_int64("12", 0, 100, &v));
    assert_int_equal(errno, EDOM);
}

/* ---------------------------------------------------------------------------------------------- */

static void test_monotonic_clock_counts_milliseconds(void **state)
{
    struct timespec nap = {0, 30 * 1000000L};
    (void)state;
    int64_t t0 = modq_clock_mono_ms();
    while (nanosleep(&nap, &nap) != 0 && errno == EINTR) {
    }
    int64_t t1 = modq_clock_mono_ms();
    assert_true(t0 > 0);
    assert_true(t1 - t0 >= 30);   /* never less than the sleep */
    assert_true(t1 - t0 < 30000); /* and in milliseconds, not micro- or nanoseconds */
}

static void test_wall_clock_is_unix_milliseconds(void **state)
{
    (void)state;
    int64_t before = (int64_t)time(NULL) * 1000;
    int64_t now = modq_clock_wall_ms();
    int64_t after = ((int64_t)time(NULL) + 1) * 1000;
    assert_true(now >= before && now <= after);
}

/* ---------------------------------------------------------------------------------------------- */

static void fill(int64_t *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        a[i] = (int64_t)i; /* every element is writable: AddressSanitizer checks the bounds */
    }
}

static void test_grow_starts_small_and_doubles(void **state)
{
    int64_t *a = NULL;
    size_t cap = 0;
    (void)state;
    assert_int_equal(MODQ_ARRAY_GROW(&a, &cap, 1, 1000), MODQ_COMMON_OK);
    assert_non_null(a);
    assert_int_equal(cap, MODQ_GROW_FIRST);
    fill(a, cap);

    int64_t *before = a;
    assert_int_equal(MODQ_ARRAY_GROW(&a, &cap, MODQ_GROW_FIRST, 1000), MODQ_COMMON_OK);
    assert_ptr_equal(a, before); /* room enough: nothing happens */
    assert_int_equal(cap, MODQ_GROW_FIRST);

    assert_int_equal(MODQ_ARRAY_GROW(&a, &cap, MODQ_GROW_FIRST + 1, 1000), MODQ_COMMON_OK);
    assert_int_equal(cap, 2 * MODQ_GROW_FIRST);
    for (size_t i = 0; i < MODQ_GROW_FIRST; i++) {
        assert_int_equal(a[i], (int64_t)i); /* the contents move with the array */
    }
    fill(a, cap);

    assert_int_equal(MODQ_ARRAY_GROW(&a, &cap, 700, 1000), MODQ_COMMON_OK);
    assert_int_equal(cap, 700); /* more than double was needed: exactly that */
    fill(a, cap);
    free(a);
}

static void test_grow_stops_at_the_cap(void **state)
{
    int64_t *a = NULL;
    size_t cap = 0;
    (void)state;
    assert_int_equal(MODQ_ARRAY_GROW(&a, &cap, 1, 100), MODQ_COMMON_OK);
    assert_int_equal(MODQ_ARRAY_GROW(&a, &cap, 65, 100), MODQ_COMMON_OK);
    assert_int_equal(cap, 100); /* doubling would pass the cap: the cap */
    fill(a, cap);

    int64_t *before = a;
    assert_int_equal(MODQ_ARRAY_GROW(&a, &cap, 101, 100), MODQ_COMMON_ERR_FULL);
    assert_ptr_equal(a, before);
    assert_int_equal(cap, 100);
    free(a);

    char *small = NULL;
    size_t small_cap = 0;
    assert_int_equal(MODQ_ARRAY_GROW(&small, &small_cap, 3, 10), MODQ_COMMON_OK);
    assert_int_equal(small_cap, 10); /* a cap under the first size wins */
    free(small);
}

static void test_grow_refuses_sizes_that_wrap_around(void **state)
{
    char *a = NULL;
    size_t cap = 0;
    (void)state;
    /* Three elements of half the address space: the byte count would wrap. */
    assert_int_equal(modq_array_grow(&a, &cap, 3, SIZE_MAX / 2, SIZE_MAX), MODQ_COMMON_ERR_FULL);
    assert_int_equal(modq_array_grow(&a, &cap, SIZE_MAX, 2, SIZE_MAX), MODQ_COMMON_ERR_FULL);
    assert_int_equal(modq_array_grow(&a, &cap, 1, 0, 10), MODQ_COMMON_ERR_FULL);
    assert_null(a);
    assert_int_equal(cap, 0);
}

static void test_grow_without_memory_keeps_the_array(void **state)
{
    char *a = NULL;
    size_t cap = 0;
    (void)state;
    assert_int_equal(MODQ_ARRAY_GROW(&a, &cap, 10, SIZE_MAX), MODQ_COMMON_OK);
    memcpy(a, "kept", 5);
    char *before = a;
    assert_int_equal(MODQ_ARRAY_GROW(&a, &cap, SIZE_MAX / 4, SIZE_MAX), MODQ_COMMON_ERR_NOMEM);
    assert_ptr_equal(a, before);
    assert_int_equal(cap, MODQ_GROW_FIRST);
    assert_string_equal(a, "kept");
    free(a);
}

static void test_strerror_names_every_result(void **state)
{
    (void)state;
    for (int r = 0; r < MODQ_COMMON_RESULT_COUNT; r++) {
        const char *s = modq_common_strerror((modq_common_result)r);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, "unknown result");
    }
    assert_string_equal(modq_common_strerror(MODQ_COMMON_RESULT_COUNT), "unknown result");
}

/* FNV-1a 64 against the published test vectors, and the text form equal to the byte form. */
static void test_hash_is_fnv1a_64(void **state)
{
    (void)state;
    assert_true(modq_hash_text("") == 0xcbf29ce484222325ULL);
    assert_true(modq_hash_text("a") == 0xaf63dc4c8601ec8cULL);
    assert_true(modq_hash_text("foobar") == 0x85944171f73967e8ULL);
    assert_true(modq_hash_bytes("foobar", 6) == modq_hash_text("foobar"));
    assert_true(modq_hash_bytes("a\0b", 3) != modq_hash_bytes("a\0c", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errstr_formats_into_the_buffer),
        cmocka_unit_test(test_errstr_cuts_long_text_and_always_terminates),
        cmocka_unit_test(test_errstr_without_a_buffer_writes_nothing),
        cmocka_unit_test(test_errstr_vset_is_the_same_through_a_va_list),
        cmocka_unit_test(test_free_null_clears_the_pointer),
        cmocka_unit_test(test_parse_accepts_whole_decimal_numbers_in_range),
        cmocka_unit_test(test_parse_bounds_are_inclusive),
        cmocka_unit_test(test_parse_reaches_the_int64_limits_and_refuses_beyond),
        cmocka_unit_test(test_parse_refuses_anything_but_the_number),
        cmocka_unit_test(test_parse_leaves_errno_alone),
        cmocka_unit_test(test_monotonic_clock_counts_milliseconds),
        cmocka_unit_test(test_wall_clock_is_unix_milliseconds),
        cmocka_unit_test(test_grow_starts_small_and_doubles),
        cmocka_unit_test(test_grow_stops_at_the_cap),
        cmocka_unit_test(test_grow_refuses_sizes_that_wrap_around),
        cmocka_unit_test(test_grow_without_memory_keeps_the_array),
        cmocka_unit_test(test_strerror_names_every_result),
        cmocka_unit_test(test_hash_is_fnv1a_64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
