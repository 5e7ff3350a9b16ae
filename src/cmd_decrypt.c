/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bdkit decrypt: write the whole decrypted volume to a file or stdout, in parallel, sparse.
 * Regular files: each worker reads, decrypts and writes its own chunks at their offsets and starts
 * their writeback at once (sync_file_range), so the final fsync has little left (2x faster, measured).
 * Stdout: workers fill a ring of slots; the worker that completes the next chunk to be written
 * writes it and the ready ones after it, in order (no hand-off to another thread).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "audit.h"

#define CHUNK (4u << 20)
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define SPARSE_BLOCK 4096u

static void usage(FILE *f)
{
	fprintf(f, "Usage: bdkit decrypt [OPTIONS] VOLUME -o OUT | --test\n"
		   "Write the whole decrypted volume (boot sector restored, reserved areas as zeros) to OUT\n"
		   "('-' = stdout). Regular output files are written sparse. The source is only read.\n\n"
		   "  -o, --output OUT             output file or '-'\n"
		   "      --test                   only check that the secret unlocks the volume; write nothing\n"
		   "  -f, --force                  overwrite a non-empty OUT\n"
		   "      --allow-truncated        write what there is even if the input is shorter than the\n"
		   "                               file system it holds\n"
		   "  -j, --threads N              worker threads (default: one per online CPU)\n"
		   "      --audit FILE             write a JSON record of the run (input, metadata copy, protector\n"
		   "                               used, output size and SHA-256, times); never a secret\n"
		   "  -h, --help                   this help\n\n%s", cli_unlock_help);
}

/*
 * A chunk buffer: 2 MiB-aligned and backed by transparent huge pages where the kernel offers them,
 * so the kernel's copy into it and the cipher's passes over it take few TLB misses. Free with free().
 */
static uint8_t *chunk_alloc(void)
{
	void *p = NULL;

	if (posix_memalign(&p, 2u << 20, CHUNK))
		return NULL;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, CHUNK, MADV_HUGEPAGE);
#endif
	return p;
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

struct job {
	bd_volume *v;
	uint64_t size;
	uint64_t nchunks;
	size_t nslots;
	uint8_t **buf;
	int *ready;              /* slot holds chunk (index) ready: 1 */
	uint64_t next;           /* next chunk to hand out */
	uint64_t written;        /* chunks written so far (in order, or in any order when direct) */
	bool direct;             /* regular file: workers write their own chunks at their offsets */
	bool writing;            /* stdout: a worker is writing the ready chunks in order */
	int waiting;             /* stdout: workers waiting for a free slot */
	long active;             /* workers not yet finished */
	int fd;
	EVP_MD_CTX *md;          /* stdout with --audit: the stream's SHA-256, updated by the writer */
	int err;                 /* BD_ERR_* of a failed read; BD_ERR_IO with werrno for a failed write */
	int werrno;
	uint64_t errchunk;
	char errmsg[512];
	pthread_mutex_t mu;
	pthread_cond_t slot_cv;  /* a slot was freed (or the run stops): for waiting workers */
	pthread_cond_t done_cv;  /* the last chunk is written, an error, or a worker finished: for the main thread */
};

static int emit(int fd, const uint8_t *p, size_t len, uint64_t off, bool sparse);

static bool job_stopped(const struct job *j)
{
	return j->err || interrupted;
}

/* For the main thread: workers are left and chunks still to be written. */
static bool job_running(const struct job *j)
{
	return j->active && j->written < j->nchunks && !job_stopped(j);
}

/*
 * Stdout: write the ready chunks from the next one to be written on, in order, until one is not
 * ready yet. Called with the lock held by the worker that completed that next chunk; whichever
 * worker completes it takes the turn, so no thread wakes another to write (a hand-off per chunk
 * cost a wake-up and a context switch on a core that was decrypting).
 */
