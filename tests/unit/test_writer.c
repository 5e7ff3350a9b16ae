/* Unit tests for lib/writer.c: datum shapes against bytes Windows wrote (format.md Appendix A). */
#include <stdlib.h>

#include "check.h"
#include "crypto.h"
#include "internal.h"
#include "header.h"
#include "writer.h"

static int hex(const char *h, uint8_t *out, size_t max)
{
	return hex2bin(h, out, max);
}

/* V4: the whole 156-byte .BEK file, rebuilt from its GUID, time and key. */
static void test_bek(void)
{
	static const char bek_hex[] =
		"9c00000001000000300000009c000000"
		"581a41b300340a428b7e9b5f706425c0"
		"010000000000000030d400b96fbcd701"
		"6c00060009000100581a41b300340a42"
		"8b7e9b5f706425c030d400b96fbcd701"
		"20000000020001004500780074006500"
		"72006e0061006c004b00650079000000"
		"2c00000001000100022000007a70ca1a"
		"b390e00daf4d72c217c42bf67a39db94"
		"d76214733ae56acb1c5dd814";
	uint8_t want[200], guid[16], key[32];
	struct bd_buf b;
	int wl = hex(bek_hex, want, sizeof(want));
	hex("581a41b300340a428b7e9b5f706425c0", guid, 16);
	hex("7a70ca1ab390e00daf4d72c217c42bf67a39db94d76214733ae56acb1c5dd814", key, 32);
	bd_buf_init(&b);
	bd_build_bek_file(&b, guid, 0x01d7bc6fb900d430ULL, key, NULL);
	CHECK(wl == 156, "V4 vector parsed (%d bytes)", wl);
	CHECK(!b.err && b.len == 156, "BEK file is 156 bytes (%zu)", b.len);
	CHECK(!b.err && b.len == 156 && !memcmp(b.data, want, 156), "BEK file equals Windows' byte for byte");
	bd_buf_free(&b);
}

/* One AES-CCM datum against a Windows vector: nonce, MAC and ciphertext. */
static void ccm_case(const char *name, const char *key_hex, uint64_t filetime, uint32_t counter,
		     const char *payload_hex, const char *nonce_hex, const char *mac_hex, const char *ct_hex)
{
	uint8_t key[32], payload[96], nonce[12], mac[16], ct[96];
	int pl = hex(payload_hex, payload, sizeof(payload));
	struct bd_nonce_src ns = { filetime, counter };
	struct bd_buf b;

	hex(key_hex, key, 32);
	hex(nonce_hex, nonce, 12);
	hex(mac_hex, mac, 16);
	hex(ct_hex, ct, sizeof(ct));
	bd_buf_init(&b);
	/* payload = KEY datum header (12 bytes) + key; the builder writes the header itself */
	bd_put_ccm(&b, 0, key, &ns, le16(payload + 8), payload + 12, (size_t)pl - 12);
	CHECK(!b.err && b.len == 36 + (size_t)pl, "%s: datum size 0x%zx", name, b.len);
	if (!b.err && b.len == 36 + (size_t)pl) {
		CHECK(le16(b.data) == b.len && le16(b.data + 4) == 5 && le16(b.data + 6) == 1,
		      "%s: AES-CCM datum header", name);
		CHECK(!memcmp(b.data + 8, nonce, 12), "%s: nonce = FILETIME || counter", name);
		CHECK(!memcmp(b.data + 20, mac, 16), "%s: MAC equals Windows'", name);
		CHECK(!memcmp(b.data + 36, ct, (size_t)pl), "%s: ciphertext equals Windows'", name);
	}
	CHECK(ns.next == counter + 1, "%s: counter bumped", name);
	bd_buf_free(&b);
}

static void test_ccm_vectors(void)
{
	/* V2: VMK encrypted with the stretched recovery key */
	ccm_case("V2 recovery VMK", "d3bb066813b137043d0e20430beba4f52377e4172ba64a7e4aadde6be662ccd1",
		 0x01d7bc6facc2ac70ULL, 4,
		 "2c0000000100000003200000016ba35b28ce3f4a629d8e4d41271818efe3e3488faf582e56f6f484e3ff65d2",
		 "70acc2ac6fbcd70104000000", "6df94c53c145321fd7135a4446f4306f",
		 "367aa7cad543b3e03d7ede543655932f52f9967f170e82c3f27d680cc76ceab5ddfe005d40d33b4482284344");
	/* V4: VMK encrypted with the external (.BEK) key */
	ccm_case("V4 startup-key VMK", "7a70ca1ab390e00daf4d72c217c42bf67a39db94d76214733ae56acb1c5dd814",
		 0x01d7bc6fb900d430ULL, 3,
		 "2c000000010000000320000038ccc0986c0249c530e65fe18671fa41913eba51f50da7c96ef6b67f8ae2b031",
		 "30d400b96fbcd70103000000", "ee5d85886f7294262a564dab7c7ab9ef",
		 "426acc9f118360088093d9a4aa423e66c0de8b2a3d600dfe997ccf6d889f68f550d6dacc4718546c829c0215");
	/* V1: the validation datum (hash of the block, VMK key, time bit 63 set) */
	ccm_case("V1 validation", "3284afd5d5e916d013b24851973a8eab4c9b4404aef206ae9d355b9b51936e3b",
		 0x81d7bc6f960221a4ULL, 7,
		 "2c0000000100000005200000440bdaf38bd16bd393a32bf2e0e740e6fc273c309f295c21af12eb6aa726a92b",
		 "a42102966fbcd78107000000", "135ac0965f0a908f761127855b0a87d7",
		 "b1e716233b7dfb95a15a2f7fab041a562b66764cd7a097fd7a8e3e0c3392da0d1a79ead26cc5a81411755867");
}

