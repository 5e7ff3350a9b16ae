/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sector ciphers (format.md §5, §6): AES-CBC with the BitLocker IV, AES-CBC +
 * Elephant diffuser, XTS-AES; 512..4096-byte sectors.
 *
 * Two implementations, chosen per call:
 *  - the fast path (CPUs with AES-NI): whole runs of sectors per call through aesni.c (AES-NI, or
 *    VAES/VPCLMULQDQ on AVX-512 registers), the Elephant diffusers over 8/16 sectors at once
 *    (elephant.c); the key schedules live in the cipher object (locked pages left out of core
 *    dumps, wiped at free);
 *  - the reference path (any CPU, and the tests' yardstick): OpenSSL's EVP ciphers. Each thread
 *    keeps a small cache of keyed contexts per cipher (keyed by a generation number unique to each
 *    bd_sector_cipher, so a freed and reallocated cipher never hits stale contexts). Per sector only
 *    the IV changes (EVP_CipherInit_ex with key = NULL: no key schedule). The CBC IVs (and Elephant
 *    sector keys) of a batch of sectors are computed with one ECB call over an array of le128
 *    offsets; CBC decryption of 512..2048-byte sectors is one ECB decryption over the batch, then the
 *    chaining XOR. Freeing a cipher frees its contexts in every thread's cache (the caches are
 *    listed for that), so no key schedule outlives bd_sector_cipher_free on any thread.
 * bd_sector_force_level() (tests only) pins the implementation.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <openssl/evp.h>

#include "aesni.h"
#include "crypto.h"
#include "method.h"
#include "internal.h"

enum { CTX_IV, CTX_TWEAK, CTX_DEC, CTX_ENC, CTX_ECBDEC, CTX_N };
#define TC_SLOTS 4
#define BATCH 64             /* at most this many sectors per IV batch */
#define SCRATCH (64 * 1024)  /* per-thread buffer for batched CBC decryption */
#define ESCRATCH (4096 * 32) /* per-thread buffer for the Elephant groups: ss * 32 (elephant.c) */

struct bd_sector_cipher {
	uint16_t method;
	uint32_t ss;
	uint64_t gen;
	bool elephant, xts;
	const EVP_CIPHER *ecb;  /* IV / sector-key derivation (CBC, Elephant) */
	const EVP_CIPHER *data; /* CBC or XTS */
	uint8_t dkey[64];       /* data key (XTS: key1 | key2) */
	uint8_t tkey[32];       /* Elephant TWEAK key */
	/* AES-NI fast path (aesni.c), when the CPU has it: data key, and XTS key2 or Elephant TWEAK key */
	struct bd_aes_key k1, k2;
	int cpu_level;
};

/* Test-only switch (tests/unit): cap the sector-cipher level; -1 = what the CPU offers. */
static int forced_level = -1;

int bd_sector_force_level(int level)
{
	int cpu = bd_aes_cpu_level();

	__atomic_store_n(&forced_level, level, __ATOMIC_RELAXED);
	return level < 0 || level > cpu ? cpu : level;
}

struct tc_slot {
	uint64_t gen;
	EVP_CIPHER_CTX *ctx[CTX_N];
};
struct tcache {
	struct tc_slot slot[TC_SLOTS];
	unsigned next;
	uint8_t *scratch; /* SCRATCH bytes, allocated on first CBC decryption */
	void *escratch;   /* ESCRATCH bytes aligned to 64: the Elephant groups' transposed words, on first use
			   * (allocated per call it was a 128 KiB block that malloc gave back to the kernel
			   * each time: page faults on every call) */
	/* The slots are this thread's, but bd_sector_cipher_free on any thread frees (and so
	 * cleanses) the contexts of the cipher it frees in every thread's cache: under mu. */
	pthread_mutex_t mu;
	struct tcache *prev, *next_tc;   /* every live thread's cache (all_tc, under all_mu) */
};

static uint64_t next_gen = 1;
static pthread_key_t tc_key;
static pthread_once_t tc_once = PTHREAD_ONCE_INIT;
static _Thread_local struct tcache *tc;
static pthread_mutex_t all_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tcache *all_tc;

static void slot_clear(struct tc_slot *s)
{
	for (int i = 0; i < CTX_N; i++) {
		EVP_CIPHER_CTX_free(s->ctx[i]); /* cleanses the key schedule */
		s->ctx[i] = NULL;
	}
	s->gen = 0;
}

