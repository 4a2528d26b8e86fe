/*
 * media.c: the per-item pipeline. One decode of the untrusted bytes feeds the digests, the PDQ
 * hash and every rendition; the caller's bytes are only read, so nothing of the original
 * survives the call but its hashes. All of it, decode to last rendition, runs within the item's
 * deadline (MODQ_OPT_DEADLINE_MS): an item that runs out of time is refused whole, with no
 * rendition left behind.
 */
#include "deadline.h"
#include "decode.h"
#include "internal.h"
#include "media_impl.h"
#include "render.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* PDQ's reference hashes a thumbnail of at most this many pixels on the long side; hashing the
 * same size keeps our hashes within a few bits of the reference's (measured: 2 bits at most on
 * its published test images, against 8 when hashing the 1024 px display image). */
#define PDQ_INPUT_SIDE 512

/* Luminance Y = 0.299 R + 0.587 G + 0.114 B of gamma-encoded sRGB: PDQ's definition. */
static inline float luma_of(const uint8_t *px, int bands)
{
    return bands >= 3 ? 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2] : (float)px[0];
}

/*
 * Hashes dec's image with PDQ at the reference's input size: when the source's long side is over
 * PDQ_INPUT_SIDE, the grey image (dec's luma, one band: a third of the work of resizing colour)
 * is resized to exactly the size the reference's thumbnail would have, computed from the source
 * dimensions so rounding matches too; smaller images are hashed from their full-precision luma.
 */
static modq_blur_result hash_pdq(const modq_decoded *dec, VipsImage *grey, modq_deadline *dl,
                                 modq_media *m)
{
    VipsImage *img = dec->image, *small = NULL, *mem = NULL;
    int longest = dec->width > dec->height ? dec->width : dec->height;
    float *luma = NULL;
    modq_blur_result r = MODQ_BLUR_ERR_NOMEM;

    if (longest > PDQ_INPUT_SIDE) {
        double k = (double)PDQ_INPUT_SIDE / longest;
        /* Resizing one band of luma costs a third of resizing colour. */
        if (grey) {
            img = grey;
        }
        int tw = dec->width >= dec->height ? PDQ_INPUT_SIDE : (int)(dec->width * k + 0.5);
        int th = dec->height > dec->width ? PDQ_INPUT_SIDE : (int)(dec->height * k + 0.5);
        tw = tw < 1 ? 1 : tw;
        th = th < 1 ? 1 : th;
        if (vips_resize(img, &small, (double)tw / img->Xsize, "vscale", (double)th / img->Ysize,
                        "kernel", VIPS_KERNEL_CUBIC, NULL) ||
            !(mem = deadline_copy_memory(dl, small))) {
            r = deadline_passed(dl) ? MODQ_BLUR_ERR_DECODE_TIMEOUT : MODQ_BLUR_ERR_ENCODE;
            goto out;
        }
        img = mem;
    }
    if (!(luma = malloc((size_t)img->Xsize * (size_t)img->Ysize * sizeof(*luma)))) {
        goto out;
    }
    for (int y = 0; y < img->Ysize; y++) {
        const uint8_t *row = VIPS_IMAGE_ADDR(img, 0, y);
        float *dst = luma + (size_t)y * img->Xsize;
        for (int x = 0; x < img->Xsize; x++, row += img->Bands) {
            dst[x] = luma_of(row, img->Bands);
        }
    }
    r = modq_pdq_hash_luma(luma, img->Xsize, img->Ysize, m->pdq[0], &m->pdq_quality, m->pdq);
    if (r == MODQ_BLUR_OK) {
        modq_pdq_to_hex(m->pdq[0], m->pdq_hex);
    }
out:
    free(luma);
    VIPS_UNREF(small);
    VIPS_UNREF(mem);
    return r;
}

/*
 * The greyscale base of the renditions: PDQ's luma of each pixel, rounded. Cheaper than libvips's
 * colourimetric conversion (no float linear-light round trip) and the weights people's eyes know
 * from television. *grey is a new memory image owned by the caller (VIPS_UNREF).
 */
