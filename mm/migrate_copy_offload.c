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
#include <linux/debugfs.h>
#include <linux/highmem.h>
#include <linux/list.h>
#include <linux/mempool.h>
#include <linux/migrate.h>
#include <linux/migrate_copy_offload.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/percpu.h>
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

/*
 * The admin's reasons that the active migrator is meant for too, kept up to
 * date under migrate_offload_lock, so that the batch-copy phase can refuse
 * a batch for its reason before it takes SRCU or looks at a folio.
 */
static unsigned long migrate_offload_effective __read_mostly;

/*
 * Calls of the migrator's copy callback running now, summed over the CPUs
 * (a call may end on another CPU than it began).  Only for the log line of
 * unregistration and debugfs: how many copies unregistration waited for.
 */
static DEFINE_PER_CPU(long, migrate_offload_in_flight);

static long migrate_offload_copies_in_flight(void)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(migrate_offload_in_flight, cpu);
	return sum;
}

/*
 * Batch arrays kept for when the page allocator has no memory to give
 * without reclaim.  Demotion, a main user, runs exactly when memory is
 * short; without a reserve it would fall back to the CPU when the migrator
 * helps most.  Each batch takes three arrays (see migrate_offload_arrays);
 * the reserve holds the arrays of one batch per node (kswapd) and of two
 * more (direct reclaimers, move_pages() callers); a batch that finds it
 * empty is copied by the CPU.  Created by the first registration and never
 * freed: arrays outlive the SRCU section that unregistration waits for
 * (they are freed after the move phase).
 */
static mempool_t *migrate_offload_reserve;
#define MIGRATE_OFFLOAD_NR_ARRAYS	3

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

/* Recompute migrate_offload_effective.  Called under migrate_offload_lock. */
static void migrate_offload_update_effective(void)
{
	struct migrator *m = rcu_dereference_protected(migrate_offload_active,
						       lockdep_is_held(&migrate_offload_lock));

	WRITE_ONCE(migrate_offload_effective,
		   m ? migrate_offload_effective_reasons(migrate_offload_reasons, m->reasons) : 0);
}

/**
 * migrate_offload_set_reasons - the admin's write to "reasons"
 * @mask: the new mask of BIT(MR_*)
 */
void migrate_offload_set_reasons(unsigned long mask)
{
	mutex_lock(&migrate_offload_lock);
	WRITE_ONCE(migrate_offload_reasons, mask);
	migrate_offload_update_effective();
	mutex_unlock(&migrate_offload_lock);
}

/**
 * migrate_offload_effective_now - the reasons offloaded now
 *
 * Return: the admin's reasons that the active migrator is meant for too,
 * never MR_MEMORY_FAILURE; 0 when no migrator is registered.
 */
unsigned long migrate_offload_effective_now(void)
{
	return READ_ONCE(migrate_offload_effective);
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
 *    the folio back) or with a wrapper op, and inaccessible mappings;
 *  - folios with a hardware-poisoned page: a device would read the poison
 *    without the machine-check recovery of the CPU's copy_mc copy.
 */
