/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Options, target handling and output shared by `bdkit format` and `bdkit encrypt`. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "create_cli.h"

const char create_cli_help[] =
	"Encryption:\n"
	"      --method M               xts-128 (default), xts-256, cbc-128, cbc-256,\n"
	"                               cbc-elephant-128, cbc-elephant-256 (Windows 7 style)\n"
	"      --sector-size 512|4096   encryption sector size (default: the file system's, else 512)\n"
	"      --description TEXT       volume description (default: \"<host> bdkit <date>\")\n"
	"Protectors (a recovery password is always made unless --no-recovery-password):\n"
	"      --no-recovery-password   do not generate a recovery password\n"
	"      --recovery-key-file DIR  also save it as DIR/BitLocker Recovery Key <ID>.TXT (as Windows)\n"
	"      --password-file FILE     add a password protector; password read from FILE ('-' = stdin)\n"
	"      --password PW            the same on the command line (visible to other users: avoid)\n"
	"      --bek-dir DIR            add a startup key; write it as DIR/<ID>.BEK\n"
	"Other:\n"
	"      --to-go                  BitLocker To Go layout (FAT32 discovery header, MSWIN4.1);\n"
	"                               for FAT/exFAT file systems or a blank volume, not NTFS\n"
	"      --force                  overwrite a target that already holds data\n"
	"      --json                   print the result as JSON (includes the recovery password)\n"
	"  -q                           (before the command) no progress bar\n";

void create_cli_init(struct create_cli *c)
{
	memset(c, 0, sizeof(*c));
	c->o = (struct bd_create_opts)BD_CREATE_OPTS_INIT(.recovery_password = 1);
}

int create_cli_option(struct create_cli *c, int opt, char *arg)
{
	uint64_t v;

	switch (opt) {
	case OPT_C_METHOD:
		if (bd_method_parse(arg, &c->o.method)) {
			cli_error("--method: %s", bd_last_error());
			return -1;
		}
		return 1;
	case OPT_C_SECTOR_SIZE:
		if (cli_parse_size(arg, &v) || (v != 512 && v != 4096)) {
			cli_error("--sector-size: '%s' is not 512 or 4096", arg);
			return -1;
		}
		c->o.sector_size = (uint32_t)v;
		return 1;
	case OPT_C_SIZE:
		if (cli_parse_size(arg, &v) || !v) {
			cli_error("--size: '%s' is not a byte count (e.g. 64M, 1G, 1048576)", arg);
			return -1;
		}
		c->size = v;
		return 1;
	case OPT_C_DESCRIPTION: c->o.description = arg; return 1;
	case OPT_C_NO_RECOVERY: c->o.recovery_password = 0; return 1;
	case OPT_C_RECOVERY_KEY_FILE: c->recovery_dir = arg; return 1;
	case OPT_C_BEK_DIR: c->bek_dir = arg; c->o.startup_key = 1; return 1;
	case OPT_C_FORCE: c->o.force = 1; return 1;
	case OPT_C_TO_GO: c->o.to_go = 1; return 1;
	case OPT_C_JSON: c->json = true; return 1;
	case OPT_C_HELP: c->help = true; return 1;
	case OPT_C_PASSWORD_FILE:
	case OPT_C_PASSWORD:
		if (c->password) {
			cli_error("give one password");
			return -1;
		}
		if (opt == OPT_C_PASSWORD) {
			cli_warn("a secret on the command line is visible to other users; prefer --password-file");
			c->password_len = strlen(arg);
			c->password = strdup(arg);
			explicit_bzero(arg, c->password_len);  /* gone from ps and /proc/PID/cmdline */
		} else {
			c->password = cli_read_secret_file(arg, &c->password_len, true);
		}
		if (!c->password)
			return -1;
		c->o.password = c->password;
		return 1;
	}
	return 0;
}

static int check_dir(const char *opt, const char *dir)
{
	struct stat st;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		cli_error("%s: '%s' is not a directory", opt, dir);
		return EXIT_USAGE;
	}
	if (access(dir, W_OK)) {
		cli_error("%s: cannot write into '%s': %s", opt, dir, strerror(errno));
		return EXIT_REFUSED;
	}
	return 0;
}

int create_cli_finish(struct create_cli *c)
{
	int r;

	if (c->recovery_dir && !c->o.recovery_password) {
		cli_error("--recovery-key-file needs a recovery password (drop --no-recovery-password)");
		return EXIT_USAGE;
	}
	if (!c->o.recovery_password && !c->o.password && !c->o.startup_key) {
		cli_error("no protector: with --no-recovery-password give --password-file or --bek-dir");
		return EXIT_USAGE;
	}
	if (c->password && !c->password_len) {
		cli_error("the password is empty");
		return EXIT_BAD_SECRET;
	}
	size_t chars = 0;
	for (size_t i = 0; c->password && i < c->password_len; i++)
		chars += ((unsigned char)c->password[i] & 0xC0) != 0x80;   /* UTF-8 code points */
	if (c->password && chars < 8)
		cli_warn("the password has fewer than 8 characters; Windows would not let you choose it "
			 "(it still unlocks the volume)");
	if (c->recovery_dir && (r = check_dir("--recovery-key-file", c->recovery_dir)))
		return r;
	if (c->bek_dir && (r = check_dir("--bek-dir", c->bek_dir)))
		return r;
	return 0;
}

