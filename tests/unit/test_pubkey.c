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
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

static int tool_ok(const char *name)
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
	struct bd_open_opts ro = BD_OPEN_OPTS_INIT(.offset = -1);
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

/* ---- 2. keys and certificates made by the openssl command ---- */

static char dir[] = "/tmp/bdkit-test-pubkey.XXXXXX";
static uint8_t msg[32];
static struct bd_rsa_pub file_pub;

static void path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static size_t read_file(const char *name, uint8_t *buf, size_t max)
{
	char p[512];
	FILE *f;
	size_t n;

	path(p, sizeof(p), name);
	f = fopen(p, "rb");
	if (!f)
		return 0;
	n = fread(buf, 1, max, f);
	fclose(f);
	return n;
}

static int write_file(const char *name, const uint8_t *buf, size_t len)
{
	char p[512];
	FILE *f;

	path(p, sizeof(p), name);
	f = fopen(p, "wb");
	if (!f)
		return -1;
	fwrite(buf, 1, len, f);
	return fclose(f);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* "AA:BB:..." after '=' (openssl x509 -fingerprint) or the hex on the line after the SKI header */
static int parse_colon_hex(const char *text, uint8_t *out, size_t max)
{
	size_t n = 0;

	for (const char *c = text; *c && n < max;) {
		unsigned v;
		if (isxdigit((unsigned char)c[0]) && isxdigit((unsigned char)c[1]) && sscanf(c, "%2x", &v) == 1) {
			out[n++] = (uint8_t)v;
			c += 2;
		} else {
			c++;
		}
	}
	return (int)n;
}

static int make_keys(void)
{
	if (!mkdtemp(dir))
		return -1;
	return sh("cd %s && set -e; exec >log 2>&1\n"
		  "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem\n"
		  "openssl pkey -in key.pem -outform DER -out key.der\n"
		  "openssl pkey -in key.pem -pubout -out pub.pem\n"
		  "openssl pkcs8 -topk8 -in key.pem -v2 aes-256-cbc -passout pass:secret-pw -out key-enc.pem\n"
		  "openssl pkcs8 -topk8 -in key.pem -v2 aes-256-cbc -passout pass:secret-pw -outform DER -out key-enc.der\n"
		  "openssl rsa -in key.pem -traditional -out key-rsa.pem\n"
		  "openssl rsa -in key.pem -traditional -aes128 -passout pass:secret-pw -out key-rsa-enc.pem\n"
		  "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.pem\n"
		  "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem\n"
		  "req() { k=$1; o=$2; shift 2; openssl req -x509 -new -key $k -subj /CN=bdkit-test -days 30 \"$@\" -out $o; }\n"
		  "req key.pem cert.pem -addext keyUsage=keyEncipherment -addext extendedKeyUsage=1.3.6.1.4.1.311.67.1.1\n"
		  "openssl x509 -in cert.pem -outform DER -out cert.der\n"
		  "req key.pem cert-dra.pem -addext keyUsage=keyEncipherment -addext extendedKeyUsage=1.3.6.1.4.1.311.67.1.2\n"
		  "req key.pem cert-sign.pem -addext keyUsage=digitalSignature\n"
		  "req key.pem cert-server.pem -addext keyUsage=keyEncipherment -addext extendedKeyUsage=serverAuth\n"
		  "req key.pem cert-any.pem -addext extendedKeyUsage=anyExtendedKeyUsage\n"
		  "req key.pem cert-noext.pem\n"
		  "req ec.pem cert-ec.pem\n"
		  "cat cert.pem key.pem > bundle.pem\n"
		  "openssl pkcs12 -export -inkey key.pem -in cert.pem -passout pass:p12-pw -out key.p12\n"
		  "openssl pkcs12 -export -inkey key.pem -in cert.pem -passout pass: -out key-nopw.p12\n"
		  "openssl pkcs12 -export -legacy -inkey key.pem -in cert.pem -passout pass:p12-pw -out key-legacy.p12\n"
		  "openssl x509 -in cert.pem -noout -fingerprint -sha1 > fp.txt\n"
		  "openssl x509 -in cert.pem -noout -ext subjectKeyIdentifier > ski.txt\n"
		  "head -c 32 /dev/urandom > msg\n"
		  "openssl pkeyutl -encrypt -pubin -inkey pub.pem -in msg -out ct.pkcs1\n"
		  "openssl pkeyutl -encrypt -pubin -inkey pub.pem -pkeyopt rsa_padding_mode:oaep -in msg -out ct.oaep1\n"
		  "openssl pkeyutl -encrypt -pubin -inkey pub.pem -pkeyopt rsa_padding_mode:oaep "
		  "-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in msg -out ct.oaep256\n", dir);
}

static const struct { const char *file; int padding; } cts[] = {
	{ "ct.pkcs1", BD_PAD_PKCS1 }, { "ct.oaep1", BD_PAD_OAEP_SHA1 }, { "ct.oaep256", BD_PAD_OAEP_SHA256 },
};

/* Every openssl-made ciphertext decrypts to msg with its padding; the other paddings refuse it. */
static void check_decrypts(struct bd_privkey *k, const char *what)
{
	int ok = 1, refused = 1;
	char failed[256] = "";

	for (size_t i = 0; i < ARRAY_SIZE(cts); i++) {
		uint8_t ct[512], pt[512];
		size_t ctlen = read_file(cts[i].file, ct, sizeof(ct)), ptlen = sizeof(pt);
		int r = bd_privkey_decrypt(k, cts[i].padding, ct, ctlen, pt, &ptlen);
		if (r || ptlen != 32 || memcmp(pt, msg, 32)) {
			ok = 0;
			snprintf(failed + strlen(failed), sizeof(failed) - strlen(failed), " %s: %.100s", cts[i].file,
				 r ? bd_last_error() : "wrong plaintext");
		}
		for (int o = BD_PAD_PKCS1; o <= BD_PAD_OAEP_SHA256; o++) {
			if (o == cts[i].padding || (cts[i].padding == BD_PAD_PKCS1 && o != BD_PAD_PKCS1 && 0))
				continue;
			ptlen = sizeof(pt);
			r = bd_privkey_decrypt(k, o, ct, ctlen, pt, &ptlen);
			/* PKCS#1 v1.5 can accept an OAEP block by chance (about 2^-16); a match with msg cannot */
			refused &= r == BD_ERR_WRONG_KEY || (r == 0 && (ptlen != 32 || memcmp(pt, msg, 32)));
		}
	}
	CHECK(ok, "%s: openssl's PKCS#1 v1.5, OAEP SHA-1 and OAEP SHA-256 ciphertexts decrypt%.150s", what, failed);
	CHECK(refused, "%s: each ciphertext is refused with the other paddings", what);
}

static void test_file_keys(void)
{
	static const char *plain[] = { "key.pem", "key.der", "key-rsa.pem", "bundle.pem" };
	static const char *enc[] = { "key-enc.pem", "key-enc.der", "key-rsa-enc.pem" };
	struct bd_privkey *k;
	struct bd_rsa_pub pub;
	char p[512];
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
		path(p, sizeof(p), plain[i]);
		r = bd_privkey_from_file(p, NULL, &k);
		CHECK(r == 0 && bd_privkey_source(k) == BD_KEY_SRC_FILE, "load %s", plain[i]);
		if (r)
			continue;
		check_decrypts(k, plain[i]);
		CHECK(!bd_privkey_public(k, &pub) && bd_rsa_pub_equal(&pub, &file_pub) && pub.bits == 2048 &&
		      bd_rsa_pub_exponent(&pub) == 65537, "%s: public key is the key's", plain[i]);
		bd_privkey_free(k);
	}
	for (size_t i = 0; i < ARRAY_SIZE(enc); i++) {
		path(p, sizeof(p), enc[i]);
		r = bd_privkey_from_file(p, "secret-pw", &k);
		CHECK(r == 0, "load encrypted %s with its password", enc[i]);
		if (!r) {
			check_decrypts(k, enc[i]);
			bd_privkey_free(k);
		}
		k = NULL;
		r = bd_privkey_from_file(p, NULL, &k);
		CHECK(r == BD_ERR_NO_PROTECTOR && !k && strstr(bd_last_error(), "encrypted"),
		      "encrypted %s without a password: no-secret code (%s)", enc[i], bd_last_error());
		r = bd_privkey_from_file(p, "wrong-pw", &k);
		CHECK(r == BD_ERR_WRONG_KEY && !k, "encrypted %s, wrong password: wrong-key code (%s)", enc[i],
		      bd_last_error());
	}
	path(p, sizeof(p), "cert.pem");
	r = bd_privkey_from_file(p, NULL, &k);
	CHECK(r == BD_ERR_INVALID, "a certificate is not a key file (%s)", bd_last_error());
	path(p, sizeof(p), "key.p12");
	r = bd_privkey_from_file(p, NULL, &k);
	CHECK(r == BD_ERR_INVALID && strstr(bd_last_error(), "PKCS#12"),
	      "a PKCS#12 file given as a key file says so (%s)", bd_last_error());
	path(p, sizeof(p), "ec.pem");
	r = bd_privkey_from_file(p, NULL, &k);
	CHECK(r == BD_ERR_UNSUPPORTED, "an EC key is refused (%s)", bd_last_error());
	path(p, sizeof(p), "missing.pem");
	r = bd_privkey_from_file(p, NULL, &k);
	CHECK(r == BD_ERR_IO, "a missing file: I/O code (%s)", bd_last_error());

	/* the certificate that came in the PEM bundle */
	uint8_t fp[20], tp[20];
	char txt[256] = "";
	read_file("fp.txt", (uint8_t *)txt, sizeof(txt) - 1);
	int fpn = parse_colon_hex(strchr(txt, '=') ? strchr(txt, '=') + 1 : txt, fp, sizeof(fp));
	path(p, sizeof(p), "bundle.pem");
	if (!bd_privkey_from_file(p, NULL, &k)) {
		CHECK(fpn == 20 && bd_privkey_cert_thumbprint(k, tp) && !memcmp(tp, fp, 20),
		      "PEM bundle: its certificate's thumbprint is openssl's SHA-1 fingerprint");
		bd_privkey_free(k);
	}
	path(p, sizeof(p), "key.pem");
	if (!bd_privkey_from_file(p, NULL, &k)) {
		CHECK(!bd_privkey_cert_thumbprint(k, tp), "a bare key has no certificate");
		bd_privkey_free(k);
	}
}

