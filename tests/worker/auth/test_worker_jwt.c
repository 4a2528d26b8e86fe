/*
 * test_worker_jwt.c: bearer tokens (worker/auth/jwt*.c). Tokens are built here with OpenSSL
 * directly (jwt_testutil.h), never with the module: HS256 minting read back, RS256 and ES256
 * through a PEM key and a JWKS (kid selection), and each way a token must be refused, algorithm
 * confusion included, with its own result code. Keys are generated per run.
 */
#include "jwt_testutil.h"

static void test_mint_hs256_roundtrip_keeps_every_claim(void **state)
{
    (void)state;
    const char *roles[] = {"associate", "lead", "intern"};
    const char *skills[] = {"csam_trained", "extremism"};
    const char *locales[] = {"ar", "de-DE"};
    const char *opt_outs[] = {"gore"};
    modq_jwt_mint_opts m = {.sub = "a1",
                            .team = "t1",
                            .roles = roles,
                            .nroles = 3,
                            .skills = skills,
                            .nskills = 2,
                            .locales = locales,
                            .nlocales = 2,
                            .opt_outs = opt_outs,
                            .nopt_outs = 1,
                            .issuer = "https://idp.example",
                            .audience = "modq",
                            .now_s = NOW,
                            .ttl_s = 900};
    char *tok = NULL, err[256] = "";
    modq_jwt_claims c;

    assert_int_equal(modq_jwt_mint_hs256((const unsigned char *)SECRET, strlen(SECRET), &m, &tok,
                                         err, sizeof err),
                     MODQ_JWT_OK);
    /* The header is exactly alg and typ; the time claims are where they should be. */
    const char *dot1 = strchr(tok, '.'), *dot2 = strchr(dot1 + 1, '.');
    size_t n;
    unsigned char *raw = tu_unb64url(tok, (size_t)(dot1 - tok), &n);
    json_t *h = json_loadb((const char *)raw, n, 0, NULL);
    free(raw);
    assert_non_null(h);
    assert_int_equal(json_object_size(h), 2);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "HS256");
    assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
    json_decref(h);
    raw = tu_unb64url(dot1 + 1, (size_t)(dot2 - dot1 - 1), &n);
    json_t *p = json_loadb((const char *)raw, n, 0, NULL);
    free(raw);
    assert_non_null(p);
    assert_int_equal(json_integer_value(json_object_get(p, "iat")), NOW);
    assert_int_equal(json_integer_value(json_object_get(p, "nbf")), NOW);
    assert_int_equal(json_integer_value(json_object_get(p, "exp")), NOW + 900);
    json_decref(p);

    modq_jwt_keys *k = keys(MODQ_JWT_HS256, SECRET, NULL, NULL);
    char *other = dup_str(tok);
    expect_at(k, tok, NOW + 10, MODQ_JWT_OK, &c);
    assert_string_equal(c.sub, "a1");
    assert_string_equal(c.team, "t1");
    assert_int_equal(c.roles, MODQ_JWT_ROLE_ASSOCIATE | MODQ_JWT_ROLE_LEAD);
    assert_int_equal(c.nskills, 4);
    assert_string_equal(c.skills[0], "csam_trained");
    assert_string_equal(c.skills[1], "extremism");
    assert_string_equal(c.skills[2], "ar");
    assert_string_equal(c.skills[3], "de-DE");
    assert_int_equal(c.nopt_outs, 1);
    assert_string_equal(c.opt_outs[0], "gore");
    assert_int_equal(c.exp, NOW + 900);
    modq_jwt_keys_free(k);

    /* Another secret does not verify it. */
    k = keys(MODQ_JWT_HS256, SECRET " but longer", NULL, NULL);
    expect(k, other, MODQ_JWT_ERR_SIGNATURE);
    modq_jwt_keys_free(k);
}