void create_cli_free(struct create_cli *c)
{
	cli_secret_free(c->password, c->password_len);
	c->password = NULL;
}

int create_cli_getopt(struct create_cli *c, int opt, char *arg, void (*usage)(FILE *))
{
	int r = create_cli_option(c, opt, arg);

	if (r == 1)
		return 0;
	if (!r)
		usage(stderr);
	create_cli_free(c);
	return EXIT_USAGE;
}

int create_cli_usage(struct create_cli *c, void (*usage)(FILE *), FILE *f)
{
	usage(f);
	create_cli_free(c);
	return f == stdout ? EXIT_OK : EXIT_USAGE;
}

int create_cli_open_target(const char *path, uint64_t size, struct bd_io **io, bool *created, uint64_t *old_size)
{
	struct stat st;
	int r;

	*created = false;
	*old_size = 0;
	if (stat(path, &st)) {
		if (errno != ENOENT) {
			cli_error("%s: %s", path, strerror(errno));
			return EXIT_IO;
		}
		if (!size) {
			cli_error("%s does not exist; give --size to create it", path);
			return EXIT_USAGE;
		}
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			cli_error("cannot create %s: %s", path, strerror(errno));
			return errno == EROFS || errno == EACCES ? EXIT_REFUSED : EXIT_IO;
		}
		*created = true;
		if (ftruncate(fd, (off_t)size)) {
			cli_error("cannot make %s %llu bytes long: %s", path, (unsigned long long)size, strerror(errno));
			close(fd);
			unlink(path);
			return EXIT_IO;
		}
		close(fd);
		if (stat(path, &st)) {
			cli_error("%s: %s", path, strerror(errno));
			unlink(path);
			return EXIT_IO;
		}
	} else if (S_ISREG(st.st_mode)) {
		*old_size = (uint64_t)st.st_size;
	} else if (!S_ISBLK(st.st_mode)) {
		cli_error("%s is neither a regular file nor a block device", path);
		return EXIT_USAGE;
	}
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		create_cli_undo_target(path, *created, *old_size);
		cli_error("cannot open %s for writing: %s", path, strerror(e));
		return e == EPERM || e == EACCES || e == EROFS ? EXIT_REFUSED : EXIT_IO;
	}
	int ro = 0;
	if (S_ISBLK(st.st_mode) && !ioctl(fd, BLKROGET, &ro) && ro) {
		close(fd);
		cli_error("%s is a read-only block device; nothing was written", path);
		return EXIT_REFUSED;
	}
	close(fd);
	if ((r = cli_lock_source(path, true))) {
		create_cli_undo_target(path, *created, *old_size);
		return r;
	}
	r = bd_io_open_file(path, BD_IO_RDWR, io);
	if (r) {
		create_cli_undo_target(path, *created, *old_size);
		return cli_fail(r, NULL);
	}
	if (S_ISREG(st.st_mode) && !*created && size > (*io)->size) {
		/* grow the file to the volume size (sparse); undone if bd_create refuses */
		int gfd = open(path, O_WRONLY | O_CLOEXEC);
		if (gfd < 0 || ftruncate(gfd, (off_t)size)) {
			cli_error("cannot grow %s to %llu bytes: %s", path, (unsigned long long)size, strerror(errno));
			if (gfd >= 0)
				close(gfd);
			bd_io_close(*io);
			*io = NULL;
			return EXIT_IO;
		}
		close(gfd);
		(*io)->size = size;
	}
	return 0;
}

