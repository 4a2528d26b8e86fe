/*
 * prepare.c: one ticket in, one outcome out. The order is chosen so that cheap refusals come
 * first (size, decoding, validation, already decided) and the one decode of the media happens
 * only for tickets that need it; the ticket's original media bytes are released as soon as the
 * renditions exist.
 */
#include "modq_common.h"
#include "prepare.h"

#include "auth/jwt.h"
#include "text.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PRIOR_LABELS 16

/* Caps on the strings of a ticket, in bytes. Names (queue, category, skills) are held as long as
 * the policy and a person's token hold theirs; a required skill no token can carry, or more of
 * them than a token holds, would keep the ticket from everyone. */
#define MAX_CONTENT_ID 256
#define MAX_NAME       (MODQ_POLICY_NAME_MAX - 1)
#define MAX_LOCALE     (MODQ_JWT_MAX_NAME - 1)
#define MAX_TRACE_ID   128
#define MAX_SOURCE     128
#define MAX_REASON     4096
#define MAX_TEXT       65536
#define MAX_SKILLS     MODQ_JWT_MAX_LIST
#define MAX_ATTRIBUTES 64
#define MAX_ATTR_KEY   128
#define MAX_ATTR_VALUE 4096
#define MAX_URI        4096
#define MAX_MIME       255

/* A ticket id that passes is remembered whole by the decided set and the worker's records. */
_Static_assert(MODQ_DECIDED_MAX_ID >= MODQ_TEXT_TICKET_ID_MAX, "ticket ids must fit the sets");

/* protobuf-c declares string fields as char *; our strings are const and are only read. */

__attribute__((format(printf, 3, 4))) static modq_prepared *
dead_letter(modq_prepared *p, const char *code, const char *fmt, ...)
{
    va_list ap;

    p->kind = MODQ_PREPARED_DEAD_LETTER;
    snprintf(p->code, sizeof(p->code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
    va_end(ap);
    return p;
}

/*
 * One string field by text.c's rule: kind, at most max bytes, required or not. On refusal, why
 * (why_size bytes) names the field and the rule, never the content, which may be hostile. Unset
 * proto3 strings are "", never NULL; NULL is taken as "" all the same.
 */
static bool field_ok(const char *name, const char *s, modq_text_kind kind, size_t max,
                     bool required, char *why, size_t why_size)
{
    size_t n = s ? strlen(s) : 0;
    modq_text_result r = MODQ_TEXT_OK;

    if (n == 0 && required) {
        r = MODQ_TEXT_ERR_EMPTY;
    } else if (n > 0) {
        r = modq_text_check(kind, s, n, max);
    }
    if (r == MODQ_TEXT_OK) {
        return true;
    }
    if (kind == MODQ_TEXT_ID) {
        snprintf(why, why_size, "%s: %s (%s1-%zu printable ASCII characters, not . or ..)", name,
                 modq_text_strerror(r), required ? "" : "when set, ", max);
    } else {
        snprintf(why, why_size, "%s: %s (%sat most %zu bytes of UTF-8 %s)", name,
                 modq_text_strerror(r), required ? "required, " : "", max,
                 kind == MODQ_TEXT_NAME ? "on one line, without control characters"
                                        : "text, without control characters but tab and newlines");
    }
    return false;
}

/* Every string of the ticket, before anything is built from it. */
static bool strings_ok(const Modq__V1__Ticket *t, char *why, size_t size)
{
    char name[48];

    /* The ticket id rule is the routes' too (modq_text_ticket_id). */
    if (!field_ok("ticket_id", t->ticket_id, MODQ_TEXT_ID, MODQ_TEXT_TICKET_ID_MAX, true, why,
                  size) ||
        !field_ok("content_id", t->content_id, MODQ_TEXT_ID, MAX_CONTENT_ID, true, why, size) ||
        !field_ok("queue", t->queue, MODQ_TEXT_NAME, MAX_NAME, true, why, size) ||
        !field_ok("category", t->category, MODQ_TEXT_NAME, MAX_NAME, false, why, size) ||
        !field_ok("locale", t->locale, MODQ_TEXT_ID, MAX_LOCALE, false, why, size) ||
        !field_ok("reporter_reason", t->reporter_reason, MODQ_TEXT_FREE, MAX_REASON, false, why,
                  size) ||
        !field_ok("text", t->text, MODQ_TEXT_FREE, MAX_TEXT, false, why, size) ||
        !field_ok("trace_id", t->trace_id, MODQ_TEXT_ID, MAX_TRACE_ID, false, why, size) ||
        !field_ok("source", t->source, MODQ_TEXT_NAME, MAX_SOURCE, false, why, size)) {
        return false;
    }
    if (t->n_required_skills > MAX_SKILLS) {
        snprintf(why, size, "required_skills: more than %d", MAX_SKILLS);
        return false;
    }
    for (size_t i = 0; i < t->n_required_skills; i++) {
        snprintf(name, sizeof(name), "required_skills[%zu]", i);
        if (!field_ok(name, t->required_skills[i], MODQ_TEXT_NAME, MAX_NAME, true, why, size)) {
            return false;
        }
    }
    if (t->n_attributes > MAX_ATTRIBUTES) {
        snprintf(why, size, "attributes: more than %d", MAX_ATTRIBUTES);
        return false;
    }
    for (size_t i = 0; i < t->n_attributes; i++) {
        const Modq__V1__Ticket__AttributesEntry *e = t->attributes[i];
        snprintf(name, sizeof(name), "attributes[%zu].key", i);
        if (!field_ok(name, e->key, MODQ_TEXT_NAME, MAX_ATTR_KEY, true, why, size)) {
            return false;
        }
        snprintf(name, sizeof(name), "attributes[%zu].value", i);
        if (!field_ok(name, e->value, MODQ_TEXT_FREE, MAX_ATTR_VALUE, false, why, size)) {
            return false;
        }
    }
    if (!t->media) {
        return true;
    }
    if (t->media->source_case == MODQ__V1__MEDIA__SOURCE_URI &&
        !field_ok("media.uri", t->media->uri, MODQ_TEXT_ID, MAX_URI, true, why, size)) {
        return false;
    }
    return field_ok("media.claimed_mime_type", t->media->claimed_mime_type, MODQ_TEXT_NAME,
                    MAX_MIME, false, why, size);
}

/*
 * No field of m, or of a message in it, is numbered 0. protobuf-c keeps such a field as an
 * unknown one where other parsers refuse the message, and packs it again as bytes that it then
 * refuses itself: a ticket carrying one would be accepted here and its review record would be
 * unreadable on the desk. The schema nests a few levels; depth bounds the walk all the same.
 */
static bool numbered_ok(const ProtobufCMessage *m, int depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;

    for (unsigned i = 0; i < m->n_unknown_fields; i++) {
        if (m->unknown_fields[i].tag == 0) {
            return false;
        }
    }
    for (unsigned i = 0; i < d->n_fields && depth > 0; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        ProtobufCMessage *const *subs = (ProtobufCMessage *const *)(base + f->offset);
        size_t n = 1;

        if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
            continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *)(base + f->quantifier_offset);
            subs = *(ProtobufCMessage *const *const *)(base + f->offset);
        } else if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                   *(const uint32_t *)(base + f->quantifier_offset) != f->id) {
            continue; /* another member of the oneof is set: the pointer is not this one */
        }
        for (size_t k = 0; k < n; k++) {
            if (subs[k] != NULL && !numbered_ok(subs[k], depth - 1)) {
                return false;
            }
        }
    }
    return true;
}

