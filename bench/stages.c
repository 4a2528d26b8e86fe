/*
 * stages.c: the --stages breakdown of modq-bench-media. The public options can only show the cost
 * of a whole level; this redoes the same work as separate steps at the sizes modq chose (read back
 * from a real run), so the time of decode, greyscale, PDQ, resize, blur and encode can be told
 * apart. The encode is libwebp fed the luma plane directly (the least a grey WebP costs); beside
 * it are priced the alternatives: libvips's webpsave, an approximate blur, and resize + blur of
 * a level in plain C loops. It is a model of the pipeline, not
 * the pipeline: the report prints its sum next to the measured full run.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vips/vips.h>
#include <webp/encode.h>

#include "modq_blur.h"
#include "stages.h"

#define MAX_REPS 100
#define UNREF_NULL(p)                                                                              \
    do {                                                                                           \
        if (p)                                                                                     \
            g_object_unref(p);                                                                     \
        (p) = NULL;                                                                                \
    } while (0)

enum step_kind { ST_DECODE, ST_GREY, ST_PDQ, ST_RESIZE, ST_BLUR, ST_PLAIN, ST_ENC, ST_VIPS_ENC };

/* One step: its input and parameters, and the image it made last time (owned, unreffed when the
 * step runs again or by step_clear), so steps can be chained. */
struct step {
    enum step_kind kind;
    uint8_t *data; /* ST_DECODE: the file bytes, borrowed */
    size_t len;
    int size;       /* ST_DECODE: display size */
    VipsImage *in;  /* borrowed */
    double hscale;  /* ST_RESIZE */
    double vscale;  /* ST_RESIZE */
    int w, h;       /* ST_PLAIN: output size */
    double sigma;   /* ST_BLUR, ST_PLAIN: in pixels of the output */
    int approx;     /* ST_BLUR: VIPS_PRECISION_APPROXIMATE instead of libvips's default */
    int quality;    /* ST_ENC */
    int effort;     /* ST_ENC, ST_VIPS_ENC */
    VipsImage *out; /* owned */
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* PDQ's hashes are taken of a thumbnail this size on the long side, as blur/media.c does. */
#define PDQ_SIDE 512

/* 8-bit without alpha (flattened on white) and without 16-bit samples. *out is a new reference. */
static int to_uchar(VipsImage *in, VipsImage **out)
{
    VipsImage *flat = NULL;
    int rc = -1;

    if (vips_image_hasalpha(in)) {
        double white[3] = {255, 255, 255};
        VipsArrayDouble *bg = vips_array_double_new(white, in->Bands - 1 > 3 ? 3 : in->Bands - 1);
        rc = vips_flatten(in, &flat, "background", bg, NULL);
        vips_area_unref(VIPS_AREA(bg));
        if (rc != 0) {
            return -1;
        }
        rc = -1;
    } else {
        flat = in;
        g_object_ref(flat);
    }
    if (flat->BandFmt != VIPS_FORMAT_UCHAR) {
        rc = vips_cast_uchar(flat, out, "shift", flat->BandFmt == VIPS_FORMAT_USHORT, NULL);
    } else {
        *out = flat;
        g_object_ref(*out);
        rc = 0;
    }
    UNREF_NULL(flat);
    return rc;
}

/* The greyscale base: Y = 0.299 R + 0.587 G + 0.114 B per pixel in fixed point, rounded, into a
 * new memory image (*out, owned by the caller). One pass, no colourimetry. */
static int to_grey(VipsImage *in, VipsImage **out)
{
    VipsImage *u = NULL, *mem = NULL, *g = NULL;
    int rc = -1;

    if (to_uchar(in, &u) != 0 || !(mem = vips_image_copy_memory(u))) {
        goto out;
    }
    g = vips_image_new_memory();
    vips_image_init_fields(g, mem->Xsize, mem->Ysize, 1, VIPS_FORMAT_UCHAR, VIPS_CODING_NONE,
                           VIPS_INTERPRETATION_B_W, 1.0, 1.0);
    if (vips_image_write_prepare(g) != 0) {
        goto out;
    }
    for (int y = 0; y < mem->Ysize; y++) {
        const uint8_t *p = VIPS_IMAGE_ADDR(mem, 0, y);
        uint8_t *q = VIPS_IMAGE_ADDR(g, 0, y);
        for (int x = 0; x < mem->Xsize; x++, p += mem->Bands) {
            q[x] = mem->Bands >= 3
                       ? (uint8_t)((19595u * p[0] + 38470u * p[1] + 7471u * p[2] + 32768u) >> 16)
                       : p[0];
        }
    }
    *out = g;
    g = NULL;
    rc = 0;
out:
    UNREF_NULL(g);
    UNREF_NULL(mem);
    UNREF_NULL(u);
    return rc;
}

/* PDQ of the decoded display image: down to PDQ_SIDE on the long side, luma as floats, hash with
 * the dihedral variants. */
static int pdq_of(VipsImage *in)
{
    VipsImage *u = NULL, *small = NULL, *mem = NULL;
    int longest = in->Xsize > in->Ysize ? in->Xsize : in->Ysize, q = 0, rc = -1;
    float *luma = NULL;
    uint8_t hash[MODQ_PDQ_BYTES], dihedral[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES];

    if (to_uchar(in, &u) != 0) {
        goto out;
    }
    if (longest > PDQ_SIDE) {
        if (vips_resize(u, &small, (double)PDQ_SIDE / longest, NULL) != 0) {
            goto out;
        }
    } else {
        small = u;
        g_object_ref(small);
    }
    if (!(mem = vips_image_copy_memory(small))) {
        goto out;
    }
    luma = malloc((size_t)mem->Xsize * (size_t)mem->Ysize * sizeof *luma);
    if (!luma) {
        goto out;
    }
    for (int y = 0; y < mem->Ysize; y++) {
        const uint8_t *p = VIPS_IMAGE_ADDR(mem, 0, y);
        float *dst = luma + (size_t)y * (size_t)mem->Xsize;
        for (int x = 0; x < mem->Xsize; x++, p += mem->Bands) {
            dst[x] = mem->Bands >= 3 ? 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2] : p[0];
        }
    }
    if (modq_pdq_hash_luma(luma, mem->Xsize, mem->Ysize, hash, &q, dihedral) == MODQ_BLUR_OK) {
        rc = 0;
    }
out:
    free(luma);
    UNREF_NULL(mem);
    UNREF_NULL(small);
    UNREF_NULL(u);
    return rc;
}