static int make_grey(VipsImage *img, VipsImage **grey)
{
    VipsImage *g = vips_image_new_memory();

    vips_image_init_fields(g, img->Xsize, img->Ysize, 1, VIPS_FORMAT_UCHAR, VIPS_CODING_NONE,
                           VIPS_INTERPRETATION_B_W, 1.0, 1.0);
    if (vips_image_write_prepare(g)) {
        VIPS_UNREF(g);
        return -1;
    }
    for (int y = 0; y < img->Ysize; y++) {
        const uint8_t *row = VIPS_IMAGE_ADDR(img, 0, y);
        uint8_t *dst = VIPS_IMAGE_ADDR(g, 0, y);
        if (img->Bands >= 3) {
            /* PDQ's weights in 16-bit fixed point (they sum to 65536), rounded. */
            for (int x = 0; x < img->Xsize; x++, row += img->Bands) {
                dst[x] =
                    (uint8_t)((19595u * row[0] + 38470u * row[1] + 7471u * row[2] + 32768u) >> 16);
            }
        } else {
            for (int x = 0; x < img->Xsize; x++, row += img->Bands) {
                dst[x] = row[0];
            }
        }
    }
    *grey = g;
    return 0;
}

/*
 * Renders the levels asked for into ladder, from base. Each level is scaled down from the
 * previous level's downscale: heavier levels are smaller, so no level re-reads the full display
 * image. A level already rendered is kept as it is.
 */
static modq_blur_result render_ladder(rendition *ladder, VipsImage *base, int levels,
                                      modq_rendition_format format, int quality, modq_deadline *dl,
                                      char *errstr, size_t errstr_size)
{
    VipsImage *from = NULL;
    modq_blur_result r = MODQ_BLUR_OK;

    for (int lv = 0; lv < MODQ_LEVEL_COUNT && r == MODQ_BLUR_OK; lv++) {
        rendition *rd = &ladder[lv];
        VipsImage *scaled = NULL;
        if (!(levels & (1 << lv)) || rd->data) {
            continue;
        }
        if (deadline_passed(dl)) {
            r = deadline_fail(dl, "renditions", errstr, errstr_size);
            break;
        }
        r = render_level(base, from ? from : base, lv, format, quality, dl, &rd->data, &rd->len,
                         &rd->w, &rd->h, &scaled, errstr, errstr_size);
        if (r == MODQ_BLUR_OK) {
            VIPS_UNREF(from);
            from = scaled;
        }
    }
    VIPS_UNREF(from);
    return r;
}

/* Frees every rendition m holds. */
static void drop_renditions(modq_media *m)
{
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        MODQ_FREE_NULL_WITH(g_free, m->levels[lv].data);
        MODQ_FREE_NULL_WITH(g_free, m->colour[lv].data);
    }
}

/*
 * Renders the levels opts asks for: from colour (the decoded image) or grey (its luma) as opts's
 * colour setting says, then, with MODQ_OPT_COLOUR_TOO, the same levels again from colour. Both
 * ladders start from images of one size, so their levels match in size and blur.
 */
static modq_blur_result render_levels(modq_media *m, VipsImage *colour, VipsImage *grey,
                                      const modq_media_opts *opts, modq_deadline *dl, char *errstr,
                                      size_t errstr_size)
{
    int levels = (int)modq_opts_get(opts, MODQ_OPT_LEVELS);
    int quality = (int)modq_opts_get(opts, MODQ_OPT_QUALITY);
    bool in_colour = modq_opts_get(opts, MODQ_OPT_COLOUR) == 1;
    modq_blur_result r;

    m->rformat = (modq_rendition_format)modq_opts_get(opts, MODQ_OPT_FORMAT);
    m->levels_in_colour = in_colour;
    r = render_ladder(m->levels, in_colour ? colour : grey, levels, m->rformat, quality, dl, errstr,
                      errstr_size);
    /* A ladder already in colour is the colour ladder: a second one would be the same bytes. */
    if (r == MODQ_BLUR_OK && !in_colour && modq_opts_get(opts, MODQ_OPT_COLOUR_TOO) == 1) {
        r = render_ladder(m->colour, colour, levels, m->rformat, quality, dl, errstr, errstr_size);
    }
    /* A ladder cut short would show some levels and not others: none, then. */
    if (r != MODQ_BLUR_OK) {
        drop_renditions(m);
    }
    return r;
}

