/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdkit eventlog show|verify: print a TPM measured-boot log, or check its replay against TPM PCRs. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog_cli.h"

static void hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

static const char *tristate(int v, const char *on, const char *off)
{
	return v < 0 ? "not logged" : v ? on : off;
}

static void json_tristate(FILE *f, const char *key, int v)
{
	fprintf(f, "\"%s\":%s", key, v < 0 ? "null" : v ? "true" : "false");
}

static const char *alg_name(uint16_t alg, char *buf, size_t len)
{
	const char *n = bd_hash_alg_name(alg);

	if (n)
		return n;
	snprintf(buf, len, "alg_0x%04x", alg);
	return buf;
}

static void print_windows_text(const struct bd_eventlog_info *in)
{
	char flags[128];

	printf("\nWindows boot facts:\n");
	if (!in->windows) {
		printf("  no Windows (SIPA) events: not a Windows boot log, or Windows did not start\n");
		return;
	}
	if (in->has_boot_count)
		printf("  boot count:        %" PRIu64 "\n", in->boot_count);
	if (in->has_unlock) {
		bd_unlock_flags_format(in->unlock_flags, flags, sizeof(flags));
		printf("  BitLocker unlock:  0x%08x (%s)\n", in->unlock_flags, flags);
	} else {
		printf("  BitLocker unlock:  not logged\n");
	}
	printf("  boot debugging:    %s\n", tristate(in->boot_debugging, "ON", "off"));
	printf("  kernel debugging:  %s\n", tristate(in->kernel_debugging, "ON", "off"));
	printf("  test signing:      %s\n", tristate(in->test_signing, "ON", "off"));
	printf("  code integrity:    %s\n", tristate(in->code_integrity, "on", "OFF"));
	if (in->safe_mode == 1)
		printf("  safe mode:         on\n");
	if (in->winpe == 1)
		printf("  WinPE:             yes\n");
	if (in->tpm_failure)
		printf("  TPM failure:       recorded (SIPAERROR_TPMFAILURE)\n");
	if (in->boot_manager[0])
		printf("  first module:      %s\n", in->boot_manager);
}

static void print_digest_state(const struct bd_event_digest *d)
{
	if (d->matches_data == 1)
		printf("  (= hash of the data)");
	else if (d->matches_data == 0)
		printf("  (NOT the hash of the data)");
}

static void json_event(const bd_eventlog *log, const struct bd_eventlog_info *in, size_t i)
{
	struct bd_event e;
	char desc[4096], buf[32];
	char *dec;

	bd_eventlog_event(log, i, &e);
	bd_event_describe(log, i, desc, sizeof(desc));
	printf("{\"index\":%zu,\"offset\":%" PRIu64 ",\"pcr\":%" PRIu32 ",\"type\":\"%s\","
	       "\"type_value\":%" PRIu32 ",\"measured\":%s,\"digest_ok\":%s,\"size\":%zu,\"record_size\":%zu,\"digests\":{",
	       i, e.offset, e.pcr, e.type_name, e.type, e.measured ? "true" : "false",
	       e.digest_ok < 0 ? "null" : e.digest_ok ? "true" : "false", e.data_len, e.record_len);
	for (size_t d = 0; d < e.n_digests; d++) {
		printf("%s\"%s\":\"", d ? "," : "", alg_name(e.digests[d].alg, buf, sizeof(buf)));
		hex(stdout, e.digests[d].value, e.digests[d].size);
		printf("\"");
	}
	printf("},\"missing_banks\":[");
	for (size_t b = 0, k = 0; b < in->n_banks; b++)
		if (e.missing_banks & (1u << b))
			printf("%s\"%s\"", k++ ? "," : "", alg_name(in->bank_alg[b], buf, sizeof(buf)));
	printf("],\"description\":");
	cli_json_string(stdout, desc);
	printf(",\"data\":\"");
	hex(stdout, e.data, e.data_len);
	printf("\",\"decoded\":");
	dec = bd_event_decoded_json(log, i);
	printf("%s", dec ? dec : "null");
	free(dec);
	if (e.n_sipa) {
		printf(",\"sipa\":[");
		for (size_t j = 0; j < e.n_sipa; j++) {
			struct bd_sipa_event s;
			bd_event_sipa(log, i, j, &s);
			bd_sipa_describe(&s, desc, sizeof(desc));
			printf("%s{\"type\":%" PRIu32 ",\"name\":", j ? "," : "", s.type);
			cli_json_string(stdout, s.name ? s.name : "unknown");
			printf(",\"depth\":%u,\"value\":", s.depth);
			cli_json_string(stdout, desc);
			printf(",\"data\":\"");
			hex(stdout, s.data, s.len);
			printf("\"}");
		}
		printf("]");
	}
	printf("}");
}

