/*
 * stages.h: the --stages breakdown of modq-bench-media (bench/stages.c), private to bench/.
 */
#ifndef MODQ_BENCH_STAGES_H
#define MODQ_BENCH_STAGES_H

#include <stddef.h>
#include <stdint.h>

#include <vips/vips.h>

/*
 * The floor: decode only, with shrink-on-load (the largest JPEG shrink that keeps the long side at
 * or above size, WebP's scale), then, when resize is set, down to size on the long side with
 * libvips's default kernel (as vips_thumbnail does), into memory. No colour conversion, rotation,
 * hashing or encoding. data is only read. On success *out is a new in-memory image owned by the
 * caller (g_object_unref); on failure -1 with the reason in libvips's error buffer.
 */
int modq_stages_floor(uint8_t *data, size_t len, int size, int resize, VipsImage **out);

/*
 * Redoes the work of one pipeline run as separate libvips steps at the sizes modq chose for this
 * image (decode to display size, greyscale, PDQ, then per level resize, blur and WebP encode) and
 * prints one "stage" line with the median time of each step; effort is the WebP effort to encode
 * with. data is only read (non-const for
 * libvips's thumbnail API). Returns 0, or -1
 * after printing an "error" line.
 */
int modq_stages_report(uint8_t *data, size_t len, int display_size, int reps, int effort,
                       const char *path);

#endif /* MODQ_BENCH_STAGES_H */
