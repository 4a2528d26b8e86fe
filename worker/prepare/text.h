/*
 * text.h: the one rule for text that comes from outside (private to worker/). Every string of an
 * inbound ticket, every ticket id a route names, and a support request's message
 * (modq_desk_text_ok) are judged here before anything is built from them: JSON answers, Kafka
 * headers, URLs, log lines. protobuf-c checks none of it (not even
 * UTF-8), and one string jansson refuses would stop the answer that carries it.
 *
 * Kinds:
 *  - MODQ_TEXT_ID: 1..max bytes of printable ASCII (0x21..0x7e), neither "." nor "..". Ids
 *    travel into Kafka headers, logs and URL paths; a path segment "." or ".." is removed by
 *    every browser and by curl before the request leaves, so such an id could never be named.
 *  - MODQ_TEXT_NAME: one line of UTF-8: no control character at all (C0, DEL, C1).
 *  - MODQ_TEXT_FREE: UTF-8 text: no control character but tab, newline and carriage return.
 * UTF-8 is strict (no overlong forms, surrogates, code points past U+10FFFF or NUL), as glib's
 * g_utf8_validate_len judges it.
 */
#ifndef MODQ_WORKER_TEXT_H
#define MODQ_WORKER_TEXT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum modq_text_kind {
    MODQ_TEXT_ID = 0,
    MODQ_TEXT_NAME,
    MODQ_TEXT_FREE,
} modq_text_kind;

typedef enum modq_text_result {
    MODQ_TEXT_OK = 0,
    MODQ_TEXT_ERR_EMPTY,    /* an id of no bytes */
    MODQ_TEXT_ERR_TOO_LONG, /* more than max bytes */
    MODQ_TEXT_ERR_UTF8,     /* not valid UTF-8 */
    MODQ_TEXT_ERR_CHAR,     /* a character this kind does not allow */
    MODQ_TEXT_RESULT_COUNT
} modq_text_result;

/* A short phrase for people, e.g. "not valid UTF-8". */
const char *modq_text_strerror(modq_text_result r);

/* Bytes of a ticket id: the routes, the desk and the decided set all hold at most this many. */
#define MODQ_TEXT_TICKET_ID_MAX 128

/* Judges the n bytes at s (s may hold no NUL within them) as kind, at most max bytes. Only an id
 * must not be empty; whether other text is required is the caller's rule. */
modq_text_result modq_text_check(modq_text_kind kind, const char *s, size_t n, size_t max);

/* The ticket id rule, shared by ingest and the item routes: MODQ_TEXT_ID, at most
 * MODQ_TEXT_TICKET_ID_MAX bytes. */
bool modq_text_ticket_id(const char *s, size_t n);

#endif
