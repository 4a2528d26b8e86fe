/*
 * offsets.c: per-partition completion tracking and its commit metadata (see offsets.h).
 *
 * State of one partition, anchored at "high", the highest offset delivered so far:
 *   - at or below high, an offset is done unless it is in the in-flight list;
 *   - above high, an offset is done only if a run decoded from the metadata says so.
 * The in-flight list is ascending because Kafka delivers a partition in order, so tracking is an
 * append; completion leaves a tombstone, compacted away once tombstones outnumber live slots.
 * Tracking and completing cost amortised O(log n), encoding O(n) for n in flight (less when the
 * cap stops it). Memory is bounded by MODQ_OFFSETS_MAX_IN_FLIGHT slots and by the number of runs
 * a metadata string of at most MODQ_OFFSETS_METADATA_MAX bytes can hold.
 *
 * Why run lengths rather than a bitmap: the usual picture is a few long reviews holding the
 * watermark back while hundreds or thousands of later tickets complete. Runs cost a few bytes per
 * review in flight whatever the span; a bitmap costs one bit per offset of the span and would hit
 * the cap after about 18 000 offsets. The worst case for runs, every other offset done, costs two
 * bytes per two offsets (about 1 100 in-flight reviews within a 3000-byte cap).
 *
 * Base64 is OpenSSL's (EVP_EncodeBlock / EVP_DecodeBlock, libcrypto is already linked through
 * modq_blur); its decoder is lenient about whitespace and padding bits, so the input is checked
 * here first and a CRC-32 over the payload catches what a lenient decode could let through.
 */
#include "offsets.h"
#include "offsets_codec.h"
#include "modq_common.h"

#include <openssl/evp.h>

#include <stdlib.h>
#include <string.h>

#define PREFIX     "v1:"
#define PREFIX_LEN 3
#define CRC_LEN    4
#define VARINT_MAX 10
/* Largest binary payload any metadata string we accept can carry. */
#define BIN_MAX ((MODQ_OFFSETS_METADATA_MAX - PREFIX_LEN) / 4 * 3)

/* A done run [first, last] from the metadata; runs are ascending and never adjacent. */
typedef struct meta_run {
    int64_t first, last;
} meta_run;

struct modq_offsets {
    bool anchored; /* false until a committed offset or a first tracked offset is known */
    int64_t high;  /* highest offset delivered (tracked or passed over); valid when anchored */
    /* In flight: slot_off[head .. nslots) ascending; slot_live[i] is 0 once completed. */
    int64_t *slot_off;
    uint8_t *slot_live;
    size_t head, nslots, slot_cap, live;
    /* Done runs from the metadata that still reach above high: meta[meta_head .. nmeta). */
    meta_run *meta;
    size_t meta_head, nmeta;
    size_t metadata_cap;
    bool paused;
    uint64_t completed;
};

static const char *const result_text[MODQ_OFFSETS_RESULT_COUNT] = {
    [MODQ_OFFSETS_OK] = "success",
    [MODQ_OFFSETS_ALREADY_DONE] = "offset already done",
    [MODQ_OFFSETS_NO_POSITION] = "no position to commit yet",
    [MODQ_OFFSETS_ERR_INVALID_ARG] = "invalid argument",
    [MODQ_OFFSETS_ERR_NOMEM] = "out of memory",
    [MODQ_OFFSETS_ERR_NOT_TRACKED] = "offset was never tracked",
    [MODQ_OFFSETS_ERR_IN_FLIGHT] = "offset already in flight",
    [MODQ_OFFSETS_ERR_FULL] = "too many offsets in flight",
    [MODQ_OFFSETS_ERR_META_MALFORMED] = "malformed offset metadata",
    [MODQ_OFFSETS_ERR_META_VERSION] = "unknown offset metadata version",
    [MODQ_OFFSETS_ERR_META_STALE] = "offset metadata belongs to another committed offset",
    [MODQ_OFFSETS_ERR_META_TOO_LARGE] = "offset metadata too large",
};

