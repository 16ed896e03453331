/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests of migration copy offload, with fake migrators.
 *
 * Included at the end of mm/migrate_copy_offload.c so the tests reach its
 * static functions and state (the DAMON pattern).  They run at boot when
 * CONFIG_MIGRATION_COPY_OFFLOAD_KUNIT_TEST=y and skip if a real migrator
 * is already registered.
 *
 * A fake migrator is registered system-wide while a case runs, so a real
 * migration (compaction at boot, say) may call it.  It serves only the
 * test's own tasks: any other caller is turned away at once, with nothing
 * marked, so the CPU copies its batch and no real migration ever waits on
 * a fake or gets its folios copied by one.
 */
#ifndef _MIGRATE_COPY_OFFLOAD_KUNIT_H
#define _MIGRATE_COPY_OFFLOAD_KUNIT_H

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/shmem_fs.h>
#ifdef CONFIG_ARM64_MTE
#include <asm/mte.h>
#endif

#define FAKE_MAX_PAIRS	8

struct fake_migrator {
	struct migrator m;
	struct task_struct *task;	/* the test case, and */
	struct task_struct *helper;	/* a kthread of it: the only callers served */
	int foreign;			/* batches of real migrations turned away */
	int calls;
	int ret;
	unsigned int seen;		/* folios offered in the last call */
	size_t bytes;			/* their bytes */
	struct folio *seen_src[FAKE_MAX_PAIRS];
	bool copy_even_only;		/* copy pairs 0, 2, 4...; else all */
	bool bytes_only;		/* memcpy(), as a DMA engine: no page metadata */
	unsigned long stuck_mask;	/* pairs to report stuck (and copied) */
	bool block;			/* wait for @release in copy */
	struct completion entered;
	struct completion release;
};

/* The data only, as an engine copies it: none of copy_highpage()'s extras. */
static void fake_copy_bytes(struct folio *dst, struct folio *src)
{
	long i;

	for (i = 0; i < folio_nr_pages(src); i++) {
		void *to = kmap_local_folio(dst, i * PAGE_SIZE);
		void *from = kmap_local_folio(src, i * PAGE_SIZE);

		memcpy(to, from, PAGE_SIZE);
		kunmap_local(from);
		kunmap_local(to);
	}
}

static int fake_copy(struct migrator *m, struct migrate_copy_batch *b)
{
	struct fake_migrator *f = container_of(m, struct fake_migrator, m);
	unsigned int i;

	if (current != f->task && current != READ_ONCE(f->helper)) {
		f->foreign++;
		return -EBUSY;
	}
	f->calls++;
	f->seen = b->nr;
	f->bytes = b->bytes;
	for (i = 0; i < b->nr && i < FAKE_MAX_PAIRS; i++)
		f->seen_src[i] = b->src[i];
	if (f->block) {
		complete(&f->entered);
		/* Bounded: a broken core must fail the test, not hang the boot. */
		wait_for_completion_timeout(&f->release, 20 * HZ);
	}
	for (i = 0; i < b->nr; i++) {
		if (f->copy_even_only && (i & 1))
			continue;
		if (f->bytes_only)
			fake_copy_bytes(b->dst[i], b->src[i]);
		else
			folio_copy(b->dst[i], b->src[i]);
		set_bit(i, b->copied);
	}
	/* Also marked copied: stuck must win. */
	for (i = 0; i < b->nr && i < BITS_PER_LONG; i++)
		if (f->stuck_mask & BIT(i))
			set_bit(i, b->stuck);
	return f->ret;
}

static void fake_init(struct fake_migrator *f, const char *name, unsigned long reasons)
{
	memset(f, 0, sizeof(*f));
	f->m.name = name;
	f->m.owner = THIS_MODULE;
	f->m.reasons = reasons;
	f->m.copy = fake_copy;
	f->task = current;
	init_completion(&f->entered);
	init_completion(&f->release);
}

#define ALL_REASONS	(BIT(MR_TYPES) - 1)

static void skip_if_busy(struct kunit *test)
{
	if (rcu_access_pointer(migrate_offload_active))
		kunit_skip(test, "a migrator is already registered");
}

/*
 * @n pairs of folios on two lists, linked by ->lru as migrate_pages_batch()
 * links them; pair i has order @orders[i] (0 if @orders is NULL); each
 * source is filled with a pattern of its index, each destination zeroed.
 */
struct fake_batch {
	struct list_head src, dst;
	struct folio *s[FAKE_MAX_PAIRS], *d[FAKE_MAX_PAIRS];
	unsigned int n;
};

static void fill_folio(struct folio *folio, u8 seed)
{
	size_t i;

	for (i = 0; i < folio_nr_pages(folio); i++) {
		u8 *p = kmap_local_folio(folio, i * PAGE_SIZE);

		memset(p, seed + i, PAGE_SIZE);
		kunmap_local(p);
	}
}

static bool folio_same(struct folio *a, struct folio *b)
{
	bool same = true;
	size_t i;

	for (i = 0; i < folio_nr_pages(a) && same; i++) {
		u8 *x = kmap_local_folio(a, i * PAGE_SIZE);
		u8 *y = kmap_local_folio(b, i * PAGE_SIZE);

		same = !memcmp(x, y, PAGE_SIZE);
		kunmap_local(y);
		kunmap_local(x);
	}
	return same;
}

static void fake_batch_init(struct kunit *test, struct fake_batch *fb, unsigned int n,
			    const unsigned int *orders)
{
	unsigned int i;

	INIT_LIST_HEAD(&fb->src);
	INIT_LIST_HEAD(&fb->dst);
	fb->n = 0;
	for (i = 0; i < n; i++) {
		unsigned int order = orders ? orders[i] : 0;

		fb->s[i] = folio_alloc(GFP_KERNEL, order);
		fb->d[i] = folio_alloc(GFP_KERNEL | __GFP_ZERO, order);
		if (!fb->s[i] || !fb->d[i]) {
			if (fb->s[i])
				folio_put(fb->s[i]);
			if (fb->d[i])
				folio_put(fb->d[i]);
			break;
		}
		fill_folio(fb->s[i], 0x11 * (i + 1));
		list_add_tail(&fb->s[i]->lru, &fb->src);
		list_add_tail(&fb->d[i]->lru, &fb->dst);
		fb->n++;
	}
	KUNIT_ASSERT_EQ_MSG(test, fb->n, n, "could not allocate the test folios");
}

