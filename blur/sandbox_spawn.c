/*
 * sandbox_spawn.c: one helper's process (private to the sandbox): started with posix_spawn of a
 * separate program (never a fork of the caller, whose memory holds credentials), with an empty
 * environment, default signal handling, its own process group and no descriptor but its socket;
 * stopped with SIGKILL and waited for; and talked to under a deadline.
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addclosefrom_np, sigabbrev_np */
#include "sandbox_impl.h"
#include "modq_common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* A helper starting libvips under a sanitizer on a busy machine takes a while. */
#define START_MS 30000

sb_io sb_xfer(int fd, void *buf, size_t len, bool out, int64_t deadline_ms)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = out ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            return SB_IO_CLOSED;
        }
        int64_t left = deadline_ms - modq_clock_mono_ms();
        if (left <= 0) {
            return SB_IO_LATE;
        }
        struct pollfd pfd = {.fd = fd, .events = out ? POLLOUT : POLLIN};
        if (poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left) < 0 && errno != EINTR) {
            return SB_IO_CLOSED;
        }
    }
    return SB_IO_OK;
}

/* The spawn's descriptors: 0 and 1 /dev/null, 2 the caller's choice, SB_FD the socket. */
static int file_actions(posix_spawn_file_actions_t *fa, int child_fd, int stderr_fd)
{
    int rc = posix_spawn_file_actions_init(fa);

    if (rc) {
        return rc;
    }
    rc = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
    if (!rc) {
        rc = posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY, 0);
    }
    if (!rc) {
        rc = stderr_fd >= 0 ? posix_spawn_file_actions_adddup2(fa, stderr_fd, 2)
                            : posix_spawn_file_actions_addopen(fa, 2, "/dev/null", O_WRONLY, 0);
    }
    if (!rc) {
        rc = posix_spawn_file_actions_adddup2(fa, child_fd, SB_FD);
    }
    if (!rc) {
        rc = posix_spawn_file_actions_addclosefrom_np(fa, SB_FD + 1);
    }
    if (rc) {
        posix_spawn_file_actions_destroy(fa);
    }
    return rc;
}

/* Default handlers and no blocked signals (the caller's threads may block some), and a process
 * group of its own, so a terminal's Ctrl-C reaches the worker, which then stops its helpers. */
static int spawn_attrs(posix_spawnattr_t *at)
{
    sigset_t none, all;
    int rc = posix_spawnattr_init(at);

    sigemptyset(&none);
    sigfillset(&all);
    if (!rc) {
        rc = posix_spawnattr_setsigmask(at, &none);
    }
    if (!rc) {
        rc = posix_spawnattr_setsigdefault(at, &all);
    }
    if (!rc) {
        rc = posix_spawnattr_setpgroup(at, 0);
    }
    if (!rc) {
        rc = posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                              POSIX_SPAWN_SETPGROUP);
    }
    return rc;
}

