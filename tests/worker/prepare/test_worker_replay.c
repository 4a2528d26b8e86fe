/*
 * test_worker_replay.c: the wellbeing replay, small. A stream of tickets whose media are mostly
 * altered copies (re-encoded, resized, cropped a little, mirrored, rotated) of a few originals,
 * some of which a hash bank lists by PDQ, goes through preparation (worker/prepare/) one ticket at
 * a time; every ticket that reaches a person is decided "remove" by them, and the decision joins
 * the decided set as the decisions topic would bring it (SHA-256 and PDQ). Counted: how many
 * times a person saw media of each original, at the default distance for near copies (16) and at
 * 31. Asserted: no banked media is ever shown, and at 31 no copy of media already removed is, so
 * each original is seen once; at 16 some are (see the test). Tickets are prepared one after
 * another here: copies that wait for a person at the same time would each be shown (one review
 * per cluster of duplicates is not done yet).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pdq_testutil.h"
#include "prepare/prepare.h"
#include "ticket_testutil.h"

#include <vips/vips.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VERDICT_REMOVE MODQ__V1__VERDICT__VERDICT_REMOVE
#define ORIGINALS      12
#define BANKED         4 /* originals 0..3 are in the bank */
#define TICKETS        120
#define ALTERATIONS    6

/* The k-th alteration of an image: other bytes, the same picture to a person. */
static void *altered(VipsImage *in, int k, size_t *len)
{
    VipsImage *a = NULL, *b = NULL;
    void *buf = NULL;
    int w = vips_image_get_width(in), h = vips_image_get_height(in), rc;

    switch (k) {
    case 0: /* re-encoded */
        rc = vips_copy(in, &a, NULL);
        break;
    case 1: /* resized */
        rc = vips_resize(in, &a, 0.6, NULL);
        break;
    case 2: /* cropped a little: 0.5% off each side (PDQ moves fast with crops: 1% off one
             * corner took these images 16 to 28 bits away, past the strict distance) */
        rc = vips_crop(in, &a, w / 200, h / 200, w - w / 100, h - h / 100, NULL);
        break;
    case 3: /* mirrored */
        rc = vips_flip(in, &a, VIPS_DIRECTION_HORIZONTAL, NULL);
        break;
    case 4: /* rotated */
        rc = vips_rot(in, &a, VIPS_ANGLE_D90, NULL);
        break;
    default: /* resized and mirrored */
        rc = vips_resize(in, &b, 0.8, NULL) || vips_flip(b, &a, VIPS_DIRECTION_VERTICAL, NULL);
        break;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(vips_jpegsave_buffer(a, &buf, len, "Q", 80, NULL), 0);
    if (b) {
        g_object_unref(b);
    }
    g_object_unref(a);
    return buf;
}

typedef struct replay {
    modq_policy *policy;
    modq_media_opts *opts;
    modq_banks *banks;
    pthread_rwlock_t banks_lock;
    modq_decided *decided;
    pthread_mutex_t lock;
    modq_prepare_ctx ctx;
    int views[ORIGINALS];   /* a person saw media of original i */
    int saved[ORIGINALS];   /* tickets of original i decided without a person */
    int removed[ORIGINALS]; /* a person had removed media of original i before */
    int views_of_removed;   /* views of an original some person had removed already */
    int shown_beside;       /* of those, with the earlier removal beside the item */
} replay;

/* The bank: the PDQ hash of each banked original, as a hash list would hold it. */
static void bank_originals(replay *r, uint8_t *const *img, const size_t *len, const char *dir)
{
    char path[256], err[512];
    FILE *fp;

    snprintf(path, sizeof path, "%s/bank.txt", dir);
    assert_non_null(fp = fopen(path, "w"));
    for (int i = 0; i < BANKED; i++) {
        modq_media *m = NULL;
        assert_int_equal(modq_media_process(r->opts, img[i], len[i], &m, NULL, 0), MODQ_BLUR_OK);
        fprintf(fp, "pdq %s\n", modq_media_pdq_hex(m));
        modq_media_free(m);
    }
    fclose(fp);
    assert_int_equal(
        modq_banks_load(r->banks, "known", path, VERDICT_REMOVE, NULL, 0, 31, err, sizeof err),
        MODQ_BLUR_OK);
    unlink(path);
}

/* One ticket of original o: a person sees it (and removes it) or it is decided without one. */
static void one_ticket(replay *r, int k, int o, const uint8_t *media, size_t media_len)
{
    char id[32];
    size_t len;
    uint8_t *msg;
    modq_prepared *p;

    snprintf(id, sizeof id, "t-%d", k);
    msg = tt_ticket(id, "self_harm", media, media_len, NULL, &len);
    p = modq_prepare_ticket(&r->ctx, msg, len, 1767600000000LL + k);
    assert_non_null(p);
    if (p->kind == MODQ_PREPARED_REVIEW) {
        r->views[o]++;
        r->views_of_removed += r->removed[o] > 0;
        r->shown_beside += r->removed[o] > 0 && p->has_prior && p->prior_distance > 0 &&
                           p->prior_verdict == VERDICT_REMOVE;
        r->removed[o]++;
        assert_non_null(p->media);
        modq_decided_add(r->decided, id, modq_media_sha256(p->media),
                         modq_media_pdq_quality(p->media) >= MODQ_BANKS_MIN_PDQ_QUALITY
                             ? modq_media_pdq_dihedral(p->media, 0)
                             : NULL,
                         VERDICT_REMOVE, "gore", 1767600000000LL + k, NULL);
    } else {
        assert_int_equal(p->kind, MODQ_PREPARED_AUTO);
        r->saved[o]++;
    }
    modq_prepared_free(p);
    free(msg);
}

/* What one replay counted. */
typedef struct outcome {
    int shown;            /* originals a person saw */
    int views;            /* person-views in all */
    int banked_views;     /* of banked originals */
    int views_of_removed; /* of originals some person had removed already */
    int shown_beside;     /* of those, with the earlier removal beside the item */
} outcome;

/* The originals: synthetic pictures whose PDQ hash is worth matching (quality 60 or more; a flat
 * one scores lower, and PDQ is then left out of every match, as it should be). */
static void originals(const modq_media_opts *opts, uint8_t **img, size_t *len, VipsImage **in)
{
    for (int i = 0, seed = 500; i < ORIGINALS; seed++) {
        modq_media *m = NULL;
        assert_int_equal(
            modq_synth_image(MODQ_SYNTH_SHAPES, 640, 480, (uint32_t)seed, "jpeg", &img[i], &len[i]),
            MODQ_BLUR_OK);
        assert_int_equal(modq_media_process(opts, img[i], len[i], &m, NULL, 0), MODQ_BLUR_OK);
        if (modq_media_pdq_quality(m) < 60) {
            modq_synth_free(img[i]);
        } else {
            assert_non_null(in[i] = vips_image_new_from_buffer(img[i], len[i], "", NULL));
            i++;
        }
        modq_media_free(m);
    }
}

/* The stream through preparation with copies matched within near_distance. */
static void run_replay(const modq_policy *policy, int near_distance, outcome *out)
{
    replay r = {0};
    char dir[] = "/tmp/modq-replay-XXXXXX";
    uint8_t *img[ORIGINALS];
    size_t len[ORIGINALS];
    VipsImage *in[ORIGINALS];
    uint64_t s = 77;

    r.opts = modq_opts_new();
    modq_opts_set(r.opts, MODQ_OPT_DEFER_RENDER, 1);
    modq_opts_set(r.opts, MODQ_OPT_LEVELS, 1 << 3); /* one level: what is shown is not counted */
    r.banks = modq_banks_new();
    r.decided = modq_decided_new(10000, INT64_C(1) << 40);
    pthread_mutex_init(&r.lock, NULL);
    pthread_rwlock_init(&r.banks_lock, NULL);
    assert_non_null(mkdtemp(dir));
    originals(r.opts, img, len, in);
    bank_originals(&r, img, len, dir);
    rmdir(dir);
    r.ctx = (modq_prepare_ctx){.policy = policy,
                               .media_opts = r.opts,
                               .banks = &r.banks,
                               .banks_lock = &r.banks_lock,
                               .decided = r.decided,
                               .decided_lock = &r.lock,
                               .auto_verdicts = 1u << VERDICT_REMOVE,
                               .near_distance = near_distance,
                               .worker_id = "w-replay",
                               .max_message_bytes = 8 << 20};
    for (int k = 0; k < TICKETS; k++) {
        int o = (int)(pt_rnd(&s) % ORIGINALS), alt = (int)(pt_rnd(&s) % ALTERATIONS);
        size_t n;
        void *copy = altered(in[o], alt, &n);
        one_ticket(&r, k, o, copy, n);
        g_free(copy);
    }
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < ORIGINALS; i++) {
        out->shown += r.views[i] > 0;
        out->views += r.views[i];
        out->banked_views += i < BANKED ? r.views[i] : 0;
        g_object_unref(in[i]);
        modq_synth_free(img[i]);
    }
    out->views_of_removed = r.views_of_removed;
    out->shown_beside = r.shown_beside;
    print_message("near_distance %2d: %d tickets, %d originals (%d banked): %.2f person-views per "
                  "original shown, %d views of banked media, %d of copies of media already "
                  "removed (%d with the removal beside them)\n",
                  near_distance, TICKETS, ORIGINALS, BANKED,
                  out->shown ? (double)out->views / out->shown : 0.0, out->banked_views,
                  out->views_of_removed, out->shown_beside);
    modq_banks_free(r.banks);
    modq_decided_free(r.decided);
    pthread_mutex_destroy(&r.lock);
    pthread_rwlock_destroy(&r.banks_lock);
    modq_opts_free(r.opts);
}

