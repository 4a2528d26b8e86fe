/*
 * desk_person.c: the associates the desk knows: their exposure ledgers, settings rebuilt from the
 * identity on every call, the wellbeing events their state calls for, breaks, support requests,
 * and ledgers restored from the ledgers topic.
 *
 * Every ledger record is made at the caller's "now", except when the clock stepped back behind the
 * ledger's newest record: then at that record's time, because the ledger refuses the past and a
 * refused record would be exposure not counted.
 */
#include "modq_common.h"
#include "desk_impl.h"

#include "proto/ledger.pb-c.h"

#include <stdlib.h>
#include <string.h>

#define SUPPORT_REPEAT_MS      5000  /* presses closer than this are one request */
#define SUPPORT_BARE_REPEAT_MS 60000 /* ... and for a request without a message */
#define MS_PER_DAY             INT64_C(86400000)

/* Person ids come from tokens we verified. */
static size_t hash_id(const char *s, size_t buckets)
{
    return (size_t)(modq_hash_text(s) & (buckets - 1));
}

desk_person *desk_person_find(const modq_desk *d, const char *id)
{
    desk_person *pr = d->by_person[hash_id(id, d->person_buckets)];
    while (pr && strcmp(pr->id, id) != 0) {
        pr = pr->next_id;
    }
    return pr;
}

static void recency_remove(modq_desk *d, desk_person *pr)
{
    if (pr->newer) {
        pr->newer->older = pr->older;
    } else {
        d->newest = pr->older;
    }
    if (pr->older) {
        pr->older->newer = pr->newer;
    } else {
        d->oldest = pr->newer;
    }
    pr->newer = pr->older = NULL;
}

static void recency_push(modq_desk *d, desk_person *pr, bool newest)
{
    if (newest) {
        pr->older = d->newest;
        if (d->newest) {
            d->newest->newer = pr;
        } else {
            d->oldest = pr;
        }
        d->newest = pr;
    } else {
        pr->newer = d->oldest;
        if (d->oldest) {
            d->oldest->older = pr;
        } else {
            d->newest = pr;
        }
        d->oldest = pr;
    }
}

/*
 * Makes room for one more associate. Only someone idle whose ledger holds nothing from the last
 * 24 h may be forgotten: forgetting recent exposure would let caps be exceeded, and refusing a
 * newcomer is the safer failure.
 */
static bool evict_one(modq_desk *d, int64_t ref_ms)
{
    /* Saturated: INT64_MIN (a restore) protects everyone who has any record. */
    int64_t recent = ref_ms > INT64_MIN + MS_PER_DAY ? ref_ms - MS_PER_DAY : INT64_MIN;

    for (desk_person *pr = d->oldest; pr; pr = pr->newer) {
        int64_t last = modq_ledger_last_ms(pr->ledger);
        desk_person **pp;
        if (pr->item || modq_ledger_item_open(pr->ledger) || modq_ledger_on_break(pr->ledger) ||
            (last != INT64_MIN && last > recent)) {
            continue;
        }
        pp = &d->by_person[hash_id(pr->id, d->person_buckets)];
        while (*pp != pr) {
            pp = &(*pp)->next_id;
        }
        *pp = pr->next_id;
        recency_remove(d, pr);
        desk_person_free(pr);
        d->npersons--;
        return true;
    }
    return false;
}

/* A new associate record for id with ledger l (owned on success; NULL: a new empty one). */
static modq_desk_result person_new(modq_desk *d, const char *id, modq_ledger *l, int64_t ref_ms,
                                   bool newest, desk_person **out)
{
    desk_person *pr;
    size_t slot;

    if (d->npersons >= MODQ_DESK_MAX_ASSOCIATES && !evict_one(d, ref_ms)) {
        return MODQ_DESK_ERR_FULL;
    }
    if (!(pr = calloc(1, sizeof(*pr)))) {
        return MODQ_DESK_ERR_NOMEM;
    }
    memcpy(pr->id, id, strlen(id) + 1);
    if (!l && modq_ledger_new(id, &l) != MODQ_POLICY_OK) {
        free(pr);
        return MODQ_DESK_ERR_NOMEM;
    }
    pr->ledger = l;
    pr->last_denial = MODQ_REASON_NONE;
    slot = hash_id(id, d->person_buckets);
    pr->next_id = d->by_person[slot];
    d->by_person[slot] = pr;
    recency_push(d, pr, newest);
    d->npersons++;
    *out = pr;
    return MODQ_DESK_OK;
}