static void text_event(const bd_eventlog *log, size_t i, bool brief)
{
	struct bd_event e;
	char desc[4096], buf[32];

	bd_eventlog_event(log, i, &e);
	bd_event_describe(log, i, desc, sizeof(desc));
	if (e.pcr == 0xFFFFFFFFu)
		printf("%4zu  PCR --  %s%s  %s\n", i, e.type_name, e.digest_ok == 0 ? " !" : "", desc);
	else
		printf("%4zu  PCR %2" PRIu32 "  %s%s  %s\n", i, e.pcr, e.type_name, e.digest_ok == 0 ? " !" : "", desc);
	if (brief)
		return;
	for (size_t d = 0; d < e.n_digests && e.measured; d++) {
		printf("            %-7s ", alg_name(e.digests[d].alg, buf, sizeof(buf)));
		hex(stdout, e.digests[d].value, e.digests[d].size);
		if (e.digest_ok == 0)
			print_digest_state(&e.digests[d]);
		printf("\n");
	}
	if (e.missing_banks)
		printf("            (a bank's digest is missing: that bank cannot be replayed)\n");
	for (size_t j = 0; j < e.n_sipa; j++) {
		struct bd_sipa_event s;
		bd_event_sipa(log, i, j, &s);
		bd_sipa_describe(&s, desc, sizeof(desc));
		printf("            %*s%s %s\n", (int)s.depth * 2, "", s.name ? s.name : "unknown", desc);
	}
	for (size_t j = 0, n = bd_event_gpt_count(log, i); j < n; j++) {
		struct bd_gpt_partition p;
		char g[37];
		if (bd_event_gpt_partition(log, i, j, &p))
			break;
		static const uint8_t zero[16];
		if (!memcmp(p.type_guid, zero, 16))
			continue;   /* unused entry */
		bd_guid_format(p.unique_guid, g);
		printf("            partition %zu: LBA %" PRIu64 "-%" PRIu64 " %s \"%s\" {%s}\n", j + 1, p.first_lba,
		       p.last_lba, p.type_name[0] ? p.type_name : "type", p.name, g);
	}
}

/* One event in full: the decoded view and the record's bytes. */
static void text_event_raw(const bd_eventlog *log, size_t i)
{
	struct bd_event e;

	text_event(log, i, false);
	bd_eventlog_event(log, i, &e);
	for (size_t d = 0; d < e.n_digests; d++)
		if (e.digests[d].matches_data >= 0) {
			char buf[32];
			printf("            %s digest is %sthe hash of the data\n", alg_name(e.digests[d].alg, buf, sizeof(buf)),
			       e.digests[d].matches_data ? "" : "NOT ");
		}
	printf("\nRecord %zu at offset %" PRIu64 " (0x%" PRIx64 "), %zu bytes (event data: %zu bytes at offset %" PRIu64 "):\n",
	       i, e.offset, e.offset, e.record_len, e.data_len, e.offset + (uint64_t)(e.record_len - e.data_len));
	for (size_t o = 0; o < e.record_len; o += 16) {
		printf("  %08" PRIx64 "  ", e.offset + o);
		for (size_t k = 0; k < 16; k++) {
			if (o + k < e.record_len)
				printf("%02x ", e.record[o + k]);
			else
				printf("   ");
			if (k == 7)
				printf(" ");
		}
		printf(" |");
		for (size_t k = 0; k < 16 && o + k < e.record_len; k++) {
			uint8_t ch = e.record[o + k];
			putchar(ch >= 0x20 && ch < 0x7f ? ch : '.');
		}
		printf("|\n");
	}
}

