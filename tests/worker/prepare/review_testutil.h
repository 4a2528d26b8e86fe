/*
 * review_testutil.h: for test_worker_review_item.c: tickets with every field set, comparisons of
 * tickets and media, prepared items with renditions of chosen sizes, and the hostile changes to a
 * review record that the unpacker must refuse.
 */
#ifndef MODQ_REVIEW_TESTUTIL_H
#define MODQ_REVIEW_TESTUTIL_H

#include "prepare/prepare.h"
#include "proto/review.pb-c.h"
#include "ticket_testutil.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A noise image this many pixels square, rendered at this size and WebP quality: its grey ladder
 * fits in a review record, not with its colour ladder beside it. */
#define RT_NOISE_SIDE    1024
#define RT_NOISE_QUALITY 90

/* UTF-8 beyond ASCII, a tab and a newline: free text as a ticket may carry it. */
#define RT_TEXT "caption: caf\xc3\xa9 \xe2\x9c\x93\tand\nline 2"

/* A packed ticket with every field set; inline media when media is non-NULL. Caller frees. */
static inline uint8_t *rt_full_ticket(const char *id, const char *queue, const uint8_t *media,
                                      size_t media_len, size_t *len)
{
    static const char *const skills[] = {"german", "graphic"};
    Modq__V1__Ticket__AttributesEntry a[2], *ap[2] = {&a[0], &a[1]};
    Modq__V1__Ticket t;
    Modq__V1__Media m;
    uint8_t *buf;

    modq__v1__ticket__init(&t);
    modq__v1__media__init(&m);
    modq__v1__ticket__attributes_entry__init(&a[0]);
    modq__v1__ticket__attributes_entry__init(&a[1]);
    a[0].key = (char *)(uintptr_t) "app";
    a[0].value = (char *)(uintptr_t) "web \xe2\x80\x94 beta";
    a[1].key = (char *)(uintptr_t) "region";
    a[1].value = (char *)(uintptr_t) "eu-1";
    t.ticket_id = (char *)(uintptr_t)id;
    t.content_id = (char *)(uintptr_t) "content-1";
    t.queue = (char *)(uintptr_t)queue;
    t.category = (char *)(uintptr_t) "self harm \xc3\xa9";
    t.severity_hint = MODQ__V1__SEVERITY__SEVERITY_TIER2;
    t.created_at_ms = 1767599990000LL;
    t.priority = -3;
    t.locale = (char *)(uintptr_t) "de-DE";
    t.reporter_reason = (char *)(uintptr_t) "reported\tby\r\nsomeone";
    t.text = (char *)(uintptr_t)RT_TEXT;
    t.trace_id = (char *)(uintptr_t) "trace-77";
    t.source = (char *)(uintptr_t) "flagger 9";
    t.required_skills = (char **)(uintptr_t)skills;
    t.n_required_skills = 2;
    t.attributes = ap;
    t.n_attributes = 2;
    if (media) {
        m.source_case = MODQ__V1__MEDIA__SOURCE_INLINE_BYTES;
        m.inline_bytes.data = (uint8_t *)(uintptr_t)media;
        m.inline_bytes.len = media_len;
        m.claimed_mime_type = (char *)(uintptr_t) "image/jpeg";
        t.media = &m;
    }
    *len = modq__v1__ticket__get_packed_size(&t);
    if ((buf = malloc(*len ? *len : 1))) {
        modq__v1__ticket__pack(&t, buf);
    }
    return buf;
}

