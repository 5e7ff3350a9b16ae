/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Why did this machine fall into BitLocker recovery? Compare the replay of a
 * good boot with the recovery boot on the PCRs the TPM protector is bound to,
 * align the events of each differing PCR by content (diagnose_align.c), tell
 * volatile measurements and other machines apart (diagnose_boots.c), and name
 * the cause with the rules of diagnose.md §5; add the causes that need no diff
 * (unlock flags, debugging, Secure Boot off, protector set).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "diagnose_int.h"

#define SUSPEND "suspend BitLocker for the reboot(s) it needs first (Windows: Suspend-BitLocker -MountPoint C: " \
	"-RebootCount 1, or manage-bde -protectors -disable C: -RebootCount 1; offline: bdkit suspend --reboot-count 1)"

static const struct {
	const char *id, *title, *advice;
} causes[BD_CAUSE__COUNT] = {
	[BD_CAUSE_UNEXPLAINED] = { "unexplained-pcr-change",
		"A bound PCR changed for a reason no rule recognises",
		"Compare the listed events with 'bdkit eventlog show --index N' on both logs; after recovery, "
		"re-seal the TPM protector (manage-bde -protectors -disable C: -RebootCount 1, then reboot)." },
	[BD_CAUSE_FIRMWARE_UPDATE] = { "firmware-update",
		"BIOS/UEFI firmware upgrade (PCR 0: S-CRTM version or firmware code changed)",
		"Before firmware updates, " SUSPEND "; after this recovery, reboot once more so BitLocker re-seals to "
		"the new firmware." },
	[BD_CAUSE_PLATFORM_CONFIG] = { "platform-configuration",
		"Firmware settings or hardware configuration changed (PCR 1)",
		"Avoid binding PCR 1; before changing BIOS settings or hardware, " SUSPEND "." },
	[BD_CAUSE_BOOT_ORDER] = { "boot-order",
		"Boot order changed, or the firmware tried other boot devices before the Windows Boot Manager",
		"Put the Windows Boot Manager first in the boot order (or use PCR 7 binding, which ignores boot "
		"order); before changing boot settings, " SUSPEND "." },
	[BD_CAUSE_BOOT_MEDIA] = { "boot-media",
		"Bootable CD/DVD, USB device or network boot attempted before the hard disk",
		"Remove the media or disable network/USB boot before the internal disk, or put the Windows Boot "
		"Manager first in the boot order." },
	[BD_CAUSE_OPTION_ROM] = { "option-rom",
		"Add-in card, docking station or option ROM added, removed or updated (PCR 2/3)",
		"Reattach the card or dock the machine booted with; before docking changes or adding/updating add-in "
		"cards and their firmware, " SUSPEND "." },
	[BD_CAUSE_BOOT_MANAGER] = { "boot-manager",
		"Boot manager changed or replaced (PCR 4: a new Authenticode hash for the boot application)",
		"Expected after a Windows boot manager update or a dual-boot loader install: before such updates, "
		SUSPEND "; check the binary if no update was made ('bdkit diagnose predict --boot-app FILE' "
		"tells in advance)." },
	[BD_CAUSE_PARTITION_TABLE] = { "partition-table",
		"Partition table changed (PCR 5: GPT or MBR partition data)",
		"Before creating, deleting or resizing partitions, " SUSPEND "." },
	[BD_CAUSE_SECURE_BOOT_DISABLED] = { "secure-boot-state",
		"Secure Boot disabled or enabled (PCR 7: SecureBoot variable changed)",
		"Re-enable Secure Boot in the firmware setup (PCR 7 binding needs it); to change it on purpose, "
		SUSPEND "." },
	[BD_CAUSE_SECURE_BOOT_POLICY] = { "secure-boot-policy",
		"Another Secure Boot policy measurement changed (PCR 7)",
		"Look at the listed PCR 7 events; before Secure Boot configuration changes, " SUSPEND
		"; after recovery, reboot once to re-seal." },
	[BD_CAUSE_SECURE_BOOT_AUTHORITY] = { "secure-boot-authority",
		"A boot component is now signed by another Secure Boot authority (PCR 7: different db certificate)",
		"Expected when a boot manager signed by a new CA (e.g. Windows UEFI CA 2023) replaces the old one: "
		"before such boot manager updates, " SUSPEND "." },
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
		"protector on the new machine (manage-bde -protectors -delete C: -type TPM, then -add C: -tpm); "
		"otherwise compare logs of the same machine." },
	[BD_CAUSE_FIRMWARE_ERROR] = { "firmware-error",
		"The firmware logged a measurement error (error separator)",
		"Non-compliant or failing firmware: update the firmware (with BitLocker suspended) and check the "
		"vendor's known issues." },
	[BD_CAUSE_SB_PK] = { "secure-boot-pk",
		"Secure Boot platform key (PK) changed (PCR 7)",
		"A new platform key comes with a firmware update, a board replacement or a reset of the Secure Boot "
		"keys in the firmware setup: before such changes, " SUSPEND "; after recovery, reboot once to re-seal." },
	[BD_CAUSE_SB_KEK] = { "secure-boot-kek",
		"Secure Boot key exchange keys (KEK) changed (PCR 7), e.g. the Microsoft KEK CA 2023 update",
		"KEK updates change PCR 7: before Windows or the vendor applies one, " SUSPEND
		"; after recovery, reboot once to re-seal ('bdkit diagnose predict --kek-update FILE' tells in advance)." },
	[BD_CAUSE_SB_DB] = { "secure-boot-db",
		"Secure Boot allowed signature database (db) changed (PCR 7), e.g. the Windows UEFI CA 2023 update",
		"db updates change PCR 7: before applying one, " SUSPEND "; after recovery, reboot once to re-seal "
		"('bdkit diagnose predict --db-update FILE' tells in advance)." },
	[BD_CAUSE_SB_DBX] = { "secure-boot-dbx",
		"Secure Boot forbidden signature database (dbx) changed (PCR 7): a revocation update",
		"dbx revocation updates (Windows security updates, fwupd, vendor firmware) change PCR 7: before "
		"applying one, " SUSPEND "; after recovery, reboot once to re-seal ('bdkit diagnose predict "
		"--dbx-update FILE' tells in advance)." },
	[BD_CAUSE_SB_CONFIG] = { "secure-boot-config",
		"Another Secure Boot variable changed (PCR 7: dbt, dbr, audit/deployed mode or a vendor variable)",
		"Secure Boot mode or vendor key changes in the firmware setup change PCR 7: undo them, or before "
		"making them " SUSPEND "." },
	[BD_CAUSE_DMA_PROTECTION] = { "dma-protection",
		"Pre-boot DMA protection (IOMMU / Kernel DMA Protection) was turned off or on in the firmware (PCR 7 "
		"\"DMA Protection Disabled\")",
		"Turn DMA protection (VT-d / AMD-Vi / Kernel DMA Protection) back to how it was in the firmware setup; "
		"to change it on purpose, " SUSPEND "." },
	[BD_CAUSE_UEFI_DEBUG] = { "uefi-debug-mode",
		"The firmware ran in UEFI debug mode (PCR 7 \"UEFI Debug Mode\")",
		"UEFI debug mode is a development setting: turn it off in the firmware (or ask the vendor for a "
		"production firmware); BitLocker cannot trust PCR 7 while it is on." },
	[BD_CAUSE_AUTHORITY_ADDED] = { "secure-boot-authority-added",
		"Code signed by a Secure Boot authority not used before ran (PCR 7)",
		"The evidence names the component that needed the new certificate (a boot loader, an option ROM of a "
		"new card or dock, boot media): remove it if unexpected; to add it on purpose, " SUSPEND "." },
	[BD_CAUSE_AUTHORITY_REMOVED] = { "secure-boot-authority-removed",
		"A Secure Boot authority used before was not needed (PCR 7): the component it authorised is gone",
		"The evidence names the component that used it (an option ROM of a removed card or dock, a boot "
		"loader no longer run): reattach or restore it; to remove it on purpose, " SUSPEND "." },
	[BD_CAUSE_BANK_SWITCH] = { "pcr-bank-switch",
		"The TPM's active PCR bank changed (e.g. SHA-1 to SHA-256 in the firmware's TPM settings)",
		"BitLocker's key is sealed to the PCRs of the old bank: switch the bank back in the firmware setup, "
		"or unlock with the recovery password, then suspend and resume BitLocker (or re-add the TPM protector) "
		"so it seals to the new bank; before changing TPM settings, " SUSPEND "." },
	[BD_CAUSE_VOLATILE] = { "volatile-measurement",
		"The firmware measures data that changes on every boot into this PCR (it differs between good boots too)",
		"Not the cause of this recovery by itself; a PCR that changes every boot should not be in the profile "
		"(use PCR 7 binding, or a profile without it), and a firmware update may fix the measurement." },
	[BD_CAUSE_TPM_CLEARED] = { "tpm-cleared",
		"Same machine, but the TPM's identity restarted (attestation key or boot counter): the TPM was cleared "
		"or replaced",
		"A cleared TPM lost the sealed key: unlock with the recovery password, then re-create the TPM protector "
		"(manage-bde -protectors -delete C: -type TPM; manage-bde -protectors -add C: -tpm)." },
	[BD_CAUSE_NOT_COMPARED] = { "not-compared",
		"Recovery boot, but no good boot to compare it with: PCR changes cannot be seen",
		"Give the whole MeasuredBoot folder (C:\\Windows\\Logs\\MeasuredBoot) or an earlier log unlocked by the "
		"TPM (--good), and the volume (--volume) for its PCR profile." },
};

