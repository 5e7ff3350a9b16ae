/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bdkit mount / bdkit umount: serve the decrypted volume as one file in a FUSE
 * directory (or, with --fs, mount the file system it holds in one step).
 *
 * Design (see man/bdkit-mount.1):
 *  - the secret is read and the volume unlocked in the foreground process, so
 *    prompts and errors reach the user; the FUSE mount is made there too; only
 *    then does the process fork into the background (the parent waits until the
 *    daemon reports the mount ready and exits with its status);
 *  - libfuse3's multi-threaded loop serves requests in parallel; bd_volume_pread
 *    and bd_volume_pwrite are thread-safe; requests are up to 1 MiB and the
 *    kernel page cache is kept between opens (the daemon is the only way to the
 *    decrypted view, so the cache never goes stale);
 *  - no writeback cache: a write() returns only after the library wrote the
 *    sectors to the source, so a crash loses at most what was never written;
 *    flush (close) after writes and fsync call bd_volume_sync();
 *  - SIGTERM/SIGINT/SIGHUP unmount cleanly: first the file system mounted by
 *    --fs, then the FUSE mount; the volume is synced and closed, which wipes the
 *    keys; the mount root answers the xattr "user.bdkit.pid" so that
 *    `bdkit umount` can wait for the daemon to finish.
 */
#define FUSE_USE_VERSION 35

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

extern char **environ;

#define VOLUME_FILE "bitlocker-volume"
#define PID_XATTR "user.bdkit.pid"
#define IO_SIZE (1024 * 1024)          /* largest FUSE request we ask the kernel for */
#define READ_AHEAD_KB 4096             /* per-mount readahead (root only) */

enum {
	OPT_RW = OPT_CLI_LAST + 1, OPT_FOREGROUND, OPT_FS, OPT_FS_OPTIONS, OPT_ALLOW_OTHER,
	OPT_JSON, OPT_HELP, OPT_LAZY,
};

/* State of one mount; the FUSE callbacks reach it through this global. */
static struct mount_state {
	bd_volume *vol;
	uint64_t size;
	bool rw;
	bool daemon;
	bool json;                 /* --json */
	struct stat src_st;        /* timestamps shown for the file */
	uid_t uid;
	gid_t gid;
	char mountpoint[PATH_MAX]; /* where the FUSE file lives */
	char fs_target[PATH_MAX];  /* --fs: where the file system goes ("" otherwise) */
	char private_dir[PATH_MAX];/* --fs: the directory we created for the FUSE mount */
	char *fs_argv[16];         /* --fs: the mount helper's command line (no secrets) */
	atomic_int opens;          /* open file handles on the volume file */
	atomic_bool dirty;         /* written since the last sync */
	atomic_bool fs_mounted;    /* --fs: the helper reported success */
	atomic_bool stopping;
	pthread_t signal_thread;
	int ready_fd;              /* pipe to the waiting foreground parent, -1 when none */
} M = { .ready_fd = -1 };

/* ---- logging (stderr until detached, then syslog) ---- */

static void mlog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mlog(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (M.daemon)
		syslog(level, "%s: %s", M.mountpoint, msg);
	else if (level <= LOG_WARNING || cli_verbose)
		fprintf(stderr, "bdkit: %s\n", msg);
}

