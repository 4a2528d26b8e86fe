/*
 * fetch.c: a ticket's media given by URI. The URI comes from the flagging pipeline, so it is
 * untrusted like the media itself: only file:// under one configured root and http(s) to an
 * allow-list of host[:port] entries, with a size cap and a time cap. Redirects are followed here,
 * hop by hop, not by libcurl: each hop must stay on the first hop's host and pass the allow-list
 * again, port included (a redirect to another host, or to another port of an allowed host, would
 * sidestep the allow-list). Entries and URIs are both read by libcurl's URL parser, and the
 * parsed URL is the one fetched, so the check and the request cannot read a URI differently.
 */
#define _GNU_SOURCE /* O_PATH */
#include "fetch.h"

#include <ctype.h>
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

#define MAX_HOSTS         64
#define MAX_REDIRECTS     3
#define HOST_NAME_MAX_LEN 253 /* a DNS name */
#define HOST_V6_MAX_LEN   45  /* an IPv6 address in text, IPv4-mapped included */

/* One allow-list entry. */
typedef struct allowed {
    char *host; /* as libcurl's URL parser gives it: IPv6 in brackets, IPv4 forms normalised */
    long port;  /* 0: the scheme's default port only */
} allowed;

struct modq_fetch {
    char *root;  /* realpath of the file root, or NULL */
    int root_fd; /* O_PATH descriptor of the root, or -1 */
    allowed hosts[MAX_HOSTS];
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
    [MODQ_FETCH_ERR_PORT] = {"port_not_allowed", "port not on the allow-list for this host"},
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
    if (!f) {
        return;
    }
    free(f->root);
    if (f->root_fd >= 0) {
        close(f->root_fd);
    }
    for (size_t i = 0; i < f->nhosts; i++) {
        free(f->hosts[i].host);
    }
    free(f);
}

/* The port of an entry (the text after its host), 0 when there is none; -1 when malformed. */
static long entry_port(const char *p)
{
    long port = 0;

    if (*p == '\0') {
        return 0;
    }
    if (*p++ != ':' || *p == '\0' || strlen(p) > 5) {
        return -1;
    }
    for (; *p; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
        port = port * 10 + (*p - '0');
    }
    return port >= 1 && port <= 65535 ? port : -1;
}

/* Checks entry as modq_fetch_check_allowed_host does; on success, and when host is not NULL,
 * *host is its host as libcurl reads it (malloc'd, caller frees) and *port its port or 0. */
static modq_fetch_result parse_entry(const char *entry, char **host, long *port, char *errstr,
                                     size_t errstr_size)
{
    int v6 = entry && entry[0] == '[';
    const char *h = entry ? entry + v6 : "", *hend;
    char url[HOST_NAME_MAX_LEN + 16], *parsed = NULL;
    size_t n;
    CURLU *u = NULL;
    modq_fetch_result r = MODQ_FETCH_ERR_INVALID_ARG;

    if (v6 && !(hend = strchr(h, ']'))) {
        snprintf(errstr, errstr_size, "an IPv6 address must be in brackets: [::1]:8443");
        return r;
    }
    if (!v6) {
        hend = h + strcspn(h, ":");
    }
    n = (size_t)(hend - h);
    if (n == 0 || n > (v6 ? HOST_V6_MAX_LEN : HOST_NAME_MAX_LEN) || h[0] == '.' || h[0] == '-') {
        snprintf(errstr, errstr_size, "must be host[:port] with a host of 1..%d bytes",
                 v6 ? HOST_V6_MAX_LEN : HOST_NAME_MAX_LEN);
        return r;
    }
    for (const char *p = h; p < hend; p++) {
        if (!(v6 ? isxdigit((unsigned char)*p) || *p == ':' || *p == '.'
                 : isalnum((unsigned char)*p) || *p == '.' || *p == '-')) {
            snprintf(errstr, errstr_size, "host has a character outside %s",
                     v6 ? "[0-9a-fA-F:.]" : "[A-Za-z0-9.-]");
            return r;
        }
    }
    if ((*port = entry_port(hend + v6)) < 0) {
        snprintf(errstr, errstr_size, "port must be an integer between 1 and 65535");
        return r;
    }
    snprintf(url, sizeof(url), "http://%s/", entry);
    if (!(u = curl_url()) || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &parsed, 0) != CURLUE_OK) {
        snprintf(errstr, errstr_size, "not a host libcurl can parse");
        goto out;
    }
    if (host && !(*host = strdup(parsed))) {
        r = MODQ_FETCH_ERR_NOMEM;
        goto out;
    }
    r = MODQ_FETCH_OK;
out:
    curl_free(parsed);
    curl_url_cleanup(u);
    return r;
}

modq_fetch_result modq_fetch_check_allowed_host(const char *entry, char *errstr, size_t errstr_size)
{
    long port;

    if (!errstr) {
        errstr_size = 0;
    }
    return parse_entry(entry, NULL, &port, errstr, errstr_size);
}

