/*
 * test_worker_api.c: the item routes of the review API (worker/api/api.c, api_items.c) through a
 * real HTTP server, a real desk under the shipped policy and real tokens: /v1/next (an item,
 * nothing waiting, a policy denial, an unknown queue), media (bytes of the right level, no-store,
 * bad parameters, colour where the tier allows it), reveal (a full reveal needs a typed reason),
 * decision (reaches the sink, then the item is gone), escalate (a lead gets it), release, and
 * percent-encoded ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api_testutil.h"

#define REMOVE MODQ__V1__VERDICT__VERDICT_REMOVE

/* GET /v1/next as token; asserts 200 and returns the item's id (caller frees; NULL: none). */
static char *next_id(at_fixture *f, const char *token, const char *query)
{
    char path[256];
    at_resp r;
    json_t *js, *item;
    char *id = NULL;

    snprintf(path, sizeof(path), "/v1/next%s", query ? query : "");
    assert_int_equal(at_request(f, "GET", path, token, NULL, &r), 200);
    js = at_json(&r);
    item = json_object_get(js, "item");
    assert_non_null(item);
    assert_true(json_is_object(json_object_get(js, "status")));
    if (json_is_object(item)) {
        id = strdup(json_string_value(json_object_get(item, "id")));
    }
    json_decref(js);
    at_resp_free(&r);
    return id;
}

static void test_next_hands_out_an_item_and_the_same_again(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate");
    at_resp r;
    json_t *js, *item;
    char *again;

    at_add_item(f, "t-1", "hate", true, NULL);
    assert_int_equal(at_request(f, "GET", "/v1/next", tok, NULL, &r), 200);
    js = at_json(&r);
    item = json_object_get(js, "item");
    assert_string_equal(json_string_value(json_object_get(item, "id")), "t-1");
    assert_string_equal(json_string_value(json_object_get(item, "queue")), "hate");
    assert_int_equal(json_integer_value(json_object_get(item, "level")), 3);
    assert_true(json_is_true(json_object_get(item, "reason_required")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(js, "status"), "associate")), "a1");
    json_decref(js);
    at_resp_free(&r);
    /* While the lease holds, the same item comes back. */
    again = next_id(f, tok, NULL);
    assert_string_equal(again, "t-1");
    free(again);
    free(tok);
}

static void test_next_with_nothing_waiting_is_null(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate");
    at_resp r;
    json_t *js;

    assert_int_equal(at_request(f, "GET", "/v1/next?queue=hate", tok, NULL, &r), 200);
    js = at_json(&r);
    assert_true(json_is_null(json_object_get(js, "item")));
    assert_true(json_is_object(json_object_get(js, "status")));
    json_decref(js);
    at_resp_free(&r);
    free(tok);
}

static void test_next_denied_by_policy_is_423_with_reason(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate");
    at_resp r;
    json_t *js;

    at_add_item(f, "t-csam", "csam", true, NULL);
    /* The token carries no csam_trained skill. */
    assert_int_equal(at_request(f, "GET", "/v1/next?queue=csam", tok, NULL, &r), 423);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "error")), "policy_denied");
    assert_string_equal(json_string_value(json_object_get(js, "reason")), "SKILL");
    assert_true(json_is_integer(json_object_get(js, "until_ms")));
    assert_int_equal(json_integer_value(json_object_get(js, "until_ms")), 0);
    assert_true(strlen(json_string_value(json_object_get(js, "message"))) > 10);
    json_decref(js);
    at_resp_free(&r);
    free(tok);
}

