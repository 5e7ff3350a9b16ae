/*
 * Test-only PKCS#11 module (built by tests/t_certificate.sh, never installed): a token whose user PIN is
 * locked, which SoftHSM2 cannot be. It forwards every call to the real module named by $P11SHIM_MODULE
 * (SoftHSM2) except:
 *   C_Login          appends "C_Login" to the file $P11SHIM_COUNT and answers CKR_PIN_LOCKED;
 *   C_GetTokenInfo   with $P11SHIM_MODE=flag, also sets CKF_USER_PIN_LOCKED in the token's flags.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST shim;
static CK_FUNCTION_LIST_PTR real;

static CK_RV shim_login(CK_SESSION_HANDLE s, CK_USER_TYPE u, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	const char *p = getenv("P11SHIM_COUNT");
	FILE *f;

	(void)s;
	(void)u;
	(void)pin;
	(void)len;
	if (p && (f = fopen(p, "a"))) {
		fputs("C_Login\n", f);
		fclose(f);
	}
	return CKR_PIN_LOCKED;
}

static CK_RV shim_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR ti)
{
	const char *m = getenv("P11SHIM_MODE");
	CK_RV rv = real->C_GetTokenInfo(slot, ti);

	if (rv == CKR_OK && m && !strcmp(m, "flag"))
		ti->flags |= CKF_USER_PIN_LOCKED;
	return rv;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
	const char *path = getenv("P11SHIM_MODULE");
	CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);
	void *h;
	CK_RV rv;

	if (!out)
		return CKR_ARGUMENTS_BAD;
	if (!real) {
		if (!path || !(h = dlopen(path, RTLD_NOW | RTLD_LOCAL)))
			return CKR_GENERAL_ERROR;
		*(void **)&get = dlsym(h, "C_GetFunctionList");
		if (!get)
			return CKR_GENERAL_ERROR;
		if ((rv = get(&real)) != CKR_OK || !real) {
			real = NULL;
			return rv != CKR_OK ? rv : CKR_GENERAL_ERROR;
		}
		memcpy(&shim, real, sizeof(shim));
		shim.version.major = 2;
		shim.version.minor = 40;
		shim.C_GetFunctionList = C_GetFunctionList;
		shim.C_Login = shim_login;
		shim.C_GetTokenInfo = shim_token_info;
	}
	*out = &shim;
	return CKR_OK;
}