static void test_mint_refuses_what_cannot_be_read_back(void **state)
{
    (void)state;
    const char *many[MODQ_JWT_MAX_LIST + 1];
    const char *roles[] = {"associate"};
    char long_sub[MODQ_JWT_MAX_NAME + 1];
    char *tok = NULL;
    modq_jwt_mint_opts m = {.sub = "a1", .roles = roles, .nroles = 1, .now_s = NOW, .ttl_s = 60};

    for (size_t i = 0; i <= MODQ_JWT_MAX_LIST; i++) {
        many[i] = "x";
    }
    assert_int_equal(modq_jwt_mint_hs256((const unsigned char *)SECRET, 31, &m, &tok, NULL, 0),
                     MODQ_JWT_ERR_KEY);
    m.ttl_s = 0;
    assert_int_equal(
        modq_jwt_mint_hs256((const unsigned char *)SECRET, strlen(SECRET), &m, &tok, NULL, 0),
        MODQ_JWT_ERR_INVALID_ARG);
    m.ttl_s = 60;
    m.skills = many;
    m.nskills = MODQ_JWT_MAX_LIST;
    m.locales = many;
    m.nlocales = 1;
    assert_int_equal(
        modq_jwt_mint_hs256((const unsigned char *)SECRET, strlen(SECRET), &m, &tok, NULL, 0),
        MODQ_JWT_ERR_INVALID_ARG);
    m.nlocales = 0;
    memset(long_sub, 's', MODQ_JWT_MAX_NAME);
    long_sub[MODQ_JWT_MAX_NAME] = '\0';
    m.sub = long_sub;
    assert_int_equal(
        modq_jwt_mint_hs256((const unsigned char *)SECRET, strlen(SECRET), &m, &tok, NULL, 0),
        MODQ_JWT_ERR_INVALID_ARG);
    assert_null(tok);
}

static void test_rs256_verifies_with_pem_key(void **state)
{
    fixture *f = *state;
    modq_jwt_keys *k = keys(MODQ_JWT_RS256, NULL, f->rsa1_path, NULL);
    modq_jwt_claims c;

    assert_int_equal(modq_jwt_keys_count(k), 1);
    expect_at(k, tu_token_claims(hdr_rs, good_claims(), PK(f->rsa1)), NOW, MODQ_JWT_OK, &c);
    assert_string_equal(c.sub, "a1");
    assert_int_equal(c.roles, MODQ_JWT_ROLE_ASSOCIATE);
    /* A kid the PEM key cannot name still reaches it; another key's signature does not. */
    expect(k, tu_token_claims("{\"alg\":\"RS256\",\"kid\":\"any\"}", good_claims(), PK(f->rsa1)),
           MODQ_JWT_OK);
    expect(k, tu_token_claims(hdr_rs, good_claims(), PK(f->rsa2)), MODQ_JWT_ERR_SIGNATURE);
    modq_jwt_keys_free(k);
}

static void test_rs256_jwks_selects_key_by_kid(void **state)
{
    fixture *f = *state;
    modq_jwt_keys *k = keys(MODQ_JWT_RS256 | MODQ_JWT_ES256, NULL, NULL, f->jwks_path);

    assert_int_equal(modq_jwt_keys_count(k), 3);
    expect(k, tu_token_claims("{\"alg\":\"RS256\",\"kid\":\"k2\"}", good_claims(), PK(f->rsa2)),
           MODQ_JWT_OK);
    expect(k, tu_token_claims("{\"alg\":\"RS256\",\"kid\":\"k1\"}", good_claims(), PK(f->rsa1)),
           MODQ_JWT_OK);
    /* The kid names the only key tried: k2's signature under kid k1 fails. */
    expect(k, tu_token_claims("{\"alg\":\"RS256\",\"kid\":\"k1\"}", good_claims(), PK(f->rsa2)),
           MODQ_JWT_ERR_SIGNATURE);
    expect(k, tu_token_claims("{\"alg\":\"RS256\",\"kid\":\"k9\"}", good_claims(), PK(f->rsa2)),
           MODQ_JWT_ERR_SIGNATURE);
    /* Without a kid every RSA key is tried. */
    expect(k, tu_token_claims(hdr_rs, good_claims(), PK(f->rsa2)), MODQ_JWT_OK);
    modq_jwt_keys_free(k);
}

static void test_es256_verifies_with_pem_and_jwks(void **state)
{
    fixture *f = *state;
    modq_jwt_keys *pem = keys(MODQ_JWT_ES256, NULL, f->ec1_path, NULL);
    modq_jwt_keys *jwks = keys(MODQ_JWT_ES256 | MODQ_JWT_RS256, NULL, NULL, f->jwks_path);

    expect(pem, tu_token_claims(hdr_es, good_claims(), PK(f->ec1)), MODQ_JWT_OK);
    expect(pem, tu_token_claims(hdr_es, good_claims(), PK(f->ec2)), MODQ_JWT_ERR_SIGNATURE);
    expect(jwks, tu_token_claims("{\"alg\":\"ES256\",\"kid\":\"e1\"}", good_claims(), PK(f->ec1)),
           MODQ_JWT_OK);
    expect(jwks, tu_token_claims(hdr_es, good_claims(), PK(f->ec1)), MODQ_JWT_OK);
    expect(jwks, tu_token_claims(hdr_es, good_claims(), PK(f->ec2)), MODQ_JWT_ERR_SIGNATURE);
    modq_jwt_keys_free(pem);
    modq_jwt_keys_free(jwks);
}

