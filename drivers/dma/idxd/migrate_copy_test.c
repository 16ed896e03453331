// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the DSA migrator's copy engine (migrate_copy.c).
 *
 * QEMU has no DSA model, so each test gives the engine work queues whose
 * "device" is a software executor of the DSA descriptors the engine uses
 * (MEMMOVE, BATCH, DRAIN).  The engine reaches a queue only through struct
 * idxd_mig_chan_ops, and the executor implements those ops the way the
 * idxd core and real hardware behave, as strictly as a test can:
 *
 * - Addresses.  Device addresses are not kernel addresses.  Each queue has
 *   its own IOVA space (far from any kernel address, with a gap after every
 *   mapping): map() hands out a fresh IOVA, and the coherent area and every
 *   completion record have IOVAs too.  The device resolves every address it
 *   uses (descriptor list, source, destination, completion record) through
 *   that table.  An address in no live mapping, an access past a mapping's
 *   end, a write to a DMA_TO_DEVICE or a read of a DMA_FROM_DEVICE mapping,
 *   a list or record outside coherent memory or data inside it, is a fault.
 *   unmap() must match a live folio mapping exactly (address, size,
 *   direction), and must not come while a queued descriptor still uses it.
 * - The WQ.  Limits come from a WQ configuration of the test's own (batch
 *   size, transfer size, depth, dedicated or shared, cache control, PASID),
 *   never from the engine's fields.  get() hands out at most depth - 1
 *   descriptors (the channel keeps one for Drain), with the PASID set as the
 *   idxd core sets it; a dedicated WQ must never hold more than its depth, a
 *   shared one may refuse a submission (-EAGAIN, like ENQCMDS retries
 *   running out).  put() of a descriptor the device may still write, or of
 *   one not held, is an error.
 * - Descriptors, as the DSA specification and include/uapi/linux/idxd.h
 *   define them: opcode, flags defined for the opcode (and Cache Control
 *   only if the device has it), reserved fields zero, priv 0, the PASID
 *   get() set, a completion record requested (CRAV and RCR) and 32-byte
 *   aligned, a descriptor list 64-byte aligned, 2 to max_batch entries,
 *   1 to max_xfer bytes.  A violation completes the descriptor with the
 *   status DSA would write (or halts the device when there is no record to
 *   write).  On top of the specification it checks the engine's own
 *   contract: exactly CRAV|RCR (plus CC on a MEMMOVE exactly when the policy
 *   says so), no stale completion record at submission, and, when
 *   idxd_mig_copy() returns, no queued descriptor and no mapping left for a
 *   folio of the batch unless it is reported stuck.
 * - Timing.  The device runs either on a kthread of its own, writing
 *   completion records (status last, after wmb()) while the engine polls,
 *   or, "polled", a few descriptors per call of alive().  Runnable
 *   descriptors (and entries of a BATCH) complete in a pseudo-random order;
 *   a Drain completes only after everything queued before it.
 *
 * Every error is recorded in the queue (a device thread may not fail a
 * test) and fails the test when the test ends.  Every test checks every
 * folio: one reported copied must equal its source, and none may be both
 * copied and stuck.  Injections: mapping failures, page faults with a
 * partial completion, a BATCH failing as a whole, descriptors held back
 * (until a Drain is queued, until one is tried, or forever), a device that
 * halts (in the middle of a BATCH, or while a Drain is queued), a portal
 * that refuses submissions or every Drain, two copies on the same queues at
 * once (also both timing out, sharing the one Drain).  Holds are
 * deterministic: no result depends on how fast the machine is, and only
 * tests about a timeout use a short deadline.
 *
 * What it cannot check: the behaviour of real DSA hardware beyond its
 * specification (errata, what it does with a field it ignores), an IOMMU
 * (no real translation, page-request or ATS behaviour), caches (Cache
 * Control is only checked as a flag), interrupts (the engine polls), and
 * real timing: a device that completes in microseconds, or one whose
 * portal write itself stalls.
 */
#define pr_fmt(fmt) "idxd_migrate_copy test: " fmt

#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/gfp.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/migrate_copy_offload.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/numa.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/wait.h>
#include <asm/barrier.h>

#include "migrate.h"

#define TX_DESCS	32		/* descriptors a WQ holds at most, Drain included */
#define TX_MAX_BATCH	32		/* the largest WQ batch size a test configures */
#define TX_MAPS		320		/* live mappings a device can hold */
#define TX_FOLIOS	64		/* folios in one test batch at most */
#define TX_MAX_QUEUES	(IDXD_MIG_MAX_CHANS + 2)
#define TX_IOVA_BASE	0x7e5a00000000ULL
#define TX_IOVA_SPAN	BIT_ULL(36)	/* per device: no address of one resolves on another */
#define TX_IOVA_GAP	(5 * PAGE_SIZE)	/* after each mapping: an overrun lands in no mapping */
#define TX_PASID	0x2a5c1		/* get() sets it, as idxd does with PASID enabled */
#define TX_LONG		(30 * HZ)	/* a deadline a correct engine never reaches */
#define TX_SHORT	(HZ / 10)	/* only where the timeout is the point */
#define TX_STEPS	8		/* polled device: steps per call of alive() */
#define TX_ANY		(-1L)

#define TX_REC		(IDXD_OP_FLAG_CRAV | IDXD_OP_FLAG_RCR)
/* Flags DSA defines for every descriptor, then per opcode. */
#define TX_COMMON_FLAGS	(TX_REC | IDXD_OP_FLAG_RCI | IDXD_OP_FLAG_CRSTS | IDXD_OP_FLAG_CR_TCS)
#define TX_MEMMOVE_FLAGS (TX_COMMON_FLAGS | IDXD_OP_FLAG_FENCE | IDXD_OP_FLAG_BOF |	\
			  IDXD_OP_FLAG_CC | IDXD_OP_FLAG_ADDR1_TCS | IDXD_OP_FLAG_ADDR2_TCS |	\
			  IDXD_OP_FLAG_STORD | IDXD_OP_FLAG_DRDBK | IDXD_OP_FLAG_DSTS)
#define TX_BATCH_FLAGS	(TX_COMMON_FLAGS | IDXD_OP_FLAG_BOF | IDXD_OP_FLAG_ADDR1_TCS)
#define TX_DRAIN_FLAGS	TX_COMMON_FLAGS

/* One entry of a device's address space. */
struct tx_map {
	u64 iova;
	void *va;
	size_t size;
	enum dma_data_direction dir;
	struct folio *folio;		/* NULL: coherent memory the owner set up */
	bool live;
};

/* A descriptor of the WQ, its completion record, and what the device did with it. */
struct tx_desc {
	struct dsa_hw_desc hw __aligned(64);
	struct dsa_completion_record comp __aligned(32);
	struct dsa_hw_desc snap;	/* what the portal took: the device reads only this */
	u64 comp_iova;
	u8 bad;				/* status decided at the portal (PASID, privilege) */
	bool held;			/* handed out by get(), not yet put() */
	bool pending;			/* queued, record not yet written */
	bool checked;			/* BATCH: its own fields passed */
	bool failed;			/* BATCH: an entry failed */
	bool hw_err;			/* BATCH: fails as a whole */
	unsigned int nr_ok;		/* BATCH: entries that succeeded */
	DECLARE_BITMAP(done, TX_MAX_BATCH);
};

/* The WQ as its configuration (WQCFG, GENCAP) describes it, and how the engine is set up. */
struct tx_cfg {
	unsigned int max_batch;		/* WQ maximum batch size */
	u32 max_xfer;			/* WQ maximum transfer size */
	unsigned int depth;		/* WQ size: descriptors it holds, Drain included */
	bool shared;			/* shared WQ: the portal may refuse */
	unsigned int refuse_every;	/* shared WQ: refuse every Nth portal write */
	bool refuse_drain;		/* shared WQ: refuse every Drain */
	bool cache_control;		/* GENCAP: Cache Control for memory writes */
	u32 pasid;			/* what get() puts in each descriptor */
	int node;
	bool threaded;			/* the device runs on its own kthread */
	bool allow_erange;		/* the test wants count/size range errors */
	/* The engine's own view; 0 for the WQ's limits. */
	unsigned int nr_slots;
	unsigned int eng_batch;
	u32 eng_xfer;
};

/* What MEMMOVEs (or BATCH entries) that read the held byte of a folio do. */
enum tx_hold {
	TX_HOLD_NONE,
	TX_HOLD_UNTIL_DRAIN,		/* run once a Drain is queued behind them */
	TX_HOLD_UNTIL_DRAIN_TRY,	/* run once the engine tries to submit a Drain */
	TX_HOLD_FOREVER,		/* run only when the test lets them */
	TX_HOLD_HALT_IDLE,		/* never; the device halts once nothing else can run */
	TX_HOLD_HALT_ON_DRAIN,		/* never; the device halts when a Drain is queued */
};

struct tx_queue {
	struct idxd_mig_chan ch;
	struct list_head node;		/* in the test's list of queues */
	struct tx_cfg cfg;
	char name[16];
	spinlock_t lock;		/* everything below */
	struct tx_desc desc[TX_DESCS];	/* desc[0] is the channel's Drain */
	struct tx_desc *pending[TX_DESCS];	/* in submission order */
	unsigned int nr_pending;
	unsigned int nr_held;		/* handed out by get(), Drain not counted */
	struct tx_map map[TX_MAPS];
	u64 next_iova;
	void *area;
	size_t area_size;
	bool inited;
	bool halted;
	u32 rand;
	int reason;			/* of the batch being copied: the CC policy needs it */
	struct task_struct *thread;
	wait_queue_head_t wait;
	unsigned long gen;		/* bumped when something may have become runnable */
	/* Injections. */
	enum tx_hold hold_mode;
	struct folio *hold[2];		/* held: what reads byte hold_off of these */
	size_t hold_off;
	bool hold_released;
	unsigned int halt_after;	/* TX_HOLD_HALT_IDLE: not before this many submissions */
	struct folio *fault_folio;	/* a MEMMOVE reading it faults at fault_off */
	size_t fault_off;
	struct folio *fail_folio;	/* a BATCH holding it fails with a hardware error */
	struct folio *map_fail_src;	/* map(DMA_TO_DEVICE) of it fails */
	struct folio *map_fail_dst;	/* map(DMA_FROM_DEVICE) of it fails */
	/* What the device saw. */
	unsigned int portal_writes, accepted, refusals, drain_tries, drain_accepted;
	unsigned int lone, batches, entries, drains, max_count, cc_entries;
	unsigned int faults, map_failures;
	struct folio *marked[2 * TX_FOLIOS];	/* in a failed BATCH, or queued at a halt */
	unsigned int nr_marked;
	/* What it found wrong. */
	unsigned int nr_errors, nr_erange;
	char first[192];
};

/* What one test set up, so that its end can check and release it all. */
struct tx_ctx {
	struct list_head queues;
	unsigned int nr_queues;
};

struct tx_res {
	u8 status;
	u32 bytes;
	u64 fault;
	u32 inv;
};

enum tx_access { TX_READ, TX_WRITE };

static __printf(3, 0) void tx_verr(struct tx_queue *x, bool erange, const char *fmt,
				    va_list args)
{
	char buf[192];

	if (erange) {
		x->nr_erange++;
		if (x->cfg.allow_erange)
			return;
	}
	vsnprintf(buf, sizeof(buf), fmt, args);
	if (!x->nr_errors++)
		strscpy(x->first, buf, sizeof(x->first));
	if (x->nr_errors <= 8)
		pr_err("%s: %s\n", x->name, buf);
}

/* Record an error of the engine: the test fails when it ends.  Lock held. */
static __printf(2, 3) void tx_err(struct tx_queue *x, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	tx_verr(x, false, fmt, args);
	va_end(args);
}

/* A count or size the WQ does not take: an error unless the test asked for it. */
static __printf(2, 3) void tx_erange(struct tx_queue *x, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	tx_verr(x, true, fmt, args);
	va_end(args);
}

static u32 tx_rand(struct tx_queue *x)
{
	u32 r = x->rand;

	r ^= r << 13;
	r ^= r >> 17;
	r ^= r << 5;
	x->rand = r;
	return r;
}

/* A fresh IOVA for @size bytes at @va, keeping its offset in the page. */
static struct tx_map *tx_map_add(struct tx_queue *x, void *va, size_t size,
				 enum dma_data_direction dir, struct folio *folio)
{
	struct tx_map *m;
	unsigned int i;

	for (i = 0; i < TX_MAPS; i++) {
		m = &x->map[i];
		if (m->live)
			continue;
		m->iova = x->next_iova + offset_in_page(va);
		m->va = va;
		m->size = size;
		m->dir = dir;
		m->folio = folio;
		m->live = true;
		x->next_iova = PAGE_ALIGN(m->iova + size) + TX_IOVA_GAP;
		return m;
	}
	return NULL;
}

static struct tx_map *tx_lookup(struct tx_queue *x, u64 addr)
{
	struct tx_map *m;
	unsigned int i;

	for (i = 0; i < TX_MAPS; i++) {
		m = &x->map[i];
		if (m->live && addr >= m->iova && addr - m->iova < m->size)
			return m;
	}
	return NULL;
}

