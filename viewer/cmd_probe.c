/* SPDX-License-Identifier: MIT */
/*
 * `ttmem probe LIB`: will the preload be able to track this runtime library?
 * The analysis is elf_probe.c's; this renders it and turns the verdict into
 * the exit code (0 works, 20 partly, 21 bound directly, 22 not tt-metal,
 * 23 unreadable).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "probe.h"
#include "viewer.h"

static void probe_usage(FILE *f)
{
	fputs("usage: ttmem probe [--json] [--caller OBJECT]... LIBRARY\n\n"
	      "Read a tt-metal runtime library (libtt_metal.so) and report, for every hook\n"
	      "point and variant, whether it is exported, and whether calls inside the\n"
	      "library reach it through the PLT/GOT (interposable) or are bound directly\n"
	      "(-Bsymbolic, -Bsymbolic-functions); which tt-metal generation it is (2025,\n"
	      "2025b, 2026: told by its exports) and the compiler that built it; per\n"
	      "capability (allocations, frees, chips, owner attribution, release at close,\n"
	      "circular buffers, capture filtering) works / degraded / unavailable and why;\n"
	      "and whether tracking will work.  Exit status: 0 works, 20 works partly, 21 calls bound\n"
	      "directly (tracking sees nothing), 22 required hooks missing, 23 unreadable.\n\n"
	      "  -j, --json      JSON (schema ttmem/1, kind \"probe\")\n"
	      "  -c, --caller OBJECT\n"
	      "                  another library that calls into LIBRARY (ttnn's _ttnncpp.so):\n"
	      "                  its calls go through its own PLT/GOT, so a hook it calls is\n"
	      "                  reached even when LIBRARY never calls it (repeatable)\n"
	      "      --shm NAME  accepted for uniformity (probe does not read the segment)\n"
	      "  -h, --help      this help\n"
	      "  -V, --version   version\n", f);
}

static const char *role_name(enum hook_role r)
{
	return r == ROLE_HOOK ? "hook" : r == ROLE_CALLED ? "called" : "info";
}

/* The tag of an interposable sibling variant at the same address, or NULL. */
static const char *alias_of(const struct probe_hook *h, unsigned k)
{
	for (unsigned j = 0; j < h->nvariants; j++)
		if (j != k && h->v[j].present && h->v[j].value == h->v[k].value &&
		    (h->v[j].plt || h->v[j].got || h->v[j].abs || h->v[j].callers))
			return h->v[j].tag;
	return NULL;
}

/* ", N in callers" where caller objects reach the variant, else "". */
static const char *callers_note(const struct probe_variant *v, char *buf, size_t len)
{
	if (!v->callers)
		return "";
	snprintf(buf, len, ", %u in callers", v->callers);
	return buf;
}

/* A row of the identified generation, or one the preload uses when present
 * and the library has; every row when the generation is unknown. */
static int shown(const struct probe_report *r, const struct probe_hook *h)
{
	if (!r->generation->bit)
		return h->gens != 0 || h->present;
	return probe_hook_expected(r, h) || h->required || (h->gens == 0 && h->present);
}

/* "none" for a library that is not a tt-metal runtime at all. */
static const char *generation_name(const struct probe_report *r)
{
	return r->missing_required ? "none" : r->generation->name;
}

static void print_text(const char *lib, const struct probe_report *r)
{
	printf("%s: ELF%d %s %s, build-id %s\n", lib, r->elf_class, r->machine,
	       r->is_dyn ? "shared object" : "executable", r->build_id[0] ? r->build_id : "none");
	printf("  DT_SYMBOLIC %s, DF_SYMBOLIC %s, bind-now %s\n", r->dt_symbolic ? "yes" : "no",
	       r->df_symbolic ? "yes" : "no", r->bind_now ? "yes" : "no");
	printf("\n  %-48s %-4s %-7s %-8s %s\n", "HOOK POINT", "VAR", "ROLE", "PRESENT", "BINDING");
	for (size_t i = 0; i < r->nhooks; i++) {
		const struct probe_hook *h = &r->hooks[i];

		if (!shown(r, h))
			continue;
		for (unsigned k = 0; k < h->nvariants; k++) {
			const struct probe_variant *v = &h->v[k];
			char binding[128], note[32];

			if (!v->present)
				snprintf(binding, sizeof(binding), "-");
			else if (h->role == ROLE_CALLED)
				snprintf(binding, sizeof(binding), "exported (called by ttmem)");
			else if (r->dt_symbolic || r->df_symbolic || v->protected_vis)
				snprintf(binding, sizeof(binding), "bound directly%s",
					 v->protected_vis ? " (protected)" : " (-Bsymbolic)");
			else if (v->plt || v->got || v->abs || v->callers)
				snprintf(binding, sizeof(binding),
					 "interposable (%u PLT, %u GOT, %u abs%s)", v->plt, v->got,
					 v->abs, callers_note(v, note, sizeof(note)));
			else if (alias_of(h, k))
				snprintf(binding, sizeof(binding), "same body as %s (reached through it)",
					 alias_of(h, k));
			else
				snprintf(binding, sizeof(binding),
					 "not called through the PLT (bound directly or inlined)");
			printf("  %-48s %-4s %-7s %-8s %s\n", k ? "" : h->name, v->tag[0] ? v->tag : "-",
			       k ? "" : role_name(h->role),
			       v->present ? "yes" : h->required ? "MISSING" : "no", binding);
		}
	}
	printf("\n  generation:  %s (%s)\n", generation_name(r), r->generation->marks);
	printf("  toolchain:   %s\n", r->toolchain);
	printf("  binding:     %s\n", r->flavour);
	printf("  capabilities:\n");
	for (int c = 0; c < CAP_COUNT; c++)
		printf("    %-18s %-12s %s\n", r->caps[c].name, probe_status_name(r->caps[c].status),
		       r->caps[c].why);
	printf("  verdict:     %s\n", r->verdict);
}

