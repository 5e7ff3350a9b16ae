/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bdkit memkeys: find a volume's FVEK or VMK in a memory image (raw, LiME, ELF core, Windows
 * crash dump) and keep only what the volume proves; write the keys to a 0600 file and, if asked,
 * go on to decrypt, reveal the recovery password or export a key package (by running those
 * subcommands with the key handed over through a pipe, never through argv or a file).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit.h"
#include "repair_cli.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: bdkit memkeys [OPTIONS] IMAGE --volume VOLUME [-o KEYFILE]\n"
		   "       bdkit memkeys [OPTIONS] IMAGE --list -o KEYFILE\n"
		   "Search a memory image (raw, LiME, ELF core, Windows full or bitmap crash dump; also inside\n"
		   "E01/VHD/... containers) for AES key schedules (128/256-bit, both halves of XTS and Elephant\n"
		   "keys) and raw 32-byte VMK candidates, and keep only the keys VOLUME proves: an FVEK that\n"
		   "decrypts its boot sector to a file system, a VMK that authenticates its encrypted FVEK.\n"
		   "The keys go to KEYFILE (mode 0600; usable as --fvek-file KEYFILE / --vmk-file KEYFILE), never to the\n"
		   "terminal.\n\n"
		   "      --volume VOLUME          the BitLocker volume, disk or container the keys must open\n"
		   "  -o, --output KEYFILE         write the proven keys (or with --list every key seen)\n"
		   "  -f, --force                  replace an existing KEYFILE\n"
		   "      --format F               auto (default), raw, lime, elf, crashdump\n"
		   "  -j, --threads N              worker threads (default: one per online CPU)\n"
		   "      --no-raw                 look for key schedules only, not raw VMK candidates\n"
		   "      --raw-align N            alignment of raw VMK candidates (default 8)\n"
		   "      --keep-going             scan the whole image even after a key is proven\n"
		   "      --candidates FILE        also try these keys (hex, one per line: aeskeyfind's output)\n"
		   "      --list                   without --volume: write every AES key seen (unproven)\n"
		   "      --json                   machine-readable summary on stdout (no key material)\n"
		   "      --offset BYTES           the BitLocker volume starts here in VOLUME\n"
		   "      --audit FILE             write a JSON record of the run (image, volume, where the keys\n"
		   "                               were, outcome, times); never a key\n"
		   "Then, with the key found:\n"
		   "      --decrypt-to OUT         decrypt the volume to OUT ('-' = stdout), as bdkit decrypt\n"
		   "      --reveal                 print the recovery passwords (needs the VMK), as bdkit protector reveal\n"
		   "      --key-package-out FILE   export a key package, as bdkit keypackage export\n"
		   "  -h, --help                   this help\n\n"
		   "Exit codes: 0 a key was proven, 4 no key in the image opens the volume, 3 VOLUME is not\n"
		   "BitLocker, 5 the image's framing is damaged, 8 unsupported image (hibernation file,\n"
		   "compressed dump: --format raw scans it as it is), 12 interrupted.\n");
}

static volatile int stop_flag;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

struct progress_state {
	struct cli_progress bar;
};

static int on_progress(uint64_t done, uint64_t total, void *ud)
{
	struct progress_state *p = ud;

	(void)total;
	cli_progress_update(&p->bar, done);
	return 0;
}

static void hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

/* Candidate keys from a text file: every whitespace-separated word of 32 or 64 hex digits. */
static int load_candidates(const char *path, uint8_t **keys, uint8_t **lens, size_t *n)
{
	size_t len, cap = 0;
	char *buf = NULL;
	FILE *f = fopen(path, "r");

	*keys = NULL;
	*lens = NULL;
	*n = 0;
	if (!f) {
		cli_error("cannot open %s: %s", path, strerror(errno));
		return EXIT_IO;
	}
	char word[256];
	while (fscanf(f, "%255s", word) == 1) {
		len = strlen(word);
		if ((len != 32 && len != 64) || strspn(word, "0123456789abcdefABCDEF") != len)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			uint8_t *nk = realloc(*keys, cap * 32), *nl = realloc(*lens, cap);
			if (nk)
				*keys = nk;
			if (nl)
				*lens = nl;
			if (!nk || !nl) {
				fclose(f);
				cli_error("out of memory");
				return EXIT_FAILURE_OTHER;
			}
		}
		for (size_t i = 0; i < len / 2; i++) {
			unsigned v;
			sscanf(word + 2 * i, "%2x", &v);
			(*keys)[32 * *n + i] = (uint8_t)v;
		}
		(*lens)[*n] = (uint8_t)(len / 2);
		(*n)++;
		explicit_bzero(word, sizeof(word));
	}
	fclose(f);
	free(buf);
	return 0;
}

