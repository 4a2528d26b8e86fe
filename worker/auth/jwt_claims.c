/*
 * jwt_claims.c: the claims of a token whose signature has been verified (see jwt.h): the time
 * claims with the configured leeway, issuer and audience, then the identity the review API acts
 * on (sub, roles, team, skills merged with locales, opt_outs). Every claim is type-checked even
 * when it is not configured, so a token that another consumer would read differently fails here.
 */
#include "jwt_impl.h"

#include <string.h>

/* 1 when present and a NumericDate in 0..JWT_MAX_DATE (stored in *out, fractions dropped), 0 when
 * absent, -1 when of another type or out of range. */
static int read_date(const json_t *claims, const char *name, int64_t *out)
{
    const json_t *v = json_object_get(claims, name);

    if (!v) {
        return 0;
    }
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || i > JWT_MAX_DATE) {
            return -1;
        }
        *out = (int64_t)i;
        return 1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d >= 0.0 && d <= (double)JWT_MAX_DATE)) {
            return -1;
        }
        *out = (int64_t)d;
        return 1;
    }
    return -1;
}

static modq_jwt_result check_times(const modq_jwt_keys *k, const json_t *claims, int64_t now_s,
                                   int64_t *exp, char *errstr, size_t errstr_size)
{
    int64_t nbf = 0, iat = 0;
    int rc;

    /* Dates and now are at most JWT_MAX_DATE and the leeway at most a day: no overflow. */
    rc = read_date(claims, "exp", exp);
    if (rc == 0) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_EXPIRED, "no exp claim");
    }
    if (rc < 0) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_MALFORMED, "exp is not a NumericDate");
    }
    if (now_s >= *exp + k->leeway_s) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_EXPIRED, "expired %lld s ago",
                        (long long)(now_s - *exp));
    }
    rc = read_date(claims, "nbf", &nbf);
    if (rc < 0) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_MALFORMED, "nbf is not a NumericDate");
    }
    if (rc > 0 && nbf > now_s + k->leeway_s) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_NOT_YET, "nbf is %lld s ahead",
                        (long long)(nbf - now_s));
    }
    rc = read_date(claims, "iat", &iat);
    if (rc < 0) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_MALFORMED, "iat is not a NumericDate");
    }
    if (rc > 0 && iat > now_s + k->leeway_s) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_NOT_YET, "iat is %lld s ahead",
                        (long long)(iat - now_s));
    }
    return MODQ_JWT_OK;
}

/* 1 when aud (a string or an array of strings) holds want, 0 when not, -1 when of another type.
 * want NULL only checks the type. */
static int aud_holds(const json_t *aud, const char *want)
{
    size_t i;
    const json_t *v;
    int found = 0;

    if (json_is_string(aud)) {
        return want && strcmp(json_string_value(aud), want) == 0;
    }
    if (!json_is_array(aud)) {
        return -1;
    }
    json_array_foreach(aud, i, v)
    {
        if (!json_is_string(v)) {
            return -1;
        }
        if (want && strcmp(json_string_value(v), want) == 0) {
            found = 1;
        }
    }
    return found;
}

static modq_jwt_result check_iss_aud(const modq_jwt_keys *k, const json_t *claims, char *errstr,
                                     size_t errstr_size)
{
    const json_t *iss = json_object_get(claims, "iss");
    const json_t *aud = json_object_get(claims, "aud");
    int rc;

    if (iss && !json_is_string(iss)) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_CLAIMS, "iss is not a string");
    }
    if (k->issuer[0] && (!iss || strcmp(json_string_value(iss), k->issuer) != 0)) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_CLAIMS, "iss is not the issuer");
    }
    if (aud) {
        rc = aud_holds(aud, k->audience[0] ? k->audience : NULL);
        if (rc < 0) {
            return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_CLAIMS,
                            "aud is not a string or an array of strings");
        }
    } else {
        rc = 0;
    }
    if (k->audience[0] && rc != 1) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_CLAIMS, "aud does not name us");
    }
    return MODQ_JWT_OK;
}

static bool copy_name(const json_t *v, char dst[MODQ_JWT_MAX_NAME])
{
    size_t n;

    if (!json_is_string(v)) {
        return false;
    }
    n = json_string_length(v);
    if (!jwt_name_ok(json_string_value(v), n)) {
        return false;
    }
    memcpy(dst, json_string_value(v), n);
    dst[n] = '\0';
    return true;
}

