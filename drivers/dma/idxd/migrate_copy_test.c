// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the DSA migrator's copy engine (migrate_copy.c).
 *
 * QEMU has no DSA model, so the tests give the engine channels whose
 * "device" is a software executor of DSA descriptors: it reads the
 * descriptors the engine submits, runs MEMMOVE, BATCH and DRAIN as the DSA
 * specification and include/uapi/linux/idxd.h define them (status codes,
 * bytes_completed, batch failure, descriptor count and list alignment
 * checks), and writes the completion records, status last.  It completes
 * descriptors out of order (the last submitted first, one per poll), and
 * can inject page faults with partial completion, failed batches,
 * descriptors that never complete, a halted device, mapping errors and
 * descriptor exhaustion.  Device addresses are kernel virtual addresses.
 *
 * Every test checks, per folio, the result bit against the data: a folio
 * reported copied must equal its source, and one whose copy failed must
 * not be reported.  The executor also checks that the engine never
 * releases a descriptor the device may still write, and that every mapping
 * is undone.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/gfp.h>
#include <linux/migrate_copy_offload.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "migrate.h"

#define TX_DESCS	32
#define TX_LONG		(10 * HZ)	/* a deadline the tests never reach */

struct tx_desc {
	struct dsa_hw_desc hw;
	struct dsa_completion_record comp __aligned(32);
	bool busy;
	bool pending;
};

/* What descriptors that cover stuck_src do. */
enum tx_stuck {
	TX_STUCK_UNTIL_DRAIN,	/* complete when a drain is submitted behind them */
	TX_STUCK_HALT_ON_DRAIN,	/* never; the device halts when drained */
	TX_STUCK_HALT,		/* never; the device halts once nothing else is left */
};

struct tx_queue {
	struct idxd_mig_chan ch;
	struct kunit *test;
	struct tx_desc desc[TX_DESCS];
	unsigned int nr_desc;		/* descriptors get() may hand out */
	struct tx_desc *pending[TX_DESCS + 1];
	unsigned int nr_pending;
	struct tx_desc drain;
	void *area;
	size_t area_size;
	bool halted;
	/* Injections: kernel addresses inside a source folio. */
	void *fault_src;		/* a MEMMOVE reading it stops there */
	void *fail_src;			/* a BATCH holding it fails as a whole */
	void *stuck_src;		/* the top descriptor holding it hangs */
	enum tx_stuck stuck;
	int map_fail;			/* fail the map of this folio index */
	int maps_done;
	/* What the device saw. */
	unsigned int batches, memmoves, drains, max_count;
	long mapped;
	u32 entry_flags;
};

static void *tx_ptr(u64 addr)
{
	return (void *)(unsigned long)addr;
}

static bool tx_covers(struct dsa_hw_desc *d, void *p)
{
	return p && tx_ptr(d->src_addr) <= p && p < tx_ptr(d->src_addr) + d->xfer_size;
}

/* Write a completion record the way the device does: status last. */
static void tx_complete(u64 addr, u8 status, u32 bytes, u64 fault)
{
	struct dsa_completion_record *c = tx_ptr(addr);

	c->bytes_completed = bytes;
	c->fault_addr = fault;
	/* The engine reads the record once it sees the status. */
	wmb();
	WRITE_ONCE(c->status, status);
}

static u8 tx_memmove(struct tx_queue *x, struct dsa_hw_desc *d)
{
	u32 len = d->xfer_size, done = len;
	u8 status = DSA_COMP_SUCCESS;
	u64 fault = 0;

	x->memmoves++;
	x->entry_flags = d->flags;
	if (d->opcode != DSA_OPCODE_MEMMOVE) {
		status = DSA_COMP_BAD_OPCODE;
		done = 0;
	} else if (!len || len > x->ch.max_xfer) {
		status = DSA_COMP_XFER_ERANGE;
		done = 0;
	} else if (tx_covers(d, x->fault_src)) {
		/* A page fault without Block on Fault: a partial completion. */
		done = x->fault_src - tx_ptr(d->src_addr);
		fault = (u64)(unsigned long)x->fault_src;
		status = DSA_COMP_PAGE_FAULT_NOBOF;
	}
	memcpy(tx_ptr(d->dst_addr), tx_ptr(d->src_addr), done);
	if ((d->flags & (IDXD_OP_FLAG_CRAV | IDXD_OP_FLAG_RCR)) ==
	    (IDXD_OP_FLAG_CRAV | IDXD_OP_FLAG_RCR))
		tx_complete(d->completion_addr, status, done, fault);
	return status;
}

