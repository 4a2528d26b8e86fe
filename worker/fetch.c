/*
 * fetch.c: a ticket's media given by URI. The URI comes from the flagging pipeline, so it is
 * untrusted like the media itself: only file:// under one configured root and http(s) to an
 * allow-list of hosts, with a size cap and a time cap, and redirects only within the same host
 * (a redirect to another host would sidestep the allow-list).
 */
#define _GNU_SOURCE /* O_PATH */
#include "fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_HOSTS     64
#define MAX_REDIRECTS 3

struct modq_fetch {
    char *root;  /* realpath of the file root, or NULL */
    int root_fd; /* O_PATH descriptor of the root, or -1 */
    char *hosts[MAX_HOSTS];
    size_t nhosts;
    size_t max_bytes;
    long timeout_ms;
};

static const struct {
    const char *code, *text;
} results[MODQ_FETCH_RESULT_COUNT] = {
    [MODQ_FETCH_OK] = {"ok", "success"},
    [MODQ_FETCH_ERR_INVALID_ARG] = {"invalid_argument", "invalid argument"},
    [MODQ_FETCH_ERR_NOMEM] = {"out_of_memory", "out of memory"},
    [MODQ_FETCH_ERR_BAD_URI] = {"bad_uri", "malformed media URI"},
    [MODQ_FETCH_ERR_SCHEME] = {"scheme_not_allowed", "URI scheme not allowed"},
    [MODQ_FETCH_ERR_HOST] = {"host_not_allowed", "host not on the allow-list"},
    [MODQ_FETCH_ERR_OUTSIDE_ROOT] = {"outside_root", "path outside the media root"},
    [MODQ_FETCH_ERR_NOT_FOUND] = {"not_found", "media not found"},
    [MODQ_FETCH_ERR_TOO_LARGE] = {"media_too_large", "media larger than the fetch limit"},
    [MODQ_FETCH_ERR_TIMEOUT] = {"fetch_timeout", "fetch timed out"},
    [MODQ_FETCH_ERR_REDIRECT] = {"redirect_refused", "redirect refused"},
    [MODQ_FETCH_ERR_HTTP] = {"http_error", "HTTP error status"},
    [MODQ_FETCH_ERR_NETWORK] = {"network_error", "network error"},
};

const char *modq_fetch_strerror(modq_fetch_result r)
{
    return (unsigned)r < MODQ_FETCH_RESULT_COUNT ? results[r].text : "unknown error";
}

const char *modq_fetch_code(modq_fetch_result r)
{
    return (unsigned)r < MODQ_FETCH_RESULT_COUNT ? results[r].code : "unknown";
}

void modq_fetch_free(modq_fetch *f)
{
    if (!f)
        return;
    free(f->root);
    if (f->root_fd >= 0)
        close(f->root_fd);
    for (size_t i = 0; i < f->nhosts; i++)
        free(f->hosts[i]);
    free(f);
}

