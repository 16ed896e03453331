// SPDX-License-Identifier: GPL-2.0
/*
 * The DSA migrator's copy engine: a batch of folios in, one result per
 * folio out.
 *
 * Each folio is DMA-mapped on the device of the work queue it goes to and
 * covered by MEMMOVE descriptors of at most the queue's transfer size.  Up
 * to the queue's batch size of them form the list of one BATCH descriptor
 * (a "slot"); a slot of one entry is submitted as the MEMMOVE itself.
 * Slots are submitted as soon as they are full, spread over the queues
 * nearest the source, and polled with a deadline.
 *
 * DSA completes descriptors out of order, across queues and within a
 * batch, so nothing here infers one descriptor's result from another's:
 * every MEMMOVE has its own completion record, and a folio counts as copied
 * only when every descriptor that covers it reports success.  Anything
 * else (a page fault, a partial completion, a batch error, no descriptor
 * free, a halted device, a timeout) leaves the folio to the CPU copy of the
 * migration core, which copies it whole.
 *
 * Every wait is bounded.  What a copy may not do is return while a
 * descriptor of its own can still write a destination: see
 * idxd_mig_settle() for how a late queue is proven idle, and for the
 * folios handed back as stuck when it cannot be.
 */
#define pr_fmt(fmt) "idxd_migrate: " fmt

#include <kunit/visibility.h>
#include <linux/bitmap.h>
#include <linux/jiffies.h>
#include <linux/migrate_copy_offload.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/topology.h>
#include <asm/barrier.h>

#include "migrate.h"

/* The core hands over at most this many folios (one bitmap word each). */
#define IDXD_MIG_MAX_FOLIOS	512

/* Polls of a completion record between two calls of ->alive(). */
#define IDXD_MIG_ALIVE_EVERY	64

/* States of &idxd_mig_chan.draining: who may use the Drain descriptor. */
enum {
	IDXD_MIG_DRAIN_FREE,
	IDXD_MIG_DRAIN_OWNED,	/* a copy settling the queue uses it */
	IDXD_MIG_DRAIN_ORPHAN,	/* submitted, not yet complete, owner gone */
};

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
EXPORT_SYMBOL_IF_KUNIT(idxd_mig_area_size);

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
	ch->draining = IDXD_MIG_DRAIN_FREE;
	ch->broken = false;
	ch->wedged = false;
	memset(&ch->stats, 0, sizeof(ch->stats));
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(idxd_mig_chan_init);

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
EXPORT_SYMBOL_IF_KUNIT(idxd_mig_chan_destroy);

/**
 * idxd_mig_entry_flags - descriptor flags of a MEMMOVE of one migration
 * @ch: the channel the descriptor goes to
 * @reason: why the folio migrates (enum migrate_reason)
 * @dst_nid: node of the destination folio
 *
 * A completion record for every entry, since entries complete out of order
 * and each one's result matters.
 *
 * Cache Control (CC) makes the device allocate the destination's lines in
 * the last-level cache of its own socket instead of writing them to memory.
 * That pays only when a CPU of that socket reads the data soon, and costs
 * the lines it evicts otherwise, up to 2 MB of them per THP.  So CC is set
 * only for NUMA balancing (MR_NUMA_MISPLACED): the folio moves because a
 * CPU of the destination node just touched it, and the promoted data is
 * hot; and only when the destination is the device's node, whose cache
 * the lines go to.  Demotion moves cold data; compaction, hotplug, CMA and
 * move_pages(2) move data nobody is known to be about to read, a whole
 * zone of it for compaction; DAMON migrates hot and cold regions alike
 * under one reason.  None of them get CC.  A device without cache control
 * for memory writes (GENCAP) never does.
 *
 * Return: the flags.
 */
u32 idxd_mig_entry_flags(const struct idxd_mig_chan *ch, int reason, int dst_nid)
{
	u32 flags = IDXD_OP_FLAG_CRAV | IDXD_OP_FLAG_RCR;

	if (ch->cache_control && reason == MR_NUMA_MISPLACED &&
	    ch->node != NUMA_NO_NODE && dst_nid == ch->node)
		flags |= IDXD_OP_FLAG_CC;
	return flags;
}
EXPORT_SYMBOL_IF_KUNIT(idxd_mig_entry_flags);

/* One call of idxd_mig_copy(). */
struct idxd_mig_run {
	struct migrate_copy_batch *b;
	struct idxd_mig_chan *chan[IDXD_MIG_MAX_CHANS];
	unsigned long used[IDXD_MIG_MAX_CHANS];	/* slots this call holds */
	unsigned int nr_chans;
	unsigned int ci;			/* channel being filled */
	int slot;				/* its open slot, or -1 */
	unsigned long stuck[IDXD_MIG_MAX_CHANS];	/* slots given up on */
	DECLARE_BITMAP(placed, IDXD_MIG_MAX_FOLIOS);	/* every byte submitted */
	DECLARE_BITMAP(failed, IDXD_MIG_MAX_FOLIOS);	/* some descriptor failed */
	int ret;
};

