/*
 * test_blur_limits.c: the limits on the time one item may cost (issue 12, "decode time"), through
 * the public pipeline: a JPEG with more scans than MODQ_OPT_MAX_JPEG_SCANS is refused before any
 * decoding (counted the way libjpeg reads markers), an item that runs past MODQ_OPT_DEADLINE_MS
 * is refused whole, a deferred render spends only what its decode left, and ordinary images
 * still pass. The many-scan JPEGs are made here by libjpeg (modq_synth_jpeg_scans).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "modq_blur.h"
#include "testutil.h"

#include <vips/vips.h>

#include <stdlib.h>
#include <string.h>

/* A progressive JPEG of exactly n scans, w x h. Caller frees (modq_synth_free). */
static uint8_t *jpeg_of_scans(int w, int h, int n, size_t *len)
{
    uint8_t *d = NULL;

    assert_int_equal(modq_synth_jpeg_scans(MODQ_SYNTH_SHAPES, w, h, 5, n, &d, len), MODQ_BLUR_OK);
    return d;
}

/* Processes buf under opts; the result, and when OK, m stays for the caller to free. */
static modq_blur_result process(const modq_media_opts *opts, const uint8_t *buf, size_t len,
                                modq_media **m, char *err, size_t errlen)
{
    err[0] = '\0';
    *m = NULL;
    return modq_media_process(opts, buf, len, m, err, errlen);
}

static void test_jpeg_with_a_scan_over_the_default_cap_is_refused(void **state)
{
    modq_media_opts *opts = modq_opts_new();
    int cap = (int)modq_opts_get(opts, MODQ_OPT_MAX_JPEG_SCANS);
    size_t n_ok, n_over;
    uint8_t *ok = jpeg_of_scans(640, 480, cap, &n_ok);
    uint8_t *over = jpeg_of_scans(640, 480, cap + 1, &n_over);
    modq_media *m;
    char err[320], want[64];

    (void)state;
    assert_int_equal(cap, 50);
    assert_int_equal(process(opts, over, n_over, &m, err, sizeof(err)),
                     MODQ_BLUR_ERR_TOO_MANY_SCANS);
    assert_null(m);
    snprintf(want, sizeof(want), "too many JPEG scans: more than %d", cap);
    assert_string_equal(err, want);
    assert_string_equal(modq_blur_code(MODQ_BLUR_ERR_TOO_MANY_SCANS), "too_many_scans");
    /* Exactly the cap is allowed, and decodes to the full ladder. */
    assert_int_equal(process(opts, ok, n_ok, &m, err, sizeof(err)), MODQ_BLUR_OK);
    assert_int_equal(modq_media_width(m), 640);
    assert_int_equal(modq_media_rendition(m, 3, NULL, NULL, NULL, NULL), MODQ_BLUR_OK);
    modq_media_free(m);
    modq_synth_free(ok);
    modq_synth_free(over);
    modq_opts_free(opts);
}

static void test_scan_cap_is_an_option(void **state)
{
    modq_media_opts *opts = modq_opts_new();
    size_t n10, n11;
    uint8_t *j10 = jpeg_of_scans(200, 120, 10, &n10), *j11 = jpeg_of_scans(200, 120, 11, &n11);
    modq_media *m;
    char err[320];

    (void)state;
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_MAX_JPEG_SCANS, 10), MODQ_BLUR_OK);
    assert_int_equal(process(opts, j10, n10, &m, err, sizeof(err)), MODQ_BLUR_OK);
    modq_media_free(m);
    assert_int_equal(process(opts, j11, n11, &m, err, sizeof(err)), MODQ_BLUR_ERR_TOO_MANY_SCANS);
    assert_string_equal(err, "too many JPEG scans: more than 10");
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_MAX_JPEG_SCANS, 0), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_MAX_JPEG_SCANS, 10001),
                     MODQ_BLUR_ERR_INVALID_ARG);
    modq_synth_free(j10);
    modq_synth_free(j11);
    modq_opts_free(opts);
}

