/*
 * test_worker_api_auth.c: the bearer-token check of the review API (worker/api/api.c) through a
 * real HTTP server and real tokens: every way a token can be wrong (missing, wrong scheme, garbage,
 * alg none, expired, wrong issuer or audience, bad signature, an algorithm not configured) gets
 * the same 401 body and WWW-Authenticate, is audited and logged with its reason, and leaks
 * nothing; HS256, RS256 (PEM) and ES256 tokens that are right get through.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api_testutil.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

/* base64url without padding of n bytes; caller frees. */
static char *b64url(const unsigned char *p, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = malloc(n / 3 * 4 + 5), *o = out;

    assert_non_null(out);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = abc[v >> 18 & 63];
        *o++ = abc[v >> 12 & 63];
        if (i + 1 < n) {
            *o++ = abc[v >> 6 & 63];
        }
        if (i + 2 < n) {
            *o++ = abc[v & 63];
        }
    }
    *o = '\0';
    return out;
}

/* The standard claims of a valid token for sub (associate, team t1), as compact JSON; frees. */
static char *claims_json(at_fixture *f, const char *sub)
{
    int64_t now = atomic_load(&f->now_ms) / 1000;
    json_t *c = json_pack("{s:s, s:s, s:[s], s:s, s:s, s:I, s:I}", "sub", sub, "team", "t1",
                          "roles", "associate", "iss", AT_ISSUER, "aud", AT_AUDIENCE, "iat",
                          (json_int_t)now, "exp", (json_int_t)(now + 3600));
    char *s = json_dumps(c, JSON_COMPACT);

    json_decref(c);
    assert_non_null(s);
    return s;
}

/* header.payload signed with key as alg ("RS256" or "ES256", JOSE r||s for ES256), or with an
 * empty signature for "none". Caller frees. */
static char *sign_jws(const char *alg, EVP_PKEY *key, const char *claims)
{
    char header[64], *h, *p, *sig = NULL, *tok;
    unsigned char der[512], raw[64];
    size_t dlen = sizeof(der), n;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *input;

    snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
    h = b64url((const unsigned char *)header, strlen(header));
    p = b64url((const unsigned char *)claims, strlen(claims));
    n = strlen(h) + strlen(p) + 2;
    input = malloc(n);
    assert_non_null(input);
    snprintf(input, n, "%s.%s", h, p);
    if (key) {
        assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
        assert_int_equal(
            EVP_DigestSign(md, der, &dlen, (const unsigned char *)input, strlen(input)), 1);
        if (strcmp(alg, "ES256") == 0) {
            const unsigned char *q = der;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)dlen);
            assert_non_null(es);
            assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32), 32);
            assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32), 32);
            ECDSA_SIG_free(es);
            sig = b64url(raw, 64);
        } else {
            sig = b64url(der, dlen);
        }
    }
    n = strlen(input) + (sig ? strlen(sig) : 0) + 2;
    tok = malloc(n);
    assert_non_null(tok);
    snprintf(tok, n, "%s.%s", input, sig ? sig : "");
    EVP_MD_CTX_free(md);
    free(h);
    free(p);
    free(sig);
    free(input);
    return tok;
}

/* Writes key's public half as PEM to a new temporary file named in path (64 bytes). */
static void write_pubkey(EVP_PKEY *key, char *path)
{
    int fd;
    FILE *fp;

    memcpy(path, "/tmp/modq-api-key-XXXXXX", sizeof("/tmp/modq-api-key-XXXXXX"));
    assert_true((fd = mkstemp(path)) >= 0);
    assert_non_null(fp = fdopen(fd, "w"));
    assert_int_equal(PEM_write_PUBKEY(fp, key), 1);
    fclose(fp);
}

/* The 401 every refusal must produce, byte for byte, for method path (with body, may be NULL). */
static char *refusal_at(at_fixture *f, const at_server *s, const char *method, const char *path,
                        const char *req_body, const char *auth)
{
    at_resp r;
    char hv[128], *body;
    json_t *js;

    at_request_on(s ? s : &f->srv, method, path, auth, req_body, req_body ? strlen(req_body) : 0,
                  &r);
    if (r.status != 401) {
        print_error("expected 401 for %s %s [%.60s], got %ld: %s\n", method, path,
                    auth ? auth : "(none)", r.status, r.body);
    }
    assert_int_equal(r.status, 401);
    assert_non_null(at_header(&r, "WWW-Authenticate", hv, sizeof(hv)));
    assert_string_equal(hv, "Bearer realm=\"modq\"");
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "error")), "unauthorized");
    assert_string_equal(json_string_value(json_object_get(js, "message")),
                        "A valid bearer token is required.");
    assert_int_equal(json_object_size(js), 2);
    json_decref(js);
    body = r.body;
    r.body = NULL;
    at_resp_free(&r);
    return body;
}

