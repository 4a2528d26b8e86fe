/*
 * modq_sandbox.h: modq_media_process in confined helper processes (part of libmodq_blur).
 *
 * Decoding hostile bytes is where an exploit would start, so the bytes never reach a decoder in
 * the caller's process. A sandbox is a set of reused helper processes running modq-media-sandbox,
 * a separate small program started with exec (never a fork of the caller: nothing of the
 * caller's memory, descriptors or environment reaches it). Each helper starts libvips, then
 * confines itself: an address-space limit (RLIMIT_AS), a CPU-time limit per request
 * (RLIMIT_CPU), and a seccomp filter that allows no opening of files, no network and no exec.
 * Bytes and options go in over a socket pair; hashes and finished renditions come back, and
 * every figure and length of the answer is checked here before it is used (a helper that read
 * hostile bytes is untrusted). A helper that dies, misbehaves or passes the request's deadline
 * is killed and replaced: the cost is that one item (MODQ_BLUR_ERR_DECODER_CRASHED or
 * MODQ_BLUR_ERR_DECODE_TIMEOUT), never the caller.
 *
 * Threads: every function may be called from any thread. A call takes an idle helper and waits
 * while none is idle, so give a sandbox as many helpers as threads call it.
 */
#ifndef MODQ_SANDBOX_H
#define MODQ_SANDBOX_H

#include "modq_blur.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct modq_sandbox modq_sandbox;

#define MODQ_SANDBOX_MAX_HELPERS 64

typedef struct modq_sandbox_opts {
    const char *helper_path; /* the modq-media-sandbox executable; copied */
    int helpers;             /* 1 .. MODQ_SANDBOX_MAX_HELPERS */
    int64_t memory_bytes;    /* address space a helper may add after start-up; >= 16 MiB */
    int timeout_ms;          /* wall-clock deadline of one request, >= 10 */
    int cpu_seconds;         /* CPU time of one request (all of the helper's threads), >= 1 */
    int max_items;           /* a helper is replaced after this many items, >= 1 */
    int concurrency;         /* libvips threads per helper; 0: as many as this process's libvips
                                uses (VIPS_CONCURRENCY: helpers start with an empty environment) */
    int stderr_fd;           /* where helpers' stderr goes; -1: /dev/null */
} modq_sandbox_opts;

/*
 * Starts opts->helpers helpers and waits until each reports that it is confined, so a missing
 * program or a kernel without seccomp fails here, at start-up. On success *out is a new sandbox
 * owned by the caller (modq_sandbox_free). On failure errstr gets one line:
 * MODQ_BLUR_ERR_INVALID_ARG for bad options, MODQ_BLUR_ERR_SANDBOX when a helper did not start.
 */
modq_blur_result modq_sandbox_new(const modq_sandbox_opts *opts, modq_sandbox **out, char *errstr,
                                  size_t errstr_size);
/* Stops every helper (closing its socket, then SIGKILL) and frees sb (NULL is fine). No call on
 * sb may be running. */
void modq_sandbox_free(modq_sandbox *sb);

/*
 * modq_media_process in a helper: the same contract, results and media (compare them freely with
 * an in-process one), plus MODQ_BLUR_ERR_DECODER_CRASHED and MODQ_BLUR_ERR_DECODE_TIMEOUT for a
 * helper that failed on these bytes (it is replaced; the next call gets a fresh one) and
 * MODQ_BLUR_ERR_SANDBOX when no helper could be started. With MODQ_OPT_DEFER_RENDER the decoded
 * image stays in the helper, which stays reserved for this media until modq_media_render or
 * modq_media_release_image (or modq_media_free) is called on it: call one of them soon.
 */
modq_blur_result modq_sandbox_process(modq_sandbox *sb, const modq_media_opts *opts,
                                      const void *buf, size_t len, modq_media **out, char *errstr,
                                      size_t errstr_size);

/* Helpers started since modq_sandbox_new (replacements included), for metrics and tests. */
uint64_t modq_sandbox_spawned(modq_sandbox *sb);
/* CPU time (user + system, all threads) the idle helpers have used since they started, in
 * nanoseconds: helpers busy with a call, and retired ones, are not counted. For benchmarks, read
 * between calls. */
uint64_t modq_sandbox_cpu_ns(modq_sandbox *sb);

#ifdef __cplusplus
}
#endif

#endif /* MODQ_SANDBOX_H */