/* show --index N: one event, raw. */
static int show_event(bd_eventlog *log, const struct bd_eventlog_info *in, const char *path, bool json, long index)
{
	if ((size_t)index >= in->n_events) {
		cli_error("%s has %zu events (0-%zu); there is no event %ld", path, in->n_events, in->n_events - 1, index);
		return EXIT_USAGE;
	}
	if (json) {
		printf("{\"file\":");
		cli_json_string(stdout, path);
		printf(",\"event\":");
		json_event(log, in, (size_t)index);
		printf("}\n");
	} else {
		printf("Log:     %s\n\n", path);
		text_event_raw(log, (size_t)index);
	}
	return EXIT_OK;
}

/* The log's facts before its events: file, format, banks, completeness. */
static void show_header(const struct bd_eventlog_info *in, const char *path, bool json)
{
	char buf[32];

	if (json) {
		printf("{\"file\":");
		cli_json_string(stdout, path);
		printf(",\"size\":%zu,\"format\":\"%s\",\"banks\":[", in->size, in->crypto_agile ? "crypto-agile" : "legacy");
		for (size_t b = 0; b < in->n_banks; b++)
			printf("%s\"%s\"", b ? "," : "", alg_name(in->bank_alg[b], buf, sizeof(buf)));
		printf("],\"unusable_banks\":[");
		for (size_t b = 0, k = 0; b < in->n_banks; b++)
			if (in->bank_missing[b])
				printf("%s{\"bank\":\"%s\",\"records_missing_digest\":%zu,\"first_index\":%zu}", k++ ? "," : "",
				       alg_name(in->bank_alg[b], buf, sizeof(buf)), in->bank_missing[b], in->bank_missing_first[b]);
		printf("],\"startup_locality\":");
		if (in->startup_locality >= 0)
			printf("%d", in->startup_locality);
		else
			printf("null");
		printf(",\"complete\":%s,\"incomplete\":", in->complete ? "true" : "false");
		if (in->complete)
			printf("null");
		else
			cli_json_string(stdout, in->incomplete);
		printf(",\"digest_mismatches\":%d,\"error_separators\":%d,\"events\":[", in->digest_mismatches,
		       in->error_separators);
		return;
	}
	printf("Log:     %s (%zu bytes, %s", path, in->size,
	       in->crypto_agile ? "crypto-agile, banks" : "legacy SHA-1 format");
	if (in->crypto_agile)
		for (size_t b = 0; b < in->n_banks; b++)
			printf(" %s", alg_name(in->bank_alg[b], buf, sizeof(buf)));
	printf(")\nEvents:  %zu\n", in->n_events);
	if (in->startup_locality >= 0)
		printf("StartupLocality: %d (PCR 0 starts at ...%02x)\n", in->startup_locality, in->startup_locality);
	if (in->digest_mismatches)
		printf("Note:    %d event(s) whose digest is not the hash of their data (marked !)\n",
		       in->digest_mismatches);
	for (size_t b = 0; b < in->n_banks; b++)
		if (in->bank_missing[b])
			printf("Note:    the %s bank cannot be replayed: %zu measured event(s) lack its digest "
			       "(first: event %zu)\n", alg_name(in->bank_alg[b], buf, sizeof(buf)), in->bank_missing[b],
			       in->bank_missing_first[b]);
	if (!in->complete)
		printf("Note:    the log looks incomplete at offset %" PRIu64 ": %s\n", in->incomplete_offset,
		       in->incomplete);
	printf("\n");
}

/* The replayed PCRs of every bank that can be replayed. */
static void show_pcrs(bd_eventlog *log, const struct bd_eventlog_info *in, bool json)
{
	char buf[32];

	if (json)
		printf("],\"pcrs\":{");
	else
		printf("\nReplayed PCRs:\n");
	for (size_t b = 0, nb = 0; b < in->n_banks; b++) {
		uint8_t v[64];
		size_t len;
		if (!in->bank_replayed[b])
			continue;
		if (json)
			printf("%s\"%s\":{", nb++ ? "," : "", alg_name(in->bank_alg[b], buf, sizeof(buf)));
		else
			printf("  %s:\n", alg_name(in->bank_alg[b], buf, sizeof(buf)));
		for (unsigned p = 0; p < BD_PCR_COUNT; p++) {
			if (bd_eventlog_pcr(log, in->bank_alg[b], p, v, &len))
				continue;
			if (json) {
				printf("%s\"%u\":\"", p ? "," : "", p);
				hex(stdout, v, len);
				printf("\"");
			} else {
				printf("    %2u : ", p);
				hex(stdout, v, len);
				printf("\n");
			}
		}
		if (json)
			printf("}");
	}
}

