/*
 * jwt.c: verifying a compact JWS (see jwt.h): splitting, the protected header (the algorithm is
 * pinned by configuration and by the kind of key, never taken on the token's word), and the
 * signature (HMAC-SHA256 compared in constant time, RSASSA-PKCS1-v1_5 and ECDSA P-256 through
 * EVP). The claims are in jwt_claims.c, the keys in jwt_keys.c, strict base64url in jwt_util.c.
 */
#include "jwt_impl.h"

#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const result_text[MODQ_JWT_RESULT_COUNT] = {
    [MODQ_JWT_OK] = "success",
    [MODQ_JWT_ERR_INVALID_ARG] = "invalid argument",
    [MODQ_JWT_ERR_NOMEM] = "out of memory",
    [MODQ_JWT_ERR_KEY] = "key material could not be used",
    [MODQ_JWT_ERR_MALFORMED] = "malformed token",
    [MODQ_JWT_ERR_ALG] = "algorithm not accepted",
    [MODQ_JWT_ERR_SIGNATURE] = "bad signature",
    [MODQ_JWT_ERR_EXPIRED] = "token expired",
    [MODQ_JWT_ERR_NOT_YET] = "token not yet valid",
    [MODQ_JWT_ERR_CLAIMS] = "claims not accepted",
};

const char *modq_jwt_strerror(modq_jwt_result r)
{
    return (unsigned)r < MODQ_JWT_RESULT_COUNT ? result_text[r] : "unknown error";
}

static bool has_key_of(const modq_jwt_keys *k, jwt_kind kind)
{
    for (size_t i = 0; i < k->nkeys; i++) {
        if (k->keys[i].kind == kind) {
            return true;
        }
    }
    return false;
}

static bool typ_ok(const char *typ)
{
    if (strncasecmp(typ, "application/", 12) == 0) {
        typ += 12;
    }
    return strcasecmp(typ, "JWT") == 0 || strcasecmp(typ, "at+jwt") == 0;
}

/* Checks the protected header; sets *alg to one MODQ_JWT_* bit and *kid (NULL when absent,
 * owned by h). Untrusted values are never copied into errstr. */
static modq_jwt_result check_header(const modq_jwt_keys *k, const json_t *h, unsigned *alg,
                                    const char **kid, char *errstr, size_t errstr_size)
{
    const json_t *v;
    const char *name;

    if (!json_is_object(h)) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_MALFORMED, "header is not a JSON object");
    }
    v = json_object_get(h, "alg");
    if (!v) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_ALG, "header has no alg");
    }
    if (!json_is_string(v)) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_MALFORMED, "alg is not a string");
    }
    name = json_string_value(v);
    if (strcmp(name, "HS256") == 0) {
        *alg = MODQ_JWT_HS256;
    } else if (strcmp(name, "RS256") == 0) {
        *alg = MODQ_JWT_RS256;
    } else if (strcmp(name, "ES256") == 0) {
        *alg = MODQ_JWT_ES256;
    } else {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_ALG,
                        "alg is not one of HS256, RS256, ES256");
    }
    name = *alg == MODQ_JWT_HS256 ? "HS256" : *alg == MODQ_JWT_RS256 ? "RS256" : "ES256";
    if (!(k->algorithms & *alg)) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_ALG, "alg %s is not allowed", name);
    }
    if ((*alg == MODQ_JWT_HS256 && !k->secret) ||
        (*alg == MODQ_JWT_RS256 && !has_key_of(k, JWT_KIND_RSA)) ||
        (*alg == MODQ_JWT_ES256 && !has_key_of(k, JWT_KIND_EC))) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_ALG, "no key for alg %s", name);
    }
    /* We implement no extension, and RFC 7515 says a listed one we do not know must fail. */
    if (json_object_get(h, "crit")) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_MALFORMED,
                        "header has crit: no extension is supported");
    }
    /* RFC 9068 access tokens say "at+jwt" (media types compare without case, and RFC 8725
     * allows the "application/" prefix to be present): an identity provider's access token is
     * what these are. Any other declared type (an ID token's "JWT" aside) is a token meant for
     * something else. */
    v = json_object_get(h, "typ");
    if (v && (!json_is_string(v) || !typ_ok(json_string_value(v)))) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_MALFORMED, "typ is not JWT or at+jwt");
    }
    v = json_object_get(h, "kid");
    *kid = NULL;
    if (v) {
        if (!json_is_string(v) || json_string_length(v) >= JWT_MAX_KID) {
            return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_MALFORMED,
                            "kid is not a string of at most %d bytes", JWT_MAX_KID - 1);
        }
        *kid = json_string_value(v);
    }
    return MODQ_JWT_OK;
}

