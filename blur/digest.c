/*
 * digest.c: SHA-256 and MD5 of the original bytes with OpenSSL EVP. MD5 is here only because
 * industry hash lists still carry it; nothing in modq relies on it for integrity.
 */
#include "modq_blur.h"

#include <openssl/evp.h>

#include <string.h>

/* Both digests are fed the same chunk while it is in cache: one pass over a large input. */
#define CHUNK (64 * 1024)

modq_blur_result modq_digest_compute(const void *buf, size_t len, uint8_t sha256[MODQ_SHA256_LEN],
                                     uint8_t md5[MODQ_MD5_LEN])
{
    const uint8_t *p = buf;
    EVP_MD_CTX *sctx = NULL, *mctx = NULL;
    modq_blur_result r = MODQ_BLUR_ERR_DIGEST;
    unsigned int n;

    if (!buf && len > 0) {
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    if (sha256 &&
        (!(sctx = EVP_MD_CTX_new()) || EVP_DigestInit_ex(sctx, EVP_sha256(), NULL) != 1)) {
        goto out;
    }
    if (md5 && (!(mctx = EVP_MD_CTX_new()) || EVP_DigestInit_ex(mctx, EVP_md5(), NULL) != 1)) {
        goto out;
    }
    for (size_t off = 0; off < len; off += CHUNK) {
        size_t take = len - off < CHUNK ? len - off : CHUNK;
        if (sctx && EVP_DigestUpdate(sctx, p + off, take) != 1) {
            goto out;
        }
        if (mctx && EVP_DigestUpdate(mctx, p + off, take) != 1) {
            goto out;
        }
    }
    if (sctx && (EVP_DigestFinal_ex(sctx, sha256, &n) != 1 || n != MODQ_SHA256_LEN)) {
        goto out;
    }
    if (mctx && (EVP_DigestFinal_ex(mctx, md5, &n) != 1 || n != MODQ_MD5_LEN)) {
        goto out;
    }
    r = MODQ_BLUR_OK;
out:
    EVP_MD_CTX_free(sctx);
    EVP_MD_CTX_free(mctx);
    return r;
}

void modq_digest_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0xf];
    }
    out[2 * n] = '\0';
}

/* 0..15 for a hex digit of either case, -1 for anything else: a table, because bank files of
 * millions of lines are parsed through here. */
static const int8_t hex_values[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* The table holds value + 1, so that its zeroes (every other byte) read as -1. */
static int hex_value(char c)
{
    return hex_values[(unsigned char)c] - 1;
}

modq_blur_result modq_digest_from_hex(const char *hex, uint8_t *out, size_t n)
{
    uint8_t tmp[64];

    if (!hex || !out || n > sizeof tmp) {
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    /* A failed parse leaves out as it was: the bytes go through tmp. The loop stops at the NUL
     * (not a digit) of a string that is too short. */
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(hex[2 * i]), lo = hi < 0 ? -1 : hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return MODQ_BLUR_ERR_PARSE;
        }
        tmp[i] = (uint8_t)(hi << 4 | lo);
    }
    if (hex[2 * n] != '\0') {
        return MODQ_BLUR_ERR_PARSE;
    }
    memcpy(out, tmp, n);
    return MODQ_BLUR_OK;
}
