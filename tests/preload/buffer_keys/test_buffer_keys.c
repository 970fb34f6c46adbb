/* SPDX-License-Identifier: MIT */
/*
 * The preload's record of each live Buffer (preload/buffer_keys.c) on its
 * own: random puts, peeks, takes, drops and device forgets against a plain
 * array model, enough records for every stripe to grow several times and
 * for deletions to shift clusters back; threads sharing the stripes; a null
 * Buffer; the fork handlers.  Built twice by make check: plain and
 * ASan+UBSan.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buffer_keys.h"

/* buffer_keys.c flags a record it could not keep (out of memory). */
static uint32_t flags_seen;
void state_flag(uint32_t flag)
{
	__atomic_fetch_or(&flags_seen, flag, __ATOMIC_RELAXED);
}

#define DEVICES 4
static const char devices[DEVICES][8];   /* their addresses stand for IDevice* */

/* A Buffer address of record `i` of range `range`: heap-like, 48 bytes
 * apart (what malloc hands out for Buffer objects). */
static const void *buffer_of(unsigned range, unsigned i)
{
	return (const void *)(uintptr_t)(0x7f0000000000ull + (uint64_t)range * 0x10000000ull +
					 (uint64_t)i * 48u);
}

struct model {
	int live;
	struct buffer_record r;
};

static struct buffer_record random_record(unsigned *seed)
{
	struct buffer_record r;

	memset(&r, 0, sizeof(r));
	r.address = (uint64_t)rand_r(seed) << 12;
	r.device = devices[rand_r(seed) % DEVICES];
	r.type = (uint8_t)(rand_r(seed) % 5);
	r.trusted = (uint8_t)(rand_r(seed) % 8);
	r.chip = (uint32_t)(rand_r(seed) % 32);
	r.slot = rand_r(seed) % 3 ? (uint64_t)rand_r(seed) : BUFFER_KEYS_NO_SLOT;
	r.live = ((uint64_t)rand_r(seed) << 32) | (uint64_t)rand_r(seed);
	return r;
}

static void put(const void *buffer, const struct buffer_record *r)
{
	struct abi_buffer b;
	struct ttmem_where w = { .slot = r->slot, .live = r->live, .size = 12345 };

	memset(&b, 0xa5, sizeof(b));   /* what a put does not record must not matter */
	b.address = r->address;
	b.device = r->device;
	b.type = r->type;
	b.trusted = r->trusted;
	buffer_keys_put(buffer, &b, &w, r->chip);
}

static void assert_same(const struct buffer_record *got, const struct buffer_record *want,
			const void *buffer)
{
	cr_assert(got->address == want->address && got->device == want->device &&
			  got->slot == want->slot && got->live == want->live &&
			  got->chip == want->chip && got->type == want->type &&
			  got->trusted == want->trusted,
		  "record of %p: address %#llx slot %llu live %#llx chip %u type %u trusted %u, "
		  "want %#llx %llu %#llx %u %u %u", buffer, (unsigned long long)got->address,
		  (unsigned long long)got->slot, (unsigned long long)got->live, got->chip,
		  got->type, got->trusted, (unsigned long long)want->address,
		  (unsigned long long)want->slot, (unsigned long long)want->live, want->chip,
		  want->type, want->trusted);
}

/* Every record of the range is what the model says, and no other is found. */
static void assert_all(unsigned range, const struct model *m, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct buffer_record got;
		int rc = buffer_keys_get(buffer_of(range, i), &got, 0);

		cr_assert_eq(rc == 0, m[i].live, "record %u of range %u: found %d, live %d", i,
			     range, rc == 0, m[i].live);
		if (m[i].live)
			assert_same(&got, &m[i].r, buffer_of(range, i));
	}
}

/* `ops` random operations on records [0, n) of `range`, each checked
 * against the model; forgets only with `forgets` (they reach every range). */