static void fake_batch_free(struct fake_batch *fb)
{
	unsigned int i;

	for (i = 0; i < fb->n; i++) {
		list_del(&fb->s[i]->lru);
		list_del(&fb->d[i]->lru);
		folio_put(fb->s[i]);
		folio_put(fb->d[i]);
	}
	fb->n = 0;
}

/* Registration rules: checks at register time, one active migrator. */
static void test_register_rules(struct kunit *test)
{
	struct fake_migrator *a, *b;
	struct migrator bad;

	skip_if_busy(test);
	a = kunit_kzalloc(test, sizeof(*a), GFP_KERNEL);
	b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	fake_init(a, "fake-a", ALL_REASONS);
	fake_init(b, "fake-b", ALL_REASONS);

	KUNIT_EXPECT_EQ(test, migrate_offload_register(NULL), -EINVAL);
	bad = a->m;
	bad.copy = NULL;
	KUNIT_EXPECT_EQ(test, migrate_offload_register(&bad), -EINVAL);
	bad = a->m;
	bad.name = NULL;
	KUNIT_EXPECT_EQ(test, migrate_offload_register(&bad), -EINVAL);
	bad = a->m;
	bad.reasons = BIT(MR_MEMORY_FAILURE);
	KUNIT_EXPECT_EQ(test, migrate_offload_register(&bad), -EINVAL);
	bad.reasons = 0;
	KUNIT_EXPECT_EQ(test, migrate_offload_register(&bad), -EINVAL);
	KUNIT_EXPECT_FALSE(test, static_key_enabled(&migrate_offload_enabled));

	KUNIT_ASSERT_EQ(test, migrate_offload_register(&a->m), 0);
	KUNIT_EXPECT_TRUE(test, static_key_enabled(&migrate_offload_enabled));
	KUNIT_EXPECT_PTR_EQ(test, rcu_access_pointer(migrate_offload_active), &a->m);
	KUNIT_EXPECT_EQ(test, migrate_offload_register(&b->m), -EBUSY);
	KUNIT_EXPECT_EQ(test, migrate_offload_register(&a->m), -EBUSY);

	/* Unregistering a migrator that is not active is refused. */
	KUNIT_EXPECT_EQ(test, migrate_offload_unregister(&b->m), -EINVAL);
	KUNIT_EXPECT_EQ(test, migrate_offload_unregister(NULL), -EINVAL);
	KUNIT_EXPECT_PTR_EQ(test, rcu_access_pointer(migrate_offload_active), &a->m);
	KUNIT_EXPECT_TRUE(test, static_key_enabled(&migrate_offload_enabled));

	KUNIT_EXPECT_EQ(test, migrate_offload_unregister(&a->m), 0);
	KUNIT_EXPECT_FALSE(test, static_key_enabled(&migrate_offload_enabled));
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(migrate_offload_active));
	KUNIT_EXPECT_EQ(test, migrate_offload_unregister(&a->m), -EINVAL);

	/* Either may register again once the slot is free. */
	KUNIT_EXPECT_EQ(test, migrate_offload_register(&b->m), 0);
	KUNIT_EXPECT_EQ(test, migrate_offload_unregister(&b->m), 0);
	KUNIT_EXPECT_EQ(test, migrate_offload_register(&a->m), 0);
	KUNIT_EXPECT_EQ(test, migrate_offload_unregister(&a->m), 0);
	KUNIT_EXPECT_FALSE(test, static_key_enabled(&migrate_offload_enabled));
}

/*
 * The core never takes a reference on the owner: a migrator module must be
 * unloadable while registered (its exit path unregisters).  A stand-in
 * module object observes module_refcount() across register, a copy and
 * unregister.
 */
static void test_owner_not_pinned(struct kunit *test)
{
	struct fake_migrator *f;
	struct fake_batch fb;
	struct module *mod;
	struct migrate_offload_state st = {};

	if (!IS_ENABLED(CONFIG_MODULE_UNLOAD))
		kunit_skip(test, "needs CONFIG_MODULE_UNLOAD for module_refcount()");
	skip_if_busy(test);
	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	mod = kunit_kzalloc(test, sizeof(*mod), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_ASSERT_NOT_NULL(test, mod);
	mod->state = MODULE_STATE_LIVE;
#ifdef CONFIG_MODULE_UNLOAD
	atomic_set(&mod->refcnt, 1);	/* what the loader sets */
#endif
	fake_init(f, "fake-owner", ALL_REASONS);
	f->m.owner = mod;

	KUNIT_ASSERT_EQ(test, migrate_offload_register(&f->m), 0);
	KUNIT_EXPECT_EQ(test, module_refcount(mod), 0);
	fake_batch_init(test, &fb, 2, NULL);
	__migrate_offload_copy_folios(&st, &fb.src, &fb.dst, MR_SYSCALL);
	KUNIT_EXPECT_EQ(test, f->calls, 1);
	KUNIT_EXPECT_EQ(test, module_refcount(mod), 0);
	migrate_offload_done(&st);
	KUNIT_EXPECT_EQ(test, migrate_offload_unregister(&f->m), 0);
	KUNIT_EXPECT_EQ(test, module_refcount(mod), 0);
	fake_batch_free(&fb);
}

struct copier {
	struct fake_batch *fb;
	struct migrate_offload_state st;
	struct completion done;
};

static int copier_fn(void *data)
{
	struct copier *c = data;

	__migrate_offload_copy_folios(&c->st, &c->fb->src, &c->fb->dst, MR_DEMOTION);
	complete(&c->done);
	return 0;
}

struct unregisterer {
	struct migrator *m;
	int ret;
	struct completion done;
};

static int unregisterer_fn(void *data)
{
	struct unregisterer *u = data;

	u->ret = migrate_offload_unregister(u->m);
	complete(&u->done);
	return 0;
}

/* Unregister waits while a copy is in flight, and returns once it ends. */
static void test_unregister_waits(struct kunit *test)
{
	struct fake_migrator *f;
	struct copier *c;
	struct unregisterer *u;
	struct fake_batch fb;
	struct task_struct *t;

	skip_if_busy(test);
	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	u = kunit_kzalloc(test, sizeof(*u), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_ASSERT_NOT_NULL(test, u);
	fake_init(f, "fake-blocking", ALL_REASONS);
	f->block = true;
	fake_batch_init(test, &fb, 2, NULL);
	c->fb = &fb;
	init_completion(&c->done);
	u->m = &f->m;
	init_completion(&u->done);

	KUNIT_ASSERT_EQ(test, migrate_offload_register(&f->m), 0);
	t = kthread_create(copier_fn, c, "mco-copier");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	WRITE_ONCE(f->helper, t);
	wake_up_process(t);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&f->entered, 10 * HZ));

	t = kthread_run(unregisterer_fn, u, "mco-unregister");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	/* The key goes off at once, but unregister must not return yet. */
	msleep(300);
	KUNIT_EXPECT_FALSE(test, completion_done(&u->done));
	KUNIT_EXPECT_FALSE(test, completion_done(&c->done));

	complete(&f->release);
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&c->done, 10 * HZ));
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&u->done, 10 * HZ));
	KUNIT_EXPECT_EQ(test, u->ret, 0);
	KUNIT_EXPECT_EQ(test, c->st.nr_copied, 2);
	KUNIT_EXPECT_FALSE(test, static_key_enabled(&migrate_offload_enabled));
	migrate_offload_done(&c->st);
	fake_batch_free(&fb);
}

