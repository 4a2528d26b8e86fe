/*
 * modq_blur.h: the public interface of libmodq_blur, which makes untrusted media safe to show.
 *
 * One decode of hostile bytes (libvips, allow-listed loaders, limits checked from the header before
 * any pixel is decoded) yields everything modq needs: SHA-256 and MD5 of the bytes, the PDQ
 * perceptual hash, and blurred greyscale renditions for the reveal ladder (and, on request, a
 * colour ladder beside them). The original bytes are never written anywhere. No Kafka, no HTTP:
 * callers wire this library to the world.
 *
 * Threads: after modq_blur_init(), every function here may be called from any thread; a
 * modq_media_opts may be shared read-only once configured. Error texts come from libvips's one
 * process-wide error buffer: under concurrent failures a message may name another item's
 * reason (the result code is always this call's own).
 */
#ifndef MODQ_BLUR_H
#define MODQ_BLUR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The one result type of this library. Stable: the worker publishes modq_blur_code() strings. */
typedef enum modq_blur_result {
    MODQ_BLUR_OK = 0,
    MODQ_BLUR_ERR_INVALID_ARG,     /* a caller bug: NULL pointer, out-of-range option */
    MODQ_BLUR_ERR_NOMEM,           /* allocation failed */
    MODQ_BLUR_ERR_INIT,            /* libvips could not be started */
    MODQ_BLUR_ERR_EMPTY,           /* zero-length input */
    MODQ_BLUR_ERR_TOO_LARGE,       /* input bytes over max_input_bytes */
    MODQ_BLUR_ERR_UNKNOWN_FORMAT,  /* no allowed decoder recognises the bytes */
    MODQ_BLUR_ERR_BLOCKED_FORMAT,  /* recognised, but not allowed (SVG, PDF, PostScript, ...) */
    MODQ_BLUR_ERR_TOO_MANY_PIXELS, /* width x height over max_pixels */
    MODQ_BLUR_ERR_DIMENSION,       /* a side over max_side, or zero */
    MODQ_BLUR_ERR_CORRUPT,         /* truncated or corrupt data, found while decoding */
    MODQ_BLUR_ERR_ENCODE,          /* a rendition could not be encoded */
    MODQ_BLUR_ERR_DIGEST,          /* OpenSSL digest failure */
    MODQ_BLUR_ERR_PARSE,           /* a hash string is malformed */
    MODQ_BLUR_ERR_DECODE_TIMEOUT,  /* the item's work ran past MODQ_OPT_DEADLINE_MS, or (in the
                                      sandbox) its helper's deadline or CPU-time limit */
    MODQ_BLUR_ERR_TOO_MANY_SCANS,  /* a JPEG with more scans than MODQ_OPT_MAX_JPEG_SCANS */
    /* From the sandbox (modq_sandbox.h): the decoding helper process failed, not the caller. */
    MODQ_BLUR_ERR_DECODER_CRASHED, /* the helper died (a signal, a memory limit) or misbehaved */
    MODQ_BLUR_ERR_SANDBOX,         /* no helper could be started */
    MODQ_BLUR_ERR_IO,              /* a file (a hash bank) could not be read */
    MODQ_BLUR_RESULT_COUNT
} modq_blur_result;

/* A static English sentence for a result. Never NULL. */
const char *modq_blur_strerror(modq_blur_result r);
/* A static, stable machine code for a result, e.g. "too_many_pixels". Never NULL. */
const char *modq_blur_code(modq_blur_result r);

/*
 * Starts libvips and locks it down: the operation cache is off (no hostile image stays in memory
 * after its call), untrusted operations are blocked, and every loader but the allow-list (JPEG,
 * PNG, WebP, GIF, TIFF, HEIF/AVIF where built) is blocked. Call once per process before anything
 * else here; argv0 may be NULL. Safe to call again (no-op).
 */
modq_blur_result modq_blur_init(const char *argv0);
/* Shuts libvips down. Call once at exit, after every other call here has returned. */
void modq_blur_shutdown(void);

/* ---------------------------------------------------------------------------------------------
 * Options (blur/opts.c). Opaque; every value is range-checked when set.
 */
typedef struct modq_media_opts modq_media_opts;

