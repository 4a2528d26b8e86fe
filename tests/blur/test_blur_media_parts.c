/*
 * test_blur_media_parts.c: a modq_media rebuilt from parts (blur/media_parts.c). A media that
 * modq_media_process made, copied through modq_media_assemble and modq_media_put_rendition, reads
 * back the same in every accessor; and every part out of range is refused with a one-line reason
 * naming it, leaving nothing behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "modq_blur.h"
#include "testutil.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* What modq_media_put_rendition accepts at most (media_parts.c's PARTS_RENDITION_MAX). */
#define RENDITION_MAX (8u * 1024 * 1024)

/* The facts of m, as a reader of a review item gets them. */
static void facts_of(const modq_media *m, modq_media_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->width = modq_media_width(m);
    f->height = modq_media_height(m);
    f->frames = modq_media_frames(m);
    f->format = modq_media_format(m);
    f->display_width = modq_media_display_width(m);
    f->display_height = modq_media_display_height(m);
    f->rendition_format = modq_media_rendition_format(m);
    f->levels_in_colour = modq_media_levels_in_colour(m);
    memcpy(f->sha256, modq_media_sha256(m), MODQ_SHA256_LEN);
    memcpy(f->md5, modq_media_md5(m), MODQ_MD5_LEN);
    for (int v = 0; v < MODQ_PDQ_DIHEDRAL; v++) {
        memcpy(f->pdq[v], modq_media_pdq_dihedral(m, v), MODQ_PDQ_BYTES);
    }
    f->pdq_quality = modq_media_pdq_quality(m);
}

/* Copies every rendition of one ladder of m into c; returns how many there were. */
static int copy_ladder(const modq_media *m, modq_media *c, bool colour)
{
    int n = 0;

    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        const uint8_t *d;
        size_t len;
        int w, h;
        char err[256] = "";
        modq_blur_result r = colour ? modq_media_rendition_colour(m, lv, &d, &len, &w, &h)
                                    : modq_media_rendition(m, lv, &d, &len, &w, &h);
        if (r != MODQ_BLUR_OK) {
            continue;
        }
        r = modq_media_put_rendition(c, lv, colour, d, len, w, h, err, sizeof(err));
        if (r != MODQ_BLUR_OK) {
            print_error("level %d (colour %d): %s\n", lv, colour, err);
        }
        assert_int_equal(r, MODQ_BLUR_OK);
        n++;
    }
    return n;
}

/* m rebuilt from its parts. The format name is handed over in a buffer of the caller's, freed
 * before the copy is read: the copy must not keep it. */
static modq_media *copy_of(const modq_media *m)
{
    modq_media_facts f;
    modq_media *c = NULL;
    char err[256] = "";
    char *format = strdup(modq_media_format(m));

    assert_non_null(format);
    facts_of(m, &f);
    f.format = format;
    assert_int_equal(modq_media_assemble(&f, &c, err, sizeof(err)), MODQ_BLUR_OK);
    free(format);
    assert_non_null(c);
    assert_int_equal(copy_ladder(m, c, false), MODQ_LEVEL_COUNT);
    if (!modq_media_levels_in_colour(m)) {
        copy_ladder(m, c, true);
    }
    return c;
}

/* One level of one ladder reads the same in a and b, and b holds its own bytes. */
static void assert_same_rendition(const modq_media *a, const modq_media *b, int lv, bool colour)
{
    const uint8_t *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    int wa = 0, ha = 0, wb = -1, hb = -1;
    modq_blur_result ra = colour ? modq_media_rendition_colour(a, lv, &da, &la, &wa, &ha)
                                 : modq_media_rendition(a, lv, &da, &la, &wa, &ha);
    modq_blur_result rb = colour ? modq_media_rendition_colour(b, lv, &db, &lb, &wb, &hb)
                                 : modq_media_rendition(b, lv, &db, &lb, &wb, &hb);

    assert_int_equal(ra, rb);
    if (ra != MODQ_BLUR_OK) {
        return;
    }
    assert_true(la > 0);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    assert_ptr_not_equal(da, db);
    assert_int_equal(wa, wb);
    assert_int_equal(ha, hb);
}