/* Coherent memory at @addr, without recording anything: for the device's bookkeeping. */
static void *tx_peek(struct tx_queue *x, u64 addr, size_t len)
{
	struct tx_map *m = tx_lookup(x, addr);

	if (!m || m->folio || len > m->size - (addr - m->iova))
		return NULL;
	return m->va + (addr - m->iova);
}

/**
 * tx_resolve - translate a device access, as an IOMMU would
 * @x: the device
 * @addr: the device address
 * @len: bytes accessed from @addr
 * @acc: read or write
 * @coherent: whether the access must be to the owner's coherent memory (a
 *	list, a completion record) rather than to a folio mapping (data)
 * @what: for the message
 *
 * Every access of the device goes through here, so an engine that hands
 * the device a kernel address, a CPU pointer where a DMA address belongs,
 * a stale or foreign mapping, or an address in the wrong mapping fails.
 *
 * Return: the kernel address of the access, or NULL after recording a fault.
 */
static void *tx_resolve(struct tx_queue *x, u64 addr, size_t len, enum tx_access acc,
			bool coherent, const char *what)
{
	struct tx_map *m = tx_lookup(x, addr);

	if (!m) {
		tx_err(x, "[iova] %s %#llx: in no live mapping", what, addr);
		return NULL;
	}
	if (len > m->size - (addr - m->iova)) {
		tx_err(x, "[bounds] %s %#llx+%zu runs past the end of mapping %#llx+%zu",
		       what, addr, len, m->iova, m->size);
		return NULL;
	}
	if (acc == TX_WRITE ? m->dir == DMA_TO_DEVICE : m->dir == DMA_FROM_DEVICE) {
		tx_err(x, "[dir] %s %#llx: %s a mapping made for %s", what, addr,
		       acc == TX_WRITE ? "write to" : "read of",
		       m->dir == DMA_TO_DEVICE ? "DMA_TO_DEVICE" : "DMA_FROM_DEVICE");
		return NULL;
	}
	if (coherent != !m->folio) {
		tx_err(x, "[kind] %s %#llx is in %s", what, addr,
		       coherent ? "a folio mapping, not coherent memory" :
				  "coherent memory, not a folio mapping");
		return NULL;
	}
	return m->va + (addr - m->iova);
}

static struct tx_desc *tx_desc_of(struct tx_queue *x, void *cookie)
{
	unsigned int i;

	for (i = 0; i < TX_DESCS; i++)
		if (cookie == &x->desc[i])
			return &x->desc[i];
	return NULL;
}

static const struct dsa_hw_desc *tx_entry_at(struct tx_queue *x, const struct tx_desc *t,
					     unsigned int k)
{
	return tx_peek(x, t->snap.desc_list_addr + (u64)k * sizeof(struct dsa_hw_desc),
		       sizeof(struct dsa_hw_desc));
}

/* The folios a MEMMOVE reads and writes; @f has room for two. */
static unsigned int tx_move_folios(struct tx_queue *x, const struct dsa_hw_desc *d,
				   struct folio **f)
{
	struct tx_map *m;
	unsigned int n = 0;

	m = tx_lookup(x, d->src_addr);
	if (m && m->folio)
		f[n++] = m->folio;
	m = tx_lookup(x, d->dst_addr);
	if (m && m->folio)
		f[n++] = m->folio;
	return n;
}

/* The folios a queued descriptor covers; @f has room for 2 * TX_MAX_BATCH. */
static unsigned int tx_desc_folios(struct tx_queue *x, const struct tx_desc *t, struct folio **f)
{
	const struct dsa_hw_desc *d = &t->snap, *e;
	unsigned int k, n = 0;

	if (d->opcode == DSA_OPCODE_MEMMOVE)
		return tx_move_folios(x, d, f);
	if (d->opcode != DSA_OPCODE_BATCH || d->desc_count > TX_MAX_BATCH)
		return 0;
	for (k = 0; k < d->desc_count; k++) {
		e = tx_entry_at(x, t, k);
		if (e)
			n += tx_move_folios(x, e, f + n);
	}
	return n;
}

static void tx_mark_desc(struct tx_queue *x, const struct tx_desc *t)
{
	struct folio *f[2 * TX_MAX_BATCH];
	unsigned int n = tx_desc_folios(x, t, f), i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < x->nr_marked; j++)
			if (x->marked[j] == f[i])
				break;
		if (j == x->nr_marked && x->nr_marked < ARRAY_SIZE(x->marked))
			x->marked[x->nr_marked++] = f[i];
	}
}

/* The device stops: it writes nothing more.  alive() says so from now on. */
static void tx_halt(struct tx_queue *x)
{
	unsigned int i;

	for (i = 0; i < x->nr_pending; i++)
		tx_mark_desc(x, x->pending[i]);
	x->halted = true;
	x->gen++;
	wake_up(&x->wait);
}

static void tx_dequeue(struct tx_queue *x, struct tx_desc *t)
{
	unsigned int i;

	for (i = 0; i < x->nr_pending; i++) {
		if (x->pending[i] != t)
			continue;
		memmove(&x->pending[i], &x->pending[i + 1],
			(x->nr_pending - i - 1) * sizeof(x->pending[0]));
		x->nr_pending--;
		break;
	}
	t->pending = false;
	x->gen++;
}

/* Write a completion record as the device does: the status last. */
static void tx_put_record(struct dsa_completion_record *c, const struct tx_res *r)
{
	c->result = 0;
	c->fault_info = 0;
	c->rsvd = 0;
	c->bytes_completed = r->bytes;
	c->fault_addr = r->fault;
	c->invalid_flags = r->inv;
	c->rsvd2 = 0;
	/* The engine reads the rest once it sees the status. */
	wmb();
	WRITE_ONCE(c->status, r->status);
}

/*
 * Where @d's completion record goes.  Without one the device has nowhere
 * to report anything and the engine would wait for its deadline, so it
 * halts at once instead: the error is recorded, and the copy ends quickly.
 */
static struct dsa_completion_record *tx_record(struct tx_queue *x, const struct dsa_hw_desc *d,
					       const char *what)
{
	struct dsa_completion_record *c;

	if ((d->flags & TX_REC) != TX_REC) {
		tx_err(x, "[record] %s (opcode %u) with flags %#x: no completion record requested",
		       what, d->opcode, d->flags);
	} else if (d->completion_addr & 31) {
		tx_err(x, "[cralign] %s completion record %#llx is not 32-byte aligned",
		       what, d->completion_addr);
	} else {
		c = tx_resolve(x, d->completion_addr, sizeof(*c), TX_WRITE, true, what);
		if (c)
			return c;
	}
	tx_halt(x);
	return NULL;
}

/* Flags of @flags the device does not take for an opcode allowing @allowed. */
static u32 tx_bad_flags(const struct tx_queue *x, u32 flags, u32 allowed)
{
	u32 bad = flags & ~allowed;

	/* Cache Control is reserved on a device without it (GENCAP). */
	if ((flags & IDXD_OP_FLAG_CC) && !x->cfg.cache_control)
		bad |= IDXD_OP_FLAG_CC;
	return bad;
}

/* Whether a field DSA reserves for this opcode is set. */
static bool tx_rsvd_set(const struct dsa_hw_desc *d, bool addr1, bool addr2, bool size)
{
	return d->rsvd || d->rsvd1 ||
	       (d->int_handle && !(d->flags & IDXD_OP_FLAG_RCI)) ||
	       (!addr1 && d->src_addr) || (!addr2 && d->dst_addr) || (!size && d->xfer_size) ||
	       memchr_inv(d->op_specific, 0, sizeof(d->op_specific));
}

/*
 * The checks every opcode starts with: flags it defines, then reserved
 * fields (@addr1, @addr2, @size: whether those fields are used).  Fills
 * in the status DSA writes for the first one that fails.
 */
static bool tx_fields_ok(struct tx_queue *x, const struct dsa_hw_desc *d, const char *op,
			 u32 allowed, bool addr1, bool addr2, bool size, struct tx_res *r)
{
	u32 bad = tx_bad_flags(x, d->flags, allowed);

	if (bad) {
		tx_err(x, "[flags] %s flags %#x: %#x not valid here", op, d->flags, bad);
		r->status = DSA_COMP_INVALID_FLAGS;
		r->inv = bad;
		return false;
	}
	if (tx_rsvd_set(d, addr1, addr2, size)) {
		tx_err(x, "[rsvd] %s with a reserved field set", op);
		r->status = DSA_COMP_NOZERO_RESERVE;
		return false;
	}
	return true;
}

/* Cache allocation only for data staying on the device's node, for NUMA balancing. */
static bool tx_cc_expected(const struct tx_queue *x, const struct folio *dst)
{
	return x->cfg.cache_control && x->reason == MR_NUMA_MISPLACED && dst &&
	       folio_nid(dst) == x->cfg.node;
}

/* Run a MEMMOVE (at the portal or in a list) whose record is known good. */
static void tx_memmove(struct tx_queue *x, const struct dsa_hw_desc *d, struct tx_res *r)
{
	u32 len = d->xfer_size, cc;
	struct tx_map *sm, *dm;
	void *src, *dst;
	u64 fault;

	if (!tx_fields_ok(x, d, "MEMMOVE", TX_MEMMOVE_FLAGS, true, true, true, r))
		return;
	if (!len || len > x->cfg.max_xfer) {
		tx_erange(x, "[xfer] MEMMOVE of %u bytes, the WQ takes 1 to %u", len,
			  x->cfg.max_xfer);
		r->status = DSA_COMP_XFER_ERANGE;
		return;
	}
	src = tx_resolve(x, d->src_addr, len, TX_READ, false, "MEMMOVE source");
	dst = src ? tx_resolve(x, d->dst_addr, len, TX_WRITE, false, "MEMMOVE destination") : NULL;
	if (!dst) {
		r->status = DSA_COMP_TRANSLATION_FAIL;
		r->fault = src ? d->dst_addr : d->src_addr;
		return;
	}
	sm = tx_lookup(x, d->src_addr);
	dm = tx_lookup(x, d->dst_addr);
	cc = tx_cc_expected(x, dm->folio) ? IDXD_OP_FLAG_CC : 0;
	if ((d->flags & IDXD_OP_FLAG_CC) != cc)
		tx_err(x, "[cc] MEMMOVE to node %d, reason %d, queue node %d, cache control %d: CC %s",
		       folio_nid(dm->folio), x->reason, x->cfg.node, x->cfg.cache_control,
		       cc ? "missing" : "set");
	if ((d->flags & ~IDXD_OP_FLAG_CC) != TX_REC)
		tx_err(x, "[policy] MEMMOVE flags %#x, expected CRAV|RCR and maybe CC", d->flags);
	if (d->flags & IDXD_OP_FLAG_CC)
		x->cc_entries++;
	r->status = DSA_COMP_SUCCESS;
	r->bytes = len;
	if (sm->folio == x->fault_folio) {
		/* No Block on Fault: the part before the fault is written, and reported. */
		fault = sm->iova + x->fault_off;
		if (fault >= d->src_addr && fault - d->src_addr < len) {
			r->status = DSA_COMP_PAGE_FAULT_NOBOF;
			r->bytes = fault - d->src_addr;
			r->fault = fault;
			x->faults++;
		}
	}
	memcpy(dst, src, r->bytes);
}

static void tx_check_batch(struct tx_queue *x, const struct dsa_hw_desc *d, struct tx_res *r)
{
	if (!tx_fields_ok(x, d, "BATCH", TX_BATCH_FLAGS, true, false, true, r))
		return;
	if (d->desc_count < 2 || d->desc_count > x->cfg.max_batch) {
		tx_erange(x, "[count] BATCH of %u descriptors, the WQ takes 2 to %u",
			  d->desc_count, x->cfg.max_batch);
		r->status = DSA_COMP_DESC_CNT_ERANGE;
	} else if (d->desc_list_addr & 63) {
		tx_err(x, "[listalign] descriptor list %#llx is not 64-byte aligned",
		       d->desc_list_addr);
		r->status = DSA_COMP_DESCLIST_ALIGN;
	} else if (!tx_resolve(x, d->desc_list_addr, d->desc_count * sizeof(*d), TX_READ, true,
			       "descriptor list")) {
		r->status = DSA_COMP_TRANSLATION_FAIL;
		r->fault = d->desc_list_addr;
	} else {
		if (d->flags != TX_REC)
			tx_err(x, "[policy] BATCH flags %#x, expected CRAV|RCR", d->flags);
		x->batches++;
		x->max_count = max_t(unsigned int, x->max_count, d->desc_count);
	}
}

static void tx_check_drain(struct tx_queue *x, const struct dsa_hw_desc *d, struct tx_res *r)
{
	if (tx_fields_ok(x, d, "DRAIN", TX_DRAIN_FLAGS, false, false, false, r) &&
	    d->flags != TX_REC)
		tx_err(x, "[policy] DRAIN flags %#x, expected CRAV|RCR", d->flags);
}

static bool tx_uses(const struct tx_map *m, u64 addr, u32 len)
{
	return addr < m->iova + m->size && addr + len > m->iova;
}

