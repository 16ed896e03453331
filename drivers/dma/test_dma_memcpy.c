// SPDX-License-Identifier: GPL-2.0
/*
 * Software dmaengine memcpy provider, for tests only.
 *
 * The selftests of the dmaengine page-migration offload need a DMA_MEMCPY
 * engine on machines (and virtual machines) that have none, and need to
 * make it misbehave on demand. This module registers platform devices with
 * dma_async_device_register() like a hardware driver would, and copies with
 * the CPU from a workqueue, so completions are asynchronous and arrive in
 * another context than the submitter's. Through debugfs a test can delay
 * the copies, complete them out of order, fail them, make them hang, make
 * hung ones write late, and make prep refuse; unbinding a device through
 * sysfs exercises the removal of an engine that clients still hold.
 *
 * It follows the pattern of lib/test_hmm.c: never load it on a production
 * system.
 */

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/dmaengine.h>
#include <linux/list.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "dmaengine.h"

#define TDM_NAME		"test_dma_memcpy"
#define TDM_MAX_DEVICES		8
#define TDM_MAX_CHANNELS	8
#define TDM_FAIL_BYTE		0xfa
#define TDM_LATE_BYTE		0x1a

static unsigned int tdm_nr_devices = 2;
module_param_named(nr_devices, tdm_nr_devices, uint, 0444);
MODULE_PARM_DESC(nr_devices, "Number of DMA devices, 1-8 (default 2)");

static unsigned int tdm_nr_channels = 2;
module_param_named(nr_channels, tdm_nr_channels, uint, 0444);
MODULE_PARM_DESC(nr_channels, "Channels per device, 1-8 (default 2)");

static bool tdm_private = true;
module_param_named(private, tdm_private, bool, 0444);
MODULE_PARM_DESC(private, "Register the devices as DMA_PRIVATE (default Y)");

static bool tdm_terminate = true;
module_param_named(terminate, tdm_terminate, bool, 0444);
MODULE_PARM_DESC(terminate, "Implement device_terminate_all and device_synchronize (default Y)");

static unsigned int tdm_max_seg = 65536;
module_param_named(max_seg, tdm_max_seg, uint, 0444);
MODULE_PARM_DESC(max_seg, "Largest descriptor in bytes (default 65536)");

/* debugfs knobs, read each time they are used. */
static bool tdm_out_of_order;
static u32 tdm_delay_us;
static u32 tdm_fail_every;
static u32 tdm_hang_every;
static u32 tdm_late_write_ms;
static u32 tdm_refuse_every;

enum tdm_stat {
	TDM_SUBMITTED,
	TDM_COMPLETED,
	TDM_FAILED,
	TDM_HUNG,
	TDM_TERMINATED,
	TDM_ABORTED,
	TDM_LATE_WRITES,
	TDM_REFUSED,
	TDM_NR_STATS,
};

static const char * const tdm_stat_names[TDM_NR_STATS] = {
	[TDM_SUBMITTED]		= "submitted",
	[TDM_COMPLETED]		= "completed",
	[TDM_FAILED]		= "failed",
	[TDM_HUNG]		= "hung",
	[TDM_TERMINATED]	= "terminated",
	[TDM_ABORTED]		= "aborted",
	[TDM_LATE_WRITES]	= "late_writes",
	[TDM_REFUSED]		= "refused",
};

/* Counters; TDM_SUBMITTED also numbers the descriptors for fail/hang_every. */
static atomic64_t tdm_stats[TDM_NR_STATS];
/* Numbers the prep calls for refuse_every. */
static atomic64_t tdm_prep_calls;

static struct workqueue_struct *tdm_wq;
static struct dentry *tdm_debugfs;
static struct platform_device *tdm_pdevs[TDM_MAX_DEVICES];

