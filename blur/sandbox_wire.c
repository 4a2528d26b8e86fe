/*
 * sandbox_wire.c: what both ends of the sandbox's socket share (private): the format names a
 * reply may name, and whole-message reads and writes on the helper's blocking descriptor.
 */
#include "sandbox_wire.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

const char *const sb_format_names[] = {"jpeg", "png", "webp", "gif", "tiff", "heif"};
const int sb_format_count = (int)(sizeof(sb_format_names) / sizeof(sb_format_names[0]));

int sb_format_index(const char *name)
{
    for (int i = 0; name && i < sb_format_count; i++) {
        if (strcmp(sb_format_names[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

/* Moves all len bytes at p through fd (writing, or else reading), across short transfers and
 * EINTR; -1 on an error or end of file. */
static int transfer_all(int fd, uint8_t *p, size_t len, bool writing)
{
    while (len > 0) {
        ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int sb_write_all(int fd, const void *buf, size_t len)
{
    /* write() only reads the bytes: the cast serves the shared loop. */
    return transfer_all(fd, (uint8_t *)(uintptr_t)buf, len, true);
}

int sb_read_all(int fd, void *buf, size_t len)
{
    return transfer_all(fd, buf, len, false);
}