static void test_es256_der_signature_is_rejected(void **state)
{
    fixture *f = *state;
    modq_jwt_keys *k = keys(MODQ_JWT_ES256, NULL, f->ec1_path, NULL);

    expect(k, tu_token_claims(hdr_es, good_claims(), PK_DER(f->ec1)), MODQ_JWT_ERR_SIGNATURE);
    modq_jwt_keys_free(k);
}

static void test_alg_none_is_rejected(void **state)
{
    fixture *f = *state;
    modq_jwt_keys *k = keys(MODQ_JWT_HS256 | MODQ_JWT_RS256, SECRET, f->rsa1_path, NULL);
    const signer none = {SIG_NONE, NULL, 0, NULL};

    expect(k, tu_token_claims("{\"alg\":\"none\",\"typ\":\"JWT\"}", good_claims(), none),
           MODQ_JWT_ERR_ALG);
    expect(k, tu_token_claims("{\"alg\":\"None\"}", good_claims(), none), MODQ_JWT_ERR_ALG);
    expect(k, tu_token_claims("{\"typ\":\"JWT\"}", good_claims(), none), MODQ_JWT_ERR_ALG);
    expect(k, tu_token_claims("{\"alg\":\"HS512\"}", good_claims(), HS(SECRET)), MODQ_JWT_ERR_ALG);
    modq_jwt_keys_free(k);
}

static void test_alg_outside_allowed_set_is_rejected(void **state)
{
    fixture *f = *state;
    modq_jwt_keys *hs = keys(MODQ_JWT_HS256, SECRET, NULL, NULL);
    modq_jwt_keys *rs = keys(MODQ_JWT_RS256, NULL, f->rsa1_path, NULL);

    expect(hs, tu_token_claims(hdr_rs, good_claims(), PK(f->rsa1)), MODQ_JWT_ERR_ALG);
    expect(rs, tu_token_claims(hdr_hs, good_claims(), HS(SECRET)), MODQ_JWT_ERR_ALG);
    expect(rs, tu_token_claims(hdr_es, good_claims(), PK(f->ec1)), MODQ_JWT_ERR_ALG);
    modq_jwt_keys_free(hs);
    modq_jwt_keys_free(rs);
}

static void test_hs256_signed_with_public_key_is_rejected(void **state)
{
    fixture *f = *state;
    modq_jwt_keys *k = keys(MODQ_JWT_HS256 | MODQ_JWT_RS256, SECRET, f->rsa1_path, NULL);
    modq_jwt_keys *no_secret = keys(MODQ_JWT_HS256 | MODQ_JWT_RS256, NULL, f->rsa1_path, NULL);

    /* The verifier itself accepts both kinds, each with its own key. */
    expect(k, tu_token_claims(hdr_rs, good_claims(), PK(f->rsa1)), MODQ_JWT_OK);
    expect(k, tu_token_claims(hdr_hs, good_claims(), HS(SECRET)), MODQ_JWT_OK);
    /* The public key's PEM text as an HMAC secret is no secret at all. */
    expect(k, tu_token_claims(hdr_hs, good_claims(), HS(f->rsa1_pem)), MODQ_JWT_ERR_SIGNATURE);
    expect(no_secret, tu_token_claims(hdr_hs, good_claims(), HS(f->rsa1_pem)), MODQ_JWT_ERR_ALG);
    modq_jwt_keys_free(k);
    modq_jwt_keys_free(no_secret);
}

static void test_flipped_signature_bit_is_rejected(void **state)
{
    fixture *f = *state;
    modq_jwt_keys *k =
        keys(MODQ_JWT_HS256 | MODQ_JWT_RS256 | MODQ_JWT_ES256, SECRET, NULL, f->jwks_path);

    expect(k, flip_signature_bit(tu_token_claims(hdr_hs, good_claims(), HS(SECRET)), 7),
           MODQ_JWT_ERR_SIGNATURE);
    expect(k, flip_signature_bit(tu_token_claims(hdr_rs, good_claims(), PK(f->rsa2)), 100),
           MODQ_JWT_ERR_SIGNATURE);
    expect(k, flip_signature_bit(tu_token_claims(hdr_es, good_claims(), PK(f->ec1)), 40),
           MODQ_JWT_ERR_SIGNATURE);
    modq_jwt_keys_free(k);
}

