/*
 * sandbox_wire.h: the messages between a sandbox (sandbox.c) and its helper (sandbox_helper.c)
 * (private). Both ends are built from this header into one package and run on one machine, so
 * the messages are these structs as they lie in memory; the helper's side is never trusted: the
 * parent checks every field it reads (sandbox_check.c).
 *
 * The helper writes a ready message once it is confined (or why it could not be), then serves
 * requests one at a time:
 *   request:  sb_request, then `len` bytes (the media for SB_PROCESS)
 *   reply:    sb_reply, then `nrend` times (sb_rendition, then its `len` bytes), then `errlen`
 *             bytes of error text (no NUL)
 * SB_RELEASE has no reply. A helper closes when its socket reaches end of file.
 */
#ifndef MODQ_BLUR_SANDBOX_WIRE_H
#define MODQ_BLUR_SANDBOX_WIRE_H

#include "modq_blur.h"

#include <stddef.h>
#include <stdint.h>

#define SB_MAGIC   0x716d6f64u /* "dmoq" */
#define SB_VERSION 1u
/* The helper's end of the socket pair: this descriptor number in the helper. */
#define SB_FD 3

#define SB_ERR_MAX       320                   /* bytes of error text in a reply */
#define SB_RENDITION_MAX (64u * 1024u * 1024u) /* bytes of one encoded rendition */
#define SB_FRAMES_MAX    1000000               /* frames a container may claim */

typedef enum sb_kind {
    SB_PROCESS = 1, /* bytes and options in: facts, hashes and (unless deferred) renditions out */
    SB_RENDER = 2,  /* options in: renditions of the kept decode out; the decode is let go */
    SB_RELEASE = 3, /* lets the kept decode go; no reply */
    /* Only in the helper built for tests (MODQ_SANDBOX_TEST_REQUESTS): misbehaviour on demand. */
    SB_TEST_CRASH = 0x100, /* abort() */
    SB_TEST_SPIN,          /* burn CPU for ever */
    SB_TEST_SLEEP,         /* sleep for ever */
    SB_TEST_SYSCALL,       /* payload: one sb_test_syscall; the reply's result is its errno */
    SB_TEST_LIE,           /* payload: one uint32_t sb_test_lie; a reply that breaks the rules */
    SB_TEST_ALLOC,         /* payload: uint64_t bytes to allocate and touch; reply: 0 or errno */
} sb_kind;

typedef enum sb_test_syscall {
    SB_SYS_OPEN = 1,  /* openat("/etc/hostname", O_RDONLY) */
    SB_SYS_SOCKET,    /* socket(AF_INET, SOCK_STREAM, 0) */
    SB_SYS_EXECVE,    /* execve("/bin/true") */
    SB_SYS_OPEN_WRITE /* openat("/tmp/...", O_WRONLY | O_CREAT) */
} sb_test_syscall;

typedef enum sb_test_lie {
    SB_LIE_HUGE_RENDITION = 1, /* a rendition of 2^40 bytes */
    SB_LIE_BAD_RESULT,         /* a result code out of range */
    SB_LIE_BAD_SIZE,           /* a negative width */
    SB_LIE_SHORT,              /* half a reply, then silence */
} sb_test_lie;

/* The helper's first message: ready (errlen 0), or why it could not start (errlen bytes of text
 * follow, at most SB_ERR_MAX; the helper then exits). */
typedef struct sb_ready {
    uint32_t magic, version;
    int32_t pid;
    uint32_t errlen;
} sb_ready;

typedef struct sb_request {
    uint32_t magic, kind;
    int64_t opts[MODQ_OPT_COUNT];
    uint64_t len; /* payload bytes that follow */
} sb_request;

typedef struct sb_reply {
    uint32_t magic;
    int32_t result;                        /* a modq_blur_result */
    uint32_t errlen;                       /* <= SB_ERR_MAX */
    uint32_t nrend;                        /* <= 2 * MODQ_LEVEL_COUNT */
    int32_t width, height, frames, format; /* format: index into sb_format_names */
    int32_t display_w, display_h, pdq_quality;
    int32_t kept; /* 1: the helper keeps the decode for SB_RENDER or SB_RELEASE */
    uint8_t sha256[MODQ_SHA256_LEN], md5[MODQ_MD5_LEN];
    uint8_t pdq[MODQ_PDQ_DIHEDRAL][MODQ_PDQ_BYTES];
} sb_reply;

typedef struct sb_rendition {
    uint32_t ladder; /* 0: levels (grey, or colour with MODQ_OPT_COLOUR), 1: the colour ladder */
    uint32_t level;
    int32_t w, h;
    uint64_t len; /* 1 .. SB_RENDITION_MAX bytes that follow */
} sb_rendition;

/* The format names a reply may carry, by index; static strings. Every name decode.c gives a
 * format must be here (test_blur_sandbox compares each format with the in-process result). */
extern const char *const sb_format_names[];
extern const int sb_format_count;
/* The index of name in sb_format_names, -1 when absent. */
int sb_format_index(const char *name);

/* Writes or reads exactly len bytes on a blocking descriptor (the helper's side); 0 or -1. A
 * write to a closed peer raises SIGPIPE, which ends the helper: its parent is gone. */
int sb_write_all(int fd, const void *buf, size_t len);
int sb_read_all(int fd, void *buf, size_t len);

#endif