/* Runs the program with child_fd as its socket; *pid on success, else an errno. */
static int launch(const modq_sandbox *sb, int child_fd, pid_t *pid)
{
    char a_parent[24], a_mem[24], a_cpu[16], a_items[16], a_conc[16];
    char *argv[] = {sb->path, a_parent, a_mem, a_cpu, a_items, a_conc, NULL};
    char *envp[] = {NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int rc;

    snprintf(a_parent, sizeof a_parent, "%ld", (long)getpid());
    snprintf(a_mem, sizeof a_mem, "%lld", (long long)sb->o.memory_bytes);
    snprintf(a_cpu, sizeof a_cpu, "%d", sb->o.cpu_seconds);
    snprintf(a_items, sizeof a_items, "%d", sb->o.max_items);
    snprintf(a_conc, sizeof a_conc, "%d", sb->o.concurrency);
    if ((rc = file_actions(&fa, child_fd, sb->o.stderr_fd)) != 0) {
        return rc;
    }
    if ((rc = spawn_attrs(&at)) == 0) {
        rc = posix_spawn(pid, sb->path, &fa, &at, argv, envp);
        posix_spawnattr_destroy(&at);
    }
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

int sb_await(sb_helper *h, char *err, size_t err_size)
{
    char text[SB_ERR_MAX + 1] = "", how[SB_ERR_MAX + 64];
    int64_t deadline = modq_clock_mono_ms() + START_MS;
    sb_ready ready;
    sb_io io = sb_xfer(h->fd, &ready, sizeof ready, false, deadline);

    if (io == SB_IO_OK && ready.magic == SB_MAGIC && ready.version == SB_VERSION &&
        ready.pid == (int32_t)h->pid && ready.errlen == 0) {
        return 0;
    }
    /* Before it confined itself the helper had read nothing untrusted: its reason is shown. */
    if (io == SB_IO_OK && ready.magic == SB_MAGIC && ready.errlen > 0 &&
        ready.errlen <= SB_ERR_MAX &&
        sb_xfer(h->fd, text, ready.errlen, false, deadline) == SB_IO_OK) {
        for (uint32_t i = 0; i < ready.errlen; i++) {
            if (text[i] < 0x20 || text[i] > 0x7e) {
                text[i] = '?';
            }
        }
        text[ready.errlen] = '\0';
    }
    sb_stop(h, io == SB_IO_LATE, text[0] ? text : "no ready message", how, sizeof how);
    snprintf(err, err_size, "%s did not start: %s", h->sb->path, how);
    return -1;
}

int sb_spawn(sb_helper *h, char *err, size_t err_size)
{
    int sv[2] = {-1, -1}, rc;
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
        snprintf(err, err_size, "socketpair: %s", strerror(errno));
        return -1;
    }
    /* dup2 onto itself would keep close-on-exec: the helper would start without its socket. */
    if (sv[1] == SB_FD) {
        int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, SB_FD + 1);
        close(sv[1]);
        sv[1] = moved;
    }
    if (sv[1] < 0 || fcntl(sv[0], F_SETFL, O_NONBLOCK)) {
        snprintf(err, err_size, "socket set-up: %s", strerror(errno));
        goto fail;
    }
    if ((rc = launch(h->sb, sv[1], &pid)) != 0) {
        snprintf(err, err_size, "cannot start %s: %s", h->sb->path, strerror(rc));
        goto fail;
    }
    close(sv[1]);
    h->pid = pid;
    h->fd = sv[0];
    h->items = 0;
    return 0;
fail:
    close(sv[0]);
    if (sv[1] >= 0) {
        close(sv[1]);
    }
    return -1;
}

/* How the process ended, for a person. */
static void describe(int status, char *buf, size_t size)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *name = sigabbrev_np(sig);
        const char *why = sig == SIGSYS    ? " (a forbidden system call)"
                          : sig == SIGXCPU ? " (CPU-time limit)"
                          : sig == SIGKILL ? " (killed: deadline or a hard limit)"
                                           : "";
        snprintf(buf, size, "killed by SIG%s%s", name ? name : "?", why);
    } else if (WIFEXITED(status)) {
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
    } else {
        snprintf(buf, size, "ended (status %#x)", (unsigned)status);
    }
}

modq_blur_result sb_stop(sb_helper *h, bool timed_out, const char *why, char *errstr,
                         size_t errstr_size)
{
    char how[96] = "not running";
    int status = 0;
    pid_t w = -1;

    if (h->fd >= 0) {
        close(h->fd);
    }
    h->fd = -1;
    if (h->pid > 0) {
        kill(h->pid, SIGKILL);
        while ((w = waitpid(h->pid, &status, 0)) < 0 && errno == EINTR)
            ;
        if (w == h->pid) {
            describe(status, how, sizeof how);
        } else {
            snprintf(how, sizeof how, "lost (waitpid: %s)", strerror(errno));
        }
    }
    h->pid = 0;
    h->items = 0;
    modq_errstr_set(errstr, errstr_size, "%s: helper %s", why, how);
    if (timed_out || (w > 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)) {
        return MODQ_BLUR_ERR_DECODE_TIMEOUT;
    }
    return MODQ_BLUR_ERR_DECODER_CRASHED;
}

modq_blur_result sb_call(sb_helper *h, uint32_t kind, const modq_media_opts *opts,
                         const void *payload, size_t len, int64_t deadline_ms, sb_reply *rp,
                         char *errstr, size_t errstr_size)
{
    sb_request rq = {.magic = SB_MAGIC, .kind = kind, .len = len};
    sb_io io;

    for (int k = 0; opts && k < MODQ_OPT_COUNT; k++) {
        rq.opts[k] = modq_opts_get(opts, (modq_opt)k);
    }
    io = sb_xfer(h->fd, &rq, sizeof rq, true, deadline_ms);
    if (io == SB_IO_OK && len > 0) {
        io = sb_xfer(h->fd, (void *)(uintptr_t)payload, len, true, deadline_ms);
    }
    if (io == SB_IO_OK && kind != SB_RELEASE) {
        io = sb_xfer(h->fd, rp, sizeof *rp, false, deadline_ms);
    }
    if (io == SB_IO_OK) {
        return MODQ_BLUR_OK;
    }
    return sb_stop(h, io == SB_IO_LATE,
                   io == SB_IO_LATE ? "no answer before the deadline" : "no answer", errstr,
                   errstr_size);
}
