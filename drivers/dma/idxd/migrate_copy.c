// SPDX-License-Identifier: GPL-2.0
/*
 * The DSA migrator's copy engine: a batch of folios in, one result per
 * folio out.
 *
 * Each folio is DMA-mapped on the device of the work queue it goes to and
 * covered by MEMMOVE descriptors of at most the queue's transfer size.  Up
 * to the queue's batch size of them form the list of one BATCH descriptor
 * (a "slot"); a slot of one entry is submitted as the MEMMOVE itself.
 * Slots are submitted as soon as they are full, spread over the queues of
 * the device nearest the source, and polled with a deadline.
 *
 * DSA completes descriptors out of order, across queues and within a
 * batch, so nothing here infers one descriptor's result from another's:
 * every MEMMOVE has its own completion record, and a folio counts as copied
 * only when every descriptor that covers it reports success.  Anything
 * else (a page fault, a partial completion, a batch error, no descriptor
 * free, a halted device, a timeout) leaves the folio to the CPU copy of the
 * migration core, which copies it whole.
 */
#define pr_fmt(fmt) "idxd_migrate: " fmt

#include <linux/bitmap.h>
#include <linux/jiffies.h>
#include <linux/migrate_copy_offload.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <asm/barrier.h>

#include "migrate.h"

/* The core hands over at most this many folios (one bitmap word each). */
#define IDXD_MIG_MAX_FOLIOS	512

/* How long a drain may take before the log says so (it is not cut short). */
#define IDXD_MIG_DRAIN_WARN	(10 * HZ)

/**
 * idxd_mig_area_size - bytes of DMA-coherent memory a channel needs
 * @nr_slots: BATCH descriptors in flight
 * @max_batch: entries per BATCH descriptor
 *
 * The lists (64 bytes an entry) come first and the completion records (32
 * bytes each) after them, so an area aligned to 64 bytes aligns both.
 *
 * Return: the size in bytes.
 */
size_t idxd_mig_area_size(unsigned int nr_slots, unsigned int max_batch)
{
	size_t n = array_size(nr_slots, max_batch);

	return size_add(array_size(n, sizeof(struct dsa_hw_desc)),
			array_size(n, sizeof(struct dsa_completion_record)));
}

/**
 * idxd_mig_chan_init - set up a channel on its coherent area
 * @ch: the channel, with @ops, @priv, @node and @name already set
 * @area: idxd_mig_area_size() bytes of DMA-coherent memory, 64-byte aligned
 * @area_dma: the device address of @area
 * @nr_slots: BATCH descriptors in flight, 1 to IDXD_MIG_MAX_SLOTS
 * @max_batch: entries per BATCH descriptor, 1 (no BATCH) to 1024
 * @max_xfer: bytes per MEMMOVE, at least PAGE_SIZE
 *
 * The owner sets up @ch->drain afterwards.  May sleep.
 *
 * Return: 0, -EINVAL for limits out of range or a misaligned area, or
 * -ENOMEM.
 */
int idxd_mig_chan_init(struct idxd_mig_chan *ch, void *area, dma_addr_t area_dma,
		       unsigned int nr_slots, unsigned int max_batch, u32 max_xfer)
{
	size_t n = (size_t)nr_slots * max_batch;

	if (!nr_slots || nr_slots > IDXD_MIG_MAX_SLOTS || !max_batch || max_batch > 1024 ||
	    max_xfer < PAGE_SIZE || !IS_ALIGNED((unsigned long)area, 64) ||
	    !IS_ALIGNED(area_dma, 64))
		return -EINVAL;

	ch->slot = kcalloc(nr_slots, sizeof(*ch->slot), GFP_KERNEL);
	ch->entry = kcalloc(n, sizeof(*ch->entry), GFP_KERNEL);
	if (!ch->slot || !ch->entry) {
		idxd_mig_chan_destroy(ch);
		return -ENOMEM;
	}
	ch->nr_slots = nr_slots;
	ch->max_batch = max_batch;
	ch->max_xfer = max_xfer;
	ch->list = area;
	ch->list_dma = area_dma;
	ch->comps = area + n * sizeof(struct dsa_hw_desc);
	ch->comps_dma = area_dma + n * sizeof(struct dsa_hw_desc);
	ch->busy = 0;
	ch->draining = 0;
	ch->broken = false;
	atomic_long_set(&ch->timeouts, 0);
	atomic_long_set(&ch->halts, 0);
	return 0;
}

