/*
 * mock.c: the development Kafka cluster (see mock.h), a thin layer over librdkafka's mock cluster
 * that adds argument checks, request and error names for people typing at a control prompt, and
 * results with messages instead of librdkafka's bare error codes.
 *
 * Why rd_kafka_mock_cluster_new on a handle of our own rather than `test.mock.num.brokers`: with
 * that property the handle becomes a client of its own cluster (its bootstrap.servers is replaced
 * and it connects to every broker), and the cluster's life is tied to a client's. A producer handle
 * with no bootstrap servers never connects anywhere; it only lends the cluster its logger and
 * configuration, and we destroy the cluster explicitly before it.
 */
#include "mock.h"
#include "modq_common.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

struct modq_mock {
    rd_kafka_t *rk;                   /* bookkeeping handle, never connects */
    rd_kafka_mock_cluster_t *cluster; /* owned; destroyed before rk */
    char *bootstrap;                  /* copy of the cluster's bootstrap list */
    int brokers;
};

static const char *const result_text[MODQ_MOCK_RESULT_COUNT] = {
    [MODQ_MOCK_OK] = "success",
    [MODQ_MOCK_ERR_INVALID_ARG] = "invalid argument",
    [MODQ_MOCK_ERR_NOMEM] = "out of memory",
    [MODQ_MOCK_ERR_KAFKA] = "the mock cluster refused the request",
    [MODQ_MOCK_ERR_UNKNOWN_BROKER] = "no broker with that id",
    [MODQ_MOCK_ERR_UNKNOWN_API] = "unknown Kafka request name",
    [MODQ_MOCK_ERR_UNKNOWN_ERROR] = "unknown Kafka error name",
    [MODQ_MOCK_ERR_TOPIC_EXISTS] = "the topic exists already",
};

const char *modq_mock_strerror(modq_mock_result r)
{
    if ((int)r < 0 || r >= MODQ_MOCK_RESULT_COUNT) {
        return "unknown result";
    }
    return result_text[r];
}

/* Kafka's request names (the protocol guide's spelling) for the ApiKeys a client of modq sends. */
static const struct {
    const char *name;
    int16_t key;
} api_names[] = {
    {"Produce", 0},
    {"Fetch", 1},
    {"ListOffsets", 2},
    {"Metadata", 3},
    {"OffsetCommit", 8},
    {"OffsetFetch", 9},
    {"FindCoordinator", 10},
    {"JoinGroup", 11},
    {"Heartbeat", 12},
    {"LeaveGroup", 13},
    {"SyncGroup", 14},
    {"DescribeGroups", 15},
    {"ListGroups", 16},
    {"SaslHandshake", 17},
    {"ApiVersions", 18},
    {"CreateTopics", 19},
    {"DeleteTopics", 20},
    {"DeleteRecords", 21},
    {"InitProducerId", 22},
    {"OffsetForLeaderEpoch", 23},
    {"AddPartitionsToTxn", 24},
    {"AddOffsetsToTxn", 25},
    {"EndTxn", 26},
    {"TxnOffsetCommit", 28},
};

/* librdkafka's log goes nowhere unless debugging was asked for: a library does not log. */
static void drop_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}

/* Ownership: on MODQ_MOCK_OK *out is the caller's, to free with modq_mock_free. */
modq_mock_result modq_mock_new(int brokers, const char *debug, modq_mock **out, char *errstr,
                               size_t errstr_size)
{
    modq_mock_result res = MODQ_MOCK_OK;
    rd_kafka_conf_t *conf = NULL;
    modq_mock *m = NULL;
    char kerr[256];
    const char *bs;

    if (out) {
        *out = NULL;
    }
    if (!out || brokers < 1 || brokers > MODQ_MOCK_MAX_BROKERS) {
        modq_errstr_set(errstr, errstr_size, "broker count must be 1..%d", MODQ_MOCK_MAX_BROKERS);
        res = MODQ_MOCK_ERR_INVALID_ARG;
        goto out;
    }
    m = calloc(1, sizeof(*m));
    conf = rd_kafka_conf_new();
    if (!m || !conf) {
        modq_errstr_set(errstr, errstr_size, "out of memory");
        res = MODQ_MOCK_ERR_NOMEM;
        goto out;
    }
    if (rd_kafka_conf_set(conf, "client.id", "modq-mock", kerr, sizeof(kerr)) != RD_KAFKA_CONF_OK ||
        (debug &&
         rd_kafka_conf_set(conf, "debug", debug, kerr, sizeof(kerr)) != RD_KAFKA_CONF_OK)) {
        modq_errstr_set(errstr, errstr_size, "mock cluster configuration: %s", kerr);
        res = MODQ_MOCK_ERR_INVALID_ARG;
        goto out;
    }
    if (!debug) {
        rd_kafka_conf_set_log_cb(conf, drop_log);
    }
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof(kerr));
    if (!m->rk) {
        modq_errstr_set(errstr, errstr_size, "mock cluster handle: %s", kerr);
        res = MODQ_MOCK_ERR_KAFKA;
        goto out;
    }
    conf = NULL; /* rd_kafka_new took it */
    m->cluster = rd_kafka_mock_cluster_new(m->rk, brokers);
    if (!m->cluster) {
        modq_errstr_set(errstr, errstr_size, "could not start a mock cluster of %d brokers",
                        brokers);
        res = MODQ_MOCK_ERR_KAFKA;
        goto out;
    }
    bs = rd_kafka_mock_cluster_bootstraps(m->cluster);
    m->bootstrap = bs ? strdup(bs) : NULL;
    if (!m->bootstrap) {
        modq_errstr_set(errstr, errstr_size, "out of memory");
        res = MODQ_MOCK_ERR_NOMEM;
        goto out;
    }
    m->brokers = brokers;
    *out = m;
    m = NULL;
