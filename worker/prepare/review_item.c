/*
 * review_item.c: packing a prepared ticket for the review topic and unpacking it on the desk.
 * The desk pod trusts nothing in the record: the ticket keeps the ingest rules
 * (modq_prepare_ticket_ok), the media facts and renditions are checked by blur's
 * modq_media_assemble and modq_media_put_rendition, and a record that fails is dead-lettered with
 * its reason instead of reaching a person.
 */
#include "review_item.h"

#include "modq_common.h"
#include "proto/review.pb-c.h"
#include "text.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RENDITIONS_MAX      (2 * MODQ_LEVEL_COUNT)
#define ESCALATION_NOTE_MAX 2000 /* bytes, as the desk holds a note (MODQ_DESK_MAX_NOTE) */

/* A prior ticket id is held in modq_prepared's prior_ticket_id after the ticket id rule. */
_Static_assert(MODQ_TEXT_TICKET_ID_MAX <= MODQ_DECIDED_MAX_ID, "prior_ticket_id too small");

/* Bytes for a protobuf-c bytes field, which packing only reads (as MODQ_UNCONST for text). */
static uint8_t *unconst_bytes(const uint8_t *p)
{
    return (uint8_t *)(uintptr_t)p;
}

/* The media part of p: facts, hashes and (grey, and colour when asked) renditions. The pointers
 * borrow from p->media and from the arrays passed in. */
static void fill_media(const modq_media *m, bool colour, Modq__V1__PreparedMedia *pm,
                       ProtobufCBinaryData pdq[MODQ_PDQ_DIHEDRAL],
                       Modq__V1__Rendition rd[RENDITIONS_MAX], Modq__V1__Rendition **rdp)
{
    size_t n = 0;

    pm->width = modq_media_width(m);
    pm->height = modq_media_height(m);
    pm->frames = modq_media_frames(m);
    pm->format = MODQ_UNCONST(modq_media_format(m));
    pm->display_width = modq_media_display_width(m);
    pm->display_height = modq_media_display_height(m);
    pm->jpeg_renditions = modq_media_rendition_format(m) == MODQ_FORMAT_JPEG;
    pm->levels_in_colour = modq_media_levels_in_colour(m);
    pm->sha256 = (ProtobufCBinaryData){MODQ_SHA256_LEN, unconst_bytes(modq_media_sha256(m))};
    pm->md5 = (ProtobufCBinaryData){MODQ_MD5_LEN, unconst_bytes(modq_media_md5(m))};
    for (int v = 0; v < MODQ_PDQ_DIHEDRAL; v++) {
        pdq[v] =
            (ProtobufCBinaryData){MODQ_PDQ_BYTES, unconst_bytes(modq_media_pdq_dihedral(m, v))};
    }
    pm->n_pdq_dihedral = MODQ_PDQ_DIHEDRAL;
    pm->pdq_dihedral = pdq;
    pm->pdq_quality = modq_media_pdq_quality(m);
    for (int ladder = 0; ladder < 2; ladder++) {
        if (ladder == 1 && (!colour || pm->levels_in_colour)) {
            break; /* a colour one ladder is both */
        }
        for (int lv = 0; lv < MODQ_LEVEL_COUNT; lv++) {
            const uint8_t *data;
            size_t len;
            int w, h;
            modq_blur_result br = ladder ? modq_media_rendition_colour(m, lv, &data, &len, &w, &h)
                                         : modq_media_rendition(m, lv, &data, &len, &w, &h);
            if (br != MODQ_BLUR_OK) {
                continue; /* not rendered */
            }
            modq__v1__rendition__init(&rd[n]);
            rd[n].level = lv;
            rd[n].colour = ladder == 1;
            rd[n].width = w;
            rd[n].height = h;
            rd[n].data = (ProtobufCBinaryData){len, unconst_bytes(data)};
            rdp[n] = &rd[n];
            n++;
        }
    }
    pm->n_renditions = n;
    pm->renditions = rdp;
}

