/*
 * prepare.c: one ticket in, one outcome out. The order is chosen so that cheap refusals come
 * first (size, decoding, validation, already decided) and the one decode of the media happens
 * only for tickets that need it; the ticket's original media bytes are released as soon as the
 * renditions exist.
 */
#include "modq_common.h"
#include "prepare_impl.h"

#include "auth/jwt.h"
#include "text.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static bool banks_have_md5(const modq_prepare_ctx *ctx)
{
    bool any;

    if (!ctx->banks) {
        return false;
    }
    pthread_rwlock_rdlock(ctx->banks_lock);
    any = *ctx->banks && modq_banks_count_of(*ctx->banks, MODQ_BANK_MD5) > 0;
    pthread_rwlock_unlock(ctx->banks_lock);
    return any;
}

/* What a ticket's media needs at the start: the options it is decoded with (*opts: ctx's, or
 * a copy of them in *own_opts, caller frees), its bytes read and hashed, and a decision on the
 * digests alone when they decide it. Then the decode. Returns 0 to go on (p is decided, a dead
 * letter, or has its media), -1 when out of memory (p is left to the caller to free). */
static int prepare_media(const modq_prepare_ctx *ctx, modq_prepared *p, int64_t now_ms,
                         const modq_media_opts **opts, modq_media_opts **own_opts)
{
    const uint8_t *bytes = NULL;
    uint8_t *owned = NULL;
    size_t nbytes = 0;
    char err[320];
    modq_blur_result br;
    int failed = 0;

    /* Chosen before the decode: without deferral, process renders everything at once. */
    if (!(*opts = media_opts_for(ctx, (size_t)p->queue_index, own_opts))) {
        return -1; /* retried later, the message is in Kafka */
    }
    if (media_bytes(ctx, p, &bytes, &nbytes, &owned)) {
        return 0;
    }
    /* Hash before decode: known media costs a digest, not a decode (a bank of known abuse
     * imagery matches most by SHA-256). MD5 costs twice what SHA-256 does (with SHA-NI): only
     * when a bank lists one. */
    p->has_md5 = banks_have_md5(ctx);
    if (modq_digest_compute(bytes, nbytes, p->sha256, p->has_md5 ? p->md5 : NULL) == MODQ_BLUR_OK) {
        p->has_digests = true;
        if (prepare_decide_by_digests(ctx, p, now_ms, &failed)) {
            free(owned);
            release_inline(p->ticket);
            return failed ? -1 : 0;
        }
    }
    br = ctx->sandbox
             ? modq_sandbox_process(ctx->sandbox, *opts, bytes, nbytes, &p->media, err, sizeof(err))
             : modq_media_process(*opts, bytes, nbytes, &p->media, err, sizeof(err));
    free(owned);
    release_inline(p->ticket);
    if (br != MODQ_BLUR_OK) {
        dead_letter(p, modq_blur_code(br), "media: %s", err);
    }
    return 0;
}

modq_prepared *modq_prepare_ticket(const modq_prepare_ctx *ctx, const void *msg, size_t len,
                                   int64_t now_ms)
{
    modq_prepared *p = calloc(1, sizeof(*p));
    char why[sizeof(p->reason)];
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
    if (prepare_lookup_decided(ctx, p, NULL, err, sizeof(err))) {
        return p;
    }
    if (p->ticket->media && prepare_media(ctx, p, now_ms, &opts, &own_opts) != 0) {
        modq_prepared_free(p);
        p = NULL;
        goto out;
    }
    if (p->kind != MODQ_PREPARED_REVIEW) { /* a dead letter, or decided by its digests */
        goto out;
    }
    if (!prepare_decide_or_review(ctx, p, now_ms)) {
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
