/* libFuzzer harness for EFI signature lists and authenticated variable updates (lib/tcg_siglist.c)
 * as `diagnose predict` applies them: the input is a db, dbx, KEK and PK update (appended with
 * duplicates removed, its PKCS#7 signer checked against the log's KEK/PK) and a boot application,
 * applied to a small log with Secure Boot variables, then replayed.
 * Seeds: fuzz/seeds.sh cuts db/dbx values out of the real logs and signs updates with sbvarsign. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bdkit.h"

static uint8_t logbuf[4096];
static size_t loglen;

static void put(const void *d, size_t n)
{
	memcpy(logbuf + loglen, d, n);
	loglen += n;
}

static void put32(uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	put(b, 4);
}

/* a legacy SHA-1 record of a PCR 7 UEFI_VARIABLE_DATA (digests are not checked by predict) */
static void var(uint32_t pcr, uint32_t type, const uint8_t guid[16], const char *name, const uint8_t *val, size_t vlen)
{
	uint8_t d[20] = { 0 }, hdr[32];
	size_t nl = strlen(name);

	put32(pcr);
	put32(type);
	put(d, 20);
	put32((uint32_t)(32 + 2 * nl + vlen));
	memcpy(hdr, guid, 16);
	memset(hdr + 16, 0, 16);
	hdr[16] = (uint8_t)nl;
	hdr[24] = (uint8_t)vlen;
	put(hdr, 32);
	for (size_t i = 0; i < nl; i++) {
		uint8_t c[2] = { (uint8_t)name[i], 0 };
		put(c, 2);
	}
	put(val, vlen);
}

static void build_log(void)
{
	static const uint8_t global[16] = { 0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
					    0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c };
	static const uint8_t secdb[16] = { 0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45,
					   0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f };
	/* one EFI_CERT_SHA256 list with one entry */
	uint8_t list[28 + 48] = { 0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40, 0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28 };
	uint8_t on = 1, zero[20] = { 0 };

	list[16] = sizeof(list);
	list[24] = 48;
	var(7, 0x80000001, global, "SecureBoot", &on, 1);
	var(7, 0x80000001, global, "PK", list, sizeof(list));
	var(7, 0x80000001, global, "KEK", list, sizeof(list));
	var(7, 0x80000001, secdb, "db", list, sizeof(list));
	var(7, 0x80000001, secdb, "dbx", list, sizeof(list));
	put32(7); put32(4); put(zero, 20); put32(4); put32(0);
	var(1, 0x80000002, global, "BootOrder", (const uint8_t *)"\x01\x00\x00\x00", 4);
	var(7, 0x800000E0, secdb, "db", list + 28, 48);
	/* a boot application from a disk: image load event with a hard-drive device path node */
	uint8_t img[32 + 46] = { 0 };
	img[24] = 46;
	img[32] = 4; img[33] = 1; img[34] = 42;
	img[32 + 42] = 0x7f; img[32 + 43] = 0xff; img[32 + 44] = 4;
	put32(4); put32(0x80000003); put(zero, 20); put32(sizeof(img)); put(img, sizeof(img));
	put32(4); put32(4); put(zero, 20); put32(4); put32(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bd_eventlog *log;
	struct bd_prediction *p = NULL;
	static const int kinds[] = { BD_CHANGE_DBX, BD_CHANGE_DB, BD_CHANGE_KEK, BD_CHANGE_PK, BD_CHANGE_BOOT_APP };

	if (!log) {
		build_log();
		if (bd_eventlog_parse(logbuf, loglen, &log))
			abort();   /* the harness's own log must parse */
	}
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct bd_change c = { .kind = kinds[k], .data = data, .len = size, .replace = (int)(k == 1) };
		if (!bd_predict(log, &c, 1, 0x880, 0, &p))
			bd_prediction_free(p);
	}
	return 0;
}
