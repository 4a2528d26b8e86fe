/*
 * test_worker_api_ids.c: one rule for ticket ids on both sides (worker/prepare/text.c): every id
 * that ingest takes can be named by every item route. Each printable ASCII character (0x21..0x7e)
 * is put at the start, inside and at the end of an id, which goes through preparation
 * (modq_prepare_ticket) and the desk, and then through every route of docs/api.md that names an
 * item (media, reveal, release, escalate, and a lead's decision), with the id percent-encoded as
 * the review page encodes it (encodeURIComponent) and, for '/', also as sent unencoded. A '%' is
 * decoded once: "%41" in an id stays "%41".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api_testutil.h"

/* JavaScript's encodeURIComponent: everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ) as %XX. */
static void encode_uri_component(const char *s, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        assert_true(o + 4 < size);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            strchr("-_.!~*'()", c)) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

/* GET /v1/next as token (query may be ""): asserts 200 and an item, whose id goes to id. */
static void next_is(at_fixture *f, const char *token, const char *query, const char *want)
{
    char path[128];
    at_resp r;
    json_t *js;
    const char *got;

    snprintf(path, sizeof(path), "/v1/next%s", query);
    if (at_request(f, "GET", path, token, NULL, &r) != 200) {
        print_error("next%s (want \"%s\"): %ld %s\n", query, want, r.status, r.body);
    }
    assert_int_equal(r.status, 200);
    js = at_json(&r);
    got = json_string_value(json_object_get(json_object_get(js, "item"), "id"));
    if (!got || strcmp(got, want) != 0) {
        print_error("next%s: want \"%s\", got %s\n", query, want, r.body);
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    json_decref(js);
    at_resp_free(&r);
}

/* POST path as token with body: asserts 200 and, when key is set, that the answer names id. */
static void post_ok(at_fixture *f, const char *path, const char *token, const char *body,
                    const char *key, const char *id)
{
    at_resp r;
    json_t *js;

    at_request(f, "POST", path, token, body, &r);
    if (r.status != 200) {
        print_error("POST %s: %ld %s\n", path, r.status, r.body);
    }
    assert_int_equal(r.status, 200);
    if (key) {
        js = at_json(&r);
        assert_string_equal(json_string_value(json_object_get(js, key)), id);
        json_decref(js);
    }
    at_resp_free(&r);
}

/* id (enc: how the page writes it in a path) through ingest and every item route. Queues of
 * four categories take turns, so that the policy's rotation rule never refuses the next item. */
static void every_route(at_fixture *f, const char *id, const char *enc, size_t turn, const char *a,
                        const char *lead)
{
    static const char *const queues[] = {"hate", "self_harm", "nudity", "spam"};
    char path[512];
    size_t before = f->sink.ndecisions;

    print_message("id \"%s\" as %s\n", id, enc);
    at_add_item(f, id, queues[turn % 4], true, NULL);
    next_is(f, a, "", id);
    snprintf(path, sizeof(path), "/v1/items/%s/media", enc);
    at_expect(f, "GET", path, a, NULL, 200, NULL);
    snprintf(path, sizeof(path), "/v1/items/%s/media?level=2", enc);
    at_expect(f, "GET", path, a, NULL, 200, NULL);
    snprintf(path, sizeof(path), "/v1/items/%s/reveal", enc);
    post_ok(f, path, a, "{\"level\": 1, \"reason\": \"checking the id\"}", NULL, NULL);
    snprintf(path, sizeof(path), "/v1/items/%s/release", enc);
    post_ok(f, path, a, NULL, "released", id);
    next_is(f, a, "", id);
    snprintf(path, sizeof(path), "/v1/items/%s/escalate", enc);
    post_ok(f, path, a, "{\"note\": \"for a lead\"}", "escalated", id);
    next_is(f, lead, "?queue=escalations", id);
    snprintf(path, sizeof(path), "/v1/items/%s/media", enc);
    at_expect(f, "GET", path, lead, NULL, 200, NULL);
    snprintf(path, sizeof(path), "/v1/items/%s/decision", enc);
    post_ok(f, path, lead, "{\"verdict\": \"remove\"}", "decided", id);
    assert_int_equal(f->sink.ndecisions, before + 1);
    /* Decided: gone. */
    snprintf(path, sizeof(path), "/v1/items/%s/release", enc);
    at_expect(f, "POST", path, a, NULL, 404, "not_found");
}

static void test_every_printable_character_in_an_id_reaches_every_route(void **state)
{
    at_fixture *f = *state;
    char *a = at_token(f, "a1", "associate"), *lead = at_token(f, "l1", "lead");
    char id[8], enc[32], all[128], all_enc[512];
    size_t n = 0;

    /* About a hundred items: a small image keeps their preparation short. */
    modq_synth_free(f->img);
    assert_int_equal(modq_synth_image(MODQ_SYNTH_SHAPES, 160, 120, 7, "jpeg", &f->img, &f->img_len),
                     0);

    for (int c = 0x21; c <= 0x7e; c++) {
        snprintf(id, sizeof(id), "%cx%c", c, c);
        encode_uri_component(id, enc, sizeof(enc));
        all[n] = (char)c;
        every_route(f, id, enc, n++, a, lead);
    }
    all[n] = '\0';
    encode_uri_component(all, all_enc, sizeof(all_enc));
    every_route(f, all, all_enc, n++, a, lead);
    /* A client that does not encode '/': the action is what follows the last slash. */
    every_route(f, "/a/b/", "/a/b/", n, a, lead);
    free(a);
    free(lead);
}

/* "%41" is three characters of an id, sent as %2541; MHD's own decoding of the path is not
 * used, so it is not decoded twice into "A". */
static void test_a_percent_is_decoded_once(void **state)
{
    at_fixture *f = *state;
    char *a = at_token(f, "a1", "associate");

    at_add_item(f, "t%41", "hate", true, NULL);
    at_add_item(f, "tA", "spam", true, NULL);
    next_is(f, a, "?queue=hate", "t%41");
    at_expect(f, "GET", "/v1/items/t%2541/media", a, NULL, 200, NULL);
    at_expect(f, "GET", "/v1/items/tA/media", a, NULL, 403, "forbidden");
    at_expect(f, "GET", "/v1/items/t%41/media", a, NULL, 403, "forbidden"); /* that is "tA" */
    free(a);
}

/* What the rule refuses names no item on either side: no route, never a 500. */
static void test_ids_the_rule_refuses_are_no_route(void **state)
{
    at_fixture *f = *state;
    char *a = at_token(f, "a1", "associate"), path[512], long_id[140];
    static const char *const not_routes[] = {
        "/v1/items/./media",     "/v1/items/../media",
        "/v1/items/%2E/media",   "/v1/items/%2e%2E/media",
        "/v1/items//media",      "/v1/items/t%0A/media",
        "/v1/items/t%20/media",  "/v1/items/t%7F/media",
        "/v1/items/t%00x/media", "/v1/items/t%C3%A9/media",
        "/v1/items/t%zz/media",  "/v1/items/t%3/media",
        "/v1/items/t%/media",    "/v1/items/media",
        "/v1/items/t/media/",    "/v1/items/t/",
    };
    at_resp r;
    json_t *js;

    for (size_t i = 0; i < sizeof(not_routes) / sizeof(not_routes[0]); i++) {
        at_request(f, "GET", not_routes[i], a, NULL, &r);
        if (r.status != 404) {
            print_error("%s: %ld %s\n", not_routes[i], r.status, r.body);
        }
        at_expect_error(&r, 404, "not_found");
        js = at_json(&r);
        assert_string_equal(json_string_value(json_object_get(js, "message")), "No such route.");
        json_decref(js);
        at_resp_free(&r);
    }
    /* 128 bytes (one an encoded '/') is an id, of no item; 129 is no id. */
    memset(long_id, 'a', sizeof(long_id));
    long_id[127] = '\0';
    snprintf(path, sizeof(path), "/v1/items/%%2F%s/media", long_id);
    at_request(f, "GET", path, a, NULL, &r);
    at_expect_error(&r, 404, "not_found");
    assert_null(strstr(r.body, "No such route."));
    at_resp_free(&r);
    long_id[127] = 'a';
    long_id[128] = '\0';
    snprintf(path, sizeof(path), "/v1/items/%%2F%s/media", long_id);
    at_request(f, "GET", path, a, NULL, &r);
    at_expect_error(&r, 404, "not_found");
    assert_non_null(strstr(r.body, "No such route."));
    at_resp_free(&r);
    free(a);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, at_setup, at_teardown)
    const struct CMUnitTest tests[] = {
        T(test_every_printable_character_in_an_id_reaches_every_route),
        T(test_a_percent_is_decoded_once),
        T(test_ids_the_rule_refuses_are_no_route),
    };
    int failed;

    if (at_global_init("test_worker_api_ids") != 0) {
        return 1;
    }
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    at_global_cleanup();
    return failed;
}