/* Whether injection holds back the MEMMOVE @d of the descriptor queued at @pos. */
static bool tx_held(struct tx_queue *x, const struct dsa_hw_desc *d, unsigned int pos)
{
	struct tx_map *m;
	unsigned int i;
	u64 at;

	if (x->hold_mode == TX_HOLD_NONE || x->hold_released)
		return false;
	m = tx_lookup(x, d->src_addr);
	if (!m || !m->folio || (m->folio != x->hold[0] && m->folio != x->hold[1]))
		return false;
	at = m->iova + x->hold_off;
	if (at < d->src_addr || at - d->src_addr >= d->xfer_size)
		return false;
	if (x->hold_mode == TX_HOLD_UNTIL_DRAIN)
		for (i = pos + 1; i < x->nr_pending; i++)
			if (x->pending[i]->snap.opcode == DSA_OPCODE_DRAIN)
				return false;
	return true;
}

static bool tx_runnable(struct tx_queue *x, unsigned int pos)
{
	struct tx_desc *t = x->pending[pos];
	const struct dsa_hw_desc *e;
	unsigned int k;

	if (t->bad)
		return true;
	switch (t->snap.opcode) {
	case DSA_OPCODE_DRAIN:
		/* After everything queued before it. */
		return pos == 0;
	case DSA_OPCODE_MEMMOVE:
		return !tx_held(x, &t->snap, pos);
	case DSA_OPCODE_BATCH:
		if (!t->checked)
			return true;
		for (k = 0; k < t->snap.desc_count; k++) {
			if (test_bit(k, t->done))
				continue;
			e = tx_entry_at(x, t, k);
			if (!e || !tx_held(x, e, pos))
				return true;
		}
		return false;
	default:
		return true;
	}
}

/*
 * Run one entry of a checked BATCH, picked among those that can run, out
 * of order like the hardware.  Returns true when every entry is done.
 */
static bool tx_batch_entry(struct tx_queue *x, struct tx_desc *t, unsigned int pos)
{
	unsigned int count = t->snap.desc_count, k, n = 0;
	struct tx_res r = { .status = DSA_COMP_SUCCESS };
	struct dsa_completion_record *c;
	const struct dsa_hw_desc *p;
	u8 pick[TX_MAX_BATCH];
	struct dsa_hw_desc e;
	struct tx_map *m;

	for (k = 0; k < count; k++) {
		if (test_bit(k, t->done))
			continue;
		p = tx_entry_at(x, t, k);
		if (!p || !tx_held(x, p, pos))
			pick[n++] = k;
	}
	if (!n)
		return false;
	k = pick[tx_rand(x) % n];
	__set_bit(k, t->done);
	p = tx_resolve(x, t->snap.desc_list_addr + (u64)k * sizeof(e), sizeof(e), TX_READ, true,
		       "BATCH list entry");
	if (!p) {
		t->failed = true;
		goto out;
	}
	e = *p;
	m = tx_lookup(x, e.src_addr);
	if (x->fail_folio && m && m->folio == x->fail_folio) {
		/* A hardware error: this entry writes nothing, the BATCH fails as a whole. */
		t->hw_err = true;
		goto out;
	}
	c = tx_record(x, &e, "BATCH entry");
	if (!c)
		return false;
	if (e.opcode != DSA_OPCODE_MEMMOVE) {
		tx_err(x, "[opcode] opcode %u in a BATCH list", e.opcode);
		r.status = DSA_COMP_BAD_OPCODE;
	} else {
		x->entries++;
		tx_memmove(x, &e, &r);
	}
	if (r.status == DSA_COMP_SUCCESS)
		t->nr_ok++;
	else
		t->failed = true;
	tx_put_record(c, &r);
out:
	return bitmap_weight(t->done, count) == count;
}

/* Run (a step of) the descriptor queued at @pos. */
static void tx_exec(struct tx_queue *x, unsigned int pos)
{
	struct tx_desc *t = x->pending[pos];
	const struct dsa_hw_desc *d = &t->snap;
	struct tx_res r = { .status = DSA_COMP_SUCCESS };
	struct dsa_completion_record *c;

	c = tx_record(x, d, "descriptor");
	if (!c)
		return;
	if (t->bad) {
		r.status = t->bad;
	} else if (d->opcode == DSA_OPCODE_MEMMOVE) {
		x->lone++;
		tx_memmove(x, d, &r);
	} else if (d->opcode == DSA_OPCODE_BATCH && !t->checked) {
		tx_check_batch(x, d, &r);
		t->checked = r.status == DSA_COMP_SUCCESS;
		if (t->checked)
			return;
	} else if (d->opcode == DSA_OPCODE_BATCH) {
		if (!tx_batch_entry(x, t, pos))
			return;
		r.bytes = t->nr_ok;
		if (t->hw_err) {
			r.status = DSA_COMP_HW_ERR1;
			tx_mark_desc(x, t);
		} else if (t->failed) {
			r.status = DSA_COMP_BATCH_FAIL;
		}
	} else if (d->opcode == DSA_OPCODE_DRAIN) {
		x->drains++;
		tx_check_drain(x, d, &r);
	} else {
		tx_err(x, "[opcode] opcode %u at the portal", d->opcode);
		r.status = DSA_COMP_BAD_OPCODE;
	}
	tx_put_record(c, &r);
	tx_dequeue(x, t);
}

/**
 * tx_step - let the device make one step
 * @x: the device; its lock held
 *
 * A pseudo-random pick among the runnable queued descriptors runs (a BATCH
 * one entry at a time), so completions come out of order, deterministically
 * for a given sequence of submissions.  With nothing runnable, a device told
 * to halt when idle does so.
 *
 * Return: whether anything ran.
 */
static bool tx_step(struct tx_queue *x)
{
	u8 run[TX_DESCS];
	unsigned int i, n = 0;

	lockdep_assert_held(&x->lock);
	if (x->halted)
		return false;
	for (i = 0; i < x->nr_pending; i++)
		if (tx_runnable(x, i))
			run[n++] = i;
	if (!n) {
		if (x->nr_pending && x->hold_mode == TX_HOLD_HALT_IDLE &&
		    x->accepted >= x->halt_after)
			tx_halt(x);
		return false;
	}
	tx_exec(x, run[tx_rand(x) % n]);
	return true;
}

static void tx_steps(struct tx_queue *x)
{
	bool ran;

	do {
		ran = tx_step(x);
	} while (ran);
}

/* The threaded device: runs while it can, sleeps until something changes. */
static int tx_thread(void *arg)
{
	struct tx_queue *x = arg;
	unsigned long gen;
	bool ran;

	while (!kthread_should_stop()) {
		spin_lock(&x->lock);
		ran = tx_step(x);
		gen = x->gen;
		spin_unlock(&x->lock);
		if (ran) {
			cond_resched();
			continue;
		}
		wait_event_interruptible(x->wait,
					 kthread_should_stop() || READ_ONCE(x->gen) != gen);
	}
	return 0;
}

static int tx_map(struct idxd_mig_chan *ch, struct folio *folio, enum dma_data_direction dir,
		  dma_addr_t *addr)
{
	struct tx_queue *x = container_of(ch, struct tx_queue, ch);
	struct tx_map *m;
	int ret = -ENOMEM;

	spin_lock(&x->lock);
	if ((folio == x->map_fail_src && dir == DMA_TO_DEVICE) ||
	    (folio == x->map_fail_dst && dir == DMA_FROM_DEVICE)) {
		x->map_failures++;
	} else {
		m = tx_map_add(x, folio_address(folio), folio_size(folio), dir, folio);
		if (m) {
			*addr = m->iova;
			ret = 0;
		} else {
			tx_err(x, "[table] more than %u live mappings", TX_MAPS);
		}
	}
	spin_unlock(&x->lock);
	return ret;
}

/* Whether a queued descriptor may still read or write mapping @m. */
static bool tx_in_flight(struct tx_queue *x, const struct tx_map *m)
{
	const struct dsa_hw_desc *d, *e;
	unsigned int i, k;

	for (i = 0; i < x->nr_pending; i++) {
		d = &x->pending[i]->snap;
		if (d->opcode == DSA_OPCODE_MEMMOVE &&
		    (tx_uses(m, d->src_addr, d->xfer_size) ||
		     tx_uses(m, d->dst_addr, d->xfer_size)))
			return true;
		if (d->opcode != DSA_OPCODE_BATCH)
			continue;
		for (k = 0; k < min_t(u32, d->desc_count, TX_MAX_BATCH); k++) {
			e = tx_entry_at(x, x->pending[i], k);
			if (e && !test_bit(k, x->pending[i]->done) &&
			    (tx_uses(m, e->src_addr, e->xfer_size) ||
			     tx_uses(m, e->dst_addr, e->xfer_size)))
				return true;
		}
	}
	return false;
}

static void tx_unmap(struct idxd_mig_chan *ch, dma_addr_t addr, size_t size,
		     enum dma_data_direction dir)
{
	struct tx_queue *x = container_of(ch, struct tx_queue, ch);
	struct tx_map *m = NULL;
	unsigned int i;

	spin_lock(&x->lock);
	for (i = 0; i < TX_MAPS && !m; i++)
		if (x->map[i].live && x->map[i].iova == addr)
			m = &x->map[i];
	if (!m) {
		tx_err(x, "[unmap] %#llx (%zu bytes, dir %d): no live mapping starts there",
		       (u64)addr, size, dir);
	} else if (!m->folio) {
		tx_err(x, "[unmap] %#llx is coherent memory of the owner", (u64)addr);
	} else {
		if (m->size != size || m->dir != dir)
			tx_err(x, "[unmap] %#llx as %zu bytes dir %d, mapped as %zu bytes dir %d",
			       (u64)addr, size, dir, m->size, m->dir);
		if (!x->halted && tx_in_flight(x, m))
			tx_err(x, "[inflight] %#llx unmapped while a queued descriptor uses it",
			       (u64)addr);
		m->live = false;
	}
	spin_unlock(&x->lock);
}

/* Like the idxd core: zeroed, PASID set when the device runs with one. */
static int tx_get(struct idxd_mig_chan *ch, struct idxd_mig_sub *sub)
{
	struct tx_queue *x = container_of(ch, struct tx_queue, ch);
	struct tx_desc *t;
	int ret = -EAGAIN;
	unsigned int i;

	spin_lock(&x->lock);
	if (x->halted) {
		ret = -EIO;
	} else if (x->nr_held < x->cfg.depth - 1) {
		for (i = 1; i < x->cfg.depth; i++) {
			t = &x->desc[i];
			if (t->held)
				continue;
			memset(&t->hw, 0, sizeof(t->hw));
			memset(&t->comp, 0, sizeof(t->comp));
			t->hw.pasid = x->cfg.pasid;
			t->held = true;
			x->nr_held++;
			sub->hw = &t->hw;
			sub->comp = &t->comp;
			sub->comp_dma = t->comp_iova;
			sub->cookie = t;
			ret = 0;
			break;
		}
	}
	spin_unlock(&x->lock);
	return ret;
}

static void tx_check_stale_record(struct tx_queue *x, u64 addr, const char *what)
{
	const struct dsa_completion_record *c = tx_peek(x, addr, sizeof(*c));

	if (c && READ_ONCE(c->status))
		tx_err(x, "[stale] %s completion record %#llx holds status %#x at submission",
		       what, addr, READ_ONCE(c->status));
}

/* A record holding a status at submission would be taken for this descriptor's. */
static void tx_check_stale(struct tx_queue *x, const struct dsa_hw_desc *d)
{
	const struct dsa_hw_desc *list;
	unsigned int k;

	tx_check_stale_record(x, d->completion_addr, "descriptor");
	if (d->opcode != DSA_OPCODE_BATCH || d->desc_count > TX_MAX_BATCH)
		return;
	list = tx_peek(x, d->desc_list_addr, d->desc_count * sizeof(*list));
	for (k = 0; list && k < d->desc_count; k++)
		tx_check_stale_record(x, list[k].completion_addr, "BATCH entry");
}

/* The portal takes a copy of the descriptor: later changes to sub->hw do not count. */
static void tx_queue_desc(struct tx_queue *x, struct tx_desc *t, const struct dsa_hw_desc *hw)
{
	t->snap = *hw;
	t->bad = 0;
	t->checked = false;
	t->failed = false;
	t->hw_err = false;
	t->nr_ok = 0;
	bitmap_zero(t->done, TX_MAX_BATCH);
	if (t->snap.priv) {
		tx_err(x, "[priv] descriptor with priv set: idxd runs kernel DMA with priv 0");
		t->bad = DSA_COMP_PRIV_BAD;
	} else if (t->snap.pasid != x->cfg.pasid) {
		tx_err(x, "[pasid] descriptor PASID %#x, get() set %#x",
		       t->snap.pasid, x->cfg.pasid);
		t->bad = DSA_COMP_TRANSLATION_FAIL;
	}
	tx_check_stale(x, &t->snap);
	t->pending = true;
	x->pending[x->nr_pending++] = t;
	x->accepted++;
}

