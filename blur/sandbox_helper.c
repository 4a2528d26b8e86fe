/*
 * sandbox_helper.c: modq-media-sandbox, the helper process of modq_sandbox.h. Started by a
 * sandbox with exec, an empty environment and one socket (descriptor SB_FD); not for people.
 *
 * It starts libvips while it is still trusted, then confines itself (sandbox_confine.c) and says
 * so, then serves requests from the socket until it closes: bytes in, hashes and renditions out
 * (sandbox_wire.h). It exits with _exit: no exit handlers (a leak checker would need calls the
 * filter refuses), and the parent reads nothing from the exit but the status.
 *
 *   modq-media-sandbox PARENT_PID MEMORY_BYTES CPU_SECONDS MAX_ITEMS CONCURRENCY
 */
#define _GNU_SOURCE /* close_range, M_ARENA_MAX */
#include "modq_blur.h"
#include "sandbox_confine.h"
#include "sandbox_wire.h"
#include "modq_common.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vips/vips.h>

#define MAX_PAYLOAD (UINT64_C(1) << 30) /* the largest MODQ_OPT_MAX_INPUT_BYTES */

typedef struct helper {
    int fd;
    int cpu_seconds;
    modq_media *kept; /* a deferred decode, until SB_RENDER or SB_RELEASE */
} helper;

/* Fills opts from the request; -1 when a value is out of range. */
static int opts_from(const sb_request *rq, modq_media_opts *opts)
{
    for (int k = 0; k < MODQ_OPT_COUNT; k++) {
        if (modq_opts_set(opts, (modq_opt)k, rq->opts[k]) != MODQ_BLUR_OK) {
            return -1;
        }
    }
    return 0;
}

static int send_rendition(int fd, uint32_t ladder, int level, const uint8_t *data, size_t len,
                          int w, int h)
{
    sb_rendition rd = {.ladder = ladder, .level = (uint32_t)level, .w = w, .h = h, .len = len};
    return sb_write_all(fd, &rd, sizeof rd) || sb_write_all(fd, data, len) ? -1 : 0;
}

/* Sends r, with m's facts and hashes when m is set, and the renditions m holds. */
static int reply(helper *hp, modq_blur_result r, const modq_media *m, const modq_media_opts *opts,
                 const char *err)
{
    sb_reply rp = {.magic = SB_MAGIC, .result = (int32_t)r, .kept = hp->kept != NULL};
    int colour_too = opts && modq_opts_get(opts, MODQ_OPT_COLOUR_TOO) == 1 &&
                     modq_opts_get(opts, MODQ_OPT_COLOUR) == 0;
    const uint8_t *data;
    size_t len;
    int w, h;

    rp.errlen = r == MODQ_BLUR_OK ? 0 : (uint32_t)strnlen(err, SB_ERR_MAX);
    if (m) {
        rp.width = modq_media_width(m);
        rp.height = modq_media_height(m);
        rp.frames = modq_media_frames(m);
        rp.format = sb_format_index(modq_media_format(m));
        rp.display_w = modq_media_display_width(m);
        rp.display_h = modq_media_display_height(m);
        rp.pdq_quality = modq_media_pdq_quality(m);
        memcpy(rp.sha256, modq_media_sha256(m), MODQ_SHA256_LEN);
        memcpy(rp.md5, modq_media_md5(m), MODQ_MD5_LEN);
        for (int v = 0; v < MODQ_PDQ_DIHEDRAL; v++) {
            memcpy(rp.pdq[v], modq_media_pdq_dihedral(m, v), MODQ_PDQ_BYTES);
        }
        for (int l = 0; l < MODQ_LEVEL_COUNT; l++) {
            rp.nrend += modq_media_rendition(m, l, NULL, NULL, NULL, NULL) == MODQ_BLUR_OK;
            rp.nrend += colour_too &&
                        modq_media_rendition_colour(m, l, NULL, NULL, NULL, NULL) == MODQ_BLUR_OK;
        }
    }
    if (sb_write_all(hp->fd, &rp, sizeof rp)) {
        return -1;
    }
    for (int l = 0; m && l < MODQ_LEVEL_COUNT; l++) {
        if (modq_media_rendition(m, l, &data, &len, &w, &h) == MODQ_BLUR_OK &&
            send_rendition(hp->fd, 0, l, data, len, w, h)) {
            return -1;
        }
        if (colour_too && modq_media_rendition_colour(m, l, &data, &len, &w, &h) == MODQ_BLUR_OK &&
            send_rendition(hp->fd, 1, l, data, len, w, h)) {
            return -1;
        }
    }
    return sb_write_all(hp->fd, err, rp.errlen);
}

