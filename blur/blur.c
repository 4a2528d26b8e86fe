/*
 * blur.c: libmodq_blur's result strings and its process-wide libvips set-up.
 *
 * The set-up is where hostile input is first contained: every loader outside the allow-list is
 * blocked inside libvips itself, so even a code path that asks libvips to sniff a format (rather
 * than going through decode.c) cannot reach SVG, PDF, ImageMagick and the like.
 */
#include "modq_blur.h"

#include "internal.h"

#include <string.h>

#include <vips/vips.h>
/* after vips.h, which it needs; not included by it */
#include <vips/vector.h>

static const struct {
    const char *code;
    const char *text;
} results[MODQ_BLUR_RESULT_COUNT] = {
    [MODQ_BLUR_OK] = {"ok", "success"},
    [MODQ_BLUR_ERR_INVALID_ARG] = {"invalid_argument", "invalid argument"},
    [MODQ_BLUR_ERR_NOMEM] = {"out_of_memory", "out of memory"},
    [MODQ_BLUR_ERR_INIT] = {"init_failed", "image library could not be started"},
    [MODQ_BLUR_ERR_EMPTY] = {"empty", "empty input"},
    [MODQ_BLUR_ERR_TOO_LARGE] = {"too_large", "input too large"},
    [MODQ_BLUR_ERR_UNKNOWN_FORMAT] = {"unknown_format", "unknown image format"},
    [MODQ_BLUR_ERR_BLOCKED_FORMAT] = {"blocked_format", "image format not allowed"},
    [MODQ_BLUR_ERR_TOO_MANY_PIXELS] = {"too_many_pixels", "too many pixels"},
    [MODQ_BLUR_ERR_DIMENSION] = {"bad_dimensions", "image dimensions out of range"},
    [MODQ_BLUR_ERR_CORRUPT] = {"corrupt", "truncated or corrupt image"},
    [MODQ_BLUR_ERR_ENCODE] = {"encode_failed", "rendition could not be encoded"},
    [MODQ_BLUR_ERR_DIGEST] = {"digest_failed", "digest computation failed"},
    [MODQ_BLUR_ERR_PARSE] = {"parse_error", "malformed hash or bank file"},
    [MODQ_BLUR_ERR_DECODE_TIMEOUT] = {"decode_timeout", "decoding took longer than allowed"},
    [MODQ_BLUR_ERR_TOO_MANY_SCANS] = {"too_many_scans", "JPEG has too many scans"},
    [MODQ_BLUR_ERR_DECODER_CRASHED] = {"decoder_crashed", "the decoding process crashed"},
    [MODQ_BLUR_ERR_SANDBOX] = {"sandbox_unavailable", "no sandboxed decoder could be started"},
    [MODQ_BLUR_ERR_IO] = {"io_error", "file could not be read"},
};

const char *modq_blur_strerror(modq_blur_result r)
{
    if ((unsigned)r >= MODQ_BLUR_RESULT_COUNT) {
        return "unknown error";
    }
    return results[r].text;
}

const char *modq_blur_code(modq_blur_result r)
{
    if ((unsigned)r >= MODQ_BLUR_RESULT_COUNT) {
        return "unknown";
    }
    return results[r].code;
}

/* Base loader classes that stay usable; their File/Buffer/Source subclasses inherit the state. */
static const char *const allowed_loaders[] = {
    "VipsForeignLoadJpeg",  "VipsForeignLoadPng",  "VipsForeignLoadWebp",
    "VipsForeignLoadNsgif", "VipsForeignLoadTiff", "VipsForeignLoadHeif",
};

/* libvips reports failures twice: as our error result and as a GLib warning on stderr. The
 * library does not log, so the second copy is dropped; the caller logs the result once. */
static void drop_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
    (void)domain;
    (void)level;
    (void)message;
    (void)data;
}

modq_blur_result modq_blur_init(const char *argv0)
{
    /* vips_init() is idempotent, and so are the block settings below. */
    if (VIPS_INIT(argv0 ? argv0 : "modq")) {
        return MODQ_BLUR_ERR_INIT;
    }

    /* The operation cache would keep decoded hostile images alive between calls. */
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO,
                      drop_log, NULL);
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);

    /* liborc 0.4.33 (bookworm) crashed the worker twice in a load test: one preparation thread
     * freed a compiled orc program (vips_vector_free) while another decoded. libvips runs the
     * same operations without orc; on our pipeline the time was the same within noise. */
    vips_vector_set_enabled(FALSE);

    vips_block_untrusted_set(TRUE);
    vips_operation_block_set("VipsForeignLoad", TRUE);
    for (size_t i = 0; i < sizeof(allowed_loaders) / sizeof(allowed_loaders[0]); i++) {
        vips_operation_block_set(allowed_loaders[i], FALSE);
    }
    return MODQ_BLUR_OK;
}

void modq_blur_shutdown(void)
{
    vips_shutdown();
}

void blur_vips_error(const char *what, char *errstr, size_t errstr_size)
{
    char *msg = vips_error_buffer_copy();
    char *nl = msg ? strchr(msg, '\n') : NULL;

    /* libvips keeps one error buffer per process; take ours out before another thread adds. */
    if (nl) {
        *nl = '\0';
    }
    modq_errstr_set(errstr, errstr_size, "%s: %.300s", what, msg && *msg ? msg : "libvips failed");
    g_free(msg);
}
