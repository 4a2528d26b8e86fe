/*
 * decided_near.c: decided media's PDQ hashes, searchable within a distance while decisions come
 * and go (decided_near.h). Two parts: a built index (blur's modq_pdq_index) and the RECENT_MAX
 * newest hashes in a list. A search looks in both; when the list is full, everything alive is
 * built into a new index and the list starts empty, so a rebuild costs O(n) once every
 * RECENT_MAX additions (at a million decided hashes, about 0.3 s every 4,096 decisions). A
 * removed hash leaves a hole (its owner NULL) that the next rebuild drops.
 */
#include "decided_near.h"

#include <stdlib.h>
#include <string.h>

#define RECENT_MAX 4096

struct near_set {
    near_moved_fn moved;
    modq_pdq_index *ix; /* NULL until the first rebuild */
    void **owners;      /* per position of ix; NULL once removed */
    size_t nbuilt, alive_built;
    uint8_t recent[RECENT_MAX][MODQ_PDQ_BYTES];
    void *recent_owner[RECENT_MAX]; /* NULL once removed */
    size_t nrecent, alive_recent;
};

/* Handles: a position in the index (>= 0), or -(slot + 1) in the recent list. */
static int64_t recent_handle(size_t slot)
{
    return -(int64_t)slot - 1;
}

near_set *near_new(near_moved_fn moved)
{
    near_set *n = calloc(1, sizeof(*n));

    if (n != NULL) {
        n->moved = moved;
    }
    return n;
}

void near_free(near_set *n)
{
    if (n != NULL) {
        modq_pdq_index_free(n->ix);
        free(n->owners);
        free(n);
    }
}

size_t near_count(const near_set *n)
{
    return n ? n->alive_built + n->alive_recent : 0;
}

/* Every alive hash into a new index; the list empties. -1 when out of memory (nothing changed). */
static int rebuild(near_set *n)
{
    modq_pdq_index *ix = modq_pdq_index_new();
    size_t total = n->alive_built + n->alive_recent, k = 0;
    void **owners = malloc((total ? total : 1) * sizeof(*owners));

    if (ix == NULL || owners == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < n->nbuilt + n->nrecent; i++) {
        bool built = i < n->nbuilt;
        void *who = built ? n->owners[i] : n->recent_owner[i - n->nbuilt];
        const uint8_t *h = built ? modq_pdq_index_hash(n->ix, i) : n->recent[i - n->nbuilt];
        if (who == NULL) {
            continue;
        }
        if (modq_pdq_index_add(ix, h) != MODQ_BLUR_OK) {
            goto fail;
        }
        owners[k++] = who;
    }
    if (modq_pdq_index_build(ix) != MODQ_BLUR_OK) {
        goto fail;
    }
    modq_pdq_index_free(n->ix);
    free(n->owners);
    n->ix = ix;
    n->owners = owners;
    n->nbuilt = n->alive_built = k;
    n->nrecent = n->alive_recent = 0;
    for (size_t i = 0; i < k; i++) {
        n->moved(owners[i], (int64_t)i);
    }
    return 0;
fail:
    modq_pdq_index_free(ix);
    free(owners);
    return -1;
}

int near_add(near_set *n, const uint8_t hash[MODQ_PDQ_BYTES], void *owner, int64_t *handle)
{
    *handle = NEAR_NONE;
    if (n->nrecent == RECENT_MAX && rebuild(n) != 0) {
        return -1;
    }
    memcpy(n->recent[n->nrecent], hash, MODQ_PDQ_BYTES);
    n->recent_owner[n->nrecent] = owner;
    *handle = recent_handle(n->nrecent);
    n->nrecent++;
    n->alive_recent++;
    return 0;
}

void near_remove(near_set *n, int64_t handle)
{
    if (n == NULL || handle == NEAR_NONE) {
        return;
    }
    if (handle >= 0 && (size_t)handle < n->nbuilt && n->owners[handle] != NULL) {
        n->owners[handle] = NULL;
        n->alive_built--;
    } else if (handle < 0 && (size_t)(-handle - 1) < n->nrecent &&
               n->recent_owner[-handle - 1] != NULL) {
        n->recent_owner[-handle - 1] = NULL;
        n->alive_recent--;
    }
}

typedef struct found_ctx {
    const near_set *n;
    near_found_fn fn;
    void *arg;
} found_ctx;

static int on_built(void *arg, size_t pos, int distance)
{
    found_ctx *f = arg;

    if (f->n->owners[pos] != NULL) {
        f->fn(f->arg, f->n->owners[pos], modq_pdq_index_hash(f->n->ix, pos), distance);
    }
    return 0;
}

void near_search(const near_set *n, const uint8_t (*probe)[MODQ_PDQ_BYTES], int max_distance,
                 near_found_fn fn, void *arg)
{
    found_ctx f = {n, fn, arg};

    if (n == NULL || max_distance < 0 || max_distance > MODQ_PDQ_INDEX_MAX_RADIUS) {
        return;
    }
    if (n->ix != NULL && n->alive_built > 0) {
        modq_pdq_index_search(n->ix, probe, MODQ_PDQ_DIHEDRAL, max_distance, on_built, &f);
    }
    for (size_t i = 0; i < n->nrecent; i++) {
        int d;
        if (n->recent_owner[i] == NULL) {
            continue;
        }
        d = modq_pdq_distance_dihedral(probe, n->recent[i]);
        if (d <= max_distance) {
            fn(arg, n->recent_owner[i], n->recent[i], d);
        }
    }
}
