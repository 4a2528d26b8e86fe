/* testutil.c: see testutil.h. Measurements use libvips directly, independent of blur/render.c. */
#include "testutil.h"

#include "modq_blur.h"

#include <vips/vips.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tu_blur_setup(void **state)
{
    (void)state;
    return modq_blur_init("test") == MODQ_BLUR_OK ? 0 : -1;
}

int tu_blur_teardown(void **state)
{
    (void)state;
    modq_blur_shutdown();
    return 0;
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (!f) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
        }
    }
    return c ^ 0xffffffffu;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Appends one chunk at p; returns its size. */
static size_t chunk(uint8_t *p, const char *type, const uint8_t *data, uint32_t n)
{
    put32(p, n);
    memcpy(p + 4, type, 4);
    if (n) {
        memcpy(p + 8, data, n);
    }
    put32(p + 8 + n, crc32_png(p + 4, 4 + n));
    return 12 + n;
}

uint8_t *tu_png_claiming(uint32_t w, uint32_t h, size_t *len)
{
    /* A stored (uncompressed) zlib stream of 16 zero bytes: a valid start of pixel data. */
    static const uint8_t idat[] = {0x78, 0x01, 0x01, 0x10, 0x00, 0xef, 0xff, 0, 0, 0, 0, 0, 0,
                                   0,    0,    0,    0,    0,    0,    0,    0, 0, 0, 0, 0};
    uint8_t ihdr[13] = {0};
    uint8_t *buf = malloc(256);
    size_t n = 8;

    if (!buf) {
        return NULL;
    }
    memcpy(buf, "\x89PNG\r\n\x1a\n", 8);
    put32(ihdr, w);
    put32(ihdr + 4, h);
    ihdr[8] = 8; /* bit depth */
    ihdr[9] = 2; /* RGB */
    n += chunk(buf + n, "IHDR", ihdr, sizeof(ihdr));
    n += chunk(buf + n, "IDAT", idat, sizeof(idat));
    n += chunk(buf + n, "IEND", NULL, 0);
    *len = n;
    return buf;
}

uint8_t *tu_synth(int kind, int w, int h, uint32_t seed, const char *format, size_t *len)
{
    uint8_t *data = NULL;
    if (modq_synth_image((modq_synth_kind)kind, w, h, seed, format, &data, len) != MODQ_BLUR_OK) {
        return NULL;
    }
    return data;
}

static VipsImage *load_grey(const uint8_t *data, size_t len)
{
    VipsImage *img = vips_image_new_from_buffer(data, len, "", NULL), *grey = NULL;
    if (!img) {
        return NULL;
    }
    if (vips_colourspace(img, &grey, VIPS_INTERPRETATION_B_W, NULL)) {
        grey = NULL;
    }
    g_object_unref(img);
    return grey;
}

double tu_laplacian_variance(const uint8_t *data, size_t len, int display_w)
{
    VipsImage *grey = load_grey(data, len), *big = NULL, *mask = NULL, *lap = NULL;
    double sd = -1.0, result = -1.0;

    if (!grey) {
        return -1.0;
    }
    if (vips_resize(grey, &big, (double)display_w / grey->Xsize, "kernel", VIPS_KERNEL_LINEAR,
                    NULL)) {
        goto out;
    }
    mask = vips_image_new_matrixv(3, 3, 0.0, 1.0, 0.0, 1.0, -4.0, 1.0, 0.0, 1.0, 0.0);
    if (!mask || vips_conv(big, &lap, mask, "precision", VIPS_PRECISION_FLOAT, NULL) ||
        vips_deviate(lap, &sd, NULL)) {
        goto out;
    }
    result = sd * sd;
out:
    VIPS_UNREF(grey);
    VIPS_UNREF(big);
    VIPS_UNREF(mask);
    VIPS_UNREF(lap);
    return result;
}

double tu_blur_distance(const uint8_t *clear, size_t clear_len, const uint8_t *blurred,
                        size_t blurred_len, double sigma_px)
{
    VipsImage *a = load_grey(clear, clear_len), *b = load_grey(blurred, blurred_len);
    VipsImage *ref = NULL, *big = NULL, *diff = NULL, *abs_diff = NULL;
    double mean = -1.0, result = -1.0;

    if (!a || !b) {
        goto out;
    }
    if (vips_gaussblur(a, &ref, sigma_px, "precision", VIPS_PRECISION_FLOAT, NULL) ||
        vips_resize(b, &big, (double)a->Xsize / b->Xsize, "vscale", (double)a->Ysize / b->Ysize,
                    "kernel", VIPS_KERNEL_LINEAR, NULL) ||
        vips_subtract(ref, big, &diff, NULL) || vips_abs(diff, &abs_diff, NULL) ||
        vips_avg(abs_diff, &mean, NULL)) {
        goto out;
    }
    result = mean;
out:
    VIPS_UNREF(a);
    VIPS_UNREF(b);
    VIPS_UNREF(ref);
    VIPS_UNREF(big);
    VIPS_UNREF(diff);
    VIPS_UNREF(abs_diff);
    return result;
}

int tu_probe(const uint8_t *data, size_t len, int *w, int *h, int *bands, int *max_chroma)
{
    VipsImage *img = vips_image_new_from_buffer(data, len, "", NULL), *mem = NULL;
    int worst = 0;

    if (!img) {
        return -1;
    }
    *w = img->Xsize;
    *h = img->Ysize;
    *bands = img->Bands;
    if (img->Bands >= 3 && (mem = vips_image_copy_memory(img))) {
        for (int y = 0; y < mem->Ysize; y++) {
            const uint8_t *p = VIPS_IMAGE_ADDR(mem, 0, y);
            for (int x = 0; x < mem->Xsize; x++, p += mem->Bands) {
                int d1 = abs(p[0] - p[1]), d2 = abs(p[1] - p[2]);
                worst = d1 > worst ? d1 : worst;
                worst = d2 > worst ? d2 : worst;
            }
        }
    }
    *max_chroma = worst;
    VIPS_UNREF(mem);
    g_object_unref(img);
    return 0;
}

int tu_contains(const uint8_t *hay, size_t n, const void *needle, size_t needle_len)
{
    if (needle_len == 0 || needle_len > n) {
        return 0;
    }
    for (size_t i = 0; i + needle_len <= n; i++) {
        if (memcmp(hay + i, needle, needle_len) == 0) {
            return 1;
        }
    }
    return 0;
}