static const char *kind_name(int kind)
{
	switch (kind) {
	case BD_MEMKEY_ENC_SCHEDULE: return "encryption key schedule";
	case BD_MEMKEY_DEC_SCHEDULE: return "decryption key schedule";
	case BD_MEMKEY_RAW: return "raw 32 bytes";
	case BD_MEMKEY_GIVEN: return "given candidate";
	}
	return "?";
}

static void where(FILE *f, const struct bd_memimage_info *mi, const struct bd_memkey *k)
{
	if (k->kind == BD_MEMKEY_GIVEN) {
		fprintf(f, "from --candidates");
		return;
	}
	fprintf(f, "at file offset %llu", (unsigned long long)k->file_off);
	if (mi->addr_kind == BD_MEM_ADDR_PHYSICAL && mi->format != BD_MEM_RAW)
		fprintf(f, " (physical address 0x%llx)", (unsigned long long)k->addr);
	else if (mi->addr_kind == BD_MEM_ADDR_VIRTUAL)
		fprintf(f, " (virtual address 0x%llx)", (unsigned long long)k->addr);
}

/* The key file: one "fvek METHOD HEX" / "vmk HEX" line per proven key (or every key with --list). */
static int write_keyfile(const char *path, bool force, const struct bd_memkeys_result *res, const char *volume,
			 const struct bd_info *vi, bool list)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (!f)
		return cli_fail(BD_ERR_NOMEM, NULL);
	if (list) {
		fprintf(f, "# bdkit memkeys %s: every AES key seen (not proven by any volume)\n", BDKIT_VERSION);
		for (size_t i = 0; i < res->n_keys; i++) {
			fprintf(f, "aes%d ", res->keys[i].len * 8);
			hex(f, res->keys[i].key, res->keys[i].len);
			fprintf(f, "\n");
		}
	} else {
		char g[39];
		cli_guid(vi->guid, g, true);
		fprintf(f, "# bdkit memkeys %s: keys proven by volume %s (%s); use with --vmk-file FILE or --fvek-file FILE\n",
			BDKIT_VERSION, g, volume);
		if (res->vmk_found) {
			fprintf(f, "vmk ");
			hex(f, res->vmk, 32);
			fprintf(f, "\n");
		}
		if (res->fvek_found) {
			fprintf(f, "fvek %s ", bd_method_short_name(res->method));
			hex(f, res->fvek, res->fvek_len);
			fprintf(f, "\n");
		}
	}
	fclose(f);
	rc = text ? cli_write_file(path, (const uint8_t *)text, len, force) : cli_fail(BD_ERR_NOMEM, NULL);
	if (text) {
		explicit_bzero(text, len);
		free(text);
	}
	return rc;
}

/* Run another subcommand with the key on a pipe: argv gets "--vmk-file /dev/fd/N" (or --fvek-file). */
static int run_with_key(int (*fn)(int, char **), char **args, int nargs, const char *opt, const uint8_t *key,
			size_t keylen)
{
	int pfd[2], rc;
	char path[32], text[160];
	char *argv[24];
	int argc = 0;

	if (pipe(pfd))
		return cli_fail(BD_ERR_IO, "pipe");
	for (size_t i = 0; i < keylen; i++)
		snprintf(text + 2 * i, 3, "%02x", key[i]);
	text[2 * keylen] = '\n';
	if (write(pfd[1], text, 2 * keylen + 1) != (ssize_t)(2 * keylen + 1)) {
		close(pfd[0]);
		close(pfd[1]);
		explicit_bzero(text, sizeof(text));
		return cli_fail(BD_ERR_IO, "pipe");
	}
	explicit_bzero(text, sizeof(text));
	close(pfd[1]);
	snprintf(path, sizeof(path), "/dev/fd/%d", pfd[0]);
	for (int i = 0; i < nargs && argc < 20; i++)
		argv[argc++] = args[i];
	argv[argc++] = (char *)opt;
	argv[argc++] = path;
	argv[argc++] = (char *)"--no-prompt";
	argv[argc] = NULL;
	optind = 0;  /* a fresh getopt scan for the subcommand */
	rc = fn(argc, argv);
	close(pfd[0]);
	return rc;
}