static void tx_batch(struct tx_queue *x, struct dsa_hw_desc *d)
{
	struct dsa_hw_desc *list = tx_ptr(d->desc_list_addr);
	unsigned int i, ok = 0;
	u8 status;

	x->batches++;
	x->max_count = max(x->max_count, d->desc_count);
	if (d->desc_count < 2 || d->desc_count > x->ch.max_batch) {
		status = DSA_COMP_DESC_CNT_ERANGE;
	} else if (d->desc_list_addr & 63) {
		status = DSA_COMP_DESCLIST_ALIGN;
	} else if (x->fail_src && tx_covers(&list[0], x->fail_src)) {
		status = DSA_COMP_HW_ERR1;
	} else {
		for (i = 0; i < d->desc_count; i++)
			if (tx_memmove(x, &list[i]) == DSA_COMP_SUCCESS)
				ok++;
		status = ok == d->desc_count ? DSA_COMP_SUCCESS : DSA_COMP_BATCH_FAIL;
	}
	tx_complete(d->completion_addr, status, ok, 0);
}

static bool tx_is_stuck(struct tx_queue *x, struct tx_desc *t)
{
	struct dsa_hw_desc *d = &t->hw, *list;
	unsigned int i;

	if (!x->stuck_src || d->opcode == DSA_OPCODE_DRAIN)
		return false;
	if (d->opcode != DSA_OPCODE_BATCH)
		return tx_covers(d, x->stuck_src);
	list = tx_ptr(d->desc_list_addr);
	for (i = 0; i < d->desc_count; i++)
		if (tx_covers(&list[i], x->stuck_src))
			return true;
	return false;
}

static void tx_execute(struct tx_queue *x, unsigned int i)
{
	struct tx_desc *t = x->pending[i];

	memmove(&x->pending[i], &x->pending[i + 1], (x->nr_pending - i - 1) * sizeof(t));
	x->nr_pending--;
	t->pending = false;
	if (t->hw.opcode == DSA_OPCODE_BATCH)
		tx_batch(x, &t->hw);
	else if (t->hw.opcode == DSA_OPCODE_DRAIN)
		tx_complete(t->hw.completion_addr, DSA_COMP_SUCCESS, 0, 0);
	else
		tx_memmove(x, &t->hw);
}

/*
 * One step of the device, run at each poll: the newest runnable
 * descriptor completes, so completions come out of order.  A drain runs
 * only once everything submitted before it has.
 */
static bool tx_alive(struct idxd_mig_chan *ch)
{
	struct tx_queue *x = container_of(ch, struct tx_queue, ch);
	int i;

	if (x->halted)
		return false;
	if (x->nr_pending && x->pending[x->nr_pending - 1]->hw.opcode == DSA_OPCODE_DRAIN) {
		for (i = x->nr_pending - 2; i >= 0; i--) {
			if (!tx_is_stuck(x, x->pending[i]))
				tx_execute(x, i);
			else if (x->stuck == TX_STUCK_UNTIL_DRAIN)
				tx_execute(x, i);
			else
				goto halt;
		}
		x->drains++;
		tx_execute(x, 0);
		return true;
	}
	for (i = x->nr_pending - 1; i >= 0; i--) {
		if (!tx_is_stuck(x, x->pending[i])) {
			tx_execute(x, i);
			return true;
		}
	}
	if (x->nr_pending && x->stuck == TX_STUCK_HALT)
		goto halt;
	return true;
halt:
	x->halted = true;
	return false;
}

