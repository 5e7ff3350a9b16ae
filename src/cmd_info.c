/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdkit info: what a BitLocker volume is, its metadata health and its protectors. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pubkey_cli.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: bdkit info [OPTIONS] VOLUME\n"
		   "Show a BitLocker volume's version, method, state, size, GUID, description, creation time,\n"
		   "the health of its three metadata copies and every protector with its ID.\n"
		   "With a secret, also unlock it and check the metadata's VMK-keyed SHA-256.\n\n"
		   "      --json                   machine-readable output\n"
		   "  -h, --help                   this help\n\n%s", cli_unlock_help);
}

static void pcr_list(uint32_t mask, char *out, size_t len)
{
	size_t n = 0;

	out[0] = 0;
	for (int i = 0; i < 32 && n + 4 < len; i++)
		if (mask & (1u << i))
			n += (size_t)snprintf(out + n, len - n, "%s%d", n ? "," : "", i);
}

static const char *version_text(const struct bd_info *in)
{
	if (in->meta_version == 1)
		return "Windows Vista (metadata version 1)";
	return "Windows 7 or later (metadata version 2)";
}

static void print_text(const char *path, bd_volume *v, const struct bd_info *in)
{
	char g[37], t[40], sz[32];

	printf("Volume:        %s (%s)\n", path, in->where);
	cli_human_size(in->container_size, sz, sizeof(sz));
	printf("Input:         %s, %llu bytes (%s)\n", in->container, (unsigned long long)in->container_size, sz);
	printf("BitLocker:     %s%s%s\n", version_text(in), in->to_go ? ", To Go" : "",
	       in->eow ? ", encrypt-on-write" : "");
	printf("Method:        %s (0x%04x)\n", in->method_name, in->method);
	printf("State:         %s (%u/%u)\n", in->state_name, in->state, in->next_state);
	if (in->volume_size) {
		cli_human_size(in->volume_size, sz, sizeof(sz));
		printf("Volume size:   %llu bytes (%s)%s\n", (unsigned long long)in->volume_size, sz,
		       in->state == 4 && in->next_state == 4 ? "" : " (the file system's)");
	} else {
		printf("Volume size:   unknown until unlocked (the metadata records it only for a fully encrypted volume)\n");
	}
	if (in->truncated) {
		char have[32];
		uint64_t need = in->volume_size > in->fs_size ? in->volume_size : in->fs_size;
		cli_human_size(in->input_size, have, sizeof(have));
		cli_human_size(need - in->input_size, sz, sizeof(sz));
		printf("TRUNCATED:     the input holds %llu bytes (%s) of the volume; the last %llu bytes (%s) are "
		       "missing\n", (unsigned long long)in->input_size, have, (unsigned long long)(need - in->input_size), sz);
	}
	if (in->encrypted_size && in->encrypted_size != in->volume_size && !(in->state == 4 && in->next_state == 4))
		printf("Encrypted up to: %llu bytes (conversion watermark)\n", (unsigned long long)in->encrypted_size);
	printf("Sector size:   %u\n", in->sector_size);
	cli_guid(in->guid, g, false);
	printf("Volume GUID:   {%s}\n", g);
	char safe[1024];
	printf("Description:   %s\n", cli_safe(in->description, safe, sizeof(safe)));
	bd_filetime_format(in->creation_time, t, sizeof(t));
	printf("Created:       %s\n", t);
	if (in->virtualized_size)
		printf("Boot sectors:  %llu bytes relocated to offset %llu\n", (unsigned long long)in->virtualized_size,
		       (unsigned long long)in->virtualized_offset);
	printf("Metadata:\n");
	for (int i = 0; i < 3; i++)
		printf("  copy %d at %-12llu %s%s\n", i + 1, (unsigned long long)in->copy_offset[i],
		       bd_copy_status_name(in->copy_status[i]), in->copy_used == i ? " (in use)" : "");
	if (in->unlocked)
		printf("  integrity:   %s\n", in->hash_verified ? "SHA-256 verified with the VMK"
			: "SHA-256 not verified");
	printf("Protectors (%zu):\n", in->n_protectors);
	for (size_t i = 0; i < in->n_protectors; i++) {
		struct bd_protector_info p;
		char pcr[128];
		if (bd_volume_protector(v, i, &p))
			continue;
		cli_guid(p.guid, g, false);
		bd_filetime_format(p.mtime, t, sizeof(t));
		printf("  %zu. %-20s ID {%s}  key ID %s\n", i + 1, p.type_name, g, p.key_id);
		printf("     type 0x%04x, modified %s%s%s%s\n", p.type, t, p.label[0] ? ", label \"" : "",
		       cli_safe(p.label, safe, sizeof(safe)), p.label[0] ? "\"" : "");
		if (p.has_pcrs) {
			pcr_list(p.pcr_mask, pcr, sizeof(pcr));
			printf("     PCRs bound: %s (mask 0x%08x)\n", pcr, p.pcr_mask);
		}
		cli_pubkey_text(v, i, "     ");
		if (!p.usable)
			printf("     (bdkit cannot use this protector; use another one)\n");
		if (bd_protector_kind(p.type) == BD_PROT_CLEAR_KEY) {
			unsigned rc;
			if (bd_volume_suspended(v, &rc) == 1) {
				if (rc)
					printf("     protection suspended for %u more reboot%s (Windows then removes the clear "
					       "key; 'bdkit resume' removes it now)\n", rc, rc == 1 ? "" : "s");
				else
					printf("     protection suspended until resumed ('bdkit resume')\n");
			}
		}
	}
	if (in->unlocked)
		printf("Unlocked:      yes\n");
}

