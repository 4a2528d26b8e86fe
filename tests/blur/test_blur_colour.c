/*
 * test_blur_colour.c: the colour ladder beside the greyscale one (MODQ_OPT_COLOUR_TOO,
 * modq_media_rendition_colour): made only when asked, only for the levels asked, in colour, the
 * same size and blur as the greyscale level, and without changing a byte of the greyscale ladder.
 * (No metadata in colour renditions: test_blur_render.c's metadata test covers both ladders.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "modq_blur.h"
#include "testutil.h"

#include <vips/vips.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Options with the defaults and these changes; caller frees. */
static modq_media_opts *opts_with(int colour_too, int defer, int levels)
{
    modq_media_opts *o = modq_opts_new();

    assert_non_null(o);
    assert_int_equal(modq_opts_set(o, MODQ_OPT_COLOUR_TOO, colour_too), MODQ_BLUR_OK);
    assert_int_equal(modq_opts_set(o, MODQ_OPT_DEFER_RENDER, defer), MODQ_BLUR_OK);
    assert_int_equal(modq_opts_set(o, MODQ_OPT_LEVELS, levels), MODQ_BLUR_OK);
    return o;
}

static modq_media *process(const uint8_t *buf, size_t len, const modq_media_opts *opts)
{
    modq_media *m = NULL;
    char err[256];

    if (modq_media_process(opts, buf, len, &m, err, sizeof(err)) != MODQ_BLUR_OK) {
        print_error("process failed: %s\n", err);
    }
    assert_non_null(m);
    return m;
}

static int colour_levels(const modq_media *m)
{
    int mask = 0;
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        if (modq_media_rendition_colour(m, lv, NULL, NULL, NULL, NULL) == MODQ_BLUR_OK) {
            mask |= 1 << lv;
        }
    }
    return mask;
}

static void test_colour_option_defaults_off_and_copies(void **state)
{
    modq_media_opts *o = modq_opts_new(), *c;

    (void)state;
    assert_int_equal(modq_opts_get(o, MODQ_OPT_COLOUR_TOO), 0);
    assert_int_equal(modq_opts_set(o, MODQ_OPT_COLOUR_TOO, 2), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_opts_set(o, MODQ_OPT_QUALITY, 60), MODQ_BLUR_OK);
    assert_non_null(c = modq_opts_copy(o));
    assert_int_equal(modq_opts_set(c, MODQ_OPT_COLOUR_TOO, 1), MODQ_BLUR_OK);
    /* The copy is its own: the original keeps its values. */
    assert_int_equal(modq_opts_get(c, MODQ_OPT_QUALITY), 60);
    assert_int_equal(modq_opts_get(o, MODQ_OPT_COLOUR_TOO), 0);
    assert_null(modq_opts_copy(NULL));
    modq_opts_free(c);
    modq_opts_free(o);
}

/* Colour renditions exist only when asked for, only for the levels asked, and a deferred render
 * makes them only when its own options ask. */
static void test_colour_renditions_only_when_asked(void **state)
{
    size_t len;
    uint8_t *jpg = tu_synth(MODQ_SYNTH_SHAPES, 640, 480, 21, "jpeg", &len);
    modq_media_opts *grey = opts_with(0, 0, 0xf), *both = opts_with(1, 0, 0xf);
    modq_media_opts *some = opts_with(1, 0, (1 << 1) | (1 << 3));
    modq_media_opts *defer = opts_with(1, 1, 0xf), *defer_grey = opts_with(0, 1, 0xf);
    modq_media *m;

    (void)state;
    m = process(jpg, len, grey);
    assert_int_equal(colour_levels(m), 0);
    assert_int_equal(modq_media_rendition(m, 0, NULL, NULL, NULL, NULL), MODQ_BLUR_OK);
    modq_media_free(m);

    m = process(jpg, len, both);
    assert_int_equal(colour_levels(m), 0xf);
    assert_int_equal(modq_media_rendition_colour(m, 4, NULL, NULL, NULL, NULL),
                     MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_media_rendition_colour(m, -1, NULL, NULL, NULL, NULL),
                     MODQ_BLUR_ERR_INVALID_ARG);
    modq_media_free(m);
    assert_int_equal(modq_media_rendition_colour(NULL, 0, NULL, NULL, NULL, NULL),
                     MODQ_BLUR_ERR_INVALID_ARG);

    m = process(jpg, len, some);
    assert_int_equal(colour_levels(m), (1 << 1) | (1 << 3));
    modq_media_free(m);

    /* Deferred: nothing before the render; the render's options decide. */
    m = process(jpg, len, defer);
    assert_int_equal(colour_levels(m), 0);
    assert_int_equal(modq_media_render(m, defer, NULL, 0), MODQ_BLUR_OK);
    assert_int_equal(colour_levels(m), 0xf);
    modq_media_free(m);
    m = process(jpg, len, defer);
    assert_int_equal(modq_media_render(m, defer_grey, NULL, 0), MODQ_BLUR_OK);
    assert_int_equal(colour_levels(m), 0);
    assert_int_equal(modq_media_rendition(m, 3, NULL, NULL, NULL, NULL), MODQ_BLUR_OK);
    modq_media_free(m);

    modq_opts_free(grey);
    modq_opts_free(both);
    modq_opts_free(some);
    modq_opts_free(defer);
    modq_opts_free(defer_grey);
    modq_synth_free(jpg);
}

