/* Unit tests: datum walker, dataset/metadata block parsing, .BEK parsing, recovery-password checks.
 * Vectors: format.md appendix V4 (a real Windows .BEK) and V6 (recovery password key). */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"
#include "metadata.h"

static const char bek_hex[] =
	"9c00000001000000300000009c000000581a41b300340a428b7e9b5f706425c0"
	"0100000000000000 30d400b96fbcd701 6c000600090001 00581a41b300340a42"
	"8b7e9b5f706425c030d400b96fbcd7012000000002000100450078007400650072006e0061006c004b00650079000000"
	"2c00000001000100022000007a70ca1ab390e00daf4d72c217c42bf67a39db94d76214733ae56acb1c5dd814";

static size_t put_datum(uint8_t *p, uint16_t size, uint16_t role, uint16_t type)
{
	memset(p, 0, size);
	put_le16(p, size);
	put_le16(p + 2, role);
	put_le16(p + 4, type);
	put_le16(p + 6, 1);
	return size;
}

static void test_recovery_password(void)
{
	uint8_t k[16], want[16];
	char hex[33];
	int r;

	r = bd_recovery_password_parse("111111-222222-333333-444444-555555-000011-000022-000033", k);
	hex2bin("7527ea4e5f76d49d49c5010002000300", want, 16);
	bin2hex(k, 16, hex);
	CHECK(r == 0 && !memcmp(k, want, 16), "recovery password V6 key16 (%s)", hex);
	r = bd_recovery_password_parse("111111222222333333444444555555000011000022000033", k);
	CHECK(r == 0 && !memcmp(k, want, 16), "recovery password without dashes");
	r = bd_recovery_password_parse(" 111111-222222-333333-444444-555555-000011-000022-000033\n", k);
	CHECK(r == 0, "recovery password with surrounding whitespace");
	r = bd_recovery_password_parse("111111-222222-333334-444444-555555-000011-000022-000033", k);
	CHECK(r == BD_ERR_INVALID && strstr(bd_last_error(), "block 3 is not divisible by 11") &&
	      !strstr(bd_last_error(), "333334"), "bad block named, its digits not shown: %s", bd_last_error());
	r = bd_recovery_password_parse("720907-222222-333333-444444-555555-000011-000022-999999", k);
	CHECK(r == BD_ERR_INVALID && strstr(bd_last_error(), "block 1 is too large") &&
	      strstr(bd_last_error(), "block 8 is") && !strstr(bd_last_error(), "720907"),
	      "too-large and second bad block named: %s", bd_last_error());
	r = bd_recovery_password_parse("111111-222222-333333", k);
	CHECK(r == BD_ERR_INVALID && strstr(bd_last_error(), "18 digits"), "short password: %s", bd_last_error());
	r = bd_recovery_password_parse("111111-222222-33x333-444444-555555-000011-000022-000033", k);
	CHECK(r == BD_ERR_INVALID && strstr(bd_last_error(), "position 17") && !strstr(bd_last_error(), "'x'"),
	      "position of the letter named, not the letter: %s", bd_last_error());
	r = bd_recovery_password_parse("000000-000000-000000-000000-000000-000000-000000-000000", k);
	CHECK(r == 0 && bd_is_zero(k, 16), "all-zero recovery password");
}

