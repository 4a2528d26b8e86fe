/* publish_conf.h: the producer's checked librdkafka configuration (private to publish.c). */
#ifndef MODQ_WORKER_PUBLISH_CONF_H
#define MODQ_WORKER_PUBLISH_CONF_H

#include "publish.h"

#include <librdkafka/rdkafka.h>

/* The librdkafka configuration from cfg plus what the producer forces. Caller owns *out
 * (rd_kafka_conf_destroy, or hand it to rd_kafka_new). */
modq_publish_result modq_publish_conf_build(const modq_config *cfg, rd_kafka_conf_t **out,
                                            char *errstr, size_t errstr_size);

#endif