typedef enum modq_opt {
    MODQ_OPT_MAX_INPUT_BYTES, /* default 64 MiB; 1 .. 1 GiB */
    MODQ_OPT_MAX_PIXELS,      /* default 100 000 000; 1 .. 2^31 */
    MODQ_OPT_MAX_SIDE,        /* default 20 000 px; 1 .. 100 000 */
    MODQ_OPT_DISPLAY_SIZE,    /* long side of level 0, default 1024; 16 .. 8192 */
    MODQ_OPT_LEVELS,          /* bitmask of levels to render, bit n = level n; default 0xf */
    MODQ_OPT_COLOUR,          /* 0 = greyscale (default), 1 = keep colour */
    MODQ_OPT_FORMAT,          /* a modq_rendition_format; default WebP */
    MODQ_OPT_QUALITY,         /* lossy encoder quality, default 75; 1 .. 100 */
    MODQ_OPT_FAIL_ON_WARNING, /* 0 = fail on errors and truncation (default), 1 = on any warning */
    MODQ_OPT_DEFER_RENDER,    /* 1: process hashes only and keeps the decoded image for a later
                                 modq_media_render() or modq_media_release_image(); default 0 */
    MODQ_OPT_COLOUR_TOO,      /* 1: also render a colour ladder of the same levels beside the
                                 greyscale one, from the same decode (modq_media_rendition_colour);
                                 default 0. Nothing more when MODQ_OPT_COLOUR already is 1. */
    MODQ_OPT_DEADLINE_MS,     /* the time one item may take, decode to last rendition (a deferred
                                 render spends what its process call left), on the monotonic
                                 clock; default 30 000 ms; 1 .. 600 000 */
    MODQ_OPT_MAX_JPEG_SCANS,  /* most scans (SOS markers) a JPEG may have, counted before any
                                 decoding; default 50; 1 .. 10 000 */
    MODQ_OPT_COUNT
} modq_opt;

typedef enum modq_rendition_format {
    MODQ_FORMAT_WEBP = 0,
    MODQ_FORMAT_JPEG = 1,
} modq_rendition_format;

/* Allocates options holding the defaults. Caller owns the result: free with modq_opts_free().
 * Returns NULL only when out of memory. */
modq_media_opts *modq_opts_new(void);
/* A copy of opts, e.g. to change one setting for one item while opts stays shared. Caller owns
 * the result (modq_opts_free). Returns NULL when opts is NULL or out of memory. */
modq_media_opts *modq_opts_copy(const modq_media_opts *opts);
/* Frees opts (NULL is fine). */
void modq_opts_free(modq_media_opts *opts);
/* Sets one option; MODQ_BLUR_ERR_INVALID_ARG when key or value is out of range (opts unchanged). */
modq_blur_result modq_opts_set(modq_media_opts *opts, modq_opt key, int64_t value);
/* Reads one option; -1 for an unknown key. */
int64_t modq_opts_get(const modq_media_opts *opts, modq_opt key);

#define MODQ_LEVEL_COUNT 4 /* reveal levels 0 (clear) .. 3 (heaviest blur) */

/* ---------------------------------------------------------------------------------------------
 * Byte digests (blur/digest.c), OpenSSL EVP. Hex buffers take the trailing NUL.
 */
#define MODQ_SHA256_LEN 32
#define MODQ_MD5_LEN    16

/* SHA-256 and MD5 of buf in one pass over the bytes. Either output may be NULL to skip it. */
modq_blur_result modq_digest_compute(const void *buf, size_t len, uint8_t sha256[MODQ_SHA256_LEN],
                                     uint8_t md5[MODQ_MD5_LEN]);
/* Lowercase hex of n bytes into out, which holds at least 2 * n + 1 chars. */
void modq_digest_hex(const uint8_t *bytes, size_t n, char *out);
/* Parses exactly 2 * n hex digits (either case) into n bytes; MODQ_BLUR_ERR_PARSE otherwise, and
 * then out is left unchanged. */
modq_blur_result modq_digest_from_hex(const char *hex, uint8_t *out, size_t n);

/* ---------------------------------------------------------------------------------------------
 * PDQ perceptual hash (blur/pdq.c), from the published algorithm (Facebook, 2019).
 * A hash is 256 bits held as 32 bytes; its hex form is 64 lowercase digits, most significant first,
 * as the reference implementation prints it.
 */