/* One run: the options, then the image, the volume and what the search found. */
struct mk {
	const char *volume, *out, *cands, *decrypt_to, *kp_out, *audit_path, *image;
	char *offset;
	bool force, list, json, reveal;
	int format;
	struct cli_audit audit;
	struct bd_memkeys_opts mo;
	struct bd_memkeys_result res;
	struct bd_memimage_info mi;
	struct bd_info vi;
	bd_memimage *m;
	bd_volume *v;
	uint8_t *extra, *extra_len;
};

/* -1 to go on, else the exit code to return. */
static int parse_options(struct mk *K, int argc, char **argv)
{
	enum { OPT_VOLUME = OPT_CLI_LAST + 1, OPT_FORMAT, OPT_NO_RAW, OPT_RAW_ALIGN, OPT_KEEP_GOING, OPT_CANDIDATES,
	       OPT_LIST, OPT_JSON, OPT_DECRYPT_TO, OPT_REVEAL, OPT_KP_OUT, OPT_OFF, OPT_AUDIT };
	static const struct option opts[] = {
		{ "volume", required_argument, 0, OPT_VOLUME },
		{ "output", required_argument, 0, 'o' },
		{ "force", no_argument, 0, 'f' },
		{ "format", required_argument, 0, OPT_FORMAT },
		{ "threads", required_argument, 0, 'j' },
		{ "no-raw", no_argument, 0, OPT_NO_RAW },
		{ "raw-align", required_argument, 0, OPT_RAW_ALIGN },
		{ "keep-going", no_argument, 0, OPT_KEEP_GOING },
		{ "candidates", required_argument, 0, OPT_CANDIDATES },
		{ "list", no_argument, 0, OPT_LIST },
		{ "json", no_argument, 0, OPT_JSON },
		{ "decrypt-to", required_argument, 0, OPT_DECRYPT_TO },
		{ "reveal", no_argument, 0, OPT_REVEAL },
		{ "key-package-out", required_argument, 0, OPT_KP_OUT },
		{ "offset", required_argument, 0, OPT_OFF },
		{ "audit", required_argument, 0, OPT_AUDIT },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct bd_memkeys_opts *mo = &K->mo;
	int c;

	K->format = BD_MEM_AUTO;
	while ((c = getopt_long(argc, argv, "o:fj:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_VOLUME: K->volume = optarg; break;
		case 'o': K->out = optarg; break;
		case 'f': K->force = true; break;
		case 'j': mo->threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case OPT_FORMAT:
			K->format = bd_mem_format_parse(optarg);
			if (K->format < 0) {
				cli_error("%s", bd_last_error());
				return EXIT_USAGE;
			}
			break;
		case OPT_NO_RAW: mo->no_raw = 1; break;
		case OPT_RAW_ALIGN: mo->raw_align = (unsigned)strtoul(optarg, NULL, 0); break;
		case OPT_KEEP_GOING: mo->keep_going = 1; break;
		case OPT_CANDIDATES: K->cands = optarg; break;
		case OPT_LIST: K->list = true; break;
		case OPT_JSON: K->json = true; break;
		case OPT_DECRYPT_TO: K->decrypt_to = optarg; break;
		case OPT_REVEAL: K->reveal = true; break;
		case OPT_KP_OUT: K->kp_out = optarg; break;
		case OPT_OFF: K->offset = optarg; break;
		case OPT_AUDIT: K->audit_path = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || (!K->volume && !K->list) || (K->list && (K->volume || !K->out)) ||
	    (mo->raw_align && (mo->raw_align & (mo->raw_align - 1)))) {
		if (!K->volume && !K->list)
			cli_error("memkeys: name the volume the keys must open with --volume VOLUME (or --list -o FILE "
				  "to write every key seen, unproven)");
		else if (K->list && !K->out)
			cli_error("memkeys --list: give the key file with -o FILE");
		else if (mo->raw_align & (mo->raw_align - 1))
			cli_error("--raw-align must be a power of two");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (K->decrypt_to && !strcmp(K->decrypt_to, "-") && K->json) {
		cli_error("--json and --decrypt-to - both want stdout");
		return EXIT_USAGE;
	}
	K->image = argv[optind];
	return -1;
}

/* The extra candidates, the volume (locked, not unlocked: the keys must prove themselves on it)
 * and the memory image. 0 or an exit code. */
static int open_inputs(struct mk *K)
{
	int rc, r;

	if (K->cands && (rc = load_candidates(K->cands, &K->extra, &K->extra_len, &K->mo.n_extra)))
		return rc;
	K->mo.extra = K->extra;
	K->mo.extra_len = K->extra_len;
	if (K->volume) {
		struct cli_unlock u;
		cli_unlock_init(&u);
		if (K->offset && cli_unlock_option(&u, OPT_OFFSET, K->offset) < 0)
			return EXIT_USAGE;
		rc = cli_open(K->volume, &u, false, &K->v);
		cli_audit_input(&K->audit, K->volume, K->v);
		if (rc)
			return rc;
		bd_volume_info(K->v, &K->vi);
		if (!K->vi.method) {
			cli_error("%s is not encrypted (%s): it needs no key", K->volume, K->vi.state_name);
			return EXIT_UNSUPPORTED;
		}
	}
	r = bd_memimage_open(K->image, K->format, &K->m);
	if (r)
		return cli_fail(r, K->image);
	bd_memimage_info(K->m, &K->mi);
	if (K->audit.path) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "path", json_object_new_string(K->image));
		json_object_object_add(o, "format", json_object_new_string(K->mi.format_name));
		json_object_object_add(o, "description", json_object_new_string(K->mi.description));
		json_object_object_add(o, "container", json_object_new_string(K->mi.container));
		json_object_object_add(o, "file_size", json_object_new_int64((int64_t)K->mi.file_size));
		json_object_object_add(o, "memory_bytes", json_object_new_int64((int64_t)K->mi.data_bytes));
		cli_audit_set_obj(&K->audit, "memory_image", o);
	}
	if (!cli_quiet && !K->json) {
		char sz[32];
		const struct bd_memimage_info *mi = &K->mi;
		cli_human_size(mi->data_bytes, sz, sizeof(sz));
		fprintf(stderr, "bdkit: %s: %s, %s of memory%s%s%s\n", K->image, mi->description, sz,
			strcmp(mi->container, "raw file") ? " in " : "", strcmp(mi->container, "raw file") ? mi->container : "",
			mi->truncated ? " (truncated)" : "");
	}
	return 0;
}

/* The report as JSON (no key material). */
static void report_json(const struct mk *K)
{
	const struct bd_memkeys_result *res = &K->res;

	printf("{\n  \"image\": ");
	cli_json_string(stdout, K->image);
	printf(",\n  \"format\": ");
	cli_json_string(stdout, K->mi.format_name);
	printf(",\n  \"description\": ");
	cli_json_string(stdout, K->mi.description);
	printf(",\n  \"memory_bytes\": %llu,\n  \"bytes_scanned\": %llu,\n  \"complete\": %s,\n  \"seconds\": %.2f,\n"
	       "  \"raw_candidates_tried\": %llu,\n  \"keys_seen\": %zu,\n",
	       (unsigned long long)K->mi.data_bytes, (unsigned long long)res->bytes_scanned,
	       res->complete ? "true" : "false", res->seconds, (unsigned long long)res->raw_tested, res->n_keys);
	if (K->volume) {
		char g[39];
		cli_guid(K->vi.guid, g, true);
		printf("  \"volume\": ");
		cli_json_string(stdout, K->volume);
		printf(",\n  \"volume_guid\": \"%s\",\n  \"method\": \"%s\",\n", g, K->vi.method_name);
	}
	printf("  \"vmk_found\": %s", res->vmk_found ? "true" : "false");
	if (res->vmk_found) {
		const struct bd_memkey *k = &res->keys[res->vmk_part];
		printf(",\n  \"vmk\": {\"source\": \"%s\", \"file_offset\": %llu, \"address\": %llu}",
		       kind_name(k->kind), (unsigned long long)k->file_off, (unsigned long long)k->addr);
	}
	printf(",\n  \"fvek_found\": %s", res->fvek_found ? "true" : "false");
	if (res->fvek_found) {
		printf(",\n  \"fvek\": {\"method\": \"%s\", \"parts\": [", bd_method_short_name(res->method));
		for (int i = 0; i < 2 && res->fvek_part[i] >= 0; i++) {
			const struct bd_memkey *k = &res->keys[res->fvek_part[i]];
			printf("%s{\"role\": \"%s\", \"source\": \"%s\", \"file_offset\": %llu, \"address\": %llu}",
			       i ? ", " : "", i ? "tweak key" : "key", kind_name(k->kind),
			       (unsigned long long)k->file_off, (unsigned long long)k->addr);
		}
		printf("]}");
	}
	printf(",\n  \"key_file\": ");
	if (K->out && (res->vmk_found || res->fvek_found || K->list))
		cli_json_string(stdout, K->out);
	else
		printf("null");
	printf("\n}\n");
}

/* The report as text (no key material): stderr, the keys found on stdout. */
static void report_text(const struct mk *K)
{
	const struct bd_memkeys_result *res = &K->res;
	char sz[32];

	cli_human_size(res->bytes_scanned, sz, sizeof(sz));
	fprintf(stderr, "bdkit: scanned %s in %.1f s%s: %zu distinct AES key%s seen, %llu raw VMK candidates "
		"tried\n", sz, res->seconds, res->complete ? "" : " (stopped at the first proven key)", res->n_keys,
		res->n_keys == 1 ? "" : "s", (unsigned long long)res->raw_tested);
	if (res->vmk_found) {
		printf("VMK found: %s ", kind_name(res->keys[res->vmk_part].kind));
		where(stdout, &K->mi, &res->keys[res->vmk_part]);
		printf("; it authenticates the volume's encrypted FVEK\n");
	}
	if (res->fvek_found) {
		printf("FVEK found (%s): ", bd_method_short_name(res->method));
		for (int i = 0; i < 2 && res->fvek_part[i] >= 0; i++) {
			printf("%s%s ", i ? "; tweak key: " : "key: ", kind_name(res->keys[res->fvek_part[i]].kind));
			where(stdout, &K->mi, &res->keys[res->fvek_part[i]]);
		}
		printf("; it decrypts the volume's %s\n", K->vi.meta_version == 1 ? "$MFT" : "boot sector");
	}
}

/* The audit record's account of the search: where each proven key was found. */
static void audit_search(struct mk *K)
{
	const struct bd_memkeys_result *res = &K->res;
	json_object *o = json_object_new_object();

	json_object_object_add(o, "bytes_scanned", json_object_new_int64((int64_t)res->bytes_scanned));
	json_object_object_add(o, "complete", json_object_new_boolean(res->complete));
	json_object_object_add(o, "raw_candidates_tried", json_object_new_int64((int64_t)res->raw_tested));
	json_object_object_add(o, "keys_seen", json_object_new_int64((int64_t)res->n_keys));
	json_object_object_add(o, "vmk_found", json_object_new_boolean(res->vmk_found));
	json_object_object_add(o, "fvek_found", json_object_new_boolean(res->fvek_found));
	json_object *places = json_object_new_array();
	int parts[3] = { res->vmk_found ? res->vmk_part : -1, res->fvek_found ? res->fvek_part[0] : -1,
			 res->fvek_found ? res->fvek_part[1] : -1 };
	static const char *const roles[3] = { "VMK", "FVEK key", "FVEK tweak key" };
	for (int i = 0; i < 3; i++) {
		if (parts[i] < 0)
			continue;
		json_object *p = json_object_new_object();
		json_object_object_add(p, "key", json_object_new_string(roles[i]));
		json_object_object_add(p, "found_as", json_object_new_string(kind_name(res->keys[parts[i]].kind)));
		json_object_object_add(p, "file_offset", json_object_new_int64((int64_t)res->keys[parts[i]].file_off));
		json_object_object_add(p, "address", json_object_new_int64((int64_t)res->keys[parts[i]].addr));
		json_object_array_add(places, p);
	}
	json_object_object_add(o, "proven_keys", places);
	if (K->out)
		json_object_object_add(o, "key_file", json_object_new_string(K->out));
	cli_audit_set_obj(&K->audit, "search", o);
	if (K->v)
		cli_audit_volume(&K->audit, K->v);
}

/* Go on with the key: the VMK where found (it opens everything), else the FVEK, handed on a pipe to
 * decrypt (--decrypt-to), protector reveal (--reveal) and keypackage export (--key-package-out). */
static int go_on(const struct mk *K)
{
	const struct bd_memkeys_result *res = &K->res;
	const char *kopt = res->vmk_found ? "--vmk-file" : "--fvek-file";
	const uint8_t *key = res->vmk_found ? res->vmk : res->fvek;
	size_t keylen = res->vmk_found ? 32 : res->fvek_len;
	char *offargs[2] = { (char *)"--offset", (char *)K->offset };
	char *volume = (char *)K->volume;
	int rc;

	if (K->decrypt_to) {
		char *a[8] = { (char *)"decrypt", volume, (char *)"-o", (char *)K->decrypt_to };
		int n = 4;
		if (K->force)
			a[n++] = (char *)"--force";
		if (K->offset) {
			a[n++] = offargs[0];
			a[n++] = offargs[1];
		}
		if ((rc = run_with_key(cmd_decrypt, a, n, kopt, key, keylen)))
			return rc;
	}
	if (K->reveal) {
		if (!res->vmk_found) {
			cli_error("--reveal needs the VMK; only the FVEK was found (it decrypts, but the recovery "
				  "password is sealed with the VMK)");
			return EXIT_NO_PROTECTOR;
		}
		char *a[6] = { (char *)"protector", (char *)"reveal", volume };
		int n = 3;
		if (K->offset) {
			a[n++] = offargs[0];
			a[n++] = offargs[1];
		}
		if ((rc = run_with_key(cmd_protector, a, n, kopt, key, keylen)))
			return rc;
	}
	if (K->kp_out) {
		char *a[8] = { (char *)"keypackage", (char *)"export", volume, (char *)"-o", (char *)K->kp_out };
		int n = 5;
		if (K->force)
			a[n++] = (char *)"--force";
		if (K->offset) {
			a[n++] = offargs[0];
			a[n++] = offargs[1];
		}
		return run_with_key(cmd_keypackage, a, n, kopt, key, keylen);
	}
	return 0;
}

/* Search, report, save the keys and go on with them. 0 or an exit code. */
static int search_and_report(struct mk *K)
{
	struct progress_state ps;
	int r, rc;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	cli_progress_start(&ps.bar, "searching", K->mi.data_bytes);
	K->mo.progress = on_progress;
	K->mo.progress_data = &ps;
	K->mo.stop = &stop_flag;
	r = bd_memkeys_search(K->m, K->v, &K->mo, &K->res);
	cli_progress_done(&ps.bar, K->res.bytes_scanned);
	if (r && r != BD_ERR_WRONG_KEY)
		return cli_fail(r, "memkeys");
	if (K->json)
		report_json(K);
	else if (!cli_quiet)
		report_text(K);
	if (K->audit.path)
		audit_search(K);
	if (K->volume && r == BD_ERR_WRONG_KEY) {
		cli_error("no key in %s opens %s: %s%s", K->image, K->volume, bd_last_error(),
			  K->res.complete ? "" : " (the scan did not complete)");
		return EXIT_WRONG_KEY;
	}
	if (K->out && (rc = write_keyfile(K->out, K->force, &K->res, K->volume, &K->vi, K->list)))
		return rc;
	if (K->out && !cli_quiet && !K->json)
		fprintf(stderr, "bdkit: %s written to %s (mode 0600)\n", K->list ? "every key seen" : "the proven keys",
			K->out);
	if (!K->volume)
		return 0;
	if (!K->out && !K->decrypt_to && !K->reveal && !K->kp_out && !cli_quiet)
		fprintf(stderr, "bdkit: the key was not saved: give -o KEYFILE, or --decrypt-to, --reveal, "
			"--key-package-out\n");
	return go_on(K);
}

int cmd_memkeys(int argc, char **argv)
{
	struct mk K = { .mo = BD_MEMKEYS_OPTS_INIT() };
	int rc = parse_options(&K, argc, argv);

	if (rc >= 0)
		return rc;
	if ((rc = cli_audit_open(&K.audit, K.audit_path, argc, argv)))
		return rc;
	if (!(rc = open_inputs(&K)))
		rc = search_and_report(&K);
	int arc = cli_audit_close(&K.audit, rc);
	if (!rc)
		rc = arc;
	bd_memkeys_result_free(&K.res);
	if (K.extra) {
		explicit_bzero(K.extra, 32 * K.mo.n_extra);
		free(K.extra);
	}
	free(K.extra_len);
	bd_memimage_close(K.m);
	bd_volume_close(K.v);
	return rc;
}
