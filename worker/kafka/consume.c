/*
 * consume.c: the worker's Kafka consumer. Owns the librdkafka consumer handle, one offsets
 * tracker per assigned partition, the per-queue windows, and the pause/resume decisions that
 * keep the backlog in Kafka rather than in memory. See consume.h for the contract; making one is
 * consume_new.c, commits and rebalances consume_rebalance.c.
 *
 * Locking: one mutex guards the partition table, the trackers, the windows and the counters.
 * librdkafka is never called with it held (its callbacks run on the poll thread and take it), and
 * the handler is called without it (it may complete a message at once). Only the poll thread
 * changes the partition table (rebalances run inside rd_kafka_consumer_poll and _close).
 *
 * Ordering: librdkafka bumps a partition's op version when it is paused, so messages it had
 * prefetched are discarded and fetching resumes after the last message returned. That is what
 * makes "hold one message, pause its partition" sound: nothing later of that partition arrives
 * before the held message is tracked, so the tracker never counts it as passed over.
 */
#include "consume_impl.h"

#include "offsets.h"
#include "modq_common.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const result_text[MODQ_CONSUME_RESULT_COUNT] = {
    [MODQ_CONSUME_OK] = "success",
    [MODQ_CONSUME_ERR_INVALID_ARG] = "invalid argument",
    [MODQ_CONSUME_ERR_NOMEM] = "out of memory",
    [MODQ_CONSUME_ERR_CONFIG] = "consumer property refused",
    [MODQ_CONSUME_ERR_KAFKA] = "Kafka error",
    [MODQ_CONSUME_ERR_FATAL] = "fatal Kafka error: the consumer cannot go on",
    [MODQ_CONSUME_ERR_CLOSED] = "the consumer is closed",
    [MODQ_CONSUME_ERR_MOVED_ON] = "commit refused: the group moved on without this member",
};

const char *modq_consume_strerror(modq_consume_result r)
{
    return (unsigned)r < MODQ_CONSUME_RESULT_COUNT ? result_text[r] : "unknown result";
}

void consume_report_problem(modq_consume *c, modq_consume_problem kind, const char *topic_name,
                            int32_t partition, const char *text)
{
    pthread_mutex_lock(&c->lock);
    c->problems[kind]++;
    pthread_mutex_unlock(&c->lock);
    if (c->cb.on_problem != NULL) {
        c->cb.on_problem(c->cb.arg, kind, topic_name, partition, text);
    }
}

long consume_topic_find(const modq_consume *c, const char *name)
{
    for (size_t i = 0; i < c->ntopics; i++) {
        if (strcmp(c->topics[i].name, name) == 0) {
            return (long)i;
        }
    }
    return -1;
}

/* Index in c->parts, or -1. Caller holds the lock (or is the poll thread, which alone writes). */
long consume_part_find(const modq_consume *c, const char *topic_name, int32_t partition)
{
    long ti = consume_topic_find(c, topic_name);
    for (size_t i = 0; ti >= 0 && i < c->nparts; i++) {
        if (c->parts[i]->ti == (size_t)ti && c->parts[i]->partition == partition) {
            return (long)i;
        }
    }
    return -1;
}

void consume_part_free(part *p)
{
    if (p == NULL) {
        return;
    }
    if (p->held != NULL) {
        rd_kafka_message_destroy(p->held);
    }
    modq_offsets_free(p->tracker);
    free(p);
}

/* ---- pause and resume ----------------------------------------------------------------------- */

