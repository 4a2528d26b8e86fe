/*
 * jwt_util.h: the helpers of jwt_util.c, shared by jwt.c (verification), jwt_claims.c,
 * jwt_keys.c and jwt_mint.c through jwt_impl.h. Nothing outside these files includes it.
 */
#ifndef MODQ_JWT_UTIL_H
#define MODQ_JWT_UTIL_H

#include "jwt.h"

#include <stdbool.h>
#include <stddef.h>

/* Writes a reason to errstr (which may be NULL) and returns r. */
modq_jwt_result jwt_fail(char *errstr, size_t errstr_size, modq_jwt_result r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Bytes needed to base64url-encode n bytes without padding, plus a NUL. */
size_t jwt_b64url_encoded_size(size_t n);

/* Encodes n bytes at in into out (jwt_b64url_encoded_size(n) bytes), NUL-terminated, no padding.
 * Returns the length written without the NUL. */
size_t jwt_b64url_encode(const unsigned char *in, size_t n, char *out);

/*
 * Decodes len characters of unpadded base64url. Strict: any character outside [A-Za-z0-9_-],
 * padding, a length of 1 mod 4 or non-zero unused bits fail, so each byte string has exactly
 * one encoding. On true *out is malloc'd (at least 1 byte even when *out_len is 0) and owned by
 * the caller (free); max_out caps the decoded size.
 */
bool jwt_b64url_decode(const char *in, size_t len, size_t max_out, unsigned char **out,
                       size_t *out_len);

/* 1 when the n bytes at s are 1..MODQ_JWT_MAX_NAME-1 bytes with no control characters. */
bool jwt_name_ok(const char *s, size_t n);

#endif
