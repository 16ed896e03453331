// SPDX-License-Identifier: GPL-2.0
/*
 * Migration copy offload on the less common paths, with the test migrator
 * module (CONFIG_TEST_MIGRATE_OFFLOAD): pagecache of a filesystem whose
 * migrate_folio is filemap_migrate_folio() (9p over virtio), swapcache
 * folios, KSM folios, a partially mapped THP, pagecache with buffer heads
 * (ext2 on a RAM disk), folios with an extra reference (a pipe holding
 * vmspliced pages), and memory moved by a cgroup v2 cpuset.mems change.
 *
 * Each test moves memory between two nodes, verifies every byte it moved,
 * and reads the test migrator's counters and /proc/vmstat to show which
 * path copied it: the migrator for eligible folios, the CPU for the others.
 *
 * Needs root, two memory nodes and the module; each test skips when what it
 * needs (swap, KSM, a RAM disk, ext2, cpusets) is not in the kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "migrate_helpers.h"

#define TMO_DIR		"/sys/kernel/debug/test_migrate_offload/"
#define MCO_DIR		"/sys/kernel/mm/migrate_offload/"
#define KSM_DIR		"/sys/kernel/mm/ksm/"
#define CG_ROOT		"/sys/fs/cgroup"
#define CG_DIR		CG_ROOT "/migrate_offload_paths"
#define EXT2_MNT	"/tmp/migrate_offload_ext2"
#define P9_MNT		"/tmp/migrate_offload_9p"
#define P9_TAG		"harness9p"	/* the share of harness/run-guest.sh */
#define BULK_REASONS	"syscall_or_cpuset mempolicy_mbind numa_misplaced demotion damon"
#define BUF_SIZE	(4UL << 20)

static long long tmo(const char *file)
{
	char path[128];

	snprintf(path, sizeof(path), TMO_DIR "%s", file);
	return read_number(path);
}

static int tmo_loaded(void)
{
	return access(TMO_DIR "calls", R_OK) == 0;
}

/* What the migrator and the core counted, and what migrated. */
struct counts {
	long long offered, copied;
	unsigned long migrated;
	struct offload_vmstat vm;
};

static void snap(struct counts *c)
{
	c->offered = tmo("folios_offered");
	c->copied = tmo("folios_copied");
	c->migrated = read_vmstat("pgmigrate_success");
	read_offload_vmstat(&c->vm);
}

FIXTURE(paths)
{
	int node[2];
	size_t page_size;
	struct migrate_offload_settings saved;
};

FIXTURE_SETUP(paths)
{
	migrate_test_clock_start();
	if (geteuid())
		SKIP(return, "needs root");
	if (two_nodes(&self->node[0], &self->node[1]))
		SKIP(return, "needs two memory nodes");
	if (!tmo_loaded() &&
	    (system("rmmod migrate_mtcopy 2>/dev/null") < 0 ||
	     system("modprobe test_migrate_offload 2>/dev/null") || !tmo_loaded()))
		SKIP(return, "the test_migrate_offload module is not available");
	self->page_size = getpagesize();
	migrate_offload_save(&self->saved);
	ASSERT_EQ(write_string(TMO_DIR "fail_every", "0"), 0);
	ASSERT_EQ(write_string(TMO_DIR "delay_ms", "0"), 0);
	ASSERT_EQ(write_string(TMO_DIR "sentinel", "0"), 0);
	ASSERT_EQ(write_string(MCO_DIR "reasons", BULK_REASONS), 0);
	ASSERT_EQ(write_string(MCO_DIR "min_batch_bytes", "0"), 0);
}

FIXTURE_TEARDOWN(paths)
{
	migrate_offload_restore(&self->saved);
	migrate_test_clock_report(_metadata);
}

/*
 * Move the @nr pages at @buf to @node one base page address at a time
 * (with MPOL_MF_MOVE_ALL when @all: KSM pages are mapped more than once).
 * Returns how many are not on @node afterwards.
 */
