/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The datums of a public-key protector (VMK entry with protection type 0x1000), as found on the
 * real Windows smart-card volume (doc/public-key-protector.md):
 *   0x000C ASYMMETRIC_ENCRYPTED_KEY  RSA ciphertext (one modulus-sized block)
 *   0x000D EXPORTED_KEY (role 0x000C) CNG BCRYPT_RSAKEY_BLOB of the certificate's public key
 *   0x000E PUBLIC_KEY_INFO           "gsin" record: certificate type and thumbprint
 *   0x0004 USE_KEY (key type 0x2006) { AES-CCM: K encrypted with the VMK }
 *   0x0005 AES-CCM                   the VMK encrypted with K
 * Everything is bounds-checked against the datum that holds it; nothing here needs a secret.
 */
#include <stdio.h>

#include "pubkey.h"
#include "volume.h"

static int cng_blob(struct bd_pk_prot *pk)
{
	const uint8_t *b = pk->blob_datum.raw + 8;
	size_t len = pk->blob_datum.size - 8u;
	static const struct { uint32_t magic; const char *name; unsigned bits; } ecc[] = {
		{ 0x314B4345, "ECDH P-256", 256 },  /* "ECK1" */
		{ 0x334B4345, "ECDH P-384", 384 },  /* "ECK3" */
		{ 0x354B4345, "ECDH P-521", 521 },  /* "ECK5" */
	};

	if (len < 4)
		return bd_err(BD_ERR_CORRUPT, "public-key protector: key blob is %zu bytes", len);
	pk->blob_magic = le32(b);
	if (pk->blob_magic == BD_CNG_RSA1) {
		int r = bd_rsa_pub_from_cng(b, len, &pk->rsa);
		if (r)
			return r;
		pk->have_rsa = 1;
		snprintf(pk->key_alg, sizeof(pk->key_alg), "RSA");
		pk->key_bits = pk->rsa.bits;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ecc); i++) {
		if (pk->blob_magic == ecc[i].magic) {
			snprintf(pk->key_alg, sizeof(pk->key_alg), "%s", ecc[i].name);
			pk->key_bits = ecc[i].bits;
			return 0;
		}
	}
	snprintf(pk->key_alg, sizeof(pk->key_alg), "unknown 0x%08x", pk->blob_magic);
	return 0;
}

/* "gsin" record: u32 tag, u32 size (of the record), u32 certificate type, u32 hash size, hash, rest. */
static int gsin(struct bd_pk_prot *pk)
{
	struct bd_cursor c = bd_cursor(pk->info_datum.raw + 8, pk->info_datum.size - 8u);
	const uint8_t *tag = cur_bytes(&c, 4);
	uint32_t size = cur_u32(&c);
	uint32_t type = cur_u32(&c);
	uint32_t hlen = cur_u32(&c);

	if (c.bad || memcmp(tag, "gsin", 4))
		return bd_err(BD_ERR_CORRUPT, "public-key protector: certificate record is not a \"gsin\" record");
	if (size < 16 || size > c.len)
		return bd_err(BD_ERR_CORRUPT, "public-key protector: certificate record size %u outside 16..%zu",
			      size, c.len);
	c.len = size;                         /* the record's own size bounds what follows */
	pk->thumbprint = cur_bytes(&c, hlen);
	if (!pk->thumbprint || hlen == 0 || hlen > 64)
		return bd_err(BD_ERR_CORRUPT, "public-key protector: certificate hash of %u bytes in a %u-byte "
			      "record", hlen, size);
	pk->thumbprint_len = hlen;
	pk->cert_type = type;
	pk->info_tail_len = cur_left(&c);
	return 0;
}

int bd_pk_prot_parse(const struct bd_datum *e, struct bd_pk_prot *pk)
{
	struct bd_datum_iter it;
	struct bd_datum d;
	int r;

	memset(pk, 0, sizeof(*pk));
	if (e->type != BD_DT_VMK || e->size < bd_datum_fixed_size(BD_DT_VMK))
		return bd_err(BD_ERR_INVALID, "not a protector entry");
	bd_datum_iter_children(&it, e);
	/* first datum of each kind (Windows writes one of each); the role is not relied on:
	 * the key blob carries role 0x000C on the real volume */
	while ((r = bd_datum_next(&it, &d)) > 0) {
		switch (d.type) {
		case BD_DT_ASYMMETRIC_KEY:
			if (!pk->have_ct) {
				pk->ct_datum = d;
				pk->have_ct = 1;
			}
			break;
		case BD_DT_EXPORTED_KEY:
			if (!pk->have_blob) {
				pk->blob_datum = d;
				pk->have_blob = 1;
			}
			break;
		case BD_DT_PUBLIC_KEY_INFO:
			if (!pk->have_info) {
				pk->info_datum = d;
				pk->have_info = 1;
			}
			break;
		case BD_DT_USE_KEY:
			if (!pk->have_use_key && d.size >= 0x0C) {
				pk->use_key = d;
				pk->have_use_key = 1;
				pk->use_key_type = le16(d.raw + 8);
			}
			break;
		case BD_DT_AES_CCM:
			if (!pk->have_vmk && d.size >= 0x24) {
				pk->enc_vmk = d;
				pk->have_vmk = 1;
			}
			break;
		}
	}
	if (r < 0)
		return r;
	if (pk->have_ct) {
		pk->ct = pk->ct_datum.raw + 8;
		pk->ct_len = pk->ct_datum.size - 8u;
		if (!pk->ct_len)
			return bd_err(BD_ERR_CORRUPT, "public-key protector: empty encrypted key");
	}
	if (pk->have_use_key) {
		if (bd_datum_find_child(&pk->use_key, -1, BD_DT_AES_CCM, &d) && d.size >= 0x24) {
			pk->wrapped = d;
			pk->have_wrapped = 1;
		}
	}
	if (pk->have_blob && (r = cng_blob(pk)))
		return r;
	if (pk->have_info && (r = gsin(pk)))
		return r;
	return 0;
}

