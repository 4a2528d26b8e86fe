/*
 * http.h: the worker's HTTP server (private to worker/), over libmicrohttpd: the review API's
 * transport, the web page's static files and the security headers every answer carries.
 *
 * Routing: GET / and GET /index.html serve static_dir/index.html; GET /static/NAME serves
 * static_dir/NAME for a NAME of [A-Za-z0-9._-] (no '/', no leading '.') with a known extension
 * (.html .js .css .svg .png .webp .ico .txt .json); everything else goes to the handler. Static
 * files are read at start (each at most 1 MiB, 64 files) and served from memory, so a change on
 * disk needs a restart and a missing directory is an error at start.
 *
 * Every answer carries: Content-Security-Policy "default-src 'none'; script-src 'self';
 * style-src 'self'; img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action
 * 'none'; frame-ancestors 'none'", X-Content-Type-Options: nosniff, X-Frame-Options: DENY,
 * Referrer-Policy: no-referrer, Cross-Origin-Opener-Policy: same-origin,
 * Cross-Origin-Resource-Policy: same-origin, and Cache-Control: no-store unless the handler set
 * another (static files: "no-cache").
 *
 * Request bodies are capped (max_body_bytes): a larger one is answered 413 without calling the
 * handler. Slow clients: a connection must send each whole request within request_timeout_ms
 * (a client trickling its head a byte at a time is cut off there, not at the 30 s idle timeout,
 * and counted in modq_http_request_timeouts_total), and per_ip_connections bounds what one
 * address may hold of max_connections. Methods other than GET, POST and HEAD get 405. Every
 * answer's latency is observed in the histogram modq_http_request_duration_seconds{route} and
 * counted in modq_http_requests_total{code} when a metrics registry is given (the module declares
 * both).
 *
 * Threads: libmicrohttpd's internal thread pool (opts.threads) calls the handler; the handler
 * must be thread-safe.
 */
#ifndef MODQ_WORKER_HTTP_H
#define MODQ_WORKER_HTTP_H

#include "obs/metrics.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum modq_http_result {
    MODQ_HTTP_OK = 0,
    MODQ_HTTP_ERR_INVALID_ARG,
    MODQ_HTTP_ERR_NOMEM,
    MODQ_HTTP_ERR_STATIC, /* the static directory or a file in it could not be read */
    MODQ_HTTP_ERR_LISTEN, /* the address could not be bound */
    MODQ_HTTP_RESULT_COUNT
} modq_http_result;

const char *modq_http_strerror(modq_http_result r);

#define MODQ_HTTP_MAX_BODY        (64 * 1024)
#define MODQ_HTTP_MAX_HEADERS     8 /* extra response headers a handler may set */
#define MODQ_HTTP_MAX_STATIC      64
#define MODQ_HTTP_STATIC_MAX_FILE (1024 * 1024)

/* A request, valid during the handler call only. */
typedef struct modq_http_req modq_http_req;
const char *modq_http_req_method(const modq_http_req *q); /* "GET", "POST", "HEAD" */
/* The path as sent (still percent-encoded), without the query string. */
const char *modq_http_req_path(const modq_http_req *q);
/* A query argument, URL-decoded; NULL when absent. */
const char *modq_http_req_query(const modq_http_req *q, const char *key);
/* A request header (case-insensitive name); NULL when absent. */
const char *modq_http_req_header(const modq_http_req *q, const char *name);
/* The body (may contain NULs; always followed by a NUL byte not counted in *len). */
const char *modq_http_req_body(const modq_http_req *q, size_t *len);

/* The answer a handler fills. Starts as 500 with no body. */
typedef struct modq_http_resp modq_http_resp;
/* status and a JSON body (taken: the response owns js, even on failure). */
void modq_http_resp_json(modq_http_resp *r, int status, json_t *js);
/* status and {"error": code, "message": message}. */
void modq_http_resp_error(modq_http_resp *r, int status, const char *code, const char *message);
/* status and a body of len bytes of mime type; data is taken (free()d by the module). */
void modq_http_resp_take(modq_http_resp *r, int status, const char *mime, void *data, size_t len);
/* status and a body copied from data. */
void modq_http_resp_copy(modq_http_resp *r, int status, const char *mime, const void *data,
                         size_t len);
/* An extra header (both copied); ignored beyond MODQ_HTTP_MAX_HEADERS. A Cache-Control set here
 * replaces the default. */
void modq_http_resp_header(modq_http_resp *r, const char *name, const char *value);
/* The route label for the latency metric (static string), e.g. "/v1/next"; default "other". */
void modq_http_resp_route(modq_http_resp *r, const char *route);

/*
 * Answers later, from any thread: a handler that must wait for something (a decision for Kafka's
 * confirmation) takes a handle, returns, and answers through it exactly once with
 * modq_http_later_json or modq_http_later_error (possibly before it returns). What r holds now
 * (route, headers) carries over. Until the answer the connection waits, without a thread and
 * without the request deadline; the caller must answer in bounded time. NULL when the answer
 * cannot wait (out of memory, the server stopping, a request built in memory): answer r then.
 * If the server stops first, it answers 503 itself and the caller's answer is dropped.
 */
typedef struct modq_http_later modq_http_later;
modq_http_later *modq_http_resp_later(modq_http_resp *r);
/* The answer: status and a JSON body (taken, even when dropped). Ends the caller's use of l. */
void modq_http_later_json(modq_http_later *l, int status, json_t *js);
/* The answer: status and {"error": code, "message": message}; retry_after_s > 0 adds a
 * Retry-After header. Ends the caller's use of l. */
void modq_http_later_error(modq_http_later *l, int status, const char *code, const char *message,
                           int retry_after_s);

typedef void (*modq_http_handler)(void *arg, const modq_http_req *q, modq_http_resp *r);

typedef struct modq_http_opts {
    const char *host;          /* numeric IPv4 or IPv6 address, e.g. "127.0.0.1", "0.0.0.0", "::" */
    int port;                  /* 0: any free port (see modq_http_port) */
    const char *static_dir;    /* NULL: no static files (404) */
    modq_http_handler handler; /* required */
    void *handler_arg;
    unsigned threads;         /* libmicrohttpd thread pool size; 0 = 4 */
    size_t max_body_bytes;    /* 0 = MODQ_HTTP_MAX_BODY */
    unsigned max_connections; /* 0 = 1024 */
    /* Connections open at once from one client address; over it a new connection is closed at
     * once, unanswered (libmicrohttpd cannot answer before it reads). 0 = no limit. */
    unsigned per_ip_connections;
    /* Time a client has to send each whole request, head and body, from the connection's
     * opening or the end of the previous answer; then the connection is closed. 0 = 20 s. */
    unsigned request_timeout_ms;
    modq_metrics *metrics; /* NULL: no metrics; borrowed, outlives the server */
} modq_http_opts;

typedef struct modq_http modq_http;

/* Starts serving. On OK *out is owned by the caller (modq_http_free); errstr says why not. */
modq_http_result modq_http_new(const modq_http_opts *opts, modq_http **out, char *errstr,
                               size_t errstr_size);
/* The port bound (useful with port 0). */
int modq_http_port(const modq_http *h);
/* Stops accepting and waits for handlers running now, then frees (NULL is fine). */
void modq_http_free(modq_http *h);

#endif
