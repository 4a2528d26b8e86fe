/*
 * config_keys.c: every scalar and list key of modq-worker's configuration, its default and its
 * range, and the checks that turn text (a YAML scalar or an environment variable) into a value.
 *
 * Defaults are written as text and go through the same checks as user values, so a default can
 * never be out of range. The key table for operators heads config.c.
 */
#include "config_impl.h"
#include "prepare/fetch.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OFF(field) offsetof(struct modq_config, field)
#define INT(k, f, l, h, d)                                                                         \
    {                                                                                              \
        .key = k, .type = KT_INT, .offset = OFF(f), .lo = l, .hi = h, .def = d                     \
    }
#define LISTEN(k, f, mn, d)                                                                        \
    {                                                                                              \
        .key = k, .type = KT_STR, .offset = OFF(f), .lo = mn, .hi = TEXT_MAX - 1,                  \
        .kind = SK_LISTEN, .def = d                                                                \
    }
#define STR(k, f, kd, mn, d)                                                                       \
    {                                                                                              \
        .key = k, .type = KT_STR, .offset = OFF(f), .lo = mn,                                      \
        .hi = (int64_t)sizeof(((struct modq_config *)0)->f) - 1, .kind = kd, .def = d              \
    }

static const key_def keys[] = {
    STR("worker.id", worker_id, SK_ID, 0, ""),
    STR("worker.policy", worker_policy, SK_PATH, 0, ""),
    INT("worker.grace_seconds", grace_seconds, 0, 3600, "30"),
    INT("worker.prepare_threads", prepare_threads, 1, 64, "2"),
    INT("worker.window_per_queue", window_per_queue, 1, 10000, "64"),
    {.key = "worker.demo", .type = KT_BOOL, .offset = OFF(demo), .def = "false"},
    {.key = "worker.role",
     .type = KT_ENUM,
     .offset = OFF(role),
     .choices = {"all", "prepare", "desk"},
     .def = "all"},
    STR("consumer.group_id", group_id, SK_ID, 1, "modq-worker"),
    STR("consumer.group_instance_id", group_instance_id, SK_ID, 0, ""),
    INT("consumer.metadata_cap_bytes", metadata_cap_bytes, 256, 3500, "3000"),
    STR("consumer.desk_group_id", desk_group_id, SK_ID, 1, "modq-desk"),
    STR("topics.decisions", topic_decisions, SK_TOPIC, 1, "modq.decisions"),
    STR("topics.wellbeing", topic_wellbeing, SK_TOPIC, 1, "modq.wellbeing"),
    STR("topics.audit", topic_audit, SK_TOPIC, 1, "modq.audit"),
    STR("topics.dead_letter", topic_dead_letter, SK_TOPIC, 1, "modq.dead-letter"),
    STR("topics.ledgers", topic_ledgers, SK_TOPIC, 1, "modq.ledgers"),
    STR("topics.review", topic_review, SK_TOPIC, 1, "modq.review"),
    INT("decided.retention_hours", retention_hours, 1, 8760, "168"),
    INT("decided.max_entries", decided_max_entries, 1000, 100000000, "1000000"),
    INT("decided.near_distance", near_distance, 0, 31, "16"),
    {.key = "decided.auto_verdicts",
     .type = KT_ENUMSET,
     .offset = OFF(auto_verdicts),
     .choices = {"no_violation", "remove", "restrict", "remove_and_report"},
     .shift = 1,
     .def = "remove,remove_and_report"},
    INT("media.max_input_bytes", max_input_bytes, 1, INT64_C(1073741824), "67108864"),
    INT("media.max_pixels", max_pixels, 1, INT64_C(2147483648), "100000000"),
    INT("media.max_side", max_side, 1, 100000, "20000"),
    INT("media.display_size", display_size, 16, 8192, "1024"),
    {.key = "media.format",
     .type = KT_ENUM,
     .offset = OFF(format),
     .choices = {"webp", "jpeg"},
     .def = "webp"},
    INT("media.quality", quality, 1, 100, "75"),
    INT("media.deadline_ms", deadline_ms, 1, 600000, "30000"),
    INT("media.max_jpeg_scans", max_jpeg_scans, 1, 10000, "50"),
    {.key = "sandbox.enabled", .type = KT_BOOL, .offset = OFF(sandbox_enabled), .def = "true"},
    STR("sandbox.helper", sandbox_helper, SK_PATH, 0, ""),
    INT("sandbox.memory_mb", sandbox_memory_mb, 64, 65536, "1024"),
    INT("sandbox.timeout_ms", sandbox_timeout_ms, 100, 600000, "45000"),
    INT("sandbox.cpu_seconds", sandbox_cpu_seconds, 1, 3600, "20"),
    INT("sandbox.max_items", sandbox_max_items, 1, 1000000, "500"),
    STR("fetch.file_root", file_root, SK_ABSPATH, 0, ""),
    {.key = "fetch.allowed_hosts", .type = KT_HOSTS, .offset = OFF(allowed_hosts), .def = ""},
    INT("fetch.max_bytes", fetch_max_bytes, 1, INT64_C(1073741824), "67108864"),
    INT("fetch.timeout_ms", fetch_timeout_ms, 100, 600000, "10000"),
    LISTEN("http.listen", http_listen, 1, "127.0.0.1:8080"),
    LISTEN("http.probe_listen", probe_listen, 0, ""),
    INT("http.lease_seconds", lease_seconds, 10, 86400, "600"),
    INT("http.threads", http_threads, 0, 64, "0"),
    INT("http.max_connections", max_connections, 64, 65536, "1024"),
    INT("http.per_ip_connections", per_ip_connections, 0, 65536, "256"),
    INT("http.request_timeout_seconds", request_timeout_seconds, 1, 3600, "20"),
    {.key = "http.qa_sample_rate",
     .type = KT_DOUBLE,
     .offset = OFF(qa_sample_rate),
     .dlo = 0.0,
     .dhi = 1.0,
     .def = "0.05"},
    STR("http.static_dir", static_dir, SK_PATH, 0, ""),
    STR("jwt.hs256_secret_file", jwt_secret_file, SK_PATH, 0, ""),
    STR("jwt.public_key_file", jwt_public_key_file, SK_PATH, 0, ""),
    STR("jwt.jwks_file", jwt_jwks_file, SK_PATH, 0, ""),
    STR("jwt.issuer", jwt_issuer, SK_TEXT, 0, ""),
    STR("jwt.audience", jwt_audience, SK_TEXT, 0, ""),
    {.key = "jwt.algorithms",
     .type = KT_ENUMSET,
     .offset = OFF(jwt_algorithms),
     .lo = 1,
     .choices = {"HS256", "RS256", "ES256"},
     .def = "HS256"},
    {.key = "log.level",
     .type = KT_ENUM,
     .offset = OFF(log_level),
     .choices = {"debug", "info", "warn", "error"},
     .def = "info"},
};

