/*
 * api.c: the review API's front door (see api.h): the route table, the bearer-token check, the
 * probes and /metrics, and the helpers every route answers through, so that each status of
 * docs/api.md is produced in one place.
 */
#include "api_impl.h"
#include "modq_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALLOW_GET  "GET, HEAD"
#define ALLOW_POST "POST"

#define ITEMS_PREFIX "/v1/items/"
#define UNAUTHORIZED "A valid bearer token is required."

static const char *const result_text[MODQ_API_RESULT_COUNT] = {
    [MODQ_API_OK] = "success",
    [MODQ_API_ERR_INVALID_ARG] = "invalid argument",
    [MODQ_API_ERR_NOMEM] = "out of memory",
};

const char *modq_api_strerror(modq_api_result r)
{
    return (unsigned)r < MODQ_API_RESULT_COUNT ? result_text[r] : "unknown error";
}

typedef struct route {
    const char *path; /* the whole path, or for item routes the action after {id}/ */
    const char *label;
    bool post; /* POST only; otherwise GET and HEAD */
    bool acts; /* a GET that leases or reveals: no HEAD, which would act without showing */
    bool auth; /* needs a bearer token */
    void (*fn)(modq_api_call *c);
} route;

static void healthz(modq_api_call *c);
static void readyz(modq_api_call *c);
static void metrics(modq_api_call *c);

static const route fixed_routes[] = {
    {"/v1/next", "/v1/next", false, true, true, api_next},
    {"/v1/me", "/v1/me", false, false, true, api_me},
    {"/v1/team", "/v1/team", false, false, true, api_team},
    {"/v1/breaks/start", "/v1/breaks/start", true, false, true, api_break_start},
    {"/v1/breaks/end", "/v1/breaks/end", true, false, true, api_break_end},
    {"/v1/support", "/v1/support", true, false, true, api_support},
    {"/v1/team/support/ack", "/v1/team/support/ack", true, false, true, api_support_ack},
    {"/healthz", "/healthz", false, false, false, healthz},
    {"/readyz", "/readyz", false, false, false, readyz},
    {"/metrics", "/metrics", false, false, false, metrics},
};

static const route item_routes[] = {
    {"media", "/v1/items/media", false, true, true, api_media},
    {"reveal", "/v1/items/reveal", true, false, true, api_reveal},
    {"decision", "/v1/items/decision", true, false, true, api_decision},
    {"escalate", "/v1/items/escalate", true, false, true, api_escalate},
    {"release", "/v1/items/release", true, false, true, api_release},
};

static int64_t realtime_ms(void *arg)
{
    (void)arg;
    return modq_clock_wall_ms();
}

modq_api_result modq_api_new(const modq_api_opts *opts, modq_api **out)
{
    modq_api *a;

    if (out) {
        *out = NULL;
    }
    if (!opts || !out || !opts->desk || !opts->keys) {
        return MODQ_API_ERR_INVALID_ARG;
    }
    if (opts->metrics) {
        /* A second API over the same registry finds the families declared: that is fine. */
        if (modq_metrics_declare(opts->metrics, "modq_auth_failures_total", MODQ_METRICS_COUNTER,
                                 "Requests refused for a missing or invalid bearer token.", NULL,
                                 NULL, 0) == MODQ_METRICS_ERR_NOMEM ||
            modq_metrics_declare(opts->metrics, "modq_api_errors_total", MODQ_METRICS_COUNTER,
                                 "Review API error answers, by error code.", "code", NULL,
                                 0) == MODQ_METRICS_ERR_NOMEM) {
            return MODQ_API_ERR_NOMEM;
        }
    }
    if (!(a = calloc(1, sizeof(*a)))) {
        return MODQ_API_ERR_NOMEM;
    }
    a->desk = opts->desk;
    a->keys = opts->keys;
    a->metrics = opts->metrics;
    a->log = opts->log;
    a->healthy = opts->healthy;
    a->ready = opts->ready;
    a->not_serving = opts->not_serving;
    a->refresh_metrics = opts->refresh_metrics;
    a->on_auth_failed = opts->on_auth_failed;
    a->arg = opts->arg;
    a->clock = opts->clock ? opts->clock : realtime_ms;
    a->clock_arg = opts->clock_arg;
    *out = a;
    return MODQ_API_OK;
}

