/*
 * config_load.c: the YAML layer of modq-worker's configuration, and what every layer shares:
 * error messages with their origin, the kafka property and secret-file tables, reading capped
 * files. config.c runs the layers in order and finishes the result.
 *
 * As with the policy file (policy/policy_load.c), the common YAML walker (common/modq_yaml.h)
 * loads the file as exactly one document, keeping each node's line, and this file walks it against
 * the key table; unknown and duplicate keys are errors, and the first error wins. Only kafka: and
 * kafka_secret_files: are free-form.
 */
#include "config_impl.h"

#include "modq_yaml.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Formats "ORIGIN: key 'KEY': message" into the caller's buffer; returns r. */
modq_config_result config_fail(const load_ctx *c, modq_config_result r, const char *origin,
                               const char *key, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->errstr != NULL && c->errstr_size > 0) {
        snprintf(c->errstr, c->errstr_size, "%s: key '%s': %s", origin, key, msg);
    }
    return r;
}

static size_t key_index(const key_def *d)
{
    return (size_t)(d - config_key_at(0));
}

void config_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n-- > 0) {
        *v++ = 0;
    }
}

bool config_kafka_name_secret(const char *name)
{
    return strstr(name, "password") != NULL || strstr(name, "secret") != NULL ||
           strstr(name, "key.pem") != NULL || strcmp(name, "ssl_key") == 0 ||
           strcmp(name, "sasl.oauthbearer.config") == 0;
}

/* librdkafka names: lowercase, digits, dots, and a few with '_' or '-'. */
static bool kafka_name_ok(const char *name, char *msg, size_t msg_size)
{
    static const char *const owned[] = {"group.id", "group.instance.id", "enable.auto.commit",
                                        "enable.auto.offset.store"};
    size_t n = strlen(name);
    if (n == 0 || n >= MODQ_CONFIG_KAFKA_NAME_MAX || name[0] == '.' || name[n - 1] == '.') {
        snprintf(msg, msg_size, "must be a librdkafka property name of 1..%d bytes",
                 MODQ_CONFIG_KAFKA_NAME_MAX - 1);
        return false;
    }
    for (const char *p = name; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
              *p == '-')) {
            snprintf(msg, msg_size, "property name has a character outside [a-z0-9._-]");
            return false;
        }
    }
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
        if (strcmp(name, owned[i]) == 0) {
            snprintf(msg, msg_size, "is set by the worker%s", i < 2 ? " (use consumer.*)" : "");
            return false;
        }
    }
    return true;
}

void config_kafka_prop_clear(kafka_prop *p)
{
    if (p->value != NULL && p->secret) {
        config_wipe(p->value, strlen(p->value));
    }
    MODQ_FREE_NULL(p->name);
    MODQ_FREE_NULL(p->value);
}

bool config_kafka_set(modq_config *c, const char *name, const char *value, bool from_file,
                      const char *origin, char *msg, size_t msg_size)
{
    size_t i = 0;
    char *v = NULL;
    if (!kafka_name_ok(name, msg, msg_size)) {
        return false;
    }
    size_t vlen = strlen(value);
    if (vlen == 0 || vlen > MODQ_CONFIG_KAFKA_VALUE_MAX) {
        snprintf(msg, msg_size, "value must be 1..%d bytes", MODQ_CONFIG_KAFKA_VALUE_MAX);
        return false;
    }
    while (i < c->nkafka && strcmp(c->kafka[i].name, name) != 0) {
        i++;
    }
    if (i == c->nkafka && c->nkafka == MODQ_CONFIG_MAX_KAFKA) {
        snprintf(msg, msg_size, "more than %d kafka properties", MODQ_CONFIG_MAX_KAFKA);
        return false;
    }
    if ((v = strdup(value)) == NULL) {
        snprintf(msg, msg_size, "out of memory");
        return false;
    }
    if (i == c->nkafka) {
        if ((c->kafka[i].name = strdup(name)) == NULL) {
            MODQ_FREE_NULL(v);
            snprintf(msg, msg_size, "out of memory");
            return false;
        }
        c->nkafka++;
    } else if (c->kafka[i].value != NULL) {
        if (c->kafka[i].secret) {
            config_wipe(c->kafka[i].value, strlen(c->kafka[i].value));
        }
        MODQ_FREE_NULL(c->kafka[i].value);
    }
    c->kafka[i].value = v;
    c->kafka[i].from_file = from_file;
    c->kafka[i].secret = from_file || config_kafka_name_secret(name);
    snprintf(c->kafka[i].origin, sizeof c->kafka[i].origin, "%s", origin);
    return true;
}

