/* SPDX-License-Identifier: MIT */
/*
 * `ttmem diff A B`.  Two real leak reports, of the emulator's `leak`
 * workload run under `ttmem run` forgetting 1 and then 3 tensors, compared
 * per callsite: the change in bytes and entries, per type and of each
 * forgetting function, is the change in the emulator's ground truth
 * (TTEMU_TRUTH, what its allocators still hold at exit).  Two recordings of
 * the same runs, taken at the workload's hold point and after it: the
 * peaks are the truth at the hold point, the last values 0.  And every kind
 * of bad input (missing, empty, foreign, cut short, malformed, nested too
 * deep, of two kinds) gets its exit code and a message naming the file;
 * the JSON reader is fuzzed (every prefix, flipped bytes).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json_read.h"
#include "segfix.h"

static char shm[128], shm2[128], dir[128];

static void up(void)
{
	segfix_name(shm, sizeof(shm));
	segfix_name(shm2, sizeof(shm2));
	snprintf(dir, sizeof(dir), "/tmp/ttmem-test-diff-%d", (int)getpid());
	cr_assert_eq(mkdir(dir, 0700), 0);
}

static void down(void)
{
	char cmd[256];

	ttmem_table_unlink(shm);
	ttmem_table_unlink(shm2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(diff, .init = up, .fini = down, .timeout = 120);

/* dir/name, in one of 64 buffers (each test asks for fewer). */
static const char *path_in(const char *name)
{
	static char buf[64][256];
	static int slot;
	char *p = buf[slot++ % 64];

	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void need_emulator(void)
{
	if (!segfix_have("libttmem.so"))
		cr_skip_test("build/libttmem.so (the preload) is not built");
	if (!segfix_have("examples/bin/leak"))
		cr_skip_test("build/examples/bin/leak (the emulator) is not built");
}

/* `leak --count N` under `ttmem run` into segment `seg`, its ground truth
 * in `truth`; its leak report (`ttmem leaks --json`) into `report`. */
static void leak_report(const char *seg, const char *count, const char *truth, const char *report)
{
	char *out = NULL, *err = NULL;
	int rc;

	setenv("TTEMU_TRUTH", truth, 1);
	rc = segfix_ttmem_run(&out, &err, "run", "-q", "--shm", seg, "--",
			      segfix_build_path("examples/bin/leak"), "--count", count, NULL);
	unsetenv("TTEMU_TRUTH");
	cr_assert_eq(rc, 0, "leak --count %s: exit %d: %s", count, rc, err);
	free(out);
	free(err);
	rc = segfix_ttmem_run(&out, &err, "leaks", "--shm", seg, "--json", NULL);
	cr_assert_eq(rc, 0, "%s", err);
	write_file(report, out, strlen(out));
	free(out);
	free(err);
}

/* The sum of "KEY": values over the truth's chips. */
static uint64_t truth_sum(const char *truth, const char *key)
{
	char *t = segfix_read_file(truth), want[64];
	uint64_t sum = 0;

	cr_assert_not_null(t, "%s", truth);
	snprintf(want, sizeof(want), "\"%s\":", key);
	for (const char *p = strstr(t, want); p; p = strstr(p + 1, want))
		sum += strtoull(p + strlen(want), NULL, 10);
	free(t);
	return sum;
}

static uint64_t truth_total(const char *truth)
{
	static const char *const types[] = { "DRAM", "L1", "L1_SMALL", "TRACE", "CB" };
	uint64_t sum = 0;

	for (size_t i = 0; i < 5; i++)
		sum += truth_sum(truth, types[i]);
	return sum;
}

static int diff(char **out, char **err, const char *a, const char *b, const char *o1,
		const char *o2)
{
	return segfix_ttmem_run(out, err, "diff", a, b, o1, o2, NULL);
}

/* The leak reports' diff (JSON on stdin) against the two truths. */
static const char check_leaks_py[] =
	"import json,sys\n"
	"d=json.load(sys.stdin);rev=sys.argv[3]=='reverse'\n"
	"ta,tb=(json.load(open(p))['devices'] for p in sys.argv[1:3])\n"
	"T=('DRAM','L1','L1_SMALL','TRACE','CB')\n"
	"def tot(t,k): return sum(x[k] for x in t)\n"
	"errs=[]\n"
	"def want(what,got,exp):\n"
	"    if got!=exp: errs.append(f'{what}: {got!r}, the truth says {exp!r}')\n"
	"want('a.bytes',d['a']['bytes'],sum(tot(ta,k) for k in T))\n"
	"want('b.bytes',d['b']['bytes'],sum(tot(tb,k) for k in T))\n"
	"want('change.bytes',d['change']['bytes'],sum(tot(tb,k)-tot(ta,k) for k in T))\n"
	"want('growth',d['growth'],d['change']['bytes'])\n"
	"want('change.entries',d['change']['entries'],tot(tb,'buffers')-tot(ta,'buffers'))\n"
	"for k in T: want('change.types.'+k,d['change']['types'][k],tot(tb,k)-tot(ta,k))\n"
	"def site(fn):\n"
	"    s=[c for c in d['callsites'] if c['function'] and fn+'(' in c['function']]\n"
	"    if len(s)!=1: errs.append(f'{len(s)} callsites of {fn}'); return None\n"
	"    return s[0]\n"
	"l1=site('forget_l1_tensor');dr=site('forget_dram_tensor')\n"
	"if l1:\n"
	"    want('forget_l1_tensor status',l1['status'],'gone' if rev else 'new')\n"
	"    want('forget_l1_tensor change',l1['change']['bytes'],tot(tb,'L1')-tot(ta,'L1'))\n"
	"    want('forget_l1_tensor L1',l1['change']['types']['L1'],tot(tb,'L1')-tot(ta,'L1'))\n"
	"    want('forget_l1_tensor entries',l1['change']['entries'],-1 if rev else 1)\n"
	"if dr:\n"
	"    want('forget_dram_tensor status',dr['status'],'shrank' if rev else 'grew')\n"
	"    want('forget_dram_tensor change',dr['change']['bytes'],tot(tb,'DRAM')-tot(ta,'DRAM'))\n"
	"    want('forget_dram_tensor entries',dr['change']['entries'],-1 if rev else 1)\n"
	"ch=[abs(c['change']['bytes']) for c in d['callsites']]\n"
	"if ch!=sorted(ch,reverse=True): errs.append(f'not largest change first: {ch}')\n"
	"for c in d['callsites']:\n"
	"    if c['status']=='unchanged' and c['a']!=c['b']: errs.append(f'unchanged but {c}')\n"
	"want('sections',{k:v for k,v in d['sections'].items() if k!='unchanged'},\n"
	"     {'new':0 if rev else 1,'gone':1 if rev else 0,'grew':0 if rev else 1,'shrank':1 if rev else 0})\n"
	"print('\\n'.join(errs),file=sys.stderr);sys.exit(1 if errs else 0)\n";

static void check_leaks(const char *json, const char *ta, const char *tb, const char *mode)
{
	char *argv[] = { (char *)"python3", (char *)"-c", (char *)check_leaks_py, (char *)ta,
			 (char *)tb, (char *)mode, NULL };
	char *err = NULL;

	cr_assert_eq(segfix_pipe(argv, json, NULL, &err), 0, "%s\n%s", err, json);
	free(err);
}

static void validate(const char *json)
{
	char *argv[] = { (char *)"python3", (char *)"tests/viewer/check_schema.py",
			 (char *)"viewer/ttmem.schema.json", (char *)"diff", NULL };
	char *err = NULL;

	cr_assert_eq(segfix_pipe(argv, json, NULL, &err), 0, "against the schema:\n%s\n%s", err,
		     json);
	free(err);
}

Test(diff, leak_reports_against_the_truth)
{
	const char *ta = path_in("truth1.json"), *tb = path_in("truth3.json");
	const char *a = path_in("leaks1.json"), *b = path_in("leaks3.json");
	char *out = NULL, *err = NULL, lim[32];
	uint64_t growth;

	need_emulator();
	leak_report(shm, "1", ta, a);
	leak_report(shm2, "3", tb, b);
	growth = truth_total(tb) - truth_total(ta);
	cr_assert_gt(growth, 0, "the workload leaks more with --count 3");

	cr_assert_eq(diff(&out, &err, a, b, "--json", NULL), 0, "%s", err);
	check_leaks(out, ta, tb, "forward");
	validate(out);
	free(out);
	free(err);
	/* Backwards: what grew shrank, what was new is gone. */
	cr_assert_eq(diff(&out, &err, b, a, "--json", NULL), 0, "%s", err);
	check_leaks(out, tb, ta, "reverse");
	free(out);
	free(err);

	/* The CI gate: B grew by the truth's growth; more than growth - 1,
	 * not more than growth; B -> A did not grow at all. */
	snprintf(lim, sizeof(lim), "%llu", (unsigned long long)(growth - 1));
	cr_assert_eq(diff(&out, &err, a, b, "--fail-on-growth", lim), 19, "%s", out);
	cr_assert(strstr(out, "FAILED"), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(diff(&out, &err, a, b, "--json", "--fail-on-growth=0"), 19);
	cr_assert(strstr(out, "\"failed\":true"), "%s", out);
	free(out);
	free(err);
	snprintf(lim, sizeof(lim), "%llu", (unsigned long long)growth);
	cr_assert_eq(diff(&out, &err, a, b, "--fail-on-growth", lim), 0, "%s", err);
	free(out);
	free(err);
	cr_assert_eq(diff(&out, &err, b, a, "--fail-on-growth", "0"), 0, "%s", err);
	free(out);
	free(err);
}

/* The text: four sections, the new callsite's stack, every line within the
 * terminal's width with long frames cut in the middle. */
Test(diff, text_fits_the_width)
{
	const char *ta = path_in("truth1.json"), *tb = path_in("truth3.json");
	const char *a = path_in("leaks1.json"), *b = path_in("leaks3.json");
	char *out = NULL, *err = NULL;
	const char *s, *line;
	int lines = 0;

	need_emulator();
	leak_report(shm, "1", ta, a);
	leak_report(shm2, "3", tb, b);
	cr_assert_eq(diff(&out, &err, a, b, "--width", "300"), 0, "%s", err);
	s = strstr(out, "\nNew in B: 1 callsite, ");
	cr_assert_not_null(s, "%s", out);
	line = strchr(strchr(s + 1, '\n') + 1, '\n') + 1;
	{
		static const char head[] = "      (anonymous namespace)::forget_l1_tensor(";

		cr_assert(!strncmp(line, head, strlen(head)), "%s", out);
	}
	cr_assert(strstr(out, "\nGone in B: none\n") && strstr(out, "\nGrew: 1 callsite, ") &&
		  strstr(out, "\nShrank: none\n") && strstr(out, "\nUnchanged: "), "%s", out);
	free(out);
	free(err);

	cr_assert_eq(diff(&out, &err, a, b, "-w", "64"), 0, "%s", err);
	for (const char *p = out; *p; lines++) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		cr_assert_leq(n, 64, "line %d is %zu wide:\n%.*s", lines, n, (int)n, p);
		p += n + (e != NULL);
	}
	s = strstr(out, "\nNew in B: 1 callsite, ");
	cr_assert_not_null(s, "%s", out);
	line = strchr(strchr(s + 1, '\n') + 1, '\n') + 1;
	{
		/* Cut in the middle: the start of the function, "...", the end
		 * of its file:line. */
		size_t n = (size_t)(strchr(line, '\n') - line);
		const char *colon = memrchr(line, ':', n);

		static const char head[] = "      (anonymous namespace)::";

		cr_assert(!strncmp(line, head, strlen(head)), "%.*s", (int)n, line);
		cr_assert(memmem(line, n, "...", 3), "%.*s", (int)n, line);
		cr_assert(colon && colon - line > 5 && !strncmp(colon - 8, "leak.cpp", 8) &&
			  strspn(colon + 1, "0123456789") == n - (size_t)(colon + 1 - line),
			  "%.*s", (int)n, line);
	}
	free(out);
	free(err);
}

/* A rebuild that moved every line by 7: without --ignore-lines each callsite
 * with a source line is gone and new again; with it, nothing changed. */
Test(diff, ignore_lines_matches_a_rebuild)
{
	const char *t = path_in("truth.json"), *a = path_in("leaks.json"), *b = path_in("moved.json");
	char *argv[] = { (char *)"python3", (char *)"-c", (char *)
		"import json,sys\n"
		"d=json.load(open(sys.argv[1]))\n"
		"def move(f):\n"
		"    if f.get('file'): f['line']+=7\n"
		"for s in d['stacks']:\n"
		"    move(s['group']);[move(f) for f in s['group']['stack']]\n"
		"json.dump(d,open(sys.argv[2],'w'))\n",
		(char *)a, (char *)b, NULL };
	char *out = NULL, *err = NULL;

	need_emulator();
	leak_report(shm, "3", t, a);
	cr_assert_eq(segfix_run(argv, NULL, &err), 0, "%s", err);
	free(err);
	cr_assert_eq(diff(&out, &err, a, b, "--json", NULL), 0, "%s", err);
	free(err);
	err = NULL;
	{
		char *py[] = { (char *)"python3", (char *)"-c", (char *)
			"import json,sys\n"
			"d=json.load(sys.stdin);n=d['a']['callsites'];s=d['sections']\n"
			"ok=n>=3 and s['new']==n and s['gone']==n and s['unchanged']==0\n"
			"print(n,s,file=sys.stderr);sys.exit(0 if ok else 1)\n", NULL };

		cr_assert_eq(segfix_pipe(py, out, NULL, &err), 0, "without --ignore-lines: %s", err);
		free(err);
		free(out);
		cr_assert_eq(diff(&out, &err, a, b, "--json", "--ignore-lines"), 0, "%s", err);
		free(err);
		err = NULL;
		py[2] = (char *)"import json,sys\n"
			"d=json.load(sys.stdin);n=d['a']['callsites'];s=d['sections']\n"
			"ok=n>=3 and s=={'new':0,'gone':0,'grew':0,'shrank':0,'unchanged':n} and "
			"d['change']['bytes']==0\n"
			"print(n,s,file=sys.stderr);sys.exit(0 if ok else 1)\n";
		cr_assert_eq(segfix_pipe(py, out, NULL, &err), 0, "with --ignore-lines: %s", err);
	}
	free(err);
	free(out);
}

/* Recordings: one sample at the workload's hold point, one after it. */
static void recording(const char *seg, const char *count, const char *truth, const char *jsonl,
		      const char *chrome)
{
	char *argv[] = { (char *)"examples/bin/leak", (char *)"--count", (char *)count,
			 (char *)"--hold", (char *)"60000", NULL };
	const char *peak = path_in("peak.jsonl"), *end = path_in("end.jsonl");
	char *out = NULL, *err = NULL, *p1, *p2;
	struct segfix_wl w;
	FILE *f;

	cr_assert_eq(segfix_wl_start(&w, seg, truth, NULL, argv), 0);
	cr_assert_eq(segfix_wl_expect(&w, "peak"), 0);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "record", "--shm", seg, "-o", peak, "-t0",
				      "--format", "jsonl", NULL), 0, "%s", err);
	free(out);
	free(err);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "record", "--shm", seg, "-o", chrome, "-t0", NULL),
		     0, "%s", err);
	free(out);
	free(err);
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_wait(&w), 0);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "record", "--shm", seg, "-o", end, "-t0",
				      "--format", "jsonl", NULL), 0, "%s", err);
	free(out);
	free(err);
	p1 = segfix_read_file(peak);
	p2 = segfix_read_file(end);
	cr_assert(p1 && p2);
	f = fopen(jsonl, "w");
	cr_assert_not_null(f);
	fputs(p1, f);
	fputs(p2, f);
	cr_assert_eq(fclose(f), 0);
	free(p1);
	free(p2);
}