static void test_datums(void)
{
	uint8_t buf[512];
	struct bd_datum_iter it, ch;
	struct bd_datum d, c;
	size_t n = 0;
	int r, count = 0;

	/* VMK { UNICODE, unknown type 0x77, KEY } ; unknown 0x99 at top level ; DESCRIPTION */
	size_t vmk = n;
	n += put_datum(buf + n, 0x24 + 16 + 12 + 0x10, 2, BD_DT_VMK);
	put_le16(buf + vmk + 0x22, 0x0800);
	size_t k = vmk + 0x24;
	k += put_datum(buf + k, 16, 0, BD_DT_UNICODE);
	memcpy(buf + vmk + 0x24 + 8, "H\0i\0!\0\0\0", 8);
	k += put_datum(buf + k, 12, 0, 0x77);
	put_datum(buf + k, 0x10, 0, BD_DT_KEY);
	put_le16(buf + k + 8, 0x2002);
	n += put_datum(buf + n, 20, 9, 0x99);
	n += put_datum(buf + n, 12, BD_ROLE_DESCRIPTION, BD_DT_UNICODE);

	CHECK(bd_datum_validate(buf, n, 0) == 0, "synthetic datums validate");
	bd_datum_iter_init(&it, buf, n);
	while ((r = bd_datum_next(&it, &d)) > 0)
		count++;
	CHECK(r == 0 && count == 3, "three top-level datums, unknown type skipped by size (%d)", count);
	CHECK(bd_datum_find(buf, n, 2, BD_DT_VMK, &d) == 1, "find VMK");
	const uint8_t *g;
	uint64_t mt;
	uint16_t prot, kt;
	CHECK(bd_datum_vmk(&d, &g, &mt, &prot) == 0 && prot == 0x0800, "VMK protection type");
	CHECK(bd_datum_find_child(&d, -1, BD_DT_KEY, &c) == 1, "child KEY found past an unknown child");
	const uint8_t *key;
	size_t klen;
	CHECK(bd_datum_key(&c, &kt, &key, &klen) == 0 && kt == 0x2002 && klen == 4, "KEY body");
	char s[16];
	CHECK(bd_datum_find_child(&d, -1, BD_DT_UNICODE, &c) == 1, "child UNICODE");
	bd_datum_unicode(&c, s, sizeof(s));
	CHECK(!strcmp(s, "Hi!"), "UNICODE to UTF-8 (%s)", s);
	bd_datum_iter_children(&ch, &d);
	count = 0;
	while (bd_datum_next(&ch, &c) > 0)
		count++;
	CHECK(count == 3, "VMK has three children");

	/* a size-0 datum ends the run */
	uint8_t t[32] = { 0 };
	put_datum(t, 8, 0, 0);
	CHECK(bd_datum_find(t, sizeof(t), -1, 0x55, &d) == 0, "size-0 terminator");
	/* size < 8 or beyond the parent */
	put_le16(t, 5);
	bd_datum_iter_init(&it, t, sizeof(t));
	CHECK(bd_datum_next(&it, &d) == BD_ERR_CORRUPT, "size < 8 is corrupt");
	put_le16(t, 40);
	bd_datum_iter_init(&it, t, sizeof(t));
	CHECK(bd_datum_next(&it, &d) == BD_ERR_CORRUPT, "size past the parent is corrupt");
	/* nested child running past its parent */
	memcpy(t, buf + n - 12, 0);
	put_datum(t, 32, 2, BD_DT_VMK);
	CHECK(bd_datum_validate(t, sizeof(t), 0) == BD_ERR_CORRUPT, "VMK shorter than its fixed part is corrupt");
	uint8_t u[64];
	put_datum(u, 56, 2, BD_DT_VMK);
	put_datum(u + 0x24, 8, 0, BD_DT_KEY);
	put_le16(u + 0x24, 30);
	CHECK(bd_datum_validate(u, sizeof(u), 0) == BD_ERR_CORRUPT, "nested datum past its parent is corrupt");
	/* every known type has a name and sane fixed size */
	CHECK(bd_datum_fixed_size(BD_DT_AES_CCM) == 0x24 && bd_datum_fixed_size(0x1234) == 8 &&
	      bd_datum_is_nested(BD_DT_STRETCH_KEY) && !bd_datum_is_nested(BD_DT_KEY), "type table");
}

