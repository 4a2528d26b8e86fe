/*
 * banks.c: hash banks. A match against a bank decides a ticket without anyone seeing it: that is
 * the whole point of a bank (known child-abuse imagery, terrorist content, already-reviewed
 * spam), so matching errs on the side of exactness. Exact hashes (SHA-256, MD5) are sorted and
 * binary-searched; each bank's PDQ hashes have their own index (pdq_index.c), searched at that
 * bank's threshold, so that no hash within it is ever missed and a strict bank costs less.
 */
#include "internal.h"

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
    modq_pdq_index *pdq; /* this bank's PDQ hashes, built when its file is read */
} bank;

/* One exact hash of one bank. 32 bytes hold SHA-256; MD5 uses the first 16. */
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
    records sha256, md5;
    size_t npdq; /* in every bank's index */
};

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
    modq_pdq_index_free(k->pdq);
    k->pdq = NULL;
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
    free(b);
}

size_t modq_banks_count(const modq_banks *b)
{
    return b ? b->sha256.n + b->md5.n + b->npdq : 0;
}

size_t modq_banks_count_of(const modq_banks *b, modq_bank_hash_type type)
{
    if (b == NULL) {
        return 0;
    }
    return type == MODQ_BANK_SHA256 ? b->sha256.n : type == MODQ_BANK_MD5 ? b->md5.n : b->npdq;
}

/* Room for one more hash of any kind, across all banks. */
static modq_blur_result room(const modq_banks *b)
{
    return modq_banks_count(b) >= MODQ_BANKS_MAX_HASHES ? MODQ_BLUR_ERR_TOO_LARGE : MODQ_BLUR_OK;
}

/* Appends r; growth doubles, and the total across all banks stays under the cap. */
static modq_blur_result push(modq_banks *b, records *rs, const record *r)
{
    if (room(b) != MODQ_BLUR_OK) {
        return MODQ_BLUR_ERR_TOO_LARGE;
    }
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 1024;
        record *v = realloc(rs->v, cap * sizeof(*v));
        if (!v) {
            return MODQ_BLUR_ERR_NOMEM;
        }
        rs->v = v;
        rs->cap = cap;
    }
    rs->v[rs->n++] = *r;
    return MODQ_BLUR_OK;
}

static int cmp32(const void *a, const void *b)
{
    return memcmp(((const record *)a)->h, ((const record *)b)->h, 32);
}

static int cmp16(const void *a, const void *b)
{
    return memcmp(((const record *)a)->h, ((const record *)b)->h, 16);
}

/* Parses one line into r->h and its type; 0 when the line holds nothing, 1 for a hash, -1 bad
 * (*why says what). */
static int parse_line(char *line, record *r, modq_bank_hash_type *type, const char **why)
{
    static const struct {
        const char *name, *why;
        modq_bank_hash_type type;
        size_t bytes;
    } kinds[] = {{"sha256", "sha256 needs 64 hex digits", MODQ_BANK_SHA256, 32},
                 {"md5", "md5 needs 32 hex digits", MODQ_BANK_MD5, 16},
                 {"pdq", "pdq needs 64 hex digits", MODQ_BANK_PDQ, 32}};
    char *hash, *save = NULL, *name;

    line[strcspn(line, "#\r\n")] = '\0';
    if (!(name = strtok_r(line, " \t,", &save))) {
        return 0;
    }
    if (!(hash = strtok_r(NULL, " \t,", &save))) {
        *why = "expected TYPE HEX";
        return -1;
    }
    memset(r->h, 0, sizeof(r->h));
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(name, kinds[i].name) == 0) {
            *type = kinds[i].type;
            *why = kinds[i].why;
            return modq_digest_from_hex(hash, r->h, kinds[i].bytes) == MODQ_BLUR_OK ? 1 : -1;
        }
    }
    *why = "unknown hash type (expected sha256, md5 or pdq)";
    return -1;
}

