/*
 * desk.c: the review desk's items and queues, and what the worker loop calls (see desk.h).
 *
 * Items sit in one list per policy queue plus the two virtual ones, in arrival order, leased or
 * not; a chained table finds them by ticket id. Choosing the next item scans the lists (see
 * desk_review.c): the desk holds at most max_items, and a scan is cheaper than keeping an order
 * that depends on who asks (their categories, skills and what the policy allows them now).
 */
#include "modq_common.h"
#include "desk_impl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ID_BUCKETS_MAX (1u << 20)
#define PERSON_BUCKETS 16384

const char *modq_desk_strerror(modq_desk_result r)
{
    switch (r) {
    case MODQ_DESK_OK:
        return "success";
    case MODQ_DESK_ERR_INVALID_ARG:
        return "invalid argument";
    case MODQ_DESK_ERR_NOMEM:
        return "out of memory";
    case MODQ_DESK_ERR_NOT_FOUND:
        return "no such item";
    case MODQ_DESK_ERR_FORBIDDEN:
        return "not permitted for this person";
    case MODQ_DESK_ERR_DENIED:
        return "refused by the wellbeing policy";
    case MODQ_DESK_ERR_STATE:
        return "not possible in the current state";
    case MODQ_DESK_ERR_UNAVAILABLE:
        return "unavailable";
    case MODQ_DESK_ERR_FULL:
        return "the desk is full";
    case MODQ_DESK_ERR_UNKNOWN_QUEUE:
        return "unknown queue";
    case MODQ_DESK_ERR_PAUSED:
        return "paused: decisions cannot be published now";
    case MODQ_DESK_ERR_UNCONFIRMED:
        return "this desk is not confirmed as the active desk";
    case MODQ_DESK_RESULT_COUNT:
        break;
    }
    return "unknown result";
}

bool desk_time_ok(int64_t t)
{
    return t >= 0 && t <= MODQ_POLICY_TIME_MAX;
}

/* splitmix64: spreads a weak seed (a small number, a clock) over the whole state. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t desk_random(modq_desk *d)
{
    uint64_t x = d->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    d->rng = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* Ticket ids come from the flagging pipeline, not from someone choosing collisions. */
static size_t hash_str(const char *s, size_t buckets)
{
    return (size_t)(modq_hash_text(s) & (buckets - 1));
}

const char *desk_item_id(const desk_item *it)
{
    return it->p->ticket->ticket_id;
}

bool desk_item_excluded(const desk_item *it, const desk_person *pr)
{
    return it->lessee || it->unservable ||
           (it->escalated &&
            (strcmp(it->escalated_by, pr->id) == 0 ||
             (it->escalated_team[0] && strcmp(it->escalated_team, pr->team) != 0))) ||
           (it->qa && strcmp(it->decided_by, pr->id) == 0);
}

desk_item *desk_item_find(const modq_desk *d, const char *ticket_id)
{
    desk_item *it = d->by_id[hash_str(ticket_id, d->id_buckets)];
    while (it && strcmp(desk_item_id(it), ticket_id) != 0) {
        it = it->next_id;
    }
    return it;
}

/* Does a come before b in a list: higher priority, then older, then arrived first? */
static bool ranks_before(const desk_item *a, const desk_item *b)
{
    const Modq__V1__Ticket *ta = a->p->ticket, *tb = b->p->ticket;
    if (ta->priority != tb->priority) {
        return ta->priority > tb->priority;
    }
    if (ta->created_at_ms != tb->created_at_ms) {
        return ta->created_at_ms < tb->created_at_ms;
    }
    return a->seq < b->seq;
}

/*
 * Lists are kept in the order people get items (ranks_before), so that choosing the next item
 * stops at the first one a person may take instead of reading the whole desk under its lock.
 * New tickets are mostly the youngest: the walk from the tail is short.
 */
void desk_item_push(modq_desk *d, desk_item *it, size_t list)
{
    desk_list *l = &d->lists[list];
    desk_item *after = l->tail;

    while (after && ranks_before(it, after)) {
        after = after->prev;
    }
    it->list = list;
    it->prev = after;
    it->next = after ? after->next : l->head;
    if (it->next) {
        it->next->prev = it;
    } else {
        l->tail = it;
    }
    if (after) {
        after->next = it;
    } else {
        l->head = it;
    }
    l->count++;
    if (it->lessee) {
        l->leased++;
    }
    if (it->unservable) {
        l->unservable++;
    }
}

static void list_remove(modq_desk *d, desk_item *it)
{
    desk_list *l = &d->lists[it->list];
    if (it->prev) {
        it->prev->next = it->next;
    } else {
        l->head = it->next;
    }
    if (it->next) {
        it->next->prev = it->prev;
    } else {
        l->tail = it->prev;
    }
    it->prev = it->next = NULL;
    l->count--;
    if (it->lessee) {
        l->leased--;
    }
    if (it->unservable) {
        l->unservable--;
    }
}

