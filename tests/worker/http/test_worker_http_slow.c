/*
 * test_worker_http_slow.c: slow and greedy clients of the HTTP server (worker/http/http.c,
 * http_deadline.c) over loopback, with raw sockets: a head or a body trickled a byte at a time is
 * cut off at the request deadline (not left to the idle timeout, which every byte resets), the
 * clock stops while a request is answered and starts again for the next one on a kept-alive
 * connection, and the per-address limit refuses extra connections at once while another address
 * is served. The whole slowloris against the worker: test_worker_slowloris.py.
 */
#include "http_testutil.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

#define DEADLINE_MS 400
#define SLACK_MS    600 /* the sweeper's step (100 ms here) and a loaded machine */
#define TRICKLE_MS  50
#define SLOW_MS     900 /* a handler slower than the deadline */

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* echo_handler, and /slow: answered after SLOW_MS, longer than the deadline. */
static void slow_handler(void *arg, const modq_http_req *q, modq_http_resp *r)
{
    if (strcmp(modq_http_req_path(q), "/slow") == 0) {
        sleep_ms(SLOW_MS);
        modq_http_resp_copy(r, 200, "text/plain", "slow", 4);
        return;
    }
    echo_handler(arg, q, r);
}

static modq_http *start_server(fixture *fx, unsigned per_ip, unsigned deadline_ms)
{
    modq_http_opts o = opts_for(fx, "127.0.0.1", 0);
    modq_http *h = NULL;
    char err[256];

    o.handler = slow_handler;
    o.per_ip_connections = per_ip;
    o.request_timeout_ms = deadline_ms;
    assert_int_equal(modq_http_new(&o, &h, err, sizeof(err)), MODQ_HTTP_OK);
    return h;
}

