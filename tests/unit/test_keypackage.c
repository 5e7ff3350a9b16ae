/* Key package container (lib/keypackage.c): the documented layout of man/bdkit-keypackage.1 built by hand,
 * and each way a damaged or foreign file must be refused; a real package exported from a real Windows volume. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bdkit.h"
#include "check.h"
#include "internal.h"

/* A container with the given records (type, data, len), header fields from the spec. */
static size_t build(uint8_t *out, uint16_t version, uint16_t kind, const uint16_t *types, const uint8_t **data,
		    const uint32_t *lens, int n)
{
	size_t pos = 32;

	memset(out, 0, 32);
	memcpy(out, "BDKITKP", 8);
	put_le16(out + 8, version);
	put_le16(out + 10, kind);
	put_le64(out + 24, 133000000000000000ull);
	for (int i = 0; i <= n; i++) {
		uint32_t len = i < n ? lens[i] : 0;
		put_le16(out + pos, i < n ? types[i] : 0);
		put_le16(out + pos + 2, 0);
		put_le32(out + pos + 4, len);
		pos += 8;
		if (len)
			memcpy(out + pos, data[i], len);
		pos += len;
		while (pos % 8)
			out[pos++] = 0;
	}
	put_le32(out + 12, (uint32_t)pos);
	put_le32(out + 20, (uint32_t)n + 1);
	put_le32(out + 16, 0);
	put_le32(out + 16, bd_crc32(out, pos));
	return pos;
}

static void refix_crc(uint8_t *b, size_t len)
{
	put_le32(b + 16, 0);
	put_le32(b + 16, bd_crc32(b, len));
}

int main(void)
{
	static uint8_t b[1 << 16];
	struct bd_keypackage_info in;
	uint8_t area[16 + 512] = { 0 };
	const uint16_t t[] = { 6, 5 };
	const uint8_t *d[] = { (const uint8_t *)"bdkit test", area };
	const uint32_t l[] = { 10, sizeof(area) };
	size_t n;
	int r;

	/* a metadata backup holding one raw area (the header) and no block: valid */
	put_le32(area, 3);
	n = build(b, 1, 2, t, d, l, 2);
	r = bd_keypackage_parse(b, n, &in);
	CHECK(r == 0 && in.format == BD_KP_BACKUP && in.n_areas == 1 && in.version == 1,
	      "hand-built backup with one area parses (r=%d: %s)", r, bd_last_error());
	/* the same as a key package: it must hold a metadata block */
	n = build(b, 1, 1, t, d, l, 2);
	CHECK(bd_keypackage_parse(b, n, &in) == BD_ERR_CORRUPT && strstr(bd_last_error(), "no metadata block"),
	      "key package without a metadata block refused");
	/* newer format version */
	n = build(b, 2, 2, t, d, l, 2);
	CHECK(bd_keypackage_parse(b, n, &in) == BD_ERR_UNSUPPORTED && strstr(bd_last_error(), "version 2"),
	      "format version 2 refused with a message naming it");
	/* truncated, padded, CRC */
	n = build(b, 1, 2, t, d, l, 2);
	CHECK(bd_keypackage_parse(b, n - 8, &in) == BD_ERR_CORRUPT && strstr(bd_last_error(), "truncated"),
	      "truncated file: length mismatch");
	b[40] ^= 1;
	CHECK(bd_keypackage_parse(b, n, &in) == BD_ERR_CORRUPT && strstr(bd_last_error(), "CRC32"), "flipped bit: CRC32");
	b[40] ^= 1;
	/* a record claiming more than the file holds (CRC made valid) */
	put_le32(b + 32 + 4, 0x7fffffff);
	refix_crc(b, n);
	CHECK(bd_keypackage_parse(b, n, &in) == BD_ERR_CORRUPT && strstr(bd_last_error(), "past the end"),
	      "oversized record refused");
	/* an area record with a bad index */
	n = build(b, 1, 2, t, d, l, 2);
	put_le32(b + 32 + 8 + 16 + 8, 7);
	refix_crc(b, n);
	CHECK(bd_keypackage_parse(b, n, &in) == BD_ERR_CORRUPT, "area index 7 refused");
	/* unknown record types are skipped */
	const uint16_t t2[] = { 99, 5 };
	n = build(b, 1, 2, t2, d, l, 2);
	CHECK(bd_keypackage_parse(b, n, &in) == 0 && in.n_areas == 1, "unknown record type skipped");
	/* foreign files */
	memset(b, 0x41, 4096);
	CHECK(bd_keypackage_parse(b, 4096, &in) == BD_ERR_UNSUPPORTED && strstr(bd_last_error(), "not public"),
	      "foreign file without a metadata block: says the layout is not public");
	memcpy(b + 1000, "-FVE-FS-", 8);
	CHECK(bd_keypackage_parse(b, 4096, &in) == BD_ERR_UNSUPPORTED && strstr(bd_last_error(), "signature"),
	      "foreign file with a damaged block: the signature is mentioned");
	CHECK(bd_keypackage_parse(b, 10, &in) == BD_ERR_UNSUPPORTED, "10-byte file refused");

	/* a real package, exported from the real Windows volume bitlk-aes-xts-128 (unpacked by tests/run.sh) */
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	char src[200];
	snprintf(src, sizeof(src), "%s/testdata/bitlk-images/bitlk-aes-xts-128.img", build);
	if (access(src, R_OK)) {
		SKIP("real key package: ../shared/testdata/bitlk not unpacked");
		CHECK_DONE();
	}
	struct bd_open_opts ro = BD_OPEN_OPTS_INIT(.offset = -1);
	bd_volume *v = NULL;
	uint8_t *kp = NULL;
	size_t kp_len = 0;
	r = bd_volume_open(src, &ro, &v);
	if (!r)
		r = bd_unlock_password(v, "anaconda"); /* images.conf: PW of bitlk-aes-xts-128 */
	if (!r)
		r = bd_keypackage_export(v, &kp, &kp_len);
	bd_volume_close(v);
	CHECK(r == 0 && kp_len <= sizeof(b), "export a key package from the real volume");
	if (r || kp_len > sizeof(b)) {
		free(kp);
		CHECK_DONE();
	}
	memcpy(b, kp, kp_len);
	n = kp_len;
	free(kp);
	r = bd_keypackage_parse(b, n, &in);
	char g[37];
	bd_guid_format(in.guid, g);
	CHECK(r == 0 && in.format == BD_KP_BDKIT && !strcmp(g, "8f595209-f5b9-49a0-85d4-cb8f80258c27") &&
	      in.method == 0x8004 && in.sector_size == 512 && in.volume_size == 104857600 && in.n_protectors == 2 &&
	      in.has_header && in.copy_offset[0] == 35213312, "real package: GUID, method, geometry of images.conf");
	struct bd_protector_info p;
	CHECK(!bd_keypackage_protector(b, n, 1, &p) && p.type == BD_PROT_RECOVERY_PASSWORD && !strcmp(p.key_id, "64311DEA"),
	      "real package: protector 2 is the recovery password 64311DEA");
	/* one byte of the block changed (CRC of the container made valid again): the block's own CRC32 catches it */
	size_t at = (size_t)((uint8_t *)memmem(b, n, "-FVE-FS-", 8) - b);
	b[at + 200] ^= 0x80;
	refix_crc(b, n);
	CHECK(bd_keypackage_parse(b, n, &in) != 0 && strstr(bd_last_error(), "damaged"),
	      "real package with a changed block byte refused");
	CHECK_DONE();
}
