/*
 * prepare_impl.h: what prepare.c and prepare_decide.c share (private to worker/prepare/).
 */
#ifndef MODQ_WORKER_PREPARE_IMPL_H
#define MODQ_WORKER_PREPARE_IMPL_H

#include "prepare.h"

/* Whether p's ticket was decided already (then p is a DUPLICATE and 1 is returned); with sha256
 * (may be NULL), whether these bytes were: p's prior decision, its labels into labels. */
int prepare_lookup_decided(const modq_prepare_ctx *ctx, modq_prepared *p, const uint8_t *sha256,
                           char *labels, size_t labels_size);
/* Before any decode, on p's digests (has_digests): a bank's exact hash or an earlier decision on
 * the same bytes decides p. 1 (decided, or *failed when out of memory), else 0. */
int prepare_decide_by_digests(const modq_prepare_ctx *ctx, modq_prepared *p, int64_t now_ms,
                              int *failed);
/* After the decode: banks (exact and PDQ), earlier decisions (same bytes, near copies); p is
 * decided or goes to review. NULL when out of memory. */
modq_prepared *prepare_decide_or_review(const modq_prepare_ctx *ctx, modq_prepared *p,
                                        int64_t now_ms);

#endif
