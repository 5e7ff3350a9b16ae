/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The certificate secret kind of the command line: --private-key FILE, --pkcs12 FILE, --pkcs11 URI
 * (with --key-password-file / --pin-file / --pkcs11-module). The key is loaded once; a password or
 * PIN is read from its file or asked for once on the terminal, and never asked again after a wrong
 * one (a smart card locks after a few wrong PINs). The key goes to the unlock door (bd_unlock) as the
 * private_keys secret kind (common.c gather).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

bool cli_cert_given(const struct cli_unlock *u)
{
	return u->private_key || u->pkcs12 || u->pkcs11;
}

static int load(const struct cli_unlock *u, const char *pw, struct bd_privkey **k)
{
	if (u->pkcs11)
		return bd_privkey_from_pkcs11(u->pkcs11, pw, u->pkcs11_module, k);
	if (u->pkcs12)
		return bd_privkey_from_pkcs12(u->pkcs12, pw, k);
	return bd_privkey_from_file(u->private_key, pw, k);
}

int cli_cert_load(const struct cli_unlock *u, struct bd_privkey **k)
{
	const char *what = u->pkcs11 ? u->pkcs11 : u->pkcs12 ? u->pkcs12 : u->private_key;
	const char *pwfile = u->pkcs11 ? (u->pin_file ? u->pin_file : u->key_password_file) : u->key_password_file;
	char *pw = NULL, prompt[512];
	size_t len = 0;
	int r, rc;

	*k = NULL;
	if ((u->private_key != NULL) + (u->pkcs12 != NULL) + (u->pkcs11 != NULL) > 1) {
		cli_error("give one of --private-key, --pkcs12 and --pkcs11");
		return EXIT_USAGE;
	}
	if (pwfile && (rc = cli_read_secret(pwfile, true, &pw, &len)))
		return rc;
	r = load(u, pw, k);
	if (r == BD_ERR_NO_PROTECTOR && !pw && !u->no_prompt && isatty(0)) {
		/* the key is encrypted or the token wants its PIN: asked once */
		if (u->pkcs11)
			snprintf(prompt, sizeof(prompt), "PIN of the token (%s; asked once): ", what);
		else
			snprintf(prompt, sizeof(prompt), "Password of %s: ", what);
		pw = cli_prompt_secret(prompt);
		if (pw) {
			len = strlen(pw);
			r = load(u, pw, k);
		}
	}
	if (pw)
		cli_secret_free(pw, len);
	if (r == BD_ERR_NO_PROTECTOR) {
		cli_fail(r, what);
		cli_error(u->pkcs11 ? "give the PIN with --pin-file FILE or on the terminal" :
			  "give the key's password with --key-password-file FILE or on the terminal");
		return EXIT_NO_PROTECTOR;
	}
	if (r)
		return cli_fail(r, what);
	return 0;
}
