/*
 * desk_testutil.h: the fixture shared by the tests of worker/desk/desk*.c: the policy in
 * tests/data/worker/desk/short.yaml, real prepared items (modq_prepare_ticket on a synthetic
 * image), a desk, and a sink that records every message that leaves it so that tests can unpack
 * and check them.
 */
#ifndef MODQ_DESK_TESTUTIL_H
#define MODQ_DESK_TESTUTIL_H

#include "desk/desk.h"
#include "prepare/prepare.h"
#include "proto/modq.pb-c.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0     INT64_C(1767600000000) /* 2026-01-05T08:00:00Z */
#define MIN(m) ((int64_t)(m)*60000)

#define ROLE_A MODQ_ROLE_ASSOCIATE
#define ROLE_L MODQ_ROLE_LEAD
#define ROLE_Q MODQ_ROLE_QA

#define WB(x) MODQ__V1__WELLBEING_EVENT_TYPE__WELLBEING_EVENT_##x
#define AU(x) MODQ__V1__AUDIT_ACTION__AUDIT_ACTION_##x

enum { REC_DECISION, REC_WELLBEING, REC_AUDIT, REC_LEDGER };

/* One message the sink received, copied. */
typedef struct rec_msg {
    int kind;
    char key[160];
    uint8_t *buf;
    size_t len;
    modq_desk_ref ref;
    char content_id[300];
    char labels[1100];
    int verdict;
    int has_sha;
    uint8_t sha[32];
    bool has_confirm; /* a decision someone waits for: the test tells its fate */
    modq_desk_confirm confirm;
} rec_msg;

typedef struct recorder {
    pthread_mutex_t lock;
    rec_msg *m;
    size_t n, cap;
    size_t on_screen;
    double on_screen_seconds, on_screen_minutes;
} recorder;

typedef struct dfx {
    modq_policy *policy;
    modq_media_opts *opts;
    modq_prepare_ctx ctx;
    uint8_t *img;
    size_t img_len;
    modq_desk *desk;
    recorder rec;
    bool unconfirmed; /* a sole_writer desk asks this (modq_desk_opts.confirmed) */
    bool copies;      /* the next desk decides waiting copies (modq_desk_opts.decide_copies) */
} dfx;

static inline void rec_put(recorder *r, int kind, const char *key, const uint8_t *buf, size_t len,
                           rec_msg **out)
{
    rec_msg *m;
    pthread_mutex_lock(&r->lock);
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->m = realloc(r->m, r->cap * sizeof(*r->m));
    }
    m = &r->m[r->n++];
    memset(m, 0, sizeof(*m));
    m->kind = kind;
    snprintf(m->key, sizeof(m->key), "%s", key);
    m->buf = malloc(len ? len : 1);
    memcpy(m->buf, buf, len);
    m->len = len;
    if (out) {
        *out = m;
    } else {
        pthread_mutex_unlock(&r->lock);
    }
}

static inline void sink_decision(void *arg, const modq_desk_ref *ref, const char *content_id,
                                 const char *ticket_id, const uint8_t *sha256, int verdict,
                                 const char *labels, const uint8_t *buf, size_t len,
                                 const modq_desk_confirm *confirm)
{
    recorder *r = arg;
    rec_msg *m;
    rec_put(r, REC_DECISION, ticket_id, buf, len, &m);
    m->has_confirm = confirm != NULL;
    if (confirm) {
        m->confirm = *confirm;
    }
    m->ref = *ref;
    snprintf(m->content_id, sizeof(m->content_id), "%s", content_id);
    snprintf(m->labels, sizeof(m->labels), "%s", labels);
    m->verdict = verdict;
    m->has_sha = sha256 != NULL;
    if (sha256) {
        memcpy(m->sha, sha256, 32);
    }
    pthread_mutex_unlock(&r->lock);
}

static inline void sink_wellbeing(void *arg, const char *id, const uint8_t *buf, size_t len)
{
    rec_put(arg, REC_WELLBEING, id, buf, len, NULL);
}

