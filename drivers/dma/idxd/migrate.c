// SPDX-License-Identifier: GPL-2.0
/*
 * The DSA migrator: an idxd sub-driver that copies the folios of page
 * migration batches on DSA kernel work queues.
 *
 * It binds kernel work queues whose driver_name starts with "migrate"
 * (accel-config config-wq --type=kernel --driver-name=migrate).  The first
 * bound queue registers the migrator with the migration copy offload core;
 * unbinding the last one unregisters it.  The copies themselves are in
 * migrate_copy.c.
 *
 * What it is for: memory tiering.  DSA queues are engines the machine
 * shares (with crypto, storage, user space), and the reviewers of the
 * earlier public series asked that they serve tiering rather than every
 * move_pages(2) caller.  So the migrator is meant, by default, only for
 * promotion (NUMA balancing's misplaced folios), demotion and DAMON's
 * migrations.  The one place to widen that is the module parameter
 * "reasons", read when the module loads; the admin's
 * /sys/kernel/mm/migrate_offload/reasons then narrows what is offloaded
 * at any time (the core offloads a reason only if both allow it).
 *
 * Lifetime: the copy path reads the set of bound queues under
 * idxd_mig_srcu.  Removing a queue publishes a set without it and waits
 * for that SRCU (and, for the last queue, for the core's unregistration),
 * so no copy uses the queue when it is quiesced and its descriptors freed.
 *
 * Statistics per queue: /sys/kernel/debug/idxd_migrate/<queue>/stats.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/kstrtox.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/migrate_copy_offload.h>
#include <linux/migrate_mode.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu-refcount.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/string.h>
#include <uapi/linux/idxd.h>

#include "idxd.h"
#include "registers.h"
#include "migrate.h"

/* Entries per BATCH descriptor at most: bounds the coherent memory per queue. */
#define IDXD_MIG_BATCH_CAP	64

/* Bytes per MEMMOVE at most: a THP is 2 MB, a PUD-sized folio never migrates here. */
#define IDXD_MIG_XFER_CAP	SZ_1G

#define IDXD_MIG_TIMEOUT_DEFAULT_MS	1000
#define IDXD_MIG_TIMEOUT_MAX_MS		60000
/* After a timeout, the late descriptors get this many timeouts more to end. */
#define IDXD_MIG_SETTLE_FACTOR		10

/* Memory tiering: promotion, demotion, DAMON (see the file comment). */
#define IDXD_MIG_DEFAULT_REASONS	"numa_misplaced demotion damon"

static unsigned int timeout_ms = IDXD_MIG_TIMEOUT_DEFAULT_MS;

/**
 * idxd_mig_timeout_set - set the timeout_ms module parameter
 * @val: the text written
 * @kp: the parameter
 *
 * A timeout of 0 would fail every copy, and one of minutes would hold a
 * batch of folio locks (and, after a timeout, ten times as long) for that
 * long, so both are refused rather than clamped.
 *
 * Return: 0, or -EINVAL for anything but a number of 1 to 60000.
 */
