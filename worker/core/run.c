/*
 * run.c: modq-worker's main loop (see run.h): consumer -> pool -> prepare -> publisher, and
 * publish confirmations -> offset completion.
 */
#include "run.h"

#include "kafka/consume.h"
#include "prepare/decided.h"
#include "prepare/fetch.h"
#include "obs/log.h"
#include "pool.h"
#include "prepare/prepare.h"
#include "kafka/publish.h"
#include "run_impl.h"
#include "modq_common.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define DRAIN_POLL_MS    50
#define EXPIRE_PERIOD_MS 1000
#define TRIM_PERIOD_MS   60000
#define MIN_FLUSH_MS     1000 /* the publisher gets at least this at drain, grace or not */
#define ANSWER_TURN_MS   5    /* a loop turn while a person waits for a confirmation */
#define ERRSTR_SIZE      MODQ_RUN_ERRSTR_SIZE

const char *modq_run_strerror(modq_run_result r)
{
    switch (r) {
    case MODQ_RUN_OK:
        return "success";
    case MODQ_RUN_STOPPED:
        return "a stop was requested";
    case MODQ_RUN_ERR_INVALID_ARG:
        return "invalid argument";
    case MODQ_RUN_ERR_NOMEM:
        return "out of memory";
    case MODQ_RUN_ERR_SETUP:
        return "a part of the worker could not be set up";
    case MODQ_RUN_ERR_FATAL:
        return "Kafka client failed fatally";
    case MODQ_RUN_RESULT_COUNT:
        break;
    }
    return "unknown result";
}

int64_t run_mono_ms(void *arg)
{
    (void)arg;
    return modq_clock_mono_ms();
}

static void fmt_int(char *buf, size_t size, int64_t v)
{
    snprintf(buf, size, "%lld", (long long)v);
}

/* ---- Pool threads ------------------------------------------------------------------------ */

/*
 * The decisions follower may have recorded this ticket as decided (by another worker) after
 * preparation looked and before the desk took it; its own forget then found nothing. Looking
 * again once the item is on the desk closes that window: the follower records before it forgets,
 * so one of the two always sees the other.
 */
static void forget_if_decided(modq_run *r, const char *ticket_id)
{
    modq_desk_ref ref;

    if (run_is_decided(r, ticket_id) && modq_desk_forget_ticket(r->desk, ticket_id, &ref) == 1) {
        RUN_COUNT(r, duplicate);
        if (ref.topic[0] != '\0') {
            modq_consume_complete(r->consume, ref.topic, ref.partition, ref.offset);
        }
    }
}

/* A review item to the desk. Returns p when the desk did not take it (the caller frees it),
 * NULL when the desk owns it now. A ticket the desk holds already is a redelivery, or its
 * escalated record read back, which then carries the item. */
static modq_prepared *to_desk(modq_run *r, const rd_kafka_message_t *msg, modq_prepared *p,
                              int64_t now)
{
    const char *topic = rd_kafka_topic_name(msg->rkt);
    modq_desk_ref ref = {.partition = msg->partition, .offset = msg->offset}, held;
    snprintf(ref.topic, sizeof ref.topic, "%s", topic);
    char tid[MODQ_DECIDED_MAX_ID + 1]; /* p is the desk's, and may be gone, once added */
    snprintf(tid, sizeof tid, "%s", p->ticket ? p->ticket->ticket_id : "");
    modq_desk_result dr = modq_desk_add(r->desk, p, &ref, now);
    if (dr == MODQ_DESK_OK) {
        RUN_COUNT(r, review);
        p = NULL; /* the desk's now */
        forget_if_decided(r, tid);
    } else if (dr == MODQ_DESK_ERR_INVALID_ARG && p->escalated &&
               modq_desk_take_escalation(r->desk, p, &ref, &held)) {
        /* The escalated record carries the item from now on: its first source is done. */
        if (held.topic[0] != '\0' &&
            (held.offset != ref.offset || held.partition != ref.partition ||
             strcmp(held.topic, ref.topic) != 0)) {
            modq_consume_complete(r->consume, held.topic, held.partition, held.offset);
        }
    } else if (dr == MODQ_DESK_ERR_INVALID_ARG && p->ticket != NULL &&
               modq_desk_holds(r->desk, p->ticket->ticket_id, &held)) {
        /* The same message again (its partition came back while a person still held it):
         * the held copy's decision completes this very offset, so nothing to do. The same
         * ticket at another offset: the held copy brings the decision, this one is done. */
        if (held.partition != msg->partition || held.offset != msg->offset ||
            strcmp(held.topic, topic) != 0) {
            RUN_COUNT(r, duplicate);
            modq_consume_complete(r->consume, topic, msg->partition, msg->offset);
        }
    } else {
        run_log_msg(r, MODQ_LOG_ERROR, "review desk refused: ticket left uncompleted", topic,
                    msg->partition, msg->offset, modq_desk_strerror(dr));
    }
    return p;
}

