/* SPDX-License-Identifier: MIT */
/* Preload test harness (see harness.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

extern char **environ;

static atomic_uint seg_counter;

void seg_make(struct seg *s)
{
	snprintf(s->name, sizeof(s->name), "/ttmem-test-%d-%u", (int)getpid(),
		 atomic_fetch_add(&seg_counter, 1));
	ttmem_table_unlink(s->name);
}

void seg_drop(struct seg *s)
{
	ttmem_table_unlink(s->name);
}

struct ttmem_table *seg_open(const struct seg *s)
{
	struct ttmem_table *t = NULL;
	struct ttmem_open_opts o;
	char err[256] = "";

	memset(&o, 0, sizeof(o));
	o.readonly = 1;
	o.no_create = 1;
	if (ttmem_table_open(&t, s->name, &o, err, sizeof(err)) < 0)
		return NULL;
	return t;
}

const char *bpath(const char *rel)
{
	static __thread char buf[8][512];
	static __thread unsigned k;
	char *b = buf[k++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", BUILD_DIR, rel);
	return b;
}

int file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* ---- builds --------------------------------------------------------------- */

static const char *const all_builds[] = {
	"examples/gcc", "examples/clang",                 /* 2025 */
	"examples/2025b/gcc", "examples/2025b/clang",
	"examples/2026/gcc", "examples/2026/clang",
};
static char build_libpath[512];

/* Criterion's workers do not share this process's memory: parameters and
 * what they point to live in its shared arena (cr_malloc). */
static char *shared_strdup(const char *str)
{
	char *c = cr_malloc(strlen(str) + 1);

	cr_assert_not_null(c);
	strcpy(c, str);
	return c;
}

static void free_builds(struct criterion_test_params *crp)
{
	char **b = crp->params;

	for (size_t i = 0; i < crp->length; i++)
		cr_free(b[i]);
	cr_free(b);
}

struct criterion_test_params h_build_params(void)
{
	const char *only = getenv("TTMEM_TEST_BUILDS");
	char **chosen = cr_malloc(H_MAX_BUILDS * sizeof(char *));
	size_t n = 0;