static bool migrate_offload_folio_eligible(struct folio *src)
{
	struct address_space *mapping;

	if (__folio_test_movable(src) || folio_test_hugetlb(src))
		return false;
	if (folio_contain_hwpoisoned_page(src))
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
 * migration the core allows; -EOPNOTSUPP on an architecture whose page
 * metadata the core cannot copy (see migrate_offload_metadata_known());
 * -EBUSY if another migrator is active; -ENOMEM if the reserve of batch
 * arrays cannot be allocated (first registration).
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
	if (!migrate_offload_metadata_known()) {
		pr_err("migrator %s: this architecture's copy_highpage() may copy page metadata that copy_highpage_metadata() does not\n",
		       m->name);
		return -EOPNOTSUPP;
	}

	mutex_lock(&migrate_offload_lock);
	if (rcu_access_pointer(migrate_offload_active)) {
		ret = -EBUSY;
		goto unlock;
	}
	if (!migrate_offload_reserve) {
		int nr = MIGRATE_OFFLOAD_NR_ARRAYS * (nr_node_ids + 2);

		/* Published to readers by the rcu_assign_pointer() below. */
		migrate_offload_reserve = mempool_create_kmalloc_pool(nr, PAGE_SIZE);
		if (!migrate_offload_reserve) {
			ret = -ENOMEM;
			goto unlock;
		}
	}
	rcu_assign_pointer(migrate_offload_active, m);
	migrate_offload_update_effective();
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
	long busy;

	mutex_lock(&migrate_offload_lock);
	if (!m || rcu_access_pointer(migrate_offload_active) != m) {
		mutex_unlock(&migrate_offload_lock);
		pr_err("%ps: cannot unregister migrator %s: it is not the active one\n",
		       __builtin_return_address(0), m && m->name ? m->name : "(null)");
		return -EINVAL;
	}
	static_branch_disable(&migrate_offload_enabled);
	RCU_INIT_POINTER(migrate_offload_active, NULL);
	migrate_offload_update_effective();
	mutex_unlock(&migrate_offload_lock);

	/* Wait for every migration that saw @m. */
	busy = migrate_offload_copies_in_flight();
	synchronize_srcu(&migrate_offload_srcu);
	pr_info("migrator %s unregistered (%ld copies were in flight)\n", m->name, busy);
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
 * The arrays of a batch of @n folios: src[n], dst[n] and the two bitmaps
 * (copied, stuck), each allocated on its own so that each is at most a page
 * (n is at most MIGRATE_OFFLOAD_MAX_FOLIOS): the worst case, a batch of 512
 * base pages on x86-64, is two 4 KB arrays and 128 bytes of bitmaps, all
 * from kmalloc caches.
 * No reclaim and no kswapd wakeup: the caller may be kswapd or a direct
 * reclaimer.  An array that cannot be allocated comes from the reserve.
 */
struct migrate_offload_arrays {
	void *p[MIGRATE_OFFLOAD_NR_ARRAYS];
	bool reserved[MIGRATE_OFFLOAD_NR_ARRAYS];
};

static void migrate_offload_array_free(void *p, bool reserved)
{
	if (reserved)
		mempool_free(p, migrate_offload_reserve);
	else
		kfree(p);
}

static void migrate_offload_arrays_free(struct migrate_offload_arrays *a)
{
	int i;

	for (i = 0; i < MIGRATE_OFFLOAD_NR_ARRAYS; i++)
		if (a->p[i])
			migrate_offload_array_free(a->p[i], a->reserved[i]);
}

/* Return: 0, or -ENOMEM (nothing allocated) when the CPU must copy. */
static int migrate_offload_arrays_alloc(struct migrate_offload_arrays *a, unsigned int n)
{
	const size_t size[MIGRATE_OFFLOAD_NR_ARRAYS] = {
		array_size(n, sizeof(struct folio *)),
		array_size(n, sizeof(struct folio *)),
		2 * BITS_TO_LONGS(n) * sizeof(long),
	};
	mempool_t *reserve = READ_ONCE(migrate_offload_reserve);
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < MIGRATE_OFFLOAD_NR_ARRAYS; i++) {
		if (WARN_ON_ONCE(size[i] > PAGE_SIZE))
			goto fail;
		a->p[i] = kmalloc(size[i], MIGRATE_OFFLOAD_GFP);
		if (!a->p[i] && reserve) {
			a->p[i] = mempool_alloc_preallocated(reserve);
			a->reserved[i] = true;
		}
		if (!a->p[i])
			goto fail;
	}
	return 0;
fail:
	migrate_offload_arrays_free(a);
	memset(a, 0, sizeof(*a));
	return -ENOMEM;
}

static bool migrate_offload_folio_ok(struct folio *src)
{
	return migrate_offload_folio_eligible(src) && migrate_offload_folio_refs_ok(src);
}

/*
 * The eligible folios of a batch that passed the reason check: how many,
 * and the bytes of the first MIGRATE_OFFLOAD_MAX_FOLIOS, the most one call
 * of the migrator takes.  Without allocating.
 */
static unsigned int migrate_offload_count_eligible(struct list_head *src_folios,
						   unsigned int *total, size_t *bytes)
{
	unsigned int n = 0;
	struct folio *src;

	*total = 0;
	*bytes = 0;
	list_for_each_entry(src, src_folios, lru) {
		(*total)++;
		if (!migrate_offload_folio_ok(src))
			continue;
		if (n++ < MIGRATE_OFFLOAD_MAX_FOLIOS)
			*bytes += folio_size(src);
	}
	return n;
}

/*
 * The destinations of @nr folios the engine of @m may still write: the
 * move phase fails their migration (see migrate_offload_copied()), and
 * this reference, never dropped, keeps each of them from ever being freed
 * and reused.  They are lost memory, which is what a hung engine costs.
 */