static inline void sink_audit(void *arg, const char *key, const uint8_t *buf, size_t len)
{
    rec_put(arg, REC_AUDIT, key, buf, len, NULL);
}

static inline void sink_ledger(void *arg, const char *id, const uint8_t *buf, size_t len)
{
    rec_put(arg, REC_LEDGER, id, buf, len, NULL);
}

static inline void sink_on_screen(void *arg, const char *queue, double seconds, double minutes)
{
    recorder *r = arg;
    (void)queue;
    pthread_mutex_lock(&r->lock);
    r->on_screen++;
    r->on_screen_seconds += seconds;
    r->on_screen_minutes += minutes;
    pthread_mutex_unlock(&r->lock);
}

static inline void rec_clear(recorder *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->m[i].buf);
    }
    r->n = 0;
    r->on_screen = 0;
    r->on_screen_seconds = 0;
    r->on_screen_minutes = 0;
}

/* Wellbeing events of type for associate (type 0: any). */
static inline size_t rec_wellbeing_count(recorder *r, const char *who, int type)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) {
        Modq__V1__WellbeingEvent *e;
        if (r->m[i].kind != REC_WELLBEING || strcmp(r->m[i].key, who) != 0) {
            continue;
        }
        e = modq__v1__wellbeing_event__unpack(NULL, r->m[i].len, r->m[i].buf);
        if (e && (type == 0 || (int)e->type == type)) {
            n++;
        }
        modq__v1__wellbeing_event__free_unpacked(e, NULL);
    }
    return n;
}

/* The last wellbeing event of type for who (caller frees with ..._free_unpacked), or NULL. */
static inline Modq__V1__WellbeingEvent *rec_wellbeing_last(recorder *r, const char *who, int type)
{
    for (size_t i = r->n; i-- > 0;) {
        Modq__V1__WellbeingEvent *e;
        if (r->m[i].kind != REC_WELLBEING || strcmp(r->m[i].key, who) != 0) {
            continue;
        }
        e = modq__v1__wellbeing_event__unpack(NULL, r->m[i].len, r->m[i].buf);
        if (e && (int)e->type == type) {
            return e;
        }
        modq__v1__wellbeing_event__free_unpacked(e, NULL);
    }
    return NULL;
}

static inline size_t rec_audit_count(recorder *r, const char *key, int action)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) {
        Modq__V1__AuditEvent *e;
        if (r->m[i].kind != REC_AUDIT || strcmp(r->m[i].key, key) != 0) {
            continue;
        }
        e = modq__v1__audit_event__unpack(NULL, r->m[i].len, r->m[i].buf);
        if (e && (int)e->action == action) {
            n++;
        }
        modq__v1__audit_event__free_unpacked(e, NULL);
    }
    return n;
}

static inline Modq__V1__AuditEvent *rec_audit_last(recorder *r, const char *key, int action)
{
    for (size_t i = r->n; i-- > 0;) {
        Modq__V1__AuditEvent *e;
        if (r->m[i].kind != REC_AUDIT || strcmp(r->m[i].key, key) != 0) {
            continue;
        }
        e = modq__v1__audit_event__unpack(NULL, r->m[i].len, r->m[i].buf);
        if (e && (int)e->action == action) {
            return e;
        }
        modq__v1__audit_event__free_unpacked(e, NULL);
    }
    return NULL;
}

static inline size_t rec_count(recorder *r, int kind, const char *key)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) {
        n += r->m[i].kind == kind && (!key || strcmp(r->m[i].key, key) == 0);
    }
    return n;
}

/* The last message of kind for key, or NULL. */
static inline rec_msg *rec_last(recorder *r, int kind, const char *key)
{
    for (size_t i = r->n; i-- > 0;) {
        if (r->m[i].kind == kind && (!key || strcmp(r->m[i].key, key) == 0)) {
            return &r->m[i];
        }
    }
    return NULL;
}

static inline bool dfx_confirmed(void *arg)
{
    return !((dfx *)arg)->unconfirmed;
}

