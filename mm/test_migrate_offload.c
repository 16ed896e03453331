// SPDX-License-Identifier: GPL-2.0
/*
 * A test migrator for migration copy offload: it copies with the CPU, counts
 * what it was offered and what it copied, and can be told through debugfs
 * to leave chosen folios to the CPU path or to hold each batch for a while.
 * It exists for tools/testing/selftests/mm/migrate_offload.c (the pattern of
 * lib/test_hmm.c); it is not a production migrator.
 *
 * /sys/kernel/debug/test_migrate_offload/:
 *   calls, folios_offered, folios_copied, bytes_copied   counters (read)
 *   fail_every   N > 0: leave every Nth offered folio uncopied (rw)
 *   delay_ms     sleep this long in each batch, to keep copies in flight (rw)
 *   reset        write anything: zero the counters
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/migrate_copy_offload.h>
#include <linux/mm.h>
#include <linux/module.h>

static atomic_long_t tmo_calls;
static atomic_long_t tmo_offered;
static atomic_long_t tmo_copied;
static atomic_long_t tmo_bytes;
static u32 tmo_fail_every;
static u32 tmo_delay_ms;
static struct dentry *tmo_dir;

static int tmo_copy(struct migrator *m, struct migrate_copy_batch *b)
{
	unsigned int i, every = READ_ONCE(tmo_fail_every);
	unsigned int delay = min(READ_ONCE(tmo_delay_ms), 1000U);

	atomic_long_inc(&tmo_calls);
	if (delay)
		msleep(delay);
	for (i = 0; i < b->nr; i++) {
		long nth = atomic_long_inc_return(&tmo_offered);

		if (every && nth % every == 0)
			continue;
		/* A folio whose copy hits poison is left to the CPU path. */
		if (folio_mc_copy(b->dst[i], b->src[i]))
			continue;
		__set_bit(i, b->copied);
		atomic_long_inc(&tmo_copied);
		atomic_long_add(folio_size(b->src[i]), &tmo_bytes);
	}
	return 0;
}

static struct migrator tmo_migrator = {
	.name = "test_migrate_offload",
	.owner = THIS_MODULE,
	.reasons = BIT(MR_SYSCALL) | BIT(MR_MEMPOLICY_MBIND) | BIT(MR_DEMOTION) |
		   BIT(MR_DAMON) | BIT(MR_NUMA_MISPLACED),
	.copy = tmo_copy,
};

static int tmo_counter_get(void *data, u64 *val)
{
	*val = atomic_long_read(data);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(tmo_counter_fops, tmo_counter_get, NULL, "%llu\n");

static int tmo_reset_set(void *data, u64 val)
{
	atomic_long_set(&tmo_calls, 0);
	atomic_long_set(&tmo_offered, 0);
	atomic_long_set(&tmo_copied, 0);
	atomic_long_set(&tmo_bytes, 0);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(tmo_reset_fops, NULL, tmo_reset_set, "%llu\n");

static int __init tmo_init(void)
{
	int ret;

	tmo_dir = debugfs_create_dir("test_migrate_offload", NULL);
	debugfs_create_file_unsafe("calls", 0400, tmo_dir, &tmo_calls, &tmo_counter_fops);
	debugfs_create_file_unsafe("folios_offered", 0400, tmo_dir, &tmo_offered,
				   &tmo_counter_fops);
	debugfs_create_file_unsafe("folios_copied", 0400, tmo_dir, &tmo_copied,
				   &tmo_counter_fops);
	debugfs_create_file_unsafe("bytes_copied", 0400, tmo_dir, &tmo_bytes,
				   &tmo_counter_fops);
	debugfs_create_u32("fail_every", 0600, tmo_dir, &tmo_fail_every);
	debugfs_create_u32("delay_ms", 0600, tmo_dir, &tmo_delay_ms);
	debugfs_create_file_unsafe("reset", 0200, tmo_dir, NULL, &tmo_reset_fops);

	ret = migrate_offload_register(&tmo_migrator);
	if (ret) {
		pr_err("cannot register: %d\n", ret);
		debugfs_remove_recursive(tmo_dir);
	}
	return ret;
}

static void __exit tmo_exit(void)
{
	/* Waits for every copy in flight: the module text may go after. */
	migrate_offload_unregister(&tmo_migrator);
	debugfs_remove_recursive(tmo_dir);
}

module_init(tmo_init);
module_exit(tmo_exit);
MODULE_DESCRIPTION("Test migrator for migration copy offload");
MODULE_LICENSE("GPL");
