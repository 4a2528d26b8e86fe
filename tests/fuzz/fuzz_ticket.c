/*
 * fuzz_ticket.c: the ticket path, from a message off a queue topic to a person's screen: unpack,
 * validation and preparation (modq_prepare_ticket: fetch, decode, hash banks, prior decisions),
 * then, for a review item, the desk: added, handed out by /v1/next's call, shown, decided.
 *
 * Input: a packed modq.v1.Ticket. The context is the shipped policy, tight media limits, a fetch
 * root of /tmp/modq-fuzz-media/root (tiny images a.png and b.jpg, a symlink out of it) with no
 * http host allowed (no network), a hash bank knowing a.png, and a decided set knowing ticket
 * "t-decided" and b.jpg (remove: re-applied).
 *
 * Invariants: every outcome is one of the four kinds, a dead letter with a code and a reason;
 * nothing fetched comes from outside the root; an automatic decision carries a packed Decision;
 * a review item packs for the review topic and a desk pod reads the same ticket back from it; a
 * review item that the desk takes is handed out (with an answer that can be built) to a person
 * who holds every role and skill it needs, and can be decided.
 */
#include "desk/desk.h"
#include "fuzz_desk.h"
#include "fuzz_util.h"
#include "prepare/prepare.h"
#include "prepare/review_item.h"

#include <errno.h>
#include <sys/stat.h>

#define T0        INT64_C(1767603600000) /* 2026-01-05T09:00:00Z */
#define MEDIA_DIR "/tmp/modq-fuzz-media"
#define MAX_SKILL 16

typedef struct fz_state {
    fz_scratch scratch; /* for the bank file while it loads */
    modq_policy *policy;
    modq_media_opts *opts;
    modq_fetch *fetch;
    modq_banks *banks;
    pthread_rwlock_t banks_lock;
    modq_decided *decided;
    pthread_mutex_t decided_lock;
    modq_prepare_ctx ctx;
    uint8_t outside_sha[MODQ_SHA256_LEN]; /* of the image outside the root */
} fz_state;

static fz_state st;

static void cleanup(void)
{
    modq_decided_free(st.decided);
    modq_banks_free(st.banks);
    modq_fetch_free(st.fetch);
    modq_opts_free(st.opts);
    modq_policy_free(st.policy);
    modq_blur_shutdown();
}

/* A tiny synthetic image written to path; its SHA-256 into sha (may be NULL). */
static void image(const char *format, uint32_t seed, const char *path, uint8_t *sha)
{
    uint8_t *data = NULL;
    size_t len = 0;
    FILE *fp;
    char tmp[256];

    /* Written aside and renamed: another run may be reading the same file. */
    snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
    if (modq_synth_image(MODQ_SYNTH_SHAPES, 24, 16, seed, format, &data, &len) != MODQ_BLUR_OK ||
        !(fp = fopen(tmp, "wb"))) {
        fz_setup_fail("cannot write %s", tmp);
    }
    if (fwrite(data, 1, len, fp) != len || fclose(fp) != 0 || rename(tmp, path) != 0) {
        fz_setup_fail("cannot write %s", path);
    }
    if (sha && modq_digest_compute(data, len, sha, NULL) != MODQ_BLUR_OK) {
        fz_setup_fail("digest failed");
    }
    modq_synth_free(data);
}

/* The fixed media folder the seeds name. Refuses one that is not a folder of ours. */
static void media_dir(uint8_t a_sha[MODQ_SHA256_LEN], uint8_t b_sha[MODQ_SHA256_LEN])
{
    struct stat sb;
    char target[64];

    if ((mkdir(MEDIA_DIR, 0700) != 0 && errno != EEXIST) ||
        (mkdir(MEDIA_DIR "/root", 0700) != 0 && errno != EEXIST) || lstat(MEDIA_DIR, &sb) != 0 ||
        !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid()) {
        fz_setup_fail("%s is not a folder of this user's", MEDIA_DIR);
    }
    image("png", 1, MEDIA_DIR "/root/a.png", a_sha);
    image("jpeg", 2, MEDIA_DIR "/root/b.jpg", b_sha);
    image("png", 3, MEDIA_DIR "/outside.png", st.outside_sha);
    /* Another run (the test suite's replay, a second fuzzer) may have made it already. */
    if (symlink("../outside.png", MEDIA_DIR "/root/link.png") != 0 &&
        (errno != EEXIST || readlink(MEDIA_DIR "/root/link.png", target, sizeof(target)) != 14 ||
         memcmp(target, "../outside.png", 14) != 0)) {
        fz_setup_fail("cannot make the symlink %s/root/link.png", MEDIA_DIR);
    }
}

