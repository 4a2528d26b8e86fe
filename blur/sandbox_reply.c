/*
 * sandbox_reply.c: a helper's answer, read and checked (private to the sandbox). The helper has
 * read hostile bytes, so nothing it says is used unchecked: every count and length is bounded
 * before anything is allocated, every figure must be one the options allow, each rendition must
 * be one that was asked for, exactly once; the hex forms of the hashes are made here, and the
 * error text is cut to printable ASCII. A helper that breaks a rule is stopped (it may have been
 * taken over) and its item fails with MODQ_BLUR_ERR_DECODER_CRASHED.
 */
#include "internal.h"
#include "sandbox_impl.h"

#include <stdio.h>
#include <string.h>

/* Which levels of which ladder opts asks for: bit level, and bit 4 + level for the colour one. */
static unsigned expected_renditions(const modq_media_opts *opts)
{
    unsigned levels = (unsigned)modq_opts_get(opts, MODQ_OPT_LEVELS) & 0xfu;
    bool colour_too =
        modq_opts_get(opts, MODQ_OPT_COLOUR_TOO) == 1 && modq_opts_get(opts, MODQ_OPT_COLOUR) == 0;

    return levels | (colour_too ? levels << MODQ_LEVEL_COUNT : 0u);
}

static int in_range(int64_t v, int64_t lo, int64_t hi)
{
    return v >= lo && v <= hi;
}

/* The facts of a successful PROCESS reply; NULL when they hold, else the rule broken. */
static const char *check_facts(const sb_reply *rp, const modq_media_opts *opts)
{
    int64_t side = modq_opts_get(opts, MODQ_OPT_MAX_SIDE);
    int64_t display = modq_opts_get(opts, MODQ_OPT_DISPLAY_SIZE);

    if (!in_range(rp->width, 1, side) || !in_range(rp->height, 1, side) ||
        (int64_t)rp->width * rp->height > modq_opts_get(opts, MODQ_OPT_MAX_PIXELS)) {
        return "source size out of range";
    }
    if (!in_range(rp->display_w, 1, display < rp->width ? display : rp->width) ||
        !in_range(rp->display_h, 1, display < rp->height ? display : rp->height)) {
        return "display size out of range";
    }
    if (!in_range(rp->frames, 1, SB_FRAMES_MAX) || !in_range(rp->format, 0, sb_format_count - 1) ||
        !in_range(rp->pdq_quality, 0, 100)) {
        return "frames, format or PDQ quality out of range";
    }
    if (rp->kept != (modq_opts_get(opts, MODQ_OPT_DEFER_RENDER) == 1)) {
        return "kept the decode when not asked, or not when asked";
    }
    return NULL;
}

/* The header of any reply; NULL when it holds, else the rule broken. */
static const char *check_header(const sb_reply *rp, const modq_media_opts *opts, bool process,
                                unsigned want)
{
    if (rp->magic != SB_MAGIC) {
        return "bad magic";
    }
    if (!in_range(rp->result, 0, MODQ_BLUR_RESULT_COUNT - 1)) {
        return "result out of range";
    }
    if (rp->result != MODQ_BLUR_OK) {
        return rp->nrend != 0 || rp->kept != 0 || rp->errlen > SB_ERR_MAX
                   ? "a failure with renditions, or a long error text"
                   : NULL;
    }
    if (rp->errlen != 0) {
        return "a success with error text";
    }
    if (process && (rp->kept || !want)) {
        return rp->nrend != 0 ? "renditions when none were asked for" : check_facts(rp, opts);
    }
    if (!process && rp->kept) {
        return "kept the decode after rendering";
    }
    if (rp->nrend != (uint32_t)__builtin_popcount(want)) {
        return "not the renditions asked for";
    }
    return process ? check_facts(rp, opts) : NULL;
}

/* Reads one rendition into m; NULL when it kept to the rules, else the rule broken. *late is set
 * when the deadline passed. */
