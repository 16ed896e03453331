/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for driving memory tiering from userspace and seeing who copied
 * the pages: the physical address range of a NUMA node, DAMON's sysfs
 * interface with one physical-address scheme that migrates hot or cold
 * memory to another node, and the migrate_offload tracepoints summed by
 * migrate reason.  Include migrate_helpers.h first.
 */
#ifndef __SELFTESTS_MM_MIGRATE_TIERING_H
#define __SELFTESTS_MM_MIGRATE_TIERING_H

#include <errno.h>
#include <stdbool.h>

#define DAMON_ADMIN		"/sys/kernel/mm/damon/admin/"
#define DAMON_NR_KDAMONDS	DAMON_ADMIN "kdamonds/nr_kdamonds"
#define DAMON_STATE		DAMON_ADMIN "kdamonds/0/state"
#define DAMON_CTX		"kdamonds/0/contexts/0/"
#define DAMON_SCHEME		DAMON_CTX "schemes/0/"
#define TRIED_REGIONS		DAMON_ADMIN DAMON_SCHEME "tried_regions/"
#define DAMON_ULONG_MAX		"18446744073709551615"
/*
 * DAMON splits the watched range into at least this many regions, so none
 * is larger than a thousandth of it (1 MB of a 1 GB node).  With the
 * default of 10, a few hot pages in a large idle region are sampled so
 * rarely that migrate_hot may not find them for minutes.
 */
#define DAMON_MIN_NR_REGIONS	1000
#define DAMON_MAX_NR_REGIONS	2000

/*
 * The physical address range [*start, *end) that node @nid's zones span,
 * from the start_pfn and spanned lines of /proc/zoneinfo.  0, or -1 if
 * the node has no zone with pages.
 */
static inline int node_phys_range(int nid, unsigned long *start, unsigned long *end)
{
	unsigned long lo = ~0UL, hi = 0, spanned = 0, pfn;
	FILE *f = fopen("/proc/zoneinfo", "r");
	char line[256];
	int node = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %d, zone", &node) == 1) {
			spanned = 0;
		} else if (sscanf(line, " spanned %lu", &spanned) == 1) {
			continue;
		} else if (node == nid && spanned && sscanf(line, " start_pfn: %lu", &pfn) == 1) {
			if (pfn < lo)
				lo = pfn;
			if (pfn + spanned > hi)
				hi = pfn + spanned;
		}
	}
	fclose(f);
	if (hi <= lo)
		return -1;
	*start = lo * getpagesize();
	*end = hi * getpagesize();
	return 0;
}

/* Write @val to the DAMON admin file @rel; 0, or -1 with a message. */
static inline int damon_write(const char *rel, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), DAMON_ADMIN "%s", rel);
	if (!write_string(path, val))
		return 0;
	fprintf(stderr, "# cannot write \"%s\" to %s: %s\n", val, path, strerror(errno));
	return -1;
}

/*
 * Write a command to kdamond 0's state file.  The file takes DAMON's sysfs
 * lock with a trylock, and the running kdamond takes the same lock in its
 * callbacks, many times a second: a write may fail with EBUSY for no reason
 * of its own.  Retry those for up to 5 s.  0, or -1 with a message.
 */
static inline int damon_state(const char *cmd)
{
	int tries;

	for (tries = 0; tries < 500; tries++) {
		if (!write_string(DAMON_STATE, cmd))
			return 0;
		if (errno != EBUSY)
			break;
		usleep(10000);
	}
	fprintf(stderr, "# cannot write \"%s\" to %s: %s\n", cmd, DAMON_STATE, strerror(errno));
	return -1;
}

static inline int damon_write_ulong(const char *rel, unsigned long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu", val);
	return damon_write(rel, buf);
}

/* Does someone use DAMON's sysfs interface (a kdamond is configured)? */
static inline bool damon_in_use(void)
{
	return read_number(DAMON_NR_KDAMONDS) != 0;
}

/*
 * Drain every CPU's LRU caches.  A folio just migrated or faulted in waits
 * in the per-CPU cache of the CPU that added it until something drains it,
 * and DAMON neither samples nor migrates a folio that is not on an LRU
 * list; an idle machine drains nothing.  move_pages(2) with target nodes
 * drains every CPU's caches before it migrates (lru_cache_disable()): ask
 * it to move one page, @page, to the node it is on.
 */
