/*
 * api_conn.c: the load side's HTTP/1.1 connections (api_bench.h). One non-blocking keep-alive
 * socket per simulated associate, one request at a time, each answer read by its Content-Length.
 *
 * Why not libcurl, as the rest of modq uses: the load generator shares the two cores with the
 * worker it measures, and on a saturation run libcurl's multi interface cost this client about
 * 40 µs of CPU per request, close to what the worker spent answering it. What the client takes
 * the worker does not get, and the latency measured grows with it. The worker's answers all
 * have one plain shape (status line, headers, Content-Length, body), so a reader for exactly
 * that shape is short; anything else (chunked, no length, oversized) is an error, not a guess.
 */
#include "api_bench.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX   (16u * 1024)        /* status line and headers of one answer */
#define ANSWER_MAX (16u * 1024 * 1024) /* a whole answer; renditions are a few KiB */
#define READ_MIN   (16u * 1024)        /* room asked of recv() at least, per call */

struct api_conn {
    int fd;
    struct sockaddr_storage addr; /* for api_conn_reconnect */
    socklen_t addr_len;
    int family, type, proto;
    const char *req; /* the request being sent: the caller's, until the answer is in */
    size_t req_len, req_off;
    char *buf; /* the answer so far: status line and headers, then the body */
    size_t len, cap;
    size_t head_len; /* 0 until the blank line after the headers has been read */
    size_t body_len;
    int status;
};

/* Connects c->fd (blocking, before any clock starts), then makes it non-blocking. */
static int dial(api_conn *c)
{
    int one = 1, fl;
    c->fd = socket(c->family, c->type | SOCK_CLOEXEC, c->proto);
    if (c->fd < 0 || connect(c->fd, (const struct sockaddr *)&c->addr, c->addr_len) != 0 ||
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        (fl = fcntl(c->fd, F_GETFL)) < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        return -1;
    }
    return 0;
}

api_conn *api_conn_open(const char *host, const char *port, char *err, size_t errsz)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    api_conn *c = NULL;
    int gai, dial_errno = 0;

    if ((gai = getaddrinfo(host, port, &hints, &ai)) != 0) {
        snprintf(err, errsz, "%s:%s: %s", host, port, gai_strerror(gai));
        return NULL;
    }
    if (!(c = calloc(1, sizeof *c))) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    c->fd = -1;
    /* "localhost" may name ::1 first while the worker listens on 127.0.0.1 only: every address
     * is tried in the resolver's order, as curl does. */
    for (const struct addrinfo *p = ai; p; p = p->ai_next) {
        if (p->ai_addrlen > sizeof c->addr) {
            continue;
        }
        memcpy(&c->addr, p->ai_addr, p->ai_addrlen);
        c->addr_len = p->ai_addrlen;
        c->family = p->ai_family;
        c->type = p->ai_socktype;
        c->proto = p->ai_protocol;
        if (dial(c) == 0) {
            goto out;
        }
        dial_errno = errno;
        if (c->fd >= 0) {
            close(c->fd);
        }
        c->fd = -1;
    }
    snprintf(err, errsz, "connect %s:%s: %s", host, port,
             dial_errno ? strerror(dial_errno) : "no usable address");
    api_conn_close(c);
    c = NULL;
out:
    freeaddrinfo(ai);
    return c;
}

int api_conn_reconnect(api_conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->len = c->head_len = c->body_len = 0;
    c->status = 0;
    return dial(c);
}

