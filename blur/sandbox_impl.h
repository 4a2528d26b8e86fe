/*
 * sandbox_impl.h: the parent's side of the sandbox (private), shared by sandbox.c (the set of
 * helpers and the public calls), sandbox_spawn.c (starting, stopping and talking to one helper)
 * and sandbox_reply.c (reading and checking a helper's answer). The tests use sb_call to send
 * the test-only requests.
 */
#ifndef MODQ_BLUR_SANDBOX_IMPL_H
#define MODQ_BLUR_SANDBOX_IMPL_H

#include "media_impl.h"
#include "modq_sandbox.h"
#include "sandbox_wire.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct sb_helper {
    struct modq_sandbox *sb;
    pid_t pid;  /* 0: not running (started when next taken) */
    int fd;     /* our end of its socket, non-blocking; -1 when not running */
    int items;  /* media processed by this process */
    bool taken; /* a call, or a media whose decode it keeps, holds it */
} sb_helper;

struct modq_sandbox {
    modq_sandbox_opts o; /* o.helper_path points at path */
    char *path;
    pthread_mutex_t lock; /* guards taken and spawned; a taken helper is its taker's alone */
    pthread_cond_t idle;
    sb_helper helpers[MODQ_SANDBOX_MAX_HELPERS];
    uint64_t spawned;
};

/* Starts h's process; 0, or -1 with err set. Then sb_await says whether it came up: its ready
 * message, read within the start-up deadline; 0, or -1 with err set and h stopped. */
int sb_spawn(sb_helper *h, char *err, size_t err_size);
int sb_await(sb_helper *h, char *err, size_t err_size);
/*
 * Ends h's process (closes the socket, SIGKILL, waits for it) and says why in errstr: `why`, then
 * how the process ended. Returns MODQ_BLUR_ERR_DECODE_TIMEOUT when timed_out or the CPU-time limit
 * ended it, MODQ_BLUR_ERR_DECODER_CRASHED otherwise. h is then not running.
 */
modq_blur_result sb_stop(sb_helper *h, bool timed_out, const char *why, char *errstr,
                         size_t errstr_size);

typedef enum sb_io { SB_IO_OK = 0, SB_IO_CLOSED = -1, SB_IO_LATE = -2 } sb_io;
/* Moves exactly len bytes to (out) or from fd, non-blocking, by deadline_ms (monotonic clock). */
sb_io sb_xfer(int fd, void *buf, size_t len, bool out, int64_t deadline_ms);

/*
 * Sends one request (header with opts, or zeros when opts is NULL, then len payload bytes) and,
 * unless kind is SB_RELEASE, reads the reply's header into *rp. On failure h is stopped and the
 * result says why (as sb_stop).
 */
modq_blur_result sb_call(sb_helper *h, uint32_t kind, const modq_media_opts *opts,
                         const void *payload, size_t len, int64_t deadline_ms, sb_reply *rp,
                         char *errstr, size_t errstr_size);

/*
 * After sb_call's header: reads the rest of the reply (renditions, error text) into m, checking
 * every figure against opts (a PROCESS reply's facts and hashes too when process is set). The
 * result is the helper's when it kept to the rules; when it did not, h is stopped and the result
 * is MODQ_BLUR_ERR_DECODER_CRASHED (or ..._DECODE_TIMEOUT when it was too slow).
 */
modq_blur_result sb_read_reply(sb_helper *h, const sb_reply *rp, const modq_media_opts *opts,
                               bool process, modq_media *m, int64_t deadline_ms, char *errstr,
                               size_t errstr_size);

#endif
