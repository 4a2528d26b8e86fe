/*
 * desk_review.c: what a person does with items: take the next one, then decide, escalate or
 * release it (how they see it, and reveal it more clearly: desk_view.c).
 *
 * An item is leased only after the policy allows it for that person at that instant, and its
 * first view is recorded in their ledger with the lease.
 */
#include "desk_impl.h"

#include <stdlib.h>
#include <string.h>

/* The desk gates the virtual queues by role itself; the item's own queue then only decides the
 * rules of exposure, skills and opt-outs, not who may take it. */
#define ROLE_ALL (MODQ_ROLE_ASSOCIATE | MODQ_ROLE_LEAD | MODQ_ROLE_QA)

/* Where next() looks: lists [first, last), any = every policy queue. */
typedef struct scope {
    size_t first, last;
    bool any, virtual_q;
} scope;

static modq_desk_result resolve(const modq_desk *d, unsigned roles, const char *queue, scope *s)
{
    bool esc = false;
    int qi;

    memset(s, 0, sizeof(*s));
    if (!queue) {
        s->last = d->nq;
        s->any = true;
    } else if ((esc = strcmp(queue, MODQ_DESK_QUEUE_ESCALATIONS) == 0) ||
               strcmp(queue, MODQ_DESK_QUEUE_QA) == 0) {
        /* The virtual names win over a policy queue of the same name. */
        if (!(roles & (esc ? MODQ_ROLE_LEAD : MODQ_ROLE_QA))) {
            return MODQ_DESK_ERR_FORBIDDEN;
        }
        s->first = d->nq + (esc ? DESK_VQ_ESCALATIONS : DESK_VQ_QA);
        s->last = s->first + 1;
        s->virtual_q = true;
    } else if ((qi = modq_policy_queue_find(d->policy, queue)) >= 0) {
        s->first = (size_t)qi;
        s->last = s->first + 1;
    } else {
        return MODQ_DESK_ERR_UNKNOWN_QUEUE;
    }
    return MODQ_DESK_OK;
}

/* modq_policy_check of queue qi for pr into d->dec. */
static bool check(modq_desk *d, desk_person *pr, size_t qi, bool virtual_q, int64_t t)
{
    modq_policy_result r;
    if (virtual_q) {
        modq_settings_set_roles(pr->settings, ROLE_ALL);
    }
    r = modq_policy_check(d->policy, pr->ledger, pr->settings, qi, t, d->dec);
    if (virtual_q) {
        modq_settings_set_roles(pr->settings, pr->roles);
    }
    return r == MODQ_POLICY_OK;
}

static const desk_check *check_cached(modq_desk *d, desk_person *pr, size_t qi, bool virtual_q,
                                      int64_t t)
{
    desk_check *c = &d->checks[qi];
    if (!c->done) {
        c->done = true;
        /* A check that cannot answer is no decision at all: MODQ_REASON_COUNT skips the queue. */
        c->reason = MODQ_REASON_COUNT;
        if (check(d, pr, qi, virtual_q, t)) {
            c->allowed = modq_decision_allowed(d->dec);
            c->reason = modq_decision_reason(d->dec);
            c->until = modq_decision_until_ms(d->dec);
        }
    }
    return c;
}

/* Is a a better next item than b for someone whose last item was of category last? */
static bool better(const modq_desk *d, const desk_item *a, const desk_item *b, const char *last)
{
    const Modq__V1__Ticket *ta = a->p->ticket, *tb;
    bool ra, rb;

    if (!b) {
        return true;
    }
    tb = b->p->ticket;
    if (ta->priority != tb->priority) {
        return ta->priority > tb->priority;
    }
    ra = strcmp(modq_policy_queue_category(d->policy, a->qi), last) != 0;
    rb = strcmp(modq_policy_queue_category(d->policy, b->qi), last) != 0;
    if (ra != rb) {
        return ra;
    }
    if (ta->created_at_ms != tb->created_at_ms) {
        return ta->created_at_ms < tb->created_at_ms;
    }
    return a->seq < b->seq;
}

