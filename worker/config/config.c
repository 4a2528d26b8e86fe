/*
 * config.c: loads modq-worker's configuration: defaults, then the YAML file (config_load.c), then
 * the MODQ_* environment, then the finishing steps that need every layer: secret files are read,
 * settings that depend on each other are checked, the kafka properties are tried on a librdkafka
 * conf (so --check-config catches a misspelt property), and empty defaults are resolved.
 *
 * The files: config.c (this: loading, environment, finishing), config_load.c (the YAML layer,
 * kafka properties, secret files), config_keys.c (the key table with defaults and ranges, value
 * checks), config_get.c (accessors, JSON), config_impl.h (their shared layout).
 *
 * Keys (also in modq-worker.example.yaml; environment name: MODQ_ + upper(key), '.' -> '_'; list
 * values comma-separated there):
 *
 * key                            type       default                 range / values
 * worker.id                      id         hostname                1..63 of [A-Za-z0-9._-]
 * worker.policy                  path       see below (1)           <= 1023 bytes
 * worker.grace_seconds           int        30                      0..3600
 * worker.prepare_threads         int        2                       1..64
 * worker.window_per_queue        int        64                      1..10000
 * worker.demo                    bool       false                   true | false
 * worker.role                    enum       all                     all | prepare | desk (7)
 * kafka.<property>               map        bootstrap.servers: localhost:9092 (2)
 * kafka_secret_files.<property>  map        (none)                  property -> file path (3)
 * consumer.group_id              id         modq-worker             1..249 of [A-Za-z0-9._-]
 * consumer.group_instance_id     id         "" (dynamic membership) 0..249 of [A-Za-z0-9._-]
 * consumer.metadata_cap_bytes    int        3000                    256..3500
 * consumer.desk_group_id         id         modq-desk               as group_id (7)
 * topics.decisions               topic      modq.decisions          1..249 of [A-Za-z0-9._-]
 * topics.wellbeing               topic      modq.wellbeing
 * topics.audit                   topic      modq.audit
 * topics.dead_letter             topic      modq.dead-letter
 * topics.ledgers                 topic      modq.ledgers
 * topics.review                  topic      modq.review             (7)
 * decided.retention_hours        int        168                     1..8760
 * decided.max_entries            int        1000000                 1000..100000000
 * decided.near_distance          int        16                      0..31 (0: exact copies only)
 * decided.auto_verdicts          list       [remove, remove_and_report]   <= 4 of no_violation,
 *                                                                   remove, restrict,
 *                                                                   remove_and_report
 * media.max_input_bytes          int        67108864                1..1073741824
 * media.max_pixels               int        100000000               1..2147483648
 * media.max_side                 int        20000                   1..100000
 * media.display_size             int        1024                    16..8192
 * media.format                   enum       webp                    webp | jpeg
 * media.quality                  int        75                      1..100
 * media.deadline_ms              int        30000                   1..600000
 * media.max_jpeg_scans           int        50                      1..10000
 * sandbox.enabled                bool       true                    true | false (6)
 * sandbox.helper                 path       see (6)                 <= 1023 bytes
 * sandbox.memory_mb              int        1024                    64..65536
 * sandbox.timeout_ms             int        45000                   100..600000
 * sandbox.cpu_seconds            int        20                      1..3600
 * sandbox.max_items              int        500                     1..1000000
 * fetch.file_root                abs path   "" (file:// disabled)   "" or absolute
 * fetch.allowed_hosts            list       [] (http(s) disabled)   <= 64 host[:port], host of
 *                                                                   [A-Za-z0-9.-] or [IPv6];
 *                                                                   no port: 80/443 only
 * fetch.max_bytes                int        67108864                1..1073741824
 * fetch.timeout_ms               int        10000                   100..600000
 * banks                          list       []  (file only)         <= 64 of {name, file,
 *                                                                   verdict, labels,
 *                                                                   pdq_threshold 0..31 [31]}
 * http.listen                    listen     127.0.0.1:8080          HOST:PORT, [V6]:PORT
 * http.probe_listen              listen     "" (5)                  HOST:PORT, [V6]:PORT
 * http.lease_seconds             int        600                     10..86400
 * http.threads                   int        0 (= 4)                 0..64
 * http.max_connections           int        1024                    64..65536
 * http.per_ip_connections        int        256 (0 = no limit)      0..65536
 * http.request_timeout_seconds   int        20                      1..3600
 * http.qa_sample_rate            number     0.05                    0..1
 * http.static_dir                path       see below (1)
 * jwt.hs256_secret_file          path       ""                      secret, read at load (3)
 * jwt.public_key_file            path       ""                      PEM, read by the HTTP module
 * jwt.jwks_file                  path       ""                      JWKS, read by the HTTP module
 * jwt.issuer                     text       "" (not checked)        <= 255 printable ASCII
 * jwt.audience                   text       "" (not checked)        <= 255 printable ASCII
 * jwt.algorithms                 list       [HS256]                 1..3 of HS256, RS256, ES256
 * log.level                      enum       info                    debug|info|warn|error
 *
 * (1) "" (the default) resolves at load to the first that exists of the source-tree path
 *     (policy/default.yaml, worker/web, relative to the current directory) and the installed one
 *     (/usr/share/modq/default.yaml, /usr/share/modq/web); the installed one when neither does.
 * (2) Free-form librdkafka properties, passed through verbatim (numbers and booleans as their
 *     text), checked with rd_kafka_conf_set at load. MODQ_KAFKA_<REST> sets kafka.<rest> with
 *     REST lowercased and '_' -> '.'. group.id, group.instance.id, enable.auto.commit and
 *     enable.auto.offset.store belong to the worker and are refused.
 * (3) Secret files: read at load (<= 64 KiB, trailing newlines trimmed), never logged.
 *     MODQ_KAFKA_<REST>_FILE sets kafka_secret_files.<rest> (no librdkafka property ends in
 *     ".file", so the suffix is unambiguous).
 * (4) The environment wins over the file. MODQ_KAFKA_LOG_LEVEL and MODQ_KAFKA_ENABLED_EVENTS
 *     set log_level and enabled_events (librdkafka keeps their '_'). A MODQ_* variable whose
 *     first word is a section above but which names no key is an error (a typo must not pass
 *     silently); other MODQ_* variables (MODQ_SOURCE_DIR, ...) are not ours and are ignored.
 *     banks has no environment form: MODQ_BANKS* is an error.
 * (5) The listener of /healthz, /readyz and /metrics alone, with its own small connection
 *     budget, so that API clients cannot starve the probes. "" (the default) resolves at load to
 *     http.listen's host on port 0 (any free port); it may not be http.listen's own address.
 * (6) Media is decoded, hashed and rendered in helper processes (modq-media-sandbox) under an
 *     address-space limit (memory_mb more than a helper maps at start-up), a wall-clock deadline
 *     and a CPU-time limit per item, and a seccomp filter; a helper is replaced after max_items
 *     items. false decodes in the worker itself (for kernels without seccomp; weaker). helper ""
 *     resolves at load to modq-media-sandbox beside the running program when it is there, else
 *     to the installed /usr/libexec/modq/modq-media-sandbox.
 * (7) A fleet (docs/operations.md, "Scaling"): role prepare pods consume the queue topics in
 *     consumer.group_id and publish each ticket for review to topics.review; role desk pods form
 *     consumer.desk_group_id over topics.review, which has one partition: its owner is the one
 *     active desk, the others are warm standbys. all (the default) does both in one process.
 *     MODQ_WORKER_ROLE and `modq-worker --role` set it too.
 */