/* 1 when needle occurs in the n bytes at hay. */
static inline int rt_contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    for (size_t i = 0; m <= n && i <= n - m; i++) {
        if (memcmp(hay + i, needle, m) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Every field of a and b but media is the same: their packings, without media, are. */
static inline void rt_assert_same_ticket(const Modq__V1__Ticket *a, const Modq__V1__Ticket *b)
{
    Modq__V1__Ticket ca = *a, cb = *b;
    size_t na, nb;
    uint8_t *pa, *pb;

    ca.media = NULL;
    cb.media = NULL;
    na = modq__v1__ticket__get_packed_size(&ca);
    nb = modq__v1__ticket__get_packed_size(&cb);
    assert_int_equal(na, nb);
    pa = malloc(na + 1);
    pb = malloc(nb + 1);
    assert_non_null(pa);
    assert_non_null(pb);
    modq__v1__ticket__pack(&ca, pa);
    modq__v1__ticket__pack(&cb, pb);
    assert_memory_equal(pa, pb, na);
    free(pa);
    free(pb);
    assert_string_equal(a->ticket_id, b->ticket_id);
    assert_string_equal(a->queue, b->queue);
    assert_string_equal(a->text, b->text);
    assert_int_equal(a->n_attributes, b->n_attributes);
}

/* One level of one ladder reads the same in a and b. */
static inline void rt_assert_same_rendition(const modq_media *a, const modq_media *b, int lv,
                                            bool colour)
{
    const uint8_t *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    int wa = 0, ha = 0, wb = -1, hb = -1;
    modq_blur_result ra = colour ? modq_media_rendition_colour(a, lv, &da, &la, &wa, &ha)
                                 : modq_media_rendition(a, lv, &da, &la, &wa, &ha);
    modq_blur_result rb = colour ? modq_media_rendition_colour(b, lv, &db, &lb, &wb, &hb)
                                 : modq_media_rendition(b, lv, &db, &lb, &wb, &hb);

    assert_int_equal(ra, rb);
    if (ra == MODQ_BLUR_OK) {
        assert_int_equal(la, lb);
        assert_memory_equal(da, db, la);
        assert_int_equal(wa, wb);
        assert_int_equal(ha, hb);
    }
}

/* Facts, hashes and both ladders read the same in a and b. */
static inline void rt_assert_same_media(const modq_media *a, const modq_media *b)
{
    assert_int_equal(modq_media_width(a), modq_media_width(b));
    assert_int_equal(modq_media_height(a), modq_media_height(b));
    assert_int_equal(modq_media_frames(a), modq_media_frames(b));
    assert_string_equal(modq_media_format(a), modq_media_format(b));
    assert_int_equal(modq_media_display_width(a), modq_media_display_width(b));
    assert_int_equal(modq_media_display_height(a), modq_media_display_height(b));
    assert_string_equal(modq_media_mime(a), modq_media_mime(b));
    assert_int_equal(modq_media_levels_in_colour(a), modq_media_levels_in_colour(b));
    assert_string_equal(modq_media_sha256_hex(a), modq_media_sha256_hex(b));
    assert_string_equal(modq_media_md5_hex(a), modq_media_md5_hex(b));
    assert_string_equal(modq_media_pdq_hex(a), modq_media_pdq_hex(b));
    for (int v = 0; v < MODQ_PDQ_DIHEDRAL; v++) {
        assert_memory_equal(modq_media_pdq_dihedral(a, v), modq_media_pdq_dihedral(b, v),
                            MODQ_PDQ_BYTES);
    }
    assert_int_equal(modq_media_pdq_quality(a), modq_media_pdq_quality(b));
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        rt_assert_same_rendition(a, b, lv, false);
        rt_assert_same_rendition(a, b, lv, true);
    }
}

/* How many levels of one ladder m holds. */
static inline int rt_levels(const modq_media *m, bool colour)
{
    int n = 0;
    for (int lv = 0; m && lv < MODQ_LEVEL_COUNT; lv++) {
        n += (colour ? modq_media_rendition_colour(m, lv, NULL, NULL, NULL, NULL)
                     : modq_media_rendition(m, lv, NULL, NULL, NULL, NULL)) == MODQ_BLUR_OK;
    }
    return n;
}
#define rt_grey_levels(m)   rt_levels((m), false)
#define rt_colour_levels(m) rt_levels((m), true)

/* n bytes (at least 12) that start as a WebP file does; the rest is filler. Caller frees. */
static inline uint8_t *rt_fake_webp(size_t n)
{
    uint8_t *b;

    n = n < 12 ? 12 : n;
    assert_non_null(b = malloc(n));
    for (size_t i = 0; i < n; i++) {
        b[i] = (uint8_t)(i * 31 + 7);
    }
    memcpy(b, "RIFF", 4);
    for (int k = 0; k < 4; k++) {
        b[4 + k] = (uint8_t)((n - 8) >> (8 * k));
    }
    memcpy(b + 8, "WEBP", 4);
    return b;
}

/* One ladder of m: level 0 of level0 bytes, the blurred levels of 500 each. */
static inline void rt_put_ladder(modq_media *m, bool colour, size_t level0)
{
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        size_t n = lv == 0 ? level0 : 500;
        uint8_t *b = rt_fake_webp(n);
        assert_int_equal(
            modq_media_put_rendition(m, lv, colour, b, n, 1024 >> lv, 768 >> lv, NULL, 0),
            MODQ_BLUR_OK);
        free(b);
    }
}

