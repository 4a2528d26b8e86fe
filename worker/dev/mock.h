/*
 * mock.h: a development Kafka cluster inside the process (worker/dev/mock.c), for `modq-worker
 * --demo`, modq-devbroker and the tests. It wraps librdkafka's experimental mock cluster, which
 * speaks the Kafka protocol on loopback ports so that any client (librdkafka, kcat, Python kafka)
 * can use it. Partitions, messages and committed offsets (with their metadata) live in this
 * process's memory: they outlive every client and vanish with modq_mock_free.
 *
 * Threads: the cluster serves connections from its own thread. The functions here may be called
 * from any one thread at a time (the caller serialises calls on one modq_mock).
 */
#ifndef MODQ_MOCK_H
#define MODQ_MOCK_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

typedef enum modq_mock_result {
    MODQ_MOCK_OK = 0,
    MODQ_MOCK_ERR_INVALID_ARG,    /* a caller bug: NULL pointer, out-of-range count */
    MODQ_MOCK_ERR_NOMEM,          /* allocation failed */
    MODQ_MOCK_ERR_KAFKA,          /* librdkafka refused; errstr says why */
    MODQ_MOCK_ERR_UNKNOWN_BROKER, /* no broker with that id */
    MODQ_MOCK_ERR_UNKNOWN_API,    /* not a Kafka request name or number we know */
    MODQ_MOCK_ERR_UNKNOWN_ERROR,  /* not a Kafka error name or number */
    MODQ_MOCK_ERR_TOPIC_EXISTS,   /* the topic exists already (it is left as it is) */
    MODQ_MOCK_RESULT_COUNT
} modq_mock_result;

/* A static English sentence for a result. Never NULL. */
const char *modq_mock_strerror(modq_mock_result r);

/* Limits: a handful of brokers is all a development cluster needs; partitions per topic are capped
 * because the mock allocates every partition up front. */
#define MODQ_MOCK_MAX_BROKERS    16
#define MODQ_MOCK_MAX_PARTITIONS 1024
#define MODQ_MOCK_MAX_ERRORS     1000 /* errors queued by one modq_mock_push_errors call */

typedef struct modq_mock modq_mock;

/*
 * Starts a cluster of `brokers` brokers (ids 1 .. brokers), each listening on its own ephemeral
 * 127.0.0.1 port. debug, when non-NULL, is a librdkafka debug context list (e.g. "mock,protocol")
 * whose lines go to stderr; otherwise librdkafka's own log lines are dropped. On success *out is
 * a new cluster owned by the caller (free with modq_mock_free); on failure *out is NULL and errstr
 * says why.
 */
modq_mock_result modq_mock_new(int brokers, const char *debug, modq_mock **out, char *errstr,
                               size_t errstr_size);
/* Stops the cluster, closing every client connection and dropping all data (NULL is fine). */
void modq_mock_free(modq_mock *m);

/* The bootstrap list "127.0.0.1:PORT,127.0.0.1:PORT,...", owned by m. */
const char *modq_mock_bootstrap(const modq_mock *m);
int modq_mock_broker_count(const modq_mock *m);
/* librdkafka's cluster handle, owned by m, for what this wrapper does not cover (tests). */
rd_kafka_mock_cluster_t *modq_mock_cluster(modq_mock *m);

/*
 * Topics. The mock has no topic configuration at all (no cleanup.policy, so no compaction; each
 * partition keeps its newest 5 MiB / 100000 messages) and auto-creates any topic a client names in
 * a Metadata or Produce request, with 4 partitions. It does not serve CreateTopics or
 * DescribeConfigs, so Admin API calls time out: create topics here.
 *
 * Creates a topic with 1 .. MODQ_MOCK_MAX_PARTITIONS partitions and replication factor
 * 1 .. broker count. A topic that already exists is left as it is: MODQ_MOCK_ERR_TOPIC_EXISTS.
 */
modq_mock_result modq_mock_topic_create(modq_mock *m, const char *topic, int partitions,
                                        int replication, char *errstr, size_t errstr_size);

/* Takes broker `id` down (its listener and connections close; clients see transport errors) or
 * brings it back up on the same port. */
modq_mock_result modq_mock_broker_down(modq_mock *m, int32_t id, char *errstr, size_t errstr_size);
modq_mock_result modq_mock_broker_up(modq_mock *m, int32_t id, char *errstr, size_t errstr_size);
/* Makes broker `id` the leader of one partition. The mock never elects a new leader by itself: a
 * partition whose leader is down stays unavailable until this is called or the broker comes up.
 * Beware: like any request naming it, this auto-creates a topic the mock does not have yet (with
 * partition + 1 partitions); only a partition beyond an existing topic's count is refused. */
modq_mock_result modq_mock_partition_leader(modq_mock *m, const char *topic, int32_t partition,
                                            int32_t id, char *errstr, size_t errstr_size);
/* Delays every response of broker `id` by rtt_ms (0 .. 60000). */
modq_mock_result modq_mock_broker_rtt(modq_mock *m, int32_t id, int rtt_ms, char *errstr,
                                      size_t errstr_size);

/*
 * Makes the next `count` requests of kind `api` (to any broker) fail with `error`.
 * api is a request name as Kafka spells it ("Produce", "Fetch", "OffsetCommit", ...) or its
 * decimal ApiKey; error is a Kafka error name without the RD_KAFKA_RESP_ERR_ prefix
 * ("NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT", ...) or its decimal code.
 */
modq_mock_result modq_mock_push_errors(modq_mock *m, const char *api, size_t count,
                                       const char *error, char *errstr, size_t errstr_size);
/* Forgets the errors still queued for `api`. */
modq_mock_result modq_mock_clear_errors(modq_mock *m, const char *api, char *errstr,
                                        size_t errstr_size);

/* Name lookups used above, exposed for the control protocol and the tests. */
modq_mock_result modq_mock_api_key(const char *api, int16_t *key);
modq_mock_result modq_mock_error_code(const char *error, rd_kafka_resp_err_t *err);

#endif /* MODQ_MOCK_H */
