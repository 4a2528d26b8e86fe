/*
 * run_sink.c: what the review desk publishes (decisions of people, wellbeing and audit events,
 * exposure ledgers), the retries of those that Kafka did not confirm, and the handlers of the two
 * followers (the decisions topic feeds the decided set and clears the desk of tickets decided
 * elsewhere; the ledgers topic restores associates' ledgers).
 *
 * Why retry here: a person's decision or an audit record exists nowhere else once the desk let
 * go of it, and its ticket's offset stays uncompleted until it is confirmed. A retry keeps the
 * packed bytes and tries again with a growing backoff, on the poll thread, until the drain.
 * Ledgers are not retried: the next change publishes the whole ledger again, and an older copy
 * must never land after a newer one on the compacted topic.
 */
#include "run_impl.h"

#include "prepare/text.h"

#include "modq_blur.h"
#include "proto/modq.pb-c.h"
#include "modq_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERRSTR_SIZE MODQ_RUN_ERRSTR_SIZE

void run_cookie_tell(modq_run_cookie *c, modq_desk_fate fate)
{
    if (atomic_exchange(&c->answer_pending, false)) {
        atomic_fetch_sub(c->answers_pending, 1);
        c->answer.fn(c->answer.arg, fate);
    }
}

void run_cookie_free(modq_run_cookie *c)
{
    if (c == NULL) {
        return;
    }
    run_cookie_tell(c, MODQ_DESK_FATE_LOST);
    free(c->buf);
    free(c);
}

void run_answer_overdue(modq_run *r, int64_t mono)
{
    pthread_mutex_lock(&r->wait_lock);
    /* Oldest first: the scan ends at the first that has not waited long enough. Those told
     * already are passed again while they wait, a few at most once Kafka pauses the desk. */
    for (modq_run_cookie *c = r->wait_oldest;
         c != NULL && mono - c->waiting_from_ms >= MODQ_RUN_ANSWER_WAIT_MS; c = c->wait_next) {
        run_cookie_tell(c, MODQ_DESK_FATE_PENDING);
    }
    pthread_mutex_unlock(&r->wait_lock);
}

void run_wait(modq_run *r, modq_run_cookie *c)
{
    pthread_mutex_lock(&r->wait_lock);
    /* Stamped under the lock, so that the list stays in order of waiting_from_ms. */
    c->waiting_from_ms = r->clock(r->clock_arg);
    c->wait_prev = r->wait_newest;
    c->wait_next = NULL;
    if (r->wait_newest != NULL) {
        r->wait_newest->wait_next = c;
    } else {
        r->wait_oldest = c;
    }
    r->wait_newest = c;
    r->nwait++;
    c->waiting = true;
    pthread_mutex_unlock(&r->wait_lock);
}

void run_settle(modq_run *r, modq_run_cookie *c)
{
    if (!c->waiting) {
        return;
    }
    pthread_mutex_lock(&r->wait_lock);
    if (c->wait_prev != NULL) {
        c->wait_prev->wait_next = c->wait_next;
    } else {
        r->wait_oldest = c->wait_next;
    }
    if (c->wait_next != NULL) {
        c->wait_next->wait_prev = c->wait_prev;
    } else {
        r->wait_newest = c->wait_prev;
    }
    r->nwait--;
    c->waiting = false;
    c->wait_prev = c->wait_next = NULL;
    pthread_mutex_unlock(&r->wait_lock);
}

size_t run_waiting(modq_run *r, int64_t *oldest_ms)
{
    size_t n;
    pthread_mutex_lock(&r->wait_lock);
    n = r->nwait;
    *oldest_ms = r->wait_oldest != NULL ? r->wait_oldest->waiting_from_ms : -1;
    pthread_mutex_unlock(&r->wait_lock);
    return n;
}

/* A cookie of kind with a copy of buf (NULL when out of memory: answer, when given, hears LOST).
 * key is cut to fit. answer (may be NULL): who waits to hear the record's fate. */
