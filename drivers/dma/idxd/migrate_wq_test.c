// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the DSA migrator's queue handling (migrate.c).
 *
 * QEMU has no DSA model, so these tests run migrate.c's decisions on fake
 * structures: struct idxd_device and struct idxd_wq allocated here and
 * filled by hand, a register file that is plain kernel memory (on x86
 * ioread32() of an address above the port I/O window is a plain load, so
 * a GENSTS value written here reads back as the device's), and a real
 * percpu_ref whose release completes wq_dead as the idxd driver's does.
 *
 * Covered: ->alive() against software and hardware device states, the
 * work queue configuration a queue is accepted with and the limits it
 * gets, the quiesce of .remove after a halt already quiesced the queue,
 * the timeout_ms parameter and the waits it gives, the "reasons"
 * parameter, the published set of queues (membership, rotor, no queue
 * left), and the debugfs stats file.
 *
 * Not covered: probe and remove themselves.  They enable and disable the
 * queue through the idxd driver (idxd_drv_enable_wq() writes WQCFG,
 * maps the portal and requests an interrupt; idxd_drv_disable_wq() runs
 * device commands), which needs a DSA device; so does the DMA mapping of
 * the coherent area and its leak when a queue is wedged.
 *
 * Each test names, in its comment, a change of migrate.c it catches.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/completion.h>
#include <linux/gfp.h>
#include <linux/jiffies.h>
#include <linux/migrate_copy_offload.h>
#include <linux/migrate_mode.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu-refcount.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/string.h>

#include "idxd.h"
#include "registers.h"
#include "migrate.h"

#define WQ_TEST_REGS_SIZE	0x100	/* covers GENSTS at 0x90 */

/* A queue on a device, both fake; the device's register file is memory. */
struct wq_test_fx {
	struct idxd_device *idxd;
	struct idxd_wq *wq;
	struct idxd_mig_wq *mw;
	u32 *regs;
};

static void wq_test_set_ops(unsigned long *bmap)
{
	__set_bit(DSA_OPCODE_NOOP, bmap);
	__set_bit(DSA_OPCODE_BATCH, bmap);
	__set_bit(DSA_OPCODE_DRAIN, bmap);
	__set_bit(DSA_OPCODE_MEMMOVE, bmap);
}

/*
 * A DSA whose queue has its own operation configuration (WQCAP op_config)
 * with NOOP, BATCH, DRAIN and MEMMOVE, 16 descriptors, batches of 32 and
 * transfers of 2 MB (the idxd defaults), and Cache Control.
 */
static void wq_test_fx_init(struct kunit *test, struct wq_test_fx *fx)
{
	size_t bmap = BITS_TO_LONGS(IDXD_MAX_OPCAP_BITS) * sizeof(unsigned long);

	fx->idxd = kunit_kzalloc(test, sizeof(*fx->idxd), GFP_KERNEL);
	fx->wq = kunit_kzalloc(test, sizeof(*fx->wq), GFP_KERNEL);
	fx->mw = kunit_kzalloc(test, sizeof(*fx->mw), GFP_KERNEL);
	fx->regs = kunit_kzalloc(test, WQ_TEST_REGS_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fx->idxd);
	KUNIT_ASSERT_NOT_NULL(test, fx->wq);
	KUNIT_ASSERT_NOT_NULL(test, fx->mw);
	KUNIT_ASSERT_NOT_NULL(test, fx->regs);
	fx->idxd->opcap_bmap = kunit_kzalloc(test, bmap, GFP_KERNEL);
	fx->wq->opcap_bmap = kunit_kzalloc(test, bmap, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fx->idxd->opcap_bmap);
	KUNIT_ASSERT_NOT_NULL(test, fx->wq->opcap_bmap);

	fx->idxd->state = IDXD_DEV_ENABLED;
	fx->idxd->reg_base = (void __iomem __force *)fx->regs;
	fx->idxd->hw.gen_cap.cache_control_mem = 1;
	wq_test_set_ops(fx->idxd->opcap_bmap);
	wq_test_set_ops(fx->wq->opcap_bmap);

	fx->wq->idxd = fx->idxd;
	fx->wq->num_descs = 16;
	fx->wq->max_batch_size = 32;
	fx->wq->max_xfer_bytes = SZ_2M;

	fx->mw->wq = fx->wq;
	fx->mw->ch.priv = fx->mw;
}

static void wq_test_gensts(struct wq_test_fx *fx, u32 bits)
{
	WRITE_ONCE(fx->regs[IDXD_GENSTATS_OFFSET / sizeof(u32)], bits);
}

static u32 wq_test_state(enum idxd_device_status_state state)
{
	union gensts_reg gensts = { .state = state };

	return gensts.bits;
}

/*
 * ->alive() is false when either the idxd driver or the hardware says the
 * device stopped.  Catches: going back to software state alone (the FLR
 * and halted-GENSTS cases), dropping the software check (the HALTED and
 * DISABLED cases), and treating a device that is still draining as dead
 * (the DRAIN case).
 */
static void idxd_mig_wq_test_alive(struct kunit *test)
{
	struct wq_test_fx fx;
	struct idxd_mig_chan *ch;

	wq_test_fx_init(test, &fx);
	ch = &fx.mw->ch;

	wq_test_gensts(&fx, wq_test_state(IDXD_DEVICE_STATE_ENABLED));
	KUNIT_EXPECT_TRUE(test, idxd_mig_alive(ch));

	/* Hardware halted before the halt interrupt updated software state. */
	wq_test_gensts(&fx, wq_test_state(IDXD_DEVICE_STATE_HALT));
	KUNIT_EXPECT_FALSE(test, idxd_mig_alive(ch));

	/* A PCI FLR from sysfs: GENSTS disabled, software still ENABLED. */
	wq_test_gensts(&fx, wq_test_state(IDXD_DEVICE_STATE_DISABLED));
	KUNIT_EXPECT_FALSE(test, idxd_mig_alive(ch));

	/* A device that is gone reads all ones. */
	wq_test_gensts(&fx, ~0U);
	KUNIT_EXPECT_FALSE(test, idxd_mig_alive(ch));

	/* Disable Device in progress: still finishing descriptors. */
	wq_test_gensts(&fx, wq_test_state(IDXD_DEVICE_STATE_DRAIN));
	KUNIT_EXPECT_TRUE(test, idxd_mig_alive(ch));

	/* The driver saw the halt (or finished a disable) first. */
	wq_test_gensts(&fx, wq_test_state(IDXD_DEVICE_STATE_ENABLED));
	fx.idxd->state = IDXD_DEV_HALTED;
	KUNIT_EXPECT_FALSE(test, idxd_mig_alive(ch));
	fx.idxd->state = IDXD_DEV_DISABLED;
	KUNIT_EXPECT_FALSE(test, idxd_mig_alive(ch));
}

/*
 * The operations a queue is accepted with come from its own operation
 * configuration, or from the device's OPCAP when it has none.  Catches:
 * checking the device's OPCAP instead of the queue's op_config (MEMMOVE,
 * DRAIN and BATCH are cleared in the queue only), not requiring DRAIN,
 * using BATCH without checking it, and dereferencing or ignoring a NULL
 * wq->opcap_bmap.
 */
static void idxd_mig_wq_test_caps_ops(struct kunit *test)
{
	struct idxd_mig_caps caps;
	struct wq_test_fx fx;

	wq_test_fx_init(test, &fx);
	KUNIT_EXPECT_EQ(test, idxd_mig_wq_caps(fx.wq, &caps), 0);
	KUNIT_EXPECT_NULL(test, caps.why);
	KUNIT_EXPECT_EQ(test, caps.max_batch, 32U);

	__clear_bit(DSA_OPCODE_MEMMOVE, fx.wq->opcap_bmap);
	KUNIT_EXPECT_EQ(test, idxd_mig_wq_caps(fx.wq, &caps), -EOPNOTSUPP);
	KUNIT_EXPECT_NOT_NULL(test, caps.why);
	__set_bit(DSA_OPCODE_MEMMOVE, fx.wq->opcap_bmap);

	__clear_bit(DSA_OPCODE_DRAIN, fx.wq->opcap_bmap);
	KUNIT_EXPECT_EQ(test, idxd_mig_wq_caps(fx.wq, &caps), -EOPNOTSUPP);
	KUNIT_EXPECT_NOT_NULL(test, caps.why);
	__set_bit(DSA_OPCODE_DRAIN, fx.wq->opcap_bmap);

	/* Without BATCH every descriptor is a MEMMOVE of its own. */
	__clear_bit(DSA_OPCODE_BATCH, fx.wq->opcap_bmap);
	KUNIT_EXPECT_EQ(test, idxd_mig_wq_caps(fx.wq, &caps), 0);
	KUNIT_EXPECT_EQ(test, caps.max_batch, 1U);
	__set_bit(DSA_OPCODE_BATCH, fx.wq->opcap_bmap);

	/* No per-queue op_config (DSA 1.0): the device's OPCAP applies. */
	fx.wq->opcap_bmap = NULL;
	KUNIT_EXPECT_EQ(test, idxd_mig_wq_caps(fx.wq, &caps), 0);
	KUNIT_EXPECT_EQ(test, caps.max_batch, 32U);
	__clear_bit(DSA_OPCODE_DRAIN, fx.idxd->opcap_bmap);
	KUNIT_EXPECT_EQ(test, idxd_mig_wq_caps(fx.wq, &caps), -EOPNOTSUPP);
	__set_bit(DSA_OPCODE_DRAIN, fx.idxd->opcap_bmap);
	__clear_bit(DSA_OPCODE_BATCH, fx.idxd->opcap_bmap);
	KUNIT_EXPECT_EQ(test, idxd_mig_wq_caps(fx.wq, &caps), 0);
	KUNIT_EXPECT_EQ(test, caps.max_batch, 1U);
}

struct wq_test_limits {
	int num_descs;
	u32 max_batch_size;
	u64 max_xfer_bytes;
	int ret;
	unsigned int nr_slots, max_batch;
	u32 max_xfer;
};

/*
 * The limits a queue gets from its configuration.  Catches: a queue of
 * fewer than 2 descriptors accepted (none left for Drain), all
 * descriptors used as slots, slots beyond IDXD_MIG_MAX_SLOTS, a batch
 * size that is not a power of two or above IDXD_MIG_BATCH_CAP (64), a
 * transfer size that is not a power of two, above 1 GB or below a page,
 * and Cache Control not taken from GENCAP.
 */
static void idxd_mig_wq_test_caps_limits(struct kunit *test)
{
	static const struct wq_test_limits cases[] = {
		{ 16, 32, SZ_2M, 0, 15, 32, SZ_2M },
		{ 1, 32, SZ_2M, -EINVAL },
		{ 0, 32, SZ_2M, -EINVAL },
		{ 2, 32, SZ_2M, 0, 1, 32, SZ_2M },
		{ 1000, 32, SZ_2M, 0, IDXD_MIG_MAX_SLOTS, 32, SZ_2M },
		{ 16, 0, SZ_2M, 0, 15, 1, SZ_2M },
		{ 16, 1, SZ_2M, 0, 15, 1, SZ_2M },
		{ 16, 2, SZ_2M, 0, 15, 2, SZ_2M },
		{ 16, 48, SZ_2M, 0, 15, 32, SZ_2M },
		{ 16, 64, SZ_2M, 0, 15, 64, SZ_2M },
		{ 16, 1024, SZ_2M, 0, 15, 64, SZ_2M },
		{ 16, 32, 3 * SZ_1M, 0, 15, 32, SZ_2M },
		{ 16, 32, SZ_1G, 0, 15, 32, SZ_1G },
		{ 16, 32, SZ_4G, 0, 15, 32, SZ_1G },
		{ 16, 32, PAGE_SIZE, 0, 15, 32, PAGE_SIZE },
		{ 16, 32, PAGE_SIZE / 2, -EINVAL },
		{ 16, 32, 0, -EINVAL },
	};
	struct idxd_mig_caps caps;
	struct wq_test_fx fx;
	unsigned int i;

	wq_test_fx_init(test, &fx);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct wq_test_limits *c = &cases[i];

		fx.wq->num_descs = c->num_descs;
		fx.wq->max_batch_size = c->max_batch_size;
		fx.wq->max_xfer_bytes = c->max_xfer_bytes;
		KUNIT_EXPECT_EQ_MSG(test, idxd_mig_wq_caps(fx.wq, &caps), c->ret, "case %u", i);
		if (c->ret) {
			KUNIT_EXPECT_NOT_NULL_MSG(test, caps.why, "case %u", i);
			continue;
		}
		KUNIT_EXPECT_EQ_MSG(test, caps.nr_slots, c->nr_slots, "case %u", i);
		KUNIT_EXPECT_EQ_MSG(test, caps.max_batch, c->max_batch, "case %u", i);
		KUNIT_EXPECT_EQ_MSG(test, caps.max_xfer, c->max_xfer, "case %u", i);
		KUNIT_EXPECT_TRUE_MSG(test, caps.cache_control, "case %u", i);
	}

	fx.wq->num_descs = 16;
	fx.wq->max_batch_size = 32;
	fx.wq->max_xfer_bytes = SZ_2M;
	fx.idxd->hw.gen_cap.cache_control_mem = 0;
	KUNIT_EXPECT_EQ(test, idxd_mig_wq_caps(fx.wq, &caps), 0);
	KUNIT_EXPECT_FALSE(test, caps.cache_control);
}

