/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Crypto layer against the spec vectors: format.md appendix A (V1-V6, diffuser, Elephant) and B (S1-S6). */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <openssl/evp.h>

#include "check.h"
#include "aesni.h"
#include "crypto.h"
#include "internal.h"

/* sector-cipher implementation under test (bd_sector_force_level), named in the checks */
static const char *lvname = "";
#define CHECKL(cond, fmt, ...) CHECK(cond, "%s" fmt, lvname, ##__VA_ARGS__)

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

static const struct svec {
	const char *name;
	uint16_t method;
	uint64_t off;
	const char *key, *sha, *ct;
} svecs[] = {
	{ "S1", 0x8002, 0x2200000,
	  "84c3a3157e5f21dee140005220bc940e",
	  "330ae9824fdd919fbe5c0eb7f48c9f9df2a002557eb5daa2f8be93d25f4dccc5",
	  "30d6c53b40e537d33972ed6ac97292f1308fbc15f77599b5dfd5a58fa52df42d"
	  "24a187bec736d8818fd4a0f0f6f68a2f6070a1045fb32da7d13ee4d06fb8d2bd"
	  "206c593497936224ea06960aadd0f8442926ed799d7bfef791037903239c11a5"
	  "1a090e72146eb551cf3c65d3aa3311f1016471339f3fb38c0e3b74ba489c44ad"
	  "efb454abfa777e8a4ab4cc11361d197717748fb3d53d5cccc3c873be4d90a656"
	  "32d4503f87160ea0763652438c03d3523b574fc2a9579b4fdc137352a8351add"
	  "6f21d9ec4e9dcb16404845556d44ce10358f62112ff44d171ea2078824354690"
	  "f36e7f3751e618b6f2125f85d89aff9e554dd7c3f4a10a0fbc8a691b5a106759"
	  "0de812794752021abf8bf022ef9316fd30df475074610a3e73cbd4537e785bff"
	  "16b19746550285df4201fb018a7ad2c1d3c0be0bd03c2e28b33c7cbe5a304ae1"
	  "00fe35d02f53e7cbf724c3d6654942c7f87cd29ce94c7b7513d77ba1e6cd6587"
	  "668ab9242b30a2d3fa194c59e737f8c0c47f0a58c120457574b31b2d5628e3a4"
	  "95c47d00f456af86e2909b10386d9755e08f8dd45a3b442166d10b938b6c4e06"
	  "d934230f5957ae1a78dfd9f54425f079fb0b19f10dc13ba8f8957e05d72ca459"
	  "83fd58f7c68e2f338e64a53d967ddd68cb4eb36837f447005ace7064af086abd"
	  "e518cdc3c3651da1eb7d723b35c60a72f02cb15b6113206c7fef62a28d8b6302" },
	{ "S2", 0x8003, 0x2200000,
	  "dd3885ef9948c8dc6ad1b54a6c4a4b6fb74b44d1d9775ac7ed186c35f1b59022",
	  "1c9af69f51facaf1588143be07b2bffe0bfd4be0036b3d569e13f68020a7e469",
	  "7018bff0f32d94d4463a0c0ef56825538d2f98f4be7230f240b861678da36e0c"
	  "30b1a2d71f7d3d3e6e3fc13cb3ec0e9fef09ac344e0c57c9d4aa72c1e7ccb266"
	  "fb5b9bdacb5f5ddd3db573593e045ec1efb2702831098f30f2d88ab6c6bb03ac"
	  "af0ada116ea4fe8acb5df6f1c48daabac5d6ac89333e15205dd0e55ba0fb9451"
	  "89635b16549ee2b8777e7de971dea1a779d9ecbb973b1697af8619c9924874f9"
	  "86aaebbaa41dec271809f344ac45f0a4d8aef2d22619bbd52cc91e2e3ff66577"
	  "798a979aa6397ce22f2bbbaed4e57ff0dd202f6273183a454db9d16a87531320"
	  "c1632fda49a1265929df4d6ece0c385330162cd211677f168e969e913cae39b9"
	  "70e16e3b2166b6c3f69f73e04451468d72781aa09002eca7734faa04f11377f9"
	  "552e057fc8dd6b750ab507737bee6235517075588bb67dd1e2ad792bcfd79b91"
	  "9edf36e6ecef33cd4e654252495d766c47514694cacf1e298a66ac24bbbbd851"
	  "7bf4874f587b7a6229d01099c9b6b50d29b1d8746a68b8c5c3bcf9f4b4591298"
	  "5feb89e8f28ccb8b2fab1e6038a3ea25b76fdb047b5e08216464871d9e9c51a2"
	  "4dc634466a8cbb8babd4e150ff3243df5a12b17af5128078a9a03f8601029037"
	  "cccc89c70e13c93ec29fa6435b23d75452623a709b3c207a84769d5dea5f3d5c"
	  "f130170ec80bbaf7717324a87af1e81a7a1d915b35fd3d019aa6b51357dded85" },
	{ "S3", 0x8000, 0x298a000,
	  "10730f695df62a49cd3aa1b1c9ae3edf2229c338a3740830e2b19d2b83f9cada"
	  "268af0e0613921085edc89e1b804de354fd265acf4e5c410b47764bb9565666b",
	  "d94ac3b56f5307afa9350882f9b5d84401d1eac2dc0a27300376c2e5c80172d8",
	  "2895d4deed18488410dc2cd5db6bbf422fa34ac01a2a1322cdcf62ee0767c3b2"
	  "d4288ed284b4f819d2a1c37618fc9a1408932d8400bda39aaba2d611399220b1"
	  "6fa0bc2f791b87ab4adbd5cf6e6fcf1821f62fafb33750b2056da73d35356ac0"
	  "eee55bda92582720474bbaac2ff360d4fa168c49984d306ee73bc074a1978b97"
	  "f09f37d5aeb81d9452b5d04326b490e4e7e3c362cbad3467fe9a9cb6a2d67cf1"
	  "17c4d482bfc9abeb6b68f694a55c11ccb33bf879ba5e318f4b0f7433d0971a0a"
	  "18533531d818eb0b5980596d98e07bf82bb126ac531a738013eb7b00a1ab8306"
	  "6177afd93617c5b31378990e47004974343bd76cdac9e56e6e05a4f831b2655e"
	  "8263042dbbcc13b4b44f35a862f46f72816c76a36a684399b3ed76a53cdf225b"
	  "c9693a8de876c871c9479b2cd519838ab2fafe27c9503e154745a3473e3d4ce5"
	  "c958203cb27bfb24f7da9765ff922a885897bc0835d52e7ee4ff044a47ced516"
	  "5537ac88f10c5d59f905ea4ffb6ff424ca2e578520c59042a774830063527d75"
	  "2d5f8272b08160b2e184928876c7befbd9ca9d4c674b90c1b19ea23d01271d3c"
	  "62f5aac812af0dd44c30c7bda69bd45c01b68f677c6ee416417e5437e799c776"
	  "b264998dbeb65713269789c7443ae7f57c826eaa6a60116fb0b2950dff4ffc05"
	  "1282fa9ae6f4c20ce1738ea898f70cd48dbf9e9325673b250e2deaa50408fb47" },
	{ "S4", 0x8001, 0x298a000,
	  "3a600625f8fd5cc506cf8b30c8ca0600cc32f0c6b54c140789f7518c4fb5c71b"
	  "a272f34f1a920d5be247298b5d233ce6199023c24d0aefec28717232f9894d1f",
	  "d62b8dfa4eb68d5507bc446cb34cd1d5bc1a2425c2dd609c9920c5ec9d87308d",
	  "8568f934436237a034086e7acbb9b32f278c7fd1f9803d1d8d08000e8c9b6398"
	  "0f9b72261175c71ec4b8f5a9e99830334a96460250d4a3030e2866341ac65e33"
	  "39307198fcb64ed438592804148b917c5cfc2d0bb00c99f89568d68f914321d5"
	  "4f8b70f6d7835f9b287f43b1ab99c5cadae38de1fb27f389a2ae22930aeb2269"
	  "0ca3e176af6b1adfdee1d82229768179bec35729125287a2ab20be958c468a1d"
	  "973e7b157d6562444dd4d7ae2ba21094597d98b8665af025e859dc7568a6cef4"
	  "f615e02516eac6d4e82479a51548220707ba6a9fe13edf4797b1986085884f52"
	  "b50f55bbb41f351ba87e388bbb11406a19e4c3fac1407d727c7aa95d41b40b1e"
	  "bb996cecc7f329faad33af6c5f3e98e18078ab1242a2bc0e9ed90835e75730c9"
	  "3697d57bf1c68204238ff099050108f1f6ec3fec06ff8f239b5089409a3ca10e"
	  "8aa37180b62049cd5ce586e57f7c02afcf10f3ddd8328e9810a0c29df3d983b3"
	  "dbef7cde8cfbc9f0f3f2aece11b332b8593bf94e66af9b3b44f01f056d4c462d"
	  "868123c2b88dcd3fba831f9b9240ab0f985d1cf42d97504d535fa44edd6c371b"
	  "5e56daadfbc2ba27db9ca65045d1eae97bc4f131f51a67baab3344c4af9eeab3"
	  "f784b6f0bf1456d9bb0c0863ce7d6f8305ba2cc908fbef535d6a716cc583e934"
	  "8d07ab73a517e015d52a2d9c496f8776b259995c3851e27c9776a2aa5b6520cb" },
	{ "S5", 0x8004, 0x2200000,
	  "4eb949c473f0edfc379ad041670ddb9c4da0abdb4482a2c8bb47250493aa1ed5",
	  "01a264035f380f8edef7f377747cd4dbacff4be8fee23d6e9b8021766c9a3c0f",
	  "138bae29d1e47e38411a65675406cb9bc18f5eae362c3cdb6b58b9b39bad18d6"
	  "cd4e3aad995f5681e0949914355e200701bf3d9ad8de9b8ed245be2b7c364b7c"
	  "37c918181c25ea64fa88f8bb048a87122ea028c82fa05c18caa979d33b86808c"
	  "18d6791c25eec448960aa4f98a666176a1b1eb50d8a0b96be740b51117b8f278"
	  "18f5bf5afa794f2908b942bf3eb9725336db7c089a350186ef76c8e6035ca2b7"
	  "257fb006776990b2304d0c98d6a923d170b621b343dc8be02d71cc4d18706e0e"
	  "358e745cb0700f4f8250b3f3ebbe5889ed89d804051933e60c80c8ce038b6090"
	  "5f3f6d23228b91162885dd8bcce2ff3e6f498acf2f4f349be7c931f4e4a1d9f5"
	  "4e34a5754057df547377418f9e002c30e1e77ed623eddb11a1b7448569af9866"
	  "34a12e8e71ddddd7395f3d9de5c7e9019eafc864914750f909b5298e14029b51"
	  "9f4ee34c60be2f45d0b600e1e2f29e9c05c4c0a7ef6be1e82922d699dfcc61e8"
	  "285850b080e4b9a151abc996a2571a689e9bb2ea53995e4c3191c81f50f8463b"
	  "6f9e28f6cdd671c220472e0e5a5c4026baaed99c4bb170a2a9708d9974dba25e"
	  "c102b881307dfa13c7a774243e66b499386523b426a575961444b91f85d7ab60"
	  "b860a56fbe2c799fc4e29af79c27d2010431caa414fbb3acd3bae79f076f0974"
	  "f548dd52f3273081b2a17695a0d4f365a4988ed5dc0bcc5503f63bc86ed613c5" },
	{ "S6", 0x8005, 0x2200000,
	  "c74002df41f5eadeee2549fc009233a2a510726ce08736aba2f84a52ac6e7bbc"
	  "56b8a824a4dc26cf9c4c2926386319d17427998e045ebfdc789e328e0dc97da4",
	  "7d456ac1e51d71caa82560bbe343985120f82f4fce2c397e860af946be4471a7",
	  "d14389175de9e1ad3b7d9bd4605e16880489ad8ee851bad735c35acef1bc8f3a"
	  "ff2ec2ee373a77c20fb471e7c9c177f213823629fbec4a369bf3aa58cf510a9f"
	  "b7a36b9121894c502b6d5d12b5467e4babcb50fc852f03f01e419d96645f6763"
	  "ad008285a35764fe2efba129bc217ab65a8890be355f33f9ff3d5d86cba22574"
	  "369cace995fc792cb0186e84f9a138f65b57a28358d6a29a3b0e1a08451c1b4b"
	  "8d2d1526dc986a6a509ca2d37ac971bfd11e0ca8f9098a3d16c46649d0bd6cc7"
	  "10f44960a290b3f1d6380dfa03167c7035e10537158be830ae7ea3d2c01ff0fd"
	  "6da772ca4d152dcdc12fdccc1b7cfc8578f4b052b6e7661717d8d374bc9f0bec"
	  "cc9b04c3c30ce7acd30919f354b7549f2c023608d3d8c5519abb3e90d4c3ad35"
	  "f25c7185ca4a5a4becffebcf8959349dca6c63cfc3ee6c195d92516fa68f5a27"
	  "68b63b7e10bba4e97f9252a2cdc1ba7765ba01e6351afb82c6cfff3abc9e84f9"
	  "5ca5a59d477d2b8bc90eacd4f3efc483068c52e340c88651d623178835aa084a"
	  "095ef3e0c45b2752594693ffc7b63b2fe85182fa674672ec22bff855b3e6e13d"
	  "c2af8ee44edde26c497be718bb51bd99e9188a3f071d10e2ba30a6f84dbfbf33"
	  "14e8b5a670a8c96f3eb7efb35cc26e3fdd7b669e216f4b55dc4cb5d8f197069b"
	  "d1ff2e796de40b3a5b04f3674a03a66e9065c1e8f3586d329623cc35e6a2b024" },
};

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
		SKIP("V3 stretch (SHA-NI path): SHA-NI unavailable (the CPU lacks the SHA extensions)");
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
		SKIP("V6 stretch SHA-NI == portable: SHA-NI unavailable (the CPU lacks the SHA extensions)");
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

