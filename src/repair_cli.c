/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by bdkit repair, keypackage and metadata (repair_cli.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repair_cli.h"
#ifdef BDKIT_TEST_HOOKS
#include "fault_io.h"
#endif

int rcli_load_file(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *p;
	size_t n = 0;

	*buf = NULL;
	if (fd < 0) {
		cli_error("cannot open %s: %s", path, strerror(errno));
		return EXIT_IO;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		cli_error("%s: not a regular file of at most %zu bytes", path, max);
		close(fd);
		return EXIT_USAGE;
	}
	p = malloc((size_t)st.st_size + 1);
	if (!p) {
		close(fd);
		cli_error("out of memory");
		return EXIT_FAILURE_OTHER;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, p + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n != (size_t)st.st_size) {
		free(p);
		cli_error("reading %s failed", path);
		return EXIT_IO;
	}
	*buf = p;
	*len = n;
	return 0;
}

bool rcli_has_secret(const struct cli_unlock *u)
{
	return cli_unlock_has_secret(u);
}

int rcli_kp_mismatch(bd_volume *v)
{
	struct bd_info ki;
	char kg[39];

	bd_volume_info(v, &ki);
	cli_guid(ki.guid, kg, true);
	cli_error("the key package is for volume %s and none of its protectors accepts the secret: "
		  "it belongs to another volume, or the secret is wrong", kg);
	return EXIT_WRONG_KEY;
}

/* Open the source of a repair or salvage (locked when writable). Test builds (bdkit-test) only:
 * BDKIT_FAULT_RANGES="start:len,start:len" byte ranges of the input fail with EIO. */
int rcli_open_io(const char *path, bool writable, struct bd_io **io)
{
	int r;

	if (writable && (r = cli_lock_source(path, true)))
		return r;
	r = bd_io_open(path, writable ? BD_IO_RDWR : BD_IO_RDONLY, io);
	if (r)
		return cli_fail(r, path);
#ifdef BDKIT_TEST_HOOKS
	const char *env = getenv("BDKIT_FAULT_RANGES");
	uint64_t *ranges = NULL;
	size_t n = 0;

	if (!env || !*env)
		return 0;
	char *copy = strdup(env), *save = NULL;
	if (!copy) {
		bd_io_close(*io);
		return EXIT_FAILURE_OTHER;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		uint64_t s, l;
		if (!colon) {
			free(copy);
			free(ranges);
			bd_io_close(*io);
			cli_error("BDKIT_FAULT_RANGES: '%s' is not start:len", tok);
			return EXIT_USAGE;
		}
		*colon = 0;
		uint64_t *nr = realloc(ranges, (n + 1) * 2 * sizeof(uint64_t));
		if (!nr || cli_parse_size(tok, &s) || cli_parse_size(colon + 1, &l)) {
			free(nr ? nr : ranges);
			free(copy);
			bd_io_close(*io);
			cli_error("BDKIT_FAULT_RANGES: bad range '%s:%s'", tok, colon + 1);
			return EXIT_USAGE;
		}
		ranges = nr;
		ranges[2 * n] = s;
		ranges[2 * n + 1] = l;
		n++;
	}
	free(copy);
	cli_warn("test-only fault injection: %zu range(s) of %s fail with EIO (BDKIT_FAULT_RANGES)", n, path);
	r = bd_io_fault_wrap(*io, ranges, n, -1, io);
	free(ranges);
	return r ? cli_fail(r, path) : 0;
#else
	return 0;
#endif
}

int rcli_salvage_unlock(bd_salvage *salv, const struct rcli_salvage *s, bd_volume **v,
			struct bd_salvage_source *src)
{
	int rc, r, last_rc = 0;

	*v = NULL;
	for (int attempt = 0;; attempt++) {
		struct bd_io *io;
		rc = rcli_open_io(s->path, s->writable, &io);
		if (rc)
			return rc;
		r = bd_salvage_next(salv, io, v, src);
		if (r) {
			*v = NULL;
			if (s->repair && attempt && r == BD_ERR_NOT_BITLOCKER) {
				cli_error("no metadata source that the secret unlocks is left");
				return last_rc;
			}
			return cli_fail(r, s->path);
		}
		if (!s->u)
			return 0;
		if (s->repair && !cli_quiet)
			fprintf(stderr, "bdkit: trying %s\n", src->text);
		rc = cli_unlock_volume(*v, s->u);
		if (!rc && (s->repair || src->kind != 0) && (r = bd_salvage_verify(*v, s->kp, s->kplen)))
			rc = cli_fail(r, "unlock");
		if (!rc)
			return 0;
		if (src->kind == 2 && (rc == EXIT_WRONG_KEY || rc == EXIT_NO_PROTECTOR))
			rc = rcli_kp_mismatch(*v);
		bd_volume_close(*v);
		*v = NULL;
		last_rc = rc;
		if (src->kind == 2 || (rc != EXIT_WRONG_KEY && rc != EXIT_NO_PROTECTOR))
			return rc;
	}
}
