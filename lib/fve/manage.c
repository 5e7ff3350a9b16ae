/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Protectors on an existing volume: add, remove, rotate, suspend (clear key),
 * resume, and reveal the recovery password from its VMK-encrypted backup.
 * Spec: ../shared/docs/format.md §2.6 (what a metadata writer must produce),
 * §4.1 (VMK entries), §4.7 (clear key); escrow-and-protectors.md §4.4.
 *
 * Every change is one metadata rewrite:
 *  1. the copy in use (CRC and VMK-keyed SHA-256 verified at unlock) is walked
 *     datum by datum; every top-level datum that is not touched is copied byte
 *     for byte (unknown types, TPM and public-key protectors, the extended
 *     virtualization datum, ...);
 *  2. new VMK entries are built with nonces that continue from the dataset's
 *     NextNonceCounter (or from the largest counter found in the block, when
 *     that is larger), so no (key, nonce) pair is ever reused;
 *  3. the block is serialised with the same header fields (state, offsets,
 *     relocation) and checked in memory: it parses, its SHA-256 verifies with
 *     the VMK, the FVEK still decrypts, every new protector opens the VMK;
 *  4. a backup of the header sector and all three areas is written first
 *     (when asked), then the copies NOT in use, then the copy in use, each one
 *     written, synced, read back and compared (bd_meta_write_copies).
 * A reader takes the first copy whose CRC holds. Until the first copy is
 * complete every valid copy is old; after that the first valid copy is either
 * an old one (copy 1 still old) or a complete new one; a torn copy fails its
 * CRC and is skipped. So a crash at any point leaves a volume that opens with
 * the old or with the new protectors, never with neither.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "crypto.h"
#include "pubkey.h"
#include "volume.h"
#include "writer.h"

/* ---- what a protector type is good for ---- */

/* A protector a person can use with bdkit offline (a secret to type or a file). */
static bool offline_usable(uint16_t t)
{
	uint16_t k = bd_protector_kind(t);
	return k == BD_PROT_RECOVERY_PASSWORD || k == BD_PROT_PASSWORD || k == BD_PROT_STARTUP_KEY;
}

/* ---- checks before any change ---- */

static int check_changeable(struct bd_volume *v)
{
	const struct bd_metadata *m = bd_vol_meta(v);

	if (v->hdr.kind == BD_HDR_VISTA || m->version < 2)
		return bd_err(BD_ERR_UNSUPPORTED, "changing protectors of Windows Vista volumes (metadata version 1) "
			      "is not supported");
	if (!v->writable || !v->io->writable)
		return bd_err(BD_ERR_READONLY, "%s was opened read-only; nothing was written", v->io->name);
	if (!v->unlocked || !v->vmk)
		return bd_err(BD_ERR_LOCKED, "changing protectors needs the volume master key: unlock with a "
			      "password, recovery password, key file, clear key or --vmk (an FVEK is not enough)");
	if (!v->hash_verified)
		return bd_err(BD_ERR_CORRUPT, "the metadata copy in use does not pass its VMK-keyed SHA-256 check; "
			      "run 'bdkit metadata repair' first; nothing was written");
	if (m->status != BD_COPY_OK || !m->buf)
		return bd_err(BD_ERR_CORRUPT, "no valid metadata copy in use; nothing was written");
	return 0;
}

/* Largest AES-CCM nonce counter among the datums in [p, p+len), recursively. */
static uint32_t max_counter(const uint8_t *p, size_t len, int depth)
{
	struct bd_datum_iter it;
	struct bd_datum d;
	uint32_t mx = 0;

	if (depth > 8)
		return 0;
	bd_datum_iter_init(&it, p, len);
	while (bd_datum_next(&it, &d) > 0) {
		if (d.type == BD_DT_AES_CCM && d.size >= 0x24) {
			mx = MAX(mx, le32(d.raw + 16));
		} else if (bd_datum_is_nested(d.type)) {
			struct bd_datum_iter c;
			bd_datum_iter_children(&c, &d);
			mx = MAX(mx, max_counter(c.p, c.len, depth + 1));
		}
	}
	return mx;
}

