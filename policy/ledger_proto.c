/*
 * ledger_proto.c: the ledger as a modq.v1.Ledger protobuf message, so that the worker can keep it
 * in a compacted Kafka topic keyed by associate id and rebuild it after a restart.
 *
 * Unpacking trusts nothing: a ledger that comes back inconsistent (times out of order, a tier or
 * level out of range, over a size cap) is rejected rather than half-loaded, because a wrong
 * ledger would under- or over-count someone's exposure. So is one whose strings are not what
 * protobuf says a string is (UTF-8, no NUL byte that a C string would silently cut short: an
 * associate id "a\0b" must not become the ledger of "a").
 */
#include "policy_impl.h"

#include "proto/ledger.pb-c.h"

#include <glib.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEDGER_FORMAT 1

modq_policy_result modq_ledger_pack(const modq_ledger *l, uint8_t **buf, size_t *len)
{
    Modq__V1__Ledger msg;
    Modq__V1__LedgerSegment *segs = NULL, **segp = NULL;
    Modq__V1__LedgerBreak *brks = NULL, **brkp = NULL;
    Modq__V1__LedgerShift shifts[MODQ_LEDGER_MAX_SHIFTS], *shiftp[MODQ_LEDGER_MAX_SHIFTS];
    /* protobuf-c wants mutable strings; copies keep l const without casting it away. */
    char(*cats)[MODQ_POLICY_NAME_MAX] = NULL;
    char associate[MODQ_POLICY_NAME_MAX];
    uint8_t *out = NULL;
    modq_policy_result r = MODQ_POLICY_OK;

    if (l == NULL || buf == NULL || len == NULL) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    *buf = NULL;
    *len = 0;
    modq__v1__ledger__init(&msg);
    segs = calloc(l->nsegs + 1, sizeof *segs);
    segp = calloc(l->nsegs + 1, sizeof *segp);
    brks = calloc(l->nbreaks + 1, sizeof *brks);
    brkp = calloc(l->nbreaks + 1, sizeof *brkp);
    cats = calloc(MODQ_LEDGER_MAX_CATEGORIES, sizeof *cats);
    if (segs == NULL || segp == NULL || brks == NULL || brkp == NULL || cats == NULL) {
        r = MODQ_POLICY_ERR_NOMEM;
        goto out;
    }
    memcpy(cats, l->categories, sizeof l->categories);
    memcpy(associate, l->associate, sizeof associate);
    for (size_t i = 0; i < l->nsegs; i++) {
        const ledger_segment *s = &l->segs[i];
        modq__v1__ledger_segment__init(&segs[i]);
        segs[i].start_ms = s->start_ms;
        segs[i].end_ms = s->end_ms;
        segs[i].category = cats[s->category];
        segs[i].tier = s->tier;
        segs[i].reveal_level = s->level;
        segs[i].colour = s->colour;
        segs[i].item_start = s->item_start;
        segp[i] = &segs[i];
    }
    for (size_t i = 0; i < l->nbreaks; i++) {
        modq__v1__ledger_break__init(&brks[i]);
        brks[i].start_ms = l->breaks[i].start_ms;
        brks[i].end_ms = l->breaks[i].end_ms;
        brkp[i] = &brks[i];
    }
    for (size_t i = 0; i < l->nshifts; i++) {
        modq__v1__ledger_shift__init(&shifts[i]);
        shifts[i].start_ms = l->shifts[i].start_ms;
        shifts[i].end_ms = l->shifts[i].end_ms;
        shiftp[i] = &shifts[i];
    }
    msg.format_version = LEDGER_FORMAT;
    msg.associate_id = associate;
    msg.shift_start_ms = ledger_open_shift_start(l);
    msg.n_shifts = l->nshifts;
    msg.shifts = shiftp;
    msg.shift_floor_ms = l->shift_floor_ms;
    msg.last_ms = l->last_ms;
    msg.n_segments = l->nsegs;
    msg.segments = segp;
    msg.n_breaks = l->nbreaks;
    msg.breaks = brkp;
    msg.item_open = l->item_open;
    msg.on_break = l->on_break;
    size_t n = modq__v1__ledger__get_packed_size(&msg);
    out = malloc(n > 0 ? n : 1);
    if (out == NULL) {
        r = MODQ_POLICY_ERR_NOMEM;
        goto out;
    }
    *len = modq__v1__ledger__pack(&msg, out);
    *buf = out;
    out = NULL;
out:
    MODQ_FREE_NULL(out);
    MODQ_FREE_NULL(segs);
    MODQ_FREE_NULL(segp);
    MODQ_FREE_NULL(brks);
    MODQ_FREE_NULL(brkp);
    MODQ_FREE_NULL(cats);
    return r;
}

