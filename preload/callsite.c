/* SPDX-License-Identifier: MIT */
/*
 * Callsites (see callsite.h).
 *
 * Finding the application's frames: the hook's return address is inside the
 * runtime (allocate_impl, or Buffer::create where clang inlined it); the
 * walk goes up to the first frame outside the runtime and records it and its
 * callers, up to TTMEM_STACK_FRAMES (TTMEM_STACK_DEPTH).  Frame pointers
 * cannot be trusted (tt-metal is built without them), so frame sizes come
 * from the DWARF unwinder (below), bounded to MAX_FRAMES.  Where the stack
 * enters a Python interpreter, its Python lines replace its frames
 * (pyframes.c).  Each thread remembers the stacks it resolved (the memo), so
 * the module lookups and the stack table are touched once per new stack.
 *
 * Module lookup (module index and offset of each frame): modules.c.
 */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <unwind.h>

#include "ttmem/segment.h"
#include "ttmem/table.h"

#include "callsite.h"
#include "state.h"
#include "log.h"
#include "modules.h"
#include "pyframes.h"
#include "pysource.h"
#include "runtime.h"

#define MAX_FRAMES 32


/* ttmem's own image: its hook frames sit between runtime frames (a
 * constructor hook calls the runtime's constructor) and are skipped. */
static uintptr_t self_lo, self_hi;

static int self_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t base = (uintptr_t)data;
	(void)size;
	if (info->dlpi_addr != base)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		if (!self_lo || info->dlpi_addr + ph->p_vaddr < self_lo)
			self_lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > self_hi)
			self_hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	return 1;
}

static pthread_once_t self_once = PTHREAD_ONCE_INIT;

static void self_range(void)
{
	Dl_info di;

	if (dladdr((void *)callsite_get, &di))
		dl_iterate_phdr(self_cb, di.dli_fbase);
}

static inline int in_self(uintptr_t pc)
{
	return pc >= self_lo && pc < self_hi;
}

/*
 * Finding the first frame outside the runtime fast.
 *
 * A full DWARF unwind costs about a microsecond, far over the budget of an
 * event.  But at a given return address the caller's frame has a fixed size
 * (CFA minus stack pointer) unless that function allocates on the stack
 * dynamically.  So full unwinds teach ttmem the frame size at each return
 * address they cross; later events walk the stack with those sizes alone:
 * from the hook's CFA, frame by frame, reading each return address at
 * CFA - 8, every read bounds-checked against the thread's stack.  A return
 * address seen with two different sizes is marked variable and always
 * unwound in full; one event in SAMPLE_EVERY per thread is unwound in full
 * anyway and re-teaches the sizes, which turns any wrong size variable.
 */
#define SIZES       8192u                  /* power of two */
#define SIZE_PROBE  8u
#define SIZE_VARIABLE (-1)
#define SIZE_OUTERMOST (-2)       /* no caller: the stack ends here */
#define SAMPLE_EVERY 1024u

static struct {
	_Atomic uintptr_t pc;
	atomic_int size;           /* 0 = not known yet */
} sizes[SIZES];

/* Bumped whenever a known size turns variable: walks remembered before
 * (walk_memo below) may no longer be what a walk would do. */
static atomic_uint sizes_voided;

static inline unsigned size_hash(uintptr_t pc)
{
	return (unsigned)(((uint64_t)pc * UINT64_C(0x9e3779b97f4a7c15)) >> 40) & (SIZES - 1);
}

static int size_of(uintptr_t pc)
{
	unsigned h = size_hash(pc);

	for (unsigned i = 0; i < SIZE_PROBE; i++) {
		unsigned j = (h + i) & (SIZES - 1);
		uintptr_t k = atomic_load_explicit(&sizes[j].pc, memory_order_acquire);
		if (k == pc)
			return atomic_load_explicit(&sizes[j].size, memory_order_relaxed);
		if (k == 0)
			return 0;
	}
	return 0;
}

