/*
 * main.c: modq-media, the command-line face of libmodq_blur.
 *
 *   modq-media hash FILE...                 one JSON line of hashes and facts per file
 *   modq-media render FILE... --out DIR     renditions for the reveal ladder, plus the same JSON
 *   modq-media synth --out DIR              synthetic sample images (shapes and noise)
 *
 * Failures: exit status 2 and one line per failed file on stderr; the other files are still
 * processed. Renditions are written to temporary names and renamed only when every level of a
 * file succeeded, so a failure never leaves a partial output behind.
 */
#include "modq_blur.h"
#include "modq_common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_FAILED 2

static void usage(FILE *to)
{
    fputs(
        "usage: modq-media hash FILE...\n"
        "       modq-media render FILE... --out DIR [--levels 0,1,2,3] [--colour]\n"
        "                  [--max-size N] [--format webp|jpeg] [--quality Q]\n"
        "       modq-media match --bank FILE [--bank FILE...] [--pdq-threshold N] FILE...\n"
        "       modq-media synth --out DIR [--count N] [--size WxH] [--kind shapes|noise|checker]\n"
        "                  [--format jpeg|png|webp|gif|tiff] [--seed S]\n"
        "limits (hash, render, match): [--max-bytes N] [--max-pixels N] [--max-side N]\n"
        "                              [--deadline-ms N] [--max-jpeg-scans N]\n"
        "match loads hash banks in the worker's format (sha256|md5|pdq HEX lines) and lists every\n"
        "match of each file within the PDQ threshold (0..31, default 31), nearest first.\n"
        "Decodes untrusted images safely: allow-listed formats only, limits checked before\n"
        "decoding, metadata stripped. Prints one JSON object per input on stdout; failures go\n"
        "to stderr as 'modq-media: FILE: reason' and make the exit status 2.\n",
        to);
}

/* "WxH", each side 1..8000. */
static int parse_size(const char *s, int64_t *w, int64_t *h)
{
    char buf[32];
    char *x;

    if (strlen(s) >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, s, strlen(s) + 1);
    if (!(x = strchr(buf, 'x'))) {
        return -1;
    }
    *x = '\0';
    return modq_parse_int64(buf, 1, 8000, w) && modq_parse_int64(x + 1, 1, 8000, h) ? 0 : -1;
}

static int parse_levels(const char *s, int64_t *mask)
{
    char buf[64];
    char *save = NULL;

    if (strlen(s) >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, s, strlen(s) + 1);
    *mask = 0;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int64_t lv;
        if (!modq_parse_int64(tok, 0, MODQ_LEVEL_COUNT - 1, &lv)) {
            return -1;
        }
        *mask |= 1LL << lv;
    }
    return *mask ? 0 : -1;
}

/* Reads path whole. Caller owns *data (free). Refuses files over max_bytes before reading. */
static int read_file(const char *path, int64_t max_bytes, uint8_t **data, size_t *len, char *err,
                     size_t err_size)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, err_size, "cannot open: %s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_size, "not a regular file");
        goto out;
    }
    if ((int64_t)st.st_size > max_bytes) {
        snprintf(err, err_size, "input too large: %lld bytes > %lld", (long long)st.st_size,
                 (long long)max_bytes);
        goto out;
    }
    if (!(buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1))) {
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            snprintf(err, err_size, "read failed: %s", n < 0 ? strerror(errno) : "short file");
            goto out;
        }
        got += (size_t)n;
    }
    *data = buf;
    *len = got;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

static int write_all(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t off = 0;

    if (fd < 0) {
        return -1;
    }
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    return close(fd);
}

static json_t *facts_json(const char *file, const modq_media *m)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:i}", "file", file, "sha256",
                     modq_media_sha256_hex(m), "md5", modq_media_md5_hex(m), "pdq",
                     modq_media_pdq_hex(m), "pdq_quality", modq_media_pdq_quality(m), "width",
                     modq_media_width(m), "height", modq_media_height(m), "format",
                     modq_media_format(m), "frames", modq_media_frames(m));
}

static const char *const kind_names[] = {"sha256", "md5", "pdq"};

