/* SPDX-License-Identifier: MIT */
/*
 * `ttmem ls`: the ttmem segments in /dev/shm with owner, group, mode, size and
 * live processes; `ttmem rm NAME`: remove one (each holds up to 64 MiB of RAM
 * by default, until the last process that maps it is gone).
 *
 * What is a ttmem segment: a regular file whose first 8 bytes are the ttmem
 * magic, or (a creation that never finished) an empty or zero-headed file
 * whose name starts with "ttmem".  Everything else in /dev/shm belongs to
 * other programs: ls does not list it, rm refuses it.  Names come from the
 * directory, so they are printed through the sanitizer like any string a
 * segment holds.
 *
 * Neither waits on anything another user controls: a segment that was never
 * published is not waited for (a live process holding its build lock, which
 * any user who can open the file may take, is reported as "being built"),
 * and rm refuses to remove a segment being built by a live process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sanitize.h"
#include "viewer.h"

#define SHM_DIR "/dev/shm"

enum seg_kind { SEG_NOT_OURS, SEG_TTMEM, SEG_UNPUBLISHED, SEG_UNREADABLE };

struct seg_info {
	char name[512];               /* "/name" as --shm takes it */
	struct stat st;
	enum seg_kind kind;
	int exists;                   /* lstat found something under the name */
	int open_rc;                  /* ttmem_table_open's result (0: read) */
	int building;                 /* never published, and a live process holds
				       * its build lock (segment.h, "Creation") */
	uint32_t live, registered;    /* processes running / registry entries in use */
	uint32_t pids[8];             /* the first live pids */
};

struct count_ctx {
	const struct ttmem_table *t;
	struct seg_info *si;
};

static void count_one(const struct ttmem_proc *p, uint32_t idx, unsigned state, void *arg)
{
	struct count_ctx *c = arg;
	uint32_t pid = p->pid;

	c->si->registered++;
	if (state == TTMEM_PROC_RUNNING &&
	    ttmem_proc_liveness(c->t, (uint16_t)idx, pid) == TTMEM_LIVENESS_RUNNING) {
		if (c->si->live < sizeof(c->si->pids) / sizeof(c->si->pids[0]))
			c->si->pids[c->si->live] = pid;
		c->si->live++;
	}
}

/* Live and registered processes of an open segment. */
static void count_procs(const struct ttmem_table *t, struct seg_info *si)
{
	struct count_ctx c = { t, si };

	viewer_registry_each(t, count_one, &c);
}

/*
 * Classify the file `name` (as --shm takes it); fills *si.  Reads the magic
 * with pread on an O_NONBLOCK descriptor (never maps a file it has not
 * recognized, never blocks on a FIFO), then opens ttmem segments read-only
 * through the core, which validates everything.
 */
static void probe_segment(const char *name, struct seg_info *si)
{
	int is_path = name[0] && strchr(name + 1, '/');
	char path[sizeof(si->name) + 16];
	uint64_t magic = 0;
	const char *base;
	int fd;

	memset(si, 0, sizeof(*si));
	snprintf(si->name, sizeof(si->name), "%s", name);
	snprintf(path, sizeof(path), "%s%s%s", is_path ? "" : SHM_DIR,
		 is_path || name[0] == '/' ? "" : "/", name);
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	si->open_rc = -ENOENT;
	if (lstat(path, &si->st) != 0) {
		si->open_rc = -errno;
		return;
	}
	si->exists = 1;
	if (!S_ISREG(si->st.st_mode))
		return;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		si->open_rc = -errno;
		if (!strncmp(base, "ttmem", 5))
			si->kind = SEG_UNREADABLE;
		return;
	}
	if (pread(fd, &magic, sizeof(magic), 0) != (ssize_t)sizeof(magic))
		magic = 0;
	/* A shared probe of the build lock, never waiting: held exclusively
	 * by someone means being built (or held by whoever opened it). */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		flock(fd, LOCK_UN);
	else
		si->building = errno == EWOULDBLOCK;
	close(fd);
	if (magic == TTMEM_MAGIC) {
		/* no_wait: an unpublished segment is reported, not waited for. */
		struct ttmem_open_opts o = { .readonly = 1, .no_create = 1, .no_wait = 1 };
		struct ttmem_table *t = NULL;

		si->kind = SEG_TTMEM;
		si->open_rc = ttmem_table_open(&t, name, &o, NULL, 0);
		if (si->open_rc == 0) {
			count_procs(t, si);
			ttmem_table_close(t);
		}
		if (si->open_rc != TTMEM_ENOTREADY)
			si->building = 0;   /* published: the lock means nothing */
	} else if (magic == 0 && !strncmp(base, "ttmem", 5)) {
		si->kind = SEG_UNPUBLISHED;
	} else {
		si->building = 0;
	}
}

