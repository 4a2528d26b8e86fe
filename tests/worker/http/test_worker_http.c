/*
 * test_worker_http.c: the HTTP server (worker/http/http.c) driven by libcurl over loopback: the
 * security headers on API and error answers, Cache-Control, bodies delivered byte for byte, the
 * body cap (with and without Content-Length), 405, HEAD, query and header lookup, the default
 * 500, the metrics it records, IPv6, concurrency and start failures; and a request built in
 * memory. Static files: test_worker_http_static.c.
 */
#include "http/http_impl.h"
#include "http_testutil.h"

static void test_http_security_headers_on_api_and_errors(void **state)
{
    fixture *fx = *state;
    char big[MAX_BODY + 100];
    reply rp;

    assert_int_equal(get(fx, "/echo", &rp), CURLE_OK);
    assert_int_equal(rp.status, 200);
    assert_security_headers(&rp);
    reply_free(&rp);
    assert_int_equal(get(fx, "/nowhere", &rp), CURLE_OK);
    assert_int_equal(rp.status, 404);
    assert_security_headers(&rp);
    reply_free(&rp);
    assert_int_equal(request("127.0.0.1", fx->port, "DELETE", "/echo", NULL, 0, false, NULL, &rp),
                     CURLE_OK);
    assert_int_equal(rp.status, 405);
    assert_security_headers(&rp);
    reply_free(&rp);
    memset(big, 'b', sizeof(big));
    assert_int_equal(
        request("127.0.0.1", fx->port, "POST", "/echo", big, sizeof(big), false, NULL, &rp),
        CURLE_OK);
    assert_int_equal(rp.status, 413);
    assert_security_headers(&rp);
    reply_free(&rp);
    assert_int_equal(get(fx, "/unanswered", &rp), CURLE_OK);
    assert_int_equal(rp.status, 500);
    assert_security_headers(&rp);
    reply_free(&rp);
}

static void test_http_cache_control_default_and_handler_override(void **state)
{
    fixture *fx = *state;
    char value[64];
    reply rp;

    assert_int_equal(get(fx, "/echo", &rp), CURLE_OK);
    assert_header(&rp, "Cache-Control", "no-store");
    reply_free(&rp);
    assert_int_equal(get(fx, "/nowhere", &rp), CURLE_OK);
    assert_header(&rp, "Cache-Control", "no-store");
    reply_free(&rp);
    assert_int_equal(get(fx, "/cache", &rp), CURLE_OK);
    assert_int_equal(rp.status, 200);
    assert_string_equal(rp.body, "cached");
    assert_header(&rp, "Cache-Control", "max-age=60");
    assert_header(&rp, "X-Extra", "yes");
    assert_header(&rp, "Content-Type", "text/plain; charset=utf-8");
    /* The handler's X-Frame-Options and its CR LF header were dropped. */
    assert_security_headers(&rp);
    assert_int_equal(header(&rp, "X-Bad", value, sizeof(value)), 0);
    assert_int_equal(header(&rp, "Set-Cookie", value, sizeof(value)), 0);
    reply_free(&rp);
}

static void test_http_body_delivered_exactly(void **state)
{
    fixture *fx = *state;
    char body[MAX_BODY];
    reply rp;
    json_t *js;

    for (size_t i = 0; i < sizeof(body); i++) {
        body[i] = (char)(i * 7 + 3);
    }
    body[10] = '\0';
    assert_int_equal(
        request("127.0.0.1", fx->port, "POST", "/raw", body, sizeof(body), false, NULL, &rp),
        CURLE_OK);
    assert_int_equal(rp.status, 200);
    assert_int_equal(rp.len, sizeof(body));
    assert_memory_equal(rp.body, body, sizeof(body));
    assert_header(&rp, "Content-Type", "application/octet-stream");
    reply_free(&rp);
    /* The same bytes chunked, exactly at the cap. */
    assert_int_equal(
        request("127.0.0.1", fx->port, "POST", "/raw", body, sizeof(body), true, NULL, &rp),
        CURLE_OK);
    assert_int_equal(rp.status, 200);
    assert_int_equal(rp.len, sizeof(body));
    assert_memory_equal(rp.body, body, sizeof(body));
    reply_free(&rp);
    assert_int_equal(request("127.0.0.1", fx->port, "POST", "/echo", "a\0b", 3, false, NULL, &rp),
                     CURLE_OK);
    js = body_json(&rp);
    assert_string_equal(json_string_value(json_object_get(js, "method")), "POST");
    assert_int_equal(json_integer_value(json_object_get(js, "body_len")), 3);
    json_decref(js);
    reply_free(&rp);
}

