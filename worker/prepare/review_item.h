/*
 * review_item.h: a prepared ticket as a record of the review topic (proto/review.proto), the
 * hand-over between a pod of role `prepare` and the desk (role `desk`). Private to worker/.
 */
#ifndef MODQ_WORKER_REVIEW_ITEM_H
#define MODQ_WORKER_REVIEW_ITEM_H

#include "prepare.h"

#include <stddef.h>
#include <stdint.h>

/* A review record is at most this big: Kafka's default message.max.bytes, with room for the
 * record's key and headers. */
#define MODQ_REVIEW_ITEM_MAX_BYTES (1000 * 1000 - 4096)

/* Dead-letter codes of this module. */
#define MODQ_DLQ_REVIEW_TOO_LARGE "review_item_too_large" /* grey renditions alone over the cap */
#define MODQ_DLQ_REVIEW_INVALID   "invalid_review_item"   /* a review record the desk refuses */

/* Where the ticket of a review item was read. Strings borrowed. */
typedef struct modq_review_source {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const char *prepared_by; /* worker id */
    int64_t prepared_at_ms;
} modq_review_source;

/* What modq_review_item_pack returns besides 0. */
#define MODQ_REVIEW_PACK_TOO_LARGE (-1) /* the grey ladder alone is over the cap */
#define MODQ_REVIEW_PACK_NOMEM     (-2)

/*
 * Packs p (kind REVIEW) as a ReviewItem of at most MODQ_REVIEW_ITEM_MAX_BYTES: when both ladders
 * do not fit, the colour ladder is left out (*colour_dropped true). On success returns 0 and
 * *out (malloc, caller frees) holds *len bytes. Returns MODQ_REVIEW_PACK_TOO_LARGE (dead-letter
 * the ticket with MODQ_DLQ_REVIEW_TOO_LARGE) or MODQ_REVIEW_PACK_NOMEM, errstr naming the cause;
 * *out is then NULL.
 */
int modq_review_item_pack(const modq_prepared *p, const modq_review_source *src, uint8_t **out,
                          size_t *len, bool *colour_dropped, char *errstr, size_t errstr_size);

/*
 * Unpacks a review record (len bytes at buf, untrusted: another pod, or anyone who may write the
 * topic) into a new modq_prepared (caller owns it: modq_prepared_free): kind REVIEW with the
 * ticket, its queue index in policy and the media rebuilt from its parts; or kind DEAD_LETTER
 * (MODQ_DLQ_REVIEW_INVALID, or unknown_queue when this pod's policy lacks the queue) with the
 * reason. NULL only when out of memory.
 */
modq_prepared *modq_review_item_unpack(const modq_policy *policy, const void *buf, size_t len);

#endif