static void test_flipped_payload_byte_is_rejected(void **state)
{
    fixture *f = *state;
    modq_jwt_keys *k = keys(MODQ_JWT_HS256 | MODQ_JWT_ES256, SECRET, f->ec1_path, NULL);
    char *toks[] = {tu_token_claims(hdr_hs, good_claims(), HS(SECRET)),
                    tu_token_claims(hdr_es, good_claims(), PK(f->ec1))};

    for (size_t i = 0; i < 2; i++) {
        /* A middle character of the payload, so the encoding stays canonical. */
        char *p = strchr(toks[i], '.') + 10;
        *p = *p == 'A' ? 'B' : 'A';
        expect(k, toks[i], MODQ_JWT_ERR_SIGNATURE);
    }
    modq_jwt_keys_free(k);
}

static void test_expired_is_rejected_and_leeway_accepted(void **state)
{
    (void)state;
    modq_jwt_keys *k = keys(MODQ_JWT_HS256, SECRET, NULL, NULL);

    /* exp passed 59 s ago is inside the default 60 s leeway; 60 s ago is not. */
    expect(k, hs_with("exp", json_integer(NOW - 59)), MODQ_JWT_OK);
    expect(k, hs_with("exp", json_integer(NOW - 60)), MODQ_JWT_ERR_EXPIRED);
    expect(k, hs_with("exp", json_real((double)NOW + 0.5)), MODQ_JWT_OK);
    expect(k, hs_with("exp", NULL), MODQ_JWT_ERR_EXPIRED);
    expect(k, hs_with("exp", json_string("tomorrow")), MODQ_JWT_ERR_MALFORMED);
    modq_jwt_keys_free(k);

    modq_jwt_key_opts o = {.algorithms = MODQ_JWT_HS256,
                           .secret = (const unsigned char *)SECRET,
                           .secret_len = strlen(SECRET),
                           .leeway_s = 0};
    assert_int_equal(modq_jwt_keys_new(&o, &k, NULL, 0), MODQ_JWT_OK);
    expect(k, hs_with("exp", json_integer(NOW)), MODQ_JWT_ERR_EXPIRED);
    expect(k, hs_with("exp", json_integer(NOW + 1)), MODQ_JWT_OK);
    modq_jwt_keys_free(k);
}

static void test_nbf_or_iat_in_future_is_rejected(void **state)
{
    (void)state;
    modq_jwt_keys *k = keys(MODQ_JWT_HS256, SECRET, NULL, NULL);

    expect(k, hs_with("nbf", json_integer(NOW + 61)), MODQ_JWT_ERR_NOT_YET);
    expect(k, hs_with("nbf", json_integer(NOW + 60)), MODQ_JWT_OK);
    expect(k, hs_with("iat", json_integer(NOW + 120)), MODQ_JWT_ERR_NOT_YET);
    expect(k, hs_with("nbf", json_string("now")), MODQ_JWT_ERR_MALFORMED);
    modq_jwt_keys_free(k);
}

static void test_wrong_issuer_is_rejected(void **state)
{
    (void)state;
    modq_jwt_keys *k = keys(MODQ_JWT_HS256, SECRET, NULL, NULL);

    expect(k, hs_with("iss", json_string("https://evil.example")), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("iss", json_string("https://idp.example/")), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("iss", NULL), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("iss", json_integer(1)), MODQ_JWT_ERR_CLAIMS);
    modq_jwt_keys_free(k);
}

static void test_wrong_audience_is_rejected_as_string_and_array(void **state)
{
    (void)state;
    modq_jwt_keys *k = keys(MODQ_JWT_HS256, SECRET, NULL, NULL);

    expect(k, hs_with("aud", json_string("other")), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("aud", json_pack("[ss]", "other", "modqx")), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("aud", json_pack("[ss]", "other", "modq")), MODQ_JWT_OK);
    expect(k, hs_with("aud", json_pack("[si]", "modq", 1)), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("aud", NULL), MODQ_JWT_ERR_CLAIMS);
    modq_jwt_keys_free(k);
}

