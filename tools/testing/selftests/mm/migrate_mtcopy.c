// SPDX-License-Identifier: GPL-2.0
/*
 * The multi-threaded CPU migrator (CONFIG_MIGRATE_MTCOPY, module
 * migrate_mtcopy), end to end: buffers of anonymous 4 KB pages, THPs and
 * shmem move between two nodes with move_pages(2), every byte is verified
 * after every move, and /proc/vmstat must show that the migrator copied
 * every folio (pgmigrate_offload_copied) and that none fell back to the
 * CPU.  THPs are also copied with 1, 2 and 3 threads, so a folio is split
 * over threads unevenly.  At scale, 32 MB of anonymous 4 KB pages, THPs,
 * 64 KB mTHPs, shmem and tmpfs pagecache move 8 times each (1.25 GB) while
 * two readers and a writer use the buffer.  Finally the module is unloaded
 * and reloaded 50 times while another process migrates and verifies.
 *
 * Needs root, two memory nodes and the module; skips otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "migrate_helpers.h"

#define THREADS		"/sys/module/migrate_mtcopy/parameters/threads"
#define MCO_DIR		"/sys/kernel/mm/migrate_offload/"
#define REASONS		MCO_DIR "reasons"
#define MIN_BATCH	MCO_DIR "min_batch_bytes"
#define DEFAULT_REASONS	"syscall_or_cpuset mempolicy_mbind numa_misplaced demotion damon"
#define FAIL_DIR	"/sys/kernel/debug/fail_migrate_offload/"
#define DEMOTION	"/sys/kernel/mm/numa/demotion_enabled"
#define NUMA_BALANCING	"/proc/sys/kernel/numa_balancing"
#define NR_PASSES	4
#define CHURN_CYCLES	50
#define SCALE_SIZE	(32UL << 20)
#define SCALE_PASSES	8
#define WRITER_BYTES	(1024UL * 1024)
#define NR_READERS	2
/*
 * Time budgets (seconds) of the long tests: about seven times the longest
 * any of them took in the check guest (42 s: a debug kernel under QEMU TCG,
 * 4 vCPUs on 2 host cores), so a slower machine passes too.  The others
 * keep the harness's 30 s, six times their longest (5 s).  Each test prints
 * the time it used.
 */
#define SCALE_BUDGET	300
#define DEMOTION_BUDGET	300
#define CHURN_BUDGET	300

FIXTURE(mtcopy)
{
	int node[2];
	size_t page_size;
	struct migrate_offload_settings saved;
};

FIXTURE_SETUP(mtcopy)
{
	migrate_test_clock_start();
	if (geteuid())
		SKIP(return, "needs root (modprobe)");
	if (two_nodes(&self->node[0], &self->node[1]))
		SKIP(return, "needs two memory nodes");
	if (mtcopy_load())
		SKIP(return, "the migrate_mtcopy module is not available");
	self->page_size = getpagesize();
	migrate_offload_save(&self->saved);
	ASSERT_EQ(write_string(THREADS, "0"), 0);
	/* Batches of 64 KB and more: demotion's batches of up to 32 pages too. */
	ASSERT_EQ(write_string(MIN_BATCH, "65536"), 0);
	ASSERT_EQ(write_string(REASONS, DEFAULT_REASONS), 0);
}

FIXTURE_TEARDOWN(mtcopy)
{
	write_string(THREADS, "0");
	migrate_offload_restore(&self->saved);
	if (!access(FAIL_DIR, F_OK))
		write_string(FAIL_DIR "probability", "0");
	migrate_test_clock_report(_metadata);
}

/* What the counters must show after each move of bounce_kind(). */
enum expect {
	COPIED_ALL,	/* mtcopy copied every folio, none fell back */
	SKIP_REASON,	/* the reason is not allowed: the migrator was not called */
	SKIP_SMALL,	/* every batch is under min_batch_bytes: not called either */
	SOME_FALLBACK,	/* fault injection: the CPU copied some, mtcopy the rest */
	ALL_FALLBACK,	/* fault injection on every folio: the CPU copied them all */
};

