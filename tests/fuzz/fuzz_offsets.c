/*
 * fuzz_offsets.c: the offset-commit metadata a partition's next owner reads back from Kafka
 * (modq_offsets_new), then a life of that tracker: deliveries, completions, commits and restarts
 * from each commit, checked against a model of what was done.
 *
 * Input: mode (1 byte), cap (2, LE), committed offset (8, LE), payload length (2, LE), payload,
 * then operation bytes. Mode bit 0: the payload is the binary form (base varint and runs) and
 * the harness adds the CRC-32, base64 and "v1:" itself, so that the fuzzer gets past the checksum;
 * otherwise it is the metadata string as committed. Mode bit 1: the committed offset is the
 * payload's base varint (it must match for the runs to be read). An operation byte b delivers the
 * next offset, (b >> 1) & 3 past the last one (b & 1), or completes in-flight offset number
 * b >> 1 (modulo their count); every sixteenth byte also commits and restarts.
 *
 * Invariants: metadata that loads re-encodes to the same string when the cap allows (or to "" when
 * it holds a base and no runs, which says the same); a restarted
 * tracker never skips an offset that was not done (completed, passed over, or done according to
 * the metadata) and, unless the cap cut the metadata, skips every completed one.
 */
#include "fuzz_util.h"
#include "kafka/offsets.h"

#include <openssl/evp.h>

#define WINDOW     1024 /* offsets modelled, from the anchor: more than MAX_OPS deliveries reach */
#define MAX_OPS    200
#define MAX_BINARY 2048

typedef struct model {
    int64_t anchor;          /* offset of index 0 */
    bool known_done[WINDOW]; /* done per the loaded metadata (or passed over, or completed) */
    bool in_flight[WINDOW];
    int64_t next; /* next offset to deliver */
} model;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = n - 1; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

/* Unsigned LEB128 at p (n bytes), as the format defines it; false when truncated. */
static bool leb128(const uint8_t *p, size_t n, uint64_t *v)
{
    *v = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        *v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            return true;
        }
    }
    return false;
}

/* CRC-32 (IEEE, reflected), bit by bit: the harness's own, not the codec's. */
static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;

    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

/* "v1:" + base64(bin + crc32le(bin)) into out (MODQ_OFFSETS_METADATA_MAX * 2 bytes). */
static void encode(const uint8_t *bin, size_t n, char *out)
{
    uint8_t buf[MAX_BINARY + 4];
    uint32_t crc = crc32_ieee(bin, n);

    memcpy(buf, bin, n);
    for (int i = 0; i < 4; i++) {
        buf[n + (size_t)i] = (uint8_t)(crc >> (8 * i));
    }
    memcpy(out, "v1:", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, buf, (int)(n + 4));
}

static modq_offsets *tracker(int64_t committed, const char *md, size_t cap, modq_offsets_result *r)
{
    modq_offsets *t = NULL;
    char err[256];

    *r = modq_offsets_new(committed, md, cap, &t, err, sizeof(err));
    if (*r != MODQ_OFFSETS_OK && t && strlen(err) == 0) {
        fz_fail("metadata refused (%s) without saying why", modq_offsets_strerror(*r));
    }
    return t;
}

/* Commits t, restarts from the commit and checks the new tracker against the model. */
static void restart(modq_offsets **t, model *m, size_t cap)
{
    char md[MODQ_OFFSETS_METADATA_BUF];
    int64_t off = -1;
    modq_offsets_result r;
    modq_offsets *next;
    bool cut = modq_offsets_metadata_truncated(*t);

    if (modq_offsets_commit_point(*t, &off, md, sizeof(md)) != MODQ_OFFSETS_OK) {
        return;
    }
    if (strlen(md) > cap) {
        fz_fail("metadata of %zu bytes over the cap %zu", strlen(md), cap);
    }
    if (!(next = tracker(off, md, cap, &r))) {
        return;
    }
    if (r != MODQ_OFFSETS_OK) {
        fz_fail("our own commit (%lld, '%s') is refused: %s", (long long)off, md,
                modq_offsets_strerror(r));
    }
    for (size_t i = 0; i < WINDOW && m->anchor + (int64_t)i < m->next; i++) {
        int64_t o = m->anchor + (int64_t)i;
        bool done = modq_offsets_is_done(next, o);
        if (done && !m->known_done[i]) {
            fz_fail("offset %lld skipped after a restart but never done", (long long)o);
        }
        if (!done && m->known_done[i] && !m->in_flight[i] && !cut) {
            fz_fail("offset %lld done, not cut by the cap, delivered again", (long long)o);
        }
    }
    modq_offsets_free(*t);
    *t = next;
    /* What the commit left out will be delivered again: from here on the new tracker's view. */
    for (size_t i = 0; i < WINDOW; i++) {
        m->known_done[i] = modq_offsets_is_done(next, m->anchor + (int64_t)i);
        m->in_flight[i] = false;
    }
    m->next = off > m->anchor ? off : m->anchor;
}

