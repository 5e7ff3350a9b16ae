/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RSA private keys on PKCS#11 tokens (smart cards, HSMs, SoftHSM), through p11-kit: it loads the
 * module (the one given, or every module registered with p11-kit) and parses and matches the
 * RFC 7512 URI; the calls themselves are plain PKCS#11.
 *
 * Why not OpenSSL's PKCS#11 engine (libp11, libengine-pkcs11-openssl): OpenSSL 3.0 has no PKCS#11
 * provider, and the engine keeps process-wide state: ENGINE_by_id("pkcs11") returns one shared
 * engine whose PIN and logged-in session outlive ENGINE_finish (a later load with a wrong or no PIN
 * still gets the key), and a private instance cannot be loaded again once a key was used. Here each
 * key has its own module initialisation, session and login, ended by bd_p11_close.
 *
 * PIN policy: the PIN is presented once (C_Login); a wrong PIN is reported, never retried, since a
 * card locks after a few wrong tries. A token that says its PIN is locked is not tried at all.
 */
#include <stdio.h>
#include <stdlib.h>

#include "pubkey.h"

#include <openssl/evp.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

struct bd_p11 {
	CK_FUNCTION_LIST **modules;   /* every module p11-kit knows (NULL-terminated), or */
	CK_FUNCTION_LIST *module;     /* the one module given by path */
	CK_FUNCTION_LIST *f;          /* the module of the token holding the key */
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE session;
	int have_session, logged_in;
	CK_OBJECT_HANDLE key;
	struct bd_rsa_pub pub;
	int has_cert;
	uint8_t cert_sha1[20];
	struct bd_secret *pin;        /* kept only for keys that need a login per operation */
	char token[33];               /* label, for messages */
};

static const char *ckr_name(CK_RV rv)
{
	static _Thread_local char buf[32];
	switch (rv) {
	case CKR_OK: return "CKR_OK";
	case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
	case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
	case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
	case CKR_ENCRYPTED_DATA_INVALID: return "CKR_ENCRYPTED_DATA_INVALID";
	case CKR_ENCRYPTED_DATA_LEN_RANGE: return "CKR_ENCRYPTED_DATA_LEN_RANGE";
	case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
	case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
	case CKR_KEY_FUNCTION_NOT_PERMITTED: return "CKR_KEY_FUNCTION_NOT_PERMITTED";
	case CKR_KEY_TYPE_INCONSISTENT: return "CKR_KEY_TYPE_INCONSISTENT";
	case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
	case CKR_MECHANISM_PARAM_INVALID: return "CKR_MECHANISM_PARAM_INVALID";
	case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
	case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
	case CKR_PIN_EXPIRED: return "CKR_PIN_EXPIRED";
	case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
	case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
	}
	snprintf(buf, sizeof(buf), "CKR 0x%lx", (unsigned long)rv);
	return buf;
}

/* A blank-padded PKCS#11 string field as a C string. */
static void field(const unsigned char *p, size_t len, char *out)
{
	while (len && p[len - 1] == ' ')
		len--;
	memcpy(out, p, len);
	out[len] = 0;
}

/* Value of one attribute (malloc()ed) or NULL. */
static void *get_attr(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
		      CK_ULONG *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	void *v;

	if (f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK || a.ulValueLen == (CK_ULONG)-1 || !a.ulValueLen ||
	    a.ulValueLen > 1u << 20)
		return NULL;
	v = malloc(a.ulValueLen);
	if (!v)
		return NULL;
	a.pValue = v;
	if (f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK) {
		free(v);
		return NULL;
	}
	*len = a.ulValueLen;
	return v;
}

/* Objects matching a template: the number found (up to max). */
static CK_ULONG find(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
		     CK_OBJECT_HANDLE *out, CK_ULONG max)
{
	CK_ULONG found = 0;

	if (f->C_FindObjectsInit(s, tmpl, n) != CKR_OK)
		return 0;
	if (f->C_FindObjects(s, out, max, &found) != CKR_OK)
		found = 0;
	f->C_FindObjectsFinal(s);
	return found;
}