/*
 * Bounce a buffer of @kind between the nodes; after every move check the
 * placement, every byte, and that the counters show @expect.
 */
static void bounce_kind(struct __test_metadata *_metadata, const int *node,
			size_t page_size, enum migrate_buf_kind kind, size_t size,
			enum expect expect)
{
	unsigned long nr_pages = size / page_size, nr_folios;
	struct migrate_buf b;
	unsigned int pass;
	int *status;
	void **addr;

	if (!migrate_buf_map_or_skip(_metadata, &b, kind, size))
		return;
	nr_folios = size / b.folio_size;
	status = calloc(nr_pages, sizeof(int));
	addr = migrate_addrs(b.buf, nr_folios, b.folio_size);
	ASSERT_NE(status, NULL);
	ASSERT_NE(addr, NULL);
	ASSERT_EQ(move_all(addr, nr_folios, node[0], status), 0);

	for (pass = 1; pass <= NR_PASSES; pass++) {
		unsigned long batches, copied, fallback, skipped;
		int to = node[pass & 1];
		struct offload_vmstat c0, c1;
		long bad;

		migrate_fill((uint64_t *)b.buf, size, pass);
		read_offload_vmstat(&c0);
		ASSERT_EQ(move_all(addr, nr_folios, to, status), 0);
		read_offload_vmstat(&c1);
		ASSERT_EQ(pages_not_on(b.buf, nr_pages, to, page_size, status), 0);
		bad = migrate_verify((uint64_t *)b.buf, size, pass);
		ASSERT_EQ(bad, -1)
			TH_LOG("pass %u: word %ld corrupt after moving to node %d", pass, bad, to);
		batches = c1.batches - c0.batches;
		copied = c1.copied - c0.copied;
		fallback = c1.fallback - c0.fallback;
		TH_LOG("pass %u: %lu folios moved; %lu batches, %lu copied by mtcopy, %lu fallback",
		       pass, nr_folios, batches, copied, fallback);
		switch (expect) {
		case COPIED_ALL:
			ASSERT_GE(copied, nr_folios);
			ASSERT_EQ(fallback, 0);
			break;
		case SKIP_REASON:
		case SKIP_SMALL:
			ASSERT_EQ(batches, 0);
			ASSERT_EQ(copied, 0);
			ASSERT_EQ(fallback, 0);
			skipped = expect == SKIP_REASON ? c1.skip_reason - c0.skip_reason :
							  c1.skip_small - c0.skip_small;
			ASSERT_GE(skipped, nr_folios);
			break;
		case SOME_FALLBACK:
			/* mtcopy copies every folio offered; the core distrusts some. */
			ASSERT_EQ(copied + fallback, nr_folios);
			ASSERT_GT(copied, 0);
			ASSERT_GT(fallback, 0);
			break;
		case ALL_FALLBACK:
			ASSERT_GT(batches, 0);
			ASSERT_EQ(copied, 0);
			ASSERT_EQ(fallback, nr_folios);
			break;
		}
	}
	free(addr);
	free(status);
	migrate_buf_unmap(&b);
}

TEST_F(mtcopy, anon_4k)
{
	bounce_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_ANON_4K, 16UL << 20,
		    COPIED_ALL);
}

/*
 * More than 512 folios in one batch: with 16 KB or 64 KB base pages
 * migrate_pages() batches up to HPAGE_PMD_NR (2048 or 8192) base pages, and
 * the migrator must be offered every one.  1024 base pages move in one
 * move_pages(2) call: mtcopy copies every folio, none is left to the CPU or
 * counted ineligible, and with base pages over 4 KB fewer batches than 1024
 * folios need at 512 each show that one batch held more.
 */
