/* test_blur_opts.c: defaults and range checks of the pipeline options (blur/opts.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "modq_blur.h"

static void test_opts_defaults_are_the_documented_limits(void **state)
{
    modq_media_opts *o = modq_opts_new();

    (void)state;
    assert_non_null(o);
    assert_int_equal(modq_opts_get(o, MODQ_OPT_MAX_INPUT_BYTES), 64 * 1024 * 1024);
    assert_int_equal(modq_opts_get(o, MODQ_OPT_MAX_PIXELS), 100000000);
    assert_int_equal(modq_opts_get(o, MODQ_OPT_MAX_SIDE), 20000);
    assert_int_equal(modq_opts_get(o, MODQ_OPT_DISPLAY_SIZE), 1024);
    assert_int_equal(modq_opts_get(o, MODQ_OPT_LEVELS), 0xf);
    assert_int_equal(modq_opts_get(o, MODQ_OPT_COLOUR), 0);
    assert_int_equal(modq_opts_get(o, MODQ_OPT_FORMAT), MODQ_FORMAT_WEBP);
    assert_int_equal(modq_opts_get(o, MODQ_OPT_DEADLINE_MS), 30000);
    assert_int_equal(modq_opts_get(o, MODQ_OPT_MAX_JPEG_SCANS), 50);
    modq_opts_free(o);
}

static void test_opts_reject_out_of_range_and_keep_old_value(void **state)
{
    modq_media_opts *o = modq_opts_new();

    (void)state;
    assert_int_equal(modq_opts_set(o, MODQ_OPT_DISPLAY_SIZE, 15), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_opts_set(o, MODQ_OPT_DISPLAY_SIZE, 8193), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_opts_get(o, MODQ_OPT_DISPLAY_SIZE), 1024);
    assert_int_equal(modq_opts_set(o, MODQ_OPT_DISPLAY_SIZE, 16), MODQ_BLUR_OK);
    assert_int_equal(modq_opts_set(o, MODQ_OPT_DISPLAY_SIZE, 8192), MODQ_BLUR_OK);
    assert_int_equal(modq_opts_set(o, MODQ_OPT_MAX_PIXELS, 0), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_opts_set(o, MODQ_OPT_LEVELS, 0x10), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_opts_set(o, MODQ_OPT_QUALITY, 101), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_opts_set(o, MODQ_OPT_COUNT, 1), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_opts_get(o, MODQ_OPT_COUNT), -1);
    assert_int_equal(modq_opts_set(NULL, MODQ_OPT_QUALITY, 50), MODQ_BLUR_ERR_INVALID_ARG);
    modq_opts_free(o);
    modq_opts_free(NULL);
}

static void test_every_result_has_text_and_code(void **state)
{
    (void)state;
    for (int r = 0; r < MODQ_BLUR_RESULT_COUNT; r++) {
        assert_non_null(modq_blur_strerror((modq_blur_result)r));
        assert_non_null(modq_blur_code((modq_blur_result)r));
        for (int s = 0; s < r; s++) {
            assert_string_not_equal(modq_blur_code((modq_blur_result)r),
                                    modq_blur_code((modq_blur_result)s));
        }
    }
    assert_string_equal(modq_blur_code(MODQ_BLUR_ERR_TOO_MANY_PIXELS), "too_many_pixels");
    assert_string_equal(modq_blur_code(MODQ_BLUR_ERR_DECODE_TIMEOUT), "decode_timeout");
    assert_string_equal(modq_blur_code(MODQ_BLUR_ERR_TOO_MANY_SCANS), "too_many_scans");
    assert_string_equal(modq_blur_strerror((modq_blur_result)999), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opts_defaults_are_the_documented_limits),
        cmocka_unit_test(test_opts_reject_out_of_range_and_keep_old_value),
        cmocka_unit_test(test_every_result_has_text_and_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
