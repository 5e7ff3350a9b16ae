/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbdkit: key searches: damaged recovery passwords, keys in memory images.
 * Part of the public API; <bdkit/bdkit.h> includes every wing header (conventions there).
 */
#ifndef BDKIT_SEARCH_H
#define BDKIT_SEARCH_H

#include "fve.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/* Recovery-password search (issue: rpsearch)                            */
/* ===================================================================== */

/*
 * Find a recovery password the user has only in damaged form: unreadable
 * digits ('?' or 'x'), a lost block ("??????" or "*"), misread or mistyped
 * digits, swapped adjacent digits, two blocks written in each other's place.
 * Each block is checked alone first (value a multiple of 11 and below 720896,
 * format.md §4.4; Windows' check digit d5 = (d0-d1+d2-d3+d4) mod 11 is the same
 * condition), so only whole candidates that pass cost a key stretch.
 * Candidates are numbered 0..count-1, fewest changes first; a search can be
 * stopped and continued from "every candidate below index N was tried".
 */
typedef struct bd_rpsearch bd_rpsearch;

/* bd_rp_block_check() result bits (0 = a valid block). Prefixes: BD_RPB_CHECK_* these bits,
 * BD_RPB_* (enum bd_rpb_status) how a block was read; BD_RPS_EDIT_* edit kinds, BD_RPS_* (enum
 * bd_rps_status) the state of a run. */
enum bd_rpb_check { BD_RPB_CHECK_NOT_MULT11 = 1, BD_RPB_CHECK_TOO_LARGE = 2 };
int bd_rp_block_check(uint32_t value);
/* Windows' check digit for the first five digits "d0..d4" of a block; -1 when it
 * would be 10 (no valid block starts with those five digits). */
int bd_rp_check_digit(const char first5[5]);

/* Kinds of change a search may assume (bd_rpsearch_opts.edits). */
enum bd_rps_edit {
	BD_RPS_EDIT_MISREAD    = 0x01,  /* a digit replaced by one commonly confused with it */
	BD_RPS_EDIT_ANY_DIGIT  = 0x02,  /* a digit replaced by any other */
	BD_RPS_EDIT_TRANSPOSE  = 0x04,  /* two adjacent digits of a block swapped */
	BD_RPS_EDIT_SWAP_BLOCKS = 0x08, /* two blocks written in each other's place (one change) */
};
/* The built-in confusion table: digit pairs "06 08 09 14 17 27 35 38 49 56 58 68 79 89". */
extern const char bd_rps_default_confusions[];

struct bd_rpsearch_opts {
	size_t size;  /* sizeof(struct bd_rpsearch_opts): set by BD_RPSEARCH_OPTS_INIT(...) */
	unsigned edits;          /* BD_RPS_EDIT_*; 0 = none, except that blocks failing the check are then
				    searched with BD_RPS_EDIT_ANY_DIGIT | BD_RPS_EDIT_TRANSPOSE (auto) */
	int max_changes;         /* changed digits per searched block, 0..6; < 0 = default (1) */
	uint8_t suspect;         /* bit i: search around block i+1 although it passes the check */
	const char *confusions;  /* pairs of digits ("17,38"); NULL = bd_rps_default_confusions */
};
#define BD_RPSEARCH_OPTS_INIT(...) { .size = sizeof(struct bd_rpsearch_opts), __VA_ARGS__ }

/* Parse the pattern and enumerate. BD_ERR_INVALID (message names the block) for a
 * pattern that is not 8 blocks of 5-7 digits/unknowns, BD_ERR_UNSUPPORTED when the
 * search is too large to number (more than 2^62 candidates). An impossible pattern
 * is not an error: its count is 0 and bd_rpsearch_block() names the culprit. */
int bd_rpsearch_new(const char *pattern, const struct bd_rpsearch_opts *opts, bd_rpsearch **out);
void bd_rpsearch_free(bd_rpsearch *s);

/* How a block was read. */
enum bd_rpb_status {
	BD_RPB_KEPT = 0,       /* valid as typed, kept (not searched) */
	BD_RPB_UNKNOWN,        /* has unknown digits */
	BD_RPB_BAD,            /* all digits known but fails the check */
	BD_RPB_SUSPECT,        /* valid, searched because the caller marked it */
	BD_RPB_LENGTH,         /* 5 or 7 digits: one dropped or one extra */
};
struct bd_rpsearch_block {
	char typed[8];         /* normalised: digits and '?' */
	int status;            /* enum bd_rpb_status */
	int check;             /* bd_rp_block_check() of the typed value (BD_RPB_BAD), else 0 */
	uint64_t candidates;   /* values the block can take in this search */
	uint64_t by_changes[8];/* of which with 0, 1, ... changes */
};
int bd_rpsearch_block(const bd_rpsearch *s, int index, struct bd_rpsearch_block *out);