static void write_in_order(struct job *j)
{
	j->writing = true;
	while (!job_stopped(j) && j->written < j->nchunks && j->ready[j->written % j->nslots]) {
		uint64_t k = j->written;
		size_t slot = (size_t)(k % j->nslots);
		uint64_t off = k * CHUNK;
		size_t len = (size_t)MIN((uint64_t)CHUNK, j->size - off);
		pthread_mutex_unlock(&j->mu);
		if (j->md)
			EVP_DigestUpdate(j->md, j->buf[slot], len);
		int r = emit(j->fd, j->buf[slot], len, off, false), e = errno;
		pthread_mutex_lock(&j->mu);
		if (r) {
			if (!j->err) {
				j->err = BD_ERR_IO;
				j->werrno = e ? e : EIO;
				j->errchunk = k;
			}
			break;
		}
		j->ready[slot] = 0;
		j->written = k + 1;
		if (j->waiting)
			pthread_cond_signal(&j->slot_cv);
	}
	j->writing = false;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	uint8_t *own = NULL;

	pthread_mutex_lock(&j->mu);
	if (j->direct && !(own = chunk_alloc()) && !j->err) {
		j->err = BD_ERR_NOMEM;
		snprintf(j->errmsg, sizeof(j->errmsg), "out of memory");
	}
	for (;;) {
		while (!j->direct && !job_stopped(j) && j->next < j->nchunks && j->next >= j->written + j->nslots) {
			j->waiting++;
			pthread_cond_wait(&j->slot_cv, &j->mu);
			j->waiting--;
		}
		if (job_stopped(j) || j->next >= j->nchunks)
			break;
		uint64_t i = j->next++;
		size_t slot = (size_t)(i % j->nslots);
		uint8_t *buf = j->direct ? own : j->buf[slot];
		pthread_mutex_unlock(&j->mu);
		uint64_t off = i * CHUNK;
		size_t len = (size_t)MIN((uint64_t)CHUNK, j->size - off);
		ssize_t n = bd_volume_pread(j->v, buf, len, off);
		int werr = 0;
		if (n == (ssize_t)len && j->direct) {
			if (emit(j->fd, buf, len, off, true))
				werr = errno ? errno : EIO;
			else  /* start writeback now so the final fsync has little left to do */
				(void)sync_file_range(j->fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
		}
		pthread_mutex_lock(&j->mu);
		if (n != (ssize_t)len && !j->err) {
			j->err = n < 0 ? (int)n : BD_ERR_IO;
			j->errchunk = i;
			snprintf(j->errmsg, sizeof(j->errmsg), "%s", n < 0 ? bd_last_error() : "short read");
		} else if (werr && !j->err) {
			j->err = BD_ERR_IO;
			j->werrno = werr;
			j->errchunk = i;
		}
		if (j->direct) {
			j->written++;
		} else if (!j->err) {
			j->ready[slot] = 1;
			if (!j->writing && j->written == i)
				write_in_order(j);
		}
		if (j->err || j->written == j->nchunks)
			pthread_cond_signal(&j->done_cv);
	}
	j->active--;
	pthread_cond_broadcast(&j->slot_cv);  /* the others stop too, if this was an error */
	pthread_cond_signal(&j->done_cv);
	pthread_mutex_unlock(&j->mu);
	free(own);
	return NULL;
}

/* Write one chunk; on a regular file skip all-zero blocks (they stay holes). */
static int emit(int fd, const uint8_t *p, size_t len, uint64_t off, bool sparse)
{
	if (!sparse)
		return cli_write_all(fd, p, len, off, false);
	for (size_t i = 0; i < len;) {
		size_t n = MIN((size_t)SPARSE_BLOCK, len - i);
		if (bd_is_zero(p + i, n)) {
			i += n;
			continue;
		}
		size_t k = i + n;
		while (k < len && !bd_is_zero(p + k, MIN((size_t)SPARSE_BLOCK, len - k)))
			k += MIN((size_t)SPARSE_BLOCK, len - k);
		if (cli_write_all(fd, p + i, k - i, off + i, true))
			return -1;
		i = k;
	}
	return 0;
}

/* One run: the options, then the volume and the output. */
struct dec {
	struct cli_unlock u;
	const char *out, *source, *audit_path;
	bool force, allow_trunc, test_only, sparse, created;
	long threads;
	bd_volume *v;
	struct bd_info in;
	int fd;
	struct cli_audit audit;
	EVP_MD_CTX *md;          /* stdout: the stream's SHA-256 for --audit */
	struct cli_output output;
};

/* -1 to go on, else the exit code to return. */
static int parse_options(struct dec *D, int argc, char **argv)
{
	enum { OPT_ALLOW_TRUNC = OPT_CLI_LAST + 1, OPT_TEST, OPT_AUDIT };
	static const struct option opts[] = {
		{ "output", required_argument, 0, 'o' },
		{ "force", no_argument, 0, 'f' },
		{ "threads", required_argument, 0, 'j' },
		{ "allow-truncated", no_argument, 0, OPT_ALLOW_TRUNC },
		{ "test", no_argument, 0, OPT_TEST },
		{ "audit", required_argument, 0, OPT_AUDIT },
		{ "help", no_argument, 0, 'h' },
		CLI_UNLOCK_OPTIONS,
		{ 0, 0, 0, 0 },
	};
	int c, rc;

	D->threads = sysconf(_SC_NPROCESSORS_ONLN);
	cli_unlock_init(&D->u);
	while ((c = getopt_long(argc, argv, "o:fj:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': D->out = optarg; break;
		case 'f': D->force = true; break;
		case 'j': D->threads = strtol(optarg, NULL, 10); break;
		case OPT_ALLOW_TRUNC: D->allow_trunc = true; break;
		case OPT_TEST: D->test_only = true; break;
		case OPT_AUDIT: D->audit_path = optarg; break;
		case 'h': usage(stdout); cli_unlock_free(&D->u); return EXIT_OK;
		default:
			if ((rc = cli_unlock_getopt(&D->u, c, optarg, usage)))
				return rc;
			break;
		}
	}
	if (optind != argc - 1 || (!D->out && !D->test_only)) {
		if (!D->out)
			cli_error("decrypt: give the output with -o OUT ('-' for stdout)");
		return cli_usage_error(&D->u, usage);
	}
	if (D->threads < 1 || D->threads > 256)
		D->threads = 1;
	D->source = argv[optind];
	return -1;
}

/* -v: what was read and how it was opened. */
static void show_opened(const struct dec *D)
{
	const struct bd_info *in = &D->in;
	char g[37], sz[32];

	cli_human_size(in->size, sz, sizeof(sz));
	fprintf(stderr, "bdkit: %s: %s, volume %s, %s, %s, %s (%llu bytes), sector size %u\n", D->source,
		in->container, in->where, in->method_name, in->state_name, sz, (unsigned long long)in->size,
		in->sector_size);
	fprintf(stderr, "bdkit: metadata copy %d of 3 in use (%s, %s, %s)%s\n", in->copy_used + 1,
		bd_copy_status_name(in->copy_status[0]), bd_copy_status_name(in->copy_status[1]),
		bd_copy_status_name(in->copy_status[2]), in->hash_verified ? "; its SHA-256 verified with the VMK" : "");
	if (in->unlocked_with == BD_UNLOCKED_PROTECTOR) {
		size_t pi;
		struct bd_protector_info p;
		bd_guid_format(in->unlock_protector, g);
		if (!bd_protector_find(D->v, in->unlock_protector, &pi) && !bd_volume_protector(D->v, pi, &p))
			fprintf(stderr, "bdkit: unlocked by the %s protector {%s} (key ID %s)\n", p.type_name, g, p.key_id);
	} else if (in->unlocked_with) {
		fprintf(stderr, "bdkit: unlocked with a raw %s\n", in->unlocked_with == BD_UNLOCKED_VMK ? "VMK" : "FVEK");
	}
	fprintf(stderr, "bdkit: %ld worker thread%s\n", D->threads, D->threads == 1 ? "" : "s");
}

/* Open and unlock the volume (a fully decrypted one needs no secret). 0 or an exit code. */
static int open_volume(struct dec *D)
{
	int rc = cli_open(D->source, &D->u, false, &D->v);

	cli_audit_input(&D->audit, D->source, D->v);
	if (rc)
		return rc;
	bd_volume_info(D->v, &D->in);
	if (D->in.method == 0 && D->in.state == 1 && D->in.next_state == 1 && !cli_unlock_has_secret(&D->u)) {
		/* fully decrypted volume that still carries metadata: nothing to unlock */
		cli_warn("the volume is fully decrypted; no secret is needed");
	} else {
		rc = cli_unlock_volume(D->v, &D->u);
		if (rc)
			return rc;
	}
	cli_audit_volume(&D->audit, D->v);
	bd_volume_info(D->v, &D->in);
	if (cli_verbose)
		show_opened(D);
	return 0;
}

/* The output: stdout (never a terminal) or a file, never the source itself; sparse when it is a
 * regular file written from its start. 0 or an exit code. */
static int open_output(struct dec *D)
{
	const char *out = D->out;
	int rc;

	bd_volume_info(D->v, &D->in);
	if (D->in.fs_size > D->in.size && !D->allow_trunc) {
		cli_error("%s is truncated: the file system inside needs %llu bytes, the input holds %llu; "
			  "nothing written (--allow-truncated writes what there is)", D->source,
			  (unsigned long long)D->in.fs_size, (unsigned long long)D->in.size);
		return EXIT_TRUNCATED;
	}
	if (!strcmp(out, "-")) {
		if (isatty(1)) {
			cli_error("refusing to write a binary volume to the terminal; redirect stdout or use -o FILE");
			return EXIT_USAGE;
		}
		D->fd = 1;
	} else {
		struct stat so, si;

		if (!stat(out, &so) && !stat(D->source, &si) && so.st_dev == si.st_dev && so.st_ino == si.st_ino) {
			cli_error("the output %s is the input: refusing to overwrite the source", out);
			return EXIT_REFUSED;
		}
		/* a new file (0600, no symlink followed), or with --force a replacement renamed over it */
		if ((rc = cli_output_open(&D->output, out, D->force, 0)))
			return rc;
		D->fd = D->output.fd;
		D->created = true;
	}
	struct stat st;
	D->sparse = !fstat(D->fd, &st) && S_ISREG(st.st_mode) && lseek(D->fd, 0, SEEK_CUR) == 0;
	if (D->sparse && D->fd == 1 && ftruncate(D->fd, 0) && errno != EINVAL)
		D->sparse = false;
	return 0;
}

/* Set up the job and start the workers: 0 or an exit code (what was made is freed by the caller). */
static int start_workers(struct dec *D, struct job *j, pthread_t **tids, long *started)
{
	j->v = D->v;
	j->size = D->in.size;
	j->nchunks = (D->in.size + CHUNK - 1) / CHUNK;
	j->nslots = (size_t)D->threads * 2;
	j->buf = calloc(j->nslots, sizeof(*j->buf));
	j->ready = calloc(j->nslots, sizeof(*j->ready));
	*tids = calloc((size_t)D->threads, sizeof(**tids));
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->slot_cv, NULL);
	pthread_condattr_t ca;  /* the main thread's timed waits: immune to changes of the wall clock */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->done_cv, &ca);
	pthread_condattr_destroy(&ca);
	if (!j->buf || !j->ready || !*tids) {
		cli_error("out of memory");
		return EXIT_FAILURE_OTHER;
	}
	j->direct = D->sparse;
	j->fd = D->fd;
	for (size_t i = 0; !j->direct && i < j->nslots; i++)
		if (!(j->buf[i] = chunk_alloc())) {
			cli_error("out of memory");
			return EXIT_FAILURE_OTHER;
		}
	if (D->audit.path && !j->direct && (!(D->md = EVP_MD_CTX_new()) ||
					    !EVP_DigestInit_ex(D->md, EVP_sha256(), NULL))) {
		cli_error("out of memory");
		return EXIT_FAILURE_OTHER;
	}
	j->md = D->md;
	pthread_mutex_lock(&j->mu);
	for (; *started < D->threads; (*started)++, j->active++)
		if (pthread_create(&(*tids)[*started], NULL, worker, j))
			break;
	pthread_mutex_unlock(&j->mu);
	if (!*started) {
		cli_error("cannot start worker threads");
		return EXIT_FAILURE_OTHER;
	}
	return 0;
}

