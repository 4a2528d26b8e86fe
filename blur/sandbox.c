/*
 * sandbox.c: modq_media_process in confined helper processes (modq_sandbox.h). This file keeps
 * the set of helpers: a call takes an idle one (starting it first when it is not running), talks
 * to it under the request's deadline, and gives it back; a helper that failed was stopped on the
 * way and starts afresh when next taken, and one that has served max_items media is retired, so
 * a helper taken over by one item's bytes does not stay in service long.
 *
 * With MODQ_OPT_DEFER_RENDER the decode stays in the helper: the media returned carries a
 * remote (media_impl.h) through which modq_media_render and modq_media_release_image reach the
 * same helper, which stays taken until then.
 */
#include "internal.h"
#include "sandbox_impl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vips/vips.h>

/* What a retired or released helper gets to read SB_RELEASE; it only frees memory. */
#define RELEASE_MS 1000

static sb_helper *take(modq_sandbox *sb)
{
    sb_helper *h = NULL;

    pthread_mutex_lock(&sb->lock);
    for (;;) {
        for (int i = 0; i < sb->o.helpers && !h; i++) {
            if (!sb->helpers[i].taken) {
                h = &sb->helpers[i];
            }
        }
        if (h) {
            break;
        }
        pthread_cond_wait(&sb->idle, &sb->lock);
    }
    h->taken = true;
    pthread_mutex_unlock(&sb->lock);
    return h;
}

/* Gives h back, retiring its process first when it has served its share. */
static void give_back(sb_helper *h)
{
    modq_sandbox *sb = h->sb;

    if (h->pid > 0 && h->items >= sb->o.max_items) {
        sb_stop(h, false, "retired", NULL, 0);
    }
    pthread_mutex_lock(&sb->lock);
    h->taken = false;
    pthread_cond_signal(&sb->idle);
    pthread_mutex_unlock(&sb->lock);
}

/* Starts helpers[0..n) that are not running, all at once, and waits until each is up. */
static modq_blur_result ensure_running(sb_helper *helpers, int n, char *errstr, size_t errstr_size)
{
    char err[SB_ERR_MAX + 128];
    bool started[MODQ_SANDBOX_MAX_HELPERS] = {false};
    int failed = 0;

    for (int i = 0; i < n && !failed; i++) {
        if (helpers[i].pid <= 0 && !(failed = sb_spawn(&helpers[i], err, sizeof err) != 0)) {
            started[i] = true;
        }
    }
    for (int i = 0; i < n; i++) {
        if (!started[i]) {
            continue;
        }
        if (failed) {
            sb_stop(&helpers[i], false, "start abandoned", NULL, 0);
        } else if (sb_await(&helpers[i], err, sizeof err) != 0) {
            failed = 1;
        }
    }
    if (failed) {
        modq_errstr_set(errstr, errstr_size, "sandbox: %s", err);
        return MODQ_BLUR_ERR_SANDBOX;
    }
    pthread_mutex_lock(&helpers[0].sb->lock);
    for (int i = 0; i < n; i++) {
        helpers[0].sb->spawned += started[i];
    }
    pthread_mutex_unlock(&helpers[0].sb->lock);
    return MODQ_BLUR_OK;
}

static void remote_release(modq_media *m)
{
    sb_helper *h = m->remote.ctx;
    sb_reply unused;

    memset(&m->remote, 0, sizeof m->remote);
    if (h->pid > 0) {
        sb_call(h, SB_RELEASE, NULL, NULL, 0, modq_clock_mono_ms() + RELEASE_MS, &unused, NULL, 0);
    }
    give_back(h);
}

static modq_blur_result remote_render(modq_media *m, const modq_media_opts *opts, char *errstr,
                                      size_t errstr_size)
{
    sb_helper *h = m->remote.ctx;
    int64_t deadline = modq_clock_mono_ms() + h->sb->o.timeout_ms;
    sb_reply rp;
    modq_blur_result r;

    memset(&m->remote, 0, sizeof m->remote);
    m->rformat = (modq_rendition_format)modq_opts_get(opts, MODQ_OPT_FORMAT);
    m->levels_in_colour = modq_opts_get(opts, MODQ_OPT_COLOUR) == 1;
    r = sb_call(h, SB_RENDER, opts, NULL, 0, deadline, &rp, errstr, errstr_size);
    if (r == MODQ_BLUR_OK) {
        r = sb_read_reply(h, &rp, opts, false, m, deadline, errstr, errstr_size);
    }
    give_back(h);
    return r;
}