const char *bd_cause_id(int c) { return c >= 0 && c < BD_CAUSE__COUNT ? causes[c].id : "unknown"; }
const char *bd_cause_title(int c) { return c >= 0 && c < BD_CAUSE__COUNT ? causes[c].title : ""; }
const char *bd_cause_advice(int c) { return c >= 0 && c < BD_CAUSE__COUNT ? causes[c].advice : ""; }

const char *bd_confidence_name(int c)
{
	return c >= BD_CONF_HIGH ? "high" : c == BD_CONF_MEDIUM ? "medium" : "low";
}

/* ---- findings ---- */

struct bd_finding *dg_find(struct dg *g, int cause, int bound)
{
	for (size_t i = 0; i < g->d->n_findings; i++)
		if (g->d->findings[i].cause == cause && g->d->findings[i].bound == bound)
			return &g->d->findings[i];
	return NULL;
}

int dg_add(struct dg *g, int cause, int conf, unsigned pcr, int bound, long gi, long bi, const char *fmt, ...)
{
	struct bd_diagnosis *d = g->d;
	struct bd_finding *f = dg_find(g, cause, bound);
	struct bd_event e;
	va_list ap;
	char *text = NULL;

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
	if (!fmt)
		return 0;
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	if (!text)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	ev_sanitize(text);
	/* the same line twice adds nothing */
	for (size_t i = 0; i < f->n_evidence; i++)
		if (!strcmp(f->evidence[i].text, text)) {
			free(text);
			return 0;
		}
	if (f->n_evidence == BD_FINDING_MAX_EVIDENCE) {
		f->evidence_dropped++;
		free(text);
		return 0;
	}
	if (!f->evidence) {
		f->evidence = calloc(BD_FINDING_MAX_EVIDENCE, sizeof(*f->evidence));
		if (!f->evidence) {
			free(text);
			return bd_err(BD_ERR_NOMEM, "out of memory");
		}
	}
	struct bd_evidence *ev = &f->evidence[f->n_evidence++];
	ev->text = text;
	ev->pcr = pcr < BD_PCR_COUNT ? pcr : BD_PCR_COUNT;
	ev->good_index = gi;
	ev->bad_index = bi;
	ev->good_offset = gi >= 0 && g->good && !bd_eventlog_event(g->good, (size_t)gi, &e) ? e.offset : 0;
	ev->bad_offset = bi >= 0 && !bd_eventlog_event(g->bad, (size_t)bi, &e) ? e.offset : 0;
	return 0;
}