/* match: the file's hashes and every match in banks, nearest first. */
static json_t *matches_json(const char *file, const modq_media *m, const modq_banks *banks)
{
    modq_bank_match *v = calloc(MODQ_BANKS_MAX_MATCHES, sizeof(*v));
    json_t *list = json_array(), *j = NULL;
    size_t n;

    if (v == NULL || list == NULL) {
        goto out;
    }
    n = modq_banks_match_all(banks, modq_media_sha256(m), modq_media_md5(m),
                             modq_media_pdq_variants(m), modq_media_pdq_quality(m), v,
                             MODQ_BANKS_MAX_MATCHES);
    for (size_t i = 0; i < n && i < MODQ_BANKS_MAX_MATCHES; i++) {
        if (json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:i}", "bank", v[i].bank, "kind",
                                                  kind_names[v[i].type], "hash", v[i].hash_hex,
                                                  "distance", v[i].distance)) != 0) {
            goto out;
        }
    }
    j = json_pack("{s:s, s:s, s:s, s:i, s:O}", "file", file, "sha256", modq_media_sha256_hex(m),
                  "pdq", modq_media_pdq_hex(m), "pdq_quality", modq_media_pdq_quality(m), "matches",
                  list);
out:
    json_decref(list);
    free(v);
    return j;
}

static void print_json(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (s) {
        puts(s);
    }
    free(s);
}

/* Writes every rendition of m under dir, all or nothing; adds them to j. 0 on success. */
static int write_renditions(const modq_media *m, const char *dir, json_t *j, char *err,
                            size_t err_size)
{
    const char *ext = strcmp(modq_media_mime(m), "image/jpeg") == 0 ? "jpg" : "webp";
    char tmp[MODQ_LEVEL_COUNT][PATH_MAX], final[MODQ_LEVEL_COUNT][PATH_MAX];
    int written[MODQ_LEVEL_COUNT] = {0};
    json_t *arr = json_array();
    int rc = -1;

    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        const uint8_t *data;
        size_t len;
        int w, h;
        if (modq_media_rendition(m, lv, &data, &len, &w, &h) != MODQ_BLUR_OK) {
            continue;
        }
        if ((size_t)snprintf(final[lv], PATH_MAX, "%s/level-%d.%s", dir, lv, ext) >= PATH_MAX ||
            (size_t)snprintf(tmp[lv], PATH_MAX, "%s/.level-%d.%s.%ld.tmp", dir, lv, ext,
                             (long)getpid()) >= PATH_MAX) {
            snprintf(err, err_size, "output path too long");
            goto out;
        }
        written[lv] = 1;
        if (write_all(tmp[lv], data, len)) {
            snprintf(err, err_size, "cannot write %.300s: %s", tmp[lv], strerror(errno));
            goto out;
        }
        json_array_append_new(arr,
                              json_pack("{s:i, s:s, s:i, s:i, s:I}", "level", lv, "file", final[lv],
                                        "width", w, "height", h, "bytes", (json_int_t)len));
    }
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        if (written[lv] && rename(tmp[lv], final[lv])) {
            snprintf(err, err_size, "cannot rename to %.300s: %s", final[lv], strerror(errno));
            goto out;
        }
    }
    /* A folder must never hold levels from an earlier run beside this one's: a stale clear
     * level 0 next to a fresh blurred set is exactly what must not be shown by mistake. */
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        for (int e = 0; e < 2; e++) {
            const char *other = e ? "jpg" : "webp";
            char stale[PATH_MAX];
            if (written[lv] && strcmp(other, ext) == 0) {
                continue;
            }
            if ((size_t)snprintf(stale, sizeof(stale), "%s/level-%d.%s", dir, lv, other) <
                    sizeof(stale) &&
                unlink(stale) != 0 && errno != ENOENT) {
                snprintf(err, err_size, "cannot remove stale %.300s: %s", stale, strerror(errno));
                goto out;
            }
        }
    }
    json_object_set_new(j, "display_width", json_integer(modq_media_display_width(m)));
    json_object_set_new(j, "display_height", json_integer(modq_media_display_height(m)));
    json_object_set(j, "renditions", arr);
    rc = 0;
