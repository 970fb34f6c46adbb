/* SPDX-License-Identifier: MIT */
/*
 * `ttmem show --prometheus`: the model in the Prometheus text exposition
 * format (version 0.0.4), for node-exporter's textfile collector:
 *
 *     ttmem show --prometheus > /var/lib/node_exporter/ttmem.prom.$$ &&
 *         mv /var/lib/node_exporter/ttmem.prom.$$ /var/lib/node_exporter/ttmem.prom
 *
 * Every family has HELP and TYPE before its samples, each family once.
 * Gauges for what is held now, counters (suffix _total) for what only grows
 * (until `ttmem clear`, which Prometheus sees as a counter reset).  No
 * timestamps: the textfile collector refuses them.
 */
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "sanitize.h"
#include "viewer.h"

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: valid UTF-8 (invalid bytes and control characters as
 * U+FFFD, sanitize.h), backslash, double quote and newline escaped. */
static void label_value(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0, k; i < n && s[i]; i += k) {
		uint32_t cp;

		k = san_decode(s + i, n - i, &cp);
		if (cp == '\\' || cp == '"')
			fprintf(f, "\\%c", (char)cp);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (san_is_unsafe(cp))
			fputs("\xef\xbf\xbd", f);
		else
			fwrite(s + i, 1, k, f);
	}
	fputc('"', f);
}

static void proc_labels(FILE *f, const struct model_proc *p)
{
	fprintf(f, "pid=\"%" PRIu32 "\",name=", p->pid);
	label_value(f, p->name, sizeof(p->name));
	fprintf(f, ",state=\"%s\"", liveness_name(p->state));
}

/* One sample per process of the uint64_t field at `off` in model_proc. */
static void proc_metric(FILE *f, const struct model *m, const char *name, const char *type,
			const char *help, size_t off)
{
	family(f, name, type, help);
	for (size_t i = 0; i < m->nproc; i++) {
		uint64_t v;

		memcpy(&v, (const char *)&m->proc[i] + off, sizeof(v));
		fprintf(f, "%s{", name);
		proc_labels(f, &m->proc[i]);
		fprintf(f, "} %" PRIu64 "\n", v);
	}
}

/* One sample per process and owner kind of the [owner][type] byte array at
 * `off` in model_proc, summed over types. */
static void proc_owner_metric(FILE *f, const struct model *m, const char *name, const char *type,
			      const char *help, size_t off)
{
	family(f, name, type, help);
	for (size_t i = 0; i < m->nproc; i++) {
		const uint64_t (*by_owner)[MODEL_TYPES] =
			(const uint64_t (*)[MODEL_TYPES])(const void *)((const char *)&m->proc[i] + off);

		for (unsigned o = 0; o < TTMEM_OWNER_COUNT; o++) {
			fprintf(f, "%s{", name);
			proc_labels(f, &m->proc[i]);
			fprintf(f, ",owner=\"%s\"} %" PRIu64 "\n", owner_name(o),
				model_sum(by_owner[o]));
		}
	}
}