#define MODQ_PDQ_BYTES    32
#define MODQ_PDQ_HEX_LEN  64
#define MODQ_PDQ_DIHEDRAL 8
/* The usual match threshold for "same image" (the reference's suggestion). */
#define MODQ_PDQ_DEFAULT_THRESHOLD 31

/*
 * Hashes a luminance image: luma holds w * h values in row-major order, 0..255 (PDQ's
 * Y = 0.299 R + 0.587 G + 0.114 B of sRGB values). Writes the hash and the quality (0..100).
 * When dihedral is non-NULL, also writes the 8 hashes of the image's rotations and flips in the
 * reference's order: original, rotate 90, rotate 180, rotate 270, flip x, flip y, flip +1, flip -1.
 * The image may be any size >= 1x1; the algorithm downsamples it to 64x64 itself.
 */
modq_blur_result modq_pdq_hash_luma(const float *luma, int w, int h, uint8_t hash[MODQ_PDQ_BYTES],
                                    int *quality,
                                    uint8_t dihedral[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES]);
/* Number of differing bits, 0..256. */
int modq_pdq_distance(const uint8_t a[MODQ_PDQ_BYTES], const uint8_t b[MODQ_PDQ_BYTES]);
/* The smallest distance from probe to any of the 8 dihedral variants of a candidate. */
int modq_pdq_distance_dihedral(const uint8_t probe_dihedral[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES],
                               const uint8_t candidate[MODQ_PDQ_BYTES]);
/* 1 when distance(a, b) <= threshold, else 0. */
int modq_pdq_match(const uint8_t a[MODQ_PDQ_BYTES], const uint8_t b[MODQ_PDQ_BYTES], int threshold);
/* Hex into out (MODQ_PDQ_HEX_LEN + 1 chars). */
void modq_pdq_to_hex(const uint8_t hash[MODQ_PDQ_BYTES], char out[MODQ_PDQ_HEX_LEN + 1]);
/* Parses exactly 64 hex digits (either case); MODQ_BLUR_ERR_PARSE otherwise. */
modq_blur_result modq_pdq_from_hex(const char *hex, uint8_t hash[MODQ_PDQ_BYTES]);

/* ---------------------------------------------------------------------------------------------
 * PDQ index (blur/pdq_index.c): every hash within Hamming distance <= 31 of a probe, exactly (no
 * hash within the radius is ever missed), in banks of millions of hashes. Built once, then only
 * read: any number of threads may search it at once.
 */
#define MODQ_PDQ_INDEX_MAX        ((size_t)100 * 1000 * 1000) /* hashes in one index */
#define MODQ_PDQ_INDEX_MAX_RADIUS 31

typedef struct modq_pdq_index modq_pdq_index;

/* A new empty index (caller frees: modq_pdq_index_free); NULL when out of memory. */
modq_pdq_index *modq_pdq_index_new(void);
void modq_pdq_index_free(modq_pdq_index *ix);
/* Copies hash in at the next position (0, 1, ...). MODQ_BLUR_ERR_TOO_LARGE past
 * MODQ_PDQ_INDEX_MAX hashes, MODQ_BLUR_ERR_INVALID_ARG once built. */
modq_blur_result modq_pdq_index_add(modq_pdq_index *ix, const uint8_t hash[MODQ_PDQ_BYTES]);
/* Makes the index searchable; no hash can be added after. On failure, free the index. */
modq_blur_result modq_pdq_index_build(modq_pdq_index *ix);
size_t modq_pdq_index_count(const modq_pdq_index *ix);
/* The hash at pos (valid while ix lives), NULL past the end. */
const uint8_t *modq_pdq_index_hash(const modq_pdq_index *ix, size_t pos);
/* Bytes the index holds, for reports. */
size_t modq_pdq_index_bytes(const modq_pdq_index *ix);

/* Called for a hash at distance <= radius from one of the probes: its position and that
 * distance. The same position may come more than once (from several chunks or probes); a
 * nonzero return ends the search. */
typedef int (*modq_pdq_index_fn)(void *arg, size_t pos, int distance);

/* Calls fn for every indexed hash within radius (0..MODQ_PDQ_INDEX_MAX_RADIUS) of any of the
 * nprobe probes (a hash's 8 dihedral variants, say), in no particular order. */
modq_blur_result modq_pdq_index_search(const modq_pdq_index *ix,
                                       const uint8_t (*probe)[MODQ_PDQ_BYTES], int nprobe,
                                       int radius, modq_pdq_index_fn fn, void *arg);

