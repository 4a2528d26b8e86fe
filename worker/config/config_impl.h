/*
 * config_impl.h: the private layout of modq_config, shared by config.c (accessors, JSON),
 * config_keys.c (the key table, defaults, value checks) and config_load.c (YAML, environment,
 * secret files). Nothing outside these three files includes it.
 */
#ifndef MODQ_CONFIG_IMPL_H
#define MODQ_CONFIG_IMPL_H

#include "config.h"
#include "modq_common.h"

#define TOPIC_MAX   250 /* Kafka topic and group names: 249 bytes, plus NUL */
#define HOST_MAX    260 /* a fetch.allowed_hosts entry: a DNS name (253 bytes), :65535, NUL */
#define TEXT_MAX    256 /* issuer, audience, listen address */
#define ORIGIN_MAX  160 /* "FILE:LINE" or "env MODQ_..." of a setting, for messages */
#define ENUM_MAX    8   /* choices of an enum or enum-set key */
#define REDACTED    "[redacted]"
#define SECTION_MAX 32 /* bytes of a section name ("worker", "media", ...) */

typedef enum key_type {
    KT_INT,     /* int64_t, lo .. hi */
    KT_DOUBLE,  /* double, dlo .. dhi */
    KT_BOOL,    /* bool: true | false */
    KT_STR,     /* char[hi + 1], length lo .. hi, characters per str_kind */
    KT_ENUM,    /* int: index into choices */
    KT_ENUMSET, /* unsigned: bit (index + shift) per choice; a list */
    KT_HOSTS,   /* host_list: a list */
} key_type;

typedef enum str_kind {
    SK_PATH,    /* any path; no control characters */
    SK_ABSPATH, /* "" or an absolute path */
    SK_TEXT,    /* printable ASCII */
    SK_ID,      /* [A-Za-z0-9._-] */
    SK_TOPIC,   /* [A-Za-z0-9._-], not "." or ".." */
    SK_LISTEN,  /* HOST:PORT or [IPV6]:PORT */
} str_kind;

typedef struct key_def {
    const char *key; /* "media.max_pixels" */
    key_type type;
    size_t offset; /* of the value in struct modq_config */
    int64_t lo, hi;
    double dlo, dhi;
    str_kind kind;
    const char *choices[ENUM_MAX]; /* NULL-terminated */
    unsigned shift;                /* KT_ENUMSET: bit of choice i is 1 << (i + shift) */
    const char *def;               /* the default as text (lists comma-separated) */
} key_def;

/* A listen address: the text as given (first, so the key table's offset finds it), and its
 * parts. */
typedef struct listen_addr {
    char text[TEXT_MAX]; /* "HOST:PORT" or "[V6]:PORT" */
    char host[TEXT_MAX]; /* without [] */
    int port;
} listen_addr;

typedef struct host_list {
    size_t n;
    char item[MODQ_CONFIG_MAX_HOSTS][HOST_MAX];
} host_list;

/* A librdkafka property. value is a secret when secret is set: wiped before it is freed. */
typedef struct kafka_prop {
    char *name;
    char *value;
    bool secret;
    bool from_file;          /* value read from a kafka_secret_files entry */
    char origin[ORIGIN_MAX]; /* where it was set, for messages */
} kafka_prop;

/* A kafka_secret_files entry: property name -> path of the file holding its value. */
typedef struct kafka_file {
    char *name;
    char path[MODQ_CONFIG_PATH_MAX];
    char origin[ORIGIN_MAX];
} kafka_file;

typedef struct bank_cfg {
    char name[MODQ_CONFIG_NAME_MAX];
    char file[MODQ_CONFIG_PATH_MAX];
    int verdict;
    int pdq_threshold;
    size_t nlabels;
    char labels[MODQ_CONFIG_MAX_LABELS][MODQ_CONFIG_NAME_MAX];
} bank_cfg;

struct modq_config {
    char worker_id[MODQ_CONFIG_NAME_MAX];
    char worker_policy[MODQ_CONFIG_PATH_MAX];
    int64_t grace_seconds, prepare_threads, window_per_queue;
    bool demo;
    int role; /* a modq_config_role */

    kafka_prop *kafka; /* MODQ_CONFIG_MAX_KAFKA slots */
    size_t nkafka;
    kafka_file *kfiles; /* MODQ_CONFIG_MAX_KAFKA slots */
    size_t nkfiles;

    char group_id[TOPIC_MAX];
    char group_instance_id[TOPIC_MAX];
    char desk_group_id[TOPIC_MAX];
    int64_t metadata_cap_bytes;

    char topic_decisions[TOPIC_MAX], topic_wellbeing[TOPIC_MAX], topic_audit[TOPIC_MAX];
    char topic_dead_letter[TOPIC_MAX], topic_ledgers[TOPIC_MAX], topic_review[TOPIC_MAX];

    int64_t retention_hours, decided_max_entries, near_distance;
    unsigned auto_verdicts;

    int64_t max_input_bytes, max_pixels, max_side, display_size, quality, deadline_ms,
        max_jpeg_scans;
    int format;

    bool sandbox_enabled;
    char sandbox_helper[MODQ_CONFIG_PATH_MAX];
    int64_t sandbox_memory_mb, sandbox_timeout_ms, sandbox_cpu_seconds, sandbox_max_items;

    char file_root[MODQ_CONFIG_PATH_MAX];
    host_list allowed_hosts;
    int64_t fetch_max_bytes, fetch_timeout_ms;