#include "config_impl.h"

#include <ctype.h>
#include <glib.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ENV_LIST_MAX (MODQ_CONFIG_MAX_HOSTS * HOST_MAX) /* bytes of a list variable */
#define KAFKA_PREFIX "MODQ_KAFKA_"

static const char *const result_text[MODQ_CONFIG_RESULT_COUNT] = {
    "success",
    "invalid argument",
    "out of memory",
    "the config file or a secret file could not be read",
    "the config file or a secret file is too large",
    "the config file is not well-formed YAML",
    "a setting is unknown, given twice or out of range",
};

const char *modq_config_strerror(modq_config_result r)
{
    if ((int)r < 0 || r >= MODQ_CONFIG_RESULT_COUNT) {
        return "unknown result";
    }
    return result_text[r];
}

void modq_config_free(modq_config *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; c->kafka != NULL && i < c->nkafka; i++) {
        config_kafka_prop_clear(&c->kafka[i]);
    }
    for (size_t i = 0; c->kfiles != NULL && i < c->nkfiles; i++) {
        MODQ_FREE_NULL(c->kfiles[i].name);
    }
    if (c->jwt_secret != NULL) {
        config_wipe(c->jwt_secret, c->jwt_secret_len);
    }
    MODQ_FREE_NULL(c->jwt_secret);
    MODQ_FREE_NULL(c->kafka);
    MODQ_FREE_NULL(c->kfiles);
    MODQ_FREE_NULL(c->banks);
    free(c);
}