static void test_sub_missing_or_too_long_is_rejected(void **state)
{
    (void)state;
    modq_jwt_keys *k = keys(MODQ_JWT_HS256, SECRET, NULL, NULL);
    char name[MODQ_JWT_MAX_NAME + 1];
    modq_jwt_claims c;

    memset(name, 'a', MODQ_JWT_MAX_NAME);
    name[MODQ_JWT_MAX_NAME] = '\0';
    expect(k, hs_with("sub", json_string(name)), MODQ_JWT_ERR_CLAIMS);
    name[MODQ_JWT_MAX_NAME - 1] = '\0';
    expect_at(k, hs_with("sub", json_string(name)), NOW, MODQ_JWT_OK, &c);
    assert_string_equal(c.sub, name);
    expect(k, hs_with("sub", NULL), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("sub", json_string("")), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("sub", json_integer(7)), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("sub", json_string("a\nb")), MODQ_JWT_ERR_CLAIMS);
    modq_jwt_keys_free(k);
}

static void test_roles_need_a_known_role(void **state)
{
    (void)state;
    modq_jwt_keys *k = keys(MODQ_JWT_HS256, SECRET, NULL, NULL);
    modq_jwt_claims c;

    expect(k, hs_with("roles", json_pack("[s]", "admin")), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("roles", json_array()), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("roles", NULL), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("roles", json_string("lead")), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("roles", json_pack("[si]", "qa", 1)), MODQ_JWT_ERR_CLAIMS);
    expect_at(k, hs_with("roles", json_pack("[ss]", "admin", "qa")), NOW, MODQ_JWT_OK, &c);
    assert_int_equal(c.roles, MODQ_JWT_ROLE_QA);
    modq_jwt_keys_free(k);
}

static void test_skills_and_locales_share_one_cap(void **state)
{
    (void)state;
    modq_jwt_keys *k = keys(MODQ_JWT_HS256, SECRET, NULL, NULL);
    modq_jwt_claims c;
    json_t *claims = good_claims();

    json_object_set_new(claims, "skills", names(MODQ_JWT_MAX_LIST - 6, 3));
    json_object_set_new(claims, "locales", names(6, MODQ_JWT_MAX_NAME - 1));
    json_object_set_new(claims, "team", json_string("t1"));
    expect_at(k, tu_token_claims(hdr_hs, json_deep_copy(claims), HS(SECRET)), NOW, MODQ_JWT_OK, &c);
    assert_int_equal(c.nskills, MODQ_JWT_MAX_LIST);
    assert_string_equal(c.skills[0], "aaa");
    assert_int_equal(strlen(c.skills[MODQ_JWT_MAX_LIST - 1]), MODQ_JWT_MAX_NAME - 1);
    assert_string_equal(c.team, "t1");
    json_object_set_new(claims, "locales", names(7, 2));
    expect(k, tu_token_claims(hdr_hs, claims, HS(SECRET)), MODQ_JWT_ERR_CLAIMS);

    expect(k, hs_with("skills", names(1, MODQ_JWT_MAX_NAME)), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("skills", names(1, 0)), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("locales", json_string("de")), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("opt_outs", names(MODQ_JWT_MAX_LIST + 1, 2)), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("opt_outs", json_pack("[b]", 1)), MODQ_JWT_ERR_CLAIMS);
    expect(k, hs_with("team", json_integer(3)), MODQ_JWT_ERR_CLAIMS);
    char team[MODQ_JWT_MAX_NAME + 1];
    memset(team, 't', MODQ_JWT_MAX_NAME);
    team[MODQ_JWT_MAX_NAME] = '\0';
    expect(k, hs_with("team", json_string(team)), MODQ_JWT_ERR_CLAIMS);
    modq_jwt_keys_free(k);
}