int modq_review_item_pack(const modq_prepared *p, const modq_review_source *src, uint8_t **out,
                          size_t *len, bool *colour_dropped, char *errstr, size_t errstr_size)
{
    Modq__V1__ReviewItem item;
    Modq__V1__Ticket ticket;
    Modq__V1__PreparedMedia pm;
    ProtobufCBinaryData pdq[MODQ_PDQ_DIHEDRAL];
    Modq__V1__Rendition rd[RENDITIONS_MAX], *rdp[RENDITIONS_MAX];
    size_t size = 0;

    *out = NULL;
    *len = 0;
    *colour_dropped = false;
    modq__v1__review_item__init(&item);
    modq__v1__prepared_media__init(&pm);
    ticket = *p->ticket;
    ticket.media = NULL; /* its bytes stay here; the hashes and renditions go */
    item.format_version = 1;
    item.ticket = &ticket;
    item.source_topic = MODQ_UNCONST(src->topic);
    item.source_partition = src->partition;
    item.source_offset = src->offset;
    item.prepared_by = MODQ_UNCONST(src->prepared_by);
    item.prepared_at_ms = src->prepared_at_ms;
    item.has_prior = p->has_prior != 0;
    item.prior_verdict = p->prior_verdict;
    item.prior_ticket_id = MODQ_UNCONST(p->has_prior ? p->prior_ticket_id : "");
    item.prior_decided_at_ms = p->prior_decided_at_ms;
    item.prior_distance = p->has_prior ? p->prior_distance : 0;
    item.escalated = p->escalated;
    item.escalation_note = MODQ_UNCONST(p->escalation_note ? p->escalation_note : "");
    item.escalated_by = MODQ_UNCONST(p->escalated_by);
    item.escalated_team = MODQ_UNCONST(p->escalated_team);
    for (int colour = 1; colour >= 0; colour--) {
        if (p->media != NULL) {
            fill_media(p->media, colour == 1, &pm, pdq, rd, rdp);
            item.media = &pm;
        }
        size = modq__v1__review_item__get_packed_size(&item);
        if (size <= MODQ_REVIEW_ITEM_MAX_BYTES || p->media == NULL) {
            break;
        }
        *colour_dropped = true;
    }
    if (size > MODQ_REVIEW_ITEM_MAX_BYTES) {
        modq_errstr_set(errstr, errstr_size, "review item of %zu bytes > %d even without colour",
                        size, MODQ_REVIEW_ITEM_MAX_BYTES);
        return MODQ_REVIEW_PACK_TOO_LARGE;
    }
    if ((*out = malloc(size ? size : 1)) == NULL) {
        modq_errstr_set(errstr, errstr_size, "out of memory");
        return MODQ_REVIEW_PACK_NOMEM;
    }
    *len = modq__v1__review_item__pack(&item, *out);
    return 0;
}

/* What media_from answers for blur's non-OK result br: -1 for no memory (not the record's
 * fault: the caller gives it up for now), else 1, a refusal, with why (blur's sentence when it
 * gave none). */
static int part_refused(modq_blur_result br, char *why, size_t size)
{
    if (br == MODQ_BLUR_ERR_NOMEM) {
        return -1;
    }
    if (why[0] == '\0') {
        modq_errstr_set(why, size, "media: %s", modq_blur_strerror(br));
    }
    return 1;
}

/* The media of a record, rebuilt and checked into *out: 0, or 1 refused with why, or -1 out of
 * memory. What decides between these is blur's result, never whether why was written. */
