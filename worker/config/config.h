/*
 * config.h: modq-worker's configuration: defaults, then a YAML file, then MODQ_* environment
 * variables (the environment wins). Every key is validated on load; the first error names where
 * it came from ("FILE:LINE: key 'K': ..." or "env MODQ_K: key 'K': ..."). The key table with
 * defaults and ranges heads config_keys.c; worker/modq-worker.example.yaml documents each key.
 *
 * A loaded modq_config is immutable: any number of threads may read it. Strings returned by the
 * accessors are owned by the config and live until modq_config_free. Secret values (Kafka
 * passwords, the JWT HMAC secret) are readable only through the accessors made for handing them
 * to librdkafka or the JWT verifier; modq_config_to_json redacts them.
 */
#ifndef MODQ_CONFIG_H
#define MODQ_CONFIG_H

#include "obs/log.h"
#include "modq_blur.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum modq_config_result {
    MODQ_CONFIG_OK = 0,
    MODQ_CONFIG_ERR_INVALID_ARG, /* a caller bug: NULL pointer, index out of range */
    MODQ_CONFIG_ERR_NOMEM,       /* allocation failed */
    MODQ_CONFIG_ERR_IO,          /* the config file or a secret file could not be read */
    MODQ_CONFIG_ERR_TOO_LARGE,   /* the config file or a secret file is over its size cap */
    MODQ_CONFIG_ERR_SYNTAX,      /* the config file is not well-formed YAML */
    MODQ_CONFIG_ERR_INVALID,     /* a key is unknown, given twice or out of range */
    MODQ_CONFIG_RESULT_COUNT
} modq_config_result;

/* A static English sentence for a result. Never NULL. */
const char *modq_config_strerror(modq_config_result r);

/* Size caps, so that a mistaken or hostile file or environment cannot make us allocate without
 * end. */
#define MODQ_CONFIG_MAX_FILE_BYTES   (1024 * 1024) /* the YAML file */
#define MODQ_CONFIG_MAX_SECRET_BYTES (64 * 1024)   /* one secret file (a PEM key fits) */
#define MODQ_CONFIG_MAX_KAFKA        128           /* kafka properties, incl. secret files */
#define MODQ_CONFIG_KAFKA_NAME_MAX   128           /* bytes of a kafka property name */
#define MODQ_CONFIG_KAFKA_VALUE_MAX  (64 * 1024)   /* bytes of a kafka property value */
#define MODQ_CONFIG_MAX_HOSTS        64            /* fetch.allowed_hosts entries */
#define MODQ_CONFIG_MAX_BANKS        64
#define MODQ_CONFIG_MAX_LABELS       16   /* per bank */
#define MODQ_CONFIG_NAME_MAX         64   /* bytes of worker.id, bank names and labels, incl. NUL */
#define MODQ_CONFIG_PATH_MAX         1024 /* bytes of a path, incl. NUL */

/* Verdicts as bits: bit n stands for the wire enum value n of modq.v1.Verdict. */
#define MODQ_CONFIG_VERDICT_NO_VIOLATION      1
#define MODQ_CONFIG_VERDICT_REMOVE            2
#define MODQ_CONFIG_VERDICT_RESTRICT          3
#define MODQ_CONFIG_VERDICT_REMOVE_AND_REPORT 4
#define MODQ_CONFIG_VERDICT_BIT(v)            (1u << (unsigned)(v))

/* JWT algorithms as bits (jwt.algorithms). */
#define MODQ_CONFIG_JWT_HS256 (1u << 0)
#define MODQ_CONFIG_JWT_RS256 (1u << 1)
#define MODQ_CONFIG_JWT_ES256 (1u << 2)

typedef struct modq_config modq_config;

/*
 * Loads the configuration: defaults, then the YAML file at path (NULL = no file), then the
 * MODQ_* entries of envp ("NAME=VALUE" strings ended by NULL, as environ; NULL = none). Secret
 * files named by the config are read now. On success *out is a new config owned by the caller
 * (free with modq_config_free). On failure *out is NULL and errstr receives the first error.
 */
modq_config_result modq_config_load(const char *path, const char *const *envp, modq_config **out,
                                    char *errstr, size_t errstr_size);