const char *modq_offsets_strerror(modq_offsets_result r)
{
    if ((unsigned)r >= MODQ_OFFSETS_RESULT_COUNT) {
        return "unknown result";
    }
    return result_text[r];
}

/* ---------------------------------------------------------------------------------------------
 * Lookups.
 */

/* Index of offset in slot_off[head .. nslots), or nslots when absent. */
static size_t slot_find(const modq_offsets *t, int64_t offset)
{
    size_t lo = t->head, hi = t->nslots;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->slot_off[mid] < offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < t->nslots && t->slot_off[lo] == offset ? lo : t->nslots;
}

static bool is_in_flight(const modq_offsets *t, int64_t offset)
{
    size_t i = slot_find(t, offset);
    return i < t->nslots && t->slot_live[i];
}

/* For offset > high: whether a metadata run covers it. */
static bool meta_covers(const modq_offsets *t, int64_t offset)
{
    size_t lo = t->meta_head, hi = t->nmeta;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->meta[mid].last < offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < t->nmeta && t->meta[lo].first <= offset;
}

/* Forgets metadata runs that lie wholly at or below high: the in-flight list rules there. */
static void meta_prune(modq_offsets *t)
{
    while (t->meta_head < t->nmeta && t->meta[t->meta_head].last <= t->high) {
        t->meta_head++;
    }
}

bool modq_offsets_is_done(const modq_offsets *t, int64_t offset)
{
    if (t == NULL || offset < 0 || !t->anchored) {
        return false;
    }
    if (offset <= t->high) {
        return !is_in_flight(t, offset);
    }
    return meta_covers(t, offset);
}

/* ---------------------------------------------------------------------------------------------
 * Encoding. The not-done offsets, in ascending order, are the live in-flight slots (all at or
 * below high) and then, above high, the gaps between metadata runs, ending with an open tail.
 */
typedef struct nd_iter {
    const modq_offsets *t;
    size_t slot, meta;
    int64_t pos; /* next offset above high not yet classified */
    bool ended;
} nd_iter;

/* Next not-done segment [*first, *last]; *last is INT64_MAX for the open tail, after which the
 * iterator ends. */
static bool nd_next(nd_iter *it, int64_t *first, int64_t *last)
{
    const modq_offsets *t = it->t;
    if (it->ended) {
        return false;
    }
    while (it->slot < t->nslots) {
        size_t i = it->slot++;
        if (t->slot_live[i]) {
            *first = *last = t->slot_off[i];
            return true;
        }
    }
    while (it->meta < t->nmeta) {
        const meta_run *r = &t->meta[it->meta++];
        int64_t from = r->first > t->high ? r->first : t->high + 1;
        int64_t pos = it->pos;
        it->pos = r->last + 1; /* decoding keeps last < INT64_MAX */
        if (pos < from) {
            *first = pos;
            *last = from - 1;
            return true;
        }
    }
    *first = it->pos;
    *last = INT64_MAX;
    it->ended = true;
    return true;
}

/* The lowest offset not done: the first not-done segment. */
static int64_t watermark(const modq_offsets *t)
{
    nd_iter it = {.t = t, .slot = t->head, .meta = t->meta_head, .pos = t->high + 1};
    int64_t first = t->high + 1, last;
    nd_next(&it, &first, &last);
    return first;
}

static size_t b64_len(size_t bin_len)
{
    return bin_len == 0 ? 0 : PREFIX_LEN + (bin_len + 2) / 3 * 4;
}

/*
 * Encodes the done offsets above the watermark into bin (BIN_MAX bytes), stopping before the run
 * pair that would not fit the tracker's cap: a shorter list only claims fewer offsets done. Sets
 * *base to the watermark and returns the payload length, 0 when nothing is done above it.
 */