static bool name_ok(const char *s, bool may_be_empty)
{
    size_t n = s ? strnlen(s, DESK_ID_MAX) : 0;
    return s && n < DESK_ID_MAX && (may_be_empty || n > 0);
}

/* Settings from the identity. Skills that cannot be stored are left out (that only narrows what
 * the person may take); an opt-out must never be lost, so too many of them is an error. */
static modq_desk_result build_settings(const modq_desk_who *who, modq_settings **out)
{
    modq_settings *s = modq_settings_new();
    size_t nopt = 0;

    if (!s) {
        return MODQ_DESK_ERR_NOMEM;
    }
    modq_settings_set_roles(s, who->roles);
    for (size_t i = 0; i < who->nskills; i++) {
        if (who->skills[i]) {
            (void)modq_settings_add_skill(s, who->skills[i]);
        }
    }
    for (size_t i = 0; i < who->nopt_outs; i++) {
        /* A name the policy cannot hold matches no category: nothing to opt out of. */
        if (!who->opt_outs[i] || !name_ok(who->opt_outs[i], false)) {
            continue;
        }
        if (++nopt > MODQ_POLICY_MAX_SKILLS ||
            modq_settings_add_opt_out(s, who->opt_outs[i]) != MODQ_POLICY_OK) {
            modq_settings_free(s);
            return MODQ_DESK_ERR_INVALID_ARG;
        }
    }
    *out = s;
    return MODQ_DESK_OK;
}

modq_desk_result desk_person_get(modq_desk *d, const modq_desk_who *who, int64_t now_ms,
                                 desk_person **out)
{
    modq_settings *s = NULL;
    desk_person *pr;
    modq_desk_result r;

    if (!who || !name_ok(who->id, false) || (who->team && !name_ok(who->team, true)) ||
        (who->nskills && !who->skills) || (who->nopt_outs && !who->opt_outs)) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    if ((r = build_settings(who, &s)) != MODQ_DESK_OK) {
        return r;
    }
    if (!(pr = desk_person_find(d, who->id))) {
        if ((r = person_new(d, who->id, NULL, now_ms, true, &pr)) != MODQ_DESK_OK) {
            modq_settings_free(s);
            return r;
        }
    } else {
        recency_remove(d, pr);
        recency_push(d, pr, true);
    }
    memcpy(pr->team, who->team ? who->team : "", who->team ? strlen(who->team) + 1 : 1);
    pr->roles = who->roles;
    modq_settings_free(pr->settings);
    pr->settings = s;
    if (now_ms > pr->last_seen_ms) {
        pr->last_seen_ms = now_ms;
    }
    *out = pr;
    return MODQ_DESK_OK;
}

int64_t desk_person_time(const desk_person *pr, int64_t now_ms)
{
    int64_t last = modq_ledger_last_ms(pr->ledger);
    return (last != INT64_MIN && now_ms < last) ? last : now_ms;
}

bool desk_person_has_skills(const modq_desk_who *who, const desk_item *it)
{
    const Modq__V1__Ticket *t = it->p->ticket;
    for (size_t k = 0; k < t->n_required_skills; k++) {
        size_t i = 0;
        while (i < who->nskills &&
               !(who->skills[i] && !strcmp(who->skills[i], t->required_skills[k]))) {
            i++;
        }
        if (i == who->nskills) {
            return false;
        }
    }
    return true;
}

