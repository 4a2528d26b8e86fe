/*
 * http.c: the worker's HTTP server (http.h) over libmicrohttpd's internal thread pool. Each
 * request gathers its body in per-connection state (capped: 413 as soon as the cap is known to
 * be passed), then goes to the static files or to the handler, and every answer leaves through
 * one function that adds the security headers and records the latency and status metrics.
 * Slow clients are bounded twice: libmicrohttpd's per-address connection limit, and the time to
 * send a whole request (http_deadline.c), whose clock stops once the request has arrived.
 */
#include "http_impl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define DEFAULT_THREADS     4
#define MAX_THREADS         256
#define DEFAULT_CONNECTIONS 1024
#define TIMEOUT_SECONDS     30 /* idle connections are closed after this */
#define DEFAULT_REQUEST_MS  20000
#define MAX_REQUEST_MS      3600000
#define START_ERR_MAX       256
#define DISCARD_FACTOR      16 /* past the cap, read at most this many times the cap */
#define BODY_LIMIT          (64 * 1024 * 1024) /* the largest max_body_bytes accepted */

#define METRIC_DURATION "modq_http_request_duration_seconds"
#define METRIC_REQUESTS "modq_http_requests_total"

/* What goes out when even a 500 could not be built: a fixed, valid error body. */
#define FALLBACK_BODY "{\"error\":\"internal\",\"message\":\"internal error\"}"

static const double DURATION_BUCKETS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                          0.05,   0.1,   0.25,   0.5,   1,    2.5};

static const char *const SECURITY_HEADERS[][2] = {
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
     "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
};

/* Headers a handler may not set: the module's guarantees and the framing are its own. */
static const char *const RESERVED_HEADERS[] = {
    "Content-Type", "Content-Length", "Transfer-Encoding", "Connection", "Date",
};

struct modq_http {
    struct MHD_Daemon *daemon;
    modq_http_handler handler;
    void *handler_arg;
    size_t max_body;
    modq_metrics *metrics;
    http_deadline *deadline; /* outlives the daemon */
    http_laters laters;      /* answers given after the handler returned */
    int port;
    bool has_static;
    http_static st;
    /* libmicrohttpd's reason for a failed start (it only reports through its logger). */
    pthread_mutex_t log_mu;
    bool starting;
    char start_err[START_ERR_MAX];
};

/* One request's state, from its first access-handler call to its completion. */
#define MAX_RAW_PATH 8192 /* bytes of a path; a longer one loses the connection */

typedef struct request {
    struct timespec start;
    bool started;   /* on_request has seen the headers */
    char *raw_path; /* the path as sent, still percent-encoded (NULL: out of memory) */
    char *body;     /* NUL-terminated; at most max_body + 1 bytes */
    size_t len, cap;
    size_t discarded; /* bytes read past the cap */
    bool too_large;
    bool answered;
    modq_http_later *later; /* the handler answers later (NULL: it answered) */
} request;

