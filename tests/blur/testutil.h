/* testutil.h: helpers shared by the blur/ tests: hostile inputs and image measurements. */
#ifndef MODQ_TESTUTIL_H
#define MODQ_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* cmocka group setup and teardown for tests of libmodq_blur: start and stop libvips. */
int tu_blur_setup(void **state);
int tu_blur_teardown(void **state);

/* Reads a whole file; caller frees. NULL when absent or unreadable. */
uint8_t *tu_read_file(const char *path, size_t *len);

/* A PNG whose IHDR claims w x h, with valid CRCs and a tiny IDAT: decodes no real pixels.
 * Caller frees. */
uint8_t *tu_png_claiming(uint32_t w, uint32_t h, size_t *len);

/* A synthetic image as encoded bytes (modq_synth_image); caller frees with modq_synth_free. */
uint8_t *tu_synth(int kind, int w, int h, uint32_t seed, const char *format, size_t *len);

/*
 * Detail left in an encoded image: variance of the Laplacian of its luminance after scaling it
 * to display_w pixels wide (as a browser shows it). Blur lowers it. Returns -1 on failure.
 */
double tu_laplacian_variance(const uint8_t *data, size_t len, int display_w);

/*
 * How far a blurred rendition is from what it should show: mean absolute difference (0..255)
 * between the rendition scaled to the clear rendition's size and an independent Gaussian blur
 * of the clear rendition with sigma_px (in its pixels). Returns -1 on failure.
 */
double tu_blur_distance(const uint8_t *clear, size_t clear_len, const uint8_t *blurred,
                        size_t blurred_len, double sigma_px);

/* Decodes an encoded image and reports its size, bands and the largest |R-G| or |G-B| seen
 * (0 for a truly grey image). Returns 0 on success. */
int tu_probe(const uint8_t *data, size_t len, int *w, int *h, int *bands, int *max_chroma);

/* 1 when needle occurs in the n bytes at hay. */
int tu_contains(const uint8_t *hay, size_t n, const void *needle, size_t needle_len);

#endif