/* A TCP connection from src (e.g. "127.0.0.2") to 127.0.0.1:port. */
static int connect_from(const char *src, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(inet_pton(AF_INET, src, &a.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    a.sin_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void send_all(int fd, const char *s)
{
    size_t n = strlen(s);

    assert_int_equal(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

/*
 * Sends one byte of trickle every TRICKLE_MS (none when trickle is NULL) until the server closes
 * the connection or limit_ms passes. Returns the milliseconds from t0 (mono_ms(), taken before
 * the connection was opened, so that the server's clock cannot have started earlier) to the
 * close; -1: still open. What the server sent meanwhile goes to got (got_size bytes,
 * NUL-terminated).
 */
static int64_t wait_close(int fd, int64_t t0, const char *trickle, int64_t limit_ms, char *got,
                          size_t got_size)
{
    size_t len = 0;

    got[0] = '\0';
    while (mono_ms() - t0 < limit_ms) {
        struct pollfd p = {.fd = fd, .events = POLLIN};

        if (poll(&p, 1, TRICKLE_MS) > 0) {
            ssize_t n = recv(fd, got + len, got_size - 1 - len, 0);

            if (n <= 0) {
                return mono_ms() - t0;
            }
            len += (size_t)n;
            got[len] = '\0';
            continue;
        }
        if (trickle && send(fd, trickle, 1, MSG_NOSIGNAL) != 1) {
            return mono_ms() - t0;
        }
    }
    return -1;
}

static void test_trickled_head_closed_at_deadline(void **state)
{
    fixture *fx = *state;
    modq_http *h = start_server(fx, 0, DEADLINE_MS);
    double before = metric(fx->metrics, "modq_http_request_timeouts_total");
    int calls = atomic_load(&fx->handler_calls);
    int64_t t0 = mono_ms();
    int fd = connect_from("127.0.0.1", modq_http_port(h));
    char got[256];
    int64_t ms;

    send_all(fd, "GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    /* Each byte would reset an idle timeout: only the deadline ends this. */
    ms = wait_close(fd, t0, "a", 10 * DEADLINE_MS, got, sizeof(got));
    print_message("trickled head closed after %lld ms (deadline %d ms)\n", (long long)ms,
                  DEADLINE_MS);
    assert_true(ms >= DEADLINE_MS && ms <= DEADLINE_MS + SLACK_MS);
    assert_string_equal(got, ""); /* closed, never answered */
    assert_int_equal(atomic_load(&fx->handler_calls), calls);
    /* The sweeper counts once it has let go of the connections: a moment after the close. */
    for (int i = 0; i < 100 && metric(fx->metrics, "modq_http_request_timeouts_total") == before;
         i++) {
        sleep_ms(TRICKLE_MS);
    }
    assert_true(metric(fx->metrics, "modq_http_request_timeouts_total") == before + 1);
    close(fd);
    modq_http_free(h);
}

static void test_trickled_body_closed_at_deadline(void **state)
{
    fixture *fx = *state;
    modq_http *h = start_server(fx, 0, DEADLINE_MS);
    int calls = atomic_load(&fx->handler_calls);
    int64_t t0 = mono_ms();
    int fd = connect_from("127.0.0.1", modq_http_port(h));
    char got[256];
    int64_t ms;

    /* The head is whole at once; the deadline covers the body too. */
    send_all(fd, "POST /raw HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
    ms = wait_close(fd, t0, "b", 10 * DEADLINE_MS, got, sizeof(got));
    print_message("trickled body closed after %lld ms\n", (long long)ms);
    assert_true(ms >= DEADLINE_MS && ms <= DEADLINE_MS + SLACK_MS);
    assert_string_equal(got, "");
    assert_int_equal(atomic_load(&fx->handler_calls), calls);
    close(fd);
    modq_http_free(h);
}

static void test_answer_time_not_counted_and_next_request_timed(void **state)
{
    fixture *fx = *state;
    modq_http *h = start_server(fx, 0, DEADLINE_MS);
    int64_t t0 = mono_ms();
    int fd = connect_from("127.0.0.1", modq_http_port(h));
    char got[1024];
    int64_t ms;

    /* The handler takes longer than the deadline: the request had arrived, the answer comes. */
    send_all(fd, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    ms = wait_close(fd, t0, NULL, 10 * DEADLINE_MS + SLOW_MS, got, sizeof(got));
    assert_non_null(strstr(got, "HTTP/1.1 200"));
    assert_non_null(strstr(got, "\r\n\r\nslow"));
    /* Kept alive, the connection then has the deadline to send its next request... */
    print_message("idle kept-alive connection closed after %lld ms in all\n", (long long)ms);
    assert_true(ms >= SLOW_MS + DEADLINE_MS);

    close(fd);
    modq_http_free(h);

    /* ...and one that sends each request in time is answered again and again, on the same
     * connection, for longer than one deadline in all (a longer one here: a loaded machine's
     * oversleeping must not make the client late). */
    h = start_server(fx, 0, 4 * DEADLINE_MS);
    fd = connect_from("127.0.0.1", modq_http_port(h));
    for (int i = 0; i < 6; i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};

        sleep_ms(DEADLINE_MS);
        send_all(fd, "GET /echo?q=again HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_int_equal(poll(&p, 1, 5000), 1);
        assert_true(recv(fd, got, sizeof(got) - 1, 0) > 0);
    }
    close(fd);
    modq_http_free(h);
}

static void test_per_ip_limit_refuses_at_once_and_spares_others(void **state)
{
    fixture *fx = *state;
    /* A long deadline: the held connections must outlive a slow accept on a loaded machine. */
    modq_http *h = start_server(fx, 2, 60000);
    int port = modq_http_port(h);
    int held[2] = {connect_from("127.0.0.1", port), connect_from("127.0.0.1", port)};
    int fd;
    char got[1024];
    int64_t ms;

    /* Each held connection is answered once (and kept alive), so the server has surely counted
     * both before the third arrives: the pool's threads accept side by side, and on a loaded
     * machine the third could otherwise be counted before one of these (which would then be
     * the one refused). */
    for (int i = 0; i < 2; i++) {
        struct pollfd p = {.fd = held[i], .events = POLLIN};

        send_all(held[i], "GET /echo?q=held HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_int_equal(poll(&p, 1, 10000), 1);
        assert_true(recv(held[i], got, sizeof(got) - 1, 0) > 0);
    }
    /* The third from the same address is closed at once, unanswered. */
    fd = connect_from("127.0.0.1", port);
    send_all(fd, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
    ms = wait_close(fd, mono_ms(), NULL, 5000, got, sizeof(got));
    print_message("third connection from 127.0.0.1 closed after %lld ms\n", (long long)ms);
    assert_true(ms >= 0);
    assert_string_equal(got, "");
    close(fd);
    /* Another address is served meanwhile. */
    fd = connect_from("127.0.0.2", port);
    send_all(fd, "GET /echo?q=other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_true(wait_close(fd, mono_ms(), NULL, 5000, got, sizeof(got)) >= 0);
    assert_non_null(strstr(got, "HTTP/1.1 200"));
    assert_non_null(strstr(got, "\"q\":\"other\""));
    close(fd);
    /* Once one of its connections has closed, the first address is served again (the server
     * notices the close a moment later: a few tries). */
    close(held[0]);
    got[0] = '\0';
    for (int i = 0; i < 50 && !strstr(got, "HTTP/1.1 200"); i++) {
        sleep_ms(TRICKLE_MS);
        fd = connect_from("127.0.0.1", port);
        send_all(fd, "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        wait_close(fd, mono_ms(), NULL, 5000, got, sizeof(got));
        close(fd);
    }
    assert_non_null(strstr(got, "HTTP/1.1 200"));
    close(held[1]);
    modq_http_free(h);
}

static void test_request_timeout_bounds(void **state)
{
    fixture *fx = *state;
    modq_http_opts o = opts_for(fx, "127.0.0.1", 0);
    modq_http *h = NULL;
    char err[256];

    o.request_timeout_ms = 3600001;
    assert_int_equal(modq_http_new(&o, &h, err, sizeof(err)), MODQ_HTTP_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "request_timeout_ms"));
    assert_null(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trickled_head_closed_at_deadline),
        cmocka_unit_test(test_trickled_body_closed_at_deadline),
        cmocka_unit_test(test_answer_time_not_counted_and_next_request_timed),
        cmocka_unit_test(test_per_ip_limit_refuses_at_once_and_spares_others),
        cmocka_unit_test(test_request_timeout_bounds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