modq_fetch *modq_fetch_new(const char *file_root, const char *const *hosts, size_t nhosts,
                           size_t max_bytes, long timeout_ms, char *errstr, size_t errstr_size)
{
    modq_fetch *f = calloc(1, sizeof(*f));

    if (!errstr) {
        errstr_size = 0;
    }
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
        char why[160] = "";
        if (parse_entry(hosts[i], &f->hosts[i].host, &f->hosts[i].port, why, sizeof(why)) !=
            MODQ_FETCH_OK) {
            snprintf(errstr, errstr_size, "fetch.allowed_hosts[%zu]: %s", i,
                     why[0] ? why : "out of memory");
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

    if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) {
        return fd;
    }
    if ((size_t)snprintf(full, sizeof(full), "%s/%s", f->root, rel) >= sizeof(full)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (!(real = realpath(full, NULL))) {
        return -1;
    }
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
        if (k < 0 && errno == EINTR) {
            continue;
        }
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
        while (cap < s->len + n) {
            cap *= 2;
        }
        cap = cap > s->max ? s->max : cap;
        if (!(b = realloc(s->buf, cap))) {
            return 0;
        }
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, ptr, n);
    s->len += n;
    return n;
}

/* A URI as libcurl's parser reads it. The strings are curl-allocated; target_free. */
typedef struct target {
    CURLU *u;
    char *scheme, *host, *path; /* path only for file:// */
    long port;                  /* http(s): the explicit port, or the scheme's default */
    int zone;                   /* an IPv6 zone id ([fe80::1%25eth0]) was given */
} target;

static void target_free(target *t)
{
    curl_free(t->scheme);
    curl_free(t->host);
    curl_free(t->path);
    curl_url_cleanup(t->u);
    memset(t, 0, sizeof(*t));
}

/* Parses uri into t; 0 when libcurl cannot (t is then empty). */
static int target_parse(const char *uri, target *t)
{
    char *port = NULL, *zone = NULL;
    int ok = 0;

    memset(t, 0, sizeof(*t));
    if (!(t->u = curl_url()) ||
        curl_url_set(t->u, CURLUPART_URL, uri, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(t->u, CURLUPART_SCHEME, &t->scheme, 0) != CURLUE_OK) {
        goto out;
    }
    if (curl_url_get(t->u, CURLUPART_HOST, &t->host, 0) != CURLUE_OK) {
        t->host = NULL;
    }
    if (strcmp(t->scheme, "file") == 0) {
        ok = curl_url_get(t->u, CURLUPART_PATH, &t->path, CURLU_URLDECODE) == CURLUE_OK;
        goto out;
    }
    t->zone = curl_url_get(t->u, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK;
    if (curl_url_get(t->u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        t->port = strtol(port, NULL, 10);
    }
    ok = 1;
out:
    curl_free(port);
    curl_free(zone);
    if (!ok) {
        target_free(t);
    }
    return ok;
}

static int is_http(const target *t)
{
    return strcmp(t->scheme, "http") == 0 || strcmp(t->scheme, "https") == 0;
}

/* The allow-list's rule for an http(s) target: MODQ_FETCH_OK, ERR_HOST or ERR_PORT, with errstr
 * filled when not OK (naming the ports that host may use with this scheme). */
static modq_fetch_result target_allowed(const modq_fetch *f, const target *t, char *errstr,
                                        size_t errstr_size)
{
    long def = strcmp(t->scheme, "https") == 0 ? 443 : 80;
    char ports[64] = "";
    size_t o = 0;

    for (size_t i = 0; t->host && !t->zone && i < f->nhosts; i++) {
        long p = f->hosts[i].port ? f->hosts[i].port : def;
        if (strcasecmp(f->hosts[i].host, t->host) != 0) {
            continue;
        }
        if (p == t->port) {
            return MODQ_FETCH_OK;
        }
        if (o < sizeof(ports)) {
            int n = snprintf(ports + o, sizeof(ports) - o, "%s%ld", o ? ", " : "", p);
            o += n > 0 ? (size_t)n : 0;
        }
    }
    if (o == 0) {
        snprintf(errstr, errstr_size, "host not allowed: %.200s%s", t->host ? t->host : "(none)",
                 t->zone ? " (with a zone id)" : "");
        return MODQ_FETCH_ERR_HOST;
    }
    snprintf(errstr, errstr_size, "port %ld of %.200s not allowed for %s (allowed: %s)", t->port,
             t->host, t->scheme, ports);
    return MODQ_FETCH_ERR_PORT;
}

/* Checks the next hop of a redirect from a fetch of host: http(s), the same host, and the
 * allow-list's rule, port included. On success *next holds it (target_free). */
static modq_fetch_result next_hop(const modq_fetch *f, const char *host, const char *url,
                                  target *next, char *errstr, size_t errstr_size)
{
    char why[300] = "";

    if (!target_parse(url, next)) {
        snprintf(why, sizeof(why), "not a URI libcurl can parse");
    } else if (!is_http(next)) {
        snprintf(why, sizeof(why), "scheme %.50s", next->scheme);
    } else if (!next->host || strcasecmp(next->host, host) != 0) {
        snprintf(why, sizeof(why), "another host");
    } else if (target_allowed(f, next, why, sizeof(why)) == MODQ_FETCH_OK) {
        return MODQ_FETCH_OK;
    }
    snprintf(errstr, errstr_size, "redirect refused, %s: %.300s", why, url);
    target_free(next);
    return MODQ_FETCH_ERR_REDIRECT;
}

/* One request to the URL of u: the body into s, the status into *status. */
static modq_fetch_result fetch_once(const modq_fetch *f, CURL *c, CURLU *u, sink *s, long *status,
                                    char *errstr, size_t errstr_size)
{
    CURLcode cc;

    s->len = 0;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_CURLU, u); /* the URL as checked, not parsed again */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* each hop is checked by next_hop */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, f->timeout_ms);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max_bytes);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "modq-worker");
    cc = curl_easy_perform(c);
    if (cc == CURLE_FILESIZE_EXCEEDED || (cc == CURLE_WRITE_ERROR && s->too_large)) {
        snprintf(errstr, errstr_size, "media too large: over %zu bytes", f->max_bytes);
        return MODQ_FETCH_ERR_TOO_LARGE;
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(errstr, errstr_size, "fetch timed out after %ld ms", f->timeout_ms);
        return MODQ_FETCH_ERR_TIMEOUT;
    }
    if (cc != CURLE_OK) {
        snprintf(errstr, errstr_size, "fetch failed: %s", curl_easy_strerror(cc));
        return MODQ_FETCH_ERR_NETWORK;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return MODQ_FETCH_OK;
}

