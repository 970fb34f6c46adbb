/* SPDX-License-Identifier: MIT */
/*
 * The human-readable rendering of a model (`ttmem show`): a table per chip
 * and buffer type, the processes, and the segment's health.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "sanitize.h"
#include "viewer.h"


static int type_active(const struct model_dev *d, unsigned ty, int baseline)
{
	return d->in_use[ty] || d->orphaned[ty] || d->exited[ty] ||
	       (baseline && d->baseline[ty]);
}

/* Width of the CHIP column: 5, or 7 when "unknown" has to fit. */
static int chip_width(const struct model *m)
{
	return m->ndev && m->dev[m->ndev - 1].device == TTMEM_DEVICE_UNKNOWN ? 7 : 5;
}

static void print_devices(FILE *f, const struct model *m)
{
	int bl = m->baseline_ns != 0, cw = chip_width(m);
	char b_a[32], b_b[32], b_c[32], b_d[32], b_e[32], b_f[32], pct[16];

	fprintf(f, "%-*s %-13s %10s %10s %11s %10s %6s", cw, "CHIP", "TYPE", "IN USE", "SYSTEM",
		"APPLICATION", "CAPACITY", "USE%");
	if (bl)
		fprintf(f, " %10s %11s", "BASELINE", "DELTA");
	fprintf(f, " %10s %10s\n", "ORPHANED", "AT-EXIT");
	for (size_t i = 0; i < m->ndev; i++) {
		const struct model_dev *d = &m->dev[i];
		int first = 1;
		char buf[24];
		const char *chip = device_name(buf, sizeof(buf), d->device);
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
			/* DRAM always, so that every chip has a row. */
			if (ty != TTMEM_TYPE_DRAM && !type_active(d, ty, bl))
				continue;
			if (d->capacity[ty])
				snprintf(pct, sizeof(pct), "%.1f%%",
					 100.0 * (double)d->in_use[ty] / (double)d->capacity[ty]);
			else
				snprintf(pct, sizeof(pct), "-");
			fprintf(f, "%-*s %-13s %10s %10s %11s %10s %6s", cw, first ? chip : "",
				type_name(ty), fmt_bytes(b_a, sizeof(b_a), d->in_use[ty]),
				fmt_bytes(b_b, sizeof(b_b), d->system[ty]),
				fmt_bytes(b_c, sizeof(b_c), d->application[ty]),
				d->capacity[ty] ? fmt_bytes(b_d, sizeof(b_d), d->capacity[ty]) : "?",
				pct);
			if (bl)
				fprintf(f, " %10s %11s", fmt_bytes(b_e, sizeof(b_e), d->baseline[ty]),
					fmt_delta(b_f, sizeof(b_f),
						  (int64_t)(d->in_use[ty] - d->baseline[ty])));
			fprintf(f, " %10s %10s\n", fmt_bytes(b_e, sizeof(b_e), d->orphaned[ty]),
				fmt_bytes(b_f, sizeof(b_f), d->exited[ty]));
			first = 0;
		}
	}
	if (!m->ndev)
		fprintf(f, "(no chip: nothing tracked holds device memory, and no chip was published)\n");
}

/*
 * The real runtime locks a chip to one process; the emulator (and a broken
 * setup) lets two open it, and then their allocations share addresses and
 * take each other's entries over.  Said per chip, rather than left to show
 * as unmatched frees.
 */
static void print_shared_chips(FILE *f, const struct model *m)
{
	for (size_t d = 0; d < m->ndev; d++) {
		unsigned n = 0;
		char buf[24];

		if (m->dev[d].device == TTMEM_DEVICE_UNKNOWN)
			continue;
		for (size_t c = 0; c < m->ncell; c++)
			n += m->cell[c].dev_ix == d && m->cell[c].entries &&
			     m->proc[m->cell[c].proc_ix].state == TTMEM_LIVENESS_RUNNING ? 1u : 0u;
		if (n < 2)
			continue;
		fprintf(f, "warning: %u processes hold chip %s (pids", n,
			device_name(buf, sizeof(buf), m->dev[d].device));
		for (size_t c = 0; c < m->ncell; c++)
			if (m->cell[c].dev_ix == d && m->cell[c].entries &&
			    m->proc[m->cell[c].proc_ix].state == TTMEM_LIVENESS_RUNNING)
				fprintf(f, " %" PRIu32, m->proc[m->cell[c].proc_ix].pid);
		fputs("): tt-metal opens a chip in one process only; their buffers may share "
		      "addresses and take over each other's entries\n", f);
	}
}