modq_blur_result modq_sandbox_process(modq_sandbox *sb, const modq_media_opts *opts,
                                      const void *buf, size_t len, modq_media **out, char *errstr,
                                      size_t errstr_size)
{
    modq_media *m = NULL;
    sb_helper *h;
    sb_reply rp;
    modq_blur_result r;
    int64_t deadline;

    if (!sb || !opts || !out || (!buf && len > 0)) {
        modq_errstr_set(errstr, errstr_size, "invalid argument");
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    *out = NULL;
    /* As the decoder would refuse it (decode.c), before a helper is handed what it would not
     * read: its memory limit may be smaller than the bytes. */
    if ((uint64_t)len > (uint64_t)modq_opts_get(opts, MODQ_OPT_MAX_INPUT_BYTES)) {
        modq_errstr_set(errstr, errstr_size, "input too large: %zu bytes > %lld", len,
                        (long long)modq_opts_get(opts, MODQ_OPT_MAX_INPUT_BYTES));
        return MODQ_BLUR_ERR_TOO_LARGE;
    }
    if (!(m = calloc(1, sizeof(*m)))) {
        modq_errstr_set(errstr, errstr_size, "out of memory");
        return MODQ_BLUR_ERR_NOMEM;
    }
    h = take(sb);
    if ((r = ensure_running(h, 1, errstr, errstr_size)) != MODQ_BLUR_OK) {
        goto out;
    }
    deadline = modq_clock_mono_ms() + sb->o.timeout_ms;
    h->items++;
    r = sb_call(h, SB_PROCESS, opts, buf, len, deadline, &rp, errstr, errstr_size);
    if (r == MODQ_BLUR_OK) {
        r = sb_read_reply(h, &rp, opts, true, m, deadline, errstr, errstr_size);
    }
    if (r == MODQ_BLUR_OK && rp.kept) {
        /* The helper holds the decode for this media: it stays taken until render or release. */
        m->remote = (modq_media_remote){remote_render, remote_release, h};
        h = NULL;
    }
    if (r == MODQ_BLUR_OK) {
        *out = m;
        m = NULL;
    }
out:
    modq_media_free(m);
    if (h) {
        give_back(h);
    }
    return r;
}

static const char *check_opts(const modq_sandbox_opts *o)
{
    if (!o->helper_path || !o->helper_path[0]) {
        return "no helper program";
    }
    if (o->helpers < 1 || o->helpers > MODQ_SANDBOX_MAX_HELPERS) {
        return "helpers out of range";
    }
    if (o->memory_bytes < (INT64_C(16) << 20) || o->timeout_ms < 10 || o->cpu_seconds < 1 ||
        o->cpu_seconds > 86400 || o->max_items < 1 || o->max_items > 1000000 ||
        o->concurrency < 0 || o->concurrency > 1024 || o->stderr_fd < -1) {
        return "a limit out of range";
    }
    return NULL;
}

modq_blur_result modq_sandbox_new(const modq_sandbox_opts *opts, modq_sandbox **out, char *errstr,
                                  size_t errstr_size)
{
    modq_sandbox *sb = NULL;
    const char *bad = "invalid argument";
    modq_blur_result r = MODQ_BLUR_ERR_NOMEM;

    if (!opts || !out || (bad = check_opts(opts)) != NULL) {
        modq_errstr_set(errstr, errstr_size, "sandbox: %s", bad);
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (!(sb = calloc(1, sizeof(*sb))) || !(sb->path = strdup(opts->helper_path))) {
        free(sb);
        modq_errstr_set(errstr, errstr_size, "out of memory");
        return MODQ_BLUR_ERR_NOMEM;
    }
    sb->o = *opts;
    sb->o.helper_path = sb->path;
    if (sb->o.concurrency == 0) {
        sb->o.concurrency = vips_concurrency_get();
    }
    pthread_mutex_init(&sb->lock, NULL);
    pthread_cond_init(&sb->idle, NULL);
    for (int i = 0; i < MODQ_SANDBOX_MAX_HELPERS; i++) {
        sb->helpers[i] = (sb_helper){.sb = sb, .fd = -1};
    }
    /* All of them now: a helper that cannot start should stop the caller's start, not an item. */
    if ((r = ensure_running(sb->helpers, sb->o.helpers, errstr, errstr_size)) != MODQ_BLUR_OK) {
        goto out;
    }
    *out = sb;
    sb = NULL;
out:
    modq_sandbox_free(sb);
    return r;
}

void modq_sandbox_free(modq_sandbox *sb)
{
    if (!sb) {
        return;
    }
    for (int i = 0; i < MODQ_SANDBOX_MAX_HELPERS; i++) {
        if (sb->helpers[i].pid > 0) {
            sb_stop(&sb->helpers[i], false, "stopped", NULL, 0);
        }
    }
    pthread_cond_destroy(&sb->idle);
    pthread_mutex_destroy(&sb->lock);
    free(sb->path);
    free(sb);
}

uint64_t modq_sandbox_cpu_ns(modq_sandbox *sb)
{
    uint64_t ns = 0;

    if (!sb) {
        return 0;
    }
    pthread_mutex_lock(&sb->lock);
    for (int i = 0; i < sb->o.helpers; i++) {
        const sb_helper *h = &sb->helpers[i];
        clockid_t clock;
        struct timespec ts;
        /* An idle helper's pid is not changed while the lock is held: its process is ours. */
        if (h->taken || h->pid <= 0 || clock_getcpuclockid(h->pid, &clock) != 0 ||
            clock_gettime(clock, &ts) != 0) {
            continue;
        }
        ns += (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
    }
    pthread_mutex_unlock(&sb->lock);
    return ns;
}

uint64_t modq_sandbox_spawned(modq_sandbox *sb)
{
    uint64_t n;

    if (!sb) {
        return 0;
    }
    pthread_mutex_lock(&sb->lock);
    n = sb->spawned;
    pthread_mutex_unlock(&sb->lock);
    return n;
}
