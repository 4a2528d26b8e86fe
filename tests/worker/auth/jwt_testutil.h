/*
 * jwt_testutil.h: what tests/worker/auth/test_worker_jwt.c builds its cases from, independently of
 * worker/auth/jwt*.c: base64url over OpenSSL's EVP_EncodeBlock, signatures made with HMAC() and
 * EVP_DigestSign (ES256 converted from DER to r || s here), JWKs exported from EVP_PKEYs, and the
 * fixture (keys generated per run, PEM and JWKS files in a mkdtemp folder) with its checks.
 */
#ifndef MODQ_JWT_TESTUTIL_H
#define MODQ_JWT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/jwt.h"

/* How a test token is signed. */
typedef enum sig_mode {
    SIG_NONE,     /* empty signature */
    SIG_HMAC,     /* HMAC-SHA256 with secret */
    SIG_PKEY,     /* EVP_DigestSign SHA-256 with pkey; EC signatures as JOSE r || s */
    SIG_PKEY_DER, /* the same, EC signatures left in DER */
} sig_mode;

typedef struct signer {
    sig_mode mode;
    const void *secret;
    size_t secret_len;
    EVP_PKEY *pkey;
} signer;

/* base64url without padding of n bytes; caller frees. */
static inline char *tu_b64url(const unsigned char *p, size_t n)
{
    char *s = malloc(4 * ((n + 2) / 3) + 1);
    assert_non_null(s);
    int len = EVP_EncodeBlock((unsigned char *)s, p, (int)n);
    assert_true(len >= 0);
    while (len > 0 && s[len - 1] == '=') {
        len--;
    }
    s[len] = '\0';
    for (int i = 0; i < len; i++) {
        s[i] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
    }
    return s;
}

/* Decodes n characters of unpadded base64url; caller frees. */
static inline unsigned char *tu_unb64url(const char *s, size_t n, size_t *out_len)
{
    size_t pad = (4 - n % 4) % 4;
    char *t = malloc(n + pad + 1);
    unsigned char *out = malloc(n + pad + 1);
    assert_non_null(t);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    }
    memset(t + n, '=', pad);
    t[n + pad] = '\0';
    int len = EVP_DecodeBlock(out, (unsigned char *)t, (int)(n + pad));
    assert_true(len >= 0);
    free(t);
    *out_len = (size_t)len - pad;
    return out;
}

/* The signature of input under s; *len its size; caller frees (NULL-free for SIG_NONE). */
static inline unsigned char *tu_sign(const char *input, signer s, size_t *len)
{
    unsigned char *sig = NULL;
    *len = 0;
    if (s.mode == SIG_NONE) {
        return NULL;
    }
    if (s.mode == SIG_HMAC) {
        unsigned int n = 0;
        sig = malloc(EVP_MAX_MD_SIZE);
        assert_non_null(sig);
        assert_non_null(HMAC(EVP_sha256(), s.secret, (int)s.secret_len,
                             (const unsigned char *)input, strlen(input), sig, &n));
        *len = n;
        return sig;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, s.pkey), 1);
    assert_int_equal(EVP_DigestSign(ctx, NULL, len, (const unsigned char *)input, strlen(input)),
                     1);
    sig = malloc(*len);
    assert_non_null(sig);
    assert_int_equal(EVP_DigestSign(ctx, sig, len, (const unsigned char *)input, strlen(input)), 1);
    EVP_MD_CTX_free(ctx);
    if (s.mode == SIG_PKEY && EVP_PKEY_is_a(s.pkey, "EC")) {
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)*len);
        const BIGNUM *r, *sv;
        assert_non_null(es);
        ECDSA_SIG_get0(es, &r, &sv);
        assert_int_equal(BN_bn2binpad(r, sig, 32), 32);
        assert_int_equal(BN_bn2binpad(sv, sig + 32, 32), 32);
        *len = 64;
        ECDSA_SIG_free(es);
    }
    return sig;
}

/* input "." signature; caller frees. */
static inline char *tu_finish(const char *input, signer s)
{
    size_t len = 0;
    unsigned char *sig = tu_sign(input, s, &len);
    char *sig64 = tu_b64url(sig ? sig : (const unsigned char *)"", len);
    size_t size = strlen(input) + strlen(sig64) + 2;
    char *tok = malloc(size);
    assert_non_null(tok);
    snprintf(tok, size, "%s.%s", input, sig64);
    free(sig);
    free(sig64);
    return tok;
}

/* A token of the given header and payload texts; caller frees. */
static inline char *tu_token(const char *header, const char *payload, signer s)
{
    char *h = tu_b64url((const unsigned char *)header, strlen(header));
    char *p = tu_b64url((const unsigned char *)payload, strlen(payload));
    size_t size = strlen(h) + strlen(p) + 2;
    char *input = malloc(size);
    assert_non_null(input);
    snprintf(input, size, "%s.%s", h, p);
    char *tok = tu_finish(input, s);
    free(h);
    free(p);
    free(input);
    return tok;
}