static void nonce_start(const struct bd_metadata *m, struct bd_nonce_src *ns)
{
	uint32_t next = m->ds.next_nonce;
	uint32_t seen = max_counter(m->ds.entries, m->ds.entries_len, 0);

	if (m->integrity && m->integrity_len >= 0x24 && le16(m->integrity + 4) == BD_DT_AES_CCM)
		seen = MAX(seen, le32(m->integrity + 16));
	if (seen >= next)
		next = seen + 1;
	bd_nonce_init(ns, next);
}

/* ---- the change itself ---- */

struct change {
	bool *drop;              /* per v->prot index */
	const uint8_t *add;      /* new top-level VMK datums */
	size_t add_len;
	int at;                  /* v->prot index whose place the new datums take; -1: after the last VMK */
	int force;               /* allow leaving only protectors bdkit cannot use */
	const char *backup_path;
	int *written;            /* out: 0 nothing, 1 partly (unknown), 2 complete */
	const struct bd_protector_new *created;  /* the new protector's secrets, for before_write */
	int (*before_write)(const struct bd_protector_new *n, void *userdata);
	void *userdata;
};

/* Refuse a change that leaves no way in (clear keys do not count: they are not protection). */
static int check_way_in(struct bd_volume *v, const struct change *c, const uint16_t *add_types, size_t n_add)
{
	size_t usable = 0, other = 0;

	for (size_t i = 0; i < v->n_prot; i++) {
		uint16_t t = v->prot[i].info.type;
		if (c->drop[i] || bd_protector_kind(t) == BD_PROT_CLEAR_KEY)
			continue;
		if (offline_usable(t))
			usable++;
		else
			other++;
	}
	for (size_t i = 0; i < n_add; i++)
		if (offline_usable(add_types[i]))
			usable++;
	if (usable)
		return 0;
	if (other && c->force) {
		bd_warn("after this change only TPM or certificate (smart-card) protectors remain; keep the "
			"hardware or private keys they need");
		return 0;
	}
	if (other)
		return bd_err(BD_ERR_STATE, "refused: afterwards only TPM or certificate (smart-card) protectors would "
			      "remain, which need hardware or a private key; add a recovery password first (or force); "
			      "nothing was written");
	return bd_err(BD_ERR_STATE, "refused: the volume would be left without any protector a person can "
		      "use (password, recovery password or startup key); add one first; nothing was written");
}

static int save_backup(struct bd_volume *v, const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0, done = 0;
	int fd, r;

	r = bd_metadata_backup(v, &buf, &len);
	if (r)
		return r;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = bd_err(errno == EEXIST ? BD_ERR_EXISTS : BD_ERR_IO, "cannot create the metadata backup %s: %s; "
			   "nothing was written to the volume", path, strerror(errno));
		free(buf);
		return r;
	}
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	if (done < len || fsync(fd)) {
		r = bd_err(BD_ERR_IO, "cannot write the metadata backup %s: %s; nothing was written to the volume",
			   path, strerror(errno));
		close(fd);
		unlink(path);
		free(buf);
		return r;
	}
	close(fd);
	free(buf);
	/* make the new directory entry durable too (best effort) */
	char *dup = strdup(path);
	if (dup) {
		int dfd = open(dirname(dup), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		free(dup);
	}
	bd_info("metadata backup written to %s (%zu bytes)", path, len);
	return 0;
}

/* Re-read the three copies after a write and make the volume use the new metadata. */
static int reload(struct bd_volume *v, const uint64_t offs[3])
{
	int used = -1, r;

	for (int i = 0; i < 3; i++) {
		bd_metadata_free(&v->meta[i]);
		if (bd_metadata_read(v->io, v->off, offs[i], &v->meta[i]))
			continue;
		if (bd_metadata_verify_hash(&v->meta[i], v->vmk->data)) {
			v->meta[i].status = BD_COPY_BAD_HASH;
			continue;
		}
		if (used < 0)
			used = i;
	}
	if (used < 0)
		return bd_err(BD_ERR_CORRUPT, "after the rewrite no metadata copy verifies; restore the backup");
	v->used = used;
	v->hash_verified = 1;
	r = bd_protectors_load(v);
	return r;
}