static void lib_log(int level, const char *msg, void *ud)
{
	static const int sys[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

	(void)ud;
	if (level <= BD_LOG_WARN || level <= cli_verbose + 1)
		mlog(sys[level & 3], "%s", msg);
}

/* ---- FUSE callbacks ---- */

static bool is_file(const char *path)
{
	/* NULL: an operation on an open handle (nullpath_ok), and only the volume file is ever opened */
	return !path || (path[0] == '/' && !strcmp(path + 1, VOLUME_FILE));
}

static int errno_of(int bd_code)
{
	return bd_errno(bd_code);
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* The size never changes and nothing else writes to the decrypted view:
	 * keep the page cache across opens and attributes for long. */
	cfg->kernel_cache = 1;
	cfg->attr_timeout = 3600;
	cfg->entry_timeout = 3600;
	cfg->negative_timeout = 3600;
	cfg->use_ino = 1;
	/* reads and writes on the open file need no path: libfuse skips its path lookup (and lock) */
	cfg->nullpath_ok = 1;
	if (conn->max_write < IO_SIZE)
		conn->max_write = IO_SIZE;      /* libfuse clamps to its buffer */
	if (conn->max_readahead < 4 * IO_SIZE)
		conn->max_readahead = 4 * IO_SIZE;  /* the kernel clamps to its value */
	/* Let the kernel keep many readahead/async reads in flight for the worker threads. */
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	conn->want |= FUSE_CAP_ASYNC_READ;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE; /* write-through: no lost writes */
	return NULL;
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	memset(st, 0, sizeof(*st));
	st->st_uid = M.uid;
	st->st_gid = M.gid;
	st->st_atim = M.src_st.st_atim;
	st->st_mtim = M.src_st.st_mtim;
	st->st_ctim = M.src_st.st_ctim;
	/* path NULL (nullpath_ok): fstat of an open handle; open() marks the volume file's with fh 1 */
	bool file = path ? is_file(path) : fi && fi->fh == 1;
	if (!file && (!path || !strcmp(path, "/"))) {
		st->st_ino = 1;
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (!file)
		return -ENOENT;
	st->st_ino = 2;
	st->st_mode = S_IFREG | (M.rw ? 0600 : 0400);
	st->st_nlink = 1;
	st->st_size = (off_t)M.size;
	st->st_blksize = IO_SIZE;
	st->st_blocks = (blkcnt_t)((M.size + 511) / 512);
	return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	if (path && strcmp(path, "/"))  /* NULL: the open directory, and the root is the only one */
		return -ENOTDIR;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, VOLUME_FILE, NULL, 0, 0);
	return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	if (!is_file(path))
		return strcmp(path, "/") ? -ENOENT : -EISDIR;
	if (!M.rw && (fi->flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	fi->keep_cache = 1;
	/* An O_DIRECT opener (a VM with cache=none, dd iflag=direct, the random I/O bench) bypasses the page
	 * cache anyway: in the kernel's direct_io mode its writes skip file_remove_privs, which asks the
	 * daemon for security.capability (a second round trip per write: measured 2 requests per 4 KiB
	 * O_DIRECT write, 1 with this) although the volume file never has privileges to drop. The one cost:
	 * the kernel refuses a shared mmap of such a descriptor (ENODEV); mmap users open without O_DIRECT. */
	if (fi->flags & O_DIRECT)
		fi->direct_io = 1;
	fi->fh = 1;
	atomic_fetch_add(&M.opens, 1);
	return 0;
}

static int fs_read(const char *path, char *buf, size_t len, off_t off, struct fuse_file_info *fi)
{
	size_t done = 0;

	if (off < 0)
		return -EINVAL;
	while (done < len) {
		ssize_t n = bd_volume_pread(M.vol, buf + done, len - done, (uint64_t)off + done);
		if (n == 0)
			break;
		if (n < 0) {
			mlog(LOG_ERR, "read of %zu bytes at offset %llu failed: %s", len - done,
			     (unsigned long long)off + done, bd_last_error());
			return done ? (int)done : -errno_of((int)n);
		}
		done += (size_t)n;
	}
	return (int)done;
}

static int fs_write(const char *path, const char *buf, size_t len, off_t off,
		    struct fuse_file_info *fi)
{
	size_t done = 0;

	if (!M.rw)
		return -EROFS;
	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= M.size)
		return len ? -ENOSPC : 0;  /* the file cannot grow */
	if (len > M.size - (uint64_t)off)
		len = (size_t)(M.size - (uint64_t)off);
	atomic_store(&M.dirty, true);
	while (done < len) {
		ssize_t n = bd_volume_pwrite(M.vol, buf + done, len - done, (uint64_t)off + done);
		if (n <= 0) {
			mlog(LOG_ERR, "write of %zu bytes at offset %llu failed: %s", len - done,
			     (unsigned long long)off + done, n ? bd_last_error() : "no progress");
			return done ? (int)done : (n ? -errno_of((int)n) : -EIO);
		}
		done += (size_t)n;
	}
	return (int)done;
}

static int sync_volume(void)
{
	int r;

	if (!M.rw)
		return 0;
	atomic_store(&M.dirty, false);
	r = bd_volume_sync(M.vol);
	if (r) {
		atomic_store(&M.dirty, true);
		mlog(LOG_ERR, "sync failed: %s", bd_last_error());
		return -EIO;
	}
	return 0;
}

/* close(): after writes, make them durable so a later crash cannot lose them. */
static int fs_flush(const char *path, struct fuse_file_info *fi)
{
	return atomic_load(&M.dirty) ? sync_volume() : 0;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	return sync_volume();
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	/* With --fs the file system on top holds the file open; when it lets go
	 * (unmounted by the user) the daemon has nothing left to serve. */
	if (atomic_fetch_sub(&M.opens, 1) == 1 && atomic_load(&M.fs_mounted))
		pthread_kill(M.signal_thread, SIGUSR1);
	return 0;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	if (!is_file(path))
		return -EISDIR;
	return (uint64_t)size == M.size ? 0 : -EPERM;  /* a volume has a fixed size */
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return -EPERM;
}

static int fs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	return -EPERM;
}

static int fs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	return 0;  /* accepted and ignored (touch, cp -p) */
}

static int fs_getxattr(const char *path, const char *name, char *value, size_t size)
{
	char text[32];
	int n;

	if (!path || strcmp(path, "/") || strcmp(name, PID_XATTR))
		return -ENODATA;
	n = snprintf(text, sizeof(text), "%ld", (long)getpid());
	if (size == 0)
		return n;
	if (size < (size_t)n)
		return -ERANGE;
	memcpy(value, text, (size_t)n);
	return n;
}

