/* libFuzzer harness for the measured-boot log parser, replay, payload decoders and diagnosis.
 * Seeds: made at run time by fuzz/seeds.sh (the small logs of ../shared/testdata/eventlogs). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bdkit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bd_eventlog *log = NULL;
	struct bd_eventlog_info in;
	char text[1024];

	if (bd_eventlog_parse(data, size, &log))
		return 0;
	bd_eventlog_info(log, &in);
	for (size_t i = 0; i < in.n_events; i++) {
		struct bd_event e;
		bd_eventlog_event(log, i, &e);
		bd_event_describe(log, i, text, sizeof(text));
		free(bd_event_decoded_json(log, i));
		for (size_t j = 0, np = bd_event_gpt_count(log, i); j < np; j++) {
			struct bd_gpt_partition gp;
			bd_event_gpt_partition(log, i, j, &gp);
		}
		for (size_t j = 0; j < e.n_sipa; j++) {
			struct bd_sipa_event s;
			bd_event_sipa(log, i, j, &s);
			bd_sipa_describe(&s, text, sizeof(text));
		}
	}
	for (size_t b = 0; b < in.n_banks; b++)
		for (unsigned p = 0; p < BD_PCR_COUNT; p++) {
			uint8_t v[64];
			size_t len;
			bd_eventlog_pcr(log, in.bank_alg[b], p, v, &len);
		}
	struct bd_quote_check qc;
	bd_eventlog_quote(log, NULL, 0, &qc);
	/* the diagnosis walks every payload again (alignment keys, platform facts) */
	struct bd_diagnosis *d = NULL;
	struct bd_diag_opts o = BD_DIAG_OPTS_INIT(.pcr_mask = 0x00FFFFFF);
	if (!bd_diagnose(log, log, &o, &d))
		bd_diagnosis_free(d);
	if (!bd_diagnose(NULL, log, NULL, &d))
		bd_diagnosis_free(d);
	/* a near twin (one byte changed in the second half) exercises the event alignment and rules */
	uint8_t *twin = malloc(size);
	bd_eventlog *log2 = NULL;
	if (twin && size > 64) {
		memcpy(twin, data, size);
		twin[size / 2 + (data[size - 1] % (size / 2))] ^= 0x01 | data[size / 3];
		if (!bd_eventlog_parse(twin, size, &log2)) {
			if (!bd_diagnose(log, log2, &o, &d))
				bd_diagnosis_free(d);
			/* both as boots of a folder: summaries, volatile keys, identity */
			bd_bootset *set = NULL;
			size_t g, b;
			if (!bd_bootset_new(&set) && !bd_bootset_add(set, "0000000001-0000000000.log", log, NULL) &&
			    !bd_bootset_add(set, "0000000001-0000000001.log", log, NULL) &&
			    !bd_bootset_add(set, "0000000002-0000000000.log", log2, NULL)) {
				struct bd_diag_opts bo = BD_DIAG_OPTS_INIT(.pcr_mask = 0x815, .boots = set, .good_id = 0, .bad_id = 2);
				bd_bootset_pick(set, &g, &b);
				if (!bd_diagnose(log, log2, &bo, &d))
					bd_diagnosis_free(d);
			}
			bd_bootset_free(set);
			bd_eventlog_free(log2);
		}
	}
	free(twin);
	bd_eventlog_free(log);
	return 0;
}
