/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE (viewer/): a strict JSON reader (RFC 8259) for the files `ttmem
 * diff` compares, which anyone may have written or cut short.
 *
 * The whole text becomes a tree of values.  Nothing in the input is
 * trusted: nesting is bounded (JR_MAX_DEPTH, so a hostile file cannot
 * exhaust the stack), strings are decoded with their escapes (a lone
 * surrogate or \u0000 becomes U+FFFD, so every string is NUL-terminated
 * and has no NUL inside), and an error says where and why, telling a text
 * cut short (it ends inside a value) from a malformed one.
 *
 * Hand-written rather than json-c or jansson: sizes must come out as exact
 * unsigned 64-bit integers, the limits above are the reader's own, and the
 * whole of it is ~350 lines under the fuzzer (tests/fuzz/fuzz_diff.c).
 *
 * Errors: jr_parse returns 0, or -1 with *err filled (-ENOMEM as -1 with
 * "out of memory").  Thread-safe: no state outside the arguments.
 */
#ifndef TTMEM_VIEWER_JSON_READ_H
#define TTMEM_VIEWER_JSON_READ_H

#include <stddef.h>
#include <stdint.h>

#define JR_MAX_DEPTH 128

enum jr_type { JR_NULL, JR_BOOL, JR_NUM, JR_STR, JR_ARR, JR_OBJ };

/* One value.  An object's members are `items` whose `key` is set; an
 * array's items have key NULL.  Everything is owned by the root. */
struct jr_value {
	enum jr_type type;
	int boolean;               /* JR_BOOL */
	int is_u64;                /* JR_NUM: a non-negative integer that fits u64 */
	uint64_t u64;              /* ... its exact value */
	double num;                /* JR_NUM, always */
	char *str;                 /* JR_STR: decoded UTF-8, NUL-terminated */
	char *key;                 /* member of an object: its name, decoded */
	struct jr_value *items;    /* JR_ARR, JR_OBJ */
	size_t n;
};

struct jr_error {
	size_t offset;             /* byte of the input where it went wrong */
	unsigned line;             /* 1-based line of that byte */
	int truncated;             /* the text ends inside a value */
	char msg[96];
};

/* Parse text[0..len) (one value, white space around it allowed) into a
 * malloc'd tree in *out (free with jr_free). */
int jr_parse(const char *text, size_t len, struct jr_value **out, struct jr_error *err);

/* Free a tree from jr_parse (NULL allowed). */
void jr_free(struct jr_value *v);

/* Member `key` of object v (the first, if repeated), or NULL when v is not
 * an object or has no such member. */
const struct jr_value *jr_get(const struct jr_value *v, const char *key);

/* v's string, or NULL when v is not a string (or is NULL). */
const char *jr_str(const struct jr_value *v);

/* 0 and *out when v is a non-negative integer that fits u64, else -1. */
int jr_u64(const struct jr_value *v, uint64_t *out);

#endif /* TTMEM_VIEWER_JSON_READ_H */
