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

/* A capability that rests on one hook: works when it is reached, else
 * `otherwise` for `why`; unavailable when no allocation is seen at all. */
static void one_hook(struct probe_report *r, enum probe_cap c, int allocs, const char *name,
		     enum probe_status otherwise, const char *why)
{
	if (!allocs)
		set(r, c, CAP_UNAVAILABLE, "no allocations are seen");
	else if (reached(r, name))
		set(r, c, CAP_WORKS, "%s is reached through the PLT/GOT", name);
	else
		set(r, c, otherwise, "%s", why);
}

/* Every one of `names` that is reached, comma-separated into buf (empty
 * when none); returns buf, or NULL when none is reached. */
static const char *all_reached(const struct probe_report *r, const char *const *names,
			       char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (; *names; names++)
		if (reached(r, *names) && used < len) {
			int w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", *names);
			if (w > 0)
				used += (size_t)w;
		}
	return buf[0] ? buf : NULL;
}

static const char *const owner_ctors[] = {
	"HWCommandQueue(IDevice*, shared_ptr, u32, NOC, u32)",
	"HWCommandQueue(Device*, u32, NOC)",
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
	char owner_buf[160], open_buf[160], bulk_buf[96];

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
	one_hook(r, CAP_FREES, allocs, "GraphTracker::track_deallocate", CAP_UNAVAILABLE,
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

	owner = all_reached(r, owner_ctors, owner_buf, sizeof(owner_buf));
	open = all_reached(r, open_entries, open_buf, sizeof(open_buf));
	if (!allocs)
		set(r, CAP_OWNERS, CAP_UNAVAILABLE, "no allocations are seen");
	else if (owner)
		set(r, CAP_OWNERS, CAP_WORKS, "interposed: %s%s%s", owner,
		    open ? "; outside them, " : "", open ? open : "");
	else if (open)
		set(r, CAP_OWNERS, CAP_DEGRADED, "no owner constructor is interposed: \"system\" "
		    "is what %s allocates, owned per device", open);
	else
		set(r, CAP_OWNERS, CAP_UNAVAILABLE, "no owner constructor or device-open entry "
		    "point is interposed: system buffers count as the application's");

	bulk = all_reached(r, bulk_frees, bulk_buf, sizeof(bulk_buf));
	/* Read through getters, Buffer::allocator() answers the AllocatorImpl's
	 * view: its bulk frees are told apart only through AllocatorImpl::view(). */
	int impl_unmapped = g->reading == ABI_READ_GETTERS &&
			    reached(r, "AllocatorImpl::deallocate_buffers") &&
			    !exported(r, "AllocatorImpl::view");
	if (!chips)
		set(r, CAP_RELEASE_AT_CLOSE, CAP_UNAVAILABLE, "chips are unknown, so what a closing "
		    "chip held cannot be told apart");
	else if (reached(r, "Device::close") && impl_unmapped)
		set(r, CAP_RELEASE_AT_CLOSE, CAP_DEGRADED, "interposed: Device::close%s; "
		    "AllocatorImpl::deallocate_buffers is reached but AllocatorImpl::view() is not "
		    "exported, so what it frees mid-run stays in use until its chips close",
		    reached(r, "distributed::MeshDevice::close") ? ", MeshDevice::close" : "");
	else if (reached(r, "Device::close"))
		set(r, CAP_RELEASE_AT_CLOSE, CAP_WORKS, "interposed: Device::close%s%s%s%s",
		    reached(r, "distributed::MeshDevice::close") ? ", MeshDevice::close" : "",
		    bulk ? ", " : "", bulk ? bulk : "",
		    bulk && g->reading == ABI_READ_GETTERS &&
				    reached(r, "AllocatorImpl::deallocate_buffers") ?
			    " (an AllocatorImpl told apart through AllocatorImpl::view())" : "");
	else if (bulk)
		set(r, CAP_RELEASE_AT_CLOSE, CAP_DEGRADED, "Device::close is not interposed; only "
		    "%s (what the allocator frees in bulk)", bulk);
	else
		set(r, CAP_RELEASE_AT_CLOSE, CAP_UNAVAILABLE, "neither Device::close nor a bulk "
		    "free is interposed: what close frees silently stays in use");

	one_hook(r, CAP_CBS, allocs, "GraphTracker::track_allocate_cb", CAP_UNAVAILABLE,
		 "GraphTracker::track_allocate_cb is missing or bound at link time");
	/* A program launched again from the cache reports no CB: only ttnn's
	 * track_program announces it (preload/cb_model.h). */
	if (r->caps[CAP_CBS].status == CAP_WORKS && !reached(r, "GraphTracker::track_program"))
		set(r, CAP_CBS, CAP_DEGRADED, "GraphTracker::track_allocate_cb is reached, "
		    "GraphTracker::track_program is not: a program launched again from the "
		    "cache shows the CBs last reported on its chips");
	one_hook(r, CAP_CAPTURE_FILTER, allocs, "GraphTracker::hook_allocate", CAP_DEGRADED,
		 exported(r, "GraphTracker::hook_allocate") ?
			 "GraphTracker::hook_allocate is not reached through the PLT/GOT: captured "
			 "allocations are told apart by their address 0 only" :
			 "GraphTracker::hook_allocate is not exported: captured allocations are "
			 "told apart by their address 0 only");
}
