/*
 * test_worker_log.c: tests of worker/obs/log.c: every line is one JSON object with exactly ts (at
 * the injected instant), level, worker, msg and the caller's fields in order; quotes, newlines,
 * control characters and invalid UTF-8 survive a round trip; long values are cut; levels filter;
 * lines from many threads at once come out whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "obs/log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t fixed_clock(void *arg)
{
    return *(const int64_t *)arg;
}

/* Everything written to f so far, NUL-terminated; caller frees. */
static char *contents(FILE *f, size_t *len)
{
    long n = ftell(f);
    assert_true(n >= 0);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    rewind(f);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    if (len != NULL) {
        *len = (size_t)n;
    }
    return buf;
}

/* The single line written to f, parsed; asserts there was exactly one. */
static json_t *only_line(FILE *f)
{
    size_t len = 0;
    char *buf = contents(f, &len);
    assert_true(len > 0);
    assert_int_equal(buf[len - 1], '\n');
    assert_null(memchr(buf, '\n', len - 1)); /* one line: no raw newline inside */
    json_error_t e;
    json_t *j = json_loadb(buf, len, 0, &e);
    if (j == NULL) {
        print_error("not JSON (%s): %s\n", e.text, buf);
    }
    assert_non_null(j);
    assert_true(json_is_object(j));
    free(buf);
    return j;
}

/* The keys of obj in order, comma-joined. */
static void keys_of(json_t *obj, char *buf, size_t size)
{
    const char *k = NULL;
    json_t *v = NULL;
    size_t o = 0;
    buf[0] = '\0';
    json_object_foreach(obj, k, v)
    {
        o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? "," : "", k);
        assert_true(o < size);
    }
}

static void test_line_has_exact_fields_in_order(void **state)
{
    (void)state;
    int64_t now = INT64_C(1700000000123);
    FILE *f = tmpfile();
    assert_non_null(f);
    modq_log *log = modq_log_new(f, MODQ_LOG_INFO, "w-1");
    assert_non_null(log);
    modq_log_set_clock(log, fixed_clock, &now);
    assert_true(modq_log_write(log, MODQ_LOG_WARN, "ticket leased", "ticket", "t-9", "queue",
                               "hate", NULL));
    json_t *j = only_line(f);
    char keys[256];
    keys_of(j, keys, sizeof keys);
    assert_string_equal(keys, "ts,level,worker,msg,ticket,queue");
    assert_string_equal(json_string_value(json_object_get(j, "ts")), "2023-11-14T22:13:20.123Z");
    assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(j, "worker")), "w-1");
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "ticket leased");
    assert_string_equal(json_string_value(json_object_get(j, "ticket")), "t-9");
    assert_string_equal(json_string_value(json_object_get(j, "queue")), "hate");
    json_decref(j);
    modq_log_free(log);
    fclose(f);
}

