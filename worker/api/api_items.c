/*
 * api_items.c: the item routes of the review API (docs/api.md): /v1/next and
 * /v1/items/{id}/media|reveal|escalate|release (the decision: api_decision.c). Each one reads its
 * parameters, calls the desk for the person whose token api.c verified, and answers through api.c's
 * helpers.
 */
#include "api_impl.h"
#include "modq_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ESCALATION_LOST                                                                            \
    "Your escalation could not be saved. The item goes back to the queue: please escalate it "     \
    "again when it comes back."

void api_next(modq_api_call *c)
{
    const char *queue = modq_http_req_query(c->q, "queue");
    json_t *item = NULL, *status = NULL;
    modq_desk_denial denial = {0};
    modq_desk_result rc;

    if (queue && !queue[0]) {
        queue = NULL; /* "?queue=" from a form with nothing chosen: any queue */
    }
    rc = modq_desk_next(c->api->desk, &c->who, queue, c->now_ms, &item, &status, &denial);
    if (rc != MODQ_DESK_OK) {
        api_desk_error(c, rc, &denial, queue);
        return;
    }
    api_json(
        c, 200,
        api_object("item", item ? item : json_null(), "status", status ? status : json_null()));
}

/* A level 0..3: digits only, so "+1", " 1" and "1x" are refused rather than guessed at. */
static bool parse_level(const char *s, int *out)
{
    int64_t v;

    if (*s < '0' || *s > '9' || !modq_parse_int64(s, 0, MODQ_POLICY_LEVELS - 1, &v)) {
        return false;
    }
    *out = (int)v;
    return true;
}

static bool parse_flag(const char *s, bool *out)
{
    if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0) {
        *out = true;
    } else if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0) {
        *out = false;
    } else {
        return false;
    }
    return true;
}

void api_media(modq_api_call *c)
{
    const char *lv = modq_http_req_query(c->q, "level");
    const char *col = modq_http_req_query(c->q, "colour");
    int level = -1, served = -1;
    int64_t lease_until = 0;
    bool colour = false;
    uint8_t *data = NULL; /* the desk's copy; the response takes it */
    size_t len = 0;
    const char *mime = NULL;
    modq_desk_denial denial = {0};
    modq_desk_result rc;
    char buf[24];

    if (lv && !parse_level(lv, &level)) {
        api_error(c, 400, "bad_request", "level must be 0, 1, 2 or 3.", NULL);
        return;
    }
    if (col && !parse_flag(col, &colour)) {
        api_error(c, 400, "bad_request", "colour must be 1, true, 0 or false.", NULL);
        return;
    }
    rc = modq_desk_media(c->api->desk, &c->who, c->id, level, colour, "", c->now_ms, &data, &len,
                         &mime, &served, &lease_until, &denial);
    if (rc == MODQ_DESK_ERR_UNAVAILABLE && colour) {
        api_error(c, 409, "conflict", "This item has no colour version.", NULL);
        return;
    }
    if (rc != MODQ_DESK_OK) {
        api_desk_error(c, rc, &denial, NULL);
        return;
    }
    snprintf(buf, sizeof(buf), "%d", served);
    modq_http_resp_take(c->r, 200, mime ? mime : "application/octet-stream", data, len);
    modq_http_resp_header(c->r, "Cache-Control", "no-store");
    modq_http_resp_header(c->r, "X-Modq-Level", buf);
    /* Each view renews the lease: the page's countdown follows it (docs/api.md). */
    snprintf(buf, sizeof(buf), "%lld", (long long)lease_until);
    modq_http_resp_header(c->r, "X-Modq-Lease-Expires", buf);
}

void api_reveal(modq_api_call *c)
{
    json_t *body = NULL;
    const json_t *lv, *col;
    const char *reason = NULL;
    modq_desk_denial denial = {0};
    modq_desk_result rc;
    int level;

    if (!api_body(c, false, &body) || !api_string(c, body, "reason", MODQ_DESK_MAX_NOTE, &reason)) {
        goto out;
    }
    lv = json_object_get(body, "level");
    col = json_object_get(body, "colour");
    if (!json_is_integer(lv) || json_integer_value(lv) < 0 ||
        json_integer_value(lv) >= MODQ_POLICY_LEVELS) {
        api_error(c, 400, "bad_request", "level must be 0, 1, 2 or 3.", NULL);
        goto out;
    }
    if (col && !json_is_boolean(col) && !json_is_null(col)) {
        api_error(c, 400, "bad_request", "colour must be true or false.", NULL);
        goto out;
    }
    level = (int)json_integer_value(lv);
    rc = modq_desk_reveal(c->api->desk, &c->who, c->id, level, json_is_true(col),
                          reason ? reason : "", c->now_ms, &denial);
    if (rc == MODQ_DESK_ERR_UNAVAILABLE && json_is_true(col)) {
        api_error(c, 409, "conflict", "This item has no colour version.", NULL);
    } else if (rc != MODQ_DESK_OK) {
        api_desk_error(c, rc, &denial, NULL);
    } else {
        api_json(c, 200, api_object("level", json_integer(level), NULL, NULL));
    }
out:
    json_decref(body);
}

void api_escalate(modq_api_call *c)
{
    json_t *body = NULL;
    const char *note = NULL;
    modq_desk_confirm confirm;
    modq_desk_result rc;
    api_awaited *w;

    if (!api_body(c, true, &body) || !api_string(c, body, "note", MODQ_DESK_MAX_NOTE, &note) ||
        !(w = api_await_new(c, ESCALATION_LOST, &confirm))) {
        goto out;
    }
    /* Answered once Kafka has the escalation (a fleet's desk), as a decision is (api_await.c). */
    rc = modq_desk_escalate_then(c->api->desk, &c->who, c->id, note, c->now_ms, &confirm);
    if (rc != MODQ_DESK_OK) {
        api_await_cancel(w);
        api_desk_error(c, rc, NULL, NULL);
    } else {
        api_await_answer(c, w, api_object("escalated", json_string(c->id), NULL, NULL));
    }
out:
    json_decref(body);
}

void api_release(modq_api_call *c)
{
    json_t *body = NULL;
    modq_desk_result rc;

    if (!api_body(c, true, &body)) {
        goto out;
    }
    rc = modq_desk_release(c->api->desk, &c->who, c->id, c->now_ms);
    if (rc != MODQ_DESK_OK) {
        api_desk_error(c, rc, NULL, NULL);
    } else {
        api_json(c, 200, api_object("released", json_string(c->id), NULL, NULL));
    }
out:
    json_decref(body);
}
