/*
 * jwt.h: verifying and minting the bearer tokens of the review API (private to worker/), with
 * OpenSSL only. Compact JWS (RFC 7515/7519): HS256 (an HMAC secret), RS256 and ES256 (a PEM
 * public key, or the keys of a JWKS document, RFC 7517, chosen by "kid").
 *
 * The algorithm is pinned by configuration: a token's "alg" must be one the verifier was given
 * AND match the kind of key it is checked with, so "none", HS256-signed-with-the-public-key and
 * every other confusion fail. ES256 signatures are the 64-byte JOSE form (r || s). Claims checked:
 * exp (required), nbf and iat (when present; iat not in the future), iss and aud (when
 * configured; aud may be a string or an array), with a leeway. sub is required (1..63 bytes).
 *
 * Errors carry a precise reason in errstr for the log; the API answers every one with the same
 * 401 so nothing is leaked to the caller. Size caps: a token of at most MODQ_JWT_MAX_TOKEN bytes,
 * arrays of at most MODQ_JWT_MAX_LIST entries of at most 63 bytes each.
 *
 * Threads: a modq_jwt_keys is immutable after modq_jwt_keys_new and may be shared.
 */
#ifndef MODQ_WORKER_JWT_H
#define MODQ_WORKER_JWT_H

#include <stddef.h>
#include <stdint.h>

typedef enum modq_jwt_result {
    MODQ_JWT_OK = 0,
    MODQ_JWT_ERR_INVALID_ARG,
    MODQ_JWT_ERR_NOMEM,
    MODQ_JWT_ERR_KEY,       /* key material could not be read or parsed */
    MODQ_JWT_ERR_MALFORMED, /* not three base64url parts of JSON, too long, bad types */
    MODQ_JWT_ERR_ALG,       /* alg not allowed, or not the kind of the key ("none" always) */
    MODQ_JWT_ERR_SIGNATURE, /* no key verifies the signature */
    MODQ_JWT_ERR_EXPIRED,   /* exp passed (or missing) */
    MODQ_JWT_ERR_NOT_YET,   /* nbf or iat in the future */
    MODQ_JWT_ERR_CLAIMS,    /* wrong iss or aud, missing or bad sub, roles... */
    MODQ_JWT_RESULT_COUNT
} modq_jwt_result;

const char *modq_jwt_strerror(modq_jwt_result r);

#define MODQ_JWT_MAX_TOKEN 8192
#define MODQ_JWT_MAX_LIST  16
#define MODQ_JWT_MAX_NAME  64 /* bytes incl. NUL of sub, team, each list entry */
#define MODQ_JWT_LEEWAY_S  60

/* Algorithm bits. */
#define MODQ_JWT_HS256 (1u << 0)
#define MODQ_JWT_RS256 (1u << 1)
#define MODQ_JWT_ES256 (1u << 2)

typedef struct modq_jwt_key_opts {
    unsigned algorithms;         /* MODQ_JWT_* bits allowed; at least one */
    const unsigned char *secret; /* HS256 secret (at least 32 bytes), NULL when none */
    size_t secret_len;
    const char *public_key_file; /* PEM (RSA or EC P-256 public key), NULL or "" when none */
    const char *jwks_file;       /* JWKS JSON ("kty" RSA or EC/P-256), NULL or "" when none */
    const char *issuer;          /* required "iss" when non-empty */
    const char *audience;        /* required in "aud" when non-empty */
    int64_t leeway_s;            /* clock skew allowed; < 0 = MODQ_JWT_LEEWAY_S */
} modq_jwt_key_opts;

typedef struct modq_jwt_keys modq_jwt_keys;

/* Loads the key material (at least one of secret, public key, JWKS matching an allowed
 * algorithm). On OK *out is owned by the caller (modq_jwt_keys_free); errstr says why not.
 * Public keys must be RSA of 2048..8192 bits or EC P-256. A PEM key that is unreadable or of no
 * allowed algorithm is an error; JWKS keys that cannot be used (another kty or curve, "use" not
 * "sig", "alg" of another algorithm, too weak) are skipped, but one must load. The secret is kept
 * only when HS256 is allowed (ERR_KEY when shorter than 32 bytes). */
modq_jwt_result modq_jwt_keys_new(const modq_jwt_key_opts *opts, modq_jwt_keys **out, char *errstr,
                                  size_t errstr_size);
void modq_jwt_keys_free(modq_jwt_keys *k);

/* How many public keys (PEM and JWKS) were loaded, for the start-up log. */
size_t modq_jwt_keys_count(const modq_jwt_keys *k);

/* Role bits (the same values as modq_policy_role). Unknown role names are ignored. */
#define MODQ_JWT_ROLE_ASSOCIATE (1u << 0)
#define MODQ_JWT_ROLE_LEAD      (1u << 1)
#define MODQ_JWT_ROLE_QA        (1u << 2)

/* Verified claims. Plain data: the caller may keep it by value. */
typedef struct modq_jwt_claims {
    char sub[MODQ_JWT_MAX_NAME];
    char team[MODQ_JWT_MAX_NAME]; /* "" when absent */
    unsigned roles;               /* MODQ_JWT_ROLE_* bits; 0 is an ERR_CLAIMS */
    char skills[MODQ_JWT_MAX_LIST][MODQ_JWT_MAX_NAME]; /* "skills" then "locales" */
    size_t nskills;
    char opt_outs[MODQ_JWT_MAX_LIST][MODQ_JWT_MAX_NAME];
    size_t nopt_outs;
    int64_t exp; /* seconds */
} modq_jwt_claims;

/*
 * Verifies token (a compact JWS, without "Bearer ") at now_s (Unix seconds). A header "kid"
 * selects the keys with that kid; when no key has it, only keys without a kid (a PEM key) are
 * tried. Without a kid every key of the algorithm's kind is tried. On OK *out holds
 * the claims; otherwise *out is zeroed and errstr (may be NULL) says why, for the log.
 */
modq_jwt_result modq_jwt_verify(const modq_jwt_keys *k, const char *token, int64_t now_s,
                                modq_jwt_claims *out, char *errstr, size_t errstr_size);

/* What to put in a minted token. Lists may be NULL/0; strings other than sub may be NULL. */
typedef struct modq_jwt_mint_opts {
    const char *sub;
    const char *team;
    const char *const *roles; /* role names, e.g. "associate" */
    size_t nroles;
    const char *const *skills;
    size_t nskills;
    const char *const *locales;
    size_t nlocales;
    const char *const *opt_outs;
    size_t nopt_outs;
    const char *issuer;
    const char *audience;
    int64_t now_s;
    int64_t ttl_s; /* > 0 */
} modq_jwt_mint_opts;

/* Mints an HS256 token with secret (at least 32 bytes). On OK *out is a NUL-terminated malloc'd
 * string owned by the caller (free). */
modq_jwt_result modq_jwt_mint_hs256(const unsigned char *secret, size_t secret_len,
                                    const modq_jwt_mint_opts *opts, char **out, char *errstr,
                                    size_t errstr_size);

#endif