static modq_run_cookie *cookie_new(modq_run *r, modq_run_cookie_kind kind, const char *key,
                                   const uint8_t *buf, size_t len, const modq_desk_confirm *answer)
{
    modq_run_cookie *c = calloc(1, sizeof *c);
    if (c == NULL) {
        goto lost;
    }
    c->kind = kind;
    snprintf(c->key, sizeof c->key, "%s", key);
    if (kind != MODQ_RUN_LEDGER && len > 0) {
        c->buf = malloc(len);
        if (c->buf == NULL) {
            free(c);
            goto lost;
        }
        memcpy(c->buf, buf, len);
        c->len = len;
    }
    c->tenure = modq_consume_tenure(atomic_load(&r->consume_live));
    if (answer != NULL) {
        c->answer = *answer;
        c->answers_pending = &r->answers_pending;
        atomic_fetch_add(&r->answers_pending, 1);
        atomic_store(&c->answer_pending, true);
    }
    return c;
lost:
    if (answer != NULL) {
        answer->fn(answer->arg, MODQ_DESK_FATE_LOST);
    }
    return NULL;
}

/* Hands c to the publisher; false when nothing will confirm it (c is still ours then). */
static bool publish(modq_run *r, modq_run_cookie *c, const uint8_t *buf, size_t len, char *err,
                    size_t err_size)
{
    modq_publish_result pr;

    switch (c->kind) {
    case MODQ_RUN_HUMAN:
        pr = modq_publish_decision(r->publish, c->key, c->ticket_id, buf, len, c, err, err_size);
        break;
    case MODQ_RUN_WELLBEING:
        pr = modq_publish_wellbeing(r->publish, c->key, buf, len, c, err, err_size);
        break;
    case MODQ_RUN_AUDIT:
        pr = modq_publish_audit(r->publish, c->key, buf, len, c, err, err_size);
        break;
    case MODQ_RUN_LEDGER:
        pr = modq_publish_ledger(r->publish, c->key, buf, len, c, err, err_size);
        break;
    case MODQ_RUN_ESCALATION:
        pr = modq_publish_review(r->publish, c->key, buf, len, c, err, err_size);
        break;
    default:
        snprintf(err, err_size, "not a desk message");
        return false;
    }
    /* A refusal known at once still completes through the next poll. */
    return modq_publish_will_complete(pr);
}

static const char *kind_name(modq_run_cookie_kind k)
{
    switch (k) {
    case MODQ_RUN_HUMAN:
        return "decision";
    case MODQ_RUN_WELLBEING:
        return "wellbeing event";
    case MODQ_RUN_AUDIT:
        return "audit event";
    case MODQ_RUN_LEDGER:
        return "ledger";
    case MODQ_RUN_ESCALATION:
        return "escalation";
    default:
        return "ticket outcome";
    }
}

/* Publishes a desk message (buf: the cookie's own copy, or for a ledger the caller's bytes); a
 * refusal goes to the retry list (a ledger: logged and dropped). Takes c. */
static void send_desk(modq_run *r, modq_run_cookie *c, const uint8_t *buf, size_t len)
{
    char err[ERRSTR_SIZE] = "";
    if (publish(r, c, buf, len, err, sizeof err)) {
        return;
    }
    if (c->kind == MODQ_RUN_LEDGER) {
        RUN_COUNT(r, event_failed);
        modq_log_write(r->log, MODQ_LOG_WARN, "ledger not published", "associate", c->key, "error",
                       err, NULL);
        run_cookie_free(c);
        return;
    }
    run_retry_later(r, c, err);
}

void run_republish(modq_run *r, modq_run_cookie *c)
{
    RUN_COUNT(r, retried);
    send_desk(r, c, c->buf, c->len);
}

/* Appends c (retry_at_ms set) to the retry list; false when the list is full. */
static bool retry_append(modq_run *r, modq_run_cookie *c)
{
    bool kept = false;

    c->next = NULL;
    pthread_mutex_lock(&r->retry_lock);
    if (r->nretry < MODQ_RUN_RETRY_MAX) {
        if (r->retry == NULL) {
            r->retry = c;
        } else {
            r->retry_tail->next = c;
        }
        r->retry_tail = c;
        r->nretry++;
        kept = true;
    }
    pthread_mutex_unlock(&r->retry_lock);
    return kept;
}