/* ---- causes that need no diff ---- */

static int flag_rules(struct dg *g)
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
	bool pcr7 = (g->d->bound_pcrs & (1u << 7)) != 0;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(checks); i++) {
		if (checks[i].bad != checks[i].on || checks[i].good == checks[i].on)
			continue;
		r = dg_add(g, BD_CAUSE_DEBUG_POLICY, checks[i].good >= 0 ? BD_CONF_HIGH : BD_CONF_MEDIUM, BD_PCR_COUNT, 1,
			   -1, -1, "SIPA (PCR 12/13): %s %s in the bad boot%s", checks[i].name, checks[i].on ? "ON" : "OFF",
			   checks[i].good >= 0 ? (checks[i].on ? " (off in the good boot)" : " (on in the good boot)") : "");
		if (r)
			return r;
	}
	if (b->tpm_failure && (!gd || !gd->tpm_failure) &&
	    (r = dg_add(g, BD_CAUSE_TPM_FAILURE, BD_CONF_HIGH, BD_PCR_COUNT, 1, -1, -1,
			"SIPAERROR_TPMFAILURE record in the bad boot")))
		return r;
	if (b->error_separators > (gd ? gd->error_separators : 0) &&
	    (r = dg_add(g, BD_CAUSE_FIRMWARE_ERROR, BD_CONF_MEDIUM, BD_PCR_COUNT, 1, -1, -1,
			"%d error separator(s) in the bad boot", b->error_separators)))
		return r;
	/* PCR 7 states visible in the bad boot alone (with a good boot, the diff names them) */
	if (pcr7 && b->secure_boot == 0 && (!gd || gd->secure_boot != 0) && !dg_find(g, BD_CAUSE_SECURE_BOOT_DISABLED, 1) &&
	    (r = dg_add(g, BD_CAUSE_SECURE_BOOT_DISABLED, gd ? BD_CONF_HIGH : BD_CONF_MEDIUM, 7, 1, -1, -1,
			"Secure Boot is off in the bad boot and the protector is bound to PCR 7")))
		return r;
	if (pcr7 && b->dma_protection_disabled && (!gd || !gd->dma_protection_disabled) &&
	    !dg_find(g, BD_CAUSE_DMA_PROTECTION, 1) &&
	    (r = dg_add(g, BD_CAUSE_DMA_PROTECTION, gd ? BD_CONF_HIGH : BD_CONF_MEDIUM, 7, 1, -1, -1,
			"the bad boot logs \"DMA Protection Disabled\" in PCR 7")))
		return r;
	if (pcr7 && b->uefi_debug_mode && (!gd || !gd->uefi_debug_mode) && !dg_find(g, BD_CAUSE_UEFI_DEBUG, 1) &&
	    (r = dg_add(g, BD_CAUSE_UEFI_DEBUG, gd ? BD_CONF_HIGH : BD_CONF_MEDIUM, 7, 1, -1, -1,
			"the bad boot logs \"UEFI Debug Mode\" in PCR 7")))
		return r;
	return 0;
}

