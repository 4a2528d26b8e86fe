/*
 * run_dead.c: a dead letter is published once. A ticket message whose dead letter Kafka
 * confirmed may come back: the worker crashed before its offset was committed, and the next owner
 * of the partition reads it again. Like decided tickets (run_sink.c), dead-lettered messages are
 * remembered, from the dead-letter topic read back at start and from each confirmation, and a
 * redelivered one is completed without a second dead letter.
 *
 * What is remembered is the message, not its ticket id: its source position (the headers every
 * dead letter carries) and its bytes (the dead letter's value), as one SHA-256. A ticket
 * replayed from the dead-letter topic, or sent again with the same id after a fix, is another
 * message and is prepared like any other; a malformed ticket, which has no id, is remembered all
 * the same; and a topic deleted and made again, whose offsets start over, does not match old dead
 * letters unless the bytes are the same too.
 */
#include "run_impl.h"
#include "modq_common.h"

#include <openssl/evp.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool run_dead_key(const char *topic, int32_t partition, int64_t offset, const void *value,
                  size_t len, char key[MODQ_RUN_DEAD_KEY])
{
    static const char hex[] = "0123456789abcdef";
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char pos[48];
    int plen = snprintf(pos, sizeof pos, "%" PRId32 "/%" PRId64, partition, offset);
    bool ok;

    key[0] = '\0';
    /* The NUL after the topic keeps "t1" + "0/5" apart from "t" + "10/5". */
    ok = ctx != NULL && plen > 0 && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(ctx, topic, strlen(topic) + 1) == 1 &&
         EVP_DigestUpdate(ctx, pos, (size_t)plen + 1) == 1 &&
         (len == 0 || EVP_DigestUpdate(ctx, value, len) == 1) &&
         EVP_DigestFinal_ex(ctx, md, &n) == 1 && n == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        return false;
    }
    for (unsigned int i = 0; i < n; i++) {
        key[2 * i] = hex[md[i] >> 4];
        key[2 * i + 1] = hex[md[i] & 15];
    }
    key[2 * n] = '\0';
    return true;
}

/* Whether that message was dead-lettered already. */
static bool seen(modq_run *r, const char *topic, int32_t partition, int64_t offset,
                 const void *value, size_t len)
{
    char key[MODQ_RUN_DEAD_KEY];
    bool any;

    /* Most of the time nothing was dead-lettered lately: then no digest is needed. */
    pthread_mutex_lock(&r->decided_lock);
    any = modq_decided_count(r->dead) > 0;
    pthread_mutex_unlock(&r->decided_lock);
    if (!any || !run_dead_key(topic, partition, offset, value, len, key)) {
        return false;
    }
    pthread_mutex_lock(&r->decided_lock);
    any = modq_decided_has_ticket(r->dead, key);
    pthread_mutex_unlock(&r->decided_lock);
    return any;
}

bool run_dead_again(modq_run *r, const rd_kafka_message_t *msg)
{
    const char *topic = rd_kafka_topic_name(msg->rkt);

    if (!seen(r, topic, msg->partition, msg->offset, msg->payload, msg->len)) {
        return false;
    }
    RUN_COUNT(r, duplicate);
    run_log_msg(r, MODQ_LOG_INFO, "ticket dead-lettered before: completed", topic, msg->partition,
                msg->offset, NULL);
    modq_consume_complete(r->consume, topic, msg->partition, msg->offset);
    return true;
}

void run_dead_remember(modq_run *r, const char *key, int64_t at_ms)
{
    uint64_t evicted = 0;
    int rc = 0;

    if (key[0] == '\0') {
        return; /* no digest could be made: at worst a second dead letter */
    }
    pthread_mutex_lock(&r->decided_lock);
    /* The confirmation and the topic read back both report a dead letter: keep it once. */
    if (!modq_decided_has_ticket(r->dead, key)) {
        rc = modq_decided_add(r->dead, key, NULL, NULL, 0, NULL, at_ms, &evicted);
    }
    pthread_mutex_unlock(&r->decided_lock);
    if (evicted > 0) {
        atomic_fetch_add_explicit(&r->n_decided_evicted, evicted, memory_order_relaxed);
    }
    if (rc != 0) {
        modq_log_write(r->log, MODQ_LOG_WARN, "dead letter not remembered: out of memory", NULL);
    }
}

/* A decimal header value as a number in [0, max]; false when it is not one. */
static bool header_number(const modq_follow_record *rec, const char *name, int64_t max,
                          int64_t *out)
{
    char buf[24];

    return modq_follow_header(rec, name, buf, sizeof buf) && buf[0] >= '0' && buf[0] <= '9' &&
           modq_parse_int64(buf, 0, max, out);
}

void run_on_dead_letter_record(void *arg, const modq_follow_record *rec)
{
    modq_run *r = arg;
    char topic[MODQ_RUN_TOPIC_MAX], key[MODQ_RUN_DEAD_KEY];
    int64_t partition, offset;

    /* Written by a worker: the source headers say where the ticket was. Anything else is not a
     * dead letter of ours to remember. */
    if (!modq_follow_header(rec, MODQ_PUBLISH_H_SRC_TOPIC, topic, sizeof topic) ||
        topic[0] == '\0' || !header_number(rec, MODQ_PUBLISH_H_SRC_PART, INT32_MAX, &partition) ||
        !header_number(rec, MODQ_PUBLISH_H_SRC_OFF, INT64_MAX, &offset)) {
        RUN_COUNT(r, follow_bad);
        return;
    }
    if (run_dead_key(topic, (int32_t)partition, offset, rec->value, rec->value ? rec->value_len : 0,
                     key)) {
        run_dead_remember(r, key, rec->timestamp_ms > 0 ? rec->timestamp_ms : modq_clock_wall_ms());
    }
}
