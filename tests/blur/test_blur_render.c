/*
 * test_blur_render.c: the reveal ladder (blur/render.c) through the pipeline: sizes, no
 * metadata, greyscale, blur that measurably removes detail, the same blur at any source size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "modq_blur.h"
#include "testutil.h"

#include <vips/vips.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static modq_media *process(const uint8_t *buf, size_t len, modq_media_opts *opts)
{
    modq_media_opts *own = opts ? NULL : modq_opts_new();
    modq_media *m = NULL;
    char err[256];
    modq_blur_result r = modq_media_process(opts ? opts : own, buf, len, &m, err, sizeof(err));

    if (r != MODQ_BLUR_OK) {
        print_error("process failed: %s\n", err);
    }
    modq_opts_free(own);
    return m;
}

static void test_render_sizes_follow_display_size_and_ladder(void **state)
{
    size_t len;
    uint8_t *jpg = tu_synth(MODQ_SYNTH_SHAPES, 2400, 1600, 11, "jpeg", &len);
    modq_media *m = process(jpg, len, NULL);
    int prev_w = 1 << 30;

    (void)state;
    assert_non_null(m);
    assert_int_equal(modq_media_display_width(m), 1024);
    assert_int_equal(modq_media_display_height(m), 683);
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        int w, h, bands, chroma;
        const uint8_t *data;
        size_t n;
        assert_int_equal(modq_media_rendition(m, lv, &data, &n, &w, &h), MODQ_BLUR_OK);
        /* Heavier levels are stored no larger than lighter ones, never above display size. */
        assert_true(w <= prev_w);
        assert_true(w <= 1024 && h <= 683);
        assert_true(w >= 32 || h >= 32);
        /* The aspect ratio is kept within a pixel of rounding. */
        assert_true(fabs((double)w / h - 1024.0 / 683.0) < 0.05);
        assert_int_equal(tu_probe(data, n, &w, &h, &bands, &chroma), 0);
        prev_w = w;
    }
    {
        int w, h;
        modq_media_rendition(m, 0, NULL, NULL, &w, &h);
        assert_int_equal(w, 1024);
        assert_int_equal(h, 683);
    }
    modq_media_free(m);
    modq_synth_free(jpg);
}

static void test_render_small_source_is_not_enlarged(void **state)
{
    size_t len;
    uint8_t *png = tu_synth(MODQ_SYNTH_SHAPES, 300, 200, 12, "png", &len);
    modq_media *m = process(png, len, NULL);
    int w, h;

    (void)state;
    assert_non_null(m);
    assert_int_equal(modq_media_rendition(m, 0, NULL, NULL, &w, &h), MODQ_BLUR_OK);
    assert_int_equal(w, 300);
    assert_int_equal(h, 200);
    modq_media_free(m);
    modq_synth_free(png);
}

/* A JPEG carrying EXIF text, GPS-like text and an ICC profile: none of it may come out. */
static uint8_t *jpeg_with_metadata(size_t *len)
{
    VipsImage *img = NULL, *copy = NULL;
    VipsBlob *icc = NULL;
    void *buf = NULL;
    size_t len_in = 0;
    uint8_t *src = tu_synth(MODQ_SYNTH_SHAPES, 640, 480, 13, "png", &len_in);

    img = vips_image_new_from_buffer(src, len_in, "", NULL);
    assert_non_null(img);
    assert_int_equal(vips_copy(img, &copy, NULL), 0);
    vips_image_set_string(copy, "exif-ifd0-ImageDescription", "SECRET-EXIF-TEXT");
    vips_image_set_string(copy, "exif-ifd0-Artist", "GPS-48.8584N-2.2945E");
    assert_int_equal(vips_profile_load("srgb", &icc, NULL), 0);
    vips_image_set_blob_copy(copy, VIPS_META_ICC_NAME, VIPS_AREA(icc)->data,
                             VIPS_AREA(icc)->length);
    assert_int_equal(vips_jpegsave_buffer(copy, &buf, &len_in, "Q", 90, NULL), 0);
    vips_area_unref(VIPS_AREA(icc));
    VIPS_UNREF(img);
    VIPS_UNREF(copy);
    modq_synth_free(src);
    *len = len_in;
    return buf;
}