out:
    for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
        if (written[lv]) {
            unlink(tmp[lv]); /* after a successful rename this finds nothing */
        }
    }
    json_decref(arr);
    return rc;
}

static int make_dir(const char *dir)
{
    return mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* The per-file output folder: DIR itself for one input, DIR/<N>-<name without extension> for
 * more, numbered by position so that a/x.png and b/x.jpg never share a folder. */
static int output_dir(const char *out, const char *file, int index, int nfiles, char *dir,
                      size_t dir_size)
{
    const char *base = strrchr(file, '/');
    const char *dot;
    int n;

    if (nfiles == 1) {
        return (size_t)snprintf(dir, dir_size, "%s", out) >= dir_size ? -1 : 0;
    }
    base = base ? base + 1 : file;
    dot = strrchr(base, '.');
    n = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
    if ((size_t)snprintf(dir, dir_size, "%s/%d-%.*s", out, index + 1, n, base) >= dir_size) {
        return -1;
    }
    return make_dir(dir);
}

/* Every file: its facts (and renditions under out), or with banks, its matches. */
static int process_files(const modq_media_opts *opts, char **files, int nfiles, const char *out,
                         const modq_banks *banks)
{
    int failures = 0;

    for (int i = 0; i < nfiles; i++) {
        char err[512] = "", dir[PATH_MAX];
        uint8_t *data = NULL;
        size_t len = 0;
        modq_media *m = NULL;
        json_t *j = NULL;

        if (read_file(files[i], modq_opts_get(opts, MODQ_OPT_MAX_INPUT_BYTES), &data, &len, err,
                      sizeof(err)) == 0 &&
            modq_media_process(opts, data, len, &m, err, sizeof(err)) == MODQ_BLUR_OK) {
            j = banks ? matches_json(files[i], m, banks) : facts_json(files[i], m);
            if (out && output_dir(out, files[i], i, nfiles, dir, sizeof(dir)) != 0) {
                snprintf(err, sizeof(err), "cannot create output folder under %.300s", out);
                json_decref(j);
                j = NULL;
            } else if (out && write_renditions(m, dir, j, err, sizeof(err)) != 0) {
                json_decref(j);
                j = NULL;
            }
        }
        free(data);
        if (j) {
            print_json(j);
        } else {
            fprintf(stderr, "modq-media: %s: %s\n", files[i], err[0] ? err : "failed");
            failures++;
        }
        json_decref(j);
        modq_media_free(m);
    }
    fflush(stdout);
    return failures ? EXIT_FAILED : 0;
}

static int cmd_synth(const char *out, int64_t count, int64_t w, int64_t h, const char *kind,
                     const char *format, int64_t seed)
{
    static const char *const kinds[] = {"shapes", "noise", "checker"};
    int k = -1;

    for (int i = 0; i < MODQ_SYNTH_KIND_COUNT; i++) {
        if (strcmp(kind, kinds[i]) == 0) {
            k = i;
        }
    }
    if (k < 0 || make_dir(out) != 0) {
        fprintf(stderr, "modq-media: synth: %s\n", k < 0 ? "unknown --kind" : strerror(errno));
        return EXIT_FAILED;
    }
    for (int64_t i = 0; i < count; i++) {
        char path[PATH_MAX];
        uint8_t *data = NULL;
        size_t len = 0;
        modq_blur_result r = modq_synth_image((modq_synth_kind)k, (int)w, (int)h,
                                              (uint32_t)(seed + i), format, &data, &len);
        if (r != MODQ_BLUR_OK) {
            fprintf(stderr, "modq-media: synth: %s\n", modq_blur_strerror(r));
            return EXIT_FAILED;
        }
        if ((size_t)snprintf(path, sizeof(path), "%s/%s-%03" PRId64 ".%s", out, kinds[k], i,
                             strcmp(format, "jpeg") == 0 ? "jpg" : format) >= sizeof(path)) {
            fprintf(stderr, "modq-media: synth: output path too long\n");
            modq_synth_free(data);
            return EXIT_FAILED;
        }
        if (write_all(path, data, len)) {
            fprintf(stderr, "modq-media: synth: cannot write %s: %s\n", path, strerror(errno));
            modq_synth_free(data);
            return EXIT_FAILED;
        }
        modq_synth_free(data);
        puts(path);
    }
    return 0;
}

/* What the command line asks for beyond the image library's options. */
typedef struct cli_args {
    const char *out, *kind, *format;
    char **files; /* argv's strings, in an array the caller owns (argc slots) */
    int nfiles;
    const char **banks; /* match: the --bank files, likewise */
    int nbanks;
    int64_t count, w, h, seed, threshold;
} cli_args;

/* One "--name value" option into g or opts. -1 after a message on stderr. */
static int parse_option(const char *a, const char *val, modq_media_opts *opts, cli_args *g)
{
    modq_opt key = MODQ_OPT_COUNT;
    int64_t v;
    int bad = 0;

    if (strcmp(a, "--out") == 0) {
        g->out = val;
    } else if (strcmp(a, "--bank") == 0) {
        g->banks[g->nbanks++] = val;
    } else if (strcmp(a, "--pdq-threshold") == 0) {
        bad = !modq_parse_int64(val, 0, MODQ_PDQ_INDEX_MAX_RADIUS, &g->threshold);
    } else if (strcmp(a, "--levels") == 0) {
        bad = parse_levels(val, &v) || modq_opts_set(opts, MODQ_OPT_LEVELS, v);
    } else if (strcmp(a, "--format") == 0) {
        g->format = val;
    } else if (strcmp(a, "--kind") == 0) {
        g->kind = val;
    } else if (strcmp(a, "--count") == 0) {
        bad = !modq_parse_int64(val, 1, 100000, &g->count);
    } else if (strcmp(a, "--seed") == 0) {
        bad = !modq_parse_int64(val, 0, UINT32_MAX, &g->seed);
    } else if (strcmp(a, "--size") == 0) {
        bad = parse_size(val, &g->w, &g->h);
    } else if (strcmp(a, "--max-size") == 0) {
        key = MODQ_OPT_DISPLAY_SIZE;
    } else if (strcmp(a, "--quality") == 0) {
        key = MODQ_OPT_QUALITY;
    } else if (strcmp(a, "--max-bytes") == 0) {
        key = MODQ_OPT_MAX_INPUT_BYTES;
    } else if (strcmp(a, "--max-pixels") == 0) {
        key = MODQ_OPT_MAX_PIXELS;
    } else if (strcmp(a, "--max-side") == 0) {
        key = MODQ_OPT_MAX_SIDE;
    } else if (strcmp(a, "--deadline-ms") == 0) {
        key = MODQ_OPT_DEADLINE_MS;
    } else if (strcmp(a, "--max-jpeg-scans") == 0) {
        key = MODQ_OPT_MAX_JPEG_SCANS;
    } else {
        fprintf(stderr, "modq-media: unknown option %s\n", a);
        usage(stderr);
        return -1;
    }
    if (key != MODQ_OPT_COUNT) {
        bad = !modq_parse_int64(val, 0, INT64_MAX, &v) || modq_opts_set(opts, key, v);
    }
    if (bad) {
        fprintf(stderr, "modq-media: bad value for %s: '%s'\n", a, val);
        return -1;
    }
    return 0;
}

/* The words after the command: options, and files in their order. -1 after a message. */
static int parse_args(int argc, char **argv, modq_media_opts *opts, cli_args *g)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--colour") == 0 || strcmp(a, "--color") == 0) {
            modq_opts_set(opts, MODQ_OPT_COLOUR, 1);
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            g->files[g->nfiles++] = argv[i];
            continue;
        }
        if (!val) {
            fprintf(stderr, "modq-media: %s needs a value\n", a);
            return -1;
        }
        i++;
        if (parse_option(a, val, opts, g) != 0) {
            return -1;
        }
    }
    return 0;
}