bool api_conn_closed(const api_conn *c)
{
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

int api_conn_fd(const api_conn *c)
{
    return c->fd;
}

/* Writes what the kernel takes now: 1 = all sent, 0 = the rest waits for EPOLLOUT, -1 = error. */
static int flush(api_conn *c)
{
    while (c->req_off < c->req_len) {
        ssize_t n = send(c->fd, c->req + c->req_off, c->req_len - c->req_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        c->req_off += (size_t)n;
    }
    return 1;
}

int api_conn_send(api_conn *c, const char *req, size_t len)
{
    c->req = req;
    c->req_len = len;
    c->req_off = 0;
    c->len = c->head_len = c->body_len = 0;
    c->status = 0;
    return flush(c);
}

int api_conn_writable(api_conn *c)
{
    return flush(c);
}

/* Reads one Content-Length value at q (the bytes after the colon) up to the line's end at eol:
 * optional blanks, digits, optional blanks, then CR. -1 for anything else or over ANSWER_MAX. */
static int parse_length(const char *q, const char *eol, size_t *out)
{
    unsigned long long v = 0;
    while (q < eol && (*q == ' ' || *q == '\t')) {
        q++;
    }
    if (q == eol || *q < '0' || *q > '9') {
        return -1;
    }
    for (; q < eol && *q >= '0' && *q <= '9'; q++) {
        v = v * 10 + (unsigned)(*q - '0');
        if (v > ANSWER_MAX) {
            return -1;
        }
    }
    while (q < eol && (*q == ' ' || *q == '\t')) {
        q++;
    }
    if (q + 1 != eol || *q != '\r') {
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

/* The headers are in c->buf[0 .. head_len): status and Content-Length, or -1 when the answer is
 * not one this reader takes. Two Content-Length headers that disagree are refused, as RFC 9112
 * section 6.3 asks: which one the worker meant cannot be known. */
static int parse_head(api_conn *c)
{
    const char *p = c->buf, *end = c->buf + c->head_len, *eol;
    bool have_len = false;

    if (c->head_len < 13 || strncmp(p, "HTTP/1.1 ", 9) != 0 || p[9] < '1' || p[9] > '5' ||
        p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' ||
        (p[12] != ' ' && p[12] != '\r')) {
        return -1;
    }
    c->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    for (p = memchr(p, '\n', (size_t)(end - p)); p && p + 1 < end; p = eol) {
        size_t n;
        p++;
        if (!(eol = memchr(p, '\n', (size_t)(end - p)))) {
            break;
        }
        n = (size_t)(eol - p);
        if (n >= 15 && strncasecmp(p, "Content-Length:", 15) == 0) {
            size_t v;
            if (parse_length(p + 15, eol, &v) != 0 || (have_len && v != c->body_len)) {
                return -1;
            }
            c->body_len = v;
            have_len = true;
        } else if (n >= 18 && strncasecmp(p, "Transfer-Encoding:", 18) == 0) {
            return -1; /* chunked answers are not expected from the worker */
        }
    }
    return have_len && c->head_len + c->body_len <= ANSWER_MAX ? 0 : -1;
}

/* Where the blank line ending the headers starts in buf[0 .. len), searching from `from` (the
 * bytes before it were searched already); NULL when it has not come yet. A NUL byte in a
 * header does not hide it, as it would from strstr(). */
static const char *find_blank(const char *buf, size_t len, size_t from)
{
    for (size_t i = from; i + 4 <= len; i++) {
        if (buf[i] == '\r' && memcmp(buf + i, "\r\n\r\n", 4) == 0) {
            return buf + i;
        }
    }
    return NULL;
}

int api_conn_readable(api_conn *c)
{
    for (;;) {
        ssize_t n;
        size_t before = c->len;
        /* The whole answer fits in ANSWER_MAX bytes (parse_head sees to it), so the buffer never
         * needs more than that; while it is smaller, each recv() is offered READ_MIN at least. */
        if (c->cap - c->len < READ_MIN && c->cap < ANSWER_MAX) {
            size_t cap = c->cap ? 2 * c->cap : 4 * READ_MIN;
            char *b;
            if (cap > ANSWER_MAX) {
                cap = ANSWER_MAX;
            }
            if (!(b = realloc(c->buf, cap))) {
                return -1;
            }
            c->buf = b;
            c->cap = cap;
        }
        if (c->len == c->cap) {
            return -1; /* unreachable while parse_head holds the cap; kept as a guard */
        }
        n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        if (n == 0) {
            return -1; /* closed by the worker in the middle of a request */
        }
        c->len += (size_t)n;
        if (c->head_len == 0) {
            const char *blank = find_blank(c->buf, c->len, before > 3 ? before - 3 : 0);
            if (blank) {
                c->head_len = (size_t)(blank - c->buf) + 4;
                if (c->head_len > HEAD_MAX || parse_head(c) != 0) {
                    return -1;
                }
            } else if (c->len > HEAD_MAX) {
                return -1;
            }
        }
        if (c->head_len > 0 && c->len >= c->head_len + c->body_len) {
            return c->len == c->head_len + c->body_len ? 1 : -1; /* nothing was asked for more */
        }
    }
}

int api_conn_status(const api_conn *c)
{
    return c->status;
}

const char *api_conn_body(const api_conn *c, size_t *len)
{
    /* After a failure part way, only the bytes that came: never the length the head promised. */
    size_t got = c->head_len > 0 && c->len > c->head_len ? c->len - c->head_len : 0;
    *len = c->body_len < got ? c->body_len : got;
    return c->buf && c->head_len > 0 ? c->buf + c->head_len : "";
}

void api_conn_close(api_conn *c)
{
    if (!c) {
        return;
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    free(c->buf);
    free(c);
}
