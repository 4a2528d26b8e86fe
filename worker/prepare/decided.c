/*
 * decided.c: the set of decided tickets and media. Two chained hash tables (by ticket id, by
 * SHA-256) over one list of entries in arrival order, so expiry and eviction take the oldest
 * first in O(1) each. Decisions arrive roughly in time order (the decisions topic, then live),
 * so the arrival order is the age order that retention needs; an entry that arrives late with an
 * old timestamp is kept until it reaches the head, never forgotten early. Decided media's PDQ
 * hashes are kept beside them (decided_near.c), so that a re-encoded, resized or rotated copy is
 * recognised too.
 */
#include "modq_common.h"
#include "decided.h"
#include "decided_near.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    struct entry *older, *newer; /* arrival order */
    struct entry *next_id;       /* chain in the ticket table */
    struct entry *next_sha;      /* chain in the media table; unused without media */
    int has_sha;
    uint8_t sha256[32];
    int64_t near; /* its PDQ hash's handle in the near set, NEAR_NONE without one */
    int verdict;
    int64_t decided_at_ms;
    char id[MODQ_DECIDED_MAX_ID + 1];
    char labels[MODQ_DECIDED_MAX_LABELS + 1];
} entry;

struct modq_decided {
    entry *oldest, *newest;
    entry **by_id, **by_sha;
    near_set *near;
    size_t nbuckets, count, max_entries;
    int64_t retention_ms;
};

/* A rebuild of the near set moved e's hash. */
static void moved(void *owner, int64_t handle)
{
    ((entry *)owner)->near = handle;
}

modq_decided *modq_decided_new(size_t max_entries, int64_t retention_ms)
{
    modq_decided *d;

    if (max_entries == 0 || retention_ms <= 0 || !(d = calloc(1, sizeof(*d)))) {
        return NULL;
    }
    d->nbuckets = 1024;
    d->by_id = calloc(d->nbuckets, sizeof(*d->by_id));
    d->by_sha = calloc(d->nbuckets, sizeof(*d->by_sha));
    d->near = near_new(moved);
    if (!d->by_id || !d->by_sha || !d->near) {
        modq_decided_free(d);
        return NULL;
    }
    d->max_entries = max_entries;
    d->retention_ms = retention_ms;
    return d;
}

void modq_decided_free(modq_decided *d)
{
    if (!d) {
        return;
    }
    for (entry *e = d->oldest, *next; e; e = next) {
        next = e->newer;
        free(e);
    }
    free(d->by_id);
    free(d->by_sha);
    near_free(d->near);
    free(d);
}

size_t modq_decided_count(const modq_decided *d)
{
    return d ? d->count : 0;
}

static entry **id_slot(const modq_decided *d, const char *id)
{
    return &d->by_id[modq_hash_bytes(id, strlen(id)) & (d->nbuckets - 1)];
}

static entry **sha_slot(const modq_decided *d, const uint8_t *sha)
{
    return &d->by_sha[modq_hash_bytes(sha, 32) & (d->nbuckets - 1)];
}

static void unlink_chain(entry **slot, entry *e, int by_sha)
{
    for (entry **p = slot; *p; p = by_sha ? &(*p)->next_sha : &(*p)->next_id) {
        if (*p == e) {
            *p = by_sha ? e->next_sha : e->next_id;
            return;
        }
    }
}

static void drop_oldest(modq_decided *d)
{
    entry *e = d->oldest;

    unlink_chain(id_slot(d, e->id), e, 0);
    if (e->has_sha) {
        unlink_chain(sha_slot(d, e->sha256), e, 1);
    }
    near_remove(d->near, e->near);
    d->oldest = e->newer;
    if (d->oldest) {
        d->oldest->older = NULL;
    } else {
        d->newest = NULL;
    }
    d->count--;
    free(e);
}

/* Doubles both tables when the load passes 1; on allocation failure the chains just grow. */
static void maybe_grow(modq_decided *d)
{
    size_t n = d->nbuckets * 2;
    entry **id, **sha;

    if (d->count < d->nbuckets || n > ((size_t)1 << 30)) {
        return;
    }
    id = calloc(n, sizeof(*id));
    sha = calloc(n, sizeof(*sha));
    if (!id || !sha) {
        free(id);
        free(sha);
        return;
    }
    free(d->by_id);
    free(d->by_sha);
    d->by_id = id;
    d->by_sha = sha;
    d->nbuckets = n;
    /* Re-chain oldest first so that newer entries end up in front, as add() leaves them. */
    for (entry *e = d->oldest; e; e = e->newer) {
        entry **s = id_slot(d, e->id);
        e->next_id = *s;
        *s = e;
        if (e->has_sha) {
            s = sha_slot(d, e->sha256);
            e->next_sha = *s;
            *s = e;
        }
    }
}