static bool explains(int cause)
{
	return cause != BD_CAUSE_UNEXPLAINED && cause != BD_CAUSE_VOLATILE && cause != BD_CAUSE_BITLOCKER_STATE;
}

static int recovery_rules(struct dg *g, const struct bd_diag_opts *o)
{
	const struct bd_eventlog_info *b = &g->bi;
	uint32_t good_flags = g->good && g->gi.has_unlock ? g->gi.unlock_flags : 0;
	bool recovery = b->has_unlock && (b->unlock_flags & BD_UNLOCK_RECOVERY);
	bool pin = (good_flags & BD_UNLOCK_PIN) ||
		   (o && o->protector_known && o->has_tpm_protector && (o->tpm_protector_type & 0x0400));
	bool key = (good_flags & BD_UNLOCK_MEDIA) ||
		   (o && o->protector_known && o->has_tpm_protector && (o->tpm_protector_type & 0x0200));
	bool blamed = (g->blamed_pcrs & g->d->bound_pcrs) != 0;
	int r;

	if (o && o->protector_known && !o->has_tpm_protector &&
	    (r = dg_add(g, BD_CAUSE_TPM_PROTECTOR_MISSING, BD_CONF_HIGH, BD_PCR_COUNT, 1, -1, -1,
			"the volume's metadata holds no TPM protector")))
		return r;
	if (!recovery || blamed)
		return 0;
	for (size_t i = 0; i < g->d->n_findings; i++)
		if (g->d->findings[i].bound && explains(g->d->findings[i].cause))
			return 0; /* already explained without a PCR change (debugging, TPM failure ...) */
	if (o && o->protector_known && !o->has_tpm_protector)
		return 0;
	if (pin)
		return dg_add(g, BD_CAUSE_PIN_LOCKOUT, g->good ? BD_CONF_MEDIUM : BD_CONF_LOW, BD_PCR_COUNT, 1, -1, -1,
			      "bad boot unlocked by recovery (flags 0x%08x)%s, protector needs a PIN%s", b->unlock_flags,
			      g->good ? ", bound PCRs equal" : "", good_flags & BD_UNLOCK_PIN ? " (good boot: TPM+PIN)" : "");
	if (key && !(b->unlock_flags & BD_UNLOCK_MEDIA))
		return dg_add(g, BD_CAUSE_STARTUP_KEY, g->good ? BD_CONF_MEDIUM : BD_CONF_LOW, BD_PCR_COUNT, 1, -1, -1,
			      "bad boot unlocked by recovery (flags 0x%08x) without the startup key%s", b->unlock_flags,
			      g->good ? "; bound PCRs equal" : "");
	if (!g->good)
		return dg_add(g, BD_CAUSE_NOT_COMPARED, BD_CONF_LOW, BD_PCR_COUNT, 1, -1, -1,
			      "bad boot unlocked by recovery (flags 0x%08x); no good boot to compare with, so nothing "
			      "is known of PCR changes", b->unlock_flags);
	return dg_add(g, BD_CAUSE_NO_PCR_CHANGE, BD_CONF_MEDIUM, BD_PCR_COUNT, 1, -1, -1,
		      "bad boot unlocked by recovery (flags 0x%08x) although every bound PCR equals the good boot%s",
		      b->unlock_flags, (g->d->differing_pcrs & g->d->bound_pcrs) ? " (apart from volatile measurements)" : "");
}