static void test_http_body_over_cap_is_413(void **state)
{
    fixture *fx = *state;
    const char *no_expect[] = {"Expect:", NULL};
    char big[MAX_BODY + 1];
    int before = atomic_load(&fx->handler_calls);
    double too_large_before = metric(fx->metrics, "modq_http_requests_total{code=\"413\"}");
    char *endless;
    CURLcode rc;
    reply rp;

    memset(big, 'x', sizeof(big));
    /* Content-Length announces one byte over the cap. */
    assert_int_equal(
        request("127.0.0.1", fx->port, "POST", "/echo", big, sizeof(big), false, NULL, &rp),
        CURLE_OK);
    assert_int_equal(rp.status, 413);
    assert_error_body(&rp, "too_large");
    reply_free(&rp);
    /* Chunked: the cap is only known to be passed while reading. */
    assert_int_equal(
        request("127.0.0.1", fx->port, "POST", "/echo", big, sizeof(big), true, NULL, &rp),
        CURLE_OK);
    assert_int_equal(rp.status, 413);
    assert_error_body(&rp, "too_large");
    reply_free(&rp);
    /* Chunked without "Expect: 100-continue": the body arrives before any answer. */
    assert_int_equal(
        request("127.0.0.1", fx->port, "POST", "/echo", big, sizeof(big), true, no_expect, &rp),
        CURLE_OK);
    assert_int_equal(rp.status, 413);
    assert_error_body(&rp, "too_large");
    reply_free(&rp);
    assert_int_equal(atomic_load(&fx->handler_calls), before);
    assert_true(metric(fx->metrics, "modq_http_requests_total{code=\"413\"}") ==
                too_large_before + 3);
    /* Far past the cap (DISCARD_FACTOR, 16 times it) the server stops reading and drops the
     * connection: libmicrohttpd 0.9.75 takes no answer mid-upload, so no 413 can go out. The
     * client sees the connection end while it sends (SEND_ERROR) or before any reply
     * (GOT_NOTHING, RECV_ERROR): no status, no header, never a timeout, never the handler. */
    endless = calloc(1, 40 * MAX_BODY);
    assert_non_null(endless);
    rc = request("127.0.0.1", fx->port, "POST", "/echo", endless, 40 * MAX_BODY, true, no_expect,
                 &rp);
    if (rc != CURLE_SEND_ERROR && rc != CURLE_GOT_NOTHING && rc != CURLE_RECV_ERROR) {
        fail_msg("endless upload: curl %d (%s), status %ld: not a dropped connection", (int)rc,
                 curl_easy_strerror(rc), rp.status);
    }
    assert_int_equal(rp.status, 0);
    assert_int_equal(rp.hlen, 0);
    assert_int_equal(rp.len, 0);
    reply_free(&rp);
    free(endless);
    assert_int_equal(atomic_load(&fx->handler_calls), before);
    assert_true(metric(fx->metrics, "modq_http_requests_total{code=\"413\"}") ==
                too_large_before + 3);
}

static void test_http_other_methods_are_405(void **state)
{
    fixture *fx = *state;
    const char *methods[] = {"PUT", "DELETE", "PATCH", "OPTIONS"};
    int before = atomic_load(&fx->handler_calls);

    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        reply rp;

        assert_int_equal(
            request("127.0.0.1", fx->port, methods[i], "/echo", NULL, 0, false, NULL, &rp),
            CURLE_OK);
        assert_int_equal(rp.status, 405);
        assert_header(&rp, "Allow", "GET, HEAD, POST");
        assert_error_body(&rp, "method_not_allowed");
        reply_free(&rp);
    }
    assert_int_equal(atomic_load(&fx->handler_calls), before);
}

