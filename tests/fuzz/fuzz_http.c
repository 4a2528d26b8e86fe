/*
 * fuzz_http.c: the review API's request handling (modq_api_handle) as the HTTP server calls it:
 * routing and {id} decoding, query arguments, the bearer token, and the JSON bodies of every
 * route, over a real desk holding three items (one with media) for a team of two associates, a
 * lead and a QA reviewer. Requests are built in memory (http_impl.h), so no socket is involved:
 * what libmicrohttpd parses is its own business.
 *
 * Input: up to 16 requests separated by lines "%%". A request is a line "METHOD PATH[?QUERY]",
 * header lines "Name: value", an empty line and the body. "Bearer @a1" (associate), "@a2"
 * (associate), "@l1" (lead) and "@q1" (QA) stand for valid tokens of those people; a header
 * "X-Fuzz-Wait: N" lets N seconds pass (and the desk hand back expired leases) before the request.
 * Every request happens a second after the one before.
 *
 * Invariants: every request is answered with a status of 100..599 and never a 500 (all bad input
 * is the caller's: 4xx); a JSON answer parses, an error answer names its error; a 401 asks for a
 * Bearer token.
 */
#include "modq_common.h"
#include "api/api_impl.h"
#include "fuzz_desk.h"
#include "fuzz_util.h"
#include "http/http_impl.h"

#include <microhttpd.h>
#include <strings.h>

#define T0           INT64_C(1767603600000) /* 2026-01-05T09:00:00Z */
#define SECRET       "the fuzzing HS256 secret, thirty-two bytes or more"
#define MAX_REQUESTS 16
#define MAX_ARGS     16
#define MAX_HEADERS  16
#define NPEOPLE      4

typedef struct fz_state {
    modq_policy *policy;
    modq_media_opts *opts;
    uint8_t *img;
    size_t img_len;
    modq_jwt_keys *keys;
    modq_metrics *metrics;
    FILE *log_file;
    modq_log *log;
    char *tokens[NPEOPLE];
    char bearer[NPEOPLE][MODQ_JWT_MAX_TOKEN + 16];
    int64_t now_ms;
} fz_state;

static fz_state st;

static const char *const people[NPEOPLE] = {"a1", "a2", "l1", "q1"};

static void cleanup(void)
{
    for (int i = 0; i < NPEOPLE; i++) {
        free(st.tokens[i]);
    }
    modq_log_free(st.log);
    if (st.log_file) {
        fclose(st.log_file);
    }
    modq_metrics_free(st.metrics);
    modq_jwt_keys_free(st.keys);
    modq_synth_free(st.img);
    modq_opts_free(st.opts);
    modq_policy_free(st.policy);
    modq_blur_shutdown();
}