void run_retry_later(modq_run *r, modq_run_cookie *c, const char *error)
{
    int64_t backoff = MODQ_RUN_RETRY_BASE_MS;

    for (unsigned i = 0; i < c->attempts && backoff < MODQ_RUN_RETRY_CAP_MS; i++) {
        backoff *= 2;
    }
    if (backoff > MODQ_RUN_RETRY_CAP_MS) {
        backoff = MODQ_RUN_RETRY_CAP_MS;
    }
    c->attempts++;
    c->retry_at_ms = r->clock(r->clock_arg) + backoff;
    run_cookie_tell(c, MODQ_DESK_FATE_PENDING); /* kept and retried: the person hears so now */
    bool kept = retry_append(r, c);
    if (c->attempts == 1 || !kept) {
        modq_log_write(r->log, kept ? MODQ_LOG_WARN : MODQ_LOG_ERROR,
                       kept ? "publish not confirmed: will retry"
                            : "publish not confirmed: retry list full, dropped",
                       "what", kind_name(c->kind), "key", c->key, "error", error ? error : "",
                       NULL);
    }
    if (!kept) {
        RUN_COUNT(r, event_failed);
        run_settle(r, c);
        run_cookie_free(c);
    }
}

enum { SEND, HOLD, DROP };

/* A fleet's desk sends a person's decision or an escalation only while Kafka confirms that it
 * holds the review topic: one that reached Kafka after another desk took over would give its
 * ticket a second outcome. Held while the desk is not confirmed; dropped once the topic has gone
 * to another desk, which offers the item again (the person was told it is not saved yet). */
static int fence(modq_run *r, const modq_run_cookie *c)
{
    if (r->role != MODQ_CONFIG_ROLE_DESK ||
        (c->kind != MODQ_RUN_HUMAN && c->kind != MODQ_RUN_ESCALATION)) {
        return SEND;
    }
    if (!modq_run_holds_review(r) ||
        c->tenure != modq_consume_tenure(atomic_load(&r->consume_live))) {
        return DROP;
    }
    return run_desk_serving(r) ? SEND : HOLD;
}

/* Back on the retry list at the base pace, its backoff kept: held, not refused. It just left
 * the list, so there is room for it. */
static void hold(modq_run *r, modq_run_cookie *c)
{
    c->retry_at_ms = r->clock(r->clock_arg) + MODQ_RUN_RETRY_BASE_MS;
    if (!retry_append(r, c)) {
        run_settle(r, c);
        run_cookie_free(c);
    }
}

void run_retry_due(modq_run *r)
{
    size_t dropped = 0;

    int64_t now = r->clock(r->clock_arg);
    modq_run_cookie *due = NULL, **tail = &due;

    pthread_mutex_lock(&r->retry_lock);
    r->retry_tail = NULL;
    for (modq_run_cookie **pp = &r->retry; *pp != NULL;) {
        modq_run_cookie *c = *pp;
        if (c->retry_at_ms <= now) {
            *pp = c->next;
            c->next = NULL;
            *tail = c;
            tail = &c->next;
            r->nretry--;
        } else {
            r->retry_tail = c;
            pp = &c->next;
        }
    }
    pthread_mutex_unlock(&r->retry_lock);
    while (due != NULL) { /* published outside the lock: a refusal re-enters the list */
        modq_run_cookie *next = due->next;
        due->next = NULL;
        switch (fence(r, due)) {
        case SEND:
            run_republish(r, due);
            break;
        case HOLD:
            hold(r, due);
            break;
        default:
            RUN_COUNT(r, publish_failed);
            run_settle(r, due);
            run_cookie_free(due);
            dropped++;
        }
        due = next;
    }
    if (dropped > 0) {
        char n[24];
        snprintf(n, sizeof n, "%zu", dropped);
        modq_log_write(
            r->log, MODQ_LOG_WARN,
            "desk: the review topic went to another desk; decisions and escalations "
            "Kafka had not confirmed are dropped, and that desk offers their items again",
            "dropped", n, NULL);
    }
}

size_t run_retry_drop(modq_run *r)
{
    size_t n = 0;
    pthread_mutex_lock(&r->retry_lock);
    modq_run_cookie *c = r->retry;
    r->retry = r->retry_tail = NULL;
    r->nretry = 0;
    pthread_mutex_unlock(&r->retry_lock);
    while (c != NULL) {
        modq_run_cookie *next = c->next;
        modq_log_write(r->log, MODQ_LOG_ERROR, "drain: never confirmed, dropped", "what",
                       kind_name(c->kind), "key", c->key, NULL);
        run_settle(r, c);
        run_cookie_free(c);
        n++;
        c = next;
    }
    return n;
}

