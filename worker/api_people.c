/*
 * api_people.c: the review API's routes about the person rather than an item (docs/api.md):
 * /v1/me, /v1/team, /v1/breaks/start|end and /v1/support.
 */
#include "api_impl.h"

/* Answers a Status-bearing desk call: status (taken) on OK, the mapped error otherwise. */
static void status_answer(modq_api_call *c, modq_desk_result rc, json_t *status)
{
    if (rc != MODQ_DESK_OK) {
        json_decref(status);
        modq_api_desk_error(c, rc, NULL, NULL);
        return;
    }
    modq_api_json(c, 200, status);
}

void modq_api_me(modq_api_call *c)
{
    json_t *status = NULL;
    modq_desk_result rc = modq_desk_me(c->api->desk, &c->who, c->now_ms, &status);

    status_answer(c, rc, status);
}

void modq_api_team(modq_api_call *c)
{
    json_t *team = NULL;
    modq_desk_result rc = modq_desk_team(c->api->desk, &c->who, c->now_ms, &team);

    status_answer(c, rc, team);
}

void modq_api_break_start(modq_api_call *c)
{
    json_t *body = NULL, *status = NULL;
    modq_desk_result rc;

    /* The body carries nothing yet, but one that is sent must still be well-formed. */
    if (!modq_api_body(c, true, &body))
        return;
    json_decref(body);
    rc = modq_desk_break_start(c->api->desk, &c->who, c->now_ms, &status);
    status_answer(c, rc, status);
}

void modq_api_break_end(modq_api_call *c)
{
    json_t *body = NULL, *status = NULL;
    modq_desk_result rc;

    if (!modq_api_body(c, true, &body))
        return;
    json_decref(body);
    rc = modq_desk_break_end(c->api->desk, &c->who, c->now_ms, &status);
    status_answer(c, rc, status);
}

void modq_api_support(modq_api_call *c)
{
    json_t *body = NULL;
    const char *message = NULL;
    modq_desk_result rc;

    if (!modq_api_body(c, true, &body) ||
        !modq_api_string(c, body, "message", MODQ_DESK_MAX_NOTE, &message))
        goto out;
    rc = modq_desk_support(c->api->desk, &c->who, message, c->now_ms);
    if (rc != MODQ_DESK_OK)
        modq_api_desk_error(c, rc, NULL, NULL);
    else
        modq_api_json(c, 202, modq_api_object("requested", json_true(), NULL, NULL));
out:
    json_decref(body);
}
