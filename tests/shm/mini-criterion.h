/* SPDX-License-Identifier: MIT */
/*
 * The few Criterion macros the stress test uses, for the ThreadSanitizer
 * build: Criterion's runner maps its arena at a fixed address that collides
 * with TSan's shadow memory ("Could not initialize inheritable arena"), so
 * that build runs the tests directly from this minimal main().
 */
#ifndef TTMEM_MINI_CRITERION_H
#define TTMEM_MINI_CRITERION_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct mini_test {
	const char *name;
	void (*fn)(void);
};
static struct mini_test mini_tests[32];
static int mini_ntests;

static inline void mini_register(const char *name, void (*fn)(void))
{
	if (mini_ntests < 32)
		mini_tests[mini_ntests++] = (struct mini_test){ name, fn };
}

__attribute__((format(printf, 4, 5), noreturn)) static inline void
mini_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%d: assertion failed: %s\n  ", file, line, expr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#define cr_assert(cond, ...) \
	do { if (!(cond)) mini_fail(__FILE__, __LINE__, #cond, " " __VA_ARGS__); } while (0)
#define cr_assert_fail(...) mini_fail(__FILE__, __LINE__, "fail", " " __VA_ARGS__)
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_neq(a, b, ...) cr_assert((a) != (b), __VA_ARGS__)
#define cr_assert_gt(a, b, ...) cr_assert((a) > (b), __VA_ARGS__)
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b), __VA_ARGS__)
#define cr_assert_lt(a, b, ...) cr_assert((a) < (b), __VA_ARGS__)
#define cr_assert_leq(a, b, ...) cr_assert((a) <= (b), __VA_ARGS__)
#define cr_assert_null(p, ...) cr_assert((p) == NULL, __VA_ARGS__)
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL, __VA_ARGS__)
#define cr_log_info(...) (fprintf(stderr, "[----] " __VA_ARGS__), fputc('\n', stderr))
#define cr_skip_test(...) return

#define TestSuite(...)
#define Test(suite, name, ...)                                                  \
	static void suite##_##name(void);                                       \
	__attribute__((constructor)) static void suite##_##name##_reg(void)    \
	{                                                                       \
		mini_register(#suite "::" #name, suite##_##name);               \
	}                                                                       \
	static void suite##_##name(void)

int main(void)
{
	for (int i = 0; i < mini_ntests; i++) {
		mini_tests[i].fn();
		fprintf(stderr, "[PASS] %s\n", mini_tests[i].name);
	}
	fprintf(stderr, "[====] Synthesis: Tested: %d | Passing: %d\n", mini_ntests, mini_ntests);
	return 0;
}

#endif
