/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the page migration selftests that check data: node discovery,
 * /proc/vmstat counters, fill and verify patterns, and move_pages(2) of a
 * whole buffer with bounded retries.  No libnuma needed.
 */
#ifndef __SELFTESTS_MM_MIGRATE_HELPERS_H
#define __SELFTESTS_MM_MIGRATE_HELPERS_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/mempolicy.h>

#define MIGRATE_MAX_RETRIES	10
#define PMD_SIZE_2M		(2UL << 20)

static inline long move_pages_raw(unsigned long count, void **pages, const int *nodes,
				  int *status, int flags)
{
	return syscall(SYS_move_pages, 0, count, pages, nodes, status, flags);
}

/* The first two memory nodes, from sysfs.  Returns 0, or -1 if fewer. */
static inline int two_nodes(int *n1, int *n2)
{
	char buf[256];
	int fd, len, a, b;

	fd = open("/sys/devices/system/node/has_memory", O_RDONLY);
	if (fd < 0)
		fd = open("/sys/devices/system/node/online", O_RDONLY);
	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	/* Formats: "0-1", "0,2", "0-3,5". */
	if (sscanf(buf, "%d-%d", &a, &b) == 2 && b > a) {
		*n1 = a;
		*n2 = a + 1;
		return 0;
	}
	if (sscanf(buf, "%d,%d", &a, &b) == 2) {
		*n1 = a;
		*n2 = b;
		return 0;
	}
	return -1;
}

/* A counter of /proc/vmstat, 0 if absent. */
static inline unsigned long read_vmstat(const char *name)
{
	char key[64];
	unsigned long val;
	FILE *f = fopen("/proc/vmstat", "r");

	if (f) {
		while (fscanf(f, "%63s %lu", key, &val) == 2) {
			if (!strcmp(key, name)) {
				fclose(f);
				return val;
			}
		}
		fclose(f);
	}
	/*
	 * A counter that is not there must fail the test, not read as 0: a
	 * test asserting "nothing was copied" would pass on a kernel without
	 * the counter.  Tests run in a child of the harness: exiting fails it.
	 */
	fprintf(stderr, "# FAIL: no %s in /proc/vmstat\n", name);
	exit(1);	/* KSFT_FAIL */
}

/* An unsigned number from a file (sysfs, debugfs); -1 on error. */
static inline long long read_number(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 0);
}

