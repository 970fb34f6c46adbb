/* SPDX-License-Identifier: MIT */
/*
 * The model in the Prometheus text exposition format (version 0.0.4), for
 * `ttmem export` (HTTP /metrics, node-exporter's textfile collector) and
 * `ttmem show --prometheus`.
 *
 * Every family has HELP and TYPE before its samples, each family once.
 * Gauges for what is held now, counters (suffix _total) for what only grows
 * (until `ttmem clear`, which Prometheus sees as a counter reset).  No
 * timestamps: the textfile collector refuses them.
 *
 * Series are stable: no label value changes during a series' life.  Every
 * sample carries `segment`, so that two segments on one host do not collide.
 * A process is identified by pid, start_time (its /proc start, clock ticks)
 * and slot (its registry index), so a reused pid never repeats a series,
 * which Prometheus would refuse as a duplicate; its state is its own gauge
 * (ttmem_process_state), never a label on its byte counts.
 *
 * Cardinality: per chip and type, bounded by the hardware; per process, as
 * `series` says (viewer.h, enum prom_series): `ttmem export` aggregates per
 * process name by default, at most PROM_NAMES_MAX names (the rest summed
 * into ttmem_process_other_*), so that neither pids nor chips multiply the
 * series of a long-lived exporter.
 *
 * Label values come from the segment (process names), which any tracked
 * process writes: they are emitted as valid UTF-8 with control characters
 * and malformed bytes replaced by U+FFFD, so one hostile name cannot make
 * Prometheus reject the scrape.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"
#include "viewer.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value (at most n bytes of s, up to its NUL), quoted: backslash and
 * double quote escaped; controls (newline included), invisible format
 * characters and malformed UTF-8 replaced by U+FFFD (sanitize.h), so every
 * value is valid UTF-8 on one line. */
static void label_value(FILE *f, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strnlen(s, n);

	fputc('"', f);
	for (size_t i = 0, k; i < len; i += k) {
		uint32_t cp;

		k = san_decode(s + i, len - i, &cp);
		if (san_is_unsafe(cp)) {
			fputs(REPLACEMENT, f);
			continue;
		}
		if (cp == '\\' || cp == '"')
			fputc('\\', f);
		fwrite(u + i, 1, k, f);
	}
	fputc('"', f);
}

/* A label value's text between its quotes, as label_value writes it, into
 * buf: names that differ in their bytes but not in their label are one
 * series, or the exposition would repeat a series. */
static void label_text(char *buf, size_t len, const char *s, size_t n)
{
	FILE *f = fmemopen(buf, len, "w");

	buf[0] = 0;
	if (!f)
		return;
	setvbuf(f, NULL, _IONBF, 0);
	label_value(f, s, n);
	fclose(f);
	/* Without its quotes. */
	n = strlen(buf);
	if (n >= 2) {
		memmove(buf, buf + 1, n - 2);
		buf[n - 2] = 0;
	}
}

struct prom {
	FILE *f;
	const struct model *m;
	const char *shm;
	enum prom_procs which;
	enum prom_series series;
	char devbuf[16];
};

/* `segment="..."`, first label of every sample. */
static void seg_label(struct prom *p)
{
	fputs("segment=", p->f);
	label_value(p->f, p->shm, 4096);
}

/* The name and label set of a sample up to (not including) its closing
 * brace, so that callers may append labels. */
static void open_sample(struct prom *p, const char *name)
{
	fprintf(p->f, "%s{", name);
	seg_label(p);
}

static const char *dev_name(struct prom *p, uint32_t device)
{
	return device_name(p->devbuf, sizeof(p->devbuf), device);
}

static int proc_listed(const struct prom *p, const struct model_proc *pr)
{
	switch (p->which) {
	case PROM_PROCS_NONE:
		return 0;
	case PROM_PROCS_RUNNING:
		return pr->state == TTMEM_LIVENESS_RUNNING;
	default:
		return 1;
	}
}

/* The identity of a process series: stable for the process's life and
 * unique in a snapshot (the registry index, "none" for the pseudo-process
 * that groups the entries of an unregistered pid, which is one per pid). */