__attribute__((format(printf, 3, 4))) static modq_policy_result reject(char *errstr, size_t size,
                                                                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    modq_errstr_vset(errstr, size, fmt, ap);
    va_end(ap);
    return MODQ_POLICY_ERR_DECODE;
}

/* Whether s is valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF), as proto3
 * requires of a string and other runtimes check; glib's rule, the worker's too
 * (worker/prepare/text.c). */
static bool utf8_ok(const char *s)
{
    return g_utf8_validate(s, -1, NULL);
}

/* Reads a varint at *p; false when it runs past end or over 10 bytes. */
static bool wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; *p < end && shift < 70; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            return true;
        }
    }
    return false;
}

/* Whether the string fields of a Ledger (associate_id = 2) or, at depth 1, of a LedgerSegment
 * (category = 3, inside segments = 5) hold a NUL byte. protobuf-c hands strings over as C
 * strings, so this is only visible in the bytes, which protobuf-c has already parsed: what this
 * cannot walk (a group, which modq never writes) counts as a NUL, refused either way. */
static bool wire_nul_in_strings(const uint8_t *p, const uint8_t *end, int depth)
{
    while (p < end) {
        uint64_t tag, n = 0;
        if (!wire_varint(&p, end, &tag)) {
            return true;
        }
        switch (tag & 7) {
        case 0:
            if (!wire_varint(&p, end, &n)) {
                return true;
            }
            continue;
        case 1:
        case 5:
            n = (tag & 7) == 1 ? 8 : 4;
            break;
        case 2:
            if (!wire_varint(&p, end, &n) || n > (uint64_t)(end - p)) {
                return true;
            }
            if ((depth == 0 && tag >> 3 == 2) || (depth == 1 && tag >> 3 == 3)) {
                if (memchr(p, '\0', (size_t)n) != NULL) {
                    return true;
                }
            } else if (depth == 0 && tag >> 3 == 5 && wire_nul_in_strings(p, p + n, 1)) {
                return true;
            }
            break;
        default:
            return true; /* groups: nothing modq writes */
        }
        if (n > (uint64_t)(end - p)) {
            return true;
        }
        p += n;
    }
    return false;
}

/* A stored interval: start in range, end -1 (open) or in range and not before start. */
static bool interval_ok(int64_t start, int64_t end)
{
    return policy_time_ok(start) && (end == -1 || (policy_time_ok(end) && end >= start));
}

/* The shifts, checked like segments; a message without any (written before shifts were kept)
 * stands for its open shift, if any. */
static modq_policy_result fill_shifts(modq_ledger *l, const Modq__V1__Ledger *m, char *errstr,
                                      size_t size)
{
    int64_t prev = INT64_MIN;
    if (m->n_shifts > MODQ_LEDGER_MAX_SHIFTS) {
        return reject(errstr, size, "ledger over its size caps (%zu shifts)", m->n_shifts);
    }
    for (size_t i = 0; i < m->n_shifts; i++) {
        const Modq__V1__LedgerShift *sh = m->shifts[i];
        bool open = sh->end_ms == -1;
        if (!interval_ok(sh->start_ms, sh->end_ms) || sh->start_ms < prev ||
            (open && i + 1 != m->n_shifts) || sh->start_ms > m->last_ms ||
            (!open && sh->end_ms > m->last_ms)) {
            return reject(errstr, size, "shift %zu: times out of order or out of range", i);
        }
        prev = open ? sh->start_ms : sh->end_ms;
        l->shifts[i].start_ms = sh->start_ms;
        l->shifts[i].end_ms = sh->end_ms;
        l->nshifts++;
    }
    if (m->shift_start_ms != -1 && !policy_time_ok(m->shift_start_ms)) {
        return reject(errstr, size, "shift start %lld out of range", (long long)m->shift_start_ms);
    }
    if (m->n_shifts == 0 && m->shift_start_ms >= 0) {
        if (m->shift_start_ms > m->last_ms) {
            return reject(errstr, size, "shift start %lld out of range",
                          (long long)m->shift_start_ms);
        }
        l->shifts[0].start_ms = m->shift_start_ms;
        l->shifts[0].end_ms = -1;
        l->nshifts = 1;
    }
    if (ledger_open_shift_start(l) != m->shift_start_ms) {
        return reject(errstr, size, "shift start %lld does not match the open shift",
                      (long long)m->shift_start_ms);
    }
    /* 0 is the protobuf default of a message written before the field existed: none. The floor
     * is checked against the shifts as loaded, not as sent: a message without a shift list still
     * has its open shift, which pack writes as a list, and the next unpack checks that. */
    if (m->shift_floor_ms == -1 || m->shift_floor_ms == 0) {
        l->shift_floor_ms = -1;
    } else if (!policy_time_ok(m->shift_floor_ms) || m->shift_floor_ms > m->last_ms ||
               (l->nshifts > 0 && m->shift_floor_ms > l->shifts[0].start_ms)) {
        return reject(errstr, size, "shift floor %lld out of range", (long long)m->shift_floor_ms);
    } else {
        l->shift_floor_ms = m->shift_floor_ms;
    }
    return MODQ_POLICY_OK;
}