static modq_jwt_result verify_hs256(const modq_jwt_keys *k, const char *input, size_t n,
                                    const unsigned char *sig, size_t sig_len, char *errstr,
                                    size_t errstr_size)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    modq_jwt_result r;

    if (sig_len != JWT_HS256_SIG_LEN) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_SIGNATURE,
                        "HS256 signature is %zu bytes, not %d", sig_len, JWT_HS256_SIG_LEN);
    }
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k->secret, k->secret_len,
                   (const unsigned char *)input, n, mac, sizeof mac, &mac_len) ||
        mac_len != JWT_HS256_SIG_LEN) {
        ERR_clear_error();
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "HMAC-SHA256 failed");
    } else if (CRYPTO_memcmp(mac, sig, JWT_HS256_SIG_LEN) != 0) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_SIGNATURE, "HS256 signature mismatch");
    } else {
        r = MODQ_JWT_OK;
    }
    OPENSSL_cleanse(mac, sizeof mac);
    return r;
}

/* The DER ECDSA-Sig-Value for a JOSE r || s. On true *der is owned by the caller
 * (OPENSSL_free). */
static bool es256_to_der(const unsigned char *sig, unsigned char **der, size_t *der_len)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, JWT_ES256_SIG_LEN / 2, NULL);
    BIGNUM *s = BN_bin2bn(sig + JWT_ES256_SIG_LEN / 2, JWT_ES256_SIG_LEN / 2, NULL);
    int len;
    bool ok = false;

    *der = NULL;
    if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
        goto out;
    }
    r = s = NULL; /* es owns them now */
    len = i2d_ECDSA_SIG(es, der);
    if (len <= 0) {
        goto out;
    }
    *der_len = (size_t)len;
    ok = true;
out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return ok;
}

/* 1 when pkey verifies sig over input with SHA-256, 0 when not, -1 on an internal failure. */
static int pkey_verify(EVP_PKEY *pkey, const char *input, size_t n, const unsigned char *sig,
                       size_t sig_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = -1;

    if (!ctx || EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, pkey, NULL) != 1) {
        goto out;
    }
    rc = EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input, n) == 1 ? 1 : 0;
out:
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

/* Tries the keys of one kind: those named by kid when one is, otherwise every one. */
static modq_jwt_result verify_public(const modq_jwt_keys *k, jwt_kind kind, const char *kid,
                                     const char *input, size_t n, const unsigned char *sig,
                                     size_t sig_len, char *errstr, size_t errstr_size)
{
    bool kid_known = false;
    size_t tried = 0;

    for (size_t i = 0; kid && i < k->nkeys; i++) {
        if (k->keys[i].kind == kind && k->keys[i].has_kid && strcmp(k->keys[i].kid, kid) == 0) {
            kid_known = true;
        }
    }
    for (size_t i = 0; i < k->nkeys; i++) {
        const jwt_pubkey *pk = &k->keys[i];
        int rc;

        if (pk->kind != kind) {
            continue;
        }
        /* An unknown kid may still be meant for a key that has none (a PEM key), never for a
         * key that names itself otherwise. */
        if (kid && (kid_known ? !pk->has_kid || strcmp(pk->kid, kid) != 0 : pk->has_kid)) {
            continue;
        }
        if (kind == JWT_KIND_RSA && sig_len != (size_t)EVP_PKEY_get_size(pk->pkey)) {
            continue;
        }
        tried++;
        rc = pkey_verify(pk->pkey, input, n, sig, sig_len);
        if (rc == 1) {
            return MODQ_JWT_OK;
        }
        if (rc < 0) {
            return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_NOMEM, "signature check failed");
        }
    }
    if (tried == 0) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_SIGNATURE,
                        kid ? "no key with the token's kid and a matching size"
                            : "no key of a matching size");
    }
    return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_SIGNATURE,
                    "signature does not verify with %zu key(s)", tried);
}