static void tc_destroy(void *p)
{
	struct tcache *t = p;

	pthread_mutex_lock(&all_mu);
	if (t->prev)
		t->prev->next_tc = t->next_tc;
	else
		all_tc = t->next_tc;
	if (t->next_tc)
		t->next_tc->prev = t->prev;
	pthread_mutex_unlock(&all_mu);
	pthread_mutex_destroy(&t->mu);
	for (int i = 0; i < TC_SLOTS; i++)
		slot_clear(&t->slot[i]);
	/* the scratch buffers held this thread's last plaintext (and, for Elephant, words xored with
	 * sector keys): cleansed before they go back to the heap */
	if (t->scratch)
		bd_wipe(t->scratch, SCRATCH);
	if (t->escratch)
		bd_wipe(t->escratch, ESCRATCH);
	free(t->scratch);
	free(t->escratch);
	free(t);
}

static void tc_key_init(void)
{
	(void)pthread_key_create(&tc_key, tc_destroy);
}

/* This thread's cache, made on first use. */
static struct tcache *tc_get(void)
{
	if (!tc) {
		pthread_once(&tc_once, tc_key_init);
		tc = calloc(1, sizeof(*tc));
		if (!tc)
			return NULL;
		pthread_mutex_init(&tc->mu, NULL);
		(void)pthread_setspecific(tc_key, tc); /* frees it at thread exit */
		pthread_mutex_lock(&all_mu);
		tc->next_tc = all_tc;
		if (all_tc)
			all_tc->prev = tc;
		all_tc = tc;
		pthread_mutex_unlock(&all_mu);
	}
	return tc;
}

/* The slot of cipher c in this thread's cache (tc->mu held). */
static struct tc_slot *get_slot(const struct bd_sector_cipher *c)
{
	struct tc_slot *s;

	for (int i = 0; i < TC_SLOTS; i++)
		if (tc->slot[i].gen == c->gen)
			return &tc->slot[i];
	s = &tc->slot[tc->next++ % TC_SLOTS];
	slot_clear(s);
	s->gen = c->gen;
	return s;
}

static EVP_CIPHER_CTX *get_ctx_locked(const struct bd_sector_cipher *c, int k);

/* The keyed context of kind k for this thread, created on first use. */
static EVP_CIPHER_CTX *get_ctx(const struct bd_sector_cipher *c, int k)
{
	EVP_CIPHER_CTX *ctx;

	if (!tc_get())
		return NULL;
	pthread_mutex_lock(&tc->mu);
	ctx = get_ctx_locked(c, k);
	pthread_mutex_unlock(&tc->mu);
	return ctx;
}

