// SPDX-License-Identifier: GPL-2.0
/*
 * migrate_bench: page migration throughput and latency between two nodes.
 *
 * For each batch size (folios per move_pages(2) call), a buffer of 4 KB
 * pages or 2 MB THPs moves from the first node to the second and back,
 * -n passes in all, and every call is timed.  After each pass, outside
 * the timing, every folio must be on the target node and every byte
 * intact.  One line per batch size:
 *
 *   migrate_bench page=4k batch=16 folios=8192 passes=8 gbps=0.41 \
 *     gbps_med=0.42 p50_us=120.1 p90_us=130.4 p99_us=180.2 first_us=140.3 \
 *     slow_pct=0.0 bad=0
 *
 * gbps is bytes moved over the time spent in move_pages(2), gbps_med the
 * median over the calls of each call's bytes over its time (robust to a
 * few slow calls, as on an emulated or shared machine); first_us is
 * the median time until the first folio of a call is in place, which is
 * the whole call: a batch completes together; slow_pct is the share of
 * calls whose rate is under a quarter of the fastest call's (0 on a quiet
 * machine; see copy_alias below for an emulator).  With -t, one more pass
 * per batch size runs with the migrate_offload:migrate_offload_phases
 * tracepoint on, and a second line gives the time migrate_pages_batch()
 * spent in each phase:
 *
 *   migrate_phases page=4k batch=16 batches=1024 unmap_ns=... copy_ns=...
 *     move_ns=... unmap_pct=50.1 copy_pct=8.2 move_pct=41.7
 *
 * "unmap" is allocating, locking and unmapping the folios and the TLB
 * flush, "copy" the batch copy by a migrator (0 without one), "move" the
 * per-folio move, which includes the CPU copy of every folio no migrator
 * copied, and the remap.
 *
 * With -c it only measures how memcpy() scales on this machine, the
 * bound of any multi-threaded copy: one thread copying -m MB, then two
 * threads copying half each at once:
 *
 *   copy_scaling mb=64 threads1_gbps=... threads2_gbps=... speedup=...
 *
 * and how fast memcpy() copies 2 MB between buffers a multiple of 2 MB
 * apart, as a THP and its destination are, against 2 MB + 4 KB apart:
 *
 *   copy_alias apart_2m_gbps=... apart_2m4k_gbps=... ratio=...
 *
 * On hardware the two match.  An emulator whose software TLB is
 * direct-mapped (QEMU TCG) makes the first case slower, because the
 * source and the destination page evict each other's TLB entry on every
 * access, and every THP migration then pays that.
 *
 * -C pins the benchmark to one CPU, so that the scheduler moving it between
 * CPUs (of different nodes) does not add to the noise.
 *
 * Usage: migrate_bench [-p 4k|thp] [-m MB] [-n passes] [-b N,N,...] [-t] [-c]
 *	  [-C cpu]
 * Exit status: 0; 1 if a folio is misplaced or a byte wrong; 4 (skip)
 * without two memory nodes or THPs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "migrate_helpers.h"

#define KSFT_SKIP	4
#define TRACE_DIR	"/sys/kernel/tracing/"
#define PHASES_EVENT	TRACE_DIR "events/migrate_offload/migrate_offload_phases/enable"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Index of the @p-th percentile in @n sorted values (nearest rank). */
static size_t pct_index(size_t n, double p)
{
	return (size_t)(p / 100.0 * (n - 1) + 0.5);
}

static double pct(const uint64_t *sorted, size_t n, double p)
{
	return sorted[pct_index(n, p)] / 1000.0;
}

struct bench {
	struct migrate_buf b;
	size_t page_size;
	unsigned long nr_folios, nr_pages;
	void **addr;
	int *nodes, *status;
	int node[2];
};

/*
 * Move every folio to @to in calls of @batch folios; returns the time spent
 * in move_pages(2) and stores each call's time in @lat (if not NULL).
 * Folios the kernel could not move (busy) are left where they are: the
 * placement check after the pass catches them.
 */