/* As modq_config_load, with the YAML taken from len bytes at buf (not kept); name stands for FILE
 * in messages. */
modq_config_result modq_config_load_buffer(const char *buf, size_t len, const char *name,
                                           const char *const *envp, modq_config **out, char *errstr,
                                           size_t errstr_size);
/* Frees c and wipes the secrets it held (NULL is fine). */
void modq_config_free(modq_config *c);

/*
 * The effective configuration as a JSON object, every key with its value, secrets replaced by
 * "[redacted]" (Kafka properties that are secret by name or came from a secret file; the JWT
 * secret is never included, only its file's path). On success *out is a new reference owned by
 * the caller (json_decref). Dump it with JSON_REAL_PRECISION(15) to print http.qa_sample_rate
 * as written (0.05, not 0.050000000000000003).
 */
modq_config_result modq_config_to_json(const modq_config *c, json_t **out);

/* worker.* */
const char *modq_config_worker_id(const modq_config *c);
const char *modq_config_worker_policy(const modq_config *c); /* the resolved path */
int modq_config_worker_grace_seconds(const modq_config *c);
int modq_config_worker_prepare_threads(const modq_config *c);
int modq_config_worker_window_per_queue(const modq_config *c);
bool modq_config_worker_demo(const modq_config *c);
/* worker.role: what this process does in a fleet (docs/operations.md, "Scaling"). */
typedef enum modq_config_role {
    MODQ_CONFIG_ROLE_ALL = 0, /* one process does everything: consume, prepare, review desk */
    MODQ_CONFIG_ROLE_PREPARE, /* consume tickets, prepare them, publish review items */
    MODQ_CONFIG_ROLE_DESK,    /* the review desk over the review topic (one active per group) */
} modq_config_role;
modq_config_role modq_config_worker_role(const modq_config *c);
const char *modq_config_role_name(modq_config_role role);

/*
 * kafka.* and kafka_secret_files, merged: the librdkafka properties to rd_kafka_conf_set, index
 * 0 .. count-1, sorted by name. Values of secret properties are the secrets themselves: hand them
 * to librdkafka only. modq_config_kafka_secret tells which they are.
 */
size_t modq_config_kafka_count(const modq_config *c);
const char *modq_config_kafka_name(const modq_config *c, size_t i);  /* NULL when out of range */
const char *modq_config_kafka_value(const modq_config *c, size_t i); /* NULL when out of range */
bool modq_config_kafka_secret(const modq_config *c, size_t i);
/* The value of property name, or NULL when it is not set. */
const char *modq_config_kafka_get(const modq_config *c, const char *name);

/* consumer.* */
const char *modq_config_consumer_group_id(const modq_config *c);
const char *modq_config_consumer_group_instance_id(const modq_config *c); /* "" = dynamic */
int modq_config_consumer_metadata_cap_bytes(const modq_config *c);
/* The consumer group of desk pods over topics.review: its single partition's owner is the
 * active desk. */
const char *modq_config_consumer_desk_group_id(const modq_config *c);

/* topics.* (queue topics come from the policy file) */
const char *modq_config_topics_decisions(const modq_config *c);
const char *modq_config_topics_wellbeing(const modq_config *c);
const char *modq_config_topics_audit(const modq_config *c);
const char *modq_config_topics_dead_letter(const modq_config *c);
const char *modq_config_topics_ledgers(const modq_config *c);
/* Prepared items from role prepare to role desk: one partition per desk group. */
const char *modq_config_topics_review(const modq_config *c);

/* decided.* */
int modq_config_decided_retention_hours(const modq_config *c);
/* The most decisions (and, apart, dead letters) remembered at once; the oldest go first. */
size_t modq_config_decided_max_entries(const modq_config *c);
/* PDQ distance within which a copy of media decided with an auto verdict is decided the same way
 * (decided.near_distance, 0: off). */
int modq_config_decided_near_distance(const modq_config *c);
/* Bitmask of MODQ_CONFIG_VERDICT_BIT(v) of the verdicts a prior decision re-applies. */
unsigned modq_config_decided_auto_verdicts(const modq_config *c);

