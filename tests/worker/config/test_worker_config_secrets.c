/*
 * test_worker_config_secrets.c: the security-sensitive side of worker/config/config*.c: librdkafka
 * properties passed through and checked, secret values redacted and never echoed, secret files
 * read, trimmed, capped and redacted, and JWT algorithms tied to their key material.
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
#include <unistd.h>

#include "config_testutil.h"

static void test_kafka_properties_pass_through_sorted(void **state)
{
    (void)state;
    const char *yaml = "kafka:\n"
                       "  socket.timeout.ms: 30000\n"
                       "  enable.ssl.certificate.verification: false\n"
                       "  client.id: \"modq w1\"\n"
                       "  sasl.mechanisms: SCRAM-SHA-256\n";
    const char *env[] = {"MODQ_KAFKA_SASL_MECHANISMS=PLAIN",
                         "MODQ_KAFKA_BOOTSTRAP_SERVERS=k1:9092,k2:9092",
                         "MODQ_KAFKA_SECURITY_PROTOCOL=sasl_ssl", NULL};
    char err[512] = "";
    modq_config *c = NULL;
    modq_config_result r = load_text(yaml, env, &c, err, sizeof err);
    if (r != MODQ_CONFIG_OK) {
        print_error("%s\n", err);
    }
    assert_int_equal(r, MODQ_CONFIG_OK);
    const char *want[][2] = {{"bootstrap.servers", "k1:9092,k2:9092"},
                             {"client.id", "modq w1"},
                             {"enable.ssl.certificate.verification", "false"},
                             {"sasl.mechanisms", "PLAIN"},
                             {"security.protocol", "sasl_ssl"},
                             {"socket.timeout.ms", "30000"}};
    assert_int_equal(modq_config_kafka_count(c), 6);
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(modq_config_kafka_name(c, i), want[i][0]);
        assert_string_equal(modq_config_kafka_value(c, i), want[i][1]);
        assert_false(modq_config_kafka_secret(c, i));
    }
    modq_config_free(c);

    /* librdkafka's two text properties with '_' keep it from the environment. */
    const char *underscored[] = {"MODQ_KAFKA_LOG_LEVEL=3", NULL};
    assert_int_equal(load_text("", underscored, &c, err, sizeof err), MODQ_CONFIG_OK);
    assert_string_equal(modq_config_kafka_get(c, "log_level"), "3");
    assert_null(modq_config_kafka_get(c, "log.level"));
    modq_config_free(c);

    expect_error("kafka:\n  no.such.property: 1\n", NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:2: key 'kafka.no.such.property': librdkafka: No such configuration "
                 "property: \"no.such.property\"");
    expect_error("kafka:\n  group.id: other\n", NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:2: key 'kafka.group.id': is set by the worker (use consumer.*)");
    expect_error("kafka:\n  sasl:\n    mechanisms: PLAIN\n", NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:3: key 'kafka.sasl': must be a string, number or boolean (write nested "
                 "names with dots)");
    expect_error("kafka:\n  client.id: a\n  client.id: b\n", NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:3: key 'kafka.client.id': given twice");
    const char *bad[] = {"MODQ_KAFKA_ENABLE_AUTO_COMMIT=true", NULL};
    expect_error("", bad, MODQ_CONFIG_ERR_INVALID,
                 "env MODQ_KAFKA_ENABLE_AUTO_COMMIT: key 'kafka.enable.auto.commit': is set by "
                 "the worker");
}

static void test_kafka_secret_values_are_redacted_and_checked_without_echo(void **state)
{
    (void)state;
    const char *yaml = "kafka:\n  sasl.password: hunter2-direct\n  ssl.key.pem: PEMDATA\n";
    char err[512] = "";
    modq_config *c = NULL;
    assert_int_equal(load_text(yaml, NULL, &c, err, sizeof err), MODQ_CONFIG_OK);
    assert_string_equal(modq_config_kafka_get(c, "sasl.password"), "hunter2-direct");
    char *all = dump_all(c);
    assert_null(strstr(all, "hunter2"));
    assert_null(strstr(all, "PEMDATA"));
    assert_non_null(strstr(all, "\"sasl.password\":\"[redacted]\""));
    assert_non_null(strstr(all, "\"ssl.key.pem\":\"[redacted]\""));
    free(all);
    modq_config_free(c);

    /* librdkafka refuses a value that came from a secret file: the message must not quote it. */
    char path[256], yaml2[512];
    temp_file(path, sizeof path, "bogus-protocol-value\n", 21);
    snprintf(yaml2, sizeof yaml2, "kafka_secret_files:\n  security.protocol: %s\n", path);
    assert_int_equal(load_text(yaml2, NULL, &c, err, sizeof err), MODQ_CONFIG_ERR_INVALID);
    assert_string_equal(err, "t.yaml:2: key 'kafka.security.protocol': librdkafka: invalid value "
                             "(not shown: secret)");
    assert_null(strstr(err, "bogus"));
    unlink(path);
}

/* ---- secret files -------------------------------------------------------------------------- */

static void test_secret_files_are_read_trimmed_and_redacted(void **state)
{
    (void)state;
    char pw[256], hs[256], yaml[1024], err[512] = "";
    modq_config *c = NULL;
    temp_file(pw, sizeof pw, "s3cr3t-pw\r\n\n", 12);
    temp_file(hs, sizeof hs, "hmac\0key\n", 9); /* binary is fine for the JWT secret */
    snprintf(yaml, sizeof yaml,
             "kafka_secret_files:\n  sasl.password: %s\njwt:\n  hs256_secret_file: %s\n", pw, hs);
    modq_config_result r = load_text(yaml, NULL, &c, err, sizeof err);
    if (r != MODQ_CONFIG_OK) {
        print_error("%s\n", err);
    }
    assert_int_equal(r, MODQ_CONFIG_OK);
    assert_string_equal(modq_config_kafka_get(c, "sasl.password"), "s3cr3t-pw");
    size_t i = 0;
    while (strcmp(modq_config_kafka_name(c, i), "sasl.password") != 0) {
        i++;
    }
    assert_true(modq_config_kafka_secret(c, i));
    size_t len = 0;
    const unsigned char *key = modq_config_jwt_hs256_secret(c, &len);
    assert_int_equal(len, 8);
    assert_memory_equal(key, "hmac\0key", 8);
    assert_true(modq_config_jwt_configured(c));

    char *all = dump_all(c);
    assert_null(strstr(all, "s3cr3t"));
    assert_null(strstr(all, "hmac"));
    assert_non_null(strstr(all, "\"sasl.password\":\"[redacted]\""));
    assert_non_null(strstr(all, pw)); /* the path is not a secret */
    free(all);
    modq_config_free(c);

    /* The environment's file form replaces the file's direct value. */
    char var[300];
    snprintf(var, sizeof var, "MODQ_KAFKA_SASL_PASSWORD_FILE=%s", pw);
    const char *env[] = {var, NULL};
    assert_int_equal(load_text("kafka:\n  sasl.password: inline\n", env, &c, err, sizeof err),
                     MODQ_CONFIG_OK);
    assert_string_equal(modq_config_kafka_get(c, "sasl.password"), "s3cr3t-pw");
    modq_config_free(c);

    /* Both forms in the file: refused. */
    snprintf(yaml, sizeof yaml,
             "kafka:\n  sasl.password: inline\nkafka_secret_files:\n  sasl.password: %s\n", pw);
    expect_error(yaml, NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:4: key 'kafka_secret_files.sasl.password': kafka.sasl.password is "
                 "given as well; give one of them");
    unlink(pw);
    unlink(hs);
}

static void test_secret_file_missing_empty_or_too_large_is_an_error(void **state)
{
    (void)state;
    char yaml[512], want[512], path[256];
    expect_error("kafka_secret_files:\n  sasl.password: /nonexistent/modq/pw\n", NULL,
                 MODQ_CONFIG_ERR_IO,
                 "t.yaml:2: key 'kafka_secret_files.sasl.password': /nonexistent/modq/pw: "
                 "cannot open: No such file or directory");
    const char *env[] = {"MODQ_JWT_HS256_SECRET_FILE=/nonexistent/modq/hs", NULL};
    expect_error(
        "", env, MODQ_CONFIG_ERR_IO,
        "env MODQ_JWT_HS256_SECRET_FILE: key 'jwt.hs256_secret_file': /nonexistent/modq/hs: "
        "cannot open: No such file or directory");

    temp_file(path, sizeof path, "\n\n", 2);
    snprintf(yaml, sizeof yaml, "kafka_secret_files:\n  sasl.password: %s\n", path);
    snprintf(want, sizeof want,
             "t.yaml:2: key 'kafka_secret_files.sasl.password': %s: empty or holds a NUL byte",
             path);
    expect_error(yaml, NULL, MODQ_CONFIG_ERR_INVALID, want);
    unlink(path);

    char *big = malloc(MODQ_CONFIG_MAX_SECRET_BYTES + 1);
    assert_non_null(big);
    memset(big, 'k', MODQ_CONFIG_MAX_SECRET_BYTES + 1);
    temp_file(path, sizeof path, big, MODQ_CONFIG_MAX_SECRET_BYTES + 1);
    snprintf(want, sizeof want,
             "t.yaml:2: key 'kafka_secret_files.sasl.password': %s: larger than 65536 bytes", path);
    snprintf(yaml, sizeof yaml, "kafka_secret_files:\n  sasl.password: %s\n", path);
    expect_error(yaml, NULL, MODQ_CONFIG_ERR_TOO_LARGE, want);
    unlink(path);
    /* Exactly at the cap is accepted. */
    temp_file(path, sizeof path, big, MODQ_CONFIG_MAX_SECRET_BYTES);
    snprintf(yaml, sizeof yaml, "kafka_secret_files:\n  sasl.password: %s\n", path);
    modq_config *c = NULL;
    assert_int_equal(load_text(yaml, NULL, &c, want, sizeof want), MODQ_CONFIG_OK);
    assert_int_equal(strlen(modq_config_kafka_get(c, "sasl.password")),
                     MODQ_CONFIG_MAX_SECRET_BYTES);
    modq_config_free(c);
    unlink(path);
    free(big);
}

static void test_jwt_algorithms_need_their_key_material(void **state)
{
    (void)state;
    expect_error("jwt:\n  jwks_file: /etc/jwks.json\n", NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:2: key 'jwt.algorithms': HS256 needs jwt.hs256_secret_file");
    expect_error("jwt:\n  jwks_file: /etc/jwks.json\n  algorithms: [HS256]\n", NULL,
                 MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:3: key 'jwt.algorithms': HS256 needs jwt.hs256_secret_file");
    char path[256], yaml[512], err[256];
    temp_file(path, sizeof path, "k", 1);
    snprintf(yaml, sizeof yaml, "jwt:\n  hs256_secret_file: %s\n  algorithms: [HS256, ES256]\n",
             path);
    expect_error(yaml, NULL, MODQ_CONFIG_ERR_INVALID,
                 "t.yaml:3: key 'jwt.algorithms': RS256 and ES256 need jwt.public_key_file or "
                 "jwt.jwks_file");
    modq_config *c = NULL;
    assert_int_equal(
        load_text("jwt:\n  jwks_file: /j\n  algorithms: [ES256]\n", NULL, &c, err, sizeof err),
        MODQ_CONFIG_OK);
    assert_int_equal(modq_config_jwt_algorithms(c), MODQ_CONFIG_JWT_ES256);
    modq_config_free(c);
    unlink(path);
}

/* ---- the config file itself ---------------------------------------------------------------- */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kafka_properties_pass_through_sorted),
        cmocka_unit_test(test_kafka_secret_values_are_redacted_and_checked_without_echo),
        cmocka_unit_test(test_secret_files_are_read_trimmed_and_redacted),
        cmocka_unit_test(test_secret_file_missing_empty_or_too_large_is_an_error),
        cmocka_unit_test(test_jwt_algorithms_need_their_key_material),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