static void test_malformed_base64url_is_rejected(void **state)
{
    (void)state;
    modq_jwt_keys *k = keys(MODQ_JWT_HS256, SECRET, NULL, NULL);
    /* A 16-byte header: 22 characters, the last carrying 4 unused bits. */
    const char *hdr16 = "{\"alg\":\"HS256\"} ";
    char *h = tu_b64url((const unsigned char *)hdr16, strlen(hdr16));
    char *p = tu_b64url((const unsigned char *)"{}", 2);
    char input[256];
    size_t hl = strlen(h);

    assert_int_equal(hl % 4, 2);
    snprintf(input, sizeof input, "%s.%s", h, p);
    expect(k, tu_token_claims(hdr16, good_claims(), HS(SECRET)), MODQ_JWT_OK);
    h[hl - 1] = (char)(h[hl - 1] + 1); /* same bytes, non-zero unused bits */
    snprintf(input, sizeof input, "%s.%s", h, p);
    expect(k, tu_finish(input, HS(SECRET)), MODQ_JWT_ERR_MALFORMED);
    h[hl - 1] = (char)(h[hl - 1] - 1);
    h[3] = '+';
    snprintf(input, sizeof input, "%s.%s", h, p);
    expect(k, tu_finish(input, HS(SECRET)), MODQ_JWT_ERR_MALFORMED);
    /* A payload character outside the alphabet, under a valid signature. */
    snprintf(input, sizeof input, "eyJhbGciOiJIUzI1NiJ9.%s!", p);
    expect(k, tu_finish(input, HS(SECRET)), MODQ_JWT_ERR_MALFORMED);
    /* Padding is never accepted. */
    char *tok = tu_token_claims(hdr_hs, good_claims(), HS(SECRET));
    size_t size = strlen(tok) + 3;
    char *padded = malloc(size);
    assert_non_null(padded);
    snprintf(padded, size, "%s==", tok);
    expect(k, tok, MODQ_JWT_OK);
    expect(k, padded, MODQ_JWT_ERR_MALFORMED);
    expect(k, dup_str("A.e30.AAAA"), MODQ_JWT_ERR_MALFORMED);
    free(h);
    free(p);
    modq_jwt_keys_free(k);
}

static void test_token_without_three_parts_is_rejected(void **state)
{
    (void)state;
    modq_jwt_keys *k = keys(MODQ_JWT_HS256, SECRET, NULL, NULL);
    char *tok = tu_token_claims(hdr_hs, good_claims(), HS(SECRET));
    size_t size = strlen(tok) + 8;
    char *four = malloc(size);

    assert_non_null(four);
    snprintf(four, size, "%s.AAAA", tok);
    expect(k, four, MODQ_JWT_ERR_MALFORMED);
    *strrchr(tok, '.') = '\0';
    expect(k, tok, MODQ_JWT_ERR_MALFORMED);
    expect(k, dup_str(""), MODQ_JWT_ERR_MALFORMED);
    modq_jwt_keys_free(k);
}

static void test_oversized_token_is_rejected(void **state)
{
    (void)state;
    modq_jwt_keys *k = keys(MODQ_JWT_HS256, SECRET, NULL, NULL);
    char pad[MODQ_JWT_MAX_TOKEN];

    /* About 7 KiB encoded passes; over the cap the same valid token fails on its size. */
    memset(pad, 'x', 5000);
    pad[5000] = '\0';
    char *tok = hs_with("pad", json_string(pad));
    assert_true(strlen(tok) < MODQ_JWT_MAX_TOKEN);
    expect(k, tok, MODQ_JWT_OK);
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    tok = hs_with("pad", json_string(pad));
    assert_true(strlen(tok) > MODQ_JWT_MAX_TOKEN);
    expect(k, tok, MODQ_JWT_ERR_MALFORMED);
    modq_jwt_keys_free(k);
}

static void test_bad_headers_are_rejected(void **state)
{
    (void)state;
    modq_jwt_keys *k = keys(MODQ_JWT_HS256, SECRET, NULL, NULL);

    expect(k, tu_token_claims("[\"HS256\"]", good_claims(), HS(SECRET)), MODQ_JWT_ERR_MALFORMED);
    expect(k, tu_token_claims("\"HS256\"", good_claims(), HS(SECRET)), MODQ_JWT_ERR_MALFORMED);
    expect(k,
           tu_token_claims("{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", good_claims(),
                           HS(SECRET)),
           MODQ_JWT_ERR_MALFORMED);
    /* A declared type other than a JWT or an RFC 9068 access token is a token for another use. */
    expect(k,
           tu_token_claims("{\"alg\":\"HS256\",\"typ\":\"dpop+jwt\"}", good_claims(), HS(SECRET)),
           MODQ_JWT_ERR_MALFORMED);
    expect(k,
           tu_token_claims("{\"alg\":\"HS256\",\"typ\":\"application/secevent+jwt\"}",
                           good_claims(), HS(SECRET)),
           MODQ_JWT_ERR_MALFORMED);
    expect(k, tu_token_claims("{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", good_claims(), HS(SECRET)),
           MODQ_JWT_OK);
    expect(k,
           tu_token_claims("{\"alg\":\"HS256\",\"typ\":\"application/AT+JWT\"}", good_claims(),
                           HS(SECRET)),
           MODQ_JWT_OK);
    expect(k, tu_token_claims("{\"alg\":\"HS256\",\"alg\":\"none\"}", good_claims(), HS(SECRET)),
           MODQ_JWT_ERR_MALFORMED);
    expect(k, tu_token_claims("{\"alg\":\"HS256\",\"kid\":7}", good_claims(), HS(SECRET)),
           MODQ_JWT_ERR_MALFORMED);
    /* The payload too: an object, each claim once. */
    expect(k, tu_token(hdr_hs, "[1]", HS(SECRET)), MODQ_JWT_ERR_MALFORMED);
    expect(k,
           tu_token(hdr_hs,
                    "{\"sub\":\"a1\",\"sub\":\"lead1\",\"roles\":[\"lead\"],\"exp\":1764000600,"
                    "\"iss\":\"https://idp.example\",\"aud\":\"modq\"}",
                    HS(SECRET)),
           MODQ_JWT_ERR_MALFORMED);
    modq_jwt_keys_free(k);
}