/*
 * How far a queue's device is from memory of node @nid.  A device whose
 * node is unknown (no proximity information) counts as farther than any
 * known one: it is used when it is all there is.
 */
static int idxd_mig_distance(int nid, const struct idxd_mig_chan *ch)
{
	if (ch->node == NUMA_NO_NODE || nid == NUMA_NO_NODE)
		return INT_MAX;
	return node_distance(nid, ch->node);
}

/*
 * The channels to use: the usable ones nearest the source node @nid.  The
 * device reads the source and writes the destination, and reads are what
 * distance slows down; a CPU-less source node (CXL memory being promoted)
 * has distances like any other.  @rotor picks the one to start with, so
 * that concurrent copies start on different queues.
 */
static void idxd_mig_pick(struct idxd_mig_run *run, struct idxd_mig_chan **chans,
			  unsigned int nr_chans, int nid, unsigned int rotor)
{
	struct idxd_mig_chan *near[IDXD_MIG_MAX_CHANS];
	int best = INT_MAX, d;
	unsigned int i, n = 0;
	bool any = false;

	for (i = 0; i < nr_chans; i++) {
		if (READ_ONCE(chans[i]->broken))
			continue;
		d = idxd_mig_distance(nid, chans[i]);
		if (!any || d < best) {
			best = d;
			n = 0;
			any = true;
		}
		if (d == best && n < IDXD_MIG_MAX_CHANS)
			near[n++] = chans[i];
	}
	for (i = 0; i < n; i++)
		run->chan[i] = near[(rotor + i) % n];
	run->nr_chans = n;
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
	if (!slot->nr)
		return;
	if (ch->ops->get(ch, &slot->sub)) {
		/* No descriptor free: its folios go to the CPU, as for no slot free. */
		run->ret = -EBUSY;
		return;
	}
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
	flags = idxd_mig_entry_flags(ch, run->b->reason, folio_nid(dst));
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
 * stopped (it does no more DMA then), or -ETIMEDOUT after @deadline.
 */
static int idxd_mig_wait(struct idxd_mig_chan *ch, struct dsa_completion_record *comp,
			 unsigned long deadline)
{
	unsigned int spins = 0;

	while (!READ_ONCE(comp->status)) {
		if (!(++spins % IDXD_MIG_ALIVE_EVERY) || time_after(jiffies, deadline)) {
			if (!ch->ops->alive(ch))
				return -EIO;
			/* The record may have come while ->alive() looked. */
			if (time_after(jiffies, deadline) && !READ_ONCE(comp->status))
				return -ETIMEDOUT;
			cond_resched();
		} else {
			cpu_relax();
		}
	}
	/* The rest of this record, and a batch's entry records, after the status. */
	dma_rmb();
	return 0;
}

/* Was slot @s of @ch submitted, and has the device not written its record yet? */
static bool idxd_mig_slot_pending(struct idxd_mig_chan *ch, unsigned int s)
{
	return ch->slot[s].submitted && !READ_ONCE(ch->slot[s].sub.comp->status);
}

/* Has every descriptor this call submitted to channel @ci written its record? */
static bool idxd_mig_chan_done(struct idxd_mig_run *run, unsigned int ci)
{
	struct idxd_mig_chan *ch = run->chan[ci];
	unsigned int s;

	for_each_set_bit(s, &run->used[ci], ch->nr_slots)
		if (idxd_mig_slot_pending(ch, s))
			return false;
	return true;
}

/*
 * Take the Drain descriptor of @ch: free, or left behind by a copy that no
 * longer waits for it and whose drain has completed since.
 */
static bool idxd_mig_drain_take(struct idxd_mig_chan *ch)
{
	if (cmpxchg(&ch->draining, IDXD_MIG_DRAIN_FREE, IDXD_MIG_DRAIN_OWNED) ==
	    IDXD_MIG_DRAIN_FREE)
		return true;
	return READ_ONCE(ch->draining) == IDXD_MIG_DRAIN_ORPHAN &&
	       READ_ONCE(ch->drain.comp->status) &&
	       cmpxchg(&ch->draining, IDXD_MIG_DRAIN_ORPHAN, IDXD_MIG_DRAIN_OWNED) ==
	       IDXD_MIG_DRAIN_ORPHAN;
}

static int idxd_mig_drain_submit(struct idxd_mig_chan *ch)
{
	struct idxd_mig_sub *sub = &ch->drain;

	/* Not memset: the owner's get() may have set PASID and privilege. */
	memset(sub->comp, 0, sizeof(*sub->comp));
	sub->hw->flags = IDXD_OP_FLAG_CRAV | IDXD_OP_FLAG_RCR;
	sub->hw->opcode = DSA_OPCODE_DRAIN;
	sub->hw->completion_addr = sub->comp_dma;
	return ch->ops->submit(ch, sub);
}

/**
 * idxd_mig_settle - make sure a late queue no longer writes this call's folios
 * @run: the call
 * @ci: the channel whose descriptors missed the deadline
 * @until: when to give up
 *
 * After a timeout the device may still write into the destination folios
 * of the late descriptors, and the migration core would copy those folios
 * with the CPU and map them: a late DMA write would then corrupt live
 * data.  So before anything is released, one of these must hold:
 *
 * - every descriptor this call submitted to the queue has written its
 *   completion record: the device is done with them, whatever else is
 *   queued (this works even when no Drain can be submitted, for instance
 *   when the queue's submission reference was killed while the device
 *   stays enabled, and idxd_submit_desc() returns -ENXIO);
 * - a Drain descriptor submitted behind them has completed: DSA completes
 *   a drain only after every descriptor submitted to the queue before it,
 *   and so also proves gone the descriptors a reset dropped without a word;
 * - ->alive() says the device stopped (halted, disabled, or reset): a
 *   stopped device does no more DMA, and one that comes back from a reset
 *   comes back with its queues empty.
 *
 * Without Block on Fault no DSA descriptor waits for software, so on a
 * working device one of them comes quickly.  If none comes by @until, the
 * device is broken in a way it does not report, and this call cannot know
 * whether it will ever write again.  It then keeps the guarantee the core
 * relies on without waiting forever: the late slots are never released
 * (their lists, records and descriptors stay allocated, their folios stay
 * DMA-mapped, so a late write never lands on a reused buffer or address),
 * their folios are reported in the batch's stuck bitmap (the core fails
 * their migration and never frees nor maps their destinations), and the
 * channel is marked wedged so that its owner leaks its coherent memory
 * rather than free it.
 *
 * The Drain descriptor is @ch->drain, set aside when the channel was set
 * up: allocating one here could wait for descriptors that other late copies
 * hold.  One copy uses it at a time; a copy that cannot have it relies on
 * the other two proofs.
 *
 * Return: true if the queue is proven done with this call's descriptors.
 */
static bool idxd_mig_settle(struct idxd_mig_run *run, unsigned int ci, unsigned long until)
{
	struct idxd_mig_chan *ch = run->chan[ci];
	bool owned = false, sent = false, stopped = false, done;

	for (;;) {
		done = idxd_mig_chan_done(run, ci);
		if (done)
			break;
		if (sent && READ_ONCE(ch->drain.comp->status)) {
			done = true;
			break;
		}
		if (!ch->ops->alive(ch)) {
			stopped = true;
			done = true;
			break;
		}
		if (!owned)
			owned = idxd_mig_drain_take(ch);
		/* A shared queue may refuse for a while, a dying one for good. */
		if (owned && !sent)
			sent = !idxd_mig_drain_submit(ch);
		if (time_after(jiffies, until))
			break;
		cond_resched();
	}
	if (owned) {
		/*
		 * The drain may still be queued behind other late work; the
		 * next copy to settle this queue takes it over once it is done.
		 */
		unsigned long next = IDXD_MIG_DRAIN_FREE;

		if (sent && !stopped && !READ_ONCE(ch->drain.comp->status))
			next = IDXD_MIG_DRAIN_ORPHAN;
		/* Our writes to the descriptor come before the handover. */
		smp_store_release(&ch->draining, next);
	}
	if (stopped)
		atomic_long_inc(&ch->stats.halts);
	/* Records written during the settle, after their status. */
	dma_rmb();
	return done;
}

/* The submitted slots of channel @ci whose record is still unwritten. */
static void idxd_mig_give_up(struct idxd_mig_run *run, unsigned int ci)
{
	struct idxd_mig_chan *ch = run->chan[ci];
	unsigned int s;

	for_each_set_bit(s, &run->used[ci], ch->nr_slots)
		if (idxd_mig_slot_pending(ch, s))
			__set_bit(s, &run->stuck[ci]);
	WRITE_ONCE(ch->wedged, true);
	pr_err("%s: a late copy neither completed, drained nor stopped: %u descriptors and their folios are held for good, and the queue is no longer used\n",
	       ch->name, (unsigned int)hweight_long(run->stuck[ci]));
}

/* Wait for the submitted slots of channel @ci; settle it if one is late. */
static void idxd_mig_wait_chan(struct idxd_mig_run *run, unsigned int ci,
			       const struct idxd_mig_limits *lim, unsigned long deadline)
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
			WRITE_ONCE(ch->broken, true);
			atomic_long_inc(&ch->stats.timeouts);
			pr_err_ratelimited("%s: copy timed out; settling, and the queue is no longer used\n",
					   ch->name);
			if (!idxd_mig_settle(run, ci, jiffies + lim->settle))
				idxd_mig_give_up(run, ci);
		} else {
			atomic_long_inc(&ch->stats.halts);
		}
		run->ret = ret;
		/* Settled or stopped: no more writes from this queue. */
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

