/* ticket_testutil.h: packed modq.v1.Ticket messages for the tests of worker/. */
#ifndef MODQ_TICKET_TESTUTIL_H
#define MODQ_TICKET_TESTUTIL_H

#include "proto/modq.pb-c.h"

#include <stdint.h>
#include <stdlib.h>

/* Content and trace ids every test ticket carries, for assertions on what derives from it. */
#define TT_CONTENT_ID "content-1"
#define TT_TRACE_ID   "trace-1"

/* Packs a ticket of content content_id with inline media (media non-NULL), media by uri (uri
 * non-NULL), or none (text only). Returns a malloc'd buffer of *len bytes (caller frees), NULL
 * when out of memory. */
static inline uint8_t *tt_ticket_of(const char *id, const char *content_id, const char *queue,
                                    const uint8_t *media, size_t media_len, const char *uri,
                                    size_t *len)
{
    Modq__V1__Ticket t;
    Modq__V1__Media m;
    uint8_t *buf;

    modq__v1__ticket__init(&t);
    modq__v1__media__init(&m);
    t.ticket_id = (char *)(uintptr_t)id;
    t.content_id = (char *)(uintptr_t)content_id;
    t.queue = (char *)(uintptr_t)queue;
    t.trace_id = (char *)(uintptr_t)TT_TRACE_ID;
    if (media) {
        m.source_case = MODQ__V1__MEDIA__SOURCE_INLINE_BYTES;
        m.inline_bytes.data = (uint8_t *)(uintptr_t)media;
        m.inline_bytes.len = media_len;
        t.media = &m;
    } else if (uri) {
        m.source_case = MODQ__V1__MEDIA__SOURCE_URI;
        m.uri = (char *)(uintptr_t)uri;
        t.media = &m;
    }
    *len = modq__v1__ticket__get_packed_size(&t);
    if ((buf = malloc(*len ? *len : 1))) {
        modq__v1__ticket__pack(&t, buf);
    }
    return buf;
}

/* tt_ticket_of() with content TT_CONTENT_ID. */
static inline uint8_t *tt_ticket(const char *id, const char *queue, const uint8_t *media,
                                 size_t media_len, const char *uri, size_t *len)
{
    return tt_ticket_of(id, TT_CONTENT_ID, queue, media, media_len, uri, len);
}

#endif
