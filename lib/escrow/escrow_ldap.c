/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Active Directory escrow over LDAP (OpenLDAP libldap): find msFVE-RecoveryInformation
 * objects by protector GUID or key ID, and add one as Windows does
 * (escrow-and-protectors.md §1.1-§1.6).
 */
#define LDAP_DEPRECATED 0
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "escrow_int.h"

struct bd_ldap {
	LDAP *ld;
	char uri[512];
	char base[512];
	int timeout;
	int tls;            /* ldaps:// or StartTLS: a failed connection may be a refused certificate */
};

/* Map an LDAP result code to a BD_ERR_* with a message naming what failed and what to do. */
static int ldap_fail(struct bd_ldap *l, int rc, const char *what)
{
	char *diag = NULL;
	const char *d;

	if (l && l->ld)
		ldap_get_option(l->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	d = diag && *diag ? diag : "";
	int code;
	const char *hint;
	switch (rc) {
	case LDAP_CONNECT_ERROR:
		code = BD_ERR_IO;
		hint = "check the URI and port; with TLS, that the server certificate matches the host name "
		       "and its CA is trusted (--ca-file)";
		break;
	case LDAP_SERVER_DOWN:
	case LDAP_TIMEOUT:
	case LDAP_UNAVAILABLE:
	case LDAP_BUSY:
		code = BD_ERR_IO;
		hint = l && l->tls ? "check the URI, the port and that the server is up; if it is, the TLS handshake "
				     "failed: is the server certificate's CA trusted (--ca-file, LDAPTLS_CACERT) and "
				     "does the certificate name this host?"
				   : "check the URI, the port and that the server is up";
		break;
	case LDAP_INVALID_CREDENTIALS:
		code = BD_ERR_AUTH;
		hint = "check the bind DN (or user@domain) and its password";
		break;
	case LDAP_INAPPROPRIATE_AUTH:
	case LDAP_STRONG_AUTH_REQUIRED:
	case LDAP_CONFIDENTIALITY_REQUIRED:
		code = BD_ERR_AUTH;
		hint = "the server wants another bind: try ldaps://, --starttls or --sasl GSSAPI";
		break;
	case LDAP_INSUFFICIENT_ACCESS:
		code = BD_ERR_DENIED;
		hint = "the account lacks the right (AD: Control Access on msFVE-RecoveryPassword to read, "
		       "Create Child on the computer to write)";
		break;
	case LDAP_NO_SUCH_OBJECT:
		code = BD_ERR_NOT_FOUND;
		hint = "check the DN";
		break;
	case LDAP_ALREADY_EXISTS:
		code = BD_ERR_EXISTS;
		hint = "an object with that name is already there";
		break;
	case LDAP_UNDEFINED_TYPE:
	case LDAP_OBJECT_CLASS_VIOLATION:
	case LDAP_NAMING_VIOLATION:
		code = BD_ERR_UNSUPPORTED;
		hint = "the directory's schema lacks msFVE-RecoveryInformation (Windows Server 2008 or "
		       "later schema, or the bitlocker-ad schema for OpenLDAP)";
		break;
	case LDAP_INVALID_DN_SYNTAX:
	case LDAP_FILTER_ERROR:
	case LDAP_PARAM_ERROR:
		code = BD_ERR_INVALID;
		hint = "check the DN";
		break;
	case LDAP_NO_MEMORY:
		code = BD_ERR_NOMEM;
		hint = "";
		break;
	default:
		code = BD_ERR_IO;
		hint = "see the server's message";
		break;
	}
	bd_err(code, "%s: %s (LDAP %d)%s%s%s%s", what, ldap_err2string(rc), rc, *d ? ": " : "", d,
	       *hint ? "; " : "", hint);
	if (diag)
		ldap_memfree(diag);
	return code;
}

/* Cyrus SASL's sasl_interact_t (sasl/sasl.h, a stable ABI); declared here so that building
 * needs no libsasl2-dev. libldap hands us an array ending with id SASL_CB_LIST_END (0). */
struct sasl_prompt {
	unsigned long id;
	const char *challenge, *prompt, *defresult;
	const void *result;
	unsigned len;
};

static int sasl_interact(LDAP *ld, unsigned flags, void *defaults, void *in)
{
	struct sasl_prompt *it = in;

	(void)ld; (void)flags; (void)defaults;
	/* Kerberos (GSSAPI) and EXTERNAL take their identity from the ticket cache or the
	 * transport: answer every prompt with its default (an empty authorization ID). */
	for (; it && it->id != 0; it++) {
		const char *v = it->defresult ? it->defresult : "";
		it->result = v;
		it->len = (unsigned)strlen(v);
	}
	return LDAP_SUCCESS;
}

static int read_base(struct bd_ldap *l)
{
	static char *attrs[] = { "defaultNamingContext", "namingContexts", NULL };
	struct timeval tv = { l->timeout, 0 };
	LDAPMessage *res = NULL, *e;
	struct berval **v;
	int rc;

	rc = ldap_search_ext_s(l->ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL, &tv, 1, &res);
	if (rc != LDAP_SUCCESS) {
		ldap_msgfree(res);
		return ldap_fail(l, rc, "reading the RootDSE for the search base (give --base)");
	}
	e = ldap_first_entry(l->ld, res);
	for (int i = 0; e && i < 2 && !l->base[0]; i++) {
		v = ldap_get_values_len(l->ld, e, attrs[i]);
		if (v && v[0] && v[0]->bv_len < sizeof(l->base)) {
			memcpy(l->base, v[0]->bv_val, v[0]->bv_len);
			l->base[v[0]->bv_len] = 0;
		}
		ldap_value_free_len(v);
	}
	ldap_msgfree(res);
	if (!l->base[0])
		return bd_err(BD_ERR_INVALID, "%s does not name its naming context; give --base", l->uri);
	bd_info("search base from the RootDSE: %s", l->base);
	return 0;
}

int bd_ldap_connect(const struct bd_ldap_opts *o, bd_ldap **out)
{
	struct bd_ldap *l;
	int rc, r, v3 = LDAP_VERSION3;
	struct timeval tv;

	*out = NULL;
	if (!o)
		return bd_err(BD_ERR_INVALID, "no LDAP options");
	if ((r = BD_SIZE_CHECK(o, struct bd_ldap_opts, insecure, "BD_LDAP_OPTS_INIT")))
		return r;
	if (!o->uri || !*o->uri)
		return bd_err(BD_ERR_INVALID, "no LDAP URI given (ldap://dc.example.com)");
	if (ldap_is_ldap_url(o->uri) == 0 && strncmp(o->uri, "ldapi://", 8) && strncmp(o->uri, "ldaps://", 8))
		return bd_err(BD_ERR_INVALID, "'%s' is not an LDAP URI (ldap://, ldaps:// or ldapi://)", o->uri);
	l = calloc(1, sizeof(*l));
	if (!l)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	snprintf(l->uri, sizeof(l->uri), "%s", o->uri);
	l->timeout = o->timeout > 0 ? o->timeout : 30;
	l->tls = o->starttls || !strncasecmp(o->uri, "ldaps://", 8);
	/* a password never travels in clear: plain ldap:// needs StartTLS for a simple bind (ldapi://
	 * is a local socket); refused before anything is sent */
	if (o->bind_dn && *o->bind_dn && !(o->sasl_mech && *o->sasl_mech) && !l->tls &&
	    strncasecmp(o->uri, "ldapi://", 8) && !o->insecure) {
		free(l);
		return bd_err(BD_ERR_INVALID, "a simple bind over %s would send the password (and then the recovery "
			      "passwords) in clear: use ldaps://, --starttls or --sasl GSSAPI (--insecure allows it)",
			      o->uri);
	}
	if (l->tls && !o->insecure) {
		/* server certificates are checked whatever LDAPTLS_REQCERT or ldap.conf say (libldap
		 * read those into its defaults; this overrides them before its TLS context is made) */
		int demand = LDAP_OPT_X_TLS_DEMAND;
		if (ldap_set_option(NULL, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS) {
			free(l);
			return bd_err(BD_ERR_UNSUPPORTED, "libldap cannot be told to check server certificates");
		}
	}
	rc = ldap_initialize(&l->ld, o->uri);
	if (rc != LDAP_SUCCESS) {
		r = ldap_fail(l, rc, o->uri);
		if (rc == LDAP_PARAM_ERROR)
			r = bd_err(BD_ERR_INVALID, "'%s' is not an LDAP URI", o->uri);
		goto fail;
	}
	tv.tv_sec = l->timeout;
	tv.tv_usec = 0;
	ldap_set_option(l->ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	/* AD answers searches at the domain root with referrals to other partitions; chasing
	 * them rebinds anonymously and fails. We search one naming context. */
	ldap_set_option(l->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	ldap_set_option(l->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(l->ld, LDAP_OPT_TIMEOUT, &tv);
	if (o->ca_file && *o->ca_file) {
		int newctx = 0, demand = LDAP_OPT_X_TLS_DEMAND;
		if (access(o->ca_file, R_OK)) {
			r = bd_err(BD_ERR_INVALID, "cannot read the CA file %s", o->ca_file);
			goto fail;
		}
		if (ldap_set_option(l->ld, LDAP_OPT_X_TLS_CACERTFILE, o->ca_file) != LDAP_OPT_SUCCESS ||
		    (!o->insecure && ldap_set_option(l->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS) ||
		    ldap_set_option(l->ld, LDAP_OPT_X_TLS_NEWCTX, &newctx) != LDAP_OPT_SUCCESS) {
			r = bd_err(BD_ERR_INVALID, "libldap refused the CA file %s", o->ca_file);
			goto fail;
		}
	}
	if (o->starttls) {
		rc = ldap_start_tls_s(l->ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			r = ldap_fail(l, rc, "StartTLS");
			goto fail;
		}
	}
	if (o->sasl_mech && *o->sasl_mech) {
		rc = ldap_sasl_interactive_bind_s(l->ld, o->bind_dn, o->sasl_mech, NULL, NULL, LDAP_SASL_QUIET,
						  sasl_interact, NULL);
		if (rc != LDAP_SUCCESS) {
			char what[600];
			snprintf(what, sizeof(what), "SASL %s bind to %s", o->sasl_mech, o->uri);
			r = ldap_fail(l, rc, what);
			goto fail;
		}
	} else {
		struct berval cred = { 0, NULL };
		struct bd_secret *pw = NULL;
		if (o->bind_password) {
			pw = bd_secret_dup(o->bind_password, strlen(o->bind_password) + 1);
			if (!pw) {
				r = bd_err(BD_ERR_NOMEM, "out of memory");
				goto fail;
			}
			cred.bv_val = (char *)pw->data;
			cred.bv_len = pw->len - 1;
		}
		if (o->bind_dn && *o->bind_dn && !cred.bv_len) {
			bd_secret_free(pw);
			r = bd_err(BD_ERR_INVALID, "a simple bind as %s needs a password (an empty one would be an "
				   "unauthenticated bind)", o->bind_dn);
			goto fail;
		}
		rc = ldap_sasl_bind_s(l->ld, o->bind_dn ? o->bind_dn : "", LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
		bd_secret_free(pw);
		if (rc != LDAP_SUCCESS) {
			char what[1200];
			snprintf(what, sizeof(what), "bind to %s as %s", o->uri,
				 o->bind_dn && *o->bind_dn ? o->bind_dn : "anonymous");
			r = ldap_fail(l, rc, what);
			goto fail;
		}
	}
	if (o->base && *o->base) {
		snprintf(l->base, sizeof(l->base), "%s", o->base);
	} else if ((r = read_base(l))) {
		goto fail;
	}
	*out = l;
	return 0;
fail:
	bd_ldap_close(l);
	return r;
}

void bd_ldap_close(bd_ldap *l)
{
	if (!l)
		return;
	if (l->ld)
		ldap_unbind_ext_s(l->ld, NULL, NULL);
	free(l);
}

const char *bd_ldap_base(const bd_ldap *l)
{
	return l ? l->base : "";
}

static struct berval *first_value(LDAP *ld, LDAPMessage *e, const char *attr, struct berval ***keep)
{
	*keep = ldap_get_values_len(ld, e, attr);
	return *keep && (*keep)[0] ? (*keep)[0] : NULL;
}

#define BV(b) ((b) ? (const uint8_t *)(b)->bv_val : NULL), ((b) ? (size_t)(b)->bv_len : 0)

static int add_entry(struct bd_ldap *l, LDAPMessage *e, const struct bd_escrow_key_id *id, bd_escrow_list *list)
{
	struct berval **vcn, **vpw, **vrg, **vvg, **vwc, **vct, **vkp;
	struct berval *cn, *pw, *rg, *vg, *wc, *kp;
	char *dn = ldap_get_dn(l->ld, e);
	struct bd_escrow_entry tmp, *slot;
	int r;

	cn = first_value(l->ld, e, "cn", &vcn);
	pw = first_value(l->ld, e, "msFVE-RecoveryPassword", &vpw);
	rg = first_value(l->ld, e, "msFVE-RecoveryGuid", &vrg);
	vg = first_value(l->ld, e, "msFVE-VolumeGuid", &vvg);
	wc = first_value(l->ld, e, "whenCreated", &vwc);
	if (!wc)
		wc = first_value(l->ld, e, "createTimestamp", &vct);
	else
		vct = NULL;
	kp = first_value(l->ld, e, "msFVE-KeyPackage", &vkp);
	struct bd_ldap_values v = {
		.dn = dn ? dn : "",
		.cn = BV(cn), .password = BV(pw), .rguid = BV(rg), .vguid = BV(vg), .when = BV(wc),
		.key_package_len = kp ? kp->bv_len : 0,
	};
	r = bd_escrow_entry_from_ldap(&v, &tmp);
	if (pw)
		bd_wipe(pw->bv_val, pw->bv_len);
	ldap_value_free_len(vcn);
	ldap_value_free_len(vpw);
	ldap_value_free_len(vrg);
	ldap_value_free_len(vvg);
	ldap_value_free_len(vwc);
	ldap_value_free_len(vct);
	if (!r && kp && kp->bv_len) {
		uint8_t *copy = malloc(kp->bv_len);
		if (copy)
			memcpy(copy, kp->bv_val, kp->bv_len);
		tmp.key_package = copy;
	}
	ldap_value_free_len(vkp);
	if (r) {
		bd_warn("skipping %s: %s", dn ? dn : "?", bd_last_error());
		r = 0;
	} else if (id && !bd_escrow_key_id_match(id, tmp.recovery_guid)) {
		bd_debug("%s matched the filter but its GUID is another one; skipped", tmp.dn);
	} else if (!(slot = bd_escrow_list_add(list))) {
		r = BD_ERR_NOMEM;
	} else {
		*slot = tmp;
		tmp.key_package = NULL;   /* the list owns it now */
	}
	free((void *)tmp.key_package);
	bd_wipe(&tmp, sizeof(tmp));
	if (dn)
		ldap_memfree(dn);
	return r;
}

static char *fve_attrs[] = { "cn", "msFVE-RecoveryPassword", "msFVE-RecoveryGuid", "msFVE-VolumeGuid",
			     "msFVE-KeyPackage", "whenCreated", "createTimestamp", NULL };

/* One search for msFVE-RecoveryInformation objects, appended to list (entries not matching id,
 * when given, are dropped). what: for messages. */
static int search_fve(struct bd_ldap *l, const char *base, int scope, const char *filter,
		      const struct bd_escrow_key_id *id, bd_escrow_list *list, const char *what)
{
	struct timeval tv = { l->timeout, 0 };
	LDAPMessage *res = NULL;
	int rc, r = 0;

	bd_debug("LDAP search under %s: %s", base, filter);
	rc = ldap_search_ext_s(l->ld, base, scope, filter, fve_attrs, 0, NULL, NULL, &tv, 1000, &res);
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED && rc != LDAP_PARTIAL_RESULTS &&
	    rc != LDAP_REFERRAL) {
		char msg[1200];
		ldap_msgfree(res);
		snprintf(msg, sizeof(msg), "search for %s under %s at %s", what, base, l->uri);
		return ldap_fail(l, rc, msg);
	}
	if (rc == LDAP_SIZELIMIT_EXCEEDED)
		bd_warn("the server stopped at its size limit; the results may be incomplete");
	for (LDAPMessage *e = ldap_first_entry(l->ld, res); e && !r; e = ldap_next_entry(l->ld, e))
		r = add_entry(l, e, id, list);
	ldap_msgfree(res);
	return r;
}

int bd_ldap_find(bd_ldap *l, const struct bd_escrow_key_id *id, bd_escrow_list **out)
{
	char filter[256], what[64];
	bd_escrow_list *list;
	int r;

	*out = NULL;
	if ((r = bd_escrow_ldap_filter(id, filter, sizeof(filter))))
		return r;
	if (!(list = bd_escrow_list_new()))
		return BD_ERR_NOMEM;
	snprintf(what, sizeof(what), "key ID %s", id->text);
	if ((r = search_fve(l, l->base, LDAP_SCOPE_SUBTREE, filter, id, list, what))) {
		bd_escrow_list_free(list);
		return r;
	}
	bd_escrow_list_sort(list);
	*out = list;
	return 0;
}

int bd_ldap_find_computer(bd_ldap *l, const char *computer, bd_escrow_list **out)
{
	static char *no_attrs[] = { "1.1", NULL };
	const char *fve = "(objectClass=msFVE-RecoveryInformation)";
	struct timeval tv = { l->timeout, 0 };
	LDAPMessage *res = NULL;
	bd_escrow_list *list;
	int rc, r = 0, n = 0;

	*out = NULL;
	if (!computer || !*computer)
		return bd_err(BD_ERR_INVALID, "no computer name given");
	if (!(list = bd_escrow_list_new()))
		return BD_ERR_NOMEM;
	if (strchr(computer, '=')) {
		/* a DN: its msFVE-RecoveryInformation children (§1.6: -s one under the computer) */
		r = search_fve(l, computer, LDAP_SCOPE_ONELEVEL, fve, NULL, list, "recovery information");
		goto out;
	}
	/* a name: the computer object by cn, sAMAccountName (NAME$) or dNSHostName */
	struct berval in = { strlen(computer), (char *)computer }, esc = { 0, NULL };
	if (ldap_bv2escaped_filter_value(&in, &esc)) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto out;
	}
	char filter[1024];
	snprintf(filter, sizeof(filter), "(&(objectClass=computer)(|(cn=%s)(sAMAccountName=%s$)(dNSHostName=%s)))",
		 esc.bv_val, esc.bv_val, esc.bv_val);
	ber_memfree(esc.bv_val);
	rc = ldap_search_ext_s(l->ld, l->base, LDAP_SCOPE_SUBTREE, filter, no_attrs, 0, NULL, NULL, &tv, 100, &res);
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED && rc != LDAP_REFERRAL) {
		char what[1200];
		snprintf(what, sizeof(what), "search for computer %s under %s at %s", computer, l->base, l->uri);
		r = ldap_fail(l, rc, what);
		goto out;
	}
	for (LDAPMessage *e = ldap_first_entry(l->ld, res); e && !r; e = ldap_next_entry(l->ld, e)) {
		char *dn = ldap_get_dn(l->ld, e);
		if (!dn)
			continue;
		n++;
		r = search_fve(l, dn, LDAP_SCOPE_ONELEVEL, fve, NULL, list, "recovery information");
		ldap_memfree(dn);
	}
	if (!r && !n)
		r = bd_err(BD_ERR_NOT_FOUND, "no computer object named %s under %s at %s (searched cn, "
			   "sAMAccountName and dNSHostName)", computer, l->base, l->uri);
out:
	ldap_msgfree(res);
	if (r) {
		bd_escrow_list_free(list);
		return r;
	}
	bd_escrow_list_sort(list);
	*out = list;
	return 0;
}

int bd_ldap_backup(bd_ldap *l, const char *computer_dn, const struct bd_escrow_record *rec,
		   char *dn_out, size_t dn_len)
{
	char cn[80], *dn = NULL;
	struct bd_secret *pw = NULL;
	uint8_t key[16];
	int r, rc;

	if (!computer_dn || !*computer_dn)
		return bd_err(BD_ERR_INVALID, "no computer DN given");
	if ((r = bd_recovery_password_parse(rec->recovery_password, key)))
		return r;
	bd_wipe(key, sizeof(key));
	size_t n = strlen(computer_dn) + 256;
	dn = malloc(n);
	pw = bd_secret_new(64);
	if (!dn || !pw) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* one timestamp for the DN and the cn value */
	struct bd_escrow_record fixed = *rec;
	if (!fixed.when)
		fixed.when = (int64_t)time(NULL);
	if ((r = bd_escrow_cn(&fixed, cn, sizeof(cn))) || (r = bd_escrow_dn(&fixed, computer_dn, dn, n)))
		goto out;
	/* store the password in the form Windows writes: 8 groups of 6 digits joined by '-' */
	bd_escrow_password_normalise(rec->recovery_password, strlen(rec->recovery_password), (char *)pw->data, 64);

	char *oc_vals[] = { "top", "msFVE-RecoveryInformation", NULL };
	char *cn_vals[] = { cn, NULL };
	struct berval bv_pw = { strlen((char *)pw->data), (char *)pw->data };
	struct berval bv_rg = { 16, (char *)rec->recovery_guid };
	struct berval bv_vg = { 16, (char *)rec->volume_guid };
	struct berval *pw_vals[] = { &bv_pw, NULL }, *rg_vals[] = { &bv_rg, NULL }, *vg_vals[] = { &bv_vg, NULL };
	LDAPMod m_oc = { LDAP_MOD_ADD, "objectClass", { .modv_strvals = oc_vals } };
	LDAPMod m_cn = { LDAP_MOD_ADD, "cn", { .modv_strvals = cn_vals } };
	LDAPMod m_pw = { LDAP_MOD_ADD | LDAP_MOD_BVALUES, "msFVE-RecoveryPassword", { .modv_bvals = pw_vals } };
	LDAPMod m_rg = { LDAP_MOD_ADD | LDAP_MOD_BVALUES, "msFVE-RecoveryGuid", { .modv_bvals = rg_vals } };
	LDAPMod m_vg = { LDAP_MOD_ADD | LDAP_MOD_BVALUES, "msFVE-VolumeGuid", { .modv_bvals = vg_vals } };
	LDAPMod *mods[] = { &m_oc, &m_cn, &m_pw, &m_rg, rec->has_volume_guid ? &m_vg : NULL, NULL };

	rc = ldap_add_ext_s(l->ld, dn, mods, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		char what[1200];
		snprintf(what, sizeof(what), "adding %s at %s", dn, l->uri);
		r = ldap_fail(l, rc, what);
		if (rc == LDAP_NO_SUCH_OBJECT)
			r = bd_err(BD_ERR_NOT_FOUND, "the computer object %s does not exist at %s (LDAP %d); "
				   "check --computer-dn", computer_dn, l->uri, rc);
		goto out;
	}
	bd_info("added %s", dn);
	if (dn_out)
		snprintf(dn_out, dn_len, "%s", dn);
	r = 0;
out:
	bd_secret_free(pw);
	free(dn);
	return r;
}