static void migrate_offload_hold_stuck(struct migrator *m, struct folio **dst, unsigned int nr)
{
	unsigned int i;

	if (!nr)
		return;
	for (i = 0; i < nr; i++)
		folio_get(dst[i]);
	pr_warn_ratelimited("migrator %s left %u folios stuck: their migration fails and their destinations are kept for good\n",
			    m->name, nr);
}

/*
 * What copy_highpage() copies besides the data, for a folio the migrator
 * copied: a migrator copies bytes only, and a DMA engine cannot do more.
 * On arm64 this is the MTE allocation tags of a PROT_MTE page, which the
 * first mapping of the destination would otherwise clear (mte_sync_tags()
 * finds it untagged), and the task's next tagged access would fault.  Done
 * here, once the migrator is done with the batch and before the move phase
 * maps anything, so that no migrator needs to know of page metadata.
 */
static void migrate_offload_copy_metadata(struct folio *dst, struct folio *src)
{
	long i, nr = folio_nr_pages(src);

	for (i = 0; i < nr; i++)
		copy_highpage_metadata(folio_page(dst, i), folio_page(src, i));
}

/*
 * Hand the eligible pairs of the batch to @m, and record the destination
 * folios it copied and those it left stuck (sorted, for
 * migrate_offload_copied()).  Each folio of the batch is counted once:
 * skipped as small (every folio of a batch whose eligible bytes are under
 * the admin's threshold), skipped as ineligible, copied, stuck, or
 * fallback (eligible, but copied by the CPU after all).
 */
static void migrate_offload_run(struct migrator *m, struct migrate_offload_state *st,
				struct list_head *src_folios,
				struct list_head *dst_folios, int reason)
{
	struct migrate_copy_batch b = { .reason = reason };
	struct migrate_offload_arrays a;
	unsigned int i, n = 0, eligible, max, total;
	struct folio *src, *dst;
	size_t bytes;
	u64 start;
	int ret;

	eligible = migrate_offload_count_eligible(src_folios, &total, &bytes);
	if (!eligible) {
		count_vm_events(PGMIGRATE_OFFLOAD_SKIP_INELIGIBLE, total);
		return;
	}
	if (!migrate_offload_batch_big_enough(bytes, READ_ONCE(migrate_offload_min_batch_bytes))) {
		count_vm_events(PGMIGRATE_OFFLOAD_SKIP_SMALL, total);
		return;
	}
	count_vm_events(PGMIGRATE_OFFLOAD_SKIP_INELIGIBLE, total - eligible);
	/* Past the arrays' capacity (see MIGRATE_OFFLOAD_MAX_FOLIOS). */
	max = min_t(unsigned int, eligible, MIGRATE_OFFLOAD_MAX_FOLIOS);
	count_vm_events(PGMIGRATE_OFFLOAD_FALLBACK, eligible - max);
	if (migrate_offload_arrays_alloc(&a, max)) {
		count_vm_events(PGMIGRATE_OFFLOAD_FALLBACK, max);
		return;
	}
	b.src = a.p[0];
	b.dst = a.p[1];
	b.copied = a.p[2];
	b.stuck = b.copied + BITS_TO_LONGS(max);

	/* The pairs.  A folio may have gained a reference since the count. */
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
	/* Those that gained a reference since the count. */
	count_vm_events(PGMIGRATE_OFFLOAD_SKIP_INELIGIBLE, max - n);
	if (!n) {
		migrate_offload_arrays_free(&a);
		return;
	}
	b.nr = n;
	bitmap_zero(b.copied, n);
	bitmap_zero(b.stuck, n);

	start = ktime_get_ns();
	this_cpu_inc(migrate_offload_in_flight);
	ret = m->copy(m, &b);
	this_cpu_dec(migrate_offload_in_flight);
	start = ktime_get_ns() - start;

	/*
	 * Keep the copied destinations, sorted, at the start of dst[], and
	 * the stuck ones, sorted, right after them.  src[] holds the stuck
	 * ones meanwhile: src[i] is not needed once folio i is looked at.
	 */
	st->nr_copied = 0;
	st->nr_stuck = 0;
	for (i = 0; i < n; i++) {
		if (test_bit(i, b.stuck)) {
			b.src[st->nr_stuck++] = b.dst[i];
			continue;
		}
		if (!test_bit(i, b.copied) || migrate_offload_should_fail(b.src[i], b.dst[i]))
			continue;
		migrate_offload_copy_metadata(b.dst[i], b.src[i]);
		b.dst[st->nr_copied++] = b.dst[i];
	}
	memcpy(b.dst + st->nr_copied, b.src, st->nr_stuck * sizeof(*b.dst));
	sort(b.dst, st->nr_copied, sizeof(*b.dst), migrate_offload_cmp_folio, NULL);
	sort(b.dst + st->nr_copied, st->nr_stuck, sizeof(*b.dst), migrate_offload_cmp_folio, NULL);
	migrate_offload_hold_stuck(m, b.dst + st->nr_copied, st->nr_stuck);

