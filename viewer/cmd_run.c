/* SPDX-License-Identifier: MIT */
/*
 * `ttmem run [--shm NAME] -- CMD [ARGS...]`: run CMD tracked.  Sets
 * LD_PRELOAD to libttmem.so (next to this binary, else where `make install`
 * put it: the libdir relative to this binary, then the absolute libdir), and
 * TTMEM_SHM; waits for CMD and exits with its status (128+N
 * when killed by signal N, as shells do).  What to look at afterwards goes
 * to stderr, so CMD's stdout stays clean.
 *
 * While CMD runs, SIGINT/SIGQUIT/SIGTERM from the terminal reach it directly
 * (same process group); we ignore the first two and forward SIGTERM/SIGHUP.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "file_access.h"
#include "viewer.h"

#ifndef TTMEM_LIBDIR
#define TTMEM_LIBDIR "/usr/local/lib"
#endif
/* LIBDIR relative to BINDIR (viewer/viewer.mk): found from our own path, it
 * also works in a tree installed with DESTDIR or moved elsewhere. */
#ifndef TTMEM_LIBDIR_FROM_BIN
#define TTMEM_LIBDIR_FROM_BIN "../lib"
#endif

static volatile sig_atomic_t run_child;

static void forward(int sig)
{
	if (run_child > 0)
		kill((pid_t)run_child, sig);
}

static void run_usage(FILE *f)
{
	fputs("usage: ttmem run [--shm NAME] [--quiet] [--check] [--mode MODE] [--group GROUP]\n"
	      "                 -- COMMAND [ARGS...]\n\n"
	      "Run COMMAND with libttmem.so preloaded and TTMEM_SHM set; exit with its\n"
	      "status (with --check, 14 when it succeeded but left device memory).\n"
	      "The preload is looked up next to the ttmem binary, then in the install\n"
	      "libdir, relative to the binary (" TTMEM_LIBDIR_FROM_BIN ") and absolute\n"
	      "(" TTMEM_LIBDIR "); TTMEM_PRELOAD overrides them.  Says plainly when\n"
	      "tracking is off, and why (before and after COMMAND).\n\n"
	      "  -q, --quiet     do not print where to look, nor whether COMMAND was tracked\n"
	      "                  (that tracking is off before it starts is always said)\n"
	      "  -c, --check     afterwards, report on stderr what COMMAND and the\n"
	      "                  processes it started left allocated (ttmem leaks) and\n"
	      "                  exit 14 if anything (a CI gate)\n"
	      "      --mode MODE   a segment created now is MODE: 0600 (default), 0640\n"
	      "                    (its group reads) or 0660 (its group writes too)\n"
	      "      --group GROUP the group a segment created now is shared with (a\n"
	      "                    name or gid; alone it means --mode 0640); also lets\n"
	      "                    COMMAND write a segment another user shares with GROUP\n"
	      "      --shm NAME  segment (default $TTMEM_SHM, else " TTMEM_DEFAULT_SHM_NAME ")\n"
	      "  -h, --help      this help\n"
	      "  -V, --version   version\n", f);
}

static int usable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

/* Find libttmem.so; returns 0 and fills buf, or -1. */
static int find_preload(char *buf, size_t len)
{
	char self[PATH_MAX];
	const char *env = getenv("TTMEM_PRELOAD");
	ssize_t n;
	int k;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return usable(buf) ? 0 : -1;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;

		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(buf, len, "%s/libttmem.so", self);
			if (usable(buf))
				return 0;
			/* installed layout: BINDIR/ttmem, LIBDIR/libttmem.so (a
			 * truncated path is not tried) */
			k = snprintf(buf, len, "%s/" TTMEM_LIBDIR_FROM_BIN "/libttmem.so", self);
			if (k > 0 && (size_t)k < len && usable(buf))
				return 0;
		}
	}
	snprintf(buf, len, "%s/libttmem.so", TTMEM_LIBDIR);
	return usable(buf) ? 0 : -1;
}

/* --mode / --group: checked here, passed to the preload through the
 * environment (it reads TTMEM_SHM_MODE / TTMEM_SHM_GROUP). */
