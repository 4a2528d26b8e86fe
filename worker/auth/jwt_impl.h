/*
 * jwt_impl.h: the private layout of modq_jwt_keys shared by jwt.c (verification), jwt_claims.c
 * (the claims), jwt_keys.c (loading key material) and jwt_mint.c (minting), with the helpers of
 * jwt_util.h. Nothing outside these files includes it.
 */
#ifndef MODQ_JWT_IMPL_H
#define MODQ_JWT_IMPL_H

#include "jwt.h"
#include "jwt_util.h"

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

/*
 * Checks the claims of a verified payload against k at now_s and fills *out (zeroed first).
 * The payload is JSON text of len bytes, not NUL-terminated.
 */
modq_jwt_result jwt_claims_check(const modq_jwt_keys *k, const unsigned char *payload, size_t len,
                                 int64_t now_s, modq_jwt_claims *out, char *errstr,
                                 size_t errstr_size);

#endif
