/* deadline.h: one item's time budget on the monotonic clock, and libvips work held to it
 * (private). */
#ifndef MODQ_BLUR_DEADLINE_H
#define MODQ_BLUR_DEADLINE_H

#include "modq_blur.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <vips/vips.h>

typedef struct modq_deadline {
    int64_t start_ns;    /* CLOCK_MONOTONIC when this call started */
    int64_t spent_ns;    /* spent on the item by earlier calls (a deferred render's process) */
    int64_t limit_ns;    /* the item's whole budget */
    atomic_bool expired; /* set once the budget is seen spent, from any thread */
} modq_deadline;

/* Starts a call's share of an item's budget of limit_ms, of which spent_ns is already gone. */
void deadline_start(modq_deadline *d, int64_t limit_ms, int64_t spent_ns);
/* Nanoseconds the item has spent so far: earlier calls plus this one. */
int64_t deadline_spent_ns(const modq_deadline *d);
/* True once the item's budget is spent (and from then on). Thread-safe. */
bool deadline_passed(modq_deadline *d);
/*
 * Computes img into a new memory image (vips_image_copy_memory) and stops the computation at the
 * first libvips work unit that finds the budget spent. Returns a new reference owned by the
 * caller (VIPS_UNREF), or NULL on failure: then deadline_passed(d) tells a timeout from a
 * libvips error. Work that libvips does inside one call to a decoder (libjpeg reading every scan
 * of a progressive JPEG before its first row) is not interrupted: it is seen when it returns.
 */
VipsImage *deadline_copy_memory(modq_deadline *d, VipsImage *img);
/* Holds whatever computes img next (a saver, say) to d, until deadline_unwatch(img, id). */
gulong deadline_watch(modq_deadline *d, VipsImage *img);
void deadline_unwatch(VipsImage *img, gulong id);
/* Writes "decode timeout: ..." naming stage and the figures into errstr; returns
 * MODQ_BLUR_ERR_DECODE_TIMEOUT. */
modq_blur_result deadline_fail(const modq_deadline *d, const char *stage, char *errstr,
                               size_t errstr_size);

#endif
