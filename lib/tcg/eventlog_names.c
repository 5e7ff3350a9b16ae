/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Names of TCG event types, SIPA events, digest algorithms and unlock flags (diagnose.md §1.3, §2.3). */
#include <stdio.h>
#include <strings.h>

#include "internal.h"
#include "eventlog.h"

struct name {
	uint32_t value;
	const char *name;
};

static const struct name event_types[] = {
	{ 0x00, "EV_PREBOOT_CERT" }, { 0x01, "EV_POST_CODE" }, { 0x02, "EV_UNUSED" },
	{ 0x03, "EV_NO_ACTION" }, { 0x04, "EV_SEPARATOR" }, { 0x05, "EV_ACTION" },
	{ 0x06, "EV_EVENT_TAG" }, { 0x07, "EV_S_CRTM_CONTENTS" }, { 0x08, "EV_S_CRTM_VERSION" },
	{ 0x09, "EV_CPU_MICROCODE" }, { 0x0A, "EV_PLATFORM_CONFIG_FLAGS" }, { 0x0B, "EV_TABLE_OF_DEVICES" },
	{ 0x0C, "EV_COMPACT_HASH" }, { 0x0D, "EV_IPL" }, { 0x0E, "EV_IPL_PARTITION_DATA" },
	{ 0x0F, "EV_NONHOST_CODE" }, { 0x10, "EV_NONHOST_CONFIG" }, { 0x11, "EV_NONHOST_INFO" },
	{ 0x12, "EV_OMIT_BOOT_DEVICE_EVENTS" },
	{ 0x80000001, "EV_EFI_VARIABLE_DRIVER_CONFIG" }, { 0x80000002, "EV_EFI_VARIABLE_BOOT" },
	{ 0x80000003, "EV_EFI_BOOT_SERVICES_APPLICATION" }, { 0x80000004, "EV_EFI_BOOT_SERVICES_DRIVER" },
	{ 0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER" }, { 0x80000006, "EV_EFI_GPT_EVENT" },
	{ 0x80000007, "EV_EFI_ACTION" }, { 0x80000008, "EV_EFI_PLATFORM_FIRMWARE_BLOB" },
	{ 0x80000009, "EV_EFI_HANDOFF_TABLES" }, { 0x8000000A, "EV_EFI_PLATFORM_FIRMWARE_BLOB2" },
	{ 0x8000000B, "EV_EFI_HANDOFF_TABLES2" }, { 0x8000000C, "EV_EFI_VARIABLE_BOOT2" },
	{ 0x8000000D, "EV_EFI_GPT_EVENT2" }, { 0x80000010, "EV_EFI_HCRTM_EVENT" },
	{ 0x800000E0, "EV_EFI_VARIABLE_AUTHORITY" }, { 0x800000E1, "EV_EFI_SPDM_FIRMWARE_BLOB" },
	{ 0x800000E2, "EV_EFI_SPDM_FIRMWARE_CONFIG" }, { 0x800000E3, "EV_EFI_SPDM_DEVICE_POLICY" },
	{ 0x800000E4, "EV_EFI_SPDM_DEVICE_AUTHORITY" },
};

static const struct name sipa_types[] = {
	{ 0x40010001, "TRUSTBOUNDARY" }, { 0x40010002, "ELAM_AGGREGATION" },
	{ 0x40010003, "LOADEDMODULE_AGGREGATION" }, { 0xC0010004, "TRUSTPOINT_AGGREGATION" },
	{ 0x40010005, "KSR_AGGREGATION" }, { 0x40010006, "KSR_SIGNED_MEASUREMENT_AGGREGATION" },
	{ 0x00030001, "ERROR_FIRMWAREFAILURE" }, { 0x80030002, "ERROR_TPMFAILURE" },
	{ 0x00030003, "ERROR_INTERNALFAILURE" }, { 0x80030004, "ERROR_KSRFAILURE" },
	{ 0x00030005, "ERROR_HYPERVISORFAILURE" },
	{ 0x00020001, "INFORMATION" }, { 0x00020002, "BOOTCOUNTER" }, { 0x00020003, "TRANSFER_CONTROL" },
	{ 0x00020004, "APPLICATION_RETURN" }, { 0x00020005, "BITLOCKER_UNLOCK" },
	{ 0x00020006, "EVENTCOUNTER" }, { 0x00020007, "COUNTERID" }, { 0x00020008, "MORBIT_NOT_CANCELABLE" },
	{ 0x00020009, "APPLICATION_SVN" }, { 0x0002000A, "SVN_CHAIN_STATUS" },
	{ 0x0002000B, "MORBIT_API_STATUS" }, { 0x0002000C, "IDK_GENERATION_STATUS" },
	{ 0x00040001, "BOOTDEBUGGING" }, { 0x00040002, "BOOT_REVOCATION_LIST" },
	{ 0x00050001, "OSKERNELDEBUG" }, { 0x00050002, "CODEINTEGRITY" }, { 0x00050003, "TESTSIGNING" },
	{ 0x00050004, "DATAEXECUTIONPREVENTION" }, { 0x00050005, "SAFEMODE" }, { 0x00050006, "WINPE" },
	{ 0x00050007, "PHYSICALADDRESSEXTENSION" }, { 0x00050008, "OSDEVICE" }, { 0x00050009, "SYSTEMROOT" },
	{ 0x0005000A, "HYPERVISOR_LAUNCH_TYPE" }, { 0x0005000B, "HYPERVISOR_PATH" },
	{ 0x0005000C, "HYPERVISOR_IOMMU_POLICY" }, { 0x0005000D, "HYPERVISOR_DEBUG" },
	{ 0x0005000E, "DRIVER_LOAD_POLICY" }, { 0x0005000F, "SI_POLICY" },
	{ 0x00050010, "HYPERVISOR_MMIO_NX_POLICY" }, { 0x00050011, "HYPERVISOR_MSR_FILTER_POLICY" },
	{ 0x00050012, "VSM_LAUNCH_TYPE" }, { 0x00050013, "OS_REVOCATION_LIST" },
	{ 0x00050014, "SMT_STATUS" }, { 0x00050020, "VSM_IDK_INFO" }, { 0x00050021, "FLIGHTSIGNING" },
	{ 0x00050022, "PAGEFILE_ENCRYPTION_ENABLED" }, { 0x00050023, "VSM_IDKS_INFO" },
	{ 0x00050024, "HIBERNATION_DISABLED" }, { 0x00050025, "DUMPS_DISABLED" },
	{ 0x00050026, "DUMP_ENCRYPTION_ENABLED" }, { 0x00050027, "DUMP_ENCRYPTION_KEY_DIGEST" },
	{ 0x00050028, "LSAISO_CONFIG" }, { 0x00050029, "SBCP_INFO" },
	{ 0x00050030, "HYPERVISOR_BOOT_DMA_PROTECTION" }, { 0x00050031, "SI_POLICY_SIGNER" },
	{ 0x00050032, "SI_POLICY_UPDATE_SIGNER" },
	{ 0x00060001, "NOAUTHORITY" }, { 0x00060002, "AUTHORITYPUBKEY" },
	{ 0x00070001, "FILEPATH" }, { 0x00070002, "IMAGESIZE" }, { 0x00070003, "HASHALGORITHMID" },
	{ 0x00070004, "AUTHENTICODEHASH" }, { 0x00070005, "AUTHORITYISSUER" },
	{ 0x00070006, "AUTHORITYSERIAL" }, { 0x00070007, "IMAGEBASE" }, { 0x00070008, "AUTHORITYPUBLISHER" },
	{ 0x00070009, "AUTHORITYSHA1THUMBPRINT" }, { 0x0007000A, "IMAGEVALIDATED" },
	{ 0x0007000B, "MODULE_SVN" }, { 0x0007000C, "MODULE_PLUTON" },
	{ 0x0007000D, "MODULE_ORIGINAL_FILENAME" }, { 0x0007000E, "MODULE_VERSION" },
	{ 0x0007000F, "PUBLISHER_OEMNAME" },
	{ 0x80080001, "QUOTE" }, { 0x80080002, "QUOTESIGNATURE" }, { 0x80080003, "AIKID" },
	{ 0x80080004, "AIKPUBDIGEST" },
	{ 0x00090001, "ELAM_KEYNAME" }, { 0x00090002, "ELAM_CONFIGURATION" }, { 0x00090003, "ELAM_POLICY" },
	{ 0x00090004, "ELAM_MEASURED" },
	{ 0x000A0001, "VBS_VSM_REQUIRED" }, { 0x000A0002, "VBS_SECUREBOOT_REQUIRED" },
	{ 0x000A0003, "VBS_IOMMU_REQUIRED" }, { 0x000A0004, "VBS_MMIO_NX_REQUIRED" },
	{ 0x000A0005, "VBS_MSR_FILTERING_REQUIRED" }, { 0x000A0006, "VBS_MANDATORY_ENFORCEMENT" },
	{ 0x000A0007, "VBS_HVCI_POLICY" }, { 0x000A0008, "VBS_MICROSOFT_BOOT_CHAIN_REQUIRED" },
	{ 0x000A0009, "VBS_DUMP_USES_AMEROOT" }, { 0x000A000A, "VBS_VSM_NOSECRETS_ENFORCED" },
	{ 0x000B0001, "KSR_SIGNATURE" },
	{ 0x000C0001, "DRTM_STATE_AUTH" }, { 0x000C0002, "DRTM_SMM_LEVEL" },
	{ 0x000C0003, "DRTM_AMD_SMM_HASH" }, { 0x000C0004, "DRTM_AMD_SMM_SIGNER_KEY" },
};

static const char *lookup(const struct name *t, size_t n, uint32_t v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].value == v)
			return t[i].name;
	return NULL;
}

