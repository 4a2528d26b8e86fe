/*
 * ledger.c: the exposure ledger of one associate: what was on screen, when, how clearly; breaks;
 * the shift.
 *
 * Records are appended in time order, so the segment array is sorted by start and pruning only
 * ever drops a prefix. Everything that ended more than 24 h before the newest record is dropped:
 * the longest window any rule looks at is 24 h (a shift may not be longer), so nothing older can
 * change a decision. Not thread-safe: the caller serialises access to one ledger.
 *
 * Shifts are kept as a list of intervals, not one start time, because a shift boundary is not a
 * rest: the rules derive work periods and rests from the records (policy_check.c), so ending and
 * restarting a shift cannot reset the hard stop or the mandatory break.
 */
#include "policy_impl.h"

#include <stdlib.h>
#include <string.h>

modq_policy_result modq_ledger_new(const char *associate_id, modq_ledger **out)
{
    if (out == NULL) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    *out = NULL;
    modq_ledger *l = calloc(1, sizeof *l);
    if (l == NULL) {
        return MODQ_POLICY_ERR_NOMEM;
    }
    if (!policy_copy_name(l->associate, sizeof l->associate, associate_id)) {
        free(l);
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    l->shift_floor_ms = -1;
    l->last_ms = INT64_MIN;
    *out = l;
    return MODQ_POLICY_OK;
}

void modq_ledger_free(modq_ledger *l)
{
    if (l == NULL) {
        return;
    }
    MODQ_FREE_NULL(l->segs);
    free(l);
}

const char *modq_ledger_associate(const modq_ledger *l)
{
    return l == NULL ? "" : l->associate;
}

int ledger_category_find(const modq_ledger *l, const char *name)
{
    for (size_t i = 0; i < l->ncategories; i++) {
        if (strcmp(l->categories[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int ledger_category_intern(modq_ledger *l, const char *name)
{
    int i = ledger_category_find(l, name);
    if (i >= 0) {
        return i;
    }
    if (l->ncategories >= MODQ_LEDGER_MAX_CATEGORIES ||
        !policy_copy_name(l->categories[l->ncategories], MODQ_POLICY_NAME_MAX, name)) {
        return -1;
    }
    return (int)l->ncategories++;
}

bool policy_time_ok(int64_t t)
{
    return t >= 0 && t <= MODQ_POLICY_TIME_MAX;
}

int64_t ledger_open_shift_start(const modq_ledger *l)
{
    if (l->nshifts == 0 || l->shifts[l->nshifts - 1].end_ms >= 0) {
        return -1;
    }
    return l->shifts[l->nshifts - 1].start_ms;
}

int64_t ledger_last_shift_end(const modq_ledger *l)
{
    for (size_t i = l->nshifts; i-- > 0;) {
        if (l->shifts[i].end_ms >= 0) {
            return l->shifts[i].end_ms;
        }
    }
    return l->shift_floor_ms;
}

/* Keeps only the categories live segments use, so that the table cannot fill up with categories
 * seen more than 24 h ago. Indices are renumbered in order of first use by the kept segments. */
static void compact_categories(modq_ledger *l)
{
    int map[MODQ_LEDGER_MAX_CATEGORIES];
    size_t n = 0;
    for (size_t c = 0; c < MODQ_LEDGER_MAX_CATEGORIES; c++) {
        map[c] = -1;
    }
    for (size_t i = 0; i < l->nsegs; i++) {
        size_t c = l->segs[i].category;
        if (map[c] < 0) {
            map[c] = (int)n++;
        }
    }
    char old[MODQ_LEDGER_MAX_CATEGORIES][MODQ_POLICY_NAME_MAX];
    memcpy(old, l->categories, sizeof old);
    for (size_t c = 0; c < l->ncategories; c++) {
        if (map[c] >= 0) {
            memcpy(l->categories[map[c]], old[c], MODQ_POLICY_NAME_MAX);
        }
    }
    for (size_t i = 0; i < l->nsegs; i++) {
        l->segs[i].category = (uint16_t)map[l->segs[i].category];
    }
    l->ncategories = n;
}

/* Drops segments, breaks and shifts that ended at or before now - 24 h. */
static void prune(modq_ledger *l, int64_t now)
{
    int64_t horizon = now - MS_PER_DAY;
    size_t k = 0;
    while (k < l->nsegs && l->segs[k].end_ms >= 0 && l->segs[k].end_ms <= horizon) {
        k++;
    }
    if (k > 0) {
        memmove(l->segs, l->segs + k, (l->nsegs - k) * sizeof *l->segs);
        l->nsegs -= k;
        compact_categories(l);
    }
    k = 0;
    while (k < l->nbreaks && l->breaks[k].end_ms >= 0 && l->breaks[k].end_ms <= horizon) {
        k++;
    }
    if (k > 0) {
        memmove(l->breaks, l->breaks + k, (l->nbreaks - k) * sizeof *l->breaks);
        l->nbreaks -= k;
    }
    k = 0;
    while (k < l->nshifts && l->shifts[k].end_ms >= 0 && l->shifts[k].end_ms <= horizon) {
        /* A floor of 0 is how the wire says "none" (ledger.proto): a shift that ended at the
         * epoch leaves no floor here either, so the ledger is the same after a restart. */
        l->shift_floor_ms = l->shifts[k].end_ms > 0 ? l->shifts[k].end_ms : -1;
        k++;
    }
    if (k > 0) {
        memmove(l->shifts, l->shifts + k, (l->nshifts - k) * sizeof *l->shifts);
        l->nshifts -= k;
    }
}

/* Opens a shift at now. When the list is full the two oldest merge into one: the gap between
 * them stops counting as a rest, which can only make the rules stricter. */
static void open_shift(modq_ledger *l, int64_t now)
{
    if (l->nshifts == MODQ_LEDGER_MAX_SHIFTS) {
        l->shifts[0].end_ms = l->shifts[1].end_ms;
        memmove(l->shifts + 1, l->shifts + 2, (l->nshifts - 2) * sizeof *l->shifts);
        l->nshifts--;
    }
    l->shifts[l->nshifts].start_ms = now;
    l->shifts[l->nshifts].end_ms = -1;
    l->nshifts++;
}

static void close_shift(modq_ledger *l, int64_t now)
{
    if (ledger_open_shift_start(l) >= 0) {
        l->shifts[l->nshifts - 1].end_ms = now;
    }
}

/* Every record starts here: time must not go backwards. */
static modq_policy_result advance(modq_ledger *l, int64_t now)
{
    if (!policy_time_ok(now)) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    if (l->last_ms != INT64_MIN && now < l->last_ms) {
        return MODQ_POLICY_ERR_TIME_ORDER;
    }
    l->last_ms = now;
    prune(l, now);
    return MODQ_POLICY_OK;
}

static modq_policy_result push_segment(modq_ledger *l, const ledger_segment *s)
{
    modq_common_result g =
        MODQ_ARRAY_GROW(&l->segs, &l->cap_segs, l->nsegs + 1, MODQ_LEDGER_MAX_SEGMENTS);
    if (g != MODQ_COMMON_OK) {
        return g == MODQ_COMMON_ERR_FULL ? MODQ_POLICY_ERR_LEDGER_FULL : MODQ_POLICY_ERR_NOMEM;
    }
    l->segs[l->nsegs++] = *s;
    return MODQ_POLICY_OK;
}

static void close_item(modq_ledger *l, int64_t now)
{
    if (l->item_open && l->nsegs > 0) {
        l->segs[l->nsegs - 1].end_ms = now;
    }
    l->item_open = false;
}

static void close_break(modq_ledger *l, int64_t now)
{
    if (l->on_break && l->nbreaks > 0) {
        l->breaks[l->nbreaks - 1].end_ms = now;
    }
    l->on_break = false;
}

modq_policy_result modq_ledger_start_shift(modq_ledger *l, int64_t now)
{
    if (l == NULL) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    modq_policy_result r = advance(l, now);
    if (r != MODQ_POLICY_OK) {
        return r;
    }
    close_item(l, now);
    close_break(l, now);
    if (ledger_open_shift_start(l) < 0) {
        open_shift(l, now); /* a restart continues the open shift: it is neither end nor rest */
    }
    return MODQ_POLICY_OK;
}

modq_policy_result modq_ledger_end_shift(modq_ledger *l, int64_t now)
{
    if (l == NULL) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    modq_policy_result r = advance(l, now);
    if (r != MODQ_POLICY_OK) {
        return r;
    }
    close_item(l, now);
    close_break(l, now);
    close_shift(l, now);
    return MODQ_POLICY_OK;
}

modq_policy_result modq_ledger_show(modq_ledger *l, const char *category, int tier, int level,
                                    int64_t now)
{
    if (l == NULL || category == NULL || tier < 1 || tier > MODQ_POLICY_TIERS || level < 0 ||
        level >= MODQ_POLICY_LEVELS) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    if (!policy_time_ok(now)) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    if (l->item_open || l->on_break) {
        return MODQ_POLICY_ERR_STATE;
    }
    if (l->last_ms != INT64_MIN && now < l->last_ms) {
        return MODQ_POLICY_ERR_TIME_ORDER;
    }
    prune(l, now);
    int cat = ledger_category_intern(l, category);
    if (cat < 0) {
        return MODQ_POLICY_ERR_LEDGER_FULL;
    }
    ledger_segment s = {.start_ms = now,
                        .end_ms = -1,
                        .category = (uint16_t)cat,
                        .tier = (uint8_t)tier,
                        .level = (uint8_t)level,
                        .colour = false,
                        .item_start = true};
    modq_policy_result r = push_segment(l, &s);
    if (r != MODQ_POLICY_OK) {
        return r;
    }
    l->last_ms = now;
    if (ledger_open_shift_start(l) < 0) {
        open_shift(l, now);
    }
    l->item_open = true;
    return MODQ_POLICY_OK;
}

modq_policy_result modq_ledger_reveal(modq_ledger *l, int level, bool colour, int64_t now)
{
    if (l == NULL || level < 0 || level >= MODQ_POLICY_LEVELS || !policy_time_ok(now)) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    if (!l->item_open) {
        return MODQ_POLICY_ERR_STATE;
    }
    if (now < l->last_ms) {
        return MODQ_POLICY_ERR_TIME_ORDER;
    }
    ledger_segment *cur = &l->segs[l->nsegs - 1];
    if (cur->level == level && cur->colour == colour) {
        return MODQ_POLICY_OK;
    }
    ledger_segment s = *cur;
    s.start_ms = now;
    s.end_ms = -1;
    s.level = (uint8_t)level;
    s.colour = colour;
    s.item_start = false;
    /* Room first, so that a full ledger leaves the open segment as it was. */
    cur->end_ms = now;
    modq_policy_result r = push_segment(l, &s);
    if (r != MODQ_POLICY_OK) {
        l->segs[l->nsegs - 1].end_ms = -1;
        return r;
    }
    l->last_ms = now;
    return MODQ_POLICY_OK;
}

modq_policy_result modq_ledger_hide(modq_ledger *l, int64_t now)
{
    if (l == NULL) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    if (!l->item_open) {
        return MODQ_POLICY_ERR_STATE;
    }
    modq_policy_result r = advance(l, now);
    if (r == MODQ_POLICY_OK) {
        close_item(l, now);
    }
    return r;
}

modq_policy_result modq_ledger_break_start(modq_ledger *l, int64_t now)
{
    if (l == NULL) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    if (!policy_time_ok(now)) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    if (l->on_break) {
        return MODQ_POLICY_ERR_STATE;
    }
    if (l->last_ms != INT64_MIN && now < l->last_ms) {
        return MODQ_POLICY_ERR_TIME_ORDER;
    }
    prune(l, now);
    if (l->nbreaks >= MODQ_LEDGER_MAX_BREAKS) {
        return MODQ_POLICY_ERR_LEDGER_FULL;
    }
    l->last_ms = now;
    close_item(l, now);
    l->breaks[l->nbreaks].start_ms = now;
    l->breaks[l->nbreaks].end_ms = -1;
    l->nbreaks++;
    l->on_break = true;
    return MODQ_POLICY_OK;
}

modq_policy_result modq_ledger_break_end(modq_ledger *l, int64_t now)
{
    if (l == NULL) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    if (!l->on_break) {
        return MODQ_POLICY_ERR_STATE;
    }
    modq_policy_result r = advance(l, now);
    if (r == MODQ_POLICY_OK) {
        close_break(l, now);
    }
    return r;
}

bool modq_ledger_item_open(const modq_ledger *l)
{
    return l != NULL && l->item_open;
}

bool modq_ledger_on_break(const modq_ledger *l)
{
    return l != NULL && l->on_break;
}

int64_t modq_ledger_shift_start(const modq_ledger *l)
{
    return l == NULL ? -1 : ledger_open_shift_start(l);
}

size_t modq_ledger_segment_count(const modq_ledger *l)
{
    return l == NULL ? 0 : l->nsegs;
}

size_t modq_ledger_break_count(const modq_ledger *l)
{
    return l == NULL ? 0 : l->nbreaks;
}

int64_t modq_ledger_last_ms(const modq_ledger *l)
{
    return l == NULL ? INT64_MIN : l->last_ms;
}
