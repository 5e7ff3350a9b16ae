/* Unit tests for lib/aeskey.c, lib/memimage.c and lib/memkeys.c: FIPS-197 key expansion vectors,
 * schedule recognition in every layout, AES-NI against OpenSSL, memory image framing, and the
 * search on synthetic memory holding the keys of volumes bd_create made (every method). */
#include <stdlib.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "aeskey.h"
#include "check.h"
#include "volume.h"

static void fips197(void)
{
	uint8_t k128[16], k256[32], s[240], want[16];

	hex2bin("2b7e151628aed2a6abf7158809cf4f3c", k128, 16);
	bd_aes_key_schedule(k128, 16, s);
	hex2bin("d014f9a8c9ee2589e13f0cc8b6630ca6", want, 16);
	CHECK(!memcmp(s + 160, want, 16), "FIPS-197 A.1: AES-128 round key 10");
	hex2bin("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", k256, 32);
	bd_aes_key_schedule(k256, 32, s);
	hex2bin("fe4890d1e6188d0b046df344706c631e", want, 16);
	CHECK(!memcmp(s + 224, want, 16), "FIPS-197 A.3: AES-256 round key 14");
}

/* The decryption schedule matches what OpenSSL decrypts with: decrypt one block by hand
 * (equivalent inverse cipher needs the tables; instead: round trip through EVP with the key
 * recovered from the decryption schedule). */
static void layouts(void)
{
	static const size_t lens[2] = { 16, 32 };
	uint8_t key[32], s[240], d[240], buf[512], got[32];

	for (int li = 0; li < 2; li++) {
		size_t len = lens[li], n = 16 * (len / 4 + 7);
		RAND_bytes(key, (int)len);
		bd_aes_key_schedule(key, len, s);
		bd_aes_dec_schedule(s, len, d);
		for (int variant = 0; variant < 4; variant++) {
			int flags = 0, r, f;
			RAND_bytes(buf, sizeof(buf));
			memcpy(buf + 13, variant & 1 ? d : s, n);
			if (variant & 2)
				for (size_t i = 0; i < n; i += 4) {
					uint8_t t0 = buf[13 + i], t1 = buf[13 + i + 1];
					buf[13 + i] = buf[13 + i + 3];
					buf[13 + i + 1] = buf[13 + i + 2];
					buf[13 + i + 2] = t1;
					buf[13 + i + 3] = t0;
				}
			f = bd_aes_schedule_filter(buf + 13, sizeof(buf) - 13);
			r = f ? bd_aes_schedule_at(buf + 13, sizeof(buf) - 13, f, got, &flags) : 0;
			CHECK(r == (int)len && !memcmp(got, key, len) && !!(flags & BD_AESKS_SWAPPED) == !!(variant & 2) &&
			      !!(flags & (BD_AESKS_DEC128 | BD_AESKS_DEC256)) == (variant & 1),
			      "AES-%zu %s schedule%s recognised, key recovered", 8 * len, variant & 1 ? "decryption" : "encryption",
			      variant & 2 ? " (byte-reversed words)" : "");
			int miss = 0;
			for (int off = 0; off < 13; off++)
				miss += bd_aes_schedule_filter(buf + off, sizeof(buf) - off) &&
					bd_aes_schedule_at(buf + off, sizeof(buf) - off, 0xff, got, &flags);
			CHECK(!miss, "AES-%zu: no schedule reported at the wrong offsets", 8 * len);
		}
	}
	memset(buf, 0, sizeof(buf));
	CHECK(!bd_aes_schedule_filter(buf, sizeof(buf)), "zero-filled memory is not a schedule");
	memset(buf, 0x41, sizeof(buf));
	CHECK(!bd_aes_schedule_filter(buf, sizeof(buf)), "a fill pattern is not a schedule");
}

static void fast_block(void)
{
	uint8_t key[32], in[16], a[16], b[16];
	int n = 0, same = 1;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	if (bd_aes256_block_fast(key, in, a)) {
		SKIP("AES-NI single block: the CPU has no AES-NI");
		EVP_CIPHER_CTX_free(c);
		return;
	}
	for (int i = 0; i < 200; i++) {
		RAND_bytes(key, 32);
		RAND_bytes(in, 16);
		bd_aes256_block_fast(key, in, a);
		EVP_EncryptInit_ex(c, EVP_aes_256_ecb(), NULL, key, NULL);
		EVP_CIPHER_CTX_set_padding(c, 0);
		EVP_EncryptUpdate(c, b, &n, in, 16);
		same &= !memcmp(a, b, 16);
	}
	CHECK(same, "AES-NI AES-256 block equals OpenSSL's for 200 random keys");
	EVP_CIPHER_CTX_free(c);
}

/* ---- memory image framing ---- */