/* "MODQ_KAFKA_SASL_MECHANISMS" -> "sasl.mechanisms" (from the text after the prefix). The two
 * librdkafka properties settable as text whose names have '_' keep it. */
static void kafka_env_to_name(const char *rest, size_t n, char *buf, size_t size)
{
    static const char *const underscored[] = {"log_level", "enabled_events"};
    size_t i = 0;
    for (; i < n && i + 1 < size; i++) {
        buf[i] = rest[i] == '_' ? '.' : (char)tolower((unsigned char)rest[i]);
    }
    buf[i] = '\0';
    for (size_t k = 0; k < sizeof underscored / sizeof underscored[0]; k++) {
        char dotted[32];
        snprintf(dotted, sizeof dotted, "%s", underscored[k]);
        dotted[strcspn(dotted, "_")] = '.';
        if (strcmp(buf, dotted) == 0) {
            snprintf(buf, size, "%s", underscored[k]);
        }
    }
}

/* MODQ_KAFKA_<REST>[_FILE]=value */
static modq_config_result env_kafka(load_ctx *c, const char *var, const char *value,
                                    const char *origin)
{
    char prop[MODQ_CONFIG_KAFKA_NAME_MAX + 8], key[MODQ_CONFIG_KAFKA_NAME_MAX + 32], msg[256];
    const char *rest = var + strlen(KAFKA_PREFIX);
    size_t n = strlen(rest);
    bool file = n > 5 && strcmp(rest + n - 5, "_FILE") == 0;
    if (file) {
        n -= 5;
    }
    kafka_env_to_name(rest, n, prop, sizeof prop);
    snprintf(key, sizeof key, "%s.%s", file ? "kafka_secret_files" : "kafka", prop);
    /* This form replaces the other form of the same property given in the file. */
    config_drop_file_layer(c->cfg, prop, !file);
    bool ok = file ? config_kfile_set(c->cfg, prop, value, origin, msg, sizeof msg)
                   : config_kafka_set(c->cfg, prop, value, false, origin, msg, sizeof msg);
    return ok ? MODQ_CONFIG_OK : config_fail(c, MODQ_CONFIG_ERR_INVALID, origin, key, "%s", msg);
}

/* A list key from "a, b,c": items trimmed of spaces; "" is the empty list. */
static modq_config_result env_list(load_ctx *c, const key_def *d, const char *value,
                                   const char *origin)
{
    char buf[ENV_LIST_MAX], msg[256];
    const char *items[MODQ_CONFIG_MAX_HOSTS];
    size_t n = 0, len = strlen(value);
    if (len >= sizeof buf) {
        return config_fail(c, MODQ_CONFIG_ERR_INVALID, origin, d->key, "longer than %zu bytes",
                           sizeof buf - 1);
    }
    memcpy(buf, value, len + 1);
    char *p = buf;
    while (len > 0 && *p != '\0') {
        char *comma = strchr(p, ',');
        char *end = comma != NULL ? comma : p + strlen(p);
        char *next = comma != NULL ? comma + 1 : end;
        while (p < end && isspace((unsigned char)*p)) {
            p++;
        }
        while (end > p && isspace((unsigned char)end[-1])) {
            end--;
        }
        *end = '\0';
        if (n == MODQ_CONFIG_MAX_HOSTS) {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, origin, d->key, "at most %d entries",
                               MODQ_CONFIG_MAX_HOSTS);
        }
        if (*p == '\0') {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, origin, d->key, "[%zu] is empty", n);
        }
        items[n++] = p;
        p = next;
        if (comma != NULL && *p == '\0') {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, origin, d->key, "[%zu] is empty", n);
        }
    }
    if (!config_set_list(c->cfg, d, items, n, msg, sizeof msg)) {
        return config_fail(c, MODQ_CONFIG_ERR_INVALID, origin, d->key, "%s", msg);
    }
    return MODQ_CONFIG_OK;
}