/* The segments, in order, each of a known tier and level with a UTF-8 category; only the last
 * may be open, and then the item is. */
static modq_policy_result fill_segments(modq_ledger *l, const Modq__V1__Ledger *m, char *errstr,
                                        size_t size)
{
    int64_t prev = INT64_MIN;
    if (m->n_segments > 0) {
        l->segs = calloc(m->n_segments, sizeof *l->segs);
        if (l->segs == NULL) {
            return MODQ_POLICY_ERR_NOMEM;
        }
        l->cap_segs = m->n_segments;
    }
    for (size_t i = 0; i < m->n_segments; i++) {
        const Modq__V1__LedgerSegment *s = m->segments[i];
        bool last = i + 1 == m->n_segments;
        if (s->tier < 1 || s->tier > MODQ_POLICY_TIERS || s->reveal_level < 0 ||
            s->reveal_level >= MODQ_POLICY_LEVELS) {
            return reject(errstr, size, "segment %zu: tier %d or level %d out of range", i,
                          (int)s->tier, (int)s->reveal_level);
        }
        bool open = s->end_ms == -1;
        if (!interval_ok(s->start_ms, s->end_ms) || s->start_ms < prev ||
            (open && !(last && m->item_open)) || (!open && s->end_ms < s->start_ms) ||
            s->start_ms > m->last_ms || (!open && s->end_ms > m->last_ms)) {
            return reject(errstr, size, "segment %zu: times out of order", i);
        }
        prev = open ? s->start_ms : s->end_ms;
        if (s->category != NULL && !utf8_ok(s->category)) {
            return reject(errstr, size, "segment %zu: category is not UTF-8", i);
        }
        int cat = s->category == NULL ? -1 : ledger_category_intern(l, s->category);
        if (cat < 0) {
            return reject(errstr, size, "segment %zu: bad category or too many categories", i);
        }
        l->segs[i] = (ledger_segment){.start_ms = s->start_ms,
                                      .end_ms = s->end_ms,
                                      .category = (uint16_t)cat,
                                      .tier = (uint8_t)s->tier,
                                      .level = (uint8_t)s->reveal_level,
                                      .colour = s->colour,
                                      .item_start = s->item_start};
        l->nsegs++;
    }
    if (m->item_open && (m->n_segments == 0 || m->segments[m->n_segments - 1]->end_ms != -1)) {
        return reject(errstr, size, "item_open without an open segment");
    }
    return MODQ_POLICY_OK;
}

