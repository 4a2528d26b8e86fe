/*
 * decided_near.h: the PDQ hashes of decided media, for near-duplicates (private to decided.c).
 * A set that grows one decision at a time and loses entries as they expire, over blur's PDQ
 * index, which is built once: the newest hashes wait in a small list that is scanned, and when
 * it is full everything alive is built into a new index. Not thread-safe (as decided.c).
 */
#ifndef MODQ_WORKER_DECIDED_NEAR_H
#define MODQ_WORKER_DECIDED_NEAR_H

#include "modq_blur.h"

#include <stddef.h>
#include <stdint.h>

#define NEAR_NONE INT64_MIN /* a handle that names no hash */

typedef struct near_set near_set;

/* Told, for every hash a rebuild moves, its owner and new handle. */
typedef void (*near_moved_fn)(void *owner, int64_t handle);
/* Told every hash within the distance: its owner, hash and distance. */
typedef void (*near_found_fn)(void *arg, void *owner, const uint8_t *hash, int distance);

/* A new empty set (caller frees: near_free); NULL when out of memory. */
near_set *near_new(near_moved_fn moved);
void near_free(near_set *n);
/* Adds hash for owner; *handle names it for near_remove. -1 when out of memory (then nothing was
 * added). */
int near_add(near_set *n, const uint8_t hash[MODQ_PDQ_BYTES], void *owner, int64_t *handle);
/* Forgets the hash handle names (NEAR_NONE: nothing). */
void near_remove(near_set *n, int64_t handle);
/* Calls fn for every hash within max_distance (0..31) of one of the 8 probes. */
void near_search(const near_set *n, const uint8_t (*probe)[MODQ_PDQ_BYTES], int max_distance,
                 near_found_fn fn, void *arg);
/* Hashes held (alive). */
size_t near_count(const near_set *n);

#endif