static void size_learn(uintptr_t pc, intptr_t size)
{
	unsigned h = size_hash(pc);
	int sz = size == SIZE_OUTERMOST ? SIZE_OUTERMOST :
		 size > 0 && size < (1 << 24) ? (int)size : SIZE_VARIABLE;

	for (unsigned i = 0; i < SIZE_PROBE; i++) {
		unsigned j = (h + i) & (SIZES - 1);
		uintptr_t expect = 0;

		if (!atomic_compare_exchange_strong(&sizes[j].pc, &expect, pc) && expect != pc)
			continue;
		int old = 0;
		if (!atomic_compare_exchange_strong(&sizes[j].size, &old, sz) && old != sz) {
			atomic_store_explicit(&sizes[j].size, SIZE_VARIABLE, memory_order_relaxed);
			atomic_fetch_add_explicit(&sizes_voided, 1, memory_order_release);
		}
		return;
	}
}

/* The calling thread's stack, learned once, and its events (sampling). */
struct stack_bounds {
	uintptr_t lo, hi;
	unsigned events;
};

/* The walks a thread remembers (walk_memo_holds below says why and how). */
#define WALK_MEMO 4u
struct walk_check {
	uintptr_t at;             /* a stack slot the walk read */
	uintptr_t seen;           /* what it held */
};
struct walk_memo {
	uintptr_t ret, cfa;       /* 0: empty */
	unsigned voided;          /* sizes_voided when it was walked */
	unsigned pairs;           /* check[] in pairs: an odd walk repeats its last slot */
	struct walk_check check[MAX_FRAMES];
	uint32_t callsite, stack;   /* the entry's order: copied as one word */
	uint16_t module;
};
/* One thread-local block: the event path finds both at one address. */
static __thread struct {
	struct stack_bounds stack;
	struct walk_memo walks[WALK_MEMO];
} tls __attribute__((tls_model("initial-exec")));

static __attribute__((noinline)) void thread_stack_learn(struct stack_bounds *b)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;

	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
			b->lo = (uintptr_t)addr;
			b->hi = (uintptr_t)addr + size;
		}
		pthread_attr_destroy(&attr);
	}
	if (!b->hi)
		b->hi = 1;   /* unknown: never walk fast */
}

static inline struct stack_bounds *thread_stack(void)
{
	struct stack_bounds *b = &tls.stack;

	if (__builtin_expect(!b->hi, 0))
		thread_stack_learn(b);
	return b;
}

static inline int outside(uintptr_t pc)
{
	return !runtime_contains(pc) && !in_self(pc);
}

/* The stack slots a fast walk read (where each return address was). */
struct walk_trace {
	int n;
	uintptr_t at[MAX_FRAMES];
};

/*
 * The stack of an event: up to `want` return addresses from the first one
 * outside the runtime (and outside ttmem's hooks) upwards.  Returns how many
 * were found (0: unwind in full), *more when the stack goes on past them;
 * tr->at[] the slots it read.
 */
static int walk_fast(uintptr_t pc, uintptr_t sp, const struct stack_bounds *b, uintptr_t *pcs,
		     int want, int *more, struct walk_trace *tr)
{
	int n = 0;

	tr->n = 0;
	for (int depth = 0; depth < MAX_FRAMES; depth++) {
		if (n ? !in_self(pc) : outside(pc)) {
			pcs[n++] = pc;
			if (n == want) {
				*more = size_of(pc) != SIZE_OUTERMOST;
				return n;
			}
		}
		int size = size_of(pc);
		if (size == SIZE_OUTERMOST && n) {
			*more = 0;
			return n;
		}
		if (size <= 0)
			return 0;
		uintptr_t cfa = sp + (uintptr_t)size;
		if (sp < b->lo || cfa > b->hi || cfa < sp + 8)
			return 0;
		tr->at[tr->n++] = cfa - 8;
		pc = *(const uintptr_t *)(cfa - 8);
		sp = cfa;
	}
	return 0;
}

struct walk {
	uintptr_t ret;            /* the hook's return address: the walk starts there */
	uintptr_t *pcs;
	int want, n, more;
	uintptr_t prev_ip, prev_cfa;
	int started;
	int frames;
};