static void test_pkcs12(void)
{
	struct bd_privkey *k = NULL;
	uint8_t fp[20], tp[20];
	char p[512], txt[256] = "";
	int r;

	read_file("fp.txt", (uint8_t *)txt, sizeof(txt) - 1);
	parse_colon_hex(strchr(txt, '=') ? strchr(txt, '=') + 1 : txt, fp, sizeof(fp));
	path(p, sizeof(p), "key.p12");
	r = bd_privkey_from_pkcs12(p, "p12-pw", &k);
	CHECK(r == 0 && bd_privkey_source(k) == BD_KEY_SRC_PKCS12, "PKCS#12 from openssl pkcs12 -export loads");
	if (!r) {
		check_decrypts(k, "PKCS#12");
		CHECK(bd_privkey_cert_thumbprint(k, tp) && !memcmp(tp, fp, 20), "PKCS#12: certificate thumbprint");
		bd_privkey_free(k);
	}
	k = NULL;
	r = bd_privkey_from_pkcs12(p, NULL, &k);
	CHECK(r == BD_ERR_NO_PROTECTOR && !k, "PKCS#12 without its password: no-secret code (%s)", bd_last_error());
	r = bd_privkey_from_pkcs12(p, "nope", &k);
	CHECK(r == BD_ERR_WRONG_KEY && !k, "PKCS#12 with a wrong password: wrong-key code (%s)", bd_last_error());
	path(p, sizeof(p), "key-nopw.p12");
	r = bd_privkey_from_pkcs12(p, NULL, &k);
	CHECK(r == 0, "PKCS#12 exported with an empty password loads without one");
	if (!r) {
		check_decrypts(k, "PKCS#12 (empty password)");
		bd_privkey_free(k);
	}
	path(p, sizeof(p), "key-legacy.p12");
	r = bd_privkey_from_pkcs12(p, "p12-pw", &k);
	CHECK(r == 0, "PKCS#12 with legacy ciphers (openssl pkcs12 -legacy: RC2/3DES) loads (%s)",
	      r ? bd_last_error() : "ok");
	if (!r) {
		check_decrypts(k, "PKCS#12 -legacy");
		bd_privkey_free(k);
	}
	path(p, sizeof(p), "key.pem");
	r = bd_privkey_from_pkcs12(p, NULL, &k);
	CHECK(r == BD_ERR_INVALID, "a PEM key is not a PKCS#12 file (%s)", bd_last_error());
}