/* The view a lease at t opens, as d->dec (an allowed check for the person) says. Every item opens
 * at the heaviest level, whatever its tier: no clearer pixel reaches a browser before the person
 * asks for it, so a harmful image filed under a mild category is not shown clear to someone who
 * did not expect it. The level the tier (or the person's own heavier default) would show is what
 * their first "show" opens at, and that is a reveal like any other: checked, counted and
 * audited. */
static desk_view lease_view(const modq_desk *d, int64_t t)
{
    int64_t until = modq_decision_until_ms(d->dec);
    desk_view v = {.level = MODQ_POLICY_LEVELS - 1,
                   .open_level = modq_decision_show_level(d->dec),
                   .policy_until = until > t ? until : t};

    v.lease_until = t + d->lease_ms < v.policy_until ? t + d->lease_ms : v.policy_until;
    return v;
}

/* Shows it to pr at t as v (lease_view) says: the ledger first, then the lease and the audit. */
static modq_desk_result lease(modq_desk *d, desk_out *o, desk_person *pr, desk_item *it,
                              const desk_view *v, int64_t t)
{
    bool had_shift = modq_ledger_shift_start(pr->ledger) >= 0;
    const char *cat = modq_policy_queue_category(d->policy, it->qi);
    modq_policy_result r;

    r = modq_ledger_show(pr->ledger, cat, modq_policy_queue_tier(d->policy, it->qi), v->level, t);
    if (r != MODQ_POLICY_OK) {
        return r == MODQ_POLICY_ERR_NOMEM ? MODQ_DESK_ERR_NOMEM : MODQ_DESK_ERR_STATE;
    }
    pr->dirty = true;
    it->lessee = pr;
    d->lists[it->list].leased++;
    pr->item = it;
    it->level = v->level;
    it->open_level = v->open_level;
    it->colour = false; /* modq_ledger_show records a greyscale view */
    it->shown_ms = t;
    it->policy_until = v->policy_until;
    it->lease_until = v->lease_until;
    if (it->first_shown_ms < 0) {
        it->first_shown_ms = t;
    }
    if (it->max_level < 0 || v->level < it->max_level) {
        it->max_level = v->level;
    }
    memcpy(pr->last_category, cat, strlen(cat) + 1);
    pr->last_denial = MODQ_REASON_NONE;
    desk_out_audit(d, o, pr, MODQ__V1__AUDIT_ACTION__AUDIT_ACTION_LEASED, it, v->level, false, NULL,
                   t);
    desk_out_audit(d, o, pr, MODQ__V1__AUDIT_ACTION__AUDIT_ACTION_SHOWN, it, v->level, false, NULL,
                   t);
    if (!had_shift) {
        desk_out_wellbeing(d, o, pr, MODQ__V1__WELLBEING_EVENT_TYPE__WELLBEING_EVENT_SHIFT_STARTED,
                           MODQ_REASON_NONE, 0, -1, NULL, t);
    }
    return MODQ_DESK_OK;
}

/* The best item of scope s that pr may take now (*best), or else the best refused one and why. */
static void choose(modq_desk *d, const modq_desk_who *who, desk_person *pr, const scope *s,
                   int64_t t, desk_item **best, desk_item **refused, modq_desk_denial *why)
{
    memset(d->checks, 0, d->nq * sizeof(*d->checks));
    for (size_t l = s->first; l < s->last; l++) {
        /* A policy queue's items share one category and one policy answer, and its list is in
         * rank order: the first item this person may take (or the first the policy refuses) is
         * the list's best, and the rest cannot beat it. Virtual queues mix categories: read whole.
         */
        bool ranked = l < d->nq;
        for (desk_item *it = d->lists[l].head; it; it = it->next) {
            modq_desk_denial no = {MODQ_REASON_SKILL, 0};
            const desk_check *c;
            bool eligible = false;
            if (desk_item_excluded(it, pr)) {
                continue;
            }
            if (desk_person_has_skills(who, it)) {
                eligible = true;
                c = check_cached(d, pr, it->qi, s->virtual_q, t);
                if (c->allowed) {
                    if (better(d, it, *best, pr->last_category)) {
                        *best = it;
                    }
                    if (ranked) {
                        break;
                    }
                    continue;
                }
                no = (modq_desk_denial){c->reason, c->until};
            }
            /* Asked for anything: queues this person may never take are not news to them. */
            if (no.reason != MODQ_REASON_COUNT &&
                !(s->any && (no.reason == MODQ_REASON_ROLE || no.reason == MODQ_REASON_SKILL ||
                             no.reason == MODQ_REASON_OPT_OUT)) &&
                better(d, it, *refused, pr->last_category)) {
                *refused = it;
                *why = no;
            }
            if (ranked && eligible) {
                break; /* the policy answers the same for the rest of this queue */
            }
        }
    }
}