static void test_next_break_due_names_when_it_clears(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate"), *id;
    at_resp r;
    json_t *js;
    int64_t t;

    at_add_item(f, "t-1", "hate", true, NULL);
    at_add_item(f, "t-2", "hate", true, NULL);
    id = next_id(f, tok, NULL);
    assert_non_null(id);
    /* 50 minutes of continuous review (the policy's maximum), then the lease is taken back. */
    t = AT_T0 + 50 * 60000;
    atomic_store(&f->now_ms, t);
    modq_desk_tick(f->desk, t);
    free(tok);
    tok = at_token(f, "a1", "associate");
    assert_int_equal(at_request(f, "GET", "/v1/next", tok, NULL, &r), 423);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "reason")), "BREAK_DUE");
    assert_true(json_integer_value(json_object_get(js, "until_ms")) > t);
    assert_string_equal(json_string_value(json_object_get(js, "message")),
                        "Time for a break. The queue will be here when you come back.");
    json_decref(js);
    at_resp_free(&r);
    free(id);
    free(tok);
}

/* Paused (Kafka confirms nothing): 503 "paused" for new work, the held item still comes back. */
static void test_next_while_paused_is_503_paused_but_the_held_item_returns(void **state)
{
    at_fixture *f = *state;
    char *a = at_token(f, "a1", "associate"), *b = at_token(f, "b1", "associate"), *id;
    at_resp r;
    json_t *js;

    at_add_item(f, "t-1", "hate", true, NULL);
    at_add_item(f, "t-2", "hate", true, NULL);
    id = next_id(f, a, NULL);
    assert_string_equal(id, "t-1");
    free(id);
    modq_desk_set_paused(f->desk, true);
    assert_int_equal(at_request(f, "GET", "/v1/next", b, NULL, &r), 503);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "error")), "paused");
    assert_non_null(strstr(json_string_value(json_object_get(js, "message")), "cannot be saved"));
    json_decref(js);
    at_resp_free(&r);
    id = next_id(f, a, NULL);
    assert_string_equal(id, "t-1");
    free(id);
    modq_desk_set_paused(f->desk, false);
    id = next_id(f, b, NULL);
    assert_string_equal(id, "t-2");
    free(id);
    free(a);
    free(b);
}

static void test_next_unknown_queue_is_404_naming_it_escaped(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate");
    at_resp r;
    json_t *js;
    const char *msg;

    /* queue = no"pe<LF>: jansson must escape both in the message. */
    assert_int_equal(at_request(f, "GET", "/v1/next?queue=no%22pe%0A", tok, NULL, &r), 404);
    assert_null(strchr(r.body, '\n'));
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "error")), "not_found");
    msg = json_string_value(json_object_get(js, "message"));
    assert_non_null(strstr(msg, "no\"pe\n"));
    json_decref(js);
    at_resp_free(&r);
    /* A name that is not UTF-8 still gets a well-formed answer. */
    assert_int_equal(at_request(f, "GET", "/v1/next?queue=%FF%FE", tok, NULL, &r), 404);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "message")), "No such queue.");
    json_decref(js);
    at_resp_free(&r);
    /* Virtual queues are role-checked. */
    at_expect(f, "GET", "/v1/next?queue=escalations", tok, NULL, 403, "forbidden");
    free(tok);
}

static void test_media_serves_the_heaviest_level_by_default_uncached(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate"), *id, hv[128];
    int size[MODQ_LEVEL_COUNT][2], w = 0, h = 0;
    at_resp r;

    at_add_item(f, "t-1", "hate", true, size);
    id = next_id(f, tok, NULL);
    assert_int_equal(at_request(f, "GET", "/v1/items/t-1/media", tok, NULL, &r), 200);
    assert_string_equal(at_header(&r, "Content-Type", hv, sizeof(hv)), "image/webp");
    assert_string_equal(at_header(&r, "Cache-Control", hv, sizeof(hv)), "no-store");
    assert_string_equal(at_header(&r, "X-Modq-Level", hv, sizeof(hv)), "3");
    assert_int_equal(at_image_size(r.body, r.len, &w, &h), 0);
    assert_int_equal(w, size[3][0]);
    assert_int_equal(h, size[3][1]);
    assert_true(w < size[0][0]); /* a heavy blur is stored small */
    at_resp_free(&r);
    /* A heavier level than the current one is always allowed; level 3 explicitly. */
    assert_int_equal(at_request(f, "GET", "/v1/items/t-1/media?level=3", tok, NULL, &r), 200);
    assert_string_equal(at_header(&r, "X-Modq-Level", hv, sizeof(hv)), "3");
    /* The view renewed the lease: the page's countdown reads when it now ends. */
    assert_non_null(at_header(&r, "X-Modq-Lease-Expires", hv, sizeof(hv)));
    at_resp_free(&r);
    {
        json_t *js;
        assert_int_equal(at_request(f, "GET", "/v1/next", tok, NULL, &r), 200);
        js = at_json(&r);
        assert_true(strtoll(hv, NULL, 10) > AT_T0);
        assert_int_equal(
            strtoll(hv, NULL, 10),
            json_integer_value(json_object_get(json_object_get(js, "item"), "lease_expires_ms")));
        json_decref(js);
        at_resp_free(&r);
    }
    /* HEAD would reveal (and count exposure) without showing anything: refused. */
    assert_int_equal(at_request(f, "HEAD", "/v1/items/t-1/media?level=0", tok, NULL, &r), 405);
    assert_int_equal(r.len, 0);
    at_resp_free(&r);
    free(id);
    free(tok);
}