static void test_diffuser(void)
{
	uint8_t s[512], d[32], orig[512];
	struct { const char *name; void (*enc)(uint8_t *, size_t), (*dec)(uint8_t *, size_t); const char *sha, *first; } v[] = {
		{ "A", bd_diffuser_a_encrypt, bd_diffuser_a_decrypt,
		  "f58aa15c1219f893c4ed355d363d8f831bcc0c4a82c6bbffcca321aada9e86ec", "aea514b8d6451daf175602b67842e61d" },
		{ "B", bd_diffuser_b_encrypt, bd_diffuser_b_decrypt,
		  "1d5a51ae0d0b6309f1f8661376af9ebd880b1274601f6841f5aaeb5273580133", "8e9ae4c11ee44cf6b512ec4cf80b2fcb" },
	};

	for (size_t k = 0; k < ARRAY_SIZE(v); k++) {
		memset(s, 'a', sizeof(s));
		v[k].enc(s, sizeof(s));
		bd_sha256(s, sizeof(s), d);
		CHECK(eqhex(d, 32, v[k].sha) && eqhex(s, 16, v[k].first), "diffuser %s encrypt vector", v[k].name);
		v[k].dec(s, sizeof(s));
		memset(orig, 'a', sizeof(orig));
		CHECK(memcmp(s, orig, sizeof(s)) == 0, "diffuser %s decrypt inverts encrypt", v[k].name);
	}
	/* other sizes: 4096 and a small odd multiple of 4 (generic wrap paths) */
	{
		static uint8_t big[4096], ref[4096];
		size_t sizes[] = { 4096, 36, 32 };
		for (size_t z = 0; z < ARRAY_SIZE(sizes); z++) {
			size_t n = sizes[z];
			for (size_t i = 0; i < n; i++)
				big[i] = ref[i] = (uint8_t)(i * 31 + 7);
			bd_diffuser_a_encrypt(big, n);
			bd_diffuser_b_encrypt(big, n);
			int changed = memcmp(big, ref, n) != 0;
			bd_diffuser_b_decrypt(big, n);
			bd_diffuser_a_decrypt(big, n);
			CHECK(changed && memcmp(big, ref, n) == 0, "diffusers A+B round trip, %zu bytes", n);
		}
	}
}

