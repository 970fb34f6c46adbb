/* SPDX-License-Identifier: MIT */
/*
 * The human-readable rendering of a model (`ttmem show`): a table per chip
 * and buffer type, the processes, and the segment's health.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sanitize.h"
#include "textfit.h"
#include "viewer.h"


static int type_active(const struct model_dev *d, unsigned ty, int baseline)
{
	return d->in_use[ty] || d->peak[ty] || d->orphaned[ty] || d->exited[ty] ||
	       (baseline && d->baseline[ty]);
}

/* Width of the CHIP column: 5, or 7 when "unknown" has to fit. */
static int chip_width(const struct model *m)
{
	return m->ndev && m->dev[m->ndev - 1].device == TTMEM_DEVICE_UNKNOWN ? 7 : 5;
}

/* A column whose every value is zero says the least: dropped first. */
#define PRIO_ZERO 20

/* Raise the priority of the byte columns [first, ncol) with no non-zero
 * value (nz[i] counts them). */
static void zero_last(struct tf_table *t, const unsigned *nz, size_t first)
{
	for (size_t i = first; i < t->ncol; i++)
		if (!nz[i] && t->col[i].prio)
			t->col[i].prio = (unsigned char)(t->col[i].prio + PRIO_ZERO);
}

static void print_devices(FILE *f, const struct model *m, unsigned width)
{
	/* Columns in the order printed; priority: what goes first when the
	 * width is short (IN USE and the chip never go). */
	enum { C_CHIP, C_TYPE, C_USE, C_PEAK, C_SYS, C_APP, C_CAP, C_PCT, C_BASE, C_DELTA,
	       C_ORPH, C_EXIT, C_N };
	struct tf_col cols[C_N] = {
		{ "CHIP", 0, 0, 0, 0, 5 }, { "TYPE", 0, 0, 0, 0, 13 },
		{ "IN USE", 1, 0, 0, 0, 10 }, { "PEAK", 1, 2, 0, 0, 10 },
		{ "SYSTEM", 1, 5, 0, 0, 10 },
		{ "APPLICATION", 1, 6, 0, 0, 11 }, { "CAPACITY", 1, 3, 0, 0, 10 },
		{ "USE%", 1, 1, 0, 0, 6 }, { "BASELINE", 1, 4, 0, 0, 10 },
		{ "DELTA", 1, 2, 0, 0, 11 }, { "ORPHANED", 1, 7, 0, 0, 10 },
		{ "AT-EXIT", 1, 8, 0, 0, 10 },
	};
	int bl = m->baseline_ns != 0;
	char b[C_N][32];
	unsigned nz[C_N] = { 0 }, znz[C_N];
	size_t id[C_N], n = 0;
	struct tf_col use[C_N];
	struct tf_table t;

	cols[C_CHIP].width = (unsigned char)chip_width(m);
	/* Peaks since the last clear: none in a segment whose writers keep
	 * none (before ABI 5.3) or that was just cleared. */
	int pk = 0;
	for (size_t i = 0; i < m->ndev && !pk; i++)
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
			pk |= m->dev[i].peak[ty] != 0;
	/* Without a baseline there are no such columns, whatever the width;
	 * without a peak no PEAK column. */
	for (size_t k = 0; k < C_N; k++)
		if ((bl || (k != C_BASE && k != C_DELTA)) && (pk || k != C_PEAK)) {
			use[n] = cols[k];
			id[n++] = k;
		}
	tf_init(&t, use, n);
	for (size_t i = 0; i < m->ndev; i++) {
		const struct model_dev *d = &m->dev[i];
		int first = 1;

		for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
			const char *cell[C_N], *row[C_N];
			const uint64_t v[C_N] = {
				[C_USE] = d->in_use[ty], [C_PEAK] = d->peak[ty],
				[C_SYS] = d->system[ty],
				[C_APP] = d->application[ty], [C_CAP] = d->capacity[ty],
				[C_BASE] = bl ? d->baseline[ty] : 0,
				[C_DELTA] = bl ? d->in_use[ty] != d->baseline[ty] : 0,
				[C_ORPH] = d->orphaned[ty], [C_EXIT] = d->exited[ty],
			};

			/* DRAM always, so that every chip has a row. */
			if (ty != TTMEM_TYPE_DRAM && !type_active(d, ty, bl))
				continue;
			cell[C_CHIP] = first ? device_name(b[C_CHIP], sizeof(b[C_CHIP]), d->device) : "";
			cell[C_TYPE] = type_name(ty);
			for (int k = C_USE; k < C_N; k++) {
				nz[k] += v[k] != 0;
				cell[k] = fmt_bytes(b[k], sizeof(b[k]), v[k]);
			}
			if (!d->capacity[ty]) {
				cell[C_CAP] = "?";
				cell[C_PCT] = "-";
			} else {
				snprintf(b[C_PCT], sizeof(b[C_PCT]), "%.1f%%",
					 100.0 * (double)d->in_use[ty] / (double)d->capacity[ty]);
				cell[C_PCT] = b[C_PCT];
				nz[C_PCT]++;
			}
			if (bl)
				cell[C_DELTA] = fmt_delta(b[C_DELTA], sizeof(b[C_DELTA]),
							  (int64_t)(d->in_use[ty] - d->baseline[ty]));
			for (size_t k = 0; k < n; k++)
				row[k] = cell[id[k]];
			tf_row(&t, row, NULL);
			first = 0;
		}
	}
	for (size_t k = 0; k < n; k++)
		znz[k] = nz[id[k]];
	zero_last(&t, znz, 3);
	tf_print(f, &t, width);
	tf_release(&t);
	if (!m->ndev)
		tf_wrap(f, width, 1, "(no chip: nothing tracked holds device memory, and no chip was "
			"published)");
}
/*
 * The real runtime locks a chip to one process; the emulator (and a broken
 * setup) lets two open it, and then their allocations share addresses and
 * take each other's entries over.  Said per chip, rather than left to show
 * as unmatched frees.
 */