static void assert_same_media(const modq_media *a, const modq_media *b)
{
    assert_int_equal(modq_media_width(a), modq_media_width(b));
    assert_int_equal(modq_media_height(a), modq_media_height(b));
    assert_int_equal(modq_media_frames(a), modq_media_frames(b));
    assert_string_equal(modq_media_format(a), modq_media_format(b));
    assert_int_equal(modq_media_display_width(a), modq_media_display_width(b));
    assert_int_equal(modq_media_display_height(a), modq_media_display_height(b));
    assert_string_equal(modq_media_mime(a), modq_media_mime(b));
    assert_int_equal(modq_media_rendition_format(a), modq_media_rendition_format(b));
    assert_int_equal(modq_media_levels_in_colour(a), modq_media_levels_in_colour(b));
    assert_string_equal(modq_media_sha256_hex(a), modq_media_sha256_hex(b));
    assert_string_equal(modq_media_md5_hex(a), modq_media_md5_hex(b));
    assert_string_equal(modq_media_pdq_hex(a), modq_media_pdq_hex(b));
    assert_memory_equal(modq_media_sha256(a), modq_media_sha256(b), MODQ_SHA256_LEN);
    assert_memory_equal(modq_media_md5(a), modq_media_md5(b), MODQ_MD5_LEN);
    for (int v = 0; v < MODQ_PDQ_DIHEDRAL; v++) {
        assert_memory_equal(modq_media_pdq_dihedral(a, v), modq_media_pdq_dihedral(b, v),
                            MODQ_PDQ_BYTES);
    }
    assert_int_equal(modq_media_pdq_quality(a), modq_media_pdq_quality(b));
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        assert_same_rendition(a, b, lv, false);
        assert_same_rendition(a, b, lv, true);
    }
}

/* Processes a synthetic image under options (key, value) pairs ending with MODQ_OPT_COUNT. */
static modq_media *processed(const char *format, modq_opt key, ...)
{
    size_t len;
    uint8_t *img = tu_synth(MODQ_SYNTH_SHAPES, 640, 480, 7, format, &len);
    modq_media_opts *opts = modq_opts_new();
    modq_media *m = NULL;
    char err[256] = "";
    va_list ap;

    assert_non_null(img);
    assert_non_null(opts);
    va_start(ap, key);
    for (; key != MODQ_OPT_COUNT; key = (modq_opt)va_arg(ap, int)) {
        assert_int_equal(modq_opts_set(opts, key, va_arg(ap, int64_t)), MODQ_BLUR_OK);
    }
    va_end(ap);
    if (modq_media_process(opts, img, len, &m, err, sizeof(err)) != MODQ_BLUR_OK) {
        fail_msg("process: %s", err);
    }
    modq_opts_free(opts);
    modq_synth_free(img);
    return m;
}

/* How many levels of one ladder m holds. */
static int levels(const modq_media *m, bool colour)
{
    int n = 0;
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        n += (colour ? modq_media_rendition_colour(m, lv, NULL, NULL, NULL, NULL)
                     : modq_media_rendition(m, lv, NULL, NULL, NULL, NULL)) == MODQ_BLUR_OK;
    }
    return n;
}

static void test_parts_copy_of_processed_media_is_identical(void **state)
{
    modq_media *src[] = {
        /* grey WebP and a colour ladder beside it, from a JPEG */
        processed("jpeg", MODQ_OPT_COLOUR_TOO, (int64_t)1, MODQ_OPT_COUNT),
        /* one ladder in colour, JPEG renditions, from a PNG */
        processed("png", MODQ_OPT_COLOUR, (int64_t)1, MODQ_OPT_FORMAT, (int64_t)MODQ_FORMAT_JPEG,
                  MODQ_OPT_COUNT),
        /* grey only, from a WebP, a smaller display size */
        processed("webp", MODQ_OPT_DISPLAY_SIZE, (int64_t)200, MODQ_OPT_COUNT),
    };
    const int colour_levels[] = {MODQ_LEVEL_COUNT, MODQ_LEVEL_COUNT, 0};

    (void)state;
    for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
        modq_media *c = copy_of(src[i]);
        print_message("%s, %dx%d shown at %dx%d, %s\n", modq_media_format(c), modq_media_width(c),
                      modq_media_height(c), modq_media_display_width(c),
                      modq_media_display_height(c), modq_media_mime(c));
        assert_int_equal(levels(src[i], true), colour_levels[i]);
        assert_int_equal(levels(c, false), MODQ_LEVEL_COUNT);
        assert_int_equal(levels(c, true), colour_levels[i]);
        assert_same_media(src[i], c);
        /* The copy owns everything it holds: it outlives its source. */
        modq_media_free(src[i]);
        src[i] = NULL;
        assert_int_equal(modq_media_rendition(c, 0, NULL, NULL, NULL, NULL), MODQ_BLUR_OK);
        assert_int_equal(strlen(modq_media_sha256_hex(c)), 2 * MODQ_SHA256_LEN);
        modq_media_free(c);
    }
}

