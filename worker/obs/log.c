/*
 * log.c: JSON-lines logger of modq-worker (see log.h).
 *
 * A line is built as a jansson object, serialised into one buffer with its newline, and written
 * with a single fwrite + fflush under the logger's mutex: a reader (kubectl logs, a collector)
 * never sees half a line, even with many threads logging. Text that ends up in logs may come from
 * hostile tickets, so every string is cut to a cap and made valid UTF-8 before jansson sees it.
 */
#include "log.h"
#include "modq_common.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A whole serialised line may not exceed this; beyond it the caller's fields are dropped. */
#define LINE_MAX_BYTES (64 * 1024)
#define KEY_MAX        128 /* bytes of a field name */

struct modq_log {
    FILE *out;
    pthread_mutex_t mu;
    atomic_int min_level; /* may be changed while other threads log */
    char worker[MODQ_LOG_ID_MAX];
    modq_log_clock clock;
    void *clock_arg;
};

static const char *const level_names[MODQ_LOG_LEVEL_COUNT] = {"debug", "info", "warn", "error"};

const char *modq_log_level_name(modq_log_level level)
{
    if ((int)level < 0 || level >= MODQ_LOG_LEVEL_COUNT) {
        return "unknown";
    }
    return level_names[level];
}

bool modq_log_level_parse(const char *s, modq_log_level *out)
{
    for (int i = 0; s != NULL && i < MODQ_LOG_LEVEL_COUNT; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            if (out != NULL) {
                *out = (modq_log_level)i;
            }
            return true;
        }
    }
    return false;
}

static int64_t system_clock(void *arg)
{
    (void)arg;
    return modq_clock_wall_ms();
}

modq_log *modq_log_new(FILE *out, modq_log_level min_level, const char *worker_id)
{
    modq_log *log = NULL;
    if (out == NULL || (int)min_level < 0 || min_level >= MODQ_LOG_LEVEL_COUNT) {
        return NULL;
    }
    log = calloc(1, sizeof *log);
    if (log == NULL) {
        return NULL;
    }
    if (pthread_mutex_init(&log->mu, NULL) != 0) {
        MODQ_FREE_NULL(log);
        return NULL;
    }
    log->out = out;
    atomic_init(&log->min_level, (int)min_level);
    if (worker_id != NULL) {
        /* Cut on a UTF-8 boundary; the id is cleaned again when each line is built. */
        size_t n = strlen(worker_id);
        if (n >= sizeof log->worker) {
            n = sizeof log->worker - 1;
            while (n > 0 && ((unsigned char)worker_id[n] & 0xC0) == 0x80) {
                n--;
            }
        }
        memcpy(log->worker, worker_id, n);
        log->worker[n] = '\0';
    }
    log->clock = system_clock;
    return log;
}

void modq_log_free(modq_log *log)
{
    if (log == NULL) {
        return;
    }
    pthread_mutex_destroy(&log->mu);
    free(log);
}

void modq_log_set_clock(modq_log *log, modq_log_clock clock, void *arg)
{
    if (log == NULL) {
        return;
    }
    log->clock = clock != NULL ? clock : system_clock;
    log->clock_arg = clock != NULL ? arg : NULL;
}

void modq_log_set_level(modq_log *log, modq_log_level min_level)
{
    if (log != NULL && (int)min_level >= 0 && min_level < MODQ_LOG_LEVEL_COUNT) {
        atomic_store(&log->min_level, (int)min_level);
    }
}

bool modq_log_enabled(const modq_log *log, modq_log_level level)
{
    if (log == NULL || (int)level < 0 || level >= MODQ_LOG_LEVEL_COUNT) {
        return false;
    }
    /* atomic_load takes a non-const pointer in some C libraries' headers. */
    return (int)level >= atomic_load((atomic_int *)(uintptr_t)&log->min_level);
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0 when it is not valid: overlong
 * forms, surrogates and code points past U+10FFFF are all invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len = 0;
    unsigned cp = 0, min = 0;
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return len;
}

/* A JSON string of s cut to MODQ_LOG_VALUE_MAX bytes (on a character boundary, "..." appended)
 * with invalid bytes replaced by U+FFFD. New reference owned by the caller; NULL when out of
 * memory. */
static json_t *clean_string(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    bool cut = false;
    char *buf = NULL;
    size_t o = 0;
    json_t *j = NULL;

    if (n > MODQ_LOG_VALUE_MAX) {
        n = MODQ_LOG_VALUE_MAX;
        while (n > 0 && (p[n] & 0xC0) == 0x80) {
            n--;
        }
        cut = true;
    }
    if (!cut && (j = json_stringn(s, n)) != NULL) {
        return j; /* already valid UTF-8 and short: the common case */
    }
    /* Worst case every byte becomes the 3-byte U+FFFD, plus "..." */
    buf = malloc(n * 3 + 4);
    if (buf == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n;) {
        size_t len = utf8_len(p + i, n - i);
        if (len == 0) {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(buf + o, p + i, len);
            o += len;
            i += len;
        }
    }
    if (cut) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    j = json_stringn(buf, o);
    MODQ_FREE_NULL(buf);
    return j;
}

/* Sets key to value (a new reference, consumed) unless key is taken, too long or not UTF-8;
 * false only when out of memory. */