/*
 * Devices whose last reference is gone. They are freed at module exit, not
 * in device_release: dma_release_channel() still reads and writes the
 * channel (chan->slave, chan->dbg_client_name) after dma_chan_put() has
 * dropped the last device reference, which is what calls device_release.
 */
static LIST_HEAD(tdm_released);
static DEFINE_SPINLOCK(tdm_released_lock);

/**
 * struct tdm_desc - one memcpy descriptor
 * @tx: the descriptor the client sees
 * @node: entry in one of the lists of the channel
 * @dst: destination DMA address
 * @src: source DMA address
 * @len: bytes to copy
 * @nr: global 1-based submission number, for fail_every and hang_every
 * @late_at: jiffies at which a hung descriptor writes late
 * @late_armed: the late write of this hung descriptor is still to come
 */
struct tdm_desc {
	struct dma_async_tx_descriptor tx;
	struct list_head node;
	dma_addr_t dst;
	dma_addr_t src;
	size_t len;
	u64 nr;
	unsigned long late_at;
	bool late_armed;
};

/**
 * struct tdm_chan - one channel
 * @chan: the dmaengine channel
 * @lock: protects the lists and every other field below; IRQ-safe because
 *	  clients may prep, submit and terminate from any context
 * @submitted: submitted, not yet issued
 * @issued: issued, waiting for @work
 * @hung: executed by @work but never completing
 * @active: the descriptor @work is executing outside @lock, or NULL
 * @late: the descriptor @late_work is writing outside @lock, or NULL
 * @active_dropped: @active was terminated: no callback, just free it
 * @late_dropped: @late was terminated: no callback, just free it
 * @removed: the device is being removed: take no new work
 * @work: executes the issued descriptors on tdm_wq
 * @late_work: performs the late writes of hung descriptors
 */
struct tdm_chan {
	struct dma_chan chan;
	spinlock_t lock;	/* protects all the fields below */
	struct list_head submitted;
	struct list_head issued;
	struct list_head hung;
	struct tdm_desc *active;
	struct tdm_desc *late;
	bool active_dropped;
	bool late_dropped;
	bool removed;
	struct work_struct work;
	struct delayed_work late_work;
};

/**
 * struct tdm_device - one engine, allocated per probe
 * @dma: the dmaengine device
 * @node: entry in tdm_released once the core released it; the devices
 *	  there hold a reference to the struct device of each channel
 * @nr_chans: number of entries in @chans
 * @chans: the channels
 */
struct tdm_device {
	struct dma_device dma;
	struct list_head node;
	unsigned int nr_chans;
	struct tdm_chan chans[] __counted_by(nr_chans);
};

static struct tdm_chan *to_tdm_chan(struct dma_chan *chan)
{
	return container_of(chan, struct tdm_chan, chan);
}

static struct tdm_desc *to_tdm_desc(struct dma_async_tx_descriptor *tx)
{
	return container_of(tx, struct tdm_desc, tx);
}

static bool tdm_nth(u64 n, u32 every)
{
	u32 rem;

	if (!every)
		return false;
	div_u64_rem(n, every, &rem);
	return !rem;
}

/*
 * The provider supports dma-direct only: probe refuses a device an IOMMU
 * translates, so dma_to_phys() yields the CPU physical address, and without
 * highmem the linear map covers all of it.
 */
static void *tdm_va(struct tdm_chan *tc, dma_addr_t addr)
{
	return phys_to_virt(dma_to_phys(tc->chan.device->dev, addr));
}

/*
 * Record a completion for tx_status. Completions may come out of cookie
 * order (out_of_order, hung descriptors), so never move completed_cookie
 * backwards, which would make finished cookies look in progress again.
 * Called with the channel lock held.
 */
static void tdm_cookie_done(struct dma_async_tx_descriptor *tx)
{
	struct dma_chan *chan = tx->chan;

	if (dma_async_is_complete(chan->completed_cookie, tx->cookie,
				  chan->cookie) == DMA_COMPLETE)
		chan->completed_cookie = tx->cookie;
}

