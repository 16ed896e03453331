// SPDX-License-Identifier: GPL-2.0
/*
 * Migration copy offload: registration of the batch-copy migrator and the
 * batch-copy phase of migrate_pages_batch().
 *
 * One migrator at a time.  The hot path is guarded by a static key that is
 * on only while a migrator is registered, and the migrator is called under
 * SRCU, so unregistering waits for every copy in flight and a module can be
 * unloaded right after; no reference is taken per call.
 *
 * The core, not the migrator, decides what is offloaded: the admin's reasons
 * and batch-size threshold (migrate_copy_offload_sysfs.c), and the folio
 * rules below.  Every decision is counted in /proc/vmstat, and every batch
 * handed over is traced (migrate_offload:migrate_offload_batch).
 *
 * See Documentation/mm/migrate_copy_offload.rst.
 */
#define pr_fmt(fmt) "migrate_offload: " fmt

#include <linux/bitmap.h>
#include <linux/bsearch.h>
#include <linux/list.h>
#include <linux/mempool.h>
#include <linux/migrate.h>
#include <linux/migrate_copy_offload.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/srcu.h>
#include <linux/sysfs.h>
#include <linux/timekeeping.h>
#include <linux/vmstat.h>

#include "migrate_copy_offload_internal.h"

#define CREATE_TRACE_POINTS
#include <trace/events/migrate_offload.h>

DEFINE_STATIC_KEY_FALSE(migrate_offload_enabled);
DEFINE_STATIC_SRCU(migrate_offload_srcu);

/*
 * The active migrator.  Written under migrate_offload_lock, read under
 * migrate_offload_srcu.  Lock order: migrate_offload_lock, then the
 * cpus_read_lock() and jump_label_mutex of static_branch_enable/disable().
 */
static struct migrator __rcu *migrate_offload_active;
static DEFINE_MUTEX(migrate_offload_lock);

/*
 * The admin's policy (/sys/kernel/mm/migrate_offload/): the migrations that
 * may use the migrator, and the smallest batch worth handing over.  Memory
 * failure is never allowed, whatever is written.
 */
unsigned long migrate_offload_reasons __read_mostly = MIGRATE_OFFLOAD_DEFAULT_REASONS;
unsigned long migrate_offload_min_batch_bytes __read_mostly =
	MIGRATE_OFFLOAD_DEFAULT_MIN_BATCH_BYTES;

/* The largest batch migrate_pages_batch() builds, in folios. */
#define MIGRATE_OFFLOAD_MAX_BATCH	512

/*
 * Batch arrays kept for when the page allocator has no GFP_NOWAIT memory.
 * Demotion, a main user, runs exactly when memory is short; without a
 * reserve it would fall back to the CPU when the migrator helps most.  One
 * per node (kswapd) and two more (direct reclaimers, move_pages() callers);
 * a batch that finds the reserve empty is copied by the CPU.  Created by the
 * first registration and never freed: arrays outlive the SRCU section that
 * unregistration waits for (they are freed after the move phase).
 */
static mempool_t *migrate_offload_reserve;

/**
 * migrate_offload_effective_reasons - the reasons a batch may be offloaded for
 * @admin: the admin's mask of BIT(MR_*)
 * @migrator: the mask the migrator declares it is meant for
 *
 * Return: the intersection, never including MR_MEMORY_FAILURE.
 */
unsigned long migrate_offload_effective_reasons(unsigned long admin, unsigned long migrator)
{
	return admin & migrator & MIGRATE_OFFLOAD_ALLOWED_REASONS;
}

static size_t migrate_offload_buf_size(unsigned int max)
{
	size_t ptrs = array_size(2 * max, sizeof(struct folio *));

	return size_add(ptrs, BITS_TO_LONGS(max) * sizeof(long));
}

static bool migrate_offload_reason_allowed(const struct migrator *m, int reason)
{
	if (reason < 0 || reason >= MR_TYPES)
		return false;
	return migrate_offload_effective_reasons(READ_ONCE(migrate_offload_reasons),
						 m->reasons) & BIT(reason);
}

/**
 * migrate_offload_batch_big_enough - is a batch worth the migrator?
 * @bytes: the bytes of the eligible folios of the batch
 * @min_bytes: the admin's threshold
 *
 * Return: true when the batch goes to the migrator.
 */
bool migrate_offload_batch_big_enough(size_t bytes, unsigned long min_bytes)
{
	return bytes && bytes >= min_bytes;
}

/**
 * migrate_offload_show_migrator - print the active migrator's name
 * @buf: a sysfs buffer
 *
 * Return: the bytes written: the name, or "none", and a newline.
 */