bool config_kfile_set(modq_config *c, const char *name, const char *path, const char *origin,
                      char *msg, size_t msg_size)
{
    size_t i = 0;
    if (!kafka_name_ok(name, msg, msg_size)) {
        return false;
    }
    size_t n = strlen(path);
    if (n == 0 || n >= MODQ_CONFIG_PATH_MAX) {
        snprintf(msg, msg_size, "must be a path of 1..%d bytes", MODQ_CONFIG_PATH_MAX - 1);
        return false;
    }
    while (i < c->nkfiles && strcmp(c->kfiles[i].name, name) != 0) {
        i++;
    }
    if (i == c->nkfiles) {
        if (c->nkfiles == MODQ_CONFIG_MAX_KAFKA) {
            snprintf(msg, msg_size, "more than %d secret files", MODQ_CONFIG_MAX_KAFKA);
            return false;
        }
        if ((c->kfiles[i].name = strdup(name)) == NULL) {
            snprintf(msg, msg_size, "out of memory");
            return false;
        }
        c->nkfiles++;
    }
    memcpy(c->kfiles[i].path, path, n + 1);
    snprintf(c->kfiles[i].origin, sizeof c->kfiles[i].origin, "%s", origin);
    return true;
}

/* A value in one form from the environment replaces the other form from the file. */
void config_drop_file_layer(modq_config *c, const char *name, bool files)
{
    size_t n = files ? c->nkfiles : c->nkafka;
    for (size_t i = 0; i < n; i++) {
        const char *nm = files ? c->kfiles[i].name : c->kafka[i].name;
        const char *org = files ? c->kfiles[i].origin : c->kafka[i].origin;
        if (strcmp(nm, name) != 0 || strncmp(org, "env ", 4) == 0) {
            continue;
        }
        if (files) {
            MODQ_FREE_NULL(c->kfiles[i].name);
            memmove(&c->kfiles[i], &c->kfiles[i + 1], (n - i - 1) * sizeof c->kfiles[0]);
            c->nkfiles--;
        } else {
            config_kafka_prop_clear(&c->kafka[i]);
            memmove(&c->kafka[i], &c->kafka[i + 1], (n - i - 1) * sizeof c->kafka[0]);
            c->nkafka--;
        }
        return;
    }
}

modq_config_result config_read_capped(const char *path, size_t cap, char **out, size_t *len,
                                      char *msg, size_t msg_size)
{
    FILE *f = NULL;
    char *buf = NULL;
    modq_config_result r = MODQ_CONFIG_OK;
    *out = NULL;
    *len = 0;
    if ((f = fopen(path, "rb")) == NULL) {
        snprintf(msg, msg_size, "cannot open: %s", strerror(errno));
        return MODQ_CONFIG_ERR_IO;
    }
    /* One byte over the cap tells "too large" apart from "exactly at the cap". */
    if ((buf = malloc(cap + 2)) == NULL) {
        r = MODQ_CONFIG_ERR_NOMEM;
        goto out;
    }
    *len = fread(buf, 1, cap + 1, f);
    if (ferror(f)) {
        snprintf(msg, msg_size, "cannot read: %s", strerror(errno));
        r = MODQ_CONFIG_ERR_IO;
        goto out;
    }
    if (*len > cap) {
        snprintf(msg, msg_size, "larger than %zu bytes", cap);
        r = MODQ_CONFIG_ERR_TOO_LARGE;
        goto out;
    }
    buf[*len] = '\0';
    *out = buf;
    buf = NULL;
out:
    if (buf != NULL) {
        config_wipe(buf, cap + 2);
    }
    MODQ_FREE_NULL(buf);
    fclose(f);
    return r;
}

modq_config_result config_read_secret(const char *path, bool text, char **out, size_t *len,
                                      char *msg, size_t msg_size)
{
    modq_config_result r =
        config_read_capped(path, MODQ_CONFIG_MAX_SECRET_BYTES, out, len, msg, msg_size);
    if (r != MODQ_CONFIG_OK) {
        return r;
    }
    while (*len > 0 && ((*out)[*len - 1] == '\n' || (*out)[*len - 1] == '\r')) {
        (*out)[--*len] = '\0';
    }
    if (*len == 0 || (text && memchr(*out, '\0', *len) != NULL)) {
        snprintf(msg, msg_size, "empty%s", text ? " or holds a NUL byte" : "");
        config_wipe(*out, *len);
        MODQ_FREE_NULL(*out);
        return MODQ_CONFIG_ERR_INVALID;
    }
    return MODQ_CONFIG_OK;
}

