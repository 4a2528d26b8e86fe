/*
 * consume_rebalance.c: the consumer's commits (low watermark plus completed offsets in the commit
 * metadata) and its incremental rebalances: trackers made from the committed metadata on
 * assignment, a synchronous commit before revoked partitions are let go.
 */
#include "modq_common.h"
#include "consume_impl.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOIN_STATE_FRESH_MS 1000 /* older statistics say nothing: commit as usual */

/* ---- commits -------------------------------------------------------------------------------- */

/* A commit from a member the group left behind is answered by the coordinator with
 * ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID (librdkafka 2.0.2 then counts the assignment as lost),
 * REBALANCE_IN_PROGRESS, or FENCED_INSTANCE_ID (static membership: another process took over this
 * group.instance.id); librdkafka itself answers __ASSIGNMENT_LOST or __FENCED. The partitions are
 * another member's by then, and their uncommitted tickets go to it: a refusal, not a loss. */
bool consume_moved_on(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID:
    case RD_KAFKA_RESP_ERR__FENCED:
    case RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST:
        return true;
    default:
        return false;
    }
}

/* librdkafka 2.0.2 sends a commit while this member's JoinGroup is still unanswered, stamped
 * with the generation about to end. The coordinator answers it after the new generation is
 * formed, with ILLEGAL_GENERATION, and librdkafka then counts the assignment as lost (librdkafka
 * issue #4059, fixed after 2.0.2): a desk would give its people's items up each time a standby
 * joins. So a desk's consumer reads the group's join state from librdkafka's statistics (every
 * 100 ms, consume_new.c) and sends no commit while it is not "steady" (a few may still go out in
 * the first 100 ms); the commit at a revocation, which librdkafka expects then, still goes out. */
int consume_stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
    modq_consume *c = opaque;
    json_t *root = json_loadb(json, json_len, 0, NULL);
    const char *state =
        json_string_value(json_object_get(json_object_get(root, "cgrp"), "join_state"));

    (void)rk;
    if (state != NULL) {
        atomic_store(&c->joining, strcmp(state, "steady") != 0);
        atomic_store(&c->join_seen_ms, modq_clock_mono_ms());
    }
    json_decref(root);
    return 0; /* librdkafka frees json */
}

bool consume_joining(modq_consume *c)
{
    return atomic_load(&c->joining) &&
           modq_clock_mono_ms() - atomic_load(&c->join_seen_ms) <= JOIN_STATE_FRESH_MS;
}

/* A commit of the points of parts[0 .. n-1] that changed since their last commit (all of them
 * when force). bufs holds n * MODQ_OFFSETS_METADATA_BUF bytes the list points into. Lock held.
 * Returns NULL when nothing is to be committed (or out of memory). */
rd_kafka_topic_partition_list_t *consume_commit_list(modq_consume *c, part *const *parts, size_t n,
                                                     char *bufs, bool force)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    for (size_t i = 0; i < n; i++) {
        part *p = parts[i];
        char *meta = bufs + i * MODQ_OFFSETS_METADATA_BUF;
        int64_t off = -1;
        if (p->tracker == NULL ||
            modq_offsets_commit_point(p->tracker, &off, meta, MODQ_OFFSETS_METADATA_BUF) !=
                MODQ_OFFSETS_OK) {
            continue;
        }
        /* A hash of the metadata tells an unchanged commit point without keeping 4 KiB a partition;
         * a collision only delays a commit until the point changes again. */
        uint64_t h = modq_hash_text(meta);
        if (!force && p->last_valid && p->last_offset == off && p->last_hash == h) {
            continue;
        }
        if (l == NULL && (l = rd_kafka_topic_partition_list_new((int)n)) == NULL) {
            return NULL;
        }
        rd_kafka_topic_partition_t *e =
            rd_kafka_topic_partition_list_add(l, c->topics[p->ti].name, p->partition);
        e->offset = off;
        e->metadata = meta; /* ours: unset before the list is destroyed */
        e->metadata_size = strlen(meta);
        p->last_valid = true; /* optimistic: a failure clears it, so the next commit resends */
        p->last_offset = off;
        p->last_hash = h;
    }
    return l;
}

