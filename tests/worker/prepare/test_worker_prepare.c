/*
 * test_worker_prepare.c: one ticket in, one outcome out (worker/prepare/prepare.c), with the real
 * parts: the shipped policy, a bank file, the decided set and media made by blur/. Every
 * dead-letter path, automatic decisions from a bank and from a prior decision, duplicates, and
 * review items.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "prepare/prepare.h"
#include "ticket_testutil.h"

#include <vips/vips.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VERDICT_REMOVE MODQ__V1__VERDICT__VERDICT_REMOVE
#define VERDICT_OK     MODQ__V1__VERDICT__VERDICT_NO_VIOLATION

typedef struct fixture {
    modq_policy *policy;
    modq_media_opts *opts;
    modq_banks *banks;
    pthread_rwlock_t banks_lock;
    modq_decided *decided;
    pthread_mutex_t lock;
    modq_prepare_ctx ctx;
    char dir[64];
    uint8_t *img; /* a synthetic JPEG */
    size_t img_len;
    uint8_t *banned; /* another one, listed in the bank */
    size_t banned_len;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    const char *src = getenv("MODQ_SOURCE_DIR");
    const char *labels[] = {"terror", "gifct"};
    char path[256], err[512];
    modq_media *m = NULL;
    FILE *fp;

    if (!f || !src || modq_blur_init("test") != MODQ_BLUR_OK) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/policy/default.yaml", src);
    if (modq_policy_load_file(path, &f->policy, err, sizeof(err)) != MODQ_POLICY_OK) {
        print_error("%s\n", err);
        return -1;
    }
    f->opts = modq_opts_new();
    modq_opts_set(f->opts, MODQ_OPT_DEFER_RENDER, 1);
    f->banks = modq_banks_new();
    f->decided = modq_decided_new(1000, 7 * 24 * 3600 * 1000LL);
    pthread_mutex_init(&f->lock, NULL);
    pthread_rwlock_init(&f->banks_lock, NULL);
    if (modq_synth_image(MODQ_SYNTH_SHAPES, 800, 600, 1, "jpeg", &f->img, &f->img_len) ||
        modq_synth_image(MODQ_SYNTH_SHAPES, 800, 600, 2, "jpeg", &f->banned, &f->banned_len) ||
        modq_media_process(f->opts, f->banned, f->banned_len, &m, NULL, 0)) {
        return -1;
    }
    memcpy(f->dir, "/tmp/modq-prep-XXXXXX", sizeof("/tmp/modq-prep-XXXXXX"));
    if (!mkdtemp(f->dir)) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/bank.txt", f->dir);
    if (!(fp = fopen(path, "w"))) {
        return -1;
    }
    fprintf(fp, "pdq %s\n", modq_media_pdq_hex(m));
    fclose(fp);
    modq_media_free(m);
    if (modq_banks_load(f->banks, "gifct-sample", path, VERDICT_REMOVE, labels, 2, 31, err,
                        sizeof(err))) {
        return -1;
    }
    f->ctx = (modq_prepare_ctx){.policy = f->policy,
                                .media_opts = f->opts,
                                .banks = &f->banks,
                                .banks_lock = &f->banks_lock,
                                .decided = f->decided,
                                .decided_lock = &f->lock,
                                .auto_verdicts = 1u << VERDICT_REMOVE,
                                .near_distance = 16,
                                .worker_id = "w-test",
                                .max_message_bytes = 8 << 20};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) {
        return -1;
    }
    modq_policy_free(f->policy);
    modq_opts_free(f->opts);
    modq_banks_free(f->banks);
    modq_decided_free(f->decided);
    pthread_mutex_destroy(&f->lock);
    pthread_rwlock_destroy(&f->banks_lock);
    modq_synth_free(f->img);
    modq_synth_free(f->banned);
    free(f);
    return 0;
}

static modq_prepared *prepare(fixture *f, const uint8_t *msg, size_t len)
{
    modq_prepared *p = modq_prepare_ticket(&f->ctx, msg, len, 1767600000000LL);
    assert_non_null(p);
    return p;
}

