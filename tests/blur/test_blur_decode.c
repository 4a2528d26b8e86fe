/*
 * test_blur_decode.c: the single decode of untrusted bytes (blur/decode.c) under hostile input:
 * empty, oversized, truncated, lying headers, blocked formats, random bytes; and the limits at
 * their exact boundaries, orientation, frames and shrink-on-load; and the deadline's hold on
 * libvips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "decode.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture {
    modq_media_opts *opts;
    modq_decoded dec;
    char err[512];
} fixture;

/* Each test starts from the default limits. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || !(f->opts = modq_opts_new())) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    decode_clear(&f->dec);
    modq_opts_free(f->opts);
    free(f);
    return 0;
}

static modq_blur_result decode(fixture *f, const void *buf, size_t len)
{
    modq_deadline dl;

    decode_clear(&f->dec);
    f->err[0] = '\0';
    deadline_start(&dl, modq_opts_get(f->opts, MODQ_OPT_DEADLINE_MS), 0);
    return decode_image(f->opts, buf, len, &dl, &f->dec, f->err, sizeof(f->err));
}

static void test_decode_rejects_zero_bytes(void **state)
{
    fixture *f = *state;
    assert_int_equal(decode(f, "", 0), MODQ_BLUR_ERR_EMPTY);
    assert_string_equal(f->err, "empty input: 0 bytes");
    assert_null(f->dec.image);
}

static void test_decode_rejects_input_over_byte_limit_before_sniffing(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *jpg = tu_synth(MODQ_SYNTH_SHAPES, 64, 64, 1, "jpeg", &len);

    assert_non_null(jpg);
    assert_int_equal(modq_opts_set(f->opts, MODQ_OPT_MAX_INPUT_BYTES, (int64_t)len - 1),
                     MODQ_BLUR_OK);
    assert_int_equal(decode(f, jpg, len), MODQ_BLUR_ERR_TOO_LARGE);
    assert_non_null(strstr(f->err, "input too large"));
    assert_int_equal(modq_opts_set(f->opts, MODQ_OPT_MAX_INPUT_BYTES, (int64_t)len), MODQ_BLUR_OK);
    assert_int_equal(decode(f, jpg, len), MODQ_BLUR_OK);
    modq_synth_free(jpg);
}

static void test_decode_fails_on_truncated_jpeg(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *jpg = tu_synth(MODQ_SYNTH_NOISE, 800, 600, 2, "jpeg", &len);

    assert_non_null(jpg);
    /* Cut in the middle of the entropy-coded data: the header survives, the pixels do not. */
    assert_int_equal(decode(f, jpg, len / 2), MODQ_BLUR_ERR_CORRUPT);
    assert_non_null(strstr(f->err, "corrupt image"));
    assert_null(f->dec.image);
    modq_synth_free(jpg);
}

static void test_decode_fails_on_truncated_png(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *png = tu_synth(MODQ_SYNTH_NOISE, 300, 300, 3, "png", &len);

    assert_non_null(png);
    assert_int_equal(decode(f, png, len * 2 / 3), MODQ_BLUR_ERR_CORRUPT);
    modq_synth_free(png);
}

static void test_decode_refuses_png_claiming_50000_square_from_header(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *png = tu_png_claiming(50000, 50000, &len);

    assert_int_equal(decode(f, png, len), MODQ_BLUR_ERR_TOO_MANY_PIXELS);
    assert_string_equal(f->err, "too many pixels: 50000x50000 > 100000000");
    free(png);
}

static void test_decode_refuses_side_over_limit_with_few_pixels(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *png = tu_png_claiming(30000, 2, &len);

    assert_int_equal(decode(f, png, len), MODQ_BLUR_ERR_DIMENSION);
    assert_string_equal(f->err, "image side too long: 30000x2 > 20000 px");
    free(png);
}

