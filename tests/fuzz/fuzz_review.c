/*
 * fuzz_review.c: a record of the review topic as a desk pod reads it (modq_review_item_unpack):
 * the ticket a prepare pod made ready, the hashes and finished renditions of its media, a prior
 * decision and an escalation, all untrusted. A review item is then packed again
 * (modq_review_item_pack) and unpacked, and taken through a desk: added, handed out by
 * /v1/next's call (from the escalations queue, by a lead of its team, when it is escalated),
 * its heaviest rendition served, decided.
 *
 * Input: a packed modq.v1.ReviewItem. The context is the shipped policy.
 *
 * Invariants: the outcome is a review item or a dead letter, never NULL (ASan aborts on a failed
 * allocation before NULL could mean "out of memory"); a dead letter has the code
 * invalid_review_item or unknown_queue and a one-line reason; a review item has a ticket that
 * keeps the ingest rules, no media bytes, a queue of the policy, and media (when present) whose
 * every rendition is within the display size, starts with the magic bytes of its format, and
 * whose grey ladder is not empty; packing it and unpacking the record gives the same ticket,
 * queue, prior decision, escalation, hashes and renditions; the desk takes it, hands it to a
 * person with every role and skill it needs, serves what it has rendered, and lets them decide.
 */
#include "fuzz_desk.h"
#include "fuzz_util.h"
#include "prepare/review_item.h"

#define T0        INT64_C(1767603600000)       /* 2026-01-05T09:00:00Z */
#define MAX_SKILL (2 * MODQ_POLICY_MAX_SKILLS) /* a queue's, and a ticket's (ingest rule) */
/* Below this an item's record packs again whole: the packer only adds its source fields. */
#define REPACK_ROOM (MODQ_REVIEW_ITEM_MAX_BYTES - 4096)

typedef struct fz_state {
    modq_policy *policy;
} fz_state;

static fz_state st;

static void cleanup(void)
{
    modq_policy_free(st.policy);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[1024], err[512];

    (void)argc, (void)argv;
    if (modq_policy_load_file(fz_source_path("policy/default.yaml", path, sizeof(path)), &st.policy,
                              err, sizeof(err)) != MODQ_POLICY_OK) {
        fz_setup_fail("%s", err);
    }
    atexit(cleanup);
    return 0;
}

/* ---- The outcome ------------------------------------------------------------------------- */

static bool one_line(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return false;
        }
    }
    return true;
}

static void check_dead(const modq_prepared *p)
{
    if (strcmp(p->code, MODQ_DLQ_REVIEW_INVALID) != 0 &&
        strcmp(p->code, MODQ_DLQ_UNKNOWN_QUEUE) != 0) {
        fz_fail("a dead letter with the code '%s'", p->code);
    }
    if (!p->reason[0] || !one_line(p->reason)) {
        fz_fail("a dead letter (%s) without a one-line reason: '%s'", p->code, p->reason);
    }
    if (p->decision) {
        fz_fail("a dead letter with a decision");
    }
}

/* Every rendition of m is within the display size and a file of m's rendition format; the grey
 * ladder has one at least. */
static void check_media(const modq_media *m)
{
    bool jpeg = modq_media_rendition_format(m) == MODQ_FORMAT_JPEG;
    int grey = 0;

    for (int k = 0; k < 2 * MODQ_LEVEL_COUNT; k++) {
        int lv = k % MODQ_LEVEL_COUNT, w = 0, h = 0;
        bool colour = k >= MODQ_LEVEL_COUNT;
        const uint8_t *b = NULL;
        size_t n = 0;
        modq_blur_result r = colour ? modq_media_rendition_colour(m, lv, &b, &n, &w, &h)
                                    : modq_media_rendition(m, lv, &b, &n, &w, &h);
        if (r != MODQ_BLUR_OK) {
            continue;
        }
        grey += !colour;
        if (w < 1 || h < 1 || w > modq_media_display_width(m) || h > modq_media_display_height(m)) {
            fz_fail("%s level %d is %dx%d, display %dx%d", colour ? "colour" : "grey", lv, w, h,
                    modq_media_display_width(m), modq_media_display_height(m));
        }
        if (jpeg ? n < 3 || b[0] != 0xff || b[1] != 0xd8 || b[2] != 0xff
                 : n < 12 || memcmp(b, "RIFF", 4) != 0 || memcmp(b + 8, "WEBP", 4) != 0) {
            fz_fail("%s level %d (%zu bytes) is not a %s file", colour ? "colour" : "grey", lv, n,
                    modq_media_mime(m));
        }
    }
    if (grey == 0) {
        fz_fail("media without a grey rendition");
    }
}