static void test_elephant_key(void)
{
	uint8_t tk[16], e[16], ks[32], dk[16], iv[16];

	hex2bin("268af0e0613921085edc89e1b804de35", tk, 16);
	memset(e, 0, 16);
	put_le64(e, 0x298a000);
	CHECK(eqhex(e, 16, "00a09802000000000000000000000000"), "Elephant le128(off)");
	CHECK(bd_aes_ecb_encrypt_block(tk, 16, e, ks) == 0, "AES-ECB block");
	e[15] = 0x80;
	bd_aes_ecb_encrypt_block(tk, 16, e, ks + 16);
	CHECK(eqhex(ks, 16, "6ca064ba0821d334dff8c2dc46f3c64b") && eqhex(ks + 16, 16, "3cf606e1946867e0248ae745077dd8e5"),
	      "Elephant sector key example");
	hex2bin("10730f695df62a49cd3aa1b1c9ae3edf", dk, 16);
	e[15] = 0;
	bd_aes_ecb_encrypt_block(dk, 16, e, iv);
	CHECK(eqhex(iv, 16, "2e1f79e9d74258ce8324070d953b562d"), "Elephant example CBC IV");
	CHECK(bd_aes_ecb_encrypt_block(dk, 24, e, iv) == BD_ERR_INVALID, "AES-ECB rejects a 24-byte key");
}