/* match: the banks, each named by its file, then every file against them. */
static int cmd_match(const modq_media_opts *opts, const cli_args *g)
{
    modq_banks *banks = modq_banks_new();
    char err[512];
    int rc = EXIT_FAILED;

    if (g->nbanks == 0 || banks == NULL) {
        fprintf(stderr, "modq-media: %s\n", banks ? "match needs --bank FILE" : "out of memory");
        goto out;
    }
    for (int i = 0; i < g->nbanks; i++) {
        if (modq_banks_load(banks, g->banks[i], g->banks[i], 0, NULL, 0, (int)g->threshold, err,
                            sizeof err) != MODQ_BLUR_OK) {
            fprintf(stderr, "modq-media: bank %s\n", err);
            goto out;
        }
    }
    rc = process_files(opts, g->files, g->nfiles, NULL, banks);
out:
    modq_banks_free(banks);
    return rc;
}

/* hash, render and match: the output format and directory checked, then every file. */
static int cmd_files(const char *cmd, modq_media_opts *opts, const cli_args *g)
{
    if (g->format) {
        if (strcmp(g->format, "webp") != 0 && strcmp(g->format, "jpeg") != 0) {
            fprintf(stderr, "modq-media: --format must be webp or jpeg\n");
            return EXIT_FAILED;
        }
        modq_opts_set(opts, MODQ_OPT_FORMAT,
                      strcmp(g->format, "jpeg") == 0 ? MODQ_FORMAT_JPEG : MODQ_FORMAT_WEBP);
    }
    if (g->nfiles == 0 || (strcmp(cmd, "render") == 0) != (g->out != NULL)) {
        fprintf(stderr, "modq-media: %s\n",
                g->nfiles == 0 ? "no input files" : "--out DIR goes with render, and only with it");
        return EXIT_FAILED;
    }
    if (strcmp(cmd, "match") != 0 && g->nbanks > 0) {
        fprintf(stderr, "modq-media: --bank goes with match, and only with it\n");
        return EXIT_FAILED;
    }
    if (strcmp(cmd, "render") != 0) {
        modq_opts_set(opts, MODQ_OPT_LEVELS, 0); /* hashing renders nothing */
    } else if (make_dir(g->out) != 0) {
        fprintf(stderr, "modq-media: cannot create %s: %s\n", g->out, strerror(errno));
        return EXIT_FAILED;
    }
    return strcmp(cmd, "match") == 0 ? cmd_match(opts, g)
                                     : process_files(opts, g->files, g->nfiles, g->out, NULL);
}

