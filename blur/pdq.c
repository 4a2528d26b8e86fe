/*
 * pdq.c: the PDQ perceptual hash (Facebook, 2019) of a luminance image, its eight dihedral
 * variants, Hamming distances and the hex form. modq keeps these so that a near-duplicate of media
 * already decided is recognised without a person having to look at it again.
 *
 * The steps and constants follow the published algorithm so that hashes agree with the reference
 * implementation's to within a few bits: tent-filter the image (two passes of box filters, the
 * Jarosz scheme) and pick 64 x 64 samples; rate the quality from the samples' gradients; keep DCT
 * coefficients 1..16 in both directions (the DC term carries no shape); set a bit for every
 * coefficient above their median.
 */
#include "modq_blur.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GRID       64  /* side of the downsampled image */
#define CUT        16  /* side of the block of DCT coefficients kept */
#define WORDS      16  /* the reference stores a hash as 16 words of 16 bits */
#define BOX_DIV    128 /* each of the two box passes spans 1/128 of a side, rounded up */
#define BOX_PASSES 2
/* Below this side the reference declines to hash and returns an all-zero hash of quality 0. */
#define MIN_SIDE 5
/* Larger sides are refused: they bound this file's buffers (64 columns of the image's height),
 * and no caller may decode anything bigger anyway (MODQ_OPT_MAX_SIDE tops out here too). */
#define MAX_SIDE 100000
#define PI       3.14159265358979323846

/* How a dihedral variant's DCT block derives from the original's, per source element (i, j):
 * reversing an axis multiplies the odd-frequency basis vectors along it by -1; since the kept
 * block starts at frequency 1, those are the even indices. A rotation by 90 degrees also swaps
 * the axes, which transposes the block. */
typedef struct dihedral_rule {
    int transpose;
    int flip_rows; /* image rows reversed: negate where i is even */
    int flip_cols; /* image columns reversed: negate where j is even */
} dihedral_rule;

/* In the public order: original, rotate 90, rotate 180, rotate 270, flip x, flip y, flip +1,
 * flip -1. */
static const dihedral_rule RULES[MODQ_PDQ_DIHEDRAL] = {
    {0, 0, 0}, {1, 0, 1}, {0, 1, 1}, {1, 1, 0}, {0, 1, 0}, {0, 0, 1}, {1, 0, 0}, {1, 1, 1},
};

/* The reference's window size for squeezing a side of n samples into GRID, per pass. */
static int box_window(int n)
{
    return (n + BOX_DIV - 1) / BOX_DIV;
}

/* The input index that output i of GRID takes, sampling at the centre of each output cell. */
static int sample_index(int i, int n)
{
    return (int)(((i + 0.5) * n) / GRID);
}

/*
 * Averages x[0..n-1] (in place) over a window of win samples, clipped at the ends (the mean is
 * over the samples that exist). An even window reaches one sample further right than left, as in
 * the reference; that asymmetry changes bits, so it is kept. prefix holds n + 1 doubles.
 */
static void box_line(double *x, int n, int win, double *prefix)
{
    int right = win / 2;
    int left = win - 1 - right;

    prefix[0] = 0.0;
    for (int k = 0; k < n; k++) {
        prefix[k + 1] = prefix[k] + x[k];
    }
    for (int k = 0; k < n; k++) {
        int lo = k - left < 0 ? 0 : k - left;
        int hi = k + right > n - 1 ? n - 1 : k + right;
        x[k] = (prefix[hi + 1] - prefix[lo]) / (double)(hi - lo + 1);
    }
}

/*
 * The 64 x 64 tent-filtered samples of luma. The reference alternates whole-image row and column
 * passes; the two kinds commute, so each row is filtered completely first and only the 64 columns
 * that will be sampled are kept and filtered down their length. Same result, O(64 h) memory.
 */