/*
 * The best item of scope s that pr may take now, its Item object built (*item, new reference)
 * before its lease is taken, so that no lease, ledger record or audit exists for an answer that
 * was never sent. An item whose object cannot be built is set aside and the next best tried:
 * one such item must not stop everyone's review. None allowed: *best NULL, and *refused the best
 * one refused, with why.
 */
static modq_desk_result take(modq_desk *d, const modq_desk_who *who, desk_person *pr,
                             const scope *s, desk_out *o, int64_t t, desk_item **best,
                             desk_item **refused, modq_desk_denial *why, json_t **item)
{
    for (;;) {
        desk_item *it = NULL;
        desk_view v;
        json_t *js;
        modq_desk_result r;

        *refused = NULL;
        choose(d, who, pr, s, t, &it, refused, why);
        if (!it || !check(d, pr, it->qi, s->virtual_q, t)) {
            return MODQ_DESK_OK;
        }
        v = lease_view(d, t);
        if (!(js = desk_json_item(d, it, &v))) {
            desk_item_set_aside(d, it); /* each turn sets one aside: the loop ends */
            continue;
        }
        /* Asked here, with an item in hand: a desk with nothing to hand out has nothing another
         * desk could hand out twice, and says "nothing waiting" as any desk would. */
        r = desk_confirmed(d) ? lease(d, o, pr, it, &v, t) : MODQ_DESK_ERR_UNCONFIRMED;
        if (r != MODQ_DESK_OK) {
            json_decref(js);
            return r;
        }
        *best = it;
        *item = js;
        return MODQ_DESK_OK;
    }
}

modq_desk_result modq_desk_next(modq_desk *d, const modq_desk_who *who, const char *queue,
                                int64_t now_ms, json_t **item, json_t **status,
                                modq_desk_denial *denial)
{
    desk_out o = {.n = 0};
    desk_person *pr = NULL;
    desk_item *best = NULL, *refused = NULL;
    modq_desk_denial why = {MODQ_REASON_NONE, 0};
    int64_t t = now_ms;
    scope s;
    modq_desk_result r;

    if (item) {
        *item = NULL;
    }
    if (status) {
        *status = NULL;
    }
    if (!d || !who || !item || !desk_time_ok(now_ms)) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    pthread_mutex_lock(&d->lock);
    if (d->closed) {
        r = MODQ_DESK_ERR_UNAVAILABLE;
        goto out;
    }
    if ((r = resolve(d, who->roles, queue, &s)) != MODQ_DESK_OK ||
        (r = desk_person_begin(d, who, now_ms, &o, &pr, &t)) != MODQ_DESK_OK) {
        goto out;
    }
    if (pr->item && !desk_confirmed(d)) {
        r = MODQ_DESK_ERR_UNCONFIRMED; /* the other desk may have handed it to someone else */
        goto out;
    } else if (pr->item) {
        desk_item_renew(d, pr->item, t);
        best = pr->item;
        if (!(*item = desk_json_item(d, best, NULL))) {
            r = MODQ_DESK_ERR_NOMEM;
            goto out;
        }
    } else if (d->paused) {
        r = MODQ_DESK_ERR_PAUSED;
        goto out;
    } else if ((r = take(d, who, pr, &s, &o, t, &best, &refused, &why, item)) != MODQ_DESK_OK) {
        goto out;
    }
    if (!best && refused) {
        desk_person_denied(d, &o, pr, why.reason, why.until_ms, t);
        if (denial) {
            *denial = why;
        }
        r = MODQ_DESK_ERR_DENIED;
        goto out;
    }
    r = desk_json_status(d, pr, t, desk_person_end(d, &o, pr, t), status);
out:
    if (r != MODQ_DESK_OK && pr) {
        (void)desk_person_end(d, &o, pr, t);
    }
    pthread_mutex_unlock(&d->lock);
    desk_out_flush(d, &o);
    if (r != MODQ_DESK_OK && item) {
        json_decref(*item);
        *item = NULL;
    }
    return r;
}

