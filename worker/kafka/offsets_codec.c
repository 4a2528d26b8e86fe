/*
 * offsets_codec.c: the byte-level pieces of the commit-metadata format of offsets.c: CRC-32,
 * unsigned LEB128 varints and strict base64 decoding. Kept apart so the tracker reads as logic.
 */
#include "offsets_codec.h"

#include <openssl/evp.h>

#include <string.h>

/* CRC-32 (IEEE 802.3, reflected, as zlib computes it); bitwise, the payload is a few KiB. */
uint32_t modq_offsets_codec_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        }
    }
    return ~c;
}

size_t modq_offsets_codec_put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Reads a minimal unsigned LEB128 of at most 64 bits; false when truncated or not minimal. */
bool modq_offsets_codec_get_varint(const uint8_t *p, size_t n, size_t *pos, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*pos >= n) {
            return false;
        }
        uint8_t b = p[(*pos)++];
        if ((shift == 63 && b > 1) || (shift > 0 && b == 0)) {
            return false;
        }
        r |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *v = r;
            return true;
        }
    }
    return false;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool modq_offsets_codec_b64_decode(const char *s, size_t len, uint8_t *bin, size_t bin_max,
                                   size_t *bin_len)
{
    if (len == 0 || len % 4 != 0 || len / 4 * 3 > bin_max) {
        return false;
    }
    size_t pad = 0;
    if (s[len - 1] == '=') {
        pad = s[len - 2] == '=' ? 2 : 1;
    }
    for (size_t i = 0; i < len - pad; i++) {
        if (s[i] == '\0' || strchr(b64_alphabet, s[i]) == NULL) {
            return false;
        }
    }
    int n = EVP_DecodeBlock(bin, (const unsigned char *)s, (int)len);
    if (n < 0 || (size_t)n != len / 4 * 3) {
        return false;
    }
    *bin_len = (size_t)n - pad;
    return true;
}