modq_fetch *modq_fetch_new(const char *file_root, const char *const *hosts, size_t nhosts,
                           size_t max_bytes, long timeout_ms, char *errstr, size_t errstr_size)
{
    modq_fetch *f = calloc(1, sizeof(*f));

    if (!errstr)
        errstr_size = 0;
    if (!f) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    f->root_fd = -1;
    if (nhosts > MAX_HOSTS || (nhosts && !hosts) || max_bytes == 0 || timeout_ms <= 0) {
        snprintf(errstr, errstr_size, "fetch: invalid limits or more than %d hosts", MAX_HOSTS);
        goto fail;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(errstr, errstr_size, "fetch: libcurl could not be initialised");
        goto fail;
    }
    if (file_root && *file_root) {
        if (file_root[0] != '/' || !(f->root = realpath(file_root, NULL)) ||
            (f->root_fd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
            snprintf(errstr, errstr_size, "fetch.file_root %s: %s", file_root,
                     file_root[0] != '/' ? "must be an absolute path" : strerror(errno));
            goto fail;
        }
    }
    for (size_t i = 0; i < nhosts; i++) {
        if (!(f->hosts[i] = strdup(hosts[i]))) {
            snprintf(errstr, errstr_size, "out of memory");
            goto fail;
        }
        f->nhosts++;
    }
    f->max_bytes = max_bytes;
    f->timeout_ms = timeout_ms;
    return f;
fail:
    modq_fetch_free(f);
    return NULL;
}

/* Opens rel beneath the root. openat2(RESOLVE_BENEATH) lets the kernel refuse any escape (.., an
 * absolute symlink, a symlink swapped in after a check); without it, a resolved-path check and
 * O_NOFOLLOW on the last component stand in. */
static int open_beneath(const modq_fetch *f, const char *rel)
{
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    char full[PATH_MAX], *real;
    size_t n = strlen(f->root);
    int fd = (int)syscall(SYS_openat2, f->root_fd, rel, &how, sizeof(how));

    if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
        return fd;
    if ((size_t)snprintf(full, sizeof(full), "%s/%s", f->root, rel) >= sizeof(full)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (!(real = realpath(full, NULL)))
        return -1;
    if (strncmp(real, f->root, n) != 0 || (real[n] != '/' && real[n] != '\0')) {
        free(real);
        errno = EXDEV;
        return -1;
    }
    fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    free(real);
    return fd;
}

static modq_fetch_result fetch_file(const modq_fetch *f, const char *path, uint8_t **data,
                                    size_t *len, char *errstr, size_t errstr_size)
{
    size_t n = strlen(f->root), got = 0;
    struct stat st;
    uint8_t *buf = NULL;
    modq_fetch_result r;
    int fd;

    /* The lexical check gives a clear error; open_beneath enforces it against the file system. */
    if (strncmp(path, f->root, n) != 0 || path[n] != '/') {
        snprintf(errstr, errstr_size, "outside the media root %s: %.300s", f->root, path);
        return MODQ_FETCH_ERR_OUTSIDE_ROOT;
    }
    if ((fd = open_beneath(f, path + n + 1)) < 0) {
        int e = errno;
        snprintf(errstr, errstr_size, "%.300s: %s", path, strerror(e));
        return e == ENOENT                ? MODQ_FETCH_ERR_NOT_FOUND
               : e == EXDEV || e == ELOOP ? MODQ_FETCH_ERR_OUTSIDE_ROOT
                                          : MODQ_FETCH_ERR_NETWORK;
    }
    r = MODQ_FETCH_ERR_NETWORK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(errstr, errstr_size, "%.300s: not a regular file", path);
        r = MODQ_FETCH_ERR_NOT_FOUND;
        goto out;
    }
    if ((uint64_t)st.st_size > f->max_bytes) {
        snprintf(errstr, errstr_size, "media too large: %lld bytes > %zu", (long long)st.st_size,
                 f->max_bytes);
        r = MODQ_FETCH_ERR_TOO_LARGE;
        goto out;
    }
    if (!(buf = malloc(st.st_size ? (size_t)st.st_size : 1))) {
        r = MODQ_FETCH_ERR_NOMEM;
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            snprintf(errstr, errstr_size, "%.300s: read failed", path);
            goto out;
        }
        got += (size_t)k;
    }
    *data = buf;
    *len = got;
    buf = NULL;
    r = MODQ_FETCH_OK;
out:
    free(buf);
    close(fd);
    return r;
}

typedef struct sink {
    uint8_t *buf;
    size_t len, cap, max;
    int too_large;
} sink;

/* Collects the body, refusing to grow past the cap whatever the server claimed. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *user)
{
    sink *s = user;
    size_t n = size * nmemb;

    if (n > s->max - s->len) {
        s->too_large = 1;
        return 0;
    }
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 64 * 1024;
        uint8_t *b;
        while (cap < s->len + n)
            cap *= 2;
        cap = cap > s->max ? s->max : cap;
        if (!(b = realloc(s->buf, cap)))
            return 0;
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, ptr, n);
    s->len += n;
    return n;
}

static int host_allowed(const modq_fetch *f, const char *host)
{
    for (size_t i = 0; i < f->nhosts; i++)
        if (strcasecmp(f->hosts[i], host) == 0)
            return 1;
    return 0;
}

/* Parses uri into its scheme and host (both curl-allocated: curl_free). */
static int uri_parts(const char *uri, char **scheme, char **host, char **path)
{
    CURLU *u = curl_url();
    int ok = 0;

    *scheme = *host = NULL;
    if (path)
        *path = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, uri, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK) {
        ok = 1;
        if (curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK)
            *host = NULL;
        if (path && curl_url_get(u, CURLUPART_PATH, path, CURLU_URLDECODE) != CURLUE_OK)
            ok = 0;
    }
    curl_url_cleanup(u);
    return ok;
}