/* One axis of an area-average shrink: out[i] averages in[lo(i) .. hi(i)) with the cell edges
 * rounded to whole source pixels (every source pixel counted once). step is the distance between
 * consecutive samples of a line, in floats, so the same code runs along rows and columns. */
static void shrink_line(const float *in, int n_in, ptrdiff_t step, float *out, int n_out,
                        ptrdiff_t out_step)
{
    for (int i = 0; i < n_out; i++) {
        int lo = (int)((long long)i * n_in / n_out), hi = (int)((long long)(i + 1) * n_in / n_out);
        float sum = 0;
        if (hi <= lo) {
            hi = lo + 1;
        }
        for (int k = lo; k < hi; k++) {
            sum += in[k * step];
        }
        out[i * out_step] = sum / (float)(hi - lo);
    }
}

/* One axis of a Gaussian blur (kernel of radius ceil(3 sigma), edges clamped). */
static void blur_line(const float *in, int n, ptrdiff_t step, float *out, ptrdiff_t out_step,
                      const float *kernel, int radius)
{
    for (int i = 0; i < n; i++) {
        float sum = 0;
        for (int k = -radius; k <= radius; k++) {
            int j = i + k < 0 ? 0 : i + k >= n ? n - 1 : i + k;
            sum += kernel[k + radius] * in[j * step];
        }
        out[i * out_step] = sum;
    }
}

/*
 * What a level costs without libvips: area-average the grey base g down to w x h, blur it with a
 * separable Gaussian of sigma px, round to 8 bits. Plain loops over small float buffers; the
 * rendition sizes are small enough that libvips's per-operation set-up is most of its cost there.
 */
