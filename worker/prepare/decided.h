/*
 * decided.h: what has already been decided, so that no person is shown a decided ticket again
 * and media already found violating is decided the same way without a person (private).
 * Filled from the decisions topic at start (back to the retention) and from every decision made.
 * Not thread-safe: the worker serialises access.
 */
#ifndef MODQ_WORKER_DECIDED_H
#define MODQ_WORKER_DECIDED_H

#include <stddef.h>
#include <stdint.h>

#define MODQ_DECIDED_MAX_ID     128 /* ticket ids longer than this are refused */
#define MODQ_DECIDED_MAX_LABELS 256 /* labels are kept joined by ',' up to this many bytes */

typedef struct modq_decided modq_decided;

/* A prior decision on the same bytes, as remembered. Strings owned by the set. */
typedef struct modq_decided_prior {
    const char *ticket_id;
    int verdict; /* proto Verdict number */
    const char *labels;
    int64_t decided_at_ms;
} modq_decided_prior;

/*
 * A set remembering decisions for retention_ms, holding at most max_entries. Caller owns it
 * (modq_decided_free). NULL when out of memory or an argument is zero.
 */
modq_decided *modq_decided_new(size_t max_entries, int64_t retention_ms);
void modq_decided_free(modq_decided *d);

/*
 * Records a decision. sha256 may be NULL (no media). A later decision on the same bytes replaces
 * the earlier one for lookups by hash. Returns 0, or -1 when out of memory or ticket_id is empty
 * or too long. When the set is full the oldest entry is evicted and *evicted (if non-NULL) is
 * incremented: the caller reports it, since an evicted ticket id can no longer be recognised.
 */
int modq_decided_add(modq_decided *d, const char *ticket_id, const uint8_t *sha256, int verdict,
                     const char *labels, int64_t decided_at_ms, uint64_t *evicted);

/* 1 when ticket_id was decided (and not yet expired or evicted). */
int modq_decided_has_ticket(const modq_decided *d, const char *ticket_id);

/* 1 and *out filled when these bytes were decided; *out valid until the next add or expire. */
int modq_decided_find_media(const modq_decided *d, const uint8_t *sha256, modq_decided_prior *out);

/* Forgets decisions made before now_ms - retention_ms; returns how many were forgotten. */
size_t modq_decided_expire(modq_decided *d, int64_t now_ms);

size_t modq_decided_count(const modq_decided *d);

#endif
