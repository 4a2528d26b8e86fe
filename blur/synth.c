/*
 * synth.c: synthetic images (gradients with shapes, noise, checkerboards) for the demo, the tests
 * and the benchmarks. modq never needs real harmful content to show what it does, and these are
 * deterministic for a seed, so a test can regenerate exactly what it checked.
 */
#include "internal.h"

#include <vips/vips.h>

#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

/* Synthetic images stay small enough to build in memory in one go. */
#define MAX_SYNTH_PIXELS (64LL * 1000 * 1000)

/* splitmix64: tiny, good enough for pictures, and identical on every platform. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#define MAX_SHAPES 11

/* Gradient colours and shapes of a MODQ_SYNTH_SHAPES image, drawn from the generator first, so
 * that rows can be painted in any grouping and come out the same. */
typedef struct shapes {
    uint8_t c0[3], c1[3];
    int n;
    struct {
        int cx, cy, r, circle;
        uint8_t col[3];
    } s[MAX_SHAPES];
} shapes;

static void shapes_init(shapes *sh, int w, int h, uint64_t *rng)
{
    sh->n = 6 + (int)(next_random(rng) % 6);
    for (int i = 0; i < 3; i++) {
        sh->c0[i] = (uint8_t)(next_random(rng) & 0xff);
        sh->c1[i] = (uint8_t)(next_random(rng) & 0xff);
    }
    for (int k = 0; k < sh->n; k++) {
        sh->s[k].cx = (int)(next_random(rng) % (uint64_t)w);
        sh->s[k].cy = (int)(next_random(rng) % (uint64_t)h);
        sh->s[k].r = 1 + (int)(next_random(rng) % (uint64_t)((w < h ? w : h) / 4 + 1));
        sh->s[k].circle = (int)(next_random(rng) & 1);
        for (int i = 0; i < 3; i++) {
            sh->s[k].col[i] = (uint8_t)next_random(rng);
        }
    }
}

/* Rows y0 .. y1 - 1 of a shapes image into px, which holds those rows only. */
static void shapes_rows(const shapes *sh, uint8_t *px, int w, int h, int y0, int y1)
{
    for (int y = y0; y < y1; y++) {
        uint8_t *row = px + (size_t)(y - y0) * w * 3;
        for (int x = 0; x < w; x++) {
            double t = (double)(x + y) / (double)(w + h);
            for (int i = 0; i < 3; i++) {
                row[x * 3 + i] = (uint8_t)(sh->c0[i] + (sh->c1[i] - sh->c0[i]) * t);
            }
        }
        for (int k = 0; k < sh->n; k++) {
            int cx = sh->s[k].cx, cy = sh->s[k].cy, r = sh->s[k].r;
            if (y < cy - r || y > cy + r) {
                continue;
            }
            for (int x = cx - r < 0 ? 0 : cx - r; x < w && x <= cx + r; x++) {
                long dx = x - cx, dy = y - cy;
                if (sh->s[k].circle && dx * dx + dy * dy > (long)r * r) {
                    continue;
                }
                memcpy(row + (size_t)x * 3, sh->s[k].col, 3);
            }
        }
    }
}

/* Paints an image of w x h in strips of rows, top to bottom, the same pixels whatever the
 * strips. */
typedef struct painter {
    modq_synth_kind kind;
    int w, h;
    uint64_t rng;
    shapes sh;
} painter;

static void painter_init(painter *p, modq_synth_kind kind, int w, int h, uint32_t seed)
{
    p->kind = kind;
    p->w = w;
    p->h = h;
    p->rng = seed;
    if (kind != MODQ_SYNTH_NOISE && kind != MODQ_SYNTH_CHECKER) {
        shapes_init(&p->sh, w, h, &p->rng);
    }
}