/* The JSON trailer: Secure Boot, firmware, the quote and what Windows measured. */
static void show_trailer_json(const struct bd_eventlog_info *in, const struct bd_quote_check *qc)
{
	printf("},\"secure_boot\":%s,\"crtm_version\":", in->secure_boot < 0 ? "null" : in->secure_boot ? "true" : "false");
	cli_json_string(stdout, in->crtm_version);
	printf(",\"quote\":");
	elc_quote_json(qc);
	printf(",\"windows\":");
	if (!in->windows) {
		printf("null}\n");
		return;
	}
	char flags[128];
	printf("{\"boot_count\":");
	if (in->has_boot_count)
		printf("%" PRIu64, in->boot_count);
	else
		printf("null");
	printf(",\"unlock_flags\":");
	if (in->has_unlock) {
		bd_unlock_flags_format(in->unlock_flags, flags, sizeof(flags));
		printf("%" PRIu32 ",\"unlock\":", in->unlock_flags);
		cli_json_string(stdout, flags);
		printf(",\"unlocked_by_tpm\":%s,\"recovery\":%s",
		       in->unlock_flags & BD_UNLOCK_TPM ? "true" : "false",
		       in->unlock_flags & BD_UNLOCK_RECOVERY ? "true" : "false");
	} else {
		printf("null,\"unlock\":null");
	}
	printf(",");
	json_tristate(stdout, "boot_debugging", in->boot_debugging);
	printf(",");
	json_tristate(stdout, "kernel_debugging", in->kernel_debugging);
	printf(",");
	json_tristate(stdout, "test_signing", in->test_signing);
	printf(",");
	json_tristate(stdout, "code_integrity", in->code_integrity);
	printf(",\"tpm_failure\":%s,\"first_module\":", in->tpm_failure ? "true" : "false");
	cli_json_string(stdout, in->boot_manager);
	printf("}}\n");
}

static int show(const char *path, bool json, bool brief, long index, const char *aik_path)
{
	struct bd_quote_check qc;
	uint8_t *aik = NULL;
	size_t aik_len = 0;

	bd_eventlog *log;
	struct bd_eventlog_info in;
	int r;

	if (aik_path && !(aik = elc_read_file(aik_path, 1 << 20, &aik_len)))
		return EXIT_IO;
	r = bd_eventlog_open(path, &log);
	if (r) {
		free(aik);
		return cli_fail(r, NULL);
	}
	bd_eventlog_info(log, &in);
	bd_eventlog_quote(log, aik, aik_len, &qc);
	free(aik);
	if (index >= 0) {
		r = show_event(log, &in, path, json, index);
		bd_eventlog_free(log);
		return r;
	}
	show_header(&in, path, json);
	for (size_t i = 0; i < in.n_events; i++) {
		if (json) {
			if (i)
				printf(",");
			json_event(log, &in, i);
		} else {
			text_event(log, i, brief);
		}
	}
	show_pcrs(log, &in, json);
	if (json) {
		show_trailer_json(&in, &qc);
	} else {
		printf("\nSecure Boot:       %s\n", tristate(in.secure_boot, "on", "OFF"));
		if (in.crtm_version[0])
			printf("Firmware (S-CRTM): %s\n", in.crtm_version);
		if (in.error_separators)
			printf("Firmware errors:   %d error separator(s)\n", in.error_separators);
		print_windows_text(&in);
		if (qc.present || qc.detail[0]) {
			printf("\nTPM quote:\n");
			elc_quote_text(&qc, "  ");
		}
	}
	bd_eventlog_free(log);
	return EXIT_OK;
}

/* Parse tpm2_pcrread YAML (also the pcrs: section of tpm2_eventlog): "sha256:" then "  0 : 0xHEX". */
struct pcrfile {
	uint16_t alg[BD_EVENTLOG_MAX_BANKS];
	size_t n;
	uint32_t have[BD_EVENTLOG_MAX_BANKS];
	uint8_t v[BD_EVENTLOG_MAX_BANKS][BD_PCR_COUNT][64];
	size_t len[BD_EVENTLOG_MAX_BANKS];
};

