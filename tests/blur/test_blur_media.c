/*
 * test_blur_media.c: the per-item pipeline (blur/media.c): hashes agree with the bytes, the
 * caller's buffer is not kept, errors carry one line, rotated and flipped copies are caught by
 * the dihedral PDQ variants, and concurrent calls give identical results.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "modq_blur.h"
#include "testutil.h"

#include <vips/vips.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void test_media_hashes_are_those_of_the_original_bytes(void **state)
{
    size_t len;
    uint8_t *jpg = tu_synth(MODQ_SYNTH_SHAPES, 900, 700, 21, "jpeg", &len);
    modq_media_opts *opts = modq_opts_new();
    modq_media *m = NULL;
    uint8_t sha[MODQ_SHA256_LEN], md5[MODQ_MD5_LEN];
    char hex[65];
    uint8_t *copy = malloc(len);

    (void)state;
    memcpy(copy, jpg, len);
    assert_int_equal(modq_media_process(opts, copy, len, &m, NULL, 0), MODQ_BLUR_OK);
    /* The caller may wipe and free its bytes at once: nothing in m refers to them. */
    memset(copy, 0, len);
    free(copy);
    assert_int_equal(modq_digest_compute(jpg, len, sha, md5), MODQ_BLUR_OK);
    modq_digest_hex(sha, MODQ_SHA256_LEN, hex);
    assert_string_equal(modq_media_sha256_hex(m), hex);
    assert_memory_equal(modq_media_sha256(m), sha, MODQ_SHA256_LEN);
    modq_digest_hex(md5, MODQ_MD5_LEN, hex);
    assert_string_equal(modq_media_md5_hex(m), hex);
    assert_memory_equal(modq_media_md5(m), md5, MODQ_MD5_LEN);
    assert_int_equal(strlen(modq_media_pdq_hex(m)), MODQ_PDQ_HEX_LEN);
    assert_int_equal(modq_media_width(m), 900);
    assert_int_equal(modq_media_height(m), 700);
    assert_int_equal(modq_media_frames(m), 1);
    assert_string_equal(modq_media_format(m), "jpeg");
    {
        const uint8_t *d;
        size_t n;
        int w, h, b, c;
        assert_int_equal(modq_media_rendition(m, 3, &d, &n, NULL, NULL), MODQ_BLUR_OK);
        assert_int_equal(tu_probe(d, n, &w, &h, &b, &c), 0);
    }
    modq_media_free(m);
    modq_opts_free(opts);
    modq_synth_free(jpg);
}

static void test_media_failure_leaves_no_result_and_one_line(void **state)
{
    size_t len;
    uint8_t *png = tu_png_claiming(50000, 50000, &len);
    modq_media_opts *opts = modq_opts_new();
    modq_media *m = (modq_media *)1;
    char err[256];

    (void)state;
    assert_int_equal(modq_media_process(opts, png, len, &m, err, sizeof(err)),
                     MODQ_BLUR_ERR_TOO_MANY_PIXELS);
    assert_null(m);
    assert_null(strchr(err, '\n'));
    assert_string_equal(err, "too many pixels: 50000x50000 > 100000000");
    /* A tiny error buffer truncates, never overflows. */
    assert_int_equal(modq_media_process(opts, png, len, &m, err, 8), MODQ_BLUR_ERR_TOO_MANY_PIXELS);
    assert_int_equal(strlen(err), 7);
    assert_int_equal(modq_media_process(NULL, png, len, &m, NULL, 0), MODQ_BLUR_ERR_INVALID_ARG);
    modq_media_free(NULL);
    modq_opts_free(opts);
    free(png);
}

