// SPDX-License-Identifier: GPL-2.0
/*
 * Memory tiering through a migrator, end to end, on a machine whose kernel
 * ranks a node below the others (the series' QEMU guest: node 2 is
 * memory-only and slower in the ACPI HMAT).  With migrate_mtcopy loaded and
 * the default admin policy:
 *
 * - DAMON (paddr operations, sysfs): a migrate_cold scheme on the top node's
 *   physical range demotes a buffer nobody uses to the lower node while a
 *   thread keeps using a part of it; then a migrate_hot scheme on the lower
 *   node's range promotes it back while the thread uses all of it.  DAMON
 *   hands migrate_pages() whole regions (MR_DAMON), batches of up to 512
 *   base pages, above the default min_batch_bytes.
 * - NUMA balancing in tiering mode (kernel.numa_balancing = 2) promotes a
 *   buffer placed on the lower node that a thread on the top node's CPUs
 *   keeps using (MR_NUMA_MISPLACED): one folio per hint fault.  A THP is
 *   above the default min_batch_bytes and goes to the migrator; a 4 KB page
 *   is under it and is copied by the CPU.
 * - With "damon" or "numa_misplaced" taken out of the allowed reasons, the
 *   same runs move the pages with the CPU and the migrator sees none.
 *
 * Each for anonymous 4 KB pages and THPs.  Every byte is verified after the
 * pages moved.  Where they are comes from move_pages(2); who moved them and
 * who copied them from DAMON's scheme stats, pgpromote_success,
 * numa_pages_migrated, the offload counters and the migrate_offload
 * tracepoints, whose reason field tells migrations apart.  Every knob a test
 * changes is put back by its teardown.
 *
 * Needs root, a node with CPUs and a lower tier, migrate_mtcopy, DAMON's
 * sysfs interface (CONFIG_DAMON_SYSFS, CONFIG_DAMON_PADDR) and, for NUMA
 * balancing, its scan knobs in debugfs (CONFIG_SCHED_DEBUG); skips
 * otherwise, saying why.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "migrate_helpers.h"
#include "migrate_tiering.h"

/* The kernel's defaults, written by every test's setup. */
#define DEFAULT_REASONS	"syscall_or_cpuset mempolicy_mbind numa_misplaced demotion damon"
#define DEFAULT_MIN_BATCH "262144"
#define REASONS_BUT_DAMON "syscall_or_cpuset mempolicy_mbind numa_misplaced demotion"
#define REASONS_BUT_NUMA "syscall_or_cpuset mempolicy_mbind demotion damon"
#define NUMA_BALANCING	"/proc/sys/kernel/numa_balancing"
#define NB_TIERING	"2"	/* NUMA_BALANCING_MEMORY_TIERING */
#define NB_DIR		"/sys/kernel/debug/sched/numa_balancing/"
#define TRACE_KB	4096
/*
 * DAMON's migrate_cold moves regions no sample found accessed for this
 * many aggregation intervals (100 ms each by default).
 */
#define COLD_AGE	5
/*
 * How long a test waits for DAMON or NUMA balancing to have moved the
 * whole buffer, and its budget.  In the check guest (a debug kernel under
 * QEMU TCG, 4 vCPUs on 2 host cores) a DAMON test took at most 35 s (30 of
 * them COLD_SETTLE, when cold pages next to pages in use stayed) and a NUMA
 * balancing test 2 s; a test passes or fails on where the pages are and
 * what they hold, never on time.
 */
#define MOVE_DEADLINE	150
/* How long DAMON gets to move every cold page before near-hot ones are let be. */
#define COLD_SETTLE	30
#define TIERING_BUDGET	400

/* The scan knobs a NUMA balancing test sets, and the values it sets. */
static const struct {
	const char *file, *value;
} nb_knobs[] = {
	/* Scan a VMA at once, not a second after the task first used it. */
	{ "scan_delay_ms", "0" },
	/* Rescan soon (the kernel keeps at least 100 ms at 256 MB per scan). */
	{ "scan_period_min_ms", "100" },
	{ "scan_period_max_ms", "1000" },
	{ "scan_size_mb", "256" },
};

#define NR_NB_KNOBS	ARRAY_SIZE(nb_knobs)