/* ---- the YAML layer ------------------------------------------------------------------------ */

static modq_yaml_result load_list(modq_yaml *w, load_ctx *c, const key_def *d, yaml_node_t *v)
{
    const char *items[MODQ_CONFIG_MAX_HOSTS];
    char msg[256];
    size_t n = 0;
    if (!modq_yaml_blank(v)) {
        if (v->type != YAML_SEQUENCE_NODE) {
            return modq_yaml_fail(w, v, d->key, "must be a list");
        }
        n = modq_yaml_count(v);
        if (n > MODQ_CONFIG_MAX_HOSTS) {
            return modq_yaml_fail(w, v, d->key, "at most %d entries", MODQ_CONFIG_MAX_HOSTS);
        }
        for (size_t i = 0; i < n; i++) {
            yaml_node_t *it = modq_yaml_item(w, v, i);
            if ((items[i] = modq_yaml_scalar(it)) == NULL) {
                return modq_yaml_fail(w, it, d->key, "[%zu] must be a single value", i);
            }
        }
    }
    if (!config_set_list(c->cfg, d, items, n, msg, sizeof msg)) {
        return modq_yaml_fail(w, v, d->key, "%s", msg);
    }
    return MODQ_YAML_OK;
}

/* One key of a section ("media.quality"), a key of the table; the walker refused repeats. */
static modq_yaml_result load_key(modq_yaml *w, const modq_yaml_pair *pair, void *ctx)
{
    load_ctx *c = ctx;
    char name[128], msg[256];
    const char *text = modq_yaml_scalar(pair->value);
    modq_yaml_result r = MODQ_YAML_OK;
    snprintf(name, sizeof name, "%s.%s", pair->parent, pair->key);
    const key_def *d = config_key_find(name);
    if (d == NULL) {
        return modq_yaml_fail(w, pair->key_node, pair->path, "unknown key");
    }
    if (config_key_is_list(d)) {
        r = load_list(w, c, d, pair->value);
    } else if (text == NULL) {
        r = modq_yaml_fail(w, pair->value, pair->path, "must be a single value");
    } else if (!config_set_scalar(c->cfg, d, text, msg, sizeof msg)) {
        r = modq_yaml_fail(w, pair->value, pair->path, "%s", msg);
    }
    if (r == MODQ_YAML_OK) {
        modq_yaml_where(w, pair->value, c->origin[key_index(d)], ORIGIN_MAX);
    }
    return r;
}

/* A property of kafka: (files false) or kafka_secret_files: (files true). */
static modq_yaml_result kafka_entry(modq_yaml *w, const modq_yaml_pair *pair, load_ctx *c,
                                    bool files)
{
    char where[ORIGIN_MAX], msg[256];
    const char *value = modq_yaml_scalar(pair->value);
    if (value == NULL) {
        /* Not echoed: the value may be a secret. */
        return modq_yaml_fail(w, pair->value, pair->path,
                              "must be a string, number or boolean (write nested names with dots)");
    }
    modq_yaml_where(w, pair->value, where, sizeof where);
    bool ok = files ? config_kfile_set(c->cfg, pair->key, value, where, msg, sizeof msg)
                    : config_kafka_set(c->cfg, pair->key, value, false, where, msg, sizeof msg);
    return ok ? MODQ_YAML_OK : modq_yaml_fail(w, pair->value, pair->path, "%s", msg);
}

static modq_yaml_result visit_kafka_value(modq_yaml *w, const modq_yaml_pair *pair, void *ctx)
{
    return kafka_entry(w, pair, ctx, false);
}

static modq_yaml_result visit_kafka_file(modq_yaml *w, const modq_yaml_pair *pair, void *ctx)
{
    return kafka_entry(w, pair, ctx, true);
}

/* kafka: or kafka_secret_files:, maps of property -> text; the walk ends at the first property
 * past the table's cap (config_kafka_set), which bounds the walker's check for repeats. */