void consume_commit_list_destroy(rd_kafka_topic_partition_list_t *l)
{
    for (int i = 0; l != NULL && i < l->cnt; i++) {
        l->elems[i].metadata = NULL;
        l->elems[i].metadata_size = 0;
    }
    if (l != NULL) {
        rd_kafka_topic_partition_list_destroy(l);
    }
}

/* Forgets what was last committed for the partitions of l that are still assigned. */
void consume_invalidate(modq_consume *c, const rd_kafka_topic_partition_list_t *l, bool all)
{
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < l->cnt; i++) {
        long pi = all || l->elems[i].err
                      ? consume_part_find(c, l->elems[i].topic, l->elems[i].partition)
                      : -1;
        if (pi >= 0) {
            c->parts[pi]->last_valid = false;
        }
    }
    pthread_mutex_unlock(&c->lock);
}

/* librdkafka's report of every commit, served by a later poll. */
void consume_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    modq_consume *c = opaque;
    (void)rk;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET ||
        offsets == NULL) {
        return;
    }
    consume_invalidate(c, offsets, false);
    for (int i = 0; i < offsets->cnt; i++) {
        if (offsets->elems[i].err) {
            char text[256];
            snprintf(text, sizeof text, "commit failed: %s",
                     rd_kafka_err2str(offsets->elems[i].err));
            consume_report_problem(c, MODQ_CONSUME_PROBLEM_COMMIT, offsets->elems[i].topic,
                                   offsets->elems[i].partition, text);
        }
    }
}

modq_consume_result consume_commit_send(modq_consume *c, bool force, bool sync,
                                        consume_commit_reply reply, bool *sent, char *errstr,
                                        size_t errstr_size)
{
    modq_consume_result r = MODQ_CONSUME_OK;
    rd_kafka_topic_partition_list_t *l = NULL;
    rd_kafka_resp_err_t err;
    char *bufs = NULL;

    if (sent != NULL) {
        *sent = false;
    }
    if (c->nparts == 0 || consume_joining(c)) {
        goto out; /* nothing now; a later commit sends the points as they are then */
    }
    if ((bufs = malloc(c->nparts * MODQ_OFFSETS_METADATA_BUF)) == NULL) {
        r = MODQ_CONSUME_ERR_NOMEM;
        goto out;
    }
    pthread_mutex_lock(&c->lock);
    l = consume_commit_list(c, c->parts, c->nparts, bufs, force);
    pthread_mutex_unlock(&c->lock);
    if (l == NULL) {
        goto out;
    }
    err = reply != NULL ? rd_kafka_commit_queue(c->rk, l, c->queue, reply, c)
                        : rd_kafka_commit(c->rk, l, sync ? 0 : 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        consume_invalidate(c, l, true);
        bool moved_on = consume_moved_on(err);
        snprintf(errstr, errstr_size, "commit of %d partition(s) %s: %s", l->cnt,
                 moved_on ? "refused, the group moved on" : "failed", rd_kafka_err2str(err));
        r = moved_on ? MODQ_CONSUME_ERR_MOVED_ON : MODQ_CONSUME_ERR_KAFKA;
    } else if (sent != NULL) {
        *sent = true;
    }
out:
    consume_commit_list_destroy(l);
    free(bufs);
    return r;
}

modq_consume_result modq_consume_commit(modq_consume *c, bool sync, char *errstr,
                                        size_t errstr_size)
{
    if (c == NULL || errstr == NULL || errstr_size == 0) {
        return MODQ_CONSUME_ERR_INVALID_ARG;
    }
    errstr[0] = '\0';
    if (c->closed) {
        return MODQ_CONSUME_ERR_CLOSED;
    }
    return consume_commit_send(c, false, sync, NULL, NULL, errstr, errstr_size);
}

/* ---- rebalances ----------------------------------------------------------------------------- */

/* A tracker for element e, whose offset and metadata rd_kafka_committed filled (or not, when
 * read_ok is false). */
