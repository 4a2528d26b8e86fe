/*
 * test_worker_review_item.c: a prepared ticket as a record of the review topic
 * (worker/prepare/review_item.c). Tickets prepared for real (modq_prepare_ticket, the shipped
 * policy, media made by blur/) go through pack and unpack and come back the same, without the
 * ticket's media bytes; the colour ladder is left out when both do not fit and an item whose grey
 * ladder alone does not fit is refused; and hostile records are dead-lettered with a reason
 * naming the cause, never crash the unpacker (every prefix of a record is tried).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "prepare/review_item.h"
#include "review_testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERDICT_REMOVE MODQ__V1__VERDICT__VERDICT_REMOVE
#define VERDICT_OK     MODQ__V1__VERDICT__VERDICT_NO_VIOLATION
#define NOW_MS         1767600000000LL

typedef struct fixture {
    modq_policy *policy;
    modq_media_opts *opts;
    modq_decided *decided;
    pthread_mutex_t lock;
    modq_prepare_ctx ctx;
    modq_review_source src;
    uint8_t *img; /* a synthetic JPEG */
    size_t img_len;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    const char *dir = getenv("MODQ_SOURCE_DIR");
    char path[256], err[512];

    if (!f || !dir || modq_blur_init("test") != MODQ_BLUR_OK) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/policy/default.yaml", dir);
    if (modq_policy_load_file(path, &f->policy, err, sizeof(err)) != MODQ_POLICY_OK) {
        print_error("%s\n", err);
        return -1;
    }
    f->opts = modq_opts_new();
    f->decided = modq_decided_new(1000, 7 * 24 * 3600 * 1000LL);
    if (!f->opts || !f->decided || modq_opts_set(f->opts, MODQ_OPT_DEFER_RENDER, 1) ||
        modq_synth_image(MODQ_SYNTH_SHAPES, 800, 600, 1, "jpeg", &f->img, &f->img_len)) {
        return -1;
    }
    pthread_mutex_init(&f->lock, NULL);
    f->ctx = (modq_prepare_ctx){.policy = f->policy,
                                .media_opts = f->opts,
                                .decided = f->decided,
                                .decided_lock = &f->lock,
                                .auto_verdicts = 1u << VERDICT_REMOVE,
                                .worker_id = "w-prep",
                                .max_message_bytes = 8 << 20};
    f->src = (modq_review_source){.topic = "modq.tickets",
                                  .partition = 7,
                                  .offset = 123456789012LL,
                                  .prepared_by = "w-prep",
                                  .prepared_at_ms = NOW_MS + 5};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    modq_policy_free(f->policy);
    modq_opts_free(f->opts);
    modq_decided_free(f->decided);
    pthread_mutex_destroy(&f->lock);
    modq_synth_free(f->img);
    free(f);
    return 0;
}

/* A prepared ticket of kind REVIEW. */
static modq_prepared *prepared(fixture *f, const uint8_t *msg, size_t len)
{
    modq_prepared *p = modq_prepare_ticket(&f->ctx, msg, len, NOW_MS);

    assert_non_null(p);
    if (p->kind != MODQ_PREPARED_REVIEW) {
        fail_msg("prepared as %d: %s %s", p->kind, p->code, p->reason);
    }
    return p;
}

/* p packed; fails the test when it does not pack. */
static uint8_t *packed(fixture *f, const modq_prepared *p, size_t *len, bool *dropped)
{
    uint8_t *rec = (uint8_t *)f; /* must be replaced */
    char err[256] = "";
    int r = modq_review_item_pack(p, &f->src, &rec, len, dropped, err, sizeof(err));

    if (r != 0) {
        fail_msg("pack: %s", err);
    }
    assert_non_null(rec);
    assert_true(*len > 0 && *len <= MODQ_REVIEW_ITEM_MAX_BYTES);
    return rec;
}

