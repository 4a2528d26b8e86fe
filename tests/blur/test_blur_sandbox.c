/*
 * test_blur_sandbox.c: media in confined helper processes (blur/sandbox*.c, modq-media-sandbox).
 * A sandboxed item gives the same facts, hashes and renditions as one processed in this process
 * (deferred or not, colour or not, refusals too); a helper that crashes, hangs, burns CPU, runs
 * out of its memory or breaks the protocol costs one item (decoder_crashed / decode_timeout) and
 * the next item succeeds on a fresh helper; inside a helper, open() fails and socket() and
 * execve() end it (SIGSYS). The misbehaviour comes from modq-media-sandbox-test, the helper
 * built with the test-only requests (sandbox_wire.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "modq_blur.h"
#include "modq_common.h"
#include "modq_sandbox.h"
#include "sandbox_impl.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct sb_fixture {
    char helper[512];     /* the tests' build of the helper */
    char production[512]; /* modq-media-sandbox itself */
    char shared[512];     /* ../shared/testdata/pdq, "" when absent */
} sb_fixture;

static int setup(void **state)
{
    static sb_fixture f;
    const char *build = getenv("MODQ_BUILD_DIR"), *shared = getenv("MODQ_SHARED_DIR");

    if (!build || tu_blur_setup(state)) {
        return -1;
    }
    snprintf(f.helper, sizeof f.helper, "%s/modq-media-sandbox-test", build);
    snprintf(f.production, sizeof f.production, "%s/modq-media-sandbox", build);
    f.shared[0] = '\0';
    if (shared) {
        snprintf(f.shared, sizeof f.shared, "%s/testdata/pdq", shared);
        if (access(f.shared, R_OK) != 0) {
            f.shared[0] = '\0';
        }
    }
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    return tu_blur_teardown(state);
}

/* Options for a sandbox of n helpers of the test helper; stderr shows sanitizer reports. */
static modq_sandbox_opts sb_opts(const sb_fixture *f, int n)
{
    return (modq_sandbox_opts){.helper_path = f->helper,
                               .helpers = n,
                               .memory_bytes = INT64_C(1) << 30,
                               .timeout_ms = 60000,
                               .cpu_seconds = 60,
                               .max_items = 1000,
                               .concurrency = 0,
                               .stderr_fd = 2};
}

static modq_sandbox *sb_start(const modq_sandbox_opts *o)
{
    modq_sandbox *sb = NULL;
    char err[512] = "";

    if (modq_sandbox_new(o, &sb, err, sizeof err) != MODQ_BLUR_OK) {
        print_error("modq_sandbox_new: %s\n", err);
    }
    assert_non_null(sb);
    return sb;
}

static void same_rendition(const modq_media *a, const modq_media *b, int colour, int level)
{
    const uint8_t *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    int wa = 0, ha = 0, wb = 0, hb = 0;
    modq_blur_result ra = colour ? modq_media_rendition_colour(a, level, &da, &la, &wa, &ha)
                                 : modq_media_rendition(a, level, &da, &la, &wa, &ha);
    modq_blur_result rb = colour ? modq_media_rendition_colour(b, level, &db, &lb, &wb, &hb)
                                 : modq_media_rendition(b, level, &db, &lb, &wb, &hb);

    assert_int_equal(ra, rb);
    if (ra != MODQ_BLUR_OK) {
        return;
    }
    assert_int_equal(wa, wb);
    assert_int_equal(ha, hb);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
}

/* Every fact, hash and rendition of a equals b's. */
static void same_media(const modq_media *a, const modq_media *b)
{
    assert_int_equal(modq_media_width(a), modq_media_width(b));
    assert_int_equal(modq_media_height(a), modq_media_height(b));
    assert_int_equal(modq_media_frames(a), modq_media_frames(b));
    assert_string_equal(modq_media_format(a), modq_media_format(b));
    assert_string_equal(modq_media_sha256_hex(a), modq_media_sha256_hex(b));
    assert_string_equal(modq_media_md5_hex(a), modq_media_md5_hex(b));
    assert_string_equal(modq_media_pdq_hex(a), modq_media_pdq_hex(b));
    for (int v = 0; v < MODQ_PDQ_DIHEDRAL; v++) {
        assert_memory_equal(modq_media_pdq_dihedral(a, v), modq_media_pdq_dihedral(b, v),
                            MODQ_PDQ_BYTES);
    }
    assert_int_equal(modq_media_pdq_quality(a), modq_media_pdq_quality(b));
    assert_int_equal(modq_media_display_width(a), modq_media_display_width(b));
    assert_int_equal(modq_media_display_height(a), modq_media_display_height(b));
    assert_string_equal(modq_media_mime(a), modq_media_mime(b));
    for (int l = 0; l < MODQ_LEVEL_COUNT; l++) {
        same_rendition(a, b, 0, l);
        same_rendition(a, b, 1, l);
    }
}