static void print_shared_chips(FILE *f, const struct model *m, unsigned width)
{
	for (size_t d = 0; d < m->ndev; d++) {
		unsigned n = 0;
		char buf[24], line[512];
		size_t len;

		if (m->dev[d].device == TTMEM_DEVICE_UNKNOWN)
			continue;
		for (size_t c = 0; c < m->ncell; c++)
			n += m->cell[c].dev_ix == d && m->cell[c].entries &&
			     m->proc[m->cell[c].proc_ix].state == TTMEM_LIVENESS_RUNNING ? 1u : 0u;
		if (n < 2)
			continue;
		len = (size_t)snprintf(line, sizeof(line), "warning: %u processes hold chip %s (pids", n,
				       device_name(buf, sizeof(buf), m->dev[d].device));
		for (size_t c = 0; c < m->ncell && len < sizeof(line); c++)
			if (m->cell[c].dev_ix == d && m->cell[c].entries &&
			    m->proc[m->cell[c].proc_ix].state == TTMEM_LIVENESS_RUNNING)
				len += (size_t)snprintf(line + len, sizeof(line) - len, " %" PRIu32,
							m->proc[m->cell[c].proc_ix].pid);
		if (len < sizeof(line))
			snprintf(line + len, sizeof(line) - len, "): tt-metal opens a chip in one "
				 "process only; their buffers may share addresses and take over "
				 "each other's entries");
		tf_wrap(f, width, 2, line);
	}
}

/* The per-type byte columns, in type order: SYSTEM_MEMORY is the widest. */
static void type_cols(struct tf_col *c, unsigned char prio)
{
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
		c[ty] = (struct tf_col){ type_name(ty), 1, prio, 0, 0,
					 ty == TTMEM_TYPE_SYSTEM_MEMORY ? 13 : 10 };
}

/* A process name safe for a terminal, whole (as wide as the registry
 * allows; a table elides it to fit). */