static int set_access(const char *mode, const char *group)
{
	struct ttmem_open_opts o;
	char err[200];

	memset(&o, 0, sizeof(o));
	if (ttmem_access_parse(&o, mode ? mode : getenv("TTMEM_SHM_MODE"),
			       group ? group : getenv("TTMEM_SHM_GROUP"), err, sizeof(err)) < 0) {
		/* Name the flag, not the variable, when the flag was used. */
		if (mode && strstr(err, "TTMEM_SHM_MODE"))
			viewer_err("run", "--mode %s is not 0600, 0640 or 0660", mode);
		else if (group && strstr(err, "TTMEM_SHM_GROUP"))
			viewer_err("run", "--group %s: no such group", group);
		else
			viewer_err("run", "%s", err);
		return -1;
	}
	if ((mode && setenv("TTMEM_SHM_MODE", mode, 1) < 0) ||
	    (group && setenv("TTMEM_SHM_GROUP", group, 1) < 0)) {
		viewer_err("run", "setenv: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Will the preload be able to track?  Says why not on stderr (the command
 * still runs: the preload lets it run untracked).  1 when it should.
 */
static int tracking_preflight(const char *shm)
{
	const char *dis = getenv("TTMEM_DISABLE");
	struct ttmem_open_opts o;
	struct ttmem_table *t = NULL;
	char err[256] = "";
	int rc;

	if (dis && !strcmp(dis, "1")) {
		viewer_err("run", "tracking is off: TTMEM_DISABLE=1 is set in the environment");
		return 0;
	}
	memset(&o, 0, sizeof(o));
	ttmem_access_parse(&o, getenv("TTMEM_SHM_MODE"), getenv("TTMEM_SHM_GROUP"), NULL, 0);
	o.no_create = 1;
	o.no_wait = 1;
	rc = ttmem_table_open(&t, shm, &o, err, sizeof(err));
	if (rc == -ENOENT)
		return 1; /* the preload creates it */
	/* Being built by another program (it waits for it) or stale (it
	 * re-creates it): the command will be tracked. */
	if (rc == TTMEM_ENOTREADY)
		return 1;
	if (rc < 0) {
		viewer_err("run", "tracking is off: %s", err[0] ? err : ttmem_strerror(rc));
		if (rc == TTMEM_EOWNER || rc == -EACCES)
			viewer_err("run", "use a segment of your own (--shm /ttmem-$USER), or have its "
				   "owner share it with your group (--group, ttmem(1), SHARING)");
		return 0;
	}
	ttmem_table_close(t);
	return 1;
}

/* The processes registered during the run, to find the command's own. */
struct run_proc {
	uint32_t pid, ppid, flags;
	int ours;
};

struct report_ctx {
	uint64_t since_ns;
	uint32_t seen;
	struct run_proc *procs;
	size_t n, cap;
};

/* One registry entry: registered during the run?  Tracked fully? */
static void report_one(const struct ttmem_proc *p, uint32_t idx, unsigned state, void *arg)
{
	struct report_ctx *c = arg;
	uint32_t fl = p->flags, pid = p->pid;

	(void)idx;
	(void)state;
	if (p->registered_ns < c->since_ns)
		return;
	c->seen++;
	if (c->n < c->cap)
		c->procs[c->n++] = (struct run_proc){ pid, p->ppid, fl, 0 };
	if (fl & TTMEM_PROC_F_NOT_INTERPOSABLE)
		viewer_err("run", "pid %u was not tracked: its runtime binds its calls directly "
			   "(-Bsymbolic); 'ttmem probe' tells more", pid);
	else if (fl & TTMEM_PROC_F_PRELOAD_DISABLED)
		viewer_err("run", "pid %u was not tracked: tracking was disabled in it", pid);
	else if (fl & TTMEM_PROC_F_ABI_PARTIAL)
		viewer_err("run", "pid %u was partly tracked: its runtime's Buffer layout did not "
			   "match the ABI profile (chips shown as unknown)", pid);
}

/*
 * The processes of the command (pid `root` and those it forked, by parent
 * pid) that were tracked only in part, as "; tracked only in part: pid N
 * (why), ..." into buf (empty when none), for run's last line: a usage
 * below the truth must not pass for exact.
 */
static void partial_note(struct report_ctx *c, pid_t root, char *buf, size_t len)
{
	size_t at = 0;
	int grew = 1;

	buf[0] = 0;
	for (size_t i = 0; i < c->n; i++)
		c->procs[i].ours = c->procs[i].pid == (uint32_t)root;
	while (grew) {
		grew = 0;
		for (size_t i = 0; i < c->n; i++)
			for (size_t j = 0; j < c->n && !c->procs[i].ours; j++)
				if (c->procs[j].ours && c->procs[i].ppid == c->procs[j].pid)
					c->procs[i].ours = grew = 1;
	}
	for (size_t i = 0; i < c->n; i++) {
		char why[96];
		int k;

		if (!c->procs[i].ours || !(c->procs[i].flags & TTMEM_PROC_F_PARTIAL))
			continue;
		k = snprintf(buf + at, len - at, "%s pid %u (%s)",
			     at ? "," : "; tracked only in part:", c->procs[i].pid,
			     partial_why(why, sizeof(why), c->procs[i].flags));
		if (k < 0 || (size_t)k >= len - at) {
			buf[at] = 0;
			break;
		}
		at += (size_t)k;
	}
}

/* After COMMAND: did anything register, and was it tracked fully?  What
 * was tracked only in part goes to `note` (partial_note). */
static void tracking_report(const char *shm, const char *cmd, uint64_t since_ns, pid_t root,
			    char *note, size_t len)
{
	struct ttmem_open_opts o = { .readonly = 1, .no_create = 1, .no_wait = 1 };
	struct ttmem_table *t = NULL;
	struct report_ctx c = { since_ns, 0, NULL, 0, 0 };
	int rc;

	note[0] = 0;
	rc = ttmem_table_open(&t, shm, &o, NULL, 0);
	if (rc == TTMEM_ENOTREADY) {
		viewer_err("run", "'%s' was not tracked: segment %s was never published while it "
			   "ran (its creator was stopped or died)", cmd, shm);
		return;
	}
	if (rc < 0) {
		viewer_err("run", "'%s' was not tracked: no segment %s was created (it never loaded "
			   "tt-metal's runtime, or the preload was not loaded)", cmd, shm);
		return;
	}
	c.cap = ttmem_table_proc_capacity(t);
	c.procs = calloc(c.cap ? c.cap : 1, sizeof(*c.procs));
	if (!c.procs)
		c.cap = 0;
	viewer_registry_each(t, report_one, &c);
	if (!c.seen)
		viewer_err("run", "'%s' was not tracked: no process registered in %s (it never "
			   "loaded tt-metal's runtime, or the preload was not loaded)", cmd, shm);
	partial_note(&c, root, note, len);
	free(c.procs);
	ttmem_table_close(t);
}

/*
 * --check: what the command (pid `root`) and the processes it forked left
 * in the segment, reported on stderr as `ttmem leaks` does.  VX_LEAKS when
 * anything, VX_OK when nothing, another code when the segment is unusable
 * or changed size while read.
 */
static int run_check(const char *shm, pid_t root)
{
	struct ttmem_table *t = NULL;
	struct ttmem_snapshot snap;
	struct leak_report r = { 0 };
	struct symbolizer *sy = NULL;
	struct file_access fa;
	uint32_t *pids = NULL, nreg;
	size_t n = 0;
	int rc = viewer_attach_snapshot("run", shm, &t, &snap);

	if (rc)
		return rc;
	/* The command and its descendants, by parent pid in the registry. */
	nreg = ttmem_table_header(t)->proc_capacity;
	if (nreg > TTMEM_MAX_PROC_CAPACITY)
		nreg = TTMEM_MAX_PROC_CAPACITY;
	pids = malloc(((size_t)nreg + 1) * sizeof(*pids));
	file_access_for_segment(&fa, shm);
	sy = symbolizer_new(t, &fa);
	if (!pids || !sy || leaks_build(&r, t, &snap, -1, -1, NULL) < 0) {
		viewer_err("run", "out of memory");
		rc = VX_SYSTEM;
		goto out;
	}
	pids[n++] = (uint32_t)root;
	for (int grew = 1; grew && n <= nreg;) {
		const struct ttmem_proc *reg = ttmem_table_procs(t);

		grew = 0;
		for (uint32_t i = 0; i < nreg && n <= nreg; i++) {
			uint32_t pid = reg[i].pid, ppid = reg[i].ppid;
			int has = 0, parent = 0;

			for (size_t k = 0; k < n; k++) {
				has |= pids[k] == pid;
				parent |= pids[k] == ppid;
			}
			if (parent && !has && pid) {
				pids[n++] = pid;
				grew = 1;
			}
		}
	}
	leaks_keep_pids(&r, pids, n);
	if (r.entries) {
		/* Rendered aside, shown only if the mapping held (as leaks). */
		char *text = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&text, &len);

		if (!mem) {
			viewer_err("run", "out of memory");
			rc = VX_SYSTEM;
			goto out;
		}
		leaks_print(mem, &r, sy, shm, 0, 0);
		if (fclose(mem) != 0) {
			free(text);
			viewer_err("run", "out of memory");
			rc = VX_SYSTEM;
			goto out;
		}
		rc = viewer_check_intact("run", shm, t);
		if (rc == VX_OK) {
			fwrite(text, 1, len, stderr);
			rc = VX_LEAKS;
		}
		free(text);
	} else {
		rc = viewer_check_intact("run", shm, t);
		if (rc == VX_OK)
			fprintf(stderr, "ttmem run: --check: no device memory left by the command\n");
	}
out:
	leaks_release(&r);
	symbolizer_free(sy);
	free(pids);
	ttmem_snapshot_free(&snap);
	ttmem_table_close(t);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "shm", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "mode", required_argument, NULL, 'm' },
		{ "group", required_argument, NULL, 'g' },
		{ "check", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *shm = NULL, *old, *mode = NULL, *group = NULL;
	char preload[PATH_MAX + 32];
	char *ldp = NULL;
	int quiet = 0, check = 0, c, status, tracking;
	uint64_t started_ns;
	struct sigaction sa, ign;
	pid_t pid, w;
	int errpipe[2];

	optind = 1;
	opterr = 0;
	/* '+': stop at the first non-option, so CMD's own options stay its own. */
	while ((c = getopt_long(argc, argv, "+:qchV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			shm = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 'c':
			check = 1;
			break;
		case 'h':
			run_usage(stdout);
			return VX_OK;
		case 'V':
			viewer_version("run");
			return VX_OK;
		case ':':
			viewer_err("run", "option '%s' needs a value", argv[optind - 1]);
			return VX_USAGE;
		default:
			viewer_err("run", "unknown option '%s' (try 'ttmem run --help')",
				   argv[optind - 1]);
			return VX_USAGE;
		}
	}
	if (optind >= argc) {
		viewer_err("run", "no command given (usage: ttmem run [--shm NAME] -- CMD [ARGS...])");
		return VX_USAGE;
	}
	shm = viewer_shm_name(shm);
	if (!*shm) {
		viewer_err("run", "--shm: an empty segment name (give /NAME or a file path)");
		return VX_USAGE;
	}
	if (set_access(mode, group) < 0)
		return VX_USAGE;
	if (find_preload(preload, sizeof(preload)) < 0) {
		viewer_err("run", "cannot find libttmem.so (looked next to ttmem and in %s; "
			   "set TTMEM_PRELOAD)", TTMEM_LIBDIR);
		return VX_RUN_FAIL;
	}
	old = getenv("LD_PRELOAD");
	if (old && *old) {
		size_t n = strlen(preload) + strlen(old) + 2;

		ldp = malloc(n);
		if (!ldp) {
			viewer_err("run", "out of memory");
			return VX_RUN_FAIL;
		}
		snprintf(ldp, n, "%s:%s", preload, old);
	}
	if (setenv("LD_PRELOAD", ldp ? ldp : preload, 1) < 0 || setenv("TTMEM_SHM", shm, 1) < 0) {
		viewer_err("run", "setenv: %s", strerror(errno));
		free(ldp);
		return VX_RUN_FAIL;
	}
	free(ldp);
	tracking = tracking_preflight(shm);
	if (!quiet && tracking)
		fprintf(stderr, "ttmem run: tracking '%s' into segment %s (LD_PRELOAD=%s)\n",
			argv[optind], shm, preload);
	started_ns = now_ns();
	fflush(NULL);
	/* exec failure reported through a close-on-exec pipe: errno or nothing. */
	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		viewer_err("run", "pipe: %s", strerror(errno));
		return VX_RUN_FAIL;
	}
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGINT, &ign, NULL);
	sigaction(SIGQUIT, &ign, NULL);
	pid = fork();
	if (pid < 0) {
		viewer_err("run", "fork: %s", strerror(errno));
		return VX_RUN_FAIL;
	}
	if (pid == 0) {
		int e;

		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		close(errpipe[0]);
		execvp(argv[optind], argv + optind);
		e = errno;
		if (write(errpipe[1], &e, sizeof(e)) < 0)
			_exit(VX_RUN_FAIL);
		_exit(e == ENOENT ? VX_RUN_NOTFOUND : VX_RUN_NOEXEC);
	}
	run_child = pid;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	close(errpipe[1]);
	{
		int e = 0;
		ssize_t n;

		do
			n = read(errpipe[0], &e, sizeof(e));
		while (n < 0 && errno == EINTR);
		close(errpipe[0]);
		if (n == (ssize_t)sizeof(e)) {
			viewer_err("run", "%s: %s", argv[optind], strerror(e));
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return e == ENOENT ? VX_RUN_NOTFOUND : VX_RUN_NOEXEC;
		}
	}
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		viewer_err("run", "waitpid: %s", strerror(errno));
		return VX_RUN_FAIL;
	}
	char note[512] = "";
	if (tracking && !quiet)
		tracking_report(shm, argv[optind], started_ns, pid, note, sizeof(note));
	if (!quiet)
		fprintf(stderr, "ttmem run: '%s' %s %d%s; see 'ttmem show --shm %s' and "
			"'ttmem leaks --shm %s'\n", argv[optind],
			WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), note, shm, shm);
	if (check) {
		int rc = run_check(shm, pid);

		if (rc != VX_OK && !(WIFEXITED(status) && WEXITSTATUS(status) != 0) &&
		    !WIFSIGNALED(status))
			return rc;   /* the command's own failure wins */
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