/* ---- banks ---- */

static uint16_t bank_bit(uint16_t alg)
{
	switch (alg) {
	case BD_ALG_SHA1: return 1;
	case BD_ALG_SHA256: return 2;
	case BD_ALG_SHA384: return 4;
	case BD_ALG_SHA512: return 8;
	}
	return 0;
}

static uint16_t usable_banks(const struct bd_eventlog_info *in)
{
	uint16_t m = 0;

	for (size_t i = 0; i < in->n_banks; i++)
		if (in->bank_replayed[i])
			m |= bank_bit(in->bank_alg[i]);
	return m;
}

static void bank_names(uint16_t mask, char *out, size_t outlen)
{
	static const char *n[] = { "sha1", "sha256", "sha384", "sha512" };
	size_t o = 0;

	out[0] = 0;
	for (int i = 0; i < 4 && o < outlen; i++)
		if (mask & (1u << i))
			o += (size_t)snprintf(out + o, outlen - o, "%s%s", o ? "+" : "", n[i]);
	if (!out[0])
		snprintf(out, outlen, "none");
}

static uint16_t pick_bank(uint16_t mask)
{
	static const uint16_t pref[] = { BD_ALG_SHA256, BD_ALG_SHA1, BD_ALG_SHA384, BD_ALG_SHA512 };

	for (size_t p = 0; p < ARRAY_SIZE(pref); p++)
		if (mask & bank_bit(pref[p]))
			return pref[p];
	return 0;
}

/* PCRs whose events differ, compared by data (no bank in common). */
static uint32_t differing_by_data(struct dg *g)
{
	uint32_t m = 0;

	for (unsigned p = 0; p < BD_PCR_COUNT; p++) {
		struct dg_item *a = NULL, *b = NULL;
		size_t na = dg_collect(g->good, 0, p, &a), nb = dg_collect(g->bad, 0, p, &b);
		if (na == (size_t)-1 || nb == (size_t)-1 || na != nb)
			m |= 1u << p;
		else
			for (size_t i = 0; i < na; i++)
				if (a[i].key != b[i].key || a[i].value != b[i].value) {
					m |= 1u << p;
					break;
				}
		free(a);
		free(b);
	}
	return m;
}