/* A token of header and the claims object (reference taken); caller frees. */
static inline char *tu_token_claims(const char *header, json_t *claims, signer s)
{
    char *payload = json_dumps(claims, JSON_COMPACT);
    assert_non_null(payload);
    json_decref(claims);
    char *tok = tu_token(header, payload, s);
    free(payload);
    return tok;
}

static inline json_t *tu_bn_member(EVP_PKEY *pkey, const char *param, int pad)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    assert_int_equal(EVP_PKEY_get_bn_param(pkey, param, &bn), 1);
    int n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
    assert_true(n > 0);
    BN_free(bn);
    char *s = tu_b64url(buf, (size_t)n);
    json_t *v = json_string(s);
    free(s);
    return v;
}

/* The public JWK of an RSA or EC key; kid and crv (EC; NULL = "P-256") may be NULL. */
static inline json_t *tu_jwk(EVP_PKEY *pkey, const char *kid, const char *crv)
{
    json_t *j = json_object();
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        json_object_set_new(j, "kty", json_string("RSA"));
        json_object_set_new(j, "n", tu_bn_member(pkey, OSSL_PKEY_PARAM_RSA_N, 0));
        json_object_set_new(j, "e", tu_bn_member(pkey, OSSL_PKEY_PARAM_RSA_E, 0));
    } else {
        json_object_set_new(j, "kty", json_string("EC"));
        json_object_set_new(j, "crv", json_string(crv ? crv : "P-256"));
        json_object_set_new(j, "x", tu_bn_member(pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32));
        json_object_set_new(j, "y", tu_bn_member(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
    }
    if (kid) {
        json_object_set_new(j, "kid", json_string(kid));
    }
    return j;
}

/* The PEM SubjectPublicKeyInfo of pkey; caller frees. */
static inline char *tu_pem(EVP_PKEY *pkey)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);
    long n = BIO_get_mem_data(bio, &data);
    assert_true(n > 0);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    BIO_free(bio);
    return s;
}

/* What the tests share: constants, the fixture, keys, claims and checks. */

#define NOW    1764000000LL
#define SECRET "an HS256 secret of forty-one bytes, test"

typedef struct fixture {
    char dir[64];
    EVP_PKEY *rsa1, *rsa2, *ec1, *ec2, *rsa_weak;
    char *rsa1_pem; /* PEM text of rsa1 */
    char rsa1_path[128], ec1_path[128], weak_path[128], jwks_path[128];
} fixture;

static const char hdr_hs[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
static const char hdr_rs[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
static const char hdr_es[] = "{\"alg\":\"ES256\"}";

#define HS(s)     ((signer){SIG_HMAC, (s), strlen(s), NULL})
#define PK(k)     ((signer){SIG_PKEY, NULL, 0, (k)})
#define PK_DER(k) ((signer){SIG_PKEY_DER, NULL, 0, (k)})

static inline void write_file(const fixture *f, const char *name, const char *text, char *path,
                              size_t size)
{
    snprintf(path, size, "%s/%s", f->dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_true(fputs(text, fp) >= 0);
    assert_int_equal(fclose(fp), 0);
}

/* Writes {"keys": keys} (reference taken) to DIR/name. */
static inline void write_jwks(const fixture *f, const char *name, json_t *keys, char *path,
                              size_t size)
{
    json_t *doc = json_pack("{so}", "keys", keys);
    char *text = json_dumps(doc, 0);
    assert_non_null(text);
    write_file(f, name, text, path, size);
    free(text);
    json_decref(doc);
}

static inline int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f) {
        return -1;
    }
    memcpy(f->dir, "/tmp/modq-jwt-XXXXXX", sizeof "/tmp/modq-jwt-XXXXXX");
    if (!mkdtemp(f->dir)) {
        return -1;
    }
    f->rsa1 = EVP_RSA_gen(2048);
    f->rsa2 = EVP_RSA_gen(2048);
    f->rsa_weak = EVP_RSA_gen(1024);
    f->ec1 = EVP_EC_gen("P-256");
    f->ec2 = EVP_EC_gen("P-256");
    if (!f->rsa1 || !f->rsa2 || !f->rsa_weak || !f->ec1 || !f->ec2) {
        return -1;
    }
    f->rsa1_pem = tu_pem(f->rsa1);
    write_file(f, "rsa1.pem", f->rsa1_pem, f->rsa1_path, sizeof f->rsa1_path);
    char *pem = tu_pem(f->ec1);
    write_file(f, "ec1.pem", pem, f->ec1_path, sizeof f->ec1_path);
    free(pem);
    pem = tu_pem(f->rsa_weak);
    write_file(f, "weak.pem", pem, f->weak_path, sizeof f->weak_path);
    free(pem);
    write_jwks(f, "two.jwks",
               json_pack("[ooo]", tu_jwk(f->rsa1, "k1", NULL), tu_jwk(f->rsa2, "k2", NULL),
                         tu_jwk(f->ec1, "e1", NULL)),
               f->jwks_path, sizeof f->jwks_path);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) {
        return -1;
    }
    EVP_PKEY_free(f->rsa1);
    EVP_PKEY_free(f->rsa2);
    EVP_PKEY_free(f->rsa_weak);
    EVP_PKEY_free(f->ec1);
    EVP_PKEY_free(f->ec2);
    free(f->rsa1_pem);
    free(f);
    return 0;
}