static void test_jwks_skips_unusable_keys_and_needs_one(void **state)
{
    fixture *f = *state;
    char path[128];
    modq_jwt_keys *k = NULL;
    json_t *off_curve = tu_jwk(f->ec2, "bad", NULL);
    char *y = dup_str(json_string_value(json_object_get(off_curve, "y")));

    y[20] = y[20] == 'A' ? 'B' : 'A';
    json_object_set_new(off_curve, "y", json_string(y));
    free(y);
    json_t *enc = tu_jwk(f->rsa2, "enc", NULL), *wrong_alg = tu_jwk(f->rsa2, "wa", NULL);
    json_object_set_new(enc, "use", json_string("enc"));
    json_object_set_new(wrong_alg, "alg", json_string("ES256"));
    json_t *unusable =
        json_pack("[{ssss}{ssssss}ooooo]", "kty", "oct", "k", "c2VjcmV0", "kty", "OKP", "crv",
                  "Ed25519", "x", "AAAA", off_curve, tu_jwk(f->ec2, "p384", "P-384"),
                  tu_jwk(f->rsa_weak, "weak", NULL), enc, wrong_alg);
    json_t *with_one = json_deep_copy(unusable);
    json_array_append_new(with_one, tu_jwk(f->rsa1, "good", NULL));

    write_jwks(f, "mixed.jwks", with_one, path, sizeof path);
    k = keys(MODQ_JWT_RS256 | MODQ_JWT_ES256, NULL, NULL, path);
    assert_int_equal(modq_jwt_keys_count(k), 1);
    expect(k, tu_token_claims("{\"alg\":\"RS256\",\"kid\":\"good\"}", good_claims(), PK(f->rsa1)),
           MODQ_JWT_OK);
    expect(k, tu_token_claims("{\"alg\":\"RS256\",\"kid\":\"enc\"}", good_claims(), PK(f->rsa2)),
           MODQ_JWT_ERR_SIGNATURE);
    expect(k, tu_token_claims(hdr_es, good_claims(), PK(f->ec2)), MODQ_JWT_ERR_ALG);
    modq_jwt_keys_free(k);

    write_jwks(f, "none.jwks", unusable, path, sizeof path);
    assert_int_equal(try_keys(MODQ_JWT_RS256 | MODQ_JWT_ES256, NULL, NULL, path, &k),
                     MODQ_JWT_ERR_KEY);
    assert_null(k);
    write_file(f, "text.jwks", "{\"keys\": [", path, sizeof path);
    assert_int_equal(try_keys(MODQ_JWT_RS256, NULL, NULL, path, &k), MODQ_JWT_ERR_KEY);
    /* Keys of an algorithm not allowed are not loaded either. */
    assert_int_equal(try_keys(MODQ_JWT_HS256, SECRET, NULL, f->jwks_path, &k), MODQ_JWT_ERR_KEY);
}

