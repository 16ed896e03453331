/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests of the move phase of migration copy offload: what
 * move_to_new_folio() does with a folio a migrator has copied.  Included at
 * the end of mm/migrate.c, so they call its static functions, with the
 * folios locked and unmapped as migrate_pages_batch() has them.
 *
 * The destination of a "copied" folio holds a sentinel, not the data: if
 * the move phase copied again, the sentinel would be gone.  This is the
 * only proof, below the selftests, that offload saves the CPU's copy.
 */
#ifndef _MIGRATE_COPY_OFFLOAD_MOVE_KUNIT_H
#define _MIGRATE_COPY_OFFLOAD_MOVE_KUNIT_H

#include <kunit/test.h>
#include <linux/highmem.h>
#include <linux/memcontrol.h>

#define MOVE_SENTINEL	0x5e

static void move_fill(struct folio *folio, u8 seed)
{
	long i;

	for (i = 0; i < folio_nr_pages(folio); i++)
		memset_page(folio_page(folio, i), 0, seed + i, PAGE_SIZE);
}

/* Does every byte of @folio equal @seed plus its page index? */
static bool move_holds(struct folio *folio, u8 seed)
{
	bool ok = true;
	long i;

	for (i = 0; i < folio_nr_pages(folio) && ok; i++) {
		u8 *p = kmap_local_folio(folio, i * PAGE_SIZE);

		ok = !memchr_inv(p, (u8)(seed + i), PAGE_SIZE);
		kunmap_local(p);
	}
	return ok;
}

/*
 * A source holding 0x20 + page index and a destination holding the
 * sentinel, both locked.  The source is charged (to the root memcg: this
 * runs in a kthread without an mm), as every folio that migrates is: the
 * move phase hands its charge over to the destination.
 */
static void move_pair(struct kunit *test, unsigned int order, struct folio **src,
		      struct folio **dst)
{
	*src = folio_alloc(GFP_KERNEL, order);
	*dst = folio_alloc(GFP_KERNEL, order);
	if (!*src || !*dst) {
		if (*src)
			folio_put(*src);
		if (*dst)
			folio_put(*dst);
		KUNIT_FAIL_AND_ABORT(test, "cannot allocate order-%u folios", order);
	}
	if (mem_cgroup_charge(*src, NULL, GFP_KERNEL)) {
		folio_put(*src);
		folio_put(*dst);
		KUNIT_FAIL_AND_ABORT(test, "cannot charge the source folio");
	}
	move_fill(*src, 0x20);
	move_fill(*dst, MOVE_SENTINEL);
	folio_lock(*src);
	folio_lock(*dst);
}

static void move_release(struct folio *src, struct folio *dst)
{
	folio_unlock(src);
	folio_unlock(dst);
	folio_put(src);
	folio_put(dst);
}

/* A folio without a mapping (as anonymous memory has): skip or copy. */
static void test_move_copied_mark(struct kunit *test)
{
	static const unsigned int orders[] = { 0, 2 };
	struct folio *src, *dst;
	int i;

	for (i = 0; i < ARRAY_SIZE(orders); i++) {
		/* Marked copied: the move phase leaves the destination alone. */
		move_pair(test, orders[i], &src, &dst);
		KUNIT_EXPECT_EQ(test, move_to_new_folio(dst, src, MIGRATE_SYNC,
							MIGRATE_OFFLOAD_COPY_DONE),
				MIGRATEPAGE_SUCCESS);
		KUNIT_EXPECT_TRUE_MSG(test, move_holds(dst, MOVE_SENTINEL),
				      "order %u: the move phase copied a copied folio", orders[i]);
		move_release(src, dst);

		/* Not marked: the CPU copies every byte. */
		move_pair(test, orders[i], &src, &dst);
		KUNIT_EXPECT_EQ(test, move_to_new_folio(dst, src, MIGRATE_SYNC,
							MIGRATE_OFFLOAD_COPY_CPU),
				MIGRATEPAGE_SUCCESS);
		KUNIT_EXPECT_TRUE_MSG(test, move_holds(dst, 0x20),
				      "order %u: the CPU copy is missing", orders[i]);
		move_release(src, dst);
	}
}

/*
 * A move that fails with -EAGAIN (an unexpected reference) is retried in a
 * later pass, with the mark migrate_offload_copied() still finds: the
 * failed pass must not have touched the destination, and the retry must
 * not copy either.  migrate_pages_batch() looks the mark up by the
 * destination folio on every pass; so does this test.
 */
static void test_move_retry_keeps_mark(struct kunit *test)
{
	struct migrate_offload_state st = {};
	struct folio *src, *dst;
	int rc;

	move_pair(test, 0, &src, &dst);
	st.copied = &dst;
	st.nr_copied = 1;

	folio_get(src);			/* say, a speculative reference */
	rc = move_to_new_folio(dst, src, MIGRATE_SYNC, migrate_offload_copied(&st, dst));
	KUNIT_EXPECT_EQ(test, rc, -EAGAIN);
	KUNIT_EXPECT_TRUE(test, move_holds(dst, MOVE_SENTINEL));
	folio_put(src);			/* gone by the next pass */

	KUNIT_EXPECT_EQ(test, migrate_offload_copied(&st, dst), MIGRATE_OFFLOAD_COPY_DONE);
	rc = move_to_new_folio(dst, src, MIGRATE_SYNC, migrate_offload_copied(&st, dst));
	KUNIT_EXPECT_EQ(test, rc, MIGRATEPAGE_SUCCESS);
	KUNIT_EXPECT_TRUE_MSG(test, move_holds(dst, MOVE_SENTINEL),
			      "the retry copied a folio the migrator had copied");
	move_release(src, dst);
}