bool modq_prepare_ticket_ok(const Modq__V1__Ticket *t, char *why, size_t size)
{
    if (!numbered_ok(&t->base, 4)) {
        snprintf(why, size, "a field numbered 0 (not valid protobuf)");
        return false;
    }
    if (!strings_ok(t, why, size)) {
        return false;
    }
    if (t->severity_hint < 0 || t->severity_hint > 4) {
        snprintf(why, size, "severity_hint: out of range");
    } else if (t->media && t->media->source_case == MODQ__V1__MEDIA__SOURCE__NOT_SET) {
        snprintf(why, size, "media: neither inline_bytes nor uri set");
    } else if (t->media && t->media->source_case == MODQ__V1__MEDIA__SOURCE_INLINE_BYTES &&
               t->media->inline_bytes.len == 0) {
        snprintf(why, size, "media.inline_bytes: empty");
    } else {
        return true;
    }
    return false;
}

/* Frees the inline media bytes: from here on, only hashes and renditions remain. */
static void release_inline(Modq__V1__Ticket *t)
{
    if (t->media && t->media->source_case == MODQ__V1__MEDIA__SOURCE_INLINE_BYTES) {
        free(t->media->inline_bytes.data);
        t->media->inline_bytes.data = NULL;
        t->media->inline_bytes.len = 0;
    }
}

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

/*
 * The options this ticket's media is made with: the shared ones, with a colour ladder exactly when
 * the tier of its queue allows colour views. Other tiers (tier 4 in the shipped policy) get
 * greyscale renditions only, whatever the shared options say, so no colour pixels of them outlive
 * the decode. *own is the copy made when the shared options do not fit (caller frees with
 * modq_opts_free) or NULL. Returns NULL when out of memory.
 */
