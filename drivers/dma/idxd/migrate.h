/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The DSA migrator: page migration copies on DSA work queues.
 *
 * migrate.c binds kernel work queues and registers the migrator with the
 * migration copy offload core.  migrate_copy.c turns a batch of folios into
 * MEMMOVE descriptors grouped in BATCH descriptors, submits them, polls
 * their completion records and reports a result per folio.  The copy
 * engine reaches a work queue only through struct idxd_mig_chan_ops, so a
 * KUnit suite runs it against a software executor of DSA descriptors.
 */
#ifndef _IDXD_MIGRATE_H_
#define _IDXD_MIGRATE_H_

#include <linux/bitops.h>
#include <linux/dma-direction.h>
#include <linux/types.h>
#include <uapi/linux/idxd.h>

struct folio;
struct migrate_copy_batch;
struct idxd_mig_chan;

/* Work queues one copy may use, and slots (BATCH descriptors) per queue. */
#define IDXD_MIG_MAX_CHANS	8
#define IDXD_MIG_MAX_SLOTS	BITS_PER_LONG

/**
 * struct idxd_mig_sub - a descriptor that goes to a work queue portal
 * @hw: the descriptor.  The channel zeroes it and may set pasid and priv;
 *	the engine fills in the rest field by field.
 * @comp: its completion record, zeroed
 * @comp_dma: the device address of @comp
 * @cookie: the channel's own handle
 */
struct idxd_mig_sub {
	struct dsa_hw_desc *hw;
	struct dsa_completion_record *comp;
	dma_addr_t comp_dma;
	void *cookie;
};

/**
 * struct idxd_mig_chan_ops - how the copy engine reaches a work queue
 *
 * All run in the migrator's copy callback: process context, folio locks
 * held, maybe in reclaim.  None may allocate memory or sleep, except that
 * @submit may wait for a queue the idxd driver is quiescing to come back.
 *
 * @map: DMA-map @folio for the device in direction @dir; 0 or -errno.
 * @unmap: undo @map, given its address and the folio size.
 * @get: reserve a descriptor and its completion record; -EAGAIN if none
 *	is free (the engine then leaves those folios to the CPU).
 * @submit: write @sub->hw to the portal; 0, or -errno if it was not
 *	queued.
 * @put: release what @get reserved, once the device cannot write its
 *	completion record any more (completed, drained, or device halted).
 * @alive: whether the device still executes descriptors.  A halted
 *	device does no more DMA, so the engine stops waiting for it.
 */
struct idxd_mig_chan_ops {
	int (*map)(struct idxd_mig_chan *ch, struct folio *folio,
		   enum dma_data_direction dir, dma_addr_t *addr);
	void (*unmap)(struct idxd_mig_chan *ch, dma_addr_t addr, size_t size,
		      enum dma_data_direction dir);
	int (*get)(struct idxd_mig_chan *ch, struct idxd_mig_sub *sub);
	int (*submit)(struct idxd_mig_chan *ch, struct idxd_mig_sub *sub);
	void (*put)(struct idxd_mig_chan *ch, struct idxd_mig_sub *sub);
	bool (*alive)(struct idxd_mig_chan *ch);
};

/* CPU-side record of one list entry: which folio, and whether it maps it. */
struct idxd_mig_entry {
	u16 folio;
	bool first;
};

/* A BATCH descriptor's worth of entries, and what was submitted for it. */
struct idxd_mig_slot {
	struct idxd_mig_sub sub;
	unsigned int nr;
	bool submitted;
	bool done;
};

/**
 * struct idxd_mig_chan - one work queue as the copy engine sees it
 * @ops: how to reach it
 * @priv: the owner's data
 * @node: NUMA node of the device
 * @max_batch: entries per BATCH descriptor (1: no BATCH, one MEMMOVE each)
 * @max_xfer: bytes per MEMMOVE descriptor
 * @nr_slots: BATCH descriptors in flight at most, each with its own list
 * @list: @nr_slots lists of @max_batch descriptors, 64-byte aligned
 * @list_dma: the device address of @list
 * @comps: a completion record per list entry, 32-byte aligned
 * @comps_dma: the device address of @comps
 * @slot: CPU-side state per slot
 * @entry: CPU-side state per list entry
 * @busy: slots in use
 * @drain: a descriptor kept for Drain, set up by the owner; see
 *	idxd_mig_drain() for why it is never allocated on demand
 * @draining: bit 0 is held while @drain is in use
 * @name: for messages
 * @broken: set when a descriptor timed out; the engine no longer uses it
 * @timeouts: descriptors that timed out
 * @halts: copies cut short by a halted device
 */
struct idxd_mig_chan {
	const struct idxd_mig_chan_ops *ops;
	void *priv;
	int node;
	unsigned int max_batch;
	u32 max_xfer;
	unsigned int nr_slots;
	struct dsa_hw_desc *list;
	dma_addr_t list_dma;
	struct dsa_completion_record *comps;
	dma_addr_t comps_dma;
	struct idxd_mig_slot *slot;
	struct idxd_mig_entry *entry;
	unsigned long busy;
	struct idxd_mig_sub drain;
	unsigned long draining;
	const char *name;
	bool broken;
	atomic_long_t timeouts;
	atomic_long_t halts;
};

size_t idxd_mig_area_size(unsigned int nr_slots, unsigned int max_batch);
int idxd_mig_chan_init(struct idxd_mig_chan *ch, void *area, dma_addr_t area_dma,
		       unsigned int nr_slots, unsigned int max_batch, u32 max_xfer);
void idxd_mig_chan_destroy(struct idxd_mig_chan *ch);
u32 idxd_mig_entry_flags(int src_nid, int dst_nid);
int idxd_mig_copy(struct idxd_mig_chan **chans, unsigned int nr_chans,
		  struct migrate_copy_batch *b, unsigned long timeout);

#endif /* _IDXD_MIGRATE_H_ */