/* A rotated copy of an image is the same content: one of the probe's variants must match it. */
static void test_media_dihedral_variants_catch_rotated_copy(void **state)
{
    size_t len;
    uint8_t *png = tu_synth(MODQ_SYNTH_SHAPES, 640, 480, 22, "png", &len);
    VipsImage *img = vips_image_new_from_buffer(png, len, "", NULL), *rot = NULL;
    void *rbuf = NULL;
    size_t rlen = 0;
    modq_media_opts *opts = modq_opts_new();
    modq_media *a = NULL, *b = NULL;
    uint8_t probe[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES];

    (void)state;
    assert_int_equal(vips_rot(img, &rot, VIPS_ANGLE_D90, NULL), 0);
    assert_int_equal(vips_pngsave_buffer(rot, &rbuf, &rlen, NULL), 0);
    assert_int_equal(modq_media_process(opts, png, len, &a, NULL, 0), MODQ_BLUR_OK);
    assert_int_equal(modq_media_process(opts, rbuf, rlen, &b, NULL, 0), MODQ_BLUR_OK);
    for (int i = 0; i < MODQ_PDQ_DIHEDRAL; i++) {
        memcpy(probe[i], modq_media_pdq_dihedral(a, i), MODQ_PDQ_BYTES);
    }
    print_message("rotated copy: plain distance %d, dihedral distance %d\n",
                  modq_pdq_distance(probe[0], modq_media_pdq_dihedral(b, 0)),
                  modq_pdq_distance_dihedral(probe, modq_media_pdq_dihedral(b, 0)));
    assert_true(modq_pdq_distance(probe[0], modq_media_pdq_dihedral(b, 0)) > 31);
    /* A rotated copy is a near-exact match through its dihedral variant: well inside the bank
     * threshold (31), while the plain hash is far off. Measured: 10 bits (libvips without orc;
     * 8 with it: the two resize paths round differently). */
    assert_true(modq_pdq_distance_dihedral(probe, modq_media_pdq_dihedral(b, 0)) <= 16);
    assert_null(modq_media_pdq_dihedral(a, MODQ_PDQ_DIHEDRAL));
    modq_media_free(a);
    modq_media_free(b);
    modq_opts_free(opts);
    g_free(rbuf);
    VIPS_UNREF(img);
    VIPS_UNREF(rot);
    modq_synth_free(png);
}

/* A hash must not depend on how the media was rendered: banks built with `modq-media hash` are
 * matched against hashes the worker computes while rendering. */
static void test_media_pdq_is_the_same_whatever_the_options(void **state)
{
    size_t len;
    /* Noise puts many PDQ coefficients near the median, where the smallest difference in the
     * hash's input flips bits: smooth shapes would hide one. */
    uint8_t *jpg = tu_synth(MODQ_SYNTH_NOISE, 1800, 1200, 24, "jpeg", &len);
    modq_media_opts *opts = modq_opts_new();
    char first[MODQ_PDQ_HEX_LEN + 1] = "";
    static const int64_t settings[][2] = {{0xf, 0}, {0, 0}, {0xf, 1}, {0x8, 1}};

    (void)state;
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        modq_media *m = NULL;
        assert_int_equal(modq_opts_set(opts, MODQ_OPT_LEVELS, settings[i][0]), MODQ_BLUR_OK);
        assert_int_equal(modq_opts_set(opts, MODQ_OPT_COLOUR, settings[i][1]), MODQ_BLUR_OK);
        assert_int_equal(modq_media_process(opts, jpg, len, &m, NULL, 0), MODQ_BLUR_OK);
        if (i == 0) {
            memcpy(first, modq_media_pdq_hex(m), sizeof(first));
        }
        assert_string_equal(modq_media_pdq_hex(m), first);
        modq_media_free(m);
    }
    modq_opts_free(opts);
    modq_synth_free(jpg);
}

