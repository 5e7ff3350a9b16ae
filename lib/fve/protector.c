/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Protectors (VMK entries) and the secrets that open them; .BEK files (format.md §4). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "volume.h"

const char *bd_protector_type_name(uint16_t t)
{
	switch (bd_protector_kind(t)) {
	case 0x0000: return "clear key";
	case 0x0100: return "TPM";
	case 0x0200: return "external key (.BEK)";  /* a startup key or a recovery key: Windows' ExternalKey */
	case 0x0300: return "TPM and startup key";
	case 0x0400: case 0x0500: return "TPM and PIN";
	case 0x0600: case 0x0700: return "TPM, PIN and startup key";
	case 0x0800: return "recovery password";
	case 0x1000: return "public key";
	case 0x2000: return "password";
	}
	return "unknown";
}

uint16_t bd_protector_kind(uint16_t t)
{
	return t <= 0x00FF ? BD_PROT_CLEAR_KEY : (uint16_t)(t & 0xFF00);
}

int bd_protectors_load(struct bd_volume *v)
{
	const struct bd_metadata *m = bd_vol_meta(v);
	struct bd_datum_iter it;
	struct bd_datum d, c;
	size_t n = 0;
	int r;

	bd_datum_iter_init(&it, m->ds.entries, m->ds.entries_len);
	while ((r = bd_datum_next(&it, &d)) > 0)
		if (d.role == BD_ROLE_VMK && d.type == BD_DT_VMK)
			n++;
	free(v->prot);
	v->n_prot = 0;
	v->prot = calloc(n ? n : 1, sizeof(*v->prot));
	if (!v->prot)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	bd_datum_iter_init(&it, m->ds.entries, m->ds.entries_len);
	while (bd_datum_next(&it, &d) > 0) {
		struct bd_prot *p;
		const uint8_t *guid;
		uint16_t t;
		if (d.role != BD_ROLE_VMK || d.type != BD_DT_VMK)
			continue;
		p = &v->prot[v->n_prot];
		if (bd_datum_vmk(&d, &guid, &p->info.mtime, &t))
			continue;
		p->datum = d;
		memcpy(p->info.guid, guid, 16);
		snprintf(p->info.key_id, sizeof(p->info.key_id), "%08X", le32(guid));
		p->info.type = t;
		p->info.type_name = bd_protector_type_name(t);
		switch (bd_protector_kind(t)) {
		case 0x0000: case 0x0200: case 0x0800: case 0x1000: case 0x2000:  /* 0x1000: with the private key */
			p->info.usable = 1;
		}
		if (bd_datum_find_child(&d, -1, BD_DT_UNICODE, &c))
			bd_datum_unicode(&c, p->info.label, sizeof(p->info.label));
		if (t >= 0x0100 && t < 0x0800 && bd_datum_find_child(&d, -1, BD_DT_TPM_ENCODED, &c) &&
		    !bd_datum_tpm_pcrs(&c, &p->info.pcr_mask))
			p->info.has_pcrs = 1;
		v->n_prot++;
	}
	return 0;
}

/* ---- Secret to VMK: one step per protector kind (volume.h) ---- */

int bd_prot_stretch_parts(const struct bd_prot *p, const uint8_t **salt, struct bd_datum *ccm)
{
	struct bd_datum st;
	uint16_t kt;

	if (!bd_datum_find_child(&p->datum, -1, BD_DT_STRETCH_KEY, &st) || bd_datum_stretch(&st, &kt, salt))
		return bd_err(BD_ERR_CORRUPT, "protector %s has no stretch-key datum", p->info.key_id);
	/* the encrypted VMK is the AES-CCM datum that is a direct child (§4.1, §10.4) */
	if (!bd_datum_find_child(&p->datum, -1, BD_DT_AES_CCM, ccm))
		return bd_err(BD_ERR_CORRUPT, "protector {%s...} has no encrypted VMK", p->info.key_id);
	return 0;
}