static int read_pcrfile(const char *path, struct pcrfile *pf)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int bank = -1, lineno = 0;

	memset(pf, 0, sizeof(*pf));
	if (!f) {
		cli_error("cannot open %s: %s", path, strerror(errno));
		return EXIT_IO;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		lineno++;
		while (isspace((unsigned char)*p) || *p == '-')
			p++;
		if (!*p || *p == '#')
			continue;
		if (isalpha((unsigned char)*p)) {
			char name[32];
			size_t k = 0;
			while ((isalnum((unsigned char)*p) || *p == '_' || *p == '-') && k + 1 < sizeof(name))
				name[k++] = *p++;
			name[k] = 0;
			int alg = (*p == ':') ? bd_hash_alg_parse(name) : -1;
			if (alg > 0) {
				bank = -1;
				for (size_t i = 0; i < pf->n; i++)
					if (pf->alg[i] == alg)
						bank = (int)i;
				if (bank < 0 && pf->n < BD_EVENTLOG_MAX_BANKS) {
					bank = (int)pf->n++;
					pf->alg[bank] = (uint16_t)alg;
				}
			} else {
				bank = -1; /* "pcrs:", "selected:" ... */
			}
			continue;
		}
		if (!isdigit((unsigned char)*p) || bank < 0)
			continue;
		unsigned long idx = strtoul(p, &end, 10);
		while (isspace((unsigned char)*end))
			end++;
		if (*end != ':' || idx >= BD_PCR_COUNT) {
			cli_error("%s:%d: expected 'INDEX : 0xHEX'", path, lineno);
			fclose(f);
			return EXIT_USAGE;
		}
		end++;
		while (isspace((unsigned char)*end))
			end++;
		if (end[0] == '0' && (end[1] == 'x' || end[1] == 'X'))
			end += 2;
		size_t n = 0;
		while (isxdigit((unsigned char)end[0]) && isxdigit((unsigned char)end[1]) && n < 64) {
			unsigned v;
			sscanf(end, "%2x", &v);
			pf->v[bank][idx][n++] = (uint8_t)v;
			end += 2;
		}
		if (!n) {
			cli_error("%s:%d: no hex value for PCR %lu", path, lineno, idx);
			fclose(f);
			return EXIT_USAGE;
		}
		pf->len[bank] = n;
		pf->have[bank] |= 1u << idx;
	}
	fclose(f);
	if (!pf->n) {
		cli_error("%s holds no PCR values (expected tpm2_pcrread output: 'sha256:' then '  0 : 0x...')", path);
		return EXIT_USAGE;
	}
	return 0;
}