/* ---- The desk's sink ---------------------------------------------------------------------- */

static void sink_decision(void *arg, const modq_desk_ref *ref, const char *content_id,
                          const char *ticket_id, const uint8_t *sha256, int verdict,
                          const char *labels, const uint8_t *buf, size_t len,
                          const modq_desk_confirm *answer)
{
    modq_run *r = arg;
    modq_run_cookie *c = cookie_new(r, MODQ_RUN_HUMAN, content_id, buf, len, answer);

    if (c == NULL) {
        RUN_COUNT(r, publish_failed);
        modq_log_write(r->log, MODQ_LOG_ERROR, "decision lost: out of memory", "ticket", ticket_id,
                       NULL);
        return;
    }
    c->has_ref = ref->topic[0] != '\0';
    snprintf(c->topic, sizeof c->topic, "%s", ref->topic);
    c->partition = ref->partition;
    c->offset = ref->offset;
    snprintf(c->ticket_id, sizeof c->ticket_id, "%s", ticket_id);
    if (sha256 != NULL) {
        memcpy(c->sha256, sha256, sizeof c->sha256);
        c->has_sha256 = true;
    }
    c->verdict = verdict;
    snprintf(c->labels, sizeof c->labels, "%s", labels ? labels : "");
    c->decided_at_ms = modq_clock_wall_ms();
    run_wait(r, c);
    send_desk(r, c, c->buf, c->len);
}

/* answer: who waits for the record's fate (an escalation), or NULL. */
static void sink_event(modq_run *r, modq_run_cookie_kind kind, const char *key, const uint8_t *buf,
                       size_t len, const modq_desk_confirm *answer)
{
    modq_run_cookie *c = cookie_new(r, kind, key, buf, len, answer);
    if (c == NULL) {
        RUN_COUNT(r, event_failed);
        modq_log_write(r->log, MODQ_LOG_ERROR, "event lost: out of memory", "what", kind_name(kind),
                       "key", key, NULL);
        return;
    }
    if (answer) { /* waits as a decision does: answered PENDING when Kafka is slow */
        run_wait(r, c);
    }
    if (kind == MODQ_RUN_LEDGER) { /* not kept by the cookie: never retried */
        send_desk(r, c, buf, len);
    } else {
        send_desk(r, c, c->buf, c->len);
    }
}

static void sink_wellbeing(void *arg, const char *associate_id, const uint8_t *buf, size_t len)
{
    sink_event(arg, MODQ_RUN_WELLBEING, associate_id, buf, len, NULL);
}

static void sink_audit(void *arg, const char *key, const uint8_t *buf, size_t len)
{
    sink_event(arg, MODQ_RUN_AUDIT, key, buf, len, NULL);
}

static void sink_ledger(void *arg, const char *associate_id, const uint8_t *buf, size_t len)
{
    sink_event(arg, MODQ_RUN_LEDGER, associate_id, buf, len, NULL);
}

static void sink_escalation(void *arg, const char *ticket_id, const uint8_t *buf, size_t len,
                            const modq_desk_confirm *confirm)
{
    sink_event(arg, MODQ_RUN_ESCALATION, ticket_id, buf, len, confirm);
}

static void sink_on_screen(void *arg, const char *queue, double seconds, double minutes)
{
    modq_run *r = arg;
    if (r->metrics != NULL) {
        modq_metrics_observe(r->metrics, "modq_exposure_seconds", queue, seconds);
        modq_metrics_observe(r->metrics, "modq_exposure_minutes", queue, minutes);
    }
}

modq_desk_sink run_desk_sink(modq_run *r)
{
    return (modq_desk_sink){
        .arg = r,
        .decision = sink_decision,
        .wellbeing = sink_wellbeing,
        .audit = sink_audit,
        .ledger = sink_ledger,
        .on_screen = sink_on_screen,
        /* A desk of a fleet keeps its escalations on the review topic, for the next desk. */
        .escalation = r->role == MODQ_CONFIG_ROLE_DESK ? sink_escalation : NULL,
    };
}

