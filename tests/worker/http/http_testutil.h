/*
 * http_testutil.h: helpers shared by the tests of worker/http/http.c: a server on 127.0.0.1 port 0
 * with a temporary static directory and an echo handler, and a libcurl client that keeps the
 * status, headers and body of each reply.
 */
#ifndef MODQ_HTTP_TESTUTIL_H
#define MODQ_HTTP_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_BODY   4096
#define REPLY_CAP  (1024 * 1024)
#define INDEX_HTML "<!doctype html><title>modq</title><script src=\"/static/app.js\"></script>\n"
#define APP_JS     "document.title = 'modq';\n"
#define STYLE_CSS  "body { margin: 0; }\n"
#define CSP                                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "              \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

typedef struct fixture {
    char root[64]; /* temp directory: secret.txt beside static/ */
    char static_dir[96];
    modq_metrics *metrics;
    modq_http *http;
    int port;
    atomic_int handler_calls;
} fixture;

typedef struct reply {
    long status;
    char *body;
    size_t len;
    char *headers;
    size_t hlen;
} reply;

static inline void echo_handler(void *arg, const modq_http_req *q, modq_http_resp *r)
{
    fixture *fx = arg;
    const char *path = modq_http_req_path(q);
    size_t len;
    const char *body = modq_http_req_body(q, &len);

    atomic_fetch_add(&fx->handler_calls, 1);
    assert_non_null(body);
    assert_int_equal(body[len], '\0');
    if (strcmp(path, "/echo") == 0) {
        const char *qv = modq_http_req_query(q, "q"), *flag = modq_http_req_query(q, "flag");
        const char *hv = modq_http_req_header(q, "x-TEST-header");
        json_t *js =
            json_pack("{s:s,s:s,s:I,s:o,s:o,s:o,s:o}", "method", modq_http_req_method(q), "path",
                      path, "body_len", (json_int_t)len, "q", qv ? json_string(qv) : json_null(),
                      "flag", flag ? json_string(flag) : json_null(), "missing",
                      modq_http_req_query(q, "missing") ? json_true() : json_null(), "header",
                      hv ? json_string(hv) : json_null());
        modq_http_resp_route(r, "/echo");
        modq_http_resp_json(r, 200, js);
    } else if (strcmp(path, "/raw") == 0) {
        modq_http_resp_copy(r, 200, "application/octet-stream", body, len);
    } else if (strcmp(path, "/cache") == 0) {
        modq_http_resp_header(r, "Cache-Control", "max-age=60");
        modq_http_resp_header(r, "X-Extra", "yes");
        /* Neither may weaken what the module guarantees. */
        modq_http_resp_header(r, "X-Frame-Options", "ALLOWALL");
        modq_http_resp_header(r, "X-Bad", "a\r\nSet-Cookie: x=1");
        modq_http_resp_copy(r, 200, "text/plain; charset=utf-8", "cached", 6);
    } else if (strcmp(path, "/metered") == 0) {
        modq_http_resp_route(r, "/v1/metered");
        modq_http_resp_json(r, 200, json_pack("{s:b}", "ok", 1));
    } else if (strcmp(path, "/unanswered") == 0) {
        /* Leaves the response as it started: 500 with no body. */
    } else {
        modq_http_resp_error(r, 404, "not_found", "No such route.");
    }
}

static inline void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_non_null(f = fopen(path, "wb"));
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static inline void remove_file(const char *dir, const char *name)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}

static inline size_t append(char **buf, size_t *len, const char *data, size_t n)
{
    char *p;

    if (n > REPLY_CAP - *len || !(p = realloc(*buf, *len + n + 1))) {
        return 0;
    }
    memcpy(p + *len, data, n);
    *len += n;
    p[*len] = '\0';
    *buf = p;
    return n;
}

static inline size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    reply *rp = arg;

    return append(&rp->body, &rp->len, data, size * nmemb);
}

static inline size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    reply *rp = arg;

    return append(&rp->headers, &rp->hlen, data, size * nmemb);
}

typedef struct upload {
    const char *data;
    size_t len, pos;
} upload;

static inline size_t on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
    upload *u = arg;
    size_t n = size * nmemb;

    /* Small pieces, so the server sees many chunks. */
    if (n > 700) {
        n = 700;
    }
    if (n > u->len - u->pos) {
        n = u->len - u->pos;
    }
    memcpy(buf, u->data + u->pos, n);
    u->pos += n;
    return n;
}

/*
 * One request. method "GET", "POST", "HEAD" or any other verb; body sent with Content-Length,
 * or chunked when chunked is true; headers a NULL-terminated list. Returns the curl result.
 */
static inline CURLcode request(const char *host, int port, const char *method, const char *target,
                               const char *body, size_t len, bool chunked,
                               const char *const *headers, reply *rp)
{
    struct curl_slist *hl = NULL;
    upload up = {body, len, 0};
    char url[512];
    CURLcode rc;
    CURL *c = curl_easy_init();

    memset(rp, 0, sizeof(*rp));
    assert_non_null(c);
    snprintf(url, sizeof(url), "http://%s:%d%s", host, port, target);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, rp);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, rp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    for (size_t i = 0; headers && headers[i]; i++) {
        hl = curl_slist_append(hl, headers[i]);
    }
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "POST") == 0 && chunked) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
        hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rp->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    return rc;
}