static const char *safe_name(char *buf, size_t len, const struct model_proc *p)
{
	size_t n;

	san_cell(buf, len, p->name, sizeof(p->name), (int)(sizeof(p->name) - 1), 0, 0);
	n = strlen(buf);
	while (n && buf[n - 1] == ' ')
		buf[--n] = 0;
	return buf;
}

static void print_process_list(FILE *f, const struct model *m, unsigned width)
{
	enum { C_PID, C_NAME, C_STATE, C_TYPE0, C_LIVE = C_TYPE0 + MODEL_TYPES, C_PEAK, C_REL,
	       C_EXIT, C_LEFT, C_N };
	struct tf_col cols[C_N] = {
		[C_PID] = { "PID", 0, 0, 0, 0, 8 }, [C_NAME] = { "NAME", 0, 0, 1, 4, 16 },
		[C_STATE] = { "STATE", 0, 4, 0, 0, 8 },
		[C_LIVE] = { "LIVE(ALL)", 1, 2, 0, 0, 10 },
		[C_PEAK] = { "PEAK(ALL)", 1, 3, 0, 0, 10 },
		[C_REL] = { "RELEASED(ALL)", 1, 7, 0, 0, 10 },
		[C_EXIT] = { "AT-EXIT(ALL)", 1, 6, 0, 0, 10 },
		[C_LEFT] = { "LEFT(ALL)", 1, 5, 0, 0, 10 },
	};
	char b[C_N][32], name[160];
	unsigned nz[C_N] = { 0 };
	struct tf_table t;

	type_cols(&cols[C_TYPE0], 1);
	tf_init(&t, cols, C_N);
	for (size_t i = 0; i < m->nproc; i++) {
		const struct model_proc *p = &m->proc[i];
		const char *cell[C_N];
		/* Entries a process that is not running left in the table. */
		uint64_t v[C_N] = {
			[C_LIVE] = p->live_bytes, [C_PEAK] = p->peak_bytes,
			[C_REL] = p->released_total, [C_EXIT] = p->at_exit_total,
			[C_LEFT] = p->state == TTMEM_LIVENESS_RUNNING ? 0 : p->table_bytes,
		};

		for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
			v[C_TYPE0 + ty] = p->live_type[ty];
		snprintf(b[C_PID], sizeof(b[C_PID]), "%" PRIu32, p->pid);
		cell[C_PID] = b[C_PID];
		cell[C_NAME] = safe_name(name, sizeof(name), p);
		cell[C_STATE] = liveness_name(p->state);
		for (int k = C_TYPE0; k < C_N; k++) {
			nz[k] += v[k] != 0;
			cell[k] = fmt_bytes(b[k], sizeof(b[k]), v[k]);
		}
		tf_row(&t, cell, NULL);
	}
	zero_last(&t, nz, C_TYPE0);
	tf_print(f, &t, width);
	tf_release(&t);
}

static void print_process_chips(FILE *f, const struct model *m, unsigned width)
{
	enum { C_PID, C_CHIP, C_TYPE0, C_ALL = C_TYPE0 + MODEL_TYPES, C_N };
	struct tf_col cols[C_N] = {
		[C_PID] = { "PID", 0, 0, 0, 0, 8 }, [C_CHIP] = { "CHIP", 0, 0, 0, 0, 5 },
		[C_ALL] = { "TOTAL(ALL)", 1, 1, 0, 0, 10 },
	};
	char b[C_N][32];
	unsigned nz[C_N] = { 0 };
	struct tf_table t;

	cols[C_CHIP].width = (unsigned char)chip_width(m);
	type_cols(&cols[C_TYPE0], 2);
	tf_init(&t, cols, C_N);
	for (size_t i = 0; i < m->ncell; i++) {
		const struct model_cell *c = &m->cell[i];
		const struct model_proc *p = &m->proc[c->proc_ix];
		const char *cell[C_N];

		snprintf(b[C_PID], sizeof(b[C_PID]), "%" PRIu32, p->pid);
		cell[C_PID] = b[C_PID];
		cell[C_CHIP] = device_name(b[C_CHIP], sizeof(b[C_CHIP]), m->dev[c->dev_ix].device);
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
			nz[C_TYPE0 + ty] += c->bytes[ty] != 0;
			cell[C_TYPE0 + ty] = fmt_bytes(b[C_TYPE0 + ty], sizeof(b[0]), c->bytes[ty]);
		}
		cell[C_ALL] = fmt_bytes(b[C_ALL], sizeof(b[C_ALL]), c->total);
		tf_row(&t, cell, p->state == TTMEM_LIVENESS_RUNNING ? NULL :
				 p->state == TTMEM_LIVENESS_EXITED ? "(left at exit)" : "(orphaned)");
	}
	zero_last(&t, nz, C_TYPE0);
	tf_print(f, &t, width);
	tf_release(&t);
}