#define NKEYS (sizeof keys / sizeof keys[0])

size_t config_key_count(void)
{
    return NKEYS;
}

const key_def *config_key_at(size_t i)
{
    return i < NKEYS ? &keys[i] : NULL;
}

const key_def *config_key_find(const char *key)
{
    for (size_t i = 0; key != NULL && i < NKEYS; i++) {
        if (strcmp(keys[i].key, key) == 0) {
            return &keys[i];
        }
    }
    return NULL;
}

void config_env_name(const key_def *d, char *buf, size_t size)
{
    int n = snprintf(buf, size, "MODQ_");
    for (const char *p = d->key; n >= 0 && (size_t)n + 1 < size && *p != '\0'; p++, n++) {
        buf[n] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
        buf[n + 1] = '\0';
    }
}

const key_def *config_key_find_env(const char *env_name)
{
    char buf[96];
    for (size_t i = 0; env_name != NULL && i < NKEYS; i++) {
        config_env_name(&keys[i], buf, sizeof buf);
        if (strcmp(buf, env_name) == 0) {
            return &keys[i];
        }
    }
    return NULL;
}

bool config_section_known(const char *section)
{
    size_t n = strlen(section);
    for (size_t i = 0; i < NKEYS; i++) {
        if (strncmp(keys[i].key, section, n) == 0 && keys[i].key[n] == '.') {
            return true;
        }
    }
    return false;
}

