/*
 * modq_common.h: the public interface of libmodq_common, the small helpers that blur/, policy/
 * and worker/ share instead of each keeping a copy: the caller's error text, a whole-string
 * decimal integer, the monotonic and wall clocks in milliseconds, and capped doubling growth of an
 * array. No state, no logging; every function is safe from any thread.
 */
#ifndef MODQ_COMMON_H
#define MODQ_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The compiler checks a printf-like function's format against its arguments where it can. */
#if defined(__GNUC__) || defined(__clang__)
#define MODQ_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define MODQ_PRINTF(fmt_index, first_arg)
#endif

/* The one result type of this library (only modq_array_grow has more than one way to fail). */
typedef enum modq_common_result {
    MODQ_COMMON_OK = 0,
    MODQ_COMMON_ERR_FULL,  /* the hard cap, or the size in bytes, would be exceeded */
    MODQ_COMMON_ERR_NOMEM, /* allocation failed */
    MODQ_COMMON_RESULT_COUNT
} modq_common_result;

/* A static English description of r; never NULL. */
const char *modq_common_strerror(modq_common_result r);

/* Frees p through fn (which must accept NULL) and sets it to NULL, so that a second cleanup path
 * cannot free it again; MODQ_FREE_NULL(p) is the same with free. */
#define MODQ_FREE_NULL_WITH(fn, p)                                                                 \
    do {                                                                                           \
        fn(p);                                                                                     \
        (p) = NULL;                                                                                \
    } while (0)
#define MODQ_FREE_NULL(p) MODQ_FREE_NULL_WITH(free, p)

/* Text for a protobuf-c message field: the generated structs declare strings char * although
 * packing only reads them, so read-only text (literals, a policy's names) goes in through this
 * one cast rather than a copy. Never for a field that anything writes through. */
#define MODQ_UNCONST(p) ((char *)(uintptr_t)(p))

/*
 * Formats into the caller's error buffer of errstr_size bytes, always NUL-terminated, cut short
 * when it does not fit. errstr may be NULL or errstr_size 0: the caller did not want the text,
 * and nothing is written.
 */
void modq_errstr_set(char *errstr, size_t errstr_size, const char *fmt, ...) MODQ_PRINTF(3, 4);
/* The same with a va_list, for functions that take a format of their own; ap is consumed. */
void modq_errstr_vset(char *errstr, size_t errstr_size, const char *fmt, va_list ap)
    MODQ_PRINTF(3, 0);

/*
 * Reads s as one base-10 integer in [min, max]: an optional sign and at least one digit, and
 * nothing else (no white space either side, no trailing text). False when s is NULL, empty,
 * malformed, beyond int64 or outside [min, max]; *out is then left alone. errno is unchanged.
 */
bool modq_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Milliseconds on CLOCK_MONOTONIC (for intervals and deadlines; 0 if the clock fails). */
int64_t modq_clock_mono_ms(void);
/* Milliseconds since the Unix epoch on CLOCK_REALTIME (for timestamps; 0 if the clock fails). */
int64_t modq_clock_wall_ms(void);

/* FNV-1a of n bytes at p, or of the text s up to its NUL: for in-memory tables whose keys nobody
 * picks to collide (ticket and person ids, digests). Not for anything an attacker keys. */
uint64_t modq_hash_bytes(const void *p, size_t n);
uint64_t modq_hash_text(const char *s);

/*
 * Makes room for need elements of elem bytes in the caller's array: *arrp is the array (a T *,
 * NULL or from malloc; arrp is its address, a T **) and *cap its capacity in elements. Nothing
 * happens when need <= *cap. Otherwise the capacity doubles (the first allocation holds
 * MODQ_GROW_FIRST elements), is raised to need if that is more and never passes max.
 *
 * Ownership: the array stays the caller's throughout (it frees it, even after a failure). On
 * MODQ_COMMON_OK *arrp may have moved and *cap is the new capacity; on ERR_FULL (need > max,
 * need * elem bytes beyond size_t, or elem 0) or ERR_NOMEM, *arrp and *cap are as they were.
 * MODQ_ARRAY_GROW(arrp, cap, need, max) passes sizeof **arrp for elem.
 */
#define MODQ_GROW_FIRST 64
modq_common_result modq_array_grow(void *arrp, size_t *cap, size_t need, size_t elem, size_t max);
#define MODQ_ARRAY_GROW(arrp, cap, need, max)                                                      \
    modq_array_grow((arrp), (cap), (need), sizeof **(arrp), (max))

#ifdef __cplusplus
}
#endif

#endif