static void test_decode_pixel_limit_boundary_is_inclusive(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *png = tu_synth(MODQ_SYNTH_SHAPES, 120, 100, 4, "png", &len);

    assert_int_equal(modq_opts_set(f->opts, MODQ_OPT_MAX_PIXELS, 12000), MODQ_BLUR_OK);
    assert_int_equal(decode(f, png, len), MODQ_BLUR_OK);
    assert_int_equal(modq_opts_set(f->opts, MODQ_OPT_MAX_PIXELS, 11999), MODQ_BLUR_OK);
    assert_int_equal(decode(f, png, len), MODQ_BLUR_ERR_TOO_MANY_PIXELS);
    assert_string_equal(f->err, "too many pixels: 120x100 > 11999");
    modq_synth_free(png);
}

static void test_decode_blocks_svg_pdf_and_postscript_by_name(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *bytes, *name;
    } cases[] = {
        {"<svg xmlns='http://www.w3.org/2000/svg' width='9' height='9'/>", "blocked format: svg"},
        {"\xef\xbb\xbf  \n<?xml version='1.0'?>\n<svg width='9' height='9'/>",
         "blocked format: svg"},
        {"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "blocked format: pdf"},
        {"%!PS-Adobe-3.0\n", "blocked format: postscript"},
        {"BM\x36\x00\x00\x00\x00\x00", "blocked format: bmp"},
        {"P6\n1 1\n255\n\x01\x02\x03", "blocked format: netpbm"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(decode(f, cases[i].bytes, strlen(cases[i].bytes)),
                         MODQ_BLUR_ERR_BLOCKED_FORMAT);
        assert_string_equal(f->err, cases[i].name);
    }
}

/* Defence in depth: even bypassing our sniffer, libvips itself must refuse blocked loaders. */
static void test_libvips_itself_refuses_blocked_loaders(void **state)
{
    static const char svg[] = "<svg xmlns='http://www.w3.org/2000/svg' width='9' height='9'/>";
    static const char pdf[] = "%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>";
    VipsImage *img;

    (void)state;
    img = vips_image_new_from_buffer(svg, sizeof(svg) - 1, "", NULL);
    assert_null(img);
    img = vips_image_new_from_buffer(pdf, sizeof(pdf) - 1, "", NULL);
    assert_null(img);
    vips_error_clear();
}

static void test_decode_reports_random_bytes_as_unknown(void **state)
{
    fixture *f = *state;
    uint8_t junk[4096];
    uint64_t s = 12345;

    for (size_t i = 0; i < sizeof(junk); i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        junk[i] = (uint8_t)(s >> 56);
    }
    junk[0] = 0x42; /* not a magic number we know */
    junk[1] = 0x42;
    assert_int_equal(decode(f, junk, sizeof(junk)), MODQ_BLUR_ERR_UNKNOWN_FORMAT);
    assert_non_null(strstr(f->err, "unknown format"));
}

static void test_decode_random_bytes_behind_jpeg_magic_are_corrupt(void **state)
{
    fixture *f = *state;
    uint8_t junk[2048];

    for (size_t i = 0; i < sizeof(junk); i++) {
        junk[i] = (uint8_t)(i * 31 + 7);
    }
    junk[0] = 0xff;
    junk[1] = 0xd8;
    junk[2] = 0xff;
    assert_int_equal(decode(f, junk, sizeof(junk)), MODQ_BLUR_ERR_CORRUPT);
}

static void test_decode_one_pixel_image(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *png = tu_synth(MODQ_SYNTH_SHAPES, 1, 1, 5, "png", &len);

    assert_int_equal(decode(f, png, len), MODQ_BLUR_OK);
    assert_int_equal(f->dec.image->Xsize, 1);
    assert_int_equal(f->dec.image->Ysize, 1);
    assert_int_equal(f->dec.width, 1);
    assert_string_equal(f->dec.format, "png");
    modq_synth_free(png);
}

static void test_decode_every_allowed_format(void **state)
{
    fixture *f = *state;
    static const char *const formats[] = {"jpeg", "png", "webp", "gif", "tiff"};

    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        size_t len;
        uint8_t *buf = tu_synth(MODQ_SYNTH_SHAPES, 320, 200, 6, formats[i], &len);
        assert_non_null(buf);
        assert_int_equal(decode(f, buf, len), MODQ_BLUR_OK);
        assert_string_equal(f->dec.format, formats[i]);
        assert_int_equal(f->dec.width, 320);
        assert_int_equal(f->dec.height, 200);
        assert_int_equal(f->dec.image->BandFmt, VIPS_FORMAT_UCHAR);
        modq_synth_free(buf);
    }
}