static void test_sectors(void)
{
	for (size_t k = 0; k < ARRAY_SIZE(svecs); k++) {
		const struct svec *v = &svecs[k];
		size_t keylen, ctlen;
		uint8_t *key = hexbuf(v->key, &keylen), *ct = hexbuf(v->ct, &ctlen), buf[512], d[32];
		struct bd_sector_cipher *c;

		if (bd_sector_cipher_new(v->method, key, keylen, 512, &c) != 0) {
			CHECKL(0, "%s cipher set-up (method 0x%04x)", v->name, v->method);
			continue;
		}
		memcpy(buf, ct, 512);
		CHECKL(bd_sector_decrypt(c, buf, 1, v->off) == 0, "%s decrypt call", v->name);
		bd_sha256(buf, 512, d);
		CHECKL(eqhex(d, 32, v->sha) && eqhex(buf, 16, "eb52904e544653202020200002080000"),
		      "%s decrypt (method 0x%04x) -> NTFS boot sector with published SHA-256", v->name, v->method);
		CHECKL(bd_sector_encrypt(c, buf, 1, v->off) == 0 && memcmp(buf, ct, 512) == 0,
		      "%s encrypt(plaintext) == ciphertext", v->name);
		/* 4096-byte sectors: round trip over 3 sectors, and a different offset changes the ciphertext */
		{
			static uint8_t big[3 * 4096], ref[3 * 4096], other[3 * 4096];
			struct bd_sector_cipher *c4;
			for (size_t i = 0; i < sizeof(big); i++)
				big[i] = ref[i] = (uint8_t)(i * 13 + k);
			if (bd_sector_cipher_new(v->method, key, keylen, 4096, &c4) == 0) {
				int ok = bd_sector_encrypt(c4, big, 3, v->off) == 0;
				memcpy(other, ref, sizeof(other));
				ok = ok && bd_sector_encrypt(c4, other, 3, v->off + 4096) == 0;
				/* the plaintext repeats every 256 bytes: equal sectors encrypt by position only */
				int differs = memcmp(big + 4096, other, 4096) == 0 && memcmp(big, big + 4096, 4096) != 0 &&
					      memcmp(big, ref, 4096) != 0;
				ok = ok && bd_sector_decrypt(c4, big, 3, v->off) == 0 && memcmp(big, ref, sizeof(big)) == 0;
				CHECKL(ok && differs, "%s 4096-byte sector round trip", v->name);
				bd_sector_cipher_free(c4);
			} else {
				CHECKL(0, "%s 4096-byte cipher set-up", v->name);
			}
		}
		/* XTS with 4096-byte sectors against OpenSSL's XTS used directly (tweak = le128(off / 4096)) */
		if (v->method >= 0x8004) {
			static uint8_t a[2 * 4096], b[2 * 4096];
			struct bd_sector_cipher *c4;
			EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
			const uint64_t off = 0x12345000ull; /* 4096-aligned */
			int outl, ok = 1;
			for (size_t i = 0; i < sizeof(a); i++)
				a[i] = b[i] = (uint8_t)(i * 7 + 1);
			ok = bd_sector_cipher_new(v->method, key, keylen, 4096, &c4) == 0 &&
			     bd_sector_encrypt(c4, a, 2, off) == 0;
			for (int s = 0; s < 2 && ok; s++) {
				uint8_t tweak[16] = { 0 };
				put_le64(tweak, off / 4096 + (uint64_t)s);
				ok = EVP_EncryptInit_ex(x, keylen == 32 ? EVP_aes_128_xts() : EVP_aes_256_xts(), NULL, key, tweak) == 1 &&
				     EVP_EncryptUpdate(x, b + 4096 * s, &outl, b + 4096 * s, 4096) == 1;
			}
			CHECKL(ok && memcmp(a, b, sizeof(a)) == 0, "%s XTS 4096-byte sectors == OpenSSL XTS (tweak = off/4096)", v->name);
			EVP_CIPHER_CTX_free(x);
			bd_sector_cipher_free(c4);
		}
		bd_sector_cipher_free(c);
		free(key);
		free(ct);
	}
	{
		uint8_t key[64] = { 1 };
		struct bd_sector_cipher *c;
		CHECKL(bd_sector_cipher_new(0x8006, key, 32, 512, &c) == BD_ERR_UNSUPPORTED, "unknown method rejected");
		CHECKL(bd_sector_cipher_new(0x8004, key, 64, 512, &c) == BD_ERR_CORRUPT, "wrong FVEK length rejected");
		CHECKL(bd_sector_cipher_new(0x8002, key, 16, 1000, &c) == BD_ERR_UNSUPPORTED, "odd sector size rejected");
	}
}