	/* Only dst[] lives on, until the move phase is over. */
	migrate_offload_array_free(a.p[0], a.reserved[0]);
	migrate_offload_array_free(a.p[2], a.reserved[2]);
	st->copied = b.dst;
	st->reserved = a.reserved[1];

	count_vm_event(PGMIGRATE_OFFLOAD_BATCHES);
	count_vm_events(PGMIGRATE_OFFLOAD_COPIED, st->nr_copied);
	count_vm_events(PGMIGRATE_OFFLOAD_STUCK, st->nr_stuck);
	count_vm_events(PGMIGRATE_OFFLOAD_FALLBACK, n - st->nr_copied - st->nr_stuck);
	trace_migrate_offload_batch(reason, n, b.bytes, st->nr_copied, start, ret);
}

/*
 * Is the whole batch, eligible folios or not, under min_batch_bytes?  Most
 * batches of 4 KB pages are, and this and the reason check are all they
 * pay for a registered migrator: no SRCU, no per-folio checks, and the walk
 * stops as soon as the sizes reach the threshold.  Counts the batch's folios
 * as skipped small if so.
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

/*
 * The out-of-line part of migrate_offload_copy_folios().  The reason comes
 * first, from the cached effective mask: a batch the admin (or the
 * migrator) keeps from the migrator is counted as such, whatever its size.
 * Under SRCU the reason is checked again against the migrator actually
 * found, which may have changed since.
 */
void __migrate_offload_copy_folios(struct migrate_offload_state *st,
				   struct list_head *src_folios,
				   struct list_head *dst_folios, int reason)
{
	struct migrator *m;
	int idx;

	if (st->copied || list_empty(src_folios))
		return;
	if (reason < 0 || reason >= MR_TYPES ||
	    !(READ_ONCE(migrate_offload_effective) & BIT(reason))) {
		count_vm_events(PGMIGRATE_OFFLOAD_SKIP_REASON, list_count_nodes(src_folios));
		return;
	}
	if (migrate_offload_batch_too_small(src_folios))
		return;

	idx = srcu_read_lock(&migrate_offload_srcu);
	m = srcu_dereference(migrate_offload_active, &migrate_offload_srcu);
	if (m && migrate_offload_reason_allowed(m, reason))
		migrate_offload_run(m, st, src_folios, dst_folios, reason);
	srcu_read_unlock(&migrate_offload_srcu, idx);
}

/* The out-of-line part of migrate_offload_copied(). */
enum migrate_offload_copy __migrate_offload_copied(const struct migrate_offload_state *st,
						   const struct folio *dst)
{
	if (bsearch(&dst, st->copied, st->nr_copied, sizeof(*st->copied),
		    migrate_offload_cmp_folio))
		return MIGRATE_OFFLOAD_COPY_DONE;
	if (bsearch(&dst, st->copied + st->nr_copied, st->nr_stuck, sizeof(*st->copied),
		    migrate_offload_cmp_folio))
		return MIGRATE_OFFLOAD_COPY_STUCK;
	return MIGRATE_OFFLOAD_COPY_CPU;
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
	migrate_offload_array_free(st->copied, st->reserved);
	st->copied = NULL;
	st->nr_copied = 0;
	st->nr_stuck = 0;
}

static int migrate_offload_in_flight_get(void *data, u64 *val)
{
	*val = max(migrate_offload_copies_in_flight(), 0L);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(migrate_offload_in_flight_fops, migrate_offload_in_flight_get,
			 NULL, "%llu\n");

/* /sys/kernel/debug/migrate_offload/in_flight: copies running now. */
static int __init migrate_offload_debugfs_init(void)
{
	struct dentry *dir = debugfs_create_dir("migrate_offload", NULL);

	debugfs_create_file_unsafe("in_flight", 0400, dir, NULL,
				   &migrate_offload_in_flight_fops);
	return 0;
}
late_initcall(migrate_offload_debugfs_init);

#if IS_ENABLED(CONFIG_MIGRATION_COPY_OFFLOAD_KUNIT_TEST)
#include "tests/migrate_copy_offload_kunit.h"
#endif
