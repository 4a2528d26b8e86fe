/*
 * deadline.c: the per-item deadline. One hostile file must not hold a preparation thread for
 * long: every step of the pipeline checks the budget between steps, and the libvips computations
 * check it at each work unit through the image's "eval" progress signal, which sets the image's
 * kill flag; libvips then stops every thread of that computation and fails it cleanly (regions
 * and buffers are released as on any error). The clock is CLOCK_MONOTONIC, so a clock step does
 * not shorten or lengthen anyone's budget.
 */
#include "deadline.h"

#include "internal.h"

#include <time.h>

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void deadline_start(modq_deadline *d, int64_t limit_ms, int64_t spent_ns)
{
    d->start_ns = now_ns();
    d->spent_ns = spent_ns < 0 ? 0 : spent_ns;
    d->limit_ns = limit_ms * 1000000;
    atomic_store(&d->expired, d->spent_ns >= d->limit_ns);
}

int64_t deadline_spent_ns(const modq_deadline *d)
{
    return d->spent_ns + (now_ns() - d->start_ns);
}

bool deadline_passed(modq_deadline *d)
{
    if (atomic_load(&d->expired)) {
        return true;
    }
    if (deadline_spent_ns(d) < d->limit_ns) {
        return false;
    }
    atomic_store(&d->expired, true);
    return true;
}

/* libvips emits "eval" once per work unit (a tile or a few lines) of a computation, from the
 * thread that runs the computation; the kill flag stops it at the next unit. */
static void on_eval(VipsImage *image, VipsProgress *progress, gpointer data)
{
    (void)progress;
    if (deadline_passed(data)) {
        vips_image_set_kill(image, TRUE);
    }
}

gulong deadline_watch(modq_deadline *d, VipsImage *img)
{
    vips_image_set_progress(img, TRUE);
    return g_signal_connect(img, "eval", G_CALLBACK(on_eval), d);
}

void deadline_unwatch(VipsImage *img, gulong id)
{
    /* d lives on its caller's stack: nothing may call back into it once the call returns. */
    g_signal_handler_disconnect(img, id);
    vips_image_set_progress(img, FALSE);
    vips_image_set_kill(img, FALSE);
}

VipsImage *deadline_copy_memory(modq_deadline *d, VipsImage *img)
{
    VipsImage *mem;
    gulong id;

    if (deadline_passed(d)) {
        return NULL;
    }
    id = deadline_watch(d, img);
    mem = vips_image_copy_memory(img);
    deadline_unwatch(img, id);
    /* The decoder may have spent the budget in one call that no work unit interrupted. */
    if (mem && deadline_passed(d)) {
        VIPS_UNREF(mem);
    }
    return mem;
}

modq_blur_result deadline_fail(const modq_deadline *d, const char *stage, char *errstr,
                               size_t errstr_size)
{
    modq_errstr_set(errstr, errstr_size, "decode timeout: %lld ms spent > %lld ms allowed (at %s)",
                    (long long)(deadline_spent_ns(d) / 1000000), (long long)(d->limit_ns / 1000000),
                    stage);
    return MODQ_BLUR_ERR_DECODE_TIMEOUT;
}