static void test_media_bad_parameters_and_other_people(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate"), *other = at_token(f, "a2", "associate"), *id;
    static const char *const bad[] = {"?level=4",  "?level=-1",   "?level=1x",   "?level=",
                                      "?level=+1", "?level=%201", "?colour=yes", "?colour="};

    at_add_item(f, "t-1", "hate", true, NULL);
    id = next_id(f, tok, NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[128];
        snprintf(path, sizeof(path), "/v1/items/t-1/media%s", bad[i]);
        at_expect(f, "GET", path, tok, NULL, 400, "bad_request");
    }
    /* Tier 3 allows colour, and its item was prepared with colour renditions. */
    at_expect(f, "GET", "/v1/items/t-1/media?colour=1", tok, NULL, 200, NULL);
    at_expect(f, "GET", "/v1/items/t-1/media?colour=true", tok, NULL, 200, NULL);
    at_expect(f, "GET", "/v1/items/t-1/media", other, NULL, 403, "forbidden");
    at_expect(f, "GET", "/v1/items/t-404/media", tok, NULL, 404, "not_found");
    free(id);
    free(tok);
    free(other);
}

/* The largest |R - G| of an encoded image: 0 for grey, -1 when it is not three bands. */
static double max_chroma(const char *data, size_t len)
{
    VipsImage *img = vips_image_new_from_buffer(data, len, "", NULL);
    VipsImage *red = NULL, *green = NULL, *diff = NULL, *mag = NULL;
    double mx = -1.0;

    if (img && img->Bands == 3 && vips_extract_band(img, &red, 0, NULL) == 0 &&
        vips_extract_band(img, &green, 1, NULL) == 0 &&
        vips_subtract(red, green, &diff, NULL) == 0 && vips_abs(diff, &mag, NULL) == 0 &&
        vips_max(mag, &mx, NULL) != 0) {
        mx = -1.0;
    }
    VIPS_UNREF(img);
    VIPS_UNREF(red);
    VIPS_UNREF(green);
    VIPS_UNREF(diff);
    VIPS_UNREF(mag);
    return mx;
}

/* A token for sub (associate, team t1) with one skill. Caller frees. */
static char *token_with_skill(at_fixture *f, const char *sub, const char *skill)
{
    const char *roles[] = {"associate"}, *skills[] = {skill};
    modq_jwt_mint_opts o = {.sub = sub,
                            .team = "t1",
                            .roles = roles,
                            .nroles = 1,
                            .skills = skills,
                            .nskills = 1,
                            .issuer = AT_ISSUER,
                            .audience = AT_AUDIENCE,
                            .now_s = atomic_load(&f->now_ms) / 1000,
                            .ttl_s = 3600};
    char *tok = NULL, err[256];

    assert_int_equal(modq_jwt_mint_hs256((const unsigned char *)AT_SECRET, strlen(AT_SECRET), &o,
                                         &tok, err, sizeof(err)),
                     MODQ_JWT_OK);
    return tok;
}