/* Many 512-byte sectors across IV batches, one call vs one call per sector, and from several threads. */
#define NSEC 150
struct tjob {
	struct bd_sector_cipher *c;
	uint8_t buf[NSEC * 512];
	int rc;
};

static void *tdecrypt(void *arg)
{
	struct tjob *j = arg;

	for (int r = 0; r < 20 && j->rc == 0; r++) {
		j->rc = bd_sector_decrypt(j->c, j->buf, NSEC, 0x40000);
		if (j->rc == 0)
			j->rc = bd_sector_encrypt(j->c, j->buf, NSEC, 0x40000);
	}
	if (j->rc == 0)
		j->rc = bd_sector_decrypt(j->c, j->buf, NSEC, 0x40000);
	return NULL;
}

static void test_multi(void)
{
	static const uint16_t methods[] = { 0x8000, 0x8001, 0x8002, 0x8003, 0x8004, 0x8005 };
	static const size_t klens[] = { 64, 64, 16, 32, 32, 64 };
	static uint8_t pt[NSEC * 512], ct[NSEC * 512], one[NSEC * 512];
	static struct tjob jobs[3];
	uint8_t key[64];

	for (int i = 0; i < 64; i++)
		key[i] = (uint8_t)(i * 11 + 5);
	for (size_t i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i * 7 + (i >> 9));
	for (size_t m = 0; m < ARRAY_SIZE(methods); m++) {
		struct bd_sector_cipher *c;
		pthread_t th[3];
		int ok = 1;

		if (bd_sector_cipher_new(methods[m], key, klens[m], 512, &c)) {
			CHECKL(0, "multi 0x%04x set-up", methods[m]);
			continue;
		}
		memcpy(ct, pt, sizeof(ct));
		memcpy(one, pt, sizeof(one));
		ok = bd_sector_encrypt(c, ct, NSEC, 0x40000) == 0;
		for (int s = 0; s < NSEC && ok; s++)
			ok = bd_sector_encrypt(c, one + 512 * s, 1, 0x40000 + 512 * (uint64_t)s) == 0;
		CHECKL(ok && memcmp(ct, one, sizeof(ct)) == 0, "0x%04x: %d sectors in one call == one call per sector",
		      methods[m], NSEC);
		memcpy(one, ct, sizeof(one));
		CHECKL(bd_sector_decrypt(c, one, NSEC, 0x40000) == 0 && memcmp(one, pt, sizeof(pt)) == 0,
		      "0x%04x: %d-sector decrypt round trip (crosses IV batches)", methods[m], NSEC);
		for (int k = 0; k < 3; k++) {
			jobs[k].c = c;
			jobs[k].rc = 0;
			memcpy(jobs[k].buf, ct, sizeof(ct));
			pthread_create(&th[k], NULL, tdecrypt, &jobs[k]);
		}
		for (int k = 0; k < 3; k++) {
			pthread_join(th[k], NULL);
			ok = ok && jobs[k].rc == 0 && memcmp(jobs[k].buf, pt, sizeof(pt)) == 0;
		}
		CHECKL(ok, "0x%04x: 3 threads sharing one cipher agree", methods[m]);
		bd_sector_cipher_free(c);
	}
}

