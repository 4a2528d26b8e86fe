/*
 * render.c: the reveal ladder. Level 0 is the clear view at display size; levels 1..3 are ever
 * heavier Gaussian blurs. Sigma is a fraction of the displayed size, so an image looks equally
 * blurred whatever its source resolution. It is taken of the long side rather than the width
 * alone: a tall, narrow image would otherwise keep a sharp default view.
 *
 * Why blurred levels are stored small: a level blurred with sigma s carries nothing finer than
 * about s pixels, so it is rendered at the scale where its sigma is RENDER_SIGMA_PX and the
 * browser scales it up. That costs a fraction of blurring at full size and encodes far fewer
 * pixels, for the same picture.
 */
#include "render.h"

#include "internal.h"

#include <webp/encode.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

static const double level_sigma[MODQ_LEVEL_COUNT] = {
    0.0,   /* level 0: clear */
    0.006, /* level 1: the "peek": shapes and faces readable, texture and small text gone */
    0.02,  /* level 2: people and objects recognisable as such, no identity or injury detail */
    0.05,  /* level 3 (default view): colour masses and layout only */
};

/* Sigma, in rendered pixels, that a blurred level is rendered at (see the top of the file): at 2 px
 * the blurred image is band-limited enough that scaling it up shows no pixel structure. */
#define RENDER_SIGMA_PX 2.0
/* No rendition is made smaller than this on its long side, so layout stays legible. */
#define MIN_RENDER_PX 32
/* libwebp's method (0..6). Measured on a 1024x683 grey photo: 0 takes 7.5 ms, 2 takes 15.5 ms,
 * 4 (the usual default) 48 ms, for files 13% and 18% smaller. Review latency wins. */
#define WEBP_EFFORT 0

double render_sigma(int level)
{
    if (level < 0 || level >= MODQ_LEVEL_COUNT) {
        return -1.0;
    }
    return level_sigma[level];
}

/*
 * WebP through libwebp itself: libvips 8.14's saver appends an EXIF chunk even when told to strip,
 * and libwebp's plain encoder writes a bare VP8 stream with no metadata chunks at all. Grey
 * images fill the luma plane directly with neutral chroma: exactly grey, and no RGB expansion.
 * On success *buf is g_malloc'd (caller frees with g_free).
 */
static int encode_webp(VipsImage *img, int quality, modq_deadline *dl, void **buf, size_t *len)
{
    VipsImage *mem = deadline_copy_memory(dl, img);
    WebPConfig config;
    WebPPicture pic;
    WebPMemoryWriter writer;
    int ok = 0;

    WebPMemoryWriterInit(&writer);
    if (!WebPPictureInit(&pic)) {
        goto out;
    }
    /* Pixels are copied as bytes below: anything but uchar would encode as noise. */
    if (!mem || mem->BandFmt != VIPS_FORMAT_UCHAR ||
        !WebPConfigPreset(&config, WEBP_PRESET_PHOTO, (float)quality)) {
        goto out;
    }
    config.method = WEBP_EFFORT;
    pic.width = mem->Xsize;
    pic.height = mem->Ysize;
    pic.writer = WebPMemoryWrite;
    pic.custom_ptr = &writer;
    if (mem->Bands == 1) {
        pic.use_argb = 0;
        pic.colorspace = WEBP_YUV420;
        if (!WebPPictureAlloc(&pic)) {
            goto out;
        }
        /* WebP's luma is limited-range (16..235, as BT.601 video): full-range grey written as is
         * would decode stretched by 255/219 and clipped, crushing shadows and highlights. */
        for (int y = 0; y < mem->Ysize; y++) {
            const uint8_t *src = VIPS_IMAGE_ADDR(mem, 0, y);
            uint8_t *dst = pic.y + (size_t)y * pic.y_stride;
            for (int x = 0; x < mem->Xsize; x++) {
                dst[x] = (uint8_t)(16 + (219 * src[x] + 127) / 255);
            }
        }
        for (int y = 0; y < (mem->Ysize + 1) / 2; y++) {
            memset(pic.u + (size_t)y * pic.uv_stride, 128, (mem->Xsize + 1) / 2);
            memset(pic.v + (size_t)y * pic.uv_stride, 128, (mem->Xsize + 1) / 2);
        }
    } else if (mem->Bands != 3 || !WebPPictureImportRGB(&pic, VIPS_IMAGE_ADDR(mem, 0, 0),
                                                        (int)VIPS_IMAGE_SIZEOF_LINE(mem))) {
        goto out;
    }
    if (!WebPEncode(&config, &pic) || !(*buf = g_memdup2(writer.mem, writer.size))) {
        goto out;
    }
    *len = writer.size;
    ok = 1;
out:
    if (!ok && mem) {
        vips_error("modq", "webp encoding failed (error %d)", (int)pic.error_code);
    }
    WebPPictureFree(&pic);
    WebPMemoryWriterClear(&writer);
    VIPS_UNREF(mem);
    return ok ? 0 : -1;
}