static int tx_map(struct idxd_mig_chan *ch, struct folio *folio,
		  enum dma_data_direction dir, dma_addr_t *addr)
{
	struct tx_queue *x = container_of(ch, struct tx_queue, ch);

	/* Two maps per folio: source, then destination. */
	if (x->map_fail >= 0 && x->maps_done++ / 2 == x->map_fail && dir == DMA_FROM_DEVICE)
		return -ENOMEM;
	x->mapped++;
	*addr = (dma_addr_t)(unsigned long)folio_address(folio);
	return 0;
}

static void tx_unmap(struct idxd_mig_chan *ch, dma_addr_t addr, size_t size,
		     enum dma_data_direction dir)
{
	struct tx_queue *x = container_of(ch, struct tx_queue, ch);

	x->mapped--;
}

static int tx_get(struct idxd_mig_chan *ch, struct idxd_mig_sub *sub)
{
	struct tx_queue *x = container_of(ch, struct tx_queue, ch);
	unsigned int i;

	for (i = 0; i < x->nr_desc; i++) {
		struct tx_desc *t = &x->desc[i];

		if (t->busy)
			continue;
		memset(&t->hw, 0, sizeof(t->hw));
		memset(&t->comp, 0, sizeof(t->comp));
		t->busy = true;
		sub->hw = &t->hw;
		sub->comp = &t->comp;
		sub->comp_dma = (dma_addr_t)(unsigned long)&t->comp;
		sub->cookie = t;
		return 0;
	}
	return -EAGAIN;
}

static int tx_submit(struct idxd_mig_chan *ch, struct idxd_mig_sub *sub)
{
	struct tx_queue *x = container_of(ch, struct tx_queue, ch);
	struct tx_desc *t = sub->cookie;

	if (x->halted)
		return -EIO;
	if (WARN_ON(x->nr_pending == ARRAY_SIZE(x->pending)))
		return -EBUSY;
	t->pending = true;
	x->pending[x->nr_pending++] = t;
	return 0;
}

static void tx_put(struct idxd_mig_chan *ch, struct idxd_mig_sub *sub)
{
	struct tx_queue *x = container_of(ch, struct tx_queue, ch);
	struct tx_desc *t = sub->cookie;

	KUNIT_EXPECT_TRUE(x->test, t->busy);
	/* The device may still write a pending descriptor's record. */
	KUNIT_EXPECT_TRUE_MSG(x->test, !t->pending || x->halted,
			      "descriptor released while the device may still write it");
	t->busy = false;
}

static const struct idxd_mig_chan_ops tx_ops = {
	.map = tx_map,
	.unmap = tx_unmap,
	.get = tx_get,
	.submit = tx_submit,
	.put = tx_put,
	.alive = tx_alive,
};

static struct tx_queue *tx_queue_create(struct kunit *test, unsigned int nr_slots,
					unsigned int max_batch, u32 max_xfer, int node)
{
	struct tx_queue *x = kunit_kzalloc(test, sizeof(*x), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, x);
	x->test = test;
	x->nr_desc = TX_DESCS;
	x->map_fail = -1;
	x->ch.ops = &tx_ops;
	x->ch.node = node;
	x->ch.name = "tx";
	x->area_size = idxd_mig_area_size(nr_slots, max_batch);
	x->area = alloc_pages_exact(x->area_size, GFP_KERNEL | __GFP_ZERO);
	KUNIT_ASSERT_NOT_NULL(test, x->area);
	KUNIT_ASSERT_EQ(test, idxd_mig_chan_init(&x->ch, x->area,
						 (dma_addr_t)(unsigned long)x->area,
						 nr_slots, max_batch, max_xfer), 0);
	x->ch.drain.hw = &x->drain.hw;
	x->ch.drain.comp = &x->drain.comp;
	x->ch.drain.comp_dma = (dma_addr_t)(unsigned long)&x->drain.comp;
	x->ch.drain.cookie = &x->drain;
	return x;
}

