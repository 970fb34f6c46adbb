/* SPDX-License-Identifier: MIT */
/*
 * ttmem-dump: print a segment raw (header, counters, registry, modules and
 * every non-free slot with its ctl word), for debugging.  Read-only.
 *
 *   ttmem-dump [-a] [NAME]     NAME defaults to /ttmem; -a: all slots
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ttmem/table.h"

static const char *slot_state[] = { "FREE", "BUSY", "LIVE", "?" };
static const char *proc_state[] = { "FREE", "CLAIMING", "RUNNING", "EXITED" };
static const char *liveness[] = { "running", "exited", "dead", "unknown" };

int main(int argc, char **argv)
{
	const char *name = TTMEM_DEFAULT_SHM_NAME;
	struct ttmem_open_opts o = { .readonly = 1 };
	struct ttmem_table *t;
	char err[512];
	int all = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-a"))
			all = 1;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: ttmem-dump [-a] [NAME]\n");
			return 0;
		} else
			name = argv[i];
	}
	/* Bounds from the geometry validated at open (the header may change
	 * under us); a file shrinking under the mapping is reported, not a
	 * SIGBUS. */
	ttmem_sigbus_guard(NULL);
	int rc = ttmem_table_open(&t, name, &o, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "ttmem-dump: %s\n", err);
		return 1;
	}
	const struct ttmem_header *h = ttmem_table_header(t);
	const struct ttmem_counters *c = &h->counters;
	uint64_t epoch = atomic_load(&h->clear_epoch);
	printf("segment %s: abi %u.%u capacity %" PRIu64 " procs %u modules %u total %" PRIu64
	       " bytes\n", name, h->abi_major, h->abi_minor, h->capacity, h->proc_capacity,
	       h->module_capacity, h->total_size);
	printf("creator pid %u uid %u created_ns %" PRIu64 " epoch %" PRIu64 " cleared_ns %" PRIu64
	       "\n", h->creator_pid, h->creator_uid, h->created_ns, epoch,
	       (uint64_t)atomic_load(&h->cleared_ns));
	printf("counters: events %" PRIu64 " drops %" PRIu64 " unmatched %" PRIu64
	       " reclaimed %" PRIu64 " replaced %" PRIu64 " stuck_freed %" PRIu64
	       " proc_drops %" PRIu64 " module_drops %" PRIu64 "\n",
	       (uint64_t)atomic_load(&c->events), (uint64_t)atomic_load(&c->drops),
	       (uint64_t)atomic_load(&c->unmatched), (uint64_t)atomic_load(&c->reclaimed),
	       (uint64_t)atomic_load(&c->replaced), (uint64_t)atomic_load(&c->stuck_freed),
	       (uint64_t)atomic_load(&c->proc_drops), (uint64_t)atomic_load(&c->module_drops));

	const struct ttmem_proc *p = ttmem_table_procs(t);
	for (uint32_t i = 0; i < ttmem_table_proc_capacity(t); i++) {
		uint64_t pc = atomic_load(&p[i].ctl);
		if ((pc & 0xff) == TTMEM_PROC_FREE)
			continue;
		printf("proc %u: %s gen %u pid %u start %" PRIu64 " flags %#x name '%.32s'"
		       " allocs %" PRIu64 " frees %" PRIu64 " unmatched %" PRIu64
		       " drops %" PRIu64 " live %" PRIu64 " peak %" PRIu64 " (%s)\n  cmd '%.192s'\n",
		       i, proc_state[pc & 3], (unsigned)((pc >> 8) & 0xffffff), (unsigned)(pc >> 32),
		       p[i].start_time, p[i].flags, p[i].name, (uint64_t)atomic_load(&p[i].allocs),
		       (uint64_t)atomic_load(&p[i].frees), (uint64_t)atomic_load(&p[i].unmatched),
		       (uint64_t)atomic_load(&p[i].drops), (uint64_t)atomic_load(&p[i].live_bytes),
		       (uint64_t)atomic_load(&p[i].peak_bytes),
		       liveness[ttmem_proc_liveness(t, (uint16_t)i, (uint32_t)(pc >> 32)) & 3],
		       p[i].cmdline);
	}
	const struct ttmem_module *m = ttmem_table_modules(t);
	for (uint32_t i = 0; i < ttmem_table_module_capacity(t); i++) {
		uint32_t st = atomic_load(&m[i].state);
		if (!st)
			continue;
		printf("module %u: state %u build_id_len %u '%.416s'", i, st, m[i].build_id_len,
		       m[i].path);
		size_t n = strnlen(m[i].path, sizeof(m[i].path));
		/* A function of a source file: its name follows the path. */
		if ((m[i].flags & TTMEM_MODULE_F_FUNCTION) && n + 1 < sizeof(m[i].path))
			printf(" function '%.*s'", (int)(sizeof(m[i].path) - n - 1),
			       m[i].path + n + 1);
		putchar('\n');
	}
	const struct ttmem_slot *s = ttmem_table_slots(t);
	const uint8_t *meta = ttmem_table_meta(t);
	uint64_t counts[3] = { 0, 0, 0 };
	for (uint64_t i = 0; i < ttmem_table_capacity(t); i++) {
		uint64_t ctl = atomic_load(&s[i].ctl);
		uint32_t st = TTMEM_CTL_STATE(ctl);
		counts[st < 3 ? st : 0]++;
		if (st == TTMEM_SLOT_FREE && !meta[i] && !all)
			continue;
		printf("slot %" PRIu64 ": %s tag %u seq %u meta %02x dev %u space %u addr %#" PRIx64
		       " size %" PRIu64 " type %u owner %u/%#" PRIx64 " pid %u proc %u module %u"
		       " callsite %#" PRIx32 " stack %" PRIu32 "%s\n", i, slot_state[st], TTMEM_CTL_TAG(ctl),
		       TTMEM_CTL_SEQ(ctl), meta[i], s[i].device, s[i].space, s[i].address,
		       s[i].size, s[i].type, s[i].owner_kind, s[i].owner_id, s[i].pid, s[i].proc,
		       s[i].module, s[i].callsite, s[i].stack,
		       st == TTMEM_SLOT_LIVE && TTMEM_CTL_TAG(ctl) != TTMEM_EPOCH_TAG(epoch)
			       ? " (cleared)" : "");
	}
	printf("slots: %" PRIu64 " free %" PRIu64 " busy %" PRIu64 " live\n", counts[0], counts[1],
	       counts[2]);
	int intact = ttmem_table_intact(t);
	ttmem_table_close(t);
	if (!intact) {
		fprintf(stderr, "ttmem-dump: %s shrank while being read: the dump above is not it\n",
			name);
		return 1;
	}
	return 0;
}