#ifdef MODQ_SANDBOX_TEST_REQUESTS
/* sandbox_helper_test.c: misbehaviour on demand; 0 when rq was one of its kinds. */
int modq_sandbox_test_serve(int fd, const sb_request *rq);
/* The same for media bytes that begin "modq-test:" (crash or hang), so tests of the worker can
 * send them in a ticket; returns only for other bytes. */
void modq_sandbox_test_bytes(const uint8_t *buf, size_t len);
#endif

static int serve_process(helper *hp, const sb_request *rq, modq_media_opts *opts)
{
    char err[SB_ERR_MAX] = "";
    uint8_t *buf = NULL;
    modq_media *m = NULL;
    modq_blur_result r;
    int rc;

    modq_media_free(hp->kept);
    hp->kept = NULL;
    if (rq->len > MAX_PAYLOAD || !(buf = malloc(rq->len ? rq->len : 1))) {
        return -1; /* the parent reads the end of the socket as a crash */
    }
    if (sb_read_all(hp->fd, buf, rq->len)) {
        free(buf);
        return -1;
    }
#ifdef MODQ_SANDBOX_TEST_REQUESTS
    modq_sandbox_test_bytes(buf, rq->len);
#endif
    if (opts_from(rq, opts)) {
        snprintf(err, sizeof err, "options out of range");
        r = MODQ_BLUR_ERR_INVALID_ARG;
    } else {
        r = modq_media_process(opts, buf, rq->len, &m, err, sizeof err);
    }
    free(buf);
    if (r == MODQ_BLUR_OK && modq_opts_get(opts, MODQ_OPT_DEFER_RENDER)) {
        hp->kept = m;
    }
    rc = reply(hp, r, r == MODQ_BLUR_OK ? m : NULL, opts, err);
    if (!hp->kept) {
        modq_media_free(m);
    }
    return rc;
}

static int serve_render(helper *hp, const sb_request *rq, modq_media_opts *opts)
{
    char err[SB_ERR_MAX] = "";
    modq_media *m = hp->kept;
    modq_blur_result r = MODQ_BLUR_ERR_INVALID_ARG;
    int rc;

    hp->kept = NULL;
    if (rq->len != 0) {
        return -1;
    }
    if (!m) {
        snprintf(err, sizeof err, "nothing kept to render");
    } else if (opts_from(rq, opts)) {
        snprintf(err, sizeof err, "options out of range");
    } else {
        r = modq_media_render(m, opts, err, sizeof err);
    }
    rc = reply(hp, r, r == MODQ_BLUR_OK ? m : NULL, opts, err);
    modq_media_free(m);
    return rc;
}

/* Serves requests until the socket closes (0) or breaks (-1). */
static int serve(helper *hp)
{
    modq_media_opts *opts = modq_opts_new();
    sb_request rq;
    int rc = -1;

    if (!opts) {
        return -1;
    }
    while (sb_read_all(hp->fd, &rq, sizeof rq) == 0) {
        if (rq.magic != SB_MAGIC || sandbox_cpu_arm(hp->cpu_seconds)) {
            goto out;
        }
        switch (rq.kind) {
        case SB_PROCESS:
            if (serve_process(hp, &rq, opts)) {
                goto out;
            }
            break;
        case SB_RENDER:
            if (serve_render(hp, &rq, opts)) {
                goto out;
            }
            break;
        case SB_RELEASE:
            modq_media_free(hp->kept);
            hp->kept = NULL;
            break;
        default:
#ifdef MODQ_SANDBOX_TEST_REQUESTS
            if (modq_sandbox_test_serve(hp->fd, &rq) == 0) {
                break;
            }
#endif
            goto out;
        }
    }
    rc = 0; /* end of file: the sandbox let this helper go */
out:
    modq_media_free(hp->kept);
    hp->kept = NULL;
    modq_opts_free(opts);
    return rc;
}

