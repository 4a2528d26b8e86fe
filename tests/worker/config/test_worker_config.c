/*
 * test_worker_config.c: tests of worker/config/config*.c: defaults; the shipped example file; every
 * key at and just past its bounds, from the file and from the environment, with the exact
 * FILE:LINE / env message; unknown and duplicate keys; one YAML document only; list and kafka
 * environment forms; secret files (read, trimmed, redacted, missing, too large); the size cap of
 * the config file.
 */
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
#include <sys/stat.h>
#include <unistd.h>

#include "config_testutil.h"

/* The default policy and static paths resolve against the current directory (config.c, note 1):
 * the tests run in a fresh empty directory, with or without a source tree's files, so that one
 * answer is right whatever directory ctest or a person starts them in. */
typedef struct cwd_sandbox {
    char old[1024];
    char dir[64];
} cwd_sandbox;

static void cwd_enter(cwd_sandbox *s)
{
    assert_non_null(getcwd(s->old, sizeof s->old));
    snprintf(s->dir, sizeof s->dir, "/tmp/modq-config-cwd-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    assert_int_equal(chdir(s->dir), 0);
}

/* Makes policy/default.yaml and worker/web under the current directory, as in a source tree. */
static void cwd_add_source_tree(void)
{
    FILE *f;
    assert_int_equal(mkdir("policy", 0700), 0);
    assert_non_null(f = fopen("policy/default.yaml", "w"));
    assert_int_equal(fclose(f), 0);
    assert_int_equal(mkdir("worker", 0700), 0);
    assert_int_equal(mkdir("worker/web", 0700), 0);
}

static void cwd_leave(cwd_sandbox *s)
{
    /* Whatever cwd_add_source_tree made; absent entries are fine. */
    (void)unlink("policy/default.yaml");
    (void)rmdir("policy");
    (void)rmdir("worker/web");
    (void)rmdir("worker");
    assert_int_equal(chdir(s->old), 0);
    assert_int_equal(rmdir(s->dir), 0);
}

static void test_defaults_without_file_or_environment(void **state)
{
    (void)state;
    char err[256] = "x";
    modq_config *c = NULL;
    cwd_sandbox cwd;
    cwd_enter(&cwd);
    assert_int_equal(modq_config_load(NULL, NULL, &c, err, sizeof err), MODQ_CONFIG_OK);
    cwd_leave(&cwd);
    assert_string_equal(err, "");
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) == 0 && strlen(host) < MODQ_CONFIG_NAME_MAX) {
        assert_string_equal(modq_config_worker_id(c), host);
    }
    /* No source tree in the current directory: the installed files. */
    assert_string_equal(modq_config_worker_policy(c), "/usr/share/modq/default.yaml");
    assert_string_equal(modq_config_http_static_dir(c), "/usr/share/modq/web");
    assert_int_equal(modq_config_worker_grace_seconds(c), 30);
    assert_int_equal(modq_config_worker_prepare_threads(c), 2);
    assert_int_equal(modq_config_worker_window_per_queue(c), 64);
    assert_false(modq_config_worker_demo(c));
    assert_int_equal(modq_config_worker_role(c), MODQ_CONFIG_ROLE_ALL);
    assert_string_equal(modq_config_role_name(modq_config_worker_role(c)), "all");
    assert_string_equal(modq_config_consumer_desk_group_id(c), "modq-desk");
    assert_string_equal(modq_config_topics_review(c), "modq.review");
    assert_int_equal(modq_config_kafka_count(c), 1);
    assert_string_equal(modq_config_kafka_name(c, 0), "bootstrap.servers");
    assert_string_equal(modq_config_kafka_value(c, 0), "localhost:9092");
    assert_null(modq_config_kafka_name(c, 1));
    assert_string_equal(modq_config_consumer_group_id(c), "modq-worker");
    assert_string_equal(modq_config_consumer_group_instance_id(c), "");
    assert_int_equal(modq_config_consumer_metadata_cap_bytes(c), 3000);
    assert_string_equal(modq_config_topics_decisions(c), "modq.decisions");
    assert_string_equal(modq_config_topics_wellbeing(c), "modq.wellbeing");
    assert_string_equal(modq_config_topics_audit(c), "modq.audit");
    assert_string_equal(modq_config_topics_dead_letter(c), "modq.dead-letter");
    assert_string_equal(modq_config_topics_ledgers(c), "modq.ledgers");
    assert_int_equal(modq_config_decided_retention_hours(c), 168);
    assert_int_equal(modq_config_decided_max_entries(c), 1000000);
    assert_int_equal(modq_config_decided_auto_verdicts(c),
                     MODQ_CONFIG_VERDICT_BIT(MODQ_CONFIG_VERDICT_REMOVE) |
                         MODQ_CONFIG_VERDICT_BIT(MODQ_CONFIG_VERDICT_REMOVE_AND_REPORT));
    assert_int_equal(modq_config_media_max_input_bytes(c), 67108864);
    assert_int_equal(modq_config_media_max_pixels(c), 100000000);
    assert_int_equal(modq_config_media_max_side(c), 20000);
    assert_int_equal(modq_config_media_display_size(c), 1024);
    assert_int_equal(modq_config_media_format(c), MODQ_FORMAT_WEBP);
    assert_int_equal(modq_config_media_quality(c), 75);
    assert_true(modq_config_sandbox_enabled(c));
    /* The helper beside the running program, else the installed one: test programs live in
     * BUILD/tests, the helper in BUILD, so it is the installed path here. */
    assert_string_equal(modq_config_sandbox_helper(c), "/usr/libexec/modq/modq-media-sandbox");
    assert_int_equal(modq_config_sandbox_memory_bytes(c), INT64_C(1024) << 20);
    assert_int_equal(modq_config_sandbox_timeout_ms(c), 45000);
    assert_int_equal(modq_config_sandbox_cpu_seconds(c), 20);
    assert_int_equal(modq_config_sandbox_max_items(c), 500);
    assert_string_equal(modq_config_fetch_file_root(c), "");
    assert_int_equal(modq_config_fetch_allowed_host_count(c), 0);
    assert_int_equal(modq_config_fetch_max_bytes(c), 67108864);
    assert_int_equal(modq_config_fetch_timeout_ms(c), 10000);
    assert_int_equal(modq_config_bank_count(c), 0);
    assert_string_equal(modq_config_http_listen(c), "127.0.0.1:8080");
    assert_string_equal(modq_config_http_host(c), "127.0.0.1");
    assert_int_equal(modq_config_http_port(c), 8080);
    /* The probes' listener: http.listen's host, any free port. */
    assert_string_equal(modq_config_http_probe_listen(c), "127.0.0.1:0");
    assert_string_equal(modq_config_http_probe_host(c), "127.0.0.1");
    assert_int_equal(modq_config_http_probe_port(c), 0);
    assert_int_equal(modq_config_http_max_connections(c), 1024);
    assert_int_equal(modq_config_http_per_ip_connections(c), 256);
    assert_int_equal(modq_config_http_request_timeout_seconds(c), 20);
    assert_int_equal(modq_config_http_lease_seconds(c), 600);
    assert_true(modq_config_http_qa_sample_rate(c) == 0.05);
    assert_string_equal(modq_config_jwt_hs256_secret_file(c), "");
    assert_null(modq_config_jwt_hs256_secret(c, NULL));
    assert_int_equal(modq_config_jwt_algorithms(c), MODQ_CONFIG_JWT_HS256);
    assert_false(modq_config_jwt_configured(c));
    assert_int_equal(modq_config_log_level(c), MODQ_LOG_INFO);
    modq_config_free(c);
}