int bd_volume_protector_pubkey(bd_volume *v, size_t index, struct bd_pubkey_info *out)
{
	struct bd_pk_prot pk;
	int r;

	memset(out, 0, sizeof(*out));
	if (index >= v->n_prot)
		return bd_err(BD_ERR_INVALID, "protector %zu does not exist (the volume has %zu)", index, v->n_prot);
	if (bd_protector_kind(v->prot[index].info.type) != BD_PROT_PUBLIC_KEY)
		return bd_err(BD_ERR_INVALID, "protector %s is not a public-key protector",
			      v->prot[index].info.key_id);
	r = bd_pk_prot_parse(&v->prot[index].datum, &pk);
	if (r)
		return r;
	if (pk.key_alg[0]) {
		out->has_key = 1;
		snprintf(out->key_alg, sizeof(out->key_alg), "%s", pk.key_alg);
		out->key_bits = pk.key_bits;
	}
	if (pk.have_rsa) {
		out->exponent = bd_rsa_pub_exponent(&pk.rsa);
		if (pk.rsa.nlen <= sizeof(out->modulus)) {
			memcpy(out->modulus, pk.rsa.n, pk.rsa.nlen);
			out->modulus_len = pk.rsa.nlen;
		}
		out->has_key_sha1 = !bd_rsa_pub_key_id(&pk.rsa, out->key_sha1);
	}
	if (pk.thumbprint) {
		out->has_thumbprint = 1;
		memcpy(out->thumbprint, pk.thumbprint, pk.thumbprint_len);
		out->thumbprint_len = pk.thumbprint_len;
		out->cert_type = pk.cert_type;
	}
	out->encrypted_key_len = pk.ct_len;
	out->complete = pk.have_ct && pk.have_rsa && pk.have_wrapped && pk.have_vmk;
	return 0;
}

/* ---- the per-kind step: private key + public-key protector -> VMK ---- */

int bd_pk_prot_matches(const struct bd_pk_prot *pk, struct bd_privkey *k)
{
	struct bd_rsa_pub pub;
	uint8_t tp[20];

	if (pk->have_rsa && !bd_privkey_public(k, &pub) && bd_rsa_pub_equal(&pub, &pk->rsa))
		return 1;
	return pk->thumbprint && pk->thumbprint_len == 20 && bd_privkey_cert_thumbprint(k, tp) &&
	       !memcmp(tp, pk->thumbprint, 20);
}

struct pk_try {
	const struct bd_pk_prot *pk;
	uint8_t *vmk;
};

/* A candidate RSA plaintext: K itself (32 bytes) or K's KEY datum {size 44, type 1, key type 0x2006};
 * accepted only when K opens the encrypted VMK (the AES-CCM tag). */
static int pk_accept(const uint8_t *pt, size_t len, void *ud)
{
	struct pk_try *t = ud;
	const uint8_t *key, *vmk;
	uint8_t out[256];
	uint16_t kt;
	size_t vlen;
	int r;

	if (len == 32)
		key = pt;
	else if (len == 44 && le16(pt) == 44 && le16(pt + 4) == BD_DT_KEY && le16(pt + 8) == BD_PK_KEY_TYPE)
		key = pt + 12;
	else
		return BD_ERR_WRONG_KEY;
	if (t->pk->enc_vmk.size - 0x24u > sizeof(out))
		return BD_ERR_WRONG_KEY;
	r = bd_datum_ccm_unbox(&t->pk->enc_vmk, key, out, sizeof(out), &kt, &vmk, &vlen);
	if (!r && vlen == 32)
		memcpy(t->vmk, vmk, 32);
	else if (!r || r == BD_ERR_CORRUPT)
		r = BD_ERR_WRONG_KEY;     /* a K that opens it to something else is no K */
	bd_wipe(out, sizeof(out));
	return r;
}