static modq_blur_result downsample(const float *luma, int w, int h, double grid[GRID][GRID])
{
    modq_blur_result r = MODQ_BLUR_ERR_NOMEM;
    int longest = w > h ? w : h;
    int wwin = box_window(w), hwin = box_window(h);
    int cols[GRID];
    double *line = NULL, *prefix = NULL, *kept = NULL;

    /* Sides are at most MAX_SIDE, so none of these products can overflow. */
    line = malloc((size_t)longest * sizeof(*line));
    prefix = malloc(((size_t)longest + 1) * sizeof(*prefix));
    kept = malloc((size_t)GRID * (size_t)h * sizeof(*kept)); /* column-major: kept[c * h + y] */
    if (!line || !prefix || !kept) {
        goto out;
    }

    for (int c = 0; c < GRID; c++) {
        cols[c] = sample_index(c, w);
    }
    for (int y = 0; y < h; y++) {
        const float *row = luma + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++) {
            line[x] = row[x];
        }
        for (int p = 0; p < BOX_PASSES; p++) {
            box_line(line, w, wwin, prefix);
        }
        for (int c = 0; c < GRID; c++) {
            kept[(size_t)c * (size_t)h + (size_t)y] = line[cols[c]];
        }
    }
    for (int c = 0; c < GRID; c++) {
        double *col = kept + (size_t)c * (size_t)h;
        for (int p = 0; p < BOX_PASSES; p++) {
            box_line(col, h, hwin, prefix);
        }
        for (int g = 0; g < GRID; g++) {
            grid[g][c] = col[sample_index(g, h)];
        }
    }
    r = MODQ_BLUR_OK;
out:
    free(line);
    free(prefix);
    free(kept);
    return r;
}

/* One neighbour difference as the reference counts it: percent of full scale, truncated toward
 * zero. Clamped first so that a wild input cannot overflow the conversion. */
static long gradient(double u, double v)
{
    double d = fabs((u - v) * 100.0 / 255.0);
    return d > 1e6 ? 1000000L : (long)d;
}

/* 0..100: how much significant edge detail the samples hold. A flat or nearly flat image scores
 * near 0 and its hash is noise; the scale (sum / 90, capped) is the reference's heuristic. */
static int quality_of(double grid[GRID][GRID])
{
    long sum = 0;

    for (int y = 0; y + 1 < GRID; y++) {
        for (int x = 0; x < GRID; x++) {
            sum += gradient(grid[y][x], grid[y + 1][x]);
        }
    }
    for (int y = 0; y < GRID; y++) {
        for (int x = 0; x + 1 < GRID; x++) {
            sum += gradient(grid[y][x], grid[y][x + 1]);
        }
    }
    sum /= 90;
    return sum > 100 ? 100 : (int)sum;
}

/* block = D grid D^T, where row u of D is the DCT-II basis vector of frequency u + 1, scaled by
 * sqrt(2 / 64). */
static void dct_block(double grid[GRID][GRID], double block[CUT][CUT])
{
    double d[CUT][GRID], t[CUT][GRID];
    double scale = sqrt(2.0 / GRID);

    for (int u = 0; u < CUT; u++) {
        for (int k = 0; k < GRID; k++) {
            d[u][k] = scale * cos(PI / (2.0 * GRID) * (u + 1) * (2 * k + 1));
        }
    }
    for (int u = 0; u < CUT; u++) {
        for (int x = 0; x < GRID; x++) {
            double s = 0.0;
            for (int k = 0; k < GRID; k++) {
                s += d[u][k] * grid[k][x];
            }
            t[u][x] = s;
        }
    }
    for (int u = 0; u < CUT; u++) {
        for (int v = 0; v < CUT; v++) {
            double s = 0.0;
            for (int k = 0; k < GRID; k++) {
                s += t[u][k] * d[v][k];
            }
            block[u][v] = s;
        }
    }
}

/* The lower median (the 128th smallest of 256), which is what the reference's Torben search
 * returns for an even count. Insertion sort of a copy: 256 values, and defined for any input. */
