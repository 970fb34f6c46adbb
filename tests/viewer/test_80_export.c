/* SPDX-License-Identifier: MIT */
/*
 * Prometheus output from hostile segments (names with quotes, controls,
 * escape sequences, invalid UTF-8; a pid listed twice, as after pid reuse),
 * which processes get series, and `ttmem export`'s command line and
 * textfile writes.  HTTP and a real Prometheus: tests/export.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "segfix.h"

#define MiB (UINT64_C(1) << 20)

static char shm[128], dir[256];
static struct ttmem_table *seg;
static pid_t runner, exiter;

static void up(void)
{
	static const struct segfix_alloc a[] = {
		{ 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x1000, 3 * MiB },
	};
	static const struct segfix_alloc b[] = {
		{ 1, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x2000, 1 * MiB },
	};

	segfix_name(shm, sizeof(shm));
	snprintf(dir, sizeof(dir), "/tmp/ttmem-test-export-%d", (int)getpid());
	seg = segfix_create(shm, 2, 0);
	cr_assert_not_null(seg);
	runner = segfix_child(shm, "runner", a, 1, SEGFIX_RUN);
	exiter = segfix_child(shm, "exiter", b, 1, SEGFIX_EXIT);
	cr_assert(runner > 0 && exiter > 0);
}

static void down(void)
{
	char cmd[300];

	segfix_stop(runner);
	ttmem_table_close(seg);
	ttmem_table_unlink(shm);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(export, .init = up, .fini = down, .timeout = 30);

static uint32_t state_of(const struct ttmem_proc *p)
{
	return (uint32_t)(atomic_load(&p->ctl) & 0xff);
}

/* The registry entry of pid, or -1. */
static int entry_of(pid_t pid)
{
	const struct ttmem_header *h = ttmem_table_header(seg);
	const struct ttmem_proc *p = ttmem_table_procs(seg);

	for (uint32_t i = 0; i < h->proc_capacity; i++)
		if ((state_of(&p[i]) == TTMEM_PROC_RUNNING ||
		     state_of(&p[i]) == TTMEM_PROC_EXITED) && p[i].pid == (uint32_t)pid)
			return (int)i;
	return -1;
}

/* A copy of entry `from` in the first free entry: the same pid, start time,
 * name and state, as a registry holds after pid reuse. */
static int duplicate_entry(int from)
{
	const struct ttmem_header *h = ttmem_table_header(seg);
	struct ttmem_proc *p = ttmem_table_procs_rw(seg);

	for (uint32_t i = 0; i < h->proc_capacity; i++)
		if (state_of(&p[i]) == TTMEM_PROC_FREE) {
			memcpy((void *)&p[i], (const void *)&p[from], sizeof(p[i]));
			return (int)i;
		}
	return -1;
}

static char *prom(const char *a1, const char *a2)
{
	char *out = NULL, *err = NULL;
	int rc = segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--prometheus", a1, a2, NULL);

	cr_assert_eq(rc, 0, "show --prometheus: exit %d: %s", rc, err);
	free(err);
	return out;
}

/* The exposition parses strictly (no duplicate series), is valid UTF-8 and
 * holds no control character but the line ends: what Prometheus and a
 * terminal (curl /metrics) may safely take. */
static void assert_safe(const char *out)
{
	char *err = NULL;
	char *argv[] = { (char *)"python3", (char *)"-c",
		(char *)"import sys\n"
			"b=sys.stdin.buffer.read()\n"
			"t=b.decode('utf-8')\n"
			"bad=[hex(ord(c)) for c in t if (ord(c)<32 and c!='\\n') or 0x7f<=ord(c)<0xa0]\n"
			"print(bad,file=sys.stderr);sys.exit(1 if bad else 0)\n",
		NULL };

	cr_assert_eq(segfix_check(out, &err, "prom", NULL, NULL), 0, "%s", err);
	free(err);
	err = NULL;
	cr_assert_eq(segfix_pipe(argv, out, NULL, &err), 0, "not safe UTF-8 text: %s", err);
	free(err);
}