TEST_F(mtcopy, batch_over_512_folios)
{
	const unsigned long nr = 1024;
	size_t size = nr * self->page_size;
	struct offload_vmstat c0, c1;
	struct migrate_buf b;
	int *status, *nodes;
	unsigned long i;
	void **addr;
	long bad;

	if (!migrate_buf_map_or_skip(_metadata, &b, MIGRATE_BUF_ANON_4K, size))
		return;
	status = calloc(nr, sizeof(int));
	nodes = calloc(nr, sizeof(int));
	addr = migrate_addrs(b.buf, nr, self->page_size);
	ASSERT_NE(status, NULL);
	ASSERT_NE(nodes, NULL);
	ASSERT_NE(addr, NULL);
	for (i = 0; i < nr; i++)
		nodes[i] = self->node[1];
	ASSERT_EQ(move_all(addr, nr, self->node[0], status), 0);
	migrate_fill((uint64_t *)b.buf, size, 1);
	read_offload_vmstat(&c0);
	/* One call, so that migrate_pages() gets all of them at once. */
	ASSERT_EQ(move_pages_raw(nr, addr, nodes, status, MPOL_MF_MOVE), 0);
	read_offload_vmstat(&c1);
	ASSERT_EQ(pages_not_on(b.buf, nr, self->node[1], self->page_size, status), 0);
	bad = migrate_verify((uint64_t *)b.buf, size, 1);
	ASSERT_EQ(bad, -1)
		TH_LOG("word %ld corrupt after the move", bad);
	TH_LOG("%lu folios of %zu KB in %lu batches: %lu copied, %lu fallback, %lu ineligible",
	       nr, self->page_size >> 10, c1.batches - c0.batches, c1.copied - c0.copied,
	       c1.fallback - c0.fallback, c1.skip_ineligible - c0.skip_ineligible);
	ASSERT_EQ(c1.copied - c0.copied, nr);
	ASSERT_EQ(c1.fallback - c0.fallback, 0);
	ASSERT_EQ(c1.skip_ineligible - c0.skip_ineligible, 0);
	if (self->page_size > 4096)
		ASSERT_LT((c1.batches - c0.batches) * 512, nr);
	free(addr);
	free(nodes);
	free(status);
	migrate_buf_unmap(&b);
}

TEST_F(mtcopy, shmem)
{
	bounce_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_SHMEM, 16UL << 20,
		    COPIED_ALL);
}

/* One 2 MB folio per batch, split over 1, 2 and 3 threads. */
TEST_F(mtcopy, anon_thp_threads)
{
	static const char * const nthreads[] = { "1", "2", "3", "0" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(nthreads); i++) {
		ASSERT_EQ(write_string(THREADS, nthreads[i]), 0);
		bounce_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_ANON_THP,
			    16UL << 20, COPIED_ALL);
	}
}

/* With its reason not allowed, the migrator is never called; data intact. */
TEST_F(mtcopy, reason_disabled)
{
	ASSERT_EQ(write_string(REASONS, "demotion damon"), 0);
	bounce_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_ANON_THP,
		    8UL << 20, SKIP_REASON);
}

/* Batches under min_batch_bytes stay on the CPU; data intact. */
TEST_F(mtcopy, under_threshold)
{
	char max[32];

	/* A batch of 4 KB pages holds at most 512: 2 MB, under the largest threshold. */
	if (!migrate_offload_max_batch_bytes())
		SKIP(return, "no THP: the largest batch is unknown");
	snprintf(max, sizeof(max), "%lu", migrate_offload_max_batch_bytes());
	ASSERT_EQ(write_string(MIN_BATCH, max), 0);
	bounce_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_ANON_4K,
		    8UL << 20, SKIP_SMALL);
}

/*
 * fail_migrate_offload makes the core distrust folios mtcopy copied: the
 * CPU copies them again, pgmigrate_offload_fallback counts exactly those,
 * and every byte is right.  Half of them, then all of them.
 */
