/*
 * consume_confirm.c: whether this member still holds its partitions, as the group coordinator
 * confirms it rather than as this process believes it. A desk pod (worker.role desk) serves
 * people only while it is confirmed: a process that was stopped, or is cut off from the brokers,
 * believes it holds the review topic until librdkafka's own session check says otherwise, and
 * its HTTP threads would go on handing out items meanwhile, items another desk may be handing
 * out too.
 *
 * The probe is a commit of every assigned partition's current point, sent even when unchanged:
 * the coordinator accepts a commit only from a member of the group's current generation. The
 * coordinator removes a member session.timeout.ms after the last heartbeat it received, and a
 * member whose commits reach it also heartbeats through it every heartbeat.interval.ms. So a
 * commit sent at t and accepted means that no other member can be given these partitions before
 * t + session.timeout.ms - heartbeat.interval.ms: the mandate. (Kafka's coordinator also counts an
 * accepted commit as a heartbeat, which only adds margin; a member that is still in the group but
 * must give a partition up learns it through its own rebalance callback, which ends the mandate
 * before the partition is given to anyone.)
 *
 * A probe is a commit like any other: it waits out a rebalance (consume_joining), and then the
 * mandate may run out meanwhile.
 */
#include "consume_impl.h"

#include "modq_common.h"

#include <stdio.h>

modq_consume_result consume_mandate_read(modq_consume *c, char *errstr, size_t errstr_size)
{
    static const char *const names[2] = {"session.timeout.ms", "heartbeat.interval.ms"};
    const rd_kafka_conf_t *conf = rd_kafka_conf(c->rk);
    int64_t v[2];

    for (size_t i = 0; i < 2; i++) {
        char buf[32];
        size_t n = sizeof buf;
        if (rd_kafka_conf_get(conf, names[i], buf, &n) != RD_KAFKA_CONF_OK ||
            !modq_parse_int64(buf, 1, INT32_MAX, &v[i])) {
            snprintf(errstr, errstr_size, "kafka property '%s' cannot be read back", names[i]);
            return MODQ_CONSUME_ERR_CONFIG;
        }
    }
    c->mandate_ms = v[0] - v[1];
    atomic_store(&c->confirmed_until, INT64_MIN);
    return MODQ_CONSUME_OK;
}

/* The coordinator's answer to a probe, served by a later poll. */
static void confirm_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    modq_consume *c = opaque;
    bool ok = err == RD_KAFKA_RESP_ERR_NO_ERROR;

    (void)rk;
    for (int i = 0; offsets != NULL && i < offsets->cnt; i++) {
        ok = ok && offsets->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    c->probe_in_flight = false;
    if (!ok) {
        /* Not reported: the periodic commit reports commit failures; a probe that fails simply
         * does not renew the mandate, and the caller says when it runs out. */
        if (offsets != NULL) {
            consume_invalidate(c, offsets, err != RD_KAFKA_RESP_ERR_NO_ERROR);
        }
        return;
    }
    if (c->probe_epoch == atomic_load(&c->epoch)) { /* no revocation since it was sent */
        atomic_store(&c->confirmed_until, c->probe_sent_ms + c->mandate_ms);
        atomic_store(&c->confirmed_epoch, c->probe_epoch);
    }
}

modq_consume_result modq_consume_confirm(modq_consume *c, int64_t sent_ms, char *errstr,
                                         size_t errstr_size)
{
    modq_consume_result r;
    bool sent = false;

    if (c == NULL || errstr == NULL || errstr_size == 0) {
        return MODQ_CONSUME_ERR_INVALID_ARG;
    }
    errstr[0] = '\0';
    if (c->closed) {
        return MODQ_CONSUME_ERR_CLOSED;
    }
    if (c->probe_in_flight) {
        return MODQ_CONSUME_OK;
    }
    /* Nothing sent when no partition has a point yet: nothing handed out that another member
     * could repeat. The answer comes to confirm_cb on this thread, after this returns. */
    r = consume_commit_send(c, true, false, confirm_cb, &sent, errstr, errstr_size);
    if (sent) {
        c->probe_in_flight = true;
        c->probe_sent_ms = sent_ms;
        c->probe_epoch = atomic_load(&c->epoch);
    }
    return r;
}

int64_t modq_consume_confirmed_until(modq_consume *c)
{
    if (c == NULL) {
        return INT64_MIN;
    }
    int64_t until = atomic_load(&c->confirmed_until);
    /* A revocation since then (consume_rebalance.c counts them) ends it at once. */
    return atomic_load(&c->confirmed_epoch) == atomic_load(&c->epoch) ? until : INT64_MIN;
}

int64_t modq_consume_mandate_ms(const modq_consume *c)
{
    return c != NULL ? c->mandate_ms : 0;
}

bool modq_consume_confirmable(modq_consume *c)
{
    bool any = false;

    if (c == NULL) {
        return false;
    }
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nparts && !any; i++) {
        any = modq_offsets_anchored(c->parts[i]->tracker);
    }
    pthread_mutex_unlock(&c->lock);
    return any;
}

uint64_t modq_consume_tenure(modq_consume *c)
{
    return c != NULL ? (uint64_t)atomic_load(&c->epoch) : 0;
}