static bool add_field(json_t *obj, const char *key, json_t *value, size_t *nfields)
{
    if (value == NULL) {
        return false;
    }
    if (*nfields >= MODQ_LOG_FIELDS_MAX || strlen(key) > KEY_MAX ||
        json_object_get(obj, key) != NULL) {
        json_decref(value);
        return true;
    }
    if (json_object_set_new(obj, key, value) == 0) {
        (*nfields)++;
    }
    return true;
}

/* The fixed head of a line: ts, level, worker, msg. New object owned by the caller or NULL. */
static json_t *line_head(const modq_log *log, modq_log_level level, const char *msg)
{
    char ts[40];
    int64_t ms = log->clock(log->clock_arg);
    /* Years 1000..9999 keep the four-digit form RFC 3339 requires (and the arithmetic below far
     * from overflow, whatever an injected clock returns). */
    if (ms < INT64_C(-30610224000000)) {
        ms = INT64_C(-30610224000000);
    } else if (ms > INT64_C(253402300799999)) {
        ms = INT64_C(253402300799999);
    }
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    time_t t = (time_t)secs;
    struct tm tm;
    json_t *obj = json_object();

    if (obj == NULL || gmtime_r(&t, &tm) == NULL ||
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        json_decref(obj);
        return NULL;
    }
    size_t len = strlen(ts);
    snprintf(ts + len, sizeof ts - len, ".%03dZ", (int)(ms - secs * 1000));
    if (json_object_set_new(obj, "ts", json_string(ts)) != 0 ||
        json_object_set_new(obj, "level", json_string(modq_log_level_name(level))) != 0 ||
        (log->worker[0] != '\0' &&
         json_object_set_new(obj, "worker", clean_string(log->worker)) != 0) ||
        json_object_set_new(obj, "msg", clean_string(msg)) != 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* Serialises obj with a trailing newline and writes it with one fwrite under the mutex. When
 * the line would pass LINE_MAX_BYTES, writes the head alone with a note instead. */
static bool emit(modq_log *log, json_t *obj, json_t *head)
{
    /* 15 digits: 0.05 prints as 0.05, not 0.050000000000000003. */
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15);
    char *buf = NULL;
    bool ok = false;
    size_t n = json_dumpb(obj, NULL, 0, flags);

    if (n == 0 || n >= LINE_MAX_BYTES) {
        if (json_object_set_new(head, "log_note", json_string("fields dropped: line too long")) !=
            0) {
            return false;
        }
        obj = head;
        n = json_dumpb(obj, NULL, 0, flags);
        if (n == 0 || n >= LINE_MAX_BYTES) {
            return false;
        }
    }
    buf = malloc(n + 1);
    if (buf == NULL || json_dumpb(obj, buf, n, flags) != n) {
        goto out;
    }
    buf[n] = '\n';
    pthread_mutex_lock(&log->mu);
    ok = fwrite(buf, 1, n + 1, log->out) == n + 1;
    ok = fflush(log->out) == 0 && ok;
    pthread_mutex_unlock(&log->mu);
out:
    MODQ_FREE_NULL(buf);
    return ok;
}

bool modq_log_write(modq_log *log, modq_log_level level, const char *msg, ...)
{
    json_t *obj = NULL, *head = NULL;
    size_t nfields = 0;
    bool ok = false;
    va_list ap;

    if (msg == NULL || !modq_log_enabled(log, level)) {
        return false;
    }
    va_start(ap, msg);
    if ((head = line_head(log, level, msg)) == NULL || (obj = json_deep_copy(head)) == NULL) {
        goto out;
    }
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (key == NULL) {
            break;
        }
        const char *value = va_arg(ap, const char *);
        if (!add_field(obj, key, value != NULL ? clean_string(value) : json_null(), &nfields)) {
            goto out;
        }
        if (value == NULL) {
            break; /* an odd list: the NULL we just read was its end */
        }
    }
    ok = emit(log, obj, head);
out:
    va_end(ap);
    json_decref(obj);
    json_decref(head);
    return ok;
}

bool modq_log_writef(modq_log *log, modq_log_level level, const json_t *fields, const char *fmt,
                     ...)
{
    char msg[MODQ_LOG_VALUE_MAX + 1];
    json_t *obj = NULL, *head = NULL;
    const char *key = NULL;
    json_t *value = NULL;
    size_t nfields = 0;
    bool ok = false;
    va_list ap;

    if (fmt == NULL || !modq_log_enabled(log, level)) {
        return false;
    }
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return false;
    }
    /* A cut message gets clean_string's "..." only when over the cap; vsnprintf cut it at the
     * cap exactly, so mark it here. */
    if ((size_t)n >= sizeof msg && sizeof msg > 4) {
        memcpy(msg + sizeof msg - 4, "...", 4);
    }
    if ((head = line_head(log, level, msg)) == NULL || (obj = json_deep_copy(head)) == NULL) {
        goto out;
    }
    if (json_is_object(fields)) {
        /* jansson's iteration takes a non-const object; it is only read. */
        json_t *f = (json_t *)(uintptr_t)fields;
        json_object_foreach(f, key, value)
        {
            json_t *v =
                json_is_string(value) ? clean_string(json_string_value(value)) : json_incref(value);
            if (!add_field(obj, key, v, &nfields)) {
                goto out;
            }
        }
    }
    ok = emit(log, obj, head);
out:
    json_decref(obj);
    json_decref(head);
    return ok;
}