/* Does the VMK entry datum at p open with key32? (the direct AES-CCM child, §4.1) */
static int entry_opens(const uint8_t *p, size_t len, const uint8_t key32[32], const uint8_t vmk[32])
{
	struct bd_datum d, ccm;
	struct bd_datum_iter it;
	uint8_t pt[256];
	uint16_t kt;
	const uint8_t *k;
	size_t kl;
	int r;

	bd_datum_iter_init(&it, p, len);
	if (bd_datum_next(&it, &d) <= 0 || !bd_datum_find_child(&d, -1, BD_DT_AES_CCM, &ccm))
		return bd_err(BD_ERR_CORRUPT, "internal: new protector has no encrypted VMK");
	r = bd_datum_ccm_unbox(&ccm, key32, pt, sizeof(pt), &kt, &k, &kl);
	if (!r && (kl < 32 || memcmp(k, vmk, 32)))
		r = bd_err(BD_ERR_CORRUPT, "internal: new protector does not hold the VMK");
	bd_wipe(pt, sizeof(pt));
	return r;
}

static int apply(struct bd_volume *v, struct change *c, struct bd_nonce_src *ns)
{
	const struct bd_metadata *m = bd_vol_meta(v);
	struct bd_meta_header h;
	struct bd_metadata chk;
	struct bd_datum_iter it;
	struct bd_datum d;
	struct bd_buf e;
	uint8_t *area = NULL;
	uint64_t offs[3];
	int order[3], n = 0, r;
	size_t last_vmk_end = 0, pi = 0;
	bool placed = false;

	*c->written = 0;
	memset(&chk, 0, sizeof(chk));
	bd_buf_init(&e);
	/* 1. entries: untouched datums byte for byte, new VMK entries in place */
	bd_datum_iter_init(&it, m->ds.entries, m->ds.entries_len);
	while ((r = bd_datum_next(&it, &d)) > 0) {
		if (d.role == BD_ROLE_VMK && d.type == BD_DT_VMK) {
			/* v->prot lists the parsable VMK entries in order */
			if (pi < v->n_prot && v->prot[pi].datum.raw == d.raw) {
				size_t i = pi++;
				if (c->at == (int)i) {
					bd_buf_put(&e, c->add, c->add_len);
					placed = true;
				}
				if (c->drop[i])
					continue;
			}
			bd_buf_put(&e, d.raw, d.size);
			last_vmk_end = e.len;
			continue;
		}
		if (!placed && c->at < 0 && d.role == BD_ROLE_FVEK && !last_vmk_end) {
			/* no VMK entry yet: new ones go before the FVEK, as Windows orders them */
			bd_buf_put(&e, c->add, c->add_len);
			placed = true;
			last_vmk_end = e.len;
		}
		bd_buf_put(&e, d.raw, d.size);
	}
	if (r < 0)
		goto out;
	if (!placed && c->add_len) {
		if (c->at < 0 && last_vmk_end) {
			/* insert after the last VMK entry */
			struct bd_buf t;
			bd_buf_init(&t);
			bd_buf_put(&t, e.data, last_vmk_end);
			bd_buf_put(&t, c->add, c->add_len);
			bd_buf_put(&t, e.data + last_vmk_end, e.len - last_vmk_end);
			bd_buf_free(&e);
			e = t;
		} else {
			bd_buf_put(&e, c->add, c->add_len);
		}
	}
	if (e.err) {
		r = bd_err(e.err, "out of memory building the metadata");
		goto out;
	}

	/* 2. serialise with the same header fields */
	memset(&h, 0, sizeof(h));
	h.state = m->cur_state;
	h.next_state = m->next_state;
	h.state_offset = m->state_offset;
	h.state_size = m->state_size;
	h.virt_sectors = m->virt_sectors;
	memcpy(h.offsets, m->copy_off, sizeof(h.offsets));
	h.virt_offset = m->virt_offset;
	memcpy(h.volume_guid, m->ds.guid, 16);
	h.method = m->ds.method;
	h.method2 = le16(m->buf + FVE_BH_SIZE + FVE_DS_METHOD2);
	h.ctime = m->ds.ctime;
	memcpy(offs, m->copy_off, sizeof(offs));
	for (int i = 0; i < 3; i++)
		if (!offs[i] || offs[i] != (v->meta[i].offset ? v->meta[i].offset : v->hdr.meta_off[i])) {
			r = bd_err(BD_ERR_CORRUPT, "the metadata names copy %d at %llu but the volume header at %llu; "
				   "run 'bdkit metadata check'; nothing was written", i + 1,
				   (unsigned long long)offs[i], (unsigned long long)v->hdr.meta_off[i]);
			goto out;
		}
	area = malloc(BD_META_AREA_SIZE);
	if (!area) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto out;
	}
	r = bd_meta_serialise(&h, e.data, e.len, v->vmk->data, ns, area, BD_META_AREA_SIZE);
	if (r)
		goto out;

	/* 3. check the new block in memory before anything is written */
	r = bd_metadata_parse(area, BD_META_AREA_SIZE, offs[v->used], &chk);
	if (!r)
		r = bd_metadata_verify_hash(&chk, v->vmk->data);
	if (!r) {
		struct bd_datum fd;
		uint8_t pt[256];
		uint16_t kt;
		const uint8_t *k;
		size_t kl;
		if (bd_datum_find(chk.ds.entries, chk.ds.entries_len, BD_ROLE_FVEK, BD_DT_AES_CCM, &fd)) {
			r = bd_datum_ccm_unbox(&fd, v->vmk->data, pt, sizeof(pt), &kt, &k, &kl);
			bd_wipe(pt, sizeof(pt));
		} else if (m->ds.method) {
			r = BD_ERR_CORRUPT;
		}
	}
	if (r) {
		char why[256];
		snprintf(why, sizeof(why), "%s", bd_last_error());
		r = bd_err(BD_ERR_CORRUPT, "internal error: the rebuilt metadata does not check out (%s); nothing "
			   "was written", why);
		goto out;
	}

	/* say what the rewrite repairs on the way: damaged copies get the copy in use's content */
	for (int i = 0; i < 3; i++)
		if (v->meta[i].status != BD_COPY_OK)
			bd_warn("metadata copy %d at %llu is damaged (%s): this change rewrites it from copy %d",
				i + 1, (unsigned long long)offs[i], bd_copy_status_name(v->meta[i].status), v->used + 1);
	if (!((m->cur_state == 4 && m->next_state == 4) || (m->cur_state == 1 && m->next_state == 1)))
		bd_warn("the volume's conversion is not finished (state %u/%u, %llu bytes converted): its state and "
			"watermark are written back unchanged", m->cur_state, m->next_state,
			(unsigned long long)m->state_offset);

	/* 4. backup, then the copies not in use, then the copy in use */
	if (c->backup_path) {
		r = save_backup(v, c->backup_path);
		if (r)
			goto out;
	}
	/* the new secret is shown and saved by the caller before anything of the volume changes */
	if (c->before_write && c->created && (r = c->before_write(c->created, c->userdata)) != 0) {
		if (r > 0)
			r = BD_ERR_INTERRUPTED;
		goto out;
	}
	for (int i = 0; i < 3; i++)
		if (i != v->used)
			order[n++] = i;
	order[n] = v->used;
	*c->written = 1;
	r = bd_meta_write_copies(v->io, v->off, offs, area, BD_META_AREA_SIZE, order);
	if (r)
		goto out;
	*c->written = 2;
	r = reload(v, offs);