    bank_cfg *banks; /* nbanks entries */
    size_t nbanks;

    listen_addr http_listen;
    listen_addr probe_listen; /* "" until resolved at load */
    int64_t lease_seconds;
    int64_t http_threads;
    int64_t max_connections, per_ip_connections, request_timeout_seconds;
    double qa_sample_rate;
    char static_dir[MODQ_CONFIG_PATH_MAX];

    char jwt_secret_file[MODQ_CONFIG_PATH_MAX];
    unsigned char *jwt_secret; /* read from jwt_secret_file; wiped before it is freed */
    size_t jwt_secret_len;
    char jwt_public_key_file[MODQ_CONFIG_PATH_MAX];
    char jwt_jwks_file[MODQ_CONFIG_PATH_MAX];
    char jwt_issuer[TEXT_MAX];
    char jwt_audience[TEXT_MAX];
    unsigned jwt_algorithms;

    int log_level;
};

/* config_keys.c: the table of scalar and list keys (kafka, kafka_secret_files and banks are
 * handled apart). */
size_t config_key_count(void);
const key_def *config_key_at(size_t i);
/* The key named key ("media.max_pixels"), or NULL. */
const key_def *config_key_find(const char *key);
/* The key whose environment name is env_name ("MODQ_MEDIA_MAX_PIXELS"), or NULL. */
const key_def *config_key_find_env(const char *env_name);
/* true when some key belongs to section (the part before the first dot). */
bool config_section_known(const char *section);
/* Writes d's environment name into buf. */
void config_env_name(const key_def *d, char *buf, size_t size);
/* Sets every key to its default. false (with msg) only on a bug in the table. */
bool config_set_defaults(modq_config *c, char *msg, size_t msg_size);

/* Sets scalar key d from text; false with a message (no location) when text is not valid. */
bool config_set_scalar(modq_config *c, const key_def *d, const char *text, char *msg,
                       size_t msg_size);
/* Sets list key d from n items; false with a message when one is not valid. */
bool config_set_list(modq_config *c, const key_def *d, const char *const *items, size_t n,
                     char *msg, size_t msg_size);
/* true when d's value is a list (set from a YAML sequence or a comma-separated variable). */
bool config_key_is_list(const key_def *d);
/* The value of key d as JSON (new reference, NULL when out of memory). */
json_t *config_key_json(const modq_config *c, const key_def *d);

/* Verdict names "no_violation" .. "remove_and_report" <-> MODQ_CONFIG_VERDICT_*; -1 / NULL when
 * unknown. */
int config_verdict_parse(const char *s);
const char *config_verdict_name(int v);
/* true when s is 1 .. size-1 bytes of [a-z0-9_-] (bank names, labels). */
bool config_name_ok(const char *s, size_t size);

/* ---- config_load.c: the YAML layer and what the layers share ---- */

#define KEYS_MAX     64  /* entries of the key table (checked at load) */
#define ENV_NAME_MAX 128 /* bytes of a MODQ_* variable's name */

/* The state of one load. origin[i] says where key i was last set ("" = default). */
typedef struct load_ctx {
    modq_config *cfg;
    const char *name; /* FILE in messages */
    char *errstr;
    size_t errstr_size;
    char origin[KEYS_MAX][ORIGIN_MAX];
} load_ctx;

/* Formats "ORIGIN: key 'KEY': message" into the caller's errstr; returns r. */
__attribute__((format(printf, 5, 6))) modq_config_result
config_fail(const load_ctx *c, modq_config_result r, const char *origin, const char *key,
            const char *fmt, ...);
/* Applies the YAML document in buf (len bytes, exactly one document) to c->cfg. */
modq_config_result config_load_yaml(load_ctx *c, const char *buf, size_t len);

/* Sets or replaces a kafka property (value copied; a secret when from_file or by its name);
 * false with a message when the name is not valid or the table is full. */
bool config_kafka_set(modq_config *c, const char *name, const char *value, bool from_file,
                      const char *origin, char *msg, size_t msg_size);
/* Sets or replaces a kafka_secret_files entry (path copied); false with a message. */
bool config_kfile_set(modq_config *c, const char *name, const char *path, const char *origin,
                      char *msg, size_t msg_size);
/* Removes kafka property (or secret file, when files) name unless the environment set it. */
void config_drop_file_layer(modq_config *c, const char *name, bool files);
/* true when a librdkafka property of this name holds a secret. */
bool config_kafka_name_secret(const char *name);
/* Frees the strings of one property, wiping a secret value. */
void config_kafka_prop_clear(kafka_prop *p);

/*
 * Reads at most cap bytes of path into a new NUL-terminated buffer owned by the caller (*out,
 * *len). ERR_IO / ERR_TOO_LARGE (over cap) with msg naming the problem.
 */
modq_config_result config_read_capped(const char *path, size_t cap, char **out, size_t *len,
                                      char *msg, size_t msg_size);
/* As config_read_capped with the secret cap; trailing CR/LF trimmed; must not be empty (nor hold
 * a NUL byte when text). The caller wipes and frees *out. */
modq_config_result config_read_secret(const char *path, bool text, char **out, size_t *len,
                                      char *msg, size_t msg_size);

/* Overwrites n bytes at p so that a secret does not linger in freed memory. */
void config_wipe(void *p, size_t n);

#endif