static size_t encode_bin(const modq_offsets *t, uint8_t *bin, int64_t *base, bool *truncated)
{
    size_t budget = (t->metadata_cap - PREFIX_LEN) / 4 * 3; /* its base64 fits the cap */
    nd_iter it = {.t = t, .slot = t->head, .meta = t->meta_head, .pos = t->high + 1};
    int64_t first = t->high + 1, last = INT64_MAX, nfirst = 0, nlast = 0;
    *truncated = false;
    nd_next(&it, &first, &last); /* the tail is always there: never false at the start */
    *base = first;
    size_t n = modq_offsets_codec_put_varint(bin, (uint64_t)first);
    size_t pairs = 0;
    while (last != INT64_MAX) {
        /* Merge adjacent not-done segments, e.g. consecutive offsets in flight. */
        nd_next(&it, &nfirst, &nlast);
        if (nfirst == last + 1) {
            last = nlast;
            continue;
        }
        uint8_t pair[2 * VARINT_MAX];
        size_t k = modq_offsets_codec_put_varint(pair, (uint64_t)(last - first));
        k += modq_offsets_codec_put_varint(pair + k, (uint64_t)(nfirst - last - 2));
        if (n + k + CRC_LEN > budget) {
            *truncated = true;
            break;
        }
        memcpy(bin + n, pair, k);
        n += k;
        pairs++;
        first = nfirst;
        last = nlast;
    }
    if (pairs == 0) {
        return 0;
    }
    uint32_t crc = modq_offsets_codec_crc32(bin, n);
    for (int i = 0; i < CRC_LEN; i++) {
        bin[n++] = (uint8_t)(crc >> (8 * i));
    }
    return n;
}

modq_offsets_result modq_offsets_commit_point(const modq_offsets *t, int64_t *offset,
                                              char *metadata, size_t metadata_size)
{
    if (offset != NULL) {
        *offset = -1;
    }
    if (metadata != NULL && metadata_size > 0) {
        metadata[0] = '\0';
    }
    if (t == NULL || offset == NULL || metadata == NULL || metadata_size < t->metadata_cap + 1) {
        return MODQ_OFFSETS_ERR_INVALID_ARG;
    }
    if (!t->anchored) {
        return MODQ_OFFSETS_NO_POSITION;
    }
    uint8_t bin[BIN_MAX];
    bool truncated;
    size_t n = encode_bin(t, bin, offset, &truncated);
    if (n > 0) {
        memcpy(metadata, PREFIX, PREFIX_LEN);
        EVP_EncodeBlock((unsigned char *)metadata + PREFIX_LEN, bin, (int)n);
    }
    return MODQ_OFFSETS_OK;
}

bool modq_offsets_anchored(const modq_offsets *t)
{
    return t != NULL && t->anchored;
}

/* Length of the metadata string commit_point would write now (0 when not anchored). */
static size_t encoded_len(const modq_offsets *t, bool *truncated)
{
    uint8_t bin[BIN_MAX];
    int64_t base;
    *truncated = false;
    return t == NULL || !t->anchored ? 0 : b64_len(encode_bin(t, bin, &base, truncated));
}

size_t modq_offsets_metadata_len(const modq_offsets *t)
{
    bool truncated;
    return encoded_len(t, &truncated);
}

bool modq_offsets_metadata_truncated(const modq_offsets *t)
{
    bool truncated;
    encoded_len(t, &truncated);
    return truncated;
}

bool modq_offsets_should_pause(modq_offsets *t)
{
    if (t == NULL) {
        return false;
    }
    bool md_high = false, md_low = true;
    /* While metadata runs remain above high, the gaps between them are offsets not fetched yet:
     * pausing would stop the very fetches that resolve them, and could never end. */
    if (t->meta_head == t->nmeta) {
        bool truncated;
        size_t len = encoded_len(t, &truncated);
        md_high = truncated || len * 4 >= t->metadata_cap * 3;
        md_low = !truncated && len * 2 < t->metadata_cap;
    }
    bool fl_high = t->live * 4 >= (size_t)MODQ_OFFSETS_MAX_IN_FLIGHT * 3;
    bool fl_low = t->live * 2 < (size_t)MODQ_OFFSETS_MAX_IN_FLIGHT;
    if (!t->paused && (md_high || fl_high)) {
        t->paused = true;
    } else if (t->paused && md_low && fl_low) {
        t->paused = false;
    }
    return t->paused;
}

