/*
 * sandbox_wire.c: what both ends of the sandbox's socket share (private): the format names a
 * reply may name, and whole-message reads and writes on the helper's blocking descriptor.
 */
#include "sandbox_wire.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

const char *const sb_format_names[] = {"jpeg", "png", "webp", "gif", "tiff", "heif"};
const int sb_format_count = (int)(sizeof(sb_format_names) / sizeof(sb_format_names[0]));

int sb_format_index(const char *name)
{
    for (int i = 0; name && i < sb_format_count; i++)
        if (strcmp(sb_format_names[i], name) == 0)
            return i;
    return -1;
}

int sb_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int sb_read_all(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