/* A new desk in f (the old one freed) over f's policy with this lease, QA rate and size;
 * sole_writer as modq_desk_opts says, and then confirmed while f->unconfirmed is false, as a
 * fleet's desk is while Kafka confirms it. */
static inline void dfx_desk_as(dfx *f, int64_t lease_ms, double qa_rate, size_t max_items,
                               bool sole_writer)
{
    modq_desk_opts o = {.policy = f->policy,
                        .sink = {.arg = &f->rec,
                                 .decision = sink_decision,
                                 .wellbeing = sink_wellbeing,
                                 .audit = sink_audit,
                                 .ledger = sink_ledger,
                                 .on_screen = sink_on_screen},
                        .worker_id = "w-desk",
                        .lease_ms = lease_ms,
                        .qa_sample_rate = qa_rate,
                        .max_items = max_items,
                        .seed = 42,
                        .sole_writer = sole_writer,
                        .confirmed = sole_writer ? dfx_confirmed : NULL,
                        .confirmed_arg = f,
                        .decide_copies = f->copies,
                        .near_distance = 16};
    modq_desk_free(f->desk);
    f->desk = NULL;
    if (modq_desk_new(&o, &f->desk) != MODQ_DESK_OK) {
        f->desk = NULL;
    }
}

static inline void dfx_desk(dfx *f, int64_t lease_ms, double qa_rate, size_t max_items)
{
    dfx_desk_as(f, lease_ms, qa_rate, max_items, false);
}

static inline int dfx_group_setup(void **state)
{
    dfx *f = calloc(1, sizeof(*f));
    const char *src = getenv("MODQ_SOURCE_DIR");
    char path[512], err[512];

    if (!f || !src || modq_blur_init("test") != MODQ_BLUR_OK) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/tests/data/worker/desk/short.yaml", src);
    if (modq_policy_load_file(path, &f->policy, err, sizeof(err)) != MODQ_POLICY_OK) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    f->opts = modq_opts_new();
    if (!f->opts || modq_opts_set(f->opts, MODQ_OPT_DEFER_RENDER, 1) != MODQ_BLUR_OK ||
        modq_opts_set(f->opts, MODQ_OPT_DISPLAY_SIZE, 96) != MODQ_BLUR_OK ||
        modq_synth_image(MODQ_SYNTH_SHAPES, 160, 120, 7, "png", &f->img, &f->img_len) !=
            MODQ_BLUR_OK) {
        return -1;
    }
    f->ctx = (modq_prepare_ctx){.policy = f->policy,
                                .media_opts = f->opts,
                                .worker_id = "w-desk",
                                .max_message_bytes = 8 << 20};
    pthread_mutex_init(&f->rec.lock, NULL);
    *state = f;
    return 0;
}

static inline int dfx_group_teardown(void **state)
{
    dfx *f = *state;
    modq_desk_free(f->desk);
    rec_clear(&f->rec);
    free(f->rec.m);
    pthread_mutex_destroy(&f->rec.lock);
    modq_policy_free(f->policy);
    modq_opts_free(f->opts);
    modq_synth_free(f->img);
    free(f);
    return 0;
}

/* Per test: a fresh desk (lease 10 min, no QA, 64 items) and an empty recorder. */
static inline int dfx_setup(void **state)
{
    dfx *f = *state;
    rec_clear(&f->rec);
    f->unconfirmed = false;
    f->copies = false;
    dfx_desk(f, MIN(10), 0.0, 64);
    return f->desk ? 0 : -1;
}

static inline int dfx_teardown(void **state)
{
    dfx *f = *state;
    modq_desk_free(f->desk);
    f->desk = NULL;
    return 0;
}

/* A review item prepared by the real preparation, from a ticket with these fields; media: the
 * fixture's synthetic image, or none. skill: a required skill or NULL. */