/* On success *buf is g_malloc'd (caller frees with g_free). The saver computes img, held to
 * dl like every other computation. */
static int encode(VipsImage *img, modq_rendition_format format, int quality, modq_deadline *dl,
                  void **buf, size_t *len)
{
    int rc;
    gulong id;

    if (format != MODQ_FORMAT_JPEG) {
        return encode_webp(img, quality, dl, buf, len);
    }
    id = deadline_watch(dl, img);
    /* strip: no EXIF, XMP, IPTC or ICC profile leaves modq (decode.c already dropped them). */
    rc = vips_jpegsave_buffer(img, buf, len, "Q", quality, "strip", TRUE, "optimize_coding", TRUE,
                              NULL);
    deadline_unwatch(img, id);
    if (rc == 0 && deadline_passed(dl)) {
        g_free(*buf);
        *buf = NULL;
        rc = -1;
    }
    return rc;
}

/* The error of a failed step: the deadline's when it passed, else libvips's text. */
static modq_blur_result step_failed(modq_deadline *dl, const char *what, char *errstr,
                                    size_t errstr_size)
{
    if (deadline_passed(dl)) {
        return deadline_fail(dl, what, errstr, errstr_size);
    }
    blur_vips_error(what, errstr, errstr_size);
    return MODQ_BLUR_ERR_ENCODE;
}

modq_blur_result render_level(VipsImage *base, VipsImage *from, int level,
                              modq_rendition_format format, int quality, modq_deadline *dl,
                              uint8_t **data, size_t *len, int *w, int *h, VipsImage **scaled,
                              char *errstr, size_t errstr_size)
{
    VipsImage *small = NULL, *mem = NULL, *blurred = NULL, *rounded = NULL;
    VipsImage *final;
    void *buf = NULL;
    size_t n = 0;
    modq_blur_result r = MODQ_BLUR_ERR_ENCODE;

    if (!base || !from || !dl || !data || !len || level < 0 || level >= MODQ_LEVEL_COUNT) {
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    final = base;
    if (level > 0) {
        int longest = base->Xsize > base->Ysize ? base->Xsize : base->Ysize;
        double sigma_display = level_sigma[level] * longest;
        double scale = RENDER_SIGMA_PX / sigma_display;
        int tw;

        if (scale * longest < MIN_RENDER_PX) {
            scale = (double)MIN_RENDER_PX / longest;
        }
        if (scale > 1.0) {
            scale = 1.0;
        }
        tw = (int)(base->Xsize * scale + 0.5);
        tw = tw < 1 ? 1 : tw;
        if (tw < from->Xsize) {
            /* The blur that follows hides any kernel's difference: the cheapest one will do. */
            if (vips_resize(from, &small, (double)tw / from->Xsize, "kernel", VIPS_KERNEL_LINEAR,
                            NULL) ||
                !(mem = deadline_copy_memory(dl, small))) {
                r = step_failed(dl, "resize", errstr, errstr_size);
                goto out;
            }
        } else {
            mem = from;
            g_object_ref(mem);
        }
        /* Float precision: the integer path compiles vector code per call, ~1.1 ms of fixed cost
         * that dwarfs blurring a few thousand pixels (measured on libvips 8.14). min_ampl 0.01:
         * libvips's default (0.2) cuts the kernel at about 1.8 sigma, which blurs ~18% less than
         * the sigma each level promises. */
        if (vips_gaussblur(mem, &blurred, sigma_display * mem->Xsize / base->Xsize, "precision",
                           VIPS_PRECISION_FLOAT, "min_ampl", 0.01, NULL) ||
            vips_linear1(blurred, &rounded, 1.0, 0.5, "uchar", TRUE, NULL)) {
            blur_vips_error("blur", errstr, errstr_size);
            goto out;
        }
        final = rounded;
    }
    if (encode(final, format, quality, dl, &buf, &n)) {
        r = step_failed(dl, "encode", errstr, errstr_size);
        goto out;
    }
    *data = buf;
    *len = n;
    buf = NULL;
    if (w) {
        *w = final->Xsize;
    }
    if (h) {
        *h = final->Ysize;
    }
    if (scaled) {
        *scaled = mem ? mem : base;
        g_object_ref(*scaled);
    }
    r = MODQ_BLUR_OK;
out:
    g_free(buf);
    VIPS_UNREF(small);
    VIPS_UNREF(mem);
    VIPS_UNREF(blurred);
    VIPS_UNREF(rounded);
    return r;
}
