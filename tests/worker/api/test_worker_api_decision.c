/*
 * test_worker_api_decision.c: a decision is answered once its fate is known
 * (worker/api/api_decision.c): 200 only after the sink confirms it, however late that comes;
 * 202 with "confirmed": false when it is kept to be sent again; 503 not_recorded when it was
 * dropped. The fate may come before the desk's call returns or from another thread later. An
 * escalation is answered the same way (api_await.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api_testutil.h"

#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void set_fate(at_fixture *f, modq_desk_fate fate, int delay_ms)
{
    pthread_mutex_lock(&f->sink.lock);
    f->sink.fate = fate;
    f->sink.fate_delay_ms = delay_ms;
    pthread_mutex_unlock(&f->sink.lock);
}

/* A new item id on the hate queue, which tok's /v1/next hands out. */
static void take(at_fixture *f, const char *tok, const char *id)
{
    char quoted[64];
    at_resp n;

    snprintf(quoted, sizeof(quoted), "\"%s\"", id);
    at_add_item(f, id, "hate", true, NULL);
    assert_int_equal(at_request(f, "GET", "/v1/next", tok, NULL, &n), 200);
    assert_non_null(strstr(n.body, quoted));
    at_resp_free(&n);
}

/* a1 takes t-1 and decides it "remove"; returns the answer's status, *r the answer. */
static long decide_one(at_fixture *f, const char *tok, at_resp *r)
{
    take(f, tok, "t-1");
    return at_request(f, "POST", "/v1/items/t-1/decision", tok, "{\"verdict\": \"remove\"}", r);
}

static void test_decision_answered_only_once_confirmed(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate");
    double t0;
    at_resp r;
    json_t *js;

    set_fate(f, MODQ_DESK_FATE_CONFIRMED, 400);
    t0 = now_s();
    assert_int_equal(decide_one(f, tok, &r), 200);
    assert_true(now_s() - t0 >= 0.39);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "decided")), "t-1");
    assert_true(json_is_object(json_object_get(js, "status")));
    assert_null(json_object_get(js, "confirmed"));
    json_decref(js);
    at_resp_free(&r);
    free(tok);
}

static void test_decision_confirmed_before_the_desk_returns(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate");
    at_resp r;

    set_fate(f, MODQ_DESK_FATE_CONFIRMED, 0);
    assert_int_equal(decide_one(f, tok, &r), 200);
    at_resp_free(&r);
    /* The kept-alive connection goes on as usual. */
    at_expect(f, "POST", "/v1/items/t-1/decision", tok, "{\"verdict\": \"remove\"}", 404,
              "not_found");
    free(tok);
}

static void test_decision_kept_for_a_retry_is_202(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate");
    at_resp r;
    json_t *js;

    set_fate(f, MODQ_DESK_FATE_PENDING, 100);
    assert_int_equal(decide_one(f, tok, &r), 202);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "decided")), "t-1");
    assert_true(json_is_false(json_object_get(js, "confirmed")));
    assert_true(json_is_object(json_object_get(js, "status")));
    json_decref(js);
    at_resp_free(&r);
    /* The item has left the desk all the same: the retry will publish it. */
    at_expect(f, "GET", "/v1/items/t-1/media", tok, NULL, 404, "not_found");
    free(tok);
}

static void test_decision_dropped_is_503_not_recorded(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate");
    char v[16];
    at_resp r;

    set_fate(f, MODQ_DESK_FATE_LOST, 50);
    assert_int_equal(decide_one(f, tok, &r), 503);
    at_expect_error(&r, 503, "not_recorded");
    assert_string_equal(at_header(&r, "Retry-After", v, sizeof(v)), "5");
    at_resp_free(&r);
    free(tok);
}

static void test_escalation_answered_by_its_fate(void **state)
{
    at_fixture *f = *state;
    char *tok = at_token(f, "a1", "associate");
    at_resp r;
    json_t *js;

    take(f, tok, "t-1");
    set_fate(f, MODQ_DESK_FATE_PENDING, 100);
    assert_int_equal(
        at_request(f, "POST", "/v1/items/t-1/escalate", tok, "{\"note\": \"needs a lead\"}", &r),
        202);
    js = at_json(&r);
    assert_string_equal(json_string_value(json_object_get(js, "escalated")), "t-1");
    assert_true(json_is_false(json_object_get(js, "confirmed")));
    json_decref(js);
    at_resp_free(&r);

    take(f, tok, "t-2");
    set_fate(f, MODQ_DESK_FATE_LOST, 0);
    assert_int_equal(at_request(f, "POST", "/v1/items/t-2/escalate", tok, "{}", &r), 503);
    at_expect_error(&r, 503, "not_recorded");
    assert_non_null(strstr(r.body, "escalation"));
    at_resp_free(&r);
    free(tok);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, at_setup, at_teardown)
    const struct CMUnitTest tests[] = {
        T(test_decision_answered_only_once_confirmed),
        T(test_decision_confirmed_before_the_desk_returns),
        T(test_decision_kept_for_a_retry_is_202),
        T(test_decision_dropped_is_503_not_recorded),
        T(test_escalation_answered_by_its_fate),
    };
    int failed;

    if (at_global_init("test_worker_api_decision") != 0) {
        return 1;
    }
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    at_global_cleanup();
    return failed;
}