static void proc_labels(struct prom *p, const struct model_proc *pr)
{
	fprintf(p->f, ",pid=\"%" PRIu32 "\",start_time=\"%" PRIu64 "\",", pr->pid, pr->start_time);
	if (pr->reg >= 0)
		fprintf(p->f, "slot=\"%" PRId32 "\",name=", pr->reg);
	else
		fputs("slot=\"none\",name=", p->f);
	label_value(p->f, pr->name, sizeof(pr->name));
}

/* One sample per listed process of the uint64_t field at `off` in model_proc. */
static void proc_metric(struct prom *p, const char *name, const char *type, const char *help,
			size_t off)
{
	family(p->f, name, type, help);
	for (size_t i = 0; i < p->m->nproc; i++) {
		const struct model_proc *pr = &p->m->proc[i];
		uint64_t v;

		if (!proc_listed(p, pr))
			continue;
		memcpy(&v, (const char *)pr + off, sizeof(v));
		open_sample(p, name);
		proc_labels(p, pr);
		fprintf(p->f, "} %" PRIu64 "\n", v);
	}
}

/* One sample per listed process and owner kind of the [owner][type] byte
 * array at `off` in model_proc, summed over types. */
static void proc_owner_metric(struct prom *p, const char *name, const char *type,
			      const char *help, size_t off)
{
	family(p->f, name, type, help);
	for (size_t i = 0; i < p->m->nproc; i++) {
		const struct model_proc *pr = &p->m->proc[i];
		const uint64_t (*by_owner)[MODEL_TYPES] =
			(const uint64_t (*)[MODEL_TYPES])(const void *)((const char *)pr + off);

		if (!proc_listed(p, pr))
			continue;
		for (unsigned o = 0; o < TTMEM_OWNER_COUNT; o++) {
			open_sample(p, name);
			proc_labels(p, pr);
			fprintf(p->f, ",owner=\"%s\"} %" PRIu64 "\n", owner_name(o),
				model_sum(by_owner[o]));
		}
	}
}

/* The two per-process series of both per-process sets (pid, full). */
static void proc_peak_metric(struct prom *p)
{
	proc_metric(p, "ttmem_process_peak_all_types_bytes", "gauge",
		    "Highest device memory a process held at once, every buffer type and "
		    "chip added up (the registry keeps no peak per type).",
		    offsetof(struct model_proc, peak_bytes));
}

static void proc_partial_metric(struct prom *p)
{
	proc_metric(p, "ttmem_process_partial", "gauge",
		    "1 when a process was tracked only in part (attached late, table full, "
		    "events lost, ABI mismatch): its usage may be below the truth.",
		    offsetof(struct model_proc, partial));
}

/* One sample per listed process and buffer type: the bytes of its entries,
 * all chips (what it holds while it runs; what it left otherwise). */
static void proc_type_metric(struct prom *p)
{
	static const char *name = "ttmem_process_bytes";

	family(p->f, name, "gauge",
	       "Bytes of a process's entries per buffer type, all chips (held while it runs, "
	       "left behind once it exited or died).");
	for (size_t i = 0; i < p->m->nproc; i++) {
		const struct model_proc *pr = &p->m->proc[i];

		if (!proc_listed(p, pr))
			continue;
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
			open_sample(p, name);
			proc_labels(p, pr);
			fprintf(p->f, ",type=\"%s\"} %" PRIu64 "\n", type_name(ty), pr->table_type[ty]);
		}
	}
}

/* The running processes of one name (its label text), summed. */
struct name_sum {
	char label[4 * sizeof(((struct model_proc *)0)->name) * 2 + 8];
	uint64_t processes;
	uint64_t bytes[MODEL_TYPES];
	uint64_t total;
};

static int cmp_name_sum(const void *a, const void *b)
{
	const struct name_sum *x = a, *y = b;

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(x->label, y->label);
}

static void name_sample(struct prom *p, const char *metric, const struct name_sum *n,
			int type)
{
	open_sample(p, metric);
	if (n)
		fprintf(p->f, ",name=\"%s\"", n->label);
	if (type >= 0)
		fprintf(p->f, ",type=\"%s\"", type_name((unsigned)type));
	fputs("} ", p->f);
}