static int cmp_finding(const void *x, const void *y)
{
	const struct bd_finding *a = x, *b = y;
	int ra = a->cause == BD_CAUSE_VOLATILE || a->cause == BD_CAUSE_NOT_COMPARED;
	int rb = b->cause == BD_CAUSE_VOLATILE || b->cause == BD_CAUSE_NOT_COMPARED;

	if (a->bound != b->bound)
		return b->bound - a->bound;
	if (ra != rb)
		return ra - rb;
	/* machine-level causes first: they explain the PCR changes that follow from them */
	int pa = a->cause == BD_CAUSE_DIFFERENT_PLATFORM || a->cause == BD_CAUSE_BANK_SWITCH;
	int pb = b->cause == BD_CAUSE_DIFFERENT_PLATFORM || b->cause == BD_CAUSE_BANK_SWITCH;
	if (pa != pb)
		return pb - pa;
	if (a->confidence != b->confidence)
		return b->confidence - a->confidence;
	return a->cause - b->cause;
}

static int compare(struct dg *g)
{
	uint16_t common = g->d->good_banks_mask & g->d->bad_banks_mask;
	char gn[64], bn[64];
	int r;

	bank_names(g->d->good_banks_mask, gn, sizeof(gn));
	bank_names(g->d->bad_banks_mask, bn, sizeof(bn));
	if (!common) {
		g->alg = 0;
		if ((r = dg_add(g, BD_CAUSE_BANK_SWITCH, BD_CONF_HIGH, BD_PCR_COUNT, 1, -1, -1,
				"the good boot measured into the %s bank, the bad boot into %s: no bank in common, the "
				"sealed PCR values cannot match (events compared by their data)", gn, bn)))
			return r;
	} else if (g->d->good_banks_mask != g->d->bad_banks_mask) {
		if ((r = dg_add(g, BD_CAUSE_BANK_SWITCH, BD_CONF_MEDIUM, BD_PCR_COUNT, 1, -1, -1,
				"the active PCR banks changed: %s in the good boot, %s in the bad boot; if the protector "
				"was sealed to a bank the bad boot lacks, this is the cause", gn, bn)))
			return r;
	}
	if (g->o && g->o->bank) {
		if (!(common & bank_bit(g->o->bank)))
			return bd_err(BD_ERR_INVALID, "bank %s is not usable in both logs",
				      bd_hash_alg_name(g->o->bank) ? bd_hash_alg_name(g->o->bank) : "?");
		g->alg = g->o->bank;
	} else if (common) {
		g->alg = pick_bank(common);
	}
	g->d->bank = g->alg;
	if (g->alg) {
		for (unsigned p = 0; p < BD_PCR_COUNT; p++) {
			uint8_t a[64], b[64];
			size_t la, lb;
			if (bd_eventlog_pcr(g->good, g->alg, p, a, &la) || bd_eventlog_pcr(g->bad, g->alg, p, b, &lb))
				return bd_err(BD_ERR_INVALID, "bank %s is not in both logs", bd_hash_alg_name(g->alg));
			if (la != lb || memcmp(a, b, la))
				g->d->differing_pcrs |= 1u << p;
		}
	} else {
		g->d->differing_pcrs = differing_by_data(g);
	}
	if ((r = dg_same_machine(g)) || (r = dg_volatile_from_boots(g)))
		return r;
	g->d->compared = 1;
	for (unsigned p = 0; p < BD_PCR_COUNT; p++)
		if ((g->d->differing_pcrs & (1u << p)) && (r = dg_diff_pcr(g, p, (g->d->bound_pcrs >> p) & 1)))
			return r;
	/* PCRs that differ for a reason other than a volatile measurement */
	for (size_t i = 0; i < g->d->n_findings; i++)
		if (g->d->findings[i].cause != BD_CAUSE_VOLATILE)
			g->blamed_pcrs |= g->d->findings[i].pcrs;
	/* Secure Boot turned off: the authority events that vanished belong to that cause */
	if (dg_find(g, BD_CAUSE_SECURE_BOOT_DISABLED, 1) || dg_find(g, BD_CAUSE_SECURE_BOOT_DISABLED, 0))
		for (size_t k = 0; k < g->d->n_findings; k++) {
			struct bd_finding *f = &g->d->findings[k];
			if (f->cause == BD_CAUSE_AUTHORITY_REMOVED || f->cause == BD_CAUSE_AUTHORITY_ADDED ||
			    f->cause == BD_CAUSE_SECURE_BOOT_AUTHORITY)
				f->confidence = BD_CONF_LOW;
		}
	if (g->d->different_platform) {
		/* name the machine change first; the PCR changes follow from it */
		for (size_t k = 0; k < g->d->n_findings; k++)
			g->d->findings[k].confidence = MIN(g->d->findings[k].confidence, BD_CONF_MEDIUM);
		if ((r = dg_add(g, BD_CAUSE_DIFFERENT_PLATFORM, BD_CONF_HIGH, BD_PCR_COUNT, 1, -1, -1, NULL)))
			return r;
		for (size_t i = 0; i < g->d->n_identity; i++)
			if ((r = dg_add(g, BD_CAUSE_DIFFERENT_PLATFORM, BD_CONF_HIGH, BD_PCR_COUNT, 1, -1, -1, "%s",
					g->d->identity[i])))
				return r;
	}
	if (g->tpm_changed) {
		if ((r = dg_add(g, BD_CAUSE_TPM_CLEARED, BD_CONF_HIGH, BD_PCR_COUNT, 1, -1, -1, NULL)))
			return r;
		for (size_t i = 0; i < g->d->n_identity; i++)
			if (strstr(g->d->identity[i], "TPM") &&
			    (r = dg_add(g, BD_CAUSE_TPM_CLEARED, BD_CONF_HIGH, BD_PCR_COUNT, 1, -1, -1, "%s", g->d->identity[i])))
				return r;
	}
	return 0;
}

