/* Unit tests for the one door (lib/unlock.c): bd_unlock's policy over struct bd_secrets (order,
 * stopping rule, typed secrets, no secret at all, the size field) and bd_errno. The volume is made
 * by bd_create; that each secret opens it is checked by the shell tests against Windows' volumes. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <stddef.h>

#include "bdkit.h"
#include "check.h"
#include "volume.h"

static char dir[] = "/tmp/bdkit-unlock-XXXXXX";

static bd_volume *reopen(const char *path)
{
	struct bd_open_opts ro = BD_OPEN_OPTS_INIT(.offset = -1);
	bd_volume *v = NULL;

	if (bd_volume_open(path, &ro, &v))
		return NULL;
	return v;
}

int main(void)
{
	struct bd_create_opts o;
	struct bd_create_result cr;
	struct bd_io *io = NULL;
	struct bd_info in;
	bd_volume *v;
	char path[300];
	int r;

	/* caller-allocated option structs carry their size (BD_*_INIT): a too small one is refused
	 * before anything else is looked at */
	{
		struct bd_open_opts small = { .size = offsetof(struct bd_open_opts, ignore_integrity), .offset = -1 };
		struct bd_open_opts zero = { .offset = -1 };
		struct bd_create_opts csmall = { .size = 8 };
		struct bd_rpsearch_opts rsmall = { .size = sizeof(size_t) };
		struct bd_diag_opts dsmall = { .size = 1 };
		struct bd_memkeys_result mres;
		struct bd_memkeys_opts msmall = { .size = 0 };
		bd_rpsearch *rs = NULL;
		struct bd_diagnosis *dg = NULL;
		bd_volume *sv = NULL;
		CHECK(bd_volume_open("/nonexistent", &small, &sv) == BD_ERR_INVALID && !sv &&
		      strstr(bd_last_error(), "BD_OPEN_OPTS_INIT"), "bd_open_opts too small: refused (%s)", bd_last_error());
		CHECK(bd_volume_open("/nonexistent", &zero, &sv) == BD_ERR_INVALID, "bd_open_opts without size: refused");
		CHECK(bd_create(NULL, &csmall, &cr) == BD_ERR_INVALID, "bd_create_opts too small: refused");
		CHECK(bd_rpsearch_new("xxxxxx-xxxxxx-xxxxxx-xxxxxx-xxxxxx-xxxxxx-xxxxxx-xxxxxx", &rsmall, &rs) ==
		      BD_ERR_INVALID && !rs, "bd_rpsearch_opts too small: refused");
		CHECK(bd_diagnose(NULL, NULL, &dsmall, &dg) == BD_ERR_INVALID && strstr(bd_last_error(), "BD_DIAG_OPTS_INIT"),
		      "bd_diag_opts too small: refused");
		CHECK(bd_memkeys_search(NULL, NULL, &msmall, &mres) == BD_ERR_INVALID, "bd_memkeys_opts too small: refused");
		struct bd_open_opts ok = BD_OPEN_OPTS_INIT(.offset = -1);
		CHECK(ok.size == sizeof(ok) && bd_volume_open("/nonexistent", &ok, &sv) == BD_ERR_IO,
		      "BD_OPEN_OPTS_INIT: accepted (then the missing file: I/O error)");
	}
	CHECK(bd_errno(BD_ERR_NOT_FOUND) == ENOENT && bd_errno(BD_ERR_AUTH) == EACCES && bd_errno(BD_ERR_DENIED) == EPERM &&
	      !strcmp(bd_strerror(BD_ERR_NOT_FOUND), "not found") && !strcmp(bd_strerror(BD_ERR_AUTH), "authentication failed") &&
	      !strcmp(bd_strerror(BD_ERR_DENIED), "permission denied"), "new error codes: errno and text");
	CHECK(bd_errno(BD_ERR_LOCKED) == EROFS && bd_errno(BD_ERR_READONLY) == EROFS && bd_errno(BD_ERR_STATE) == EROFS &&
	      bd_errno(BD_ERR_INTERRUPTED) == EINTR && bd_errno(BD_ERR_NOMEM) == ENOMEM &&
	      bd_errno(BD_ERR_INVALID) == EINVAL && bd_errno(BD_ERR_IO) == EIO && bd_errno(BD_ERR_CORRUPT) == EIO,
	      "bd_errno: one mapping for FUSE and nbdkit");
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		CHECK_DONE();
	}
	snprintf(path, sizeof(path), "%s/v.img", dir);
	FILE *f = fopen(path, "wb");
	if (!f || ftruncate(fileno(f), 4u << 20)) {
		CHECK(0, "make the target");
		CHECK_DONE();
	}
	fclose(f);
	o = (struct bd_create_opts)BD_CREATE_OPTS_INIT();
	o.password = "door-test";
	o.recovery_password = 1;
	if (bd_io_open_file(path, BD_IO_RDWR, &io) || bd_create(io, &o, &cr)) {
		CHECK(0, "bd_create (%s)", bd_last_error());
		CHECK_DONE();
	}
	bd_io_close(io);

	const char *wrong_pw[] = { "not-it" }, *right_pw[] = { "door-test" }, *rps[] = { cr.recovery_password };
	const char *bad_rp[] = { "123456-123456" };

	/* a struct not made with BD_SECRETS_INIT */
	v = reopen(path);
	struct bd_secrets zero;
	memset(&zero, 0, sizeof(zero));
	CHECK(v && bd_unlock(v, &zero) == BD_ERR_INVALID, "a struct bd_secrets without its size is refused");

	/* nothing given, not suspended: BD_ERR_NO_PROTECTOR (the caller may prompt) */
	struct bd_secrets none = BD_SECRETS_INIT;
	CHECK(v && bd_unlock(v, &none) == BD_ERR_NO_PROTECTOR, "no secret and no clear key: BD_ERR_NO_PROTECTOR");

	/* a wrong password goes on to the next secret: the recovery password opens it */
	struct bd_secrets s = BD_SECRETS_INIT;
	s.passwords = wrong_pw;
	s.n_passwords = 1;
	s.recovery_passwords = rps;
	s.n_recovery_passwords = 1;
	r = v ? bd_unlock(v, &s) : -1;
	CHECK(r == 0 && !bd_volume_info(v, &in) && in.unlocked && in.unlocked_with == BD_UNLOCKED_PROTECTOR &&
	      !memcmp(in.unlock_protector, cr.recovery_guid, 16), "wrong password, then the recovery password: "
	      "unlocked by the recovery-password protector (%d %s)", r, r ? bd_last_error() : "");
	bd_volume_close(v);

	/* a malformed secret stops the door: the right password after it is not tried */
	v = reopen(path);
	struct bd_secrets m = BD_SECRETS_INIT;
	m.recovery_passwords = bad_rp;
	m.n_recovery_passwords = 1;
	m.passwords = right_pw;
	m.n_passwords = 1;
	r = v ? bd_unlock(v, &m) : -1;
	CHECK(r == BD_ERR_INVALID && !bd_volume_info(v, &in) && !in.unlocked,
	      "a malformed recovery password stops the door (BD_ERR_INVALID, still locked)");

	/* only wrong secrets: BD_ERR_WRONG_KEY */
	struct bd_secrets w = BD_SECRETS_INIT;
	w.passwords = wrong_pw;
	w.n_passwords = 1;
	CHECK(v && bd_unlock(v, &w) == BD_ERR_WRONG_KEY, "a wrong password alone: BD_ERR_WRONG_KEY");

	/* typed secrets are told apart by shape */
	struct bd_secrets t = BD_SECRETS_INIT;
	t.typed = right_pw;
	t.n_typed = 1;
	r = v ? bd_unlock(v, &t) : -1;
	CHECK(r == 0 && !bd_volume_info(v, &in) && in.unlock_protector_type == BD_PROT_PASSWORD,
	      "typed: a password opens the password protector");
	bd_volume_close(v);
	v = reopen(path);
	t.typed = rps;
	r = v ? bd_unlock(v, &t) : -1;
	CHECK(r == 0 && !bd_volume_info(v, &in) && in.unlock_protector_type == BD_PROT_RECOVERY_PASSWORD,
	      "typed: 48 digits open the recovery-password protector");

	/* the raw VMK of an unlocked volume opens a fresh handle through the door too */
	uint8_t vmk[32];
	int have_vmk = v && v->vmk;
	if (have_vmk)
		memcpy(vmk, v->vmk->data, 32);
	bd_volume_close(v);
	v = reopen(path);
	struct bd_blob vb = { vmk, 32 };
	struct bd_secrets k = BD_SECRETS_INIT;
	k.passwords = wrong_pw;
	k.n_passwords = 1;
	k.vmks = &vb;
	k.n_vmks = 1;
	r = v && have_vmk ? bd_unlock(v, &k) : -1;
	CHECK(r == 0 && !bd_volume_info(v, &in) && in.unlocked_with == BD_UNLOCKED_VMK,
	      "wrong password, then a raw VMK: unlocked with the VMK");
	bd_wipe(vmk, sizeof(vmk));
	bd_volume_close(v);

	/* a key package: export it, remove the recovery-password protector from the volume, and the
	 * recovery password still opens the volume through the package's copy of that protector */
	struct bd_open_opts rw = BD_OPEN_OPTS_INIT(.offset = -1, .writable = 1);
	uint8_t *kp = NULL;
	size_t kplen = 0;
	v = NULL;
	r = bd_volume_open(path, &rw, &v) || bd_unlock_password(v, "door-test") || bd_keypackage_export(v, &kp, &kplen) ||
	    bd_protector_remove(v, cr.recovery_guid, &(struct bd_change_opts)BD_CHANGE_OPTS_INIT());
	CHECK(!r, "export a key package, then remove the recovery-password protector (%s)", r ? bd_last_error() : "");
	bd_volume_close(v);
	v = reopen(path);
	struct bd_secrets rp_only = BD_SECRETS_INIT;
	rp_only.recovery_passwords = rps;
	rp_only.n_recovery_passwords = 1;
	CHECK(v && bd_unlock(v, &rp_only) == BD_ERR_NO_PROTECTOR, "without the package the recovery password has no protector");
	struct bd_blob kb = { kp, kplen };
	rp_only.key_packages = &kb;
	rp_only.n_key_packages = 1;
	r = v && kp ? bd_unlock(v, &rp_only) : -1;
	CHECK(r == 0 && !bd_volume_info(v, &in) && in.unlocked && !memcmp(in.unlock_protector, cr.recovery_guid, 16),
	      "recovery password + key package: unlocked by the package's recovery-password protector (%d %s)", r,
	      r ? bd_last_error() : "");
	bd_volume_close(v);
	v = reopen(path);
	struct bd_secrets wk = BD_SECRETS_INIT;
	wk.passwords = wrong_pw;
	wk.n_passwords = 1;
	wk.key_packages = &kb;
	wk.n_key_packages = 1;
	CHECK(v && kp && bd_unlock(v, &wk) == BD_ERR_WRONG_KEY, "wrong password + key package: BD_ERR_WRONG_KEY");
	bd_volume_close(v);
	free(kp);
	bd_create_result_wipe(&cr);
	unlink(path);
	char bak[320];
	snprintf(bak, sizeof(bak), "%s.bak", path);
	unlink(bak);
	rmdir(dir);
	CHECK_DONE();
}
