/* fetch.h: fetching a ticket's media by URI, under the operator's limits (private). */
#ifndef MODQ_WORKER_FETCH_H
#define MODQ_WORKER_FETCH_H

#include <stddef.h>
#include <stdint.h>

typedef enum modq_fetch_result {
    MODQ_FETCH_OK = 0,
    MODQ_FETCH_ERR_INVALID_ARG,
    MODQ_FETCH_ERR_NOMEM,
    MODQ_FETCH_ERR_BAD_URI,      /* not a URI libcurl can parse */
    MODQ_FETCH_ERR_SCHEME,       /* scheme not allowed, or file:// with no root configured */
    MODQ_FETCH_ERR_HOST,         /* host not on the allow-list */
    MODQ_FETCH_ERR_PORT,         /* host on the allow-list, but not with this port */
    MODQ_FETCH_ERR_OUTSIDE_ROOT, /* file:// path escapes the configured root */
    MODQ_FETCH_ERR_NOT_FOUND,    /* no such file, or HTTP 404/410 */
    MODQ_FETCH_ERR_TOO_LARGE,    /* over max_bytes */
    MODQ_FETCH_ERR_TIMEOUT,
    MODQ_FETCH_ERR_REDIRECT, /* redirect to another host, to a port not allowed, or too many */
    MODQ_FETCH_ERR_HTTP,     /* any other non-2xx status */
    MODQ_FETCH_ERR_NETWORK,  /* connection, TLS or I/O failure */
    MODQ_FETCH_RESULT_COUNT
} modq_fetch_result;

/* A static sentence, and a stable machine code for dead letters ("host_not_allowed"...). */
const char *modq_fetch_strerror(modq_fetch_result r);
const char *modq_fetch_code(modq_fetch_result r);

typedef struct modq_fetch modq_fetch;

/*
 * A fetcher. file_root: absolute directory that file:// URIs must stay under (NULL or "" disables
 * file://). hosts: what http(s) may reach (none disables http), each host[:port] as
 * modq_fetch_check_allowed_host accepts it. An entry with a port allows that port only, with
 * either scheme; one without allows only the scheme's default port (80 for http://, 443 for
 * https://). Every redirect hop is held to the same rule, and to the first hop's host. max_bytes
 * caps every fetch; timeout_ms caps each request. Initialises libcurl: call from one thread at
 * start-up. Caller owns the result (modq_fetch_free); NULL on error with errstr filled.
 */
modq_fetch *modq_fetch_new(const char *file_root, const char *const *hosts, size_t nhosts,
                           size_t max_bytes, long timeout_ms, char *errstr, size_t errstr_size);

/*
 * Checks one allow-list entry: host[:port], the host a DNS name or IPv4 address of
 * [A-Za-z0-9.-] (at most 253 bytes, not starting with '.' or '-') or an IPv6 address in brackets
 * ([::1], [2001:db8::1]:8443), the port 1..65535. MODQ_FETCH_ERR_INVALID_ARG with errstr naming
 * the flaw otherwise. The config loader uses it, so that a bad entry is refused with its key.
 */
modq_fetch_result modq_fetch_check_allowed_host(const char *entry, char *errstr,
                                                size_t errstr_size);
void modq_fetch_free(modq_fetch *f);

/*
 * Fetches uri whole. On success *data (malloc'd, caller frees) holds *len bytes. Thread-safe: a
 * fetcher may serve many threads at once. errstr gets one line naming the reason.
 */
modq_fetch_result modq_fetch_get(const modq_fetch *f, const char *uri, uint8_t **data, size_t *len,
                                 char *errstr, size_t errstr_size);

#endif