/* Count, run the callback and free; called without the channel lock. */
static void tdm_complete(struct tdm_desc *desc, enum dmaengine_tx_result result)
{
	struct dmaengine_result res = { .result = result };

	switch (result) {
	case DMA_TRANS_NOERROR:
		atomic64_inc(&tdm_stats[TDM_COMPLETED]);
		break;
	case DMA_TRANS_ABORTED:
		atomic64_inc(&tdm_stats[TDM_ABORTED]);
		break;
	default:
		atomic64_inc(&tdm_stats[TDM_FAILED]);
		break;
	}

	/* Hardware drivers call back from a tasklet or an IRQ: not sleepable. */
	local_bh_disable();
	dmaengine_desc_get_callback_invoke(&desc->tx, &res);
	local_bh_enable();
	kfree(desc);
}

/* Arm late_work for the earliest pending late write; channel lock held. */
static void tdm_arm_late(struct tdm_chan *tc)
{
	unsigned long now = jiffies, first = 0;
	struct tdm_desc *desc;
	bool any = false;

	if (tc->removed)
		return;
	list_for_each_entry(desc, &tc->hung, node) {
		if (!desc->late_armed)
			continue;
		if (!any || time_before(desc->late_at, first))
			first = desc->late_at;
		any = true;
	}
	if (any)
		mod_delayed_work(tdm_wq, &tc->late_work,
				 time_after(first, now) ? first - now : 0);
}

static void tdm_late_work(struct work_struct *work)
{
	struct tdm_chan *tc = container_of(to_delayed_work(work),
					   struct tdm_chan, late_work);
	struct tdm_desc *desc, *due;
	unsigned long flags;

	for (;;) {
		spin_lock_irqsave(&tc->lock, flags);
		due = NULL;
		list_for_each_entry(desc, &tc->hung, node) {
			if (desc->late_armed &&
			    time_after_eq(jiffies, desc->late_at)) {
				due = desc;
				break;
			}
		}
		if (!due || tc->removed) {
			tdm_arm_late(tc);
			spin_unlock_irqrestore(&tc->lock, flags);
			return;
		}
		list_del(&due->node);
		due->late_armed = false;
		tc->late = due;
		tc->late_dropped = false;
		spin_unlock_irqrestore(&tc->lock, flags);

		memset(tdm_va(tc, due->dst), TDM_LATE_BYTE, due->len);
		atomic64_inc(&tdm_stats[TDM_LATE_WRITES]);

		spin_lock_irqsave(&tc->lock, flags);
		tc->late = NULL;
		if (tc->late_dropped) {
			spin_unlock_irqrestore(&tc->lock, flags);
			kfree(due);
			continue;
		}
		if (tdm_terminate) {
			/* It can be terminated: it stays hung. */
			list_add_tail(&due->node, &tc->hung);
			spin_unlock_irqrestore(&tc->lock, flags);
			continue;
		}
		/* Without terminate, this is how a client gets it back. */
		tdm_cookie_done(&due->tx);
		spin_unlock_irqrestore(&tc->lock, flags);
		tdm_complete(due, DMA_TRANS_WRITE_FAILED);
	}
}

