// SPDX-License-Identifier: GPL-2.0
/*
 * A migrator for page migration copy offload on any dmaengine DMA_MEMCPY
 * channel: AMD PTDMA, Intel I/OAT, the dmaengine channels of Intel DSA
 * work queues, the copy engines of SoCs.
 *
 * At load it takes the channels (every DMA_MEMCPY channel it can get, or
 * those the admin names) as a private client, and registers with the
 * migration copy offload core.  Per batch it maps every folio on its
 * channel's device, submits one memcpy descriptor per folio, or per
 * segment of a folio, and waits, bounded by timeout_ms, for the channels
 * to go idle.  Each folio's result comes from the results of its own
 * descriptors (see dma_migrate.h); a folio it did not copy is copied by
 * the CPU in the move phase.
 *
 * The one promise the core cannot check is that no engine writes into a
 * folio once copy() has returned.  On a timeout a channel that can be
 * stopped is stopped with dmaengine_terminate_sync(), which returns once
 * the transfers have stopped and their callbacks have finished.  In 6.12
 * I/OAT and idxd cannot be stopped that way: for them the migrator keeps
 * waiting, without a bound, and says so in the log, since returning would
 * let the engine write into pages the move phase maps or frees.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/fault-inject.h>
#include <linux/mempool.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "dma_migrate.h"

static char *channels;
module_param(channels, charp, 0444);
MODULE_PARM_DESC(channels,
		 "Comma-separated DMA channels to use, by name as in /sys/class/dma (default: every DMA_MEMCPY channel the migrator can get)");

static unsigned int timeout_ms = 1000;

static int timeout_ms_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, 60000);
}

static const struct kernel_param_ops timeout_ms_ops = {
	.set = timeout_ms_set,
	.get = param_get_uint,
};
module_param_cb(timeout_ms, &timeout_ms_ops, &timeout_ms, 0644);
MODULE_PARM_DESC(timeout_ms,
		 "Longest wait for a batch in ms, 1 to 60000 (default 1000); past it the channels are stopped and the CPU copies what is left");

/* Descriptors submitted to a channel before its engine is kicked. */
#define DMA_MIG_ISSUE_EVERY	16

/* How often an unbounded wait repeats its warning. */
#define DMA_MIG_WARN_EVERY	(10 * HZ)

/**
 * struct dma_mig_chan - a channel the migrator holds
 * @chan: the channel
 * @name: its name, kept: the dmaengine core frees the channel's device
 *	(where dma_chan_name() looks) when its provider is removed
 * @dev: the device DMA addresses are mapped for, referenced
 * @node: its NUMA node
 * @seg: bytes per descriptor
 * @can_stop: the provider implements device_terminate_all
 * @lock: held by the batch using the channel
 * @descs: descriptors submitted
 * @errors: folios left to the CPU because a descriptor of theirs failed or
 *	was stopped
 */
struct dma_mig_chan {
	struct dma_chan *chan;
	char name[32];
	struct device *dev;
	int node;
	u32 seg;
	bool can_stop;
	struct mutex lock;	/* held by the batch using the channel */
	atomic_long_t descs;
	atomic_long_t errors;
};

static struct dma_mig_chan dma_mig_chans[DMA_MIG_MAX_CHANS];
static unsigned int dma_mig_nr_chans;

/* Batch states, preallocated: a batch is copied only with a free one. */
static mempool_t *dma_mig_pool;

static struct dentry *dma_mig_debugfs;
static DECLARE_FAULT_ATTR(fail_map);

enum dma_mig_stat {
	DMA_MIG_BATCHES,
	DMA_MIG_COPIED,
	DMA_MIG_FALLBACK_BUSY,
	DMA_MIG_FALLBACK_MAP,
	DMA_MIG_FALLBACK_PREP,
	DMA_MIG_FALLBACK_SUBMIT,
	DMA_MIG_FALLBACK_ERROR,
	DMA_MIG_FALLBACK_TIMEOUT,
	DMA_MIG_TIMEOUTS,
	DMA_MIG_UNBOUNDED_WAITS,
	DMA_MIG_NR_STATS,
};