/* A prepared review item of queue nudity whose media has a grey ladder with a level 0 of grey0
 * bytes, and a colour one (level 0 of colour0 bytes) when colour0 > 0. Caller frees. */
static inline modq_prepared *rt_crafted(const modq_policy *policy, size_t grey0, size_t colour0)
{
    modq_prepared *p = calloc(1, sizeof(*p));
    modq_media_facts f = {.width = 4000,
                          .height = 3000,
                          .frames = 1,
                          .format = "png",
                          .display_width = 1024,
                          .display_height = 768,
                          .rendition_format = MODQ_FORMAT_WEBP,
                          .pdq_quality = 90};
    size_t len;
    uint8_t *msg = tt_ticket("crafted-1", "nudity", NULL, 0, NULL, &len);

    assert_non_null(p);
    assert_non_null(msg);
    for (size_t i = 0; i < sizeof(f.pdq); i++) {
        ((uint8_t *)f.pdq)[i] = (uint8_t)(i * 13);
    }
    memset(f.sha256, 0x5a, sizeof(f.sha256));
    memset(f.md5, 0xa5, sizeof(f.md5));
    p->kind = MODQ_PREPARED_REVIEW;
    assert_non_null(p->ticket = modq__v1__ticket__unpack(NULL, len, msg));
    free(msg);
    p->queue_index = modq_policy_queue_find(policy, "nudity");
    assert_int_equal(modq_media_assemble(&f, &p->media, NULL, 0), MODQ_BLUR_OK);
    rt_put_ladder(p->media, false, grey0);
    if (colour0 > 0) {
        rt_put_ladder(p->media, true, colour0);
    }
    return p;
}

/* Bytes of v as a varint. */
static inline size_t rt_varint_len(size_t v)
{
    size_t n = 1;
    for (; v >= 0x80; v >>= 7) {
        n++;
    }
    return n;
}

/* rec (len bytes) followed by an unknown field (number 100, bytes) that fills it to total bytes.
 * Caller frees. */
static inline uint8_t *rt_padded(const uint8_t *rec, size_t len, size_t total)
{
    uint8_t *b = malloc(total);
    size_t fill = 0, vl, at = len, v;

    assert_non_null(b);
    for (vl = 1; vl <= 5; vl++) { /* the length's varint takes vl bytes */
        fill = total - len - 2 - vl;
        if (rt_varint_len(fill) == vl) {
            break;
        }
    }
    assert_true(vl <= 5);
    memcpy(b, rec, len);
    b[at++] = 0xa2; /* (100 << 3) | 2 as a varint */
    b[at++] = 0x06;
    for (v = fill; v >= 0x80; v >>= 7) {
        b[at++] = (uint8_t)((v & 0x7f) | 0x80);
    }
    b[at++] = (uint8_t)v;
    memset(b + at, 'p', fill);
    assert_int_equal(at + fill, total);
    return b;
}

/* A record's parts, copied shallowly so that a change leaves the unpacked original whole. */
typedef struct rt_scratch {
    Modq__V1__ReviewItem item;
    Modq__V1__Ticket ticket;
    Modq__V1__PreparedMedia media;
    Modq__V1__Rendition rd[2 * MODQ_LEVEL_COUNT], *rdp[2 * MODQ_LEVEL_COUNT];
    ProtobufCBinaryData pdq[MODQ_PDQ_DIHEDRAL];
    Modq__V1__Media ticket_media;
    Modq__V1__Ticket__AttributesEntry attr[4], *attrp[4];
} rt_scratch;