int modq_decided_add(modq_decided *d, const char *ticket_id, const uint8_t *sha256,
                     const uint8_t *pdq, int verdict, const char *labels, int64_t decided_at_ms,
                     uint64_t *evicted)
{
    size_t n = ticket_id ? strlen(ticket_id) : 0;
    entry *e, **slot;

    if (!d || n == 0 || n > MODQ_DECIDED_MAX_ID || !(e = calloc(1, sizeof(*e)))) {
        return -1;
    }
    memcpy(e->id, ticket_id, n + 1);
    if (labels) {
        size_t k = strlen(labels);
        k = k > MODQ_DECIDED_MAX_LABELS ? MODQ_DECIDED_MAX_LABELS : k;
        memcpy(e->labels, labels, k);
    }
    e->verdict = verdict;
    e->decided_at_ms = decided_at_ms;
    e->near = NEAR_NONE;
    while (d->count >= d->max_entries) {
        drop_oldest(d);
        if (evicted) {
            (*evicted)++;
        }
    }
    maybe_grow(d);
    /* New entries go in front of their chains: lookups find the latest decision first. */
    slot = id_slot(d, e->id);
    e->next_id = *slot;
    *slot = e;
    if (sha256) {
        e->has_sha = 1;
        memcpy(e->sha256, sha256, 32);
        slot = sha_slot(d, e->sha256);
        e->next_sha = *slot;
        *slot = e;
    }
    if (pdq != NULL) {
        near_add(d->near, pdq, e, &e->near); /* out of memory: only exact copies are known */
    }
    e->older = d->newest;
    if (d->newest) {
        d->newest->newer = e;
    } else {
        d->oldest = e;
    }
    d->newest = e;
    d->count++;
    return 0;
}

int modq_decided_has_ticket(const modq_decided *d, const char *ticket_id)
{
    if (!d || !ticket_id) {
        return 0;
    }
    for (entry *e = *id_slot(d, ticket_id); e; e = e->next_id) {
        if (strcmp(e->id, ticket_id) == 0) {
            return 1;
        }
    }
    return 0;
}

int modq_decided_find_media(const modq_decided *d, const uint8_t *sha256, modq_decided_prior *out)
{
    if (!d || !sha256 || !out) {
        return 0;
    }
    for (entry *e = *sha_slot(d, sha256); e; e = e->next_sha) {
        if (memcmp(e->sha256, sha256, 32) == 0) {
            out->ticket_id = e->id;
            out->verdict = e->verdict;
            out->labels = e->labels;
            out->decided_at_ms = e->decided_at_ms;
            return 1;
        }
    }
    return 0;
}

size_t modq_decided_expire(modq_decided *d, int64_t now_ms)
{
    size_t n = 0;

    while (d && d->oldest && d->oldest->decided_at_ms < now_ms - d->retention_ms) {
        drop_oldest(d);
        n++;
    }
    return n;
}

/* The nearest entry found so far. */
typedef struct nearest {
    unsigned verdicts;
    const entry *e;
    const uint8_t *hash;
    int d;
} nearest;

static void keep_nearest(void *arg, void *owner, const uint8_t *hash, int distance)
{
    nearest *n = arg;
    const entry *e = owner;

    if (e->verdict < 0 || e->verdict >= 32 || !(n->verdicts & (1u << e->verdict))) {
        return;
    }
    if (n->e == NULL || distance < n->d ||
        (distance == n->d && e->decided_at_ms > n->e->decided_at_ms)) {
        n->e = e;
        n->hash = hash;
        n->d = distance;
    }
}

int modq_decided_find_near(const modq_decided *d, const uint8_t (*probe)[MODQ_PDQ_BYTES],
                           int max_distance, unsigned verdicts, modq_decided_prior *out,
                           int *distance, char hash_hex[MODQ_PDQ_HEX_LEN + 1])
{
    nearest n = {verdicts, NULL, NULL, 0};

    if (!d || !probe || !out || !distance) {
        return 0;
    }
    near_search(d->near, probe, max_distance, keep_nearest, &n);
    if (n.e == NULL) {
        return 0;
    }
    out->ticket_id = n.e->id;
    out->verdict = n.e->verdict;
    out->labels = n.e->labels;
    out->decided_at_ms = n.e->decided_at_ms;
    *distance = n.d;
    if (hash_hex != NULL) {
        modq_pdq_to_hex(n.hash, hash_hex);
    }
    return 1;
}

size_t modq_decided_near_count(const modq_decided *d)
{
    return d ? near_count(d->near) : 0;
}