/* Processes buf in this process and in sb with opts (deferred: rendered after) and compares. */
static void compare_one(modq_sandbox *sb, const modq_media_opts *opts, const uint8_t *buf,
                        size_t len, const char *what)
{
    modq_media *in = NULL, *out = NULL;
    char ein[320] = "", eout[320] = "";
    modq_blur_result rin = modq_media_process(opts, buf, len, &in, ein, sizeof ein);
    modq_blur_result rout = modq_sandbox_process(sb, opts, buf, len, &out, eout, sizeof eout);

    if (rin != rout) {
        print_error("%s: in-process %s (%s), sandboxed %s (%s)\n", what, modq_blur_code(rin), ein,
                    modq_blur_code(rout), eout);
    }
    assert_int_equal(rin, rout);
    assert_string_equal(ein, eout);
    if (rin == MODQ_BLUR_OK && modq_opts_get(opts, MODQ_OPT_DEFER_RENDER)) {
        assert_int_equal(modq_media_render(in, opts, ein, sizeof ein), MODQ_BLUR_OK);
        assert_int_equal(modq_media_render(out, opts, eout, sizeof eout), MODQ_BLUR_OK);
    }
    if (rin == MODQ_BLUR_OK) {
        same_media(in, out);
    }
    modq_media_free(in);
    modq_media_free(out);
}

/* Three option sets: the defaults, a colour ladder beside the grey one as JPEG, and deferred. */
static void compare_all_opts(modq_sandbox *sb, const uint8_t *buf, size_t len, const char *what)
{
    modq_media_opts *o = modq_opts_new();

    compare_one(sb, o, buf, len, what);
    assert_int_equal(modq_opts_set(o, MODQ_OPT_COLOUR_TOO, 1), MODQ_BLUR_OK);
    assert_int_equal(modq_opts_set(o, MODQ_OPT_FORMAT, MODQ_FORMAT_JPEG), MODQ_BLUR_OK);
    compare_one(sb, o, buf, len, what);
    assert_int_equal(modq_opts_set(o, MODQ_OPT_DEFER_RENDER, 1), MODQ_BLUR_OK);
    assert_int_equal(modq_opts_set(o, MODQ_OPT_LEVELS, 0x5), MODQ_BLUR_OK);
    compare_one(sb, o, buf, len, what);
    modq_opts_free(o);
}

static void test_sandbox_gives_what_in_process_gives(void **state)
{
    const sb_fixture *f = *state;
    modq_sandbox_opts o = sb_opts(f, 1);
    modq_sandbox *sb = sb_start(&o);
    static const char *const formats[] = {"jpeg", "png", "webp", "gif", "tiff"};
    static const char *const files[] = {"reg-test-input/dih/bridge-2-rotate-90.jpg",
                                        "reg-test-input/pen-and-coaster.png",
                                        "misc-images/modes/CMYK.jpg",
                                        "misc-images/modes/LA.png",
                                        "misc-images/modes/PA.webp",
                                        "misc-images/modes/1.png"};
    char path[1024];

    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        size_t len;
        uint8_t *img = tu_synth(MODQ_SYNTH_SHAPES, 1300, 800, (uint32_t)i, formats[i], &len);
        compare_all_opts(sb, img, len, formats[i]);
        modq_synth_free(img);
    }
    if (!f->shared[0]) {
        print_message("shared test images absent (../shared/testdata/pdq): synthetic only\n");
    }
    for (size_t i = 0; f->shared[0] && i < sizeof files / sizeof files[0]; i++) {
        size_t len;
        uint8_t *img;
        snprintf(path, sizeof path, "%s/%s", f->shared, files[i]);
        assert_non_null(img = tu_read_file(path, &len));
        compare_all_opts(sb, img, len, files[i]);
        free(img);
    }
    /* One helper served all of it, and its CPU time shows. */
    assert_int_equal(modq_sandbox_spawned(sb), 1);
    assert_true(modq_sandbox_cpu_ns(sb) > 0);
    modq_sandbox_free(sb);
}

