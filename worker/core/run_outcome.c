/*
 * run_outcome.c: what a ticket's message becomes on Kafka when no person at this desk decides
 * it: an automatic decision (a hash bank, a copy of a decided item), a dead letter, or, on a
 * fleet's prepare pod, a review record for the desk pods. Each goes out with a cookie that
 * completes the ticket's offset once Kafka confirms it (run_delivered in run.c). A prepare pod
 * that dies re-prepares only what the review topic does not hold yet: the desk takes a ticket id
 * once.
 */
#include "run_impl.h"

#include "kafka/publish.h"
#include "modq_common.h"
#include "prepare/decided.h"
#include "prepare/review_item.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

modq_run_cookie *run_cookie_for(const rd_kafka_message_t *msg, modq_run_cookie_kind kind)
{
    modq_run_cookie *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    c->kind = kind;
    c->has_ref = true;
    snprintf(c->topic, sizeof c->topic, "%s", rd_kafka_topic_name(msg->rkt));
    c->partition = msg->partition;
    c->offset = msg->offset;
    return c;
}

/* Fills the decided-set part of c from an AUTO outcome. */
static void cookie_decision(modq_run_cookie *c, const modq_prepared *p, int64_t now_ms)
{
    Modq__V1__Decision *d = modq__v1__decision__unpack(NULL, p->decision_len, p->decision);
    size_t used = 0;

    snprintf(c->ticket_id, sizeof c->ticket_id, "%s", p->ticket->ticket_id);
    if (p->media != NULL && modq_media_sha256(p->media) != NULL) {
        memcpy(c->sha256, modq_media_sha256(p->media), sizeof c->sha256);
        c->has_sha256 = true;
    } else if (p->has_digests) { /* decided by its digests, never decoded */
        memcpy(c->sha256, p->sha256, sizeof c->sha256);
        c->has_sha256 = true;
    }
    c->verdict = p->verdict;
    c->decided_at_ms = now_ms;
    for (size_t i = 0; d != NULL && i < d->n_policy_labels; i++) {
        size_t n = strlen(d->policy_labels[i]);
        if (used + n + (i > 0) > MODQ_DECIDED_MAX_LABELS) {
            break;
        }
        if (i > 0) {
            c->labels[used++] = ',';
        }
        memcpy(c->labels + used, d->policy_labels[i], n);
        used += n;
    }
    c->labels[used] = '\0';
    if (d != NULL) {
        modq__v1__decision__free_unpacked(d, NULL);
    }
}

bool run_publish_outcome(modq_run *r, const rd_kafka_message_t *msg, const modq_prepared *p,
                         int64_t now_ms)
{
    char err[MODQ_RUN_ERRSTR_SIZE] = "";
    modq_publish_result pr;
    modq_run_cookie *c =
        run_cookie_for(msg, p->kind == MODQ_PREPARED_AUTO ? MODQ_RUN_AUTO : MODQ_RUN_DEAD);
    bool queued = false;

    if (c == NULL) {
        snprintf(err, sizeof err, "out of memory");
        goto out;
    }
    if (p->kind == MODQ_PREPARED_AUTO) {
        cookie_decision(c, p, now_ms);
        pr = modq_publish_decision(r->publish, p->ticket->content_id, p->ticket->ticket_id,
                                   p->decision, p->decision_len, c, err, sizeof err);
    } else {
        modq_publish_source src = {c->topic, msg->partition, msg->offset};
        (void)run_dead_key(c->topic, msg->partition, msg->offset, msg->payload, msg->len,
                           c->dead_key);
        pr = modq_publish_dead_letter(r->publish, msg->payload, msg->len, msg->key, msg->key_len,
                                      p->code, p->reason, &src, c, err, sizeof err);
    }
    /* When queued, c is the publisher's until the confirmation, which logs any failure. */
    queued = modq_publish_will_complete(pr);
out:
    if (!queued) {
        free(c);
        RUN_COUNT(r, publish_failed);
        run_log_msg(r, MODQ_LOG_ERROR, "publish refused: ticket left uncompleted",
                    rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset, err);
    }
    return queued;
}

bool run_publish_review(modq_run *r, const rd_kafka_message_t *msg, modq_prepared *p,
                        int64_t now_ms)
{
    char err[MODQ_RUN_ERRSTR_SIZE] = "";
    const char *topic = rd_kafka_topic_name(msg->rkt);
    modq_review_source src = {topic, msg->partition, msg->offset, modq_config_worker_id(r->cfg),
                              now_ms};
    modq_run_cookie *c = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    bool colour_dropped = false, queued = false;
    int packed = modq_review_item_pack(p, &src, &buf, &len, &colour_dropped, err, sizeof err);

    if (packed == MODQ_REVIEW_PACK_NOMEM) {
        goto out;
    }
    if (packed == MODQ_REVIEW_PACK_TOO_LARGE) {
        /* Nobody could be shown it through a record: the original goes to the dead letters. */
        p->kind = MODQ_PREPARED_DEAD_LETTER;
        snprintf(p->code, sizeof p->code, "%s", MODQ_DLQ_REVIEW_TOO_LARGE);
        snprintf(p->reason, sizeof p->reason, "%.300s", err);
        run_log_msg(r, MODQ_LOG_INFO, "ticket dead-lettered", topic, msg->partition, msg->offset,
                    p->code);
        return run_publish_outcome(r, msg, p, now_ms);
    }
    if (colour_dropped) {
        run_log_msg(r, MODQ_LOG_WARN, "review item too large with colour: sent without it", topic,
                    msg->partition, msg->offset, NULL);
    }
    if ((c = run_cookie_for(msg, MODQ_RUN_REVIEW)) == NULL) {
        snprintf(err, sizeof err, "out of memory");
        goto out;
    }
    queued = modq_publish_will_complete(
        modq_publish_review(r->publish, p->ticket->ticket_id, buf, len, c, err, sizeof err));
out:
    free(buf);
    if (!queued) {
        free(c);
        RUN_COUNT(r, publish_failed);
        run_log_msg(r, MODQ_LOG_ERROR, "review item not published: ticket left uncompleted", topic,
                    msg->partition, msg->offset, err[0] ? err : "out of memory");
    }
    return queued;
}
