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
 *	queued (a shared queue that refused it, a queue being quiesced or
 *	killed, a disabled device).
 * @put: release what @get reserved, once the device cannot write its
 *	completion record any more (completed, drained, or device stopped).
 * @alive: false only when the device provably does no more DMA for
 *	descriptors submitted so far: the hardware reports it halted or not
 *	enabled, or it was reset since the channel was set up.  While it
 *	returns true, a submitted descriptor may still write.
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
};

/**
 * struct idxd_mig_stats - what a queue did, for debugfs
 * @copies: calls of idxd_mig_copy() that gave the queue work
 * @folios: folios it copied
 * @fallbacks: folios it was given and did not copy (the CPU did)
 * @timeouts: copies that missed their deadline on it
 * @halts: copies cut short by a stopped device
 * @stuck: folios handed back as stuck (see idxd_mig_settle())
 */
struct idxd_mig_stats {
	atomic_long_t copies;
	atomic_long_t folios;
	atomic_long_t fallbacks;
	atomic_long_t timeouts;
	atomic_long_t halts;
	atomic_long_t stuck;
};

/**
 * struct idxd_mig_chan - one work queue as the copy engine sees it
 * @ops: how to reach it
 * @priv: the owner's data
 * @node: NUMA node of the device, or NUMA_NO_NODE
 * @max_batch: entries per BATCH descriptor (1: no BATCH, one MEMMOVE each)
 * @max_xfer: bytes per MEMMOVE descriptor
 * @nr_slots: BATCH descriptors in flight at most, each with its own list
 * @cache_control: the device honours Cache Control (GENCAP) for writes
 * @list: @nr_slots lists of @max_batch descriptors, 64-byte aligned
 * @list_dma: the device address of @list
 * @comps: a completion record per list entry, 32-byte aligned
 * @comps_dma: the device address of @comps
 * @slot: CPU-side state per slot
 * @entry: CPU-side state per list entry
 * @busy: slots in use
 * @drain: a descriptor kept for Drain, set up by the owner; see
 *	idxd_mig_settle() for why it is never allocated on demand
 * @draining: bit 0 is held while @drain is in use
 * @name: for messages
 * @broken: set when a descriptor timed out; the engine no longer uses it
 * @wedged: set when slots (or @drain) were left in use because the device
 *	may still write them: the owner must not free @list, @comps or
 *	@drain, only leak them
 * @stats: counters
 */
struct idxd_mig_chan {
	const struct idxd_mig_chan_ops *ops;
	void *priv;
	int node;
	unsigned int max_batch;
	u32 max_xfer;
	unsigned int nr_slots;
	bool cache_control;
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
	bool wedged;
	struct idxd_mig_stats stats;
};

/**
 * struct idxd_mig_limits - how long a copy waits
 * @timeout: jiffies the descriptors of one copy may take
 * @settle: jiffies more, after a timeout, to see the late descriptors end
 *	(drained, completed, or the device stopped) before they are given up
 *	as stuck
 */
struct idxd_mig_limits {
	unsigned long timeout;
	unsigned long settle;
};

size_t idxd_mig_area_size(unsigned int nr_slots, unsigned int max_batch);
int idxd_mig_chan_init(struct idxd_mig_chan *ch, void *area, dma_addr_t area_dma,
		       unsigned int nr_slots, unsigned int max_batch, u32 max_xfer);
void idxd_mig_chan_destroy(struct idxd_mig_chan *ch);
u32 idxd_mig_entry_flags(const struct idxd_mig_chan *ch, int reason, int dst_nid);
int idxd_mig_copy(struct idxd_mig_chan **chans, unsigned int nr_chans, unsigned int rotor,
		  struct migrate_copy_batch *b, const struct idxd_mig_limits *lim);

/*
 * ---- migrate.c: the bound queues, and what its KUnit suite reaches ----
 *
 * Not part of the copy engine's interface above.  The records are here so
 * that migrate_wq_test.c can build fake queues and sets; the functions
 * below them are static unless CONFIG_KUNIT is on.
 */
#include <linux/mutex.h>

struct dentry;
struct idxd_desc;
struct idxd_wq;
struct kernel_param;
struct seq_file;
struct srcu_struct;

/**
 * struct idxd_mig_wq - one work queue bound to the migrator
 * @ch: the copy engine's view of it
 * @wq: the idxd work queue
 * @drain: the descriptor set aside for Drain (@ch.drain points into it)
 * @area: the coherent lists and completion records of @ch
 * @area_dma: the device address of @area
 * @area_size: its size in bytes
 * @node: in &idxd_mig_pool.wqs
 * @dbgfs: its debugfs directory
 */
struct idxd_mig_wq {
	struct idxd_mig_chan ch;
	struct idxd_wq *wq;
	struct idxd_desc *drain;
	void *area;
	dma_addr_t area_dma;
	size_t area_size;
	struct list_head node;
	struct dentry *dbgfs;
};

/**
 * struct idxd_mig_set - the queues copies may use, as they read them
 * @rotor: bumped by every copy, so that concurrent copies start on
 *	different queues
 * @nr: how many queues
 * @chan: their channels
 *
 * Replaced as a whole when a queue comes or goes; the old set is freed
 * after the copies that read it.
 */
struct idxd_mig_set {
	atomic_t rotor;
	unsigned int nr;
	struct idxd_mig_chan *chan[] __counted_by(nr);
};

/**
 * struct idxd_mig_pool - the bound queues and the set published from them
 * @lock: serialises changes of @wqs, @nr, @set (and registration)
 * @wqs: the bound queues (struct idxd_mig_wq), in binding order
 * @nr: how many
 * @set: what copies read, under @srcu; NULL when no queue is bound
 * @srcu: protects @set
 */
struct idxd_mig_pool {
	struct mutex lock;		/* @wqs, @nr, @set, registration */
	struct list_head wqs;
	unsigned int nr;
	struct idxd_mig_set __rcu *set;
	struct srcu_struct *srcu;
};

/**
 * struct idxd_mig_caps - what a work queue's configuration lets the migrator do
 * @nr_slots: BATCH descriptors in flight at most
 * @max_batch: entries per BATCH descriptor (1: no BATCH)
 * @max_xfer: bytes per MEMMOVE descriptor
 * @cache_control: the device honours Cache Control for memory writes
 * @why: when the queue is refused, why (for the log)
 */
struct idxd_mig_caps {
	unsigned int nr_slots;
	unsigned int max_batch;
	u32 max_xfer;
	bool cache_control;
	const char *why;
};

#if IS_ENABLED(CONFIG_KUNIT)
bool idxd_mig_alive(struct idxd_mig_chan *ch);
int idxd_mig_wq_caps(struct idxd_wq *wq, struct idxd_mig_caps *caps);
bool idxd_mig_wq_needs_quiesce(struct idxd_wq *wq);
void idxd_mig_wq_quiesce_locked(struct idxd_wq *wq);
int idxd_mig_timeout_set(const char *val, const struct kernel_param *kp);
void idxd_mig_limits_init(struct idxd_mig_limits *lim, unsigned int timeout_ms);
int idxd_mig_parse_reasons(const char *val, unsigned long *mask);
int idxd_mig_pool_add(struct idxd_mig_pool *pool, struct idxd_mig_wq *mw);
void idxd_mig_pool_del(struct idxd_mig_pool *pool, struct idxd_mig_wq *mw);
int idxd_mig_pool_copy(struct idxd_mig_pool *pool, struct migrate_copy_batch *b);
int idxd_mig_stats_show(struct seq_file *m, void *v);
#endif

#endif /* _IDXD_MIGRATE_H_ */