/**
 * idxd_mig_chan_destroy - free what idxd_mig_chan_init() allocated
 * @ch: the channel; no copy may be using it
 */
void idxd_mig_chan_destroy(struct idxd_mig_chan *ch)
{
	kfree(ch->slot);
	kfree(ch->entry);
	ch->slot = NULL;
	ch->entry = NULL;
}

/**
 * idxd_mig_entry_flags - descriptor flags of a MEMMOVE from @src_nid to @dst_nid
 * @src_nid: node of the source folio
 * @dst_nid: node of the destination folio
 *
 * A completion record for every entry, since entries complete out of order
 * and each one's result matters.  Cache allocation (CC) only when the data
 * stays on its node: a page moving to another node, a demotion above all,
 * would only push useful lines out of this node's cache.
 *
 * Return: the flags.
 */
u32 idxd_mig_entry_flags(int src_nid, int dst_nid)
{
	u32 flags = IDXD_OP_FLAG_CRAV | IDXD_OP_FLAG_RCR;

	if (src_nid == dst_nid)
		flags |= IDXD_OP_FLAG_CC;
	return flags;
}

/* One call of idxd_mig_copy(). */
struct idxd_mig_run {
	struct migrate_copy_batch *b;
	struct idxd_mig_chan *chan[IDXD_MIG_MAX_CHANS];
	unsigned long used[IDXD_MIG_MAX_CHANS];	/* slots this call holds */
	unsigned int nr_chans;
	unsigned int ci;			/* channel being filled */
	int slot;				/* its open slot, or -1 */
	DECLARE_BITMAP(placed, IDXD_MIG_MAX_FOLIOS);	/* every byte submitted */
	DECLARE_BITMAP(failed, IDXD_MIG_MAX_FOLIOS);	/* some descriptor failed */
	int ret;
};

/* The channels to use: those of the source's node if any, else all. */
static void idxd_mig_pick(struct idxd_mig_run *run, struct idxd_mig_chan **chans,
			  unsigned int nr_chans, int nid)
{
	unsigned int i, near = 0;

	for (i = 0; i < nr_chans; i++)
		if (!READ_ONCE(chans[i]->broken) && chans[i]->node == nid)
			near++;
	for (i = 0; i < nr_chans && run->nr_chans < IDXD_MIG_MAX_CHANS; i++) {
		if (READ_ONCE(chans[i]->broken) || (near && chans[i]->node != nid))
			continue;
		run->chan[run->nr_chans++] = chans[i];
	}
}

/* Take a free slot of channel @ci for this call; -1 if none. */
static int idxd_mig_take_slot(struct idxd_mig_run *run, unsigned int ci)
{
	struct idxd_mig_chan *ch = run->chan[ci];
	unsigned int s;

	do {
		s = find_first_zero_bit(&ch->busy, ch->nr_slots);
		if (s >= ch->nr_slots)
			return -1;
	} while (test_and_set_bit_lock(s, &ch->busy));
	__set_bit(s, &run->used[ci]);
	ch->slot[s].nr = 0;
	ch->slot[s].submitted = false;
	ch->slot[s].done = false;
	return s;
}

