/*
 * run_desk.c: what a fleet's desk pod (worker.role desk) does differently. It reads review
 * records, which prepare pods publish (run_outcome.c): the media is prepared already, and what it
 * checks is that a record keeps the rules and that its ticket was not decided meanwhile. And it
 * serves people only while Kafka confirms that it still holds the review topic
 * (modq_consume_confirm): a desk that was stopped or cut off from the brokers must not go on
 * handing out items that the desk which took over hands out too.
 */
#include "run_impl.h"

#include "modq_common.h"
#include "prepare/review_item.h"

#include <stdio.h>
#include <stdlib.h>

#define PROBE_PERIOD_MS 1000 /* at most; a quarter of the mandate when that is shorter */
#define MIN_MANDATE_MS  1000

/* What the loop last saw (r->desk_state), for one log line per change. */
enum {
    DESK_STANDBY,    /* another desk holds the review topic */
    DESK_SERVING,    /* holds it, and is confirmed or has nothing to confirm yet */
    DESK_CONFIRMING, /* holds it with something to confirm; not confirmed since it got it */
    DESK_LAPSED,     /* was confirmed, and the mandate ran out */
};

modq_prepared *run_unpack_review(modq_run *r, const rd_kafka_message_t *msg)
{
    modq_prepared *p = modq_review_item_unpack(r->policy, msg->payload, msg->len);

    /* Decided while it waited on the topic (by a person at this desk or the one before). */
    if (p != NULL && p->kind == MODQ_PREPARED_REVIEW && run_is_decided(r, p->ticket->ticket_id)) {
        p->kind = MODQ_PREPARED_DUPLICATE;
    }
    return p;
}

/* Read from the consumer, not from the loop's last look: a desk whose partition was just
 * revoked is a standby at once, from any thread. */
static bool holds_review(modq_run *r)
{
    modq_consume *c = atomic_load(&r->consume_live);
    return c != NULL && modq_consume_assigned(c) > 0;
}

bool modq_run_holds_review(modq_run *r)
{
    return r != NULL && r->role == MODQ_CONFIG_ROLE_DESK && holds_review(r);
}

int64_t modq_run_mandate_left_ms(modq_run *r)
{
    modq_consume *c = atomic_load(&r->consume_live);
    int64_t until = c != NULL ? modq_consume_confirmed_until(c) : INT64_MIN;
    int64_t now = r->clock(r->clock_arg);
    return until > now ? until - now : 0; /* never until - now for INT64_MIN */
}

bool run_desk_confirmed(void *arg)
{
    return modq_run_mandate_left_ms(arg) > 0;
}

/* Holding the review topic, it serves while confirmed, or while it has nothing a confirmation
 * could commit yet (nothing handed out that another desk could hand out too). */
static bool serves_holding(modq_run *r)
{
    return run_desk_confirmed(r) || !modq_consume_confirmable(atomic_load(&r->consume_live));
}

bool run_desk_serving(modq_run *r)
{
    return holds_review(r) && serves_holding(r);
}

static int desk_state(modq_run *r)
{
    if (!holds_review(r)) {
        return DESK_STANDBY;
    }
    if (serves_holding(r)) {
        return DESK_SERVING;
    }
    return modq_consume_confirmed_until(r->consume) == INT64_MIN ? DESK_CONFIRMING : DESK_LAPSED;
}

void run_desk_confirm(modq_run *r, int64_t mono)
{
    char err[MODQ_RUN_ERRSTR_SIZE];
    int64_t mandate = modq_consume_mandate_ms(r->consume);
    int64_t period = mandate / 4 < PROBE_PERIOD_MS ? mandate / 4 : PROBE_PERIOD_MS;
    int state = desk_state(r);

    /* Serving: renew well before the mandate runs out. Otherwise as soon as nothing is in
     * flight: people wait for it. */
    if (state != DESK_STANDBY && (mono - r->last_probe_ms >= period || state != DESK_SERVING)) {
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
    if (r->desk_state == DESK_SERVING && state != DESK_SERVING) {
        /* What is queued must not reach Kafka once another desk may hold the topic: it fails
         * now, and waits on the retry list until Kafka confirms this desk again (run_sink.c). */
        modq_publish_withdraw_queued(r->publish);
    }
    if (state == DESK_SERVING && (r->desk_state == DESK_LAPSED || !r->desk_announced)) {
        modq_log_write(r->log, MODQ_LOG_INFO,
                       r->desk_state == DESK_LAPSED ? "desk: confirmed by Kafka again; serving"
                                                    : "desk: active; serving",
                       NULL);
        r->desk_announced = true;
    } else if (state == DESK_LAPSED) {
        /* A warning: it clears by itself when Kafka answers, or the group moves the topic. */
        modq_log_write(r->log, MODQ_LOG_WARN,
                       "desk: Kafka has not confirmed that this desk still holds the review "
                       "topic; serving no one until it does",
                       NULL);
    } else if (state == DESK_STANDBY && r->desk_announced) {
        modq_log_write(r->log, MODQ_LOG_INFO,
                       "desk: standby; the review topic went to another desk", NULL);
        r->desk_announced = false;
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
