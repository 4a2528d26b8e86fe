/*
 * fuzz_config.c: the worker's configuration loader (modq_config_load_buffer): YAML from the
 * input, then MODQ_* environment entries, then the effective configuration as JSON
 * (--check-config prints it).
 *
 * Input: the YAML, optionally followed by a NUL and environment entries ("MODQ_K=V") one a line.
 * "@DIR@" anywhere stands for a scratch folder holding the secret files "hs256" and "password",
 * so that secret files are read too. Their contents are random per run.
 *
 * Invariants: a refusal says why; an accepted configuration turns into JSON, and that JSON never
 * holds the content of a secret file.
 */
#include "modq_common.h"
#include "config/config.h"
#include "fuzz_util.h"

#define MAX_ENV 64

typedef struct fz_state {
    fz_scratch scratch;
    char secret[33];      /* hex, in both secret files */
    uint64_t secret_hash; /* fnv1a of its 32 characters */
} fz_state;

static fz_state st;

/* The secret is looked for by its hash (modq_hash_bytes): libFuzzer watches strstr and memcmp
 * and would learn the secret from the very comparison that checks it is not shown. */
static bool holds_secret(const char *text)
{
    size_t n = strlen(text);

    for (size_t i = 0; i + 32 <= n; i++) {
        if (modq_hash_bytes(text + i, 32) == st.secret_hash) {
            return true;
        }
    }
    return false;
}

static void cleanup(void)
{
    fz_scratch_remove(&st.scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    unsigned char raw[16];
    char path[512];
    FILE *fp = fopen("/dev/urandom", "rb");

    (void)argc, (void)argv;
    if (!fp || fread(raw, 1, sizeof(raw), fp) != sizeof(raw)) {
        fz_setup_fail("cannot read /dev/urandom");
    }
    fclose(fp);
    for (size_t i = 0; i < sizeof(raw); i++) {
        snprintf(st.secret + 2 * i, 3, "%02x", raw[i]);
    }
    st.secret_hash = modq_hash_bytes(st.secret, 32);
    fz_scratch_make(&st.scratch);
    atexit(cleanup);
    if (!fz_scratch_write(&st.scratch, "hs256", st.secret, 32, path, sizeof(path)) ||
        !fz_scratch_write(&st.scratch, "password", st.secret, 32, path, sizeof(path))) {
        fz_setup_fail("cannot write the secret files");
    }
    return 0;
}

/* data with every "@DIR@" replaced by the scratch folder; caller frees. */
static char *expand(const uint8_t *data, size_t size, size_t *len)
{
    size_t dl = strlen(st.scratch.dir), n = 0;
    char *out = malloc(size * (dl + 1) / 5 + size + 1);

    if (!out) {
        return NULL;
    }
    for (size_t i = 0; i < size;) {
        if (size - i >= 5 && memcmp(data + i, "@DIR@", 5) == 0) {
            memcpy(out + n, st.scratch.dir, dl);
            n += dl, i += 5;
        } else {
            out[n++] = (char)data[i++];
        }
    }
    out[n] = '\0';
    *len = n;
    return out;
}

/* Splits the environment part (NUL-terminated text) into envp in place. */
static void environment(char *text, char *envp[MAX_ENV + 1])
{
    size_t n = 0;
    char *save = NULL;

    for (char *line = strtok_r(text, "\n", &save); line && n < MAX_ENV;
         line = strtok_r(NULL, "\n", &save)) {
        envp[n++] = line;
    }
    envp[n] = NULL;
}

static void check_json(const modq_config *c)
{
    json_t *js = NULL;
    char *text;

    if (modq_config_to_json(c, &js) != MODQ_CONFIG_OK) {
        fz_fail("an accepted configuration does not turn into JSON");
    }
    text = json_dumps(js, JSON_REAL_PRECISION(15) | JSON_SORT_KEYS);
    if (!text) {
        fz_fail("the effective configuration does not dump");
    }
    if (holds_secret(text)) {
        fz_fail("a secret file's content is in the effective configuration: %s", text);
    }
    free(text);
    json_decref(js);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len, ylen;
    char *text = expand(data, size, &len), *envp[MAX_ENV + 1] = {NULL};
    char err[1024] = "";
    modq_config *c = NULL;
    modq_config_result r;

    if (!text) {
        return 0;
    }
    ylen = strlen(text); /* the YAML ends at the first NUL */
    if (ylen < len) {
        environment(text + ylen + 1, envp);
    }
    r = modq_config_load_buffer(text, ylen, "fuzz.yaml", (const char *const *)envp, &c, err,
                                sizeof(err));
    if (r == MODQ_CONFIG_OK) {
        check_json(c);
        for (size_t i = 0; i < modq_config_kafka_count(c); i++) {
            (void)modq_config_kafka_secret(c, i);
        }
    } else if (c || (r != MODQ_CONFIG_ERR_NOMEM && err[0] == '\0')) {
        fz_fail("refused (%s) with a config or without a reason", modq_config_strerror(r));
    }
    modq_config_free(c);
    free(text);
    return 0;
}