static const char * const dma_mig_stat_names[DMA_MIG_NR_STATS] = {
	[DMA_MIG_BATCHES] = "batches",
	[DMA_MIG_COPIED] = "copied",
	[DMA_MIG_FALLBACK_BUSY] = "fallback_busy",
	[DMA_MIG_FALLBACK_MAP] = "fallback_map",
	[DMA_MIG_FALLBACK_PREP] = "fallback_prep",
	[DMA_MIG_FALLBACK_SUBMIT] = "fallback_submit",
	[DMA_MIG_FALLBACK_ERROR] = "fallback_error",
	[DMA_MIG_FALLBACK_TIMEOUT] = "fallback_timeout",
	[DMA_MIG_TIMEOUTS] = "timeouts",
	[DMA_MIG_UNBOUNDED_WAITS] = "unbounded_waits",
};

static atomic_long_t dma_mig_stats[DMA_MIG_NR_STATS];

static const enum dma_mig_stat dma_mig_fail_stat[] = {
	[DMA_MIG_FAIL_MAP] = DMA_MIG_FALLBACK_MAP,
	[DMA_MIG_FAIL_PREP] = DMA_MIG_FALLBACK_PREP,
	[DMA_MIG_FAIL_SUBMIT] = DMA_MIG_FALLBACK_SUBMIT,
	[DMA_MIG_FAIL_ERROR] = DMA_MIG_FALLBACK_ERROR,
	[DMA_MIG_FAIL_TIMEOUT] = DMA_MIG_FALLBACK_TIMEOUT,
};

static void dma_mig_count(enum dma_mig_stat s, long n)
{
	atomic_long_add(n, &dma_mig_stats[s]);
}

/*
 * The channels of a batch: every free one on the node of its first source
 * folio (a batch usually comes from one node), else every free one.  A
 * channel serves one batch at a time, so that stopping it after a timeout
 * stops no other batch's work.  Never waits: a busy channel is skipped.
 */
static unsigned int dma_mig_lock_chans(int nid, struct dma_mig_chan **mine)
{
	unsigned int i, n = 0;
	int pass;

	for (pass = 0; pass < 2 && !n; pass++) {
		for (i = 0; i < dma_mig_nr_chans; i++) {
			struct dma_mig_chan *c = &dma_mig_chans[i];

			if (!pass && c->node != nid)
				continue;
			if (mutex_trylock(&c->lock))
				mine[n++] = c;
		}
	}
	return n;
}

static void dma_mig_unlock_chans(struct dma_mig_chan **mine, unsigned int n)
{
	while (n--)
		mutex_unlock(&mine[n]->lock);
}

static int dma_mig_map(struct dma_mig_chan *c, struct folio *folio,
		       enum dma_data_direction dir, dma_addr_t *addr)
{
	if (should_fail(&fail_map, folio_size(folio)))
		return -EIO;
	*addr = dma_map_page(c->dev, folio_page(folio, 0), 0, folio_size(folio), dir);
	return dma_mapping_error(c->dev, *addr);
}

/* Map both folios of entry @i; a failure leaves the folio to the CPU. */
static void dma_mig_map_folio(struct dma_mig_batch *mb, struct dma_mig_chan *c,
			      struct migrate_copy_batch *b, unsigned int i)
{
	struct dma_mig_folio *f = &mb->f[i];

	if (dma_mig_map(c, b->src[i], DMA_TO_DEVICE, &f->src)) {
		f->fail = DMA_MIG_FAIL_MAP;
		return;
	}
	if (dma_mig_map(c, b->dst[i], DMA_FROM_DEVICE, &f->dst)) {
		dma_unmap_page(c->dev, f->src, folio_size(b->src[i]), DMA_TO_DEVICE);
		f->fail = DMA_MIG_FAIL_MAP;
		return;
	}
	f->mapped = true;
}

/* Earlier descriptors of the folio may be completing: under the lock. */
static void dma_mig_set_fail(struct dma_mig_batch *mb, struct dma_mig_folio *f,
			     enum dma_mig_fail why)
{
	spin_lock_irq(&mb->lock);
	if (f->fail == DMA_MIG_OK)
		f->fail = why;
	spin_unlock_irq(&mb->lock);
}

/*
 * Submit the descriptors of entry @i on its channel.  Return: false when
 * the channel refused one, so that the batch stops using it.
 */