/*
 * The environment layer. MODQ_* variables that name no key are errors when their first word is
 * a section of ours (MODQ_MEDIA_MAX_PIXEL is a typo), and ignored otherwise (MODQ_SOURCE_DIR
 * belongs to the tests, not to us).
 */
static modq_config_result load_env(load_ctx *c, const char *const *envp)
{
    char var[ENV_NAME_MAX], origin[ORIGIN_MAX], section[SECTION_MAX], msg[256];
    for (const char *const *e = envp; e != NULL && *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        modq_config_result r = MODQ_CONFIG_OK;
        if (strncmp(*e, "MODQ_", 5) != 0 || eq == NULL) {
            continue;
        }
        size_t n = (size_t)(eq - *e);
        if (n >= sizeof var) {
            snprintf(origin, sizeof origin, "env %.40s...", *e);
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, origin, "?", "name too long");
        }
        memcpy(var, *e, n);
        var[n] = '\0';
        snprintf(origin, sizeof origin, "env %s", var);
        const key_def *d = config_key_find_env(var);
        size_t s = 0;
        while (s + 1 < sizeof section && var[5 + s] != '\0' && var[5 + s] != '_') {
            section[s] = (char)tolower((unsigned char)var[5 + s]);
            s++;
        }
        section[s] = '\0';
        bool kafka = strncmp(var, KAFKA_PREFIX, strlen(KAFKA_PREFIX)) == 0;
        /* The YAML layer is UTF-8 by definition (libyaml refuses anything else); the environment
         * is bytes, and a value that is not text could not even be printed by --check-config. */
        if ((kafka || d != NULL) && !g_utf8_validate(eq + 1, -1, NULL)) {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, origin, kafka ? "kafka" : d->key,
                               "not valid UTF-8");
        }
        if (kafka) {
            r = env_kafka(c, var, eq + 1, origin);
        } else if (d != NULL && config_key_is_list(d)) {
            r = env_list(c, d, eq + 1, origin);
        } else if (d != NULL) {
            if (!config_set_scalar(c->cfg, d, eq + 1, msg, sizeof msg)) {
                r = config_fail(c, MODQ_CONFIG_ERR_INVALID, origin, d->key, "%s", msg);
            }
        } else if (strcmp(section, "banks") == 0) {
            r = config_fail(c, MODQ_CONFIG_ERR_INVALID, origin, "banks",
                            "banks can only be set in the config file");
        } else if (config_section_known(section)) {
            r = config_fail(c, MODQ_CONFIG_ERR_INVALID, origin, section,
                            "no such key in this section");
        } else {
            continue;
        }
        if (r != MODQ_CONFIG_OK) {
            return r;
        }
        if (d != NULL) {
            snprintf(c->origin[d - config_key_at(0)], ORIGIN_MAX, "%s", origin);
        }
    }
    return MODQ_CONFIG_OK;
}

/* Where key was set (else where fallback was, else the file), for a message about it. */
static const char *origin_of(const load_ctx *c, const char *key, const char *fallback)
{
    const key_def *d = config_key_find(key);
    const char *o = d != NULL ? c->origin[d - config_key_at(0)] : "";
    if (o[0] == '\0' && fallback != NULL) {
        return origin_of(c, fallback, NULL);
    }
    return o[0] != '\0' ? o : c->name;
}

