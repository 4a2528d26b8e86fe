/*
 * desk_text.c: the rule for free text that one person types and another reads (a support
 * request's message, shown in a lead's team view and carried by the wellbeing event): strict
 * UTF-8 and no control characters, so that what the lead sees is what was typed and every tool
 * reading the event can parse it.
 */
#include "desk.h"

/* Length of the strict UTF-8 sequence at p (n bytes left) and its code point, or 0 when it is not
 * one: overlong forms, surrogates and code points past U+10FFFF are refused. */
static size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t c, min;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if ((p[0] & 0xe0) == 0xc0)
        len = 2, c = p[0] & 0x1f, min = 0x80;
    else if ((p[0] & 0xf0) == 0xe0)
        len = 3, c = p[0] & 0x0f, min = 0x800;
    else if ((p[0] & 0xf8) == 0xf0)
        len = 4, c = p[0] & 0x07, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

bool modq_desk_text_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    if (!s)
        return false;
    for (size_t i = 0; i < n;) {
        uint32_t c = 0;
        size_t len = utf8_next(p + i, n - i, &c);
        /* Unicode's control characters (Cc): C0 (with line breaks and tabs), DEL and C1. */
        if (len == 0 || c < 0x20 || (c >= 0x7f && c <= 0x9f))
            return false;
        i += len;
    }
    return true;
}
