/*
 * synth.c: synthetic images (gradients with shapes, noise, checkerboards) for the demo, the tests
 * and the benchmarks. modq never needs real harmful content to show what it does, and these are
 * deterministic for a seed, so a test can regenerate exactly what it checked.
 */
#include "internal.h"

#include <vips/vips.h>

#include <stdlib.h>
#include <string.h>

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

static void paint_shapes(uint8_t *px, int w, int h, uint64_t *rng)
{
    uint8_t c0[3], c1[3];
    int nshapes = 6 + (int)(next_random(rng) % 6);

    for (int i = 0; i < 3; i++) {
        c0[i] = (uint8_t)(next_random(rng) & 0xff);
        c1[i] = (uint8_t)(next_random(rng) & 0xff);
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + ((size_t)y * w + x) * 3;
            double t = (double)(x + y) / (double)(w + h);
            for (int i = 0; i < 3; i++)
                p[i] = (uint8_t)(c0[i] + (c1[i] - c0[i]) * t);
        }
    for (int s = 0; s < nshapes; s++) {
        int cx = (int)(next_random(rng) % (uint64_t)w), cy = (int)(next_random(rng) % (uint64_t)h);
        int r = 1 + (int)(next_random(rng) % (uint64_t)((w < h ? w : h) / 4 + 1));
        int circle = (int)(next_random(rng) & 1);
        uint8_t col[3] = {(uint8_t)next_random(rng), (uint8_t)next_random(rng),
                          (uint8_t)next_random(rng)};
        for (int y = cy - r < 0 ? 0 : cy - r; y < h && y <= cy + r; y++)
            for (int x = cx - r < 0 ? 0 : cx - r; x < w && x <= cx + r; x++) {
                long dx = x - cx, dy = y - cy;
                if (circle && dx * dx + dy * dy > (long)r * r)
                    continue;
                memcpy(px + ((size_t)y * w + x) * 3, col, 3);
            }
    }
}

static void paint(modq_synth_kind kind, uint8_t *px, int w, int h, uint64_t *rng)
{
    size_t n = (size_t)w * h * 3;

    switch (kind) {
    case MODQ_SYNTH_NOISE:
        for (size_t i = 0; i < n; i++)
            px[i] = (uint8_t)(next_random(rng) >> 56);
        break;
    case MODQ_SYNTH_CHECKER:
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                memset(px + ((size_t)y * w + x) * 3, ((x ^ y) & 1) ? 255 : 0, 3);
        break;
    default:
        paint_shapes(px, w, h, rng);
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
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(format, map[i].name) == 0)
            return map[i].suffix;
    return NULL;
}

modq_blur_result modq_synth_image(modq_synth_kind kind, int w, int h, uint32_t seed,
                                  const char *format, uint8_t **data, size_t *len)
{
    uint64_t rng = seed;
    uint8_t *px = NULL;
    VipsImage *img = NULL;
    void *buf = NULL;
    size_t n = 0;
    const char *suffix = format ? suffix_for(format) : NULL;
    modq_blur_result r = MODQ_BLUR_ERR_ENCODE;

    if (!data || !len || !suffix || (unsigned)kind >= MODQ_SYNTH_KIND_COUNT || w < 1 || h < 1 ||
        (int64_t)w * h > MAX_SYNTH_PIXELS)
        return MODQ_BLUR_ERR_INVALID_ARG;
    if (!(px = malloc((size_t)w * h * 3)))
        return MODQ_BLUR_ERR_NOMEM;
    paint(kind, px, w, h, &rng);
    if (!(img = vips_image_new_from_memory(px, (size_t)w * h * 3, w, h, 3, VIPS_FORMAT_UCHAR)))
        goto out;
    if (vips_image_write_to_buffer(img, suffix, &buf, &n, "strip", TRUE, NULL))
        goto out;
    *data = buf;
    *len = n;
    r = MODQ_BLUR_OK;
out:
    if (r != MODQ_BLUR_OK)
        vips_error_clear();
    VIPS_UNREF(img);
    free(px);
    return r;
}

void modq_synth_free(uint8_t *data)
{
    g_free(data);
}
