/*
 * opts.c: the limits and rendition settings of the media pipeline. Every value is range-checked
 * when set, so the pipeline can trust what it reads.
 */
#include "modq_blur.h"

#include <stdlib.h>

static const struct {
    int64_t def, min, max;
} ranges[MODQ_OPT_COUNT] = {
    [MODQ_OPT_MAX_INPUT_BYTES] = {64LL << 20, 1, 1LL << 30},
    [MODQ_OPT_MAX_PIXELS] = {100000000, 1, 1LL << 31},
    [MODQ_OPT_MAX_SIDE] = {20000, 1, 100000},
    [MODQ_OPT_DISPLAY_SIZE] = {1024, 16, 8192},
    [MODQ_OPT_LEVELS] = {0xf, 0, 0xf},
    [MODQ_OPT_COLOUR] = {0, 0, 1},
    [MODQ_OPT_FORMAT] = {MODQ_FORMAT_WEBP, MODQ_FORMAT_WEBP, MODQ_FORMAT_JPEG},
    [MODQ_OPT_QUALITY] = {75, 1, 100},
    [MODQ_OPT_FAIL_ON_WARNING] = {0, 0, 1},
    [MODQ_OPT_DEFER_RENDER] = {0, 0, 1},
    [MODQ_OPT_COLOUR_TOO] = {0, 0, 1},
    [MODQ_OPT_DEADLINE_MS] = {30000, 1, 600000},
    [MODQ_OPT_MAX_JPEG_SCANS] = {50, 1, 10000},
};

struct modq_media_opts {
    int64_t v[MODQ_OPT_COUNT];
};

modq_media_opts *modq_opts_new(void)
{
    modq_media_opts *o = malloc(sizeof(*o));
    if (!o) {
        return NULL;
    }
    for (int k = 0; k < MODQ_OPT_COUNT; k++) {
        o->v[k] = ranges[k].def;
    }
    return o;
}

modq_media_opts *modq_opts_copy(const modq_media_opts *opts)
{
    modq_media_opts *o;

    if (!opts || !(o = malloc(sizeof(*o)))) {
        return NULL;
    }
    *o = *opts;
    return o;
}

void modq_opts_free(modq_media_opts *opts)
{
    free(opts);
}

modq_blur_result modq_opts_set(modq_media_opts *opts, modq_opt key, int64_t value)
{
    if (!opts || (unsigned)key >= MODQ_OPT_COUNT) {
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    if (value < ranges[key].min || value > ranges[key].max) {
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    opts->v[key] = value;
    return MODQ_BLUR_OK;
}

int64_t modq_opts_get(const modq_media_opts *opts, modq_opt key)
{
    if (!opts || (unsigned)key >= MODQ_OPT_COUNT) {
        return -1;
    }
    return opts->v[key];
}