static uint64_t move_pass(struct bench *s, int to, unsigned long batch, uint64_t *lat,
			  double *rate)
{
	unsigned long i, n;
	uint64_t total = 0, t;

	for (i = 0; i < s->nr_folios; i++)
		s->nodes[i] = to;
	for (i = 0; i < s->nr_folios; i += n) {
		n = s->nr_folios - i < batch ? s->nr_folios - i : batch;
		t = now_ns();
		if (move_pages_raw(n, s->addr + i, s->nodes + i, s->status + i, MPOL_MF_MOVE) < 0) {
			perror("move_pages");
			exit(1);
		}
		t = now_ns() - t;
		total += t;
		if (lat)
			*lat++ = t;
		if (rate)
			*rate++ = (double)n * s->b.folio_size / t;
	}
	return total;
}

/* Placement and data after a pass to @to, filled with @pass; 0 if right. */
static int check_pass(struct bench *s, int to, unsigned int pass)
{
	long bad;

	if (pages_not_on(s->b.buf, s->nr_pages, to, s->page_size, s->status)) {
		fprintf(stderr, "pass %u: folios not on node %d\n", pass, to);
		return 1;
	}
	bad = migrate_verify((uint64_t *)s->b.buf, s->b.size, pass);
	if (bad >= 0) {
		fprintf(stderr, "pass %u: word %ld wrong after the move to node %d\n",
			pass, bad, to);
		return 1;
	}
	return 0;
}

static int write_file(const char *path, const char *s)
{
	return write_string(path, s);
}

/* Sum the phases of the migrate_offload_phases events in the trace buffer. */
static void report_phases(const char *page, unsigned long batch)
{
	unsigned long long u, c, m, su = 0, sc = 0, sm = 0, events = 0;
	char line[512], *p;
	FILE *f = fopen(TRACE_DIR "trace", "r");
	double all;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, "migrate_offload_phases:");
		if (!p)
			continue;
		p = strstr(p, "unmap_ns=");
		if (!p || sscanf(p, "unmap_ns=%llu copy_ns=%llu move_ns=%llu", &u, &c, &m) != 3)
			continue;
		su += u;
		sc += c;
		sm += m;
		events++;
	}
	fclose(f);
	all = (double)(su + sc + sm);
	if (!events || all == 0)
		return;
	printf("migrate_phases page=%s batch=%lu batches=%llu", page, batch, events);
	printf(" unmap_ns=%llu copy_ns=%llu move_ns=%llu", su, sc, sm);
	printf(" unmap_pct=%.1f copy_pct=%.1f move_pct=%.1f\n",
	       100.0 * su / all, 100.0 * sc / all, 100.0 * sm / all);
}