/* The copy of each kind of processed media, with their distinguishing facts. */
static void test_parts_facts_read_back_as_given(void **state)
{
    modq_media *m = processed("jpeg", MODQ_OPT_COUNT);
    modq_media *j = processed("gif", MODQ_OPT_COLOUR, (int64_t)1, MODQ_OPT_FORMAT,
                              (int64_t)MODQ_FORMAT_JPEG, MODQ_OPT_COUNT);
    modq_media_facts f;
    modq_media *c = NULL;

    (void)state;
    assert_string_equal(modq_media_format(m), "jpeg");
    assert_string_equal(modq_media_mime(m), "image/webp");
    assert_false(modq_media_levels_in_colour(m));
    assert_int_equal(modq_media_rendition_format(m), MODQ_FORMAT_WEBP);
    assert_string_equal(modq_media_format(j), "gif");
    assert_string_equal(modq_media_mime(j), "image/jpeg");
    assert_true(modq_media_levels_in_colour(j));
    assert_int_equal(modq_media_rendition_format(j), MODQ_FORMAT_JPEG);
    facts_of(j, &f);
    assert_int_equal(modq_media_assemble(&f, &c, NULL, 0), MODQ_BLUR_OK);
    assert_string_equal(modq_media_mime(c), "image/jpeg");
    assert_true(modq_media_levels_in_colour(c));
    assert_string_equal(modq_media_format(c), "gif");
    /* Nothing was put: no level of either ladder reads. */
    assert_int_equal(levels(c, false), 0);
    assert_int_equal(levels(c, true), 0);
    assert_false(modq_media_levels_in_colour(NULL));
    modq_media_free(c);
    modq_media_free(m);
    modq_media_free(j);
}

/* Facts that pass: a source 640x480 JPEG shown at 640x480 in WebP. */
static modq_media_facts good_facts(void)
{
    modq_media_facts f;

    memset(&f, 0, sizeof(f));
    f.width = 640;
    f.height = 480;
    f.frames = 1;
    f.format = "jpeg";
    f.display_width = 640;
    f.display_height = 480;
    f.rendition_format = MODQ_FORMAT_WEBP;
    f.pdq_quality = 50;
    for (size_t i = 0; i < sizeof(f.sha256); i++) {
        f.sha256[i] = (uint8_t)i;
    }
    return f;
}

typedef struct facts_case {
    const char *what;
    void (*change)(modq_media_facts *f, int64_t v);
    int64_t value;
    const char *needle; /* in errstr; NULL: accepted */
} facts_case;

static void set_width(modq_media_facts *f, int64_t v)
{
    f->width = (int)v;
}
static void set_height(modq_media_facts *f, int64_t v)
{
    f->height = (int)v;
}
static void set_frames(modq_media_facts *f, int64_t v)
{
    f->frames = (int)v;
}
static void set_display_w(modq_media_facts *f, int64_t v)
{
    f->display_width = (int)v;
}
static void set_display_h(modq_media_facts *f, int64_t v)
{
    f->display_height = (int)v;
}
static void set_quality(modq_media_facts *f, int64_t v)
{
    f->pdq_quality = (int)v;
}
static void set_rformat(modq_media_facts *f, int64_t v)
{
    f->rendition_format = (modq_rendition_format)v;
}
static const char *const format_names[] = {NULL, "", "bmp", "JPEG", "jpeg ", "svg", "heif"};
static void set_format(modq_media_facts *f, int64_t v)
{
    f->format = format_names[v];
}

