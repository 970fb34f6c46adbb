/* SPDX-License-Identifier: MIT */
/*
 * `ttmem show --json`: the model as JSON, schema "ttmem/1" (viewer/SCHEMA.md).
 * Additions are compatible; a change of meaning or a removal bumps the
 * schema to ttmem/2.
 */
#include <inttypes.h>
#include <string.h>

#include "sanitize.h"
#include "viewer.h"

/* Strings from the segment: valid UTF-8, controls escaped (sanitize.h). */
void json_str(FILE *f, const char *s, size_t n)
{
	san_json(f, s, n);
}

/* {"DRAM":b,"L1":b,...} */
static void types_obj(FILE *f, const uint64_t *v)
{
	fputc('{', f);
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
		fprintf(f, "%s\"%s\":%" PRIu64, ty ? "," : "", type_name(ty), v[ty]);
	fputc('}', f);
}

static void types_delta(FILE *f, const uint64_t *a, const uint64_t *b)
{
	fputc('{', f);
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
		fprintf(f, "%s\"%s\":%" PRId64, ty ? "," : "", type_name(ty), (int64_t)(a[ty] - b[ty]));
	fputc('}', f);
}

/* A chip id, or null for TTMEM_DEVICE_UNKNOWN: the schema's "unknown" (SCHEMA.md). */
static void device_val(FILE *f, uint32_t device)
{
	if (device == TTMEM_DEVICE_UNKNOWN)
		fputs("null", f);
	else
		fprintf(f, "%" PRIu32, device);
}

static const char *cap_source_name(uint8_t s)
{
	return s == CAP_SEGMENT ? "segment" : s == CAP_ARCH ? "arch" : "unknown";
}

/* The peak per type: bytes (0 when none since the clear), when (null
 * without a peak) and the stack of the allocation that reached it. */
static void peaks_json(FILE *f, const struct model_dev *d, struct symbolizer *sy)
{
	fputs(",\"peak_bytes\":", f);
	types_obj(f, d->peak);
	fputs(",\"peak_ns\":{", f);
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
		fprintf(f, "%s\"%s\":", ty ? "," : "", type_name(ty));
		if (d->peak[ty])
			fprintf(f, "%" PRIu64, d->peak_ns[ty]);
		else
			fputs("null", f);
	}
	fputs("},\"peak_stack\":{", f);
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
		fprintf(f, "%s\"%s\":", ty ? "," : "", type_name(ty));
		if (d->peak[ty])
			peak_stack_json(f, &d->peak_stack[ty], sy);
		else
			fputs("null", f);
	}
	fputc('}', f);
}

static void device_json(FILE *f, const struct model *m, const struct model_dev *d,
			struct symbolizer *sy)
{
	const char *an = arch_name(d->arch);

	fputs("{\"device\":", f);
	device_val(f, d->device);
	fputs(",\"arch\":", f);
	if (an)
		fprintf(f, "\"%s\"", an);
	else
		fputs("null", f);
	fprintf(f, ",\"arch_id\":%" PRIu32 ",\"published\":%s,\"buffers\":%" PRIu64
		   ",\"in_use_bytes_all_types\":%" PRIu64 ",\"in_use_bytes\":%" PRIu64
		   ",\"in_use\":",
		d->arch, d->published ? "true" : "false", d->entries, model_sum(d->in_use),
		model_sum(d->in_use));
	types_obj(f, d->in_use);
	fputs(",\"per_bank\":{", f);
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
		fprintf(f, "%s\"%s\":", ty ? "," : "", type_name(ty));
		if (d->per_bank_unknown[ty])
			fputs("null", f);
		else
			fprintf(f, "%" PRIu64, d->per_bank[ty]);
	}
	fputc('}', f);
	fputs(",\"system\":", f);
	types_obj(f, d->system);
	fputs(",\"application\":", f);
	types_obj(f, d->application);
	fputs(",\"orphaned\":", f);
	types_obj(f, d->orphaned);
	fputs(",\"exited\":", f);
	types_obj(f, d->exited);
	fputs(",\"capacity\":{", f);
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
		fprintf(f, "%s\"%s\":", ty ? "," : "", type_name(ty));
		if (d->capacity[ty])
			fprintf(f, "%" PRIu64, d->capacity[ty]);
		else
			fputs("null", f);
	}
	fputs("},\"capacity_source\":{", f);
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
		fprintf(f, "%s\"%s\":\"%s\"", ty ? "," : "", type_name(ty),
			cap_source_name(d->cap_source[ty]));
	fputs("},\"percent\":{", f);
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
		fprintf(f, "%s\"%s\":", ty ? "," : "", type_name(ty));
		if (d->capacity[ty])
			fprintf(f, "%.4f", 100.0 * (double)d->in_use[ty] / (double)d->capacity[ty]);
		else
			fputs("null", f);
	}
	fputs("},\"baseline\":", f);
	if (m->baseline_ns) {
		types_obj(f, d->baseline);
		fputs(",\"delta\":", f);
		types_delta(f, d->in_use, d->baseline);
	} else {
		fputs("null,\"delta\":null", f);
	}
	peaks_json(f, d, sy);
	fputc('}', f);
}