void desk_person_hide(modq_desk *d, desk_out *o, desk_person *pr, int action, const char *reason,
                      int64_t t)
{
    desk_item *it = pr->item;
    int64_t cool;

    if (!it) {
        return;
    }
    if (modq_ledger_item_open(pr->ledger) && modq_ledger_hide(pr->ledger, t) == MODQ_POLICY_OK) {
        pr->dirty = true;
    }
    desk_out_on_screen(d, o, pr, t);
    if (action) {
        desk_out_audit(d, o, pr, action, it, it->level, false, reason, t);
    }
    d->lists[it->list].leased--;
    it->lessee = NULL;
    pr->item = NULL;
    /* Announce a cooldown once per end instant: a milder item after a severe one does not start
     * another. */
    if (modq_policy_status(d->policy, pr->ledger, pr->settings, t, d->dec) != MODQ_POLICY_OK) {
        return;
    }
    cool = modq_decision_cooldown_until_ms(d->dec);
    if (cool > t && cool != pr->cooldown_sent_ms) {
        pr->cooldown_sent_ms = cool;
        desk_out_wellbeing(d, o, pr,
                           MODQ__V1__WELLBEING_EVENT_TYPE__WELLBEING_EVENT_COOLDOWN_STARTED,
                           MODQ_REASON_COOLDOWN, cool, -1, NULL, t);
    }
}

void desk_person_hand_back(modq_desk *d, desk_out *o, desk_person *pr, int action,
                           const char *reason, int64_t t)
{
    desk_item *it = pr->item;

    if (!it) {
        return;
    }
    if (it->gone) {
        action = MODQ__V1__AUDIT_ACTION__AUDIT_ACTION_RELEASED;
        reason = "decided_elsewhere";
    }
    desk_person_hide(d, o, pr, action, reason, t);
    desk_person_flush(d, o, pr);
    if (it->gone) {
        desk_item_unlink(d, it);
        desk_item_free(it, true);
    }
}

/*
 * Nobody ends a shift by hand here: shows open one, and one left open would keep counting
 * towards the hard stop across nights, refusing the person for ever (only an ended shift starts
 * the rest that clears SHIFT_OVER). So at the hard stop, with nothing on screen, the shift is
 * ended at the ledger's newest record, when work last happened: after a night away the rest is
 * then already over; after a full shift it runs from the last item.
 */
static void end_stale_shift(modq_desk *d, desk_out *o, desk_person *pr, int64_t t)
{
    modq_ledger *l = pr->ledger;
    int64_t last = modq_ledger_last_ms(l);

    if (pr->item || modq_ledger_item_open(l) || modq_ledger_on_break(l) ||
        modq_ledger_shift_start(l) < 0 || last == INT64_MIN ||
        modq_policy_status(d->policy, l, pr->settings, t, d->dec) != MODQ_POLICY_OK ||
        modq_decision_reason(d->dec) != MODQ_REASON_SHIFT_OVER ||
        modq_decision_until_ms(d->dec) != 0 || modq_ledger_end_shift(l, last) != MODQ_POLICY_OK) {
        return;
    }
    pr->dirty = true;
    if (modq_policy_status(d->policy, l, pr->settings, t, d->dec) == MODQ_POLICY_OK) {
        desk_out_wellbeing(d, o, pr, MODQ__V1__WELLBEING_EVENT_TYPE__WELLBEING_EVENT_SHIFT_ENDED,
                           modq_decision_reason(d->dec), modq_decision_until_ms(d->dec), -1, NULL,
                           t);
    }
}

void desk_person_settle(modq_desk *d, desk_out *o, desk_person *pr, int64_t t)
{
    if (pr->item && (pr->item->gone || t >= pr->item->lease_until)) {
        if (!pr->item->gone) {
            d->leases_expired++;
        }
        desk_person_hand_back(d, o, pr, MODQ__V1__AUDIT_ACTION__AUDIT_ACTION_LEASE_EXPIRED, NULL,
                              t);
    }
    if (!pr->item && modq_ledger_item_open(pr->ledger) &&
        modq_ledger_hide(pr->ledger, t) == MODQ_POLICY_OK) {
        pr->dirty = true;
    }
    end_stale_shift(d, o, pr, t);
}

bool desk_person_status(modq_desk *d, desk_out *o, desk_person *pr, int64_t t)
{
    unsigned warn = 0;
    bool near = false;

    if (modq_policy_status(d->policy, pr->ledger, pr->settings, t, d->dec) != MODQ_POLICY_OK) {
        return false;
    }
    for (size_t i = 0; i < modq_decision_warning_count(d->dec); i++) {
        modq_policy_cap c = modq_decision_warning(d->dec, i);
        if (c < MODQ_CAP_COUNT) {
            warn |= 1u << c;
        }
    }
    for (int c = 0; c < MODQ_CAP_COUNT; c++) {
        double used, limit;
        if (modq_decision_cap(d->dec, (modq_policy_cap)c, &used, &limit) && used >= limit) {
            near = true;
        }
        /* Once per crossing: the bit clears when the cap leaves the warning band. */
        if ((warn & (1u << c)) && !(pr->warned & (1u << c))) {
            desk_out_wellbeing(d, o, pr,
                               MODQ__V1__WELLBEING_EVENT_TYPE__WELLBEING_EVENT_CAP_WARNING,
                               MODQ_REASON_NONE, 0, c, NULL, t);
        }
    }
    pr->warned = warn;
    pr->near_cap = near || warn != 0;
    return true;
}