static void expect_dead(fixture *f, const uint8_t *msg, size_t len, const char *code)
{
    modq_prepared *p = prepare(f, msg, len);
    print_message("dead letter %s: %s\n", p->code, p->reason);
    assert_int_equal(p->kind, MODQ_PREPARED_DEAD_LETTER);
    assert_string_equal(p->code, code);
    assert_true(p->reason[0] != '\0');
    modq_prepared_free(p);
}

static void test_prepare_good_ticket_becomes_review_item(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *msg = tt_ticket("t-1", "self_harm", f->img, f->img_len, NULL, &len);
    modq_prepared *p = prepare(f, msg, len);

    assert_int_equal(p->kind, MODQ_PREPARED_REVIEW);
    assert_int_equal(p->queue_index, modq_policy_queue_find(f->policy, "self_harm"));
    assert_non_null(p->media);
    assert_int_equal(modq_media_rendition(p->media, 3, NULL, NULL, NULL, NULL), MODQ_BLUR_OK);
    /* The original bytes are gone from the ticket. */
    assert_null(p->ticket->media->inline_bytes.data);
    assert_int_equal(p->ticket->media->inline_bytes.len, 0);
    assert_false(p->has_prior);
    modq_prepared_free(p);
    free(msg);
}

/* How many levels of p's media have a colour rendition. */
static int colour_levels(const modq_prepared *p)
{
    int n = 0;
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        n += modq_media_rendition_colour(p->media, lv, NULL, NULL, NULL, NULL) == MODQ_BLUR_OK;
    }
    return n;
}

/* Colour renditions follow the tier of the ticket's queue: tiers 1-3 allow colour views and get
 * them, tier 4 never does and holds greyscale only. Deferred or not, whatever the shared options
 * ask, and the shared options are left as they were. */
static void test_prepare_renders_colour_only_where_the_tier_allows_it(void **state)
{
    static const struct {
        const char *queue;
        int colour;
    } cases[] = {
        {"spam", 1}, {"nudity", 1}, {"hate", 1}, {"self_harm", 1}, {"violent_extremism", 0},
        {"csam", 0}};
    fixture *f = *state;
    modq_media_opts *now = modq_opts_new();         /* renders during process: no deferral */
    modq_media_opts *all = modq_opts_copy(f->opts); /* deferred, asking for colour everywhere */
    const modq_media_opts *shared[] = {f->opts, now, all};

    assert_int_equal(modq_opts_set(all, MODQ_OPT_COLOUR_TOO, 1), MODQ_BLUR_OK);
    for (size_t o = 0; o < sizeof(shared) / sizeof(shared[0]); o++) {
        int64_t before = modq_opts_get(shared[o], MODQ_OPT_COLOUR_TOO);
        f->ctx.media_opts = shared[o];
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            char id[32];
            size_t len;
            uint8_t *msg;
            modq_prepared *p;
            int tier = modq_policy_queue_tier(
                f->policy, (size_t)modq_policy_queue_find(f->policy, cases[i].queue));
            snprintf(id, sizeof(id), "c-%zu-%zu", o, i);
            msg = tt_ticket(id, cases[i].queue, f->img, f->img_len, NULL, &len);
            p = prepare(f, msg, len);
            print_message("options %zu, %s (tier %d): %d colour levels\n", o, cases[i].queue, tier,
                          colour_levels(p));
            assert_int_equal(p->kind, MODQ_PREPARED_REVIEW);
            assert_int_equal(modq_policy_tier_colour_allowed(f->policy, tier), cases[i].colour);
            assert_int_equal(colour_levels(p), cases[i].colour ? MODQ_LEVEL_COUNT : 0);
            assert_int_equal(modq_media_rendition(p->media, 3, NULL, NULL, NULL, NULL),
                             MODQ_BLUR_OK);
            modq_prepared_free(p);
            free(msg);
        }
        assert_int_equal(modq_opts_get(shared[o], MODQ_OPT_COLOUR_TOO), before);
    }
    f->ctx.media_opts = f->opts;
    modq_opts_free(now);
    modq_opts_free(all);
}

static void test_prepare_text_only_ticket_is_reviewed(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *msg = tt_ticket("t-2", "hate", NULL, 0, NULL, &len);
    modq_prepared *p = prepare(f, msg, len);

    assert_int_equal(p->kind, MODQ_PREPARED_REVIEW);
    assert_null(p->media);
    modq_prepared_free(p);
    free(msg);
}