static EVP_CIPHER_CTX *get_ctx_locked(const struct bd_sector_cipher *c, int k)
{
	struct tc_slot *s = get_slot(c);
	EVP_CIPHER_CTX *ctx;
	int ok;

	if (!s)
		return NULL;
	if (s->ctx[k])
		return s->ctx[k];
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return NULL;
	switch (k) {
	case CTX_IV:
		ok = EVP_EncryptInit_ex(ctx, c->ecb, NULL, c->dkey, NULL);
		break;
	case CTX_TWEAK:
		ok = EVP_EncryptInit_ex(ctx, c->ecb, NULL, c->tkey, NULL);
		break;
	case CTX_DEC:
		ok = EVP_DecryptInit_ex(ctx, c->data, NULL, c->dkey, NULL);
		break;
	case CTX_ECBDEC:
		ok = EVP_DecryptInit_ex(ctx, c->ecb, NULL, c->dkey, NULL);
		break;
	default:
		ok = EVP_EncryptInit_ex(ctx, c->data, NULL, c->dkey, NULL);
		break;
	}
	if (ok != 1 || EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	s->ctx[k] = ctx;
	return ctx;
}

int bd_sector_cipher_new(uint16_t method, const uint8_t *key, size_t keylen, uint32_t sector_size,
			 struct bd_sector_cipher **out)
{
	struct bd_sector_cipher *c;
	const struct bd_method_def *d = bd_method_lookup(method);
	size_t need, klen;

	*out = NULL;
	if (sector_size < 512 || sector_size > 4096 || (sector_size & (sector_size - 1)))
		return bd_err(BD_ERR_UNSUPPORTED, "sector size %u is not supported (512..4096, power of two)", sector_size);
	if (!d)
		return bd_err(BD_ERR_UNSUPPORTED, "encryption method 0x%04x is not supported "
			      "(known: 0x8000-0x8005, AES-CBC(+Elephant) and XTS-AES)", method);
	klen = d->aes_key_len;
	need = d->fvek_len;
	if (keylen != need)
		return bd_err(BD_ERR_CORRUPT, "FVEK for method 0x%04x has %zu key bytes, expected %zu", method, keylen, need);
	c = bd_locked_alloc(sizeof(*c));   /* keys and key schedules: locked, not in core dumps */
	if (!c)
		return bd_err(BD_ERR_NOMEM, "sector cipher: out of memory");
	c->method = method;
	c->ss = sector_size;
	c->gen = __atomic_fetch_add(&next_gen, 1, __ATOMIC_RELAXED);
	c->ecb = klen == 16 ? EVP_aes_128_ecb() : EVP_aes_256_ecb();
	if (d->xts) {
		c->xts = true;
		c->data = klen == 16 ? EVP_aes_128_xts() : EVP_aes_256_xts();
		memcpy(c->dkey, key, need);
	} else {
		c->data = klen == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
		memcpy(c->dkey, key, klen);
		if (d->elephant) {
			c->elephant = true;
			memcpy(c->tkey, key + 32, klen); /* TWEAK key at byte 32 for both sizes (§10.11) */
		}
	}
	c->cpu_level = bd_aes_cpu_level();
	if (c->cpu_level > BD_AES_REF) {
		bd_aes_expand(&c->k1, c->dkey, klen);
		if (c->xts)
			bd_aes_expand(&c->k2, c->dkey + klen, klen);
		else if (c->elephant)
			bd_aes_expand(&c->k2, c->tkey, klen);
	}
	*out = c;
	return 0;
}

void bd_sector_cipher_free(struct bd_sector_cipher *c)
{
	if (!c)
		return;
	/* Free (and so cleanse) this cipher's keyed contexts in every thread's cache now: the FUSE
	 * daemon and the nbdkit plugin keep worker threads alive after a volume is closed. */
	pthread_mutex_lock(&all_mu);
	for (struct tcache *t = all_tc; t; t = t->next_tc) {
		pthread_mutex_lock(&t->mu);
		for (int i = 0; i < TC_SLOTS; i++)
			if (t->slot[i].gen == c->gen)
				slot_clear(&t->slot[i]);
		pthread_mutex_unlock(&t->mu);
	}
	pthread_mutex_unlock(&all_mu);
	bd_locked_free(c, sizeof(*c));
}

static int ecb_blocks(EVP_CIPHER_CTX *ctx, uint8_t *buf, size_t nblocks)
{
	int n = 0;

	if (EVP_EncryptUpdate(ctx, buf, &n, buf, (int)(nblocks * 16)) != 1 || (size_t)n != nblocks * 16)
		return -1;
	return 0;
}

static int run_iv(EVP_CIPHER_CTX *ctx, const uint8_t iv[16], uint8_t *buf, uint32_t ss)
{
	int n = 0;

	if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, -1) != 1 ||
	    EVP_CipherUpdate(ctx, buf, &n, buf, (int)ss) != 1 || (size_t)n != ss)
		return -1;
	return 0;
}

/*
 * CBC-decrypt nb consecutive sectors with one OpenSSL call: P[j] = D(C[j]) ^ C[j-1]
 * (IV for j = 0), so ECB-decrypt the whole run into scratch, then XOR in place,
 * last block first so the ciphertext a block needs is still there.
 */
static int ref_crypt(struct bd_sector_cipher *c, uint8_t *buf, size_t count, uint64_t off, bool enc);

