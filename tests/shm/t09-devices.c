/* SPDX-License-Identifier: MIT */
/* The device table: ttmem_device_note publishes chips, idempotently, and
 * clear / reap keep them (chips are hardware facts). */
#include <pthread.h>

#include "helpers.h"

static uint32_t state_of(const struct ttmem_table *t, uint32_t d)
{
	return atomic_load(&ttmem_table_devices(t)[d].state);
}

Test(devices, note_publishes_once)
{
	char path[128];
	seg_path(path, sizeof(path), "dev");
	struct ttmem_table *t = seg_open_cap(path, 1024, 8);
	const struct ttmem_device_info *di = ttmem_table_devices(t);

	for (uint32_t d = 0; d < TTMEM_MAX_DEVICES; d++)
		cr_assert_eq(state_of(t, d), 0, "device %u published at creation", d);
	/* No registration needed: publishing is not a table write. */
	cr_assert_eq(ttmem_device_note(t, 3, 2), 1);
	cr_assert_eq(state_of(t, 3), 1);
	cr_assert_eq(di[3].arch, 2);
	/* Again, even with another value: the first writer's facts stay. */
	cr_assert_eq(ttmem_device_note(t, 3, 2), 0);
	cr_assert_eq(ttmem_device_note(t, 3, 0), 0);
	cr_assert_eq(ttmem_device_note(t, 3, 3), 0);
	cr_assert_eq(di[3].arch, 2);
	/* Published without an arch: the first writer that knows it fills it in. */
	cr_assert_eq(ttmem_device_note(t, 4, 0), 1);
	cr_assert_eq(state_of(t, 4), 1);
	cr_assert_eq(di[4].arch, 0);
	cr_assert_eq(ttmem_device_note(t, 4, 2), 0);
	cr_assert_eq(di[4].arch, 2);
	cr_assert_eq(ttmem_device_note(t, 4, 3), 0);
	cr_assert_eq(di[4].arch, 2);
	/* The last id, and ids past the table (TTMEM_DEVICE_UNKNOWN): ignored. */
	cr_assert_eq(ttmem_device_note(t, TTMEM_MAX_DEVICES - 1, 2), 1);
	cr_assert_eq(ttmem_device_note(t, TTMEM_MAX_DEVICES, 2), 0);
	cr_assert_eq(ttmem_device_note(t, TTMEM_DEVICE_UNKNOWN, 2), 0);
	cr_assert_eq(ttmem_device_note(NULL, 0, 2), -EINVAL);
	for (uint32_t d = 0; d < TTMEM_MAX_DEVICES; d++)
		cr_assert_eq(state_of(t, d), d == 3 || d == 4 || d == TTMEM_MAX_DEVICES - 1,
			     "device %u", d);
	/* Nothing else changed. */
	cr_assert_eq(di[3].num_chips_hint, 0);
	cr_assert_eq(atomic_load(&di[3].capacity[TTMEM_TYPE_DRAM]), 0);

	/* Read-only handles cannot publish. */
	struct ttmem_open_opts ro = { .readonly = 1 };
	struct ttmem_table *r = NULL;
	cr_assert_eq(ttmem_table_open(&r, path, &ro, NULL, 0), 0);
	cr_assert_eq(ttmem_device_note(r, 5, 2), -EINVAL);
	cr_assert_eq(state_of(r, 5), 0);
	cr_assert_eq(state_of(r, 3), 1, "a reader sees what the writer published");
	ttmem_table_close(r);
	ttmem_table_close(t);
	ttmem_table_unlink(path);
}

Test(devices, clear_and_reap_keep_chips)
{
	char path[128];
	seg_path(path, sizeof(path), "dev");
	struct ttmem_table *t = seg_writer(path, 1024);

	for (uint32_t d = 0; d < 8; d++)
		cr_assert_eq(ttmem_device_note(t, d, 2), 1);
	cr_assert_eq(ttmem_clear(t), 0);
	cr_assert_eq(ttmem_reap(t, 1, NULL), 0);
	for (uint32_t d = 0; d < TTMEM_MAX_DEVICES; d++) {
		cr_assert_eq(state_of(t, d), d < 8, "device %u", d);
		cr_assert_eq(ttmem_table_devices(t)[d].arch, d < 8 ? 2u : 0u, "device %u", d);
	}
	ttmem_table_close(t);
	ttmem_table_unlink(path);
}

struct racer {
	struct ttmem_table *t;
	int published;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	for (uint32_t d = 0; d < 64; d++)
		if (ttmem_device_note(r->t, d, 2) == 1)
			r->published++;
	return NULL;
}

/* Writers racing on the same chips: every chip ends published with its
 * arch, and each chip was published at least once. */
Test(devices, racing_writers)
{
	char path[128];
	seg_path(path, sizeof(path), "dev");
	struct ttmem_table *t = seg_open_cap(path, 1024, 8);
	struct racer rs[4];
	pthread_t th[4];
	int total = 0;

	for (int i = 0; i < 4; i++) {
		rs[i] = (struct racer){ t, 0 };
		cr_assert_eq(pthread_create(&th[i], NULL, race, &rs[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		total += rs[i].published;
	}
	cr_assert_geq(total, 64);
	cr_assert_leq(total, 4 * 64);
	for (uint32_t d = 0; d < TTMEM_MAX_DEVICES; d++) {
		cr_assert_eq(state_of(t, d), d < 64, "device %u", d);
		cr_assert_eq(ttmem_table_devices(t)[d].arch, d < 64 ? 2u : 0u, "device %u", d);
	}
	ttmem_table_close(t);
	ttmem_table_unlink(path);
}