static void tx_queue_destroy(struct tx_queue *x)
{
	unsigned int i;

	KUNIT_EXPECT_EQ(x->test, x->mapped, 0);
	KUNIT_EXPECT_EQ(x->test, x->ch.busy, 0);
	for (i = 0; i < TX_DESCS; i++)
		KUNIT_EXPECT_FALSE(x->test, x->desc[i].busy);
	idxd_mig_chan_destroy(&x->ch);
	free_pages_exact(x->area, x->area_size);
}

/* A batch of @nr folios of the given orders, sources filled, destinations zeroed. */
struct tx_batch {
	struct migrate_copy_batch b;
	struct folio *src[64], *dst[64];
	unsigned long copied[BITS_TO_LONGS(64)];
};

static struct tx_batch *tx_batch_create(struct kunit *test, const unsigned int *orders,
					unsigned int nr)
{
	struct tx_batch *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_ASSERT_LE(test, nr, ARRAY_SIZE(t->src));
	for (i = 0; i < nr; i++) {
		t->src[i] = folio_alloc(GFP_KERNEL, orders[i]);
		t->dst[i] = folio_alloc(GFP_KERNEL | __GFP_ZERO, orders[i]);
		KUNIT_ASSERT_NOT_NULL(test, t->src[i]);
		KUNIT_ASSERT_NOT_NULL(test, t->dst[i]);
		memset(folio_address(t->src[i]), 0x40 + i, folio_size(t->src[i]));
		t->b.bytes += folio_size(t->src[i]);
	}
	t->b.src = t->src;
	t->b.dst = t->dst;
	t->b.copied = t->copied;
	t->b.nr = nr;
	t->b.reason = MR_DEMOTION;
	return t;
}

static void tx_batch_destroy(struct tx_batch *t)
{
	unsigned int i;

	for (i = 0; i < t->b.nr; i++) {
		folio_put(t->src[i]);
		folio_put(t->dst[i]);
	}
}

/* Every folio reported copied holds its source's data; returns how many. */
static unsigned int tx_check(struct kunit *test, struct tx_batch *t)
{
	unsigned int i, n = 0;

	for (i = 0; i < t->b.nr; i++) {
		if (!test_bit(i, t->copied))
			continue;
		KUNIT_EXPECT_EQ_MSG(test, memcmp(folio_address(t->src[i]), folio_address(t->dst[i]),
						 folio_size(t->src[i])), 0,
				    "folio %u reported copied but differs", i);
		n++;
	}
	return n;
}

static const unsigned int order0[64];

/* 40 pages, 8 per BATCH: five batches, all copied, out of order. */
static void idxd_mig_test_chunking(struct kunit *test)
{
	struct tx_queue *x = tx_queue_create(test, 8, 8, SZ_2M, 0);
	struct idxd_mig_chan *ch = &x->ch;
	struct tx_batch *t = tx_batch_create(test, order0, 40);

	KUNIT_EXPECT_EQ(test, idxd_mig_copy(&ch, 1, &t->b, TX_LONG), 0);
	KUNIT_EXPECT_EQ(test, tx_check(test, t), 40);
	KUNIT_EXPECT_EQ(test, x->batches, 5);
	KUNIT_EXPECT_EQ(test, x->max_count, 8);
	KUNIT_EXPECT_EQ(test, x->memmoves, 40);
	/* Completion records requested; no cache allocation across nodes is tested below. */
	KUNIT_EXPECT_TRUE(test, x->entry_flags & IDXD_OP_FLAG_CRAV);
	KUNIT_EXPECT_TRUE(test, x->entry_flags & IDXD_OP_FLAG_RCR);
	tx_batch_destroy(t);
	tx_queue_destroy(x);
}