TEST_F(mtcopy, fault_injection)
{
	if (access(FAIL_DIR, F_OK))
		SKIP(return, "no " FAIL_DIR ": CONFIG_FAIL_MIGRATE_OFFLOAD is off");
	ASSERT_EQ(write_string(FAIL_DIR "interval", "1"), 0);
	ASSERT_EQ(write_string(FAIL_DIR "times", "-1"), 0);
	ASSERT_EQ(write_string(FAIL_DIR "verbose", "0"), 0);
	ASSERT_EQ(write_string(FAIL_DIR "probability", "50"), 0);
	bounce_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_ANON_4K,
		    8UL << 20, SOME_FALLBACK);
	ASSERT_EQ(write_string(FAIL_DIR "probability", "100"), 0);
	bounce_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_ANON_THP,
		    8UL << 20, ALL_FALLBACK);
	ASSERT_EQ(write_string(FAIL_DIR "probability", "0"), 0);
}

/*
 * Threads that use the buffer while it migrates: readers read all of it,
 * one writer rewrites its last WRITER_BYTES in full sweeps, each sweep
 * writing word i as (sweep << 32 | i).  Between sweeps the writer can be
 * paused, and then every word of its region must hold the last sweep.
 */
struct users {
	char *buf;
	size_t size;
	int stop, pause, paused;
	uint64_t sweep;
	uint64_t sink;
};

/* Shared between the threads without locks. */
#define LOAD(x)		__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

static void *reader(void *arg)
{
	struct users *u = arg;
	uint64_t sum = 0;
	size_t i;

	while (!LOAD(u->stop))
		for (i = 0; i < u->size && !LOAD(u->stop); i += 512)
			sum += LOAD(*(uint64_t *)(u->buf + i));
	STORE(u->sink, sum);
	return NULL;
}

static void *writer(void *arg)
{
	struct users *u = arg;
	uint64_t *w = (uint64_t *)(u->buf + u->size - WRITER_BYTES);
	size_t i, n = WRITER_BYTES / sizeof(*w);

	while (!LOAD(u->stop)) {
		if (LOAD(u->pause)) {
			STORE(u->paused, 1);
			while (LOAD(u->pause) && !LOAD(u->stop))
				sched_yield();
			STORE(u->paused, 0);
			continue;
		}
		STORE(u->sweep, u->sweep + 1);
		for (i = 0; i < n; i++)
			w[i] = u->sweep << 32 | i;
	}
	return NULL;
}

/* Pause the writer and check its region; returns the index of a bad word or -1. */
static long check_writer(struct users *u)
{
	uint64_t *w = (uint64_t *)(u->buf + u->size - WRITER_BYTES);
	size_t i, n = WRITER_BYTES / sizeof(*w);
	long bad = -1;

	STORE(u->pause, 1);
	while (!LOAD(u->paused))
		sched_yield();
	for (i = 0; i < n && bad < 0; i++)
		if (w[i] != (LOAD(u->sweep) << 32 | i))
			bad = i;
	STORE(u->pause, 0);
	return bad;
}

/*
 * 32 MB of each kind, 8 moves each (1.25 GB in all with mTHP), while two
 * readers and a writer use the buffer: every byte outside the writer's
 * region is verified after every move, the writer's region between its
 * sweeps, and the migrator must have copied every folio.
 */
