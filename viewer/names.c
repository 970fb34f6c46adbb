/* SPDX-License-Identifier: MIT */
/* The names the viewer prints for the segment's enumerations. */
#include <inttypes.h>

#include "viewer.h"

/* Spelled as in the emulator's ground truth and tt-metal's BufferType. */
static const char *const type_names[TTMEM_TYPE_COUNT] = {
	[TTMEM_TYPE_DRAM] = "DRAM",
	[TTMEM_TYPE_L1] = "L1",
	[TTMEM_TYPE_SYSTEM_MEMORY] = "SYSTEM_MEMORY",
	[TTMEM_TYPE_L1_SMALL] = "L1_SMALL",
	[TTMEM_TYPE_TRACE] = "TRACE",
	[TTMEM_TYPE_CB] = "CB",
};

const char *type_name(unsigned type)
{
	return type < TTMEM_TYPE_COUNT ? type_names[type] : NULL;
}

const char *owner_name(unsigned kind)
{
	switch (kind) {
	case TTMEM_OWNER_APP:
		return "application";
	case TTMEM_OWNER_CQ:
		return "command_queue";
	case TTMEM_OWNER_SYSMEM:
		return "system_memory_manager";
	default:
		return "unknown";
	}
}

const char *liveness_name(int state)
{
	switch (state) {
	case TTMEM_LIVENESS_RUNNING:
		return "running";
	case TTMEM_LIVENESS_EXITED:
		return "exited";
	case TTMEM_LIVENESS_DEAD:
		return "dead";
	default:
		return "unknown";
	}
}

const char *device_name(char *buf, size_t len, uint32_t device)
{
	if (device == TTMEM_DEVICE_UNKNOWN)
		return "unknown";
	snprintf(buf, len, "%" PRIu32, device);
	return buf;
}

const char *partial_why(char *buf, size_t len, uint32_t flags)
{
	static const struct {
		uint32_t flag;
		const char *why;
	} reasons[] = {
		{ TTMEM_PROC_F_LATE, "attached late" },
		{ TTMEM_PROC_F_TABLE_FULL, "table full" },
		{ TTMEM_PROC_F_HOOK_LOST, "events lost" },
		{ TTMEM_PROC_F_ABI_PARTIAL, "ABI mismatch" },
	};
	size_t at = 0;

	if (!len)
		return buf;
	buf[0] = 0;
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (!(flags & reasons[i].flag))
			continue;
		int k = snprintf(buf + at, len - at, "%s%s", at ? ", " : "", reasons[i].why);
		if (k < 0 || (size_t)k >= len - at)
			break;
		at += (size_t)k;
	}
	return buf;
}
