/*
 * prepare_decide.c: the decisions preparation makes without a person. A ticket's media that a
 * hash bank lists, or that is the same as or a near copy of media already decided, is decided the
 * way the bank or the earlier decision says; the digests of the bytes are checked before any
 * decode, the perceptual hash after it. Everything else goes to review.
 */
#include "modq_common.h"
#include "prepare_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PRIOR_LABELS 16

typedef struct auto_decision {
    int verdict;
    Modq__V1__DecisionSource source;
    const char *kind; /* the hash that matched: sha256, md5, pdq */
    const char *decided_by;
    const char *const *labels;
    size_t nlabels;
    const char *matched_hash;
    int distance;
    const char *prior_ticket_id;
} auto_decision;

static int pack_decision(const modq_prepare_ctx *ctx, modq_prepared *p, const auto_decision *a,
                         int64_t now_ms)
{
    const Modq__V1__Ticket *t = p->ticket;
    Modq__V1__Decision d;
    Modq__V1__Hashes h;
    char sha_hex[2 * MODQ_SHA256_LEN + 1], md5_hex[2 * MODQ_MD5_LEN + 1];

    /* The __init functions, not the INIT macros: those cast away const on the empty string. */
    modq__v1__decision__init(&d);
    modq__v1__hashes__init(&h);
    d.ticket_id = t->ticket_id;
    d.content_id = t->content_id;
    d.verdict = (Modq__V1__Verdict)a->verdict;
    d.policy_labels = (char **)(uintptr_t)a->labels;
    d.n_policy_labels = a->nlabels;
    d.decided_by = MODQ_UNCONST(a->decided_by);
    d.auto_decided = 1;
    if (p->media) {
        h.sha256 = MODQ_UNCONST(modq_media_sha256_hex(p->media));
        h.md5 = MODQ_UNCONST(modq_media_md5_hex(p->media));
        h.pdq = MODQ_UNCONST(modq_media_pdq_hex(p->media));
        h.pdq_quality = modq_media_pdq_quality(p->media);
        d.hashes = &h;
    } else if (p->has_digests) {
        /* Decided by its digests before any decode: the PDQ hash (and the MD5 when no bank lists
         * one) was never computed, and is left empty rather than made up. */
        modq_digest_hex(p->sha256, sizeof(p->sha256), sha_hex);
        md5_hex[0] = '\0';
        if (p->has_md5) {
            modq_digest_hex(p->md5, sizeof(p->md5), md5_hex);
        }
        h.sha256 = sha_hex;
        h.md5 = md5_hex;
        d.hashes = &h;
    }
    d.max_reveal_level = -1; /* nobody saw it */
    d.policy_version = MODQ_UNCONST(modq_policy_version(ctx->policy));
    d.decided_at_ms = now_ms;
    d.decision_source = a->source;
    d.queue = t->queue;
    d.category = MODQ_UNCONST(modq_policy_queue_category(ctx->policy, (size_t)p->queue_index));
    d.trace_id = t->trace_id;
    d.matched_hash = MODQ_UNCONST(a->matched_hash ? a->matched_hash : "");
    d.match_distance = a->distance;
    d.prior_ticket_id = MODQ_UNCONST(a->prior_ticket_id ? a->prior_ticket_id : "");
    d.worker_id = MODQ_UNCONST(ctx->worker_id ? ctx->worker_id : "");
    p->decision_len = modq__v1__decision__get_packed_size(&d);
    if (!(p->decision = malloc(p->decision_len ? p->decision_len : 1))) {
        return -1;
    }
    modq__v1__decision__pack(&d, p->decision);
    p->kind = MODQ_PREPARED_AUTO;
    p->verdict = a->verdict;
    p->auto_source = a->source == MODQ__V1__DECISION_SOURCE__DECISION_SOURCE_HASH_BANK
                         ? "hash_bank"
                         : "prior_decision";
    p->auto_kind = a->kind;
    if (a->source == MODQ__V1__DECISION_SOURCE__DECISION_SOURCE_HASH_BANK) {
        snprintf(p->auto_bank, sizeof(p->auto_bank), "%s", a->decided_by);
    }
    return 0;
}

