/* SPDX-License-Identifier: MIT */
/*
 * Python source lines of the calling thread (see pyframes.h).
 *
 * Facts from CPython 3.11's headers, built against (Debian 12's
 * libpython3.11-dev 3.11.2, CPython's v3.11 branch): PyThreadState.cframe
 * (_PyCFrame *), _PyCFrame.current_frame (struct _PyInterpreterFrame *),
 * _PyInterpreterFrame.{f_code, previous, prev_instr, owner},
 * PyCodeObject.{co_filename, co_qualname} (co_qualname new in 3.11) and
 * _PyFrame_IsIncomplete (a frame before its first traceable instruction is
 * skipped), _PyCode_CODE(co) (the first code unit), PyCode_Addr2Line(co,
 * byte offset), compact ASCII unicode objects (data right after the
 * PyASCIIObject header).  Later versions moved these (3.12 renamed nothing
 * used here but 3.13 replaced f_code and prev_instr): the version check
 * keeps a mismatched interpreter out.
 */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pyframes.h"

#if defined(TTMEM_WITH_PYTHON)
#define Py_BUILD_CORE 1
#include <Python.h>
#include <internal/pycore_frame.h>
#endif

#if defined(TTMEM_WITH_PYTHON) && PY_MAJOR_VERSION == 3 && PY_MINOR_VERSION == 11

typedef PyThreadState *(*this_thread_fn)(void);
typedef int (*addr2line_fn)(PyCodeObject *, int);
typedef const char *(*version_fn)(void);

static struct {
	atomic_int state;              /* 0 unknown, 1 active, 2 off */
	this_thread_fn this_thread;
	addr2line_fn addr2line;
	uintptr_t lo, hi;              /* the interpreter's image */
} py;

static pthread_once_t py_once = PTHREAD_ONCE_INIT;

static int range_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t base = (uintptr_t)data;

	(void)size;
	if (info->dlpi_addr != base)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (!py.lo || base + ph->p_vaddr < py.lo)
			py.lo = base + ph->p_vaddr;
		if (base + ph->p_vaddr + ph->p_memsz > py.hi)
			py.hi = base + ph->p_vaddr + ph->p_memsz;
	}
	return 1;
}

static void py_init(void)
{
	version_fn version;
	const char *v;
	Dl_info di;
	char want[16];

	*(void **)&version = dlsym(RTLD_DEFAULT, "Py_GetVersion");
	*(void **)&py.this_thread = dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState");
	*(void **)&py.addr2line = dlsym(RTLD_DEFAULT, "PyCode_Addr2Line");
	snprintf(want, sizeof(want), "%d.%d.", PY_MAJOR_VERSION, PY_MINOR_VERSION);
	v = version ? version() : NULL;
	if (!v || strncmp(v, want, strlen(want)) != 0 || !py.this_thread || !py.addr2line) {
		atomic_store(&py.state, 2);
		return;
	}
	if (dladdr((void *)py.this_thread, &di))
		dl_iterate_phdr(range_cb, di.dli_fbase);
	atomic_store(&py.state, py.hi ? 1 : 2);
}

static inline int py_active(void)
{
	int s = atomic_load_explicit(&py.state, memory_order_acquire);

	if (__builtin_expect(s == 0, 0)) {
		pthread_once(&py_once, py_init);
		s = atomic_load(&py.state);
	}
	return s == 1;
}

int pyframes_active(void)
{
	return py_active();
}

int pyframes_in_interpreter(uintptr_t pc)
{
	return py_active() && pc >= py.lo && pc < py.hi;
}

int pyframes_capture(uintptr_t *code, uint32_t *lasti, int max)
{
	PyThreadState *ts;
	_PyInterpreterFrame *f;
	int n = 0;

	if (!py_active())
		return 0;
	ts = py.this_thread();
	if (!ts || !ts->cframe)
		return 0;
	/* Bounded: a cycle in a corrupt chain cannot hold the host. */
	for (f = ts->cframe->current_frame; f && n < max; f = f->previous) {
		PyCodeObject *co = f->f_code;
		_Py_CODEUNIT *first;

		if (!co)
			break;
		first = _PyCode_CODE(co);
		if (f->owner != FRAME_OWNED_BY_GENERATOR &&
		    f->prev_instr < first + co->_co_firsttraceable)
			continue;   /* incomplete: not started yet */
		code[n] = (uintptr_t)co;
		lasti[n] = (uint32_t)(f->prev_instr - first);
		n++;
	}
	return n;
}

/* Only compact ASCII strings are read in place (no conversion, which
 * could allocate without the GIL); out = "" otherwise. */
static void ascii_copy(PyObject *s, char *out, size_t len)
{
	out[0] = 0;
	if (s && PyUnicode_Check(s) && PyUnicode_IS_COMPACT_ASCII(s)) {
		Py_ssize_t n = PyUnicode_GET_LENGTH(s);

		if (n > 0 && (size_t)n < len) {
			memcpy(out, PyUnicode_DATA(s), (size_t)n);
			out[n] = 0;
		}
	}
}

int pyframes_source(uintptr_t code, uint32_t lasti, char *path, size_t len, char *func,
		    size_t func_len, uint32_t *line)
{
	PyCodeObject *co = (PyCodeObject *)code;
	int l;

	if (!py_active() || !co || !len || !func_len)
		return -1;
	ascii_copy(co->co_filename, path, len);
	ascii_copy(co->co_qualname, func, func_len);
	l = py.addr2line(co, (int)(lasti * sizeof(_Py_CODEUNIT)));
	if (l <= 0 || !path[0])
		return -1;
	*line = (uint32_t)l;
	return 0;
}

#else /* no Python headers, or another version: nothing is found */

int pyframes_active(void)
{
	return 0;
}

int pyframes_capture(uintptr_t *code, uint32_t *lasti, int max)
{
	(void)code;
	(void)lasti;
	(void)max;
	return 0;
}

int pyframes_in_interpreter(uintptr_t pc)
{
	(void)pc;
	return 0;
}

int pyframes_source(uintptr_t code, uint32_t lasti, char *path, size_t len, char *func,
		    size_t func_len, uint32_t *line)
{
	(void)code;
	(void)lasti;
	(void)path;
	(void)len;
	(void)func;
	(void)func_len;
	(void)line;
	return -1;
}

#endif
