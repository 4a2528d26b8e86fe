/*
 * api_testutil.h: the fixture of the review API tests (tests/worker/api/test_worker_api*.c): the
 * shipped policy, a real desk with a recording sink, review items prepared from synthetic images,
 * real token keys, and the API behind a real HTTP server on 127.0.0.1, spoken to with libcurl.
 * Tokens are minted with modq_jwt_mint_hs256 (test_worker_api_auth.c signs RS256 and ES256).
 */
#ifndef MODQ_API_TESTUTIL_H
#define MODQ_API_TESTUTIL_H

#include "api/api.h"
#include "ticket_testutil.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <vips/vips.h>

#define AT_T0       INT64_C(1767600000000) /* 2026-01-05T08:00:00Z */
#define AT_ISSUER   "https://idp.test"
#define AT_AUDIENCE "modq"
#define AT_SECRET   "0123456789abcdef0123456789abcdef-test-secret"
#define AT_MAX_SEEN 32

/* What the desk published, as the sink saw it (the sink runs on the server's threads). */
typedef struct at_sink {
    pthread_mutex_t lock;
    size_t ndecisions, nwellbeing, nother;
    char decided[AT_MAX_SEEN][129];
    int verdicts[AT_MAX_SEEN];
    char labels[AT_MAX_SEEN][256];
    /* What the sink tells of each decision, and after how long (0: at once, on the caller's
     * thread; else from a thread of its own, as Kafka's confirmation would come). */
    modq_desk_fate fate;
    int fate_delay_ms;
} at_sink;

typedef struct at_server {
    modq_api *api;
    modq_http *http;
    int port;
} at_server;

typedef struct at_fixture {
    modq_policy *policy;
    modq_media_opts *opts;
    modq_prepare_ctx ctx;
    modq_desk *desk;
    at_sink sink;
    modq_jwt_keys *keys;
    modq_metrics *metrics;
    modq_log *log;
    FILE *log_file;
    char log_path[64];
    _Atomic int64_t now_ms;
    atomic_bool healthy, ready;
    atomic_int refreshes, auth_failures;
    at_server srv;
    uint8_t *img; /* a synthetic JPEG every item carries */
    size_t img_len;
} at_fixture;

/* One answer, as the client saw it. */
typedef struct at_resp {
    long status;
    char *body; /* NUL-terminated */
    size_t len;
    char headers[8192];
    size_t hlen;
} at_resp;

/* ---- Sink -------------------------------------------------------------------------------- */

typedef struct at_teller {
    modq_desk_confirm confirm;
    modq_desk_fate fate;
    int delay_ms;
} at_teller;

