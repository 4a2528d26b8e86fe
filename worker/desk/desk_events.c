/*
 * desk_events.c: what leaves the desk, as packed protobuf messages (proto/modq.proto): Decision,
 * WellbeingEvent, AuditEvent, and the associate's Ledger. They are built under the lock, from the
 * desk's own state, into the caller's outbox, and handed to the sink only after the lock is let
 * go, so that a slow sink never holds up everyone else.
 *
 * Event ids: the worker id and 128 bits from the desk's generator, so they are unique per worker
 * without coordination.
 */
#include "modq_common.h"
#include "desk_impl.h"
#include "prepare/review_item.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* protobuf-c declares string fields as char *; ours are only read while packing. */

#define EVENT_ID_MAX (sizeof(((modq_desk *)0)->worker_id) + 40)

bool desk_out_full(const desk_out *o, size_t room)
{
    return o->n + room > DESK_OUT_MAX;
}

/* A new slot for kind with key, or NULL when the outbox is full (the message is then lost; the
 * batch loops keep room so that this does not happen). */
static desk_out_msg *out_slot(desk_out *o, desk_out_kind kind, const char *key)
{
    desk_out_msg *m;
    size_t n = strnlen(key, DESK_KEY_MAX - 1);

    if (o->n >= DESK_OUT_MAX) {
        return NULL;
    }
    m = &o->m[o->n];
    memset(m, 0, sizeof(*m));
    m->kind = kind;
    memcpy(m->key, key, n);
    m->key[n] = '\0';
    return m;
}

static void event_id(modq_desk *d, char *buf, size_t size)
{
    uint64_t a = desk_random(d), b = desk_random(d);
    snprintf(buf, size, "%s-%016" PRIx64 "%016" PRIx64, d->worker_id, a, b);
}

static const char *const role_names[] = {"associate", "lead", "qa"};

void desk_out_wellbeing(modq_desk *d, desk_out *o, const desk_person *pr, int type,
                        modq_policy_reason why, int64_t until, int cap, const char *message,
                        int64_t t)
{
    desk_out_wellbeing_by(d, o, pr, type, why, until, cap, message, NULL, t);
}

void desk_out_wellbeing_by(modq_desk *d, desk_out *o, const desk_person *pr, int type,
                           modq_policy_reason why, int64_t until, int cap, const char *message,
                           const char *actor, int64_t t)
{
    Modq__V1__WellbeingEvent e;
    char id[EVENT_ID_MAX];
    desk_out_msg *m;
    double used = 0.0, limit = 0.0;

    if (!(m = out_slot(o, DESK_OUT_WELLBEING, pr->id))) {
        return;
    }
    event_id(d, id, sizeof(id));
    modq__v1__wellbeing_event__init(&e);
    e.event_id = id;
    e.at_ms = t;
    e.associate_id = MODQ_UNCONST(pr->id);
    e.team = MODQ_UNCONST(pr->team);
    e.type = (Modq__V1__WellbeingEventType)type;
    e.reason = MODQ_UNCONST(why == MODQ_REASON_NONE ? "" : modq_policy_reason_name(why));
    e.until_ms = until;
    if (cap >= 0 && cap < MODQ_CAP_COUNT) {
        e.cap = MODQ_UNCONST(modq_policy_cap_name((modq_policy_cap)cap));
        (void)modq_decision_cap(d->dec, (modq_policy_cap)cap, &used, &limit);
        e.used_minutes = used;
        e.limit_minutes = limit;
    }
    e.message = MODQ_UNCONST(message ? message : "");
    e.actor = MODQ_UNCONST(actor ? actor : "");
    e.policy_version = MODQ_UNCONST(modq_policy_version(d->policy));
    e.worker_id = d->worker_id;
    m->len = modq__v1__wellbeing_event__get_packed_size(&e);
    if (!(m->buf = malloc(m->len ? m->len : 1))) {
        return;
    }
    modq__v1__wellbeing_event__pack(&e, m->buf);
    o->n++;
}

void desk_out_audit(modq_desk *d, desk_out *o, const desk_person *actor, int action,
                    const desk_item *it, int level, bool colour, const char *reason, int64_t t)
{
    Modq__V1__AuditEvent e;
    char id[EVENT_ID_MAX];
    char *roles[3];
    size_t nroles = 0;
    const Modq__V1__Ticket *tk = it ? it->p->ticket : NULL;
    desk_out_msg *m;

    if (!(m = out_slot(o, DESK_OUT_AUDIT, tk ? tk->ticket_id : actor ? actor->id : "modq"))) {
        return;
    }
    event_id(d, id, sizeof(id));
    modq__v1__audit_event__init(&e);
    e.event_id = id;
    e.at_ms = t;
    e.actor = MODQ_UNCONST(actor ? actor->id : "modq");
    for (size_t i = 0; actor && i < 3; i++) {
        if (actor->roles & (1u << i)) {
            roles[nroles++] = MODQ_UNCONST(role_names[i]);
        }
    }
    e.actor_roles = roles;
    e.n_actor_roles = nroles;
    e.action = (Modq__V1__AuditAction)action;
    e.reveal_level = level;
    e.colour = colour;
    e.reason = MODQ_UNCONST(reason ? reason : "");
    if (tk) {
        e.ticket_id = tk->ticket_id;
        e.content_id = tk->content_id;
        e.queue = MODQ_UNCONST(modq_policy_queue_name(d->policy, it->qi));
        e.category = MODQ_UNCONST(modq_policy_queue_category(d->policy, it->qi));
        e.trace_id = tk->trace_id;
    }
    e.worker_id = d->worker_id;
    e.team = MODQ_UNCONST(actor ? actor->team : "");
    m->len = modq__v1__audit_event__get_packed_size(&e);
    if (!(m->buf = malloc(m->len ? m->len : 1))) {
        return;
    }
    modq__v1__audit_event__pack(&e, m->buf);
    o->n++;
}

