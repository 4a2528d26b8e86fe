/*
 * publish.c: the worker's idempotent producer and its per-message completions (see publish.h).
 *
 * Each message carries a small node (malloc'd before producing, so that nothing can fail after
 * librdkafka has the message) as its librdkafka opaque: the caller's cookie and the topic kind.
 * Nodes of messages inside librdkafka sit on the "live" list, so that free can complete whatever
 * librdkafka never reports; nodes of messages librdkafka refused at once sit on the "deferred"
 * list until the next poll reports them, so completions never run inside a publish call. Both
 * lists change only under the lock; callbacks run outside it, so a completion may publish again.
 */
#include "publish.h"
#include "publish_conf.h"
#include "modq_common.h"

#include <librdkafka/rdkafka.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOPIC_MAX      256  /* Kafka topic names are at most 249 bytes */
#define QUEUE_RETRY_MS 5    /* sleep between tries while librdkafka's queue is full */
#define FREE_SERVE_MS  5000 /* free: how long to wait for the purged messages' reports */
#define SHUTDOWN_ERROR "shutdown"
#define VALUE_CAST(v)  ((void *)(uintptr_t)(v)) /* librdkafka copies; it never writes */

typedef struct node {
    struct node *prev, *next;
    void *cookie;
    modq_publish_kind kind;
    rd_kafka_resp_err_t err; /* deferred: why librdkafka refused it */
} node;

struct modq_publish {
    rd_kafka_t *rk;
    char topic[MODQ_PUBLISH_KIND_COUNT][TOPIC_MAX];
    char worker_id[MODQ_CONFIG_NAME_MAX];
    modq_publish_delivered_fn on_delivered;
    modq_publish_log_fn on_log;
    void *arg;
    int queue_wait_ms;
    pthread_mutex_t lock; /* guards everything below */
    node live;            /* sentinel of the circular list of messages inside librdkafka */
    node *deferred_head, *deferred_tail;
    size_t outstanding; /* live + deferred */
    int closing;        /* free has purged: purge errors are reported as "shutdown" */
    int closed;         /* free has taken the live list: later reports are ignored */
    modq_publish_counters counts[MODQ_PUBLISH_KIND_COUNT];
};

static const char *const result_text[MODQ_PUBLISH_RESULT_COUNT] = {
    [MODQ_PUBLISH_OK] = "ok",
    [MODQ_PUBLISH_ERR_INVALID_ARG] = "invalid argument",
    [MODQ_PUBLISH_ERR_NOMEM] = "out of memory",
    [MODQ_PUBLISH_ERR_CONFIG] = "kafka configuration refused",
    [MODQ_PUBLISH_ERR_KAFKA] = "librdkafka could not create the producer",
    [MODQ_PUBLISH_ERR_BACKLOG] = "too many messages awaiting confirmation",
    [MODQ_PUBLISH_ERR_QUEUE_FULL] = "producer queue full",
    [MODQ_PUBLISH_ERR_REFUSED] = "librdkafka refused the message",
};

const char *modq_publish_strerror(modq_publish_result r)
{
    if ((unsigned)r >= MODQ_PUBLISH_RESULT_COUNT) {
        return "unknown result";
    }
    return result_text[r];
}

bool modq_publish_will_complete(modq_publish_result r)
{
    return r == MODQ_PUBLISH_OK || r == MODQ_PUBLISH_ERR_QUEUE_FULL ||
           r == MODQ_PUBLISH_ERR_REFUSED;
}

static void live_unlink(node *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = NULL;
}

static void live_push(modq_publish *p, node *n)
{
    n->next = &p->live;
    n->prev = p->live.prev;
    p->live.prev->next = n;
    p->live.prev = n;
}

static void deferred_push(modq_publish *p, node *n)
{
    n->next = NULL;
    if (p->deferred_tail != NULL) {
        p->deferred_tail->next = n;
    } else {
        p->deferred_head = n;
    }
    p->deferred_tail = n;
}

/* Reports the messages librdkafka refused at once. Returns how many. */
static int drain_deferred(modq_publish *p)
{
    node *n;
    int served = 0;

    pthread_mutex_lock(&p->lock);
    n = p->deferred_head;
    p->deferred_head = p->deferred_tail = NULL;
    for (node *d = n; d != NULL; d = d->next) {
        p->outstanding--;
        p->counts[d->kind].failed++;
    }
    pthread_mutex_unlock(&p->lock);
    while (n != NULL) {
        node *next = n->next;

        p->on_delivered(p->arg, n->cookie, 0, rd_kafka_err2str(n->err));
        free(n);
        n = next;
        served++;
    }
    return served;
}

