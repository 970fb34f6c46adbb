/* SPDX-License-Identifier: MIT */
/*
 * Hosts with several users: a segment shared with one group (mode set
 * exactly whatever the umask; a group member writes only when it names the
 * group; nobody else), `ttmem ls` and `ttmem rm`, and `ttmem run` saying when
 * tracking is off and why.  The second user is `nobody` (uid 65534) in a
 * forked child of this root test; the tests that need it skip when not root.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "segfix.h"

#define NOBODY 65534
#define SHARED_GID 4242u

static char shm[128], path[160];
static struct ttmem_table *seg;

static void up(void)
{
	segfix_name(shm, sizeof(shm));
	snprintf(path, sizeof(path), "/dev/shm%s", shm);
}

static void down(void)
{
	ttmem_table_close(seg);
	ttmem_table_unlink(shm);
}

TestSuite(segments, .init = up, .fini = down, .timeout = 60);

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to act as a second user");
}

/* Create `shm` as root with the given access settings. */
static struct ttmem_table *create_shared(const char *mode, const char *group)
{
	struct ttmem_open_opts o;
	struct ttmem_table *t = NULL;
	char err[256] = "";
	mode_t old = umask(077); /* the mode must not depend on it */

	memset(&o, 0, sizeof(o));
	o.capacity = 128;
	o.proc_capacity = 8;
	o.module_capacity = 4;
	cr_assert_eq(ttmem_access_parse(&o, mode, group, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ttmem_table_open(&t, shm, &o, err, sizeof(err)), 0, "%s", err);
	umask(old);
	return t;
}

/* In a child running as nobody with supplementary group `gid` (0: none):
 * open `shm` (writable unless `ro`; naming group SHARED_GID when
 * `name_group`), register and insert when writable.  Returns the open's
 * result (or 100 + step on a later failure). */
static int as_nobody(gid_t gid, int ro, int name_group)
{
	pid_t pid = fork();
	int st;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct ttmem_open_opts o = { .readonly = ro, .no_create = 1 };
		struct ttmem_table *t = NULL;
		gid_t groups[1] = { gid };
		int rc;

		if (setgroups(gid ? 1 : 0, groups) || setgid(NOBODY) || setuid(NOBODY))
			_exit(99);
		if (name_group) {
			o.set_group = 1;
			o.gid = SHARED_GID;
		}
		rc = ttmem_table_open(&t, shm, &o, NULL, 0);
		if (rc < 0)
			_exit(rc == TTMEM_EOWNER ? 1 : rc == -EACCES ? 2 : 3);
		if (!ro) {
			struct ttmem_entry e;

			if (ttmem_proc_register(t) < 0)
				_exit(101);
			memset(&e, 0, sizeof(e));
			e.key.address = 0x1000;
			e.size = 4096;
			if (ttmem_insert(t, &e) < 0)
				_exit(102);
			ttmem_flush(t);
		}
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

Test(segments, group_writable_segment)
{
	struct stat sb;

	need_root();
	seg = create_shared("0660", "4242");
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, 0660, "mode %o despite umask 077", sb.st_mode & 07777);
	cr_assert_eq(sb.st_gid, SHARED_GID);
	/* A member naming the group writes; one that does not name it, a
	 * non-member, or a member of another group does not. */
	cr_assert_eq(as_nobody(SHARED_GID, 0, 1), 0);
	cr_assert_eq(as_nobody(SHARED_GID, 0, 0), 1);
	cr_assert_eq(as_nobody(0, 0, 1), 2);
	cr_assert_eq(as_nobody(SHARED_GID + 1, 0, 1), 2);
	/* The member's insert is in the table. */
	{
		char *out = NULL, *err = NULL;

		cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--query",
					      "pid,uid,used_memory", "--format", "csv,noheader,nounits",
					      "--processes=all", NULL), 0, "%s", err);
		cr_assert(strstr(out, ",65534,4096\n"), "%s", out);
		free(out);
		free(err);
	}
}

Test(segments, group_readable_segment)
{
	struct stat sb;

	need_root();
	seg = create_shared(NULL, "4242"); /* a group alone means 0640 */
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, 0640);
	cr_assert_eq(as_nobody(SHARED_GID, 1, 0), 0, "the group reads");
	cr_assert_eq(as_nobody(SHARED_GID, 0, 1), 2, "the group does not write");
	cr_assert_eq(as_nobody(0, 1, 0), 2, "others do not read");
}