static part *part_new(modq_consume *c, size_t ti, const rd_kafka_topic_partition_t *e, bool read_ok)
{
    char err[256] = "";
    char *meta = NULL;
    part *p = calloc(1, sizeof *p);

    if (p == NULL) {
        goto out;
    }
    p->ti = ti;
    p->partition = e->partition;
    p->paused = -1; /* a partition assigned again may still carry an earlier pause */
    int64_t committed = read_ok && !e->err ? e->offset : RD_KAFKA_OFFSET_INVALID;
    if (committed >= 0 && e->metadata != NULL && e->metadata_size > 0) {
        /* librdkafka does not promise a NUL; the size is bounded by the broker's cap. */
        if ((meta = malloc(e->metadata_size + 1)) == NULL) {
            goto out;
        }
        memcpy(meta, e->metadata, e->metadata_size);
        meta[e->metadata_size] = '\0';
    }
    modq_offsets_result r =
        modq_offsets_new(committed, meta, c->metadata_cap, &p->tracker, err, sizeof err);
    if (r >= MODQ_OFFSETS_ERR_META_MALFORMED && r <= MODQ_OFFSETS_ERR_META_TOO_LARGE) {
        consume_report_problem(c, MODQ_CONSUME_PROBLEM_METADATA, e->topic, e->partition, err);
    } else if (p->tracker == NULL) {
        consume_report_problem(c, MODQ_CONSUME_PROBLEM_TRACKER, e->topic, e->partition, err);
    }
out:
    free(meta);
    return p;
}

static void on_assign(modq_consume *c, rd_kafka_topic_partition_list_t *given)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(given);
    rd_kafka_error_t *e = NULL;
    bool read_ok = false;
    char text[320];

    if (l == NULL) {
        consume_report_problem(c, MODQ_CONSUME_PROBLEM_ASSIGN, "", -1,
                               "out of memory at assignment");
        l = given; /* assigned as given, untracked: paused below, never handed out */
    } else if (l->cnt > 0) {
        rd_kafka_resp_err_t err = rd_kafka_committed(c->rk, l, MODQ_CONSUME_COMMITTED_TIMEOUT_MS);
        read_ok = err == RD_KAFKA_RESP_ERR_NO_ERROR;
        if (!read_ok) {
            snprintf(text, sizeof text,
                     "reading committed offsets of %d partition(s) failed (%s): done tickets "
                     "above them may be delivered again",
                     l->cnt, rd_kafka_err2str(err));
            consume_report_problem(c, MODQ_CONSUME_PROBLEM_COMMITTED, "", -1, text);
            for (int i = 0; i < l->cnt; i++) {
                l->elems[i].offset = RD_KAFKA_OFFSET_INVALID; /* librdkafka looks it up */
            }
        }
    }
    for (int i = 0; i < l->cnt; i++) {
        long ti = consume_topic_find(c, l->elems[i].topic);
        part *p = NULL;
        if (ti < 0 || consume_part_find(c, l->elems[i].topic, l->elems[i].partition) >= 0) {
            continue;
        }
        if (c->nparts == c->parts_cap) {
            /* Under the lock: completing threads read the table. */
            size_t cap = c->parts_cap ? c->parts_cap * 2 : 16;
            pthread_mutex_lock(&c->lock);
            part **np =
                cap <= MODQ_CONSUME_MAX_PARTITIONS ? realloc(c->parts, cap * sizeof *np) : NULL;
            if (np != NULL) {
                c->parts = np;
                c->parts_cap = cap;
            }
            pthread_mutex_unlock(&c->lock);
            if (np == NULL) {
                consume_report_problem(c, MODQ_CONSUME_PROBLEM_TRACKER, l->elems[i].topic,
                                       l->elems[i].partition,
                                       "partition table full or out of memory");
                continue;
            }
        }
        if (l == given || (p = part_new(c, (size_t)ti, &l->elems[i], read_ok)) == NULL) {
            consume_report_problem(c, MODQ_CONSUME_PROBLEM_TRACKER, l->elems[i].topic,
                                   l->elems[i].partition, "out of memory");
            continue;
        }
        pthread_mutex_lock(&c->lock);
        c->parts[c->nparts++] = p;
        atomic_store(&c->nassigned, c->nparts);
        pthread_mutex_unlock(&c->lock);
    }
    if ((e = rd_kafka_incremental_assign(c->rk, l)) != NULL) {
        snprintf(text, sizeof text, "incremental assign: %s", rd_kafka_error_string(e));
        consume_report_problem(c, MODQ_CONSUME_PROBLEM_ASSIGN, "", -1, text);
        rd_kafka_error_destroy(e);
    }
    if (l != given) {
        rd_kafka_topic_partition_list_destroy(l);
    }
    /* Partitions we could not track are assigned but must not be fetched: pause them too. */
    rd_kafka_topic_partition_list_t *untracked = rd_kafka_topic_partition_list_new(given->cnt);
    for (int i = 0; untracked != NULL && i < given->cnt; i++) {
        if (consume_part_find(c, given->elems[i].topic, given->elems[i].partition) < 0) {
            rd_kafka_topic_partition_list_add(untracked, given->elems[i].topic,
                                              given->elems[i].partition);
        }
    }
    if (untracked != NULL && untracked->cnt > 0) {
        rd_kafka_pause_partitions(c->rk, untracked);
    }
    if (untracked != NULL) {
        rd_kafka_topic_partition_list_destroy(untracked);
    }
    consume_reconcile(c);
}

