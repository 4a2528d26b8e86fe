/* internal.h: what the blur/ sources share beyond the public interface: libvips's error text, and
 * the project's common helpers (modq_common.h). */
#ifndef MODQ_BLUR_INTERNAL_H
#define MODQ_BLUR_INTERNAL_H

#include "modq_blur.h"
#include "modq_common.h"

#include <stddef.h>

/* Moves libvips's pending error text (first line) into errstr as "what: text" and clears it. */
void blur_vips_error(const char *what, char *errstr, size_t errstr_size);

/* modq_pdq_index_build with the layout chosen: 11 wide chunks or 16 narrow ones (the public
 * call chooses by the number of hashes; tests check both on small indexes). */
modq_blur_result blur_pdq_index_build_as(modq_pdq_index *ix, bool wide);

#endif