static void test_sandbox_refuses_as_in_process(void **state)
{
    const sb_fixture *f = *state;
    modq_sandbox_opts o = sb_opts(f, 1);
    modq_sandbox *sb = sb_start(&o);
    modq_media_opts *opts = modq_opts_new();
    size_t len;
    uint8_t *jpg = tu_synth(MODQ_SYNTH_NOISE, 600, 400, 3, "jpeg", &len);
    uint8_t *bomb, *scans = NULL, *noise;
    modq_media *m = NULL;
    char err[320] = "";
    static const uint8_t svg[] = "<?xml version=\"1.0\"?><svg xmlns=\"x\"></svg>";

    compare_one(sb, opts, jpg, len / 2, "truncated jpeg");
    compare_one(sb, opts, svg, sizeof svg - 1, "svg");
    compare_one(sb, opts, (const uint8_t *)"", 0, "empty");
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_MAX_INPUT_BYTES, 1000), MODQ_BLUR_OK);
    compare_one(sb, opts, jpg, len, "too large");
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_MAX_INPUT_BYTES, 64 << 20), MODQ_BLUR_OK);
    bomb = tu_png_claiming(60000, 60000, &len);
    compare_one(sb, opts, bomb, len, "pixel bomb");
    free(bomb);
    assert_int_equal(modq_synth_jpeg_scans(MODQ_SYNTH_SHAPES, 64, 64, 1, 60, &scans, &len),
                     MODQ_BLUR_OK);
    compare_one(sb, opts, scans, len, "too many scans");
    /* The pipeline's own deadline ends an item cleanly in the helper too: the helper stays. */
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_DEADLINE_MS, 1), MODQ_BLUR_OK);
    noise = tu_synth(MODQ_SYNTH_NOISE, 3000, 2000, 5, "png", &len);
    assert_int_equal(modq_sandbox_process(sb, opts, noise, len, &m, err, sizeof err),
                     MODQ_BLUR_ERR_DECODE_TIMEOUT);
    print_message("1 ms deadline: %s\n", err);
    assert_non_null(strstr(err, "decode timeout"));
    assert_int_equal(modq_sandbox_spawned(sb), 1); /* refusals cost no helper */
    modq_synth_free(scans);
    modq_synth_free(noise);
    modq_opts_free(opts);
    modq_synth_free(jpg);
    modq_sandbox_free(sb);
}

/* A request only the test helper serves; returns the result and the helper's errno answer. */
static modq_blur_result test_request(modq_sandbox *sb, uint32_t kind, const void *payload,
                                     size_t len, int timeout_ms, int32_t *answer, char *err,
                                     size_t err_size)
{
    sb_helper *h = &sb->helpers[0];
    sb_reply rp;
    modq_blur_result r;

    assert_true(h->pid > 0 && !h->taken);
    r = sb_call(h, kind, NULL, payload, len, modq_clock_mono_ms() + timeout_ms, &rp, err, err_size);
    if (r != MODQ_BLUR_OK) {
        return r;
    }
    if (kind == SB_TEST_LIE) {
        /* One rendition asked for: the lies announce one, so the check that fails is theirs. */
        modq_media_opts *opts = modq_opts_new();
        assert_int_equal(modq_opts_set(opts, MODQ_OPT_LEVELS, 1), MODQ_BLUR_OK);
        modq_media *m = calloc(1, sizeof *m);
        r = sb_read_reply(h, &rp, opts, true, m, modq_clock_mono_ms() + timeout_ms, err, err_size);
        modq_media_free(m);
        modq_opts_free(opts);
        return r;
    }
    assert_int_equal(rp.magic, SB_MAGIC);
    *answer = rp.result;
    return r;
}