static _Unwind_Reason_Code walk_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct walk *w = arg;
	uintptr_t ip = _Unwind_GetIP(ctx);
	uintptr_t cfa = _Unwind_GetCFA(ctx);

	if (ip == 0)
		return _URC_END_OF_STACK;   /* no caller: the last frame was the outermost */
	if (++w->frames > MAX_FRAMES) {
		w->more = 1;
		return _URC_END_OF_STACK;
	}
	/* At this callback the CFA is the one of the frame below (the stack
	 * pointer of ip's frame at its call): ip's frame size is the distance
	 * to the next frame's. */
	if (w->prev_ip)
		size_learn(w->prev_ip, (intptr_t)(cfa - w->prev_cfa));
	w->prev_ip = ip;
	w->prev_cfa = cfa;
	if (w->n == w->want) {
		/* One frame past the last wanted: its size is learned, and
		 * the stack goes on. */
		w->more = 1;
		return _URC_END_OF_STACK;
	}
	/* Below the hook's caller: the unwinder's and ttmem's own frames. */
	if (!w->started && ip != w->ret)
		return _URC_NO_REASON;
	w->started = 1;
	if (in_self(ip) || (!w->n && runtime_contains(ip)))
		return _URC_NO_REASON;
	w->pcs[w->n++] = ip;
	return _URC_NO_REASON;
}

static __attribute__((noinline)) int walk_full(uintptr_t ret, uintptr_t *pcs, int want, int *more)
{
	struct walk w = { .ret = ret, .pcs = pcs, .want = want };

	_Unwind_Backtrace(walk_frame, &w);
	/* The unwinder found no caller of the last frame: the outermost one
	 * (_start, a thread's start), where fast walks stop. */
	if (!w.more && w.prev_ip)
		size_learn(w.prev_ip, SIZE_OUTERMOST);
	*more = w.more;
	if (w.n)
		return w.n;
	pcs[0] = ret;   /* never got out of the runtime: its last frame seen */
	*more = 0;
	return 1;
}

/* tr->n = 0 unless the frames come from a fast walk (which tr then
 * describes). */
static int app_frames(uintptr_t ret, uintptr_t cfa, uintptr_t *pcs, int want, int *more,
		      struct walk_trace *tr)
{
	struct stack_bounds *b;
	int n;

	if (__builtin_expect(!self_hi, 0))
		pthread_once(&self_once, self_range);
	b = thread_stack();
	tr->n = 0;
	if (++b->events % SAMPLE_EVERY != 0 && cfa &&
	    (n = walk_fast(ret, cfa, b, pcs, want, more, tr)) > 0)
		return n;
	tr->n = 0;
	return walk_full(ret, pcs, want, more);
}

/* ---- stacks --------------------------------------------------------------------- */

/* Frames recorded per allocation (TTMEM_STACK_DEPTH): 0 = only the first
 * frame, as module + offset in the slot, without the stack table. */
static int stack_depth = TTMEM_STACK_FRAMES;

void callsite_configure(int depth)
{
	stack_depth = depth < 0 ? 0 : depth > (int)TTMEM_STACK_FRAMES ? (int)TTMEM_STACK_FRAMES : depth;
}

/*
 * What a raw stack (return addresses) was recorded as, per thread: most
 * events of a program come from few stacks, and resolving one costs a
 * module lookup per frame plus the shared table's probe.  Keyed by the
 * addresses themselves (and Python code objects with instruction indices);
 * a library unloaded and another loaded at the same addresses, or a code
 * object freed and another made at its address, could make an entry stale
 * (its frames would then be named after the old one).
 */
#define MEMO 16u
struct stack_memo {
	uintptr_t pc[TTMEM_STACK_FRAMES];   /* addresses, then Python code objects */
	uint32_t lasti[TTMEM_STACK_FRAMES]; /* Python frames: instruction index */
	uint32_t depth;           /* 0: empty */
	uint32_t native;          /* frames that are addresses */
	uint32_t stack;           /* slot.stack */
	uint32_t callsite;
	uint16_t module;
};
static __thread struct stack_memo memo[MEMO] __attribute__((tls_model("initial-exec")));