const char *modq_http_strerror(modq_http_result r)
{
    switch (r) {
    case MODQ_HTTP_OK:
        return "ok";
    case MODQ_HTTP_ERR_INVALID_ARG:
        return "invalid argument";
    case MODQ_HTTP_ERR_NOMEM:
        return "out of memory";
    case MODQ_HTTP_ERR_STATIC:
        return "static files unreadable";
    case MODQ_HTTP_ERR_LISTEN:
        return "cannot listen";
    case MODQ_HTTP_RESULT_COUNT:
        break;
    }
    return "unknown http result";
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static bool reserved(const char *name)
{
    for (size_t i = 0; i < sizeof(SECURITY_HEADERS) / sizeof(SECURITY_HEADERS[0]); i++) {
        if (strcasecmp(name, SECURITY_HEADERS[i][0]) == 0) {
            return true;
        }
    }
    for (size_t i = 0; i < sizeof(RESERVED_HEADERS) / sizeof(RESERVED_HEADERS[0]); i++) {
        if (strcasecmp(name, RESERVED_HEADERS[i]) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * Adds the headers, queues resp (always destroyed here) and records the metrics. r gives the
 * content type, extra headers, Cache-Control and route; NULL r means a fixed JSON error body.
 * Returns true when the answer was queued.
 */
static bool queue(modq_http *h, struct MHD_Connection *c, request *rq, int status,
                  struct MHD_Response *resp, const modq_http_resp *r, const char *cache_control)
{
    const char *mime = r && r->mime[0] ? r->mime : "application/json";
    const char *route = r ? r->route : "other";
    bool ok = true;
    char code[16];

    if (!resp) {
        return false;
    }
    for (size_t i = 0; i < sizeof(SECURITY_HEADERS) / sizeof(SECURITY_HEADERS[0]); i++) {
        ok = ok && MHD_add_response_header(resp, SECURITY_HEADERS[i][0], SECURITY_HEADERS[i][1]);
    }
    ok = ok && MHD_add_response_header(resp, "Cache-Control", cache_control);
    if (!r || r->body_len > 0 || r->mime[0]) {
        ok = ok && MHD_add_response_header(resp, "Content-Type", mime);
    }
    for (size_t i = 0; r && i < r->nheaders; i++) {
        if (!reserved(r->headers[i].name)) {
            ok = ok && MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
        }
    }
    /* An answer without its security headers is never sent: the connection is dropped. */
    ok = ok && MHD_queue_response(c, (unsigned)status, resp) == MHD_YES;
    MHD_destroy_response(resp);
    if (!ok) {
        return false;
    }
    rq->answered = true;
    snprintf(code, sizeof(code), "%d", status);
    modq_metrics_observe(h->metrics, METRIC_DURATION, route, seconds_since(&rq->start));
    modq_metrics_add(h->metrics, METRIC_REQUESTS, code, 1);
    return true;
}

/* A response over bytes that live as long as the program (literals): libmicrohttpd's iovec
 * responses take them const, where its buffer responses would need the const cast away. */
static struct MHD_Response *constant_response(const char *body, size_t len)
{
    const struct MHD_IoVec v = {.iov_base = body, .iov_len = len};
    return MHD_create_response_from_iovec(&v, len > 0 ? 1 : 0, NULL, NULL);
}

/* Sends what the handler (or this module) put in r. */
static bool answer(modq_http *h, struct MHD_Connection *c, request *rq, modq_http_resp *r)
{
    struct MHD_Response *resp;
    const char *cache = r->cache_control ? r->cache_control : "no-store";
    size_t len;
    char *body;

    if (!r->filled) {
        modq_http_resp_error(r, 500, "internal", "the request was not answered");
    }
    if (r->nomem) {
        resp = constant_response(FALLBACK_BODY, strlen(FALLBACK_BODY));
        return queue(h, c, rq, 500, resp, NULL, "no-store");
    }
    body = http_resp_take_body(r, &len);
    if (!body) {
        return queue(h, c, rq, r->status, constant_response("", 0), r, cache);
    }
    resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
    if (!resp) {
        free(body);
    }
    return queue(h, c, rq, r->status, resp, r, cache);
}

static bool answer_error(modq_http *h, struct MHD_Connection *c, request *rq, int status,
                         const char *code, const char *message, const char *route)
{
    modq_http_resp r;
    bool ok;

    http_resp_init(&r);
    modq_http_resp_error(&r, status, code, message);
    modq_http_resp_route(&r, route);
    if (status == 405) {
        modq_http_resp_header(&r, "Allow", "GET, HEAD, POST");
    }
    ok = answer(h, c, rq, &r);
    http_resp_clear(&r);
    return ok;
}

static bool answer_too_large(modq_http *h, struct MHD_Connection *c, request *rq)
{
    char msg[96];

    snprintf(msg, sizeof(msg), "The request body is over %zu bytes.", h->max_body);
    return answer_error(h, c, rq, 413, "too_large", msg, "other");
}

static bool answer_static(modq_http *h, struct MHD_Connection *c, request *rq, const char *name)
{
    const http_file *f = h->has_static ? http_static_find(&h->st, name) : NULL;
    modq_http_resp r;

    if (!f) {
        return answer_error(h, c, rq, 404, "not_found", "No such file.", "static");
    }
    http_resp_init(&r);
    memcpy(r.mime, f->mime, strlen(f->mime) + 1);
    r.route = "static";
    /* The bytes live as long as the daemon: libmicrohttpd may send them without a copy. */
    return queue(h, c, rq, 200,
                 MHD_create_response_from_buffer(f->len, f->data, MHD_RESPMEM_PERSISTENT), &r,
                 "no-cache");
}

/* Sends the answer the handler gave later, and lets go of it. */
static bool answer_later(modq_http *h, struct MHD_Connection *c, request *rq)
{
    modq_http_later *l = rq->later;
    bool ok = answer(h, c, rq, http_later_resp(l));

    rq->later = NULL;
    http_later_release(&h->laters, l);
    return ok;
}

static bool answer_handler(modq_http *h, struct MHD_Connection *c, request *rq, const char *url,
                           const char *method)
{
    modq_http_req q = {.conn = c,
                       .method = method,
                       .path = url,
                       .body = rq->body ? rq->body : "",
                       .body_len = rq->len};
    modq_http_resp r;
    bool ok;

    http_resp_init(&r);
    r.laters = &h->laters;
    r.conn = c;
    r.later = &rq->later;
    h->handler(h->handler_arg, &q, &r);
    if (rq->later) {
        http_resp_clear(&r);
        return http_later_wait(rq->later, c) ? answer_later(h, c, rq) : true;
    }
    ok = answer(h, c, rq, &r);
    http_resp_clear(&r);
    return ok;
}

/*
 * Appends an upload chunk. Past the cap the body is dropped and the rest only read, so that the
 * 413 can follow it (libmicrohttpd 0.9.75 takes no answer mid-upload); a client that keeps
 * sending far past the cap loses the connection instead. false: close the connection.
 */
static bool take_upload(modq_http *h, struct MHD_Connection *c, request *rq, const char *data,
                        size_t n)
{
    if (rq->too_large) {
        rq->discarded += n;
        return rq->discarded <= DISCARD_FACTOR * h->max_body;
    }
    if (n > h->max_body - rq->len) {
        rq->too_large = true;
        rq->discarded = n;
        free(rq->body);
        rq->body = NULL;
        rq->len = rq->cap = 0;
        /* Newer libmicrohttpd versions may take the answer now; else the final call sends it. */
        answer_too_large(h, c, rq);
        return true;
    }
    if (rq->len + n + 1 > rq->cap) {
        size_t cap = rq->cap ? rq->cap : 1024;
        char *p;

        while (cap < rq->len + n + 1) {
            cap *= 2;
        }
        if (cap > h->max_body + 1) {
            cap = h->max_body + 1;
        }
        if (!(p = realloc(rq->body, cap))) {
            return false;
        }
        rq->body = p;
        rq->cap = cap;
    }
    memcpy(rq->body + rq->len, data, n);
    rq->len += n;
    rq->body[rq->len] = '\0';
    return true;
}

static bool announced_too_large(struct MHD_Connection *c, size_t max)
{
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long n;
    char *end;

    if (!cl) {
        return false;
    }
    /* libmicrohttpd already refused a malformed length; this only compares it. */
    n = strtoull(cl, &end, 10);
    return end != cl && n > max;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    modq_http *h = cls;
    request *rq = *con_cls;
    bool get;

    (void)version;
    if (!rq || !rq->raw_path) {
        return MHD_NO; /* on_uri ran out of memory */
    }
    if (!rq->started) {
        rq->started = true;
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
            strcmp(method, "POST") != 0) {
            return answer_error(h, c, rq, 405, "method_not_allowed",
                                "Only GET, HEAD and POST are served.", "other")
                       ? MHD_YES
                       : MHD_NO;
        }
        if (announced_too_large(c, h->max_body)) {
            return answer_too_large(h, c, rq) ? MHD_YES : MHD_NO;
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;

        *upload_data_size = 0;
        return take_upload(h, c, rq, upload_data, n) ? MHD_YES : MHD_NO;
    }
    /* The request has arrived whole: however long the answer takes, the client is not late. */
    http_deadline_arrived(h->deadline, c);
    if (rq->answered) {
        return MHD_YES;
    }
    if (rq->too_large) {
        return answer_too_large(h, c, rq) ? MHD_YES : MHD_NO;
    }
    if (rq->later) { /* resumed: the handler's answer is ready */
        return answer_later(h, c, rq) ? MHD_YES : MHD_NO;
    }
    get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    /* Routing sees the raw path: libmicrohttpd's url is already percent-decoded, and an id
     * holding "%2F" or "%25" must reach the handler as sent, to be decoded once. */
    (void)url;
    url = rq->raw_path;
    if (get && (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)) {
        return answer_static(h, c, rq, "index.html") ? MHD_YES : MHD_NO;
    }
    if (get && strncmp(url, "/static/", 8) == 0) {
        return answer_static(h, c, rq, url + 8) ? MHD_YES : MHD_NO;
    }
    return answer_handler(h, c, rq, url, method) ? MHD_YES : MHD_NO;
}

/* The first call for a request, with the URI as sent: the request state starts here so that the
 * raw path is kept. Its return value becomes the request's con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    request *rq = calloc(1, sizeof(*rq));
    size_t n = strcspn(uri, "?");

    (void)cls;
    (void)c;
    if (!rq) {
        return NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &rq->start);
    if (n <= MAX_RAW_PATH && (rq->raw_path = malloc(n + 1)) != NULL) {
        memcpy(rq->raw_path, uri, n);
        rq->raw_path[n] = '\0';
    }
    return rq;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    modq_http *h = cls;
    request *rq = *con_cls;

    (void)toe;
    /* The next request on a kept-alive connection has the whole timeout again. */
    http_deadline_rearm(h->deadline, c);
    if (rq) {
        if (rq->later) { /* closed while its answer was awaited */
            http_later_release(&h->laters, rq->later);
        }
        free(rq->body);
        free(rq->raw_path);
        free(rq);
        *con_cls = NULL;
    }
}

/* fmt comes from libmicrohttpd, a printf format for ap. */
__attribute__((format(printf, 2, 0))) static void on_log(void *cls, const char *fmt, va_list ap)
{
    modq_http *h = cls;

    pthread_mutex_lock(&h->log_mu);
    /* The first message of a failed start says why; later ones are not this module's to log. */
    if (h->starting && h->start_err[0] == '\0') {
        size_t n;

        vsnprintf(h->start_err, sizeof(h->start_err), fmt, ap);
        n = strlen(h->start_err);
        while (n > 0 && (h->start_err[n - 1] == '\n' || h->start_err[n - 1] == '\r')) {
            h->start_err[--n] = '\0';
        }
    }
    pthread_mutex_unlock(&h->log_mu);
}

static modq_http_result declare_metrics(modq_metrics *m, char *errstr, size_t errstr_size)
{
    modq_metrics_result mr;

    mr = modq_metrics_declare(
        m, METRIC_DURATION, MODQ_METRICS_HISTOGRAM, "Time to answer an HTTP request, by route.",
        "route", DURATION_BUCKETS, sizeof(DURATION_BUCKETS) / sizeof(DURATION_BUCKETS[0]));
    /* A registry shared with an earlier server already has the family: that is fine. */
    if (mr != MODQ_METRICS_OK && !modq_metrics_has(m, METRIC_DURATION, MODQ_METRICS_HISTOGRAM)) {
        goto fail;
    }
    mr = modq_metrics_declare(m, METRIC_REQUESTS, MODQ_METRICS_COUNTER,
                              "HTTP requests answered, by status code.", "code", NULL, 0);
    if (mr != MODQ_METRICS_OK && !modq_metrics_has(m, METRIC_REQUESTS, MODQ_METRICS_COUNTER)) {
        goto fail;
    }
    mr = modq_metrics_declare(m, HTTP_METRIC_TIMEOUTS, MODQ_METRICS_COUNTER,
                              "Connections closed because a request did not arrive whole in time.",
                              NULL, NULL, 0);
    if (mr != MODQ_METRICS_OK && !modq_metrics_has(m, HTTP_METRIC_TIMEOUTS, MODQ_METRICS_COUNTER)) {
        goto fail;
    }
    return MODQ_HTTP_OK;
fail:
    snprintf(errstr, errstr_size, "metrics: %s", modq_metrics_strerror(mr));
    return mr == MODQ_METRICS_ERR_NOMEM ? MODQ_HTTP_ERR_NOMEM : MODQ_HTTP_ERR_INVALID_ARG;
}

typedef union sock_addr {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
} sock_addr;

static bool parse_host(const char *host, int port, sock_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, host, &a->in4.sin_addr) == 1) {
        a->in4.sin_family = AF_INET;
        a->in4.sin_port = htons((uint16_t)port);
        return true;
    }
    if (inet_pton(AF_INET6, host, &a->in6.sin6_addr) == 1) {
        a->in6.sin6_family = AF_INET6;
        a->in6.sin6_port = htons((uint16_t)port);
        return true;
    }
    return false;
}

static modq_http_result start(modq_http *h, const modq_http_opts *opts, char *errstr,
                              size_t errstr_size)
{
    unsigned threads = opts->threads ? opts->threads : DEFAULT_THREADS;
    unsigned conns = opts->max_connections ? opts->max_connections : DEFAULT_CONNECTIONS;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    const union MHD_DaemonInfo *info;
    sock_addr addr;

    if (threads > MAX_THREADS || conns < threads) {
        snprintf(errstr, errstr_size, "http: %u threads for %u connections", threads, conns);
        return MODQ_HTTP_ERR_INVALID_ARG;
    }
    if (!parse_host(opts->host, opts->port, &addr)) {
        snprintf(errstr, errstr_size, "http: host %s is not a numeric IPv4 or IPv6 address",
                 opts->host);
        return MODQ_HTTP_ERR_INVALID_ARG;
    }
    /* "::" is IPv6 only: listening on both families takes "0.0.0.0" and "::" as two servers. */
    if (addr.sa.sa_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    pthread_mutex_lock(&h->log_mu);
    h->starting = true;
    pthread_mutex_unlock(&h->log_mu);
    /* The logger goes first: libmicrohttpd logs option problems as it reads the options. */
    h->daemon = MHD_start_daemon(
        flags, (uint16_t)opts->port, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_log,
        h, MHD_OPTION_SOCK_ADDR, &addr.sa, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        opts->per_ip_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)TIMEOUT_SECONDS,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_NOTIFY_CONNECTION,
        http_deadline_notify, h->deadline, MHD_OPTION_URI_LOG_CALLBACK, on_uri, h, MHD_OPTION_END);
    pthread_mutex_lock(&h->log_mu);
    h->starting = false;
    pthread_mutex_unlock(&h->log_mu);
    if (!h->daemon) {
        snprintf(errstr, errstr_size, "http: cannot listen on %s port %d: %s", opts->host,
                 opts->port, h->start_err[0] ? h->start_err : "libmicrohttpd failed to start");
        return MODQ_HTTP_ERR_LISTEN;
    }
    info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info && info->port ? info->port : opts->port;
    return MODQ_HTTP_OK;
}

modq_http_result modq_http_new(const modq_http_opts *opts, modq_http **out, char *errstr,
                               size_t errstr_size)
{
    modq_http_result rc = MODQ_HTTP_ERR_INVALID_ARG;
    char scratch[START_ERR_MAX];
    modq_http *h = NULL;

    if (!errstr || errstr_size == 0) {
        errstr = scratch;
        errstr_size = sizeof(scratch);
    }
    errstr[0] = '\0';
    if (out) {
        *out = NULL;
    }
    if (!opts || !out || !opts->handler || !opts->host || opts->port < 0 || opts->port > 65535) {
        snprintf(errstr, errstr_size, "http: handler, host and a port 0..65535 are required");
        goto out;
    }
    rc = MODQ_HTTP_ERR_NOMEM;
    if (!(h = calloc(1, sizeof(*h)))) {
        snprintf(errstr, errstr_size, "http: out of memory");
        goto out;
    }
    if (pthread_mutex_init(&h->log_mu, NULL) != 0) {
        free(h);
        h = NULL;
        snprintf(errstr, errstr_size, "http: out of memory");
        goto out;
    }
    if (!http_laters_init(&h->laters)) {
        pthread_mutex_destroy(&h->log_mu);
        free(h);
        h = NULL;
        snprintf(errstr, errstr_size, "http: out of memory");
        goto out;
    }
    h->handler = opts->handler;
    h->handler_arg = opts->handler_arg;
    h->max_body = opts->max_body_bytes ? opts->max_body_bytes : MODQ_HTTP_MAX_BODY;
    if (h->max_body > BODY_LIMIT) {
        rc = MODQ_HTTP_ERR_INVALID_ARG;
        snprintf(errstr, errstr_size, "http: max_body_bytes over %d", BODY_LIMIT);
        goto out;
    }
    h->metrics = opts->metrics;
    if (opts->static_dir) {
        if ((rc = http_static_load(&h->st, opts->static_dir, errstr, errstr_size)) !=
            MODQ_HTTP_OK) {
            goto out;
        }
        h->has_static = true;
    }
    if (h->metrics && (rc = declare_metrics(h->metrics, errstr, errstr_size)) != MODQ_HTTP_OK) {
        goto out;
    }
    if (opts->request_timeout_ms > MAX_REQUEST_MS) {
        rc = MODQ_HTTP_ERR_INVALID_ARG;
        snprintf(errstr, errstr_size, "http: request_timeout_ms over %d", MAX_REQUEST_MS);
        goto out;
    }
    rc = http_deadline_new(opts->request_timeout_ms ? opts->request_timeout_ms : DEFAULT_REQUEST_MS,
                           h->metrics, &h->deadline);
    if (rc != MODQ_HTTP_OK) {
        snprintf(errstr, errstr_size, "http: out of memory");
        goto out;
    }
    if ((rc = start(h, opts, errstr, errstr_size)) != MODQ_HTTP_OK) {
        goto out;
    }
    *out = h;
    h = NULL;
out:
    modq_http_free(h);
    return rc;
}

int modq_http_port(const modq_http *h)
{
    return h ? h->port : 0;
}

void modq_http_free(modq_http *h)
{
    if (!h) {
        return;
    }
    /* Joins the pool's threads: no handler runs after this, and no request state is left. */
    if (h->daemon) {
        http_laters_close(&h->laters);
        MHD_stop_daemon(h->daemon);
    }
    http_laters_destroy(&h->laters);
    http_deadline_free(h->deadline); /* every connection is closed now */
    http_static_free(&h->st);
    pthread_mutex_destroy(&h->log_mu);
    free(h);
}
