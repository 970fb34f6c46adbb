/* SPDX-License-Identifier: MIT */
/*
 * Reading the runtime's devices (see abi.h; the layout facts in reader.h):
 * their class by vtable, the chips of a mesh (cached), their architecture,
 * and what a close voids.  Built into the preload only.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ttmem/segment.h"

#include "abi.h"
#include "abi_log.h"
#include "reader.h"

/* ---- device classes, by vtable ---------------------------------------------
 * The dynamic type of a device is read once per vtable from its RTTI name and
 * remembered: after that, telling a chip from a mesh is one load and a few
 * compares.
 */
enum dev_kind { KIND_NONE = 0, KIND_CHIP = 1, KIND_MESH = 2, KIND_OTHER = 3 };

#define NVTABLES 16
static struct {
	_Atomic uintptr_t vptr;
	atomic_int kind;
} vtables[NVTABLES];

static enum dev_kind kind_from_rtti(uintptr_t vptr)
{
	const void *ti = ((const void *const *)vptr)[-1];
	const char *name;

	if (!ti)
		return KIND_OTHER;
	name = field_ptr(ti, sizeof(void *));
	if (!name)
		return KIND_OTHER;
	if (*name == '*')
		name++;
	if (!strcmp(name, RTTI_CHIP))
		return KIND_CHIP;
	if (!strcmp(name, RTTI_MESH))
		return KIND_MESH;
	abi_warn_once("device of unknown class %s: recorded under its id()", name);
	return KIND_OTHER;
}

static enum dev_kind device_kind(const void *dev)
{
	uintptr_t vptr = (uintptr_t)field_ptr(dev, 0);
	enum dev_kind k;

	for (unsigned i = 0; i < NVTABLES; i++) {
		uintptr_t v = atomic_load_explicit(&vtables[i].vptr, memory_order_acquire);
		if (v == vptr) {
			k = atomic_load_explicit(&vtables[i].kind, memory_order_relaxed);
			if (k != KIND_NONE)
				return k;
			break;
		}
		if (v == 0)
			break;
	}
	k = kind_from_rtti(vptr);
	for (unsigned i = 0; i < NVTABLES; i++) {
		uintptr_t expect = 0;
		if (atomic_compare_exchange_strong(&vtables[i].vptr, &expect, vptr) ||
		    expect == vptr) {
			atomic_store_explicit(&vtables[i].kind, k, memory_order_relaxed);
			break;
		}
	}
	return k;
}

static inline int device_id(const void *dev)
{
	const id_fn *vt = field_ptr(dev, 0);
	return vt[VSLOT_ID](dev);
}

/* ---- mesh cache --------------------------------------------------------------
 * get_devices() builds a std::vector (heap), far too slow per event, so each
 * mesh's chips are cached.  Readers are lock-free (a per-entry sequence
 * counter, odd while written); writers hold mesh_lock.  An entry is checked
 * against the mesh's id() on every use and dropped by abi_device_forget().
 */
#define NMESHES 32
struct mesh_entry {
	_Atomic uintptr_t dev;
	_Atomic uint32_t seq;
	_Atomic int32_t mesh_id;
	_Atomic uint32_t n;
	_Atomic uint32_t id[ABI_MAX_CHIPS];
};
static struct mesh_entry meshes[NMESHES];
pthread_mutex_t mesh_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned mesh_victim;

/* Copy the cached chips of `dev`; 1 on a consistent hit. */
int mesh_peek(uintptr_t dev, struct abi_chips *out, int32_t *mesh_id)
{
	for (unsigned i = 0; i < NMESHES; i++) {
		struct mesh_entry *m = &meshes[i];

		if (atomic_load_explicit(&m->dev, memory_order_acquire) != dev)
			continue;
		for (int tries = 0; tries < 16; tries++) {
			uint32_t s1 = atomic_load_explicit(&m->seq, memory_order_acquire);
			if (s1 & 1)
				continue;
			uint32_t n = atomic_load_explicit(&m->n, memory_order_relaxed);
			if (n > ABI_MAX_CHIPS)
				n = ABI_MAX_CHIPS;
			for (uint32_t c = 0; c < n; c++)
				out->id[c] = atomic_load_explicit(&m->id[c], memory_order_relaxed);
			*mesh_id = atomic_load_explicit(&m->mesh_id, memory_order_relaxed);
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(&m->seq, memory_order_relaxed) == s1 &&
			    atomic_load_explicit(&m->dev, memory_order_relaxed) == dev) {
				out->n = n;
				out->is_mesh = 1;
				return 1;
			}
		}
		return 0;
	}
	return 0;
}

static void mesh_store(uintptr_t dev, int32_t mesh_id, const struct abi_chips *c)
{
	struct mesh_entry *m = NULL;

	pthread_mutex_lock(&mesh_lock);
	for (unsigned i = 0; i < NMESHES && !m; i++)
		if (atomic_load_explicit(&meshes[i].dev, memory_order_relaxed) == dev)
			m = &meshes[i];
	for (unsigned i = 0; i < NMESHES && !m; i++)
		if (atomic_load_explicit(&meshes[i].dev, memory_order_relaxed) == 0)
			m = &meshes[i];
	if (!m)
		m = &meshes[mesh_victim++ % NMESHES];
	atomic_fetch_add_explicit(&m->seq, 1, memory_order_relaxed);   /* odd: writing */
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&m->dev, dev, memory_order_relaxed);
	atomic_store_explicit(&m->mesh_id, mesh_id, memory_order_relaxed);
	atomic_store_explicit(&m->n, c->n, memory_order_relaxed);
	for (uint32_t i = 0; i < c->n; i++)
		atomic_store_explicit(&m->id[i], c->id[i], memory_order_relaxed);
	atomic_fetch_add_explicit(&m->seq, 1, memory_order_release);   /* even: done */
	pthread_mutex_unlock(&mesh_lock);
}