out:
	bd_metadata_free(&chk);
	bd_buf_free(&e);
	if (area) {
		bd_wipe(area, BD_META_AREA_SIZE);
		free(area);
	}
	return r;
}

/* ---- public entry points ---- */

void bd_protector_new_wipe(struct bd_protector_new *p)
{
	bd_wipe(p->recovery_password, sizeof(p->recovery_password));
	bd_wipe(p->bek, sizeof(p->bek));
	p->bek_len = 0;
}

/* Build one new protector of type into b; fills out (secret parts) and checks it opens the VMK. */
static int build_new(struct bd_volume *v, uint16_t type, const char *password, struct bd_nonce_src *ns,
		     struct bd_buf *b, struct bd_protector_new *out)
{
	struct bd_secret *ks = bd_secret_new(16 + 16 + 32 + 32 + 32);
	uint8_t *salt, *key16, *init, *str, *ext;
	const uint8_t *vmk = v->vmk->data;
	uint64_t now = bd_filetime_now();
	size_t start = b->len;
	int r;

	if (!ks)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	salt = ks->data;
	key16 = salt + 16;
	init = key16 + 16;
	str = init + 32;
	ext = str + 32;
	r = bd_guid_generate(out->guid);
	if (r)
		goto out;
	switch (type) {
	case BD_PROT_RECOVERY_PASSWORD:
		if ((r = bd_random(salt, 16)) || (r = bd_random(key16, 16)))
			goto out;
		bd_recovery_key_hash(key16, init);
		bd_stretch(init, salt, str);
		bd_recovery_password_format(key16, out->recovery_password);
		bd_build_vmk_recovery(b, out->guid, now, vmk, salt, key16, str, ns);
		break;
	case BD_PROT_PASSWORD:
		if (!password || !*password) {
			r = bd_err(BD_ERR_INVALID, "the new password is empty");
			goto out;
		}
		if ((r = bd_random(salt, 16)))
			goto out;
		if (bd_password_hash(password, init)) {
			r = bd_err(BD_ERR_INVALID, "the new password is not valid UTF-8");
			goto out;
		}
		bd_stretch(init, salt, str);
		bd_build_vmk_password(b, out->guid, now, vmk, salt, str, ns);
		break;
	case BD_PROT_STARTUP_KEY: {
		struct bd_buf bek;
		if ((r = bd_random(ext, 32)))
			goto out;
		memcpy(str, ext, 32);
		bd_build_vmk_startup_key(b, out->guid, now, vmk, ext, ns);
		bd_buf_init(&bek);
		bd_build_bek_file(&bek, out->guid, now, ext, NULL);
		if (!bek.err && bek.len <= sizeof(out->bek)) {
			memcpy(out->bek, bek.data, bek.len);
			out->bek_len = bek.len;
		} else {
			r = bd_err(BD_ERR_NOMEM, "building the .BEK file failed");
		}
		bd_buf_free(&bek);
		if (r)
			goto out;
		break;
	}
	case BD_PROT_CLEAR_KEY:
		if ((r = bd_random(ext, 32)))
			goto out;
		memcpy(str, ext, 32);
		bd_build_vmk_clear_key(b, out->guid, now, vmk, ext, ns);
		break;
	default:
		r = bd_err(BD_ERR_UNSUPPORTED, "bdkit can add recovery-password, password and startup-key "
			   "protectors, not type 0x%04x", type);
		goto out;
	}
	if (b->err) {
		r = bd_err(b->err, "building the protector failed (out of memory or too large)");
		goto out;
	}
	/* the entry must open the VMK with the key the user will hold */
	r = entry_opens(b->data + start, b->len - start, str, vmk);
out:
	if (r)
		bd_protector_new_wipe(out);
	bd_secret_free(ks);
	return r;
}