ssize_t migrate_offload_show_migrator(char *buf)
{
	struct migrator *m;
	ssize_t len;
	int idx;

	idx = srcu_read_lock(&migrate_offload_srcu);
	m = srcu_dereference(migrate_offload_active, &migrate_offload_srcu);
	len = sysfs_emit(buf, "%s\n", m ? m->name : "none");
	srcu_read_unlock(&migrate_offload_srcu, idx);
	return len;
}

/**
 * migrate_offload_active_reasons - what the active migrator is meant for
 *
 * Return: its mask of BIT(MR_*), or every reason when none is registered.
 */
unsigned long migrate_offload_active_reasons(void)
{
	unsigned long reasons = BIT(MR_TYPES) - 1;
	struct migrator *m;
	int idx;

	idx = srcu_read_lock(&migrate_offload_srcu);
	m = srcu_dereference(migrate_offload_active, &migrate_offload_srcu);
	if (m)
		reasons = m->reasons;
	srcu_read_unlock(&migrate_offload_srcu, idx);
	return reasons;
}

/*
 * May a migrator copy @src between unmap and move?  Only folios that the
 * move phase moves with migrate_folio() or filemap_migrate_folio(): those
 * copy with folio_mc_copy() under the folio lock alone, so an early copy of
 * a locked, unmapped folio is the same copy made earlier.  Not:
 *  - movable_ops pages: their driver copies, and they are never unmapped;
 *  - hugetlb folios: never batched (and migrated elsewhere);
 *  - buffer_head pagecache (buffer_migrate_folio*): buffer data may change
 *    under the buffer lock without the folio lock;
 *  - mappings without a migrate_folio op (fallback_migrate_folio may write
 *    the folio back) or with a wrapper op, and inaccessible mappings.
 */
static bool migrate_offload_folio_eligible(struct folio *src)
{
	struct address_space *mapping;

	if (__folio_test_movable(src) || folio_test_hugetlb(src))
		return false;
	mapping = folio_mapping(src);
	if (!mapping)
		return true;	/* anonymous, KSM */
	if (mapping_inaccessible(mapping))
		return false;
	return mapping->a_ops->migrate_folio == migrate_folio ||	/* shmem, swap */
	       mapping->a_ops->migrate_folio == filemap_migrate_folio;
}

/*
 * The reference check of the stock copy (__migrate_folio()): a folio with
 * an unexpected reference, such as a GUP pin with DMA in flight, may still
 * change, so it is not copied early; the move phase will fail or retry it.
 */
static bool migrate_offload_folio_refs_ok(struct folio *src)
{
	return folio_ref_count(src) == folio_expected_ref_count(src) + 1;
}

/**
 * migrate_offload_register - make @m the active migrator
 * @m: the migrator; must stay valid until migrate_offload_unregister()
 *
 * Return: 0; -EINVAL if @m has no name or copy callback or is meant for no
 * migration the core allows; -EBUSY if another migrator is active; -ENOMEM
 * if the reserve of batch arrays cannot be allocated (first registration).
 */