/* Copies buf with extra inserted before every SOS marker. Caller frees. */
static uint8_t *insert_before_sos(const uint8_t *buf, size_t len, const void *extra, size_t n,
                                  size_t *outlen)
{
    size_t count = 0, o = 0;
    uint8_t *out;

    for (size_t i = 0; i + 1 < len; i++) {
        count += buf[i] == 0xff && buf[i + 1] == 0xda;
    }
    out = malloc(len + count * n);
    assert_non_null(out);
    for (size_t i = 0; i < len; i++) {
        if (i + 1 < len && buf[i] == 0xff && buf[i + 1] == 0xda) {
            memcpy(out + o, extra, n);
            o += n;
        }
        out[o++] = buf[i];
    }
    *outlen = o;
    return out;
}

/*
 * libjpeg skips stray bytes and 0xFF fill between segments and still reads every scan after
 * them, so they must not hide a scan from the count; and an SOS marker inside another segment
 * (an EXIF thumbnail in APP1) is no scan of this image.
 */
static void test_scans_are_counted_as_libjpeg_reads_them(void **state)
{
    static const uint8_t stray[] = {0x00, 0x42, 0x13, 0xff, 0xff};
    modq_media_opts *opts = modq_opts_new();
    size_t n11, n10, nstray, napp;
    uint8_t *j11 = jpeg_of_scans(200, 120, 11, &n11), *j10 = jpeg_of_scans(200, 120, 10, &n10);
    uint8_t *hidden = insert_before_sos(j11, n11, stray, sizeof(stray), &nstray);
    uint8_t *app = malloc(n10 + 4 + 400);
    modq_media *m;
    char err[320];

    (void)state;
    /* libjpeg decodes the file with stray bytes: the scans behind them are real. */
    assert_int_equal(process(opts, hidden, nstray, &m, err, sizeof(err)), MODQ_BLUR_OK);
    modq_media_free(m);
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_MAX_JPEG_SCANS, 10), MODQ_BLUR_OK);
    assert_int_equal(process(opts, hidden, nstray, &m, err, sizeof(err)),
                     MODQ_BLUR_ERR_TOO_MANY_SCANS);

    /* SOI, then an APP1 of 200 SOS markers, then the rest of a 10-scan file. */
    assert_non_null(app);
    memcpy(app, j10, 2);
    app[2] = 0xff;
    app[3] = 0xe1;
    app[4] = (uint8_t)((400 + 2) >> 8);
    app[5] = (uint8_t)((400 + 2) & 0xff);
    for (int i = 0; i < 200; i++) {
        app[6 + 2 * i] = 0xff;
        app[7 + 2 * i] = 0xda;
    }
    memcpy(app + 6 + 400, j10 + 2, n10 - 2);
    napp = n10 + 4 + 400;
    assert_int_equal(process(opts, app, napp, &m, err, sizeof(err)), MODQ_BLUR_OK);
    modq_media_free(m);
    free(app);
    free(hidden);
    modq_synth_free(j10);
    modq_synth_free(j11);
    modq_opts_free(opts);
}

/* What encoders write (libjpeg's progressive script, baseline) passes the default cap. */
static void test_ordinary_jpegs_pass(void **state)
{
    modq_media_opts *opts = modq_opts_new();
    VipsImage *img = NULL;
    void *buf = NULL;
    size_t len = 0, blen;
    uint8_t *baseline = tu_synth(MODQ_SYNTH_SHAPES, 800, 600, 3, "jpeg", &blen);
    modq_media *m;
    char err[320];

    (void)state;
    assert_int_equal(vips_black(&img, 800, 600, "bands", 3, NULL), 0);
    assert_int_equal(vips_jpegsave_buffer(img, &buf, &len, "interlace", TRUE, NULL), 0);
    assert_int_equal(process(opts, buf, len, &m, err, sizeof(err)), MODQ_BLUR_OK);
    modq_media_free(m);
    assert_int_equal(process(opts, baseline, blen, &m, err, sizeof(err)), MODQ_BLUR_OK);
    modq_media_free(m);
    g_free(buf);
    VIPS_UNREF(img);
    modq_synth_free(baseline);
    modq_opts_free(opts);
}