	for (size_t i = 0; i < sizeof(all_builds) / sizeof(all_builds[0]); i++) {
		size_t len = strlen(all_builds[i]);
		const char *p = only;

		/* A whole word of the list. */
		while (p && (p = strstr(p, all_builds[i])) &&
		       !((p == only || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0')))
			p += len;
		if (!only || p)
			chosen[n++] = shared_strdup(all_builds[i]);
	}
	return cr_make_param_array(const char *, chosen, n, free_builds);
}

void h_use_build(const char *build)
{
	build_libpath[0] = '\0';
	if (build)
		cr_assert(realpath(bpath(build), build_libpath), "%s is not built", build);
}

void run_start(struct run *r, const struct seg *s, int preload, const char *const argv[],
	       const char *const env[])
{
	int p[2];
	char tmpl[] = "/tmp/ttmem-test-XXXXXX";
	int fd = mkstemp(tmpl);

	cr_assert(fd >= 0, "mkstemp");
	close(fd);
	memset(r, 0, sizeof(*r));
	snprintf(r->truth, sizeof(r->truth), "%s.truth.json", tmpl);
	snprintf(r->err, sizeof(r->err), "%s.stderr", tmpl);
	snprintf(r->out, sizeof(r->out), "%s", tmpl);
	cr_assert(pipe2(p, O_CLOEXEC) == 0, "pipe");

	pid_t pid = fork();
	cr_assert(pid >= 0, "fork");
	if (pid == 0) {
		char buf[1024];
		int out = open(r->out, O_WRONLY | O_TRUNC);
		int err = open(r->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int ready = dup(p[1]);   /* without O_CLOEXEC: inherited by the workload */

		if (out < 0 || err < 0 || ready < 0)
			_exit(127);
		dup2(out, 1);
		dup2(err, 2);
		close(p[0]);
		if (preload && getenv("TTMEM_TEST_PRELOAD")) {
			setenv("LD_PRELOAD", getenv("TTMEM_TEST_PRELOAD"), 1);
		} else if (preload) {
			char abs[512];
			if (!realpath(bpath("libttmem.so"), abs))
				_exit(126);
			setenv("LD_PRELOAD", abs, 1);
		} else {
			unsetenv("LD_PRELOAD");
		}
		setenv("TTMEM_SHM", s->name, 1);
		snprintf(buf, sizeof(buf), "%d", ready);
		setenv("TTEMU_READY_FD", buf, 1);
		setenv("TTEMU_TRUTH", r->truth, 1);
		if (build_libpath[0])
			setenv("LD_LIBRARY_PATH", build_libpath, 1);
		for (const char *const *e = env; e && *e; e++)
			putenv((char *)*e);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	r->pid = pid;
	r->ready = p[0];
}

int run_next(struct run *r, char *what, size_t len, int *n)
{
	char line[128];
	size_t k = 0;

	for (;;) {
		char c;
		ssize_t got = read(r->ready, &c, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		if (c == '\n')
			break;
		if (k < sizeof(line) - 1)
			line[k++] = c;
	}
	line[k] = '\0';
	char w[32] = "";
	*n = 0;
	if (sscanf(line, "%31s %d", w, n) < 1)
		return -1;
	snprintf(what, len, "%s", w);
	return 0;
}

void run_continue(struct run *r)
{
	kill(r->pid, SIGUSR1);
}

int run_wait(struct run *r)
{
	int st = 0;

	while (waitpid(r->pid, &st, 0) < 0 && errno == EINTR)
		;
	if (r->ready >= 0)
		close(r->ready);
	r->ready = -1;
	return st;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

char *run_stderr(const struct run *r)
{
	return slurp(r->err);
}

char *run_stdout(const struct run *r)
{
	return slurp(r->out);
}

void run_cleanup(struct run *r)
{
	char child[sizeof(r->truth) + 16];

	unlink(r->truth);
	unlink(r->err);
	unlink(r->out);
	/* What the workload's children wrote (lifecycle: TRUTH.child<C>). */
	for (int c = 0; c < 64; c++) {
		snprintf(child, sizeof(child), "%s.child%d", r->truth, c);
		unlink(child);
	}
}

/* ---- truth ---------------------------------------------------------------------- */

static int type_of_key(const char *k, size_t n)
{
	static const struct { const char *name; int type; } map[] = {
		{ "DRAM", TTMEM_TYPE_DRAM }, { "L1", TTMEM_TYPE_L1 },
		{ "L1_SMALL", TTMEM_TYPE_L1_SMALL }, { "TRACE", TTMEM_TYPE_TRACE },
		{ "CB", TTMEM_TYPE_CB },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].name) == n && !strncmp(map[i].name, k, n))
			return map[i].type;
	return -1;
}

/* The truth is flat: {"devices":[{"device":0,"DRAM":b,...,"buffers":n},...]}. */
void truth_load(const char *path, struct truth *t)
{
	char *s = slurp(path), *p;

	memset(t, 0, sizeof(*t));
	p = strstr(s, "\"devices\"");
	cr_assert(p, "truth %s has no devices: %s", path, s);
	while ((p = strchr(p, '{')) != NULL) {
		char *end = strchr(p, '}');
		cr_assert(end, "truth %s: unterminated object", path);
		cr_assert(t->n < H_MAX_DEVICES, "truth: too many devices");
		for (char *q = p; q < end;) {
			char *k = strchr(q, '"');
			if (!k || k > end)
				break;
			char *ke = strchr(k + 1, '"');
			char *colon = ke ? strchr(ke, ':') : NULL;
			cr_assert(colon && colon < end, "truth %s: malformed near %.40s", path, k);
			unsigned long long v = strtoull(colon + 1, &q, 10);
			size_t kn = (size_t)(ke - k - 1);
			int ty = type_of_key(k + 1, kn);
			static const char per_bank[] = "_per_bank";
			int pb = -1;

			if (kn > sizeof(per_bank) - 1 &&
			    !strncmp(k + 1 + kn - (sizeof(per_bank) - 1), per_bank, sizeof(per_bank) - 1))
				pb = type_of_key(k + 1, kn - (sizeof(per_bank) - 1));

			if (kn == 6 && !strncmp(k + 1, "device", 6))
				t->dev[t->n].device = (uint32_t)v;
			else if (kn == 7 && !strncmp(k + 1, "buffers", 7))
				t->dev[t->n].buffers = v;
			else if (ty >= 0)
				t->dev[t->n].bytes[ty] = v;
			else if (pb >= 0) {
				t->dev[t->n].per_bank[pb] = v;
				t->dev[t->n].has_per_bank = 1;
			} else if (kn > 9 && !strncmp(k + 1 + kn - 9, "_capacity", 9) &&
				 (ty = type_of_key(k + 1, kn - 9)) >= 0)
				t->dev[t->n].capacity[ty] = v;
		}
		t->n++;
		p = end + 1;
	}
	free(s);
	cr_assert(t->n > 0, "truth %s lists no device", path);
}

/* ---- usage ---------------------------------------------------------------------- */

void usage_read(struct ttmem_table *t, uint32_t pid, struct usage *u)
{
	struct ttmem_snapshot snap;

	memset(u, 0, sizeof(*u));
	cr_assert(ttmem_snapshot(t, &snap) == 0, "snapshot");
	for (size_t i = 0; i < snap.count; i++) {
		const struct ttmem_entry *e = &snap.entries[i];

		if (pid && e->pid != pid)
			continue;
		if (ttmem_proc_liveness(t, e->proc, e->pid) != TTMEM_LIVENESS_RUNNING)
			continue;
		if (e->key.device >= TTMEM_MAX_DEVICES || e->type >= TTMEM_TYPE_COUNT) {
			u->unknown_device++;
			continue;
		}
		u->bytes[e->key.device][e->type] += e->size;
		u->per_bank[e->key.device][e->type] += e->bank_bytes;
		u->buffers[e->key.device] += e->type != TTMEM_TYPE_CB;
		u->entries++;
	}
	ttmem_snapshot_free(&snap);
}

static const char *const type_names[TTMEM_TYPE_COUNT] = {
	"DRAM", "L1", "SYSTEM_MEMORY", "L1_SMALL", "TRACE", "CB",
};

void assert_usage_is_truth(const struct usage *u, const struct truth *t, const char *where)
{
	int seen[TTMEM_MAX_DEVICES] = { 0 };

	cr_expect_eq(u->unknown_device, 0, "%s: %llu entries without a device", where,
		     (unsigned long long)u->unknown_device);
	for (unsigned i = 0; i < t->n; i++) {
		uint32_t d = t->dev[i].device;
		cr_assert(d < TTMEM_MAX_DEVICES, "truth device %u", d);
		seen[d] = 1;
		cr_expect_eq(u->buffers[d], t->dev[i].buffers, "%s: chip %u: %llu buffers tracked, truth %llu",
			     where, d, (unsigned long long)u->buffers[d],
			     (unsigned long long)t->dev[i].buffers);
		for (int ty = 0; ty < TTMEM_TYPE_COUNT; ty++) {
			if (ty == TTMEM_TYPE_SYSTEM_MEMORY)
				continue;
			cr_expect_eq(u->bytes[d][ty], t->dev[i].bytes[ty],
				     "%s: chip %u %s: tracked %llu bytes, truth %llu", where, d,
				     type_names[ty], (unsigned long long)u->bytes[d][ty],
				     (unsigned long long)t->dev[i].bytes[ty]);
			/* What each bank holds: the allocator's own unit (not for
			 * circular buffers, which no bank allocator holds). */
			if (t->dev[i].has_per_bank && ty != TTMEM_TYPE_CB)
				cr_expect_eq(u->per_bank[d][ty], t->dev[i].per_bank[ty],
					     "%s: chip %u %s: tracked %llu bytes per bank, the banks hold %llu",
					     where, d, type_names[ty], (unsigned long long)u->per_bank[d][ty],
					     (unsigned long long)t->dev[i].per_bank[ty]);
		}
	}
	for (unsigned d = 0; d < TTMEM_MAX_DEVICES; d++)
		for (int ty = 0; ty < TTMEM_TYPE_COUNT && !seen[d]; ty++)
			cr_expect_eq(u->bytes[d][ty], 0, "%s: chip %u (not in the truth) %s: %llu bytes",
				     where, d, type_names[ty], (unsigned long long)u->bytes[d][ty]);
}

const struct ttmem_proc *proc_of(struct ttmem_table *t, uint32_t pid)
{
	const struct ttmem_proc *p = ttmem_table_procs(t);

	for (uint32_t i = 0; i < ttmem_table_header(t)->proc_capacity; i++)
		if (p[i].pid == pid && (atomic_load(&p[i].ctl) & 0xff) != TTMEM_PROC_FREE)
			return &p[i];
	return NULL;
}

void assert_usage_zero(const struct usage *u, const char *where)
{
	for (unsigned d = 0; d < TTMEM_MAX_DEVICES; d++)
		for (int ty = 0; ty < TTMEM_TYPE_COUNT; ty++)
			cr_expect_eq(u->bytes[d][ty], 0, "%s: chip %u %s still %llu bytes in use", where,
				     d, type_names[ty], (unsigned long long)u->bytes[d][ty]);
	cr_expect_eq(u->unknown_device, 0, "%s: entries without a device", where);
}

int hold_next(struct run *r, const struct seg *s, struct hold *h, const char *ctx)
{
	/* The previous hold, done with: its reads first, then the workload
	 * may go on (run_continue pairs with the run_next that stopped it). */
	if (h->t) {
		ttmem_table_close(h->t);
		h->t = NULL;
	}
	if (h->held) {
		run_continue(r);
		h->held = 0;
	}
	if (run_next(r, h->what, sizeof(h->what), &h->n) < 0)
		return 0;
	h->held = 1;
	snprintf(h->where, sizeof(h->where), "%s%s%s %d", ctx ? ctx : "", ctx ? " " : "", h->what,
		 h->n);
	h->t = seg_open(s);
	cr_assert_not_null(h->t, "%s: segment %s not created", h->where, s->name);
	truth_load(r->truth, &h->truth);
	usage_read(h->t, 0, &h->usage);
	return 1;
}

void hold_assert_exact(const struct hold *h)
{
	assert_usage_is_truth(&h->usage, &h->truth, h->where);
	if (!strcmp(h->what, "closed"))
		assert_usage_zero(&h->usage, h->where);
}

int hold_follow_exact(struct run *r, const struct seg *s, int *holds)
{
	struct hold h = HOLD_INIT;

	*holds = 0;
	while (hold_next(r, s, &h, NULL)) {
		hold_assert_exact(&h);
		(*holds)++;
	}
	return run_wait(r);
}
