/*
 * desk_json.c: the Item, Status and team objects of docs/api.md, built under the desk's lock from
 * its own state and a policy decision. Field names and meanings are the API contract: change them
 * only together with docs/api.md.
 */
#include "desk_impl.h"

#include <string.h>

static const char *const verdict_names[] = {NULL, "no_violation", "remove", "restrict",
                                            "remove_and_report"};

int desk_verdict_parse(const char *name)
{
    for (int v = 1; name && v < (int)(sizeof(verdict_names) / sizeof(verdict_names[0])); v++) {
        if (strcmp(verdict_names[v], name) == 0) {
            return v;
        }
    }
    return 0;
}

const char *desk_verdict_name(int verdict)
{
    if (verdict < 1 || verdict >= (int)(sizeof(verdict_names) / sizeof(verdict_names[0]))) {
        return "unspecified";
    }
    return verdict_names[verdict];
}

/* json_object_set_new ignores a NULL value, so one failed allocation shows as a missing field;
 * the callers check the whole object instead of every field. */
static bool put(json_t *o, const char *key, json_t *v)
{
    return v && json_object_set_new(o, key, v) == 0;
}

/* Whether m carries colour renditions: preparation renders them for tiers that allow colour. */
static bool has_colour(const modq_media *m)
{
    for (int lv = 0; m && lv < MODQ_LEVEL_COUNT; lv++) {
        if (modq_media_rendition_colour(m, lv, NULL, NULL, NULL, NULL) == MODQ_BLUR_OK) {
            return true;
        }
    }
    return false;
}