/* Appends the names of the array claim name (absent = none) to dst[*n..], at most
 * MODQ_JWT_MAX_LIST in all. */
static modq_jwt_result read_list(const json_t *claims, const char *name,
                                 char (*dst)[MODQ_JWT_MAX_NAME], size_t *n, char *errstr,
                                 size_t errstr_size)
{
    const json_t *arr = json_object_get(claims, name), *v;
    size_t i;

    if (!arr) {
        return MODQ_JWT_OK;
    }
    if (!json_is_array(arr)) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_CLAIMS, "%s is not an array", name);
    }
    if (json_array_size(arr) > MODQ_JWT_MAX_LIST - *n) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_CLAIMS, "more than %d entries with %s",
                        MODQ_JWT_MAX_LIST, name);
    }
    json_array_foreach(arr, i, v)
    {
        if (!copy_name(v, dst[*n])) {
            return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_CLAIMS,
                            "%s[%zu] is not a string of 1..%d bytes", name, i,
                            MODQ_JWT_MAX_NAME - 1);
        }
        (*n)++;
    }
    return MODQ_JWT_OK;
}

static modq_jwt_result read_roles(const json_t *claims, unsigned *roles, char *errstr,
                                  size_t errstr_size)
{
    static const struct {
        const char *name;
        unsigned bit;
    } known[] = {{"associate", MODQ_JWT_ROLE_ASSOCIATE},
                 {"lead", MODQ_JWT_ROLE_LEAD},
                 {"qa", MODQ_JWT_ROLE_QA}};
    const json_t *arr = json_object_get(claims, "roles"), *v;
    size_t i;

    if (!json_is_array(arr) || json_array_size(arr) > MODQ_JWT_MAX_LIST) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_CLAIMS,
                        "roles is not an array of at most %d entries", MODQ_JWT_MAX_LIST);
    }
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v)) {
            return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_CLAIMS, "roles[%zu] is not a string",
                            i);
        }
        for (size_t j = 0; j < sizeof known / sizeof known[0]; j++) {
            if (strcmp(json_string_value(v), known[j].name) == 0) {
                *roles |= known[j].bit;
            }
        }
    }
    if (*roles == 0) {
        return jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_CLAIMS, "no known role");
    }
    return MODQ_JWT_OK;
}

modq_jwt_result jwt_claims_check(const modq_jwt_keys *k, const unsigned char *payload, size_t len,
                                 int64_t now_s, modq_jwt_claims *out, char *errstr,
                                 size_t errstr_size)
{
    json_error_t jerr;
    json_t *claims;
    const json_t *v;
    modq_jwt_result r;

    memset(out, 0, sizeof *out);
    /* Duplicate names are refused: another reader might take the other value. */
    claims = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(claims)) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_MALFORMED, "payload is not a JSON object");
        goto out;
    }
    r = check_times(k, claims, now_s, &out->exp, errstr, errstr_size);
    if (r != MODQ_JWT_OK) {
        goto out;
    }
    r = check_iss_aud(k, claims, errstr, errstr_size);
    if (r != MODQ_JWT_OK) {
        goto out;
    }
    if (!copy_name(json_object_get(claims, "sub"), out->sub)) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_CLAIMS,
                     "sub is missing or not a string of 1..%d bytes", MODQ_JWT_MAX_NAME - 1);
        goto out;
    }
    r = read_roles(claims, &out->roles, errstr, errstr_size);
    if (r != MODQ_JWT_OK) {
        goto out;
    }
    v = json_object_get(claims, "team");
    /* An empty team is the same as none. */
    if (v && !(json_is_string(v) && json_string_length(v) == 0) && !copy_name(v, out->team)) {
        r = jwt_fail(errstr, errstr_size, MODQ_JWT_ERR_CLAIMS,
                     "team is not a string of at most %d bytes", MODQ_JWT_MAX_NAME - 1);
        goto out;
    }
    r = read_list(claims, "skills", out->skills, &out->nskills, errstr, errstr_size);
    if (r == MODQ_JWT_OK) {
        r = read_list(claims, "locales", out->skills, &out->nskills, errstr, errstr_size);
    }
    if (r == MODQ_JWT_OK) {
        r = read_list(claims, "opt_outs", out->opt_outs, &out->nopt_outs, errstr, errstr_size);
    }
out:
    if (r != MODQ_JWT_OK) {
        memset(out, 0, sizeof *out);
    }
    json_decref(claims);
    return r;
}