static void assert_no_metadata(const uint8_t *d, size_t n, int jpeg)
{
    assert_false(tu_contains(d, n, "SECRET-EXIF-TEXT", 16));
    assert_false(tu_contains(d, n, "GPS-48.8584N", 12));
    assert_false(tu_contains(d, n, "Exif", 4));
    assert_false(tu_contains(d, n, "ICC_PROFILE", 11));
    assert_false(tu_contains(d, n, "http://ns.adobe.com/xap", 23));
    if (jpeg) {
        /* No APP1 (EXIF/XMP), APP2 (ICC) or APP13 (IPTC) segment right after SOI. */
        assert_false(tu_contains(d, n, "\xff\xe1", 2));
        assert_false(tu_contains(d, n, "\xff\xe2", 2));
        assert_false(tu_contains(d, n, "\xff\xed", 2));
    } else {
        assert_false(tu_contains(d, n, "EXIF", 4));
        assert_false(tu_contains(d, n, "XMP ", 4));
        assert_false(tu_contains(d, n, "ICCP", 4));
    }
}

static void test_render_strips_every_kind_of_metadata(void **state)
{
    size_t len;
    uint8_t *jpg = jpeg_with_metadata(&len);
    modq_media_opts *opts = modq_opts_new();

    (void)state;
    /* The input really carries what must not come out, or this test proves nothing. */
    assert_true(tu_contains(jpg, len, "SECRET-EXIF-TEXT", 16));
    assert_true(tu_contains(jpg, len, "ICC_PROFILE", 11));
    /* The colour ladder beside the greyscale one is checked too (test_blur_colour.c tests it). */
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_COLOUR_TOO, 1), MODQ_BLUR_OK);
    for (int fmt = MODQ_FORMAT_WEBP; fmt <= MODQ_FORMAT_JPEG; fmt++) {
        modq_media *m;
        assert_int_equal(modq_opts_set(opts, MODQ_OPT_FORMAT, fmt), MODQ_BLUR_OK);
        for (int colour = 0; colour <= 1; colour++) {
            assert_int_equal(modq_opts_set(opts, MODQ_OPT_COLOUR, colour), MODQ_BLUR_OK);
            m = process(jpg, len, opts);
            assert_non_null(m);
            for (int lv = 0; lv < 2 * MODQ_LEVEL_COUNT; lv++) {
                const uint8_t *d;
                size_t n;
                if (lv < MODQ_LEVEL_COUNT) {
                    assert_int_equal(modq_media_rendition(m, lv, &d, &n, NULL, NULL), MODQ_BLUR_OK);
                } else {
                    assert_int_equal(
                        modq_media_rendition_colour(m, lv - MODQ_LEVEL_COUNT, &d, &n, NULL, NULL),
                        MODQ_BLUR_OK);
                }
                assert_no_metadata(d, n, fmt == MODQ_FORMAT_JPEG);
                if (fmt == MODQ_FORMAT_JPEG) {
                    assert_memory_equal(d, "\xff\xd8\xff", 3);
                } else {
                    assert_memory_equal(d + 8, "WEBP", 4);
                }
            }
            modq_media_free(m);
        }
    }
    modq_opts_free(opts);
    g_free(jpg);
}