static int accept_msg(const uint8_t *pt, size_t len, void *ud)
{
	int *calls = ud;

	(*calls)++;
	return len == 32 && !memcmp(pt, msg, 32) ? 0 : BD_ERR_WRONG_KEY;
}

static int accept_never(const uint8_t *pt, size_t len, void *ud)
{
	int *calls = ud;

	(*calls)++;
	return BD_ERR_WRONG_KEY;
}

static int accept_stop(const uint8_t *pt, size_t len, void *ud)
{
	return BD_ERR_CORRUPT;
}

static void test_encrypt_and_try(void)
{
	struct bd_privkey *k = NULL, *other = NULL;
	char p[512];
	int ok = 1;

	/* bdkit's encryption judged by openssl pkeyutl -decrypt */
	static const char *opts[] = { "", "-pkeyopt rsa_padding_mode:oaep",
		"-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256" };
	for (int pad = BD_PAD_PKCS1; pad <= BD_PAD_OAEP_SHA256; pad++) {
		uint8_t ct[512], back[64];
		size_t ctlen = sizeof(ct);
		int r = bd_rsa_encrypt(&file_pub, pad, msg, 32, ct, &ctlen);
		if (r || ctlen != 256 || write_file("bd.ct", ct, ctlen) ||
		    sh("cd %s && openssl pkeyutl -decrypt -inkey key.pem %s -in bd.ct -out bd.pt 2>>log", dir,
		       opts[pad - 1]) || read_file("bd.pt", back, sizeof(back)) != 32 || memcmp(back, msg, 32))
			ok = 0;
	}
	CHECK(ok, "bdkit's RSA encryption (each padding) decrypts with openssl pkeyutl");

	path(p, sizeof(p), "key.pem");
	if (bd_privkey_from_file(p, NULL, &k))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(cts); i++) {
		uint8_t ct[512];
		size_t ctlen = read_file(cts[i].file, ct, sizeof(ct));
		int pad = 0, rev = -1, calls = 0;
		int r = bd_privkey_decrypt_try(k, ct, ctlen, accept_msg, &calls, &pad, &rev);
		CHECK(r == 0 && pad == cts[i].padding && rev == 0, "decrypt_try finds %s (%s)", cts[i].file,
		      bd_rsa_padding_name(pad));
	}
	/* the ciphertext stored byte-reversed (as CryptoAPI would) */
	uint8_t ct[512], rct[512];
	size_t ctlen = 0;
	for (int tries = 0; tries < 64; tries++) {
		ctlen = sizeof(ct);
		if (bd_rsa_encrypt(&file_pub, BD_PAD_OAEP_SHA1, msg, 32, ct, &ctlen))
			break;
		for (size_t i = 0; i < ctlen; i++)
			rct[i] = ct[ctlen - 1 - i];
		if (memcmp(ct, file_pub.n, ctlen) < 0)   /* the reversed block must be a valid one */
			break;
	}
	int pad = 0, rev = -1, calls = 0;
	CHECK(bd_privkey_decrypt_try(k, rct, ctlen, accept_msg, &calls, &pad, &rev) == 0 && pad == BD_PAD_OAEP_SHA1 &&
	      rev == 1, "decrypt_try finds a byte-reversed OAEP ciphertext");
	ctlen = read_file("ct.oaep256", ct, sizeof(ct));
	calls = 0;
	int r = bd_privkey_decrypt_try(k, ct, ctlen, accept_never, &calls, NULL, NULL);
	CHECK(r == BD_ERR_WRONG_KEY && calls >= 1, "nothing accepted: wrong-key code after %d candidate(s) (%s)",
	      calls, bd_last_error());
	CHECK(bd_privkey_decrypt_try(k, ct, ctlen, accept_stop, NULL, NULL, NULL) == BD_ERR_CORRUPT,
	      "another error from accept stops the search");
	path(p, sizeof(p), "other.pem");
	if (!bd_privkey_from_file(p, NULL, &other)) {
		calls = 0;
		CHECK(bd_privkey_decrypt_try(other, ct, ctlen, accept_msg, &calls, NULL, NULL) == BD_ERR_WRONG_KEY,
		      "another key: wrong-key code");
		bd_privkey_free(other);
	}
	CHECK(bd_privkey_decrypt_try(k, ct, 100, accept_msg, &calls, NULL, NULL) == BD_ERR_WRONG_KEY,
	      "a ciphertext of another size: wrong-key code");
	bd_privkey_free(k);
}