/* The next item after a failure: processed on a fresh helper. */
static void next_item_succeeds(modq_sandbox *sb, uint64_t spawned_before)
{
    modq_media_opts *opts = modq_opts_new();
    modq_media *m = NULL;
    size_t len;
    uint8_t *png = tu_synth(MODQ_SYNTH_SHAPES, 320, 200, 9, "png", &len);
    char err[320] = "";

    assert_int_equal(modq_sandbox_process(sb, opts, png, len, &m, err, sizeof err), MODQ_BLUR_OK);
    assert_int_equal(modq_media_width(m), 320);
    assert_int_equal(modq_sandbox_spawned(sb), spawned_before + 1);
    modq_media_free(m);
    modq_opts_free(opts);
    modq_synth_free(png);
}

static void test_a_crash_costs_one_item(void **state)
{
    const sb_fixture *f = *state;
    modq_sandbox_opts o = sb_opts(f, 1);
    modq_sandbox *sb = sb_start(&o);
    char err[320] = "";
    int32_t answer = -1;

    assert_int_equal(test_request(sb, SB_TEST_CRASH, NULL, 0, 10000, &answer, err, sizeof err),
                     MODQ_BLUR_ERR_DECODER_CRASHED);
    print_message("crash: %s\n", err);
    assert_non_null(strstr(err, "SIGABRT"));
    assert_int_equal(sb->helpers[0].pid, 0);
    next_item_succeeds(sb, 1);
    modq_sandbox_free(sb);
}

static void test_a_hang_is_killed_at_the_deadline(void **state)
{
    const sb_fixture *f = *state;
    modq_sandbox_opts o = sb_opts(f, 1);
    modq_sandbox *sb = sb_start(&o);
    char err[320] = "";
    int32_t answer = -1;
    int64_t t0 = modq_clock_mono_ms();

    assert_int_equal(test_request(sb, SB_TEST_SLEEP, NULL, 0, 300, &answer, err, sizeof err),
                     MODQ_BLUR_ERR_DECODE_TIMEOUT);
    print_message("hang: %s after %lld ms\n", err, (long long)(modq_clock_mono_ms() - t0));
    assert_true(modq_clock_mono_ms() - t0 < 5000);
    assert_non_null(strstr(err, "deadline"));
    next_item_succeeds(sb, 1);
    modq_sandbox_free(sb);
}

static void test_cpu_time_is_limited(void **state)
{
    const sb_fixture *f = *state;
    modq_sandbox_opts o = sb_opts(f, 1);
    modq_sandbox *sb;
    char err[320] = "";
    int32_t answer = -1;
    int64_t t0;

    o.cpu_seconds = 1;
    sb = sb_start(&o);
    t0 = modq_clock_mono_ms();
    /* The wall-clock deadline is far: the CPU-time limit ends the spinning helper first. */
    assert_int_equal(test_request(sb, SB_TEST_SPIN, NULL, 0, 60000, &answer, err, sizeof err),
                     MODQ_BLUR_ERR_DECODE_TIMEOUT);
    print_message("spin: %s after %lld ms\n", err, (long long)(modq_clock_mono_ms() - t0));
    assert_non_null(strstr(err, "SIGXCPU"));
    next_item_succeeds(sb, 1);
    modq_sandbox_free(sb);
}

static void test_memory_is_limited(void **state)
{
    const sb_fixture *f = *state;
    modq_sandbox_opts o = sb_opts(f, 1);
    modq_sandbox *sb;
    char err[320] = "";
    int32_t answer = -1;
    uint64_t small = UINT64_C(8) << 20, big = UINT64_C(512) << 20;
    modq_blur_result r;

    o.memory_bytes = INT64_C(128) << 20;
    sb = sb_start(&o);
    assert_int_equal(
        test_request(sb, SB_TEST_ALLOC, &small, sizeof small, 10000, &answer, err, sizeof err),
        MODQ_BLUR_OK);
    assert_int_equal(answer, 0);
    /* Past the limit: malloc fails (or, under AddressSanitizer, its allocator ends the helper). */
    r = test_request(sb, SB_TEST_ALLOC, &big, sizeof big, 10000, &answer, err, sizeof err);
    print_message("512 MiB in a 128 MiB helper: %s %s\n", modq_blur_code(r),
                  r == MODQ_BLUR_OK ? strerror(answer) : err);
    if (r == MODQ_BLUR_OK) {
        assert_int_equal(answer, ENOMEM);
        sb_stop(&sb->helpers[0], false, "test", NULL, 0);
    } else {
        assert_int_equal(r, MODQ_BLUR_ERR_DECODER_CRASHED);
    }
    next_item_succeeds(sb, 1);
    modq_sandbox_free(sb);
}