/* Reads every secret file: kafka ones become secret kafka properties. */
static modq_config_result read_secrets(load_ctx *c)
{
    modq_config *cfg = c->cfg;
    char msg[MODQ_CONFIG_PATH_MAX + 128], key[MODQ_CONFIG_KAFKA_NAME_MAX + 32];
    char *buf = NULL;
    size_t len = 0;
    modq_config_result r = MODQ_CONFIG_OK;
    for (size_t i = 0; i < cfg->nkfiles; i++) {
        const kafka_file *f = &cfg->kfiles[i];
        snprintf(key, sizeof key, "kafka_secret_files.%s", f->name);
        if (modq_config_kafka_get(cfg, f->name) != NULL) {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, f->origin, key,
                               "kafka.%s is given as well; give one of them", f->name);
        }
        if ((r = config_read_secret(f->path, true, &buf, &len, msg, sizeof msg)) !=
            MODQ_CONFIG_OK) {
            return config_fail(c, r, f->origin, key, "%s: %s", f->path, msg);
        }
        bool ok = len <= MODQ_CONFIG_KAFKA_VALUE_MAX &&
                  config_kafka_set(cfg, f->name, buf, true, f->origin, msg, sizeof msg);
        config_wipe(buf, len);
        MODQ_FREE_NULL(buf);
        if (!ok) {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, f->origin, key, "%s",
                               len > MODQ_CONFIG_KAFKA_VALUE_MAX ? "secret too long" : msg);
        }
    }
    if (cfg->jwt_secret_file[0] != '\0') {
        r = config_read_secret(cfg->jwt_secret_file, false, &buf, &len, msg, sizeof msg);
        if (r != MODQ_CONFIG_OK) {
            return config_fail(c, r, origin_of(c, "jwt.hs256_secret_file", NULL),
                               "jwt.hs256_secret_file", "%s: %s", cfg->jwt_secret_file, msg);
        }
        cfg->jwt_secret = (unsigned char *)buf;
        cfg->jwt_secret_len = len;
    }
    return MODQ_CONFIG_OK;
}

/* Every kafka property on a scratch librdkafka conf: unknown names and bad values fail now. */
static modq_config_result check_kafka(load_ctx *c)
{
    char err[512], key[MODQ_CONFIG_KAFKA_NAME_MAX + 16];
    modq_config_result r = MODQ_CONFIG_OK;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (conf == NULL) {
        return MODQ_CONFIG_ERR_NOMEM;
    }
    for (size_t i = 0; i < c->cfg->nkafka && r == MODQ_CONFIG_OK; i++) {
        const kafka_prop *p = &c->cfg->kafka[i];
        err[0] = '\0';
        if (rd_kafka_conf_set(conf, p->name, p->value, err, sizeof err) != RD_KAFKA_CONF_OK) {
            snprintf(key, sizeof key, "kafka.%s", p->name);
            /* librdkafka's message may quote the value: not for a secret. */
            r = config_fail(c, MODQ_CONFIG_ERR_INVALID, p->origin, key, "librdkafka: %s",
                            p->secret ? "invalid value (not shown: secret)" : err);
        }
    }
    rd_kafka_conf_destroy(conf);
    return r;
}

/* An algorithm needs its key material; none at all is left to the HTTP module (demo mode). */
static modq_config_result check_jwt(load_ctx *c)
{
    const modq_config *cfg = c->cfg;
    const char *k = "jwt.algorithms";
    if (!modq_config_jwt_configured(cfg)) {
        return MODQ_CONFIG_OK;
    }
    if ((cfg->jwt_algorithms & MODQ_CONFIG_JWT_HS256) && cfg->jwt_secret_file[0] == '\0') {
        const char *other =
            cfg->jwt_public_key_file[0] != '\0' ? "jwt.public_key_file" : "jwt.jwks_file";
        return config_fail(c, MODQ_CONFIG_ERR_INVALID, origin_of(c, k, other), k,
                           "HS256 needs jwt.hs256_secret_file");
    }
    if ((cfg->jwt_algorithms & (MODQ_CONFIG_JWT_RS256 | MODQ_CONFIG_JWT_ES256)) &&
        cfg->jwt_public_key_file[0] == '\0' && cfg->jwt_jwks_file[0] == '\0') {
        return config_fail(c, MODQ_CONFIG_ERR_INVALID, origin_of(c, k, "jwt.hs256_secret_file"), k,
                           "RS256 and ES256 need jwt.public_key_file or jwt.jwks_file");
    }
    return MODQ_CONFIG_OK;
}

