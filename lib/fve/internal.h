/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the library's files; not part of the public API. */
#ifndef BDKIT_INTERNAL_H
#define BDKIT_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bdkit/base.h"
#include "bdkit/io.h"

/* Public structs the caller allocates (options) start with size_t size, set by their BD_*_INIT
 * macro, so that fields appended in a later version read as absent for an older caller:
 * BD_HAS(p, type, f) says whether the caller's struct has field f. BD_SIZE_CHECK refuses a struct
 * smaller than the first version (through field `last`, which stays the same when fields are added). */
#define BD_HAS(p, type, f) ((p)->size >= offsetof(type, f) + sizeof(((type *)0)->f))
#define BD_SIZE_CHECK(p, type, last, init) \
	(!(p) || BD_HAS(p, type, last) ? 0 : \
	 bd_err(BD_ERR_INVALID, "a " #type " of %zu bytes: make it with " init "(...)", (p)->size))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- errors and logging (error.c) ---- */

/* Record a message for bd_last_error() and return code (so: return bd_err(...)). */
int bd_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define bd_warn(...)  bd_log(BD_LOG_WARN, __VA_ARGS__)
#define bd_info(...)  bd_log(BD_LOG_INFO, __VA_ARGS__)
#define bd_debug(...) bd_log(BD_LOG_DEBUG, __VA_ARGS__)

/* ---- little-endian access ---- */

static inline uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }
static inline void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void put_le64(uint8_t *p, uint64_t v) { put_le32(p, (uint32_t)v); put_le32(p + 4, (uint32_t)(v >> 32)); }

/*
 * Bounds-checked cursor over a byte buffer. Reads past the end return 0 and
 * set cur->bad; check it once after a group of reads.
 */
struct bd_cursor {
	const uint8_t *p;
	size_t len;
	size_t pos;
	bool bad;
};
static inline struct bd_cursor bd_cursor(const void *p, size_t len)
{
	struct bd_cursor c = { (const uint8_t *)p, len, 0, false };
	return c;
}
static inline bool cur_need(struct bd_cursor *c, size_t n)
{
	if (c->bad || n > c->len - c->pos) {
		c->bad = true;
		return false;
	}
	return true;
}
static inline uint8_t cur_u8(struct bd_cursor *c) { return cur_need(c, 1) ? c->p[c->pos++] : 0; }
static inline uint16_t cur_u16(struct bd_cursor *c)
{
	if (!cur_need(c, 2)) return 0;
	c->pos += 2;
	return le16(c->p + c->pos - 2);
}
static inline uint32_t cur_u32(struct bd_cursor *c)
{
	if (!cur_need(c, 4)) return 0;
	c->pos += 4;
	return le32(c->p + c->pos - 4);
}
static inline uint64_t cur_u64(struct bd_cursor *c)
{
	if (!cur_need(c, 8)) return 0;
	c->pos += 8;
	return le64(c->p + c->pos - 8);
}
/* Pointer to the next n bytes (and advance), or NULL when fewer remain. */
static inline const uint8_t *cur_bytes(struct bd_cursor *c, size_t n)
{
	if (!cur_need(c, n)) return NULL;
	c->pos += n;
	return c->p + c->pos - n;
}
static inline size_t cur_left(const struct bd_cursor *c) { return c->bad ? 0 : c->len - c->pos; }

/* ---- secrets in locked memory (secret.c) ---- */

struct bd_secret {
	uint8_t *data;
	size_t len;
};
/* Whole zeroed pages, mlock()ed where allowed and left out of core dumps (MADV_DONTDUMP), for
 * key material; bd_locked_free wipes them. NULL on allocation failure. */
void *bd_locked_alloc(size_t len);
void bd_locked_free(void *p, size_t len);
/* Zeroed, in bd_locked_alloc memory. NULL on allocation failure. */
struct bd_secret *bd_secret_new(size_t len);
struct bd_secret *bd_secret_dup(const void *data, size_t len);
/* Wipes with explicit_bzero and frees; NULL is fine. */
void bd_secret_free(struct bd_secret *s);
/* Wipe a stack buffer (explicit_bzero) - for the cleanup path. */
void bd_wipe(void *p, size_t len);

/* ---- misc (util.c) ---- */

uint32_t bd_crc32(const void *buf, size_t len);
/* UTF-16LE (len in bytes, stops at NUL) to UTF-8, always NUL-terminated. */
void bd_utf16le_to_utf8(const uint8_t *in, size_t len, char *out, size_t outlen);
/* UTF-8 to UTF-16LE without terminator; returns bytes written or -1 on bad UTF-8 / overflow. */
long bd_utf8_to_utf16le(const char *in, uint8_t *out, size_t outlen);
/* The time ms milliseconds from now on clock clk (the clock of the condition variable it is for),
 * as pthread_cond_timedwait wants it. */
struct timespec;
void bd_deadline_ms(int clk, unsigned ms, struct timespec *ts);

#endif /* BDKIT_INTERNAL_H */