static int open_buf(const uint8_t *buf, size_t len, int format, bd_memimage **m)
{
	struct bd_io *io;
	int r = bd_io_open_memory(buf, len, "test", &io);

	return r ? r : bd_memimage_open_io(io, format, m);
}

static void framing(void)
{
	uint8_t buf[16384];
	bd_memimage *m;
	struct bd_memimage_info mi;
	uint64_t a;

	/* LiME: two ranges */
	memset(buf, 0, sizeof(buf));
	put_le32(buf, 0x4C694D45);
	put_le32(buf + 4, 1);
	put_le64(buf + 8, 0x1000);
	put_le64(buf + 16, 0x1FFF);
	put_le32(buf + 32 + 4096, 0x4C694D45);
	put_le32(buf + 36 + 4096, 1);
	put_le64(buf + 40 + 4096, 0x100000);
	put_le64(buf + 48 + 4096, 0x100000 + 99);
	int r = open_buf(buf, 32 + 4096 + 32 + 100, BD_MEM_AUTO, &m);
	CHECK(!r, "LiME: two ranges open (%s)", r ? bd_last_error() : "");
	if (!r) {
		bd_memimage_info(m, &mi);
		CHECK(mi.format == BD_MEM_LIME && mi.n_runs == 2 && mi.data_bytes == 4196, "LiME: 2 ranges, 4196 bytes");
		CHECK(!bd_memimage_address(m, 32 + 10, &a) && a == 0x100A, "LiME: file offset 42 is address 0x100a");
		CHECK(!bd_memimage_address(m, 4096 + 64 + 5, &a) && a == 0x100005, "LiME: second range address");
		CHECK(bd_memimage_address(m, 4096 + 40, &a), "LiME: a header byte has no address");
		bd_memimage_close(m);
	}
	put_le32(buf + 32 + 4096, 0x12345678);
	CHECK(open_buf(buf, 32 + 4096 + 32 + 100, BD_MEM_LIME, &m) == BD_ERR_CORRUPT, "LiME: a broken range header is corrupt");
	/* ELF64 core with one PT_LOAD and one PT_NOTE */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "\x7f" "ELF", 4);
	buf[4] = 2;
	buf[5] = 1;
	put_le16(buf + 16, 4);
	put_le64(buf + 32, 64);
	put_le16(buf + 54, 56);
	put_le16(buf + 56, 2);
	put_le32(buf + 64, 4);                /* PT_NOTE */
	put_le32(buf + 120, 1);               /* PT_LOAD */
	put_le64(buf + 120 + 8, 4096);
	put_le64(buf + 120 + 16, 0x7f0000000000ull);
	put_le64(buf + 120 + 32, 8192);
	r = open_buf(buf, sizeof(buf), BD_MEM_AUTO, &m);
	CHECK(!r, "ELF core opens (%s)", r ? bd_last_error() : "");
	if (!r) {
		bd_memimage_info(m, &mi);
		CHECK(mi.format == BD_MEM_ELF && mi.n_runs == 1 && mi.data_bytes == 8192 && mi.addr_kind == BD_MEM_ADDR_VIRTUAL,
		      "ELF core: one PT_LOAD of 8192 bytes, virtual addresses");
		CHECK(!bd_memimage_address(m, 4096 + 16, &a) && a == 0x7f0000000010ull, "ELF core: address of a byte");
		bd_memimage_close(m);
	}
	put_le16(buf + 16, 2);
	CHECK(open_buf(buf, sizeof(buf), BD_MEM_AUTO, &m) == BD_ERR_UNSUPPORTED, "ELF executable (not a core) refused");
	/* crash dump: unsupported type */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "PAGEDU64", 8);
	put_le32(buf + 0xF98, 4);
	CHECK(open_buf(buf, sizeof(buf), BD_MEM_AUTO, &m) == BD_ERR_UNSUPPORTED, "triage crash dump refused");
	put_le32(buf + 0xF98, 1);
	put_le32(buf + 0x88, 1000);
	CHECK(open_buf(buf, sizeof(buf), BD_MEM_AUTO, &m) == BD_ERR_CORRUPT, "crash dump with 1000 runs is corrupt");
	memcpy(buf, "hibr", 4);
	CHECK(open_buf(buf, sizeof(buf), BD_MEM_AUTO, &m) == BD_ERR_UNSUPPORTED, "hibernation file refused");
}

/* ---- the search against volumes bd_create made ---- */

static char dir[] = "/tmp/bdkit-memkeys-XXXXXX";

