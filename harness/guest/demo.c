// SPDX-License-Identifier: GPL-2.0
/*
 * The harness demo: move buffers between two NUMA nodes with move_pages(2),
 * check every byte, show what the kernel's migration counters say, and
 * compare no migrator with the multi-threaded CPU migrator (migrate_mtcopy).
 *
 * For each kind of memory (4 KB anonymous pages, 2 MB THPs, shmem) the buffer
 * is filled with a pattern and moved node 0 -> node 1 -> node 0: once with
 * each migrator to warm up, then ROUNDS timed rounds, each round timing both
 * migrators in an order that alternates from round to round.  Every byte is
 * verified after every move.  Counters that mention migration or offload in
 * /proc/vmstat are printed as deltas over each migrator's timed moves.
 *
 * The verdict compares the migrators round by round (the time of no
 * migrator over the time of mtcopy in the same round) and says "faster" or
 * "slower" only when every round agrees; otherwise it says that the rounds
 * disagree.  It never hides a loss.
 *
 * Then a memory tiering scene with DAMON, through mtcopy: a buffer nobody
 * uses is demoted from node 0 to the lower tier by a migrate_cold scheme,
 * and promoted back by a migrate_hot scheme while the demo reads it; every
 * byte is verified after each move, and DAMON's stats, the offload counters
 * and the migrate_offload tracepoints (reason damon) say what moved it.
 *
 * Usage: demo [ROUNDS]   Exit status: 0 when every byte was intact.
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

#include "migrate_helpers.h"
#include "migrate_tiering.h"

#define MB		(1UL << 20)
#define THP		(2 * MB)
#define MAX_STATS	64
#define MAX_ROUNDS	9
/* How long the tiering scene waits for DAMON to move the buffer. */
#define TIERING_WAIT	30

enum { NONE, MTCOPY, NR_CONFIGS };
static const char * const config_name[NR_CONFIGS] = { "none", "mtcopy" };
static int nr_configs = 1;	/* 2 when migrate_mtcopy loads */
static int rounds = 3;

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
}

/* sum += b - a, for the counters both snapshots have. */
static void add_delta(struct stat_snap *sum, const struct stat_snap *a,
		      const struct stat_snap *b)
{
	int i;

	if (!sum->n) {
		*sum = *b;
		for (i = 0; i < sum->n; i++)
			sum->val[i] = 0;
	}
	for (i = 0; i < sum->n && i < a->n && i < b->n; i++)
		if (!strcmp(a->name[i], b->name[i]) && !strcmp(sum->name[i], b->name[i]))
			sum->val[i] += b->val[i] - a->val[i];
}