/* The hashes of dec (and buf's digests) into m; *grey receives the luma image (a new reference)
 * that PDQ hashed, for the renditions. */
static modq_blur_result hash_item(const modq_decoded *dec, const void *buf, size_t len,
                                  modq_deadline *dl, modq_media *m, VipsImage **grey, char *errstr,
                                  size_t errstr_size)
{
    modq_blur_result r;

    if ((r = modq_digest_compute(buf, len, m->sha256, m->md5)) != MODQ_BLUR_OK) {
        modq_errstr_set(errstr, errstr_size, "digest failed");
        return r;
    }
    modq_digest_hex(m->sha256, MODQ_SHA256_LEN, m->sha256_hex);
    modq_digest_hex(m->md5, MODQ_MD5_LEN, m->md5_hex);
    /* The grey image serves PDQ whatever the options, so a hash never depends on how the media
     * was rendered, and is the renditions' base unless colour was asked for. */
    if (dec->image->Bands == 1) {
        *grey = dec->image;
        g_object_ref(*grey);
    } else if (make_grey(dec->image, grey)) {
        blur_vips_error("greyscale", errstr, errstr_size);
        return MODQ_BLUR_ERR_NOMEM;
    }
    if (deadline_passed(dl)) {
        return deadline_fail(dl, "digests and greyscale", errstr, errstr_size);
    }
    if ((r = hash_pdq(dec, *grey, dl, m)) != MODQ_BLUR_OK) {
        if (r == MODQ_BLUR_ERR_DECODE_TIMEOUT) {
            deadline_fail(dl, "pdq", errstr, errstr_size);
        } else if (r == MODQ_BLUR_ERR_ENCODE) {
            blur_vips_error("pdq resize", errstr, errstr_size);
        } else {
            modq_errstr_set(errstr, errstr_size, "pdq: %s", modq_blur_strerror(r));
        }
    }
    return r;
}