static void context(void)
{
    uint8_t a_sha[MODQ_SHA256_LEN], b_sha[MODQ_SHA256_LEN];
    char path[1024], err[512], hex[2 * MODQ_SHA256_LEN + 1], line[160];
    const char *labels[] = {"fuzz"};

    media_dir(a_sha, b_sha);
    if (!(st.opts = modq_opts_new()) ||
        modq_opts_set(st.opts, MODQ_OPT_MAX_INPUT_BYTES, 256 * 1024) != MODQ_BLUR_OK ||
        modq_opts_set(st.opts, MODQ_OPT_MAX_PIXELS, 1024 * 1024) != MODQ_BLUR_OK ||
        modq_opts_set(st.opts, MODQ_OPT_MAX_SIDE, 2048) != MODQ_BLUR_OK ||
        modq_opts_set(st.opts, MODQ_OPT_DISPLAY_SIZE, 64) != MODQ_BLUR_OK ||
        modq_opts_set(st.opts, MODQ_OPT_DEFER_RENDER, 1) != MODQ_BLUR_OK ||
        modq_opts_set(st.opts, MODQ_OPT_DEADLINE_MS, 5000) != MODQ_BLUR_OK) {
        fz_setup_fail("media options");
    }
    if (!(st.fetch =
              modq_fetch_new(MEDIA_DIR "/root", NULL, 0, 256 * 1024, 1000, err, sizeof(err)))) {
        fz_setup_fail("fetch: %s", err);
    }
    modq_digest_hex(a_sha, MODQ_SHA256_LEN, hex);
    snprintf(line, sizeof(line), "sha256 %s a.png\n", hex);
    fz_scratch_make(&st.scratch);
    if (!(st.banks = modq_banks_new()) ||
        !fz_scratch_write(&st.scratch, "bank.txt", line, strlen(line), path, sizeof(path)) ||
        modq_banks_load(st.banks, "fuzz-bank", path, 2, labels, 1, 31, err, sizeof(err)) != 0) {
        fz_setup_fail("bank: %s", err);
    }
    fz_scratch_remove(&st.scratch);
    if (!(st.decided = modq_decided_new(1000, INT64_C(7) * 24 * 3600 * 1000)) ||
        modq_decided_add(st.decided, "t-decided", NULL, NULL, 1, "", T0 - 1000, NULL) != 0 ||
        modq_decided_add(st.decided, "t-earlier", b_sha, NULL, 2, "spam,scam", T0 - 1000, NULL) !=
            0) {
        fz_setup_fail("decided set");
    }
    pthread_mutex_init(&st.decided_lock, NULL);
    pthread_rwlock_init(&st.banks_lock, NULL);
    st.ctx = (modq_prepare_ctx){.policy = st.policy,
                                .media_opts = st.opts,
                                .fetch = st.fetch,
                                .banks = &st.banks,
                                .banks_lock = &st.banks_lock,
                                .decided = st.decided,
                                .decided_lock = &st.decided_lock,
                                .auto_verdicts = 1u << 2 | 1u << 4,
                                .worker_id = "w-fuzz",
                                .max_message_bytes = 512 * 1024};
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[1024], err[512];

    (void)argc;
    if (modq_blur_init((*argv)[0]) != MODQ_BLUR_OK) {
        fz_setup_fail("libvips did not start");
    }
    if (modq_policy_load_file(fz_source_path("policy/default.yaml", path, sizeof(path)), &st.policy,
                              err, sizeof(err)) != MODQ_POLICY_OK) {
        fz_setup_fail("%s", err);
    }
    context();
    atexit(cleanup);
    return 0;
}

/* ---- The desk ---------------------------------------------------------------------------- */

/* A person who may take the item: every role, the queue's skills and the ticket's. */
static size_t skills_for(const modq_prepared *p, const char *skills[MAX_SKILL])
{
    size_t n = 0, qi = (size_t)p->queue_index;

    for (size_t k = 0; k < modq_policy_queue_skill_count(st.policy, qi) && n < MAX_SKILL; k++) {
        skills[n++] = modq_policy_queue_skill(st.policy, qi, k);
    }
    for (size_t k = 0; k < p->ticket->n_required_skills && n < MAX_SKILL; k++) {
        skills[n++] = p->ticket->required_skills[k];
    }
    return n;
}

/* t packed without its media, as the review topic carries it (caller frees). */
static uint8_t *ticket_bytes(const Modq__V1__Ticket *t, size_t *len)
{
    Modq__V1__Ticket bare = *t;
    uint8_t *b;

    bare.media = NULL;
    *len = modq__v1__ticket__get_packed_size(&bare);
    if (!(b = malloc(*len ? *len : 1))) {
        fz_setup_fail("out of memory");
    }
    modq__v1__ticket__pack(&bare, b);
    return b;
}

/* p as a prepare pod publishes it and a desk pod reads it: the same ticket (its media bytes
 * left behind) and queue. */
