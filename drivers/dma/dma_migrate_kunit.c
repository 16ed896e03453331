// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the dmaengine migrator's decisions (dma_migrate.h): which
 * channel a folio goes to, how a folio is cut into descriptors, and what a
 * folio's result is when its descriptors complete in any order and with
 * any result.  The dmaengine side runs in the migrate_dma selftest, against
 * the test_dma_memcpy provider.
 */
#include <kunit/test.h>
#include <linux/random.h>
#include <linux/sizes.h>

#include "dma_migrate.h"

static void pick_prefers_the_source_node(struct kunit *test)
{
	const int node[] = { 0, 1, 0, 1 };
	unsigned int next = 0;

	/* Both node-1 channels, in turn, never a node-0 one. */
	KUNIT_EXPECT_EQ(test, dma_mig_pick(node, 4, 0xf, 1, &next), 1);
	KUNIT_EXPECT_EQ(test, dma_mig_pick(node, 4, 0xf, 1, &next), 3);
	KUNIT_EXPECT_EQ(test, dma_mig_pick(node, 4, 0xf, 1, &next), 1);
	KUNIT_EXPECT_EQ(test, dma_mig_pick(node, 4, 0xf, 0, &next), 2);
	KUNIT_EXPECT_EQ(test, dma_mig_pick(node, 4, 0xf, 0, &next), 0);
}

static void pick_spreads_without_a_local_channel(struct kunit *test)
{
	const int node[] = { 0, 0, 0 };
	unsigned int next = 0, seen[3] = {}, i;

	for (i = 0; i < 30; i++)
		seen[dma_mig_pick(node, 3, 0x7, 2, &next)]++;
	KUNIT_EXPECT_EQ(test, seen[0], 10);
	KUNIT_EXPECT_EQ(test, seen[1], 10);
	KUNIT_EXPECT_EQ(test, seen[2], 10);
}

static void pick_skips_refused_channels(struct kunit *test)
{
	const int node[] = { 1, 1, 0 };
	unsigned int next = 0;

	/* Channel 0 refused a descriptor: the other node-1 channel only. */
	KUNIT_EXPECT_EQ(test, dma_mig_pick(node, 3, 0x6, 1, &next), 1);
	KUNIT_EXPECT_EQ(test, dma_mig_pick(node, 3, 0x6, 1, &next), 1);
	/* Then no node-1 channel: another node's. */
	KUNIT_EXPECT_EQ(test, dma_mig_pick(node, 3, 0x4, 1, &next), 2);
	/* None left: the CPU copies. */
	KUNIT_EXPECT_EQ(test, dma_mig_pick(node, 3, 0, 1, &next), 3);
}

static void segments_follow_the_device_limit(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, dma_mig_seg_len(SZ_64K, 0), SZ_64K);
	/* Rounded down to the copy alignment, at least one unit. */
	KUNIT_EXPECT_EQ(test, dma_mig_seg_len(SZ_64K + 100, 12), SZ_64K);
	KUNIT_EXPECT_EQ(test, dma_mig_seg_len(100, 12), SZ_4K);
	KUNIT_EXPECT_EQ(test, dma_mig_seg_len(UINT_MAX, 0), UINT_MAX);
	/* A 2 MB THP on a 64 KB device is 32 descriptors. */
	KUNIT_EXPECT_EQ(test, DIV_ROUND_UP(SZ_2M, dma_mig_seg_len(SZ_64K, 0)), 32);
}

/* Descriptors of a fake batch: descriptor d copies part of folio desc_folio[d]. */
struct fake_batch {
	struct dma_mig_batch *mb;
	unsigned int nr_desc;
	unsigned int desc_folio[64];
};

/* @segs[i] descriptors for folio i, all on channel i % 2. */
static struct fake_batch *fake_batch(struct kunit *test, const unsigned int *segs,
				     unsigned int nr)
{
	struct fake_batch *fb = kunit_kzalloc(test, sizeof(*fb), GFP_KERNEL);
	unsigned int i, s;

	KUNIT_ASSERT_NOT_NULL(test, fb);
	fb->mb = kunit_kzalloc(test, sizeof(*fb->mb), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fb->mb);
	spin_lock_init(&fb->mb->lock);
	init_waitqueue_head(&fb->mb->wq);
	fb->mb->nr_chans = 2;
	fb->mb->nr = nr;
	for (i = 0; i < nr; i++) {
		struct dma_mig_folio *f = &fb->mb->f[i];

		f->mb = fb->mb;
		f->chan = i % 2;
		f->mapped = true;
		for (s = 0; s < segs[i]; s++) {
			KUNIT_ASSERT_LT(test, fb->nr_desc, ARRAY_SIZE(fb->desc_folio));
			fb->desc_folio[fb->nr_desc++] = i;
			f->pending++;
			fb->mb->outstanding[f->chan]++;
		}
	}
	return fb;
}

