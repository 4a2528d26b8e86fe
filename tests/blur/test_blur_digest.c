/* test_blur_digest.c: SHA-256 and MD5 (blur/digest.c) against published test vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "modq_blur.h"

#include <stdlib.h>
#include <string.h>

static void check(const void *buf, size_t len, const char *want_sha, const char *want_md5)
{
    uint8_t sha[MODQ_SHA256_LEN], md5[MODQ_MD5_LEN];
    char hex[2 * MODQ_SHA256_LEN + 1];

    assert_int_equal(modq_digest_compute(buf, len, sha, md5), MODQ_BLUR_OK);
    modq_digest_hex(sha, MODQ_SHA256_LEN, hex);
    assert_string_equal(hex, want_sha);
    modq_digest_hex(md5, MODQ_MD5_LEN, hex);
    assert_string_equal(hex, want_md5);
}

/* FIPS 180-2 and RFC 1321 vectors. */
static void test_digest_matches_abc_vectors(void **state)
{
    (void)state;
    check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
          "900150983cd24fb0d6963f7d28e17f72");
}

static void test_digest_of_empty_input_matches_vectors(void **state)
{
    (void)state;
    check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
          "d41d8cd98f00b204e9800998ecf8427e");
}

/* A million 'a's spans many 64 KiB chunks, so the one-pass chunking is exercised. */
static void test_digest_of_million_a_spans_chunks(void **state)
{
    size_t n = 1000000;
    char *buf = malloc(n);

    (void)state;
    assert_non_null(buf);
    memset(buf, 'a', n);
    check(buf, n, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
          "7707d6ae4e027c70eea2a935c2296f21");
    free(buf);
}

static void test_digest_outputs_are_optional(void **state)
{
    uint8_t sha[MODQ_SHA256_LEN], md5[MODQ_MD5_LEN], sha2[MODQ_SHA256_LEN];

    (void)state;
    assert_int_equal(modq_digest_compute("abc", 3, sha, NULL), MODQ_BLUR_OK);
    assert_int_equal(modq_digest_compute("abc", 3, NULL, md5), MODQ_BLUR_OK);
    assert_int_equal(modq_digest_compute("abc", 3, sha2, md5), MODQ_BLUR_OK);
    assert_memory_equal(sha, sha2, sizeof(sha));
}

static void test_digest_rejects_null_buffer_with_length(void **state)
{
    uint8_t sha[MODQ_SHA256_LEN];

    (void)state;
    assert_int_equal(modq_digest_compute(NULL, 5, sha, NULL), MODQ_BLUR_ERR_INVALID_ARG);
}

static void test_digest_from_hex_round_trips_and_rejects(void **state)
{
    uint8_t out[4] = {9, 9, 9, 9}, back[4];
    char hex[9];

    (void)state;
    assert_int_equal(modq_digest_from_hex("00fFa5C3", out, 4), MODQ_BLUR_OK);
    modq_digest_hex(out, 4, hex);
    assert_string_equal(hex, "00ffa5c3");
    memcpy(back, out, 4);
    assert_int_equal(modq_digest_from_hex("00ffa5c", out, 4), MODQ_BLUR_ERR_PARSE);
    assert_int_equal(modq_digest_from_hex("00ffa5c3a", out, 4), MODQ_BLUR_ERR_PARSE);
    assert_int_equal(modq_digest_from_hex("00ffa5cg", out, 4), MODQ_BLUR_ERR_PARSE);
    assert_memory_equal(out, back, 4); /* untouched by failed parses */
    assert_int_equal(modq_digest_from_hex(NULL, out, 4), MODQ_BLUR_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_matches_abc_vectors),
        cmocka_unit_test(test_digest_of_empty_input_matches_vectors),
        cmocka_unit_test(test_digest_of_million_a_spans_chunks),
        cmocka_unit_test(test_digest_outputs_are_optional),
        cmocka_unit_test(test_digest_rejects_null_buffer_with_length),
        cmocka_unit_test(test_digest_from_hex_round_trips_and_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
