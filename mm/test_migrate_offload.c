// SPDX-License-Identifier: GPL-2.0
/*
 * A test migrator for migration copy offload: it copies with the CPU, counts
 * what it was offered and what it copied, and can be told through debugfs
 * to leave chosen folios to the CPU path, to hold each batch for a while, or
 * to write a sentinel instead of the data.  It exists for
 * tools/testing/selftests/mm/migrate_offload.c (the pattern of
 * lib/test_hmm.c); it is not a production migrator: the sentinel modes
 * destroy the data they migrate on purpose.
 *
 * /sys/kernel/debug/test_migrate_offload/:
 *   calls, folios_offered, folios_copied, bytes_copied   counters (read)
 *   fail_every   N > 0: leave every Nth offered folio uncopied (rw)
 *   delay_ms     sleep this long in each batch, to keep copies in flight (rw)
 *   sentinel     0: copy the data; 1: fill each destination with
 *                TMO_SENTINEL and mark it copied, so that only a move phase
 *                that skips its copy leaves the sentinel in place; 2: fill
 *                it and leave it unmarked, so the CPU copy must replace it;
 *                3: fill it, mark it copied and stuck, as a migrator whose
 *                engine may still write it would, and keep it for
 *                late_write.  Only for migrations by the process that wrote
 *                the file: anyone else's data is copied as usual.
 *   late_write   write anything: fill every destination kept by sentinel
 *                mode 3 with TMO_SENTINEL again, as a late DMA write would,
 *                and let it go; folios_stuck counts them (read)
 *   reset        write anything: zero the counters
 *
 * Module parameter all_reasons: declare every reason (compaction too) at
 * load, instead of the bulk placement moves the production migrators
 * default to, so tests can show the admin's reasons at work alone.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/migrate_copy_offload.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>

static atomic_long_t tmo_calls;
static atomic_long_t tmo_offered;
static atomic_long_t tmo_copied;
static atomic_long_t tmo_bytes;
static u32 tmo_fail_every;
static u32 tmo_delay_ms;
static u32 tmo_sentinel;
static pid_t tmo_sentinel_tgid;
static struct dentry *tmo_dir;

static bool all_reasons;
module_param(all_reasons, bool, 0444);
MODULE_PARM_DESC(all_reasons, "Declare every migrate reason, not only the bulk moves");

#define TMO_SENTINEL		0x5e
#define TMO_SENTINEL_MARKED	1
#define TMO_SENTINEL_UNMARKED	2
#define TMO_SENTINEL_STUCK	3

/*
 * Destinations left stuck, each with a reference of ours, so that
 * late_write never writes a freed page even if the core let one go.
 */
#define TMO_MAX_STUCK		1024
static DEFINE_SPINLOCK(tmo_stuck_lock);
static struct folio *tmo_stuck[TMO_MAX_STUCK];
static unsigned int tmo_nr_stuck;
static atomic_long_t tmo_stuck_total;

static bool tmo_keep_stuck(struct folio *dst)
{
	bool kept = false;

	spin_lock(&tmo_stuck_lock);
	if (tmo_nr_stuck < TMO_MAX_STUCK) {
		folio_get(dst);
		tmo_stuck[tmo_nr_stuck++] = dst;
		kept = true;
	}
	spin_unlock(&tmo_stuck_lock);
	return kept;
}

static void tmo_fill(struct folio *folio)
{
	long i;

	for (i = 0; i < folio_nr_pages(folio); i++)
		memset_page(folio_page(folio, i), 0, TMO_SENTINEL, PAGE_SIZE);
}

static int tmo_copy(struct migrator *m, struct migrate_copy_batch *b)
{
	unsigned int i, every = READ_ONCE(tmo_fail_every);
	unsigned int delay = min(READ_ONCE(tmo_delay_ms), 1000U);
	unsigned int sentinel = READ_ONCE(tmo_sentinel);

	if (current->tgid != READ_ONCE(tmo_sentinel_tgid))
		sentinel = 0;

	atomic_long_inc(&tmo_calls);
	if (delay)
		msleep(delay);
	for (i = 0; i < b->nr; i++) {
		long nth = atomic_long_inc_return(&tmo_offered);

		if (every && nth % every == 0)
			continue;
		if (sentinel == TMO_SENTINEL_STUCK) {
			if (!tmo_keep_stuck(b->dst[i]))
				continue;
			tmo_fill(b->dst[i]);
			/* Marked copied too: stuck must win. */
			__set_bit(i, b->copied);
			__set_bit(i, b->stuck);
			atomic_long_inc(&tmo_stuck_total);
			continue;
		}
		if (sentinel) {
			tmo_fill(b->dst[i]);
			if (sentinel == TMO_SENTINEL_MARKED)
				__set_bit(i, b->copied);
			continue;
		}
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
	.copy = tmo_copy,
};

static int tmo_counter_get(void *data, u64 *val)
{
	*val = atomic_long_read(data);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(tmo_counter_fops, tmo_counter_get, NULL, "%llu\n");

static int tmo_sentinel_get(void *data, u64 *val)
{
	*val = READ_ONCE(tmo_sentinel);
	return 0;
}

/* The mode, for the writer's own migrations only. */
static int tmo_sentinel_set(void *data, u64 val)
{
	if (val > TMO_SENTINEL_STUCK)
		return -EINVAL;
	WRITE_ONCE(tmo_sentinel_tgid, current->tgid);
	WRITE_ONCE(tmo_sentinel, val);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(tmo_sentinel_fops, tmo_sentinel_get, tmo_sentinel_set, "%llu\n");

/* The late write, then our references go: a folio the core kept stays kept. */
static int tmo_late_write_set(void *data, u64 val)
{
	struct folio *folio;

	for (;;) {
		spin_lock(&tmo_stuck_lock);
		folio = tmo_nr_stuck ? tmo_stuck[--tmo_nr_stuck] : NULL;
		spin_unlock(&tmo_stuck_lock);
		if (!folio)
			return 0;
		tmo_fill(folio);
		folio_put(folio);
	}
}
DEFINE_DEBUGFS_ATTRIBUTE(tmo_late_write_fops, NULL, tmo_late_write_set, "%llu\n");

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
	debugfs_create_file_unsafe("sentinel", 0600, tmo_dir, NULL, &tmo_sentinel_fops);
	debugfs_create_file_unsafe("reset", 0200, tmo_dir, NULL, &tmo_reset_fops);
	debugfs_create_file_unsafe("late_write", 0200, tmo_dir, NULL, &tmo_late_write_fops);
	debugfs_create_file_unsafe("folios_stuck", 0400, tmo_dir, &tmo_stuck_total,
				   &tmo_counter_fops);

	tmo_migrator.reasons = all_reasons ? BIT(MR_TYPES) - 1 :
		BIT(MR_SYSCALL) | BIT(MR_MEMPOLICY_MBIND) | BIT(MR_DEMOTION) |
		BIT(MR_DAMON) | BIT(MR_NUMA_MISPLACED);
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
	tmo_late_write_set(NULL, 0);
}

module_init(tmo_init);
module_exit(tmo_exit);
MODULE_DESCRIPTION("Test migrator for migration copy offload");
MODULE_LICENSE("GPL");
