// SPDX-License-Identifier: GPL-2.0
/*
 * Migration copy offload, end to end, with the test migrator module
 * (CONFIG_TEST_MIGRATE_OFFLOAD, mm/test_migrate_offload.c).
 *
 * Each test moves a buffer between two nodes with move_pages(2), verifies
 * every byte after every move, and reads the test migrator's counters in
 * /sys/kernel/debug/test_migrate_offload/ to prove which path copied the
 * data: the migrator, or the CPU for the folios it was told to leave.  The
 * last test unloads and reloads the module while migrations run.
 *
 * Needs root, two memory nodes and the module; skips otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "migrate_helpers.h"

#define TMO_DIR		"/sys/kernel/debug/test_migrate_offload/"
#define MCO_DIR		"/sys/kernel/mm/migrate_offload/"
#define FAIL_DIR	"/sys/kernel/debug/fail_migrate_offload/"
#define TRACE_DIR	"/sys/kernel/tracing/"
#define NR_PASSES	4
#define CHURN_CYCLES	10
#define BULK_REASONS	"syscall_or_cpuset mempolicy_mbind numa_misplaced demotion damon"
/* What the test migrator writes in its sentinel modes (TMO_SENTINEL). */
#define TMO_SENTINEL	0x5e
/* What fail_migrate_offload leaves in a destination it fails. */
#define FAIL_BYTE	0xf1

static long long tmo(const char *file)
{
	char path[128];

	snprintf(path, sizeof(path), TMO_DIR "%s", file);
	return read_number(path);
}

static int tmo_set(const char *file, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), TMO_DIR "%s", file);
	return write_string(path, val);
}

static int set_file(const char *dir, const char *file, const char *val)
{
	char path[160];

	snprintf(path, sizeof(path), "%s%s", dir, file);
	return write_string(path, val);
}

static int tmo_loaded(void)
{
	return access(TMO_DIR "calls", R_OK) == 0;
}

/* Load the test migrator with @params (module parameters, or ""). */
static int tmo_load_with(const char *params)
{
	char cmd[128];

	/* One migrator at a time: make room (one rmmod each: busybox stops at an error). */
	if (system("rmmod migrate_mtcopy 2>/dev/null") < 0 ||
	    system("rmmod test_migrate_offload 2>/dev/null") < 0 || tmo_loaded())
		return -1;
	snprintf(cmd, sizeof(cmd), "modprobe test_migrate_offload %s 2>/dev/null", params);
	if (system(cmd))
		return -1;
	return tmo_loaded() ? 0 : -1;
}

static int tmo_load(void)
{
	if (tmo_loaded())
		return 0;
	return tmo_load_with("");
}

FIXTURE(migrate_offload)
{
	int node[2];
	size_t page_size;
	struct migrate_offload_settings saved;
};

FIXTURE_SETUP(migrate_offload)
{
	migrate_test_clock_start();
	if (geteuid())
		SKIP(return, "needs root (modprobe, debugfs)");
	if (two_nodes(&self->node[0], &self->node[1]))
		SKIP(return, "needs two memory nodes");
	if (tmo_load())
		SKIP(return, "the test_migrate_offload module is not available");
	self->page_size = getpagesize();
	/*
	 * A test that fails an ASSERT skips its teardown (the harness jumps
	 * past it): never inherit fault injection from one.
	 */
	if (!access(FAIL_DIR, F_OK))
		set_file(FAIL_DIR, "probability", "0");
	migrate_offload_save(&self->saved);
	ASSERT_EQ(tmo_set("fail_every", "0"), 0);
	ASSERT_EQ(tmo_set("delay_ms", "0"), 0);
	ASSERT_EQ(tmo_set("sentinel", "0"), 0);
	ASSERT_EQ(tmo_set("reset", "1"), 0);
	/* The common reasons, batches of 64 KB and more. */
	ASSERT_EQ(set_file(MCO_DIR, "reasons", BULK_REASONS), 0);
	ASSERT_EQ(set_file(MCO_DIR, "min_batch_bytes", "65536"), 0);
}

FIXTURE_TEARDOWN(migrate_offload)
{
	if (tmo_loaded()) {
		tmo_set("fail_every", "0");
		tmo_set("delay_ms", "0");
		tmo_set("sentinel", "0");
		tmo_set("late_write", "1");
	}
	migrate_offload_restore(&self->saved);
	if (!access(FAIL_DIR, F_OK))
		set_file(FAIL_DIR, "probability", "0");
	migrate_test_clock_report(_metadata);
}