/* A serialised block: sizes, CRC32 and the VMK-keyed hash are consistent. */
static void test_block(void)
{
	uint8_t vmk[32], *area = malloc(BD_META_AREA_SIZE), hash[32], pt[44];
	struct bd_meta_header h;
	struct bd_nonce_src ns = { 0x01d9000000000000ULL, 1 };
	struct bd_buf b;
	int r;

	memset(vmk, 0x5a, sizeof(vmk));
	memset(&h, 0, sizeof(h));
	h.state = h.next_state = 4;
	h.state_offset = 16 << 20;
	h.virt_sectors = 16;
	h.offsets[0] = 0x400000; h.offsets[1] = 0x800000; h.offsets[2] = 0xC00000;
	h.virt_offset = 0x410000;
	h.method = h.method2 = 0x8004;
	bd_buf_init(&b);
	bd_build_description(&b, "test volume");
	bd_put_virtualization(&b, h.virt_offset, BD_VIRT_BYTES);
	r = bd_meta_serialise(&h, b.data, b.len, vmk, &ns, area, BD_META_AREA_SIZE);
	CHECK(r == 0, "serialise a block");
	size_t s = (size_t)le16(area + 8) << 4;
	size_t ds = le32(area + 0x40);
	CHECK(!memcmp(area, "-FVE-FS-", 8) && le16(area + 10) == 2, "block signature and version 2");
	CHECK(ds == 0x30 + b.len && le32(area + 0x4C) == ds, "dataset size and end offset");
	CHECK(s == ((0x40 + ds + 15) & ~(size_t)15), "header size covers block header + dataset, 16-aligned");
	CHECK(le16(area + s) == BD_META_AREA_SIZE - s && le16(area + s + 2) == 2, "validation size/version");
	CHECK(le32(area + s + 4) == bd_crc32(area, s), "validation CRC32");
	CHECK(le32(area + 0x60) == 2 && ns.next == 2, "NextNonceCounter is the value after the validation nonce");
	CHECK(area[s + 8 + 8 + 7] == 0x81, "validation nonce time has bit 63 set (0x%02x)", area[s + 8 + 15]);
	CHECK(le32(area + s + 8 + 8 + 8) == 1, "validation nonce counter = NextNonceCounter - 1");
	r = bd_ccm_decrypt(vmk, area + s + 16, area + s + 28, area + s + 44, 44, pt);
	bd_sha256(area, s, hash);
	CHECK(r == 0 && le16(pt + 8) == 0x2005 && !memcmp(pt + 12, hash, 32), "VMK-keyed SHA-256 of the block");
	CHECK(bd_is_zero(area + s + 88, BD_META_AREA_SIZE - s - 88), "rest of the area is zero");
	bd_buf_free(&b);
	free(area);
}

static void test_nested_sizes(void)
{
	uint8_t g[16] = { 1 }, vmk[32] = { 2 }, salt[16] = { 3 }, k16[16] = { 4 }, st[32] = { 5 };
	struct bd_nonce_src ns = { 1, 1 };
	struct bd_buf b;

	bd_buf_init(&b);
	bd_build_vmk_recovery(&b, g, 1, vmk, salt, k16, st, &ns);
	/* Windows: VMK 0x120 { stretch 0xac { ccm 0x40 role 0x12, ccm 0x50 role 0x13 }, ccm 0x50 } */
	CHECK(b.len == 0x120 && le16(b.data) == 0x120, "recovery VMK entry 0x120 bytes (0x%zx)", b.len);
	CHECK(le16(b.data + 0x24) == 0xac && le16(b.data + 0x24 + 0x1c) == 0x40 &&
	      le16(b.data + 0x24 + 0x1c + 2) == 0x12 && le16(b.data + 0x24 + 0x5c + 2) == 0x13,
	      "recovery stretch datum with role 0x12/0x13 backups");
	CHECK(le16(b.data + 0x22) == 0x0800 && ns.next == 4, "protection 0x0800, three nonces used");
	bd_buf_free(&b);
	bd_buf_init(&b);
	bd_build_vmk_password(&b, g, 1, vmk, salt, st, &ns);
	CHECK(b.len == 0xe0 && le16(b.data + 0x24) == 0x6c, "password VMK entry 0xe0 with 0x6c stretch datum");
	bd_buf_free(&b);
	bd_buf_init(&b);
	bd_build_vmk_startup_key(&b, g, 1, vmk, st, &ns);
	CHECK(b.len == 0xf0 && le16(b.data + 0x24) == 0x20 && le16(b.data + 0x44) == 0x5c,
	      "startup-key VMK entry 0xf0 { ExternalKey, USE_KEY 0x5c, CCM }");
	bd_buf_free(&b);
}