static bool dma_mig_submit_folio(struct dma_mig_batch *mb, struct dma_mig_chan *c,
				 size_t size, unsigned int i)
{
	struct dma_mig_folio *f = &mb->f[i];
	struct dma_async_tx_descriptor *tx;
	dma_cookie_t cookie;
	size_t off, len;

	for (off = 0; off < size; off += len) {
		len = min_t(size_t, c->seg, size - off);
		/*
		 * An interrupt for every descriptor: its callback carries the
		 * only result for its folio, and idxd tracks no descriptor
		 * submitted without one.
		 */
		tx = dmaengine_prep_dma_memcpy(c->chan, f->dst + off, f->src + off, len,
					       DMA_PREP_INTERRUPT | DMA_CTRL_ACK);
		if (!tx) {
			dma_mig_set_fail(mb, f, DMA_MIG_FAIL_PREP);
			return false;
		}
		tx->callback_result = dma_mig_desc_done;
		tx->callback_param = f;
		/* Before submit: the descriptor may complete at once. */
		spin_lock_irq(&mb->lock);
		f->pending++;
		mb->outstanding[f->chan]++;
		spin_unlock_irq(&mb->lock);
		cookie = dmaengine_submit(tx);
		if (dma_submit_error(cookie)) {
			/* Not queued: no callback will come for it. */
			spin_lock_irq(&mb->lock);
			f->pending--;
			mb->outstanding[f->chan]--;
			spin_unlock_irq(&mb->lock);
			dma_mig_set_fail(mb, f, DMA_MIG_FAIL_SUBMIT);
			return false;
		}
		atomic_long_inc(&c->descs);
	}
	return true;
}

/*
 * Wait for the channels of @mask to go idle; a stopped channel runs no
 * callback any more.  Return: the channels still running.
 */
static unsigned long dma_mig_wait(struct dma_mig_batch *mb, struct dma_mig_chan **mine,
				  unsigned long mask)
{
	unsigned long running = 0;
	unsigned int i;

	if (wait_event_timeout(mb->wq, dma_mig_idle(mb, mask),
			       msecs_to_jiffies(READ_ONCE(timeout_ms))))
		return 0;

	dma_mig_count(DMA_MIG_TIMEOUTS, 1);
	for (i = 0; i < mb->nr_chans; i++) {
		if (!(mask & BIT(i)) || dma_mig_idle(mb, BIT(i)))
			continue;
		/*
		 * 0 means every transfer has stopped and every callback has
		 * returned: what did not complete stays pending.
		 */
		if (mine[i]->can_stop && !dmaengine_terminate_sync(mine[i]->chan))
			continue;
		running |= BIT(i);
	}
	return running;
}

/*
 * A channel that cannot be stopped may still write into the batch: wait for
 * it, however long it takes, rather than return with work in flight.
 */
static void dma_mig_wait_unstoppable(struct dma_mig_batch *mb, struct dma_mig_chan **mine,
				     unsigned long running)
{
	unsigned int i;

	dma_mig_count(DMA_MIG_UNBOUNDED_WAITS, 1);
	for (i = 0; i < mb->nr_chans; i++)
		if (running & BIT(i))
			pr_warn_ratelimited("%s: no completion within %u ms and the channel cannot be stopped; waiting for it\n",
					    mine[i]->name, READ_ONCE(timeout_ms));
	while (!wait_event_timeout(mb->wq, dma_mig_idle(mb, running), DMA_MIG_WARN_EVERY))
		pr_warn_ratelimited("still waiting for a channel that cannot be stopped\n");
}

/* Unmap every folio, and report which ones the engines copied. */
static void dma_mig_finish(struct dma_mig_batch *mb, struct dma_mig_chan **mine,
			   struct migrate_copy_batch *b)
{
	long counts[DMA_MIG_NR_STATS] = {};
	unsigned int i;

	for (i = 0; i < b->nr; i++) {
		struct dma_mig_folio *f = &mb->f[i];
		struct dma_mig_chan *c = mine[f->chan];
		enum dma_mig_fail res = dma_mig_folio_result(f);

		if (f->mapped) {
			/* Makes what the device wrote visible to the CPU. */
			dma_unmap_page(c->dev, f->dst, folio_size(b->dst[i]), DMA_FROM_DEVICE);
			dma_unmap_page(c->dev, f->src, folio_size(b->src[i]), DMA_TO_DEVICE);
		}
		if (res == DMA_MIG_OK) {
			__set_bit(i, b->copied);
			counts[DMA_MIG_COPIED]++;
		} else {
			counts[dma_mig_fail_stat[res]]++;
			if (res == DMA_MIG_FAIL_ERROR || res == DMA_MIG_FAIL_TIMEOUT)
				atomic_long_inc(&c->errors);
		}
	}
	for (i = 0; i < DMA_MIG_NR_STATS; i++)
		if (counts[i])
			dma_mig_count(i, counts[i]);
}