/* ---------------------------------------------------------------------------------------------
 * Hash banks (blur/banks.c): lists of known media whose match decides a ticket without anyone
 * seeing it. Loaded once, then only read: any number of threads may match at once.
 */
typedef enum modq_bank_hash_type {
    MODQ_BANK_SHA256 = 0,
    MODQ_BANK_MD5,
    MODQ_BANK_PDQ,
} modq_bank_hash_type;

/* Hashes held in all banks together; beyond it loading fails rather than using unbounded memory. */
#define MODQ_BANKS_MAX_HASHES (20 * 1000 * 1000)
#define MODQ_BANKS_MAX_BANKS  64
/* PDQ hashes below this quality are mostly noise: never matched, on either side. */
#define MODQ_BANKS_MIN_PDQ_QUALITY 50

typedef struct modq_banks modq_banks;

/* A new empty set of banks; caller owns it (modq_banks_free). NULL when out of memory. */
modq_banks *modq_banks_new(void);
void modq_banks_free(modq_banks *b);

/*
 * Loads the bank file at path under name. Lines: "TYPE HEX [note...]", TYPE one of sha256, md5,
 * pdq, separated by blanks, tabs or one comma; '#' starts a comment; blank lines are skipped.
 * verdict is the proto Verdict number a match decides; labels (labels_count strings, copied)
 * become the decision's policy labels; pdq_threshold (0..MODQ_PDQ_INDEX_MAX_RADIUS) is the
 * largest Hamming distance that matches. On error nothing of the file is kept and errstr says
 * "FILE:LINE: reason" (MODQ_BLUR_ERR_PARSE), "FILE: reason" (MODQ_BLUR_ERR_IO), or why it is
 * too large (MODQ_BLUR_ERR_TOO_LARGE: more banks or hashes than the caps).
 */
modq_blur_result modq_banks_load(modq_banks *b, const char *name, const char *path, int verdict,
                                 const char *const *labels, size_t labels_count, int pdq_threshold,
                                 char *errstr, size_t errstr_size);

/* What a match found; pointers stay valid while the banks live. */
typedef struct modq_bank_match {
    const char *bank;          /* the bank's name */
    int verdict;               /* the proto Verdict number */
    const char *const *labels; /* labels_count strings */
    size_t labels_count;
    modq_bank_hash_type type; /* which hash matched */
    char hash_hex[65];        /* the bank's hash that matched, lowercase hex */
    int distance;             /* PDQ Hamming distance, 0 for exact hashes */
} modq_bank_match;

/*
 * Looks the media up: SHA-256 first, then MD5, then PDQ (the closest of any bank within that
 * bank's threshold, over the 8 dihedral variants so rotated and flipped copies match). Any input
 * may be NULL to skip that hash; pdq_quality below MODQ_BANKS_MIN_PDQ_QUALITY skips PDQ.
 * Returns 1 and fills *out on a match, 0 when nothing matches.
 */
int modq_banks_match(const modq_banks *b, const uint8_t *sha256, const uint8_t *md5,
                     const uint8_t (*pdq_dihedral)[MODQ_PDQ_BYTES], int pdq_quality,
                     modq_bank_match *out);

/* Matches modq_banks_match_all finds at most for one media. */
#define MODQ_BANKS_MAX_MATCHES 1024

/*
 * Every match of the media, as modq_banks_match looks (every bank holding its SHA-256 or MD5,
 * every PDQ hash within its bank's threshold), nearest first: exact ones first, then SHA-256,
 * MD5, PDQ; then the bank loaded first; then the file's order. Fills out with up to max of them
 * (valid while the banks live) and returns how many there are (at most MODQ_BANKS_MAX_MATCHES;
 * past it, some PDQ matches are left out).
 */
size_t modq_banks_match_all(const modq_banks *b, const uint8_t *sha256, const uint8_t *md5,
                            const uint8_t (*pdq_dihedral)[MODQ_PDQ_BYTES], int pdq_quality,
                            modq_bank_match *out, size_t max);

/* Number of hashes loaded, all types and banks together. */
size_t modq_banks_count(const modq_banks *b);
/* Number of hashes of one type loaded, all banks together (an MD5 need not be computed when no
 * bank lists one). */
size_t modq_banks_count_of(const modq_banks *b, modq_bank_hash_type type);