Test(export, hostile_names_are_valid_utf8_labels)
{
	/* quote, backslash, newline, ESC[31m, a valid é, a lone 0xff, a cut
	 * 3-byte sequence, an overlong '/', a C1 control, DEL */
	static const char name[] = "a\"b\\c\nd\x1b[31m\xc3\xa9\xff\xe2\x82\xc0\xaf\xc2\x9b\x7fz";
	struct ttmem_proc *p = ttmem_table_procs_rw(seg);
	int i = entry_of(runner);
	char *out, want[256];

	cr_assert_geq(i, 0);
	memcpy(p[i].name, name, sizeof(name));
	out = prom(NULL, NULL);
	assert_safe(out);
	/* Escapes where the format has them; U+FFFD for each control (newline,
	 * ESC, the C1 control, DEL) and for each byte that is no character
	 * (0xff, the cut sequence's two bytes, the overlong's two); the valid
	 * é kept. */
#define FFFD "\xef\xbf\xbd"
	snprintf(want, sizeof(want),
		 ",name=\"a\\\"b\\\\c" FFFD "d" FFFD "[31m\xc3\xa9" FFFD FFFD FFFD
		 FFFD FFFD FFFD FFFD "z\"} %llu\n", (unsigned long long)(3 * MiB));
#undef FFFD
	cr_assert(strstr(out, want), "%s not in:\n%s", want, out);
	free(out);
}

Test(export, hostile_segment_name_is_a_safe_label)
{
	char name[200], label[256], *out = NULL, *err = NULL;
	struct ttmem_table *t;

	snprintf(name, sizeof(name), "%s-\xff\"\x1b[2J\\", shm);
	t = segfix_create(name, 1, 0);
	cr_assert_not_null(t);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", name, "--prometheus", NULL), 0,
		     "%s", err);
	assert_safe(out);
	/* The label in a buffer of its own: `name` is still to be removed. */
	snprintf(label, sizeof(label), "ttmem_segment_slots{segment=\"%s-\xef\xbf\xbd\\\"\xef\xbf\xbd[2J"
		 "\\\\\"} ", shm);
	cr_assert(strstr(out, label), "%s not in\n%s", label, out);
	free(out);
	free(err);
	ttmem_table_close(t);
	cr_assert_eq(ttmem_table_unlink(name), 0, "the hostile-named segment is removed");
}

Test(export, reused_pid_gives_distinct_series)
{
	int i = entry_of(exiter), j;
	char *out, pid[256];
	const char *at;
	int n = 0;

	cr_assert_geq(i, 0);
	j = duplicate_entry(i);
	cr_assert_geq(j, 0);
	out = prom("--processes=all", NULL);
	assert_safe(out);
	/* Both listed, told apart by their registry slot. */
	snprintf(pid, sizeof(pid), "ttmem_process_live_bytes{segment=\"%s\",pid=\"%d\",", shm,
		 (int)exiter);
	for (at = strstr(out, pid); at; at = strstr(at + 1, pid))
		n++;
	cr_assert_eq(n, 2, "%s", out);
	free(out);
	/* The same with a running process listed twice. */
	j = duplicate_entry(entry_of(runner));
	cr_assert_geq(j, 0);
	out = prom(NULL, NULL);
	assert_safe(out);
	free(out);
}

Test(export, running_processes_by_default_exited_on_request)
{
	char *out = prom(NULL, NULL), r[64], e[64];

	snprintf(r, sizeof(r), ",pid=\"%d\",", (int)runner);
	snprintf(e, sizeof(e), ",pid=\"%d\",", (int)exiter);
	cr_assert(strstr(out, r), "%s", out);
	cr_assert_null(strstr(out, e), "an exited process listed by default:\n%s", out);
	/* Its bytes are still seen per chip. */
	cr_assert(strstr(out, "ttmem_device_exited_bytes{segment=\""), "%s", out);
	free(out);
	out = prom("--processes=all", NULL);
	cr_assert(strstr(out, e), "%s", out);
	{
		char line[256];

		snprintf(line, sizeof(line), ",name=\"exiter\",state=\"exited\"} 1\n");
		cr_assert(strstr(out, line), "%s", out);
	}
	free(out);
	out = prom("--processes=none", NULL);
	cr_assert_null(strstr(out, "ttmem_process_live_bytes{"), "%s", out);
	cr_assert_null(strstr(out, "ttmem_process_state{"), "%s", out);
	cr_assert(strstr(out, "ttmem_device_in_use_bytes{"), "%s", out);
	free(out);
}

/* ---- the command line ------------------------------------------------------ */

static void expect_error(int want_rc, const char *want_err, const char *a1, const char *a2,
			 const char *a3, const char *a4)
{
	char *out = NULL, *err = NULL;
	int rc = segfix_ttmem_run(&out, &err, "export", "--shm", shm, a1, a2, a3, a4, NULL);

	cr_assert_eq(rc, want_rc, "export %s %s: exit %d: %s", a1, a2 ? a2 : "", rc, err);
	cr_assert(strstr(err, want_err), "'%s' not in: %s", want_err, err);
	cr_assert_eq(segfix_lines(err), 1, "one line: %s", err);
	cr_assert_str_eq(out, "");
	free(out);
	free(err);
}