static void print_json(const char *lib, const struct probe_report *r)
{
	printf("{\"schema\":\"ttmem/1\",\"kind\":\"probe\",\"library\":");
	json_str(stdout, lib, 4096);
	printf(",\"elf\":{\"class\":%d,\"machine\":\"%s\",\"shared_object\":%s,\"build_id\":",
	       r->elf_class, r->machine, r->is_dyn ? "true" : "false");
	if (r->build_id[0])
		printf("\"%s\"", r->build_id);
	else
		printf("null");
	printf(",\"dt_symbolic\":%s,\"df_symbolic\":%s,\"bind_now\":%s},\"hooks\":[",
	       r->dt_symbolic ? "true" : "false", r->df_symbolic ? "true" : "false",
	       r->bind_now ? "true" : "false");
	for (size_t i = 0, n = 0; i < r->nhooks; i++) {
		const struct probe_hook *h = &r->hooks[i];

		if (!shown(r, h))
			continue;
		printf("%s{\"name\":\"%s\",\"role\":\"%s\",\"required\":%s,\"present\":%s,"
		       "\"interposable\":%s,\"variants\":[",
		       n++ ? "," : "", h->name, role_name(h->role), h->required ? "true" : "false",
		       h->present ? "true" : "false", h->interposable ? "true" : "false");
		for (unsigned k = 0; k < h->nvariants; k++) {
			const struct probe_variant *v = &h->v[k];

			printf("%s{\"variant\":\"%s\",\"symbol\":\"%s\",\"present\":%s,"
			       "\"protected\":%s,\"plt\":%u,\"got\":%u,\"abs\":%u,\"callers\":%u}",
			       k ? "," : "", v->tag, v->symbol, v->present ? "true" : "false",
			       v->protected_vis ? "true" : "false", v->plt, v->got, v->abs,
			       v->callers);
		}
		printf("]}");
	}
	printf("],\"generation\":\"%s\",\"generation_marks\":", generation_name(r));
	json_str(stdout, r->generation->marks, 256);
	printf(",\"toolchain\":");
	json_str(stdout, r->toolchain, sizeof(r->toolchain));
	printf(",\"capabilities\":{");
	for (int c = 0; c < CAP_COUNT; c++) {
		printf("%s\"%s\":{\"status\":\"%s\",\"why\":", c ? "," : "", r->caps[c].name,
		       probe_status_name(r->caps[c].status));
		json_str(stdout, r->caps[c].why, sizeof(r->caps[c].why));
		printf("}");
	}
	printf("},\"binding\":\"%s\",\"bound_directly\":%s,\"allocate_impl_inlined\":%s,"
	       "\"tracking\":\"%s\",\"exit_code\":%d,\"verdict\":",
	       r->flavour, r->bound_directly ? "true" : "false",
	       r->allocate_impl_inlined ? "true" : "false",
	       r->exit_code == VX_OK ? "works" : r->exit_code == VX_PROBE_PARTIAL ? "partial" : "no",
	       r->exit_code);
	json_str(stdout, r->verdict, 1024);
	printf("}\n");
}

int cmd_probe(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "caller", required_argument, NULL, 'c' },
		{ "shm", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct probe_report r;
	const char *callers[PROBE_MAX_CALLERS];
	size_t ncallers = 0;
	char err[512];
	int json = 0, c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jc:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'c':
			if (ncallers == PROBE_MAX_CALLERS) {
				viewer_err("probe", "at most %d --caller objects", PROBE_MAX_CALLERS);
				return VX_USAGE;
			}
			callers[ncallers++] = optarg;
			break;
		case 's':
			break;
		case 'h':
			probe_usage(stdout);
			return VX_OK;
		case 'V':
			viewer_version("probe");
			return VX_OK;
		case ':':
			viewer_err("probe", "option '%s' needs a value", argv[optind - 1]);
			return VX_USAGE;
		default:
			viewer_err("probe", "unknown option '%s' (try 'ttmem probe --help')",
				   argv[optind - 1]);
			return VX_USAGE;
		}
	}
	if (argc - optind != 1) {
		viewer_err("probe", "expects exactly one LIBRARY (try 'ttmem probe --help')");
		return VX_USAGE;
	}
	if (elf_probe(argv[optind], callers, ncallers, &r, err, sizeof(err)) < 0) {
		viewer_err("probe", "%s", err);
		return VX_PROBE_UNREADABLE;
	}
	if (json)
		print_json(argv[optind], &r);
	else
		print_text(argv[optind], &r);
	rc = r.exit_code;
	probe_release(&r);
	if (fflush(stdout) != 0)
		return VX_SYSTEM;
	return rc;
}
