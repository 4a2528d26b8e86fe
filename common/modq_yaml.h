/*
 * modq_yaml.h: one way to read a YAML file against a fixed schema, shared by the policy library
 * (policy/policy_load.c) and the worker's configuration (worker/config/config_load.c).
 *
 * The walker loads the whole stream as a node tree (libyaml keeps each node's line) and insists on
 * exactly one document: a second one after `---` is an error, since whoever wrote it meant it to
 * count. The schema is then walked by the caller with the helpers below: mappings of known keys
 * (an unknown or repeated key is an error naming it), typed scalars, and one message format,
 * "FILE:LINE: LABEL 'PATH': message" (LINE 1-based), on one line; the first error wins.
 *
 * No logging: errors come back as a modq_yaml_result plus the message in the caller's errstr.
 * A walker is used by one thread at a time; walkers of different files are independent.
 */
#ifndef MODQ_YAML_H
#define MODQ_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum modq_yaml_result {
    MODQ_YAML_OK = 0,
    MODQ_YAML_ERR_NOMEM,   /* allocation failed */
    MODQ_YAML_ERR_SYNTAX,  /* not well-formed YAML */
    MODQ_YAML_ERR_INVALID, /* well-formed, but not what the schema (or the one-document rule) asks
                            */
    MODQ_YAML_RESULT_COUNT
} modq_yaml_result;

/* A static English sentence for a result. Never NULL. */
const char *modq_yaml_strerror(modq_yaml_result r);

/* One parsed file. Fill nothing in by hand: modq_yaml_load sets every field. */
typedef struct modq_yaml {
    yaml_document_t doc;
    bool loaded;       /* doc holds a document to delete */
    const char *name;  /* FILE in messages; not copied, must outlive the walker */
    const char *label; /* the word before a path in messages: "field", "key" */
    char *errstr;      /* the caller's buffer, may be NULL */
    size_t errstr_size;
} modq_yaml;

/*
 * Parses len bytes of buf (not kept) as a YAML stream of exactly one document, an empty stream
 * counting as one empty document. name and label (both kept by reference) word the messages.
 * On any result w must be given to modq_yaml_free. SYNTAX: "FILE:LINE: problem"; INVALID: a second
 * document, at its first line. The caller caps len.
 */
modq_yaml_result modq_yaml_load(modq_yaml *w, const char *buf, size_t len, const char *name,
                                const char *label, char *errstr, size_t errstr_size);
/* Deletes the document. w may be NULL or never loaded (zeroed). */
void modq_yaml_free(modq_yaml *w);
/* The document's root node; NULL when the file holds no document (empty, or comments only). */
yaml_node_t *modq_yaml_root(modq_yaml *w);

/*
 * Formats "FILE:LINE: LABEL 'PATH': message" into errstr, LINE being at's (1 when at is NULL) and
 * PATH "(top level)" when path is empty; returns ERR_INVALID.
 */
__attribute__((format(printf, 4, 5))) modq_yaml_result
modq_yaml_fail(const modq_yaml *w, const yaml_node_t *at, const char *path, const char *fmt, ...);
/* "FILE:LINE" of node n (LINE 1 when n is NULL) into buf; returns buf. */
const char *modq_yaml_where(const modq_yaml *w, const yaml_node_t *n, char *buf, size_t size);
/* "parent.child" (child alone when parent is empty) into buf; returns buf. */
const char *modq_yaml_path(char *buf, size_t size, const char *parent, const char *child);
/* Up to 64 bytes of s for a one-line message, control characters shown as '?'; returns buf. */
const char *modq_yaml_printable(const char *s, char *buf, size_t size);

/* The text of a scalar node, NULL for any other node (or NULL). */
const char *modq_yaml_scalar(const yaml_node_t *n);
/* true for an empty plain scalar ("key:" with nothing after it). */
bool modq_yaml_blank(const yaml_node_t *n);
/* Entries of a sequence node; 0 for any other node. */
size_t modq_yaml_count(const yaml_node_t *n);
/* Entry i (< modq_yaml_count) of sequence seq. */
yaml_node_t *modq_yaml_item(modq_yaml *w, const yaml_node_t *seq, size_t i);

/* One key of a mapping with a fixed set of keys. */
typedef struct modq_yaml_key {
    const char *name;
    bool required;
} modq_yaml_key;
/* Entries of a static array of modq_yaml_key, for nkeys and the size of found. */
#define MODQ_YAML_NKEYS(keys) (sizeof(keys) / sizeof((keys)[0]))

/*
 * Walks mapping map (at path) against keys[0..nkeys): found[i] gets key i's value node, NULL when
 * absent. Errors: map is not a mapping; a key is unknown (or not a scalar) or given twice; a
 * required key is missing (at the mapping's line).
 */
modq_yaml_result modq_yaml_map(modq_yaml *w, yaml_node_t *map, const char *path,
                               const modq_yaml_key *keys, size_t nkeys, yaml_node_t **found);

/* One pair of a mapping walked by modq_yaml_pairs. */
typedef struct modq_yaml_pair {
    const char *parent; /* the mapping's path, as given to modq_yaml_pairs */
    const char *key;    /* the key's text, as written */
    const char *path;   /* "PARENT.KEY" for messages (control characters shown as '?', cut) */
    yaml_node_t *key_node;
    yaml_node_t *value;
} modq_yaml_pair;

typedef modq_yaml_result (*modq_yaml_visit)(modq_yaml *w, const modq_yaml_pair *pair, void *ctx);

/*
 * Walks mapping map (at path) pair by pair, in the file's order, for mappings whose keys are not a
 * fixed list: visit decides whether a key is known. The walker refuses a map that is not a
 * mapping, a key that is not a scalar and a key given twice; the first result other than OK of
 * visit ends the walk and is returned. Comparing each key with the earlier ones costs n^2: visit
 * bounds n by refusing unknown keys or by a cap of its own.
 */
modq_yaml_result modq_yaml_pairs(modq_yaml *w, yaml_node_t *map, const char *path,
                                 modq_yaml_visit visit, void *ctx);

/*
 * Typed scalars: on success *out gets the value; otherwise a message at n and ERR_INVALID.
 * int: decimal digits with an optional '-', no leading zero (YAML 1.1 reads 010 as octal, a person
 * as ten), in lo .. hi: "must be an integer between LO and HI".
 * number: a finite number, the whole text as strtod reads it, in lo .. hi.
 * bool: true or false, lowercase.
 */
modq_yaml_result modq_yaml_int(const modq_yaml *w, const yaml_node_t *n, const char *path, int lo,
                               int hi, int *out);
modq_yaml_result modq_yaml_number(const modq_yaml *w, const yaml_node_t *n, const char *path,
                                  double lo, double hi, double *out);
modq_yaml_result modq_yaml_bool(const modq_yaml *w, const yaml_node_t *n, const char *path,
                                bool *out);

#ifdef __cplusplus
}
#endif

#endif /* MODQ_YAML_H */