/* Colour where the tier allows it: the colour rendition of the level, like the greyscale one in
 * size and headers. Tier 4 refuses colour with 423 COLOUR however it is asked. */
static void test_media_in_colour_where_the_tier_allows_it(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate"), *tok4 = token_with_skill(f, "a4", "csam_trained");
    char *id, hv[128];
    int size[MODQ_LEVEL_COUNT][2], w = 0, h = 0;
    at_resp r;
    json_t *js;

    at_add_item(f, "t-1", "hate", true, size);
    id = next_id(f, tok, NULL);
    assert_int_equal(at_request(f, "GET", "/v1/items/t-1/media?colour=1", tok, NULL, &r), 200);
    assert_string_equal(at_header(&r, "Content-Type", hv, sizeof(hv)), "image/webp");
    assert_string_equal(at_header(&r, "Cache-Control", hv, sizeof(hv)), "no-store");
    assert_string_equal(at_header(&r, "X-Modq-Level", hv, sizeof(hv)), "3");
    assert_int_equal(at_image_size(r.body, r.len, &w, &h), 0);
    assert_int_equal(w, size[3][0]);
    assert_int_equal(h, size[3][1]);
    /* The synthetic shapes are saturated: colour shows even through the heaviest blur. */
    assert_true(max_chroma(r.body, r.len) > 40);
    at_resp_free(&r);
    /* Without colour=1 the view goes back to greyscale. */
    assert_int_equal(at_request(f, "GET", "/v1/items/t-1/media", tok, NULL, &r), 200);
    assert_true(max_chroma(r.body, r.len) <= 3);
    at_resp_free(&r);
    free(id);

    at_add_item(f, "t-4", "csam", true, NULL);
    id = next_id(f, tok4, "?queue=csam");
    assert_string_equal(id, "t-4");
    assert_int_equal(at_request(f, "GET", "/v1/items/t-4/media?colour=1", tok4, NULL, &r), 423);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "reason")), "COLOUR");
    json_decref(js);
    at_resp_free(&r);
    assert_int_equal(at_request(f, "POST", "/v1/items/t-4/reveal", tok4,
                                "{\"level\": 3, \"colour\": true, \"reason\": \"to see\"}", &r),
                     423);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "reason")), "COLOUR");
    json_decref(js);
    at_resp_free(&r);
    assert_int_equal(at_request(f, "GET", "/v1/items/t-4/media", tok4, NULL, &r), 200);
    assert_true(max_chroma(r.body, r.len) <= 3);
    at_resp_free(&r);
    free(id);
    free(tok);
    free(tok4);
}