static int fs_statfs(const char *path, struct statvfs *sv)
{
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = sv->f_frsize = 4096;
	sv->f_blocks = M.size / 4096;
	sv->f_files = 2;
	sv->f_namemax = 255;
	return 0;
}

static const struct fuse_operations ops = {
	.init = fs_init,
	.getattr = fs_getattr,
	.readdir = fs_readdir,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.flush = fs_flush,
	.fsync = fs_fsync,
	.release = fs_release,
	.truncate = fs_truncate,
	.chmod = fs_chmod,
	.chown = fs_chown,
	.utimens = fs_utimens,
	.getxattr = fs_getxattr,
	.statfs = fs_statfs,
};

/* ---- helpers: child processes, unmounting, mount table ---- */

/* Run argv (no secrets ever go there) and wait; returns its exit status, or -1. */
static int run_quiet(char *const argv[], bool quiet)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	pid_t pid;
	int st, r;

	posix_spawn_file_actions_init(&fa);
	if (quiet)
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);  /* our threads block the stop signals */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	r = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r) {
		errno = r;
		return -1;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Unmount dir: umount2 as root, fusermount3 otherwise. 0, or an errno value. */
static int unmount_dir(const char *dir, bool lazy)
{
	if (geteuid() == 0) {
		if (umount2(dir, lazy ? MNT_DETACH : 0) == 0)
			return 0;
		if (errno != EPERM)
			return errno;
	}
	char *argv[] = { "fusermount3", "-u", "-q", lazy ? "-z" : NULL, NULL };
	argv[lazy ? 4 : 3] = (char *)dir;
	int r = run_quiet(argv, true);
	return r == 0 ? 0 : r < 0 ? errno : EBUSY;
}

/* Unmount, retrying for up to ms milliseconds while busy. */
static int unmount_retry(const char *dir, int ms)
{
	int r;

	while ((r = unmount_dir(dir, false)) == EBUSY && ms > 0) {
		usleep(100 * 1000);
		ms -= 100;
	}
	return r;
}

/* Decode the \040-style escapes of /proc/self/mountinfo in place. */
static void unescape_mountinfo(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

/* Find the last mount on dir; fill its device number, fs type and source. 0 or -1. */
static int find_mount(const char *dir, unsigned *maj, unsigned *min, char *fstype, size_t ftlen,
		      char *source, size_t srclen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int found = -1;

	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		char mp[PATH_MAX], type[64], src[PATH_MAX], *sep;
		unsigned a, b;

		/* id parent maj:min root mountpoint options [optional...] - type source superopts */
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &a, &b, mp) != 3)
			continue;
		unescape_mountinfo(mp);
		if (strcmp(mp, dir))
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%63s %4095s", type, src) != 2)
			continue;
		unescape_mountinfo(src);
		if (maj)
			*maj = a;
		if (min)
			*min = b;
		if (fstype)
			snprintf(fstype, ftlen, "%s", type);
		if (source)
			snprintf(source, srclen, "%s", src);
		found = 0;
	}
	free(line);
	fclose(f);
	return found;
}

/* Larger readahead for this FUSE mount's backing device info (root only; best effort). */
static void raise_readahead(const char *dir)
{
	unsigned maj, min;
	char path[128];
	FILE *f;

	if (geteuid() != 0 || find_mount(dir, &maj, &min, NULL, 0, NULL, 0))
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", maj, min);
	f = fopen(path, "we");
	if (f) {
		fprintf(f, "%d\n", READ_AHEAD_KB);
		fclose(f);
	}
}

/* ---- the daemon's life cycle ---- */

static void report_ready(int code)
{
	unsigned char c = (unsigned char)code;

	if (M.ready_fd < 0)
		return;
	if (write(M.ready_fd, &c, 1) < 0) { /* the parent is gone: nothing to tell */ }
	close(M.ready_fd);
	M.ready_fd = -1;
	if (M.daemon) {
		int fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
	}
}

/* Wait up to ms milliseconds for the volume file to be closed by everyone. */
static bool wait_closed(int ms)
{
	for (; ms > 0; ms -= 50) {
		if (atomic_load(&M.opens) == 0)
			return true;
		usleep(50 * 1000);
	}
	return atomic_load(&M.opens) == 0;
}

/*
 * Leave: unmount the --fs file system first (its daemon or the loop device
 * then closes our file), then our own mount, which ends fuse_loop_mt. When
 * something still uses the volume file, sync and detach lazily: the daemon
 * serves the remaining users and exits when the last one closes it.
 */