modq_desk_result desk_own(const modq_desk *d, const desk_person *pr, const char *id,
                          desk_item **out)
{
    desk_item *it = id ? desk_item_find(d, id) : NULL;
    if (!it) {
        return MODQ_DESK_ERR_NOT_FOUND;
    }
    if (it->lessee != pr) {
        return MODQ_DESK_ERR_FORBIDDEN;
    }
    if (!desk_confirmed(d)) {
        return MODQ_DESK_ERR_UNCONFIRMED;
    }
    *out = it;
    return MODQ_DESK_OK;
}

static bool labels_ok(const char *const *labels, size_t n)
{
    if (n > MODQ_DESK_MAX_LABELS || (n && !labels)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = labels[i] ? strnlen(labels[i], DESK_LABEL_MAX) : 0;
        /* ',' joins labels for the decided set: one inside a label would split it. */
        if (len == 0 || len >= DESK_LABEL_MAX || strchr(labels[i], ',')) {
            return false;
        }
    }
    return true;
}

/* QA copies held at most: a quarter of the desk (none in a desk too small to share). */
static size_t qa_cap(const modq_desk *d)
{
    return d->max_items / 4;
}

/* Turns it, just decided by pr, into a QA copy: the media stays, the offset is done. */
static void keep_for_qa(modq_desk *d, desk_item *it, const desk_person *pr, int verdict)
{
    it->qa = true;
    it->qa_verdict = verdict;
    memcpy(it->decided_by, pr->id, sizeof(it->decided_by));
    it->has_ref = false;
    it->max_level = -1;
    it->first_shown_ms = -1;
    desk_item_move(d, it, d->nq + DESK_VQ_QA);
}

modq_desk_result modq_desk_decide(modq_desk *d, const modq_desk_who *who, const char *id,
                                  const char *verdict, const char *const *labels, size_t nlabels,
                                  const char *note, int64_t now_ms, json_t **status)
{
    return modq_desk_decide_then(d, who, id, verdict, labels, nlabels, note, now_ms, NULL, status);
}

bool desk_copy_waits(const desk_item *it, const desk_item *c)
{
    return c != it && !c->lessee && !c->escalated && !c->qa && !c->gone && !c->unservable &&
           c->p->media != NULL && c->qi == it->qi;
}

void desk_copies_waiting(const modq_desk *d, const desk_item *it, size_t *same, size_t *near)
{
    *same = *near = 0;
    if (!d->decide_copies || it->p->media == NULL || it->escalated || it->qa) {
        return;
    }
    for (const desk_item *c = d->lists[it->qi].head; c; c = c->next) {
        int dist = desk_copy_waits(it, c) ? desk_copy_distance(d, it, c, 0) : -1;
        *same += dist == 0;
        *near += dist > 0;
    }
}

int desk_copy_distance(const modq_desk *d, const desk_item *reviewed, const desk_item *copy,
                       int verdict)
{
    const modq_media *a = reviewed->p->media, *b = copy->p->media;
    int dist;

    if (memcmp(modq_media_sha256(a), modq_media_sha256(b), MODQ_SHA256_LEN) == 0) {
        return 0;
    }
    /* As in preparation: a copy that is close may still differ where it matters. */
    if (verdict == MODQ__V1__VERDICT__VERDICT_NO_VIOLATION ||
        modq_media_pdq_quality(a) < MODQ_BANKS_MIN_PDQ_QUALITY ||
        modq_media_pdq_quality(b) < MODQ_BANKS_MIN_PDQ_QUALITY) {
        return -1;
    }
    dist = modq_pdq_distance_dihedral(modq_media_pdq_variants(b), modq_media_pdq_dihedral(a, 0));
    return dist <= modq_policy_queue_near_copy_distance(d->policy, reviewed->qi, d->near_distance)
               ? dist
               : -1;
}