void modq_api_free(modq_api *a)
{
    free(a);
}

/* ---- Answers ------------------------------------------------------------------------------ */

void api_json(modq_api_call *c, int status, json_t *js)
{
    if (!js) {
        api_error(c, 500, "internal", "Something went wrong. Please try again.",
                  "out of memory building the answer");
        return;
    }
    modq_http_resp_json(c->r, status, js);
}

void api_error(modq_api_call *c, int status, const char *code, const char *message,
               const char *detail)
{
    json_t *js = json_object();

    if (c->api->metrics) {
        modq_metrics_add(c->api->metrics, "modq_api_errors_total", code, 1);
    }
    /* A pause is logged once by the worker when it starts, not once per page that asks. */
    if (status >= 500 && strcmp(code, "paused") != 0) {
        modq_log_write(c->api->log, MODQ_LOG_ERROR, "review API error", "route", c->route, "code",
                       code, "detail", detail ? detail : message, NULL);
    }
    /* A message that is not valid UTF-8 (it may quote the request) falls back to the code. */
    if (!js || json_object_set_new(js, "error", json_string(code)) != 0 ||
        (json_object_set_new(js, "message", json_string(message)) != 0 &&
         json_object_set_new(js, "message", json_string(code)) != 0)) {
        json_decref(js);
        modq_http_resp_error(c->r, 500, "internal", "Something went wrong. Please try again.");
        return;
    }
    modq_http_resp_json(c->r, status, js);
}

json_t *api_object(const char *k1, json_t *v1, const char *k2, json_t *v2)
{
    json_t *js = json_object();
    /* Not short-circuited: each set takes its value, so nothing leaks when one fails. */
    int bad = json_object_set_new(js, k1, v1);

    if (k2) {
        bad |= json_object_set_new(js, k2, v2);
    } else {
        json_decref(v2);
    }
    if (bad) {
        json_decref(js);
        return NULL;
    }
    return js;
}

/* What the person reads with a 423: kind, and what happens next. */
static const char *denial_message(modq_policy_reason reason)
{
    switch (reason) {
    case MODQ_REASON_ON_BREAK:
        return "You are on a break. Take your time.";
    case MODQ_REASON_SHIFT_OVER:
        return "Your shift is over. Thank you for today's work; rest well.";
    case MODQ_REASON_BREAK_DUE:
        return "Time for a break. The queue will be here when you come back.";
    case MODQ_REASON_ROLE:
        return "Your role does not take items from this queue.";
    case MODQ_REASON_SKILL:
        return "This queue needs a skill or language you have not been assigned.";
    case MODQ_REASON_OPT_OUT:
        return "You opted out of this category, so it is not offered to you.";
    case MODQ_REASON_DAILY_CAP:
        return "You have reached today's exposure limit. Thank you for your work today.";
    case MODQ_REASON_TIER_CAP:
        return "You have reached today's limit for this kind of content.";
    case MODQ_REASON_COOLDOWN:
        return "A short pause after a severe item. Take a breath; work resumes shortly.";
    case MODQ_REASON_ROTATION:
        return "Time for a different category for a while.";
    case MODQ_REASON_REVEAL_LEVEL:
        return "This item cannot be shown any clearer.";
    case MODQ_REASON_COLOUR:
        return "This item is shown in greyscale only.";
    case MODQ_REASON_NEEDS_REASON:
        return "Please type a reason before viewing this item clearly.";
    case MODQ_REASON_LEDGER_FULL:
        return "Your exposure record is full, so no work can be handed out now. Please tell "
               "your lead.";
    default:
        return "The wellbeing policy does not allow this now.";
    }
}

static void denied(modq_api_call *c, const modq_desk_denial *denial)
{
    static const modq_desk_denial none = {MODQ_REASON_NONE, 0};
    json_t *js = json_object();

    if (!denial) {
        denial = &none;
    }

    if (c->api->metrics) {
        modq_metrics_add(c->api->metrics, "modq_api_errors_total", "policy_denied", 1);
    }
    if (!js || json_object_set_new(js, "error", json_string("policy_denied")) != 0 ||
        json_object_set_new(js, "reason", json_string(modq_policy_reason_name(denial->reason))) !=
            0 ||
        json_object_set_new(js, "until_ms", json_integer(denial->until_ms)) != 0 ||
        json_object_set_new(js, "message", json_string(denial_message(denial->reason))) != 0) {
        json_decref(js);
        api_error(c, 500, "internal", "Something went wrong. Please try again.",
                  "out of memory building a denial");
        return;
    }
    modq_http_resp_json(c->r, 423, js);
}