struct bd_rpsearch_summary {
	uint64_t count;        /* candidates */
	unsigned edits;        /* kinds of change in effect (after the automatic default) */
	int auto_edits;        /* edits were chosen automatically for failing blocks */
	int max_changes;
	size_t n_groups;       /* change patterns (blocks x changes x swaps) numbered */
};
int bd_rpsearch_summary(const bd_rpsearch *s, struct bd_rpsearch_summary *out);
uint64_t bd_rpsearch_count(const bd_rpsearch *s);
/* Candidate `index` as 48 digits with dashes (55 chars + NUL), and its number of changes. */
int bd_rpsearch_candidate(const bd_rpsearch *s, uint64_t index, char out[56], int *changes);

/* Stretches per second of this machine with `threads` threads (times one round; ~0.1 s). */
double bd_rpsearch_bench(unsigned threads);

struct bd_rpsearch_progress {
	uint64_t done_below;   /* every candidate below this index has been tried */
	uint64_t tried;        /* candidates tried in this run */
	double seconds;        /* since the run started */
	double rate;           /* candidates per second in this run */
};
struct bd_rpsearch_run_opts {
	size_t size;  /* sizeof(struct bd_rpsearch_run_opts): set by BD_RPSEARCH_RUN_OPTS_INIT(...) */
	unsigned threads;      /* 0 = one per online CPU */
	uint64_t start;        /* first index to try (a resumed search) */
	const char *key_id;    /* only the recovery-password protector whose ID starts so; NULL = all */
	volatile int *stop;    /* when set non-zero (e.g. by a signal handler) the run ends soon */
	unsigned interval_ms;  /* progress callback period (default 500) */
	/* Called from the calling thread; return non-zero to stop. */
	int (*progress)(const struct bd_rpsearch_progress *p, void *userdata);
	void *userdata;
};
#define BD_RPSEARCH_RUN_OPTS_INIT(...) { .size = sizeof(struct bd_rpsearch_run_opts), __VA_ARGS__ }
struct bd_rpsearch_result {
	int found;
	uint64_t index;        /* of the match */
	int changes;
	char password[56];     /* with dashes; wiped by bd_rpsearch_result_wipe */
	char key_id[9];        /* protector that accepted it */
	uint8_t protector_guid[16];
	int verified;          /* the volume then unlocked through bd_unlock_recovery_password */
	size_t n_protectors;   /* recovery-password protectors tried per candidate */
	struct bd_rpsearch_progress last;
};
/* Try candidates from opts->start on against the volume's recovery-password
 * protectors, one stretch per candidate and protector, `threads` at a time.
 * 0 and res->found on a match (the volume is left unlocked when verified);
 * BD_ERR_WRONG_KEY when every candidate failed; BD_ERR_INTERRUPTED when stopped
 * (res->last.done_below says where to resume); BD_ERR_NO_PROTECTOR. */
int bd_rpsearch_run(const bd_rpsearch *s, bd_volume *v, const struct bd_rpsearch_run_opts *opts,
		    struct bd_rpsearch_result *res);
void bd_rpsearch_result_wipe(struct bd_rpsearch_result *res);

/* Resumable state: a text file holding the search's identity (a hash over the volume
 * GUID, the pattern, the options and the protector choice; no digits of the password)
 * and its progress. Saved atomically (temporary file + rename, mode 0600). */
enum bd_rps_status { BD_RPS_RUNNING = 0, BD_RPS_INTERRUPTED, BD_RPS_FOUND, BD_RPS_EXHAUSTED };
struct bd_rpsearch_state {
	uint8_t id[32];
	uint64_t count;
	uint64_t done_below;
	int status;            /* enum bd_rps_status */
};
void bd_rpsearch_state_id(const bd_rpsearch *s, const uint8_t volume_guid[16], const char *key_id,
			  uint8_t id[32]);
int bd_rpsearch_state_save(const char *path, const struct bd_rpsearch_state *st);
/* BD_ERR_IO (cannot read), BD_ERR_INVALID (not a state file / damaged). */
int bd_rpsearch_state_load(const char *path, struct bd_rpsearch_state *st);
const char *bd_rps_status_name(int status);

/* ===================================================================== */
/* Memory images: keys in RAM images and process cores (issue: inputs)   */
/* ===================================================================== */

/*
 * A memory image: raw (dd of /dev/mem, a VM's memory file, winpmem raw), LiME, an ELF core
 * (gcore, QEMU/libvirt dump-guest-memory) or a Windows crash dump (full or bitmap), in any
 * container bd_io_open reads. Only the parts that hold memory are scanned.
 */
enum bd_mem_format { BD_MEM_AUTO = 0, BD_MEM_RAW, BD_MEM_LIME, BD_MEM_ELF, BD_MEM_CRASHDUMP };
enum bd_mem_addr_kind { BD_MEM_ADDR_NONE = 0, BD_MEM_ADDR_PHYSICAL, BD_MEM_ADDR_VIRTUAL };
const char *bd_mem_format_name(int format);
/* "auto", "raw", "lime", "elf", "crashdump" -> enum; BD_ERR_INVALID. */
int bd_mem_format_parse(const char *name);

