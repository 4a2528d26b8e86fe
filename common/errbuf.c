/*
 * errbuf.c: the one way this project writes a message into a caller's (errstr, errstr_size)
 * buffer. A caller that does not want the text passes NULL or 0, so every writer must check
 * that first; doing it here keeps the check from being forgotten in one of many copies.
 */
#include "modq_common.h"

#include <stdio.h>

void modq_errstr_vset(char *errstr, size_t errstr_size, const char *fmt, va_list ap)
{
    if (errstr == NULL || errstr_size == 0) {
        return;
    }
    if (vsnprintf(errstr, errstr_size, fmt, ap) < 0) {
        errstr[0] = '\0'; /* an encoding error leaves the buffer unspecified */
    }
}

void modq_errstr_set(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    modq_errstr_vset(errstr, errstr_size, fmt, ap);
    va_end(ap);
}