/* What decided a ticket without a person, for /metrics: a view of it saved, by what saved it. */
static void count_auto(modq_run *r, const modq_prepared *p)
{
    if (r->metrics == NULL || p->auto_source == NULL) {
        return;
    }
    modq_metrics_add(r->metrics, "modq_views_saved_total", p->auto_source, 1);
    if (p->auto_bank[0] != '\0') {
        modq_metrics_add(r->metrics, "modq_bank_matches_total", p->auto_bank, 1);
        modq_metrics_add(r->metrics, "modq_bank_matches_by_hash_total", p->auto_kind, 1);
    } else {
        modq_metrics_add(r->metrics, "modq_prior_matches_by_hash_total", p->auto_kind, 1);
    }
}

/* A pool job: one ticket message (owned; destroyed here). */
void run_pool_job(void *job, void *arg)
{
    modq_run *r = arg;
    rd_kafka_message_t *msg = job;
    const char *topic = rd_kafka_topic_name(msg->rkt);
    int64_t now = modq_clock_wall_ms();
    modq_prepared *p = NULL;

    if (run_dead_again(r, msg)) {
        goto out;
    }
    p = r->role == MODQ_CONFIG_ROLE_DESK
            ? run_unpack_review(r, msg)
            : modq_prepare_ticket(&r->ctx, msg->payload, msg->len, now);
    if (p == NULL) {
        RUN_COUNT(r, prepare_failed);
        run_log_msg(r, MODQ_LOG_ERROR, "prepare: out of memory: ticket left uncompleted", topic,
                    msg->partition, msg->offset, NULL);
        goto out;
    }
    switch (p->kind) {
    case MODQ_PREPARED_AUTO:
        if (run_publish_outcome(r, msg, p, now)) {
            RUN_COUNT(r, auto_decided);
            count_auto(r, p);
        }
        break;
    case MODQ_PREPARED_DEAD_LETTER:
        run_log_msg(r, MODQ_LOG_INFO, "ticket dead-lettered", topic, msg->partition, msg->offset,
                    p->code);
        if (run_publish_outcome(r, msg, p, now)) {
            RUN_COUNT(r, dead_letter);
        }
        break;
    case MODQ_PREPARED_DUPLICATE:
        RUN_COUNT(r, duplicate);
        modq_consume_complete(r->consume, topic, msg->partition, msg->offset);
        break;
    case MODQ_PREPARED_REVIEW:
        if (r->role != MODQ_CONFIG_ROLE_PREPARE) {
            p = to_desk(r, msg, p, now);
        } else if (run_publish_review(r, msg, p, now) && p->kind == MODQ_PREPARED_REVIEW) {
            RUN_COUNT(r, review);
        } else if (p->kind == MODQ_PREPARED_DEAD_LETTER) {
            RUN_COUNT(r, dead_letter);
        }
        break;
    }
out:
    modq_prepared_free(p);
    rd_kafka_message_destroy(msg);
}

/* Pool stopping: a job that will not run. Its offset stays uncompleted. */
void run_drop_job(void *job, void *arg)
{
    (void)arg;
    rd_kafka_message_destroy(job);
}

/* ---- Poll thread ------------------------------------------------------------------------- */

/* Publish confirmation (poll thread, inside modq_publish_poll/_flush/_free): completes the
 * ticket, or sends the message to the retry list, or frees the cookie. */