static void check_review(const modq_prepared *p)
{
    char why[320] = "";

    if (!p->ticket || p->ticket->media) {
        fz_fail("a review item without its ticket, or with media bytes");
    }
    if (!modq_prepare_ticket_ok(p->ticket, why, sizeof(why))) {
        fz_fail("a review item whose ticket breaks the ingest rules: %s", why);
    }
    if (p->queue_index < 0 || (size_t)p->queue_index >= modq_policy_queue_count(st.policy) ||
        strcmp(modq_policy_queue_name(st.policy, (size_t)p->queue_index), p->ticket->queue) != 0) {
        fz_fail("a review item of queue index %d for queue '%s'", p->queue_index, p->ticket->queue);
    }
    if (p->code[0] || p->reason[0] || p->decision) {
        fz_fail("a review item with a dead-letter code, a reason or a decision");
    }
    if (p->media) {
        check_media(p->media);
    }
}

/* ---- Pack and unpack again --------------------------------------------------------------- */

/* t packed (caller frees). */
static uint8_t *ticket_bytes(const Modq__V1__Ticket *t, size_t *len)
{
    uint8_t *b;

    *len = modq__v1__ticket__get_packed_size(t);
    if (!(b = malloc(*len ? *len : 1))) {
        fz_setup_fail("out of memory");
    }
    modq__v1__ticket__pack(t, b);
    return b;
}

static void same_rendition(const modq_media *a, const modq_media *b, int lv, bool colour)
{
    const uint8_t *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    int wa = 0, ha = 0, wb = 0, hb = 0;
    modq_blur_result ra = colour ? modq_media_rendition_colour(a, lv, &da, &la, &wa, &ha)
                                 : modq_media_rendition(a, lv, &da, &la, &wa, &ha);
    modq_blur_result rb = colour ? modq_media_rendition_colour(b, lv, &db, &lb, &wb, &hb)
                                 : modq_media_rendition(b, lv, &db, &lb, &wb, &hb);

    if (ra != rb ||
        (ra == MODQ_BLUR_OK && (la != lb || wa != wb || ha != hb || memcmp(da, db, la) != 0))) {
        fz_fail("round trip: %s level %d changed", colour ? "colour" : "grey", lv);
    }
}

static void same_media(const modq_media *a, const modq_media *b)
{
    if (!a || !b) {
        if (a || b) {
            fz_fail("round trip: media %s", a ? "lost" : "appeared");
        }
        return;
    }
    if (modq_media_width(a) != modq_media_width(b) ||
        modq_media_height(a) != modq_media_height(b) ||
        modq_media_frames(a) != modq_media_frames(b) ||
        strcmp(modq_media_format(a), modq_media_format(b)) != 0 ||
        modq_media_display_width(a) != modq_media_display_width(b) ||
        modq_media_display_height(a) != modq_media_display_height(b) ||
        modq_media_rendition_format(a) != modq_media_rendition_format(b) ||
        modq_media_levels_in_colour(a) != modq_media_levels_in_colour(b)) {
        fz_fail("round trip: the media facts changed");
    }
    if (memcmp(modq_media_sha256(a), modq_media_sha256(b), MODQ_SHA256_LEN) != 0 ||
        memcmp(modq_media_md5(a), modq_media_md5(b), MODQ_MD5_LEN) != 0 ||
        modq_media_pdq_quality(a) != modq_media_pdq_quality(b)) {
        fz_fail("round trip: the hashes changed");
    }
    for (int v = 0; v < MODQ_PDQ_DIHEDRAL; v++) {
        if (memcmp(modq_media_pdq_dihedral(a, v), modq_media_pdq_dihedral(b, v), MODQ_PDQ_BYTES) !=
            0) {
            fz_fail("round trip: PDQ variant %d changed", v);
        }
    }
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        same_rendition(a, b, lv, false);
        same_rendition(a, b, lv, true);
    }
}

