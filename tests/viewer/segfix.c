/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE 1
/* Test support: segments built with the table API (see segfix.h). */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "segfix.h"

const char *segfix_name(char *buf, size_t len)
{
	static unsigned n;

	snprintf(buf, len, "/ttmem-test-viewer-%d-%u", (int)getpid(), n++);
	return buf;
}

void segfix_workdir_up(const char *tag, char shm[SEGFIX_SHM_LEN], char dir[SEGFIX_DIR_LEN],
		       char truth[SEGFIX_TRUTH_LEN])
{
	segfix_name(shm, SEGFIX_SHM_LEN);
	snprintf(dir, SEGFIX_DIR_LEN, "/tmp/ttmem-test-%s-%d", tag, (int)getpid());
	cr_assert_eq(mkdir(dir, 0700) == 0 || errno == EEXIST, 1, "mkdir %s: %s", dir,
		     strerror(errno));
	snprintf(truth, SEGFIX_TRUTH_LEN, "%s/truth.json", dir);
}

void segfix_workdir_down(const char *shm, const char *dir)
{
	char cmd[SEGFIX_DIR_LEN + 16];

	ttmem_table_unlink(shm);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

const char *segfix_ttmem(void)
{
	const char *b = getenv("TTMEM_BIN");

	return b && *b ? b : "build/ttmem";
}

struct ttmem_table *segfix_create(const char *name, unsigned ndev, uint64_t dram_capacity)
{
	struct ttmem_open_opts o = { .capacity = 4096, .proc_capacity = 64, .module_capacity = 16 };
	struct ttmem_table *t = NULL;
	char err[256];
	struct ttmem_device_info *di;

	ttmem_table_unlink(name);
	if (ttmem_table_open(&t, name, &o, err, sizeof(err)) < 0) {
		fprintf(stderr, "segfix_create: %s\n", err);
		return NULL;
	}
	di = ttmem_table_devices_rw(t);
	for (unsigned d = 0; d < ndev; d++) {
		di[d].arch = 2;
		if (dram_capacity)
			atomic_store(&di[d].capacity[TTMEM_TYPE_DRAM], dram_capacity);
		atomic_store_explicit(&di[d].state, 1, memory_order_release);
	}
	return t;
}

/* Not inlined, not static: its symbol is what `ttmem leaks` must print.  Its
 * body must be longer than the recorded return-address offset (4). */
static volatile unsigned segfix_sink;

__attribute__((noinline)) void segfix_leaky_function(void)
{
	for (unsigned i = 0; i < 8; i++)
		segfix_sink += i * segfix_sink + 1;
}

static uint64_t callsite_of_leaky(uint16_t *module, struct ttmem_table *t, const char *path)
{
	Dl_info di;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int m;

	*module = TTMEM_MODULE_NONE;
	if (n <= 0 || !dladdr((void *)(uintptr_t)segfix_leaky_function, &di))
		return 0;
	exe[n] = 0;
	m = ttmem_module_intern(t, path ? path : exe, NULL, 0);
	if (m >= 0)
		*module = (uint16_t)m;
	/* A return address a few bytes into the function, as a call would leave. */
	return (uint64_t)((uintptr_t)segfix_leaky_function + 4 - (uintptr_t)di.dli_fbase);
}

pid_t segfix_child(const char *name, const char *comm, const struct segfix_alloc *a,
		   size_t n, enum segfix_end end)
{
	return segfix_child_ex(name, comm, a, n, end, NULL);
}

pid_t segfix_child_ex(const char *name, const char *comm, const struct segfix_alloc *a,
		      size_t n, enum segfix_end end, const char *module_path)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct ttmem_open_opts o = { .no_create = 1 };
		struct ttmem_table *t = NULL;
		char err[256];
		int idx;
		uint16_t module;
		uint64_t cs;

		close(p[0]);
		prctl(PR_SET_NAME, comm, 0, 0, 0);
		if (ttmem_table_open(&t, name, &o, err, sizeof(err)) < 0)
			_exit(90);
		idx = ttmem_proc_register(t);
		if (idx < 0)
			_exit(91);
		cs = callsite_of_leaky(&module, t, module_path);
		for (size_t i = 0; i < n; i++) {
			struct ttmem_entry e;

			memset(&e, 0, sizeof(e));
			e.key.address = a[i].address;
			e.key.device = a[i].device;
			e.key.space = a[i].type == TTMEM_TYPE_CB ? TTMEM_SPACE_CB :
				      (a[i].type == TTMEM_TYPE_L1 || a[i].type == TTMEM_TYPE_L1_SMALL) ?
				      TTMEM_SPACE_L1 : TTMEM_SPACE_DRAM;
			e.type = a[i].type;
			e.owner_kind = a[i].owner;
			e.owner_id = a[i].owner ? 0x1000 : 0;
			e.size = a[i].size;
			e.module = module;
			e.callsite = (uint32_t)cs;
			/* One page each (a single-page buffer), its bank
			 * footprint left to the viewer to work out. */
			e.page_size = a[i].size < UINT32_MAX ? (uint32_t)a[i].size : UINT32_MAX;
			if (ttmem_insert(t, &e) < 0)
				_exit(92);
		}
		ttmem_flush(t);
		if (end == SEGFIX_EXIT) {
			ttmem_proc_exit(t, idx);
			_exit(0);
		}
		if (end == SEGFIX_KILLED)
			raise(SIGKILL);
		if (write(p[1], "r", 1) != 1)
			_exit(93);
		for (;;)
			pause();
	}
	close(p[1]);
	if (end == SEGFIX_RUN) {
		if (read(p[0], &c, 1) != 1) {
			close(p[0]);
			return -1;
		}
	} else {
		int st;

		waitpid(pid, &st, 0);
	}
	close(p[0]);
	return pid;
}