static void test_full_reveal_needs_a_typed_reason(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate"), *id, hv[32], big[2100];
    at_resp r;
    json_t *js;
    int size[MODQ_LEVEL_COUNT][2], w = 0, h = 0;

    at_add_item(f, "t-1", "hate", true, size);
    id = next_id(f, tok, NULL);
    assert_int_equal(at_request(f, "GET", "/v1/items/t-1/media?level=0", tok, NULL, &r), 423);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "reason")), "NEEDS_REASON");
    assert_int_equal(json_integer_value(json_object_get(js, "until_ms")), 0);
    json_decref(js);
    at_resp_free(&r);
    assert_int_equal(at_request(f, "POST", "/v1/items/t-1/reveal", tok, "{\"level\": 0}", &r), 423);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "reason")), "NEEDS_REASON");
    json_decref(js);
    at_resp_free(&r);

    /* Malformed reveals change nothing. */
    at_expect(f, "POST", "/v1/items/t-1/reveal", tok, "", 400, "bad_request");
    at_expect(f, "POST", "/v1/items/t-1/reveal", tok, "{\"level\": \"0\"}", 400, "bad_request");
    at_expect(f, "POST", "/v1/items/t-1/reveal", tok, "{\"level\": 7}", 400, "bad_request");
    at_expect(f, "POST", "/v1/items/t-1/reveal", tok, "{\"reason\": \"x\"}", 400, "bad_request");
    at_expect(f, "POST", "/v1/items/t-1/reveal", tok, "{\"level\": 0, \"colour\": \"no\"}", 400,
              "bad_request");
    at_expect(f, "POST", "/v1/items/t-1/reveal", tok, "{\"level\": 0, \"reason\": 5}", 400,
              "bad_request");
    memset(big, 'x', sizeof(big));
    memcpy(big, "{\"level\":0,\"reason\":\"", 21);
    memcpy(big + sizeof(big) - 3, "\"}", 3);
    at_expect(f, "POST", "/v1/items/t-1/reveal", tok, big, 400, "bad_request");
    at_expect(f, "GET", "/v1/items/t-1/media?level=0", tok, NULL, 423, "policy_denied");

    assert_int_equal(at_request(f, "POST", "/v1/items/t-1/reveal", tok,
                                "{\"level\": 0, \"reason\": \"to read the text on a sign\"}", &r),
                     200);
    js = at_json(&r);
    assert_int_equal(json_integer_value(json_object_get(js, "level")), 0);
    json_decref(js);
    at_resp_free(&r);
    assert_int_equal(at_request(f, "GET", "/v1/items/t-1/media?level=0", tok, NULL, &r), 200);
    assert_string_equal(at_header(&r, "X-Modq-Level", hv, sizeof(hv)), "0");
    assert_int_equal(at_image_size(r.body, r.len, &w, &h), 0);
    assert_int_equal(w, size[0][0]);
    assert_int_equal(h, size[0][1]);
    at_resp_free(&r);
    free(id);
    free(tok);
}

static void test_decision_reaches_the_sink_and_the_item_is_gone(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate"), *id;
    at_resp r;
    json_t *js;

    at_add_item(f, "t-1", "hate", true, NULL);
    id = next_id(f, tok, NULL);
    assert_int_equal(at_request(f, "POST", "/v1/items/t-1/decision", tok,
                                "{\"verdict\": \"remove\", \"labels\": [\"hate\", \"slur\"], "
                                "\"note\": \"clear case\", \"unknown\": 1}",
                                &r),
                     200);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "decided")), "t-1");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(js, "status"), "associate")), "a1");
    json_decref(js);
    at_resp_free(&r);
    pthread_mutex_lock(&f->sink.lock);
    assert_int_equal(f->sink.ndecisions, 1);
    assert_string_equal(f->sink.decided[0], "t-1");
    assert_int_equal(f->sink.verdicts[0], REMOVE);
    assert_string_equal(f->sink.labels[0], "hate,slur");
    pthread_mutex_unlock(&f->sink.lock);
    at_expect(f, "GET", "/v1/items/t-1/media", tok, NULL, 404, "not_found");
    at_expect(f, "POST", "/v1/items/t-1/decision", tok, "{\"verdict\": \"remove\"}", 404,
              "not_found");
    free(id);
    free(tok);
}