/* The test migrator's own counts, and the core's in /proc/vmstat. */
struct counts {
	long long calls, offered, copied, bytes;
	unsigned long migrated, thp;
	struct offload_vmstat vm;
};

static void snap(struct counts *c)
{
	c->calls = tmo("calls");
	c->offered = tmo("folios_offered");
	c->copied = tmo("folios_copied");
	c->bytes = tmo("bytes_copied");
	c->migrated = read_vmstat("pgmigrate_success");
	c->thp = read_vmstat("thp_migration_success");
	read_offload_vmstat(&c->vm);
}

/* Set by tests that inject failures: the core then copies fewer than the migrator. */
static int injecting;

/*
 * Bounce @buf between the nodes; after every move check placement, every
 * byte, and that the migrator copied at least @min_copied_pct percent of
 * the folios moved (and, when @max_copied_pct < 100, at most that many).
 */
static void bounce(struct __test_metadata *_metadata, const int *node, size_t page_size,
		   char *buf, size_t size, size_t folio_size,
		   int min_copied_pct, int max_copied_pct)
{
	unsigned long nr_pages = size / page_size, nr_folios = size / folio_size;
	int *status = calloc(nr_pages, sizeof(int));
	void **addr = migrate_addrs(buf, nr_folios, folio_size);
	unsigned int pass;

	ASSERT_NE(status, NULL);
	ASSERT_NE(addr, NULL);
	migrate_fill((uint64_t *)buf, size, 0);
	ASSERT_EQ(move_all(addr, nr_folios, node[0], status), 0);

	for (pass = 1; pass <= NR_PASSES; pass++) {
		int to = node[pass & 1];
		struct counts a, b;
		long long copied;
		long bad;

		migrate_fill((uint64_t *)buf, size, pass);
		snap(&a);
		ASSERT_EQ(move_all(addr, nr_folios, to, status), 0);
		snap(&b);
		ASSERT_EQ(pages_not_on(buf, nr_pages, to, page_size, status), 0);
		bad = migrate_verify((uint64_t *)buf, size, pass);
		ASSERT_EQ(bad, -1)
			TH_LOG("pass %u: word %ld (page %lu) corrupt after moving to node %d",
			       pass, bad, bad * 8 / page_size, to);

		copied = b.copied - a.copied;
		TH_LOG("pass %u: %lu folios moved; migrator: offered %lld, copied %lld",
		       pass, nr_folios, b.offered - a.offered, copied);
		TH_LOG("pass %u: migrator copied %lld bytes in %lld calls",
		       pass, b.bytes - a.bytes, b.calls - a.calls);
		TH_LOG("pass %u: core: %lu batches, %lu copied, %lu fallback",
		       pass, b.vm.batches - a.vm.batches, b.vm.copied - a.vm.copied,
		       b.vm.fallback - a.vm.fallback);
		ASSERT_GE(b.migrated - a.migrated, nr_pages);
		if (folio_size > page_size)
			ASSERT_GE(b.thp - a.thp, nr_folios);
		ASSERT_GE(copied * 100, (long long)nr_folios * min_copied_pct);
		if (max_copied_pct < 100)
			ASSERT_LE(copied * 100, (long long)nr_folios * max_copied_pct);
		ASSERT_LE(copied, b.offered - a.offered);
		if (min_copied_pct == 100)
			ASSERT_GE(b.bytes - a.bytes, (long long)size);

		/* The core's counters tell the same story as the migrator. */
		ASSERT_EQ(b.vm.batches - a.vm.batches, b.calls - a.calls);
		ASSERT_EQ((b.vm.copied - a.vm.copied) + (b.vm.fallback - a.vm.fallback),
			  b.offered - a.offered);
		/* With fault injection the core copied fewer than the migrator. */
		ASSERT_LE(b.vm.copied - a.vm.copied, copied);
		ASSERT_EQ(b.vm.copied - a.vm.copied < copied, injecting);
	}
	free(addr);
	free(status);
}

/*
 * Map a buffer of @kind, bounce it expecting the migrator to copy between
 * @min and @max percent of the folios, unmap it.
 */
static void bounce_kind(struct __test_metadata *_metadata, const int *node, size_t page_size,
			enum migrate_buf_kind kind, size_t size, int min, int max)
{
	struct migrate_buf b;