static void scale_kind(struct __test_metadata *_metadata, const int *node,
		       size_t page_size, enum migrate_buf_kind kind)
{
	size_t size = SCALE_SIZE, vsize = SCALE_SIZE - WRITER_BYTES;
	unsigned long nr_pages = size / page_size, nr_folios, i, copied;
	pthread_t th[NR_READERS + 1];
	struct users u = { 0 };
	struct migrate_buf b;
	unsigned int pass;
	bool split = false;
	int *status;
	void **addr;

	if (!migrate_buf_map_or_skip(_metadata, &b, kind, size))
		return;
	nr_folios = size / b.folio_size;
	status = calloc(nr_pages, sizeof(int));
	addr = migrate_addrs(b.buf, nr_folios, b.folio_size);
	ASSERT_NE(status, NULL);
	ASSERT_NE(addr, NULL);
	/* Place the buffer: one real move to the second node, then back. */
	ASSERT_EQ(move_all(addr, nr_folios, node[1], status), 0);
	ASSERT_EQ(move_all(addr, nr_folios, node[0], status), 0);
	if (kind == MIGRATE_BUF_ANON_MTHP &&
	    pages_not_on(b.buf, nr_pages, node[0], page_size, status)) {
		/*
		 * The kernel split the mTHPs instead of moving them whole (only
		 * the page asked for moved): there is no mTHP to copy.
		 */
		free(addr);
		free(status);
		migrate_buf_unmap(&b);
		SKIP(return, "mTHPs split at their second move (see anon_mthp_moved_once)");
	}

	u.buf = b.buf;
	u.size = size;
	for (i = 0; i < NR_READERS; i++)
		ASSERT_EQ(pthread_create(&th[i], NULL, reader, &u), 0);
	ASSERT_EQ(pthread_create(&th[NR_READERS], NULL, writer, &u), 0);

	copied = read_vmstat("pgmigrate_offload_copied");
	for (pass = 1; pass <= SCALE_PASSES; pass++) {
		int to = node[pass & 1];
		long bad;

		migrate_fill((uint64_t *)b.buf, vsize, pass);
		ASSERT_EQ(move_all(addr, nr_folios, to, status), 0);
		/*
		 * mTHPs the kernel split on the way (see anon_mthp_moved_once):
		 * only the page asked for moved.
		 */
		if (kind == MIGRATE_BUF_ANON_MTHP &&
		    pages_not_on(b.buf, nr_pages, to, page_size, status)) {
			split = true;
			break;
		}
		ASSERT_EQ(pages_not_on(b.buf, nr_pages, to, page_size, status), 0);
		bad = migrate_verify((uint64_t *)b.buf, vsize, pass);
		ASSERT_EQ(bad, -1)
			TH_LOG("pass %u: word %ld corrupt after moving to node %d", pass, bad, to);
		bad = check_writer(&u);
		ASSERT_EQ(bad, -1)
			TH_LOG("pass %u: writer word %ld corrupt after moving to node %d",
			       pass, bad, to);
	}
	copied = read_vmstat("pgmigrate_offload_copied") - copied;
	STORE(u.stop, 1);
	for (i = 0; i <= NR_READERS; i++)
		pthread_join(th[i], NULL);
	if (split) {
		free(addr);
		free(status);
		migrate_buf_unmap(&b);
		SKIP(return, "mTHPs split at their second move (see anon_mthp_moved_once)");
	}
	TH_LOG("%lu MB moved in %zu KB folios; mtcopy copied %lu folios; writer swept %llu times",
	       size * SCALE_PASSES >> 20, b.folio_size >> 10, copied,
	       (unsigned long long)u.sweep);
	/*
	 * A folio a user thread holds a reference on at the batch copy is left
	 * to the CPU (pgmigrate_offload_skip_ineligible): most, not all.
	 */
	ASSERT_GE(copied * 10, nr_folios * SCALE_PASSES * 9);
	free(addr);
	free(status);
	migrate_buf_unmap(&b);
}

#define MTHP_64K_STATS	"/sys/kernel/mm/transparent_hugepage/hugepages-64kB/stats/"

/*
 * 64 KB mTHPs through the migrator, each moved once.  6.12.y marks an mTHP
 * it migrated partially mapped: the unmap phase removes the source's PTEs
 * one page at a time (the rmap flags the source partially mapped), and
 * migrate_folio_move() requeues the destination on the deferred split queue
 * with the source's flag (the stable backport "mm: migrate: requeue
 * destination folio on deferred split queue").  migrate_pages_batch() then
 * splits that folio the next time it migrates (its "rare folio on the
 * deferred split list"), so an mTHP moves whole only once.  Every pass
 * therefore faults a fresh buffer in on the source node and moves it once:
 * every byte is verified, mtcopy must have copied every 64 KB folio, and no
 * mTHP may have been split on the way.  The last pass keeps the migrator
 * out (its reason not allowed), to show the kernel marks the mTHPs it moved
 * with the CPU copy the same way.
 */