static const char check_record_py[] =
	"import json,sys\n"
	"d=json.load(sys.stdin);last_is_peak=sys.argv[3]=='one-sample'\n"
	"ta,tb=(json.load(open(p))['devices'] for p in sys.argv[1:3])\n"
	"errs=[]\n"
	"def want(what,got,exp):\n"
	"    if got!=exp: errs.append(f'{what}: {got!r}, the truth says {exp!r}')\n"
	"for k in ('DRAM','L1','L1_SMALL','TRACE','CB'):\n"
	"    a=sum(x[k] for x in ta);b=sum(x[k] for x in tb)\n"
	"    for what,rows in (('chip',[r for r in d['devices'] if r['device']==0]),\n"
	"                      ('leak',[r for r in d['processes'] if r['name']=='leak'])):\n"
	"        r=[r for r in rows if r['type']==k]\n"
	"        if not a and not b:\n"
	"            want(f'{what} {k} rows',len(r),0);continue\n"
	"        if len(r)!=1: errs.append(f'{what} {k}: {len(r)} rows');continue\n"
	"        r=r[0]\n"
	"        want(f'{what} {k} peak A',r['a']['peak'],a);want(f'{what} {k} peak B',r['b']['peak'],b)\n"
	"        want(f'{what} {k} peak change',r['change']['peak'],b-a)\n"
	"        want(f'{what} {k} last A',r['a']['last'],a if last_is_peak else 0)\n"
	"        want(f'{what} {k} last B',r['b']['last'],0)\n"
	"want('growth',d['growth'],sum(x[k] for x in tb for k in ('DRAM','L1','L1_SMALL','TRACE','CB'))-\n"
	"     sum(x[k] for x in ta for k in ('DRAM','L1','L1_SMALL','TRACE','CB')))\n"
	"want('samples',(d['a']['samples'],d['b']['samples']),(1 if last_is_peak else 2,2))\n"
	"print('\\n'.join(errs),file=sys.stderr);sys.exit(1 if errs else 0)\n";