	if (!migrate_buf_map_or_skip(_metadata, &b, kind, size))
		return;
	bounce(_metadata, node, page_size, b.buf, b.size, b.folio_size, min, max);
	migrate_buf_unmap(&b);
}

/* 8 MB of anonymous 4 KB pages: every folio copied by the migrator. */
TEST_F(migrate_offload, anon_4k)
{
	bounce_kind(_metadata, self->node, self->page_size,
		    MIGRATE_BUF_ANON_4K, 8UL << 20, 100, 100);
}

/* 16 MB of anonymous THPs. */
TEST_F(migrate_offload, anon_thp)
{
	bounce_kind(_metadata, self->node, self->page_size,
		    MIGRATE_BUF_ANON_THP, 16UL << 20, 100, 100);
}

/* 8 MB of shmem. */
TEST_F(migrate_offload, shmem)
{
	bounce_kind(_metadata, self->node, self->page_size,
		    MIGRATE_BUF_SHMEM, 8UL << 20, 100, 100);
}

/*
 * The migrator leaves every third folio: the CPU copies those, and every
 * byte is still right.
 */
TEST_F(migrate_offload, partial_copy)
{
	ASSERT_EQ(tmo_set("fail_every", "3"), 0);
	bounce_kind(_metadata, self->node, self->page_size,
		    MIGRATE_BUF_ANON_4K, 8UL << 20, 60, 70);
}

/* Below min_batch_bytes every batch stays on the CPU. */
TEST_F(migrate_offload, threshold_keeps_small_batches_on_cpu)
{
	struct counts a, b;

	char max[32];

	if (!migrate_offload_max_batch_bytes())
		SKIP(return, "no THP: the largest batch is unknown");
	snprintf(max, sizeof(max), "%lu", migrate_offload_max_batch_bytes());
	ASSERT_EQ(set_file(MCO_DIR, "min_batch_bytes", max), 0);
	snap(&a);
	bounce_kind(_metadata, self->node, self->page_size,
		    MIGRATE_BUF_ANON_4K, 4UL << 20, 0, 0);
	snap(&b);
	ASSERT_EQ(b.calls, a.calls);
	ASSERT_GE(b.vm.skip_small - a.vm.skip_small, NR_PASSES * (4UL << 20) / self->page_size);
}

/* A reason the admin did not allow never reaches the migrator. */
TEST_F(migrate_offload, reason_disabled)
{
	struct counts a, b;

	ASSERT_EQ(set_file(MCO_DIR, "reasons", "demotion damon"), 0);
	snap(&a);
	bounce_kind(_metadata, self->node, self->page_size,
		    MIGRATE_BUF_ANON_4K, 4UL << 20, 0, 0);
	snap(&b);
	ASSERT_EQ(b.calls, a.calls);
	ASSERT_GE(b.vm.skip_reason - a.vm.skip_reason, NR_PASSES * (4UL << 20) / self->page_size);
}

/*
 * fail_migrate_offload makes the core distrust half of what the migrator
 * copied and overwrite their destinations with FAIL_BYTE: only the CPU copy
 * of the move phase puts the data back.  The fallback counter counts them,
 * and every byte is right (bounce() checks both).
 */
TEST_F(migrate_offload, fault_injection)
{
	if (access(FAIL_DIR, F_OK))
		SKIP(return, "no " FAIL_DIR ": CONFIG_FAIL_MIGRATE_OFFLOAD is off");
	ASSERT_EQ(set_file(FAIL_DIR, "interval", "1"), 0);
	ASSERT_EQ(set_file(FAIL_DIR, "times", "-1"), 0);
	ASSERT_EQ(set_file(FAIL_DIR, "verbose", "0"), 0);
	ASSERT_EQ(set_file(FAIL_DIR, "probability", "50"), 0);
	injecting = 1;
	bounce_kind(_metadata, self->node, self->page_size,
		    MIGRATE_BUF_ANON_4K, 4UL << 20, 100, 100);
	injecting = 0;
	ASSERT_EQ(set_file(FAIL_DIR, "probability", "0"), 0);
}

/*
 * Move @size bytes of anonymous 4 KB pages once, with the test migrator in
 * sentinel mode @mode; return the buffer (munmap() it) and the counters
 * before and after.
 */