void api_desk_error(modq_api_call *c, modq_desk_result rc, const modq_desk_denial *denial,
                    const char *queue)
{
    char msg[160];
    json_t *named;

    switch (rc) {
    case MODQ_DESK_ERR_INVALID_ARG:
        api_error(c, 400, "bad_request", "The request is not valid.", NULL);
        break;
    case MODQ_DESK_ERR_NOT_FOUND:
        api_error(c, 404, "not_found", "No such item: it may have been decided already.", NULL);
        break;
    case MODQ_DESK_ERR_FORBIDDEN:
        api_error(c, 403, "forbidden", "This is not yours to do.", NULL);
        break;
    case MODQ_DESK_ERR_DENIED:
        denied(c, denial);
        break;
    case MODQ_DESK_ERR_STATE:
        api_error(c, 409, "conflict", "That already happened or cannot happen now.", NULL);
        break;
    case MODQ_DESK_ERR_UNAVAILABLE:
        api_error(c, 503, "unavailable", "The worker is not taking requests now.",
                  modq_desk_strerror(rc));
        break;
    case MODQ_DESK_ERR_FULL:
        api_error(c, 503, "unavailable", "The worker is busy. Please try again.",
                  modq_desk_strerror(rc));
        break;
    case MODQ_DESK_ERR_PAUSED:
        api_error(c, 503, "paused",
                  "Decisions cannot be saved right now, so no new items are handed out. "
                  "What you have decided is kept and will be sent. This clears by itself.",
                  modq_desk_strerror(rc));
        break;
    case MODQ_DESK_ERR_UNCONFIRMED:
        modq_http_resp_header(c->r, "Retry-After", "2");
        api_error(c, 503, "unconfirmed",
                  "This desk cannot confirm with Kafka that it is still the active desk, so it "
                  "shows and takes nothing now. Your item is kept for you or returns to the "
                  "queue. Please try again in a moment.",
                  modq_desk_strerror(rc));
        break;
    case MODQ_DESK_ERR_UNKNOWN_QUEUE:
        /* The name comes from the request: jansson escapes it when the answer is written. */
        snprintf(msg, sizeof(msg), "No queue named \"%.64s\".", queue ? queue : "");
        if (!(named = json_string(msg))) { /* not UTF-8, or cut inside a character */
            snprintf(msg, sizeof(msg), "No such queue.");
        }
        json_decref(named);
        api_error(c, 404, "not_found", msg, NULL);
        break;
    default:
        api_error(c, 500, "internal", "Something went wrong. Please try again.",
                  modq_desk_strerror(rc));
        break;
    }
}

/* ---- Request bodies ----------------------------------------------------------------------- */

bool api_body(modq_api_call *c, bool allow_empty, json_t **out)
{
    size_t len = 0;
    const char *body = modq_http_req_body(c->q, &len);
    json_error_t err;
    json_t *js;

    *out = NULL;
    if (!body || len == 0) {
        if (!allow_empty) {
            api_error(c, 400, "bad_request", "A JSON object body is required.", NULL);
            return false;
        }
        if (!(*out = json_object())) {
            api_error(c, 500, "internal", "Something went wrong. Please try again.",
                      "out of memory");
            return false;
        }
        return true;
    }
    js = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    if (!js || !json_is_object(js)) {
        json_decref(js);
        api_error(c, 400, "bad_request", "The body must be a JSON object.", NULL);
        return false;
    }
    *out = js;
    return true;
}