/*
 * The folios of the slots of channel @ci given up on, which the device may
 * still touch: into @b->stuck, and counted once each.
 */
static void idxd_mig_chan_stuck(struct idxd_mig_run *run, unsigned int ci)
{
	struct idxd_mig_chan *ch = run->chan[ci];
	DECLARE_BITMAP(folios, IDXD_MIG_MAX_FOLIOS);
	unsigned int s, k;

	bitmap_zero(folios, run->b->nr);
	for_each_set_bit(s, &run->stuck[ci], ch->nr_slots)
		for (k = 0; k < ch->slot[s].nr; k++)
			__set_bit(ch->entry[s * ch->max_batch + k].folio, folios);
	atomic_long_add(bitmap_weight(folios, run->b->nr), &ch->stats.stuck);
	bitmap_or(run->b->stuck, run->b->stuck, folios, run->b->nr);
}

/*
 * Unmap what slot @s of channel @ci maps (but the stuck folios, whose other
 * descriptors the device may still run), count its folios, and give it
 * back.
 */
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
		if (test_bit(e->folio, run->b->stuck))
			continue;
		if (test_bit(e->folio, run->failed))
			atomic_long_inc(&ch->stats.fallbacks);
		else
			atomic_long_inc(&ch->stats.folios);
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
 * @rotor: a number that changes from call to call: which of the nearest
 *	channels gets the first descriptors
 * @b: the batch; bits are set in @b->copied for the folios copied, and in
 *	@b->stuck for those a broken device may still touch
 * @lim: how long to wait
 *
 * Called from the migrator's copy callback (process context, folio locks
 * held, maybe in reclaim).  Does not allocate; sleeps only in
 * cond_resched() and in a submission that waits for a queue being
 * quiesced.  Waits at most @lim->timeout, plus @lim->settle when a queue
 * is late.  When it returns, no device writes into any folio of @b that is
 * not in @b->stuck, and nothing of @b but the stuck folios is mapped.
 *
 * Return: 0; -EINVAL for a batch out of range; -ENODEV if no channel is
 * usable; -EBUSY if no slot or descriptor was free; -EIO if a device stopped;
 * -ETIMEDOUT if a queue was late (settled, or given up on).  In every case
 * @b->copied and @b->stuck are exact.
 */