int bd_diagnose(const bd_eventlog *good, const bd_eventlog *bad, const struct bd_diag_opts *opts,
		struct bd_diagnosis **out)
{
	struct dg g;
	int r = 0;

	*out = NULL;
	if ((r = BD_SIZE_CHECK(opts, struct bd_diag_opts, bad_id, "BD_DIAG_OPTS_INIT")))
		return r;
	if (!bad)
		return bd_err(BD_ERR_INVALID, "diagnosis needs the log of the boot that went into recovery");
	memset(&g, 0, sizeof(g));
	g.d = calloc(1, sizeof(*g.d));
	if (!g.d)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	g.good = good;
	g.bad = bad;
	g.o = opts;
	bd_eventlog_info(bad, &g.bi);
	if (good)
		bd_eventlog_info(good, &g.gi);
	g.d->have_good = good != NULL;
	g.d->same_machine = -1;
	g.d->good_unlock = good && g.gi.has_unlock ? (int)g.gi.unlock_flags : -1;
	g.d->bad_unlock = g.bi.has_unlock ? (int)g.bi.unlock_flags : -1;
	g.d->bad_banks_mask = usable_banks(&g.bi);
	g.d->good_banks_mask = good ? usable_banks(&g.gi) : 0;

	g.d->bound_pcrs = opts && opts->pcr_mask ? opts->pcr_mask : 0;
	if (!g.d->bound_pcrs) {
		/* the last good state tells whether PCR 7 binding was possible */
		int sb = good ? g.gi.secure_boot : g.bi.secure_boot;
		g.d->bound_pcrs = sb == 1 ? PROFILE_UEFI_SB : PROFILE_UEFI;
		g.d->profile_default = 1;
	}
	if (good && (r = compare(&g)))
		goto fail;
	if (!good)
		g.d->bank = opts && opts->bank ? opts->bank : pick_bank(g.d->bad_banks_mask);
	if ((r = flag_rules(&g)) || (r = recovery_rules(&g, opts)))
		goto fail;
	if (g.d->n_findings)
		qsort(g.d->findings, g.d->n_findings, sizeof(*g.d->findings), cmp_finding);
	free(g.vol);
	*out = g.d;
	return 0;
fail:
	free(g.vol);
	bd_diagnosis_free(g.d);
	return r;
}

void bd_diagnosis_free(struct bd_diagnosis *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_findings; i++) {
		for (size_t k = 0; k < d->findings[i].n_evidence; k++)
			free(d->findings[i].evidence[k].text);
		free(d->findings[i].evidence);
	}
	for (size_t i = 0; i < d->n_identity; i++)
		free(d->identity[i]);
	free(d->identity);
	free(d->findings);
	free(d);
}
