/* SPDX-License-Identifier: MIT */
/*
 * `ttmem show --format csv` and `--query FIELD,...`: the model as CSV rows in
 * nvidia-smi's style (--query-gpu / --query-compute-apps, --format=csv with
 * noheader and nounits), for scripts.  Unlike nvidia-smi, fields are
 * separated by a bare comma: RFC 4180, which every CSV reader parses.
 *
 * Rows: one per chip; when any process field is asked for, one per process
 * and chip it holds memory on (a process with none gets one row whose chip
 * fields are "[N/A]"), as nvidia-smi lists compute apps per GPU.  Bytes are
 * exact integers: "14680064 B" with units, header "dram.used [B]"; nounits
 * drops both.  A value that does not exist (capacity unknown, no chip) is
 * "[N/A]", nvidia-smi's spelling.  Strings from the segment go through
 * san_csv (sanitize.h).  The vocabulary is in ttmem.1, QUERY FIELDS.
 */
#include <ctype.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sanitize.h"
#include "viewer.h"

/* What a field reads. */
enum q_what {
	/* chip */
	QF_TIMESTAMP, QF_COUNT, QF_INDEX, QF_ARCH, QF_BUFFERS,
	QF_TYPE,      /* TYPE.KIND: kind in q_kind, type in qfield.type */
	/* process */
	QF_PID, QF_NAME, QF_STATE, QF_PPID, QF_UID, QF_CMDLINE,
	QF_USED,      /* bytes of the process on the row's chip */
	QF_ENTRIES,   /* its entries on the row's chip */
	QF_LIVE, QF_PEAK, QF_RELEASED, QF_AT_EXIT, QF_LEFT,
	QF_PROC_TYPE, /* BASE.TYPE: base (QF_USED ... QF_LEFT) in qfield.kind, type
		       * in qfield.type, MODEL_TYPES for all_types */
};

enum q_kind {
	QK_USED, QK_TOTAL, QK_FREE, QK_PERCENT, QK_SYSTEM, QK_APPLICATION, QK_ORPHANED,
	QK_EXITED, QK_BASELINE, QK_DELTA, QK_COUNT_
};

static const char *const kind_names[QK_COUNT_] = {
	"used", "total", "free", "percent", "system", "application", "orphaned", "exited",
	"baseline", "delta",
};

static const struct {
	const char *name;
	enum q_what what;
} plain_fields[] = {
	{ "timestamp", QF_TIMESTAMP },
	{ "count", QF_COUNT },
	{ "index", QF_INDEX },
	{ "chip", QF_INDEX },
	{ "arch", QF_ARCH },
	{ "buffers", QF_BUFFERS },
	{ "pid", QF_PID },
	{ "process_name", QF_NAME },
	{ "state", QF_STATE },
	{ "ppid", QF_PPID },
	{ "uid", QF_UID },
	{ "cmdline", QF_CMDLINE },
	{ "used_memory", QF_USED },
	{ "used_gpu_memory", QF_USED },
	{ "entries", QF_ENTRIES },
	{ "live_memory", QF_LIVE },
	{ "peak_memory", QF_PEAK },
	{ "released_memory", QF_RELEASED },
	{ "at_exit_memory", QF_AT_EXIT },
	{ "left_memory", QF_LEFT },
};

static int is_proc_field(enum q_what w)
{
	return w >= QF_PID;
}

static int is_bytes(const struct query_field *f)
{
	if (f->what == QF_TYPE)
		return f->kind != QK_PERCENT;
	return f->what == QF_USED || f->what >= QF_LIVE;
}

/* A process byte field split per type: "used_memory.l1", "live_memory.all_types". */
static int parse_proc_type(const char *label, size_t dot, struct query_field *f)
{
	const char *ty = label + dot + 1;

	for (size_t i = 0; i < sizeof(plain_fields) / sizeof(plain_fields[0]); i++) {
		enum q_what w = plain_fields[i].what;

		if (strlen(plain_fields[i].name) != dot || strncmp(plain_fields[i].name, label, dot) ||
		    (w != QF_USED && w < QF_LIVE))
			continue;
		f->what = QF_PROC_TYPE;
		f->kind = w;
		if (!strcmp(ty, "all_types")) {
			f->type = MODEL_TYPES;
			return 0;
		}
		/* The registry keeps one peak for every type together. */
		if (w == QF_PEAK)
			return -1;
		for (unsigned t = 0; t < MODEL_TYPES; t++)
			if (!strcasecmp(type_name(t), ty)) {
				f->type = t;
				return 0;
			}
		return -1;
	}
	return -1;
}

/* "dram", "l1_small", ... or "memory" (= DRAM, as nvidia-smi's memory.*). */
static int type_of(const char *s, size_t n, unsigned *type)
{
	if (n == 6 && !strncasecmp(s, "memory", 6)) {
		*type = TTMEM_TYPE_DRAM;
		return 0;
	}
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
		if (strlen(type_name(ty)) == n && !strncasecmp(type_name(ty), s, n)) {
			*type = ty;
			return 0;
		}
	return -1;
}