static void test_block(void)
{
	uint8_t *blk = calloc(1, 0x10000);
	struct bd_metadata m;
	size_t n;
	int r;

	memcpy(blk, "-FVE-FS-", 8);
	put_le16(blk + 10, 2);
	put_le16(blk + 12, 4);
	put_le16(blk + 14, 4);
	put_le64(blk + 16, 104857600);
	put_le32(blk + 28, 16);
	put_le64(blk + 32, 0x2195000);
	put_le64(blk + 40, 0x2c1d000);
	put_le64(blk + 48, 0x373a000);
	put_le64(blk + 56, 0x21a5000);
	uint8_t *ds = blk + 64;
	n = 0x30;
	n += put_datum(ds + n, 12, BD_ROLE_DESCRIPTION, BD_DT_UNICODE);
	n += put_datum(ds + n, 20, 0x42, 0x4242); /* unknown role and type */
	put_le32(ds, (uint32_t)n);
	put_le32(ds + 4, 1);
	put_le32(ds + 8, 0x30);
	put_le32(ds + 12, (uint32_t)n);
	put_le16(ds + 0x24, 0x8004);
	size_t S = (64 + n + 15) & ~(size_t)15;
	put_le16(blk + 8, (uint16_t)(S >> 4));
	put_le16(blk + S, (uint16_t)(0x10000 - S));
	put_le16(blk + S + 2, 2);
	put_le32(blk + S + 4, bd_crc32(blk, S));

	r = bd_metadata_parse(blk, 0x10000, 0x2195000, &m);
	CHECK(r == 0 && m.status == BD_COPY_OK && m.covered == S && m.ds.method == 0x8004 &&
	      m.virt_sectors == 16 && m.copy_off[2] == 0x373a000, "synthetic block parses (%s)", r ? bd_last_error() : "ok");
	bd_metadata_free(&m);
	blk[70] ^= 1;
	r = bd_metadata_parse(blk, 0x10000, 0, &m);
	CHECK(r == BD_ERR_CORRUPT && m.status == BD_COPY_BAD_CRC, "flipped byte: bad CRC");
	bd_metadata_free(&m);
	blk[70] ^= 1;
	blk[0] = 'x';
	r = bd_metadata_parse(blk, 0x10000, 0, &m);
	CHECK(r && m.status == BD_COPY_BAD_SIGNATURE, "bad signature");
	bd_metadata_free(&m);
	blk[0] = '-';
	put_le16(blk + 8, 0xFFFF);
	r = bd_metadata_parse(blk, 0x10000, 0, &m);
	CHECK(r && m.status == BD_COPY_BAD_STRUCTURE, "size beyond the area");
	bd_metadata_free(&m);
	put_le16(blk + 8, (uint16_t)(S >> 4));
	r = bd_metadata_parse(blk, 100, 0, &m);
	CHECK(r && m.status != BD_COPY_OK, "short buffer refused");
	bd_metadata_free(&m);
	/* dataset entry range beyond its size, CRC made valid */
	put_le32(ds + 12, (uint32_t)n + 100);
	put_le32(blk + S + 4, bd_crc32(blk, S));
	r = bd_metadata_parse(blk, 0x10000, 0, &m);
	CHECK(r && m.status == BD_COPY_BAD_STRUCTURE, "dataset range checked after CRC");
	bd_metadata_free(&m);
	free(blk);
}

