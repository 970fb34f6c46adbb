/* SPDX-License-Identifier: MIT */
/*
 * `ttmem record`: a process holding 4 KiB of DRAM on chip 0 and 8 KiB of L1
 * on chip 1 is sampled into the Chrome trace event format (counters per chip
 * and per process, each with the bytes per type it holds) and into JSON
 * lines; --duration and SIGINT both end it with a complete document; bad
 * command lines are refused.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "segfix.h"

static char shm[128], out_path[256];
static struct ttmem_table *seg;
static pid_t holder;

static void up(void)
{
	static const struct segfix_alloc a[] = {
		{ 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x1000, 4096 },
		{ 1, TTMEM_TYPE_L1, TTMEM_OWNER_APP, 0x2000, 8192 },
	};

	segfix_name(shm, sizeof(shm));
	snprintf(out_path, sizeof(out_path), "/tmp/ttmem-test-record-%d.json", (int)getpid());
	seg = segfix_create(shm, 2, 0);
	cr_assert_not_null(seg);
	holder = segfix_child(shm, "holder", a, 2, SEGFIX_RUN);
}

static void down(void)
{
	segfix_stop(holder);
	ttmem_table_close(seg);
	ttmem_table_unlink(shm);
	unlink(out_path);
}

TestSuite(record, .init = up, .fini = down, .timeout = 30);

/* The recorded file against what the holder holds. */
static void check_file(const char *mode, int min_samples)
{
	char pid[16], min[16], *err = NULL;
	char *argv[] = { (char *)"python3", (char *)"-c", (char *)
		"import json,sys\n"
		"mode,path,pid,mn=sys.argv[1],sys.argv[2],int(sys.argv[3]),int(sys.argv[4])\n"
		"want={'chip 0':{'DRAM':4096,'L1':0},'chip 1':{'DRAM':0,'L1':8192},\n"
		"      'pid %d holder'%pid:{'DRAM':4096,'L1':8192}}\n"
		"bad=[]\n"
		"if mode=='chrome':\n"
		"  ev=json.load(open(path))['traceEvents']\n"
		"  for name,types in want.items():\n"
		"    got=[e for e in ev if e.get('ph')=='C' and e['name']==name]\n"
		"    if len(got)<mn: bad.append(f'{name}: {len(got)} samples')\n"
		"    for e in got:\n"
		"      for t,v in types.items():\n"
		"        if e['args'][t]!=v: bad.append(f'{name} {t}: {e[\"args\"][t]} != {v}')\n"
		"else:\n"
		"  lines=open(path).read().splitlines()\n"
		"  if len(lines)<mn: bad.append(f'{len(lines)} lines')\n"
		"  for l in lines:\n"
		"    s=json.loads(l)\n"
		"    d={x['device']:x['in_use'] for x in s['devices']}\n"
		"    p={x['pid']:x['in_use'] for x in s['processes']}\n"
		"    if d[0]['DRAM']!=4096 or d[1]['L1']!=8192: bad.append(str(d))\n"
		"    if p[pid]['DRAM']!=4096 or p[pid]['L1']!=8192: bad.append(str(p))\n"
		"print('\\n'.join(bad),file=sys.stderr); sys.exit(1 if bad else 0)\n",
		(char *)mode, out_path, pid, min, NULL };

	snprintf(pid, sizeof(pid), "%d", (int)holder);
	snprintf(min, sizeof(min), "%d", min_samples);
	cr_assert_eq(segfix_pipe(argv, "", NULL, &err), 0, "%s: %s", mode, err);
	free(err);
}

Test(record, chrome_trace_counters_per_chip_and_process)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(segfix_ttmem_run(&out, &err, "record", "--shm", shm, "-o", out_path,
				      "--interval", "0.05", "--duration", "0.3", NULL), 0, "%s", err);
	cr_assert(strstr(err, " samples of "), "%s", err);
	free(out);
	free(err);
	check_file("chrome", 3);
}

Test(record, jsonl_one_sample_per_line)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(segfix_ttmem_run(&out, &err, "record", "--shm", shm, "-o", out_path,
				      "--format", "jsonl", "-i", "0.05", "-t", "0.2", NULL), 0, "%s", err);
	free(out);
	free(err);
	check_file("jsonl", 2);
}

Test(record, sigint_ends_it_with_a_complete_document)
{
	const char *bin = getenv("TTMEM_BIN");
	struct stat st;
	int status;
	pid_t p;

	cr_assert_not_null(bin);
	p = fork();
	cr_assert_geq(p, 0);
	if (p == 0) {
		execl(bin, bin, "record", "--shm", shm, "-o", out_path, "-i", "0.05", (char *)NULL);
		_exit(127);
	}
	/* Until it has written samples (the header alone is ~300 bytes). */
	for (int i = 0; i < 400 && (stat(out_path, &st) != 0 || st.st_size < 1000); i++)
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	cr_assert_eq(kill(p, SIGINT), 0);
	cr_assert_eq(waitpid(p, &status, 0), p);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	check_file("chrome", 2);
}

Test(record, bad_command_lines)
{
	static const char *const cases[][4] = {
		{ "record", NULL },
		{ "record", "-o", "/tmp/x", "--interval=0" },
		{ "record", "-o", "/tmp/x", "--duration=soon" },
		{ "record", "-o", "/tmp/x", "--format=xml" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL, *err = NULL;

		cr_assert_eq(segfix_ttmem_run(&out, &err, cases[i][0], "--shm", shm, cases[i][1],
					      cases[i][2], cases[i][3], NULL), 2, "case %zu: %s", i, err);
		cr_assert(err && strstr(err, "ttmem record: "), "case %zu: %s", i, err);
		free(out);
		free(err);
	}
}