bool api_string(modq_api_call *c, const json_t *body, const char *key, size_t max, const char **out)
{
    const json_t *v = json_object_get(body, key);
    char msg[96];

    *out = NULL;
    if (!v || json_is_null(v)) {
        return true;
    }
    if (!json_is_string(v)) {
        snprintf(msg, sizeof(msg), "\"%s\" must be a string.", key);
        api_error(c, 400, "bad_request", msg, NULL);
        return false;
    }
    if (json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v)) {
        snprintf(msg, sizeof(msg), "\"%s\" must be at most %zu bytes of text.", key, max);
        api_error(c, 400, "bad_request", msg, NULL);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* ---- Probes and metrics ------------------------------------------------------------------- */

static void probe(modq_api_call *c, bool (*fn)(void *), const char *bad)
{
    if (!fn || fn(c->api->arg)) {
        modq_http_resp_copy(c->r, 200, "text/plain; charset=utf-8", "ok\n", 3);
    } else {
        modq_http_resp_copy(c->r, 503, "text/plain; charset=utf-8", bad, strlen(bad));
    }
}

static void healthz(modq_api_call *c)
{
    probe(c, c->api->healthy, "stalled\n");
}

static void readyz(modq_api_call *c)
{
    probe(c, c->api->ready, "not ready\n");
}

static void metrics(modq_api_call *c)
{
    char *text = NULL;
    size_t len = 0;
    modq_metrics_result rc;

    if (!c->api->metrics) {
        api_error(c, 404, "not_found", "No such route.", NULL);
        return;
    }
    if (c->api->refresh_metrics) {
        c->api->refresh_metrics(c->api->arg);
    }
    rc = modq_metrics_render(c->api->metrics, &text, &len);
    if (rc != MODQ_METRICS_OK) {
        api_error(c, 500, "internal", "Something went wrong. Please try again.",
                  modq_metrics_strerror(rc));
        return;
    }
    modq_http_resp_take(c->r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

/* ---- Authentication ----------------------------------------------------------------------- */

static bool bearer_scheme(const char *h)
{
    static const char scheme[] = "bearer";
    for (size_t i = 0; i < sizeof(scheme) - 1; i++) {
        char ch = h[i];
        if (ch >= 'A' && ch <= 'Z') {
            ch = (char)(ch - 'A' + 'a');
        }
        if (ch != scheme[i]) {
            return false;
        }
    }
    return h[sizeof(scheme) - 1] == ' ';
}

/* Verifies the token and fills c->who; on false the 401 was answered. Every refusal looks the
 * same to the caller: the reason goes only to the log and the audit callback. */
static bool authenticate(modq_api_call *c)
{
    const char *h = modq_http_req_header(c->q, "Authorization");
    char why[256] = "";
    modq_jwt_result rc;

    if (!h) {
        snprintf(why, sizeof(why), "no Authorization header");
    } else if (!bearer_scheme(h)) {
        snprintf(why, sizeof(why), "not a Bearer credential");
    } else if (h[7] == '\0' || h[7] == ' ') {
        snprintf(why, sizeof(why), "no token after Bearer");
    } else {
        rc = modq_jwt_verify(c->api->keys, h + 7, c->now_ms / 1000, &c->claims, why, sizeof(why));
        if (rc == MODQ_JWT_OK) {
            for (size_t i = 0; i < c->claims.nskills && i < MODQ_JWT_MAX_LIST; i++) {
                c->skills[i] = c->claims.skills[i];
            }
            for (size_t i = 0; i < c->claims.nopt_outs && i < MODQ_JWT_MAX_LIST; i++) {
                c->opt_outs[i] = c->claims.opt_outs[i];
            }
            c->who = (modq_desk_who){
                .id = c->claims.sub,
                .team = c->claims.team,
                .roles = c->claims.roles,
                .skills = c->skills,
                .nskills =
                    c->claims.nskills < MODQ_JWT_MAX_LIST ? c->claims.nskills : MODQ_JWT_MAX_LIST,
                .opt_outs = c->opt_outs,
                .nopt_outs = c->claims.nopt_outs < MODQ_JWT_MAX_LIST ? c->claims.nopt_outs
                                                                     : MODQ_JWT_MAX_LIST,
            };
            return true;
        }
        if (!why[0]) {
            snprintf(why, sizeof(why), "%s", modq_jwt_strerror(rc));
        }
    }
    modq_log_write(c->api->log, MODQ_LOG_INFO, "bearer token refused", "route", c->route, "reason",
                   why, NULL);
    if (c->api->metrics) {
        modq_metrics_add(c->api->metrics, "modq_auth_failures_total", NULL, 1);
    }
    if (c->api->on_auth_failed) {
        c->api->on_auth_failed(c->api->arg, why, c->now_ms);
    }
    modq_http_resp_header(c->r, "WWW-Authenticate", "Bearer realm=\"modq\"");
    api_error(c, 401, "unauthorized", UNAUTHORIZED, NULL);
    return false;
}

/* ---- Routing ------------------------------------------------------------------------------ */

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/*
 * Decodes the raw id s (n bytes, as sent: http.c routes on the path before libmicrohttpd's own
 * decoding, so each %XX is decoded exactly once) into out (MODQ_API_MAX_ID + 1 bytes) and judges
 * it by the ticket id rule ingest applies (modq_text_ticket_id): anything else names no item and
 * is refused before it can reach the desk or a log line. A '/' may come as %2F or as itself.
 */
static bool decode_id(const char *s, size_t n, char *out)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)s[i];
        if (ch == '%') {
            int hi = n - i >= 3 ? hexval(s[i + 1]) : -1;
            int lo = n - i >= 3 ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return false;
            }
            ch = hi << 4 | lo;
            i += 2;
        }
        if (k >= MODQ_API_MAX_ID) {
            return false;
        }
        out[k++] = (char)ch;
    }
    out[k] = '\0';
    /* The length, not strlen: a decoded NUL must not cut the id short. */
    return modq_text_ticket_id(out, k);
}