static void test_timestamps_are_rfc3339_utc_with_milliseconds(void **state)
{
    (void)state;
    const struct {
        int64_t ms;
        const char *ts;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
        {INT64_C(951782400007), "2000-02-29T00:00:00.007Z"},
        {INT64_C(4102444799999), "2099-12-31T23:59:59.999Z"},
        {INT64_MIN, "1000-01-01T00:00:00.000Z"},
        {INT64_MAX, "9999-12-31T23:59:59.999Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t now = cases[i].ms;
        FILE *f = tmpfile();
        assert_non_null(f);
        modq_log *log = modq_log_new(f, MODQ_LOG_DEBUG, NULL);
        assert_non_null(log);
        modq_log_set_clock(log, fixed_clock, &now);
        assert_true(modq_log_write(log, MODQ_LOG_INFO, "tick", NULL));
        json_t *j = only_line(f);
        assert_string_equal(json_string_value(json_object_get(j, "ts")), cases[i].ts);
        assert_null(json_object_get(j, "worker")); /* no id given: no field */
        json_decref(j);
        modq_log_free(log);
        fclose(f);
    }
}

static void test_quotes_newlines_and_control_characters_are_escaped(void **state)
{
    (void)state;
    const char *nasty = "say \"hi\"\nnext line\r\ttab \\ back \x01\x1f end";
    const char *bad_utf8 = "caf\xc3\xa9 \xff\xfe \xed\xa0\x80 ok";
    FILE *f = tmpfile();
    assert_non_null(f);
    modq_log *log = modq_log_new(f, MODQ_LOG_DEBUG, "w\"1\n");
    assert_non_null(log);
    assert_true(modq_log_write(log, MODQ_LOG_ERROR, nasty, "k\"ey", nasty, "utf8", bad_utf8, NULL));
    char *raw = contents(f, NULL);
    /* Escaped in the text: no raw control characters at all but the final newline. */
    for (const char *p = raw; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20) {
            assert_true(p[0] == '\n' && p[1] == '\0');
        }
    }
    assert_non_null(strstr(raw, "\\\"hi\\\"\\nnext line\\r\\ttab \\\\ back \\u0001\\u001F end"));
    free(raw);
    json_t *j = only_line(f);
    assert_string_equal(json_string_value(json_object_get(j, "msg")), nasty);
    assert_string_equal(json_string_value(json_object_get(j, "k\"ey")), nasty);
    assert_string_equal(json_string_value(json_object_get(j, "worker")), "w\"1\n");
    /* Invalid bytes (a stray 0xff, 0xfe, an encoded surrogate) each become U+FFFD. */
    assert_string_equal(json_string_value(json_object_get(j, "utf8")),
                        "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd "
                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd ok");
    json_decref(j);
    modq_log_free(log);
    fclose(f);
}

static void test_reserved_repeated_and_odd_fields(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    modq_log *log = modq_log_new(f, MODQ_LOG_DEBUG, "w");
    assert_non_null(log);
    /* A caller's "msg" or "level" cannot overwrite the line's own; a repeat keeps the first; a
     * key without a value is null and ends the list. */
    assert_true(modq_log_write(log, MODQ_LOG_INFO, "real", "msg", "fake", "level", "error", "a",
                               "1", "a", "2", "b", NULL));
    json_t *j = only_line(f);
    char keys[256];
    keys_of(j, keys, sizeof keys);
    assert_string_equal(keys, "ts,level,worker,msg,a,b");
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "real");
    assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(j, "a")), "1");
    assert_true(json_is_null(json_object_get(j, "b")));
    json_decref(j);
    modq_log_free(log);
    fclose(f);
}

static void test_writef_formats_msg_and_copies_jansson_fields(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    modq_log *log = modq_log_new(f, MODQ_LOG_DEBUG, "w");
    assert_non_null(log);
    json_t *fields = json_pack("{s:i, s:b, s:s, s:[i,i]}", "partition", 3, "ok", 1, "topic",
                               "modq.hate", "offsets", 10, 11);
    assert_non_null(fields);
    assert_true(modq_log_writef(log, MODQ_LOG_DEBUG, fields, "committed %d of %s", 2, "q"));
    json_t *j = only_line(f);
    char keys[256];
    keys_of(j, keys, sizeof keys);
    assert_string_equal(keys, "ts,level,worker,msg,partition,ok,topic,offsets");
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "committed 2 of q");
    assert_int_equal(json_integer_value(json_object_get(j, "partition")), 3);
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "offsets"), 1)), 11);
    assert_int_equal(json_object_size(fields), 4); /* borrowed, unchanged */
    json_decref(j);
    json_decref(fields);
    modq_log_free(log);
    fclose(f);
}

