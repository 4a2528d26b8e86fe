/*
 * text.c: the rule for outside text (see text.h). UTF-8 validity is glib's (libvips links it
 * already); the characters each kind allows are checked here, on bytes, which is enough once the
 * text is known to be UTF-8: C0 controls and DEL are single bytes, and the C1 controls
 * U+0080..U+009F are exactly the sequences C2 80..C2 9F.
 */
#include "text.h"

#include <glib.h>

static const char *const result_text[MODQ_TEXT_RESULT_COUNT] = {
    [MODQ_TEXT_OK] = "ok",
    [MODQ_TEXT_ERR_EMPTY] = "empty",
    [MODQ_TEXT_ERR_TOO_LONG] = "too long",
    [MODQ_TEXT_ERR_UTF8] = "not valid UTF-8",
    [MODQ_TEXT_ERR_CHAR] = "a character that is not allowed",
};

const char *modq_text_strerror(modq_text_result r)
{
    return (unsigned)r < MODQ_TEXT_RESULT_COUNT ? result_text[r] : "unknown result";
}

static modq_text_result check_id(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x21 || s[i] > 0x7e) {
            return MODQ_TEXT_ERR_CHAR;
        }
    }
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) {
        return MODQ_TEXT_ERR_CHAR;
    }
    return MODQ_TEXT_OK;
}

static bool control(const unsigned char *p, size_t i, size_t n, bool free_text)
{
    unsigned char c = p[i];

    if (c == 0x7f || (c == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)) {
        return true;
    }
    if (c >= 0x20) {
        return false;
    }
    return !(free_text && (c == '\t' || c == '\n' || c == '\r'));
}

modq_text_result modq_text_check(modq_text_kind kind, const char *s, size_t n, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;

    if (!s && n > 0) {
        return MODQ_TEXT_ERR_UTF8;
    }
    if (kind == MODQ_TEXT_ID && n == 0) {
        return MODQ_TEXT_ERR_EMPTY;
    }
    if (n > max) {
        return MODQ_TEXT_ERR_TOO_LONG;
    }
    if (kind == MODQ_TEXT_ID) {
        return check_id(s, n);
    }
    if (n == 0) {
        return MODQ_TEXT_OK;
    }
    /* max_len is a gssize: a longer text was refused above by any cap a caller would set. */
    if (n > (size_t)G_MAXSSIZE || !g_utf8_validate_len(s, n, NULL)) {
        return MODQ_TEXT_ERR_UTF8;
    }
    for (size_t i = 0; i < n; i++) {
        if (control(p, i, n, kind == MODQ_TEXT_FREE)) {
            return MODQ_TEXT_ERR_CHAR;
        }
    }
    return MODQ_TEXT_OK;
}

bool modq_text_ticket_id(const char *s, size_t n)
{
    return modq_text_check(MODQ_TEXT_ID, s, n, MODQ_TEXT_TICKET_ID_MAX) == MODQ_TEXT_OK;
}