static void test_prepare_dead_letters_each_bad_input(void **state)
{
    fixture *f = *state;
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    static const char svg[] = "<svg xmlns='http://www.w3.org/2000/svg'/>";
    size_t len;
    uint8_t *msg;

    expect_dead(f, junk, sizeof(junk), MODQ_DLQ_MALFORMED);
    msg = tt_ticket("", "hate", NULL, 0, NULL, &len);
    expect_dead(f, msg, len, MODQ_DLQ_INVALID);
    free(msg);
    msg = tt_ticket("bad id with spaces", "hate", NULL, 0, NULL, &len);
    expect_dead(f, msg, len, MODQ_DLQ_INVALID);
    free(msg);
    msg = tt_ticket("t-3", "no_such_queue", NULL, 0, NULL, &len);
    expect_dead(f, msg, len, MODQ_DLQ_UNKNOWN_QUEUE);
    free(msg);
    msg = tt_ticket("t-4", "hate", (const uint8_t *)svg, sizeof(svg) - 1, NULL, &len);
    expect_dead(f, msg, len, "blocked_format");
    free(msg);
    msg = tt_ticket("t-5", "hate", f->img, f->img_len / 3, NULL, &len);
    expect_dead(f, msg, len, "corrupt");
    free(msg);
    msg = tt_ticket("t-6", "hate", NULL, 0, "https://media.example/x.jpg", &len);
    expect_dead(f, msg, len, "scheme_not_allowed"); /* no fetcher configured */
    free(msg);
    f->ctx.max_message_bytes = 100;
    msg = tt_ticket("t-7", "hate", f->img, f->img_len, NULL, &len);
    expect_dead(f, msg, len, MODQ_DLQ_MESSAGE_TOO_LARGE);
    free(msg);
}