/* rec unpacked, which must be a review item. */
static modq_prepared *unpacked(fixture *f, const uint8_t *rec, size_t len)
{
    modq_prepared *u = modq_review_item_unpack(f->policy, rec, len);

    assert_non_null(u);
    if (u->kind != MODQ_PREPARED_REVIEW) {
        fail_msg("unpacked as %d: %s %s", u->kind, u->code, u->reason);
    }
    assert_int_equal(u->code[0], '\0');
    assert_int_equal(u->reason[0], '\0');
    return u;
}

/* What the desk needs of a review item reads the same in u as in p; u's ticket has no media. */
static void assert_same_item(const fixture *f, const modq_prepared *p, const modq_prepared *u)
{
    assert_null(u->ticket->media);
    rt_assert_same_ticket(p->ticket, u->ticket);
    assert_int_equal(u->queue_index, p->queue_index);
    assert_int_equal(u->queue_index, modq_policy_queue_find(f->policy, p->ticket->queue));
    assert_int_equal(u->has_prior, p->has_prior);
    assert_int_equal(u->prior_verdict, p->prior_verdict);
    assert_string_equal(u->prior_ticket_id, p->prior_ticket_id);
    assert_int_equal(u->prior_decided_at_ms, p->prior_decided_at_ms);
    assert_int_equal(u->prior_distance, p->prior_distance);
    assert_null(u->decision);
    if (p->media == NULL) {
        assert_null(u->media);
        return;
    }
    assert_non_null(u->media);
    rt_assert_same_media(p->media, u->media);
}

/* The record's own fields, read by protobuf-c: what the packer wrote beside the ticket. */
static void assert_record_fields(const fixture *f, const uint8_t *rec, size_t len, bool media)
{
    Modq__V1__ReviewItem *it = modq__v1__review_item__unpack(NULL, len, rec);

    assert_non_null(it);
    assert_int_equal(it->format_version, 1);
    assert_non_null(it->ticket);
    assert_null(it->ticket->media);
    assert_string_equal(it->source_topic, f->src.topic);
    assert_int_equal(it->source_partition, f->src.partition);
    assert_int_equal(it->source_offset, f->src.offset);
    assert_string_equal(it->prepared_by, f->src.prepared_by);
    assert_int_equal(it->prepared_at_ms, f->src.prepared_at_ms);
    assert_int_equal(it->media != NULL, media);
    modq__v1__review_item__free_unpacked(it, NULL);
}

static void test_review_item_round_trip_with_media(void **state)
{
    fixture *f = *state;
    size_t len, rec_len;
    uint8_t *msg = rt_full_ticket("t-1", "self_harm", f->img, f->img_len, &len);
    modq_prepared *p = prepared(f, msg, len), *u;
    bool dropped = true;
    uint8_t *rec = packed(f, p, &rec_len, &dropped);

    print_message("record of %zu bytes, image of %zu\n", rec_len, f->img_len);
    assert_false(dropped);
    assert_record_fields(f, rec, rec_len, true);
    /* The original bytes stay with the prepare pod: no stretch of them is in the record. */
    for (size_t at = 0; at + 64 <= f->img_len; at += f->img_len / 8) {
        assert_false(rt_contains(rec, rec_len, f->img + at, 64));
    }
    u = unpacked(f, rec, rec_len);
    assert_same_item(f, p, u);
    assert_false(u->has_prior);
    assert_string_equal(u->ticket->text, RT_TEXT);
    assert_int_equal(rt_colour_levels(u->media), MODQ_LEVEL_COUNT); /* self_harm allows colour */
    assert_int_equal(rt_grey_levels(u->media), MODQ_LEVEL_COUNT);
    modq_prepared_free(u);
    modq_prepared_free(p);
    free(rec);
    free(msg);
}