VISIBLE_IF_KUNIT int idxd_mig_timeout_set(const char *val, const struct kernel_param *kp)
{
	unsigned int ms;

	if (kstrtouint(val, 0, &ms) || !ms || ms > IDXD_MIG_TIMEOUT_MAX_MS)
		return -EINVAL;
	WRITE_ONCE(*(unsigned int *)kp->arg, ms);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(idxd_mig_timeout_set);

static const struct kernel_param_ops idxd_mig_timeout_ops = {
	.set = idxd_mig_timeout_set,
	.get = param_get_uint,
};

module_param_cb(timeout_ms, &idxd_mig_timeout_ops, &timeout_ms, 0644);
MODULE_PARM_DESC(timeout_ms,
		 "Milliseconds the descriptors of one copy may take, 1 to 60000 (default 1000); other values are refused. A queue that misses it gets 10 times as long more to prove its late descriptors ended (completed, drained, or the device stopped), then what it cannot prove ended is reported stuck; either way the queue is not used again until it is bound again");

static char *reasons = IDXD_MIG_DEFAULT_REASONS;
module_param(reasons, charp, 0444);
MODULE_PARM_DESC(reasons,
		 "Migrations the DSA queues are meant for, read when the module loads: names of migrate_reason_names[] separated by blanks, or \"all\", as in /sys/kernel/mm/migrate_offload/reasons (default \"numa_misplaced demotion damon\": memory tiering). The admin's reasons file still decides which of these are offloaded");

static struct dentry *idxd_mig_dbgfs_root;

DEFINE_STATIC_SRCU(idxd_mig_srcu);

static struct idxd_mig_pool idxd_mig_pool = {
	.lock = __MUTEX_INITIALIZER(idxd_mig_pool.lock),
	.wqs = LIST_HEAD_INIT(idxd_mig_pool.wqs),
	.srcu = &idxd_mig_srcu,
};

static struct device *idxd_mig_dev(struct idxd_mig_chan *ch)
{
	struct idxd_mig_wq *mw = ch->priv;

	return &mw->wq->idxd->pdev->dev;
}

static int idxd_mig_map(struct idxd_mig_chan *ch, struct folio *folio,
			enum dma_data_direction dir, dma_addr_t *addr)
{
	struct device *dev = idxd_mig_dev(ch);

	*addr = dma_map_page(dev, folio_page(folio, 0), 0, folio_size(folio), dir);
	return dma_mapping_error(dev, *addr) ? -ENOMEM : 0;
}

static void idxd_mig_unmap(struct idxd_mig_chan *ch, dma_addr_t addr, size_t size,
			   enum dma_data_direction dir)
{
	dma_unmap_page(idxd_mig_dev(ch), addr, size, dir);
}

static int idxd_mig_get(struct idxd_mig_chan *ch, struct idxd_mig_sub *sub)
{
	struct idxd_mig_wq *mw = ch->priv;
	struct idxd_desc *desc = idxd_alloc_desc(mw->wq, IDXD_OP_NONBLOCK);

	if (IS_ERR(desc))
		return PTR_ERR(desc);
	sub->hw = desc->hw;
	sub->comp = desc->completion;
	sub->comp_dma = desc->compl_dma;
	sub->cookie = desc;
	return 0;
}

/*
 * No completion interrupt (RCI) is requested: the idxd interrupt thread
 * never sees these descriptors, the engine polls their records.
 */
static int idxd_mig_submit(struct idxd_mig_chan *ch, struct idxd_mig_sub *sub)
{
	struct idxd_mig_wq *mw = ch->priv;

	return idxd_submit_desc(mw->wq, sub->cookie);
}

static void idxd_mig_put(struct idxd_mig_chan *ch, struct idxd_mig_sub *sub)
{
	struct idxd_mig_wq *mw = ch->priv;

	idxd_free_desc(mw->wq, sub->cookie);
}

/**
 * idxd_mig_alive - the engine's ->alive(): may the device still write?
 * @ch: a channel of a bound queue
 *
 * False only when the device provably does no more DMA for what was
 * submitted: the idxd driver's own state is not ENABLED (it set HALTED on
 * a halt interrupt, or DISABLED once a Disable or Reset Device command
 * completed), or the hardware's GENSTS says DISABLED or HALT.  The second
 * test matters because software state lags: a software reset turns it
 * back to ENABLED within milliseconds, and a PCI function level reset
 * (the "reset" file in sysfs) leaves GENSTS disabled while the idxd
 * driver, which has no reset handler in 6.12, still says ENABLED.  A
 * surprise-removed device reads all ones, which is HALT.
 *
 * DRAIN (a Disable Device command in progress) counts as alive: the
 * device is still finishing the descriptors it holds, and it reports
 * DISABLED once it is done.
 *
 * Not seen here: a software reset that completes entirely between two
 * polls.  The reset drops the queue's descriptors without writing their
 * records, so the copy then times out, and the Drain the engine submits
 * to settle the queue (after the reset, on the re-enabled queue) completes
 * only after everything submitted before it, which proves the dropped
 * descriptors gone.
 *
 * Return: false if the device stopped, true if it may still write.
 */
VISIBLE_IF_KUNIT bool idxd_mig_alive(struct idxd_mig_chan *ch)
{
	struct idxd_mig_wq *mw = ch->priv;
	struct idxd_device *idxd = mw->wq->idxd;
	union gensts_reg gensts;

	if (READ_ONCE(idxd->state) != IDXD_DEV_ENABLED)
		return false;
	gensts.bits = ioread32(idxd->reg_base + IDXD_GENSTATS_OFFSET);
	return gensts.state == IDXD_DEVICE_STATE_ENABLED ||
	       gensts.state == IDXD_DEVICE_STATE_DRAIN;
}
EXPORT_SYMBOL_IF_KUNIT(idxd_mig_alive);

static const struct idxd_mig_chan_ops idxd_mig_chan_ops = {
	.map = idxd_mig_map,
	.unmap = idxd_mig_unmap,
	.get = idxd_mig_get,
	.submit = idxd_mig_submit,
	.put = idxd_mig_put,
	.alive = idxd_mig_alive,
};

/**
 * idxd_mig_limits_init - the waits of one copy
 * @lim: filled in
 * @timeout_ms: the timeout_ms parameter, read once by the caller
 */
VISIBLE_IF_KUNIT void idxd_mig_limits_init(struct idxd_mig_limits *lim, unsigned int timeout_ms)
{
	lim->timeout = msecs_to_jiffies(timeout_ms);
	lim->settle = IDXD_MIG_SETTLE_FACTOR * lim->timeout;
}
EXPORT_SYMBOL_IF_KUNIT(idxd_mig_limits_init);

/**
 * idxd_mig_pool_copy - copy a batch on the queues published in @pool
 * @pool: the bound queues
 * @b: the batch
 *
 * Every call takes the next value of the set's rotor, so that concurrent
 * migrations start on different queues among the nearest ones (the
 * engine picks those by node distance and round-robins their slots).
 *
 * Return: what idxd_mig_copy() returns, or -ENODEV when no queue is bound.
 */
VISIBLE_IF_KUNIT int idxd_mig_pool_copy(struct idxd_mig_pool *pool, struct migrate_copy_batch *b)
{
	struct idxd_mig_limits lim;
	struct idxd_mig_set *set;
	int idx, ret = -ENODEV;

	idxd_mig_limits_init(&lim, READ_ONCE(timeout_ms));
	idx = srcu_read_lock(pool->srcu);
	set = srcu_dereference(pool->set, pool->srcu);
	if (set)
		ret = idxd_mig_copy(set->chan, set->nr,
				    (unsigned int)atomic_inc_return(&set->rotor), b, &lim);
	srcu_read_unlock(pool->srcu, idx);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(idxd_mig_pool_copy);

static int idxd_mig_copy_batch(struct migrator *m, struct migrate_copy_batch *b)
{
	return idxd_mig_pool_copy(&idxd_mig_pool, b);
}

static struct migrator idxd_migrator = {
	.name = "idxd_migrate",
	.owner = THIS_MODULE,
	/* .reasons: set from the "reasons" parameter when the module loads. */
	.copy = idxd_mig_copy_batch,
};

/**
 * idxd_mig_parse_reasons - the migrations the migrator is meant for
 * @val: the "reasons" parameter, or NULL for the default
 * @mask: the mask of BIT(MR_*); changed only on success
 *
 * Same syntax as the core's reasons file (migrate_offload_parse_reasons()).
 * "none" is refused too: a migrator meant for nothing would only fail to
 * register when its first queue is bound.
 *
 * Return: 0 or -EINVAL.
 */
VISIBLE_IF_KUNIT int idxd_mig_parse_reasons(const char *val, unsigned long *mask)
{
	unsigned long parsed;
	int ret;

	if (!val)
		val = IDXD_MIG_DEFAULT_REASONS;
	ret = migrate_offload_parse_reasons(val, strlen(val), &parsed);
	if (ret)
		return ret;
	if (!parsed)
		return -EINVAL;
	*mask = parsed;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(idxd_mig_parse_reasons);

/* Publish the bound queues as a new set; the old one is freed after the copies using it. */
static int idxd_mig_publish(struct idxd_mig_pool *pool)
{
	struct idxd_mig_set *set = NULL, *old;
	struct idxd_mig_wq *mw;
	unsigned int i = 0;

	lockdep_assert_held(&pool->lock);
	if (pool->nr) {
		set = kzalloc(struct_size(set, chan, pool->nr), GFP_KERNEL);
		if (!set)
			return -ENOMEM;
		set->nr = pool->nr;
		list_for_each_entry(mw, &pool->wqs, node)
			set->chan[i++] = &mw->ch;
	}
	old = rcu_replace_pointer(pool->set, set, lockdep_is_held(&pool->lock));
	synchronize_srcu(pool->srcu);
	kfree(old);
	return 0;
}

/*
 * After a queue left the list: publish the smaller set, or, with no memory
 * for one, keep copies off every queue until the next change.
 */
static void idxd_mig_republish(struct idxd_mig_pool *pool)
{
	struct idxd_mig_set *old;

	if (!idxd_mig_publish(pool))
		return;
	old = rcu_replace_pointer(pool->set, NULL, lockdep_is_held(&pool->lock));
	synchronize_srcu(pool->srcu);
	kfree(old);
}

/**
 * idxd_mig_pool_add - add a queue to @pool and publish it to copies
 * @pool: the bound queues; its lock held
 * @mw: the queue, set up
 *
 * Return: 0, or -ENOMEM (and @pool is as it was).
 */
VISIBLE_IF_KUNIT int idxd_mig_pool_add(struct idxd_mig_pool *pool, struct idxd_mig_wq *mw)
{
	int ret;

	lockdep_assert_held(&pool->lock);
	list_add_tail(&mw->node, &pool->wqs);
	pool->nr++;
	ret = idxd_mig_publish(pool);
	if (ret) {
		list_del(&mw->node);
		pool->nr--;
	}
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(idxd_mig_pool_add);

/**
 * idxd_mig_pool_del - take a queue out of @pool
 * @pool: the bound queues; its lock held
 * @mw: the queue
 *
 * Returns once no copy can reach @mw any more.  Sleeps.
 */
VISIBLE_IF_KUNIT void idxd_mig_pool_del(struct idxd_mig_pool *pool, struct idxd_mig_wq *mw)
{
	lockdep_assert_held(&pool->lock);
	list_del(&mw->node);
	pool->nr--;
	idxd_mig_republish(pool);
}
EXPORT_SYMBOL_IF_KUNIT(idxd_mig_pool_del);

static int idxd_mig_add(struct idxd_mig_wq *mw)
{
	struct idxd_mig_pool *pool = &idxd_mig_pool;
	int ret;

	mutex_lock(&pool->lock);
	ret = idxd_mig_pool_add(pool, mw);
	if (ret)
		goto unlock;
	if (pool->nr == 1) {
		ret = migrate_offload_register(&idxd_migrator);
		if (ret) {
			dev_err(&mw->wq->idxd->pdev->dev,
				"cannot register the migrator (%d): is another one (migrate_mtcopy?) loaded?\n",
				ret);
			idxd_mig_pool_del(pool, mw);
		}
	}
unlock:
	mutex_unlock(&pool->lock);
	return ret;
}

static void idxd_mig_del(struct idxd_mig_wq *mw)
{
	struct idxd_mig_pool *pool = &idxd_mig_pool;

	mutex_lock(&pool->lock);
	if (pool->nr == 1)
		migrate_offload_unregister(&idxd_migrator);
	idxd_mig_pool_del(pool, mw);
	mutex_unlock(&pool->lock);
}

/**
 * idxd_mig_wq_caps - what the migrator can do on a work queue
 * @wq: an enabled kernel work queue (num_descs is known only once enabled)
 * @caps: filled in; on refusal, @caps->why says why
 *
 * The operations come from wq->opcap_bmap.  In 6.12 it is allocated only
 * when WQCAP says the device has per-queue operation configuration
 * (init.c:222), as a copy of the device's OPCAP (idxd->opcap_bmap, read
 * at init.c:551-556).  The admin may narrow it through the queue's
 * op_config file, which exists only then (sysfs.c:1360), must be a
 * subset of OPCAP and is refused while the queue is enabled
 * (sysfs.c:1249-1279).  It goes to WQCFG when the queue is configured
 * (device.c:975) and back to the device's OPCAP when the queue's
 * configuration is reset (device.c:378).  Without op_config (DSA 1.0) it
 * is NULL and a queue accepts every operation of OPCAP.  Read here after
 * idxd_drv_enable_wq(), it is what the queue was given and cannot change
 * until the queue is disabled.
 *
 * MEMMOVE is the copy, DRAIN proves a late queue idle (the engine cannot
 * bound a copy without it); BATCH only saves portal writes.
 *
 * Return: 0; -EOPNOTSUPP if the queue lacks MEMMOVE or DRAIN; -EINVAL
 * for fewer than 2 descriptors or a transfer size below a page.
 */
VISIBLE_IF_KUNIT int idxd_mig_wq_caps(struct idxd_wq *wq, struct idxd_mig_caps *caps)
{
	struct idxd_device *idxd = wq->idxd;
	const unsigned long *ops = wq->opcap_bmap ?: idxd->opcap_bmap;

	memset(caps, 0, sizeof(*caps));
	if (!ops || !test_bit(DSA_OPCODE_MEMMOVE, ops)) {
		caps->why = "its operations (op_config) lack MEMMOVE";
		return -EOPNOTSUPP;
	}
	if (!test_bit(DSA_OPCODE_DRAIN, ops)) {
		caps->why = "its operations lack DRAIN, which bounds a late copy";
		return -EOPNOTSUPP;
	}
	/* One descriptor stays aside for draining. */
	if (wq->num_descs < 2) {
		caps->why = "it needs 2 descriptors or more (size; threshold if shared)";
		return -EINVAL;
	}
	if (wq->max_xfer_bytes < PAGE_SIZE) {
		caps->why = "its max_transfer_size is below a page";
		return -EINVAL;
	}

	caps->nr_slots = min_t(unsigned int, wq->num_descs - 1, IDXD_MIG_MAX_SLOTS);
	/* The device takes powers of two (WQCFG holds their logarithms). */
	caps->max_batch = 1;
	if (test_bit(DSA_OPCODE_BATCH, ops) && wq->max_batch_size >= 2)
		caps->max_batch = min_t(unsigned int, rounddown_pow_of_two(wq->max_batch_size),
					IDXD_MIG_BATCH_CAP);
	caps->max_xfer = min_t(u64, rounddown_pow_of_two(wq->max_xfer_bytes), IDXD_MIG_XFER_CAP);
	caps->cache_control = idxd->hw.gen_cap.cache_control_mem;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(idxd_mig_wq_caps);

/**
 * idxd_mig_wq_needs_quiesce - may @wq be quiesced, or was it already?
 * @wq: a work queue; its wq_lock held
 *
 * After a halt that needs an FLR or a system reset, the idxd interrupt
 * thread quiesces every enabled kernel queue (irq.c:500, idxd_wqs_quiesce()
 * at init.c:852): its percpu_ref wq_active is killed and wq_dead, which
 * the ref's release completes once, is waited for and so consumed
 * (device.c:412-419).  Nothing revives the ref until the queue is enabled
 * again.  A second quiesce from .remove would call percpu_ref_kill() on
 * the dead ref (a WARN, lib/percpu-refcount.c:390), drop the count below
 * zero, so the release never runs again, and wait for wq_dead forever
 * with wq_lock held.
 *
 * Under wq_lock a dying ref can only be a finished quiesce: every path
 * that kills it (__idxd_wq_quiesce(), and the interrupt handle revoke at
 * irq.c:189-202, which kills and revives it) holds wq_lock until the
 * release has run, or until it revived the ref.  The upstream dmaengine
 * and iaa_crypto sub-drivers quiesce unconditionally and share the
 * problem.
 *
 * Return: true if the queue still has to be quiesced.
 */
VISIBLE_IF_KUNIT bool idxd_mig_wq_needs_quiesce(struct idxd_wq *wq)
{
	lockdep_assert_held(&wq->wq_lock);
	return !percpu_ref_is_dying(&wq->wq_active);
}
EXPORT_SYMBOL_IF_KUNIT(idxd_mig_wq_needs_quiesce);

/**
 * idxd_mig_wq_quiesce_locked - stop submissions to @wq, unless a halt did
 * @wq: an enabled work queue; its wq_lock held
 *
 * See idxd_mig_wq_needs_quiesce().
 */
VISIBLE_IF_KUNIT void idxd_mig_wq_quiesce_locked(struct idxd_wq *wq)
{
	if (idxd_mig_wq_needs_quiesce(wq))
		__idxd_wq_quiesce(wq);
}
EXPORT_SYMBOL_IF_KUNIT(idxd_mig_wq_quiesce_locked);

/**
 * idxd_mig_stats_show - the stats file of a queue in debugfs
 * @m: the seq_file; @m->private is the struct idxd_mig_wq
 * @v: unused
 *
 * Return: 0.
 */
VISIBLE_IF_KUNIT int idxd_mig_stats_show(struct seq_file *m, void *v)
{
	struct idxd_mig_wq *mw = m->private;
	struct idxd_mig_chan *ch = &mw->ch;

	seq_printf(m, "copies %ld\n", atomic_long_read(&ch->stats.copies));
	seq_printf(m, "folios %ld\n", atomic_long_read(&ch->stats.folios));
	seq_printf(m, "fallbacks %ld\n", atomic_long_read(&ch->stats.fallbacks));
	seq_printf(m, "timeouts %ld\n", atomic_long_read(&ch->stats.timeouts));
	seq_printf(m, "halts %ld\n", atomic_long_read(&ch->stats.halts));
	seq_printf(m, "stuck %ld\n", atomic_long_read(&ch->stats.stuck));
	seq_printf(m, "node %d\n", ch->node);
	seq_printf(m, "max_batch %u\n", ch->max_batch);
	seq_printf(m, "max_xfer %u\n", ch->max_xfer);
	seq_printf(m, "slots %u\n", ch->nr_slots);
	seq_printf(m, "cache_control %d\n", ch->cache_control);
	seq_printf(m, "broken %d\n", READ_ONCE(ch->broken));
	seq_printf(m, "wedged %d\n", READ_ONCE(ch->wedged));
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(idxd_mig_stats_show);

DEFINE_SHOW_ATTRIBUTE(idxd_mig_stats);

/* debugfs failures are not fatal: the queue works without its stats file. */
static void idxd_mig_debugfs_add(struct idxd_mig_wq *mw)
{
	mw->dbgfs = debugfs_create_dir(mw->ch.name, idxd_mig_dbgfs_root);
	debugfs_create_file("stats", 0444, mw->dbgfs, mw, &idxd_mig_stats_fops);
}

/* The copy engine's view of @wq: coherent lists, a drain descriptor. */
static int idxd_mig_wq_setup(struct idxd_mig_wq *mw, struct idxd_wq *wq,
			     const struct idxd_mig_caps *caps)
{
	struct device *dev = &wq->idxd->pdev->dev;
	int ret;

	mw->wq = wq;
	mw->ch.ops = &idxd_mig_chan_ops;
	mw->ch.priv = mw;
	mw->ch.node = dev_to_node(dev);
	mw->ch.name = dev_name(wq_confdev(wq));
	mw->ch.cache_control = caps->cache_control;
	mw->area_size = idxd_mig_area_size(caps->nr_slots, caps->max_batch);
	mw->area = dma_alloc_coherent(dev, mw->area_size, &mw->area_dma, GFP_KERNEL);
	if (!mw->area)
		return -ENOMEM;
	ret = idxd_mig_chan_init(&mw->ch, mw->area, mw->area_dma, caps->nr_slots,
				 caps->max_batch, caps->max_xfer);
	if (ret)
		goto err_area;

	mw->drain = idxd_alloc_desc(wq, IDXD_OP_NONBLOCK);
	if (IS_ERR(mw->drain)) {
		ret = PTR_ERR(mw->drain);
		goto err_chan;
	}
	mw->ch.drain.hw = mw->drain->hw;
	mw->ch.drain.comp = mw->drain->completion;
	mw->ch.drain.comp_dma = mw->drain->compl_dma;
	mw->ch.drain.cookie = mw->drain;
	dev_info(dev, "%s: migrator queue: %u batches of %u, %u bytes per descriptor, node %d%s\n",
		 mw->ch.name, caps->nr_slots, caps->max_batch, caps->max_xfer, mw->ch.node,
		 caps->cache_control ? ", cache control" : "");
	return 0;

err_chan:
	idxd_mig_chan_destroy(&mw->ch);
err_area:
	dma_free_coherent(dev, mw->area_size, mw->area, mw->area_dma);
	return ret;
}

/*
 * Free what idxd_mig_wq_setup() allocated; no copy may use the queue.
 *
 * A wedged channel holds slots the device may still write: a copy could
 * prove neither their completion nor the queue drained nor the device
 * stopped.  Its lists and completion records are then leaked, never
 * handed back to the allocator, and the Drain descriptor is not given back
 * to the queue's pool.  The rest (the CPU-side slot and entry arrays, and
 * the struct itself in the caller) is freed.  The BATCH descriptors of
 * those slots and the Drain belong to the idxd driver's pool of the
 * queue, which idxd_drv_disable_wq() frees after its Drain WQ and Reset WQ
 * commands: that is the idxd driver's call, as for every sub-driver.
 */
static void idxd_mig_wq_teardown(struct idxd_mig_wq *mw)
{
	struct device *dev = &mw->wq->idxd->pdev->dev;

	if (READ_ONCE(mw->ch.wedged)) {
		dev_warn(dev, "%s: leaking %zu bytes of descriptor lists and completion records: a late copy left descriptors the device may still write\n",
			 mw->ch.name, mw->area_size);
		idxd_mig_chan_destroy(&mw->ch);
		return;
	}
	idxd_free_desc(mw->wq, mw->drain);
	idxd_mig_chan_destroy(&mw->ch);
	dma_free_coherent(dev, mw->area_size, mw->area, mw->area_dma);
}

/*
 * Probe follows the upstream sub-drivers (dma.c, iaa_crypto): the device
 * must be enabled, the queue's driver_name must name this driver, and
 * idxd->cmd_status tells accel-config what went wrong.  Nothing is
 * allocated before the name matched.
 */
static int idxd_mig_probe(struct idxd_dev *idxd_dev)
{
	struct device *dev = &idxd_dev->conf_dev;
	struct idxd_wq *wq = idxd_dev_to_wq(idxd_dev);
	struct idxd_device *idxd = wq->idxd;
	struct idxd_mig_caps caps;
	struct idxd_mig_wq *mw;
	int ret;

	if (idxd->state != IDXD_DEV_ENABLED) {
		idxd->cmd_status = IDXD_SCMD_DEV_NOT_ENABLED;
		return -ENXIO;
	}
	if (idxd->data->type != IDXD_TYPE_DSA)
		return -ENODEV;

	mutex_lock(&wq->wq_lock);
	if (idxd_wq_get_private(wq)) {
		ret = -EBUSY;
		goto err_unlock;
	}
	if (!idxd_wq_driver_name_match(wq, dev)) {
		dev_dbg(dev, "driver_name %s is not for this driver\n", wq->driver_name);
		idxd->cmd_status = IDXD_SCMD_WQ_NO_DRV_NAME;
		ret = -ENODEV;
		goto err_unlock;
	}

	wq->type = IDXD_WQT_KERNEL;
	ret = idxd_drv_enable_wq(wq);
	if (ret < 0) {
		/* idxd_drv_enable_wq() set cmd_status. */
		dev_dbg(dev, "enabling the queue failed: %d\n", ret);
		ret = -ENXIO;
		goto err_type;
	}
	ret = idxd_mig_wq_caps(wq, &caps);
	if (ret) {
		dev_err(dev, "not usable by the migrator: %s\n", caps.why);
		goto err_disable;
	}

	mw = kzalloc_node(sizeof(*mw), GFP_KERNEL, dev_to_node(&idxd->pdev->dev));
	if (!mw) {
		idxd->cmd_status = IDXD_SCMD_WQ_RES_ALLOC_ERR;
		ret = -ENOMEM;
		goto err_disable;
	}
	ret = idxd_mig_wq_setup(mw, wq, &caps);
	if (ret) {
		idxd->cmd_status = IDXD_SCMD_WQ_RES_ALLOC_ERR;
		goto err_free;
	}
	idxd_wq_set_private(wq, mw);
	mutex_unlock(&wq->wq_lock);

	/* Not under wq_lock: see idxd_mig_remove(). */
	ret = idxd_mig_add(mw);
	if (ret)
		goto err_unbind;
	idxd_mig_debugfs_add(mw);
	idxd->cmd_status = 0;
	return 0;

err_unbind:
	mutex_lock(&wq->wq_lock);
	/* A halt may have quiesced the queue since it was enabled. */
	idxd_mig_wq_quiesce_locked(wq);
	idxd_wq_set_private(wq, NULL);
	idxd_mig_wq_teardown(mw);
err_free:
	kfree(mw);
err_disable:
	idxd_drv_disable_wq(wq);
err_type:
	wq->type = IDXD_WQT_NONE;
err_unlock:
	mutex_unlock(&wq->wq_lock);
	return ret;
}

/*
 * The order matters: no copy may use the queue when its descriptors go.
 * idxd_mig_del() waits for the copies (through the core's unregistration
 * for the last queue, and idxd_mig_srcu); then the queue is quiesced, and
 * only then are the drain descriptor, the lists and the queue freed.
 *
 * idxd_mig_del() runs without wq_lock: a copy may be waiting in
 * idxd_submit_desc() for the queue to come back from an interrupt handle
 * revoke, which takes wq_lock to revive it.  The rest runs under one hold
 * of wq_lock, as dma.c does, so that nothing else quiesces the queue
 * between the check and the quiesce.
 */
static void idxd_mig_remove(struct idxd_dev *idxd_dev)
{
	struct idxd_wq *wq = idxd_dev_to_wq(idxd_dev);
	struct idxd_mig_wq *mw = idxd_wq_get_private(wq);
	struct idxd_mig_stats *st = &mw->ch.stats;

	idxd_mig_del(mw);
	debugfs_remove_recursive(mw->dbgfs);

	mutex_lock(&wq->wq_lock);
	idxd_mig_wq_quiesce_locked(wq);
	idxd_wq_set_private(wq, NULL);
	idxd_mig_wq_teardown(mw);
	idxd_drv_disable_wq(wq);
	wq->type = IDXD_WQT_NONE;
	mutex_unlock(&wq->wq_lock);

	if (atomic_long_read(&st->timeouts) || atomic_long_read(&st->halts) ||
	    atomic_long_read(&st->stuck))
		dev_info(&idxd_dev->conf_dev,
			 "migrator queue removed after %ld timeouts, %ld halts, %ld stuck folios\n",
			 atomic_long_read(&st->timeouts), atomic_long_read(&st->halts),
			 atomic_long_read(&st->stuck));
	kfree(mw);
}

static enum idxd_dev_type idxd_mig_dev_types[] = {
	IDXD_DEV_WQ,
	IDXD_DEV_NONE,
};

static struct idxd_device_driver idxd_mig_driver = {
	.name = "migrate",
	.probe = idxd_mig_probe,
	.remove = idxd_mig_remove,
	.type = idxd_mig_dev_types,
};

static int __init idxd_mig_init(void)
{
	int ret;

	/* Before the first queue binds, so before the first registration. */
	ret = idxd_mig_parse_reasons(reasons, &idxd_migrator.reasons);
	if (ret) {
		pr_err("invalid reasons=\"%s\": give names of migrate_reason_names[] separated by blanks, or \"all\"\n",
		       reasons ?: "");
		return ret;
	}

	idxd_mig_dbgfs_root = debugfs_create_dir("idxd_migrate", NULL);
	ret = idxd_driver_register(&idxd_mig_driver);
	if (ret)
		debugfs_remove_recursive(idxd_mig_dbgfs_root);
	return ret;
}

static void __exit idxd_mig_exit(void)
{
	idxd_driver_unregister(&idxd_mig_driver);
	debugfs_remove_recursive(idxd_mig_dbgfs_root);
}

module_init(idxd_mig_init);
module_exit(idxd_mig_exit);
MODULE_IMPORT_NS(IDXD);
MODULE_ALIAS_IDXD_DEVICE(0);
MODULE_DESCRIPTION("Intel DSA migrator for page migration copy offload");
MODULE_LICENSE("GPL");