/* Reads f's lines into b's exact lists and bank k's PDQ index. */
static modq_blur_result read_lines(modq_banks *b, bank *k, FILE *f, const char *path, char *errstr,
                                   size_t errstr_size)
{
    char line[MAX_LINE];
    size_t lineno = 0;
    modq_blur_result r = MODQ_BLUR_OK;

    while (fgets(line, sizeof(line), f)) {
        record rec = {.bank = (uint16_t)b->nbanks};
        modq_bank_hash_type type = MODQ_BANK_SHA256;
        const char *why = NULL;
        int got;

        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            modq_errstr_set(errstr, errstr_size, "%s:%zu: line longer than %d bytes", path, lineno,
                            MAX_LINE - 2);
            return MODQ_BLUR_ERR_PARSE;
        }
        if ((got = parse_line(line, &rec, &type, &why)) < 0) {
            modq_errstr_set(errstr, errstr_size, "%s:%zu: %s", path, lineno, why);
            return MODQ_BLUR_ERR_PARSE;
        }
        if (got == 0) {
            continue;
        }
        if (type == MODQ_BANK_PDQ) {
            if ((r = room(b)) == MODQ_BLUR_OK &&
                (r = modq_pdq_index_add(k->pdq, rec.h)) == MODQ_BLUR_OK) {
                b->npdq++;
            }
        } else {
            r = push(b, type == MODQ_BANK_SHA256 ? &b->sha256 : &b->md5, &rec);
        }
        if (r != MODQ_BLUR_OK) {
            modq_errstr_set(errstr, errstr_size, "%s:%zu: %s", path, lineno,
                            r == MODQ_BLUR_ERR_TOO_LARGE ? "more hashes than the banks hold"
                                                         : modq_blur_strerror(r));
            return r;
        }
    }
    if (ferror(f)) {
        modq_errstr_set(errstr, errstr_size, "%s: read error", path);
        return MODQ_BLUR_ERR_IO;
    }
    return MODQ_BLUR_OK;
}

