/* SPDX-License-Identifier: MIT */
/*
 * `ttmem export`: the segment for Prometheus, served on /metrics over HTTP
 * (--listen) and/or written for node-exporter's textfile collector
 * (--textfile).  Runs until SIGTERM, SIGINT or SIGHUP, which stop it
 * cleanly (exit 0); with --once, writes the textfile once and exits with
 * the segment's status.
 *
 * The termination signals are blocked in every thread and taken by the main
 * thread with sigtimedwait, whose timeout is the textfile interval: no
 * handler runs in the middle of a scrape or a write.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "export.h"

#define INTERVAL_DEFAULT 15
#define INTERVAL_MAX 86400

static void export_usage(FILE *f)
{
	fputs("usage: ttmem export --listen [HOST]:PORT | --textfile DIR [OPTIONS]\n\n"
	      "The segment for Prometheus: served on /metrics over HTTP, or written\n"
	      "atomically for node-exporter's textfile collector; both may be given.\n"
	      "Runs until SIGTERM or SIGINT.  Each scrape or write reads a fresh\n"
	      "snapshot; a segment not there yet gives a healthy exposition with\n"
	      "ttmem_segment_present 0; one that cannot be read gives HTTP 503 with the\n"
	      "reason (the textfile is removed) and the exporter keeps running; at exit\n"
	      "the textfile is removed.\n\n"
	      "  -l, --listen ADDR     serve http://ADDR/metrics; ADDR is HOST:PORT,\n"
	      "                        [IPV6]:PORT or :PORT (every address); PORT 0\n"
	      "                        picks a free port (printed on stderr)\n"
	      "  -t, --textfile DIR    write DIR/NAME.prom, NAME from the segment name\n"
	      "                        (Debian: /var/lib/prometheus/node-exporter)\n"
	      "  -i, --interval S      seconds between textfile writes (default 15)\n"
	      "      --once            write the textfile once and exit (for cron)\n"
	      "      --process-series=HOW  name (default): per process name, running\n"
	      "                        processes summed, bytes per type (the " PROM_NAMES_MAX_STR " largest\n"
	      "                        names; the rest as ttmem_process_other_*) |\n"
	      "                        pid: per process, bytes per type, peak, partial |\n"
	      "                        full: per process, every figure, per chip too |\n"
	      "                        none\n"
	      "      --processes=WHICH running (default) | all (also exited and dead)\n"
	      "                        | none: which processes pid and full list\n"
	      "      --shm NAME        segment (default $TTMEM_SHM, else " TTMEM_DEFAULT_SHM_NAME ")\n"
	      "  -h, --help            this help\n"
	      "  -V, --version         version\n", f);
}

void export_note(struct export_note *n, const char *why)
{
	if (!why) {
		if (n->last[0])
			viewer_err("export", "%s: working again", n->what);
		n->last[0] = 0;
		return;
	}
	if (strcmp(n->last, why)) {
		viewer_err("export", "%s: %s", n->what, why);
		snprintf(n->last, sizeof(n->last), "%s", why);
	}
}

/* Write the textfile once.  0, the segment's exit code (the file removed:
 * stale numbers would read as current), or -1 when the file could not be
 * written (the reason in `why`). */
static int textfile_round(const struct export_src *src, const char *path, char *why,
			  size_t whylen)
{
	char *buf;
	size_t len;
	int rc = export_render(src, &buf, &len, why, whylen);

	if (rc != VX_OK) {
		if (unlink(path) == 0)
			snprintf(why + strlen(why), whylen - strlen(why), " (%s removed)", path);
		return rc;
	}
	rc = export_textfile_write(path, buf, len, why, whylen);
	free(buf);
	return rc < 0 ? -1 : VX_OK;
}

struct export_args {
	const char *listen;
	const char *dir;
	uint64_t interval;
	int interval_set;
	int once;
	struct export_src src;
};