int bd_vmk_unbox(const struct bd_datum *ccm, const uint8_t key[32], const char *key_id, uint8_t vmk[32])
{
	uint8_t pt[256];
	uint16_t kt;
	const uint8_t *k;
	size_t len;
	int r = bd_datum_ccm_unbox(ccm, key, pt, sizeof(pt), &kt, &k, &len);

	if (!r && len < 32)
		r = bd_err(BD_ERR_CORRUPT, "protector %s: decrypted VMK is only %zu bytes", key_id, len);
	if (!r)
		memcpy(vmk, k, 32);
	bd_wipe(pt, sizeof(pt));
	return r;
}

int bd_vmk_stretched(const struct bd_prot *p, const uint8_t initial[32], uint8_t vmk[32])
{
	const uint8_t *salt;
	struct bd_datum ccm;
	uint8_t key[32];
	int r = bd_prot_stretch_parts(p, &salt, &ccm);

	if (r)
		return r;
	bd_stretch(initial, salt, key);
	r = bd_vmk_unbox(&ccm, key, p->info.key_id, vmk);
	bd_wipe(key, sizeof(key));
	return r;
}

int bd_vmk_external(const struct bd_prot *p, const uint8_t key[32], uint8_t vmk[32])
{
	struct bd_datum ccm;

	if (!bd_datum_find_child(&p->datum, -1, BD_DT_AES_CCM, &ccm))
		return bd_err(BD_ERR_CORRUPT, "protector {%s...} has no encrypted VMK", p->info.key_id);
	return bd_vmk_unbox(&ccm, key, p->info.key_id, vmk);
}

int bd_vmk_clear(const struct bd_prot *p, uint8_t vmk[32])
{
	struct bd_datum kd;
	uint16_t kt;
	const uint8_t *key;
	size_t klen;

	if (!bd_datum_find_child(&p->datum, -1, BD_DT_KEY, &kd) || bd_datum_key(&kd, &kt, &key, &klen) || klen < 32)
		return bd_err(BD_ERR_CORRUPT, "clear-key protector %s has no 32-byte key", p->info.key_id);
	return bd_vmk_external(p, key, vmk);
}

int bd_prot_open(struct bd_volume *v, const struct bd_prot *p, const uint8_t vmk[32])
{
	uint8_t guid[16];
	uint16_t type = p->info.type;
	int r;

	memcpy(guid, p->info.guid, 16);   /* p may be stale after bd_volume_set_vmk (copy switch) */
	r = bd_volume_set_vmk(v, vmk);
	if (!r) {
		v->unlocked_with = BD_UNLOCKED_PROTECTOR;
		memcpy(v->unlock_guid, guid, 16);
		v->unlock_type = type;
	}
	return r;
}

/* Try every protector of `kind` with the stretched form of `initial`. */
static int try_stretched(struct bd_volume *v, int kind, const uint8_t initial[32], const char *what)
{
	int found = 0, r, last = BD_ERR_WRONG_KEY;
	uint8_t vmk[32];

	for (size_t i = 0; i < v->n_prot; i++) {
		struct bd_prot *p = &v->prot[i];
		if (bd_protector_kind(p->info.type) != kind)
			continue;
		found++;
		char id[9];
		memcpy(id, p->info.key_id, sizeof(id));
		r = bd_vmk_stretched(p, initial, vmk);
		if (r == BD_ERR_CORRUPT) {
			bd_warn("%s; skipped", bd_last_error());
			last = r;
			continue;
		}
		if (!r)
			r = bd_prot_open(v, p, vmk);  /* may reload v->prot (metadata copy switch): p is stale after */
		bd_wipe(vmk, sizeof(vmk));
		if (!r) {
			bd_info("unlocked with the %s of protector %s", what, id);
			return 0;
		}
		if (r != BD_ERR_WRONG_KEY)
			last = r;
	}
	if (!found)
		return bd_err(BD_ERR_NO_PROTECTOR, "the volume has no %s protector", what);
	if (last == BD_ERR_WRONG_KEY)
		return bd_err(BD_ERR_WRONG_KEY, "the %s does not open any of the %d %s protector(s); check it "
			      "and try another secret", what, found, what);
	return last;
}

