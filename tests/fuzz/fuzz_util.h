/*
 * fuzz_util.h: what the harnesses of tests/fuzz share. Each harness is a libFuzzer target
 * (LLVMFuzzerTestOneInput, built by MODQ_FUZZ=ON with clang) and also a plain program over its
 * seed corpus (replay.c, built with the test suite), so every reproducer committed to a corpus
 * is a regression test under gcc too.
 *
 * A harness keeps what it sets up once (a policy, keys, a scratch folder) in one static struct
 * filled by LLVMFuzzerInitialize: libFuzzer calls the entry points with no context argument.
 */
#ifndef MODQ_FUZZ_UTIL_H
#define MODQ_FUZZ_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The entry points libFuzzer (or replay.c) calls. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant broke: say which, then abort, so that libFuzzer keeps the input as a crash. */
__attribute__((format(printf, 1, 2), noreturn)) static inline void fz_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("fuzz invariant broken: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* Setting up a harness failed: nothing can be fuzzed. */
__attribute__((format(printf, 1, 2), noreturn)) static inline void fz_setup_fail(const char *fmt,
                                                                                 ...)
{
    va_list ap;

    fputs("fuzz harness setup: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

/* A path in the source tree (MODQ_SOURCE_DIR is set by the build) into out. */
static inline const char *fz_source_path(const char *rel, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", MODQ_SOURCE_DIR, rel);
    return out;
}

/* A private scratch folder under $TMPDIR (or /tmp), made on first use; fz_scratch_remove
 * empties and removes it (it holds files only). */
typedef struct fz_scratch {
    char dir[256];
} fz_scratch;

static inline void fz_scratch_make(fz_scratch *s)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(s->dir, sizeof(s->dir), "%s/modq-fuzz-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        fz_setup_fail("mkdtemp %s failed", s->dir);
    }
}

static inline void fz_scratch_remove(fz_scratch *s)
{
    DIR *d = s->dir[0] ? opendir(s->dir) : NULL;
    struct dirent *e;
    char path[512];

    if (!d) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", s->dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(s->dir);
    s->dir[0] = '\0';
}

/* Writes len bytes to the file name in the scratch folder (replacing it); its path into path.
 * false when it could not be written. */
static inline bool fz_scratch_write(const fz_scratch *s, const char *name, const void *data,
                                    size_t len, char *path, size_t path_size)
{
    FILE *fp;
    bool ok;

    snprintf(path, path_size, "%s/%s", s->dir, name);
    if (!(fp = fopen(path, "wb"))) {
        return false;
    }
    ok = (len == 0 || fwrite(data, 1, len, fp) == len);
    return fclose(fp) == 0 && ok;
}

/* A NUL-terminated copy of len bytes at data (caller frees); NULL when out of memory. */
static inline char *fz_strndup(const uint8_t *data, size_t len)
{
    char *s = malloc(len + 1);

    if (s) {
        if (len) {
            memcpy(s, data, len);
        }
        s[len] = '\0';
    }
    return s;
}

/* Splits data at the first occurrence of sep: *head_len is the length before it, and *rest,
 * *rest_len what follows (NULL and 0 when sep does not occur, and then *head_len = len). */
static inline void fz_split(const uint8_t *data, size_t len, const char *sep, size_t *head_len,
                            const uint8_t **rest, size_t *rest_len)
{
    size_t n = strlen(sep);

    *head_len = len;
    *rest = NULL;
    *rest_len = 0;
    for (size_t i = 0; n > 0 && i + n <= len; i++) {
        if (memcmp(data + i, sep, n) == 0) {
            *head_len = i;
            *rest = data + i + n;
            *rest_len = len - i - n;
            return;
        }
    }
}

#endif