/* A tier that never shows colour has no colour ladder to carry. */
static void test_review_item_round_trip_grey_only(void **state)
{
    fixture *f = *state;
    size_t len, rec_len;
    uint8_t *msg = tt_ticket("t-2", "violent_extremism", f->img, f->img_len, NULL, &len);
    modq_prepared *p = prepared(f, msg, len), *u;
    bool dropped = true;
    uint8_t *rec = packed(f, p, &rec_len, &dropped);

    assert_false(dropped);
    u = unpacked(f, rec, rec_len);
    assert_same_item(f, p, u);
    assert_int_equal(rt_colour_levels(u->media), 0);
    assert_int_equal(rt_grey_levels(u->media), MODQ_LEVEL_COUNT);
    modq_prepared_free(u);
    modq_prepared_free(p);
    free(rec);
    free(msg);
}

static void test_review_item_carries_the_prior_decision(void **state)
{
    fixture *f = *state;
    size_t len, rec_len;
    uint8_t *msg = rt_full_ticket("t-3", "hate", f->img, f->img_len, &len);
    modq_prepared *p, *u;
    modq_media *m = NULL;
    bool dropped;
    uint8_t *rec;

    /* The same bytes found fine before: a person looks again, with that decision beside. */
    assert_int_equal(modq_media_process(f->opts, f->img, f->img_len, &m, NULL, 0), MODQ_BLUR_OK);
    assert_int_equal(modq_decided_add(f->decided, "old/1", modq_media_sha256(m), NULL, VERDICT_OK,
                                      "", NOW_MS - 3600000, NULL),
                     0);
    p = prepared(f, msg, len);
    assert_true(p->has_prior);
    rec = packed(f, p, &rec_len, &dropped);
    u = unpacked(f, rec, rec_len);
    assert_same_item(f, p, u);
    assert_true(u->has_prior);
    assert_int_equal(u->prior_verdict, VERDICT_OK);
    assert_string_equal(u->prior_ticket_id, "old/1");
    assert_int_equal(u->prior_decided_at_ms, NOW_MS - 3600000);
    assert_int_equal(u->prior_distance, 0);
    modq_prepared_free(u);
    free(rec);
    /* A near copy's removal, 23 bits away, shown beside: the distance travels too. */
    p->prior_distance = 23;
    p->prior_verdict = 2;
    rec = packed(f, p, &rec_len, &dropped);
    u = unpacked(f, rec, rec_len);
    assert_same_item(f, p, u);
    assert_int_equal(u->prior_distance, 23);
    modq_prepared_free(u);
    modq_prepared_free(p);
    modq_media_free(m);
    free(rec);
    free(msg);
}

static void test_review_item_round_trip_text_only(void **state)
{
    fixture *f = *state;
    size_t len, rec_len;
    uint8_t *msg = rt_full_ticket("t-4/a", "hate", NULL, 0, &len);
    modq_prepared *p = prepared(f, msg, len), *u;
    bool dropped = true;
    uint8_t *rec = packed(f, p, &rec_len, &dropped);

    assert_false(dropped);
    assert_record_fields(f, rec, rec_len, false);
    u = unpacked(f, rec, rec_len);
    assert_same_item(f, p, u);
    assert_null(u->media);
    /* A '/' is a character of a ticket id like any other (the ingest rule, the routes). */
    assert_string_equal(u->ticket->ticket_id, "t-4/a");
    modq_prepared_free(u);
    modq_prepared_free(p);
    free(rec);
    free(msg);
}

/* Bytes of the renditions of one ladder of m. */
static size_t ladder_bytes(const modq_media *m, bool colour)
{
    size_t total = 0;
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        size_t n = 0;
        (void)(colour ? modq_media_rendition_colour(m, lv, NULL, &n, NULL, NULL)
                      : modq_media_rendition(m, lv, NULL, &n, NULL, NULL));
        total += n;
    }
    return total;
}

/* A review item of queue made from a side x side noise JPEG, shown at side at RT_NOISE_QUALITY:
 * real renditions as large as WebP makes them. */