static void test_render_is_greyscale_by_default_and_colour_on_request(void **state)
{
    size_t len;
    uint8_t *png = tu_synth(MODQ_SYNTH_SHAPES, 800, 600, 14, "png", &len);
    modq_media_opts *opts = modq_opts_new();
    modq_media *m;

    (void)state;
    m = process(png, len, opts);
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        const uint8_t *d;
        size_t n;
        int w, h, bands, chroma;
        modq_media_rendition(m, lv, &d, &n, NULL, NULL);
        assert_int_equal(tu_probe(d, n, &w, &h, &bands, &chroma), 0);
        /* WebP is YUV inside: grey stays within a couple of levels of R = G = B. */
        assert_true(chroma <= 3);
    }
    modq_media_free(m);

    assert_int_equal(modq_opts_set(opts, MODQ_OPT_COLOUR, 1), MODQ_BLUR_OK);
    m = process(png, len, opts);
    {
        const uint8_t *d;
        size_t n;
        int w, h, bands, chroma;
        modq_media_rendition(m, 0, &d, &n, NULL, NULL);
        assert_int_equal(tu_probe(d, n, &w, &h, &bands, &chroma), 0);
        assert_true(chroma > 40);
    }
    modq_media_free(m);
    modq_opts_free(opts);
    modq_synth_free(png);
}

static void test_render_blur_removes_detail_level_by_level(void **state)
{
    size_t len;
    uint8_t *jpg = tu_synth(MODQ_SYNTH_NOISE, 1600, 1200, 15, "jpeg", &len);
    modq_media *m = process(jpg, len, NULL);
    double v[MODQ_LEVEL_COUNT];

    (void)state;
    assert_non_null(m);
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        const uint8_t *d;
        size_t n;
        modq_media_rendition(m, lv, &d, &n, NULL, NULL);
        v[lv] = tu_laplacian_variance(d, n, modq_media_display_width(m));
        print_message("level %d: Laplacian variance %.3f\n", lv, v[lv]);
        assert_true(v[lv] >= 0);
    }
    /* Each level keeps markedly less detail than the one below it. */
    assert_true(v[1] < v[0] / 10);
    assert_true(v[2] < v[1] / 2);
    assert_true(v[3] < v[2]);
    assert_true(v[3] < v[0] / 1000);
    modq_media_free(m);
    modq_synth_free(jpg);
}

/* Sigma is relative to the displayed size: the same picture at twice the resolution must come
 * out just as blurred. */
static void test_render_blur_is_independent_of_source_size(void **state)
{
    size_t len_big, len_small;
    uint8_t *big = tu_synth(MODQ_SYNTH_SHAPES, 2000, 1500, 16, "png", &len_big);
    VipsImage *img = vips_image_new_from_buffer(big, len_big, "", NULL), *half = NULL;
    void *small = NULL;
    modq_media *mb, *ms;

    (void)state;
    assert_int_equal(vips_resize(img, &half, 0.5, NULL), 0);
    assert_int_equal(vips_pngsave_buffer(half, &small, &len_small, NULL), 0);
    mb = process(big, len_big, NULL);
    ms = process(small, len_small, NULL);
    assert_non_null(mb);
    assert_non_null(ms);
    for (int lv = 1; lv < MODQ_LEVEL_COUNT; lv++) {
        const uint8_t *db, *ds;
        size_t nb, ns;
        double vb, vs;
        modq_media_rendition(mb, lv, &db, &nb, NULL, NULL);
        modq_media_rendition(ms, lv, &ds, &ns, NULL, NULL);
        /* Compare both at one display width, as a person would see them side by side. */
        vb = tu_laplacian_variance(db, nb, 1000);
        vs = tu_laplacian_variance(ds, ns, 1000);
        print_message("level %d: 2000px source %.4f, 1000px source %.4f\n", lv, vb, vs);
        assert_true(vb > 0 && vs > 0);
        assert_true(vb / vs < 1.5 && vs / vb < 1.5);
    }
    modq_media_free(mb);
    modq_media_free(ms);
    VIPS_UNREF(img);
    VIPS_UNREF(half);
    g_free(small);
    modq_synth_free(big);
}

/* A blurred level must show the picture blurred, not something else: scaled back up it matches an
 * independent Gaussian blur of the clear level within a few grey levels on average. */
