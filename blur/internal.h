/* internal.h: what the blur/ sources share beyond the public interface: libvips's error text, and
 * the project's common helpers (modq_common.h). */
#ifndef MODQ_BLUR_INTERNAL_H
#define MODQ_BLUR_INTERNAL_H

#include "modq_blur.h"
#include "modq_common.h"

#include <stddef.h>

/* Moves libvips's pending error text (first line) into errstr as "what: text" and clears it. */
void blur_vips_error(const char *what, char *errstr, size_t errstr_size);

#endif
