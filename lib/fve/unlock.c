/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one door: bd_unlock owns which secret is tried against which protector, in what order,
 * and when to stop. The per-kind "secret to VMK" steps it uses are in protector.c (volume.h). */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "aesni.h"
#include "crypto.h"
#include "keypackage.h"
#include "volume.h"

/* Is field f inside the caller's struct (an older caller's struct is shorter)? */
#define HAS(s, f) ((s)->size >= offsetof(struct bd_secrets, f) + sizeof((s)->f))

/* Does s look like a 48-digit recovery password (dashes and spaces allowed)? */
static int looks_like_recovery_password(const char *s)
{
	int digits = 0;

	for (; *s; s++) {
		if (isdigit((unsigned char)*s))
			digits++;
		else if (*s != '-' && *s != ' ')
			return 0;
	}
	return digits == 48;
}

static int nothing_given(const struct bd_secrets *s)
{
	return !s->n_recovery_passwords && !s->n_passwords && !s->n_typed && !s->n_key_files && !s->n_fveks &&
	       !s->n_vmks && !s->n_key_packages && !s->clear_key && !(HAS(s, n_private_keys) && s->n_private_keys);
}

/* Fully decrypted, metadata left behind: the data is plain, nothing to unlock. */
static int fully_decrypted(bd_volume *v)
{
	struct bd_info in;

	return !bd_volume_info(v, &in) && !in.method && in.state == 1 && in.next_state == 1;
}

/* The VMK of one protector p (of a key package) from the secrets of its kind: 0 with vmk set,
 * BD_ERR_WRONG_KEY / BD_ERR_NO_PROTECTOR (no secret of that kind), or another error. */
static int vmk_from_secrets(const struct bd_prot *p, const struct bd_secrets *s, uint8_t vmk[32])
{
	uint16_t kind = bd_protector_kind(p->info.type);
	uint8_t initial[32], key16[16];
	int r = BD_ERR_NO_PROTECTOR;

	if (kind == BD_PROT_CLEAR_KEY)
		return bd_vmk_clear(p, vmk);
	if (kind == BD_PROT_RECOVERY_PASSWORD || kind == BD_PROT_PASSWORD) {
		size_t n = kind == BD_PROT_PASSWORD ? s->n_passwords : s->n_recovery_passwords;
		for (size_t i = 0; i < n + s->n_typed; i++) {
			const char *t = i < n ? (kind == BD_PROT_PASSWORD ? s->passwords : s->recovery_passwords)[i] :
				       s->typed[i - n];
			if (i >= n && looks_like_recovery_password(t) != (kind == BD_PROT_RECOVERY_PASSWORD))
				continue;
			if (kind == BD_PROT_RECOVERY_PASSWORD) {
				if (bd_recovery_password_parse(t, key16))
					continue;
				bd_recovery_key_hash(key16, initial);
				bd_wipe(key16, sizeof(key16));
			} else if (bd_password_hash(t, initial)) {
				continue;
			}
			r = bd_vmk_stretched(p, initial, vmk);
			bd_wipe(initial, sizeof(initial));
			if (r != BD_ERR_WRONG_KEY)
				return r;
		}
		return r;
	}
	if (kind == BD_PROT_STARTUP_KEY) {
		for (size_t i = 0; i < s->n_key_files; i++) {
			struct bd_bek bek;
			if (bd_bek_parse(s->key_files[i].data, s->key_files[i].len, &bek))
				continue;
			r = bd_vmk_external(p, bek.key, vmk);
			bd_wipe(&bek, sizeof(bek));
			if (r != BD_ERR_WRONG_KEY)
				return r;
		}
	}
	if (kind == BD_PROT_PUBLIC_KEY && HAS(s, n_private_keys)) {
		for (size_t i = 0; i < s->n_private_keys; i++) {
			struct bd_pk_result res;
			r = bd_vmk_pubkey(p, s->private_keys[i], vmk, &res);
			if (r != BD_ERR_WRONG_KEY)
				return r;
		}
	}
	return r;
}

/* A key package of this volume: its protectors (as they were when it was made) opened with the
 * secrets given; the VMK found opens the volume, checked by the volume's own FVEK datum. */
