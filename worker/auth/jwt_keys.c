/*
 * jwt_keys.c: loading the verifier's key material (see jwt.h): the HS256 secret, a PEM public key
 * and the keys of a JWKS document. Public keys must be RSA of 2048..8192 bits or EC on P-256,
 * and must pass OpenSSL's public-key check, so a key that is weak or off its curve never verifies
 * anything. A PEM key is named by configuration, so any fault in it is fatal; a JWKS usually comes
 * from an identity provider that publishes more than we use, so keys we cannot use are skipped
 * as long as one loads.
 */
#include "jwt_impl.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEM_MAX_BYTES  (64 * 1024)
#define JWKS_MAX_BYTES (1024 * 1024)
#define RSA_MAX_BYTES  (JWT_MAX_RSA_BITS / 8 + 1) /* a modulus may carry one leading zero */
#define RSA_MAX_E      8
#define EC_COORD_BYTES 32

/* Reads a whole file of at most cap bytes. On OK *out is malloc'd, NUL-terminated and owned by
 * the caller (free). */
static modq_jwt_result read_capped(const char *path, size_t cap, char **out, size_t *len,
                                   char *errstr, size_t errstr_size)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n;
    modq_jwt_result r;

    *out = NULL;
    if (!f) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%.300s: %s", path, strerror(errno));
        goto out;
    }
    buf = malloc(cap + 1);
    if (!buf) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_NOMEM, "out of memory");
        goto out;
    }
    n = fread(buf, 1, cap + 1, f);
    if (ferror(f)) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%.300s: read failed", path);
        goto out;
    }
    if (n > cap) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%.300s: larger than %zu bytes", path,
                     cap);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    r = MODQ_JWT_OK;
out:
    free(buf);
    if (f) {
        fclose(f);
    }
    return r;
}

/* Takes ownership of pkey (freed on failure). Checks its kind, size and validity, then keeps it
 * when its algorithm is allowed. where names it in errstr. */
static modq_jwt_result add_key(modq_jwt_keys *k, EVP_PKEY *pkey, const char *kid, const char *where,
                               char *errstr, size_t errstr_size)
{
    EVP_PKEY_CTX *ctx = NULL;
    jwt_kind kind;
    char group[64];
    size_t group_len = 0;
    int bits = EVP_PKEY_get_bits(pkey);
    modq_jwt_result r;

    if (EVP_PKEY_is_a(pkey, "RSA")) {
        kind = JWT_KIND_RSA;
        if (bits < JWT_MIN_RSA_BITS || bits > JWT_MAX_RSA_BITS) {
            r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY,
                         "%s: RSA key of %d bits, not %d..%d", where, bits, JWT_MIN_RSA_BITS,
                         JWT_MAX_RSA_BITS);
            goto out;
        }
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        kind = JWT_KIND_EC;
        if (!EVP_PKEY_get_group_name(pkey, group, sizeof group, &group_len) ||
            strcmp(group, SN_X9_62_prime256v1) != 0) {
            r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%s: EC key not on P-256", where);
            goto out;
        }
    } else {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%s: not an RSA or EC P-256 key",
                     where);
        goto out;
    }
    if (!(k->algorithms & (kind == JWT_KIND_RSA ? MODQ_JWT_RS256 : MODQ_JWT_ES256))) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%s: %s is not an allowed algorithm",
                     where, kind == JWT_KIND_RSA ? "RS256" : "ES256");
        goto out;
    }
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!ctx || EVP_PKEY_public_check(ctx) != 1) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%s: public key check failed", where);
        goto out;
    }
    if (k->nkeys >= JWT_MAX_KEYS) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%s: more than %d keys", where,
                     JWT_MAX_KEYS);
        goto out;
    }
    k->keys[k->nkeys].kind = kind;
    k->keys[k->nkeys].has_kid = kid != NULL;
    if (kid) {
        memcpy(k->keys[k->nkeys].kid, kid, strlen(kid) + 1); /* the caller checked its length */
    }
    k->keys[k->nkeys].pkey = pkey;
    k->nkeys++;
    pkey = NULL;
    r = MODQ_JWT_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return r;
}

