/* SPDX-License-Identifier: MIT */
/*
 * `ttmem probe`: what tracking can do on a library, per capability, from
 * what elf_probe.c found (hooks present and reached through the PLT/GOT,
 * the generation, the binding) and from how the preload uses each
 * generation (abi/abi.h, abi/GENERATIONS.md "The preload").
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "probe.h"

const char *probe_status_name(enum probe_status s)
{
	return s == CAP_WORKS ? "works" : s == CAP_DEGRADED ? "degraded" : "unavailable";
}

static const struct probe_hook *hook(const struct probe_report *r, const char *name)
{
	for (size_t i = 0; i < r->nhooks; i++)
		if (!strcmp(r->hooks[i].name, name))
			return &r->hooks[i];
	return NULL;
}

/* A hook the preload can interpose: present, and its calls reach the PLT/GOT. */
static int reached(const struct probe_report *r, const char *name)
{
	const struct probe_hook *h = hook(r, name);

	return h && h->present && h->interposable && !r->bound_directly;
}

static int exported(const struct probe_report *r, const char *name)
{
	const struct probe_hook *h = hook(r, name);

	return h && h->present;
}

static void set(struct probe_report *r, enum probe_cap c, enum probe_status st,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void set(struct probe_report *r, enum probe_cap c, enum probe_status st,
		const char *fmt, ...)
{
	va_list ap;

	r->caps[c].status = st;
	va_start(ap, fmt);
	vsnprintf(r->caps[c].why, sizeof(r->caps[c].why), fmt, ap);
	va_end(ap);
}

/* The first owner constructor (any shape) or device-open entry reached. */
static const char *first_reached(const struct probe_report *r, const char *const *names)
{
	for (; *names; names++)
		if (reached(r, *names))
			return *names;
	return NULL;
}

static const char *const owner_ctors[] = {
	"HWCommandQueue(IDevice*, shared_ptr, u32, NOC, u32)",
	"HWCommandQueue(IDevice*, u32, NOC)",
	"HWCommandQueue(ContextId, IDevice*, u32, NOC)",
	"HWCommandQueue(IDevice*, u32, NOC, u32)",
	"SystemMemoryManager(ChipId, u8)",
	"SystemMemoryManager(ContextId, ChipId, u8)",
	NULL,
};

static const char *const open_entries[] = {
	"Device::init_command_queue_host",
	"Device::init_command_queue_device",
	"Device::init_command_queue_device_with_topology",
	NULL,
};

static const char *const bulk_frees[] = {
	"Allocator::deallocate_buffers",
	"AllocatorImpl::deallocate_buffers",
	NULL,
};

void probe_capabilities(struct probe_report *r)
{
	static const char *const names[CAP_COUNT] = {
		"allocations", "frees", "chips", "owner_attribution", "release_at_close",
		"circular_buffers", "capture_filtering",
	};
	const struct abi_generation *g = r->generation;
	int allocs, chips;
	const char *owner, *open, *bulk;

	for (int c = 0; c < CAP_COUNT; c++)
		r->caps[c].name = names[c];

	allocs = reached(r, "GraphTracker::track_allocate") && exported(r, "Buffer::address");
	if (allocs)
		set(r, CAP_ALLOCATIONS, CAP_WORKS, "GraphTracker::track_allocate is reached through "
		    "the PLT/GOT; Buffer read %s", g->reading == ABI_READ_GETTERS ?
		    "through its exported getters" : "at cross-checked offsets");
	else
		set(r, CAP_ALLOCATIONS, CAP_UNAVAILABLE, "%s",
		    !exported(r, "GraphTracker::track_allocate") ?
			    "GraphTracker::track_allocate is not exported" :
		    !exported(r, "Buffer::address") ? "Buffer::address() is not exported" :
			    "calls to GraphTracker::track_allocate are bound at link time");
	if (allocs && reached(r, "GraphTracker::track_deallocate"))
		set(r, CAP_FREES, CAP_WORKS, "GraphTracker::track_deallocate is reached through "
		    "the PLT/GOT");
	else
		set(r, CAP_FREES, CAP_UNAVAILABLE, "%s", !allocs ? "no allocations are seen" :
		    "GraphTracker::track_deallocate is missing or bound at link time");

	chips = allocs && (g->reading == ABI_READ_FIELDS_2025 || exported(r, "Buffer::device"));
	if (!allocs)
		set(r, CAP_CHIPS, CAP_UNAVAILABLE, "no allocations are seen");
	else if (g->reading == ABI_READ_FIELDS_2025)
		set(r, CAP_CHIPS, CAP_WORKS, "the device field of generation %s's Buffer, checked "
		    "against its getters; IDevice::id() through the vtable", g->name);
	else if (chips)
		set(r, CAP_CHIPS, CAP_WORKS, "Buffer::device() is exported; IDevice::id() through "
		    "the vtable");
	else
		set(r, CAP_CHIPS, CAP_UNAVAILABLE, "Buffer::device() is not exported: every "
		    "allocation is shown on an unknown chip");

	owner = first_reached(r, owner_ctors);
	open = first_reached(r, open_entries);
	if (!allocs)
		set(r, CAP_OWNERS, CAP_UNAVAILABLE, "no allocations are seen");
	else if (owner)
		set(r, CAP_OWNERS, CAP_WORKS, "interposed: %s%s%s", owner,
		    open ? "; outside it, " : "", open ? open : "");
	else if (open)
		set(r, CAP_OWNERS, CAP_DEGRADED, "no owner constructor is interposed: \"system\" "
		    "is what %s allocates, owned per device", open);
	else
		set(r, CAP_OWNERS, CAP_UNAVAILABLE, "no owner constructor or device-open entry "
		    "point is interposed: system buffers count as the application's");

	bulk = first_reached(r, bulk_frees);
	if (!chips)
		set(r, CAP_RELEASE_AT_CLOSE, CAP_UNAVAILABLE, "chips are unknown, so what a closing "
		    "chip held cannot be told apart");
	else if (reached(r, "Device::close"))
		set(r, CAP_RELEASE_AT_CLOSE, CAP_WORKS, "interposed: Device::close%s%s%s",
		    reached(r, "distributed::MeshDevice::close") ? ", MeshDevice::close" : "",
		    bulk ? ", " : "", bulk ? bulk : "");
	else if (bulk)
		set(r, CAP_RELEASE_AT_CLOSE, CAP_DEGRADED, "Device::close is not interposed; only "
		    "%s (what the allocator frees in bulk)", bulk);
	else
		set(r, CAP_RELEASE_AT_CLOSE, CAP_UNAVAILABLE, "neither Device::close nor a bulk "
		    "free is interposed: what close frees silently stays in use");

	if (!allocs)
		set(r, CAP_CBS, CAP_UNAVAILABLE, "no allocations are seen");
	else if (reached(r, "GraphTracker::track_allocate_cb"))
		set(r, CAP_CBS, CAP_WORKS, "GraphTracker::track_allocate_cb is reached through the "
		    "PLT/GOT");
	else
		set(r, CAP_CBS, CAP_UNAVAILABLE, "GraphTracker::track_allocate_cb is missing or "
		    "bound at link time");

	if (!allocs)
		set(r, CAP_CAPTURE_FILTER, CAP_UNAVAILABLE, "no allocations are seen");
	else if (reached(r, "GraphTracker::hook_allocate"))
		set(r, CAP_CAPTURE_FILTER, CAP_WORKS, "GraphTracker::hook_allocate is reached "
		    "through the PLT/GOT");
	else
		set(r, CAP_CAPTURE_FILTER, CAP_DEGRADED, "GraphTracker::hook_allocate is %s: "
		    "captured allocations are told apart by their address 0 only",
		    exported(r, "GraphTracker::hook_allocate") ? "not reached through the PLT/GOT" :
								  "not exported");
}
