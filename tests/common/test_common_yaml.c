/*
 * test_common_yaml.c: tests of common/yaml_walk.c, the YAML walker that the policy and the
 * worker's configuration share: one document per file, FILE:LINE and the label in every message,
 * mappings of fixed keys and pair by pair, and the typed scalars at and past their edges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "modq_yaml.h"

#include <stdio.h>
#include <string.h>

/* Loads text as "f.yaml" with the label "key", expecting want; err gets the message. */
static void load(modq_yaml *w, const char *text, modq_yaml_result want, char *err, size_t size)
{
    err[0] = '\0';
    modq_yaml_result r = modq_yaml_load(w, text, strlen(text), "f.yaml", "key", err, size);
    if (r != want) {
        print_error("'%s': result %d, want %d (%s)\n", text, r, want, err);
    }
    assert_int_equal(r, want);
}

static void test_a_file_is_exactly_one_document(void **state)
{
    (void)state;
    modq_yaml w;
    char err[256];

    load(&w, "", MODQ_YAML_OK, err, sizeof err);
    assert_null(modq_yaml_root(&w));
    modq_yaml_free(&w);
    load(&w, "# nothing but a comment\n", MODQ_YAML_OK, err, sizeof err);
    assert_null(modq_yaml_root(&w));
    modq_yaml_free(&w);
    load(&w, "---\na: 1\n...\n# after the end mark\n", MODQ_YAML_OK, err, sizeof err);
    assert_non_null(modq_yaml_root(&w));
    modq_yaml_free(&w);

    load(&w, "a: 1\n---\nb: 2\n", MODQ_YAML_ERR_INVALID, err, sizeof err);
    assert_string_equal(
        err, "f.yaml:3: key '(top level)': a second YAML document; the file must hold exactly one");
    modq_yaml_free(&w);
    load(&w, "a: 1\n--- x\n", MODQ_YAML_ERR_INVALID, err, sizeof err);
    assert_memory_equal(err, "f.yaml:2: ", 10);
    modq_yaml_free(&w);
    /* A broken second document is a syntax error at its line. */
    load(&w, "a: 1\n---\nb: [2\n", MODQ_YAML_ERR_SYNTAX, err, sizeof err);
    assert_memory_equal(err, "f.yaml:4: ", 10);
    modq_yaml_free(&w);
    load(&w, "a: 1\n  b: 2\n", MODQ_YAML_ERR_SYNTAX, err, sizeof err);
    assert_memory_equal(err, "f.yaml:2: ", 10);
    modq_yaml_free(&w);
    modq_yaml_free(NULL);
}

static const modq_yaml_key keys[] = {{"name", true}, {"size", false}};

static void test_a_fixed_mapping_names_unknown_repeated_and_missing_keys(void **state)
{
    (void)state;
    modq_yaml w;
    yaml_node_t *v[2];
    char err[256];
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"x:\n  name: a\n  sise: 2\n", "f.yaml:3: key 'x.sise': unknown key"},
        {"x:\n  name: a\n  name: b\n", "f.yaml:3: key 'x.name': given twice"},
        {"x:\n  size: 2\n", "f.yaml:2: key 'x.name': is required"},
        {"x: [1]\n", "f.yaml:1: key 'x': must be a mapping"},
        {"x:\n  [1]: a\n", "f.yaml:2: key 'x.?': unknown key"},
        {"x:\n  \"\": a\n", "f.yaml:2: key 'x.\"\"': unknown key"},
        {"x:\n  \"na\\nme\": a\n", "f.yaml:2: key 'x.na?me': unknown key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        static const modq_yaml_key top[] = {{"x", true}};
        yaml_node_t *x = NULL;
        load(&w, bad[i].text, MODQ_YAML_OK, err, sizeof err);
        assert_int_equal(modq_yaml_map(&w, modq_yaml_root(&w), "", top, 1, &x), MODQ_YAML_OK);
        assert_int_equal(modq_yaml_map(&w, x, "x", keys, 2, v), MODQ_YAML_ERR_INVALID);
        assert_string_equal(err, bad[i].msg);
        modq_yaml_free(&w);
    }

    load(&w, "name: a\n", MODQ_YAML_OK, err, sizeof err);
    assert_int_equal(modq_yaml_map(&w, modq_yaml_root(&w), "", keys, 2, v), MODQ_YAML_OK);
    assert_string_equal(modq_yaml_scalar(v[0]), "a");
    assert_null(v[1]);
    modq_yaml_free(&w);
    load(&w, "- a\n", MODQ_YAML_OK, err, sizeof err);
    assert_int_equal(modq_yaml_map(&w, modq_yaml_root(&w), "", keys, 2, v), MODQ_YAML_ERR_INVALID);
    assert_string_equal(err, "f.yaml:1: key '(top level)': must be a mapping");
    modq_yaml_free(&w);
}