static void test_certs(void)
{
	struct bd_cert *c = NULL;
	struct bd_rsa_pub pub;
	uint8_t fp[20], tp[20], ski[20], kid[20];
	char p[512], txt[512] = "", subj[256];
	int r;

	read_file("fp.txt", (uint8_t *)txt, sizeof(txt) - 1);
	int fpn = parse_colon_hex(strchr(txt, '=') ? strchr(txt, '=') + 1 : txt, fp, sizeof(fp));
	memset(txt, 0, sizeof(txt));
	read_file("ski.txt", (uint8_t *)txt, sizeof(txt) - 1);
	int skin = parse_colon_hex(strchr(txt, '\n') ? strchr(txt, '\n') + 1 : txt, ski, sizeof(ski));
	for (int der = 0; der < 2; der++) {
		path(p, sizeof(p), der ? "cert.der" : "cert.pem");
		r = bd_cert_load(p, &c);
		CHECK(r == 0, "certificate loads (%s)", der ? "DER .cer" : "PEM");
		if (r)
			continue;
		bd_cert_thumbprint(c, tp);
		CHECK(fpn == 20 && !memcmp(tp, fp, 20), "%s: thumbprint = openssl x509 -fingerprint -sha1",
		      der ? "DER" : "PEM");
		bd_cert_subject(c, subj, sizeof(subj));
		CHECK(!strcmp(subj, "CN=bdkit-test"), "subject %.64s", subj);
		CHECK(!bd_cert_public(c, &pub) && bd_rsa_pub_equal(&pub, &file_pub), "certificate's key is the key's");
		CHECK(!bd_rsa_pub_key_id(&pub, kid) && skin == 20 && !memcmp(kid, ski, 20),
		      "public key SHA-1 = the subject key identifier openssl wrote");
		bd_cert_free(c);
	}
	static const struct { const char *file; int dra; int want; } usage[] = {
		{ "cert.pem", 0, 0 },                 /* keyEncipherment, BitLocker EKU */
		{ "cert.pem", 1, BD_ERR_INVALID },    /* no DRA EKU */
		{ "cert-dra.pem", 1, 0 },
		{ "cert-dra.pem", 0, 0 },
		{ "cert-sign.pem", 0, BD_ERR_INVALID },   /* digitalSignature only */
		{ "cert-server.pem", 0, BD_ERR_INVALID }, /* EKU without a BitLocker OID */
		{ "cert-any.pem", 0, 0 },             /* anyExtendedKeyUsage */
		{ "cert-noext.pem", 0, 0 },           /* no key usage, no EKU: accepted */
		{ "cert-noext.pem", 1, BD_ERR_INVALID },
		{ "cert-ec.pem", 0, BD_ERR_UNSUPPORTED },
	};
	for (size_t i = 0; i < ARRAY_SIZE(usage); i++) {
		path(p, sizeof(p), usage[i].file);
		if (bd_cert_load(p, &c)) {
			CHECK(0, "load %s", usage[i].file);
			continue;
		}
		r = bd_cert_check_usage(c, usage[i].dra);
		CHECK(r == usage[i].want, "usage check %s%s: %s", usage[i].file, usage[i].dra ? " as DRA" : "",
		      r ? bd_last_error() : "accepted");
		bd_cert_free(c);
	}
	path(p, sizeof(p), "key.pem");
	r = bd_cert_load(p, &c);
	CHECK(r == BD_ERR_INVALID, "a key is not a certificate (%s)", bd_last_error());
	/* CNG blob round trip */
	uint8_t blob[600];
	struct bd_rsa_pub back;
	long bl = bd_rsa_pub_to_cng(&file_pub, blob, sizeof(blob));
	CHECK(bl == 24 + 3 + 256 && le32(blob) == BD_CNG_RSA1 && le32(blob + 4) == 2048 &&
	      !bd_rsa_pub_from_cng(blob, (size_t)bl, &back) && bd_rsa_pub_equal(&back, &file_pub),
	      "CNG RSA1 blob: 283 bytes like the real volume's, and back");
	put_le32(blob + 4, 2047);
	CHECK(bd_rsa_pub_from_cng(blob, (size_t)bl, &back) == BD_ERR_CORRUPT, "blob with a wrong bit length refused");
	CHECK(bd_rsa_pub_from_cng(blob, 100, &back) == BD_ERR_CORRUPT, "truncated blob refused");
}

