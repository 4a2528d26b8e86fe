/* decode.h: the single decode of untrusted bytes into a small in-memory image (private). */
#ifndef MODQ_BLUR_DECODE_H
#define MODQ_BLUR_DECODE_H

#include "deadline.h"
#include "modq_blur.h"

#include <vips/vips.h>

typedef struct modq_decoded {
    VipsImage
        *image; /* in memory, uchar, 1 band (B_W) or 3 (sRGB), oriented, long side <= display */
    int width, height;  /* the source's oriented size, before any downscale */
    int frames;         /* page or frame count reported by the container */
    const char *format; /* static name: "jpeg", "png", ... */
} modq_decoded;

/*
 * Sniffs buf (and counts a JPEG's scans), checks opts's limits against the header alone, then
 * decodes once (shrinking on load where the format allows) to an image whose long side is at most
 * the display size, within the item's deadline dl (MODQ_BLUR_ERR_DECODE_TIMEOUT past it). buf
 * must stay valid until this returns; it is not kept. On success out->image is a new reference
 * owned by the caller (release with decode_clear); on failure out holds nothing. errstr gets
 * one line with the figures on failure.
 */
modq_blur_result decode_image(const modq_media_opts *opts, const void *buf, size_t len,
                              modq_deadline *dl, modq_decoded *out, char *errstr,
                              size_t errstr_size);
/* Releases what decode_image stored in d and zeroes it. */
void decode_clear(modq_decoded *d);

#endif