/* Each colour level is three bands of real colour, the size of its greyscale level, in the same
 * format, while the greyscale level stays grey. */
static void test_colour_levels_are_colour_and_sized_like_grey(void **state)
{
    size_t len;
    uint8_t *jpg = tu_synth(MODQ_SYNTH_SHAPES, 2400, 1600, 22, "jpeg", &len);

    (void)state;
    for (int fmt = MODQ_FORMAT_WEBP; fmt <= MODQ_FORMAT_JPEG; fmt++) {
        modq_media_opts *o = opts_with(1, 1, 0xf);
        modq_media *m;
        assert_int_equal(modq_opts_set(o, MODQ_OPT_FORMAT, fmt), MODQ_BLUR_OK);
        m = process(jpg, len, o);
        assert_int_equal(modq_media_render(m, o, NULL, 0), MODQ_BLUR_OK);
        for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
            const uint8_t *g, *c;
            size_t gn, cn;
            int gw, gh, cw, ch, pw, ph, bands, chroma;
            assert_int_equal(modq_media_rendition(m, lv, &g, &gn, &gw, &gh), MODQ_BLUR_OK);
            assert_int_equal(modq_media_rendition_colour(m, lv, &c, &cn, &cw, &ch), MODQ_BLUR_OK);
            assert_int_equal(cw, gw);
            assert_int_equal(ch, gh);
            assert_int_equal(tu_probe(c, cn, &pw, &ph, &bands, &chroma), 0);
            print_message("format %d level %d: %dx%d, grey %zu B, colour %zu B, chroma %d\n", fmt,
                          lv, cw, ch, gn, cn, chroma);
            assert_int_equal(pw, cw);
            assert_int_equal(ph, ch);
            assert_int_equal(bands, 3);
            /* The shapes are saturated: even the heaviest blur keeps clear colour masses. */
            assert_true(chroma > 40);
            if (fmt == MODQ_FORMAT_JPEG) {
                assert_memory_equal(c, "\xff\xd8\xff", 3);
            } else {
                assert_memory_equal(c + 8, "WEBP", 4);
            }
            assert_int_equal(tu_probe(g, gn, &pw, &ph, &bands, &chroma), 0);
            assert_true(chroma <= 3);
        }
        modq_media_free(m);
        modq_opts_free(o);
    }
    modq_synth_free(jpg);
}

/* Mean absolute difference, in band `band`, between a blurred rendition scaled to the clear one's
 * size and an independent Gaussian blur of the clear one: tu_blur_distance for one colour band.
 * Compared at no more than 4x the blurred rendition's width (a heavy blur's sigma is then still 8
 * px or more, so that downscale changes nothing measurable), which keeps the test quick. */
static double band_blur_distance(const uint8_t *clear, size_t clear_len, const uint8_t *blurred,
                                 size_t blurred_len, int band, double sigma_px)
{
    VipsImage *a = vips_image_new_from_buffer(clear, clear_len, "", NULL);
    VipsImage *b = vips_image_new_from_buffer(blurred, blurred_len, "", NULL);
    VipsImage *ab = NULL, *bb = NULL, *small = NULL, *ref = NULL, *big = NULL, *diff = NULL;
    VipsImage *abs_diff = NULL, *base;
    double mean = -1.0;

    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(vips_extract_band(a, &ab, band, NULL), 0);
    assert_int_equal(vips_extract_band(b, &bb, band, NULL), 0);
    base = ab;
    if (4 * bb->Xsize < ab->Xsize) {
        double k = 4.0 * bb->Xsize / ab->Xsize;
        assert_int_equal(vips_resize(ab, &small, k, NULL), 0);
        sigma_px *= k;
        base = small;
    }
    assert_int_equal(vips_gaussblur(base, &ref, sigma_px, "precision", VIPS_PRECISION_FLOAT, NULL),
                     0);
    assert_int_equal(vips_resize(bb, &big, (double)base->Xsize / bb->Xsize, "vscale",
                                 (double)base->Ysize / bb->Ysize, "kernel", VIPS_KERNEL_LINEAR,
                                 NULL),
                     0);
    assert_int_equal(vips_subtract(ref, big, &diff, NULL), 0);
    assert_int_equal(vips_abs(diff, &abs_diff, NULL), 0);
    assert_int_equal(vips_avg(abs_diff, &mean, NULL), 0);
    VIPS_UNREF(a);
    VIPS_UNREF(b);
    VIPS_UNREF(ab);
    VIPS_UNREF(bb);
    VIPS_UNREF(small);
    VIPS_UNREF(ref);
    VIPS_UNREF(big);
    VIPS_UNREF(diff);
    VIPS_UNREF(abs_diff);
    return mean;
}