/* The RSA public key: from the private key object, else the public key or certificate with its ID. */
static int key_public(struct bd_p11 *t, const void *id, CK_ULONG idlen)
{
	CK_ULONG nl = 0, el = 0;
	uint8_t *n = get_attr(t->f, t->session, t->key, CKA_MODULUS, &nl);
	uint8_t *e = get_attr(t->f, t->session, t->key, CKA_PUBLIC_EXPONENT, &el);
	CK_OBJECT_CLASS pubc = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE tmpl[2] = { { CKA_CLASS, &pubc, sizeof(pubc) }, { CKA_ID, (void *)id, idlen } };
	CK_OBJECT_HANDLE o;
	int r = BD_ERR_UNSUPPORTED;

	if ((!n || !e) && id && find(t->f, t->session, tmpl, 2, &o, 1) == 1) {
		free(n);
		free(e);
		n = get_attr(t->f, t->session, o, CKA_MODULUS, &nl);
		e = get_attr(t->f, t->session, o, CKA_PUBLIC_EXPONENT, &el);
	}
	if (n && e)
		r = bd_rsa_pub_set(&t->pub, n, nl, e, el);
	free(n);
	free(e);
	return r;
}

/* The certificate with the key's ID (if any and if it holds the same public key): its thumbprint. */
static void key_cert(struct bd_p11 *t, const void *id, CK_ULONG idlen)
{
	CK_OBJECT_CLASS cc = CKO_CERTIFICATE;
	CK_ATTRIBUTE tmpl[2] = { { CKA_CLASS, &cc, sizeof(cc) }, { CKA_ID, (void *)id, idlen } };
	CK_OBJECT_HANDLE o;
	CK_ULONG len = 0;
	struct bd_cert *c = NULL;
	struct bd_rsa_pub cp;
	uint8_t *der;

	if (!id || find(t->f, t->session, tmpl, 2, &o, 1) != 1)
		return;
	der = get_attr(t->f, t->session, o, CKA_VALUE, &len);
	if (der && !bd_cert_from_der(der, len, &c) && !bd_cert_public(c, &cp) && t->pub.nlen &&
	    bd_rsa_pub_equal(&cp, &t->pub)) {
		bd_cert_thumbprint(c, t->cert_sha1);
		t->has_cert = 1;
	}
	bd_cert_free(c);
	free(der);
}

void bd_p11_close(struct bd_p11 *t)
{
	if (!t)
		return;
	if (t->have_session) {
		if (t->logged_in)
			t->f->C_Logout(t->session);
		t->f->C_CloseSession(t->session);
	}
	if (t->modules)
		p11_kit_modules_finalize_and_release(t->modules);
	if (t->module) {
		p11_kit_module_finalize(t->module);
		p11_kit_module_release(t->module);
	}
	bd_secret_free(t->pin);
	free(t);
}

struct match {
	CK_FUNCTION_LIST *f;
	CK_SLOT_ID slot;
	CK_TOKEN_INFO info;
};

/* Every token present that the URI matches (at most 8 kept); *seen lists the labels of all. */
static int match_tokens(struct bd_p11 *t, P11KitUri *u, struct match *m, int max, char *seen, size_t seenlen)
{
	CK_FUNCTION_LIST *one[2] = { t->module, NULL };
	CK_FUNCTION_LIST **mods = t->modules ? t->modules : one;
	CK_SLOT_ID want = p11_kit_uri_get_slot_id(u);
	size_t sl = 0;
	int n = 0;

	seen[0] = 0;
	for (CK_FUNCTION_LIST **f = mods; *f; f++) {
		CK_INFO mi;
		CK_ULONG ns = 0;
		CK_SLOT_ID *slots;
		if ((*f)->C_GetInfo(&mi) != CKR_OK || !p11_kit_uri_match_module_info(u, &mi))
			continue;
		if ((*f)->C_GetSlotList(CK_TRUE, NULL, &ns) != CKR_OK || !ns || ns > 1024)
			continue;
		slots = calloc(ns, sizeof(*slots));
		if (!slots || (*f)->C_GetSlotList(CK_TRUE, slots, &ns) != CKR_OK) {
			free(slots);
			continue;
		}
		for (CK_ULONG i = 0; i < ns; i++) {
			CK_SLOT_INFO si;
			CK_TOKEN_INFO ti;
			char label[33];
			if ((*f)->C_GetSlotInfo(slots[i], &si) != CKR_OK || (*f)->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
			    !(ti.flags & CKF_TOKEN_INITIALIZED))
				continue;
			field(ti.label, sizeof(ti.label), label);
			if (sl < seenlen - 1)
				sl += (size_t)snprintf(seen + sl, seenlen - sl, "%s'%s'", sl ? ", " : "", label);
			if (sl >= seenlen)
				sl = seenlen - 1;
			if ((want != (CK_SLOT_ID)-1 && want != slots[i]) || !p11_kit_uri_match_slot_info(u, &si) ||
			    !p11_kit_uri_match_token_info(u, &ti))
				continue;
			if (n < max)
				m[n] = (struct match){ *f, slots[i], ti };
			n++;
		}
		free(slots);
	}
	return n;
}