static void wq_test_ref_release(struct percpu_ref *ref)
{
	struct idxd_wq *wq = container_of(ref, struct idxd_wq, wq_active);

	complete(&wq->wq_dead);
}

static void wq_test_ref_exit(void *ref)
{
	percpu_ref_exit(ref);
}

/*
 * .remove quiesces a live queue, and skips one a halt already quiesced.
 * The queue's wq_active is a real percpu_ref whose release completes
 * wq_dead, as idxd_wq_ref_release() does.  Before the second call wq_dead
 * is completed once by hand, so that a wrong second quiesce returns (with
 * percpu_ref's "called more than once" warning) instead of hanging the
 * test, and is seen by the completion it consumed.  Catches: the
 * unconditional quiesce of upstream sub-drivers (second step), a helper
 * that never quiesces (first step), and one that remembers a quiesce past
 * the ref's revival by an interrupt handle revoke (last step).
 */
static void idxd_mig_wq_test_quiesce(struct kunit *test)
{
	struct idxd_wq *wq = kunit_kzalloc(test, sizeof(*wq), GFP_KERNEL);
	bool needs;

	KUNIT_ASSERT_NOT_NULL(test, wq);
	mutex_init(&wq->wq_lock);
	init_completion(&wq->wq_dead);
	init_completion(&wq->wq_resurrect);
	KUNIT_ASSERT_EQ(test, percpu_ref_init(&wq->wq_active, wq_test_ref_release,
					      PERCPU_REF_ALLOW_REINIT, GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, wq_test_ref_exit,
							&wq->wq_active), 0);

	/* A live queue is quiesced: killed, and wq_dead waited for. */
	mutex_lock(&wq->wq_lock);
	needs = idxd_mig_wq_needs_quiesce(wq);
	idxd_mig_wq_quiesce_locked(wq);
	mutex_unlock(&wq->wq_lock);
	KUNIT_EXPECT_TRUE(test, needs);
	KUNIT_ASSERT_TRUE(test, percpu_ref_is_dying(&wq->wq_active));
	KUNIT_EXPECT_FALSE(test, completion_done(&wq->wq_dead));

	/* As after idxd_wqs_quiesce() on a halt: nothing more to do. */
	complete(&wq->wq_dead);
	mutex_lock(&wq->wq_lock);
	needs = idxd_mig_wq_needs_quiesce(wq);
	idxd_mig_wq_quiesce_locked(wq);
	mutex_unlock(&wq->wq_lock);
	KUNIT_EXPECT_FALSE(test, needs);
	KUNIT_ASSERT_TRUE(test, completion_done(&wq->wq_dead));

	/* An interrupt handle revoke kills and revives it: live again. */
	reinit_completion(&wq->wq_dead);
	percpu_ref_reinit(&wq->wq_active);
	mutex_lock(&wq->wq_lock);
	needs = idxd_mig_wq_needs_quiesce(wq);
	mutex_unlock(&wq->wq_lock);
	KUNIT_EXPECT_TRUE(test, needs);
}

