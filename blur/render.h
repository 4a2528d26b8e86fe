/* render.h: renditions of one decoded image for the reveal ladder (private). */
#ifndef MODQ_BLUR_RENDER_H
#define MODQ_BLUR_RENDER_H

#include "modq_blur.h"

#include <vips/vips.h>

/*
 * Renders one level from base (a memory image, uchar, 1 or 3 bands) and encodes it without
 * metadata. On success *data is a new
 * buffer of *len bytes owned by the caller (g_free), and *w x *h its pixel size.
 */
modq_blur_result modq_render_level(VipsImage *base, int level, modq_rendition_format format,
                                   int quality, uint8_t **data, size_t *len, int *w, int *h,
                                   char *errstr, size_t errstr_size);
/* Blur sigma of a level as a fraction of the displayed long side; 0 for level 0. */
double modq_render_sigma(int level);

#endif
