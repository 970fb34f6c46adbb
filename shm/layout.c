/* SPDX-License-Identifier: MIT */
/*
 * The segment's geometry (where each array lies for a capacity), its
 * validation (what a header must satisfy before anything is mapped or read
 * through it), and the error strings and clocks the core shares.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

int ttmem_set_err(char *buf, size_t len, int code, const char *fmt, ...)
{
	if (buf && len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf, len, fmt, ap);
		va_end(ap);
	}
	return code;
}

uint64_t ttmem_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ttmem_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

void ttmem_layout_compute(struct ttmem_layout *l, uint64_t capacity, uint32_t proc_capacity,
			  uint32_t module_capacity)
{
	l->device_offset = TTMEM_HEADER_SIZE;
	l->proc_offset = l->device_offset + (uint64_t)TTMEM_MAX_DEVICES * sizeof(struct ttmem_device_info);
	l->module_offset = l->proc_offset + (uint64_t)proc_capacity * sizeof(struct ttmem_proc);
	l->stack_offset = l->module_offset + (uint64_t)module_capacity * sizeof(struct ttmem_module);
	l->stack_capacity = ttmem_stack_capacity_for(capacity);
	l->meta_offset = l->stack_offset + (uint64_t)l->stack_capacity * sizeof(struct ttmem_stack);
	l->slot_offset = round_up(l->meta_offset + capacity, 4096);
	l->total_size = l->slot_offset + capacity * sizeof(struct ttmem_slot);
}

const char *ttmem_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case TTMEM_EMAGIC: return "not a ttmem segment (foreign magic)";
	case TTMEM_EVERSION: return "ttmem segment of another ABI major version";
	case TTMEM_ETRUNC: return "ttmem segment truncated";
	case TTMEM_ESIZE: return "ttmem segment size does not match its header";
	case TTMEM_ECORRUPT: return "ttmem segment header is corrupt";
	case TTMEM_EOWNER: return "ttmem segment owned by another user";
	case TTMEM_ENOTREADY: return "ttmem segment was never published (creator died?)";
	case TTMEM_EFULL: return "ttmem table full";
	case TTMEM_ENOTFOUND: return "no such entry in the ttmem table";
	default:
		if (err < 0 && err > -4096)
			return strerror(-err);
		return "unknown ttmem error";
	}
}

/* ---- validation ------------------------------------------------------------------ */

/*
 * Validate into *copy: the checks run on a private copy of the header (taken
 * after the acquire load of `ready`), and the handle is built from that copy,
 * so a segment changed under us after validation can never steer a reader
 * out of bounds.
 */