static char *move_with_sentinel(struct __test_metadata *_metadata, const int *node,
				size_t page_size, size_t size, const char *mode,
				struct counts *a, struct counts *b)
{
	unsigned long nr = size / page_size;
	int *status = calloc(nr, sizeof(int));
	void **addr;
	char *buf;

	buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || !status)
		return NULL;
	madvise(buf, size, MADV_NOHUGEPAGE);
	addr = migrate_addrs(buf, nr, page_size);
	if (!addr)
		return NULL;
	migrate_fill((uint64_t *)buf, size, 1);
	if (move_all(addr, nr, node[0], status))
		return NULL;
	if (tmo_set("sentinel", mode))
		return NULL;
	snap(a);
	if (move_all(addr, nr, node[1], status))
		return NULL;
	snap(b);
	tmo_set("sentinel", "0");
	if (pages_not_on(buf, nr, node[1], page_size, status))
		return NULL;
	free(addr);
	free(status);
	return buf;
}

/*
 * The move phase must not copy what the migrator marked copied: that is
 * the copy offload saves.  The test migrator writes a sentinel instead of
 * the data and marks it copied: the sentinel must survive the move.
 */
TEST_F(migrate_offload, move_phase_skips_copied)
{
	size_t size = 2UL << 20;
	struct counts a, b;
	char *buf;

	buf = move_with_sentinel(_metadata, self->node, self->page_size, size, "1", &a, &b);
	ASSERT_NE(buf, NULL);
	TH_LOG("migrator marked %lld of %lu folios; core counted %lu copied",
	       b.offered - a.offered, size / self->page_size, b.vm.copied - a.vm.copied);
	ASSERT_EQ(b.offered - a.offered, (long long)(size / self->page_size));
	ASSERT_EQ(b.vm.copied - a.vm.copied, size / self->page_size);
	ASSERT_TRUE(all_bytes_are(buf, size, TMO_SENTINEL))
		TH_LOG("the move phase copied again folios the migrator had copied");
	munmap(buf, size);
}

/*
 * And it must copy what the migrator did not mark, whatever the migrator
 * left in the destination: the sentinel is replaced by the data.
 */
TEST_F(migrate_offload, move_phase_copies_unmarked)
{
	size_t size = 2UL << 20;
	struct counts a, b;
	char *buf;
	long bad;

	buf = move_with_sentinel(_metadata, self->node, self->page_size, size, "2", &a, &b);
	ASSERT_NE(buf, NULL);
	ASSERT_EQ(b.offered - a.offered, (long long)(size / self->page_size));
	ASSERT_EQ(b.vm.copied - a.vm.copied, 0);
	ASSERT_EQ(b.vm.fallback - a.vm.fallback, size / self->page_size);
	bad = migrate_verify((uint64_t *)buf, size, 1);
	ASSERT_EQ(bad, -1)
		TH_LOG("word %ld is not the data: the CPU did not copy an unmarked folio", bad);
	munmap(buf, size);
}

/*
 * A migrator whose engine may still write some destinations (a hung
 * device) reports their folios stuck.  The core fails them, the
 * one-by-one retry of move_pages(2) moves them with the CPU to new
 * destinations, and the stuck ones are never mapped: the test migrator
 * writes its sentinel into each of them after the move, as a late DMA
 * write would, and not one byte of the buffer may change.
 */