void create_cli_undo_target(const char *path, bool created, uint64_t old_size)
{
	struct stat st;

	if (created) {
		unlink(path);
		return;
	}
	if (!stat(path, &st) && S_ISREG(st.st_mode) && (uint64_t)st.st_size > old_size)
		if (truncate(path, (off_t)old_size)) { /* best effort */ }
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

static int progress(uint64_t done, uint64_t total, void *ud)
{
	(void)total;
	cli_progress_update(ud, done);
	return interrupted;
}

int create_cli_run(struct create_cli *c, struct bd_io *target, const char *target_name)
{
	struct bd_create_result res;
	struct cli_progress pr;
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
	char rk_path[4096] = "", bek_path[4096] = "", g[37], human[32];
	int r, ret = EXIT_OK;

	cli_progress_start(&pr, "Encrypting", 0);
	c->o.progress = progress;
	c->o.progress_data = &pr;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	r = bd_create(target, &c->o, &res);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (r) {
		if (pr.enabled)
			fputc('\n', stderr);
		c->refused = r == BD_ERR_EXISTS || r == BD_ERR_INVALID || r == BD_ERR_READONLY;
		r = cli_fail(r, target_name);
		/* bad sizes and options are usage errors here, not malformed secrets */
		return r == EXIT_BAD_SECRET ? EXIT_USAGE : r;
	}
	c->created_ok = true;
	cli_progress_done(&pr, res.size);
	if (c->recovery_dir) {
		r = bd_save_recovery_key_file(c->recovery_dir, res.recovery_guid, res.recovery_password,
					      rk_path, sizeof(rk_path));
		if (r) {
			cli_fail(r, "saving the recovery key file");
			ret = cli_exit_code(r);
		}
	}
	if (res.has_startup_key) {
		r = bd_save_bek_file(c->bek_dir, res.bek_guid, res.bek, res.bek_len, bek_path, sizeof(bek_path));
		if (r) {
			cli_fail(r, "saving the startup key");
			cli_error("the volume is still usable with its other protectors");
			ret = cli_exit_code(r);
		}
	}
	if (c->json) {
		printf("{\"target\":");
		cli_json_string(stdout, target_name);
		bd_guid_format(res.volume_guid, g);
		printf(",\"size\":%llu,\"sector_size\":%u,\"method\":\"%s\",\"guid\":\"%s\"",
		       (unsigned long long)res.size, res.sector_size, bd_method_short_name(res.method), g);
		if (*res.fs_name)
			printf(",\"file_system\":\"%s\"", res.fs_name);
		printf(",\"metadata_offsets\":[%llu,%llu,%llu],\"boot_sectors_offset\":%llu,\"protectors\":[",
		       (unsigned long long)res.meta_offset[0], (unsigned long long)res.meta_offset[1],
		       (unsigned long long)res.meta_offset[2], (unsigned long long)res.virt_offset);
		const char *sep = "";
		if (res.has_password) {
			bd_guid_format(res.password_guid, g);
			printf("{\"type\":\"password\",\"id\":\"%s\"}", g);
			sep = ",";
		}
		if (res.has_recovery) {
			char kid[9];
			bd_guid_format(res.recovery_guid, g);
			cli_key_id(res.recovery_guid, kid);   /* as info --json and the recovery screen show it */
			printf("%s{\"type\":\"recovery password\",\"id\":\"%s\",\"key_id\":\"%s\","
			       "\"recovery_password\":\"%s\"", sep, g, kid, res.recovery_password);
			if (*rk_path) {
				printf(",\"file\":");
				cli_json_string(stdout, rk_path);
			}
			printf("}");
			sep = ",";
		}
		if (res.has_startup_key) {
			bd_guid_format(res.bek_guid, g);
			printf("%s{\"type\":\"startup key\",\"id\":\"%s\"", sep, g);
			if (*bek_path) {
				printf(",\"file\":");
				cli_json_string(stdout, bek_path);
			}
			printf("}");
		}
		printf("]}\n");
	} else {
		cli_human_size(res.size, human, sizeof(human));
		cli_guid(res.volume_guid, g, false);
		printf("Created a %s BitLocker volume on %s\n", human, target_name);
		printf("  Volume GUID:   {%s}\n", g);
		printf("  Method:        %s, %u-byte sectors%s%s\n", bd_method_short_name(res.method),
		       res.sector_size, *res.fs_name ? ", file system " : "", res.fs_name);
		printf("  Metadata at:   %llu, %llu, %llu (boot sectors at %llu)\n",
		       (unsigned long long)res.meta_offset[0], (unsigned long long)res.meta_offset[1],
		       (unsigned long long)res.meta_offset[2], (unsigned long long)res.virt_offset);
		if (res.has_password) {
			cli_guid(res.password_guid, g, false);
			printf("  Password protector      ID {%s}\n", g);
		}
		if (res.has_startup_key) {
			cli_guid(res.bek_guid, g, false);
			printf("  Startup key protector   ID {%s}%s%s\n", g, *bek_path ? "\n    saved as " : "",
			       bek_path);
		}
		if (res.has_recovery) {
			cli_guid(res.recovery_guid, g, false);
			printf("  Recovery password protector ID {%s} (key ID %.8s)\n", g, g);
			if (*rk_path)
				printf("    saved as %s\n", rk_path);
			printf("\nRecovery password (shown only this once; store it safely):\n\n    %s\n\n",
			       res.recovery_password);
		}
	}
	fflush(stdout);
	bd_create_result_wipe(&res);
	return ret;
}
