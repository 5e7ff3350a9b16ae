/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pieces shared by `bdkit eventlog` and `bdkit diagnose`. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog_cli.h"

uint8_t *elc_read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n = 0, cap = 4096;

	if (!f) {
		cli_error("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
		if (n == cap) {
			if (cap > max) {
				cli_error("%s is larger than %zu bytes", path, max);
				free(buf);
				fclose(f);
				return NULL;
			}
			uint8_t *p = realloc(buf, cap * 2);
			if (!p) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = p;
			cap *= 2;
		}
	}
	if (!buf || ferror(f)) {
		cli_error("cannot read %s", path);
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	if (n > max) {
		cli_error("%s is larger than %zu bytes", path, max);
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

void elc_hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

int elc_parse_pcr_list(const char *s, uint32_t *mask)
{
	char *end;

	*mask = 0;
	while (*s) {
		unsigned long a = strtoul(s, &end, 10), b = a;
		if (end == s)
			return -1;
		if (*end == '-') {
			s = end + 1;
			b = strtoul(s, &end, 10);
			if (end == s)
				return -1;
		}
		if (a > 23 || b > 23 || b < a)
			return -1;
		for (unsigned long i = a; i <= b; i++)
			*mask |= 1u << i;
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	return *mask ? 0 : -1;
}

void elc_pcr_list(uint32_t mask, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = 0;
	for (unsigned i = 0; i < BD_PCR_COUNT && o < outlen; i++) {
		unsigned j = i;
		if (!(mask & (1u << i)))
			continue;
		while (j + 1 < BD_PCR_COUNT && (mask & (1u << (j + 1))))
			j++;
		if (j > i + 1)
			o += (size_t)snprintf(out + o, outlen - o, "%s%u-%u", o ? "," : "", i, j);
		else if (j == i + 1)
			o += (size_t)snprintf(out + o, outlen - o, "%s%u,%u", o ? "," : "", i, j);
		else
			o += (size_t)snprintf(out + o, outlen - o, "%s%u", o ? "," : "", i);
		i = j;
	}
	if (!out[0])
		snprintf(out, outlen, "none");
}

const char *elc_quote_verdict(const struct bd_quote_check *q)
{
	if (!q->present)
		return "no TPM quote in the log";
	if (q->matches == 1)
		return "log matches the TPM's quote";
	if (q->matches == 0)
		return "log does NOT match the TPM's quote";
	return "the TPM's quote could not be checked";
}

static const char *sig_verdict(const struct bd_quote_check *q)
{
	return q->signature == 1 ? "signature verified with the AIK"
	       : q->signature == 0 ? "signature does NOT verify with the AIK given"
				   : "signature not checked (no AIK public key; give --aik)";
}

void elc_quote_text(const struct bd_quote_check *q, const char *indent)
{
	char sel[160] = "", part[64];
	const char *an;

	if (!q->present) {
		if (q->detail[0])
			printf("%sTrust-point record not read: %s\n", indent, q->detail);
		return;
	}
	for (size_t s = 0; s < q->quote.n_selections; s++) {
		elc_pcr_list(q->quote.sel_mask[s], part, sizeof(part));
		an = bd_hash_alg_name(q->quote.sel_alg[s]);
		snprintf(sel + strlen(sel), sizeof(sel) - strlen(sel), "%s%s:%s", s ? " " : "", an ? an : "?", part);
	}
	printf("%s%s (trust-point record, event %zu at offset %" PRIu64 ")\n", indent, elc_quote_verdict(q), q->index,
	       q->offset);
	printf("%s  TPM %s quote of PCRs %s; PCR digest %s ", indent, q->quote.tpm_version == 1 ? "1.2" : "2.0",
	       q->quote.selection_unknown ? "(not named)" : sel,
	       bd_hash_alg_name(q->quote.digest_alg) ? bd_hash_alg_name(q->quote.digest_alg) : "");
	elc_hex(stdout, q->quote.pcr_digest, q->quote.digest_len);
	printf("\n");
	if (q->matches == 0) {
		printf("%s  replayed PCRs give                   ", indent);
		elc_hex(stdout, q->replay_digest, q->quote.digest_len);
		printf("\n%s  the log was changed or is not the log of the boot the TPM measured\n", indent);
	}
	if (q->matches < 0 && q->detail[0])
		printf("%s  %s\n", indent, q->detail);
	printf("%s  %s%s%s%s\n", indent, sig_verdict(q), q->signature_scheme[0] ? " (" : "", q->signature_scheme,
	       q->signature_scheme[0] ? ")" : "");
	if (q->aik_name[0] || q->has_aik_digest) {
		printf("%s  AIK: %s", indent, q->aik_name[0] ? q->aik_name : "");
		if (q->has_aik_digest) {
			printf(", public key digest ");
			elc_hex(stdout, q->aik_digest, 20);
		}
		if (q->aik_digest_matches >= 0)
			printf(q->aik_digest_matches ? " (= the key used)" : " (the key used has another digest)");
		printf("\n");
	}
}

void elc_quote_json(const struct bd_quote_check *q)
{
	if (!q->present) {
		printf("null");
		return;
	}
	printf("{\"index\":%zu,\"offset\":%" PRIu64 ",\"tpm_version\":\"%s\",\"matches\":%s,\"verdict\":", q->index, q->offset,
	       q->quote.tpm_version == 1 ? "1.2" : "2.0", q->matches < 0 ? "null" : q->matches ? "true" : "false");
	cli_json_string(stdout, elc_quote_verdict(q));
	printf(",\"selections\":[");
	for (size_t s = 0; s < q->quote.n_selections; s++) {
		const char *an = bd_hash_alg_name(q->quote.sel_alg[s]);
		printf("%s{\"bank\":\"%s\",\"pcrs\":[", s ? "," : "", an ? an : "");
		for (unsigned p = 0, k = 0; p < BD_PCR_COUNT; p++)
			if (q->quote.sel_mask[s] & (1u << p))
				printf("%s%u", k++ ? "," : "", p);
		printf("]}");
	}
	printf("],\"quoted_digest\":\"");
	elc_hex(stdout, q->quote.pcr_digest, q->quote.digest_len);
	printf("\",\"replay_digest\":");
	if (q->matches >= 0) {
		printf("\"");
		elc_hex(stdout, q->replay_digest, q->quote.digest_len);
		printf("\"");
	} else {
		printf("null");
	}
	printf(",\"nonce\":\"");
	elc_hex(stdout, q->quote.nonce, q->quote.nonce_len);
	printf("\",\"signature\":%s,\"aik\":", q->signature < 0 ? "null" : q->signature ? "true" : "false");
	cli_json_string(stdout, q->aik_name);
	printf(",\"aik_digest\":");
	if (q->has_aik_digest) {
		printf("\"");
		elc_hex(stdout, q->aik_digest, 20);
		printf("\"");
	} else {
		printf("null");
	}
	printf(",\"detail\":");
	cli_json_string(stdout, q->detail);
	printf("}");
}

void elc_evidence_json_open(const struct bd_evidence *e)
{
	printf("{\"text\":");
	cli_json_string(stdout, e->text);
	printf(",\"pcr\":");
	if (e->pcr < BD_PCR_COUNT)
		printf("%u", e->pcr);
	else
		printf("null");
}

void elc_event_ref_json(long index, uint64_t offset)
{
	if (index < 0)
		printf("null");
	else
		printf("{\"index\":%ld,\"offset\":%" PRIu64 "}", index, offset);
}
