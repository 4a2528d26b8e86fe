/*
 * fuzz_media.c: the per-item media pipeline (modq_media_process: sniffing, the header limits,
 * one decode, digests, PDQ, renditions) on hostile bytes, under tight limits so that every input
 * is cheap: 256 KiB, 1 megapixel, 2048 px a side, a 128 px display size, 20 JPEG scans, and a
 * 5 s deadline (scripts/fuzz gives an input 10 s: one that outlives the deadline is a failure).
 *
 * Input: an options byte, then the media bytes. Options bit 0: colour; bit 1: JPEG renditions;
 * bit 2: deferred rendering (process, then render); bit 3: a colour ladder too; bit 4: fail on
 * any warning; bits 5-7: the levels to render besides level 3.
 *
 * Invariants: a refusal names its reason; what is accepted is within the limits, has its hashes
 * and every rendition asked for, none larger than the display size.
 */
#include "fuzz_util.h"
#include "modq_blur.h"

#define MAX_BYTES   (256 * 1024)
#define MAX_PIXELS  (1024 * 1024)
#define MAX_SIDE    2048
#define DISPLAY     128
#define DEADLINE_MS 5000 /* half the timeout scripts/fuzz sets: outliving it is a failure */
#define MAX_SCANS   20

typedef struct fz_state {
    modq_media_opts *opts[256];
} fz_state;

static fz_state st;

static void cleanup(void)
{
    for (size_t i = 0; i < 256; i++) {
        modq_opts_free(st.opts[i]);
    }
    modq_blur_shutdown();
}

static modq_media_opts *make_opts(unsigned b)
{
    modq_media_opts *o = modq_opts_new();
    unsigned levels = 1u << 3 | ((b >> 5) & 7u);

    if (!o || modq_opts_set(o, MODQ_OPT_MAX_INPUT_BYTES, MAX_BYTES) != MODQ_BLUR_OK ||
        modq_opts_set(o, MODQ_OPT_MAX_PIXELS, MAX_PIXELS) != MODQ_BLUR_OK ||
        modq_opts_set(o, MODQ_OPT_MAX_SIDE, MAX_SIDE) != MODQ_BLUR_OK ||
        modq_opts_set(o, MODQ_OPT_DISPLAY_SIZE, DISPLAY) != MODQ_BLUR_OK ||
        modq_opts_set(o, MODQ_OPT_LEVELS, levels) != MODQ_BLUR_OK ||
        modq_opts_set(o, MODQ_OPT_COLOUR, b & 1) != MODQ_BLUR_OK ||
        modq_opts_set(o, MODQ_OPT_FORMAT, (b >> 1) & 1) != MODQ_BLUR_OK ||
        modq_opts_set(o, MODQ_OPT_DEFER_RENDER, (b >> 2) & 1) != MODQ_BLUR_OK ||
        modq_opts_set(o, MODQ_OPT_COLOUR_TOO, (b >> 3) & 1) != MODQ_BLUR_OK ||
        modq_opts_set(o, MODQ_OPT_FAIL_ON_WARNING, (b >> 4) & 1) != MODQ_BLUR_OK ||
        modq_opts_set(o, MODQ_OPT_DEADLINE_MS, DEADLINE_MS) != MODQ_BLUR_OK ||
        modq_opts_set(o, MODQ_OPT_MAX_JPEG_SCANS, MAX_SCANS) != MODQ_BLUR_OK) {
        fz_setup_fail("media options %u refused", b);
    }
    return o;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    if (modq_blur_init((*argv)[0]) != MODQ_BLUR_OK) {
        fz_setup_fail("libvips did not start");
    }
    for (unsigned b = 0; b < 256; b++) {
        st.opts[b] = make_opts(b);
    }
    atexit(cleanup);
    return 0;
}

static void check_rendition(const modq_media *m, int level, bool colour)
{
    const uint8_t *data = NULL;
    size_t len = 0;
    int w = 0, h = 0;
    modq_blur_result r = colour ? modq_media_rendition_colour(m, level, &data, &len, &w, &h)
                                : modq_media_rendition(m, level, &data, &len, &w, &h);

    if (r != MODQ_BLUR_OK || !data || len == 0 || w < 1 || h < 1 || w > DISPLAY || h > DISPLAY) {
        fz_fail("level %d%s: %s, %zu bytes, %dx%d", level, colour ? " (colour)" : "",
                modq_blur_strerror(r), len, w, h);
    }
}

static void check(const modq_media *m, unsigned b)
{
    int w = modq_media_width(m), h = modq_media_height(m);
    unsigned levels = 1u << 3 | ((b >> 5) & 7u);

    if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE || (int64_t)w * h > MAX_PIXELS) {
        fz_fail("accepted %dx%d past the limits", w, h);
    }
    if (strlen(modq_media_sha256_hex(m)) != 64 || strlen(modq_media_md5_hex(m)) != 32 ||
        strlen(modq_media_pdq_hex(m)) != 64 || modq_media_pdq_quality(m) < 0 ||
        modq_media_pdq_quality(m) > 100 || modq_media_frames(m) < 1 || !modq_media_format(m)) {
        fz_fail("accepted media without its hashes or facts");
    }
    if (modq_media_display_width(m) > DISPLAY || modq_media_display_height(m) > DISPLAY) {
        fz_fail("display size %dx%d over %d", modq_media_display_width(m),
                modq_media_display_height(m), DISPLAY);
    }
    for (int level = 0; level < MODQ_LEVEL_COUNT; level++) {
        if (!(levels & (1u << level))) {
            continue;
        }
        check_rendition(m, level, false);
        if (b & 9) {
            check_rendition(m, level, true);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    modq_media *m = NULL;
    char err[512] = "";
    unsigned b;
    modq_blur_result r;

    if (size < 1) {
        return 0;
    }
    b = data[0];
    r = modq_media_process(st.opts[b], data + 1, size - 1, &m, err, sizeof(err));
    if (r == MODQ_BLUR_OK && (b & 4)) {
        r = modq_media_render(m, st.opts[b], err, sizeof(err));
    }
    if (r != MODQ_BLUR_OK) {
        if (err[0] == '\0' && r != MODQ_BLUR_ERR_NOMEM) {
            fz_fail("refused (%s) without a reason", modq_blur_code(r));
        }
        modq_media_free(m);
        return 0;
    }
    check(m, b);
    modq_media_free(m);
    return 0;
}
