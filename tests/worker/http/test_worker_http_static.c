/*
 * test_worker_http_static.c: the static files of worker/http/http.c (http_static.c): the index at /
 * and /index.html, MIME types, refusals of traversal, hidden and unknown names (never reaching
 * the handler), and a start that fails on a missing directory or an oversized file.
 */
#include "http_testutil.h"

static void test_http_static_index_at_root_and_index_html(void **state)
{
    fixture *fx = *state;
    const char *targets[] = {"/", "/index.html"};
    int before = atomic_load(&fx->handler_calls);

    for (size_t i = 0; i < 2; i++) {
        reply rp;

        assert_int_equal(get(fx, targets[i], &rp), CURLE_OK);
        assert_int_equal(rp.status, 200);
        assert_int_equal(rp.len, strlen(INDEX_HTML));
        assert_memory_equal(rp.body, INDEX_HTML, rp.len);
        assert_header(&rp, "Content-Type", "text/html; charset=utf-8");
        assert_header(&rp, "Cache-Control", "no-cache");
        assert_security_headers(&rp);
        reply_free(&rp);
    }
    assert_int_equal(atomic_load(&fx->handler_calls), before);
}

static void test_http_static_files_have_their_mime_type(void **state)
{
    fixture *fx = *state;
    reply rp;

    assert_int_equal(get(fx, "/static/app.js", &rp), CURLE_OK);
    assert_int_equal(rp.status, 200);
    assert_string_equal(rp.body, APP_JS);
    assert_header(&rp, "Content-Type", "text/javascript; charset=utf-8");
    assert_security_headers(&rp);
    reply_free(&rp);
    assert_int_equal(get(fx, "/static/style.css", &rp), CURLE_OK);
    assert_int_equal(rp.status, 200);
    assert_string_equal(rp.body, STYLE_CSS);
    assert_header(&rp, "Content-Type", "text/css; charset=utf-8");
    reply_free(&rp);
}

static void test_http_static_refuses_traversal_hidden_and_unknown(void **state)
{
    fixture *fx = *state;
    const char *targets[] = {
        "/static/../secret.txt",   "/static/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt", "/static/.hidden.js",
        "/static/notes.md",        "/static/missing.js",
        "/static/sub/app.js",      "/static/",
        "/static/app.js/",
    };
    int before = atomic_load(&fx->handler_calls);

    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        reply rp;

        assert_int_equal(get(fx, targets[i], &rp), CURLE_OK);
        assert_int_equal(rp.status, 404);
        assert_error_body(&rp, "not_found");
        assert_security_headers(&rp);
        assert_null(strstr(rp.body, "secret\""));
        assert_null(strstr(rp.body, "hidden"));
        reply_free(&rp);
    }
    /* Static names never reach the handler, even refused ones. */
    assert_int_equal(atomic_load(&fx->handler_calls), before);
}

static void test_http_missing_static_dir_fails_start(void **state)
{
    fixture *fx = *state;
    modq_http_opts o = opts_for(fx, "127.0.0.1", 0);
    modq_http *h = (modq_http *)&o;
    char missing[160], err[256] = "";

    snprintf(missing, sizeof(missing), "%s/no-such-dir", fx->root);
    o.static_dir = missing;
    assert_int_equal(modq_http_new(&o, &h, err, sizeof(err)), MODQ_HTTP_ERR_STATIC);
    assert_null(h);
    assert_non_null(strstr(err, "no-such-dir"));
}

static void test_http_static_file_too_big_fails_start(void **state)
{
    fixture *fx = *state;
    modq_http_opts o = opts_for(fx, "127.0.0.1", 0);
    char dir[160], err[256] = "";
    size_t n = MODQ_HTTP_STATIC_MAX_FILE + 1;
    char *big = calloc(1, n);
    modq_http *h = NULL;

    assert_non_null(big);
    snprintf(dir, sizeof(dir), "%s/big", fx->root);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_file(dir, "huge.js", big, n);
    o.static_dir = dir;
    assert_int_equal(modq_http_new(&o, &h, err, sizeof(err)), MODQ_HTTP_ERR_STATIC);
    assert_null(h);
    assert_non_null(strstr(err, "huge.js"));
    remove_file(dir, "huge.js");
    /* Without the big file (and with no files at all) the directory is fine. */
    assert_int_equal(modq_http_new(&o, &h, err, sizeof(err)), MODQ_HTTP_OK);
    modq_http_free(h);
    rmdir(dir);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_static_index_at_root_and_index_html),
        cmocka_unit_test(test_http_static_files_have_their_mime_type),
        cmocka_unit_test(test_http_static_refuses_traversal_hidden_and_unknown),
        cmocka_unit_test(test_http_missing_static_dir_fails_start),
        cmocka_unit_test(test_http_static_file_too_big_fails_start),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