/* ---------------------------------------------------------------------------------------------
 * Decoding.
 */

/* Decodes metadata into t->meta for a tracker anchored at committed. */
static modq_offsets_result load_metadata(modq_offsets *t, int64_t committed, const char *md,
                                         char *errstr, size_t errstr_size)
{
    size_t len = strnlen(md, MODQ_OFFSETS_METADATA_MAX + 1);
    if (len > MODQ_OFFSETS_METADATA_MAX) {
        modq_errstr_set(errstr, errstr_size, "offset metadata longer than %d bytes",
                        MODQ_OFFSETS_METADATA_MAX);
        return MODQ_OFFSETS_ERR_META_TOO_LARGE;
    }
    if (committed < 0) {
        modq_errstr_set(errstr, errstr_size, "offset metadata without a committed offset");
        return MODQ_OFFSETS_ERR_META_STALE;
    }
    if (len < PREFIX_LEN || memcmp(md, PREFIX, PREFIX_LEN) != 0) {
        size_t d = 1;
        while (d < len && md[d] >= '0' && md[d] <= '9') {
            d++;
        }
        if (md[0] == 'v' && d > 1 && d < len && md[d] == ':') {
            modq_errstr_set(errstr, errstr_size, "offset metadata version '%.*s' is not supported",
                            (int)(d < 12 ? d : 12), md);
            return MODQ_OFFSETS_ERR_META_VERSION;
        }
        modq_errstr_set(errstr, errstr_size, "offset metadata does not start with \"" PREFIX "\"");
        return MODQ_OFFSETS_ERR_META_MALFORMED;
    }
    uint8_t bin[BIN_MAX];
    size_t n = 0, pos = 0;
    uint64_t v;
    if (!modq_offsets_codec_b64_decode(md + PREFIX_LEN, len - PREFIX_LEN, bin, BIN_MAX, &n) ||
        n < 1 + CRC_LEN) {
        modq_errstr_set(errstr, errstr_size, "offset metadata is not valid base64 of %zu bytes",
                        len);
        return MODQ_OFFSETS_ERR_META_MALFORMED;
    }
    n -= CRC_LEN;
    uint32_t crc = 0;
    for (int i = 0; i < CRC_LEN; i++) {
        crc |= (uint32_t)bin[n + (size_t)i] << (8 * i);
    }
    if (crc != modq_offsets_codec_crc32(bin, n)) {
        modq_errstr_set(errstr, errstr_size, "offset metadata checksum mismatch");
        return MODQ_OFFSETS_ERR_META_MALFORMED;
    }
    if (!modq_offsets_codec_get_varint(bin, n, &pos, &v) || v > (uint64_t)INT64_MAX) {
        modq_errstr_set(errstr, errstr_size, "offset metadata: bad base offset");
        return MODQ_OFFSETS_ERR_META_MALFORMED;
    }
    if ((int64_t)v != committed) {
        /* E.g. an operator reset the group's offset: the runs are relative to another base. */
        modq_errstr_set(errstr, errstr_size,
                        "offset metadata written at offset %lld, committed %lld",
                        (long long)(int64_t)v, (long long)committed);
        return MODQ_OFFSETS_ERR_META_STALE;
    }
    t->meta = calloc(n / 2 + 1, sizeof *t->meta);
    if (t->meta == NULL) {
        return MODQ_OFFSETS_ERR_NOMEM;
    }
    int64_t at = committed;
    while (pos < n) {
        /* Varints hold run lengths minus one. Every bound keeps last + 1 representable. */
        uint64_t nd, d;
        bool ok = modq_offsets_codec_get_varint(bin, n, &pos, &nd) &&
                  modq_offsets_codec_get_varint(bin, n, &pos, &d);
        int64_t first = 0;
        if (ok) {
            ok = at <= INT64_MAX - 2 && nd <= (uint64_t)(INT64_MAX - 2 - at);
        }
        if (ok) {
            first = at + (int64_t)nd + 1;
            ok = first <= INT64_MAX - 2 && d <= (uint64_t)(INT64_MAX - 2 - first);
        }
        if (!ok) {
            MODQ_FREE_NULL(t->meta);
            t->nmeta = 0;
            modq_errstr_set(errstr, errstr_size, "offset metadata: bad run at byte %zu", pos);
            return MODQ_OFFSETS_ERR_META_MALFORMED;
        }
        meta_run *r = &t->meta[t->nmeta++];
        r->first = first;
        r->last = first + (int64_t)d;
        at = r->last + 1;
    }
    return MODQ_OFFSETS_OK;
}

