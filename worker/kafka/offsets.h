/*
 * offsets.h: per-partition completion tracking for modq-worker (private to worker/).
 *
 * Tickets are reviewed by people for minutes, so they finish out of order, while Kafka keeps one
 * committed offset per partition. A tracker records which offsets of one assigned partition are
 * in flight and which are done, and computes what to commit: the contiguous low watermark (the
 * lowest offset not done, Kafka's "next to consume") plus, in the commit's metadata string, the
 * offsets done above it. After a crash or a rebalance the next owner builds a tracker from that
 * commit and skips what was already decided, so nobody is shown a decided ticket again, and
 * nothing that was not decided is ever skipped.
 *
 * Pure logic: no librdkafka here. The consumer loop calls rd_kafka_commit with what
 * modq_offsets_commit_point() gives, pauses and resumes the partition as
 * modq_offsets_should_pause() says, and on revocation commits synchronously before freeing the
 * tracker.
 *
 * Metadata format, version 1: "v1:" then standard base64 (RFC 4648 alphabet, with padding) of
 *   varint(base) { varint(not_done_run - 1) varint(done_run - 1) }* crc32le
 * where base is the committed offset the string belongs to, the runs alternate from base (which
 * is never done), varints are unsigned LEB128 and the CRC-32 (IEEE) covers every byte before it.
 * Offsets after the last done run are not done. An empty string means nothing is done above base.
 *
 * Threads: a tracker is not thread-safe; the caller serialises access to one tracker.
 */
#ifndef MODQ_WORKER_OFFSETS_H
#define MODQ_WORKER_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The result type of this module (to be folded into the worker's one result enum). */
typedef enum modq_offsets_result {
    MODQ_OFFSETS_OK = 0,
    MODQ_OFFSETS_ALREADY_DONE,       /* track: skip this message; complete: nothing to do */
    MODQ_OFFSETS_NO_POSITION,        /* nothing tracked yet and no committed offset: no commit */
    MODQ_OFFSETS_ERR_INVALID_ARG,    /* a caller bug: NULL pointer, negative offset, bad size */
    MODQ_OFFSETS_ERR_NOMEM,          /* allocation failed; the tracker is unchanged */
    MODQ_OFFSETS_ERR_NOT_TRACKED,    /* complete: offset above every offset tracked so far */
    MODQ_OFFSETS_ERR_IN_FLIGHT,      /* track: offset already in flight (duplicate delivery) */
    MODQ_OFFSETS_ERR_FULL,           /* track: MODQ_OFFSETS_MAX_IN_FLIGHT offsets in flight */
    MODQ_OFFSETS_ERR_META_MALFORMED, /* metadata is not ours, corrupt or truncated */
    MODQ_OFFSETS_ERR_META_VERSION,   /* metadata of a version this build does not know */
    MODQ_OFFSETS_ERR_META_STALE,     /* metadata written for another committed offset */
    MODQ_OFFSETS_ERR_META_TOO_LARGE, /* metadata longer than MODQ_OFFSETS_METADATA_MAX */
    MODQ_OFFSETS_RESULT_COUNT
} modq_offsets_result;

/* A static English sentence for a result. Never NULL. */
const char *modq_offsets_strerror(modq_offsets_result r);

/* Metadata caps, in bytes of the metadata string (without its NUL). The broker refuses a commit
 * whose metadata is over offset.metadata.max.bytes (4096 by default): the writer's cap stays well
 * below, the reader accepts up to the broker default. */
#define MODQ_OFFSETS_DEFAULT_CAP  3000
#define MODQ_OFFSETS_CAP_MIN      64
#define MODQ_OFFSETS_CAP_MAX      4000
#define MODQ_OFFSETS_METADATA_MAX 4096
/* A buffer this size always holds what modq_offsets_commit_point() writes, NUL included. */
#define MODQ_OFFSETS_METADATA_BUF (MODQ_OFFSETS_CAP_MAX + 1)
/* Offsets in flight at once per partition; bounds a tracker's memory (about 9 bytes each). */
#define MODQ_OFFSETS_MAX_IN_FLIGHT 65536
/* Highest offset accepted, so that "offset + 1" never overflows (Kafka's are far below). */
#define MODQ_OFFSETS_MAX_OFFSET (INT64_MAX - 2)

typedef struct modq_offsets modq_offsets;