/* Copy (or fail, or hang) one descriptor picked by tdm_work(). */
static void tdm_execute(struct tdm_chan *tc, struct tdm_desc *desc)
{
	bool hang = tdm_nth(desc->nr, READ_ONCE(tdm_hang_every));
	bool fail = !hang && tdm_nth(desc->nr, READ_ONCE(tdm_fail_every));
	unsigned long flags;
	u32 late_ms;

	if (fail)
		memset(tdm_va(tc, desc->dst), TDM_FAIL_BYTE, desc->len);
	else if (!hang)
		memcpy(tdm_va(tc, desc->dst), tdm_va(tc, desc->src), desc->len);

	spin_lock_irqsave(&tc->lock, flags);
	tc->active = NULL;
	if (tc->active_dropped) {
		spin_unlock_irqrestore(&tc->lock, flags);
		kfree(desc);
		return;
	}
	if (hang) {
		late_ms = READ_ONCE(tdm_late_write_ms);
		desc->late_armed = late_ms != 0;
		desc->late_at = jiffies + msecs_to_jiffies(late_ms);
		list_add_tail(&desc->node, &tc->hung);
		atomic64_inc(&tdm_stats[TDM_HUNG]);
		tdm_arm_late(tc);
		spin_unlock_irqrestore(&tc->lock, flags);
		return;
	}
	tdm_cookie_done(&desc->tx);
	spin_unlock_irqrestore(&tc->lock, flags);
	tdm_complete(desc, fail ? DMA_TRANS_WRITE_FAILED : DMA_TRANS_NOERROR);
}

static void tdm_work(struct work_struct *work)
{
	struct tdm_chan *tc = container_of(work, struct tdm_chan, work);
	struct tdm_desc *desc;
	unsigned long flags;
	bool idle;
	u32 delay;

	for (;;) {
		spin_lock_irqsave(&tc->lock, flags);
		idle = tc->removed || list_empty(&tc->issued);
		spin_unlock_irqrestore(&tc->lock, flags);
		if (idle)
			return;

		/* Sleep before picking, so that terminate finds it queued. */
		delay = READ_ONCE(tdm_delay_us);
		if (delay)
			fsleep(delay);

		spin_lock_irqsave(&tc->lock, flags);
		if (tc->removed || list_empty(&tc->issued)) {
			spin_unlock_irqrestore(&tc->lock, flags);
			return;
		}
		if (READ_ONCE(tdm_out_of_order))
			desc = list_last_entry(&tc->issued, struct tdm_desc, node);
		else
			desc = list_first_entry(&tc->issued, struct tdm_desc, node);
		list_del(&desc->node);
		tc->active = desc;
		tc->active_dropped = false;
		spin_unlock_irqrestore(&tc->lock, flags);

		tdm_execute(tc, desc);
		cond_resched();
	}
}

static dma_cookie_t tdm_tx_submit(struct dma_async_tx_descriptor *tx)
{
	struct tdm_chan *tc = to_tdm_chan(tx->chan);
	struct tdm_desc *desc = to_tdm_desc(tx);
	unsigned long flags;
	dma_cookie_t cookie;

	spin_lock_irqsave(&tc->lock, flags);
	if (tc->removed) {
		spin_unlock_irqrestore(&tc->lock, flags);
		/* As idxd does, a descriptor that fails to submit is freed. */
		kfree(desc);
		return -ENODEV;
	}
	cookie = dma_cookie_assign(tx);
	desc->nr = atomic64_inc_return(&tdm_stats[TDM_SUBMITTED]);
	list_add_tail(&desc->node, &tc->submitted);
	spin_unlock_irqrestore(&tc->lock, flags);

	return cookie;
}

static struct dma_async_tx_descriptor *
tdm_prep_dma_memcpy(struct dma_chan *chan, dma_addr_t dst, dma_addr_t src,
		    size_t len, unsigned long flags)
{
	struct tdm_chan *tc = to_tdm_chan(chan);
	u64 n = atomic64_inc_return(&tdm_prep_calls);
	struct tdm_desc *desc;

	if (len > tdm_max_seg || READ_ONCE(tc->removed) ||
	    tdm_nth(n, READ_ONCE(tdm_refuse_every)))
		goto refuse;

	/* Clients prep from atomic context and from memory reclaim. */
	desc = kzalloc(sizeof(*desc), GFP_NOWAIT | __GFP_NOWARN);
	if (!desc)
		goto refuse;

	dma_async_tx_descriptor_init(&desc->tx, chan);
	desc->tx.flags = flags;
	desc->tx.tx_submit = tdm_tx_submit;
	desc->dst = dst;
	desc->src = src;
	desc->len = len;
	return &desc->tx;

refuse:
	atomic64_inc(&tdm_stats[TDM_REFUSED]);
	return NULL;
}