static int run(struct bench *s, const char *page, unsigned long batch,
	       unsigned int passes, int phases)
{
	unsigned long calls = (s->nr_folios + batch - 1) / batch;
	size_t n = (size_t)calls * passes, slow;
	uint64_t *lat = calloc(n, sizeof(uint64_t));
	uint64_t *first = calloc(passes, sizeof(uint64_t));
	double *rate = calloc(n, sizeof(double));
	uint64_t total = 0;
	unsigned int pass;
	int to, fd;

	if (!lat || !first || !rate)
		return 1;
	for (pass = 1; pass <= passes; pass++) {
		to = s->node[pass & 1];
		migrate_fill((uint64_t *)s->b.buf, s->b.size, pass);
		total += move_pass(s, to, batch, lat + (size_t)(pass - 1) * calls,
				   rate + (size_t)(pass - 1) * calls);
		first[pass - 1] = lat[(size_t)(pass - 1) * calls];
		if (check_pass(s, to, pass))
			return 1;
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	qsort(first, passes, sizeof(*first), cmp_u64);
	qsort(rate, n, sizeof(*rate), cmp_double);
	for (slow = 0; slow < n; slow++)
		if (rate[slow] * 4 >= rate[n - 1])
			break;
	printf("migrate_bench page=%s batch=%lu folios=%lu passes=%u",
	       page, batch, s->nr_folios, passes);
	/*
	 * rate[] is sorted the other way round from lat[]: this is the rate of
	 * the call at p50_us when all calls are the same size.  Five decimals:
	 * in a guest that counts instructions (-icount) the figures repeat
	 * from boot to boot far below 1%, and the cost gates of 'make bench'
	 * compare them at that resolution.
	 */
	printf(" gbps=%.5f gbps_med=%.5f", (double)s->b.size * passes / total,
	       rate[n - 1 - pct_index(n, 50)]);
	printf(" p50_us=%.2f p90_us=%.2f p99_us=%.2f first_us=%.2f slow_pct=%.1f bad=0\n",
	       pct(lat, n, 50), pct(lat, n, 90), pct(lat, n, 99), pct(first, passes, 50),
	       100.0 * slow / n);
	fflush(stdout);
	free(lat);
	free(first);
	free(rate);

	if (!phases || access(PHASES_EVENT, W_OK))
		return 0;
	fd = open(TRACE_DIR "trace", O_WRONLY | O_TRUNC);
	if (fd >= 0)
		close(fd);
	pass = passes + 1;
	to = s->node[pass & 1];
	migrate_fill((uint64_t *)s->b.buf, s->b.size, pass);
	write_file(PHASES_EVENT, "1");
	move_pass(s, to, batch, NULL, NULL);
	write_file(PHASES_EVENT, "0");
	if (check_pass(s, to, pass))
		return 1;
	report_phases(page, batch);
	/* Back where the timed passes start. */
	migrate_fill((uint64_t *)s->b.buf, s->b.size, 0);
	move_pass(s, s->node[0], s->nr_folios, NULL, NULL);
	return 0;
}

struct copy_job {
	char *dst, *src;
	size_t size;
};

static void *copy_job(void *arg)
{
	struct copy_job *j = arg;

	memcpy(j->dst, j->src, j->size);
	return NULL;
}

/* memcpy() of @size bytes by one thread, then by two threads at once. */
static int copy_scaling(size_t size)
{
	char *src = malloc(size), *dst = malloc(size);
	struct copy_job j[2];
	double one = 0, two = 0;
	pthread_t th;
	uint64_t t;
	int round;

	if (!src || !dst)
		return 2;
	memset(src, 1, size);
	memset(dst, 2, size);
	for (round = 0; round < 5; round++) {
		t = now_ns();
		memcpy(dst, src, size);
		t = now_ns() - t;
		if ((double)size / t > one)
			one = (double)size / t;
		j[0] = (struct copy_job){ dst, src, size / 2 };
		j[1] = (struct copy_job){ dst + size / 2, src + size / 2, size - size / 2 };
		t = now_ns();
		if (pthread_create(&th, NULL, copy_job, &j[1]))
			return 2;
		copy_job(&j[0]);
		pthread_join(th, NULL);
		t = now_ns() - t;
		if ((double)size / t > two)
			two = (double)size / t;
	}
	if (memcmp(src, dst, size))
		return 1;
	printf("%s mb=%zu threads1_gbps=%.3f threads2_gbps=%.3f speedup=%.2f\n",
	       "copy_scaling", size >> 20, one, two, two / one);
	free(src);
	free(dst);
	return 0;
}

/* Best rate of 2 MB memcpy()s from @src to @dst, in GB/s. */
static double copy_2m_rate(char *dst, const char *src)
{
	double best = 0;
	uint64_t t;
	int round;

	for (round = 0; round < 7; round++) {
		t = now_ns();
		memcpy(dst, src, 2UL << 20);
		t = now_ns() - t;
		if ((double)(2UL << 20) / t > best)
			best = (double)(2UL << 20) / t;
	}
	return best;
}

/* 2 MB copies between buffers 2 MB and 2 MB + 4 KB apart. */
static int copy_alias(void)
{
	/* src, then the two destinations; one more 2 MB to align src. */
	const size_t sz = 2UL << 20, span = 3 * sz + 4096, len = span + sz;
	char *map = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *src;
	double aliased, apart;

	if (map == MAP_FAILED)
		return 2;
	src = (char *)(((uintptr_t)map + sz - 1) & ~(uintptr_t)(sz - 1));
	memset(src, 1, span);
	aliased = copy_2m_rate(src + sz, src);
	apart = copy_2m_rate(src + sz + 4096, src);
	if (memcmp(src, src + sz + 4096, sz)) {
		munmap(map, len);
		return 1;
	}
	printf("%s apart_2m_gbps=%.3f apart_2m4k_gbps=%.3f ratio=%.2f\n",
	       "copy_alias", aliased, apart, aliased / apart);
	munmap(map, len);
	return 0;
}

int main(int argc, char **argv)
{
	const char *page = "4k", *batches = NULL;
	unsigned int passes = 8, mb = 32;
	enum migrate_buf_kind kind;
	struct bench s = { 0 };
	int opt, phases = 0, scaling = 0, cpu = -1, ret = 0;
	cpu_set_t set;
	char *list, *tok;

	while ((opt = getopt(argc, argv, "p:m:n:b:tcC:")) != -1) {
		switch (opt) {
		case 'p':
			page = optarg;
			break;
		case 'm':
			mb = atoi(optarg);
			break;
		case 'n':
			passes = atoi(optarg);
			break;
		case 'b':
			batches = optarg;
			break;
		case 't':
			phases = 1;
			break;
		case 'c':
			scaling = 1;
			break;
		case 'C':
			cpu = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-p 4k|thp] [-m MB] [-n passes]", argv[0]);
			fprintf(stderr, " [-b N,N,...] [-t] [-c] [-C cpu]\n");
			return 2;
		}
	}
	if (strcmp(page, "4k") && strcmp(page, "thp")) {
		fprintf(stderr, "-p takes 4k or thp\n");
		return 2;
	}
	if (!passes || !mb) {
		fprintf(stderr, "-n and -m take positive numbers\n");
		return 2;
	}
	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			perror("sched_setaffinity");
			return 2;
		}
	}
	if (scaling) {
		ret = copy_scaling((size_t)mb << 20);
		return ret ? ret : copy_alias();
	}
	if (two_nodes(&s.node[0], &s.node[1])) {
		printf("# migrate_bench: needs two memory nodes\n");
		return KSFT_SKIP;
	}
	kind = strcmp(page, "thp") ? MIGRATE_BUF_ANON_4K : MIGRATE_BUF_ANON_THP;
	if (!batches)
		batches = kind == MIGRATE_BUF_ANON_THP ? "1,4,16" : "1,4,16,64,256,512";

	s.page_size = getpagesize();
	ret = migrate_buf_map(&s.b, kind, (size_t)mb << 20);
	if (ret == -2) {
		printf("# migrate_bench: no THPs for the buffer\n");
		return KSFT_SKIP;
	}
	if (ret) {
		perror("mmap");
		return 2;
	}
	s.nr_pages = s.b.size / s.page_size;
	s.nr_folios = s.b.size / s.b.folio_size;
	s.addr = migrate_addrs(s.b.buf, s.nr_folios, s.b.folio_size);
	s.nodes = calloc(s.nr_folios, sizeof(int));
	s.status = calloc(s.nr_pages, sizeof(int));
	if (!s.addr || !s.nodes || !s.status)
		return 2;
	migrate_fill((uint64_t *)s.b.buf, s.b.size, 0);
	move_pass(&s, s.node[0], s.nr_folios, NULL, NULL);

	list = strdup(batches);
	for (tok = strtok(list, ","); tok && !ret; tok = strtok(NULL, ",")) {
		unsigned long batch = strtoul(tok, NULL, 10);

		if (!batch) {
			fprintf(stderr, "bad batch size %s\n", tok);
			return 2;
		}
		ret = run(&s, page, batch, passes, phases);
	}
	free(list);
	migrate_buf_unmap(&s.b);
	return ret;
}