static void test_decision_bad_bodies_are_400_and_change_nothing(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate"), *id;
    char note[2100], labels[512];
    size_t n;
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "\"remove\"",
        "{\"verdict\": \"remove\", \"verdict\": \"restrict\"}",
        "{}",
        "{\"verdict\": 5}",
        "{\"verdict\": \"maybe\"}",
        "{\"verdict\": \"remove\", \"labels\": \"hate\"}",
        "{\"verdict\": \"remove\", \"labels\": [1]}",
        "{\"verdict\": \"remove\", \"labels\": [\"a,b\"]}",
        "{\"verdict\": \"remove\", \"labels\": [\"\"]}",
        "{\"verdict\": \"remove\", \"note\": 3}",
        "{\"verdict\": \"remove\"} trailing",
    };

    at_add_item(f, "t-1", "hate", true, NULL);
    id = next_id(f, tok, NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        at_expect(f, "POST", "/v1/items/t-1/decision", tok, bad[i], 400, "bad_request");
    }
    memset(note, 'n', sizeof(note));
    memcpy(note, "{\"verdict\":\"remove\",\"note\":\"", 28);
    memcpy(note + sizeof(note) - 3, "\"}", 3);
    at_expect(f, "POST", "/v1/items/t-1/decision", tok, note, 400, "bad_request");
    n = (size_t)snprintf(labels, sizeof(labels), "{\"verdict\":\"remove\",\"labels\":[");
    for (int i = 0; i < MODQ_DESK_MAX_LABELS + 1; i++) {
        n += (size_t)snprintf(labels + n, sizeof(labels) - n, "%s\"l\"", i ? "," : "");
    }
    snprintf(labels + n, sizeof(labels) - n, "]}");
    at_expect(f, "POST", "/v1/items/t-1/decision", tok, labels, 400, "bad_request");
    pthread_mutex_lock(&f->sink.lock);
    assert_int_equal(f->sink.ndecisions, 0);
    pthread_mutex_unlock(&f->sink.lock);
    /* The item is still this person's to decide. */
    at_expect(f, "POST", "/v1/items/t-1/decision", tok, "{\"verdict\": \"no_violation\"}", 200,
              NULL);
    free(id);
    free(tok);
}

static void test_escalation_reaches_a_lead(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate"), *lead = at_token(f, "l1", "lead"), *id;
    at_resp r;
    json_t *js, *item;

    at_add_item(f, "t-1", "hate", true, NULL);
    id = next_id(f, tok, NULL);
    assert_int_equal(at_request(f, "POST", "/v1/items/t-1/escalate", tok,
                                "{\"note\": \"needs policy context\"}", &r),
                     200);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "escalated")), "t-1");
    json_decref(js);
    at_resp_free(&r);
    at_expect(f, "POST", "/v1/items/t-1/escalate", tok, "{\"note\": 1}", 400, "bad_request");

    assert_int_equal(at_request(f, "GET", "/v1/next?queue=escalations", lead, NULL, &r), 200);
    js = at_json(&r);
    item = json_object_get(js, "item");
    assert_string_equal(json_string_value(json_object_get(item, "id")), "t-1");
    assert_true(json_is_true(json_object_get(item, "escalated")));
    assert_string_equal(json_string_value(json_object_get(item, "escalation_note")),
                        "needs policy context");
    json_decref(js);
    at_resp_free(&r);
    free(id);
    free(tok);
    free(lead);
}

static void test_escalate_without_a_body_and_release(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate"), *other = at_token(f, "a2", "associate"), *id;
    at_resp r;
    json_t *js;

    at_add_item(f, "t-1", "hate", false, NULL);
    id = next_id(f, tok, NULL);
    assert_string_equal(id, "t-1");
    free(id);
    at_expect(f, "POST", "/v1/items/t-1/release", tok, "[1]", 400, "bad_request");
    assert_int_equal(at_request(f, "POST", "/v1/items/t-1/release", tok, NULL, &r), 200);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "released")), "t-1");
    json_decref(js);
    at_resp_free(&r);
    /* Back in the pool: someone else gets it, and it is no longer the first person's. */
    id = next_id(f, other, NULL);
    assert_string_equal(id, "t-1");
    free(id);
    at_expect(f, "POST", "/v1/items/t-1/release", tok, NULL, 403, "forbidden");
    at_expect(f, "POST", "/v1/items/t-1/escalate", tok, NULL, 403, "forbidden");
    assert_int_equal(at_request(f, "POST", "/v1/items/t-1/escalate", other, NULL, &r), 200);
    at_resp_free(&r);
    free(tok);
    free(other);
}

