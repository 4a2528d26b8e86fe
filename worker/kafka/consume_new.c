/*
 * consume_new.c: making the worker's consumer (consume.c): the librdkafka configuration (our
 * defaults, the config's kafka.* properties, the caller's extras, then the settings the offset
 * bookkeeping relies on, which nobody may change), the handle and the subscription.
 */
#include "consume_impl.h"

#include "offsets.h"
#include "modq_common.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    modq_consume *c = rd_kafka_opaque(rk);
    if (c != NULL && c->cb.on_log != NULL) {
        c->cb.on_log(c->cb.arg, level, fac, buf);
    }
}

/* Properties the worker owns; forced values are refused unless given as forced. */
static const char *const forced[][2] = {
    {"enable.auto.commit", "false"},
    {"enable.auto.offset.store", "false"},
    {"partition.assignment.strategy", "cooperative-sticky"},
};

static modq_consume_result conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                                    bool check, char *errstr, size_t errstr_size)
{
    char why[256] = "";

    if (name == NULL || value == NULL) {
        snprintf(errstr, errstr_size, "kafka property without a name or value");
        return MODQ_CONSUME_ERR_INVALID_ARG;
    }
    if (check && (strcmp(name, "group.id") == 0 || strcmp(name, "group.instance.id") == 0)) {
        snprintf(errstr, errstr_size, "kafka property '%s': is set by the worker (consumer.*)",
                 name);
        return MODQ_CONSUME_ERR_CONFIG;
    }
    for (size_t i = 0; check && i < sizeof forced / sizeof forced[0]; i++) {
        if (strcmp(name, forced[i][0]) == 0 && strcmp(value, forced[i][1]) != 0) {
            snprintf(errstr, errstr_size,
                     "kafka property '%s': must be %s (the worker's offset bookkeeping relies "
                     "on it), not '%s'",
                     name, forced[i][1], value);
            return MODQ_CONSUME_ERR_CONFIG;
        }
    }
    if (rd_kafka_conf_set(conf, name, value, why, sizeof why) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, errstr_size, "kafka property '%s': %s", name, why);
        return MODQ_CONSUME_ERR_CONFIG;
    }
    return MODQ_CONSUME_OK;
}

/* The consumer's configuration: our defaults, cfg's kafka.*, the extras, then what we force. */
static modq_consume_result build_conf(modq_consume *c, const modq_config *cfg,
                                      const char *const *extra, size_t nextra,
                                      rd_kafka_conf_t *conf, char *errstr, size_t errstr_size)
{
    bool desk = modq_config_worker_role(cfg) == MODQ_CONFIG_ROLE_DESK;
    modq_consume_result r =
        conf_set(conf, "auto.offset.reset", "earliest", false, errstr, errstr_size);
    if (r == MODQ_CONSUME_OK && desk) {
        /* The group's join state, for commits that must wait out a rebalance (consume_rebalance.c);
         * one partition's statistics are small. kafka.* may set another interval. */
        r = conf_set(conf, "statistics.interval.ms", "100", false, errstr, errstr_size);
    }
    for (size_t i = 0; r == MODQ_CONSUME_OK && i < modq_config_kafka_count(cfg); i++) {
        r = conf_set(conf, modq_config_kafka_name(cfg, i), modq_config_kafka_value(cfg, i), true,
                     errstr, errstr_size);
    }
    for (size_t i = 0; r == MODQ_CONSUME_OK && i < nextra; i++) {
        r = conf_set(conf, extra[2 * i], extra[2 * i + 1], true, errstr, errstr_size);
    }
    for (size_t i = 0; r == MODQ_CONSUME_OK && i < sizeof forced / sizeof forced[0]; i++) {
        r = conf_set(conf, forced[i][0], forced[i][1], false, errstr, errstr_size);
    }
    if (r == MODQ_CONSUME_OK) {
        /* A desk pod consumes the review topic in the desk group, apart from the ticket group. */
        const char *group =
            desk ? modq_config_consumer_desk_group_id(cfg) : modq_config_consumer_group_id(cfg);
        r = conf_set(conf, "group.id", group, false, errstr, errstr_size);
    }
    const char *instance = modq_config_consumer_group_instance_id(cfg);
    if (r == MODQ_CONSUME_OK && instance != NULL && instance[0] != '\0') {
        r = conf_set(conf, "group.instance.id", instance, false, errstr, errstr_size);
    }
    if (r != MODQ_CONSUME_OK) {
        return r;
    }
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, consume_rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, consume_commit_cb);
    if (desk) {
        rd_kafka_conf_set_stats_cb(conf, consume_stats_cb);
    }
    if (c->cb.on_log != NULL) {
        rd_kafka_conf_set_log_cb(conf, log_cb);
    }
    return MODQ_CONSUME_OK;
}