static void test_bek(void)
{
	uint8_t bek[200], want[32];
	struct bd_bek b;
	char g[37];
	int len = hex2bin(bek_hex, bek, sizeof(bek));
	int r;

	CHECK(len == 156, "BEK vector is 156 bytes (%d)", len);
	r = bd_bek_parse(bek, (size_t)len, &b);
	bd_guid_format(b.guid, g);
	hex2bin("7a70ca1ab390e00daf4d72c217c42bf67a39db94d76214733ae56acb1c5dd814", want, 32);
	CHECK(r == 0 && !strcmp(g, "b3411a58-3400-420a-8b7e-9b5f706425c0") && !memcmp(b.key, want, 32) &&
	      !b.has_volume_guid, "Windows 10 BEK: GUID %s and key", g);
	r = bd_bek_parse(bek, 40, &b);
	CHECK(r == BD_ERR_INVALID, "truncated BEK refused");
	bek[0x70] = 0x90; /* KEY datum size past the end */
	r = bd_bek_parse(bek, (size_t)len, &b);
	CHECK(r == BD_ERR_INVALID, "damaged BEK refused: %s", bd_last_error());
	bek[0x70] = 0x2c;
	/* Windows 11 layout: a GUID datum (role 0x19, type 0x17) appended inside the external key */
	uint8_t w11[200];
	memcpy(w11, bek, 156);
	put_datum(w11 + 156, 0x18, 0x19, BD_DT_GUID);
	memset(w11 + 164, 0xAB, 16);
	put_le16(w11 + 0x30, 0x6c + 0x18);
	put_le32(w11, 180);
	put_le32(w11 + 12, 180);
	r = bd_bek_parse(w11, 180, &b);
	CHECK(r == 0 && b.has_volume_guid && b.volume_guid[0] == 0xAB && !memcmp(b.key, want, 32),
	      "Windows 11 BEK layout with volume GUID");
}

/* ---- the volume view on a real Windows volume (skipped when the images are not unpacked) ---- */

struct rd_job {
	bd_volume *v;
	uint64_t off;
	size_t len;
	uint8_t *buf;
	ssize_t n;
};

static void *rd_thread(void *arg)
{
	struct rd_job *j = arg;

	for (int k = 0; k < 4; k++)
		j->n = bd_volume_pread(j->v, j->buf, j->len, j->off);
	return NULL;
}