static void test_percent_encoded_ids(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate"), *id, path[512], long_id[140];
    at_resp r;
    json_t *js;
    static const char *const not_routes[] = {
        "/v1/items/t%3Fx%0A/media", /* a control byte */
        "/v1/items/t%3Fx%20/media", /* a space */
        "/v1/items/t%zz/media",     /* not hex */
        "/v1/items/t%3/media",      /* cut short */
        "/v1/items/t%/media",       "/v1/items//media",
        "/v1/items/t%00x/media",    "/v1/items/t%C3%A9/media", /* not ASCII: no ticket id is */
    };

    at_add_item(f, "t?x#1", "hate", true, NULL);
    id = next_id(f, tok, NULL);
    assert_string_equal(id, "t?x#1");
    free(id);
    assert_int_equal(at_request(f, "GET", "/v1/items/t%3Fx%231/media", tok, NULL, &r), 200);
    at_resp_free(&r);
    assert_int_equal(at_request(f, "GET", "/v1/items/%74%3f%78%23%31/media", tok, NULL, &r), 200);
    at_resp_free(&r);
    /* A '%' in an id travels as %25 and is decoded once: "t%41" is not "tA". */
    at_add_item(f, "t%41", "hate", true, NULL);
    at_add_item(f, "tA", "spam", true, NULL);
    at_expect(f, "POST", "/v1/items/t%3Fx%231/decision", tok, "{\"verdict\": \"no_violation\"}",
              200, NULL);
    id = next_id(f, tok, "?queue=hate");
    assert_string_equal(id, "t%41");
    free(id);
    at_expect(f, "GET", "/v1/items/t%2541/media", tok, NULL, 200, NULL);
    at_expect(f, "GET", "/v1/items/tA/media", tok, NULL, 403, NULL);
    for (size_t i = 0; i < sizeof(not_routes) / sizeof(not_routes[0]); i++) {
        at_request(f, "GET", not_routes[i], tok, NULL, &r);
        at_expect_error(&r, 404, "not_found");
        js = at_json(&r);
        assert_string_equal(json_string_value(json_object_get(js, "message")), "No such route.");
        json_decref(js);
        at_resp_free(&r);
    }
    /* A '/' is a character of an id like any other (test_worker_api_ids.c): no such item. */
    at_request(f, "GET", "/v1/items/t%3Fx%231%2F/media", tok, NULL, &r);
    at_expect_error(&r, 404, "not_found");
    assert_null(strstr(r.body, "No such route."));
    at_resp_free(&r);
    /* 128 bytes is an id (no such item), 129 is not. */
    memset(long_id, 'a', sizeof(long_id));
    long_id[128] = '\0';
    snprintf(path, sizeof(path), "/v1/items/%s/media", long_id);
    at_request(f, "GET", path, tok, NULL, &r);
    at_expect_error(&r, 404, "not_found");
    assert_null(strstr(r.body, "No such route."));
    at_resp_free(&r);
    long_id[128] = 'a';
    long_id[129] = '\0';
    snprintf(path, sizeof(path), "/v1/items/%s/media", long_id);
    at_request(f, "GET", path, tok, NULL, &r);
    at_expect_error(&r, 404, "not_found");
    assert_non_null(strstr(r.body, "No such route."));
    at_resp_free(&r);
    free(tok);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, at_setup, at_teardown)
    const struct CMUnitTest tests[] = {
        T(test_next_hands_out_an_item_and_the_same_again),
        T(test_next_with_nothing_waiting_is_null),
        T(test_next_denied_by_policy_is_423_with_reason),
        T(test_next_break_due_names_when_it_clears),
        T(test_next_while_paused_is_503_paused_but_the_held_item_returns),
        T(test_next_unknown_queue_is_404_naming_it_escaped),
        T(test_media_serves_the_heaviest_level_by_default_uncached),
        T(test_media_bad_parameters_and_other_people),
        T(test_media_in_colour_where_the_tier_allows_it),
        T(test_full_reveal_needs_a_typed_reason),
        T(test_decision_reaches_the_sink_and_the_item_is_gone),
        T(test_decision_bad_bodies_are_400_and_change_nothing),
        T(test_escalation_reaches_a_lead),
        T(test_escalate_without_a_body_and_release),
        T(test_percent_encoded_ids),
    };
    int failed;

    if (at_global_init("test_worker_api") != 0) {
        return 1;
    }
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    at_global_cleanup();
    return failed;
}
