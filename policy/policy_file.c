/*
 * policy_file.c: reads a policy file (capped at MODQ_POLICY_MAX_FILE_BYTES) and hands its text to
 * policy_load.c; reloads a live policy from its file.
 *
 * Kept apart from the schema walk so that each stays short; all I/O of the library is here, with
 * thread-safe error texts (strerror_r), since policies may be reloaded from any thread.
 */
#include "policy_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

modq_policy_result modq_policy_reload(modq_policy **live, const char *path, char *errstr,
                                      size_t errstr_size)
{
    modq_policy *fresh = NULL;
    if (live == NULL || path == NULL) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    modq_policy_result r = modq_policy_load_file(path, &fresh, errstr, errstr_size);
    if (r != MODQ_POLICY_OK) {
        return r; /* *live untouched: the old policy stays in force */
    }
    modq_policy_free(*live);
    *live = fresh;
    return MODQ_POLICY_OK;
}