static inline void reply_free(reply *rp)
{
    free(rp->body);
    free(rp->headers);
    memset(rp, 0, sizeof(*rp));
}

/* How many times header name appears in the reply; its last value goes to value. */
static inline int header(const reply *rp, const char *name, char *value, size_t size)
{
    size_t n = strlen(name);
    int count = 0;

    value[0] = '\0';
    for (const char *line = rp->headers; line && *line;) {
        const char *end = strstr(line, "\r\n");

        if (!end) {
            break;
        }
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;

            while (*v == ' ') {
                v++;
            }
            snprintf(value, size, "%.*s", (int)(end - v), v);
            count++;
        }
        line = end + 2;
    }
    return count;
}

static inline void assert_header(const reply *rp, const char *name, const char *expected)
{
    char value[512];

    assert_int_equal(header(rp, name, value, sizeof(value)), 1);
    assert_string_equal(value, expected);
}

static inline void assert_security_headers(const reply *rp)
{
    assert_header(rp, "Content-Security-Policy", CSP);
    assert_header(rp, "X-Content-Type-Options", "nosniff");
    assert_header(rp, "X-Frame-Options", "DENY");
    assert_header(rp, "Referrer-Policy", "no-referrer");
    assert_header(rp, "Cross-Origin-Opener-Policy", "same-origin");
    assert_header(rp, "Cross-Origin-Resource-Policy", "same-origin");
}

static inline json_t *body_json(const reply *rp)
{
    json_error_t err;
    json_t *js = json_loadb(rp->body ? rp->body : "", rp->len, 0, &err);

    assert_non_null(js);
    return js;
}

static inline void assert_error_body(const reply *rp, const char *code)
{
    json_t *js = body_json(rp);

    assert_string_equal(json_string_value(json_object_get(js, "error")), code);
    assert_true(json_is_string(json_object_get(js, "message")));
    json_decref(js);
    assert_header(rp, "Content-Type", "application/json");
}

static inline CURLcode get(const fixture *fx, const char *target, reply *rp)
{
    return request("127.0.0.1", fx->port, "GET", target, NULL, 0, false, NULL, rp);
}

static inline modq_http_opts opts_for(fixture *fx, const char *host, int port)
{
    modq_http_opts o = {0};

    o.host = host;
    o.port = port;
    o.static_dir = fx->static_dir;
    o.handler = echo_handler;
    o.handler_arg = fx;
    o.threads = 4;
    o.max_body_bytes = MAX_BODY;
    o.metrics = fx->metrics;
    return o;
}

/* The value of the metrics sample line that starts with prefix; 0 when absent. */
static inline double metric(modq_metrics *m, const char *prefix)
{
    char *text = NULL;
    size_t len = 0, n = strlen(prefix);
    double v = 0;

    assert_int_equal(modq_metrics_render(m, &text, &len), MODQ_METRICS_OK);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');

        if (strncmp(line, prefix, n) == 0 && line[n] == ' ') {
            v = strtod(line + n + 1, NULL);
        }
        line = end ? end + 1 : NULL;
    }
    free(text);
    return v;
}

/* Group setup: the static directory, a metrics registry and the server. */

static inline int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    modq_http_opts o;
    char err[256];

    if (!fx || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return -1;
    }
    snprintf(fx->root, sizeof(fx->root), "/tmp/modq-http-XXXXXX");
    if (!mkdtemp(fx->root)) {
        return -1;
    }
    snprintf(fx->static_dir, sizeof(fx->static_dir), "%s/static", fx->root);
    if (mkdir(fx->static_dir, 0700) != 0) {
        return -1;
    }
    write_file(fx->static_dir, "index.html", INDEX_HTML, strlen(INDEX_HTML));
    write_file(fx->static_dir, "app.js", APP_JS, strlen(APP_JS));
    write_file(fx->static_dir, "style.css", STYLE_CSS, strlen(STYLE_CSS));
    /* On disk but never servable: hidden, unknown extension. */
    write_file(fx->static_dir, ".hidden.js", "hidden", 6);
    write_file(fx->static_dir, "notes.md", "notes", 5);
    write_file(fx->root, "secret.txt", "secret", 6);
    if (!(fx->metrics = modq_metrics_new())) {
        return -1;
    }
    o = opts_for(fx, "127.0.0.1", 0);
    if (modq_http_new(&o, &fx->http, err, sizeof(err)) != MODQ_HTTP_OK) {
        fprintf(stderr, "modq_http_new: %s\n", err);
        return -1;
    }
    fx->port = modq_http_port(fx->http);
    if (fx->port <= 0) {
        return -1;
    }
    *state = fx;
    return 0;
}

static inline int teardown(void **state)
{
    fixture *fx = *state;

    modq_http_free(fx->http);
    modq_metrics_free(fx->metrics);
    remove_file(fx->static_dir, "index.html");
    remove_file(fx->static_dir, "app.js");
    remove_file(fx->static_dir, "style.css");
    remove_file(fx->static_dir, ".hidden.js");
    remove_file(fx->static_dir, "notes.md");
    remove_file(fx->root, "secret.txt");
    rmdir(fx->static_dir);
    rmdir(fx->root);
    free(fx);
    curl_global_cleanup();
    return 0;
}

#endif
