/*
 * test_worker_fetch.c: media by URI (worker/prepare/fetch.c): file:// confinement to the root (..,
 * symlink escapes), size caps, and http through real HTTP servers on loopback (libmicrohttpd in
 * this process, on two ports, and on [::1] where the host has IPv6): the host[:port] allow-list,
 * status codes, size cap with and without Content-Length, time cap, and redirects within and
 * across hosts and ports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "prepare/fetch.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CAP 4096

typedef struct fixture {
    char dir[64], root[96], outside[96];
    struct MHD_Daemon *httpd, *httpd2; /* the second: another port of the same host */
    int port, port2;
    modq_fetch *f;
    char err[512], uri[512];
} fixture;

/* Serves a tiny site: /ok, /big (Content-Length over the cap), /stream (no length, endless),
 * /slow (answers after 1.5 s), /missing (404), /teapot (418), /same (redirect to /ok on this
 * host), /other (redirect to localhost: another host name), /port (redirect to /two on the
 * second port of this host), /default (redirect to /ok on this host's default port, 80), /loop
 * (redirect to itself). */
static ssize_t endless(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    (void)pos;
    memset(buf, 'x', max);
    return (ssize_t)max;
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version, const char *upload,
                             size_t *upload_size, void **req)
{
    static char big[CAP + 1];
    fixture *fx = cls;
    struct MHD_Response *resp;
    unsigned status = MHD_HTTP_OK;
    enum MHD_Result ret;
    char location[128];

    (void)method;
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)req;
    if (strcmp(url, "/ok") == 0) {
        resp =
            MHD_create_response_from_buffer(5, (void *)(uintptr_t) "hello", MHD_RESPMEM_PERSISTENT);
    } else if (strcmp(url, "/big") == 0) {
        resp = MHD_create_response_from_buffer(sizeof(big), big, MHD_RESPMEM_PERSISTENT);
    } else if (strcmp(url, "/stream") == 0) {
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, endless, NULL, NULL);
    } else if (strcmp(url, "/slow") == 0) {
        struct timespec ts = {1, 500000000};
        nanosleep(&ts, NULL);
        resp = MHD_create_response_from_buffer(2, (void *)(uintptr_t) "ok", MHD_RESPMEM_PERSISTENT);
    } else if (strcmp(url, "/two") == 0) {
        resp =
            MHD_create_response_from_buffer(3, (void *)(uintptr_t) "two", MHD_RESPMEM_PERSISTENT);
    } else if (strcmp(url, "/same") == 0 || strcmp(url, "/other") == 0 ||
               strcmp(url, "/port") == 0 || strcmp(url, "/default") == 0 ||
               strcmp(url, "/loop") == 0) {
        if (strcmp(url, "/port") == 0) {
            snprintf(location, sizeof(location), "http://127.0.0.1:%d/two", fx->port2);
        } else if (strcmp(url, "/default") == 0) {
            snprintf(location, sizeof(location), "http://127.0.0.1/ok");
        } else if (strcmp(url, "/loop") == 0) {
            snprintf(location, sizeof(location), "http://127.0.0.1:%d/loop", fx->port);
        } else {
            snprintf(location, sizeof(location), "http://%s:%d/ok",
                     url[1] == 's' ? "127.0.0.1" : "localhost", fx->port);
        }
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Location", location);
        status = MHD_HTTP_FOUND;
    } else {
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        status = strcmp(url, "/teapot") == 0 ? 418 : MHD_HTTP_NOT_FOUND;
    }
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void write_file(const char *path, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    for (size_t i = 0; i < n; i++) {
        fputc('a' + (int)(i % 26), fp);
    }
    fclose(fp);
}