/*
 * At the default strict distance (16), banked media is never shown, but a mirrored or rotated
 * copy of media removed as another mirrored, rotated or cropped copy is 18 to 24 bits away (each
 * copy drifts from the original, and PDQ's rotated and flipped variants are not exact), and is
 * shown again, with the earlier removal beside it (the wider band, up to 31). At 31, the PDQ
 * authors' threshold, as the distance for deciding, every copy of removed media is recognised.
 */
static void test_replay_views_per_original(void **state)
{
    const char *src = getenv("MODQ_SOURCE_DIR");
    char path[256], err[512];
    modq_policy *policy = NULL;
    outcome strict, wide;

    (void)state;
    assert_non_null(src);
    snprintf(path, sizeof path, "%s/policy/default.yaml", src);
    assert_int_equal(modq_policy_load_file(path, &policy, err, sizeof err), MODQ_POLICY_OK);
    run_replay(policy, MODQ_PDQ_DEFAULT_THRESHOLD / 2 + 1, &strict);
    run_replay(policy, MODQ_PDQ_DEFAULT_THRESHOLD, &wide);
    modq_policy_free(policy);
    assert_int_equal(strict.banked_views, 0);
    assert_int_equal(wide.banked_views, 0);
    assert_int_equal(strict.shown, ORIGINALS - BANKED);
    assert_true(strict.views_of_removed < strict.views); /* most copies are recognised */
    /* and the rest are shown with the earlier removal beside them, never as new media */
    assert_int_equal(strict.shown_beside, strict.views_of_removed);
    assert_int_equal(wide.views_of_removed, 0);
    assert_int_equal(wide.views, ORIGINALS - BANKED); /* each original seen once */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_views_per_original),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    modq_blur_shutdown();
    return failed;
}