static void mint(int i)
{
    const char *role = people[i][0] == 'a' ? "associate" : people[i][0] == 'l' ? "lead" : "qa";
    const char *skills[] = {"extremism", "csam_trained"}, *locales[] = {"ar", "de"};
    modq_jwt_mint_opts o = {.sub = people[i],
                            .team = "t1",
                            .roles = &role,
                            .nroles = 1,
                            .skills = skills,
                            .nskills = 2,
                            .locales = locales,
                            .nlocales = 2,
                            .issuer = "modq-fuzz",
                            .audience = "modq",
                            .now_s = T0 / 1000,
                            .ttl_s = 24 * 3600};
    char err[256];

    if (modq_jwt_mint_hs256((const unsigned char *)SECRET, sizeof(SECRET) - 1, &o, &st.tokens[i],
                            err, sizeof(err)) != MODQ_JWT_OK) {
        fz_setup_fail("token: %s", err);
    }
    snprintf(st.bearer[i], sizeof(st.bearer[i]), "Bearer %s", st.tokens[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[1024], err[512];
    modq_jwt_key_opts ko = {.algorithms = MODQ_JWT_HS256,
                            .secret = (const unsigned char *)SECRET,
                            .secret_len = sizeof(SECRET) - 1,
                            .issuer = "modq-fuzz",
                            .audience = "modq",
                            .leeway_s = 0};

    (void)argc;
    atexit(cleanup);
    if (modq_blur_init((*argv)[0]) != MODQ_BLUR_OK) {
        fz_setup_fail("libvips did not start");
    }
    if (modq_policy_load_file(fz_source_path("policy/default.yaml", path, sizeof(path)), &st.policy,
                              err, sizeof(err)) != MODQ_POLICY_OK) {
        fz_setup_fail("%s", err);
    }
    if (!(st.opts = modq_opts_new()) ||
        modq_opts_set(st.opts, MODQ_OPT_DISPLAY_SIZE, 32) != MODQ_BLUR_OK ||
        modq_synth_image(MODQ_SYNTH_SHAPES, 24, 16, 7, "jpeg", &st.img, &st.img_len) !=
            MODQ_BLUR_OK) {
        fz_setup_fail("media");
    }
    if (modq_jwt_keys_new(&ko, &st.keys, err, sizeof(err)) != MODQ_JWT_OK) {
        fz_setup_fail("keys: %s", err);
    }
    for (int i = 0; i < NPEOPLE; i++) {
        mint(i);
    }
    if (!(st.metrics = modq_metrics_new()) || !(st.log_file = fopen("/dev/null", "w")) ||
        !(st.log = modq_log_new(st.log_file, MODQ_LOG_DEBUG, "w-fuzz"))) {
        fz_setup_fail("metrics or log");
    }
    return 0;
}

/* ---- The desk and the API ----------------------------------------------------------------- */

static int64_t clock_ms(void *arg)
{
    (void)arg;
    return st.now_ms;
}

/* A prepared review item id of queue, with the image or text only, added to d. */
static void add_item(modq_desk *d, const char *id, const char *queue, bool media, int64_t offset)
{
    Modq__V1__Ticket t;
    Modq__V1__Media m;
    modq_prepare_ctx ctx = {.policy = st.policy,
                            .media_opts = st.opts,
                            .worker_id = "w-fuzz",
                            .max_message_bytes = 1 << 20};
    modq_desk_ref ref = {.partition = 0, .offset = offset};
    uint8_t buf[4096];
    size_t len;
    modq_prepared *p;

    modq__v1__ticket__init(&t);
    modq__v1__media__init(&m);
    t.ticket_id = MODQ_UNCONST(id);
    t.content_id = MODQ_UNCONST("c-1");
    t.queue = MODQ_UNCONST(queue);
    t.text = MODQ_UNCONST("a caption");
    if (media) {
        m.source_case = MODQ__V1__MEDIA__SOURCE_INLINE_BYTES;
        m.inline_bytes.data = st.img;
        m.inline_bytes.len = st.img_len;
        t.media = &m;
    }
    if ((len = modq__v1__ticket__get_packed_size(&t)) > sizeof(buf)) {
        fz_setup_fail("ticket too large");
    }
    modq__v1__ticket__pack(&t, buf);
    if (!(p = modq_prepare_ticket(&ctx, buf, len, T0)) || p->kind != MODQ_PREPARED_REVIEW) {
        fz_setup_fail("item %s was not prepared for review", id);
    }
    snprintf(ref.topic, sizeof(ref.topic), "modq.tickets.%s", queue);
    if (modq_desk_add(d, p, &ref, T0) != MODQ_DESK_OK) {
        fz_setup_fail("item %s not added", id);
    }
}

static modq_desk *desk(void)
{
    modq_desk *d = fz_desk_new(st.policy, 300 * 1000, 1.0, 8);

    add_item(d, "t-1", "hate", true, 1);
    add_item(d, "t-2", "spam", false, 2);
    add_item(d, "t~3", "violent_extremism", false, 3);
    return d;
}

/* ---- One request -------------------------------------------------------------------------- */

typedef struct request {
    char *method, *path;
    http_kv args[MAX_ARGS], headers[MAX_HEADERS];
    size_t nargs, nheaders;
    const char *body;
    size_t body_len;
} request;

/* Splits "a=b&c" (in place) into URL-decoded arguments, as libmicrohttpd does. */
static void parse_query(char *s, request *rq)
{
    char *save = NULL;

    for (char *kv = strtok_r(s, "&", &save); kv && rq->nargs < MAX_ARGS;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq) {
            *eq = '\0';
            MHD_http_unescape(eq + 1);
        }
        MHD_http_unescape(kv);
        rq->args[rq->nargs++] = (http_kv){kv, eq ? eq + 1 : NULL};
    }
}

/* A header line: "@xx" tokens are expanded; X-Fuzz-Wait moves the clock. */
static void parse_header(char *line, request *rq, modq_desk *d)
{
    char *colon = strchr(line, ':'), *v;

    if (!colon || rq->nheaders == MAX_HEADERS) {
        return;
    }
    *colon = '\0';
    for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
        ;
    if (strcasecmp(line, "X-Fuzz-Wait") == 0) {
        st.now_ms += (int64_t)(strtoul(v, NULL, 10) % 100000) * 1000;
        modq_desk_tick(d, st.now_ms);
        return;
    }
    for (int i = 0; i < NPEOPLE; i++) {
        if (strncmp(v, "Bearer @", 8) == 0 && strcmp(v + 8, people[i]) == 0) {
            v = st.bearer[i];
        }
    }
    rq->headers[rq->nheaders++] = (http_kv){line, v};
}

/* Parses one request (text NUL-terminated, modified in place). false: not a request. */
static bool parse(char *text, size_t len, request *rq, modq_desk *d)
{
    char *end = text + len, *line = text, *nl, *sp, *q;

    memset(rq, 0, sizeof(*rq));
    if (!(nl = memchr(line, '\n', (size_t)(end - line)))) {
        nl = end;
    }
    *nl = '\0';
    if (!(sp = strchr(line, ' '))) {
        return false;
    }
    *sp = '\0';
    rq->method = line;
    rq->path = sp + 1;
    if ((q = strchr(rq->path, '?'))) {
        *q = '\0';
        parse_query(q + 1, rq);
    }
    for (line = nl < end ? nl + 1 : end; line < end; line = nl + 1) {
        if (!(nl = memchr(line, '\n', (size_t)(end - line)))) {
            nl = end;
        }
        *nl = '\0';
        if (line == nl) {
            line = nl + 1;
            break;
        }
        parse_header(line, rq, d);
        if (nl == end) {
            line = end;
            break;
        }
    }
    rq->body = line < end ? line : "";
    rq->body_len = line < end ? (size_t)(end - line) : 0;
    return true;
}

static void check(const request *rq, const modq_http_resp *r)
{
    json_t *js;
    bool has_auth = false;

    if (!r->filled || r->status < 100 || r->status > 599) {
        fz_fail("%s %s: not answered (%d)", rq->method, rq->path, r->status);
    }
    if (r->status == 500 && !r->nomem) {
        fz_fail("%s %s: 500 %.*s", rq->method, rq->path, (int)r->body_len, r->body ? r->body : "");
    }
    if (strcmp(r->mime, "application/json") == 0) {
        if (!(js = json_loadb(r->body, r->body_len, 0, NULL))) {
            fz_fail("%s %s: a JSON answer that does not parse", rq->method, rq->path);
        }
        if (r->status >= 400 && !json_string_value(json_object_get(js, "error"))) {
            fz_fail("%s %s: %d without an error code", rq->method, rq->path, r->status);
        }
        json_decref(js);
    }
    for (size_t i = 0; i < r->nheaders; i++) {
        has_auth |= strcmp(r->headers[i].name, "WWW-Authenticate") == 0;
    }
    if (r->status == 401 && !has_auth) {
        fz_fail("%s %s: 401 without WWW-Authenticate", rq->method, rq->path);
    }
}

static void serve(modq_api *api, modq_desk *d, char *text, size_t len)
{
    request rq;
    modq_http_resp r;
    modq_http_req q;

    if (!parse(text, len, &rq, d)) {
        return;
    }
    q = (modq_http_req){.method = rq.method,
                        .path = rq.path,
                        .body = rq.body,
                        .body_len = rq.body_len,
                        .args = rq.args,
                        .nargs = rq.nargs,
                        .headers = rq.headers,
                        .nheaders = rq.nheaders};
    http_resp_init(&r);
    modq_api_handle(api, &q, &r);
    check(&rq, &r);
    http_resp_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fz_strndup(data, size), *cur, *next;
    modq_desk *d;
    modq_api *api = NULL;
    modq_api_opts ao = {.metrics = st.metrics, .log = st.log, .clock = clock_ms};
    size_t left = size;

    if (!text) {
        return 0;
    }
    st.now_ms = T0;
    ao.desk = d = desk();
    ao.keys = st.keys;
    if (modq_api_new(&ao, &api) != MODQ_API_OK) {
        fz_setup_fail("api");
    }
    cur = text;
    for (int n = 0; n < MAX_REQUESTS && cur; n++) {
        size_t head;
        const uint8_t *rest;
        size_t rest_len;

        fz_split((const uint8_t *)cur, left, "\n%%\n", &head, &rest, &rest_len);
        next = rest ? (char *)(uintptr_t)rest : NULL;
        cur[head] = '\0';
        st.now_ms += 1000;
        serve(api, d, cur, head);
        cur = next;
        left = rest_len;
    }
    modq_api_free(api);
    modq_desk_free(d);
    free(text);
    return 0;
}