/* An HTTP server of this fixture on a free port of addr. */
static struct MHD_Daemon *start_server(fixture *f, const struct sockaddr *addr, unsigned flags,
                                       int *port)
{
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | flags, 0,
                         NULL, NULL, serve, f, MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_END);
    if (d) {
        *port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    }
    return d;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    char entry[32], path[160];
    const char *hosts[] = {entry};

    if (!f) {
        return -1;
    }
    memcpy(f->dir, "/tmp/modq-fetch-XXXXXX", sizeof("/tmp/modq-fetch-XXXXXX"));
    if (!mkdtemp(f->dir)) {
        return -1;
    }
    snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
    snprintf(f->outside, sizeof(f->outside), "%s/secret.txt", f->dir);
    mkdir(f->root, 0755);
    snprintf(path, sizeof(path), "%s/a.jpg", f->root);
    write_file(path, 100);
    snprintf(path, sizeof(path), "%s/big.jpg", f->root);
    write_file(path, CAP + 1);
    write_file(f->outside, 10);
    snprintf(path, sizeof(path), "%s/escape.jpg", f->root);
    if (symlink(f->outside, path) != 0) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/sub", f->root);
    mkdir(path, 0755);

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->httpd = start_server(f, (const struct sockaddr *)&addr, 0, &f->port);
    f->httpd2 = start_server(f, (const struct sockaddr *)&addr, 0, &f->port2);
    if (!f->httpd || !f->httpd2) {
        return -1;
    }
    /* The first port only: the second is another port of an allowed host. */
    snprintf(entry, sizeof(entry), "127.0.0.1:%d", f->port);
    f->f = modq_fetch_new(f->root, hosts, 1, CAP, 500, f->err, sizeof(f->err));
    if (!f->f) {
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];

    modq_fetch_free(f->f);
    MHD_stop_daemon(f->httpd);
    MHD_stop_daemon(f->httpd2);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) {
        return -1;
    }
    free(f);
    return 0;
}

/* Fetches the URI head + mid + tail with fetcher ft; the body, if any, into body (a string). */
static modq_fetch_result get_with(fixture *f, const modq_fetch *ft, const char *head,
                                  const char *mid, const char *tail, char *body, size_t body_size)
{
    uint8_t *data = NULL;
    size_t len = 0;
    modq_fetch_result r;

    snprintf(f->uri, sizeof(f->uri), "%s%s%s", head, mid, tail);
    f->err[0] = '\0';
    r = modq_fetch_get(ft, f->uri, &data, &len, f->err, sizeof(f->err));
    if (r == MODQ_FETCH_OK) {
        assert_non_null(data);
    } else {
        assert_null(data);
    }
    if (body && body_size) {
        snprintf(body, body_size, "%.*s", (int)(len < body_size ? len : body_size - 1),
                 data ? (const char *)data : "");
    }
    free(data);
    return r;
}

/* Fetches the URI head + mid + tail with the fixture's fetcher. */
static modq_fetch_result get(fixture *f, const char *head, const char *mid, const char *tail)
{
    return get_with(f, f->f, head, mid, tail, NULL, 0);
}

static void test_fetch_file_under_root(void **state)
{
    fixture *f = *state;
    uint8_t *data = NULL;
    size_t len = 0;

    snprintf(f->uri, sizeof(f->uri), "file://%s/a.jpg", f->root);
    assert_int_equal(modq_fetch_get(f->f, f->uri, &data, &len, f->err, sizeof(f->err)),
                     MODQ_FETCH_OK);
    assert_int_equal(len, 100);
    assert_memory_equal(data, "abcdef", 6);
    free(data);
}

static void test_fetch_file_refuses_escapes(void **state)
{
    fixture *f = *state;
    char uri[256];

    /* A path outside the root, dot-dot out of it, a symlink pointing out of it. */
    assert_int_equal(get(f, "file://", f->outside, ""), MODQ_FETCH_ERR_OUTSIDE_ROOT);
    snprintf(uri, sizeof(uri), "%s/sub/../../secret.txt", f->root);
    assert_int_equal(get(f, "file://", uri, ""), MODQ_FETCH_ERR_OUTSIDE_ROOT);
    assert_int_equal(get(f, "file://", f->root, "/escape.jpg"), MODQ_FETCH_ERR_OUTSIDE_ROOT);
    assert_int_equal(get(f, "file://", f->root, "/nope.jpg"), MODQ_FETCH_ERR_NOT_FOUND);
    assert_int_equal(get(f, "file://", f->root, "/sub"), MODQ_FETCH_ERR_NOT_FOUND);
    assert_int_equal(get(f, "file://", f->root, "/big.jpg"), MODQ_FETCH_ERR_TOO_LARGE);
    assert_non_null(strstr(f->err, "4097 bytes > 4096"));
    /* libcurl's parser already refuses a file:// URL that names another host. */
    assert_int_equal(get(f, "file://evil.example", f->root, "/a.jpg"), MODQ_FETCH_ERR_BAD_URI);
}

