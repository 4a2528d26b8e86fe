/*
 * run_review.c: the in-memory review store of the worker loop (see run.h). A stand-in until the
 * review API: items wait here, their offsets in flight, until their partition is revoked or the
 * worker stops.
 */
#include "run_impl.h"

#include <stdlib.h>
#include <string.h>

int modq_run_review_init(modq_run_review *s, size_t nqueues, size_t cap)
{
    memset(s, 0, sizeof *s);
    if (nqueues == 0 || pthread_mutex_init(&s->lock, NULL) != 0)
        return -1;
    s->heads = calloc(nqueues, sizeof *s->heads);
    if (s->heads == NULL) {
        pthread_mutex_destroy(&s->lock);
        return -1;
    }
    s->nqueues = nqueues;
    s->cap = cap;
    return 0;
}

void modq_run_review_fini(modq_run_review *s)
{
    if (s->heads == NULL)
        return;
    for (size_t q = 0; q < s->nqueues; q++) {
        modq_run_review_item *it = s->heads[q];
        while (it != NULL) {
            modq_run_review_item *next = it->next;
            modq_prepared_free(it->p);
            free(it);
            it = next;
        }
    }
    free(s->heads);
    s->heads = NULL;
    pthread_mutex_destroy(&s->lock);
}

int modq_run_review_add(modq_run_review *s, modq_prepared *p, const char *topic, int32_t partition,
                        int64_t offset)
{
    modq_run_review_item *it;
    size_t tlen = strlen(topic);
    int rc = -1;

    if (p->queue_index < 0 || (size_t)p->queue_index >= s->nqueues || tlen >= MODQ_RUN_TOPIC_MAX)
        return -1;
    it = calloc(1, sizeof *it);
    if (it == NULL)
        return -1;
    memcpy(it->topic, topic, tlen + 1);
    it->partition = partition;
    it->offset = offset;
    it->p = p;
    pthread_mutex_lock(&s->lock);
    if (s->count < s->cap) {
        it->next = s->heads[p->queue_index];
        s->heads[p->queue_index] = it;
        s->count++;
        rc = 0;
    }
    pthread_mutex_unlock(&s->lock);
    if (rc != 0)
        free(it); /* not p: the caller keeps it */
    return rc;
}

size_t modq_run_review_drop_partition(modq_run_review *s, const char *topic, int32_t partition)
{
    modq_run_review_item *gone = NULL;
    size_t n = 0;

    pthread_mutex_lock(&s->lock);
    for (size_t q = 0; q < s->nqueues; q++) {
        modq_run_review_item **pp = &s->heads[q];
        while (*pp != NULL) {
            modq_run_review_item *it = *pp;
            if (it->partition == partition && strcmp(it->topic, topic) == 0) {
                *pp = it->next;
                it->next = gone;
                gone = it;
                s->count--;
                n++;
            } else {
                pp = &it->next;
            }
        }
    }
    pthread_mutex_unlock(&s->lock);
    while (gone != NULL) { /* freed outside the lock */
        modq_run_review_item *next = gone->next;
        modq_prepared_free(gone->p);
        free(gone);
        gone = next;
    }
    return n;
}

size_t modq_run_review_size(modq_run_review *s)
{
    size_t n;
    pthread_mutex_lock(&s->lock);
    n = s->count;
    pthread_mutex_unlock(&s->lock);
    return n;
}
