/*
 * sandbox_confine.h: how modq-media-sandbox confines itself once libvips is started (private to
 * that program): resource limits and the seccomp filter.
 */
#ifndef MODQ_BLUR_SANDBOX_CONFINE_H
#define MODQ_BLUR_SANDBOX_CONFINE_H

#include <stddef.h>
#include <stdint.h>

/*
 * No core files; an address space of what the process maps now plus memory_bytes (RLIMIT_AS, soft
 * and hard: what is already mapped, libraries and a sanitizer's shadow memory, is not the
 * decoder's to use); and a hard CPU-time limit for the helper's whole life (RLIMIT_CPU), room for
 * max_items requests of cpu_seconds each. 0, or -1 with err set.
 */
int sandbox_limit(int64_t memory_bytes, int cpu_seconds, int max_items, char *err, size_t err_size);
/* Moves the soft CPU-time limit to cpu_seconds past the CPU time used so far: the request
 * about to start gets SIGXCPU, which ends the helper, when it uses more. 0 or -1. */
int sandbox_cpu_arm(int cpu_seconds);
/*
 * Loads the seccomp filter on every thread of the process (and the threads started later):
 * opening files fails with EACCES (libraries that look for an optional file carry on without it),
 * and any system call outside the allow-list (sockets, exec, ptrace, kill of another process,
 * ...) ends the process with SIGSYS. 0, or -1 with err set.
 */
int sandbox_seccomp(char *err, size_t err_size);

#endif
