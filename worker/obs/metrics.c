/*
 * metrics.c: the worker's Prometheus registry (metrics.h). A fixed table of families, each with
 * at most MODQ_METRICS_MAX_SERIES series kept in first-use order, all under one mutex. Updates
 * are a name lookup and an add; rendering builds the text exposition format 0.0.4 in one
 * capped buffer while holding the lock, so a scrape sees one consistent instant.
 */
#include "metrics.h"

#include <glib.h>

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN  128  /* metric and label names */
#define HELP_MAX_LEN  1024 /* help text */
#define VALUE_MAX_LEN 128  /* a label value; longer ones are counted under "other" */
#define OTHER         "other"

typedef struct series {
    char *label_value; /* NULL in an unlabelled family */
    uint64_t counter;
    double gauge;
    double sum;     /* histogram */
    uint64_t count; /* histogram: every observation, i.e. the +Inf bucket */
    uint64_t in_bucket[MODQ_METRICS_MAX_BUCKETS]; /* observations in (bound[i-1], bound[i]] */
} series;

typedef struct family {
    char *name, *help, *label; /* label NULL: unlabelled */
    modq_metrics_type type;
    double bounds[MODQ_METRICS_MAX_BUCKETS];
    size_t nbounds;
    series *series[MODQ_METRICS_MAX_SERIES];
    size_t nseries;
} family;

struct modq_metrics {
    pthread_mutex_t mu;
    /* Numbers are printed with "." whatever locale the program set: Prometheus needs it. */
    locale_t c_locale;
    family *families[MODQ_METRICS_MAX_FAMILIES];
    size_t nfamilies;
};

const char *modq_metrics_strerror(modq_metrics_result r)
{
    switch (r) {
    case MODQ_METRICS_OK:
        return "ok";
    case MODQ_METRICS_ERR_INVALID_ARG:
        return "invalid argument";
    case MODQ_METRICS_ERR_NOMEM:
        return "out of memory";
    case MODQ_METRICS_ERR_FULL:
        return "metrics registry full";
    case MODQ_METRICS_RESULT_COUNT:
        break;
    }
    return "unknown metrics result";
}

modq_metrics *modq_metrics_new(void)
{
    modq_metrics *m = calloc(1, sizeof(*m));

    if (!m) {
        return NULL;
    }
    m->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (m->c_locale == (locale_t)0 || pthread_mutex_init(&m->mu, NULL) != 0) {
        if (m->c_locale != (locale_t)0) {
            freelocale(m->c_locale);
        }
        free(m);
        return NULL;
    }
    return m;
}

static void series_free(series *s)
{
    if (s) {
        free(s->label_value);
        free(s);
    }
}

static void family_free(family *f)
{
    if (!f) {
        return;
    }
    for (size_t i = 0; i < f->nseries; i++) {
        series_free(f->series[i]);
    }
    free(f->name);
    free(f->help);
    free(f->label);
    free(f);
}

void modq_metrics_free(modq_metrics *m)
{
    if (!m) {
        return;
    }
    for (size_t i = 0; i < m->nfamilies; i++) {
        family_free(m->families[i]);
    }
    freelocale(m->c_locale);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool valid_name(const char *s, bool colons)
{
    size_t n;

    if (!s || !(is_alpha(s[0]) || (colons && s[0] == ':'))) {
        return false;
    }
    for (n = 1; s[n]; n++) {
        if (!(is_alpha(s[n]) || is_digit(s[n]) || (colons && s[n] == ':'))) {
            return false;
        }
    }
    return n <= NAME_MAX_LEN;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF), by glib's rule as all
 * of the worker's text: Prometheus rejects a whole scrape over one bad label value. */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    return g_utf8_validate_len((const gchar *)s, n, NULL);
}

/* The names a family's samples use: the name itself, plus the three suffixed ones of a
 * histogram. Two families must not share any, or the exposition would be ambiguous. */
static const char *const HIST_SUFFIX[] = {"", "_bucket", "_sum", "_count"};