static modq_prepared *noise_item(fixture *f, int side, const char *queue)
{
    modq_media_opts *opts = modq_opts_copy(f->opts);
    uint8_t *img, *msg;
    size_t img_len, len;
    modq_prepared *p;

    assert_int_equal(modq_opts_set(opts, MODQ_OPT_DISPLAY_SIZE, side), MODQ_BLUR_OK);
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_QUALITY, RT_NOISE_QUALITY), MODQ_BLUR_OK);
    assert_int_equal(modq_synth_image(MODQ_SYNTH_NOISE, side, side, 9, "jpeg", &img, &img_len),
                     MODQ_BLUR_OK);
    msg = tt_ticket("t-noise", queue, img, img_len, NULL, &len);
    f->ctx.media_opts = opts;
    p = prepared(f, msg, len);
    f->ctx.media_opts = f->opts;
    modq_opts_free(opts);
    modq_synth_free(img);
    free(msg);
    return p;
}

/* Noise at a large display size: its two ladders together are over the cap while the grey one
 * fits. The record then leaves the colour ladder out, and the grey one is whole. */
static void test_review_item_drops_colour_of_real_noise(void **state)
{
    fixture *f = *state;
    modq_prepared *p = noise_item(f, RT_NOISE_SIDE, "nudity"), *u;
    size_t rec_len, grey = ladder_bytes(p->media, false), colour = ladder_bytes(p->media, true);
    bool dropped = false;
    uint8_t *rec;

    print_message("grey ladder %zu bytes, colour %zu, cap %d\n", grey, colour,
                  MODQ_REVIEW_ITEM_MAX_BYTES);
    /* The case this test is for: both over the cap, the grey one well under it. */
    assert_true(grey + colour > MODQ_REVIEW_ITEM_MAX_BYTES);
    assert_true(grey + 4096 < MODQ_REVIEW_ITEM_MAX_BYTES);
    rec = packed(f, p, &rec_len, &dropped);
    assert_true(dropped);
    assert_true(rec_len > grey);
    u = unpacked(f, rec, rec_len);
    assert_int_equal(rt_colour_levels(u->media), 0);
    assert_int_equal(rt_grey_levels(u->media), MODQ_LEVEL_COUNT);
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        rt_assert_same_rendition(p->media, u->media, lv, false);
    }
    modq_prepared_free(u);
    modq_prepared_free(p);
    free(rec);
}

/* Noise twice the side, in a tier without colour: the grey ladder alone is over the cap, and the
 * item is refused with the size it would have had. */
static void test_review_item_refuses_real_noise_over_the_cap(void **state)
{
    fixture *f = *state;
    modq_prepared *p = noise_item(f, 2 * RT_NOISE_SIDE, "violent_extremism");
    size_t rec_len = 1, grey = ladder_bytes(p->media, false);
    uint8_t *rec = (uint8_t *)f;
    bool dropped = false;
    char err[256] = "";

    print_message("grey ladder %zu bytes, no colour ladder\n", grey);
    assert_int_equal(rt_colour_levels(p->media), 0);
    assert_true(grey > MODQ_REVIEW_ITEM_MAX_BYTES);
    assert_int_equal(modq_review_item_pack(p, &f->src, &rec, &rec_len, &dropped, err, sizeof(err)),
                     -1);
    print_message("%s\n", err);
    assert_null(rec);
    assert_int_equal(rec_len, 0);
    assert_non_null(strstr(err, "even without colour"));
    assert_non_null(strstr(err, "review item of "));
    assert_true(strtoull(err + strlen("review item of "), NULL, 10) > grey);
    modq_prepared_free(p);
}

/* Records at the cap: the largest grey level 0 that packs gives a record of exactly
 * MODQ_REVIEW_ITEM_MAX_BYTES, which unpacks; one byte more is refused with its size; a colour
 * ladder that does not fit beside it is left out; both fit when they do. */