TEST_F(mtcopy, anon_mthp_moved_once)
{
	const size_t size = 8UL << 20;
	unsigned long nr_pages = size / self->page_size, nr_folios, policy;
	long long split0, partial0, partial1;
	unsigned int pass;

	if (access(MTHP_64K_ENABLED, W_OK))
		SKIP(return, "no 64 KB mTHP in this kernel");
	write_string(MTHP_64K_ENABLED, "always");
	for (pass = 1; pass <= NR_PASSES; pass++) {
		int from = self->node[pass & 1], to = self->node[!(pass & 1)];
		bool offload = pass < NR_PASSES;
		struct offload_vmstat c0, c1;
		struct migrate_buf b;
		int *status;
		void **addr;
		long bad;

		/* Fault the buffer in on @from. */
		policy = 1UL << from;
		ASSERT_EQ(syscall(SYS_set_mempolicy, MPOL_BIND, &policy, 8 * sizeof(policy) + 1),
			  0);
		if (!migrate_buf_map_or_skip(_metadata, &b, MIGRATE_BUF_ANON_MTHP, size))
			break;
		ASSERT_EQ(syscall(SYS_set_mempolicy, MPOL_DEFAULT, NULL, 0), 0);
		nr_folios = size / b.folio_size;
		status = calloc(nr_pages, sizeof(int));
		addr = migrate_addrs(b.buf, nr_folios, b.folio_size);
		ASSERT_NE(status, NULL);
		ASSERT_NE(addr, NULL);
		ASSERT_EQ(pages_not_on(b.buf, nr_pages, from, self->page_size, status), 0);
		migrate_fill((uint64_t *)b.buf, size, pass);
		ASSERT_EQ(write_string(REASONS, offload ? DEFAULT_REASONS : "damon"), 0);

		split0 = read_number(MTHP_64K_STATS "split");
		partial0 = read_number(MTHP_64K_STATS "nr_anon_partially_mapped");
		read_offload_vmstat(&c0);
		ASSERT_EQ(move_all(addr, nr_folios, to, status), 0);
		read_offload_vmstat(&c1);
		partial1 = read_number(MTHP_64K_STATS "nr_anon_partially_mapped");
		ASSERT_EQ(read_number(MTHP_64K_STATS "split") - split0, 0)
			TH_LOG("pass %u: the kernel split mTHPs it should have moved whole", pass);
		/* Every page, not only the one move_pages(2) was given. */
		ASSERT_EQ(pages_not_on(b.buf, nr_pages, to, self->page_size, status), 0);
		bad = migrate_verify((uint64_t *)b.buf, size, pass);
		ASSERT_EQ(bad, -1)
			TH_LOG("pass %u: word %ld corrupt after moving to node %d", pass, bad, to);
		TH_LOG("pass %u: %lu mTHPs moved: %lu copied, %lu fallback, %lu off; %lld partial",
		       pass, nr_folios, c1.copied - c0.copied, c1.fallback - c0.fallback,
		       c1.skip_reason - c0.skip_reason, partial1 - partial0);
		if (offload) {
			ASSERT_GE(c1.copied - c0.copied, nr_folios);
			ASSERT_EQ(c1.fallback - c0.fallback, 0);
		} else {
			ASSERT_EQ(c1.copied - c0.copied, 0);
			ASSERT_GE(c1.skip_reason - c0.skip_reason, nr_folios);
		}
		free(addr);
		free(status);
		migrate_buf_unmap(&b);
	}
	syscall(SYS_set_mempolicy, MPOL_DEFAULT, NULL, 0);
	write_string(MTHP_64K_ENABLED, "never");
}

TEST_F_TIMEOUT(mtcopy, scale_anon_4k, SCALE_BUDGET)
{
	scale_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_ANON_4K);
}

TEST_F_TIMEOUT(mtcopy, scale_anon_thp, SCALE_BUDGET)
{
	scale_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_ANON_THP);
}