/* ---- 3. a SoftHSM2 token ---- */

static const char *first_file(const char *const *cands)
{
	for (; *cands; cands++)
		if (!access(*cands, R_OK))
			return *cands;
	return NULL;
}

static int count_in_file(const char *file, const char *needle)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static void test_softhsm(void)
{
	static const char *const hsm_c[] = { "/usr/lib/softhsm/libsofthsm2.so",
		"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", "/usr/lib64/pkcs11/libsofthsm2.so", NULL };
	static const char *const spy_c[] = { "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so",
		"/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so", "/usr/lib64/pkcs11-spy.so", NULL };
	const char *hsm = first_file(hsm_c), *spy = first_file(spy_c);
	char conf[512], uri[1024], log[512], p[512];
	struct bd_privkey *k = NULL;
	struct bd_rsa_pub pub;
	int r;

	if (!hsm || !tool_ok("softhsm2-util") || !tool_ok("pkcs11-tool")) {
		SKIP("SoftHSM2 token: softhsm2 or pkcs11-tool (opensc) missing; scripts/install-deps.sh installs them");
		return;
	}
	/* the token lives in our temporary directory, with its own configuration */
	path(conf, sizeof(conf), "softhsm2.conf");
	if (sh("cd %s && mkdir tokens && printf 'directories.tokendir = %s/tokens\\nobjectstore.backend = file\\n"
	       "log.level = ERROR\\n' > softhsm2.conf", dir, dir) || setenv("SOFTHSM2_CONF", conf, 1) ||
	    sh("cd %s && exec >>log 2>&1; set -e\n"
	       "softhsm2-util --init-token --free --label bdkit-test --so-pin 87654321 --pin 123456\n"
	       "pkcs11-tool --module %s --token-label bdkit-test --login --pin 123456 --write-object key.der "
	       "--type privkey --id 42 --label bdkit-key\n"
	       "pkcs11-tool --module %s --token-label bdkit-test --login --pin 123456 --write-object cert.der "
	       "--type cert --id 42 --label bdkit-key\n", dir, hsm, hsm)) {
		CHECK(0, "set up the SoftHSM2 token (see %s/log)", dir);
		return;
	}
	snprintf(uri, sizeof(uri), "pkcs11:token=bdkit-test;object=bdkit-key");
	r = bd_privkey_from_pkcs11(uri, "123456", hsm, &k);
	CHECK(r == 0 && bd_privkey_source(k) == BD_KEY_SRC_PKCS11, "SoftHSM2 key loads by URI with the PIN (%s)",
	      r ? bd_last_error() : "ok");
	if (r == BD_ERR_UNSUPPORTED) {
		SKIP("PKCS#11: %s", bd_last_error());
		return;
	}
	if (!r) {
		check_decrypts(k, "SoftHSM2");
		CHECK(!bd_privkey_public(k, &pub) && bd_rsa_pub_equal(&pub, &file_pub), "token key's public half");
		uint8_t ct[512];
		size_t ctlen = read_file("ct.oaep1", ct, sizeof(ct));
		int pad = 0, rev = -1, calls = 0;
		r = bd_privkey_decrypt_try(k, ct, ctlen, accept_msg, &calls, &pad, &rev);
		CHECK(r == 0 && pad == BD_PAD_OAEP_SHA1 && !rev, "decrypt_try on the token (%s)", bd_rsa_padding_name(pad));
		bd_privkey_free(k);
	}
	/* the module named in the URI (RFC 7512 query attribute) */
	snprintf(uri, sizeof(uri), "pkcs11:token=bdkit-test;object=bdkit-key?module-path=%s", hsm);
	r = bd_privkey_from_pkcs11(uri, "123456", NULL, &k);
	CHECK(r == 0, "module-path in the URI (%s)", r ? bd_last_error() : "ok");
	if (!r)
		bd_privkey_free(k);
	/* no module given: every module registered with p11-kit (Debian's softhsm2 registers itself) */
	if (!access("/usr/share/p11-kit/modules/softhsm2.module", R_OK)) {
		snprintf(uri, sizeof(uri), "pkcs11:token=bdkit-test;object=bdkit-key");
		r = bd_privkey_from_pkcs11(uri, "123456", NULL, &k);
		CHECK(r == 0, "no module given: found through p11-kit's registered modules (%s)", r ? bd_last_error() : "ok");
		if (!r) {
			uint8_t tp[20], fp[20];
			char txt[256] = "";
			read_file("fp.txt", (uint8_t *)txt, sizeof(txt) - 1);
			parse_colon_hex(strchr(txt, '=') ? strchr(txt, '=') + 1 : txt, fp, sizeof(fp));
			CHECK(bd_privkey_cert_thumbprint(k, tp) && !memcmp(tp, fp, 20),
			      "the token's certificate (same CKA_ID) gives the thumbprint");
			bd_privkey_free(k);
		}
	}
	snprintf(uri, sizeof(uri), "pkcs11:token=no-such-token");
	r = bd_privkey_from_pkcs11(uri, "123456", hsm, &k);
	CHECK(r == BD_ERR_INVALID && strstr(bd_last_error(), "bdkit-test"), "an unknown token: invalid code, names "
	      "the tokens present (%s)", bd_last_error());
	snprintf(uri, sizeof(uri), "pkcs11:token=bdkit-test;object=no-such-key");
	r = bd_privkey_from_pkcs11(uri, "123456", hsm, &k);
	CHECK(r == BD_ERR_INVALID, "an unknown object: invalid code (%s)", bd_last_error());
	snprintf(uri, sizeof(uri), "pkcs11:token=bdkit-test;object=bdkit-key");
	r = bd_privkey_from_pkcs11(uri, NULL, hsm, &k);
	CHECK(r == BD_ERR_NO_PROTECTOR, "no PIN: no-secret code, nothing prompted (%s)", bd_last_error());
	r = bd_privkey_from_pkcs11("token=bdkit-test", "123456", hsm, &k);
	CHECK(r == BD_ERR_INVALID, "not a pkcs11: URI (%s)", bd_last_error());
	path(p, sizeof(p), "no-module.so");
	r = bd_privkey_from_pkcs11(uri, "123456", p, &k);
	CHECK(r == BD_ERR_UNSUPPORTED, "a missing module (%s)", bd_last_error());

	/* a wrong PIN is tried exactly once: OpenSC's pkcs11-spy logs every call to the module */
	if (!spy) {
		SKIP("wrong PIN: pkcs11-spy.so (opensc-pkcs11) missing");
		return;
	}
	/* in a child process: pkcs11-spy leaks at exit (LeakSanitizer would blame this test), and its
	 * settings live in the environment */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		path(log, sizeof(log), "spy.log");
		setenv("PKCS11SPY", hsm, 1);
		setenv("PKCS11SPY_OUTPUT", log, 1);
		r = bd_privkey_from_pkcs11(uri, "999999", spy, &k);
		int logins = count_in_file(log, "C_Login");
		int incorrect = count_in_file(log, "CKR_PIN_INCORRECT");
		CHECK(r == BD_ERR_WRONG_KEY && strstr(bd_last_error(), "wrong PIN"), "wrong PIN: wrong-key code (%s)",
		      bd_last_error());
		CHECK(logins == 1 && incorrect == 1, "wrong PIN: one C_Login, answered CKR_PIN_INCORRECT (%d logins)",
		      logins);
		/* the spy keeps its log open for the process: count what this load adds */
		r = bd_privkey_from_pkcs11(uri, "123456", spy, &k);
		CHECK(r == 0 && count_in_file(log, "C_Login") == logins + 1, "right PIN through the spy: one more C_Login");
		if (!r)
			bd_privkey_free(k);
		fflush(stdout);
		_exit(check_failures ? 1 : 0);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		CHECK(0, "wrong-PIN checks in a child process (status %d)", st);
}

