/*
 * pdq_testutil.h: random PDQ hashes for the tests of the PDQ index, the banks and the decided
 * set's near copies: the same hashes on every run (xorshift64*), and hashes a known distance
 * from another.
 */
#ifndef MODQ_TESTS_PDQ_TESTUTIL_H
#define MODQ_TESTS_PDQ_TESTUTIL_H

#include "modq_blur.h"

#include <stdint.h>
#include <string.h>

static inline uint64_t pt_rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static inline void pt_random_hash(uint64_t *s, uint8_t h[MODQ_PDQ_BYTES])
{
    for (int i = 0; i < MODQ_PDQ_BYTES; i += 8) {
        uint64_t v = pt_rnd(s);
        memcpy(h + i, &v, 8);
    }
}

/* h with exactly d distinct random bits flipped: at distance d from what it was. */
static inline void pt_flip_bits(uint64_t *s, uint8_t h[MODQ_PDQ_BYTES], int d)
{
    uint8_t done[256] = {0};

    for (int k = 0; k < d;) {
        int bit = (int)(pt_rnd(s) % 256);
        if (!done[bit]) {
            done[bit] = 1;
            h[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
            k++;
        }
    }
}

#endif