void desk_item_move(modq_desk *d, desk_item *it, size_t list)
{
    list_remove(d, it);
    desk_item_push(d, it, list);
}

void desk_item_unlink(modq_desk *d, desk_item *it)
{
    desk_item **pp = &d->by_id[hash_str(desk_item_id(it), d->id_buckets)];
    while (*pp && *pp != it) {
        pp = &(*pp)->next_id;
    }
    if (*pp) {
        *pp = it->next_id;
    }
    it->next_id = NULL;
    list_remove(d, it);
    d->nitems--;
}

void desk_item_set_aside(modq_desk *d, desk_item *it)
{
    if (it->unservable) {
        return;
    }
    it->unservable = true;
    d->lists[it->list].unservable++;
}

void desk_item_free(desk_item *it, bool free_prepared)
{
    if (!it) {
        return;
    }
    if (free_prepared) {
        modq_prepared_free(it->p);
    }
    free(it->note);
    free(it);
}

void desk_person_free(desk_person *pr)
{
    free(pr->support_msg);
    modq_ledger_free(pr->ledger);
    modq_settings_free(pr->settings);
    free(pr);
}

modq_desk_result modq_desk_new(const modq_desk_opts *opts, modq_desk **out)
{
    modq_desk *d = NULL;
    modq_desk_result r = MODQ_DESK_ERR_INVALID_ARG;
    size_t wlen;

    if (!out) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (!opts || !opts->policy || !opts->sink.decision || !opts->sink.wellbeing ||
        !opts->sink.audit || !opts->sink.ledger || !opts->worker_id || opts->lease_ms <= 0 ||
        !(opts->qa_sample_rate >= 0.0 && opts->qa_sample_rate <= 1.0) || opts->max_items == 0) {
        goto out;
    }
    wlen = strlen(opts->worker_id);
    if (wlen == 0 || wlen >= sizeof(d->worker_id)) {
        goto out;
    }
    r = MODQ_DESK_ERR_NOMEM;
    if (!(d = calloc(1, sizeof(*d)))) {
        goto out;
    }
    d->policy = opts->policy;
    d->sole_writer = opts->sole_writer;
    d->decide_copies = opts->decide_copies;
    d->near_distance = opts->near_distance;
    d->confirmed = opts->confirmed;
    d->confirmed_arg = opts->confirmed_arg;
    d->sink = opts->sink;
    memcpy(d->worker_id, opts->worker_id, wlen + 1);
    d->lease_ms = opts->lease_ms;
    d->qa_rate = opts->qa_sample_rate;
    d->max_items = opts->max_items;
    d->nq = modq_policy_queue_count(opts->policy);
    d->id_buckets = 64;
    while (d->id_buckets < opts->max_items && d->id_buckets < ID_BUCKETS_MAX) {
        d->id_buckets <<= 1;
    }
    d->person_buckets = PERSON_BUCKETS;
    if (opts->seed) {
        d->rng = mix(opts->seed);
    } else {
        struct timespec a, b;
        clock_gettime(CLOCK_REALTIME, &a);
        clock_gettime(CLOCK_MONOTONIC, &b);
        d->rng = mix((uint64_t)a.tv_nsec ^ ((uint64_t)a.tv_sec << 30) ^ (uint64_t)b.tv_nsec ^
                     (uint64_t)(uintptr_t)d);
    }
    if (!d->rng) {
        d->rng = 0x9e3779b97f4a7c15ULL; /* xorshift never leaves zero */
    }
    d->lists = calloc(d->nq + DESK_VQ_COUNT, sizeof(*d->lists));
    d->checks = calloc(d->nq ? d->nq : 1, sizeof(*d->checks));
    d->by_id = calloc(d->id_buckets, sizeof(*d->by_id));
    d->by_person = calloc(d->person_buckets, sizeof(*d->by_person));
    d->dec = modq_decision_new();
    if (!d->lists || !d->checks || !d->by_id || !d->by_person || !d->dec) {
        goto out;
    }
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
        goto out;
    }
    *out = d;
    d = NULL;
    r = MODQ_DESK_OK;
out:
    if (d) {
        free(d->lists);
        free(d->checks);
        free(d->by_id);
        free(d->by_person);
        modq_decision_free(d->dec);
        free(d);
    }
    return r;
}

void modq_desk_free(modq_desk *d)
{
    if (!d) {
        return;
    }
    for (size_t l = 0; l < d->nq + DESK_VQ_COUNT; l++) {
        for (desk_item *it = d->lists[l].head, *next; it; it = next) {
            next = it->next;
            desk_item_free(it, true);
        }
    }
    for (desk_person *pr = d->newest, *next; pr; pr = next) {
        next = pr->older;
        desk_person_free(pr);
    }
    pthread_mutex_destroy(&d->lock);
    free(d->lists);
    free(d->checks);
    free(d->by_id);
    free(d->by_person);
    modq_decision_free(d->dec);
    free(d);
}