/* Brings librdkafka's pause state in line with the bookkeeping. Poll thread. */
void consume_reconcile(modq_consume *c)
{
    rd_kafka_topic_partition_list_t *pause = NULL, *resume = NULL;

    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->ntopics; i++) {
        topic *t = &c->topics[i];
        if (t->in_flight >= c->window) {
            t->full = true;
        } else if (t->in_flight <= c->low) {
            t->full = false;
        }
    }
    size_t npaused = 0;
    for (size_t i = 0; i < c->nparts; i++) {
        part *p = c->parts[i];
        /* should_pause is called every time: it keeps its own hysteresis. */
        bool tracker_wants = p->tracker == NULL || modq_offsets_should_pause(p->tracker);
        bool want = c->stopped || c->topics[p->ti].full || p->held != NULL || tracker_wants;
        if (p->paused != (int)want) {
            rd_kafka_topic_partition_list_t **l = want ? &pause : &resume;
            if (*l == NULL) {
                *l = rd_kafka_topic_partition_list_new((int)c->nparts);
            }
            if (*l != NULL) {
                rd_kafka_topic_partition_list_add(*l, c->topics[p->ti].name, p->partition);
                p->paused = want;
            }
        }
        npaused += p->paused == 1;
    }
    c->npaused = npaused;
    pthread_mutex_unlock(&c->lock);

    for (int k = 0; k < 2; k++) {
        rd_kafka_topic_partition_list_t *l = k == 0 ? pause : resume;
        if (l == NULL) {
            continue;
        }
        if (k == 0) {
            rd_kafka_pause_partitions(c->rk, l);
        } else {
            rd_kafka_resume_partitions(c->rk, l);
        }
        /* A partition librdkafka refused is tried again on the next round. */
        pthread_mutex_lock(&c->lock);
        for (int j = 0; j < l->cnt; j++) {
            long pi = l->elems[j].err
                          ? consume_part_find(c, l->elems[j].topic, l->elems[j].partition)
                          : -1;
            if (pi >= 0) {
                c->parts[pi]->paused = -1;
            }
        }
        pthread_mutex_unlock(&c->lock);
        rd_kafka_topic_partition_list_destroy(l);
    }
}

/* ---- messages ------------------------------------------------------------------------------- */

typedef enum action { HAND, SKIP, HOLD, STRAY } action;

/* Decides what to do with msg of partition p, tracking it when it is handed out. Lock held. */
static action classify(modq_consume *c, part *p, const rd_kafka_message_t *msg)
{
    if (p->tracker == NULL) {
        return HOLD;
    }
    if (modq_offsets_is_done(p->tracker, msg->offset)) {
        /* Tracking it moves the position past it; the result is ALREADY_DONE. */
        (void)modq_offsets_track(p->tracker, msg->offset);
        c->skipped++;
        return SKIP;
    }
    if (c->topics[p->ti].in_flight >= c->window) {
        return HOLD;
    }
    switch (modq_offsets_track(p->tracker, msg->offset)) {
    case MODQ_OFFSETS_OK:
        c->topics[p->ti].in_flight++;
        return HAND;
    case MODQ_OFFSETS_ALREADY_DONE:
        c->skipped++;
        return SKIP;
    case MODQ_OFFSETS_ERR_FULL:
    case MODQ_OFFSETS_ERR_NOMEM:
        return HOLD; /* the offsets header: keep it, track it again later */
    default:
        c->strays++; /* in flight already (delivered twice) or a bogus offset */
        return SKIP;
    }
}

static void act(modq_consume *c, part *p, rd_kafka_message_t *msg, action a,
                modq_consume_handler handler, void *arg)
{
    (void)c;
    switch (a) {
    case HAND:
        handler(arg, msg);
        break;
    case HOLD:
        p->held = msg; /* the poll thread alone reads held outside the lock */
        break;
    case SKIP:
    case STRAY:
        rd_kafka_message_destroy(msg);
        break;
    }
}

/* Retries held messages, oldest partition first. Poll thread. */
static void retry_held(modq_consume *c, modq_consume_handler handler, void *arg)
{
    for (size_t i = 0; i < c->nparts; i++) {
        part *p = c->parts[i];
        if (p->held == NULL) {
            continue;
        }
        pthread_mutex_lock(&c->lock);
        rd_kafka_message_t *m = p->held;
        p->held = NULL;
        action a = classify(c, p, m);
        if (a == HOLD) {
            p->held = m;
        }
        pthread_mutex_unlock(&c->lock);
        if (a != HOLD) {
            act(c, p, m, a, handler, arg);
        }
    }
}

