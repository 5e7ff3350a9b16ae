/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Escrow: key IDs, result lists in locked memory, the values AD stores
 * (escrow-and-protectors.md §1.1-§1.3) and matching a recovery password to the
 * volume's protector. The directory clients are escrow_ldap.c and escrow_graph.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "crypto.h"
#include "escrow_int.h"
#include "volume.h"

/* ---- result lists ---- */

struct bd_escrow_list {
	struct bd_escrow_entry *e;   /* mlock()ed, wiped on growth and free */
	size_t n, cap;
};

bd_escrow_list *bd_escrow_list_new(void)
{
	bd_escrow_list *l = calloc(1, sizeof(*l));

	if (!l)
		bd_err(BD_ERR_NOMEM, "out of memory for escrow results");
	return l;
}

static void entries_free(struct bd_escrow_entry *e, size_t cap)
{
	if (!e)
		return;
	bd_wipe(e, cap * sizeof(*e));
	munlock(e, cap * sizeof(*e));
	free(e);
}

struct bd_escrow_entry *bd_escrow_list_add(bd_escrow_list *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 4;
		struct bd_escrow_entry *e;
		if (cap > 65536) {
			bd_err(BD_ERR_CORRUPT, "more than 65536 escrow results; narrow the query");
			return NULL;
		}
		e = calloc(cap, sizeof(*e));
		if (!e) {
			bd_err(BD_ERR_NOMEM, "out of memory for escrow results");
			return NULL;
		}
		mlock(e, cap * sizeof(*e));
		if (l->n)
			memcpy(e, l->e, l->n * sizeof(*e));
		entries_free(l->e, l->cap);
		l->e = e;
		l->cap = cap;
	}
	memset(&l->e[l->n], 0, sizeof(l->e[0]));
	return &l->e[l->n++];
}

static int newest_first(const void *a, const void *b)
{
	const struct bd_escrow_entry *x = a, *y = b;

	if (!x->created_unix != !y->created_unix)
		return x->created_unix ? -1 : 1;
	if (x->created_unix != y->created_unix)
		return x->created_unix > y->created_unix ? -1 : 1;
	return strcmp(x->dn, y->dn);
}

void bd_escrow_list_sort(bd_escrow_list *l)
{
	if (l->n > 1)
		qsort(l->e, l->n, sizeof(l->e[0]), newest_first);
}

size_t bd_escrow_list_count(const bd_escrow_list *l)
{
	return l ? l->n : 0;
}

const struct bd_escrow_entry *bd_escrow_list_get(const bd_escrow_list *l, size_t i)
{
	return l && i < l->n ? &l->e[i] : NULL;
}

void bd_escrow_list_free(bd_escrow_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free((void *)l->e[i].key_package);
	entries_free(l->e, l->cap);
	free(l);
}

/* ---- key IDs ---- */

static void guid_upper(const uint8_t g[16], char out[37])
{
	bd_guid_format(g, out);
	for (char *c = out; *c; c++)
		*c = (char)toupper((unsigned char)*c);
}

int bd_escrow_key_id_parse(const char *text, struct bd_escrow_key_id *out)
{
	char hex[9];
	size_t n = 0;
	const char *s = text;

	memset(out, 0, sizeof(*out));
	if (!text || !*text)
		return bd_err(BD_ERR_INVALID, "empty key ID; give the 8 hex digits shown on the recovery "
			      "screen or the full protector GUID");
	if (!bd_guid_parse(text, out->guid)) {
		out->full = 1;
		out->text[0] = '{';
		guid_upper(out->guid, out->text + 1);
		out->text[37] = '}';
		out->text[38] = 0;
		return 0;
	}
	/* The recovery screen shows the first 8 hex digits ("Key ID: 1F9DA098"), sometimes
	 * with a brace or a dash after them. */
	if (*s == '{')
		s++;
	while (*s && n < 8 && isxdigit((unsigned char)*s))
		hex[n++] = (char)toupper((unsigned char)*s++);
	hex[n] = 0;
	if (*s == '-' || *s == '}')
		s++;
	if (n != 8 || *s)
		return bd_err(BD_ERR_INVALID, "'%.60s' is not a key ID: give the 8 hex digits shown on the "
			      "recovery screen (e.g. 1F9DA098) or the full protector GUID", text);
	unsigned long v = strtoul(hex, NULL, 16);
	/* Data1 of the GUID is little-endian on disk and in AD */
	put_le32(out->guid, (uint32_t)v);
	memcpy(out->text, hex, 9);
	return 0;
}

