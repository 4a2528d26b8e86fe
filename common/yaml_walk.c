/*
 * yaml_walk.c: the YAML walker of modq_yaml.h: loading a stream of exactly one document, the
 * messages, mappings against their keys and the typed scalars.
 *
 * The policy and the worker's configuration used to walk libyaml's tree each its own way, and
 * differed in details (one refused a second document, the other ignored it); every rule of that
 * kind lives here now, so that both files read the same way.
 */
#include "modq_yaml.h"

#include "modq_common.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOWN_MAX 64  /* bytes of a key or value quoted in a message */
#define FIELD_MAX 192 /* bytes of "parent.key" in a message */

static const char *const result_text[MODQ_YAML_RESULT_COUNT] = {
    [MODQ_YAML_OK] = "success",
    [MODQ_YAML_ERR_NOMEM] = "out of memory",
    [MODQ_YAML_ERR_SYNTAX] = "the file is not well-formed YAML",
    [MODQ_YAML_ERR_INVALID] = "the file does not fit its schema",
};

const char *modq_yaml_strerror(modq_yaml_result r)
{
    if ((int)r < 0 || r >= MODQ_YAML_RESULT_COUNT) {
        return "unknown result";
    }
    return result_text[r];
}

static unsigned long line_of(const yaml_node_t *n)
{
    return n == NULL ? 1ul : (unsigned long)n->start_mark.line + 1;
}

modq_yaml_result modq_yaml_fail(const modq_yaml *w, const yaml_node_t *at, const char *path,
                                const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    modq_errstr_set(w->errstr, w->errstr_size, "%s:%lu: %s '%s': %s", w->name, line_of(at),
                    w->label, path[0] != '\0' ? path : "(top level)", msg);
    return MODQ_YAML_ERR_INVALID;
}

const char *modq_yaml_where(const modq_yaml *w, const yaml_node_t *n, char *buf, size_t size)
{
    snprintf(buf, size, "%s:%lu", w->name, line_of(n));
    return buf;
}

const char *modq_yaml_path(char *buf, size_t size, const char *parent, const char *child)
{
    snprintf(buf, size, "%s%s%s", parent, parent[0] != '\0' ? "." : "", child);
    return buf;
}

const char *modq_yaml_printable(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    for (; s != NULL && s[n] != '\0' && n < SHOWN_MAX && n + 1 < size; n++) {
        unsigned char ch = (unsigned char)s[n];
        buf[n] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    buf[n] = '\0';
    return buf;
}

/* ---- loading ------------------------------------------------------------------------------- */

/* A parser error: out of memory, or "FILE:LINE: problem" (libyaml's problem mark). */
static modq_yaml_result parse_error(const modq_yaml *w, const yaml_parser_t *parser)
{
    if (parser->error == YAML_MEMORY_ERROR) {
        return MODQ_YAML_ERR_NOMEM;
    }
    modq_errstr_set(w->errstr, w->errstr_size, "%s:%lu: %s", w->name,
                    (unsigned long)parser->problem_mark.line + 1,
                    parser->problem != NULL ? parser->problem : "YAML syntax error");
    return MODQ_YAML_ERR_SYNTAX;
}

/* After the first document the stream must end: a second one, even a broken one, is an error. */
static modq_yaml_result only_one_document(const modq_yaml *w, yaml_parser_t *parser)
{
    yaml_document_t next;
    if (!yaml_parser_load(parser, &next)) {
        return parse_error(w, parser);
    }
    yaml_node_t *root = yaml_document_get_root_node(&next);
    modq_yaml_result r = MODQ_YAML_OK;
    if (root != NULL) {
        r = modq_yaml_fail(w, root, "", "a second YAML document; the file must hold exactly one");
    }
    yaml_document_delete(&next);
    return r;
}

modq_yaml_result modq_yaml_load(modq_yaml *w, const char *buf, size_t len, const char *name,
                                const char *label, char *errstr, size_t errstr_size)
{
    yaml_parser_t parser;
    modq_yaml_result r = MODQ_YAML_OK;
    memset(w, 0, sizeof *w);
    w->name = name;
    w->label = label;
    w->errstr = errstr;
    w->errstr_size = errstr_size;
    if (!yaml_parser_initialize(&parser)) {
        return MODQ_YAML_ERR_NOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&parser, &w->doc)) {
        r = parse_error(w, &parser);
        goto out;
    }
    w->loaded = true;
    /* No root: the stream has ended already. */
    if (yaml_document_get_root_node(&w->doc) != NULL) {
        r = only_one_document(w, &parser);
    }
out:
    yaml_parser_delete(&parser);
    return r;
}

void modq_yaml_free(modq_yaml *w)
{
    if (w != NULL && w->loaded) {
        yaml_document_delete(&w->doc);
        w->loaded = false;
    }
}

yaml_node_t *modq_yaml_root(modq_yaml *w)
{
    return w->loaded ? yaml_document_get_root_node(&w->doc) : NULL;
}

/* ---- nodes --------------------------------------------------------------------------------- */

const char *modq_yaml_scalar(const yaml_node_t *n)
{
    return (n != NULL && n->type == YAML_SCALAR_NODE) ? (const char *)n->data.scalar.value : NULL;
}

