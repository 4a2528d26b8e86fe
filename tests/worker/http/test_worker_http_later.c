/*
 * test_worker_http_later.c: answers given after the handler returned (modq_http_resp_later),
 * over loopback with libcurl: from another thread after a wait (the connection holds no
 * thread meanwhile: more waiting requests than pool threads are all answered), from within the
 * handler, after the client went away, and by the server itself when it stops first (the
 * caller's late answer is then dropped without a leak: ASan).
 */
#include "http/http_impl.h"
#include "http_testutil.h"

#include <time.h>

#define THREADS 2
#define WAITERS 6 /* more waiting requests than pool threads */

typedef struct later_fixture {
    modq_http *http;
    int port;
    pthread_mutex_t mu;
    modq_http_later *kept; /* "/keep": answered by the test */
    atomic_int taken;
} later_fixture;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

typedef struct answerer {
    modq_http_later *later;
    int ms;
} answerer;

static void *answer_after(void *p)
{
    answerer *a = p;

    sleep_ms(a->ms);
    modq_http_later_json(a->later, 200, json_pack("{s:i}", "waited_ms", a->ms));
    free(a);
    return NULL;
}

static void later_handler(void *arg, const modq_http_req *q, modq_http_resp *r)
{
    later_fixture *fx = arg;
    const char *path = modq_http_req_path(q);
    modq_http_later *l;

    modq_http_resp_route(r, "/later");
    modq_http_resp_header(r, "X-Kept", "route and headers carry over");
    l = modq_http_resp_later(r);
    assert_non_null(l);
    assert_null(modq_http_resp_later(r)); /* once per request */
    atomic_fetch_add(&fx->taken, 1);
    if (strcmp(path, "/now") == 0) {
        modq_http_later_error(l, 409, "conflict", "answered before the handler returned", 0);
    } else if (strcmp(path, "/keep") == 0) {
        pthread_mutex_lock(&fx->mu);
        fx->kept = l;
        pthread_mutex_unlock(&fx->mu);
    } else {
        answerer *a = malloc(sizeof(*a));
        pthread_t th;
        const char *ms = modq_http_req_query(q, "ms");

        assert_non_null(a);
        a->later = l;
        a->ms = ms ? (int)strtol(ms, NULL, 10) : 0;
        assert_int_equal(pthread_create(&th, NULL, answer_after, a), 0);
        assert_int_equal(pthread_detach(th), 0);
    }
}

static int later_setup(void **state)
{
    later_fixture *fx = calloc(1, sizeof(*fx));
    modq_http_opts o = {.host = "127.0.0.1", .handler = later_handler, .threads = THREADS};
    char err[256];

    assert_non_null(fx);
    pthread_mutex_init(&fx->mu, NULL);
    o.handler_arg = fx;
    assert_int_equal(modq_http_new(&o, &fx->http, err, sizeof(err)), MODQ_HTTP_OK);
    fx->port = modq_http_port(fx->http);
    *state = fx;
    return 0;
}