/*
 * timeout_ms takes 1 to 60000 and nothing else, and keeps its value when
 * it refuses one; a copy gets ten times the timeout to settle.  Catches:
 * 0 or values above 60000 accepted, a refused write that still stores,
 * and a settle time other than 10 timeouts.
 */
static void idxd_mig_wq_test_timeout(struct kunit *test)
{
	static const char * const bad[] = {
		"0", "60001", "-1", "abc", "", "4294967296", "1000 ms",
	};
	unsigned int val = 1000, i;
	struct kernel_param kp = { .name = "timeout_ms", .arg = &val };
	struct idxd_mig_limits lim;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		KUNIT_EXPECT_EQ_MSG(test, idxd_mig_timeout_set(bad[i], &kp), -EINVAL,
				    "\"%s\"", bad[i]);
		KUNIT_EXPECT_EQ_MSG(test, val, 1000U, "\"%s\"", bad[i]);
	}
	KUNIT_EXPECT_EQ(test, idxd_mig_timeout_set("60000", &kp), 0);
	KUNIT_EXPECT_EQ(test, val, 60000U);
	KUNIT_EXPECT_EQ(test, idxd_mig_timeout_set("1", &kp), 0);
	KUNIT_EXPECT_EQ(test, val, 1U);
	KUNIT_EXPECT_EQ(test, idxd_mig_timeout_set("250\n", &kp), 0);
	KUNIT_EXPECT_EQ(test, val, 250U);

	idxd_mig_limits_init(&lim, 1000);
	KUNIT_EXPECT_EQ(test, lim.timeout, msecs_to_jiffies(1000));
	KUNIT_EXPECT_EQ(test, lim.settle, 10 * msecs_to_jiffies(1000));
	idxd_mig_limits_init(&lim, 60000);
	KUNIT_EXPECT_EQ(test, lim.timeout, msecs_to_jiffies(60000));
	KUNIT_EXPECT_EQ(test, lim.settle, 10 * msecs_to_jiffies(60000));
}