static bool tx_refuse(struct tx_queue *x, bool drain)
{
	return (drain && x->cfg.refuse_drain) || x->nr_pending >= x->cfg.depth ||
	       (x->cfg.refuse_every && !(x->portal_writes % x->cfg.refuse_every));
}

static int tx_submit(struct idxd_mig_chan *ch, struct idxd_mig_sub *sub)
{
	struct tx_queue *x = container_of(ch, struct tx_queue, ch);
	bool drain = sub->hw->opcode == DSA_OPCODE_DRAIN;
	struct tx_desc *t;
	int ret = 0;

	spin_lock(&x->lock);
	t = tx_desc_of(x, sub->cookie);
	x->portal_writes++;
	if (drain) {
		x->drain_tries++;
		if (x->hold_mode == TX_HOLD_UNTIL_DRAIN_TRY)
			x->hold_released = true;
	}
	if (x->halted) {
		ret = -EIO;
	} else if (!t || !t->held || sub->hw != &t->hw) {
		tx_err(x, "[owner] submit() of a descriptor get() did not hand out");
		ret = -EINVAL;
	} else if (t->pending) {
		tx_err(x, "[owner] submit() of a descriptor still queued");
		ret = -EINVAL;
	} else if (x->cfg.shared && tx_refuse(x, drain)) {
		x->refusals++;
		ret = -EAGAIN;
	} else if (x->nr_pending >= x->cfg.depth) {
		/*
		 * A dedicated WQ drops what it has no room for, silently, and
		 * the engine would wait for its deadline: halt now instead.
		 */
		tx_err(x, "[overfill] descriptor %u on a dedicated WQ of %u",
		       x->nr_pending + 1, x->cfg.depth);
		tx_halt(x);
	} else {
		tx_queue_desc(x, t, sub->hw);
		if (drain) {
			x->drain_accepted++;
			if (x->hold_mode == TX_HOLD_HALT_ON_DRAIN)
				tx_halt(x);
		}
	}
	x->gen++;
	spin_unlock(&x->lock);
	wake_up(&x->wait);
	return ret;
}

static void tx_put(struct idxd_mig_chan *ch, struct idxd_mig_sub *sub)
{
	struct tx_queue *x = container_of(ch, struct tx_queue, ch);
	struct tx_desc *t;

	spin_lock(&x->lock);
	t = tx_desc_of(x, sub->cookie);
	if (!t || !t->held) {
		tx_err(x, "[owner] put() of a descriptor not held");
	} else if (t == &x->desc[0]) {
		tx_err(x, "[owner] put() of the channel's Drain descriptor");
	} else {
		if (t->pending) {
			if (!x->halted)
				tx_err(x, "[inflight] put() of a descriptor the device may still write");
			tx_dequeue(x, t);
		}
		t->held = false;
		x->nr_held--;
	}
	x->gen++;
	spin_unlock(&x->lock);
	wake_up(&x->wait);
}

/* A polled device moves only here; a threaded one on its own. */
static bool tx_alive(struct idxd_mig_chan *ch)
{
	struct tx_queue *x = container_of(ch, struct tx_queue, ch);
	unsigned int i;
	bool alive;

	spin_lock(&x->lock);
	for (i = 0; !x->cfg.threaded && i < TX_STEPS; i++)
		if (!tx_step(x))
			break;
	alive = !x->halted;
	spin_unlock(&x->lock);
	return alive;
}

static const struct idxd_mig_chan_ops tx_ops = {
	.map = tx_map,
	.unmap = tx_unmap,
	.get = tx_get,
	.submit = tx_submit,
	.put = tx_put,
	.alive = tx_alive,
};

static void tx_queue_release(void *arg)
{
	struct tx_queue *x = arg;

	spin_lock(&x->lock);
	x->halted = true;
	spin_unlock(&x->lock);
	if (x->thread)
		kthread_stop(x->thread);
	x->thread = NULL;
	if (x->inited)
		idxd_mig_chan_destroy(&x->ch);
	if (x->area)
		free_pages_exact(x->area, x->area_size);
	list_del(&x->node);
}

static struct tx_cfg tx_defaults(int node, bool threaded)
{
	return (struct tx_cfg) {
		.max_batch = 8,
		.max_xfer = SZ_2M,
		.depth = 16,
		.nr_slots = 8,
		.pasid = TX_PASID,
		.node = node,
		.threaded = threaded,
	};
}

/* A WQ as @cfg describes it, bound to a channel the way migrate.c binds one. */
static struct tx_queue *tx_queue_create(struct kunit *test, const struct tx_cfg *cfg)
{
	unsigned int batch = cfg->eng_batch ?: cfg->max_batch;
	u32 xfer = cfg->eng_xfer ?: cfg->max_xfer;
	struct tx_ctx *ctx = test->priv;
	struct task_struct *thread;
	struct tx_queue *x;
	struct tx_desc *t;
	struct tx_map *m;
	unsigned int i;

	KUNIT_ASSERT_TRUE(test, cfg->depth >= 2 && cfg->depth <= TX_DESCS);
	KUNIT_ASSERT_TRUE(test, cfg->max_batch >= 2 && cfg->max_batch <= TX_MAX_BATCH);
	x = kunit_kzalloc(test, sizeof(*x), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, x);
	x->cfg = *cfg;
	spin_lock_init(&x->lock);
	init_waitqueue_head(&x->wait);
	x->rand = 0x2545f491 + ctx->nr_queues;
	x->next_iova = TX_IOVA_BASE + ctx->nr_queues * TX_IOVA_SPAN;
	x->reason = MR_DEMOTION;
	snprintf(x->name, sizeof(x->name), "txwq%u", ctx->nr_queues++);
	list_add_tail(&x->node, &ctx->queues);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, tx_queue_release, x), 0);

	for (i = 0; i < TX_DESCS; i++) {
		m = tx_map_add(x, &x->desc[i].comp, sizeof(x->desc[i].comp), DMA_BIDIRECTIONAL,
			       NULL);
		KUNIT_ASSERT_NOT_NULL(test, m);
		x->desc[i].comp_iova = m->iova;
	}
	x->area_size = idxd_mig_area_size(cfg->nr_slots, batch);
	x->area = alloc_pages_exact(x->area_size, GFP_KERNEL | __GFP_ZERO);
	KUNIT_ASSERT_NOT_NULL(test, x->area);
	m = tx_map_add(x, x->area, x->area_size, DMA_BIDIRECTIONAL, NULL);
	KUNIT_ASSERT_NOT_NULL(test, m);

	x->ch.ops = &tx_ops;
	x->ch.priv = x;
	x->ch.node = cfg->node;
	x->ch.name = x->name;
	KUNIT_ASSERT_EQ(test, idxd_mig_chan_init(&x->ch, x->area, m->iova, cfg->nr_slots, batch,
						 xfer), 0);
	x->inited = true;
	x->ch.cache_control = cfg->cache_control;
	/* The owner keeps one descriptor of the WQ for Drain, as migrate.c does. */
	t = &x->desc[0];
	t->held = true;
	t->hw.pasid = cfg->pasid;
	x->ch.drain.hw = &t->hw;
	x->ch.drain.comp = &t->comp;
	x->ch.drain.comp_dma = t->comp_iova;
	x->ch.drain.cookie = t;
	if (cfg->threaded) {
		thread = kthread_run(tx_thread, x, "%s", x->name);
		KUNIT_ASSERT_FALSE(test, IS_ERR(thread));
		x->thread = thread;
	}
	return x;
}

/*
 * When the test ends: the device is stopped (what is runnable runs first),
 * and nothing may be left: no error, no folio mapping, no descriptor held,
 * nothing queued, no slot busy unless the engine said the queue is wedged.
 */
static void tx_queue_check(struct kunit *test, struct tx_queue *x)
{
	unsigned int i, maps = 0, held, pending;
	bool halted;

	if (x->thread)
		kthread_stop(x->thread);
	x->thread = NULL;
	spin_lock(&x->lock);
	tx_steps(x);
	for (i = 0; i < TX_MAPS; i++)
		if (x->map[i].live && x->map[i].folio)
			maps++;
	held = x->nr_held;
	pending = x->nr_pending;
	halted = x->halted;
	spin_unlock(&x->lock);

	KUNIT_EXPECT_EQ_MSG(test, x->nr_errors, 0, "%s: device errors; the first: %s",
			    x->name, x->first);
	KUNIT_EXPECT_EQ_MSG(test, maps, 0, "%s: folio mappings left", x->name);
	KUNIT_EXPECT_EQ_MSG(test, held, 0, "%s: descriptors never put()", x->name);
	KUNIT_EXPECT_TRUE_MSG(test, !pending || halted, "%s: %u descriptors still queued",
			      x->name, pending);
	if (!x->ch.wedged)
		KUNIT_EXPECT_EQ_MSG(test, x->ch.busy, 0, "%s: slots busy", x->name);
}

/* Hold back what reads @folio (up to two folios, one mode). */
static void tx_hold(struct tx_queue *x, struct folio *folio, enum tx_hold mode)
{
	spin_lock(&x->lock);
	x->hold[x->hold[0] ? 1 : 0] = folio;
	x->hold_mode = mode;
	spin_unlock(&x->lock);
}

static bool tx_drain_queued(struct tx_queue *x)
{
	bool queued;

	spin_lock(&x->lock);
	queued = x->desc[0].pending;
	spin_unlock(&x->lock);
	return queued;
}

/* The test lets held descriptors run, and waits for the device to go idle. */
static bool tx_complete_late(struct tx_queue *x)
{
	unsigned long end = jiffies + TX_LONG;
	bool idle;

	spin_lock(&x->lock);
	x->hold_released = true;
	x->gen++;
	if (!x->thread)
		tx_steps(x);
	spin_unlock(&x->lock);
	wake_up(&x->wait);
	for (;;) {
		spin_lock(&x->lock);
		idle = !x->nr_pending;
		spin_unlock(&x->lock);
		if (idle || time_after(jiffies, end))
			return idle;
		msleep(20);
	}
}

/*
 * Release what the engine left on a wedged queue, once the device is done
 * with it: the descriptors of the late slots, the mappings of the stuck
 * folios, the busy slots and the Drain.  Returns the mappings released.
 */
static unsigned int tx_release_wedged(struct tx_queue *x)
{
	unsigned int i, n = 0;

	spin_lock(&x->lock);
	for (i = 1; i < TX_DESCS; i++) {
		if (x->desc[i].held && !x->desc[i].pending) {
			x->desc[i].held = false;
			x->nr_held--;
		}
	}
	for (i = 0; i < TX_MAPS; i++) {
		if (x->map[i].live && x->map[i].folio) {
			x->map[i].live = false;
			n++;
		}
	}
	x->ch.busy = 0;
	WRITE_ONCE(x->ch.draining, 0);
	spin_unlock(&x->lock);
	return n;
}

/* A test's batch: folios of the given orders, sources filled, destinations zeroed. */
struct tx_batch {
	struct migrate_copy_batch b;
	struct tx_ctx *ctx;
	struct folio *src[TX_FOLIOS];
	struct folio *dst[TX_FOLIOS];
	DECLARE_BITMAP(copied, TX_FOLIOS);
	DECLARE_BITMAP(stuck, TX_FOLIOS);
};

static void tx_batch_release(void *arg)
{
	struct tx_batch *t = arg;
	struct tx_queue *x;
	unsigned int i;

	/* No device may write a folio once it is freed, whatever a failed test left. */
	list_for_each_entry(x, &t->ctx->queues, node) {
		spin_lock(&x->lock);
		x->halted = true;
		spin_unlock(&x->lock);
	}
	for (i = 0; i < TX_FOLIOS; i++) {
		if (t->src[i])
			folio_put(t->src[i]);
		if (t->dst[i])
			folio_put(t->dst[i]);
	}
}

/* A pattern that differs in every word and every folio: a misplaced copy shows. */
static void tx_fill(struct folio *folio, unsigned int i)
{
	u32 *p = folio_address(folio);
	size_t w, n = folio_size(folio) / sizeof(*p);

	for (w = 0; w < n; w++)
		p[w] = ((i + 1) << 24) | (u32)w;
}

static void tx_batch_reset(struct tx_batch *t)
{
	unsigned int i;

	bitmap_zero(t->copied, TX_FOLIOS);
	bitmap_zero(t->stuck, TX_FOLIOS);
	for (i = 0; i < t->b.nr; i++)
		memset(folio_address(t->dst[i]), 0, folio_size(t->dst[i]));
}

static struct tx_batch *tx_batch_create(struct kunit *test, const unsigned int *orders,
					unsigned int nr, int reason)
{
	struct tx_batch *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_ASSERT_LE(test, nr, TX_FOLIOS);
	t->ctx = test->priv;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, tx_batch_release, t), 0);
	for (i = 0; i < nr; i++) {
		t->src[i] = folio_alloc(GFP_KERNEL, orders[i]);
		KUNIT_ASSERT_NOT_NULL(test, t->src[i]);
		t->dst[i] = folio_alloc(GFP_KERNEL | __GFP_ZERO, orders[i]);
		KUNIT_ASSERT_NOT_NULL(test, t->dst[i]);
		tx_fill(t->src[i], i);
		t->b.bytes += folio_size(t->src[i]);
	}
	t->b.src = t->src;
	t->b.dst = t->dst;
	t->b.copied = t->copied;
	t->b.stuck = t->stuck;
	t->b.nr = nr;
	t->b.reason = reason;
	return t;
}

