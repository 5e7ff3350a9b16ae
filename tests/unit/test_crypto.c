/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Crypto layer against the spec vectors: format.md appendix A (V1-V6, diffuser, Elephant) and B (S1-S6). */
#include <stdlib.h>
#include <time.h>
#include <openssl/evp.h>

#include "check.h"
#include "crypto.h"
#include "internal.h"

static uint8_t *hexbuf(const char *hex, size_t *len)
{
	size_t max = strlen(hex) / 2 + 1;
	uint8_t *b = malloc(max);
	int n = hex2bin(hex, b, max);

	if (n < 0) {
		fprintf(stderr, "bad hex in test\n");
		exit(2);
	}
	if (len)
		*len = (size_t)n;
	return b;
}

static int eqhex(const uint8_t *p, size_t len, const char *hex)
{
	char buf[1024];

	if (len * 2 + 1 > sizeof(buf))
		return 0;
	bin2hex(p, len, buf);
	return strcmp(buf, hex) == 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ccm_unbox (§4.2): decrypt and check the KEY-datum shape; returns the plaintext or NULL. */
static uint8_t *unbox(const uint8_t key[32], const char *nonce_hex, const char *mac_hex, const char *ct_hex,
		      size_t *len, int *rc)
{
	uint8_t nonce[12], mac[16];
	size_t n;
	uint8_t *ct = hexbuf(ct_hex, &n), *pt = malloc(n ? n : 1);

	hex2bin(nonce_hex, nonce, 12);
	hex2bin(mac_hex, mac, 16);
	*rc = bd_ccm_decrypt(key, nonce, mac, ct, n, pt);
	free(ct);
	*len = n;
	if (*rc) {
		free(pt);
		return NULL;
	}
	return pt;
}

static void test_v1(void)
{
	uint8_t h[32], salt[16], k[32];
	uint8_t *pt, *pt2, *pt3;
	size_t n;
	int rc;

	CHECK(bd_password_hash("password12!@", h) == 0 &&
	      eqhex(h, 32, "13619bc65aa48e435f886990fd217df64076017f03bbade46df0173973dd7dd1"), "V1 password hash");
	hex2bin("d1452db599a1ec21aa4dd2d8c4bd8740", salt, 16);
	bd_stretch(h, salt, k);
	CHECK(eqhex(k, 32, "0b768537209c5b0cfbc4261bfd321a493d565bd65b3643bf651a0aa82f85c35a"), "V1 stretch (auto)");
	pt = unbox(k, "a0a191956fbcd70103000000", "4cf3374779f1c5a844dc44202d4b2db5",
		   "891d61a0a22024669df64946d33165b774b5da584f523744121da5a1e990166dfe8977ef542730231787b227",
		   &n, &rc);
	CHECK(rc == 0 && pt && eqhex(pt, n, "2c00000001000000032000003284afd5d5e916d013b24851973a8eab4c9b4404aef206ae9d355b9b51936e3b"),
	      "V1 VMK unwrap");
	if (!pt)
		return;
	CHECK(le16(pt) == n && le16(pt + 4) == 1, "V1 VMK payload shape");
	pt2 = unbox(pt + 12, "b0a5ff956fbcd70106000000", "216851bf306de45e284f06246b151577",
		    "bbb2e9d8d8bae2656330a535b6b4aff3328d2f6742080d799eb3c1a9", &n, &rc);
	CHECK(rc == 0 && pt2 && eqhex(pt2, n, "1c000000010000000280000084c3a3157e5f21dee140005220bc940e"), "V1 FVEK unwrap");
	pt3 = unbox(pt + 12, "a42102966fbcd78107000000", "135ac0965f0a908f761127855b0a87d7",
		    "b1e716233b7dfb95a15a2f7fab041a562b66764cd7a097fd7a8e3e0c3392da0d1a79ead26cc5a81411755867", &n, &rc);
	CHECK(rc == 0 && pt3 && eqhex(pt3, n, "2c0000000100000005200000440bdaf38bd16bd393a32bf2e0e740e6fc273c309f295c21af12eb6aa726a92b"),
	      "V1 validation unwrap");
	free(pt);
	free(pt2);
	free(pt3);
	/* wrong key: the stretched key itself is not the VMK */
	pt = unbox(k, "b0a5ff956fbcd70106000000", "216851bf306de45e284f06246b151577",
		   "bbb2e9d8d8bae2656330a535b6b4aff3328d2f6742080d799eb3c1a9", &n, &rc);
	CHECK(rc == BD_ERR_WRONG_KEY && !pt, "V1 FVEK with wrong key -> BD_ERR_WRONG_KEY");
	free(pt);
}

/* Parse a recovery password into key16 (test-local: the real parser belongs to the unlock code). */
static int recovery_key16(const char *pw, uint8_t key16[16])
{
	for (int i = 0; i < 8; i++) {
		unsigned v = (unsigned)strtoul(pw + 7 * i, NULL, 10);
		if (v % 11 || v / 11 > 0xffff)
			return -1;
		put_le16(key16 + 2 * i, (uint16_t)(v / 11));
	}
	return 0;
}

static void test_v2_v3(void)
{
	const char *pw2 = "284867-596541-514998-422114-660297-261613-215424-199408";
	const char *pw3 = "517506-503998-044583-576191-587004-635965-501270-087802";
	uint8_t key16[16], h[32], salt[16], k[32];
	char txt[56];
	uint8_t *vmk;
	size_t n;
	int rc;

	recovery_key16(pw2, key16);
	CHECK(eqhex(key16, 16, "2965d7d3e2b6e6957beae75c804cd046"), "V2 key16");
	bd_recovery_password_format(key16, txt);
	CHECK(strcmp(txt, pw2) == 0, "V2 recovery password format round trip");
	bd_recovery_key_hash(key16, h);
	CHECK(eqhex(h, 32, "5c041444bd1400ab4e0c5ae8e0da0f8bbb01f1065827cc6ef6f1bdf3d7249305"), "V2 SHA256(key16)");
	hex2bin("6a762f0a5eafb9f72f1445f1351d0406", salt, 16);
	if (bd_stretch_impl(BD_STRETCH_OPENSSL, h, salt, k) == 0)
		CHECK(eqhex(k, 32, "d3bb066813b137043d0e20430beba4f52377e4172ba64a7e4aadde6be662ccd1"),
		      "V2 stretch (portable OpenSSL path)");
	vmk = unbox(k, "70acc2ac6fbcd70104000000", "6df94c53c145321fd7135a4446f4306f",
		    "367aa7cad543b3e03d7ede543655932f52f9967f170e82c3f27d680cc76ceab5ddfe005d40d33b4482284344", &n, &rc);
	CHECK(rc == 0 && vmk && eqhex(vmk, n, "2c0000000100000003200000016ba35b28ce3f4a629d8e4d41271818efe3e3488faf582e56f6f484e3ff65d2"),
	      "V2 VMK unwrap");
	free(vmk);

	recovery_key16(pw3, key16);
	CHECK(eqhex(key16, 16, "c6b7fab2d50f9dcc74d0d7e102b22e1f"), "V3 key16");
	bd_recovery_password_format(key16, txt);
	CHECK(strcmp(txt, pw3) == 0, "V3 recovery password format (leading zeros)");
	bd_recovery_key_hash(key16, h);
	hex2bin("ce8b23094d956bdd7c45a6df3b287f2a", salt, 16);
	rc = bd_stretch_impl(BD_STRETCH_SHANI, h, salt, k);
	if (rc == BD_ERR_UNSUPPORTED)
		SKIP("V3 stretch (SHA-NI path): CPU has no SHA extensions");
	else
		CHECK(eqhex(k, 32, "cae620075248d3835001ec60add2184c1851cd9508c99afd49552094abc22643"), "V3 stretch (SHA-NI path)");
}

static void test_v4_v5(void)
{
	uint8_t key[32];
	uint8_t *vmk;
	size_t n;
	int rc;

	hex2bin("7a70ca1ab390e00daf4d72c217c42bf67a39db94d76214733ae56acb1c5dd814", key, 32);
	vmk = unbox(key, "30d400b96fbcd70103000000", "ee5d85886f7294262a564dab7c7ab9ef",
		    "426acc9f118360088093d9a4aa423e66c0de8b2a3d600dfe997ccf6d889f68f550d6dacc4718546c829c0215", &n, &rc);
	CHECK(rc == 0 && vmk && eqhex(vmk, n, "2c000000010000000320000038ccc0986c0249c530e65fe18671fa41913eba51f50da7c96ef6b67f8ae2b031"),
	      "V4 BEK external key VMK unwrap");
	free(vmk);
	hex2bin("b54c90d8ae44e66ae508257889617dfe0b5d6c94423312a39c274d902d68979a", key, 32);
	vmk = unbox(key, "105825e706c9d70102000000", "b6c2570ec24d76d5d65049e52aaf8966",
		    "f8cc1ae36cd15d17399f63194993065c28b57862cb0a09efb7750270b725b02fe93e371a8de46405943489cb", &n, &rc);
	CHECK(rc == 0 && vmk && eqhex(vmk, n, "2c00000001000000032000003b7f6cf8cda9d5b1d29f042a39a3e24153b3d3b803c0b281fb586b5e6261e1fc"),
	      "V5 clear key VMK unwrap");
	free(vmk);
}

static void test_v6(void)
{
	uint8_t key16[16], h[32], salt[16], k[32], k2[32], k3[32];
	uint8_t u[10];
	char txt[56];
	int rc;

	for (int i = 0; i < 16; i++)
		salt[i] = (uint8_t)i;
	recovery_key16("000000-000000-000000-000000-000000-000000-000000-000000", key16);
	bd_recovery_key_hash(key16, h);
	CHECK(eqhex(h, 32, "374708fff7719dd5979ec875d56cd2286f6d3cf7ec317a3b25632aab28ec37bb"), "V6 zero recovery key hash");
	bd_recovery_password_format(key16, txt);
	CHECK(strcmp(txt, "000000-000000-000000-000000-000000-000000-000000-000000") == 0, "V6 zero recovery format");

	recovery_key16("111111-222222-333333-444444-555555-000011-000022-000033", key16);
	CHECK(eqhex(key16, 16, "7527ea4e5f76d49d49c5010002000300"), "V6 key16 (111111-...)");
	bd_recovery_key_hash(key16, h);
	CHECK(eqhex(h, 32, "97dd4d2d6debdefaa232c3e5d4f3d347d5a60de02591915a115cb8807f8b73af"), "V6 SHA256(key16) (111111-...)");
	double t0 = now();
	bd_stretch_impl(BD_STRETCH_OPENSSL, h, salt, k);
	double t1 = now();
	CHECK(eqhex(k, 32, "7d1150c247dd5e6068d2ba6d24ef867834f92297ff06dd4f7e44a0c1a464c801"), "V6 stretch (111111-..., portable)");
	rc = bd_stretch_impl(BD_STRETCH_SHANI, h, salt, k2);
	double t2 = now();
	if (rc == 0) {
		CHECK(memcmp(k, k2, 32) == 0, "V6 stretch SHA-NI == portable");
		printf("INFO: stretch (2^20 rounds): portable OpenSSL %.1f ms, SHA-NI %.1f ms\n",
		       (t1 - t0) * 1e3, (t2 - t1) * 1e3);
	} else {
		SKIP("V6 stretch SHA-NI == portable: CPU has no SHA extensions");
		printf("INFO: stretch (2^20 rounds): portable OpenSSL %.1f ms\n", (t1 - t0) * 1e3);
	}

	CHECK(bd_password_hash("TeSt", h) == 0 &&
	      eqhex(h, 32, "cff8520341df47f6a458a1283fbe18b431a1e7958abcbc035598d6c4dc98d60f"), "V6 'TeSt' password hash");
	CHECK(!eqhex(h, 32, "f8559b5acfab5409c126e8ac8a5939bffaa893f62ae8373b689ceea64bd47569"),
	      "V6 'TeSt' hash is not the NUL-terminated (libbde) variant");
	/* the WRONG variant really is the NUL-terminated input */
	memcpy(u, "T\0e\0S\0t\0\0\0", 10);
	bd_sha256(u, 10, k3);
	bd_sha256(k3, 32, k3);
	CHECK(eqhex(k3, 32, "f8559b5acfab5409c126e8ac8a5939bffaa893f62ae8373b689ceea64bd47569"),
	      "V6 NUL-terminated variant reproduces the libbde value");
	bd_stretch(h, salt, k);
	CHECK(eqhex(k, 32, "843f44ce206cc7a7b4e948c04fbaf61f791a33e67fb2efef6aebc6ae085b2c62"), "V6 'TeSt' stretch (auto)");
	CHECK(bd_password_hash("\xff\xfe", h) == BD_ERR_INVALID, "password hash rejects bad UTF-8");
}

static void test_ccm(void)
{
	uint8_t key[32], nonce[12], tag[16], pt[100], ct[100], back[100];
	int ok;

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 7 + 1);
	for (int i = 0; i < 12; i++)
		nonce[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < 100; i++)
		pt[i] = (uint8_t)(i ^ 0x5a);
	ok = bd_ccm_encrypt(key, nonce, pt, sizeof(pt), ct, tag) == 0 &&
	     bd_ccm_decrypt(key, nonce, tag, ct, sizeof(ct), back) == 0 && memcmp(back, pt, sizeof(pt)) == 0;
	CHECK(ok, "CCM encrypt/decrypt round trip");
	CHECK(memcmp(ct, pt, sizeof(pt)) != 0, "CCM ciphertext differs from plaintext");
	ct[50] ^= 1;
	CHECK(bd_ccm_decrypt(key, nonce, tag, ct, sizeof(ct), back) == BD_ERR_WRONG_KEY, "CCM tampered ciphertext rejected");
	ct[50] ^= 1;
	tag[15] ^= 0x80;
	CHECK(bd_ccm_decrypt(key, nonce, tag, ct, sizeof(ct), back) == BD_ERR_WRONG_KEY, "CCM tampered tag rejected");
	tag[15] ^= 0x80;
	nonce[0] ^= 1;
	CHECK(bd_ccm_decrypt(key, nonce, tag, ct, sizeof(ct), back) == BD_ERR_WRONG_KEY, "CCM wrong nonce rejected");
	nonce[0] ^= 1;
	/* re-encrypting the V1 VMK payload with its nonce reproduces the stored datum (encrypt side vs Windows) */
	{
		uint8_t k[32], n1[12], p[44], c[44], t[16];
		hex2bin("0b768537209c5b0cfbc4261bfd321a493d565bd65b3643bf651a0aa82f85c35a", k, 32);
		hex2bin("a0a191956fbcd70103000000", n1, 12);
		hex2bin("2c00000001000000032000003284afd5d5e916d013b24851973a8eab4c9b4404aef206ae9d355b9b51936e3b", p, 44);
		CHECK(bd_ccm_encrypt(k, n1, p, 44, c, t) == 0 &&
		      eqhex(c, 44, "891d61a0a22024669df64946d33165b774b5da584f523744121da5a1e990166dfe8977ef542730231787b227") &&
		      eqhex(t, 16, "4cf3374779f1c5a844dc44202d4b2db5"), "CCM encrypt reproduces the V1 Windows VMK datum");
	}
	{
		uint8_t r1[32], r2[32];
		CHECK(bd_random(r1, 32) == 0 && bd_random(r2, 32) == 0 && memcmp(r1, r2, 32) != 0 && !bd_is_zero(r1, 32),
		      "bd_random gives distinct non-zero output");
	}
}

int main(void)
{
	test_ccm();
	test_v1();
	test_v2_v3();
	test_v4_v5();
	test_v6();
	CHECK_DONE();
}