/* Looks up what the decided set knows, copying it out under the lock. */
int prepare_lookup_decided(const modq_prepare_ctx *ctx, modq_prepared *p, const uint8_t *sha256,
                           char *labels, size_t labels_size)
{
    modq_decided_prior prior;
    int dup = 0, found = 0;

    if (!ctx->decided) {
        return 0;
    }
    pthread_mutex_lock(ctx->decided_lock);
    dup = modq_decided_has_ticket(ctx->decided, p->ticket->ticket_id);
    if (!dup && sha256 && modq_decided_find_media(ctx->decided, sha256, &prior)) {
        found = 1;
        p->prior_verdict = prior.verdict;
        p->prior_decided_at_ms = prior.decided_at_ms;
        snprintf(p->prior_ticket_id, sizeof(p->prior_ticket_id), "%s", prior.ticket_id);
        snprintf(labels, labels_size, "%s", prior.labels);
    }
    pthread_mutex_unlock(ctx->decided_lock);
    if (dup) {
        p->kind = MODQ_PREPARED_DUPLICATE;
    }
    p->has_prior = found;
    return dup;
}

/* The prior decision's match: the media's SHA-256 (an exact copy) or a near copy's PDQ hash. */
typedef struct prior_match {
    char hash_hex[MODQ_PDQ_HEX_LEN + 1];
    int distance;
    const char *kind; /* sha256 or pdq */
} prior_match;

/* No exact copy was decided: the nearest copy (PDQ within MODQ_PDQ_DEFAULT_THRESHOLD) of media
 * found violating becomes p's prior decision. Within ctx->near_distance it is re-applied when its
 * verdict is one of ctx->auto_verdicts; farther, it is shown beside the item. A copy of media
 * found fine is neither: a copy that is close may still differ where it matters. */
static void lookup_near(const modq_prepare_ctx *ctx, modq_prepared *p,
                        const uint8_t (*probe)[MODQ_PDQ_BYTES], char *labels, size_t labels_size,
                        prior_match *m)
{
    modq_decided_prior prior;
    unsigned violations = ~(1u << MODQ__V1__VERDICT__VERDICT_NO_VIOLATION) &
                          ~(1u << MODQ__V1__VERDICT__VERDICT_UNSPECIFIED);

    if (!ctx->decided || p->has_prior ||
        modq_media_pdq_quality(p->media) < MODQ_BANKS_MIN_PDQ_QUALITY) {
        return;
    }
    pthread_mutex_lock(ctx->decided_lock);
    if (modq_decided_find_near(ctx->decided, probe, MODQ_PDQ_DEFAULT_THRESHOLD, violations, &prior,
                               &m->distance, m->hash_hex)) {
        p->has_prior = 1;
        p->prior_distance = m->distance;
        p->prior_verdict = prior.verdict;
        p->prior_decided_at_ms = prior.decided_at_ms;
        snprintf(p->prior_ticket_id, sizeof(p->prior_ticket_id), "%s", prior.ticket_id);
        snprintf(labels, labels_size, "%s", prior.labels);
        m->kind = "pdq";
    }
    pthread_mutex_unlock(ctx->decided_lock);
}

/* A bank's match decides p: 1 (p's decision packed, or *failed when out of memory), else 0. */
static int match_banks(const modq_prepare_ctx *ctx, modq_prepared *p,
                       const uint8_t (*probe)[MODQ_PDQ_BYTES], int64_t now_ms, int *failed)
{
    modq_bank_match match;
    int matched = 0;

    if (!ctx->banks) {
        return 0;
    }
    /* The match points into the banks: held until the decision is packed. */
    pthread_rwlock_rdlock(ctx->banks_lock);
    if (*ctx->banks && (matched = modq_banks_match(
                            *ctx->banks, p->media ? modq_media_sha256(p->media) : p->sha256,
                            p->media ? modq_media_md5(p->media) : (p->has_md5 ? p->md5 : NULL),
                            probe, p->media ? modq_media_pdq_quality(p->media) : 0, &match))) {
        static const char *const kinds[] = {"sha256", "md5", "pdq"};
        auto_decision a = {.verdict = match.verdict,
                           .source = MODQ__V1__DECISION_SOURCE__DECISION_SOURCE_HASH_BANK,
                           .kind = kinds[match.type],
                           .decided_by = match.bank,
                           .labels = match.labels,
                           .nlabels = match.labels_count,
                           .matched_hash = match.hash_hex,
                           .distance = match.distance};
        p->has_prior = 0;
        *failed = pack_decision(ctx, p, &a, now_ms);
    }
    pthread_rwlock_unlock(ctx->banks_lock);
    return matched;
}