/*
 * A thread that keeps using [buf, buf + end): it reads the first word of
 * every page, checks it, and writes it back, until told to stop.  The
 * main thread may move @end.
 *
 * DAMON sees an access in a page table's accessed bit, which DAMON clears
 * and the CPU sets again only when it loads the translation into its TLB;
 * x86 does not flush the TLB when the bit is cleared.  A thread that keeps
 * using a few MB never misses QEMU's large software TLB, so its pages
 * would look idle forever.  After each pass the thread flushes its TLB
 * entries for the range, as the TLB misses of a busier machine would, by
 * taking write permission away and giving it back.
 */
struct user {
	pthread_t thread;
	uint64_t *buf;
	size_t page_size;
	size_t end;		/* atomic: the main thread moves it */
	bool stop;		/* atomic */
	unsigned long passes;
	long bad;		/* first wrong word, or -1 */
	bool flush_tlb;		/* for DAMON; NUMA balancing's hint faults need none */
	bool mprotect_failed;
	unsigned int pass;	/* the pattern's pass */
};

static void *user_fn(void *arg)
{
	struct user *u = arg;
	size_t step = u->page_size / sizeof(uint64_t), i;

	while (!__atomic_load_n(&u->stop, __ATOMIC_RELAXED)) {
		size_t end = __atomic_load_n(&u->end, __ATOMIC_RELAXED);

		for (i = 0; i < end / sizeof(uint64_t); i += step) {
			uint64_t v = __atomic_load_n(&u->buf[i], __ATOMIC_RELAXED);

			if (v != migrate_pattern(i, u->pass) && u->bad < 0)
				u->bad = i;
			__atomic_store_n(&u->buf[i], v, __ATOMIC_RELAXED);
		}
		if (u->flush_tlb && (mprotect(u->buf, end, PROT_READ) ||
				     mprotect(u->buf, end, PROT_READ | PROT_WRITE)))
			u->mprotect_failed = true;
		u->passes++;
	}
	return NULL;
}

static int user_start(struct user *u, char *buf, size_t end, unsigned int pass, bool flush_tlb)
{
	u->buf = (uint64_t *)buf;
	u->page_size = getpagesize();
	u->end = end;
	u->stop = false;
	u->passes = 0;
	u->bad = -1;
	u->flush_tlb = flush_tlb;
	u->mprotect_failed = false;
	u->pass = pass;
	return pthread_create(&u->thread, NULL, user_fn, u);
}