/* HEIF/AVIF come through libheif, a separate libvips module: encode one here and decode it. */
static void test_decode_avif(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *png = tu_synth(MODQ_SYNTH_SHAPES, 320, 200, 9, "png", &len);
    VipsImage *img = vips_image_new_from_buffer(png, len, "", NULL);
    void *buf = NULL;
    size_t n = 0;

    assert_non_null(img);
    if (vips_heifsave_buffer(img, &buf, &n, "compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1,
                             NULL)) {
        vips_error_clear();
        VIPS_UNREF(img);
        modq_synth_free(png);
        skip(); /* this libvips has no HEIF encoder; decoding is still allow-listed */
    }
    assert_int_equal(decode(f, buf, n), MODQ_BLUR_OK);
    assert_string_equal(f->dec.format, "heif");
    assert_int_equal(f->dec.width, 320);
    assert_int_equal(f->dec.height, 200);
    g_free(buf);
    VIPS_UNREF(img);
    modq_synth_free(png);
}

static void test_decode_shrinks_large_jpeg_to_display_size(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *jpg = tu_synth(MODQ_SYNTH_SHAPES, 3000, 2000, 7, "jpeg", &len);

    assert_int_equal(decode(f, jpg, len), MODQ_BLUR_OK);
    assert_int_equal(f->dec.width, 3000);
    assert_int_equal(f->dec.height, 2000);
    assert_int_equal(f->dec.image->Xsize, 1024);
    assert_int_equal(f->dec.image->Ysize, 683);
    modq_synth_free(jpg);
}

/* Orientation 6 means "rotate 90 degrees clockwise to display": the left of the stored pixels
 * ends up on top. */
static void test_decode_applies_exif_orientation(void **state)
{
    fixture *f = *state;
    VipsImage *black = NULL, *white = NULL, *joined = NULL, *copy = NULL;
    void *buf = NULL;
    size_t len = 0;

    assert_int_equal(vips_black(&black, 100, 100, "bands", 3, NULL), 0);
    assert_int_equal(vips_linear1(black, &white, 1.0, 255.0, "uchar", TRUE, NULL), 0);
    assert_int_equal(vips_join(black, white, &joined, VIPS_DIRECTION_HORIZONTAL, NULL), 0);
    assert_int_equal(vips_copy(joined, &copy, NULL), 0);
    vips_image_set_int(copy, VIPS_META_ORIENTATION, 6);
    assert_int_equal(vips_jpegsave_buffer(copy, &buf, &len, "Q", 95, NULL), 0);

    assert_int_equal(decode(f, buf, len), MODQ_BLUR_OK);
    assert_int_equal(f->dec.width, 100);
    assert_int_equal(f->dec.height, 200);
    assert_int_equal(f->dec.image->Xsize, 100);
    assert_int_equal(f->dec.image->Ysize, 200);
    assert_true(*VIPS_IMAGE_ADDR(f->dec.image, 50, 20) < 40);
    assert_true(*VIPS_IMAGE_ADDR(f->dec.image, 50, 180) > 215);
    g_free(buf);
    VIPS_UNREF(black);
    VIPS_UNREF(white);
    VIPS_UNREF(joined);
    VIPS_UNREF(copy);
}