static void shut_down(bool fs_gone)
{
	int r;

	if (M.fs_target[0] && atomic_load(&M.fs_mounted) && !fs_gone) {
		atomic_store(&M.fs_mounted, false);  /* its release is handled here, not by SIGUSR1 */
		r = unmount_retry(M.fs_target, 2000);
		if (r) {
			mlog(LOG_WARNING, "cannot unmount %s (%s); detaching it lazily, the volume stays "
			     "served until its last user is gone", M.fs_target, strerror(r));
			sync_volume();
			unmount_dir(M.fs_target, true);
			atomic_store(&M.fs_mounted, true);
			if (atomic_load(&M.opens) > 0)
				return;  /* SIGUSR1 follows when the file is closed */
			atomic_store(&M.fs_mounted, false);
		} else if (!wait_closed(60000)) {
			/* ntfs-3g finishes writing after umount returns; it should have closed the file by now */
			mlog(LOG_WARNING, "the file system on %s still holds the volume open", M.fs_target);
			atomic_store(&M.fs_mounted, true);
			if (atomic_load(&M.opens) > 0)
				return;
			atomic_store(&M.fs_mounted, false);
		}
	}
	sync_volume();
	r = unmount_retry(M.mountpoint, 2000);
	if (r) {
		mlog(LOG_WARNING, "%s is busy (%s): data is synced; detaching lazily, the volume stays "
		     "served until %s/%s is closed", M.mountpoint, strerror(r), M.mountpoint, VOLUME_FILE);
		unmount_dir(M.mountpoint, true);
	}
}

static void *signal_main(void *arg)
{
	sigset_t *set = arg;
	int sig, stops = 0;

	for (;;) {
		if (sigwait(set, &sig))
			continue;
		if (sig == SIGUSR1) {          /* --fs: the file system let go of the file */
			if (atomic_load(&M.opens) == 0 && atomic_load(&M.fs_mounted)) {
				atomic_store(&M.fs_mounted, false);
				shut_down(true);
			}
			continue;
		}
		if (++stops > 1) {
			mlog(LOG_WARNING, "second stop signal: syncing and exiting now");
			sync_volume();
			_exit(EXIT_INTERRUPTED);
		}
		mlog(LOG_INFO, "signal %d: unmounting", sig);
		atomic_store(&M.stopping, true);
		shut_down(false);
	}
	return NULL;
}

static void print_ready(bool json, pid_t pid);

/* --fs: run the mount helper once the FUSE loop serves requests. */
static void *fs_main(void *arg)
{
	int r = run_quiet(M.fs_argv, false);

	if (r == 0) {
		atomic_store(&M.fs_mounted, true);
		if (!M.daemon) {
			if (M.json)
				print_ready(true, getpid());
			else if (!cli_quiet)
				fprintf(stderr, "bdkit: file system mounted on %s; stop with Ctrl-C or "
					"'bdkit umount %s'\n", M.fs_target, M.fs_target);
		}
		report_ready(0);
		return NULL;
	}
	if (r < 0)
		cli_error("cannot run %s: %s", M.fs_argv[0], strerror(errno));
	else
		cli_error("%s failed (exit status %d); nothing is mounted on %s", M.fs_argv[0], r, M.fs_target);
	report_ready(EXIT_FAILURE_OTHER);
	shut_down(true);
	return NULL;
}

/* ---- setting up ---- */

/* Which file system the decrypted volume holds, from its boot sector. */
static const char *detect_fs(bd_volume *v)
{
	uint8_t bs[512];

	if (bd_volume_pread(v, bs, sizeof(bs), 0) != (ssize_t)sizeof(bs))
		return NULL;
	if (!memcmp(bs + 3, "NTFS    ", 8))
		return "ntfs";
	if (!memcmp(bs + 3, "EXFAT   ", 8))
		return "exfat";
	if (bs[510] == 0x55 && bs[511] == 0xAA &&
	    (!memcmp(bs + 54, "FAT", 3) || !memcmp(bs + 82, "FAT32", 5)))
		return "vfat";
	return NULL;
}