/* ---- 4. a protector added by bdkit, opened by the per-kind step and bd_unlock_private_key ---- */

static void test_add_and_unlock(void)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	char img[512], copy[512], p[512], cert[512];
	struct bd_open_opts rw = BD_OPEN_OPTS_INIT(.offset = -1, .writable = 1), ro = BD_OPEN_OPTS_INIT(.offset = -1);
	struct bd_protector_new nw;
	uint8_t vmk_rp[32], vmk[32];
	struct bd_privkey *k = NULL;
	bd_volume *v = NULL;
	int r, pad = 0, rev = -1;
	size_t idx;

	snprintf(img, sizeof(img), "%s/testdata/bitlk-images/bitlk-aes-xts-128-smart-card.img", build);
	if (access(img, R_OK)) {
		SKIP("add certificate: real images not unpacked (tests/unpack-images.sh)");
		return;
	}
	path(copy, sizeof(copy), "sc-copy.img");
	path(cert, sizeof(cert), "cert.pem");
	if (sh("cp --sparse=always %s %s", img, copy)) {
		CHECK(0, "copy the smart-card volume");
		return;
	}
	r = bd_volume_open(copy, &rw, &v);
	if (!r)
		r = bd_unlock_recovery_password(v, SC_RP);
	CHECK(r == 0, "copy of the smart-card volume opens writable with its recovery password");
	if (r)
		goto out;
	memcpy(vmk_rp, v->vmk->data, 32);
	/* refused certificates: nothing written (checked by the unlock below still finding only one) */
	path(p, sizeof(p), "cert-sign.pem");
	r = bd_protector_add_certificate(v, p, 0, NULL, &nw);
	CHECK(r == BD_ERR_INVALID, "a certificate without keyEncipherment is refused (%s)", bd_last_error());
	r = bd_protector_add_certificate(v, cert, 1, NULL, &nw);
	CHECK(r == BD_ERR_INVALID, "--dra with a certificate lacking the DRA EKU is refused (%s)", bd_last_error());
	path(p, sizeof(p), "cert-ec.pem");
	r = bd_protector_add_certificate(v, p, 0, NULL, &nw);
	CHECK(r == BD_ERR_UNSUPPORTED || r == BD_ERR_INVALID, "an EC certificate is refused (%s)", bd_last_error());
	r = bd_protector_add_certificate(v, cert, 0, NULL, &nw);
	CHECK(r == 0, "certificate protector added (%s)", r ? bd_last_error() : "ok");
	bd_volume_close(v);
	v = NULL;
	if (r)
		goto out;

	r = bd_volume_open(copy, &ro, &v);
	CHECK(r == 0 && v->n_prot == 3, "reopened: three protectors");
	if (r)
		goto out;
	r = bd_protector_find(v, nw.guid, &idx);
	CHECK(r == 0 && idx == 2 && v->prot[idx].info.type == BD_PROT_PUBLIC_KEY,
	      "the new protector is a public-key one, after the last VMK entry");
	if (r)
		goto out;
	/* the datum tree: types, roles, versions, sizes and order of the real sample's entry */
	{
		static const struct { uint16_t size, role, type; } tree[] = {
			{ 264, 0x0000, 0x000C }, { 291, 0x000C, 0x000D }, { 45, 0x0000, 0x000E },
			{ 92, 0x0000, 0x0004 }, { 80, 0x0000, 0x0005 },
		};
		struct bd_datum_iter it;
		struct bd_datum d, c;
		size_t n = 0;
		int same = v->prot[idx].datum.size == 808 && v->prot[idx].datum.version == 1;
		bd_datum_iter_children(&it, &v->prot[idx].datum);
		while (bd_datum_next(&it, &d) > 0) {
			if (n >= ARRAY_SIZE(tree) || d.size != tree[n].size || d.role != tree[n].role ||
			    d.type != tree[n].type || d.version != 1)
				same = 0;
			n++;
		}
		same = same && n == ARRAY_SIZE(tree);
		struct bd_pk_prot pk;
		same = same && !bd_pk_prot_parse(&v->prot[idx].datum, &pk) &&
		       bd_datum_find_child(&pk.use_key, -1, BD_DT_AES_CCM, &c) && c.size == 80 && c.version == 1 &&
		       pk.cert_type == 2 && pk.info_tail_len == 1 && pk.use_key_type == 0x2006;
		CHECK(same, "bdkit's entry has the sample's tree: 808 bytes, 264/291(role 0xC)/45/92{80}/80");
		/* the per-kind step on the bdkit-added protector */
		path(p, sizeof(p), "key.pem");
		if (!bd_privkey_from_file(p, NULL, &k)) {
			CHECK(bd_pk_prot_matches(&pk, k), "the key matches the new protector");
			r = bd_pk_prot_open(&pk, k, vmk, &pad, &rev);
			CHECK(r == 0 && !memcmp(vmk, vmk_rp, 32) && pad == BD_PAD_OAEP_SHA1 && rev == 0,
			      "private key + protector -> the VMK the recovery password gives (padding %s)",
			      bd_rsa_padding_name(pad));
			bd_privkey_free(k);
			k = NULL;
		}
		/* the real sample's protector does not match this key (another card) */
		struct bd_pk_prot real;
		if (!bd_pk_prot_parse(&v->prot[0].datum, &real) && !bd_privkey_from_file(p, NULL, &k)) {
			CHECK(!bd_pk_prot_matches(&real, k), "the key does not match the Windows smart-card protector");
			bd_privkey_free(k);
			k = NULL;
		}
	}
	bd_volume_close(v);
	v = NULL;

	/* the whole volume, by each source of the key */
	static const char *const srcs[] = { "key.pem", "key-enc.pem", "key.p12", "bundle.pem" };
	for (size_t i = 0; i < ARRAY_SIZE(srcs); i++) {
		path(p, sizeof(p), srcs[i]);
		r = strstr(srcs[i], ".p12") ? bd_privkey_from_pkcs12(p, "p12-pw", &k)
					    : bd_privkey_from_file(p, strstr(srcs[i], "enc") ? "secret-pw" : NULL, &k);
		if (!r)
			r = bd_volume_open(copy, &ro, &v);
		pad = 0;
		if (!r)
			r = bd_unlock_private_key(v, k, &pad);
		struct bd_info info;
		CHECK(r == 0 && !bd_volume_info(v, &info) && info.unlocked && !memcmp(v->vmk->data, vmk_rp, 32) &&
		      !memcmp(info.unlock_protector, nw.guid, 16) && pad == BD_PAD_OAEP_SHA1,
		      "volume unlocks with the private key from %s (%s)", srcs[i], r ? bd_last_error() : "ok");
		bd_privkey_free(k);
		k = NULL;
		bd_volume_close(v);
		v = NULL;
	}
	/* through the door: bd_unlock with a wrong recovery password first, then the private key */
	path(p, sizeof(p), "key.pem");
	r = bd_privkey_from_file(p, NULL, &k);
	if (!r)
		r = bd_volume_open(copy, &ro, &v);
	if (!r) {
		struct bd_secrets sec = BD_SECRETS_INIT;
		const char *wrong = "000000-000000-000000-000000-000000-000000-000000-000000";
		struct bd_privkey *keys[1] = { k };
		struct bd_info info;
		sec.recovery_passwords = &wrong;
		sec.n_recovery_passwords = 1;
		sec.private_keys = keys;
		sec.n_private_keys = 1;
		r = bd_unlock(v, &sec);
		CHECK(r == 0 && !bd_volume_info(v, &info) && !memcmp(info.unlock_protector, nw.guid, 16),
		      "bd_unlock (the door) with a wrong recovery password and the private key: the certificate "
		      "protector opens it (%s)", r ? bd_last_error() : "ok");
	}
	bd_privkey_free(k);
	k = NULL;
	bd_volume_close(v);
	v = NULL;
	/* a key that matches no protector: wrong-key code, the thumbprints listed */
	path(p, sizeof(p), "other.pem");
	r = bd_privkey_from_file(p, NULL, &k);
	if (!r)
		r = bd_volume_open(copy, &ro, &v);
	if (!r) {
		r = bd_unlock_private_key(v, k, NULL);
		CHECK(r == BD_ERR_WRONG_KEY && strstr(bd_last_error(), "FB23E268A833A7F330D1B427CF2EF6C8DBE14E0F") &&
		      !v->unlocked, "a key for no protector: wrong-key code, thumbprints listed (%s)", bd_last_error());
	}
	bd_privkey_free(k);
	k = NULL;
	bd_volume_close(v);
	v = NULL;

	/* removed again: the public-key protector count is back to the sample's one */
	r = bd_volume_open(copy, &rw, &v);
	if (!r)
		r = bd_unlock_recovery_password(v, SC_RP);
	if (!r)
		r = bd_protector_remove(v, nw.guid, NULL);
	CHECK(r == 0 && v->n_prot == 2, "the certificate protector is removed (%s)", r ? bd_last_error() : "ok");
out:
	bd_volume_close(v);
}

int main(void)
{
	test_real_volume();
	if (!tool_ok("openssl")) {
		SKIP("keys: the openssl command is missing (Debian: openssl)");
		CHECK_DONE();
	}
	if (make_keys()) {
		CHECK(0, "make test keys with openssl (see %s/log)", dir);
		CHECK_DONE();
	}
	read_file("msg", msg, sizeof(msg));
	{
		char p[512];
		struct bd_privkey *k;
		path(p, sizeof(p), "key.pem");
		if (!bd_privkey_from_file(p, NULL, &k)) {
			bd_privkey_public(k, &file_pub);
			bd_privkey_free(k);
		}
	}
	test_file_keys();
	test_pkcs12();
	test_encrypt_and_try();
	test_certs();
	test_softhsm();
	test_add_and_unlock();
	if (!getenv("KEEP"))
		sh("rm -rf %s", dir);
	CHECK_DONE();
}
