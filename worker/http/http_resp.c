/*
 * http_resp.c: what a handler sees (http.h): the request's accessors over libmicrohttpd's
 * parsed values (or over the lists of a request built in memory), and the response it fills. A
 * response that cannot be built (out of memory, JSON that cannot be dumped) turns into a 500
 * error rather than a half-filled answer.
 */
#include "http_impl.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *modq_http_req_method(const modq_http_req *q)
{
    return q ? q->method : NULL;
}

const char *modq_http_req_path(const modq_http_req *q)
{
    return q ? q->path : NULL;
}

const char *modq_http_req_query(const modq_http_req *q, const char *key)
{
    const char *value = NULL;
    size_t value_len = 0;

    if (!q || !key) {
        return NULL;
    }
    if (!q->conn) {
        for (size_t i = 0; i < q->nargs; i++) {
            if (strcmp(q->args[i].name, key) == 0) {
                return q->args[i].value ? q->args[i].value : "";
            }
        }
        return NULL;
    }
    if (MHD_lookup_connection_value_n(q->conn, MHD_GET_ARGUMENT_KIND, key, strlen(key), &value,
                                      &value_len) != MHD_YES) {
        return NULL;
    }
    /* "?flag" is present with no value: "" tells it apart from absent. */
    return value ? value : "";
}

const char *modq_http_req_header(const modq_http_req *q, const char *name)
{
    if (!q || !name) {
        return NULL;
    }
    if (!q->conn) {
        for (size_t i = 0; i < q->nheaders; i++) {
            if (strcasecmp(q->headers[i].name, name) == 0) {
                return q->headers[i].value;
            }
        }
        return NULL;
    }
    return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

const char *modq_http_req_body(const modq_http_req *q, size_t *len)
{
    if (len) {
        *len = q ? q->body_len : 0;
    }
    return q ? q->body : NULL;
}

void http_resp_init(modq_http_resp *r)
{
    memset(r, 0, sizeof(*r));
    r->status = 500;
    r->route = "other";
}

static void drop_body(modq_http_resp *r)
{
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
    r->mime[0] = '\0';
}

void http_resp_clear(modq_http_resp *r)
{
    drop_body(r);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    r->nheaders = 0;
    free(r->cache_control);
    r->cache_control = NULL;
}

char *http_resp_take_body(modq_http_resp *r, size_t *len)
{
    char *body = r->body;

    *len = r->body_len;
    r->body = NULL;
    r->body_len = 0;
    return body;
}

/* A header value must not be able to end its line early: no CR, LF or other controls but tab. */
static bool value_ok(const char *s, size_t max)
{
    size_t n;

    for (n = 0; s[n]; n++) {
        if (((unsigned char)s[n] < 0x20 && s[n] != '\t') || s[n] == 0x7f) {
            return false;
        }
    }
    return n <= max;
}

/* An HTTP token (RFC 9110): what a header name may be. */
static bool token_ok(const char *s, size_t max)
{
    size_t n;

    for (n = 0; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];

        if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c)) {
            return false;
        }
    }
    return n > 0 && n <= max;
}

static void set_body(modq_http_resp *r, int status, const char *mime, char *data, size_t len)
{
    drop_body(r);
    r->filled = true;
    r->nomem = false;
    /* Outside 100..599 libmicrohttpd would refuse to answer at all. */
    r->status = status >= 100 && status <= 599 ? status : 500;
    r->body = data;
    r->body_len = data ? len : 0;
    if (mime && value_ok(mime, HTTP_MIME_MAX - 1)) {
        memcpy(r->mime, mime, strlen(mime) + 1);
    } else {
        memcpy(r->mime, "application/octet-stream", sizeof("application/octet-stream"));
    }
}

void modq_http_resp_json(modq_http_resp *r, int status, json_t *js)
{
    char *text;

    if (!r) {
        json_decref(js);
        return;
    }
    text = js ? json_dumps(js, JSON_COMPACT) : NULL;
    json_decref(js);
    if (!text) {
        set_body(r, 500, NULL, NULL, 0);
        r->nomem = true;
        return;
    }
    /* jansson's strings come from malloc (no custom allocator is set), so free() is right. */
    set_body(r, status, "application/json", text, strlen(text));
}

void modq_http_resp_error(modq_http_resp *r, int status, const char *code, const char *message)
{
    json_t *js;

    if (!r) {
        return;
    }
    code = code ? code : "internal";
    js = json_pack("{s:s,s:s}", "error", code, "message", message ? message : "");
    /* json_pack refuses text that is not UTF-8: the status and code still go out. */
    if (!js) {
        js = json_pack("{s:s,s:s}", "error", code, "message", "");
    }
    modq_http_resp_json(r, status, js);
}

void modq_http_resp_take(modq_http_resp *r, int status, const char *mime, void *data, size_t len)
{
    if (!r) {
        free(data);
        return;
    }
    if (!data && len > 0) {
        set_body(r, 500, NULL, NULL, 0);
        r->nomem = true;
        return;
    }
    set_body(r, status, mime, data, len);
}

void modq_http_resp_copy(modq_http_resp *r, int status, const char *mime, const void *data,
                         size_t len)
{
    char *copy;

    if (!r) {
        return;
    }
    if ((!data && len > 0) || !(copy = malloc(len + 1))) {
        set_body(r, 500, NULL, NULL, 0);
        r->nomem = true;
        return;
    }
    if (len) {
        memcpy(copy, data, len);
    }
    copy[len] = '\0';
    set_body(r, status, mime, copy, len);
}

void modq_http_resp_header(modq_http_resp *r, const char *name, const char *value)
{
    http_header *h;

    if (!r || !name || !value || !token_ok(name, HTTP_HEADER_NAME_MAX) ||
        !value_ok(value, HTTP_HEADER_VALUE_MAX)) {
        return;
    }
    if (strcasecmp(name, "Cache-Control") == 0) {
        char *copy = strdup(value);

        if (copy) {
            free(r->cache_control);
            r->cache_control = copy;
        }
        return;
    }
    if (r->nheaders == MODQ_HTTP_MAX_HEADERS) {
        return;
    }
    h = &r->headers[r->nheaders];
    h->name = strdup(name);
    h->value = strdup(value);
    if (!h->name || !h->value) {
        free(h->name);
        free(h->value);
        h->name = h->value = NULL;
        return;
    }
    r->nheaders++;
}

void modq_http_resp_route(modq_http_resp *r, const char *route)
{
    if (r && route) {
        r->route = route;
    }
}