/* One review for copies (modq_desk_opts.decide_copies): the items of it's queue that wait with
 * the same media, or near media, are decided as pr decided it, each with its own Decision, while
 * the outbox has room; unlinked into gone (at most max; the caller frees them). Returns how many.
 */
static size_t decide_copies(modq_desk *d, desk_out *o, const desk_person *pr, const desk_item *it,
                            int v, const char *const *labels, size_t nlabels, int64_t t,
                            desk_item **gone, size_t max)
{
    size_t n = 0;
    desk_item *c, *next;

    if (!d->decide_copies || it->p->media == NULL) {
        return 0;
    }
    for (c = d->lists[it->qi].head; c && n < max && !desk_out_full(o, DESK_OUT_ROOM + 1);
         c = next) {
        int dist;
        char hex[MODQ_PDQ_HEX_LEN + 1];
        next = c->next;
        if (!desk_copy_waits(it, c) || c->p->media == NULL ||
            (dist = desk_copy_distance(d, it, c, v)) < 0) {
            continue;
        }
        snprintf(hex, sizeof hex, "%s",
                 dist == 0 ? modq_media_sha256_hex(it->p->media)
                           : modq_media_pdq_hex(it->p->media));
        if (desk_out_copy_decision(d, o, pr, c, it, v, labels, nlabels, hex, dist, t) !=
            MODQ_DESK_OK) {
            break; /* out of memory: the copy waits for a person */
        }
        desk_item_unlink(d, c);
        gone[n++] = c;
        d->copies_decided++;
    }
    return n;
}

modq_desk_result modq_desk_decide_then(modq_desk *d, const modq_desk_who *who, const char *id,
                                       const char *verdict, const char *const *labels,
                                       size_t nlabels, const char *note, int64_t now_ms,
                                       const modq_desk_confirm *confirm, json_t **status)
{
    desk_out o = {.n = 0, .confirm = confirm};
    desk_person *pr = NULL;
    desk_item *it = NULL, *gone = NULL, *copies[DESK_OUT_MAX];
    size_t ncopies = 0;
    int v = desk_verdict_parse(verdict);
    int64_t t = now_ms;
    modq_desk_result r;

    if (status) {
        *status = NULL;
    }
    if (!d || !v || !labels_ok(labels, nlabels) || !desk_time_ok(now_ms) ||
        (note && strnlen(note, MODQ_DESK_MAX_NOTE + 1) > MODQ_DESK_MAX_NOTE)) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    pthread_mutex_lock(&d->lock);
    if ((r = desk_person_begin(d, who, now_ms, &o, &pr, &t)) != MODQ_DESK_OK ||
        (r = desk_own(d, pr, id, &it)) != MODQ_DESK_OK) {
        goto out;
    }
    if (it->qa) {
        /* A second review publishes its agreement, not a second decision. */
        desk_out_audit(d, &o, pr, MODQ__V1__AUDIT_ACTION__AUDIT_ACTION_DECIDED, it, it->level,
                       false, v == it->qa_verdict ? "qa_agree" : "qa_disagree", t);
        desk_person_hide(d, &o, pr, 0, NULL, t);
        gone = it;
    } else {
        /* Built first: when it cannot be, nothing has changed and the person may retry. */
        if ((r = desk_out_decision(d, &o, pr, it, v, labels, nlabels, note, t)) != MODQ_DESK_OK) {
            goto out;
        }
        d->decisions[v]++;
        desk_person_hide(d, &o, pr, MODQ__V1__AUDIT_ACTION__AUDIT_ACTION_DECIDED, NULL, t);
        ncopies = decide_copies(d, &o, pr, it, v, labels, nlabels, t, copies, DESK_OUT_MAX);
        /* QA copies have their own share of the desk: tickets keep the rest, so a QA backlog
         * can never stop new tickets from being taken. */
        if (!it->escalated && d->qa_rate > 0.0 && d->lists[d->nq + DESK_VQ_QA].count < qa_cap(d) &&
            (double)(desk_random(d) >> 11) * 0x1.0p-53 < d->qa_rate) {
            keep_for_qa(d, it, pr, v);
        } else {
            gone = it;
        }
    }
    if (gone) {
        desk_item_unlink(d, gone);
    }
    r = desk_json_status(d, pr, t, desk_person_end(d, &o, pr, t), status);
out:
    if (r != MODQ_DESK_OK && pr) {
        (void)desk_person_end(d, &o, pr, t);
    }
    pthread_mutex_unlock(&d->lock);
    desk_out_flush_told(d, &o, r);
    desk_item_free(gone, true);
    for (size_t i = 0; i < ncopies; i++) {
        desk_item_free(copies[i], true);
    }
    return r;
}