static int tx_index(const struct tx_batch *t, const struct folio *folio)
{
	unsigned int i;

	for (i = 0; i < t->b.nr; i++)
		if (t->src[i] == folio || t->dst[i] == folio)
			return i;
	return -1;
}

static unsigned int tx_nr_copied(const struct tx_batch *t)
{
	return bitmap_weight(t->copied, t->b.nr);
}

/* The folios of @t the device marked (in a failed BATCH, or queued when it halted). */
static void tx_marked(struct tx_queue *x, const struct tx_batch *t, unsigned long *bits)
{
	unsigned int j;
	int i;

	bitmap_zero(bits, TX_FOLIOS);
	spin_lock(&x->lock);
	for (j = 0; j < x->nr_marked; j++) {
		i = tx_index(t, x->marked[j]);
		if (i >= 0)
			__set_bit(i, bits);
	}
	spin_unlock(&x->lock);
}

/* Live mappings of @folio on @x. */
static unsigned int tx_mapped(struct tx_queue *x, const struct folio *folio)
{
	unsigned int i, n = 0;

	spin_lock(&x->lock);
	for (i = 0; i < TX_MAPS; i++)
		if (x->map[i].live && x->map[i].folio == folio)
			n++;
	spin_unlock(&x->lock);
	return n;
}

/*
 * When idxd_mig_copy() has returned, a folio of @t may still be in a queued
 * descriptor, or mapped, only if it is reported stuck; the Drain may still
 * be queued only while the channel holds it (else the next settle would
 * reuse it while queued).  Called from any thread.
 */
static void tx_after_copy(struct tx_queue *x, const struct tx_batch *t)
{
	struct folio *f[2 * TX_MAX_BATCH];
	unsigned int i, j, n;
	int k;

	spin_lock(&x->lock);
	for (i = 0; i < x->nr_pending; i++) {
		if (x->pending[i] == &x->desc[0]) {
			/* Harmless on a stopped device: it writes nothing more. */
			if (!x->halted && !READ_ONCE(x->ch.draining))
				tx_err(x, "[return] the Drain is queued but ch->draining is free");
			continue;
		}
		n = tx_desc_folios(x, x->pending[i], f);
		for (j = 0; j < n; j++) {
			k = tx_index(t, f[j]);
			if (k >= 0 && !test_bit(k, t->stuck))
				tx_err(x, "[return] folio %d still queued after the copy", k);
		}
	}
	for (i = 0; i < TX_MAPS; i++) {
		if (!x->map[i].live || !x->map[i].folio)
			continue;
		k = tx_index(t, x->map[i].folio);
		if (k >= 0 && !test_bit(k, t->stuck))
			tx_err(x, "[return] folio %d still mapped after the copy, not stuck", k);
	}
	spin_unlock(&x->lock);
}

/* Every folio reported copied equals its source; none is both copied and stuck. */
static void tx_check_data(struct kunit *test, const struct tx_batch *t)
{
	unsigned int i;

	for (i = 0; i < t->b.nr; i++) {
		if (!test_bit(i, t->copied))
			continue;
		KUNIT_EXPECT_EQ_MSG(test, memcmp(folio_address(t->src[i]), folio_address(t->dst[i]),
						 folio_size(t->src[i])), 0,
				    "folio %u reported copied but differs", i);
		KUNIT_EXPECT_FALSE_MSG(test, test_bit(i, t->stuck),
				       "folio %u reported both copied and stuck", i);
	}
}

/**
 * tx_copy - run idxd_mig_copy() on some queues and check what it left
 * @test: the test
 * @qs: the queues, in the order the engine is given their channels
 * @nq: how many
 * @rotor: the engine's rotor
 * @t: the batch
 * @timeout: jiffies the descriptors may take
 * @settle: jiffies more after a timeout
 *
 * Return: what idxd_mig_copy() returned.
 */
static int tx_copy(struct kunit *test, struct tx_queue **qs, unsigned int nq, unsigned int rotor,
		   struct tx_batch *t, unsigned long timeout, unsigned long settle)
{
	const struct idxd_mig_limits lim = { .timeout = timeout, .settle = settle };
	struct idxd_mig_chan *chans[TX_MAX_QUEUES];
	unsigned int i;
	int ret;

	KUNIT_ASSERT_LE(test, nq, TX_MAX_QUEUES);
	for (i = 0; i < nq; i++) {
		chans[i] = &qs[i]->ch;
		spin_lock(&qs[i]->lock);
		qs[i]->reason = t->b.reason;
		spin_unlock(&qs[i]->lock);
	}
	ret = idxd_mig_copy(chans, nq, rotor, &t->b, &lim);
	for (i = 0; i < nq; i++)
		tx_after_copy(qs[i], t);
	tx_check_data(test, t);
	return ret;
}

static int tx_copy1(struct kunit *test, struct tx_queue *x, struct tx_batch *t)
{
	return tx_copy(test, &x, 1, 0, t, TX_LONG, TX_LONG);
}

static void tx_expect_stats(struct kunit *test, struct tx_queue *x, long copies, long folios,
			    long fallbacks, long timeouts, long halts, long stuck)
{
	const struct idxd_mig_stats *s = &x->ch.stats;
	const struct {
		const char *name;
		long want;
		long got;
	} v[] = {
		{ "copies", copies, atomic_long_read(&s->copies) },
		{ "folios", folios, atomic_long_read(&s->folios) },
		{ "fallbacks", fallbacks, atomic_long_read(&s->fallbacks) },
		{ "timeouts", timeouts, atomic_long_read(&s->timeouts) },
		{ "halts", halts, atomic_long_read(&s->halts) },
		{ "stuck", stuck, atomic_long_read(&s->stuck) },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		if (v[i].want != TX_ANY)
			KUNIT_EXPECT_EQ_MSG(test, v[i].got, v[i].want, "%s: stats.%s",
					    x->name, v[i].name);
}

static int tx_other_node(int nid)
{
	return nid ? 0 : 1;
}

/* Test parameters: a name and one switch whose meaning the test gives. */
struct tx_variant {
	const char *name;
	bool on;
};

static void tx_variant_desc(const struct tx_variant *v, char *desc)
{
	strscpy(desc, v->name, KUNIT_PARAM_DESC_SIZE);
}

static bool tx_param(struct kunit *test)
{
	const struct tx_variant *v = test->param_value;

	return v->on;
}

/* on: the device runs on its own kthread; off: it runs when the engine polls alive(). */
static const struct tx_variant tx_modes[] = {
	{ "polled", false },
	{ "threaded", true },
};

KUNIT_ARRAY_PARAM(tx_mode, tx_modes, tx_variant_desc);

/* on: the portal refuses the Drain; off: it queues it (and it never completes). */
static const struct tx_variant tx_stuck_drains[] = {
	{ "drain_refused", true },
	{ "drain_queued", false },
};

KUNIT_ARRAY_PARAM(tx_stuck_drain, tx_stuck_drains, tx_variant_desc);

/* on: shared WQs that refuse submissions; off: dedicated WQs. */
static const struct tx_variant tx_wq_types[] = {
	{ "dedicated", false },
	{ "shared", true },
};

KUNIT_ARRAY_PARAM(tx_wq_type, tx_wq_types, tx_variant_desc);

static const unsigned int tx_order0[TX_FOLIOS];

/* 40 pages, 8 per BATCH: five BATCHes of 8, all copied. */
static void idxd_mig_test_chunking(struct kunit *test)
{
	struct tx_batch *t = tx_batch_create(test, tx_order0, 40, MR_DEMOTION);
	struct tx_cfg cfg = tx_defaults(folio_nid(t->src[0]), tx_param(test));
	struct tx_queue *x = tx_queue_create(test, &cfg);

	KUNIT_EXPECT_EQ(test, tx_copy1(test, x, t), 0);
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t), 40);
	KUNIT_EXPECT_EQ(test, x->batches, 5);
	KUNIT_EXPECT_EQ(test, x->max_count, 8);
	KUNIT_EXPECT_EQ(test, x->entries, 40);
	KUNIT_EXPECT_EQ(test, x->lone, 0);
	tx_expect_stats(test, x, 1, 40, 0, 0, 0, 0);
}

/*
 * Folios larger than the transfer size: split over entries and over
 * BATCHes, and, with two queues, every part on the queue it is mapped on
 * (each queue has its own address space).
 */
static void idxd_mig_test_xfer_split(struct kunit *test)
{
	static const unsigned int orders[] = { 3, 0, 2, 4, 1 };
	struct tx_batch *t = tx_batch_create(test, orders, ARRAY_SIZE(orders), MR_DEMOTION);
	struct tx_cfg cfg = tx_defaults(folio_nid(t->src[0]), tx_param(test));
	struct tx_queue *x, *qs[2];

	cfg.max_xfer = PAGE_SIZE;
	cfg.max_batch = 4;
	cfg.depth = 32;
	cfg.nr_slots = 16;
	x = tx_queue_create(test, &cfg);
	KUNIT_EXPECT_EQ(test, tx_copy1(test, x, t), 0);
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t), ARRAY_SIZE(orders));
	/* 8 + 1 + 4 + 16 + 2 = 31 pages, one entry each: 7 BATCHes of 4, one of 3. */
	KUNIT_EXPECT_EQ(test, x->entries, 31);
	KUNIT_EXPECT_EQ(test, x->lone, 0);
	KUNIT_EXPECT_EQ(test, x->batches, 8);
	KUNIT_EXPECT_EQ(test, x->max_count, 4);
	tx_expect_stats(test, x, 1, ARRAY_SIZE(orders), 0, 0, 0, 0);

	tx_batch_reset(t);
	qs[0] = tx_queue_create(test, &cfg);
	qs[1] = tx_queue_create(test, &cfg);
	KUNIT_EXPECT_EQ(test, tx_copy(test, qs, 2, 0, t, TX_LONG, TX_LONG), 0);
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t), ARRAY_SIZE(orders));
	KUNIT_EXPECT_EQ(test, qs[0]->entries + qs[0]->lone + qs[1]->entries + qs[1]->lone, 31);
	KUNIT_EXPECT_LE(test, qs[0]->max_count, 4);
	KUNIT_EXPECT_LE(test, qs[1]->max_count, 4);
}

/* A slot of one entry is that MEMMOVE, not a BATCH (which needs two). */
static void idxd_mig_test_single(struct kunit *test)
{
	static const unsigned int orders[] = { 2 };
	struct tx_batch *t = tx_batch_create(test, orders, 1, MR_DEMOTION);
	struct tx_batch *t9 = tx_batch_create(test, tx_order0, 9, MR_DEMOTION);
	struct tx_cfg cfg = tx_defaults(folio_nid(t->src[0]), tx_param(test));
	struct tx_queue *x = tx_queue_create(test, &cfg);
	struct tx_queue *y = tx_queue_create(test, &cfg);

	KUNIT_EXPECT_EQ(test, tx_copy1(test, x, t), 0);
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t), 1);
	KUNIT_EXPECT_EQ(test, x->batches, 0);
	KUNIT_EXPECT_EQ(test, x->lone, 1);
	tx_expect_stats(test, x, 1, 1, 0, 0, 0, 0);

	/* Nine pages, eight per BATCH: a BATCH, then the last page alone. */
	KUNIT_EXPECT_EQ(test, tx_copy1(test, y, t9), 0);
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t9), 9);
	KUNIT_EXPECT_EQ(test, y->batches, 1);
	KUNIT_EXPECT_EQ(test, y->entries, 8);
	KUNIT_EXPECT_EQ(test, y->lone, 1);
	tx_expect_stats(test, y, 1, 9, 0, 0, 0, 0);
}

/*
 * A page fault half way into a folio (no Block on Fault: a partial
 * completion): only that folio is left to the CPU, whether one entry or
 * several cover it.
 */
static void idxd_mig_test_page_fault(struct kunit *test)
{
	static const unsigned int orders[] = { 0, 2, 0, 1, 0, 0 };
	unsigned int pass;

	for (pass = 0; pass < 2; pass++) {
		struct tx_batch *t = tx_batch_create(test, orders, ARRAY_SIZE(orders), MR_DEMOTION);
		struct tx_cfg cfg = tx_defaults(folio_nid(t->src[0]), tx_param(test));
		struct tx_queue *x;

		cfg.max_batch = 4;
		cfg.max_xfer = pass ? PAGE_SIZE : SZ_2M;
		x = tx_queue_create(test, &cfg);
		x->fault_folio = t->src[1];
		x->fault_off = 3 * PAGE_SIZE / 2;
		KUNIT_EXPECT_EQ(test, tx_copy1(test, x, t), 0);
		KUNIT_EXPECT_EQ(test, x->faults, 1);
		KUNIT_EXPECT_EQ(test, tx_nr_copied(t), ARRAY_SIZE(orders) - 1);
		KUNIT_EXPECT_FALSE(test, test_bit(1, t->copied));
		/* The part before the fault was copied, and not trusted. */
		KUNIT_EXPECT_EQ(test, memcmp(folio_address(t->src[1]), folio_address(t->dst[1]),
					     PAGE_SIZE), 0);
		tx_expect_stats(test, x, 1, ARRAY_SIZE(orders) - 1, 1, 0, 0, 0);
	}
}

