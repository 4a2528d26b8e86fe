/*
 * desk_lease.c: leases handed back in batches (see desk.h): those that ran out or whose item was
 * decided elsewhere (modq_desk_tick, from the worker loop), and all of them at drain
 * (modq_desk_release_all).
 *
 * Work that may touch many items runs in batches so that what each batch sends fits the outbox;
 * the lock is let go between batches and the sink is called then.
 */
#include "desk_impl.h"

/* Hands back leased items in batches: expired ones (tick) or all (release_all). Every lease is
 * some person's item, so the walk is over people, not the whole desk: the tick holds the lock
 * once a second, and a desk of thousands of items would make every request wait behind it. */
static size_t hand_back(modq_desk *d, int64_t now_ms, bool all)
{
    size_t n = 0;
    bool more = true;

    if (!d || !desk_time_ok(now_ms)) {
        return 0;
    }
    while (more) {
        desk_out o = {.n = 0};
        more = false;
        pthread_mutex_lock(&d->lock);
        for (desk_person *pr = d->newest; pr; pr = pr->older) {
            desk_item *it = pr->item;
            if (!it || (!all && !it->gone && now_ms < it->lease_until)) {
                continue;
            }
            if (desk_out_full(&o, DESK_OUT_ROOM)) {
                more = true;
                break;
            }
            if (!all && !it->gone) {
                d->leases_expired++;
            }
            desk_person_hand_back(d, &o, pr,
                                  all ? MODQ__V1__AUDIT_ACTION__AUDIT_ACTION_RELEASED
                                      : MODQ__V1__AUDIT_ACTION__AUDIT_ACTION_LEASE_EXPIRED,
                                  all ? "draining" : NULL, desk_person_time(pr, now_ms));
            n++;
        }
        pthread_mutex_unlock(&d->lock);
        desk_out_flush(d, &o);
    }
    return n;
}

size_t modq_desk_tick(modq_desk *d, int64_t now_ms)
{
    return hand_back(d, now_ms, false);
}

size_t modq_desk_release_all(modq_desk *d, int64_t now_ms)
{
    return hand_back(d, now_ms, true);
}