int migrate_offload_register(struct migrator *m)
{
	int ret = 0;

	if (!m || !m->name || !m->copy)
		return -EINVAL;
	if (!(m->reasons & MIGRATE_OFFLOAD_ALLOWED_REASONS)) {
		pr_err("migrator %s is meant for no migration the core offloads\n", m->name);
		return -EINVAL;
	}

	mutex_lock(&migrate_offload_lock);
	if (rcu_access_pointer(migrate_offload_active)) {
		ret = -EBUSY;
		goto unlock;
	}
	if (!migrate_offload_reserve) {
		size_t size = migrate_offload_buf_size(MIGRATE_OFFLOAD_MAX_BATCH);

		/* Published to readers by the rcu_assign_pointer() below. */
		migrate_offload_reserve = mempool_create_kmalloc_pool(nr_node_ids + 2, size);
		if (!migrate_offload_reserve) {
			ret = -ENOMEM;
			goto unlock;
		}
	}
	rcu_assign_pointer(migrate_offload_active, m);
	static_branch_enable(&migrate_offload_enabled);
	pr_info("migrator %s registered\n", m->name);
unlock:
	mutex_unlock(&migrate_offload_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(migrate_offload_register);

/**
 * migrate_offload_unregister - stop using @m
 * @m: the active migrator
 *
 * Returns only when no migration is in @m->copy any more, so the caller may
 * free @m and unload its module right after.  Sleeps.
 *
 * Return: 0, or -EINVAL (and an error in the log) if @m is not the active
 * migrator.
 */
int migrate_offload_unregister(struct migrator *m)
{
	mutex_lock(&migrate_offload_lock);
	if (!m || rcu_access_pointer(migrate_offload_active) != m) {
		mutex_unlock(&migrate_offload_lock);
		pr_err("%ps: cannot unregister migrator %s: it is not the active one\n",
		       __builtin_return_address(0), m && m->name ? m->name : "(null)");
		return -EINVAL;
	}
	static_branch_disable(&migrate_offload_enabled);
	RCU_INIT_POINTER(migrate_offload_active, NULL);
	mutex_unlock(&migrate_offload_lock);

	/* Wait for every migration that saw @m. */
	synchronize_srcu(&migrate_offload_srcu);
	pr_info("migrator %s unregistered\n", m->name);
	return 0;
}
EXPORT_SYMBOL_GPL(migrate_offload_unregister);

static int migrate_offload_cmp_folio(const void *a, const void *b)
{
	const struct folio *x = *(const struct folio * const *)a;
	const struct folio *y = *(const struct folio * const *)b;

	return x < y ? -1 : x > y;
}

/*
 * One allocation holds the batch's arrays: src[max], dst[max], then the
 * bitmap.  GFP_NOWAIT without reserves: the caller may be reclaiming.  If
 * that fails, an array set from migrate_offload_reserve; if none is left,
 * the CPU copies this batch.
 */
static void *migrate_offload_alloc(unsigned int max, struct migrate_copy_batch *b,
				   bool *reserved)
{
	void *buf = kmalloc(migrate_offload_buf_size(max),
			    GFP_NOWAIT | __GFP_NOWARN | __GFP_NOMEMALLOC);

	*reserved = false;
	if (!buf) {
		buf = mempool_alloc_preallocated(READ_ONCE(migrate_offload_reserve));
		if (!buf)
			return NULL;
		*reserved = true;
	}
	b->src = buf;
	b->dst = b->src + max;
	b->copied = (unsigned long *)(b->dst + max);
	return buf;
}

static void migrate_offload_free(void *buf, bool reserved)
{
	if (reserved)
		mempool_free(buf, migrate_offload_reserve);
	else
		kfree(buf);
}

static bool migrate_offload_folio_ok(struct folio *src)
{
	return migrate_offload_folio_eligible(src) && migrate_offload_folio_refs_ok(src);
}

/*
 * Hand the eligible pairs of the batch to @m, and record the destination
 * folios it copied (sorted, for migrate_offload_copied()).  Batches whose
 * eligible folios are smaller than the admin's threshold stay on the CPU.
 */
static void migrate_offload_run(struct migrator *m, struct migrate_offload_state *st,
				struct list_head *src_folios,
				struct list_head *dst_folios, int reason)
{
	struct migrate_copy_batch b = { .reason = reason };
	unsigned int i, n = 0, max = 0, total = 0;
	struct folio *src, *dst;
	size_t bytes = 0;
	bool reserved;
	u64 start;
	void *buf;
	int ret;

	/* First pass: what would go to the migrator, without allocating. */
	list_for_each_entry(src, src_folios, lru) {
		total++;
		if (max < MIGRATE_OFFLOAD_MAX_BATCH && migrate_offload_folio_ok(src)) {
			max++;
			bytes += folio_size(src);
		}
	}
	if (total > max)
		count_vm_events(PGMIGRATE_OFFLOAD_SKIP_INELIGIBLE, total - max);
	if (!max)
		return;
	if (!migrate_offload_batch_big_enough(bytes, READ_ONCE(migrate_offload_min_batch_bytes))) {
		count_vm_events(PGMIGRATE_OFFLOAD_SKIP_SMALL, max);
		return;
	}
	buf = migrate_offload_alloc(max, &b, &reserved);
	if (!buf) {
		count_vm_events(PGMIGRATE_OFFLOAD_FALLBACK, max);
		return;
	}

	/* Second pass: the pairs.  A folio may have gained a reference since. */
	dst = list_first_entry(dst_folios, struct folio, lru);
	list_for_each_entry(src, src_folios, lru) {
		if (n == max)
			break;
		if (migrate_offload_folio_ok(src)) {
			b.src[n] = src;
			b.dst[n] = dst;
			b.bytes += folio_size(src);
			n++;
		}
		dst = list_next_entry(dst, lru);
	}
	if (!n) {
		migrate_offload_free(buf, reserved);
		return;
	}
	b.nr = n;
	bitmap_zero(b.copied, n);

	start = ktime_get_ns();
	ret = m->copy(m, &b);
	start = ktime_get_ns() - start;

	/* Keep the copied destinations, sorted, at the start of dst[]. */
	st->nr_copied = 0;
	for_each_set_bit(i, b.copied, n) {
		if (migrate_offload_should_fail(b.src[i]))
			continue;
		b.dst[st->nr_copied++] = b.dst[i];
	}
	sort(b.dst, st->nr_copied, sizeof(*b.dst), migrate_offload_cmp_folio, NULL);
	st->copied = b.dst;
	st->buf = buf;
	st->reserved = reserved;

	count_vm_event(PGMIGRATE_OFFLOAD_BATCHES);
	count_vm_events(PGMIGRATE_OFFLOAD_COPIED, st->nr_copied);
	count_vm_events(PGMIGRATE_OFFLOAD_FALLBACK, n - st->nr_copied);
	trace_migrate_offload_batch(reason, n, b.bytes, st->nr_copied, start, ret);
}

/*
 * Is the whole batch, eligible folios or not, under min_batch_bytes?  Most
 * batches of 4 KB pages are, and this is all they pay for a registered
 * migrator: no SRCU, no per-folio checks, and the walk stops as soon as the
 * sizes reach the threshold.  Counts the batch's folios as skipped if so.
 */
static bool migrate_offload_batch_too_small(struct list_head *src_folios)
{
	unsigned long min_bytes = READ_ONCE(migrate_offload_min_batch_bytes);
	unsigned int n = 0;
	size_t bytes = 0;
	struct folio *src;

	if (!min_bytes)
		return false;
	list_for_each_entry(src, src_folios, lru) {
		bytes += folio_size(src);
		n++;
		if (migrate_offload_batch_big_enough(bytes, min_bytes))
			return false;
	}
	count_vm_events(PGMIGRATE_OFFLOAD_SKIP_SMALL, n);
	return true;
}

/* The out-of-line part of migrate_offload_copy_folios(). */
void __migrate_offload_copy_folios(struct migrate_offload_state *st,
				   struct list_head *src_folios,
				   struct list_head *dst_folios, int reason)
{
	struct migrator *m;
	int idx;

	if (st->buf || list_empty(src_folios))
		return;
	if (migrate_offload_batch_too_small(src_folios))
		return;

	idx = srcu_read_lock(&migrate_offload_srcu);
	m = srcu_dereference(migrate_offload_active, &migrate_offload_srcu);
	if (m && migrate_offload_reason_allowed(m, reason))
		migrate_offload_run(m, st, src_folios, dst_folios, reason);
	else if (m)
		count_vm_events(PGMIGRATE_OFFLOAD_SKIP_REASON, list_count_nodes(src_folios));
	srcu_read_unlock(&migrate_offload_srcu, idx);
}

/* The out-of-line part of migrate_offload_copied(). */
bool __migrate_offload_copied(const struct migrate_offload_state *st,
			      const struct folio *dst)
{
	return bsearch(&dst, st->copied, st->nr_copied, sizeof(*st->copied),
		       migrate_offload_cmp_folio);
}

/*
 * Timestamps for the migrate_offload_phases event.  Each mark is taken only
 * if the previous one was: a call that started while the event was off
 * reports nothing.
 */
void __migrate_offload_phase(struct migrate_offload_state *st, enum migrate_offload_mark mark,
			     struct list_head *src_folios, int reason)
{
	u64 now = ktime_get_ns();

	switch (mark) {
	case MIGRATE_OFFLOAD_START:
		st->t_start = now;
		break;
	case MIGRATE_OFFLOAD_UNMAPPED:
		if (!st->t_start)
			break;
		st->t_unmapped = now;
		st->nr_moving = list_count_nodes(src_folios);
		st->reason = reason;
		break;
	case MIGRATE_OFFLOAD_COPIED:
		if (st->t_unmapped)
			st->t_copied = now;
		break;
	}
}

/* The event itself, from migrate_offload_done() after the move phase. */
void __migrate_offload_phases(struct migrate_offload_state *st)
{
	if (st->t_start && st->t_unmapped && st->t_copied)
		trace_migrate_offload_phases(st->reason, st->nr_moving,
					     st->t_unmapped - st->t_start,
					     st->t_copied - st->t_unmapped,
					     ktime_get_ns() - st->t_copied);
	st->t_start = 0;
}

/* The out-of-line part of migrate_offload_done(). */
void __migrate_offload_done(struct migrate_offload_state *st)
{
	migrate_offload_free(st->buf, st->reserved);
	st->buf = NULL;
	st->copied = NULL;
	st->nr_copied = 0;
}

#if IS_ENABLED(CONFIG_MIGRATION_COPY_OFFLOAD_KUNIT_TEST)
#include "tests/migrate_copy_offload_kunit.h"
#endif