static const char *state_of(const struct seg_info *si)
{
	switch (si->kind) {
	case SEG_UNPUBLISHED:
		return si->building ? "being built" : "never published";
	case SEG_UNREADABLE:
		return "unreadable";
	case SEG_TTMEM:
		if (si->open_rc == 0)
			return (si->st.st_mode & S_IWOTH) ? "ok, world-writable!" : "ok";
		if (si->building)
			return "being built";
		return ttmem_strerror(si->open_rc);
	default:
		return "not a ttmem segment";
	}
}

static const char *user_name(char *buf, size_t len, uid_t uid)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, len, "%s", res->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned)uid);
	return buf;
}

static const char *group_name(char *buf, size_t len, gid_t gid)
{
	struct group gr, *res = NULL;
	char tmp[1024];

	if (getgrgid_r(gid, &gr, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, len, "%s", res->gr_name);
	else
		snprintf(buf, len, "%u", (unsigned)gid);
	return buf;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct seg_info *)a)->name, ((const struct seg_info *)b)->name);
}

static void ls_text(const struct seg_info *v, size_t n)
{
	printf("%-32s %-10s %-10s %-5s %10s %5s %5s  %s\n", "NAME", "OWNER", "GROUP", "MODE", "SIZE",
	       "LIVE", "PROCS", "STATE");
	for (size_t i = 0; i < n; i++) {
		const struct seg_info *si = &v[i];
		char cell[200], u[64], g[64], size[32], live[16], regd[16];
		int ok = si->kind == SEG_TTMEM && si->open_rc == 0;

		snprintf(live, sizeof(live), ok ? "%u" : "-", si->live);
		snprintf(regd, sizeof(regd), ok ? "%u" : "-", si->registered);
		printf("%s %-10s %-10s %04o  %10s %5s %5s  %s\n",
		       san_cell(cell, sizeof(cell), si->name, sizeof(si->name), 32, 0, 0),
		       user_name(u, sizeof(u), si->st.st_uid), group_name(g, sizeof(g), si->st.st_gid),
		       (unsigned)(si->st.st_mode & 07777),
		       fmt_bytes(size, sizeof(size), (uint64_t)si->st.st_size), live, regd, state_of(si));
	}
	if (!n)
		printf("(no ttmem segment in " SHM_DIR ")\n");
}

static void ls_json(const struct seg_info *v, size_t n)
{
	char u[64], g[64];

	fputs("{\"schema\":\"ttmem/1\",\"kind\":\"segments\",\"segments\":[", stdout);
	for (size_t i = 0; i < n; i++) {
		const struct seg_info *si = &v[i];
		int ok = si->kind == SEG_TTMEM && si->open_rc == 0;

		printf("%s{\"name\":", i ? "," : "");
		san_json(stdout, si->name, sizeof(si->name));
		printf(",\"owner\":");
		san_json(stdout, user_name(u, sizeof(u), si->st.st_uid), sizeof(u));
		printf(",\"uid\":%u,\"group\":", (unsigned)si->st.st_uid);
		san_json(stdout, group_name(g, sizeof(g), si->st.st_gid), sizeof(g));
		printf(",\"gid\":%u,\"mode\":\"%04o\",\"size\":%lld,\"state\":\"%s\"",
		       (unsigned)si->st.st_gid, (unsigned)(si->st.st_mode & 07777),
		       (long long)si->st.st_size, state_of(si));
		if (ok)
			printf(",\"live_processes\":%u,\"registered_processes\":%u}", si->live,
			       si->registered);
		else
			fputs(",\"live_processes\":null,\"registered_processes\":null}", stdout);
	}
	fputs("]}\n", stdout);
}

/* Options shared by ls and rm. */
static int seg_parse(const char *sub, const char *usage, int argc, char **argv, int *json,
		     int *force)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jfhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (!json)
				goto unknown;
			*json = 1;
			break;
		case 'f':
			if (!force)
				goto unknown;
			*force = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return -1;
		case 'V':
			viewer_version(sub);
			return -1;
		default:
		unknown:
			viewer_err(sub, "unknown option '%s' (try 'ttmem %s --help')", argv[optind - 1],
				   sub);
			return VX_USAGE;
		}
	}
	return 0;
}

