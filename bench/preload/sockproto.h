/* SPDX-License-Identifier: MIT */
/* The socket baseline's message: one per allocation or free (the seed's
 * allocation_protocol, reduced to what its server uses). */
#ifndef TTMEM_BENCH_SOCKPROTO_H
#define TTMEM_BENCH_SOCKPROTO_H

#include <stdint.h>

enum { SOCK_MSG_ALLOC = 1, SOCK_MSG_FREE = 2 };

struct sock_msg {
	uint8_t type;
	uint8_t buffer_type;
	uint16_t pad;
	uint32_t device;
	uint32_t pid;
	uint32_t pad2;
	uint64_t address;
	uint64_t size;
	uint64_t timestamp_ns;
};

_Static_assert(sizeof(struct sock_msg) == 40, "message size");

#endif