modq_blur_result modq_banks_load(modq_banks *b, const char *name, const char *path, int verdict,
                                 const char *const *labels, size_t labels_count, int pdq_threshold,
                                 char *errstr, size_t errstr_size)
{
    size_t before[3];
    FILE *f = NULL;
    bank *k;
    modq_blur_result r = MODQ_BLUR_OK;

    if (!b || !name || !path || (labels_count && !labels) || labels_count > MAX_LABELS ||
        pdq_threshold < 0 || pdq_threshold > MODQ_PDQ_INDEX_MAX_RADIUS ||
        strlen(name) >= MAX_NAME) {
        modq_errstr_set(errstr, errstr_size, "%s: invalid bank settings", path ? path : "(null)");
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    if (b->nbanks >= MODQ_BANKS_MAX_BANKS) {
        modq_errstr_set(errstr, errstr_size, "%s: more than %d banks", path, MODQ_BANKS_MAX_BANKS);
        return MODQ_BLUR_ERR_TOO_LARGE;
    }
    if (!(f = fopen(path, "r"))) {
        modq_errstr_set(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return MODQ_BLUR_ERR_IO;
    }
    before[0] = b->sha256.n;
    before[1] = b->md5.n;
    before[2] = b->npdq;
    k = &b->banks[b->nbanks];
    memset(k, 0, sizeof(*k));
    memcpy(k->name, name, strlen(name) + 1);
    k->verdict = verdict;
    k->threshold = pdq_threshold;
    if (!(k->pdq = modq_pdq_index_new())) {
        r = MODQ_BLUR_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < labels_count; i++) {
        if (!(k->labels[i] = strdup(labels[i]))) {
            r = MODQ_BLUR_ERR_NOMEM;
            goto out;
        }
        k->nlabels++;
    }
    if ((r = read_lines(b, k, f, path, errstr, errstr_size)) != MODQ_BLUR_OK) {
        goto out;
    }
    if ((r = modq_pdq_index_build(k->pdq)) != MODQ_BLUR_OK) {
        modq_errstr_set(errstr, errstr_size, "%s: %s", path, modq_blur_strerror(r));
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
    if (r != MODQ_BLUR_OK) {
        /* All or nothing: a half-loaded bank would match some of its hashes and not others. The
         * exact lists are sorted only once a file is whole, so its hashes are still at the end. */
        b->sha256.n = before[0];
        b->md5.n = before[1];
        b->npdq = before[2];
        if (r == MODQ_BLUR_ERR_NOMEM) {
            modq_errstr_set(errstr, errstr_size, "%s: out of memory", path);
        }
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

static void fill(const modq_banks *b, size_t bank_index, const uint8_t *hash,
                 modq_bank_hash_type type, int distance, modq_bank_match *out)
{
    const bank *k = &b->banks[bank_index];

    out->bank = k->name;
    out->verdict = k->verdict;
    out->labels = (const char *const *)k->labels;
    out->labels_count = k->nlabels;
    out->type = type;
    out->distance = distance;
    modq_digest_hex(hash, type == MODQ_BANK_MD5 ? 16 : 32, out->hash_hex);
}

/* The nearest hash of one bank's index: the lowest position among the nearest, so that the
 * answer does not depend on the order the index reports in. */
typedef struct nearest {
    size_t pos;
    int d;
} nearest;

static int keep_nearest(void *arg, size_t pos, int distance)
{
    nearest *n = arg;

    if (distance < n->d || (distance == n->d && pos < n->pos)) {
        n->pos = pos;
        n->d = distance;
    }
    return 0;
}

int modq_banks_match(const modq_banks *b, const uint8_t *sha256, const uint8_t *md5,
                     const uint8_t (*pdq_dihedral)[MODQ_PDQ_BYTES], int pdq_quality,
                     modq_bank_match *out)
{
    const record *rec;
    nearest best = {0, MODQ_PDQ_INDEX_MAX_RADIUS + 1};
    size_t best_bank = 0;

    if (!b || !out) {
        return 0;
    }
    if (sha256 && (rec = find(&b->sha256, sha256, 32))) {
        fill(b, rec->bank, rec->h, MODQ_BANK_SHA256, 0, out);
        return 1;
    }
    if (md5 && (rec = find(&b->md5, md5, 16))) {
        fill(b, rec->bank, rec->h, MODQ_BANK_MD5, 0, out);
        return 1;
    }
    if (!pdq_dihedral || pdq_quality < MODQ_BANKS_MIN_PDQ_QUALITY) {
        return 0;
    }
    /* The closest across banks; on a tie, the bank loaded first. A bank searches only as far as
     * its threshold, and no farther than the best already found. */
    for (size_t i = 0; i < b->nbanks && best.d > 0; i++) {
        const bank *k = &b->banks[i];
        nearest n = {0, MODQ_PDQ_INDEX_MAX_RADIUS + 1};
        int radius = k->threshold < best.d - 1 ? k->threshold : best.d - 1;

        if (modq_pdq_index_count(k->pdq) == 0) {
            continue;
        }
        if (modq_pdq_index_search(k->pdq, pdq_dihedral, MODQ_PDQ_DIHEDRAL, radius, keep_nearest,
                                  &n) == MODQ_BLUR_OK &&
            n.d < best.d) {
            best = n;
            best_bank = i;
        }
    }
    if (best.d > MODQ_PDQ_INDEX_MAX_RADIUS) {
        return 0;
    }
    fill(b, best_bank, modq_pdq_index_hash(b->banks[best_bank].pdq, best.pos), MODQ_BANK_PDQ,
         best.d, out);
    return 1;
}

/* ---- Every match ------------------------------------------------------------------------- */

typedef struct hit {
    uint16_t bank;
    uint8_t type; /* modq_bank_hash_type */
    int d;
    size_t pos;       /* PDQ: the position in the bank's index */
    const uint8_t *h; /* the bank's hash */
} hit;

typedef struct hits {
    hit v[MODQ_BANKS_MAX_MATCHES];
    size_t n;
    bool full;
    uint16_t bank; /* the bank being searched */
    const modq_pdq_index *ix;
    size_t from; /* where its hits begin in v */
} hits;

static void compact(hits *hs);

static void add_hit(hits *hs, const hit *h)
{
    if (hs->n < MODQ_BANKS_MAX_MATCHES) {
        hs->v[hs->n++] = *h;
    } else {
        hs->full = true;
    }
}

static int on_pdq(void *arg, size_t pos, int distance)
{
    hits *hs = arg;
    hit h = {hs->bank, MODQ_BANK_PDQ, distance, pos, modq_pdq_index_hash(hs->ix, pos)};

    /* The index reports a hash once per chunk and variant that finds it: room is made by
     * keeping each hash once before the list is called full. */
    if (hs->n == MODQ_BANKS_MAX_MATCHES) {
        compact(hs);
    }
    add_hit(hs, &h);
    return hs->full; /* no room: stop */
}

/* Every record of rs equal to key in its first n bytes. */
static void exact_hits(hits *hs, const records *rs, const uint8_t *key, size_t n,
                       modq_bank_hash_type type)
{
    const record *r = find(rs, key, n);

    for (; r != NULL && r < rs->v + rs->n && memcmp(r->h, key, n) == 0; r++) {
        hit h = {r->bank, (uint8_t)type, 0, (size_t)(r - rs->v), r->h};
        add_hit(hs, &h);
    }
}

/* Nearest first; then SHA-256, MD5, PDQ; then the bank loaded first; then the file's order. */
static int cmp_hit(const void *pa, const void *pb)
{
    const hit *a = pa, *b = pb;

    if (a->d != b->d) {
        return a->d < b->d ? -1 : 1;
    }
    if (a->type != b->type) {
        return a->type < b->type ? -1 : 1;
    }
    if (a->bank != b->bank) {
        return a->bank < b->bank ? -1 : 1;
    }
    return (a->pos > b->pos) - (a->pos < b->pos);
}

static int cmp_pos(const void *pa, const void *pb)
{
    const hit *a = pa, *b = pb;

    if (a->pos != b->pos) {
        return a->pos < b->pos ? -1 : 1;
    }
    return (a->d > b->d) - (a->d < b->d);
}

/* The current bank's hits, each hash once at its nearest. */
static void compact(hits *hs)
{
    hit *v = hs->v + hs->from;
    size_t k = 0;

    qsort(v, hs->n - hs->from, sizeof(hit), cmp_pos);
    for (size_t i = 0; i < hs->n - hs->from; i++) {
        if (k == 0 || v[k - 1].pos != v[i].pos) {
            v[k++] = v[i];
        }
    }
    hs->n = hs->from + k;
}

size_t modq_banks_match_all(const modq_banks *b, const uint8_t *sha256, const uint8_t *md5,
                            const uint8_t (*pdq_dihedral)[MODQ_PDQ_BYTES], int pdq_quality,
                            modq_bank_match *out, size_t max)
{
    hits *hs;
    size_t n = 0;

    if (b == NULL || (out == NULL && max > 0) || !(hs = calloc(1, sizeof(*hs)))) {
        return 0;
    }
    if (sha256) {
        exact_hits(hs, &b->sha256, sha256, 32, MODQ_BANK_SHA256);
    }
    if (md5) {
        exact_hits(hs, &b->md5, md5, 16, MODQ_BANK_MD5);
    }
    for (size_t i = 0;
         pdq_dihedral && pdq_quality >= MODQ_BANKS_MIN_PDQ_QUALITY && i < b->nbanks && !hs->full;
         i++) {
        hs->from = hs->n;
        hs->bank = (uint16_t)i;
        hs->ix = b->banks[i].pdq;
        if (modq_pdq_index_count(hs->ix) > 0) {
            modq_pdq_index_search(hs->ix, pdq_dihedral, MODQ_PDQ_DIHEDRAL, b->banks[i].threshold,
                                  on_pdq, hs);
        }
        compact(hs);
    }
    qsort(hs->v, hs->n, sizeof(hit), cmp_hit);
    for (; n < hs->n && n < max; n++) {
        fill(b, hs->v[n].bank, hs->v[n].h, (modq_bank_hash_type)hs->v[n].type, hs->v[n].d, &out[n]);
    }
    n = hs->n;
    free(hs);
    return n;
}