static void test_default_paths_prefer_a_source_tree_in_the_current_directory(void **state)
{
    (void)state;
    char err[256] = "";
    modq_config *c = NULL;
    cwd_sandbox cwd;
    cwd_enter(&cwd);
    cwd_add_source_tree();
    assert_int_equal(modq_config_load(NULL, NULL, &c, err, sizeof err), MODQ_CONFIG_OK);
    cwd_leave(&cwd);
    assert_string_equal(modq_config_worker_policy(c), "policy/default.yaml");
    assert_string_equal(modq_config_http_static_dir(c), "worker/web");
    modq_config_free(c);
    /* A path set in the file is kept as written, source tree or not. */
    cwd_enter(&cwd);
    cwd_add_source_tree();
    assert_int_equal(load_text("worker:\n  policy: /etc/modq/p.yaml\n", NULL, &c, err, sizeof err),
                     MODQ_CONFIG_OK);
    cwd_leave(&cwd);
    assert_string_equal(modq_config_worker_policy(c), "/etc/modq/p.yaml");
    modq_config_free(c);
}

static void test_empty_file_gives_defaults(void **state)
{
    (void)state;
    char err[256];
    modq_config *c = NULL;
    assert_int_equal(load_text("# nothing but a comment\n", NULL, &c, err, sizeof err),
                     MODQ_CONFIG_OK);
    assert_int_equal(modq_config_media_quality(c), 75);
    modq_config_free(c);
}

/* ---- the example file -------------------------------------------------------------------- */