/*
 * A 1 ms budget cannot cover decoding 9 megapixels of noise on any machine, whichever step sees
 * it spent: the item is refused whole (no media, no renditions), and the same bytes pass with
 * the default budget, so the refusal was the time and not the content. libvips is left able to
 * decode the next item.
 */
static void test_item_past_its_deadline_is_refused_whole(void **state)
{
    modq_media_opts *opts = modq_opts_new();
    size_t len;
    uint8_t *big = tu_synth(MODQ_SYNTH_NOISE, 3000, 3000, 9, "jpeg", &len);
    modq_media *m;
    char err[320];

    (void)state;
    assert_int_equal(modq_opts_get(opts, MODQ_OPT_DEADLINE_MS), 30000);
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_DEADLINE_MS, 1), MODQ_BLUR_OK);
    assert_int_equal(process(opts, big, len, &m, err, sizeof(err)), MODQ_BLUR_ERR_DECODE_TIMEOUT);
    assert_null(m);
    assert_non_null(strstr(err, "decode timeout: "));
    assert_non_null(strstr(err, " > 1 ms allowed (at "));
    assert_string_equal(modq_blur_code(MODQ_BLUR_ERR_DECODE_TIMEOUT), "decode_timeout");
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_DEADLINE_MS, 0), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_DEADLINE_MS, 600001), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_DEADLINE_MS, 30000), MODQ_BLUR_OK);
    assert_int_equal(process(opts, big, len, &m, err, sizeof(err)), MODQ_BLUR_OK);
    assert_int_equal(modq_media_rendition(m, 0, NULL, NULL, NULL, NULL), MODQ_BLUR_OK);
    modq_media_free(m);
    modq_synth_free(big);
    modq_opts_free(opts);
}

/*
 * The deadline is the item's, decode to last rendition: a deferred render has only what its
 * process call left. Decoding 4 megapixels takes more than 1 ms, so a render held to 1 ms in all
 * finds nothing left, and leaves no rendition of any level behind.
 */
static void test_deferred_render_spends_what_its_decode_left(void **state)
{
    modq_media_opts *opts = modq_opts_new();
    size_t len;
    uint8_t *jpg = tu_synth(MODQ_SYNTH_NOISE, 2000, 2000, 4, "jpeg", &len);
    modq_media *m;
    char err[320];

    (void)state;
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_DEFER_RENDER, 1), MODQ_BLUR_OK);
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_COLOUR_TOO, 1), MODQ_BLUR_OK);
    assert_int_equal(process(opts, jpg, len, &m, err, sizeof(err)), MODQ_BLUR_OK);
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_DEADLINE_MS, 1), MODQ_BLUR_OK);
    assert_int_equal(modq_media_render(m, opts, err, sizeof(err)), MODQ_BLUR_ERR_DECODE_TIMEOUT);
    assert_non_null(strstr(err, "decode timeout: "));
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        assert_int_equal(modq_media_rendition(m, lv, NULL, NULL, NULL, NULL),
                         MODQ_BLUR_ERR_INVALID_ARG);
        assert_int_equal(modq_media_rendition_colour(m, lv, NULL, NULL, NULL, NULL),
                         MODQ_BLUR_ERR_INVALID_ARG);
    }
    /* The hashes stay; the decoded image was released. */
    assert_int_equal(strlen(modq_media_pdq_hex(m)), MODQ_PDQ_HEX_LEN);
    assert_int_equal(modq_media_render(m, opts, err, sizeof(err)), MODQ_BLUR_ERR_INVALID_ARG);
    modq_media_free(m);
    modq_synth_free(jpg);
    modq_opts_free(opts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jpeg_with_a_scan_over_the_default_cap_is_refused),
        cmocka_unit_test(test_scan_cap_is_an_option),
        cmocka_unit_test(test_scans_are_counted_as_libjpeg_reads_them),
        cmocka_unit_test(test_ordinary_jpegs_pass),
        cmocka_unit_test(test_item_past_its_deadline_is_refused_whole),
        cmocka_unit_test(test_deferred_render_spends_what_its_decode_left),
    };
    return cmocka_run_group_tests(tests, tu_blur_setup, tu_blur_teardown);
}