/* Visits record "key=value;" in the file's order; the key "stop" ends the walk. */
static modq_yaml_result record(modq_yaml *w, const modq_yaml_pair *pair, void *ctx)
{
    char *seen = ctx;
    if (strcmp(pair->key, "stop") == 0) {
        return modq_yaml_fail(w, pair->key_node, pair->path, "stopped");
    }
    size_t n = strlen(seen);
    snprintf(seen + n, 128 - n, "%s=%s;", pair->path, modq_yaml_scalar(pair->value));
    return MODQ_YAML_OK;
}

static void test_pairs_come_in_order_once_each(void **state)
{
    (void)state;
    modq_yaml w;
    char err[256], seen[128] = "";

    load(&w, "b: 1\na: 2\nc: 3\n", MODQ_YAML_OK, err, sizeof err);
    assert_int_equal(modq_yaml_pairs(&w, modq_yaml_root(&w), "m", record, seen), MODQ_YAML_OK);
    assert_string_equal(seen, "m.b=1;m.a=2;m.c=3;");
    modq_yaml_free(&w);

    seen[0] = '\0';
    load(&w, "b: 1\na: 2\nb: 3\n", MODQ_YAML_OK, err, sizeof err);
    assert_int_equal(modq_yaml_pairs(&w, modq_yaml_root(&w), "", record, seen),
                     MODQ_YAML_ERR_INVALID);
    assert_string_equal(err, "f.yaml:3: key 'b': given twice");
    assert_string_equal(seen, "b=1;a=2;");
    modq_yaml_free(&w);

    seen[0] = '\0';
    load(&w, "a: 1\nstop: 2\nc: 3\n", MODQ_YAML_OK, err, sizeof err);
    assert_int_equal(modq_yaml_pairs(&w, modq_yaml_root(&w), "", record, seen),
                     MODQ_YAML_ERR_INVALID);
    assert_string_equal(err, "f.yaml:2: key 'stop': stopped");
    assert_string_equal(seen, "a=1;");
    modq_yaml_free(&w);

    load(&w, "? [a]\n: 1\n", MODQ_YAML_OK, err, sizeof err);
    assert_int_equal(modq_yaml_pairs(&w, modq_yaml_root(&w), "", record, seen),
                     MODQ_YAML_ERR_INVALID);
    assert_string_equal(err, "f.yaml:1: key '?': unknown key");
    modq_yaml_free(&w);
}

/* The scalar of "v: TEXT" through one typed reader; returns its result, err its message. */
typedef enum kind { INT, NUMBER, BOOL } kind;

static modq_yaml_result read_one(const char *text, kind k, char *err, size_t size, double *got)
{
    modq_yaml w;
    char doc[128];
    int i = 0;
    bool b = false;
    modq_yaml_result r = MODQ_YAML_OK;
    yaml_node_t *v = NULL;
    static const modq_yaml_key one[] = {{"v", true}};
    snprintf(doc, sizeof doc, "v: %s\n", text);
    load(&w, doc, MODQ_YAML_OK, err, size);
    assert_int_equal(modq_yaml_map(&w, modq_yaml_root(&w), "", one, 1, &v), MODQ_YAML_OK);
    switch (k) {
    case INT:
        r = modq_yaml_int(&w, v, "v", -5, 300, &i);
        *got = i;
        break;
    case NUMBER:
        r = modq_yaml_number(&w, v, "v", 0.5, 2.0, got);
        break;
    case BOOL:
        r = modq_yaml_bool(&w, v, "v", &b);
        *got = b;
        break;
    }
    modq_yaml_free(&w);
    return r;
}