int bd_pk_prot_open(const struct bd_pk_prot *pk, struct bd_privkey *k, uint8_t vmk[32], int *padding,
		    int *reversed)
{
	struct pk_try t = { pk, vmk };

	if (!pk->have_ct || !pk->have_vmk)
		return bd_err(BD_ERR_CORRUPT, "public-key protector: the %s is missing",
			      pk->have_ct ? "encrypted VMK" : "RSA-encrypted key");
	return bd_privkey_decrypt_try(k, pk->ct, pk->ct_len, pk_accept, &t, padding, reversed);
}

int bd_vmk_pubkey(const struct bd_prot *p, struct bd_privkey *k, uint8_t vmk[32], struct bd_pk_result *res)
{
	struct bd_pk_prot pk;
	int r;

	memset(res, 0, sizeof(*res));
	if (bd_protector_kind(p->info.type) != BD_PROT_PUBLIC_KEY)
		return BD_ERR_WRONG_KEY;
	r = bd_pk_prot_parse(&p->datum, &pk);
	if (r)
		return r;
	if (pk.thumbprint && pk.thumbprint_len <= sizeof(res->thumbprint)) {
		memcpy(res->thumbprint, pk.thumbprint, pk.thumbprint_len);
		res->thumbprint_len = pk.thumbprint_len;
	}
	if (!bd_pk_prot_matches(&pk, k))
		return BD_ERR_WRONG_KEY;      /* not this key's protector: no RSA operation at all */
	res->matched = 1;
	return bd_pk_prot_open(&pk, k, vmk, &res->padding, &res->reversed);
}

/*
 * The public-key protectors of the volume for one private key: the step (bd_vmk_pubkey) for each,
 * bd_prot_open with the VMK that one of them gives. bd_unlock takes it as the certificate's kind.
 */
int bd_unlock_private_key(bd_volume *v, struct bd_privkey *k, int *padding)
{
	char seen[512] = "";
	size_t sl = 0;
	int found = 0, matched = 0, last = BD_ERR_WRONG_KEY, r;

	for (size_t i = 0; i < v->n_prot; i++) {
		struct bd_prot *p = &v->prot[i];
		struct bd_pk_result res;
		struct bd_secret *vmk;
		char id[9];
		if (bd_protector_kind(p->info.type) != BD_PROT_PUBLIC_KEY)
			continue;
		found++;
		memcpy(id, p->info.key_id, sizeof(id));
		vmk = bd_secret_new(32);
		if (!vmk)
			return bd_err(BD_ERR_NOMEM, "out of memory");
		r = bd_vmk_pubkey(p, k, vmk->data, &res);
		if (!r)
			r = bd_prot_open(v, p, vmk->data);   /* may reload v->prot: p is stale after */
		bd_secret_free(vmk);
		if (!r) {
			if (padding)
				*padding = res.padding;
			bd_info("unlocked with the private key of public-key protector %s (RSA padding %s%s)", id,
				bd_rsa_padding_name(res.padding), res.reversed ? ", ciphertext stored little-endian" : "");
			return 0;
		}
		matched += res.matched;
		if (!res.matched && res.thumbprint_len && sl < sizeof(seen) - 64) {
			sl += (size_t)snprintf(seen + sl, sizeof(seen) - sl, "%s", sl ? ", " : "");
			for (size_t j = 0; j < res.thumbprint_len && j < 20; j++)
				sl += (size_t)snprintf(seen + sl, sizeof(seen) - sl, "%02X", res.thumbprint[j]);
			sl += (size_t)snprintf(seen + sl, sizeof(seen) - sl, " (protector %s)", id);
		}
		if (r != BD_ERR_WRONG_KEY)
			last = r;
	}
	if (!found)
		return bd_err(BD_ERR_NO_PROTECTOR, "the volume has no public-key (certificate, smart card) protector");
	if (last != BD_ERR_WRONG_KEY)
		return last;
	if (!matched) {
		struct bd_rsa_pub pub;
		uint8_t kid[20];
		char ks[41] = "?";
		if (!bd_privkey_public(k, &pub) && !bd_rsa_pub_key_id(&pub, kid))
			for (int j = 0; j < 20; j++)
				snprintf(ks + 2 * j, 3, "%02x", kid[j]);
		return bd_err(BD_ERR_WRONG_KEY, "the private key (public key SHA-1 %s) belongs to none of the %d "
			      "public-key protector(s); they are for the certificates with thumbprint %s", ks, found,
			      sl ? seen : "(none recorded)");
	}
	return bd_err(BD_ERR_WRONG_KEY, "the private key matches a public-key protector but does not open it "
		      "(no padding gave a key that the AES-CCM tag confirms)");
}
