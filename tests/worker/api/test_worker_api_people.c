/*
 * test_worker_api_people.c: the review API's routes about a person (worker/api/api_people.c) and
 * its routing (worker/api/api.c), through a real HTTP server: breaks (start, the 423 while on one,
 * 409 on a repeat, end), support (202, a wellbeing event, a lead's acknowledgement), me, team
 * (leads only), the probes and /metrics without a token (and alone on the probe listener), 404 and
 * 405 with Allow, HEAD, and the 413 of an oversized body.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api_testutil.h"

#define BREAK_MS (10 * 60000) /* policy/default.yaml: break_minutes */

static void test_breaks_start_deny_and_end(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate"), *other = at_token(f, "a2", "associate");
    at_resp r;
    json_t *js;

    at_add_item(f, "t-1", "hate", false, NULL);
    at_add_item(f, "t-2", "hate", false, NULL); /* still waiting during the break */
    at_expect(f, "GET", "/v1/next", tok, NULL, 200, NULL);
    at_expect(f, "POST", "/v1/breaks/start", tok, "[]", 400, "bad_request");
    assert_int_equal(at_request(f, "POST", "/v1/breaks/start", tok, NULL, &r), 200);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "associate")), "a1");
    assert_true(json_is_true(json_object_get(js, "on_break")));
    assert_int_equal(json_integer_value(json_object_get(js, "break_started_ms")), AT_T0);
    json_decref(js);
    at_resp_free(&r);

    /* The current item went back: someone else gets it. */
    assert_int_equal(at_request(f, "GET", "/v1/next", other, NULL, &r), 200);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(json_object_get(js, "item"), "id")),
                        "t-1");
    json_decref(js);
    at_resp_free(&r);

    assert_int_equal(at_request(f, "GET", "/v1/next", tok, NULL, &r), 423);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "reason")), "ON_BREAK");
    assert_int_equal(json_integer_value(json_object_get(js, "until_ms")), AT_T0 + BREAK_MS);
    json_decref(js);
    at_resp_free(&r);
    at_expect(f, "POST", "/v1/breaks/start", tok, NULL, 409, "conflict");

    atomic_store(&f->now_ms, AT_T0 + BREAK_MS);
    assert_int_equal(at_request(f, "POST", "/v1/breaks/end", tok, "{}", &r), 200);
    js = at_json(&r);
    assert_true(json_is_false(json_object_get(js, "on_break")));
    json_decref(js);
    at_resp_free(&r);
    at_expect(f, "POST", "/v1/breaks/end", tok, NULL, 409, "conflict");
    at_expect(f, "GET", "/v1/next", tok, NULL, 200, NULL);
    free(tok);
    free(other);
}