/*
 * The migrator serves tiering unless "reasons" says otherwise.  Catches: a
 * default other than promotion, demotion and DAMON (the old "every
 * reason"), a list not parsed as the core parses its reasons file, and
 * "none" or an invalid list accepted or half applied.
 */
static void idxd_mig_wq_test_reasons(struct kunit *test)
{
	static const char * const bad[] = {
		"bogus", "none", "memory_failure", "", "demotion bogus", "all demotion",
	};
	const unsigned long tiering = BIT(MR_NUMA_MISPLACED) | BIT(MR_DEMOTION) | BIT(MR_DAMON);
	const unsigned long sentinel = BIT(MR_COMPACTION);
	unsigned long mask;
	unsigned int i;

	KUNIT_EXPECT_EQ(test, idxd_mig_parse_reasons(NULL, &mask), 0);
	KUNIT_EXPECT_EQ(test, mask, tiering);
	KUNIT_EXPECT_EQ(test, idxd_mig_parse_reasons("numa_misplaced demotion damon", &mask), 0);
	KUNIT_EXPECT_EQ(test, mask, tiering);

	KUNIT_EXPECT_EQ(test, idxd_mig_parse_reasons("demotion syscall_or_cpuset", &mask), 0);
	KUNIT_EXPECT_EQ(test, mask, BIT(MR_DEMOTION) | BIT(MR_SYSCALL));

	KUNIT_EXPECT_EQ(test, idxd_mig_parse_reasons("all", &mask), 0);
	KUNIT_EXPECT_TRUE(test, mask & BIT(MR_SYSCALL));
	KUNIT_EXPECT_TRUE(test, mask & BIT(MR_COMPACTION));
	KUNIT_EXPECT_TRUE(test, mask & tiering);
	KUNIT_EXPECT_FALSE(test, mask & BIT(MR_MEMORY_FAILURE));

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		mask = sentinel;
		KUNIT_EXPECT_EQ_MSG(test, idxd_mig_parse_reasons(bad[i], &mask), -EINVAL,
				    "\"%s\"", bad[i]);
		KUNIT_EXPECT_EQ_MSG(test, mask, sentinel, "\"%s\"", bad[i]);
	}
}