/* Rewinds a partition so that offset is fetched again once it resumes. */
static void rewind_to(modq_consume *c, const char *topic_name, int32_t partition, int64_t offset)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    if (l == NULL) {
        return;
    }
    rd_kafka_topic_partition_list_add(l, topic_name, partition)->offset = offset;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(c->rk, l, 0);
    if (e != NULL) {
        rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void take(modq_consume *c, rd_kafka_message_t *msg, modq_consume_handler handler, void *arg)
{
    const char *tname = rd_kafka_topic_name(msg->rkt);
    action a = STRAY;
    bool rewind = false;
    part *p = NULL;

    pthread_mutex_lock(&c->lock);
    long pi = consume_part_find(c, tname, msg->partition);
    if (pi < 0) {
        c->strays++; /* not ours (any more): never tracked, so nothing is committed for it */
    } else if ((p = c->parts[pi])->held != NULL) {
        /* Cannot happen while pausing discards prefetched messages; if it does, do not track it
         * ahead of the held one: drop it and rewind so that it is fetched again. */
        c->strays++;
        rewind = msg->offset > p->held->offset;
    } else {
        a = classify(c, p, msg);
    }
    if (a == HOLD) {
        p->held = msg;
    }
    pthread_mutex_unlock(&c->lock);
    if (rewind) {
        rewind_to(c, tname, msg->partition, msg->offset);
    }
    if (a != HOLD) {
        act(c, p, msg, a, handler, arg);
    }
}

modq_consume_result modq_consume_poll(modq_consume *c, int timeout_ms, modq_consume_handler handler,
                                      void *arg, char *errstr, size_t errstr_size)
{
    modq_consume_result r = MODQ_CONSUME_OK;

    if (c == NULL || handler == NULL || errstr == NULL || errstr_size == 0) {
        return MODQ_CONSUME_ERR_INVALID_ARG;
    }
    errstr[0] = '\0';
    if (c->closed) {
        return MODQ_CONSUME_ERR_CLOSED;
    }
    retry_held(c, handler, arg);
    consume_reconcile(c);
    rd_kafka_message_t *msg = rd_kafka_consumer_poll(c->rk, timeout_ms);
    if (msg != NULL && msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        take(c, msg, handler, arg);
    } else if (msg != NULL) {
        if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
            char why[256] = "";
            rd_kafka_resp_err_t fe = rd_kafka_fatal_error(c->rk, why, sizeof why);
            snprintf(errstr, errstr_size, "fatal consumer error %s: %s", rd_kafka_err2name(fe),
                     why);
            r = MODQ_CONSUME_ERR_FATAL;
        } else if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            snprintf(errstr, errstr_size, "consumer error %s: %s", rd_kafka_err2name(msg->err),
                     rd_kafka_message_errstr(msg));
            r = MODQ_CONSUME_ERR_KAFKA;
        }
        rd_kafka_message_destroy(msg);
    }
    consume_reconcile(c);
    return r;
}