static void on_report(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    modq_publish *p = opaque;
    node *n = msg->_private;
    const char *error = "";
    int ok = msg->err == RD_KAFKA_RESP_ERR_NO_ERROR;
    int closing;

    (void)rk;
    pthread_mutex_lock(&p->lock);
    if (p->closed) { /* n was completed and freed by modq_publish_free: do not touch it */
        pthread_mutex_unlock(&p->lock);
        return;
    }
    live_unlink(n);
    p->outstanding--;
    if (ok) {
        p->counts[n->kind].delivered++;
    } else {
        p->counts[n->kind].failed++;
    }
    closing = p->closing;
    pthread_mutex_unlock(&p->lock);
    if (!ok) {
        int purged = msg->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
                     msg->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT;
        error = closing && purged ? SHUTDOWN_ERROR : rd_kafka_err2str(msg->err);
    }
    p->on_delivered(p->arg, n->cookie, ok, error);
    free(n);
}

void modq_publish_withdraw_queued(modq_publish *p)
{
    if (p != NULL) {
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_NON_BLOCKING);
    }
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    const modq_publish *p = rd_kafka_opaque(rk);

    if (p != NULL && p->on_log != NULL) {
        p->on_log(p->arg, level, fac, buf);
    }
}

/* Copies the topic names, refusing empty, too long or shared ones. Returns 0 or -1 (errstr). */
static int take_topics(modq_publish *p, const modq_config *cfg, char *errstr, size_t errstr_size)
{
    static const char *const what[MODQ_PUBLISH_KIND_COUNT] = {
        "topics.decisions",   "topics.wellbeing", "topics.audit",
        "topics.dead_letter", "topics.ledgers",   "topics.review"};
    const char *names[MODQ_PUBLISH_KIND_COUNT] = {
        modq_config_topics_decisions(cfg), modq_config_topics_wellbeing(cfg),
        modq_config_topics_audit(cfg),     modq_config_topics_dead_letter(cfg),
        modq_config_topics_ledgers(cfg),   modq_config_topics_review(cfg)};

    for (int k = 0; k < MODQ_PUBLISH_KIND_COUNT; k++) {
        if (names[k] == NULL || names[k][0] == '\0' || strlen(names[k]) >= TOPIC_MAX) {
            modq_errstr_set(errstr, errstr_size, "%s: must be a topic name", what[k]);
            return -1;
        }
        for (int j = 0; j < k; j++) {
            if (strcmp(names[j], names[k]) == 0) {
                /* the kinds must stay apart: readers of decisions would see dead letters */
                modq_errstr_set(errstr, errstr_size, "%s and %s are both '%s': they must differ",
                                what[j], what[k], names[k]);
                return -1;
            }
        }
        memcpy(p->topic[k], names[k], strlen(names[k]) + 1);
    }
    return 0;
}

modq_publish_result modq_publish_new(const modq_config *cfg, const modq_publish_opts *opts,
                                     modq_publish **out, char *errstr, size_t errstr_size)
{
    modq_publish_result r = MODQ_PUBLISH_ERR_INVALID_ARG;
    modq_publish *p = NULL;
    rd_kafka_conf_t *conf = NULL;
    int locked = 0; /* p->lock was initialised */
    const char *wid;
    char why[512];

    if (out != NULL) {
        *out = NULL;
    }
    if (cfg == NULL || opts == NULL || opts->on_delivered == NULL || out == NULL ||
        opts->queue_full_wait_ms < -1 ||
        opts->queue_full_wait_ms > MODQ_PUBLISH_MAX_QUEUE_WAIT_MS) {
        modq_errstr_set(errstr, errstr_size, "modq_publish_new: %s", modq_publish_strerror(r));
        goto out;
    }
    r = MODQ_PUBLISH_ERR_NOMEM;
    if ((p = calloc(1, sizeof *p)) == NULL || !(locked = pthread_mutex_init(&p->lock, NULL) == 0)) {
        modq_errstr_set(errstr, errstr_size, "modq_publish_new: %s", modq_publish_strerror(r));
        goto out;
    }
    p->live.prev = p->live.next = &p->live;
    p->on_delivered = opts->on_delivered;
    p->on_log = opts->on_log;
    p->arg = opts->arg;
    p->queue_wait_ms = opts->queue_full_wait_ms == 0  ? MODQ_PUBLISH_DEFAULT_QUEUE_FULL_WAIT_MS
                       : opts->queue_full_wait_ms < 0 ? 0
                                                      : opts->queue_full_wait_ms;
    wid = modq_config_worker_id(cfg);
    snprintf(p->worker_id, sizeof p->worker_id, "%s", wid != NULL ? wid : "");
    r = MODQ_PUBLISH_ERR_CONFIG;
    if (take_topics(p, cfg, errstr, errstr_size) != 0 ||
        (r = modq_publish_conf_build(cfg, &conf, errstr, errstr_size)) != MODQ_PUBLISH_OK) {
        goto out;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_report);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_opaque(conf, p);
    if ((p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why)) == NULL) {
        r = MODQ_PUBLISH_ERR_KAFKA; /* e.g. max.in.flight > 5 with idempotence */
        modq_errstr_set(errstr, errstr_size, "librdkafka: %s", why);
        goto out;
    }
    conf = NULL; /* owned by the producer now */
    *out = p;
    r = MODQ_PUBLISH_OK;