void desk_person_denied(modq_desk *d, desk_out *o, desk_person *pr, modq_policy_reason why,
                        int64_t until, int64_t t)
{
    if ((int)why >= 0 && why < MODQ_REASON_COUNT) {
        d->denials[why]++;
    }
    /* Only a change of reason is news to a lead; a person retrying must not flood the topic. */
    if (why != pr->last_denial) {
        desk_out_wellbeing(d, o, pr, MODQ__V1__WELLBEING_EVENT_TYPE__WELLBEING_EVENT_POLICY_DENIAL,
                           why, until, -1, NULL, t);
    }
    pr->last_denial = why;
}

void desk_person_flush(modq_desk *d, desk_out *o, desk_person *pr)
{
    (void)d;
    if (pr->dirty) {
        desk_out_ledger(o, pr);
        pr->dirty = false;
        pr->written_here = true;
    }
}

modq_desk_result desk_person_begin(modq_desk *d, const modq_desk_who *who, int64_t now_ms,
                                   desk_out *o, desk_person **pr, int64_t *t)
{
    modq_desk_result r = desk_person_get(d, who, now_ms, pr);
    if (r != MODQ_DESK_OK) {
        return r;
    }
    *t = desk_person_time(*pr, now_ms);
    desk_person_settle(d, o, *pr, *t);
    return MODQ_DESK_OK;
}

bool desk_person_end(modq_desk *d, desk_out *o, desk_person *pr, int64_t t)
{
    bool ok = desk_person_status(d, o, pr, t);
    desk_person_flush(d, o, pr);
    return ok;
}

static modq_desk_result ledger_error(modq_policy_result pr)
{
    switch (pr) {
    case MODQ_POLICY_OK:
        return MODQ_DESK_OK;
    case MODQ_POLICY_ERR_STATE:
        return MODQ_DESK_ERR_STATE;
    case MODQ_POLICY_ERR_NOMEM:
        return MODQ_DESK_ERR_NOMEM;
    case MODQ_POLICY_ERR_LEDGER_FULL:
        return MODQ_DESK_ERR_FULL;
    default:
        return MODQ_DESK_ERR_INVALID_ARG;
    }
}

modq_desk_result modq_desk_break_start(modq_desk *d, const modq_desk_who *who, int64_t now_ms,
                                       json_t **status)
{
    desk_out o = {.n = 0};
    desk_person *pr = NULL;
    int64_t t = now_ms;
    modq_desk_result r;

    if (status) {
        *status = NULL;
    }
    if (!d || !desk_time_ok(now_ms)) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    pthread_mutex_lock(&d->lock);
    if ((r = desk_person_begin(d, who, now_ms, &o, &pr, &t)) != MODQ_DESK_OK) {
        goto out;
    }
    if (modq_ledger_on_break(pr->ledger)) {
        r = MODQ_DESK_ERR_STATE;
        goto out;
    }
    desk_person_hand_back(d, &o, pr, MODQ__V1__AUDIT_ACTION__AUDIT_ACTION_RELEASED, "break", t);
    if ((r = ledger_error(modq_ledger_break_start(pr->ledger, t))) != MODQ_DESK_OK) {
        goto out;
    }
    pr->dirty = true;
    pr->break_started_ms = t;
    if (modq_policy_status(d->policy, pr->ledger, pr->settings, t, d->dec) == MODQ_POLICY_OK) {
        desk_out_wellbeing(d, &o, pr, MODQ__V1__WELLBEING_EVENT_TYPE__WELLBEING_EVENT_BREAK_STARTED,
                           MODQ_REASON_ON_BREAK, modq_decision_until_ms(d->dec), -1, NULL, t);
    }
    r = desk_json_status(d, pr, t, desk_person_end(d, &o, pr, t), status);
out:
    if (r != MODQ_DESK_OK && pr) {
        desk_person_flush(d, &o, pr);
    }
    pthread_mutex_unlock(&d->lock);
    desk_out_flush(d, &o);
    return r;
}

