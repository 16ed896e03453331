/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The dmaengine migrator: page migration copies on any DMA_MEMCPY channel.
 *
 * dma_migrate.c takes the channels, submits one memcpy descriptor per folio
 * or per segment of a folio, waits and reports a result per folio.  What
 * decides that result lives here, apart from the dmaengine calls, so that a
 * KUnit suite (dma_migrate_kunit.c) can drive it with descriptors completing
 * in any order and with any result.
 */
#ifndef _DMA_MIGRATE_H_
#define _DMA_MIGRATE_H_

#include <linux/dmaengine.h>
#include <linux/kernel.h>
#include <linux/migrate_copy_offload.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

/* Channels the migrator holds at most, and a batch may use. */
#define DMA_MIG_MAX_CHANS	16

/* Why a folio was left to the CPU; DMA_MIG_OK while it may still be copied. */
enum dma_mig_fail {
	DMA_MIG_OK,
	DMA_MIG_FAIL_MAP,	/* a dma_map_page() failed */
	DMA_MIG_FAIL_PREP,	/* the provider refused a descriptor */
	DMA_MIG_FAIL_SUBMIT,	/* dmaengine_submit() failed */
	DMA_MIG_FAIL_ERROR,	/* a descriptor completed with an error */
	DMA_MIG_FAIL_TIMEOUT,	/* a descriptor was stopped before completing */
};

struct dma_mig_batch;

/**
 * struct dma_mig_folio - one folio of a batch, as the engines see it
 * @mb: the batch
 * @src: DMA address of the source folio, valid while @mapped
 * @dst: DMA address of the destination folio, valid while @mapped
 * @pending: descriptors submitted for it that have not completed
 * @chan: index of its channel in &dma_mig_batch.chans
 * @mapped: both folios are mapped
 * @fail: enum dma_mig_fail, the first reason found
 *
 * @pending and @fail change under &dma_mig_batch.lock, from completion
 * callbacks in whatever context the provider calls them.
 */
struct dma_mig_folio {
	struct dma_mig_batch *mb;
	dma_addr_t src;
	dma_addr_t dst;
	unsigned int pending;
	u8 chan;
	bool mapped;
	u8 fail;
};

/**
 * struct dma_mig_batch - the state of one call of the migrator's copy
 * @lock: protects @outstanding and every folio's @pending and @fail, and
 *	is held by a completion callback until it has done its last access
 *	to the batch, so that the waiter may free the batch once it has taken
 *	@lock after seeing the batch idle
 * @wq: the copying task waits here for channels to go idle
 * @outstanding: per channel, descriptors submitted and not completed
 * @nr_chans: channels the batch holds
 * @nr: folios in @f
 * @f: one entry per folio of the batch
 */
struct dma_mig_batch {
	spinlock_t lock;	/* see above */
	wait_queue_head_t wq;
	unsigned int outstanding[DMA_MIG_MAX_CHANS];
	unsigned int nr_chans;
	unsigned int nr;
	struct dma_mig_folio f[MIGRATE_OFFLOAD_MAX_FOLIOS];
};

/**
 * dma_mig_desc_done - completion callback of every descriptor
 * @param: the &struct dma_mig_folio the descriptor copies (part of)
 * @res: the descriptor's own result; NULL counts as an error
 *
 * Runs in the provider's completion context: hard or soft interrupt, or a
 * thread.  A folio's result comes only from the results of its own
 * descriptors, in whatever order they complete: engines such as DSA
 * complete out of order (DMA_COMPLETION_NO_ORDER), so the callback of the
 * last descriptor submitted says nothing about the others.
 */
static inline void dma_mig_desc_done(void *param, const struct dmaengine_result *res)
{
	struct dma_mig_folio *f = param;
	struct dma_mig_batch *mb = f->mb;
	unsigned long flags;

	spin_lock_irqsave(&mb->lock, flags);
	if ((!res || res->result != DMA_TRANS_NOERROR) && f->fail == DMA_MIG_OK)
		f->fail = DMA_MIG_FAIL_ERROR;
	f->pending--;
	if (!--mb->outstanding[f->chan])
		wake_up(&mb->wq);
	spin_unlock_irqrestore(&mb->lock, flags);
}

/**
 * dma_mig_idle - have the channels in @mask finished every descriptor?
 * @mb: the batch
 * @mask: bit i for channel i of the batch
 *
 * Return: true when no descriptor submitted on them is still running.
 */
static inline bool dma_mig_idle(struct dma_mig_batch *mb, unsigned long mask)
{
	unsigned int i;

	for (i = 0; i < mb->nr_chans; i++)
		if ((mask & BIT(i)) && READ_ONCE(mb->outstanding[i]))
			return false;
	return true;
}

/**
 * dma_mig_quiesce - wait until no callback can touch @mb any more
 * @mb: the batch, idle on every channel that can still complete
 *
 * A callback may have made the batch idle and not yet left @mb->lock.
 */
static inline void dma_mig_quiesce(struct dma_mig_batch *mb)
{
	spin_lock_irq(&mb->lock);
	spin_unlock_irq(&mb->lock);
}

/**
 * dma_mig_folio_result - what the engines did for a folio
 * @f: the folio, once no descriptor of it can complete any more
 *
 * Return: DMA_MIG_OK when every descriptor covering the folio completed
 * without an error; otherwise why the CPU must copy it.  A descriptor that
 * never completed (its channel was stopped) makes it DMA_MIG_FAIL_TIMEOUT.
 */
static inline enum dma_mig_fail dma_mig_folio_result(const struct dma_mig_folio *f)
{
	if (f->fail != DMA_MIG_OK)
		return f->fail;
	if (f->pending)
		return DMA_MIG_FAIL_TIMEOUT;
	return f->mapped ? DMA_MIG_OK : DMA_MIG_FAIL_MAP;
}

/**
 * dma_mig_pick - choose the channel for a folio
 * @node: NUMA node of each channel's device
 * @nr: number of channels
 * @usable: bit i set while channel i takes descriptors
 * @nid: node of the source folio
 * @next: where the round robin resumes; updated
 *
 * Prefers the channels on the source folio's node, where the engine reads
 * locally, then any channel; among them, the next in turn from @next, so
 * that consecutive folios spread over the channels.
 *
 * Return: a channel index, or @nr when none is usable.
 */
static inline unsigned int dma_mig_pick(const int *node, unsigned int nr,
					unsigned long usable, int nid,
					unsigned int *next)
{
	unsigned int i, c, any = nr;

	for (i = 0; i < nr; i++) {
		c = (*next + i) % nr;
		if (!(usable & BIT(c)))
			continue;
		if (node[c] == nid) {
			any = c;
			break;
		}
		if (any == nr)
			any = c;
	}
	if (any < nr)
		*next = (any + 1) % nr;
	return any;
}

/**
 * dma_mig_seg_len - how many bytes each descriptor copies on a channel
 * @max_seg: dma_get_max_seg_size() of the channel's device
 * @align: its copy_align (log2 of the required alignment)
 *
 * Providers refuse longer transfers (idxd returns no descriptor past the
 * device's maximum).  Rounded down to the alignment, and at least one
 * aligned unit.
 *
 * Return: the segment length in bytes.
 */
static inline u32 dma_mig_seg_len(unsigned int max_seg, unsigned int align)
{
	u32 unit = 1U << align;

	return max_t(u32, unit, round_down(max_seg, unit));
}

#endif /* _DMA_MIGRATE_H_ */