static int parse_field(const char *s, size_t n, struct query_field *f)
{
	const char *dot = memchr(s, '.', n);

	memset(f, 0, sizeof(*f));
	if (n >= sizeof(f->label))
		return -1;
	memcpy(f->label, s, n);
	f->label[n] = 0;
	for (size_t i = 0; i < n; i++)
		f->label[i] = (char)tolower((unsigned char)f->label[i]);
	for (size_t i = 0; i < sizeof(plain_fields) / sizeof(plain_fields[0]); i++)
		if (!strcmp(f->label, plain_fields[i].name)) {
			f->what = plain_fields[i].what;
			return 0;
		}
	if (dot && parse_proc_type(f->label, (size_t)(dot - s), f) == 0)
		return 0;
	if (!dot || type_of(s, (size_t)(dot - s), &f->type) < 0)
		return -1;
	for (unsigned k = 0; k < QK_COUNT_; k++)
		if (!strcmp(f->label + (dot - s) + 1, kind_names[k])) {
			f->what = QF_TYPE;
			f->kind = k;
			return 0;
		}
	return -1;
}

int query_parse(struct query *q, const char *list, char *bad, size_t badlen)
{
	const char *p = list;

	memset(q, 0, sizeof(*q));
	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (q->nfields == QUERY_MAX_FIELDS || parse_field(p, n, &q->field[q->nfields]) < 0) {
			snprintf(bad, badlen, "%.*s", (int)(n > 64 ? 64 : n), p);
			if (q->nfields == QUERY_MAX_FIELDS)
				snprintf(bad, badlen, "more than %d fields", QUERY_MAX_FIELDS);
			return -1;
		}
		if (is_proc_field(q->field[q->nfields].what))
			q->per_process = 1;
		q->nfields++;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

int query_default(struct query *q)
{
	char bad[80];

	/* dram.*, not memory.*: a header says which memory it counts. */
	return query_parse(q, "timestamp,index,arch,dram.used,dram.total,dram.percent,"
			      "l1.used,l1_small.used,trace.used,cb.used,system_memory.used,"
			      "dram.orphaned,dram.exited", bad, sizeof(bad));
}

struct row {
	const struct model *m;
	const struct model_dev *d;       /* NULL: no chip */
	const struct model_proc *p;      /* NULL on chip rows */
	const struct model_cell *c;      /* NULL: the process holds nothing there */
};

static void na(FILE *f)
{
	fputs("[N/A]", f);
}

static void bytes(FILE *f, uint64_t v, int units)
{
	fprintf(f, units ? "%" PRIu64 " B" : "%" PRIu64, v);
}

static void type_value(FILE *f, const struct query_field *fl, const struct row *r, int units)
{
	const struct model_dev *d = r->d;
	unsigned ty = fl->type;

	if (!d) {
		na(f);
		return;
	}
	switch (fl->kind) {
	case QK_USED:
		bytes(f, d->in_use[ty], units);
		break;
	case QK_TOTAL:
		if (d->capacity[ty])
			bytes(f, d->capacity[ty], units);
		else
			na(f);
		break;
	case QK_FREE:
		if (d->capacity[ty])
			bytes(f, d->capacity[ty] > d->in_use[ty] ? d->capacity[ty] - d->in_use[ty] : 0,
			      units);
		else
			na(f);
		break;
	case QK_PERCENT:
		if (d->capacity[ty])
			fprintf(f, units ? "%.2f %%" : "%.2f",
				100.0 * (double)d->in_use[ty] / (double)d->capacity[ty]);
		else
			na(f);
		break;
	case QK_SYSTEM:
		bytes(f, d->system[ty], units);
		break;
	case QK_APPLICATION:
		bytes(f, d->application[ty], units);
		break;
	case QK_ORPHANED:
		bytes(f, d->orphaned[ty], units);
		break;
	case QK_EXITED:
		bytes(f, d->exited[ty], units);
		break;
	case QK_BASELINE:
		if (r->m->baseline_ns)
			bytes(f, d->baseline[ty], units);
		else
			na(f);
		break;
	case QK_DELTA:
		if (r->m->baseline_ns)
			fprintf(f, units ? "%" PRId64 " B" : "%" PRId64,
				(int64_t)(d->in_use[ty] - d->baseline[ty]));
		else
			na(f);
		break;
	default:
		na(f);
	}
}

static void timestamp(FILE *f, uint64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;
	char buf[64];

	if (!localtime_r(&sec, &tm) || !strftime(buf, sizeof(buf), "%Y/%m/%d %H:%M:%S", &tm)) {
		na(f);
		return;
	}
	fprintf(f, "%s.%03u", buf, (unsigned)(ns / 1000000u % 1000u));
}

/* v[0..MODEL_TYPES) at `type`, or their sum for MODEL_TYPES. */
static uint64_t pick(const uint64_t *v, unsigned type)
{
	return type < MODEL_TYPES ? v[type] : model_sum(v);
}

static uint64_t proc_type_value(const struct query_field *fl, const struct row *r)
{
	const struct model_proc *p = r->p;
	uint64_t v[MODEL_TYPES] = { 0 };

	switch (fl->kind) {
	case QF_USED:
		return r->c ? pick(r->c->bytes, fl->type) : 0;
	case QF_LIVE:
		return pick(p->live_type, fl->type);
	case QF_PEAK:
		return p->peak_bytes; /* all_types only */
	case QF_RELEASED:
	case QF_AT_EXIT:
		for (unsigned o = 0; o < TTMEM_OWNER_COUNT; o++)
			for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
				v[ty] += fl->kind == QF_RELEASED ? p->released[o][ty] : p->at_exit[o][ty];
		return pick(v, fl->type);
	case QF_LEFT:
		return p->state == TTMEM_LIVENESS_RUNNING ? 0 : pick(p->table_type, fl->type);
	default:
		return 0;
	}
}

static void value(FILE *f, const struct query_field *fl, const struct row *r, int units)
{
	const struct model_proc *p = r->p;
	char buf[24];

	if (fl->what == QF_TYPE) {
		type_value(f, fl, r, units);
		return;
	}
	if (is_proc_field(fl->what) && !p) {
		na(f);
		return;
	}
	switch (fl->what) {
	case QF_TIMESTAMP:
		timestamp(f, r->m->seg.taken_ns);
		break;
	case QF_COUNT:
		fprintf(f, "%zu", r->m->ndev);
		break;
	case QF_INDEX:
		if (r->d)
			fputs(device_name(buf, sizeof(buf), r->d->device), f);
		else
			na(f);
		break;
	case QF_ARCH:
		if (r->d && arch_name(r->d->arch))
			fputs(arch_name(r->d->arch), f);
		else
			na(f);
		break;
	case QF_BUFFERS:
		if (r->d)
			fprintf(f, "%" PRIu64, r->d->entries);
		else
			na(f);
		break;
	case QF_PID:
		fprintf(f, "%" PRIu32, p->pid);
		break;
	case QF_NAME:
		san_csv(f, p->name, sizeof(p->name));
		break;
	case QF_STATE:
		fputs(liveness_name(p->state), f);
		break;
	case QF_PPID:
		fprintf(f, "%" PRIu32, p->ppid);
		break;
	case QF_UID:
		fprintf(f, "%" PRIu32, p->uid);
		break;
	case QF_CMDLINE:
		san_csv(f, p->cmdline, sizeof(p->cmdline));
		break;
	case QF_USED:
		bytes(f, r->c ? r->c->total : 0, units);
		break;
	case QF_ENTRIES:
		fprintf(f, "%" PRIu64, r->c ? r->c->entries : 0);
		break;
	case QF_LIVE:
		bytes(f, p->live_bytes, units);
		break;
	case QF_PEAK:
		bytes(f, p->peak_bytes, units);
		break;
	case QF_RELEASED:
		bytes(f, p->released_total, units);
		break;
	case QF_AT_EXIT:
		bytes(f, p->at_exit_total, units);
		break;
	case QF_LEFT:
		bytes(f, p->state == TTMEM_LIVENESS_RUNNING ? 0 : p->table_bytes, units);
		break;
	case QF_PROC_TYPE:
		bytes(f, proc_type_value(fl, r), units);
		break;
	default:
		na(f);
	}
}

static void emit_row(FILE *f, const struct query *q, const struct row *r, int units)
{
	for (size_t i = 0; i < q->nfields; i++) {
		if (i)
			fputc(',', f);
		value(f, &q->field[i], r, units);
	}
	fputc('\n', f);
}

void format_csv_header(FILE *f, const struct query *q, int units)
{
	for (size_t i = 0; i < q->nfields; i++) {
		const struct query_field *fl = &q->field[i];

		fprintf(f, "%s%s", i ? "," : "", fl->label);
		if (units && is_bytes(fl))
			fputs(" [B]", f);
		else if (units && fl->what == QF_TYPE && fl->kind == QK_PERCENT)
			fputs(" [%]", f);
	}
	fputc('\n', f);
}

void format_csv(FILE *f, const struct model *m, const struct query *q, int units)
{
	struct row r = { .m = m };

	if (!q->per_process) {
		for (size_t i = 0; i < m->ndev; i++) {
			r.d = &m->dev[i];
			emit_row(f, q, &r, units);
		}
		return;
	}
	for (size_t i = 0; i < m->nproc; i++) {
		const struct model_proc *p = &m->proc[i];

		r.p = p;
		r.d = NULL;
		r.c = NULL;
		if (!p->cell_count) {
			if (!q->chip_filtered)
				emit_row(f, q, &r, units);
			continue;
		}
		for (size_t k = 0; k < p->cell_count; k++) {
			r.c = &m->cell[p->cell_first + k];
			r.d = &m->dev[r.c->dev_ix];
			emit_row(f, q, &r, units);
		}
	}
}