static void test_support_is_202_a_wellbeing_event_and_a_lead_takes_it_up(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate"), *lead = at_token(f, "l1", "lead");
    size_t before;
    at_resp r;
    json_t *js, *people, *me = NULL;
    size_t i;

    pthread_mutex_lock(&f->sink.lock);
    before = f->sink.nwellbeing;
    pthread_mutex_unlock(&f->sink.lock);
    at_expect(f, "POST", "/v1/support", tok, "{\"message\": 12}", 400, "bad_request");
    at_expect(f, "POST", "/v1/support", tok, "{\"message\": \"x\", \"message\": \"y\"}", 400,
              "bad_request");
    /* Only text reaches the lead: no line breaks or other control characters (C0, DEL, C1). */
    at_expect(f, "POST", "/v1/support", tok, "{\"message\": \"one\\ntwo\"}", 400, "bad_request");
    at_expect(f, "POST", "/v1/support", tok, "{\"message\": \"a\\u0085b\"}", 400, "bad_request");
    at_expect(f, "POST", "/v1/support", tok, "{\"message\": \"a\\u007fb\"}", 400, "bad_request");
    pthread_mutex_lock(&f->sink.lock);
    assert_int_equal(f->sink.nwellbeing, before);
    pthread_mutex_unlock(&f->sink.lock);
    assert_int_equal(
        at_request(f, "POST", "/v1/support", tok, "{\"message\": \"that one stayed with me\"}", &r),
        202);
    js = at_json(&r);
    assert_true(json_is_true(json_object_get(js, "requested")));
    json_decref(js);
    at_resp_free(&r);
    /* A second press moments later is the same request: answered, not sent again. */
    at_expect(f, "POST", "/v1/support", tok, NULL, 202, NULL);
    pthread_mutex_lock(&f->sink.lock);
    assert_int_equal(f->sink.nwellbeing, before + 1);
    pthread_mutex_unlock(&f->sink.lock);

    /* The team's lead sees it. */
    assert_int_equal(at_request(f, "GET", "/v1/team", lead, NULL, &r), 200);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "team")), "t1");
    people = json_object_get(js, "associates");
    assert_true(json_is_array(people));
    json_array_foreach(people, i, me)
    {
        if (strcmp(json_string_value(json_object_get(me, "associate")), "a1") == 0) {
            break;
        }
    }
    assert_true(i < json_array_size(people));
    assert_int_equal(json_integer_value(json_object_get(me, "support_requested_ms")), AT_T0);
    assert_string_equal(json_string_value(json_object_get(me, "support_message")),
                        "that one stayed with me");
    json_decref(js);
    at_resp_free(&r);

    /* The lead takes it up: once, by a lead, for someone of the team. */
    at_expect(f, "POST", "/v1/team/support/ack", tok, "{\"associate\": \"a1\"}", 403, "forbidden");
    at_expect(f, "POST", "/v1/team/support/ack", lead, "{}", 400, "bad_request");
    at_expect(f, "POST", "/v1/team/support/ack", lead, "{\"associate\": 7}", 400, "bad_request");
    at_expect(f, "POST", "/v1/team/support/ack", lead, "{\"associate\": \"nobody\"}", 404,
              "not_found");
    assert_int_equal(
        at_request(f, "POST", "/v1/team/support/ack", lead, "{\"associate\": \"a1\"}", &r), 200);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "acknowledged")), "a1");
    json_decref(js);
    at_resp_free(&r);
    at_expect(f, "POST", "/v1/team/support/ack", lead, "{\"associate\": \"a1\"}", 200, NULL);
    pthread_mutex_lock(&f->sink.lock);
    assert_int_equal(f->sink.nwellbeing, before + 2);
    pthread_mutex_unlock(&f->sink.lock);
    assert_int_equal(at_request(f, "GET", "/v1/team", lead, NULL, &r), 200);
    js = at_json(&r);
    json_array_foreach(json_object_get(js, "associates"), i, me)
    {
        if (strcmp(json_string_value(json_object_get(me, "associate")), "a1") == 0) {
            assert_int_equal(json_integer_value(json_object_get(me, "support_requested_ms")), 0);
            assert_string_equal(json_string_value(json_object_get(me, "support_message")), "");
        }
    }
    json_decref(js);
    at_resp_free(&r);
    free(tok);
    free(lead);
}

static void test_me_and_team(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate"), *lead = at_token(f, "l1", "lead");
    at_resp r;
    json_t *js;

    assert_int_equal(at_request(f, "GET", "/v1/me", tok, NULL, &r), 200);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "associate")), "a1");
    assert_string_equal(json_string_value(json_object_get(js, "team")), "t1");
    assert_string_equal(json_string_value(json_array_get(json_object_get(js, "roles"), 0)),
                        "associate");
    assert_true(json_is_true(json_object_get(js, "allowed")));
    assert_int_equal(json_integer_value(json_object_get(js, "now_ms")), AT_T0);
    json_decref(js);
    at_resp_free(&r);
    assert_int_equal(at_request(f, "HEAD", "/v1/me", tok, NULL, &r), 200);
    assert_int_equal(r.len, 0);
    at_resp_free(&r);

    at_expect(f, "GET", "/v1/team", tok, NULL, 403, "forbidden");
    assert_int_equal(at_request(f, "GET", "/v1/team", lead, NULL, &r), 200);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "team")), "t1");
    assert_true(json_is_array(json_object_get(js, "associates")));
    json_decref(js);
    at_resp_free(&r);
    free(tok);
    free(lead);
}