static void print_counters(const char *config, int moves, const struct stat_snap *sum)
{
	int i;

	printf("  counters that changed, %s (%d timed moves):\n", config, moves);
	for (i = 0; i < sum->n; i++)
		if (sum->val[i])
			printf("    %-38s +%lu\n", sum->name[i], sum->val[i]);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
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

/* Make @c the active configuration: mtcopy loaded or not. */
static int use_config(int c)
{
	static int loaded;
	int ret = 0;

	if (c == MTCOPY && !loaded)
		ret = system("modprobe migrate_mtcopy 2>/dev/null");
	else if (c == NONE && loaded)
		ret = system("rmmod migrate_mtcopy");
	if (!ret)
		loaded = c == MTCOPY;
	return ret;
}

static void active_migrator(char *name, size_t size)
{
	int fd = open(MIGRATE_OFFLOAD_MIGRATOR, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, name, size - 1) : -1;

	name[n > 0 ? n - 1 : 0] = '\0';
	if (n <= 0)
		snprintf(name, size, "none (no %s)", MIGRATE_OFFLOAD_MIGRATOR);
	if (fd >= 0)
		close(fd);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median, min and max of n values (n <= 2 * MAX_ROUNDS). */
static void spread(const double *v, int n, double *med, double *lo, double *hi)
{
	double s[2 * MAX_ROUNDS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	*lo = s[0];
	*hi = s[n - 1];
	*med = n & 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/*
 * Move the buffer 0 -> 1 -> 0 with the configuration in force, verifying
 * every byte after each move; @secs gets the two moves' times.
 */
static int round_trip(char *buf, size_t size, size_t step, int pass, int c,
		      const char *label, double secs[2], struct stat_snap *sum)
{
	uint64_t *w = (uint64_t *)buf;
	size_t i, nw = size / 8;
	int to, bad = 0;

	for (to = 1; to >= 0; to--) {
		struct stat_snap a, b;
		size_t wrong = 0;
		long left;
		int p = pass * 2 + to;

		for (i = 0; i < nw; i++)
			w[i] = migrate_pattern(i, p);
		snap(&a);
		left = move(buf, size, step, to, &secs[1 - to]);
		snap(&b);
		for (i = 0; i < nw; i++)
			wrong += w[i] != migrate_pattern(i, p);
		if (sum)
			add_delta(sum, &a, &b);
		printf("  %-7s %-8s node %d -> node %d: %6.1f ms, %.2f GB/s, %ld folios not moved, "
		       "%zu of %zu bytes wrong\n", config_name[c],
		       label, 1 - to, to, secs[1 - to] * 1e3, size / secs[1 - to] / 1e9,
		       left, wrong * 8, size);
		bad |= left != 0 || wrong != 0;
	}
	return bad;
}

static int run(const char *what, char *buf, size_t size, size_t step)
{
	double t[NR_CONFIGS][2 * MAX_ROUNDS], ratio[MAX_ROUNDS];
	struct stat_snap sum[NR_CONFIGS] = { 0 };
	int r, k, c, bad = 0, pass = 0, faster = 0, slower = 0;
	char label[24];

	printf("\n%s: %lu MB in %lu folios of %lu KB\n", what, size / MB, size / step,
	       step >> 10);
	/* Fault the buffer in and put all of it on node 0 first. */
	memset(buf, 0, size);
	if (move(buf, size, step, 0, &t[0][0])) {
		printf("  could not place the buffer on node 0\n");
		return 1;
	}
	for (c = 0; c < nr_configs; c++) {
		if (use_config(c))
			return 1;
		bad |= round_trip(buf, size, step, pass++, c, "warm-up", t[c], NULL);
	}
	for (r = 0; r < rounds; r++) {
		for (k = 0; k < nr_configs; k++) {
			/* none, mtcopy in odd rounds; mtcopy, none in even ones. */
			c = r & 1 ? nr_configs - 1 - k : k;
			if (use_config(c))
				return 1;
			snprintf(label, sizeof(label), "round %d", r + 1);
			bad |= round_trip(buf, size, step, pass++, c, label, &t[c][2 * r], &sum[c]);
		}
		if (nr_configs > 1) {
			ratio[r] = (t[NONE][2 * r] + t[NONE][2 * r + 1]) /
				   (t[MTCOPY][2 * r] + t[MTCOPY][2 * r + 1]);
			faster += ratio[r] > 1;
			slower += ratio[r] < 1;
		}
	}
	for (c = 0; c < nr_configs; c++)
		print_counters(config_name[c], 2 * rounds, &sum[c]);
	for (c = 0; c < nr_configs; c++) {
		double med, lo, hi;

		spread(t[c], 2 * rounds, &med, &lo, &hi);
		printf("  %-7s time per move: median %.1f ms (min %.1f, max %.1f), %.2f GB/s\n",
		       config_name[c], med * 1e3, lo * 1e3, hi * 1e3, size / med / 1e9);
	}
	if (nr_configs > 1) {
		double med, lo, hi;

		spread(ratio, rounds, &med, &lo, &hi);
		printf("  mtcopy/none speed, per round: median %.2fx (min %.2f, max %.2f): ",
		       med, lo, hi);
		if (faster == rounds)
			printf("mtcopy was faster in every round\n");
		else if (slower == rounds)
			printf("mtcopy was SLOWER in every round\n");
		else
			printf("no clear difference: mtcopy was faster in %d of %d rounds\n",
			       faster, rounds);
	}
	return bad;
}

/*
 * Wait until every page of @buf is on @node, for at most TIERING_WAIT
 * seconds, reading one word of every page between looks if @touch (so that
 * DAMON finds the buffer accessed).  Returns the pages not on @node.
 */
static unsigned long tiering_wait(char *buf, size_t size, int node, int touch, double *secs)
{
	unsigned long nr = size / getpagesize(), left = nr, i;
	int *status = calloc(nr, sizeof(int));
	volatile char *p = buf;
	double start = now();

	*secs = 0;
	if (!status)
		return nr;
	for (;;) {
		left = pages_not_on(buf, nr, node, getpagesize(), status);
		*secs = now() - start;
		if (!left || *secs > TIERING_WAIT)
			break;
		for (i = 0; touch && i < nr; i++)
			(void)p[i * getpagesize()];
		/*
		 * DAMON sees accesses in the accessed bits, which x86 sets
		 * only on a TLB miss and does not flush when DAMON clears
		 * them; QEMU's TLB holds the whole buffer.  Flush it, as a
		 * busier machine's TLB misses would (see migrate_tiering).
		 */
		if (touch && (mprotect(buf, size, PROT_READ) ||
			      mprotect(buf, size, PROT_READ | PROT_WRITE)))
			break;
		usleep(50000);
	}
	free(status);
	return left;
}

/* One direction of the scene: run the scheme, print what moved the buffer. */
static int tiering_move(const char *what, char *buf, size_t size, struct damon_migration *m,
			int from, int touch)
{
	struct offload_vmstat c0, c1;
	struct offload_trace t;
	unsigned long success, left;
	struct damon_scheme_stats st;
	long bad;
	double secs;

	lru_drain_all(buf);
	offload_trace_clear();
	read_offload_vmstat(&c0);
	success = read_vmstat("pgmigrate_success");
	if (damon_migration_start(m))
		return 1;
	left = tiering_wait(buf, size, m->target_nid, touch, &secs);
	damon_migration_stats(&st);
	damon_migration_stop();
	read_offload_vmstat(&c1);
	success = read_vmstat("pgmigrate_success") - success;
	offload_trace_read("damon", &t);
	bad = migrate_verify((uint64_t *)buf, size, 1);
	printf("  %s (%s, node %d -> node %d): %.1f s, %lu pages not moved, %s\n", what,
	       m->hot ? "migrate_hot" : "migrate_cold", from, m->target_nid, secs, left,
	       bad < 0 ? "every byte intact" : "DATA WRONG");
	printf("    DAMON migrated %lld MB (sz_applied); pgmigrate_success +%lu pages\n",
	       st.applied >> 20, success);
	printf("    the migrator, reason damon: %lu batches, %lu folios copied of %lu offered (%llu MB)\n",
	       t.batches, t.copied, t.offered, t.bytes >> 20);
	printf("    pgmigrate_offload_copied +%lu, _fallback +%lu, _skip_small +%lu, _skip_reason +%lu\n",
	       c1.copied - c0.copied, c1.fallback - c0.fallback,
	       c1.skip_small - c0.skip_small, c1.skip_reason - c0.skip_reason);
	return left != 0 || bad >= 0;
}

/*
 * DAMON demotes a buffer nobody uses from node 0 to the lower tier
 * (migrate_cold on node 0's physical range), then promotes it back while
 * the demo reads it (migrate_hot on the lower node's range), through
 * mtcopy.  The same sysfs writes as the migrate_tiering selftest and the
 * admin guide's example.
 */
static int tiering_scene(void)
{
	struct damon_migration m = { .min_age = 5 };
	size_t size = 32 * MB;
	struct offload_trace_saved saved;
	unsigned long lower = lower_tier_nodes(0);
	int low, bad = 0;
	double secs;
	char *buf;

	printf("\nmemory tiering with DAMON: %lu MB of anonymous 4 KB pages on node 0\n", size / MB);
	if (!lower || access(DAMON_ADMIN, F_OK) || damon_in_use() || nr_configs < 2) {
		printf("  skipped: needs a lower memory tier, DAMON's sysfs interface and migrate_mtcopy\n");
		return 0;
	}
	low = __builtin_ctzl(lower);
	buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || use_config(MTCOPY) || offload_trace_start(&saved, 1024)) {
		printf("  could not set up\n");
		return 1;
	}
	madvise(buf, size, MADV_NOHUGEPAGE);
	migrate_fill((uint64_t *)buf, size, 1);
	if (move(buf, size, getpagesize(), 0, &secs)) {
		printf("  could not place the buffer on node 0\n");
		bad = 1;
		goto out;
	}
	printf("  node %d is in a lower memory tier; migrate_mtcopy is the migrator\n", low);
	m.target_nid = low;
	bad |= node_phys_range(0, &m.start, &m.end) ||
	       tiering_move("demotion", buf, size, &m, 0, 0);
	m.hot = true;
	m.target_nid = 0;
	bad |= node_phys_range(low, &m.start, &m.end) ||
	       tiering_move("promotion", buf, size, &m, low, 1);
out:
	offload_trace_restore(&saved);
	munmap(buf, size);
	return bad;
}

int main(int argc, char **argv)
{
	size_t size = 64 * MB;
	char *anon, *thp_raw, *thp, *shm, name[64];
	const char *host = getenv("HARNESS_HOST_CPUS");
	int bad = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1)
		rounds = atoi(argv[1]);
	if (rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: demo [ROUNDS]   (1 to %d)\n", MAX_ROUNDS);
		return 2;
	}
	active_migrator(name, sizeof(name));
	printf("demo: active migrator at start: %s\n", name);
	if (!use_config(MTCOPY)) {
		nr_configs = 2;
		active_migrator(name, sizeof(name));
		printf("demo: with migrate_mtcopy loaded: %s\n", name);
	} else {
		printf("demo: migrate_mtcopy is not available: no migrator, nothing to compare\n");
	}
	use_config(NONE);
	printf("demo: %ld vCPUs in a QEMU TCG guest on a host with %s cores; every byte is\n"
	       "demo: verified after every move; timings: a warm-up trip, then %d rounds\n",
	       sysconf(_SC_NPROCESSORS_ONLN), host ? host : "?", rounds);
	printf("demo: caveat: QEMU TCG is an emulator (slow copies, a TLB unlike a real CPU's): "
	       "the times compare the migrators in this guest only\n");

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
	munmap(anon, size);
	munmap(thp_raw, size + THP);
	munmap(shm, size);
	bad |= tiering_scene();
	use_config(NONE);

	printf("\ndemo: %s\n", bad ? "FAILED: data or placement wrong" :
	       "every byte verified after every move");
	return bad;
}
