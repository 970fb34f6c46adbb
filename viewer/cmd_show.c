/* SPDX-License-Identifier: MIT */
/*
 * `ttmem show`: a snapshot of the segment, as a table, JSON, Prometheus text
 * or CSV (--format / --query), once or every --loop SECONDS.  Maps the
 * segment read-only; never writes to it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "file_access.h"
#include "textfit.h"
#include "viewer.h"

static volatile sig_atomic_t show_stop;

static void on_stop(int sig)
{
	(void)sig;
	show_stop = 1;
}

static void show_usage(FILE *f)
{
	fputs("usage: ttmem show [OPTIONS]\n\n"
	      "Device memory in use per chip and buffer type (system / application),\n"
	      "per process (live, peak, released in bulk at close, live at exit), and\n"
	      "the segment's health.  Entries of dead processes are shown as orphaned\n"
	      "and not counted as in use.\n\n"
	      "  -d, --device N        only chip N (an error when the segment has no chip N;\n"
	      "                        also -i, --id as nvidia-smi)\n"
	      "  -p, --pid P           only process P (chip totals count only its entries;\n"
	      "                        an error when P is not in the segment)\n"
	      "  -j, --json            JSON, schema ttmem/1 (see ttmem(1))\n"
	      "  -P, --prometheus      Prometheus text exposition format (processes:\n"
	      "                        running ones, all with --processes=all)\n"
	      "      --format FMT      text | json | prometheus | csv[,noheader][,nounits]\n"
	      "      --query FIELDS    CSV of these fields (comma-separated; implies csv;\n"
	      "                        ttmem(1), QUERY FIELDS): e.g. index,memory.used,\n"
	      "                        memory.total; a process field (pid, process_name,\n"
	      "                        used_memory, ...) gives a row per process and chip;\n"
	      "                        --query-gpu is the same, --query-compute-apps always\n"
	      "                        gives a row per process and chip\n"
	      "  -l, --loop SECONDS    repeat every SECONDS (> 0, fractions allowed) until\n"
	      "                        interrupted; with --json one document per line\n"
	      "      --count N         with --loop: stop after N reports\n"
	      "      --processes=WHICH none | active (default) | all: in every format\n"
	      "  -a, --all             also processes that never allocated (= --processes=all)\n"
	      "      --released        per process: bytes released in bulk at close and\n"
	      "                        live at exit, per owner and type\n"
	      "      --peaks           text: each chip and type's peak, when it was reached\n"
	      "                        and the call stack of the allocation that reached it\n"
	      "                        (the PEAK column has the figure; JSON has it all)\n"
	      "  -w, --width N         text: fit N columns (0: no limit); default the\n"
	      "                        terminal's width, else $COLUMNS, else no limit\n"
	      "      --shm NAME        segment (default $TTMEM_SHM, else " TTMEM_DEFAULT_SHM_NAME ")\n"
	      "  -h, --help            this help\n"
	      "  -V, --version         version\n", f);
}

enum show_format { SF_TEXT, SF_JSON, SF_PROM, SF_CSV };

struct show_cmd {
	struct model_opts mo;
	struct show_opts so;
	enum show_format fmt;
	int fmt_set;
	int csv_header, csv_units;
	const char *query;
	int per_process;           /* --query-compute-apps: rows per process and chip */
	struct query q;
	uint64_t loop_ms;          /* 0: once */
	uint64_t count;            /* 0: until interrupted */
	const char *shm;
	const char *width;         /* --width, NULL: not given */
};

static int set_format(struct show_cmd *sc, enum show_format f)
{
	if (sc->fmt_set && sc->fmt != f) {
		viewer_err("show", "choose one output format (--json, --prometheus, --format, --query)");
		return -1;
	}
	sc->fmt = f;
	sc->fmt_set = 1;
	return 0;
}

/* "csv,noheader,nounits", "json", ... */
static int parse_format(struct show_cmd *sc, const char *arg)
{
	char buf[128], *tok, *save = NULL;
	int first = 1;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), first = 0) {
		int rc = 0;

		if (first && !strcmp(tok, "text"))
			rc = set_format(sc, SF_TEXT);
		else if (first && !strcmp(tok, "json"))
			rc = set_format(sc, SF_JSON);
		else if (first && !strcmp(tok, "prometheus"))
			rc = set_format(sc, SF_PROM);
		else if (first && !strcmp(tok, "csv"))
			rc = set_format(sc, SF_CSV);
		else if (!first && sc->fmt == SF_CSV && !strcmp(tok, "noheader"))
			sc->csv_header = 0;
		else if (!first && sc->fmt == SF_CSV && !strcmp(tok, "nounits"))
			sc->csv_units = 0;
		else {
			viewer_err("show", "--format: '%s' is not text, json, prometheus or "
				   "csv[,noheader][,nounits]", arg);
			return -1;
		}
		if (rc < 0)
			return -1;
	}
	if (first) {
		viewer_err("show", "--format: empty");
		return -1;
	}
	return 0;
}