Test(diff, recordings_against_the_truth)
{
	const char *ta = path_in("truth1.json"), *tb = path_in("truth3.json");
	const char *a = path_in("a.jsonl"), *b = path_in("b.jsonl");
	char achrome[256], bchrome[256], *out = NULL, *err = NULL;
	char *argv[] = { (char *)"python3", (char *)"-c", (char *)check_record_py, (char *)ta,
			 (char *)tb, (char *)"two-samples", NULL };

	need_emulator();
	snprintf(achrome, sizeof(achrome), "%s", path_in("a.json"));
	snprintf(bchrome, sizeof(bchrome), "%s", path_in("b.json"));
	recording(shm, "1", ta, a, achrome);
	recording(shm2, "3", tb, b, bchrome);

	cr_assert_eq(diff(&out, &err, a, b, "--json", NULL), 0, "%s", err);
	cr_assert_eq(segfix_pipe(argv, out, NULL, &err), 0, "%s\n%s", err, out);
	validate(out);
	free(out);
	free(err);
	/* A Chrome trace (one sample, at the peak) against JSON lines. */
	cr_assert_eq(diff(&out, &err, achrome, b, "--json", NULL), 0, "%s", err);
	argv[5] = (char *)"one-sample";
	cr_assert_eq(segfix_pipe(argv, out, NULL, &err), 0, "%s\n%s", err, out);
	free(out);
	free(err);
	/* The chips' peaks grew by the truth's growth: a CI gate on it. */
	cr_assert_eq(diff(&out, &err, a, b, "--fail-on-growth=0", NULL), 19, "%s", err);
	cr_assert(strstr(out, "\nchip 0\n") && strstr(out, "\nprocess leak\n"), "%s", out);
	free(out);
	free(err);
}

