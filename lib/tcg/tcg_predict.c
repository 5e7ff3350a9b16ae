/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Will this change send the machine into BitLocker recovery? Take the
 * measured-boot log of the current boot, apply the planned changes to its
 * events the way the firmware will measure them on the next boot, replay, and
 * compare the PCRs the protector is bound to:
 *  - db/dbx/KEK/PK updates (authenticated variable updates or bare signature
 *    lists): the PCR 7 EV_EFI_VARIABLE_DRIVER_CONFIG event of that variable gets
 *    the new value (appended without duplicates, as the firmware does for
 *    EFI_VARIABLE_APPEND_WRITE; PK replaced);
 *  - a new boot application (boot manager, shim): its Authenticode hash in PCR
 *    4, and in PCR 7 the db entry that authorises it when it is another one;
 *  - a new BootOrder (PCR 1) and Secure Boot on/off (PCR 7, authorities).
 * Digests of data-hashed events follow the convention the log itself uses.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "internal.h"
#include "eventlog.h"

#define PREDICT_MAX_EVENTS 200000

struct vev {
	uint32_t pcr, type;
	long orig;                               /* index in the log, -1 for an event the change adds */
	const uint8_t *data;
	size_t len;
	uint8_t *own;                            /* data owned (changed events) */
	const uint8_t *dig[BD_EVENTLOG_MAX_BANKS];   /* digest per bank of the log (NULL: missing) */
	uint8_t owndig[BD_EVENTLOG_MAX_BANKS][64];
	bool changed, deleted;
};

struct pv {
	const bd_eventlog *log;
	struct bd_eventlog_info in;
	struct vev *v;
	size_t n, cap;
	struct bd_prediction *p;
	size_t notes_cap;
};

static const uint8_t image_security_guid[16] = {
	0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45, 0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f };
static const uint8_t efi_global_guid[16] = {
	0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c };

