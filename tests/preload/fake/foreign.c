/* SPDX-License-Identifier: MIT */
/*
 * A library that is not the runtime but exports Buffer getters under the
 * runtime's names, as an application or extension built against another
 * tt-metal without -fvisibility-inlines-hidden does (weak out-of-line
 * copies of inline getters).  Its copies read another layout: device()
 * answers the word at +16, size() a constant.  Preloaded next to
 * libttmem.so, none of them may ever be called by ttmem: the runtime's
 * getters are bound from the runtime object alone.
 */
#include <stdint.h>

__attribute__((visibility("default"))) const void *
foreign_buffer_device(const void *self) __asm__("_ZNK2tt8tt_metal6Buffer6deviceEv");
const void *foreign_buffer_device(const void *self)
{
	const void *const *words = self;

	return words[2];
}

__attribute__((visibility("default"))) uint64_t
foreign_buffer_size(const void *self) __asm__("_ZNK2tt8tt_metal6Buffer4sizeEv");
uint64_t foreign_buffer_size(const void *self)
{
	(void)self;
	return 1;
}

/*
 * Its own out-of-line copy of the command queue's inline destructor of
 * another tt-metal, called (through its PLT, so through libttmem.so's hook)
 * while the library is loaded: the original the hook finds is this copy,
 * which must not make this library the runtime ttmem attaches to.
 */
__attribute__((visibility("default"))) void
foreign_queue_destructor(void *self) __asm__("_ZN2tt8tt_metal14HWCommandQueueD1Ev");
void foreign_queue_destructor(void *self)
{
	(void)self;
}

static __attribute__((constructor)) void foreign_drop_a_queue(void)
{
	static char queue[64];

	foreign_queue_destructor(queue);
}
