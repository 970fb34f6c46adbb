/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE (viewer/): what `ttmem probe` learns from a runtime library with
 * libelf (elf_probe.c), rendered by cmd_probe.c.
 */
#ifndef TTMEM_VIEWER_PROBE_H
#define TTMEM_VIEWER_PROBE_H

#include <stddef.h>
#include <stdint.h>

enum hook_role {
	ROLE_HOOK = 0,      /* the preload interposes it: must be reached via the PLT/GOT */
	ROLE_CALLED = 1,    /* the preload calls it (a getter): must be exported */
	ROLE_INFO = 2,      /* reported for diagnosis only */
};

#define PROBE_MAX_VARIANTS 3

struct probe_variant {
	const char *tag;         /* "", "C1", "C2", "D0", "D1", "D2" */
	const char *symbol;      /* mangled */
	int present;             /* defined and exported in .dynsym */
	int protected_vis;       /* STV_PROTECTED: bound inside the library */
	unsigned plt, got, abs;  /* dynamic relocations naming it */
	uint64_t value;          /* st_value: C1/C2, D1/D2 are often one body */
};

struct probe_hook {
	const char *name;        /* demangled, short */
	enum hook_role role;
	int required;            /* without it tracking cannot work */
	unsigned nvariants;
	struct probe_variant v[PROBE_MAX_VARIANTS];
	/* derived */
	int present;             /* every variant present (at least one for info) */
	int interposable;        /* a present variant is referenced by a relocation */
};

struct probe_report {
	char machine[16];
	int elf_class;           /* 32 or 64 */
	int is_dyn;              /* ET_DYN */
	int relocs_understood;   /* machine whose relocation types we know */
	int dt_symbolic, df_symbolic, bind_now;
	char build_id[81];
	size_t nhooks;
	struct probe_hook *hooks;
	/* verdict */
	int bound_directly;      /* -Bsymbolic(-functions): no hook reachable */
	int allocate_impl_inlined;
	const char *profile;     /* matching ABI profile name, NULL if none */
	const char *flavour;     /* "interposable", "interposable, allocate_impl inlined", "bound directly" */
	int missing_required, missing_optional, not_interposable_optional;
	int exit_code;           /* enum viewer_exit */
	const char *verdict;     /* one sentence */
};

/* Read `path` and fill *r (r->hooks is malloc'd; free with probe_release).
 * Returns 0, or -1 with a one-line reason in err (file missing, not ELF). */
int elf_probe(const char *path, struct probe_report *r, char *err, size_t errlen);
void probe_release(struct probe_report *r);

#endif /* TTMEM_VIEWER_PROBE_H */