static int dma_mig_copy(struct migrator *m, struct migrate_copy_batch *b)
{
	struct dma_mig_chan *mine[DMA_MIG_MAX_CHANS];
	unsigned int i, next = 0, unissued[DMA_MIG_MAX_CHANS] = {};
	unsigned long usable, used = 0, running;
	int nodes[DMA_MIG_MAX_CHANS];
	struct dma_mig_batch *mb;
	int ret = 0;

	dma_mig_count(DMA_MIG_BATCHES, 1);
	if (WARN_ON_ONCE(b->nr > MIGRATE_OFFLOAD_MAX_FOLIOS))
		return -EINVAL;
	mb = mempool_alloc_preallocated(dma_mig_pool);
	if (!mb) {
		dma_mig_count(DMA_MIG_FALLBACK_BUSY, b->nr);
		return -EBUSY;
	}
	mb->nr_chans = dma_mig_lock_chans(folio_nid(b->src[0]), mine);
	if (!mb->nr_chans) {
		dma_mig_count(DMA_MIG_FALLBACK_BUSY, b->nr);
		ret = -EBUSY;
		goto free;
	}
	spin_lock_init(&mb->lock);
	init_waitqueue_head(&mb->wq);
	memset(mb->outstanding, 0, sizeof(mb->outstanding));
	mb->nr = b->nr;
	usable = BIT(mb->nr_chans) - 1;
	for (i = 0; i < mb->nr_chans; i++)
		nodes[i] = mine[i]->node;

	for (i = 0; i < b->nr; i++) {
		struct dma_mig_folio *f = &mb->f[i];
		unsigned int c;

		*f = (struct dma_mig_folio){ .mb = mb };
		c = dma_mig_pick(nodes, mb->nr_chans, usable, folio_nid(b->src[i]), &next);
		if (c == mb->nr_chans) {
			f->fail = DMA_MIG_FAIL_PREP;
			continue;
		}
		f->chan = c;
		dma_mig_map_folio(mb, mine[c], b, i);
		if (!f->mapped)
			continue;
		used |= BIT(c);
		if (!dma_mig_submit_folio(mb, mine[c], folio_size(b->src[i]), i))
			usable &= ~BIT(c);
		if (++unissued[c] == DMA_MIG_ISSUE_EVERY) {
			dma_async_issue_pending(mine[c]->chan);
			unissued[c] = 0;
		}
	}
	for (i = 0; i < mb->nr_chans; i++)
		if (unissued[i])
			dma_async_issue_pending(mine[i]->chan);

	running = dma_mig_wait(mb, mine, used);
	if (running)
		dma_mig_wait_unstoppable(mb, mine, running);
	dma_mig_quiesce(mb);
	dma_mig_finish(mb, mine, b);
	dma_mig_unlock_chans(mine, mb->nr_chans);
free:
	mempool_free(mb, dma_mig_pool);
	return ret;
}

static struct migrator dma_mig_migrator = {
	.name = "dmaengine",
	.owner = THIS_MODULE,
	/* Every migration the admin lets through. */
	.reasons = BIT(MR_TYPES) - 1,
	.copy = dma_mig_copy,
};