static void test_typed_scalars_at_and_past_their_edges(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        kind k;
        double want; /* when the text is accepted */
        const char *msg;
    } cases[] = {
        {"-5", INT, -5, NULL},
        {"300", INT, 300, NULL},
        {"0", INT, 0, NULL},
        {"-6", INT, 0, "must be an integer between -5 and 300"},
        {"301", INT, 0, "must be an integer between -5 and 300"},
        {"010", INT, 0, "must be an integer between -5 and 300"},
        {"+1", INT, 0, "must be an integer between -5 and 300"},
        {"1.0", INT, 0, "must be an integer between -5 and 300"},
        {"\"\"", INT, 0, "must be an integer between -5 and 300"},
        {"[1]", INT, 0, "must be an integer between -5 and 300"},
        {"99999999999999999999", INT, 0, "must be an integer between -5 and 300"},
        {"0.5", NUMBER, 0.5, NULL},
        {"2", NUMBER, 2.0, NULL},
        {"1e0", NUMBER, 1.0, NULL},
        {"2.01", NUMBER, 0, "must be between 0.5 and 2, not 2.01"},
        {"nan", NUMBER, 0, "must be a number, not 'nan'"},
        {"\"1\\n2\"", NUMBER, 0, "must be a number, not '1?2'"},
        {"\"\"", NUMBER, 0, "must be a number"},
        {"true", BOOL, 1, NULL},
        {"false", BOOL, 0, NULL},
        {"True", BOOL, 0, "must be true or false"},
        {"1", BOOL, 0, "must be true or false"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256], want[128];
        double got = -1;
        modq_yaml_result r = read_one(cases[i].text, cases[i].k, err, sizeof err, &got);
        print_message("case %zu: %s -> %s\n", i, cases[i].text, err);
        if (cases[i].msg == NULL) {
            assert_int_equal(r, MODQ_YAML_OK);
            assert_true(got == cases[i].want);
        } else {
            snprintf(want, sizeof want, "f.yaml:1: key 'v': %s", cases[i].msg);
            assert_int_equal(r, MODQ_YAML_ERR_INVALID);
            assert_string_equal(err, want);
        }
    }
}

static void test_helpers_for_messages(void **state)
{
    (void)state;
    char buf[128], shown[100], long_text[101];
    modq_yaml w;
    assert_string_equal(modq_yaml_path(buf, sizeof buf, "", "a"), "a");
    assert_string_equal(modq_yaml_path(buf, sizeof buf, "a[0]", "b"), "a[0].b");
    assert_string_equal(modq_yaml_printable("a\tb\x7f", shown, sizeof shown), "a?b?");
    memset(long_text, 'x', 100);
    long_text[100] = '\0';
    assert_int_equal(strlen(modq_yaml_printable(long_text, shown, sizeof shown)), 64);
    assert_int_equal(strlen(modq_yaml_printable(long_text, shown, 8)), 7);

    load(&w, "a:\n  - 1\n  - [2]\n", MODQ_YAML_OK, buf, sizeof buf);
    yaml_node_t *root = modq_yaml_root(&w);
    yaml_node_t *a = yaml_document_get_node(&w.doc, root->data.mapping.pairs.start[0].value);
    assert_int_equal(modq_yaml_count(a), 2);
    assert_int_equal(modq_yaml_count(root), 0);
    assert_string_equal(modq_yaml_scalar(modq_yaml_item(&w, a, 0)), "1");
    assert_null(modq_yaml_scalar(modq_yaml_item(&w, a, 1)));
    assert_string_equal(modq_yaml_where(&w, modq_yaml_item(&w, a, 1), buf, sizeof buf), "f.yaml:3");
    assert_string_equal(modq_yaml_where(&w, NULL, buf, sizeof buf), "f.yaml:1");
    modq_yaml_free(&w);

    load(&w, "a:\nb: ''\n", MODQ_YAML_OK, buf, sizeof buf);
    root = modq_yaml_root(&w);
    assert_true(
        modq_yaml_blank(yaml_document_get_node(&w.doc, root->data.mapping.pairs.start[0].value)));
    assert_false(
        modq_yaml_blank(yaml_document_get_node(&w.doc, root->data.mapping.pairs.start[1].value)));
    modq_yaml_free(&w);

    for (int r = 0; r < MODQ_YAML_RESULT_COUNT; r++) {
        assert_string_not_equal(modq_yaml_strerror((modq_yaml_result)r), "unknown result");
    }
    assert_string_equal(modq_yaml_strerror(MODQ_YAML_RESULT_COUNT), "unknown result");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_file_is_exactly_one_document),
        cmocka_unit_test(test_a_fixed_mapping_names_unknown_repeated_and_missing_keys),
        cmocka_unit_test(test_pairs_come_in_order_once_each),
        cmocka_unit_test(test_typed_scalars_at_and_past_their_edges),
        cmocka_unit_test(test_helpers_for_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