typedef struct bd_memimage bd_memimage;
/* BD_ERR_CORRUPT (damaged framing), BD_ERR_UNSUPPORTED (hibernation file, compressed dump). */
int bd_memimage_open(const char *path, int format, bd_memimage **out);
/* Same over an io (owned, even on failure). */
int bd_memimage_open_io(struct bd_io *io, int format, bd_memimage **out);
void bd_memimage_close(bd_memimage *m);
struct bd_memimage_info {
	int format;
	const char *format_name;
	char description[96];    /* "LiME, 3 ranges", "Windows 64-bit full crash dump, 4 runs" */
	char container[64];
	uint64_t file_size;
	uint64_t data_bytes;     /* bytes of memory the file holds */
	size_t n_runs;
	int addr_kind;           /* enum bd_mem_addr_kind */
	int truncated;           /* the file ends inside a range */
};
int bd_memimage_info(const bd_memimage *m, struct bd_memimage_info *out);
/* Memory address of a file offset; BD_ERR_INVALID when the offset is not memory. */
int bd_memimage_address(const bd_memimage *m, uint64_t file_off, uint64_t *addr);

/*
 * Search a memory image for the keys of a volume: AES key schedules (128 and 256-bit,
 * encryption and decryption schedules, either byte order: both halves of an XTS or Elephant
 * key each have one) and raw 32-byte VMK candidates. Streaming over the image with `threads`
 * workers (memory: about threads x 8 MiB whatever the image size). Only keys the volume proves
 * are kept: an FVEK (or pair of halves) whose decryption of a known sector gives a file system
 * structure, a VMK that authenticates the volume's encrypted FVEK (AES-CCM). With v NULL the
 * search only collects every AES key it sees (unproven).
 */
struct bd_memkeys_opts {
	size_t size;  /* sizeof(struct bd_memkeys_opts): set by BD_MEMKEYS_OPTS_INIT(...) */
	unsigned threads;        /* 0: one per online CPU */
	int no_raw;              /* skip raw 32-byte VMK candidates (schedules only) */
	unsigned raw_align;      /* alignment of raw VMK candidates in the image; 0 = 8 */
	int keep_going;          /* scan the whole image even after the volume accepted a key */
	const uint8_t *extra;    /* extra candidate keys (e.g. aeskeyfind's output), n_extra of them, */
	size_t n_extra;          /* each 32 bytes with its length in extra_len */
	const uint8_t *extra_len;
	volatile int *stop;      /* set non-zero to stop (BD_ERR_INTERRUPTED) */
	bd_progress_fn progress; /* called from the calling thread every ~200 ms; nonzero cancels */
	void *progress_data;
};
#define BD_MEMKEYS_OPTS_INIT(...) { .size = sizeof(struct bd_memkeys_opts), __VA_ARGS__ }
enum bd_memkey_kind {
	BD_MEMKEY_ENC_SCHEDULE = 1, BD_MEMKEY_DEC_SCHEDULE = 2, BD_MEMKEY_RAW = 3, BD_MEMKEY_GIVEN = 4,
};
struct bd_memkey {
	uint8_t key[32];         /* secret */
	uint8_t len;             /* 16 or 32 */
	uint8_t kind;            /* enum bd_memkey_kind */
	uint8_t swapped;         /* schedule stored as byte-reversed 32-bit words */
	uint64_t file_off;       /* first place seen */
	uint64_t addr;           /* its memory address (see bd_memimage_info.addr_kind) */
	uint32_t count;          /* places seen */
};
struct bd_memkeys_result {
	uint64_t bytes_scanned;
	double seconds;
	int complete;            /* every range was scanned (not stopped early after a proof) */
	uint64_t raw_tested;     /* raw VMK candidates tried (after the entropy filter) */
	size_t n_keys;           /* distinct AES keys seen (schedules, raw hits, given) */
	struct bd_memkey *keys;  /* secret; freed by bd_memkeys_result_free */
	/* proven by the volume: */
	int fvek_found;
	uint16_t method;
	uint8_t fvek[64];        /* secret: as the FVEK datum holds it (XTS: k1||k2; Elephant: key at 0, tweak at 32) */
	size_t fvek_len;
	int fvek_part[2];        /* index into keys of the data key and (XTS, Elephant) the tweak key, else -1 */
	int vmk_found;
	uint8_t vmk[32];         /* secret */
	int vmk_part;            /* index into keys */
	int unlocked;            /* the volume was unlocked with the VMK (preferred) or the FVEK */
};
/* 0 with the volume unlocked when a key was proven (v given) or after the scan (v NULL);
 * BD_ERR_WRONG_KEY when no key in the image opens the volume; BD_ERR_INTERRUPTED. */
int bd_memkeys_search(bd_memimage *m, bd_volume *v, const struct bd_memkeys_opts *opts,
		      struct bd_memkeys_result *res);
void bd_memkeys_result_free(struct bd_memkeys_result *res);

#ifdef __cplusplus
}
#endif
#endif /* BDKIT_SEARCH_H */