static void test_review_item_cap_with_crafted_renditions(void **state)
{
    fixture *f = *state;
    size_t lo = 0, hi = MODQ_REVIEW_ITEM_MAX_BYTES, len;
    uint8_t *rec = (uint8_t *)f;
    bool dropped = true;
    char err[256] = "", want[96];
    modq_prepared *p, *u;

    while (hi - lo > 1) { /* lo packs, hi does not */
        size_t mid = lo + (hi - lo) / 2;
        p = rt_crafted(f->policy, mid, 0);
        if (modq_review_item_pack(p, &f->src, &rec, &len, &dropped, err, sizeof(err)) == 0) {
            lo = mid;
            free(rec);
        } else {
            hi = mid;
        }
        modq_prepared_free(p);
    }
    print_message("largest grey level 0: %zu bytes\n", lo);
    p = rt_crafted(f->policy, lo, 0);
    rec = packed(f, p, &len, &dropped);
    assert_int_equal(len, MODQ_REVIEW_ITEM_MAX_BYTES);
    assert_false(dropped);
    u = unpacked(f, rec, len);
    assert_same_item(f, p, u);
    modq_prepared_free(u);
    modq_prepared_free(p);
    free(rec);

    p = rt_crafted(f->policy, lo + 1, 0);
    rec = (uint8_t *)f;
    assert_int_equal(modq_review_item_pack(p, &f->src, &rec, &len, &dropped, err, sizeof(err)),
                     MODQ_REVIEW_PACK_TOO_LARGE);
    assert_null(rec);
    assert_int_equal(len, 0);
    snprintf(want, sizeof(want), "review item of %d bytes > %d even without colour",
             MODQ_REVIEW_ITEM_MAX_BYTES + 1, MODQ_REVIEW_ITEM_MAX_BYTES);
    assert_string_equal(err, want);
    modq_prepared_free(p);

    /* The grey ladder at the cap, and a colour one beside it: the colour one is left out. */
    p = rt_crafted(f->policy, lo - 100000, 100000);
    assert_int_equal(rt_colour_levels(p->media), MODQ_LEVEL_COUNT);
    rec = packed(f, p, &len, &dropped);
    assert_true(dropped);
    u = unpacked(f, rec, len);
    assert_int_equal(rt_colour_levels(u->media), 0);
    rt_assert_same_rendition(p->media, u->media, 0, false);
    modq_prepared_free(u);
    modq_prepared_free(p);
    free(rec);

    /* Both ladders just fit: both go. */
    p = rt_crafted(f->policy, lo / 2 - 2000, lo / 2 - 2000);
    rec = packed(f, p, &len, &dropped);
    assert_false(dropped);
    u = unpacked(f, rec, len);
    assert_same_item(f, p, u);
    assert_int_equal(rt_colour_levels(u->media), MODQ_LEVEL_COUNT);
    modq_prepared_free(u);
    modq_prepared_free(p);
    free(rec);
}

/* Expects buf (len bytes) dead-lettered with code, a reason that holds needle, and no ticket. */
static void expect_dead(fixture *f, const uint8_t *buf, size_t len, const char *what,
                        const char *code, const char *needle)
{
    modq_prepared *u = modq_review_item_unpack(f->policy, buf, len);

    assert_non_null(u);
    print_message("%-28s -> %s: %s\n", what, u->code, u->reason);
    assert_int_equal(u->kind, MODQ_PREPARED_DEAD_LETTER);
    assert_string_equal(u->code, code);
    if (strstr(u->reason, needle) == NULL) {
        fail_msg("%s: reason '%s' does not name '%s'", what, u->reason, needle);
    }
    assert_null(u->ticket);
    modq_prepared_free(u);
}