static void test_http_head_answers_like_get_without_body(void **state)
{
    fixture *fx = *state;
    char get_len[32], head_len[32];
    reply g, h;

    assert_int_equal(get(fx, "/static/app.js", &g), CURLE_OK);
    assert_int_equal(
        request("127.0.0.1", fx->port, "HEAD", "/static/app.js", NULL, 0, false, NULL, &h),
        CURLE_OK);
    assert_int_equal(h.status, 200);
    assert_int_equal(h.len, 0);
    assert_int_equal(header(&g, "Content-Length", get_len, sizeof(get_len)), 1);
    assert_int_equal(header(&h, "Content-Length", head_len, sizeof(head_len)), 1);
    assert_string_equal(get_len, head_len);
    assert_header(&h, "Content-Type", "text/javascript; charset=utf-8");
    assert_security_headers(&h);
    reply_free(&g);
    reply_free(&h);
    /* The handler sees HEAD; its body is not sent. */
    assert_int_equal(request("127.0.0.1", fx->port, "HEAD", "/echo", NULL, 0, false, NULL, &h),
                     CURLE_OK);
    assert_int_equal(h.status, 200);
    assert_int_equal(h.len, 0);
    assert_security_headers(&h);
    reply_free(&h);
}

static void test_http_query_args_url_decoded(void **state)
{
    fixture *fx = *state;
    reply rp;
    json_t *js;

    assert_int_equal(get(fx, "/echo?q=a%20b%26c%3D%C3%A9&flag", &rp), CURLE_OK);
    assert_int_equal(rp.status, 200);
    js = body_json(&rp);
    assert_string_equal(json_string_value(json_object_get(js, "path")), "/echo");
    assert_string_equal(json_string_value(json_object_get(js, "method")), "GET");
    assert_string_equal(json_string_value(json_object_get(js, "q")), "a b&c=\xc3\xa9");
    assert_string_equal(json_string_value(json_object_get(js, "flag")), "");
    assert_true(json_is_null(json_object_get(js, "missing")));
    json_decref(js);
    reply_free(&rp);
}

static void test_http_header_lookup_case_insensitive(void **state)
{
    fixture *fx = *state;
    const char *headers[] = {"X-Test-Header: hello there", NULL};
    reply rp;
    json_t *js;

    assert_int_equal(request("127.0.0.1", fx->port, "GET", "/echo", NULL, 0, false, headers, &rp),
                     CURLE_OK);
    js = body_json(&rp);
    assert_string_equal(json_string_value(json_object_get(js, "header")), "hello there");
    json_decref(js);
    reply_free(&rp);
    assert_int_equal(get(fx, "/echo", &rp), CURLE_OK);
    js = body_json(&rp);
    assert_true(json_is_null(json_object_get(js, "header")));
    json_decref(js);
    reply_free(&rp);
}

/* A request built in memory (no connection, as the routes' fuzzing harness builds them) answers
 * its lookups from its lists the way the two tests above see libmicrohttpd's parse. */
static void test_http_request_in_memory_reads_its_lists(void **state)
{
    fixture *fx = *state;
    const http_kv args[] = {{"q", "a b&c=\xc3\xa9"}, {"flag", NULL}};
    const http_kv headers[] = {{"X-Test-Header", "hello there"}};
    modq_http_req q = {.method = "POST",
                       .path = "/echo",
                       .body = "{}",
                       .body_len = 2,
                       .args = args,
                       .nargs = 2,
                       .headers = headers,
                       .nheaders = 1};
    modq_http_resp r;
    json_t *js;

    http_resp_init(&r);
    echo_handler(fx, &q, &r);
    assert_int_equal(r.status, 200);
    js = json_loadb(r.body, r.body_len, 0, NULL);
    assert_non_null(js);
    assert_string_equal(json_string_value(json_object_get(js, "method")), "POST");
    assert_int_equal(json_integer_value(json_object_get(js, "body_len")), 2);
    assert_string_equal(json_string_value(json_object_get(js, "q")), "a b&c=\xc3\xa9");
    assert_string_equal(json_string_value(json_object_get(js, "flag")), "");
    assert_true(json_is_null(json_object_get(js, "missing")));
    assert_string_equal(json_string_value(json_object_get(js, "header")), "hello there");
    json_decref(js);
    http_resp_clear(&r);
    assert_null(modq_http_req_header(&q, "X-Other"));
    q.nheaders = 0;
    assert_null(modq_http_req_header(&q, "X-Test-Header"));
}

