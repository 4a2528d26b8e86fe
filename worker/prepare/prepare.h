/*
 * prepare.h: turning one ticket message into what the worker acts on (private). Runs on the
 * preparation threads, never in the poll loop: it decodes and validates the ticket, fetches and
 * makes its media safe, and decides it automatically when a hash bank or an earlier decision
 * allows. No Kafka here: the caller publishes what comes out.
 */
#ifndef MODQ_WORKER_PREPARE_H
#define MODQ_WORKER_PREPARE_H

#include "decided.h"
#include "fetch.h"
#include "modq_blur.h"
#include "modq_sandbox.h"
#include "modq_policy.h"
#include "proto/modq.pb-c.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum modq_prepared_kind {
    MODQ_PREPARED_REVIEW = 0,  /* ready for a person: hashes and renditions */
    MODQ_PREPARED_AUTO,        /* decided without a person: publish `decision` */
    MODQ_PREPARED_DUPLICATE,   /* this ticket id was decided already: complete it at once */
    MODQ_PREPARED_DEAD_LETTER, /* unusable: to the dead-letter topic with code and reason */
} modq_prepared_kind;

/* What preparation needs; all shared read-only between threads except `decided`, which is only
 * touched under decided_lock. */
typedef struct modq_prepare_ctx {
    const modq_policy *policy;
    const modq_media_opts *media_opts; /* with MODQ_OPT_DEFER_RENDER set, renditions are made
                                          only for review items */
    const modq_fetch *fetch;           /* NULL: URI media dead-letters */
    modq_sandbox *sandbox;             /* NULL: media is decoded in this process */
    /* The banks in use (*banks NULL or banks NULL: none), which a reload may swap: read under
     * banks_lock's read side (required when banks is set). */
    modq_banks *const *banks;
    pthread_rwlock_t *banks_lock;
    modq_decided *decided;         /* NULL: nothing decided yet */
    pthread_mutex_t *decided_lock; /* guards decided; required when decided is set */
    unsigned auto_verdicts;        /* bit v: a prior decision with Verdict v is re-applied */
    int near_distance; /* 1..31: a copy of decided media within this PDQ distance counts as
                          the same media (never for no_violation); 0: exact bytes only.
                          Farther (up to 31), a copy of media found violating goes to review
                          with that decision beside it (prior_distance) */
    const char *worker_id;
    size_t max_message_bytes; /* larger messages dead-letter unread */
} modq_prepare_ctx;

/* The outcome. Everything in it is owned by it (modq_prepared_free). */
typedef struct modq_prepared {
    modq_prepared_kind kind;
    Modq__V1__Ticket *ticket; /* decoded ticket, inline media bytes already released; NULL when
                                 the message did not decode */
    int queue_index;          /* in the policy, -1 when unknown */
    modq_media *media;        /* hashes and renditions; NULL without media, or when the
                                 media's digests decided it before any decode */
    bool has_digests;         /* the media's bytes were read: sha256 is theirs */
    bool has_md5;             /* and md5 (computed only when a bank lists MD5 hashes) */
    uint8_t sha256[MODQ_SHA256_LEN];
    uint8_t md5[MODQ_MD5_LEN];
    uint8_t *decision; /* AUTO: packed Decision (malloc'd) */
    size_t decision_len;
    int verdict; /* AUTO: the Verdict number */
    /* AUTO: what decided it, for metrics: "hash_bank" or "prior_decision"; the bank's name (or
     * ""); the hash that matched: "sha256", "md5" or "pdq". */
    const char *auto_source;
    char auto_bank[128];
    const char *auto_kind;
    char code[48];      /* DEAD_LETTER: stable error code, e.g. "too_many_pixels" */
    char reason[320];   /* DEAD_LETTER: one line for people */
    int has_prior;      /* REVIEW: the same or near media was decided before (not re-applied) */
    int prior_distance; /* 0: the same bytes; 1..31: a near copy's PDQ distance */
    int prior_verdict;
    char prior_ticket_id[MODQ_DECIDED_MAX_ID + 1];
    int64_t prior_decided_at_ms;
    /* REVIEW read from the review topic (role desk): a person escalated it to their leads. */
    bool escalated;
    char *escalation_note; /* malloc'd; NULL when none */
    char escalated_by[MODQ_POLICY_NAME_MAX];
    char escalated_team[MODQ_POLICY_NAME_MAX];
} modq_prepared;

/*
 * Prepares the ticket in msg (len bytes, only read). now_ms stamps automatic decisions. Returns a
 * new modq_prepared owned by the caller, or NULL when out of memory (the caller retries later:
 * the message is still in Kafka).
 */
modq_prepared *modq_prepare_ticket(const modq_prepare_ctx *ctx, const void *msg, size_t len,
                                   int64_t now_ms);
void modq_prepared_free(modq_prepared *p);
/* Whether every field of t keeps the rules of an inbound ticket (text, lengths, ranges); false
 * with why (size bytes) naming the first field that does not, never its content. */
bool modq_prepare_ticket_ok(const Modq__V1__Ticket *t, char *why, size_t size);

/* Stable names of the dead-letter codes this module produces beyond blur's and fetch's. */
#define MODQ_DLQ_MESSAGE_TOO_LARGE "message_too_large"
#define MODQ_DLQ_MALFORMED         "malformed_ticket"
#define MODQ_DLQ_INVALID           "invalid_ticket"
#define MODQ_DLQ_UNKNOWN_QUEUE     "unknown_queue"

#endif