static const facts_case facts_cases[] = {
    {"width 0", set_width, 0, "source size out of range"},
    {"width -1", set_width, -1, "source size out of range"},
    {"width 100001", set_width, 100001, "source size out of range"},
    {"width 100000", set_width, 100000, NULL},
    {"height 0", set_height, 0, "source size out of range"},
    {"height 100001", set_height, 100001, "source size out of range"},
    {"height 1", set_height, 1, NULL},
    {"frames 0", set_frames, 0, "frame count out of range"},
    {"frames -5", set_frames, -5, "frame count out of range"},
    {"frames 100001", set_frames, 100001, "frame count out of range"},
    {"frames 100000", set_frames, 100000, NULL},
    {"display width 0", set_display_w, 0, "display size out of range"},
    {"display width 8193", set_display_w, 8193, "display size out of range"},
    {"display width 8192", set_display_w, 8192, NULL},
    {"display height -1", set_display_h, -1, "display size out of range"},
    {"display height 8193", set_display_h, 8193, "display size out of range"},
    {"display height 1", set_display_h, 1, NULL},
    {"pdq quality -1", set_quality, -1, "PDQ quality out of range"},
    {"pdq quality 101", set_quality, 101, "PDQ quality out of range"},
    {"pdq quality 0", set_quality, 0, NULL},
    {"pdq quality 100", set_quality, 100, NULL},
    {"rendition format 2", set_rformat, 2, "unknown rendition format"},
    {"rendition format -1", set_rformat, -1, "unknown rendition format"},
    {"rendition format JPEG", set_rformat, MODQ_FORMAT_JPEG, NULL},
    {"format NULL", set_format, 0, "unknown source format"},
    {"format empty", set_format, 1, "unknown source format"},
    {"format bmp", set_format, 2, "unknown source format"},
    {"format JPEG", set_format, 3, "unknown source format"},
    {"format 'jpeg '", set_format, 4, "unknown source format"},
    {"format svg", set_format, 5, "unknown source format"},
    {"format heif", set_format, 6, NULL},
};

static void test_parts_refuses_facts_out_of_range(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(facts_cases) / sizeof(facts_cases[0]); i++) {
        const facts_case *k = &facts_cases[i];
        modq_media_facts f = good_facts();
        modq_media *m = (modq_media *)&f; /* must be reset */
        char err[256] = "";
        modq_blur_result r;

        k->change(&f, k->value);
        r = modq_media_assemble(&f, &m, err, sizeof(err));
        print_message("%-22s -> %s %s\n", k->what, modq_blur_code(r), err);
        if (k->needle == NULL) {
            assert_int_equal(r, MODQ_BLUR_OK);
            assert_non_null(m);
            assert_int_equal(modq_media_width(m), f.width);
            assert_int_equal(modq_media_display_height(m), f.display_height);
            assert_int_equal(modq_media_pdq_quality(m), f.pdq_quality);
            assert_string_equal(modq_media_format(m), f.format);
            modq_media_free(m);
            continue;
        }
        assert_int_equal(r, MODQ_BLUR_ERR_PARSE);
        assert_null(m);
        assert_non_null(strstr(err, k->needle));
        assert_null(strchr(err, '\n'));
    }
}

static void test_parts_assemble_wants_its_arguments(void **state)
{
    modq_media_facts f = good_facts();
    modq_media *m = (modq_media *)&f;
    char err[8];

    (void)state;
    assert_int_equal(modq_media_assemble(NULL, &m, NULL, 0), MODQ_BLUR_ERR_INVALID_ARG);
    assert_null(m);
    assert_int_equal(modq_media_assemble(&f, NULL, NULL, 0), MODQ_BLUR_ERR_INVALID_ARG);
    /* A short error buffer truncates, never overflows. */
    f.width = 0;
    assert_int_equal(modq_media_assemble(&f, &m, err, sizeof(err)), MODQ_BLUR_ERR_PARSE);
    assert_int_equal(strlen(err), sizeof(err) - 1);
    assert_int_equal(modq_media_assemble(&f, &m, NULL, 0), MODQ_BLUR_ERR_PARSE);
}