static int unlock_key_package(bd_volume *v, const struct bd_blob *b, const struct bd_secrets *s)
{
	struct bd_kp kp;
	struct bd_metadata m;
	struct bd_datum_iter it;
	struct bd_datum d;
	uint8_t *area, vmk[32];
	size_t alen;
	int r, found = 0;

	r = bd_kp_parse(b->data, b->len, &kp);
	if (r)
		return r;
	if (!kp.block)
		return bd_err(BD_ERR_NO_PROTECTOR, "the key package holds no protectors (no metadata block)");
	if (memcmp(kp.info.guid, bd_vol_meta(v)->ds.guid, 16))
		return bd_err(BD_ERR_WRONG_KEY, "the key package is for another volume");
	r = bd_kp_block_area(&kp, &area, &alen);
	if (r)
		return r;
	r = bd_metadata_parse(area, alen, 0, &m);
	free(area);
	if (r) {
		bd_metadata_free(&m);
		return r;
	}
	r = BD_ERR_NO_PROTECTOR;
	bd_datum_iter_init(&it, m.ds.entries, m.ds.entries_len);
	while (bd_datum_next(&it, &d) == 1) {
		struct bd_prot p;
		const uint8_t *g;
		if (d.role != BD_ROLE_VMK || d.type != BD_DT_VMK)
			continue;
		memset(&p, 0, sizeof(p));
		p.datum = d;
		if (bd_datum_vmk(&d, &g, &p.info.mtime, &p.info.type))
			continue;
		memcpy(p.info.guid, g, 16);
		snprintf(p.info.key_id, sizeof(p.info.key_id), "%08X", le32(g));
		int k = vmk_from_secrets(&p, s, vmk);
		if (k == BD_ERR_NO_PROTECTOR)
			continue;
		found++;
		if (!k)
			k = bd_prot_open(v, &p, vmk);
		bd_wipe(vmk, sizeof(vmk));
		r = k;
		if (!r || r != BD_ERR_WRONG_KEY)
			break;
	}
	bd_metadata_free(&m);
	if (!r)
		bd_info("unlocked with protector %08X of the key package", le32(v->unlock_guid));
	else if (r == BD_ERR_NO_PROTECTOR)
		r = bd_err(BD_ERR_NO_PROTECTOR, "none of the secrets given fits a protector of the key package");
	else if (r == BD_ERR_WRONG_KEY && found)
		r = bd_err(BD_ERR_WRONG_KEY, "the secrets given open none of the key package's %d matching "
			   "protector(s)", found);
	return r;
}

/*
 * Key material of an unlock passes through this thread's stack and vector registers (OpenSSL's
 * AES-CCM, the key expansion), where a core dump would find it later: overwrite the stack the
 * returned calls used below this frame, and the registers.
 */
__attribute__((noinline)) static void scrub_stack(void)
{
	uint8_t pad[64 * 1024];

	explicit_bzero(pad, sizeof(pad));
	__asm__ volatile("" : : "r"(pad) : "memory");
}

static int door(bd_volume *v, const struct bd_secrets *s);

int bd_unlock(bd_volume *v, const struct bd_secrets *s)
{
	int r = door(v, s);

	scrub_stack();
	bd_aes_scrub();
	return r;
}

static int door(bd_volume *v, const struct bd_secrets *s)
{
	int r = BD_ERR_NO_PROTECTOR;

	if (!v || !s || !HAS(s, clear_key))
		return bd_err(BD_ERR_INVALID, "bd_unlock: no secrets, or a struct bd_secrets not made with "
			      "BD_SECRETS_INIT");
	if (nothing_given(s)) {
		if (fully_decrypted(v))
			return 0;
		return bd_unlock_clear_key(v);
	}
#define TRY(expr) do { r = (expr); if (r == 0) return 0; \
	if (r != BD_ERR_WRONG_KEY && r != BD_ERR_NO_PROTECTOR) return r; } while (0)
	for (size_t i = 0; i < s->n_recovery_passwords; i++)
		TRY(bd_unlock_recovery_password(v, s->recovery_passwords[i]));
	for (size_t i = 0; i < s->n_passwords; i++)
		TRY(bd_unlock_password(v, s->passwords[i]));
	for (size_t i = 0; i < s->n_typed; i++)
		TRY(looks_like_recovery_password(s->typed[i]) ? bd_unlock_recovery_password(v, s->typed[i]) :
		    bd_unlock_password(v, s->typed[i]));
	for (size_t i = 0; i < s->n_key_files; i++)
		TRY(bd_unlock_bek(v, s->key_files[i].data, s->key_files[i].len));
	for (size_t i = 0; i < s->n_fveks; i++)
		TRY(bd_unlock_fvek(v, s->fveks[i].data, s->fveks[i].len));
	for (size_t i = 0; i < s->n_vmks; i++)
		TRY(bd_unlock_vmk(v, s->vmks[i].data, s->vmks[i].len));
	for (size_t i = 0; i < s->n_key_packages; i++)
		TRY(unlock_key_package(v, &s->key_packages[i], s));
	if (HAS(s, n_private_keys))
		for (size_t i = 0; i < s->n_private_keys; i++)
			TRY(bd_unlock_private_key(v, s->private_keys[i], NULL));
	/* new kinds: here, guarded by HAS(s, field) */
	if (s->clear_key)
		TRY(bd_unlock_clear_key(v));
#undef TRY
	return r;
}