static int plain_level(VipsImage *g, int w, int h, double sigma)
{
    int sw = g->Xsize, sh = g->Ysize, radius = (int)(3.0 * sigma + 0.999), rc = -1;
    float *src = malloc((size_t)sw * (size_t)sh * sizeof *src);
    float *rows = malloc((size_t)w * (size_t)sh * sizeof *rows);
    float *a = malloc((size_t)w * (size_t)h * sizeof *a);
    float *b = malloc((size_t)w * (size_t)h * sizeof *b);
    float *kernel = malloc((size_t)(2 * radius + 1) * sizeof *kernel);
    uint8_t *out = malloc((size_t)w * (size_t)h);
    float ksum = 0;

    if (!src || !rows || !a || !b || !kernel || !out || g->Bands != 1) {
        goto out;
    }
    for (int y = 0; y < sh; y++) {
        const uint8_t *p = VIPS_IMAGE_ADDR(g, 0, y);
        for (int x = 0; x < sw; x++) {
            src[(size_t)y * (size_t)sw + (size_t)x] = p[x];
        }
    }
    for (int y = 0; y < sh; y++) {
        shrink_line(src + (size_t)y * (size_t)sw, sw, 1, rows + (size_t)y * (size_t)w, w, 1);
    }
    for (int x = 0; x < w; x++) {
        shrink_line(rows + x, sh, w, a + x, h, w);
    }
    for (int k = -radius; k <= radius; k++) {
        kernel[k + radius] = sigma > 0 ? (float)exp(-(k * k) / (2.0 * sigma * sigma)) : 1.0f;
        ksum += kernel[k + radius];
    }
    for (int k = 0; k <= 2 * radius; k++) {
        kernel[k] /= ksum;
    }
    for (int y = 0; y < h; y++) {
        blur_line(a + (size_t)y * (size_t)w, w, 1, b + (size_t)y * (size_t)w, 1, kernel, radius);
    }
    for (int x = 0; x < w; x++) {
        blur_line(b + x, h, w, a + x, w, kernel, radius);
    }
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++) {
        out[i] = (uint8_t)(a[i] < 0 ? 0 : a[i] > 255 ? 255 : a[i] + 0.5f);
    }
    rc = 0;
out:
    free(src);
    free(rows);
    free(a);
    free(b);
    free(kernel);
    free(out);
    return rc;
}

/* Lossy WebP of an 8-bit one-band in-memory image with libwebp, the luma plane filled directly
 * and chroma neutral: the least an encoder of a grey rendition has to do. */
static int webp_grey(VipsImage *g, int quality, int effort)
{
    WebPConfig config;
    WebPPicture pic;
    WebPMemoryWriter writer;
    int ok = 0, cw = (g->Xsize + 1) / 2, ch = (g->Ysize + 1) / 2;

    WebPMemoryWriterInit(&writer);
    if (!WebPPictureInit(&pic) || !WebPConfigPreset(&config, WEBP_PRESET_PHOTO, (float)quality)) {
        goto out;
    }
    config.method = effort;
    pic.use_argb = 0;
    pic.colorspace = WEBP_YUV420;
    pic.width = g->Xsize;
    pic.height = g->Ysize;
    pic.writer = WebPMemoryWrite;
    pic.custom_ptr = &writer;
    if (g->Bands != 1 || !WebPPictureAlloc(&pic)) {
        goto out;
    }
    for (int y = 0; y < g->Ysize; y++) {
        memcpy(pic.y + (size_t)y * (size_t)pic.y_stride, VIPS_IMAGE_ADDR(g, 0, y),
               (size_t)g->Xsize);
    }
    for (int y = 0; y < ch; y++) {
        memset(pic.u + (size_t)y * (size_t)pic.uv_stride, 128, (size_t)cw);
        memset(pic.v + (size_t)y * (size_t)pic.uv_stride, 128, (size_t)cw);
    }
    ok = WebPEncode(&config, &pic);
out:
    WebPPictureFree(&pic);
    WebPMemoryWriterClear(&writer);
    return ok ? 0 : -1;
}

/* Opens buf with libvips's own sniffing, lazily (only the header is read until pixels are asked
 * for), with the JPEG shrink or WebP scale given when that is the format. */
