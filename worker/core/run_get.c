/*
 * run_get.c: what the worker shows of itself to the service around it (run.h): counters,
 * readiness, the desk, the consumer and its topics. Any thread, unless run.h says otherwise.
 */
#include "run_impl.h"

#include <stdatomic.h>

#define LOAD(r, f) atomic_load_explicit(&(r)->n_##f, memory_order_relaxed)

void modq_run_counts(modq_run *r, modq_run_counters *out)
{
    if (r == NULL || out == NULL) {
        return;
    }
    *out = (modq_run_counters){
        .received = LOAD(r, received),
        .review = LOAD(r, review),
        .auto_decided = LOAD(r, auto_decided),
        .duplicate = LOAD(r, duplicate),
        .dead_letter = LOAD(r, dead_letter),
        .prepare_failed = LOAD(r, prepare_failed),
        .confirmed = LOAD(r, confirmed),
        .publish_failed = LOAD(r, publish_failed),
        .review_dropped = LOAD(r, review_dropped),
        .decided_evicted = LOAD(r, decided_evicted),
        .retried = LOAD(r, retried),
        .event_failed = LOAD(r, event_failed),
        .follow_bad = LOAD(r, follow_bad),
        .banks_reloaded = LOAD(r, banks_reloaded),
        .banks_failed = LOAD(r, banks_failed),
    };
    if (r->banks_lock_init) {
        pthread_rwlock_rdlock(&r->banks_lock);
        out->bank_hashes = modq_banks_count(r->banks);
        pthread_rwlock_unlock(&r->banks_lock);
    }
}

size_t modq_run_review_count(modq_run *r)
{
    modq_desk_counts c;
    if (r == NULL || r->desk == NULL) {
        return 0;
    }
    modq_desk_get_counts(r->desk, &c);
    return c.waiting + c.leased + c.escalations;
}

modq_desk *modq_run_desk(modq_run *r)
{
    return r ? r->desk : NULL;
}

int64_t modq_run_idle_ms(modq_run *r)
{
    return r ? r->clock(r->clock_arg) - atomic_load(&r->last_turn_ms) : 0;
}

bool modq_run_ready(modq_run *r)
{
    if (r == NULL || r->stop) {
        return false;
    }
    /* A desk is ready while it is the active one and Kafka confirms it: the Service then sends
     * people only there. */
    return r->role == MODQ_CONFIG_ROLE_DESK ? run_desk_serving(r) : atomic_load(&r->assigned_once);
}

modq_config_role modq_run_role(const modq_run *r)
{
    return r->role;
}

bool modq_run_paused(modq_run *r)
{
    return r != NULL && atomic_load(&r->paused);
}

modq_consume *modq_run_consumer(modq_run *r)
{
    return r ? r->consume : NULL;
}

const char *const *modq_run_topics(modq_run *r, size_t *n)
{
    *n = r ? r->ntopics : 0;
    return r ? r->topics : NULL;
}