static void test_fetch_schemes_and_hosts(void **state)
{
    fixture *f = *state;

    assert_int_equal(get(f, "ftp://127.0.0.1/", "x", ""), MODQ_FETCH_ERR_SCHEME);
    assert_int_equal(get(f, "gopher://127.0.0.1/", "x", ""), MODQ_FETCH_ERR_SCHEME);
    assert_int_equal(get(f, "http://10.0.0.1/", "x", ""), MODQ_FETCH_ERR_HOST);
    assert_int_equal(get(f, "", "not a uri", ""), MODQ_FETCH_ERR_BAD_URI);
    assert_string_equal(modq_fetch_code(MODQ_FETCH_ERR_HOST), "host_not_allowed");
}

static void test_fetch_http_statuses_and_caps(void **state)
{
    fixture *f = *state;
    char port[16];

    snprintf(port, sizeof(port), "%d", f->port);
    assert_int_equal(get(f, "http://127.0.0.1:", port, "/ok"), MODQ_FETCH_OK);
    assert_int_equal(get(f, "http://127.0.0.1:", port, "/missing"), MODQ_FETCH_ERR_NOT_FOUND);
    assert_int_equal(get(f, "http://127.0.0.1:", port, "/teapot"), MODQ_FETCH_ERR_HTTP);
    assert_string_equal(f->err, "HTTP status 418");
    assert_int_equal(get(f, "http://127.0.0.1:", port, "/big"), MODQ_FETCH_ERR_TOO_LARGE);
    assert_int_equal(get(f, "http://127.0.0.1:", port, "/stream"), MODQ_FETCH_ERR_TOO_LARGE);
    assert_int_equal(get(f, "http://127.0.0.1:", port, "/slow"), MODQ_FETCH_ERR_TIMEOUT);
}

static void test_fetch_http_redirects_only_within_host(void **state)
{
    fixture *f = *state;
    char port[16];

    snprintf(port, sizeof(port), "%d", f->port);
    assert_int_equal(get(f, "http://127.0.0.1:", port, "/same"), MODQ_FETCH_OK);
    assert_int_equal(get(f, "http://127.0.0.1:", port, "/other"), MODQ_FETCH_ERR_REDIRECT);
    assert_non_null(strstr(f->err, "localhost"));
    assert_int_equal(get(f, "http://127.0.0.1:", port, "/loop"), MODQ_FETCH_ERR_REDIRECT);
    assert_non_null(strstr(f->err, "more than 2 redirects"));
}

/* A redirect to another port of the allowed host was followed (the allow-list was by host only):
 * every hop must pass the allow-list again, port included. */