void desk_out_escalation(modq_desk *d, desk_out *o, const desk_item *it)
{
    modq_prepared copy;
    modq_review_source src = {it->ref.topic, it->ref.partition, it->ref.offset, d->worker_id, 0};
    desk_out_msg *m;
    bool colour_dropped;
    char err[128];

    if (!d->sink.escalation || !(m = out_slot(o, DESK_OUT_ESCALATION, desk_item_id(it)))) {
        return;
    }
    /* The prepared item as it came, with the escalation this desk holds in memory. */
    copy = *it->p;
    copy.escalated = true;
    copy.escalation_note = it->note;
    snprintf(copy.escalated_by, sizeof copy.escalated_by, "%s", it->escalated_by);
    snprintf(copy.escalated_team, sizeof copy.escalated_team, "%s", it->escalated_team);
    if (modq_review_item_pack(&copy, &src, &m->buf, &m->len, &colour_dropped, err, sizeof err) ==
        0) {
        o->n++;
    }
}

void desk_out_ledger(desk_out *o, const desk_person *pr)
{
    desk_out_msg *m = out_slot(o, DESK_OUT_LEDGER, pr->id);
    if (m && modq_ledger_pack(pr->ledger, &m->buf, &m->len) == MODQ_POLICY_OK) {
        o->n++;
    }
}

void desk_out_on_screen(modq_desk *d, desk_out *o, const desk_person *pr, int64_t t)
{
    const desk_item *it = pr->item;
    desk_out_msg *m;
    if (!d->sink.on_screen || !(m = out_slot(o, DESK_OUT_ON_SCREEN, ""))) {
        return;
    }
    m->queue = modq_policy_queue_name(d->policy, it->qi);
    m->seconds = t > it->shown_ms ? (double)(t - it->shown_ms) / 1000.0 : 0.0;
    /* Read from the ledger only for a sink that wants it: a walk of the person's segments. */
    m->minutes = modq_policy_exposure_minutes(d->policy, pr->ledger, it->shown_ms, t);
    o->n++;
}

/* labels joined by ',' into a new string, as the decided set keeps them. */
static char *join_labels(const char *const *labels, size_t nlabels)
{
    size_t len = 1, at = 0;
    char *s;

    for (size_t i = 0; i < nlabels; i++) {
        len += strlen(labels[i]) + 1;
    }
    if (!(s = malloc(len))) {
        return NULL;
    }
    for (size_t i = 0; i < nlabels; i++) {
        size_t n = strlen(labels[i]);
        if (i) {
            s[at++] = ',';
        }
        memcpy(s + at, labels[i], n);
        at += n;
    }
    s[at] = '\0';
    return s;
}

/* The Decision of it, into an outbox slot: a person's (copy NULL), or that decision applied to a
 * copy of its media (copy: the reviewed item, the matched hash and its distance). */
typedef struct copy_of {
    const desk_item *reviewed;
    const char *hash_hex;
    int distance;
} copy_of;