/* Where the caller wants to learn whether something was written (o->written), else dummy. */
static int *written_of(const struct bd_change_opts *o, int *dummy)
{
	return o && BD_HAS(o, struct bd_change_opts, written) && o->written ? o->written : dummy;
}

static int change_begin(struct bd_volume *v, struct change *c, const struct bd_change_opts *o, int *written)
{
	int r = check_changeable(v);

	memset(c, 0, sizeof(*c));
	*written = 0;
	if (r)
		return r;
	if ((r = BD_SIZE_CHECK(o, struct bd_change_opts, userdata, "BD_CHANGE_OPTS_INIT")))
		return r;
	c->drop = calloc(v->n_prot ? v->n_prot : 1, sizeof(bool));
	if (!c->drop)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	c->at = -1;
	c->force = o ? o->force : 0;
	c->backup_path = o ? o->backup_path : NULL;
	c->written = written;
	c->before_write = o ? o->before_write : NULL;
	c->userdata = o ? o->userdata : NULL;
	return 0;
}

/* Build a new protector of type into the change c and write it; the secret parts in out are wiped
 * when nothing was written. Frees c->drop. */
static int add_and_apply(struct bd_volume *v, struct change *c, uint16_t type, const char *password,
			 struct bd_protector_new *out)
{
	struct bd_nonce_src ns;
	struct bd_buf b;
	int r;