static int login(struct bd_p11 *t, const CK_TOKEN_INFO *ti, const char *pin, const char *uri)
{
	CK_TOKEN_INFO after;
	CK_RV rv;

	if (ti->flags & CKF_USER_PIN_LOCKED)
		return bd_err(BD_ERR_WRONG_KEY, "the PIN of token '%s' is locked (too many wrong PINs): unblock it with "
			      "its PUK or security officer PIN first; nothing was tried", t->token);
	if (!pin && !(ti->flags & CKF_PROTECTED_AUTHENTICATION_PATH))
		return bd_err(BD_ERR_NO_PROTECTOR, "token '%s' needs its PIN to use the key at %s", t->token, uri);
	rv = t->f->C_Login(t->session, CKU_USER, (unsigned char *)(uintptr_t)pin, pin ? strlen(pin) : 0);
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
		t->logged_in = rv == CKR_OK;
		return 0;
	}
	switch (rv) {
	case CKR_PIN_INCORRECT:
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
		after.flags = 0;
		t->f->C_GetTokenInfo(t->slot, &after);
		return bd_err(BD_ERR_WRONG_KEY, "wrong PIN for token '%s' (tried once, not again: a card locks after a "
			      "few wrong PINs)%s", t->token, after.flags & CKF_USER_PIN_FINAL_TRY ?
			      "; the token says one try is left" : after.flags & CKF_USER_PIN_COUNT_LOW ?
			      "; the token says few tries are left" : "");
	case CKR_PIN_LOCKED:
		return bd_err(BD_ERR_WRONG_KEY, "the PIN of token '%s' is locked (too many wrong PINs): unblock it with "
			      "its PUK or security officer PIN first", t->token);
	case CKR_PIN_EXPIRED:
		return bd_err(BD_ERR_WRONG_KEY, "the PIN of token '%s' has expired: change it first", t->token);
	}
	return bd_err(BD_ERR_IO, "login to token '%s' failed: %s", t->token, ckr_name(rv));
}