static void test_fetch_http_redirect_to_another_port_is_refused(void **state)
{
    fixture *f = *state;
    char port[16], port2[16], body[16] = "";

    snprintf(port, sizeof(port), "%d", f->port);
    snprintf(port2, sizeof(port2), ":%d/", f->port2);
    assert_int_equal(get_with(f, f->f, "http://127.0.0.1:", port, "/port", body, sizeof(body)),
                     MODQ_FETCH_ERR_REDIRECT);
    assert_string_equal(body, "");
    assert_string_equal(modq_fetch_code(MODQ_FETCH_ERR_REDIRECT), "redirect_refused");
    assert_non_null(strstr(f->err, port2));
    assert_non_null(strstr(f->err, "not allowed"));
    /* The default port (80) is not the listed one either. */
    assert_int_equal(get(f, "http://127.0.0.1:", port, "/default"), MODQ_FETCH_ERR_REDIRECT);

    /* With both ports listed the same redirect is followed, to the second server. */
    char e1[32], e2[32];
    const char *both[] = {e1, e2};
    snprintf(e1, sizeof(e1), "127.0.0.1:%d", f->port);
    snprintf(e2, sizeof(e2), "127.0.0.1:%d", f->port2);
    modq_fetch *ft = modq_fetch_new(NULL, both, 2, CAP, 500, f->err, sizeof(f->err));
    assert_non_null(ft);
    assert_int_equal(get_with(f, ft, "http://127.0.0.1:", port, "/port", body, sizeof(body)),
                     MODQ_FETCH_OK);
    assert_string_equal(body, "two");
    modq_fetch_free(ft);
}

/* The first hop is held to the same rule: a listed port, or the scheme's default when the entry
 * has none. */
static void test_fetch_http_ports_on_the_allow_list(void **state)
{
    fixture *f = *state;
    char port2[16], msg[128];

    snprintf(port2, sizeof(port2), "%d", f->port2);
    assert_int_equal(get(f, "http://127.0.0.1:", port2, "/ok"), MODQ_FETCH_ERR_PORT);
    assert_string_equal(modq_fetch_code(MODQ_FETCH_ERR_PORT), "port_not_allowed");
    snprintf(msg, sizeof(msg), "port %d of 127.0.0.1 not allowed for http (allowed: %d)", f->port2,
             f->port);
    assert_non_null(strstr(f->err, msg));
    /* user@ and a port-like user name do not change the host or port libcurl connects to. */
    snprintf(msg, sizeof(msg), "%d@127.0.0.1:%d", f->port, f->port2);
    assert_int_equal(get(f, "http://127.0.0.1:", msg, "/ok"), MODQ_FETCH_ERR_PORT);

    /* An entry without a port: 80 for http://, 443 for https://, nothing else. */
    const char *bare[] = {"127.0.0.1"};
    modq_fetch *ft = modq_fetch_new(NULL, bare, 1, CAP, 500, f->err, sizeof(f->err));
    assert_non_null(ft);
    assert_int_equal(get_with(f, ft, "http://127.0.0.1:", port2, "/ok", NULL, 0),
                     MODQ_FETCH_ERR_PORT);
    assert_non_null(strstr(f->err, "not allowed for http (allowed: 80)"));
    assert_int_equal(get_with(f, ft, "https://127.0.0.1:80/ok", "", "", NULL, 0),
                     MODQ_FETCH_ERR_PORT);
    assert_non_null(strstr(f->err, "not allowed for https (allowed: 443)"));
    /* Past the allow-list (nothing listens on 80 here, or something that is not this server). */
    modq_fetch_result r = get_with(f, ft, "http://127.0.0.1/ok", "", "", NULL, 0);
    assert_true(r != MODQ_FETCH_ERR_PORT && r != MODQ_FETCH_ERR_HOST);
    r = get_with(f, ft, "http://127.0.0.1:80/ok", "", "", NULL, 0);
    assert_true(r != MODQ_FETCH_ERR_PORT && r != MODQ_FETCH_ERR_HOST);
    modq_fetch_free(ft);
}

