/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library.  Logging that is safe inside a hook: a fixed
 * stack buffer and one write(2) to stderr, never stdio, never malloc, errno
 * preserved.  Messages are one line, prefixed "ttmem: ".
 *
 * Levels (TTMEM_LOG): quiet (nothing), warn (default: start-up problems and
 * one line per distinct failure), debug (also what was hooked and attached).
 */
#ifndef TTMEM_PRELOAD_LOG_H
#define TTMEM_PRELOAD_LOG_H

#include <stdarg.h>
#include <stdatomic.h>

enum log_level { LOG_QUIET = 0, LOG_WARN = 1, LOG_DEBUG = 2 };

extern int log_level;   /* set once by config_load() */

/* Format with a tiny printf subset: %s %d %u %ld %lu %lld %llu %x %lx %llx %p %%.
 * Truncates at 512 bytes; appends the newline. */
void log_write(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_vwrite(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#define log_warn(...)  do { if (log_level >= LOG_WARN) log_write(__VA_ARGS__); } while (0)
#define log_debug(...) do { if (log_level >= LOG_DEBUG) log_write(__VA_ARGS__); } while (0)

/*
 * Warn at most once per call site: `flag` is a static atomic int the caller
 * declares next to the message, so every distinct failure says so once.
 */
#define log_warn_once(...) do {                                           \
		static atomic_int log_once_flag_;                         \
		if (!atomic_exchange_explicit(&log_once_flag_, 1,          \
					      memory_order_relaxed))      \
			log_warn(__VA_ARGS__);                            \
	} while (0)

#endif /* TTMEM_PRELOAD_LOG_H */