/* The core's reason policy, intersected with what the migrator is for. */
static void test_reason_filter(struct kunit *test)
{
	const unsigned long allowed = BIT(MR_SYSCALL) | BIT(MR_MEMPOLICY_MBIND) |
		BIT(MR_DEMOTION) | BIT(MR_DAMON) | BIT(MR_NUMA_MISPLACED);
	struct fake_migrator *f;
	struct fake_batch fb;
	int r;

	skip_if_busy(test);
	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	fake_init(f, "fake-all", ALL_REASONS);
	fake_batch_init(test, &fb, 1, NULL);
	KUNIT_ASSERT_EQ(test, migrate_offload_register(&f->m), 0);
	for (r = 0; r < MR_TYPES; r++) {
		struct migrate_offload_state st = {};
		int before = f->calls;

		migrate_offload_copy_folios(&st, &fb.src, &fb.dst, r);
		KUNIT_EXPECT_EQ_MSG(test, f->calls - before, !!(allowed & BIT(r)),
				    "reason %d", r);
		migrate_offload_done(&st);
	}
	KUNIT_EXPECT_EQ(test, migrate_offload_unregister(&f->m), 0);

	/* A migrator meant for demotion only never sees move_pages(2). */
	fake_init(f, "fake-demotion", BIT(MR_DEMOTION));
	KUNIT_ASSERT_EQ(test, migrate_offload_register(&f->m), 0);
	for (r = 0; r < MR_TYPES; r++) {
		struct migrate_offload_state st = {};
		int before = f->calls;

		migrate_offload_copy_folios(&st, &fb.src, &fb.dst, r);
		KUNIT_EXPECT_EQ_MSG(test, f->calls - before, r == MR_DEMOTION,
				    "reason %d", r);
		migrate_offload_done(&st);
	}
	KUNIT_EXPECT_EQ(test, migrate_offload_unregister(&f->m), 0);

	/* No migrator: nothing happens, nothing is marked. */
	{
		struct migrate_offload_state st = {};

		migrate_offload_copy_folios(&st, &fb.src, &fb.dst, MR_SYSCALL);
		KUNIT_EXPECT_NULL(test, st.copied);
		KUNIT_EXPECT_EQ(test, migrate_offload_copied(&st, fb.d[0]),
				MIGRATE_OFFLOAD_COPY_CPU);
	}
	fake_batch_free(&fb);
}

static int fake_wrapper_migrate_folio(struct address_space *mapping, struct folio *dst,
				      struct folio *src, enum migrate_mode mode)
{
	return migrate_folio(mapping, dst, src, mode);
}

static const struct address_space_operations aops_migrate_folio = {
	.migrate_folio = migrate_folio,
};

static const struct address_space_operations aops_filemap = {
	.migrate_folio = filemap_migrate_folio,
};

static const struct address_space_operations aops_wrapper = {
	.migrate_folio = fake_wrapper_migrate_folio,
};

static const struct address_space_operations aops_none = {
};

static bool eligible_with(struct folio *folio, struct address_space *as,
			  const struct address_space_operations *ops, bool inaccessible)
{
	bool ret;

	memset(as, 0, sizeof(*as));
	as->a_ops = ops;
	if (inaccessible)
		set_bit(AS_INACCESSIBLE, &as->flags);
	folio->mapping = as;
	ret = migrate_offload_folio_eligible(folio);
	folio->mapping = NULL;
	return ret;
}

/*
 * Which folios a migrator may copy.  Not covered here: buffer_migrate_folio
 * (any op other than the two is refused, see the wrapper case; the
 * migrate_offload_paths selftest moves ext2 pagecache) and hugetlb folios
 * (refused by folio_test_hugetlb(), never batched by migrate_pages()).
 */
