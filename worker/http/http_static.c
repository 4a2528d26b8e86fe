/*
 * http_static.c: the web page's files, read once at start into memory (http_impl.h). Only names
 * that pass the allow-list are read and only those are ever looked up, so a request can name
 * nothing outside the table: no path is built from request text, and no traversal exists to
 * block.
 */
#include "http_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_LEN 128

typedef struct mime_type {
    const char *ext, *mime;
} mime_type;

/* Text types name their charset so a browser never guesses one. */
static const mime_type MIME_TYPES[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".json", "application/json"},
};

static const char *mime_of(const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < sizeof(MIME_TYPES) / sizeof(MIME_TYPES[0]); i++) {
        size_t e = strlen(MIME_TYPES[i].ext);

        /* The extension needs a stem: ".js" alone is a hidden file, refused anyway. */
        if (n > e && strcmp(name + n - e, MIME_TYPES[i].ext) == 0) {
            return MIME_TYPES[i].mime;
        }
    }
    return NULL;
}

bool http_static_name_ok(const char *name)
{
    size_t n;

    if (!name || name[0] == '\0' || name[0] == '.') {
        return false;
    }
    for (n = 0; name[n]; n++) {
        char c = name[n];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return n <= NAME_MAX_LEN && mime_of(name) != NULL;
}

const http_file *http_static_find(const http_static *st, const char *name)
{
    if (!http_static_name_ok(name)) {
        return NULL;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        if (strcmp(st->files[i].name, name) == 0) {
            return &st->files[i];
        }
    }
    return NULL;
}

void http_static_free(http_static *st)
{
    for (size_t i = 0; i < st->nfiles; i++) {
        free(st->files[i].name);
        free(st->files[i].data);
    }
    st->nfiles = 0;
}

/* Reads one file below dirfd whole; fails on anything but a regular file of at most
 * MODQ_HTTP_STATIC_MAX_FILE bytes. */
static modq_http_result read_file(int dirfd, const char *name, http_file *f, char *errstr,
                                  size_t errstr_size)
{
    modq_http_result rc = MODQ_HTTP_ERR_STATIC;
    struct stat sb;
    size_t got = 0;
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(errstr, errstr_size, "static file %s: %s", name, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        snprintf(errstr, errstr_size, "static file %s: not a regular file", name);
        goto out;
    }
    if (sb.st_size > MODQ_HTTP_STATIC_MAX_FILE) {
        snprintf(errstr, errstr_size, "static file %s: over %d bytes", name,
                 MODQ_HTTP_STATIC_MAX_FILE);
        goto out;
    }
    /* One byte more than the size says, to notice a file that grew while being read. */
    f->data = malloc((size_t)sb.st_size + 1);
    if (!f->data || !(f->name = strdup(name))) {
        rc = MODQ_HTTP_ERR_NOMEM;
        snprintf(errstr, errstr_size, "static file %s: out of memory", name);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, f->data + got, (size_t)sb.st_size + 1 - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            snprintf(errstr, errstr_size, "static file %s: %s", name, strerror(errno));
            goto out;
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
        if (got > (size_t)sb.st_size) {
            snprintf(errstr, errstr_size, "static file %s: changed while read", name);
            goto out;
        }
    }
    f->len = got;
    f->mime = mime_of(name);
    rc = MODQ_HTTP_OK;
out:
    if (fd >= 0) {
        close(fd);
    }
    if (rc != MODQ_HTTP_OK) {
        free(f->data);
        free(f->name);
        f->data = NULL;
        f->name = NULL;
    }
    return rc;
}

modq_http_result http_static_load(http_static *st, const char *dir, char *errstr,
                                  size_t errstr_size)
{
    modq_http_result rc = MODQ_HTTP_ERR_STATIC;
    DIR *d = opendir(dir);
    struct dirent *e;

    st->nfiles = 0;
    if (!d) {
        snprintf(errstr, errstr_size, "static directory %s: %s", dir, strerror(errno));
        goto out;
    }
    for (;;) {
        errno = 0;
        if (!(e = readdir(d))) {
            break;
        }
        /* Anything else in the directory (README, dotfiles) is simply not served. */
        if (!http_static_name_ok(e->d_name)) {
            continue;
        }
        if (st->nfiles == MODQ_HTTP_MAX_STATIC) {
            snprintf(errstr, errstr_size, "static directory %s: more than %d files", dir,
                     MODQ_HTTP_MAX_STATIC);
            goto out;
        }
        rc = read_file(dirfd(d), e->d_name, &st->files[st->nfiles], errstr, errstr_size);
        if (rc != MODQ_HTTP_OK) {
            goto out;
        }
        st->nfiles++;
        rc = MODQ_HTTP_ERR_STATIC;
    }
    if (errno != 0) {
        snprintf(errstr, errstr_size, "static directory %s: %s", dir, strerror(errno));
        goto out;
    }
    rc = MODQ_HTTP_OK;
out:
    if (d) {
        closedir(d);
    }
    if (rc != MODQ_HTTP_OK) {
        http_static_free(st);
    }
    return rc;
}