/*
 * A BATCH that fails as a whole (a hardware error; its other entries did
 * run and wrote success) fails all its folios and only those.
 */
static void idxd_mig_test_batch_fail(struct kunit *test)
{
	struct tx_batch *t = tx_batch_create(test, tx_order0, 12, MR_DEMOTION);
	struct tx_cfg cfg = tx_defaults(folio_nid(t->src[0]), tx_param(test));
	DECLARE_BITMAP(marked, TX_FOLIOS);
	struct tx_queue *x;

	cfg.max_batch = 4;
	x = tx_queue_create(test, &cfg);
	x->fail_folio = t->src[5];
	KUNIT_EXPECT_EQ(test, tx_copy1(test, x, t), 0);
	tx_marked(x, t, marked);
	KUNIT_EXPECT_EQ(test, bitmap_weight(marked, TX_FOLIOS), 4);
	KUNIT_EXPECT_TRUE(test, test_bit(5, marked));
	KUNIT_EXPECT_FALSE(test, bitmap_intersects(marked, t->copied, TX_FOLIOS));
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t), 8);
	KUNIT_EXPECT_EQ(test, x->entries, 11);
	tx_expect_stats(test, x, 1, 8, 4, 0, 0, 0);
}

/*
 * The device checks the WQ's limits, not the engine's: given larger
 * limits than the WQ has, the engine sees DSA_COMP_DESC_CNT_ERANGE and
 * DSA_COMP_XFER_ERANGE, and those folios fall back.
 */
static void idxd_mig_test_wq_limits(struct kunit *test)
{
	static const unsigned int orders[] = { 0, 2, 0 };
	struct tx_batch *t = tx_batch_create(test, tx_order0, 12, MR_DEMOTION);
	struct tx_batch *t3 = tx_batch_create(test, orders, ARRAY_SIZE(orders), MR_DEMOTION);
	struct tx_cfg cfg = tx_defaults(folio_nid(t->src[0]), tx_param(test));
	struct tx_queue *x, *y;
	unsigned int i;

	cfg.allow_erange = true;
	cfg.max_batch = 4;
	cfg.eng_batch = 8;
	cfg.nr_slots = 4;
	x = tx_queue_create(test, &cfg);
	KUNIT_EXPECT_EQ(test, tx_copy1(test, x, t), 0);
	KUNIT_EXPECT_EQ(test, x->nr_erange, 1);
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t), 4);
	for (i = 8; i < 12; i++)
		KUNIT_EXPECT_TRUE(test, test_bit(i, t->copied));
	tx_expect_stats(test, x, 1, 4, 8, 0, 0, 0);

	cfg = tx_defaults(folio_nid(t3->src[0]), tx_param(test));
	cfg.allow_erange = true;
	cfg.max_batch = 4;
	cfg.max_xfer = PAGE_SIZE;
	cfg.eng_xfer = 4 * PAGE_SIZE;
	y = tx_queue_create(test, &cfg);
	KUNIT_EXPECT_EQ(test, tx_copy1(test, y, t3), 0);
	KUNIT_EXPECT_EQ(test, y->nr_erange, 1);
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t3), 2);
	KUNIT_EXPECT_FALSE(test, test_bit(1, t3->copied));
	tx_expect_stats(test, y, 1, 2, 1, 0, 0, 0);
}

/* A source or a destination that cannot be mapped leaves its folio to the CPU. */
static void idxd_mig_test_map_error(struct kunit *test)
{
	struct tx_batch *t = tx_batch_create(test, tx_order0, 10, MR_DEMOTION);
	struct tx_cfg cfg = tx_defaults(folio_nid(t->src[0]), tx_param(test));
	struct tx_queue *x;

	cfg.max_batch = 4;
	x = tx_queue_create(test, &cfg);
	x->map_fail_src = t->src[3];
	x->map_fail_dst = t->dst[6];
	KUNIT_EXPECT_EQ(test, tx_copy1(test, x, t), 0);
	KUNIT_EXPECT_EQ(test, x->map_failures, 2);
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t), 8);
	KUNIT_EXPECT_FALSE(test, test_bit(3, t->copied));
	KUNIT_EXPECT_FALSE(test, test_bit(6, t->copied));
	/* The source of folio 6 was mapped, and unmapped again. */
	KUNIT_EXPECT_EQ(test, tx_mapped(x, t->src[6]), 0);
	tx_expect_stats(test, x, 1, 8, TX_ANY, 0, 0, 0);
}

/*
 * More folios than slots, or than descriptors (get() says -EAGAIN): -EBUSY
 * either way, and the rest to the CPU.
 */
static void idxd_mig_test_exhaustion(struct kunit *test)
{
	struct tx_batch *t = tx_batch_create(test, tx_order0, 20, MR_DEMOTION);
	struct tx_cfg cfg = tx_defaults(folio_nid(t->src[0]), tx_param(test));
	struct tx_queue *x, *y;

	/* Two slots of four entries. */
	cfg.max_batch = 4;
	cfg.nr_slots = 2;
	x = tx_queue_create(test, &cfg);
	KUNIT_EXPECT_EQ(test, tx_copy1(test, x, t), -EBUSY);
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t), 8);
	tx_expect_stats(test, x, 1, 8, TX_ANY, 0, 0, 0);

	/* Plenty of slots, a WQ of two: one descriptor besides the Drain. */
	tx_batch_reset(t);
	cfg.nr_slots = 8;
	cfg.depth = 2;
	y = tx_queue_create(test, &cfg);
	KUNIT_EXPECT_EQ(test, tx_copy1(test, y, t), -EBUSY);
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t), 4);
	KUNIT_EXPECT_EQ(test, y->accepted, 1);
	tx_expect_stats(test, y, 1, 4, TX_ANY, 0, 0, 0);
}

/*
 * Two queues nearest the source (by node_distance()) share the work; a
 * farther one (without PASID) is left alone.  With the near ones broken,
 * the far one does it all.
 */
static void idxd_mig_test_near_queues(struct kunit *test)
{
	struct tx_batch *t = tx_batch_create(test, tx_order0, 16, MR_DEMOTION);
	int nid = folio_nid(t->src[0]);
	struct tx_cfg cfg = tx_defaults(nid, tx_param(test));
	struct tx_queue *qs[3];

	cfg.max_batch = 4;
	cfg.node = tx_other_node(nid);
	cfg.pasid = 0;
	qs[0] = tx_queue_create(test, &cfg);
	cfg.node = nid;
	cfg.pasid = TX_PASID;
	qs[1] = tx_queue_create(test, &cfg);
	qs[2] = tx_queue_create(test, &cfg);

	KUNIT_EXPECT_EQ(test, tx_copy(test, qs, 3, 0, t, TX_LONG, TX_LONG), 0);
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t), 16);
	KUNIT_EXPECT_EQ(test, qs[0]->accepted, 0);
	KUNIT_EXPECT_EQ(test, qs[1]->batches, 2);
	KUNIT_EXPECT_EQ(test, qs[2]->batches, 2);
	tx_expect_stats(test, qs[0], 0, 0, 0, 0, 0, 0);
	tx_expect_stats(test, qs[1], 1, 8, 0, 0, 0, 0);
	tx_expect_stats(test, qs[2], 1, 8, 0, 0, 0, 0);

	WRITE_ONCE(qs[1]->ch.broken, true);
	WRITE_ONCE(qs[2]->ch.broken, true);
	tx_batch_reset(t);
	KUNIT_EXPECT_EQ(test, tx_copy(test, qs, 3, 0, t, TX_LONG, TX_LONG), 0);
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t), 16);
	KUNIT_EXPECT_EQ(test, qs[0]->batches, 4);
	KUNIT_EXPECT_EQ(test, qs[1]->batches, 2);
	KUNIT_EXPECT_EQ(test, qs[2]->batches, 2);
	tx_expect_stats(test, qs[0], 1, 16, 0, 0, 0, 0);
}

/* The rotor picks the queue of the first slot: consecutive values alternate. */
static void idxd_mig_test_rotation(struct kunit *test)
{
	static const unsigned int rotors[] = { 0, 1, 2, 3, UINT_MAX };
	struct tx_batch *t = tx_batch_create(test, tx_order0, 4, MR_DEMOTION);
	struct tx_cfg cfg = tx_defaults(folio_nid(t->src[0]), tx_param(test));
	bool first[ARRAY_SIZE(rotors)];
	unsigned int i, a, b;
	struct tx_queue *qs[2];

	cfg.max_batch = 4;
	qs[0] = tx_queue_create(test, &cfg);
	qs[1] = tx_queue_create(test, &cfg);
	for (i = 0; i < ARRAY_SIZE(rotors); i++) {
		tx_batch_reset(t);
		a = qs[0]->accepted;
		b = qs[1]->accepted;
		KUNIT_EXPECT_EQ(test, tx_copy(test, qs, 2, rotors[i], t, TX_LONG, TX_LONG), 0);
		KUNIT_EXPECT_EQ(test, tx_nr_copied(t), 4);
		/* One slot of four: one queue, one BATCH. */
		KUNIT_EXPECT_EQ(test, qs[0]->accepted - a + qs[1]->accepted - b, 1);
		first[i] = qs[0]->accepted != a;
	}
	KUNIT_EXPECT_NE(test, first[0], first[1]);
	KUNIT_EXPECT_EQ(test, first[0], first[2]);
	KUNIT_EXPECT_EQ(test, first[1], first[3]);
	KUNIT_EXPECT_EQ(test, first[1], first[4]);
}

/* A queue of no known node is farther than any queue of a known node. */
static void idxd_mig_test_no_node(struct kunit *test)
{
	struct tx_batch *t = tx_batch_create(test, tx_order0, 8, MR_DEMOTION);
	int nid = folio_nid(t->src[0]);
	struct tx_cfg cfg = tx_defaults(NUMA_NO_NODE, tx_param(test));
	struct tx_queue *qs[2];

	cfg.max_batch = 4;
	/* Unknown and far: the far one. */
	qs[0] = tx_queue_create(test, &cfg);
	cfg.node = tx_other_node(nid);
	qs[1] = tx_queue_create(test, &cfg);
	KUNIT_EXPECT_EQ(test, tx_copy(test, qs, 2, 0, t, TX_LONG, TX_LONG), 0);
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t), 8);
	KUNIT_EXPECT_EQ(test, qs[0]->accepted, 0);
	KUNIT_EXPECT_EQ(test, qs[1]->batches, 2);

	/* Only unknown ones: both are used. */
	tx_batch_reset(t);
	cfg.node = NUMA_NO_NODE;
	qs[0] = tx_queue_create(test, &cfg);
	qs[1] = tx_queue_create(test, &cfg);
	KUNIT_EXPECT_EQ(test, tx_copy(test, qs, 2, 0, t, TX_LONG, TX_LONG), 0);
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t), 8);
	KUNIT_EXPECT_EQ(test, qs[0]->batches, 1);
	KUNIT_EXPECT_EQ(test, qs[1]->batches, 1);

	/* Unknown and near: the near one. */
	tx_batch_reset(t);
	qs[0] = tx_queue_create(test, &cfg);
	cfg.node = nid;
	qs[1] = tx_queue_create(test, &cfg);
	KUNIT_EXPECT_EQ(test, tx_copy(test, qs, 2, 0, t, TX_LONG, TX_LONG), 0);
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t), 8);
	KUNIT_EXPECT_EQ(test, qs[0]->accepted, 0);
	KUNIT_EXPECT_EQ(test, qs[1]->batches, 2);
}

/* One copy uses IDXD_MIG_MAX_CHANS queues at most. */
static void idxd_mig_test_max_chans(struct kunit *test)
{
	const unsigned int nq = IDXD_MIG_MAX_CHANS + 1;
	struct tx_batch *t = tx_batch_create(test, tx_order0, nq, MR_DEMOTION);
	struct tx_cfg cfg = tx_defaults(folio_nid(t->src[0]), tx_param(test));
	struct tx_queue *qs[TX_MAX_QUEUES];
	unsigned int i, idle = 0, lone = 0;

	/* One slot of one MEMMOVE per queue. */
	cfg.nr_slots = 1;
	cfg.eng_batch = 1;
	cfg.depth = 2;
	for (i = 0; i < nq; i++)
		qs[i] = tx_queue_create(test, &cfg);
	KUNIT_EXPECT_EQ(test, tx_copy(test, qs, nq, 0, t, TX_LONG, TX_LONG), -EBUSY);
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t), IDXD_MIG_MAX_CHANS);
	for (i = 0; i < nq; i++) {
		idle += !qs[i]->accepted;
		lone += qs[i]->lone;
		KUNIT_EXPECT_EQ(test, qs[i]->batches, 0);
	}
	KUNIT_EXPECT_EQ(test, idle, 1);
	KUNIT_EXPECT_EQ(test, lone, IDXD_MIG_MAX_CHANS);
}