/* A new media of good_facts() with rendition format rf. */
static modq_media *assembled(modq_rendition_format rf, bool levels_in_colour)
{
    modq_media_facts f = good_facts();
    modq_media *m = NULL;

    f.rendition_format = rf;
    f.levels_in_colour = levels_in_colour;
    assert_int_equal(modq_media_assemble(&f, &m, NULL, 0), MODQ_BLUR_OK);
    return m;
}

/* Puts data as level lv and expects a refusal whose reason holds needle; the level stays as it
 * was (absent, or holding `before`). */
static void expect_put_refused(modq_media *m, int lv, bool colour, const uint8_t *data, size_t len,
                               int w, int h, const char *needle)
{
    char err[256] = "";
    const uint8_t *before = NULL;
    size_t before_len = 0;
    modq_blur_result had =
        lv >= 0 && lv < MODQ_LEVEL_COUNT
            ? (colour ? modq_media_rendition_colour(m, lv, &before, &before_len, NULL, NULL)
                      : modq_media_rendition(m, lv, &before, &before_len, NULL, NULL))
            : MODQ_BLUR_ERR_INVALID_ARG;
    modq_blur_result r = modq_media_put_rendition(m, lv, colour, data, len, w, h, err, sizeof(err));
    const uint8_t *after = NULL;
    size_t after_len = 0;

    print_message("level %d colour %d, %zu bytes %dx%d -> %s: %s\n", lv, colour, len, w, h,
                  modq_blur_code(r), err);
    assert_int_equal(r, MODQ_BLUR_ERR_PARSE);
    assert_non_null(strstr(err, needle));
    assert_null(strchr(err, '\n'));
    if (lv < 0 || lv >= MODQ_LEVEL_COUNT) {
        return;
    }
    r = colour ? modq_media_rendition_colour(m, lv, &after, &after_len, NULL, NULL)
               : modq_media_rendition(m, lv, &after, &after_len, NULL, NULL);
    assert_int_equal(r, had);
    assert_ptr_equal(after, before);
    assert_int_equal(after_len, before_len);
}

/* A WebP file as an encoder writes it, and a JPEG one. */
typedef struct files {
    uint8_t *webp, *jpeg, *png;
    size_t webp_len, jpeg_len, png_len;
} files;

static files some_files(void)
{
    files fl;

    fl.webp = tu_synth(MODQ_SYNTH_SHAPES, 64, 48, 3, "webp", &fl.webp_len);
    fl.jpeg = tu_synth(MODQ_SYNTH_SHAPES, 64, 48, 3, "jpeg", &fl.jpeg_len);
    fl.png = tu_synth(MODQ_SYNTH_SHAPES, 64, 48, 3, "png", &fl.png_len);
    assert_non_null(fl.webp);
    assert_non_null(fl.jpeg);
    assert_non_null(fl.png);
    return fl;
}

static void free_files(files *fl)
{
    modq_synth_free(fl->webp);
    modq_synth_free(fl->jpeg);
    modq_synth_free(fl->png);
}

