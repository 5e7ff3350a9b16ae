/* libFuzzer harness: what directories send back. The first byte picks the parser:
 * 0 Graph recovery-key JSON (list page or single key), 1 OAuth token reply, 2 device-code reply,
 * 3 Graph/OAuth error body, 4 one LDAP entry (DN, cn, password, recovery GUID, volume GUID, date
 * separated by 0xFF bytes), 5 key ID text, CN and date text. Seeds: fuzz/corpus/escrow. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escrow_int.h"

static void ldap_entry(const uint8_t *p, size_t n)
{
	const uint8_t *f[6] = { 0 };
	size_t len[6] = { 0 }, k = 0, start = 0;
	char dn[600];
	struct bd_escrow_entry e;

	for (size_t i = 0; i <= n && k < 6; i++) {
		if (i == n || p[i] == 0xFF) {
			f[k] = p + start;
			len[k++] = i - start;
			start = i + 1;
		}
	}
	size_t dl = len[0] < sizeof(dn) - 1 ? len[0] : sizeof(dn) - 1;
	memcpy(dn, f[0], dl);
	dn[dl] = 0;
	struct bd_ldap_values v = {
		.dn = dn, .cn = f[1], .cn_len = len[1], .password = f[2], .password_len = len[2],
		.rguid = f[3], .rguid_len = len[3], .vguid = f[4], .vguid_len = len[4],
		.when = f[5], .when_len = len[5], .key_package_len = n,
	};
	if (!bd_escrow_entry_from_ldap(&v, &e)) {
		char filter[256];
		struct bd_escrow_key_id id = { .full = 1 };
		memcpy(id.guid, e.recovery_guid, 16);
		bd_escrow_ldap_filter(&id, filter, sizeof(filter));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 1 << 16)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	char *text = malloc(n + 1);

	if (!text)
		return 0;
	memcpy(text, p, n);
	text[n] = 0;
	switch (data[0] % 6) {
	case 0: {
		bd_escrow_list *l = bd_escrow_list_new();
		char *next = NULL;
		if (l) {
			bd_graph_parse_keys(text, n, l, &next);
			bd_escrow_list_sort(l);
			for (size_t i = 0; i < bd_escrow_list_count(l); i++)
				(void)bd_escrow_list_get(l, i)->recovery_password[0];
		}
		free(next);
		bd_escrow_list_free(l);
		break;
	}
	case 1: {
		struct bd_secret *t = NULL;
		char err[64];
		bd_graph_parse_token(text, n, &t, err, sizeof(err));
		bd_secret_free(t);
		break;
	}
	case 2: {
		struct bd_device_code dc;
		bd_graph_parse_device_code(text, n, &dc);
		break;
	}
	case 3: {
		char out[256];
		bd_graph_parse_error(text, n, out, sizeof(out));
		break;
	}
	case 4:
		ldap_entry(p, n);
		break;
	case 5: {
		struct bd_escrow_key_id id;
		char t[32], parent[256], esc[256], pw[64];
		uint8_t g[16];
		int64_t when;
		if (!bd_escrow_key_id_parse(text, &id)) {
			char filter[256];
			bd_escrow_ldap_filter(&id, filter, sizeof(filter));
		}
		bd_escrow_cn_parse(text, strlen(text), t, g);
		bd_escrow_time_parse(text, strlen(text), &when);
		bd_escrow_parent_dn(text, parent, sizeof(parent));
		bd_escrow_dn_escape(text, esc, sizeof(esc));
		bd_escrow_password_normalise(text, strlen(text), pw, sizeof(pw));
		break;
	}
	}
	free(text);
	return 0;
}