	bd_buf_init(&b);
	nonce_start(bd_vol_meta(v), &ns);
	r = build_new(v, type, password, &ns, &b, out);
	if (!r) {
		c->add = b.data;
		c->add_len = b.len;
		c->created = out;
		r = apply(v, c, &ns);
	}
	if (r && !*c->written)
		bd_protector_new_wipe(out);
	bd_buf_free(&b);
	free(c->drop);
	return r;
}

int bd_protector_add(bd_volume *v, uint16_t type, const char *password, const struct bd_change_opts *o,
		     struct bd_protector_new *out)
{
	struct change c;
	int dummy, r;

	memset(out, 0, sizeof(*out));
	r = change_begin(v, &c, o, written_of(o, &dummy));
	if (r)
		return r;
	if (type == BD_PROT_CLEAR_KEY) {
		free(c.drop);
		return bd_err(BD_ERR_INVALID, "a clear key is added by suspending protection (bd_volume_suspend)");
	}
	return add_and_apply(v, &c, type, password, out);
}

/*
 * A certificate (public-key) protector, in the shape of the real Windows sample
 * (doc/public-key-protector.md §4): K is 32 random bytes, RSA-encrypted for the certificate's key
 * with OAEP SHA-1 (the padding Windows uses is not known: see man bdkit-protector), encrypted with
 * the VMK inside USE_KEY 0x2006, and the VMK is encrypted with K.
 */
static int build_certificate(struct bd_volume *v, const struct bd_cert *cert, int dra, struct bd_nonce_src *ns,
			     struct bd_buf *b, struct bd_protector_new *out)
{
	struct bd_secret *ks = bd_secret_new(32);
	struct bd_rsa_pub *pub = calloc(1, sizeof(*pub));
	uint8_t *blob = malloc(24 + 8 + BD_RSA_MAX_BYTES), *ct = malloc(BD_RSA_MAX_BYTES);
	uint8_t thumb[20];
	size_t start = b->len, ctlen = BD_RSA_MAX_BYTES;
	long bl;
	int r;

	if (!ks || !pub || !blob || !ct) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = bd_cert_public(cert, pub)))
		goto out;
	bl = bd_rsa_pub_to_cng(pub, blob, 24 + 8 + BD_RSA_MAX_BYTES);
	if (bl < 0) {
		r = (int)bl;
		goto out;
	}
	bd_cert_thumbprint(cert, thumb);
	if ((r = bd_guid_generate(out->guid)) || (r = bd_random(ks->data, 32)))
		goto out;
	r = bd_rsa_encrypt(pub, BD_PAD_OAEP_SHA1, ks->data, 32, ct, &ctlen);
	if (r)
		goto out;
	bd_build_vmk_certificate(b, out->guid, bd_filetime_now(), v->vmk->data, ct, ctlen, blob, (size_t)bl,
				 dra ? 1 : 2, thumb, ks->data, ns);
	if (b->err) {
		r = bd_err(b->err, "building the protector failed (out of memory or too large)");
		goto out;
	}
	r = entry_opens(b->data + start, b->len - start, ks->data, v->vmk->data);
out:
	bd_secret_free(ks);
	free(pub);
	free(blob);
	free(ct);
	return r;
}

int bd_protector_add_certificate(bd_volume *v, const char *cert_path, int dra, const struct bd_change_opts *o,
				 struct bd_protector_new *out)
{
	struct bd_cert *cert = NULL;
	struct bd_nonce_src ns;
	struct change c;
	struct bd_buf b;
	int dummy, r;