static void test_prepare_bank_match_decides_without_a_person(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *msg = tt_ticket("t-10", "violent_extremism", f->banned, f->banned_len, NULL, &len);
    modq_prepared *p = prepare(f, msg, len);
    Modq__V1__Decision *d;

    assert_int_equal(p->kind, MODQ_PREPARED_AUTO);
    assert_int_equal(p->verdict, VERDICT_REMOVE);
    d = modq__v1__decision__unpack(NULL, p->decision_len, p->decision);
    assert_non_null(d);
    assert_string_equal(d->ticket_id, "t-10");
    assert_string_equal(d->content_id, TT_CONTENT_ID);
    assert_int_equal(d->verdict, VERDICT_REMOVE);
    assert_true(d->auto_decided);
    assert_int_equal(d->decision_source, MODQ__V1__DECISION_SOURCE__DECISION_SOURCE_HASH_BANK);
    assert_string_equal(d->decided_by, "gifct-sample");
    assert_int_equal(d->n_policy_labels, 2);
    assert_string_equal(d->policy_labels[0], "terror");
    assert_int_equal(d->max_reveal_level, -1);
    assert_string_equal(d->hashes->sha256, modq_media_sha256_hex(p->media));
    assert_int_equal(d->match_distance, 0);
    assert_string_equal(d->category, "violent_extremism");
    assert_string_equal(d->policy_version, modq_policy_version(f->policy));
    assert_string_equal(d->trace_id, TT_TRACE_ID);
    assert_string_equal(d->worker_id, "w-test");
    assert_int_equal(d->decided_at_ms, 1767600000000LL);
    /* Nobody will see it: no rendition was made, greyscale or colour. */
    assert_int_equal(modq_media_rendition(p->media, 3, NULL, NULL, NULL, NULL),
                     MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(colour_levels(p), 0);
    modq__v1__decision__free_unpacked(d, NULL);
    modq_prepared_free(p);
    free(msg);
}

static void test_prepare_prior_violation_is_reapplied_and_allowed_is_reviewed(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *msg;
    modq_prepared *p;
    modq_media *m = NULL;
    Modq__V1__Decision *d;

    assert_int_equal(modq_media_process(f->opts, f->img, f->img_len, &m, NULL, 0), MODQ_BLUR_OK);
    modq_decided_add(f->decided, "old-1", modq_media_sha256(m), NULL, VERDICT_REMOVE,
                     "self_harm,graphic", 1000, NULL);
    msg = tt_ticket("t-20", "self_harm", f->img, f->img_len, NULL, &len);
    p = prepare(f, msg, len);
    assert_int_equal(p->kind, MODQ_PREPARED_AUTO);
    d = modq__v1__decision__unpack(NULL, p->decision_len, p->decision);
    assert_int_equal(d->decision_source, MODQ__V1__DECISION_SOURCE__DECISION_SOURCE_PRIOR_DECISION);
    assert_string_equal(d->prior_ticket_id, "old-1");
    assert_int_equal(d->n_policy_labels, 2);
    assert_string_equal(d->policy_labels[1], "graphic");
    modq__v1__decision__free_unpacked(d, NULL);
    modq_prepared_free(p);

    /* The same bytes later found fine: a person looks again, with the prior decision attached. */
    modq_decided_add(f->decided, "old-2", modq_media_sha256(m), NULL, VERDICT_OK, "", 2000, NULL);
    p = prepare(f, msg, len);
    assert_int_equal(p->kind, MODQ_PREPARED_REVIEW);
    assert_true(p->has_prior);
    assert_int_equal(p->prior_verdict, VERDICT_OK);
    assert_string_equal(p->prior_ticket_id, "old-2");
    modq_prepared_free(p);
    free(msg);
    modq_media_free(m);
}

/* img with `crop` pixels cut off its left and top, resized to scale and saved again as a JPEG of
 * quality q: other bytes, nearly the same picture. Caller frees (g_free). */
static void *reencoded(const uint8_t *img, size_t len, int crop, double scale, int q,
                       size_t *out_len)
{
    VipsImage *in = vips_image_new_from_buffer(img, len, "", NULL), *cut = NULL, *small = NULL;
    void *buf = NULL;

    assert_non_null(in);
    assert_int_equal(vips_crop(in, &cut, crop, crop, vips_image_get_width(in) - crop,
                               vips_image_get_height(in) - crop, NULL),
                     0);
    assert_int_equal(vips_resize(cut, &small, scale, NULL), 0);
    assert_int_equal(vips_jpegsave_buffer(small, &buf, out_len, "Q", q, NULL), 0);
    g_object_unref(small);
    g_object_unref(cut);
    g_object_unref(in);
    return buf;
}

/* The shipped policy with queue's near_copy_distance set to d. Caller frees. */
static modq_policy *queue_near_policy(const char *queue, int d)
{
    char path[256], from[64], to[128], err[512];
    const char *src = getenv("MODQ_SOURCE_DIR");
    char *text = malloc(1 << 16), *out = malloc((1 << 16) + 128), *at;
    modq_policy *p = NULL;
    size_t n;
    FILE *fp;

    snprintf(path, sizeof(path), "%s/policy/default.yaml", src);
    assert_non_null(fp = fopen(path, "r"));
    n = fread(text, 1, (1 << 16) - 1, fp);
    fclose(fp);
    text[n] = '\0';
    snprintf(from, sizeof(from), "  - name: %s\n", queue);
    snprintf(to, sizeof(to), "%s    near_copy_distance: %d\n", from, d);
    assert_non_null(at = strstr(text, from));
    snprintf(out, (1 << 16) + 128, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    assert_int_equal(modq_policy_load_buffer(out, strlen(out), "policy", &p, err, sizeof(err)),
                     MODQ_POLICY_OK);
    free(text);
    free(out);
    return p;
}

/* A resized, re-encoded copy of media a person removed: decided the same way, naming the earlier
 * decision, without a person. A copy of media found fine, or one past the distance, goes to a
 * person; so does every copy when near_distance is 0. */
static void test_prepare_near_copy_of_removed_media_is_decided(void **state)
{
    fixture *f = *state;
    size_t len, clen;
    uint8_t *msg;
    void *copy = reencoded(f->img, f->img_len, 4, 0.7, 60, &clen);
    modq_prepared *p;
    modq_media *m = NULL, *c = NULL;
    Modq__V1__Decision *d;
    int dist;

    assert_int_equal(modq_media_process(f->opts, f->img, f->img_len, &m, NULL, 0), MODQ_BLUR_OK);
    assert_int_equal(modq_media_process(f->opts, copy, clen, &c, NULL, 0), MODQ_BLUR_OK);
    dist = modq_pdq_distance(modq_media_pdq_dihedral(m, 0), modq_media_pdq_dihedral(c, 0));
    print_message("the copy is %d bits from the original\n", dist);
    assert_true(dist > 0 && dist <= 16); /* not the same hash, within the default */
    assert_true(memcmp(modq_media_sha256(m), modq_media_sha256(c), 32) != 0);
    modq_decided_add(f->decided, "removed-1", modq_media_sha256(m), modq_media_pdq_dihedral(m, 0),
                     VERDICT_REMOVE, "gore", 1000, NULL);
    msg = tt_ticket("t-copy", "self_harm", copy, clen, NULL, &len);
    p = prepare(f, msg, len);
    assert_int_equal(p->kind, MODQ_PREPARED_AUTO);
    d = modq__v1__decision__unpack(NULL, p->decision_len, p->decision);
    assert_int_equal(d->decision_source, MODQ__V1__DECISION_SOURCE__DECISION_SOURCE_PRIOR_DECISION);
    assert_string_equal(d->prior_ticket_id, "removed-1");
    assert_int_equal(d->verdict, VERDICT_REMOVE);
    assert_int_equal(d->match_distance, dist);
    assert_string_equal(d->matched_hash, modq_media_pdq_hex(m));
    assert_string_equal(d->policy_labels[0], "gore");
    modq__v1__decision__free_unpacked(d, NULL);
    modq_prepared_free(p);

    /* Off (only the same bytes are decided), then closer than the copy is: a person looks, with
     * the earlier removal beside the item and how far its media is. */
    for (int round = 0; round < 2; round++) {
        f->ctx.near_distance = round == 0 ? 0 : dist - 1;
        p = prepare(f, msg, len);
        assert_int_equal(p->kind, MODQ_PREPARED_REVIEW);
        assert_true(p->has_prior);
        assert_int_equal(p->prior_distance, dist);
        assert_int_equal(p->prior_verdict, VERDICT_REMOVE);
        assert_string_equal(p->prior_ticket_id, "removed-1");
        modq_prepared_free(p);
    }
    f->ctx.near_distance = 16;
    /* The queue's own distance, from the policy, wins over the worker's. */
    {
        const modq_policy *shipped = f->ctx.policy;
        modq_policy *strict = queue_near_policy("self_harm", 0);
        f->ctx.policy = strict;
        p = prepare(f, msg, len);
        assert_int_equal(p->kind, MODQ_PREPARED_REVIEW);
        assert_int_equal(p->prior_distance, dist);
        modq_prepared_free(p);
        f->ctx.policy = shipped;
        modq_policy_free(strict);
    }

    /* The same media later found fine, with no_violation re-applied to the same bytes: never to
     * a copy, so the newer decision on the original does not make the copy fine. */
    f->ctx.auto_verdicts |= 1u << VERDICT_OK;
    modq_decided_add(f->decided, "fine-1", NULL, modq_media_pdq_dihedral(m, 0), VERDICT_OK, "",
                     2000, NULL);
    p = prepare(f, msg, len);
    assert_int_equal(p->kind, MODQ_PREPARED_AUTO); /* still the removal, the only removal */
    modq_prepared_free(p);
    free(msg);
    modq_media_free(m);
    modq_media_free(c);
    g_free(copy);
}

/* Hash before decode: bytes that no decoder would take (a truncated JPEG), decided before by
 * their SHA-256 or listed in a bank by MD5, are decided on their digests alone. The Decision
 * carries the digests computed and no PDQ hash, which never was (nor an MD5 while no bank lists
 * one); unlisted, the same bytes are decoded and dead-lettered as corrupt. */
static void test_prepare_digests_decide_before_any_decode(void **state)
{
    fixture *f = *state;
    size_t len, cut = f->img_len / 2;
    uint8_t sha[MODQ_SHA256_LEN], md5[MODQ_MD5_LEN], *msg;
    char hex[2 * MODQ_SHA256_LEN + 1], mhex[2 * MODQ_MD5_LEN + 1], path[160], err[256];
    modq_prepared *p;
    Modq__V1__Decision *d;
    FILE *fp;

    assert_int_equal(modq_digest_compute(f->img, cut, sha, md5), MODQ_BLUR_OK);
    modq_digest_hex(sha, sizeof sha, hex);
    modq_digest_hex(md5, sizeof md5, mhex);
    msg = tt_ticket("t-cut", "self_harm", f->img, cut, NULL, &len);
    expect_dead(f, msg, len, "corrupt");

    modq_decided_add(f->decided, "removed-cut", sha, NULL, VERDICT_REMOVE, "csam", 1000, NULL);
    p = prepare(f, msg, len);
    assert_int_equal(p->kind, MODQ_PREPARED_AUTO);
    assert_null(p->media);
    d = modq__v1__decision__unpack(NULL, p->decision_len, p->decision);
    assert_int_equal(d->decision_source, MODQ__V1__DECISION_SOURCE__DECISION_SOURCE_PRIOR_DECISION);
    assert_string_equal(d->prior_ticket_id, "removed-cut");
    assert_string_equal(d->matched_hash, hex);
    assert_string_equal(d->hashes->sha256, hex);
    assert_string_equal(d->hashes->md5, ""); /* no bank lists an MD5: not computed */
    assert_string_equal(d->hashes->pdq, "");
    assert_int_equal(d->hashes->pdq_quality, 0);
    modq__v1__decision__free_unpacked(d, NULL);
    modq_prepared_free(p);

    /* A bank listing the MD5 alone: the bank wins over the earlier decision, as after a decode. */
    snprintf(path, sizeof(path), "%s/md5.txt", f->dir);
    assert_non_null(fp = fopen(path, "w"));
    fprintf(fp, "md5 %s\n", mhex);
    fclose(fp);
    assert_int_equal(
        modq_banks_load(f->banks, "md5-list", path, VERDICT_REMOVE, NULL, 0, 31, err, sizeof(err)),
        MODQ_BLUR_OK);
    p = prepare(f, msg, len);
    assert_int_equal(p->kind, MODQ_PREPARED_AUTO);
    assert_null(p->media);
    assert_string_equal(p->auto_bank, "md5-list");
    assert_string_equal(p->auto_kind, "md5");
    d = modq__v1__decision__unpack(NULL, p->decision_len, p->decision);
    assert_int_equal(d->decision_source, MODQ__V1__DECISION_SOURCE__DECISION_SOURCE_HASH_BANK);
    assert_string_equal(d->matched_hash, mhex);
    assert_string_equal(d->hashes->md5, mhex);
    assert_string_equal(d->hashes->pdq, "");
    modq__v1__decision__free_unpacked(d, NULL);
    modq_prepared_free(p);
    free(msg);
}

static void test_prepare_decided_ticket_is_a_duplicate(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *msg = tt_ticket("t-30", "hate", f->img, f->img_len, NULL, &len);
    modq_prepared *p;

    modq_decided_add(f->decided, "t-30", NULL, NULL, VERDICT_REMOVE, "", 1000, NULL);
    p = prepare(f, msg, len);
    assert_int_equal(p->kind, MODQ_PREPARED_DUPLICATE);
    assert_null(p->media); /* nothing was decoded for it */
    modq_prepared_free(p);
    free(msg);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_prepare_good_ticket_becomes_review_item),
        T(test_prepare_renders_colour_only_where_the_tier_allows_it),
        T(test_prepare_text_only_ticket_is_reviewed),
        T(test_prepare_dead_letters_each_bad_input),
        T(test_prepare_bank_match_decides_without_a_person),
        T(test_prepare_prior_violation_is_reapplied_and_allowed_is_reviewed),
        T(test_prepare_decided_ticket_is_a_duplicate),
        T(test_prepare_near_copy_of_removed_media_is_decided),
        T(test_prepare_digests_decide_before_any_decode),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    modq_blur_shutdown(); /* once: libvips cannot be started again after it */
    return failed;
}