static double lower_median(double block[CUT][CUT])
{
    double v[CUT * CUT];

    memcpy(v, block, sizeof(v));
    for (int i = 1; i < CUT * CUT; i++) {
        double x = v[i];
        int j = i - 1;
        while (j >= 0 && v[j] > x) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
    return v[CUT * CUT / 2 - 1];
}

/*
 * Bit k = 16 i + j is set when block[i][j] is above the median. The reference keeps bit k in bit
 * (k mod 16) of word k / 16 and prints word 15 first, each word as four hex digits; the bytes here
 * are that printed order, so the hex form is a plain byte dump.
 */
static void block_to_hash(double block[CUT][CUT], uint8_t hash[MODQ_PDQ_BYTES])
{
    double median = lower_median(block);

    for (int i = 0; i < CUT; i++) {
        unsigned word = 0;
        for (int j = 0; j < CUT; j++) {
            if (block[i][j] > median) {
                word |= 1u << j;
            }
        }
        hash[2 * (WORDS - 1 - i)] = (uint8_t)(word >> 8);
        hash[2 * (WORDS - 1 - i) + 1] = (uint8_t)(word & 0xffu);
    }
}

static void apply_rule(const dihedral_rule *rule, double in[CUT][CUT], double out[CUT][CUT])
{
    for (int i = 0; i < CUT; i++) {
        for (int j = 0; j < CUT; j++) {
            int negate = (rule->flip_rows && i % 2 == 0) != (rule->flip_cols && j % 2 == 0);
            double x = negate ? -in[i][j] : in[i][j];
            if (rule->transpose) {
                out[j][i] = x;
            } else {
                out[i][j] = x;
            }
        }
    }
}

modq_blur_result modq_pdq_hash_luma(const float *luma, int w, int h, uint8_t hash[MODQ_PDQ_BYTES],
                                    int *quality,
                                    uint8_t dihedral[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES])
{
    double grid[GRID][GRID], block[CUT][CUT], variant[CUT][CUT];
    modq_blur_result r;

    if (!luma || !hash || !quality || w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE) {
        return MODQ_BLUR_ERR_INVALID_ARG;
    }
    if (w < MIN_SIDE || h < MIN_SIDE) {
        memset(hash, 0, MODQ_PDQ_BYTES);
        if (dihedral) {
            memset(dihedral, 0, MODQ_PDQ_DIHEDRAL * MODQ_PDQ_BYTES);
        }
        *quality = 0;
        return MODQ_BLUR_OK;
    }
    r = downsample(luma, w, h, grid);
    if (r != MODQ_BLUR_OK) {
        return r;
    }
    /* NaN or infinity in the input spreads through the box sums into the samples; refuse it
     * rather than hash garbage. */
    for (int y = 0; y < GRID; y++) {
        for (int x = 0; x < GRID; x++) {
            if (!isfinite(grid[y][x])) {
                return MODQ_BLUR_ERR_INVALID_ARG;
            }
        }
    }

    dct_block(grid, block);
    block_to_hash(block, hash);
    if (dihedral) {
        for (int v = 0; v < MODQ_PDQ_DIHEDRAL; v++) {
            apply_rule(&RULES[v], block, variant);
            block_to_hash(variant, dihedral[v]);
        }
    }
    *quality = quality_of(grid);
    return MODQ_BLUR_OK;
}

/* Set bits of one byte, without relying on a compiler builtin. */
static int popcount8(unsigned x)
{
    x = (x & 0x55u) + ((x >> 1) & 0x55u);
    x = (x & 0x33u) + ((x >> 2) & 0x33u);
    return (int)((x & 0x0fu) + ((x >> 4) & 0x0fu));
}

int modq_pdq_distance(const uint8_t a[MODQ_PDQ_BYTES], const uint8_t b[MODQ_PDQ_BYTES])
{
    int n = 0;

    /* A caller bug must never look like a match: report more than any real distance. */
    if (!a || !b) {
        return MODQ_PDQ_BYTES * 8 + 1;
    }
    for (int i = 0; i < MODQ_PDQ_BYTES; i++) {
        n += popcount8((unsigned)(a[i] ^ b[i]));
    }
    return n;
}

int modq_pdq_distance_dihedral(const uint8_t probe_dihedral[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES],
                               const uint8_t candidate[MODQ_PDQ_BYTES])
{
    int best = MODQ_PDQ_BYTES * 8 + 1;

    if (!probe_dihedral || !candidate) {
        return best;
    }
    for (int v = 0; v < MODQ_PDQ_DIHEDRAL; v++) {
        int d = modq_pdq_distance(probe_dihedral[v], candidate);
        if (d < best) {
            best = d;
        }
    }
    return best;
}

int modq_pdq_match(const uint8_t a[MODQ_PDQ_BYTES], const uint8_t b[MODQ_PDQ_BYTES], int threshold)
{
    if (!a || !b) {
        return 0;
    }
    return modq_pdq_distance(a, b) <= threshold;
}

void modq_pdq_to_hex(const uint8_t hash[MODQ_PDQ_BYTES], char out[MODQ_PDQ_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";

    if (!out) {
        return;
    }
    if (!hash) {
        out[0] = '\0';
        return;
    }
    for (int i = 0; i < MODQ_PDQ_BYTES; i++) {
        out[2 * i] = digits[hash[i] >> 4];
        out[2 * i + 1] = digits[hash[i] & 0x0f];
    }
    out[MODQ_PDQ_HEX_LEN] = '\0';
}

modq_blur_result modq_pdq_from_hex(const char *hex, uint8_t hash[MODQ_PDQ_BYTES])
{
    return modq_digest_from_hex(hex, hash, MODQ_PDQ_BYTES);
}