/*
 * A folio a migrator left stuck (its engine may still write the
 * destination): the move fails without touching either folio, so that
 * migrate_folio_move() maps the source back and the destination is never
 * mapped.  The lookup tells stuck from copied and from neither.
 */
static void test_move_stuck_fails(struct kunit *test)
{
	struct migrate_offload_state st = {};
	struct folio *src, *dst, *pair[2];

	move_pair(test, 0, &src, &dst);
	pair[0] = dst;			/* sorted: copied, then stuck */
	pair[1] = src;			/* a stand-in: any other folio */
	st.copied = pair;
	st.nr_copied = 0;
	st.nr_stuck = 1;
	KUNIT_EXPECT_EQ(test, migrate_offload_copied(&st, dst), MIGRATE_OFFLOAD_COPY_STUCK);
	KUNIT_EXPECT_EQ(test, migrate_offload_copied(&st, src), MIGRATE_OFFLOAD_COPY_CPU);
	KUNIT_EXPECT_EQ(test, move_to_new_folio(dst, src, MIGRATE_SYNC,
						migrate_offload_copied(&st, dst)), -EBUSY);
	KUNIT_EXPECT_TRUE_MSG(test, move_holds(dst, MOVE_SENTINEL),
			      "the move phase wrote a stuck destination");
	KUNIT_EXPECT_TRUE(test, move_holds(src, 0x20));
	KUNIT_EXPECT_EQ(test, folio_ref_count(src), 1);
	move_release(src, dst);
}

static const struct address_space_operations move_aops_filemap = {
	.migrate_folio = filemap_migrate_folio,
};

/*
 * Pagecache of a filesystem whose migrate_folio is filemap_migrate_folio():
 * the copied path must move the folio's private data (folio_get_private())
 * as filemap_migrate_folio() does, and the page cache entry.  A mapping of
 * our own stands in for the filesystem's.
 */
static void test_move_copied_filemap(struct kunit *test)
{
	struct address_space *as;
	struct folio *src, *dst;
	unsigned long cookie;
	int rc;

	as = kunit_kzalloc(test, sizeof(*as), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, as);
	xa_init_flags(&as->i_pages, XA_FLAGS_LOCK_IRQ);
	as->a_ops = &move_aops_filemap;

	move_pair(test, 0, &src, &dst);
	if (folio_zone(src) != folio_zone(dst)) {
		move_release(src, dst);
		kunit_skip(test, "source and destination in different zones");
	}
	/* In the page cache at index 0: one reference for the cache. */
	src->mapping = as;
	src->index = 0;
	folio_ref_add(src, 1);
	KUNIT_ASSERT_FALSE(test, xa_is_err(xa_store(&as->i_pages, 0, src, GFP_KERNEL)));
	folio_attach_private(src, &cookie);

	rc = move_to_new_folio(dst, src, MIGRATE_SYNC, MIGRATE_OFFLOAD_COPY_DONE);
	KUNIT_EXPECT_EQ(test, rc, MIGRATEPAGE_SUCCESS);
	KUNIT_EXPECT_TRUE(test, move_holds(dst, MOVE_SENTINEL));
	KUNIT_EXPECT_PTR_EQ(test, folio_get_private(dst), (void *)&cookie);
	KUNIT_EXPECT_NULL(test, folio_get_private(src));
	KUNIT_EXPECT_PTR_EQ(test, xa_load(&as->i_pages, 0), (void *)dst);
	KUNIT_EXPECT_PTR_EQ(test, dst->mapping, as);

	/* Undo what a filesystem would: private data, cache entry, refs. */
	xa_erase(&as->i_pages, 0);
	if (rc == MIGRATEPAGE_SUCCESS) {
		if (folio_get_private(dst))
			folio_detach_private(dst);
		folio_put(dst);		/* the cache's reference, moved over */
	} else {
		if (folio_get_private(src))
			folio_detach_private(src);
		folio_put(src);
	}
	src->mapping = NULL;
	dst->mapping = NULL;
	move_release(src, dst);
}

static struct kunit_case migrate_offload_move_cases[] = {
	KUNIT_CASE(test_move_copied_mark),
	KUNIT_CASE(test_move_retry_keeps_mark),
	KUNIT_CASE(test_move_stuck_fails),
	KUNIT_CASE(test_move_copied_filemap),
	{},
};

static struct kunit_suite migrate_offload_move_suite = {
	.name = "migrate_copy_offload_move",
	.test_cases = migrate_offload_move_cases,
};

kunit_test_suite(migrate_offload_move_suite);

#endif /* _MIGRATE_COPY_OFFLOAD_MOVE_KUNIT_H */