static void print_processes(FILE *f, const struct model *m, unsigned width)
{
	fputc('\n', f);
	tf_wrap(f, width, 1, "Processes: live bytes per buffer type, all chips; (ALL): every "
		"buffer type added up (the registry's counters are kept so):");
	print_process_list(f, m, width);
	if (!m->nproc) {
		fprintf(f, "(no process)\n");
		return;
	}
	/* Never shown as if exact: a process tracked only in part may hold
	 * more than the table says. */
	for (size_t i = 0; i < m->nproc; i++) {
		const struct model_proc *p = &m->proc[i];
		char why[96], line[256];

		if (!p->partial)
			continue;
		snprintf(line, sizeof(line), "PARTIAL: pid %" PRIu32 " was tracked only in part "
			 "(%s): its usage may be below the truth", p->pid,
			 partial_why(why, sizeof(why), p->flags));
		tf_wrap(f, width, 2, line);
	}
	if (!m->ncell)
		return; /* nobody holds or left anything on any chip */

	/* Per process and chip, like nvidia-smi's process list. */
	fputc('\n', f);
	print_process_chips(f, m, width);
}

static void print_released(FILE *f, const struct model *m, unsigned width)
{
	enum { C_PID, C_NAME, C_WHAT, C_OWNER, C_TYPE0, C_N = C_TYPE0 + MODEL_TYPES };
	struct tf_col cols[C_N] = {
		[C_PID] = { "PID", 0, 0, 0, 0, 8 }, [C_NAME] = { "NAME", 0, 0, 1, 4, 16 },
		[C_WHAT] = { "WHAT", 0, 0, 0, 0, 8 }, [C_OWNER] = { "OWNER", 0, 0, 1, 6, 22 },
	};
	char b[C_N][32], name[160];
	unsigned nz[C_N] = { 0 };
	struct tf_table t;

	fputc('\n', f);
	tf_wrap(f, width, 1, "Freed by the runtime in bulk without a report (RELEASED) and still "
		"live at exit (AT-EXIT), per owner and type:");
	type_cols(&cols[C_TYPE0], 1);
	tf_init(&t, cols, C_N);
	for (size_t i = 0; i < m->nproc; i++) {
		const struct model_proc *p = &m->proc[i];

		for (int what = 0; what < 2; what++)
			for (unsigned o = 0; o < TTMEM_OWNER_COUNT; o++) {
				const uint64_t *v = what ? p->at_exit[o] : p->released[o];
				const char *cell[C_N];

				if (!model_sum(v))
					continue;
				snprintf(b[C_PID], sizeof(b[C_PID]), "%" PRIu32, p->pid);
				cell[C_PID] = b[C_PID];
				cell[C_NAME] = safe_name(name, sizeof(name), p);
				cell[C_WHAT] = what ? "AT-EXIT" : "RELEASED";
				cell[C_OWNER] = owner_name(o);
				for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
					nz[C_TYPE0 + ty] += v[ty] != 0;
					cell[C_TYPE0 + ty] = fmt_bytes(b[C_TYPE0 + ty], sizeof(b[0]),
								       v[ty]);
				}
				tf_row(&t, cell, NULL);
			}
	}
	zero_last(&t, nz, C_TYPE0);
	tf_print(f, &t, width);
	tf_release(&t);
}

