/* media_sandbox.h: modq-bench-media's sandbox of one helper (media_sandbox.c). */
#ifndef MODQ_BENCH_MEDIA_SANDBOX_H
#define MODQ_BENCH_MEDIA_SANDBOX_H

#include "modq_sandbox.h"

/*
 * A sandbox of one helper, single-threaded as modq-bench-media: helper is the program, or NULL
 * for modq-media-sandbox beside this one. Prints one "sandbox" line: how long the start took, in
 * wall and the helper's CPU time (a helper is replaced every sandbox.max_items items in the
 * worker, so its start is paid that rarely), or why it did not start. Caller owns the result
 * (modq_sandbox_free); NULL when it cannot start: the sandboxed job is then reported "na".
 */
modq_sandbox *bench_start_sandbox(const char *helper);

#endif