modq_offsets_result modq_offsets_new(int64_t committed, const char *metadata, size_t metadata_cap,
                                     modq_offsets **out, char *errstr, size_t errstr_size)
{
    modq_offsets_result r = MODQ_OFFSETS_OK;
    modq_offsets *t = NULL;
    if (errstr != NULL && errstr_size > 0) {
        errstr[0] = '\0';
    }
    if (out == NULL) {
        return MODQ_OFFSETS_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (committed > MODQ_OFFSETS_MAX_OFFSET) {
        modq_errstr_set(errstr, errstr_size, "committed offset %lld out of range",
                        (long long)committed);
        r = MODQ_OFFSETS_ERR_INVALID_ARG;
        goto out;
    }
    if (metadata_cap < MODQ_OFFSETS_CAP_MIN || metadata_cap > MODQ_OFFSETS_CAP_MAX) {
        modq_errstr_set(errstr, errstr_size, "metadata cap %zu outside %d..%d", metadata_cap,
                        MODQ_OFFSETS_CAP_MIN, MODQ_OFFSETS_CAP_MAX);
        r = MODQ_OFFSETS_ERR_INVALID_ARG;
        goto out;
    }
    t = calloc(1, sizeof *t);
    if (t == NULL) {
        r = MODQ_OFFSETS_ERR_NOMEM;
        goto out;
    }
    t->metadata_cap = metadata_cap;
    t->anchored = committed >= 0;
    t->high = committed >= 0 ? committed - 1 : -1;
    if (metadata != NULL && metadata[0] != '\0') {
        r = load_metadata(t, committed, metadata, errstr, errstr_size);
        /*
         * Bad metadata falls back to "only the committed offset is known": everything from it on
         * is delivered again, including tickets decided in the earlier life. That is safe, as
         * decided tickets are filtered by ticket id further on; guessing would not be, since
         * skipping an undecided ticket loses it.
         */
        if (r == MODQ_OFFSETS_ERR_NOMEM) {
            goto out;
        }
    }
    *out = t;
    t = NULL;
out:
    modq_offsets_free(t);
    return r;
}

void modq_offsets_free(modq_offsets *t)
{
    if (t == NULL) {
        return;
    }
    MODQ_FREE_NULL(t->slot_off);
    MODQ_FREE_NULL(t->slot_live);
    MODQ_FREE_NULL(t->meta);
    free(t);
}

/* ---------------------------------------------------------------------------------------------
 * Tracking.
 */

/* Drops the tombstones of completed offsets, keeping the live ones in order. */
static void slot_compact(modq_offsets *t)
{
    size_t k = 0;
    for (size_t i = t->head; i < t->nslots; i++) {
        if (t->slot_live[i]) {
            t->slot_off[k] = t->slot_off[i];
            t->slot_live[k] = 1;
            k++;
        }
    }
    t->head = 0;
    t->nslots = k;
}

/* Makes room for one more slot: drops tombstones first, grows (doubling, capped) only if none. */
static modq_offsets_result slot_reserve(modq_offsets *t)
{
    if (t->nslots < t->slot_cap) {
        return MODQ_OFFSETS_OK;
    }
    if (t->live < t->nslots) {
        slot_compact(t);
        return MODQ_OFFSETS_OK;
    }
    /* Two arrays, one capacity: each grows from the same start to the same size, and slot_cap
     * moves only once both have. */
    size_t off_cap = t->slot_cap, live_cap = t->slot_cap;
    modq_common_result g =
        MODQ_ARRAY_GROW(&t->slot_off, &off_cap, t->nslots + 1, MODQ_OFFSETS_MAX_IN_FLIGHT);
    if (g == MODQ_COMMON_OK) {
        /* If this fails, slot_off merely has spare room: nothing is lost. */
        g = MODQ_ARRAY_GROW(&t->slot_live, &live_cap, t->nslots + 1, MODQ_OFFSETS_MAX_IN_FLIGHT);
    }
    if (g != MODQ_COMMON_OK) {
        return g == MODQ_COMMON_ERR_FULL ? MODQ_OFFSETS_ERR_FULL : MODQ_OFFSETS_ERR_NOMEM;
    }
    t->slot_cap = live_cap;
    return MODQ_OFFSETS_OK;
}

modq_offsets_result modq_offsets_track(modq_offsets *t, int64_t offset)
{
    if (t == NULL || offset < 0 || offset > MODQ_OFFSETS_MAX_OFFSET) {
        return MODQ_OFFSETS_ERR_INVALID_ARG;
    }
    if (t->anchored && offset <= t->high) {
        /* Delivered before; anything at or below high that is not in flight is done. */
        return is_in_flight(t, offset) ? MODQ_OFFSETS_ERR_IN_FLIGHT : MODQ_OFFSETS_ALREADY_DONE;
    }
    /* Offsets between high and this one are absent from the log: they become done here. */
    if (t->anchored && meta_covers(t, offset)) {
        t->high = offset;
        meta_prune(t);
        return MODQ_OFFSETS_ALREADY_DONE;
    }
    modq_offsets_result r = slot_reserve(t);
    if (r != MODQ_OFFSETS_OK) {
        return r;
    }
    t->slot_off[t->nslots] = offset;
    t->slot_live[t->nslots] = 1;
    t->nslots++;
    t->live++;
    t->anchored = true;
    t->high = offset;
    meta_prune(t);
    return MODQ_OFFSETS_OK;
}

modq_offsets_result modq_offsets_complete(modq_offsets *t, int64_t offset)
{
    if (t == NULL || offset < 0) {
        return MODQ_OFFSETS_ERR_INVALID_ARG;
    }
    if (!t->anchored || offset > t->high) {
        return MODQ_OFFSETS_ERR_NOT_TRACKED;
    }
    size_t i = slot_find(t, offset);
    if (i == t->nslots || !t->slot_live[i]) {
        return MODQ_OFFSETS_ALREADY_DONE;
    }
    t->slot_live[i] = 0;
    t->live--;
    t->completed++;
    /* Keep head on a live slot, so that the watermark is slot_off[head]. */
    while (t->head < t->nslots && !t->slot_live[t->head]) {
        t->head++;
    }
    /* Bound the tombstones by the live slots, so that encoding walks O(live) slots. */
    if (t->nslots - t->head > 2 * t->live + 64) {
        slot_compact(t);
    }
    return MODQ_OFFSETS_OK;
}

size_t modq_offsets_in_flight(const modq_offsets *t)
{
    return t == NULL ? 0 : t->live;
}

uint64_t modq_offsets_completed(const modq_offsets *t)
{
    return t == NULL ? 0 : t->completed;
}

int64_t modq_offsets_lag(const modq_offsets *t)
{
    if (t == NULL || !t->anchored) {
        return 0;
    }
    int64_t w = watermark(t);
    return w > t->high ? 0 : t->high + 1 - w;
}
