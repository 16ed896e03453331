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
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "migrate_helpers.h"

#define MIGRATOR	"/sys/kernel/mm/migrate_offload/migrator"
#define THREADS		"/sys/module/migrate_mtcopy/parameters/threads"
#define NR_PASSES	4
#define CHURN_CYCLES	50
#define SCALE_SIZE	(32UL << 20)
#define SCALE_PASSES	8
#define WRITER_BYTES	(1024UL * 1024)
#define NR_READERS	2

static int mtcopy_active(void)
{
	char buf[32] = "";
	int fd = open(MIGRATOR, O_RDONLY);

	if (fd < 0)
		return 0;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = '\0';
	close(fd);
	return !strcmp(buf, "mtcopy\n");
}

static int mtcopy_load(void)
{
	if (mtcopy_active())
		return 0;
	/* One migrator at a time: make room. */
	if (system("rmmod test_migrate_offload 2>/dev/null") < 0 ||
	    system("modprobe migrate_mtcopy 2>/dev/null") < 0)
		return -1;
	return mtcopy_active() ? 0 : -1;
}

FIXTURE(mtcopy)
{
	int node[2];
	size_t page_size;
};

FIXTURE_SETUP(mtcopy)
{
	if (geteuid())
		SKIP(return, "needs root (modprobe)");
	if (two_nodes(&self->node[0], &self->node[1]))
		SKIP(return, "needs two memory nodes");
	if (mtcopy_load())
		SKIP(return, "the migrate_mtcopy module is not available");
	self->page_size = getpagesize();
	ASSERT_EQ(write_string(THREADS, "0"), 0);
	ASSERT_EQ(write_string("/sys/kernel/mm/migrate_offload/min_batch_bytes", "65536"), 0);
}

FIXTURE_TEARDOWN(mtcopy)
{
	write_string(THREADS, "0");
}

/* Bounce a buffer of @kind; the migrator must copy every folio of every move. */
static void bounce_kind(struct __test_metadata *_metadata, const int *node,
			size_t page_size, enum migrate_buf_kind kind, size_t size)
{
	unsigned long nr_pages = size / page_size, nr_folios, i;
	struct migrate_buf b;
	unsigned int pass;
	int *status;
	void **addr;

	if (!migrate_buf_map_or_skip(_metadata, &b, kind, size))
		return;
	nr_folios = size / b.folio_size;
	status = calloc(nr_pages, sizeof(int));
	addr = calloc(nr_folios, sizeof(void *));
	ASSERT_NE(status, NULL);
	ASSERT_NE(addr, NULL);
	for (i = 0; i < nr_folios; i++)
		addr[i] = b.buf + i * b.folio_size;
	ASSERT_EQ(move_all(addr, nr_folios, node[0], status), 0);

	for (pass = 1; pass <= NR_PASSES; pass++) {
		unsigned long copied = read_vmstat("pgmigrate_offload_copied");
		unsigned long fallback = read_vmstat("pgmigrate_offload_fallback");
		int to = node[pass & 1];
		long bad;

		migrate_fill((uint64_t *)b.buf, size, pass);
		ASSERT_EQ(move_all(addr, nr_folios, to, status), 0);
		ASSERT_EQ(pages_not_on(b.buf, nr_pages, to, page_size, status), 0);
		bad = migrate_verify((uint64_t *)b.buf, size, pass);
		ASSERT_EQ(bad, -1)
			TH_LOG("pass %u: word %ld corrupt after moving to node %d", pass, bad, to);
		copied = read_vmstat("pgmigrate_offload_copied") - copied;
		fallback = read_vmstat("pgmigrate_offload_fallback") - fallback;
		ASSERT_GE(copied, nr_folios)
			TH_LOG("pass %u: mtcopy copied %lu of %lu folios", pass, copied, nr_folios);
		ASSERT_EQ(fallback, 0);
	}
	free(addr);
	free(status);
	migrate_buf_unmap(&b);
}

TEST_F(mtcopy, anon_4k)
{
	bounce_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_ANON_4K, 16UL << 20);
}

TEST_F(mtcopy, shmem)
{
	bounce_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_SHMEM, 16UL << 20);
}

/* One 2 MB folio per batch, split over 1, 2 and 3 threads. */
TEST_F(mtcopy, anon_thp_threads)
{
	static const char * const nthreads[] = { "1", "2", "3", "0" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(nthreads); i++) {
		ASSERT_EQ(write_string(THREADS, nthreads[i]), 0);
		bounce_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_ANON_THP,
			    16UL << 20);
	}
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
	addr = calloc(nr_folios, sizeof(void *));
	ASSERT_NE(status, NULL);
	ASSERT_NE(addr, NULL);
	for (i = 0; i < nr_folios; i++)
		addr[i] = b.buf + i * b.folio_size;
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
		SKIP(return, "the kernel split the 64 KB mTHPs instead of moving them");
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
		/* mTHPs the kernel split on the way: only the first page moved. */
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
		SKIP(return, "the kernel split the 64 KB mTHPs under concurrent use");
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

TEST_F(mtcopy, scale_anon_4k)
{
	scale_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_ANON_4K);
}

TEST_F(mtcopy, scale_anon_thp)
{
	scale_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_ANON_THP);
}

TEST_F(mtcopy, scale_anon_mthp)
{
	if (!access(MTHP_64K_ENABLED, W_OK))
		write_string(MTHP_64K_ENABLED, "always");
	scale_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_ANON_MTHP);
	if (!access(MTHP_64K_ENABLED, W_OK))
		write_string(MTHP_64K_ENABLED, "never");
}

TEST_F(mtcopy, scale_shmem)
{
	scale_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_SHMEM);
}

TEST_F(mtcopy, scale_tmpfs)
{
	scale_kind(_metadata, self->node, self->page_size, MIGRATE_BUF_TMPFS);
}

/* Unload and reload the migrator while another process migrates. */
TEST_F(mtcopy, unload_while_migrating)
{
	size_t size = 4UL << 20;
	unsigned long before;
	int status, cycle;
	pid_t pid;

	before = read_vmstat("pgmigrate_offload_copied");
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		migrate_forever(self->node, size);
	for (cycle = 0; cycle < CHURN_CYCLES; cycle++) {
		usleep(20000);
		ASSERT_EQ(system("rmmod migrate_mtcopy"), 0)
			TH_LOG("cycle %d: rmmod failed", cycle);
		ASSERT_FALSE(mtcopy_active());
		usleep(5000);
		ASSERT_EQ(system("modprobe migrate_mtcopy"), 0);
		ASSERT_TRUE(mtcopy_active());
		ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0)
			TH_LOG("cycle %d: the migrating process died: %d", cycle, status);
	}
	kill(pid, SIGKILL);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("the migrating process exited with %d: data corrupt or move failed",
		       WEXITSTATUS(status));
	ASSERT_GT(read_vmstat("pgmigrate_offload_copied"), before);
}

TEST_HARNESS_MAIN
