/*
 * api.h: the review API (private to worker/): the routes of docs/api.md over the HTTP server
 * (http.h), the token verifier (jwt.h) and the review desk (desk.h).
 *
 * modq_api_handle is the HTTP server's handler. For /v1/ it verifies the bearer token (every
 * failure: 401 {"error":"unauthorized"} with WWW-Authenticate: Bearer, the precise reason only in
 * the log line and an AUTH_FAILED audit event via on_auth_failed), builds the desk's identity from
 * the claims, parses the request (bodies are JSON objects; unknown fields ignored; wrong types
 * 400), calls the desk and maps its result to the status of docs/api.md. /healthz, /readyz and
 * /metrics need no token. Media answers carry Cache-Control: no-store. Every answer sets its
 * route label for the latency metric.
 *
 * Threads: the handler runs on the HTTP server's threads; everything it uses is thread-safe.
 */
#ifndef MODQ_WORKER_API_H
#define MODQ_WORKER_API_H

#include "desk/desk.h"
#include "http/http.h"
#include "auth/jwt.h"
#include "obs/log.h"
#include "obs/metrics.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum modq_api_result {
    MODQ_API_OK = 0,
    MODQ_API_ERR_INVALID_ARG,
    MODQ_API_ERR_NOMEM,
    MODQ_API_RESULT_COUNT
} modq_api_result;

const char *modq_api_strerror(modq_api_result r);

/* Unix milliseconds; arg is clock_arg. */
typedef int64_t (*modq_api_clock)(void *arg);

typedef struct modq_api_opts {
    modq_desk *desk;           /* borrowed, required */
    const modq_jwt_keys *keys; /* borrowed, required */
    modq_metrics *metrics;     /* borrowed, may be NULL (/metrics then answers 404) */
    modq_log *log;             /* borrowed, may be NULL */
    /* /healthz and /readyz: true when healthy / ready. NULL = always true. */
    bool (*healthy)(void *arg);
    bool (*ready)(void *arg);
    /* Whether this process serves people now: NULL (the callback, or what it returns) when it
     * does; otherwise a stable code ("standby", "not_a_desk") with *message a sentence for
     * people, and every route that needs a token answers 503 with them (Retry-After: 5) before
     * the token is looked at. A fleet's prepare pods and standby desks. NULL = always serving. */
    const char *(*not_serving)(void *arg, const char **message);
    /* Called before /metrics renders, to refresh gauges. May be NULL. */
    void (*refresh_metrics)(void *arg);
    /* A token was refused: reason is the verifier's text (for the audit event). May be NULL. */
    void (*on_auth_failed)(void *arg, const char *reason, int64_t now_ms);
    void *arg;            /* for the five callbacks above */
    modq_api_clock clock; /* NULL: CLOCK_REALTIME */
    void *clock_arg;
} modq_api_opts;

typedef struct modq_api modq_api;

/* A new API (caller owns it: modq_api_free, after the HTTP server is freed). The metric
 * families the API updates are declared here when metrics is given. */
modq_api_result modq_api_new(const modq_api_opts *opts, modq_api **out);
void modq_api_free(modq_api *a);

/* The modq_http_handler; arg is the modq_api. */
void modq_api_handle(void *arg, const modq_http_req *q, modq_http_resp *r);
/* The probe listener's handler: /healthz, /readyz and /metrics as above, 404 for every other
 * path, so that nothing reviewers use is served there. */
void modq_api_handle_probe(void *arg, const modq_http_req *q, modq_http_resp *r);

#endif
