/* SPDX-License-Identifier: MIT */
/*
 * Ownership scope stack, one per thread (see scope.h).  Initial-exec TLS:
 * the library is preloaded, so it lives in the static TLS block and an access
 * is one %fs-relative load, never a call into the dynamic loader.  Scopes
 * nested deeper than SCOPE_MAX are counted but not stored: they report the
 * deepest stored owner.
 */
#include "ttmem/segment.h"

#include "scope.h"

#define SCOPE_MAX 8

struct scope_stack {
	unsigned depth;
	struct scope_owner owner[SCOPE_MAX];
};

static __thread struct scope_stack scopes __attribute__((tls_model("initial-exec")));

__attribute__((noinline)) unsigned scope_open(uint8_t kind, const void *owner)
{
	unsigned d = scopes.depth;

	if (d < SCOPE_MAX)
		scopes.owner[d] = (struct scope_owner){ .kind = kind, .id = (uint64_t)(uintptr_t)owner };
	scopes.depth = d + 1;
	return d;
}

__attribute__((noinline)) void scope_close(unsigned depth)
{
	if (depth < scopes.depth)
		scopes.depth = depth;
}

struct scope_owner scope_current(void)
{
	unsigned d = scopes.depth;

	if (d == 0)
		return (struct scope_owner){ .kind = TTMEM_OWNER_APP, .id = 0 };
	return scopes.owner[d <= SCOPE_MAX ? d - 1 : SCOPE_MAX - 1];
}