/* Channel operations no test of the set may reach: it has no device. */
static atomic_t wq_test_trapped = ATOMIC_INIT(0);

static int wq_test_trap_map(struct idxd_mig_chan *ch, struct folio *folio,
			    enum dma_data_direction dir, dma_addr_t *addr)
{
	atomic_inc(&wq_test_trapped);
	return -EIO;
}

static void wq_test_trap_unmap(struct idxd_mig_chan *ch, dma_addr_t addr, size_t size,
			       enum dma_data_direction dir)
{
	atomic_inc(&wq_test_trapped);
}

static int wq_test_trap_get(struct idxd_mig_chan *ch, struct idxd_mig_sub *sub)
{
	atomic_inc(&wq_test_trapped);
	return -EAGAIN;
}

static int wq_test_trap_submit(struct idxd_mig_chan *ch, struct idxd_mig_sub *sub)
{
	atomic_inc(&wq_test_trapped);
	return -EIO;
}

static void wq_test_trap_put(struct idxd_mig_chan *ch, struct idxd_mig_sub *sub)
{
	atomic_inc(&wq_test_trapped);
}

static bool wq_test_trap_alive(struct idxd_mig_chan *ch)
{
	atomic_inc(&wq_test_trapped);
	return false;
}

static const struct idxd_mig_chan_ops wq_test_trap_ops = {
	.map = wq_test_trap_map,
	.unmap = wq_test_trap_unmap,
	.get = wq_test_trap_get,
	.submit = wq_test_trap_submit,
	.put = wq_test_trap_put,
	.alive = wq_test_trap_alive,
};

