/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Why did this machine fall into BitLocker recovery? Compare the replay of a
 * good boot with the recovery boot on the PCRs the TPM protector is bound to,
 * align the events of each differing PCR, and name the cause with the rules of
 * diagnose.md §5; add the causes that need no diff (unlock flags, debugging,
 * Secure Boot off, protector set).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "eventlog.h"

#define PROFILE_UEFI_SB  0x00000880u   /* PCR 7, 11 */
#define PROFILE_UEFI     0x00000815u   /* PCR 0, 2, 4, 11 */
#define MAX_ALIGN_CELLS  (1u << 20)    /* LCS table size limit; longer event lists are compared by position */

static const struct {
	const char *id, *title, *advice;
} causes[BD_CAUSE__COUNT] = {
	[BD_CAUSE_UNEXPLAINED] = { "unexplained-pcr-change",
		"A bound PCR changed for a reason no rule recognises",
		"Compare the listed events with 'bdkit eventlog show' on both logs; after recovery, "
		"re-seal the TPM protector (manage-bde -protectors -disable C: -RebootCount 1, then reboot)." },
	[BD_CAUSE_FIRMWARE_UPDATE] = { "firmware-update",
		"BIOS/UEFI firmware upgrade (PCR 0: S-CRTM version or firmware code changed)",
		"Suspend BitLocker before firmware updates (Suspend-BitLocker -RebootCount 1 / manage-bde "
		"-protectors -disable C:); after this recovery, reboot once more so BitLocker re-seals to the new firmware." },
	[BD_CAUSE_PLATFORM_CONFIG] = { "platform-configuration",
		"Firmware settings or hardware configuration changed (PCR 1)",
		"Avoid binding PCR 1; suspend BitLocker before changing BIOS settings or hardware." },
	[BD_CAUSE_BOOT_ORDER] = { "boot-order",
		"Boot order changed, or the firmware tried other boot devices before the Windows Boot Manager",
		"Put the Windows Boot Manager first in the boot order (or use PCR 7 binding, which ignores boot "
		"order); suspend BitLocker before changing boot settings." },
	[BD_CAUSE_BOOT_MEDIA] = { "boot-media",
		"Bootable CD/DVD, USB device or network boot attempted before the hard disk",
		"Remove the media or disable network/USB boot before the internal disk, or put the Windows Boot "
		"Manager first in the boot order." },
	[BD_CAUSE_OPTION_ROM] = { "option-rom",
		"Add-in card, docking station or option ROM added, removed or updated (PCR 2/3)",
		"Suspend BitLocker before docking changes or adding/updating add-in cards and their firmware." },
	[BD_CAUSE_BOOT_MANAGER] = { "boot-manager",
		"Boot manager changed or replaced (PCR 4: a new Authenticode hash for the boot application)",
		"Expected after a Windows boot manager update or a dual-boot loader install: suspend BitLocker "
		"before such updates; check the binary if no update was made." },
	[BD_CAUSE_PARTITION_TABLE] = { "partition-table",
		"Partition table changed (PCR 5: GPT or MBR partition data)",
		"Suspend BitLocker before creating, deleting or resizing partitions." },
	[BD_CAUSE_SECURE_BOOT_DISABLED] = { "secure-boot-state",
		"Secure Boot disabled or enabled (PCR 7: SecureBoot variable changed)",
		"Re-enable Secure Boot in the firmware setup (or suspend BitLocker before changing it)." },
	[BD_CAUSE_SECURE_BOOT_POLICY] = { "secure-boot-policy",
		"Secure Boot policy changed (PCR 7: PK/KEK/db/dbx update, or firmware debug mode)",
		"A Secure Boot database update (e.g. a dbx revocation push) changes PCR 7: suspend BitLocker for "
		"one reboot before applying it; after recovery, reboot once to re-seal." },
	[BD_CAUSE_SECURE_BOOT_AUTHORITY] = { "secure-boot-authority",
		"Code signed by a different Secure Boot authority ran (PCR 7: new boot loader, option ROM or boot media)",
		"Find which binary brought the new certificate (boot media, third-party loader, option ROM); "
		"suspend BitLocker before installing such components." },
	[BD_CAUSE_BITLOCKER_STATE] = { "bitlocker-access-control",
		"BitLocker access-control measurement (PCR 11) differs",
		"Usually follows another change; re-seal the TPM protector after recovery." },
	[BD_CAUSE_DEBUG_POLICY] = { "debug-policy",
		"Boot debugging, kernel debugging or test signing enabled, or code integrity disabled",
		"Turn debugging/test signing off (bcdedit /set {bootmgr} bootdebug off; bcdedit /set testsigning off; "
		"bcdedit /debug off) or suspend BitLocker while debugging." },
	[BD_CAUSE_PIN_LOCKOUT] = { "pin-lockout",
		"PIN entered wrongly too often (TPM anti-hammering lockout) or PIN forgotten",
		"Unlock with the recovery password, then reset the PIN (manage-bde -changepin C:); the TPM lockout "
		"clears with time or with tpm.msc 'Reset lockout'." },
	[BD_CAUSE_NO_PCR_CHANGE] = { "no-pcr-change",
		"Recovery without any measured change: TPM cleared or reset, TPM lockout, Windows sign-in lockout, "
		"boot configuration data change, or recovery requested by the user",
		"Check the TPM state (tpm.msc: cleared/owner changed) and the BitLocker-Driver events 24599/24600/24603 "
		"in System.evtx; after recovery, manage-bde -protectors -add C: -tpm re-creates the TPM protector if the "
		"TPM was cleared." },
	[BD_CAUSE_TPM_PROTECTOR_MISSING] = { "tpm-protector-missing",
		"The volume has no TPM protector: it cannot unlock automatically",
		"Add a TPM protector after unlocking (manage-bde -protectors -add C: -tpm)." },
	[BD_CAUSE_TPM_FAILURE] = { "tpm-failure",
		"The TPM failed during boot (SIPA TPM failure record)",
		"Check the TPM (tpm.msc, firmware TPM settings); update the TPM firmware with BitLocker suspended." },
	[BD_CAUSE_STARTUP_KEY] = { "startup-key",
		"USB startup key missing or USB pre-boot support disabled",
		"Insert the startup key (.BEK) at boot, or re-enable USB support in the firmware setup." },
	[BD_CAUSE_DIFFERENT_PLATFORM] = { "different-platform",
		"The logs come from different machines (drive moved to a new computer, or motherboard/TPM replaced)",
		"If the drive was moved on purpose, unlock with the recovery password and re-create the TPM "
		"protector on the new machine; otherwise compare logs of the same machine." },
	[BD_CAUSE_FIRMWARE_ERROR] = { "firmware-error",
		"The firmware logged a measurement error (error separator)",
		"Non-compliant or failing firmware: update the firmware (with BitLocker suspended) and check the "
		"vendor's known issues." },
};

