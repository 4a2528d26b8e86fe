/*
 * pdq_index.c: exact PDQ lookups at Hamming distance <= 31 in banks of millions of hashes, by
 * multi-index hashing (Norouzi, Punjani, Fleet 2012). The 256 bits are cut into m chunks; if two
 * hashes differ in at most R bits, one chunk differs in at most floor(R / m) bits (pigeonhole),
 * so a probe looks up, per chunk, every value within that radius of its own chunk, and checks the
 * full distance of each hash found there. Nothing within R is ever missed: the buckets only
 * choose what is checked.
 *
 * m is chosen from the number of hashes: 16 chunks of 16 bits (radius 1 at R = 31) while the
 * buckets stay small, 11 chunks of 23-24 bits (radius 2) past 2^21 hashes, where 16-bit buckets
 * would hold hundreds of hashes each and checking them would cost more than the extra lookups
 * (bench/banks, p50 per probe: at 10 million, 12 chunks of 21-22 bits took 3.4 ms, 11 chunks
 * of 23-24 bits 1.3 ms; at 1 million, 12 wide chunks 0.80 ms, 16 narrow ones 0.71 ms).
 * A chunk's table has at most 2^k buckets, k about log2(n) and at most 23: a small bank gets
 * small tables, and a bucket then holds every value that shares the chunk's top k bits (more to
 * check, still exact).
 *
 * Memory per hash: the hash (32 bytes) plus one 4-byte position per chunk, plus the bucket
 * offsets: about 113 bytes at 10 million. The lookups are memory-bound (a cache miss per bucket
 * and per hash checked), so every step prefetches ahead.
 */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHUNKS 16
#define MAX_KBITS  23 /* a table of 2^23 buckets: 32 MiB */
#define AHEAD      8  /* prefetch distance, in buckets and in hashes */
/* Debian builds for baseline x86-64, where __builtin_popcountll is a library call: the checks
 * are compiled twice, once for the POPCNT instruction, chosen when the index is built on a CPU
 * that has it. Not target_clones: its ifunc resolver runs before the sanitizers' runtime is up,
 * and crashes a TSan build at load. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define POPCNT_VARIANT 1
#endif
/* Past this many hashes, 11 wider chunks beat 16 narrow ones. */
#define WIDE_FROM ((size_t)1 << 21)

typedef struct chunk {
    int start, width;   /* bit offset in the hash (0 = most significant bit of byte 0) and width */
    int kbits;          /* the table has 2^kbits buckets, keyed by the chunk's top kbits */
    uint32_t *start_of; /* 2^kbits + 1 offsets into pos */
    uint32_t *pos;      /* hash positions, grouped by bucket */
} chunk;

struct modq_pdq_index {
    uint8_t (*hash)[MODQ_PDQ_BYTES];
    size_t n, cap;
    bool built;
    bool popcnt; /* the CPU has POPCNT: check_hashes_popcnt */
    int nchunks;
    chunk chunks[MAX_CHUNKS];
};

modq_pdq_index *modq_pdq_index_new(void)
{
    return calloc(1, sizeof(modq_pdq_index));
}

void modq_pdq_index_free(modq_pdq_index *ix)
{
    if (ix == NULL) {
        return;
    }
    for (int c = 0; c < ix->nchunks; c++) {
        free(ix->chunks[c].start_of);
        free(ix->chunks[c].pos);
    }
    free(ix->hash);
    free(ix);
}