/*
 * Creates the tracker of one partition at assignment, from its committed offset and the metadata
 * committed with it (NULL or "" when none). committed < 0 (any librdkafka logical offset, such as
 * RD_KAFKA_OFFSET_INVALID) means no committed offset: the first tracked offset anchors the
 * tracker, and metadata, if any, is ignored (reported as MODQ_OFFSETS_ERR_META_STALE). metadata_cap
 * (MODQ_OFFSETS_CAP_MIN .. MODQ_OFFSETS_CAP_MAX) caps the metadata this tracker writes. metadata is
 * only read, never kept.
 *
 * On MODQ_OFFSETS_OK, *out is a new tracker owned by the caller (free with modq_offsets_free).
 * On a MODQ_OFFSETS_ERR_META_* result *out is ALSO a usable new tracker, owned by the caller,
 * that knows only the committed offset, and errstr says what was wrong with the metadata: log it
 * once and carry on. Any other result leaves *out NULL. In short: *out != NULL means usable.
 */
modq_offsets_result modq_offsets_new(int64_t committed, const char *metadata, size_t metadata_cap,
                                     modq_offsets **out, char *errstr, size_t errstr_size);
/* Frees t (NULL is fine). */
void modq_offsets_free(modq_offsets *t);

/*
 * Records that the message at offset was received, in partition order. Kafka delivers a partition
 * in offset order, so every offset between the previous tracked offset and this one is absent
 * from the log (a transaction marker, a compacted record) or was dropped by the caller on
 * purpose: it counts as done from now on.
 *   MODQ_OFFSETS_OK: now in flight; hand the message out.
 *   MODQ_OFFSETS_ALREADY_DONE: done before (in an earlier life, per the metadata, or completed
 *     already): skip the message. The tracker's position still moves to offset.
 *   MODQ_OFFSETS_ERR_IN_FLIGHT: delivered twice; do not hand it out again.
 *   MODQ_OFFSETS_ERR_FULL / ERR_NOMEM: nothing changed. Keep the message and track it again
 *     later: tracking a later offset first would count this one as done.
 */
modq_offsets_result modq_offsets_track(modq_offsets *t, int64_t offset);

/*
 * Records that the decision (or the dead-letter record) of the message at offset was delivered.
 *   MODQ_OFFSETS_OK: it was in flight and is now done.
 *   MODQ_OFFSETS_ALREADY_DONE: it was not in flight (completed twice, or never handed out because
 *     done or absent); nothing changes.
 *   MODQ_OFFSETS_ERR_NOT_TRACKED: offset is above every offset tracked; nothing changes.
 */
modq_offsets_result modq_offsets_complete(modq_offsets *t, int64_t offset);

/* True when offset needs no work: below the watermark, completed, passed over, or done in an
 * earlier life according to the metadata. Never true for an offset not known to be done. */
bool modq_offsets_is_done(const modq_offsets *t, int64_t offset);

/*
 * What to commit now: *offset is the lowest offset not done, and metadata (metadata_size at least
 * the tracker's cap + 1; MODQ_OFFSETS_METADATA_BUF always suffices) receives the encoded done
 * offsets above it, within the cap. When they do not all fit, the highest ones are left out: after
 * a crash those would be delivered again (decided tickets are filtered by ticket id downstream),
 * never the reverse. MODQ_OFFSETS_NO_POSITION (offset -1, metadata "") when nothing can be
 * committed yet.
 */
modq_offsets_result modq_offsets_commit_point(const modq_offsets *t, int64_t *offset,
                                              char *metadata, size_t metadata_size);

/*
 * True when the caller should pause fetching from this partition: the metadata has reached 75% of
 * the cap (or would overflow it), or 75% of MODQ_OFFSETS_MAX_IN_FLIGHT are in flight. Once true
 * it stays true until both fall below 50%, so that a partition near the line is not paused and
 * resumed on every message; completions shrink the metadata, so a pause always ends once the
 * reviews in flight finish. While the tracker is still replaying offsets that the metadata knows
 * about, the metadata does not count: those offsets can only be resolved by fetching them.
 */
bool modq_offsets_should_pause(modq_offsets *t);

/* Whether commit_point has a point to give (a committed offset or a tracked one is known). */
bool modq_offsets_anchored(const modq_offsets *t);

/* Figures for metrics. */
size_t modq_offsets_in_flight(const modq_offsets *t);
/* Completions accepted (MODQ_OFFSETS_OK from modq_offsets_complete) since the tracker was made. */
uint64_t modq_offsets_completed(const modq_offsets *t);
/* Offsets between the watermark and the position (highest tracked + 1); 0 when not anchored. */
int64_t modq_offsets_lag(const modq_offsets *t);
/* Length of the metadata modq_offsets_commit_point() would write now. */
size_t modq_offsets_metadata_len(const modq_offsets *t);
/* True when some done offsets above the watermark do not fit the cap (see commit_point). */
bool modq_offsets_metadata_truncated(const modq_offsets *t);

#endif