/* Folios larger than the transfer size: split, and batches split across folios. */
static void idxd_mig_test_xfer_split(struct kunit *test)
{
	static const unsigned int orders[] = { 3, 0, 2, 4, 1 };
	struct tx_queue *x = tx_queue_create(test, 16, 4, PAGE_SIZE, 0);
	struct idxd_mig_chan *ch = &x->ch;
	struct tx_batch *t = tx_batch_create(test, orders, ARRAY_SIZE(orders));

	KUNIT_EXPECT_EQ(test, idxd_mig_copy(&ch, 1, &t->b, TX_LONG), 0);
	KUNIT_EXPECT_EQ(test, tx_check(test, t), ARRAY_SIZE(orders));
	/* 8 + 1 + 4 + 16 + 2 = 31 pages, one MEMMOVE each, in 8 slots. */
	KUNIT_EXPECT_EQ(test, x->memmoves, 31);
	KUNIT_EXPECT_EQ(test, x->max_count, 4);
	KUNIT_EXPECT_EQ(test, x->batches, 8);	/* 7 of 4 entries, 1 of 3 */
	tx_batch_destroy(t);
	tx_queue_destroy(x);
}

/* One folio: the MEMMOVE is submitted alone (a BATCH needs two entries). */
static void idxd_mig_test_single(struct kunit *test)
{
	static const unsigned int orders[] = { 2 };
	struct tx_queue *x = tx_queue_create(test, 4, 32, SZ_2M, 0);
	struct idxd_mig_chan *ch = &x->ch;
	struct tx_batch *t = tx_batch_create(test, orders, 1);

	KUNIT_EXPECT_EQ(test, idxd_mig_copy(&ch, 1, &t->b, TX_LONG), 0);
	KUNIT_EXPECT_EQ(test, tx_check(test, t), 1);
	KUNIT_EXPECT_EQ(test, x->batches, 0);
	KUNIT_EXPECT_EQ(test, x->memmoves, 1);
	tx_batch_destroy(t);
	tx_queue_destroy(x);
}

/* A page fault half way through one folio: only that folio is left to the CPU. */
static void idxd_mig_test_page_fault(struct kunit *test)
{
	static const unsigned int orders[] = { 0, 2, 0, 1, 0, 0 };
	struct tx_queue *x = tx_queue_create(test, 4, 8, SZ_2M, 0);
	struct idxd_mig_chan *ch = &x->ch;
	struct tx_batch *t = tx_batch_create(test, orders, ARRAY_SIZE(orders));

	x->fault_src = folio_address(t->src[1]) + 3 * PAGE_SIZE / 2;
	idxd_mig_copy(&ch, 1, &t->b, TX_LONG);
	KUNIT_EXPECT_EQ(test, tx_check(test, t), 5);
	KUNIT_EXPECT_FALSE(test, test_bit(1, t->copied));
	/* The partial copy really happened, and was not trusted. */
	KUNIT_EXPECT_EQ(test, *(u8 *)folio_address(t->dst[1]), 0x41);
	tx_batch_destroy(t);
	tx_queue_destroy(x);
}

/* A BATCH that fails as a whole (a hardware error) fails its folios only. */
static void idxd_mig_test_batch_fail(struct kunit *test)
{
	struct tx_queue *x = tx_queue_create(test, 8, 4, SZ_2M, 0);
	struct idxd_mig_chan *ch = &x->ch;
	struct tx_batch *t = tx_batch_create(test, order0, 12);
	unsigned int i;

	x->fail_src = folio_address(t->src[4]);
	idxd_mig_copy(&ch, 1, &t->b, TX_LONG);
	KUNIT_EXPECT_EQ(test, tx_check(test, t), 8);
	for (i = 4; i < 8; i++)
		KUNIT_EXPECT_FALSE(test, test_bit(i, t->copied));
	tx_batch_destroy(t);
	tx_queue_destroy(x);
}

/*
 * A descriptor that never completes: after the deadline the queue is
 * drained before anything is released, the late folios are left to the
 * CPU, the others are copied, and the queue is not used again.
 */