/* media.* */
int64_t modq_config_media_max_input_bytes(const modq_config *c);
int64_t modq_config_media_max_pixels(const modq_config *c);
int modq_config_media_max_side(const modq_config *c);
int modq_config_media_display_size(const modq_config *c);
modq_rendition_format modq_config_media_format(const modq_config *c);
int modq_config_media_quality(const modq_config *c);
/* Sets the media.* values on opts (owned by the caller). */
modq_config_result modq_config_media_apply(const modq_config *c, modq_media_opts *opts);

/* sandbox.*: media work in confined helper processes (blur/modq_sandbox.h) */
bool modq_config_sandbox_enabled(const modq_config *c);
const char *modq_config_sandbox_helper(const modq_config *c); /* resolved at load */
int64_t modq_config_sandbox_memory_bytes(const modq_config *c);
int modq_config_sandbox_timeout_ms(const modq_config *c);
int modq_config_sandbox_cpu_seconds(const modq_config *c);
int modq_config_sandbox_max_items(const modq_config *c);

/* fetch.* */
const char *modq_config_fetch_file_root(const modq_config *c); /* "" = file:// disabled */
size_t modq_config_fetch_allowed_host_count(const modq_config *c);
const char *modq_config_fetch_allowed_host(const modq_config *c, size_t i); /* NULL if out */
int64_t modq_config_fetch_max_bytes(const modq_config *c);
int modq_config_fetch_timeout_ms(const modq_config *c);

/* banks (file only), index 0 .. count-1 in file order; NULL / -1 when out of range. */
size_t modq_config_bank_count(const modq_config *c);
const char *modq_config_bank_name(const modq_config *c, size_t i);
const char *modq_config_bank_file(const modq_config *c, size_t i);
int modq_config_bank_verdict(const modq_config *c, size_t i); /* MODQ_CONFIG_VERDICT_* */
int modq_config_bank_pdq_threshold(const modq_config *c, size_t i);
size_t modq_config_bank_label_count(const modq_config *c, size_t i);
const char *modq_config_bank_label(const modq_config *c, size_t i, size_t j);

/* http.* */
const char *modq_config_http_listen(const modq_config *c); /* as given, "HOST:PORT" */
const char *modq_config_http_host(const modq_config *c);   /* without [] for IPv6 */
int modq_config_http_port(const modq_config *c);
/* The probe listener (/healthz, /readyz, /metrics only), resolved: never "". */
const char *modq_config_http_probe_listen(const modq_config *c);
const char *modq_config_http_probe_host(const modq_config *c);
int modq_config_http_probe_port(const modq_config *c);
int modq_config_http_max_connections(const modq_config *c);
int modq_config_http_per_ip_connections(const modq_config *c); /* 0 = no limit */
int modq_config_http_request_timeout_seconds(const modq_config *c);
int modq_config_http_lease_seconds(const modq_config *c);
int modq_config_http_threads(const modq_config *c); /* 0 = the HTTP module's default (4) */
double modq_config_http_qa_sample_rate(const modq_config *c);
const char *modq_config_http_static_dir(const modq_config *c); /* the resolved path */

/* jwt.*; "" = not set. */
const char *modq_config_jwt_hs256_secret_file(const modq_config *c);
/* The HMAC secret read from jwt.hs256_secret_file (NULL when none); *len its length. */
const unsigned char *modq_config_jwt_hs256_secret(const modq_config *c, size_t *len);
const char *modq_config_jwt_public_key_file(const modq_config *c);
const char *modq_config_jwt_jwks_file(const modq_config *c);
const char *modq_config_jwt_issuer(const modq_config *c);
const char *modq_config_jwt_audience(const modq_config *c);
unsigned modq_config_jwt_algorithms(const modq_config *c); /* MODQ_CONFIG_JWT_* bits */
/* true when some key material (secret, public key or JWKS) is configured. Without it the review
 * API cannot authenticate anyone: the HTTP module must refuse to serve unless worker.demo. */
bool modq_config_jwt_configured(const modq_config *c);

/* log.* */
modq_log_level modq_config_log_level(const modq_config *c);

#endif