/* Submit the open slot: the MEMMOVE itself if it has one entry, else a BATCH. */
static void idxd_mig_submit_slot(struct idxd_mig_run *run)
{
	struct idxd_mig_chan *ch = run->chan[run->ci];
	unsigned int s = run->slot;
	struct idxd_mig_slot *slot = &ch->slot[s];
	struct dsa_hw_desc *first = &ch->list[s * ch->max_batch];
	struct dsa_hw_desc *hw;

	run->slot = -1;
	if (!slot->nr || ch->ops->get(ch, &slot->sub))
		return;
	hw = slot->sub.hw;
	hw->completion_addr = slot->sub.comp_dma;
	if (slot->nr == 1) {
		hw->flags = first->flags;
		hw->opcode = DSA_OPCODE_MEMMOVE;
		hw->src_addr = first->src_addr;
		hw->dst_addr = first->dst_addr;
		hw->xfer_size = first->xfer_size;
	} else {
		/* The entries inherit PASID and privilege from the BATCH. */
		hw->flags = IDXD_OP_FLAG_CRAV | IDXD_OP_FLAG_RCR;
		hw->opcode = DSA_OPCODE_BATCH;
		hw->desc_list_addr = ch->list_dma + (dma_addr_t)s * ch->max_batch * sizeof(*hw);
		hw->desc_count = slot->nr;
	}
	/* The list and its records are written before the portal write. */
	if (ch->ops->submit(ch, &slot->sub)) {
		ch->ops->put(ch, &slot->sub);
		return;
	}
	slot->submitted = true;
}

/*
 * Make sure channel @ci has an open slot with room: if the open one is
 * full, submit it and take another, on the next channel unless @same.
 */
static bool idxd_mig_room(struct idxd_mig_run *run, bool same)
{
	unsigned int tries, ci;

	if (run->slot >= 0 &&
	    run->chan[run->ci]->slot[run->slot].nr < run->chan[run->ci]->max_batch)
		return true;
	if (run->slot >= 0) {
		idxd_mig_submit_slot(run);
		if (!same)
			run->ci = (run->ci + 1) % run->nr_chans;
	}
	for (tries = 0; tries < (same ? 1 : run->nr_chans); tries++) {
		ci = (run->ci + tries) % run->nr_chans;
		run->slot = idxd_mig_take_slot(run, ci);
		if (run->slot >= 0) {
			run->ci = ci;
			return true;
		}
	}
	return false;
}

static void idxd_mig_add_entry(struct idxd_mig_run *run, unsigned int folio, bool first,
			       dma_addr_t src, dma_addr_t dst, u32 len, u32 flags)
{
	struct idxd_mig_chan *ch = run->chan[run->ci];
	struct idxd_mig_slot *slot = &ch->slot[run->slot];
	unsigned int k = run->slot * ch->max_batch + slot->nr++;
	struct dsa_hw_desc *d = &ch->list[k];

	memset(d, 0, sizeof(*d));
	d->opcode = DSA_OPCODE_MEMMOVE;
	d->flags = flags;
	d->src_addr = src;
	d->dst_addr = dst;
	d->xfer_size = len;
	d->completion_addr = ch->comps_dma + k * sizeof(struct dsa_completion_record);
	memset(&ch->comps[k], 0, sizeof(ch->comps[k]));
	ch->entry[k].folio = folio;
	ch->entry[k].first = first;
}

/*
 * Map folio @i and cover it with entries.  Returns false when no slot is
 * left at all, so planning stops; a folio that cannot be mapped, or whose
 * later entries find no slot, is just not placed.
 */
static bool idxd_mig_plan_folio(struct idxd_mig_run *run, unsigned int i)
{
	struct folio *src = run->b->src[i], *dst = run->b->dst[i];
	size_t size = folio_size(src), off, len;
	struct idxd_mig_chan *ch;
	dma_addr_t s, d;
	u32 flags;

	if (!idxd_mig_room(run, false))
		return false;
	ch = run->chan[run->ci];
	if (ch->ops->map(ch, src, DMA_TO_DEVICE, &s))
		return true;
	if (ch->ops->map(ch, dst, DMA_FROM_DEVICE, &d)) {
		ch->ops->unmap(ch, s, size, DMA_TO_DEVICE);
		return true;
	}
	flags = idxd_mig_entry_flags(folio_nid(src), folio_nid(dst));
	for (off = 0; off < size; off += len) {
		len = min_t(size_t, size - off, ch->max_xfer);
		/* The rest of a folio stays on the device it is mapped on. */
		if (off && !idxd_mig_room(run, true))
			return true;
		idxd_mig_add_entry(run, i, !off, s + off, d + off, len, flags);
	}
	__set_bit(i, run->placed);
	return true;
}