static void tdm_issue_pending(struct dma_chan *chan)
{
	struct tdm_chan *tc = to_tdm_chan(chan);
	unsigned long flags;

	spin_lock_irqsave(&tc->lock, flags);
	if (!tc->removed && !list_empty(&tc->submitted)) {
		list_splice_tail_init(&tc->submitted, &tc->issued);
		queue_work(tdm_wq, &tc->work);
	}
	spin_unlock_irqrestore(&tc->lock, flags);
}

/* Is @cookie still queued, executing or hung? Channel lock held. */
static bool tdm_cookie_pending(struct tdm_chan *tc, dma_cookie_t cookie)
{
	struct list_head *lists[] = { &tc->submitted, &tc->issued, &tc->hung };
	struct tdm_desc *desc;
	unsigned int i;

	if ((tc->active && tc->active->tx.cookie == cookie) ||
	    (tc->late && tc->late->tx.cookie == cookie))
		return true;
	for (i = 0; i < ARRAY_SIZE(lists); i++)
		list_for_each_entry(desc, lists[i], node)
			if (desc->tx.cookie == cookie)
				return true;
	return false;
}

static enum dma_status tdm_tx_status(struct dma_chan *chan, dma_cookie_t cookie,
				     struct dma_tx_state *state)
{
	struct tdm_chan *tc = to_tdm_chan(chan);
	enum dma_status status;
	unsigned long flags;

	status = dma_cookie_status(chan, cookie, state);
	/* Completion order is not cookie order: only the callback tells. */
	if (READ_ONCE(tdm_out_of_order))
		return DMA_OUT_OF_ORDER;
	/* A hung descriptor is older than the completed cookie: not done. */
	if (status == DMA_COMPLETE) {
		spin_lock_irqsave(&tc->lock, flags);
		if (tdm_cookie_pending(tc, cookie))
			status = DMA_IN_PROGRESS;
		spin_unlock_irqrestore(&tc->lock, flags);
	}
	return status;
}

/*
 * Drop everything without callback. May be called from atomic context, so
 * it does not wait: the descriptors being executed or written late are only
 * flagged, and their workers free them; tdm_synchronize() waits for that.
 */
static int tdm_terminate_all(struct dma_chan *chan)
{
	struct tdm_chan *tc = to_tdm_chan(chan);
	struct tdm_desc *desc, *tmp;
	unsigned long flags;
	LIST_HEAD(drop);
	u64 n = 0;

	spin_lock_irqsave(&tc->lock, flags);
	list_splice_tail_init(&tc->submitted, &drop);
	list_splice_tail_init(&tc->issued, &drop);
	list_splice_tail_init(&tc->hung, &drop);
	if (tc->active && !tc->active_dropped) {
		tc->active_dropped = true;
		n++;
	}
	if (tc->late && !tc->late_dropped) {
		tc->late_dropped = true;
		n++;
	}
	spin_unlock_irqrestore(&tc->lock, flags);

	list_for_each_entry_safe(desc, tmp, &drop, node) {
		list_del(&desc->node);
		kfree(desc);
		n++;
	}
	atomic64_add(n, &tdm_stats[TDM_TERMINATED]);
	return 0;
}

/*
 * After this returns, no descriptor terminated before the call writes
 * anything: the worker has finished the one it was executing, and no late
 * write is running or pending.
 */
static void tdm_synchronize(struct dma_chan *chan)
{
	struct tdm_chan *tc = to_tdm_chan(chan);
	unsigned long flags;

	/* The worker first: it is what arms late_work. */
	flush_work(&tc->work);
	cancel_delayed_work_sync(&tc->late_work);

	/* Without a terminate before, hung descriptors keep their late write. */
	spin_lock_irqsave(&tc->lock, flags);
	tdm_arm_late(tc);
	spin_unlock_irqrestore(&tc->lock, flags);
}

