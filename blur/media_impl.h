/*
 * media_impl.h: the layout of a modq_media (private), shared by media.c, which fills one from a
 * decode in this process, and sandbox.c, which fills one from a helper process's answer. A media
 * whose decoded image a helper keeps (MODQ_OPT_DEFER_RENDER in the sandbox) carries a `remote`:
 * modq_media_render and modq_media_release_image then go to that helper.
 */
#ifndef MODQ_BLUR_MEDIA_IMPL_H
#define MODQ_BLUR_MEDIA_IMPL_H

#include "modq_blur.h"

#include <stdbool.h>
#include <vips/vips.h>

typedef struct rendition {
    uint8_t *data; /* g_malloc'd; NULL when the level was not asked for */
    size_t len;
    int w, h;
} rendition;

/* Where a kept decoded image lives when it is not in this process. */
typedef struct modq_media_remote {
    /* Renders opts's levels into m from the kept image, then lets the image go (and whatever
     * held it). */
    modq_blur_result (*render)(modq_media *m, const modq_media_opts *opts, char *errstr,
                               size_t errstr_size);
    /* Lets the kept image go without rendering. */
    void (*release)(modq_media *m);
    void *ctx; /* the owner's, e.g. the helper holding the image */
} modq_media_remote;

struct modq_media {
    int width, height, frames;
    const char *format; /* static */
    uint8_t sha256[MODQ_SHA256_LEN], md5[MODQ_MD5_LEN];
    uint8_t pdq[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES];
    int pdq_quality;
    char sha256_hex[2 * MODQ_SHA256_LEN + 1], md5_hex[2 * MODQ_MD5_LEN + 1];
    char pdq_hex[MODQ_PDQ_HEX_LEN + 1];
    int display_w, display_h;
    modq_rendition_format rformat;
    rendition levels[MODQ_LEVEL_COUNT]; /* greyscale, unless MODQ_OPT_COLOUR made them colour */
    rendition colour[MODQ_LEVEL_COUNT]; /* MODQ_OPT_COLOUR_TOO: the colour ladder beside them */
    bool levels_in_colour; /* levels[] are colour (MODQ_OPT_COLOUR): they are the colour ladder */
    VipsImage *kept_colour, *kept_grey; /* MODQ_OPT_DEFER_RENDER: the decode, until rendered */
    int64_t spent_ns; /* time spent on this item by modq_media_process, for a deferred render */
    modq_media_remote remote; /* render != NULL: the kept decode is in a helper */
};

/* Fills m's facts and hashes from f (hex forms made here); format is a static name. Shared by
 * modq_media_assemble and the sandbox's reply (media_parts.c). */
void media_set_facts(modq_media *m, const modq_media_facts *f, const char *format);

#endif