static void life(modq_offsets *t, model *m, size_t cap, const uint8_t *ops, size_t nops)
{
    for (size_t k = 0; k < nops && k < MAX_OPS; k++) {
        uint8_t b = ops[k];
        if (b & 1) {
            int64_t o = m->next + ((b >> 1) & 3);
            if (o - m->anchor >= WINDOW) {
                break;
            }
            modq_offsets_result r = modq_offsets_track(t, o);
            for (int64_t g = m->next; g < o; g++) { /* passed over: done from now on */
                m->known_done[g - m->anchor] = true;
            }
            if (r == MODQ_OFFSETS_OK) {
                m->in_flight[o - m->anchor] = true;
            } else if (r == MODQ_OFFSETS_ALREADY_DONE && !m->known_done[o - m->anchor]) {
                fz_fail("offset %lld skipped, never done", (long long)o);
            } else if (r != MODQ_OFFSETS_ALREADY_DONE) {
                break;
            }
            m->next = o + 1;
        } else {
            size_t want = b >> 1, seen = 0;
            for (size_t i = 0; i < WINDOW; i++) {
                if (m->in_flight[i] && seen++ == want % (modq_offsets_in_flight(t) + 1)) {
                    if (modq_offsets_complete(t, m->anchor + (int64_t)i) != MODQ_OFFSETS_OK) {
                        fz_fail("in-flight offset %lld not completed",
                                (long long)(m->anchor + (int64_t)i));
                    }
                    m->in_flight[i] = false;
                    m->known_done[i] = true;
                    break;
                }
            }
        }
        (void)modq_offsets_should_pause(t);
        (void)modq_offsets_lag(t);
        if (k % 16 == 15) {
            restart(&t, m, cap);
        }
    }
    restart(&t, m, cap);
    modq_offsets_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char md[MODQ_OFFSETS_METADATA_MAX * 2 + 16];
    static char again[MODQ_OFFSETS_METADATA_BUF];
    static model m;
    uint8_t mode;
    size_t cap, plen;
    int64_t committed, off;
    modq_offsets_result r;
    modq_offsets *t;
    uint64_t base;

    if (size < 13) {
        return 0;
    }
    mode = data[0];
    cap =
        MODQ_OFFSETS_CAP_MIN + le(data + 1, 2) % (MODQ_OFFSETS_CAP_MAX - MODQ_OFFSETS_CAP_MIN + 1);
    committed = (int64_t)le(data + 3, 8);
    plen = le(data + 11, 2);
    data += 13, size -= 13;
    if (plen > size) {
        plen = size;
    }
    if (mode & 1) {
        if (plen > MAX_BINARY) {
            return 0;
        }
        encode(data, plen, md);
    } else {
        size_t n = plen < sizeof(md) - 1 ? plen : sizeof(md) - 1;
        memcpy(md, data, n);
        md[n] = '\0';
    }
    if ((mode & 2) && (mode & 1) && leb128(data, plen, &base)) {
        committed = (int64_t)base;
    }
    if (!(t = tracker(committed, md, cap, &r))) {
        return 0;
    }
    if (r == MODQ_OFFSETS_OK && committed >= 0 &&
        modq_offsets_commit_point(t, &off, again, sizeof(again)) == MODQ_OFFSETS_OK &&
        !modq_offsets_metadata_truncated(t) && strcmp(again, md) != 0 && md[0] != '\0' &&
        strlen(md) <= cap && !(again[0] == '\0' && modq_offsets_metadata_len(t) == 0)) {
        fz_fail("metadata '%s' loaded, re-encoded as '%s' (offset %lld)", md, again,
                (long long)off);
    }
    memset(&m, 0, sizeof(m));
    m.anchor = committed >= 0 ? committed : 0;
    m.next = m.anchor;
    if (m.anchor > MODQ_OFFSETS_MAX_OFFSET - 2 * WINDOW) {
        modq_offsets_free(t);
        return 0;
    }
    for (size_t i = 0; i < WINDOW; i++) {
        m.known_done[i] = modq_offsets_is_done(t, m.anchor + (int64_t)i);
    }
    life(t, &m, cap, data + plen, size - plen);
    return 0;
}