static char *refusal(at_fixture *f, const at_server *s, const char *auth)
{
    return refusal_at(f, s, "GET", "/v1/me", NULL, auth);
}

static void expect_ok(at_fixture *f, const at_server *s, const char *auth, const char *sub)
{
    at_resp r;
    json_t *js;

    at_request_on(s ? s : &f->srv, "GET", "/v1/me", auth, NULL, 0, &r);
    if (r.status != 200) {
        print_error("expected 200, got %ld: %s\n", r.status, r.body);
    }
    assert_int_equal(r.status, 200);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "associate")), sub);
    json_decref(js);
    at_resp_free(&r);
}

#define REFUSED "\"msg\":\"bearer token refused\""

/* "Bearer tok" (or another prefix); caller frees. */
static char *with_scheme(const char *scheme, const char *tok)
{
    size_t n = strlen(scheme) + strlen(tok) + 1;
    char *s = malloc(n);

    assert_non_null(s);
    snprintf(s, n, "%s%s", scheme, tok);
    return s;
}

static void test_every_bad_token_gets_the_same_401(void **state)
{
    at_fixture *f = *state;
    int64_t now_s = AT_T0 / 1000;
    char *good = at_token(f, "a1", "associate"), *claims = claims_json(f, "a1");
    char *auths[32], *first, *body, *log, *tok, long_tok[MODQ_JWT_MAX_TOKEN + 64];
    size_t n = 0, lines;
    EVP_PKEY *rsa = EVP_RSA_gen(2048);

    assert_non_null(rsa);
    auths[n++] = strdup("Basic YTE6cGFzc3dvcmQ=");
    auths[n++] = strdup("Bearer");
    auths[n++] = strdup("Bearer ");
    auths[n++] = with_scheme("Bearer  ", good); /* two spaces */
    auths[n++] = with_scheme("Token ", good);
    auths[n++] = with_scheme("Beerer ", good); /* seven bytes, like "Bearer " */
    auths[n++] = with_scheme("Bearer", good);
    auths[n++] = strdup("Bearer not-a-jwt-at-all");
    auths[n++] = strdup("Bearer a.b.c");
    tok = sign_jws("none", NULL, claims);
    auths[n++] = with_scheme("Bearer ", tok);
    free(tok);
    tok = sign_jws("RS256", rsa, claims); /* this server allows HS256 only */
    auths[n++] = with_scheme("Bearer ", tok);
    free(tok);
    tok = at_token_ex(f, "a1", "associate", AT_ISSUER, AT_AUDIENCE, now_s - 7200, AT_SECRET);
    auths[n++] = with_scheme("Bearer ", tok); /* expired an hour ago */
    free(tok);
    tok = at_token_ex(f, "a1", "associate", AT_ISSUER, AT_AUDIENCE, now_s + 3600, AT_SECRET);
    auths[n++] = with_scheme("Bearer ", tok); /* issued in an hour */
    free(tok);
    tok = at_token_ex(f, "a1", "associate", "https://evil.test", AT_AUDIENCE, 0, AT_SECRET);
    auths[n++] = with_scheme("Bearer ", tok);
    free(tok);
    tok = at_token_ex(f, "a1", "associate", AT_ISSUER, "someone-else", 0, AT_SECRET);
    auths[n++] = with_scheme("Bearer ", tok);
    free(tok);
    tok = at_token_ex(f, "a1", "associate", AT_ISSUER, AT_AUDIENCE, 0,
                      "another-secret-that-is-long-enough-0123");
    auths[n++] = with_scheme("Bearer ", tok);
    free(tok);
    /* The good token with one payload bit flipped: the signature no longer matches. */
    tok = strdup(good);
    tok[strchr(tok, '.') - tok + 5] ^= 0x01;
    auths[n++] = with_scheme("Bearer ", tok);
    free(tok);
    memset(long_tok, 'a', sizeof(long_tok) - 1);
    long_tok[sizeof(long_tok) - 1] = '\0';
    auths[n++] = with_scheme("Bearer ", long_tok);

    first = refusal(f, NULL, NULL); /* no header at all */
    for (size_t i = 0; i < n; i++) {
        body = refusal(f, NULL, auths[i]);
        assert_string_equal(body, first);
        free(body);
    }
    /* Each refusal was audited with its reason and the instant. */
    assert_int_equal(atomic_load(&f->auth_failures), (int)n + 1);
    /* The reasons are in the log, at info; the token is not. */
    log = at_log_text(f);
    lines = 0;
    for (const char *p = log; (p = strstr(p, "\"level\":\"info\"")); p++) {
        lines += strncmp(strstr(p, "\"msg\":"), REFUSED, sizeof(REFUSED) - 1) == 0;
    }
    assert_int_equal(lines, n + 1);
    assert_non_null(strstr(log, "\"reason\":\"no Authorization header\""));
    assert_null(strstr(log, strrchr(good, '.') + 1));
    free(log);
    free(first);
    for (size_t i = 0; i < n; i++) {
        free(auths[i]);
    }
    free(good);
    free(claims);
    EVP_PKEY_free(rsa);
}

