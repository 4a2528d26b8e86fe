/*
 * decided.h: what has already been decided, so that no person is shown a decided ticket again
 * and media already found violating is decided the same way without a person (private).
 * Filled from the decisions topic at start (back to the retention) and from every decision made.
 * Not thread-safe: the worker serialises access.
 */
#ifndef MODQ_WORKER_DECIDED_H
#define MODQ_WORKER_DECIDED_H

#include "modq_blur.h"

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
 * Records a decision. sha256 may be NULL (no media), and pdq (MODQ_PDQ_BYTES, a hash of quality
 * MODQ_BANKS_MIN_PDQ_QUALITY or more) too. A later decision on the same bytes replaces the
 * earlier one for lookups by hash. Returns 0, or -1 when out of memory or ticket_id is empty or
 * too long. When the set is full the oldest entry is evicted and *evicted (if non-NULL) is
 * incremented: the caller reports it, since an evicted ticket id can no longer be recognised.
 */
int modq_decided_add(modq_decided *d, const char *ticket_id, const uint8_t *sha256,
                     const uint8_t *pdq, int verdict, const char *labels, int64_t decided_at_ms,
                     uint64_t *evicted);

/* 1 when ticket_id was decided (and not yet expired or evicted). */
int modq_decided_has_ticket(const modq_decided *d, const char *ticket_id);

/* 1 and *out filled when these bytes were decided; *out valid until the next add or expire. */
int modq_decided_find_media(const modq_decided *d, const uint8_t *sha256, modq_decided_prior *out);

/*
 * Near-duplicates: the decided media whose PDQ hash is nearest (within max_distance, 0..31) to
 * any of the probe's 8 dihedral variants, among decisions whose verdict is in verdicts (bit v
 * for proto Verdict v); on a tie, the newest decision. 1 when found: *out (valid until the next
 * add or expire), *distance, and the decided hash's hex in hash_hex (may be NULL); else 0.
 */
int modq_decided_find_near(const modq_decided *d, const uint8_t (*probe)[MODQ_PDQ_BYTES],
                           int max_distance, unsigned verdicts, modq_decided_prior *out,
                           int *distance, char hash_hex[MODQ_PDQ_HEX_LEN + 1]);
/* Decided media with a PDQ hash, for near-duplicates. */
size_t modq_decided_near_count(const modq_decided *d);

/* Forgets decisions made before now_ms - retention_ms; returns how many were forgotten. */
size_t modq_decided_expire(modq_decided *d, int64_t now_ms);

size_t modq_decided_count(const modq_decided *d);

#endif
