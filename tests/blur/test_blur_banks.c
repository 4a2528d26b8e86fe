/*
 * test_blur_banks.c: hash banks (blur/banks.c): file format and its errors, all-or-nothing
 * loading, exact SHA-256/MD5 matches, PDQ matches at the threshold boundary, rotated copies, the
 * quality gate, and a bank large enough for the index's wide layout matching as a scan does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "modq_blur.h"
#include "pdq_testutil.h"

#include <vips/vips.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
    char dir[64];
    modq_banks *b;
    char err[512];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || modq_blur_init("test") != MODQ_BLUR_OK) {
        return -1;
    }
    memcpy(f->dir, "/tmp/modq-banks-XXXXXX", sizeof("/tmp/modq-banks-XXXXXX"));
    if (!mkdtemp(f->dir) || !(f->b = modq_banks_new())) {
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];

    modq_banks_free(f->b);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) {
        return -1;
    }
    free(f);
    return 0;
}

/* Writes text to DIR/name; returns the path in a static-free buffer owned by the fixture. */
static const char *bank_file(fixture *f, const char *name, const char *text, char *path,
                             size_t path_size)
{
    FILE *fp;

    snprintf(path, path_size, "%s/%s", f->dir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    fclose(fp);
    return path;
}

static void unhex(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

#define SHA_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define MD5_A "900150983cd24fb0d6963f7d28e17f72"

static void test_banks_match_exact_sha256_and_md5(void **state)
{
    fixture *f = *state;
    char path[256];
    const char *labels[] = {"csam", "ncmec"};
    uint8_t sha[32], md5[16], other[32] = {0};
    modq_bank_match m;

    bank_file(f, "exact.txt",
              "# known items\n\nsha256 " SHA_A "  first seen 2026-01-02\nmd5," MD5_A "\n", path,
              sizeof(path));
    assert_int_equal(
        modq_banks_load(f->b, "ncmec-sample", path, 4, labels, 2, 31, f->err, sizeof(f->err)),
        MODQ_BLUR_OK);
    assert_int_equal(modq_banks_count(f->b), 2);
    unhex(SHA_A, sha, 32);
    unhex(MD5_A, md5, 16);
    assert_int_equal(modq_banks_match(f->b, sha, NULL, NULL, 0, &m), 1);
    assert_string_equal(m.bank, "ncmec-sample");
    assert_int_equal(m.verdict, 4);
    assert_int_equal(m.labels_count, 2);
    assert_string_equal(m.labels[1], "ncmec");
    assert_int_equal(m.type, MODQ_BANK_SHA256);
    assert_string_equal(m.hash_hex, SHA_A);
    assert_int_equal(m.distance, 0);
    assert_int_equal(modq_banks_match(f->b, other, md5, NULL, 0, &m), 1);
    assert_int_equal(m.type, MODQ_BANK_MD5);
    assert_string_equal(m.hash_hex, MD5_A);
    other[0] = 1;
    assert_int_equal(modq_banks_match(f->b, other, other, NULL, 0, &m), 0);
}

/* A PDQ hash at distance d from base: the first d bits flipped. */
static void flip_bits(const uint8_t *base, int d, uint8_t *out)
{
    memcpy(out, base, MODQ_PDQ_BYTES);
    for (int i = 0; i < d; i++) {
        out[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
}

static void test_banks_pdq_threshold_is_inclusive(void **state)
{
    fixture *f = *state;
    uint8_t base[MODQ_PDQ_BYTES], probe[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES];
    char hex[MODQ_PDQ_HEX_LEN + 1], text[128], path[256];
    modq_bank_match m;

    for (int i = 0; i < MODQ_PDQ_BYTES; i++) {
        base[i] = (uint8_t)(i * 37 + 11);
    }
    modq_pdq_to_hex(base, hex);
    snprintf(text, sizeof(text), "pdq %s\n", hex);
    bank_file(f, "pdq.txt", text, path, sizeof(path));
    assert_int_equal(modq_banks_load(f->b, "te", path, 2, NULL, 0, 31, f->err, sizeof(f->err)),
                     MODQ_BLUR_OK);
    /* Make every variant of the probe far away except variant 0. */
    for (int v = 0; v < MODQ_PDQ_DIHEDRAL; v++) {
        for (int i = 0; i < MODQ_PDQ_BYTES; i++) {
            probe[v][i] = (uint8_t)~base[i];
        }
    }
    flip_bits(base, 31, probe[0]);
    assert_int_equal(modq_banks_match(f->b, NULL, NULL, probe, 100, &m), 1);
    assert_int_equal(m.distance, 31);
    assert_int_equal(m.type, MODQ_BANK_PDQ);
    assert_string_equal(m.hash_hex, hex);
    flip_bits(base, 32, probe[0]);
    assert_int_equal(modq_banks_match(f->b, NULL, NULL, probe, 100, &m), 0);
    /* A match found through another variant counts the same. */
    flip_bits(base, 3, probe[5]);
    assert_int_equal(modq_banks_match(f->b, NULL, NULL, probe, 100, &m), 1);
    assert_int_equal(m.distance, 3);
    /* Low-quality probes are noise: never matched, however close. */
    assert_int_equal(modq_banks_match(f->b, NULL, NULL, probe, MODQ_BANKS_MIN_PDQ_QUALITY - 1, &m),
                     0);
}

/* Exact beats perceptual, and the closest PDQ across banks wins. */
static void test_banks_prefer_exact_then_closest(void **state)
{
    fixture *f = *state;
    uint8_t base[MODQ_PDQ_BYTES], near[MODQ_PDQ_BYTES], far[MODQ_PDQ_BYTES];
    uint8_t probe[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES], sha[32];
    char hn[65], hf[65], text[256], path[256];
    modq_bank_match m;

    memset(base, 0x5a, sizeof(base));
    flip_bits(base, 4, near);
    flip_bits(base, 20, far);
    modq_pdq_to_hex(near, hn);
    modq_pdq_to_hex(far, hf);
    snprintf(text, sizeof(text), "pdq %s\n", hf);
    bank_file(f, "far.txt", text, path, sizeof(path));
    assert_int_equal(modq_banks_load(f->b, "far", path, 2, NULL, 0, 31, f->err, sizeof(f->err)),
                     MODQ_BLUR_OK);
    snprintf(text, sizeof(text), "pdq %s\nsha256 %s\n", hn, SHA_A);
    bank_file(f, "near.txt", text, path, sizeof(path));
    assert_int_equal(modq_banks_load(f->b, "near", path, 3, NULL, 0, 31, f->err, sizeof(f->err)),
                     MODQ_BLUR_OK);
    for (int v = 0; v < MODQ_PDQ_DIHEDRAL; v++) {
        memcpy(probe[v], base, MODQ_PDQ_BYTES);
    }
    assert_int_equal(modq_banks_match(f->b, NULL, NULL, probe, 100, &m), 1);
    assert_string_equal(m.bank, "near");
    assert_int_equal(m.distance, 4);
    unhex(SHA_A, sha, 32);
    assert_int_equal(modq_banks_match(f->b, sha, NULL, probe, 100, &m), 1);
    assert_int_equal(m.type, MODQ_BANK_SHA256);
}

/* The real pipeline: a bank holding an image's PDQ catches the image rotated by 90 degrees. */
static void test_banks_catch_rotated_copy_through_pipeline(void **state)
{
    fixture *f = *state;
    uint8_t *png = NULL;
    size_t len;
    VipsImage *img = NULL, *rot = NULL;
    void *rbuf = NULL;
    size_t rlen;
    modq_media_opts *opts = modq_opts_new();
    modq_media *a = NULL, *b = NULL;
    char text[128], path[256];
    modq_bank_match m;

    assert_int_equal(modq_synth_image(MODQ_SYNTH_SHAPES, 640, 480, 5, "png", &png, &len),
                     MODQ_BLUR_OK);
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_LEVELS, 0), MODQ_BLUR_OK);
    assert_int_equal(modq_media_process(opts, png, len, &a, NULL, 0), MODQ_BLUR_OK);
    snprintf(text, sizeof(text), "pdq %s\n", modq_media_pdq_hex(a));
    bank_file(f, "known.txt", text, path, sizeof(path));
    assert_int_equal(modq_banks_load(f->b, "known", path, 2, NULL, 0, 31, f->err, sizeof(f->err)),
                     MODQ_BLUR_OK);

    img = vips_image_new_from_buffer(png, len, "", NULL);
    assert_int_equal(vips_rot(img, &rot, VIPS_ANGLE_D270, NULL), 0);
    assert_int_equal(vips_pngsave_buffer(rot, &rbuf, &rlen, NULL), 0);
    assert_int_equal(modq_media_process(opts, rbuf, rlen, &b, NULL, 0), MODQ_BLUR_OK);
    assert_int_equal(modq_banks_match(f->b, modq_media_sha256(b), NULL, modq_media_pdq_variants(b),
                                      modq_media_pdq_quality(b), &m),
                     1);
    assert_int_equal(m.type, MODQ_BANK_PDQ);
    assert_true(m.distance <= 8);
    modq_media_free(a);
    modq_media_free(b);
    modq_opts_free(opts);
    g_free(rbuf);
    VIPS_UNREF(img);
    VIPS_UNREF(rot);
    modq_synth_free(png);
}

static void test_banks_reject_bad_lines_with_file_and_line(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *text, *why;
    } cases[] = {
        {"sha256 " SHA_A "\nsha1 abcd\n", ":2: unknown hash type"},
        {"sha256 abc\n", ":1: sha256 needs 64 hex digits"},
        {"# c\nmd5 " SHA_A "\n", ":2: md5 needs 32 hex digits"},
        {"pdq zz" SHA_A "\n", ":1: pdq needs 64 hex digits"},
        {"\n\nsha256\n", ":3: expected TYPE HEX"},
    };
    char path[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bank_file(f, "bad.txt", cases[i].text, path, sizeof(path));
        assert_int_equal(modq_banks_load(f->b, "bad", path, 2, NULL, 0, 31, f->err, sizeof(f->err)),
                         MODQ_BLUR_ERR_PARSE);
        assert_non_null(strstr(f->err, path));
        assert_non_null(strstr(f->err, cases[i].why));
    }
    /* All or nothing: the good first line of case 0 was not kept. */
    assert_int_equal(modq_banks_count(f->b), 0);
    assert_int_equal(modq_banks_load(f->b, "none", "/nonexistent/bank.txt", 2, NULL, 0, 31, f->err,
                                     sizeof(f->err)),
                     MODQ_BLUR_ERR_IO);
    /* Past 31, PDQ no longer tells copies from unrelated images; the index searches up to 31. */
    assert_int_equal(modq_banks_load(f->b, "x", path, 2, NULL, 0, 32, f->err, sizeof(f->err)),
                     MODQ_BLUR_ERR_INVALID_ARG);
}

static void test_banks_reject_overlong_line(void **state)
{
    fixture *f = *state;
    char *text = malloc(10000), path[256];

    memset(text, 'a', 9998);
    text[9998] = '\n';
    text[9999] = '\0';
    bank_file(f, "long.txt", text, path, sizeof(path));
    assert_int_equal(modq_banks_load(f->b, "long", path, 2, NULL, 0, 31, f->err, sizeof(f->err)),
                     MODQ_BLUR_ERR_PARSE);
    assert_non_null(strstr(f->err, ":1: line longer than"));
    free(text);
}

/* Two banks (thresholds 31 and 12) of random PDQ hashes with neighbours of 40 probes planted at
 * random distances 0..40 from a random variant, written as files and loaded; every probe's match
 * is the one a scan of the files in order finds: the closest within its bank's threshold, the
 * first bank and then the first line on a tie. */
static void test_banks_match_as_a_scan_does(void **state)
{
    enum { NPROBES = 40, NRANDOM = 6000, NBANKS = 2 };
    static const int threshold[NBANKS] = {31, 12};
    fixture *f = *state;
    uint8_t(*probes)[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES] = malloc(NPROBES * sizeof(*probes));
    uint8_t(*hashes)[NRANDOM + NPROBES][MODQ_PDQ_BYTES] = malloc(NBANKS * sizeof(*hashes));
    uint64_t s = 7;
    char path[256], name[8];
    int matched = 0;

    assert_non_null(probes);
    assert_non_null(hashes);
    for (size_t i = 0; i < NPROBES * sizeof(*probes); i++) {
        ((uint8_t *)probes)[i] = (uint8_t)pt_rnd(&s);
    }
    for (int k = 0; k < NBANKS; k++) {
        FILE *fp;
        snprintf(path, sizeof(path), "%s/scan%d.txt", f->dir, k);
        assert_non_null(fp = fopen(path, "w"));
        for (int i = 0; i < NRANDOM + NPROBES; i++) {
            char hex[MODQ_PDQ_HEX_LEN + 1];
            uint8_t *h = hashes[k][i];
            if (i % (NRANDOM / NPROBES + 1) == 0 && i / (NRANDOM / NPROBES + 1) < NPROBES) {
                int p = i / (NRANDOM / NPROBES + 1), d = (int)(pt_rnd(&s) % 41);
                memcpy(h, probes[p][pt_rnd(&s) % MODQ_PDQ_DIHEDRAL], MODQ_PDQ_BYTES);
                for (int b = 0; b < d; b++) {
                    h[pt_rnd(&s) % 32] ^= (uint8_t)(1u << (pt_rnd(&s) % 8)); /* at most d apart */
                }
            } else {
                for (int b = 0; b < MODQ_PDQ_BYTES; b++) {
                    h[b] = (uint8_t)pt_rnd(&s);
                }
            }
            modq_pdq_to_hex(h, hex);
            fprintf(fp, "pdq %s\n", hex);
        }
        fclose(fp);
        snprintf(name, sizeof(name), "b%d", k);
        assert_int_equal(
            modq_banks_load(f->b, name, path, 2, NULL, 0, threshold[k], f->err, sizeof(f->err)),
            MODQ_BLUR_OK);
    }
    for (int p = 0; p < NPROBES; p++) {
        int best = 99, best_k = -1, best_i = -1, got;
        modq_bank_match m;
        char hex[MODQ_PDQ_HEX_LEN + 1];

        for (int k = 0; k < NBANKS; k++) {
            for (int i = 0; i < NRANDOM + NPROBES; i++) {
                int d = modq_pdq_distance_dihedral((const uint8_t(*)[MODQ_PDQ_BYTES])probes[p],
                                                   hashes[k][i]);
                if (d <= threshold[k] && d < best) {
                    best = d, best_k = k, best_i = i;
                }
            }
        }
        got = modq_banks_match(f->b, NULL, NULL, (const uint8_t(*)[MODQ_PDQ_BYTES])probes[p], 100,
                               &m);
        assert_int_equal(got, best_k >= 0);
        if (got) {
            snprintf(name, sizeof(name), "b%d", best_k);
            modq_pdq_to_hex(hashes[best_k][best_i], hex);
            assert_string_equal(m.bank, name);
            assert_int_equal(m.distance, best);
            assert_string_equal(m.hash_hex, hex);
            matched++;
        }
    }
    print_message("%d of %d probes matched, each as the scan\n", matched, NPROBES);
    assert_true(matched > NPROBES / 4);
    free(probes);
    free(hashes);
}

/* Every match, even when the index reports each close hash once per chunk that finds it: 1000
 * hashes within 8 bits of the probe are all listed, each once, nearest first. */
static void test_banks_match_all_lists_every_close_hash(void **state)
{
    enum { N = 1000 };
    fixture *f = *state;
    uint8_t probe[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES], h[MODQ_PDQ_BYTES];
    char hex[MODQ_PDQ_HEX_LEN + 1], path[256];
    modq_bank_match *m = calloc(MODQ_BANKS_MAX_MATCHES, sizeof(*m));
    uint64_t s = 99;
    FILE *fp;
    size_t n;

    assert_non_null(m);
    for (int v = 0; v < MODQ_PDQ_DIHEDRAL; v++) {
        pt_random_hash(&s, probe[v]);
    }
    snprintf(path, sizeof(path), "%s/close.txt", f->dir);
    assert_non_null(fp = fopen(path, "w"));
    for (int i = 0; i < N; i++) {
        memcpy(h, probe[0], sizeof h);
        pt_flip_bits(&s, h, 1 + i % 8);
        modq_pdq_to_hex(h, hex);
        fprintf(fp, "pdq %s\n", hex);
    }
    fclose(fp);
    assert_int_equal(modq_banks_load(f->b, "close", path, 2, NULL, 0, 31, f->err, sizeof(f->err)),
                     MODQ_BLUR_OK);
    n = modq_banks_match_all(f->b, NULL, NULL, (const uint8_t(*)[MODQ_PDQ_BYTES])probe, 100, m,
                             MODQ_BANKS_MAX_MATCHES);
    assert_int_equal(n, N);
    for (size_t i = 1; i < n; i++) {
        assert_true(m[i - 1].distance <= m[i].distance);
        assert_true(m[i].distance >= 1 && m[i].distance <= 8);
    }
    free(m);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_banks_match_exact_sha256_and_md5),
        T(test_banks_pdq_threshold_is_inclusive),
        T(test_banks_prefer_exact_then_closest),
        T(test_banks_catch_rotated_copy_through_pipeline),
        T(test_banks_reject_bad_lines_with_file_and_line),
        T(test_banks_reject_overlong_line),
        T(test_banks_match_as_a_scan_does),
        T(test_banks_match_all_lists_every_close_hash),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    modq_blur_shutdown();
    return failed;
}