bool modq_yaml_blank(const yaml_node_t *n)
{
    const char *s = modq_yaml_scalar(n);
    return s != NULL && *s == '\0' && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

size_t modq_yaml_count(const yaml_node_t *n)
{
    if (n == NULL || n->type != YAML_SEQUENCE_NODE) {
        return 0;
    }
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

yaml_node_t *modq_yaml_item(modq_yaml *w, const yaml_node_t *seq, size_t i)
{
    return yaml_document_get_node(&w->doc, seq->data.sequence.items.start[i]);
}

/* ---- mappings ------------------------------------------------------------------------------ */

/* "path.KEY" of key node k for messages; '?' stands for a key that is not a scalar, "" for an
 * empty one. */
static const char *key_path(char *buf, size_t size, const char *path, const yaml_node_t *k)
{
    char shown[SHOWN_MAX + 1];
    const char *ks = modq_yaml_scalar(k);
    if (ks == NULL) {
        return modq_yaml_path(buf, size, path, "?");
    }
    return modq_yaml_path(buf, size, path,
                          ks[0] == '\0' ? "\"\"" : modq_yaml_printable(ks, shown, sizeof shown));
}

modq_yaml_result modq_yaml_map(modq_yaml *w, yaml_node_t *map, const char *path,
                               const modq_yaml_key *keys, size_t nkeys, yaml_node_t **found)
{
    char field[FIELD_MAX];
    if (map == NULL || map->type != YAML_MAPPING_NODE) {
        return modq_yaml_fail(w, map, path, "must be a mapping");
    }
    for (size_t i = 0; i < nkeys; i++) {
        found[i] = NULL;
    }
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yaml_document_get_node(&w->doc, pr->key);
        const char *ks = modq_yaml_scalar(k);
        size_t i = 0;
        while (ks != NULL && i < nkeys && strcmp(ks, keys[i].name) != 0) {
            i++;
        }
        if (ks == NULL || i == nkeys) {
            return modq_yaml_fail(w, k, key_path(field, sizeof field, path, k), "unknown %s",
                                  w->label);
        }
        if (found[i] != NULL) {
            return modq_yaml_fail(w, k, key_path(field, sizeof field, path, k), "given twice");
        }
        found[i] = yaml_document_get_node(&w->doc, pr->value);
    }
    for (size_t i = 0; i < nkeys; i++) {
        if (keys[i].required && found[i] == NULL) {
            return modq_yaml_fail(w, map, modq_yaml_path(field, sizeof field, path, keys[i].name),
                                  "is required");
        }
    }
    return MODQ_YAML_OK;
}

modq_yaml_result modq_yaml_pairs(modq_yaml *w, yaml_node_t *map, const char *path,
                                 modq_yaml_visit visit, void *ctx)
{
    char field[FIELD_MAX];
    if (map == NULL || map->type != YAML_MAPPING_NODE) {
        return modq_yaml_fail(w, map, path, "must be a mapping");
    }
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        modq_yaml_pair pair = {path, NULL, field, yaml_document_get_node(&w->doc, pr->key),
                               yaml_document_get_node(&w->doc, pr->value)};
        pair.key = modq_yaml_scalar(pair.key_node);
        key_path(field, sizeof field, path, pair.key_node);
        if (pair.key == NULL) {
            return modq_yaml_fail(w, pair.key_node, field, "unknown %s", w->label);
        }
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pr; q++) {
            const char *qs = modq_yaml_scalar(yaml_document_get_node(&w->doc, q->key));
            if (qs != NULL && strcmp(qs, pair.key) == 0) {
                return modq_yaml_fail(w, pair.key_node, field, "given twice");
            }
        }
        modq_yaml_result r = visit(w, &pair, ctx);
        if (r != MODQ_YAML_OK) {
            return r;
        }
    }
    return MODQ_YAML_OK;
}

/* ---- typed scalars ------------------------------------------------------------------------- */

/* YAML integers as people write them in these files: decimal digits with an optional '-' and no
 * leading zero (so "010" is not taken for ten, nor "+1" for one), in lo .. hi. */
static bool parse_int(const char *s, int lo, int hi, int64_t *out)
{
    const char *digits = s[0] == '-' ? s + 1 : s;
    if (!isdigit((unsigned char)digits[0]) || (digits[0] == '0' && digits[1] != '\0')) {
        return false;
    }
    return modq_parse_int64(s, lo, hi, out);
}

modq_yaml_result modq_yaml_int(const modq_yaml *w, const yaml_node_t *n, const char *path, int lo,
                               int hi, int *out)
{
    const char *s = modq_yaml_scalar(n);
    int64_t v = 0;
    if (s == NULL || !parse_int(s, lo, hi, &v)) {
        return modq_yaml_fail(w, n, path, "must be an integer between %d and %d", lo, hi);
    }
    *out = (int)v;
    return MODQ_YAML_OK;
}

modq_yaml_result modq_yaml_number(const modq_yaml *w, const yaml_node_t *n, const char *path,
                                  double lo, double hi, double *out)
{
    const char *s = modq_yaml_scalar(n);
    char *end = NULL;
    if (s == NULL || *s == '\0') {
        return modq_yaml_fail(w, n, path, "must be a number");
    }
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v)) {
        char shown[SHOWN_MAX + 1];
        return modq_yaml_fail(w, n, path, "must be a number, not '%s'",
                              modq_yaml_printable(s, shown, sizeof shown));
    }
    if (v < lo || v > hi) {
        return modq_yaml_fail(w, n, path, "must be between %g and %g, not %g", lo, hi, v);
    }
    *out = v;
    return MODQ_YAML_OK;
}

modq_yaml_result modq_yaml_bool(const modq_yaml *w, const yaml_node_t *n, const char *path,
                                bool *out)
{
    const char *s = modq_yaml_scalar(n);
    if (s != NULL && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)) {
        *out = s[0] == 't';
        return MODQ_YAML_OK;
    }
    return modq_yaml_fail(w, n, path, "must be true or false");
}