/* The first of the candidates that exists, else the last. */
static void resolve_path(char *dst, size_t size, const char *local, const char *installed)
{
    if (dst[0] == '\0') {
        snprintf(dst, size, "%s", access(local, F_OK) == 0 ? local : installed);
    }
}

/* "" -> modq-media-sandbox beside the running program (a build tree, a tarball), else the
 * installed one. */
static void resolve_helper(char *dst, size_t size)
{
    char exe[MODQ_CONFIG_PATH_MAX], beside[MODQ_CONFIG_PATH_MAX + 32];
    ssize_t n;
    char *slash;

    if (dst[0] != '\0') {
        return;
    }
    beside[0] = '\0';
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        if ((slash = strrchr(exe, '/')) != NULL) {
            slash[1] = '\0';
            snprintf(beside, sizeof beside, "%smodq-media-sandbox", exe);
        }
    }
    if (beside[0] != '\0' && strlen(beside) < size && access(beside, X_OK) == 0) {
        snprintf(dst, size, "%s", beside);
    } else {
        snprintf(dst, size, "/usr/libexec/modq/modq-media-sandbox");
    }
}

/* http.probe_listen: "" is http.listen's host on any free port (a fixed port is the deployment's
 * to choose: the chart's probes use 8081); the two may not be one address. */
static modq_config_result resolve_probe_listen(load_ctx *c)
{
    modq_config *cfg = c->cfg;
    const char *k = "http.probe_listen";
    char text[TEXT_MAX + 8], msg[128];
    bool v6 = strchr(cfg->http_listen.host, ':') != NULL;

    if (cfg->probe_listen.text[0] == '\0') {
        snprintf(text, sizeof text, "%s%s%s:0", v6 ? "[" : "", cfg->http_listen.host,
                 v6 ? "]" : "");
        if (!config_set_scalar(cfg, config_key_find(k), text, msg, sizeof msg)) {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, origin_of(c, "http.listen", NULL), k,
                               "from http.listen: %s", msg);
        }
    }
    if (cfg->probe_listen.port != 0 && cfg->probe_listen.port == cfg->http_listen.port &&
        strcmp(cfg->probe_listen.host, cfg->http_listen.host) == 0) {
        return config_fail(c, MODQ_CONFIG_ERR_INVALID, origin_of(c, k, NULL), k,
                           "must differ from http.listen (%s)", cfg->http_listen.text);
    }
    return MODQ_CONFIG_OK;
}

/* The desk group and the ticket group are different groups: a desk pod in the ticket group would
 * take ticket partitions from the prepare pods, and the review topic's owner would not be
 * elected among desks alone. */
static modq_config_result check_fleet(load_ctx *c)
{
    const modq_config *cfg = c->cfg;
    const char *k = "consumer.desk_group_id";

    if (strcmp(cfg->desk_group_id, cfg->group_id) == 0) {
        return config_fail(c, MODQ_CONFIG_ERR_INVALID, origin_of(c, k, NULL), k,
                           "must differ from consumer.group_id (%s)", cfg->group_id);
    }
    return MODQ_CONFIG_OK;
}

static int compare_props(const void *a, const void *b)
{
    return strcmp(((const kafka_prop *)a)->name, ((const kafka_prop *)b)->name);
}

static modq_config_result finish(load_ctx *c)
{
    modq_config *cfg = c->cfg;
    modq_config_result r = MODQ_CONFIG_OK;
    if ((r = read_secrets(c)) != MODQ_CONFIG_OK || (r = check_jwt(c)) != MODQ_CONFIG_OK ||
        (r = check_kafka(c)) != MODQ_CONFIG_OK || (r = resolve_probe_listen(c)) != MODQ_CONFIG_OK ||
        (r = check_fleet(c)) != MODQ_CONFIG_OK) {
        return r;
    }
    if (cfg->worker_id[0] == '\0') {
        /* The pod name on Kubernetes. A hostname that is not a valid id falls back. */
        char host[256] = "";
        char msg[128];
        if (gethostname(host, sizeof host - 1) != 0 ||
            !config_set_scalar(cfg, config_key_find("worker.id"), host, msg, sizeof msg) ||
            cfg->worker_id[0] == '\0') {
            snprintf(cfg->worker_id, sizeof cfg->worker_id, "modq-worker");
        }
    }
    resolve_path(cfg->worker_policy, sizeof cfg->worker_policy, "policy/default.yaml",
                 "/usr/share/modq/default.yaml");
    resolve_path(cfg->static_dir, sizeof cfg->static_dir, "worker/web", "/usr/share/modq/web");
    resolve_helper(cfg->sandbox_helper, sizeof cfg->sandbox_helper);
    qsort(cfg->kafka, cfg->nkafka, sizeof cfg->kafka[0], compare_props);
    return MODQ_CONFIG_OK;
}