static int later_teardown(void **state)
{
    later_fixture *fx = *state;

    modq_http_free(fx->http);
    pthread_mutex_destroy(&fx->mu);
    free(fx);
    return 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_later_answer_from_another_thread(void **state)
{
    later_fixture *fx = *state;
    reply rp;
    double t0 = now_s();

    assert_int_equal(
        request("127.0.0.1", fx->port, "GET", "/wait?ms=300", NULL, 0, false, NULL, &rp), CURLE_OK);
    assert_true(now_s() - t0 >= 0.29);
    assert_int_equal(rp.status, 200);
    assert_string_equal(rp.body, "{\"waited_ms\":300}");
    assert_header(&rp, "X-Kept", "route and headers carry over");
    assert_security_headers(&rp);
    reply_free(&rp);
}

static void test_later_answer_within_the_handler(void **state)
{
    later_fixture *fx = *state;
    reply rp;

    assert_int_equal(request("127.0.0.1", fx->port, "GET", "/now", NULL, 0, false, NULL, &rp),
                     CURLE_OK);
    assert_int_equal(rp.status, 409);
    assert_non_null(strstr(rp.body, "\"conflict\""));
    reply_free(&rp);
    /* The kept-alive connection's next request is served as usual. */
    assert_int_equal(request("127.0.0.1", fx->port, "GET", "/wait?ms=0", NULL, 0, false, NULL, &rp),
                     CURLE_OK);
    assert_int_equal(rp.status, 200);
    reply_free(&rp);
}

typedef struct waiter {
    int port, ms;
    long status;
} waiter;

static void *wait_client(void *p)
{
    waiter *w = p;
    char target[64];
    reply rp;

    snprintf(target, sizeof(target), "/wait?ms=%d", w->ms);
    if (request("127.0.0.1", w->port, "GET", target, NULL, 0, false, NULL, &rp) == CURLE_OK) {
        w->status = rp.status;
    }
    reply_free(&rp);
    return NULL;
}

/* Six requests wait 500 ms each on a pool of two threads: if a waiting connection held its
 * thread they would take 1.5 s; suspended, all finish in about 0.5 s. */
static void test_later_waiting_requests_hold_no_thread(void **state)
{
    later_fixture *fx = *state;
    pthread_t th[WAITERS];
    waiter w[WAITERS];
    double t0 = now_s();

    for (int i = 0; i < WAITERS; i++) {
        w[i] = (waiter){fx->port, 500, 0};
        assert_int_equal(pthread_create(&th[i], NULL, wait_client, &w[i]), 0);
    }
    for (int i = 0; i < WAITERS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].status, 200);
    }
    assert_true(now_s() - t0 < 1.4);
}

/* The client gives up before the answer: the late answer is dropped, nothing leaks. */
static void test_later_client_gone_before_the_answer(void **state)
{
    later_fixture *fx = *state;
    CURL *c = curl_easy_init();
    char url[128];
    reply rp;

    assert_non_null(c);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/wait?ms=600", fx->port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 150L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    assert_int_equal(curl_easy_perform(c), CURLE_OPERATION_TIMEDOUT);
    curl_easy_cleanup(c);
    sleep_ms(800); /* the answer came and found no one */
    assert_int_equal(request("127.0.0.1", fx->port, "GET", "/wait?ms=0", NULL, 0, false, NULL, &rp),
                     CURLE_OK);
    assert_int_equal(rp.status, 200);
    reply_free(&rp);
}

typedef struct keep_client {
    int port;
    reply rp;
    CURLcode rc;
} keep_client;

static void *keep_request(void *p)
{
    keep_client *k = p;
    k->rc = request("127.0.0.1", k->port, "GET", "/keep", NULL, 0, false, NULL, &k->rp);
    return NULL;
}

/* The server stops while a request waits: it answers 503 itself, and the caller's answer after
 * that is dropped (its JSON freed). */
static void test_later_server_stops_first(void **state)
{
    later_fixture *fx = *state;
    keep_client k = {.port = fx->port};
    modq_http_later *l = NULL;
    pthread_t th;
    char v[16];

    assert_int_equal(pthread_create(&th, NULL, keep_request, &k), 0);
    for (int i = 0; i < 500 && !l; i++) {
        sleep_ms(10);
        pthread_mutex_lock(&fx->mu);
        l = fx->kept;
        pthread_mutex_unlock(&fx->mu);
    }
    assert_non_null(l);
    sleep_ms(50); /* the handler has returned and the connection waits */
    modq_http_free(fx->http);
    fx->http = NULL;
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(k.rc, CURLE_OK);
    assert_int_equal(k.rp.status, 503);
    assert_header(&k.rp, "Retry-After", "2");
    assert_int_equal(header(&k.rp, "X-Kept", v, sizeof(v)), 1);
    reply_free(&k.rp);
    modq_http_later_json(l, 200, json_pack("{s:b}", "late", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_later_answer_from_another_thread),
        cmocka_unit_test(test_later_answer_within_the_handler),
        cmocka_unit_test(test_later_waiting_requests_hold_no_thread),
        cmocka_unit_test(test_later_client_gone_before_the_answer),
        /* Last: it stops the server. */
        cmocka_unit_test(test_later_server_stops_first),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, later_setup, later_teardown);
    curl_global_cleanup();
    return rc;
}