static int cbc_decrypt_batch(EVP_CIPHER_CTX *ecb, uint8_t *scratch, uint8_t *buf, size_t nb, uint32_t ss,
			     const uint8_t *ivs)
{
	int n = 0;
	size_t len = nb * ss;

	if (EVP_DecryptUpdate(ecb, scratch, &n, buf, (int)len) != 1 || (size_t)n != len)
		return -1;
	for (size_t i = 0; i < nb; i++) {
		uint8_t *p = buf + i * ss;
		const uint8_t *d = scratch + i * ss;
		for (size_t j = ss - 16; j > 0; j -= 16) {
			uint64_t a[2], b[2];
			memcpy(a, d + j, 16);
			memcpy(b, p + j - 16, 16);
			a[0] ^= b[0];
			a[1] ^= b[1];
			memcpy(p + j, a, 16);
		}
		for (int k = 0; k < 16; k++)
			p[k] = d[k] ^ ivs[16 * i + k];
	}
	return 0;
}

static void xor_key(uint8_t *sector, uint32_t ss, const uint8_t ks[32])
{
	uint64_t k[4], w;

	memcpy(k, ks, 32);
	for (uint32_t i = 0; i < ss; i += 8) {
		memcpy(&w, sector + i, 8);
		w ^= k[(i / 8) & 3];
		memcpy(sector + i, &w, 8);
	}
}

/* The AES-NI / VAES path: whole runs of sectors per call, no OpenSSL context. */
static int fast_crypt(struct bd_sector_cipher *c, int level, uint8_t *buf, size_t count, uint64_t off, bool enc)
{
	const uint32_t ss = c->ss;
	uint8_t ivs[BATCH * 16] __attribute__((aligned(16))), keys[BATCH * 32] __attribute__((aligned(16)));

	if (c->xts) {
		if (off % ss)
			return bd_err(BD_ERR_INVALID, "XTS sector offset 0x%llx is not a multiple of the sector size %u",
				      (unsigned long long)off, ss);
		bd_aes_xts(level, &c->k1, &c->k2, buf, buf, count, ss, off / ss, enc);
		return 0;
	}
	/* vectorised diffusers: word i of 8 or 16 sectors per register, transposed through scratch
	 * (no scratch: one sector at a time) */
	int width = c->elephant ? bd_aes_simd_width(level) : 0;
	void *scratch = NULL;
	if (width && count > 1) {
		struct tcache *t = tc_get();
		if (t && !t->escratch && posix_memalign(&t->escratch, 64, ESCRATCH))
			t->escratch = NULL;
		scratch = t ? t->escratch : NULL;
	}
	for (size_t done = 0; done < count;) {
		size_t nb = MIN(count - done, (size_t)BATCH);

		memset(ivs, 0, nb * 16);
		for (size_t i = 0; i < nb; i++)
			put_le64(ivs + 16 * i, off + (done + i) * ss);
		bd_aes_ecb_encrypt_level(level, &c->k1, ivs, nb);
		if (c->elephant) {
			memset(keys, 0, nb * 32);
			for (size_t i = 0; i < nb; i++) {
				put_le64(keys + 32 * i, off + (done + i) * ss);
				put_le64(keys + 32 * i + 16, off + (done + i) * ss);
				keys[32 * i + 31] = 0x80;
			}
			bd_aes_ecb_encrypt_level(level, &c->k2, keys, nb * 2);
		}
		if (enc) {
			if (c->elephant)
				bd_elephant_sectors(width, buf, nb, ss, keys, true, scratch);
			bd_aes_cbc_encrypt(&c->k1, buf, nb, ss, ivs);
		} else {
			bd_aes_cbc_decrypt(level, &c->k1, buf, nb, ss, ivs);
			if (c->elephant)
				bd_elephant_sectors(width, buf, nb, ss, keys, false, scratch);
		}
		buf += nb * ss;
		done += nb;
	}
	if (c->elephant)
		bd_wipe(keys, sizeof(keys));
	return 0;
}

static int sector_crypt(struct bd_sector_cipher *c, uint8_t *buf, size_t count, uint64_t off, bool enc)
{
	int level = c->cpu_level, forced = __atomic_load_n(&forced_level, __ATOMIC_RELAXED);

	if (forced >= 0 && forced < level)
		level = forced;
	int r = level > BD_AES_REF ? fast_crypt(c, level, buf, count, off, enc) : ref_crypt(c, buf, count, off, enc);

	bd_aes_scrub();   /* no round key left in this thread's registers (core dumps show them) */
	return r;
}