/* The route for path, or NULL; fills c->id for item routes. Item routes are
 * /v1/items/{id}/{action}: no action holds a '/', so the id is everything up to the last one. */
static const route *find_route(modq_api_call *c, const char *path)
{
    const char *seg, *slash;

    for (size_t i = 0; i < sizeof(fixed_routes) / sizeof(fixed_routes[0]); i++) {
        if (strcmp(path, fixed_routes[i].path) == 0) {
            return &fixed_routes[i];
        }
    }
    if (strncmp(path, ITEMS_PREFIX, sizeof(ITEMS_PREFIX) - 1) != 0) {
        return NULL;
    }
    seg = path + sizeof(ITEMS_PREFIX) - 1;
    if (!(slash = strrchr(seg, '/')) || !decode_id(seg, (size_t)(slash - seg), c->id)) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof(item_routes) / sizeof(item_routes[0]); i++) {
        if (strcmp(slash + 1, item_routes[i].path) == 0) {
            return &item_routes[i];
        }
    }
    return NULL;
}

/* probes_only: the probe listener's routes alone (those that need no token). */
static void handle(modq_api *a, const modq_http_req *q, modq_http_resp *r, bool probes_only)
{
    modq_api_call c = {.api = a, .q = q, .r = r, .route = "other"};
    const char *method = modq_http_req_method(q);
    const char *path = modq_http_req_path(q);
    const route *rt;
    bool is_post;

    c.now_ms = c.api->clock(c.api->clock_arg);
    if (!method || !path || !(rt = find_route(&c, path)) || (probes_only && rt->auth)) {
        api_error(&c, 404, "not_found", "No such route.", NULL);
        return;
    }
    c.route = rt->label;
    modq_http_resp_route(r, rt->label);
    is_post = strcmp(method, "POST") == 0;
    if (rt->post != is_post ||
        (!is_post && strcmp(method, "GET") != 0 && (rt->acts || strcmp(method, "HEAD") != 0))) {
        modq_http_resp_header(r, "Allow", rt->post ? ALLOW_POST : rt->acts ? "GET" : ALLOW_GET);
        api_error(&c, 405, "method_not_allowed", "This route does not take that method.", NULL);
        return;
    }
    if (rt->auth && a->not_serving != NULL) {
        const char *message = "";
        const char *code = a->not_serving(a->arg, &message);
        if (code != NULL) {
            modq_http_resp_header(r, "Retry-After", "5");
            api_error(&c, 503, code, message, NULL);
            return;
        }
    }
    if (rt->auth && !authenticate(&c)) {
        return;
    }
    rt->fn(&c);
}

void modq_api_handle(void *arg, const modq_http_req *q, modq_http_resp *r)
{
    handle(arg, q, r, false);
}

void modq_api_handle_probe(void *arg, const modq_http_req *q, modq_http_resp *r)
{
    handle(arg, q, r, true);
}