static void complete_desc(struct fake_batch *fb, unsigned int d,
			  enum dmaengine_tx_result result)
{
	struct dmaengine_result res = { .result = result };

	dma_mig_desc_done(&fb->mb->f[fb->desc_folio[d]], &res);
}

static const unsigned int mixed_segs[] = { 1, 3, 1, 32, 2, 1 };

/* Every descriptor succeeds, in order, in reverse, or shuffled. */
static void results_in_any_order(struct kunit *test)
{
	unsigned int order, d, i, perm[64];

	for (order = 0; order < 3; order++) {
		struct fake_batch *fb = fake_batch(test, mixed_segs, ARRAY_SIZE(mixed_segs));

		for (d = 0; d < fb->nr_desc; d++)
			perm[d] = order == 1 ? fb->nr_desc - 1 - d : d;
		for (d = fb->nr_desc - 1; order == 2 && d > 0; d--) {
			unsigned int j = get_random_u32_below(d + 1);

			swap(perm[d], perm[j]);
		}
		for (d = 0; d < fb->nr_desc; d++) {
			KUNIT_EXPECT_FALSE(test, dma_mig_idle(fb->mb, 0x3));
			complete_desc(fb, perm[d], DMA_TRANS_NOERROR);
		}
		KUNIT_EXPECT_TRUE(test, dma_mig_idle(fb->mb, 0x3));
		for (i = 0; i < ARRAY_SIZE(mixed_segs); i++)
			KUNIT_EXPECT_EQ_MSG(test, dma_mig_folio_result(&fb->mb->f[i]),
					    DMA_MIG_OK, "order %u folio %u", order, i);
	}
}

/*
 * The last descriptor submitted completes first (an out-of-order engine):
 * that says nothing about the others.  Until they complete, the batch is
 * not idle, and a folio whose descriptors have not all completed is not
 * copied.  A migrator that trusted the last callback would mark them.
 */
static void last_callback_proves_nothing(struct kunit *test)
{
	struct fake_batch *fb = fake_batch(test, mixed_segs, ARRAY_SIZE(mixed_segs));
	unsigned int i, last = ARRAY_SIZE(mixed_segs) - 1;

	complete_desc(fb, fb->nr_desc - 1, DMA_TRANS_NOERROR);
	KUNIT_EXPECT_FALSE(test, dma_mig_idle(fb->mb, 0x3));
	KUNIT_EXPECT_EQ(test, dma_mig_folio_result(&fb->mb->f[last]), DMA_MIG_OK);
	/* Then the channels were stopped: the rest never completes. */
	for (i = 0; i < last; i++)
		KUNIT_EXPECT_EQ(test, dma_mig_folio_result(&fb->mb->f[i]),
				DMA_MIG_FAIL_TIMEOUT);
	/* Half of the THP's descriptors completed: still not copied. */
	for (i = 0; i < fb->nr_desc - 1; i += 2)
		if (fb->desc_folio[i] == 3)
			complete_desc(fb, i, DMA_TRANS_NOERROR);
	KUNIT_EXPECT_EQ(test, dma_mig_folio_result(&fb->mb->f[3]), DMA_MIG_FAIL_TIMEOUT);
}

/* One failed descriptor, wherever it is, fails its folio and no other. */
static void one_error_fails_its_folio(struct kunit *test)
{
	unsigned int bad, d, i, nr_desc = 0;

	for (i = 0; i < ARRAY_SIZE(mixed_segs); i++)
		nr_desc += mixed_segs[i];
	for (bad = 0; bad < nr_desc; bad++) {
		struct fake_batch *fb = fake_batch(test, mixed_segs, ARRAY_SIZE(mixed_segs));

		/* Newest first, as an out-of-order engine might. */
		for (d = fb->nr_desc; d-- > 0;)
			complete_desc(fb, d, d == bad ? DMA_TRANS_WRITE_FAILED : DMA_TRANS_NOERROR);
		KUNIT_EXPECT_TRUE(test, dma_mig_idle(fb->mb, 0x3));
		for (i = 0; i < ARRAY_SIZE(mixed_segs); i++) {
			enum dma_mig_fail want = DMA_MIG_OK;

			if (i == fb->desc_folio[bad])
				want = DMA_MIG_FAIL_ERROR;
			KUNIT_EXPECT_EQ_MSG(test, dma_mig_folio_result(&fb->mb->f[i]), want,
					    "bad descriptor %u, folio %u", bad, i);
		}
	}
}