static void idxd_mig_test_timeout(struct kunit *test)
{
	struct tx_queue *x = tx_queue_create(test, 8, 4, SZ_2M, 0);
	struct idxd_mig_chan *ch = &x->ch;
	struct tx_batch *t = tx_batch_create(test, order0, 12);
	unsigned int i;

	x->stuck_src = folio_address(t->src[0]);
	x->stuck = TX_STUCK_UNTIL_DRAIN;
	KUNIT_EXPECT_EQ(test, idxd_mig_copy(&ch, 1, &t->b, HZ / 10), -ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, x->drains, 1);
	KUNIT_EXPECT_EQ(test, x->nr_pending, 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ch->timeouts), 1);
	/* The late batch completed during the drain, but after the deadline. */
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_TRUE(test, !test_bit(i, t->copied) ||
				  !memcmp(folio_address(t->src[i]), folio_address(t->dst[i]),
					  PAGE_SIZE));
	KUNIT_EXPECT_GE(test, tx_check(test, t), 8);
	KUNIT_EXPECT_TRUE(test, ch->broken);

	bitmap_zero(t->copied, t->b.nr);
	KUNIT_EXPECT_EQ(test, idxd_mig_copy(&ch, 1, &t->b, TX_LONG), -ENODEV);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(t->copied, t->b.nr));
	tx_batch_destroy(t);
	tx_queue_destroy(x);
}

/* A device that halts, while polled or while drained, never hangs a copy. */
static void idxd_mig_test_halt(struct kunit *test)
{
	static const enum tx_stuck modes[] = { TX_STUCK_HALT, TX_STUCK_HALT_ON_DRAIN };
	unsigned int m;

	for (m = 0; m < ARRAY_SIZE(modes); m++) {
		struct tx_queue *x = tx_queue_create(test, 8, 4, SZ_2M, 0);
		struct idxd_mig_chan *ch = &x->ch;
		struct tx_batch *t = tx_batch_create(test, order0, 12);
		int ret;

		x->stuck_src = folio_address(t->src[8]);
		x->stuck = modes[m];
		ret = idxd_mig_copy(&ch, 1, &t->b, HZ / 10);
		KUNIT_EXPECT_TRUE(test, x->halted);
		KUNIT_EXPECT_TRUE(test, ret == -EIO || ret == -ETIMEDOUT);
		KUNIT_EXPECT_EQ(test, tx_check(test, t), 8);
		KUNIT_EXPECT_FALSE(test, test_bit(8, t->copied));
		tx_batch_destroy(t);
		tx_queue_destroy(x);
	}
}

/* More folios than slots, or than descriptors: the rest go to the CPU. */
static void idxd_mig_test_exhaustion(struct kunit *test)
{
	struct tx_queue *x = tx_queue_create(test, 2, 4, SZ_2M, 0);
	struct idxd_mig_chan *ch = &x->ch;
	struct tx_batch *t = tx_batch_create(test, order0, 20);

	/* Two slots of four entries. */
	KUNIT_EXPECT_EQ(test, idxd_mig_copy(&ch, 1, &t->b, TX_LONG), -EBUSY);
	KUNIT_EXPECT_EQ(test, tx_check(test, t), 8);
	tx_queue_destroy(x);

	/* Plenty of slots, one descriptor. */
	x = tx_queue_create(test, 8, 4, SZ_2M, 0);
	ch = &x->ch;
	x->nr_desc = 1;
	bitmap_zero(t->copied, t->b.nr);
	idxd_mig_copy(&ch, 1, &t->b, TX_LONG);
	KUNIT_EXPECT_EQ(test, tx_check(test, t), 4);
	tx_batch_destroy(t);
	tx_queue_destroy(x);
}

/* A mapping error leaves that folio to the CPU. */
static void idxd_mig_test_map_error(struct kunit *test)
{
	struct tx_queue *x = tx_queue_create(test, 8, 4, SZ_2M, 0);
	struct idxd_mig_chan *ch = &x->ch;
	struct tx_batch *t = tx_batch_create(test, order0, 10);

	x->map_fail = 3;
	KUNIT_EXPECT_EQ(test, idxd_mig_copy(&ch, 1, &t->b, TX_LONG), 0);
	KUNIT_EXPECT_EQ(test, tx_check(test, t), 9);
	KUNIT_EXPECT_FALSE(test, test_bit(3, t->copied));
	tx_batch_destroy(t);
	tx_queue_destroy(x);
}