int bd_recovery_password_parse(const char *text, uint8_t key16[16])
{
	char digits[49];
	size_t n = 0;
	char bad[256] = "";
	size_t bl = 0;
	int nbad = 0;

	for (const char *s = text; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isdigit(c)) {
			if (n < 48)
				digits[n] = (char)c;
			n++;
		} else if (c == '-' || c == ' ' || c == '\n' || c == '\r' || c == '\t') {
			continue;
		} else {
			/* the character itself is not shown: the message may reach logs */
			return bd_err(BD_ERR_INVALID, "recovery password has a character other than a digit or a "
				      "dash at position %zu; it must be 48 digits in 8 blocks of 6 (dashes optional)",
				      (size_t)(s - text) + 1);
		}
	}
	if (n != 48)
		return bd_err(BD_ERR_INVALID, "recovery password has %zu digits; it must have 48 (8 blocks of 6)", n);
	for (int i = 0; i < 8; i++) {
		unsigned long val = 0;
		for (int k = 0; k < 6; k++)
			val = val * 10 + (unsigned long)(digits[6 * i + k] - '0');
		if (val % 11 || val >= 720896) {
			nbad++;
			/* named by position only: the digits are (part of) a secret and messages reach logs */
			bl += (size_t)snprintf(bad + bl, sizeof(bad) - bl, "%sblock %d %s", nbad > 1 ? ", " : "",
					       i + 1, val % 11 ? "is not divisible by 11" : "is too large (>= 720896)");
			if (bl >= sizeof(bad))
				bl = sizeof(bad) - 1;
			continue;
		}
		put_le16(key16 + 2 * i, (uint16_t)(val / 11));
	}
	bd_wipe(digits, sizeof(digits));
	if (nbad) {
		bd_wipe(key16, 16);
		return bd_err(BD_ERR_INVALID, "recovery password is mistyped: %s; compare it with the printed key",
			      bad);
	}
	return 0;
}

int bd_unlock_recovery_password(bd_volume *v, const char *rp)
{
	uint8_t key16[16], initial[32];
	int r = bd_recovery_password_parse(rp, key16);

	if (r)
		return r;
	bd_recovery_key_hash(key16, initial);
	r = try_stretched(v, 0x0800, initial, "recovery password");
	bd_wipe(key16, sizeof(key16));
	bd_wipe(initial, sizeof(initial));
	return r;
}

int bd_unlock_password(bd_volume *v, const char *pw)
{
	uint8_t initial[32];
	int r = bd_password_hash(pw, initial);

	if (r)
		return bd_err(BD_ERR_INVALID, "the password is not valid UTF-8");
	r = try_stretched(v, 0x2000, initial, "password");
	bd_wipe(initial, sizeof(initial));
	return r;
}

int bd_unlock_clear_key(bd_volume *v)
{
	int found = 0, r, last = BD_ERR_WRONG_KEY;
	uint8_t vmk[32];

	for (size_t i = 0; i < v->n_prot; i++) {
		struct bd_prot *p = &v->prot[i];
		if (bd_protector_kind(p->info.type) != BD_PROT_CLEAR_KEY)
			continue;
		found++;
		r = bd_vmk_clear(p, vmk);
		if (!r)
			r = bd_prot_open(v, p, vmk);
		bd_wipe(vmk, sizeof(vmk));
		if (!r)
			return 0;
		last = r;
	}
	if (!found)
		return bd_err(BD_ERR_NO_PROTECTOR, "the volume has no clear key (protection is not suspended); "
			      "give a password, recovery password or key file");
	if (last == BD_ERR_WRONG_KEY)
		return bd_err(BD_ERR_CORRUPT, "the clear key does not decrypt the VMK: metadata damaged");
	return last;
}