modq_consume_result modq_consume_complete(modq_consume *c, const char *topic_name,
                                          int32_t partition, int64_t offset)
{
    bool wake = false;

    if (c == NULL || topic_name == NULL) {
        return MODQ_CONSUME_ERR_INVALID_ARG;
    }
    pthread_mutex_lock(&c->lock);
    long pi = consume_part_find(c, topic_name, partition);
    part *p = pi >= 0 ? c->parts[pi] : NULL;
    if (p != NULL && p->tracker != NULL &&
        modq_offsets_complete(p->tracker, offset) == MODQ_OFFSETS_OK) {
        topic *t = &c->topics[p->ti];
        t->in_flight--;
        /* Only the poll thread resumes: wake it when this may be the completion that allows. */
        wake = (t->full && t->in_flight <= c->low) || p->paused == 1;
    } else {
        c->late++;
    }
    pthread_mutex_unlock(&c->lock);
    if (wake) {
        rd_kafka_queue_yield(c->queue);
    }
    return MODQ_CONSUME_OK;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

modq_consume_result modq_consume_stop_fetching(modq_consume *c)
{
    if (c == NULL) {
        return MODQ_CONSUME_ERR_INVALID_ARG;
    }
    if (c->closed) {
        return MODQ_CONSUME_ERR_CLOSED;
    }
    pthread_mutex_lock(&c->lock);
    c->stopped = true;
    pthread_mutex_unlock(&c->lock);
    consume_reconcile(c);
    return MODQ_CONSUME_OK;
}

/* Partitions librdkafka still counts as assigned (0 when it cannot say). */
static int assignment_size(modq_consume *c)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    int n = 0;
    if (rd_kafka_assignment(c->rk, &l) == RD_KAFKA_RESP_ERR_NO_ERROR && l != NULL) {
        n = l->cnt;
    }
    if (l != NULL) {
        rd_kafka_topic_partition_list_destroy(l);
    }
    return n;
}

/* Serves the consumer for up to ms while cond(c) holds; messages polled meanwhile are dropped
 * (every partition is paused: they are in flight at most, and come back to the next owner). */
static void serve_while(modq_consume *c, bool (*cond)(modq_consume *), int64_t ms)
{
    int64_t t0 = modq_clock_mono_ms();
    for (;;) {
        if (!cond(c) || modq_clock_mono_ms() - t0 >= ms) {
            return;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 50);
        if (m != NULL) {
            rd_kafka_message_destroy(m);
        }
    }
}

static bool not_joined(modq_consume *c)
{
    return !atomic_load(&c->joined);
}

static bool still_assigned(modq_consume *c)
{
    return assignment_size(c) > 0;
}

modq_consume_result modq_consume_close(modq_consume *c, char *errstr, size_t errstr_size)
{
    return modq_consume_close_within(c, MODQ_CONSUME_CLOSE_WAIT_MS, errstr, errstr_size);
}

modq_consume_result modq_consume_close_within(modq_consume *c, int64_t wait_ms, char *errstr,
                                              size_t errstr_size)
{
    if (c == NULL || errstr == NULL || errstr_size == 0 || wait_ms < 0) {
        return MODQ_CONSUME_ERR_INVALID_ARG;
    }
    modq_consume_result r = modq_consume_commit(c, true, errstr, errstr_size);
    if (r == MODQ_CONSUME_ERR_CLOSED || r == MODQ_CONSUME_ERR_INVALID_ARG) {
        return r;
    }
    /*
     * librdkafka 2.0.2 has two shutdown faults this works around. Closing before the first
     * assignment aborts in the cooperative-sticky assignor (librdkafka #4312, fixed in 2.3.0):
     * wait, bounded, for the join. And rd_kafka_consumer_close can block for ever inside its own
     * revocation (rd_kafka_incremental_unassign) when a rebalance is under way: so leave the
     * group's partitions first, through unsubscribe and our own polls (the revocation commits
     * what changed and reports what was in flight, as the close would), then close with nothing
     * left to revoke.
     */
    serve_while(c, not_joined, wait_ms / 2);
    rd_kafka_unsubscribe(c->rk);
    serve_while(c, still_assigned, wait_ms / 2);
    rd_kafka_resp_err_t err = rd_kafka_consumer_close(c->rk);
    c->closed = true;
    /* A real failure outranks the group having moved on; the first of each kind is told. */
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && r != MODQ_CONSUME_ERR_KAFKA) {
        bool moved_on = consume_moved_on(err);
        if (r == MODQ_CONSUME_OK || !moved_on) {
            snprintf(errstr, errstr_size, "close: %s", rd_kafka_err2str(err));
        }
        r = moved_on ? MODQ_CONSUME_ERR_MOVED_ON : MODQ_CONSUME_ERR_KAFKA;
    }
    return r;
}