static inline void *at_tell_later(void *arg)
{
    at_teller *t = arg;
    struct timespec ts = {t->delay_ms / 1000, (long)(t->delay_ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
    t->confirm.fn(t->confirm.arg, t->fate);
    free(t);
    return NULL;
}

/* No Kafka here: the sink tells a decision's fate itself. */
static inline void at_tell(const modq_desk_confirm *confirm, modq_desk_fate fate, int delay_ms)
{
    at_teller *t;
    pthread_t th;

    if (!confirm) {
        return;
    }
    if (delay_ms <= 0) {
        confirm->fn(confirm->arg, fate);
        return;
    }
    t = malloc(sizeof(*t));
    assert_non_null(t);
    *t = (at_teller){*confirm, fate, delay_ms};
    assert_int_equal(pthread_create(&th, NULL, at_tell_later, t), 0);
    assert_int_equal(pthread_detach(th), 0);
}

static inline void at_on_decision(void *arg, const modq_desk_ref *ref, const char *content_id,
                                  const char *ticket_id, const uint8_t *sha256, int verdict,
                                  const char *labels, const uint8_t *buf, size_t len,
                                  const modq_desk_confirm *confirm)
{
    at_sink *s = arg;
    (void)ref, (void)content_id, (void)sha256, (void)buf, (void)len;
    pthread_mutex_lock(&s->lock);
    at_tell(confirm, s->fate, s->fate_delay_ms);
    if (s->ndecisions < AT_MAX_SEEN) {
        snprintf(s->decided[s->ndecisions], sizeof(s->decided[0]), "%s", ticket_id);
        snprintf(s->labels[s->ndecisions], sizeof(s->labels[0]), "%s", labels ? labels : "");
        s->verdicts[s->ndecisions] = verdict;
    }
    s->ndecisions++;
    pthread_mutex_unlock(&s->lock);
}

/* As a fleet's desk publishes an escalation: told its fate as a decision is. */
static inline void at_on_escalation(void *arg, const char *ticket_id, const uint8_t *buf,
                                    size_t len, const modq_desk_confirm *confirm)
{
    at_sink *s = arg;
    (void)ticket_id, (void)buf, (void)len;
    pthread_mutex_lock(&s->lock);
    s->nother++;
    at_tell(confirm, s->fate, s->fate_delay_ms);
    pthread_mutex_unlock(&s->lock);
}

static inline void at_on_wellbeing(void *arg, const char *id, const uint8_t *buf, size_t len)
{
    at_sink *s = arg;
    (void)id, (void)buf, (void)len;
    pthread_mutex_lock(&s->lock);
    s->nwellbeing++;
    pthread_mutex_unlock(&s->lock);
}

/* Audit events and ledgers: only counted together. */
static inline void at_on_other(void *arg, const char *key, const uint8_t *buf, size_t len)
{
    at_sink *s = arg;
    (void)key, (void)buf, (void)len;
    pthread_mutex_lock(&s->lock);
    s->nother++;
    pthread_mutex_unlock(&s->lock);
}

/* ---- API callbacks ------------------------------------------------------------------------ */

static inline int64_t at_clock(void *arg)
{
    return atomic_load(&((at_fixture *)arg)->now_ms);
}

static inline bool at_healthy(void *arg)
{
    return atomic_load(&((at_fixture *)arg)->healthy);
}

static inline bool at_ready(void *arg)
{
    return atomic_load(&((at_fixture *)arg)->ready);
}

static inline void at_refresh(void *arg)
{
    atomic_fetch_add(&((at_fixture *)arg)->refreshes, 1);
}

static inline void at_auth_failed(void *arg, const char *reason, int64_t now_ms)
{
    at_fixture *f = arg;
    /* The audit event needs a reason and the instant. */
    if (reason && reason[0] && now_ms == atomic_load(&f->now_ms)) {
        atomic_fetch_add(&f->auth_failures, 1);
    }
}

/* ---- Setup -------------------------------------------------------------------------------- */

/* Keys for algorithms, with the test secret (HS256) and/or a PEM public key file. */
static inline modq_jwt_keys *at_keys(unsigned algorithms, const char *pem_file)
{
    modq_jwt_key_opts o = {.algorithms = algorithms,
                           .secret = (const unsigned char *)AT_SECRET,
                           .secret_len = strlen(AT_SECRET),
                           .public_key_file = pem_file,
                           .issuer = AT_ISSUER,
                           .audience = AT_AUDIENCE,
                           .leeway_s = 0};
    modq_jwt_keys *k = NULL;
    char err[256];

    if (!(algorithms & MODQ_JWT_HS256)) {
        o.secret = NULL, o.secret_len = 0;
    }
    if (modq_jwt_keys_new(&o, &k, err, sizeof(err)) != MODQ_JWT_OK) {
        print_error("keys: %s\n", err);
    }
    return k;
}

/* The API over f's desk with keys and metrics (may be NULL), served on a free port. */
static inline int at_server_start(at_fixture *f, const modq_jwt_keys *keys, modq_metrics *metrics,
                                  at_server *s)
{
    modq_api_opts ao = {.desk = f->desk,
                        .keys = keys,
                        .metrics = metrics,
                        .log = f->log,
                        .healthy = at_healthy,
                        .ready = at_ready,
                        .refresh_metrics = at_refresh,
                        .on_auth_failed = at_auth_failed,
                        .arg = f,
                        .clock = at_clock,
                        .clock_arg = f};
    modq_http_opts ho = {.host = "127.0.0.1", .port = 0, .threads = 2, .metrics = metrics};
    char err[256];

    memset(s, 0, sizeof(*s));
    if (modq_api_new(&ao, &s->api) != MODQ_API_OK) {
        return -1;
    }
    ho.handler = modq_api_handle;
    ho.handler_arg = s->api;
    if (modq_http_new(&ho, &s->http, err, sizeof(err)) != MODQ_HTTP_OK) {
        print_error("http: %s\n", err);
        return -1;
    }
    s->port = modq_http_port(s->http);
    return s->port > 0 ? 0 : -1;
}

static inline void at_server_stop(at_server *s)
{
    modq_http_free(s->http);
    modq_api_free(s->api);
    memset(s, 0, sizeof(*s));
}

static inline int at_setup(void **state)
{
    at_fixture *f = calloc(1, sizeof(*f));
    const char *src = getenv("MODQ_SOURCE_DIR");
    char path[512], err[512];
    int fd;
    modq_desk_opts d = {0};

    if (!f || !src) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/policy/default.yaml", src);
    if (modq_policy_load_file(path, &f->policy, err, sizeof(err)) != MODQ_POLICY_OK) {
        print_error("%s\n", err);
        return -1;
    }
    f->opts = modq_opts_new();
    if (!f->opts ||
        modq_synth_image(MODQ_SYNTH_SHAPES, 800, 600, 7, "jpeg", &f->img, &f->img_len) != 0) {
        return -1;
    }
    f->ctx = (modq_prepare_ctx){.policy = f->policy,
                                .media_opts = f->opts,
                                .worker_id = "w-test",
                                .max_message_bytes = 8 << 20};
    pthread_mutex_init(&f->sink.lock, NULL);
    d.policy = f->policy;
    d.sink = (modq_desk_sink){.arg = &f->sink,
                              .decision = at_on_decision,
                              .wellbeing = at_on_wellbeing,
                              .audit = at_on_other,
                              .ledger = at_on_other,
                              .escalation = at_on_escalation};
    d.worker_id = "w-test";
    d.lease_ms = 3 * 3600 * 1000; /* the policy's limits end leases first */
    d.max_items = 100;
    d.seed = 42;
    if (modq_desk_new(&d, &f->desk) != MODQ_DESK_OK) {
        return -1;
    }
    atomic_store(&f->now_ms, AT_T0);
    atomic_store(&f->healthy, true);
    atomic_store(&f->ready, true);
    memcpy(f->log_path, "/tmp/modq-api-log-XXXXXX", sizeof("/tmp/modq-api-log-XXXXXX"));
    if ((fd = mkstemp(f->log_path)) < 0 || !(f->log_file = fdopen(fd, "w"))) {
        return -1;
    }
    if (!(f->log = modq_log_new(f->log_file, MODQ_LOG_DEBUG, "w-test")) ||
        !(f->metrics = modq_metrics_new()) || !(f->keys = at_keys(MODQ_JWT_HS256, NULL)) ||
        at_server_start(f, f->keys, f->metrics, &f->srv) != 0) {
        return -1;
    }
    *state = f;
    return 0;
}

static inline int at_teardown(void **state)
{
    at_fixture *f = *state;

    at_server_stop(&f->srv);
    modq_desk_free(f->desk);
    modq_jwt_keys_free(f->keys);
    modq_metrics_free(f->metrics);
    modq_log_free(f->log);
    fclose(f->log_file);
    unlink(f->log_path);
    pthread_mutex_destroy(&f->sink.lock);
    modq_synth_free(f->img);
    modq_opts_free(f->opts);
    modq_policy_free(f->policy);
    free(f);
    return 0;
}

/* A whole small file, NUL-terminated; caller frees. */
static inline char *at_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = calloc(1, 1 << 20);

    assert_non_null(fp);
    assert_non_null(buf);
    *len = fread(buf, 1, (1 << 20) - 1, fp);
    fclose(fp);
    return buf;
}

/* Everything logged so far; caller frees. */
static inline char *at_log_text(at_fixture *f)
{
    size_t len;

    fflush(f->log_file);
    return at_read_file(f->log_path, &len);
}

/* Prepares a ticket id of queue (with the fixture's image, or text only) and adds it to the
 * desk. size (may be NULL) gets the pixel size of each level's rendition. */
static inline void at_add_item(at_fixture *f, const char *id, const char *queue, bool media,
                               int size[MODQ_LEVEL_COUNT][2])
{
    size_t len;
    uint8_t *msg = tt_ticket(id, queue, media ? f->img : NULL, media ? f->img_len : 0, NULL, &len);
    modq_prepared *p;
    modq_desk_ref ref = {.partition = 0, .offset = 1};

    assert_non_null(msg);
    p = modq_prepare_ticket(&f->ctx, msg, len, atomic_load(&f->now_ms));
    free(msg);
    assert_non_null(p);
    assert_int_equal(p->kind, MODQ_PREPARED_REVIEW);
    for (int i = 0; media && size && i < MODQ_LEVEL_COUNT; i++) {
        assert_int_equal(modq_media_rendition(p->media, i, NULL, NULL, &size[i][0], &size[i][1]),
                         0);
    }
    snprintf(ref.topic, sizeof(ref.topic), "modq.tickets.%s", queue);
    assert_int_equal(modq_desk_add(f->desk, p, &ref, atomic_load(&f->now_ms)), MODQ_DESK_OK);
}

/* ---- Tokens ------------------------------------------------------------------------------- */

/* An HS256 token for sub with one role, team t1, valid for an hour from the fixture's now. */
static inline char *at_token_ex(at_fixture *f, const char *sub, const char *role,
                                const char *issuer, const char *audience, int64_t now_s,
                                const char *secret)
{
    const char *roles[] = {role};
    modq_jwt_mint_opts o = {.sub = sub,
                            .team = "t1",
                            .roles = roles,
                            .nroles = 1,
                            .issuer = issuer,
                            .audience = audience,
                            .now_s = now_s ? now_s : atomic_load(&f->now_ms) / 1000,
                            .ttl_s = 3600};
    char *tok = NULL, err[256];

    assert_int_equal(modq_jwt_mint_hs256((const unsigned char *)secret, strlen(secret), &o, &tok,
                                         err, sizeof(err)),
                     MODQ_JWT_OK);
    return tok;
}

static inline char *at_token(at_fixture *f, const char *sub, const char *role)
{
    return at_token_ex(f, sub, role, AT_ISSUER, AT_AUDIENCE, 0, AT_SECRET);
}

/* ---- HTTP client -------------------------------------------------------------------------- */

static inline size_t at_body_cb(char *p, size_t size, size_t n, void *arg)
{
    at_resp *r = arg;
    size_t add = size * n;
    char *nb = realloc(r->body, r->len + add + 1);

    if (!nb) {
        return 0;
    }
    memcpy(nb + r->len, p, add);
    r->body = nb;
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

static inline size_t at_header_cb(char *p, size_t size, size_t n, void *arg)
{
    at_resp *r = arg;
    size_t add = size * n;

    if (r->hlen + add < sizeof(r->headers)) {
        memcpy(r->headers + r->hlen, p, add);
        r->hlen += add;
        r->headers[r->hlen] = '\0';
    }
    return add;
}

/*
 * method path on server s with the Authorization header auth (the whole value, NULL: none) and
 * body (NULL: none). Returns the status; r (caller frees with at_resp_free) holds the answer.
 */
static inline long at_request_on(const at_server *s, const char *method, const char *path,
                                 const char *auth, const char *body, size_t body_len, at_resp *r)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "Expect:");
    char url[4096], *line = NULL;
    size_t n;

    assert_non_null(h);
    memset(r, 0, sizeof(*r));
    r->body = calloc(1, 1);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
    if (auth) {
        n = strlen(auth) + sizeof("Authorization: ");
        line = malloc(n);
        snprintf(line, n, "Authorization: %s", auth);
        hdrs = curl_slist_append(hdrs, line);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, at_body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, at_header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
        }
    }
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->status >= 500) { /* never expected unless a test says so: show why */
        print_message("%s %s: %ld %s\n", method, path, r->status, r->body);
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    free(line);
    return r->status;
}