/* Every route under /v1/ answers the same 401 without a token or with a forged one, before
 * anything else is looked at (an item id that does not exist, a body that is not JSON, a level
 * the tier forbids): a caller without a token learns nothing about items or people. */
static void test_every_v1_route_refuses_without_a_valid_token(void **state)
{
    at_fixture *f = *state;
    static const char *const routes[][3] = {
        {"GET", "/v1/next", NULL},
        {"GET", "/v1/next?queue=escalations", NULL},
        {"GET", "/v1/items/h1/media", NULL},
        {"GET", "/v1/items/h1/media?level=0&colour=1", NULL},
        {"POST", "/v1/items/h1/reveal", "{\"level\":0,\"reason\":\"x\"}"},
        {"POST", "/v1/items/h1/decision", "{\"verdict\":\"remove\"}"},
        {"POST", "/v1/items/h1/escalate", "{}"},
        {"POST", "/v1/items/h1/release", NULL},
        {"POST", "/v1/breaks/start", NULL},
        {"POST", "/v1/breaks/end", NULL},
        {"POST", "/v1/support", "not json"},
        {"GET", "/v1/me", NULL},
        {"GET", "/v1/team", NULL},
        {"POST", "/v1/team/support/ack", "{\"associate\":\"a1\"}"},
    };
    char *good = at_token(f, "a1", "associate"), *forged = strdup(good), *bad, *first, *body;
    size_t n = sizeof routes / sizeof routes[0];

    assert_non_null(forged);
    /* Another signature character, still base64url: a bad signature, not a malformed token. */
    forged[strlen(forged) - 2] = forged[strlen(forged) - 2] == 'A' ? 'B' : 'A';
    bad = with_scheme("Bearer ", forged);
    first = refusal(f, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        for (int forge = 0; forge < 2; forge++) {
            body =
                refusal_at(f, NULL, routes[i][0], routes[i][1], routes[i][2], forge ? bad : NULL);
            assert_string_equal(body, first);
            free(body);
        }
    }
    assert_int_equal(atomic_load(&f->auth_failures), (int)(2 * n + 1));
    free(first);
    free(bad);
    free(forged);
    free(good);
}

static void test_scheme_is_case_insensitive_and_roles_come_through(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "l1", "lead"), *auth;
    at_resp r;

    auth = with_scheme("Bearer ", tok);
    expect_ok(f, NULL, auth, "l1");
    free(auth);
    auth = with_scheme("bearer ", tok);
    expect_ok(f, NULL, auth, "l1");
    free(auth);
    auth = with_scheme("BEARER ", tok);
    expect_ok(f, NULL, auth, "l1");
    /* The lead role from the token reaches the desk. */
    assert_int_equal(at_request_on(&f->srv, "GET", "/v1/team", auth, NULL, 0, &r), 200);
    at_resp_free(&r);
    free(auth);
    free(tok);
    assert_int_equal(atomic_load(&f->auth_failures), 0);
}

static void test_token_expires_as_the_clock_moves(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate"), *auth = with_scheme("Bearer ", tok), *body;
    at_resp r;

    expect_ok(f, NULL, auth, "a1");
    atomic_store(&f->now_ms, AT_T0 + 3601 * 1000); /* ttl 3600 s, no leeway */
    body = refusal(f, NULL, auth);
    free(body);
    assert_int_equal(atomic_load(&f->auth_failures), 1);
    assert_int_equal(at_request(f, "GET", "/metrics", NULL, NULL, &r), 200);
    assert_non_null(strstr(r.body, "modq_auth_failures_total 1"));
    at_resp_free(&r);
    free(auth);
    free(tok);
}

