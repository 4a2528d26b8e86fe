/*
 * config_load.c: the YAML layer of modq-worker's configuration, and what every layer shares:
 * error messages with their origin, the kafka property and secret-file tables, reading capped
 * files. config.c runs the layers in order and finishes the result.
 *
 * As with the policy file (policy/policy_load.c), the whole YAML document is loaded as a node
 * tree, which keeps each node's line, then walked against the key table; unknown and duplicate
 * keys are errors, and the first error wins. Only kafka: is free-form.
 */
#include "config_impl.h"

#include <ctype.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

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

/* "FILE:LINE" of a node, into buf. */
static const char *at(const load_ctx *c, const yaml_node_t *n, char *buf, size_t size)
{
    snprintf(buf, size, "%s:%lu", c->name, n != NULL ? (unsigned long)n->start_mark.line + 1 : 1ul);
    return buf;
}

static const char *scalar(const yaml_node_t *n)
{
    return (n != NULL && n->type == YAML_SCALAR_NODE) ? (const char *)n->data.scalar.value : NULL;
}

/* An empty plain scalar ("key:" with nothing after it) stands for an empty map or list. */
static bool is_empty(const yaml_node_t *n)
{
    const char *s = scalar(n);
    return s != NULL && *s == '\0' && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
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

static modq_config_result load_list(load_ctx *c, const key_def *d, yaml_node_t *v)
{
    const char *items[MODQ_CONFIG_MAX_HOSTS];
    char where[ORIGIN_MAX], msg[256];
    size_t n = 0;
    if (!is_empty(v)) {
        if (v->type != YAML_SEQUENCE_NODE) {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, at(c, v, where, sizeof where), d->key,
                               "must be a list");
        }
        n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
        if (n > MODQ_CONFIG_MAX_HOSTS) {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, at(c, v, where, sizeof where), d->key,
                               "at most %d entries", MODQ_CONFIG_MAX_HOSTS);
        }
        for (size_t i = 0; i < n; i++) {
            yaml_node_t *it = yaml_document_get_node(c->doc, v->data.sequence.items.start[i]);
            if ((items[i] = scalar(it)) == NULL) {
                return config_fail(c, MODQ_CONFIG_ERR_INVALID, at(c, it, where, sizeof where),
                                   d->key, "[%zu] must be a single value", i);
            }
        }
    }
    if (!config_set_list(c->cfg, d, items, n, msg, sizeof msg)) {
        return config_fail(c, MODQ_CONFIG_ERR_INVALID, at(c, v, where, sizeof where), d->key, "%s",
                           msg);
    }
    return MODQ_CONFIG_OK;
}

static modq_config_result load_section(load_ctx *c, const char *section, yaml_node_t *map)
{
    char where[ORIGIN_MAX], key[128], msg[256];
    modq_config_result r = MODQ_CONFIG_OK;
    if (is_empty(map)) {
        return MODQ_CONFIG_OK;
    }
    if (map->type != YAML_MAPPING_NODE) {
        return config_fail(c, MODQ_CONFIG_ERR_INVALID, at(c, map, where, sizeof where), section,
                           "must be a mapping");
    }
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, pr->value);
        const char *ks = scalar(k);
        snprintf(key, sizeof key, "%s.%.80s", section, ks != NULL ? ks : "?");
        const key_def *d = config_key_find(key);
        at(c, k, where, sizeof where);
        if (ks == NULL || d == NULL) {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, where, key, "unknown key");
        }
        if (c->seen[key_index(d)]) {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, where, key, "given twice");
        }
        c->seen[key_index(d)] = true;
        at(c, v, where, sizeof where);
        if (config_key_is_list(d)) {
            r = load_list(c, d, v);
        } else if (scalar(v) == NULL) {
            r = config_fail(c, MODQ_CONFIG_ERR_INVALID, where, key, "must be a single value");
        } else if (!config_set_scalar(c->cfg, d, scalar(v), msg, sizeof msg)) {
            r = config_fail(c, MODQ_CONFIG_ERR_INVALID, where, key, "%s", msg);
        }
        if (r != MODQ_CONFIG_OK) {
            return r;
        }
        snprintf(c->origin[key_index(d)], ORIGIN_MAX, "%s", where);
    }
    return MODQ_CONFIG_OK;
}