int cmd_ls(int argc, char **argv)
{
	static const char usage[] =
		"usage: ttmem ls [--json]\n\n"
		"The ttmem segments in " SHM_DIR ": name (as --shm takes it), owner, group,\n"
		"mode, size, live processes (LIVE) and registered ones (PROCS), and whether\n"
		"the viewer can read it (STATE).  Segments named by a file path are not\n"
		"listed.\n\n"
		"  -j, --json      JSON (schema ttmem/1, kind \"segments\")\n"
		"  -h, --help      this help\n"
		"  -V, --version   version\n";
	struct seg_info *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int json = 0, rc = seg_parse("ls", usage, argc, argv, &json, NULL);

	if (rc)
		return rc < 0 ? VX_OK : rc;
	if (optind < argc) {
		viewer_err("ls", "unexpected argument '%s'", argv[optind]);
		return VX_USAGE;
	}
	d = opendir(SHM_DIR);
	if (!d) {
		viewer_err("ls", "%s: %s", SHM_DIR, strerror(errno));
		return VX_SYSTEM;
	}
	while ((de = readdir(d)) != NULL) {
		char name[sizeof(v->name)];

		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			struct seg_info *nv = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));

			if (!nv) {
				viewer_err("ls", "out of memory");
				free(v);
				closedir(d);
				return VX_SYSTEM;
			}
			v = nv;
		}
		snprintf(name, sizeof(name), "/%s", de->d_name);
		probe_segment(name, &v[n]);
		if (v[n].kind != SEG_NOT_OURS)
			n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_name);
	if (json)
		ls_json(v, n);
	else
		ls_text(v, n);
	free(v);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		viewer_err("ls", "write error on standard output");
		return VX_SYSTEM;
	}
	return VX_OK;
}

int cmd_rm(int argc, char **argv)
{
	static const char usage[] =
		"usage: ttmem rm [--force] NAME...\n\n"
		"Remove ttmem segments (NAME as --shm takes it: /name, or a file path).\n"
		"Refused: a file that is not a ttmem segment, a segment being built by a\n"
		"live process, and a segment that running processes still write to (they\n"
		"would go on writing to memory nobody can read) unless --force.  The memory is freed when the last process that\n"
		"maps it is gone.\n\n"
		"  -f, --force     remove even while processes use it, or when the file\n"
		"                  is not recognized as a ttmem segment\n"
		"  -h, --help      this help\n"
		"  -V, --version   version\n";
	int force = 0, rc = seg_parse("rm", usage, argc, argv, NULL, &force), worst = VX_OK;

	if (rc)
		return rc < 0 ? VX_OK : rc;
	if (optind >= argc) {
		viewer_err("rm", "no segment named (usage: ttmem rm [--force] NAME...)");
		return VX_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		struct seg_info si;
		char shown[200], b[32], name[sizeof(si.name)];
		int e = VX_OK;

		/* "ttmem" is "/ttmem", as ls prints it. */
		snprintf(name, sizeof(name), "%s%s", argv[i][0] == '/' ? "" : "/", argv[i]);
		if (strchr(argv[i], '/') && argv[i][0] != '/')
			snprintf(name, sizeof(name), "%s", argv[i]);
		probe_segment(name, &si);
		san_cell(shown, sizeof(shown), name, sizeof(name), 64, 0, 0);
		while (strlen(shown) && shown[strlen(shown) - 1] == ' ')
			shown[strlen(shown) - 1] = 0;
		if (!si.exists) {
			viewer_err("rm", "%s: no such segment (%s)", shown, strerror(-si.open_rc));
			e = viewer_exit_code(si.open_rc);
		} else if (!S_ISREG(si.st.st_mode)) {
			viewer_err("rm", "%s: not a regular file: not removed", shown);
			e = VX_MAGIC;
		} else if ((si.kind == SEG_NOT_OURS || si.kind == SEG_UNREADABLE) && !force) {
			viewer_err("rm", "%s: %s: not removed (--force removes it anyway)", shown,
				   si.kind == SEG_UNREADABLE ? "cannot be read, so not known as a "
				   "ttmem segment" : "not a ttmem segment");
			e = si.kind == SEG_UNREADABLE ? VX_PERM : VX_MAGIC;
		} else if (si.building && !force) {
			viewer_err("rm", "%s: being built: a live process holds its build lock: not "
				   "removed (--force removes it anyway)", shown);
			e = VX_FAIL;
		} else if (si.live && !force) {
			viewer_err("rm", "%s: %u running process%s still use%s it (pid %u%s): not "
				   "removed (--force removes it anyway)", shown, si.live,
				   si.live == 1 ? "" : "es", si.live == 1 ? "s" : "", si.pids[0],
				   si.live > 1 ? ", ..." : "");
			e = VX_FAIL;
		} else {
			int u = ttmem_table_unlink(name);

			if (u < 0) {
				viewer_err("rm", "%s: %s", shown, strerror(-u));
				e = viewer_exit_code(u);
			} else {
				printf("removed %s (%s)\n", shown,
				       fmt_bytes(b, sizeof(b), (uint64_t)si.st.st_size));
			}
		}
		if (e && !worst)
			worst = e;
	}
	return worst;
}
