/*
 * num.c: whole-string decimal integers. strtoll alone accepts leading white space, stops quietly
 * at trailing text and reports overflow only through errno; every caller had to remember all
 * three checks, so they live here once.
 */
#include "modq_common.h"

#include <errno.h>

bool modq_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    const char *digits = s;
    char *end = NULL;
    long long v;
    int saved = errno;
    bool ok;

    if (s == NULL) {
        return false;
    }
    if (*digits == '+' || *digits == '-') {
        digits++;
    }
    /* strtoll would skip white space and take "" as 0: a digit must come first. */
    if (*digits < '0' || *digits > '9') {
        return false;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    ok = errno == 0 && *end == '\0' && v >= min && v <= max;
    errno = saved;
    if (ok) {
        *out = (int64_t)v;
    }
    return ok;
}