Test(segments, private_by_default_and_no_world_modes)
{
	struct ttmem_open_opts o;
	char err[256];

	need_root();
	seg = create_shared(NULL, NULL);
	{
		struct stat sb;

		cr_assert_eq(stat(path, &sb), 0);
		cr_assert_eq(sb.st_mode & 07777, 0600);
	}
	cr_assert_eq(as_nobody(0, 1, 0), 2);
	memset(&o, 0, sizeof(o));
	cr_assert_eq(ttmem_access_parse(&o, "0666", NULL, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "TTMEM_SHM_MODE=0666 is not 0600, 0640 or 0660 (a segment is never "
			      "shared with every user)");
	cr_assert_eq(ttmem_access_parse(&o, NULL, "no-such-group-ttmem", err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "TTMEM_SHM_GROUP=no-such-group-ttmem: no such group");
}

Test(segments, ls_lists_owner_mode_size_and_live_processes)
{
	static const struct segfix_alloc a = { 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x1000, 4096 };
	char *out = NULL, *err = NULL, line[256], hostile[128];
	pid_t runner;
	int fd;

	seg = segfix_create(shm, 1, 0);
	cr_assert_not_null(seg);
	runner = segfix_child(shm, "lister", &a, 1, SEGFIX_RUN);
	cr_assert_gt(runner, 0);
	/* A creation that never finished, under a name with an escape sequence. */
	snprintf(hostile, sizeof(hostile), "/dev/shm/ttmem-\x1b[31mred-%d", (int)getpid());
	fd = open(hostile, O_CREAT | O_WRONLY | O_EXCL, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "ls", NULL), 0, "%s", err);
	/* The name last and whole (what `rm` takes), the rest in columns. */
	snprintf(line, sizeof(line), " %s\n", shm);
	cr_assert(strstr(out, line), "%s", out);
	{
		const char *end = strstr(out, line), *row = end;
		unsigned live = 0, procs = 0, mode = 0;
		char state[8] = "";

		while (row > out && row[-1] != '\n')
			row--;
		cr_assert(!strncmp(row, "root       root       0600 ", 27), "%s", row);
		cr_assert_eq(sscanf(row, "%*s %*s %o %*s %*s %u %u %7s", &mode, &live, &procs, state),
			     4, "%s", row);
		cr_assert_eq(mode, 0600);
		cr_assert_eq(live, 1);
		cr_assert_eq(procs, 1);
		cr_assert_str_eq(state, "ok");
	}
	cr_assert_null(strchr(out, 0x1b), "an escape reached the output:\n%s", out);
	snprintf(line, sizeof(line), "/ttmem-\\e[31mred-%d\n", (int)getpid());
	cr_assert(strstr(out, line), "%s", out);
	{
		const char *end = strstr(out, line), *row = end;

		while (row > out && row[-1] != '\n')
			row--;
		cr_assert(memmem(row, (size_t)(end - row), "never published", 15), "%s", row);
	}
	free(out);
	free(err);
	/* rm: refused while the runner lives, then removed. */
	cr_assert_eq(segfix_ttmem_run(&out, &err, "rm", shm, NULL), 1);
	snprintf(line, sizeof(line), "ttmem rm: %s: 1 running process still uses it (pid %d): not "
		 "removed (--force removes it anyway)\n", shm, (int)runner);
	cr_assert_str_eq(err, line);
	cr_assert_eq(access(path, F_OK), 0);
	free(out);
	free(err);
	segfix_stop(runner);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "rm", shm, hostile + 8, NULL), 0, "%s", err);
	cr_assert_neq(access(path, F_OK), 0, "still there");
	cr_assert_neq(access(hostile, F_OK), 0, "still there");
	free(out);
	free(err);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "rm", shm, NULL), 3);
	free(out);
	free(err);
}

Test(segments, rm_refuses_what_is_not_a_segment)
{
	char foreign[128], *out = NULL, *err = NULL;
	FILE *f;

	snprintf(foreign, sizeof(foreign), "/dev/shm/ux-foreign-%d", (int)getpid());
	f = fopen(foreign, "w");
	cr_assert_not_null(f);
	fputs("pulseaudio or anyone's data\n", f);
	fclose(f);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "rm", foreign + 8, NULL), 5);
	cr_assert(strstr(err, "not a ttmem segment: not removed"), "%s", err);
	cr_assert_eq(access(foreign, F_OK), 0);
	free(out);
	free(err);
	unlink(foreign);
}

static int run_cmd(char **err, const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *out = NULL;
	int rc = segfix_ttmem_run(&out, err, "run", "--shm", shm, a1, a2, a3, a4, NULL);

	free(out);
	return rc;
}

Test(segments, run_says_when_tracking_is_off)
{
	char *err = NULL, exp[256];

	/* Another user's segment: refused by the preload, said before. */
	seg = segfix_create(shm, 1, 0);
	cr_assert_not_null(seg);
	if (geteuid() == 0) {
		cr_assert_eq(chown(path, NOBODY, NOBODY), 0);
		cr_assert_eq(run_cmd(&err, "--", "true", NULL, NULL), 0);
		snprintf(exp, sizeof(exp), "ttmem run: tracking is off: %s: owned by uid 65534", shm);
		cr_assert(strstr(err, exp), "%s", err);
		cr_assert(strstr(err, "--shm /ttmem-$USER"), "%s", err);
		free(err);
	}
	setenv("TTMEM_DISABLE", "1", 1);
	cr_assert_eq(run_cmd(&err, "-q", "--", "true", NULL), 0);
	unsetenv("TTMEM_DISABLE");
	cr_assert_str_eq(err, "ttmem run: tracking is off: TTMEM_DISABLE=1 is set in the "
			      "environment\n");
	free(err);
	cr_assert_eq(run_cmd(&err, "--mode", "0777", "--", "true"), 2);
	cr_assert_str_eq(err, "ttmem run: --mode 0777 is not 0600, 0640 or 0660\n");
	free(err);
	/* A command that never loads the runtime: nothing registered. */
	ttmem_table_close(seg);
	seg = NULL;
	ttmem_table_unlink(shm);
	if (!segfix_have("libttmem.so"))
		return;
	cr_assert_eq(run_cmd(&err, "--", "true", NULL, NULL), 0);
	snprintf(exp, sizeof(exp), "ttmem run: 'true' was not tracked: no segment %s was created",
		 shm);
	cr_assert(strstr(err, exp), "%s", err);
	free(err);
	if (!segfix_have("examples/bin/mesh_allocation"))
		return;
	{
		char wl[512];

		snprintf(wl, sizeof(wl), "%s", segfix_build_path("examples/bin/mesh_allocation"));
		cr_assert_eq(run_cmd(&err, "--", wl, NULL, NULL), 0, "%s", err);
		cr_assert_null(strstr(err, "not tracked"), "%s", err);
		cr_assert_null(strstr(err, "tracking is off"), "%s", err);
		free(err);
	}
}
