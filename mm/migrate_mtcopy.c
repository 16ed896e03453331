// SPDX-License-Identifier: GPL-2.0
/*
 * A migrator that copies a batch with several CPUs.
 *
 * The pages of the batch are shared out in equal runs over up to "threads"
 * parts; a large folio may be split over several parts, so threads stay busy
 * when a batch has fewer folios than threads.  Part 0 is copied by the
 * migrating task itself, the others by an unbound workqueue on the
 * destination node (see mtcopy_worker_node() for when it is another).
 * When the calling task has finished its own part it
 * copies every part no worker has started yet, so a busy or starved
 * workqueue delays nothing: the caller waits only for copies already
 * running, each one bounded.
 *
 * Copies use copy_mc_highpage(): a folio whose copy hits a memory error is
 * left unmarked, and the memory failure is queued, as the CPU copy of the
 * move phase would queue it.  The move phase then copies that folio with
 * folio_mc_copy(), which reads the poisoned line once more (a second
 * recoverable machine check, not a crash) and fails the folio's migration
 * as without a migrator: the core has no way to fail a folio on a
 * migrator's word, and must not, since only the move phase may decide.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/cpumask.h>
#include <linux/highmem.h>
#include <linux/mempool.h>
#include <linux/migrate_copy_offload.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/topology.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#define MTCOPY_MAX_THREADS	32
#define MTCOPY_AUTO_CAP		8

static unsigned int threads;
module_param(threads, uint, 0644);
MODULE_PARM_DESC(threads,
		 "Threads per batch, the migrating task included (0, the default: the task and one per other CPU of the destination node, at most 8; at most 32)");

static struct workqueue_struct *mtcopy_wq;

/*
 * Batch states for when memory is short, as under the reclaim that
 * demotes: as many as the core keeps batch arrays for.
 */
static mempool_t *mtcopy_reserve;

struct mtcopy_batch;

/* Pages [first, end) of the batch, counted over all its folios in order. */
struct mtcopy_part {
	struct work_struct work;
	struct mtcopy_batch *mb;
	unsigned long first, end;
	atomic_t claimed;
};

/*
 * At most a page, so never a high-order allocation: 32 parts of about 64
 * bytes (more with lockdep) and a bitmap of up to MIGRATE_OFFLOAD_MAX_FOLIOS
 * bits make about 2.1 KB with 4 KB pages and 3 KB with 64 KB pages.
 */
struct mtcopy_batch {
	struct migrate_copy_batch *b;
	DECLARE_BITMAP(failed, MIGRATE_OFFLOAD_MAX_FOLIOS);	/* folios with an error */
	bool reserved;					/* from mtcopy_reserve */
	unsigned int nr_parts;
	struct mtcopy_part parts[] __counted_by(nr_parts);
};

static_assert(struct_size_t(struct mtcopy_batch, parts, MTCOPY_MAX_THREADS) <= PAGE_SIZE);

static void mtcopy_run(struct mtcopy_part *p)
{
	struct migrate_copy_batch *b = p->mb->b;
	unsigned long start = 0, pg;
	unsigned int i;

	for (i = 0; i < b->nr && start < p->end; i++) {
		unsigned long n = folio_nr_pages(b->src[i]);
		unsigned long from = max(p->first, start), to = min(p->end, start + n);

		for (pg = from; pg < to; pg++) {
			if (test_bit(i, p->mb->failed))
				break;
			if (copy_mc_highpage(folio_page(b->dst[i], pg - start),
					     folio_page(b->src[i], pg - start)))
				set_bit(i, p->mb->failed);
			cond_resched();
		}
		start += n;
	}
}

/* Whoever claims a part first copies it: a worker, or the caller. */
static bool mtcopy_claim(struct mtcopy_part *p)
{
	return !atomic_xchg(&p->claimed, 1);
}

static void mtcopy_work(struct work_struct *work)
{
	struct mtcopy_part *p = container_of(work, struct mtcopy_part, work);

	if (mtcopy_claim(p))
		mtcopy_run(p);
}

/* CPUs of @nid that can help the caller, which runs on node @self. */
static unsigned int mtcopy_helpers(int nid, int self)
{
	unsigned int n = nr_cpus_node(nid);

	return nid == self && n ? n - 1 : n;
}

/*
 * Where the workers run: on the destination node, whose memory they
 * write, if it has a CPU besides the caller's.  A memory-only destination
 * (a slower tier, the usual target of demotion) has none, and a small
 * node may have only the caller's: then the source node, then the
 * caller's own.
 */
