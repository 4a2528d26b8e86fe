/*
 * sandbox_confine.c: the limits and the seccomp filter modq-media-sandbox puts on itself after
 * libvips has started and before it reads a single untrusted byte.
 *
 * The allow-list was built by running every test image (tests/data, ../shared/testdata/pdq) of
 * every allowed format through a confined helper, in the Release and the sanitizer builds (the
 * sanitizers' runtime needs nothing more while no error is found; when one is, its report is
 * written to stderr before anything else fails). What is not listed ends the process with SIGSYS:
 * an exploit that reaches for a socket, exec, ptrace or another process's signal dies trying.
 * Path-based calls (open, stat, access, readlink) fail with EACCES instead: a library that probes
 * for an optional file then carries on without it, and nothing is opened either way.
 */
#define _GNU_SOURCE /* prlimit's RLIMIT constants and AT_EMPTY_PATH */
#include "sandbox_confine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Calls a decoder, its threads and the allocator make (see the top of this file). */
static const int allowed[] = {
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(readv),
    SCMP_SYS(writev),
    SCMP_SYS(close),
    SCMP_SYS(fstat),
    SCMP_SYS(lseek),
    SCMP_SYS(mmap),
    SCMP_SYS(munmap),
    SCMP_SYS(mprotect),
    SCMP_SYS(mremap),
    SCMP_SYS(madvise),
    SCMP_SYS(brk),
    SCMP_SYS(futex),
    SCMP_SYS(set_robust_list),
    SCMP_SYS(rseq),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(sigaltstack),
    SCMP_SYS(gettid),
    SCMP_SYS(getpid),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(sched_yield),
    SCMP_SYS(sched_getaffinity), /* GLib counts the CPUs for libvips's threads */
    SCMP_SYS(getrandom),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_getres),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep),
    SCMP_SYS(getrusage),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(sysinfo), /* sysconf(_SC_PHYS_PAGES), seen while loading TIFF */
};

/* Path-based calls: refused with EACCES rather than fatal (see the top of this file). */
static const int refused[] = {
    SCMP_SYS(open),      SCMP_SYS(openat),     SCMP_SYS(openat2),  SCMP_SYS(creat),
    SCMP_SYS(stat),      SCMP_SYS(lstat),      SCMP_SYS(statx),    SCMP_SYS(access),
    SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
};

int sandbox_limit(int64_t memory_bytes, int cpu_seconds, int max_items, char *err, size_t err_size)
{
    struct rlimit core = {0, 0}, as, cpu;
    unsigned long pages = 0;
    struct timespec used;
    FILE *f = fopen("/proc/self/statm", "r");
    int ok = f && fscanf(f, "%lu", &pages) == 1;

    if (f) {
        fclose(f);
    }
    if (!ok) {
        snprintf(err, err_size, "cannot read /proc/self/statm");
        return -1;
    }
    as.rlim_cur = as.rlim_max =
        (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (rlim_t)memory_bytes;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used);
    /* Each request ends before its own limit, and an item is at most two requests (process,
     * then render): max_items of them fit below this one. */
    cpu.rlim_cur = cpu.rlim_max =
        (rlim_t)used.tv_sec + 2 + (rlim_t)cpu_seconds * 2 * ((rlim_t)max_items + 1);
    if (setrlimit(RLIMIT_CORE, &core) || setrlimit(RLIMIT_AS, &as) || setrlimit(RLIMIT_CPU, &cpu)) {
        snprintf(err, err_size, "setrlimit: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int sandbox_cpu_arm(int cpu_seconds)
{
    struct rlimit cpu;
    struct timespec used;

    if (getrlimit(RLIMIT_CPU, &cpu) || clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used)) {
        return -1;
    }
    /* Whole seconds: round the time used up, so a request gets at least cpu_seconds. */
    cpu.rlim_cur = (rlim_t)used.tv_sec + 1 + (rlim_t)cpu_seconds;
    if (cpu.rlim_cur > cpu.rlim_max) {
        cpu.rlim_cur = cpu.rlim_max;
    }
    return setrlimit(RLIMIT_CPU, &cpu);
}

/* The first failure of call, an errno as a negative number. */
#define TRY(call)                                                                                  \
    do {                                                                                           \
        int e_ = (call);                                                                           \
        if (e_ != 0)                                                                               \
            return e_;                                                                             \
    } while (0)

/* The calls allowed only with some arguments. */
static int add_conditional(scmp_filter_ctx ctx)
{
    /* Threads, not processes: a clone must share the thread group. glibc tries clone3 first,
     * whose flags seccomp cannot read: ENOSYS sends it back to clone. */
    TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)));
    TRY(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0));
    /* Signals to this process only (abort() and raise() use tgkill). */
    TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                         SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid())));
    /* Reading limits, and moving the CPU-time limit before each request; never another's. */
    TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 2, SCMP_A0(SCMP_CMP_EQ, 0),
                         SCMP_A2(SCMP_CMP_EQ, 0)));
    TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 2, SCMP_A0(SCMP_CMP_EQ, 0),
                         SCMP_A1(SCMP_CMP_EQ, RLIMIT_CPU)));
    /* fstat() is fstatat(fd, "", AT_EMPTY_PATH) in glibc; with a path it is a stat: refused. */
    TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
                         SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH)));
    TRY(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(newfstatat), 1,
                         SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0)));
    /* GLib names its threads. */
    TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
                         SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME)));
    /* isatty() on stderr, from GLib's logging: "not a terminal". */
    TRY(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 0));
    return 0;
}

int sandbox_seccomp(char *err, size_t err_size)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    int rc = -1, e = 0;

    if (!ctx) {
        snprintf(err, err_size, "seccomp_init failed");
        return -1;
    }
    /* Every thread libvips has started already gets the filter too. */
    if ((e = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0) {
        goto out;
    }
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        if ((e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0)) != 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if ((e = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), refused[i], 0)) != 0) {
            goto out;
        }
    }
    if ((e = add_conditional(ctx)) != 0) {
        goto out;
    }
    if ((e = seccomp_load(ctx)) != 0) {
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        snprintf(err, err_size, "seccomp: %s", strerror(e < 0 ? -e : EINVAL));
    }
    seccomp_release(ctx);
    return rc;
}
