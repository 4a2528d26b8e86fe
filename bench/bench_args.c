/*
 * bench_args.c: the one number parser of the bench programs' command lines, so that every
 * option of modq-bench-media, modq-bench-pipeline and modq-bench-api refuses the same inputs
 * (trailing junk, out of range, overflow) the same way.
 */
#include "bench_args.h"

#include <errno.h>
#include <stdlib.h>

int bench_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}