modq_desk_result modq_desk_break_end(modq_desk *d, const modq_desk_who *who, int64_t now_ms,
                                     json_t **status)
{
    desk_out o = {.n = 0};
    desk_person *pr = NULL;
    int64_t t = now_ms;
    modq_desk_result r;

    if (status) {
        *status = NULL;
    }
    if (!d || !desk_time_ok(now_ms)) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    pthread_mutex_lock(&d->lock);
    if ((r = desk_person_begin(d, who, now_ms, &o, &pr, &t)) != MODQ_DESK_OK) {
        goto out;
    }
    if ((r = ledger_error(modq_ledger_break_end(pr->ledger, t))) != MODQ_DESK_OK) {
        goto out;
    }
    pr->dirty = true;
    pr->break_started_ms = 0;
    desk_out_wellbeing(d, &o, pr, MODQ__V1__WELLBEING_EVENT_TYPE__WELLBEING_EVENT_BREAK_ENDED,
                       MODQ_REASON_NONE, 0, -1, NULL, t);
    r = desk_json_status(d, pr, t, desk_person_end(d, &o, pr, t), status);
out:
    if (r != MODQ_DESK_OK && pr) {
        desk_person_flush(d, &o, pr);
    }
    pthread_mutex_unlock(&d->lock);
    desk_out_flush(d, &o);
    return r;
}

modq_desk_result modq_desk_support(modq_desk *d, const modq_desk_who *who, const char *message,
                                   int64_t now_ms)
{
    desk_out o = {.n = 0};
    desk_person *pr = NULL;
    size_t n = message ? strnlen(message, MODQ_DESK_MAX_NOTE) : 0;
    char *msg = NULL;
    int64_t t = now_ms;
    modq_desk_result r;

    if (!d || !desk_time_ok(now_ms)) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    /* Cut at a character boundary: the event is read by tools that expect valid UTF-8. */
    if (message && message[n] != '\0') {
        while (n > 0 && ((uint8_t)message[n] & 0xc0) == 0x80) {
            n--;
        }
    }
    if (!modq_desk_text_ok(message ? message : "", n)) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    /* Owned by the person's record once stored (a lead reads it in the team view). */
    if (!(msg = malloc(n + 1))) {
        return MODQ_DESK_ERR_NOMEM;
    }
    memcpy(msg, message ? message : "", n);
    msg[n] = '\0';
    pthread_mutex_lock(&d->lock);
    if ((r = desk_person_begin(d, who, now_ms, &o, &pr, &t)) == MODQ_DESK_OK) {
        /* Repeated presses within moments are one request (a minute for a bare one): the leads
         * see the latest time either way, and the wellbeing topic is not flooded. A press with
         * a message the request does not carry yet is news for the leads: it is sent. */
        int64_t since = pr->support_ms > 0 ? t - pr->support_ms : INT64_MAX;
        bool news =
            n > 0 && !(pr->support_ms > 0 && pr->support_msg && strcmp(pr->support_msg, msg) == 0);
        bool repeat =
            !news && (since < SUPPORT_REPEAT_MS || (n == 0 && since < SUPPORT_BARE_REPEAT_MS));
        pr->support_ms = t;
        if (!repeat) {
            desk_out_wellbeing(d, &o, pr,
                               MODQ__V1__WELLBEING_EVENT_TYPE__WELLBEING_EVENT_SUPPORT_REQUESTED,
                               MODQ_REASON_NONE, 0, -1, msg, t);
        }
        /* A bare press keeps what the open request said; a new request starts without it. */
        if (n > 0 || since == INT64_MAX) {
            free(pr->support_msg);
            pr->support_msg = n > 0 ? msg : NULL;
            if (n > 0) {
                msg = NULL;
            }
        }
        desk_person_flush(d, &o, pr);
    }
    pthread_mutex_unlock(&d->lock);
    desk_out_flush(d, &o);
    free(msg);
    return r;
}

