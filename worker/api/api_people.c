/*
 * api_people.c: the review API's routes about the person rather than an item (docs/api.md):
 * /v1/me, /v1/team, /v1/breaks/start|end, /v1/support and a lead's /v1/team/support/ack.
 */
#include "api_impl.h"

#include <string.h>

/* Answers a Status-bearing desk call: status (taken) on OK, the mapped error otherwise. */
static void status_answer(modq_api_call *c, modq_desk_result rc, json_t *status)
{
    if (rc != MODQ_DESK_OK) {
        json_decref(status);
        api_desk_error(c, rc, NULL, NULL);
        return;
    }
    api_json(c, 200, status);
}

void api_me(modq_api_call *c)
{
    json_t *status = NULL;
    modq_desk_result rc = modq_desk_me(c->api->desk, &c->who, c->now_ms, &status);

    status_answer(c, rc, status);
}

void api_team(modq_api_call *c)
{
    json_t *team = NULL;
    modq_desk_result rc = modq_desk_team(c->api->desk, &c->who, c->now_ms, &team);

    status_answer(c, rc, team);
}

void api_break_start(modq_api_call *c)
{
    json_t *body = NULL, *status = NULL;
    modq_desk_result rc;

    /* The body carries nothing yet, but one that is sent must still be well-formed. */
    if (!api_body(c, true, &body)) {
        return;
    }
    json_decref(body);
    rc = modq_desk_break_start(c->api->desk, &c->who, c->now_ms, &status);
    status_answer(c, rc, status);
}

void api_break_end(modq_api_call *c)
{
    json_t *body = NULL, *status = NULL;
    modq_desk_result rc;

    if (!api_body(c, true, &body)) {
        return;
    }
    json_decref(body);
    rc = modq_desk_break_end(c->api->desk, &c->who, c->now_ms, &status);
    status_answer(c, rc, status);
}

void api_support(modq_api_call *c)
{
    json_t *body = NULL;
    const char *message = NULL;
    modq_desk_result rc;

    if (!api_body(c, true, &body) ||
        !api_string(c, body, "message", MODQ_DESK_MAX_NOTE, &message)) {
        goto out;
    }
    /* The lead reads it as typed: line breaks and other control characters would let one
     * message pose as several lines of the team view or of a tool showing the event. */
    if (message && !modq_desk_text_ok(message, strlen(message))) {
        api_error(c, 400, "bad_request",
                  "\"message\" must be text without control characters (no line breaks "
                  "or tabs).",
                  NULL);
        goto out;
    }
    rc = modq_desk_support(c->api->desk, &c->who, message, c->now_ms);
    if (rc != MODQ_DESK_OK) {
        api_desk_error(c, rc, NULL, NULL);
    } else {
        api_json(c, 202, api_object("requested", json_true(), NULL, NULL));
    }
out:
    json_decref(body);
}

void api_support_ack(modq_api_call *c)
{
    json_t *body = NULL;
    const char *associate = NULL;
    modq_desk_result rc;

    if (!api_body(c, false, &body) ||
        !api_string(c, body, "associate", MODQ_API_MAX_ID, &associate)) {
        goto out;
    }
    if (!associate || !associate[0]) {
        api_error(c, 400, "bad_request", "The body needs an \"associate\".", NULL);
        goto out;
    }
    rc = modq_desk_support_ack(c->api->desk, &c->who, associate, c->now_ms);
    if (rc == MODQ_DESK_ERR_NOT_FOUND) {
        api_error(c, 404, "not_found", "No such associate in your team.", NULL);
    } else if (rc != MODQ_DESK_OK) {
        api_desk_error(c, rc, NULL, NULL);
    } else {
        api_json(c, 200, api_object("acknowledged", json_string(associate), NULL, NULL));
    }
out:
    json_decref(body);
}