static void test_review_item_refuses_hostile_records(void **state)
{
    fixture *f = *state;
    size_t len, rec_len, n;
    uint8_t *msg = rt_full_ticket("t-6", "self_harm", f->img, f->img_len, &len), *again;
    modq_prepared *p = prepared(f, msg, len);
    bool dropped;
    uint8_t *rec = packed(f, p, &rec_len, &dropped);
    Modq__V1__ReviewItem *orig = modq__v1__review_item__unpack(NULL, rec_len, rec);
    rt_scratch s;

    assert_non_null(orig);
    assert_int_equal(orig->media->n_renditions, 2 * MODQ_LEVEL_COUNT);
    /* The unchanged copy is a review item: each case below is refused for its change alone. */
    rt_scratch_of(orig, &s);
    again = rt_scratch_pack(&s, &n);
    modq_prepared_free(unpacked(f, again, n));
    free(again);
    for (size_t i = 0; i < rt_hostile_count; i++) {
        const rt_hostile_case *k = &rt_hostile[i];
        rt_scratch_of(orig, &s);
        k->change(&s);
        again = rt_scratch_pack(&s, &n);
        expect_dead(f, again, n, k->what, k->code ? k->code : MODQ_DLQ_REVIEW_INVALID, k->needle);
        free(again);
    }
    modq__v1__review_item__free_unpacked(orig, NULL);
    modq_prepared_free(p);
    free(rec);
    free(msg);
}

/* Garbage, nothing, and records over the cap (refused unread, even when they would parse). */
static void test_review_item_refuses_garbage_and_oversize(void **state)
{
    fixture *f = *state;
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    static const uint8_t ticket_tag_overrun[] = {0x12, 0x7f, 0x0a, 0x01, 'x'};
    /* Found by fuzz_review: a ticket field numbered 0 (80 00 00 after created_at_ms), which
     * protobuf-c takes as an unknown field but cannot read back once it packed it again. */
    static const uint8_t field_0[] = {0x08, 0x01, 0x12, 0x2c, 0x0a, 0x03, 'r',  '-',  '5',  0x12,
                                      0x03, 'c',  '-',  '1',  0x1a, 0x04, 'c',  's',  'a',  'm',
                                      0x30, 0xc0, 0xa5, 0x30, 0x80, 0x00, 0x00, 0x52, 0x07, 'b',
                                      'u',  'y',  ' ',  'n',  'o',  'w',  0x62, 0x04, 'W',  0x00,
                                      0x00, 0x00, 0x6a, 0x04, 'f',  'u',  'a',  'd'};
    size_t len, rec_len;
    uint8_t *msg = rt_full_ticket("t-7", "hate", NULL, 0, &len);
    modq_prepared *p = prepared(f, msg, len), *u;
    bool dropped;
    uint8_t *rec = packed(f, p, &rec_len, &dropped), *big;
    char want[64];

    expect_dead(f, junk, sizeof(junk), "junk", MODQ_DLQ_REVIEW_INVALID,
                "not a modq.v1.ReviewItem protobuf");
    expect_dead(f, ticket_tag_overrun, sizeof(ticket_tag_overrun), "ticket overrun",
                MODQ_DLQ_REVIEW_INVALID, "not a modq.v1.ReviewItem protobuf");
    expect_dead(f, (const uint8_t *)"", 0, "no bytes", MODQ_DLQ_REVIEW_INVALID, "format_version 0");
    expect_dead(f, field_0, sizeof(field_0), "ticket field 0", MODQ_DLQ_REVIEW_INVALID,
                "a field numbered 0");
    /* The record, then an unknown field to fill it to the cap: taken; one byte more is not. */
    big = rt_padded(rec, rec_len, MODQ_REVIEW_ITEM_MAX_BYTES);
    u = unpacked(f, big, MODQ_REVIEW_ITEM_MAX_BYTES);
    assert_same_item(f, p, u);
    modq_prepared_free(u);
    free(big);
    big = rt_padded(rec, rec_len, MODQ_REVIEW_ITEM_MAX_BYTES + 1);
    snprintf(want, sizeof(want), "review record of %d bytes > %d", MODQ_REVIEW_ITEM_MAX_BYTES + 1,
             MODQ_REVIEW_ITEM_MAX_BYTES);
    expect_dead(f, big, MODQ_REVIEW_ITEM_MAX_BYTES + 1, "over the cap", MODQ_DLQ_REVIEW_INVALID,
                want);
    free(big);
    modq_prepared_free(p);
    free(rec);
    free(msg);
}

