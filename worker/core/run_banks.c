/*
 * run_banks.c: the worker's hash banks, loaded at start and again without a restart: on SIGHUP
 * (modq_run_reload_banks) or when a bank file changes (checked every MODQ_RUN_BANKS_CHECK_MS;
 * a Kubernetes ConfigMap update swaps a symlink, which the check follows). A reload reads every
 * file into a new set on a thread of its own (ten million lines take seconds; the loop must keep
 * turning), then swaps it in under banks_lock, so a ticket is matched against the old banks or
 * the new ones, never a mix. A file that does not load is refused with FILE:LINE, logged once,
 * and the banks in use stay; it is tried again when a file changes again, or on SIGHUP.
 */
#include "run_impl.h"
#include "modq_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

modq_run_result modq_run_load_banks(const modq_config *cfg, modq_banks **out, char *errstr,
                                    size_t errstr_size)
{
    modq_run_result rc = MODQ_RUN_ERR_SETUP;
    modq_banks *b = NULL;

    if (out) {
        *out = NULL;
    }
    if (cfg == NULL || out == NULL || errstr == NULL || errstr_size == 0) {
        return MODQ_RUN_ERR_INVALID_ARG;
    }
    if ((b = modq_banks_new()) == NULL) {
        rc = MODQ_RUN_ERR_NOMEM;
        snprintf(errstr, errstr_size, "banks: out of memory");
        goto out;
    }
    for (size_t i = 0; i < modq_config_bank_count(cfg); i++) {
        const char *labels[MODQ_CONFIG_MAX_LABELS];
        size_t nl = modq_config_bank_label_count(cfg, i);
        if (nl > MODQ_CONFIG_MAX_LABELS) {
            nl = MODQ_CONFIG_MAX_LABELS;
        }
        for (size_t j = 0; j < nl; j++) {
            labels[j] = modq_config_bank_label(cfg, i, j);
        }
        modq_blur_result br =
            modq_banks_load(b, modq_config_bank_name(cfg, i), modq_config_bank_file(cfg, i),
                            modq_config_bank_verdict(cfg, i), labels, nl,
                            modq_config_bank_pdq_threshold(cfg, i), errstr, errstr_size);
        if (br != MODQ_BLUR_OK) {
            if (br == MODQ_BLUR_ERR_NOMEM) {
                rc = MODQ_RUN_ERR_NOMEM;
            }
            goto out;
        }
    }
    *out = b;
    b = NULL;
    rc = MODQ_RUN_OK;
out:
    modq_banks_free(b);
    return rc;
}

/* What identifies a bank file's content for the change check: a rename, a rewrite in place, a
 * swapped symlink each change one of these. A file that is gone reads as all zeroes. */
static void file_state(const char *path, run_bank_file *f)
{
    struct stat st;

    memset(f, 0, sizeof(*f));
    if (stat(path, &st) == 0) {
        f->dev = (uint64_t)st.st_dev;
        f->ino = (uint64_t)st.st_ino;
        f->size = (int64_t)st.st_size;
        f->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    }
}

/* Every bank file's state now, into states (MODQ_BANKS_MAX_BANKS entries, the unused ones
 * zero). */
static void files_now(const modq_config *cfg, run_bank_file *states)
{
    memset(states, 0, MODQ_BANKS_MAX_BANKS * sizeof(*states));
    for (size_t i = 0; i < modq_config_bank_count(cfg) && i < MODQ_BANKS_MAX_BANKS; i++) {
        file_state(modq_config_bank_file(cfg, i), &states[i]);
    }
}

static void *reload_thread(void *arg)
{
    modq_run *r = arg;
    modq_banks *b = NULL, *old;
    int64_t t0 = run_mono_ms(NULL);

    /* Read before the files: a change during the load is seen at the next check. */
    files_now(r->cfg, r->banks_seen);
    if (modq_run_load_banks(r->cfg, &b, r->banks_err, sizeof r->banks_err) == MODQ_RUN_OK) {
        pthread_rwlock_wrlock(&r->banks_lock);
        old = r->banks;
        r->banks = b;
        pthread_rwlock_unlock(&r->banks_lock);
        /* The write lock waited for every reader of the old banks, and no new one finds them. */
        modq_banks_free(old);
        r->banks_err[0] = '\0';
    }
    r->banks_load_ms = run_mono_ms(NULL) - t0;
    atomic_store(&r->banks_state, RUN_BANKS_DONE);
    return NULL;
}

/* The reload thread is over: its outcome logged and counted. */
static void reload_done(modq_run *r)
{
    char hashes[32], ms[32];

    pthread_join(r->banks_thread, NULL);
    atomic_store(&r->banks_state, RUN_BANKS_IDLE);
    if (r->banks_err[0] != '\0') {
        RUN_COUNT(r, banks_failed);
        modq_log_write(r->log, MODQ_LOG_ERROR, "banks not reloaded: the banks in use stay", "error",
                       r->banks_err, NULL);
        return;
    }
    RUN_COUNT(r, banks_reloaded);
    snprintf(hashes, sizeof hashes, "%zu", modq_banks_count(r->banks));
    snprintf(ms, sizeof ms, "%lld", (long long)r->banks_load_ms);
    modq_log_write(r->log, MODQ_LOG_INFO, "banks reloaded", "hashes", hashes, "load_ms", ms, NULL);
}

void run_banks_tick(modq_run *r, int64_t mono)
{
    run_bank_file now[MODQ_BANKS_MAX_BANKS];
    int state = atomic_load(&r->banks_state);
    bool asked;

    if (state == RUN_BANKS_DONE) {
        reload_done(r);
    }
    if (state != RUN_BANKS_IDLE && state != RUN_BANKS_DONE) {
        return; /* loading */
    }
    asked = atomic_exchange(&r->banks_asked, false);
    if (!asked && mono < r->banks_next_check_ms) {
        return;
    }
    r->banks_next_check_ms = mono + r->banks_check_ms;
    files_now(r->cfg, now);
    if (!asked && memcmp(now, r->banks_seen, sizeof now) == 0) {
        return;
    }
    atomic_store(&r->banks_state, RUN_BANKS_LOADING);
    if (pthread_create(&r->banks_thread, NULL, reload_thread, r) != 0) {
        atomic_store(&r->banks_state, RUN_BANKS_IDLE);
        modq_log_write(r->log, MODQ_LOG_ERROR, "banks not reloaded: no thread for it", NULL);
    }
}

void run_banks_seen(modq_run *r)
{
    files_now(r->cfg, r->banks_seen);
    r->banks_next_check_ms = 0; /* the loop's first turn looks (on the loop's clock) */
}

void run_banks_stop(modq_run *r)
{
    if (atomic_load(&r->banks_state) != RUN_BANKS_IDLE) {
        pthread_join(r->banks_thread, NULL);
        atomic_store(&r->banks_state, RUN_BANKS_IDLE);
    }
}

void modq_run_reload_banks(modq_run *r)
{
    if (r != NULL) {
        atomic_store(&r->banks_asked, true);
    }
}