/* it takes p's escalation (note copied). 0, or -1 when out of memory. */
static int escalate_from(desk_item *it, const modq_prepared *p)
{
    char *note = NULL;

    if (p->escalation_note && p->escalation_note[0] && !(note = strdup(p->escalation_note))) {
        return -1;
    }
    free(it->note);
    it->note = note;
    it->escalated = true;
    snprintf(it->escalated_by, sizeof it->escalated_by, "%s", p->escalated_by);
    snprintf(it->escalated_team, sizeof it->escalated_team, "%s", p->escalated_team);
    return 0;
}

int modq_desk_take_escalation(modq_desk *d, const modq_prepared *p, const modq_desk_ref *ref,
                              modq_desk_ref *old)
{
    desk_item *it;
    int held = 0;

    if (!d || !p || !p->ticket || !ref || !old) {
        return 0;
    }
    pthread_mutex_lock(&d->lock);
    if ((it = desk_item_find(d, p->ticket->ticket_id)) != NULL && !it->qa) {
        held = 1;
        if (!it->escalated && escalate_from(it, p) == 0 && !it->lessee) {
            desk_item_move(d, it, d->nq + DESK_VQ_ESCALATIONS);
        }
        *old = it->has_ref ? it->ref : (modq_desk_ref){.topic = ""};
        it->ref = *ref;
        it->has_ref = true;
    }
    pthread_mutex_unlock(&d->lock);
    return held;
}

modq_desk_result modq_desk_add(modq_desk *d, modq_prepared *p, const modq_desk_ref *ref,
                               int64_t now_ms)
{
    modq_desk_result r = MODQ_DESK_ERR_INVALID_ARG;
    desk_item *it = NULL;
    size_t idlen, slot;

    (void)now_ms; /* arrival order is kept by sequence; the ticket carries its own age */
    if (!d || !p || !ref || p->kind != MODQ_PREPARED_REVIEW || !p->ticket || p->queue_index < 0 ||
        (size_t)p->queue_index >= d->nq || memchr(ref->topic, '\0', sizeof(ref->topic)) == NULL) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    idlen = strlen(p->ticket->ticket_id);
    if (idlen == 0 || idlen > MODQ_DECIDED_MAX_ID) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    if (!(it = calloc(1, sizeof(*it)))) {
        return MODQ_DESK_ERR_NOMEM;
    }
    it->p = p;
    it->ref = *ref;
    it->has_ref = true;
    it->qi = (size_t)p->queue_index;
    it->max_level = -1;
    it->first_shown_ms = -1;
    if (p->escalated && escalate_from(it, p) != 0) {
        desk_item_free(it, false);
        return MODQ_DESK_ERR_NOMEM;
    }
    pthread_mutex_lock(&d->lock);
    if (desk_item_find(d, p->ticket->ticket_id)) {
        r = MODQ_DESK_ERR_INVALID_ARG;
    } else if (d->nitems >= d->max_items) {
        r = MODQ_DESK_ERR_FULL;
    } else {
        it->seq = d->seq++;
        slot = hash_str(p->ticket->ticket_id, d->id_buckets);
        it->next_id = d->by_id[slot];
        d->by_id[slot] = it;
        desk_item_push(d, it, it->escalated ? d->nq + DESK_VQ_ESCALATIONS : it->qi);
        d->nitems++;
        it = NULL;
        r = MODQ_DESK_OK;
    }
    pthread_mutex_unlock(&d->lock);
    desk_item_free(it, false); /* refused: p stays the caller's */
    return r;
}

/* Drops the items of (topic, partition): all of them, or (everything false) those neither
 * leased nor escalated. */
static size_t drop_items(modq_desk *d, const char *topic, int32_t partition, bool everything)
{
    desk_item *gone = NULL;
    size_t n = 0;

    if (!d || !topic) {
        return 0;
    }
    pthread_mutex_lock(&d->lock);
    for (size_t l = 0; l < d->nq + DESK_VQ_COUNT; l++) {
        for (desk_item *it = d->lists[l].head, *next; it; it = next) {
            next = it->next;
            /* Leased and escalated items stay: a person holds the one, a lead's note and the
             * escalation exist nowhere else for the other. */
            if (!it->has_ref || (!everything && (it->lessee || it->escalated)) ||
                it->ref.partition != partition || strcmp(it->ref.topic, topic) != 0) {
                continue;
            }
            desk_item_unlink(d, it);
            it->next = gone;
            gone = it;
            n++;
        }
    }
    pthread_mutex_unlock(&d->lock);
    while (gone) { /* freed outside the lock: renditions can be large */
        desk_item *next = gone->next;
        desk_item_free(gone, true);
        gone = next;
    }
    return n;
}