static void test_example_file_loads_and_documents_every_key(void **state)
{
    (void)state;
    const char *src = getenv("MODQ_SOURCE_DIR");
    char path[1024], pw[256], hs[256], err[512] = "";
    char env_pw[300], env_hs[300];
    modq_config *c = NULL;
    if (src == NULL) {
        skip();
    }
    snprintf(path, sizeof path, "%s/worker/modq-worker.example.yaml", src);
    /* The example names mounted secrets; the environment points them at test files. */
    temp_file(pw, sizeof pw, "kafka-pw\n", 9);
    temp_file(hs, sizeof hs, "jwt-secret-bytes\n", 17);
    snprintf(env_pw, sizeof env_pw, "MODQ_KAFKA_SASL_PASSWORD_FILE=%s", pw);
    snprintf(env_hs, sizeof env_hs, "MODQ_JWT_HS256_SECRET_FILE=%s", hs);
    const char *env[] = {env_pw, env_hs, NULL};
    modq_config_result r = modq_config_load(path, env, &c, err, sizeof err);
    if (r != MODQ_CONFIG_OK) {
        print_error("%s\n", err);
    }
    assert_int_equal(r, MODQ_CONFIG_OK);
    assert_string_equal(modq_config_worker_id(c), "modq-worker-0");
    assert_string_equal(modq_config_kafka_get(c, "security.protocol"), "SASL_SSL");
    assert_string_equal(modq_config_kafka_get(c, "sasl.password"), "kafka-pw");
    assert_string_equal(modq_config_kafka_get(c, "socket.keepalive.enable"), "true");
    assert_string_equal(modq_config_kafka_get(c, "session.timeout.ms"), "45000");
    assert_int_equal(modq_config_bank_count(c), 1);
    assert_string_equal(modq_config_bank_name(c, 0), "known-spam");
    assert_int_equal(modq_config_bank_verdict(c, 0), MODQ_CONFIG_VERDICT_REMOVE);
    assert_int_equal(modq_config_bank_label_count(c, 0), 1);
    assert_string_equal(modq_config_bank_label(c, 0, 0), "spam");
    assert_int_equal(modq_config_bank_pdq_threshold(c, 0), 31);
    size_t len = 0;
    const unsigned char *secret = modq_config_jwt_hs256_secret(c, &len);
    assert_int_equal(len, 16);
    assert_memory_equal(secret, "jwt-secret-bytes", 16);
    assert_string_equal(modq_config_jwt_issuer(c), "https://login.example.com/");

    /* Every key of the rendering appears in the example, under its section. */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *text = malloc(65536);
    assert_non_null(text);
    size_t n = fread(text, 1, 65535, f);
    fclose(f);
    text[n] = '\0';
    json_t *root = NULL, *sec = NULL, *v = NULL;
    const char *sname = NULL, *kname = NULL;
    assert_int_equal(modq_config_to_json(c, &root), MODQ_CONFIG_OK);
    json_object_foreach(root, sname, sec)
    {
        char want[128];
        snprintf(want, sizeof want, "\n%s:", sname);
        if (strstr(text, want) == NULL) {
            print_error("example lacks section %s\n", sname);
        }
        assert_non_null(strstr(text, want));
        if (!json_is_object(sec) || strcmp(sname, "kafka") == 0) {
            continue;
        }
        const char *at = strstr(text, want);
        json_object_foreach(sec, kname, v)
        {
            snprintf(want, sizeof want, "\n  %s:", kname);
            if (strstr(at, want) == NULL) {
                print_error("example lacks %s.%s\n", sname, kname);
            }
            assert_non_null(strstr(at, want));
        }
    }
    json_decref(root);
    free(text);
    modq_config_free(c);
    unlink(pw);
    unlink(hs);
}

/* ---- every key at its bounds ------------------------------------------------------------- */

/* "media.max_pixels" -> "MODQ_MEDIA_MAX_PIXELS" */
static void env_name(const char *key, char *buf, size_t size)
{
    size_t n = snprintf(buf, size, "MODQ_");
    for (const char *p = key; *p != '\0' && n + 1 < size; p++) {
        buf[n++] = *p == '.' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    }
    buf[n] = '\0';
}

/* The YAML value as its environment form: a flow list loses its brackets and quotes, a quoted
 * scalar its quotes. */
static void env_value(const char *yaml, char *buf, size_t size)
{
    size_t n = 0, len = strlen(yaml);
    if (yaml[0] == '[') {
        for (const char *p = yaml + 1; p < yaml + len - 1 && n + 1 < size; p++) {
            if (*p != '"') {
                buf[n++] = *p;
            }
        }
        buf[n] = '\0';
    } else if (yaml[0] == '"') {
        snprintf(buf, size, "%.*s", (int)(len - 2), yaml + 1);
    } else {
        snprintf(buf, size, "%s", yaml);
    }
}