TEST_F(migrate_offload, stuck_destinations_stay_unused)
{
	size_t size = 1UL << 20;
	unsigned long nr = size / self->page_size;
	int *status = calloc(nr, sizeof(int));
	struct counts a, b;
	long long stuck;
	char min[32];
	void **addr;
	char *buf;
	long bad;

	buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(buf, MAP_FAILED);
	ASSERT_NE(status, NULL);
	madvise(buf, size, MADV_NOHUGEPAGE);
	addr = migrate_addrs(buf, nr, self->page_size);
	ASSERT_NE(addr, NULL);
	migrate_fill((uint64_t *)buf, size, 3);
	ASSERT_EQ(move_all(addr, nr, self->node[0], status), 0);

	/*
	 * The batch goes to the migrator, the one-folio batches of the
	 * retry do not: with 64 KB pages one folio is the fixture's 64 KB
	 * threshold, and the migrator would leave it stuck again.
	 */
	snprintf(min, sizeof(min), "%zu", 2 * self->page_size);
	ASSERT_EQ(set_file(MCO_DIR, "min_batch_bytes", min), 0);
	stuck = tmo("folios_stuck");
	ASSERT_EQ(tmo_set("sentinel", "3"), 0);
	snap(&a);
	ASSERT_EQ(move_all(addr, nr, self->node[1], status), 0);
	snap(&b);
	ASSERT_EQ(tmo_set("sentinel", "0"), 0);
	ASSERT_EQ(tmo_set("late_write", "1"), 0);

	TH_LOG("%lld folios offered, %lld stuck (vmstat %lu), %lu copied",
	       b.offered - a.offered, tmo("folios_stuck") - stuck, b.vm.stuck - a.vm.stuck,
	       b.vm.copied - a.vm.copied);
	ASSERT_EQ(b.offered - a.offered, (long long)nr);
	ASSERT_EQ(tmo("folios_stuck") - stuck, (long long)nr);
	ASSERT_EQ(b.vm.stuck - a.vm.stuck, nr);
	ASSERT_EQ(b.vm.copied - a.vm.copied, 0)
		TH_LOG("a folio both copied and stuck counted as copied");
	ASSERT_EQ(pages_not_on(buf, nr, self->node[1], self->page_size, status), 0);
	bad = migrate_verify((uint64_t *)buf, size, 3);
	ASSERT_EQ(bad, -1)
		TH_LOG("word %ld changed: a stuck destination was mapped", bad);
	free(addr);
	free(status);
	munmap(buf, size);
}

/* One migrate_offload_batch event per batch, with the folios offered. */
TEST_F(migrate_offload, tracepoint)
{
	const char *ev = TRACE_DIR "events/migrate_offload/migrate_offload_batch/enable";
	unsigned long events = 0, folios = 0, f;
	struct counts a, b;
	char line[512], *p;
	FILE *trace;
	int fd;

	if (access(ev, W_OK))
		SKIP(return, "no migrate_offload tracepoint in tracefs");
	/* Opening "trace" with O_TRUNC clears the buffer. */
	fd = open(TRACE_DIR "trace", O_WRONLY | O_TRUNC);
	ASSERT_GE(fd, 0);
	close(fd);
	ASSERT_EQ(write_string(ev, "1"), 0);
	snap(&a);
	bounce_kind(_metadata, self->node, self->page_size,
		    MIGRATE_BUF_ANON_4K, 4UL << 20, 100, 100);
	snap(&b);
	ASSERT_EQ(write_string(ev, "0"), 0);

	trace = fopen(TRACE_DIR "trace", "r");
	ASSERT_NE(trace, NULL);
	while (fgets(line, sizeof(line), trace)) {
		p = strstr(line, "migrate_offload_batch: ");
		if (!p)
			continue;
		events++;
		ASSERT_NE(strstr(p, "reason=syscall_or_cpuset "), NULL) TH_LOG("%s", p);
		p = strstr(p, "folios=");
		ASSERT_NE(p, NULL);
		f = strtoul(p + strlen("folios="), NULL, 10);
		ASSERT_GT(f, 0);
		folios += f;
	}
	fclose(trace);
	TH_LOG("%lu events for %lld calls, %lu folios for %lld offered",
	       events, b.calls - a.calls, folios, b.offered - a.offered);
	ASSERT_EQ(events, b.calls - a.calls);
	ASSERT_EQ(folios, b.offered - a.offered);
}

/*
 * Fragment memory (fault in 64 MB, free every other page), compact it, and
 * check the pages left.  Returns the base pages compaction migrated, or -1
 * if a page left lost its data or the buffer cannot be set up; @a and @b
 * are the counters around the compaction.
 */
static long fragment_and_compact(size_t page_size, struct counts *a, struct counts *b)
{
	size_t size = 64UL << 20, i;
	char *buf;

	long moved;

	buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return -1;
	madvise(buf, size, MADV_NOHUGEPAGE);
	memset(buf, 7, size);
	for (i = 0; i < size; i += 2 * page_size)
		madvise(buf + i, page_size, MADV_DONTNEED);
	snap(a);
	if (write_string("/proc/sys/vm/compact_memory", "1")) {
		munmap(buf, size);
		return -1;
	}
	snap(b);
	moved = b->migrated - a->migrated;
	for (i = page_size; i < size; i += 2 * page_size)
		if (buf[i] != 7)
			moved = -1;
	munmap(buf, size);
	return moved;
}