static void test_eligibility(struct kunit *test)
{
	static const struct movable_operations fake_mops;
	struct address_space *as;
	struct folio *folio;
	unsigned long anon_vma_stub[8];

	as = kunit_kzalloc(test, sizeof(*as), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, as);
	folio = folio_alloc(GFP_KERNEL, 0);
	KUNIT_ASSERT_NOT_NULL(test, folio);

	/* No mapping: a page of nobody's, treated like anon. */
	KUNIT_EXPECT_TRUE(test, migrate_offload_folio_eligible(folio));

	/* Anonymous (and KSM: folio_mapping() is NULL for both). */
	folio->mapping = (void *)((unsigned long)anon_vma_stub | PAGE_MAPPING_ANON);
	KUNIT_EXPECT_TRUE(test, folio_test_anon(folio));
	KUNIT_EXPECT_TRUE(test, migrate_offload_folio_eligible(folio));
	folio->mapping = NULL;

	/* shmem and swapcache use migrate_folio itself. */
	KUNIT_EXPECT_TRUE(test, eligible_with(folio, as, &aops_migrate_folio, false));
	/* Pagecache of filesystems using filemap_migrate_folio. */
	KUNIT_EXPECT_TRUE(test, eligible_with(folio, as, &aops_filemap, false));
	/* A wrapper (btrfs, nfs, buffer heads) may do more than copy. */
	KUNIT_EXPECT_FALSE(test, eligible_with(folio, as, &aops_wrapper, false));
	/* No op: fallback_migrate_folio() may write the folio back first. */
	KUNIT_EXPECT_FALSE(test, eligible_with(folio, as, &aops_none, false));
	/* Inaccessible mappings (guest_memfd) are never copied. */
	KUNIT_EXPECT_FALSE(test, eligible_with(folio, as, &aops_migrate_folio, true));

	/* movable_ops pages: their driver copies; they are never unmapped. */
	folio->mapping = (void *)((unsigned long)&fake_mops | PAGE_MAPPING_MOVABLE);
	KUNIT_EXPECT_TRUE(test, __folio_test_movable(folio));
	KUNIT_EXPECT_FALSE(test, migrate_offload_folio_eligible(folio));
	folio->mapping = NULL;
	folio_put(folio);

	/* A real shmem folio. */
	if (IS_ENABLED(CONFIG_SHMEM)) {
		struct file *file = shmem_kernel_file_setup("mco-kunit", PAGE_SIZE, 0);

		KUNIT_ASSERT_FALSE(test, IS_ERR(file));
		folio = shmem_read_folio(file->f_mapping, 0);
		if (!IS_ERR(folio)) {
			KUNIT_EXPECT_TRUE(test, migrate_offload_folio_eligible(folio));
			folio_put(folio);
		}
		KUNIT_EXPECT_FALSE(test, IS_ERR(folio));
		fput(file);
	}
}

/* A folio with an unexpected reference (a pin) is not offered. */
static void test_refcount_rule(struct kunit *test)
{
	struct fake_migrator *f;
	struct fake_batch fb;
	struct migrate_offload_state st = {};

	skip_if_busy(test);
	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	fake_init(f, "fake-refs", ALL_REASONS);
	fake_batch_init(test, &fb, 3, NULL);
	folio_get(fb.s[1]);		/* as a GUP pin would */

	KUNIT_ASSERT_EQ(test, migrate_offload_register(&f->m), 0);
	__migrate_offload_copy_folios(&st, &fb.src, &fb.dst, MR_SYSCALL);
	KUNIT_EXPECT_EQ(test, f->seen, 2);
	KUNIT_EXPECT_PTR_EQ(test, f->seen_src[0], fb.s[0]);
	KUNIT_EXPECT_PTR_EQ(test, f->seen_src[1], fb.s[2]);
	KUNIT_EXPECT_EQ(test, migrate_offload_copied(&st, fb.d[0]), MIGRATE_OFFLOAD_COPY_DONE);
	KUNIT_EXPECT_EQ(test, migrate_offload_copied(&st, fb.d[1]), MIGRATE_OFFLOAD_COPY_CPU);
	KUNIT_EXPECT_EQ(test, migrate_offload_copied(&st, fb.d[2]), MIGRATE_OFFLOAD_COPY_DONE);
	migrate_offload_done(&st);

	/* Once the pin is gone, the folio is offered again. */
	folio_put(fb.s[1]);
	__migrate_offload_copy_folios(&st, &fb.src, &fb.dst, MR_SYSCALL);
	KUNIT_EXPECT_EQ(test, f->seen, 3);
	migrate_offload_done(&st);
	KUNIT_EXPECT_EQ(test, migrate_offload_unregister(&f->m), 0);
	fake_batch_free(&fb);
}

/*
 * Per-folio results: a migrator that copies every other folio.  The copied
 * destinations hold the data and are marked; the others are untouched and
 * unmarked, left to the move phase (whose use of the mark the
 * migrate_copy_offload_move suite in mm/migrate.c tests).
 */
static void test_partial_results(struct kunit *test)
{
	static const unsigned int orders[] = { 0, 0, 2, 0, 2, 0, 0, 1 };
	struct fake_migrator *f;
	struct fake_batch fb;
	struct migrate_offload_state st = {};
	size_t bytes = 0;
	unsigned int i;

	skip_if_busy(test);
	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	fake_init(f, "fake-half", ALL_REASONS);
	f->copy_even_only = true;
	f->ret = -EIO;			/* the return value does not matter */
	fake_batch_init(test, &fb, ARRAY_SIZE(orders), orders);
	for (i = 0; i < fb.n; i++)
		bytes += folio_size(fb.s[i]);

	KUNIT_ASSERT_EQ(test, migrate_offload_register(&f->m), 0);
	migrate_offload_copy_folios(&st, &fb.src, &fb.dst, MR_DAMON);
	KUNIT_EXPECT_EQ(test, f->calls, 1);
	KUNIT_EXPECT_EQ(test, f->seen, fb.n);
	KUNIT_EXPECT_EQ(test, f->bytes, bytes);
	KUNIT_EXPECT_EQ(test, st.nr_copied, (fb.n + 1) / 2);

	for (i = 0; i < fb.n; i++) {
		bool copied = migrate_offload_copied(&st, fb.d[i]) == MIGRATE_OFFLOAD_COPY_DONE;

		KUNIT_EXPECT_EQ_MSG(test, copied, !(i & 1), "pair %u", i);
		/* A copied destination holds the data; another still zero. */
		KUNIT_EXPECT_EQ_MSG(test, folio_same(fb.s[i], fb.d[i]), copied, "pair %u", i);
	}
	migrate_offload_done(&st);
	KUNIT_EXPECT_NULL(test, st.copied);
	KUNIT_EXPECT_EQ(test, migrate_offload_copied(&st, fb.d[0]), MIGRATE_OFFLOAD_COPY_CPU);
	KUNIT_EXPECT_EQ(test, migrate_offload_unregister(&f->m), 0);
	fake_batch_free(&fb);
}

