/* config_testutil.h: helpers shared by the tests of worker/config/config*.c. */
#ifndef MODQ_CONFIG_TESTUTIL_H
#define MODQ_CONFIG_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "config/config.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline modq_config_result load_text(const char *yaml, const char *const *env,
                                           modq_config **out, char *err, size_t err_size)
{
    return modq_config_load_buffer(yaml, strlen(yaml), "t.yaml", env, out, err, err_size);
}

/* The compact JSON text of key "section.name" in c's JSON rendering; caller frees. */
static inline char *json_text(const modq_config *c, const char *key)
{
    json_t *root = NULL;
    char section[64];
    const char *dot = strchr(key, '.');
    assert_non_null(dot);
    snprintf(section, sizeof section, "%.*s", (int)(dot - key), key);
    assert_int_equal(modq_config_to_json(c, &root), MODQ_CONFIG_OK);
    json_t *v = json_object_get(json_object_get(root, section), dot + 1);
    assert_non_null(v);
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(root);
    assert_non_null(s);
    return s;
}

static inline void assert_json(const modq_config *c, const char *key, const char *expect)
{
    char *s = json_text(c, key);
    if (strcmp(s, expect) != 0) {
        print_error("%s: got %s, want %s\n", key, s, expect);
    }
    assert_string_equal(s, expect);
    free(s);
}

/* The whole rendering, as text (to search for leaked secrets). Caller frees. */
static inline char *dump_all(const modq_config *c)
{
    json_t *root = NULL;
    assert_int_equal(modq_config_to_json(c, &root), MODQ_CONFIG_OK);
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    assert_non_null(s);
    return s;
}

/* A temporary file holding len bytes of data; path into buf. */
static inline void temp_file(char *buf, size_t size, const void *data, size_t len)
{
    snprintf(buf, size, "/tmp/modq-config-test-XXXXXX");
    int fd = mkstemp(buf);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static inline void expect_error(const char *yaml, const char *const *env, modq_config_result want_r,
                                const char *want_msg)
{
    char err[512] = "";
    modq_config *c = NULL;
    modq_config_result r = load_text(yaml, env, &c, err, sizeof err);
    if (r != want_r || strcmp(err, want_msg) != 0) {
        print_error("yaml:\n%s\ngot %d '%s'\nwant %d '%s'\n", yaml, r, err, want_r, want_msg);
    }
    assert_int_equal(r, want_r);
    assert_null(c);
    assert_string_equal(err, want_msg);
}

/* ---- defaults ---------------------------------------------------------------------------- */

#endif