/*
 * Compaction migrates with MR_COMPACTION, which the admin's reasons leave
 * out by default.  The test migrator is loaded declaring every reason, so
 * only the core's check of the admin's reasons keeps compaction away from
 * it; once the admin lists compaction, compaction uses it.
 */
TEST_F(migrate_offload, compaction_follows_reasons)
{
	struct counts a, b;
	long moved;

	if (access("/proc/sys/vm/compact_memory", W_OK))
		SKIP(return, "no /proc/sys/vm/compact_memory");
	ASSERT_EQ(tmo_load_with("all_reasons=1"), 0);
	ASSERT_EQ(set_file(MCO_DIR, "min_batch_bytes", "0"), 0);

	moved = fragment_and_compact(self->page_size, &a, &b);
	ASSERT_GE(moved, 0) TH_LOG("compaction lost data, or could not be set up");
	TH_LOG("without compaction in reasons: %ld pages migrated, %lld migrator calls",
	       moved, b.calls - a.calls);
	TH_LOG("%lu folios skipped for their reason", b.vm.skip_reason - a.vm.skip_reason);
	if (!moved) {
		tmo_load_with("");
		SKIP(return, "compaction migrated nothing");
	}
	ASSERT_EQ(b.calls, a.calls);
	ASSERT_GE(b.vm.skip_reason - a.vm.skip_reason, 1);

	ASSERT_EQ(set_file(MCO_DIR, "reasons", BULK_REASONS " compaction"), 0);
	moved = fragment_and_compact(self->page_size, &a, &b);
	ASSERT_GE(moved, 0) TH_LOG("compaction lost data, or could not be set up");
	TH_LOG("with compaction in reasons: %ld pages migrated, %lld migrator calls",
	       moved, b.calls - a.calls);
	TH_LOG("%lld folios copied", b.copied - a.copied);
	TH_LOG("core: %lu batches, %lu skipped for their reason, %lu small, %lu ineligible",
	       b.vm.batches - a.vm.batches, b.vm.skip_reason - a.vm.skip_reason,
	       b.vm.skip_small - a.vm.skip_small, b.vm.skip_ineligible - a.vm.skip_ineligible);
	ASSERT_EQ(tmo_load_with(""), 0);
	if (!moved)
		SKIP(return, "compaction migrated nothing the second time");
	ASSERT_GT(b.calls, a.calls);
	ASSERT_GT(b.copied, a.copied);
}

/*
 * Unload and reload the migrator while another process migrates and
 * verifies in a loop: unregister must wait for copies in flight, the
 * module must be unloadable while registered, and no byte may be lost.
 * Each batch is held 100 ms, and each unload waits until a copy is in
 * flight; the core logs how many copies were in flight when it began to
 * unregister, and at least one unload must have met one.
 */
TEST_F(migrate_offload, unload_while_migrating)
{
	size_t size = 4UL << 20;
	int status, cycle, met, wait;
	char marker[64];
	pid_t pid;

	ASSERT_EQ(migrate_log_marker(marker, sizeof(marker), "unload test"), 0);
	ASSERT_EQ(tmo_set("delay_ms", "100"), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		migrate_forever(self->node, size);
	for (cycle = 0; cycle < CHURN_CYCLES; cycle++) {
		/* Up to 5 s for the migrating process to be in a copy. */
		for (wait = 0; wait < 500 && migrate_offload_in_flight() < 1; wait++)
			usleep(10000);
		ASSERT_EQ(system("rmmod test_migrate_offload"), 0)
			TH_LOG("cycle %d: rmmod failed while registered", cycle);
		ASSERT_FALSE(tmo_loaded());
		usleep(20000);
		ASSERT_EQ(system("modprobe test_migrate_offload"), 0);
		ASSERT_EQ(tmo_set("delay_ms", "100"), 0);
		ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0)
			TH_LOG("cycle %d: the migrating process died: %d", cycle, status);
	}
	usleep(300000);
	ASSERT_GT(tmo("calls"), 0);
	kill(pid, SIGKILL);
	met = migrate_unloads_during_copies(marker, "test_migrate_offload");
	ASSERT_GE(met, 0) TH_LOG("cannot read the kernel log");
	TH_LOG("%d of %d unloads began while a copy was in flight", met, CHURN_CYCLES);
	ASSERT_GE(met, 1);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("the migrating process exited with %d: data corrupt or move failed",
		       WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