bool config_key_is_list(const key_def *d)
{
    return d->type == KT_ENUMSET || d->type == KT_HOSTS;
}

static const char *const verdict_names[] = {NULL, "no_violation", "remove", "restrict",
                                            "remove_and_report"};

int config_verdict_parse(const char *s)
{
    for (int v = 1; s != NULL && v <= MODQ_CONFIG_VERDICT_REMOVE_AND_REPORT; v++) {
        if (strcmp(s, verdict_names[v]) == 0) {
            return v;
        }
    }
    return -1;
}

const char *config_verdict_name(int v)
{
    return v >= 1 && v <= MODQ_CONFIG_VERDICT_REMOVE_AND_REPORT ? verdict_names[v] : NULL;
}

bool config_name_ok(const char *s, size_t size)
{
    size_t n = strlen(s);
    if (n == 0 || n >= size) {
        return false;
    }
    for (const char *p = s; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')) {
            return false;
        }
    }
    return true;
}

static bool id_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '.' || ch == '_' || ch == '-';
}

/* HOST:PORT with HOST a name or IPv4 address, or [IPv6]:PORT; fills a's host and port. */
static bool set_listen(listen_addr *a, const char *s, char *msg, size_t msg_size)
{
    const char *colon = strrchr(s, ':');
    const char *h = s, *hend = colon;
    int64_t port = 0;
    if (colon == NULL) {
        snprintf(msg, msg_size, "must be HOST:PORT or [IPV6]:PORT");
        return false;
    }
    if (*s == '[') {
        h = s + 1;
        if (colon == s || colon[-1] != ']') {
            snprintf(msg, msg_size, "must be HOST:PORT or [IPV6]:PORT");
            return false;
        }
        hend = colon - 1;
    }
    if (hend <= h) {
        snprintf(msg, msg_size, "has no host");
        return false;
    }
    for (const char *p = h; p < hend; p++) {
        bool ok = *s == '[' ? (isxdigit((unsigned char)*p) || *p == ':' || *p == '.')
                            : (isalnum((unsigned char)*p) || *p == '.' || *p == '-');
        if (!ok) {
            snprintf(msg, msg_size, "host has a character outside %s",
                     *s == '[' ? "[0-9a-fA-F:.]" : "[A-Za-z0-9.-]");
            return false;
        }
    }
    /* Digits only; port 0 asks for any free port. */
    if (!isdigit((unsigned char)colon[1]) || !modq_parse_int64(colon + 1, 0, 65535, &port)) {
        snprintf(msg, msg_size, "port must be an integer between 0 and 65535");
        return false;
    }
    memcpy(a->host, h, (size_t)(hend - h));
    a->host[hend - h] = '\0';
    a->port = (int)port;
    return true;
}

static bool check_str(modq_config *c, const key_def *d, const char *s, char *msg, size_t msg_size)
{
    size_t n = strlen(s);
    if (n > (size_t)d->hi) {
        snprintf(msg, msg_size, "must be at most %lld bytes", (long long)d->hi);
        return false;
    }
    if (n < (size_t)d->lo) {
        snprintf(msg, msg_size, "must not be empty");
        return false;
    }
    for (const char *p = s; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        bool ok = ch >= 0x20 && ch != 0x7f;
        if (d->kind == SK_TEXT) {
            ok = ok && ch < 0x7f;
        } else if (d->kind == SK_ID || d->kind == SK_TOPIC) {
            ok = id_char(*p);
        }
        if (!ok) {
            snprintf(msg, msg_size, "has a character outside %s",
                     d->kind == SK_TEXT                        ? "printable ASCII"
                     : d->kind == SK_ID || d->kind == SK_TOPIC ? "[A-Za-z0-9._-]"
                                                               : "printable characters");
            return false;
        }
    }
    if (d->kind == SK_TOPIC && (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)) {
        snprintf(msg, msg_size, "'.' and '..' are not valid topic names");
        return false;
    }
    if (d->kind == SK_ABSPATH && n > 0 && s[0] != '/') {
        snprintf(msg, msg_size, "must be an absolute path (or empty to disable)");
        return false;
    }
    if (d->kind == SK_LISTEN) {
        listen_addr *a = (listen_addr *)(void *)((char *)c + d->offset);
        /* An empty one (allowed only where lo is 0) is resolved at load. */
        if (n > 0 && !set_listen(a, s, msg, msg_size)) {
            return false;
        }
        if (n == 0) {
            a->host[0] = '\0';
            a->port = 0;
        }
    }
    memcpy((char *)c + d->offset, s, n + 1);
    return true;
}