/* "2", "0.5": milliseconds, > 0 and at most a day. */
static int parse_seconds(const char *s, uint64_t *ms)
{
	char *end;
	double v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0.001) || v > 86400.0)
		return -1;
	*ms = (uint64_t)(v * 1000.0 + 0.5);
	return 0;
}

static int show_parse(struct show_cmd *sc, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "pid", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'P' },
		{ "format", required_argument, NULL, 'F' },
		{ "query", required_argument, NULL, 'Q' },
		{ "query-gpu", required_argument, NULL, 'Q' },
		{ "query-compute-apps", required_argument, NULL, 'A' },
		{ "id", required_argument, NULL, 'd' },
		{ "loop", required_argument, NULL, 'l' },
		{ "count", required_argument, NULL, 'c' },
		{ "processes", optional_argument, NULL, 'R' },
		{ "all", no_argument, NULL, 'a' },
		{ "released", no_argument, NULL, 'r' },
		{ "peaks", no_argument, NULL, 'K' },
		{ "shm", required_argument, NULL, 's' },
		{ "width", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:i:p:jPl:aw:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
		case 'i':
			if (viewer_parse_u64(optarg, UINT32_MAX, &v) < 0) {
				viewer_err("show", "--device: '%s' is not a chip id", optarg);
				return VX_USAGE;
			}
			sc->mo.device = (int64_t)v;
			break;
		case 'p':
			if (viewer_parse_u64(optarg, UINT32_MAX, &v) < 0) {
				viewer_err("show", "--pid: '%s' is not a pid", optarg);
				return VX_USAGE;
			}
			sc->mo.pid = (int64_t)v;
			break;
		case 'j':
			if (set_format(sc, SF_JSON) < 0)
				return VX_USAGE;
			break;
		case 'P':
			if (set_format(sc, SF_PROM) < 0)
				return VX_USAGE;
			break;
		case 'F':
			if (parse_format(sc, optarg) < 0)
				return VX_USAGE;
			break;
		case 'A':
			sc->per_process = 1;
			/* fall through */
		case 'Q':
			sc->query = optarg;
			break;
		case 'l':
			if (parse_seconds(optarg, &sc->loop_ms) < 0) {
				viewer_err("show", "--loop: '%s' is not a number of seconds in "
					   "(0, 86400]", optarg);
				return VX_USAGE;
			}
			break;
		case 'c':
			if (viewer_parse_u64(optarg, UINT32_MAX, &sc->count) < 0 || !sc->count) {
				viewer_err("show", "--count: '%s' is not a positive count", optarg);
				return VX_USAGE;
			}
			break;
		case 'R':
			if (!optarg || !strcmp(optarg, "active"))
				sc->so.processes = 1;
			else if (!strcmp(optarg, "none"))
				sc->so.processes = 0;
			else if (!strcmp(optarg, "all"))
				sc->so.processes = 2;
			else {
				viewer_err("show", "--processes: '%s' is not none, active or all",
					   optarg);
				return VX_USAGE;
			}
			break;
		case 'a':
			sc->so.processes = 2;
			break;
		case 'r':
			sc->so.released = 1;
			break;
		case 'K':
			sc->so.peaks = 1;
			break;
		case 's':
			sc->shm = optarg;
			break;
		case 'w':
			sc->width = optarg;
			break;
		case 'h':
			show_usage(stdout);
			return -1;
		case 'V':
			viewer_version("show");
			return -1;
		case ':':
			viewer_err("show", "option '%s' needs a value", argv[optind - 1]);
			return VX_USAGE;
		default:
			viewer_err("show", "unknown option '%s' (try 'ttmem show --help')",
				   argv[optind - 1]);
			return VX_USAGE;
		}
	}
	if (optind < argc) {
		viewer_err("show", "unexpected argument '%s'", argv[optind]);
		return VX_USAGE;
	}
	if (sc->query) {
		char bad[80];

		if (set_format(sc, SF_CSV) < 0)
			return VX_USAGE;
		if (query_parse(&sc->q, sc->query, bad, sizeof(bad)) < 0) {
			viewer_err("show", "--query: unknown field '%s' (see QUERY FIELDS in ttmem(1))",
				   bad);
			return VX_USAGE;
		}
		sc->q.per_process |= sc->per_process;
	} else if (sc->fmt == SF_CSV) {
		query_default(&sc->q);
	}
	sc->q.chip_filtered = sc->mo.device >= 0;
	if (sc->count && !sc->loop_ms) {
		viewer_err("show", "--count needs --loop");
		return VX_USAGE;
	}
	if (tf_width("show", sc->width, &sc->so.width) < 0)
		return VX_USAGE;
	return 0;
}