static inline int write_string(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* The admin files of migration copy offload, to put back after a test. */
#define MIGRATE_OFFLOAD_REASONS	"/sys/kernel/mm/migrate_offload/reasons"
#define MIGRATE_OFFLOAD_MIN_BATCH	"/sys/kernel/mm/migrate_offload/min_batch_bytes"

struct migrate_offload_settings {
	char reasons[256];
	char min_batch[32];
};

static inline void migrate_read_setting(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

static inline void migrate_offload_save(struct migrate_offload_settings *s)
{
	migrate_read_setting(MIGRATE_OFFLOAD_REASONS, s->reasons, sizeof(s->reasons));
	migrate_read_setting(MIGRATE_OFFLOAD_MIN_BATCH, s->min_batch, sizeof(s->min_batch));
}

static inline void migrate_offload_restore(const struct migrate_offload_settings *s)
{
	if (s->reasons[0])
		write_string(MIGRATE_OFFLOAD_REASONS, s->reasons);
	if (s->min_batch[0])
		write_string(MIGRATE_OFFLOAD_MIN_BATCH, s->min_batch);
}

static inline uint64_t migrate_pattern(unsigned long word, unsigned int pass)
{
	uint64_t x = word * 0x9E3779B97F4A7C15ULL + pass * 0xD1B54A32D192ED03ULL + 1;

	x ^= x >> 31;
	return x;
}

static inline void migrate_fill(uint64_t *buf, size_t size, unsigned int pass)
{
	size_t i;

	for (i = 0; i < size / sizeof(*buf); i++)
		buf[i] = migrate_pattern(i, pass);
}

/* The index of the first bad word, or -1 when every byte is intact. */
static inline long migrate_verify(const uint64_t *buf, size_t size, unsigned int pass)
{
	size_t i;

	for (i = 0; i < size / sizeof(*buf); i++)
		if (buf[i] != migrate_pattern(i, pass))
			return i;
	return -1;
}

/*
 * Move the folios starting at each of @nr addresses to @node with
 * move_pages(2) calls of all of them, retrying the ones that were busy.
 * Returns the number that did not move.
 *
 * A folio that other threads use can hold an unexpected reference through
 * a whole migrate_pages() call: with 64 KB pages and two threads reading a
 * 32 MB shared buffer, its first folio failed every pass of one call of
 * the 512 folios in about one boot of two, with or without a migrator, and
 * back-to-back retries failed it up to 10 times in a row.  Retries wait a
 * little longer each time, so that the users move on (95 ms in all).
 */
static inline long move_all(void **addr, unsigned long nr, int node, int *status)
{
	int *nodes = calloc(nr, sizeof(int));
	void **todo = calloc(nr, sizeof(void *));
	unsigned long i, left = nr;
	int retry;

	if (!nodes || !todo) {
		free(nodes);
		free(todo);
		return nr;
	}
	for (i = 0; i < nr; i++) {
		nodes[i] = node;
		todo[i] = addr[i];
	}
	for (retry = 0; retry < MIGRATE_MAX_RETRIES && left; retry++) {
		unsigned long j = 0;

		/*
		 * A call that returns the number of pages it did not move
		 * leaves the status of the pages after the first failure
		 * unwritten: never read a status of an earlier call.
		 */
		for (i = 0; i < left; i++)
			status[i] = -EINVAL;
		if (move_pages_raw(left, todo, nodes, status, MPOL_MF_MOVE) < 0)
			break;
		for (i = 0; i < left; i++)
			if (status[i] != node)
				todo[j++] = todo[i];
		left = j;
		if (left && retry + 1 < MIGRATE_MAX_RETRIES)
			usleep(1000 << (retry < 4 ? retry : 4));
	}
	free(nodes);
	free(todo);
	return left;
}

/* The addresses of @nr pieces of @step bytes from @buf, for move_pages(2); free() it. */
static inline void **migrate_addrs(char *buf, unsigned long nr, size_t step)
{
	void **addr = calloc(nr, sizeof(void *));
	unsigned long i;

	for (i = 0; addr && i < nr; i++)
		addr[i] = buf + i * step;
	return addr;
}

/* The core's migration copy offload counters in /proc/vmstat. */
struct offload_vmstat {
	unsigned long batches, copied, fallback, stuck, skip_reason, skip_small, skip_ineligible;
};

static inline void read_offload_vmstat(struct offload_vmstat *c)
{
	c->batches = read_vmstat("pgmigrate_offload_batches");
	c->copied = read_vmstat("pgmigrate_offload_copied");
	c->fallback = read_vmstat("pgmigrate_offload_fallback");
	c->stuck = read_vmstat("pgmigrate_offload_stuck");
	c->skip_reason = read_vmstat("pgmigrate_offload_skip_reason");
	c->skip_small = read_vmstat("pgmigrate_offload_skip_small");
	c->skip_ineligible = read_vmstat("pgmigrate_offload_skip_ineligible");
}

/*
 * The largest min_batch_bytes the kernel takes: the largest batch
 * migrate_pages() builds, 511 base pages and a PMD-sized THP; 0 if the THP
 * size is unknown.
 */
static inline unsigned long migrate_offload_max_batch_bytes(void)
{
	long long pmd = read_number("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");

	if (pmd <= 0)
		return 0;
	return 2 * (unsigned long)pmd - getpagesize();
}

/* Copies any migrator is making now, from the core's debugfs file; -1 if none. */
static inline long long migrate_offload_in_flight(void)
{
	return read_number("/sys/kernel/debug/migrate_offload/in_flight");
}

/*
 * Write a line unique to this process to the kernel log, and return it in
 * @marker, for migrate_unloads_during_copies().  0, or -1.
 */
static inline int migrate_log_marker(char *marker, size_t size, const char *what)
{
	snprintf(marker, size, "migrate selftest %d: %s\n", getpid(), what);
	return write_string("/dev/kmsg", marker);
}

/*
 * How many times the kernel log says, after @marker, that migrator @name
 * was unregistered while copies were in flight (the core's "migrator NAME
 * unregistered (N copies were in flight)" with N > 0); -1 if the log or
 * the marker cannot be read.
 */
static inline int migrate_unloads_during_copies(const char *marker, const char *name)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0), n = 0, len;
	char key[96], *log, *p;

	if (size <= 0)
		return -1;
	snprintf(key, sizeof(key), "migrate_offload: migrator %s unregistered (", name);
	log = calloc(1, size + 1);
	if (!log)
		return -1;
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, size);
	p = len < 0 ? NULL : (log[len] = '\0', strstr(log, marker));
	if (!p) {
		free(log);
		return -1;
	}
	for (p = strstr(p, key); p; p = strstr(p + 1, key))
		n += strtol(p + strlen(key), NULL, 10) > 0;
	free(log);
	return n;
}

