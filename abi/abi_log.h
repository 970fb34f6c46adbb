/* SPDX-License-Identifier: MIT */
/*
 * Private to the ABI room: how its reader reports what it finds (a layout
 * that fails its cross-checks, a value outside what a profile knows).  The
 * room does not log by itself: the program that links the reader provides
 * these two functions (the preload: preload/abi_log.c, over its own
 * hook-safe logging), so the room depends on no part of its users.
 *
 * Contract: abi_log_level() is 0 (quiet), 1 (warnings) or 2 (also debug);
 * abi_log_write() writes one line, is safe inside a hooked call (no stdio,
 * no malloc) and preserves errno; the format is a printf subset (%s %d %u
 * %ld %lu %lld %llu %x %lx %llx %p %%).
 */
#ifndef TTMEM_ABI_LOG_H
#define TTMEM_ABI_LOG_H

#include <stdatomic.h>

int abi_log_level(void);
void abi_log_write(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define abi_warn(...)  do { if (abi_log_level() >= 1) abi_log_write(__VA_ARGS__); } while (0)
#define abi_debug(...) do { if (abi_log_level() >= 2) abi_log_write(__VA_ARGS__); } while (0)

/* At most once per call site (every distinct failure says so once). */
#define abi_warn_once(...) do {                                           \
		static atomic_int abi_once_flag_;                         \
		if (!atomic_exchange_explicit(&abi_once_flag_, 1,          \
					      memory_order_relaxed))      \
			abi_warn(__VA_ARGS__);                            \
	} while (0)

#endif /* TTMEM_ABI_LOG_H */