void run_delivered(void *arg, void *ck, int ok, const char *error)
{
    modq_run *r = arg;
    modq_run_cookie *c = ck;
    bool decision = c->kind == MODQ_RUN_AUTO || c->kind == MODQ_RUN_HUMAN;

    if (!ok) {
        if (c->kind == MODQ_RUN_HUMAN || c->kind == MODQ_RUN_WELLBEING ||
            c->kind == MODQ_RUN_AUDIT || c->kind == MODQ_RUN_ESCALATION) {
            if (r->retry_closed) {
                run_settle(r, c);
                run_cookie_free(c); /* shutdown: logged by the drain */
                RUN_COUNT(r, publish_failed);
                return;
            }
            run_retry_later(r, c, error);
            return;
        }
        if (c->kind == MODQ_RUN_LEDGER) {
            RUN_COUNT(r, event_failed);
            modq_log_write(r->log, MODQ_LOG_WARN, "ledger not confirmed", "associate", c->key,
                           "error", error, NULL);
        } else {
            RUN_COUNT(r, publish_failed);
            run_log_msg(r, MODQ_LOG_ERROR, "publish not confirmed: ticket left uncompleted",
                        c->topic, c->partition, c->offset, error);
        }
        run_cookie_free(c);
        return;
    }
    r->last_confirm_ms = r->clock(r->clock_arg);
    run_cookie_tell(c, MODQ_DESK_FATE_CONFIRMED);
    if (c->kind == MODQ_RUN_DEAD) {
        run_dead_remember(r, c->dead_key, modq_clock_wall_ms());
    }
    if (decision) {
        uint64_t evicted = 0;
        pthread_mutex_lock(&r->decided_lock);
        int rc = modq_decided_add(r->decided, c->ticket_id, c->has_sha256 ? c->sha256 : NULL, NULL,
                                  c->verdict, c->labels, c->decided_at_ms, &evicted);
        pthread_mutex_unlock(&r->decided_lock);
        if (evicted > 0) {
            atomic_fetch_add_explicit(&r->n_decided_evicted, evicted, memory_order_relaxed);
        }
        if (rc != 0) {
            run_log_msg(r, MODQ_LOG_WARN, "decided set: ticket not remembered", c->topic,
                        c->partition, c->offset, c->ticket_id);
        }
    }
    if (c->has_ref) {
        modq_consume_complete(r->consume, c->topic, c->partition, c->offset);
        RUN_COUNT(r, confirmed);
    }
    run_settle(r, c);
    run_cookie_free(c);
}

/* Consumer handler: the message goes to the pool, or is held for the next turn. */
static void on_message(void *arg, rd_kafka_message_t *msg)
{
    modq_run *r = arg;

    if (r->nheld == 0 && modq_pool_submit(r->pool, msg) == 0) {
        RUN_COUNT(r, received);
        return;
    }
    if (r->nheld < r->cap_held) {
        r->held[r->nheld++] = msg;
        return;
    }
    /* Cannot happen while the windows bound what is handed out; never silently. */
    run_log_msg(r, MODQ_LOG_ERROR, "no room to hold a ticket: left uncompleted",
                rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset, NULL);
    rd_kafka_message_destroy(msg);
}

/* Hands held messages to the pool, in order, while it takes them. */
static void submit_held(modq_run *r)
{
    size_t i = 0;
    while (i < r->nheld && modq_pool_submit(r->pool, r->held[i]) == 0) {
        RUN_COUNT(r, received);
        i++;
    }
    memmove(r->held, r->held + i, (r->nheld - i) * sizeof *r->held);
    r->nheld -= i;
}

static void commit(modq_run *r)
{
    char err[ERRSTR_SIZE] = "";
    if (modq_consume_commit(r->consume, false, err, sizeof err) != MODQ_CONSUME_OK) {
        modq_log_write(r->log, MODQ_LOG_WARN, "commit failed", "error", err, NULL);
    }
    r->last_commit_ms = r->clock(r->clock_arg);
}

/* One consumer poll; false when the consumer is unusable (logged). */
static bool poll_consumer(modq_run *r, int timeout_ms)
{
    char err[ERRSTR_SIZE] = "";
    modq_consume_result cr =
        modq_consume_poll(r->consume, timeout_ms, on_message, r, err, sizeof err);
    if (cr == MODQ_CONSUME_ERR_KAFKA) {
        modq_log_write(r->log, MODQ_LOG_WARN, "consumer error", "error", err, NULL);
    }
    if (cr == MODQ_CONSUME_ERR_FATAL || cr == MODQ_CONSUME_ERR_CLOSED) {
        modq_log_write(r->log, MODQ_LOG_ERROR, "consumer failed", "error", err, NULL);
        return false;
    }
    return true;
}

static bool retry_pending(modq_run *r);

/* Whether something has waited stuck_ms with no confirmation since it began to wait; *since is
 * when the wait began (-1: nothing waits), kept across calls. */
static bool waited_too_long(const modq_run *r, bool pending, int64_t *since, int64_t last_ms,
                            int64_t mono)
{
    if (!pending) {
        *since = -1;
        return false;
    }
    if (*since < 0) {
        *since = mono;
    }
    return mono - (last_ms > *since ? last_ms : *since) >= r->stuck_ms;
}

/* Pauses the desk while Kafka does not confirm: a decision made then would live only in this
 * process until Kafka is back, and a crash in between would show its ticket to a person again.
 * Stuck means messages have waited stuck_ms with nothing confirmed, or a person's decision has
 * waited stuck_ms, whatever else confirms (its partition may have no leader while others, and
 * other topics, still take messages). */