/* Does every byte of [buf, buf + size) equal @c? */
static inline int all_bytes_are(const char *buf, size_t size, unsigned char c)
{
	size_t i;

	for (i = 0; i < size; i++)
		if ((unsigned char)buf[i] != c)
			return 0;
	return 1;
}

/* How many of the @nr_pages base pages at @buf are not on @node. */
static inline unsigned long pages_not_on(char *buf, unsigned long nr_pages, int node,
					 size_t page_size, int *status)
{
	void **addr = migrate_addrs(buf, nr_pages, page_size);
	unsigned long i, bad = 0;

	if (!addr)
		return nr_pages;
	if (move_pages_raw(nr_pages, addr, NULL, status, 0) < 0)
		bad = nr_pages;
	else
		for (i = 0; i < nr_pages; i++)
			bad += status[i] != node;
	free(addr);
	return bad;
}

/*
 * For a child process: move @size bytes of anonymous memory between node[0]
 * and node[1] until killed, verifying every byte after every move.  Exits 1
 * on a corrupt byte, 2 if it cannot set up, 3 if a move fails; dies with
 * its parent.
 */
static inline void migrate_forever(const int *node, size_t size)
{
	size_t page_size = getpagesize();
	unsigned long nr = size / page_size;
	char *buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void **addr = buf == MAP_FAILED ? NULL : migrate_addrs(buf, nr, page_size);
	int *st = calloc(nr, sizeof(int));
	unsigned int pass;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (!addr || !st)
		_exit(2);
	for (pass = 1; ; pass++) {
		migrate_fill((uint64_t *)buf, size, pass);
		if (move_all(addr, nr, node[pass & 1], st))
			_exit(3);
		if (migrate_verify((uint64_t *)buf, size, pass) != -1)
			_exit(1);
	}
}

#define MEMORY_TIERS_DIR	"/sys/devices/virtual/memory_tiering/"

/* A short text file, newline stripped; -1 if it cannot be read. */
static inline int read_line(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* "0-1,3" to a mask of nodes (or CPUs) below 64; 0 if malformed. */
static inline unsigned long parse_list(const char *s)
{
	unsigned long mask = 0;
	char *end;

	while (*s) {
		long a = strtol(s, &end, 10), b = a;

		if (end == s || a < 0 || a > 63)
			return 0;
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (end == s || b < a || b > 63)
				return 0;
		}
		for (; a <= b; a++)
			mask |= 1UL << a;
		if (*end != ',' && *end)
			return 0;
		s = *end ? end + 1 : end;
	}
	return mask;
}

/*
 * The nodes of the memory tiers below the tier of @nid, where the kernel
 * demotes @nid's pages to; 0 if there are none.  A tier's number grows with
 * its abstract distance: memory_tier4 is slower than memory_tier1.
 */
static inline unsigned long lower_tier_nodes(int nid)
{
	unsigned long nodes[64] = { 0 }, lower = 0;
	int tier, own = -1;
	char path[96], buf[128];

	for (tier = 0; tier < 64; tier++) {
		snprintf(path, sizeof(path), MEMORY_TIERS_DIR "memory_tier%d/nodelist", tier);
		if (read_line(path, buf, sizeof(buf)))
			continue;
		nodes[tier] = parse_list(buf);
		if (nodes[tier] & (1UL << nid))
			own = tier;
	}
	if (own < 0)
		return 0;
	for (tier = own + 1; tier < 64; tier++)
		lower |= nodes[tier];
	return lower;
}