static void test_parts_refuses_levels_out_of_range_and_twice(void **state)
{
    files fl = some_files();
    modq_media *m = assembled(MODQ_FORMAT_WEBP, false);
    const uint8_t *d;
    size_t n;
    int w, h;

    (void)state;
    expect_put_refused(m, -1, false, fl.webp, fl.webp_len, 64, 48, "level -1 out of range");
    expect_put_refused(m, MODQ_LEVEL_COUNT, false, fl.webp, fl.webp_len, 64, 48,
                       "level 4 out of range");
    expect_put_refused(m, 1000000, true, fl.webp, fl.webp_len, 64, 48, "out of range");
    /* One grey and one colour rendition of a level are two slots; a second of either is not. */
    assert_int_equal(modq_media_put_rendition(m, 2, false, fl.webp, fl.webp_len, 64, 48, NULL, 0),
                     MODQ_BLUR_OK);
    assert_int_equal(modq_media_put_rendition(m, 2, true, fl.webp, fl.webp_len, 32, 24, NULL, 0),
                     MODQ_BLUR_OK);
    expect_put_refused(m, 2, false, fl.webp, fl.webp_len, 64, 48, "level 2 given twice");
    expect_put_refused(m, 2, true, fl.webp, fl.webp_len, 64, 48, "level 2 given twice");
    assert_int_equal(modq_media_rendition(m, 2, &d, &n, &w, &h), MODQ_BLUR_OK);
    assert_int_equal(n, fl.webp_len);
    assert_memory_equal(d, fl.webp, n);
    assert_int_equal(w, 64);
    assert_int_equal(h, 48);
    assert_int_equal(modq_media_rendition_colour(m, 2, NULL, NULL, &w, &h), MODQ_BLUR_OK);
    assert_int_equal(w, 32);
    assert_int_equal(h, 24);
    assert_int_equal(modq_media_rendition(m, 1, NULL, NULL, NULL, NULL), MODQ_BLUR_ERR_INVALID_ARG);
    modq_media_free(m);

    /* When the one ladder is in colour, a colour level is that same level. */
    m = assembled(MODQ_FORMAT_WEBP, true);
    assert_int_equal(modq_media_put_rendition(m, 0, true, fl.webp, fl.webp_len, 64, 48, NULL, 0),
                     MODQ_BLUR_OK);
    assert_int_equal(modq_media_rendition(m, 0, NULL, &n, NULL, NULL), MODQ_BLUR_OK);
    assert_int_equal(n, fl.webp_len);
    expect_put_refused(m, 0, false, fl.webp, fl.webp_len, 64, 48, "level 0 given twice");
    modq_media_free(m);
    free_files(&fl);
}

static void test_parts_refuses_renditions_larger_than_the_display(void **state)
{
    files fl = some_files();
    modq_media *m = assembled(MODQ_FORMAT_WEBP, false);
    static const int sizes[][2] = {{641, 480}, {640, 481}, {0, 48},    {64, 0},
                                   {-1, 48},   {64, -48},  {100000, 1}};

    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        expect_put_refused(m, 1, false, fl.webp, fl.webp_len, sizes[i][0], sizes[i][1],
                           "outside the display size 640x480");
        expect_put_refused(m, 1, true, fl.webp, fl.webp_len, sizes[i][0], sizes[i][1],
                           "colour level 1 is");
    }
    /* The display size itself, and 1x1, are fine. */
    assert_int_equal(modq_media_put_rendition(m, 0, false, fl.webp, fl.webp_len, 640, 480, NULL, 0),
                     MODQ_BLUR_OK);
    assert_int_equal(modq_media_put_rendition(m, 3, false, fl.webp, fl.webp_len, 1, 1, NULL, 0),
                     MODQ_BLUR_OK);
    modq_media_free(m);
    free_files(&fl);
}

