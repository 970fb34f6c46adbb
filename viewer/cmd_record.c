/* SPDX-License-Identifier: MIT */
/*
 * `ttmem record -o FILE`: usage over time.  Every --interval seconds a
 * snapshot is aggregated (the model `show` renders) and written as counter
 * samples: bytes in use per chip and type, and per running process and
 * type, in the Chrome trace event format (a JSON object with traceEvents,
 * "ph":"C" counters: Perfetto UI and chrome://tracing open it) or, with
 * --format jsonl, one JSON object per sample.  --duration, SIGINT or
 * SIGTERM end it; the file is a complete JSON document whichever ended it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "viewer.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void record_usage(FILE *f)
{
	fputs("usage: ttmem record -o FILE [OPTIONS]\n\n"
	      "Samples the bytes in use per chip and type, and per running process and\n"
	      "type, every --interval seconds into FILE: the Chrome trace event format\n"
	      "(counter events, \"ph\":\"C\"; open it in Perfetto UI or chrome://tracing)\n"
	      "or JSON lines.  Runs until --duration, SIGINT or SIGTERM; FILE is a\n"
	      "complete JSON document whichever ends it.\n\n"
	      "  -o, --output FILE   where to write (required; '-' for standard output)\n"
	      "  -i, --interval S    seconds between samples (default 1; >= 0.01)\n"
	      "  -t, --duration S    stop after S seconds (default: until a signal)\n"
	      "      --format F      chrome (default) or jsonl\n"
	      "      --shm NAME      segment (default $TTMEM_SHM, else " TTMEM_DEFAULT_SHM_NAME ")\n"
	      "  -h, --help          this help\n"
	      "  -V, --version       version\n", f);
}

static int parse_seconds(const char *s, double min, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > 1e7)
		return -1;
	*out = v;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A process's bytes per type over all chips (its cells), when running. */
static void proc_types(const struct model *m, size_t p, uint64_t *v)
{
	memset(v, 0, MODEL_TYPES * sizeof(*v));
	for (size_t c = m->proc[p].cell_first; c < m->proc[p].cell_first + m->proc[p].cell_count &&
	     c < m->ncell; c++)
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
			v[ty] += m->cell[c].bytes[ty];
}

static void types_obj(FILE *f, const uint64_t *v)
{
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
		fprintf(f, "%s\"%s\":%" PRIu64, ty ? "," : "{", type_name(ty), v[ty]);
	fputc('}', f);
}

static void sample_chrome(FILE *f, const struct model *m, uint64_t t0, int *first)
{
	uint64_t ts = (m->seg.taken_ns - t0) / 1000u, v[MODEL_TYPES];
	char dev[16];

	for (size_t d = 0; d < m->ndev; d++) {
		fprintf(f, "%s\n{\"name\":\"chip %s\",\"cat\":\"chip\",\"ph\":\"C\",\"ts\":%" PRIu64
			",\"pid\":1,\"tid\":1,\"args\":", *first ? "" : ",",
			device_name(dev, sizeof(dev), m->dev[d].device), ts);
		types_obj(f, m->dev[d].in_use);
		fputc('}', f);
		*first = 0;
	}
	for (size_t p = 0; p < m->nproc; p++) {
		char label[64];

		if (m->proc[p].state != TTMEM_LIVENESS_RUNNING)
			continue;
		proc_types(m, p, v);
		snprintf(label, sizeof(label), "pid %" PRIu32 " ", m->proc[p].pid);
		fprintf(f, "%s\n{\"name\":", *first ? "" : ",");
		{
			/* "pid P NAME", the name made valid JSON (sanitize.h). */
			char both[128];

			snprintf(both, sizeof(both), "%s%s", label, m->proc[p].name);
			json_str(f, both, sizeof(both));
		}
		fprintf(f, ",\"cat\":\"process\",\"ph\":\"C\",\"ts\":%" PRIu64 ",\"pid\":2,\"tid\":%" PRIu32
			",\"args\":", ts, m->proc[p].pid);
		types_obj(f, v);
		fputc('}', f);
		*first = 0;
	}
}

static void sample_jsonl(FILE *f, const struct model *m, const char *shm)
{
	uint64_t v[MODEL_TYPES];
	char dev[16];
	int first = 1;

	fputs("{\"schema\":\"ttmem/1\",\"kind\":\"sample\",\"segment\":", f);
	json_str(f, shm, strlen(shm));
	fprintf(f, ",\"taken_ns\":%" PRIu64 ",\"devices\":[", m->seg.taken_ns);
	for (size_t d = 0; d < m->ndev; d++) {
		fprintf(f, "%s{\"device\":%s,\"in_use\":", d ? "," : "",
			m->dev[d].device == TTMEM_DEVICE_UNKNOWN ? "null" :
			device_name(dev, sizeof(dev), m->dev[d].device));
		types_obj(f, m->dev[d].in_use);
		fputc('}', f);
	}
	fputs("],\"processes\":[", f);
	for (size_t p = 0; p < m->nproc; p++) {
		if (m->proc[p].state != TTMEM_LIVENESS_RUNNING)
			continue;
		proc_types(m, p, v);
		fprintf(f, "%s{\"pid\":%" PRIu32 ",\"name\":", first ? "" : ",", m->proc[p].pid);
		json_str(f, m->proc[p].name, sizeof(m->proc[p].name));
		fputs(",\"in_use\":", f);
		types_obj(f, v);
		fputc('}', f);
		first = 0;
	}
	fputs("]}\n", f);
}

