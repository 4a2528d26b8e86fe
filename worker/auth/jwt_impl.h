/*
 * jwt_impl.h: the private layout of modq_jwt_keys and the helpers shared by jwt.c (verification),
 * jwt_claims.c (the claims), jwt_keys.c (loading key material) and jwt_mint.c (minting). Nothing
 * outside these files includes it.
 */
#ifndef MODQ_JWT_IMPL_H
#define MODQ_JWT_IMPL_H

#include "jwt.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>

#define JWT_MAX_JWKS      16                 /* members of a JWKS "keys" array */
#define JWT_MAX_KEYS      (1 + JWT_MAX_JWKS) /* public keys held: a PEM key and a JWKS's */
#define JWT_MAX_KID       256                /* bytes incl. NUL of a "kid" */
#define JWT_MAX_TEXT      256 /* bytes incl. NUL of the configured issuer and audience */
#define JWT_MAX_LEEWAY_S  86400
#define JWT_MAX_DATE      253402300799LL /* 9999-12-31T23:59:59Z: keeps date arithmetic exact */
#define JWT_MIN_SECRET    32
#define JWT_MIN_RSA_BITS  2048
#define JWT_MAX_RSA_BITS  8192
#define JWT_HS256_SIG_LEN 32
#define JWT_ES256_SIG_LEN 64 /* r || s, 32 bytes each */

typedef enum jwt_kind { JWT_KIND_RSA, JWT_KIND_EC } jwt_kind;

typedef struct jwt_pubkey {
    jwt_kind kind;
    bool has_kid;
    char kid[JWT_MAX_KID];
    EVP_PKEY *pkey; /* owned */
} jwt_pubkey;

struct modq_jwt_keys {
    unsigned algorithms;
    unsigned char *secret; /* owned, wiped before it is freed; NULL unless HS256 is allowed */
    size_t secret_len;
    jwt_pubkey keys[JWT_MAX_KEYS];
    size_t nkeys;
    char issuer[JWT_MAX_TEXT];
    char audience[JWT_MAX_TEXT];
    int64_t leeway_s;
};

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

/*
 * Checks the claims of a verified payload against k at now_s and fills *out (zeroed first).
 * The payload is JSON text of len bytes, not NUL-terminated.
 */
modq_jwt_result jwt_claims_check(const modq_jwt_keys *k, const unsigned char *payload, size_t len,
                                 int64_t now_s, modq_jwt_claims *out, char *errstr,
                                 size_t errstr_size);

#endif