/* What the desk reads of p beside its media reads the same in u. */
static void same_item(const modq_prepared *p, const modq_prepared *u)
{
    size_t la, lb;
    uint8_t *a = ticket_bytes(p->ticket, &la), *b = ticket_bytes(u->ticket, &lb);

    if (la != lb || memcmp(a, b, la) != 0) {
        fz_fail("round trip: the ticket changed (%zu bytes, then %zu)", la, lb);
    }
    free(a);
    free(b);
    if (u->queue_index != p->queue_index || u->has_prior != p->has_prior ||
        (p->has_prior &&
         (u->prior_verdict != p->prior_verdict || u->prior_distance != p->prior_distance ||
          u->prior_decided_at_ms != p->prior_decided_at_ms ||
          strcmp(u->prior_ticket_id, p->prior_ticket_id) != 0))) {
        fz_fail("round trip: the queue or the prior decision changed");
    }
    if (u->escalated != p->escalated || strcmp(u->escalated_by, p->escalated_by) != 0 ||
        strcmp(u->escalated_team, p->escalated_team) != 0 ||
        strcmp(u->escalation_note ? u->escalation_note : "",
               p->escalation_note ? p->escalation_note : "") != 0) {
        fz_fail("round trip: the escalation changed");
    }
}

static void round_trip(const modq_prepared *p, size_t in_len)
{
    modq_review_source src = {.topic = "modq.tickets.fuzz",
                              .partition = 3,
                              .offset = 77,
                              .prepared_by = "w-fuzz",
                              .prepared_at_ms = T0};
    uint8_t *rec = NULL;
    size_t len = 0;
    bool dropped = false;
    char err[256] = "";
    modq_prepared *u;

    if (modq_review_item_pack(p, &src, &rec, &len, &dropped, err, sizeof(err)) != 0) {
        if (in_len <= REPACK_ROOM) {
            fz_fail("a review item of a %zu-byte record does not pack: %s", in_len, err);
        }
        return;
    }
    if (dropped && in_len <= REPACK_ROOM) {
        fz_fail("a review item of a %zu-byte record lost its colour ladder", in_len);
    }
    if (!(u = modq_review_item_unpack(st.policy, rec, len))) {
        fz_fail("the packed review item unpacks as NULL");
    }
    if (u->kind != MODQ_PREPARED_REVIEW) {
        fz_fail("the packed review item unpacks as kind %d: %s: %s", (int)u->kind, u->code,
                u->reason);
    }
    check_review(u);
    same_item(p, u);
    if (!dropped) {
        same_media(p->media, u->media);
    }
    modq_prepared_free(u);
    free(rec);
}

/* ---- The desk ---------------------------------------------------------------------------- */

static bool have(const char *const *skills, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(skills[i], s) == 0) {
            return true;
        }
    }
    return false;
}

/* The queue's skills and the ticket's, once each; *all false when a person cannot hold them. */
static size_t skills_for(const modq_prepared *p, const char *skills[MAX_SKILL], bool *all)
{
    size_t n = 0, qi = (size_t)p->queue_index;

    for (size_t k = 0; k < modq_policy_queue_skill_count(st.policy, qi); k++) {
        if (n < MAX_SKILL && !have(skills, n, modq_policy_queue_skill(st.policy, qi, k))) {
            skills[n++] = modq_policy_queue_skill(st.policy, qi, k);
        }
    }
    for (size_t k = 0; k < p->ticket->n_required_skills; k++) {
        if (n < MAX_SKILL && !have(skills, n, p->ticket->required_skills[k])) {
            skills[n++] = p->ticket->required_skills[k];
        }
    }
    *all = n <= MODQ_POLICY_MAX_SKILLS;
    return n;
}