static int media_from(const Modq__V1__PreparedMedia *pm, modq_media **out, char *why, size_t size)
{
    modq_media_facts f = {0};
    modq_media *m = NULL;
    modq_blur_result br;
    size_t grey = 0;

    *out = NULL;
    if (pm->sha256.len != MODQ_SHA256_LEN || pm->md5.len != MODQ_MD5_LEN ||
        pm->n_pdq_dihedral != MODQ_PDQ_DIHEDRAL) {
        modq_errstr_set(why, size, "media: hashes of the wrong size");
        return 1;
    }
    for (size_t v = 0; v < MODQ_PDQ_DIHEDRAL; v++) {
        if (pm->pdq_dihedral[v].len != MODQ_PDQ_BYTES) {
            modq_errstr_set(why, size, "media: PDQ variant %zu of the wrong size", v);
            return 1;
        }
        memcpy(f.pdq[v], pm->pdq_dihedral[v].data, MODQ_PDQ_BYTES);
    }
    memcpy(f.sha256, pm->sha256.data, MODQ_SHA256_LEN);
    memcpy(f.md5, pm->md5.data, MODQ_MD5_LEN);
    f.width = pm->width;
    f.height = pm->height;
    f.frames = pm->frames;
    f.format = pm->format;
    f.display_width = pm->display_width;
    f.display_height = pm->display_height;
    f.rendition_format = pm->jpeg_renditions ? MODQ_FORMAT_JPEG : MODQ_FORMAT_WEBP;
    f.levels_in_colour = pm->levels_in_colour;
    f.pdq_quality = pm->pdq_quality;
    if ((br = modq_media_assemble(&f, &m, why, size)) != MODQ_BLUR_OK) {
        return part_refused(br, why, size);
    }
    for (size_t i = 0; i < pm->n_renditions; i++) {
        const Modq__V1__Rendition *r = pm->renditions[i];
        br = modq_media_put_rendition(m, r->level, r->colour, r->data.data, r->data.len, r->width,
                                      r->height, why, size);
        if (br != MODQ_BLUR_OK) {
            modq_media_free(m);
            return part_refused(br, why, size);
        }
        grey += !r->colour || pm->levels_in_colour;
    }
    if (grey == 0) {
        modq_errstr_set(why, size, "media: no rendition to show");
        modq_media_free(m);
        return 1;
    }
    *out = m;
    return 0;
}

static modq_prepared *refuse(modq_prepared *p, const char *code, const char *why)
{
    p->kind = MODQ_PREPARED_DEAD_LETTER;
    snprintf(p->code, sizeof p->code, "%s", code);
    snprintf(p->reason, sizeof p->reason, "%s", why);
    return p;
}

/* An escalation's fields: what a person may write to another (the note), and ids. */
static bool escalation_ok(const Modq__V1__ReviewItem *item, char *why, size_t size)
{
    const char *note = item->escalation_note ? item->escalation_note : "";
    const char *by = item->escalated_by ? item->escalated_by : "";
    const char *team = item->escalated_team ? item->escalated_team : "";

    if (!item->escalated) {
        if (note[0] || by[0] || team[0]) {
            snprintf(why, size, "escalation fields set on an item not escalated");
            return false;
        }
        return true;
    }
    if (modq_text_check(MODQ_TEXT_FREE, note, strlen(note), ESCALATION_NOTE_MAX) != MODQ_TEXT_OK) {
        snprintf(why, size, "escalation_note: not text of at most %d bytes", ESCALATION_NOTE_MAX);
        return false;
    }
    if (modq_text_check(MODQ_TEXT_ID, by, strlen(by), MODQ_POLICY_NAME_MAX - 1) != MODQ_TEXT_OK ||
        (team[0] && modq_text_check(MODQ_TEXT_ID, team, strlen(team), MODQ_POLICY_NAME_MAX - 1) !=
                        MODQ_TEXT_OK)) {
        snprintf(why, size, "escalated_by or escalated_team: not an id");
        return false;
    }
    return true;
}

/* The record's own rules, before its media is rebuilt: false with why naming the first broken. */
static bool item_ok(const Modq__V1__ReviewItem *item, char *why, size_t size)
{
    if (item->format_version != 1) {
        snprintf(why, size, "format_version %u, not 1", item->format_version);
        return false;
    }
    if (item->ticket == NULL) {
        snprintf(why, size, "no ticket");
        return false;
    }
    if (item->ticket->media != NULL) {
        snprintf(why, size, "ticket.media: set (a review record carries renditions only)");
        return false;
    }
    if (!modq_prepare_ticket_ok(item->ticket, why, size)) {
        return false;
    }
    if (!escalation_ok(item, why, size)) {
        return false;
    }
    if (!item->has_prior) {
        return true;
    }
    /* The desk shows the prior ticket id (in JSON, which refuses what is not UTF-8): the ticket
     * id rule of ingest, which every id of the decided set kept. */
    if (item->prior_ticket_id == NULL ||
        !modq_text_ticket_id(item->prior_ticket_id, strlen(item->prior_ticket_id))) {
        snprintf(why, size, "prior_ticket_id: not a ticket id");
        return false;
    }
    if (item->prior_distance < 0 || item->prior_distance > MODQ_PDQ_INDEX_MAX_RADIUS) {
        snprintf(why, size, "prior_distance %d out of range", item->prior_distance);
        return false;
    }
    if (item->prior_verdict < 0 || item->prior_verdict > 4) {
        snprintf(why, size, "prior_verdict %d out of range", item->prior_verdict);
        return false;
    }
    return true;
}

