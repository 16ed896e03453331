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
 * Lifetime: the copy path reads the set of bound queues under
 * idxd_mig_srcu.  Removing a queue publishes a set without it and waits
 * for that SRCU (and, for the last queue, for the core's unregistration),
 * so no copy uses the queue when it is quiesced and its descriptors freed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/migrate_copy_offload.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <uapi/linux/idxd.h>

#include "idxd.h"
#include "migrate.h"

/* Entries per BATCH descriptor at most: bounds the coherent memory per queue. */
#define IDXD_MIG_BATCH_CAP	64

static unsigned int timeout_ms = 1000;
module_param(timeout_ms, uint, 0644);
MODULE_PARM_DESC(timeout_ms,
		 "Milliseconds a copy waits for its descriptors before it drains the queue and stops using it (default 1000)");

/* One bound work queue. */
struct idxd_mig_wq {
	struct idxd_mig_chan ch;
	struct idxd_wq *wq;
	struct idxd_desc *drain;
	void *area;
	dma_addr_t area_dma;
	size_t area_size;
	struct list_head node;
};

/* What the copy path reads: replaced as a whole, freed after a grace period. */
struct idxd_mig_set {
	unsigned int nr;
	struct idxd_mig_chan *chan[] __counted_by(nr);
};

static DEFINE_MUTEX(idxd_mig_lock);		/* the list, the set, registration */
static LIST_HEAD(idxd_mig_wqs);
static unsigned int idxd_mig_nr_wqs;
static struct idxd_mig_set __rcu *idxd_mig_set;
DEFINE_STATIC_SRCU(idxd_mig_srcu);

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

static bool idxd_mig_alive(struct idxd_mig_chan *ch)
{
	struct idxd_mig_wq *mw = ch->priv;

	return READ_ONCE(mw->wq->idxd->state) == IDXD_DEV_ENABLED;
}

static const struct idxd_mig_chan_ops idxd_mig_chan_ops = {
	.map = idxd_mig_map,
	.unmap = idxd_mig_unmap,
	.get = idxd_mig_get,
	.submit = idxd_mig_submit,
	.put = idxd_mig_put,
	.alive = idxd_mig_alive,
};

static int idxd_mig_copy_batch(struct migrator *m, struct migrate_copy_batch *b)
{
	struct idxd_mig_set *set;
	int idx, ret = -ENODEV;

	idx = srcu_read_lock(&idxd_mig_srcu);
	set = srcu_dereference(idxd_mig_set, &idxd_mig_srcu);
	if (set)
		ret = idxd_mig_copy(set->chan, set->nr, b,
				    msecs_to_jiffies(READ_ONCE(timeout_ms)));
	srcu_read_unlock(&idxd_mig_srcu, idx);
	return ret;
}

static struct migrator idxd_migrator = {
	.name = "idxd_migrate",
	.owner = THIS_MODULE,
	/* Every migration the admin lets through. */
	.reasons = BIT(MR_TYPES) - 1,
	.copy = idxd_mig_copy_batch,
};

/* Publish the bound queues as a new set; the old one is freed after the copies using it. */
static int idxd_mig_publish(void)
{
	struct idxd_mig_set *set = NULL, *old;
	struct idxd_mig_wq *mw;
	unsigned int i = 0;

	lockdep_assert_held(&idxd_mig_lock);
	if (idxd_mig_nr_wqs) {
		set = kzalloc(struct_size(set, chan, idxd_mig_nr_wqs), GFP_KERNEL);
		if (!set)
			return -ENOMEM;
		set->nr = idxd_mig_nr_wqs;
		list_for_each_entry(mw, &idxd_mig_wqs, node)
			set->chan[i++] = &mw->ch;
	}
	old = rcu_replace_pointer(idxd_mig_set, set, lockdep_is_held(&idxd_mig_lock));
	synchronize_srcu(&idxd_mig_srcu);
	kfree(old);
	return 0;
}

/*
 * After a queue left the list: publish the smaller set, or, with no memory
 * for one, keep copies off every queue until the next change.
 */
static void idxd_mig_republish(void)
{
	if (idxd_mig_publish()) {
		rcu_assign_pointer(idxd_mig_set, NULL);
		synchronize_srcu(&idxd_mig_srcu);
	}
}

static int idxd_mig_add(struct idxd_mig_wq *mw)
{
	int ret;

	mutex_lock(&idxd_mig_lock);
	list_add_tail(&mw->node, &idxd_mig_wqs);
	idxd_mig_nr_wqs++;
	ret = idxd_mig_publish();
	if (ret)
		goto err_del;
	if (idxd_mig_nr_wqs == 1) {
		ret = migrate_offload_register(&idxd_migrator);
		if (ret) {
			dev_err(&mw->wq->idxd->pdev->dev,
				"cannot register the migrator (%d): is another one (migrate_mtcopy?) loaded?\n",
				ret);
			goto err_del;
		}
	}
	mutex_unlock(&idxd_mig_lock);
	return 0;

err_del:
	list_del(&mw->node);
	idxd_mig_nr_wqs--;
	idxd_mig_republish();
	mutex_unlock(&idxd_mig_lock);
	return ret;
}

static void idxd_mig_del(struct idxd_mig_wq *mw)
{
	mutex_lock(&idxd_mig_lock);
	if (idxd_mig_nr_wqs == 1)
		migrate_offload_unregister(&idxd_migrator);
	list_del(&mw->node);
	idxd_mig_nr_wqs--;
	idxd_mig_republish();
	mutex_unlock(&idxd_mig_lock);
}

/* The copy engine's view of @wq: limits, coherent lists, a drain descriptor. */
static int idxd_mig_wq_setup(struct idxd_mig_wq *mw, struct idxd_wq *wq)
{
	struct idxd_device *idxd = wq->idxd;
	struct device *dev = &idxd->pdev->dev;
	unsigned int max_batch = 1, nr_slots;
	u32 max_xfer;
	int ret;

	/* One descriptor stays aside for draining. */
	if (wq->num_descs < 2) {
		dev_err(dev, "%s: needs a queue of 2 descriptors or more\n",
			dev_name(wq_confdev(wq)));
		return -EINVAL;
	}
	nr_slots = min_t(unsigned int, wq->num_descs - 1, IDXD_MIG_MAX_SLOTS);
	/* The device takes powers of two (WQCFG holds their logarithms). */
	if ((idxd->hw.opcap.bits[0] & IDXD_OPCAP_BATCH) && wq->max_batch_size >= 2)
		max_batch = min_t(unsigned int, rounddown_pow_of_two(wq->max_batch_size),
				  IDXD_MIG_BATCH_CAP);
	max_xfer = min_t(u64, rounddown_pow_of_two(wq->max_xfer_bytes), SZ_1G);

	mw->wq = wq;
	mw->ch.ops = &idxd_mig_chan_ops;
	mw->ch.priv = mw;
	mw->ch.node = dev_to_node(dev);
	mw->ch.name = dev_name(wq_confdev(wq));
	mw->area_size = idxd_mig_area_size(nr_slots, max_batch);
	mw->area = dma_alloc_coherent(dev, mw->area_size, &mw->area_dma, GFP_KERNEL);
	if (!mw->area)
		return -ENOMEM;
	ret = idxd_mig_chan_init(&mw->ch, mw->area, mw->area_dma, nr_slots, max_batch, max_xfer);
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
	dev_info(dev, "%s: migrator queue: %u batches of %u, %u bytes per descriptor, node %d\n",
		 mw->ch.name, nr_slots, max_batch, max_xfer, mw->ch.node);
	return 0;

err_chan:
	idxd_mig_chan_destroy(&mw->ch);
err_area:
	dma_free_coherent(dev, mw->area_size, mw->area, mw->area_dma);
	return ret;
}

static void idxd_mig_wq_teardown(struct idxd_mig_wq *mw)
{
	idxd_free_desc(mw->wq, mw->drain);
	idxd_mig_chan_destroy(&mw->ch);
	dma_free_coherent(&mw->wq->idxd->pdev->dev, mw->area_size, mw->area, mw->area_dma);
}

static int idxd_mig_probe(struct idxd_dev *idxd_dev)
{
	struct idxd_wq *wq = idxd_dev_to_wq(idxd_dev);
	struct idxd_device *idxd = wq->idxd;
	struct idxd_mig_wq *mw;
	int ret;

	if (idxd->state != IDXD_DEV_ENABLED)
		return -ENXIO;
	if (idxd->data->type != IDXD_TYPE_DSA ||
	    !(idxd->hw.opcap.bits[0] & IDXD_OPCAP_MEMMOVE))
		return -ENODEV;

	mw = kzalloc_node(sizeof(*mw), GFP_KERNEL, dev_to_node(&idxd->pdev->dev));
	if (!mw)
		return -ENOMEM;

	mutex_lock(&wq->wq_lock);
	if (idxd_wq_get_private(wq)) {
		ret = -EBUSY;
		goto err_unlock;
	}
	if (!idxd_wq_driver_name_match(wq, &idxd_dev->conf_dev)) {
		dev_dbg(&idxd_dev->conf_dev, "driver_name %s is not for this driver\n",
			wq->driver_name);
		ret = -ENODEV;
		goto err_unlock;
	}
	wq->type = IDXD_WQT_KERNEL;
	ret = idxd_drv_enable_wq(wq);
	if (ret)
		goto err_type;
	ret = idxd_mig_wq_setup(mw, wq);
	if (ret)
		goto err_disable;
	idxd_wq_set_private(wq, mw);
	mutex_unlock(&wq->wq_lock);

	ret = idxd_mig_add(mw);
	if (ret)
		goto err_unbind;
	return 0;

err_unbind:
	idxd_wq_quiesce(wq);
	mutex_lock(&wq->wq_lock);
	idxd_wq_set_private(wq, NULL);
	idxd_mig_wq_teardown(mw);
err_disable:
	idxd_drv_disable_wq(wq);
err_type:
	wq->type = IDXD_WQT_NONE;
err_unlock:
	mutex_unlock(&wq->wq_lock);
	kfree(mw);
	return ret;
}

/*
 * The order matters: no copy may use the queue when its descriptors go.
 * idxd_mig_del() waits for the copies (through the core's unregistration
 * for the last queue, and idxd_mig_srcu); then the queue is quiesced, and
 * only then are the drain descriptor, the lists and the queue freed.
 */
static void idxd_mig_remove(struct idxd_dev *idxd_dev)
{
	struct idxd_wq *wq = idxd_dev_to_wq(idxd_dev);
	struct idxd_mig_wq *mw = idxd_wq_get_private(wq);

	idxd_mig_del(mw);
	idxd_wq_quiesce(wq);
	mutex_lock(&wq->wq_lock);
	idxd_wq_set_private(wq, NULL);
	idxd_mig_wq_teardown(mw);
	idxd_drv_disable_wq(wq);
	wq->type = IDXD_WQT_NONE;
	mutex_unlock(&wq->wq_lock);
	if (atomic_long_read(&mw->ch.timeouts) || atomic_long_read(&mw->ch.halts))
		dev_info(&idxd_dev->conf_dev, "migrator queue removed after %ld timeouts, %ld halts\n",
			 atomic_long_read(&mw->ch.timeouts), atomic_long_read(&mw->ch.halts));
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
	return idxd_driver_register(&idxd_mig_driver);
}

static void __exit idxd_mig_exit(void)
{
	idxd_driver_unregister(&idxd_mig_driver);
}

module_init(idxd_mig_init);
module_exit(idxd_mig_exit);
MODULE_IMPORT_NS(IDXD);
MODULE_DESCRIPTION("Intel DSA migrator for page migration copy offload");
MODULE_LICENSE("GPL");