static int choice_index(const key_def *d, const char *s)
{
    for (int i = 0; i < ENUM_MAX && d->choices[i] != NULL; i++) {
        if (strcmp(s, d->choices[i]) == 0) {
            return i;
        }
    }
    return -1;
}

/* "a, b, c" into buf: the names a message offers. */
static void choice_list(const key_def *d, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < ENUM_MAX && d->choices[i] != NULL && o < size; i++) {
        int n = snprintf(buf + o, size - o, "%s%s", i ? ", " : "", d->choices[i]);
        o += n > 0 ? (size_t)n : 0;
    }
}

bool config_set_scalar(modq_config *c, const key_def *d, const char *text, char *msg,
                       size_t msg_size)
{
    char *end = NULL;
    char names[128];
    switch (d->type) {
    case KT_INT: {
        /* Leading zeros are refused: YAML 1.1 reads 010 as octal, a person as ten. */
        const char *t = text[0] == '-' ? text + 1 : text;
        bool digits = isdigit((unsigned char)t[0]) && (t[0] != '0' || t[1] == '\0');
        int64_t v = 0;
        if (!digits || !modq_parse_int64(text, d->lo, d->hi, &v)) {
            snprintf(msg, msg_size, "must be an integer between %lld and %lld", (long long)d->lo,
                     (long long)d->hi);
            return false;
        }
        memcpy((char *)c + d->offset, &v, sizeof v);
        return true;
    }
    case KT_DOUBLE: {
        errno = 0;
        bool ok = isdigit((unsigned char)text[0]) || text[0] == '.' ||
                  (text[0] == '-' && text[1] != '\0');
        double v = ok ? strtod(text, &end) : 0.0;
        if (!ok || errno != 0 || *end != '\0' || !isfinite(v) || v < d->dlo || v > d->dhi) {
            snprintf(msg, msg_size, "must be a number between %g and %g", d->dlo, d->dhi);
            return false;
        }
        memcpy((char *)c + d->offset, &v, sizeof v);
        return true;
    }
    case KT_BOOL: {
        bool v = strcmp(text, "true") == 0;
        if (!v && strcmp(text, "false") != 0) {
            snprintf(msg, msg_size, "must be true or false");
            return false;
        }
        memcpy((char *)c + d->offset, &v, sizeof v);
        return true;
    }
    case KT_STR:
        return check_str(c, d, text, msg, msg_size);
    case KT_ENUM: {
        int i = choice_index(d, text);
        if (i < 0) {
            choice_list(d, names, sizeof names);
            snprintf(msg, msg_size, "must be one of: %s", names);
            return false;
        }
        memcpy((char *)c + d->offset, &i, sizeof i);
        return true;
    }
    case KT_ENUMSET:
    case KT_HOSTS:
        snprintf(msg, msg_size, "must be a list");
        return false;
    }
    snprintf(msg, msg_size, "has an unknown type");
    return false;
}