static void test_forbidden_calls_are_refused(void **state)
{
    const sb_fixture *f = *state;
    modq_sandbox_opts o = sb_opts(f, 1);
    modq_sandbox *sb = sb_start(&o);
    char err[320] = "";
    int32_t answer = -1;
    static const uint32_t opens[] = {SB_SYS_OPEN, SB_SYS_OPEN_WRITE};
    static const uint32_t fatal[] = {SB_SYS_SOCKET, SB_SYS_EXECVE};

    for (size_t i = 0; i < sizeof opens / sizeof opens[0]; i++) {
        assert_int_equal(test_request(sb, SB_TEST_SYSCALL, &opens[i], sizeof opens[i], 10000,
                                      &answer, err, sizeof err),
                         MODQ_BLUR_OK);
        assert_int_equal(answer, EACCES);
    }
    assert_int_equal(access("/tmp/modq-sandbox-escape", F_OK), -1);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
        uint64_t spawned = modq_sandbox_spawned(sb);
        assert_int_equal(test_request(sb, SB_TEST_SYSCALL, &fatal[i], sizeof fatal[i], 10000,
                                      &answer, err, sizeof err),
                         MODQ_BLUR_ERR_DECODER_CRASHED);
        print_message("%s: %s\n", fatal[i] == SB_SYS_SOCKET ? "socket" : "execve", err);
        assert_non_null(strstr(err, "SIGSYS"));
        next_item_succeeds(sb, spawned);
    }
    modq_sandbox_free(sb);
}

/* The shipped helper has none of the test requests: it takes one for a broken protocol and
 * leaves (status 1) rather than trying the call. */
static void test_the_shipped_helper_serves_no_test_request(void **state)
{
    const sb_fixture *f = *state;
    modq_sandbox_opts o = sb_opts(f, 1);
    modq_sandbox *sb;
    char err[320] = "";
    int32_t answer = -1;
    uint32_t which = SB_SYS_SOCKET;

    o.helper_path = f->production;
    sb = sb_start(&o);
    assert_int_equal(
        test_request(sb, SB_TEST_SYSCALL, &which, sizeof which, 10000, &answer, err, sizeof err),
        MODQ_BLUR_ERR_DECODER_CRASHED);
    print_message("shipped helper: %s\n", err);
    assert_non_null(strstr(err, "exited with status 1"));
    next_item_succeeds(sb, 1);
    modq_sandbox_free(sb);
}

static void test_a_lying_helper_is_stopped(void **state)
{
    const sb_fixture *f = *state;
    modq_sandbox_opts o = sb_opts(f, 1);
    modq_sandbox *sb = sb_start(&o);
    char err[320] = "";
    int32_t answer = -1;

    static const char *const why[] = {[SB_LIE_HUGE_RENDITION] = "size out of range",
                                      [SB_LIE_BAD_RESULT] = "result out of range",
                                      [SB_LIE_BAD_SIZE] = "source size out of range",
                                      [SB_LIE_SHORT] = "before the deadline"};

    for (uint32_t lie = SB_LIE_HUGE_RENDITION; lie <= SB_LIE_SHORT; lie++) {
        uint64_t spawned = modq_sandbox_spawned(sb);
        modq_blur_result r =
            test_request(sb, SB_TEST_LIE, &lie, sizeof lie, 500, &answer, err, sizeof err);
        print_message("lie %u: %s: %s\n", lie, modq_blur_code(r), err);
        assert_int_equal(r, lie == SB_LIE_SHORT ? MODQ_BLUR_ERR_DECODE_TIMEOUT
                                                : MODQ_BLUR_ERR_DECODER_CRASHED);
        assert_non_null(strstr(err, why[lie]));
        assert_int_equal(sb->helpers[0].pid, 0);
        next_item_succeeds(sb, spawned);
    }
    modq_sandbox_free(sb);
}

