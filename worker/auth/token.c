/*
 * token.c: `modq-worker token` (token.h). The secret file is read exactly as the worker's
 * configuration reads it (at most 64 KiB, trailing newlines trimmed), so a token minted here
 * verifies against a worker given the same file.
 */
#include "token.h"

#include "jwt.h"
#include "modq_common.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SECRET_MAX (64 * 1024)
#define LIST_MAX   MODQ_JWT_MAX_LIST
#define ARG_MAX    1024

/* Comma-separated items of s (copied into buf) into out; count, or -1 when too many or empty. */
static int split(const char *s, char *buf, size_t size, const char **out)
{
    int n = 0;
    size_t len = strlen(s);
    if (len == 0 || len >= size) {
        return -1;
    }
    memcpy(buf, s, len + 1);
    for (char *p = buf; p != NULL;) {
        char *comma = strchr(p, ',');
        if (comma != NULL) {
            *comma = '\0';
        }
        if (*p == '\0' || n == LIST_MAX) {
            return -1;
        }
        out[n++] = p;
        p = comma ? comma + 1 : NULL;
    }
    return n;
}

/* "90s", "30m", "8h", "2d" or plain seconds; -1 when malformed or out of range. */
static long long parse_ttl(const char *s)
{
    char digits[32];
    size_t n = strlen(s);
    int64_t mult = 1, v;

    if (n > 0 && s[n - 1] == 's') {
        n--;
    } else if (n > 0 && s[n - 1] == 'm') {
        mult = 60, n--;
    } else if (n > 0 && s[n - 1] == 'h') {
        mult = 3600, n--;
    } else if (n > 0 && s[n - 1] == 'd') {
        mult = 86400, n--;
    }
    if (n >= sizeof digits) {
        return -1; /* more digits than any TTL up to the cap needs */
    }
    memcpy(digits, s, n);
    digits[n] = '\0';
    if (!modq_parse_int64(digits, 1, MODQ_TOKEN_MAX_TTL_S / mult, &v)) {
        return -1;
    }
    return v * mult;
}

/* Reads the secret file into a malloc'd buffer (caller frees); NULL with a message. */
static unsigned char *read_secret(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "modq-worker token: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    buf = malloc(SECRET_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, SECRET_MAX + 1, f);
    fclose(f);
    if (n > SECRET_MAX) {
        fprintf(stderr, "modq-worker token: %s: larger than %d bytes\n", path, SECRET_MAX);
        free(buf);
        return NULL;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }
    *len = n;
    return buf;
}

int modq_token_main(int argc, char **argv)
{
    const char *roles[LIST_MAX], *skills[LIST_MAX], *locales[LIST_MAX], *opt_outs[LIST_MAX];
    char rbuf[ARG_MAX], sbuf[ARG_MAX], lbuf[ARG_MAX], obuf[ARG_MAX], err[256] = "";
    const char *secret_path = NULL;
    modq_jwt_mint_opts o = {.ttl_s = 8 * 3600};
    unsigned char *secret = NULL;
    size_t secret_len = 0;
    char *tok = NULL;
    int rc = 2;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int n = 0;
        if (v == NULL) {
            fprintf(stderr, "modq-worker token: '%s' needs a value (see --help)\n", a);
            goto out;
        }
        i++;
        if (strcmp(a, "--sub") == 0) {
            o.sub = v;
        } else if (strcmp(a, "--team") == 0) {
            o.team = v;
        } else if (strcmp(a, "--secret") == 0) {
            secret_path = v;
        } else if (strcmp(a, "--issuer") == 0) {
            o.issuer = v;
        } else if (strcmp(a, "--audience") == 0) {
            o.audience = v;
        } else if (strcmp(a, "--ttl") == 0) {
            if ((o.ttl_s = parse_ttl(v)) < 0) {
                fprintf(stderr,
                        "modq-worker token: --ttl '%s': use e.g. 90s, 30m, 8h, 2d (at "
                        "most 30 days)\n",
                        v);
                goto out;
            }
        } else if (strcmp(a, "--roles") == 0 && (n = split(v, rbuf, sizeof rbuf, roles)) > 0) {
            o.roles = roles, o.nroles = (size_t)n;
        } else if (strcmp(a, "--skills") == 0 && (n = split(v, sbuf, sizeof sbuf, skills)) > 0) {
            o.skills = skills, o.nskills = (size_t)n;
        } else if (strcmp(a, "--locales") == 0 && (n = split(v, lbuf, sizeof lbuf, locales)) > 0) {
            o.locales = locales, o.nlocales = (size_t)n;
        } else if (strcmp(a, "--opt-outs") == 0 &&
                   (n = split(v, obuf, sizeof obuf, opt_outs)) > 0) {
            o.opt_outs = opt_outs, o.nopt_outs = (size_t)n;
        } else {
            fprintf(stderr, "modq-worker token: bad option or list '%s %s' (see --help)\n", a, v);
            goto out;
        }
    }
    if (o.sub == NULL || o.nroles == 0 || secret_path == NULL) {
        fprintf(stderr, "modq-worker token: --sub, --roles and --secret are required\n");
        goto out;
    }
    if ((secret = read_secret(secret_path, &secret_len)) == NULL) {
        goto out;
    }
    o.now_s = (int64_t)time(NULL);
    if (modq_jwt_mint_hs256(secret, secret_len, &o, &tok, err, sizeof err) != MODQ_JWT_OK) {
        fprintf(stderr, "modq-worker token: %s\n", err[0] ? err : "cannot mint the token");
        goto out;
    }
    if (printf("%s\n", tok) < 0 || fflush(stdout) != 0) {
        goto out;
    }
    rc = 0;
out:
    if (secret != NULL) {
        memset(secret, 0, secret_len);
        free(secret);
    }
    free(tok);
    return rc;
}
