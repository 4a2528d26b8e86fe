/*
 * test_blur_pdq.c: checks blur/pdq.c, the PDQ perceptual hash: the hex form and its word order,
 * distances and the match threshold, the dihedral variants against really rotated images, the
 * quality score, odd sizes and bad arguments. Agreement with the reference implementation's
 * published hashes is checked in test_blur_pdq_reference.c.
 */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "modq_blur.h"

#define BITS      (MODQ_PDQ_BYTES * 8)
#define PI        3.14159265358979323846
#define REF_MIN_Q 50 /* PDQ calls hashes below this quality unreliable */

/* ------------------------------------------------------------------------------------------
 * Synthetic images.
 */

/* A deterministic image with no symmetry: a diagonal ramp, an off-centre bright disc, stripes in
 * one quadrant and mild pseudo-random texture. Caller owns the result (free()). */
static float *make_asymmetric(int w, int h)
{
    float *p = malloc((size_t)w * (size_t)h * sizeof(*p));
    uint32_t seed = 12345u;

    assert_non_null(p);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            double fx = (double)x / w, fy = (double)y / h;
            double v = 40.0 + 60.0 * fx + 30.0 * fy * fy;
            double dx = fx - 0.3, dy = fy - 0.25;
            if (dx * dx + dy * dy < 0.02) {
                v += 90.0;
            }
            if (fx > 0.6 && fy > 0.55) {
                v += 40.0 * sin(fx * 40.0 + fy * 7.0);
            }
            seed = seed * 1103515245u + 12345u;
            v += (double)((seed >> 16) % 17) - 8.0;
            p[(size_t)y * w + x] = (float)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    return p;
}

/*
 * The image as variant v of the hash sees it, in the reference's naming: rotate 90 is
 * anticlockwise, flip x mirrors top to bottom, flip y left to right, flip +1 transposes and
 * flip -1 mirrors about the other diagonal. Per variant: whether output (x, y) reads source
 * (y, x), then whether that source x and y are mirrored. Caller owns the result (free()).
 */
static float *transform(const float *in, int w, int h, int v, int *ow, int *oh)
{
    static const int rule[MODQ_PDQ_DIHEDRAL][3] = {{0, 0, 0}, {1, 1, 0}, {0, 1, 1}, {1, 0, 1},
                                                   {0, 0, 1}, {0, 1, 0}, {1, 0, 0}, {1, 1, 1}};
    float *out = malloc((size_t)w * (size_t)h * sizeof(*out));

    assert_non_null(out);
    *ow = rule[v][0] ? h : w;
    *oh = rule[v][0] ? w : h;
    for (int y = 0; y < *oh; y++) {
        for (int x = 0; x < *ow; x++) {
            int sx = rule[v][0] ? y : x, sy = rule[v][0] ? x : y;
            sx = rule[v][1] ? w - 1 - sx : sx;
            sy = rule[v][2] ? h - 1 - sy : sy;
            out[(size_t)y * *ow + x] = in[(size_t)sy * w + sx];
        }
    }
    return out;
}

/*
 * A 64 x 64 image whose kept DCT block is exactly coef (up to rounding): the inverse transform
 * of coef over the published basis, on a mid-grey DC level that the hash ignores. A 64 x 64
 * input passes the downsample unchanged, so the hash bits are known in advance.
 */
static void image_from_block(double coef[16][16], float out[64 * 64])
{
    double d[16][64], scale = sqrt(2.0 / 64.0);

    for (int u = 0; u < 16; u++) {
        for (int k = 0; k < 64; k++) {
            d[u][k] = scale * cos(PI / 128.0 * (u + 1) * (2 * k + 1));
        }
    }
    for (int y = 0; y < 64; y++) {
        for (int x = 0; x < 64; x++) {
            double s = 128.0;
            for (int u = 0; u < 16; u++) {
                for (int v = 0; v < 16; v++) {
                    s += d[u][y] * coef[u][v] * d[v][x];
                }
            }
            out[y * 64 + x] = (float)s;
        }
    }
}