/* Whether p's prior decision has a verdict that is re-applied (one of ctx->auto_verdicts). */
static bool reapplies(const modq_prepare_ctx *ctx, const modq_prepared *p)
{
    return p->has_prior && p->prior_verdict >= 0 && p->prior_verdict < 32 &&
           (ctx->auto_verdicts & (1u << p->prior_verdict));
}

/* p's prior decision re-applied (its verdict is one of ctx->auto_verdicts): NULL when out of
 * memory, else p, decided. */
static modq_prepared *reapply(const modq_prepare_ctx *ctx, modq_prepared *p, char *labels,
                              const prior_match *m, int64_t now_ms)
{
    const char *list[MAX_PRIOR_LABELS];
    size_t n = 0;
    char *save = NULL;
    auto_decision a = {.verdict = p->prior_verdict,
                       .source = MODQ__V1__DECISION_SOURCE__DECISION_SOURCE_PRIOR_DECISION,
                       .kind = m->kind,
                       .decided_by = "prior-decision",
                       .matched_hash = m->hash_hex,
                       .distance = m->distance,
                       .prior_ticket_id = p->prior_ticket_id};

    for (char *tok = strtok_r(labels, ",", &save); tok && n < MAX_PRIOR_LABELS;
         tok = strtok_r(NULL, ",", &save)) {
        list[n++] = tok;
    }
    a.labels = list;
    a.nlabels = n;
    p->has_prior = 0;
    return pack_decision(ctx, p, &a, now_ms) ? NULL : p;
}

/*
 * Before any decode: the digests of the media's bytes against the banks' exact hashes and the
 * decided set. A hit is decided here, and the media is never decoded: 1 (decided, or *failed
 * when out of memory), else 0 and nothing is kept (the decode comes next, then every check).
 */
int prepare_decide_by_digests(const modq_prepare_ctx *ctx, modq_prepared *p, int64_t now_ms,
                              int *failed)
{
    char labels[MODQ_DECIDED_MAX_LABELS + 1] = "";
    prior_match m = {"", 0, "sha256"};

    if (match_banks(ctx, p, NULL, now_ms, failed)) {
        return 1;
    }
    prepare_lookup_decided(ctx, p, p->sha256, labels, sizeof(labels));
    if (reapplies(ctx, p)) {
        modq_digest_hex(p->sha256, sizeof(p->sha256), m.hash_hex);
        *failed = reapply(ctx, p, labels, &m, now_ms) == NULL;
        return 1;
    }
    p->has_prior = 0; /* looked up again once decoded, with the rest */
    return 0;
}

modq_prepared *prepare_decide_or_review(const modq_prepare_ctx *ctx, modq_prepared *p,
                                        int64_t now_ms)
{
    const uint8_t *sha = p->media ? modq_media_sha256(p->media) : NULL;
    char labels[MODQ_DECIDED_MAX_LABELS + 1] = "";
    prior_match m = {"", 0, "sha256"};
    int failed = 0;

    if (prepare_lookup_decided(ctx, p, sha, labels, sizeof(labels))) {
        return p;
    }
    if (p->media) {
        snprintf(m.hash_hex, sizeof(m.hash_hex), "%s", modq_media_sha256_hex(p->media));
        if (match_banks(ctx, p, modq_media_pdq_variants(p->media), now_ms, &failed)) {
            return failed ? NULL : p;
        }
        lookup_near(ctx, p, modq_media_pdq_variants(p->media), labels, sizeof(labels), &m);
    }
    if (reapplies(ctx, p) &&
        (p->prior_distance == 0 ||
         p->prior_distance <= modq_policy_queue_near_copy_distance(
                                  ctx->policy, (size_t)p->queue_index, ctx->near_distance))) {
        return reapply(ctx, p, labels, &m, now_ms);
    }
    p->kind = MODQ_PREPARED_REVIEW;
    return p;
}