/* One case of tests/data/worker/config_bounds.tsv. */
typedef struct bound_case {
    char key[64];
    char value[320]; /* as written in YAML (and, for scalars, in the environment) */
    char want[256];  /* "": accepted; else the message after "key 'K': " */
    char json[320];  /* when accepted: the value in the JSON rendering */
} bound_case;

/* Reads the next case; false at the end of the file. */
static bool next_case(FILE *f, bound_case *t)
{
    char line[1024];
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0') {
            continue;
        }
        char *save = NULL;
        const char *col[4] = {NULL, NULL, NULL, ""};
        col[0] = strtok_r(line, "\t", &save);
        for (int i = 1; i < 4 && col[i - 1] != NULL; i++) {
            const char *c = strtok_r(NULL, "\t", &save);
            col[i] = c != NULL ? c : (i == 3 ? "" : NULL);
        }
        assert_non_null(col[2]);
        snprintf(t->key, sizeof t->key, "%s", col[0]);
        snprintf(t->value, sizeof t->value, "%s", col[1]);
        snprintf(t->want, sizeof t->want, "%s", strcmp(col[2], "OK") == 0 ? "" : col[2]);
        snprintf(t->json, sizeof t->json, "%s", col[3]);
        return true;
    }
    return false;
}

static void check_case(const bound_case *t, size_t i)
{
    char yaml[512], want[1024], err[512] = "", var[128], val[320], envvar[512];
    const char *dot = strchr(t->key, '.');
    modq_config *c = NULL;
    snprintf(yaml, sizeof yaml, "# case %zu\n%.*s:\n  %s: %s\n", i, (int)(dot - t->key), t->key,
             dot + 1, t->value);
    modq_config_result r = load_text(yaml, NULL, &c, err, sizeof err);
    if (t->want[0] == '\0') {
        if (r != MODQ_CONFIG_OK) {
            print_error("case %zu (%s = %s): %s\n", i, t->key, t->value, err);
        }
        assert_int_equal(r, MODQ_CONFIG_OK);
        assert_json(c, t->key, t->json);
        modq_config_free(c);
    } else {
        snprintf(want, sizeof want, "t.yaml:3: key '%s': %s", t->key, t->want);
        expect_error(yaml, NULL, MODQ_CONFIG_ERR_INVALID, want);
    }

    /* The same value from the environment, over an empty file. */
    if (strcmp(t->value, "remove") == 0 || strcmp(t->value, "[]") == 0 ||
        strstr(t->value, "\"\"") != NULL || strstr(t->value, "\\u") != NULL) {
        return; /* no distinct environment form */
    }
    env_name(t->key, var, sizeof var);
    env_value(t->value, val, sizeof val);
    snprintf(envvar, sizeof envvar, "%s=%s", var, val);
    const char *env[] = {envvar, NULL};
    r = load_text("", env, &c, err, sizeof err);
    if (t->want[0] == '\0') {
        if (r != MODQ_CONFIG_OK) {
            print_error("env case %zu (%s): %s\n", i, envvar, err);
        }
        assert_int_equal(r, MODQ_CONFIG_OK);
        assert_json(c, t->key, t->json);
        modq_config_free(c);
    } else {
        snprintf(want, sizeof want, "env %s: key '%s': %s", var, t->key, t->want);
        expect_error("", env, MODQ_CONFIG_ERR_INVALID, want);
    }
}

static void test_every_key_at_its_bounds_from_file_and_environment(void **state)
{
    (void)state;
    const char *src = getenv("MODQ_SOURCE_DIR");
    char path[1024], covered[4096] = ",";
    assert_non_null(src); /* set by ctest */
    snprintf(path, sizeof path, "%s/tests/data/worker/config_bounds.tsv", src);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    bound_case t;
    size_t n = 0;
    while (next_case(f, &t)) {
        check_case(&t, n++);
        size_t o = strlen(covered);
        snprintf(covered + o, sizeof covered - o, "%s,", t.key);
    }
    fclose(f);
    assert_true(n >= 100);

    /* Every scalar and list key has cases. */
    modq_config *c = NULL;
    json_t *root = NULL, *sec = NULL, *v = NULL;
    const char *sname = NULL, *kname = NULL;
    assert_int_equal(load_text("", NULL, &c, path, sizeof path), MODQ_CONFIG_OK);
    assert_int_equal(modq_config_to_json(c, &root), MODQ_CONFIG_OK);
    json_object_foreach(root, sname, sec)
    {
        if (!json_is_object(sec) || strncmp(sname, "kafka", 5) == 0) {
            continue;
        }
        json_object_foreach(sec, kname, v)
        {
            char want[128];
            snprintf(want, sizeof want, ",%s.%s,", sname, kname);
            if (strstr(covered, want) == NULL) {
                print_error("no bounds case for %s.%s\n", sname, kname);
            }
            assert_non_null(strstr(covered, want));
        }
    }
    json_decref(root);
    modq_config_free(c);
}