/* Every topic named, and named once. false with errstr otherwise. */
static bool topics_ok(const char *const *topics, size_t ntopics, char *errstr, size_t errstr_size)
{
    for (size_t i = 0; i < ntopics; i++) {
        for (size_t j = 0; topics[i] != NULL && j < i; j++) {
            if (strcmp(topics[i], topics[j]) == 0) {
                snprintf(errstr, errstr_size, "topic '%s' given twice", topics[i]);
                return false;
            }
        }
        if (topics[i] == NULL || topics[i][0] == '\0') {
            snprintf(errstr, errstr_size, "topic %zu is empty", i);
            return false;
        }
    }
    return true;
}

/* A consumer with no client yet: its lock, its own copies of the topic names, the callbacks and
 * cfg's window. On success *out is the caller's (modq_consume_free). */
static modq_consume_result consume_alloc(const modq_config *cfg, const char *const *topics,
                                         size_t ntopics, const modq_consume_callbacks *cb,
                                         modq_consume **out, char *errstr, size_t errstr_size)
{
    modq_consume *c = NULL;

    if ((c = calloc(1, sizeof *c)) == NULL ||
        (c->topics = calloc(ntopics, sizeof *c->topics)) == NULL ||
        pthread_mutex_init(&c->lock, NULL) != 0) {
        if (c != NULL) {
            free(c->topics);
        }
        free(c);
        snprintf(errstr, errstr_size, "out of memory");
        return MODQ_CONSUME_ERR_NOMEM;
    }
    for (; c->ntopics < ntopics; c->ntopics++) {
        if ((c->topics[c->ntopics].name = strdup(topics[c->ntopics])) == NULL) {
            snprintf(errstr, errstr_size, "out of memory");
            modq_consume_free(c);
            return MODQ_CONSUME_ERR_NOMEM;
        }
    }
    if (cb != NULL) {
        c->cb = *cb;
    }
    c->window = (size_t)modq_config_worker_window_per_queue(cfg);
    c->low = c->window * 3 / 4;
    c->metadata_cap = (size_t)modq_config_consumer_metadata_cap_bytes(cfg);
    *out = c;
    return MODQ_CONSUME_OK;
}

/* c's client: the configuration (build_conf), the consumer, and the queue it is polled through. */
static modq_consume_result make_client(modq_consume *c, const modq_config *cfg,
                                       const char *const *extra, size_t nextra, char *errstr,
                                       size_t errstr_size)
{
    modq_consume_result r = MODQ_CONSUME_ERR_NOMEM;
    rd_kafka_conf_t *conf = NULL;
    char why[512] = "";

    if ((conf = rd_kafka_conf_new()) == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        goto out;
    }
    if ((r = build_conf(c, cfg, extra, nextra, conf, errstr, errstr_size)) != MODQ_CONSUME_OK) {
        goto out;
    }
    if ((c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why)) == NULL) {
        snprintf(errstr, errstr_size, "consumer: %s", why);
        r = MODQ_CONSUME_ERR_CONFIG;
        goto out;
    }
    conf = NULL; /* owned by c->rk now */
    if ((r = consume_mandate_read(c, errstr, errstr_size)) != MODQ_CONSUME_OK) {
        goto out;
    }
    rd_kafka_poll_set_consumer(c->rk);
    r = MODQ_CONSUME_ERR_NOMEM;
    if ((c->queue = rd_kafka_queue_get_consumer(c->rk)) == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        goto out;
    }
    r = MODQ_CONSUME_OK;
out:
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    return r;
}