int segfix_rename(struct ttmem_table *t, pid_t pid, const char *name)
{
	struct ttmem_proc *pr = ttmem_table_procs_rw(t);
	uint32_t n = ttmem_table_header(t)->proc_capacity;

	for (uint32_t i = 0; pr && i < n; i++)
		if (pr[i].pid == (uint32_t)pid) {
			memset(pr[i].name, 0, sizeof(pr[i].name));
			memcpy(pr[i].name, name, strnlen(name, sizeof(pr[i].name) - 1));
			snprintf(pr[i].cmdline, sizeof(pr[i].cmdline), "%s --flag", name);
			return 0;
		}
	return -1;
}

void segfix_stop(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

static char *slurp(int fd)
{
	size_t cap = 4096, len = 0;
	char *b = malloc(cap);
	ssize_t r;

	if (!b)
		return NULL;
	while ((r = read(fd, b + len, cap - len - 1)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)r;
		if (cap - len < 2) {
			char *nb = realloc(b, cap * 2);

			if (!nb)
				break;
			b = nb;
			cap *= 2;
		}
	}
	b[len] = 0;
	return b;
}

int segfix_run(char *const argv[], char **out, char **err)
{
	return segfix_pipe(argv, NULL, out, err);
}

int segfix_pipe(char *const argv[], const char *input, char **out, char **err)
{
	char tmpo[] = "/tmp/ttmem-test-outXXXXXX", tmpe[] = "/tmp/ttmem-test-errXXXXXX";
	int fo = mkstemp(tmpo), fe = mkstemp(tmpe), st = -1;
	pid_t pid;

	char tmpi[] = "/tmp/ttmem-test-inXXXXXX";
	int fi = -1;

	if (fo < 0 || fe < 0)
		return -1;
	unlink(tmpo);
	unlink(tmpe);
	if (input) {
		size_t len = strlen(input), off = 0;

		fi = mkstemp(tmpi);
		if (fi < 0)
			return -1;
		unlink(tmpi);
		while (off < len) {
			ssize_t w = write(fi, input + off, len - off);

			if (w <= 0)
				return -1;
			off += (size_t)w;
		}
		lseek(fi, 0, SEEK_SET);
	}
	pid = fork();
	if (pid == 0) {
		int dn = fi >= 0 ? fi : open("/dev/null", O_RDONLY);

		dup2(dn, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	lseek(fo, 0, SEEK_SET);
	lseek(fe, 0, SEEK_SET);
	if (out)
		*out = slurp(fo);
	if (err)
		*err = slurp(fe);
	close(fo);
	close(fe);
	if (fi >= 0)
		close(fi);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

int segfix_ttmem_run(char **out, char **err, ...)
{
	char *argv[32];
	int n = 0;
	va_list ap;

	argv[n++] = (char *)segfix_ttmem();
	va_start(ap, err);
	while (n < 31 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	unsetenv("TTMEM_SHM");
	/* Text output fits $COLUMNS when set: tests that want a width say so
	 * (--width, or env COLUMNS=N through segfix_run). */
	unsetenv("COLUMNS");
	return segfix_run(argv, out, err);
}

int segfix_check(const char *input, char **err, const char *mode, const char *arg,
		 const char *arg2)
{
	char *argv[] = { (char *)"python3", (char *)"tests/viewer/viewer_check.py", (char *)mode,
			 (char *)arg, (char *)arg2, NULL };

	return segfix_pipe(argv, input, NULL, err);
}

int segfix_lines(const char *s)
{
	int n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

const char *segfix_build_path(const char *rel)
{
	static char buf[4][4096];
	static unsigned n;
	const char *b = getenv("TTMEM_BUILD");
	char *out = buf[n++ % 4];

	snprintf(out, sizeof(buf[0]), "%s/%s", b && *b ? b : "build", rel);
	return out;
}

int segfix_have(const char *rel)
{
	return access(segfix_build_path(rel), F_OK) == 0;
}

int segfix_wl_start(struct segfix_wl *w, const char *shm, const char *truth,
		    const char *flavour, char *const argv[])
{
	int p[2];
	char preload[4096], exe[4096], libdir[4096];

	if (!realpath(segfix_build_path("libttmem.so"), preload))
		return -1;
	snprintf(exe, sizeof(exe), "%s", segfix_build_path(argv[0]));
	if (flavour && !realpath(segfix_build_path(flavour), libdir))
		return -1;
	if (pipe(p) < 0)
		return -1;
	w->pid = fork();
	if (w->pid < 0)
		return -1;
	if (w->pid == 0) {
		int dn = open("/dev/null", O_RDWR);

		close(p[0]);
		if (p[1] != 3) {
			dup2(p[1], 3);
			close(p[1]);
		}
		dup2(dn, 0);
		dup2(dn, 1);
		dup2(dn, 2);
		setenv("LD_PRELOAD", preload, 1);
		setenv("TTMEM_SHM", shm, 1);
		setenv("TTEMU_READY_FD", "3", 1);
		if (truth)
			setenv("TTEMU_TRUTH", truth, 1);
		if (flavour)
			setenv("LD_LIBRARY_PATH", libdir, 1);
		execv(exe, argv);
		_exit(127);
	}
	close(p[1]);
	w->ready = fdopen(p[0], "r");
	return w->ready ? 0 : -1;
}

int segfix_wl_expect(struct segfix_wl *w, const char *what)
{
	char line[256];

	if (!fgets(line, sizeof(line), w->ready))
		return -1;
	return strncmp(line, what, strlen(what)) == 0 ? 0 : -1;
}

void segfix_wl_release(struct segfix_wl *w)
{
	kill(w->pid, SIGUSR1);
}

int segfix_wl_wait(struct segfix_wl *w)
{
	int st = 0;
	char line[256];

	/* Drain first: closing the pipe early would SIGPIPE a late writer. */
	while (w->ready && fgets(line, sizeof(line), w->ready))
		;
	if (w->ready)
		fclose(w->ready);
	w->ready = NULL;
	while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

char *segfix_read_file(const char *path)
{
	int fd = open(path, O_RDONLY);
	char *b;

	if (fd < 0)
		return NULL;
	b = slurp(fd);
	close(fd);
	return b;
}