static void on_revoke(modq_consume *c, rd_kafka_topic_partition_list_t *given)
{
    part **gone = calloc((size_t)given->cnt + 1, sizeof *gone);
    char *bufs = malloc(((size_t)given->cnt + 1) * MODQ_OFFSETS_METADATA_BUF);
    rd_kafka_topic_partition_list_t *l = NULL;
    size_t n = 0;
    char text[320];

    if (gone == NULL || bufs == NULL) {
        /* Without memory nothing can be committed; what is in flight comes back to someone. */
        consume_report_problem(c, MODQ_CONSUME_PROBLEM_COMMIT, "", -1,
                               "out of memory at revocation");
    }
    /* Taken out of the table first: a completion from now on is late, never half-committed. */
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < given->cnt; i++) {
        long pi = consume_part_find(c, given->elems[i].topic, given->elems[i].partition);
        if (pi < 0) {
            continue;
        }
        part *p = c->parts[pi];
        c->parts[pi] = c->parts[--c->nparts];
        atomic_store(&c->nassigned, c->nparts);
        if (p->tracker != NULL) {
            c->topics[p->ti].in_flight -= modq_offsets_in_flight(p->tracker);
        }
        if (gone != NULL) {
            gone[n++] = p;
        } else {
            consume_part_free(p);
        }
    }
    if (bufs != NULL && n > 0) {
        l = consume_commit_list(c, gone, n, bufs, false);
    }
    pthread_mutex_unlock(&c->lock);

    if (l != NULL && !rd_kafka_assignment_lost(c->rk)) {
        rd_kafka_resp_err_t err = rd_kafka_commit(c->rk, l, 0);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(text, sizeof text,
                     "commit at revocation of %d partition(s) failed: %s; completed tickets "
                     "may be delivered again",
                     l->cnt, rd_kafka_err2str(err));
            consume_report_problem(c, MODQ_CONSUME_PROBLEM_COMMIT, "", -1, text);
        }
    }
    consume_commit_list_destroy(l);
    for (int i = 0; gone == NULL && c->cb.on_revoked != NULL && i < given->cnt; i++) {
        c->cb.on_revoked(c->cb.arg, given->elems[i].topic, given->elems[i].partition);
    }
    for (size_t i = 0; i < n; i++) {
        if (c->cb.on_revoked != NULL) {
            c->cb.on_revoked(c->cb.arg, c->topics[gone[i]->ti].name, gone[i]->partition);
        }
        consume_part_free(gone[i]);
    }
    free(gone);
    free(bufs);
    rd_kafka_error_t *e = rd_kafka_incremental_unassign(c->rk, given);
    if (e != NULL) {
        snprintf(text, sizeof text, "incremental unassign: %s", rd_kafka_error_string(e));
        consume_report_problem(c, MODQ_CONSUME_PROBLEM_ASSIGN, "", -1, text);
        rd_kafka_error_destroy(e);
    }
    consume_reconcile(c);
}

void consume_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t *partitions, void *opaque)
{
    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        on_assign(opaque, partitions);
        atomic_store(&((modq_consume *)opaque)->joined, true);
    } else {
        /* First: a confirmation of this member (consume_confirm.c) ends here, for every thread. */
        atomic_fetch_add(&((modq_consume *)opaque)->epoch, 1);
        on_revoke(opaque, partitions);
    }
}