/* Rows y0 .. y1 - 1 into px (RGB, those rows only); rows must be asked for in order. */
static void paint_rows(painter *p, uint8_t *px, int y0, int y1)
{
    size_t n = (size_t)(y1 - y0) * p->w * 3;

    switch (p->kind) {
    case MODQ_SYNTH_NOISE:
        for (size_t i = 0; i < n; i++) {
            px[i] = (uint8_t)(next_random(&p->rng) >> 56);
        }
        break;
    case MODQ_SYNTH_CHECKER:
        for (int y = y0; y < y1; y++) {
            for (int x = 0; x < p->w; x++) {
                memset(px + ((size_t)(y - y0) * p->w + x) * 3, ((x ^ y) & 1) ? 255 : 0, 3);
            }
        }
        break;
    default:
        shapes_rows(&p->sh, px, p->w, p->h, y0, y1);
        break;
    }
}

static const char *suffix_for(const char *format)
{
    static const struct {
        const char *name, *suffix;
    } map[] = {
        {"jpeg", ".jpg[Q=90]"}, {"png", ".png"},  {"webp", ".webp[Q=90]"},
        {"gif", ".gif"},        {"tiff", ".tif"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(format, map[i].name) == 0) {
            return map[i].suffix;
        }
    }
    return NULL;
}

modq_blur_result modq_synth_image(modq_synth_kind kind, int w, int h, uint32_t seed,
                                  const char *format, uint8_t **data, size_t *len)
{
    painter pt;
    uint8_t *px = NULL;
    VipsImage *img = NULL;
    void *buf = NULL;
    size_t n = 0;
    const char *suffix = format ? suffix_for(format) : NULL;
    modq_blur_result r = MODQ_BLUR_ERR_ENCODE;

    if (!data || !len || !suffix || (unsigned)kind >= MODQ_SYNTH_KIND_COUNT || w < 1 || h < 1 ||
        (int64_t)w * h > MAX_SYNTH_PIXELS) {
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    if (!(px = malloc((size_t)w * h * 3))) {
        return MODQ_BLUR_ERR_NOMEM;
    }
    painter_init(&pt, kind, w, h, seed);
    paint_rows(&pt, px, 0, h);
    if (!(img = vips_image_new_from_memory(px, (size_t)w * h * 3, w, h, 3, VIPS_FORMAT_UCHAR))) {
        goto out;
    }
    if (vips_image_write_to_buffer(img, suffix, &buf, &n, "strip", TRUE, NULL)) {
        goto out;
    }
    *data = buf;
    *len = n;
    r = MODQ_BLUR_OK;
out:
    if (r != MODQ_BLUR_OK) {
        vips_error_clear();
    }
    VIPS_UNREF(img);
    free(px);
    return r;
}

/* A progressive JPEG's scans, built in pixels' stead: libjpeg holds every coefficient of the
 * image (2 bytes each, 1.5 per pixel at 4:2:0) until the last scan is written. */
#define MAX_SCANS_PIXELS (100LL * 1000 * 1000)
#define JPEG_COMPONENTS  3
#define AC_SLOTS         (JPEG_COMPONENTS * 63)
#define MAX_REFINEMENTS  11 /* libjpeg allows successive approximation bits Al <= 10 */
#define MIN_SYNTH_SCANS  (1 + JPEG_COMPONENTS)
#define MAX_SYNTH_SCANS  (1 + AC_SLOTS * MAX_REFINEMENTS)
#define SYNTH_STRIP_ROWS 16

static void set_scan(jpeg_scan_info *sc, int comp, int ss, int se, int ah, int al)
{
    sc->comps_in_scan = 1;
    sc->component_index[0] = comp;
    sc->Ss = ss;
    sc->Se = se;
    sc->Ah = ah;
    sc->Al = al;
}

/*
 * A valid progressive script of exactly n scans (MIN_SYNTH_SCANS .. MAX_SYNTH_SCANS): the DC of
 * every component in one scan, then each component's AC spectrum in ever narrower bands; past
 * one band per coefficient, each coefficient is sent in more successive-approximation steps.
 */
static void build_script(jpeg_scan_info *sc, int n)
{
    int ac = n - 1, k = 1;

    sc[0].comps_in_scan = JPEG_COMPONENTS;
    for (int c = 0; c < JPEG_COMPONENTS; c++) {
        sc[0].component_index[c] = c;
    }
    sc[0].Ss = sc[0].Se = sc[0].Ah = sc[0].Al = 0;
    if (ac <= AC_SLOTS) {
        for (int c = 0; c < JPEG_COMPONENTS; c++) {
            int bands = ac / JPEG_COMPONENTS + (c < ac % JPEG_COMPONENTS);
            for (int b = 0; b < bands; b++) {
                set_scan(&sc[k++], c, 1 + 63 * b / bands, 63 * (b + 1) / bands, 0, 0);
            }
        }
        return;
    }
    for (int slot = 0; slot < AC_SLOTS; slot++) {
        int steps = ac / AC_SLOTS + (slot < ac % AC_SLOTS), c = slot / 63, coef = 1 + slot % 63;
        set_scan(&sc[k++], c, coef, coef, 0, steps - 1);
        for (int al = steps - 2; al >= 0; al--) {
            set_scan(&sc[k++], c, coef, coef, al + 1, al);
        }
    }
}

typedef struct synth_jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
} synth_jerr;