TEST_F_TIMEOUT(mtcopy, scale_anon_mthp, SCALE_BUDGET)
{
	if (!access(MTHP_64K_ENABLED, W_OK))
		write_string(MTHP_64K_ENABLED, "always");
	scale_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_ANON_MTHP);
	if (!access(MTHP_64K_ENABLED, W_OK))
		write_string(MTHP_64K_ENABLED, "never");
}

TEST_F_TIMEOUT(mtcopy, scale_shmem, SCALE_BUDGET)
{
	scale_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_SHMEM);
}

TEST_F_TIMEOUT(mtcopy, scale_tmpfs, SCALE_BUDGET)
{
	scale_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_TMPFS);
}

/* What the demoting child reports. */
struct demote_result {
	unsigned long pages, on_lower, on_node;
	long bad;		/* first corrupt word, or -1 */
	int step;		/* how far it got */
};

/*
 * In a child: run on @nid's CPUs, allocate only on @nid, and write @size
 * bytes, more than @nid has free; reclaim must demote the oldest pages to a
 * lower tier to make room.  Then verify every byte and count where the
 * pages are.  Exits 0, or 1 with r->step saying where it stopped.
 */
static void demote_child(struct demote_result *r, int nid, unsigned long lower, size_t size)
{
	unsigned long policy = 1UL << nid, i;
	size_t page_size = getpagesize();
	int *status;
	void **addr;
	char *mem;

	r->step = 1;
	run_on_node(nid);
	if (syscall(SYS_set_mempolicy, MPOL_BIND, &policy, 8 * sizeof(policy) + 1))
		_exit(1);
	r->step = 2;
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED || madvise(mem, size, MADV_NOHUGEPAGE))
		_exit(1);
	r->step = 3;
	migrate_fill((uint64_t *)mem, size, 7);
	r->step = 4;
	r->bad = migrate_verify((uint64_t *)mem, size, 7);
	if (r->bad != -1)
		_exit(1);
	r->step = 5;
	r->pages = size / page_size;
	status = calloc(r->pages, sizeof(int));
	addr = migrate_addrs(mem, r->pages, page_size);
	if (!status || !addr)
		_exit(1);
	/* No target nodes: move_pages(2) only says where each page is. */
	if (move_pages_raw(r->pages, addr, NULL, status, 0))
		_exit(1);
	for (i = 0; i < r->pages; i++) {
		if (status[i] == nid)
			r->on_node++;
		else if (status[i] >= 0 && status[i] < 64 && (lower & (1UL << status[i])))
			r->on_lower++;
	}
	r->step = 6;
	_exit(0);
}

/*
 * Demotion under memory pressure, through the migrator: when the kernel
 * ranks a node slower (the harness guest's node 2 is memory-only and
 * slower in the ACPI HMAT), reclaim on the first node moves its pages
 * there (MR_DEMOTION, allowed in "reasons" by default).  Every byte must
 * survive, some pages must be on the lower tier, and mtcopy must have
 * copied them with no fallback.
 */