static const modq_media_opts *media_opts_for(const modq_prepare_ctx *ctx, size_t qi,
                                             modq_media_opts **own)
{
    const modq_media_opts *shared = ctx->media_opts;
    bool allow =
        modq_policy_tier_colour_allowed(ctx->policy, modq_policy_queue_tier(ctx->policy, qi));
    bool asks = modq_opts_get(shared, MODQ_OPT_COLOUR) == 1 ||
                modq_opts_get(shared, MODQ_OPT_COLOUR_TOO) == 1;

    *own = NULL;
    if (allow == asks) {
        return shared;
    }
    if (!(*own = modq_opts_copy(shared)) ||
        modq_opts_set(*own, MODQ_OPT_COLOUR_TOO, allow) != MODQ_BLUR_OK ||
        (!allow && modq_opts_set(*own, MODQ_OPT_COLOUR, 0) != MODQ_BLUR_OK)) {
        modq_opts_free(*own);
        *own = NULL;
        return NULL;
    }
    return *own;
}

/* Renders what process deferred; media processed without deferral is already rendered. */
static modq_blur_result render_deferred(modq_media *m, const modq_media_opts *opts, char *errstr,
                                        size_t errstr_size)
{
    if (!modq_opts_get(opts, MODQ_OPT_DEFER_RENDER)) {
        return MODQ_BLUR_OK;
    }
    return modq_media_render(m, opts, errstr, errstr_size);
}

/* Gets the media bytes: the ticket's own, or fetched (then *owned is set: caller frees). */
static int media_bytes(const modq_prepare_ctx *ctx, modq_prepared *p, const uint8_t **data,
                       size_t *len, uint8_t **owned)
{
    const Modq__V1__Media *m = p->ticket->media;
    char err[320];
    modq_fetch_result r;

    *owned = NULL;
    if (m->source_case == MODQ__V1__MEDIA__SOURCE_INLINE_BYTES) {
        *data = m->inline_bytes.data;
        *len = m->inline_bytes.len;
        return 0;
    }
    if (!ctx->fetch) {
        dead_letter(p, modq_fetch_code(MODQ_FETCH_ERR_SCHEME), "media by URI is not configured");
        return -1;
    }
    if ((r = modq_fetch_get(ctx->fetch, m->uri, owned, len, err, sizeof(err))) != MODQ_FETCH_OK) {
        dead_letter(p, modq_fetch_code(r), "media fetch: %s", err);
        return -1;
    }
    *data = *owned;
    return 0;
}