/* The reference path: OpenSSL's EVP ciphers (CPUs without AES-NI, and the tests' yardstick). */
static int ref_crypt(struct bd_sector_cipher *c, uint8_t *buf, size_t count, uint64_t off, bool enc)
{
	const uint32_t ss = c->ss;
	const size_t batch = MIN((size_t)BATCH, (size_t)SCRATCH / ss);
	uint8_t ivs[BATCH * 16], keys[BATCH * 32];
	EVP_CIPHER_CTX *data, *ivc = NULL, *tw = NULL;
	int ret = 0;

	if (c->xts) {
		if (off % ss)
			return bd_err(BD_ERR_INVALID, "XTS sector offset 0x%llx is not a multiple of the sector size %u",
				      (unsigned long long)off, ss);
		data = get_ctx(c, enc ? CTX_ENC : CTX_DEC);
		if (!data)
			return bd_err(BD_ERR_NOMEM, "sector cipher: cannot set up an OpenSSL context");
		for (size_t i = 0; i < count; i++, buf += ss) {
			uint8_t tweak[16] = { 0 };
			put_le64(tweak, off / ss + i);
			if (run_iv(data, tweak, buf, ss) < 0)
				return bd_err(BD_ERR_UNSUPPORTED, "XTS: OpenSSL refused sector %zu", i);
		}
		return 0;
	}
	/* batched ECB+XOR beats per-sector CBC calls for small sectors only (measured) */
	const bool batched = !enc && ss < 4096;
	data = get_ctx(c, enc ? CTX_ENC : batched ? CTX_ECBDEC : CTX_DEC);
	ivc = get_ctx(c, CTX_IV);
	if (c->elephant)
		tw = get_ctx(c, CTX_TWEAK);
	if (batched && tc && !tc->scratch)
		tc->scratch = malloc(SCRATCH);
	if (!data || !ivc || (c->elephant && !tw) || (batched && !tc->scratch))
		return bd_err(BD_ERR_NOMEM, "sector cipher: cannot set up an OpenSSL context");
	for (size_t done = 0; done < count;) {
		size_t nb = MIN(count - done, batch);

		memset(ivs, 0, nb * 16);
		for (size_t i = 0; i < nb; i++)
			put_le64(ivs + 16 * i, off + (done + i) * ss);
		if (c->elephant) {
			memset(keys, 0, nb * 32);
			for (size_t i = 0; i < nb; i++) {
				put_le64(keys + 32 * i, off + (done + i) * ss);
				put_le64(keys + 32 * i + 16, off + (done + i) * ss);
				keys[32 * i + 31] = 0x80;
			}
			if (ecb_blocks(tw, keys, nb * 2) < 0)
				goto fail;
		}
		if (ecb_blocks(ivc, ivs, nb) < 0)
			goto fail;
		if (!batched) {
			for (size_t i = 0; i < nb; i++, buf += ss) {
				if (enc && c->elephant) {
					xor_key(buf, ss, keys + 32 * i);
					bd_diffuser_a_encrypt(buf, ss);
					bd_diffuser_b_encrypt(buf, ss);
				}
				if (run_iv(data, ivs + 16 * i, buf, ss) < 0)
					goto fail;
				if (!enc && c->elephant) {
					bd_diffuser_b_decrypt(buf, ss);
					bd_diffuser_a_decrypt(buf, ss);
					xor_key(buf, ss, keys + 32 * i);
				}
			}
		} else {
			if (cbc_decrypt_batch(data, tc->scratch, buf, nb, ss, ivs) < 0)
				goto fail;
			for (size_t i = 0; c->elephant && i < nb; i++) {
				uint8_t *p = buf + i * ss;
				bd_diffuser_b_decrypt(p, ss);
				bd_diffuser_a_decrypt(p, ss);
				xor_key(p, ss, keys + 32 * i);
			}
			buf += nb * ss;
		}
		done += nb;
	}
	goto out;
fail:
	ret = bd_err(BD_ERR_UNSUPPORTED, "AES-CBC: OpenSSL refused the operation");
out:
	if (c->elephant)
		bd_wipe(keys, sizeof(keys));
	return ret;
}

int bd_sector_decrypt(struct bd_sector_cipher *c, uint8_t *buf, size_t count, uint64_t phys_off)
{
	return sector_crypt(c, buf, count, phys_off, false);
}

int bd_sector_encrypt(struct bd_sector_cipher *c, uint8_t *buf, size_t count, uint64_t phys_off)
{
	return sector_crypt(c, buf, count, phys_off, true);
}