static void print_processes(FILE *f, const struct model *m)
{
	char b_a[32], b_b[32], b_c[32], b_d[32], b_e[32], name[80];

	fprintf(f, "\n%-8s %-16s %-8s %10s %10s %10s %10s %10s\n", "PID", "NAME", "STATE",
		"LIVE", "PEAK", "RELEASED", "AT-EXIT", "LEFT");
	for (size_t i = 0; i < m->nproc; i++) {
		const struct model_proc *p = &m->proc[i];
		/* Entries a process that is not running left in the table. */
		uint64_t left = p->state == TTMEM_LIVENESS_RUNNING ? 0 : p->table_bytes;

		fprintf(f, "%-8" PRIu32 " %s %-8s %10s %10s %10s %10s %10s\n", p->pid,
			san_cell(name, sizeof(name), p->name, sizeof(p->name), 16, 0, 0),
			liveness_name(p->state), fmt_bytes(b_a, sizeof(b_a), p->live_bytes),
			fmt_bytes(b_b, sizeof(b_b), p->peak_bytes),
			fmt_bytes(b_c, sizeof(b_c), p->released_total),
			fmt_bytes(b_d, sizeof(b_d), p->at_exit_total),
			fmt_bytes(b_e, sizeof(b_e), left));
	}
	if (!m->nproc) {
		fprintf(f, "(no process)\n");
		return;
	}
	/* Never shown as if exact: a process tracked only in part may hold
	 * more than the table says. */
	for (size_t i = 0; i < m->nproc; i++) {
		const struct model_proc *p = &m->proc[i];
		char why[96];

		if (p->partial)
			fprintf(f, "PARTIAL: pid %" PRIu32 " was tracked only in part (%s): its "
				   "usage may be below the truth\n", p->pid,
				partial_why(why, sizeof(why), p->flags));
	}
	if (!m->ncell)
		return; /* nobody holds or left anything on any chip */

	/* Per process and chip, like nvidia-smi's process list. */
	fprintf(f, "\n%-8s %-*s", "PID", chip_width(m), "CHIP");
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
		fprintf(f, " %*s", ty == TTMEM_TYPE_SYSTEM_MEMORY ? 13 : 10, type_name(ty));
	fprintf(f, " %10s\n", "TOTAL");
	for (size_t i = 0; i < m->ncell; i++) {
		const struct model_cell *c = &m->cell[i];
		const struct model_proc *p = &m->proc[c->proc_ix];

		char chip[24];

		fprintf(f, "%-8" PRIu32 " %-*s", p->pid, chip_width(m),
			device_name(chip, sizeof(chip), m->dev[c->dev_ix].device));
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
			fprintf(f, " %*s", ty == TTMEM_TYPE_SYSTEM_MEMORY ? 13 : 10,
				fmt_bytes(b_a, sizeof(b_a), c->bytes[ty]));
		fprintf(f, " %10s%s\n", fmt_bytes(b_b, sizeof(b_b), c->total),
			p->state == TTMEM_LIVENESS_RUNNING ? "" :
			p->state == TTMEM_LIVENESS_EXITED ? "  (left at exit)" :
							    "  (orphaned)");
	}
}

static void print_released(FILE *f, const struct model *m)
{
	char b_a[32], name[80];

	fprintf(f, "\nFreed by the runtime in bulk without a report (RELEASED) and still "
		   "live at exit (AT-EXIT), per owner and type:\n");
	fprintf(f, "%-8s %-16s %-8s %-22s", "PID", "NAME", "WHAT", "OWNER");
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
		fprintf(f, " %*s", ty == TTMEM_TYPE_SYSTEM_MEMORY ? 13 : 10, type_name(ty));
	fputc('\n', f);
	for (size_t i = 0; i < m->nproc; i++) {
		const struct model_proc *p = &m->proc[i];

		for (int what = 0; what < 2; what++)
			for (unsigned o = 0; o < TTMEM_OWNER_COUNT; o++) {
				const uint64_t *v = what ? p->at_exit[o] : p->released[o];

				if (!model_sum(v))
					continue;
				fprintf(f, "%-8" PRIu32 " %s %-8s %-22s", p->pid,
					san_cell(name, sizeof(name), p->name, sizeof(p->name), 16, 0, 0),
					what ? "AT-EXIT" : "RELEASED", owner_name(o));
				for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
					fprintf(f, " %*s", ty == TTMEM_TYPE_SYSTEM_MEMORY ? 13 : 10,
						fmt_bytes(b_a, sizeof(b_a), v[ty]));
				fputc('\n', f);
			}
	}
}