static int mesh_resolve(const void *dev, struct abi_chips *out)
{
	int32_t cached_id, id = device_id(dev);

	if (mesh_peek((uintptr_t)dev, out, &cached_id) && cached_id == id)
		return 0;
	if (!g.get_devices || !g.op_delete) {
		out->n = 1;
		out->is_mesh = 1;
		out->id[0] = (uint32_t)id;
		return 0;
	}
	struct std_vector v = g.get_devices(dev);
	size_t n = v.begin ? (size_t)(v.end - v.begin) : 0;

	if (n > ABI_MAX_CHIPS) {
		abi_warn_once("a mesh of %lu chips: only the first %u are tracked",
			      (unsigned long)n, ABI_MAX_CHIPS);
		n = ABI_MAX_CHIPS;
	}
	out->n = 0;
	out->is_mesh = 1;
	for (size_t i = 0; i < n; i++)
		if (v.begin[i])
			out->id[out->n++] = (uint32_t)device_id(v.begin[i]);
	if (v.begin)
		g.op_delete(v.begin);
	if (out->n == 0)
		return -1;
	mesh_store((uintptr_t)dev, id, out);
	return 0;
}

static __attribute__((noinline)) int device_chips_slow(const void *dev, struct abi_chips *out,
							unsigned gen)
{
	switch (device_kind(dev)) {
	case KIND_MESH:
		return mesh_resolve(dev, out);
	case KIND_CHIP:
	case KIND_OTHER:
		out->n = 1;
		out->is_mesh = 0;
		out->id[0] = (uint32_t)device_id(dev);
		abi_tls.chip = (struct last_chip_state){ (uintptr_t)dev, gen, out->id[0] };
		return 0;
	default:
		return -1;
	}
}

/* Inlined into the tracker (LTO): the hit is a few loads and compares. */
__attribute__((always_inline)) inline int abi_device_chips(const void *dev, struct abi_chips *out)
{
	unsigned gen = atomic_load_explicit(&forget_generation, memory_order_acquire);

	if (!dev)
		return -1;
	if (__builtin_expect(abi_tls.chip.dev == (uintptr_t)dev &&
			     abi_tls.chip.generation == gen, 1)) {
		out->n = 1;
		out->is_mesh = 0;
		out->id[0] = abi_tls.chip.id;
		return 0;
	}
	return device_chips_slow(dev, out, gen);
}

/* arch() of a device of a known class; 0 when the value is not a known
 * tt::ARCH (a layout this profile does not describe). */
static uint32_t device_arch(const void *dev)
{
	const arch_fn *vt = field_ptr(dev, 0);
	uint32_t a = vt[VSLOT_ARCH](dev);

	if (a >= ARCH_FIRST && a <= ARCH_LAST)
		return a;
	abi_warn_once("IDevice::arch() returned %u, not a tt::ARCH value of the 2025 profile: "
		      "chips are published without their architecture", a);
	return 0;
}

void abi_device_arch(const void *dev, const struct abi_chips *c, uint32_t *arch)
{
	enum dev_kind k;
	uint32_t mesh_arch = 0;
	int mesh_arch_read = 0;

	for (uint32_t i = 0; i < c->n; i++)
		arch[i] = 0;
	if (!dev || c->n == 0)
		return;
	k = device_kind(dev);
	if (k == KIND_CHIP) {
		for (uint32_t i = 0; i < c->n; i++)
			arch[i] = device_arch(dev);
		return;
	}
	if (k != KIND_MESH)
		return;
	if (g.get_devices && g.op_delete) {
		struct std_vector v = g.get_devices(dev);
		size_t n = v.begin ? (size_t)(v.end - v.begin) : 0;

		for (size_t j = 0; j < n; j++) {
			const void *chip = v.begin[j];
			uint32_t id;

			if (!chip || device_kind(chip) != KIND_CHIP)
				continue;
			id = (uint32_t)device_id(chip);
			for (uint32_t i = 0; i < c->n; i++)
				if (c->id[i] == id && arch[i] == 0)
					arch[i] = device_arch(chip);
		}
		if (v.begin)
			g.op_delete(v.begin);
	}
	/* Chips get_devices() did not name (or no get_devices at all: the
	 * mesh is recorded under its own id): the mesh's arch(). */
	for (uint32_t i = 0; i < c->n; i++)
		if (arch[i] == 0) {
			if (!mesh_arch_read) {
				mesh_arch = device_arch(dev);
				mesh_arch_read = 1;
			}
			arch[i] = mesh_arch;
		}
}

/* ---- closes and forks ------------------------------------------------------- */

void abi_device_forget(const void *dev)
{
	atomic_fetch_add_explicit(&forget_generation, 1, memory_order_release);
	pthread_mutex_lock(&mesh_lock);
	for (unsigned i = 0; i < NMESHES; i++) {
		struct mesh_entry *m = &meshes[i];
		if (atomic_load_explicit(&m->dev, memory_order_relaxed) == (uintptr_t)dev) {
			atomic_fetch_add_explicit(&m->seq, 1, memory_order_relaxed);
			atomic_store_explicit(&m->dev, 0, memory_order_release);
			atomic_fetch_add_explicit(&m->seq, 1, memory_order_release);
		}
	}
	pthread_mutex_unlock(&mesh_lock);
	allocators_forget_device(dev);
}

void abi_atfork_prepare(void)
{
	pthread_mutex_lock(&mesh_lock);
	pthread_mutex_lock(&alloc_lock);
}

void abi_atfork_release(void)
{
	pthread_mutex_unlock(&alloc_lock);
	pthread_mutex_unlock(&mesh_lock);
}
