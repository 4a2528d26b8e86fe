/*
 * fuzz_jwt.c: bearer-token verification (modq_jwt_verify) and JWKS loading (modq_jwt_keys_new).
 *
 * Input: a mode byte, then
 *   mode 0: a token as sent after "Bearer ", checked with an HS256 secret, an RSA PEM key and an
 *           EC JWKS (keys made at start);
 *   mode 1: a key byte (HS256, RS256 or ES256 with kid "e1"), a header JSON, a NUL and a payload
 *           JSON, which the harness encodes and signs with that key, so that the fuzzer reaches
 *           the header and claim checks behind a valid signature;
 *   mode 2: a JWKS document, loaded as jwt.jwks_file.
 * Invariants: a refused token leaves the claims zeroed; an accepted one has a sub of 1..63 bytes
 * equal to the payload's, some role, and an exp not before now minus the leeway; a JWKS that
 * loads has a key.
 */
#include "fuzz_util.h"
#include "auth/jwt.h"
#include "auth/jwt_impl.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#define NOW      INT64_C(1767603600) /* 2026-01-05T09:00:00Z */
#define SECRET   "the fuzzing HS256 secret, thirty-two bytes or more"
#define ISSUER   "modq-fuzz"
#define AUDIENCE "modq"

typedef struct fz_state {
    fz_scratch scratch;
    EVP_PKEY *rsa, *ec;
    modq_jwt_keys *keys;
} fz_state;

static fz_state st;

/* base64url without padding of n bytes into a new string (caller frees), by the worker's own
 * encoder. */
static char *b64url(const unsigned char *p, size_t n)
{
    char *s = malloc(jwt_b64url_encoded_size(n));

    if (s) {
        jwt_b64url_encode(p, n, s);
    }
    return s;
}

static void write_pem(EVP_PKEY *pkey, const char *name, char *path, size_t size)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n;

    if (!bio || PEM_write_bio_PUBKEY(bio, pkey) != 1 || (n = BIO_get_mem_data(bio, &data)) <= 0 ||
        !fz_scratch_write(&st.scratch, name, data, (size_t)n, path, size)) {
        fz_setup_fail("cannot write %s", name);
    }
    BIO_free(bio);
}

static char *bn_b64url(EVP_PKEY *pkey, const char *param)
{
    BIGNUM *bn = NULL;
    unsigned char buf[32];
    char *s;

    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1 || BN_bn2binpad(bn, buf, 32) != 32) {
        fz_setup_fail("cannot export %s", param);
    }
    BN_free(bn);
    if (!(s = b64url(buf, 32))) {
        fz_setup_fail("out of memory");
    }
    return s;
}

static void write_jwks(char *path, size_t size)
{
    char *x = bn_b64url(st.ec, OSSL_PKEY_PARAM_EC_PUB_X);
    char *y = bn_b64url(st.ec, OSSL_PKEY_PARAM_EC_PUB_Y);
    char text[512];
    int n = snprintf(text, sizeof(text),
                     "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"e1\",\"use\":\"sig\","
                     "\"alg\":\"ES256\",\"x\":\"%s\",\"y\":\"%s\"}]}",
                     x, y);

    if (n <= 0 || !fz_scratch_write(&st.scratch, "keys.jwks", text, (size_t)n, path, size)) {
        fz_setup_fail("cannot write the JWKS");
    }
    free(x);
    free(y);
}

static void cleanup(void)
{
    modq_jwt_keys_free(st.keys);
    EVP_PKEY_free(st.rsa);
    EVP_PKEY_free(st.ec);
    fz_scratch_remove(&st.scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char pem[512], jwks[512], err[256];
    modq_jwt_key_opts o = {.algorithms = MODQ_JWT_HS256 | MODQ_JWT_RS256 | MODQ_JWT_ES256,
                           .secret = (const unsigned char *)SECRET,
                           .secret_len = sizeof(SECRET) - 1,
                           .public_key_file = pem,
                           .jwks_file = jwks,
                           .issuer = ISSUER,
                           .audience = AUDIENCE,
                           .leeway_s = -1};

    (void)argc, (void)argv;
    fz_scratch_make(&st.scratch);
    atexit(cleanup);
    if (!(st.rsa = EVP_RSA_gen(2048)) || !(st.ec = EVP_EC_gen("P-256"))) {
        fz_setup_fail("key generation failed");
    }
    write_pem(st.rsa, "rsa.pem", pem, sizeof(pem));
    write_jwks(jwks, sizeof(jwks));
    if (modq_jwt_keys_new(&o, &st.keys, err, sizeof(err)) != MODQ_JWT_OK) {
        fz_setup_fail("keys: %s", err);
    }
    return 0;
}

/* The JOSE signature of input with key k (0 HS256, 1 RS256, 2 ES256) into sig (512 bytes). */
static size_t sign(int k, const char *input, unsigned char *sig)
{
    EVP_MD_CTX *ctx;
    size_t len = 512;
    unsigned int hlen = 0;

    if (k == 0) {
        return HMAC(EVP_sha256(), SECRET, (int)sizeof(SECRET) - 1, (const unsigned char *)input,
                    strlen(input), sig, &hlen)
                   ? hlen
                   : 0;
    }
    if (!(ctx = EVP_MD_CTX_new())) {
        return 0;
    }
    if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k == 1 ? st.rsa : st.ec) != 1 ||
        EVP_DigestSign(ctx, sig, &len, (const unsigned char *)input, strlen(input)) != 1) {
        len = 0;
    }
    EVP_MD_CTX_free(ctx);
    if (k == 2 && len > 0) { /* DER to r || s */
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
        const BIGNUM *r, *s;

        len = 0;
        if (es) {
            ECDSA_SIG_get0(es, &r, &s);
            if (BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32) {
                len = 64;
            }
            ECDSA_SIG_free(es);
        }
    }
    return len;
}