out:
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    if (r != MODQ_PUBLISH_OK && p != NULL) {
        if (locked) {
            pthread_mutex_destroy(&p->lock);
        }
        free(p);
    }
    return r;
}

void modq_publish_free(modq_publish *p)
{
    node *n;

    if (p == NULL) {
        return;
    }
    drain_deferred(p);
    pthread_mutex_lock(&p->lock);
    p->closing = 1;
    pthread_mutex_unlock(&p->lock);
    /* Purged messages are reported at once through the normal path, as "shutdown". */
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(p->rk, FREE_SERVE_MS);
    /* Whatever librdkafka still has not reported is completed here. */
    pthread_mutex_lock(&p->lock);
    p->closed = 1;
    n = p->live.next;
    p->live.prev->next = NULL;
    p->live.prev = p->live.next = &p->live;
    pthread_mutex_unlock(&p->lock);
    while (n != &p->live && n != NULL) {
        node *next = n->next;

        p->on_delivered(p->arg, n->cookie, 0, SHUTDOWN_ERROR);
        free(n);
        n = next;
    }
    rd_kafka_destroy(p->rk);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int id_ok(const char *id)
{
    return id != NULL && id[0] != '\0' && strnlen(id, MODQ_PUBLISH_MAX_ID) < MODQ_PUBLISH_MAX_ID;
}

/* A header list with modq-worker; NULL when out of memory. Caller owns it. */
static rd_kafka_headers_t *headers_new(const modq_publish *p, size_t count)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(count + 1);

    if (h != NULL) {
        rd_kafka_header_add(h, MODQ_PUBLISH_H_WORKER, -1, p->worker_id, -1);
    }
    return h;
}

/* Hands one message to librdkafka; hdrs is consumed in every case. See publish.h for which
 * results complete later. */