static void test_long_values_are_cut_on_a_character_boundary(void **state)
{
    (void)state;
    char *big = malloc(MODQ_LOG_VALUE_MAX + 100);
    assert_non_null(big);
    /* 'x' then 2-byte characters, so the cap falls inside one. */
    big[0] = 'x';
    for (size_t i = 1; i + 1 < MODQ_LOG_VALUE_MAX + 99; i += 2) {
        big[i] = '\xc3';
        big[i + 1] = '\xa9';
    }
    big[MODQ_LOG_VALUE_MAX + 99] = '\0';
    FILE *f = tmpfile();
    assert_non_null(f);
    modq_log *log = modq_log_new(f, MODQ_LOG_DEBUG, "w");
    assert_non_null(log);
    assert_true(modq_log_write(log, MODQ_LOG_INFO, "m", "text", big, NULL));
    json_t *j = only_line(f);
    const char *v = json_string_value(json_object_get(j, "text"));
    size_t n = strlen(v);
    assert_true(n <= MODQ_LOG_VALUE_MAX + 3);
    assert_true(n >= MODQ_LOG_VALUE_MAX - 1 + 3);
    assert_string_equal(v + n - 3, "...");
    assert_memory_equal(v, big, n - 3); /* a prefix, cut between characters */
    assert_null(strstr(v, "\xef\xbf\xbd"));
    json_decref(j);
    modq_log_free(log);
    fclose(f);
    free(big);
}

static void test_a_line_over_the_cap_keeps_its_head_and_drops_fields(void **state)
{
    (void)state;
    char *v = malloc(MODQ_LOG_VALUE_MAX + 1);
    assert_non_null(v);
    memset(v, 'v', MODQ_LOG_VALUE_MAX);
    v[MODQ_LOG_VALUE_MAX] = '\0';
    json_t *fields = json_object();
    assert_non_null(fields);
    /* 20 values at the per-value cap make a line of over 80 KiB. */
    for (int i = 0; i < 20; i++) {
        char k[8];
        snprintf(k, sizeof k, "f%d", i);
        assert_int_equal(json_object_set_new(fields, k, json_string(v)), 0);
    }
    FILE *f = tmpfile();
    assert_non_null(f);
    modq_log *log = modq_log_new(f, MODQ_LOG_DEBUG, "w");
    assert_non_null(log);
    assert_true(modq_log_writef(log, MODQ_LOG_ERROR, fields, "big"));
    json_t *j = only_line(f);
    char keys[256];
    keys_of(j, keys, sizeof keys);
    assert_string_equal(keys, "ts,level,worker,msg,log_note");
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "big");
    json_decref(j);
    json_decref(fields);
    modq_log_free(log);
    fclose(f);
    free(v);
}

static void test_levels_below_the_minimum_are_not_written(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    modq_log *log = modq_log_new(f, MODQ_LOG_WARN, "w");
    assert_non_null(log);
    assert_false(modq_log_enabled(log, MODQ_LOG_INFO));
    assert_true(modq_log_enabled(log, MODQ_LOG_WARN));
    assert_false(modq_log_write(log, MODQ_LOG_INFO, "quiet", NULL));
    assert_false(modq_log_writef(log, MODQ_LOG_DEBUG, NULL, "quiet %d", 1));
    assert_int_equal(ftell(f), 0);
    modq_log_set_level(log, MODQ_LOG_DEBUG);
    assert_true(modq_log_write(log, MODQ_LOG_DEBUG, "loud", NULL));
    json_t *j = only_line(f);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "debug");
    json_decref(j);
    modq_log_free(log);
    fclose(f);

    assert_null(modq_log_new(NULL, MODQ_LOG_INFO, "w"));
    assert_null(modq_log_new(stderr, MODQ_LOG_LEVEL_COUNT, "w"));
    assert_false(modq_log_write(NULL, MODQ_LOG_ERROR, "x", NULL));
}