static void owners_obj(FILE *f, const uint64_t v[TTMEM_OWNER_COUNT][MODEL_TYPES], uint64_t total)
{
	uint64_t sys[MODEL_TYPES], app[MODEL_TYPES];

	for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
		sys[ty] = v[TTMEM_OWNER_CQ][ty] + v[TTMEM_OWNER_SYSMEM][ty];
		app[ty] = v[TTMEM_OWNER_APP][ty];
	}
	fprintf(f, "{\"total_all_types\":%" PRIu64 ",\"total\":%" PRIu64 ",\"system\":", total,
		total);
	types_obj(f, sys);
	fputs(",\"application\":", f);
	types_obj(f, app);
	fputs(",\"by_owner\":{", f);
	for (unsigned o = 0; o < TTMEM_OWNER_COUNT; o++) {
		fprintf(f, "%s\"%s\":", o ? "," : "", owner_name(o));
		types_obj(f, v[o]);
	}
	fputs("}}", f);
}

static void proc_json(FILE *f, const struct model *m, const struct model_proc *p)
{
	fprintf(f, "{\"pid\":%" PRIu32 ",\"name\":", p->pid);
	json_str(f, p->name, sizeof(p->name));
	fputs(",\"cmdline\":", f);
	json_str(f, p->cmdline, sizeof(p->cmdline));
	fprintf(f, ",\"state\":\"%s\",\"registered\":%s,\"ppid\":%" PRIu32 ",\"uid\":%" PRIu32
		   ",\"live_bytes_all_types\":%" PRIu64 ",\"peak_bytes_all_types\":%" PRIu64
		   ",\"table_bytes_all_types\":%" PRIu64
		   ",\"live_bytes\":%" PRIu64 ",\"peak_bytes\":%" PRIu64
		   ",\"table_bytes\":%" PRIu64 ",\"entries\":%" PRIu64
		   ",\"allocs\":%" PRIu64 ",\"frees\":%" PRIu64 ",\"unmatched\":%" PRIu64
		   ",\"drops\":%" PRIu64 ",\"registered_ns\":%" PRIu64 ",\"exited_ns\":%" PRIu64
		   ",\"flags\":[",
		liveness_name(p->state), p->reg >= 0 ? "true" : "false", p->ppid, p->uid,
		p->live_bytes, p->peak_bytes, p->table_bytes,
		p->live_bytes, p->peak_bytes, p->table_bytes, p->entries, p->allocs, p->frees,
		p->unmatched, p->drops, p->registered_ns, p->exited_ns);
	{
		const char *sep = "";

		if (p->flags & TTMEM_PROC_F_PRELOAD_DISABLED) {
			fprintf(f, "%s\"disabled\"", sep);
			sep = ",";
		}
		if (p->flags & TTMEM_PROC_F_ABI_PARTIAL) {
			fprintf(f, "%s\"abi_partial\"", sep);
			sep = ",";
		}
		if (p->flags & TTMEM_PROC_F_NOT_INTERPOSABLE) {
			fprintf(f, "%s\"not_interposable\"", sep);
			sep = ",";
		}
		if (p->flags & TTMEM_PROC_F_LATE) {
			fprintf(f, "%s\"late\"", sep);
			sep = ",";
		}
		if (p->flags & TTMEM_PROC_F_TABLE_FULL) {
			fprintf(f, "%s\"table_full\"", sep);
			sep = ",";
		}
		if (p->flags & TTMEM_PROC_F_HOOK_LOST)
			fprintf(f, "%s\"events_lost\"", sep);
	}
	fprintf(f, "],\"partial\":%s", p->partial ? "true" : "false");
	/* Per type: what the *_all_types figures add up (the registry's peak
	 * exists only as that sum). */
	fputs(",\"live_by_type\":", f);
	types_obj(f, p->live_type);
	fputs(",\"table_by_type\":", f);
	types_obj(f, p->table_type);
	fputs(",\"released_bulk\":", f);
	owners_obj(f, p->released, p->released_total);
	fputs(",\"live_at_exit\":", f);
	owners_obj(f, p->at_exit, p->at_exit_total);
	fputs(",\"devices\":[", f);
	for (size_t i = 0; i < p->cell_count; i++) {
		const struct model_cell *c = &m->cell[p->cell_first + i];

		fprintf(f, "%s{\"device\":", i ? "," : "");
		device_val(f, m->dev[c->dev_ix].device);
		fprintf(f, ",\"bytes_all_types\":%" PRIu64 ",\"bytes\":%" PRIu64
			   ",\"entries\":%" PRIu64 ",\"types\":", c->total, c->total, c->entries);
		types_obj(f, c->bytes);
		fputc('}', f);
	}
	fputs("]}", f);
}