/* Never prompt for a passphrase: a daemon has no terminal, and a public key needs none. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static modq_jwt_result load_pem(modq_jwt_keys *k, const char *path, char *errstr,
                                size_t errstr_size)
{
    char *text = NULL;
    size_t len = 0;
    BIO *bio = NULL;
    EVP_PKEY *pkey = NULL;
    modq_jwt_result r;

    r = read_capped(path, PEM_MAX_BYTES, &text, &len, errstr, errstr_size);
    if (r != MODQ_JWT_OK) {
        goto out;
    }
    bio = BIO_new_mem_buf(text, (int)len);
    if (!bio) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_NOMEM, "out of memory");
        goto out;
    }
    pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    if (!pkey) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%.300s: no PEM public key", path);
        goto out;
    }
    r = add_key(k, pkey, NULL, path, errstr, errstr_size);
out:
    BIO_free(bio);
    free(text);
    ERR_clear_error();
    return r;
}

/* Decodes the base64url string member name of jk into at most max bytes. On true *out is owned
 * by the caller (free). */
static bool jwk_bytes(const json_t *jk, const char *name, size_t max, unsigned char **out,
                      size_t *len)
{
    const json_t *v = json_object_get(jk, name);

    *out = NULL;
    return json_is_string(v) &&
           jwt_b64url_decode(json_string_value(v), json_string_length(v), max, out, len) &&
           *len > 0;
}

/* An EVP_PKEY of type from the parameters in bld. On OK *out is owned by the caller. */
static modq_jwt_result pkey_from(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out,
                                 char *errstr, size_t errstr_size, const char *where)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    modq_jwt_result r = MODQ_JWT_OK;

    *out = NULL;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1 || !*out) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%s: not a valid %s public key", where,
                     type);
    }
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(ctx);
    return r;
}

static modq_jwt_result rsa_from_jwk(const json_t *jk, EVP_PKEY **out, const char *where,
                                    char *errstr, size_t errstr_size)
{
    unsigned char *nb = NULL, *eb = NULL;
    size_t nlen = 0, elen = 0;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    modq_jwt_result r;

    *out = NULL;
    if (!jwk_bytes(jk, "n", RSA_MAX_BYTES, &nb, &nlen) ||
        !jwk_bytes(jk, "e", RSA_MAX_E, &eb, &elen)) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%s: n or e missing or not base64url",
                     where);
        goto out;
    }
    n = BN_bin2bn(nb, (int)nlen, NULL);
    e = BN_bin2bn(eb, (int)elen, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (!n || !e || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_NOMEM, "out of memory");
        goto out;
    }
    r = pkey_from("RSA", bld, out, errstr, errstr_size, where);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    free(nb);
    free(eb);
    return r;
}

static modq_jwt_result ec_from_jwk(const json_t *jk, EVP_PKEY **out, const char *where,
                                   char *errstr, size_t errstr_size)
{
    unsigned char *x = NULL, *y = NULL, point[1 + 2 * EC_COORD_BYTES];
    size_t xlen = 0, ylen = 0;
    OSSL_PARAM_BLD *bld = NULL;
    const json_t *crv = json_object_get(jk, "crv");
    modq_jwt_result r;

    *out = NULL;
    if (!json_is_string(crv) || strcmp(json_string_value(crv), "P-256") != 0) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%s: crv is not P-256", where);
        goto out;
    }
    if (!jwk_bytes(jk, "x", EC_COORD_BYTES, &x, &xlen) ||
        !jwk_bytes(jk, "y", EC_COORD_BYTES, &y, &ylen) || xlen != EC_COORD_BYTES ||
        ylen != EC_COORD_BYTES) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%s: x or y not 32 bytes of base64url",
                     where);
        goto out;
    }
    /* The uncompressed SEC 1 point: 0x04 || x || y. */
    point[0] = 0x04;
    memcpy(point + 1, x, EC_COORD_BYTES);
    memcpy(point + 1 + EC_COORD_BYTES, y, EC_COORD_BYTES);
    bld = OSSL_PARAM_BLD_new();
    if (!bld ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point)) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_NOMEM, "out of memory");
        goto out;
    }
    r = pkey_from("EC", bld, out, errstr, errstr_size, where);