out:
    if (conf) {
        rd_kafka_conf_destroy(conf);
    }
    modq_mock_free(m);
    return res;
}

void modq_mock_free(modq_mock *m)
{
    if (!m) {
        return;
    }
    if (m->cluster) {
        rd_kafka_mock_cluster_destroy(m->cluster);
    }
    if (m->rk) {
        rd_kafka_destroy(m->rk);
    }
    free(m->bootstrap);
    free(m);
}

const char *modq_mock_bootstrap(const modq_mock *m)
{
    return m ? m->bootstrap : NULL;
}

int modq_mock_broker_count(const modq_mock *m)
{
    return m ? m->brokers : 0;
}

rd_kafka_mock_cluster_t *modq_mock_cluster(modq_mock *m)
{
    return m ? m->cluster : NULL;
}

static modq_mock_result kafka_result(rd_kafka_resp_err_t err, const char *what, char *errstr,
                                     size_t errstr_size)
{
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        return MODQ_MOCK_OK;
    }
    modq_errstr_set(errstr, errstr_size, "%s: %s (%s)", what, rd_kafka_err2name(err),
                    rd_kafka_err2str(err));
    if (err == RD_KAFKA_RESP_ERR__UNKNOWN_BROKER) {
        return MODQ_MOCK_ERR_UNKNOWN_BROKER;
    }
    if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        return MODQ_MOCK_ERR_TOPIC_EXISTS;
    }
    return MODQ_MOCK_ERR_KAFKA;
}