void format_json(FILE *f, const struct model *m, const char *shm)
{
	format_json_sy(f, m, shm, NULL);
}

void format_json_sy(FILE *f, const struct model *m, const char *shm, struct symbolizer *sy)
{
	const struct model_seg *g = &m->seg;

	fputs("{\"schema\":\"ttmem/1\",\"version\":", f);
	json_str(f, TTMEM_VERSION, 64);
	fprintf(f, ",\"taken_ns\":%" PRIu64 ",\"segment\":{\"name\":", g->taken_ns);
	json_str(f, shm, 4096);
	fprintf(f, ",\"abi_major\":%u,\"abi_minor\":%u,\"capacity\":%" PRIu64
		   ",\"entries\":%" PRIu64 ",\"fill\":%.6f,\"total_size\":%" PRIu64
		   ",\"proc_capacity\":%" PRIu32 ",\"module_capacity\":%" PRIu32
		   ",\"processes_registered\":%" PRIu64 ",\"creator_pid\":%" PRIu32
		   ",\"creator_uid\":%" PRIu32 ",\"created_ns\":%" PRIu64 ",\"cleared_ns\":%" PRIu64
		   ",\"clear_epoch\":%" PRIu64 ",\"baseline_ns\":%" PRIu64
		   ",\"events\":%" PRIu64 ",\"drops\":%" PRIu64 ",\"unmatched\":%" PRIu64
		   ",\"reclaimed\":%" PRIu64 ",\"replaced\":%" PRIu64 ",\"stuck_freed\":%" PRIu64
		   ",\"proc_drops\":%" PRIu64 ",\"module_drops\":%" PRIu64
		   ",\"unstable\":%" PRIu64 ",\"stuck\":%" PRIu64 ",\"invalid\":%" PRIu64
		   "},\"devices\":[",
		g->abi_major, g->abi_minor, g->capacity, g->entries,
		g->capacity ? (double)g->entries / (double)g->capacity : 0.0, g->total_size,
		g->proc_capacity, g->module_capacity, g->procs_registered, g->creator_pid,
		g->creator_uid, g->created_ns, g->cleared_ns, g->clear_epoch, m->baseline_ns,
		g->events, g->drops, g->unmatched, g->reclaimed, g->replaced, g->stuck_freed,
		g->proc_drops, g->module_drops, g->unstable, g->stuck, g->invalid);
	for (size_t i = 0; i < m->ndev; i++) {
		if (i)
			fputc(',', f);
		device_json(f, m, &m->dev[i], sy);
	}
	fputs("],\"processes\":[", f);
	for (size_t i = 0; i < m->nproc; i++) {
		if (i)
			fputc(',', f);
		proc_json(f, m, &m->proc[i]);
	}
	fputs("]}\n", f);
}
