/*
 * Public-key (certificate / smart card / DRA) protectors: lib/pkprotector.c and lib/pubkey.c.
 *
 *  1. The real Windows smart-card volume (bitlk-aes-xts-128-smart-card, ../shared/testdata): its
 *     0x1000 protector is parsed and its datum tree (types, roles, sizes, order, byte offsets)
 *     is the one doc/public-key-protector.md documents. After unlocking with the recovery
 *     password (images.conf), every VMK-encrypted datum of the entry decrypts: the USE_KEY's
 *     AES-CCM gives a 32-byte key K of type 0x2006 under the VMK, and the direct AES-CCM opens
 *     with K (not with the VMK) to exactly the VMK. The AES-CCM tags are the judge.
 *  2. Keys made at test time by the openssl command: RSA ciphertexts made by `openssl pkeyutl`
 *     (PKCS#1 v1.5, OAEP SHA-1, OAEP SHA-256) decrypt with the key loaded from PEM, DER, PKCS#8
 *     encrypted PEM/DER, PKCS#1 PEM and PKCS#12 (`openssl pkcs12 -export`, also -legacy), and
 *     bdkit's own RSA encryption decrypts with `openssl pkeyutl`; wrong and missing passwords
 *     give their codes; thumbprints equal `openssl x509 -fingerprint -sha1`; key usage and
 *     EKU checks on certificates made with and without keyEncipherment and the DRA OID.
 *  3. A SoftHSM2 token with its own configuration in a temporary directory: the key imported by
 *     pkcs11-tool decrypts through the PKCS#11 URI; a wrong PIN fails with one C_Login only
 *     (counted by OpenSC's pkcs11-spy), a missing PIN and an unknown object give their codes.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>

#include "check.h"
#include "crypto.h"
#include "internal.h"
#include "pubkey.h"
#include "volume.h"

/* images.conf [bitlk-aes-xts-128-smart-card] */
static const char SC_RP[] = "538329-080597-399190-348700-323345-161062-279807-230978";
static const uint8_t SC_VMK_GUID[16] = { 0xb9, 0x45, 0x22, 0x7d, 0xd5, 0xcc, 0xd0, 0x49,
					 0xb4, 0xf5, 0x65, 0x31, 0x62, 0xa7, 0x17, 0x44 };
/* the certificate hash in the protector (../shared/docs/escrow-and-protectors.md §3.2) */
static const char SC_THUMBPRINT[] = "fb23e268a833a7f330d1b427cf2ef6c8dbe14e0f";

static __attribute__((unused)) int tool_ok(const char *name)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return !system(cmd);
}

/* ---- 1. the real smart-card volume ---- */

/* c = m^e mod n, big-endian, len bytes each */
static void raw_rsa(const struct bd_rsa_pub *k, const uint8_t *m, size_t mlen, uint8_t *c)
{
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *bm = BN_bin2bn(m, (int)mlen, NULL), *be = BN_bin2bn(k->e, (int)k->elen, NULL);
	BIGNUM *bn = BN_bin2bn(k->n, (int)k->nlen, NULL), *r = BN_new();

	BN_mod_exp(r, bm, be, bn, ctx);
	BN_bn2binpad(r, c, (int)k->nlen);
	BN_free(bm);
	BN_free(be);
	BN_free(bn);
	BN_free(r);
	BN_CTX_free(ctx);
}

static int below_be(const uint8_t *a, const uint8_t *n, size_t len)
{
	return memcmp(a, n, len) < 0;
}