int ttmem_validate_copy(const void *base, size_t len, struct ttmem_header *copy, char *errbuf,
			 size_t errlen)
{
	const struct ttmem_header *h = copy;
	struct ttmem_layout l;

	if (!base || len < TTMEM_HEADER_SIZE)
		return ttmem_set_err(errbuf, errlen, TTMEM_ETRUNC,
				     "%zu bytes, smaller than a header (%u)", len, TTMEM_HEADER_SIZE);
	/* Acquire: pairs with the creator's release store of `ready`.  (An
	 * arbitrary buffer, e.g. the fuzzer's, may be misaligned: plain copy.) */
	uint32_t ready;
	if ((uintptr_t)base % 8)
		memcpy(&ready, (const char *)base + offsetof(struct ttmem_header, ready), sizeof(ready));
	else
		ready = atomic_load_explicit(&((const struct ttmem_header *)base)->ready,
					     memory_order_acquire);
	memcpy(copy, base, offsetof(struct ttmem_header, clear_epoch));
	if (h->magic != TTMEM_MAGIC)
		return ttmem_set_err(errbuf, errlen, TTMEM_EMAGIC,
				     "foreign magic 0x%016llx", (unsigned long long)h->magic);
	if (h->abi_major != TTMEM_ABI_MAJOR)
		return ttmem_set_err(errbuf, errlen, TTMEM_EVERSION,
				     "ABI %u.%u, this build reads %u.x (another ttmem version made "
				     "it: 'ttmem rm' removes it once its programs have exited)",
				     h->abi_major, h->abi_minor, TTMEM_ABI_MAJOR);
	if (ready != TTMEM_READY)
		return ttmem_set_err(errbuf, errlen, TTMEM_ENOTREADY,
				     "never published by its creator (pid %u)", h->creator_pid);
	if (h->header_size != TTMEM_HEADER_SIZE || h->slot_size != sizeof(struct ttmem_slot) ||
	    h->proc_size != sizeof(struct ttmem_proc) || h->module_size != sizeof(struct ttmem_module) ||
	    h->device_size != sizeof(struct ttmem_device_info) ||
	    h->stack_size != sizeof(struct ttmem_stack))
		return ttmem_set_err(errbuf, errlen, TTMEM_ECORRUPT,
				     "record sizes header %u slot %u proc %u module %u device %u "
				     "stack %u do not match",
				     h->header_size, h->slot_size, h->proc_size, h->module_size,
				     h->device_size, h->stack_size);
	if (!ttmem_is_pow2(h->capacity) || h->capacity < TTMEM_MIN_CAPACITY ||
	    h->capacity > TTMEM_MAX_CAPACITY)
		return ttmem_set_err(errbuf, errlen, TTMEM_ECORRUPT,
				     "capacity %llu is not a power of two in [%u, %u]",
				     (unsigned long long)h->capacity, TTMEM_MIN_CAPACITY,
				     TTMEM_MAX_CAPACITY);
	if (h->proc_capacity == 0 || h->proc_capacity > TTMEM_MAX_PROC_CAPACITY ||
	    h->module_capacity == 0 || h->module_capacity > TTMEM_MAX_MODULE_CAPACITY ||
	    h->device_capacity != TTMEM_MAX_DEVICES)
		return ttmem_set_err(errbuf, errlen, TTMEM_ECORRUPT,
				     "absurd capacities: %u processes, %u modules, %u devices",
				     h->proc_capacity, h->module_capacity, h->device_capacity);
	ttmem_layout_compute(&l, h->capacity, h->proc_capacity, h->module_capacity);
	if (h->device_offset != l.device_offset || h->proc_offset != l.proc_offset ||
	    h->module_offset != l.module_offset || h->meta_offset != l.meta_offset ||
	    h->slot_offset != l.slot_offset || h->stack_offset != l.stack_offset ||
	    h->stack_capacity != l.stack_capacity)
		return ttmem_set_err(errbuf, errlen, TTMEM_ECORRUPT,
				     "region offsets do not match the capacities");
	/* A newer minor may append regions: total_size may then be larger. */
	if (h->total_size != l.total_size &&
	    !(h->abi_minor > TTMEM_ABI_MINOR && h->total_size > l.total_size &&
	      h->total_size - l.total_size < (UINT64_C(1) << 40)))
		return ttmem_set_err(errbuf, errlen, TTMEM_ESIZE,
				     "header says %llu bytes, its geometry needs %llu",
				     (unsigned long long)h->total_size,
				     (unsigned long long)l.total_size);
	if (len < h->total_size)
		return ttmem_set_err(errbuf, errlen, TTMEM_ETRUNC,
				     "%zu bytes, the header says %llu", len,
				     (unsigned long long)h->total_size);
	if (len > h->total_size)
		return ttmem_set_err(errbuf, errlen, TTMEM_ESIZE,
				     "%zu bytes, the header says %llu", len,
				     (unsigned long long)h->total_size);
	return 0;
}

int ttmem_segment_validate(const void *base, size_t len, char *errbuf, size_t errlen)
{
	struct ttmem_header copy;
	return ttmem_validate_copy(base, len, &copy, errbuf, errlen);
}
