/*
 * banks.c: hash banks. A match against a bank decides a ticket without anyone seeing it: that is
 * the whole point of a bank (known child-abuse imagery, terrorist content, already-reviewed
 * spam), so matching errs on the side of exactness. Exact hashes (SHA-256, MD5) are sorted and
 * binary-searched; PDQ is a linear scan over every variant of the probe (rotations and flips),
 * which is fast enough for banks of a few million hashes and is what the issue asks for now.
 */
#include "banks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE   4096
#define MAX_NAME   128
#define MAX_LABELS 16

typedef struct bank {
    char name[MAX_NAME];
    int verdict;
    char *labels[MAX_LABELS];
    size_t nlabels;
    int threshold;
} bank;

/* One hash of one bank. 32 bytes hold SHA-256 and PDQ; MD5 uses the first 16. */
typedef struct record {
    uint8_t h[32];
    uint16_t bank;
} record;

typedef struct records {
    record *v;
    size_t n, cap;
} records;

struct modq_banks {
    bank banks[MODQ_BANKS_MAX_BANKS];
    size_t nbanks;
    records sha256, md5, pdq;
};

static const char *const result_text[MODQ_BANKS_RESULT_COUNT] = {
    [MODQ_BANKS_OK] = "success",
    [MODQ_BANKS_ERR_INVALID_ARG] = "invalid argument",
    [MODQ_BANKS_ERR_NOMEM] = "out of memory",
    [MODQ_BANKS_ERR_IO] = "bank file could not be read",
    [MODQ_BANKS_ERR_PARSE] = "malformed bank file",
    [MODQ_BANKS_ERR_LIMIT] = "too many banks or hashes",
};

const char *modq_banks_strerror(modq_banks_result r)
{
    return (unsigned)r < MODQ_BANKS_RESULT_COUNT ? result_text[r] : "unknown error";
}

modq_banks *modq_banks_new(void)
{
    return calloc(1, sizeof(modq_banks));
}

static void free_bank(bank *k)
{
    for (size_t i = 0; i < k->nlabels; i++) {
        free(k->labels[i]);
        k->labels[i] = NULL;
    }
    k->nlabels = 0;
}

void modq_banks_free(modq_banks *b)
{
    if (!b) {
        return;
    }
    for (size_t i = 0; i < b->nbanks; i++) {
        free_bank(&b->banks[i]);
    }
    free(b->sha256.v);
    free(b->md5.v);
    free(b->pdq.v);
    free(b);
}

size_t modq_banks_count(const modq_banks *b)
{
    return b ? b->sha256.n + b->md5.n + b->pdq.n : 0;
}

/* Appends r; growth doubles, and the total across all banks stays under the cap. */
static modq_banks_result push(modq_banks *b, records *rs, const record *r)
{
    if (modq_banks_count(b) >= MODQ_BANKS_MAX_HASHES) {
        return MODQ_BANKS_ERR_LIMIT;
    }
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 1024;
        record *v = realloc(rs->v, cap * sizeof(*v));
        if (!v) {
            return MODQ_BANKS_ERR_NOMEM;
        }
        rs->v = v;
        rs->cap = cap;
    }
    rs->v[rs->n++] = *r;
    return MODQ_BANKS_OK;
}

static int cmp32(const void *a, const void *b)
{
    return memcmp(((const record *)a)->h, ((const record *)b)->h, 32);
}

static int cmp16(const void *a, const void *b)
{
    return memcmp(((const record *)a)->h, ((const record *)b)->h, 16);
}

/* Parses one line into *r and its list; 0 when the line holds nothing, 1 for a hash, -1 bad. */
static int parse_line(char *line, record *r, records **list, modq_banks *b, const char **why)
{
    char *hash, *save = NULL, *type;

    line[strcspn(line, "#\r\n")] = '\0';
    type = strtok_r(line, " \t,", &save);
    if (!type) {
        return 0;
    }
    hash = strtok_r(NULL, " \t,", &save);
    if (!hash) {
        *why = "expected TYPE HEX";
        return -1;
    }
    memset(r->h, 0, sizeof(r->h));
    if (strcmp(type, "sha256") == 0) {
        *list = &b->sha256;
        if (modq_digest_from_hex(hash, r->h, 32) == MODQ_BLUR_OK) {
            return 1;
        }
        *why = "sha256 needs 64 hex digits";
    } else if (strcmp(type, "md5") == 0) {
        *list = &b->md5;
        if (modq_digest_from_hex(hash, r->h, 16) == MODQ_BLUR_OK) {
            return 1;
        }
        *why = "md5 needs 32 hex digits";
    } else if (strcmp(type, "pdq") == 0) {
        *list = &b->pdq;
        if (modq_digest_from_hex(hash, r->h, 32) == MODQ_BLUR_OK) {
            return 1;
        }
        *why = "pdq needs 64 hex digits";
    } else {
        *why = "unknown hash type (expected sha256, md5 or pdq)";
    }
    return -1;
}

