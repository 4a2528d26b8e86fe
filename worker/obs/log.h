/*
 * log.h: structured logs of modq-worker: one JSON object per line, written whole.
 *
 * Every line carries "ts" (RFC 3339 UTC with milliseconds), "level", "worker" (when the logger
 * was given an id) and "msg", then the caller's fields in the order given. Kubernetes collects
 * stderr, so that is where the worker points the logger; tests point it at a temporary file.
 *
 * Threads: every function taking a modq_log may be called from any thread at once. A line is
 * formatted in full first and then written with one fwrite under the logger's mutex, so lines
 * from different threads never interleave.
 *
 * Size caps: a message or field value longer than MODQ_LOG_VALUE_MAX bytes is cut (marked with
 * a trailing "..."), at most MODQ_LOG_FIELDS_MAX fields are written; bytes that are not valid
 * UTF-8 are replaced by U+FFFD, so hostile text (a ticket's caption) cannot break a line.
 *
 * Never pass secret values (passwords, tokens, keys) as fields: the logger cannot tell them apart.
 */
#ifndef MODQ_LOG_H
#define MODQ_LOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum modq_log_level {
    MODQ_LOG_DEBUG = 0,
    MODQ_LOG_INFO,
    MODQ_LOG_WARN,
    MODQ_LOG_ERROR,
    MODQ_LOG_LEVEL_COUNT
} modq_log_level;

#define MODQ_LOG_VALUE_MAX  4096 /* bytes of a message or a field value before it is cut */
#define MODQ_LOG_FIELDS_MAX 64   /* fields per line beyond ts/level/worker/msg */
#define MODQ_LOG_ID_MAX     128  /* bytes of the worker id, incl. NUL */

/* The current time as Unix milliseconds (UTC); arg is what was given with the clock. */
typedef int64_t (*modq_log_clock)(void *arg);

typedef struct modq_log modq_log;

/* "debug", "info", "warn", "error"; "unknown" for an out-of-range value. Never NULL. */
const char *modq_log_level_name(modq_log_level level);
/* Parses one of the names above (exact, lowercase). false when s is not one of them. */
bool modq_log_level_parse(const char *s, modq_log_level *out);

/*
 * A logger writing to out (not owned: the caller keeps it open until modq_log_free and closes
 * it after) the lines at min_level and above. worker_id (copied; NULL or "" = no "worker" field)
 * tags every line. The clock is the system's real-time clock until modq_log_set_clock.
 * Returns a new logger owned by the caller (free with modq_log_free), or NULL when out is NULL,
 * min_level is out of range or memory is short.
 */
modq_log *modq_log_new(FILE *out, modq_log_level min_level, const char *worker_id);
/* Frees log (NULL is fine). No other thread may be using it. */
void modq_log_free(modq_log *log);
/* Replaces the clock (tests pin the time). clock NULL restores the system clock. Call before the
 * logger is shared between threads. */
void modq_log_set_clock(modq_log *log, modq_log_clock clock, void *arg);
/* Changes the lowest level written (e.g. after a config reload); out-of-range values are ignored.
 */
void modq_log_set_level(modq_log *log, modq_log_level min_level);
/* true when a line at level would be written: lets callers skip building costly fields. */
bool modq_log_enabled(const modq_log *log, modq_log_level level);

/*
 * Writes one line: msg, then key/value pairs of strings, ended by NULL:
 *     modq_log_write(log, MODQ_LOG_INFO, "ticket leased", "ticket", id, "queue", q, NULL);
 * A NULL value ends the list as well (that key is written as JSON null), so an odd list cannot
 * read past its end. A key repeating ts/level/worker/msg or an earlier key is dropped. Nothing is
 * kept: every string may be freed once this returns. Returns false when nothing was written (below
 * the level, NULL log or msg, out of memory, write error).
 */
__attribute__((sentinel)) bool modq_log_write(modq_log *log, modq_log_level level, const char *msg,
                                              ...);

/*
 * Writes one line whose msg is printf-formatted and whose fields are the members of fields
 * (borrowed, not changed; NULL = none), in the object's order. Values may be any JSON type;
 * strings are cut and cleaned as above. Same return as modq_log_write.
 */
__attribute__((format(printf, 4, 5))) bool
modq_log_writef(modq_log *log, modq_log_level level, const json_t *fields, const char *fmt, ...);

#endif