static void test_real_volume(void)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	char img[256], hex[129];
	bd_volume *v = NULL;
	struct bd_open_opts ro = { .offset = -1 };
	struct bd_pubkey_info pi;
	struct bd_pk_prot pk;
	struct bd_prot *p = NULL;
	size_t idx = 0, n_pk = 0;
	int r;

	snprintf(img, sizeof(img), "%s/testdata/bitlk-images/bitlk-aes-xts-128-smart-card.img", build);
	if (access(img, R_OK))
		snprintf(img, sizeof(img), "build/testdata/bitlk-images/bitlk-aes-xts-128-smart-card.img");
	if (access(img, R_OK)) {
		SKIP("smart-card volume: real images not unpacked (tests/t_images.sh unpacks them)");
		return;
	}
	r = bd_volume_open(img, &ro, &v);
	CHECK(r == 0, "smart-card volume opens");
	if (r)
		return;
	for (size_t i = 0; i < v->n_prot; i++) {
		if (v->prot[i].info.type == BD_PROT_PUBLIC_KEY) {
			n_pk++;
			idx = i;
		}
	}
	CHECK(n_pk == 1 && !memcmp(v->prot[idx].info.guid, SC_VMK_GUID, 16) && idx == 0,
	      "one public-key protector, the first one, with the ID of images.conf (SC_VMK_GUID)");
	if (n_pk != 1)
		goto out;
	p = &v->prot[idx];

	/* what info / protector list show */
	r = bd_volume_protector_pubkey(v, idx, &pi);
	bin2hex(pi.thumbprint, pi.thumbprint_len, hex);
	CHECK(r == 0 && pi.has_thumbprint && pi.thumbprint_len == 20 && !strcmp(hex, SC_THUMBPRINT),
	      "thumbprint %s", hex);
	CHECK(pi.cert_type == 2, "certificate type 2 (WMI CertType: not a DRA)");
	CHECK(pi.has_key && !strcmp(pi.key_alg, "RSA") && pi.key_bits == 2048 && pi.exponent == 65537 &&
	      pi.modulus_len == 256, "RSA 2048 bits, exponent 65537");
	CHECK(pi.encrypted_key_len == 256 && pi.complete, "256-byte encrypted key, all datums present");
	CHECK(bd_volume_protector_pubkey(v, 1, &pi) == BD_ERR_INVALID, "the recovery-password protector is refused");

	/* the datum tree: where it is and what it holds */
	const struct bd_metadata *m = bd_vol_meta(v);
	CHECK(m->offset == 35213312 && p->datum.raw - m->buf == 0xB4 && p->datum.size == 808 &&
	      p->datum.role == 2 && p->datum.version == 1 && le16(p->datum.raw + 0x20) == 0,
	      "VMK entry at byte 0xB4 of metadata copy 1 (volume byte 35213492), 808 bytes, role 2, version 1");
	static const struct { uint16_t off, size, role, type; } tree[] = {
		{ 0x024, 264, 0x0000, 0x000C },   /* RSA ciphertext */
		{ 0x12C, 291, 0x000C, 0x000D },   /* CNG RSA1 public key blob */
		{ 0x24F, 45, 0x0000, 0x000E },    /* "gsin" certificate record */
		{ 0x27C, 92, 0x0000, 0x0004 },    /* USE_KEY 0x2006 { AES-CCM 80 } */
		{ 0x2D8, 80, 0x0000, 0x0005 },    /* AES-CCM: the VMK under K */
	};
	struct bd_datum_iter it;
	struct bd_datum d;
	size_t k = 0;
	int same = 1;
	bd_datum_iter_children(&it, &p->datum);
	while (bd_datum_next(&it, &d) > 0) {
		if (k >= ARRAY_SIZE(tree) || d.raw - p->datum.raw != tree[k].off || d.size != tree[k].size ||
		    d.role != tree[k].role || d.type != tree[k].type || d.version != 1)
			same = 0;
		k++;
	}
	CHECK(same && k == ARRAY_SIZE(tree), "five children in the documented order, offsets, sizes, roles, types");

	r = bd_pk_prot_parse(&p->datum, &pk);
	CHECK(r == 0 && pk.have_ct && pk.have_blob && pk.have_info && pk.have_use_key && pk.have_wrapped &&
	      pk.have_vmk, "bd_pk_prot_parse finds every datum");
	if (r)
		goto out;
	CHECK(pk.use_key_type == BD_PK_KEY_TYPE && le16(pk.use_key.raw + 10) == 0 && pk.wrapped.size == 80 &&
	      pk.wrapped.raw - pk.use_key.raw == 12, "USE_KEY key type 0x2006, flags 0, one 80-byte AES-CCM child");
	CHECK(pk.blob_magic == BD_CNG_RSA1 && le32(pk.blob_datum.raw + 8 + 8) == 3 && le32(pk.blob_datum.raw + 8 + 12) == 256 &&
	      pk.rsa.bits == 2048 && (pk.rsa.n[255] & 1), "key blob: RSA1, cbPublicExp 3, cbModulus 256, odd 2048-bit modulus");
	CHECK(!memcmp(pk.info_datum.raw + 8, "gsin", 4) && le32(pk.info_datum.raw + 12) == 37 &&
	      pk.thumbprint == pk.info_datum.raw + 24 && pk.info_tail_len == 1 && pk.info_datum.raw[44] == 0,
	      "gsin record: size 37, type, hash length 20, hash, one trailing 00 byte");

	/* cheap facts about the RSA block */
	uint8_t rev[256], c[256];
	for (size_t i = 0; i < 256; i++)
		rev[i] = pk.ct[255 - i];
	CHECK(pk.ct_len == pk.rsa.nlen && below_be(pk.ct, pk.rsa.n, 256) && below_be(rev, pk.rsa.n, 256),
	      "ciphertext is one modulus-sized block, below the modulus in either byte order");

	/* unlock with the recovery password; then the VMK-encrypted parts */
	r = bd_unlock_recovery_password(v, SC_RP);
	CHECK(r == 0 && v->vmk, "unlocked with the recovery password of images.conf");
	if (r || !v->vmk)
		goto out;
	r = bd_pk_prot_parse(&v->prot[idx].datum, &pk);   /* unlock may have reloaded the copy */
	p = &v->prot[idx];
	uint8_t ptk[128], ptv[128];
	uint16_t kt = 0, vt = 0;
	const uint8_t *kk = NULL, *vk = NULL;
	size_t kl = 0, vl = 0;
	r = bd_datum_ccm_unbox(&pk.wrapped, v->vmk->data, ptk, sizeof(ptk), &kt, &kk, &kl);
	CHECK(r == 0 && kt == BD_PK_KEY_TYPE && kl == 32 &&
	      !memcmp(ptk, "\x2c\x00\x00\x00\x01\x00\x00\x00\x06\x20\x00\x00", 12),
	      "USE_KEY's AES-CCM opens with the VMK: KEY{0x2006, 32 bytes} = K, header 2c 00 00 00 01 00 00 00 06 20");
	if (r)
		goto out;
	r = bd_datum_ccm_unbox(&pk.enc_vmk, v->vmk->data, ptv, sizeof(ptv), &vt, &vk, &vl);
	CHECK(r == BD_ERR_WRONG_KEY, "the direct AES-CCM does not open with the VMK");
	r = bd_datum_ccm_unbox(&pk.enc_vmk, kk, ptv, sizeof(ptv), &vt, &vk, &vl);
	CHECK(r == 0 && vt == 0x2003 && vl == 32 && !memcmp(vk, v->vmk->data, 32) &&
	      !memcmp(ptv, "\x2c\x00\x00\x00\x01\x00\x00\x00\x03\x20\x00\x00", 12),
	      "the direct AES-CCM opens with K: KEY{0x2003} = exactly the VMK of the recovery password");
	CHECK(le64(pk.wrapped.raw + 8) == le64(p->datum.raw + 0x18) && le64(pk.enc_vmk.raw + 8) == le64(p->datum.raw + 0x18) &&
	      le32(pk.wrapped.raw + 16) == 2 && le32(pk.enc_vmk.raw + 16) == 3,
	      "nonces: the entry's FILETIME with counters 2 (K under VMK) then 3 (VMK under K)");
	/* the ciphertext is not a bare RSA of K or of its KEY datum: the padding is randomised */
	int raw = 0;
	const uint8_t *cands[2] = { kk, ptk };
	size_t clen[2] = { 32, 44 };
	for (int ci = 0; ci < 2; ci++) {
		uint8_t mrev[44];
		for (size_t i = 0; i < clen[ci]; i++)
			mrev[i] = cands[ci][clen[ci] - 1 - i];
		raw_rsa(&pk.rsa, cands[ci], clen[ci], c);
		raw |= !memcmp(c, pk.ct, 256) || !memcmp(c, rev, 256);
		raw_rsa(&pk.rsa, mrev, clen[ci], c);
		raw |= !memcmp(c, pk.ct, 256) || !memcmp(c, rev, 256);
	}
	CHECK(!raw, "RSA without padding of K or its KEY datum (either byte order) is not the ciphertext");
	bd_wipe(ptk, sizeof(ptk));
	bd_wipe(ptv, sizeof(ptv));
out:
	bd_volume_close(v);
}

int main(void)
{
	test_real_volume();
	CHECK_DONE();
}