static int parse_args(int argc, char **argv, struct export_args *a)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "textfile", required_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' },
		{ "once", no_argument, NULL, 'o' },
		{ "processes", required_argument, NULL, 'R' },
		{ "process-series", required_argument, NULL, 'S' },
		{ "shm", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *shm = NULL;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:t:i:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			a->listen = optarg;
			break;
		case 't':
			if (!*optarg) {
				viewer_err("export", "--textfile: empty directory name");
				return VX_USAGE;
			}
			a->dir = optarg;
			break;
		case 'i':
			if (viewer_parse_u64(optarg, INTERVAL_MAX, &a->interval) < 0 ||
			    a->interval == 0) {
				viewer_err("export", "--interval: '%s' is not a number of seconds "
					   "from 1 to %d", optarg, INTERVAL_MAX);
				return VX_USAGE;
			}
			a->interval_set = 1;
			break;
		case 'o':
			a->once = 1;
			break;
		case 'R':
			if (!strcmp(optarg, "running"))
				a->src.which = PROM_PROCS_RUNNING;
			else if (!strcmp(optarg, "all"))
				a->src.which = PROM_PROCS_ALL;
			else if (!strcmp(optarg, "none"))
				a->src.which = PROM_PROCS_NONE;
			else {
				viewer_err("export", "--processes: '%s' is not running, all or none",
					   optarg);
				return VX_USAGE;
			}
			break;
		case 'S':
			if (!strcmp(optarg, "name"))
				a->src.series = PROM_SERIES_NAME;
			else if (!strcmp(optarg, "pid"))
				a->src.series = PROM_SERIES_PID;
			else if (!strcmp(optarg, "full"))
				a->src.series = PROM_SERIES_FULL;
			else if (!strcmp(optarg, "none"))
				a->src.series = PROM_SERIES_NONE;
			else {
				viewer_err("export", "--process-series: '%s' is not name, pid, full "
					   "or none", optarg);
				return VX_USAGE;
			}
			break;
		case 's':
			shm = optarg;
			break;
		default: /* --help, --version (-1: exit 0 at once), errors */
			rc = viewer_opt_default("export", c, argv, export_usage);
			return rc == VX_OK ? -1 : rc;
		}
	}
	if (viewer_opt_no_operands("export", argc, argv))
		return VX_USAGE;
	if ((a->interval_set || a->once) && !a->dir) {
		viewer_err("export", "%s needs --textfile", a->once ? "--once" : "--interval");
		return VX_USAGE;
	}
	if (!a->listen && !a->dir) {
		viewer_err("export", "nothing to do: give --listen ADDR and/or --textfile DIR "
			   "(try 'ttmem export --help')");
		return VX_USAGE;
	}
	if (a->once && (a->interval_set || a->listen)) {
		viewer_err("export", "--once writes one textfile: not with %s",
			   a->listen ? "--listen" : "--interval");
		return VX_USAGE;
	}
	a->src.shm = viewer_shm_name(shm);
	if (!*a->src.shm) {
		viewer_err("export", "--shm: an empty segment name (give /NAME or a file path)");
		return VX_USAGE;
	}
	return VX_OK;
}

int cmd_export(int argc, char **argv)
{
	struct export_args a = { .interval = INTERVAL_DEFAULT,
				 .src.which = PROM_PROCS_RUNNING,
				 .src.series = PROM_SERIES_NAME };
	struct export_note tnote = { .what = "textfile" };
	struct export_http *http = NULL;
	char path[4096], why[1024], where[128];
	sigset_t stop;
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? VX_OK : rc;
	if (a.dir && export_textfile_path(path, sizeof(path), a.dir, a.src.shm) < 0) {
		viewer_err("export", "--textfile %s: path too long", a.dir);
		return VX_USAGE;
	}
	if (a.dir) {
		/* Whether DIR is usable at all is a setup error, reported
		 * before anything runs, whatever the segment's state. */
		if (export_textfile_check(path, why, sizeof(why)) < 0) {
			viewer_err("export", "--textfile: %s", why);
			return VX_SYSTEM;
		}
		rc = textfile_round(&a.src, path, why, sizeof(why));
		if (rc < 0) {
			viewer_err("export", "--textfile: %s", why);
			return VX_SYSTEM;
		}
		if (a.once) {
			if (rc)
				viewer_err("export", "%s", why);
			return rc;
		}
		if (rc)
			export_note(&tnote, why);
	}

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (a.listen) {
		http = export_http_start(a.listen, &a.src, where, sizeof(where), why, sizeof(why));
		if (!http) {
			viewer_err("export", "%s", why);
			return VX_SYSTEM;
		}
		viewer_err("export", "serving %s for segment %s", where, a.src.shm);
	}
	if (a.dir)
		viewer_err("export", "writing %s every %llu s for segment %s", path,
			   (unsigned long long)a.interval, a.src.shm);

	for (;;) {
		struct timespec ts = { .tv_sec = a.dir ? (time_t)a.interval : 3600 };
		int sig = sigtimedwait(&stop, NULL, &ts);

		if (sig > 0) {
			viewer_err("export", "%s: stopping", strsignal(sig));
			/* Numbers nobody updates any more must not read as
			 * current: node-exporter would serve them for ever. */
			if (a.dir && unlink(path) == 0)
				viewer_err("export", "%s removed", path);
			break;
		}
		if (errno != EAGAIN || !a.dir)
			continue;
		rc = textfile_round(&a.src, path, why, sizeof(why));
		export_note(&tnote, rc ? why : NULL);
	}
	export_http_stop(http);
	return VX_OK;
}