static int mtcopy_worker_node(int dst, int src)
{
	int self = numa_node_id();

	if (mtcopy_helpers(dst, self))
		return dst;
	if (mtcopy_helpers(src, self))
		return src;
	return self;
}

/* The caller, and by default one worker per helping CPU of @nid. */
static unsigned int mtcopy_nr_threads(int nid, unsigned long pages)
{
	unsigned int n = READ_ONCE(threads);

	if (!n)
		n = min_t(unsigned int, 1 + mtcopy_helpers(nid, numa_node_id()),
			  MTCOPY_AUTO_CAP);
	n = clamp_t(unsigned int, n, 1, MTCOPY_MAX_THREADS);
	return min_t(unsigned long, n, pages);
}

static int mtcopy_copy(struct migrator *m, struct migrate_copy_batch *b)
{
	unsigned long pages = b->bytes >> PAGE_SHIFT, per, i;
	int nid = mtcopy_worker_node(folio_nid(b->dst[0]), folio_nid(b->src[0]));
	unsigned int n = mtcopy_nr_threads(nid, pages);
	struct mtcopy_batch *mb;

	if (WARN_ON_ONCE(b->nr > MIGRATE_OFFLOAD_MAX_FOLIOS))
		return -EINVAL;
	/*
	 * No reclaim from here, not even a kswapd wakeup.  Short of memory, a
	 * reserved state; without one, the CPU copies the batch.
	 */
	mb = kzalloc(struct_size(mb, parts, n), MIGRATE_OFFLOAD_GFP);
	if (!mb) {
		mb = mempool_alloc_preallocated(mtcopy_reserve);
		if (!mb)
			return -ENOMEM;
		memset(mb, 0, struct_size(mb, parts, n));
		mb->reserved = true;
	}
	mb->b = b;
	mb->nr_parts = n;
	per = DIV_ROUND_UP(pages, n);
	for (i = 0; i < n; i++) {
		struct mtcopy_part *p = &mb->parts[i];

		p->mb = mb;
		p->first = min(i * per, pages);
		p->end = min(p->first + per, pages);
		INIT_WORK(&p->work, mtcopy_work);
		if (i)
			queue_work_node(nid, mtcopy_wq, &p->work);
	}

	/* Part 0, then whatever no worker has started. */
	for (i = 0; i < n; i++)
		if (mtcopy_claim(&mb->parts[i]))
			mtcopy_run(&mb->parts[i]);
	/* Parts being copied by workers: wait; parts still queued: cancel. */
	for (i = 1; i < n; i++)
		cancel_work_sync(&mb->parts[i].work);

	for (i = 0; i < b->nr; i++)
		if (!test_bit(i, mb->failed))
			__set_bit(i, b->copied);
	if (mb->reserved)
		mempool_free(mb, mtcopy_reserve);
	else
		kfree(mb);
	return 0;
}

static struct migrator mtcopy_migrator = {
	.name = "mtcopy",
	.owner = THIS_MODULE,
	/* Every migration the admin lets through. */
	.reasons = BIT(MR_TYPES) - 1,
	.copy = mtcopy_copy,
};

static int __init mtcopy_init(void)
{
	int ret;

	/* WQ_MEM_RECLAIM: demotion copies from reclaim. */
	mtcopy_wq = alloc_workqueue("migrate_mtcopy", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!mtcopy_wq)
		return -ENOMEM;
	mtcopy_reserve = mempool_create_kmalloc_pool(nr_node_ids + 2,
						     struct_size_t(struct mtcopy_batch, parts,
								   MTCOPY_MAX_THREADS));
	if (!mtcopy_reserve) {
		ret = -ENOMEM;
		goto err_wq;
	}
	ret = migrate_offload_register(&mtcopy_migrator);
	if (ret)
		goto err_reserve;
	return 0;

err_reserve:
	mempool_destroy(mtcopy_reserve);
err_wq:
	destroy_workqueue(mtcopy_wq);
	return ret;
}

static void __exit mtcopy_exit(void)
{
	/* Waits for every batch in flight; their workers are done by then. */
	migrate_offload_unregister(&mtcopy_migrator);
	mempool_destroy(mtcopy_reserve);
	destroy_workqueue(mtcopy_wq);
}

module_init(mtcopy_init);
module_exit(mtcopy_exit);
MODULE_DESCRIPTION("Multi-threaded CPU migrator for migration copy offload");
MODULE_LICENSE("GPL");
