/* offsets_testutil.h: helpers shared by the tests of worker/kafka/offsets.c. */
#ifndef MODQ_OFFSETS_TESTUTIL_H
#define MODQ_OFFSETS_TESTUTIL_H

#include "kafka/offsets.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CAP 3000 /* the cap the worker will use: well below the broker's 4096 */

static inline uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static inline uint64_t rnd(uint64_t *s, uint64_t n)
{
    return splitmix64(s) % n;
}

static inline uint64_t test_seed(void)
{
    uint64_t seed = UINT64_C(20261123);
    const char *env = getenv("MODQ_TEST_SEED");
    if (env != NULL && env[0] != '\0') {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(env, &end, 0);
        assert_true(errno == 0 && end != env && *end == '\0');
        seed = v;
    }
    return seed;
}

static inline modq_offsets *mk(int64_t committed, const char *md, size_t cap)
{
    modq_offsets *t = NULL;
    char err[256];
    modq_offsets_result r = modq_offsets_new(committed, md, cap, &t, err, sizeof err);
    if (r != MODQ_OFFSETS_OK) {
        fail_msg("modq_offsets_new: %s (%s)", modq_offsets_strerror(r), err);
    }
    assert_non_null(t);
    return t;
}

/* The commit point; md receives the metadata, whose length must respect the tracker's cap. */
static inline int64_t commit(const modq_offsets *t, char md[MODQ_OFFSETS_METADATA_BUF], size_t cap)
{
    int64_t off = -2;
    assert_int_equal(modq_offsets_commit_point(t, &off, md, MODQ_OFFSETS_METADATA_BUF),
                     MODQ_OFFSETS_OK);
    assert_true(strlen(md) <= cap);
    assert_int_equal(strlen(md), modq_offsets_metadata_len(t));
    return off;
}

#endif