int bd_bek_parse(const uint8_t *buf, size_t len, struct bd_bek *out)
{
	struct bd_dataset ds;
	struct bd_datum ext, kd, gd;
	struct bd_datum_iter it;
	const uint8_t *guid, *key;
	uint16_t kt;
	size_t klen;
	int r;

	memset(out, 0, sizeof(*out));
	if (len < 0x30)
		return bd_err(BD_ERR_INVALID, "key file is %zu bytes: too short for a .BEK file", len);
	char why[256];

	r = bd_dataset_parse(buf, len, &ds);
	if (r) {
		snprintf(why, sizeof(why), "%s", bd_last_error());
		return bd_err(BD_ERR_INVALID, "not a .BEK startup key file (%s)", why);
	}
	if (ds.version != 1)
		return bd_err(BD_ERR_INVALID, "not a .BEK file: dataset version %u", ds.version);
	r = bd_datum_validate(ds.entries, ds.entries_len, 0);
	if (r) {
		snprintf(why, sizeof(why), "%s", bd_last_error());
		return bd_err(BD_ERR_INVALID, "damaged .BEK file: %s", why);
	}
	if (!bd_datum_find(ds.entries, ds.entries_len, -1, BD_DT_EXTERNAL_KEY, &ext) ||
	    bd_datum_external(&ext, &guid, &out->ctime))
		return bd_err(BD_ERR_INVALID, "not a .BEK file: no external-key entry");
	memcpy(out->guid, guid, 16);
	/* the KEY datum of type 0x2002 among the external key's children */
	int have = 0;
	bd_datum_iter_children(&it, &ext);
	while (bd_datum_next(&it, &kd) > 0) {
		if (kd.type == BD_DT_KEY && !bd_datum_key(&kd, &kt, &key, &klen) && klen >= 32) {
			memcpy(out->key, key, 32);
			have = 1;
			break;
		}
	}
	if (!have)
		return bd_err(BD_ERR_INVALID, ".BEK file holds no 32-byte key");
	/* Windows 11 adds the volume GUID (role 0x19, type 0x17) */
	if (bd_datum_find_child(&ext, -1, BD_DT_GUID, &gd) && gd.size >= 0x18) {
		out->has_volume_guid = 1;
		memcpy(out->volume_guid, gd.raw + 8, 16);
	} else if (bd_datum_find(ds.entries, ds.entries_len, -1, BD_DT_GUID, &gd) && gd.size >= 0x18) {
		out->has_volume_guid = 1;
		memcpy(out->volume_guid, gd.raw + 8, 16);
	}
	return 0;
}

int bd_unlock_bek(bd_volume *v, const uint8_t *buf, size_t len)
{
	struct bd_bek bek;
	int r, found = 0, last = BD_ERR_WRONG_KEY;
	char g[37];

	r = bd_bek_parse(buf, len, &bek);
	if (r)
		return r;
	/* the protector whose GUID the file names first, then any other startup key */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < v->n_prot; i++) {
			struct bd_prot *p = &v->prot[i];
			int match = !memcmp(p->info.guid, bek.guid, 16);
			if (bd_protector_kind(p->info.type) != 0x0200 || match != !pass)
				continue;
			found++;
			uint8_t vmk[32];
			r = bd_vmk_external(p, bek.key, vmk);
			if (!r)
				r = bd_prot_open(v, p, vmk);
			bd_wipe(vmk, sizeof(vmk));
			if (!r) {
				bd_wipe(&bek, sizeof(bek));
				return 0;
			}
			if (r != BD_ERR_WRONG_KEY)
				last = r;
		}
	}
	bd_guid_format(bek.guid, g);
	bd_wipe(&bek, sizeof(bek));
	if (!found)
		return bd_err(BD_ERR_NO_PROTECTOR, "the volume has no startup-key protector; the key file is for "
			      "protector {%s}", g);
	if (last != BD_ERR_WRONG_KEY)
		return last;
	return bd_err(BD_ERR_WRONG_KEY, "the key file (protector {%s}) does not open this volume's startup-key "
		      "protector(s); is it the key of another volume?", g);
}

int bd_unlock_vmk(bd_volume *v, const uint8_t *key, size_t len)
{
	if (len != 32)
		return bd_err(BD_ERR_INVALID, "a VMK is 32 bytes, got %zu", len);
	int r = bd_volume_set_vmk(v, key);
	if (!r)
		v->unlocked_with = BD_UNLOCKED_VMK;
	if (r == BD_ERR_WRONG_KEY)
		return bd_err(BD_ERR_WRONG_KEY, "that VMK does not decrypt this volume's FVEK");
	return r;
}