static void test_keys_new_refuses_weak_or_missing_material(void **state)
{
    fixture *f = *state;
    char secret31[32];
    modq_jwt_keys *k = NULL;
    char path[160];

    memcpy(secret31, SECRET, 31);
    secret31[31] = '\0';
    assert_int_equal(try_keys(MODQ_JWT_HS256, secret31, NULL, NULL, &k), MODQ_JWT_ERR_KEY);
    assert_null(k);
    assert_int_equal(try_keys(MODQ_JWT_HS256, SECRET, NULL, NULL, &k), MODQ_JWT_OK);
    modq_jwt_keys_free(k);
    assert_int_equal(try_keys(MODQ_JWT_HS256 | MODQ_JWT_RS256, NULL, "", "", &k), MODQ_JWT_ERR_KEY);
    /* A secret alone does not serve RS256. */
    assert_int_equal(try_keys(MODQ_JWT_RS256, SECRET, NULL, NULL, &k), MODQ_JWT_ERR_KEY);
    assert_int_equal(try_keys(0, SECRET, NULL, NULL, &k), MODQ_JWT_ERR_INVALID_ARG);
    snprintf(path, sizeof path, "%s/absent.pem", f->dir);
    assert_int_equal(try_keys(MODQ_JWT_RS256, NULL, path, NULL, &k), MODQ_JWT_ERR_KEY);
    assert_int_equal(try_keys(MODQ_JWT_RS256, NULL, f->weak_path, NULL, &k), MODQ_JWT_ERR_KEY);
    assert_int_equal(try_keys(MODQ_JWT_RS256, NULL, f->ec1_path, NULL, &k), MODQ_JWT_ERR_KEY);
    assert_int_equal(try_keys(MODQ_JWT_RS256, NULL, f->jwks_path, NULL, &k), MODQ_JWT_ERR_KEY);
    assert_null(k);
}

static void test_verify_refuses_bad_arguments(void **state)
{
    (void)state;
    modq_jwt_keys *k = keys(MODQ_JWT_HS256, SECRET, NULL, NULL);
    modq_jwt_claims c;
    char *tok = tu_token_claims(hdr_hs, good_claims(), HS(SECRET));

    assert_int_equal(modq_jwt_verify(NULL, tok, NOW, &c, NULL, 0), MODQ_JWT_ERR_INVALID_ARG);
    assert_int_equal(modq_jwt_verify(k, NULL, NOW, &c, NULL, 0), MODQ_JWT_ERR_INVALID_ARG);
    assert_int_equal(modq_jwt_verify(k, tok, -1, &c, NULL, 0), MODQ_JWT_ERR_INVALID_ARG);
    assert_int_equal(modq_jwt_verify(k, tok, NOW, &c, NULL, 0), MODQ_JWT_OK);
    free(tok);
    modq_jwt_keys_free(k);
}

static void test_strerror_names_every_result(void **state)
{
    (void)state;
    for (int i = 0; i < MODQ_JWT_RESULT_COUNT; i++) {
        const char *s = modq_jwt_strerror((modq_jwt_result)i);
        assert_non_null(s);
        assert_string_not_equal(s, "unknown error");
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(s, modq_jwt_strerror((modq_jwt_result)j));
        }
    }
    assert_string_equal(modq_jwt_strerror(MODQ_JWT_RESULT_COUNT), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mint_hs256_roundtrip_keeps_every_claim),
        cmocka_unit_test(test_mint_refuses_what_cannot_be_read_back),
        cmocka_unit_test(test_rs256_verifies_with_pem_key),
        cmocka_unit_test(test_rs256_jwks_selects_key_by_kid),
        cmocka_unit_test(test_es256_verifies_with_pem_and_jwks),
        cmocka_unit_test(test_es256_der_signature_is_rejected),
        cmocka_unit_test(test_alg_none_is_rejected),
        cmocka_unit_test(test_alg_outside_allowed_set_is_rejected),
        cmocka_unit_test(test_hs256_signed_with_public_key_is_rejected),
        cmocka_unit_test(test_flipped_signature_bit_is_rejected),
        cmocka_unit_test(test_flipped_payload_byte_is_rejected),
        cmocka_unit_test(test_expired_is_rejected_and_leeway_accepted),
        cmocka_unit_test(test_nbf_or_iat_in_future_is_rejected),
        cmocka_unit_test(test_wrong_issuer_is_rejected),
        cmocka_unit_test(test_wrong_audience_is_rejected_as_string_and_array),
        cmocka_unit_test(test_sub_missing_or_too_long_is_rejected),
        cmocka_unit_test(test_roles_need_a_known_role),
        cmocka_unit_test(test_skills_and_locales_share_one_cap),
        cmocka_unit_test(test_malformed_base64url_is_rejected),
        cmocka_unit_test(test_token_without_three_parts_is_rejected),
        cmocka_unit_test(test_oversized_token_is_rejected),
        cmocka_unit_test(test_bad_headers_are_rejected),
        cmocka_unit_test(test_jwks_skips_unusable_keys_and_needs_one),
        cmocka_unit_test(test_keys_new_refuses_weak_or_missing_material),
        cmocka_unit_test(test_verify_refuses_bad_arguments),
        cmocka_unit_test(test_strerror_names_every_result),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