modq_mock_result modq_mock_topic_create(modq_mock *m, const char *topic, int partitions,
                                        int replication, char *errstr, size_t errstr_size)
{
    size_t len;

    if (!m || !topic) {
        modq_errstr_set(errstr, errstr_size, "no cluster or no topic");
        return MODQ_MOCK_ERR_INVALID_ARG;
    }
    /* Kafka's own topic name rule: 1..249 of [a-zA-Z0-9._-]. */
    len = strlen(topic);
    if (len == 0 || len > 249 ||
        strspn(topic, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789._-") != len) {
        modq_errstr_set(errstr, errstr_size, "invalid topic name '%.64s'", topic);
        return MODQ_MOCK_ERR_INVALID_ARG;
    }
    if (partitions < 1 || partitions > MODQ_MOCK_MAX_PARTITIONS || replication < 1 ||
        replication > m->brokers) {
        modq_errstr_set(errstr, errstr_size,
                        "topic %s: partitions must be 1..%d, replication 1..%d", topic,
                        MODQ_MOCK_MAX_PARTITIONS, m->brokers);
        return MODQ_MOCK_ERR_INVALID_ARG;
    }
    return kafka_result(rd_kafka_mock_topic_create(m->cluster, topic, partitions, replication),
                        topic, errstr, errstr_size);
}

static modq_mock_result check_broker(const modq_mock *m, int32_t id, char *errstr,
                                     size_t errstr_size)
{
    if (!m) {
        return MODQ_MOCK_ERR_INVALID_ARG;
    }
    if (id < 1 || id > m->brokers) {
        modq_errstr_set(errstr, errstr_size, "no broker %d: ids are 1..%d", (int)id, m->brokers);
        return MODQ_MOCK_ERR_UNKNOWN_BROKER;
    }
    return MODQ_MOCK_OK;
}

modq_mock_result modq_mock_broker_down(modq_mock *m, int32_t id, char *errstr, size_t errstr_size)
{
    modq_mock_result res = check_broker(m, id, errstr, errstr_size);

    if (res != MODQ_MOCK_OK) {
        return res;
    }
    return kafka_result(rd_kafka_mock_broker_set_down(m->cluster, id), "broker down", errstr,
                        errstr_size);
}

modq_mock_result modq_mock_broker_up(modq_mock *m, int32_t id, char *errstr, size_t errstr_size)
{
    modq_mock_result res = check_broker(m, id, errstr, errstr_size);

    if (res != MODQ_MOCK_OK) {
        return res;
    }
    return kafka_result(rd_kafka_mock_broker_set_up(m->cluster, id), "broker up", errstr,
                        errstr_size);
}

modq_mock_result modq_mock_partition_leader(modq_mock *m, const char *topic, int32_t partition,
                                            int32_t id, char *errstr, size_t errstr_size)
{
    modq_mock_result res = check_broker(m, id, errstr, errstr_size);

    if (res != MODQ_MOCK_OK) {
        return res;
    }
    if (!topic || partition < 0) {
        modq_errstr_set(errstr, errstr_size, "no topic or negative partition");
        return MODQ_MOCK_ERR_INVALID_ARG;
    }
    /* The mock answers UNKNOWN_TOPIC_OR_PART for a topic or partition it does not have. */
    return kafka_result(rd_kafka_mock_partition_set_leader(m->cluster, topic, partition, id),
                        "partition leader", errstr, errstr_size);
}

modq_mock_result modq_mock_broker_rtt(modq_mock *m, int32_t id, int rtt_ms, char *errstr,
                                      size_t errstr_size)
{
    modq_mock_result res = check_broker(m, id, errstr, errstr_size);

    if (res != MODQ_MOCK_OK) {
        return res;
    }
    if (rtt_ms < 0 || rtt_ms > 60000) {
        modq_errstr_set(errstr, errstr_size, "rtt must be 0..60000 ms");
        return MODQ_MOCK_ERR_INVALID_ARG;
    }
    return kafka_result(rd_kafka_mock_broker_set_rtt(m->cluster, id, rtt_ms), "broker rtt", errstr,
                        errstr_size);
}

modq_mock_result modq_mock_api_key(const char *api, int16_t *key)
{
    int64_t v;

    if (!api || !key) {
        return MODQ_MOCK_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < sizeof(api_names) / sizeof(api_names[0]); i++) {
        if (strcmp(api, api_names[i].name) == 0) {
            *key = api_names[i].key;
            return MODQ_MOCK_OK;
        }
    }
    /* Any other ApiKey may be given by number; the mock ignores keys it never serves. */
    if (!modq_parse_int64(api, 0, INT16_MAX, &v)) {
        return MODQ_MOCK_ERR_UNKNOWN_API;
    }
    *key = (int16_t)v;
    return MODQ_MOCK_OK;
}

modq_mock_result modq_mock_error_code(const char *error, rd_kafka_resp_err_t *err)
{
    const struct rd_kafka_err_desc *descs = NULL;
    size_t n = 0;
    int64_t v;

    if (!error || !err) {
        return MODQ_MOCK_ERR_INVALID_ARG;
    }
    if (strncmp(error, "RD_KAFKA_RESP_ERR_", 18) == 0) {
        error += 18;
    }
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++) {
        if (descs[i].name && strcmp(descs[i].name, error) == 0) {
            *err = descs[i].code;
            return MODQ_MOCK_OK;
        }
    }
    if (!modq_parse_int64(error, INT_MIN, INT_MAX, &v)) {
        return MODQ_MOCK_ERR_UNKNOWN_ERROR;
    }
    for (size_t i = 0; i < n; i++) {
        if (descs[i].name && descs[i].code == (rd_kafka_resp_err_t)v) {
            *err = descs[i].code;
            return MODQ_MOCK_OK;
        }
    }
    return MODQ_MOCK_ERR_UNKNOWN_ERROR;
}

modq_mock_result modq_mock_push_errors(modq_mock *m, const char *api, size_t count,
                                       const char *error, char *errstr, size_t errstr_size)
{
    modq_mock_result res = MODQ_MOCK_OK;
    rd_kafka_resp_err_t *errs = NULL;
    rd_kafka_resp_err_t code;
    int16_t key;

    if (!m || !api || !error || count < 1 || count > MODQ_MOCK_MAX_ERRORS) {
        modq_errstr_set(errstr, errstr_size, "error count must be 1..%d", MODQ_MOCK_MAX_ERRORS);
        res = MODQ_MOCK_ERR_INVALID_ARG;
        goto out;
    }
    if ((res = modq_mock_api_key(api, &key)) != MODQ_MOCK_OK) {
        modq_errstr_set(errstr, errstr_size,
                        "unknown request '%.64s' (e.g. Produce, Fetch, OffsetCommit)", api);
        goto out;
    }
    if ((res = modq_mock_error_code(error, &code)) != MODQ_MOCK_OK) {
        modq_errstr_set(errstr, errstr_size,
                        "unknown error '%.64s' (e.g. NOT_LEADER_FOR_PARTITION)", error);
        goto out;
    }
    errs = calloc(count, sizeof(*errs));
    if (!errs) {
        modq_errstr_set(errstr, errstr_size, "out of memory");
        res = MODQ_MOCK_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        errs[i] = code;
    }
    rd_kafka_mock_push_request_errors_array(m->cluster, key, count, errs);
out:
    free(errs);
    return res;
}

modq_mock_result modq_mock_clear_errors(modq_mock *m, const char *api, char *errstr,
                                        size_t errstr_size)
{
    int16_t key;

    if (!m || !api) {
        return MODQ_MOCK_ERR_INVALID_ARG;
    }
    if (modq_mock_api_key(api, &key) != MODQ_MOCK_OK) {
        modq_errstr_set(errstr, errstr_size, "unknown request '%.64s'", api);
        return MODQ_MOCK_ERR_UNKNOWN_API;
    }
    rd_kafka_mock_clear_request_errors(m->cluster, key);
    return MODQ_MOCK_OK;
}