static int tdm_alloc_chan_resources(struct dma_chan *chan)
{
	dma_cookie_init(chan);
	return 0;
}

/* The last client is gone: free everything, with or without terminate=Y. */
static void tdm_free_chan_resources(struct dma_chan *chan)
{
	tdm_terminate_all(chan);
	tdm_synchronize(chan);
}

/* Called by the core, under dma_list_mutex, when the last reference goes. */
static void tdm_device_release(struct dma_device *dma)
{
	struct tdm_device *tdev = container_of(dma, struct tdm_device, dma);

	spin_lock(&tdm_released_lock);
	list_add_tail(&tdev->node, &tdm_released);
	spin_unlock(&tdm_released_lock);
}

static int tdm_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct tdm_device *tdev;
	struct dma_device *dma;
	unsigned int i;
	int ret;

	/* See tdm_va(): the CPU finds the buffers through the linear map. */
	if (IS_ENABLED(CONFIG_HIGHMEM) || device_iommu_mapped(dev)) {
		dev_err(dev, "only dma-direct without highmem is supported\n");
		return -ENODEV;
	}

	tdev = kzalloc(struct_size(tdev, chans, tdm_nr_channels), GFP_KERNEL);
	if (!tdev)
		return -ENOMEM;
	tdev->nr_chans = tdm_nr_channels;

#if defined(CONFIG_ARCH_HAS_SYNC_DMA_FOR_DEVICE) || \
	defined(CONFIG_ARCH_HAS_SYNC_DMA_FOR_CPU) || \
	defined(CONFIG_ARCH_HAS_SYNC_DMA_FOR_CPU_ALL)
	/*
	 * The "device" is the CPU, which is cache coherent. A platform device
	 * without firmware node defaults to non-coherent (arm64), and the
	 * cache invalidation at unmap would then discard what it wrote.
	 */
	dev->dma_coherent = true;
#endif
	ret = dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		goto err_free;
	dma_set_max_seg_size(dev, tdm_max_seg);

	dma = &tdev->dma;
	dma->dev = dev;
	dma_cap_set(DMA_MEMCPY, dma->cap_mask);
	dma_cap_set(DMA_COMPLETION_NO_ORDER, dma->cap_mask);
	if (tdm_private)
		dma_cap_set(DMA_PRIVATE, dma->cap_mask);
	dma->copy_align = DMAENGINE_ALIGN_1_BYTE;
	dma->device_alloc_chan_resources = tdm_alloc_chan_resources;
	dma->device_free_chan_resources = tdm_free_chan_resources;
	dma->device_prep_dma_memcpy = tdm_prep_dma_memcpy;
	dma->device_issue_pending = tdm_issue_pending;
	dma->device_tx_status = tdm_tx_status;
	dma->device_release = tdm_device_release;
	if (tdm_terminate) {
		dma->device_terminate_all = tdm_terminate_all;
		dma->device_synchronize = tdm_synchronize;
	}
	INIT_LIST_HEAD(&dma->channels);

	for (i = 0; i < tdev->nr_chans; i++) {
		struct tdm_chan *tc = &tdev->chans[i];

		spin_lock_init(&tc->lock);
		INIT_LIST_HEAD(&tc->submitted);
		INIT_LIST_HEAD(&tc->issued);
		INIT_LIST_HEAD(&tc->hung);
		INIT_WORK(&tc->work, tdm_work);
		INIT_DELAYED_WORK(&tc->late_work, tdm_late_work);
		tc->chan.device = dma;
		dma_cookie_init(&tc->chan);
		list_add_tail(&tc->chan.device_node, &dma->channels);
	}

	platform_set_drvdata(pdev, tdev);
	/* Takes the owner from dev->driver: probe is the place to call it. */
	ret = dma_async_device_register(dma);
	if (ret)
		goto err_free;
	return 0;