static inline void lru_drain_all(void *page)
{
	int node, status;

	if (!move_pages_raw(1, &page, NULL, &node, 0) && node >= 0)
		move_pages_raw(1, &page, &node, &status, MPOL_MF_MOVE);
}

/* One DAMOS scheme that migrates memory of a physical address range. */
struct damon_migration {
	unsigned long start, end;	/* the range DAMON watches */
	bool hot;			/* migrate_hot, else migrate_cold */
	int target_nid;			/* where the scheme moves the memory */
	unsigned int min_age;		/* migrate_cold: aggregation intervals idle */
};

/*
 * Start kdamond 0 with one paddr context watching [start, end) in at least
 * DAMON_MIN_NR_REGIONS regions and one scheme, in DAMON's default
 * intervals (sample every 5 ms, aggregate every 100 ms).  migrate_cold
 * moves the regions that no sample found accessed for @min_age aggregation
 * intervals; migrate_hot moves the regions that at least one sample of the
 * last aggregation interval found accessed.  No quota: the scheme moves
 * everything that qualifies.  Writing an nr_* file recreates the
 * directories under it with default values, so every value is written
 * after its count.  0, or -1 with a message.
 */
static inline int damon_migration_start(const struct damon_migration *m)
{
	unsigned long max_accesses;
	long long sample, aggr;

	if (damon_write("kdamonds/nr_kdamonds", "1") ||
	    damon_write("kdamonds/0/contexts/nr_contexts", "1") ||
	    damon_write(DAMON_CTX "operations", "paddr") ||
	    damon_write_ulong(DAMON_CTX "monitoring_attrs/nr_regions/max", DAMON_MAX_NR_REGIONS) ||
	    damon_write_ulong(DAMON_CTX "monitoring_attrs/nr_regions/min", DAMON_MIN_NR_REGIONS) ||
	    damon_write(DAMON_CTX "targets/nr_targets", "1") ||
	    damon_write(DAMON_CTX "targets/0/regions/nr_regions", "1") ||
	    damon_write_ulong(DAMON_CTX "targets/0/regions/0/start", m->start) ||
	    damon_write_ulong(DAMON_CTX "targets/0/regions/0/end", m->end) ||
	    damon_write(DAMON_CTX "schemes/nr_schemes", "1") ||
	    damon_write(DAMON_SCHEME "action", m->hot ? "migrate_hot" : "migrate_cold") ||
	    damon_write_ulong(DAMON_SCHEME "target_nid", m->target_nid) ||
	    damon_write(DAMON_SCHEME "access_pattern/sz/min", "0") ||
	    damon_write(DAMON_SCHEME "access_pattern/sz/max", DAMON_ULONG_MAX) ||
	    damon_write(DAMON_SCHEME "access_pattern/age/max", DAMON_ULONG_MAX))
		return -1;
	sample = read_number(DAMON_ADMIN DAMON_CTX "monitoring_attrs/intervals/sample_us");
	aggr = read_number(DAMON_ADMIN DAMON_CTX "monitoring_attrs/intervals/aggr_us");
	if (sample <= 0 || aggr < sample) {
		fprintf(stderr, "# DAMON intervals: sample %lld us, aggregation %lld us\n",
			sample, aggr);
		return -1;
	}
	/* A region's nr_accesses counts the samples that found it accessed. */
	max_accesses = aggr / sample;
	if (m->hot) {
		if (damon_write(DAMON_SCHEME "access_pattern/nr_accesses/min", "1") ||
		    damon_write_ulong(DAMON_SCHEME "access_pattern/nr_accesses/max",
				      max_accesses) ||
		    damon_write(DAMON_SCHEME "access_pattern/age/min", "0"))
			return -1;
	} else {
		if (damon_write(DAMON_SCHEME "access_pattern/nr_accesses/min", "0") ||
		    damon_write(DAMON_SCHEME "access_pattern/nr_accesses/max", "0") ||
		    damon_write_ulong(DAMON_SCHEME "access_pattern/age/min", m->min_age))
			return -1;
	}
	return damon_state("on");
}

/* What the running scheme has done since it started, in bytes. */
struct damon_scheme_stats {
	long long tried;	/* sz_tried: the regions the scheme chose */
	long long applied;	/* sz_applied: the base pages migrate_pages() moved */
};

