/*
 * pipeline_bench.h: the parts of modq-bench-pipeline, private to bench/: pipeline_bench.c (the
 * options, the corpus, the media runs and the order of everything), pipeline_kafka.c (the mock
 * cluster, the ticket backlog, one timed worker run, /proc) and pipeline_report.c (the output).
 */
#ifndef MODQ_BENCH_PIPELINE_H
#define MODQ_BENCH_PIPELINE_H

#include "dev/mock.h"
#include "modq_policy.h"
#include "core/run.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Tickets in one backlog: the partition plan keeps one int per ticket. */
#define PB_MAX_TICKETS 200000
#define PB_ERR_SIZE    512

/* One media file, read whole before anything is timed. */
typedef struct pb_image {
    uint8_t *data;
    size_t len;
    char sha256_hex[2 * 32 + 1];
    const char *path; /* borrowed from argv */
} pb_image;

/* What one worker run is asked to do. */
typedef enum pb_goal {
    PB_GOAL_CONFIRMED, /* counts.confirmed reaches target: decisions published and confirmed */
    PB_GOAL_REVIEW,    /* counts.review reaches target: prepared and held for people */
    PB_GOAL_WINDOW,    /* review items held reach target, then hold_ms more stepping */
} pb_goal;

typedef struct pb_phase {
    const char *name;      /* also names the consumer group and the decisions topic */
    int threads;           /* worker.prepare_threads */
    int window;            /* worker.window_per_queue; 0 = the default */
    const char *bank_file; /* NULL = no bank */
    pb_goal goal;
    size_t target;
    int hold_ms;    /* PB_GOAL_WINDOW: how long the window must stay full */
    int timeout_ms; /* the whole run, set-up included */
} pb_phase;

/* Process CPU time split by who spent it, from /proc/self/task. */
typedef struct pb_cpu {
    double worker_ms; /* threads that are not librdkafka's: poll loop, preparation pool, libvips */
    double client_ms; /* librdkafka's threads of the worker's clients (rdk:*) */
    double broker_ms; /* the mock cluster's thread (rdk:mock): the brokers, in this process */
} pb_cpu;

typedef struct pb_result {
    double wall_ms; /* first modq_run_step until the goal */
    double join_ms; /* first modq_run_step until the first ticket was handed to the pool */
    pb_cpu cpu;     /* over wall_ms */
    modq_run_counters counts;
    size_t held; /* review items held when the goal was met (after the hold) */
    long rss_kb; /* VmRSS at the end (after the hold) */
    long hwm_kb; /* VmHWM at the same moment */
} pb_result;

/* The environment every run shares. */
typedef struct pb_env {
    modq_mock *mock;
    const modq_policy *policy;
    const char *policy_path; /* absolute */
    FILE *log;               /* the worker's log lines */
} pb_env;

/* A mock cluster of 3 brokers. 0, or -1 with err. */
int pb_cluster_new(modq_mock **out, char *err, size_t errsz);

/*
 * Produces n tickets to the policy's queue topics (ticket i: queue i mod queues, inline media
 * images[i mod nimages], ids PREFIX-i), creating each topic first with as many partitions as keep
 * every partition under the mock's retention (it keeps only the newest 5 MiB of a partition).
 * Waits until every ticket is acknowledged. *bytes gets the total ticket bytes. 0, or -1 with err.
 */
int pb_produce(modq_mock *m, const modq_policy *policy, const char *prefix, size_t n,
               const pb_image *images, size_t nimages, uint64_t *bytes, char *err, size_t errsz);

/* Tickets of queue q (by index) among n produced by pb_produce. */
size_t pb_queue_share(const modq_policy *policy, size_t n, size_t q);

/* One worker run from a fresh consumer group: new, step until the goal, drain, free. 0, or -1
 * with err (the counts so far are in *res). */
int pb_run_phase(const pb_env *env, const pb_phase *ph, pb_result *res, char *err, size_t errsz);

/* The media pipeline alone, three ways: what modq_media_process does by default, and the two
 * halves the worker runs (it defers renditions until it knows a person will see the item). */
enum { PB_MEDIA_FULL, PB_MEDIA_HASHES, PB_MEDIA_RENDER, PB_MEDIA_COUNT };

/* Everything the report prints. */
typedef struct pb_figures {
    int nproc, nimages, hwm_reset;
    double media_ms[PB_MEDIA_COUNT], media_cpu_ms[PB_MEDIA_COUNT]; /* per image */
    pb_result auto1, auton, review1, reviewn, memory; /* *n: one thread per CPU, when nproc > 1 */
    long tickets, reviews, backlog, window, review_window, queues, held_target, hold_s;
    uint64_t backlog_bytes, tickets_bytes;
    long rss_start_kb, rss_backlog_kb;
} pb_figures;

/* The table, then one JSON line with the same figures (bench/pipeline_report.c). */
void pb_report(const pb_figures *fg);

/* VmRSS and VmHWM of this process in KiB (-1 when unreadable). */
void pb_memory(long *rss_kb, long *hwm_kb);
/* Resets VmHWM to the current RSS (Linux clear_refs "5"). 0, or -1 when not allowed. */
int pb_reset_hwm(void);

/* Monotonic milliseconds. */
double pb_now_ms(void);

#endif /* MODQ_BENCH_PIPELINE_H */