int bd_p11_open(const char *uri, const char *pin, const char *module_path, struct bd_p11 **out)
{
	P11KitUri *u = p11_kit_uri_new();
	struct bd_p11 *t = calloc(1, sizeof(*t));
	struct match m[8];
	char seen[512];
	CK_ATTRIBUTE tmpl[8];
	CK_ULONG nu = 0, nt = 0, idlen = 0;
	CK_ATTRIBUTE *ua;
	CK_OBJECT_CLASS pc = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = CKK_RSA;
	CK_OBJECT_HANDLE keys[2];
	CK_BBOOL *always = NULL;
	CK_ULONG alen = 0;
	void *id = NULL;
	CK_RV rv;
	int r, n;

	*out = NULL;
	if (!u || !t) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (strncmp(uri, "pkcs11:", 7) || (r = p11_kit_uri_parse(uri, P11_KIT_URI_FOR_ANY, u)) != P11_KIT_URI_OK) {
		r = bd_err(BD_ERR_INVALID, "not a PKCS#11 URI (pkcs11:token=...;object=..., RFC 7512): %s%s%s", uri,
			   strncmp(uri, "pkcs11:", 7) ? "" : ": ", strncmp(uri, "pkcs11:", 7) ? "" : p11_kit_uri_message(r));
		goto fail;
	}
	if (!module_path)
		module_path = p11_kit_uri_get_module_path(u);
	p11_kit_be_quiet();   /* p11-kit would print to stderr; errors come back as codes */
	if (module_path) {
		t->module = p11_kit_module_load(module_path, 0);
		if (!t->module) {
			r = bd_err(BD_ERR_UNSUPPORTED, "cannot load the PKCS#11 module %s", module_path);
			goto fail;
		}
		if ((rv = p11_kit_module_initialize(t->module)) != CKR_OK) {
			p11_kit_module_release(t->module);
			t->module = NULL;
			r = bd_err(BD_ERR_UNSUPPORTED, "the PKCS#11 module %s does not start: %s", module_path, ckr_name(rv));
			goto fail;
		}
	} else {
		t->modules = p11_kit_modules_load_and_initialize(0);
		if (!t->modules || !t->modules[0]) {
			r = bd_err(BD_ERR_UNSUPPORTED, "no PKCS#11 module is registered with p11-kit: give the module's path "
				   "(module-path=... in the URI)");
			goto fail;
		}
	}
	n = match_tokens(t, u, m, (int)ARRAY_SIZE(m), seen, sizeof(seen));
	if (n == 0) {
		r = bd_err(BD_ERR_INVALID, "no token present matches %s (tokens present: %s)", uri, seen[0] ? seen : "none");
		goto fail;
	}
	if (n > 1) {
		r = bd_err(BD_ERR_INVALID, "%s matches %d tokens (%s): name one with token=...", uri, n, seen);
		goto fail;
	}
	t->f = m[0].f;
	t->slot = m[0].slot;
	field(m[0].info.label, sizeof(m[0].info.label), t->token);
	rv = t->f->C_OpenSession(m[0].slot, CKF_SERIAL_SESSION, NULL, NULL, &t->session);
	if (rv != CKR_OK) {
		r = bd_err(BD_ERR_IO, "cannot open a session on token '%s': %s", t->token, ckr_name(rv));
		goto fail;
	}
	t->have_session = 1;
	if ((pin || (m[0].info.flags & CKF_LOGIN_REQUIRED)) && (r = login(t, &m[0].info, pin, uri)))
		goto fail;

	/* the RSA private key the URI names (its object class, if any, is ignored) */
	tmpl[nt++] = (CK_ATTRIBUTE){ CKA_CLASS, &pc, sizeof(pc) };
	tmpl[nt++] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &kt, sizeof(kt) };
	ua = p11_kit_uri_get_attributes(u, &nu);
	for (CK_ULONG i = 0; i < nu && nt < ARRAY_SIZE(tmpl); i++)
		if (ua[i].type == CKA_LABEL || ua[i].type == CKA_ID)
			tmpl[nt++] = ua[i];
	n = (int)find(t->f, t->session, tmpl, nt, keys, 2);
	if (n != 1) {
		r = bd_err(n ? BD_ERR_INVALID : (pin ? BD_ERR_INVALID : BD_ERR_NO_PROTECTOR),
			   n ? "%s names more than one RSA private key on token '%s': add object=... or id=..."
			     : pin ? "no RSA private key at %s on token '%s'; list them with 'pkcs11-tool -O --login'"
			     : "no RSA private key at %s on token '%s' without a PIN: give its PIN", uri, t->token);
		goto fail;
	}
	t->key = keys[0];
	id = get_attr(t->f, t->session, t->key, CKA_ID, &idlen);
	if ((r = key_public(t, id, idlen))) {
		r = bd_err(BD_ERR_UNSUPPORTED, "cannot read the public half of the key at %s (no modulus on the key, "
			   "its public key or its certificate)", uri);
		goto fail;
	}
	key_cert(t, id, idlen);
	always = get_attr(t->f, t->session, t->key, CKA_ALWAYS_AUTHENTICATE, &alen);
	if (always && alen == sizeof(CK_BBOOL) && *always && pin && !(t->pin = bd_secret_dup(pin, strlen(pin) + 1))) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto fail;
	}
	free(always);
	free(id);
	p11_kit_uri_free(u);
	*out = t;
	return 0;