/* ---- Followers ---------------------------------------------------------------------------- */

/* Policy labels joined by ',' into out (cut at a label boundary). */
static void join_labels(const Modq__V1__Decision *d, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < d->n_policy_labels; i++) {
        size_t n = strlen(d->policy_labels[i]);
        if (used + n + (i > 0) + 1 > size) {
            break;
        }
        if (i > 0) {
            out[used++] = ',';
        }
        memcpy(out + used, d->policy_labels[i], n);
        used += n;
        out[used] = '\0';
    }
}

void run_on_decision_record(void *arg, const modq_follow_record *rec)
{
    modq_run *r = arg;
    Modq__V1__Decision *d;
    uint8_t sha[32], pdq[MODQ_PDQ_BYTES];
    bool has_sha = false, has_pdq = false;
    char labels[MODQ_DECIDED_MAX_LABELS + 1];
    uint64_t evicted = 0;
    modq_desk_ref ref;

    if (rec->value == NULL) {
        return;
    }
    d = modq__v1__decision__unpack(NULL, rec->value_len, rec->value);
    /* An id ingest would refuse names no ticket here, and would reach people's answers as the
     * prior decision's ticket id: the record is counted and left out. */
    if (d == NULL || d->ticket_id == NULL ||
        !modq_text_ticket_id(d->ticket_id, strlen(d->ticket_id))) {
        RUN_COUNT(r, follow_bad);
        goto out;
    }
    if (d->hashes != NULL && d->hashes->sha256 != NULL &&
        modq_digest_from_hex(d->hashes->sha256, sha, sizeof sha) == MODQ_BLUR_OK) {
        has_sha = true;
    }
    /* The PDQ hash too, when it is worth matching: re-encoded and resized copies of decided media
     * are recognised after a restart as well. */
    if (d->hashes != NULL && d->hashes->pdq != NULL &&
        d->hashes->pdq_quality >= MODQ_BANKS_MIN_PDQ_QUALITY &&
        modq_pdq_from_hex(d->hashes->pdq, pdq) == MODQ_BLUR_OK) {
        has_pdq = true;
    }
    join_labels(d, labels, sizeof labels);
    pthread_mutex_lock(&r->decided_lock);
    modq_decided_add(r->decided, d->ticket_id, has_sha ? sha : NULL, has_pdq ? pdq : NULL,
                     (int)d->verdict, labels,
                     d->decided_at_ms > 0 ? d->decided_at_ms : rec->timestamp_ms, &evicted);
    pthread_mutex_unlock(&r->decided_lock);
    if (evicted > 0) {
        atomic_fetch_add_explicit(&r->n_decided_evicted, evicted, memory_order_relaxed);
    }
    /* Decided by another worker (or before a rebalance): nobody here may see it again. */
    if (r->desk != NULL && modq_desk_forget_ticket(r->desk, d->ticket_id, &ref) == 1) {
        modq_log_write(r->log, MODQ_LOG_INFO, "ticket decided elsewhere: dropped from the desk",
                       "ticket", d->ticket_id, NULL);
        modq_consume *cons = atomic_load(&r->consume_live);
        if (cons != NULL && ref.topic[0] != '\0') {
            modq_consume_complete(cons, ref.topic, ref.partition, ref.offset);
        }
    }
out:
    if (d != NULL) {
        modq__v1__decision__free_unpacked(d, NULL);
    }
}

void run_on_ledger_record(void *arg, const modq_follow_record *rec)
{
    modq_run *r = arg;
    char err[ERRSTR_SIZE] = "";

    if (rec->value == NULL ||
        r->desk == NULL) { /* a tombstone: the associate's ledger was erased */
        return;
    }
    if (modq_desk_ledger_restore(r->desk, rec->value, rec->value_len, err, sizeof err) !=
        MODQ_DESK_OK) {
        RUN_COUNT(r, follow_bad);
        modq_log_write(r->log, MODQ_LOG_WARN, "ledgers topic: record ignored", "error", err, NULL);
    }
}

void modq_run_publish_audit(modq_run *r, const char *key, const uint8_t *buf, size_t len)
{
    if (r != NULL && key != NULL && buf != NULL) {
        sink_event(r, MODQ_RUN_AUDIT, key, buf, len, NULL);
    }
}
