/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE (viewer/): what `ttmem probe` learns from a runtime library with
 * libelf (elf_probe.c), rendered by cmd_probe.c.
 */
#ifndef TTMEM_VIEWER_PROBE_H
#define TTMEM_VIEWER_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"

enum hook_role {
	ROLE_HOOK = 0,      /* the preload interposes it: must be reached via the PLT/GOT */
	ROLE_CALLED = 1,    /* the preload calls it (a getter): must be exported */
	ROLE_INFO = 2,      /* reported for diagnosis only */
};

#define PROBE_MAX_VARIANTS 3
#define PROBE_MAX_CALLERS 16   /* --caller objects */

struct probe_variant {
	const char *tag;         /* "", "C1", "C2", "D0", "D1", "D2" */
	const char *symbol;      /* mangled */
	int present;             /* defined and exported in .dynsym */
	int protected_vis;       /* STV_PROTECTED: bound inside the library */
	unsigned plt, got, abs;  /* dynamic relocations naming it */
	/* Relocations naming it in the caller objects (`--caller`), where it is
	 * undefined: calls from another library (ttnn's _ttnncpp.so into
	 * libtt_metal.so) always go through that library's PLT/GOT. */
	unsigned callers;
	uint64_t value;          /* st_value: C1/C2, D1/D2 are often one body */
};

struct probe_hook {
	const char *name;        /* demangled, short */
	enum hook_role role;
	int required;            /* without it tracking cannot work */
	/* ABI_GEN_* of the generations that have it (abi/abi.h); 0 for a
	 * name some runtimes have and the preload uses when present (another
	 * constructor shape, a device-open boundary): never missed. */
	uint32_t gens;
	unsigned nvariants;
	struct probe_variant v[PROBE_MAX_VARIANTS];
	/* derived */
	int present;             /* every variant present (at least one for info) */
	int interposable;        /* a present variant is referenced by a relocation */
};

/* What tracking can do on a library, per capability. */
enum probe_status { CAP_WORKS = 0, CAP_DEGRADED = 1, CAP_UNAVAILABLE = 2 };

enum probe_cap {
	CAP_ALLOCATIONS, CAP_FREES, CAP_CHIPS, CAP_OWNERS, CAP_RELEASE_AT_CLOSE, CAP_CBS,
	CAP_CAPTURE_FILTER, CAP_COUNT
};

struct probe_capability {
	const char *name;        /* "allocations", "frees", "chips", ... */
	enum probe_status status;
	char why[320];
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
	const struct abi_generation *generation;  /* never NULL after elf_probe */
	char toolchain[64];      /* from .comment: "clang 14.0.6", "gcc 12.2.0", "unknown" */
	struct probe_capability caps[CAP_COUNT];
	const char *flavour;     /* "interposable", "interposable, allocate_impl inlined", "bound directly" */
	int missing_required, missing_optional, not_interposable_optional;
	int exit_code;           /* enum viewer_exit */
	const char *verdict;     /* one sentence */
};

/* The status's name: "works", "degraded", "unavailable". */
const char *probe_status_name(enum probe_status s);

/* Fill r->caps from the hooks, the generation and the binding (probe_caps.c). */
void probe_capabilities(struct probe_report *r);

/* Whether the hook is one the identified generation has (so a missing one
 * is missed), or one used when present (gens 0). */
int probe_hook_expected(const struct probe_report *r, const struct probe_hook *h);

/* Read `path` and fill *r (r->hooks is malloc'd; free with probe_release);
 * the `ncallers` objects of `callers` are read for their relocations
 * against the runtime's names (calls from another library into this one).
 * Returns 0, or -1 with a one-line reason in err (file missing, not ELF). */
int elf_probe(const char *path, const char *const *callers, size_t ncallers,
	      struct probe_report *r, char *err, size_t errlen);
void probe_release(struct probe_report *r);

#endif /* TTMEM_VIEWER_PROBE_H */