static inline unsigned memo_hash(const uintptr_t *pcs, int n)
{
	uint64_t h = (uint64_t)n;

	for (int i = 0; i < n; i++)
		h = (h ^ pcs[i]) * UINT64_C(0x9e3779b97f4a7c15);
	return (unsigned)(h >> 60) & (MEMO - 1);
}

static __attribute__((noinline)) void stack_resolve(struct stack_memo *m, const uintptr_t *pcs,
						     const uint32_t *lasti, int n, int native,
						     int more)
{
	uint64_t frames[TTMEM_STACK_FRAMES];

	for (int i = native; i < n; i++) {
		frames[i] = pysource_frame(lc.table, pcs[i], lasti[i]);
		m->pc[i] = pcs[i];
		m->lasti[i] = lasti[i];
	}
	m->native = (uint32_t)native;
	for (int i = 0; i < native; i++) {
		uint64_t offset = 0;
		int idx = modules_of(pcs[i], &offset);

		if (idx < 0 || idx >= (int)TTMEM_MODULE_NONE) {
			idx = TTMEM_MODULE_NONE;
			offset = pcs[i];
		}
		frames[i] = TTMEM_FRAME(idx, offset);
		m->pc[i] = pcs[i];
		if (i == 0) {
			m->module = (uint16_t)idx;
			m->callsite = offset > UINT32_MAX || idx == TTMEM_MODULE_NONE ?
					      UINT32_MAX : (uint32_t)offset;
		}
	}
	m->depth = (uint32_t)n;
	m->stack = 0;
	if (stack_depth > 0) {
		int rc = ttmem_stack_intern(lc.table, frames, (uint32_t)n,
					    more ? TTMEM_STACK_F_TRUNCATED : 0);
		if (rc >= 0)
			m->stack = (uint32_t)rc + 1;
		else
			log_warn_once("the segment's stack table is full: new allocation stacks "
				      "keep only their first frame");
	}
}

/*
 * Where the native stack enters the Python interpreter, its frames there say
 * nothing: replace them by the Python source lines the thread is running,
 * keeping the native frames before (libffi, the extension module that
 * called in), at most all but four slots when there are Python frames.
 * pcs[0..n) native on entry; returns the new depth, *native the native part.
 */
static __attribute__((noinline)) int python_frames(uintptr_t *pcs, uint32_t *lasti, int n,
						    int want, int *native, int *more)
{
	uintptr_t code[TTMEM_STACK_FRAMES];
	uint32_t li[TTMEM_STACK_FRAMES];
	int cut = n, npy, keep;

	*native = n;
	for (int i = 0; i < n; i++)
		if (pyframes_in_interpreter(pcs[i])) {
			cut = i;
			break;
		}
	if (cut == n && !*more)
		return n;   /* the stack never reached the interpreter */
	npy = pyframes_capture(code, li, TTMEM_STACK_FRAMES);
	if (npy <= 0)
		return n;
	keep = want - (npy < 4 ? npy : 4);
	if (keep > cut)
		keep = cut;
	if (keep < 1)
		keep = 1;   /* frame 0 stays an address: the slot's callsite */
	if (npy > want - keep) {
		npy = want - keep;
		*more = 1;
	} else {
		*more = 0;
	}
	for (int i = 0; i < npy; i++) {
		pcs[keep + i] = code[i];
		lasti[keep + i] = li[i];
	}
	*native = keep;
	return keep + npy;
}

/*
 * What a fast walk found, per thread, by where it started: most events of a
 * program come from few call paths, and a walk from the same return address
 * and stack pointer reads the same stack slots, in the same order, as long
 * as they hold the same return addresses (a frame's size is a function of
 * its return address alone, fixed unless turned variable: sizes_voided).
 * So a remembered walk is checked by reading its slots again, one load and
 * one comparison per frame instead of a size lookup and two range checks,
 * and it also keeps what the stack was recorded as.  Every SAMPLE_EVERY-th
 * event still unwinds in full (app_frames), so sizes keep being re-taught.
 */

