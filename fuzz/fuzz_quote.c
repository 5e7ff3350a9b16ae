/* libFuzzer harness for TPM quote structures (TPMS_ATTEST, TPM_QUOTE_INFO/INFO2) and Windows'
 * trust-point record (lib/tcg_quote.c): parsed alone, and as the last record of a small log whose
 * replay the quote is checked against, with the input also tried as the AIK public key.
 * Seeds: fuzz/seeds.sh cuts the real Windows log's trust point and builds TPM 2.0 quotes at run time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bdkit.h"

static size_t put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
	return 4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bd_quote q;
	struct bd_trustpoint tp;
	struct bd_quote_check qc;
	bd_eventlog *log = NULL;
	uint8_t *buf;
	size_t n = 0;

	bd_quote_parse(data, size, &q);
	bd_trustpoint_parse(data, size, &tp);
	if (size > (1u << 20))
		return 0;
	/* a legacy SHA-1 log: one PCR 4 separator, then the input as Windows' trailing trust-point record */
	buf = malloc(2 * 32 + 4 + size);
	if (!buf)
		return 0;
	n += put32(buf + n, 4);
	n += put32(buf + n, 4);
	memset(buf + n, 0x11, 20);
	n += 20;
	n += put32(buf + n, 4);
	n += put32(buf + n, 0);
	n += put32(buf + n, 0xFFFFFFFFu);
	n += put32(buf + n, 3);
	memset(buf + n, 0, 20);
	n += 20;
	n += put32(buf + n, (uint32_t)size);
	memcpy(buf + n, data, size);
	n += size;
	if (!bd_eventlog_parse(buf, n, &log)) {
		bd_eventlog_quote(log, NULL, 0, &qc);
		bd_eventlog_quote(log, data, size, &qc);
		bd_eventlog_free(log);
	}
	free(buf);
	return 0;
}