static void watch_kafka(modq_run *r, int64_t mono)
{
    int64_t oldest;
    size_t nwait = run_waiting(r, &oldest);
    bool all = waited_too_long(r, retry_pending(r), &r->waiting_since_ms, r->last_confirm_ms, mono);
    bool stuck = all || (nwait > 0 && mono - oldest >= r->stuck_ms);

    if (stuck == atomic_load(&r->paused)) {
        return;
    }
    atomic_store(&r->paused, stuck);
    modq_desk_set_paused(r->desk, stuck);
    if (stuck) {
        char n[24], h[24];
        snprintf(n, sizeof n, "%zu", modq_publish_outstanding(r->publish));
        snprintf(h, sizeof h, "%zu", nwait);
        /* A warning: nothing is lost, it clears by itself, and the metric carries the alert. */
        modq_log_write(r->log, MODQ_LOG_WARN,
                       "review paused: Kafka does not confirm; no new items until it does",
                       "unconfirmed", n, "decisions_waiting", h, NULL);
    } else {
        modq_log_write(r->log, MODQ_LOG_INFO, "review resumed: Kafka confirms again", NULL);
    }
}

/* glibc keeps what threads free in their arenas (up to eight per core), and a long-running worker's
 * arenas grow with fragmentation while what is in use stays flat (a 60-minute soak: +3 MB/h of
 * arena free space, heap in use flat at 5 MB). Handing the free pages back once a minute keeps
 * the pod's memory what the worker uses; it walks a few MB of heap, well under a millisecond. */