static modq_jwt_result verify_signature(const modq_jwt_keys *k, unsigned alg, const char *kid,
                                        const char *input, size_t n, const unsigned char *sig,
                                        size_t sig_len, char *errstr, size_t errstr_size)
{
    unsigned char *der = NULL;
    size_t der_len = 0;
    modq_jwt_result r;

    if (alg == MODQ_JWT_HS256) {
        return verify_hs256(k, input, n, sig, sig_len, errstr, errstr_size);
    }
    if (alg == MODQ_JWT_RS256) {
        return verify_public(k, JWT_KIND_RSA, kid, input, n, sig, sig_len, errstr, errstr_size);
    }
    /* JOSE ES256 is exactly r || s; a DER signature here is a different encoding, refused. */
    if (sig_len != JWT_ES256_SIG_LEN) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_SIGNATURE,
                        "ES256 signature is %zu bytes, not %d", sig_len, JWT_ES256_SIG_LEN);
    }
    if (!es256_to_der(sig, &der, &der_len)) {
        ERR_clear_error();
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_NOMEM, "out of memory");
    }
    r = verify_public(k, JWT_KIND_EC, kid, input, n, der, der_len, errstr, errstr_size);
    OPENSSL_free(der);
    return r;
}

modq_jwt_result modq_jwt_verify(const modq_jwt_keys *k, const char *token, int64_t now_s,
                                modq_jwt_claims *out, char *errstr, size_t errstr_size)
{
    const char *dot1, *dot2;
    unsigned char *hdr = NULL, *sig = NULL, *payload = NULL;
    size_t len, hdr_len, sig_len, payload_len;
    json_t *header = NULL;
    json_error_t jerr;
    const char *kid = NULL;
    unsigned alg = 0;
    modq_jwt_result r;

    if (out) {
        memset(out, 0, sizeof *out);
    }
    if (!k || !token || !out || now_s < 0 || now_s > JWT_MAX_DATE) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_INVALID_ARG, "invalid argument");
    }
    len = strnlen(token, MODQ_JWT_MAX_TOKEN + 1);
    if (len > MODQ_JWT_MAX_TOKEN) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_MALFORMED, "token longer than %d bytes",
                     MODQ_JWT_MAX_TOKEN);
        goto out;
    }
    dot1 = memchr(token, '.', len);
    dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token))) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_MALFORMED, "not three dot-separated parts");
        goto out;
    }
    if (!jwt_b64url_decode(token, (size_t)(dot1 - token), MODQ_JWT_MAX_TOKEN, &hdr, &hdr_len)) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_MALFORMED, "header is not base64url");
        goto out;
    }
    header = json_loadb((const char *)hdr, hdr_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!header) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_MALFORMED, "header is not JSON");
        goto out;
    }
    r = check_header(k, header, &alg, &kid, errstr, errstr_size);
    if (r != MODQ_JWT_OK) {
        goto out;
    }
    if (!jwt_b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), MODQ_JWT_MAX_TOKEN, &sig,
                           &sig_len)) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_MALFORMED, "signature is not base64url");
        goto out;
    }
    /* The signature covers the encoded header and payload exactly as they were sent. */
    r = verify_signature(k, alg, kid, token, (size_t)(dot2 - token), sig, sig_len, errstr,
                         errstr_size);
    if (r != MODQ_JWT_OK) {
        goto out;
    }
    if (!jwt_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), MODQ_JWT_MAX_TOKEN, &payload,
                           &payload_len)) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_MALFORMED, "payload is not base64url");
        goto out;
    }
    r = jwt_claims_check(k, payload, payload_len, now_s, out, errstr, errstr_size);
out:
    if (r != MODQ_JWT_OK) {
        memset(out, 0, sizeof *out);
    }
    json_decref(header);
    free(hdr);
    free(sig);
    free(payload);
    return r;
}