/* Lazy start-ups that read files (OpenSSL's configuration at the first digest, a loader's first
 * use) happen now, while files may still be opened, rather than be refused under the filter. */
static void warm_up(void)
{
    static const char *const formats[] = {"jpeg", "png", "webp", "gif", "tiff"};
    modq_media_opts *opts = modq_opts_new();

    for (size_t i = 0; opts && i < sizeof formats / sizeof formats[0]; i++) {
        uint8_t *data = NULL;
        size_t len = 0;
        modq_media *m = NULL;
        if (modq_synth_image(MODQ_SYNTH_SHAPES, 32, 32, 1, formats[i], &data, &len) ==
            MODQ_BLUR_OK) {
            modq_media_process(opts, data, len, &m, NULL, 0);
        }
        modq_media_free(m);
        modq_synth_free(data);
    }
    modq_opts_free(opts);
}

/* Tells the parent why this helper cannot serve (it was not handed a byte yet: its words are
 * trusted), and, for someone running it by hand, stderr too. */
static int refuse(int fd, const char *why)
{
    sb_ready no = {.magic = SB_MAGIC, .version = SB_VERSION, .pid = (int32_t)getpid()};

    fprintf(stderr, "modq-media-sandbox: %s\n", why);
    no.errlen = (uint32_t)strnlen(why, SB_ERR_MAX);
    if (fd >= 0 && sb_write_all(fd, &no, sizeof no) == 0) {
        sb_write_all(fd, why, no.errlen);
    }
    return -1;
}

/* Everything before the first untrusted byte: checks, libvips, limits, the filter. */
static int start(int argc, char **argv, helper *hp)
{
    int64_t parent, memory, cpu, items, conc;
    char err[256] = "";
    struct stat st;
    sb_ready ready = {.magic = SB_MAGIC, .version = SB_VERSION};

    if (fstat(SB_FD, &st) || !S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "modq-media-sandbox: started by a modq sandbox only (no socket on %d)\n",
                SB_FD);
        return -1;
    }
    if (argc != 6 || !modq_parse_int64(argv[1], 1, INT32_MAX, &parent) ||
        !modq_parse_int64(argv[2], 1, INT64_MAX / 2, &memory) ||
        !modq_parse_int64(argv[3], 1, 86400, &cpu) ||
        !modq_parse_int64(argv[4], 1, 1000000, &items) ||
        !modq_parse_int64(argv[5], 0, 1024, &conc)) {
        return refuse(SB_FD, "bad arguments");
    }
    /* Die with the thread that started us; and not at all if it is already gone. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != (pid_t)parent) {
        return -1;
    }
    close_range(SB_FD + 1, ~0u, 0); /* whatever else was inherited */
    hp->fd = SB_FD;
    hp->cpu_seconds = (int)cpu;
    /* A few threads decode here: two malloc arenas, not one per thread (each reserves 64 MiB
     * of the address space the limit counts). And this process does one thing over and over:
     * image buffers up to 32 MiB come from the heap and up to 64 MiB of it stays mapped between
     * items, rather than being mapped, faulted in and zeroed again for every item (measured on
     * a 1920x1200 PNG: 2,300 page faults and 125 ms of CPU per item in the worker's process
     * with glibc's defaults, 280 and 95 ms here). */
    mallopt(M_ARENA_MAX, 2);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    tzset(); /* /etc/localtime, read now: later it would be refused */
    if (modq_blur_init(argv[0]) != MODQ_BLUR_OK) {
        return refuse(hp->fd, "libvips did not start");
    }
    if (conc > 0) {
        vips_concurrency_set((int)conc);
    }
    warm_up();
    if (sandbox_limit(memory, (int)cpu, (int)items, err, sizeof err) ||
        sandbox_seccomp(err, sizeof err)) {
        return refuse(hp->fd, err);
    }
    ready.pid = (int32_t)getpid();
    return sb_write_all(hp->fd, &ready, sizeof ready);
}

int main(int argc, char **argv)
{
    helper hp = {.fd = -1};

    if (start(argc, argv, &hp)) {
        _exit(1);
    }
    _exit(serve(&hp) ? 1 : 0);
}
