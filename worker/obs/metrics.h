/*
 * metrics.h: the worker's Prometheus metrics (private to worker/): counters, gauges and
 * histograms with at most one label each, rendered in the Prometheus text format (0.0.4) for
 * GET /metrics. Names follow Prometheus conventions: modq_ prefix, _total counters, base units
 * (_seconds, _bytes). docs/operations.md lists every family.
 *
 * Families are declared once at start (modq_metrics_declare); updates name the family and the
 * label value. Unknown families are ignored (a bug, not a crash). Label values are escaped on
 * output; at most MODQ_METRICS_MAX_SERIES series per family (further label values are counted
 * under label value "other", as are values over 128 bytes or not UTF-8) so a hostile label cannot
 * grow memory without bound or break the scrape.
 *
 * Threads: every function may be called from any thread (one mutex).
 */
#ifndef MODQ_WORKER_METRICS_H
#define MODQ_WORKER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum modq_metrics_result {
    MODQ_METRICS_OK = 0,
    MODQ_METRICS_ERR_INVALID_ARG, /* bad name (not [a-zA-Z_:][a-zA-Z0-9_:]*), duplicate family */
    MODQ_METRICS_ERR_NOMEM,
    MODQ_METRICS_ERR_FULL, /* MODQ_METRICS_MAX_FAMILIES reached; render over MAX_OUTPUT */
    MODQ_METRICS_RESULT_COUNT
} modq_metrics_result;

const char *modq_metrics_strerror(modq_metrics_result r);

#define MODQ_METRICS_MAX_FAMILIES 64
#define MODQ_METRICS_MAX_SERIES   64 /* per family */
#define MODQ_METRICS_MAX_BUCKETS  16
#define MODQ_METRICS_MAX_OUTPUT   (1024 * 1024) /* rendered text cap */

typedef enum modq_metrics_type {
    MODQ_METRICS_COUNTER,
    MODQ_METRICS_GAUGE,
    MODQ_METRICS_HISTOGRAM,
} modq_metrics_type;

typedef struct modq_metrics modq_metrics;

/* A new, empty registry (caller owns it: modq_metrics_free). NULL when out of memory. */
modq_metrics *modq_metrics_new(void);
void modq_metrics_free(modq_metrics *m);

/*
 * Declares a family. label: the label's name, or NULL for an unlabelled family. buckets: the
 * upper bounds of a histogram, strictly increasing, nbuckets <= MODQ_METRICS_MAX_BUCKETS (+Inf is
 * implicit); NULL/0 for other types. help is copied.
 */
modq_metrics_result modq_metrics_declare(modq_metrics *m, const char *name, modq_metrics_type type,
                                         const char *help, const char *label, const double *buckets,
                                         size_t nbuckets);

/* true when a family of this name and type is declared (lets two users share a registry). */
bool modq_metrics_has(modq_metrics *m, const char *name, modq_metrics_type type);

/* Counter += n. label_value NULL for an unlabelled family. */
void modq_metrics_add(modq_metrics *m, const char *name, const char *label_value, uint64_t n);
/* Counter set to an absolute value taken from elsewhere (e.g. the worker's own counters). */
void modq_metrics_set_counter(modq_metrics *m, const char *name, const char *label_value,
                              uint64_t v);
/* Gauge = v. */
void modq_metrics_set(modq_metrics *m, const char *name, const char *label_value, double v);
/* Histogram observation. */
void modq_metrics_observe(modq_metrics *m, const char *name, const char *label_value, double v);

/*
 * Renders every family (in declaration order, series in first-use order) as Prometheus text.
 * On OK *out is a NUL-terminated malloc'd string owned by the caller (free), *len its length.
 */
modq_metrics_result modq_metrics_render(modq_metrics *m, char **out, size_t *len);

#endif