static void test_decode_animated_gif_keeps_first_frame_and_counts_frames(void **state)
{
    fixture *f = *state;
    VipsImage *frames[3] = {NULL}, *strip = NULL, *copy = NULL;
    void *buf = NULL;
    size_t len = 0;

    for (int i = 0; i < 3; i++) {
        assert_int_equal(vips_black(&frames[i], 60, 40, "bands", 3, NULL), 0);
    }
    assert_int_equal(vips_arrayjoin(frames, &strip, 3, "across", 1, NULL), 0);
    assert_int_equal(vips_copy(strip, &copy, NULL), 0);
    vips_image_set_int(copy, VIPS_META_PAGE_HEIGHT, 40);
    assert_int_equal(vips_gifsave_buffer(copy, &buf, &len, NULL), 0);

    assert_int_equal(decode(f, buf, len), MODQ_BLUR_OK);
    assert_string_equal(f->dec.format, "gif");
    assert_int_equal(f->dec.frames, 3);
    assert_int_equal(f->dec.image->Xsize, 60);
    assert_int_equal(f->dec.image->Ysize, 40);
    g_free(buf);
    for (int i = 0; i < 3; i++) {
        VIPS_UNREF(frames[i]);
    }
    VIPS_UNREF(strip);
    VIPS_UNREF(copy);
}

static void test_decode_output_carries_no_metadata(void **state)
{
    fixture *f = *state;
    VipsImage *img = NULL;
    void *buf = NULL;
    size_t len = 0;
    gchar **fields;

    assert_int_equal(vips_black(&img, 32, 32, "bands", 3, NULL), 0);
    vips_image_set_string(img, "exif-ifd0-ImageDescription", "SECRET");
    vips_image_set_string(img, "exif-ifd0-Artist", "GPS-48.85N");
    assert_int_equal(vips_jpegsave_buffer(img, &buf, &len, NULL), 0);
    assert_true(tu_contains(buf, len, "SECRET", 6));
    assert_int_equal(decode(f, buf, len), MODQ_BLUR_OK);
    fields = vips_image_get_fields(f->dec.image);
    for (int i = 0; fields[i]; i++) {
        assert_false(vips_image_remove(f->dec.image, fields[i]));
    }
    g_strfreev(fields);
    g_free(buf);
    VIPS_UNREF(img);
}

/* TIFF allows any number of samples per pixel: 5 to 10 must come out as 3 colour bands (or fail
 * cleanly), never read past the flattening background. */
/* A failure reports its own reason, not text a previous call left in libvips's error buffer:
 * decoding HEIF succeeds but leaves a "bad seek" note behind. */
static void test_decode_error_is_not_stale(void **state)
{
    fixture *f = *state;
    size_t len;
    size_t plen;
    uint8_t *png = tu_synth(MODQ_SYNTH_SHAPES, 320, 200, 9, "png", &plen);
    uint8_t *jpg = tu_synth(MODQ_SYNTH_NOISE, 400, 300, 8, "jpeg", &len);
    VipsImage *img = vips_image_new_from_buffer(png, plen, "", NULL);
    void *avif = NULL;
    size_t n = 0;
    if (!img || vips_heifsave_buffer(img, &avif, &n, "compression",
                                     VIPS_FOREIGN_HEIF_COMPRESSION_AV1, NULL)) {
        vips_error_clear();
        VIPS_UNREF(img);
        modq_synth_free(png);
        modq_synth_free(jpg);
        skip();
    }
    assert_int_equal(decode(f, avif, n), MODQ_BLUR_OK);
    assert_int_equal(decode(f, jpg, len / 2), MODQ_BLUR_ERR_CORRUPT);
    print_message("error after a HEIF decode: %s\n", f->err);
    assert_null(strstr(f->err, "seek"));
    assert_non_null(strstr(f->err, "Jpeg"));
    g_free(avif);
    VIPS_UNREF(img);
    modq_synth_free(png);
    modq_synth_free(jpg);
}

static void test_decode_many_band_tiff_is_normalised(void **state)
{
    fixture *f = *state;

    for (int bands = 4; bands <= 10; bands++) {
        VipsImage *black = NULL, *tagged = NULL;
        void *buf = NULL;
        size_t len = 0;
        assert_int_equal(vips_black(&black, 16, 16, "bands", bands, NULL), 0);
        assert_int_equal(
            vips_copy(black, &tagged, "interpretation", VIPS_INTERPRETATION_sRGB, NULL), 0);
        assert_int_equal(vips_tiffsave_buffer(tagged, &buf, &len, NULL), 0);
        assert_int_equal(decode(f, buf, len), MODQ_BLUR_OK);
        assert_int_equal(f->dec.image->Bands, 3);
        assert_int_equal(f->dec.image->BandFmt, VIPS_FORMAT_UCHAR);
        g_free(buf);
        VIPS_UNREF(black);
        VIPS_UNREF(tagged);
    }
}

