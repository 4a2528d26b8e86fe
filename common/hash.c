/*
 * hash.c: FNV-1a, the hash of the in-memory tables keyed by ticket ids, person ids, digests and
 * commit metadata. Those keys come from the flagging pipeline and from tokens we verified, not
 * from someone choosing collisions, so a fast unkeyed hash serves.
 */
#include "modq_common.h"

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME  1099511628211ULL

uint64_t modq_hash_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = FNV_OFFSET;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * FNV_PRIME;
    }
    return h;
}

uint64_t modq_hash_text(const char *s)
{
    uint64_t h = FNV_OFFSET;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * FNV_PRIME;
    }
    return h;
}