/* Deferred rendering gives exactly what rendering at once gives, from the same single decode. */
static void test_media_deferred_render_matches_direct(void **state)
{
    size_t len;
    uint8_t *jpg = tu_synth(MODQ_SYNTH_SHAPES, 1600, 1000, 25, "jpeg", &len);
    modq_media_opts *now = modq_opts_new(), *later = modq_opts_new();
    modq_media *a = NULL, *b = NULL, *c = NULL;

    (void)state;
    assert_int_equal(modq_opts_set(later, MODQ_OPT_DEFER_RENDER, 1), MODQ_BLUR_OK);
    assert_int_equal(modq_media_process(now, jpg, len, &a, NULL, 0), MODQ_BLUR_OK);
    assert_int_equal(modq_media_process(later, jpg, len, &b, NULL, 0), MODQ_BLUR_OK);
    assert_string_equal(modq_media_pdq_hex(a), modq_media_pdq_hex(b));
    /* Nothing is rendered until asked for. */
    assert_int_equal(modq_media_rendition(b, 0, NULL, NULL, NULL, NULL), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_media_render(b, now, NULL, 0), MODQ_BLUR_OK);
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        const uint8_t *da, *db;
        size_t na, nb;
        assert_int_equal(modq_media_rendition(a, lv, &da, &na, NULL, NULL), MODQ_BLUR_OK);
        assert_int_equal(modq_media_rendition(b, lv, &db, &nb, NULL, NULL), MODQ_BLUR_OK);
        assert_int_equal(na, nb);
        assert_memory_equal(da, db, na);
    }
    /* The kept image is gone after rendering, and can be dropped unrendered. */
    assert_int_equal(modq_media_render(b, now, NULL, 0), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_media_process(later, jpg, len, &c, NULL, 0), MODQ_BLUR_OK);
    modq_media_release_image(c);
    assert_int_equal(modq_media_render(c, now, NULL, 0), MODQ_BLUR_ERR_INVALID_ARG);
    modq_media_free(a);
    modq_media_free(b);
    modq_media_free(c);
    modq_opts_free(now);
    modq_opts_free(later);
    modq_synth_free(jpg);
}

typedef struct job {
    const uint8_t *buf;
    size_t len;
    const modq_media_opts *opts;
    char pdq[MODQ_PDQ_HEX_LEN + 1];
    size_t level0_len;
    modq_blur_result r;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    modq_media *m = NULL;

    j->r = modq_media_process(j->opts, j->buf, j->len, &m, NULL, 0);
    if (j->r == MODQ_BLUR_OK) {
        memcpy(j->pdq, modq_media_pdq_hex(m), sizeof(j->pdq));
        modq_media_rendition(m, 0, NULL, &j->level0_len, NULL, NULL);
    }
    modq_media_free(m);
    return NULL;
}

static void test_media_concurrent_calls_agree(void **state)
{
    enum { N = 4 };
    size_t len;
    uint8_t *jpg = tu_synth(MODQ_SYNTH_SHAPES, 1200, 900, 23, "jpeg", &len);
    modq_media_opts *opts = modq_opts_new();
    pthread_t th[N];
    job jobs[N];

    (void)state;
    for (int i = 0; i < N; i++) {
        jobs[i] = (job){.buf = jpg, .len = len, .opts = opts};
        assert_int_equal(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].r, MODQ_BLUR_OK);
        assert_string_equal(jobs[i].pdq, jobs[0].pdq);
        assert_int_equal(jobs[i].level0_len, jobs[0].level0_len);
    }
    modq_opts_free(opts);
    modq_synth_free(jpg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_media_hashes_are_those_of_the_original_bytes),
        cmocka_unit_test(test_media_failure_leaves_no_result_and_one_line),
        cmocka_unit_test(test_media_dihedral_variants_catch_rotated_copy),
        cmocka_unit_test(test_media_pdq_is_the_same_whatever_the_options),
        cmocka_unit_test(test_media_deferred_render_matches_direct),
        cmocka_unit_test(test_media_concurrent_calls_agree),
    };
    return cmocka_run_group_tests(tests, tu_blur_setup, tu_blur_teardown);
}
