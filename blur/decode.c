/*
 * decode.c: every untrusted byte modq shows to a person passes through here first.
 *
 * Order matters: (1) the size of the input, (2) the format, sniffed from magic bytes by our own
 * code so blocked formats are named and never handed to a decoder, and for JPEG the number of
 * scans, counted from the markers, (3) dimensions and pixel count read from the header alone,
 * (4) one decode, shrunk on load where the format allows, to at most the display size, with
 * fail_on so truncated data fails instead of showing grey. The item's deadline is checked between
 * the steps and during the decode (deadline.c).
 */
#include "decode.h"

#include "deadline.h"
#include "internal.h"

#include <stdio.h>
#include <string.h>

typedef enum format_id {
    FMT_UNKNOWN,
    FMT_BLOCKED,
    FMT_JPEG,
    FMT_PNG,
    FMT_WEBP,
    FMT_GIF,
    FMT_TIFF,
    FMT_HEIF,
} format_id;

typedef struct sniffed {
    format_id id;
    const char *name;
} sniffed;

static int starts(const uint8_t *p, size_t len, const void *magic, size_t n)
{
    return len >= n && memcmp(p, magic, n) == 0;
}

/* ISO base media (HEIF, AVIF) announces itself with an ftyp box and a major brand. */
static int is_heif(const uint8_t *p, size_t len)
{
    static const char *const brands[] = {"heic", "heix", "hevc", "hevx", "heim",
                                         "heis", "mif1", "msf1", "avif", "avis"};
    if (len < 12 || memcmp(p + 4, "ftyp", 4) != 0) {
        return 0;
    }
    for (size_t i = 0; i < sizeof(brands) / sizeof(brands[0]); i++) {
        if (memcmp(p + 8, brands[i], 4) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Text formats: skip a UTF-8 BOM and leading white space, then look for an SVG root. */
static int is_svg(const uint8_t *p, size_t len)
{
    size_t i = 0, end = len < 4096 ? len : 4096;

    if (starts(p, len, "\xef\xbb\xbf", 3)) {
        i = 3;
    }
    while (i < end && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) {
        i++;
    }
    if (i >= end || p[i] != '<') {
        return 0;
    }
    for (size_t j = i; j + 4 <= end; j++) {
        if (memcmp(p + j, "<svg", 4) == 0 || memcmp(p + j, "<SVG", 4) == 0) {
            return 1;
        }
    }
    return 0;
}

static sniffed sniff(const uint8_t *p, size_t len)
{
    static const struct {
        const char *magic;
        size_t n;
        format_id id;
        const char *name;
    } table[] = {
        {"\xff\xd8\xff", 3, FMT_JPEG, "jpeg"},
        {"\x89PNG\r\n\x1a\n", 8, FMT_PNG, "png"},
        {"GIF87a", 6, FMT_GIF, "gif"},
        {"GIF89a", 6, FMT_GIF, "gif"},
        {"II*\0", 4, FMT_TIFF, "tiff"},
        {"MM\0*", 4, FMT_TIFF, "tiff"},
        {"II+\0", 4, FMT_TIFF, "tiff"},
        {"MM\0+", 4, FMT_TIFF, "tiff"},
        /* Recognised so that the error names them; never decoded. */
        {"%PDF", 4, FMT_BLOCKED, "pdf"},
        {"%!", 2, FMT_BLOCKED, "postscript"},
        {"\xc5\xd0\xd3\xc6", 4, FMT_BLOCKED, "postscript"},
        {"\x1f\x8b", 2, FMT_BLOCKED, "gzip (svgz?)"},
        {"\0\0\0\x0cjP  ", 8, FMT_BLOCKED, "jpeg2000"},
        {"\xff\x4f\xff\x51", 4, FMT_BLOCKED, "jpeg2000"},
        {"\xff\x0a", 2, FMT_BLOCKED, "jpegxl"},
        {"\0\0\0\x0cJXL ", 8, FMT_BLOCKED, "jpegxl"},
        {"8BPS", 4, FMT_BLOCKED, "psd"},
        {"BM", 2, FMT_BLOCKED, "bmp"},
        {"\0\0\1\0", 4, FMT_BLOCKED, "ico"},
        {"SIMPLE  =", 9, FMT_BLOCKED, "fits"},
        {"\x08\xf2\xa6\xb6", 4, FMT_BLOCKED, "vips"},
        {"\xb6\xa6\xf2\x08", 4, FMT_BLOCKED, "vips"},
        {"v/1\x01", 4, FMT_BLOCKED, "openexr"},
        {"MATLAB", 6, FMT_BLOCKED, "matlab"},
        {"#?RADIANCE", 10, FMT_BLOCKED, "radiance"},
        {"#?RGBE", 6, FMT_BLOCKED, "radiance"},
    };

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (starts(p, len, table[i].magic, table[i].n)) {
            return (sniffed){table[i].id, table[i].name};
        }
    }
    if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0) {
        return (sniffed){FMT_WEBP, "webp"};
    }
    if (is_heif(p, len)) {
        return (sniffed){FMT_HEIF, "heif"};
    }
    if (len >= 2 && p[0] == 'P' && ((p[1] >= '1' && p[1] <= '7') || p[1] == 'f' || p[1] == 'F')) {
        return (sniffed){FMT_BLOCKED, "netpbm"};
    }
    if (is_svg(p, len)) {
        return (sniffed){FMT_BLOCKED, "svg"};
    }
    return (sniffed){FMT_UNKNOWN, "unknown"};
}

/*
 * Counts a JPEG's scans (SOS markers) up to cap + 1, reading markers as libjpeg does: between
 * segments and inside entropy-coded data, bytes up to the next 0xFF are skipped, fill 0xFF bytes
 * swallowed, FF 00 (a stuffed byte), RSTn and TEM passed over; a segment is skipped by its length,
 * so an SOS inside an APPn (an EXIF thumbnail) is not counted. Stops at EOI, a second SOI or a bad
 * length, where libjpeg stops too.
 *
 * Why count: a progressive JPEG may have any number of scans, and libjpeg works through every
 * coefficient of the image once per scan before the first row comes out, in one call nothing can
 * interrupt. A few bytes per scan buy a whole pass over a large image (2.7 s for a 2 MB
 * 10000x10000 file with 100 scans), so the scans are counted before any decoding.
 */
static int jpeg_scans(const uint8_t *p, size_t len, int cap)
{
    size_t i = 2; /* past SOI */
    int scans = 0;

    while (i < len && scans <= cap) {
        const uint8_t *ff = memchr(p + i, 0xff, len - i);
        uint8_t m;
        size_t seglen;

        if (!ff) {
            break;
        }
        for (i = (size_t)(ff - p) + 1; i < len && p[i] == 0xff; i++)
            ;
        if (i >= len) {
            break;
        }
        m = p[i++];
        if (m == 0x00 || m == 0x01 || (m >= 0xd0 && m <= 0xd7)) {
            continue;
        }
        if (m == 0xd8 || m == 0xd9 || i + 2 > len) {
            break;
        }
        seglen = (size_t)p[i] << 8 | p[i + 1];
        if (seglen < 2) {
            break;
        }
        if (m == 0xda) {
            scans++;
        }
        i += seglen;
    }
    return scans;
}

/* Opens the allow-listed loader for id, lazily: only the header is read until pixels are asked. */
static int open_loader(format_id id, const void *buf, size_t len, VipsFailOn fail_on, int shrink,
                       double scale, VipsImage **out)
{
    void *b = (void *)(uintptr_t)buf; /* libvips takes non-const buffers but only reads them */

    switch (id) {
    case FMT_JPEG:
        return vips_jpegload_buffer(b, len, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                    fail_on, "shrink", shrink, NULL);
    case FMT_PNG:
        return vips_pngload_buffer(b, len, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                   fail_on, NULL);
    case FMT_WEBP:
        return vips_webpload_buffer(b, len, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                    fail_on, "scale", scale, NULL);
    case FMT_GIF:
        return vips_gifload_buffer(b, len, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                   fail_on, NULL);
    case FMT_TIFF:
        return vips_tiffload_buffer(b, len, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                    fail_on, NULL);
    case FMT_HEIF:
        /* thumbnail=FALSE: an embedded thumbnail can differ from the image people are shown. */
        return vips_heifload_buffer(b, len, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                    fail_on, "thumbnail", FALSE, NULL);
    default:
        return -1;
    }
}

static modq_blur_result check_header(const modq_media_opts *opts, VipsImage *hdr, int *ow, int *oh,
                                     char *errstr, size_t errstr_size)
{
    int64_t max_pixels = modq_opts_get(opts, MODQ_OPT_MAX_PIXELS);
    int64_t max_side = modq_opts_get(opts, MODQ_OPT_MAX_SIDE);
    int w = vips_image_get_width(hdr), h = vips_image_get_height(hdr);

    if (w <= 0 || h <= 0) {
        modq_errstr_set(errstr, errstr_size, "bad dimensions: %dx%d", w, h);
        return MODQ_BLUR_ERR_DIMENSION;
    }
    if ((int64_t)w * h > max_pixels) {
        modq_errstr_set(errstr, errstr_size, "too many pixels: %dx%d > %lld", w, h,
                        (long long)max_pixels);
        return MODQ_BLUR_ERR_TOO_MANY_PIXELS;
    }
    if (w > max_side || h > max_side) {
        modq_errstr_set(errstr, errstr_size, "image side too long: %dx%d > %lld px", w, h,
                        (long long)max_side);
        return MODQ_BLUR_ERR_DIMENSION;
    }
    /* EXIF orientations 5..8 swap width and height. */
    if (vips_image_get_orientation_swap(hdr)) {
        *ow = h;
        *oh = w;
    } else {
        *ow = w;
        *oh = h;
    }
    return MODQ_BLUR_OK;
}

/* Brings any decoded band layout to uchar sRGB or B_W without alpha (flattened on white). */
static int normalise(VipsImage *in, VipsImage **out)
{
    VipsImage *t[7] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    VipsImage *img;
    int alpha = vips_image_hasalpha(in);
    int colour_bands = in->Bands - (alpha ? 1 : 0);
    int want = colour_bands >= 3 ? 3 : 1;
    VipsInterpretation target = want == 3 ? VIPS_INTERPRETATION_sRGB : VIPS_INTERPRETATION_B_W;
    int rc = -1;

    if (vips_colourspace_issupported(in)) {
        if (vips_colourspace(in, &t[0], target, NULL)) {
            goto out;
        }
    } else {
        /* Unusual tags (multiband, fourier...): keep the leading colour bands as they are. */
        if (vips_extract_band(in, &t[0], 0, "n", want, NULL)) {
            goto out;
        }
        alpha = 0;
    }
    if (vips_cast_uchar(t[0], &t[1], NULL)) {
        goto out;
    }
    img = t[1];
    alpha = alpha && vips_image_hasalpha(img);
    /* Exactly `want` colour bands (+ the last band as alpha): hostile files can carry 5, 8 or
     * more samples per pixel, and everything downstream counts on 1 or 3. */
    if (img->Bands > want + alpha) {
        if (vips_extract_band(img, &t[2], 0, "n", want, NULL)) {
            goto out;
        }
        if (alpha && (vips_extract_band(img, &t[3], img->Bands - 1, NULL) ||
                      vips_bandjoin2(t[2], t[3], &t[4], NULL))) {
            goto out;
        }
        img = alpha ? t[4] : t[2];
    }
    if (alpha) {
        double white[3] = {255, 255, 255};
        VipsArrayDouble *bg = vips_array_double_new(white, want);
        int frc = vips_flatten(img, &t[5], "background", bg, NULL);
        vips_area_unref(VIPS_AREA(bg));
        if (frc || vips_cast_uchar(t[5], &t[6], NULL)) {
            goto out;
        }
        img = t[6];
    }
    g_object_ref(img);
    *out = img;
    rc = 0;
out:
    for (int i = 0; i < 7; i++) {
        VIPS_UNREF(t[i]);
    }
    return rc;
}

/*
 * Drops every metadata field (EXIF, XMP, IPTC, ICC, orientation, comments...) from a copy of in.
 * Savers' "strip" is not enough: libvips 8.14's WebP saver writes EXIF even when asked to strip.
 * The copy shares in's pixels.
 */
static int strip_metadata(VipsImage *in, VipsImage **out)
{
    gchar **fields;

    if (vips_copy(in, out, NULL)) {
        return -1;
    }
    fields = vips_image_get_fields(*out);
    for (int i = 0; fields && fields[i]; i++) {
        vips_image_remove(*out, fields[i]); /* FALSE for built-in header fields: kept */
    }
    g_strfreev(fields);
    return 0;
}

/* The refusals that need no decoder: size, format, and for JPEG the number of scans. */
static modq_blur_result refuse_early(const modq_media_opts *opts, const uint8_t *p, size_t len,
                                     sniffed *f, char *errstr, size_t errstr_size)
{
    int64_t max_bytes = modq_opts_get(opts, MODQ_OPT_MAX_INPUT_BYTES);
    int max_scans = (int)modq_opts_get(opts, MODQ_OPT_MAX_JPEG_SCANS);

    if (len == 0) {
        modq_errstr_set(errstr, errstr_size, "empty input: 0 bytes");
        return MODQ_BLUR_ERR_EMPTY;
    }
    if ((uint64_t)len > (uint64_t)max_bytes) {
        modq_errstr_set(errstr, errstr_size, "input too large: %zu bytes > %lld", len,
                        (long long)max_bytes);
        return MODQ_BLUR_ERR_TOO_LARGE;
    }
    *f = sniff(p, len);
    if (f->id == FMT_BLOCKED) {
        modq_errstr_set(errstr, errstr_size, "blocked format: %s", f->name);
        return MODQ_BLUR_ERR_BLOCKED_FORMAT;
    }
    if (f->id == FMT_UNKNOWN) {
        modq_errstr_set(errstr, errstr_size, "unknown format: first bytes %02x %02x %02x %02x",
                        p[0], len > 1 ? p[1] : 0, len > 2 ? p[2] : 0, len > 3 ? p[3] : 0);
        return MODQ_BLUR_ERR_UNKNOWN_FORMAT;
    }
    if (f->id == FMT_JPEG && jpeg_scans(p, len, max_scans) > max_scans) {
        modq_errstr_set(errstr, errstr_size, "too many JPEG scans: more than %d", max_scans);
        return MODQ_BLUR_ERR_TOO_MANY_SCANS;
    }
    return MODQ_BLUR_OK;
}

/*
 * From the opened (shrunk-on-load) image to out->image: uchar sRGB or B_W, at most display on
 * the long side, computed once into memory under the deadline, then rotated upright and stripped
 * of every metadata field.
 */
static modq_blur_result decode_pixels(VipsImage *img, int display, modq_deadline *dl,
                                      modq_decoded *out, char *errstr, size_t errstr_size)
{
    VipsImage *norm = NULL, *small = NULL, *mem = NULL, *rot = NULL, *clean = NULL;
    modq_blur_result r = MODQ_BLUR_ERR_CORRUPT;
    int longest;

    if (normalise(img, &norm)) {
        blur_vips_error("corrupt image", errstr, errstr_size);
        goto out;
    }
    longest = norm->Xsize > norm->Ysize ? norm->Xsize : norm->Ysize;
    if (longest > display) {
        if (vips_resize(norm, &small, (double)display / longest, "kernel", VIPS_KERNEL_LANCZOS2,
                        NULL)) {
            blur_vips_error("corrupt image", errstr, errstr_size);
            goto out;
        }
    } else {
        small = norm;
        g_object_ref(small);
    }
    /* The one decode: everything after this reads pixels from memory. */
    if (!(mem = deadline_copy_memory(dl, small))) {
        if (deadline_passed(dl)) {
            r = deadline_fail(dl, "decode", errstr, errstr_size);
        } else {
            blur_vips_error("corrupt image", errstr, errstr_size);
        }
        goto out;
    }
    if (vips_autorot(mem, &rot, NULL) || strip_metadata(rot, &clean) ||
        !(out->image = vips_image_copy_memory(clean))) {
        blur_vips_error("corrupt image", errstr, errstr_size);
        goto out;
    }
    r = MODQ_BLUR_OK;
out:
    VIPS_UNREF(norm);
    VIPS_UNREF(small);
    VIPS_UNREF(mem);
    VIPS_UNREF(rot);
    VIPS_UNREF(clean);
    return r;
}

modq_blur_result decode_image(const modq_media_opts *opts, const void *buf, size_t len,
                              modq_deadline *dl, modq_decoded *out, char *errstr,
                              size_t errstr_size)
{
    VipsImage *hdr = NULL, *img = NULL;
    modq_blur_result r;
    int display = (int)modq_opts_get(opts, MODQ_OPT_DISPLAY_SIZE);
    VipsFailOn fail_on =
        modq_opts_get(opts, MODQ_OPT_FAIL_ON_WARNING) ? VIPS_FAIL_ON_WARNING : VIPS_FAIL_ON_ERROR;
    int shrink = 1, ow = 0, oh = 0, longest, shortest;
    double scale = 1.0;
    sniffed f;

    if (!opts || !out || !dl || (!buf && len > 0)) {
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    memset(out, 0, sizeof(*out));
    /* libvips keeps errors in one process-wide buffer, and a successful decode can leave text in
     * it (a HEIF seek, say): clear it so a later failure reports its own reason. */
    vips_error_clear();
    if ((r = refuse_early(opts, buf, len, &f, errstr, errstr_size)) != MODQ_BLUR_OK) {
        return r;
    }

    if (open_loader(f.id, buf, len, fail_on, 1, 1.0, &hdr)) {
        blur_vips_error("corrupt image", errstr, errstr_size);
        r = MODQ_BLUR_ERR_CORRUPT;
        goto out;
    }
    if ((r = check_header(opts, hdr, &ow, &oh, errstr, errstr_size)) != MODQ_BLUR_OK) {
        goto out;
    }
    out->frames = vips_image_get_n_pages(hdr);
    longest = ow > oh ? ow : oh;
    shortest = ow < oh ? ow : oh;

    /* Shrink on load: the decoder skips the detail that the display size would throw away. Never
     * below one pixel on the short side: libvips 8.14 aborts the process on a 0-pixel image (a
     * 2000x1 JPEG at display size 64 asked for shrink 8). */
    if (f.id == FMT_JPEG) {
        while (shrink < 8 && longest / (shrink * 2) >= display && shortest / (shrink * 2) >= 1) {
            shrink *= 2;
        }
    } else if (f.id == FMT_WEBP && longest > display) {
        scale = (double)display / longest;
        if (scale * shortest < 1.0) {
            scale = 1.0 / shortest;
        }
    }
    if (shrink > 1 || scale < 1.0) {
        if (open_loader(f.id, buf, len, fail_on, shrink, scale, &img)) {
            blur_vips_error("corrupt image", errstr, errstr_size);
            r = MODQ_BLUR_ERR_CORRUPT;
            goto out;
        }
    } else {
        img = hdr;
        g_object_ref(img);
    }
    /* A container's header (HEIF, TIFF) can take its time too. */
    if (deadline_passed(dl)) {
        r = deadline_fail(dl, "header", errstr, errstr_size);
        goto out;
    }
    if ((r = decode_pixels(img, display, dl, out, errstr, errstr_size)) != MODQ_BLUR_OK) {
        goto out;
    }
    out->width = ow;
    out->height = oh;
    out->format = f.name;
out:
    if (r != MODQ_BLUR_OK) {
        decode_clear(out);
    }
    VIPS_UNREF(hdr);
    VIPS_UNREF(img);
    return r;
}

void decode_clear(modq_decoded *d)
{
    if (!d) {
        return;
    }
    VIPS_UNREF(d->image);
    memset(d, 0, sizeof(*d));
}