/* The recovery key text file: UTF-16LE with BOM, CRLF lines, identifier and password as Windows lays them out. */
static void test_recovery_txt(void)
{
	uint8_t guid[16];
	char name[128], text[2048];
	struct bd_buf b;

	bd_guid_parse("3c116b76-c67b-484e-b439-ce2ed68b561e", guid);
	bd_buf_init(&b);
	bd_build_recovery_key_txt(&b, guid, "284867-596541-514998-422114-660297-261613-215424-199408", name, sizeof(name));
	CHECK(!strcmp(name, "BitLocker Recovery Key 3C116B76-C67B-484E-B439-CE2ED68B561E.TXT"), "file name: %s", name);
	CHECK(!b.err && b.len > 2 && b.data[0] == 0xFF && b.data[1] == 0xFE, "starts with the UTF-16LE BOM");
	bd_utf16le_to_utf8(b.data + 2, b.len - 2, text, sizeof(text));
	CHECK(!strncmp(text, "BitLocker Drive Encryption recovery key\r\n", 41), "first line");
	CHECK(strstr(text, "Identifier:\r\n\r\n\t3C116B76-C67B-484E-B439-CE2ED68B561E\r\n") != NULL, "identifier block");
	CHECK(strstr(text, "Recovery Key:\r\n\r\n\t284867-596541-514998-422114-660297-261613-215424-199408\r\n") != NULL,
	      "recovery key block");
	bd_buf_free(&b);
}

static void test_methods(void)
{
	uint16_t m = 0;

	CHECK(!bd_method_parse("xts-128", &m) && m == 0x8004, "xts-128");
	CHECK(!bd_method_parse("AES-XTS-256", &m) && m == 0x8005, "AES-XTS-256");
	CHECK(!bd_method_parse("cbc-elephant-128", &m) && m == 0x8000, "cbc-elephant-128");
	CHECK(!bd_method_parse("0x8003", &m) && m == 0x8003, "0x8003");
	CHECK(bd_method_parse("xts-512", &m) == BD_ERR_INVALID, "xts-512 refused");
	CHECK(!strcmp(bd_method_short_name(0x8001), "cbc-elephant-256"), "short name");
}

/* The To Go header against bitlk-togo-aes-xts-128.img's sector 0 (Windows 10): jump, OEM, bytes per
 * sector, FAT32 type, and the GUID + offsets block at 0x1A8..0x1CF; the reader finds it as To Go. */
static void test_togo_header(void)
{
	static const uint64_t off[3] = { 0x2100000, 0x2c1c800, 0x3739000 };
	uint8_t hdr[512], want[40];
	struct bd_header h;

	hex("3bd66749292ed84a8399f6a339e3d001" "0000100200000000" "00c8c10200000000" "0090730300000000",
	    want, sizeof(want));
	bd_build_togo_header(hdr, 512, 8, 0, 204800, off);
	CHECK(!memcmp(hdr, "\xeb\x58\x90MSWIN4.1", 11), "To Go header: jump and OEM as Windows");
	CHECK(le16(hdr + 0x0B) == 512 && le32(hdr + 0x20) == 204800 && !memcmp(hdr + 0x52, "FAT32   ", 8),
	      "To Go header: FAT32 BPB with the volume's sectors");
	CHECK(!memcmp(hdr + 0x1A8, want, sizeof(want)), "To Go header: GUID and offsets at 0x1A8 as Windows");
	CHECK(bd_is_zero(hdr + 0xA0, 0x28), "To Go header: nothing at the -FVE-FS- GUID place");
	CHECK(hdr[0x1FE] == 0x55 && hdr[0x1FF] == 0xAA, "To Go header: 55 AA");
	CHECK(!bd_header_parse(hdr, &h) && h.kind == BD_HDR_TOGO && !memcmp(h.meta_off, off, sizeof(off)),
	      "To Go header: parsed as To Go with its offsets");
}

int main(void)
{
	test_recovery_txt();
	test_methods();
	test_bek();
	test_ccm_vectors();
	test_block();
	test_nested_sizes();
	test_togo_header();
	CHECK_DONE();
}