fail:
	free(always);
	free(id);
	if (u)
		p11_kit_uri_free(u);
	bd_p11_close(t);
	return r;
}

int bd_p11_public(const struct bd_p11 *t, struct bd_rsa_pub *out)
{
	*out = t->pub;
	return 0;
}

int bd_p11_cert_thumbprint(const struct bd_p11 *t, uint8_t sha1[20])
{
	if (t->has_cert)
		memcpy(sha1, t->cert_sha1, 20);
	return t->has_cert;
}

int bd_p11_decrypt(struct bd_p11 *t, int padding, const uint8_t *ct, size_t ctlen, uint8_t *pt, size_t *ptlen)
{
	CK_RSA_PKCS_OAEP_PARAMS oaep = { CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0 };
	CK_MECHANISM mech = { CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep) };
	struct bd_secret *tmp = bd_secret_new(t->pub.nlen);
	CK_ULONG n = t->pub.nlen;
	CK_RV rv;
	int r, raw = 0;

	if (!tmp)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	if (padding == BD_PAD_PKCS1) {
		mech = (CK_MECHANISM){ CKM_RSA_PKCS, NULL, 0 };
	} else if (padding == BD_PAD_OAEP_SHA256) {
		oaep.hashAlg = CKM_SHA256;
		oaep.mgf = CKG_MGF1_SHA256;
	}
	rv = t->f->C_DecryptInit(t->session, &mech, t->key);
	if (rv == CKR_MECHANISM_INVALID || rv == CKR_MECHANISM_PARAM_INVALID || rv == CKR_ARGUMENTS_BAD) {
		/* e.g. SoftHSM 2.6 does OAEP only with SHA-1: raw RSA on the token, padding checked here */
		mech = (CK_MECHANISM){ CKM_RSA_X_509, NULL, 0 };
		raw = 1;
		rv = t->f->C_DecryptInit(t->session, &mech, t->key);
	}
	if (rv != CKR_OK) {
		r = bd_err(BD_ERR_WRONG_KEY, "token '%s' refuses RSA %s: %s", t->token, bd_rsa_padding_name(padding),
			   ckr_name(rv));
		goto out;
	}
	if (t->pin) {
		/* a key that wants the PIN for every operation: the same PIN, once per operation */
		rv = t->f->C_Login(t->session, CKU_CONTEXT_SPECIFIC, t->pin->data, strlen((char *)t->pin->data));
		if (rv != CKR_OK) {
			r = bd_err(BD_ERR_WRONG_KEY, "token '%s' refused the PIN for the key operation: %s", t->token,
				   ckr_name(rv));
			goto out;
		}
	}
	rv = t->f->C_Decrypt(t->session, (unsigned char *)(uintptr_t)ct, ctlen, tmp->data, &n);
	if (rv != CKR_OK || n > tmp->len) {
		r = bd_err(BD_ERR_WRONG_KEY, "RSA %s decryption on token '%s' failed: %s", bd_rsa_padding_name(padding),
			   t->token, ckr_name(rv));
		goto out;
	}
	if (raw) {
		/* the raw block, left-padded to the modulus length if the token dropped leading zeros */
		size_t k = t->pub.nlen;
		if (n < k) {
			memmove(tmp->data + (k - n), tmp->data, n);
			memset(tmp->data, 0, k - n);
		}
		r = bd_rsa_unpad(padding, tmp->data, k, pt, ptlen);
		goto out;
	}
	if (n > *ptlen) {
		r = bd_err(BD_ERR_INVALID, "RSA plaintext of %lu bytes does not fit %zu", (unsigned long)n, *ptlen);
		goto out;
	}
	memcpy(pt, tmp->data, n);
	*ptlen = n;
	r = 0;
out:
	bd_secret_free(tmp);
	return r;
}