static void search(uint16_t method)
{
	struct bd_create_opts o;
	struct bd_create_result cr;
	struct bd_io *io = NULL;
	bd_volume *v = NULL;
	char path[300];
	uint8_t fvek[64], vmk[32], *mem = NULL;
	size_t fl;
	const size_t memlen = 3u << 20;
	const char *name = bd_method_short_name(method);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || ftruncate(fileno(f), 4u << 20)) {
		CHECK(0, "%s: make the target", name);
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	o = (struct bd_create_opts)BD_CREATE_OPTS_INIT();
	o.method = method;
	o.password = "memkeys-test";
	if (bd_io_open_file(path, BD_IO_RDWR, &io) || bd_create(io, &o, &cr)) {
		CHECK(0, "%s: bd_create (%s)", name, bd_last_error());
		bd_io_close(io);
		return;
	}
	bd_io_close(io);
	bd_create_result_wipe(&cr);
	if (bd_volume_open(path, NULL, &v) || bd_unlock_password(v, o.password)) {
		CHECK(0, "%s: open", name);
		bd_volume_close(v);
		return;
	}
	fl = v->fvek->len;
	memcpy(fvek, v->fvek->data, fl);
	memcpy(vmk, v->vmk->data, 32);
	bd_volume_close(v);

	/* memory: random bytes, the schedules of each half at unrelated places, the raw VMK */
	mem = malloc(memlen);
	RAND_bytes(mem, (int)memlen);
	size_t half = method == 0x8002 || method == 0x8004 || method == 0x8000 ? 16 : 32;
	const uint8_t *k1 = fvek, *k2 = method == 0x8000 || method == 0x8001 ? fvek + 32 : fvek + half;
	uint8_t s[240], d[240];
	bd_aes_key_schedule(k1, half, s);
	memcpy(mem + 1000003, s, 16 * (half / 4 + 7));
	if (method != 0x8002 && method != 0x8003) {
		bd_aes_key_schedule(k2, half, s);
		bd_aes_dec_schedule(s, half, d);   /* the tweak half only as a decryption schedule */
		memcpy(mem + 77777, method >= 0x8004 ? s : d, 16 * (half / 4 + 7));
	}
	memcpy(mem + 2500000, vmk, 32);
	struct bd_memkeys_opts mo = BD_MEMKEYS_OPTS_INIT(.threads = 2, .keep_going = 1);
	struct bd_memkeys_result res;
	bd_memimage *m = NULL;
	int r = bd_volume_open(path, NULL, &v) ? -1 : open_buf(mem, memlen, BD_MEM_RAW, &m);
	if (!r)
		r = bd_memkeys_search(m, v, &mo, &res);
	CHECK(!r && res.fvek_found && res.fvek_len == fl && !memcmp(res.fvek, fvek, fl) && res.method == method,
	      "%s: the FVEK is found in memory and proven (%s)", name, r ? bd_last_error() : "");
	CHECK(!r && res.vmk_found && !memcmp(res.vmk, vmk, 32) && res.keys[res.vmk_part].kind == BD_MEMKEY_RAW &&
	      res.keys[res.vmk_part].file_off == 2500000, "%s: the raw VMK is found at its offset and proven", name);
	CHECK(!r && res.complete && res.bytes_scanned == memlen, "%s: the whole image was scanned", name);
	CHECK(!r && bd_volume_info(v, &(struct bd_info){ 0 }) == 0 && v->unlocked, "%s: the volume is left unlocked", name);
	bd_memkeys_result_free(&res);
	bd_memimage_close(m);
	bd_volume_close(v);
	m = NULL;
	v = NULL;

	/* the same memory without the keys: nothing accepted */
	RAND_bytes(mem, (int)memlen);
	for (int i = 0; i < 20; i++) {
		uint8_t k[32];
		RAND_bytes(k, 32);
		bd_aes_key_schedule(k, half, s);
		memcpy(mem + 4096 * (size_t)(i + 1) + (size_t)i, s, 16 * (half / 4 + 7));
	}
	r = bd_volume_open(path, NULL, &v) ? -1 : open_buf(mem, memlen, BD_MEM_RAW, &m);
	if (!r)
		r = bd_memkeys_search(m, v, &mo, &res);
	CHECK(r == BD_ERR_WRONG_KEY && res.n_keys == 20 && !res.fvek_found && !res.vmk_found && !v->unlocked,
	      "%s: 20 foreign schedules and random bytes: nothing accepted", name);
	bd_memkeys_result_free(&res);
	bd_memimage_close(m);
	bd_volume_close(v);
	bd_wipe(fvek, sizeof(fvek));
	bd_wipe(vmk, sizeof(vmk));
	free(mem);
	unlink(path);
}

int main(void)
{
	fips197();
	layouts();
	fast_block();
	framing();
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		CHECK_DONE();
	}
	for (uint16_t m = 0x8000; m <= 0x8005; m++)
		search(m);
	rmdir(dir);
	CHECK_DONE();
}