static inline long at_request(at_fixture *f, const char *method, const char *path,
                              const char *token, const char *body, at_resp *r)
{
    char auth[9000];

    if (token) {
        snprintf(auth, sizeof(auth), "Bearer %s", token);
    }
    return at_request_on(&f->srv, method, path, token ? auth : NULL, body, body ? strlen(body) : 0,
                         r);
}

static inline void at_resp_free(at_resp *r)
{
    free(r->body);
    r->body = NULL;
}

/* The value of header name in r (a static-free copy into out), or NULL when absent. */
static inline const char *at_header(const at_resp *r, const char *name, char *out, size_t size)
{
    size_t nl = strlen(name);

    for (const char *p = r->headers; *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ') {
                v++;
            }
            snprintf(out, size, "%.*s", (int)(len - (size_t)(v - p)), v);
            return out;
        }
        p += len + (eol ? 2 : 0);
    }
    return NULL;
}

/* The body of r as a JSON object (caller decrefs); fails the test when it is not one. */
static inline json_t *at_json(const at_resp *r)
{
    json_error_t e;
    json_t *js = json_loadb(r->body, r->len, 0, &e);

    if (!js) {
        print_error("not JSON (%s): %s\n", e.text, r->body);
    }
    assert_non_null(js);
    assert_true(json_is_object(js));
    return js;
}