err_free:
	/* device_release is only called after a successful register. */
	platform_set_drvdata(pdev, NULL);
	kfree(tdev);
	return ret;
}

/* Complete everything still queued or hung with DMA_TRANS_ABORTED. */
static void tdm_abort_all(struct tdm_chan *tc)
{
	struct tdm_desc *desc, *tmp;
	unsigned long flags;
	LIST_HEAD(abort);

	spin_lock_irqsave(&tc->lock, flags);
	list_splice_tail_init(&tc->submitted, &abort);
	list_splice_tail_init(&tc->issued, &abort);
	list_splice_tail_init(&tc->hung, &abort);
	list_for_each_entry(desc, &abort, node)
		tdm_cookie_done(&desc->tx);
	spin_unlock_irqrestore(&tc->lock, flags);

	list_for_each_entry_safe(desc, tmp, &abort, node) {
		list_del(&desc->node);
		tdm_complete(desc, DMA_TRANS_ABORTED);
	}
}

/*
 * Unbind, possibly while clients hold channels: they get no notice from the
 * core, so give every descriptor back, and keep the structures (see
 * tdm_released) for the calls they will still make on the channels.
 */
static void tdm_remove(struct platform_device *pdev)
{
	struct tdm_device *tdev = platform_get_drvdata(pdev);
	unsigned long flags;
	unsigned int i;

	/* From now on prep and submit fail and the workers take no work. */
	for (i = 0; i < tdev->nr_chans; i++) {
		spin_lock_irqsave(&tdev->chans[i].lock, flags);
		WRITE_ONCE(tdev->chans[i].removed, true);
		spin_unlock_irqrestore(&tdev->chans[i].lock, flags);
	}
	/*
	 * Stop all writes before the callbacks: a client may unmap or free a
	 * buffer as soon as its descriptor was aborted. The descriptor being
	 * executed completes normally.
	 */
	for (i = 0; i < tdev->nr_chans; i++) {
		flush_work(&tdev->chans[i].work);
		cancel_delayed_work_sync(&tdev->chans[i].late_work);
	}
	/*
	 * Clients may still call dma_chan_name(), which reads chan->dev, freed
	 * by the unregister unless referenced: hold it until tdm_free_released.
	 */
	for (i = 0; i < tdev->nr_chans; i++) {
		tdm_abort_all(&tdev->chans[i]);
		get_device(&tdev->chans[i].chan.dev->device);
	}

	dma_async_device_unregister(&tdev->dma);
}

static struct platform_driver tdm_driver = {
	.driver = {
		.name = TDM_NAME,
	},
	.probe = tdm_probe,
	.remove = tdm_remove,
};