/*
 * Cache Control: the device checks every MEMMOVE against the policy (its
 * own capability, the reason, the destination's node against its own), so
 * here the count only makes sure both outcomes occur.
 */
static void idxd_mig_test_cache_control(struct kunit *test)
{
	static const struct {
		bool cache_control;
		int reason;
		bool local;
	} cases[] = {
		{ true, MR_NUMA_MISPLACED, true },
		{ true, MR_DEMOTION, true },
		{ false, MR_NUMA_MISPLACED, true },
		{ true, MR_NUMA_MISPLACED, false },
	};
	unsigned int c, i, expect;

	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		struct tx_batch *t = tx_batch_create(test, tx_order0, 8, cases[c].reason);
		struct tx_cfg cfg = tx_defaults(folio_nid(t->dst[0]), tx_param(test));
		struct tx_queue *x;

		if (!cases[c].local)
			cfg.node = tx_other_node(cfg.node);
		cfg.cache_control = cases[c].cache_control;
		x = tx_queue_create(test, &cfg);
		KUNIT_EXPECT_EQ(test, tx_copy1(test, x, t), 0);
		KUNIT_EXPECT_EQ(test, tx_nr_copied(t), 8);
		expect = 0;
		for (i = 0; i < 8; i++)
			expect += cases[c].cache_control && cases[c].reason == MR_NUMA_MISPLACED &&
				  folio_nid(t->dst[i]) == cfg.node;
		KUNIT_EXPECT_EQ_MSG(test, x->cc_entries, expect, "case %u", c);
		if (!c)
			KUNIT_EXPECT_GE(test, x->cc_entries, 1);
	}
}

/* The policy itself: CC only for NUMA balancing into the device's own node. */
static void idxd_mig_test_entry_flags(struct kunit *test)
{
	struct idxd_mig_chan ch = { .node = 1, .cache_control = true };
	const u32 rec = IDXD_OP_FLAG_CRAV | IDXD_OP_FLAG_RCR;

	KUNIT_EXPECT_EQ(test, idxd_mig_entry_flags(&ch, MR_NUMA_MISPLACED, 1),
			rec | IDXD_OP_FLAG_CC);
	KUNIT_EXPECT_EQ(test, idxd_mig_entry_flags(&ch, MR_NUMA_MISPLACED, 0), rec);
	KUNIT_EXPECT_EQ(test, idxd_mig_entry_flags(&ch, MR_DEMOTION, 1), rec);
	KUNIT_EXPECT_EQ(test, idxd_mig_entry_flags(&ch, MR_SYSCALL, 1), rec);
	ch.cache_control = false;
	KUNIT_EXPECT_EQ(test, idxd_mig_entry_flags(&ch, MR_NUMA_MISPLACED, 1), rec);
	ch.cache_control = true;
	ch.node = NUMA_NO_NODE;
	KUNIT_EXPECT_EQ(test, idxd_mig_entry_flags(&ch, MR_NUMA_MISPLACED, 0), rec);
}

/* Limits out of range and misaligned areas are refused; the layout is lists, then records. */
static void idxd_mig_test_chan_init(struct kunit *test)
{
	const dma_addr_t dma = TX_IOVA_BASE;
	struct idxd_mig_chan ch;
	void *area = kunit_kzalloc(test, SZ_1K, GFP_KERNEL);	/* 1 KB aligned */

	KUNIT_ASSERT_NOT_NULL(test, area);
	KUNIT_EXPECT_EQ(test, idxd_mig_area_size(2, 4), (size_t)2 * 4 * (64 + 32));

	memset(&ch, 0, sizeof(ch));
	KUNIT_EXPECT_EQ(test, idxd_mig_chan_init(&ch, area + 32, dma, 2, 4, PAGE_SIZE), -EINVAL);
	memset(&ch, 0, sizeof(ch));
	KUNIT_EXPECT_EQ(test, idxd_mig_chan_init(&ch, area, dma + 32, 2, 4, PAGE_SIZE), -EINVAL);
	memset(&ch, 0, sizeof(ch));
	KUNIT_EXPECT_EQ(test, idxd_mig_chan_init(&ch, area, dma, 0, 4, PAGE_SIZE), -EINVAL);
	memset(&ch, 0, sizeof(ch));
	KUNIT_EXPECT_EQ(test, idxd_mig_chan_init(&ch, area, dma, IDXD_MIG_MAX_SLOTS + 1, 4,
						 PAGE_SIZE), -EINVAL);
	memset(&ch, 0, sizeof(ch));
	KUNIT_EXPECT_EQ(test, idxd_mig_chan_init(&ch, area, dma, 2, 0, PAGE_SIZE), -EINVAL);
	memset(&ch, 0, sizeof(ch));
	KUNIT_EXPECT_EQ(test, idxd_mig_chan_init(&ch, area, dma, 2, 1025, PAGE_SIZE), -EINVAL);
	memset(&ch, 0, sizeof(ch));
	KUNIT_EXPECT_EQ(test, idxd_mig_chan_init(&ch, area, dma, 2, 4, PAGE_SIZE - 1), -EINVAL);

	/* The lists first, the records after them. */
	memset(&ch, 0, sizeof(ch));
	KUNIT_ASSERT_EQ(test, idxd_mig_chan_init(&ch, area, dma, 2, 4, SZ_64K), 0);
	KUNIT_EXPECT_PTR_EQ(test, (void *)ch.list, area);
	KUNIT_EXPECT_EQ(test, ch.list_dma, dma);
	KUNIT_EXPECT_PTR_EQ(test, (void *)ch.comps, area + 8 * 64);
	KUNIT_EXPECT_EQ(test, ch.comps_dma, dma + 8 * 64);
	KUNIT_EXPECT_EQ(test, ch.nr_slots, 2);
	KUNIT_EXPECT_EQ(test, ch.max_batch, 4);
	KUNIT_EXPECT_EQ(test, ch.max_xfer, SZ_64K);
	idxd_mig_chan_destroy(&ch);
}

/* A copy run from a thread of its own, so that two run at once. */
struct tx_copier {
	struct tx_queue **qs;
	unsigned int nq;
	unsigned int rotor;
	struct tx_batch *t;
	struct idxd_mig_limits lim;
	struct completion *go;
	struct completion done;
	int ret;
};

static int tx_copier(void *arg)
{
	struct idxd_mig_chan *chans[TX_MAX_QUEUES];
	struct tx_copier *c = arg;
	unsigned int i;

	for (i = 0; i < c->nq; i++)
		chans[i] = &c->qs[i]->ch;
	wait_for_completion(c->go);
	c->ret = idxd_mig_copy(chans, c->nq, c->rotor, &c->t->b, &c->lim);
	for (i = 0; i < c->nq; i++)
		tx_after_copy(c->qs[i], c->t);
	kthread_complete_and_exit(&c->done, 0);
}

/* Run @c[0] and @c[1] at once; returns how many could be started. */
static unsigned int tx_run_copiers(struct tx_copier *c)
{
	struct task_struct *th;
	struct completion go;
	unsigned int i, n;

	init_completion(&go);
	for (i = 0; i < 2; i++) {
		c[i].go = &go;
		init_completion(&c[i].done);
		th = kthread_run(tx_copier, &c[i], "txcopy%u", i);
		if (IS_ERR(th))
			break;
	}
	complete_all(&go);
	for (n = 0; n < i; n++)
		wait_for_completion(&c[n].done);
	return i;
}

/*
 * Two copies at once on the same two queues, each with its own batch,
 * round after round; on shared WQs, with the portals refusing now and then.
 */
static void idxd_mig_test_concurrent(struct kunit *test)
{
	static const unsigned int orders[] = { 0, 1, 0, 0, 2, 0, 0, 1, 0, 0, 0, 1, 0, 0, 2, 0 };
	const unsigned int nr = ARRAY_SIZE(orders);
	bool shared = tx_param(test);
	unsigned int round, i, copied = 0;
	struct tx_batch *t[2];
	struct tx_queue *qs[2];
	struct tx_copier *c;
	struct tx_cfg cfg;

	for (i = 0; i < 2; i++)
		t[i] = tx_batch_create(test, orders, nr, MR_DEMOTION);
	cfg = tx_defaults(folio_nid(t[0]->src[0]), true);
	cfg.max_batch = 4;
	cfg.nr_slots = 12;
	cfg.shared = shared;
	cfg.refuse_every = shared ? 3 : 0;
	qs[0] = tx_queue_create(test, &cfg);
	cfg.refuse_every = shared ? 5 : 0;
	cfg.pasid = 0;
	qs[1] = tx_queue_create(test, &cfg);
	c = kunit_kcalloc(test, 2, sizeof(*c), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);

	for (round = 0; round < 6; round++) {
		for (i = 0; i < 2; i++) {
			tx_batch_reset(t[i]);
			c[i].qs = qs;
			c[i].nq = 2;
			c[i].rotor = i;
			c[i].t = t[i];
			c[i].lim.timeout = TX_LONG;
			c[i].lim.settle = TX_LONG;
		}
		KUNIT_ASSERT_EQ(test, tx_run_copiers(c), 2);
		for (i = 0; i < 2; i++) {
			tx_check_data(test, t[i]);
			KUNIT_EXPECT_TRUE(test, bitmap_empty(t[i]->stuck, nr));
			if (shared) {
				KUNIT_EXPECT_TRUE_MSG(test, !c[i].ret || c[i].ret == -EBUSY ||
						      c[i].ret == -EAGAIN, "returned %d", c[i].ret);
			} else {
				KUNIT_EXPECT_EQ(test, c[i].ret, 0);
				KUNIT_EXPECT_EQ(test, tx_nr_copied(t[i]), nr);
			}
			copied += tx_nr_copied(t[i]);
		}
	}
	KUNIT_EXPECT_EQ(test, atomic_long_read(&qs[0]->ch.stats.folios) +
			      atomic_long_read(&qs[1]->ch.stats.folios), copied);
	for (i = 0; i < 2; i++)
		tx_expect_stats(test, qs[i], TX_ANY, TX_ANY, TX_ANY, 0, 0, 0);
	if (shared)
		KUNIT_EXPECT_GT(test, qs[0]->refusals + qs[1]->refusals, 0);
}

/* A shared WQ that refuses every other portal write: whatever the engine does, it is right. */
static void idxd_mig_test_swq_refusals(struct kunit *test)
{
	struct tx_batch *t = tx_batch_create(test, tx_order0, 24, MR_DEMOTION);
	struct tx_cfg cfg = tx_defaults(folio_nid(t->src[0]), tx_param(test));
	struct tx_queue *x;
	int ret;

	cfg.max_batch = 4;
	cfg.shared = true;
	cfg.refuse_every = 2;
	x = tx_queue_create(test, &cfg);
	ret = tx_copy1(test, x, t);
	KUNIT_EXPECT_TRUE_MSG(test, !ret || ret == -EBUSY || ret == -EAGAIN, "returned %d", ret);
	KUNIT_EXPECT_GT(test, x->refusals, 0);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(t->stuck, t->b.nr));
	tx_expect_stats(test, x, 1, tx_nr_copied(t), TX_ANY, 0, 0, 0);
}

/*
 * The device halts in the middle of a BATCH while the engine polls: three
 * of its entries done (and their records written), the fourth held, its
 * BATCH record never written.  -EIO, and none of that BATCH's folios is
 * claimed; the other two BATCHes completed before the halt.
 */
static void idxd_mig_test_halt(struct kunit *test)
{
	struct tx_batch *t = tx_batch_create(test, tx_order0, 12, MR_DEMOTION);
	struct tx_cfg cfg = tx_defaults(folio_nid(t->src[0]), tx_param(test));
	DECLARE_BITMAP(marked, TX_FOLIOS);
	struct tx_queue *x;

	cfg.max_batch = 4;
	x = tx_queue_create(test, &cfg);
	x->halt_after = 3;
	tx_hold(x, t->src[9], TX_HOLD_HALT_IDLE);
	KUNIT_EXPECT_EQ(test, tx_copy1(test, x, t), -EIO);
	KUNIT_EXPECT_TRUE(test, x->halted);
	KUNIT_EXPECT_EQ(test, x->entries, 11);
	tx_marked(x, t, marked);
	KUNIT_EXPECT_EQ(test, bitmap_weight(marked, TX_FOLIOS), 4);
	KUNIT_EXPECT_TRUE(test, test_bit(9, marked));
	KUNIT_EXPECT_FALSE(test, bitmap_intersects(marked, t->copied, TX_FOLIOS));
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t), 8);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(t->stuck, t->b.nr));
	KUNIT_EXPECT_FALSE(test, x->ch.wedged);
	tx_expect_stats(test, x, 1, 8, TX_ANY, 0, 1, 0);
}

/*
 * Timeout, settled by the Drain: the held BATCH runs only once a Drain is
 * queued behind it, so only a Drain ends the wait.  Nothing is stuck, the
 * queue is broken and not used again.
 */
