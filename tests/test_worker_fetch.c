/*
 * test_worker_fetch.c: media by URI (worker/fetch.c): file:// confinement to the root (.., symlink
 * escapes), size caps, and http through a real HTTP server on loopback (libmicrohttpd in this
 * process): allow-list, status codes, size cap with and without Content-Length, time cap, and
 * redirects within and across hosts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fetch.h"

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
    struct MHD_Daemon *httpd;
    int port;
    modq_fetch *f;
    char err[512], uri[512];
} fixture;

/* Serves a tiny site: /ok, /big (Content-Length over the cap), /stream (no length, endless),
 * /slow (answers after 1.5 s), /missing (404), /teapot (418), /same (redirect to /ok on this
 * host), /other (redirect to localhost: another host name). */
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
    } else if (strcmp(url, "/same") == 0 || strcmp(url, "/other") == 0) {
        snprintf(location, sizeof(location), "http://%s:%d/ok",
                 url[1] == 's' ? "127.0.0.1" : "localhost", fx->port);
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
    for (size_t i = 0; i < n; i++)
        fputc('a' + (int)(i % 26), fp);
    fclose(fp);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    const char *hosts[] = {"127.0.0.1"};
    char path[160];

    if (!f)
        return -1;
    memcpy(f->dir, "/tmp/modq-fetch-XXXXXX", sizeof("/tmp/modq-fetch-XXXXXX"));
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
    snprintf(f->outside, sizeof(f->outside), "%s/secret.txt", f->dir);
    mkdir(f->root, 0755);
    snprintf(path, sizeof(path), "%s/a.jpg", f->root);
    write_file(path, 100);
    snprintf(path, sizeof(path), "%s/big.jpg", f->root);
    write_file(path, CAP + 1);
    write_file(f->outside, 10);
    snprintf(path, sizeof(path), "%s/escape.jpg", f->root);
    if (symlink(f->outside, path) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/sub", f->root);
    mkdir(path, 0755);

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->httpd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                                NULL, NULL, serve, f, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_END);
    if (!f->httpd)
        return -1;
    f->port = MHD_get_daemon_info(f->httpd, MHD_DAEMON_INFO_BIND_PORT)->port;
    f->f = modq_fetch_new(f->root, hosts, 1, CAP, 500, f->err, sizeof(f->err));
    if (!f->f)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];

    modq_fetch_free(f->f);
    MHD_stop_daemon(f->httpd);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* Fetches the URI head + mid + tail. */
static modq_fetch_result get(fixture *f, const char *head, const char *mid, const char *tail)
{
    uint8_t *data = NULL;
    size_t len = 0;
    modq_fetch_result r;

    snprintf(f->uri, sizeof(f->uri), "%s%s%s", head, mid, tail);
    f->err[0] = '\0';
    r = modq_fetch_get(f->f, f->uri, &data, &len, f->err, sizeof(f->err));
    if (r == MODQ_FETCH_OK)
        assert_non_null(data);
    else
        assert_null(data);
    free(data);
    return r;
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
        cmocka_unit_test(test_fetch_new_rejects_relative_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