static bool in_path(const char *prog)
{
	const char *p = getenv("PATH");
	char buf[PATH_MAX];

	if (!p)
		p = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*p) {
		size_t n = strcspn(p, ":");
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, prog);
		if (access(buf, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

/* Build the --fs helper command line. Only paths and mount options: never a secret. The files belong
 * to the invoking user with umask 077 (nobody else reads the decrypted files) unless --allow-other;
 * --fs-options come last, so they can override. */
static int plan_fs(bd_volume *v, const char *user_opts, bool allow_other)
{
	static char file[PATH_MAX + 32], opts[1024];
	const char *type = detect_fs(v);
	char own[128];
	int i = 0;

	if (!type) {
		cli_error("--fs: the decrypted volume holds no NTFS, exFAT or FAT file system that bdkit "
			  "recognises; mount without --fs and inspect the file %s", VOLUME_FILE);
		return EXIT_UNSUPPORTED;
	}
	snprintf(file, sizeof(file), "%s/%s", M.mountpoint, VOLUME_FILE);
	snprintf(own, sizeof(own), "uid=%ld,gid=%ld,umask=%s", (long)M.uid, (long)M.gid, allow_other ? "022" : "077");
	if (!strcmp(type, "ntfs") && in_path("ntfs-3g")) {
		/* no_def_opts: ntfs-3g otherwise acts as if allow_other (every local user) were given */
		snprintf(opts, sizeof(opts), "%s,no_def_opts,silent,%s%s%s%s", M.rw ? "rw" : "ro", own,
			 allow_other ? ",allow_other" : "", user_opts ? "," : "", user_opts ? user_opts : "");
		M.fs_argv[i++] = "ntfs-3g";
	} else {
		if (geteuid() != 0) {
			cli_error("--fs: mounting %s needs the kernel's loop device and so root%s", type,
				  !strcmp(type, "ntfs") ? " (or install ntfs-3g)" : "");
			return EXIT_REFUSED;
		}
		snprintf(opts, sizeof(opts), "loop,%s,%s%s%s", M.rw ? "rw" : "ro", own, user_opts ? "," : "",
			 user_opts ? user_opts : "");
		M.fs_argv[i++] = "mount";
		M.fs_argv[i++] = "-t";
		M.fs_argv[i++] = !strcmp(type, "ntfs") ? "ntfs3" : (char *)type;
	}
	M.fs_argv[i++] = "-o";
	M.fs_argv[i++] = opts;
	M.fs_argv[i++] = file;
	M.fs_argv[i++] = M.fs_target;
	M.fs_argv[i] = NULL;
	return 0;
}

/* --fs: a private directory for the FUSE file (root: /run/bdkit, else the runtime dir). */
static int make_private_dir(void)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char base[PATH_MAX];

	if (geteuid() == 0)
		snprintf(base, sizeof(base), "/run/bdkit");
	else if (rt && *rt)
		snprintf(base, sizeof(base), "%s/bdkit", rt);
	else
		snprintf(base, sizeof(base), "/tmp/bdkit-%ld", (long)getuid());
	if (mkdir(base, 0700) && errno != EEXIST) {
		cli_error("cannot create %s: %s", base, strerror(errno));
		return EXIT_FAILURE_OTHER;
	}
	/* an existing one must be ours alone: a directory (no link) of ours, mode 0700 */
	struct stat bst;
	if (lstat(base, &bst) || !S_ISDIR(bst.st_mode) || bst.st_uid != geteuid() || (bst.st_mode & 077)) {
		cli_error("%s is not a private directory of yours (another owner, a link, or open to others): "
			  "refusing to put the decrypted volume there; remove it or set XDG_RUNTIME_DIR", base);
		return EXIT_REFUSED;
	}
	if ((size_t)snprintf(M.private_dir, sizeof(M.private_dir), "%s/mnt-XXXXXX", base) >=
	    sizeof(M.private_dir) || !mkdtemp(M.private_dir)) {
		cli_error("cannot create a directory in %s: %s", base, strerror(errno));
		M.private_dir[0] = 0;
		return EXIT_FAILURE_OTHER;
	}
	snprintf(M.mountpoint, sizeof(M.mountpoint), "%s", M.private_dir);
	return 0;
}

/* fsname=... shows the source in mount(8); escape what fuse_opt treats specially. */
static void escape_opt(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in && o + 2 < outlen; in++) {
		if (*in == ',' || *in == '\\')
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o] = 0;
}

/* --rw: the library refuses locked, read-only, converting and encrypt-on-write volumes. */
static int check_writable(bd_volume *v)
{
	int r = bd_volume_can_write(v);

	if (r) {
		cli_fail(r, "cannot mount read-write");
		fprintf(stderr, "bdkit: reading is still possible: mount without --rw\n");
	}
	return r ? cli_exit_code(r) : 0;
}

static void mount_usage(FILE *f)
{
	fprintf(f,
		"Usage: bdkit mount [OPTIONS] VOLUME DIR\n"
		"       bdkit mount --fs [OPTIONS] VOLUME DIR\n"
		"Serve the decrypted BitLocker volume as the file DIR/" VOLUME_FILE " (FUSE), read-only\n"
		"unless --rw. Mount it with 'mount -o loop DIR/" VOLUME_FILE " TARGET' or ntfs-3g, or\n"
		"use --fs to mount the NTFS/exFAT/FAT file system on DIR in one step. Stop with\n"
		"'bdkit umount DIR' (or SIGTERM to the daemon): writes are synced and keys wiped.\n\n"
		"      --rw                 allow writes (only fully encrypted or decrypted volumes)\n"
		"      --fs                 mount the file system itself on DIR (ntfs-3g for NTFS,\n"
		"                           else the kernel's loop mount); the decrypted file is\n"
		"                           served from a private directory under /run/bdkit\n"
		"      --fs-options OPTS    extra mount options for --fs (e.g. uid=1000,gid=1000)\n"
		"      --allow-other        let other users access the mount (FUSE allow_other)\n"
		"  -f, --foreground         stay in the foreground (Ctrl-C unmounts)\n"
		"      --json               print the mount as JSON once it is ready\n"
		"  -h, --help               this text\n\n%s", cli_unlock_help);
}