static modq_yaml_result load_kafka(modq_yaml *w, load_ctx *c, const modq_yaml_pair *section,
                                   bool files)
{
    if (modq_yaml_blank(section->value)) {
        return MODQ_YAML_OK;
    }
    if (section->value->type != YAML_MAPPING_NODE) {
        return modq_yaml_fail(w, section->value, section->path,
                              "must be a mapping of librdkafka property names to values");
    }
    return modq_yaml_pairs(w, section->value, section->path,
                           files ? visit_kafka_file : visit_kafka_value, c);
}

static modq_yaml_result bank_name(modq_yaml *w, modq_config *cfg, yaml_node_t *v, const char *field,
                                  size_t idx)
{
    bank_cfg *b = &cfg->banks[idx];
    const char *s = modq_yaml_scalar(v);
    if (s == NULL || !config_name_ok(s, sizeof b->name)) {
        return modq_yaml_fail(w, v, field, "must be 1..%zu characters of [a-z0-9_-]",
                              sizeof b->name - 1);
    }
    memcpy(b->name, s, strlen(s) + 1);
    for (size_t j = 0; j < idx; j++) {
        if (strcmp(cfg->banks[j].name, b->name) == 0) {
            return modq_yaml_fail(w, v, field, "'%s' is already banks[%zu]", b->name, j);
        }
    }
    return MODQ_YAML_OK;
}

static modq_yaml_result bank_file(modq_yaml *w, yaml_node_t *v, const char *field, bank_cfg *b)
{
    const char *s = modq_yaml_scalar(v);
    if (s == NULL || *s == '\0' || strlen(s) >= sizeof b->file) {
        return modq_yaml_fail(w, v, field, "must be a path of 1..%zu bytes", sizeof b->file - 1);
    }
    memcpy(b->file, s, strlen(s) + 1);
    return MODQ_YAML_OK;
}

static modq_yaml_result bank_verdict(modq_yaml *w, yaml_node_t *v, const char *field, bank_cfg *b)
{
    if ((b->verdict = config_verdict_parse(modq_yaml_scalar(v))) < 0) {
        return modq_yaml_fail(w, v, field,
                              "must be one of: no_violation, remove, restrict, remove_and_report");
    }
    return MODQ_YAML_OK;
}

/* labels: optional; absent or blank is none. */
static modq_yaml_result bank_labels(modq_yaml *w, yaml_node_t *v, const char *field, bank_cfg *b)
{
    if (v == NULL || modq_yaml_blank(v)) {
        return MODQ_YAML_OK;
    }
    size_t n = v->type == YAML_SEQUENCE_NODE ? modq_yaml_count(v) : MODQ_CONFIG_MAX_LABELS + 1;
    if (n > MODQ_CONFIG_MAX_LABELS) {
        return modq_yaml_fail(w, v, field, "must be a list of at most %d labels",
                              MODQ_CONFIG_MAX_LABELS);
    }
    for (size_t j = 0; j < n; j++) {
        yaml_node_t *it = modq_yaml_item(w, v, j);
        const char *s = modq_yaml_scalar(it);
        if (s == NULL || !config_name_ok(s, MODQ_CONFIG_NAME_MAX)) {
            return modq_yaml_fail(w, it, field, "[%zu] must be 1..%d characters of [a-z0-9_-]", j,
                                  MODQ_CONFIG_NAME_MAX - 1);
        }
        memcpy(b->labels[j], s, strlen(s) + 1);
    }
    b->nlabels = n;
    return MODQ_YAML_OK;
}

/* pdq_threshold: optional, the PDQ default when absent. */
static modq_yaml_result bank_pdq(modq_yaml *w, yaml_node_t *v, const char *field, bank_cfg *b)
{
    b->pdq_threshold = MODQ_PDQ_DEFAULT_THRESHOLD;
    return v == NULL ? MODQ_YAML_OK
                     : modq_yaml_int(w, v, field, 0, MODQ_PDQ_INDEX_MAX_RADIUS, &b->pdq_threshold);
}