static bool names_clash(const family *f, const char *name, modq_metrics_type type)
{
    size_t nf = f->type == MODQ_METRICS_HISTOGRAM ? 4 : 1;
    size_t nn = type == MODQ_METRICS_HISTOGRAM ? 4 : 1;
    size_t lf = strlen(f->name), ln = strlen(name);

    for (size_t i = 0; i < nf; i++) {
        for (size_t j = 0; j < nn; j++) {
            size_t si = strlen(HIST_SUFFIX[i]), sj = strlen(HIST_SUFFIX[j]);
            char a[NAME_MAX_LEN + 8], b[NAME_MAX_LEN + 8];

            if (lf + si != ln + sj) {
                continue;
            }
            memcpy(a, f->name, lf);
            memcpy(a + lf, HIST_SUFFIX[i], si);
            memcpy(b, name, ln);
            memcpy(b + ln, HIST_SUFFIX[j], sj);
            if (memcmp(a, b, lf + si) == 0) {
                return true;
            }
        }
    }
    return false;
}

static modq_metrics_result check_declare(const modq_metrics *m, const char *name,
                                         modq_metrics_type type, const char *help,
                                         const char *label, const double *buckets, size_t nbuckets)
{
    if (!valid_name(name, true) || (unsigned)type > MODQ_METRICS_HISTOGRAM) {
        return MODQ_METRICS_ERR_INVALID_ARG;
    }
    if (help &&
        (strlen(help) > HELP_MAX_LEN || !valid_utf8((const unsigned char *)help, strlen(help)))) {
        return MODQ_METRICS_ERR_INVALID_ARG;
    }
    /* "__" names are Prometheus's own; "le" is the histogram's bucket label. */
    if (label && (!valid_name(label, false) || strncmp(label, "__", 2) == 0 ||
                  (type == MODQ_METRICS_HISTOGRAM && strcmp(label, "le") == 0))) {
        return MODQ_METRICS_ERR_INVALID_ARG;
    }
    if (type != MODQ_METRICS_HISTOGRAM && (buckets || nbuckets)) {
        return MODQ_METRICS_ERR_INVALID_ARG;
    }
    if (nbuckets > MODQ_METRICS_MAX_BUCKETS || (nbuckets && !buckets)) {
        return MODQ_METRICS_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < nbuckets; i++) {
        if (!isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1]))) {
            return MODQ_METRICS_ERR_INVALID_ARG;
        }
    }
    for (size_t i = 0; i < m->nfamilies; i++) {
        if (names_clash(m->families[i], name, type)) {
            return MODQ_METRICS_ERR_INVALID_ARG;
        }
    }
    if (m->nfamilies == MODQ_METRICS_MAX_FAMILIES) {
        return MODQ_METRICS_ERR_FULL;
    }
    return MODQ_METRICS_OK;
}

modq_metrics_result modq_metrics_declare(modq_metrics *m, const char *name, modq_metrics_type type,
                                         const char *help, const char *label, const double *buckets,
                                         size_t nbuckets)
{
    modq_metrics_result rc;
    family *f = NULL;

    if (!m) {
        return MODQ_METRICS_ERR_INVALID_ARG;
    }
    pthread_mutex_lock(&m->mu);
    rc = check_declare(m, name, type, help, label, buckets, nbuckets);
    if (rc != MODQ_METRICS_OK) {
        goto out;
    }
    rc = MODQ_METRICS_ERR_NOMEM;
    if (!(f = calloc(1, sizeof(*f))) || !(f->name = strdup(name)) ||
        !(f->help = strdup(help ? help : "")) || (label && !(f->label = strdup(label)))) {
        goto out;
    }
    f->type = type;
    f->nbounds = nbuckets;
    if (nbuckets) {
        memcpy(f->bounds, buckets, nbuckets * sizeof(*buckets));
    }
    /* An unlabelled family has its one series from the start, so it shows 0 before any use. */
    if (!label) {
        if (!(f->series[0] = calloc(1, sizeof(*f->series[0])))) {
            goto out;
        }
        f->nseries = 1;
    }
    m->families[m->nfamilies++] = f;
    f = NULL;
    rc = MODQ_METRICS_OK;
out:
    pthread_mutex_unlock(&m->mu);
    family_free(f);
    return rc;
}

static family *find_family(const modq_metrics *m, const char *name)
{
    if (!name) {
        return NULL;
    }
    for (size_t i = 0; i < m->nfamilies; i++) {
        if (strcmp(m->families[i]->name, name) == 0) {
            return m->families[i];
        }
    }
    return NULL;
}

bool modq_metrics_has(modq_metrics *m, const char *name, modq_metrics_type type)
{
    family *f;
    bool has;

    if (!m) {
        return false;
    }
    pthread_mutex_lock(&m->mu);
    f = find_family(m, name);
    has = f && f->type == type;
    pthread_mutex_unlock(&m->mu);
    return has;
}