static void random_ops(unsigned range, struct model *m, unsigned n, unsigned ops, unsigned seed,
		       int forgets)
{
	for (unsigned k = 0; k < ops; k++) {
		unsigned i = (unsigned)rand_r(&seed) % n;
		const void *buffer = buffer_of(range, i);
		struct buffer_record got;
		int op = rand_r(&seed) % 16, rc;

		if (op < 7) {                    /* an allocation: put, or replace */
			m[i].r = random_record(&seed);
			m[i].live = 1;
			put(buffer, &m[i].r);
		} else if (op < 10) {            /* a free: take */
			rc = buffer_keys_get(buffer, &got, 1);
			cr_assert_eq(rc == 0, m[i].live, "take of %u: found %d, live %d", i,
				     rc == 0, m[i].live);
			if (m[i].live)
				assert_same(&got, &m[i].r, buffer);
			m[i].live = 0;
		} else if (op < 13) {            /* a free a capture hook may take over: peek */
			rc = buffer_keys_get(buffer, &got, 0);
			cr_assert_eq(rc == 0, m[i].live, "peek of %u: found %d, live %d", i,
				     rc == 0, m[i].live);
			if (m[i].live)
				assert_same(&got, &m[i].r, buffer);
		} else if (op < 15 || !forgets) { /* the free settled: drop */
			buffer_keys_drop(buffer);
			m[i].live = 0;
		} else if (rand_r(&seed) % 64 == 0) {   /* a device closed */
			const void *dev = devices[rand_r(&seed) % DEVICES];

			buffer_keys_forget_device(dev);
			for (unsigned j = 0; j < n; j++)
				if (m[j].live && m[j].r.device == dev)
					m[j].live = 0;
			assert_all(range, m, n);
		}
	}
	assert_all(range, m, n);
}

TestSuite(buffer_keys, .timeout = 120);

/* Up to 24,576 live records: every stripe grows from 256 slots several
 * times, and takes and drops shift the clusters back. */
Test(buffer_keys, random_against_a_model)
{
	static struct model m[24576];

	random_ops(0, m, 24576, 400000, 11, 1);
	/* Dense: fill everything, then empty it in another order. */
	for (unsigned i = 0; i < 24576; i++) {
		m[i].r.address = i;
		m[i].r.slot = i;
		m[i].r.live = i * 3u;
		m[i].r.device = devices[i % DEVICES];
		m[i].live = 1;
		put(buffer_of(0, i), &m[i].r);
	}
	assert_all(0, m, 24576);
	for (unsigned i = 0; i < 24576; i += 2) {
		buffer_keys_drop(buffer_of(0, (i * 7919u) % 24576));
		m[(i * 7919u) % 24576].live = 0;
	}
	assert_all(0, m, 24576);
	cr_assert_eq(flags_seen, 0);
}

/* Few records, many operations: long runs of deletions in sparse stripes. */
Test(buffer_keys, churn_on_few_records)
{
	static struct model m[96];

	random_ops(1, m, 96, 300000, 5, 1);
}

struct thread_arg {
	unsigned range;
	struct model m[4096];
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;

	random_ops(a->range, a->m, 4096, 100000, 100 + a->range, 0);
	return NULL;
}

/* Four threads, each with its own Buffers, all sharing the stripes (and
 * their growth). */
Test(buffer_keys, threads_share_the_stripes)
{
	static struct thread_arg args[4];
	pthread_t th[4];

	for (unsigned k = 0; k < 4; k++) {
		args[k].range = 2 + k;
		cr_assert_eq(pthread_create(&th[k], NULL, thread_main, &args[k]), 0);
	}
	for (unsigned k = 0; k < 4; k++)
		pthread_join(th[k], NULL);
	for (unsigned k = 0; k < 4; k++)
		assert_all(args[k].range, args[k].m, 4096);
}

Test(buffer_keys, null_buffer_is_never_recorded)
{
	struct buffer_record r = { .address = 1, .slot = 2 }, got;

	put(NULL, &r);
	cr_assert_neq(buffer_keys_get(NULL, &got, 0), 0);
	cr_assert_neq(buffer_keys_get(NULL, &got, 1), 0);
	buffer_keys_drop(NULL);
	cr_assert_neq(buffer_keys_get(buffer_of(0, 1), &got, 0), 0, "empty: nothing found");
}

/* The fork handlers take every stripe and give it back; the child keeps
 * the records it inherited and can change them. */
Test(buffer_keys, fork_handlers)
{
	struct buffer_record r = { .address = 0x1000, .device = devices[1], .slot = 7, .live = 9,
				   .chip = 3, .type = 1, .trusted = 7 }, got;
	pid_t pid;
	int status;

	pthread_atfork(buffer_keys_atfork_prepare, buffer_keys_atfork_release,
		       buffer_keys_atfork_release);
	put(buffer_of(0, 5), &r);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int ok = buffer_keys_get(buffer_of(0, 5), &got, 1) == 0 && got.slot == 7 &&
			 buffer_keys_get(buffer_of(0, 5), &got, 0) != 0;
		put(buffer_of(0, 6), &r);
		_exit(ok && buffer_keys_get(buffer_of(0, 6), &got, 0) == 0 ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: %#x", status);
	cr_assert_eq(buffer_keys_get(buffer_of(0, 5), &got, 0), 0, "the parent's record stays");
	assert_same(&got, &r, buffer_of(0, 5));
}
