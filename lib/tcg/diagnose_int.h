/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared between the diagnosis files (diagnose*.c); not part of the public API. */
#ifndef BDKIT_DIAGNOSE_INT_H
#define BDKIT_DIAGNOSE_INT_H

#include "internal.h"
#include "eventlog.h"

#define PROFILE_UEFI_SB  0x00000880u   /* PCR 7, 11 */
#define PROFILE_UEFI     0x00000815u   /* PCR 0, 2, 4, 11 */
#define DG_NONE ((size_t)-1)

/* One measured event of one PCR, as the alignment sees it. */
struct dg_item {
	size_t idx;
	uint64_t offset;
	uint32_t type;
	uint64_t key;            /* what the event is (type + variable name / image path / text) */
	uint64_t value;          /* what it measured (the compared bank's digest, or the data) */
};

/* Facts that tell one machine from another (diagnose_boots.c). */
#define DG_MAX_MACS 8
struct dg_ident {
	char macs[DG_MAX_MACS][18];
	int n_macs;
	char cpu[48];            /* processor signature from the microcode event */
	uint8_t aik_digest[20];
	int has_aik;
	uint8_t disk_guid[16];
	int has_disk;
	char crtm[128];
	int has_pk;
	uint8_t pk_hash[32];
	int has_boot_count;
	uint64_t boot_count;
	char boot_entries[512];  /* descriptions of the Boot#### firmware entries, ';'-joined */
};

/* A volatile measurement: events with this key in this PCR differ between good boots. */
struct dg_vkey {
	unsigned pcr;
	uint64_t key;
};

struct dg {
	struct bd_diagnosis *d;
	size_t cap;
	const bd_eventlog *good, *bad;
	struct bd_eventlog_info gi, bi;
	uint16_t alg;            /* compared bank; 0: no bank in common, events compared by data */
	const struct bd_diag_opts *o;
	struct dg_vkey *vol;
	size_t n_vol;
	int tpm_changed;         /* same platform, but the TPM's AIK or boot counter restarted */
	uint32_t blamed_pcrs;    /* differing PCRs with a change that is not volatile */
};

/* Add evidence to the finding (cause, bound), creating it; gi/bi: event indexes (-1 none). */
int dg_add(struct dg *g, int cause, int conf, unsigned pcr, int bound, long gi, long bi, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));
struct bd_finding *dg_find(struct dg *g, int cause, int bound);

uint64_t dg_hash(const void *p, size_t n, uint64_t h);
#define DG_HASH_INIT 0xcbf29ce484222325ull
/* The alignment key of an event (text and its hash). */
uint64_t dg_key(const bd_eventlog *log, size_t idx, char *text, size_t textlen);
/* The events of one PCR (measured, in log order). Count, or (size_t)-1 when out of memory. */
size_t dg_collect(const bd_eventlog *log, uint16_t alg, unsigned pcr, struct dg_item **out);
/* Align the events of one PCR by content and classify each difference. */
int dg_diff_pcr(struct dg *g, unsigned pcr, int bound);
bool dg_is_volatile(const struct dg *g, unsigned pcr, uint64_t key);

/* Identity facts of a log; same machine? (1, 0, -1) with evidence lines in d->identity. */
void dg_ident_of(const bd_eventlog *log, struct dg_ident *id);
int dg_same_machine(struct dg *g);
/* Volatile keys from the good boots of the set (opts->boots). */
int dg_volatile_from_boots(struct dg *g);

#endif