	memset(out, 0, sizeof(*out));
	r = bd_cert_load(cert_path, &cert);
	if (!r)
		r = bd_cert_check_usage(cert, dra);
	if (r) {
		bd_cert_free(cert);
		return r;
	}
	r = change_begin(v, &c, o, written_of(o, &dummy));
	if (r) {
		bd_cert_free(cert);
		return r;
	}
	bd_buf_init(&b);
	nonce_start(bd_vol_meta(v), &ns);
	r = build_certificate(v, cert, dra, &ns, &b, out);
	if (!r) {
		c.add = b.data;
		c.add_len = b.len;
		c.created = out;
		r = apply(v, &c, &ns);
	}
	bd_buf_free(&b);
	free(c.drop);
	bd_cert_free(cert);
	return r;
}

int bd_protector_find(bd_volume *v, const uint8_t guid[16], size_t *index)
{
	char g[37];

	for (size_t i = 0; i < v->n_prot; i++)
		if (!memcmp(v->prot[i].info.guid, guid, 16)) {
			*index = i;
			return 0;
		}
	bd_guid_format(guid, g);
	return bd_err(BD_ERR_NOT_FOUND, "the volume has no protector with ID {%s}", g);
}

int bd_protector_remove(bd_volume *v, const uint8_t guid[16], const struct bd_change_opts *o)
{
	struct change c;
	struct bd_nonce_src ns;
	size_t i;
	int dummy, r;

	r = bd_protector_find(v, guid, &i);
	if (r)
		return r;
	r = change_begin(v, &c, o, written_of(o, &dummy));
	if (r)
		return r;
	c.drop[i] = true;
	r = check_way_in(v, &c, NULL, 0);
	if (!r) {
		nonce_start(bd_vol_meta(v), &ns);
		r = apply(v, &c, &ns);
	}
	free(c.drop);
	return r;
}

int bd_protector_rotate(bd_volume *v, const uint8_t guid[16], const struct bd_change_opts *o,
			struct bd_protector_new *out)
{
	struct change c;
	uint16_t t = BD_PROT_RECOVERY_PASSWORD;
	size_t i;
	int dummy, r;

	memset(out, 0, sizeof(*out));
	r = bd_protector_find(v, guid, &i);
	if (r)
		return r;
	if (bd_protector_kind(v->prot[i].info.type) != BD_PROT_RECOVERY_PASSWORD)
		return bd_err(BD_ERR_INVALID, "protector {%.8s...} is a %s protector; rotate replaces recovery "
			      "passwords", v->prot[i].info.key_id, v->prot[i].info.type_name);
	r = change_begin(v, &c, o, written_of(o, &dummy));
	if (r)
		return r;
	c.drop[i] = true;
	c.at = (int)i;
	r = check_way_in(v, &c, &t, 1);
	if (r) {
		free(c.drop);
		return r;
	}
	return add_and_apply(v, &c, BD_PROT_RECOVERY_PASSWORD, NULL, out);
}

/*
 * The clear-key VMK entry's datum version. Observed: 3 on a data volume suspended by Windows 11
 * (cryptsetup's bitlk-aes-xts-128-clearkey-only image: suspended until resumed); 0x0105 on Windows
 * 10 21H2 OS volumes suspended with the default "resume after 1 restart" (libbde issue #60). bdkit
 * reads the high byte as the remaining restart count and the low byte as flags (0x03 indefinite,
 * 0x05 counted) - an inference from these two samples, not a documented layout.
 */
static uint16_t clear_key_version(unsigned reboot_count)
{
	return reboot_count ? (uint16_t)(reboot_count << 8 | 0x05) : 3;
}

int bd_volume_suspend(bd_volume *v, unsigned reboot_count, const struct bd_change_opts *o)
{
	struct change c;
	struct bd_nonce_src ns;
	struct bd_protector_new nk;
	struct bd_buf b;
	int dummy, r;

	if (reboot_count > 15)
		return bd_err(BD_ERR_INVALID, "reboot count %u is out of range (0-15, 0 = until resumed)", reboot_count);
	r = change_begin(v, &c, o, written_of(o, &dummy));
	if (r)
		return r;
	/* an existing clear key is replaced (new reboot count); everything else stays */
	for (size_t i = 0; i < v->n_prot; i++)
		if (bd_protector_kind(v->prot[i].info.type) == BD_PROT_CLEAR_KEY) {
			c.drop[i] = true;
			if (c.at < 0)
				c.at = (int)i;
		}
	bd_buf_init(&b);
	memset(&nk, 0, sizeof(nk));
	nonce_start(bd_vol_meta(v), &ns);
	r = build_new(v, BD_PROT_CLEAR_KEY, NULL, &ns, &b, &nk);
	if (!r) {
		put_le16(b.data + 6, clear_key_version(reboot_count));
		c.add = b.data;
		c.add_len = b.len;
		r = apply(v, &c, &ns);
	}
	bd_protector_new_wipe(&nk);
	bd_buf_free(&b);
	free(c.drop);
	return r;
}

