/* Unit tests for the inputs work: Windows recovery key files (lib/keyfile.c), container detection
 * (lib/container.c), the unlock record in bd_info, and what a metadata rewrite on an unfinished
 * conversion says. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "container.h"
#include "volume.h"

static const char *rp = "235818-357951-253979-013365-241120-245575-342914-591910";
static const char *id = "64311DEA-4587-4029-924A-BA299647998E";

/* text as UTF-16 (le or be), with a BOM when bom */
static size_t utf16(const char *s, int be, int bom, uint8_t *out)
{
	size_t n = 0;

	if (bom) {
		out[n++] = be ? 0xFE : 0xFF;
		out[n++] = be ? 0xFF : 0xFE;
	}
	for (; *s; s++) {
		out[n++] = be ? 0 : (uint8_t)*s;
		out[n++] = be ? (uint8_t)*s : 0;
	}
	return n;
}

static void keyfiles(void)
{
	char text[2048];
	uint8_t buf[4096];
	struct bd_recovery_key_file kf;
	uint8_t g[16];
	size_t n;

	bd_guid_parse(id, g);
	snprintf(text, sizeof(text), "BitLocker Drive Encryption recovery key\r\n\r\nIdentifier:\r\n\r\n\t%s\r\n\r\n"
		 "Recovery Key:\r\n\r\n\t%s\r\n", id, rp);
	for (int v = 0; v < 4; v++) {
		static const char *names[] = { "UTF-16LE with BOM", "UTF-16BE with BOM", "UTF-16LE without BOM", "UTF-8" };
		n = v < 2 ? utf16(text, v == 1, 1, buf) : v == 2 ? utf16(text, 0, 0, buf) : strlen(text);
		if (v == 3)
			memcpy(buf, text, n);
		int r = bd_recovery_key_file_parse(buf, n, &kf);
		CHECK(!r && !strcmp(kf.password, rp) && kf.has_guid && !memcmp(kf.guid, g, 16) && !strcmp(kf.key_id, "64311DEA") &&
		      kf.windows, "key file %s: password and identifier", names[v]);
	}
	/* Windows 7: only "identification: 64311DEA-4587-40" */
	snprintf(text, sizeof(text), "BitLocker Drive Encryption Recovery Key\r\nRecovery key identification: 64311DEA-4587-40\r\n"
		 "BitLocker Recovery Key:\r\n%s\r\n", rp);
	CHECK(!bd_recovery_key_file_parse((uint8_t *)text, strlen(text), &kf) && !kf.has_guid && kf.has_key_id &&
	      !strcmp(kf.key_id, "64311DEA"), "Windows 7 wording: key ID from the short identification");
	/* the password alone, with and without dashes */
	CHECK(!bd_recovery_key_file_parse((const uint8_t *)rp, strlen(rp), &kf) && !strcmp(kf.password, rp) && !kf.has_key_id,
	      "a file with the password alone");
	snprintf(text, sizeof(text), "key: 235818357951253979013365241120245575342914591910\n");
	CHECK(!bd_recovery_key_file_parse((uint8_t *)text, strlen(text), &kf) && !strcmp(kf.password, rp),
	      "48 digits without dashes get their dashes");
	snprintf(text, sizeof(text), "%s\n%s\n", rp, "111111-222222-333333-444444-555555-666666-777777-888888");
	CHECK(bd_recovery_key_file_parse((uint8_t *)text, strlen(text), &kf) == BD_ERR_INVALID, "two passwords are refused");
	snprintf(text, sizeof(text), "%s\n%s\n", rp, rp);
	CHECK(!bd_recovery_key_file_parse((uint8_t *)text, strlen(text), &kf), "the same password twice is one");
	CHECK(bd_recovery_key_file_parse((const uint8_t *)"no password here", 16, &kf) == BD_ERR_INVALID,
	      "no password: BD_ERR_INVALID");
	snprintf(text, sizeof(text), "1%s", rp);
	CHECK(bd_recovery_key_file_parse((uint8_t *)text, strlen(text), &kf) == BD_ERR_INVALID,
	      "a longer run of digits is no password");
}