modq_blur_result modq_pdq_index_add(modq_pdq_index *ix, const uint8_t hash[MODQ_PDQ_BYTES])
{
    if (ix == NULL || hash == NULL || ix->built) {
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    if (ix->n >= MODQ_PDQ_INDEX_MAX) {
        return MODQ_BLUR_ERR_TOO_LARGE;
    }
    if (ix->n == ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 1024;
        void *v;
        if (cap > MODQ_PDQ_INDEX_MAX) {
            cap = MODQ_PDQ_INDEX_MAX;
        }
        if ((v = realloc(ix->hash, cap * MODQ_PDQ_BYTES)) == NULL) {
            return MODQ_BLUR_ERR_NOMEM;
        }
        ix->hash = v;
        ix->cap = cap;
    }
    memcpy(ix->hash[ix->n++], hash, MODQ_PDQ_BYTES);
    return MODQ_BLUR_OK;
}

size_t modq_pdq_index_count(const modq_pdq_index *ix)
{
    return ix ? ix->n : 0;
}

const uint8_t *modq_pdq_index_hash(const modq_pdq_index *ix, size_t pos)
{
    return ix && pos < ix->n ? ix->hash[pos] : NULL;
}

/* The width bits of h from bit start (most significant first), width <= 32. */
static uint32_t bits_of(const uint8_t *h, int start, int width)
{
    uint64_t v = 0;
    int first = start / 8, skip = start % 8;

    for (int i = 0; i < 5 && first + i < MODQ_PDQ_BYTES; i++) {
        v |= (uint64_t)h[first + i] << (32 - 8 * i);
    }
    return (uint32_t)((v << skip) >> (40 - width)) & (uint32_t)((UINT64_C(1) << width) - 1);
}

static uint32_t key_of(const chunk *c, const uint8_t *h)
{
    return bits_of(h, c->start, c->width) >> (c->width - c->kbits);
}

/* Counting sort of every position by its bucket: the keys once, then a count and a fill (keys
 * holds n entries of scratch). */
static modq_blur_result build_chunk(modq_pdq_index *ix, chunk *c, uint32_t *keys)
{
    size_t nb = (size_t)1 << c->kbits;

    c->start_of = calloc(nb + 1, sizeof(uint32_t));
    c->pos = malloc((ix->n ? ix->n : 1) * sizeof(uint32_t));
    if (c->start_of == NULL || c->pos == NULL) {
        return MODQ_BLUR_ERR_NOMEM;
    }
    for (size_t i = 0; i < ix->n; i++) {
        keys[i] = key_of(c, ix->hash[i]);
        c->start_of[keys[i] + 1]++;
    }
    for (size_t b = 0; b < nb; b++) {
        c->start_of[b + 1] += c->start_of[b];
    }
    /* start_of[b] is now bucket b's first slot; filling advances it to the next bucket's. */
    for (size_t i = 0; i < ix->n; i++) {
        c->pos[c->start_of[keys[i]]++] = (uint32_t)i;
    }
    memmove(c->start_of + 1, c->start_of, nb * sizeof(uint32_t));
    c->start_of[0] = 0;
    return MODQ_BLUR_OK;
}

modq_blur_result modq_pdq_index_build(modq_pdq_index *ix)
{
    return blur_pdq_index_build_as(ix, ix != NULL && ix->n >= WIDE_FROM);
}

modq_blur_result blur_pdq_index_build_as(modq_pdq_index *ix, bool wide)
{
    int kbits = 8, start = 0;
    uint32_t *keys;
    modq_blur_result r = MODQ_BLUR_OK;

    if (ix == NULL || ix->built) {
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    while (kbits < MAX_KBITS && ((size_t)1 << kbits) < ix->n) {
        kbits++;
    }
    ix->nchunks = wide ? 11 : 16;
    if ((keys = malloc((ix->n ? ix->n : 1) * sizeof(uint32_t))) == NULL) {
        return MODQ_BLUR_ERR_NOMEM;
    }
    for (int c = 0; c < ix->nchunks && r == MODQ_BLUR_OK; c++) {
        chunk *k = &ix->chunks[c];
        k->start = start;
        k->width = wide ? (c < 3 ? 24 : 23) : 16;
        k->kbits = kbits < k->width ? kbits : k->width;
        start += k->width;
        r = build_chunk(ix, k, keys); /* on failure, what was built is freed with the index */
    }
    free(keys);
    ix->built = r == MODQ_BLUR_OK;
#ifdef POPCNT_VARIANT
    ix->popcnt = __builtin_cpu_supports("popcnt");
#endif
    if (ix->built && ix->n > 0 && ix->n < ix->cap) {
        void *v = realloc(ix->hash, ix->n * MODQ_PDQ_BYTES); /* the doubling's spare room */
        if (v != NULL) {
            ix->hash = v;
            ix->cap = ix->n;
        }
    }
    return r;
}

size_t modq_pdq_index_bytes(const modq_pdq_index *ix)
{
    size_t b;

    if (ix == NULL) {
        return 0;
    }
    b = sizeof(*ix) + ix->cap * MODQ_PDQ_BYTES;
    for (int c = 0; c < ix->nchunks; c++) {
        b += (((size_t)1 << ix->chunks[c].kbits) + 1 + ix->n) * sizeof(uint32_t);
    }
    return b;
}

/* ---- Search -------------------------------------------------------------------------------- */

/* Every bucket a probe looks at, at most: 11 chunks, tables of <= MAX_KBITS bits, radius 2. */
#define MAX_KEYS (11 * (1 + MAX_KBITS + MAX_KBITS * (MAX_KBITS - 1) / 2))
_Static_assert(16 * (1 + 16) <= MAX_KEYS, "the narrow layout's buckets fit too");

typedef struct bucket {
    uint32_t lo, hi; /* first the key, then the range of positions it holds */
    int chunk;
} bucket;

typedef struct probe_ctx {
    const modq_pdq_index *ix;
    const uint8_t *probe;
    int radius;
    modq_pdq_index_fn fn;
    void *arg;
    bucket *b;
    size_t nb;
} probe_ctx;

/* Adds key and every key within radius bits of it below bit `from` (so each once) for chunk c. */
static void keys_near(probe_ctx *p, int c, uint32_t key, int from, int radius)
{
    const chunk *k = &p->ix->chunks[c];

    p->b[p->nb].lo = key;
    p->b[p->nb].chunk = c;
    p->nb++;
    __builtin_prefetch(&k->start_of[key]);
    if (radius == 0) {
        return;
    }
    for (int bit = from - 1; bit >= 0; bit--) {
        keys_near(p, c, key ^ (UINT32_C(1) << bit), bit, radius - 1);
    }
}

/* A place in the buckets' ranges, read in order across bucket boundaries. */
typedef struct cursor {
    size_t b;   /* bucket */
    uint32_t j; /* position in the chunk's pos array */
} cursor;

/* Moves c to the next hash of the ranges (or past the last bucket). */
static inline void advance(const probe_ctx *p, cursor *c)
{
    if (++c->j < p->b[c->b].hi) {
        return;
    }
    while (++c->b < p->nb && p->b[c->b].lo == p->b[c->b].hi) {
    }
    if (c->b < p->nb) {
        c->j = p->b[c->b].lo;
    }
}

static inline uint32_t pos_at(const probe_ctx *p, const cursor *c)
{
    return p->ix->chunks[p->b[c->b].chunk].pos[c->j];
}

/* The distance of every hash in the ranges to the probe. Buckets hold a few hashes each at scale,
 * so the prefetch runs AHEAD hashes ahead across buckets, not within one. Returns nonzero when
 * the callback asked to stop. Inlined into each variant below, compiled for its target. */
static inline __attribute__((always_inline)) int check_hashes(const probe_ctx *p)
{
    const uint8_t(*hash)[MODQ_PDQ_BYTES] = p->ix->hash;
    cursor at = {0, 0}, lead;
    uint64_t q[4];

    memcpy(q, p->probe, sizeof q);
    while (at.b < p->nb && p->b[at.b].lo == p->b[at.b].hi) {
        at.b++;
    }
    if (at.b == p->nb) {
        return 0;
    }
    at.j = p->b[at.b].lo;
    lead = at;
    for (int k = 0; k < AHEAD && lead.b < p->nb; k++) {
        __builtin_prefetch(hash[pos_at(p, &lead)]);
        advance(p, &lead);
    }
    while (at.b < p->nb) {
        uint32_t i = pos_at(p, &at);
        uint64_t h[4];
        int d;

        if (lead.b < p->nb) {
            __builtin_prefetch(hash[pos_at(p, &lead)]);
            advance(p, &lead);
        }
        memcpy(h, hash[i], sizeof h);
        d = __builtin_popcountll(h[0] ^ q[0]) + __builtin_popcountll(h[1] ^ q[1]) +
            __builtin_popcountll(h[2] ^ q[2]) + __builtin_popcountll(h[3] ^ q[3]);
        if (d <= p->radius && p->fn(p->arg, i, d) != 0) {
            return 1;
        }
        advance(p, &at);
    }
    return 0;
}

static int check_hashes_plain(const probe_ctx *p)
{
    return check_hashes(p);
}

#ifdef POPCNT_VARIANT
__attribute__((target("popcnt"))) static int check_hashes_popcnt(const probe_ctx *p)
{
    return check_hashes(p);
}
#endif

/* One variant of the probe: its buckets (prefetched as they are listed), their ranges (the
 * positions prefetched likewise), then the hashes in them. */
static int search_one(probe_ctx *p)
{
    const modq_pdq_index *ix = p->ix;
    int per_chunk = p->radius / ix->nchunks;

    p->nb = 0;
    for (int c = 0; c < ix->nchunks; c++) {
        const chunk *k = &ix->chunks[c];
        keys_near(p, c, key_of(k, p->probe), k->kbits, per_chunk < k->kbits ? per_chunk : k->kbits);
    }
    for (size_t i = 0; i < p->nb; i++) {
        const chunk *k = &ix->chunks[p->b[i].chunk];
        uint32_t key = p->b[i].lo;
        p->b[i].lo = k->start_of[key];
        p->b[i].hi = k->start_of[key + 1];
        __builtin_prefetch(&k->pos[p->b[i].lo]);
    }
#ifdef POPCNT_VARIANT
    if (ix->popcnt) {
        return check_hashes_popcnt(p);
    }
#endif
    return check_hashes_plain(p);
}

modq_blur_result modq_pdq_index_search(const modq_pdq_index *ix,
                                       const uint8_t (*probe)[MODQ_PDQ_BYTES], int nprobe,
                                       int radius, modq_pdq_index_fn fn, void *arg)
{
    probe_ctx p = {.ix = ix, .radius = radius, .fn = fn, .arg = arg};
    modq_blur_result r = MODQ_BLUR_OK;

    if (ix == NULL || !ix->built || probe == NULL || nprobe < 0 || fn == NULL || radius < 0 ||
        radius > MODQ_PDQ_INDEX_MAX_RADIUS) {
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    if (ix->n == 0 || nprobe == 0) {
        return MODQ_BLUR_OK;
    }
    /* Per call rather than on the stack: 24 KiB is more than a small thread stack should give. */
    if ((p.b = malloc(MAX_KEYS * sizeof(bucket))) == NULL) {
        return MODQ_BLUR_ERR_NOMEM;
    }
    for (int v = 0; v < nprobe; v++) {
        p.probe = probe[v];
        if (search_one(&p) != 0) {
            break;
        }
    }
    free(p.b);
    return r;
}