/* Decrypt every chunk with the worker threads: workers write their own chunks to a regular file
 * (direct), else the ready chunks in order to stdout; an error or an interruption stops them all.
 * The main thread only follows them for the progress bar. 0 or an exit code. */
static int decrypt_chunks(struct dec *D, struct cli_progress *prog_out)
{
	struct job j;
	pthread_t *tids = NULL;
	long started = 0;
	const struct bd_info in = D->in;
	const char *out = D->out;
	int rc;

	memset(&j, 0, sizeof(j));
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	struct cli_progress prog;
	cli_progress_start(&prog, "decrypt", in.size);
	if ((rc = start_workers(D, &j, &tids, &started)))
		goto out_threads;
	/* woken at the end or on an error; else five times a second for the progress bar and ^C */
	pthread_mutex_lock(&j.mu);
	while (job_running(&j)) {
		uint64_t w = j.written;
		pthread_mutex_unlock(&j.mu);
		cli_progress_update(&prog, MIN(w * CHUNK, in.size));
		pthread_mutex_lock(&j.mu);
		double at = cli_now() + 0.2;  /* done_cv runs on CLOCK_MONOTONIC, cli_now's clock */
		struct timespec ts = { .tv_sec = (time_t)at, .tv_nsec = (long)((at - (double)(time_t)at) * 1e9) };
		if (job_running(&j))  /* else the last signal came while the lock was free */
			pthread_cond_timedwait(&j.done_cv, &j.mu, &ts);
	}
	pthread_cond_broadcast(&j.slot_cv);  /* ^C: wake workers waiting for a slot */
	pthread_mutex_unlock(&j.mu);
	/* wait for the workers, so that an error is final and no write is in flight */
	for (long t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	if (interrupted) {
		cli_error("interrupted; %s is incomplete", out);
		rc = EXIT_INTERRUPTED;
	} else if (j.err && j.werrno) {
		cli_error("writing %s failed: %s", out, strerror(j.werrno));
		rc = EXIT_FAILURE_OTHER;
	} else if (j.err) {
		cli_error("decrypt: reading the volume at chunk %llu failed: %s",
			  (unsigned long long)j.errchunk, j.errmsg);
		rc = cli_exit_code(j.err);
	} else if (j.written != j.nchunks) {
		cli_error("decrypt: internal: %llu of %llu chunks written", (unsigned long long)j.written,
			  (unsigned long long)j.nchunks);
		rc = EXIT_FAILURE_OTHER;
	}
out_threads:  /* start_workers fails only before any worker runs */
	*prog_out = prog;
	if (j.buf)
		for (size_t i = 0; i < j.nslots; i++)
			free(j.buf[i]);
	free(j.buf);
	free(j.ready);
	free(tids);
	pthread_mutex_destroy(&j.mu);
	pthread_cond_destroy(&j.slot_cv);
	pthread_cond_destroy(&j.done_cv);
	return rc;
}

/* After the last chunk: the file's size, sync and rename into place, the rate (-v), the audit
 * record's hash of the output. 0 or an exit code. */
static int finish_output(struct dec *D, struct cli_progress *prog)
{
	const char *out = D->out;
	uint64_t size = D->in.size;
	int rc = 0;

	if (D->sparse && ftruncate(D->fd, (off_t)size)) {
		cli_error("cannot set the size of %s: %s", out, strerror(errno));
		return EXIT_FAILURE_OTHER;
	}
	if (D->fd > 1 && !D->output.regular && fsync(D->fd) && errno != EINVAL) {
		cli_error("writing %s failed: %s", out, strerror(errno));
		return EXIT_FAILURE_OTHER;
	}
	if (D->fd > 1) {
		rc = cli_output_commit(&D->output);  /* fsync, and rename a replacement into place */
		D->fd = -1;
		if (rc)
			return rc;
	}
	cli_progress_done(prog, size);
	if (cli_verbose) {
		double el = cli_now() - prog->start;
		char a[32], b[32];
		cli_human_size(size, a, sizeof(a));
		cli_human_size(el > 0 ? (uint64_t)((double)size / el) : 0, b, sizeof(b));
		fprintf(stderr, "bdkit: wrote %s to %s in %.2f s (%s/s)%s\n", a, out, el, b,
			D->sparse ? ", all-zero blocks left as holes" : "");
	}
	if (D->audit.path) {
		/* a file: hash what is on disk now; stdout: the stream as written */
		uint8_t sha[32];
		unsigned hl = 0;
		uint64_t got = 0;
		EVP_MD_CTX *md = D->md;
		if (md ? !EVP_DigestFinal_ex(md, sha, &hl) : cli_sha256_file(out, size, sha, &got) || got != size) {
			cli_error("cannot hash the output %s for the audit record", out);
			return EXIT_FAILURE_OTHER;
		}
		cli_audit_output(&D->audit, out, size, sha, md ? "the stream written to stdout" :
				 "the output file as read back after writing");
	}
	return 0;
}

int cmd_decrypt(int argc, char **argv)
{
	struct dec D = { .fd = -1, .output = { .fd = -1 } };
	struct cli_progress prog;
	int rc = parse_options(&D, argc, argv);

	if (rc >= 0)
		return rc;
	if ((rc = cli_audit_open(&D.audit, D.audit_path, argc, argv))) {
		cli_unlock_free(&D.u);
		return rc;
	}
	if ((rc = open_volume(&D)))
		goto out;
	if (D.test_only) {
		if (!cli_quiet)
			printf(D.in.unlocked ? "unlocked: the secret opens %s\n" :
			       "no secret needed: %s is fully decrypted\n", D.source);
		goto out;
	}
	if (!(rc = open_output(&D)) && !(rc = decrypt_chunks(&D, &prog)))
		rc = finish_output(&D, &prog);
out:
	if (D.fd > 1) {
		/* a replacement is dropped (the old file stays); a new file is left, incomplete */
		if (rc && D.created && rc != EXIT_INTERRUPTED && !D.output.tmp)
			cli_warn("%s is incomplete", D.out);
		cli_output_abort(&D.output);
	}
	EVP_MD_CTX_free(D.md);
	int arc = cli_audit_close(&D.audit, rc);
	bd_volume_close(D.v);
	cli_unlock_free(&D.u);
	return rc ? rc : arc;
}