/* The breaks, in order; only the last may be open, and then the person is on a break. */
static modq_policy_result fill_breaks(modq_ledger *l, const Modq__V1__Ledger *m, char *errstr,
                                      size_t size)
{
    int64_t prev = INT64_MIN;
    for (size_t i = 0; i < m->n_breaks; i++) {
        const Modq__V1__LedgerBreak *b = m->breaks[i];
        bool open = b->end_ms == -1;
        bool last = i + 1 == m->n_breaks;
        if (!interval_ok(b->start_ms, b->end_ms) || b->start_ms < prev ||
            (open && !(last && m->on_break)) || (!open && b->end_ms < b->start_ms) ||
            b->start_ms > m->last_ms || (!open && b->end_ms > m->last_ms)) {
            return reject(errstr, size, "break %zu: times out of order", i);
        }
        prev = open ? b->start_ms : b->end_ms;
        l->breaks[i].start_ms = b->start_ms;
        l->breaks[i].end_ms = b->end_ms;
        l->nbreaks++;
    }
    if (m->on_break && (m->n_breaks == 0 || m->breaks[m->n_breaks - 1]->end_ms != -1)) {
        return reject(errstr, size, "on_break without an open break");
    }
    return MODQ_POLICY_OK;
}

/* Checks one message against every invariant the ledger code relies on, and copies it into l. */
static modq_policy_result fill(modq_ledger *l, const Modq__V1__Ledger *m, char *errstr, size_t size)
{
    modq_policy_result r;
    bool empty = m->n_segments == 0 && m->n_breaks == 0 && m->n_shifts == 0 &&
                 m->shift_start_ms == -1 && !m->item_open && !m->on_break;
    if (m->format_version != LEDGER_FORMAT) {
        return reject(errstr, size, "ledger format %u, expected %d", m->format_version,
                      LEDGER_FORMAT);
    }
    if (m->n_segments > MODQ_LEDGER_MAX_SEGMENTS || m->n_breaks > MODQ_LEDGER_MAX_BREAKS) {
        return reject(errstr, size, "ledger over its size caps (%zu segments, %zu breaks)",
                      m->n_segments, m->n_breaks);
    }
    /* INT64_MIN is how an empty ledger says "no record yet"; anything else must be a time. */
    if (!(policy_time_ok(m->last_ms) || (empty && m->last_ms == INT64_MIN))) {
        return reject(errstr, size, "last_ms %lld out of range", (long long)m->last_ms);
    }
    if ((r = fill_segments(l, m, errstr, size)) != MODQ_POLICY_OK ||
        (r = fill_breaks(l, m, errstr, size)) != MODQ_POLICY_OK) {
        return r;
    }
    if (m->item_open && m->on_break) {
        return reject(errstr, size, "an item cannot be shown during a break");
    }
    r = fill_shifts(l, m, errstr, size);
    if (r != MODQ_POLICY_OK) {
        return r;
    }
    if (m->item_open && ledger_open_shift_start(l) < 0) {
        return reject(errstr, size, "item_open without an open shift");
    }
    l->last_ms = m->last_ms;
    l->item_open = m->item_open;
    l->on_break = m->on_break;
    return MODQ_POLICY_OK;
}

modq_policy_result modq_ledger_unpack(const uint8_t *buf, size_t len, modq_ledger **out,
                                      char *errstr, size_t errstr_size)
{
    Modq__V1__Ledger *m = NULL;
    modq_ledger *l = NULL;
    modq_policy_result r = MODQ_POLICY_OK;

    if (out == NULL || (buf == NULL && len > 0)) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (len > MODQ_LEDGER_MAX_BYTES) {
        r = reject(errstr, errstr_size, "ledger of %zu bytes is over the %d-byte cap", len,
                   MODQ_LEDGER_MAX_BYTES);
        goto out;
    }
    m = modq__v1__ledger__unpack(NULL, len, buf);
    if (m == NULL) {
        r = reject(errstr, errstr_size, "not a modq.v1.Ledger message");
        goto out;
    }
    if (wire_nul_in_strings(buf, buf + len, 0)) {
        r = reject(errstr, errstr_size, "associate_id or a category holds a NUL byte");
        goto out;
    }
    if (m->associate_id != NULL && !utf8_ok(m->associate_id)) {
        r = reject(errstr, errstr_size, "associate_id is not UTF-8");
        goto out;
    }
    r = modq_ledger_new(m->associate_id, &l);
    if (r != MODQ_POLICY_OK) {
        r = r == MODQ_POLICY_ERR_NOMEM ? r
                                       : reject(errstr, errstr_size, "bad or empty associate_id");
        goto out;
    }
    r = fill(l, m, errstr, errstr_size);
    if (r == MODQ_POLICY_OK) {
        *out = l;
        l = NULL;
    }
out:
    modq_ledger_free(l);
    if (m != NULL) {
        modq__v1__ledger__free_unpacked(m, NULL);
    }
    return r;
}