int main(int argc, char **argv)
{
    modq_media_opts *opts = NULL;
    cli_args g = {.kind = "shapes",
                  .count = 8,
                  .w = 1600,
                  .h = 1200,
                  .seed = 1,
                  .threshold = MODQ_PDQ_DEFAULT_THRESHOLD};
    const char *cmd;
    int rc = EXIT_FAILED;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_FAILED : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("modq-media %s\n", MODQ_VERSION);
        return 0;
    }
    cmd = argv[1];
    if (strcmp(cmd, "hash") != 0 && strcmp(cmd, "render") != 0 && strcmp(cmd, "match") != 0 &&
        strcmp(cmd, "synth") != 0) {
        fprintf(stderr, "modq-media: unknown command '%s'\n", cmd);
        usage(stderr);
        return EXIT_FAILED;
    }
    if (modq_blur_init(argv[0]) != MODQ_BLUR_OK || !(opts = modq_opts_new()) ||
        !(g.files = calloc((size_t)argc, sizeof(*g.files))) ||
        !(g.banks = calloc((size_t)argc, sizeof(*g.banks)))) {
        fprintf(stderr, "modq-media: cannot start the image library\n");
        goto out;
    }
    if (parse_args(argc, argv, opts, &g) != 0) {
        goto out;
    }
    if (strcmp(cmd, "synth") != 0) {
        rc = cmd_files(cmd, opts, &g);
    } else if (!g.out) {
        fprintf(stderr, "modq-media: synth needs --out DIR\n");
    } else {
        rc = cmd_synth(g.out, g.count, g.w, g.h, g.kind, g.format ? g.format : "jpeg", g.seed);
    }
out:
    free(g.files);
    free(g.banks);
    modq_opts_free(opts);
    modq_blur_shutdown();
    return rc;
}