/* Verifies token and checks the invariants; payload (may be NULL) is what was signed. */
static void verify(const char *token, const char *payload, size_t payload_len)
{
    static const modq_jwt_claims zero;
    modq_jwt_claims c;
    char err[256];
    modq_jwt_result r = modq_jwt_verify(st.keys, token, NOW, &c, err, sizeof(err));
    json_t *js;
    const char *sub;

    if (r != MODQ_JWT_OK) {
        if (memcmp(&c, &zero, sizeof(c)) != 0) {
            fz_fail("a refused token (%s) left claims behind", modq_jwt_strerror(r));
        }
        return;
    }
    if (strnlen(c.sub, sizeof(c.sub)) == 0 || strnlen(c.sub, sizeof(c.sub)) >= sizeof(c.sub) ||
        c.roles == 0 || c.exp < NOW - MODQ_JWT_LEEWAY_S) {
        fz_fail("accepted claims out of range: sub '%.63s', roles %u, exp %lld", c.sub, c.roles,
                (long long)c.exp);
    }
    if (!payload) {
        return;
    }
    js = json_loadb(payload, payload_len, 0, NULL);
    sub = json_string_value(json_object_get(js, "sub"));
    if (!sub || strcmp(sub, c.sub) != 0) {
        fz_fail("accepted sub '%s' is not the payload's '%s'", c.sub, sub ? sub : "(none)");
    }
    json_decref(js);
}

static void signed_token(const uint8_t *data, size_t size)
{
    const uint8_t *payload;
    size_t hlen, plen;
    char *h64 = NULL, *p64 = NULL, *s64 = NULL, *input = NULL, *token = NULL;
    unsigned char sig[512];
    size_t n, slen;

    if (size < 1) {
        return;
    }
    payload = memchr(data + 1, '\0', size - 1);
    if (!payload) {
        return;
    }
    hlen = (size_t)(payload - (data + 1));
    payload++;
    plen = size - 1 - hlen - 1;
    if (!(h64 = b64url(data + 1, hlen)) || !(p64 = b64url(payload, plen))) {
        goto out;
    }
    n = strlen(h64) + strlen(p64) + 2;
    if (!(input = malloc(n))) {
        goto out;
    }
    snprintf(input, n, "%s.%s", h64, p64);
    slen = sign(data[0] % 3, input, sig);
    if (!(s64 = b64url(sig, slen)) || !(token = malloc(n + strlen(s64) + 1))) {
        goto out;
    }
    snprintf(token, n + strlen(s64) + 1, "%s.%s", input, s64);
    verify(token, (const char *)payload, plen);
out:
    free(h64);
    free(p64);
    free(s64);
    free(input);
    free(token);
}

static void jwks(const uint8_t *data, size_t size)
{
    char path[512], err[256];
    modq_jwt_keys *k = NULL;
    modq_jwt_key_opts o = {
        .algorithms = MODQ_JWT_RS256 | MODQ_JWT_ES256, .jwks_file = path, .leeway_s = -1};

    if (!fz_scratch_write(&st.scratch, "fuzz.jwks", data, size, path, sizeof(path))) {
        fz_setup_fail("cannot write %s", path);
    }
    if (modq_jwt_keys_new(&o, &k, err, sizeof(err)) == MODQ_JWT_OK && modq_jwt_keys_count(k) == 0) {
        fz_fail("a JWKS loaded without a key");
    }
    modq_jwt_keys_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *token;

    if (size < 1) {
        return 0;
    }
    switch (data[0] % 3) {
    case 0:
        if ((token = fz_strndup(data + 1, size - 1))) {
            verify(token, NULL, 0);
            free(token);
        }
        break;
    case 1:
        signed_token(data + 1, size - 1);
        break;
    default:
        jwks(data + 1, size - 1);
        break;
    }
    return 0;
}