static void seg_counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	family(f, name, "counter", help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

/* One sample per chip and buffer type of the uint64_t[MODEL_TYPES] array at
 * `off` in model_dev; zeros are left out when `skip_zero` (unknown values). */
static void dev_type_metric(FILE *f, const struct model *m, const char *name, const char *help,
			    size_t off, int skip_zero)
{
	char devbuf[16];

	family(f, name, "gauge", help);
	for (size_t i = 0; i < m->ndev; i++) {
		const uint64_t *v = (const uint64_t *)(const void *)((const char *)&m->dev[i] + off);

		for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
			if (v[ty] || !skip_zero)
				fprintf(f, "%s{device=\"%s\",type=\"%s\"} %" PRIu64 "\n", name,
					device_name(devbuf, sizeof(devbuf), m->dev[i].device),
					type_name(ty), v[ty]);
	}
}

/* The device label: the chip id, or "unknown" (viewer.h, device_name).
 * One use per fprintf: the buffer is shared. */
#define DEV(d) device_name(devbuf, sizeof(devbuf), (d))

void format_prom(FILE *f, const struct model *m, const char *shm)
{
	char devbuf[16];
	const struct model_seg *g = &m->seg;

	family(f, "ttmem_info", "gauge", "ttmem version and segment (value is always 1).");
	fprintf(f, "ttmem_info{version=\"%s\",segment=", TTMEM_VERSION);
	label_value(f, shm, 4096);
	fprintf(f, ",abi=\"%u.%u\"} 1\n", g->abi_major, g->abi_minor);

	family(f, "ttmem_device_in_use_bytes", "gauge",
	       "Device memory held by running processes, per chip, buffer type and owner.");
	for (size_t i = 0; i < m->ndev; i++)
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
			const struct model_dev *d = &m->dev[i];

			fprintf(f, "ttmem_device_in_use_bytes{device=\"%s"
				   "\",type=\"%s\",owner=\"system\"} %" PRIu64 "\n",
				DEV(d->device), type_name(ty), d->system[ty]);
			fprintf(f, "ttmem_device_in_use_bytes{device=\"%s"
				   "\",type=\"%s\",owner=\"application\"} %" PRIu64 "\n",
				DEV(d->device), type_name(ty), d->application[ty]);
		}
	dev_type_metric(f, m, "ttmem_device_capacity_bytes",
			"What a chip can hold per buffer type (only where known).",
			offsetof(struct model_dev, capacity), 1);
	dev_type_metric(f, m, "ttmem_device_orphaned_bytes",
			"Entries left by dead processes (not in use; ttmem reap reclaims them).",
			offsetof(struct model_dev, orphaned), 0);
	dev_type_metric(f, m, "ttmem_device_exited_bytes",
			"Entries still live when their process exited (leak records, not in use).",
			offsetof(struct model_dev, exited), 0);
	if (m->baseline_ns)
		dev_type_metric(f, m, "ttmem_device_baseline_bytes",
				"In-use bytes recorded by ttmem baseline.",
				offsetof(struct model_dev, baseline), 0);

	family(f, "ttmem_process_device_bytes", "gauge",
	       "Bytes of a process's entries per chip (in use while it runs).");
	for (size_t i = 0; i < m->ncell; i++) {
		const struct model_cell *c = &m->cell[i];

		fputs("ttmem_process_device_bytes{", f);
		proc_labels(f, &m->proc[c->proc_ix]);
		fprintf(f, ",device=\"%s\"} %" PRIu64 "\n", DEV(m->dev[c->dev_ix].device),
			c->total);
	}
	proc_metric(f, m, "ttmem_process_live_bytes", "gauge",
		    "Device memory in use by a process, all chips.",
		    offsetof(struct model_proc, live_bytes));
	proc_metric(f, m, "ttmem_process_peak_bytes", "gauge",
		    "Highest device memory a process held at once, all chips.",
		    offsetof(struct model_proc, peak_bytes));
	proc_owner_metric(f, m, "ttmem_process_released_bulk_bytes_total", "counter",
			  "Bytes the runtime freed in bulk at close without reporting, per owner.",
			  offsetof(struct model_proc, released));
	proc_owner_metric(f, m, "ttmem_process_live_at_exit_bytes", "gauge",
			  "Bytes still live when a process exited, per owner.",
			  offsetof(struct model_proc, at_exit));
	proc_metric(f, m, "ttmem_process_allocations_total", "counter",
		    "Allocations recorded for a process.", offsetof(struct model_proc, allocs));
	proc_metric(f, m, "ttmem_process_frees_total", "counter",
		    "Matched frees recorded for a process.", offsetof(struct model_proc, frees));

	family(f, "ttmem_segment_slots", "gauge", "Slots in the allocation table.");
	fprintf(f, "ttmem_segment_slots %" PRIu64 "\n", g->capacity);
	family(f, "ttmem_segment_entries", "gauge", "Live entries in the allocation table.");
	fprintf(f, "ttmem_segment_entries %" PRIu64 "\n", g->entries);
	family(f, "ttmem_segment_processes", "gauge", "Registered processes.");
	fprintf(f, "ttmem_segment_processes %" PRIu64 "\n", g->procs_registered);
	seg_counter(f, "ttmem_events_total", "Allocations and frees recorded.", g->events);
	seg_counter(f, "ttmem_drops_total", "Allocations not recorded: table full.", g->drops);
	seg_counter(f, "ttmem_unmatched_frees_total", "Frees of allocations not in the table.",
		    g->unmatched);
	seg_counter(f, "ttmem_reclaimed_total", "Entries of dead processes reclaimed.",
		    g->reclaimed);
	seg_counter(f, "ttmem_replaced_total", "Live entries replaced by a new allocation.",
		    g->replaced);
	seg_counter(f, "ttmem_process_drops_total", "Processes not registered: registry full.",
		    g->proc_drops);
	seg_counter(f, "ttmem_module_drops_total", "Modules not recorded: module table full.",
		    g->module_drops);
}