/*
 * Every fast sector path against the OpenSSL reference (level 0) on random keys, sector numbers,
 * counts (across the 64-sector IV batches) and both sector sizes, both directions.
 */
static void test_fast_vs_ref(int level)
{
	static const uint16_t methods[] = { 0x8000, 0x8001, 0x8002, 0x8003, 0x8004, 0x8005 };
	static const size_t klens[] = { 64, 64, 16, 32, 32, 64 };
	static const char *names[] = { "CBC-128+Elephant", "CBC-256+Elephant", "CBC-128", "CBC-256", "XTS-128", "XTS-256" };
	static uint8_t pt[70 * 4096], a[70 * 4096], b[70 * 4096];
	uint8_t key[64];

	for (size_t m = 0; m < ARRAY_SIZE(methods); m++) {
		for (uint32_t ss = 512; ss <= 4096; ss *= 8) {
			int ok = 1;
			for (int trial = 0; trial < 12 && ok; trial++) {
				struct bd_sector_cipher *c;
				size_t n = 1 + (size_t)(rand() % 70);
				uint64_t off = (((uint64_t)rand() << 20) ^ (uint64_t)rand()) % (1ull << 40) * ss;
				if (trial == 0)
					off = 0;
				for (size_t i = 0; i < sizeof(key); i++)
					key[i] = (uint8_t)rand();
				for (size_t i = 0; i < n * ss; i++)
					pt[i] = (uint8_t)rand();
				if (bd_sector_cipher_new(methods[m], key, klens[m], ss, &c)) {
					ok = 0;
					break;
				}
				for (int enc = 0; enc < 2 && ok; enc++) {
					memcpy(a, pt, n * ss);
					memcpy(b, pt, n * ss);
					bd_sector_force_level(0);
					ok = (enc ? bd_sector_encrypt(c, a, n, off) : bd_sector_decrypt(c, a, n, off)) == 0;
					bd_sector_force_level(level);
					ok = ok && (enc ? bd_sector_encrypt(c, b, n, off) : bd_sector_decrypt(c, b, n, off)) == 0;
					ok = ok && memcmp(a, b, n * ss) == 0;
				}
				bd_sector_cipher_free(c);
			}
			bd_sector_force_level(level);
			CHECK(ok, "level %d %s, %u-byte sectors: encrypt and decrypt == OpenSSL reference on random keys, "
			      "sectors, counts", level, names[m], ss);
		}
	}
}

