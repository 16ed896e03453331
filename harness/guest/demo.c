// SPDX-License-Identifier: GPL-2.0
/*
 * The harness demo: move a buffer between two NUMA nodes with move_pages(2),
 * check every byte, and show what the kernel's migration counters say.
 *
 * For each kind of memory (4 KB anonymous pages, 2 MB THPs, shmem) the buffer
 * is filled with a pattern, moved node 0 -> node 1 -> node 0, and verified
 * after each move.  Counters that mention migration or offload in
 * /proc/vmstat are printed as deltas, so the demo shows new counters as the
 * series adds them.  Exit status: 0 when every byte was intact.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MPOL_MF_MOVE	(1 << 1)
#define MB		(1UL << 20)
#define THP		(2 * MB)
#define MAX_STATS	64

struct stat_snap {
	int n;
	char name[MAX_STATS][64];
	unsigned long val[MAX_STATS];
};

static int interesting(const char *name)
{
	return strstr(name, "migrat") || strstr(name, "offload");
}

static void snap(struct stat_snap *s)
{
	char key[64];
	unsigned long v;
	FILE *f = fopen("/proc/vmstat", "r");
	int i;

	s->n = 0;
	if (!f)
		return;
	while (s->n < MAX_STATS && fscanf(f, "%63s %lu", key, &v) == 2) {
		if (!interesting(key))
			continue;
		snprintf(s->name[s->n], sizeof(s->name[0]), "%s", key);
		s->val[s->n++] = v;
	}
	fclose(f);
	/* The test migrator's counters, when it is loaded. */
	for (i = 0; i < 2 && s->n < MAX_STATS; i++) {
		static const char * const tmo[] = { "folios_copied", "bytes_copied" };
		char path[128];

		snprintf(path, sizeof(path), "/sys/kernel/debug/test_migrate_offload/%s", tmo[i]);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%lu", &v) == 1) {
			snprintf(s->name[s->n], sizeof(s->name[0]), "test_migrate_offload/%s", tmo[i]);
			s->val[s->n++] = v;
		}
		fclose(f);
	}
}

static void print_delta(const struct stat_snap *a, const struct stat_snap *b)
{
	int i;

	printf("  counters that changed:\n");
	for (i = 0; i < b->n && i < a->n; i++)
		if (b->val[i] != a->val[i])
			printf("    %-38s +%lu\n", b->name[i], b->val[i] - a->val[i]);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t pattern(size_t i, int pass)
{
	uint64_t x = i * 0x9E3779B97F4A7C15ULL + pass * 0xD1B54A32D192ED03ULL + 1;

	return x ^ (x >> 31);
}

/* Move every folio of buf to node; returns pages not moved, or -1. */
static long move(char *buf, size_t size, size_t step, int node, double *secs)
{
	unsigned long n = size / step, i, left = 0;
	void **addr = calloc(n, sizeof(void *));
	int *nodes = calloc(n, sizeof(int));
	int *status = calloc(n, sizeof(int));
	double t;

	*secs = 0;
	if (!addr || !nodes || !status)
		return -1;
	for (i = 0; i < n; i++) {
		addr[i] = buf + i * step;
		nodes[i] = node;
	}
	t = now();
	if (syscall(SYS_move_pages, 0, n, addr, nodes, status, MPOL_MF_MOVE) < 0) {
		perror("move_pages");
		left = n;
	}
	*secs = now() - t;
	for (i = 0; i < n; i++)
		left += status[i] != node;
	free(addr);
	free(nodes);
	free(status);
	return left;
}

static int run(const char *what, char *buf, size_t size, size_t step)
{
	struct stat_snap a, b;
	int pass, bad = 0;

	printf("\n%s: %lu MB in %lu folios of %lu KB\n", what, size / MB, size / step,
	       step >> 10);
	/* Fault the buffer in and put all of it on node 0 first. */
	{
		double secs;

		memset(buf, 0, size);
		if (move(buf, size, step, 0, &secs)) {
			printf("  could not place the buffer on node 0\n");
			return 1;
		}
	}
	for (pass = 1; pass <= 2; pass++) {
		int to = pass & 1;
		uint64_t *w = (uint64_t *)buf;
		size_t i, nw = size / 8, wrong = 0;
		double secs = 0;
		long left;

		for (i = 0; i < nw; i++)
			w[i] = pattern(i, pass);
		snap(&a);
		left = move(buf, size, step, to, &secs);
		snap(&b);
		for (i = 0; i < nw; i++)
			wrong += w[i] != pattern(i, pass);
		printf("  node %d -> node %d: %.1f ms, %.2f GB/s, %ld folios not moved, "
		       "%zu of %zu bytes wrong\n", 1 - to, to, secs * 1e3,
		       size / secs / 1e9, left, wrong * 8, size);
		print_delta(&a, &b);
		bad |= left != 0 || wrong != 0;
	}
	return bad;
}

int main(void)
{
	size_t size = 64 * MB;
	char *anon, *thp_raw, *thp, *shm, name[64] = "none";
	int bad = 0, fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open("/sys/kernel/mm/migrate_offload/migrator", O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, name, sizeof(name) - 1);

		name[n > 0 ? n - 1 : 0] = '\0';
		close(fd);
		printf("demo: active migrator: %s\n", name);
	} else if (!access("/sys/kernel/debug/test_migrate_offload", F_OK)) {
		printf("demo: active migrator: test_migrate_offload (the test module)\n");
	} else {
		printf("demo: no migrator: the CPU copies every folio\n");
	}

	anon = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	thp_raw = mmap(NULL, size + THP, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	shm = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED || thp_raw == MAP_FAILED || shm == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	madvise(anon, size, MADV_NOHUGEPAGE);
	thp = (char *)(((uintptr_t)thp_raw + THP - 1) & ~(THP - 1));
	madvise(thp, size, MADV_HUGEPAGE);

	bad |= run("anonymous 4 KB pages", anon, size, getpagesize());
	bad |= run("anonymous THP", thp, size, THP);
	bad |= run("shmem 4 KB pages", shm, size, getpagesize());

	printf("\ndemo: %s\n", bad ? "FAILED: data or placement wrong" :
	       "every byte verified after every move");
	return bad;
}