modq_banks_result modq_banks_load(modq_banks *b, const char *name, const char *path, int verdict,
                                  const char *const *labels, size_t labels_count, int pdq_threshold,
                                  char *errstr, size_t errstr_size)
{
    size_t before[3], lineno = 0;
    char line[MAX_LINE];
    FILE *f = NULL;
    bank *k;
    modq_banks_result r = MODQ_BANKS_OK;

    if (!errstr) {
        errstr_size = 0;
    }
    if (!b || !name || !path || (labels_count && !labels) || labels_count > MAX_LABELS ||
        pdq_threshold < 0 || pdq_threshold > 256 || strlen(name) >= MAX_NAME) {
        snprintf(errstr, errstr_size, "%s: invalid bank settings", path ? path : "(null)");
        return MODQ_BANKS_ERR_INVALID_ARG;
    }
    if (b->nbanks >= MODQ_BANKS_MAX_BANKS) {
        snprintf(errstr, errstr_size, "%s: more than %d banks", path, MODQ_BANKS_MAX_BANKS);
        return MODQ_BANKS_ERR_LIMIT;
    }
    if (!(f = fopen(path, "r"))) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return MODQ_BANKS_ERR_IO;
    }
    before[0] = b->sha256.n;
    before[1] = b->md5.n;
    before[2] = b->pdq.n;
    k = &b->banks[b->nbanks];
    memset(k, 0, sizeof(*k));
    memcpy(k->name, name, strlen(name) + 1);
    k->verdict = verdict;
    k->threshold = pdq_threshold;
    for (size_t i = 0; i < labels_count; i++) {
        if (!(k->labels[i] = strdup(labels[i]))) {
            r = MODQ_BANKS_ERR_NOMEM;
            goto out;
        }
        k->nlabels++;
    }
    while (fgets(line, sizeof(line), f)) {
        record rec = {.bank = (uint16_t)b->nbanks};
        records *list = NULL;
        const char *why = NULL;
        int got;

        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(errstr, errstr_size, "%s:%zu: line longer than %d bytes", path, lineno,
                     MAX_LINE - 2);
            r = MODQ_BANKS_ERR_PARSE;
            goto out;
        }
        got = parse_line(line, &rec, &list, b, &why);
        if (got < 0) {
            snprintf(errstr, errstr_size, "%s:%zu: %s", path, lineno, why);
            r = MODQ_BANKS_ERR_PARSE;
            goto out;
        }
        if (got && (r = push(b, list, &rec)) != MODQ_BANKS_OK) {
            snprintf(errstr, errstr_size, "%s:%zu: %s", path, lineno, modq_banks_strerror(r));
            goto out;
        }
    }
    if (ferror(f)) {
        snprintf(errstr, errstr_size, "%s: read error", path);
        r = MODQ_BANKS_ERR_IO;
        goto out;
    }
    if (b->sha256.n > 1) {
        qsort(b->sha256.v, b->sha256.n, sizeof(record), cmp32);
    }
    if (b->md5.n > 1) {
        qsort(b->md5.v, b->md5.n, sizeof(record), cmp16);
    }
    b->nbanks++;
out:
    if (r != MODQ_BANKS_OK) {
        /* All or nothing: a half-loaded bank would match some of its hashes and not others. */
        b->sha256.n = before[0];
        b->md5.n = before[1];
        b->pdq.n = before[2];
        free_bank(k);
    }
    fclose(f);
    return r;
}

/* The first record whose first n bytes equal key, or NULL. */
static const record *find(const records *rs, const uint8_t *key, size_t n)
{
    size_t lo = 0, hi = rs->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(rs->v[mid].h, key, n) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < rs->n && memcmp(rs->v[lo].h, key, n) == 0 ? &rs->v[lo] : NULL;
}

static void fill(const modq_banks *b, const record *rec, modq_bank_hash_type type, size_t nbytes,
                 int distance, modq_bank_match *out)
{
    const bank *k = &b->banks[rec->bank];

    out->bank = k->name;
    out->verdict = k->verdict;
    out->labels = (const char *const *)k->labels;
    out->labels_count = k->nlabels;
    out->type = type;
    out->distance = distance;
    modq_digest_hex(rec->h, nbytes, out->hash_hex);
}

int modq_banks_match(const modq_banks *b, const uint8_t *sha256, const uint8_t *md5,
                     const uint8_t (*pdq_dihedral)[MODQ_PDQ_BYTES], int pdq_quality,
                     modq_bank_match *out)
{
    const record *best = NULL;
    int best_d = 257;

    if (!b || !out) {
        return 0;
    }
    if (sha256 && (best = find(&b->sha256, sha256, 32))) {
        fill(b, best, MODQ_BANK_SHA256, 32, 0, out);
        return 1;
    }
    if (md5 && (best = find(&b->md5, md5, 16))) {
        fill(b, best, MODQ_BANK_MD5, 16, 0, out);
        return 1;
    }
    if (!pdq_dihedral || pdq_quality < MODQ_BANKS_MIN_PDQ_QUALITY) {
        return 0;
    }
    for (size_t i = 0; i < b->pdq.n && best_d > 0; i++) {
        const record *rec = &b->pdq.v[i];
        int d = modq_pdq_distance_dihedral(pdq_dihedral, rec->h);
        if (d <= b->banks[rec->bank].threshold && d < best_d) {
            best = rec;
            best_d = d;
        }
    }
    if (!best) {
        return 0;
    }
    fill(b, best, MODQ_BANK_PDQ, 32, best_d, out);
    return 1;
}