out:
    OSSL_PARAM_BLD_free(bld);
    free(x);
    free(y);
    return r;
}

/* One member of "keys". Anything but OK or NOMEM means the key is skipped. */
static modq_jwt_result jwks_key(modq_jwt_keys *k, const json_t *jk, size_t idx, char *errstr,
                                size_t errstr_size)
{
    char where[48];
    const json_t *kty = json_object_get(jk, "kty"), *v;
    const char *kid = NULL, *alg;
    bool rsa;
    EVP_PKEY *pkey = NULL;
    modq_jwt_result r;

    snprintf(where, sizeof where, "JWKS key %zu", idx);
    if (!json_is_string(kty)) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%s: no kty", where);
    }
    rsa = strcmp(json_string_value(kty), "RSA") == 0;
    if (!rsa && strcmp(json_string_value(kty), "EC") != 0) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%s: kty %.32s not supported", where,
                        json_string_value(kty));
    }
    v = json_object_get(jk, "use");
    if (v && (!json_is_string(v) || strcmp(json_string_value(v), "sig") != 0)) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%s: use is not sig", where);
    }
    /* A key bound to another algorithm must not be used for ours (RFC 7517 4.4). */
    alg = rsa ? "RS256" : "ES256";
    v = json_object_get(jk, "alg");
    if (v && (!json_is_string(v) || strcmp(json_string_value(v), alg) != 0)) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%s: alg is not %s", where, alg);
    }
    v = json_object_get(jk, "kid");
    if (v) {
        if (!json_is_string(v) || json_string_length(v) >= JWT_MAX_KID ||
            strlen(json_string_value(v)) != json_string_length(v)) {
            return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY,
                            "%s: kid is not a string of at most %d bytes", where, JWT_MAX_KID - 1);
        }
        kid = json_string_value(v);
    }
    if (!(k->algorithms & (rsa ? MODQ_JWT_RS256 : MODQ_JWT_ES256))) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%s: %s is not allowed", where, alg);
    }
    r = rsa ? rsa_from_jwk(jk, &pkey, where, errstr, errstr_size)
            : ec_from_jwk(jk, &pkey, where, errstr, errstr_size);
    if (r != MODQ_JWT_OK) {
        ERR_clear_error();
        return r;
    }
    return add_key(k, pkey, kid, where, errstr, errstr_size);
}

static modq_jwt_result load_jwks(modq_jwt_keys *k, const char *path, char *errstr,
                                 size_t errstr_size)
{
    char *text = NULL, why[200] = "no keys";
    size_t len = 0, idx, loaded = 0;
    json_t *doc = NULL;
    const json_t *keys, *jk;
    json_error_t jerr;
    modq_jwt_result r;

    r = read_capped(path, JWKS_MAX_BYTES, &text, &len, errstr, errstr_size);
    if (r != MODQ_JWT_OK) {
        goto out;
    }
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%.300s:%d: %s", path, jerr.line,
                     jerr.text);
        goto out;
    }
    keys = json_object_get(doc, "keys");
    if (!json_is_array(keys) || json_array_size(keys) > JWT_MAX_JWKS) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY,
                     "%.300s: \"keys\" is not an array of at most %d keys", path, JWT_MAX_JWKS);
        goto out;
    }
    json_array_foreach(keys, idx, jk)
    {
        char msg[200];
        modq_jwt_result kr = json_is_object(jk) ? jwks_key(k, jk, idx, msg, sizeof msg)
                                                : jwt_fail(msg, sizeof msg, MODQ_JWT_ERR_KEY,
                                                           "JWKS key %zu: not an object", idx);
        if (kr == MODQ_JWT_ERR_NOMEM) {
            r = jwt_fail(errstr, errstr_size, kr, "out of memory");
            goto out;
        }
        if (kr == MODQ_JWT_OK) {
            loaded++;
        } else if (loaded == 0 && strcmp(why, "no keys") == 0) {
            memcpy(why, msg, sizeof why);
        }
    }
    if (loaded == 0) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "%.300s: no usable key (%s)", path,
                     why);
        goto out;
    }
    r = MODQ_JWT_OK;
