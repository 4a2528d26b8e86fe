/* offsets_codec.h: byte-level helpers of the offsets commit-metadata format (private). */
#ifndef MODQ_WORKER_OFFSETS_CODEC_H
#define MODQ_WORKER_OFFSETS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CRC-32 (IEEE 802.3, reflected, as zlib computes it). */
uint32_t modq_offsets_codec_crc32(const uint8_t *p, size_t n);
/* Writes v as unsigned LEB128 at p (room for 10 bytes); returns the bytes written. */
size_t modq_offsets_codec_put_varint(uint8_t *p, uint64_t v);
/* Reads a minimal unsigned LEB128 of at most 64 bits at p[*pos]; false when truncated or not
 * minimal. */
bool modq_offsets_codec_get_varint(const uint8_t *p, size_t n, size_t *pos, uint64_t *v);
/* Strict base64 (length a multiple of 4, padding only at the end) of len chars into bin, which
 * holds bin_max bytes; false on any deviation. */
bool modq_offsets_codec_b64_decode(const char *s, size_t len, uint8_t *bin, size_t bin_max,
                                   size_t *bin_len);

#endif