static inline void rt_scratch_of(const Modq__V1__ReviewItem *orig, rt_scratch *s)
{
    memset(s, 0, sizeof(*s));
    s->item = *orig;
    s->ticket = *orig->ticket;
    s->item.ticket = &s->ticket;
    s->media = *orig->media;
    s->item.media = &s->media;
    for (size_t i = 0; i < orig->media->n_renditions && i < 2 * MODQ_LEVEL_COUNT; i++) {
        s->rd[i] = *orig->media->renditions[i];
        s->rdp[i] = &s->rd[i];
    }
    s->media.renditions = s->rdp;
    memcpy(s->pdq, orig->media->pdq_dihedral, sizeof(s->pdq));
    s->media.pdq_dihedral = s->pdq;
    modq__v1__media__init(&s->ticket_media);
    assert_true(orig->ticket->n_attributes <= 4);
    for (size_t i = 0; i < orig->ticket->n_attributes; i++) {
        s->attr[i] = *orig->ticket->attributes[i];
        s->attrp[i] = &s->attr[i];
    }
    s->ticket.attributes = s->attrp;
}

/* What s holds, packed (caller frees). */
static inline uint8_t *rt_scratch_pack(const rt_scratch *s, size_t *len)
{
    uint8_t *rec;

    *len = modq__v1__review_item__get_packed_size(&s->item);
    assert_non_null(rec = malloc(*len ? *len : 1));
    modq__v1__review_item__pack(&s->item, rec);
    return rec;
}