static void via_review_topic(const modq_prepared *p)
{
    modq_review_source src = {.topic = "modq.tickets.fuzz",
                              .partition = 0,
                              .offset = 1,
                              .prepared_by = "w-fuzz",
                              .prepared_at_ms = T0};
    uint8_t *rec = NULL, *a, *b;
    size_t len = 0, la, lb;
    bool dropped = false;
    char err[256] = "";
    modq_prepared *u;

    if (modq_review_item_pack(p, &src, &rec, &len, &dropped, err, sizeof(err)) != 0) {
        fz_fail("a review item does not pack for the review topic: %s", err);
    }
    if (!(u = modq_review_item_unpack(st.policy, rec, len)) || u->kind != MODQ_PREPARED_REVIEW) {
        fz_fail("a desk pod cannot read the review record of a ticket ingest took: %s: %s",
                u ? u->code : "NULL", u ? u->reason : "");
    }
    a = ticket_bytes(p->ticket, &la);
    b = ticket_bytes(u->ticket, &lb);
    if (la != lb || memcmp(a, b, la) != 0 || u->queue_index != p->queue_index) {
        fz_fail("the review topic changed the ticket or its queue");
    }
    free(a);
    free(b);
    modq_prepared_free(u);
    free(rec);
}

static void review(modq_prepared *p)
{
    const char *skills[MAX_SKILL];
    modq_desk_who who = {.id = "fuzz-associate",
                         .team = "t1",
                         .roles = MODQ_ROLE_ASSOCIATE | MODQ_ROLE_LEAD | MODQ_ROLE_QA,
                         .skills = skills};
    modq_desk_ref ref = {.topic = "modq.tickets.fuzz", .partition = 0, .offset = 1};
    modq_desk *d = NULL;
    modq_desk_denial denial;
    json_t *item = NULL;
    char id[MODQ_DECIDED_MAX_ID + 1], *text;
    bool has_all = modq_policy_queue_skill_count(st.policy, (size_t)p->queue_index) +
                       p->ticket->n_required_skills <=
                   MAX_SKILL;
    modq_desk_result r;

    who.nskills = skills_for(p, skills);
    snprintf(id, sizeof(id), "%s", p->ticket->ticket_id);
    d = fz_desk_new(st.policy, 600 * 1000, 0.0, 4);
    if ((r = modq_desk_add(d, p, &ref, T0)) != MODQ_DESK_OK) {
        modq_prepared_free(p);
        if (r != MODQ_DESK_ERR_NOMEM) {
            fz_fail("a review item was refused by the desk: %s", modq_desk_strerror(r));
        }
        goto out;
    }
    r = modq_desk_next(d, &who, NULL, T0, &item, NULL, &denial);
    if (r == MODQ_DESK_OK && !item && has_all) {
        fz_fail("a person with every role and skill was handed nothing");
    }
    if (r != MODQ_DESK_OK && r != MODQ_DESK_ERR_DENIED) {
        fz_fail("/v1/next for the only item failed: %s", modq_desk_strerror(r));
    }
    if (!item) {
        goto out;
    }
    if (!(text = json_dumps(item, JSON_COMPACT))) {
        fz_fail("the item handed out does not dump as JSON");
    }
    free(text);
    r = modq_desk_decide(d, &who, id, "no_violation", NULL, 0, NULL, T0 + 30000, NULL);
    if (r != MODQ_DESK_OK) {
        fz_fail("the item handed out cannot be decided: %s", modq_desk_strerror(r));
    }
out:
    json_decref(item);
    modq_desk_free(d);
}

/* ---- One ticket ------------------------------------------------------------------------------ */

static void check(const modq_prepared *p)
{
    const Modq__V1__Media *m = p->ticket ? p->ticket->media : NULL;

    switch (p->kind) {
    case MODQ_PREPARED_DEAD_LETTER:
        if (!p->code[0] || !p->reason[0]) {
            fz_fail("a dead letter without a code or a reason");
        }
        return;
    case MODQ_PREPARED_AUTO:
        if (!p->decision || p->decision_len == 0) {
            fz_fail("an automatic decision without a Decision");
        }
        break;
    case MODQ_PREPARED_REVIEW:
    case MODQ_PREPARED_DUPLICATE:
        break;
    default:
        fz_fail("outcome of kind %d", (int)p->kind);
    }
    if (!p->ticket || p->queue_index < 0) {
        fz_fail("an outcome without its ticket or queue");
    }
    if (m && m->source_case == MODQ__V1__MEDIA__SOURCE_URI && p->media &&
        memcmp(modq_media_sha256(p->media), st.outside_sha, MODQ_SHA256_LEN) == 0) {
        fz_fail("media fetched from outside the root: %s", m->uri);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    modq_prepared *p = modq_prepare_ticket(&st.ctx, data, size, T0);

    if (!p) {
        return 0; /* out of memory: the message stays in Kafka */
    }
    check(p);
    if (p->kind == MODQ_PREPARED_REVIEW) {
        via_review_topic(p);
        review(p); /* takes p */
    } else {
        modq_prepared_free(p);
    }
    return 0;
}