modq_blur_result modq_media_process(const modq_media_opts *opts, const void *buf, size_t len,
                                    modq_media **out, char *errstr, size_t errstr_size)
{
    modq_decoded dec = {0};
    modq_deadline dl;
    VipsImage *grey = NULL;
    modq_media *m = NULL;
    modq_blur_result r;

    if (!opts || !out || (!buf && len > 0)) {
        modq_errstr_set(errstr, errstr_size, "invalid argument");
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    deadline_start(&dl, modq_opts_get(opts, MODQ_OPT_DEADLINE_MS), 0);
    *out = NULL;
    if (!(m = calloc(1, sizeof(*m)))) {
        modq_errstr_set(errstr, errstr_size, "out of memory");
        return MODQ_BLUR_ERR_NOMEM;
    }
    if ((r = decode_image(opts, buf, len, &dl, &dec, errstr, errstr_size)) != MODQ_BLUR_OK) {
        goto out;
    }
    if ((r = hash_item(&dec, buf, len, &dl, m, &grey, errstr, errstr_size)) != MODQ_BLUR_OK) {
        goto out;
    }
    m->width = dec.width;
    m->height = dec.height;
    m->frames = dec.frames;
    m->format = dec.format;
    m->display_w = dec.image->Xsize;
    m->display_h = dec.image->Ysize;
    if (modq_opts_get(opts, MODQ_OPT_DEFER_RENDER)) {
        m->kept_colour = dec.image;
        m->kept_grey = grey;
        g_object_ref(m->kept_colour);
        g_object_ref(m->kept_grey);
    } else if ((r = render_levels(m, dec.image, grey, opts, &dl, errstr, errstr_size)) !=
               MODQ_BLUR_OK) {
        goto out;
    }
    m->spent_ns = deadline_spent_ns(&dl);
    *out = m;
    m = NULL;
    r = MODQ_BLUR_OK;
out:
    VIPS_UNREF(grey);
    decode_clear(&dec);
    modq_media_free(m);
    return r;
}

modq_blur_result modq_media_render(modq_media *m, const modq_media_opts *opts, char *errstr,
                                   size_t errstr_size)
{
    modq_deadline dl;
    modq_blur_result r;

    if (m && opts && m->remote.render) {
        return m->remote.render(m, opts, errstr, errstr_size);
    }
    if (!m || !opts || !m->kept_colour) {
        modq_errstr_set(errstr, errstr_size, "nothing kept to render");
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    /* The item's budget, less what its decode and hashes spent: the time between the two calls
     * is the caller's, not the item's. */
    deadline_start(&dl, modq_opts_get(opts, MODQ_OPT_DEADLINE_MS), m->spent_ns);
    r = render_levels(m, m->kept_colour, m->kept_grey, opts, &dl, errstr, errstr_size);
    m->spent_ns = deadline_spent_ns(&dl);
    modq_media_release_image(m);
    return r;
}

void modq_media_release_image(modq_media *m)
{
    if (!m) {
        return;
    }
    if (m->remote.release) {
        m->remote.release(m);
    }
    VIPS_UNREF(m->kept_colour);
    VIPS_UNREF(m->kept_grey);
}

void modq_media_free(modq_media *m)
{
    if (!m) {
        return;
    }
    modq_media_release_image(m);
    drop_renditions(m);
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

const uint8_t *modq_media_md5(const modq_media *m)
{
    return m ? m->md5 : NULL;
}

const uint8_t *modq_media_pdq_dihedral(const modq_media *m, int variant)
{
    if (!m || variant < 0 || variant >= MODQ_PDQ_DIHEDRAL) {
        return NULL;
    }
    return m->pdq[variant];
}

const uint8_t (*modq_media_pdq_variants(const modq_media *m))[MODQ_PDQ_BYTES]
{
    return m ? (const uint8_t(*)[MODQ_PDQ_BYTES])m->pdq : NULL;
}

int modq_media_pdq_quality(const modq_media *m)
{
    return m ? m->pdq_quality : 0;
}

/* Level level of ladder into the outputs (any may be NULL); INVALID_ARG when not rendered. */
static modq_blur_result get_rendition(const rendition *ladder, int level, const uint8_t **data,
                                      size_t *len, int *w, int *h)
{
    const rendition *rd;

    if (level < 0 || level >= MODQ_LEVEL_COUNT || !ladder[level].data) {
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    rd = &ladder[level];
    if (data) {
        *data = rd->data;
    }
    if (len) {
        *len = rd->len;
    }
    if (w) {
        *w = rd->w;
    }
    if (h) {
        *h = rd->h;
    }
    return MODQ_BLUR_OK;
}

modq_blur_result modq_media_rendition(const modq_media *m, int level, const uint8_t **data,
                                      size_t *len, int *w, int *h)
{
    if (!m) {
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    return get_rendition(m->levels, level, data, len, w, h);
}

modq_blur_result modq_media_rendition_colour(const modq_media *m, int level, const uint8_t **data,
                                             size_t *len, int *w, int *h)
{
    if (!m) {
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    return get_rendition(m->levels_in_colour ? m->levels : m->colour, level, data, len, w, h);
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
    if (!m) {
        return NULL;
    }
    return m->rformat == MODQ_FORMAT_JPEG ? "image/jpeg" : "image/webp";
}

double modq_media_level_sigma(int level)
{
    return render_sigma(level);
}