/* The three layers and the finish; buf NULL = no file. */
static modq_config_result load(const char *buf, size_t len, const char *name,
                               const char *const *envp, modq_config **out, char *errstr,
                               size_t errstr_size)
{
    load_ctx *c = NULL;
    modq_config *cfg = NULL;
    modq_config_result r = MODQ_CONFIG_OK;
    char msg[256];

    if (errstr != NULL && errstr_size > 0) {
        errstr[0] = '\0';
    }
    if (out == NULL) {
        return MODQ_CONFIG_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (config_key_count() > KEYS_MAX) {
        return MODQ_CONFIG_ERR_INVALID_ARG; /* a bug in the table: caught by every test */
    }
    /* The context holds a few KiB of origins: on the heap, not the stack. */
    if ((c = calloc(1, sizeof *c)) == NULL || (cfg = calloc(1, sizeof *cfg)) == NULL ||
        (cfg->kafka = calloc(MODQ_CONFIG_MAX_KAFKA, sizeof *cfg->kafka)) == NULL ||
        (cfg->kfiles = calloc(MODQ_CONFIG_MAX_KAFKA, sizeof *cfg->kfiles)) == NULL) {
        r = MODQ_CONFIG_ERR_NOMEM;
        goto out;
    }
    c->cfg = cfg;
    c->name = name != NULL ? name : "(defaults)";
    c->errstr = errstr;
    c->errstr_size = errstr_size;
    if (!config_set_defaults(cfg, msg, sizeof msg) ||
        !config_kafka_set(cfg, "bootstrap.servers", "localhost:9092", false, "(defaults)", msg,
                          sizeof msg)) {
        r = config_fail(c, MODQ_CONFIG_ERR_INVALID, "(defaults)", "?", "%s", msg);
        goto out;
    }
    if ((buf != NULL && (r = config_load_yaml(c, buf, len)) != MODQ_CONFIG_OK) ||
        (r = load_env(c, envp)) != MODQ_CONFIG_OK || (r = finish(c)) != MODQ_CONFIG_OK) {
        goto out;
    }
    *out = cfg;
    cfg = NULL;
out:
    modq_config_free(cfg);
    MODQ_FREE_NULL(c);
    return r;
}

modq_config_result modq_config_load_buffer(const char *buf, size_t len, const char *name,
                                           const char *const *envp, modq_config **out, char *errstr,
                                           size_t errstr_size)
{
    if (buf == NULL) {
        return MODQ_CONFIG_ERR_INVALID_ARG;
    }
    return load(buf, len, name != NULL ? name : "(config)", envp, out, errstr, errstr_size);
}

modq_config_result modq_config_load(const char *path, const char *const *envp, modq_config **out,
                                    char *errstr, size_t errstr_size)
{
    char *buf = NULL;
    size_t len = 0;
    char msg[MODQ_CONFIG_PATH_MAX + 128];
    modq_config_result r = MODQ_CONFIG_OK;
    if (path == NULL) {
        return load(NULL, 0, NULL, envp, out, errstr, errstr_size);
    }
    if (out != NULL) {
        *out = NULL;
    }
    r = config_read_capped(path, MODQ_CONFIG_MAX_FILE_BYTES, &buf, &len, msg, sizeof msg);
    if (r != MODQ_CONFIG_OK) {
        if (errstr != NULL && errstr_size > 0) {
            snprintf(errstr, errstr_size, "%s:1: %s", path, msg);
        }
        return r;
    }
    r = load(buf, len, path, envp, out, errstr, errstr_size);
    config_wipe(buf, len); /* the file may hold inline secrets */
    MODQ_FREE_NULL(buf);
    return r;
}
