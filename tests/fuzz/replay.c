/*
 * replay.c: runs one harness of tests/fuzz over the files (and the files of the folders) named on
 * the command line, without libFuzzer. The test suite builds each harness with it, so that every
 * seed and every committed reproducer is replayed under gcc with ASan and UBSan on each run.
 */
#include "fuzz_util.h"

#include <sys/stat.h>

#define REPLAY_MAX_INPUT (16 * 1024 * 1024)

/* Reads path whole into a new buffer (caller frees); NULL when unreadable or too large. */
static uint8_t *read_input(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;

    *len = 0;
    if (!fp) {
        return NULL;
    }
    if (!(buf = malloc(REPLAY_MAX_INPUT + 1))) {
        goto out;
    }
    *len = fread(buf, 1, REPLAY_MAX_INPUT + 1, fp);
    if (ferror(fp) || *len > REPLAY_MAX_INPUT) {
        free(buf);
        buf = NULL;
    }
out:
    fclose(fp);
    return buf;
}

static int replay_file(const char *path)
{
    size_t len;
    uint8_t *data = read_input(path, &len);

    if (!data) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return -1;
    }
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    return 0;
}

static int names_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every regular file of dir, in name order; returns how many, or -1. */
static long replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char *names[4096], path[1024];
    size_t n = 0;
    long done = 0;
    struct stat st;

    if (!d) {
        fprintf(stderr, "replay: cannot open %s\n", dir);
        return -1;
    }
    while ((e = readdir(d)) != NULL && n < sizeof(names) / sizeof(names[0])) {
        if (e->d_name[0] != '.' && (names[n] = strdup(e->d_name)) != NULL) {
            n++;
        }
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), names_cmp);
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (done >= 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            done = replay_file(path) == 0 ? done + 1 : -1;
        }
        free(names[i]);
    }
    return done;
}

int main(int argc, char **argv)
{
    struct stat st;
    long total = 0, n;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: no such file or folder: %s\n", argv[i]);
            return 1;
        }
        n = S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : replay_file(argv[i]) == 0 ? 1 : -1;
        if (n < 0) {
            return 1;
        }
        total += n;
    }
    printf("replay: %ld inputs, no failure\n", total);
    return total > 0 ? 0 : 1;
}
