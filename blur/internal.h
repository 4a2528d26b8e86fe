/* internal.h: small helpers shared by the blur/ sources; not part of the public interface. */
#ifndef MODQ_BLUR_INTERNAL_H
#define MODQ_BLUR_INTERNAL_H

#include "modq_blur.h"

#include <stdio.h>

/* Frees *p through fn and sets it to NULL; fn must accept NULL. */
#define MODQ_FREE_AND_NULL(fn, p)                                                                  \
    do {                                                                                           \
        fn(p);                                                                                     \
        (p) = NULL;                                                                                \
    } while (0)

/* Writes "fmt..." into errstr when the caller gave one (NULL-safe). */
#define MODQ_ERRSTR(errstr, errstr_size, ...)                                                      \
    do {                                                                                           \
        if ((errstr) && (errstr_size) > 0)                                                         \
            snprintf((errstr), (errstr_size), __VA_ARGS__);                                        \
    } while (0)

#include <stddef.h>

/* Moves libvips's pending error text (first line) into errstr as "what: text" and clears it. */
void modq_blur_vips_error(const char *what, char *errstr, size_t errstr_size);

#endif