/*
 * Poll @comp until the device writes it.  Returns 0, -EIO if the device
 * halted (it does no more DMA then), or -ETIMEDOUT after @deadline.
 */
static int idxd_mig_wait(struct idxd_mig_chan *ch, struct dsa_completion_record *comp,
			 unsigned long deadline)
{
	unsigned int spins = 0;

	while (!READ_ONCE(comp->status)) {
		if (!ch->ops->alive(ch))
			return -EIO;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		if (!(++spins & 1023))
			cond_resched();
		else
			cpu_relax();
	}
	/* The rest of this record, and a batch's entry records, after the status. */
	dma_rmb();
	return 0;
}

/**
 * idxd_mig_drain - wait until the device is done with every descriptor of @ch
 * @ch: a channel on which a descriptor timed out
 *
 * After a timeout the device may still write into the destination folios
 * of the late descriptors.  Returning then would let the CPU copy those
 * folios and the migration map them, and a late DMA write would overwrite
 * live data.  A Drain descriptor completes only after every descriptor
 * submitted to the work queue before it, so this submits one and waits for
 * it.  Without Block on Fault no DSA descriptor waits for software: a drain
 * completes unless the device fails, and a device that fails halts and
 * does no more DMA.  So the wait is for the drain or the halt, however
 * long; past IDXD_MIG_DRAIN_WARN the log says so.
 *
 * The Drain descriptor is @ch->drain, set aside when the channel was set
 * up: allocating one here could wait forever for descriptors that other
 * timed-out copies hold while they wait to drain.  One drain at a time;
 * a copy that finds one running waits for it, and its own descriptors,
 * submitted earlier, are complete when that drain is.
 *
 * The channel is marked broken: an engine that missed a deadline is not
 * given more migrations until its queue is bound again.
 */
static void idxd_mig_drain(struct idxd_mig_chan *ch)
{
	struct idxd_mig_sub *sub = &ch->drain;
	unsigned long warn = jiffies + IDXD_MIG_DRAIN_WARN;
	bool warned = false;

	WRITE_ONCE(ch->broken, true);
	atomic_long_inc(&ch->timeouts);
	while (test_and_set_bit_lock(0, &ch->draining)) {
		if (!ch->ops->alive(ch))
			return;
		cond_resched();
	}
	memset(sub->comp, 0, sizeof(*sub->comp));
	sub->hw->flags = IDXD_OP_FLAG_CRAV | IDXD_OP_FLAG_RCR;
	sub->hw->opcode = DSA_OPCODE_DRAIN;
	sub->hw->completion_addr = sub->comp_dma;
	while (ch->ops->submit(ch, sub)) {
		/* A shared queue may refuse for a while; a halted device for good. */
		if (!ch->ops->alive(ch))
			goto unlock;
		cond_resched();
	}
	while (!READ_ONCE(sub->comp->status) && ch->ops->alive(ch)) {
		if (!warned && time_after(jiffies, warn)) {
			pr_warn("%s: waiting for a drain after a timed-out copy\n", ch->name);
			warned = true;
		}
		cond_resched();
	}
unlock:
	clear_bit_unlock(0, &ch->draining);
}

/* Wait for the submitted slots of channel @ci; drain it if one is late. */
static void idxd_mig_wait_chan(struct idxd_mig_run *run, unsigned int ci,
			       unsigned long deadline)
{
	struct idxd_mig_chan *ch = run->chan[ci];
	unsigned int s;
	int ret;

	for_each_set_bit(s, &run->used[ci], ch->nr_slots) {
		if (!ch->slot[s].submitted)
			continue;
		ret = idxd_mig_wait(ch, ch->slot[s].sub.comp, deadline);
		if (!ret)
			continue;
		if (ret == -ETIMEDOUT) {
			pr_err_ratelimited("%s: copy timed out; draining, and the queue is no longer used\n",
					   ch->name);
			idxd_mig_drain(ch);
		} else {
			atomic_long_inc(&ch->halts);
		}
		run->ret = ret;
		/* Drained or halted: no more writes from this queue. */
		dma_rmb();
		return;
	}
}