/* A colour level is blurred as its greyscale level is: it matches a reference blur of the clear
 * colour level in luminance and in every colour band. */
static void test_colour_levels_are_blurred_like_grey(void **state)
{
    static const int kinds[] = {MODQ_SYNTH_SHAPES, MODQ_SYNTH_NOISE};

    (void)state;
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        size_t len;
        uint8_t *jpg = tu_synth(kinds[k], 2400, 1600, 23, "jpeg", &len);
        modq_media_opts *o = opts_with(1, 0, 0xf);
        modq_media *m = process(jpg, len, o);
        int longest = modq_media_display_width(m) > modq_media_display_height(m)
                          ? modq_media_display_width(m)
                          : modq_media_display_height(m);
        const uint8_t *c0;
        size_t n0;

        assert_int_equal(modq_media_rendition_colour(m, 0, &c0, &n0, NULL, NULL), MODQ_BLUR_OK);
        for (int lv = 1; lv < MODQ_LEVEL_COUNT; lv++) {
            const uint8_t *c;
            size_t cn;
            double sigma = modq_media_level_sigma(lv) * longest, dist;
            modq_media_rendition_colour(m, lv, &c, &cn, NULL, NULL);
            dist = tu_blur_distance(c0, n0, c, cn, sigma);
            print_message("%s level %d: luma distance to reference blur %.2f\n",
                          k ? "noise" : "shapes", lv, dist);
            assert_true(dist >= 0 && dist < 6.0);
            for (int band = 0; band < 3; band++) {
                dist = band_blur_distance(c0, n0, c, cn, band, sigma);
                print_message("  band %d: %.2f\n", band, dist);
                /* Chroma is stored at half resolution (4:2:0) in both formats: a little looser. */
                assert_true(dist >= 0 && dist < 8.0);
            }
        }
        modq_media_free(m);
        modq_opts_free(o);
        modq_synth_free(jpg);
    }
}

/* Detail left, as a person sees it at display size: each colour level removes as much as its
 * greyscale level does (noise: every pixel is detail). */
static void test_colour_levels_remove_detail_like_grey(void **state)
{
    size_t len;
    uint8_t *jpg = tu_synth(MODQ_SYNTH_NOISE, 1600, 1200, 26, "jpeg", &len);
    modq_media_opts *o = opts_with(1, 0, 0xf);
    modq_media *m = process(jpg, len, o);
    int dw = modq_media_display_width(m);
    double vc[MODQ_LEVEL_COUNT], vg[MODQ_LEVEL_COUNT];

    (void)state;
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        const uint8_t *c, *g;
        size_t cn, gn;
        modq_media_rendition_colour(m, lv, &c, &cn, NULL, NULL);
        modq_media_rendition(m, lv, &g, &gn, NULL, NULL);
        vc[lv] = tu_laplacian_variance(c, cn, dw);
        vg[lv] = tu_laplacian_variance(g, gn, dw);
        print_message("level %d: Laplacian variance colour %.4f, grey %.4f\n", lv, vc[lv], vg[lv]);
        assert_true(vc[lv] >= 0 && vg[lv] >= 0);
    }
    assert_true(vc[0] > 0);
    /* The thresholds of test_blur_render.c's ladder test, applied to the colour ladder. */
    assert_true(vc[1] < vc[0] / 10);
    assert_true(vc[2] < vc[1] / 2);
    assert_true(vc[3] < vc[0] / 1000);
    /* And no level keeps markedly more than grey's, above the encoders' noise floor. */
    for (int lv = 1; lv < MODQ_LEVEL_COUNT; lv++) {
        assert_true(vc[lv] < 1.5 * vg[lv] + vc[0] / 1e6);
    }
    modq_media_free(m);
    modq_opts_free(o);
    modq_synth_free(jpg);
}