static unsigned long vm_event(enum vm_event_item item);

/*
 * Folios a migrator reports stuck: looked up as such (even when also
 * marked copied), each destination gains a reference that is never
 * dropped (the test drops it), and they count as stuck, not fallback.
 */
static void test_stuck_results(struct kunit *test)
{
	struct fake_migrator *f;
	struct fake_batch fb;
	struct migrate_offload_state st = {};
	unsigned long stuck, fallback, copied;
	int refs[4];
	unsigned int i;

	skip_if_busy(test);
	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	fake_init(f, "fake-stuck", ALL_REASONS);
	f->copy_even_only = true;
	f->stuck_mask = BIT(0) | BIT(3);	/* one also copied, one not */
	fake_batch_init(test, &fb, 4, NULL);
	for (i = 0; i < 4; i++)
		refs[i] = folio_ref_count(fb.d[i]);
	stuck = vm_event(PGMIGRATE_OFFLOAD_STUCK);
	fallback = vm_event(PGMIGRATE_OFFLOAD_FALLBACK);
	copied = vm_event(PGMIGRATE_OFFLOAD_COPIED);

	KUNIT_ASSERT_EQ(test, migrate_offload_register(&f->m), 0);
	__migrate_offload_copy_folios(&st, &fb.src, &fb.dst, MR_DEMOTION);
	KUNIT_EXPECT_EQ(test, migrate_offload_copied(&st, fb.d[0]), MIGRATE_OFFLOAD_COPY_STUCK);
	KUNIT_EXPECT_EQ(test, migrate_offload_copied(&st, fb.d[1]), MIGRATE_OFFLOAD_COPY_CPU);
	KUNIT_EXPECT_EQ(test, migrate_offload_copied(&st, fb.d[2]), MIGRATE_OFFLOAD_COPY_DONE);
	KUNIT_EXPECT_EQ(test, migrate_offload_copied(&st, fb.d[3]), MIGRATE_OFFLOAD_COPY_STUCK);
	KUNIT_EXPECT_EQ(test, st.nr_copied, 1);
	KUNIT_EXPECT_EQ(test, st.nr_stuck, 2);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ_MSG(test, folio_ref_count(fb.d[i]),
				    refs[i] + (f->stuck_mask & BIT(i) ? 1 : 0), "pair %u", i);
	if (IS_ENABLED(CONFIG_VM_EVENT_COUNTERS)) {
		KUNIT_EXPECT_EQ(test, vm_event(PGMIGRATE_OFFLOAD_STUCK) - stuck, 2);
		KUNIT_EXPECT_EQ(test, vm_event(PGMIGRATE_OFFLOAD_FALLBACK) - fallback, 1);
		KUNIT_EXPECT_EQ(test, vm_event(PGMIGRATE_OFFLOAD_COPIED) - copied, 1);
	}
	migrate_offload_done(&st);
	KUNIT_EXPECT_EQ(test, migrate_offload_copied(&st, fb.d[0]), MIGRATE_OFFLOAD_COPY_CPU);
	KUNIT_EXPECT_EQ(test, migrate_offload_unregister(&f->m), 0);
	/*
	 * The core's reference on the stuck destinations: only a test may drop
	 * it, and only if it was taken (a broken core must fail, not crash).
	 */
	for (i = 0; i < 4; i++)
		if ((f->stuck_mask & BIT(i)) && folio_ref_count(fb.d[i]) > refs[i])
			folio_put(fb.d[i]);
	fake_batch_free(&fb);
}

static unsigned long vm_event(enum vm_event_item item)
{
	unsigned long *ev = kcalloc(NR_VM_EVENT_ITEMS, sizeof(*ev), GFP_KERNEL);
	unsigned long v = 0;

	if (ev) {
		all_vm_events(ev);
		v = ev[item];
		kfree(ev);
	}
	return v;
}