/* Mark the folios of the failed entries of slot @s of channel @ci. */
static void idxd_mig_slot_results(struct idxd_mig_run *run, unsigned int ci, unsigned int s)
{
	struct idxd_mig_chan *ch = run->chan[ci];
	struct idxd_mig_slot *slot = &ch->slot[s];
	unsigned int base = s * ch->max_batch, k;
	u8 top = 0, st;

	if (slot->submitted)
		top = DSA_COMP_STATUS(READ_ONCE(slot->sub.comp->status));
	for (k = 0; k < slot->nr; k++) {
		if (top == DSA_COMP_SUCCESS)
			continue;
		/* A failed batch: each entry's own record says what it did. */
		st = DSA_COMP_STATUS(READ_ONCE(ch->comps[base + k].status));
		if (top == DSA_COMP_BATCH_FAIL && slot->nr > 1 && st == DSA_COMP_SUCCESS)
			continue;
		__set_bit(ch->entry[base + k].folio, run->failed);
	}
}

/* Unmap what slot @s of channel @ci maps, and give it back. */
static void idxd_mig_release_slot(struct idxd_mig_run *run, unsigned int ci, unsigned int s)
{
	struct idxd_mig_chan *ch = run->chan[ci];
	struct idxd_mig_slot *slot = &ch->slot[s];
	unsigned int base = s * ch->max_batch, k;

	for (k = 0; k < slot->nr; k++) {
		struct idxd_mig_entry *e = &ch->entry[base + k];
		size_t size = folio_size(run->b->src[e->folio]);

		if (!e->first)
			continue;
		ch->ops->unmap(ch, ch->list[base + k].src_addr, size, DMA_TO_DEVICE);
		ch->ops->unmap(ch, ch->list[base + k].dst_addr, size, DMA_FROM_DEVICE);
	}
	if (slot->submitted)
		ch->ops->put(ch, &slot->sub);
	slot->nr = 0;
	slot->submitted = false;
	clear_bit_unlock(s, &ch->busy);
}

/**
 * idxd_mig_copy - copy a batch of folios on DSA work queues
 * @chans: the channels bound to the migrator
 * @nr_chans: how many
 * @b: the batch; bits are set in @b->copied for the folios copied
 * @timeout: jiffies to wait for the descriptors of one call
 *
 * Called from the migrator's copy callback (process context, folio locks
 * held, maybe in reclaim).  Does not allocate; sleeps only in
 * cond_resched().  When it returns, no device writes into any folio of
 * @b any more and nothing of @b is mapped.
 *
 * Return: 0; -ENODEV if no channel is usable; -EBUSY if no slot was free;
 * -EIO if a device halted; -ETIMEDOUT if a queue timed out and was drained.
 * In every case @b->copied is exact.
 */
int idxd_mig_copy(struct idxd_mig_chan **chans, unsigned int nr_chans,
		  struct migrate_copy_batch *b, unsigned long timeout)
{
	struct idxd_mig_run run = { .b = b, .slot = -1 };
	unsigned long deadline;
	unsigned int i, ci, s;

	if (!b->nr || b->nr > IDXD_MIG_MAX_FOLIOS)
		return -EINVAL;
	idxd_mig_pick(&run, chans, nr_chans, folio_nid(b->src[0]));
	if (!run.nr_chans)
		return -ENODEV;

	for (i = 0; i < b->nr; i++)
		if (!idxd_mig_plan_folio(&run, i))
			break;
	if (run.slot >= 0)
		idxd_mig_submit_slot(&run);
	if (i < b->nr)
		run.ret = -EBUSY;

	deadline = jiffies + timeout;
	for (ci = 0; ci < run.nr_chans; ci++)
		idxd_mig_wait_chan(&run, ci, deadline);

	for (ci = 0; ci < run.nr_chans; ci++) {
		for_each_set_bit(s, &run.used[ci], run.chan[ci]->nr_slots) {
			idxd_mig_slot_results(&run, ci, s);
			idxd_mig_release_slot(&run, ci, s);
		}
	}
	bitmap_andnot(run.placed, run.placed, run.failed, b->nr);
	bitmap_or(b->copied, b->copied, run.placed, b->nr);
	return run.ret;
}