static modq_publish_result produce(modq_publish *p, modq_publish_kind kind, const void *key,
                                   size_t key_len, const void *value, size_t len,
                                   rd_kafka_headers_t *hdrs, void *cookie, char *errstr,
                                   size_t errstr_size)
{
    modq_publish_result r = MODQ_PUBLISH_ERR_NOMEM;
    rd_kafka_resp_err_t err;
    node *n = NULL;
    int64_t deadline;

    if (hdrs == NULL || (n = calloc(1, sizeof *n)) == NULL) {
        modq_errstr_set(errstr, errstr_size, "%s: %s", p->topic[kind], modq_publish_strerror(r));
        goto out;
    }
    n->cookie = cookie;
    n->kind = kind;
    pthread_mutex_lock(&p->lock);
    if (p->outstanding >= MODQ_PUBLISH_MAX_OUTSTANDING) {
        pthread_mutex_unlock(&p->lock);
        r = MODQ_PUBLISH_ERR_BACKLOG;
        modq_errstr_set(errstr, errstr_size, "%s: %s", p->topic[kind], modq_publish_strerror(r));
        goto out;
    }
    /* Listed before producing: a poller may serve its report before producev returns. */
    live_push(p, n);
    p->outstanding++;
    pthread_mutex_unlock(&p->lock);
    deadline = modq_clock_mono_ms() + p->queue_wait_ms;
    while ((err = rd_kafka_producev(
                p->rk, RD_KAFKA_V_TOPIC(p->topic[kind]), RD_KAFKA_V_KEY(VALUE_CAST(key), key_len),
                RD_KAFKA_V_VALUE(VALUE_CAST(value), len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(n), RD_KAFKA_V_END)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL &&
           modq_clock_mono_ms() < deadline) {
        sleep_ms(QUEUE_RETRY_MS); /* the poller drains the queue meanwhile */
    }
    pthread_mutex_lock(&p->lock);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        p->counts[kind].produced++; /* n may be completed and freed already: not touched */
        hdrs = NULL;                /* librdkafka's now */
        n = NULL;
        r = MODQ_PUBLISH_OK;
    } else { /* reported by the next poll */
        live_unlink(n);
        n->err = err;
        deferred_push(p, n);
        n = NULL;
        r = err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? MODQ_PUBLISH_ERR_QUEUE_FULL
                                                 : MODQ_PUBLISH_ERR_REFUSED;
        modq_errstr_set(errstr, errstr_size, "%s: %s", p->topic[kind], rd_kafka_err2str(err));
    }
    pthread_mutex_unlock(&p->lock);
out:
    if (hdrs != NULL) {
        rd_kafka_headers_destroy(hdrs); /* librdkafka takes them only on success */
    }
    free(n);
    return r;
}

static modq_publish_result bad_arg(char *errstr, size_t errstr_size, const char *what)
{
    modq_errstr_set(errstr, errstr_size, "%s: %s", what,
                    modq_publish_strerror(MODQ_PUBLISH_ERR_INVALID_ARG));
    return MODQ_PUBLISH_ERR_INVALID_ARG;
}

modq_publish_result modq_publish_decision(modq_publish *p, const char *content_id,
                                          const char *ticket_id, const void *packed, size_t len,
                                          void *cookie, char *errstr, size_t errstr_size)
{
    rd_kafka_headers_t *h;

    if (p == NULL || !id_ok(content_id) || (ticket_id != NULL && !id_ok(ticket_id)) ||
        (packed == NULL && len > 0)) {
        return bad_arg(errstr, errstr_size, "modq_publish_decision");
    }
    h = headers_new(p, 1);
    if (h != NULL && ticket_id != NULL) {
        rd_kafka_header_add(h, MODQ_PUBLISH_H_TICKET, -1, ticket_id, -1);
    }
    return produce(p, MODQ_PUBLISH_DECISION, content_id, strlen(content_id), packed, len, h, cookie,
                   errstr, errstr_size);
}

modq_publish_result modq_publish_wellbeing(modq_publish *p, const char *associate_id,
                                           const void *packed, size_t len, void *cookie,
                                           char *errstr, size_t errstr_size)
{
    if (p == NULL || !id_ok(associate_id) || (packed == NULL && len > 0)) {
        return bad_arg(errstr, errstr_size, "modq_publish_wellbeing");
    }
    return produce(p, MODQ_PUBLISH_WELLBEING, associate_id, strlen(associate_id), packed, len,
                   headers_new(p, 0), cookie, errstr, errstr_size);
}

modq_publish_result modq_publish_ledger(modq_publish *p, const char *associate_id,
                                        const void *packed, size_t len, void *cookie, char *errstr,
                                        size_t errstr_size)
{
    if (p == NULL || !id_ok(associate_id) || (packed == NULL && len > 0)) {
        return bad_arg(errstr, errstr_size, "modq_publish_ledger");
    }
    return produce(p, MODQ_PUBLISH_LEDGER, associate_id, strlen(associate_id), packed, len,
                   headers_new(p, 0), cookie, errstr, errstr_size);
}

modq_publish_result modq_publish_review(modq_publish *p, const char *ticket_id, const void *packed,
                                        size_t len, void *cookie, char *errstr, size_t errstr_size)
{
    rd_kafka_headers_t *h;

    if (p == NULL || !id_ok(ticket_id) || (packed == NULL && len > 0)) {
        return bad_arg(errstr, errstr_size, "modq_publish_review");
    }
    if ((h = headers_new(p, 1)) != NULL) {
        rd_kafka_header_add(h, MODQ_PUBLISH_H_TICKET, -1, ticket_id, -1);
    }
    return produce(p, MODQ_PUBLISH_REVIEW, ticket_id, strlen(ticket_id), packed, len, h, cookie,
                   errstr, errstr_size);
}

modq_publish_result modq_publish_audit(modq_publish *p, const char *key, const void *packed,
                                       size_t len, void *cookie, char *errstr, size_t errstr_size)
{
    if (p == NULL || !id_ok(key) || (packed == NULL && len > 0)) {
        return bad_arg(errstr, errstr_size, "modq_publish_audit");
    }
    return produce(p, MODQ_PUBLISH_AUDIT, key, strlen(key), packed, len, headers_new(p, 0), cookie,
                   errstr, errstr_size);
}

static int code_ok(const char *code)
{
    static const char allowed[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
    size_t n = code != NULL ? strnlen(code, MODQ_PUBLISH_MAX_CODE) : 0;

    return n > 0 && n < MODQ_PUBLISH_MAX_CODE && strspn(code, allowed) == n;
}

/* reason as one line of at most MODQ_PUBLISH_MAX_REASON bytes into out (that + 1 bytes): people
 * read it in tools that show one header per line. A cut never splits a UTF-8 sequence. */
static size_t one_line(const char *reason, char *out)
{
    size_t n = strnlen(reason, MODQ_PUBLISH_MAX_REASON + 1);

    if (n > MODQ_PUBLISH_MAX_REASON) {
        n = MODQ_PUBLISH_MAX_REASON;
        while (n > 0 && ((unsigned char)reason[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)reason[i];

        out[i] = (c < 0x20 || c == 0x7F) ? ' ' : (char)c;
    }
    out[n] = '\0';
    return n;
}

modq_publish_result modq_publish_dead_letter(modq_publish *p, const void *original, size_t len,
                                             const void *key, size_t key_len, const char *code,
                                             const char *reason, const modq_publish_source *src,
                                             void *cookie, char *errstr, size_t errstr_size)
{
    char line[MODQ_PUBLISH_MAX_REASON + 1];
    char part[16], off[24];
    rd_kafka_headers_t *h;

    if (p == NULL || (original == NULL && len > 0) || (key == NULL && key_len > 0) ||
        !code_ok(code) || reason == NULL || src == NULL || src->topic == NULL ||
        strnlen(src->topic, TOPIC_MAX) >= TOPIC_MAX) {
        return bad_arg(errstr, errstr_size, "modq_publish_dead_letter");
    }
    one_line(reason, line);
    snprintf(part, sizeof part, "%" PRId32, src->partition);
    snprintf(off, sizeof off, "%" PRId64, src->offset);
    if ((h = headers_new(p, 5)) != NULL) {
        rd_kafka_header_add(h, MODQ_PUBLISH_H_ERROR, -1, code, -1);
        rd_kafka_header_add(h, MODQ_PUBLISH_H_REASON, -1, line, -1);
        rd_kafka_header_add(h, MODQ_PUBLISH_H_SRC_TOPIC, -1, src->topic, -1);
        rd_kafka_header_add(h, MODQ_PUBLISH_H_SRC_PART, -1, part, -1);
        rd_kafka_header_add(h, MODQ_PUBLISH_H_SRC_OFF, -1, off, -1);
    }
    return produce(p, MODQ_PUBLISH_DEAD_LETTER, key, key_len, original, len, h, cookie, errstr,
                   errstr_size);
}

int modq_publish_poll(modq_publish *p, int timeout_ms)
{
    int served;

    if (p == NULL) {
        return 0;
    }
    served = drain_deferred(p);
    return served + rd_kafka_poll(p->rk, served > 0 ? 0 : timeout_ms);
}

size_t modq_publish_flush(modq_publish *p, int timeout_ms)
{
    if (p == NULL) {
        return 0;
    }
    drain_deferred(p);
    rd_kafka_flush(p->rk, timeout_ms); /* serves the reports while it waits */
    drain_deferred(p);
    return modq_publish_outstanding(p);
}

size_t modq_publish_outstanding(modq_publish *p)
{
    size_t n;

    if (p == NULL) {
        return 0;
    }
    pthread_mutex_lock(&p->lock);
    n = p->outstanding;
    pthread_mutex_unlock(&p->lock);
    return n;
}

modq_publish_result modq_publish_counts(modq_publish *p, modq_publish_kind kind,
                                        modq_publish_counters *out)
{
    if (p == NULL || out == NULL || (unsigned)kind >= MODQ_PUBLISH_KIND_COUNT) {
        return MODQ_PUBLISH_ERR_INVALID_ARG;
    }
    pthread_mutex_lock(&p->lock);
    *out = p->counts[kind];
    pthread_mutex_unlock(&p->lock);
    return MODQ_PUBLISH_OK;
}

bool modq_publish_fatal(modq_publish *p, char *errstr, size_t errstr_size)
{
    char why[512] = "";

    if (p == NULL || rd_kafka_fatal_error(p->rk, why, sizeof why) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        return false;
    }
    modq_errstr_set(errstr, errstr_size, "%s", why);
    return true;
}
