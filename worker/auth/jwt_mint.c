/*
 * jwt_mint.c: minting HS256 tokens (see jwt.h), for the demo, the tests and a development
 * identity provider. Minting checks the shape of what it is given (sizes, caps, UTF-8) so that
 * what it writes can be read back; it leaves meaning (known roles) to the verifier.
 */
#include "jwt_impl.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

static const char header_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* Sets claims[name] to a string; false when it is not UTF-8 or memory ran out. */
static bool set_string(json_t *claims, const char *name, const char *value)
{
    return json_object_set_new(claims, name, json_string(value)) == 0;
}

/* Sets claims[name] to an array of n names (1..63 bytes each); false when one is not. */
static bool set_names(json_t *claims, const char *name, const char *const *v, size_t n)
{
    json_t *arr = json_array();

    if (!arr || json_object_set_new(claims, name, arr) != 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!v || !v[i] || !jwt_name_ok(v[i], strlen(v[i])) ||
            json_array_append_new(arr, json_string(v[i])) != 0) {
            return false;
        }
    }
    return true;
}

static modq_jwt_result build_claims(const modq_jwt_mint_opts *o, json_t **out, char *errstr,
                                    size_t errstr_size)
{
    json_t *c = json_object();
    modq_jwt_result r = MODQ_JWT_ERR_INVALID_ARG;

    *out = NULL;
    if (!c) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!jwt_name_ok(o->sub, strlen(o->sub)) || !set_string(c, "sub", o->sub)) {
        jwt_fail(errstr, errstr_size, r, "sub is not 1..%d bytes of UTF-8", MODQ_JWT_MAX_NAME - 1);
        goto out;
    }
    if (o->team && o->team[0] &&
        (!jwt_name_ok(o->team, strlen(o->team)) || !set_string(c, "team", o->team))) {
        jwt_fail(errstr, errstr_size, r, "team is not 1..%d bytes of UTF-8", MODQ_JWT_MAX_NAME - 1);
        goto out;
    }
    if (o->nroles > MODQ_JWT_MAX_LIST || o->nopt_outs > MODQ_JWT_MAX_LIST ||
        o->nskills > MODQ_JWT_MAX_LIST || o->nlocales > MODQ_JWT_MAX_LIST - o->nskills) {
        jwt_fail(errstr, errstr_size, r, "more than %d roles, opt_outs or skills and locales",
                 MODQ_JWT_MAX_LIST);
        goto out;
    }
    if (!set_names(c, "roles", o->roles, o->nroles) ||
        (o->nskills && !set_names(c, "skills", o->skills, o->nskills)) ||
        (o->nlocales && !set_names(c, "locales", o->locales, o->nlocales)) ||
        (o->nopt_outs && !set_names(c, "opt_outs", o->opt_outs, o->nopt_outs))) {
        jwt_fail(errstr, errstr_size, r, "a list entry is not 1..%d bytes of UTF-8",
                 MODQ_JWT_MAX_NAME - 1);
        goto out;
    }
    if ((o->issuer && o->issuer[0] &&
         (strlen(o->issuer) >= JWT_MAX_TEXT || !set_string(c, "iss", o->issuer))) ||
        (o->audience && o->audience[0] &&
         (strlen(o->audience) >= JWT_MAX_TEXT || !set_string(c, "aud", o->audience)))) {
        jwt_fail(errstr, errstr_size, r, "issuer or audience is not 1..%d bytes of UTF-8",
                 JWT_MAX_TEXT - 1);
        goto out;
    }
    if (json_object_set_new(c, "iat", json_integer(o->now_s)) != 0 ||
        json_object_set_new(c, "nbf", json_integer(o->now_s)) != 0 ||
        json_object_set_new(c, "exp", json_integer(o->now_s + o->ttl_s)) != 0) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_NOMEM, "out of memory");
        goto out;
    }
    *out = c;
    c = NULL;
    r = MODQ_JWT_OK;
out:
    json_decref(c);
    return r;
}

modq_jwt_result modq_jwt_mint_hs256(const unsigned char *secret, size_t secret_len,
                                    const modq_jwt_mint_opts *opts, char **out, char *errstr,
                                    size_t errstr_size)
{
    json_t *claims = NULL;
    char *payload = NULL, *tok = NULL;
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t payload_len, size, n, mac_len = 0;
    modq_jwt_result r;

    if (out) {
        *out = NULL;
    }
    if (!out || !opts || !opts->sub || opts->ttl_s <= 0 || opts->now_s < 0 ||
        opts->now_s > JWT_MAX_DATE - opts->ttl_s) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_INVALID_ARG,
                        "invalid argument: sub, now or ttl");
    }
    if (!secret || secret_len < JWT_MIN_SECRET) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY,
                        "HS256 secret of %zu bytes; at least %d are needed",
                        secret ? secret_len : 0, JWT_MIN_SECRET);
    }
    r = build_claims(opts, &claims, errstr, errstr_size);
    if (r != MODQ_JWT_OK) {
        goto out;
    }
    payload = json_dumps(claims, JSON_COMPACT);
    if (!payload) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_NOMEM, "out of memory");
        goto out;
    }
    payload_len = strlen(payload);
    /* Each encoded size counts a NUL: they pay for the two dots and the final NUL. */
    size = jwt_b64url_encoded_size(sizeof header_json - 1) + jwt_b64url_encoded_size(payload_len) +
           jwt_b64url_encoded_size(JWT_HS256_SIG_LEN);
    if (size - 1 > MODQ_JWT_MAX_TOKEN) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_INVALID_ARG,
                     "token would be longer than %d bytes", MODQ_JWT_MAX_TOKEN);
        goto out;
    }
    tok = malloc(size);
    if (!tok) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_NOMEM, "out of memory");
        goto out;
    }
    n = jwt_b64url_encode((const unsigned char *)header_json, sizeof header_json - 1, tok);
    tok[n++] = '.';
    n += jwt_b64url_encode((const unsigned char *)payload, payload_len, tok + n);
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, secret_len,
                   (const unsigned char *)tok, n, mac, sizeof mac, &mac_len) ||
        mac_len != JWT_HS256_SIG_LEN) {
        ERR_clear_error();
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_KEY, "HMAC-SHA256 failed");
        goto out;
    }
    tok[n++] = '.';
    jwt_b64url_encode(mac, mac_len, tok + n);
    *out = tok;
    tok = NULL;
    r = MODQ_JWT_OK;
out:
    OPENSSL_cleanse(mac, sizeof mac);
    free(tok);
    free(payload);
    json_decref(claims);
    return r;
}