static const char *read_rendition(sb_helper *h, modq_media *m, unsigned *want, int64_t deadline,
                                  bool *late)
{
    sb_rendition rd;
    rendition *slot;
    sb_io io = sb_xfer(h->fd, &rd, sizeof rd, false, deadline);
    unsigned bit;

    if (io != SB_IO_OK) {
        *late = io == SB_IO_LATE;
        return "cut short";
    }
    if (rd.ladder > 1 || rd.level >= MODQ_LEVEL_COUNT) {
        return "a rendition of no level";
    }
    bit = 1u << (rd.level + rd.ladder * MODQ_LEVEL_COUNT);
    if (!(*want & bit)) {
        return "a rendition not asked for, or twice";
    }
    if (!in_range(rd.w, 1, m->display_w) || !in_range(rd.h, 1, m->display_h) || rd.len == 0 ||
        rd.len > SB_RENDITION_MAX) {
        return "a rendition's size out of range";
    }
    *want &= ~bit;
    slot = rd.ladder ? &m->colour[rd.level] : &m->levels[rd.level];
    if (!(slot->data = g_try_malloc(rd.len))) {
        return "no memory for a rendition";
    }
    slot->len = rd.len;
    slot->w = rd.w;
    slot->h = rd.h;
    io = sb_xfer(h->fd, slot->data, rd.len, false, deadline);
    if (io != SB_IO_OK) {
        *late = io == SB_IO_LATE;
        return "cut short";
    }
    return NULL;
}

/* Copies a PROCESS reply's facts and hashes into m, making the hex forms here. */
static void take_facts(const sb_reply *rp, const modq_media_opts *opts, modq_media *m)
{
    modq_media_facts f = {
        .width = rp->width,
        .height = rp->height,
        .frames = rp->frames,
        .display_width = rp->display_w,
        .display_height = rp->display_h,
        .rendition_format = (modq_rendition_format)modq_opts_get(opts, MODQ_OPT_FORMAT),
        .levels_in_colour = modq_opts_get(opts, MODQ_OPT_COLOUR) == 1,
        .pdq_quality = rp->pdq_quality,
    };
    memcpy(f.sha256, rp->sha256, sizeof f.sha256);
    memcpy(f.md5, rp->md5, sizeof f.md5);
    memcpy(f.pdq, rp->pdq, sizeof f.pdq);
    media_set_facts(m, &f, sb_format_names[rp->format]);
}

/* The error text of a failure, printable ASCII only. */
static sb_io read_error_text(sb_helper *h, uint32_t len, int64_t deadline, char *errstr,
                             size_t errstr_size)
{
    char text[SB_ERR_MAX + 1];
    sb_io io = sb_xfer(h->fd, text, len, false, deadline);

    if (io != SB_IO_OK) {
        return io;
    }
    for (uint32_t i = 0; i < len; i++) {
        if (text[i] < 0x20 || text[i] > 0x7e) {
            text[i] = '?';
        }
    }
    text[len] = '\0';
    modq_errstr_set(errstr, errstr_size, "%s", len ? text : "failed in the sandbox");
    return SB_IO_OK;
}

modq_blur_result sb_read_reply(sb_helper *h, const sb_reply *rp, const modq_media_opts *opts,
                               bool process, modq_media *m, int64_t deadline_ms, char *errstr,
                               size_t errstr_size)
{
    unsigned want = expected_renditions(opts);
    const char *broken = check_header(rp, opts, process, want);
    bool late = false;
    char why[128];
    sb_io io;

    if (broken) {
        goto stop;
    }
    if (rp->result != MODQ_BLUR_OK) {
        if ((io = read_error_text(h, rp->errlen, deadline_ms, errstr, errstr_size)) == SB_IO_OK) {
            return (modq_blur_result)rp->result;
        }
        late = io == SB_IO_LATE;
        broken = "cut short";
        goto stop;
    }
    if (process) {
        take_facts(rp, opts, m);
    }
    for (uint32_t i = 0; i < rp->nrend; i++) {
        if ((broken = read_rendition(h, m, &want, deadline_ms, &late)) != NULL) {
            goto stop;
        }
    }
    return MODQ_BLUR_OK;
stop:
    snprintf(why, sizeof why, "bad answer (%s)", broken);
    return sb_stop(h, late, late ? "no answer before the deadline" : why, errstr, errstr_size);
}