/* Two queues on the source's node share the work; a far one is left alone. */
static void idxd_mig_test_two_queues(struct kunit *test)
{
	struct tx_batch *t = tx_batch_create(test, order0, 16);
	int nid = folio_nid(t->src[0]);
	struct tx_queue *a = tx_queue_create(test, 8, 4, SZ_2M, nid);
	struct tx_queue *b = tx_queue_create(test, 8, 4, SZ_2M, nid);
	struct tx_queue *far = tx_queue_create(test, 8, 4, SZ_2M, nid + 1);
	struct idxd_mig_chan *chans[] = { &far->ch, &a->ch, &b->ch };

	KUNIT_EXPECT_EQ(test, idxd_mig_copy(chans, 3, &t->b, TX_LONG), 0);
	KUNIT_EXPECT_EQ(test, tx_check(test, t), 16);
	KUNIT_EXPECT_EQ(test, a->batches, 2);
	KUNIT_EXPECT_EQ(test, b->batches, 2);
	KUNIT_EXPECT_EQ(test, far->batches, 0);

	/* With the near queues broken, the far one does it all. */
	a->ch.broken = true;
	b->ch.broken = true;
	bitmap_zero(t->copied, t->b.nr);
	KUNIT_EXPECT_EQ(test, idxd_mig_copy(chans, 3, &t->b, TX_LONG), 0);
	KUNIT_EXPECT_EQ(test, tx_check(test, t), 16);
	KUNIT_EXPECT_EQ(test, far->batches, 4);
	tx_batch_destroy(t);
	tx_queue_destroy(a);
	tx_queue_destroy(b);
	tx_queue_destroy(far);
}

/* No cache allocation for data that leaves its node; limits are checked. */
static void idxd_mig_test_flags_and_limits(struct kunit *test)
{
	struct idxd_mig_chan ch = { };
	void *area = alloc_pages_exact(PAGE_SIZE, GFP_KERNEL);

	KUNIT_EXPECT_FALSE(test, idxd_mig_entry_flags(0, 1) & IDXD_OP_FLAG_CC);
	KUNIT_EXPECT_TRUE(test, idxd_mig_entry_flags(1, 1) & IDXD_OP_FLAG_CC);
	KUNIT_EXPECT_TRUE(test, idxd_mig_entry_flags(0, 1) & IDXD_OP_FLAG_RCR);

	KUNIT_ASSERT_NOT_NULL(test, area);
	KUNIT_EXPECT_EQ(test, idxd_mig_area_size(2, 4), 2 * 4 * (64 + 32));
	KUNIT_EXPECT_EQ(test, idxd_mig_chan_init(&ch, area + 32, 32, 1, 4, SZ_4K), -EINVAL);
	KUNIT_EXPECT_EQ(test, idxd_mig_chan_init(&ch, area, 0, 0, 4, SZ_4K), -EINVAL);
	KUNIT_EXPECT_EQ(test, idxd_mig_chan_init(&ch, area, 0, 1, 4, 512), -EINVAL);
	KUNIT_EXPECT_EQ(test, idxd_mig_chan_init(&ch, area, 0, IDXD_MIG_MAX_SLOTS + 1, 4, SZ_4K),
			-EINVAL);
	free_pages_exact(area, PAGE_SIZE);
}

static struct kunit_case idxd_mig_test_cases[] = {
	KUNIT_CASE(idxd_mig_test_chunking),
	KUNIT_CASE(idxd_mig_test_xfer_split),
	KUNIT_CASE(idxd_mig_test_single),
	KUNIT_CASE(idxd_mig_test_page_fault),
	KUNIT_CASE(idxd_mig_test_batch_fail),
	KUNIT_CASE(idxd_mig_test_timeout),
	KUNIT_CASE(idxd_mig_test_halt),
	KUNIT_CASE(idxd_mig_test_exhaustion),
	KUNIT_CASE(idxd_mig_test_map_error),
	KUNIT_CASE(idxd_mig_test_two_queues),
	KUNIT_CASE(idxd_mig_test_flags_and_limits),
	{}
};

static struct kunit_suite idxd_mig_test_suite = {
	.name = "idxd_migrate_copy",
	.test_cases = idxd_mig_test_cases,
};

kunit_test_suite(idxd_mig_test_suite);
