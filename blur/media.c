/*
 * media.c: the per-item pipeline. One decode of the untrusted bytes feeds the digests, the PDQ
 * hash and every rendition; the caller's bytes are only read, so nothing of the original
 * survives the call but its hashes.
 */
#include "decode.h"
#include "internal.h"
#include "render.h"

#include <stdlib.h>
#include <string.h>

typedef struct rendition {
    uint8_t *data; /* g_malloc'd by libvips; NULL when the level was not asked for */
    size_t len;
    int w, h;
} rendition;

struct modq_media {
    int width, height, frames;
    const char *format;
    uint8_t sha256[MODQ_SHA256_LEN], md5[MODQ_MD5_LEN];
    uint8_t pdq[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES];
    int pdq_quality;
    char sha256_hex[2 * MODQ_SHA256_LEN + 1], md5_hex[2 * MODQ_MD5_LEN + 1];
    char pdq_hex[MODQ_PDQ_HEX_LEN + 1];
    int display_w, display_h;
    modq_rendition_format rformat;
    rendition levels[MODQ_LEVEL_COUNT];
};

/* PDQ wants luminance Y = 0.299 R + 0.587 G + 0.114 B of the gamma-encoded sRGB values. */
static modq_blur_result hash_pixels(VipsImage *img, modq_media *m)
{
    int w = img->Xsize, h = img->Ysize, bands = img->Bands;
    float *luma = malloc((size_t)w * (size_t)h * sizeof(*luma));
    modq_blur_result r;

    if (!luma)
        return MODQ_BLUR_ERR_NOMEM;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = VIPS_IMAGE_ADDR(img, 0, y);
        float *dst = luma + (size_t)y * w;
        if (bands >= 3) {
            for (int x = 0; x < w; x++, row += bands)
                dst[x] = 0.299f * row[0] + 0.587f * row[1] + 0.114f * row[2];
        } else {
            for (int x = 0; x < w; x++, row += bands)
                dst[x] = row[0];
        }
    }
    r = modq_pdq_hash_luma(luma, w, h, m->pdq[0], &m->pdq_quality, m->pdq);
    free(luma);
    if (r == MODQ_BLUR_OK)
        modq_pdq_to_hex(m->pdq[0], m->pdq_hex);
    return r;
}

modq_blur_result modq_media_process(const modq_media_opts *opts, const void *buf, size_t len,
                                    modq_media **out, char *errstr, size_t errstr_size)
{
    modq_decoded dec = {0};
    VipsImage *base = NULL;
    modq_media *m = NULL;
    modq_blur_result r;
    int levels = (int)modq_opts_get(opts, MODQ_OPT_LEVELS);
    int quality = (int)modq_opts_get(opts, MODQ_OPT_QUALITY);

    if (!opts || !out || (!buf && len > 0)) {
        MODQ_ERRSTR(errstr, errstr_size, "invalid argument");
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (!(m = calloc(1, sizeof(*m)))) {
        MODQ_ERRSTR(errstr, errstr_size, "out of memory");
        return MODQ_BLUR_ERR_NOMEM;
    }
    if ((r = modq_decode_image(opts, buf, len, &dec, errstr, errstr_size)) != MODQ_BLUR_OK)
        goto out;
    if ((r = modq_digest_compute(buf, len, m->sha256, m->md5)) != MODQ_BLUR_OK) {
        MODQ_ERRSTR(errstr, errstr_size, "digest failed");
        goto out;
    }
    modq_digest_hex(m->sha256, MODQ_SHA256_LEN, m->sha256_hex);
    modq_digest_hex(m->md5, MODQ_MD5_LEN, m->md5_hex);
    if ((r = hash_pixels(dec.image, m)) != MODQ_BLUR_OK) {
        MODQ_ERRSTR(errstr, errstr_size, "pdq: %s", modq_blur_strerror(r));
        goto out;
    }
    m->width = dec.width;
    m->height = dec.height;
    m->frames = dec.frames;
    m->format = dec.format;
    m->display_w = dec.image->Xsize;
    m->display_h = dec.image->Ysize;
    m->rformat = (modq_rendition_format)modq_opts_get(opts, MODQ_OPT_FORMAT);

    if (levels) {
        r = modq_render_base(dec.image, (int)modq_opts_get(opts, MODQ_OPT_COLOUR), &base, errstr,
                             errstr_size);
        if (r != MODQ_BLUR_OK)
            goto out;
    }
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        rendition *rd = &m->levels[lv];
        if (!(levels & (1 << lv)))
            continue;
        r = modq_render_level(base, lv, m->rformat, quality, &rd->data, &rd->len, &rd->w, &rd->h,
                              errstr, errstr_size);
        if (r != MODQ_BLUR_OK)
            goto out;
    }
    *out = m;
    m = NULL;
    r = MODQ_BLUR_OK;
out:
    VIPS_UNREF(base);
    modq_decode_clear(&dec);
    modq_media_free(m);
    return r;
}

void modq_media_free(modq_media *m)
{
    if (!m)
        return;
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++)
        MODQ_FREE_AND_NULL(g_free, m->levels[lv].data);
    free(m);
}

int modq_media_width(const modq_media *m)
{
    return m ? m->width : 0;
}

int modq_media_height(const modq_media *m)
{
    return m ? m->height : 0;
}

const char *modq_media_format(const modq_media *m)
{
    return m ? m->format : NULL;
}

int modq_media_frames(const modq_media *m)
{
    return m ? m->frames : 0;
}

const char *modq_media_sha256_hex(const modq_media *m)
{
    return m ? m->sha256_hex : NULL;
}

const char *modq_media_md5_hex(const modq_media *m)
{
    return m ? m->md5_hex : NULL;
}

const char *modq_media_pdq_hex(const modq_media *m)
{
    return m ? m->pdq_hex : NULL;
}

const uint8_t *modq_media_sha256(const modq_media *m)
{
    return m ? m->sha256 : NULL;
}

const uint8_t *modq_media_pdq_dihedral(const modq_media *m, int variant)
{
    if (!m || variant < 0 || variant >= MODQ_PDQ_DIHEDRAL)
        return NULL;
    return m->pdq[variant];
}

int modq_media_pdq_quality(const modq_media *m)
{
    return m ? m->pdq_quality : 0;
}

modq_blur_result modq_media_rendition(const modq_media *m, int level, const uint8_t **data,
                                      size_t *len, int *w, int *h)
{
    const rendition *rd;

    if (!m || level < 0 || level >= MODQ_LEVEL_COUNT || !m->levels[level].data)
        return MODQ_BLUR_ERR_INVALID_ARG;
    rd = &m->levels[level];
    if (data)
        *data = rd->data;
    if (len)
        *len = rd->len;
    if (w)
        *w = rd->w;
    if (h)
        *h = rd->h;
    return MODQ_BLUR_OK;
}

int modq_media_display_width(const modq_media *m)
{
    return m ? m->display_w : 0;
}

int modq_media_display_height(const modq_media *m)
{
    return m ? m->display_h : 0;
}

const char *modq_media_mime(const modq_media *m)
{
    if (!m)
        return NULL;
    return m->rformat == MODQ_FORMAT_JPEG ? "image/jpeg" : "image/webp";
}

double modq_media_level_sigma(int level)
{
    return modq_render_sigma(level);
}