/* The admin's threshold and reasons, and the counters that show them. */
static void test_policy_and_counters(struct kunit *test)
{
	struct fake_migrator *f;
	struct fake_batch fb;
	struct migrate_offload_state st = {};
	unsigned long small, batches, copied, skip_reason;

	if (!IS_ENABLED(CONFIG_VM_EVENT_COUNTERS))
		kunit_skip(test, "needs CONFIG_VM_EVENT_COUNTERS");
	skip_if_busy(test);
	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	fake_init(f, "fake-policy", ALL_REASONS);
	fake_batch_init(test, &fb, 3, NULL);
	KUNIT_ASSERT_EQ(test, migrate_offload_register(&f->m), 0);

	/* Below the threshold: the CPU copies, counted as skipped small. */
	WRITE_ONCE(migrate_offload_min_batch_bytes, 4 * PAGE_SIZE);
	small = vm_event(PGMIGRATE_OFFLOAD_SKIP_SMALL);
	migrate_offload_copy_folios(&st, &fb.src, &fb.dst, MR_SYSCALL);
	KUNIT_EXPECT_EQ(test, f->calls, 0);
	KUNIT_EXPECT_NULL(test, st.copied);
	KUNIT_EXPECT_GE(test, vm_event(PGMIGRATE_OFFLOAD_SKIP_SMALL) - small, 3UL);

	/*
	 * The reason is checked first: a small batch of a reason the admin
	 * keeps from the migrator is counted as skipped for its reason.
	 */
	small = vm_event(PGMIGRATE_OFFLOAD_SKIP_SMALL);
	skip_reason = vm_event(PGMIGRATE_OFFLOAD_SKIP_REASON);
	migrate_offload_copy_folios(&st, &fb.src, &fb.dst, MR_COMPACTION);
	KUNIT_EXPECT_EQ(test, f->calls, 0);
	KUNIT_EXPECT_NULL(test, st.copied);
	KUNIT_EXPECT_GE(test, vm_event(PGMIGRATE_OFFLOAD_SKIP_REASON) - skip_reason, 3UL);

	/* At the threshold: offered, copied, counted. */
	WRITE_ONCE(migrate_offload_min_batch_bytes, 3 * PAGE_SIZE);
	batches = vm_event(PGMIGRATE_OFFLOAD_BATCHES);
	copied = vm_event(PGMIGRATE_OFFLOAD_COPIED);
	migrate_offload_copy_folios(&st, &fb.src, &fb.dst, MR_SYSCALL);
	KUNIT_EXPECT_EQ(test, f->calls, 1);
	KUNIT_EXPECT_EQ(test, st.nr_copied, 3);
	KUNIT_EXPECT_GE(test, vm_event(PGMIGRATE_OFFLOAD_BATCHES) - batches, 1UL);
	KUNIT_EXPECT_GE(test, vm_event(PGMIGRATE_OFFLOAD_COPIED) - copied, 3UL);
	migrate_offload_done(&st);

	/* The admin turns syscalls off: not offered, counted by reason. */
	migrate_offload_set_reasons(BIT(MR_DEMOTION));
	skip_reason = vm_event(PGMIGRATE_OFFLOAD_SKIP_REASON);
	migrate_offload_copy_folios(&st, &fb.src, &fb.dst, MR_SYSCALL);
	KUNIT_EXPECT_EQ(test, f->calls, 1);
	KUNIT_EXPECT_GE(test, vm_event(PGMIGRATE_OFFLOAD_SKIP_REASON) - skip_reason, 3UL);
	migrate_offload_copy_folios(&st, &fb.src, &fb.dst, MR_DEMOTION);
	KUNIT_EXPECT_EQ(test, f->calls, 2);
	migrate_offload_done(&st);

	KUNIT_EXPECT_EQ(test, migrate_offload_unregister(&f->m), 0);
	fake_batch_free(&fb);
}

/* A real migration that calls a fake is turned away, unmarked, at once. */
static void test_fake_turns_away_foreign(struct kunit *test)
{
	struct fake_migrator *f;
	struct fake_batch fb;
	struct migrate_copy_batch b = {};
	unsigned long copied = 0;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	fake_init(f, "fake-foreign", ALL_REASONS);
	f->block = true;		/* would wait 20 s if it served the call */
	f->task = NULL;			/* as seen from any other task */
	fake_batch_init(test, &fb, 1, NULL);
	b.src = fb.s;
	b.dst = fb.d;
	b.copied = &copied;
	b.nr = 1;
	KUNIT_EXPECT_EQ(test, fake_copy(&f->m, &b), -EBUSY);
	KUNIT_EXPECT_EQ(test, copied, 0UL);
	KUNIT_EXPECT_EQ(test, f->calls, 0);
	KUNIT_EXPECT_EQ(test, f->foreign, 1);
	KUNIT_EXPECT_FALSE(test, completion_done(&f->entered));
	KUNIT_EXPECT_FALSE(test, folio_same(fb.s[0], fb.d[0]));
	fake_batch_free(&fb);
}

/*
 * Per-batch allocations: each array at most a page, so from a kmalloc
 * cache, and flags that can neither reclaim nor wake kswapd; the reserve
 * holds whole batches.
 */
static void test_batch_allocations(struct kunit *test)
{
	struct migrate_offload_arrays a;
	int i;

	KUNIT_EXPECT_FALSE(test, MIGRATE_OFFLOAD_GFP & __GFP_RECLAIM);
	KUNIT_EXPECT_FALSE(test, MIGRATE_OFFLOAD_GFP & __GFP_KSWAPD_RECLAIM);
	KUNIT_EXPECT_FALSE(test, MIGRATE_OFFLOAD_GFP & __GFP_DIRECT_RECLAIM);
	KUNIT_EXPECT_TRUE(test, MIGRATE_OFFLOAD_GFP & __GFP_NOMEMALLOC);
	KUNIT_EXPECT_LE(test, MIGRATE_OFFLOAD_MAX_FOLIOS * sizeof(struct folio *), PAGE_SIZE);
	if (IS_ENABLED(CONFIG_X86_64))
		KUNIT_EXPECT_EQ(test, MIGRATE_OFFLOAD_MAX_FOLIOS, 512UL);
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	/* Every folio of the longest batch migrate_pages() builds, on any page size. */
	KUNIT_EXPECT_GE(test, MIGRATE_OFFLOAD_MAX_FOLIOS, (unsigned long)HPAGE_PMD_NR);
#endif

	KUNIT_ASSERT_EQ(test, migrate_offload_arrays_alloc(&a, MIGRATE_OFFLOAD_MAX_FOLIOS), 0);
	for (i = 0; i < MIGRATE_OFFLOAD_NR_ARRAYS; i++) {
		KUNIT_EXPECT_NOT_NULL(test, a.p[i]);
		KUNIT_EXPECT_LE(test, ksize(a.p[i]), PAGE_SIZE);
	}
	migrate_offload_arrays_free(&a);
	if (migrate_offload_reserve)
		KUNIT_EXPECT_GE(test, migrate_offload_reserve->min_nr,
				MIGRATE_OFFLOAD_NR_ARRAYS * (nr_node_ids + 2));
}