/* MemFree of node @nid in bytes, 0 if unknown. */
static inline size_t node_free_bytes(int nid)
{
	char path[64], line[128];
	unsigned long kb;
	size_t free = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo", nid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Node %*d MemFree: %lu kB", &kb) == 1)
			free = kb << 10;
	fclose(f);
	return free;
}

/*
 * Run the calling thread (and the threads it creates later) on the CPUs of
 * node @nid.  0, or -1 if the node has no CPU or the call failed.
 */
static inline int run_on_node(int nid)
{
	unsigned long cpus;
	char path[64], buf[128];
	cpu_set_t set;
	int i;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", nid);
	cpus = read_line(path, buf, sizeof(buf)) ? 0 : parse_list(buf);
	if (!cpus)
		return -1;
	CPU_ZERO(&set);
	for (i = 0; i < 64; i++)
		if (cpus & (1UL << i))
			CPU_SET(i, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

#define MIGRATE_OFFLOAD_MIGRATOR "/sys/kernel/mm/migrate_offload/migrator"

/* Is @name the registered migrator? */
static inline bool migrator_is(const char *name)
{
	char buf[32] = "";

	return !read_line(MIGRATE_OFFLOAD_MIGRATOR, buf, sizeof(buf)) && !strcmp(buf, name);
}

/*
 * Make the multi-threaded CPU migrator the registered one.  Only one
 * migrator registers at a time: unload the test and dmaengine migrators
 * first.  0, or -1 if migrate_mtcopy cannot be loaded.
 */
static inline int mtcopy_load(void)
{
	if (migrator_is("mtcopy"))
		return 0;
	if (system("rmmod test_migrate_offload dma_migrate 2>/dev/null") < 0 ||
	    system("modprobe migrate_mtcopy 2>/dev/null") < 0)
		return -1;
	return migrator_is("mtcopy") ? 0 : -1;
}

static inline int thp_available(void)
{
	char buf[128] = "";
	int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY);

	if (fd < 0)
		return 0;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = '\0';
	close(fd);
	return !strstr(buf, "[never]");
}

/* True when the whole of [buf, buf + size) is backed by PMD-mapped THPs. */
static inline int all_thp(char *buf, size_t size)
{
	unsigned long start = (unsigned long)buf, lo, hi, kb;
	char line[256];
	int in = 0, ok = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = lo <= start && start < hi;
		else if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			ok = kb * 1024 >= size;
	}
	fclose(f);
	return ok;
}

enum migrate_buf_kind {
	MIGRATE_BUF_ANON_4K,	/* private anonymous, MADV_NOHUGEPAGE */
	MIGRATE_BUF_ANON_THP,	/* private anonymous, 2 MB THPs */
	MIGRATE_BUF_SHMEM,	/* shared anonymous: shmem */
	MIGRATE_BUF_TMPFS,	/* a file on a tmpfs in /tmp, shared mapping */
	MIGRATE_BUF_ANON_MTHP,	/* private anonymous, 64 KB mTHPs */
};

#define MTHP_64K_ENABLED "/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled"
#define MTHP_64K_ALLOCS	 "/sys/kernel/mm/transparent_hugepage/hugepages-64kB/stats/anon_fault_alloc"

struct migrate_buf {
	char *buf;		/* @size bytes, 2 MB aligned for THPs */
	size_t size;
	size_t folio_size;
	char *map;		/* the mapping, for munmap() */
	size_t map_size;
};

/*
 * Map and fault in @size bytes of @kind.  Returns 0; -1 if mmap() failed;
 * -2 if THPs were asked for but do not back the whole buffer (nothing is
 * left mapped then).
 */