const char *bd_event_type_name(uint32_t type)
{
	return lookup(event_types, ARRAY_SIZE(event_types), type);
}

const char *bd_sipa_type_name(uint32_t type)
{
	return lookup(sipa_types, ARRAY_SIZE(sipa_types), type);
}

static const struct name algs[] = {
	{ BD_ALG_SHA1, "sha1" }, { BD_ALG_SHA256, "sha256" }, { BD_ALG_SHA384, "sha384" },
	{ BD_ALG_SHA512, "sha512" }, { BD_ALG_SM3_256, "sm3_256" }, { 0x0027, "sha3_256" },
	{ 0x0028, "sha3_384" }, { 0x0029, "sha3_512" },
};

const char *bd_hash_alg_name(uint16_t alg)
{
	return lookup(algs, ARRAY_SIZE(algs), alg);
}

int bd_hash_alg_parse(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++)
		if (!strcasecmp(name, algs[i].name))
			return (int)algs[i].value;
	if (!strcasecmp(name, "sha-1"))
		return BD_ALG_SHA1;
	if (!strcasecmp(name, "sha-256"))
		return BD_ALG_SHA256;
	return bd_err(BD_ERR_INVALID, "'%s' is not a digest algorithm (sha1, sha256, sha384, sha512)", name);
}