static void test_fetch_allowed_host_entries(void **state)
{
    static const char *const good[] = {
        "cdn.example.com", "CDN.example.com:8443", "10.0.0.1:1",        "a:65535",
        "[::1]",           "[::1]:8443",           "[2001:db8::a]:443", "[::ffff:127.0.0.1]:80"};
    static const char *const bad[] = {
        "",       ":80",     "a:",     "a:0", "a:65536",  "a:80:1",      "a:+80",  "a:8O",
        "a b",    ".a",      "-a",     "a/b", "u@a",      "[::1",        "[::1]x", "[]",
        "[::1]:", "[::1]:0", "[g::1]", "::1", "a:123456", "[::1%25eth0]"};
    char err[256];
    modq_fetch *ft;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        err[0] = '\0';
        if (modq_fetch_check_allowed_host(good[i], err, sizeof(err)) != MODQ_FETCH_OK) {
            fail_msg("'%s' refused: %s", good[i], err);
        }
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (modq_fetch_check_allowed_host(bad[i], err, sizeof(err)) == MODQ_FETCH_OK) {
            fail_msg("'%s' accepted", bad[i]);
        }
        assert_true(err[0] != '\0');
    }
    assert_int_equal(modq_fetch_check_allowed_host("a:0", err, sizeof(err)),
                     MODQ_FETCH_ERR_INVALID_ARG);
    assert_string_equal(err, "port must be an integer between 1 and 65535");
    ft = modq_fetch_new(NULL, bad + 4, 1, 10, 10, err, sizeof(err));
    assert_null(ft);
    assert_string_equal(err, "fetch.allowed_hosts[0]: port must be an integer between 1 and 65535");
}

/* [v6]:port entries and URIs, on a server on [::1] (skipped where the host has no IPv6). */
static void test_fetch_http_ipv6_literal(void **state)
{
    fixture *f = *state;
    struct sockaddr_in6 addr = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    char entry[32], uri[64], body[16] = "";
    const char *hosts[] = {entry}, *bare[] = {"[::1]"};
    int port = 0;
    struct MHD_Daemon *d = start_server(f, (const struct sockaddr *)&addr, MHD_USE_IPv6, &port);

    if (!d) {
        print_message("skipped: no IPv6 loopback ([::1]) to listen on\n");
        skip();
    }
    snprintf(entry, sizeof(entry), "[::1]:%d", port);
    modq_fetch *ft = modq_fetch_new(NULL, hosts, 1, CAP, 500, f->err, sizeof(f->err));
    modq_fetch *fb = modq_fetch_new(NULL, bare, 1, CAP, 500, f->err, sizeof(f->err));
    assert_non_null(ft);
    assert_non_null(fb);
    snprintf(uri, sizeof(uri), "http://[::1]:%d/two", port);
    assert_int_equal(get_with(f, ft, uri, "", "", body, sizeof(body)), MODQ_FETCH_OK);
    assert_string_equal(body, "two");
    /* Another spelling of the same address is the same host. */
    snprintf(uri, sizeof(uri), "http://[0:0::1]:%d/two", port);
    assert_int_equal(get_with(f, ft, uri, "", "", NULL, 0), MODQ_FETCH_OK);
    snprintf(uri, sizeof(uri), "http://[::1]:%d/two", port);
    assert_int_equal(get_with(f, fb, uri, "", "", NULL, 0), MODQ_FETCH_ERR_PORT);
    assert_int_equal(get_with(f, ft, "http://[::2]:1/two", "", "", NULL, 0), MODQ_FETCH_ERR_HOST);
    modq_fetch_free(fb);
    modq_fetch_free(ft);
    MHD_stop_daemon(d);
}

static void test_fetch_new_rejects_relative_root(void **state)
{
    char err[256];

    (void)state;
    assert_null(modq_fetch_new("relative/dir", NULL, 0, 10, 10, err, sizeof(err)));
    assert_non_null(strstr(err, "absolute"));
    assert_null(modq_fetch_new("/nonexistent-modq-root", NULL, 0, 10, 10, err, sizeof(err)));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_fetch_file_under_root),
        T(test_fetch_file_refuses_escapes),
        T(test_fetch_schemes_and_hosts),
        T(test_fetch_http_statuses_and_caps),
        T(test_fetch_http_redirects_only_within_host),
        T(test_fetch_http_redirect_to_another_port_is_refused),
        T(test_fetch_http_ports_on_the_allow_list),
        T(test_fetch_http_ipv6_literal),
        cmocka_unit_test(test_fetch_allowed_host_entries),
        cmocka_unit_test(test_fetch_new_rejects_relative_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