static void test_decode_flattens_alpha_on_white(void **state)
{
    fixture *f = *state;
    VipsImage *black = NULL, *rgba = NULL;
    void *buf = NULL;
    size_t len = 0;

    /* Fully transparent black: what a person would see is the page behind it, white. */
    assert_int_equal(vips_black(&black, 16, 16, "bands", 4, NULL), 0);
    assert_int_equal(vips_copy(black, &rgba, "interpretation", VIPS_INTERPRETATION_sRGB, NULL), 0);
    assert_int_equal(vips_pngsave_buffer(rgba, &buf, &len, NULL), 0);
    assert_int_equal(decode(f, buf, len), MODQ_BLUR_OK);
    assert_int_equal(f->dec.image->Bands, 3);
    assert_int_equal(*VIPS_IMAGE_ADDR(f->dec.image, 8, 8), 255);
    g_free(buf);
    VIPS_UNREF(black);
    VIPS_UNREF(rgba);
}

/*
 * The deadline's hold on libvips (deadline.c): a computation watched by a spent deadline stops at
 * its first work unit and fails like any libvips error (ASan checks that nothing of it leaks);
 * the wrapper refuses to start once the budget is spent; a fresh budget computes normally.
 */
static void test_spent_deadline_kills_a_libvips_computation(void **state)
{
    size_t len;
    uint8_t *png = tu_synth(MODQ_SYNTH_SHAPES, 1500, 1000, 2, "png", &len);
    VipsImage *img = NULL, *mem;
    modq_deadline spent, fresh;
    gulong id;

    (void)state;
    deadline_start(&spent, 1, 1000000); /* 1 ms allowed, 1 ms already spent */
    assert_true(deadline_passed(&spent));
    assert_int_equal(vips_pngload_buffer(png, len, &img, "access", VIPS_ACCESS_SEQUENTIAL, NULL),
                     0);
    vips_error_clear();
    id = deadline_watch(&spent, img);
    assert_null(vips_image_copy_memory(img));
    assert_non_null(strstr(vips_error_buffer(), "killed"));
    deadline_unwatch(img, id);
    vips_error_clear();
    assert_null(deadline_copy_memory(&spent, img));
    VIPS_UNREF(img);

    deadline_start(&fresh, 10000, 0);
    assert_int_equal(vips_pngload_buffer(png, len, &img, "access", VIPS_ACCESS_SEQUENTIAL, NULL),
                     0);
    assert_non_null(mem = deadline_copy_memory(&fresh, img));
    assert_int_equal(mem->Xsize, 1500);
    assert_false(deadline_passed(&fresh));
    VIPS_UNREF(mem);
    VIPS_UNREF(img);
    modq_synth_free(png);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_decode_rejects_zero_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_rejects_input_over_byte_limit_before_sniffing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_fails_on_truncated_jpeg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_fails_on_truncated_png, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_refuses_png_claiming_50000_square_from_header,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_refuses_side_over_limit_with_few_pixels, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_decode_pixel_limit_boundary_is_inclusive, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_decode_blocks_svg_pdf_and_postscript_by_name, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_libvips_itself_refuses_blocked_loaders, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_decode_reports_random_bytes_as_unknown, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_decode_random_bytes_behind_jpeg_magic_are_corrupt,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_one_pixel_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_every_allowed_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_avif, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_shrinks_large_jpeg_to_display_size, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_decode_applies_exif_orientation, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_decode_animated_gif_keeps_first_frame_and_counts_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_output_carries_no_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_error_is_not_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_many_band_tiff_is_normalised, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_flattens_alpha_on_white, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spent_deadline_kills_a_libvips_computation, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, tu_blur_setup, tu_blur_teardown);
}