modq_desk_result modq_desk_support_ack(modq_desk *d, const modq_desk_who *lead,
                                       const char *associate, int64_t now_ms)
{
    desk_out o = {.n = 0};
    desk_person *me = NULL, *pr;
    int64_t t = now_ms;
    modq_desk_result r;

    if (!d || !lead || !associate || !desk_time_ok(now_ms)) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    if (!(lead->roles & MODQ_ROLE_LEAD)) {
        return MODQ_DESK_ERR_FORBIDDEN;
    }
    pthread_mutex_lock(&d->lock);
    if ((r = desk_person_begin(d, lead, now_ms, &o, &me, &t)) != MODQ_DESK_OK) {
        goto out;
    }
    /* Another team's associate is as unknown as one who never came: the same answer. */
    pr = desk_person_find(d, associate);
    if (!pr || !me->team[0] || strcmp(pr->team, me->team) != 0) {
        r = MODQ_DESK_ERR_NOT_FOUND;
    } else if (pr == me) {
        r = MODQ_DESK_ERR_FORBIDDEN; /* a lead's own request is for another lead to take up */
    } else if (pr->support_ms > 0) {
        pr->support_ms = 0;
        free(pr->support_msg);
        pr->support_msg = NULL;
        desk_out_wellbeing_by(d, &o, pr,
                              MODQ__V1__WELLBEING_EVENT_TYPE__WELLBEING_EVENT_SUPPORT_ACKNOWLEDGED,
                              MODQ_REASON_NONE, 0, -1, NULL, me->id, t);
    }
    desk_person_flush(d, &o, me);
out:
    pthread_mutex_unlock(&d->lock);
    desk_out_flush(d, &o);
    return r;
}

modq_desk_result modq_desk_me(modq_desk *d, const modq_desk_who *who, int64_t now_ms, json_t **out)
{
    desk_out o = {.n = 0};
    desk_person *pr = NULL;
    int64_t t = now_ms;
    modq_desk_result r;

    if (out) {
        *out = NULL;
    }
    if (!d || !out || !desk_time_ok(now_ms)) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    pthread_mutex_lock(&d->lock);
    if ((r = desk_person_begin(d, who, now_ms, &o, &pr, &t)) == MODQ_DESK_OK) {
        r = desk_json_status(d, pr, t, desk_person_end(d, &o, pr, t), out);
    }
    pthread_mutex_unlock(&d->lock);
    desk_out_flush(d, &o);
    return r;
}

/* The start of the running break in a packed ledger already validated by modq_ledger_unpack. */
static int64_t open_break_start(const uint8_t *buf, size_t len)
{
    Modq__V1__Ledger *m = modq__v1__ledger__unpack(NULL, len, buf);
    int64_t start = 0;
    if (m && m->on_break && m->n_breaks > 0) {
        start = m->breaks[m->n_breaks - 1]->start_ms;
    }
    modq__v1__ledger__free_unpacked(m, NULL);
    return start;
}

modq_desk_result modq_desk_ledger_restore(modq_desk *d, const uint8_t *buf, size_t len,
                                          char *errstr, size_t errstr_size)
{
    modq_ledger *l = NULL;
    desk_person *pr;
    int64_t brk;

    if (!d || !buf) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    if (modq_ledger_unpack(buf, len, &l, errstr, errstr_size) != MODQ_POLICY_OK) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    brk = open_break_start(buf, len);
    pthread_mutex_lock(&d->lock);
    pr = desk_person_find(d, modq_ledger_associate(l));
    if (!pr) {
        /* Restored records go to the old end: they have not been seen here yet. A restore never
         * evicts anyone with a record (INT64_MIN), whatever time the ledger claims. */
        if (person_new(d, modq_ledger_associate(l), l, INT64_MIN, false, &pr) == MODQ_DESK_OK) {
            pr->break_started_ms = brk;
            l = NULL;
        }
    } else if (!pr->item && !(d->sole_writer && pr->written_here) &&
               modq_ledger_last_ms(l) > modq_ledger_last_ms(pr->ledger)) {
        modq_ledger *old = pr->ledger;
        pr->ledger = l;
        l = old;
        pr->break_started_ms = brk;
    }
    pthread_mutex_unlock(&d->lock);
    modq_ledger_free(l);
    return MODQ_DESK_OK;
}