static void synth_jpeg_exit(j_common_ptr cinfo)
{
    longjmp(((synth_jerr *)cinfo->err)->jump, 1);
}

/* Compresses pt's rows with script; 0 on success, *out malloc'd by libjpeg (caller frees). */
static int compress_rows(painter *pt, const jpeg_scan_info *script, int nscans, uint8_t *strip,
                         unsigned char **out, unsigned long *outlen)
{
    struct jpeg_compress_struct cinfo;
    synth_jerr jerr;

    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = synth_jpeg_exit;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_compress(&cinfo);
        return -1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, out, outlen);
    cinfo.image_width = (JDIMENSION)pt->w;
    cinfo.image_height = (JDIMENSION)pt->h;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 90, TRUE);
    cinfo.scan_info = script;
    cinfo.num_scans = nscans;
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        int y0 = (int)cinfo.next_scanline, y1 = y0 + SYNTH_STRIP_ROWS;
        JSAMPROW rows[SYNTH_STRIP_ROWS];
        if (y1 > pt->h) {
            y1 = pt->h;
        }
        paint_rows(pt, strip, y0, y1);
        for (int y = y0; y < y1; y++) {
            rows[y - y0] = strip + (size_t)(y - y0) * pt->w * 3;
        }
        jpeg_write_scanlines(&cinfo, rows, (JDIMENSION)(y1 - y0));
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    return 0;
}

modq_blur_result modq_synth_jpeg_scans(modq_synth_kind kind, int w, int h, uint32_t seed, int scans,
                                       uint8_t **data, size_t *len)
{
    painter pt;
    jpeg_scan_info *script = NULL;
    uint8_t *strip = NULL;
    unsigned char *out = NULL;
    unsigned long outlen = 0;
    modq_blur_result r = MODQ_BLUR_ERR_NOMEM;

    if (!data || !len || (unsigned)kind >= MODQ_SYNTH_KIND_COUNT || w < 1 || h < 1 ||
        (int64_t)w * h > MAX_SCANS_PIXELS || scans < MIN_SYNTH_SCANS || scans > MAX_SYNTH_SCANS) {
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    if (!(script = calloc((size_t)scans, sizeof(*script))) ||
        !(strip = malloc((size_t)w * 3 * SYNTH_STRIP_ROWS))) {
        goto out;
    }
    build_script(script, scans);
    painter_init(&pt, kind, w, h, seed);
    if (compress_rows(&pt, script, scans, strip, &out, &outlen)) {
        r = MODQ_BLUR_ERR_ENCODE;
        goto out;
    }
    if (!(*data = g_memdup2(out, outlen))) {
        goto out;
    }
    *len = outlen;
    r = MODQ_BLUR_OK;
out:
    free(out);
    free(strip);
    free(script);
    return r;
}

void modq_synth_free(uint8_t *data)
{
    g_free(data);
}
