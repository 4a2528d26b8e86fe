/*
 * media_parts.c: a modq_media rebuilt from parts that another process made: the facts, hashes
 * and finished renditions of a prepared review item that a prepare pod published and a desk pod
 * read back (worker/prepare/review_item.c). Nothing is decoded here. The parts come off a Kafka
 * topic, so they are checked as untrusted: sizes in range, a known format name, and renditions
 * that start with the magic bytes of the format the media says it was rendered in (the desk
 * serves them to a browser under that MIME type).
 */
#include "internal.h"
#include "media_impl.h"
#include "modq_common.h"
#include "sandbox_wire.h"

#include <stdlib.h>
#include <string.h>

/* A rendition larger than this is refused (a display-size WebP or JPEG is far below it). */
#define PARTS_RENDITION_MAX (8u * 1024 * 1024)

static const char *check_facts(const modq_media_facts *f, int *format_index)
{
    if (f->width < 1 || f->height < 1 || f->width > 100000 || f->height > 100000) {
        return "source size out of range";
    }
    if (f->frames < 1 || f->frames > 100000) {
        return "frame count out of range";
    }
    if (f->display_width < 1 || f->display_height < 1 || f->display_width > 8192 ||
        f->display_height > 8192) {
        return "display size out of range";
    }
    if (f->pdq_quality < 0 || f->pdq_quality > 100) {
        return "PDQ quality out of range";
    }
    if (f->rendition_format != MODQ_FORMAT_WEBP && f->rendition_format != MODQ_FORMAT_JPEG) {
        return "unknown rendition format";
    }
    if (f->format == NULL || (*format_index = sb_format_index(f->format)) < 0) {
        return "unknown source format";
    }
    return NULL;
}

modq_blur_result modq_media_assemble(const modq_media_facts *f, modq_media **out, char *errstr,
                                     size_t errstr_size)
{
    modq_media *m;
    const char *bad;
    int fi = -1;

    if (out) {
        *out = NULL;
    }
    if (f == NULL || out == NULL) {
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    if ((bad = check_facts(f, &fi)) != NULL) {
        modq_errstr_set(errstr, errstr_size, "media parts: %s", bad);
        return MODQ_BLUR_ERR_PARSE;
    }
    if ((m = calloc(1, sizeof *m)) == NULL) {
        return MODQ_BLUR_ERR_NOMEM;
    }
    media_set_facts(m, f, sb_format_names[fi]);
    *out = m;
    return MODQ_BLUR_OK;
}

void media_set_facts(modq_media *m, const modq_media_facts *f, const char *format)
{
    m->width = f->width;
    m->height = f->height;
    m->frames = f->frames;
    m->format = format;
    m->display_w = f->display_width;
    m->display_h = f->display_height;
    m->rformat = f->rendition_format;
    m->levels_in_colour = f->levels_in_colour;
    m->pdq_quality = f->pdq_quality;
    memcpy(m->sha256, f->sha256, sizeof m->sha256);
    memcpy(m->md5, f->md5, sizeof m->md5);
    memcpy(m->pdq, f->pdq, sizeof m->pdq);
    modq_digest_hex(m->sha256, MODQ_SHA256_LEN, m->sha256_hex);
    modq_digest_hex(m->md5, MODQ_MD5_LEN, m->md5_hex);
    modq_pdq_to_hex(m->pdq[0], m->pdq_hex);
}

/* Whether data starts as a file of format does: WebP "RIFF....WEBP", JPEG FF D8 FF. */
static bool looks_like(modq_rendition_format format, const uint8_t *data, size_t len)
{
    if (format == MODQ_FORMAT_JPEG) {
        return len >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff;
    }
    return len >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0;
}

modq_blur_result modq_media_put_rendition(modq_media *m, int level, bool colour,
                                          const uint8_t *data, size_t len, int w, int h,
                                          char *errstr, size_t errstr_size)
{
    const char *ladder = colour ? "colour level" : "level";
    rendition *slot;

    /* (NULL, 0) is what an empty bytes field of a record reads as: refused below, with a reason,
     * like any other part; only bytes at no address are the caller's mistake. */
    if (m == NULL || (data == NULL && len > 0)) {
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    if (level < 0 || level >= MODQ_LEVEL_COUNT) {
        modq_errstr_set(errstr, errstr_size, "media parts: rendition level %d out of range", level);
        return MODQ_BLUR_ERR_PARSE;
    }
    if (w < 1 || h < 1 || w > m->display_w || h > m->display_h) {
        modq_errstr_set(errstr, errstr_size,
                        "media parts: %s %d is %dx%d, outside the display size %dx%d", ladder,
                        level, w, h, m->display_w, m->display_h);
        return MODQ_BLUR_ERR_PARSE;
    }
    if (len == 0) {
        modq_errstr_set(errstr, errstr_size, "media parts: %s %d is empty", ladder, level);
        return MODQ_BLUR_ERR_PARSE;
    }
    if (len > PARTS_RENDITION_MAX) {
        modq_errstr_set(errstr, errstr_size, "media parts: %s %d is %zu bytes > %u", ladder, level,
                        len, PARTS_RENDITION_MAX);
        return MODQ_BLUR_ERR_PARSE;
    }
    if (!looks_like(m->rformat, data, len)) {
        modq_errstr_set(errstr, errstr_size, "media parts: %s %d is not an %s file", ladder, level,
                        modq_media_mime(m));
        return MODQ_BLUR_ERR_PARSE;
    }
    slot = colour && !m->levels_in_colour ? &m->colour[level] : &m->levels[level];
    if (slot->data != NULL) {
        modq_errstr_set(errstr, errstr_size, "media parts: %s %d given twice", ladder, level);
        return MODQ_BLUR_ERR_PARSE;
    }
    if ((slot->data = g_try_malloc(len)) == NULL) {
        return MODQ_BLUR_ERR_NOMEM;
    }
    memcpy(slot->data, data, len);
    slot->len = len;
    slot->w = w;
    slot->h = h;
    return MODQ_BLUR_OK;
}

bool modq_media_levels_in_colour(const modq_media *m)
{
    return m != NULL && m->levels_in_colour;
}

modq_rendition_format modq_media_rendition_format(const modq_media *m)
{
    return m ? m->rformat : MODQ_FORMAT_WEBP;
}