static void print_json(const char *path, bd_volume *v, const struct bd_info *in)
{
	char g[37], t[40];

	printf("{\n  \"path\": ");
	cli_json_string(stdout, path);
	printf(",\n  \"where\": ");
	cli_json_string(stdout, in->where);
	printf(",\n  \"container\": ");
	cli_json_string(stdout, in->container);
	printf(",\n  \"input_size\": %llu", (unsigned long long)in->container_size);
	printf(",\n  \"offset\": %llu,\n  \"metadata_version\": %d,\n  \"to_go\": %s,\n  \"eow\": %s,\n",
	       (unsigned long long)in->offset, in->meta_version, in->to_go ? "true" : "false",
	       in->eow ? "true" : "false");
	printf("  \"method\": %u,\n  \"method_name\": ", in->method);
	cli_json_string(stdout, in->method_name);
	printf(",\n  \"state\": %u,\n  \"next_state\": %u,\n  \"state_name\": ", in->state, in->next_state);
	cli_json_string(stdout, in->state_name);
	printf(",\n  \"size\": %llu,\n  \"encrypted_size\": %llu,\n  \"sector_size\": %u,\n",
	       (unsigned long long)in->size, (unsigned long long)in->encrypted_size, in->sector_size);
	printf("  \"volume_size\": %llu,\n  \"truncated\": %s,\n", (unsigned long long)in->volume_size,
	       in->truncated ? "true" : "false");
	{
		unsigned rc;
		if (bd_volume_suspended(v, &rc) == 1)
			printf("  \"suspended\": true,\n  \"reboot_count\": %u,\n", rc);
		else
			printf("  \"suspended\": false,\n");
	}
	bd_guid_format(in->guid, g);
	printf("  \"guid\": \"%s\",\n  \"description\": ", g);
	cli_json_string(stdout, in->description);
	bd_filetime_format(in->creation_time, t, sizeof(t));
	printf(",\n  \"creation_time\": \"%s\",\n  \"creation_filetime\": %llu,\n", t,
	       (unsigned long long)in->creation_time);
	printf("  \"virtualized_offset\": %llu,\n  \"virtualized_size\": %llu,\n",
	       (unsigned long long)in->virtualized_offset, (unsigned long long)in->virtualized_size);
	printf("  \"metadata_copies\": [");
	for (int i = 0; i < 3; i++)
		printf("%s\n    {\"copy\": %d, \"offset\": %llu, \"status\": \"%s\", \"ok\": %s, \"in_use\": %s}",
		       i ? "," : "", i + 1, (unsigned long long)in->copy_offset[i],
		       bd_copy_status_name(in->copy_status[i]), in->copy_status[i] == BD_COPY_OK ? "true" : "false",
		       in->copy_used == i ? "true" : "false");
	printf("\n  ],\n  \"unlocked\": %s,\n  \"hash_verified\": %s,\n  \"protectors\": [",
	       in->unlocked ? "true" : "false", in->hash_verified ? "true" : "false");
	for (size_t i = 0; i < in->n_protectors; i++) {
		struct bd_protector_info p;
		if (bd_volume_protector(v, i, &p))
			continue;
		bd_guid_format(p.guid, g);
		bd_filetime_format(p.mtime, t, sizeof(t));
		printf("%s\n    {\"id\": \"%s\", \"key_id\": \"%s\", \"type\": %u, \"type_name\": ", i ? "," : "", g,
		       p.key_id, p.type);
		cli_json_string(stdout, p.type_name);
		printf(", \"label\": ");
		cli_json_string(stdout, p.label);
		printf(", \"modified\": \"%s\", \"usable\": %s", t, p.usable ? "true" : "false");
		if (p.has_pcrs) {
			printf(", \"pcr_mask\": %u, \"pcrs\": [", p.pcr_mask);
			for (int k = 0, n = 0; k < 32; k++)
				if (p.pcr_mask & (1u << k))
					printf("%s%d", n++ ? ", " : "", k);
			printf("]");
		}
		cli_pubkey_json(v, i);
		printf("}");
	}
	printf("\n  ]\n}\n");
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },
		CLI_UNLOCK_OPTIONS,
		{ 0, 0, 0, 0 },
	};
	struct cli_unlock u;
	bool json = false, want_unlock = false;
	bd_volume *v = NULL;
	struct bd_info in;
	int c, rc;

	cli_unlock_init(&u);
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': usage(stdout); cli_unlock_free(&u); return EXIT_OK;
		default:
			if ((rc = cli_unlock_getopt(&u, c, optarg, usage)))
				return rc;
			if (c != OPT_OFFSET && c != OPT_NO_PROMPT)
				want_unlock = true;
			break;
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(&u, usage);
	rc = cli_open(argv[optind], &u, false, &v);
	if (rc)
		goto out;
	if (want_unlock) {
		u.no_prompt = true;
		rc = cli_unlock_volume(v, &u);
		if (rc)
			goto out;
	}
	bd_volume_info(v, &in);
	if (json)
		print_json(argv[optind], v, &in);
	else
		print_text(argv[optind], v, &in);
out:
	bd_volume_close(v);
	cli_unlock_free(&u);
	return rc;
}