/* Asking for colour too leaves the greyscale ladder byte for byte as it was, deferred or not. */
static void test_colour_does_not_change_grey_bytes(void **state)
{
    size_t len;
    uint8_t *jpg = tu_synth(MODQ_SYNTH_SHAPES, 1600, 1200, 24, "jpeg", &len);

    (void)state;
    for (int defer = 0; defer <= 1; defer++) {
        modq_media_opts *go = opts_with(0, defer, 0xf), *co = opts_with(1, defer, 0xf);
        modq_media *gm = process(jpg, len, go), *cm = process(jpg, len, co);
        if (defer) {
            assert_int_equal(modq_media_render(gm, go, NULL, 0), MODQ_BLUR_OK);
            assert_int_equal(modq_media_render(cm, co, NULL, 0), MODQ_BLUR_OK);
        }
        /* The hashes never depend on how media is rendered. */
        assert_string_equal(modq_media_pdq_hex(gm), modq_media_pdq_hex(cm));
        for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
            const uint8_t *a, *b, *c;
            size_t an, bn, cn;
            assert_int_equal(modq_media_rendition(gm, lv, &a, &an, NULL, NULL), MODQ_BLUR_OK);
            assert_int_equal(modq_media_rendition(cm, lv, &b, &bn, NULL, NULL), MODQ_BLUR_OK);
            assert_int_equal(an, bn);
            assert_memory_equal(a, b, an);
            /* And the colour rendition is another picture, not the grey one again. */
            assert_int_equal(modq_media_rendition_colour(cm, lv, &c, &cn, NULL, NULL),
                             MODQ_BLUR_OK);
            assert_ptr_not_equal(c, b);
            assert_false(cn == bn && memcmp(c, b, cn) == 0);
        }
        modq_media_free(gm);
        modq_media_free(cm);
        modq_opts_free(go);
        modq_opts_free(co);
    }
    modq_synth_free(jpg);
}

/* With MODQ_OPT_COLOUR the one ladder is already colour: it serves as the colour ladder, and no
 * second copy is made. A greyscale source gives colour renditions that are as grey. */
static void test_colour_ladder_with_colour_option_and_grey_source(void **state)
{
    size_t len;
    uint8_t *jpg = tu_synth(MODQ_SYNTH_SHAPES, 640, 480, 25, "jpeg", &len);
    modq_media_opts *o = opts_with(1, 0, 0xf);
    VipsImage *black = NULL;
    void *png = NULL;
    size_t png_len = 0;
    modq_media *m;

    (void)state;
    assert_int_equal(modq_opts_set(o, MODQ_OPT_COLOUR, 1), MODQ_BLUR_OK);
    m = process(jpg, len, o);
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        const uint8_t *a, *b;
        assert_int_equal(modq_media_rendition(m, lv, &a, NULL, NULL, NULL), MODQ_BLUR_OK);
        assert_int_equal(modq_media_rendition_colour(m, lv, &b, NULL, NULL, NULL), MODQ_BLUR_OK);
        assert_ptr_equal(a, b);
    }
    modq_media_free(m);

    assert_int_equal(modq_opts_set(o, MODQ_OPT_COLOUR, 0), MODQ_BLUR_OK);
    assert_int_equal(vips_black(&black, 300, 200, NULL), 0);
    assert_int_equal(vips_draw_rect1(black, 200.0, 100, 50, 100, 100, "fill", TRUE, NULL), 0);
    assert_int_equal(vips_pngsave_buffer(black, &png, &png_len, NULL), 0);
    m = process(png, png_len, o);
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        const uint8_t *c;
        size_t cn;
        int w, h, bands, chroma;
        assert_int_equal(modq_media_rendition_colour(m, lv, &c, &cn, NULL, NULL), MODQ_BLUR_OK);
        assert_int_equal(tu_probe(c, cn, &w, &h, &bands, &chroma), 0);
        assert_true(chroma <= 3);
    }
    modq_media_free(m);
    g_free(png);
    VIPS_UNREF(black);
    modq_opts_free(o);
    modq_synth_free(jpg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_colour_option_defaults_off_and_copies),
        cmocka_unit_test(test_colour_renditions_only_when_asked),
        cmocka_unit_test(test_colour_levels_are_colour_and_sized_like_grey),
        cmocka_unit_test(test_colour_levels_are_blurred_like_grey),
        cmocka_unit_test(test_colour_levels_remove_detail_like_grey),
        cmocka_unit_test(test_colour_does_not_change_grey_bytes),
        cmocka_unit_test(test_colour_ladder_with_colour_option_and_grey_source),
    };
    return cmocka_run_group_tests(tests, tu_blur_setup, tu_blur_teardown);
}
