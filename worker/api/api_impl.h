/*
 * api_impl.h: what the review API's files share (private to api*.c). api.c routes a request,
 * checks its token and owns the answer helpers; api_items.c serves the item routes and
 * api_people.c the routes about a person (me, team, breaks, support).
 */
#ifndef MODQ_WORKER_API_IMPL_H
#define MODQ_WORKER_API_IMPL_H

#include "api.h"
#include "prepare/text.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODQ_API_MAX_ID MODQ_TEXT_TICKET_ID_MAX /* bytes of a decoded {id} */

struct modq_api {
    modq_desk *desk;
    const modq_jwt_keys *keys;
    modq_metrics *metrics; /* may be NULL */
    modq_log *log;         /* may be NULL */
    bool (*healthy)(void *arg);
    bool (*ready)(void *arg);
    const char *(*not_serving)(void *arg, const char **message);
    void (*refresh_metrics)(void *arg);
    void (*on_auth_failed)(void *arg, const char *reason, int64_t now_ms);
    void *arg;
    modq_api_clock clock;
    void *clock_arg;
};

/* One request in flight, on the handler's stack: valid during the handler call only. */
typedef struct modq_api_call {
    modq_api *api;
    const modq_http_req *q;
    modq_http_resp *r;
    const char *route; /* static route label, for the metric and the log */
    int64_t now_ms;
    char id[MODQ_API_MAX_ID + 1]; /* the decoded {id}; "" on routes without one */
    modq_jwt_claims claims;       /* the verified token (routes under /v1/) */
    const char *skills[MODQ_JWT_MAX_LIST];
    const char *opt_outs[MODQ_JWT_MAX_LIST];
    modq_desk_who who; /* points into claims */
} modq_api_call;

/* ---- Answers that wait for Kafka (api_await.c) ------------------------------------------- */

/* What a person did (a decision, an escalation) is answered once the desk's sink tells its fate:
 * 200 when Kafka confirmed it, 202 with "confirmed": false when it is kept to be sent again, 503
 * not_recorded (message lost, static) when it was dropped. */
typedef struct api_awaited api_awaited;
/* Fills *confirm, to hand to the desk's call. NULL when out of memory (answered 500 then). */
api_awaited *api_await_new(modq_api_call *c, const char *lost, modq_desk_confirm *confirm);
/* The desk refused (so it never tells): frees w. */
void api_await_cancel(api_awaited *w);
/* The desk accepted: answer (taken; NULL answers 500) goes out once the fate is known, and w is
 * freed then. */
void api_await_answer(modq_api_call *c, api_awaited *w, json_t *answer);

/* ---- Answers (api.c). Each one fills c->r once. ----------------------------------------- */

/* status and {"error": code, "message": message}; counted in modq_api_errors_total{code}, logged
 * at error when status >= 500 (detail, may be NULL, goes to the log only). */
void api_error(modq_api_call *c, int status, const char *code, const char *message,
               const char *detail);
/* status and js (taken, even on failure; NULL answers 500). */
void api_json(modq_api_call *c, int status, json_t *js);
/* The answer to a desk failure rc (not OK). denial is read for ERR_DENIED; queue names the queue
 * asked for, for ERR_UNKNOWN_QUEUE (may be NULL). */
void api_desk_error(modq_api_call *c, modq_desk_result rc, const modq_desk_denial *denial,
                    const char *queue);

/* A new object {k1: v1, k2: v2} (k2 may be NULL for one member). v1 and v2 are taken, even on
 * failure; NULL when one of them is NULL or memory is short. */
json_t *api_object(const char *k1, json_t *v1, const char *k2, json_t *v2);

/* ---- Request bodies (api.c). On false the 400 was answered already. --------------------- */

/* The body as a JSON object (caller owns *out). An empty body is {} when allow_empty. */
bool api_body(modq_api_call *c, bool allow_empty, json_t **out);
/* Optional string member key of at most max bytes: *out is borrowed from body, NULL when absent
 * or null. */
bool api_string(modq_api_call *c, const json_t *body, const char *key, size_t max,
                const char **out);

/* ---- Routes. ---------------------------------------------------------------------------- */

void api_next(modq_api_call *c);
void api_media(modq_api_call *c);
void api_reveal(modq_api_call *c);
void api_decision(modq_api_call *c);
void api_escalate(modq_api_call *c);
void api_release(modq_api_call *c);

void api_me(modq_api_call *c);
void api_team(modq_api_call *c);
void api_break_start(modq_api_call *c);
void api_break_end(modq_api_call *c);
void api_support(modq_api_call *c);
void api_support_ack(modq_api_call *c);

#endif
