/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: the Python source lines of the calling
 * thread, for the stacks of allocations a Python program asks for through
 * ctypes or an extension module (the native stack there shows only libffi
 * and the interpreter).
 *
 * Read without the GIL (a ctypes call releases it), from the calling
 * thread's own frame chain, which cannot change while that thread is inside
 * the call: its thread state (PyGILState_GetThisThreadState, a TLS read),
 * the current frame, each frame's code object and instruction pointer.
 * Layout-dependent: built against one CPython minor version's headers (the
 * build machine's), and active only when the running interpreter reports
 * that same version; otherwise (or without Python headers at build time) it
 * finds nothing.  Lines come from PyCode_Addr2Line (public, pure: it reads
 * the immutable line table).
 */
#ifndef TTMEM_PRELOAD_PYFRAMES_H
#define TTMEM_PRELOAD_PYFRAMES_H

#include <stddef.h>
#include <stdint.h>

/*
 * Up to `max` Python frames of the calling thread, innermost first: the
 * code object (opaque) and the index of its current instruction.  Returns
 * how many (0 when the thread runs no Python, or Python is not known).
 */
int pyframes_capture(uintptr_t *code, uint32_t *lasti, int max);

/* 1 when this process runs a Python interpreter this build can read. */
int pyframes_active(void);

/* 1 when `pc` is inside the Python interpreter (executable or libpython). */
int pyframes_in_interpreter(uintptr_t pc);

/*
 * The source of a captured frame: its file name (NUL-terminated into `path`,
 * `len` bytes; "" when not plain ASCII), its function's qualified name
 * (co_qualname, e.g. "Model.forward", into `func`, `func_len` bytes; ""
 * when not plain ASCII or too long) and line.  0, or -1 when the file or
 * line is unknown.  Only for frames captured by this thread and still on
 * its stack.
 */
int pyframes_source(uintptr_t code, uint32_t lasti, char *path, size_t len, char *func,
		    size_t func_len, uint32_t *line);

#endif /* TTMEM_PRELOAD_PYFRAMES_H */
