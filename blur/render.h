/* render.h: renditions of one decoded image for the reveal ladder (private). */
#ifndef MODQ_BLUR_RENDER_H
#define MODQ_BLUR_RENDER_H

#include "deadline.h"
#include "modq_blur.h"

#include <vips/vips.h>

/*
 * Renders one level and encodes it without metadata. base (a memory image, uchar, 1 or 3 bands)
 * fixes the geometry; the pixels are scaled down from `from`, which is base or any memory image
 * of the same picture at least as large as this level (a lighter level's downscale). On success
 * *data is a new buffer of *len bytes owned by the caller (g_free), *w x *h its pixel size, and,
 * when scaled is non-NULL, *scaled a new reference (VIPS_UNREF) to this level's downscale before
 * blurring, in memory, for the next level to start from. The computations stop when the
 * item's deadline dl passes: MODQ_BLUR_ERR_DECODE_TIMEOUT, and nothing is returned.
 */
modq_blur_result render_level(VipsImage *base, VipsImage *from, int level,
                              modq_rendition_format format, int quality, modq_deadline *dl,
                              uint8_t **data, size_t *len, int *w, int *h, VipsImage **scaled,
                              char *errstr, size_t errstr_size);
/* Blur sigma of a level as a fraction of the displayed long side; 0 for level 0. */
double render_sigma(int level);

#endif
