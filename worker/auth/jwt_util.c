/*
 * jwt_util.c: the helpers every part of the token library shares (see jwt_util.h): the reason
 * written to errstr, strict unpadded base64url both ways, and the check on identity names. Kept
 * apart from verification so that the claims, the keys and minting build on them alone.
 */
#include "jwt_util.h"

#include "modq_common.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

modq_jwt_result jwt_fail(char *errstr, size_t errstr_size, modq_jwt_result r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    modq_errstr_vset(errstr, errstr_size, fmt, ap);
    va_end(ap);
    return r;
}

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

size_t jwt_b64url_encoded_size(size_t n)
{
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0) + 1;
}

size_t jwt_b64url_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

bool jwt_b64url_decode(const char *in, size_t len, size_t max_out, unsigned char **out,
                       size_t *out_len)
{
    size_t rem = len % 4, n = len / 4 * 3 + (rem ? rem - 1 : 0), o = 0;
    unsigned char *buf = NULL;
    uint32_t acc = 0;
    unsigned bits = 0;
    bool ok = false;

    *out = NULL;
    *out_len = 0;
    if (rem == 1 || n > max_out) {
        goto out;
    }
    buf = malloc(n ? n : 1);
    if (!buf) {
        goto out;
    }
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0) {
            goto out;
        }
        acc = (acc << 6 | (uint32_t)v) & 0xffffu;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)(acc >> bits);
        }
    }
    /* Bits left over must be zero, or two strings would decode to the same bytes. */
    if (acc & ((1u << bits) - 1u)) {
        goto out;
    }
    ok = true;
out:
    if (!ok) {
        free(buf);
        return false;
    }
    *out = buf;
    *out_len = o;
    return true;
}

bool jwt_name_ok(const char *s, size_t n)
{
    if (n == 0 || n >= MODQ_JWT_MAX_NAME) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            return false;
        }
    }
    return true;
}