/* Series per process name (comm): running processes only (the others hold
 * nothing), the PROM_NAMES_MAX largest names by bytes, the rest summed as
 * ttmem_process_other_*. */
static void name_metrics(struct prom *p)
{
	struct name_sum *sum = calloc(p->m->nproc ? p->m->nproc : 1, sizeof(*sum)), other = { 0 };
	size_t n = 0;

	/* Out of memory: no process series rather than zeros that read as
	 * nothing held. */
	if (!sum)
		return;
	for (size_t i = 0; i < p->m->nproc; i++) {
		const struct model_proc *pr = &p->m->proc[i];
		char label[sizeof(sum->label)];
		size_t k;

		if (pr->state != TTMEM_LIVENESS_RUNNING)
			continue;
		label_text(label, sizeof(label), pr->name, sizeof(pr->name));
		for (k = 0; k < n && strcmp(sum[k].label, label); k++)
			;
		if (k == n)
			memcpy(sum[n++].label, label, sizeof(label));
		sum[k].processes++;
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
			sum[k].bytes[ty] += pr->live_type[ty];
			sum[k].total += pr->live_type[ty];
		}
	}
	if (n)
		qsort(sum, n, sizeof(*sum), cmp_name_sum);
	for (size_t k = PROM_NAMES_MAX; k < n; k++) {
		other.processes += sum[k].processes;
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
			other.bytes[ty] += sum[k].bytes[ty];
	}
	if (n > PROM_NAMES_MAX)
		n = PROM_NAMES_MAX;
	family(p->f, "ttmem_process_name_bytes", "gauge",
	       "Device memory held by the running processes of one name (comm), per buffer "
	       "type, all chips.");
	for (size_t k = 0; k < n; k++)
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
			name_sample(p, "ttmem_process_name_bytes", &sum[k], (int)ty);
			fprintf(p->f, "%" PRIu64 "\n", sum[k].bytes[ty]);
		}
	family(p->f, "ttmem_process_name_processes", "gauge",
	       "Running processes of one name (comm) that the segment tracks.");
	for (size_t k = 0; k < n; k++) {
		name_sample(p, "ttmem_process_name_processes", &sum[k], -1);
		fprintf(p->f, "%" PRIu64 "\n", sum[k].processes);
	}
	family(p->f, "ttmem_process_other_bytes", "gauge",
	       "Device memory held by the running processes of the names beyond the "
	       "largest " PROM_NAMES_MAX_STR ", per buffer type, all chips.");
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
		name_sample(p, "ttmem_process_other_bytes", NULL, (int)ty);
		fprintf(p->f, "%" PRIu64 "\n", other.bytes[ty]);
	}
	family(p->f, "ttmem_process_other_processes", "gauge",
	       "Running processes of the names beyond the largest " PROM_NAMES_MAX_STR ".");
	name_sample(p, "ttmem_process_other_processes", NULL, -1);
	fprintf(p->f, "%" PRIu64 "\n", other.processes);
	free(sum);
}

/* The state of each listed process, one series per possible state, 1 for
 * the current one: a state change moves a 1, it never renames a series. */
static void proc_state_metric(struct prom *p)
{
	static const int states[] = { TTMEM_LIVENESS_RUNNING, TTMEM_LIVENESS_EXITED,
				      TTMEM_LIVENESS_DEAD, TTMEM_LIVENESS_UNKNOWN };

	family(p->f, "ttmem_process_state", "gauge",
	       "1 for the state a process is in (running, exited, dead, unknown), else 0.");
	for (size_t i = 0; i < p->m->nproc; i++) {
		const struct model_proc *pr = &p->m->proc[i];

		if (!proc_listed(p, pr))
			continue;
		for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
			open_sample(p, "ttmem_process_state");
			proc_labels(p, pr);
			fprintf(p->f, ",state=\"%s\"} %d\n", liveness_name(states[k]),
				pr->state == states[k]);
		}
	}
}