/* kafka: (files false) or kafka_secret_files: (files true), maps of property -> text. */
static modq_config_result load_kafka(load_ctx *c, yaml_node_t *map, bool files)
{
    const char *section = files ? "kafka_secret_files" : "kafka";
    char where[ORIGIN_MAX], key[192], msg[256];
    if (is_empty(map)) {
        return MODQ_CONFIG_OK;
    }
    if (map->type != YAML_MAPPING_NODE) {
        return config_fail(c, MODQ_CONFIG_ERR_INVALID, at(c, map, where, sizeof where), section,
                           "must be a mapping of librdkafka property names to values");
    }
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, pr->value);
        const char *ks = scalar(k), *vs = scalar(v);
        bool ok = false;
        snprintf(key, sizeof key, "%s.%.128s", section, ks != NULL ? ks : "?");
        if (ks == NULL) {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, at(c, k, where, sizeof where), key,
                               "must be a property name");
        }
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pr; q++) {
            const char *qs = scalar(yaml_document_get_node(c->doc, q->key));
            if (qs != NULL && strcmp(qs, ks) == 0) {
                return config_fail(c, MODQ_CONFIG_ERR_INVALID, at(c, k, where, sizeof where), key,
                                   "given twice");
            }
        }
        at(c, v, where, sizeof where);
        if (vs == NULL) {
            /* Not echoed: the value may be a secret. */
            return config_fail(
                c, MODQ_CONFIG_ERR_INVALID, where, key,
                "must be a string, number or boolean (write nested names with dots)");
        }
        ok = files ? config_kfile_set(c->cfg, ks, vs, where, msg, sizeof msg)
                   : config_kafka_set(c->cfg, ks, vs, false, where, msg, sizeof msg);
        if (!ok) {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, where, key, "%s", msg);
        }
    }
    return MODQ_CONFIG_OK;
}

static modq_config_result load_bank(load_ctx *c, yaml_node_t *map, size_t idx)
{
    static const char *const names[] = {"name", "file", "verdict", "labels", "pdq_threshold"};
    yaml_node_t *v[5] = {NULL};
    char where[ORIGIN_MAX], key[96];
    bank_cfg *b = &c->cfg->banks[idx];
#define KEY(k) (snprintf(key, sizeof key, "banks[%zu].%s", idx, k), key)
#define AT(n)  at(c, n, where, sizeof where)
    if (map->type != YAML_MAPPING_NODE) {
        return config_fail(c, MODQ_CONFIG_ERR_INVALID, AT(map), KEY(""), "must be a mapping");
    }
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
        const char *ks = scalar(k);
        size_t i = 0;
        while (ks != NULL && i < 5 && strcmp(ks, names[i]) != 0) {
            i++;
        }
        if (ks == NULL || i == 5 || v[i] != NULL) {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, AT(k), KEY(ks != NULL ? ks : "?"),
                               i < 5 ? "given twice" : "unknown key");
        }
        v[i] = yaml_document_get_node(c->doc, pr->value);
    }
    for (size_t i = 0; i < 3; i++) {
        if (v[i] == NULL) {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, AT(map), KEY(names[i]), "is required");
        }
    }
    const char *s = scalar(v[0]);
    if (s == NULL || !config_name_ok(s, sizeof b->name)) {
        return config_fail(c, MODQ_CONFIG_ERR_INVALID, AT(v[0]), KEY("name"),
                           "must be 1..%zu characters of [a-z0-9_-]", sizeof b->name - 1);
    }
    memcpy(b->name, s, strlen(s) + 1);
    for (size_t j = 0; j < idx; j++) {
        if (strcmp(c->cfg->banks[j].name, b->name) == 0) {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, AT(v[0]), KEY("name"),
                               "'%s' is already banks[%zu]", b->name, j);
        }
    }
    s = scalar(v[1]);
    if (s == NULL || *s == '\0' || strlen(s) >= sizeof b->file) {
        return config_fail(c, MODQ_CONFIG_ERR_INVALID, AT(v[1]), KEY("file"),
                           "must be a path of 1..%zu bytes", sizeof b->file - 1);
    }
    memcpy(b->file, s, strlen(s) + 1);
    if ((b->verdict = config_verdict_parse(scalar(v[2]))) < 0) {
        return config_fail(c, MODQ_CONFIG_ERR_INVALID, AT(v[2]), KEY("verdict"),
                           "must be one of: no_violation, remove, restrict, remove_and_report");
    }
    if (v[3] != NULL && !is_empty(v[3])) {
        size_t n = v[3]->type == YAML_SEQUENCE_NODE
                       ? (size_t)(v[3]->data.sequence.items.top - v[3]->data.sequence.items.start)
                       : MODQ_CONFIG_MAX_LABELS + 1;
        if (n > MODQ_CONFIG_MAX_LABELS) {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, AT(v[3]), KEY("labels"),
                               "must be a list of at most %d labels", MODQ_CONFIG_MAX_LABELS);
        }
        for (size_t j = 0; j < n; j++) {
            yaml_node_t *it = yaml_document_get_node(c->doc, v[3]->data.sequence.items.start[j]);
            s = scalar(it);
            if (s == NULL || !config_name_ok(s, MODQ_CONFIG_NAME_MAX)) {
                return config_fail(c, MODQ_CONFIG_ERR_INVALID, AT(it), KEY("labels"),
                                   "[%zu] must be 1..%d characters of [a-z0-9_-]", j,
                                   MODQ_CONFIG_NAME_MAX - 1);
            }
            memcpy(b->labels[j], s, strlen(s) + 1);
        }
        b->nlabels = n;
    }
    b->pdq_threshold = MODQ_PDQ_DEFAULT_THRESHOLD;
    if (v[4] != NULL) {
        int64_t t = 0;
        s = scalar(v[4]);
        if (s == NULL || !isdigit((unsigned char)s[0]) || (s[0] == '0' && s[1] != '\0') ||
            !modq_parse_int64(s, 0, 256, &t)) {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, AT(v[4]), KEY("pdq_threshold"),
                               "must be an integer between 0 and 256");
        }
        b->pdq_threshold = (int)t;
    }