/* A folio with a hardware-poisoned page never goes to a migrator. */
static void test_hwpoison_ineligible(struct kunit *test)
{
	struct folio *folio;

	if (!IS_ENABLED(CONFIG_MEMORY_FAILURE))
		kunit_skip(test, "needs CONFIG_MEMORY_FAILURE for the HWPoison flags");
	folio = folio_alloc(GFP_KERNEL, 2);
	KUNIT_ASSERT_NOT_NULL(test, folio);
	KUNIT_EXPECT_TRUE(test, migrate_offload_folio_eligible(folio));
	/* A large folio with a poisoned subpage, and a poisoned head. */
	folio_set_has_hwpoisoned(folio);
	KUNIT_EXPECT_FALSE(test, migrate_offload_folio_eligible(folio));
	folio_clear_has_hwpoisoned(folio);
	SetPageHWPoison(folio_page(folio, 0));
	KUNIT_EXPECT_FALSE(test, migrate_offload_folio_eligible(folio));
	ClearPageHWPoison(folio_page(folio, 0));
	KUNIT_EXPECT_TRUE(test, migrate_offload_folio_eligible(folio));
	folio_put(folio);
}

/*
 * Each folio of a batch is counted once, in one counter: a batch whose
 * eligible folios are too small counts all its folios small (the pinned
 * one too); a batch handed over counts its pinned folio ineligible and
 * the others copied.
 */
static void test_counters_each_folio_once(struct kunit *test)
{
	struct fake_migrator *f;
	struct fake_batch fb;
	struct migrate_offload_state st = {};
	unsigned long small, inel, copied;

	if (!IS_ENABLED(CONFIG_VM_EVENT_COUNTERS))
		kunit_skip(test, "needs CONFIG_VM_EVENT_COUNTERS");
	skip_if_busy(test);
	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	fake_init(f, "fake-counters", ALL_REASONS);
	fake_batch_init(test, &fb, 4, NULL);
	folio_get(fb.s[2]);
	KUNIT_ASSERT_EQ(test, migrate_offload_register(&f->m), 0);

	/* Four pages in all, three eligible, threshold four pages. */
	WRITE_ONCE(migrate_offload_min_batch_bytes, 4 * PAGE_SIZE);
	small = vm_event(PGMIGRATE_OFFLOAD_SKIP_SMALL);
	migrate_offload_copy_folios(&st, &fb.src, &fb.dst, MR_SYSCALL);
	KUNIT_EXPECT_EQ(test, f->calls, 0);
	KUNIT_EXPECT_GE(test, vm_event(PGMIGRATE_OFFLOAD_SKIP_SMALL) - small, 4UL);
	migrate_offload_done(&st);

	WRITE_ONCE(migrate_offload_min_batch_bytes, 3 * PAGE_SIZE);
	inel = vm_event(PGMIGRATE_OFFLOAD_SKIP_INELIGIBLE);
	copied = vm_event(PGMIGRATE_OFFLOAD_COPIED);
	migrate_offload_copy_folios(&st, &fb.src, &fb.dst, MR_SYSCALL);
	KUNIT_EXPECT_EQ(test, f->calls, 1);
	KUNIT_EXPECT_EQ(test, f->seen, 3);
	KUNIT_EXPECT_GE(test, vm_event(PGMIGRATE_OFFLOAD_SKIP_INELIGIBLE) - inel, 1UL);
	KUNIT_EXPECT_GE(test, vm_event(PGMIGRATE_OFFLOAD_COPIED) - copied, 3UL);
	migrate_offload_done(&st);

	KUNIT_EXPECT_EQ(test, migrate_offload_unregister(&f->m), 0);
	folio_put(fb.s[2]);
	fake_batch_free(&fb);
}

/*
 * The longest batch the core hands over is MIGRATE_OFFLOAD_MAX_FOLIOS, as
 * long as migrate_pages() makes them; eligible folios past it would be
 * counted fallback (the CPU copies them), never ineligible.
 */