static void idxd_mig_test_timeout_drain(struct kunit *test)
{
	struct tx_batch *t = tx_batch_create(test, tx_order0, 12, MR_DEMOTION);
	struct tx_batch *t2 = tx_batch_create(test, tx_order0, 4, MR_DEMOTION);
	struct tx_cfg cfg = tx_defaults(folio_nid(t->src[0]), true);
	struct tx_queue *x;

	cfg.max_batch = 4;
	x = tx_queue_create(test, &cfg);
	tx_hold(x, t->src[0], TX_HOLD_UNTIL_DRAIN);
	KUNIT_EXPECT_EQ(test, tx_copy(test, &x, 1, 0, t, TX_SHORT, TX_LONG), -ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, x->drain_accepted, 1);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(t->stuck, t->b.nr));
	KUNIT_EXPECT_TRUE(test, x->ch.broken);
	KUNIT_EXPECT_FALSE(test, x->ch.wedged);
	tx_expect_stats(test, x, 1, tx_nr_copied(t), TX_ANY, 1, 0, 0);

	KUNIT_EXPECT_EQ(test, tx_copy1(test, x, t2), -ENODEV);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(t2->copied, t2->b.nr));
	KUNIT_EXPECT_EQ(test, x->drain_accepted, 1);
}

/*
 * Timeout, settled by the late descriptors' own records: the portal
 * refuses every Drain, and the held BATCH runs once a Drain was tried.
 */
static void idxd_mig_test_timeout_late_records(struct kunit *test)
{
	struct tx_batch *t = tx_batch_create(test, tx_order0, 12, MR_DEMOTION);
	struct tx_cfg cfg = tx_defaults(folio_nid(t->src[0]), true);
	struct tx_queue *x;

	cfg.max_batch = 4;
	cfg.shared = true;
	cfg.refuse_drain = true;
	x = tx_queue_create(test, &cfg);
	tx_hold(x, t->src[0], TX_HOLD_UNTIL_DRAIN_TRY);
	KUNIT_EXPECT_EQ(test, tx_copy(test, &x, 1, 0, t, TX_SHORT, TX_LONG), -ETIMEDOUT);
	KUNIT_EXPECT_GE(test, x->drain_tries, 1);
	KUNIT_EXPECT_EQ(test, x->drain_accepted, 0);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(t->stuck, t->b.nr));
	KUNIT_EXPECT_TRUE(test, x->ch.broken);
	KUNIT_EXPECT_FALSE(test, x->ch.wedged);
	tx_expect_stats(test, x, 1, tx_nr_copied(t), TX_ANY, 1, 0, 0);
}

/*
 * Timeout on a device that never completes, never halts, and refuses the
 * Drain or never completes it.  Folio 0 spans two BATCHes: the first
 * completes, the one reading its sixth page never does.  The late folios
 * are stuck, never copied, still mapped (folio 0 too, though a completed
 * BATCH covers half of it), their slots busy, the queue wedged.  Another
 * queue still works.  Then the device completes after all, into memory
 * that is still mapped (no fault), and the test releases what the engine
 * left.
 */
static void idxd_mig_test_timeout_stuck(struct kunit *test)
{
	static const unsigned int orders[] = { 3, 0, 0, 0, 0, 0, 0, 0 };
	struct tx_batch *t = tx_batch_create(test, orders, ARRAY_SIZE(orders), MR_DEMOTION);
	struct tx_batch *t2 = tx_batch_create(test, tx_order0, 8, MR_DEMOTION);
	struct tx_cfg cfg = tx_defaults(folio_nid(t->src[0]), true);
	bool refused = tx_param(test);
	struct tx_queue *x, *qs[2];
	unsigned int i, nr_stuck;

	cfg.max_batch = 4;
	cfg.max_xfer = PAGE_SIZE;
	cfg.shared = refused;
	cfg.refuse_drain = refused;
	x = tx_queue_create(test, &cfg);
	x->hold_off = 5 * PAGE_SIZE;
	tx_hold(x, t->src[0], TX_HOLD_FOREVER);
	KUNIT_EXPECT_EQ(test, tx_copy(test, &x, 1, 0, t, TX_SHORT, TX_SHORT), -ETIMEDOUT);
	nr_stuck = bitmap_weight(t->stuck, t->b.nr);
	KUNIT_EXPECT_TRUE(test, test_bit(0, t->stuck));
	KUNIT_EXPECT_FALSE(test, bitmap_intersects(t->stuck, t->copied, t->b.nr));
	KUNIT_EXPECT_TRUE(test, x->ch.wedged);
	KUNIT_EXPECT_TRUE(test, x->ch.broken);
	KUNIT_EXPECT_NE(test, x->ch.busy, 0);
	for (i = 0; i < t->b.nr; i++) {
		KUNIT_EXPECT_EQ_MSG(test, tx_mapped(x, t->src[i]), test_bit(i, t->stuck),
				    "source %u", i);
		KUNIT_EXPECT_EQ_MSG(test, tx_mapped(x, t->dst[i]), test_bit(i, t->stuck),
				    "destination %u", i);
	}
	KUNIT_EXPECT_GE(test, x->drain_tries, 1);
	KUNIT_EXPECT_EQ(test, tx_drain_queued(x), !refused);
	KUNIT_EXPECT_EQ(test, READ_ONCE(x->ch.draining) != 0, !refused);
	tx_expect_stats(test, x, 1, tx_nr_copied(t), TX_ANY, 1, 0, nr_stuck);
	KUNIT_EXPECT_EQ_MSG(test, x->nr_errors, 0, "first: %s", x->first);

	/* Another queue takes the next batch; the wedged one is left alone. */
	cfg.shared = false;
	cfg.refuse_drain = false;
	qs[0] = x;
	qs[1] = tx_queue_create(test, &cfg);
	i = x->portal_writes;
	KUNIT_EXPECT_EQ(test, tx_copy(test, qs, 2, 0, t2, TX_LONG, TX_LONG), 0);
	KUNIT_EXPECT_EQ(test, tx_nr_copied(t2), 8);
	KUNIT_EXPECT_EQ(test, x->portal_writes, i);
	tx_expect_stats(test, qs[1], 1, 8, 0, 0, 0, 0);

	/* The device completes after all: into live mappings, without a fault. */
	KUNIT_ASSERT_TRUE(test, tx_complete_late(x));
	KUNIT_EXPECT_EQ_MSG(test, x->nr_errors, 0, "first: %s", x->first);
	KUNIT_EXPECT_EQ(test, tx_release_wedged(x), 2 * nr_stuck);
}

/*
 * Two copies time out on the same queue at once, on a device that never
 * completes their held BATCHes: one copy queues the Drain (which never
 * completes either), the other must not take it while it is queued.  Both
 * give up their late folios as stuck.
 */
static void idxd_mig_test_timeout_two_copies(struct kunit *test)
{
	struct tx_batch *t[2];
	struct tx_copier *c;
	struct tx_queue *x;
	struct tx_cfg cfg;
	unsigned int i, nr_stuck = 0;

	for (i = 0; i < 2; i++)
		t[i] = tx_batch_create(test, tx_order0, 8, MR_DEMOTION);
	cfg = tx_defaults(folio_nid(t[0]->src[0]), true);
	cfg.max_batch = 4;
	x = tx_queue_create(test, &cfg);
	tx_hold(x, t[0]->src[0], TX_HOLD_FOREVER);
	tx_hold(x, t[1]->src[0], TX_HOLD_FOREVER);
	c = kunit_kcalloc(test, 2, sizeof(*c), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	for (i = 0; i < 2; i++) {
		c[i].qs = &x;
		c[i].nq = 1;
		c[i].t = t[i];
		c[i].lim.timeout = TX_SHORT;
		c[i].lim.settle = HZ / 2;
	}
	KUNIT_ASSERT_EQ(test, tx_run_copiers(c), 2);
	for (i = 0; i < 2; i++) {
		tx_check_data(test, t[i]);
		KUNIT_EXPECT_EQ(test, c[i].ret, -ETIMEDOUT);
		KUNIT_EXPECT_TRUE(test, test_bit(0, t[i]->stuck));
		nr_stuck += bitmap_weight(t[i]->stuck, t[i]->b.nr);
	}
	KUNIT_EXPECT_EQ(test, x->drain_accepted, 1);
	KUNIT_EXPECT_TRUE(test, tx_drain_queued(x));
	KUNIT_EXPECT_NE(test, READ_ONCE(x->ch.draining), 0);
	KUNIT_EXPECT_TRUE(test, x->ch.wedged);
	tx_expect_stats(test, x, 2, TX_ANY, TX_ANY, 2, 0, nr_stuck);
	KUNIT_EXPECT_EQ_MSG(test, x->nr_errors, 0, "first: %s", x->first);

	KUNIT_ASSERT_TRUE(test, tx_complete_late(x));
	KUNIT_EXPECT_EQ(test, tx_release_wedged(x), 2 * nr_stuck);
}

/* The device halts while the Drain is queued: the copy ends, nothing stuck. */
static void idxd_mig_test_timeout_halt(struct kunit *test)
{
	struct tx_batch *t = tx_batch_create(test, tx_order0, 12, MR_DEMOTION);
	struct tx_cfg cfg = tx_defaults(folio_nid(t->src[0]), true);
	struct tx_queue *x;

	cfg.max_batch = 4;
	x = tx_queue_create(test, &cfg);
	tx_hold(x, t->src[0], TX_HOLD_HALT_ON_DRAIN);
	KUNIT_EXPECT_EQ(test, tx_copy(test, &x, 1, 0, t, TX_SHORT, TX_LONG), -ETIMEDOUT);
	KUNIT_EXPECT_TRUE(test, x->halted);
	KUNIT_EXPECT_EQ(test, x->drain_accepted, 1);
	KUNIT_EXPECT_FALSE(test, test_bit(0, t->copied));
	KUNIT_EXPECT_TRUE(test, bitmap_empty(t->stuck, t->b.nr));
	KUNIT_EXPECT_FALSE(test, x->ch.wedged);
	KUNIT_EXPECT_EQ(test, x->ch.busy, 0);
	tx_expect_stats(test, x, 1, tx_nr_copied(t), TX_ANY, 1, TX_ANY, 0);
}

static int tx_init(struct kunit *test)
{
	struct tx_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	INIT_LIST_HEAD(&ctx->queues);
	test->priv = ctx;
	return 0;
}

/* Every queue a test made is checked when it ends, whatever the test asserted. */
static void tx_exit(struct kunit *test)
{
	struct tx_ctx *ctx = test->priv;
	struct tx_queue *x;

	list_for_each_entry(x, &ctx->queues, node)
		tx_queue_check(test, x);
}

static struct kunit_case idxd_mig_test_cases[] = {
	KUNIT_CASE_PARAM(idxd_mig_test_chunking, tx_mode_gen_params),
	KUNIT_CASE_PARAM(idxd_mig_test_xfer_split, tx_mode_gen_params),
	KUNIT_CASE_PARAM(idxd_mig_test_single, tx_mode_gen_params),
	KUNIT_CASE_PARAM(idxd_mig_test_page_fault, tx_mode_gen_params),
	KUNIT_CASE_PARAM(idxd_mig_test_batch_fail, tx_mode_gen_params),
	KUNIT_CASE_PARAM(idxd_mig_test_wq_limits, tx_mode_gen_params),
	KUNIT_CASE_PARAM(idxd_mig_test_map_error, tx_mode_gen_params),
	KUNIT_CASE_PARAM(idxd_mig_test_exhaustion, tx_mode_gen_params),
	KUNIT_CASE_PARAM(idxd_mig_test_near_queues, tx_mode_gen_params),
	KUNIT_CASE_PARAM(idxd_mig_test_rotation, tx_mode_gen_params),
	KUNIT_CASE_PARAM(idxd_mig_test_no_node, tx_mode_gen_params),
	KUNIT_CASE_PARAM(idxd_mig_test_max_chans, tx_mode_gen_params),
	KUNIT_CASE_PARAM(idxd_mig_test_cache_control, tx_mode_gen_params),
	KUNIT_CASE(idxd_mig_test_entry_flags),
	KUNIT_CASE(idxd_mig_test_chan_init),
	KUNIT_CASE_PARAM(idxd_mig_test_concurrent, tx_wq_type_gen_params),
	KUNIT_CASE_PARAM(idxd_mig_test_swq_refusals, tx_mode_gen_params),
	KUNIT_CASE_PARAM(idxd_mig_test_halt, tx_mode_gen_params),
	KUNIT_CASE(idxd_mig_test_timeout_drain),
	KUNIT_CASE(idxd_mig_test_timeout_late_records),
	KUNIT_CASE_PARAM(idxd_mig_test_timeout_stuck, tx_stuck_drain_gen_params),
	KUNIT_CASE(idxd_mig_test_timeout_two_copies),
	KUNIT_CASE(idxd_mig_test_timeout_halt),
	{}
};

static struct kunit_suite idxd_mig_test_suite = {
	.name = "idxd_migrate_copy",
	.init = tx_init,
	.exit = tx_exit,
	.test_cases = idxd_mig_test_cases,
};

kunit_test_suite(idxd_mig_test_suite);

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
MODULE_DESCRIPTION("KUnit tests of the DSA migrator's copy engine");
MODULE_LICENSE("GPL");