static void test_http_unanswered_request_is_json_500(void **state)
{
    fixture *fx = *state;
    reply rp;

    assert_int_equal(get(fx, "/unanswered", &rp), CURLE_OK);
    assert_int_equal(rp.status, 500);
    assert_error_body(&rp, "internal");
    reply_free(&rp);
}

static void test_http_metrics_count_requests_and_latency(void **state)
{
    fixture *fx = *state;
    const char *count = "modq_http_request_duration_seconds_count{route=\"/v1/metered\"}";
    const char *inf =
        "modq_http_request_duration_seconds_bucket{route=\"/v1/metered\",le=\"+Inf\"}";
    const char *ok = "modq_http_requests_total{code=\"200\"}";
    double ok_before = metric(fx->metrics, ok);
    char *text = NULL;
    size_t len;

    assert_true(metric(fx->metrics, count) == 0);
    for (int i = 0; i < 3; i++) {
        reply rp;

        assert_int_equal(get(fx, "/metered", &rp), CURLE_OK);
        assert_int_equal(rp.status, 200);
        reply_free(&rp);
    }
    assert_true(metric(fx->metrics, count) == 3);
    assert_true(metric(fx->metrics, inf) == 3);
    assert_true(metric(fx->metrics, ok) == ok_before + 3);
    assert_int_equal(modq_metrics_render(fx->metrics, &text, &len), MODQ_METRICS_OK);
    assert_non_null(strstr(text, "# TYPE modq_http_request_duration_seconds histogram\n"));
    assert_non_null(strstr(text, "# TYPE modq_http_requests_total counter\n"));
    assert_non_null(strstr(text, "{route=\"/v1/metered\",le=\"0.0005\"}"));
    assert_non_null(strstr(text, "{route=\"/v1/metered\",le=\"2.5\"}"));
    assert_non_null(strstr(text, "{route=\"static\",le=\"+Inf\"}"));
    free(text);
}

static bool have_ipv6_loopback(void)
{
    struct sockaddr_in6 a;
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    bool ok;

    if (fd < 0) {
        return false;
    }
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static void test_http_ipv6_loopback(void **state)
{
    fixture *fx = *state;
    modq_http_opts o = opts_for(fx, "::1", 0);
    modq_http *h = NULL;
    char err[256];
    reply rp;

    if (!have_ipv6_loopback()) {
        skip();
        return;
    }
    assert_int_equal(modq_http_new(&o, &h, err, sizeof(err)), MODQ_HTTP_OK);
    assert_true(modq_http_port(h) > 0);
    assert_int_equal(
        request("[::1]", modq_http_port(h), "GET", "/echo?q=v6", NULL, 0, false, NULL, &rp),
        CURLE_OK);
    assert_int_equal(rp.status, 200);
    assert_non_null(strstr(rp.body, "\"q\":\"v6\""));
    reply_free(&rp);
    modq_http_free(h);
}

#define CLIENTS    8
#define PER_CLIENT 40

typedef struct client_arg {
    int port, id, ok;
} client_arg;

static void *client(void *p)
{
    client_arg *a = p;

    for (int i = 0; i < PER_CLIENT; i++) {
        char body[64];
        reply rp;
        int n = snprintf(body, sizeof(body), "client %d request %d", a->id, i);

        if (request("127.0.0.1", a->port, "POST", "/raw", body, (size_t)n, false, NULL, &rp) ==
                CURLE_OK &&
            rp.status == 200 && rp.len == (size_t)n && memcmp(rp.body, body, (size_t)n) == 0) {
            a->ok++;
        }
        reply_free(&rp);
    }
    return NULL;
}

static void test_http_concurrent_requests_all_answered(void **state)
{
    fixture *fx = *state;
    pthread_t th[CLIENTS];
    client_arg args[CLIENTS];
    int before = atomic_load(&fx->handler_calls);

    for (int i = 0; i < CLIENTS; i++) {
        args[i] = (client_arg){fx->port, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, client, &args[i]), 0);
    }
    for (int i = 0; i < CLIENTS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].ok, PER_CLIENT);
    }
    assert_int_equal(atomic_load(&fx->handler_calls) - before, CLIENTS * PER_CLIENT);
}