static void test_render_blurred_levels_match_reference_blur(void **state)
{
    static const int kinds[] = {MODQ_SYNTH_SHAPES, MODQ_SYNTH_NOISE};

    (void)state;
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        size_t len;
        uint8_t *jpg = tu_synth(kinds[k], 2400, 1600, 18, "jpeg", &len);
        modq_media *m = process(jpg, len, NULL);
        const uint8_t *d0;
        size_t n0;
        int longest;

        assert_non_null(m);
        modq_media_rendition(m, 0, &d0, &n0, NULL, NULL);
        longest = modq_media_display_width(m) > modq_media_display_height(m)
                      ? modq_media_display_width(m)
                      : modq_media_display_height(m);
        for (int lv = 1; lv < MODQ_LEVEL_COUNT; lv++) {
            const uint8_t *d;
            size_t n;
            double dist;
            modq_media_rendition(m, lv, &d, &n, NULL, NULL);
            dist = tu_blur_distance(d0, n0, d, n, modq_media_level_sigma(lv) * longest);
            print_message("%s level %d: mean distance to reference blur %.2f\n",
                          k ? "noise" : "shapes", lv, dist);
            assert_true(dist >= 0 && dist < 6.0);
        }
        modq_media_free(m);
        modq_synth_free(jpg);
    }
}

/* Standard deviation of the blur across a sharp vertical edge, from the second moment of the
 * derivative of the middle row of a rendition (in the rendition's own pixels). */
static double edge_sigma(const uint8_t *data, size_t len)
{
    VipsImage *img = vips_image_new_from_buffer(data, len, "", NULL), *grey = NULL, *mem = NULL;
    double sum = 0, m1 = 0, m2 = 0;

    assert_non_null(img);
    assert_int_equal(vips_extract_band(img, &grey, 0, NULL), 0);
    assert_non_null(mem = vips_image_copy_memory(grey));
    const uint8_t *row = VIPS_IMAGE_ADDR(mem, 0, mem->Ysize / 2);
    for (int x = 0; x + 1 < mem->Xsize; x++) {
        double d = (double)row[x + 1] - row[x];
        d = d > 0 ? d : 0;
        sum += d;
        m1 += d * (x + 0.5);
        m2 += d * (x + 0.5) * (x + 0.5);
    }
    VIPS_UNREF(img);
    VIPS_UNREF(grey);
    VIPS_UNREF(mem);
    assert_true(sum > 0);
    m1 /= sum;
    return sqrt(m2 / sum - m1 * m1);
}

/* Each level blurs by the sigma it documents: a black/white edge spreads by sigma (as a fraction
 * of the displayed long side) within 10 %, not by a truncated kernel's smaller spread. */
static void test_render_levels_blur_by_their_documented_sigma(void **state)
{
    VipsImage *black = NULL;
    void *png = NULL;
    size_t len = 0;
    modq_media *m;

    (void)state;
    assert_int_equal(vips_black(&black, 1024, 512, NULL), 0);
    assert_int_equal(vips_draw_rect1(black, 255.0, 512, 0, 512, 512, "fill", TRUE, NULL), 0);
    assert_int_equal(vips_pngsave_buffer(black, &png, &len, NULL), 0);
    m = process(png, len, NULL);
    assert_non_null(m);
    for (int lv = 1; lv < MODQ_LEVEL_COUNT; lv++) {
        const uint8_t *d;
        size_t n;
        int w, h;
        double want, got;
        modq_media_rendition(m, lv, &d, &n, &w, &h);
        /* Expected in the rendition's pixels; the downscale itself adds a little spread. */
        want = modq_media_level_sigma(lv) * 1024 * w / 1024.0;
        got = edge_sigma(d, n);
        print_message("level %d (%dx%d): edge sigma %.2f px, documented %.2f px\n", lv, w, h, got,
                      want);
        assert_true(got > want * 0.9 && got < want * 1.25);
    }
    modq_media_free(m);
    g_free(png);
    VIPS_UNREF(black);
}

/* Tones survive encoding: black, mid-grey and white stay where they were (a limited-range luma
 * mix-up would stretch them and crush shadows and highlights). */