void modq_consume_free(modq_consume *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->nparts; i++) {
        consume_part_free(c->parts[i]); /* held messages first: rd_kafka_destroy waits for them */
    }
    if (c->queue != NULL) {
        rd_kafka_queue_destroy(c->queue);
    }
    if (c->rk != NULL) {
        rd_kafka_destroy_flags(c->rk, c->closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
    for (size_t i = 0; i < c->ntopics; i++) {
        free(c->topics[i].name);
    }
    free(c->topics);
    free(c->parts);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* ---- figures -------------------------------------------------------------------------------- */

static size_t count_held(const modq_consume *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nparts; i++) {
        n += c->parts[i]->held != NULL;
    }
    return n;
}

#define LOCKED(c, type, expr)                                                                      \
    do {                                                                                           \
        type v_ = 0;                                                                               \
        if ((c) == NULL)                                                                           \
            return 0;                                                                              \
        pthread_mutex_lock(&(c)->lock);                                                            \
        v_ = (expr);                                                                               \
        pthread_mutex_unlock(&(c)->lock);                                                          \
        return v_;                                                                                 \
    } while (0)

size_t modq_consume_assigned(modq_consume *c)
{
    /* Without the lock: a desk pod asks it on every request (modq_run_ready). */
    return c != NULL ? atomic_load(&c->nassigned) : 0;
}

size_t modq_consume_paused(modq_consume *c)
{
    LOCKED(c, size_t, c->npaused);
}

size_t modq_consume_held(modq_consume *c)
{
    LOCKED(c, size_t, count_held(c));
}

size_t modq_consume_in_flight(modq_consume *c, size_t topic_index)
{
    LOCKED(c, size_t, topic_index < c->ntopics ? c->topics[topic_index].in_flight : 0);
}

uint64_t modq_consume_skipped(modq_consume *c)
{
    LOCKED(c, uint64_t, c->skipped);
}

uint64_t modq_consume_late_completions(modq_consume *c)
{
    LOCKED(c, uint64_t, c->late);
}

uint64_t modq_consume_strays(modq_consume *c)
{
    LOCKED(c, uint64_t, c->strays);
}

uint64_t modq_consume_problems(modq_consume *c, modq_consume_problem kind)
{
    LOCKED(c, uint64_t, (unsigned)kind < MODQ_CONSUME_PROBLEM_COUNT ? c->problems[kind] : 0);
}

int64_t modq_consume_lag(modq_consume *c, size_t topic_index)
{
    int64_t lag = -1;
    char meta[MODQ_OFFSETS_METADATA_BUF];

    if (c == NULL || topic_index >= c->ntopics) {
        return -1;
    }
    /* The table only changes on the poll thread; the lock keeps trackers steady meanwhile. The
     * watermark lookup reads librdkafka's cache: no lock of ours is held across it. */
    for (size_t i = 0;; i++) {
        int64_t point = -1, lo = -1, hi = -1;
        int32_t partition = -1;
        pthread_mutex_lock(&c->lock);
        if (i >= c->nparts) {
            pthread_mutex_unlock(&c->lock);
            break;
        }
        part *p = c->parts[i];
        if (p->ti == topic_index && p->tracker != NULL &&
            modq_offsets_commit_point(p->tracker, &point, meta, sizeof meta) == MODQ_OFFSETS_OK) {
            partition = p->partition;
        }
        pthread_mutex_unlock(&c->lock);
        if (partition < 0 ||
            rd_kafka_get_watermark_offsets(c->rk, c->topics[topic_index].name, partition, &lo,
                                           &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0) {
            continue;
        }
        lag = (lag < 0 ? 0 : lag) + (hi > point ? hi - point : 0);
    }
    return lag;
}