/* Coefficients with distinct magnitudes, positive in the first 8 columns (or rows). */
static void half_positive_block(double coef[16][16], int by_rows)
{
    for (int i = 0; i < 16; i++) {
        for (int j = 0; j < 16; j++) {
            double mag = 1.0 + 0.01 * (i * 16 + j);
            coef[i][j] = (by_rows ? i : j) < 8 ? mag : -mag;
        }
    }
}

static void hash_of(const float *luma, int w, int h, uint8_t hash[MODQ_PDQ_BYTES], int *quality,
                    uint8_t dih[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES])
{
    assert_int_equal(modq_pdq_hash_luma(luma, w, h, hash, quality, dih), MODQ_BLUR_OK);
}

/* ------------------------------------------------------------------------------------------
 * Hex form.
 */

static void test_hex_round_trip_is_lower_case_first_byte_first(void **state)
{
    uint8_t h[MODQ_PDQ_BYTES], back[MODQ_PDQ_BYTES];
    char hex[MODQ_PDQ_HEX_LEN + 1];

    (void)state;
    for (int i = 0; i < MODQ_PDQ_BYTES; i++) {
        h[i] = (uint8_t)(i * 37 + 0xa0);
    }
    modq_pdq_to_hex(h, hex);
    assert_int_equal(strlen(hex), MODQ_PDQ_HEX_LEN);
    assert_memory_equal(hex, "a0c5ea", 6);
    for (int i = 0; i < MODQ_PDQ_HEX_LEN; i++) {
        assert_true((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'));
    }
    assert_int_equal(modq_pdq_from_hex(hex, back), MODQ_BLUR_OK);
    assert_memory_equal(h, back, MODQ_PDQ_BYTES);
    for (int i = 0; i < MODQ_PDQ_HEX_LEN; i++) { /* either case parses */
        hex[i] = (hex[i] >= 'a' && hex[i] <= 'f') ? (char)(hex[i] - 'a' + 'A') : hex[i];
    }
    memset(back, 0, sizeof(back));
    assert_int_equal(modq_pdq_from_hex(hex, back), MODQ_BLUR_OK);
    assert_memory_equal(h, back, MODQ_PDQ_BYTES);
}

static void test_hex_rejects_wrong_length_and_non_hex(void **state)
{
    char good[MODQ_PDQ_HEX_LEN + 2], bad[MODQ_PDQ_HEX_LEN + 2];
    uint8_t h[MODQ_PDQ_BYTES], keep[MODQ_PDQ_BYTES];
    const char specials[] = {'g', 'G', ' ', '-', '+', 'x', '\n'};

    (void)state;
    memset(good, 'f', MODQ_PDQ_HEX_LEN);
    good[MODQ_PDQ_HEX_LEN] = '\0';
    assert_int_equal(modq_pdq_from_hex(good, h), MODQ_BLUR_OK);
    memset(keep, 0x5a, sizeof(keep));

    memcpy(h, keep, sizeof(h));
    assert_int_equal(modq_pdq_from_hex("", h), MODQ_BLUR_ERR_PARSE);
    memcpy(bad, good, sizeof(good));
    bad[MODQ_PDQ_HEX_LEN - 1] = '\0'; /* 63 digits */
    assert_int_equal(modq_pdq_from_hex(bad, h), MODQ_BLUR_ERR_PARSE);
    memcpy(bad, good, sizeof(good));
    bad[MODQ_PDQ_HEX_LEN] = '0'; /* 65 digits */
    bad[MODQ_PDQ_HEX_LEN + 1] = '\0';
    assert_int_equal(modq_pdq_from_hex(bad, h), MODQ_BLUR_ERR_PARSE);
    for (size_t k = 0; k < sizeof(specials); k++) {
        for (int pos = 0; pos < MODQ_PDQ_HEX_LEN; pos += 21) {
            memcpy(bad, good, sizeof(good));
            bad[pos] = specials[k];
            assert_int_equal(modq_pdq_from_hex(bad, h), MODQ_BLUR_ERR_PARSE);
        }
    }
    memcpy(bad, good, sizeof(good));
    bad[0] = '0', bad[1] = 'x'; /* a C prefix is not a digit */
    assert_int_equal(modq_pdq_from_hex(bad, h), MODQ_BLUR_ERR_PARSE);
    /* A failed parse leaves the output alone. */
    assert_memory_equal(h, keep, sizeof(keep));

    assert_int_equal(modq_pdq_from_hex(NULL, h), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_pdq_from_hex(good, NULL), MODQ_BLUR_ERR_INVALID_ARG);
}

/* The reference prints 16 words of 16 bits, word 15 (DCT row 15) first; bit j of word i is DCT
 * coefficient (i, j). Known blocks must come out as known strings. */
static void test_hash_bits_follow_reference_word_and_bit_order(void **state)
{
    double coef[16][16];
    float img[64 * 64];
    uint8_t h[MODQ_PDQ_BYTES], dih[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES];
    char hex[MODQ_PDQ_HEX_LEN + 1], want[MODQ_PDQ_HEX_LEN + 1];
    int q;

    (void)state;
    half_positive_block(coef, 0); /* columns 0..7 above the median: every word 0x00ff */
    image_from_block(coef, img);
    hash_of(img, 64, 64, h, &q, dih);
    modq_pdq_to_hex(h, hex);
    for (int i = 0; i < 16; i++) {
        memcpy(want + 4 * i, "00ff", 4);
    }
    want[MODQ_PDQ_HEX_LEN] = '\0';
    assert_string_equal(hex, want);
    /* Transposing (flip +1) moves the set bits to rows 0..7: words 0..7, printed last. */
    modq_pdq_to_hex(dih[6], hex);
    for (int i = 0; i < 16; i++) {
        memcpy(want + 4 * i, i < 8 ? "0000" : "ffff", 4);
    }
    assert_string_equal(hex, want);
    assert_memory_equal(dih[0], h, MODQ_PDQ_BYTES);

    half_positive_block(coef, 1);
    image_from_block(coef, img);
    hash_of(img, 64, 64, h, &q, NULL);
    modq_pdq_to_hex(h, hex);
    assert_string_equal(hex, want);
}

/* ------------------------------------------------------------------------------------------
 * Distances and matching.
 */

static void flip_bits(uint8_t h[MODQ_PDQ_BYTES], int n, int stride)
{
    for (int k = 0; k < n; k++) {
        int bit = (k * stride) % BITS;
        h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}

static void test_distance_counts_differing_bits(void **state)
{
    uint8_t a[MODQ_PDQ_BYTES], b[MODQ_PDQ_BYTES];

    (void)state;
    for (int i = 0; i < MODQ_PDQ_BYTES; i++) {
        a[i] = (uint8_t)(i * 91 + 7);
    }
    memcpy(b, a, sizeof(a));
    assert_int_equal(modq_pdq_distance(a, b), 0);
    for (int i = 0; i < MODQ_PDQ_BYTES; i++) {
        b[i] = (uint8_t)~a[i];
    }
    assert_int_equal(modq_pdq_distance(a, b), BITS);
    for (int n = 1; n <= BITS; n += 17) {
        memcpy(b, a, sizeof(a));
        flip_bits(b, n, 1); /* n distinct bits */
        assert_int_equal(modq_pdq_distance(a, b), n);
        assert_int_equal(modq_pdq_distance(b, a), n);
    }
    /* A caller bug reports more than any real distance, so it can never match. */
    assert_true(modq_pdq_distance(NULL, a) > BITS);
    assert_true(modq_pdq_distance(a, NULL) > BITS);
}

static void test_match_threshold_is_inclusive(void **state)
{
    uint8_t a[MODQ_PDQ_BYTES], b[MODQ_PDQ_BYTES];
    const int t = MODQ_PDQ_DEFAULT_THRESHOLD;

    (void)state;
    memset(a, 0x3c, sizeof(a));
    memcpy(b, a, sizeof(a));
    flip_bits(b, t, 7); /* 7 is coprime with 256: all positions distinct */
    assert_int_equal(modq_pdq_distance(a, b), t);
    assert_int_equal(modq_pdq_match(a, b, t), 1);
    assert_int_equal(modq_pdq_match(a, b, t - 1), 0);
    memcpy(b, a, sizeof(a));
    flip_bits(b, t + 1, 7);
    assert_int_equal(modq_pdq_distance(a, b), t + 1);
    assert_int_equal(modq_pdq_match(a, b, t), 0);
    assert_int_equal(modq_pdq_match(a, b, t + 1), 1);
    assert_int_equal(modq_pdq_match(a, a, 0), 1);
    assert_int_equal(modq_pdq_match(a, b, -1), 0);
    assert_int_equal(modq_pdq_match(NULL, b, BITS), 0);
    assert_int_equal(modq_pdq_match(a, NULL, BITS), 0);
}

static void test_distance_dihedral_takes_the_closest_variant(void **state)
{
    uint8_t probe[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES], cand[MODQ_PDQ_BYTES];

    (void)state;
    for (int v = 0; v < MODQ_PDQ_DIHEDRAL; v++) {
        memset(probe[v], 0x11 * (v + 1), MODQ_PDQ_BYTES);
    }
    memcpy(cand, probe[5], sizeof(cand));
    flip_bits(cand, 3, 5);
    assert_int_equal(modq_pdq_distance_dihedral((const uint8_t(*)[MODQ_PDQ_BYTES])probe, cand), 3);
    memcpy(cand, probe[0], sizeof(cand));
    assert_int_equal(modq_pdq_distance_dihedral((const uint8_t(*)[MODQ_PDQ_BYTES])probe, cand), 0);
    assert_true(modq_pdq_distance_dihedral(NULL, cand) > BITS);
}

/* ------------------------------------------------------------------------------------------
 * Hashing images.
 */

/*
 * The variants come from the DCT block alone; they must equal the hashes of the image really
 * rotated and flipped. 300 x 270 keeps the reference's filter symmetric (odd windows, sample
 * points off the pixel grid), so the correspondence is exact up to rounding. The wrong variant
 * must be far off, or this test could not fail.
 */
static void test_dihedral_variants_equal_hashes_of_transformed_images(void **state)
{
    const int w = 300, h = 270;
    float *img = make_asymmetric(w, h);
    uint8_t base[MODQ_PDQ_BYTES], dih[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES], t[MODQ_PDQ_BYTES];
    int q, qt;

    (void)state;
    hash_of(img, w, h, base, &q, dih);
    assert_true(q >= REF_MIN_Q);
    assert_memory_equal(base, dih[0], MODQ_PDQ_BYTES);
    for (int v = 0; v < MODQ_PDQ_DIHEDRAL; v++) {
        int ow, oh, d;
        float *x = transform(img, w, h, v, &ow, &oh);
        hash_of(x, ow, oh, t, &qt, NULL);
        d = modq_pdq_distance(t, dih[v]);
        print_message("variant %d: distance %d, quality %d vs %d\n", v, d, qt, q);
        assert_true(d <= 2);
        assert_true(abs(qt - q) <= 1);
        /* Any other variant is a different picture: near half the bits differ. */
        for (int o = 0; o < MODQ_PDQ_DIHEDRAL; o++) {
            if (o != v) {
                assert_true(modq_pdq_distance(t, dih[o]) > 64);
            }
        }
        free(x);
    }
    free(img);
}

static void test_quality_is_zero_when_flat_and_high_when_textured(void **state)
{
    const int w = 256, h = 192;
    float *img = malloc((size_t)w * h * sizeof(*img));
    uint8_t hash[MODQ_PDQ_BYTES];
    int q = -1;

    (void)state;
    assert_non_null(img);
    for (int i = 0; i < w * h; i++) {
        img[i] = 128.0f;
    }
    hash_of(img, w, h, hash, &q, NULL);
    assert_int_equal(q, 0);
    /* 16-pixel checkerboard: a full-scale edge every few samples. */
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            img[y * w + x] = ((x / 16 + y / 16) % 2) ? 255.0f : 0.0f;
        }
    }
    hash_of(img, w, h, hash, &q, NULL);
    assert_true(q >= 90 && q <= 100);
    free(img);
    img = make_asymmetric(w, h);
    hash_of(img, w, h, hash, &q, NULL);
    assert_true(q >= REF_MIN_Q && q <= 100);
    free(img);
}

/* Sides below 5 px are not hashed by the reference: an all-zero hash of quality 0, and OK. */
static void test_tiny_images_hash_without_error(void **state)
{
    static const int sizes[][2] = {{1, 1}, {1, 64}, {64, 1}, {63, 1}, {4, 4}, {4, 500}};
    float *img = make_asymmetric(500, 500);
    uint8_t hash[MODQ_PDQ_BYTES], dih[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES], zero[MODQ_PDQ_BYTES];
    int q;

    (void)state;
    memset(zero, 0, sizeof(zero));
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        memset(hash, 0xff, sizeof(hash));
        memset(dih, 0xff, sizeof(dih));
        q = -1;
        hash_of(img, sizes[k][0], sizes[k][1], hash, &q, dih);
        assert_int_equal(q, 0);
        assert_memory_equal(hash, zero, sizeof(zero));
        for (int v = 0; v < MODQ_PDQ_DIHEDRAL; v++) {
            assert_memory_equal(dih[v], zero, sizeof(zero));
        }
    }
    /* From 5 px up the image is hashed, however thin. */
    hash_of(img, 5, 5, hash, &q, dih);
    hash_of(img, 5, 499, hash, &q, dih);
    assert_true(modq_pdq_distance(hash, zero) > 0);
    hash_of(img, 499, 7, hash, &q, dih);
    assert_true(modq_pdq_distance(hash, zero) > 0);
    free(img);
}