static inline modq_prepared *dt_prepare(dfx *f, const char *id, const char *queue, int prio,
                                        int64_t created, int media, const char *skill)
{
    Modq__V1__Ticket t;
    Modq__V1__Media m;
    char content[160], trace[160];
    char *skills[1] = {(char *)(uintptr_t)skill};
    uint8_t *buf;
    size_t len;
    modq_prepared *p;

    modq__v1__ticket__init(&t);
    modq__v1__media__init(&m);
    snprintf(content, sizeof(content), "content-%s", id);
    snprintf(trace, sizeof(trace), "trace-%s", id);
    t.ticket_id = (char *)(uintptr_t)id;
    t.content_id = content;
    t.queue = (char *)(uintptr_t)queue;
    t.category = (char *)(uintptr_t)queue;
    t.priority = prio;
    t.created_at_ms = created;
    t.trace_id = trace;
    t.locale = (char *)(uintptr_t) "en";
    t.text = (char *)(uintptr_t) "a caption";
    if (skill) {
        t.required_skills = skills;
        t.n_required_skills = 1;
    }
    if (media) {
        m.source_case = MODQ__V1__MEDIA__SOURCE_INLINE_BYTES;
        m.inline_bytes.data = f->img;
        m.inline_bytes.len = f->img_len;
        t.media = &m;
    }
    len = modq__v1__ticket__get_packed_size(&t);
    buf = malloc(len);
    modq__v1__ticket__pack(&t, buf);
    p = modq_prepare_ticket(&f->ctx, buf, len, T0);
    free(buf);
    return p;
}

/* Adds an item from partition/offset of the queue's topic; returns the desk's answer. */
static inline modq_desk_result dt_add_full(dfx *f, const char *id, const char *queue, int prio,
                                           int64_t created, int media, const char *skill,
                                           int32_t partition, int64_t offset)
{
    modq_prepared *p = dt_prepare(f, id, queue, prio, created, media, skill);
    modq_desk_ref ref = {.partition = partition, .offset = offset};
    modq_desk_result r;

    if (!p || p->kind != MODQ_PREPARED_REVIEW) {
        modq_prepared_free(p);
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    snprintf(ref.topic, sizeof(ref.topic), "t.%s", queue);
    r = modq_desk_add(f->desk, p, &ref, T0);
    if (r != MODQ_DESK_OK) {
        modq_prepared_free(p);
    }
    return r;
}

static inline modq_desk_result dt_add(dfx *f, const char *id, const char *queue, int prio,
                                      int64_t created)
{
    return dt_add_full(f, id, queue, prio, created, 1, NULL, 0, 0);
}

static inline modq_desk_who dt_who(const char *id, const char *team, unsigned roles)
{
    return (modq_desk_who){.id = id, .team = team, .roles = roles};
}

/* next for who: the item's id into id ("" for none), its JSON kept in *item when asked. */
static inline modq_desk_result dt_next(dfx *f, const modq_desk_who *who, const char *queue,
                                       int64_t now, char id[160], modq_desk_denial *denial)
{
    json_t *item = NULL, *status = NULL;
    modq_desk_result r = modq_desk_next(f->desk, who, queue, now, &item, &status, denial);
    id[0] = '\0';
    if (item) {
        snprintf(id, 160, "%s", json_string_value(json_object_get(item, "id")));
    }
    json_decref(item);
    json_decref(status);
    return r;
}

/* A number from who's /me Status: top-level key, or a cap's used_minutes when cap is set. */
static inline double dt_me_number(dfx *f, const modq_desk_who *who, int64_t now, const char *key,
                                  const char *cap)
{
    json_t *me = NULL, *v = NULL;
    double x = -1.0;
    if (modq_desk_me(f->desk, who, now, &me) != MODQ_DESK_OK) {
        return -2.0;
    }
    if (cap) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(me, "caps"), i, c)
        {
            if (strcmp(json_string_value(json_object_get(c, "cap")), cap) == 0) {
                v = json_object_get(c, key);
            }
        }
    } else {
        v = json_object_get(me, key);
    }
    if (json_is_number(v)) {
        x = json_number_value(v);
    } else if (json_is_boolean(v)) {
        x = json_is_true(v);
    }
    json_decref(me);
    return x;
}

#endif