static void test_banks_are_validated_with_their_lines(void **state)
{
    (void)state;
    const char *ok = "banks:\n"
                     "  - name: a\n"
                     "    file: /b/a\n"
                     "    verdict: remove_and_report\n"
                     "    labels: [x, y-z]\n"
                     "    pdq_threshold: 0\n"
                     "  - {name: b, file: /b/b, verdict: restrict, pdq_threshold: 31}\n";
    char err[512];
    modq_config *c = NULL;
    assert_int_equal(load_text(ok, NULL, &c, err, sizeof err), MODQ_CONFIG_OK);
    assert_int_equal(modq_config_bank_count(c), 2);
    assert_int_equal(modq_config_bank_verdict(c, 0), MODQ_CONFIG_VERDICT_REMOVE_AND_REPORT);
    assert_int_equal(modq_config_bank_pdq_threshold(c, 0), 0);
    assert_string_equal(modq_config_bank_label(c, 0, 1), "y-z");
    assert_null(modq_config_bank_label(c, 0, 2));
    assert_int_equal(modq_config_bank_pdq_threshold(c, 1), 31);
    assert_int_equal(modq_config_bank_label_count(c, 1), 0);
    assert_null(modq_config_bank_name(c, 2));
    modq_config_free(c);

    expect_error("banks:\n  - {name: a, file: /f, verdict: remove, pdq_threshold: 32}\n", NULL,
                 MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:2: key 'banks[0].pdq_threshold': must be an integer between 0 and 31");
    expect_error("banks:\n  - {name: a, file: /f, verdict: remove, pdq_threshold: -1}\n", NULL,
                 MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:2: key 'banks[0].pdq_threshold': must be an integer between 0 and 31");
    expect_error("banks:\n  - name: a\n    verdict: remove\n", NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:2: key 'banks[0].file': is required");
    expect_error("banks:\n  - {name: a, file: /f, verdict: ban}\n", NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:2: key 'banks[0].verdict': must be one of: no_violation, remove, "
                 "restrict, remove_and_report");
    expect_error("banks:\n  - {name: a, file: /f, verdict: remove}\n"
                 "  - {name: a, file: /g, verdict: remove}\n",
                 NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:3: key 'banks[1].name': 'a' is already banks[0]");
    expect_error("banks:\n  - {name: a, file: /f, verdict: remove, colour: red}\n", NULL,
                 MODQ_CONFIG_ERR_INVALID, "t.yaml:2: key 'banks[0].colour': unknown key");
    expect_error("banks:\n  - {name: A, file: /f, verdict: remove}\n", NULL,
                 MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:2: key 'banks[0].name': must be 1..63 characters of [a-z0-9_-]");
    expect_error("banks:\n  - {name: a, file: /f, verdict: remove,\n"
                 "     labels: [a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q]}\n",
                 NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:3: key 'banks[0].labels': must be a list of at most 16 labels");
    const char *env[] = {"MODQ_BANKS=x", NULL};
    expect_error("", env, MODQ_CONFIG_ERR_INVALID,
                 "env MODQ_BANKS: key 'banks': banks can only be set in the config file");
}

/* ---- unknown keys, duplicates, syntax ----------------------------------------------------- */

static void test_unknown_and_duplicate_keys_name_their_line(void **state)
{
    (void)state;
    expect_error("worker:\n  id: a\n  grace_secs: 3\n", NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:3: key 'worker.grace_secs': unknown key");
    expect_error("media:\n  quality: 5\nmedai:\n  quality: 5\n", NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:3: key 'medai': unknown key");
    expect_error("media:\n  quality: 5\n  quality: 6\n", NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:3: key 'media.quality': given twice");
    expect_error("media:\n  quality: 5\nmedia:\n  max_side: 6\n", NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:3: key 'media': given twice");
    expect_error("media: 5\n", NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:1: key 'media': must be a mapping");
    expect_error("media:\n  quality: [5]\n", NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:2: key 'media.quality': must be a single value");
    expect_error("- a\n", NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:1: key '(top level)': must be a mapping");

    char err[256];
    modq_config *c = NULL;
    assert_int_equal(load_text("media:\n  quality: [5\n", NULL, &c, err, sizeof err),
                     MODQ_CONFIG_ERR_SYNTAX);
    assert_null(c);
    assert_true(strncmp(err, "t.yaml:3: ", 10) == 0);
}

/* A configuration is one YAML document, as a policy is: a second one, even an empty or a broken
 * one, is refused rather than ignored, since whoever wrote it meant it to count. */
static void test_a_second_document_is_refused_at_its_line(void **state)
{
    (void)state;
    expect_error("media:\n  quality: 5\n---\nmedia:\n  quality: 6\n", NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:4: key '(top level)': a second YAML document; the file must hold "
                 "exactly one");
    expect_error("media:\n  quality: 5\n--- {}\n", NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:3: key '(top level)': a second YAML document; the file must hold "
                 "exactly one");

    char err[256];
    modq_config *c = NULL;
    assert_int_equal(load_text("media:\n  quality: 5\n---\nmedia: [6\n", NULL, &c, err, sizeof err),
                     MODQ_CONFIG_ERR_SYNTAX);
    assert_null(c);
    assert_true(strncmp(err, "t.yaml:5: ", 10) == 0);

    /* One document with its explicit start and end marks is one document. */
    assert_int_equal(
        load_text("---\nmedia:\n  quality: 7\n...\n# the end\n", NULL, &c, err, sizeof err),
        MODQ_CONFIG_OK);
    assert_int_equal(modq_config_media_quality(c), 7);
    modq_config_free(c);
}

/* ---- the environment --------------------------------------------------------------------- */

static void test_environment_overrides_scalars_and_lists(void **state)
{
    (void)state;
    const char *yaml = "media:\n  quality: 50\nfetch:\n  allowed_hosts: [a.example]\n"
                       "decided:\n  auto_verdicts: [remove]\n";
    const char *env[] = {"PATH=/bin",
                         "MODQ_SOURCE_DIR=/not/ours", /* not a section of ours: ignored */
                         "MODQ_MEDIA_QUALITY=90",
                         "MODQ_FETCH_ALLOWED_HOSTS= b.example , C.example",
                         "MODQ_DECIDED_AUTO_VERDICTS=",
                         "MODQ_WORKER_DEMO=true",
                         "MODQ_HTTP_LISTEN=[::]:9090",
                         NULL};
    char err[256] = "";
    modq_config *c = NULL;
    modq_config_result r = load_text(yaml, env, &c, err, sizeof err);
    if (r != MODQ_CONFIG_OK) {
        print_error("%s\n", err);
    }
    assert_int_equal(r, MODQ_CONFIG_OK);
    assert_int_equal(modq_config_media_quality(c), 90);
    assert_int_equal(modq_config_fetch_allowed_host_count(c), 2);
    assert_string_equal(modq_config_fetch_allowed_host(c, 0), "b.example");
    assert_string_equal(modq_config_fetch_allowed_host(c, 1), "c.example");
    assert_null(modq_config_fetch_allowed_host(c, 2));
    assert_int_equal(modq_config_decided_auto_verdicts(c), 0);
    assert_true(modq_config_worker_demo(c));
    assert_string_equal(modq_config_http_host(c), "::");
    assert_int_equal(modq_config_http_port(c), 9090);
    /* The probes follow http.listen's host when not given. */
    assert_string_equal(modq_config_http_probe_listen(c), "[::]:0");
    assert_string_equal(modq_config_http_probe_host(c), "::");
    modq_config_free(c);

    const char *typo[] = {"MODQ_MEDIA_MAX_PIXEL=5", NULL};
    expect_error("", typo, MODQ_CONFIG_ERR_INVALID,
                 "env MODQ_MEDIA_MAX_PIXEL: key 'media': no such key in this section");
    const char *empty_item[] = {"MODQ_JWT_ALGORITHMS=HS256,,RS256", NULL};
    expect_error("", empty_item, MODQ_CONFIG_ERR_INVALID,
                 "env MODQ_JWT_ALGORITHMS: key 'jwt.algorithms': [1] is empty");
    const char *trailing[] = {"MODQ_FETCH_ALLOWED_HOSTS=a,", NULL};
    expect_error("", trailing, MODQ_CONFIG_ERR_INVALID,
                 "env MODQ_FETCH_ALLOWED_HOSTS: key 'fetch.allowed_hosts': [1] is empty");
}

/* YAML is UTF-8 by definition (libyaml refuses anything else); the environment is bytes. A value
 * that was not UTF-8 was accepted, and then --check-config could not print the configuration. */
static void test_environment_values_must_be_utf8(void **state)
{
    (void)state;
    const char *kafka[] = {"MODQ_KAFKA_BOOTSTRAP_SERVERS=\xff", NULL};
    expect_error("", kafka, MODQ_CONFIG_ERR_INVALID,
                 "env MODQ_KAFKA_BOOTSTRAP_SERVERS: key 'kafka': not valid UTF-8");
    const char *path[] = {"MODQ_WORKER_POLICY=/etc/modq/\xc3(.yaml", NULL};
    expect_error("", path, MODQ_CONFIG_ERR_INVALID,
                 "env MODQ_WORKER_POLICY: key 'worker.policy': not valid UTF-8");
    const char *surrogate[] = {"MODQ_HTTP_STATIC_DIR=/srv/\xed\xa0\x80", NULL};
    expect_error("", surrogate, MODQ_CONFIG_ERR_INVALID,
                 "env MODQ_HTTP_STATIC_DIR: key 'http.static_dir': not valid UTF-8");

    /* UTF-8 beyond ASCII is fine where the key allows it, and what is accepted prints. */
    const char *fine[] = {"MODQ_KAFKA_CLIENT_ID=modq-r\xc3\xa9gie",
                          "MODQ_HTTP_STATIC_DIR=/srv/r\xc3\xa9gie", NULL};
    char err[256] = "";
    modq_config *c = NULL;
    json_t *js = NULL;
    if (load_text("", fine, &c, err, sizeof err) != MODQ_CONFIG_OK) {
        print_error("%s\n", err);
    }
    assert_non_null(c);
    assert_int_equal(modq_config_to_json(c, &js), MODQ_CONFIG_OK);
    assert_string_equal(modq_config_kafka_get(c, "client.id"), "modq-r\xc3\xa9gie");
    assert_string_equal(modq_config_http_static_dir(c), "/srv/r\xc3\xa9gie");
    json_decref(js);
    modq_config_free(c);
}

static void test_list_caps_hold_in_file_and_environment(void **state)
{
    (void)state;
    char yaml[8192], var[8192];
    size_t o = (size_t)snprintf(yaml, sizeof yaml, "fetch:\n  allowed_hosts: [");
    size_t v = (size_t)snprintf(var, sizeof var, "MODQ_FETCH_ALLOWED_HOSTS=");
    for (int i = 0; i < MODQ_CONFIG_MAX_HOSTS; i++) {
        o += (size_t)snprintf(yaml + o, sizeof yaml - o, "%sh%d", i ? ", " : "", i);
        v += (size_t)snprintf(var + v, sizeof var - v, "%sh%d", i ? "," : "", i);
    }
    char err[256];
    modq_config *c = NULL;
    snprintf(yaml + o, sizeof yaml - o, "]\n");
    assert_int_equal(load_text(yaml, NULL, &c, err, sizeof err), MODQ_CONFIG_OK);
    assert_int_equal(modq_config_fetch_allowed_host_count(c), MODQ_CONFIG_MAX_HOSTS);
    modq_config_free(c);
    const char *env[] = {var, NULL};
    assert_int_equal(load_text("", env, &c, err, sizeof err), MODQ_CONFIG_OK);
    assert_int_equal(modq_config_fetch_allowed_host_count(c), MODQ_CONFIG_MAX_HOSTS);
    modq_config_free(c);

    snprintf(yaml + o, sizeof yaml - o, ", one-more]\n");
    expect_error(yaml, NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:2: key 'fetch.allowed_hosts': at most 64 entries");
    snprintf(var + v, sizeof var - v, ",one-more");
    expect_error("", env, MODQ_CONFIG_ERR_INVALID,
                 "env MODQ_FETCH_ALLOWED_HOSTS: key 'fetch.allowed_hosts': at most 64 entries");
}

/* ---- kafka -------------------------------------------------------------------------------- */

static void test_config_file_size_is_capped(void **state)
{
    (void)state;
    char path[64], err[512], want[512];
    modq_config *c = NULL;
    char *buf = malloc(MODQ_CONFIG_MAX_FILE_BYTES + 1);
    assert_non_null(buf);
    /* A valid file of comments, exactly at the cap. */
    memset(buf, '#', MODQ_CONFIG_MAX_FILE_BYTES + 1);
    buf[MODQ_CONFIG_MAX_FILE_BYTES - 1] = '\n';
    temp_file(path, sizeof path, buf, MODQ_CONFIG_MAX_FILE_BYTES);
    assert_int_equal(modq_config_load(path, NULL, &c, err, sizeof err), MODQ_CONFIG_OK);
    modq_config_free(c);
    unlink(path);

    temp_file(path, sizeof path, buf, MODQ_CONFIG_MAX_FILE_BYTES + 1);
    assert_int_equal(modq_config_load(path, NULL, &c, err, sizeof err), MODQ_CONFIG_ERR_TOO_LARGE);
    assert_null(c);
    snprintf(want, sizeof want, "%s:1: larger than 1048576 bytes", path);
    assert_string_equal(err, want);
    unlink(path);
    assert_int_equal(modq_config_load_buffer(buf, MODQ_CONFIG_MAX_FILE_BYTES + 1, "big.yaml", NULL,
                                             &c, err, sizeof err),
                     MODQ_CONFIG_ERR_TOO_LARGE);
    assert_string_equal(err, "big.yaml:1: larger than 1048576 bytes");
    free(buf);

    assert_int_equal(modq_config_load("/nonexistent/modq.yaml", NULL, &c, err, sizeof err),
                     MODQ_CONFIG_ERR_IO);
    assert_string_equal(err, "/nonexistent/modq.yaml:1: cannot open: No such file or directory");
}

static void test_media_settings_apply_to_blur_options(void **state)
{
    (void)state;
    char err[256];
    modq_config *c = NULL;
    assert_int_equal(load_text("media:\n  max_pixels: 2147483648\n  format: jpeg\n  quality: 9\n"
                               "  deadline_ms: 2500\n  max_jpeg_scans: 20\n",
                               NULL, &c, err, sizeof err),
                     MODQ_CONFIG_OK);
    modq_media_opts *o = modq_opts_new();
    assert_non_null(o);
    assert_int_equal(modq_config_media_apply(c, o), MODQ_CONFIG_OK);
    assert_int_equal(modq_opts_get(o, MODQ_OPT_MAX_PIXELS), INT64_C(2147483648));
    assert_int_equal(modq_opts_get(o, MODQ_OPT_FORMAT), MODQ_FORMAT_JPEG);
    assert_int_equal(modq_opts_get(o, MODQ_OPT_QUALITY), 9);
    assert_int_equal(modq_opts_get(o, MODQ_OPT_MAX_SIDE), 20000);
    assert_int_equal(modq_opts_get(o, MODQ_OPT_DEADLINE_MS), 2500);
    assert_int_equal(modq_opts_get(o, MODQ_OPT_MAX_JPEG_SCANS), 20);
    modq_opts_free(o);
    modq_config_free(c);
}

/* The desk pods' group is not the ticket group: in one group the desks would take ticket
 * partitions and no single desk would own the review topic. */
static void test_desk_group_must_differ_from_the_ticket_group(void **state)
{
    (void)state;
    const char *env[] = {"MODQ_WORKER_ROLE=desk", NULL};
    modq_config *c = NULL;
    char err[512];

    expect_error("consumer:\n  group_id: g\n  desk_group_id: g\n", NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:3: key 'consumer.desk_group_id': must differ from consumer.group_id (g)");
    assert_int_equal(load_text("consumer:\n  desk_group_id: d\n", env, &c, err, sizeof err),
                     MODQ_CONFIG_OK);
    assert_int_equal(modq_config_worker_role(c), MODQ_CONFIG_ROLE_DESK);
    assert_string_equal(modq_config_role_name(MODQ_CONFIG_ROLE_DESK), "desk");
    assert_string_equal(modq_config_role_name(MODQ_CONFIG_ROLE_PREPARE), "prepare");
    assert_string_equal(modq_config_consumer_desk_group_id(c), "d");
    modq_config_free(c);
}

static void test_strerror_covers_every_result(void **state)
{
    (void)state;
    for (int r = 0; r < MODQ_CONFIG_RESULT_COUNT; r++) {
        assert_non_null(modq_config_strerror((modq_config_result)r));
        assert_string_not_equal(modq_config_strerror((modq_config_result)r), "unknown result");
    }
    assert_string_equal(modq_config_strerror(MODQ_CONFIG_RESULT_COUNT), "unknown result");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_without_file_or_environment),
        cmocka_unit_test(test_default_paths_prefer_a_source_tree_in_the_current_directory),
        cmocka_unit_test(test_empty_file_gives_defaults),
        cmocka_unit_test(test_example_file_loads_and_documents_every_key),
        cmocka_unit_test(test_every_key_at_its_bounds_from_file_and_environment),
        cmocka_unit_test(test_banks_are_validated_with_their_lines),
        cmocka_unit_test(test_unknown_and_duplicate_keys_name_their_line),
        cmocka_unit_test(test_a_second_document_is_refused_at_its_line),
        cmocka_unit_test(test_environment_overrides_scalars_and_lists),
        cmocka_unit_test(test_environment_values_must_be_utf8),
        cmocka_unit_test(test_list_caps_hold_in_file_and_environment),
        cmocka_unit_test(test_config_file_size_is_capped),
        cmocka_unit_test(test_media_settings_apply_to_blur_options),
        cmocka_unit_test(test_desk_group_must_differ_from_the_ticket_group),
        cmocka_unit_test(test_strerror_covers_every_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