static void print_ready(bool json, pid_t pid)
{
	if (json) {
		printf("{\"mountpoint\":");
		cli_json_string(stdout, M.fs_target[0] ? M.fs_target : M.mountpoint);
		printf(",\"file\":");
		char file[PATH_MAX + 32];
		snprintf(file, sizeof(file), "%s/%s", M.mountpoint, VOLUME_FILE);
		cli_json_string(stdout, file);
		printf(",\"fs\":%s,\"rw\":%s,\"pid\":%ld}\n", M.fs_target[0] ? "true" : "false",
		       M.rw ? "true" : "false", (long)pid);
	} else if (!cli_quiet) {
		if (M.fs_target[0])
			printf("%s: file system mounted %s; unmount with 'bdkit umount %s'\n", M.fs_target,
			       M.rw ? "read-write" : "read-only", M.fs_target);
		else
			printf("%s/%s: decrypted volume (%s); unmount with 'bdkit umount %s'\n", M.mountpoint,
			       VOLUME_FILE, M.rw ? "read-write" : "read-only", M.mountpoint);
	}
	fflush(stdout);
}

int cmd_mount(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_UNLOCK_OPTIONS,
		{ "rw", no_argument, 0, OPT_RW },
		{ "foreground", no_argument, 0, OPT_FOREGROUND },
		{ "fs", no_argument, 0, OPT_FS },
		{ "fs-options", required_argument, 0, OPT_FS_OPTIONS },
		{ "allow-other", no_argument, 0, OPT_ALLOW_OTHER },
		{ "json", no_argument, 0, OPT_JSON },
		{ "help", no_argument, 0, OPT_HELP },
		{ 0, 0, 0, 0 }
	};
	struct cli_unlock u;
	bool foreground = false, fs = false, allow_other = false, json = false;
	const char *fs_opts = NULL;
	struct fuse *fuse = NULL;
	int c, r, ret = EXIT_FAILURE_OTHER, pipefd[2] = { -1, -1 };
	bool mounted = false;
	sigset_t stopset;

	cli_unlock_init(&u);
	while ((c = getopt_long(argc, argv, "fh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_RW: M.rw = true; break;
		case 'f': case OPT_FOREGROUND: foreground = true; break;
		case OPT_FS: fs = true; break;
		case OPT_FS_OPTIONS: fs_opts = optarg; break;
		case OPT_ALLOW_OTHER: allow_other = true; break;
		case OPT_JSON: json = M.json = true; break;
		case 'h': case OPT_HELP: mount_usage(stdout); cli_unlock_free(&u); return EXIT_OK;
		default:
			r = cli_unlock_option(&u, c, optarg);  /* wipes secrets from argv */
			if (r == 1)
				continue;
			if (r == 0)
				mount_usage(stderr);
			cli_unlock_free(&u);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		cli_error("mount needs a VOLUME and a DIR");
		mount_usage(stderr);
		cli_unlock_free(&u);
		return EXIT_USAGE;
	}
	const char *volume = argv[optind], *dir = argv[optind + 1];
	char target[PATH_MAX];
	struct stat st;

	if (!realpath(dir, target) || stat(target, &st) || !S_ISDIR(st.st_mode)) {
		cli_error("%s is not a directory", dir);
		cli_unlock_free(&u);
		return EXIT_USAGE;
	}
	if (fs)
		snprintf(M.fs_target, sizeof(M.fs_target), "%s", target);
	else
		snprintf(M.mountpoint, sizeof(M.mountpoint), "%s", target);
	if (stat(volume, &M.src_st)) {
		cli_error("%s: %s", volume, strerror(errno));
		cli_unlock_free(&u);
		return EXIT_IO;
	}
	M.uid = getuid();
	M.gid = getgid();
	/* (main() made the process undumpable and set RLIMIT_CORE to 0: it holds keys.) */

	/* One writer or many readers: a read-write mount takes an exclusive lock on the source, a
	 * read-only one a shared lock (the nbdkit plugin takes the same locks). */
	if ((ret = cli_lock_source(volume, M.rw)))
		goto out;

	ret = cli_open(volume, &u, M.rw, &M.vol);
	if (ret)
		goto out;
	ret = cli_unlock_volume(M.vol, &u);
	cli_unlock_free(&u);  /* the library holds the keys now; wipe our copies */
	if (ret)
		goto out;
	if (M.rw && (ret = check_writable(M.vol)))
		goto out;
	M.size = bd_volume_size(M.vol);
	{
		/* decrypt refuses a truncated image; a mount serves what there is, but says so */
		struct bd_info in;
		if (!bd_volume_info(M.vol, &in) && in.truncated) {
			uint64_t need = in.volume_size > in.fs_size ? in.volume_size : in.fs_size;
			cli_warn("%s is TRUNCATED: it holds %llu of the volume's %llu bytes; %s/%s is %llu bytes and the "
				 "file system inside will miss its end", volume, (unsigned long long)in.input_size,
				 (unsigned long long)need, M.mountpoint, VOLUME_FILE, (unsigned long long)M.size);
		}
	}
	if (fs) {
		if ((ret = make_private_dir()) || (ret = plan_fs(M.vol, fs_opts, allow_other)))
			goto out;
	}

	/* The FUSE mount, made in the foreground so its errors are seen. */
	char fsname[PATH_MAX * 2], mopts[PATH_MAX * 2 + 256], absvol[PATH_MAX];
	if (!realpath(volume, absvol))
		snprintf(absvol, sizeof(absvol), "%s", volume);
	escape_opt(absvol, fsname, sizeof(fsname));
	snprintf(mopts, sizeof(mopts), "fsname=%s,subtype=bdkit,default_permissions%s%s",
		 fsname, M.rw ? "" : ",ro", allow_other ? ",allow_other" : "");
	char *fargv[] = { "bdkit", "-o", mopts, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);

	ret = EXIT_FAILURE_OTHER;
	fuse = fuse_new(&args, &ops, sizeof(ops), NULL);
	fuse_opt_free_args(&args);
	if (!fuse) {
		cli_error("cannot set up FUSE (is fuse3 installed?)");
		goto out;
	}
	/* The stop signals go to one thread (started below); every other thread, libfuse's
	 * too, blocks them. Blocked from here on, so none can kill us with the mount made. */
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGTERM);
	sigaddset(&stopset, SIGINT);
	sigaddset(&stopset, SIGHUP);
	sigaddset(&stopset, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &stopset, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (fuse_mount(fuse, M.mountpoint)) {
		cli_error("cannot mount on %s: is /dev/fuse available and the directory yours?", M.mountpoint);
		goto out;
	}
	mounted = true;
	raise_readahead(M.mountpoint);

	/* Background: the parent waits for the daemon's "ready" and exits with its status. */
	if (pipe2(pipefd, O_CLOEXEC)) {
		cli_error("pipe: %s", strerror(errno));
		goto out;
	}
	if (!foreground) {
		pid_t pid = fork();
		if (pid < 0) {
			cli_error("fork: %s", strerror(errno));
			goto out;
		}
		if (pid > 0) {
			unsigned char code = EXIT_FAILURE_OTHER;
			pthread_sigmask(SIG_UNBLOCK, &stopset, NULL);  /* Ctrl-C may end the wait */
			close(pipefd[1]);
			while ((r = (int)read(pipefd[0], &code, 1)) < 0 && errno == EINTR)
				;
			if (r != 1)
				code = EXIT_FAILURE_OTHER;
			if (code == 0)
				print_ready(json, pid);
			_exit(code);  /* the daemon owns the mount, the volume and the keys */
		}
		M.daemon = true;
		setsid();
		if (chdir("/")) { /* cannot fail for "/" in practice */ }
		openlog("bdkit", LOG_PID, LOG_DAEMON);
	}
	close(pipefd[0]);
	M.ready_fd = pipefd[1];
	/* Memory locks do not survive fork(): lock what holds the keys again (best effort). */
	mlockall(MCL_CURRENT);
	bd_set_log(lib_log, NULL);

	if (pthread_create(&M.signal_thread, NULL, signal_main, &stopset)) {
		cli_error("cannot start a thread");
		goto out;
	}
	if (fs) {
		pthread_t t;
		if (pthread_create(&t, NULL, fs_main, NULL)) {
			cli_error("cannot start a thread");
			goto out;
		}
		pthread_detach(t);
	} else {
		if (foreground && !cli_quiet)
			fprintf(stderr, "bdkit: serving %s/%s; stop with Ctrl-C or 'bdkit umount %s'\n",
				M.mountpoint, VOLUME_FILE, M.mountpoint);
		if (foreground && json)
			print_ready(true, getpid());
		report_ready(0);
	}

	/* clone_fd: each worker thread reads requests from its own /dev/fuse descriptor */
	struct fuse_loop_config lc = { .clone_fd = 1, .max_idle_threads = 16 };
	r = fuse_loop_mt(fuse, &lc);
	ret = r == 0 ? EXIT_OK : EXIT_FAILURE_OTHER;

out:
	if (M.ready_fd >= 0)
		report_ready(ret ? ret : EXIT_FAILURE_OTHER);
	if (mounted)
		fuse_unmount(fuse);
	if (fuse)
		fuse_destroy(fuse);
	if (M.vol) {
		if (M.rw && bd_volume_sync(M.vol)) {
			mlog(LOG_ERR, "final sync failed: %s", bd_last_error());
			ret = EXIT_IO;
		}
		bd_volume_close(M.vol);  /* wipes the keys */
		M.vol = NULL;
	}
	if (M.private_dir[0])
		rmdir(M.private_dir);
	cli_unlock_free(&u);
	if (M.daemon)
		closelog();
	return ret;
}

/* ---- bdkit umount ---- */

/* The daemon's pid, read from the FUSE root's xattr; 0 when dir is no bdkit mount. */
static pid_t bdkit_pid(const char *dir)
{
	char text[32];
	ssize_t n = getxattr(dir, PID_XATTR, text, sizeof(text) - 1);

	if (n <= 0)
		return 0;
	text[n] = 0;
	return (pid_t)strtol(text, NULL, 10);
}

/* For a file system mounted from DIR/bitlocker-volume (--fs, or by hand): that DIR. */
static int lower_dir(const char *target, char *out, size_t outlen)
{
	char type[64], src[PATH_MAX], file[PATH_MAX], *slash;

	if (find_mount(target, NULL, NULL, type, sizeof(type), src, sizeof(src)))
		return -1;
	if (!strncmp(src, "/dev/loop", 9)) {
		char path[128];
		FILE *f;
		snprintf(path, sizeof(path), "/sys/block/%.64s/loop/backing_file", src + 5);
		if (!(f = fopen(path, "re")))
			return -1;
		if (!fgets(file, sizeof(file), f)) {
			fclose(f);
			return -1;
		}
		fclose(f);
		file[strcspn(file, "\n")] = 0;
	} else {
		snprintf(file, sizeof(file), "%s", src);
	}
	slash = strrchr(file, '/');
	if (!slash || strcmp(slash + 1, VOLUME_FILE))
		return -1;
	*slash = 0;
	snprintf(out, outlen, "%s", file);
	return 0;
}

/* Has pid exited? A zombie has: it synced and wiped before exiting, only its reaping is left to
 * whatever init adopted it (container inits reap lazily: waiting for that took seconds). */
static bool pid_gone(pid_t pid)
{
	char path[64], buf[256];
	FILE *f;

	if (kill(pid, 0) && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (!(f = fopen(path, "re")))
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *paren = strrchr(buf, ')');   /* "pid (comm) S ..." */
	return paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

static bool wait_pid_gone(pid_t pid, int ms)
{
	/* poll fast at first: a daemon with nothing to sync is gone within milliseconds */
	for (int step = 5; ms > 0; ms -= step, step = step < 50 ? step * 2 : 50) {
		if (pid_gone(pid))
			return true;
		usleep((useconds_t)step * 1000);
	}
	return pid_gone(pid);
}

static void umount_usage(FILE *f)
{
	fprintf(f,
		"Usage: bdkit umount [-l] DIR\n"
		"Unmount a 'bdkit mount' (DIR holding " VOLUME_FILE ", or the DIR given to --fs) and wait\n"
		"until the daemon has synced the volume, wiped the keys and exited.\n\n"
		"  -l, --lazy     detach even if busy; the daemon exits when the last user is gone\n"
		"  -h, --help     this text\n");
}

int cmd_umount(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lazy", no_argument, 0, OPT_LAZY },
		{ "help", no_argument, 0, OPT_HELP },
		{ 0, 0, 0, 0 }
	};
	bool lazy = false;
	char dir[PATH_MAX], lower[PATH_MAX], type[64];
	pid_t pid;
	int c, r;

	while ((c = getopt_long(argc, argv, "lh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': case OPT_LAZY: lazy = true; break;
		case 'h': case OPT_HELP: umount_usage(stdout); return EXIT_OK;
		default: umount_usage(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		umount_usage(stderr);
		return EXIT_USAGE;
	}
	if (!realpath(argv[optind], dir)) {
		cli_error("%s: %s", argv[optind], strerror(errno));
		return EXIT_USAGE;
	}
	if (find_mount(dir, NULL, NULL, type, sizeof(type), NULL, 0)) {
		cli_error("%s is not a mount point", dir);
		return EXIT_USAGE;
	}
	if (!strcmp(type, "fuse.bdkit")) {
		pid = bdkit_pid(dir);
	} else if (!lower_dir(dir, lower, sizeof(lower)) && (pid = bdkit_pid(lower)) > 0) {
		/* a file system on top of a bdkit mount (--fs): unmounting it is enough,
		 * the daemon follows once the file is closed */
	} else {
		cli_error("%s is not a bdkit mount (type %s)", dir, type);
		return EXIT_USAGE;
	}
	/* A FUSE file system on top (ntfs-3g) closes the file a moment after its own
	 * unmount returns: give such users a few seconds before calling it busy. */
	r = unmount_retry(dir, 5000);
	if (r == EBUSY && lazy)
		r = unmount_dir(dir, true);
	if (r) {
		cli_error("cannot unmount %s: %s%s", dir, strerror(r),
			  r == EBUSY ? " (a program or a loop mount still uses it; unmount that first, "
				       "or use --lazy)" : "");
		return r == EBUSY ? EXIT_REFUSED : EXIT_FAILURE_OTHER;
	}
	if (pid > 0 && !lazy && !wait_pid_gone(pid, 120000)) {
		cli_error("unmounted %s, but the bdkit daemon (pid %ld) has not exited yet", dir, (long)pid);
		return EXIT_FAILURE_OTHER;
	}
	return EXIT_OK;
}
