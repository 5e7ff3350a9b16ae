/* Escrow value handling against the spec's examples (escrow-and-protectors.md §1.1, §1.3, §2.4). */
#include <stdlib.h>

#include "check.h"
#include "escrow_int.h"

int main(void)
{
	struct bd_escrow_key_id id;
	char filter[256], t[32], out[256];
	uint8_t g[16];
	int64_t when = 0;

	/* §1.3: the filter for recovery ID 1f9da098-0cc4-464d-a101-188e70f434a6 */
	CHECK(!bd_escrow_key_id_parse("{1F9DA098-0CC4-464D-A101-188E70F434A6}", &id) && id.full,
	      "full GUID key ID");
	bd_escrow_ldap_filter(&id, filter, sizeof(filter));
	CHECK(strstr(filter, "(msFVE-RecoveryGuid=\\98\\a0\\9d\\1f\\c4\\0c\\4d\\46\\a1\\01\\18\\8e\\70\\f4\\34\\a6)") != NULL,
	      "binary GUID filter in Windows byte order: %.150s", filter);
	CHECK(!bd_escrow_key_id_parse("1f9da098", &id) && !id.full && !strcmp(id.text, "1F9DA098"),
	      "8-digit key ID");
	bd_escrow_ldap_filter(&id, filter, sizeof(filter));
	CHECK(!strcmp(filter, "(&(objectClass=msFVE-RecoveryInformation)(cn=*{1F9DA098-*))"),
	      "key ID filter is a CN substring (§1.6): %.150s", filter);
	uint8_t full[16] = { 0x98, 0xa0, 0x9d, 0x1f, 0xc4, 0x0c, 0x4d, 0x46, 0xa1, 0x01, 0x18, 0x8e, 0x70, 0xf4, 0x34, 0xa6 };
	CHECK(bd_escrow_key_id_match(&id, full), "key ID matches the GUID's first 4 bytes (little-endian Data1)");
	CHECK(bd_escrow_key_id_parse("1F9DA09", &id) == BD_ERR_INVALID, "7 hex digits refused");
	CHECK(bd_escrow_key_id_parse("1F9DA098X", &id) == BD_ERR_INVALID, "trailing junk refused");

	/* §1.1: CN layout, 63 characters */
	const char *cn = "2005-09-30T17:08:23-08:00{063EA4E1-220C-4293-BA01-4754620A96E7}";
	CHECK(!bd_escrow_cn_parse(cn, strlen(cn), t, g) && !strcmp(t, "2005-09-30T17:08:23-08:00") && g[0] == 0xE1 &&
	      g[3] == 0x06, "Microsoft's CN example parses");
	CHECK(bd_escrow_cn_parse(cn, strlen(cn) - 1, t, g) == BD_ERR_CORRUPT, "short CN refused");
	CHECK(!bd_escrow_time_parse("2005-09-30T17:08:23-08:00", 25, &when) && when == 1128128903,
	      "CN time with offset to Unix time (%lld)", (long long)when);
	CHECK(!bd_escrow_time_parse("20191211161702.0Z", 17, &when) && when == 1576081022, "GeneralizedTime");
	CHECK(!bd_escrow_time_parse("2020-06-15T13:45:30.0000000Z", 28, &when) && when == 1592228730,
	      "Graph createdDateTime");

	CHECK(!bd_escrow_parent_dn("CN=2020-03-02T09:41:55\\+01:00{X},CN=PC\\,01,DC=corp", out, sizeof(out)) &&
	      !strcmp(out, "CN=PC\\,01,DC=corp"), "parent DN respects escapes: %.150s", out);
	CHECK(!bd_escrow_dn_escape("2020-03-02T09:41:55+01:00{X}", out, sizeof(out)) &&
	      !strcmp(out, "2020-03-02T09:41:55\\+01:00{X}"), "RDN value escaping: %.150s", out);

	/* backup CN: time in the local zone, UTC written as -00:00 */
	struct bd_escrow_record rec = { .when = 1576080902 };
	memcpy(rec.recovery_guid, full, 16);
	setenv("TZ", "UTC", 1);
	CHECK(!bd_escrow_cn(&rec, out, sizeof(out)) &&
	      !strcmp(out, "2019-12-11T16:15:02-00:00{1F9DA098-0CC4-464D-A101-188E70F434A6}"), "backup CN in UTC: %.150s", out);
	setenv("TZ", "CET-1", 1);
	CHECK(!bd_escrow_cn(&rec, out, sizeof(out)) &&
	      !strcmp(out, "2019-12-11T17:15:02+01:00{1F9DA098-0CC4-464D-A101-188E70F434A6}"), "backup CN east of UTC: %.150s", out);

	/* §2.4: both single-key shapes, volumeType as string, number or name */
	const char *wrapped = "{\"value\":{\"id\":\"b465e4e8-e4e8-b465-e8e4-65b4e8e465b4\",\"createdDateTime\":"
			      "\"2020-06-15T13:45:30.0000000Z\",\"volumeType\":\"1\",\"deviceId\":\"1ab40ab2-32a8-4b00-"
			      "b6b5-ba724e407de9\",\"key\":\"235818-357951-253979-013365-241120-245575-342914-591910\"}}";
	const char *top = "{\"id\":\"6a30ed7b-247b-4d26-86b5-2f405e55ea42\",\"volumeType\":3,"
			  "\"key\":\"235818357951253979013365241120245575342914591910\"}";
	bd_escrow_list *l = bd_escrow_list_new();
	CHECK(!bd_graph_parse_keys(wrapped, strlen(wrapped), l, NULL) && !bd_graph_parse_keys(top, strlen(top), l, NULL) &&
	      bd_escrow_list_count(l) == 2, "Graph single key, wrapped and at top level");
	const struct bd_escrow_entry *e0 = bd_escrow_list_get(l, 0), *e1 = bd_escrow_list_get(l, 1);
	CHECK(e0->has_password && e0->password_valid && !strcmp(e0->volume_type, "operatingSystemVolume") &&
	      !strcmp(e0->computer, "1ab40ab2-32a8-4b00-b6b5-ba724e407de9"), "wrapped key fields");
	CHECK(!strcmp(e1->recovery_password, "235818-357951-253979-013365-241120-245575-342914-591910") &&
	      !strcmp(e1->volume_type, "removableDataVolume"), "password normalised, numeric volumeType");
	bd_escrow_list_free(l);
	l = bd_escrow_list_new();
	CHECK(bd_graph_parse_keys("{\"value\":[{\"key\":\"1\"}]}", 22, l, NULL) == BD_ERR_CORRUPT,
	      "list item without id refused");
	bd_escrow_list_free(l);

	char pw[64];
	CHECK(bd_escrow_password_normalise("235818 357951 253979 013365 241120 245575 342914 591910", 55, pw, sizeof(pw)) &&
	      !strcmp(pw, "235818-357951-253979-013365-241120-245575-342914-591910"), "password with spaces normalised");
	CHECK(!bd_escrow_password_normalise("235818-357951-253979-013365-241120-245575-342914-591911", 55, pw, sizeof(pw)),
	      "block not divisible by 11 flagged");
	CHECK(!bd_escrow_password_normalise("12345", 5, pw, sizeof(pw)) && !strcmp(pw, "12345"), "short value kept as text");
	struct bd_secret *tok = NULL;
	char err[64];
	const char *pending = "{\"error\":\"authorization_pending\",\"error_description\":\"AADSTS70016\"}";
	CHECK(bd_graph_parse_token(pending, strlen(pending), &tok, err, sizeof(err)) == BD_ERR_AUTH &&
	      !strcmp(err, "authorization_pending") && !tok, "token reply: pending");
	CHECK_DONE();
}