static int verify(const char *path, const char *pcrpath, bool json)
{
	bd_eventlog *log;
	struct pcrfile *pf = calloc(1, sizeof(*pf));
	int r, mismatches = 0, compared = 0;
	bool first = true;
	char buf[32];

	if (!pf)
		return EXIT_FAILURE_OTHER;
	if ((r = read_pcrfile(pcrpath, pf))) {
		free(pf);
		return r;
	}
	if ((r = bd_eventlog_open(path, &log))) {
		free(pf);
		return cli_fail(r, NULL);
	}
	if (json)
		printf("{\"file\":"), cli_json_string(stdout, path), printf(",\"results\":[");
	for (size_t b = 0; b < pf->n; b++) {
		for (unsigned p = 0; p < BD_PCR_COUNT; p++) {
			uint8_t v[64];
			size_t len;
			const char *status;
			if (!(pf->have[b] & (1u << p)))
				continue;
			r = bd_eventlog_pcr(log, pf->alg[b], p, v, &len);
			if (r)
				status = "not-in-log";
			else if (len != pf->len[b] || memcmp(v, pf->v[b][p], len))
				status = "MISMATCH", mismatches++;
			else
				status = "match";
			if (!r)
				compared++;
			if (json) {
				printf("%s{\"bank\":\"%s\",\"pcr\":%u,\"status\":\"%s\",\"tpm\":\"", first ? "" : ",",
				       alg_name(pf->alg[b], buf, sizeof(buf)), p, status);
				first = false;
				hex(stdout, pf->v[b][p], pf->len[b]);
				printf("\",\"log\":\"");
				if (!r)
					hex(stdout, v, len);
				printf("\"}");
			} else if (r || strcmp(status, "match") || cli_verbose) {
				printf("%-7s PCR %2u: %s\n", alg_name(pf->alg[b], buf, sizeof(buf)), p, status);
				if (!r && strcmp(status, "match")) {
					printf("    TPM: "), hex(stdout, pf->v[b][p], pf->len[b]), printf("\n");
					printf("    log: "), hex(stdout, v, len), printf("\n");
				}
			}
		}
	}
	if (json)
		printf("],\"compared\":%d,\"mismatches\":%d}\n", compared, mismatches);
	else if (!mismatches && compared)
		printf("OK: %d PCR value(s) replayed from the log match the TPM\n", compared);
	else if (!compared)
		printf("nothing compared: the PCR file has no bank that the log records\n");
	else
		printf("FAILED: %d of %d PCR value(s) differ: the log does not describe the boot the TPM measured\n",
		       mismatches, compared);
	bd_eventlog_free(log);
	free(pf);
	return mismatches || !compared ? EXIT_FAILURE_OTHER : EXIT_OK;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bdkit eventlog show LOG [--json] [--brief] [--index N] [--aik FILE]\n"
		"       bdkit eventlog verify LOG --pcrs FILE [--json]\n"
		"Read a TPM measured-boot log (C:\\Windows\\Logs\\MeasuredBoot\\*.log, or\n"
		"/sys/kernel/security/tpm0/binary_bios_measurements): legacy SHA-1 or crypto-agile.\n\n"
		"  show     list the events (PCR, type, decoded payload, digests, Windows SIPA events),\n"
		"           the PCR values replayed for every bank, and the Windows boot facts\n"
		"           (boot count, how BitLocker unlocked, debugging, test signing)\n"
		"  verify   compare the replayed PCRs with values read from the TPM\n"
		"           (tpm2_pcrread output, YAML); exit 1 when any differs\n\n"
		"Options:\n"
		"      --json         machine-readable output\n"
		"      --brief        show: leave out digests and SIPA details\n"
		"      --aik FILE     show: the AIK public key (PEM or DER) that verifies the signature of\n"
		"                     the TPM quote Windows logs carry at their end\n"
		"      --index N      show: only event N, in full: decoded fields, digest checks and the\n"
		"                     record's bytes (diagnose names events by this index and offset)\n"
		"      --pcrs FILE    verify: PCR values from tpm2_pcrread (e.g. tpm2_pcrread sha256 > FILE)\n"
		"  -h, --help         this help\n");
}

int cmd_eventlog(int argc, char **argv)
{
	enum { OPT_JSON = OPT_CLI_LAST + 1, OPT_BRIEF, OPT_PCRS, OPT_INDEX, OPT_AIK };
	static const struct option opts[] = {
		{ "json", no_argument, 0, OPT_JSON }, { "brief", no_argument, 0, OPT_BRIEF },
		{ "index", required_argument, 0, OPT_INDEX }, { "aik", required_argument, 0, OPT_AIK },
		{ "pcrs", required_argument, 0, OPT_PCRS }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	bool json = false, brief = false;
	const char *pcrs = NULL, *aik = NULL;
	long index = -1;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: json = true; break;
		case OPT_BRIEF: brief = true; break;
		case OPT_PCRS: pcrs = optarg; break;
		case OPT_AIK: aik = optarg; break;
		case OPT_INDEX: {
			char *end;
			errno = 0;
			index = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || index < 0) {
				cli_error("--index: '%s' is not an event number (0, 1, ...)", optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[optind], "show")) {
		if (pcrs) {
			cli_error("--pcrs belongs to 'eventlog verify'");
			return EXIT_USAGE;
		}
		return show(argv[optind + 1], json, brief, index, aik);
	}
	if (!strcmp(argv[optind], "verify")) {
		if (!pcrs) {
			cli_error("eventlog verify needs --pcrs FILE (tpm2_pcrread output)");
			return EXIT_USAGE;
		}
		return verify(argv[optind + 1], pcrs, json);
	}
	cli_error("unknown eventlog action '%s' (show, verify)", argv[optind]);
	usage(stderr);
	return EXIT_USAGE;
}