static void test_parts_refuses_bytes_not_of_the_rendition_format(void **state)
{
    files fl = some_files();
    modq_media *webp = assembled(MODQ_FORMAT_WEBP, false);
    modq_media *jpeg = assembled(MODQ_FORMAT_JPEG, false);
    static const uint8_t text[] = "<html><script>alert(1)</script></html>";
    static const uint8_t riff_wave[] = "RIFF\x10\0\0\0WAVEfmt ";
    static const uint8_t riff_short[] = "RIFF\x10\0\0\0WEB";
    static const uint8_t jpeg_short[] = {0xff, 0xd8};
    static const uint8_t jpeg_magic[] = {0xff, 0xd8, 0xff};

    (void)state;
    expect_put_refused(webp, 0, false, fl.jpeg, fl.jpeg_len, 64, 48, "not an image/webp file");
    expect_put_refused(webp, 0, false, fl.png, fl.png_len, 64, 48, "not an image/webp file");
    expect_put_refused(webp, 0, true, text, sizeof(text) - 1, 64, 48,
                       "colour level 0 is not an image/webp file");
    expect_put_refused(webp, 0, false, riff_wave, sizeof(riff_wave) - 1, 64, 48,
                       "not an image/webp file");
    expect_put_refused(webp, 0, false, riff_short, sizeof(riff_short) - 1, 64, 48,
                       "not an image/webp file");
    expect_put_refused(jpeg, 0, false, fl.webp, fl.webp_len, 64, 48, "not an image/jpeg file");
    expect_put_refused(jpeg, 0, false, fl.png, fl.png_len, 64, 48, "not an image/jpeg file");
    expect_put_refused(jpeg, 0, true, text, sizeof(text) - 1, 64, 48, "not an image/jpeg file");
    expect_put_refused(jpeg, 0, false, jpeg_short, sizeof(jpeg_short), 64, 48,
                       "not an image/jpeg file");
    /* Each takes its own format, however short (the magic bytes are all that is checked). */
    assert_int_equal(
        modq_media_put_rendition(webp, 0, false, fl.webp, fl.webp_len, 64, 48, NULL, 0),
        MODQ_BLUR_OK);
    assert_int_equal(
        modq_media_put_rendition(jpeg, 0, false, fl.jpeg, fl.jpeg_len, 64, 48, NULL, 0),
        MODQ_BLUR_OK);
    assert_int_equal(
        modq_media_put_rendition(jpeg, 1, false, jpeg_magic, sizeof(jpeg_magic), 64, 48, NULL, 0),
        MODQ_BLUR_OK);
    modq_media_free(webp);
    modq_media_free(jpeg);
    free_files(&fl);
}

static void test_parts_refuses_empty_and_oversized_renditions(void **state)
{
    files fl = some_files();
    modq_media *m = assembled(MODQ_FORMAT_WEBP, false);
    uint8_t *big = malloc(RENDITION_MAX + 1);

    (void)state;
    assert_non_null(big);
    /* An empty bytes field of a record reads as (NULL, 0): a refusal of the record, with its
     * reason, like any other. */
    expect_put_refused(m, 0, false, fl.webp, 0, 64, 48, "level 0 is empty");
    expect_put_refused(m, 0, false, NULL, 0, 64, 48, "level 0 is empty");
    expect_put_refused(m, 2, true, NULL, 0, 64, 48, "level 2 is empty");
    /* A WebP header on more bytes than a rendition may have. */
    memset(big, 0, RENDITION_MAX + 1);
    memcpy(big, fl.webp, fl.webp_len);
    expect_put_refused(m, 0, false, big, RENDITION_MAX + 1, 64, 48, "bytes >");
    /* At the cap, taken and copied. */
    assert_int_equal(modq_media_put_rendition(m, 0, false, big, RENDITION_MAX, 64, 48, NULL, 0),
                     MODQ_BLUR_OK);
    {
        const uint8_t *d;
        size_t n;
        assert_int_equal(modq_media_rendition(m, 0, &d, &n, NULL, NULL), MODQ_BLUR_OK);
        assert_int_equal(n, RENDITION_MAX);
        assert_ptr_not_equal(d, big);
        assert_memory_equal(d, big, n);
    }
    free(big);
    /* Not a refusal of the parts but of the call. */
    assert_int_equal(
        modq_media_put_rendition(NULL, 0, false, fl.webp, fl.webp_len, 64, 48, NULL, 0),
        MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_media_put_rendition(m, 1, false, NULL, 5, 64, 48, NULL, 0),
                     MODQ_BLUR_ERR_INVALID_ARG);
    modq_media_free(m);
    free_files(&fl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parts_copy_of_processed_media_is_identical),
        cmocka_unit_test(test_parts_facts_read_back_as_given),
        cmocka_unit_test(test_parts_refuses_facts_out_of_range),
        cmocka_unit_test(test_parts_assemble_wants_its_arguments),
        cmocka_unit_test(test_parts_refuses_levels_out_of_range_and_twice),
        cmocka_unit_test(test_parts_refuses_renditions_larger_than_the_display),
        cmocka_unit_test(test_parts_refuses_bytes_not_of_the_rendition_format),
        cmocka_unit_test(test_parts_refuses_empty_and_oversized_renditions),
    };
    return cmocka_run_group_tests(tests, tu_blur_setup, tu_blur_teardown);
}
