// SPDX-License-Identifier: GPL-2.0
/*
 * Data integrity of page migration with move_pages(2).
 *
 * Each test fills a buffer with a pattern that differs for every 64-bit word
 * and pass, moves the whole buffer between two nodes with move_pages(2) calls
 * of many folios (so migrate_pages() works on real batches, not on one folio
 * at a time), and then checks three things: every page reports the target
 * node, every byte still holds the pattern, and /proc/vmstat counted at least
 * as many migrated pages as were moved.  The buffer goes back and forth
 * several times with a fresh pattern each time.
 *
 * Needs two memory nodes; skips otherwise.  Run as root or not: move_pages(2)
 * of the caller's own pages needs no privilege.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "migrate_helpers.h"

#define NR_PASSES	4

FIXTURE(migrate_integrity)
{
	int node[2];
	size_t page_size;
};

FIXTURE_SETUP(migrate_integrity)
{
	migrate_test_clock_start();
	if (two_nodes(&self->node[0], &self->node[1]))
		SKIP(return, "needs two memory nodes");
	self->page_size = getpagesize();
}

FIXTURE_TEARDOWN(migrate_integrity)
{
	migrate_test_clock_report(_metadata);
}

/*
 * Bounce @buf (@size bytes, folios of @folio_size) between node[0] and
 * node[1] NR_PASSES times and check nodes, bytes and counters after each move.
 */
static void bounce(struct __test_metadata *_metadata, const int *node,
		   size_t page_size, char *buf, size_t size, size_t folio_size)
{
	unsigned long nr_pages = size / page_size;
	unsigned long nr_folios = size / folio_size;
	int *status = calloc(nr_pages, sizeof(int));
	void **addr = migrate_addrs(buf, nr_folios, folio_size);
	unsigned int pass;

	ASSERT_NE(status, NULL);
	ASSERT_NE(addr, NULL);

	/* Start from a known node. */
	migrate_fill((uint64_t *)buf, size, 0);
	ASSERT_EQ(move_all(addr, nr_folios, node[0], status), 0);
	ASSERT_EQ(pages_not_on(buf, nr_pages, node[0], page_size, status), 0);

	for (pass = 1; pass <= NR_PASSES; pass++) {
		int to = (pass & 1) ? node[1] : node[0];
		unsigned long ok0 = read_vmstat("pgmigrate_success");
		unsigned long thp0 = read_vmstat("thp_migration_success");
		unsigned long ok, thp;
		long bad;

		migrate_fill((uint64_t *)buf, size, pass);
		ASSERT_EQ(move_all(addr, nr_folios, to, status), 0)
			TH_LOG("pass %u: folios left behind moving to node %d", pass, to);
		ASSERT_EQ(pages_not_on(buf, nr_pages, to, page_size, status), 0)
			TH_LOG("pass %u: pages not on node %d", pass, to);
		bad = migrate_verify((uint64_t *)buf, size, pass);
		ASSERT_EQ(bad, -1)
			TH_LOG("pass %u: word %ld (page %lu) corrupt after moving to node %d",
			       pass, bad, bad * 8 / page_size, to);
		ok = read_vmstat("pgmigrate_success") - ok0;
		thp = read_vmstat("thp_migration_success") - thp0;
		ASSERT_GE(ok, nr_pages)
			TH_LOG("pass %u: pgmigrate_success grew by %lu, moved %lu pages",
			       pass, ok, nr_pages);
		if (folio_size > page_size)
			ASSERT_GE(thp, nr_folios)
				TH_LOG("pass %u: thp_migration_success grew by %lu, moved %lu THPs",
				       pass, thp, nr_folios);
	}
	free(addr);
	free(status);
}

/* Map a buffer of @kind, bounce it, unmap it; skip if THPs cannot be had. */
static void bounce_kind(struct __test_metadata *_metadata, const int *node,
			size_t page_size, enum migrate_buf_kind kind, size_t size)
{
	struct migrate_buf b;

	if (!migrate_buf_map_or_skip(_metadata, &b, kind, size))
		return;
	bounce(_metadata, node, page_size, b.buf, b.size, b.folio_size);
	migrate_buf_unmap(&b);
}

/* 16 MB of private anonymous 4 KB pages: several full batches of 512 folios. */
TEST_F(migrate_integrity, anon_4k)
{
	bounce_kind(_metadata, self->node, self->page_size,
		    MIGRATE_BUF_ANON_4K, 16UL << 20);
}

/* 32 MB of private anonymous 2 MB THPs. */
TEST_F(migrate_integrity, anon_thp)
{
	bounce_kind(_metadata, self->node, self->page_size,
		    MIGRATE_BUF_ANON_THP, 32UL << 20);
}

/* 16 MB of shared anonymous memory: shmem pagecache. */
TEST_F(migrate_integrity, shmem)
{
	bounce_kind(_metadata, self->node, self->page_size,
		    MIGRATE_BUF_SHMEM, 16UL << 20);
}

/* A single page: the smallest migration, one folio per call. */
TEST_F(migrate_integrity, anon_single_page)
{
	bounce_kind(_metadata, self->node, self->page_size,
		    MIGRATE_BUF_ANON_4K, self->page_size);
}

TEST_HARNESS_MAIN
