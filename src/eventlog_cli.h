/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pieces shared by `bdkit eventlog` and `bdkit diagnose`: small file reads, hex, the quote check. */
#ifndef BDKIT_EVENTLOG_CLI_H
#define BDKIT_EVENTLOG_CLI_H

#include <stdio.h>

#include "cli.h"

/* Read a whole (small) file; NULL with a message printed when it cannot be read or is over max bytes. */
uint8_t *elc_read_file(const char *path, size_t max, size_t *len);
void elc_hex(FILE *f, const uint8_t *p, size_t n);
/* "0-6,8-10,12-15" */
void elc_pcr_list(uint32_t mask, char *out, size_t outlen);
/* "7,11" or "0-4,7": the PCRs 0-23 named; 0 or -1 (malformed, out of range or none) */
int elc_parse_pcr_list(const char *s, uint32_t *mask);
/* JSON of a piece of evidence: opens the object with its "text" and "pcr" (null when none); the caller
 * adds its event references and the closing brace. An event reference: {"index":N,"offset":N} or null. */
void elc_evidence_json_open(const struct bd_evidence *e);
void elc_event_ref_json(long index, uint64_t offset);
/* The quote check of one log, as text lines (indent before each) or as a JSON value. */
void elc_quote_text(const struct bd_quote_check *q, const char *indent);
void elc_quote_json(const struct bd_quote_check *q);
/* One-line verdict: "log matches the TPM's quote" ... */
const char *elc_quote_verdict(const struct bd_quote_check *q);

#endif