/* Fetches first, an allowed http(s) target, following at most MAX_REDIRECTS - 1 redirects. */
static modq_fetch_result fetch_http(const modq_fetch *f, const target *first, uint8_t **data,
                                    size_t *len, char *errstr, size_t errstr_size)
{
    sink s = {.max = f->max_bytes};
    target hop = {0};
    CURLU *u = first->u;
    CURL *c = curl_easy_init();
    modq_fetch_result r = MODQ_FETCH_ERR_NOMEM;

    if (!c) {
        goto out;
    }
    for (int n = 0;; n++) {
        long status = 0;
        char *next = NULL;
        target t;

        if ((r = fetch_once(f, c, u, &s, &status, errstr, errstr_size)) != MODQ_FETCH_OK) {
            goto out;
        }
        if (status >= 200 && status < 300) {
            break;
        }
        if (status < 300 || status >= 400 ||
            curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &next) != CURLE_OK || !next) {
            snprintf(errstr, errstr_size, "HTTP status %ld", status);
            r = status == 404 || status == 410 ? MODQ_FETCH_ERR_NOT_FOUND : MODQ_FETCH_ERR_HTTP;
            goto out;
        }
        if (n + 1 >= MAX_REDIRECTS) {
            snprintf(errstr, errstr_size, "redirect refused, more than %d redirects: %.300s",
                     MAX_REDIRECTS - 1, next);
            r = MODQ_FETCH_ERR_REDIRECT;
            goto out;
        }
        if ((r = next_hop(f, first->host, next, &t, errstr, errstr_size)) != MODQ_FETCH_OK) {
            goto out;
        }
        target_free(&hop);
        hop = t;
        u = hop.u;
    }
    r = MODQ_FETCH_ERR_NOMEM;
    *data = s.buf ? s.buf : malloc(1);
    if (!*data) {
        goto out;
    }
    *len = s.len;
    s.buf = NULL;
    r = MODQ_FETCH_OK;
out:
    free(s.buf);
    target_free(&hop);
    curl_easy_cleanup(c);
    return r;
}

modq_fetch_result modq_fetch_get(const modq_fetch *f, const char *uri, uint8_t **data, size_t *len,
                                 char *errstr, size_t errstr_size)
{
    target t;
    modq_fetch_result r;

    if (!errstr) {
        errstr_size = 0;
    }
    if (!f || !uri || !data || !len) {
        return MODQ_FETCH_ERR_INVALID_ARG;
    }
    if (!target_parse(uri, &t)) {
        snprintf(errstr, errstr_size, "malformed media URI");
        return MODQ_FETCH_ERR_BAD_URI;
    }
    if (strcmp(t.scheme, "file") == 0) {
        if (!f->root) {
            snprintf(errstr, errstr_size, "file:// media is disabled (no fetch.file_root)");
            r = MODQ_FETCH_ERR_SCHEME;
        } else if (t.host && *t.host && strcmp(t.host, "localhost") != 0) {
            snprintf(errstr, errstr_size, "file:// with a remote host: %.200s", t.host);
            r = MODQ_FETCH_ERR_HOST;
        } else {
            r = fetch_file(f, t.path, data, len, errstr, errstr_size);
        }
    } else if (is_http(&t)) {
        if ((r = target_allowed(f, &t, errstr, errstr_size)) == MODQ_FETCH_OK) {
            r = fetch_http(f, &t, data, len, errstr, errstr_size);
        }
    } else {
        snprintf(errstr, errstr_size, "scheme not allowed: %.50s", t.scheme);
        r = MODQ_FETCH_ERR_SCHEME;
    }
    target_free(&t);
    return r;
}
