/*
 * desk_view.c: how a person sees their item: its rendition at a blur level, in greyscale or in
 * colour, and the deliberate reveal of a clearer view.
 *
 * Every view is first allowed by the policy for that person at that instant, then recorded in
 * their ledger before any byte of it leaves, so the ledger never shows less than was seen.
 */
#include "desk_impl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* A typed reason has at least one character that is not white space. */
static bool has_text(const char *s)
{
    for (; s && *s; s++) {
        if (!isspace((unsigned char)*s)) {
            return true;
        }
    }
    return false;
}

/* Moves pr's view of it to level, in colour or not. A clearer level, or colour over greyscale, is
 * a reveal: policy first, then the ledger, then the audit. Back to greyscale or to a heavier level
 * is recorded too (the exposure rate drops), without an audit. */
static modq_desk_result view(modq_desk *d, desk_out *o, desk_person *pr, desk_item *it, int level,
                             bool colour, const char *reason, int64_t t, modq_desk_denial *denial)
{
    const modq_media *m = it->p->media;
    bool typed = has_text(reason);
    bool reveal = level < it->level || (colour && !it->colour);
    modq_policy_result pr_r;

    if (!m) {
        return MODQ_DESK_ERR_NOT_FOUND;
    }
    if (modq_media_rendition(m, level, NULL, NULL, NULL, NULL) != MODQ_BLUR_OK) {
        return MODQ_DESK_ERR_UNAVAILABLE;
    }
    if (level == it->level && colour == it->colour) {
        desk_item_renew(d, it, t);
        return MODQ_DESK_OK;
    }
    pr_r = modq_policy_check_reveal(d->policy, pr->ledger, pr->settings, level, colour, typed, t,
                                    d->dec);
    if (pr_r != MODQ_POLICY_OK) {
        return pr_r == MODQ_POLICY_ERR_STATE ? MODQ_DESK_ERR_STATE : MODQ_DESK_ERR_INVALID_ARG;
    }
    if (!modq_decision_allowed(d->dec)) {
        modq_policy_reason why = modq_decision_reason(d->dec);
        d->denials[why < MODQ_REASON_COUNT ? why : 0]++;
        if ((int)why != it->denied_reason || level != it->denied_level ||
            colour != it->denied_colour) {
            it->denied_reason = (int)why;
            it->denied_level = level;
            it->denied_colour = colour;
            desk_out_audit(d, o, pr, MODQ__V1__AUDIT_ACTION__AUDIT_ACTION_REVEAL_DENIED, it, level,
                           colour, modq_policy_reason_name(why), t);
        }
        if (denial) {
            *denial = (modq_desk_denial){why, modq_decision_until_ms(d->dec)};
        }
        return MODQ_DESK_ERR_DENIED;
    }
    /* Allowed, but this item's media was prepared without colour (its tier forbade it then). The
     * policy answers first, so a tier that forbids colour says so rather than "unavailable". */
    if (colour && modq_media_rendition_colour(m, level, NULL, NULL, NULL, NULL) != MODQ_BLUR_OK) {
        return MODQ_DESK_ERR_UNAVAILABLE;
    }
    pr_r = modq_ledger_reveal(pr->ledger, level, colour, t);
    if (pr_r != MODQ_POLICY_OK) {
        return pr_r == MODQ_POLICY_ERR_NOMEM ? MODQ_DESK_ERR_NOMEM : MODQ_DESK_ERR_STATE;
    }
    pr->dirty = true;
    it->level = level;
    it->colour = colour;
    it->policy_until = modq_decision_until_ms(d->dec);
    desk_item_renew(d, it, t);
    if (reveal) {
        if (level < it->max_level || it->max_level < 0) {
            it->max_level = level;
        }
        d->reveals[level]++;
        desk_out_audit(d, o, pr, MODQ__V1__AUDIT_ACTION__AUDIT_ACTION_REVEAL, it, level, colour,
                       reason, t);
    }
    return MODQ_DESK_OK;
}

/* media and reveal: the same check, with or without the bytes. */
static modq_desk_result look(modq_desk *d, const modq_desk_who *who, const char *id, int level,
                             bool colour, const char *reason, int64_t now_ms, uint8_t **data,
                             size_t *len, const char **mime, int *level_out, int64_t *lease_until,
                             modq_desk_denial *denial)
{
    desk_out o = {.n = 0};
    desk_person *pr = NULL;
    desk_item *it = NULL;
    int64_t t = now_ms;
    modq_desk_result r;

    if (!d || !id || level < -1 || level >= MODQ_POLICY_LEVELS || !desk_time_ok(now_ms) ||
        (reason && strnlen(reason, MODQ_DESK_MAX_NOTE + 1) > MODQ_DESK_MAX_NOTE)) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    pthread_mutex_lock(&d->lock);
    if ((r = desk_person_begin(d, who, now_ms, &o, &pr, &t)) != MODQ_DESK_OK ||
        (r = desk_own(d, pr, id, &it)) != MODQ_DESK_OK) {
        goto out;
    }
    if (level < 0) { /* not asked for: the heaviest, never what an earlier request left */
        level = MODQ_POLICY_LEVELS - 1;
    }
    if ((r = view(d, &o, pr, it, level, colour, reason, t, denial)) != MODQ_DESK_OK) {
        goto out;
    }
    if (data) {
        const uint8_t *src;
        size_t n;
        /* view() made sure the rendition of this level and colour exists. */
        if (colour) {
            (void)modq_media_rendition_colour(it->p->media, level, &src, &n, NULL, NULL);
        } else {
            (void)modq_media_rendition(it->p->media, level, &src, &n, NULL, NULL);
        }
        if (!(*data = malloc(n ? n : 1))) {
            r = MODQ_DESK_ERR_NOMEM;
            goto out;
        }
        memcpy(*data, src, n);
        *len = n;
        *mime = modq_media_mime(it->p->media);
        *level_out = level;
    }
    if (lease_until) {
        *lease_until = it->lease_until;
    }
out:
    if (pr) {
        (void)desk_person_end(d, &o, pr, t);
    }
    pthread_mutex_unlock(&d->lock);
    desk_out_flush(d, &o);
    return r;
}

modq_desk_result modq_desk_media(modq_desk *d, const modq_desk_who *who, const char *id, int level,
                                 bool colour, const char *typed_reason, int64_t now_ms,
                                 uint8_t **data, size_t *len, const char **mime, int *level_out,
                                 int64_t *lease_until, modq_desk_denial *denial)
{
    if (!data || !len || !mime || !level_out) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    *data = NULL;
    *len = 0;
    *mime = NULL;
    *level_out = -1;
    return look(d, who, id, level, colour, typed_reason, now_ms, data, len, mime, level_out,
                lease_until, denial);
}

modq_desk_result modq_desk_reveal(modq_desk *d, const modq_desk_who *who, const char *id, int level,
                                  bool colour, const char *typed_reason, int64_t now_ms,
                                  modq_desk_denial *denial)
{
    return look(d, who, id, level, colour, typed_reason, now_ms, NULL, NULL, NULL, NULL, NULL,
                denial);
}