static void test_volume(void)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	char src[200], img[200], cmd[800];
	bd_volume *v;
	struct bd_open_opts ro = BD_OPEN_OPTS_INIT(.offset = -1, .writable = 0), rw = BD_OPEN_OPTS_INIT(.offset = -1, .writable = 1);
	size_t big = 3u << 20;
	uint8_t *a = malloc(big), *b = malloc(big), *c = malloc(big);
	int r;

	snprintf(src, sizeof(src), "%s/testdata/bitlk-images/bitlk-aes-xts-128.img", build);
	if (access(src, R_OK)) {
		build = "build"; /* e.g. build-asan before its own copy is unpacked */
		snprintf(src, sizeof(src), "%s/testdata/bitlk-images/bitlk-aes-xts-128.img", build);
	}
	if (access(src, R_OK)) {
		SKIP("volume view: real images not unpacked (tests/unpack-images.sh)");
		goto out;
	}
	r = bd_volume_open(src, &ro, &v);
	CHECK(r == 0, "open real volume read-only");
	if (r)
		goto out;
	CHECK(bd_volume_pread(v, a, 4096, 0) == BD_ERR_LOCKED, "locked volume refuses encrypted reads");
	CHECK(bd_volume_pwrite(v, a, 512, 0) == BD_ERR_READONLY, "read-only volume refuses writes");
	r = bd_unlock_password(v, "anaconda");
	CHECK(r == 0, "unlock with the password");
	/* unaligned reads equal slices of aligned ones, across the relocated area, a reserved area and the end */
	uint64_t offs[] = { 0, 8191, 35213312 - 1000, 104857600 - 5000, 1234567 };
	for (size_t i = 0; i < ARRAY_SIZE(offs); i++) {
		uint64_t o = offs[i], al = o & ~(uint64_t)511;
		size_t len = 3000;
		ssize_t n1 = bd_volume_pread(v, a, len, o);
		ssize_t n2 = bd_volume_pread(v, b, 4096 + 512, al);
		size_t want = (size_t)MIN((uint64_t)len, 104857600 - o);
		CHECK(n1 == (ssize_t)want && n2 > 0 && !memcmp(a, b + (o - al), want), "unaligned read at %llu",
		      (unsigned long long)o);
	}
	CHECK(bd_volume_pread(v, a, 100, 104857600) == 0, "read at the end returns 0");
	CHECK(bd_volume_pread(v, a, 65536, 35213312) == 65536 && bd_is_zero(a, 65536), "metadata copy 1 reads as zeros");
	CHECK(bd_volume_pread(v, a, 8192, 35278848) == 8192 && bd_is_zero(a, 8192), "relocation area reads as zeros");
	CHECK(bd_volume_pread(v, a, 512, 0) == 512 && !memcmp(a + 3, "NTFS    ", 8), "sector 0 is the NTFS boot sector");
	/* concurrent readers see the same bytes as one reader */
	bd_volume_pread(v, a, big, 30u << 20);
	struct rd_job jobs[3];
	pthread_t t[3];
	uint8_t *bufs[3] = { b, c, malloc(big) };
	for (int i = 0; i < 3; i++) {
		jobs[i] = (struct rd_job){ v, (30u << 20) + (uint64_t)i * (1u << 20), (size_t)(1u << 20), bufs[i], 0 };
		pthread_create(&t[i], NULL, rd_thread, &jobs[i]);
	}
	int same = 1;
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		same &= jobs[i].n == (ssize_t)(1u << 20) && !memcmp(bufs[i], a + (size_t)i * (1u << 20), 1u << 20);
	}
	free(bufs[2]);
	CHECK(same, "three threads reading in parallel agree with one");
	bd_volume_close(v);

	/* writes through the view on a copy */
	snprintf(img, sizeof(img), "%s/tests/vol-write-test.img", build);
	snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s' && chmod u+w '%s'", src, img, img);
	if (system(cmd)) {
		SKIP("volume writes: cannot copy the image");
		goto out;
	}
	r = bd_volume_open(img, &rw, &v);
	CHECK(r == 0 && bd_volume_can_write(v) == BD_ERR_LOCKED, "writable but locked: can_write says locked");
	bd_unlock_recovery_password(v, "235818-357951-253979-013365-241120-245575-342914-591910");
	CHECK(bd_volume_can_write(v) == 0, "unlocked: can_write");
	uint8_t boot[512], pat[5000];
	bd_volume_pread(v, boot, 512, 0);
	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 7 + 1);
	boot[0x1F0] ^= 0xFF; /* change a byte of the boot code area */
	CHECK(bd_volume_pwrite(v, boot, 512, 0) == 512, "write sector 0 (goes to the relocated copy)");
	CHECK(bd_volume_pwrite(v, pat, sizeof(pat), 20000001) == (ssize_t)sizeof(pat), "unaligned write");
	CHECK(bd_volume_pwrite(v, pat, 4096, 35213312) == 4096, "write into a metadata area is dropped");
	CHECK(bd_volume_sync(v) == 0, "sync");
	bd_volume_close(v);
	r = bd_volume_open(img, &ro, &v);
	CHECK(r == 0, "reopen after writes (metadata intact)");
	if (!r) {
		bd_unlock_password(v, "anaconda");
		bd_volume_pread(v, a, 512, 0);
		CHECK(!memcmp(a, boot, 512), "sector 0 reads back");
		bd_volume_pread(v, a, sizeof(pat), 20000001);
		CHECK(!memcmp(a, pat, sizeof(pat)), "unaligned write reads back");
		bd_volume_pread(v, a, 4096, 35213312);
		CHECK(bd_is_zero(a, 4096), "metadata area still reads as zeros");
		struct bd_info in;
		bd_volume_info(v, &in);
		CHECK(in.copy_status[0] == BD_COPY_OK && in.hash_verified, "metadata copy 1 still valid");
		uint8_t raw[8] = { 0 };
		FILE *f = fopen(img, "rb");
		size_t got = f ? fread(raw, 1, 8, f) : 0;
		if (f)
			fclose(f);
		CHECK(got == 8 && !memcmp(raw + 3, "-FVE", 4), "on-disk sector 0 keeps the -FVE-FS- header");
		bd_volume_close(v);
	}
	unlink(img);
out:
	free(a);
	free(b);
	free(c);
}

int main(void)
{
	test_recovery_password();
	test_datums();
	test_block();
	test_bek();
	test_volume();
	CHECK_DONE();
}