static inline modq_jwt_result try_keys(unsigned algs, const char *secret, const char *pem,
                                       const char *jwks, modq_jwt_keys **k)
{
    modq_jwt_key_opts o = {.algorithms = algs,
                           .secret = (const unsigned char *)secret,
                           .secret_len = secret ? strlen(secret) : 0,
                           .public_key_file = pem,
                           .jwks_file = jwks,
                           .issuer = "https://idp.example",
                           .audience = "modq",
                           .leeway_s = -1};
    char err[512] = "";
    modq_jwt_result r = modq_jwt_keys_new(&o, k, err, sizeof err);
    if (r != MODQ_JWT_OK) {
        print_message("keys_new: %s: %s\n", modq_jwt_strerror(r), err);
    }
    return r;
}

static inline modq_jwt_keys *keys(unsigned algs, const char *secret, const char *pem,
                                  const char *jwks)
{
    modq_jwt_keys *k = NULL;
    assert_int_equal(try_keys(algs, secret, pem, jwks, &k), MODQ_JWT_OK);
    assert_non_null(k);
    return k;
}

/* Claims that pass with keys(): change them to make one fail. */
static inline json_t *good_claims(void)
{
    json_t *c =
        json_pack("{ss ss ss s[s] sI sI}", "sub", "a1", "iss", "https://idp.example", "aud", "modq",
                  "roles", "associate", "iat", (json_int_t)NOW, "exp", (json_int_t)(NOW + 600));
    assert_non_null(c);
    return c;
}

/* Verifies tok (freed) at now; asserts the result, and on failure that nothing leaked into the
 * claims and errstr says why. */
static inline void expect_at(const modq_jwt_keys *k, char *tok, int64_t now, modq_jwt_result want,
                             modq_jwt_claims *claims)
{
    modq_jwt_claims c;
    char err[256] = "";

    memset(&c, 0x5a, sizeof c);
    modq_jwt_result r = modq_jwt_verify(k, tok, now, &c, err, sizeof err);
    if (r != want) {
        print_error("got %s (%s), want %s\n", modq_jwt_strerror(r), err, modq_jwt_strerror(want));
    }
    free(tok);
    assert_int_equal(r, want);
    if (r != MODQ_JWT_OK) {
        assert_int_equal(c.sub[0], 0);
        assert_int_equal(c.roles, 0);
        assert_int_equal(c.exp, 0);
        assert_true(err[0] != '\0');
    }
    if (claims) {
        *claims = c;
    }
}

static inline void expect(const modq_jwt_keys *k, char *tok, modq_jwt_result want)
{
    expect_at(k, tok, NOW, want, NULL);
}

/* An HS256 token of good_claims() with one claim set (value reference taken) or removed. */
static inline char *hs_with(const char *name, json_t *value)
{
    json_t *c = good_claims();
    if (value) {
        json_object_set_new(c, name, value);
    } else {
        json_object_del(c, name);
    }
    return tu_token_claims(hdr_hs, c, HS(SECRET));
}

static inline char *dup_str(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    assert_non_null(d);
    memcpy(d, s, strlen(s) + 1);
    return d;
}

/* tok (freed) with bit 0 of signature byte i flipped; caller frees. */
static inline char *flip_signature_bit(char *tok, size_t i)
{
    char *dot = strrchr(tok, '.');
    size_t n;
    unsigned char *sig = tu_unb64url(dot + 1, strlen(dot + 1), &n);
    assert_true(i < n);
    sig[i] ^= 1;
    char *enc = tu_b64url(sig, n);
    *dot = '\0';
    size_t size = strlen(tok) + strlen(enc) + 2;
    char *out = malloc(size);
    assert_non_null(out);
    snprintf(out, size, "%s.%s", tok, enc);
    free(sig);
    free(enc);
    free(tok);
    return out;
}

/* A JSON array of n names of len bytes each. */
static inline json_t *names(size_t n, size_t len)
{
    json_t *a = json_array();
    char s[MODQ_JWT_MAX_NAME + 8];
    for (size_t i = 0; i < n; i++) {
        memset(s, 'a' + (int)(i % 26), len);
        s[len] = '\0';
        json_array_append_new(a, json_string(s));
    }
    return a;
}

#endif