out:
    json_decref(doc);
    free(text);
    return r;
}

modq_jwt_result modq_jwt_keys_new(const modq_jwt_key_opts *opts, modq_jwt_keys **out, char *errstr,
                                  size_t errstr_size)
{
    const unsigned all = MODQ_JWT_HS256 | MODQ_JWT_RS256 | MODQ_JWT_ES256;
    modq_jwt_keys *k = NULL;
    modq_jwt_result r;

    if (out) {
        *out = NULL;
    }
    if (!opts || !out || opts->algorithms == 0 || (opts->algorithms & ~all) ||
        opts->leeway_s > JWT_MAX_LEEWAY_S ||
        (opts->issuer && strlen(opts->issuer) >= JWT_MAX_TEXT) ||
        (opts->audience && strlen(opts->audience) >= JWT_MAX_TEXT)) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_INVALID_ARG,
                        "bad options: algorithms, leeway (<= %d s), issuer or audience",
                        JWT_MAX_LEEWAY_S);
    }
    k = calloc(1, sizeof *k);
    if (!k) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_NOMEM, "out of memory");
        goto out;
    }
    k->algorithms = opts->algorithms;
    k->leeway_s = opts->leeway_s < 0 ? MODQ_JWT_LEEWAY_S : opts->leeway_s;
    if (opts->issuer) {
        memcpy(k->issuer, opts->issuer, strlen(opts->issuer) + 1);
    }
    if (opts->audience) {
        memcpy(k->audience, opts->audience, strlen(opts->audience) + 1);
    }
    /* A secret is kept only for HS256: the configuration may hold one for minting alone. */
    if (opts->secret && (opts->algorithms & MODQ_JWT_HS256)) {
        if (opts->secret_len < JWT_MIN_SECRET) {
            r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY,
                         "HS256 secret of %zu bytes; at least %d are needed", opts->secret_len,
                         JWT_MIN_SECRET);
            goto out;
        }
        k->secret = malloc(opts->secret_len);
        if (!k->secret) {
            r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_NOMEM, "out of memory");
            goto out;
        }
        memcpy(k->secret, opts->secret, opts->secret_len);
        k->secret_len = opts->secret_len;
    }
    if (opts->public_key_file && opts->public_key_file[0]) {
        r = load_pem(k, opts->public_key_file, errstr, errstr_size);
        if (r != MODQ_JWT_OK) {
            goto out;
        }
    }
    if (opts->jwks_file && opts->jwks_file[0]) {
        r = load_jwks(k, opts->jwks_file, errstr, errstr_size);
        if (r != MODQ_JWT_OK) {
            goto out;
        }
    }
    if (!k->secret && k->nkeys == 0) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY,
                     "no key material for the allowed algorithms");
        goto out;
    }
    *out = k;
    k = NULL;
    r = MODQ_JWT_OK;
out:
    modq_jwt_keys_free(k);
    return r;
}

size_t modq_jwt_keys_count(const modq_jwt_keys *k)
{
    return k ? k->nkeys : 0;
}

void modq_jwt_keys_free(modq_jwt_keys *k)
{
    if (!k) {
        return;
    }
    if (k->secret) {
        OPENSSL_cleanse(k->secret, k->secret_len);
        free(k->secret);
    }
    for (size_t i = 0; i < k->nkeys; i++) {
        EVP_PKEY_free(k->keys[i].pkey);
    }
    free(k);
}
