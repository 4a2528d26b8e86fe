/*
 * sandbox_helper_test.c: the requests only the tests' build of the helper
 * (modq-media-sandbox-test) serves, so the tests can make a confined helper crash, hang, try
 * forbidden calls and lie in its replies, and see what the sandbox makes of it. Never built into
 * modq-media-sandbox.
 */
#define _GNU_SOURCE
#include "sandbox_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int modq_sandbox_test_serve(int fd, const sb_request *rq);
void modq_sandbox_test_bytes(const uint8_t *buf, size_t len);

void modq_sandbox_test_bytes(const uint8_t *buf, size_t len)
{
    if (len >= 15 && memcmp(buf, "modq-test:crash", 15) == 0) {
        abort();
    }
    if (len >= 14 && memcmp(buf, "modq-test:hang", 14) == 0) {
        for (;;) {
            nanosleep(&(struct timespec){1, 0}, NULL);
        }
    }
}

static int reply_result(int fd, int32_t result)
{
    sb_reply rp = {.magic = SB_MAGIC, .result = result};
    return sb_write_all(fd, &rp, sizeof rp);
}

/* Tries one forbidden call; returns 0 when it worked, else its errno (if it returns at all). */
static int try_syscall(uint32_t which)
{
    char prog[] = "true"; /* execve takes char *const[]: not a literal's bytes */
    char *const args[] = {prog, NULL}, *const env[] = {NULL};
    int fd = -1;

    errno = 0;
    switch (which) {
    case SB_SYS_OPEN:
        fd = openat(AT_FDCWD, "/etc/hostname", O_RDONLY);
        break;
    case SB_SYS_OPEN_WRITE:
        fd = openat(AT_FDCWD, "/tmp/modq-sandbox-escape", O_WRONLY | O_CREAT, 0600);
        break;
    case SB_SYS_SOCKET:
        fd = socket(AF_INET, SOCK_STREAM, 0);
        break;
    case SB_SYS_EXECVE:
        execve("/bin/true", args, env);
        return errno;
    default:
        return EINVAL;
    }
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    return errno;
}

static int lie(int fd, uint32_t how)
{
    sb_reply rp = {.magic = SB_MAGIC,
                   .width = 10,
                   .height = 10,
                   .frames = 1,
                   .display_w = 10,
                   .display_h = 10};
    sb_rendition rd = {.ladder = 0, .level = 0, .w = 10, .h = 10, .len = UINT64_C(1) << 40};

    switch (how) {
    case SB_LIE_HUGE_RENDITION:
        rp.nrend = 1;
        return sb_write_all(fd, &rp, sizeof rp) || sb_write_all(fd, &rd, sizeof rd) ? -1 : 0;
    case SB_LIE_BAD_RESULT:
        rp.result = 9999;
        return sb_write_all(fd, &rp, sizeof rp);
    case SB_LIE_BAD_SIZE:
        rp.nrend = 1;
        rp.width = -5;
        return sb_write_all(fd, &rp, sizeof rp);
    case SB_LIE_SHORT:
        if (sb_write_all(fd, &rp, sizeof rp / 2)) {
            return -1;
        }
        for (;;) {
            nanosleep(&(struct timespec){1, 0}, NULL);
        }
    default:
        return -1;
    }
}

int modq_sandbox_test_serve(int fd, const sb_request *rq)
{
    uint8_t payload[8] = {0};
    uint32_t word;
    uint64_t bytes;
    volatile uint64_t spin = 0;
    struct timespec nap = {1, 0};
    char *p;

    if (rq->len > sizeof payload || sb_read_all(fd, payload, rq->len)) {
        return -1;
    }
    memcpy(&word, payload, sizeof word);
    memcpy(&bytes, payload, sizeof bytes);
    switch (rq->kind) {
    case SB_TEST_CRASH:
        abort();
    case SB_TEST_SPIN:
        for (;;) {
            spin++;
        }
    case SB_TEST_SLEEP:
        for (;;) {
            nanosleep(&nap, NULL);
        }
    case SB_TEST_SYSCALL:
        return reply_result(fd, try_syscall(word));
    case SB_TEST_LIE:
        return lie(fd, word);
    case SB_TEST_ALLOC:
        if (!(p = malloc(bytes))) {
            return reply_result(fd, ENOMEM);
        }
        memset(p, 1, bytes);
        free(p);
        return reply_result(fd, 0);
    default:
        return -1;
    }
}