/* *copy: t owned apart from the record it came in, packed and unpacked again so that
 * protobuf-c's ownership holds (caller frees). Returns 0, -1 when out of memory, 1 when the
 * packed ticket does not read back (the ingest rules exclude every case known, such as a field
 * numbered 0; a record is refused rather than retried for one found later). */
static int ticket_copy(const Modq__V1__Ticket *t, Modq__V1__Ticket **copy)
{
    size_t n = modq__v1__ticket__get_packed_size(t);
    uint8_t *tmp = malloc(n ? n : 1);

    if (tmp == NULL) {
        return -1;
    }
    modq__v1__ticket__pack(t, tmp);
    *copy = modq__v1__ticket__unpack(NULL, n, tmp);
    free(tmp);
    return *copy == NULL ? 1 : 0;
}

modq_prepared *modq_review_item_unpack(const modq_policy *policy, const void *buf, size_t len)
{
    modq_prepared *p = calloc(1, sizeof *p);
    Modq__V1__ReviewItem *item = NULL;
    char why[sizeof p->reason] = "";
    int r;

    if (p == NULL) {
        return NULL;
    }
    p->queue_index = -1;
    if (len > MODQ_REVIEW_ITEM_MAX_BYTES) {
        snprintf(why, sizeof why, "review record of %zu bytes > %d", len,
                 MODQ_REVIEW_ITEM_MAX_BYTES);
        goto refused;
    }
    if ((item = modq__v1__review_item__unpack(NULL, len, buf)) == NULL) {
        snprintf(why, sizeof why, "not a modq.v1.ReviewItem protobuf");
        goto refused;
    }
    if (!item_ok(item, why, sizeof why)) {
        goto refused;
    }
    if (item->media != NULL && (r = media_from(item->media, &p->media, why, sizeof why)) != 0) {
        if (r < 0) {
            goto nomem;
        }
        goto refused;
    }
    if ((p->queue_index = modq_policy_queue_find(policy, item->ticket->queue)) < 0) {
        snprintf(why, sizeof why, "queue '%.100s' is not in policy %s", item->ticket->queue,
                 modq_policy_version(policy));
        modq__v1__review_item__free_unpacked(item, NULL);
        return refuse(p, MODQ_DLQ_UNKNOWN_QUEUE, why);
    }
    if (item->has_prior) {
        p->has_prior = 1;
        p->prior_verdict = item->prior_verdict;
        snprintf(p->prior_ticket_id, sizeof p->prior_ticket_id, "%s", item->prior_ticket_id);
        p->prior_decided_at_ms = item->prior_decided_at_ms;
        p->prior_distance = item->prior_distance;
    }
    if (item->escalated) {
        p->escalated = true;
        snprintf(p->escalated_by, sizeof p->escalated_by, "%s", item->escalated_by);
        snprintf(p->escalated_team, sizeof p->escalated_team, "%s", item->escalated_team);
        if (item->escalation_note[0] &&
            (p->escalation_note = strdup(item->escalation_note)) == NULL) {
            goto nomem;
        }
    }
    if ((r = ticket_copy(item->ticket, &p->ticket)) != 0) {
        if (r < 0) {
            goto nomem;
        }
        snprintf(why, sizeof why, "ticket: does not read back once packed again");
        goto refused;
    }
    p->kind = MODQ_PREPARED_REVIEW;
    modq__v1__review_item__free_unpacked(item, NULL);
    return p;
refused:
    if (item != NULL) {
        modq__v1__review_item__free_unpacked(item, NULL);
    }
    return refuse(p, MODQ_DLQ_REVIEW_INVALID, why);
nomem:
    if (item != NULL) {
        modq__v1__review_item__free_unpacked(item, NULL);
    }
    modq_prepared_free(p);
    return NULL;
}