static void trim_heap(modq_run *r, int64_t mono)
{
    if (mono - r->last_trim_ms < TRIM_PERIOD_MS) {
        return;
    }
    r->last_trim_ms = mono;
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

/* Each turn: liveness, readiness, Kafka's progress. Once a second: leases that ran out and
 * decisions past the retention. Once a minute: the heap's free pages back to the system. */
static void housekeeping(modq_run *r)
{
    int64_t mono = r->clock(r->clock_arg);

    atomic_store(&r->last_turn_ms, mono);
    watch_kafka(r, mono);
    run_answer_overdue(r, mono);
    bool assigned = modq_consume_assigned(r->consume) > 0;
    if (!atomic_load(&r->assigned_once) && assigned) {
        atomic_store(&r->assigned_once, true);
    }
    if (r->role == MODQ_CONFIG_ROLE_DESK) {
        run_desk_confirm(r, mono);
    } else {
        run_banks_tick(r, mono);
    }
    if (mono - r->last_expire_ms < EXPIRE_PERIOD_MS) {
        return;
    }
    r->last_expire_ms = mono;
    int64_t wall = modq_clock_wall_ms();
    modq_desk_tick(r->desk, wall);
    pthread_mutex_lock(&r->decided_lock);
    modq_decided_expire(r->decided, wall);
    modq_decided_expire(r->dead, wall);
    pthread_mutex_unlock(&r->decided_lock);
    trim_heap(r, mono);
}

modq_run_result modq_run_step(modq_run *r, int timeout_ms)
{
    char err[ERRSTR_SIZE] = "";

    if (r == NULL || timeout_ms < 0) {
        return MODQ_RUN_ERR_INVALID_ARG;
    }
    if (r->stop || r->drained) {
        return MODQ_RUN_STOPPED;
    }
    submit_held(r);
    /* Confirmations are served between the consumer's waits: while a person waits for one, the
     * loop turns quickly, so that the answer is not held up to a whole turn (bench/api: a
     * decision's answer took 77 ms at the median with 100 ms turns). Not while records only
     * wait for Kafka with nobody waiting on them: the loop would spin through an outage. */
    if (timeout_ms > ANSWER_TURN_MS && atomic_load(&r->answers_pending) > 0) {
        timeout_ms = ANSWER_TURN_MS;
    }
    if (r->nheld == 0) {
        if (!poll_consumer(r, timeout_ms)) {
            return MODQ_RUN_ERR_FATAL;
        }
        modq_publish_poll(r->publish, 0);
    } else {
        modq_publish_poll(r->publish, timeout_ms); /* the pool is busy: wait on confirmations */
    }
    run_retry_due(r);
    if (r->clock(r->clock_arg) - r->last_commit_ms >= MODQ_RUN_COMMIT_PERIOD_MS) {
        commit(r);
    }
    housekeeping(r);
    if (modq_publish_fatal(r->publish, err, sizeof err)) {
        modq_log_write(r->log, MODQ_LOG_ERROR, "producer failed", "error", err, NULL);
        return MODQ_RUN_ERR_FATAL;
    }
    return MODQ_RUN_OK;
}

void modq_run_request_stop(modq_run *r)
{
    if (r != NULL) {
        r->stop = 1;
    }
}

static bool retry_pending(modq_run *r)
{
    pthread_mutex_lock(&r->retry_lock);
    bool pending = r->nretry > 0;
    pthread_mutex_unlock(&r->retry_lock);
    return pending || modq_publish_outstanding(r->publish) > 0;
}

modq_run_result modq_run_drain(modq_run *r, int64_t grace_ms)
{
    char err[ERRSTR_SIZE] = "";
    modq_run_result rc = MODQ_RUN_OK;
    int64_t deadline, left;
    size_t dropped, unconfirmed;

    if (r == NULL || grace_ms < 0) {
        return MODQ_RUN_ERR_INVALID_ARG;
    }
    if (r->drained) {
        return MODQ_RUN_OK;
    }
    r->drained = true;
    r->stop = 1;
    deadline = r->clock(r->clock_arg) + grace_ms;
    modq_log_write(r->log, MODQ_LOG_INFO, "draining", NULL);
    /* No new leases; what people hold goes back (it is redelivered to the next owner). */
    modq_desk_close(r->desk);
    size_t handed_back = modq_desk_release_all(r->desk, modq_clock_wall_ms());
    if (handed_back > 0) {
        char hb[24];
        fmt_int(hb, sizeof hb, (int64_t)handed_back);
        modq_log_write(r->log, MODQ_LOG_INFO, "drain: leases handed back", "items", hb, NULL);
    }
    modq_consume_stop_fetching(r->consume);
    /* Keep the consumer and the confirmations served while the pool works off its queue. */
    while (r->clock(r->clock_arg) < deadline &&
           (r->nheld > 0 || modq_pool_queued(r->pool) + modq_pool_running(r->pool) > 0)) {
        submit_held(r);
        if (rc == MODQ_RUN_OK && r->nheld == 0 && !poll_consumer(r, 0)) {
            rc = MODQ_RUN_ERR_FATAL; /* logged; confirmations are still served */
        }
        modq_publish_poll(r->publish, DRAIN_POLL_MS);
    }
    for (size_t i = 0; i < r->nheld; i++) {
        rd_kafka_message_destroy(r->held[i]); /* never started: redelivered later */
    }
    r->nheld = 0;
    left = deadline - r->clock(r->clock_arg);
    dropped = modq_pool_stop(r->pool, left > 0 ? left : 0, run_drop_job, r);
    r->pool_stopped = true;
    /* Retries of decisions and events get what is left of the grace. */
    while (r->clock(r->clock_arg) < deadline && retry_pending(r)) {
        run_retry_due(r);
        modq_publish_poll(r->publish, DRAIN_POLL_MS);
    }
    left = deadline - r->clock(r->clock_arg);
    unconfirmed = modq_publish_flush(r->publish, left > MIN_FLUSH_MS ? (int)left : MIN_FLUSH_MS);
    r->retry_closed = true;
    unconfirmed += run_retry_drop(r);
    if (dropped > 0 || unconfirmed > 0) {
        char d[24], u[24];
        fmt_int(d, sizeof d, (int64_t)dropped);
        fmt_int(u, sizeof u, (int64_t)unconfirmed);
        modq_log_write(r->log, MODQ_LOG_WARN, "drain: tickets left uncompleted", "dropped", d,
                       "unconfirmed", u, NULL);
    }
    /* The close commits first (synchronously), then leaves the group. */
    left = deadline - r->clock(r->clock_arg);
    modq_consume_result cr = modq_consume_close_within(
        r->consume, left > MIN_FLUSH_MS ? left : MIN_FLUSH_MS, err, sizeof err);
    if (cr == MODQ_CONSUME_ERR_MOVED_ON) {
        /* A rebalance (or a fenced instance) gave the partitions to another member, which gets
         * their uncommitted tickets again (decided ones count as duplicates there): nothing is
         * lost, so the drain still succeeds. */
        modq_log_write(r->log, MODQ_LOG_WARN,
                       "drain: final commit refused, the group moved on; the partitions' new "
                       "owner gets their uncommitted tickets again",
                       "error", err, NULL);
    } else if (cr != MODQ_CONSUME_OK) {
        modq_log_write(r->log, MODQ_LOG_WARN, "consumer close failed", "error", err, NULL);
        if (rc == MODQ_RUN_OK) {
            rc = MODQ_RUN_ERR_FATAL;
        }
    }
    modq_log_write(r->log, MODQ_LOG_INFO, "drained", NULL);
    return rc;
}
