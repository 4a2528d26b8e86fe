/* banks.h: hash banks, lists of known media whose match decides a ticket automatically (private).
 */
#ifndef MODQ_WORKER_BANKS_H
#define MODQ_WORKER_BANKS_H

#include "modq_blur.h"

#include <stddef.h>
#include <stdint.h>

typedef enum modq_banks_result {
    MODQ_BANKS_OK = 0,
    MODQ_BANKS_ERR_INVALID_ARG,
    MODQ_BANKS_ERR_NOMEM,
    MODQ_BANKS_ERR_IO,    /* the bank file could not be read */
    MODQ_BANKS_ERR_PARSE, /* a line is malformed: errstr names FILE:LINE */
    MODQ_BANKS_ERR_LIMIT, /* too many banks or hashes */
    MODQ_BANKS_RESULT_COUNT
} modq_banks_result;

const char *modq_banks_strerror(modq_banks_result r);

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
 * become the decision's policy labels; pdq_threshold (0..256) is the largest Hamming distance
 * that matches. On error nothing of the file is kept and errstr says "FILE:LINE: reason".
 */
modq_banks_result modq_banks_load(modq_banks *b, const char *name, const char *path, int verdict,
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

/* Number of hashes loaded, all types and banks together. */
size_t modq_banks_count(const modq_banks *b);

#endif
