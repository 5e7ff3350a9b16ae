/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The decoded fields of one event as a JSON object (for `eventlog show --json`
 * and scripts): every value that the one-line description summarises, in full.
 * Text from the log is escaped for JSON and sanitized (no control characters).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "eventlog.h"

struct jb {
	char *s;
	size_t n, cap;
	bool oom;
	bool first;           /* no member written yet in the current object/array */
};

static void jb_raw(struct jb *j, const char *t, size_t len)
{
	if (j->oom)
		return;
	if (j->n + len + 1 > j->cap) {
		size_t ncap = j->cap ? j->cap : 256;
		while (ncap < j->n + len + 1)
			ncap *= 2;
		char *p = realloc(j->s, ncap);
		if (!p) {
			j->oom = true;
			return;
		}
		j->s = p;
		j->cap = ncap;
	}
	memcpy(j->s + j->n, t, len);
	j->n += len;
	j->s[j->n] = 0;
}

static void jb_fmt(struct jb *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jb_fmt(struct jb *j, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (w > 0)
		jb_raw(j, tmp, MIN((size_t)w, sizeof(tmp) - 1));
}

static void jb_str(struct jb *j, const char *s)
{
	char *copy = strdup(s ? s : "");

	if (!copy) {
		j->oom = true;
		return;
	}
	ev_sanitize(copy);
	jb_raw(j, "\"", 1);
	for (const char *p = copy; *p; p++) {
		if (*p == '"' || *p == '\\') {
			char e[2] = { '\\', *p };
			jb_raw(j, e, 2);
		} else {
			jb_raw(j, p, 1);
		}
	}
	jb_raw(j, "\"", 1);
	free(copy);
}

static void jb_key(struct jb *j, const char *k)
{
	if (!j->first)
		jb_raw(j, ",", 1);
	j->first = false;
	jb_str(j, k);
	jb_raw(j, ":", 1);
}

static void jb_kstr(struct jb *j, const char *k, const char *v) { jb_key(j, k); jb_str(j, v); }
static void jb_kuint(struct jb *j, const char *k, uint64_t v) { jb_key(j, k); jb_fmt(j, "%" PRIu64, v); }

static void jb_hex(struct jb *j, const uint8_t *p, size_t n)
{
	char b[3];

	jb_raw(j, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		snprintf(b, sizeof(b), "%02x", p[i]);
		jb_raw(j, b, 2);
	}
	jb_raw(j, "\"", 1);
}

static void jb_khex(struct jb *j, const char *k, const uint8_t *p, size_t n) { jb_key(j, k); jb_hex(j, p, n); }

static void jb_kguid(struct jb *j, const char *k, const uint8_t *g)
{
	char s[37];

	bd_guid_format(g, s);
	jb_kstr(j, k, s);
}

static void jb_open(struct jb *j, const char *key, char c)
{
	if (key)
		jb_key(j, key);
	else if (!j->first)
		jb_raw(j, ",", 1);
	jb_raw(j, &c, 1);
	j->first = true;
}

static void jb_close(struct jb *j, char c)
{
	jb_raw(j, &c, 1);
	j->first = false;
}

/* ---- per type ---- */

struct sigctx {
	struct jb *j;
	size_t n;
};

static int sig_json(void *ctx, const struct ev_sig *s)
{
	struct sigctx *x = ctx;
	struct jb *j = x->j;
	char name[256];

	if (x->n++ >= 4096)
		return 1;    /* enough for any real database */
	jb_open(j, NULL, '{');
	if (s->type_name)
		jb_kstr(j, "type", s->type_name);
	else
		jb_kguid(j, "type", s->type);
	jb_kguid(j, "owner", s->owner);
	if (s->type_name && !strcmp(s->type_name, "x509")) {
		uint8_t h[32];
		ev_x509_name(s->data, s->len, 1, name, sizeof(name));
		jb_kstr(j, "subject", name);
		ev_x509_name(s->data, s->len, 0, name, sizeof(name));
		jb_kstr(j, "issuer", name);
		if (!ev_hash(BD_ALG_SHA256, s->data, s->len, h, NULL))
			jb_khex(j, "certificate_sha256", h, 32);
		jb_kuint(j, "certificate_size", s->len);
	} else {
		jb_khex(j, "data", s->data, MIN(s->len, (size_t)256));
	}
	jb_close(j, '}');
	return 0;
}

static void var_json(struct jb *j, const struct bd_event *e)
{
	struct ev_var v;
	char desc[512], path[1024];
	int medium;

	if (ev_parse_var(e->data, e->data_len, &v))
		return;
	jb_kguid(j, "variable_guid", v.guid);
	jb_kstr(j, "variable_name", v.name);
	jb_kuint(j, "variable_data_size", v.len);
	if (e->type == EV_EFI_VARIABLE_AUTHORITY) {
		if (v.len > 16) {
			char subj[256];
			ev_x509_name(v.data + 16, v.len - 16, 1, subj, sizeof(subj));
			jb_kguid(j, "signature_owner", v.data);
			if (subj[0]) {
				uint8_t h[32];
				jb_kstr(j, "certificate_subject", subj);
				ev_x509_name(v.data + 16, v.len - 16, 0, subj, sizeof(subj));
				jb_kstr(j, "certificate_issuer", subj);
				if (!ev_hash(BD_ALG_SHA256, v.data + 16, v.len - 16, h, NULL))
					jb_khex(j, "certificate_sha256", h, 32);
			}
		}
		return;
	}
	if (v.len == 1)
		jb_kuint(j, "value", v.data[0]);
	if (!strcmp(v.name, "BootOrder")) {
		jb_open(j, "boot_order", '[');
		for (size_t i = 0; i + 1 < v.len; i += 2) {
			char b[8];
			snprintf(b, sizeof(b), "%04X", le16(v.data + i));
			if (!j->first)
				jb_raw(j, ",", 1);
			j->first = false;
			jb_str(j, b);
		}
		jb_close(j, ']');
	} else if (!strncmp(v.name, "Boot", 4) && strlen(v.name) == 8 &&
		   !ev_load_option(v.data, v.len, desc, sizeof(desc), path, sizeof(path), &medium)) {
		jb_kuint(j, "attributes", v.len >= 4 ? le32(v.data) : 0);
		jb_kstr(j, "description", desc);
		jb_kstr(j, "device_path", path);
		jb_kstr(j, "medium", ev_medium_name(medium));
	} else if (!strcmp(v.name, "PK") || !strcmp(v.name, "KEK") || !strcmp(v.name, "db") || !strcmp(v.name, "dbx") ||
		   !strcmp(v.name, "dbt") || !strcmp(v.name, "dbr")) {
		struct sigctx x = { j, 0 };
		jb_open(j, "signatures", '[');
		long n = ev_siglist_walk(v.data, v.len, sig_json, &x);
		jb_close(j, ']');
		if (n < 0)
			jb_kstr(j, "error", "malformed EFI_SIGNATURE_LIST");
	}
}

static void image_json(struct jb *j, const struct bd_event *e)
{
	char path[2048];
	int medium;

	if (e->data_len < 32 || ev_image_path(e->data, e->data_len, path, sizeof(path), &medium))
		return;
	jb_kuint(j, "image_location", le64(e->data));
	jb_kuint(j, "image_length", le64(e->data + 8));
	jb_kuint(j, "link_time_address", le64(e->data + 16));
	jb_kstr(j, "device_path", path);
	jb_kstr(j, "medium", ev_medium_name(medium));
}

static void gpt_json(struct jb *j, const bd_eventlog *log, const struct bd_event *e)
{
	uint8_t g[16];
	uint64_t n;
	size_t cnt = bd_event_gpt_count(log, e->index);

	if (ev_gpt(e->data, e->data_len, g, &n))
		return;
	jb_kguid(j, "disk_guid", g);
	jb_kuint(j, "partition_count", n);
	jb_open(j, "partitions", '[');
	for (size_t i = 0; i < cnt; i++) {
		struct bd_gpt_partition p;
		if (bd_event_gpt_partition(log, e->index, i, &p))
			break;
		jb_open(j, NULL, '{');
		jb_kuint(j, "index", i + 1);
		jb_kguid(j, "type_guid", p.type_guid);
		jb_kstr(j, "type_name", p.type_name);
		jb_kguid(j, "unique_guid", p.unique_guid);
		jb_kuint(j, "first_lba", p.first_lba);
		jb_kuint(j, "last_lba", p.last_lba);
		jb_kuint(j, "attributes", p.attributes);
		jb_kstr(j, "name", p.name);
		jb_close(j, '}');
	}
	jb_close(j, ']');
}

static void text_json(struct jb *j, const struct bd_event *e)
{
	char *t;

	if (!e->data_len)
		return;
	t = malloc(e->data_len * 2 + 1);
	if (!t)
		return;
	if (ev_is_utf16_text(e->data, e->data_len)) {
		bd_utf16le_to_utf8(e->data, e->data_len, t, e->data_len * 2 + 1);
		jb_kstr(j, "encoding", "utf-16");
	} else {
		size_t k = 0;
		for (size_t i = 0; i < e->data_len && e->data[i]; i++)
			t[k++] = (char)e->data[i];
		t[k] = 0;
	}
	jb_kstr(j, "text", t);
	free(t);
}

static void handoff_json(struct jb *j, const struct bd_event *e)
{
	static const struct { const char *g, *n; } tables[] = {
		{ "eb9d2d31-2d88-11d3-9a16-0090273fc14d", "SMBIOS" },
		{ "f2fd1544-9794-4a2c-992e-e5bbcf20e394", "SMBIOS3" },
		{ "8868e871-e4f1-11d3-bc22-0080c73c8881", "ACPI 2.0" },
		{ "eb9d2d30-2d88-11d3-9a16-0090273fc14d", "ACPI 1.0" },
	};
	struct bd_cursor c = bd_cursor(e->data, e->data_len);
	uint64_t n;

	if (e->type == EV_EFI_HANDOFF_TABLES2) {
		uint8_t dl = cur_u8(&c);
		const uint8_t *desc = cur_bytes(&c, dl);
		if (desc) {
			char t[256];
			memcpy(t, desc, dl);
			t[dl] = 0;
			jb_kstr(j, "description", t);
		}
	}
	n = cur_u64(&c);
	if (c.bad)
		return;
	jb_kuint(j, "table_count", n);
	jb_open(j, "tables", '[');
	for (uint64_t i = 0; i < n && i < 64 && cur_left(&c) >= 24; i++) {
		const uint8_t *g = cur_bytes(&c, 16);
		uint64_t addr = cur_u64(&c);
		char gs[37];
		bd_guid_format(g, gs);
		jb_open(j, NULL, '{');
		jb_kstr(j, "guid", gs);
		for (size_t k = 0; k < ARRAY_SIZE(tables); k++)
			if (!strcmp(gs, tables[k].g))
				jb_kstr(j, "name", tables[k].n);
		jb_kuint(j, "address", addr);
		jb_close(j, '}');
	}
	jb_close(j, ']');
}

char *bd_event_decoded_json(const bd_eventlog *log, size_t index)
{
	struct jb j = { .first = true };
	struct bd_event e;
	char desc[4096];

	if (bd_eventlog_event(log, index, &e))
		return NULL;
	bd_event_describe(log, index, desc, sizeof(desc));
	jb_raw(&j, "{", 1);
	jb_kstr(&j, "summary", desc);
	switch (e.type) {
	case EV_EFI_VARIABLE_DRIVER_CONFIG: case EV_EFI_VARIABLE_BOOT: case EV_EFI_VARIABLE_BOOT2:
	case EV_EFI_VARIABLE_AUTHORITY:
		var_json(&j, &e);
		break;
	case EV_EFI_BOOT_SERVICES_APPLICATION: case EV_EFI_BOOT_SERVICES_DRIVER: case EV_EFI_RUNTIME_SERVICES_DRIVER:
		image_json(&j, &e);
		break;
	case EV_EFI_GPT_EVENT: case EV_EFI_GPT_EVENT2:
		gpt_json(&j, log, &e);
		break;
	case EV_EFI_ACTION: case EV_ACTION: case EV_IPL: case EV_POST_CODE: case EV_OMIT_BOOT_DEVICE_EVENTS:
		if (e.data_len != 16 || e.type != EV_POST_CODE) {
			text_json(&j, &e);
			break;
		}
		__attribute__((fallthrough));   /* a {base, length} blob */
	case EV_EFI_PLATFORM_FIRMWARE_BLOB:
		if (e.data_len >= 16) {
			jb_kuint(&j, "base", le64(e.data));
			jb_kuint(&j, "length", le64(e.data + 8));
		}
		break;
	case EV_EFI_PLATFORM_FIRMWARE_BLOB2:
		if (e.data_len >= 1 && e.data_len >= 1u + e.data[0] + 16) {
			char t[256];
			memcpy(t, e.data + 1, e.data[0]);
			t[e.data[0]] = 0;
			jb_kstr(&j, "description", t);
			jb_kuint(&j, "base", le64(e.data + 1 + e.data[0]));
			jb_kuint(&j, "length", le64(e.data + 9 + e.data[0]));
		}
		break;
	case EV_EFI_HANDOFF_TABLES: case EV_EFI_HANDOFF_TABLES2:
		handoff_json(&j, &e);
		break;
	case EV_S_CRTM_VERSION: {
		char v[256];
		ev_crtm_version(e.data, e.data_len, v, sizeof(v));
		jb_kstr(&j, "version", v);
		break;
	}
	case EV_SEPARATOR: case EV_COMPACT_HASH:
		if (e.data_len == 4)
			jb_kuint(&j, "value", le32(e.data));
		break;
	case EV_NO_ACTION:
		if (e.data_len == 17 && !memcmp(e.data, "StartupLocality", 16))
			jb_kuint(&j, "startup_locality", e.data[16]);
		break;
	}
	jb_raw(&j, "}", 1);
	if (j.oom) {
		free(j.s);
		return NULL;
	}
	return j.s;
}