/* Asserts r is status with error code (and returns the message for further checks). */
static inline void at_expect_error(const at_resp *r, long status, const char *code)
{
    json_t *js;

    if (r->status != status) {
        print_error("expected %ld %s, got %ld: %s\n", status, code, r->status, r->body);
    }
    assert_int_equal(r->status, status);
    js = at_json(r);
    assert_string_equal(json_string_value(json_object_get(js, "error")), code);
    assert_non_null(json_string_value(json_object_get(js, "message")));
    json_decref(js);
}

/* method path with token; asserts the status and error code (NULL: a success, status only);
 * frees the answer. */
static inline void at_expect(at_fixture *f, const char *method, const char *path, const char *token,
                             const char *body, long status, const char *code)
{
    at_resp r;

    at_request(f, method, path, token, body, &r);
    if (code) {
        at_expect_error(&r, status, code);
    } else {
        if (r.status != status) {
            print_error("expected %ld, got %ld: %s\n", status, r.status, r.body);
        }
        assert_int_equal(r.status, status);
    }
    at_resp_free(&r);
}

/* Decodes an image and reports its size; 0 on success. */
static inline int at_image_size(const char *data, size_t len, int *w, int *h)
{
    VipsImage *img = vips_image_new_from_buffer(data, len, "", NULL);
    double avg = 0;
    int rc = -1;

    if (!img) {
        return -1;
    }
    /* Reading every pixel proves the bytes decode, not just the header. */
    if (vips_avg(img, &avg, NULL) == 0) {
        *w = img->Xsize;
        *h = img->Ysize;
        rc = 0;
    }
    g_object_unref(img);
    return rc;
}

/* Once per process, around cmocka_run_group_tests: libvips cannot be started twice. */
static inline int at_global_init(const char *name)
{
    return modq_blur_init(name) == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static inline void at_global_cleanup(void)
{
    curl_global_cleanup();
    modq_blur_shutdown();
}

#endif
