/*
 * run_fleet.c: what a message means to each role of a fleet (worker.role). A prepare pod does
 * everything to a ticket that role all does, except that an item for a person goes to the review
 * topic instead of a desk in this process; the ticket completes once Kafka has the review record,
 * so a prepare pod that dies re-prepares only what the topic does not hold yet (the desk takes a
 * ticket id once). A desk pod reads review records: the media is prepared already, and what it
 * checks is that the record keeps the rules and that the ticket was not decided meanwhile.
 *
 * A desk pod serves people only while Kafka confirms that it still holds the review topic
 * (modq_consume_confirm): one that was stopped or cut off from the brokers must not go on
 * handing out items that the desk which took over hands out too.
 */
#include "run_impl.h"

#include "modq_common.h"
#include "prepare/review_item.h"

#include <stdio.h>
#include <stdlib.h>

#define PROBE_PERIOD_MS 1000 /* at most; a quarter of the mandate when that is shorter */
#define MIN_MANDATE_MS  1000

enum { RUN_DESK_STANDBY, RUN_DESK_CONFIRMED, RUN_DESK_UNCONFIRMED };

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
        atomic_fetch_add_explicit(&r->n_publish_failed, 1, memory_order_relaxed);
        run_log_msg(r, MODQ_LOG_ERROR, "review item not published: ticket left uncompleted", topic,
                    msg->partition, msg->offset, err[0] ? err : "out of memory");
    }
    return queued;
}

modq_prepared *run_unpack_review(modq_run *r, const rd_kafka_message_t *msg)
{
    modq_prepared *p = modq_review_item_unpack(r->policy, msg->payload, msg->len);

    /* Decided while it waited on the topic (by a person at this desk or the one before). */
    if (p != NULL && p->kind == MODQ_PREPARED_REVIEW && run_is_decided(r, p->ticket->ticket_id)) {
        p->kind = MODQ_PREPARED_DUPLICATE;
    }
    return p;
}

bool run_desk_confirmed(void *arg)
{
    modq_run *r = arg;
    modq_consume *c = atomic_load(&r->consume_live);
    return c != NULL && r->clock(r->clock_arg) < modq_consume_confirmed_until(c);
}

int64_t modq_run_mandate_left_ms(modq_run *r)
{
    modq_consume *c = atomic_load(&r->consume_live);
    int64_t left = c != NULL ? modq_consume_confirmed_until(c) - r->clock(r->clock_arg) : 0;
    return left > 0 ? left : 0;
}

bool run_desk_serving(modq_run *r)
{
    modq_consume *c = atomic_load(&r->consume_live);
    return atomic_load(&r->assigned_now) &&
           (run_desk_confirmed(r) || (c != NULL && !modq_consume_confirmable(c)));
}

void run_desk_confirm(modq_run *r, int64_t mono)
{
    char err[MODQ_RUN_ERRSTR_SIZE];
    int64_t mandate = modq_consume_mandate_ms(r->consume);
    int64_t period = mandate / 4 < PROBE_PERIOD_MS ? mandate / 4 : PROBE_PERIOD_MS;
    int state = !atomic_load(&r->assigned_now) ? RUN_DESK_STANDBY
                : run_desk_serving(r)          ? RUN_DESK_CONFIRMED
                                               : RUN_DESK_UNCONFIRMED;

    if (state != RUN_DESK_STANDBY &&
        (mono - r->last_probe_ms >= period || state == RUN_DESK_UNCONFIRMED)) {
        r->last_probe_ms = mono;
        if (modq_consume_confirm(r->consume, mono, err, sizeof err) != MODQ_CONSUME_OK &&
            state != r->desk_state) {
            modq_log_write(r->log, MODQ_LOG_WARN, "desk: confirmation not sent", "error", err,
                           NULL);
        }
    }
    if (state == r->desk_state) {
        return;
    }
    if (state == RUN_DESK_CONFIRMED) {
        modq_log_write(r->log, MODQ_LOG_INFO, "desk: active, confirmed by Kafka; serving", NULL);
    } else if (state == RUN_DESK_UNCONFIRMED && r->desk_state == RUN_DESK_CONFIRMED) {
        /* A warning: it clears by itself when Kafka answers, or the group moves the topic. */
        modq_log_write(r->log, MODQ_LOG_WARN,
                       "desk: Kafka has not confirmed that this desk still holds the review "
                       "topic; serving no one until it does",
                       NULL);
    } else if (state == RUN_DESK_STANDBY && r->desk_state != RUN_DESK_STANDBY) {
        modq_log_write(r->log, MODQ_LOG_INFO,
                       "desk: standby; the review topic went to another desk", NULL);
    }
    r->desk_state = state;
}

int run_desk_check(modq_run *r, char *errstr, size_t errstr_size)
{
    int64_t mandate = modq_consume_mandate_ms(r->consume);
    if (mandate < MIN_MANDATE_MS) {
        snprintf(errstr, errstr_size,
                 "worker.role desk: kafka session.timeout.ms must exceed heartbeat.interval.ms "
                 "by at least %d ms (it does by %lld): a desk serves for that long after Kafka "
                 "last confirmed it",
                 MIN_MANDATE_MS, (long long)mandate);
        return -1;
    }
    return 0;
}