static void wq_test_srcu_cleanup(void *srcu)
{
	cleanup_srcu_struct(srcu);
}

static void wq_test_folio_put(void *folio)
{
	folio_put(folio);
}

static struct idxd_mig_set *wq_test_set(struct idxd_mig_pool *pool)
{
	return rcu_dereference_protected(pool->set, true);
}

/*
 * Queues come and go in a pool of its own, without the core: the set
 * copies read lists the bound queues in binding order, loses a queue as
 * it leaves, and is gone with the last one, when a copy gets -ENODEV.
 * Every copy through a set bumps its rotor.  The copies here are of an
 * empty batch, which the engine refuses before it looks at a channel;
 * the channels' operations count any call, and none may come.
 * Catches: a set that keeps a queue that left, or loses the wrong one; an
 * empty set published instead of none (the engine would be called and
 * not return -ENODEV); a copy that does not advance the rotor.
 */
static void idxd_mig_wq_test_pool(struct kunit *test)
{
	struct idxd_mig_pool *pool = kunit_kzalloc(test, sizeof(*pool), GFP_KERNEL);
	struct srcu_struct *srcu = kunit_kzalloc(test, sizeof(*srcu), GFP_KERNEL);
	unsigned long copied = 0, stuck = 0;
	struct folio *src, *dst;
	struct migrate_copy_batch b = {
		.src = &src, .dst = &dst, .copied = &copied, .stuck = &stuck,
		.nr = 0, .reason = MR_DEMOTION,
	};
	struct idxd_mig_wq *mw[3];
	struct idxd_mig_set *set, *old;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, pool);
	KUNIT_ASSERT_NOT_NULL(test, srcu);
	KUNIT_ASSERT_EQ(test, init_srcu_struct(srcu), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, wq_test_srcu_cleanup, srcu), 0);
	mutex_init(&pool->lock);
	INIT_LIST_HEAD(&pool->wqs);
	pool->srcu = srcu;

	src = folio_alloc(GFP_KERNEL, 0);
	KUNIT_ASSERT_NOT_NULL(test, src);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, wq_test_folio_put, src), 0);
	dst = folio_alloc(GFP_KERNEL, 0);
	KUNIT_ASSERT_NOT_NULL(test, dst);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, wq_test_folio_put, dst), 0);

	for (i = 0; i < ARRAY_SIZE(mw); i++) {
		mw[i] = kunit_kzalloc(test, sizeof(*mw[i]), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, mw[i]);
		mw[i]->ch.ops = &wq_test_trap_ops;
		mw[i]->ch.priv = mw[i];
		mw[i]->ch.node = NUMA_NO_NODE;
		mw[i]->ch.name = "wq_test";
	}
	atomic_set(&wq_test_trapped, 0);

	KUNIT_EXPECT_EQ(test, idxd_mig_pool_copy(pool, &b), -ENODEV);

	mutex_lock(&pool->lock);
	for (i = 0; i < ARRAY_SIZE(mw); i++)
		KUNIT_EXPECT_EQ(test, idxd_mig_pool_add(pool, mw[i]), 0);
	mutex_unlock(&pool->lock);
	set = wq_test_set(pool);
	KUNIT_ASSERT_NOT_NULL(test, set);
	KUNIT_EXPECT_EQ(test, pool->nr, 3U);
	KUNIT_ASSERT_EQ(test, set->nr, 3U);
	for (i = 0; i < ARRAY_SIZE(mw); i++)
		KUNIT_EXPECT_PTR_EQ(test, set->chan[i], &mw[i]->ch);

	KUNIT_EXPECT_EQ(test, atomic_read(&set->rotor), 0);
	idxd_mig_pool_copy(pool, &b);
	idxd_mig_pool_copy(pool, &b);
	KUNIT_EXPECT_EQ(test, atomic_read(&set->rotor), 2);

	old = set;
	mutex_lock(&pool->lock);
	idxd_mig_pool_del(pool, mw[1]);
	mutex_unlock(&pool->lock);
	set = wq_test_set(pool);
	KUNIT_ASSERT_NOT_NULL(test, set);
	KUNIT_EXPECT_PTR_NE(test, set, old);
	KUNIT_ASSERT_EQ(test, set->nr, 2U);
	KUNIT_EXPECT_PTR_EQ(test, set->chan[0], &mw[0]->ch);
	KUNIT_EXPECT_PTR_EQ(test, set->chan[1], &mw[2]->ch);

	mutex_lock(&pool->lock);
	idxd_mig_pool_del(pool, mw[0]);
	idxd_mig_pool_del(pool, mw[2]);
	mutex_unlock(&pool->lock);
	KUNIT_EXPECT_NULL(test, wq_test_set(pool));
	KUNIT_EXPECT_EQ(test, pool->nr, 0U);
	KUNIT_EXPECT_TRUE(test, list_empty(&pool->wqs));
	KUNIT_EXPECT_EQ(test, idxd_mig_pool_copy(pool, &b), -ENODEV);

	KUNIT_EXPECT_EQ(test, atomic_read(&wq_test_trapped), 0);
	KUNIT_EXPECT_EQ(test, copied, 0UL);
	KUNIT_EXPECT_EQ(test, stuck, 0UL);
}