static series *find_series(const family *f, const char *value)
{
    for (size_t i = 0; i < f->nseries; i++) {
        if (strcmp(f->series[i]->label_value, value) == 0) {
            return f->series[i];
        }
    }
    return NULL;
}

static series *add_series(family *f, const char *value)
{
    series *s = calloc(1, sizeof(*s));

    if (!s || !(s->label_value = strdup(value))) {
        series_free(s);
        return NULL;
    }
    f->series[f->nseries++] = s;
    return s;
}

/* The series an update lands in, created on first use; NULL when the family is unknown, of
 * another type, or memory ran out (the update is then lost, never the process). */
static series *series_for(modq_metrics *m, const char *name, modq_metrics_type type,
                          const char *value, const family **fam)
{
    family *f = find_family(m, name);
    series *s;
    bool has_other;

    if (!f || f->type != type) {
        return NULL;
    }
    if (fam) {
        *fam = f;
    }
    if (!f->label) {
        return f->series[0];
    }
    if (!value) {
        value = "";
    }
    if (strlen(value) > VALUE_MAX_LEN || !valid_utf8((const unsigned char *)value, strlen(value))) {
        value = OTHER;
    }
    if ((s = find_series(f, value))) {
        return s;
    }
    /* One slot stays free for "other" until it exists, so overflow always has a home. */
    has_other = strcmp(value, OTHER) == 0 || find_series(f, OTHER) != NULL;
    if (f->nseries + (has_other ? 0 : 1) < MODQ_METRICS_MAX_SERIES) {
        return add_series(f, value);
    }
    if ((s = find_series(f, OTHER))) {
        return s;
    }
    return add_series(f, OTHER);
}

void modq_metrics_add(modq_metrics *m, const char *name, const char *label_value, uint64_t n)
{
    series *s;

    if (!m) {
        return;
    }
    pthread_mutex_lock(&m->mu);
    if ((s = series_for(m, name, MODQ_METRICS_COUNTER, label_value, NULL))) {
        s->counter += n;
    }
    pthread_mutex_unlock(&m->mu);
}

void modq_metrics_set_counter(modq_metrics *m, const char *name, const char *label_value,
                              uint64_t v)
{
    series *s;

    if (!m) {
        return;
    }
    pthread_mutex_lock(&m->mu);
    if ((s = series_for(m, name, MODQ_METRICS_COUNTER, label_value, NULL))) {
        s->counter = v;
    }
    pthread_mutex_unlock(&m->mu);
}

void modq_metrics_set(modq_metrics *m, const char *name, const char *label_value, double v)
{
    series *s;

    if (!m) {
        return;
    }
    pthread_mutex_lock(&m->mu);
    if ((s = series_for(m, name, MODQ_METRICS_GAUGE, label_value, NULL))) {
        s->gauge = v;
    }
    pthread_mutex_unlock(&m->mu);
}

void modq_metrics_observe(modq_metrics *m, const char *name, const char *label_value, double v)
{
    const family *f = NULL;
    series *s;

    if (!m) {
        return;
    }
    pthread_mutex_lock(&m->mu);
    if ((s = series_for(m, name, MODQ_METRICS_HISTOGRAM, label_value, &f))) {
        /* NaN fits no finite bucket: it is counted under +Inf only, as the clients do. */
        for (size_t i = 0; i < f->nbounds; i++) {
            if (v <= f->bounds[i]) {
                s->in_bucket[i]++;
                break;
            }
        }
        s->count++;
        s->sum += v;
    }
    pthread_mutex_unlock(&m->mu);
}

