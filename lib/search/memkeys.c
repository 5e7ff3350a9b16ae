/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The key search in memory images (bd_memkeys_search).
 *
 * Workers take 8 MiB chunks of the image's memory ranges (with 256 bytes of the next chunk, so
 * a schedule across the boundary is seen whole) and test every byte offset with the cheap word
 * relations of bd_aes_schedule_filter, then the few survivors with a full expansion. Raw
 * 32-byte VMK candidates are tried at raw_align-aligned offsets whose bytes look random (at least
 * 24 distinct values in 32), by decrypting the first block of the volume's encrypted FVEK with
 * the candidate (AES-CCM's counter 1) and looking for the KEY datum's size and type.
 *
 * Every distinct key goes into one table. When a key arrives it is tried, against the volume's
 * probe (a known sector, see bd_volume_key_probe), alone (AES-CBC) or with every key already
 * in the table as the other half (XTS: data key and tweak key; Elephant: data key and diffuser
 * tweak key), on the first 16 bytes of the sector only; and, when 32 bytes long, as the VMK.
 * The calling thread confirms candidates with the library's own unlock calls (which check the
 * whole boot sector, or the full AES-CCM tag and the metadata's SHA-256) and stops the scan at
 * the first proof unless asked to keep going.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "aeskey.h"
#include "crypto.h"
#include "memimage.h"
#include "volume.h"

#define CHUNK (8u << 20)
#define OVERLAP 256u
#define MAX_KEYS 200000

struct entry {
	struct bd_memkey k;
	int ready;                 /* t/x/dec below are set for the volume's method */
	uint8_t t[16];             /* XTS: E_k(sector number); Elephant: E_k(byte offset), the sector key's first block */
	uint8_t x[16];             /* Elephant: the sector's first block after AES-CBC(k) and both diffusers */
	EVP_CIPHER_CTX *dec;       /* XTS: AES-ECB decryption with k */
};

struct cand {
	int a, b;                  /* entry indices: key (data key) and tweak key (-1 if none) */
	int vmk;                   /* a is a VMK candidate */
};

struct search {
	bd_memimage *m;
	bd_volume *v;
	const struct bd_memkeys_opts *o;
	struct bd_key_probe *probe;
	int fvek_probe;            /* the probe sector is usable */
	size_t half;               /* key length of one half for the volume's method */
	unsigned align;
	uint64_t *first_chunk;     /* per run: index of its first chunk; [n_runs] = total */
	uint64_t next_chunk;       /* atomic */
	uint64_t done_bytes;       /* atomic */
	uint64_t raw_tested;       /* atomic */
	uint64_t skipped;          /* atomic: bytes not read (I/O errors) */
	volatile int stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned running;
	EVP_CIPHER_CTX *ecb;       /* for the checks made under the lock */
	struct entry *e;
	size_t n, cap;
	struct cand *c;
	size_t nc, capc;
	int full;                  /* the key table reached MAX_KEYS */
};

/* ---- single-block AES with a fresh key ---- */

static int ecb1(EVP_CIPHER_CTX *ctx, int enc, const uint8_t *key, size_t len, const uint8_t in[16], uint8_t out[16])
{
	int n = 0;

	if (!EVP_CipherInit_ex(ctx, len == 16 ? EVP_aes_128_ecb() : EVP_aes_256_ecb(), NULL, key, NULL, enc))
		return -1;
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	return EVP_CipherUpdate(ctx, out, &n, in, 16) && n == 16 ? 0 : -1;
}

/* ---- what a right key decrypts to ---- */

static int plausible(const struct bd_key_probe *p, const uint8_t b[16])
{
	if (p->kind == BD_PROBE_MFT)
		return !memcmp(b, "FILE", 4);
	if (bd_is_zero(b, 16))
		return 1;   /* a volume that never got a file system */
	if (!((b[0] == 0xEB && b[2] == 0x90) || b[0] == 0xE9))
		return 0;
	uint16_t bps = le16(b + 11);
	return bps == 512 || bps == 1024 || bps == 2048 || bps == 4096;
}

/* AES-CCM counter block 1 (§4.2: 12-byte nonce, so L = 3) */
static int vmk_quick(EVP_CIPHER_CTX *ctx, const struct bd_key_probe *p, const uint8_t key[32])
{
	uint8_t a1[16] = { 2 }, ks[16];

	memcpy(a1 + 1, p->nonce, 12);
	a1[15] = 1;
	if (bd_aes256_block_fast(key, a1, ks) && ecb1(ctx, 1, key, 32, a1, ks))
		return 0;
	for (int i = 0; i < 16; i++)
		ks[i] ^= p->ct[i];
	return le16(ks) == p->ctlen && le16(ks + 4) == BD_DT_KEY;
}

static size_t half_len(uint16_t method)
{
	switch (method) {
	case BD_METHOD_AES_CBC_128_ELEPHANT: case BD_METHOD_AES_CBC_128: case BD_METHOD_AES_XTS_128: return 16;
	case BD_METHOD_AES_CBC_256_ELEPHANT: case BD_METHOD_AES_CBC_256: case BD_METHOD_AES_XTS_256: return 32;
	}
	return 0;
}

/* The sector decrypted with AES-CBC under key k (BitLocker's IV), as a CBC-only sector cipher does. */
static int cbc_sector(const struct bd_key_probe *p, const uint8_t *k, size_t len, uint8_t *out)
{
	struct bd_sector_cipher *c;
	int r;

	if (bd_sector_cipher_new(len == 16 ? BD_METHOD_AES_CBC_128 : BD_METHOD_AES_CBC_256, k, len, p->ss, &c))
		return -1;
	memcpy(out, p->sector, p->ss);
	r = bd_sector_decrypt(c, out, 1, p->phys);
	bd_sector_cipher_free(c);
	return r;
}

static void add_cand(struct search *s, int a, int b, int vmk)
{
	struct cand *nc;

	if (s->nc == s->capc) {
		size_t cap = s->capc ? 2 * s->capc : 16;
		if (!(nc = realloc(s->c, cap * sizeof(*nc))))
			return;
		s->c = nc;
		s->capc = cap;
	}
	s->c[s->nc].a = a;
	s->c[s->nc].b = b;
	s->c[s->nc].vmk = vmk;
	s->nc++;
	pthread_cond_broadcast(&s->cond);
}

/* XTS: is (data key a, tweak key b) plausible? */
static int xts_pair(struct search *s, const struct entry *a, const struct entry *b)
{
	uint8_t blk[16], pt[16];
	int n = 0;

	for (int i = 0; i < 16; i++)
		blk[i] = s->probe->sector[i] ^ b->t[i];
	if (!a->dec || !EVP_CipherUpdate(a->dec, pt, &n, blk, 16) || n != 16)
		return 0;
	for (int i = 0; i < 16; i++)
		pt[i] ^= b->t[i];
	return plausible(s->probe, pt);
}

static int elephant_pair(struct search *s, const struct entry *a, const struct entry *b)
{
	uint8_t pt[16];

	for (int i = 0; i < 16; i++)
		pt[i] = a->x[i] ^ b->t[i];
	return plausible(s->probe, pt);
}

/* Precompute what the checks need from entry i and try it (under the lock). */
static void try_entry(struct search *s, size_t i)
{
	struct entry *e = &s->e[i];
	const struct bd_key_probe *p = s->probe;
	uint16_t m;

	if (!s->v)
		return;
	if (e->k.len == 32 && p->has_fvek_datum && vmk_quick(s->ecb, p, e->k.key))
		add_cand(s, (int)i, -1, 1);
	if (!s->fvek_probe || e->k.len != s->half)
		return;
	m = p->method;
	if (m == BD_METHOD_AES_CBC_128 || m == BD_METHOD_AES_CBC_256) {
		uint8_t sec[4096];
		if (!cbc_sector(p, e->k.key, e->k.len, sec) && plausible(p, sec))
			add_cand(s, (int)i, -1, 0);
		bd_wipe(sec, sizeof(sec));
		return;
	}
	uint8_t blk[16] = { 0 };
	if (m == BD_METHOD_AES_XTS_128 || m == BD_METHOD_AES_XTS_256) {
		put_le64(blk, p->phys / p->ss);
		if (ecb1(s->ecb, 1, e->k.key, e->k.len, blk, e->t))
			return;
		e->dec = EVP_CIPHER_CTX_new();
		if (!e->dec || !EVP_DecryptInit_ex(e->dec, e->k.len == 16 ? EVP_aes_128_ecb() : EVP_aes_256_ecb(),
						   NULL, e->k.key, NULL))
			return;
		EVP_CIPHER_CTX_set_padding(e->dec, 0);
	} else {
		uint8_t sec[4096];
		put_le64(blk, p->phys);
		if (ecb1(s->ecb, 1, e->k.key, e->k.len, blk, e->t) || cbc_sector(p, e->k.key, e->k.len, sec))
			return;
		bd_diffuser_b_decrypt(sec, p->ss);
		bd_diffuser_a_decrypt(sec, p->ss);
		memcpy(e->x, sec, 16);
		bd_wipe(sec, sizeof(sec));
	}
	e->ready = 1;
	int xts = m == BD_METHOD_AES_XTS_128 || m == BD_METHOD_AES_XTS_256;
	for (size_t j = 0; j < s->n; j++) {
		struct entry *o = &s->e[j];
		if (j == i || !o->ready)
			continue;
		if (xts ? xts_pair(s, e, o) : elephant_pair(s, e, o))
			add_cand(s, (int)i, (int)j, 0);
		if (xts ? xts_pair(s, o, e) : elephant_pair(s, o, e))
			add_cand(s, (int)j, (int)i, 0);
	}
}

/* Record a key seen at file offset off (under the lock). */
static void add_key(struct search *s, const uint8_t *key, size_t len, int kind, int swapped, uint64_t off)
{
	struct entry *ne;

	for (size_t i = 0; i < s->n; i++) {
		struct entry *e = &s->e[i];
		if (e->k.len == len && !memcmp(e->k.key, key, len)) {
			e->k.count++;
			if (off < e->k.file_off && kind != BD_MEMKEY_GIVEN) {
				e->k.file_off = off;
				bd_memimage_address(s->m, off, &e->k.addr);
			}
			return;
		}
	}
	if (s->n >= MAX_KEYS) {
		if (!s->full)
			bd_warn("more than %d distinct AES keys in the image; further ones are ignored", MAX_KEYS);
		s->full = 1;
		return;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		ne = calloc(cap, sizeof(*ne));
		if (!ne)
			return;
		mlock(ne, cap * sizeof(*ne));
		if (s->n)
			memcpy(ne, s->e, s->n * sizeof(*ne));
		if (s->e) {
			bd_wipe(s->e, s->cap * sizeof(*ne));
			munlock(s->e, s->cap * sizeof(*ne));
			free(s->e);
		}
		s->e = ne;
		s->cap = cap;
	}
	ne = &s->e[s->n];
	memset(ne, 0, sizeof(*ne));
	memcpy(ne->k.key, key, len);
	ne->k.len = (uint8_t)len;
	ne->k.kind = (uint8_t)kind;
	ne->k.swapped = (uint8_t)swapped;
	ne->k.file_off = off;
	ne->k.count = 1;
	if (kind != BD_MEMKEY_GIVEN)
		bd_memimage_address(s->m, off, &ne->k.addr);
	s->n++;
	try_entry(s, s->n - 1);
}

/* ---- the workers ---- */

static int random_looking(const uint8_t *p)
{
	uint64_t seen[4] = { 0 };
	int distinct = 0;

	for (int i = 0; i < 32; i++) {
		uint64_t bit = 1ull << (p[i] & 63);
		if (!(seen[p[i] >> 6] & bit)) {
			seen[p[i] >> 6] |= bit;
			distinct++;
		}
	}
	return distinct >= 24;
}

static void scan_buffer(struct search *s, EVP_CIPHER_CTX *ctx, const uint8_t *buf, size_t own, size_t avail,
			uint64_t file_off, uint64_t run_pos)
{
	int raw = s->v && !s->o->no_raw && s->probe->has_fvek_datum;
	uint64_t raw_tested = 0;

	for (size_t i = 0; i < own && !s->stop; i++) {
		const uint8_t *p = buf + i;
		int f = bd_aes_schedule_filter(p, avail - i);
		if (f) {
			uint8_t key[32];
			int flags = 0, n = bd_aes_schedule_at(p, avail - i, f, key, &flags);
			if (n) {
				int kind = flags & (BD_AESKS_DEC128 | BD_AESKS_DEC256) ? BD_MEMKEY_DEC_SCHEDULE :
					   BD_MEMKEY_ENC_SCHEDULE;
				pthread_mutex_lock(&s->lock);
				add_key(s, key, (size_t)n, kind, !!(flags & BD_AESKS_SWAPPED), file_off + i);
				pthread_mutex_unlock(&s->lock);
				bd_wipe(key, sizeof(key));
			}
		}
		if (raw && (run_pos + i) % s->align == 0 && avail - i >= 32 && random_looking(p)) {
			raw_tested++;
			if (vmk_quick(ctx, s->probe, p)) {
				pthread_mutex_lock(&s->lock);
				add_key(s, p, 32, BD_MEMKEY_RAW, 0, file_off + i);
				pthread_mutex_unlock(&s->lock);
			}
		}
	}
	__atomic_add_fetch(&s->raw_tested, raw_tested, __ATOMIC_RELAXED);
}

static void *worker(void *arg)
{
	struct search *s = arg;
	const struct bd_memimage *m = s->m;
	uint8_t *buf = malloc(CHUNK + OVERLAP);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	size_t run = 0;

	if (buf)
		mlock(buf, CHUNK + OVERLAP);
	while (buf && ctx && !s->stop) {
		uint64_t c = __atomic_fetch_add(&s->next_chunk, 1, __ATOMIC_RELAXED);
		if (c >= s->first_chunk[m->n_runs])
			break;
		while (s->first_chunk[run + 1] <= c)
			run++;
		while (run && s->first_chunk[run] > c)
			run--;
		const struct bd_mem_run *r = &m->runs[run];
		uint64_t pos = (c - s->first_chunk[run]) * CHUNK;
		size_t own = (size_t)MIN((uint64_t)CHUNK, r->len - pos);
		size_t avail = (size_t)MIN((uint64_t)(own + OVERLAP), r->len - pos);
		if (bd_io_read_full(m->io, buf, avail, r->file_off + pos)) {
			bd_warn("%s: %zu bytes at offset %llu cannot be read and are skipped: %s", m->io->name, avail,
				(unsigned long long)(r->file_off + pos), bd_last_error());
			__atomic_add_fetch(&s->skipped, own, __ATOMIC_RELAXED);
		} else {
			scan_buffer(s, ctx, buf, own, avail, r->file_off + pos, pos);
		}
		__atomic_add_fetch(&s->done_bytes, own, __ATOMIC_RELAXED);
	}
	if (buf) {
		bd_wipe(buf, CHUNK + OVERLAP);
		munlock(buf, CHUNK + OVERLAP);
		free(buf);
	}
	EVP_CIPHER_CTX_free(ctx);
	pthread_mutex_lock(&s->lock);
	s->running--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- confirmation (calling thread) ---- */

/* Try candidate k with the volume's own unlock calls. 1 when the volume accepted it. */
static int confirm(struct search *s, size_t k, struct bd_memkeys_result *res)
{
	struct cand c;
	uint8_t a[32], b[32], full[64] = { 0 };
	size_t alen, blen = 0, flen;
	uint16_t m = s->probe->method;
	int ok = 0;

	pthread_mutex_lock(&s->lock);
	c = s->c[k];
	alen = s->e[c.a].k.len;
	memcpy(a, s->e[c.a].k.key, alen);
	if (c.b >= 0) {
		blen = s->e[c.b].k.len;
		memcpy(b, s->e[c.b].k.key, blen);
	}
	pthread_mutex_unlock(&s->lock);
	if (c.vmk) {
		if (!res->vmk_found && !bd_unlock_vmk(s->v, a, 32)) {
			res->vmk_found = 1;
			memcpy(res->vmk, a, 32);
			res->vmk_part = c.a;
			res->unlocked = 1;
			ok = 1;
		}
		goto out;
	}
	if (res->fvek_found)
		goto out;
	if (m == BD_METHOD_AES_CBC_128 || m == BD_METHOD_AES_CBC_256) {
		memcpy(full, a, alen);
		flen = alen;
	} else if (m == BD_METHOD_AES_XTS_128 || m == BD_METHOD_AES_XTS_256) {
		memcpy(full, a, alen);
		memcpy(full + alen, b, blen);
		flen = alen + blen;
	} else {
		memcpy(full, a, alen);
		memcpy(full + 32, b, blen);
		flen = 64;
	}
	/* once the VMK has unlocked the volume, an FVEK from memory is proven by equality with the
	 * FVEK the VMK decrypted (the volume's key state is left as it is) */
	if (res->vmk_found ? s->v->fvek && s->v->fvek->len >= flen && !memcmp(s->v->fvek->data, full, flen)
			   : !bd_unlock_fvek(s->v, full, flen)) {
		res->fvek_found = 1;
		res->method = m;
		memcpy(res->fvek, full, flen);
		res->fvek_len = flen;
		res->fvek_part[0] = c.a;
		res->fvek_part[1] = c.b;
		res->unlocked = 1;
		ok = 1;
	}
out:
	bd_wipe(a, sizeof(a));
	bd_wipe(b, sizeof(b));
	bd_wipe(full, sizeof(full));
	return ok;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void free_entries(struct search *s)
{
	for (size_t i = 0; i < s->n; i++)
		EVP_CIPHER_CTX_free(s->e[i].dec);
}

int bd_memkeys_search(bd_memimage *m, bd_volume *v, const struct bd_memkeys_opts *opts,
		      struct bd_memkeys_result *res)
{
	static const struct bd_memkeys_opts defaults = BD_MEMKEYS_OPTS_INIT();
	struct search s;
	struct bd_key_probe *probe;
	pthread_t *tid = NULL;
	unsigned threads, started = 0;
	size_t confirmed = 0;
	double t0 = now();
	int r = 0, proven = 0;

	memset(res, 0, sizeof(*res));
	res->fvek_part[0] = res->fvek_part[1] = res->vmk_part = -1;
	if ((r = BD_SIZE_CHECK(opts, struct bd_memkeys_opts, progress_data, "BD_MEMKEYS_OPTS_INIT")))
		return r;
	if (!opts)
		opts = &defaults;
	memset(&s, 0, sizeof(s));
	s.m = m;
	s.v = v;
	s.o = opts;
	s.align = opts->raw_align ? opts->raw_align : 8;
	probe = calloc(1, sizeof(*probe));
	s.first_chunk = calloc(m->n_runs + 1, sizeof(uint64_t));
	s.ecb = EVP_CIPHER_CTX_new();
	if (!probe || !s.first_chunk || !s.ecb) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto out;
	}
	mlock(probe, sizeof(*probe));
	s.probe = probe;
	if (v) {
		int pr = bd_volume_key_probe(v, probe);
		s.fvek_probe = pr == 0;
		s.half = half_len(probe->method);
		if (pr && pr != BD_ERR_UNSUPPORTED) {
			r = pr;
			goto out;
		}
		if (pr)
			bd_info("%s; only a VMK can be proven", bd_last_error());
		if (!probe->has_fvek_datum && !s.fvek_probe) {
			r = bd_err(BD_ERR_UNSUPPORTED, "the volume has neither an encrypted FVEK nor an encrypted sector "
				   "to prove a key with");
			goto out;
		}
	}
	for (size_t i = 0; i < m->n_runs; i++)
		s.first_chunk[i + 1] = s.first_chunk[i] + (m->runs[i].len + CHUNK - 1) / CHUNK;
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	for (size_t i = 0; i < opts->n_extra && opts->extra && opts->extra_len; i++)
		if (opts->extra_len[i] == 16 || opts->extra_len[i] == 32)
			add_key(&s, opts->extra + 32 * i, opts->extra_len[i], BD_MEMKEY_GIVEN, 0, 0);

	threads = opts->threads;
	if (!threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (unsigned)n : 1;
	}
	if (threads > 256)
		threads = 256;
	tid = calloc(threads, sizeof(*tid));
	if (!tid) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto joined;
	}
	pthread_mutex_lock(&s.lock);
	for (; started < threads; started++) {
		s.running++;
		if (pthread_create(&tid[started], NULL, worker, &s)) {
			s.running--;
			break;
		}
	}
	if (!started) {
		pthread_mutex_unlock(&s.lock);
		r = bd_err(BD_ERR_NOMEM, "cannot start a search thread");
		goto joined;
	}
	for (;;) {
		struct timespec ts;
		bd_deadline_ms(CLOCK_REALTIME, 200, &ts);
		if (s.running && confirmed == s.nc)
			pthread_cond_timedwait(&s.cond, &s.lock, &ts);
		while (v && confirmed < s.nc) {
			size_t k = confirmed++;
			pthread_mutex_unlock(&s.lock);
			proven |= confirm(&s, k, res);
			pthread_mutex_lock(&s.lock);
		}
		if (proven && !opts->keep_going && (res->vmk_found || res->fvek_found))
			s.stop = 1;
		if (!s.running)
			break;
		pthread_mutex_unlock(&s.lock);
		if ((opts->stop && *opts->stop) ||
		    (opts->progress && opts->progress(__atomic_load_n(&s.done_bytes, __ATOMIC_RELAXED), m->data_bytes,
						      opts->progress_data))) {
			s.stop = 1;
			if (!proven)
				r = bd_err(BD_ERR_INTERRUPTED, "key search stopped after %llu of %llu bytes",
					   (unsigned long long)s.done_bytes, (unsigned long long)m->data_bytes);
		}
		pthread_mutex_lock(&s.lock);
	}
	pthread_mutex_unlock(&s.lock);
joined:
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	free(tid);
	/* candidates that arrived last */
	while (v && confirmed < s.nc)
		proven |= confirm(&s, confirmed++, res);
	res->bytes_scanned = s.done_bytes;
	res->raw_tested = s.raw_tested;
	res->complete = !s.stop && !s.skipped && s.done_bytes == m->data_bytes;
	res->seconds = now() - t0;
	free_entries(&s);
	if (s.n) {
		res->keys = calloc(s.n, sizeof(*res->keys));
		if (res->keys) {
			mlock(res->keys, s.n * sizeof(*res->keys));
			for (size_t i = 0; i < s.n; i++)
				res->keys[i] = s.e[i].k;
			res->n_keys = s.n;
		}
	}
	pthread_cond_destroy(&s.cond);
	pthread_mutex_destroy(&s.lock);
	if (!r && v && !proven)
		r = bd_err(BD_ERR_WRONG_KEY, "%zu AES key%s found in %llu bytes of memory%s; none opens the volume",
			   s.n, s.n == 1 ? "" : "s", (unsigned long long)res->bytes_scanned,
			   opts->no_raw ? "" : " (and no raw VMK candidate)");
out:
	if (s.e) {
		bd_wipe(s.e, s.cap * sizeof(*s.e));
		munlock(s.e, s.cap * sizeof(*s.e));
		free(s.e);
	}
	free(s.c);
	if (probe) {
		bd_wipe(probe, sizeof(*probe));
		munlock(probe, sizeof(*probe));
		free(probe);
	}
	free(s.first_chunk);
	EVP_CIPHER_CTX_free(s.ecb);
	return r;
}

void bd_memkeys_result_free(struct bd_memkeys_result *res)
{
	if (res->keys) {
		bd_wipe(res->keys, res->n_keys * sizeof(*res->keys));
		munlock(res->keys, res->n_keys * sizeof(*res->keys));
		free(res->keys);
	}
	bd_wipe(res, sizeof(*res));
	res->fvek_part[0] = res->fvek_part[1] = res->vmk_part = -1;
}