/*
 * Read both figures of one snapshot: DAMON's stats files change only when
 * asked to with update_schemes_stats, so refresh them once and read them
 * together.  0, or -1 if a figure could not be read (that figure is -1).
 */
static inline int damon_migration_stats(struct damon_scheme_stats *st)
{
	st->tried = -1;
	st->applied = -1;
	if (damon_state("update_schemes_stats"))
		return -1;
	st->tried = read_number(DAMON_ADMIN DAMON_SCHEME "stats/sz_tried");
	st->applied = read_number(DAMON_ADMIN DAMON_SCHEME "stats/sz_applied");
	return st->tried < 0 || st->applied < 0 ? -1 : 0;
}

/* A region the running scheme chose in one application: tried_regions/N/. */
struct damon_tried_region {
	unsigned long long start, end;	/* physical addresses */
	long long nr_accesses, age;
};

/*
 * Read up to @max of the regions recorded under the scheme's
 * tried_regions directory into @r.  Their number, or -1 with a message.
 */
static inline int damon_read_tried_regions(struct damon_tried_region *r, int max)
{
	long long start, end;
	char path[160];
	int n;

	for (n = 0; n < max; n++) {
		snprintf(path, sizeof(path), TRIED_REGIONS "%d/start", n);
		start = read_number(path);
		if (start < 0)
			break;
		snprintf(path, sizeof(path), TRIED_REGIONS "%d/end", n);
		end = read_number(path);
		if (end < start) {
			fprintf(stderr, "# cannot read %s\n", path);
			return -1;
		}
		snprintf(path, sizeof(path), TRIED_REGIONS "%d/nr_accesses", n);
		r[n].nr_accesses = read_number(path);
		snprintf(path, sizeof(path), TRIED_REGIONS "%d/age", n);
		r[n].age = read_number(path);
		r[n].start = start;
		r[n].end = end;
	}
	if (!n && read_number(TRIED_REGIONS "total_bytes") < 0) {
		fprintf(stderr, "# cannot read %stotal_bytes\n", TRIED_REGIONS);
		return -1;
	}
	return n;
}

/*
 * The regions kdamond 0's scheme chooses when it next applies itself: ask
 * DAMON to record them (the write returns once it has), then read up to
 * @max of them into @r.  6.12 gives up recording after two aggregation
 * intervals of wall time, and under emulation the scheme's next
 * application often comes later (its interval counts samples, and
 * sampling a thousand regions is slow there): an empty record is asked
 * for again, 50 times at most.  Their number, or -1 with a message.
 */
static inline int damon_tried_regions(struct damon_tried_region *r, int max)
{
	int tries, n = 0;

	for (tries = 0; tries < 50 && !n; tries++) {
		if (damon_state("update_schemes_tried_regions"))
			return -1;
		n = damon_read_tried_regions(r, max);
	}
	return n;
}

/* The region of @r (@n of them) that holds physical address @addr, or NULL. */
static inline const struct damon_tried_region *
damon_region_of(const struct damon_tried_region *r, int n, unsigned long long addr)
{
	int i;

	for (i = 0; i < n; i++)
		if (addr >= r[i].start && addr < r[i].end)
			return &r[i];
	return NULL;
}

/*
 * Stop kdamond 0, if it runs, and remove it: DAMON as it was before.  The
 * kdamond may still be exiting when "off" returns, and nr_kdamonds refuses
 * to change (EBUSY) until it has: retry for up to 5 s.
 */
static inline void damon_migration_stop(void)
{
	char state[16] = "";
	int tries;

	if (!read_line(DAMON_STATE, state, sizeof(state)) && !strcmp(state, "on"))
		damon_state("off");
	for (tries = 0; tries < 100 && read_number(DAMON_NR_KDAMONDS) > 0; tries++) {
		if (!write_string(DAMON_NR_KDAMONDS, "0"))
			return;
		usleep(50000);
	}
	if (read_number(DAMON_NR_KDAMONDS) > 0)
		damon_write("kdamonds/nr_kdamonds", "0");
}

#define TRACE_DIR		"/sys/kernel/tracing/"
#define OFFLOAD_EVENT_BATCH	TRACE_DIR "events/migrate_offload/migrate_offload_batch/enable"
#define OFFLOAD_EVENT_PHASES	TRACE_DIR "events/migrate_offload/migrate_offload_phases/enable"
#define TRACE_BUFFER_KB		TRACE_DIR "buffer_size_kb"