/* Every kind of error result counts, and so does a provider passing none. */
static void every_error_result_counts(struct kunit *test)
{
	static const unsigned int one[] = { 1, 1, 1, 1 };
	struct fake_batch *fb = fake_batch(test, one, ARRAY_SIZE(one));

	complete_desc(fb, 0, DMA_TRANS_READ_FAILED);
	complete_desc(fb, 1, DMA_TRANS_WRITE_FAILED);
	complete_desc(fb, 2, DMA_TRANS_ABORTED);
	dma_mig_desc_done(&fb->mb->f[3], NULL);
	KUNIT_EXPECT_TRUE(test, dma_mig_idle(fb->mb, 0x3));
	KUNIT_EXPECT_EQ(test, dma_mig_folio_result(&fb->mb->f[0]), DMA_MIG_FAIL_ERROR);
	KUNIT_EXPECT_EQ(test, dma_mig_folio_result(&fb->mb->f[1]), DMA_MIG_FAIL_ERROR);
	KUNIT_EXPECT_EQ(test, dma_mig_folio_result(&fb->mb->f[2]), DMA_MIG_FAIL_ERROR);
	KUNIT_EXPECT_EQ(test, dma_mig_folio_result(&fb->mb->f[3]), DMA_MIG_FAIL_ERROR);
}

/* Idleness is per channel: the wait for one channel ignores the other. */
static void idle_per_channel(struct kunit *test)
{
	static const unsigned int two[] = { 2, 1 };
	struct fake_batch *fb = fake_batch(test, two, ARRAY_SIZE(two));

	/* Folio 0 is on channel 0 (descriptors 0, 1), folio 1 on channel 1. */
	complete_desc(fb, 2, DMA_TRANS_NOERROR);
	KUNIT_EXPECT_TRUE(test, dma_mig_idle(fb->mb, BIT(1)));
	KUNIT_EXPECT_FALSE(test, dma_mig_idle(fb->mb, BIT(0)));
	complete_desc(fb, 1, DMA_TRANS_NOERROR);
	KUNIT_EXPECT_FALSE(test, dma_mig_idle(fb->mb, BIT(0)));
	complete_desc(fb, 0, DMA_TRANS_NOERROR);
	KUNIT_EXPECT_TRUE(test, dma_mig_idle(fb->mb, BIT(0) | BIT(1)));
}

/* A folio that could not be mapped was never the engines'. */
static void unmapped_folio_is_not_copied(struct kunit *test)
{
	static const unsigned int none[] = { 0 };
	struct fake_batch *fb = fake_batch(test, none, 1);

	fb->mb->f[0].mapped = false;
	KUNIT_EXPECT_EQ(test, dma_mig_folio_result(&fb->mb->f[0]), DMA_MIG_FAIL_MAP);
}

static struct kunit_case dma_migrate_cases[] = {
	KUNIT_CASE(pick_prefers_the_source_node),
	KUNIT_CASE(pick_spreads_without_a_local_channel),
	KUNIT_CASE(pick_skips_refused_channels),
	KUNIT_CASE(segments_follow_the_device_limit),
	KUNIT_CASE(results_in_any_order),
	KUNIT_CASE(last_callback_proves_nothing),
	KUNIT_CASE(one_error_fails_its_folio),
	KUNIT_CASE(every_error_result_counts),
	KUNIT_CASE(idle_per_channel),
	KUNIT_CASE(unmapped_folio_is_not_copied),
	{}
};

static struct kunit_suite dma_migrate_suite = {
	.name = "dma_migrate",
	.test_cases = dma_migrate_cases,
};

kunit_test_suite(dma_migrate_suite);

MODULE_DESCRIPTION("KUnit tests of the dmaengine migrator");
MODULE_LICENSE("GPL");