static void print_segment(FILE *f, const struct model *m, const char *shm, unsigned width)
{
	const struct model_seg *g = &m->seg;
	double fill = g->capacity ? 100.0 * (double)g->entries / (double)g->capacity : 0.0;
	uint64_t orphaned = 0, exited = 0;
	char b_a[32], line[4400];

	for (size_t i = 0; i < m->ndev; i++) {
		orphaned += model_sum(m->dev[i].orphaned);
		exited += model_sum(m->dev[i].exited);
	}
	fputc('\n', f);
	snprintf(line, sizeof(line), "Segment %s (ABI %u.%u): %" PRIu64 " of %" PRIu64
		 " slots used (%.2f%%), %" PRIu64 " process%s registered", shm, g->abi_major,
		 g->abi_minor, g->entries, g->capacity, fill, g->procs_registered,
		 g->procs_registered == 1 ? "" : "es");
	tf_wrap(f, width, 2, line);
	snprintf(line, sizeof(line), "  events %" PRIu64 ", drops %" PRIu64 ", unmatched frees %"
		 PRIu64 ", reclaimed %" PRIu64 ", replaced %" PRIu64 ", unstable %" PRIu64,
		 g->events, g->drops, g->unmatched, g->reclaimed, g->replaced, g->unstable);
	tf_wrap(f, width, 4, line);
	if (g->stuck) {
		snprintf(line, sizeof(line), "  %" PRIu64 " slot%s left half-written by a killed "
			 "writer (skipped): 'ttmem reap' frees them", g->stuck,
			 g->stuck == 1 ? "" : "s");
		tf_wrap(f, width, 4, line);
	}
	if (g->drops || g->proc_drops || g->module_drops) {
		snprintf(line, sizeof(line), "  WARNING: table full: %" PRIu64 " allocations, %"
			 PRIu64 " processes, %" PRIu64 " modules not tracked",
			 g->drops, g->proc_drops, g->module_drops);
		tf_wrap(f, width, 4, line);
	}
	if (orphaned) {
		snprintf(line, sizeof(line), "  %s of orphaned entries (dead processes; not counted "
			 "as in use): 'ttmem reap' reclaims them",
			 fmt_bytes(b_a, sizeof(b_a), orphaned));
		tf_wrap(f, width, 4, line);
	}
	if (exited) {
		snprintf(line, sizeof(line), "  %s left by exited processes (live at exit; not in "
			 "use): 'ttmem leaks' lists them", fmt_bytes(b_a, sizeof(b_a), exited));
		tf_wrap(f, width, 4, line);
	}
	if (g->invalid) {
		snprintf(line, sizeof(line), "  %" PRIu64 " entries with an unknown buffer type "
			 "ignored", g->invalid);
		tf_wrap(f, width, 4, line);
	}
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
static void print_peaks_raw(FILE *f, const struct model *m, struct symbolizer *sy)
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

/* The peaks with their stacks, each line fitted to `width` (a frame is
 * elided in the middle: its function and its file:line stay). */
static void print_peaks(FILE *f, const struct model *m, struct symbolizer *sy, unsigned width)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = width ? open_memstream(&text, &len) : NULL;

	if (!mem) {
		print_peaks_raw(f, m, sy);
		return;
	}
	print_peaks_raw(mem, m, sy);
	if (fclose(mem) == 0) {
		for (char *p = text, *nl; p < text + len; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(text + len - p));
			if (!nl)
				nl = text + len;
			*nl = 0;
			tf_line(f, width, p);
		}
	}
	free(text);
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
		char when[64] = "?", line[160];

		if (localtime_r(&sec, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		snprintf(line, sizeof(line), "Baseline recorded %s: DELTA is usage against it "
			 "('ttmem baseline --reset' drops it)", when);
		tf_wrap(f, o->width, 2, line);
	}
	print_devices(f, m, o->width);
	if (o->peaks)
		print_peaks(f, m, sy, o->width);
	print_shared_chips(f, m, o->width);
	if (o->processes)
		print_processes(f, m, o->width);
	if (o->released)
		print_released(f, m, o->width);
	if (o->segment)
		print_segment(f, m, shm, o->width);
}