static void print_segment(FILE *f, const struct model *m, const char *shm)
{
	const struct model_seg *g = &m->seg;
	double fill = g->capacity ? 100.0 * (double)g->entries / (double)g->capacity : 0.0;
	uint64_t orphaned = 0, exited = 0;
	char b_a[32], b_b[32];

	for (size_t i = 0; i < m->ndev; i++) {
		orphaned += model_sum(m->dev[i].orphaned);
		exited += model_sum(m->dev[i].exited);
	}
	fprintf(f, "\nSegment %s (ABI %u.%u): %" PRIu64 " of %" PRIu64 " slots used (%.2f%%), "
		   "%" PRIu64 " process%s registered\n",
		shm, g->abi_major, g->abi_minor, g->entries, g->capacity, fill, g->procs_registered,
		g->procs_registered == 1 ? "" : "es");
	fprintf(f, "  events %" PRIu64 ", drops %" PRIu64 ", unmatched frees %" PRIu64
		   ", reclaimed %" PRIu64 ", replaced %" PRIu64 ", unstable %" PRIu64 "\n",
		g->events, g->drops, g->unmatched, g->reclaimed, g->replaced, g->unstable);
	if (g->stuck)
		fprintf(f, "  %" PRIu64 " slot%s left half-written by a killed writer (skipped): "
			   "'ttmem reap' frees them\n", g->stuck, g->stuck == 1 ? "" : "s");
	if (g->drops || g->proc_drops || g->module_drops)
		fprintf(f, "  WARNING: table full: %" PRIu64 " allocations, %" PRIu64
			   " processes, %" PRIu64 " modules not tracked\n",
			g->drops, g->proc_drops, g->module_drops);
	if (orphaned)
		fprintf(f, "  %s of orphaned entries (dead processes; not counted as in use): "
			   "'ttmem reap' reclaims them\n", fmt_bytes(b_a, sizeof(b_a), orphaned));
	if (exited)
		fprintf(f, "  %s left by exited processes (live at exit; not in use): "
			   "'ttmem leaks' lists them\n", fmt_bytes(b_b, sizeof(b_b), exited));
	if (g->invalid)
		fprintf(f, "  %" PRIu64 " entries with an unknown buffer type ignored\n", g->invalid);
}

/* The first peak before (chip i, type ty) whose stack is the same one:
 * 1 and its chip and type, or 0. */
static int stack_shown_before(const struct model *m, size_t i, unsigned ty, size_t *pi,
			      unsigned *pty)
{
	uint32_t id = m->dev[i].peak_stack[ty].id;

	for (size_t k = 0; k <= i; k++)
		for (unsigned t = 0; t < (k == i ? ty : MODEL_TYPES); t++)
			if (m->dev[k].peak[t] && m->dev[k].peak_stack[t].id == id &&
			    m->dev[k].peak_stack[t].depth) {
				*pi = k;
				*pty = t;
				return 1;
			}
	return 0;
}

/*
 * A line per chip and type that has a peak, then the stack of the
 * allocation that reached it; a stack already shown (a mesh allocation
 * reaches the same peak on every chip) is named, not repeated.
 */
static void print_peaks(FILE *f, const struct model *m, struct symbolizer *sy)
{
	int any = 0;

	for (size_t i = 0; i < m->ndev; i++) {
		const struct model_dev *d = &m->dev[i];
		char chip[24], b_a[32], b_b[32];

		for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
			time_t sec = (time_t)(d->peak_ns[ty] / 1000000000u);
			struct tm tm;
			char when[64] = "?";
			size_t si;
			unsigned sty;

			if (!d->peak[ty])
				continue;
			if (!any)
				fputs("\nPeaks (since the segment was created or last cleared):\n", f);
			any = 1;
			if (d->peak_ns[ty] && localtime_r(&sec, &tm))
				strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
			fprintf(f, "chip %s %s peaked at %s", device_name(chip, sizeof(chip), d->device),
				type_name(ty), fmt_bytes(b_a, sizeof(b_a), d->peak[ty]));
			if (d->capacity[ty])
				fprintf(f, " of %s (%.1f%%)", fmt_bytes(b_b, sizeof(b_b), d->capacity[ty]),
					100.0 * (double)d->peak[ty] / (double)d->capacity[ty]);
			fprintf(f, " at %s", when);
			if (!d->peak_stack[ty].id) {
				fputs(", stack not recorded\n", f);
			} else if (d->peak_stack[ty].depth && stack_shown_before(m, i, ty, &si, &sty)) {
				fprintf(f, ", reached by the stack shown for chip %s %s\n",
					device_name(chip, sizeof(chip), m->dev[si].device), type_name(sty));
			} else {
				fputs(", reached by:\n", f);
				peak_stack_text(f, &d->peak_stack[ty], sy);
			}
		}
	}
}

void format_text(FILE *f, const struct model *m, const char *shm, const struct show_opts *o)
{
	format_text_sy(f, m, shm, o, NULL);
}

void format_text_sy(FILE *f, const struct model *m, const char *shm, const struct show_opts *o,
		    struct symbolizer *sy)
{
	if (m->baseline_ns) {
		time_t sec = (time_t)(m->baseline_ns / 1000000000u);
		struct tm tm;
		char when[64] = "?";

		if (localtime_r(&sec, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(f, "Baseline recorded %s: DELTA is usage against it "
			   "('ttmem baseline --reset' drops it)\n", when);
	}
	print_devices(f, m);
	print_peaks(f, m, sy);
	print_shared_chips(f, m);
	if (o->processes)
		print_processes(f, m);
	if (o->released)
		print_released(f, m);
	if (o->segment)
		print_segment(f, m, shm);
}