/*
 * The stats file: every counter under its own name, then the queue's
 * fixed facts.  Catches: a counter printed under another's name or
 * missing, and a missing or wrong static line.
 */
static void idxd_mig_wq_test_stats(struct kunit *test)
{
	static const char want[] =
		"copies 1\nfolios 2\nfallbacks 3\ntimeouts 4\nhalts 5\nstuck 6\n"
		"node 1\nmax_batch 32\nmax_xfer 2097152\nslots 15\n"
		"cache_control 1\nbroken 1\nwedged 0\n";
	struct idxd_mig_wq *mw = kunit_kzalloc(test, sizeof(*mw), GFP_KERNEL);
	struct seq_file m = { };
	struct idxd_mig_chan *ch;

	KUNIT_ASSERT_NOT_NULL(test, mw);
	m.size = PAGE_SIZE;
	m.buf = kunit_kzalloc(test, m.size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m.buf);
	m.private = mw;

	ch = &mw->ch;
	atomic_long_set(&ch->stats.copies, 1);
	atomic_long_set(&ch->stats.folios, 2);
	atomic_long_set(&ch->stats.fallbacks, 3);
	atomic_long_set(&ch->stats.timeouts, 4);
	atomic_long_set(&ch->stats.halts, 5);
	atomic_long_set(&ch->stats.stuck, 6);
	ch->node = 1;
	ch->max_batch = 32;
	ch->max_xfer = SZ_2M;
	ch->nr_slots = 15;
	ch->cache_control = true;
	ch->broken = true;

	KUNIT_EXPECT_EQ(test, idxd_mig_stats_show(&m, NULL), 0);
	KUNIT_ASSERT_LT(test, m.count, m.size);
	m.buf[m.count] = '\0';
	KUNIT_EXPECT_STREQ(test, m.buf, want);
}

static struct kunit_case idxd_mig_wq_test_cases[] = {
	KUNIT_CASE(idxd_mig_wq_test_alive),
	KUNIT_CASE(idxd_mig_wq_test_caps_ops),
	KUNIT_CASE(idxd_mig_wq_test_caps_limits),
	KUNIT_CASE(idxd_mig_wq_test_quiesce),
	KUNIT_CASE(idxd_mig_wq_test_timeout),
	KUNIT_CASE(idxd_mig_wq_test_reasons),
	KUNIT_CASE(idxd_mig_wq_test_pool),
	KUNIT_CASE(idxd_mig_wq_test_stats),
	{}
};

static struct kunit_suite idxd_mig_wq_test_suite = {
	.name = "idxd_migrate_wq",
	.test_cases = idxd_mig_wq_test_cases,
};

kunit_test_suite(idxd_mig_wq_test_suite);