static inline struct walk_memo *walk_memo_of(uintptr_t ret, uintptr_t cfa)
{
	return &tls.walks[((ret ^ (cfa >> 4)) * UINT64_C(0x9e3779b97f4a7c15)) >> 62];
}

/* The remembered walk `w` is what a walk from (ret, cfa) would do now.  Two
 * slots per round, their differences or-ed into one test: the check costs
 * about five instructions a frame rather than seven.  A stored walk has at
 * least one slot, and an empty memo never matches (ret is never 0). */
static inline int walk_memo_holds(const struct walk_memo *w, uintptr_t ret, uintptr_t cfa)
{
	if (w->ret != ret || w->cfa != cfa ||
	    w->voided != atomic_load_explicit(&sizes_voided, memory_order_acquire))
		return 0;
	const struct walk_check *c = w->check, *end = c + 2 * w->pairs;
	do {
		uintptr_t d = (*(const uintptr_t *)c[0].at ^ c[0].seen) |
			      (*(const uintptr_t *)c[1].at ^ c[1].seen);
		if (d)
			return 0;
		c += 2;
	} while (c < end);
	return 1;
}

/* Remember the fast walk `tr` from (ret, cfa), walked under `voided`. */
static void walk_memo_store(struct walk_memo *w, uintptr_t ret, uintptr_t cfa, unsigned voided,
			    const struct walk_trace *tr)
{
	int i;

	w->ret = ret;
	w->cfa = cfa;
	w->voided = voided;
	for (i = 0; i < tr->n; i++) {
		w->check[i].at = tr->at[i];
		w->check[i].seen = *(const uintptr_t *)tr->at[i];
	}
	if (i % 2)
		w->check[i] = w->check[i - 1];
	w->pairs = (unsigned)(i + 1) / 2;
}

/* Inlined into the tracker (LTO): one frame less on every allocation. */
__attribute__((always_inline)) inline void callsite_get(void *ret, void *cfa, uint16_t *module,
							uint32_t *callsite, uint32_t *stack)
{
	uintptr_t pcs[TTMEM_STACK_FRAMES];
	uint32_t lasti[TTMEM_STACK_FRAMES];
	struct walk_trace tr;
	/* want > 1, which is stack_depth > 1: the fast path needs no want. */
	int py = pyframes_active() && stack_depth > 1;
	struct walk_memo *w = walk_memo_of((uintptr_t)ret, (uintptr_t)cfa);
	struct stack_bounds *b = &tls.stack;

	/* Python frames change under the same native stack: never memoized.
	 * One event in SAMPLE_EVERY takes the full path (app_frames). */
	if (__builtin_expect(!py && (b->events + 1) % SAMPLE_EVERY != 0 &&
			     walk_memo_holds(w, (uintptr_t)ret, (uintptr_t)cfa), 1)) {
		b->events++;
		*module = w->module;
		*callsite = w->callsite;
		*stack = w->stack;
		return;
	}
	int more = 0, want = stack_depth > 0 ? stack_depth : 1;
	unsigned voided = atomic_load_explicit(&sizes_voided, memory_order_acquire);
	int n = app_frames((uintptr_t)ret, (uintptr_t)cfa, pcs, want, &more, &tr);
	int native = n;

	if (__builtin_expect(py, 0))
		n = python_frames(pcs, lasti, n, want, &native, &more);
	struct stack_memo *m = &memo[memo_hash(pcs, n)];

	if (__builtin_expect(m->depth != (uint32_t)n || m->native != (uint32_t)native ||
			     memcmp(m->pc, pcs, (size_t)n * sizeof(*pcs)) != 0 ||
			     (native < n && memcmp(m->lasti + native, lasti + native,
						   (size_t)(n - native) * sizeof(*lasti)) != 0),
			     0))
		stack_resolve(m, pcs, lasti, n, native, more);
	*module = m->module;
	*callsite = m->callsite;
	*stack = m->stack;
	if (!py && tr.n > 0) {
		walk_memo_store(w, (uintptr_t)ret, (uintptr_t)cfa, voided, &tr);
		w->module = m->module;
		w->callsite = m->callsite;
		w->stack = m->stack;
	}
}