static void test_batch_cap(struct kunit *test)
{
	const unsigned int n = MIGRATE_OFFLOAD_MAX_FOLIOS + 1;
	struct migrate_offload_state st = {};
	struct folio **s, **d;
	struct fake_migrator *f;
	unsigned long fallback;
	LIST_HEAD(src);
	LIST_HEAD(dst);
	unsigned int i, got = 0;

	if (!IS_ENABLED(CONFIG_VM_EVENT_COUNTERS))
		kunit_skip(test, "needs CONFIG_VM_EVENT_COUNTERS");
	/* 8 MB with 4 KB pages, but 1 GB with 64 KB pages (8193 pairs). */
	if (2ULL * n > totalram_pages() / 4)
		kunit_skip(test, "%u pairs of base pages are more than a quarter of the memory", n);
	skip_if_busy(test);
	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	s = kunit_kcalloc(test, n, sizeof(*s), GFP_KERNEL);
	d = kunit_kcalloc(test, n, sizeof(*d), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_ASSERT_NOT_NULL(test, d);
	fake_init(f, "fake-cap", ALL_REASONS);
	for (i = 0; i < n; i++) {
		s[i] = folio_alloc(GFP_KERNEL, 0);
		d[i] = folio_alloc(GFP_KERNEL, 0);
		if (!s[i] || !d[i])
			break;
		list_add_tail(&s[i]->lru, &src);
		list_add_tail(&d[i]->lru, &dst);
		got++;
	}
	if (got == n) {
		KUNIT_ASSERT_EQ(test, migrate_offload_register(&f->m), 0);
		fallback = vm_event(PGMIGRATE_OFFLOAD_FALLBACK);
		migrate_offload_copy_folios(&st, &src, &dst, MR_SYSCALL);
		KUNIT_EXPECT_EQ(test, f->calls, 1);
		KUNIT_EXPECT_EQ(test, f->seen, MIGRATE_OFFLOAD_MAX_FOLIOS);
		KUNIT_EXPECT_EQ(test, st.nr_copied, MIGRATE_OFFLOAD_MAX_FOLIOS);
		KUNIT_EXPECT_EQ(test, migrate_offload_copied(&st, d[n - 1]),
				MIGRATE_OFFLOAD_COPY_CPU);
		KUNIT_EXPECT_GE(test, vm_event(PGMIGRATE_OFFLOAD_FALLBACK) - fallback, 1UL);
		migrate_offload_done(&st);
		KUNIT_EXPECT_EQ(test, migrate_offload_unregister(&f->m), 0);
	}
	for (i = 0; i < n; i++) {
		if (s[i]) {
			if (i < got)
				list_del(&s[i]->lru);
			folio_put(s[i]);
		}
		if (d[i]) {
			if (i < got)
				list_del(&d[i]->lru);
			folio_put(d[i]);
		}
	}
	KUNIT_ASSERT_EQ_MSG(test, got, n, "could not allocate the test folios");
}

/*
 * Page metadata: a migrator copies bytes only, and the core copies what
 * copy_highpage() copies besides, with copy_highpage_metadata().  On arm64
 * with MTE that is the allocation tags of a tagged page: every page of
 * every folio the migrator copied must come out tagged (PG_mte_tagged)
 * with its source's tags, else the first mapping of the destination clears
 * them (mte_sync_tags()).  A folio left to the CPU is left alone here: the
 * move phase copies it with copy_highpage().  Each source page gets one
 * tag for all its granules: QEMU 7.2's TCG keeps one tag byte per page.
 */
#ifdef CONFIG_ARM64_MTE
/* STG on every granule: the tag from a register, not from the address. */
static void tag_page(struct page *page, u8 tag)
{
	u64 val = (u64)tag << MTE_TAG_SHIFT;
	char *addr = page_address(page);
	size_t off;

	for (off = 0; off < PAGE_SIZE; off += MTE_GRANULE_SIZE)
		asm volatile(__MTE_PREAMBLE "stg %0, [%1]" : : "r" (val), "r" (addr + off)
			     : "memory");
}
#endif

static void test_page_metadata(struct kunit *test)
{
#ifdef CONFIG_ARM64_MTE
	static const unsigned int orders[] = { 0, 2, 0, 1 };
	struct migrate_offload_state st = {};
	struct fake_migrator *f;
	struct fake_batch fb;
	unsigned int i;
	long p;

	if (!system_supports_mte())
		kunit_skip(test, "the CPU has no MTE");
	skip_if_busy(test);
	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	fake_init(f, "fake-bytes", ALL_REASONS);
	f->bytes_only = true;
	f->copy_even_only = true;
	fake_batch_init(test, &fb, ARRAY_SIZE(orders), orders);
	for (i = 0; i < fb.n; i++) {
		for (p = 0; p < folio_nr_pages(fb.s[i]); p++) {
			struct page *page = folio_page(fb.s[i], p);

			KUNIT_ASSERT_TRUE(test, try_page_mte_tagging(page));
			tag_page(page, 1 + (i + p) % 15);
			set_page_mte_tagged(page);
		}
	}
	KUNIT_ASSERT_EQ(test, migrate_offload_register(&f->m), 0);
	migrate_offload_copy_folios(&st, &fb.src, &fb.dst, MR_SYSCALL);
	for (i = 0; i < fb.n; i++) {
		bool copied = !(i & 1);

		KUNIT_EXPECT_EQ(test, migrate_offload_copied(&st, fb.d[i]),
				copied ? MIGRATE_OFFLOAD_COPY_DONE : MIGRATE_OFFLOAD_COPY_CPU);
		for (p = 0; p < folio_nr_pages(fb.d[i]); p++) {
			struct page *page = folio_page(fb.d[i], p);
			void *last = page_address(page) + PAGE_SIZE - MTE_GRANULE_SIZE;
			u8 want = 0xf0 | (1 + (i + p) % 15);	/* as mte_get_mem_tag() reads */

			KUNIT_EXPECT_EQ_MSG(test, page_mte_tagged(page), copied,
					    "folio %u page %ld", i, p);
			if (!copied)
				continue;
			KUNIT_EXPECT_EQ(test, mte_get_mem_tag(page_address(page)), want);
			KUNIT_EXPECT_EQ(test, mte_get_mem_tag(last), want);
		}
		KUNIT_EXPECT_TRUE(test, folio_same(fb.s[i], fb.d[i]) == copied);
	}
	migrate_offload_done(&st);
	KUNIT_EXPECT_EQ(test, migrate_offload_unregister(&f->m), 0);
	fake_batch_free(&fb);
#else
	kunit_skip(test, "no CONFIG_ARM64_MTE: copy_highpage() copies no tags here");
#endif
}

static unsigned long saved_min_batch, saved_reasons;

/* Every case starts from the default reasons and no threshold. */
static int migrate_offload_test_init(struct kunit *test)
{
	saved_min_batch = READ_ONCE(migrate_offload_min_batch_bytes);
	saved_reasons = READ_ONCE(migrate_offload_reasons);
	WRITE_ONCE(migrate_offload_min_batch_bytes, 0);
	migrate_offload_set_reasons(MIGRATE_OFFLOAD_DEFAULT_REASONS);
	return 0;
}

static void migrate_offload_test_exit(struct kunit *test)
{
	WRITE_ONCE(migrate_offload_min_batch_bytes, saved_min_batch);
	migrate_offload_set_reasons(saved_reasons);
}

static struct kunit_case migrate_offload_test_cases[] = {
	KUNIT_CASE(test_register_rules),
	KUNIT_CASE(test_owner_not_pinned),
	KUNIT_CASE(test_unregister_waits),
	KUNIT_CASE(test_reason_filter),
	KUNIT_CASE(test_eligibility),
	KUNIT_CASE(test_refcount_rule),
	KUNIT_CASE(test_partial_results),
	KUNIT_CASE(test_stuck_results),
	KUNIT_CASE(test_policy_and_counters),
	KUNIT_CASE(test_fake_turns_away_foreign),
	KUNIT_CASE(test_batch_allocations),
	KUNIT_CASE(test_hwpoison_ineligible),
	KUNIT_CASE(test_counters_each_folio_once),
	KUNIT_CASE(test_batch_cap),
	KUNIT_CASE(test_page_metadata),
	{},
};

static struct kunit_suite migrate_offload_test_suite = {
	.name = "migrate_copy_offload",
	.init = migrate_offload_test_init,
	.exit = migrate_offload_test_exit,
	.test_cases = migrate_offload_test_cases,
};

kunit_test_suite(migrate_offload_test_suite);

#endif /* _MIGRATE_COPY_OFFLOAD_KUNIT_H */