static modq_consume_result subscribe(modq_consume *c, const char *const *topics, size_t ntopics,
                                     char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new((int)ntopics);
    rd_kafka_resp_err_t err;

    if (sub == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return MODQ_CONSUME_ERR_NOMEM;
    }
    for (size_t i = 0; i < ntopics; i++) {
        rd_kafka_topic_partition_list_add(sub, topics[i], RD_KAFKA_PARTITION_UA);
    }
    err = rd_kafka_subscribe(c->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(errstr, errstr_size, "subscribe: %s", rd_kafka_err2str(err));
        return MODQ_CONSUME_ERR_KAFKA;
    }
    return MODQ_CONSUME_OK;
}

modq_consume_result modq_consume_new(const modq_config *cfg, const char *const *topics,
                                     size_t ntopics, const char *const *extra, size_t nextra,
                                     const modq_consume_callbacks *cb, modq_consume **out,
                                     char *errstr, size_t errstr_size)
{
    modq_consume_result r;
    modq_consume *c = NULL;

    if (out != NULL) {
        *out = NULL;
    }
    if (errstr == NULL || errstr_size == 0) {
        return MODQ_CONSUME_ERR_INVALID_ARG;
    }
    errstr[0] = '\0';
    if (cfg == NULL || out == NULL || topics == NULL || ntopics == 0 ||
        ntopics > MODQ_CONSUME_MAX_TOPICS || (nextra > 0 && extra == NULL) ||
        nextra > MODQ_CONSUME_MAX_EXTRA) {
        snprintf(errstr, errstr_size, "need a config and 1..%d topics, at most %d extras",
                 MODQ_CONSUME_MAX_TOPICS, MODQ_CONSUME_MAX_EXTRA);
        return MODQ_CONSUME_ERR_INVALID_ARG;
    }
    if (!topics_ok(topics, ntopics, errstr, errstr_size)) {
        return MODQ_CONSUME_ERR_INVALID_ARG;
    }
    if ((r = consume_alloc(cfg, topics, ntopics, cb, &c, errstr, errstr_size)) != MODQ_CONSUME_OK) {
        return r;
    }
    if ((r = make_client(c, cfg, extra, nextra, errstr, errstr_size)) != MODQ_CONSUME_OK ||
        (r = subscribe(c, topics, ntopics, errstr, errstr_size)) != MODQ_CONSUME_OK) {
        goto out;
    }
    *out = c;
out:
    if (r != MODQ_CONSUME_OK) {
        c->closed = c->rk != NULL; /* never joined: destroy may close */
        modq_consume_free(c);
    }
    return r;
}

modq_consume_result modq_consume_set_window(modq_consume *c, size_t window)
{
    if (c == NULL || window == 0 || window > MODQ_CONSUME_MAX_WINDOW) {
        return MODQ_CONSUME_ERR_INVALID_ARG;
    }
    pthread_mutex_lock(&c->lock);
    c->window = window;
    c->low = window * 3 / 4;
    pthread_mutex_unlock(&c->lock);
    return MODQ_CONSUME_OK;
}

modq_consume_result modq_consume_partition_count(modq_consume *c, const char *name, int timeout_ms,
                                                 int *n, char *errstr, size_t errstr_size)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err;
    modq_consume_result r = MODQ_CONSUME_ERR_KAFKA;

    if (c == NULL || name == NULL || n == NULL) {
        return MODQ_CONSUME_ERR_INVALID_ARG;
    }
    *n = 0;
    /* Every topic is listed rather than this one by name: a Metadata request naming a topic
     * creates it, with the broker's partition count, on a broker that auto-creates topics and
     * speaks Metadata v3 or older (librdkafka's mock cluster, old Kafka). follow.c does the same.
     */
    err = rd_kafka_metadata(c->rk, 1, NULL, &md, timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(errstr, errstr_size, "topic '%s': metadata: %s", name, rd_kafka_err2str(err));
        return MODQ_CONSUME_ERR_KAFKA;
    }
    snprintf(errstr, errstr_size, "topic '%s': does not exist", name);
    for (int t = 0; t < md->topic_cnt; t++) {
        const rd_kafka_metadata_topic_t *mt = &md->topics[t];
        if (strcmp(mt->topic, name) != 0) {
            continue;
        }
        if (mt->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(errstr, errstr_size, "topic '%s': %s", name, rd_kafka_err2str(mt->err));
        } else {
            *n = mt->partition_cnt;
            r = MODQ_CONSUME_OK;
        }
        break;
    }
    rd_kafka_metadata_destroy(md);
    return r;
}