static modq_yaml_result load_bank(modq_yaml *w, load_ctx *c, yaml_node_t *map, size_t idx)
{
    static const modq_yaml_key keys[] = {{"name", true},
                                         {"file", true},
                                         {"verdict", true},
                                         {"labels", false},
                                         {"pdq_threshold", false}};
    yaml_node_t *v[MODQ_YAML_NKEYS(keys)];
    char path[32], field[64];
    bank_cfg *b = &c->cfg->banks[idx];
    snprintf(path, sizeof path, "banks[%zu]", idx);
    modq_yaml_result r = modq_yaml_map(w, map, path, keys, MODQ_YAML_NKEYS(keys), v);
    if (r != MODQ_YAML_OK ||
        (r = bank_name(w, c->cfg, v[0], modq_yaml_path(field, sizeof field, path, "name"), idx)) !=
            MODQ_YAML_OK ||
        (r = bank_file(w, v[1], modq_yaml_path(field, sizeof field, path, "file"), b)) !=
            MODQ_YAML_OK ||
        (r = bank_verdict(w, v[2], modq_yaml_path(field, sizeof field, path, "verdict"), b)) !=
            MODQ_YAML_OK ||
        (r = bank_labels(w, v[3], modq_yaml_path(field, sizeof field, path, "labels"), b)) !=
            MODQ_YAML_OK) {
        return r;
    }
    return bank_pdq(w, v[4], modq_yaml_path(field, sizeof field, path, "pdq_threshold"), b);
}

static modq_yaml_result load_banks(modq_yaml *w, load_ctx *c, yaml_node_t *seq)
{
    if (modq_yaml_blank(seq)) {
        return MODQ_YAML_OK;
    }
    size_t n = modq_yaml_count(seq);
    if (seq->type != YAML_SEQUENCE_NODE || n > MODQ_CONFIG_MAX_BANKS) {
        return modq_yaml_fail(w, seq, "banks", "must be a list of at most %d banks",
                              MODQ_CONFIG_MAX_BANKS);
    }
    if (n == 0) {
        return MODQ_YAML_OK;
    }
    if ((c->cfg->banks = calloc(n, sizeof *c->cfg->banks)) == NULL) {
        return MODQ_YAML_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        modq_yaml_result r = load_bank(w, c, modq_yaml_item(w, seq, i), i);
        if (r != MODQ_YAML_OK) {
            return r;
        }
        c->cfg->nbanks = i + 1;
    }
    return MODQ_YAML_OK;
}

/* A top-level key: a section of the key table (a mapping, or blank for none), or one of the three
 * sections that are not (kafka, kafka_secret_files, banks). */
static modq_yaml_result load_top(modq_yaml *w, const modq_yaml_pair *pair, void *ctx)
{
    load_ctx *c = ctx;
    if (strcmp(pair->key, "kafka") == 0 || strcmp(pair->key, "kafka_secret_files") == 0) {
        return load_kafka(w, c, pair, strcmp(pair->key, "kafka_secret_files") == 0);
    }
    if (strcmp(pair->key, "banks") == 0) {
        return load_banks(w, c, pair->value);
    }
    if (pair->key[0] == '\0' || !config_section_known(pair->key)) {
        return modq_yaml_fail(w, pair->key_node, pair->path, "unknown key");
    }
    if (modq_yaml_blank(pair->value)) {
        return MODQ_YAML_OK;
    }
    return modq_yaml_pairs(w, pair->value, pair->path, load_key, c);
}

/* The walker's results as this module's. */
static modq_config_result config_result(modq_yaml_result r)
{
    switch (r) {
    case MODQ_YAML_OK:
        return MODQ_CONFIG_OK;
    case MODQ_YAML_ERR_NOMEM:
        return MODQ_CONFIG_ERR_NOMEM;
    case MODQ_YAML_ERR_SYNTAX:
        return MODQ_CONFIG_ERR_SYNTAX;
    default:
        return MODQ_CONFIG_ERR_INVALID;
    }
}

modq_config_result config_load_yaml(load_ctx *c, const char *buf, size_t len)
{
    modq_yaml w = {0};
    if (len > MODQ_CONFIG_MAX_FILE_BYTES) {
        if (c->errstr != NULL && c->errstr_size > 0) {
            snprintf(c->errstr, c->errstr_size, "%s:1: larger than %d bytes", c->name,
                     MODQ_CONFIG_MAX_FILE_BYTES);
        }
        return MODQ_CONFIG_ERR_TOO_LARGE;
    }
    modq_yaml_result r = modq_yaml_load(&w, buf, len, c->name, "key", c->errstr, c->errstr_size);
    yaml_node_t *root = modq_yaml_root(&w);
    /* An empty file (or comments only, or a blank document): the defaults. */
    if (r == MODQ_YAML_OK && root != NULL && !modq_yaml_blank(root)) {
        r = modq_yaml_pairs(&w, root, "", load_top, c);
    }
    modq_yaml_free(&w);
    return config_result(r);
}