/* Huge sizes must fail before a byte is read or allocated: the small buffer passed would make
 * any read beyond it an ASan error. */
static void test_null_zero_and_huge_arguments_are_rejected(void **state)
{
    float img[8 * 8] = {0};
    uint8_t hash[MODQ_PDQ_BYTES];
    int q;
    const int bad[][2] = {{0, 8},     {8, -1}, {INT_MAX, 8}, {8, INT_MAX}, {INT_MAX, INT_MAX},
                          {100001, 1}};

    (void)state;
    assert_int_equal(modq_pdq_hash_luma(NULL, 8, 8, hash, &q, NULL), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_pdq_hash_luma(img, 8, 8, NULL, &q, NULL), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_pdq_hash_luma(img, 8, 8, hash, NULL, NULL), MODQ_BLUR_ERR_INVALID_ARG);
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        assert_int_equal(modq_pdq_hash_luma(img, bad[k][0], bad[k][1], hash, &q, NULL),
                         MODQ_BLUR_ERR_INVALID_ARG);
    }
    assert_int_equal(modq_pdq_hash_luma(img, 8, 8, hash, &q, NULL), MODQ_BLUR_OK);
}

static void test_non_finite_luma_is_rejected(void **state)
{
    const int w = 80, h = 80;
    float *img = make_asymmetric(w, h);
    uint8_t hash[MODQ_PDQ_BYTES];
    int q;

    (void)state;
    img[40 * w + 40] = NAN;
    assert_int_equal(modq_pdq_hash_luma(img, w, h, hash, &q, NULL), MODQ_BLUR_ERR_INVALID_ARG);
    img[40 * w + 40] = INFINITY;
    assert_int_equal(modq_pdq_hash_luma(img, w, h, hash, &q, NULL), MODQ_BLUR_ERR_INVALID_ARG);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_round_trip_is_lower_case_first_byte_first),
        cmocka_unit_test(test_hex_rejects_wrong_length_and_non_hex),
        cmocka_unit_test(test_hash_bits_follow_reference_word_and_bit_order),
        cmocka_unit_test(test_distance_counts_differing_bits),
        cmocka_unit_test(test_match_threshold_is_inclusive),
        cmocka_unit_test(test_distance_dihedral_takes_the_closest_variant),
        cmocka_unit_test(test_dihedral_variants_equal_hashes_of_transformed_images),
        cmocka_unit_test(test_quality_is_zero_when_flat_and_high_when_textured),
        cmocka_unit_test(test_tiny_images_hash_without_error),
        cmocka_unit_test(test_null_zero_and_huge_arguments_are_rejected),
        cmocka_unit_test(test_non_finite_luma_is_rejected),
    };
    return cmocka_run_group_tests_name("pdq", tests, NULL, NULL);
}
