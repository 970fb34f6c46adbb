/* SPDX-License-Identifier: MIT */
/* The largest valid geometry as a sparse file (maxseg.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "maxseg.h"
#include "ttmem/table.h"

int maxseg_write(const char *path)
{
	struct ttmem_header h;
	uint64_t cap = TTMEM_MAX_CAPACITY;
	uint32_t pcap = TTMEM_MAX_PROC_CAPACITY, mcap = TTMEM_MAX_MODULE_CAPACITY;
	ssize_t n;
	int fd, rc = 0;

	memset(&h, 0, sizeof(h));
	h.magic = TTMEM_MAGIC;
	h.abi_major = TTMEM_ABI_MAJOR;
	h.header_size = TTMEM_HEADER_SIZE;
	h.slot_size = sizeof(struct ttmem_slot);
	h.proc_size = sizeof(struct ttmem_proc);
	h.module_size = sizeof(struct ttmem_module);
	h.device_size = sizeof(struct ttmem_device_info);
	h.capacity = cap;
	h.proc_capacity = pcap;
	h.module_capacity = mcap;
	h.device_capacity = TTMEM_MAX_DEVICES;
	h.creator_uid = (uint32_t)geteuid();
	/* The regions back to back in layout order, as the creator lays
	 * them out; the slots page-aligned after the meta bytes. */
	h.device_offset = TTMEM_HEADER_SIZE;
	h.proc_offset = h.device_offset + (uint64_t)TTMEM_MAX_DEVICES * sizeof(struct ttmem_device_info);
	h.module_offset = h.proc_offset + (uint64_t)pcap * sizeof(struct ttmem_proc);
	h.stack_size = sizeof(struct ttmem_stack);
	h.stack_capacity = ttmem_stack_capacity_for(cap);
	h.stack_offset = h.module_offset + (uint64_t)mcap * sizeof(struct ttmem_module);
	h.meta_offset = h.stack_offset + (uint64_t)h.stack_capacity * sizeof(struct ttmem_stack);
	h.slot_offset = (h.meta_offset + cap + 4095) / 4096 * 4096;
	h.total_size = h.slot_offset + cap * sizeof(struct ttmem_slot);
	h.clear_epoch = 1;
	h.ready = TTMEM_READY;

	fd = open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	n = pwrite(fd, &h, sizeof(h), 0);
	if (n < 0)
		rc = -errno;
	else if (n != (ssize_t)sizeof(h))
		rc = -EIO;
	else if (ftruncate(fd, (off_t)h.total_size) != 0)
		rc = -errno;
	close(fd);
	return rc;
}