int idxd_mig_copy(struct idxd_mig_chan **chans, unsigned int nr_chans, unsigned int rotor,
		  struct migrate_copy_batch *b, const struct idxd_mig_limits *lim)
{
	struct idxd_mig_run run = { .b = b, .slot = -1 };
	unsigned long deadline;
	unsigned int i, ci, s;

	if (!b->nr || b->nr > IDXD_MIG_MAX_FOLIOS)
		return -EINVAL;
	idxd_mig_pick(&run, chans, nr_chans, folio_nid(b->src[0]), rotor);
	if (!run.nr_chans)
		return -ENODEV;

	for (i = 0; i < b->nr; i++)
		if (!idxd_mig_plan_folio(&run, i))
			break;
	if (run.slot >= 0)
		idxd_mig_submit_slot(&run);
	if (i < b->nr)
		run.ret = -EBUSY;

	deadline = jiffies + lim->timeout;
	for (ci = 0; ci < run.nr_chans; ci++) {
		if (run.used[ci])
			atomic_long_inc(&run.chan[ci]->stats.copies);
		idxd_mig_wait_chan(&run, ci, lim, deadline);
	}

	for (ci = 0; ci < run.nr_chans; ci++)
		if (run.stuck[ci])
			idxd_mig_chan_stuck(&run, ci);
	for (ci = 0; ci < run.nr_chans; ci++) {
		for_each_set_bit(s, &run.used[ci], run.chan[ci]->nr_slots) {
			if (test_bit(s, &run.stuck[ci]))
				continue;
			idxd_mig_slot_results(&run, ci, s);
			idxd_mig_release_slot(&run, ci, s);
		}
	}
	bitmap_andnot(run.placed, run.placed, run.failed, b->nr);
	bitmap_andnot(run.placed, run.placed, b->stuck, b->nr);
	bitmap_or(b->copied, b->copied, run.placed, b->nr);
	return run.ret;
}
EXPORT_SYMBOL_IF_KUNIT(idxd_mig_copy);