static void test_helpers_are_reused_then_retired(void **state)
{
    const sb_fixture *f = *state;
    modq_sandbox_opts o = sb_opts(f, 1);
    modq_sandbox *sb;
    modq_media_opts *opts = modq_opts_new();
    size_t len;
    uint8_t *jpg = tu_synth(MODQ_SYNTH_SHAPES, 200, 100, 4, "jpeg", &len);

    o.max_items = 2;
    sb = sb_start(&o);
    assert_int_equal(modq_opts_set(opts, MODQ_OPT_DEFER_RENDER, 1), MODQ_BLUR_OK);
    for (int i = 0; i < 5; i++) {
        modq_media *m = NULL;
        assert_int_equal(modq_sandbox_process(sb, opts, jpg, len, &m, NULL, 0), MODQ_BLUR_OK);
        /* Deferred: the one helper is this media's until it is let go; then it serves the next. */
        if (i % 2) {
            assert_int_equal(modq_media_render(m, opts, NULL, 0), MODQ_BLUR_OK);
        }
        modq_media_free(m);
    }
    /* Items 1-2 on the first, 3-4 on the second, 5 on the third. */
    assert_int_equal(modq_sandbox_spawned(sb), 3);
    modq_opts_free(opts);
    modq_synth_free(jpg);
    modq_sandbox_free(sb);
}

static void test_a_helper_that_cannot_start_fails_the_start(void **state)
{
    const sb_fixture *f = *state;
    modq_sandbox_opts o = sb_opts(f, 1);
    modq_sandbox *sb = NULL;
    char err[512] = "";

    o.helper_path = "/nonexistent/modq-media-sandbox";
    assert_int_equal(modq_sandbox_new(&o, &sb, err, sizeof err), MODQ_BLUR_ERR_SANDBOX);
    print_message("%s\n", err);
    assert_null(sb);
    o.helper_path = "/bin/true"; /* runs, but is not a helper */
    assert_int_equal(modq_sandbox_new(&o, &sb, err, sizeof err), MODQ_BLUR_ERR_SANDBOX);
    print_message("%s\n", err);
    assert_non_null(strstr(err, "did not start"));
    o.helper_path = f->helper;
    o.helpers = 0;
    assert_int_equal(modq_sandbox_new(&o, &sb, err, sizeof err), MODQ_BLUR_ERR_INVALID_ARG);
}

typedef struct worker_arg {
    modq_sandbox *sb;
    const uint8_t *img;
    size_t len;
    const modq_media *want;
    int failures;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    modq_media_opts *opts = modq_opts_new();

    for (int i = 0; i < 6; i++) {
        modq_media *m = NULL;
        if (modq_sandbox_process(a->sb, opts, a->img, a->len, &m, NULL, 0) != MODQ_BLUR_OK ||
            strcmp(modq_media_pdq_hex(m), modq_media_pdq_hex(a->want)) != 0) {
            a->failures++;
        }
        modq_media_free(m);
    }
    modq_opts_free(opts);
    return NULL;
}

static void test_threads_share_the_helpers(void **state)
{
    const sb_fixture *f = *state;
    modq_sandbox_opts o = sb_opts(f, 2);
    modq_sandbox *sb = sb_start(&o);
    modq_media_opts *opts = modq_opts_new();
    modq_media *want = NULL;
    size_t len;
    uint8_t *jpg = tu_synth(MODQ_SYNTH_SHAPES, 640, 480, 8, "jpeg", &len);
    pthread_t t[4];
    worker_arg a[4];

    assert_int_equal(modq_media_process(opts, jpg, len, &want, NULL, 0), MODQ_BLUR_OK);
    for (int i = 0; i < 4; i++) {
        a[i] = (worker_arg){sb, jpg, len, want, 0};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].failures, 0);
    }
    assert_int_equal(modq_sandbox_spawned(sb), 2);
    modq_media_free(want);
    modq_opts_free(opts);
    modq_synth_free(jpg);
    modq_sandbox_free(sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sandbox_gives_what_in_process_gives),
        cmocka_unit_test(test_sandbox_refuses_as_in_process),
        cmocka_unit_test(test_a_crash_costs_one_item),
        cmocka_unit_test(test_a_hang_is_killed_at_the_deadline),
        cmocka_unit_test(test_cpu_time_is_limited),
        cmocka_unit_test(test_memory_is_limited),
        cmocka_unit_test(test_forbidden_calls_are_refused),
        cmocka_unit_test(test_the_shipped_helper_serves_no_test_request),
        cmocka_unit_test(test_a_lying_helper_is_stopped),
        cmocka_unit_test(test_helpers_are_reused_then_retired),
        cmocka_unit_test(test_a_helper_that_cannot_start_fails_the_start),
        cmocka_unit_test(test_threads_share_the_helpers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