static void detection(void)
{
	uint8_t head[512] = { 0 }, tail[512] = { 0 };

	memcpy(head, "EVF\x09\x0d\x0a\xff\x00", 8);
	CHECK(bd_container_detect(head, 512, tail, 512) == BD_CONTAINER_EWF, "E01 signature");
	memcpy(head, "EVF2\x0d\x0a\x81\x00", 8);
	CHECK(bd_container_detect(head, 512, tail, 512) == BD_CONTAINER_EWF2, "Ex01 signature");
	memcpy(head, "vhdxfile", 8);
	CHECK(bd_container_detect(head, 512, tail, 512) == BD_CONTAINER_VHDX, "VHDX signature");
	memcpy(head, "KDMV", 4);
	CHECK(bd_container_detect(head, 512, tail, 512) == BD_CONTAINER_VMDK, "VMDK sparse extent signature");
	memcpy(head, "QFI\xfb", 4);
	CHECK(bd_container_detect(head, 512, tail, 512) == BD_CONTAINER_QCOW, "QCOW signature");
	memset(head, 0, sizeof(head));
	memcpy(tail, "conectix", 8);
	CHECK(bd_container_detect(head, 512, tail, 512) == BD_CONTAINER_VHD, "fixed VHD: footer at the end only");
	memset(tail, 0, sizeof(tail));
	memcpy(head + 3, "-FVE-FS-", 8);
	CHECK(bd_container_detect(head, 512, tail, 512) == BD_CONTAINER_RAW, "a BitLocker volume is raw");
	struct bd_io *io;
	CHECK(bd_io_open("/", BD_IO_RDONLY, &io) == BD_ERR_NOT_BITLOCKER, "a directory is not BitLocker");
}

static char dir[] = "/tmp/bdkit-inputs-XXXXXX";
static char logged[4096];

static void capture(int level, const char *msg, void *ud)
{
	(void)ud;
	if (level <= BD_LOG_WARN && strlen(logged) + strlen(msg) + 2 < sizeof(logged)) {
		strcat(logged, msg);
		strcat(logged, "\n");
	}
}

static void rewrite_says(void)
{
	struct bd_create_opts o;
	struct bd_create_result cr;
	struct bd_open_opts rw = BD_OPEN_OPTS_INIT(.offset = -1, .writable = 1);
	struct bd_io *io = NULL;
	bd_volume *v = NULL;
	struct bd_info in;
	char path[300];

	snprintf(path, sizeof(path), "%s/v.img", dir);
	FILE *f = fopen(path, "wb");
	if (!f || ftruncate(fileno(f), 4u << 20)) {
		CHECK(0, "make the target");
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	o = (struct bd_create_opts)BD_CREATE_OPTS_INIT();
	o.password = "inputs-test";
	o.recovery_password = 1;
	if (bd_io_open_file(path, BD_IO_RDWR, &io) || bd_create(io, &o, &cr)) {
		CHECK(0, "bd_create (%s)", bd_last_error());
		bd_io_close(io);
		return;
	}
	bd_io_close(io);
	if (bd_volume_open(path, &rw, &v) || bd_unlock_recovery_password(v, cr.recovery_password)) {
		CHECK(0, "open and unlock");
		bd_volume_close(v);
		bd_create_result_wipe(&cr);
		return;
	}
	bd_volume_info(v, &in);
	CHECK(in.unlocked_with == BD_UNLOCKED_PROTECTOR && !memcmp(in.unlock_protector, cr.recovery_guid, 16) &&
	      in.unlock_protector_type == BD_PROT_RECOVERY_PASSWORD, "bd_info names the protector that unlocked");
	bd_create_result_wipe(&cr);
	/* the copy in use as an unfinished conversion would have it (in memory only) */
	v->meta[v->used].cur_state = 3;
	v->meta[v->used].next_state = 1;
	struct bd_protector_new nw;
	logged[0] = 0;
	bd_set_log(capture, NULL);
	int r = bd_protector_add(v, BD_PROT_PASSWORD, "second-password", &(struct bd_change_opts)BD_CHANGE_OPTS_INIT(), &nw);
	bd_set_log(NULL, NULL);
	bd_protector_new_wipe(&nw);
	CHECK(!r && strstr(logged, "conversion is not finished (state 3/1"), "a rewrite on an unfinished conversion says so (%.80s)",
	      r ? bd_last_error() : logged);
	bd_volume_close(v);
	unlink(path);
	char bak[320];
	snprintf(bak, sizeof(bak), "%s.bak", path);
	unlink(bak);
}

int main(void)
{
	keyfiles();
	detection();
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		CHECK_DONE();
	}
	rewrite_says();
	rmdir(dir);
	CHECK_DONE();
}