static void test_probes_need_no_token(void **state)
{
    at_fixture *f = *state;
    at_resp r;

    assert_int_equal(at_request(f, "GET", "/healthz", NULL, NULL, &r), 200);
    assert_string_equal(r.body, "ok\n");
    at_resp_free(&r);
    assert_int_equal(at_request_on(&f->srv, "GET", "/readyz", "Bearer junk", NULL, 0, &r), 200);
    assert_string_equal(r.body, "ok\n");
    at_resp_free(&r);
    assert_int_equal(at_request(f, "HEAD", "/healthz", NULL, NULL, &r), 200);
    assert_int_equal(r.len, 0);
    at_resp_free(&r);
    atomic_store(&f->healthy, false);
    at_expect(f, "GET", "/healthz", NULL, NULL, 503, NULL);
    at_expect(f, "GET", "/readyz", NULL, NULL, 200, NULL);
    atomic_store(&f->ready, false);
    at_expect(f, "GET", "/readyz", NULL, NULL, 503, NULL);
    atomic_store(&f->healthy, true);
    at_expect(f, "GET", "/healthz", NULL, NULL, 200, NULL);
}

/* The probe listener's handler: the three token-free routes, and nothing a reviewer uses (404,
 * not 401, even with a valid token: the route is not there at all). */
static void test_probe_listener_serves_the_probes_only(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate"), auth[9000];
    static const char *const absent[] = {"/",      "/index.html", "/static/app.js",     "/v1/next",
                                         "/v1/me", "/v1/team",    "/v1/items/t-1/media"};
    modq_http_opts ho = {.host = "127.0.0.1",
                         .port = 0,
                         .threads = 1,
                         .handler = modq_api_handle_probe,
                         .handler_arg = f->srv.api,
                         .metrics = f->metrics};
    at_server probe = {.api = f->srv.api};
    char err[256];
    at_resp r;

    assert_int_equal(modq_http_new(&ho, &probe.http, err, sizeof(err)), MODQ_HTTP_OK);
    probe.port = modq_http_port(probe.http);
    assert_int_equal(at_request_on(&probe, "GET", "/healthz", NULL, NULL, 0, &r), 200);
    assert_string_equal(r.body, "ok\n");
    at_resp_free(&r);
    assert_int_equal(at_request_on(&probe, "GET", "/readyz", NULL, NULL, 0, &r), 200);
    at_resp_free(&r);
    atomic_store(&f->healthy, false);
    assert_int_equal(at_request_on(&probe, "GET", "/healthz", NULL, NULL, 0, &r), 503);
    at_resp_free(&r);
    atomic_store(&f->healthy, true);
    assert_int_equal(at_request_on(&probe, "GET", "/metrics", NULL, NULL, 0, &r), 200);
    assert_non_null(strstr(r.body, "modq_http_requests_total"));
    at_resp_free(&r);
    snprintf(auth, sizeof(auth), "Bearer %s", tok);
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        assert_int_equal(at_request_on(&probe, "GET", absent[i], auth, NULL, 0, &r), 404);
        at_resp_free(&r);
    }
    /* The same token on the API's own server is served there. */
    assert_int_equal(at_request(f, "GET", "/v1/me", tok, NULL, &r), 200);
    at_resp_free(&r);
    modq_http_free(probe.http);
    free(tok);
}

static void test_metrics_render_after_a_refresh(void **state)
{
    at_fixture *f = *state;
    char hv[128];
    at_resp r;
    at_server bare;

    at_expect(f, "GET", "/v1/nope", NULL, NULL, 404, "not_found");
    at_expect(f, "GET", "/v1/me", NULL, NULL, 401, "unauthorized");
    assert_int_equal(at_request(f, "GET", "/metrics", NULL, NULL, &r), 200);
    assert_int_equal(atomic_load(&f->refreshes), 1);
    assert_non_null(at_header(&r, "Content-Type", hv, sizeof(hv)));
    assert_true(strncmp(hv, "text/plain; version=0.0.4", 25) == 0);
    assert_non_null(strstr(r.body, "modq_auth_failures_total 1"));
    assert_non_null(strstr(r.body, "modq_api_errors_total{code=\"not_found\"} 1"));
    assert_non_null(strstr(r.body, "modq_api_errors_total{code=\"unauthorized\"} 1"));
    at_resp_free(&r);

    /* A second API over the same registry is fine; without a registry /metrics is 404. */
    assert_int_equal(at_server_start(f, f->keys, f->metrics, &bare), 0);
    at_server_stop(&bare);
    assert_int_equal(at_server_start(f, f->keys, NULL, &bare), 0);
    assert_int_equal(at_request_on(&bare, "GET", "/metrics", NULL, NULL, 0, &r), 404);
    at_resp_free(&r);
    at_server_stop(&bare);
}

