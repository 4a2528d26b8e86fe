/*
 * publish_conf.c: the producer's librdkafka configuration: the operator's kafka.* properties,
 * checked against the delivery guarantees the worker relies on (idempotence, acks=all, bounded
 * delivery time, no transactions), plus the settings this module forces or defaults.
 */
#include "publish_conf.h"
#include "modq_common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What the configuration sets among the properties this module forces or defaults. */
typedef struct seen_props {
    int linger, timeout, compression;
} seen_props;

static int is(const char *name, const char *a, const char *b)
{
    return strcmp(name, a) == 0 || (b != NULL && strcmp(name, b) == 0);
}

/* Checks one configured property against the delivery guarantees. Returns 0 or -1 (errstr). */
static int check_property(const char *name, const char *value, seen_props *seen, char *errstr,
                          size_t errstr_size)
{
    const char *why = NULL;
    const char *digits = value;
    int64_t zero;

    while (isspace((unsigned char)*digits)) {
        digits++; /* librdkafka takes " 0" for 0 as well */
    }

    if (is(name, "enable.idempotence", NULL) && strcasecmp(value, "true") != 0) {
        why = "the producer requires enable.idempotence=true (no duplicates or reordering on "
              "retry); remove it";
    } else if (is(name, "acks", "request.required.acks") && strcasecmp(value, "all") != 0 &&
               strcmp(value, "-1") != 0) {
        why = "the producer requires acks=all (a decision counts once every in-sync replica "
              "has it); remove it";
    } else if (is(name, "message.timeout.ms", "delivery.timeout.ms") &&
               modq_parse_int64(digits, 0, 0, &zero)) {
        why = "0 waits forever, but a message must fail in bounded time so that its ticket is "
              "retried; set a positive value";
    } else if (is(name, "transactional.id", NULL)) {
        why = "the worker's producer is idempotent, not transactional; remove it";
    }
    if (why != NULL) { /* none of these is a secret */
        modq_errstr_set(errstr, errstr_size, "kafka property '%s' is '%.32s': %s", name, value,
                        why);
        return -1;
    }
    seen->linger |= is(name, "linger.ms", "queue.buffering.max.ms");
    seen->timeout |= is(name, "message.timeout.ms", "delivery.timeout.ms");
    seen->compression |= is(name, "compression.type", "compression.codec");
    return 0;
}

modq_publish_result modq_publish_conf_build(const modq_config *cfg, rd_kafka_conf_t **out,
                                            char *errstr, size_t errstr_size)
{
    modq_publish_result r = MODQ_PUBLISH_ERR_CONFIG;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    seen_props seen = {0, 0, 0};
    char why[256];

    *out = NULL;
    for (size_t i = 0; conf != NULL && i < modq_config_kafka_count(cfg); i++) {
        const char *name = modq_config_kafka_name(cfg, i);
        const char *value = modq_config_kafka_value(cfg, i);

        if (check_property(name, value, &seen, errstr, errstr_size) != 0) {
            goto out;
        }
        if (rd_kafka_conf_set(conf, name, value, why, sizeof why) != RD_KAFKA_CONF_OK) {
            /* librdkafka's text may quote the value, which may be a secret */
            modq_errstr_set(errstr, errstr_size, "kafka property '%s': %s", name,
                            modq_config_kafka_secret(cfg, i) ? "refused by librdkafka" : why);
            goto out;
        }
    }
    const struct {
        const char *name, *value;
        int skip;
    } ours[] = {{"enable.idempotence", "true", 0},
                {"acks", "all", 0},
                {"linger.ms", MODQ_PUBLISH_DEFAULT_LINGER_MS, seen.linger},
                {"message.timeout.ms", MODQ_PUBLISH_DEFAULT_MESSAGE_TIMEOUT_MS, seen.timeout},
                {"compression.type", MODQ_PUBLISH_DEFAULT_COMPRESSION, seen.compression}};
    for (size_t i = 0; conf != NULL && i < sizeof ours / sizeof ours[0]; i++) {
        if (!ours[i].skip && rd_kafka_conf_set(conf, ours[i].name, ours[i].value, why,
                                               sizeof why) != RD_KAFKA_CONF_OK) {
            modq_errstr_set(errstr, errstr_size, "kafka property '%s': %s", ours[i].name, why);
            goto out;
        }
    }
    if (conf == NULL) {
        r = MODQ_PUBLISH_ERR_NOMEM;
        goto out;
    }
    *out = conf;
    conf = NULL;
    r = MODQ_PUBLISH_OK;
out:
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    return r;
}