/* ---- bad input ----------------------------------------------------------------- */

static char *segment_report(void)
{
	static const struct segfix_alloc left[] = {
		{ 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x9000, 4096 },
		{ 0, TTMEM_TYPE_L1, TTMEM_OWNER_CQ, 0x20000, 8192 },
	};
	struct ttmem_table *t = segfix_create(shm, 1, 0);
	char *out = NULL, *err = NULL;

	cr_assert_not_null(t);
	segfix_child(shm, "leaker", left, 2, SEGFIX_EXIT);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "leaks", "--shm", shm, "--json", NULL), 0, "%s",
		     err);
	free(err);
	ttmem_table_close(t);
	return out;
}

/* `ttmem diff` of a and b exits `rc`, its one line naming `who` and saying `why`. */
static void refused(int rc, const char *a, const char *b, const char *who, const char *why)
{
	char *out = NULL, *err = NULL, want[512];

	cr_assert_eq(diff(&out, &err, a, b, NULL, NULL), rc, "%s vs %s: %s", a, b, err);
	snprintf(want, sizeof(want), "ttmem diff: %s", who);
	cr_assert(!strncmp(err, want, strlen(want)) && strstr(err, why) && segfix_lines(err) == 1,
		  "want '%s...%s', got: %s", want, why, err);
	cr_assert_str_empty(out);
	free(out);
	free(err);
}