size_t modq_desk_drop_partition(modq_desk *d, const char *topic, int32_t partition)
{
    return drop_items(d, topic, partition, false);
}

size_t modq_desk_hand_over(modq_desk *d, const char *topic, int32_t partition, int64_t now_ms)
{
    size_t n;

    (void)modq_desk_release_all(d, now_ms);
    n = drop_items(d, topic, partition, true);
    /* A standby again: the next desk writes the ledgers, and this one follows them. */
    pthread_mutex_lock(&d->lock);
    for (desk_person *pr = d->newest; pr; pr = pr->older) {
        pr->written_here = false;
    }
    pthread_mutex_unlock(&d->lock);
    return n;
}

int modq_desk_holds(modq_desk *d, const char *ticket_id, modq_desk_ref *ref)
{
    desk_item *it;
    int held;

    if (!d || !ticket_id) {
        return 0;
    }
    pthread_mutex_lock(&d->lock);
    it = desk_item_find(d, ticket_id);
    held = it != NULL;
    if (it && ref) {
        if (it->has_ref) {
            *ref = it->ref;
        } else {
            memset(ref, 0, sizeof *ref);
        }
    }
    pthread_mutex_unlock(&d->lock);
    return held;
}

int modq_desk_forget_ticket(modq_desk *d, const char *ticket_id, modq_desk_ref *ref)
{
    desk_item *it;
    int held = 0;

    if (!d || !ticket_id) {
        return 0;
    }
    pthread_mutex_lock(&d->lock);
    it = desk_item_find(d, ticket_id);
    /* A QA copy is a ticket this desk decided itself: its own decision read back must not end
     * the second review. */
    if (it && !it->qa) {
        held = 1;
        if (ref) {
            *ref = it->ref;
        }
        if (it->lessee) {
            /* Still on someone's screen: it leaves the id table now (the lessee gets NOT_FOUND)
             * and the desk at their next call or tick, which knows the time it left the screen. */
            desk_item **pp = &d->by_id[hash_str(ticket_id, d->id_buckets)];
            while (*pp != it) {
                pp = &(*pp)->next_id;
            }
            *pp = it->next_id;
            it->next_id = NULL;
            it->gone = true;
            it->has_ref = false;
            it = NULL;
        } else {
            desk_item_unlink(d, it);
        }
    } else {
        it = NULL;
    }
    pthread_mutex_unlock(&d->lock);
    desk_item_free(it, true);
    return held;
}

void modq_desk_close(modq_desk *d)
{
    if (!d) {
        return;
    }
    pthread_mutex_lock(&d->lock);
    d->closed = true;
    pthread_mutex_unlock(&d->lock);
}

void modq_desk_set_paused(modq_desk *d, bool paused)
{
    if (!d) {
        return;
    }
    pthread_mutex_lock(&d->lock);
    d->paused = paused;
    pthread_mutex_unlock(&d->lock);
}

void modq_desk_get_counts(modq_desk *d, modq_desk_counts *out)
{
    if (!out) {
        return;
    }
    memset(out, 0, sizeof(*out));
    if (!d) {
        return;
    }
    pthread_mutex_lock(&d->lock);
    for (size_t l = 0; l < d->nq; l++) {
        out->waiting += d->lists[l].count - d->lists[l].leased - d->lists[l].unservable;
    }
    for (size_t l = 0; l < d->nq + DESK_VQ_COUNT; l++) {
        out->leased += d->lists[l].leased;
        out->unservable += d->lists[l].unservable;
    }
    out->escalations = d->lists[d->nq + DESK_VQ_ESCALATIONS].count;
    out->qa = d->lists[d->nq + DESK_VQ_QA].count;
    out->associates = d->npersons;
    for (const desk_person *pr = d->newest; pr; pr = pr->older) {
        out->near_cap += pr->near_cap;
        out->on_break += modq_ledger_on_break(pr->ledger);
    }
    memcpy(out->reveals, d->reveals, sizeof(out->reveals));
    memcpy(out->denials, d->denials, sizeof(out->denials));
    memcpy(out->decisions, d->decisions, sizeof(out->decisions));
    out->leases_expired = d->leases_expired;
    out->copies_decided = d->copies_decided;
    pthread_mutex_unlock(&d->lock);
}

size_t modq_desk_waiting(modq_desk *d, size_t qi)
{
    size_t n = 0;
    if (!d || qi >= d->nq) {
        return 0;
    }
    pthread_mutex_lock(&d->lock);
    n = d->lists[qi].count - d->lists[qi].leased - d->lists[qi].unservable;
    pthread_mutex_unlock(&d->lock);
    return n;
}