#undef KEY
#undef AT
    return MODQ_CONFIG_OK;
}

static modq_config_result load_banks(load_ctx *c, yaml_node_t *seq)
{
    char where[ORIGIN_MAX];
    if (is_empty(seq)) {
        return MODQ_CONFIG_OK;
    }
    size_t n = seq->type == YAML_SEQUENCE_NODE
                   ? (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start)
                   : 0;
    if (seq->type != YAML_SEQUENCE_NODE || n > MODQ_CONFIG_MAX_BANKS) {
        return config_fail(c, MODQ_CONFIG_ERR_INVALID, at(c, seq, where, sizeof where), "banks",
                           "must be a list of at most %d banks", MODQ_CONFIG_MAX_BANKS);
    }
    if (n == 0) {
        return MODQ_CONFIG_OK;
    }
    if ((c->cfg->banks = calloc(n, sizeof *c->cfg->banks)) == NULL) {
        return MODQ_CONFIG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        modq_config_result r =
            load_bank(c, yaml_document_get_node(c->doc, seq->data.sequence.items.start[i]), i);
        if (r != MODQ_CONFIG_OK) {
            return r;
        }
        c->cfg->nbanks = i + 1;
    }
    return MODQ_CONFIG_OK;
}

static modq_config_result load_doc(load_ctx *c)
{
    static const char *const special[] = {"kafka", "kafka_secret_files", "banks"};
    const char *top[16];
    size_t ntop = 0;
    char where[ORIGIN_MAX];
    yaml_node_t *root = yaml_document_get_root_node(c->doc);
    if (root == NULL || is_empty(root)) {
        return MODQ_CONFIG_OK; /* an empty file (or comments only): defaults */
    }
    if (root->type != YAML_MAPPING_NODE) {
        return config_fail(c, MODQ_CONFIG_ERR_INVALID, at(c, root, where, sizeof where),
                           "(top level)", "must be a mapping");
    }
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, pr->value);
        const char *ks = scalar(k);
        modq_config_result r = MODQ_CONFIG_OK;
        at(c, k, where, sizeof where);
        bool known = ks != NULL && (config_section_known(ks) || strcmp(ks, special[0]) == 0 ||
                                    strcmp(ks, special[1]) == 0 || strcmp(ks, special[2]) == 0);
        if (!known || ks[0] == '\0') {
            return config_fail(c, MODQ_CONFIG_ERR_INVALID, where, ks != NULL ? ks : "?",
                               "unknown key");
        }
        /* Every known name may appear once, so ntop stays below the sections' count. */
        for (size_t i = 0; i < ntop; i++) {
            if (strcmp(top[i], ks) == 0) {
                return config_fail(c, MODQ_CONFIG_ERR_INVALID, where, ks, "given twice");
            }
        }
        if (ntop < sizeof top / sizeof top[0]) {
            top[ntop++] = ks;
        }
        if (strcmp(ks, "kafka") == 0 || strcmp(ks, "kafka_secret_files") == 0) {
            r = load_kafka(c, v, strcmp(ks, "kafka_secret_files") == 0);
        } else if (strcmp(ks, "banks") == 0) {
            r = load_banks(c, v);
        } else {
            r = load_section(c, ks, v);
        }
        if (r != MODQ_CONFIG_OK) {
            return r;
        }
    }
    return MODQ_CONFIG_OK;
}

modq_config_result config_load_yaml(load_ctx *c, const char *buf, size_t len)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    bool doc_ok = false;
    modq_config_result r = MODQ_CONFIG_OK;
    if (len > MODQ_CONFIG_MAX_FILE_BYTES) {
        if (c->errstr != NULL && c->errstr_size > 0) {
            snprintf(c->errstr, c->errstr_size, "%s:1: larger than %d bytes", c->name,
                     MODQ_CONFIG_MAX_FILE_BYTES);
        }
        return MODQ_CONFIG_ERR_TOO_LARGE;
    }
    if (!yaml_parser_initialize(&parser)) {
        return MODQ_CONFIG_ERR_NOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&parser, &doc)) {
        if (c->errstr != NULL && c->errstr_size > 0) {
            snprintf(c->errstr, c->errstr_size, "%s:%lu: %s", c->name,
                     (unsigned long)parser.problem_mark.line + 1,
                     parser.problem != NULL ? parser.problem : "YAML syntax error");
        }
        r = MODQ_CONFIG_ERR_SYNTAX;
        goto out;
    }
    doc_ok = true;
    c->doc = &doc;
    r = load_doc(c);
    c->doc = NULL;
out:
    if (doc_ok) {
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    return r;
}