Test(diff, bad_input_is_named_with_its_exit_code)
{
	char *rep = segment_report(), *out = NULL, *err = NULL, who[300];
	const char *good = path_in("good.json"), *bad = path_in("bad.json");
	const char *rec = path_in("rec.jsonl");
	size_t len = strlen(rep);
	char deep[20001];

	write_file(good, rep, len);
	refused(17, good, path_in("absent.json"), path_in("absent.json"), "No such file");
	refused(17, dir, good, dir, "a directory");
	write_file(bad, "", 0);
	refused(17, bad, good, bad, "empty");
	write_file(bad, "hello\n", 6);
	refused(17, good, bad, bad, "not JSON");
	write_file(bad, rep, len / 2);
	snprintf(who, sizeof(who), "%s: truncated", bad);
	refused(17, good, bad, who, "ends inside a value");
	write_file(bad, "{\"a\":1}\n", 8);
	refused(17, bad, good, bad, "no \"schema\"");
	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--json", NULL), 0);
	write_file(bad, out, strlen(out));
	free(out);
	free(err);
	refused(17, bad, good, bad, "ttmem show --json");
	write_file(bad, "{\"schema\":\"ttmem/1\",\"kind\":\"map\"}", 33);
	refused(17, bad, good, bad, "a ttmem \"map\" document");
	write_file(bad, "{\"schema\":\"ttmem/2\",\"kind\":\"leaks\"}", 35);
	refused(17, bad, good, bad, "another ttmem version");
	/* A report whose stacks do not add up to its total (edited). */
	{
		char *e = strdup(rep), *p = strstr(e, "\"bytes\":");

		cr_assert_not_null(p);
		p[8] = p[8] == '9' ? '1' : '9';
		write_file(bad, e, strlen(e));
		free(e);
		refused(17, good, bad, bad, "add up to");
	}
	memset(deep, '[', sizeof(deep) - 1);
	write_file(bad, deep, sizeof(deep) - 1);
	refused(17, bad, good, bad, "nested too deep");

	/* Recordings: JSON lines cut inside the last line; then two kinds. */
	cr_assert_eq(segfix_ttmem_run(&out, &err, "record", "--shm", shm, "-o", rec, "-t0",
				      "--format", "jsonl", NULL), 0, "%s", err);
	free(out);
	free(err);
	{
		char *r = segfix_read_file(rec), *two = NULL;
		size_t n = strlen(r);

		cr_assert(n > 10);
		cr_assert(asprintf(&two, "%s%.*s", r, (int)(n - 10), r) > 0);
		write_file(bad, two, strlen(two));
		snprintf(who, sizeof(who), "%s: truncated: its last line (2)", bad);
		refused(17, bad, rec, who, "ends inside a value");
		free(two);
		free(r);
	}
	refused(18, good, rec, good, "is a leak report");
	refused(18, rec, good, rec, "is a recording");

	/* The command line. */
	cr_assert_eq(diff(&out, &err, good, NULL, NULL, NULL), 2);
	cr_assert(strstr(err, "two files to compare"), "%s", err);
	free(out);
	free(err);
	cr_assert_eq(diff(&out, &err, good, good, "--fail-on-growth", "lots"), 2);
	cr_assert(strstr(err, "--fail-on-growth: 'lots' is not a number"), "%s", err);
	free(out);
	free(err);
	free(rep);
}