/* The hostile changes: each makes a record that must be refused, for that change alone. */
static inline void rt_version_2(rt_scratch *s)
{
    s->item.format_version = 2;
}
static inline void rt_version_0(rt_scratch *s)
{
    s->item.format_version = 0;
}
static inline void rt_no_ticket(rt_scratch *s)
{
    s->item.ticket = NULL;
}
static inline void rt_ticket_uri(rt_scratch *s)
{
    s->ticket_media.source_case = MODQ__V1__MEDIA__SOURCE_URI;
    s->ticket_media.uri = (char *)(uintptr_t) "https://media.example/x.jpg";
    s->ticket.media = &s->ticket_media;
}
static inline void rt_ticket_bytes(rt_scratch *s)
{
    s->ticket_media.source_case = MODQ__V1__MEDIA__SOURCE_INLINE_BYTES;
    s->ticket_media.inline_bytes.data = (uint8_t *)(uintptr_t) "\xff\xd8\xff\xe0";
    s->ticket_media.inline_bytes.len = 4;
    s->ticket.media = &s->ticket_media;
}
static inline void rt_text_utf8(rt_scratch *s)
{
    s->ticket.text = (char *)(uintptr_t) "ok \xc3\x28 not";
}
static inline void rt_reason_control(rt_scratch *s)
{
    s->ticket.reporter_reason = (char *)(uintptr_t) "bell \x07";
}
static inline void rt_attr_utf8(rt_scratch *s)
{
    s->ticket.attributes[0]->value = (char *)(uintptr_t) "\xed\xa0\x80"; /* a surrogate */
}
static inline void rt_id_space(rt_scratch *s)
{
    s->ticket.ticket_id = (char *)(uintptr_t) "t 6";
}
static inline void rt_id_empty(rt_scratch *s)
{
    s->ticket.ticket_id = (char *)(uintptr_t) "";
}
static inline void rt_id_dotdot(rt_scratch *s)
{
    s->ticket.ticket_id = (char *)(uintptr_t) "..";
}
static const char rt_long_id[] =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static inline void rt_id_long(rt_scratch *s)
{
    s->ticket.ticket_id = (char *)(uintptr_t)rt_long_id;
}
static inline void rt_queue_unknown(rt_scratch *s)
{
    s->ticket.queue = (char *)(uintptr_t) "no_such_queue";
}
static inline void rt_queue_empty(rt_scratch *s)
{
    s->ticket.queue = (char *)(uintptr_t) "";
}
static inline void rt_severity(rt_scratch *s)
{
    s->ticket.severity_hint = (Modq__V1__Severity)7;
}
static inline void rt_sha_short(rt_scratch *s)
{
    s->media.sha256.len = MODQ_SHA256_LEN - 1;
}
static inline void rt_md5_none(rt_scratch *s)
{
    s->media.md5.len = 0;
}
static inline void rt_pdq_seven(rt_scratch *s)
{
    s->media.n_pdq_dihedral = MODQ_PDQ_DIHEDRAL - 1;
}
static inline void rt_pdq_nine(rt_scratch *s)
{
    static ProtobufCBinaryData nine[MODQ_PDQ_DIHEDRAL + 1];
    memcpy(nine, s->pdq, sizeof(s->pdq));
    nine[MODQ_PDQ_DIHEDRAL] = s->pdq[0];
    s->media.pdq_dihedral = nine;
    s->media.n_pdq_dihedral = MODQ_PDQ_DIHEDRAL + 1;
}
static inline void rt_pdq_variant_long(rt_scratch *s)
{
    static const uint8_t longer[MODQ_PDQ_BYTES + 1];
    s->pdq[3] = (ProtobufCBinaryData){sizeof(longer), (uint8_t *)(uintptr_t)longer};
}
static inline void rt_format_svg(rt_scratch *s)
{
    s->media.format = (char *)(uintptr_t) "svg";
}
static inline void rt_width_0(rt_scratch *s)
{
    s->media.width = 0;
}
static inline void rt_frames_0(rt_scratch *s)
{
    s->media.frames = 0;
}
static inline void rt_display_9000(rt_scratch *s)
{
    s->media.display_width = 9000;
}
static inline void rt_quality(rt_scratch *s)
{
    s->media.pdq_quality = -1;
}
static inline void rt_jpeg_claimed(rt_scratch *s)
{
    s->media.jpeg_renditions = 1;
}
static inline void rt_level0_html(rt_scratch *s)
{
    static const char html[] = "<html><script>alert(1)</script></html>";
    s->rd[0].data = (ProtobufCBinaryData){sizeof(html) - 1, (uint8_t *)(uintptr_t)html};
}
static inline void rt_colour2_gif(rt_scratch *s)
{
    static const char gif[] = "GIF89a\x01\x00\x01\x00\x00\x00\x00;";
    s->rd[MODQ_LEVEL_COUNT + 2].data =
        (ProtobufCBinaryData){sizeof(gif) - 1, (uint8_t *)(uintptr_t)gif};
}
static inline void rt_level1_empty(rt_scratch *s)
{
    s->rd[1].data = (ProtobufCBinaryData){0, NULL};
}
static inline void rt_level_4(rt_scratch *s)
{
    s->rd[3].level = MODQ_LEVEL_COUNT;
}
static inline void rt_level_minus(rt_scratch *s)
{
    s->rd[2].level = -1;
}
static inline void rt_level_too_wide(rt_scratch *s)
{
    s->rd[0].width = s->media.display_width + 1;
}
static inline void rt_level_twice(rt_scratch *s)
{
    s->rdp[1] = s->rdp[0];
}
static inline void rt_colour_only(rt_scratch *s)
{
    s->media.renditions = s->rdp + MODQ_LEVEL_COUNT;
    s->media.n_renditions = MODQ_LEVEL_COUNT;
}
static inline void rt_no_renditions(rt_scratch *s)
{
    s->media.n_renditions = 0;
}
static inline void rt_prior(rt_scratch *s, const char *id, int verdict)
{
    s->item.has_prior = 1;
    s->item.prior_ticket_id = (char *)(uintptr_t)id;
    s->item.prior_verdict = verdict;
}
static inline void rt_prior_space(rt_scratch *s)
{
    rt_prior(s, "old 1", 1);
}
static inline void rt_prior_utf8(rt_scratch *s)
{
    rt_prior(s, "old-\xc3\x28", 1);
}
static inline void rt_prior_long(rt_scratch *s)
{
    rt_prior(s, rt_long_id, 1);
}
static inline void rt_prior_empty(rt_scratch *s)
{
    rt_prior(s, "", 1);
}
static inline void rt_prior_verdict(rt_scratch *s)
{
    rt_prior(s, "old-1", 5);
}
static inline void rt_prior_verdict_minus(rt_scratch *s)
{
    rt_prior(s, "old-1", -1);
}
static inline void rt_prior_distance(rt_scratch *s)
{
    rt_prior(s, "old-1", 2);
    s->item.prior_distance = 32;
}