const char *bd_cause_id(int c) { return c >= 0 && c < BD_CAUSE__COUNT ? causes[c].id : "unknown"; }
const char *bd_cause_title(int c) { return c >= 0 && c < BD_CAUSE__COUNT ? causes[c].title : ""; }
const char *bd_cause_advice(int c) { return c >= 0 && c < BD_CAUSE__COUNT ? causes[c].advice : ""; }

const char *bd_confidence_name(int c)
{
	return c >= BD_CONF_HIGH ? "high" : c == BD_CONF_MEDIUM ? "medium" : "low";
}

/* ---- findings ---- */

struct diag {
	struct bd_diagnosis *d;
	size_t cap;
	const bd_eventlog *good, *bad;
	struct bd_eventlog_info gi, bi;
	uint16_t alg;
};

static int add_finding(struct diag *g, int cause, int conf, unsigned pcr, int bound, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static int add_finding(struct diag *g, int cause, int conf, unsigned pcr, int bound, const char *fmt, ...)
{
	struct bd_diagnosis *d = g->d;
	struct bd_finding *f = NULL;
	va_list ap;

	for (size_t i = 0; i < d->n_findings; i++)
		if (d->findings[i].cause == cause && d->findings[i].bound == bound)
			f = &d->findings[i];
	if (!f) {
		if (d->n_findings == g->cap) {
			size_t ncap = g->cap ? g->cap * 2 : 8;
			void *p = realloc(d->findings, ncap * sizeof(*f));
			if (!p)
				return bd_err(BD_ERR_NOMEM, "out of memory");
			d->findings = p;
			g->cap = ncap;
		}
		f = &d->findings[d->n_findings++];
		memset(f, 0, sizeof(*f));
		f->cause = cause;
		f->bound = bound;
	}
	f->confidence = MAX(f->confidence, conf);
	if (pcr < BD_PCR_COUNT)
		f->pcrs |= 1u << pcr;
	if (fmt && f->n_evidence < BD_FINDING_MAX_EVIDENCE) {
		va_start(ap, fmt);
		vsnprintf(f->evidence[f->n_evidence], sizeof(f->evidence[0]), fmt, ap);
		va_end(ap);
		/* the same line twice adds nothing */
		for (size_t i = 0; i < f->n_evidence; i++)
			if (!strcmp(f->evidence[i], f->evidence[f->n_evidence]))
				return 0;
		f->n_evidence++;
	}
	return 0;
}

/* ---- per-PCR event alignment ---- */

struct item {
	size_t idx;
	uint32_t type;
	char key[300];
	const uint8_t *digest;
	size_t dlen;
};

static void event_key(const bd_eventlog *log, const struct bd_event *e, char *key, size_t keylen)
{
	struct ev_var v;
	char path[256];
	int medium;

	switch (e->type) {
	case EV_EFI_VARIABLE_DRIVER_CONFIG: case EV_EFI_VARIABLE_BOOT: case EV_EFI_VARIABLE_BOOT2:
	case EV_EFI_VARIABLE_AUTHORITY:
		if (!ev_parse_var(e->data, e->data_len, &v)) {
			if (e->type == EV_EFI_VARIABLE_AUTHORITY)
				snprintf(key, keylen, "%x:%s:%zu", e->type, v.name, e->data_len);
			else
				snprintf(key, keylen, "%x:%s", e->type, v.name);
			return;
		}
		break;
	case EV_EFI_BOOT_SERVICES_APPLICATION: case EV_EFI_BOOT_SERVICES_DRIVER:
	case EV_EFI_RUNTIME_SERVICES_DRIVER:
		if (!ev_image_path(e->data, e->data_len, path, sizeof(path), &medium)) {
			/* the same file on the same kind of medium is the same boot component,
			 * even when a partition GUID in its device path differs */
			const char *file = strstr(path, "File(");
			snprintf(key, keylen, "%x:%d:%s", e->type, medium, file ? file : path);
			return;
		}
		break;
	case EV_EFI_ACTION: case EV_ACTION: case EV_POST_CODE: case EV_SEPARATOR:
		snprintf(key, keylen, "%x:%.*s", e->type, (int)MIN(e->data_len, (size_t)100), (const char *)e->data);
		for (char *p = key; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '.';
		return;
	}
	(void)log;
	snprintf(key, keylen, "%x", e->type);
}

static size_t collect(const bd_eventlog *log, uint16_t alg, unsigned pcr, struct item **out)
{
	struct bd_eventlog_info in;
	struct item *it = NULL;
	size_t n = 0;

	bd_eventlog_info(log, &in);
	for (size_t i = 0; i < in.n_events; i++) {
		struct bd_event e;
		if (bd_eventlog_event(log, i, &e) || !e.measured || e.pcr != pcr)
			continue;
		void *p = realloc(it, (n + 1) * sizeof(*it));
		if (!p)
			break;
		it = p;
		it[n].idx = i;
		it[n].type = e.type;
		event_key(log, &e, it[n].key, sizeof(it[n].key));
		it[n].digest = NULL;
		it[n].dlen = 0;
		for (size_t d = 0; d < e.n_digests; d++)
			if (e.digests[d].alg == alg) {
				it[n].digest = e.digests[d].value;
				it[n].dlen = e.digests[d].size;
			}
		n++;
	}
	*out = it;
	return n;
}

static bool same_digest(const struct item *a, const struct item *b)
{
	return a->dlen == b->dlen && (!a->dlen || !memcmp(a->digest, b->digest, a->dlen));
}

static void short_hex(const uint8_t *p, size_t n, char *out)
{
	size_t k = MIN(n, (size_t)8);

	for (size_t i = 0; i < k; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	strcpy(out + 2 * k, n > k ? "..." : "");
}

static bool var_named(const bd_eventlog *log, size_t idx, const char *name)
{
	struct bd_event e;
	struct ev_var v;

	return !bd_eventlog_event(log, idx, &e) && !ev_parse_var(e.data, e.data_len, &v) && !strcmp(v.name, name);
}

static bool var_is_boot(const bd_eventlog *log, size_t idx)
{
	struct bd_event e;
	struct ev_var v;

	return !bd_eventlog_event(log, idx, &e) && !ev_parse_var(e.data, e.data_len, &v) &&
	       (!strcmp(v.name, "BootOrder") || (!strncmp(v.name, "Boot", 4) && strlen(v.name) == 8) ||
		!strcmp(v.name, "BootNext"));
}

static bool is_sb_policy_var(const bd_eventlog *log, size_t idx)
{
	static const char *names[] = { "PK", "KEK", "db", "dbx", "dbt", "dbr", "DeployedMode", "AuditMode",
				       "SetupMode" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (var_named(log, idx, names[i]))
			return true;
	return false;
}

enum op { OP_CHANGED, OP_ADDED, OP_REMOVED };

static bool sipa_debug_type(uint32_t t)
{
	return t == SIPA_BOOTDEBUGGING || t == SIPA_OSKERNELDEBUG || t == SIPA_TESTSIGNING || t == SIPA_CODEINTEGRITY;
}

/* Two Windows EV_EVENT_TAG events differ: name the SIPA values that changed. */
static int diff_sipa(struct diag *g, unsigned pcr, int bound, const struct item *gi, const struct item *bi)
{
	struct bd_event ge, be;
	int shown = 0, r = 0;

	bd_eventlog_event(g->good, gi->idx, &ge);
	bd_eventlog_event(g->bad, bi->idx, &be);
	if (!ge.n_sipa || !be.n_sipa)
		return -1;
	if (ge.n_sipa != be.n_sipa)
		return add_finding(g, BD_CAUSE_UNEXPLAINED, BD_CONF_LOW, pcr, bound,
				   "PCR %u: Windows SIPA container with %zu events -> %zu events (boot modules or "
				   "settings added/removed)", pcr, ge.n_sipa, be.n_sipa);
	bool volatile_only = true;
	for (size_t j = 0; j < ge.n_sipa && shown < 3 && !r; j++) {
		struct bd_sipa_event a, b;
		char da[128], db[128];
		bd_event_sipa(g->good, gi->idx, j, &a);
		bd_event_sipa(g->bad, bi->idx, j, &b);
		if ((a.type & SIPA_AGGREGATION) && a.type == b.type)
			continue;
		if (a.type == b.type && a.len == b.len && !memcmp(a.data, b.data, a.len))
			continue;
		/* values that differ on every boot, and the unlock method (the recovery itself) */
		if (a.type == b.type && (a.type == SIPA_BOOTCOUNTER || a.type == SIPA_EVENTCOUNTER ||
					 a.type == SIPA_COUNTERID || a.type == SIPA_BITLOCKER_UNLOCK))
			continue;
		volatile_only = false;
		bd_sipa_describe(&a, da, sizeof(da));
		bd_sipa_describe(&b, db, sizeof(db));
		shown++;
		r = add_finding(g, sipa_debug_type(b.type) ? BD_CAUSE_DEBUG_POLICY : BD_CAUSE_UNEXPLAINED,
				sipa_debug_type(b.type) ? BD_CONF_HIGH : BD_CONF_LOW, pcr, bound,
				"PCR %u: SIPA %s %s -> %s", pcr, b.name ? b.name : "event", da, db);
	}
	if (volatile_only)
		return 0;
	return shown || r ? r : -1;
}

/* Two GPT events differ: name the partitions whose type or extent changed. */
static int diff_gpt(struct diag *g, unsigned pcr, int bound, const struct item *gi, const struct item *bi)
{
	struct bd_event ge, be;
	int shown = 0, r = 0;

	bd_eventlog_event(g->good, gi->idx, &ge);
	bd_eventlog_event(g->bad, bi->idx, &be);
	if (ge.data_len < 100 || be.data_len < 100)
		return 0;
	uint32_t esz_a = le32(ge.data + 84), esz_b = le32(be.data + 84);
	uint64_t na = le64(ge.data + 92), nb = le64(be.data + 92);
	if (esz_a < 56 || esz_b < 56)
		return 0;
	if (na != nb)
		r = add_finding(g, BD_CAUSE_PARTITION_TABLE, BD_CONF_HIGH, pcr, bound,
				"PCR %u: GPT lists %" PRIu64 " partition(s) -> %" PRIu64, pcr, na, nb);
	for (uint64_t i = 0; !r && i < MIN(na, nb) && shown < 3; i++) {
		size_t oa = 100 + (size_t)i * esz_a, ob = 100 + (size_t)i * esz_b;
		if (oa > ge.data_len || ge.data_len - oa < 56 || ob > be.data_len || be.data_len - ob < 56)
			break;
		const uint8_t *a = ge.data + oa, *b = be.data + ob;
		if (!memcmp(a, b, 16) && !memcmp(a + 32, b + 32, 16))
			continue;
		shown++;
		r = add_finding(g, BD_CAUSE_PARTITION_TABLE, BD_CONF_HIGH, pcr, bound,
				"PCR %u: partition %" PRIu64 ": LBA %" PRIu64 "-%" PRIu64 " -> %" PRIu64 "-%" PRIu64 "%s",
				pcr, i + 1, le64(a + 32), le64(a + 40), le64(b + 32), le64(b + 40),
				memcmp(a, b, 16) ? " (type changed)" : "");
	}
	return r;
}

/* Classify one difference in PCR pcr. gi/bi: event indexes in the good/bad log (or unused). */
static int classify(struct diag *g, unsigned pcr, int bound, enum op op, const struct item *gi, const struct item *bi)
{
	const struct item *it = op == OP_REMOVED ? gi : bi;
	const bd_eventlog *log = op == OP_REMOVED ? g->good : g->bad;
	char a[256] = "", b[256] = "", ha[24] = "", hb[24] = "";
	char what[700];
	const char *tn = bd_event_type_name(it->type);
	int cause = BD_CAUSE_UNEXPLAINED, conf = BD_CONF_LOW;
	struct bd_event e;

	tn = tn ? tn : "event";
	if (gi)
		bd_event_describe(g->good, gi->idx, a, sizeof(a));
	if (bi)
		bd_event_describe(g->bad, bi->idx, b, sizeof(b));
	/* keep both sides of a change readable within one evidence line */
	if (strlen(a) > 110)
		strcpy(a + 104, " [...]");
	if (strlen(b) > 110)
		strcpy(b + 104, " [...]");
	if (op == OP_CHANGED) {
		if (gi->dlen)
			short_hex(gi->digest, gi->dlen, ha);
		if (bi->dlen)
			short_hex(bi->digest, bi->dlen, hb);
		if (!strcmp(a, b))
			snprintf(what, sizeof(what), "PCR %u: %s %s: digest %s -> %s", pcr, tn, a, ha, hb);
		else
			snprintf(what, sizeof(what), "PCR %u: %s changed: %s -> %s", pcr, tn, a, b);
	} else {
		snprintf(what, sizeof(what), "PCR %u: %s %s: %s", pcr, tn, op == OP_ADDED ? "added" : "removed",
			 op == OP_ADDED ? b : a);
	}
	bd_eventlog_event(log, it->idx, &e);
	if (op == OP_CHANGED && it->type == EV_EVENT_TAG) {
		int r = diff_sipa(g, pcr, bound, gi, bi);
		if (r >= 0)
			return r;
	}

	switch (pcr) {
	case 0:
		cause = BD_CAUSE_FIRMWARE_UPDATE;
		conf = it->type == EV_S_CRTM_VERSION ? BD_CONF_HIGH : BD_CONF_MEDIUM;
		break;
	case 1:
		if ((it->type == EV_EFI_VARIABLE_BOOT || it->type == EV_EFI_VARIABLE_BOOT2) && var_is_boot(log, it->idx)) {
			cause = BD_CAUSE_BOOT_ORDER;
			conf = var_named(log, it->idx, "BootOrder") ? BD_CONF_HIGH : BD_CONF_MEDIUM;
		} else if (it->type == EV_CPU_MICROCODE) {
			cause = BD_CAUSE_FIRMWARE_UPDATE;
			conf = BD_CONF_MEDIUM;
		} else {
			cause = BD_CAUSE_PLATFORM_CONFIG;
			conf = BD_CONF_MEDIUM;
		}
		break;
	case 2: case 3:
		cause = BD_CAUSE_OPTION_ROM;
		conf = (it->type == EV_EFI_BOOT_SERVICES_DRIVER || it->type == EV_EFI_RUNTIME_SERVICES_DRIVER ||
			it->type == EV_EFI_PLATFORM_FIRMWARE_BLOB || it->type == EV_EFI_PLATFORM_FIRMWARE_BLOB2)
			? BD_CONF_HIGH : BD_CONF_MEDIUM;
		break;
	case 4:
		if (it->type == EV_EFI_BOOT_SERVICES_APPLICATION || it->type == EV_EFI_BOOT_SERVICES_DRIVER ||
		    it->type == EV_EFI_RUNTIME_SERVICES_DRIVER) {
			char path[256];
			int medium = MEDIUM_UNKNOWN;
			ev_image_path(e.data, e.data_len, path, sizeof(path), &medium);
			if (op == OP_CHANGED) {
				cause = BD_CAUSE_BOOT_MANAGER;
				conf = BD_CONF_HIGH;
			} else if (medium == MEDIUM_USB || medium == MEDIUM_CDROM || medium == MEDIUM_NETWORK) {
				cause = BD_CAUSE_BOOT_MEDIA;
				conf = BD_CONF_HIGH;
			} else {
				cause = BD_CAUSE_BOOT_ORDER;
				conf = BD_CONF_MEDIUM;
			}
		} else if (it->type == EV_EFI_ACTION || it->type == EV_ACTION ||
			   it->type == EV_OMIT_BOOT_DEVICE_EVENTS) {
			cause = BD_CAUSE_BOOT_ORDER;
			conf = BD_CONF_MEDIUM;
		} else if (it->type == EV_IPL) {
			cause = BD_CAUSE_BOOT_MANAGER;
			conf = BD_CONF_MEDIUM;
		}
		break;
	case 5:
		if (it->type == EV_EFI_GPT_EVENT || it->type == EV_EFI_GPT_EVENT2 || it->type == EV_IPL_PARTITION_DATA) {
			cause = BD_CAUSE_PARTITION_TABLE;
			conf = BD_CONF_HIGH;
			if (op == OP_CHANGED && it->type != EV_IPL_PARTITION_DATA) {
				int r = add_finding(g, cause, conf, pcr, bound, "%s", what);
				return r ? r : diff_gpt(g, pcr, bound, gi, bi);
			}
		} else if (it->type == EV_EFI_ACTION || it->type == EV_EFI_VARIABLE_BOOT ||
			   it->type == EV_EFI_VARIABLE_BOOT2) {
			cause = BD_CAUSE_BOOT_ORDER;
			conf = BD_CONF_MEDIUM;
		}
		break;
	case 7:
		if (it->type == EV_EFI_VARIABLE_DRIVER_CONFIG && var_named(log, it->idx, "SecureBoot")) {
			cause = BD_CAUSE_SECURE_BOOT_DISABLED;
			conf = BD_CONF_HIGH;
		} else if (it->type == EV_EFI_VARIABLE_DRIVER_CONFIG && is_sb_policy_var(log, it->idx)) {
			cause = BD_CAUSE_SECURE_BOOT_POLICY;
			conf = BD_CONF_HIGH;
		} else if (it->type == EV_EFI_ACTION) {
			cause = BD_CAUSE_SECURE_BOOT_POLICY;
			conf = BD_CONF_HIGH;
		} else if (it->type == EV_EFI_VARIABLE_AUTHORITY) {
			cause = BD_CAUSE_SECURE_BOOT_AUTHORITY;
			conf = BD_CONF_MEDIUM;
		} else if (it->type == EV_EFI_VARIABLE_DRIVER_CONFIG) {
			cause = BD_CAUSE_SECURE_BOOT_POLICY;
			conf = BD_CONF_MEDIUM;
		}
		break;
	case 8: case 9: case 10:
		cause = BD_CAUSE_BOOT_MANAGER;
		conf = BD_CONF_MEDIUM;
		break;
	case 11:
		cause = BD_CAUSE_BITLOCKER_STATE;
		conf = BD_CONF_LOW;
		break;
	}
	return add_finding(g, cause, conf, pcr, bound, "%s", what);
}

/* Align the events of one PCR (LCS over keys) and classify every difference. */
static int diff_pcr(struct diag *g, unsigned pcr, int bound)
{
	struct item *ga = NULL, *ba = NULL;
	size_t ng = collect(g->good, g->alg, pcr, &ga), nb = collect(g->bad, g->alg, pcr, &ba);
	size_t ops = 0;
	uint16_t *lcs = NULL;
	int r = 0;

	if ((ng + 1) * (nb + 1) <= MAX_ALIGN_CELLS)
		lcs = calloc((ng + 1) * (nb + 1), sizeof(*lcs));
	if (lcs) {
#define L(i, j) lcs[(i) * (nb + 1) + (j)]
		for (size_t i = ng; i-- > 0;)
			for (size_t j = nb; j-- > 0;)
				L(i, j) = !strcmp(ga[i].key, ba[j].key) ? (uint16_t)(L(i + 1, j + 1) + 1)
					: MAX(L(i + 1, j), L(i, j + 1));
		size_t i = 0, j = 0;
		while (!r && (i < ng || j < nb)) {
			if (i < ng && j < nb && !strcmp(ga[i].key, ba[j].key)) {
				if (!same_digest(&ga[i], &ba[j]))
					ops++, r = classify(g, pcr, bound, OP_CHANGED, &ga[i], &ba[j]);
				i++, j++;
			} else if (j < nb && (i == ng || L(i, j + 1) >= L(i + 1, j))) {
				ops++, r = classify(g, pcr, bound, OP_ADDED, NULL, &ba[j++]);
			} else {
				ops++, r = classify(g, pcr, bound, OP_REMOVED, &ga[i++], NULL);
			}
		}
#undef L
	} else {
		/* too long to align: compare by position */
		for (size_t i = 0; !r && i < MAX(ng, nb); i++) {
			if (i < ng && i < nb && !strcmp(ga[i].key, ba[i].key) && same_digest(&ga[i], &ba[i]))
				continue;
			ops++;
			if (i < ng && i < nb)
				r = classify(g, pcr, bound, OP_CHANGED, &ga[i], &ba[i]);
			else if (i < nb)
				r = classify(g, pcr, bound, OP_ADDED, NULL, &ba[i]);
			else
				r = classify(g, pcr, bound, OP_REMOVED, &ga[i], NULL);
		}
	}
	if (!r && !ops) {
		/* same events, different value: the start value differs */
		if (pcr == 0 && g->gi.startup_locality != g->bi.startup_locality)
			r = add_finding(g, BD_CAUSE_FIRMWARE_UPDATE, BD_CONF_LOW, pcr, bound,
					"PCR 0: start locality %d -> %d (StartupLocality event)",
					g->gi.startup_locality, g->bi.startup_locality);
		else if (!ng && !nb)
			r = add_finding(g, BD_CAUSE_UNEXPLAINED, BD_CONF_LOW, pcr, bound,
					"PCR %u differs but neither log records an event for it", pcr);
	}
	free(lcs);
	free(ga);
	free(ba);
	return r;
}

/* ---- same machine? ---- */

static bool var_data(const bd_eventlog *log, const char *name, const uint8_t **data, size_t *len)
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
		return true;
	}
	return false;
}

/* The processor signature from "Load microcode revision X for processor Y" style text, or "". */
static void cpu_id(const bd_eventlog *log, char *out, size_t outlen)
{
	struct bd_eventlog_info in;

	out[0] = 0;
	bd_eventlog_info(log, &in);
	for (size_t i = 0; i < in.n_events; i++) {
		struct bd_event e;
		char text[256];
		const char *p;
		if (bd_eventlog_event(log, i, &e) || e.type != EV_CPU_MICROCODE)
			continue;
		snprintf(text, sizeof(text), "%.*s", (int)MIN(e.data_len, (size_t)255), (const char *)e.data);
		if ((p = strstr(text, "processor ")))
			snprintf(out, outlen, "%s", p + 10);
		return;
	}
}

static bool gpt_guid(const bd_eventlog *log, uint8_t guid[16])
{
	struct bd_eventlog_info in;

	bd_eventlog_info(log, &in);
	for (size_t i = 0; i < in.n_events; i++) {
		struct bd_event e;
		uint64_t n;
		if (!bd_eventlog_event(log, i, &e) && e.type == EV_EFI_GPT_EVENT && !ev_gpt(e.data, e.data_len, guid, &n))
			return true;
	}
	return false;
}

static int check_platform(struct diag *g)
{
	const uint8_t *pa, *pb;
	size_t la, lb;
	char ca[64], cb[64];
	uint8_t ga[16], gb[16];
	int score = 0;
	char why[4][300];
	int nwhy = 0;

	if (g->gi.crypto_agile != g->bi.crypto_agile || g->gi.n_banks != g->bi.n_banks) {
		score += 2;
		snprintf(why[nwhy++], sizeof(why[0]), "log format differs (%s, %zu bank(s) vs %s, %zu bank(s))",
			 g->gi.crypto_agile ? "crypto-agile" : "legacy", g->gi.n_banks,
			 g->bi.crypto_agile ? "crypto-agile" : "legacy", g->bi.n_banks);
	}
	if (var_data(g->good, "PK", &pa, &la) && var_data(g->bad, "PK", &pb, &lb) &&
	    (la != lb || memcmp(pa, pb, la))) {
		score += 2;
		snprintf(why[nwhy++], sizeof(why[0]), "Secure Boot platform key (PK) differs");
	}
	if (g->gi.crtm_version[0] && g->bi.crtm_version[0] && strcmp(g->gi.crtm_version, g->bi.crtm_version)) {
		score += 1;
		if (nwhy < 4)
			snprintf(why[nwhy++], sizeof(why[0]), "firmware \"%s\" vs \"%s\"", g->gi.crtm_version,
				 g->bi.crtm_version);
	}
	cpu_id(g->good, ca, sizeof(ca));
	cpu_id(g->bad, cb, sizeof(cb));
	if (ca[0] && cb[0] && strcmp(ca, cb)) {
		score += 2;
		if (nwhy < 4)
			snprintf(why[nwhy++], sizeof(why[0]), "processor %s vs %s", ca, cb);
	}
	if (gpt_guid(g->good, ga) && gpt_guid(g->bad, gb) && memcmp(ga, gb, 16)) {
		score += 1;
		if (nwhy < 4)
			snprintf(why[nwhy++], sizeof(why[0]), "boot disk GPT GUID differs");
	}
	if (score < 3)
		return 0;
	g->d->different_platform = 1;
	for (int i = 0; i < nwhy; i++) {
		int r = add_finding(g, BD_CAUSE_DIFFERENT_PLATFORM, BD_CONF_HIGH, BD_PCR_COUNT, 1, "%s", why[i]);
		if (r)
			return r;
	}
	return 0;
}

/* ---- causes that need no diff ---- */

static int flag_rules(struct diag *g)
{
	const struct bd_eventlog_info *b = &g->bi, *gd = g->good ? &g->gi : NULL;
	struct {
		int bad, good;
		const char *name;
		int on;      /* the value that is a problem */
	} checks[] = {
		{ b->boot_debugging, gd ? gd->boot_debugging : -1, "boot debugging", 1 },
		{ b->kernel_debugging, gd ? gd->kernel_debugging : -1, "kernel debugging", 1 },
		{ b->test_signing, gd ? gd->test_signing : -1, "test signing", 1 },
		{ b->code_integrity, gd ? gd->code_integrity : -1, "code integrity", 0 },
	};
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(checks); i++) {
		if (checks[i].bad != checks[i].on || checks[i].good == checks[i].on)
			continue;
		r = add_finding(g, BD_CAUSE_DEBUG_POLICY, checks[i].good >= 0 ? BD_CONF_HIGH : BD_CONF_MEDIUM,
				BD_PCR_COUNT, 1, "SIPA (PCR 12/13): %s %s in the bad boot%s", checks[i].name,
				checks[i].on ? "ON" : "OFF",
				checks[i].good >= 0 ? (checks[i].on ? " (off in the good boot)" : " (on in the good boot)") : "");
		if (r)
			return r;
	}
	if (b->tpm_failure && (!gd || !gd->tpm_failure) &&
	    (r = add_finding(g, BD_CAUSE_TPM_FAILURE, BD_CONF_HIGH, BD_PCR_COUNT, 1,
			     "SIPAERROR_TPMFAILURE record in the bad boot")))
		return r;
	if (b->error_separators > (gd ? gd->error_separators : 0) &&
	    (r = add_finding(g, BD_CAUSE_FIRMWARE_ERROR, BD_CONF_MEDIUM, BD_PCR_COUNT, 1,
			     "%d error separator(s) in the bad boot", b->error_separators)))
		return r;
	if (b->secure_boot == 0 && (!gd || gd->secure_boot != 0) && (g->d->bound_pcrs & (1u << 7))) {
		bool dup = false;
		for (size_t i = 0; i < g->d->n_findings; i++)
			dup |= g->d->findings[i].cause == BD_CAUSE_SECURE_BOOT_DISABLED;
		if (!dup && (r = add_finding(g, BD_CAUSE_SECURE_BOOT_DISABLED, gd ? BD_CONF_HIGH : BD_CONF_MEDIUM, 7, 1,
					     "Secure Boot is off in the bad boot and the protector is bound to PCR 7")))
			return r;
	}
	return 0;
}

static int recovery_rules(struct diag *g, const struct bd_diag_opts *o, bool bound_change)
{
	const struct bd_eventlog_info *b = &g->bi;
	uint32_t good_flags = g->good && g->gi.has_unlock ? g->gi.unlock_flags : 0;
	bool recovery = b->has_unlock && (b->unlock_flags & BD_UNLOCK_RECOVERY);
	bool pin = (good_flags & BD_UNLOCK_PIN) ||
		   (o && o->protector_known && o->has_tpm_protector && (o->tpm_protector_type & 0x0400));
	bool key = (good_flags & BD_UNLOCK_MEDIA) ||
		   (o && o->protector_known && o->has_tpm_protector && (o->tpm_protector_type & 0x0200));
	int r;

	if (o && o->protector_known && !o->has_tpm_protector &&
	    (r = add_finding(g, BD_CAUSE_TPM_PROTECTOR_MISSING, BD_CONF_HIGH, BD_PCR_COUNT, 1,
			     "the volume's metadata holds no TPM protector")))
		return r;
	if (!recovery || bound_change)
		return 0;
	for (size_t i = 0; i < g->d->n_findings; i++)
		if (g->d->findings[i].bound && g->d->findings[i].cause != BD_CAUSE_UNEXPLAINED)
			return 0; /* already explained without a PCR change (debugging, TPM failure ...) */
	if (o && o->protector_known && !o->has_tpm_protector)
		return 0;
	if (pin)
		return add_finding(g, BD_CAUSE_PIN_LOCKOUT, BD_CONF_MEDIUM, BD_PCR_COUNT, 1,
				   "bad boot unlocked by recovery (flags 0x%08x), bound PCRs equal, protector needs a PIN%s",
				   b->unlock_flags, good_flags & BD_UNLOCK_PIN ? " (good boot: TPM+PIN)" : "");
	if (key && !(b->unlock_flags & BD_UNLOCK_MEDIA))
		return add_finding(g, BD_CAUSE_STARTUP_KEY, BD_CONF_MEDIUM, BD_PCR_COUNT, 1,
				   "bad boot unlocked by recovery (flags 0x%08x) without the startup key; bound PCRs equal",
				   b->unlock_flags);
	return add_finding(g, BD_CAUSE_NO_PCR_CHANGE, g->good ? BD_CONF_MEDIUM : BD_CONF_LOW, BD_PCR_COUNT, 1,
			   g->good ? "bad boot unlocked by recovery (flags 0x%08x) although every bound PCR equals the good boot"
				   : "bad boot unlocked by recovery (flags 0x%08x); no good boot to compare with",
			   b->unlock_flags);
}

/* ---- entry points ---- */

static uint16_t pick_bank(const struct bd_eventlog_info *a, const struct bd_eventlog_info *b)
{
	static const uint16_t pref[] = { BD_ALG_SHA256, BD_ALG_SHA1, BD_ALG_SHA384, BD_ALG_SHA512 };

	for (size_t p = 0; p < ARRAY_SIZE(pref); p++) {
		bool ina = false, inb = !b;
		for (size_t i = 0; i < a->n_banks; i++)
			ina |= a->bank_alg[i] == pref[p] && a->bank_replayed[i];
		for (size_t i = 0; b && i < b->n_banks; i++)
			inb |= b->bank_alg[i] == pref[p] && b->bank_replayed[i];
		if (ina && inb)
			return pref[p];
	}
	return 0;
}

static int cmp_finding(const void *x, const void *y)
{
	const struct bd_finding *a = x, *b = y;

	if (a->bound != b->bound)
		return b->bound - a->bound;
	if (a->confidence != b->confidence)
		return b->confidence - a->confidence;
	return a->cause - b->cause;
}

int bd_diagnose(const bd_eventlog *good, const bd_eventlog *bad, const struct bd_diag_opts *opts,
		struct bd_diagnosis **out)
{
	struct diag g;
	bool bound_change = false;
	int r = 0;

	*out = NULL;
	if (!bad)
		return bd_err(BD_ERR_INVALID, "diagnosis needs the log of the boot that went into recovery");
	memset(&g, 0, sizeof(g));
	g.d = calloc(1, sizeof(*g.d));
	if (!g.d)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	g.good = good;
	g.bad = bad;
	bd_eventlog_info(bad, &g.bi);
	if (good)
		bd_eventlog_info(good, &g.gi);
	g.d->have_good = good != NULL;
	g.d->good_unlock = good && g.gi.has_unlock ? (int)g.gi.unlock_flags : -1;
	g.d->bad_unlock = g.bi.has_unlock ? (int)g.bi.unlock_flags : -1;

	g.d->bound_pcrs = opts && opts->pcr_mask ? opts->pcr_mask : 0;
	if (!g.d->bound_pcrs) {
		int sb = good ? g.gi.secure_boot : g.bi.secure_boot;
		g.d->bound_pcrs = sb == 1 ? PROFILE_UEFI_SB : PROFILE_UEFI;
		g.d->profile_default = 1;
	}
	g.alg = opts && opts->bank ? opts->bank : pick_bank(&g.bi, good ? &g.gi : NULL);
	g.d->bank = g.alg;

	if (good) {
		if (!g.alg) {
			r = add_finding(&g, BD_CAUSE_DIFFERENT_PLATFORM, BD_CONF_HIGH, BD_PCR_COUNT, 1,
					"the logs share no digest bank that can be replayed");
			g.d->different_platform = 1;
			goto done;
		}
		for (unsigned p = 0; p < BD_PCR_COUNT; p++) {
			uint8_t a[64], b[64];
			size_t la, lb;
			if (bd_eventlog_pcr(good, g.alg, p, a, &la) || bd_eventlog_pcr(bad, g.alg, p, b, &lb)) {
				r = bd_err(BD_ERR_INVALID, "bank %s is not in both logs",
					   bd_hash_alg_name(g.alg) ? bd_hash_alg_name(g.alg) : "?");
				goto fail;
			}
			if (la != lb || memcmp(a, b, la))
				g.d->differing_pcrs |= 1u << p;
		}
		bound_change = (g.d->differing_pcrs & g.d->bound_pcrs) != 0;
		if ((r = check_platform(&g)))
			goto fail;
		if (g.d->different_platform) {
			/* diffing two machines' events would only produce noise */
			goto done;
		}
		for (unsigned p = 0; p < BD_PCR_COUNT && !r; p++)
			if (g.d->differing_pcrs & (1u << p))
				r = diff_pcr(&g, p, (g.d->bound_pcrs >> p) & 1);
		if (r)
			goto fail;
		/* Secure Boot turned off: the authority events that vanished belong to that cause */
		for (size_t i = 0; i < g.d->n_findings; i++) {
			struct bd_finding *f = &g.d->findings[i];
			if (f->cause == BD_CAUSE_SECURE_BOOT_DISABLED && f->bound)
				for (size_t k = 0; k < g.d->n_findings; k++)
					if (g.d->findings[k].cause == BD_CAUSE_SECURE_BOOT_AUTHORITY &&
					    g.d->findings[k].bound == f->bound)
						g.d->findings[k].confidence = BD_CONF_LOW;
		}
	}
	if ((r = flag_rules(&g)) || (r = recovery_rules(&g, opts, bound_change)))
		goto fail;
done:
	if (r)
		goto fail;
	if (g.d->n_findings)
		qsort(g.d->findings, g.d->n_findings, sizeof(*g.d->findings), cmp_finding);
	*out = g.d;
	return 0;
fail:
	bd_diagnosis_free(g.d);
	return r;
}

void bd_diagnosis_free(struct bd_diagnosis *d)
{
	if (!d)
		return;
	free(d->findings);
	free(d);
}

int bd_diagnose_pick(const bd_eventlog *const *logs, size_t n, size_t *good, size_t *bad)
{
	size_t b = (size_t)-1;

	*good = *bad = (size_t)-1;
	for (size_t i = n; i-- > 0;) {
		struct bd_eventlog_info in;
		bd_eventlog_info(logs[i], &in);
		if (in.has_unlock && (in.unlock_flags & BD_UNLOCK_RECOVERY)) {
			b = i;
			break;
		}
	}
	if (b == (size_t)-1)
		return bd_err(BD_ERR_INVALID, "none of the %zu log(s) records a recovery unlock (BITLOCKER_UNLOCK "
			      "flag 0x40); name the bad boot with --bad", n);
	*bad = b;
	for (size_t i = b; i-- > 0;) {
		struct bd_eventlog_info in;
		bd_eventlog_info(logs[i], &in);
		if (in.has_unlock && (in.unlock_flags & BD_UNLOCK_TPM) && !(in.unlock_flags & BD_UNLOCK_RECOVERY)) {
			*good = i;
			break;
		}
	}
	return 0;
}