/* escalate and release: pr's item leaves their screen and waits in list again. */
static modq_desk_result hand_over(modq_desk *d, const modq_desk_who *who, const char *id,
                                  const char *note, bool escalate, int64_t now_ms,
                                  const modq_desk_confirm *confirm)
{
    desk_out o = {.n = 0, .confirm = confirm};
    desk_person *pr = NULL;
    desk_item *it = NULL;
    char *copy = NULL;
    int64_t t = now_ms;
    modq_desk_result r;

    if (!d || !desk_time_ok(now_ms) ||
        (note && strnlen(note, MODQ_DESK_MAX_NOTE + 1) > MODQ_DESK_MAX_NOTE)) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    if (escalate && note && note[0] && !(copy = strdup(note))) {
        return MODQ_DESK_ERR_NOMEM;
    }
    pthread_mutex_lock(&d->lock);
    if ((r = desk_person_begin(d, who, now_ms, &o, &pr, &t)) != MODQ_DESK_OK ||
        (r = desk_own(d, pr, id, &it)) != MODQ_DESK_OK) {
        goto out;
    }
    if (!escalate) {
        desk_person_hide(d, &o, pr, MODQ__V1__AUDIT_ACTION__AUDIT_ACTION_RELEASED, NULL, t);
    } else if (it->qa) {
        r = MODQ_DESK_ERR_STATE; /* a second review has no one above it to go to */
        goto out;
    } else {
        desk_person_hide(d, &o, pr, MODQ__V1__AUDIT_ACTION__AUDIT_ACTION_ESCALATED, NULL, t);
        it->escalated = true;
        free(it->note);
        it->note = copy;
        copy = NULL;
        memcpy(it->escalated_by, pr->id, sizeof(it->escalated_by));
        memcpy(it->escalated_team, pr->team, sizeof(it->escalated_team));
        desk_item_move(d, it, d->nq + DESK_VQ_ESCALATIONS);
        desk_out_escalation(d, &o, it);
    }
out:
    if (pr) {
        (void)desk_person_end(d, &o, pr, t);
    }
    pthread_mutex_unlock(&d->lock);
    desk_out_flush_told(d, &o, r);
    free(copy);
    return r;
}

modq_desk_result modq_desk_escalate(modq_desk *d, const modq_desk_who *who, const char *id,
                                    const char *note, int64_t now_ms)
{
    return hand_over(d, who, id, note, true, now_ms, NULL);
}

modq_desk_result modq_desk_escalate_then(modq_desk *d, const modq_desk_who *who, const char *id,
                                         const char *note, int64_t now_ms,
                                         const modq_desk_confirm *confirm)
{
    return hand_over(d, who, id, note, true, now_ms, confirm);
}

modq_desk_result modq_desk_release(modq_desk *d, const modq_desk_who *who, const char *id,
                                   int64_t now_ms)
{
    return hand_over(d, who, id, NULL, false, now_ms, NULL);
}