typedef struct rt_hostile_case {
    const char *what;
    void (*change)(rt_scratch *s);
    const char *code; /* NULL: MODQ_DLQ_REVIEW_INVALID */
    const char *needle;
} rt_hostile_case;

static const rt_hostile_case rt_hostile[] = {
    {"format_version 2", rt_version_2, NULL, "format_version 2"},
    {"format_version 0", rt_version_0, NULL, "format_version 0"},
    {"no ticket", rt_no_ticket, NULL, "no ticket"},
    {"ticket with media by uri", rt_ticket_uri, NULL, "ticket.media: set"},
    {"ticket with media bytes", rt_ticket_bytes, NULL, "ticket.media: set"},
    {"text not UTF-8", rt_text_utf8, NULL, "text: not valid UTF-8"},
    {"reason with a control", rt_reason_control, NULL, "reporter_reason: a character"},
    {"attribute a surrogate", rt_attr_utf8, NULL, "attributes[0].value: not valid UTF-8"},
    {"ticket id with a space", rt_id_space, NULL, "ticket_id: a character"},
    {"ticket id empty", rt_id_empty, NULL, "ticket_id: empty"},
    {"ticket id ..", rt_id_dotdot, NULL, "ticket_id: a character"},
    {"ticket id of 129 bytes", rt_id_long, NULL, "ticket_id: too long"},
    {"unknown queue", rt_queue_unknown, MODQ_DLQ_UNKNOWN_QUEUE, "'no_such_queue' is not in"},
    {"queue empty", rt_queue_empty, NULL, "queue: empty"},
    {"severity 7", rt_severity, NULL, "severity_hint"},
    {"sha256 of 31 bytes", rt_sha_short, NULL, "hashes of the wrong size"},
    {"md5 absent", rt_md5_none, NULL, "hashes of the wrong size"},
    {"7 PDQ variants", rt_pdq_seven, NULL, "hashes of the wrong size"},
    {"9 PDQ variants", rt_pdq_nine, NULL, "hashes of the wrong size"},
    {"PDQ variant of 33 bytes", rt_pdq_variant_long, NULL, "PDQ variant 3 of the wrong size"},
    {"source format svg", rt_format_svg, NULL, "unknown source format"},
    {"source width 0", rt_width_0, NULL, "source size out of range"},
    {"frames 0", rt_frames_0, NULL, "frame count out of range"},
    {"display width 9000", rt_display_9000, NULL, "display size out of range"},
    {"PDQ quality -1", rt_quality, NULL, "PDQ quality out of range"},
    {"JPEG claimed, WebP given", rt_jpeg_claimed, NULL, "level 0 is not an image/jpeg file"},
    {"level 0 is HTML", rt_level0_html, NULL, "level 0 is not an image/webp file"},
    {"colour level 2 is a GIF", rt_colour2_gif, NULL, "colour level 2 is not an image/webp"},
    {"level 1 empty", rt_level1_empty, NULL, "level 1 is empty"},
    {"level 4", rt_level_4, NULL, "rendition level 4 out of range"},
    {"level -1", rt_level_minus, NULL, "rendition level -1 out of range"},
    {"level 0 wider than shown", rt_level_too_wide, NULL, "outside the display size"},
    {"level 0 twice", rt_level_twice, NULL, "level 0 given twice"},
    {"colour ladder only", rt_colour_only, NULL, "no rendition to show"},
    {"no rendition", rt_no_renditions, NULL, "no rendition to show"},
    {"prior id with a space", rt_prior_space, NULL, "prior_ticket_id"},
    {"prior id not UTF-8", rt_prior_utf8, NULL, "prior_ticket_id"},
    {"prior id of 129 bytes", rt_prior_long, NULL, "prior_ticket_id"},
    {"prior id empty", rt_prior_empty, NULL, "prior_ticket_id"},
    {"prior verdict 5", rt_prior_verdict, NULL, "prior_verdict 5"},
    {"prior verdict -1", rt_prior_verdict_minus, NULL, "prior_verdict -1"},
    {"prior distance 32", rt_prior_distance, NULL, "prior_distance 32"},
};
static const size_t rt_hostile_count = sizeof(rt_hostile) / sizeof(rt_hostile[0]);

#endif