/* The reader: every prefix of a report is cut short (never valid, never
 * "malformed"); flipped bytes give an error or a value, and through the
 * command an exit code of 0 or 17 with the file named, never a crash. */
Test(diff, fuzzed_input)
{
	char *rep = segment_report(), *copy;
	size_t len = strlen(rep), body = len;
	struct jr_value *v;
	struct jr_error e;
	const char *f = path_in("fuzz.json");

	while (body && rep[body - 1] == '\n')
		body--;
	cr_assert_eq(jr_parse(rep, len, &v, &e), 0, "%s at %zu", e.msg, e.offset);
	cr_assert_eq(v->type, JR_OBJ);
	cr_assert_str_eq(jr_str(jr_get(v, "kind")), "leaks");
	jr_free(v);
	for (size_t n = 0; n < body; n++) {
		cr_assert_eq(jr_parse(rep, n, &v, &e), -1, "prefix %zu parsed", n);
		cr_assert(e.truncated, "prefix %zu: '%s', not cut short", n, e.msg);
		cr_assert_leq(e.offset, n);
	}
	copy = malloc(len + 1);
	cr_assert_not_null(copy);
	srand(98);
	for (int i = 0; i < 3000; i++) {
		memcpy(copy, rep, len + 1);
		for (int k = 1 + rand() % 3; k > 0; k--)
			copy[rand() % (int)len] = (char)(rand() % 256);
		if (jr_parse(copy, len, &v, &e) == 0)
			jr_free(v);
		else
			cr_assert(e.msg[0] && e.offset <= len, "%d: error without a message", i);
		if (i % 150 == 0) {
			char *out = NULL, *err = NULL, want[300];
			int rc;

			write_file(f, copy, len);
			rc = diff(&out, &err, f, f, NULL, NULL);
			snprintf(want, sizeof(want), "ttmem diff: %s: ", f);
			cr_assert(rc == 0 || (rc == 17 && !strncmp(err, want, strlen(want))),
				  "exit %d: %s", rc, err);
			free(out);
			free(err);
		}
	}
	free(copy);
	free(rep);
}