/* The heaviest grey level, as the desk serves it to who: m's own bytes, or not rendered. */
static void serve(modq_desk *d, const modq_desk_who *who, const char *id, const modq_media *m)
{
    uint8_t *data = NULL;
    const uint8_t *want = NULL;
    size_t len = 0, want_len = 0;
    const char *mime = NULL;
    int level = -1;
    modq_desk_denial denial;
    modq_desk_result r = modq_desk_media(d, who, id, -1, false, NULL, T0 + 1000, &data, &len, &mime,
                                         &level, NULL, &denial);
    bool rendered =
        modq_media_rendition(m, MODQ_LEVEL_COUNT - 1, &want, &want_len, NULL, NULL) == MODQ_BLUR_OK;

    if (r == MODQ_DESK_ERR_UNAVAILABLE && !rendered) {
        return;
    }
    if (r != MODQ_DESK_OK) {
        fz_fail("the heaviest level of the item handed out is not served: %s",
                modq_desk_strerror(r));
    }
    if (!rendered || level != MODQ_LEVEL_COUNT - 1 || len != want_len ||
        memcmp(data, want, len) != 0 || strcmp(mime, modq_media_mime(m)) != 0) {
        fz_fail("the desk served other bytes than the heaviest level's");
    }
    free(data);
}

/* Hands the item added to d out to who (from queue) and decides it. */
static void hand_out(modq_desk *d, const modq_desk_who *who, const char *queue, bool has_all,
                     const modq_prepared *p)
{
    char id[MODQ_DECIDED_MAX_ID + 1];
    json_t *item = NULL;
    modq_desk_denial denial = {MODQ_REASON_NONE, 0};
    char *text;
    modq_desk_result r = modq_desk_next(d, who, queue, T0, &item, NULL, &denial);

    snprintf(id, sizeof(id), "%s", p->ticket->ticket_id);
    if (!has_all && (r == MODQ_DESK_ERR_DENIED || (r == MODQ_DESK_OK && !item))) {
        return; /* more skills than a person holds */
    }
    if (r != MODQ_DESK_OK || !item) {
        fz_fail("%s was not handed to a person with every role and skill: %s (%s)",
                queue ? queue : "a policy queue", modq_desk_strerror(r),
                r == MODQ_DESK_ERR_DENIED ? modq_policy_reason_name(denial.reason) : "nothing");
    }
    if (!(text = json_dumps(item, JSON_COMPACT))) {
        fz_fail("the item handed out does not dump as JSON");
    }
    free(text);
    json_decref(item);
    if (p->media) {
        serve(d, who, id, p->media);
    }
    r = modq_desk_decide(d, who, id, "no_violation", NULL, 0, NULL, T0 + 30000, NULL);
    if (r != MODQ_DESK_OK) {
        fz_fail("the item handed out cannot be decided: %s", modq_desk_strerror(r));
    }
}

/* Adds p to a desk (which takes it), then hands it out: an escalated item to a lead of its
 * team (not the person who escalated it) from the escalations queue, any other to an
 * associate. */
static void review(modq_prepared *p)
{
    const char *skills[MAX_SKILL];
    bool has_all = false;
    modq_desk_who who = {.id = "fuzz-associate",
                         .team = "t1",
                         .roles = MODQ_ROLE_ASSOCIATE | MODQ_ROLE_LEAD | MODQ_ROLE_QA,
                         .skills = skills};
    modq_desk_ref ref = {.topic = "modq.review.fuzz", .partition = 0, .offset = 1};
    modq_desk *d = NULL;
    modq_desk_result r;

    who.nskills = skills_for(p, skills, &has_all);
    if (p->escalated) {
        who.id = strcmp(p->escalated_by, "fuzz-lead") == 0 ? "fuzz-lead-2" : "fuzz-lead";
        who.team = p->escalated_team[0] ? p->escalated_team : "t1";
    }
    d = fz_desk_new(st.policy, 600 * 1000, 0.0, 4);
    if ((r = modq_desk_add(d, p, &ref, T0)) != MODQ_DESK_OK) {
        fz_fail("a review item was refused by the desk: %s", modq_desk_strerror(r));
    }
    hand_out(d, &who, p->escalated ? MODQ_DESK_QUEUE_ESCALATIONS : NULL, has_all, p);
    modq_desk_free(d);
}

/* ---- One record -------------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    modq_prepared *p = modq_review_item_unpack(st.policy, data, size);

    if (!p) {
        fz_fail("a record of %zu bytes unpacks as NULL", size);
    }
    switch (p->kind) {
    case MODQ_PREPARED_DEAD_LETTER:
        check_dead(p);
        modq_prepared_free(p);
        return 0;
    case MODQ_PREPARED_REVIEW:
        break;
    default:
        fz_fail("a record unpacks as kind %d", (int)p->kind);
    }
    check_review(p);
    round_trip(p, size);
    review(p); /* takes p */
    return 0;
}