/* The rendered text: grows by doubling up to MODQ_METRICS_MAX_OUTPUT, then fails as a whole. */
typedef struct buf {
    char *p;
    size_t len, cap;
    modq_metrics_result rc;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->rc != MODQ_METRICS_OK) {
        return;
    }
    if (n > MODQ_METRICS_MAX_OUTPUT - b->len) {
        b->rc = MODQ_METRICS_ERR_FULL;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;

        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        if (cap > MODQ_METRICS_MAX_OUTPUT + 1) {
            cap = MODQ_METRICS_MAX_OUTPUT + 1;
        }
        if (!(p = realloc(b->p, cap))) {
            b->rc = MODQ_METRICS_ERR_NOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Escapes backslash and newline, plus '"' inside label values. */
static void put_escaped(buf *b, const char *s, bool quote)
{
    for (const char *run = s;; s++) {
        const char *esc = NULL;

        if (*s == '\\') {
            esc = "\\\\";
        } else if (*s == '\n') {
            esc = "\\n";
        } else if (*s == '"' && quote) {
            esc = "\\\"";
        } else if (*s != '\0') {
            continue;
        }
        put(b, run, (size_t)(s - run));
        if (!esc) {
            return;
        }
        puts_(b, esc);
        run = s + 1;
    }
}

static void put_u64(buf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);

    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(b, tmp + i, sizeof(tmp) - i);
}

/* Integral values print without an exponent or fraction; others take the shortest precision
 * that reads back to the same double, so 0.005 prints as 0.005 and still round-trips. */
static void put_double(buf *b, double v)
{
    char tmp[40];

    if (isnan(v)) {
        puts_(b, "NaN");
        return;
    }
    if (isinf(v)) {
        puts_(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == trunc(v) && fabs(v) < 1e15) {
        snprintf(tmp, sizeof(tmp), "%.0f", v);
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
            if (strtod(tmp, NULL) == v) {
                break;
            }
        }
    }
    puts_(b, tmp);
}

/* "name{label="value"[,le="bound"]} " with the braces left out when there is nothing inside. */
static void put_sample_name(buf *b, const family *f, const char *suffix, const series *s,
                            const double *le)
{
    puts_(b, f->name);
    puts_(b, suffix);
    if (!f->label && !le) {
        puts_(b, " ");
        return;
    }
    puts_(b, "{");
    if (f->label) {
        puts_(b, f->label);
        puts_(b, "=\"");
        put_escaped(b, s->label_value, true);
        puts_(b, le ? "\"," : "\"");
    }
    if (le) {
        puts_(b, "le=\"");
        put_double(b, *le);
        puts_(b, "\"");
    }
    puts_(b, "} ");
}

static void render_histogram(buf *b, const family *f, const series *s)
{
    const double inf = INFINITY;
    uint64_t cum = 0;

    for (size_t i = 0; i < f->nbounds; i++) {
        cum += s->in_bucket[i];
        put_sample_name(b, f, "_bucket", s, &f->bounds[i]);
        put_u64(b, cum);
        puts_(b, "\n");
    }
    put_sample_name(b, f, "_bucket", s, &inf);
    put_u64(b, s->count);
    puts_(b, "\n");
    put_sample_name(b, f, "_sum", s, NULL);
    put_double(b, s->sum);
    puts_(b, "\n");
    put_sample_name(b, f, "_count", s, NULL);
    put_u64(b, s->count);
    puts_(b, "\n");
}

static void render_family(buf *b, const family *f)
{
    static const char *const TYPE_NAME[] = {"counter", "gauge", "histogram"};

    if (f->help[0]) {
        puts_(b, "# HELP ");
        puts_(b, f->name);
        puts_(b, " ");
        put_escaped(b, f->help, false);
        puts_(b, "\n");
    }
    puts_(b, "# TYPE ");
    puts_(b, f->name);
    puts_(b, " ");
    puts_(b, TYPE_NAME[f->type]);
    puts_(b, "\n");
    for (size_t i = 0; i < f->nseries; i++) {
        const series *s = f->series[i];

        if (f->type == MODQ_METRICS_HISTOGRAM) {
            render_histogram(b, f, s);
            continue;
        }
        put_sample_name(b, f, "", s, NULL);
        if (f->type == MODQ_METRICS_COUNTER) {
            put_u64(b, s->counter);
        } else {
            put_double(b, s->gauge);
        }
        puts_(b, "\n");
    }
}

modq_metrics_result modq_metrics_render(modq_metrics *m, char **out, size_t *len)
{
    buf b = {NULL, 0, 0, MODQ_METRICS_OK};
    locale_t old;

    if (!m || !out || !len) {
        return MODQ_METRICS_ERR_INVALID_ARG;
    }
    *out = NULL;
    *len = 0;
    pthread_mutex_lock(&m->mu);
    old = uselocale(m->c_locale);
    put(&b, "", 0); /* an empty registry still renders "" rather than NULL */
    for (size_t i = 0; i < m->nfamilies; i++) {
        render_family(&b, m->families[i]);
    }
    uselocale(old);
    pthread_mutex_unlock(&m->mu);
    if (b.rc == MODQ_METRICS_OK && !b.p) {
        b.rc = MODQ_METRICS_ERR_NOMEM;
    }
    if (b.rc != MODQ_METRICS_OK) {
        free(b.p);
        return b.rc;
    }
    *out = b.p;
    *len = b.len;
    return MODQ_METRICS_OK;
}