/* Is @name in the comma-separated list @list? */
static bool dma_mig_listed(const char *list, const char *name)
{
	size_t len = strlen(name);
	const char *p = list;

	while (p && *p) {
		if (!strncmp(p, name, len) && (p[len] == ',' || !p[len]))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

static bool dma_mig_filter(struct dma_chan *chan, void *param)
{
	/* Folios are page aligned; a stricter engine cannot take them. */
	if (chan->device->copy_align > PAGE_SHIFT)
		return false;
	return !channels || !*channels || dma_mig_listed(channels, dma_chan_name(chan));
}

/* Say which of the channels the admin named the migrator did not get. */
static void dma_mig_warn_missing(void)
{
	const char *p = channels, *end;
	unsigned int i;
	size_t len;

	while (p && *p) {
		end = strchrnul(p, ',');
		len = end - p;
		for (i = 0; i < dma_mig_nr_chans; i++)
			if (strlen(dma_mig_chans[i].name) == len &&
			    !strncmp(dma_mig_chans[i].name, p, len))
				break;
		if (len && i == dma_mig_nr_chans)
			pr_warn("channel %.*s: no such DMA_MEMCPY channel, or in use\n",
				(int)len, p);
		p = *end ? end + 1 : end;
	}
}

static void dma_mig_release_chans(void)
{
	while (dma_mig_nr_chans) {
		struct dma_mig_chan *c = &dma_mig_chans[--dma_mig_nr_chans];

		dma_release_channel(c->chan);
		put_device(c->dev);
		mutex_destroy(&c->lock);
	}
}

static int dma_mig_request_chans(void)
{
	dma_cap_mask_t mask;
	struct dma_chan *chan;

	dma_cap_zero(mask);
	dma_cap_set(DMA_MEMCPY, mask);
	while (dma_mig_nr_chans < DMA_MIG_MAX_CHANS) {
		struct dma_mig_chan *c = &dma_mig_chans[dma_mig_nr_chans];

		chan = dma_request_channel(mask, dma_mig_filter, NULL);
		if (!chan)
			break;
		c->chan = chan;
		strscpy(c->name, dma_chan_name(chan));
		/* Kept: the dmaengine core does not tell clients of a removal. */
		c->dev = get_device(dmaengine_get_dma_device(chan));
		c->node = dev_to_node(c->dev);
		c->seg = dma_mig_seg_len(dma_get_max_seg_size(c->dev), chan->device->copy_align);
		c->can_stop = chan->device->device_terminate_all;
		mutex_init(&c->lock);
		pr_info("%s: node %d, %u bytes per descriptor%s\n", c->name,
			c->node, c->seg, c->can_stop ? "" : ", cannot be stopped");
		dma_mig_nr_chans++;
	}
	if (!dma_mig_nr_chans) {
		pr_err("no DMA_MEMCPY channel%s%s available\n",
		       channels && *channels ? " among " : "", channels ?: "");
		return -ENODEV;
	}
	dma_mig_warn_missing();
	return 0;
}

static int dma_mig_stat_get(void *data, u64 *val)
{
	*val = atomic_long_read(data);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(dma_mig_stat_fops, dma_mig_stat_get, NULL, "%llu\n");

static int dma_mig_channels_show(struct seq_file *m, void *v)
{
	unsigned int i;

	for (i = 0; i < dma_mig_nr_chans; i++) {
		struct dma_mig_chan *c = &dma_mig_chans[i];

		seq_printf(m, "%s node %d descs %ld errors %ld\n", c->name,
			   c->node, atomic_long_read(&c->descs), atomic_long_read(&c->errors));
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dma_mig_channels);

static void dma_mig_debugfs_init(void)
{
	unsigned int i;

	dma_mig_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	for (i = 0; i < DMA_MIG_NR_STATS; i++)
		debugfs_create_file_unsafe(dma_mig_stat_names[i], 0400, dma_mig_debugfs,
					   &dma_mig_stats[i], &dma_mig_stat_fops);
	debugfs_create_file("channels", 0400, dma_mig_debugfs, NULL, &dma_mig_channels_fops);
	fault_create_debugfs_attr("fail_map", dma_mig_debugfs, &fail_map);
}

static int __init dma_mig_init(void)
{
	int ret;

	ret = dma_mig_request_chans();
	if (ret)
		return ret;
	/* A channel serves one batch at a time: as many states as channels. */
	dma_mig_pool = mempool_create_kvmalloc_pool(dma_mig_nr_chans,
						    sizeof(struct dma_mig_batch));
	if (!dma_mig_pool) {
		ret = -ENOMEM;
		goto err_chans;
	}
	dma_mig_debugfs_init();
	ret = migrate_offload_register(&dma_mig_migrator);
	if (ret)
		goto err_debugfs;
	return 0;

err_debugfs:
	debugfs_remove_recursive(dma_mig_debugfs);
	mempool_destroy(dma_mig_pool);
err_chans:
	dma_mig_release_chans();
	return ret;
}

static void __exit dma_mig_exit(void)
{
	/* Waits for every batch in flight: the channels are idle then. */
	migrate_offload_unregister(&dma_mig_migrator);
	debugfs_remove_recursive(dma_mig_debugfs);
	mempool_destroy(dma_mig_pool);
	dma_mig_release_chans();
}

module_init(dma_mig_init);
module_exit(dma_mig_exit);
MODULE_DESCRIPTION("dmaengine migrator for migration copy offload");
MODULE_LICENSE("GPL");