static int note(struct pv *x, long orig, unsigned pcr, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int note(struct pv *x, long orig, unsigned pcr, const char *fmt, ...)
{
	struct bd_prediction *p = x->p;
	va_list ap;
	char *t;

	if (p->n_notes == x->notes_cap) {
		size_t ncap = x->notes_cap ? x->notes_cap * 2 : 8;
		void *q = realloc(p->notes, ncap * sizeof(*p->notes));
		if (!q)
			return bd_err(BD_ERR_NOMEM, "out of memory");
		p->notes = q;
		x->notes_cap = ncap;
	}
	va_start(ap, fmt);
	if (vasprintf(&t, fmt, ap) < 0)
		t = NULL;
	va_end(ap);
	if (!t)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	ev_sanitize(t);
	struct bd_evidence *e = &p->notes[p->n_notes++];
	memset(e, 0, sizeof(*e));
	e->text = t;
	e->pcr = pcr < BD_PCR_COUNT ? pcr : BD_PCR_COUNT;
	e->good_index = orig;
	e->bad_index = -1;
	if (orig >= 0) {
		struct bd_event ev;
		if (!bd_eventlog_event(x->log, (size_t)orig, &ev))
			e->good_offset = ev.offset;
	}
	return 0;
}

/* ---- the working copy of the log ---- */

static int load(struct pv *x)
{
	for (size_t i = 0; i < x->in.n_events; i++) {
		struct bd_event e;
		if (bd_eventlog_event(x->log, i, &e) || !e.measured)
			continue;
		if (x->n == PREDICT_MAX_EVENTS)
			return bd_err(BD_ERR_UNSUPPORTED, "the log measures more than %d events; no boot does", PREDICT_MAX_EVENTS);
		if (x->n == x->cap) {
			size_t ncap = x->cap ? x->cap * 2 : 128;
			void *q = realloc(x->v, ncap * sizeof(*x->v));
			if (!q)
				return bd_err(BD_ERR_NOMEM, "out of memory");
			x->v = q;
			x->cap = ncap;
		}
		struct vev *v = &x->v[x->n++];
		memset(v, 0, sizeof(*v));
		v->pcr = e.pcr;
		v->type = e.type;
		v->orig = (long)i;
		v->data = e.data;
		v->len = e.data_len;
		for (size_t d = 0; d < e.n_digests; d++)
			for (size_t b = 0; b < x->in.n_banks; b++)
				if (x->in.bank_alg[b] == e.digests[d].alg)
					v->dig[b] = e.digests[d].value;
	}
	return 0;
}

static struct vev *insert_at(struct pv *x, size_t pos)
{
	if (x->n == x->cap) {
		size_t ncap = x->cap ? x->cap * 2 : 128;
		void *q = realloc(x->v, ncap * sizeof(*x->v));
		if (!q)
			return NULL;
		x->v = q;
		x->cap = ncap;
	}
	memmove(&x->v[pos + 1], &x->v[pos], (x->n - pos) * sizeof(*x->v));
	x->n++;
	memset(&x->v[pos], 0, sizeof(x->v[pos]));
	x->v[pos].orig = -1;
	return &x->v[pos];
}

/* How the log hashes this event: 0 whole data, 1 VariableData only (EV_EFI_VARIABLE_BOOT). */
static int convention(const struct pv *x, const struct vev *v)
{
	struct ev_var var;
	uint8_t h[64];

	if (v->type != EV_EFI_VARIABLE_BOOT || ev_parse_var(v->data, v->len, &var))
		return 0;
	for (size_t b = 0; b < x->in.n_banks; b++) {
		if (!v->dig[b] || ev_hash(x->in.bank_alg[b], var.data, var.len, h, NULL))
			continue;
		if (!memcmp(h, v->dig[b], x->in.bank_size[b]))
			return 1;
	}
	return 0;
}

/* Give an event new data, hashed the way the log hashes such events. */
static int set_data(struct pv *x, struct vev *v, uint8_t *data, size_t len)
{
	int conv = convention(x, v);

	free(v->own);
	v->own = data;
	v->data = data;
	v->len = len;
	v->changed = true;
	for (size_t b = 0; b < x->in.n_banks; b++) {
		struct ev_var var;
		const uint8_t *src = data;
		size_t slen = len;
		if (!x->in.bank_replayed[b])
			continue;
		if (conv == 1 && !ev_parse_var(data, len, &var)) {
			src = var.data;
			slen = var.len;
		}
		int r = ev_hash(x->in.bank_alg[b], src, slen, v->owndig[b], NULL);
		if (r)
			return r;
		v->dig[b] = v->owndig[b];
	}
	return 0;
}

/* UEFI_VARIABLE_DATA with the same GUID and name, another value. */
static uint8_t *var_with(const uint8_t *guid, const char *name, const uint8_t *value, size_t vlen, size_t *outlen)
{
	size_t nlen = strlen(name), n = 32 + 2 * nlen + vlen;
	uint8_t *d = malloc(n ? n : 1);

	if (!d)
		return NULL;
	memcpy(d, guid, 16);
	put_le64(d + 16, nlen);
	put_le64(d + 24, vlen);
	for (size_t i = 0; i < nlen; i++)
		put_le16(d + 32 + 2 * i, (uint8_t)name[i]);
	if (vlen)
		memcpy(d + 32 + 2 * nlen, value, vlen);
	*outlen = n;
	return d;
}

static struct vev *find_var(struct pv *x, uint32_t pcr, uint32_t type, const char *name)
{
	for (size_t i = 0; i < x->n; i++) {
		struct ev_var var;
		if (!x->v[i].deleted && x->v[i].pcr == pcr && x->v[i].type == type &&
		    !ev_parse_var(x->v[i].data, x->v[i].len, &var) && !strcmp(var.name, name))
			return &x->v[i];
	}
	return NULL;
}

/* ---- signature database updates ---- */

struct dedup {
	const uint8_t *old;
	size_t old_len;
	const uint8_t *type;
	const uint8_t *data;
	size_t len;
	bool found;
};

static int match_entry(void *ctx, const struct ev_sig *s)
{
	struct dedup *d = ctx;

	if (!memcmp(s->type, d->type, 16) && s->len == d->len && !memcmp(s->data, d->data, d->len))
		d->found = true;
	return d->found;
}

struct appendctx {
	const uint8_t *old;
	size_t old_len;
	uint8_t *out;
	size_t n;
	size_t added, dup;
	size_t list_hdr;         /* offset in out of the list being written, SIZE_MAX none */
	size_t list_in;          /* offset of the input list its entries come from */
};

/* EDK2-style append: the new entries of one input list go into one new list of the same type and size. */
static int append_entry(void *ctx, const struct ev_sig *s)
{
	struct appendctx *a = ctx;
	struct dedup d = { a->old, a->old_len, s->type, s->data, s->len, false };

	ev_siglist_walk(a->old, a->old_len, match_entry, &d);
	if (d.found) {
		a->dup++;
		return 0;
	}
	if (a->list_hdr == SIZE_MAX || s->list_offset != a->list_in) {
		a->list_hdr = a->n;
		a->list_in = s->list_offset;
		memcpy(a->out + a->n, s->type, 16);
		put_le32(a->out + a->n + 20, 0);
		put_le32(a->out + a->n + 24, (uint32_t)(s->len + 16));
		a->n += 28;
	}
	memcpy(a->out + a->n, s->owner, 16);
	memcpy(a->out + a->n + 16, s->data, s->len);
	a->n += 16 + s->len;
	put_le32(a->out + a->list_hdr + 16, (uint32_t)(a->n - a->list_hdr));
	a->added++;
	return 0;
}

static const char *update_var(int kind, const uint8_t **guid)
{
	*guid = kind == BD_CHANGE_DB || kind == BD_CHANGE_DBX ? image_security_guid : efi_global_guid;
	switch (kind) {
	case BD_CHANGE_DB: return "db";
	case BD_CHANGE_DBX: return "dbx";
	case BD_CHANGE_KEK: return "KEK";
	case BD_CHANGE_PK: return "PK";
	}
	return "";
}

/* Who signed an authenticated update, and does a certificate of the authorising variable vouch for it? */
static void check_update_signer(struct pv *x, const struct ev_authvar *av, const char *authoriser,
				char *out, size_t outlen)
{
	PKCS7 *p7 = ev_pkcs7_read(av->pkcs7, av->pkcs7_len);
	STACK_OF(X509) *signers;
	X509 *signer;
	struct vev *v;
	struct ev_var var;
	char name[256] = "";

	out[0] = 0;
	if (!p7) {
		snprintf(out, outlen, "its PKCS#7 signature does not parse");
		return;
	}
	signers = PKCS7_get0_signers(p7, NULL, 0);
	signer = signers && sk_X509_num(signers) ? sk_X509_value(signers, 0) : NULL;
	if (!signer) {
		snprintf(out, outlen, "its signature names no signer certificate");
		goto done;
	}
	X509_NAME_get_text_by_NID(X509_get_subject_name(signer), NID_commonName, name, sizeof(name));
	ev_sanitize(name);
	v = find_var(x, 7, EV_EFI_VARIABLE_DRIVER_CONFIG, authoriser);
	if (!v || ev_parse_var(v->data, v->len, &var)) {
		snprintf(out, outlen, "signed by \"%s\"; the log does not measure %s, so whether the firmware accepts "
			 "it is not known", name, authoriser);
		goto done;
	}
	/* the chain from the signer to a certificate of KEK (or PK), that certificate as trust anchor */
	struct bd_cursor c = bd_cursor(var.data, var.len);
	bool ok = false;
	char anchor[256] = "";
	while (!ok && cur_left(&c) >= 28) {
		const uint8_t *type = cur_bytes(&c, 16);
		uint32_t l = cur_u32(&c), h = cur_u32(&c), s = cur_u32(&c);
		if (c.bad || l < 28 || l - 28 > cur_left(&c) || h > l - 28 || s <= 16)
			break;
		const uint8_t *body = cur_bytes(&c, l - 28);
		const char *tn = ev_sigtype_name(type);
		for (size_t k = h; !ok && tn && !strcmp(tn, "x509") && k + s <= l - 28; k += s) {
			const unsigned char *p = body + k + 16;
			X509 *cert = d2i_X509(NULL, &p, (long)(s - 16));
			X509_STORE *store = cert ? X509_STORE_new() : NULL;
			X509_STORE_CTX *ctx = store ? X509_STORE_CTX_new() : NULL;
			if (ctx && X509_STORE_add_cert(store, cert) == 1 &&
			    X509_STORE_CTX_init(ctx, store, signer, p7->d.sign->cert) == 1) {
				X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
				X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
				if (X509_verify_cert(ctx) == 1) {
					ok = true;
					ev_x509_name(body + k + 16, s - 16, 1, anchor, sizeof(anchor));
				}
			}
			X509_STORE_CTX_free(ctx);
			X509_STORE_free(store);
			X509_free(cert);
		}
	}
	if (ok)
		snprintf(out, outlen, "signed by \"%s\", which the %s certificate \"%s\" of this machine vouches for: the "
			 "firmware accepts it", name, authoriser, anchor);
	else
		snprintf(out, outlen, "signed by \"%s\", which no %s certificate of this machine vouches for: the firmware "
			 "would refuse this update (predicted as if applied)", name, authoriser);
done:
	sk_X509_free(signers);
	PKCS7_free(p7);
}

struct revoke {
	struct pv *x;
	int r;
};

/* A dbx entry that revokes what this boot used: an authority certificate or a boot image hash. */
static int check_revoked(void *ctx, const struct ev_sig *s)
{
	struct revoke *rv = ctx;
	struct pv *x = rv->x;

	for (size_t i = 0; i < x->n && !rv->r; i++) {
		struct vev *v = &x->v[i];
		struct ev_var var;
		if (v->deleted)
			continue;
		if (s->type_name && !strcmp(s->type_name, "x509") && v->type == EV_EFI_VARIABLE_AUTHORITY &&
		    !ev_parse_var(v->data, v->len, &var) && var.len == 16 + s->len && !memcmp(var.data + 16, s->data, s->len)) {
			char subj[256];
			ev_x509_name(s->data, s->len, 1, subj, sizeof(subj));
			x->p->will_not_boot = 1;
			rv->r = note(x, v->orig, 7, "dbx revokes the certificate \"%s\" that authorised this boot (event #%ld): "
				     "code it signed will no longer start", subj, v->orig);
		}
		if (s->type_name && !strcmp(s->type_name, "sha256") && s->len == 32 &&
		    (v->type == EV_EFI_BOOT_SERVICES_APPLICATION || v->type == EV_EFI_BOOT_SERVICES_DRIVER)) {
			for (size_t b = 0; b < x->in.n_banks; b++)
				if (x->in.bank_alg[b] == BD_ALG_SHA256 && v->dig[b] && !memcmp(v->dig[b], s->data, 32)) {
					char path[1024];
					int medium;
					if (ev_image_path(v->data, v->len, path, sizeof(path), &medium))
						path[0] = 0;
					x->p->will_not_boot = 1;
					rv->r = note(x, v->orig, v->pcr, "dbx revokes the image %s measured in this boot (event #%ld): "
						     "Secure Boot will refuse to start it", path, v->orig);
				}
		}
	}
	return rv->r;
}

static int apply_db_update(struct pv *x, const struct bd_change *ch, size_t k)
{
	const uint8_t *guid, *payload = ch->data;
	size_t plen = ch->len;
	const char *name = update_var(ch->kind, &guid);
	struct ev_authvar av;
	bool auth = false;
	char signer[700] = "";
	struct vev *v;
	struct ev_var var;
	long n;
	int r;

	if (!ev_authvar_parse(ch->data, ch->len, &av) && ev_siglist_walk(av.payload, av.payload_len, NULL, NULL) >= 0) {
		auth = true;
		payload = av.payload;
		plen = av.payload_len;
	}
	n = ev_siglist_walk(payload, plen, NULL, NULL);
	if (n < 0 || (!n && ch->kind != BD_CHANGE_PK))
		return bd_err(BD_ERR_CORRUPT, "change %zu: the %s update is neither an authenticated variable "
			      "(EFI_VARIABLE_AUTHENTICATION_2) nor EFI_SIGNATURE_LISTs", k + 1, name);
	v = find_var(x, 7, EV_EFI_VARIABLE_DRIVER_CONFIG, name);
	if (!v || ev_parse_var(v->data, v->len, &var))
		return bd_err(BD_ERR_INVALID, "change %zu: the log does not measure the %s variable in PCR 7 (Secure Boot "
			      "policy not logged): nothing to predict from", k + 1, name);
	if (auth)
		check_update_signer(x, &av, ch->kind == BD_CHANGE_KEK || ch->kind == BD_CHANGE_PK ? "PK" : "KEK", signer,
				    sizeof(signer));
	uint8_t *nv;
	size_t nvlen;
	struct appendctx a = { var.data, var.len, NULL, 0, 0, 0, SIZE_MAX, 0 };
	if (ch->kind == BD_CHANGE_PK || ch->replace) {
		nv = malloc(plen ? plen : 1);
		if (!nv)
			return bd_err(BD_ERR_NOMEM, "out of memory");
		memcpy(nv, payload, plen);
		nvlen = plen;
		a.added = (size_t)n;
	} else {
		a.out = malloc(var.len + plen + 28 * (size_t)(n + 1) + 1);
		if (!a.out)
			return bd_err(BD_ERR_NOMEM, "out of memory");
		memcpy(a.out, var.data, var.len);
		a.n = var.len;
		ev_siglist_walk(payload, plen, append_entry, &a);
		nv = a.out;
		nvlen = a.n;
	}
	if (nvlen == var.len && !memcmp(nv, var.data, var.len)) {
		free(nv);
		return note(x, v->orig, 7, "change %zu: the %s update adds nothing: its %ld entr%s already in %s (already "
			    "applied)%s%s", k + 1, name, n, n == 1 ? "y is" : "ies are", name, signer[0] ? "; " : "", signer);
	}
	size_t dlen;
	uint8_t *d = var_with(guid, name, nv, nvlen, &dlen);
	if (!d) {
		free(nv);
		return bd_err(BD_ERR_NOMEM, "out of memory");
	}
	if ((r = set_data(x, v, d, dlen))) {
		free(nv);
		return r;
	}
	if (ch->kind == BD_CHANGE_DBX) {
		struct revoke rv = { x, 0 };
		ev_siglist_walk(nv, nvlen, check_revoked, &rv);
		if (rv.r) {
			free(nv);
			return rv.r;
		}
	}
	free(nv);
	if (ch->kind == BD_CHANGE_PK || ch->replace)
		return note(x, v->orig, 7, "change %zu: %s replaced (%zu -> %zu bytes, %ld entr%s) in event #%ld%s%s", k + 1,
			    name, var.len, nvlen, n, n == 1 ? "y" : "ies", v->orig, signer[0] ? "; " : "", signer);
	return note(x, v->orig, 7, "change %zu: %s grows from %zu to %zu bytes (%zu new entr%s%s) in event #%ld%s%s", k + 1,
		    name, var.len, nvlen, a.added, a.added == 1 ? "y" : "ies",
		    a.dup ? ", the others already there" : "", v->orig, signer[0] ? "; " : "", signer);
}

/* ---- a new boot application ---- */

static bool is_image(uint32_t t)
{
	return t == EV_EFI_BOOT_SERVICES_APPLICATION || t == EV_EFI_BOOT_SERVICES_DRIVER ||
	       t == EV_EFI_RUNTIME_SERVICES_DRIVER;
}

static long find_app(struct pv *x, const char *target, char *path, size_t pathlen)
{
	for (size_t i = 0; i < x->n; i++) {
		struct vev *v = &x->v[i];
		int medium;
		if (v->deleted || v->pcr != 4 || v->type != EV_EFI_BOOT_SERVICES_APPLICATION ||
		    ev_image_path(v->data, v->len, path, pathlen, &medium))
			continue;
		if (target ? strcasestr(path, target) != NULL : medium == MEDIUM_DISK)
			return (long)i;
	}
	return -1;
}

static int apply_boot_app(struct pv *x, const struct bd_change *ch, size_t k)
{
	char path[1024], db_subject[256] = "";
	long ai = find_app(x, ch->target, path, sizeof(path));
	struct vev *v;
	struct bd_pe_signature sig[8];
	size_t nsig = 0;
	const uint8_t *db = NULL;
	size_t db_len = 0;
	struct ev_var dbv;
	int r;

	if (ai < 0)
		return bd_err(BD_ERR_INVALID, "change %zu: the log has no PCR 4 boot application %s%s%s to replace", k + 1,
			      ch->target ? "matching \"" : "loaded from a disk", ch->target ? ch->target : "",
			      ch->target ? "\"" : "");
	v = &x->v[ai];
	uint8_t h[BD_EVENTLOG_MAX_BANKS][64];
	for (size_t b = 0; b < x->in.n_banks; b++) {
		if (!x->in.bank_replayed[b])
			continue;
		if ((r = bd_authenticode_hash(ch->data, ch->len, x->in.bank_alg[b], h[b], NULL)))
			return bd_err(r, "change %zu: %s", k + 1, bd_last_error());
	}
	bool same = true;
	for (size_t b = 0; b < x->in.n_banks; b++)
		if (x->in.bank_replayed[b] && v->dig[b] && memcmp(v->dig[b], h[b], x->in.bank_size[b]))
			same = false;
	for (size_t b = 0; b < x->in.n_banks; b++)
		if (x->in.bank_replayed[b]) {
			memcpy(v->owndig[b], h[b], x->in.bank_size[b]);
			v->dig[b] = v->owndig[b];
		}
	v->changed = !same;
	if ((r = note(x, v->orig, 4, same ? "change %zu: the boot application %s (event #%ld) is this very image: its "
		      "Authenticode hash does not change" : "change %zu: the boot application %s (event #%ld) gets the "
		      "image's Authenticode hash", k + 1, path, v->orig)))
		return r;
	struct vev *dbe = find_var(x, 7, EV_EFI_VARIABLE_DRIVER_CONFIG, "db");
	if (dbe && !ev_parse_var(dbe->data, dbe->len, &dbv)) {
		db = dbv.data;
		db_len = dbv.len;
	}
	if ((r = bd_pe_signatures(ch->data, ch->len, db, db_len, sig, ARRAY_SIZE(sig), &nsig)))
		return bd_err(r, "change %zu: %s", k + 1, bd_last_error());
	const struct bd_pe_signature *use = NULL;
	for (size_t i = 0; i < nsig && !use; i++)
		if (sig[i].db_index >= 0 && sig[i].digest_matches && sig[i].signature_valid)
			use = &sig[i];
	if (x->in.secure_boot != 1)
		return 0;   /* nothing is verified against db: PCR 7 does not see the signer */
	if (!use) {
		x->p->will_not_boot = 1;
		return note(x, v->orig, 7, "change %zu: no signature of the image chains to a certificate in this machine's "
			    "db: Secure Boot will refuse to start it (the machine will not boot it; no recovery prompt)",
			    k + 1);
	}
	snprintf(db_subject, sizeof(db_subject), "%s", use->db_subject);
	/* the authority the firmware logs for it: db's EFI_SIGNATURE_DATA, logged at its first use */
	size_t alen;
	uint8_t *adata = var_with(image_security_guid, "db", use->db_entry, use->db_entry_len, &alen);
	if (!adata)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	long prev_img = -1, own = -1;
	bool logged_before = false;
	for (long i = 0; i < ai; i++) {
		struct vev *w = &x->v[i];
		if (w->deleted)
			continue;
		if (is_image(w->type))
			prev_img = i;
	}
	for (long i = 0; i < ai; i++) {
		struct vev *w = &x->v[i];
		if (w->deleted || w->type != EV_EFI_VARIABLE_AUTHORITY || w->pcr != 7)
			continue;
		if (i > prev_img)
			own = i;    /* logged for this application */
		else if (w->len == alen && !memcmp(w->data, adata, alen))
			logged_before = true;
	}
	if (own >= 0 && x->v[own].len == alen && !memcmp(x->v[own].data, adata, alen)) {
		free(adata);
		return note(x, x->v[own].orig, 7, "change %zu: signed by db's \"%s\", the authority that verified the "
			    "current one (event #%ld): PCR 7 does not change", k + 1, db_subject, x->v[own].orig);
	}
	if (own < 0 && logged_before) {
		free(adata);
		return note(x, -1, 7, "change %zu: signed by db's \"%s\", already used earlier in this boot: PCR 7 does "
			    "not change", k + 1, db_subject);
	}
	if (own >= 0 && logged_before) {
		free(adata);
		x->v[own].deleted = true;
		return note(x, x->v[own].orig, 7, "change %zu: signed by db's \"%s\", used earlier in this boot: the "
			    "authority event #%ld logged for the current image disappears", k + 1, db_subject, x->v[own].orig);
	}
	if (own >= 0) {
		if ((r = set_data(x, &x->v[own], adata, alen)))
			return r;
		return note(x, x->v[own].orig, 7, "change %zu: signed by db's \"%s\" instead: the authority event #%ld "
			    "changes", k + 1, db_subject, x->v[own].orig);
	}
	struct vev *nv = insert_at(x, (size_t)ai);
	if (!nv) {
		free(adata);
		return bd_err(BD_ERR_NOMEM, "out of memory");
	}
	nv->pcr = 7;
	nv->type = EV_EFI_VARIABLE_AUTHORITY;
	if ((r = set_data(x, nv, adata, alen)))
		return r;
	return note(x, -1, 7, "change %zu: signed by db's \"%s\", not used in this boot so far: a new authority "
		    "event in PCR 7", k + 1, db_subject);
}

/* ---- BootOrder, Secure Boot ---- */

static int apply_boot_order(struct pv *x, const struct bd_change *ch, size_t k)
{
	struct vev *v = find_var(x, 1, EV_EFI_VARIABLE_BOOT, "BootOrder");
	struct ev_var var;
	uint8_t val[2 * BD_MAX_BOOT_ORDER];
	int r;

	if (!v)
		v = find_var(x, 1, EV_EFI_VARIABLE_BOOT2, "BootOrder");
	if (!v || ev_parse_var(v->data, v->len, &var))
		return bd_err(BD_ERR_INVALID, "change %zu: the log does not measure BootOrder (PCR 1)", k + 1);
	for (size_t i = 0; i < ch->n_boot_order; i++)
		put_le16(val + 2 * i, ch->boot_order[i]);
	if (var.len == 2 * ch->n_boot_order && !memcmp(var.data, val, var.len))
		return note(x, v->orig, 1, "change %zu: BootOrder is already this order", k + 1);
	for (size_t i = 0; i < ch->n_boot_order; i++) {
		char name[16];
		snprintf(name, sizeof(name), "Boot%04X", ch->boot_order[i]);
		if (!find_var(x, 1, EV_EFI_VARIABLE_BOOT, name) && !find_var(x, 1, EV_EFI_VARIABLE_BOOT2, name) &&
		    (r = note(x, -1, 1, "change %zu: %s is not a boot option this firmware measured", k + 1, name)))
			return r;
	}
	size_t dlen;
	uint8_t *d = var_with(var.guid, "BootOrder", val, 2 * ch->n_boot_order, &dlen);
	if (!d)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	if ((r = set_data(x, v, d, dlen)))
		return r;
	if ((r = note(x, v->orig, 1, "change %zu: BootOrder (event #%ld) gets the new order", k + 1, v->orig)))
		return r;
	if (ch->n_boot_order && var.len >= 2 && le16(var.data) != ch->boot_order[0])
		return note(x, -1, 4, "change %zu: Boot%04X comes first now: if the firmware boots it (or tries it) before "
			    "the Windows Boot Manager, PCR 4 (and PCR 7) change too; that is not predicted here", k + 1,
			    ch->boot_order[0]);
	return 0;
}

static int apply_secure_boot(struct pv *x, const struct bd_change *ch, size_t k)
{
	struct vev *v = find_var(x, 7, EV_EFI_VARIABLE_DRIVER_CONFIG, "SecureBoot");
	struct ev_var var;
	uint8_t val = ch->secure_boot ? 1 : 0;
	size_t dlen, gone = 0;
	int r;

	if (!v || ev_parse_var(v->data, v->len, &var))
		return bd_err(BD_ERR_INVALID, "change %zu: the log does not measure the SecureBoot variable (PCR 7)", k + 1);
	if (var.len == 1 && var.data[0] == val)
		return note(x, v->orig, 7, "change %zu: Secure Boot is already %s", k + 1, val ? "on" : "off");
	uint8_t *d = var_with(var.guid, "SecureBoot", &val, 1, &dlen);
	if (!d)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	if ((r = set_data(x, v, d, dlen)))
		return r;
	if ((r = note(x, v->orig, 7, "change %zu: SecureBoot (event #%ld) becomes %02x", k + 1, v->orig, val)))
		return r;
	if (!val) {
		/* nothing is verified against db any more: no authority events */
		for (size_t i = 0; i < x->n; i++) {
			struct ev_var av;
			if (!x->v[i].deleted && x->v[i].type == EV_EFI_VARIABLE_AUTHORITY && x->v[i].pcr == 7 &&
			    !ev_parse_var(x->v[i].data, x->v[i].len, &av) && !memcmp(av.guid, image_security_guid, 16)) {
				x->v[i].deleted = true;
				gone++;
			}
		}
		if (gone)
			return note(x, -1, 7, "change %zu: the %zu authority event(s) of PCR 7 disappear (nothing is verified)",
				    k + 1, gone);
		return 0;
	}
	return note(x, -1, 7, "change %zu: with Secure Boot on, the db certificates that verify each image are logged "
		    "too; which ones is not predicted (PCR 7 changes in any case)", k + 1);
}

/* ---- replay and verdict ---- */

static int replay(struct pv *x, size_t b, uint8_t pcrs[BD_PCR_COUNT][64])
{
	size_t sz = x->in.bank_size[b];
	int r;

	for (unsigned p = 0; p < BD_PCR_COUNT; p++)
		memset(pcrs[p], p >= 17 && p <= 22 ? 0xff : 0, sz);
	if (x->in.startup_locality >= 0)
		pcrs[0][sz - 1] = (uint8_t)x->in.startup_locality;
	for (size_t i = 0; i < x->n; i++) {
		if (x->v[i].deleted || !x->v[i].dig[b])
			continue;
		if ((r = ev_extend(x->in.bank_alg[b], pcrs[x->v[i].pcr], x->v[i].dig[b])))
			return r;
	}
	return 0;
}

int bd_predict(const bd_eventlog *log, const struct bd_change *changes, size_t n, uint32_t pcr_mask, uint16_t bank,
	       struct bd_prediction **out)
{
	struct pv x;
	int r = 0;
	long bi = -1;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	x.log = log;
	bd_eventlog_info(log, &x.in);
	x.p = calloc(1, sizeof(*x.p));
	if (!x.p)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	static const uint16_t pref[] = { BD_ALG_SHA256, BD_ALG_SHA1, BD_ALG_SHA384, BD_ALG_SHA512 };
	for (size_t p = 0; p < ARRAY_SIZE(pref) && bi < 0; p++)
		for (size_t b = 0; b < x.in.n_banks; b++)
			if (x.in.bank_replayed[b] && x.in.bank_alg[b] == (bank ? bank : pref[p]))
				bi = (long)b;
	if (bi < 0) {
		r = bd_err(BD_ERR_INVALID, "the log has no usable %s bank to predict with",
			   bank && bd_hash_alg_name(bank) ? bd_hash_alg_name(bank) : "digest");
		goto fail;
	}
	x.p->bank = x.in.bank_alg[bi];
	x.p->digest_len = x.in.bank_size[bi];
	x.p->bound_pcrs = pcr_mask;
	if ((r = load(&x)))
		goto fail;
	if ((r = replay(&x, (size_t)bi, x.p->current)))
		goto fail;
	for (size_t k = 0; k < n && !r; k++) {
		switch (changes[k].kind) {
		case BD_CHANGE_DB: case BD_CHANGE_DBX: case BD_CHANGE_KEK: case BD_CHANGE_PK:
			r = apply_db_update(&x, &changes[k], k);
			break;
		case BD_CHANGE_BOOT_APP:
			r = apply_boot_app(&x, &changes[k], k);
			break;
		case BD_CHANGE_BOOT_ORDER:
			r = apply_boot_order(&x, &changes[k], k);
			break;
		case BD_CHANGE_SECURE_BOOT:
			r = apply_secure_boot(&x, &changes[k], k);
			break;
		default:
			r = bd_err(BD_ERR_INVALID, "change %zu: unknown kind %d", k + 1, changes[k].kind);
		}
	}
	if (r)
		goto fail;
	if ((r = replay(&x, (size_t)bi, x.p->predicted)))
		goto fail;
	for (unsigned p = 0; p < BD_PCR_COUNT; p++)
		if (memcmp(x.p->current[p], x.p->predicted[p], x.p->digest_len))
			x.p->changed_pcrs |= 1u << p;
	x.p->recovery = (x.p->changed_pcrs & pcr_mask) != 0;
	for (size_t i = 0; i < x.n; i++)
		free(x.v[i].own);
	free(x.v);
	*out = x.p;
	return 0;
fail:
	for (size_t i = 0; i < x.n; i++)
		free(x.v[i].own);
	free(x.v);
	bd_prediction_free(x.p);
	return r;
}

void bd_prediction_free(struct bd_prediction *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_notes; i++)
		free(p->notes[i].text);
	free(p->notes);
	free(p);
}

int bd_eventlog_variable(const bd_eventlog *log, const char *name, const uint8_t **data, size_t *len, size_t *index)
{
	struct bd_eventlog_info in;

	bd_eventlog_info(log, &in);
	for (size_t i = 0; i < in.n_events; i++) {
		struct bd_event e;
		struct ev_var v;
		if (bd_eventlog_event(log, i, &e) || e.pcr != 7 || e.type != EV_EFI_VARIABLE_DRIVER_CONFIG ||
		    ev_parse_var(e.data, e.data_len, &v) || strcmp(v.name, name))
			continue;
		*data = v.data;
		*len = v.len;
		if (index)
			*index = i;
		return 0;
	}
	return bd_err(BD_ERR_INVALID, "the log does not measure the %s variable in PCR 7", name);
}
