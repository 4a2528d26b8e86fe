/*
 * grow.c: capped doubling growth of an array, and this library's result texts. Doubling keeps
 * appends amortised O(1); the cap keeps a hostile or runaway producer from taking all memory, and
 * the size checks keep capacity * element size from wrapping around.
 */
#include "modq_common.h"

#include <string.h>

static const char *const result_text[MODQ_COMMON_RESULT_COUNT] = {
    [MODQ_COMMON_OK] = "ok",
    [MODQ_COMMON_ERR_FULL] = "capacity limit reached",
    [MODQ_COMMON_ERR_NOMEM] = "out of memory",
};

const char *modq_common_strerror(modq_common_result r)
{
    return (unsigned)r < MODQ_COMMON_RESULT_COUNT ? result_text[r] : "unknown result";
}

modq_common_result modq_array_grow(void *arrp, size_t *cap, size_t need, size_t elem, size_t max)
{
    void *old, *grown;
    size_t ncap;

    if (need <= *cap) {
        return MODQ_COMMON_OK;
    }
    if (elem == 0) {
        return MODQ_COMMON_ERR_FULL; /* a caller bug: no element fits in zero bytes */
    }
    if (max > SIZE_MAX / elem) {
        max = SIZE_MAX / elem; /* the bytes must fit a size_t too */
    }
    if (need > max) {
        return MODQ_COMMON_ERR_FULL;
    }
    ncap = *cap < MODQ_GROW_FIRST ? MODQ_GROW_FIRST : *cap > max / 2 ? max : *cap * 2;
    if (ncap < need) {
        ncap = need;
    }
    if (ncap > max) {
        ncap = max;
    }
    /* arrp holds a T *, not a void *: copied as bytes, which every POSIX object pointer allows,
     * rather than written through a void ** that would not be its type. */
    memcpy(&old, arrp, sizeof old);
    grown = realloc(old, ncap * elem);
    if (grown == NULL) {
        return MODQ_COMMON_ERR_NOMEM;
    }
    memcpy(arrp, &grown, sizeof grown);
    *cap = ncap;
    return MODQ_COMMON_OK;
}