TEST_F_TIMEOUT(mtcopy, demotion, DEMOTION_BUDGET)
{
	unsigned long lower = lower_tier_nodes(self->node[0]), demoted, copied, fallback;
	char demotion[16] = "", balancing[16] = "";
	struct demote_result *r;
	size_t free, size;
	struct offload_vmstat c0, c1;
	int status;
	pid_t pid;

	if (!lower)
		SKIP(return,
		     "node %d has no lower memory tier: needs a node the kernel ranks slower (%s)",
		     self->node[0], "a memory-only node with ACPI HMAT figures, a dax kmem device");
	if (read_line(DEMOTION, demotion, sizeof(demotion)))
		SKIP(return, "no " DEMOTION);
	free = node_free_bytes(self->node[0]);
	if (!free)
		SKIP(return, "cannot read the free memory of node %d", self->node[0]);
	/* Past the free memory by 128 MB: reclaim has to demote that much. */
	size = (free + (128UL << 20)) & ~(PMD_SIZE_2M - 1);
	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(r, MAP_FAILED);
	r->bad = -1;

	ASSERT_EQ(write_string(DEMOTION, "true"), 0);
	/* NUMA balancing would move demoted pages back while the child reads them. */
	if (!read_line(NUMA_BALANCING, balancing, sizeof(balancing)))
		write_string(NUMA_BALANCING, "0");
	read_offload_vmstat(&c0);
	demoted = read_vmstat("pgdemote_kswapd") + read_vmstat("pgdemote_direct");
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		demote_child(r, self->node[0], lower, size);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	read_offload_vmstat(&c1);
	demoted = read_vmstat("pgdemote_kswapd") + read_vmstat("pgdemote_direct") - demoted;
	write_string(DEMOTION, demotion);
	if (balancing[0])
		write_string(NUMA_BALANCING, balancing);

	copied = c1.copied - c0.copied;
	fallback = c1.fallback - c0.fallback;
	TH_LOG("%zu MB written on node %d (%zu MB free): %lu pages demoted",
	       size >> 20, self->node[0], free >> 20, demoted);
	TH_LOG("%lu of %lu pages on the lower tier", r->on_lower, r->pages);
	TH_LOG("offload: %lu batches, %lu folios copied by mtcopy, %lu fallback",
	       c1.batches - c0.batches, copied, fallback);
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("the child stopped at step %d (status %#x; killed by the OOM killer if 9)%s",
		       r->step, status, r->step == 4 ? ": data corrupt" : "");
	ASSERT_EQ(r->bad, -1);
	ASSERT_GT(demoted, 0);
	ASSERT_GT(r->on_lower, 0);
	/* Nothing else migrates meanwhile with NUMA balancing off. */
	ASSERT_GT(copied, 0);
	ASSERT_EQ(fallback, 0);
	munmap(r, sizeof(*r));
}

/*
 * Unload and reload the migrator while another process migrates.  Each
 * unload starts, with delete_module(2) itself rather than a slower rmmod
 * process, as soon as the core reports a copy in flight (or after 2 s
 * without one); the core logs how many copies each unregistration waited
 * for, and at least one must have waited for one.
 */
TEST_F_TIMEOUT(mtcopy, unload_while_migrating, CHURN_BUDGET)
{
	size_t size = 4UL << 20;
	unsigned long before;
	int status, cycle, met, spin;
	char marker[64];
	pid_t pid;

	if (migrate_offload_in_flight() < 0)
		SKIP(return, "no /sys/kernel/debug/migrate_offload/in_flight");
	ASSERT_EQ(migrate_log_marker(marker, sizeof(marker), "mtcopy unload test"), 0);
	before = read_vmstat("pgmigrate_offload_copied");
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		migrate_forever(self->node, size);
	for (cycle = 0; cycle < CHURN_CYCLES; cycle++) {
		for (spin = 0; spin < 2000 && migrate_offload_in_flight() < 1; spin++)
			usleep(1000);
		ASSERT_EQ(syscall(SYS_delete_module, "migrate_mtcopy", O_NONBLOCK), 0)
			TH_LOG("cycle %d: unloading failed: %s", cycle, strerror(errno));
		ASSERT_FALSE(migrator_is("mtcopy"));
		usleep(5000);
		ASSERT_EQ(system("modprobe migrate_mtcopy"), 0);
		ASSERT_TRUE(migrator_is("mtcopy"));
		ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0)
			TH_LOG("cycle %d: the migrating process died: %d", cycle, status);
	}
	kill(pid, SIGKILL);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("the migrating process exited with %d: data corrupt or move failed",
		       WEXITSTATUS(status));
	ASSERT_GT(read_vmstat("pgmigrate_offload_copied"), before);
	met = migrate_unloads_during_copies(marker, "mtcopy");
	ASSERT_GE(met, 0) TH_LOG("cannot read the kernel log");
	TH_LOG("%d of %d unloads began while a copy was in flight", met, CHURN_CYCLES);
	ASSERT_GE(met, 1);
}

TEST_HARNESS_MAIN