/* A server whose keys are key's public half (as PEM) for algorithm alg only. */
static void pem_server(at_fixture *f, EVP_PKEY *key, unsigned alg, char *pem, modq_jwt_keys **keys,
                       at_server *s)
{
    write_pubkey(key, pem);
    *keys = at_keys(alg, pem);
    assert_non_null(*keys);
    assert_int_equal(at_server_start(f, *keys, NULL, s), 0);
}

static void test_rs256_and_es256_with_a_pem_key(void **state)
{
    at_fixture *f = *state;
    EVP_PKEY *rsa = EVP_RSA_gen(2048), *rsa2 = EVP_RSA_gen(2048);
    EVP_PKEY *ec = EVP_EC_gen("P-256"), *ec2 = EVP_EC_gen("P-256");
    char *claims = claims_json(f, "a7"), rs_pem[64], es_pem[64], *tok, *auth, *pem_text;
    char err[256];
    modq_jwt_keys *rs_keys = NULL, *es_keys = NULL;
    at_server rs, es;
    size_t pem_len = 0;
    const char *roles[] = {"associate"};
    modq_jwt_mint_opts mo = {.sub = "a7",
                             .roles = roles,
                             .nroles = 1,
                             .issuer = AT_ISSUER,
                             .audience = AT_AUDIENCE,
                             .now_s = AT_T0 / 1000,
                             .ttl_s = 600};

    assert_true(rsa && rsa2 && ec && ec2);
    pem_server(f, rsa, MODQ_JWT_RS256, rs_pem, &rs_keys, &rs);
    pem_server(f, ec, MODQ_JWT_ES256, es_pem, &es_keys, &es);

    tok = sign_jws("RS256", rsa, claims);
    auth = with_scheme("Bearer ", tok);
    expect_ok(f, &rs, auth, "a7");
    free(refusal(f, &es, auth)); /* the ES256 server does not take RS256 */
    free(auth);
    free(tok);
    tok = sign_jws("RS256", rsa2, claims);
    auth = with_scheme("Bearer ", tok);
    free(refusal(f, &rs, auth));
    free(auth);
    free(tok);

    tok = sign_jws("ES256", ec, claims);
    auth = with_scheme("Bearer ", tok);
    expect_ok(f, &es, auth, "a7");
    free(refusal(f, &rs, auth));
    free(auth);
    free(tok);
    tok = sign_jws("ES256", ec2, claims);
    auth = with_scheme("Bearer ", tok);
    free(refusal(f, &es, auth));
    free(auth);
    free(tok);

    /* HS256 "signed" with the public key as the secret: the classic confusion. */
    pem_text = at_read_file(rs_pem, &pem_len);
    assert_non_null(pem_text);
    assert_int_equal(
        modq_jwt_mint_hs256((const unsigned char *)pem_text, pem_len, &mo, &tok, err, sizeof(err)),
        MODQ_JWT_OK);
    auth = with_scheme("Bearer ", tok);
    free(refusal(f, &rs, auth));
    free(auth);
    free(tok);
    free(pem_text);
    tok = at_token(f, "a1", "associate");
    auth = with_scheme("Bearer ", tok);
    free(refusal(f, &rs, auth)); /* no HS256 on this server */
    free(auth);
    free(tok);
    assert_int_equal(atomic_load(&f->auth_failures), 6);

    at_server_stop(&rs);
    at_server_stop(&es);
    modq_jwt_keys_free(rs_keys);
    modq_jwt_keys_free(es_keys);
    unlink(rs_pem);
    unlink(es_pem);
    free(claims);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(rsa2);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ec2);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, at_setup, at_teardown)
    const struct CMUnitTest tests[] = {
        T(test_every_bad_token_gets_the_same_401),
        T(test_every_v1_route_refuses_without_a_valid_token),
        T(test_scheme_is_case_insensitive_and_roles_come_through),
        T(test_token_expires_as_the_clock_moves),
        T(test_rs256_and_es256_with_a_pem_key),
    };
    int failed;

    if (at_global_init("test_worker_api_auth") != 0) {
        return 1;
    }
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    at_global_cleanup();
    return failed;
}