void bd_unlock_flags_format(uint32_t flags, char *out, size_t outlen)
{
	static const struct name bits[] = {
		{ BD_UNLOCK_CACHED, "cached" }, { BD_UNLOCK_MEDIA, "startup key" }, { BD_UNLOCK_TPM, "TPM" },
		{ BD_UNLOCK_PIN, "PIN" }, { BD_UNLOCK_EXTERNAL, "external key" },
		{ BD_UNLOCK_RECOVERY, "recovery" }, { BD_UNLOCK_PASSPHRASE, "passphrase" },
		{ BD_UNLOCK_NBP, "network unlock" }, { BD_UNLOCK_AUK_OSFVEINFO, "auto-unlock" },
	};
	size_t n = 0;

	if (!outlen)
		return;
	out[0] = 0;
	if (!flags) {
		snprintf(out, outlen, "none (volume not protected by BitLocker, or no unlock)");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(bits); i++) {
		if (!(flags & bits[i].value))
			continue;
		int w = snprintf(out + n, outlen - n, "%s%s", n ? "+" : "", bits[i].name);
		if (w < 0 || (size_t)w >= outlen - n)
			return;
		n += (size_t)w;
		flags &= ~bits[i].value;
	}
	if (flags)
		snprintf(out + n, outlen - n, "%s0x%x", n ? "+" : "", flags);
}