/* The segment's own figures: one sample each, a uint64_t of model_seg. */
static const struct {
	const char *name, *type, *help;
	size_t off;
} seg_metrics[] = {
	{ "ttmem_segment_slots", "gauge", "Slots in the allocation table.",
	  offsetof(struct model_seg, capacity) },
	{ "ttmem_segment_entries", "gauge", "Live entries in the allocation table.",
	  offsetof(struct model_seg, entries) },
	{ "ttmem_segment_processes", "gauge", "Registered processes.",
	  offsetof(struct model_seg, procs_registered) },
	{ "ttmem_events_total", "counter", "Allocations and frees recorded.",
	  offsetof(struct model_seg, events) },
	{ "ttmem_drops_total", "counter", "Allocations not recorded: table full.",
	  offsetof(struct model_seg, drops) },
	{ "ttmem_unmatched_frees_total", "counter", "Frees of allocations not in the table.",
	  offsetof(struct model_seg, unmatched) },
	{ "ttmem_reclaimed_total", "counter", "Entries of dead processes reclaimed.",
	  offsetof(struct model_seg, reclaimed) },
	{ "ttmem_replaced_total", "counter", "Live entries replaced by a new allocation.",
	  offsetof(struct model_seg, replaced) },
	{ "ttmem_process_drops_total", "counter", "Processes not registered: registry full.",
	  offsetof(struct model_seg, proc_drops) },
	{ "ttmem_module_drops_total", "counter", "Modules not recorded: module table full.",
	  offsetof(struct model_seg, module_drops) },
};

static void seg_figures(struct prom *p)
{
	for (size_t i = 0; i < sizeof(seg_metrics) / sizeof(seg_metrics[0]); i++) {
		uint64_t v;

		memcpy(&v, (const char *)&p->m->seg + seg_metrics[i].off, sizeof(v));
		family(p->f, seg_metrics[i].name, seg_metrics[i].type, seg_metrics[i].help);
		open_sample(p, seg_metrics[i].name);
		fprintf(p->f, "} %" PRIu64 "\n", v);
	}
}

/* One sample per chip and buffer type of the uint64_t[MODEL_TYPES] array at
 * `off` in model_dev; zeros are left out when `skip_zero` (unknown values). */
static void dev_type_metric(struct prom *p, const char *name, const char *help, size_t off,
			    int skip_zero)
{
	family(p->f, name, "gauge", help);
	for (size_t i = 0; i < p->m->ndev; i++) {
		const struct model_dev *d = &p->m->dev[i];
		const uint64_t *v = (const uint64_t *)(const void *)((const char *)d + off);

		for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
			if (!v[ty] && skip_zero)
				continue;
			open_sample(p, name);
			fprintf(p->f, ",device=\"%s\",type=\"%s\"} %" PRIu64 "\n",
				dev_name(p, d->device), type_name(ty), v[ty]);
		}
	}
}

static void device_in_use(struct prom *p)
{
	static const char *name = "ttmem_device_in_use_bytes";

	family(p->f, name, "gauge",
	       "Device memory held by running processes, per chip, buffer type and owner.");
	for (size_t i = 0; i < p->m->ndev; i++) {
		const struct model_dev *d = &p->m->dev[i];

		for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
			open_sample(p, name);
			fprintf(p->f, ",device=\"%s\",type=\"%s\",owner=\"system\"} %" PRIu64 "\n",
				dev_name(p, d->device), type_name(ty), d->system[ty]);
			open_sample(p, name);
			fprintf(p->f, ",device=\"%s\",type=\"%s\",owner=\"application\"} %" PRIu64
				      "\n", dev_name(p, d->device), type_name(ty),
				d->application[ty]);
		}
	}
}

static void process_device_bytes(struct prom *p)
{
	family(p->f, "ttmem_process_device_bytes", "gauge",
	       "Bytes of a process's entries per chip (in use while it runs).");
	for (size_t i = 0; i < p->m->ncell; i++) {
		const struct model_cell *c = &p->m->cell[i];
		const struct model_proc *pr = &p->m->proc[c->proc_ix];

		if (!proc_listed(p, pr))
			continue;
		open_sample(p, "ttmem_process_device_bytes");
		proc_labels(p, pr);
		fprintf(p->f, ",device=\"%s\"} %" PRIu64 "\n", dev_name(p, p->m->dev[c->dev_ix].device),
			c->total);
	}
}