/* ---------------------------------------------------------------------------------------------
 * The per-item pipeline (blur/media.c): bytes in, hashes and renditions out.
 */
typedef struct modq_media modq_media;

/*
 * Decodes buf once, under opts's limits, and computes the digests, the PDQ hash (with its
 * dihedral variants) and every rendition opts asks for. buf is only read, never kept: the caller
 * may free it as soon as this returns. On success *out is a new modq_media owned by the caller
 * (free with modq_media_free). On failure *out is NULL, and when errstr is non-NULL it receives
 * one line naming the reason with its figures, e.g. "too many pixels: 50000x50000 > 100000000".
 * Logs nothing: the caller decides where an error goes.
 */
modq_blur_result modq_media_process(const modq_media_opts *opts, const void *buf, size_t len,
                                    modq_media **out, char *errstr, size_t errstr_size);
/* Frees m and every rendition it holds (NULL is fine). */
void modq_media_free(modq_media *m);

/*
 * For media processed with MODQ_OPT_DEFER_RENDER: renders the levels opts asks for (with opts's
 * colour, colour ladder, format and quality) from the kept decoded image, then releases that
 * image. Hashes are
 * not recomputed. MODQ_BLUR_ERR_INVALID_ARG when nothing was kept (or it was released already).
 * Lets a caller skip renditions for media a hash bank decides, still with one decode.
 */
modq_blur_result modq_media_render(modq_media *m, const modq_media_opts *opts, char *errstr,
                                   size_t errstr_size);
/* Releases the decoded image kept by MODQ_OPT_DEFER_RENDER without rendering (NULL is fine). */
void modq_media_release_image(modq_media *m);

/* Source facts: oriented size (after EXIF rotation), format name ("jpeg", "png", "webp", "gif",
 * "tiff", "heif"), frame count (1 for stills; animated images are reduced to frame 1). */
int modq_media_width(const modq_media *m);
int modq_media_height(const modq_media *m);
const char *modq_media_format(const modq_media *m);
int modq_media_frames(const modq_media *m);

/* Hashes as lowercase hex, owned by m. */
const char *modq_media_sha256_hex(const modq_media *m);
const char *modq_media_md5_hex(const modq_media *m);
const char *modq_media_pdq_hex(const modq_media *m);
/* Raw hashes, owned by m: SHA-256 (32 bytes), MD5 (16), and the PDQ hash with its 8 dihedral
 * variants (index 0 is the hash itself). */
const uint8_t *modq_media_sha256(const modq_media *m);
const uint8_t *modq_media_md5(const modq_media *m);
const uint8_t *modq_media_pdq_dihedral(const modq_media *m, int variant);
/* All 8 variants at once, in the form the matchers take them (modq_pdq_distance_dihedral,
 * modq_banks_match, modq_pdq_index_search); valid while m lives, NULL for m NULL. */
const uint8_t (*modq_media_pdq_variants(const modq_media *m))[MODQ_PDQ_BYTES];
int modq_media_pdq_quality(const modq_media *m);

/*
 * A rendition, owned by m and valid until modq_media_free(m). *data is the encoded file
 * (no metadata of any kind), w and h its pixel size. A heavily blurred level is stored smaller
 * than the display size (it carries little detail); display_w and display_h give the size it is
 * meant to be shown at. Returns MODQ_BLUR_ERR_INVALID_ARG for a level that was not rendered.
 * Any output pointer may be NULL.
 */
modq_blur_result modq_media_rendition(const modq_media *m, int level, const uint8_t **data,
                                      size_t *len, int *w, int *h);
/*
 * The colour rendition of a level, as modq_media_rendition: same size, sigma, format and (absent)
 * metadata as the greyscale one, owned by m. It exists when the level was rendered with
 * MODQ_OPT_COLOUR_TOO (or with MODQ_OPT_COLOUR, when the one ladder is already in colour);
 * MODQ_BLUR_ERR_INVALID_ARG otherwise. A greyscale source gives a colour ladder that is as grey.
 */
modq_blur_result modq_media_rendition_colour(const modq_media *m, int level, const uint8_t **data,
                                             size_t *len, int *w, int *h);
int modq_media_display_width(const modq_media *m);
int modq_media_display_height(const modq_media *m);
/* MIME type of the renditions, "image/webp" or "image/jpeg". */
const char *modq_media_mime(const modq_media *m);
/* The blur sigma of a level as a fraction of the displayed long side (0 for level 0). */
double modq_media_level_sigma(int level);