Test(export, bad_flags_are_one_clear_error)
{
	expect_error(2, "nothing to do: give --listen", NULL, NULL, NULL, NULL);
	expect_error(2, "--interval needs --textfile", "--interval", "5", NULL, NULL);
	expect_error(2, "--interval: '0' is not", "--textfile", "/tmp", "--interval", "0");
	expect_error(2, "--interval: 'x' is not", "--textfile", "/tmp", "--interval", "x");
	expect_error(2, "--processes: 'dead' is not", "--textfile", "/tmp", "--processes", "dead");
	expect_error(2, "--once writes one textfile: not with --listen", "--textfile", "/tmp",
		     "--once", "--listen=127.0.0.1:0");
	expect_error(2, "unknown option '--bogus'", "--bogus", NULL, NULL, NULL);
	expect_error(11, "'127.0.0.1' is not HOST:PORT", "--listen", "127.0.0.1", NULL, NULL);
	expect_error(11, "'::1:80' is not HOST:PORT", "--listen", "::1:80", NULL, NULL);
	expect_error(11, "'localhost:65536' is not HOST:PORT", "--listen", "localhost:65536",
		     NULL, NULL);
}

Test(export, busy_port_is_one_clear_error)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char addr[64];

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(a.sin_port));
	expect_error(11, "Address already in use", "--listen", addr, NULL, NULL);
	close(fd);
}

Test(export, unusable_textfile_directory_is_one_clear_error)
{
	char file[300];
	int fd;

	expect_error(11, "No such file or directory", "--textfile", "/nonexistent/dir", NULL, NULL);
	/* a file where the directory should be (root passes every mode check) */
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(file, sizeof(file), "%s/plain", dir);
	fd = open(file, O_CREAT | O_WRONLY, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	expect_error(11, "Not a directory", "--textfile", file, NULL, NULL);
}

Test(export, textfile_once_is_written_whole_and_readable)
{
	char *out = NULL, *err = NULL, path[400], *text, cmd[400];
	struct stat st;
	const char *base = strrchr(shm, '/') + 1;

	cr_assert_eq(mkdir(dir, 0755), 0);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "export", "--shm", shm, "--textfile", dir,
				      "--once", NULL), 0, "%s", err);
	free(out);
	free(err);
	snprintf(path, sizeof(path), "%s/%s.prom", dir, base);
	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	/* node-exporter reads it as another user */
	cr_assert_eq(st.st_mode & 0777, 0644, "mode %o", st.st_mode & 0777);
	text = segfix_read_file(path);
	cr_assert_not_null(text);
	assert_safe(text);
	cr_assert(strstr(text, "ttmem_segment_entries{segment=\""), "%s", text);
	free(text);
	/* No temporary file left behind: the directory holds the one file. */
	snprintf(cmd, sizeof(cmd), "test \"$(ls -A %s)\" = \"%s.prom\"", dir, base);
	cr_assert_eq(system(cmd), 0, "leftovers in %s", dir);

	/* The segment gone (nothing tracked yet): a healthy, empty exposition
	 * that says so, not an error. */
	ttmem_table_unlink(shm);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "export", "--shm", shm, "--textfile", dir,
				      "--once", NULL), 0, "%s", err);
	text = segfix_read_file(path);
	cr_assert_not_null(text);
	cr_assert(strstr(text, "# TYPE ttmem_segment_present gauge\nttmem_segment_present{segment=\""),
		  "%s", text);
	cr_assert(strstr(text, "\"} 0\n"), "%s", text);
	cr_assert_null(strstr(text, "ttmem_segment_entries"), "%s", text);
	free(text);
	free(out);
	free(err);
}

/* A textfile exporter stopped by SIGTERM removes its file: numbers nobody
 * updates would otherwise be served as current for ever. */
Test(export, textfile_removed_at_sigterm)
{
	const char *bin = getenv("TTMEM_BIN"), *base = strrchr(shm, '/') + 1;
	char path[400];
	struct stat st;
	int status;
	pid_t p;

	cr_assert_not_null(bin);
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s.prom", dir, base);
	p = fork();
	cr_assert_geq(p, 0);
	if (p == 0) {
		int dn = open("/dev/null", O_WRONLY);

		dup2(dn, 2);
		execl(bin, bin, "export", "--shm", shm, "--textfile", dir, "--interval", "1",
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && stat(path, &st) != 0; i++)
		usleep(10000);
	cr_assert_eq(stat(path, &st), 0, "the exporter wrote %s", path);
	cr_assert_eq(kill(p, SIGTERM), 0);
	cr_assert_eq(waitpid(p, &status, 0), p);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	cr_assert_neq(stat(path, &st), 0, "%s left after SIGTERM", path);
}