/* Every prefix of a record: a review item (the fields after the media are optional) or a dead
 * letter with a reason, never a crash (ASan), a leak or NULL. */
static void test_review_item_every_truncation(void **state)
{
    fixture *f = *state;
    modq_media_opts *opts = modq_opts_copy(f->opts);
    size_t len, rec_len, review = 0, dead = 0;
    uint8_t *msg, *rec;
    modq_prepared *p;
    bool dropped;

    assert_int_equal(modq_opts_set(opts, MODQ_OPT_DISPLAY_SIZE, 24), MODQ_BLUR_OK);
    f->ctx.media_opts = opts;
    msg = rt_full_ticket("t-8", "self_harm", f->img, f->img_len, &len);
    p = prepared(f, msg, len);
    f->ctx.media_opts = f->opts;
    p->has_prior = 1;
    p->prior_verdict = VERDICT_OK;
    snprintf(p->prior_ticket_id, sizeof(p->prior_ticket_id), "old-8");
    rec = packed(f, p, &rec_len, &dropped);
    print_message("record of %zu bytes\n", rec_len);
    for (size_t n = 0; n <= rec_len; n++) {
        /* A copy of exactly n bytes, so that ASan sees any read past them. */
        uint8_t *cut = malloc(n ? n : 1);
        modq_prepared *u;
        memcpy(cut, rec, n);
        u = modq_review_item_unpack(f->policy, cut, n);
        assert_non_null(u);
        if (u->kind == MODQ_PREPARED_REVIEW) {
            /* Cut between fields: the ticket whole, the media whole or absent (protobuf cannot
             * tell a record cut before it from one of a text-only ticket), the prior decision
             * whole or absent. */
            rt_assert_same_ticket(p->ticket, u->ticket);
            if (u->media != NULL) {
                rt_assert_same_media(p->media, u->media);
            }
            assert_int_equal(u->queue_index, p->queue_index);
            if (u->has_prior) {
                assert_string_equal(u->prior_ticket_id, p->prior_ticket_id);
                assert_int_equal(u->prior_verdict, p->prior_verdict);
            }
            review++;
        } else {
            assert_int_equal(u->kind, MODQ_PREPARED_DEAD_LETTER);
            assert_string_equal(u->code, MODQ_DLQ_REVIEW_INVALID);
            assert_true(u->reason[0] != '\0');
            dead++;
        }
        modq_prepared_free(u);
        free(cut);
    }
    print_message("%zu prefixes: %zu review items, %zu dead letters\n", rec_len + 1, review, dead);
    /* The whole record is an item; a prefix that ends inside the ticket or the media is not. */
    {
        modq_prepared *u = unpacked(f, rec, rec_len);
        assert_same_item(f, p, u);
        modq_prepared_free(u);
    }
    assert_true(review >= 2);
    assert_true(dead > rec_len / 2);
    modq_prepared_free(p);
    modq_opts_free(opts);
    free(rec);
    free(msg);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_review_item_round_trip_with_media),
        T(test_review_item_round_trip_grey_only),
        T(test_review_item_carries_the_prior_decision),
        T(test_review_item_round_trip_text_only),
        T(test_review_item_drops_colour_of_real_noise),
        T(test_review_item_refuses_real_noise_over_the_cap),
        T(test_review_item_cap_with_crafted_renditions),
        T(test_review_item_refuses_hostile_records),
        T(test_review_item_refuses_garbage_and_oversize),
        T(test_review_item_every_truncation),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    modq_blur_shutdown(); /* once: libvips cannot be started again after it */
    return failed;
}