static int tdm_stat_get(void *data, u64 *val)
{
	*val = atomic64_read((atomic64_t *)data);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(tdm_stat_fops, tdm_stat_get, NULL, "%llu\n");

static void tdm_debugfs_init(void)
{
	unsigned int i;

	tdm_debugfs = debugfs_create_dir(TDM_NAME, NULL);
	debugfs_create_bool("out_of_order", 0600, tdm_debugfs, &tdm_out_of_order);
	debugfs_create_u32("delay_us", 0600, tdm_debugfs, &tdm_delay_us);
	debugfs_create_u32("fail_every", 0600, tdm_debugfs, &tdm_fail_every);
	debugfs_create_u32("hang_every", 0600, tdm_debugfs, &tdm_hang_every);
	debugfs_create_u32("late_write_ms", 0600, tdm_debugfs,
			   &tdm_late_write_ms);
	debugfs_create_u32("refuse_every", 0600, tdm_debugfs,
			   &tdm_refuse_every);
	for (i = 0; i < TDM_NR_STATS; i++)
		debugfs_create_file_unsafe(tdm_stat_names[i], 0400, tdm_debugfs,
					   &tdm_stats[i], &tdm_stat_fops);
}

static bool tdm_filter_none(struct dma_chan *chan, void *param)
{
	return false;
}

/*
 * dma_release_channel() drops the module reference (in dma_chan_put())
 * before it is done with the channel, and holds dma_list_mutex until it
 * is. A channel request that matches nothing takes that mutex, and so
 * waits for such a caller before the devices are freed.
 */
static void tdm_wait_channel_release(void)
{
	dma_cap_mask_t mask;

	dma_cap_zero(mask);
	dma_cap_set(DMA_MEMCPY, mask);
	dma_request_channel(mask, tdm_filter_none, NULL);
}

static void tdm_free_released(void)
{
	struct tdm_device *tdev, *tmp;
	LIST_HEAD(list);
	unsigned int i;

	tdm_wait_channel_release();
	spin_lock(&tdm_released_lock);
	list_splice_init(&tdm_released, &list);
	spin_unlock(&tdm_released_lock);

	list_for_each_entry_safe(tdev, tmp, &list, node) {
		for (i = 0; i < tdev->nr_chans; i++)
			put_device(&tdev->chans[i].chan.dev->device);
		kfree(tdev);
	}
}

static void tdm_unregister_devices(void)
{
	unsigned int i;

	for (i = 0; i < TDM_MAX_DEVICES; i++) {
		if (tdm_pdevs[i])
			platform_device_unregister(tdm_pdevs[i]);
		tdm_pdevs[i] = NULL;
	}
}

static int __init tdm_init(void)
{
	struct platform_device *pdev;
	unsigned int i, bound = 0;
	int nid = first_memory_node;
	int ret;

	if (!tdm_nr_devices || tdm_nr_devices > TDM_MAX_DEVICES ||
	    !tdm_nr_channels || tdm_nr_channels > TDM_MAX_CHANNELS ||
	    !tdm_max_seg)
		return -EINVAL;

	/* The migrator copies from memory reclaim: it must make progress. */
	tdm_wq = alloc_workqueue(TDM_NAME, WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!tdm_wq)
		return -ENOMEM;
	tdm_debugfs_init();

	/*
	 * platform_device_register_simple() in two steps: the node must be set
	 * before device_add() for sysfs to show numa_node, and before probe.
	 */
	for (i = 0; i < tdm_nr_devices; i++) {
		pdev = platform_device_alloc(TDM_NAME, i);
		if (!pdev) {
			ret = -ENOMEM;
			goto err_devices;
		}
		set_dev_node(&pdev->dev, nid);
		nid = next_node_in(nid, node_states[N_MEMORY]);
		ret = platform_device_add(pdev);
		if (ret) {
			platform_device_put(pdev);
			goto err_devices;
		}
		tdm_pdevs[i] = pdev;
	}

	ret = platform_driver_register(&tdm_driver);
	if (ret)
		goto err_devices;

	for (i = 0; i < tdm_nr_devices; i++)
		if (platform_get_drvdata(tdm_pdevs[i]))
			bound++;
	if (!bound) {
		ret = -ENODEV;
		goto err_driver;
	}
	return 0;

err_driver:
	platform_driver_unregister(&tdm_driver);
err_devices:
	tdm_unregister_devices();
	debugfs_remove_recursive(tdm_debugfs);
	destroy_workqueue(tdm_wq);
	tdm_free_released();
	return ret;
}

static void __exit tdm_exit(void)
{
	/* No client holds a channel: each one pins the module. */
	platform_driver_unregister(&tdm_driver);
	tdm_unregister_devices();
	debugfs_remove_recursive(tdm_debugfs);
	destroy_workqueue(tdm_wq);
	tdm_free_released();
}

module_init(tdm_init);
module_exit(tdm_exit);

MODULE_DESCRIPTION("Software dmaengine memcpy provider for tests");
MODULE_LICENSE("GPL");