json_t *desk_json_item(const modq_desk *d, const desk_item *it, const desk_view *v)
{
    const desk_view now = {it->level, it->open_level, it->policy_until, it->lease_until};
    const Modq__V1__Ticket *tk = it->p->ticket;
    const modq_media *m = it->p->media;
    int tier = modq_policy_queue_tier(d->policy, it->qi);
    json_t *o = json_object(), *prior = json_null();
    bool ok;

    if (it->p->has_prior) {
        json_decref(prior);
        prior =
            json_pack("{s:s,s:s,s:I,s:i}", "ticket_id", it->p->prior_ticket_id, "verdict",
                      desk_verdict_name(it->p->prior_verdict), "decided_at_ms",
                      (json_int_t)it->p->prior_decided_at_ms, "distance", it->p->prior_distance);
    }
    if (!v) {
        v = &now;
    }
    if (!o) {
        json_decref(prior);
        return NULL;
    }
    ok = put(o, "id", json_string(tk->ticket_id)) &&
         put(o, "queue", json_string(modq_policy_queue_name(d->policy, it->qi))) &&
         put(o, "category", json_string(modq_policy_queue_category(d->policy, it->qi))) &&
         put(o, "tier", json_integer(tier)) && put(o, "priority", json_integer(tk->priority)) &&
         put(o, "created_at_ms", json_integer(tk->created_at_ms)) &&
         put(o, "locale", json_string(tk->locale)) &&
         put(o, "reporter_reason", json_string(tk->reporter_reason)) &&
         put(o, "text", json_string(tk->text)) && put(o, "has_media", json_boolean(m != NULL)) &&
         put(o, "width", json_integer(m ? modq_media_display_width(m) : 0)) &&
         put(o, "height", json_integer(m ? modq_media_display_height(m) : 0)) &&
         put(o, "level", json_integer(v->level)) &&
         put(o, "open_level", json_integer(v->open_level)) &&
         put(o, "min_level", json_integer(modq_policy_tier_max_reveal(d->policy, tier))) &&
         put(o, "colour_allowed", json_boolean(modq_policy_tier_colour_allowed(d->policy, tier))) &&
         put(o, "colour_available", json_boolean(has_colour(m))) &&
         put(o, "reason_required",
             json_boolean(modq_policy_tier_reason_required(d->policy, tier))) &&
         put(o, "lease_expires_ms", json_integer(v->lease_until)) &&
         put(o, "escalated", json_boolean(it->escalated)) &&
         put(o, "escalation_note", json_string(it->note ? it->note : "")) &&
         /* A QA copy is a blind second review: the first verdict is not shown, so as not to
          * anchor the reviewer; the agreement is measured when they decide. */
         put(o, "qa", json_boolean(it->qa));
    if (ok && d->decide_copies) {
        size_t same = 0, near = 0;
        desk_copies_waiting(d, it, &same, &near);
        ok = put(o, "copies",
                 json_pack("{s:I,s:I}", "same", (json_int_t)same, "near", (json_int_t)near));
    }
    /* Last, so that it is consumed whatever happened before. */
    ok = put(o, "prior", prior) && ok;
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The caps of d->dec: every configured cap, its usage, and whether it is in warning. */
static json_t *caps_json(const modq_desk *d, bool *near)
{
    json_t *a = json_array();
    *near = false;
    for (int c = 0; a && c < MODQ_CAP_COUNT; c++) {
        double used, limit;
        bool warning = false;
        json_t *o;
        if (!modq_decision_cap(d->dec, (modq_policy_cap)c, &used, &limit)) {
            continue;
        }
        for (size_t i = 0; i < modq_decision_warning_count(d->dec); i++) {
            warning |= modq_decision_warning(d->dec, i) == (modq_policy_cap)c;
        }
        *near |= warning || used >= limit;
        o = json_pack("{s:s,s:f,s:f,s:b}", "cap", modq_policy_cap_name((modq_policy_cap)c),
                      "used_minutes", used, "limit_minutes", limit, "warning", warning);
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *roles_json(unsigned roles)
{
    static const char *const names[] = {"associate", "lead", "qa"};
    json_t *a = json_array();
    for (size_t i = 0; a && i < 3; i++) {
        if ((roles & (1u << i)) && json_array_append_new(a, json_string(names[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *current_item(const desk_person *pr)
{
    return pr->item && !pr->item->gone ? json_string(desk_item_id(pr->item)) : json_null();
}

static json_t *status_json(const modq_desk *d, const desk_person *pr, int64_t t)
{
    const modq_decision *dec = d->dec;
    bool on_break = modq_ledger_on_break(pr->ledger), near;
    json_t *o = json_object();
    bool ok = o && put(o, "associate", json_string(pr->id)) &&
              put(o, "team", json_string(pr->team)) && put(o, "roles", roles_json(pr->roles)) &&
              put(o, "now_ms", json_integer(t)) &&
              put(o, "allowed", json_boolean(modq_decision_allowed(dec))) &&
              put(o, "reason", json_string(modq_policy_reason_name(modq_decision_reason(dec)))) &&
              put(o, "until_ms", json_integer(modq_decision_until_ms(dec))) &&
              put(o, "on_break", json_boolean(on_break)) &&
              put(o, "break_started_ms", json_integer(on_break ? pr->break_started_ms : 0)) &&
              put(o, "caps", caps_json(d, &near)) &&
              put(o, "break_due_ms", json_integer(modq_decision_break_due_ms(dec))) &&
              put(o, "shift_end_ms", json_integer(modq_decision_shift_end_ms(dec))) &&
              put(o, "cooldown_until_ms", json_integer(modq_decision_cooldown_until_ms(dec))) &&
              put(o, "current_item", current_item(pr));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

modq_desk_result desk_json_status(const modq_desk *d, const desk_person *pr, int64_t t, bool known,
                                  json_t **status)
{
    if (!status) {
        return MODQ_DESK_OK;
    }
    *status = known ? status_json(d, pr, t) : NULL;
    return *status ? MODQ_DESK_OK : MODQ_DESK_ERR_NOMEM;
}

json_t *desk_json_member(const modq_desk *d, const desk_person *pr)
{
    bool near = false;
    json_t *o = json_object();

    /* caps_json is called inside the chain (put takes its result, even on failure), so nothing
     * leaks when an earlier step fails; it sets near before near_cap is read. */
    if (!o || !put(o, "associate", json_string(pr->id)) ||
        !put(o, "on_break", json_boolean(modq_ledger_on_break(pr->ledger))) ||
        !put(o, "allowed", json_boolean(modq_decision_allowed(d->dec))) ||
        !put(o, "reason", json_string(modq_policy_reason_name(modq_decision_reason(d->dec)))) ||
        !put(o, "caps", caps_json(d, &near)) || !put(o, "near_cap", json_boolean(near)) ||
        !put(o, "support_requested_ms", json_integer(pr->support_ms)) ||
        !put(o, "support_message", json_string(pr->support_msg ? pr->support_msg : "")) ||
        !put(o, "current_item", current_item(pr)) ||
        !put(o, "last_seen_ms", json_integer(pr->last_seen_ms))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *desk_json_team(const desk_person *lead, json_t *members, json_int_t escalations)
{
    return json_pack("{s:s,s:O,s:I}", "team", lead->team, "associates", members, "escalations",
                     escalations);
}