static inline int migrate_buf_map(struct migrate_buf *b, enum migrate_buf_kind kind,
				  size_t size)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS, fd = -1;
	long long mthp = 0;

	b->size = size;
	b->folio_size = (size_t)getpagesize();
	b->map_size = size;
	if (kind == MIGRATE_BUF_ANON_THP) {
		b->folio_size = PMD_SIZE_2M;
		b->map_size = size + PMD_SIZE_2M;
	} else if (kind == MIGRATE_BUF_ANON_MTHP) {
		b->folio_size = 64UL << 10;
		b->map_size = size + b->folio_size;
		mthp = read_number(MTHP_64K_ALLOCS);
	} else if (kind == MIGRATE_BUF_SHMEM) {
		flags = MAP_SHARED | MAP_ANONYMOUS;
	} else if (kind == MIGRATE_BUF_TMPFS) {
		char path[] = "/tmp/migrate_buf_XXXXXX";

		fd = mkstemp(path);
		if (fd < 0)
			return -1;
		unlink(path);
		if (ftruncate(fd, size)) {
			close(fd);
			return -1;
		}
		flags = MAP_SHARED;
	}
	b->map = mmap(NULL, b->map_size, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (fd >= 0)
		close(fd);
	if (b->map == MAP_FAILED)
		return -1;
	b->buf = b->map;
	if (kind == MIGRATE_BUF_ANON_THP || kind == MIGRATE_BUF_ANON_MTHP) {
		unsigned long align = b->folio_size;

		b->buf = (char *)(((unsigned long)b->map + align - 1) & ~(align - 1));
		if (kind == MIGRATE_BUF_ANON_THP)
			madvise(b->buf, size, MADV_HUGEPAGE);
	} else if (kind == MIGRATE_BUF_ANON_4K) {
		madvise(b->buf, size, MADV_NOHUGEPAGE);
	}
	memset(b->buf, 1, size);
	if ((kind == MIGRATE_BUF_ANON_THP && !all_thp(b->buf, size)) ||
	    (kind == MIGRATE_BUF_ANON_MTHP &&
	     read_number(MTHP_64K_ALLOCS) - mthp < (long long)(size / b->folio_size))) {
		munmap(b->map, b->map_size);
		return -2;
	}
	return 0;
}

static inline void migrate_buf_unmap(struct migrate_buf *b)
{
	munmap(b->map, b->map_size);
}

#ifdef TEST_HARNESS_MAIN
/*
 * Time budgets.  Each test runs in a child of its own; the fixture's setup
 * starts this clock and its teardown prints how long the test took against
 * its budget (TEST_F_TIMEOUT, else the harness's default), so the margin a
 * slow machine leaves shows in the log:
 *   # time: mtcopy.scale_shmem took 42.3 s of its 300 s budget
 * The check harness reads these lines and names every test that used more
 * than half its budget.  A test passes or fails on its data, never on time.
 */
static struct timespec migrate_test_started;

static inline void migrate_test_clock_start(void)
{
	clock_gettime(CLOCK_MONOTONIC, &migrate_test_started);
}

static inline void migrate_test_clock_report(struct __test_metadata *_metadata)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	fprintf(stderr, "# time: %s.%s took %.1f s of its %d s budget\n",
		_metadata->fixture->name, _metadata->name,
		(now.tv_sec - migrate_test_started.tv_sec) +
		(now.tv_nsec - migrate_test_started.tv_nsec) / 1e9,
		_metadata->timeout);
}

/*
 * In a kselftest_harness test: map @b as @kind.  Returns false when the test
 * was marked skipped (no THPs to be had) or failed (mmap() failed); the
 * caller must return then.
 */
static inline bool migrate_buf_map_or_skip(struct __test_metadata *_metadata,
					   struct migrate_buf *b,
					   enum migrate_buf_kind kind, size_t size)
{
	int ret;

	if (kind == MIGRATE_BUF_ANON_THP && !thp_available())
		SKIP(return false, "transparent hugepages are disabled");
	if (kind == MIGRATE_BUF_ANON_MTHP && access(MTHP_64K_ALLOCS, R_OK))
		SKIP(return false, "no 64 KB mTHP in this kernel");
	ret = migrate_buf_map(b, kind, size);
	if (ret == -2)
		SKIP(return false, "could not get (m)THPs for the whole buffer");
	EXPECT_EQ(ret, 0);
	return ret == 0;
}
#endif

#endif /* __SELFTESTS_MM_MIGRATE_HELPERS_H */