/*
 * The Elephant layer alone: every vector width this CPU has (2 blocks of 8 or 16 sectors per group,
 * partial groups, the scalar tail) == one sector at a time (width 0), both directions, on random
 * data, keys and counts around the group sizes, for each power-of-two sector size from 64 bytes.
 */
static void test_elephant_widths(void)
{
	static const size_t counts[] = { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 20, 31, 32, 33, 35, 36, 47, 48, 63, 64, 65, 70 };
	static uint8_t pt[70 * 4096], a[70 * 4096], b[70 * 4096], keys[70 * 32];
	static uint8_t scratch[4096 * 32] __attribute__((aligned(64)));
	int maxw = bd_aes_simd_width(bd_sector_force_level(-1));

	for (int w = 8; w <= 16; w *= 2) {
		if (maxw < w) {
			SKIP("Elephant %d-lane groups: this CPU lacks them", w);
			continue;
		}
		for (size_t ss = 64; ss <= 4096; ss *= 2) { /* the volume sizes 512..4096 and the smallest the groups take */
			int ok = 1;
			for (size_t k = 0; k < ARRAY_SIZE(counts) && ok; k++) {
				size_t n = counts[k];
				for (size_t i = 0; i < n * ss; i++)
					pt[i] = (uint8_t)rand();
				for (size_t i = 0; i < n * 32; i++)
					keys[i] = (uint8_t)rand();
				for (int enc = 0; enc < 2 && ok; enc++) {
					memcpy(a, pt, n * ss);
					memcpy(b, pt, n * ss);
					bd_elephant_sectors(0, a, n, ss, keys, enc, NULL);
					bd_elephant_sectors(w, b, n, ss, keys, enc, scratch);
					ok = memcmp(a, b, n * ss) == 0;
					if (ok && enc) { /* and back */
						bd_elephant_sectors(w, b, n, ss, keys, false, scratch);
						ok = memcmp(b, pt, n * ss) == 0;
					}
				}
			}
			CHECK(ok, "Elephant %d-lane groups, %zu-byte sectors: encrypt and decrypt == one sector at a time, "
			      "%zu counts 1..70", w, ss, ARRAY_SIZE(counts));
		}
	}
}

/* Several stretches per call give bit-identical keys to the single-stream path, for every
 * implementation this CPU has, on random inputs (with a partial last group). */