void format_prom_ex(FILE *f, const struct model *m, const char *shm, enum prom_procs which,
		    enum prom_series series)
{
	struct prom p = { .f = f, .m = m, .shm = shm, .which = which, .series = series };
	const struct model_seg *g = &m->seg;

	family(f, "ttmem_info", "gauge", "ttmem version and segment ABI (value is always 1).");
	open_sample(&p, "ttmem_info");
	fprintf(f, ",version=\"%s\",abi=\"%u.%u\"} 1\n", TTMEM_VERSION, g->abi_major, g->abi_minor);

	device_in_use(&p);
	dev_type_metric(&p, "ttmem_device_capacity_bytes",
			"What a chip can hold per buffer type (only where known).",
			offsetof(struct model_dev, capacity), 1);
	dev_type_metric(&p, "ttmem_device_orphaned_bytes",
			"Entries left by dead processes (not in use; ttmem reap reclaims them).",
			offsetof(struct model_dev, orphaned), 0);
	dev_type_metric(&p, "ttmem_device_exited_bytes",
			"Entries still live when their process exited (leak records, not in use).",
			offsetof(struct model_dev, exited), 0);
	dev_type_metric(&p, "ttmem_device_peak_bytes",
			"Most bytes a chip held at once per buffer type since the segment was "
			"created or cleared (one process's, where two share a chip).",
			offsetof(struct model_dev, peak), 0);
	if (m->baseline_ns)
		dev_type_metric(&p, "ttmem_device_baseline_bytes",
				"In-use bytes recorded by ttmem baseline.",
				offsetof(struct model_dev, baseline), 0);

	if (which == PROM_PROCS_NONE || series == PROM_SERIES_NONE) {
		/* no process series */
	} else if (series == PROM_SERIES_NAME) {
		name_metrics(&p);
	} else if (series == PROM_SERIES_PID) {
		/* What a process holds, per type, whatever its chips; its state
		 * only when not every listed process is running. */
		if (which == PROM_PROCS_ALL)
			proc_state_metric(&p);
		proc_type_metric(&p);
		proc_peak_metric(&p);
		proc_partial_metric(&p);
	} else {
		proc_state_metric(&p);
		process_device_bytes(&p);
		proc_type_metric(&p);
		proc_peak_metric(&p);
		proc_metric(&p, "ttmem_process_live_bytes", "gauge",
			    "Deprecated (every buffer type added up): device memory in use by a "
			    "process, all chips and types; ttmem_process_bytes has it per type.",
			    offsetof(struct model_proc, live_bytes));
		proc_metric(&p, "ttmem_process_peak_bytes", "gauge",
			    "Deprecated: the same as ttmem_process_peak_all_types_bytes.",
			    offsetof(struct model_proc, peak_bytes));
		proc_owner_metric(&p, "ttmem_process_released_bulk_bytes_total", "counter",
				  "Bytes the runtime freed in bulk at close without reporting, per "
				  "owner, every buffer type added up.",
				  offsetof(struct model_proc, released));
		proc_owner_metric(&p, "ttmem_process_live_at_exit_bytes", "gauge",
				  "Bytes still live when a process exited, per owner, every buffer "
				  "type added up.",
				  offsetof(struct model_proc, at_exit));
		proc_partial_metric(&p);
		proc_metric(&p, "ttmem_process_allocations_total", "counter",
			    "Allocations recorded for a process.",
			    offsetof(struct model_proc, allocs));
		proc_metric(&p, "ttmem_process_frees_total", "counter",
			    "Matched frees recorded for a process.",
			    offsetof(struct model_proc, frees));
	}

	seg_figures(&p);
}

void format_prom_absent(FILE *f, const char *shm)
{
	family(f, "ttmem_segment_present", "gauge",
	       "Whether the segment exists (0: nothing tracked yet, no other series).");
	fputs("ttmem_segment_present{segment=", f);
	label_value(f, shm, strlen(shm));
	fputs("} 0\n", f);
}

void format_prom(FILE *f, const struct model *m, const char *shm)
{
	format_prom_ex(f, m, shm, PROM_PROCS_ALL, PROM_SERIES_FULL);
}