int bd_volume_resume(bd_volume *v, const struct bd_change_opts *o)
{
	struct change c;
	struct bd_nonce_src ns;
	int dummy, r, n = 0;

	r = change_begin(v, &c, o, written_of(o, &dummy));
	if (r)
		return r;
	for (size_t i = 0; i < v->n_prot; i++)
		if (bd_protector_kind(v->prot[i].info.type) == BD_PROT_CLEAR_KEY) {
			c.drop[i] = true;
			n++;
		}
	if (!n) {
		free(c.drop);
		return bd_err(BD_ERR_NO_PROTECTOR, "protection is not suspended (the volume has no clear key); "
			      "nothing was written");
	}
	r = check_way_in(v, &c, NULL, 0);
	if (!r) {
		nonce_start(bd_vol_meta(v), &ns);
		r = apply(v, &c, &ns);
	}
	free(c.drop);
	return r;
}

int bd_volume_suspended(bd_volume *v, unsigned *reboot_count)
{
	*reboot_count = 0;
	for (size_t i = 0; i < v->n_prot; i++)
		if (bd_protector_kind(v->prot[i].info.type) == BD_PROT_CLEAR_KEY) {
			uint16_t ver = v->prot[i].datum.version;
			*reboot_count = ver > 0xFF ? ver >> 8 : 0;
			return 1;
		}
	return 0;
}

int bd_volume_recovery_password(bd_volume *v, size_t index, char out[56])
{
	struct bd_prot *p;
	struct bd_datum st, d;
	struct bd_datum_iter it;
	uint8_t pt[256];
	uint16_t kt;
	const uint8_t *key;
	size_t kl;
	int r, found = 0;

	memset(out, 0, 56);
	if (index >= v->n_prot)
		return bd_err(BD_ERR_INVALID, "protector %zu does not exist (the volume has %zu)", index, v->n_prot);
	p = &v->prot[index];
	if (bd_protector_kind(p->info.type) != BD_PROT_RECOVERY_PASSWORD)
		return bd_err(BD_ERR_INVALID, "protector {%.8s...} is a %s protector, not a recovery password",
			      p->info.key_id, p->info.type_name);
	if (!v->unlocked || !v->vmk)
		return bd_err(BD_ERR_LOCKED, "revealing a recovery password needs the volume master key: unlock "
			      "with a protector's secret or --vmk first");
	if (!bd_datum_find_child(&p->datum, -1, BD_DT_STRETCH_KEY, &st))
		return bd_err(BD_ERR_CORRUPT, "recovery protector {%.8s...} has no stretch-key datum",
			      p->info.key_id);
	/* role 0x12: the 16-byte recovery key encrypted with the VMK (format.md §4.1); Vista: role 0 */
	for (int pass = 0; pass < 2 && !found; pass++) {
		bd_datum_iter_children(&it, &st);
		while (bd_datum_next(&it, &d) > 0) {
			if (d.type != BD_DT_AES_CCM || (pass == 0) != (d.role == BD_R_RECOVERY_KEY_BACKUP))
				continue;
			r = bd_datum_ccm_unbox(&d, v->vmk->data, pt, sizeof(pt), &kt, &key, &kl);
			if (!r && kt == BD_KEY_RECOVERY && kl == 16) {
				bd_recovery_password_format(key, out);
				found = 1;
				break;
			}
		}
	}
	bd_wipe(pt, sizeof(pt));
	if (!found)
		return bd_err(BD_ERR_CORRUPT, "recovery protector {%.8s...} holds no VMK-encrypted copy of its "
			      "recovery key", p->info.key_id);
	return 0;
}