int bd_escrow_key_id_match(const struct bd_escrow_key_id *id, const uint8_t guid[16])
{
	return !memcmp(id->guid, guid, id->full ? 16 : 4);
}

/* ---- values ---- */

static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int64_t days_from_civil(int y, int m, int d)
{
	/* proleptic Gregorian days since 1970-01-01 (H. Hinnant's algorithm) */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int bd_escrow_time_parse(const char *text, size_t len, int64_t *out)
{
	char t[48];
	int y, mo, d, h, mi, se, off = 0;
	size_t p;

	if (!text || len < 14 || len >= sizeof(t))
		return bd_err(BD_ERR_CORRUPT, "not a date");
	memcpy(t, text, len);
	t[len] = 0;
	if (len >= 19 && t[4] == '-' && t[7] == '-' && (t[10] == 'T' || t[10] == ' ') && t[13] == ':' &&
	    t[16] == ':') {
		y = digits(t, 4); mo = digits(t + 5, 2); d = digits(t + 8, 2);
		h = digits(t + 11, 2); mi = digits(t + 14, 2); se = digits(t + 17, 2);
		p = 19;
	} else {
		y = digits(t, 4); mo = digits(t + 4, 2); d = digits(t + 6, 2);
		h = digits(t + 8, 2); mi = digits(t + 10, 2); se = digits(t + 12, 2);
		p = 14;
	}
	if (y < 1601 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    se < 0 || se > 60)
		return bd_err(BD_ERR_CORRUPT, "'%s' is not a date", t);
	if (t[p] == '.' || t[p] == ',') {
		p++;
		while (isdigit((unsigned char)t[p]))
			p++;
	}
	if (t[p] == 'Z' && !t[p + 1]) {
		off = 0;
	} else if ((t[p] == '+' || t[p] == '-') && len - p == 6 && t[p + 3] == ':') {
		int oh = digits(t + p + 1, 2), om = digits(t + p + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return bd_err(BD_ERR_CORRUPT, "'%s' has a bad UTC offset", t);
		off = (oh * 60 + om) * 60 * (t[p] == '-' ? -1 : 1);
	} else if ((t[p] == '+' || t[p] == '-') && len - p == 5) {
		int oh = digits(t + p + 1, 2), om = digits(t + p + 3, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return bd_err(BD_ERR_CORRUPT, "'%s' has a bad UTC offset", t);
		off = (oh * 60 + om) * 60 * (t[p] == '-' ? -1 : 1);
	} else if (t[p]) {
		return bd_err(BD_ERR_CORRUPT, "'%s' is not a date", t);
	}
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
	return 0;
}

int bd_escrow_cn_parse(const char *cn, size_t len, char time_out[32], uint8_t guid[16])
{
	char g[39];
	int64_t t;

	/* 25 characters of local time with offset, then the 38-character braced GUID */
	if (len != 63 || cn[25] != '{' || cn[62] != '}')
		return bd_err(BD_ERR_CORRUPT, "CN '%.*s' is not <time>{GUID}", (int)MIN(len, 80), cn);
	memcpy(g, cn + 25, 38);
	g[38] = 0;
	if (bd_guid_parse(g, guid) || bd_escrow_time_parse(cn, 25, &t))
		return bd_err(BD_ERR_CORRUPT, "CN '%.63s' is not <time>{GUID}", cn);
	memcpy(time_out, cn, 25);
	time_out[25] = 0;
	return 0;
}

int bd_escrow_parent_dn(const char *dn, char *out, size_t outlen)
{
	for (const char *p = dn; *p; p++) {
		if (*p == '\\') {
			if (!p[1])
				break;
			p++;
			continue;
		}
		if (*p == ',') {
			p++;
			while (*p == ' ')
				p++;
			if (strlen(p) >= outlen)
				return bd_err(BD_ERR_CORRUPT, "DN too long");
			strcpy(out, p);
			return 0;
		}
	}
	return bd_err(BD_ERR_CORRUPT, "DN '%.80s' has no parent", dn);
}

int bd_escrow_dn_escape(const char *value, char *out, size_t outlen)
{
	size_t n = 0, len = strlen(value);

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		bool esc = strchr(",+\"\\<>;=", c) || (i == 0 && (c == '#' || c == ' ')) ||
			   (i == len - 1 && c == ' ');
		if (c < 0x20) {
			if (n + 3 >= outlen)
				return bd_err(BD_ERR_INVALID, "DN value too long");
			n += (size_t)snprintf(out + n, outlen - n, "\\%02x", c);
			continue;
		}
		if (n + 2 + esc >= outlen)
			return bd_err(BD_ERR_INVALID, "DN value too long");
		if (esc)
			out[n++] = '\\';
		out[n++] = (char)c;
	}
	out[n] = 0;
	return 0;
}

/* 48 digits in blocks that are multiples of 11 below 720896 (dashes and spaces ignored)? Checked
 * here, silently, so that a malformed value from a directory never reaches an error message. */
static bool password_well_formed(const char *s, size_t len)
{
	unsigned long block = 0;
	int n = 0;

	for (size_t i = 0; i < len; i++) {
		if (isdigit((unsigned char)s[i])) {
			block = block * 10 + (unsigned long)(s[i] - '0');
			if (++n % 6 == 0) {
				if (n > 48 || block % 11 || block >= 720896)
					return false;
				block = 0;
			}
		} else if (s[i] != '-' && s[i] != ' ') {
			return false;
		}
	}
	return n == 48;
}

int bd_escrow_password_normalise(const char *text, size_t len, char *out, size_t outlen)
{
	char buf[128];
	uint8_t key[16];
	int ok;

	if (outlen < 56)
		return 0;
	if (len >= sizeof(buf) || !password_well_formed(text, len)) {
		snprintf(out, outlen, "%.*s", (int)MIN(len, outlen - 1), text);
		for (char *c = out; *c; c++)
			if ((unsigned char)*c < 0x20)
				*c = '?';
		return 0;
	}
	memcpy(buf, text, len);
	buf[len] = 0;
	ok = !bd_recovery_password_parse(buf, key);
	if (ok)
		bd_recovery_password_format(key, out);
	bd_wipe(key, sizeof(key));
	bd_wipe(buf, sizeof(buf));
	return ok;
}

static void copy_text(char *out, size_t outlen, const uint8_t *p, size_t len)
{
	size_t n = MIN(len, outlen - 1);

	for (size_t i = 0; i < n; i++)
		out[i] = p[i] >= 0x20 && p[i] != 0x7f ? (char)p[i] : '?';
	out[n] = 0;
}

int bd_escrow_entry_from_ldap(const struct bd_ldap_values *v, struct bd_escrow_entry *e)
{
	char cn_time[32] = "";
	uint8_t cn_guid[16];
	int cn_ok = 0;

	memset(e, 0, sizeof(*e));
	snprintf(e->dn, sizeof(e->dn), "%s", v->dn ? v->dn : "");
	if (v->dn && bd_escrow_parent_dn(v->dn, e->computer, sizeof(e->computer)))
		e->computer[0] = 0;
	if (v->cn)
		cn_ok = !bd_escrow_cn_parse((const char *)v->cn, v->cn_len, cn_time, cn_guid);
	if (v->rguid && v->rguid_len == 16) {
		memcpy(e->recovery_guid, v->rguid, 16);
		if (cn_ok && memcmp(cn_guid, v->rguid, 16))
			bd_warn("%s: the GUID in the CN differs from msFVE-RecoveryGuid; using the attribute",
				e->dn);
	} else if (cn_ok) {
		memcpy(e->recovery_guid, cn_guid, 16);
	} else {
		return bd_err(BD_ERR_CORRUPT, "%s: no usable msFVE-RecoveryGuid (%zu bytes, want 16) and no "
			      "{GUID} in the CN", e->dn, v->rguid ? v->rguid_len : 0);
	}
	if (v->vguid && v->vguid_len == 16) {
		memcpy(e->volume_guid, v->vguid, 16);
		e->has_volume_guid = 1;
	}
	if (v->password) {
		e->has_password = 1;
		e->password_valid = bd_escrow_password_normalise((const char *)v->password, v->password_len,
								 e->recovery_password,
								 sizeof(e->recovery_password));
	}
	if (cn_ok) {
		snprintf(e->created, sizeof(e->created), "%s", cn_time);
		if (bd_escrow_time_parse(cn_time, strlen(cn_time), &e->created_unix))
			e->created_unix = 0;
	}
	if (v->when && v->when_len) {
		int64_t t;
		/* the CN's time is what Windows wrote (and sorts as whenCreated does); the server's
		 * date only stands in when the CN has none */
		if (!bd_escrow_time_parse((const char *)v->when, v->when_len, &t)) {
			if (!cn_ok || !e->created_unix)
				e->created_unix = t;
			if (!cn_ok) {
				struct tm tm;
				time_t tt = (time_t)t;
				gmtime_r(&tt, &tm);
				strftime(e->created, sizeof(e->created), "%Y-%m-%dT%H:%M:%SZ", &tm);
			}
		} else if (!cn_ok) {
			copy_text(e->created, sizeof(e->created), v->when, v->when_len);
		}
	}
	e->key_package_len = v->key_package_len;
	return 0;
}

int bd_escrow_ldap_filter(const struct bd_escrow_key_id *id, char *out, size_t outlen)
{
	char esc[16 * 3 + 1], g[37];
	int n;

	if (id->full) {
		/* binary match as AD stores it (Windows GUID byte order), or the {GUID} in the CN */
		for (int i = 0; i < 16; i++)
			snprintf(esc + 3 * i, 4, "\\%02x", id->guid[i]);
		guid_upper(id->guid, g);
		n = snprintf(out, outlen, "(&(objectClass=msFVE-RecoveryInformation)(|(msFVE-RecoveryGuid=%s)"
			     "(cn=*{%s}*)))", esc, g);
	} else {
		/* the indexed binary attribute cannot be prefix-searched: substring on the CN (§1.6) */
		n = snprintf(out, outlen, "(&(objectClass=msFVE-RecoveryInformation)(cn=*{%s-*))", id->text);
	}
	if (n < 0 || (size_t)n >= outlen)
		return bd_err(BD_ERR_INVALID, "filter buffer too small");
	return 0;
}

/* ---- matching a password to the volume ---- */

int bd_escrow_match_protector(bd_volume *v, const char *rp, uint8_t guid[16])
{
	uint8_t key16[16], initial[32], vmk[32];
	int r, found = 0;

	r = bd_recovery_password_parse(rp, key16);
	if (r)
		return r;
	bd_recovery_key_hash(key16, initial);
	bd_wipe(key16, sizeof(key16));
	r = BD_ERR_WRONG_KEY;
	for (size_t i = 0; i < v->n_prot; i++) {
		struct bd_prot *p = &v->prot[i];
		if (bd_protector_kind(p->info.type) != BD_PROT_RECOVERY_PASSWORD)
			continue;
		found++;
		int u = bd_vmk_stretched(p, initial, vmk);   /* the step bd_unlock uses */
		bd_wipe(vmk, sizeof(vmk));
		if (!u) {
			memcpy(guid, p->info.guid, 16);
			r = 0;
			break;
		}
	}
	bd_wipe(initial, sizeof(initial));
	if (!found)
		return bd_err(BD_ERR_NO_PROTECTOR, "the volume has no recovery-password protector");
	if (r)
		return bd_err(BD_ERR_WRONG_KEY, "the recovery password opens none of the volume's %d "
			      "recovery-password protector(s)", found);
	return 0;
}

/* ---- backup record ---- */

int bd_escrow_cn(const struct bd_escrow_record *r, char *out, size_t outlen)
{
	time_t t = r->when ? (time_t)r->when : time(NULL);
	struct tm tm;
	char g[37], ts[32];
	long off;

	tzset();   /* localtime_r need not notice a changed TZ */
	if (outlen < 64 || !localtime_r(&t, &tm))
		return bd_err(BD_ERR_INVALID, "cannot format the backup time");
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	off = tm.tm_gmtoff / 60;
	/* Windows writes the offset with '-' for UTC ("-00:00", §1.1/§1.7 sample) [guess: it formats
	 * the Win32 bias, UTC minus local, whose sign is inverted] */
	char sign = off > 0 ? '+' : '-';
	if (off < 0)
		off = -off;
	guid_upper(r->recovery_guid, g);
	snprintf(out, outlen, "%s%c%02ld:%02ld{%s}", ts, sign, off / 60 % 100, off % 60, g);
	return 0;
}

int bd_escrow_dn(const struct bd_escrow_record *r, const char *computer_dn, char *out, size_t outlen)
{
	char cn[80], esc[200];
	int r2, n;

	if (!computer_dn || !*computer_dn)
		return bd_err(BD_ERR_INVALID, "no computer DN given");
	if ((r2 = bd_escrow_cn(r, cn, sizeof(cn))) || (r2 = bd_escrow_dn_escape(cn, esc, sizeof(esc))))
		return r2;
	n = snprintf(out, outlen, "CN=%s,%s", esc, computer_dn);
	if (n < 0 || (size_t)n >= outlen)
		return bd_err(BD_ERR_INVALID, "computer DN too long");
	return 0;
}