static modq_desk_result out_decision(modq_desk *d, desk_out *o, const desk_person *pr,
                                     const desk_item *it, int verdict, const char *const *labels,
                                     size_t nlabels, const char *note, int64_t t,
                                     const copy_of *copy)
{
    const Modq__V1__Ticket *tk = it->p->ticket;
    const modq_media *media = it->p->media;
    Modq__V1__Decision m;
    Modq__V1__Hashes h;
    desk_out_msg *slot;
    modq_desk_result r = MODQ_DESK_ERR_NOMEM;

    if (!(slot = out_slot(o, DESK_OUT_DECISION, tk->ticket_id))) {
        return MODQ_DESK_ERR_NOMEM;
    }
    modq__v1__decision__init(&m);
    modq__v1__hashes__init(&h);
    m.ticket_id = tk->ticket_id;
    m.content_id = tk->content_id;
    m.verdict = (Modq__V1__Verdict)verdict;
    m.policy_labels = (char **)(uintptr_t)labels;
    m.n_policy_labels = nlabels;
    m.decided_by = MODQ_UNCONST(pr->id);
    m.auto_decided = copy != NULL; /* nobody saw the copy */
    if (media) {
        h.sha256 = MODQ_UNCONST(modq_media_sha256_hex(media));
        h.md5 = MODQ_UNCONST(modq_media_md5_hex(media));
        h.pdq = MODQ_UNCONST(modq_media_pdq_hex(media));
        h.pdq_quality = modq_media_pdq_quality(media);
        m.hashes = &h;
    }
    m.max_reveal_level = it->max_level;
    m.review_duration_ms = it->first_shown_ms >= 0 ? t - it->first_shown_ms : 0;
    m.policy_version = MODQ_UNCONST(modq_policy_version(d->policy));
    m.decided_at_ms = t;
    m.decision_source = copy ? MODQ__V1__DECISION_SOURCE__DECISION_SOURCE_PRIOR_DECISION
                             : MODQ__V1__DECISION_SOURCE__DECISION_SOURCE_HUMAN;
    if (copy) {
        m.prior_ticket_id = MODQ_UNCONST(copy->reviewed->p->ticket->ticket_id);
        m.matched_hash = MODQ_UNCONST(copy->hash_hex);
        m.match_distance = copy->distance;
    }
    m.queue = MODQ_UNCONST(modq_policy_queue_name(d->policy, it->qi));
    m.category = MODQ_UNCONST(modq_policy_queue_category(d->policy, it->qi));
    m.trace_id = tk->trace_id;
    m.note = MODQ_UNCONST(note ? note : "");
    m.escalated = it->escalated;
    m.worker_id = d->worker_id;
    slot->len = modq__v1__decision__get_packed_size(&m);
    slot->buf = malloc(slot->len ? slot->len : 1);
    slot->content_id = strdup(tk->content_id);
    slot->labels = join_labels(labels, nlabels);
    if (!slot->buf || !slot->content_id || !slot->labels) {
        goto out;
    }
    modq__v1__decision__pack(&m, slot->buf);
    slot->ref = it->ref;
    slot->verdict = verdict;
    if (media) {
        slot->has_sha = true;
        memcpy(slot->sha256, modq_media_sha256(media), MODQ_SHA256_LEN);
    }
    o->n++;
    r = MODQ_DESK_OK;
out:
    if (r != MODQ_DESK_OK) {
        free(slot->buf);
        free(slot->content_id);
        free(slot->labels);
        memset(slot, 0, sizeof(*slot));
    }
    return r;
}

modq_desk_result desk_out_decision(modq_desk *d, desk_out *o, const desk_person *pr,
                                   const desk_item *it, int verdict, const char *const *labels,
                                   size_t nlabels, const char *note, int64_t t)
{
    return out_decision(d, o, pr, it, verdict, labels, nlabels, note, t, NULL);
}

modq_desk_result desk_out_copy_decision(modq_desk *d, desk_out *o, const desk_person *pr,
                                        const desk_item *copy, const desk_item *reviewed,
                                        int verdict, const char *const *labels, size_t nlabels,
                                        const char *hash_hex, int distance, int64_t t)
{
    copy_of c = {reviewed, hash_hex, distance};

    return out_decision(d, o, pr, copy, verdict, labels, nlabels, NULL, t, &c);
}

void desk_out_flush(const modq_desk *d, desk_out *o)
{
    const modq_desk_sink *s = &d->sink;

    for (size_t i = 0; i < o->n; i++) {
        desk_out_msg *m = &o->m[i];
        switch (m->kind) {
        case DESK_OUT_DECISION:
            s->decision(s->arg, &m->ref, m->content_id, m->key, m->has_sha ? m->sha256 : NULL,
                        m->verdict, m->labels, m->buf, m->len, o->confirm);
            o->confirm = NULL;
            break;
        case DESK_OUT_WELLBEING:
            s->wellbeing(s->arg, m->key, m->buf, m->len);
            break;
        case DESK_OUT_AUDIT:
            s->audit(s->arg, m->key, m->buf, m->len);
            break;
        case DESK_OUT_LEDGER:
            s->ledger(s->arg, m->key, m->buf, m->len);
            break;
        case DESK_OUT_ON_SCREEN:
            if (s->on_screen) {
                s->on_screen(s->arg, m->queue, m->seconds, m->minutes);
            }
            break;
        case DESK_OUT_ESCALATION:
            s->escalation(s->arg, m->key, m->buf, m->len, o->confirm);
            o->confirm = NULL;
            break;
        }
        free(m->buf);
        free(m->content_id);
        free(m->labels);
    }
    o->n = 0;
}

void desk_out_flush_told(const modq_desk *d, desk_out *o, modq_desk_result r)
{
    if (r != MODQ_DESK_OK) {
        o->confirm = NULL; /* told only when the caller hears OK */
    }
    desk_out_flush(d, o);
    if (o->confirm) {
        o->confirm->fn(o->confirm->arg, MODQ_DESK_FATE_CONFIRMED);
        o->confirm = NULL;
    }
}