bool config_set_list(modq_config *c, const key_def *d, const char *const *items, size_t n,
                     char *msg, size_t msg_size)
{
    char names[128];
    if (d->type == KT_HOSTS) {
        host_list hl = {0};
        if (n > MODQ_CONFIG_MAX_HOSTS) {
            snprintf(msg, msg_size, "at most %d entries", MODQ_CONFIG_MAX_HOSTS);
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            char why[160] = "";
            if (strlen(items[i]) >= HOST_MAX ||
                modq_fetch_check_allowed_host(items[i], why, sizeof why) != MODQ_FETCH_OK) {
                snprintf(msg, msg_size, "[%zu] %s", i,
                         why[0] != '\0' ? why : "must be host[:port]");
                return false;
            }
            /* Hosts compare case-insensitively; store them lowercase so lookups need not. */
            for (size_t k = 0; items[i][k] != '\0'; k++) {
                hl.item[i][k] = (char)tolower((unsigned char)items[i][k]);
            }
        }
        hl.n = n;
        memcpy((char *)c + d->offset, &hl, sizeof hl);
        return true;
    }
    if (d->type != KT_ENUMSET) {
        snprintf(msg, msg_size, "must be a single value, not a list");
        return false;
    }
    unsigned bits = 0;
    choice_list(d, names, sizeof names);
    for (size_t i = 0; i < n; i++) {
        int k = choice_index(d, items[i]);
        if (k < 0 && strcmp(d->key, "jwt.algorithms") == 0 && strcasecmp(items[i], "none") == 0) {
            snprintf(msg, msg_size, "[%zu] 'none' is never accepted: tokens must be signed", i);
            return false;
        }
        if (k < 0) {
            snprintf(msg, msg_size, "[%zu] must be one of: %s", i, names);
            return false;
        }
        if (bits & (1u << ((unsigned)k + d->shift))) {
            snprintf(msg, msg_size, "[%zu] '%s' is listed twice", i, d->choices[k]);
            return false;
        }
        bits |= 1u << ((unsigned)k + d->shift);
    }
    if (n < (size_t)d->lo) {
        snprintf(msg, msg_size, "must list at least one of: %s", names);
        return false;
    }
    memcpy((char *)c + d->offset, &bits, sizeof bits);
    return true;
}

/* Splits a comma-separated default into items (at most ENUM_MAX) and sets it. */
static bool set_default_list(modq_config *c, const key_def *d, char *msg, size_t msg_size)
{
    char buf[128];
    const char *items[ENUM_MAX];
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", d->def);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL && n < ENUM_MAX;
         t = strtok_r(NULL, ",", &save)) {
        items[n++] = t;
    }
    return config_set_list(c, d, items, n, msg, msg_size);
}

bool config_set_defaults(modq_config *c, char *msg, size_t msg_size)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const key_def *d = &keys[i];
        bool ok = config_key_is_list(d) ? set_default_list(c, d, msg, msg_size)
                                        : config_set_scalar(c, d, d->def, msg, msg_size);
        if (!ok) {
            return false;
        }
    }
    return true;
}

json_t *config_key_json(const modq_config *c, const key_def *d)
{
    const char *base = (const char *)c + d->offset;
    switch (d->type) {
    case KT_INT: {
        int64_t v;
        memcpy(&v, base, sizeof v);
        return json_integer((json_int_t)v);
    }
    case KT_DOUBLE: {
        double v;
        memcpy(&v, base, sizeof v);
        return json_real(v);
    }
    case KT_BOOL: {
        bool v;
        memcpy(&v, base, sizeof v);
        return json_boolean(v);
    }
    case KT_STR:
        return json_string(base);
    case KT_ENUM: {
        int v;
        memcpy(&v, base, sizeof v);
        return json_string(d->choices[v]);
    }
    case KT_ENUMSET: {
        unsigned bits;
        json_t *a = json_array();
        memcpy(&bits, base, sizeof bits);
        for (int i = 0; a != NULL && i < ENUM_MAX && d->choices[i] != NULL; i++) {
            if ((bits & (1u << ((unsigned)i + d->shift))) &&
                json_array_append_new(a, json_string(d->choices[i])) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case KT_HOSTS: {
        const host_list *hl = (const host_list *)(const void *)base;
        json_t *a = json_array();
        for (size_t i = 0; a != NULL && i < hl->n; i++) {
            if (json_array_append_new(a, json_string(hl->item[i])) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    }
    return NULL;
}