/* Sleep until `until_ns` (CLOCK_REALTIME) or a signal. */
static void wait_until(uint64_t until_ns)
{
	uint64_t now = now_ns();
	struct timespec ts;

	if (stop || now >= until_ns)
		return;
	ts.tv_sec = (time_t)((until_ns - now) / 1000000000u);
	ts.tv_nsec = (long)((until_ns - now) % 1000000000u);
	nanosleep(&ts, NULL);   /* EINTR: a signal ends the wait */
}

int cmd_record(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 't' },
		{ "format", required_argument, NULL, 'F' },
		{ "shm", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *shm = NULL, *path = NULL;
	double interval = 1.0, duration = -1.0;
	int c, rc, jsonl = 0, first = 1;
	struct ttmem_table *t = NULL;
	struct ttmem_snapshot snap = { 0 };
	struct sigaction sa;
	uint64_t t0, next, end = UINT64_MAX;
	size_t samples = 0;
	FILE *f;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:i:t:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			path = optarg;
			break;
		case 'i':
		case 't':
			if (parse_seconds(optarg, c == 'i' ? 0.01 : 0.0, c == 'i' ? &interval : &duration) < 0) {
				viewer_err("record", "%s: '%s' is not a number of seconds%s",
					   c == 'i' ? "--interval" : "--duration", optarg,
					   c == 'i' ? " (>= 0.01)" : "");
				return VX_USAGE;
			}
			break;
		case 'F':
			if (strcmp(optarg, "chrome") && strcmp(optarg, "jsonl")) {
				viewer_err("record", "--format: '%s' is not chrome or jsonl", optarg);
				return VX_USAGE;
			}
			jsonl = !strcmp(optarg, "jsonl");
			break;
		case 'S':
			shm = optarg;
			break;
		default: /* --help, --version, errors */
			return viewer_opt_default("record", c, argv, record_usage);
		}
	}
	rc = viewer_opt_no_operands("record", argc, argv);
	if (rc)
		return rc;
	if (!path || !*path) {
		viewer_err("record", "where to? (-o FILE)");
		return VX_USAGE;
	}
	shm = viewer_shm_name(shm);
	rc = viewer_attach("record", shm, 0, &t);
	if (rc)
		return rc;
	f = strcmp(path, "-") ? fopen(path, "w") : stdout;
	if (!f) {
		viewer_err("record", "%s: %s", path, strerror(errno));
		ttmem_table_close(t);
		return VX_SYSTEM;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;   /* no SA_RESTART: the sleep ends at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	t0 = next = now_ns();
	if (duration >= 0)
		end = t0 + (uint64_t)(duration * 1e9);
	if (!jsonl) {
		fputs("{\"displayTimeUnit\":\"ms\",\"otherData\":{\"schema\":\"ttmem/1\",\"kind\":"
		      "\"record\",\"segment\":", f);
		json_str(f, shm, strlen(shm));
		fprintf(f, ",\"start_ns\":%" PRIu64 ",\"interval_s\":%g},\"traceEvents\":[\n"
			"{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":\"chips "
			"(bytes in use per type)\"}},\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":2,"
			"\"args\":{\"name\":\"processes (bytes in use per type)\"}}", t0, interval);
		first = 0;
	}
	rc = VX_OK;
	while (!stop) {
		struct model m;
		struct model_opts mo = { .device = -1, .pid = -1 };

		if (ttmem_snapshot_refresh(t, &snap) < 0 || model_build(&m, t, &snap, &mo) < 0) {
			viewer_err("record", "%s: snapshot: out of memory", shm);
			rc = VX_SYSTEM;
			break;
		}
		rc = viewer_check_intact("record", shm, t);
		if (rc == VX_OK) {
			if (jsonl)
				sample_jsonl(f, &m, shm);
			else
				sample_chrome(f, &m, t0, &first);
			samples++;
		}
		model_release(&m);
		if (rc != VX_OK || fflush(f) != 0)
			break;
		next += (uint64_t)(interval * 1e9);
		if (next >= end)
			break;
		wait_until(next);
	}
	if (!jsonl)
		fputs("\n]}\n", f);
	if (fflush(f) != 0 || ferror(f) || (f != stdout && fclose(f) != 0)) {
		viewer_err("record", "%s: write error", path);
		rc = VX_SYSTEM;
	} else if (rc == VX_OK && f != stdout) {
		fprintf(stderr, "ttmem record: %zu sample%s of %s written to %s\n", samples,
			samples == 1 ? "" : "s", shm, path);
	}
	ttmem_snapshot_free(&snap);
	ttmem_table_close(t);
	return rc;
}