static void user_stop(struct user *u)
{
	__atomic_store_n(&u->stop, true, __ATOMIC_RELAXED);
	pthread_join(u->thread, NULL);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The page frames of the @nr pages at @buf, in one read of
 * /proc/self/pagemap (0 for a page not present).  0, or -1.
 */
static int pfns_of(char *buf, unsigned long nr, unsigned long *pfn)
{
	uint64_t *e = calloc(nr, sizeof(*e));
	int fd = open("/proc/self/pagemap", O_RDONLY);
	ssize_t len = nr * sizeof(*e);
	unsigned long i;
	int ret = -1;

	if (e && fd >= 0 &&
	    pread(fd, e, len, (uintptr_t)buf / getpagesize() * sizeof(*e)) == len) {
		for (i = 0; i < nr; i++)
			pfn[i] = e[i] >> 63 ? e[i] & ((1ULL << 55) - 1) : 0;
		ret = 0;
	}
	if (fd >= 0)
		close(fd);
	free(e);
	return ret;
}

/*
 * Log the pages at @buf that are not on @node, by the nodes in @status
 * (what the last wait for them found): how many lie in regions the running
 * scheme chooses, and eight of them spread over the buffer, each with its
 * region.  A page in a chosen region was found cold (or hot) by DAMON and
 * did not migrate; any other was not found so.  Call it while kdamond 0
 * runs.
 */
static void log_pages_off(struct __test_metadata *_metadata, char *buf, unsigned long nr_pages,
			  int node, const int *status)
{
	struct damon_tried_region *regions = calloc(DAMON_MAX_NR_REGIONS, sizeof(*regions));
	unsigned long *pfn = calloc(nr_pages, sizeof(*pfn));
	unsigned long i, off = 0, chosen = 0, seen = 0, step;
	const struct damon_tried_region *r;
	unsigned long long pa;
	int nr_regions = -1;

	if (!pfn || !regions || pfns_of(buf, nr_pages, pfn))
		TH_LOG("cannot read the pages' frame numbers");
	else
		nr_regions = damon_tried_regions(regions, DAMON_MAX_NR_REGIONS);
	for (i = 0; i < nr_pages; i++) {
		if (status[i] == node)
			continue;
		off++;
		pa = pfn ? (unsigned long long)pfn[i] * getpagesize() : 0;
		if (nr_regions > 0 && damon_region_of(regions, nr_regions, pa))
			chosen++;
	}
	if (nr_regions >= 0)
		TH_LOG("%lu pages off node %d, %lu of them in the %d regions the scheme chooses",
		       off, node, chosen, nr_regions);
	step = off > 8 ? off / 8 : 1;
	for (i = 0; i < nr_pages && seen < step * 8; i++) {
		if (status[i] == node || seen++ % step)
			continue;
		TH_LOG("page %lu (pfn %#lx) is on node %d", i, pfn ? pfn[i] : 0, status[i]);
		if (nr_regions <= 0)
			continue;
		pa = (unsigned long long)pfn[i] * getpagesize();
		r = damon_region_of(regions, nr_regions, pa);
		if (r)
			TH_LOG("  in a chosen region [%#llx, %#llx), nr_accesses %lld, age %lld",
			       r->start, r->end, r->nr_accesses, r->age);
	}
	free(regions);
	free(pfn);
}

/*
 * Wait until none of the @nr_pages pages at @buf is off @node, or for
 * MOVE_DEADLINE seconds.  Returns how many are still off it; *secs gets
 * the time waited.
 */
static unsigned long wait_until_on(char *buf, unsigned long nr_pages, int node,
				   int *status, double *secs)
{
	size_t page_size = getpagesize();
	double start = now_seconds();
	unsigned long off;

	for (;;) {
		off = pages_not_on(buf, nr_pages, node, page_size, status);
		*secs = now_seconds() - start;
		if (!off || *secs > MOVE_DEADLINE)
			return off;
		usleep(100000);
	}
}

/*
 * The cold pages DAMON may rightly leave behind.  DAMON_MIN_NR_REGIONS
 * keeps each region DAMON watches within a thousandth of its range (1 MB
 * of a 1 GB node), and a region that holds a page the thread keeps using
 * is not idle.  So: how many of the @nr pages at @cold that are on @node
 * by @cold_node lie farther than @reach bytes, physically, from every page
 * at @hot (@nr_hot pages) that is on @node too?  DAMON should have moved
 * those.
 */
static unsigned long cold_strays(char *cold, const int *cold_node, unsigned long nr,
				 char *hot, unsigned long nr_hot, int node, unsigned long reach)
{
	unsigned long *cold_pfn = calloc(nr, sizeof(*cold_pfn));
	unsigned long *hot_pfn = calloc(nr_hot, sizeof(*hot_pfn));
	int *hot_node = malloc(nr_hot * sizeof(*hot_node));
	unsigned long reach_pfns = reach / getpagesize(), n = 0, i, j, strays = nr;

	if (!cold_pfn || !hot_pfn || !hot_node ||
	    pfns_of(cold, nr, cold_pfn) || pfns_of(hot, nr_hot, hot_pfn))
		goto out;
	/* A page whose node cannot be read counts as not on @node. */
	memset(hot_node, 0xff, nr_hot * sizeof(*hot_node));
	pages_not_on(hot, nr_hot, node, getpagesize(), hot_node);
	for (i = 0; i < nr_hot; i++)
		if (hot_node[i] == node)
			hot_pfn[n++] = hot_pfn[i];
	strays = 0;
	for (i = 0; i < nr; i++) {
		if (cold_node[i] != node)
			continue;
		for (j = 0; j < n; j++)
			if (cold_pfn[i] + reach_pfns >= hot_pfn[j] &&
			    cold_pfn[i] <= hot_pfn[j] + reach_pfns)
				break;
		strays += j == n;
	}
out:
	free(cold_pfn);
	free(hot_pfn);
	free(hot_node);
	return strays;
}

/*
 * Wait until every page of the cold part is on @lower, or, after
 * COLD_SETTLE seconds, until those left on @top are all near a page the
 * thread uses (cold_strays()), or for MOVE_DEADLINE seconds.  Returns the
 * cold pages not on @lower; *strays gets those DAMON should have moved.
 */
static unsigned long wait_demoted(char *cold, unsigned long nr, char *hot, unsigned long nr_hot,
				  int top, int lower, unsigned long reach, int *status,
				  unsigned long *strays, double *secs)
{
	double start = now_seconds(), checked = 0;
	unsigned long left;

	*strays = 0;
	for (;;) {
		left = pages_not_on(cold, nr, lower, getpagesize(), status);
		*secs = now_seconds() - start;
		if (!left)
			return 0;
		if (*secs > COLD_SETTLE && *secs - checked >= 1) {
			checked = *secs;
			*strays = cold_strays(cold, status, nr, hot, nr_hot, top, reach);
			if (!*strays || *secs > MOVE_DEADLINE)
				return left;
		}
		usleep(100000);
	}
}

FIXTURE(tiering)
{
	int top, lower;
	struct migrate_offload_settings offload;
	struct offload_trace_saved trace;
	char numa_balancing[16];
	char nb_saved[NR_NB_KNOBS][32];
};

FIXTURE_VARIANT(tiering)
{
	enum migrate_buf_kind kind;
	size_t damon_size;	/* the buffer DAMON moves */
	size_t hot_size;	/* the part a thread uses while DAMON demotes */
	size_t numa_size;	/* the buffer NUMA balancing promotes */
};

FIXTURE_VARIANT_ADD(tiering, anon_4k)
{
	.kind = MIGRATE_BUF_ANON_4K,
	.damon_size = 16UL << 20,
	.hot_size = 2UL << 20,
	/* One hint fault, one migration per page: 1024 of them. */
	.numa_size = 4UL << 20,
};

FIXTURE_VARIANT_ADD(tiering, anon_thp)
{
	.kind = MIGRATE_BUF_ANON_THP,
	.damon_size = 32UL << 20,
	.hot_size = 4UL << 20,
	.numa_size = 32UL << 20,
};

FIXTURE_SETUP(tiering)
{
	unsigned long lower;
	int other;

	migrate_test_clock_start();
	if (geteuid())
		SKIP(return, "needs root");
	if (two_nodes(&self->top, &other))
		SKIP(return, "needs two memory nodes");
	lower = lower_tier_nodes(self->top);
	if (!lower)
		SKIP(return, "node %d has no lower memory tier: %s", self->top,
		     "needs a node the kernel ranks slower (ACPI HMAT figures, dax kmem)");
	self->lower = __builtin_ctzl(lower);
	if (mtcopy_load())
		SKIP(return, "the migrate_mtcopy module is not available");
	if (access(OFFLOAD_EVENT_BATCH, W_OK) || access(OFFLOAD_EVENT_PHASES, W_OK))
		SKIP(return, "no migrate_offload tracepoints in tracefs");
	migrate_offload_save(&self->offload);
	ASSERT_EQ(write_string(MIGRATE_OFFLOAD_REASONS, DEFAULT_REASONS), 0);
	ASSERT_EQ(write_string(MIGRATE_OFFLOAD_MIN_BATCH, DEFAULT_MIN_BATCH), 0);
	ASSERT_EQ(offload_trace_start(&self->trace, TRACE_KB), 0);
	ASSERT_EQ(read_line(NUMA_BALANCING, self->numa_balancing, sizeof(self->numa_balancing)), 0);
}

FIXTURE_TEARDOWN(tiering)
{
	unsigned int i;
	char path[128];

	damon_migration_stop();
	if (self->numa_balancing[0])
		write_string(NUMA_BALANCING, self->numa_balancing);
	for (i = 0; i < NR_NB_KNOBS; i++) {
		if (!self->nb_saved[i][0])
			continue;
		snprintf(path, sizeof(path), NB_DIR "%s", nb_knobs[i].file);
		write_string(path, self->nb_saved[i]);
	}
	migrate_offload_restore(&self->offload);
	offload_trace_restore(&self->trace);
	migrate_test_clock_report(_metadata);
}

/* One run of a test: the nodes, the buffer, and whether the reason is allowed. */
struct tiering_run {
	int top, lower;
	enum migrate_buf_kind kind;
	size_t size;		/* the buffer */
	size_t hot;		/* DAMON: the part a thread uses while DAMON demotes */
	bool allowed;		/* the migrate reason is in "reasons" */
};

/* What one direction of a DAMON run did, for the log and the checks. */
struct damon_leg {
	const char *what;
	double secs;
	unsigned long left;		/* pages of the part that did not move */
	unsigned long strays;		/* of those, pages DAMON should have moved */
	struct damon_scheme_stats damon;	/* -1 where DAMON's stats could not be read */
	unsigned long fail;		/* pgmigrate_fail */
	struct offload_vmstat c0, c1;	/* all reasons */
	struct offload_trace t;		/* reason damon */
};

static void damon_leg_log(struct __test_metadata *_metadata, const struct damon_leg *l,
			  unsigned long pages)
{
	TH_LOG("%s: %.1f s; DAMON tried %lld MB, moved %lld MB; %lu of %lu pages did not move",
	       l->what, l->secs, l->damon.tried >> 20, l->damon.applied >> 20, l->left, pages);
	TH_LOG("%s: %lu of those far from any page in use", l->what, l->strays);
	TH_LOG("%s: migrator batches %lu (reason damon), folios offered %lu, copied %lu, %llu MB",
	       l->what, l->t.batches, l->t.offered, l->t.copied, l->t.bytes >> 20);
	TH_LOG("%s: pgmigrate_fail %lu", l->what, l->fail);
	TH_LOG("%s: vmstat: copied %lu, fallback %lu, skip_reason %lu, skip_small %lu",
	       l->what, l->c1.copied - l->c0.copied, l->c1.fallback - l->c0.fallback,
	       l->c1.skip_reason - l->c0.skip_reason, l->c1.skip_small - l->c0.skip_small);
}

/*
 * The checks of one direction: every page of the part moved (but cold
 * pages next to pages in use), and, if the
 * admin allows "damon", the migrator copied DAMON's batches with no
 * fallback; if not, the migrator saw nothing and the CPU copied them all.
 */
static void damon_leg_check(struct __test_metadata *_metadata, const struct damon_leg *l,
			    unsigned long pages, unsigned long folios, size_t folio_size,
			    bool allowed)
{
	ASSERT_FALSE(l->t.lost) TH_LOG("the trace buffer overflowed");
	ASSERT_EQ(l->strays, 0)
		TH_LOG("%s: DAMON did not move %lu of %lu pages in %d s", l->what, l->strays,
		       pages, MOVE_DEADLINE);
	pages -= l->left;
	folios -= l->left * getpagesize() / folio_size;
	ASSERT_GE(l->damon.applied, (long long)(pages * getpagesize()));
	if (allowed) {
		/*
		 * Each region DAMON applies the scheme to is one
		 * migrate_pages() call; a region under min_batch_bytes (256
		 * KB) stays on the CPU, and DAMON also moves other memory of
		 * the range.  So: no fallback, and each folio of the part was
		 * copied by the migrator or counted as in a small batch.
		 */
		ASSERT_GT(l->t.batches, 0);
		ASSERT_EQ(l->t.copied, l->t.offered);
		ASSERT_EQ(l->c1.fallback - l->c0.fallback, 0);
		ASSERT_GE(l->t.copied + (l->c1.skip_small - l->c0.skip_small), folios);
		if (folio_size > (size_t)getpagesize())
			ASSERT_GE(l->t.bytes, (unsigned long long)folios * folio_size);
	} else {
		ASSERT_EQ(l->t.batches, 0);
		ASSERT_EQ(l->c1.batches - l->c0.batches, 0);
		ASSERT_EQ(l->c1.copied - l->c0.copied, 0);
		ASSERT_EQ(l->c1.fallback - l->c0.fallback, 0);
		ASSERT_GE(l->c1.skip_reason - l->c0.skip_reason, folios);
	}
}

/*
 * Demote a buffer with DAMON's migrate_cold while a thread uses its first
 * hot_size bytes, then promote all of it back with migrate_hot while the
 * thread uses all of it.
 */
static void damon_tiering(struct __test_metadata *_metadata, const struct tiering_run *r)
{
	size_t size = r->size, hot = r->hot, page_size = getpagesize();
	unsigned long nr_pages = size / page_size, cold_pages, hot_left;
	struct damon_migration m = { .min_age = COLD_AGE };
	struct damon_leg down = { .what = "demotion" }, up = { .what = "promotion" };
	struct migrate_buf b;
	struct user u;
	void **addr;
	int *status;
	long bad;

	if (access(DAMON_ADMIN, F_OK))
		SKIP(return, "no %s (CONFIG_DAMON_SYSFS, CONFIG_DAMON_PADDR)", DAMON_ADMIN);
	if (damon_in_use())
		SKIP(return, "DAMON is in use: %s is not 0", DAMON_NR_KDAMONDS);
	/* Nothing but DAMON moves pages meanwhile. */
	ASSERT_EQ(write_string(NUMA_BALANCING, "0"), 0);
	if (!r->allowed)
		ASSERT_EQ(write_string(MIGRATE_OFFLOAD_REASONS, REASONS_BUT_DAMON), 0);
	if (!migrate_buf_map_or_skip(_metadata, &b, r->kind, size))
		return;
	status = calloc(nr_pages, sizeof(int));
	addr = migrate_addrs(b.buf, size / b.folio_size, b.folio_size);
	ASSERT_NE(status, NULL);
	ASSERT_NE(addr, NULL);
	migrate_fill((uint64_t *)b.buf, size, 1);
	ASSERT_EQ(move_all(addr, size / b.folio_size, r->top, status), 0);
	cold_pages = (size - hot) / page_size;

	ASSERT_EQ(user_start(&u, b.buf, hot, 1, true), 0);
	ASSERT_EQ(node_phys_range(r->top, &m.start, &m.end), 0);
	m.target_nid = r->lower;
	offload_trace_clear();
	lru_drain_all(b.buf);
	read_offload_vmstat(&down.c0);
	down.fail = read_vmstat("pgmigrate_fail");
	ASSERT_EQ(damon_migration_start(&m), 0);
	down.left = wait_demoted(b.buf + hot, cold_pages, b.buf, (nr_pages - cold_pages),
				 r->top, r->lower, (m.end - m.start) / DAMON_MIN_NR_REGIONS, status,
				 &down.strays, &down.secs);
	if (down.strays)
		log_pages_off(_metadata, b.buf + hot, cold_pages, r->lower, status);
	damon_migration_stats(&down.damon);
	damon_migration_stop();
	read_offload_vmstat(&down.c1);
	down.fail = read_vmstat("pgmigrate_fail") - down.fail;
	offload_trace_read("damon", &down.t);
	hot_left = nr_pages - cold_pages -
		   pages_not_on(b.buf, nr_pages - cold_pages, r->top, page_size, status);
	TH_LOG("demotion: DAMON watched node %d's %lu MB at %#lx, cold after %d x 100 ms",
	       r->top, (m.end - m.start) >> 20, m.start, COLD_AGE);
	TH_LOG("demotion: %lu of the %lu pages the thread used stayed on node %d (%lu passes)",
	       hot_left, nr_pages - cold_pages, r->top, u.passes);
	damon_leg_log(_metadata, &down, cold_pages);
	bad = migrate_verify((uint64_t *)b.buf, size, 1);
	ASSERT_EQ(bad, -1) TH_LOG("word %ld is wrong after the demotion", bad);
	damon_leg_check(_metadata, &down, cold_pages, (size - hot) / b.folio_size,
			b.folio_size, r->allowed);

	/* Now the thread uses all of it: DAMON finds it hot. */
	__atomic_store_n(&u.end, size, __ATOMIC_RELAXED);
	ASSERT_EQ(node_phys_range(r->lower, &m.start, &m.end), 0);
	m.hot = true;
	m.target_nid = r->top;
	offload_trace_clear();
	lru_drain_all(b.buf);
	read_offload_vmstat(&up.c0);
	up.fail = read_vmstat("pgmigrate_fail");
	ASSERT_EQ(damon_migration_start(&m), 0);
	up.left = wait_until_on(b.buf, nr_pages, r->top, status, &up.secs);
	/* The thread uses every page now: DAMON should move them all. */
	up.strays = up.left;
	if (up.left)
		log_pages_off(_metadata, b.buf, nr_pages, r->top, status);
	damon_migration_stats(&up.damon);
	damon_migration_stop();
	read_offload_vmstat(&up.c1);
	up.fail = read_vmstat("pgmigrate_fail") - up.fail;
	offload_trace_read("damon", &up.t);
	user_stop(&u);
	TH_LOG("promotion: DAMON watched node %d's %lu MB at %#lx, hot when accessed",
	       r->lower, (m.end - m.start) >> 20, m.start);
	damon_leg_log(_metadata, &up, nr_pages);
	ASSERT_EQ(u.bad, -1) TH_LOG("the thread read a wrong word: %ld", u.bad);
	ASSERT_FALSE(u.mprotect_failed);
	bad = migrate_verify((uint64_t *)b.buf, size, 1);
	ASSERT_EQ(bad, -1) TH_LOG("word %ld is wrong after the promotion", bad);
	/* The pages that stayed on the top node did not move back. */
	damon_leg_check(_metadata, &up, nr_pages - hot_left - down.left,
			(nr_pages - hot_left - down.left) * page_size / b.folio_size,
			b.folio_size, r->allowed);
	if (r->kind == MIGRATE_BUF_ANON_THP)
		TH_LOG("THPs after both moves: %s", all_thp(b.buf, size) ? "all" : "not all");
	free(addr);
	free(status);
	migrate_buf_unmap(&b);
}

TEST_F_TIMEOUT(tiering, damon, TIERING_BUDGET)
{
	struct tiering_run r = {
		.top = self->top, .lower = self->lower, .kind = variant->kind,
		.size = variant->damon_size, .hot = variant->hot_size, .allowed = true,
	};

	damon_tiering(_metadata, &r);
}

TEST_F_TIMEOUT(tiering, damon_reason_disallowed, TIERING_BUDGET)
{
	struct tiering_run r = {
		.top = self->top, .lower = self->lower, .kind = variant->kind,
		.size = variant->damon_size, .hot = variant->hot_size, .allowed = false,
	};

	damon_tiering(_metadata, &r);
}

/* The counters NUMA balancing's promotions are seen in. */
struct numa_counts {
	unsigned long hint_faults, promote_candidate, promoted, numa_migrated, migrate_fail;
	struct offload_vmstat offload;
};

static void numa_counts_read(struct numa_counts *c)
{
	/* pgpromote_* are node counters: fold the per-CPU deltas in first. */
	write_string("/proc/sys/vm/stat_refresh", "1");
	c->hint_faults = read_vmstat("numa_hint_faults");
	c->promote_candidate = read_vmstat("pgpromote_candidate");
	c->promoted = read_vmstat("pgpromote_success");
	c->numa_migrated = read_vmstat("numa_pages_migrated");
	c->migrate_fail = read_vmstat("pgmigrate_fail");
	read_offload_vmstat(&c->offload);
}

/*
 * Place a buffer on the lower node with move_pages(2), under the default
 * memory policy (memory bound with MPOL_BIND is never scanned for
 * promotion), turn on NUMA balancing's tiering mode and let a thread on the
 * top node's CPUs use the buffer until every page is on the top node.
 */
static void numa_tiering(struct __test_metadata *_metadata, const struct tiering_run *r,
			 char nb_saved[][32])
{
	size_t size = r->size, page_size = getpagesize();
	unsigned long nr_pages = size / page_size, nr_folios, left, promoted;
	struct numa_counts c0, c1;
	struct offload_trace t;
	struct migrate_buf b;
	char path[128];
	struct user u;
	unsigned int i;
	double secs;
	void **addr;
	int *status;
	long bad;

	if (access(NB_DIR, F_OK))
		SKIP(return, "no %s (CONFIG_NUMA_BALANCING, CONFIG_SCHED_DEBUG, debugfs)", NB_DIR);
	if (run_on_node(r->top))
		SKIP(return, "cannot run on the CPUs of node %d", r->top);
	if (!r->allowed)
		ASSERT_EQ(write_string(MIGRATE_OFFLOAD_REASONS, REASONS_BUT_NUMA), 0);
	for (i = 0; i < NR_NB_KNOBS; i++) {
		snprintf(path, sizeof(path), NB_DIR "%s", nb_knobs[i].file);
		ASSERT_EQ(read_line(path, nb_saved[i], sizeof(nb_saved[i])), 0);
		ASSERT_EQ(write_string(path, nb_knobs[i].value), 0);
	}
	if (!migrate_buf_map_or_skip(_metadata, &b, r->kind, size))
		return;
	nr_folios = size / b.folio_size;
	status = calloc(nr_pages, sizeof(int));
	addr = migrate_addrs(b.buf, nr_folios, b.folio_size);
	ASSERT_NE(status, NULL);
	ASSERT_NE(addr, NULL);
	migrate_fill((uint64_t *)b.buf, size, 2);
	ASSERT_EQ(move_all(addr, nr_folios, r->lower, status), 0);

	offload_trace_clear();
	numa_counts_read(&c0);
	ASSERT_EQ(write_string(NUMA_BALANCING, NB_TIERING), 0);
	ASSERT_EQ(user_start(&u, b.buf, size, 2, false), 0);
	left = wait_until_on(b.buf, nr_pages, r->top, status, &secs);
	ASSERT_EQ(write_string(NUMA_BALANCING, "0"), 0);
	user_stop(&u);
	numa_counts_read(&c1);
	offload_trace_read("numa_misplaced", &t);
	promoted = nr_pages - left;

	TH_LOG("%lu of %lu pages promoted from node %d to node %d in %.1f s (%lu passes)",
	       promoted, nr_pages, r->lower, r->top, secs, u.passes);
	TH_LOG("vmstat: numa_hint_faults %lu, pgpromote_candidate %lu, pgpromote_success %lu",
	       c1.hint_faults - c0.hint_faults, c1.promote_candidate - c0.promote_candidate,
	       c1.promoted - c0.promoted);
	TH_LOG("vmstat: numa_pages_migrated %lu, pgmigrate_fail %lu",
	       c1.numa_migrated - c0.numa_migrated, c1.migrate_fail - c0.migrate_fail);
	TH_LOG("numa_misplaced: %lu migrate_pages_batch() calls, %lu folios, %lu calls of one",
	       t.calls, t.moving, t.single);
	TH_LOG("numa_misplaced: migrator batches %lu, folios offered %lu, copied %lu, %llu MB",
	       t.batches, t.offered, t.copied, t.bytes >> 20);
	TH_LOG("offload: batches %lu, copied %lu, fallback %lu, skip_reason %lu, skip_small %lu",
	       c1.offload.batches - c0.offload.batches, c1.offload.copied - c0.offload.copied,
	       c1.offload.fallback - c0.offload.fallback,
	       c1.offload.skip_reason - c0.offload.skip_reason,
	       c1.offload.skip_small - c0.offload.skip_small);
	ASSERT_EQ(u.bad, -1) TH_LOG("the thread read a wrong word: %ld", u.bad);
	ASSERT_FALSE(u.mprotect_failed);
	bad = migrate_verify((uint64_t *)b.buf, size, 2);
	ASSERT_EQ(bad, -1) TH_LOG("word %ld is wrong after the promotion", bad);
	if (!promoted && c1.hint_faults == c0.hint_faults)
		SKIP(return, "NUMA balancing took no hint fault in %d s: %s", MOVE_DEADLINE,
		     "its scanner did not run for this task");
	ASSERT_FALSE(t.lost) TH_LOG("the trace buffer overflowed");
	ASSERT_EQ(left, 0)
		TH_LOG("NUMA balancing did not promote %lu of %lu pages in %d s", left, nr_pages,
		       MOVE_DEADLINE);
	ASSERT_GE(c1.promoted - c0.promoted, nr_pages);
	ASSERT_GE(c1.numa_migrated - c0.numa_migrated, nr_pages);
	/* One folio per hint fault, every one. */
	ASSERT_GE(t.calls, nr_folios);
	ASSERT_EQ(t.single, t.calls);
	ASSERT_EQ(c1.offload.fallback - c0.offload.fallback, 0);
	if (!r->allowed) {
		ASSERT_EQ(t.batches, 0);
		ASSERT_EQ(c1.offload.batches - c0.offload.batches, 0);
		ASSERT_EQ(c1.offload.copied - c0.offload.copied, 0);
		ASSERT_GE(c1.offload.skip_reason - c0.offload.skip_reason, nr_folios);
	} else if (b.folio_size >= strtoul(DEFAULT_MIN_BATCH, NULL, 10)) {
		/* Each THP is a batch of its own, above the threshold. */
		ASSERT_GE(t.batches, nr_folios);
		ASSERT_EQ(t.copied, t.offered);
		ASSERT_EQ(t.bytes, (unsigned long long)t.offered * b.folio_size);
		ASSERT_TRUE(all_thp(b.buf, size));
	} else {
		/* Each 4 KB page is a batch of its own, under the threshold. */
		ASSERT_EQ(t.batches, 0);
		ASSERT_EQ(c1.offload.batches - c0.offload.batches, 0);
		ASSERT_GE(c1.offload.skip_small - c0.offload.skip_small, nr_folios);
	}
	free(addr);
	free(status);
	migrate_buf_unmap(&b);
}

TEST_F_TIMEOUT(tiering, numa_balancing, TIERING_BUDGET)
{
	struct tiering_run r = {
		.top = self->top, .lower = self->lower, .kind = variant->kind,
		.size = variant->numa_size, .allowed = true,
	};

	numa_tiering(_metadata, &r, self->nb_saved);
}

TEST_F_TIMEOUT(tiering, numa_balancing_reason_disallowed, TIERING_BUDGET)
{
	struct tiering_run r = {
		.top = self->top, .lower = self->lower, .kind = variant->kind,
		.size = variant->numa_size, .allowed = false,
	};

	numa_tiering(_metadata, &r, self->nb_saved);
}

TEST_HARNESS_MAIN