/* One report: snapshot, model, rendering. */
static int show_once(struct show_cmd *sc, struct ttmem_table *t, struct ttmem_snapshot *snap,
		     uint64_t nth)
{
	struct model m;
	int rc;

	rc = ttmem_snapshot_refresh(t, snap);
	if (rc < 0) {
		viewer_err("show", "%s: snapshot: %s", sc->shm, ttmem_strerror(rc));
		return viewer_exit_code(rc);
	}
	rc = model_build(&m, t, snap, &sc->mo);
	if (rc < 0) {
		viewer_err("show", "%s: %s", sc->shm, ttmem_strerror(rc));
		return VX_SYSTEM;
	}
	/* The renderings read the model only: a copy, safe from here on. */
	rc = viewer_check_intact("show", sc->shm, t);
	if (!rc)
		rc = viewer_check_filters("show", sc->shm, &m, sc->mo.device, sc->mo.pid);
	if (rc) {
		model_release(&m);
		return rc;
	}
	/* --processes=none in every format: the model has no process left. */
	if (!sc->so.processes) {
		m.nproc = 0;
		m.ncell = 0;
	}
	/* The peaks' stacks, symbolized as the leak report's (text, JSON). */
	struct symbolizer *sy = NULL;
	struct file_access fa;

	if (sc->fmt == SF_JSON || (sc->fmt == SF_TEXT && sc->so.peaks)) {
		file_access_for_segment(&fa, sc->shm);
		sy = symbolizer_new(t, &fa);
	}
	switch (sc->fmt) {
	case SF_JSON:
		format_json_sy(stdout, &m, sc->shm, sy);
		break;
	case SF_PROM:
		format_prom_ex(stdout, &m, sc->shm,
			       sc->so.processes == 2 ? PROM_PROCS_ALL :
			       sc->so.processes ? PROM_PROCS_RUNNING : PROM_PROCS_NONE,
			       PROM_SERIES_FULL);
		break;
	case SF_CSV:
		if (nth == 0 && sc->csv_header)
			format_csv_header(stdout, &sc->q, sc->csv_units);
		format_csv(stdout, &m, &sc->q, sc->csv_units);
		break;
	default:
		if (nth)
			fputc('\n', stdout);
		/* A report of a loop says when it was taken (JSON and CSV
		 * rows carry their own time). */
		if (sc->loop_ms) {
			time_t sec = (time_t)(m.seg.taken_ns / 1000000000u);
			struct tm tm;
			char when[64] = "?";

			if (localtime_r(&sec, &tm))
				strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
			printf("== %s: %s ==\n", sc->shm, when);
		}
		format_text_sy(stdout, &m, sc->shm, &sc->so, sy);
	}
	symbolizer_free(sy);
	model_release(&m);
	/* Each report whole on the pipe as soon as it is made (--loop). */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		viewer_err("show", "write error on standard output");
		return VX_SYSTEM;
	}
	return VX_OK;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Sleep until `deadline` (monotonic ms) or a stop signal. */
static void sleep_until(uint64_t deadline)
{
	uint64_t now;

	while (!show_stop && (now = mono_ms()) < deadline) {
		uint64_t left = deadline - now;
		struct timespec ts = { (time_t)(left / 1000u), (long)(left % 1000u) * 1000000L };

		nanosleep(&ts, NULL); /* EINTR on a signal: the loop checks show_stop */
	}
}

int cmd_show(int argc, char **argv)
{
	struct show_cmd sc;
	struct ttmem_table *t = NULL;
	struct ttmem_snapshot snap;
	uint64_t next;
	dev_t dev;
	ino_t ino;
	int rc;

	memset(&sc, 0, sizeof(sc));
	sc.mo.device = -1;
	sc.mo.pid = -1;
	sc.so.processes = 1;
	sc.so.segment = 1;
	sc.csv_header = 1;
	sc.csv_units = 1;
	rc = show_parse(&sc, argc, argv);
	if (rc)
		return rc < 0 ? VX_OK : rc;
	/* A pid asked for by name is shown even if it never allocated. */
	sc.mo.all_procs = sc.so.processes == 2 || sc.mo.pid >= 0;
	sc.shm = viewer_shm_name(sc.shm);
	rc = viewer_attach("show", sc.shm, 0, &t);
	if (rc)
		return rc;
	memset(&snap, 0, sizeof(snap));
	if (sc.loop_ms) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_stop; /* no SA_RESTART: the sleep returns at once */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	if (viewer_shm_identity(sc.shm, &dev, &ino) < 0)
		dev = 0, ino = 0;
	next = mono_ms();
	for (uint64_t nth = 0;; nth++) {
		dev_t ndev;
		ino_t nino;

		/* Removed and created anew under the same name (between runs):
		 * follow the name, as top does; while there is none, keep the
		 * last one. */
		if (nth && viewer_shm_identity(sc.shm, &ndev, &nino) == 0 &&
		    (ndev != dev || nino != ino)) {
			struct ttmem_table *nt = NULL;

			if (viewer_attach("show", sc.shm, 0, &nt) == VX_OK) {
				ttmem_table_close(t);
				t = nt;
				dev = ndev;
				ino = nino;
			}
		}
		rc = show_once(&sc, t, &snap, nth);
		if (rc || !sc.loop_ms || (sc.count && nth + 1 >= sc.count))
			break;
		next += sc.loop_ms;
		sleep_until(next);
		if (show_stop)
			break;
	}
	ttmem_snapshot_free(&snap);
	ttmem_table_close(t);
	return rc;
}