static void test_render_keeps_tones(void **state)
{
    static const int tones[] = {0, 16, 128, 235, 255};
    VipsImage *img = NULL, *dec = NULL, *band = NULL, *mem = NULL;
    void *png = NULL;
    size_t len = 0;
    modq_media *m;
    const uint8_t *d;
    size_t n;

    (void)state;
    assert_int_equal(vips_black(&img, 500, 100, NULL), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(vips_draw_rect1(img, tones[i], i * 100, 0, 100, 100, "fill", TRUE, NULL),
                         0);
    }
    assert_int_equal(vips_pngsave_buffer(img, &png, &len, NULL), 0);
    for (int fmt = MODQ_FORMAT_WEBP; fmt <= MODQ_FORMAT_JPEG; fmt++) {
        modq_media_opts *opts = modq_opts_new();
        modq_opts_set(opts, MODQ_OPT_FORMAT, fmt);
        m = process(png, len, opts);
        assert_non_null(m);
        modq_media_rendition(m, 0, &d, &n, NULL, NULL);
        dec = vips_image_new_from_buffer(d, n, "", NULL);
        assert_int_equal(vips_extract_band(dec, &band, 0, NULL), 0);
        assert_non_null(mem = vips_image_copy_memory(band));
        for (int i = 0; i < 5; i++) {
            int got = *VIPS_IMAGE_ADDR(mem, i * 100 + 50, 50);
            print_message("format %d tone %3d -> %3d\n", fmt, tones[i], got);
            assert_true(abs(got - tones[i]) <= 3);
        }
        VIPS_UNREF(dec);
        VIPS_UNREF(band);
        VIPS_UNREF(mem);
        modq_media_free(m);
        modq_opts_free(opts);
    }
    g_free(png);
    VIPS_UNREF(img);
}

static void test_render_only_requested_levels(void **state)
{
    size_t len;
    uint8_t *png = tu_synth(MODQ_SYNTH_SHAPES, 400, 300, 17, "png", &len);
    modq_media_opts *opts = modq_opts_new();
    modq_media *m;

    (void)state;
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_LEVELS, 1 << 2), MODQ_BLUR_OK);
    m = process(png, len, opts);
    assert_non_null(m);
    assert_int_equal(modq_media_rendition(m, 2, NULL, NULL, NULL, NULL), MODQ_BLUR_OK);
    assert_int_equal(modq_media_rendition(m, 0, NULL, NULL, NULL, NULL), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_media_rendition(m, 3, NULL, NULL, NULL, NULL), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_media_rendition(m, 4, NULL, NULL, NULL, NULL), MODQ_BLUR_ERR_INVALID_ARG);
    assert_string_equal(modq_media_mime(m), "image/webp");
    modq_media_free(m);
    modq_opts_free(opts);
    modq_synth_free(png);
}

static void test_render_level_sigmas_increase(void **state)
{
    (void)state;
    assert_true(modq_media_level_sigma(0) == 0.0);
    for (int lv = 1; lv < MODQ_LEVEL_COUNT; lv++) {
        assert_true(modq_media_level_sigma(lv) > modq_media_level_sigma(lv - 1));
    }
    assert_true(modq_media_level_sigma(MODQ_LEVEL_COUNT) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_sizes_follow_display_size_and_ladder),
        cmocka_unit_test(test_render_small_source_is_not_enlarged),
        cmocka_unit_test(test_render_strips_every_kind_of_metadata),
        cmocka_unit_test(test_render_is_greyscale_by_default_and_colour_on_request),
        cmocka_unit_test(test_render_blur_removes_detail_level_by_level),
        cmocka_unit_test(test_render_blur_is_independent_of_source_size),
        cmocka_unit_test(test_render_blurred_levels_match_reference_blur),
        cmocka_unit_test(test_render_levels_blur_by_their_documented_sigma),
        cmocka_unit_test(test_render_keeps_tones),
        cmocka_unit_test(test_render_only_requested_levels),
        cmocka_unit_test(test_render_level_sigmas_increase),
    };
    return cmocka_run_group_tests(tests, tu_blur_setup, tu_blur_teardown);
}