static void test_level_names_round_trip(void **state)
{
    (void)state;
    for (int l = 0; l < MODQ_LOG_LEVEL_COUNT; l++) {
        modq_log_level back = MODQ_LOG_LEVEL_COUNT;
        assert_true(modq_log_level_parse(modq_log_level_name((modq_log_level)l), &back));
        assert_int_equal(back, l);
    }
    assert_string_equal(modq_log_level_name(MODQ_LOG_WARN), "warn");
    assert_false(modq_log_level_parse("WARN", NULL));
    assert_false(modq_log_level_parse("warning", NULL));
    assert_string_equal(modq_log_level_name(MODQ_LOG_LEVEL_COUNT), "unknown");
}

/* ---- threads ------------------------------------------------------------------------------ */

#define THREADS 8
#define LINES   400

typedef struct thread_arg {
    modq_log *log;
    int id;
} thread_arg;

static void *writer(void *p)
{
    const thread_arg *a = p;
    char id[16], seq[16], pad[600];
    /* Lines of different lengths, long enough that a torn write would show. */
    memset(pad, 'a' + a->id, sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < LINES; i++) {
        snprintf(id, sizeof id, "%d", a->id);
        snprintf(seq, sizeof seq, "%d", i);
        pad[100 + (i * 7 + a->id) % 400] = '\0';
        modq_log_write(a->log, MODQ_LOG_INFO, "line", "thread", id, "seq", seq, "pad", pad, NULL);
        pad[100 + (i * 7 + a->id) % 400] = (char)('a' + a->id);
    }
    return NULL;
}

static void test_concurrent_writers_produce_only_whole_lines(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    modq_log *log = modq_log_new(f, MODQ_LOG_INFO, "w");
    assert_non_null(log);
    pthread_t t[THREADS];
    thread_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (thread_arg){log, i};
        assert_int_equal(pthread_create(&t[i], NULL, writer, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }
    size_t len = 0;
    char *buf = contents(f, &len);
    unsigned char seen[THREADS][LINES];
    memset(seen, 0, sizeof seen);
    size_t lines = 0;
    for (char *line = buf, *nl = NULL; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        json_error_t e;
        json_t *j = json_loadb(line, (size_t)(nl - line), 0, &e);
        if (j == NULL) {
            print_error("torn line %zu: %.80s\n", lines, line);
        }
        assert_non_null(j);
        const char *ids = json_string_value(json_object_get(j, "thread"));
        const char *seqs = json_string_value(json_object_get(j, "seq"));
        assert_non_null(ids);
        assert_non_null(seqs);
        int id = (int)strtol(ids, NULL, 10);
        int seq = (int)strtol(seqs, NULL, 10);
        const char *pad = json_string_value(json_object_get(j, "pad"));
        assert_true(id >= 0 && id < THREADS && seq >= 0 && seq < LINES);
        assert_int_equal(strlen(pad), 100 + (size_t)((seq * 7 + id) % 400));
        assert_int_equal(pad[0], 'a' + id);
        seen[id][seq]++;
        lines++;
        json_decref(j);
    }
    assert_int_equal(buf[len - 1], '\n');
    assert_int_equal(lines, THREADS * LINES);
    for (int i = 0; i < THREADS; i++) {
        for (int s = 0; s < LINES; s++) {
            assert_int_equal(seen[i][s], 1);
        }
    }
    free(buf);
    modq_log_free(log);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_has_exact_fields_in_order),
        cmocka_unit_test(test_timestamps_are_rfc3339_utc_with_milliseconds),
        cmocka_unit_test(test_quotes_newlines_and_control_characters_are_escaped),
        cmocka_unit_test(test_reserved_repeated_and_odd_fields),
        cmocka_unit_test(test_writef_formats_msg_and_copies_jansson_fields),
        cmocka_unit_test(test_long_values_are_cut_on_a_character_boundary),
        cmocka_unit_test(test_a_line_over_the_cap_keeps_its_head_and_drops_fields),
        cmocka_unit_test(test_levels_below_the_minimum_are_not_written),
        cmocka_unit_test(test_level_names_round_trip),
        cmocka_unit_test(test_concurrent_writers_produce_only_whole_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