static modq_fetch_result fetch_http(const modq_fetch *f, const char *uri, const char *host,
                                    uint8_t **data, size_t *len, char *errstr, size_t errstr_size)
{
    sink s = {.max = f->max_bytes};
    char *url = strdup(uri);
    CURL *c = curl_easy_init();
    modq_fetch_result r = MODQ_FETCH_ERR_NOMEM;

    if (!c || !url)
        goto out;
    for (int hop = 0;; hop++) {
        long status = 0;
        char *next = NULL, *nscheme = NULL, *nhost = NULL;
        CURLcode cc;

        s.len = 0;
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* each hop is checked here instead */
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, f->timeout_ms);
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max_bytes);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "modq-worker");
        cc = curl_easy_perform(c);
        if (cc == CURLE_FILESIZE_EXCEEDED || (cc == CURLE_WRITE_ERROR && s.too_large)) {
            snprintf(errstr, errstr_size, "media too large: over %zu bytes", f->max_bytes);
            r = MODQ_FETCH_ERR_TOO_LARGE;
            goto out;
        }
        if (cc == CURLE_OPERATION_TIMEDOUT) {
            snprintf(errstr, errstr_size, "fetch timed out after %ld ms", f->timeout_ms);
            r = MODQ_FETCH_ERR_TIMEOUT;
            goto out;
        }
        if (cc != CURLE_OK) {
            snprintf(errstr, errstr_size, "fetch failed: %s", curl_easy_strerror(cc));
            r = MODQ_FETCH_ERR_NETWORK;
            goto out;
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300)
            break;
        if (status < 300 || status >= 400 ||
            curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &next) != CURLE_OK || !next) {
            snprintf(errstr, errstr_size, "HTTP status %ld", status);
            r = status == 404 || status == 410 ? MODQ_FETCH_ERR_NOT_FOUND : MODQ_FETCH_ERR_HTTP;
            goto out;
        }
        if (hop + 1 >= MAX_REDIRECTS || !uri_parts(next, &nscheme, &nhost, NULL) || !nhost ||
            strcasecmp(nhost, host) != 0 ||
            (strcmp(nscheme, "http") != 0 && strcmp(nscheme, "https") != 0)) {
            snprintf(errstr, errstr_size, "redirect refused: %.300s", next);
            curl_free(nscheme);
            curl_free(nhost);
            r = MODQ_FETCH_ERR_REDIRECT;
            goto out;
        }
        curl_free(nscheme);
        curl_free(nhost);
        free(url);
        if (!(url = strdup(next)))
            goto out;
    }
    *data = s.buf ? s.buf : malloc(1);
    if (!*data)
        goto out;
    *len = s.len;
    s.buf = NULL;
    r = MODQ_FETCH_OK;
out:
    free(s.buf);
    free(url);
    curl_easy_cleanup(c);
    return r;
}

modq_fetch_result modq_fetch_get(const modq_fetch *f, const char *uri, uint8_t **data, size_t *len,
                                 char *errstr, size_t errstr_size)
{
    char *scheme = NULL, *host = NULL, *path = NULL;
    modq_fetch_result r;

    if (!errstr)
        errstr_size = 0;
    if (!f || !uri || !data || !len)
        return MODQ_FETCH_ERR_INVALID_ARG;
    if (!uri_parts(uri, &scheme, &host, &path)) {
        snprintf(errstr, errstr_size, "malformed media URI");
        r = MODQ_FETCH_ERR_BAD_URI;
    } else if (strcmp(scheme, "file") == 0) {
        if (!f->root) {
            snprintf(errstr, errstr_size, "file:// media is disabled (no fetch.file_root)");
            r = MODQ_FETCH_ERR_SCHEME;
        } else if (host && *host && strcmp(host, "localhost") != 0) {
            snprintf(errstr, errstr_size, "file:// with a remote host: %.200s", host);
            r = MODQ_FETCH_ERR_HOST;
        } else {
            r = fetch_file(f, path, data, len, errstr, errstr_size);
        }
    } else if (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) {
        if (!host || !host_allowed(f, host)) {
            snprintf(errstr, errstr_size, "host not allowed: %.200s", host ? host : "(none)");
            r = MODQ_FETCH_ERR_HOST;
        } else {
            r = fetch_http(f, uri, host, data, len, errstr, errstr_size);
        }
    } else {
        snprintf(errstr, errstr_size, "scheme not allowed: %.50s", scheme);
        r = MODQ_FETCH_ERR_SCHEME;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(path);
    return r;
}