static void test_unknown_routes_are_404_and_wrong_methods_405(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate"), hv[64];
    static const char *const not_found[] = {
        "/",          "/v1",        "/v1/",          "/v1/nope",           "/v1/me/",
        "/v1/items",  "/v1/items/", "/v1/items/t-1", "/v1/items/t-1/nope", "/v1/items/t-1/media/",
        "/v1/breaks", "/v1/next/x", "/healthz/",     "/v2/next",           "/V1/ME",
    };
    static const struct {
        const char *method, *path, *allow;
    } wrong[] = {
        {"POST", "/v1/me", "GET, HEAD"},
        {"POST", "/v1/next", "GET"},
        {"HEAD", "/v1/next", "GET"}, /* it leases: HEAD would act without showing */
        {"POST", "/v1/team", "GET, HEAD"},
        {"POST", "/healthz", "GET, HEAD"},
        {"POST", "/metrics", "GET, HEAD"},
        {"POST", "/v1/items/t-1/media", "GET"},
        {"HEAD", "/v1/items/t-1/media", "GET"},
        {"GET", "/v1/items/t-1/decision", "POST"},
        {"GET", "/v1/items/t-1/reveal", "POST"},
        {"HEAD", "/v1/items/t-1/release", "POST"},
        {"GET", "/v1/items/t-1/escalate", "POST"},
        {"GET", "/v1/breaks/start", "POST"},
        {"GET", "/v1/breaks/end", "POST"},
        {"GET", "/v1/support", "POST"},
    };
    at_resp r;

    for (size_t i = 0; i < sizeof(not_found) / sizeof(not_found[0]); i++) {
        at_expect(f, "GET", not_found[i], NULL, NULL, 404, "not_found");
        at_expect(f, "POST", not_found[i], tok, "{}", 404, "not_found");
    }
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        at_request(f, wrong[i].method, wrong[i].path, NULL, NULL, &r);
        assert_int_equal(r.status, 405);
        assert_non_null(at_header(&r, "Allow", hv, sizeof(hv)));
        assert_string_equal(hv, wrong[i].allow);
        at_resp_free(&r);
    }
    /* Methods the server does not know are refused before the API sees them. */
    at_expect(f, "PUT", "/v1/me", tok, "{}", 405, NULL);
    at_expect(f, "DELETE", "/v1/items/t-1/media", tok, NULL, 405, NULL);
    free(tok);
}

static void test_oversized_body_is_413(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate");
    size_t n = MODQ_HTTP_MAX_BODY + 1;
    char *body = malloc(n + 1), auth[4096];
    at_resp r;

    assert_non_null(body);
    memset(body, ' ', n);
    body[0] = '{';
    body[n - 1] = '}';
    body[n] = '\0';
    snprintf(auth, sizeof(auth), "Bearer %s", tok);
    at_request_on(&f->srv, "POST", "/v1/support", auth, body, n, &r);
    at_expect_error(&r, 413, "too_large");
    at_resp_free(&r);
    /* The largest body allowed is read. */
    body[n - 2] = '}';
    at_request_on(&f->srv, "POST", "/v1/support", auth, body, n - 1, &r);
    assert_int_equal(r.status, 202);
    at_resp_free(&r);
    free(body);
    free(tok);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, at_setup, at_teardown)
    const struct CMUnitTest tests[] = {
        T(test_breaks_start_deny_and_end),
        T(test_support_is_202_a_wellbeing_event_and_a_lead_takes_it_up),
        T(test_me_and_team),
        T(test_probes_need_no_token),
        T(test_probe_listener_serves_the_probes_only),
        T(test_metrics_render_after_a_refresh),
        T(test_unknown_routes_are_404_and_wrong_methods_405),
        T(test_oversized_body_is_413),
    };
    int failed;

    if (at_global_init("test_worker_api_people") != 0) {
        return 1;
    }
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    at_global_cleanup();
    return failed;
}