static int open_lazy(uint8_t *data, size_t len, const char *loader, int shrink, double scale,
                     VipsImage **out)
{
    if (shrink > 1 && strstr(loader, "Jpeg")) {
        return vips_jpegload_buffer(data, len, out, "access", VIPS_ACCESS_SEQUENTIAL, "shrink",
                                    shrink, NULL);
    }
    if (scale < 1.0 && strstr(loader, "Webp")) {
        return vips_webpload_buffer(data, len, out, "access", VIPS_ACCESS_SEQUENTIAL, "scale",
                                    scale, NULL);
    }
    *out = vips_image_new_from_buffer(data, len, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    return *out ? 0 : -1;
}

int modq_stages_floor(uint8_t *data, size_t len, int size, int resize, VipsImage **out)
{
    VipsImage *hdr = NULL, *img = NULL, *small = NULL;
    const char *loader = vips_foreign_find_load_buffer(data, len);
    int rc = -1, shrink = 1, longest;
    double scale = 1.0;

    *out = NULL;
    if (!loader || open_lazy(data, len, loader, 1, 1.0, &hdr) != 0) {
        goto out;
    }
    longest = hdr->Xsize > hdr->Ysize ? hdr->Xsize : hdr->Ysize;
    /* The largest JPEG shrink that keeps the long side at or above the display size. */
    while (shrink < 8 && longest / (shrink * 2) >= size) {
        shrink *= 2;
    }
    if (longest > size) {
        scale = (double)size / longest;
    }
    if (open_lazy(data, len, loader, shrink, scale, &img) != 0) {
        goto out;
    }
    longest = img->Xsize > img->Ysize ? img->Xsize : img->Ysize;
    if (resize && longest > size) {
        if (vips_resize(img, &small, (double)size / longest, NULL) != 0) {
            goto out;
        }
    } else {
        small = img;
        g_object_ref(small);
    }
    *out = vips_image_copy_memory(small);
    rc = *out ? 0 : -1;
out:
    UNREF_NULL(small);
    UNREF_NULL(img);
    UNREF_NULL(hdr);
    return rc;
}

static int step_run(struct step *s)
{
    VipsImage *t = NULL, *f = NULL;
    void *buf = NULL;
    size_t len = 0;
    int rc = -1;

    UNREF_NULL(s->out);
    switch (s->kind) {
    case ST_DECODE:
        if (modq_stages_floor(s->data, s->len, s->size, 1, &s->out) != 0) {
            goto out;
        }
        break;
    case ST_GREY:
        if (to_grey(s->in, &s->out) != 0) {
            goto out;
        }
        break;
    case ST_PDQ:
        rc = pdq_of(s->in);
        goto out;
    case ST_RESIZE:
        /* The blur that follows hides the kernel: linear, as blur/render.c does. */
        if (vips_resize(s->in, &t, s->hscale, "vscale", s->vscale, "kernel", VIPS_KERNEL_LINEAR,
                        NULL) != 0) {
            goto out;
        }
        s->out = vips_image_copy_memory(t);
        break;
    case ST_BLUR:
        /* As blur/render.c: float precision (the integer path compiles code per call), rounded
         * back to uchar. The approximate variant is uchar in, uchar out. */
        if (s->approx) {
            if (vips_gaussblur(s->in, &t, s->sigma, "precision", VIPS_PRECISION_APPROXIMATE,
                               NULL) != 0) {
                goto out;
            }
        } else if (vips_gaussblur(s->in, &f, s->sigma, "precision", VIPS_PRECISION_FLOAT, NULL) !=
                       0 ||
                   vips_linear1(f, &t, 1.0, 0.5, "uchar", TRUE, NULL) != 0) {
            goto out;
        }
        s->out = vips_image_copy_memory(t);
        break;
    case ST_PLAIN:
        rc = plain_level(s->in, s->w, s->h, s->sigma);
        goto out;
    case ST_ENC:
        rc = webp_grey(s->in, s->quality, s->effort);
        goto out;
    case ST_VIPS_ENC:
        if (vips_webpsave_buffer(s->in, &buf, &len, "Q", s->quality, "effort", s->effort, "strip",
                                 TRUE, NULL) != 0) {
            goto out;
        }
        rc = 0;
        goto out;
    }
    rc = s->out ? 0 : -1;
out:
    g_free(buf);
    UNREF_NULL(t);
    UNREF_NULL(f);
    return rc;
}

/* Warm-up, then reps timed runs; median into *ms. s->out holds the last run's image. */
static int step_time(struct step *s, int reps, double *ms)
{
    double v[MAX_REPS];

    if (reps > MAX_REPS) {
        reps = MAX_REPS;
    }
    if (step_run(s) != 0) {
        return -1;
    }
    for (int i = 0; i < reps; i++) {
        double t0 = now_ms();
        if (step_run(s) != 0) {
            return -1;
        }
        v[i] = now_ms() - t0;
    }
    qsort(v, (size_t)reps, sizeof *v, cmp_double);
    *ms = reps % 2 ? v[reps / 2] : (v[reps / 2 - 1] + v[reps / 2]) / 2.0;
    return 0;
}

/* Times resize, blur (and its variants) and encode of one level: from, the previous level's
 * downscale (the greyscale base for level 0), to w x h. Prints its fields. On success *scaled is a
 * new reference (caller unrefs) to this level's downscale, before blurring, for the next level. */
static int level_report(VipsImage *from, int level, int w, int h, int quality, int effort, int reps,
                        VipsImage **scaled)
{
    struct step rs = {.kind = ST_RESIZE, .in = from};
    struct step bl = {.kind = ST_BLUR}, ap = {.kind = ST_BLUR, .approx = 1};
    struct step pc = {.kind = ST_PLAIN, .in = from, .w = w, .h = h};
    struct step en = {.kind = ST_ENC, .quality = quality, .effort = effort};
    struct step ev = {.kind = ST_VIPS_ENC, .quality = quality, .effort = effort};
    double frac = modq_media_level_sigma(level), resize = 0, blur = 0, approx = 0;
    double enc = 0, enc_vips = 0, plain = 0;
    VipsImage *small = from, *blurred;
    int rc = -1;

    if (w != from->Xsize || h != from->Ysize) {
        rs.hscale = (double)w / from->Xsize;
        rs.vscale = (double)h / from->Ysize;
        if (step_time(&rs, reps, &resize) != 0) {
            goto out;
        }
        small = rs.out;
    }
    blurred = small;
    if (frac > 0) {
        bl.in = ap.in = small;
        /* Sigma is a fraction of the long side, at the size the level is rendered at. */
        bl.sigma = ap.sigma = frac * (w > h ? w : h);
        if (step_time(&bl, reps, &blur) != 0 || step_time(&ap, reps, &approx) != 0) {
            goto out;
        }
        blurred = bl.out;
        pc.sigma = bl.sigma;
        if (step_time(&pc, reps, &plain) != 0) {
            goto out;
        }
    }
    en.in = ev.in = blurred;
    if (step_time(&en, reps, &enc) != 0 || step_time(&ev, reps, &enc_vips) != 0) {
        goto out;
    }
    printf(" l%d=%dx%d l%d_sigma_px=%.2f l%d_resize_ms=%.2f l%d_blur_ms=%.2f"
           " l%d_blur_approx_ms=%.2f l%d_enc_ms=%.2f"
           " l%d_enc_vips_ms=%.2f l%d_plain_c_ms=%.2f",
           level, w, h, level, bl.sigma, level, resize, level, blur, level, approx, level, enc,
           level, enc_vips, level, plain);
    *scaled = small;
    g_object_ref(small);
    rc = 0;
out:
    UNREF_NULL(rs.out);
    UNREF_NULL(bl.out);
    UNREF_NULL(ap.out);
    return rc;
}

int modq_stages_report(uint8_t *data, size_t len, int display_size, int reps, int effort,
                       const char *path)
{
    struct step dec = {.kind = ST_DECODE, .data = data, .len = len, .size = display_size};
    struct step grey = {.kind = ST_GREY}, pdq = {.kind = ST_PDQ};
    VipsImage *from = NULL;
    char err[256] = "";
    modq_media_opts *opts = modq_opts_new();
    modq_media *m = NULL;
    double t_dec = 0, t_grey = 0, t_pdq = 0;
    int quality, rc = -1;

    if (!opts) {
        goto out;
    }
    quality = (int)modq_opts_get(opts, MODQ_OPT_QUALITY);
    if (modq_media_process(opts, data, len, &m, err, sizeof err) != MODQ_BLUR_OK) {
        goto out;
    }
    if (step_time(&dec, reps, &t_dec) != 0) {
        goto out;
    }
    grey.in = dec.out;
    if (step_time(&grey, reps, &t_grey) != 0) {
        goto out;
    }
    pdq.in = dec.out;
    if (step_time(&pdq, reps, &t_pdq) != 0) {
        goto out;
    }
    printf("stage decode_ms=%.2f grey_ms=%.2f pdq_ms=%.2f", t_dec, t_grey, t_pdq);
    /* Each level is scaled from the previous one's downscale, as blur/media.c does. */
    from = grey.out;
    g_object_ref(from);
    for (int l = 0; l < MODQ_LEVEL_COUNT; l++) {
        VipsImage *scaled = NULL;
        int w = 0, h = 0;
        if (modq_media_rendition(m, l, NULL, NULL, &w, &h) != MODQ_BLUR_OK) {
            continue;
        }
        if (level_report(from, l, w, h, quality, effort, reps, &scaled) != 0) {
            goto out;
        }
        UNREF_NULL(from);
        from = scaled;
    }
    printf(" file=%s\n", path);
    rc = 0;
out:
    if (rc != 0) {
        printf("\nerror file=%s job=stages reason=%s%s\n", path, err, vips_error_buffer());
        vips_error_clear();
    }
    UNREF_NULL(from);
    UNREF_NULL(dec.out);
    UNREF_NULL(grey.out);
    modq_media_free(m);
    modq_opts_free(opts);
    return rc;
}