/* Looks up what the decided set knows, copying it out under the lock. */
static int lookup_decided(const modq_prepare_ctx *ctx, modq_prepared *p, const uint8_t *sha256,
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

/* No exact copy was decided: a near one (PDQ within ctx->near_distance) decided with a verdict
 * that is re-applied becomes p's prior decision. no_violation never is: a copy that is close may
 * still differ where it matters. */
static void lookup_near(const modq_prepare_ctx *ctx, modq_prepared *p,
                        const uint8_t (*probe)[MODQ_PDQ_BYTES], char *labels, size_t labels_size,
                        prior_match *m)
{
    modq_decided_prior prior;
    unsigned verdicts = ctx->auto_verdicts & ~(1u << MODQ__V1__VERDICT__VERDICT_NO_VIOLATION);

    if (!ctx->decided || ctx->near_distance <= 0 || p->has_prior || verdicts == 0 ||
        modq_media_pdq_quality(p->media) < MODQ_BANKS_MIN_PDQ_QUALITY) {
        return;
    }
    pthread_mutex_lock(ctx->decided_lock);
    if (modq_decided_find_near(ctx->decided, probe, ctx->near_distance, verdicts, &prior,
                               &m->distance, m->hash_hex)) {
        p->has_prior = 1;
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
    if (*ctx->banks && (matched = modq_banks_match(*ctx->banks, modq_media_sha256(p->media),
                                                   modq_media_md5(p->media), probe,
                                                   modq_media_pdq_quality(p->media), &match))) {
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

static modq_prepared *decide_or_review(const modq_prepare_ctx *ctx, modq_prepared *p,
                                       int64_t now_ms)
{
    const uint8_t *sha = p->media ? modq_media_sha256(p->media) : NULL;
    char labels[MODQ_DECIDED_MAX_LABELS + 1] = "";
    uint8_t probe[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES];
    prior_match m = {"", 0, "sha256"};
    int failed = 0;

    if (lookup_decided(ctx, p, sha, labels, sizeof(labels))) {
        return p;
    }
    if (p->media) {
        snprintf(m.hash_hex, sizeof(m.hash_hex), "%s", modq_media_sha256_hex(p->media));
        for (int v = 0; v < MODQ_PDQ_DIHEDRAL; v++) {
            memcpy(probe[v], modq_media_pdq_dihedral(p->media, v), MODQ_PDQ_BYTES);
        }
        if (match_banks(ctx, p, (const uint8_t(*)[MODQ_PDQ_BYTES])probe, now_ms, &failed)) {
            return failed ? NULL : p;
        }
        lookup_near(ctx, p, (const uint8_t(*)[MODQ_PDQ_BYTES])probe, labels, sizeof(labels), &m);
    }
    if (p->has_prior && p->prior_verdict >= 0 && p->prior_verdict < 32 &&
        (ctx->auto_verdicts & (1u << p->prior_verdict))) {
        return reapply(ctx, p, labels, &m, now_ms);
    }
    p->kind = MODQ_PREPARED_REVIEW;
    return p;
}

modq_prepared *modq_prepare_ticket(const modq_prepare_ctx *ctx, const void *msg, size_t len,
                                   int64_t now_ms)
{
    modq_prepared *p = calloc(1, sizeof(*p));
    char why[sizeof(p->reason)];
    const uint8_t *bytes = NULL;
    uint8_t *owned = NULL;
    size_t nbytes = 0;
    char err[320];
    const modq_media_opts *opts = ctx->media_opts;
    modq_media_opts *own_opts = NULL; /* this ticket's copy of the options, when it needs one */
    modq_blur_result br;

    if (!p) {
        return NULL;
    }
    p->queue_index = -1;
    if (len > ctx->max_message_bytes) {
        return dead_letter(p, MODQ_DLQ_MESSAGE_TOO_LARGE, "message of %zu bytes > %zu", len,
                           ctx->max_message_bytes);
    }
    if (!(p->ticket = modq__v1__ticket__unpack(NULL, len, msg))) {
        return dead_letter(p, MODQ_DLQ_MALFORMED, "not a modq.v1.Ticket protobuf");
    }
    if (!modq_prepare_ticket_ok(p->ticket, why, sizeof(why))) {
        return dead_letter(p, MODQ_DLQ_INVALID, "%s", why);
    }
    if ((p->queue_index = modq_policy_queue_find(ctx->policy, p->ticket->queue)) < 0) {
        return dead_letter(p, MODQ_DLQ_UNKNOWN_QUEUE, "queue '%.100s' is not in policy %s",
                           p->ticket->queue, modq_policy_version(ctx->policy));
    }
    /* Already decided: nothing else to do, and nobody must see it again. */
    if (lookup_decided(ctx, p, NULL, err, sizeof(err))) {
        return p;
    }
    if (p->ticket->media) {
        /* Chosen before the decode: without deferral, process renders everything at once. */
        if (!(opts = media_opts_for(ctx, (size_t)p->queue_index, &own_opts))) {
            modq_prepared_free(p); /* out of memory: retried later, the message is in Kafka */
            p = NULL;
            goto out;
        }
        if (media_bytes(ctx, p, &bytes, &nbytes, &owned)) {
            goto out;
        }
        br = ctx->sandbox ? modq_sandbox_process(ctx->sandbox, opts, bytes, nbytes, &p->media, err,
                                                 sizeof(err))
                          : modq_media_process(opts, bytes, nbytes, &p->media, err, sizeof(err));
        free(owned);
        release_inline(p->ticket);
        if (br != MODQ_BLUR_OK) {
            dead_letter(p, modq_blur_code(br), "media: %s", err);
            goto out;
        }
    }
    if (!decide_or_review(ctx, p, now_ms)) {
        modq_prepared_free(p);
        p = NULL;
        goto out;
    }
    /* With deferred rendering, only tickets a person will see pay for renditions. */
    if (p->media && p->kind == MODQ_PREPARED_REVIEW) {
        br = render_deferred(p->media, opts, err, sizeof(err));
        if (br != MODQ_BLUR_OK) {
            dead_letter(p, modq_blur_code(br), "media: %s", err);
        }
    } else {
        modq_media_release_image(p->media);
    }
out:
    modq_opts_free(own_opts);
    return p;
}

void modq_prepared_free(modq_prepared *p)
{
    if (!p) {
        return;
    }
    if (p->ticket) {
        modq__v1__ticket__free_unpacked(p->ticket, NULL);
    }
    modq_media_free(p->media);
    free(p->decision);
    free(p->escalation_note);
    free(p);
}