/* ---------------------------------------------------------------------------------------------
 * Media from parts (blur/media_parts.c): a modq_media rebuilt from the facts, hashes and finished
 * renditions another process made (a prepare pod's review item read by a desk pod). Nothing is
 * decoded; every part is checked, as it comes from outside this process.
 */
typedef struct modq_media_facts {
    int width, height, frames;
    const char *format; /* a name modq_media_format gives ("jpeg", "png", ...) */
    int display_width, display_height;
    modq_rendition_format rendition_format;
    bool levels_in_colour; /* the one ladder is in colour (MODQ_OPT_COLOUR) */
    uint8_t sha256[MODQ_SHA256_LEN];
    uint8_t md5[MODQ_MD5_LEN];
    uint8_t pdq[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES]; /* the hash, then its dihedral variants */
    int pdq_quality;
} modq_media_facts;

/* A new media holding f's facts and no rendition (caller owns *out: modq_media_free).
 * MODQ_BLUR_ERR_PARSE, with errstr saying which, for a fact out of range. */
modq_blur_result modq_media_assemble(const modq_media_facts *f, modq_media **out, char *errstr,
                                     size_t errstr_size);
/* Copies len bytes at data into m as level's rendition (colour: of the colour ladder), w x h
 * pixels. MODQ_BLUR_ERR_PARSE, with errstr saying which, for a level out of range, given twice,
 * larger than the display size, empty (data may then be NULL), over 8 MiB, or bytes that are not
 * a file of m's rendition format; MODQ_BLUR_ERR_INVALID_ARG only for m NULL, or data NULL with
 * len > 0. */
modq_blur_result modq_media_put_rendition(modq_media *m, int level, bool colour,
                                          const uint8_t *data, size_t len, int w, int h,
                                          char *errstr, size_t errstr_size);
/* What modq_media_assemble needs again: whether the one ladder is colour, and its format. */
bool modq_media_levels_in_colour(const modq_media *m);
modq_rendition_format modq_media_rendition_format(const modq_media *m);

/* ---------------------------------------------------------------------------------------------
 * Synthetic images (blur/synth.c): shapes and noise for demos, tests and benchmarks. Never real
 * content. Deterministic for a given seed.
 */
typedef enum modq_synth_kind {
    MODQ_SYNTH_SHAPES = 0, /* coloured shapes on a gradient */
    MODQ_SYNTH_NOISE,      /* uniform noise: the worst case for compression and blur checks */
    MODQ_SYNTH_CHECKER,    /* a fine checkerboard: maximal high-frequency detail */
    MODQ_SYNTH_KIND_COUNT
} modq_synth_kind;

/*
 * Encodes a w x h synthetic image as format ("jpeg", "png", "webp", "gif" or "tiff"). On success
 * *data is a new buffer of *len bytes owned by the caller (free with g_free or modq_synth_free).
 */
modq_blur_result modq_synth_image(modq_synth_kind kind, int w, int h, uint32_t seed,
                                  const char *format, uint8_t **data, size_t *len);
/*
 * Encodes a w x h synthetic image as a progressive JPEG (libjpeg, quality 90, 4:2:0) of exactly
 * `scans` scans: the DC of all components in one, then each component's AC spectrum in ever
 * narrower bands, then, past one band per coefficient, successive approximation. Every decoder
 * reads it. Each scan carries a slice of the coefficients, so it costs a decoder about what the
 * usual 10 scans cost: it exercises a scan count, not the dearest scans (repeated full-band ones,
 * which libjpeg also accepts). scans 4 .. 2080, w x h at most 100 000 000 (libjpeg holds about 3
 * bytes per pixel while writing). Same pixels as modq_synth_image for the same kind, size and
 * seed. On success *data is a new buffer of *len bytes owned by the caller (modq_synth_free).
 */
modq_blur_result modq_synth_jpeg_scans(modq_synth_kind kind, int w, int h, uint32_t seed, int scans,
                                       uint8_t **data, size_t *len);
/* Frees a buffer from modq_synth_image or modq_synth_jpeg_scans (NULL is fine). */
void modq_synth_free(uint8_t *data);

#ifdef __cplusplus
}
#endif

#endif /* MODQ_BLUR_H */