static unsigned long move_to(char *buf, unsigned long nr, size_t page_size, int node, int all)
{
	void **addr = migrate_addrs(buf, nr, page_size);
	int *nodes = calloc(nr, sizeof(int)), *status = calloc(nr, sizeof(int));
	unsigned long i, left = nr;

	if (addr && nodes && status) {
		for (i = 0; i < nr; i++)
			nodes[i] = node;
		move_pages_raw(nr, addr, nodes, status, all ? MPOL_MF_MOVE_ALL : MPOL_MF_MOVE);
		left = pages_not_on(buf, nr, node, page_size, status);
	}
	free(addr);
	free(nodes);
	free(status);
	return left;
}

static unsigned long meminfo_kb(const char *key)
{
	char line[128];
	unsigned long kb = 0;
	size_t len = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':')
			kb = strtoul(line + len + 1, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

/* A RAM disk of @mb MB as /dev/ram0 and /dev/ram1; 0, or -1 without brd. */
static int ram_disks(unsigned int mb)
{
	char cmd[96];

	if (!access("/dev/ram1", F_OK))
		return 0;
	snprintf(cmd, sizeof(cmd), "modprobe brd rd_nr=2 rd_size=%u 2>/dev/null", mb << 10);
	if (system(cmd))
		return -1;
	return access("/dev/ram1", F_OK) ? -1 : 0;
}

/*
 * Pagecache of 9p (v9fs_addr_operations: migrate_folio is
 * filemap_migrate_folio()), mapped shared and dirtied: the migrator copies
 * it, and the move phase moves the page cache entry and private data.
 */
TEST_F(paths, filemap_pagecache)
{
	unsigned long nr = BUF_SIZE / self->page_size;
	struct counts a, b;
	char *buf;
	long bad;
	int fd;

	mkdir(P9_MNT, 0700);
	if (mount(P9_TAG, P9_MNT, "9p", 0, "trans=virtio,version=9p2000.L,cache=mmap"))
		SKIP(return, "no 9p share %s (CONFIG_9P_FS, QEMU virtio-9p): %s",
		     P9_TAG, strerror(errno));
	fd = open(P9_MNT "/data", O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(ftruncate(fd, BUF_SIZE), 0);
	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(buf, MAP_FAILED);
	migrate_fill((uint64_t *)buf, BUF_SIZE, 11);
	ASSERT_EQ(move_to(buf, nr, self->page_size, self->node[0], 0), 0);

	snap(&a);
	ASSERT_EQ(move_to(buf, nr, self->page_size, self->node[1], 0), 0);
	snap(&b);
	bad = migrate_verify((uint64_t *)buf, BUF_SIZE, 11);
	TH_LOG("%lu pages migrated; migrator offered %lld, copied %lld; core: %lu ineligible",
	       b.migrated - a.migrated, b.offered - a.offered, b.copied - a.copied,
	       b.vm.skip_ineligible - a.vm.skip_ineligible);
	/* And the data reaches the file through the moved page cache. */
	ASSERT_EQ(msync(buf, BUF_SIZE, MS_SYNC), 0);
	munmap(buf, BUF_SIZE);
	ASSERT_EQ(bad, -1) TH_LOG("word %ld corrupt", bad);
	buf = malloc(BUF_SIZE);
	ASSERT_NE(buf, NULL);
	ASSERT_EQ(pread(fd, buf, BUF_SIZE, 0), (ssize_t)BUF_SIZE);
	bad = migrate_verify((uint64_t *)buf, BUF_SIZE, 11);
	free(buf);
	close(fd);
	unlink(P9_MNT "/data");
	ASSERT_EQ(umount(P9_MNT), 0);
	ASSERT_EQ(bad, -1) TH_LOG("word %ld of the file corrupt", bad);
	ASSERT_GE(b.migrated - a.migrated, nr);
	ASSERT_GE(b.copied - a.copied, (long long)nr);
}

/*
 * Swapcache folios: anonymous pages paged out to swap and faulted back in
 * stay in the swapcache while another process still maps their swap
 * entries (a child forked after the pageout; without it, a RAM disk, which
 * does synchronous I/O, would swap in without the swapcache).  The
 * swapcache's migrate_folio is migrate_folio(): the migrator copies them.
 */
TEST_F(paths, swapcache)
{
	unsigned long nr = BUF_SIZE / self->page_size, cached;
	struct counts a, b;
	unsigned long sum = 0;
	int status;
	char *buf;
	pid_t pid;
	long bad;
	size_t i;

	if (ram_disks(64))
		SKIP(return, "no RAM disk (CONFIG_BLK_DEV_RAM)");
	if (system("mkswap /dev/ram1 > /dev/null 2>&1") || swapon("/dev/ram1", 0))
		SKIP(return, "cannot swap on /dev/ram1 (CONFIG_SWAP?): %s", strerror(errno));
	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(buf, MAP_FAILED);
	madvise(buf, BUF_SIZE, MADV_NOHUGEPAGE);
	migrate_fill((uint64_t *)buf, BUF_SIZE, 1);
	ASSERT_EQ(move_to(buf, nr, self->page_size, self->node[0], 0), 0);
	ASSERT_EQ(madvise(buf, BUF_SIZE, MADV_PAGEOUT), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pause();
		_exit(0);
	}
	for (i = 0; i < BUF_SIZE; i += self->page_size)
		sum += buf[i];		/* swap in: the child keeps the entries */
	/*
	 * Swap-in allocates on the node of the CPU that faulted, which may be
	 * node[1] already: put every page back on node[0], so that the move
	 * below moves them all.  Migration keeps them in the swapcache.
	 */
	ASSERT_EQ(move_to(buf, nr, self->page_size, self->node[0], 0), 0);
	cached = meminfo_kb("SwapCached");
	TH_LOG("SwapCached: %lu kB after reading back %lu kB (sum %lu)",
	       cached, BUF_SIZE >> 10, sum);
	if (cached < (BUF_SIZE >> 10) / 2) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		munmap(buf, BUF_SIZE);
		swapoff("/dev/ram1");
		SKIP(return, "the pages did not stay in the swapcache");
	}

	snap(&a);
	ASSERT_EQ(move_to(buf, nr, self->page_size, self->node[1], 0), 0);
	snap(&b);
	bad = migrate_verify((uint64_t *)buf, BUF_SIZE, 1);
	TH_LOG("migrator copied %lld folios of %lu pages moved", b.copied - a.copied, nr);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	munmap(buf, BUF_SIZE);
	ASSERT_EQ(swapoff("/dev/ram1"), 0);
	ASSERT_EQ(bad, -1) TH_LOG("word %ld corrupt", bad);
	ASSERT_GE(b.migrated - a.migrated, nr);
	ASSERT_GE(b.copied - a.copied, (long long)cached * 1024 / (long long)self->page_size / 2);
}

/*
 * KSM folios: identical pages merged by ksmd are anonymous folios without a
 * mapping, mapped many times; moved with MPOL_MF_MOVE_ALL, the migrator
 * copies them.  ksmd runs at full speed; if it has not merged the buffer
 * within two minutes, the test skips rather than fail on a slow machine.
 */
TEST_F(paths, ksm)
{
	unsigned long nr = BUF_SIZE / self->page_size, i;
	long long shared = -1;
	struct counts a, b;
	char *buf;
	int wait;

	if (access(KSM_DIR "run", W_OK))
		SKIP(return, "no KSM (CONFIG_KSM)");
	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(buf, MAP_FAILED);
	madvise(buf, BUF_SIZE, MADV_NOHUGEPAGE);
	/* Four different pages, each repeated: KSM keeps four folios. */
	for (i = 0; i < nr; i++)
		memset(buf + i * self->page_size, 0x40 + i % 4, self->page_size);
	ASSERT_EQ(move_to(buf, nr, self->page_size, self->node[0], 1), 0);
	ASSERT_EQ(madvise(buf, BUF_SIZE, MADV_MERGEABLE), 0);
	ASSERT_EQ(write_string(KSM_DIR "pages_to_scan", "10000"), 0);
	ASSERT_EQ(write_string(KSM_DIR "sleep_millisecs", "0"), 0);
	ASSERT_EQ(write_string(KSM_DIR "run", "1"), 0);
	for (wait = 0; wait < 1200; wait++) {
		shared = read_number(KSM_DIR "pages_sharing");
		if (shared >= (long long)nr / 2)
			break;
		usleep(100000);
	}
	TH_LOG("KSM: %lld pages sharing after %d.%d s", shared, wait / 10, wait % 10);
	/* Stop ksmd, merged pages stay merged: nothing changes under the move. */
	ASSERT_EQ(write_string(KSM_DIR "run", "0"), 0);
	if (shared < (long long)nr / 2) {
		write_string(KSM_DIR "run", "2");
		munmap(buf, BUF_SIZE);
		SKIP(return, "ksmd did not merge the buffer in time");
	}

	snap(&a);
	/* A KSM folio is one folio at many addresses: the move may need a retry. */
	for (wait = 0; wait < MIGRATE_MAX_RETRIES; wait++)
		if (!move_to(buf, nr, self->page_size, self->node[1], 1))
			break;
	snap(&b);
	ASSERT_EQ(move_to(buf, nr, self->page_size, self->node[1], 1), 0);
	for (i = 0; i < nr; i++)
		ASSERT_TRUE(all_bytes_are(buf + i * self->page_size, self->page_size, 0x40 + i % 4))
			TH_LOG("page %lu corrupt", i);
	TH_LOG("migrator copied %lld KSM folios; %lu pages migrated",
	       b.copied - a.copied, b.migrated - a.migrated);
	ASSERT_EQ(write_string(KSM_DIR "run", "2"), 0);	/* unmerge everything */
	munmap(buf, BUF_SIZE);
	ASSERT_GE(b.copied - a.copied, 1);
	ASSERT_EQ(b.vm.fallback - a.vm.fallback, 0);
}

/*
 * A THP with one page unmapped: partially mapped, waiting for a deferred
 * split.  Its other pages move and keep their data, whatever migration
 * does with the folio (split it or move it whole).
 */
TEST_F(paths, partially_mapped_thp)
{
	size_t size = 2 * PMD_SIZE_2M;
	unsigned long nr = size / self->page_size, hole = 17, i;
	struct counts a, b;
	char *map, *buf;

	if (!thp_available())
		SKIP(return, "THP is disabled");
	map = mmap(NULL, size + PMD_SIZE_2M, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(map, MAP_FAILED);
	buf = (char *)(((unsigned long)map + PMD_SIZE_2M - 1) & ~(PMD_SIZE_2M - 1));
	ASSERT_EQ(madvise(buf, size, MADV_HUGEPAGE), 0);
	migrate_fill((uint64_t *)buf, size, 3);
	if (!all_thp(buf, size)) {
		munmap(map, size + PMD_SIZE_2M);
		SKIP(return, "no THP for the buffer");
	}
	ASSERT_EQ(move_to(buf, nr, self->page_size, self->node[0], 0), 0);
	/* Unmap one page of each THP. */
	ASSERT_EQ(madvise(buf + hole * self->page_size, self->page_size, MADV_DONTNEED), 0);
	ASSERT_EQ(madvise(buf + PMD_SIZE_2M + hole * self->page_size, self->page_size,
			  MADV_DONTNEED), 0);

	snap(&a);
	for (i = 0; i < nr; i++) {
		if (i % (PMD_SIZE_2M / self->page_size) == hole)
			continue;
		ASSERT_EQ(move_to(buf + i * self->page_size, 1, self->page_size,
				  self->node[1], 0), 0) TH_LOG("page %lu did not move", i);
	}
	snap(&b);
	for (i = 0; i < nr; i++) {
		unsigned long w = i * self->page_size / 8, n = self->page_size / 8, j;
		const uint64_t *p = (const uint64_t *)(buf + i * self->page_size);

		for (j = 0; j < n; j++) {
			uint64_t want = i % (PMD_SIZE_2M / self->page_size) == hole ? 0 :
					migrate_pattern(w + j, 3);

			ASSERT_EQ(p[j], want) TH_LOG("page %lu word %lu", i, j);
		}
	}
	TH_LOG("%lu pages migrated; migrator offered %lld, copied %lld",
	       b.migrated - a.migrated, b.offered - a.offered, b.copied - a.copied);
	munmap(map, size + PMD_SIZE_2M);
	ASSERT_GE(b.migrated - a.migrated, nr - 2);
	ASSERT_GE(b.copied - a.copied, 1);
}

/*
 * Pagecache with buffer heads (ext2): buffer_migrate_folio() moves it,
 * and buffer data may change without the folio lock, so the core never
 * offers it: the migrator sees none of it, the core counts it ineligible,
 * the CPU copies it, and every byte survives.
 */
TEST_F(paths, buffer_head_pagecache_not_offloaded)
{
	unsigned long nr = BUF_SIZE / self->page_size;
	struct counts a, b;
	char *buf;
	long bad;
	int fd;

	if (ram_disks(64))
		SKIP(return, "no RAM disk (CONFIG_BLK_DEV_RAM)");
	mkdir(EXT2_MNT, 0700);
	if (system("mke2fs -q /dev/ram0 > /dev/null 2>&1") ||
	    mount("/dev/ram0", EXT2_MNT, "ext2", 0, NULL))
		SKIP(return, "cannot mount ext2 on /dev/ram0 (CONFIG_EXT2_FS?)");
	fd = open(EXT2_MNT "/data", O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(ftruncate(fd, BUF_SIZE), 0);
	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(buf, MAP_FAILED);
	migrate_fill((uint64_t *)buf, BUF_SIZE, 5);
	ASSERT_EQ(msync(buf, BUF_SIZE, MS_SYNC), 0);	/* clean folios with buffers */
	ASSERT_EQ(move_to(buf, nr, self->page_size, self->node[0], 0), 0);

	snap(&a);
	ASSERT_EQ(move_to(buf, nr, self->page_size, self->node[1], 0), 0);
	snap(&b);
	bad = migrate_verify((uint64_t *)buf, BUF_SIZE, 5);
	TH_LOG("%lu pages migrated; migrator offered %lld; core: %lu ineligible",
	       b.migrated - a.migrated, b.offered - a.offered,
	       b.vm.skip_ineligible - a.vm.skip_ineligible);
	munmap(buf, BUF_SIZE);
	close(fd);
	ASSERT_EQ(umount(EXT2_MNT), 0);
	ASSERT_EQ(bad, -1) TH_LOG("word %ld corrupt", bad);
	ASSERT_GE(b.migrated - a.migrated, nr);
	ASSERT_EQ(b.offered - a.offered, 0);
	ASSERT_GE(b.vm.skip_ineligible - a.vm.skip_ineligible, nr);
}

/*
 * Pages vmspliced into a pipe carry an extra reference until the pipe lets
 * them go.  A folio with an unexpected reference is never offered (a pin
 * may have DMA in flight), and it does not move; the others do.
 */
TEST_F(paths, referenced_not_offered)
{
	unsigned long nr = BUF_SIZE / self->page_size, half = nr / 2;
	struct iovec iov;
	struct counts a, b;
	int pipefd[2], sz;
	char *buf;
	long bad;

	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(buf, MAP_FAILED);
	madvise(buf, BUF_SIZE, MADV_NOHUGEPAGE);
	migrate_fill((uint64_t *)buf, BUF_SIZE, 7);
	ASSERT_EQ(move_to(buf, nr, self->page_size, self->node[0], 0), 0);
	ASSERT_EQ(pipe(pipefd), 0);
	sz = fcntl(pipefd[1], F_SETPIPE_SZ, (int)(BUF_SIZE / 2));
	ASSERT_GE(sz, (int)(BUF_SIZE / 2)) TH_LOG("pipe of %lu bytes refused", BUF_SIZE / 2);
	iov.iov_base = buf;
	iov.iov_len = BUF_SIZE / 2;
	ASSERT_EQ(vmsplice(pipefd[1], &iov, 1, 0), (ssize_t)(BUF_SIZE / 2));

	snap(&a);
	ASSERT_EQ(move_to(buf + half * self->page_size, nr - half, self->page_size,
			  self->node[1], 0), 0);
	ASSERT_EQ(move_to(buf, half, self->page_size, self->node[1], 0), half)
		TH_LOG("pages held by the pipe moved");
	snap(&b);
	bad = migrate_verify((uint64_t *)buf, BUF_SIZE, 7);
	TH_LOG("migrator offered %lld, copied %lld; core: %lu ineligible",
	       b.offered - a.offered, b.copied - a.copied,
	       b.vm.skip_ineligible - a.vm.skip_ineligible);
	ASSERT_EQ(bad, -1) TH_LOG("word %ld corrupt", bad);
	ASSERT_EQ(b.copied - a.copied, (long long)(nr - half));
	ASSERT_LE(b.offered - a.offered, (long long)(nr - half));
	ASSERT_GE(b.vm.skip_ineligible - a.vm.skip_ineligible, half);

	/* Once the pipe is gone they move, through the migrator. */
	close(pipefd[0]);
	close(pipefd[1]);
	snap(&a);
	ASSERT_EQ(move_to(buf, half, self->page_size, self->node[1], 0), 0);
	snap(&b);
	ASSERT_EQ(migrate_verify((uint64_t *)buf, BUF_SIZE, 7), -1);
	ASSERT_EQ(b.copied - a.copied, (long long)half);
	munmap(buf, BUF_SIZE);
}

/*
 * A cgroup v2 cpuset.mems change moves the memory of the cgroup's tasks
 * (MR_SYSCALL, "syscall_or_cpuset"): through the migrator, every byte kept.
 */
TEST_F(paths, cpuset_mems_change)
{
	unsigned long nr = BUF_SIZE / self->page_size;
	int go[2], done[2], status;
	char mems[16], c;
	struct counts a, b;
	pid_t pid;

	if (access(CG_ROOT "/cgroup.controllers", F_OK) &&
	    mount("none", CG_ROOT, "cgroup2", 0, NULL))
		SKIP(return, "cannot mount cgroup2");
	if (write_string(CG_ROOT "/cgroup.subtree_control", "+cpuset"))
		SKIP(return, "no cpuset controller (CONFIG_CPUSETS)");
	rmdir(CG_DIR);
	ASSERT_EQ(mkdir(CG_DIR, 0755), 0);
	snprintf(mems, sizeof(mems), "%d", self->node[0]);
	ASSERT_EQ(write_string(CG_DIR "/cpuset.mems", mems), 0);
	ASSERT_EQ(pipe(go), 0);
	ASSERT_EQ(pipe(done), 0);

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		char self_pid[16], *buf;
		long bad;
		int *st;

		snprintf(self_pid, sizeof(self_pid), "%d", getpid());
		if (write_string(CG_DIR "/cgroup.procs", self_pid))
			_exit(2);
		buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf == MAP_FAILED)
			_exit(2);
		madvise(buf, BUF_SIZE, MADV_NOHUGEPAGE);
		migrate_fill((uint64_t *)buf, BUF_SIZE, 9);
		if (write(done[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		bad = migrate_verify((uint64_t *)buf, BUF_SIZE, 9);
		if (bad != -1)
			_exit(1);
		/* Every page on the new node. */
		st = calloc(nr, sizeof(int));
		if (!st || pages_not_on(buf, nr, self->node[1], getpagesize(), st))
			_exit(3);
		_exit(0);
	}
	ASSERT_EQ(read(done[0], &c, 1), 1);
	snap(&a);
	snprintf(mems, sizeof(mems), "%d", self->node[1]);
	ASSERT_EQ(write_string(CG_DIR "/cpuset.mems", mems), 0);
	snap(&b);
	ASSERT_EQ(write(go[1], "g", 1), 1);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	TH_LOG("cpuset.mems %d -> %d: %lu pages migrated, migrator copied %lld",
	       self->node[0], self->node[1], b.migrated - a.migrated, b.copied - a.copied);
	rmdir(CG_DIR);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0)
		TH_LOG("child: %s", WEXITSTATUS(status) == 1 ? "data corrupt" :
		       WEXITSTATUS(status) == 3 ? "pages not on the new node" : "setup failed");
	ASSERT_GE(b.migrated - a.migrated, nr);
	ASSERT_GE(b.copied - a.copied, (long long)nr);
}

TEST_HARNESS_MAIN