static void test_http_port_in_use_fails_listen(void **state)
{
    fixture *fx = *state;
    modq_http_opts o = opts_for(fx, "127.0.0.1", fx->port);
    modq_http *h = NULL;
    char err[256] = "";
    reply rp;

    assert_int_equal(modq_http_new(&o, &h, err, sizeof(err)), MODQ_HTTP_ERR_LISTEN);
    assert_null(h);
    /* The reason libmicrohttpd gave is kept for the caller's log line. */
    assert_non_null(strstr(err, "in use"));
    /* A second server sharing the registry (metrics declared already) starts fine. */
    o.port = 0;
    assert_int_equal(modq_http_new(&o, &h, err, sizeof(err)), MODQ_HTTP_OK);
    assert_int_not_equal(modq_http_port(h), fx->port);
    assert_int_equal(
        request("127.0.0.1", modq_http_port(h), "GET", "/echo", NULL, 0, false, NULL, &rp),
        CURLE_OK);
    assert_int_equal(rp.status, 200);
    reply_free(&rp);
    modq_http_free(h);
    /* The first server still answers. */
    assert_int_equal(get(fx, "/echo", &rp), CURLE_OK);
    assert_int_equal(rp.status, 200);
    reply_free(&rp);
}

static void test_http_bad_options_refused(void **state)
{
    fixture *fx = *state;
    modq_http_opts o = opts_for(fx, "localhost", 0);
    modq_http *h = NULL;
    char err[256];

    assert_int_equal(modq_http_new(&o, &h, err, sizeof(err)), MODQ_HTTP_ERR_INVALID_ARG);
    o = opts_for(fx, "127.0.0.1", 70000);
    assert_int_equal(modq_http_new(&o, &h, err, sizeof(err)), MODQ_HTTP_ERR_INVALID_ARG);
    o = opts_for(fx, "127.0.0.1", 0);
    o.max_body_bytes = SIZE_MAX;
    assert_int_equal(modq_http_new(&o, &h, err, sizeof(err)), MODQ_HTTP_ERR_INVALID_ARG);
    o = opts_for(fx, "127.0.0.1", 0);
    o.threads = 8;
    o.max_connections = 4;
    assert_int_equal(modq_http_new(&o, &h, err, sizeof(err)), MODQ_HTTP_ERR_INVALID_ARG);
    o = opts_for(fx, "127.0.0.1", 0);
    o.handler = NULL;
    assert_int_equal(modq_http_new(&o, &h, err, sizeof(err)), MODQ_HTTP_ERR_INVALID_ARG);
    assert_null(h);
    assert_int_equal(modq_http_new(NULL, &h, NULL, 0), MODQ_HTTP_ERR_INVALID_ARG);
    assert_string_equal(modq_http_strerror(MODQ_HTTP_ERR_LISTEN), "cannot listen");
    modq_http_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_security_headers_on_api_and_errors),
        cmocka_unit_test(test_http_cache_control_default_and_handler_override),
        cmocka_unit_test(test_http_body_delivered_exactly),
        cmocka_unit_test(test_http_body_over_cap_is_413),
        cmocka_unit_test(test_http_other_methods_are_405),
        cmocka_unit_test(test_http_head_answers_like_get_without_body),
        cmocka_unit_test(test_http_query_args_url_decoded),
        cmocka_unit_test(test_http_header_lookup_case_insensitive),
        cmocka_unit_test(test_http_request_in_memory_reads_its_lists),
        cmocka_unit_test(test_http_unanswered_request_is_json_500),
        cmocka_unit_test(test_http_metrics_count_requests_and_latency),
        cmocka_unit_test(test_http_ipv6_loopback),
        cmocka_unit_test(test_http_concurrent_requests_all_answered),
        cmocka_unit_test(test_http_port_in_use_fails_listen),
        cmocka_unit_test(test_http_bad_options_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