static void test_stretch_many(void)
{
	static const struct { enum bd_stretch_many impl; const char *name; size_t n; } impls[] = {
		{ BD_STRETCH_MANY_AUTO, "auto", 5 },
		{ BD_STRETCH_MANY_SHANI2, "SHA-NI x2", 5 },
		{ BD_STRETCH_MANY_SHANI3, "SHA-NI x3", 5 },
		{ BD_STRETCH_MANY_SHANI4, "SHA-NI x4", 5 },
		{ BD_STRETCH_MANY_AVX2, "AVX2 8 lanes", 3 },
		{ BD_STRETCH_MANY_AVX512, "AVX-512 16 lanes", 3 },
	};
	uint8_t in[5][32], salt[5][16], ref[5][32], out[5][32];

	for (size_t i = 0; i < 5; i++) {
		for (size_t j = 0; j < 32; j++)
			in[i][j] = (uint8_t)rand();
		for (size_t j = 0; j < 16; j++)
			salt[i][j] = (uint8_t)rand();
		/* the reference: the portable single-stream path (OpenSSL's compression function) */
		bd_stretch_impl(BD_STRETCH_OPENSSL, in[i], salt[i], ref[i]);
	}
	for (size_t k = 0; k < ARRAY_SIZE(impls); k++) {
		memset(out, 0, sizeof(out));
		int rc = bd_stretch_many_impl(impls[k].impl, impls[k].n, (const uint8_t (*)[32])in,
					      (const uint8_t (*)[16])salt, out);
		if (rc == BD_ERR_UNSUPPORTED) {
			SKIP("stretch many, %s: this CPU lacks it", impls[k].name);
			continue;
		}
		CHECK(rc == 0 && memcmp(out, ref, 32 * impls[k].n) == 0,
		      "stretch many, %s: %zu random (initial, salt) pairs == single-stream stretch", impls[k].name,
		      impls[k].n);
	}
	/* the search's case: one salt for every stretch (the AVX-512 paths then have their own kernels):
	 * 16 + 5 lanes, 32 + 16 + 5 (two interleaved groups, then one), 21 (a partial second group) */
	uint8_t in1[53][32], salt1[53][16], ref1[53][32], out1[53][32];
	for (size_t j = 0; j < 16; j++)
		salt1[0][j] = (uint8_t)rand();
	for (size_t i = 0; i < 53; i++) {
		for (size_t j = 0; j < 32; j++)
			in1[i][j] = (uint8_t)rand();
		memcpy(salt1[i], salt1[0], 16);
		bd_stretch_impl(BD_STRETCH_OPENSSL, in1[i], salt1[i], ref1[i]);
	}
	static const struct { enum bd_stretch_many impl; const char *name; size_t n; } one[] = {
		{ BD_STRETCH_MANY_AUTO, "auto", 53 },
		{ BD_STRETCH_MANY_AVX512, "AVX-512", 21 },
		{ BD_STRETCH_MANY_AVX512X2, "AVX-512 2 x 16", 53 },
		{ BD_STRETCH_MANY_AVX512X2, "AVX-512 2 x 16", 21 },
	};
	for (size_t k = 0; k < ARRAY_SIZE(one); k++) {
		memset(out1, 0, sizeof(out1));
		int rc = bd_stretch_many_impl(one[k].impl, one[k].n, (const uint8_t (*)[32])in1,
					      (const uint8_t (*)[16])salt1, out1);
		if (rc == BD_ERR_UNSUPPORTED) {
			SKIP("stretch many, %s, one salt: this CPU lacks it", one[k].name);
			continue;
		}
		CHECK(rc == 0 && memcmp(out1, ref1, 32 * one[k].n) == 0 &&
		      (one[k].n == 53 || !memcmp(out1[one[k].n], (uint8_t[32]){ 0 }, 32)),
		      "stretch many, %s: %zu random initial hashes with one salt == single-stream stretch",
		      one[k].name, one[k].n);
	}
}

int main(void)
{
	static const char *lvnames[] = { "[OpenSSL] ", "[AES-NI] ", "[VAES] " };
	int best = bd_sector_force_level(-1);

	srand((unsigned)time(NULL));
	printf("INFO: sector cipher levels on this CPU: 0 (OpenSSL)%s%s\n", best >= 1 ? ", 1 (AES-NI)" : "",
	       best >= 2 ? ", 2 (VAES)" : "");
	for (int level = 0; level <= 2; level++) {
		if (level > best) {
			SKIP("sector cipher level %d (%s): this CPU lacks it", level, level == 1 ? "AES-NI" : "VAES");
			continue;
		}
		bd_sector_force_level(level);
		lvname = lvnames[level];
		test_multi();
		test_sectors();
		if (level > 0)
			test_fast_vs_ref(level);
	}
	bd_sector_force_level(-1);
	lvname = "";
	test_diffuser();
	test_elephant_widths();
	test_elephant_key();
	test_ccm();
	test_v1();
	test_v2_v3();
	test_v4_v5();
	test_v6();
	test_stretch_many();
	CHECK_DONE();
}
