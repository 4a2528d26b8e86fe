/*
 * policy_file.c: reads a policy file or buffer, parses it as a YAML stream of exactly one document
 * and hands that document to policy_load.c for validation.
 *
 * Kept apart from the schema walk so that each stays short; all I/O of the library is here, with
 * thread-safe error texts (strerror_r), since policies may be reloaded from any thread.
 */
#include "policy_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static modq_policy_result syntax_error(const yaml_parser_t *parser, const char *name, char *errstr,
                                       size_t errstr_size)
{
    if (errstr != NULL && errstr_size > 0) {
        snprintf(errstr, errstr_size, "%s:%lu: %s", name,
                 (unsigned long)parser->problem_mark.line + 1,
                 parser->problem != NULL ? parser->problem : "YAML syntax error");
    }
    return MODQ_POLICY_ERR_SYNTAX;
}

/* A policy is one YAML document: a second one (even a broken one) after `---` is an error, not
 * something to ignore, since whoever wrote it meant it to count. */
static modq_policy_result only_one_document(yaml_parser_t *parser, const char *name, char *errstr,
                                            size_t errstr_size)
{
    yaml_document_t next;
    if (!yaml_parser_load(parser, &next)) {
        return syntax_error(parser, name, errstr, errstr_size);
    }
    yaml_node_t *root = yaml_document_get_root_node(&next);
    modq_policy_result r = MODQ_POLICY_OK;
    if (root != NULL) {
        if (errstr != NULL && errstr_size > 0) {
            snprintf(errstr, errstr_size,
                     "%s:%lu: field '(top level)': a second YAML document; a policy is exactly one",
                     name, (unsigned long)root->start_mark.line + 1);
        }
        r = MODQ_POLICY_ERR_INVALID;
    }
    yaml_document_delete(&next);
    return r;
}

modq_policy_result modq_policy_load_buffer(const char *buf, size_t len, const char *name,
                                           modq_policy **out, char *errstr, size_t errstr_size)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    bool parser_ok = false, doc_ok = false;
    modq_policy *p = NULL;
    modq_policy_result r = MODQ_POLICY_OK;
    const char *shown = name != NULL ? name : "(policy)";

    if (errstr != NULL && errstr_size > 0) {
        errstr[0] = '\0';
    }
    if (out == NULL || buf == NULL) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (len > MODQ_POLICY_MAX_FILE_BYTES) {
        if (errstr != NULL && errstr_size > 0) {
            snprintf(errstr, errstr_size, "%s:1: field '(file)': larger than %d bytes", shown,
                     MODQ_POLICY_MAX_FILE_BYTES);
        }
        r = MODQ_POLICY_ERR_INVALID;
        goto out;
    }
    if (!yaml_parser_initialize(&parser)) {
        r = MODQ_POLICY_ERR_NOMEM;
        goto out;
    }
    parser_ok = true;
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&parser, &doc)) {
        r = syntax_error(&parser, shown, errstr, errstr_size);
        goto out;
    }
    doc_ok = true;
    p = calloc(1, sizeof *p);
    if (p == NULL) {
        r = MODQ_POLICY_ERR_NOMEM;
        goto out;
    }
    r = policy_load_document(&doc, shown, errstr, errstr_size, p);
    if (r == MODQ_POLICY_OK) {
        r = only_one_document(&parser, shown, errstr, errstr_size);
    }
    if (r == MODQ_POLICY_OK) {
        *out = p;
        p = NULL;
    }
out:
    modq_policy_free(p);
    if (doc_ok) {
        yaml_document_delete(&doc);
    }
    if (parser_ok) {
        yaml_parser_delete(&parser);
    }
    return r;
}

/* strerror is not thread-safe and the library may load policies from several threads. */
static const char *errno_text(int e, char *buf, size_t size)
{
    if (strerror_r(e, buf, size) != 0) {
        snprintf(buf, size, "error %d", e);
    }
    return buf;
}

modq_policy_result modq_policy_load_file(const char *path, modq_policy **out, char *errstr,
                                         size_t errstr_size)
{
    FILE *f = NULL;
    char *buf = NULL, why[128];
    size_t len = 0;
    modq_policy_result r = MODQ_POLICY_OK;

    if (out == NULL || path == NULL) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    *out = NULL;
    f = fopen(path, "rb");
    if (f == NULL) {
        if (errstr != NULL && errstr_size > 0) {
            snprintf(errstr, errstr_size, "%s:1: cannot open: %s", path,
                     errno_text(errno, why, sizeof why));
        }
        r = MODQ_POLICY_ERR_IO;
        goto out;
    }
    /* One byte over the cap tells "too large" apart from "exactly at the cap". */
    buf = malloc(MODQ_POLICY_MAX_FILE_BYTES + 1);
    if (buf == NULL) {
        r = MODQ_POLICY_ERR_NOMEM;
        goto out;
    }
    errno = 0;
    len = fread(buf, 1, MODQ_POLICY_MAX_FILE_BYTES + 1, f);
    if (ferror(f)) {
        int e = errno != 0 ? errno : EIO;
        if (errstr != NULL && errstr_size > 0) {
            snprintf(errstr, errstr_size, "%s:1: read error: %s", path,
                     errno_text(e, why, sizeof why));
        }
        r = MODQ_POLICY_ERR_IO;
        goto out;
    }
    r = modq_policy_load_buffer(buf, len, path, out, errstr, errstr_size);
out:
    MODQ_FREE_NULL(buf);
    if (f != NULL) {
        fclose(f);
    }
    return r;
}