/* The tracing settings offload_trace_start() changes, to put back. */
struct offload_trace_saved {
	char batch[8], phases[8], buffer_kb[32];
};

/*
 * What the migrate_offload events in the trace buffer say about the
 * migrations of one reason: the batches handed to the migrator
 * (migrate_offload_batch) and every migrate_pages_batch() call, migrator or
 * not (migrate_offload_phases).
 */
struct offload_trace {
	unsigned long batches;		/* batch events: calls of the migrator */
	unsigned long offered;		/* folios offered to the migrator */
	unsigned long copied;		/* folios it copied */
	unsigned long long bytes;	/* bytes offered */
	unsigned long calls;		/* phases events: migrate_pages_batch() calls */
	unsigned long moving;		/* folios those calls unmapped and moved */
	unsigned long single;		/* calls that moved one folio */
	bool lost;			/* the buffer overflowed: the sums are short */
};

/* Empty the trace buffer: opening "trace" with O_TRUNC clears it.  0, or -1. */
static inline int offload_trace_clear(void)
{
	int fd = open(TRACE_DIR "trace", O_WRONLY | O_TRUNC);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/*
 * Turn both events on, with @kb KB of buffer per CPU, and clear the buffer.
 * 0; -1 if the kernel has no such events.
 */
static inline int offload_trace_start(struct offload_trace_saved *saved, unsigned int kb)
{
	char buf[16];

	if (read_line(OFFLOAD_EVENT_BATCH, saved->batch, sizeof(saved->batch)) ||
	    read_line(OFFLOAD_EVENT_PHASES, saved->phases, sizeof(saved->phases)) ||
	    read_line(TRACE_BUFFER_KB, saved->buffer_kb, sizeof(saved->buffer_kb)))
		return -1;
	snprintf(buf, sizeof(buf), "%u", kb);
	if (write_string(TRACE_BUFFER_KB, buf) ||
	    write_string(OFFLOAD_EVENT_BATCH, "1") || write_string(OFFLOAD_EVENT_PHASES, "1"))
		return -1;
	return offload_trace_clear();
}

static inline void offload_trace_restore(const struct offload_trace_saved *saved)
{
	if (saved->batch[0])
		write_string(OFFLOAD_EVENT_BATCH, saved->batch);
	if (saved->phases[0])
		write_string(OFFLOAD_EVENT_PHASES, saved->phases);
	/*
	 * "1408", or "7 (expanded: 1408)" while the buffer was never used:
	 * its size once expanded is what to put back.
	 */
	if (saved->buffer_kb[0]) {
		const char *expanded = strstr(saved->buffer_kb, "expanded: ");
		unsigned long kb = strtoul(expanded ? expanded + strlen("expanded: ") :
					   saved->buffer_kb, NULL, 10);
		char buf[32];

		if (kb) {
			snprintf(buf, sizeof(buf), "%lu", kb);
			write_string(TRACE_BUFFER_KB, buf);
		}
	}
}

/* Sum the events of migrations of @reason (a migrate_reason_names[] name). */
static inline int offload_trace_read(const char *reason, struct offload_trace *t)
{
	FILE *f = fopen(TRACE_DIR "trace", "r");
	char line[512], key[48], *p;

	memset(t, 0, sizeof(*t));
	if (!f)
		return -1;
	snprintf(key, sizeof(key), "reason=%s ", reason);
	while (fgets(line, sizeof(line), f)) {
		unsigned long nr, copied;
		unsigned long long bytes;

		/* "CPU:1 [LOST 42 EVENTS]" */
		if (strstr(line, "[LOST "))
			t->lost = true;
		p = strstr(line, key);
		if (!p)
			continue;
		p += strlen(key);
		if (strstr(line, "migrate_offload_batch: ") &&
		    sscanf(p, "folios=%lu bytes=%llu copied=%lu", &nr, &bytes, &copied) == 3) {
			t->batches++;
			t->offered += nr;
			t->bytes += bytes;
			t->copied += copied;
		} else if (strstr(line, "migrate_offload_phases: ") &&
			   sscanf(p, "folios=%lu", &nr) == 1) {
			t->calls++;
			t->moving += nr;
			t->single += nr == 1;
		}
	}
	fclose(f);
	return 0;
}

#endif /* __SELFTESTS_MM_MIGRATE_TIERING_H */
