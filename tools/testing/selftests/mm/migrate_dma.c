// SPDX-License-Identifier: GPL-2.0
/*
 * The dmaengine migrator (CONFIG_DMA_MIGRATE, module dma_migrate) end to
 * end, driven by the test-only software DMA provider (CONFIG_TEST_DMA_MEMCPY,
 * module test_dma_memcpy), which registers with dmaengine like hardware and
 * can complete out of order, fail, hang, write late, refuse to prepare and
 * be unbound.
 *
 * Every test moves a buffer between two nodes with move_pages(2), verifies
 * every byte after every move, and checks the counters of the migrator
 * (/sys/kernel/debug/dma_migrate/), of the provider
 * (/sys/kernel/debug/test_dma_memcpy/) and of the core (/proc/vmstat) as
 * deltas, to prove:
 *  - the migrator copies anonymous 4 KB pages, THPs and shmem through the
 *    provider, on several channels, whatever order descriptors complete in;
 *  - what the engine does not copy (a failed or refused descriptor, a failed
 *    mapping, a timeout) is copied by the CPU, each folio counted once in
 *    exactly one fallback_* counter, and their sum is the core's fallback;
 *  - after a timeout no engine write lands once the copy returned: a
 *    channel that can be terminated is, and its late write never lands; one
 *    that cannot is waited for, and the CPU copies over its late write;
 *  - the admin's reasons and min_batch_bytes keep batches from it;
 *  - it can be unloaded and reloaded, and its provider's devices unbound,
 *    while another process migrates, without losing a byte.
 *
 * Only syscall migrations are offloaded while these tests run (reasons =
 * syscall_or_cpuset, min_batch_bytes = 0), so nothing else in the system
 * shows in the counters; the settings are put back afterwards.
 *
 * Needs root, two memory nodes, CONFIG_DMA_MIGRATE=m, CONFIG_TEST_DMA_MEMCPY=m
 * and debugfs mounted at /sys/kernel/debug; map_failure also needs
 * CONFIG_FAULT_INJECTION_DEBUG_FS.  Skips otherwise.  Other migrators
 * (migrate_mtcopy, test_migrate_offload) are unloaded first: one migrator
 * can be registered at a time.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "migrate_helpers.h"

#define MCO_DIR		"/sys/kernel/mm/migrate_offload/"
#define MIGRATOR	MCO_DIR "migrator"
#define REASONS		MCO_DIR "reasons"
#define EFFECTIVE	MCO_DIR "effective_reasons"
#define MIN_BATCH	MCO_DIR "min_batch_bytes"
#define FAIL_DIR	"/sys/kernel/debug/fail_migrate_offload/"
#define DM_DIR		"/sys/kernel/debug/dma_migrate/"
#define DM_FAIL_MAP	DM_DIR "fail_map/"
#define DM_TIMEOUT	"/sys/module/dma_migrate/parameters/timeout_ms"
#define TDM_DIR		"/sys/kernel/debug/test_dma_memcpy/"
#define TDM_DRIVER	"/sys/bus/platform/drivers/test_dma_memcpy/"
#define TDM_DEV_PREFIX	"test_dma_memcpy."
#define MODPROBE_LOG	"/tmp/.migrate_dma_modprobe.log"

#define MIGRATOR_NAME	"dmaengine"
/* The one reason offloaded during the tests: move_pages(2). */
#define TEST_REASON	"syscall_or_cpuset"
#define OTHER_REASON	"demotion"

/* Default fixture: two devices of two channels, a generous timeout. */
#define PROVIDER_DEFAULT	"nr_devices=2 nr_channels=2"
#define NR_DEFAULT_DEVICES	2
#define NR_DEFAULT_CHANNELS	(NR_DEFAULT_DEVICES * 2)
/*
 * A timeout that a slow emulated machine never reaches, for the tests that
 * expect every folio copied; the timeout tests load the migrator with 100 ms.
 */
#define RELAXED_TIMEOUT_MS	10000
#define SHORT_TIMEOUT_MS	100

#define NR_PASSES	2
#define CHURN_CYCLES	50
/* How long a wait for progress may take before the test fails (ms). */
#define PROGRESS_MS	30000
/* How long to wait for a copy in flight before unloading anyway (ms). */
#define IN_FLIGHT_MS	2000
/*
 * Budgets (s) of the churn tests; the others keep the harness's 30 s.  In
 * the check guest 50 unloads and reloads of migrate_mtcopy under load took
 * 17 s; a cycle here loads and unloads up to twice as many modules.  All
 * budgets together (13 * 30 + 180 + 240 s) stay within the 900 s that the
 * harness gives the whole program.
 */
#define RELOAD_BUDGET	180
#define REMOVE_BUDGET	240

/* The migrator's counters, in DM_DIR. */
enum {
	DM_BATCHES, DM_COPIED, DM_FB_BUSY, DM_FB_MAP, DM_FB_PREP, DM_FB_SUBMIT,
	DM_FB_ERROR, DM_FB_TIMEOUT, DM_TIMEOUTS, DM_UNBOUNDED, NR_DM
};

static const char * const dm_files[NR_DM] = {
	"batches", "copied", "fallback_busy", "fallback_map", "fallback_prep",
	"fallback_submit", "fallback_error", "fallback_timeout", "timeouts",
	"unbounded_waits",
};

/* The provider's counters, in TDM_DIR. */
enum {
	TDM_SUBMITTED, TDM_COMPLETED, TDM_FAILED, TDM_HUNG, TDM_TERMINATED,
	TDM_ABORTED, TDM_LATE_WRITES, TDM_REFUSED, NR_TDM
};

static const char * const tdm_files[NR_TDM] = {
	"submitted", "completed", "failed", "hung", "terminated", "aborted",
	"late_writes", "refused",
};

/* The provider's knobs, all put back to 0 when a test ends. */
static const char * const tdm_knobs[] = {
	"out_of_order", "delay_us", "fail_every", "hang_every", "late_write_ms",
	"refuse_every",
};

/* The core's counters in /proc/vmstat. */
enum {
	VM_BATCHES, VM_COPIED, VM_FALLBACK, VM_SKIP_REASON, VM_SKIP_SMALL,
	VM_SKIP_INELIGIBLE, NR_VM
};

struct counts {
	long long dm[NR_DM];
	long long tdm[NR_TDM];
	long long vm[NR_VM];
};

/* What a migrating child process shares with the test. */
struct child_state {
	int stop;		/* set by the test: finish the pass, verify, exit */
	unsigned long passes;	/* passes moved and verified */
};

/* What every fixture holds. */
struct dma_env {
	int node[2];
	size_t page_size;
	struct migrate_offload_settings saved;
	bool loaded;		/* modules loaded and settings changed: clean up */
	const char *provider_params;
	char migrator_params[32];
	unsigned int timeout_ms;
	pid_t child;
	struct child_state *cs;
	char err[512];
};

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* A short text file, newline stripped; "" if it cannot be read. */
static char *read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (fd >= 0)
		close(fd);
	return buf;
}

static long long dm(const char *file)
{
	char path[160];

	snprintf(path, sizeof(path), DM_DIR "%s", file);
	return read_number(path);
}

static int tdm_set(const char *knob, const char *val)
{
	char path[160];

	snprintf(path, sizeof(path), TDM_DIR "%s", knob);
	return write_string(path, val);
}

static int fail_map_set(const char *attr, const char *val)
{
	char path[160];

	snprintf(path, sizeof(path), DM_FAIL_MAP "%s", attr);
	return write_string(path, val);
}

/* Unload a module without waiting: 0 or -errno (-ENOENT: not loaded). */
static int unload(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

static int module_loaded(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s/initstate", name);
	return !access(path, F_OK);
}

static int same_module_name(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
			return 0;
	return *a == *b;
}

/*
 * Is @name listed in @file of /lib/modules/<release>/ (modules.dep: a
 * module that can be loaded; modules.builtin: built in)?  1, 0, or -1 if
 * the file cannot be read.
 */
static int module_listed(const char *file, const char *name)
{
	char path[256], *line = NULL, *base, *end;
	struct utsname u;
	size_t len = 0;
	int found = 0;
	FILE *f;

	if (uname(&u))
		return -1;
	snprintf(path, sizeof(path), "/lib/modules/%s/%s", u.release, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (!found && getline(&line, &len, f) > 0) {
		line[strcspn(line, ":\n")] = '\0';
		base = strrchr(line, '/');
		base = base ? base + 1 : line;
		end = strstr(base, ".ko");
		if (!end)
			continue;
		*end = '\0';
		found = same_module_name(base, name);
	}
	free(line);
	fclose(f);
	return found;
}

/*
 * modprobe @name with @params.  0, or -1 with modprobe's words in @err.
 * (busybox modprobe in the test guest: parameters after the name.)
 */
static int load_module(const char *name, const char *params, char *err, size_t size)
{
	char cmd[256], out[256];
	int ret;

	snprintf(cmd, sizeof(cmd), "modprobe %s %s >" MODPROBE_LOG " 2>&1", name, params);
	ret = system(cmd);
	if (!ret)
		return 0;
	snprintf(err, size, "\"modprobe %s %s\" failed (status %#x): %s", name, params, ret,
		 read_text(MODPROBE_LOG, out, sizeof(out)));
	return -1;
}

static int load_provider(struct dma_env *e)
{
	if (load_module("test_dma_memcpy", e->provider_params, e->err, sizeof(e->err)))
		return -1;
	if (access(TDM_DIR "submitted", R_OK)) {
		snprintf(e->err, sizeof(e->err), "no " TDM_DIR "submitted: is debugfs mounted?");
		return -1;
	}
	return 0;
}

static int load_migrator(struct dma_env *e)
{
	char buf[64];

	if (load_module("dma_migrate", e->migrator_params, e->err, sizeof(e->err)))
		return -1;
	if (!migrator_is(MIGRATOR_NAME)) {
		snprintf(e->err, sizeof(e->err), "dma_migrate loaded, but the migrator is \"%s\"",
			 read_text(MIGRATOR, buf, sizeof(buf)));
		return -1;
	}
	if (access(DM_DIR "copied", R_OK)) {
		snprintf(e->err, sizeof(e->err), "no " DM_DIR "copied: is debugfs mounted?");
		return -1;
	}
	return 0;
}

/*
 * Load both modules and set the core's policy.  0, or -1 with the reason
 * in e->err.
 */
static int env_load(struct dma_env *e)
{
	char buf[256];

	if (load_provider(e) || load_migrator(e))
		return -1;
	if (read_number(DM_TIMEOUT) != e->timeout_ms) {
		snprintf(e->err, sizeof(e->err), "dma_migrate's timeout_ms is %lld, not %u",
			 read_number(DM_TIMEOUT), e->timeout_ms);
		return -1;
	}
	if (write_string(REASONS, TEST_REASON) || write_string(MIN_BATCH, "0")) {
		snprintf(e->err, sizeof(e->err), "cannot write " REASONS " or " MIN_BATCH);
		return -1;
	}
	if (!strstr(read_text(EFFECTIVE, buf, sizeof(buf)), TEST_REASON)) {
		snprintf(e->err, sizeof(e->err),
			 "dma_migrate not meant for " TEST_REASON ": effective_reasons %s", buf);
		return -1;
	}
	return 0;
}

static void stop_child_quietly(struct dma_env *e)
{
	if (e->child > 0) {
		kill(e->child, SIGKILL);
		waitpid(e->child, NULL, 0);
		e->child = 0;
	}
}

/*
 * Stop injecting, unload dma_migrate and then test_dma_memcpy, put the
 * core's settings back.  Returns the first unexpected unload error (not
 * -ENOENT), or 0.
 */
static int env_cleanup(struct dma_env *e, const char **what)
{
	int err, ret = 0;
	unsigned int i;

	stop_child_quietly(e);
	if (!access(DM_FAIL_MAP, F_OK))
		fail_map_set("probability", "0");
	if (!access(TDM_DIR, F_OK))
		for (i = 0; i < ARRAY_SIZE(tdm_knobs); i++)
			tdm_set(tdm_knobs[i], "0");
	err = unload("dma_migrate");
	if (err && err != -ENOENT) {
		ret = err;
		*what = "dma_migrate";
	}
	err = unload("test_dma_memcpy");
	if (err && err != -ENOENT && !ret) {
		ret = err;
		*what = "test_dma_memcpy";
	}
	migrate_offload_restore(&e->saved);
	e->loaded = false;
	return ret;
}

/*
 * The setup of every fixture: skip without root, two nodes, the core or
 * the modules; make room (one migrator at a time); load test_dma_memcpy with
 * @provider_params and dma_migrate with @timeout_ms; offload syscall
 * migrations of any size.  A setup that fails after loading cleans up
 * itself: the harness runs the teardown only after a completed setup.
 */
static void env_setup(struct __test_metadata *_metadata, struct dma_env *e,
		      const char *provider_params, unsigned int timeout_ms)
{
	const char *what = "";
	char buf[64];

	migrate_test_clock_start();
	memset(e, 0, sizeof(*e));
	if (geteuid())
		SKIP(return, "needs root (modprobe, debugfs)");
	if (two_nodes(&e->node[0], &e->node[1]))
		SKIP(return, "needs two memory nodes");
	if (access(MCO_DIR, F_OK))
		SKIP(return, "no " MCO_DIR ": CONFIG_MIGRATION_COPY_OFFLOAD is off");
	if (module_listed("modules.builtin", "test_dma_memcpy") == 1 ||
	    module_listed("modules.builtin", "dma_migrate") == 1)
		SKIP(return, "test_dma_memcpy or dma_migrate is built in: needs both =m");
	if (module_listed("modules.dep", "test_dma_memcpy") < 0)
		SKIP(return, "cannot read modules.dep: no modules to load (run depmod)");
	if (!module_listed("modules.dep", "test_dma_memcpy"))
		SKIP(return, "no module test_dma_memcpy: needs CONFIG_TEST_DMA_MEMCPY=m");
	if (!module_listed("modules.dep", "dma_migrate"))
		SKIP(return, "no module dma_migrate: needs CONFIG_DMA_MIGRATE=m");
	e->page_size = getpagesize();
	e->provider_params = provider_params;
	e->timeout_ms = timeout_ms;
	snprintf(e->migrator_params, sizeof(e->migrator_params), "timeout_ms=%u", timeout_ms);

	/* One migrator at a time: make room (leftovers of a killed test too). */
	unload("dma_migrate");
	unload("migrate_mtcopy");
	unload("test_migrate_offload");
	unload("test_dma_memcpy");
	if (!migrator_is("none"))
		SKIP(return, "migrator \"%s\" is registered and cannot be unloaded",
		     read_text(MIGRATOR, buf, sizeof(buf)));
	if (module_loaded("test_dma_memcpy"))
		SKIP(return, "test_dma_memcpy is loaded and in use by another client");
	/* The core must not distrust what the migrator copied. */
	if (!access(FAIL_DIR, F_OK))
		write_string(FAIL_DIR "probability", "0");

	migrate_offload_save(&e->saved);
	e->loaded = true;
	if (env_load(e)) {
		/*
		 * A module that is there but does not load (with parameters
		 * this test needs) is a failure, not a skip.
		 */
		env_cleanup(e, &what);
		ASSERT_TRUE(false) TH_LOG("setup: %s", e->err);
	}
}

static void env_teardown(struct __test_metadata *_metadata, struct dma_env *e)
{
	const char *what = "";
	int ret = 0;

	if (e->loaded)
		ret = env_cleanup(e, &what);
	migrate_test_clock_report(_metadata);
	/* A module that cannot be unloaded would spoil every later test. */
	EXPECT_EQ(ret, 0) TH_LOG("teardown: unloading %s failed: %s", what, strerror(-ret));
}

/* Read every counter; the name of a missing one, or NULL. */
static const char *snap(struct counts *c)
{
	static char missing[160];
	struct offload_vmstat vm;
	char path[160];
	int i;

	missing[0] = '\0';
	for (i = 0; i < NR_DM; i++) {
		snprintf(path, sizeof(path), DM_DIR "%s", dm_files[i]);
		c->dm[i] = read_number(path);
		if (c->dm[i] < 0 && !missing[0])
			snprintf(missing, sizeof(missing), "%s", path);
	}
	for (i = 0; i < NR_TDM; i++) {
		snprintf(path, sizeof(path), TDM_DIR "%s", tdm_files[i]);
		c->tdm[i] = read_number(path);
		if (c->tdm[i] < 0 && !missing[0])
			snprintf(missing, sizeof(missing), "%s", path);
	}
	read_offload_vmstat(&vm);
	c->vm[VM_BATCHES] = vm.batches;
	c->vm[VM_COPIED] = vm.copied;
	c->vm[VM_FALLBACK] = vm.fallback;
	c->vm[VM_SKIP_REASON] = vm.skip_reason;
	c->vm[VM_SKIP_SMALL] = vm.skip_small;
	c->vm[VM_SKIP_INELIGIBLE] = vm.skip_ineligible;
	return missing[0] ? missing : NULL;
}

static void counts_delta(struct counts *d, const struct counts *a, const struct counts *b)
{
	int i;

	for (i = 0; i < NR_DM; i++)
		d->dm[i] = b->dm[i] - a->dm[i];
	for (i = 0; i < NR_TDM; i++)
		d->tdm[i] = b->tdm[i] - a->tdm[i];
	for (i = 0; i < NR_VM; i++)
		d->vm[i] = b->vm[i] - a->vm[i];
}

static long long dm_fallback(const struct counts *d)
{
	return d->dm[DM_FB_BUSY] + d->dm[DM_FB_MAP] + d->dm[DM_FB_PREP] +
	       d->dm[DM_FB_SUBMIT] + d->dm[DM_FB_ERROR] + d->dm[DM_FB_TIMEOUT];
}

static void log_counts(struct __test_metadata *_metadata, const char *what,
		       const struct counts *d)
{
	TH_LOG("%s: dma_migrate: %lld batches, %lld copied, %lld timeouts, %lld unbounded waits",
	       what, d->dm[DM_BATCHES], d->dm[DM_COPIED], d->dm[DM_TIMEOUTS], d->dm[DM_UNBOUNDED]);
	TH_LOG("%s: dma_migrate fallback: busy %lld map %lld prep %lld submit %lld error %lld",
	       what, d->dm[DM_FB_BUSY], d->dm[DM_FB_MAP], d->dm[DM_FB_PREP], d->dm[DM_FB_SUBMIT],
	       d->dm[DM_FB_ERROR]);
	TH_LOG("%s: dma_migrate fallback: timeout %lld", what, d->dm[DM_FB_TIMEOUT]);
	TH_LOG("%s: test_dma_memcpy: %lld submitted, %lld completed, %lld failed, %lld hung",
	       what, d->tdm[TDM_SUBMITTED], d->tdm[TDM_COMPLETED], d->tdm[TDM_FAILED],
	       d->tdm[TDM_HUNG]);
	TH_LOG("%s: test_dma_memcpy: %lld terminated, %lld aborted, %lld late writes, %lld refused",
	       what, d->tdm[TDM_TERMINATED], d->tdm[TDM_ABORTED], d->tdm[TDM_LATE_WRITES],
	       d->tdm[TDM_REFUSED]);
	TH_LOG("%s: core: %lld batches, %lld copied, %lld fallback", what, d->vm[VM_BATCHES],
	       d->vm[VM_COPIED], d->vm[VM_FALLBACK]);
	TH_LOG("%s: core skipped: %lld for the reason, %lld small, %lld ineligible", what,
	       d->vm[VM_SKIP_REASON], d->vm[VM_SKIP_SMALL], d->vm[VM_SKIP_INELIGIBLE]);
}

/* A buffer to move, with the arrays move_pages(2) needs. */
struct buffer {
	struct migrate_buf b;
	unsigned long nr_pages, nr_folios;
	void **addr;
	int *status;		/* nr_pages entries */
	int *nodes;		/* nr_folios entries */
};

static void buffer_unmap(struct buffer *bf)
{
	free(bf->addr);
	free(bf->status);
	free(bf->nodes);
	migrate_buf_unmap(&bf->b);
}

/*
 * Map and fault in @size bytes of @kind and place them on node[0].  Returns
 * false when the test was skipped (no THPs); the caller returns then.
 */
static bool buffer_map(struct __test_metadata *_metadata, struct dma_env *e,
		       struct buffer *bf, enum migrate_buf_kind kind, size_t size)
{
	memset(bf, 0, sizeof(*bf));
	if (!migrate_buf_map_or_skip(_metadata, &bf->b, kind, size))
		return false;
	bf->nr_pages = size / e->page_size;
	bf->nr_folios = size / bf->b.folio_size;
	bf->addr = migrate_addrs(bf->b.buf, bf->nr_folios, bf->b.folio_size);
	bf->status = calloc(bf->nr_pages, sizeof(int));
	bf->nodes = calloc(bf->nr_folios, sizeof(int));
	ASSERT_TRUE(bf->addr && bf->status && bf->nodes);
	ASSERT_EQ(move_all(bf->addr, bf->nr_folios, e->node[0], bf->status), 0)
		TH_LOG("cannot place the buffer on node %d", e->node[0]);
	return true;
}

/* Say what a corrupt buffer holds: which pages, and whose bytes. */
static void report_corruption(struct __test_metadata *_metadata, const char *buf,
			      size_t size, size_t page_size, unsigned int pass)
{
	unsigned long words = page_size / sizeof(uint64_t), p, w, bad = 0, fa = 0, late = 0;
	long first = -1;

	for (p = 0; p < size / page_size; p++) {
		const uint64_t *page = (const uint64_t *)(buf + p * page_size);

		for (w = 0; w < words; w++)
			if (page[w] != migrate_pattern(p * words + w, pass))
				break;
		if (w == words)
			continue;
		bad++;
		if (first < 0)
			first = p;
		if (all_bytes_are((const char *)page, page_size, 0xfa))
			fa++;
		else if (all_bytes_are((const char *)page, page_size, 0x1a))
			late++;
	}
	TH_LOG("pass %u: %lu of %lu pages corrupt, the first page %ld", pass, bad,
	       size / page_size, first);
	TH_LOG("%lu hold 0xfa: a failed descriptor's destination, marked copied", fa);
	TH_LOG("%lu hold 0x1a: an engine write that landed after the copy returned", late);
}

/* One move of a buffer, and the counters over it. */
struct move {
	long long nr_folios;
	bool one_call;		/* the first move_pages(2) call moved every folio */
	struct counts d;
};

/*
 * Fill @bf with the pattern of @pass, move it to node[pass & 1], wait
 * @settle_ms, then check the placement and every byte; @m gets the counter
 * deltas over the move (and the wait).
 */
static void move_verify(struct __test_metadata *_metadata, struct dma_env *e,
			struct buffer *bf, unsigned int pass, unsigned int settle_ms,
			struct move *m)
{
	int to = e->node[pass & 1];
	const char *missing;
	struct counts a, b;
	unsigned long i;
	char what[32];
	long ret, bad;

	for (i = 0; i < bf->nr_folios; i++)
		bf->nodes[i] = to;
	migrate_fill((uint64_t *)bf->b.buf, bf->b.size, pass);
	missing = snap(&a);
	ASSERT_TRUE(!missing) TH_LOG("cannot read %s", missing);
	ret = move_pages_raw(bf->nr_folios, bf->addr, bf->nodes, bf->status, MPOL_MF_MOVE);
	m->one_call = ret == 0;
	for (i = 0; m->one_call && i < bf->nr_folios; i++)
		m->one_call = bf->status[i] == to;
	if (!m->one_call) {
		ASSERT_EQ(move_all(bf->addr, bf->nr_folios, to, bf->status), 0)
			TH_LOG("pass %u: folios left behind moving to node %d", pass, to);
	}
	if (settle_ms)
		sleep_ms(settle_ms);
	missing = snap(&b);
	ASSERT_TRUE(!missing) TH_LOG("cannot read %s", missing);
	counts_delta(&m->d, &a, &b);
	m->nr_folios = bf->nr_folios;

	snprintf(what, sizeof(what), "pass %u", pass);
	TH_LOG("%s: %lld folios of %zu KB to node %d%s", what, m->nr_folios,
	       bf->b.folio_size >> 10, to,
	       m->one_call ? "" : " (in several move_pages calls: counts are lower bounds)");
	log_counts(_metadata, what, &m->d);
	ASSERT_EQ(pages_not_on(bf->b.buf, bf->nr_pages, to, e->page_size, bf->status), 0UL)
		TH_LOG("%s: pages not on node %d", what, to);
	bad = migrate_verify((uint64_t *)bf->b.buf, bf->b.size, pass);
	if (bad != -1)
		report_corruption(_metadata, bf->b.buf, bf->b.size, e->page_size, pass);
	ASSERT_EQ(bad, -1) TH_LOG("%s: word %ld corrupt after moving to node %d", what, bad, to);
}

/*
 * What every move offered to dma_migrate shows, whatever the engine did:
 * the core and the migrator agree, each folio is copied or falls back
 * exactly once, and each folio the engine copied took a descriptor.
 */
static void check_consistent(struct __test_metadata *_metadata, const struct move *m)
{
	const struct counts *d = &m->d;
	long long sum;

	ASSERT_EQ(d->vm[VM_BATCHES], d->dm[DM_BATCHES])
		TH_LOG("the core's batches and the migrator's differ");
	ASSERT_EQ(d->vm[VM_COPIED], d->dm[DM_COPIED])
		TH_LOG("the core's copied and the migrator's differ");
	ASSERT_EQ(d->vm[VM_FALLBACK], dm_fallback(d))
		TH_LOG("pgmigrate_offload_fallback is not the sum of the migrator's fallback_*");
	ASSERT_EQ(d->vm[VM_SKIP_REASON], 0);
	ASSERT_EQ(d->vm[VM_SKIP_SMALL], 0);
	ASSERT_GT(d->dm[DM_BATCHES], 0) TH_LOG("the migrator was never called");
	/* Exact when one move_pages(2) call moved them all: each offered once. */
	sum = d->vm[VM_COPIED] + d->vm[VM_FALLBACK] + d->vm[VM_SKIP_INELIGIBLE];
	ASSERT_TRUE(m->one_call ? sum == m->nr_folios : sum >= m->nr_folios)
		TH_LOG("copied + fallback (+ ineligible): %lld, folios: %lld", sum, m->nr_folios);
	ASSERT_GE(d->tdm[TDM_COMPLETED], d->dm[DM_COPIED])
		TH_LOG("more folios marked copied than descriptors completed without error");
}

/* The migrator copied every folio through the engine, none fell back. */
static void check_all_copied(struct __test_metadata *_metadata, const struct move *m)
{
	const struct counts *d = &m->d;

	check_consistent(_metadata, m);
	ASSERT_EQ(d->vm[VM_FALLBACK], 0);
	ASSERT_EQ(dm_fallback(d), 0);
	ASSERT_EQ(d->dm[DM_TIMEOUTS], 0);
	ASSERT_EQ(d->vm[VM_SKIP_INELIGIBLE], 0);
	ASSERT_TRUE(m->one_call ? d->dm[DM_COPIED] == m->nr_folios :
				  d->dm[DM_COPIED] >= m->nr_folios)
		TH_LOG("dma_migrate copied %lld of %lld folios", d->dm[DM_COPIED], m->nr_folios);
}

/* The migrator was never offered the batches, and the CPU moved them. */
static void check_not_offered(struct __test_metadata *_metadata, const struct move *m,
			      int skip_counter)
{
	const struct counts *d = &m->d;

	ASSERT_EQ(d->dm[DM_BATCHES], 0);
	ASSERT_EQ(d->vm[VM_BATCHES], 0);
	ASSERT_EQ(d->vm[VM_COPIED], 0);
	ASSERT_EQ(d->vm[VM_FALLBACK], 0);
	ASSERT_EQ(d->tdm[TDM_SUBMITTED], 0);
	ASSERT_GE(d->vm[skip_counter], m->nr_folios);
}

/* Move a buffer of @kind NR_PASSES times; the migrator must copy it all. */
static void copy_kind(struct __test_metadata *_metadata, struct dma_env *e,
		      enum migrate_buf_kind kind, size_t size)
{
	struct buffer bf;
	unsigned int pass;
	struct move m;

	if (!buffer_map(_metadata, e, &bf, kind, size))
		return;
	for (pass = 1; pass <= NR_PASSES; pass++) {
		unsigned long thp = 0, split = 0;

		if (kind == MIGRATE_BUF_ANON_THP) {
			thp = read_vmstat("thp_migration_success");
			split = read_vmstat("thp_migration_split");
		}
		move_verify(_metadata, e, &bf, pass, 0, &m);
		if (kind == MIGRATE_BUF_ANON_THP)
			TH_LOG("pass %u: %lu THPs migrated whole, %lu split", pass,
			       read_vmstat("thp_migration_success") - thp,
			       read_vmstat("thp_migration_split") - split);
		check_all_copied(_metadata, &m);
	}
	buffer_unmap(&bf);
}

/* One channel of the migrator's "channels" file. */
struct chan {
	char name[32];
	int node;
	long long descs, errors;
};

/* The channels the migrator holds; -1 if the file cannot be read. */
static int read_channels(struct chan *c, int max)
{
	FILE *f = fopen(DM_DIR "channels", "r");
	char line[160];
	int n = 0;

	if (!f)
		return -1;
	while (n < max && fgets(line, sizeof(line), f))
		if (sscanf(line, "%31s node %d descs %lld errors %lld", c[n].name, &c[n].node,
			   &c[n].descs, &c[n].errors) == 4)
			n++;
	fclose(f);
	return n;
}

/*
 * A child process: move @size bytes of anonymous 4 KB pages between the
 * nodes, verifying every byte after every move, until told to stop.  Exits
 * 0 after the last verified pass, 1 on a corrupt byte, 2 if it cannot set
 * up, 3 if a move fails; dies with the test.
 */
static void migrate_until_stopped(const int *node, size_t size, struct child_state *cs)
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
	madvise(buf, size, MADV_NOHUGEPAGE);
	for (pass = 1; !__atomic_load_n(&cs->stop, __ATOMIC_ACQUIRE); pass++) {
		migrate_fill((uint64_t *)buf, size, pass);
		if (move_all(addr, nr, node[pass & 1], st))
			_exit(3);
		if (migrate_verify((uint64_t *)buf, size, pass) != -1)
			_exit(1);
		__atomic_store_n(&cs->passes, pass, __ATOMIC_RELEASE);
	}
	_exit(0);
}

static void start_child(struct __test_metadata *_metadata, struct dma_env *e, size_t size)
{
	pid_t pid;

	if (!e->cs) {
		e->cs = mmap(NULL, sizeof(*e->cs), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(e->cs, MAP_FAILED);
	}
	memset(e->cs, 0, sizeof(*e->cs));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		migrate_until_stopped(e->node, size, e->cs);
	e->child = pid;
}

static unsigned long child_passes(struct dma_env *e)
{
	return __atomic_load_n(&e->cs->passes, __ATOMIC_ACQUIRE);
}

static void check_child_alive(struct __test_metadata *_metadata, struct dma_env *e, int cycle)
{
	int status = 0;

	ASSERT_EQ(waitpid(e->child, &status, WNOHANG), 0)
		TH_LOG("cycle %d: the migrating process ended: exit %d, signal %d",
		       cycle, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		       WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* Let the child finish its pass and verify it; it must exit 0. */
static void stop_child(struct __test_metadata *_metadata, struct dma_env *e, int cycle)
{
	int status = 0;
	pid_t pid = e->child;

	__atomic_store_n(&e->cs->stop, 1, __ATOMIC_RELEASE);
	e->child = 0;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("cycle %d: the migrating process failed: exit %d, signal %d",
		       cycle, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		       WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	ASSERT_GT(e->cs->passes, 0UL);
}

/* Wait up to @ms for the migrator (this instance) to have copied a batch. */
static int wait_for_batches(unsigned int ms)
{
	unsigned int waited;

	for (waited = 0; waited < ms; waited += 10) {
		if (dm("batches") > 0)
			return 0;
		sleep_ms(10);
	}
	return -1;
}

/* Wait up to @ms for a copy in flight, if the core can say. */
static void wait_for_copy_in_flight(unsigned int ms)
{
	unsigned int waited;

	if (migrate_offload_in_flight() < 0)
		return;
	for (waited = 0; waited < ms && migrate_offload_in_flight() < 1; waited++)
		sleep_ms(1);
}

static int wait_for_passes(struct dma_env *e, unsigned long passes, unsigned int ms)
{
	unsigned int waited;

	for (waited = 0; waited < ms; waited += 10) {
		if (child_passes(e) >= passes)
			return 0;
		sleep_ms(10);
	}
	return -1;
}

/*
 * Unbind every device of the provider from its driver.  The number
 * unbound, or -errno.
 */
static int unbind_providers(char names[][NAME_MAX + 1], int max)
{
	DIR *d = opendir(TDM_DRIVER);
	struct dirent *de;
	int n = 0, i;

	if (!d)
		return -errno;
	while (n < max && (de = readdir(d)))
		if (!strncmp(de->d_name, TDM_DEV_PREFIX, strlen(TDM_DEV_PREFIX)))
			snprintf(names[n++], NAME_MAX + 1, "%s", de->d_name);
	closedir(d);
	for (i = 0; i < n; i++)
		if (write_string(TDM_DRIVER "unbind", names[i]))
			return -errno ? -errno : -EIO;
	return n;
}

/* Unloading the provider must fail while dma_migrate holds its channels. */
static void check_provider_pinned(struct __test_metadata *_metadata, int cycle, const char *when)
{
	int ret = unload("test_dma_memcpy");

	ASSERT_TRUE(ret == -EBUSY || ret == -EWOULDBLOCK)
		TH_LOG("cycle %d, %s: unloading test_dma_memcpy, its channels held: %d (%s)",
		       cycle, when, ret, ret ? strerror(-ret) : "unloaded");
}

FIXTURE(dma_migrate)
{
	struct dma_env e;
};

FIXTURE_SETUP(dma_migrate)
{
	env_setup(_metadata, &self->e, PROVIDER_DEFAULT, RELAXED_TIMEOUT_MS);
}

FIXTURE_TEARDOWN(dma_migrate)
{
	env_teardown(_metadata, &self->e);
}

/* The provider's channels can be terminated (dmaengine_terminate_sync() works). */
FIXTURE(dma_migrate_terminate)
{
	struct dma_env e;
};

FIXTURE_SETUP(dma_migrate_terminate)
{
	env_setup(_metadata, &self->e, PROVIDER_DEFAULT " terminate=1", SHORT_TIMEOUT_MS);
}

FIXTURE_TEARDOWN(dma_migrate_terminate)
{
	env_teardown(_metadata, &self->e);
}

/* The provider's channels cannot be terminated (like ioat, idxd in 6.12). */
FIXTURE(dma_migrate_no_terminate)
{
	struct dma_env e;
};

FIXTURE_SETUP(dma_migrate_no_terminate)
{
	env_setup(_metadata, &self->e, PROVIDER_DEFAULT " terminate=0", SHORT_TIMEOUT_MS);
}

FIXTURE_TEARDOWN(dma_migrate_no_terminate)
{
	env_teardown(_metadata, &self->e);
}

/* The provider registers public channels (no DMA_PRIVATE). */
FIXTURE(dma_migrate_public)
{
	struct dma_env e;
};

FIXTURE_SETUP(dma_migrate_public)
{
	env_setup(_metadata, &self->e, PROVIDER_DEFAULT " private=0", RELAXED_TIMEOUT_MS);
}

FIXTURE_TEARDOWN(dma_migrate_public)
{
	env_teardown(_metadata, &self->e);
}

/* 4 MB of anonymous 4 KB pages: one descriptor each, all copied by the engine. */
TEST_F(dma_migrate, anon_4k)
{
	copy_kind(_metadata, &self->e, MIGRATE_BUF_ANON_4K, 4UL << 20);
}

/* 8 MB of THPs: each 2 MB folio in descriptors of at most max_seg bytes. */
TEST_F(dma_migrate, thp)
{
	copy_kind(_metadata, &self->e, MIGRATE_BUF_ANON_THP, 8UL << 20);
}

/* 4 MB of shmem. */
TEST_F(dma_migrate, shmem)
{
	copy_kind(_metadata, &self->e, MIGRATE_BUF_SHMEM, 4UL << 20);
}

/*
 * Two devices of two channels: the migrator holds all four and a large
 * move, both ways, uses at least two of them.  Each move uses only the
 * channels on its source node, when that node has any.
 */
TEST_F(dma_migrate, several_channels)
{
	struct chan first[16], before[16], after[16];
	int n, i, j, used = 0, src, local;
	struct buffer bf;
	unsigned int pass;
	struct move m;

	n = read_channels(first, 16);
	ASSERT_EQ(n, NR_DEFAULT_CHANNELS)
		TH_LOG("dma_migrate lists %d channels in " DM_DIR "channels", n);
	if (!buffer_map(_metadata, &self->e, &bf, MIGRATE_BUF_ANON_4K, 8UL << 20))
		return;
	for (pass = 1; pass <= NR_PASSES; pass++) {
		/* Where the pages are: buffer_map puts them on node[0]. */
		src = self->e.node[pass & 1 ? 0 : 1];
		ASSERT_EQ(read_channels(before, 16), n);
		move_verify(_metadata, &self->e, &bf, pass, 0, &m);
		check_all_copied(_metadata, &m);
		ASSERT_EQ(read_channels(after, 16), n);
		for (i = 0, local = 0; i < n; i++)
			local += after[i].node == src;
		for (i = 0; i < n && local; i++) {
			ASSERT_STREQ(after[i].name, before[i].name);
			if (after[i].node != src)
				ASSERT_EQ(after[i].descs, before[i].descs)
					TH_LOG("pass %u: %s on node %d used for pages of node %d",
					       pass, after[i].name, after[i].node, src);
		}
	}
	buffer_unmap(&bf);
	ASSERT_EQ(read_channels(after, 16), n);
	memcpy(before, first, sizeof(first));
	for (i = 0; i < n; i++) {
		for (j = 0; j < n && strcmp(before[j].name, after[i].name); j++)
			;
		ASSERT_LT(j, n) TH_LOG("channel %s appeared", after[i].name);
		TH_LOG("%s (node %d): %lld descriptors, %lld errors", after[i].name,
		       after[i].node, after[i].descs - before[j].descs,
		       after[i].errors - before[j].errors);
		used += after[i].descs > before[j].descs;
	}
	ASSERT_GE(used, 2) TH_LOG("only %d channel(s) used", used);
}

/*
 * The admin names the channels: the migrator takes only those, copies on
 * them, and refuses to load when none of the names is a channel.
 */
TEST_F(dma_migrate, named_channels)
{
	struct chan all[16], one[16], after[16];
	char params[64];
	struct buffer bf;
	struct move m;
	int n;

	n = read_channels(all, 16);
	ASSERT_EQ(n, NR_DEFAULT_CHANNELS);
	ASSERT_EQ(unload("dma_migrate"), 0);
	snprintf(params, sizeof(params), "channels=nosuch0chan0,%s timeout_ms=%u",
		 all[n - 1].name, self->e.timeout_ms);
	ASSERT_EQ(load_module("dma_migrate", params, self->e.err, sizeof(self->e.err)), 0)
		TH_LOG("%s", self->e.err);
	ASSERT_EQ(read_channels(one, 16), 1);
	ASSERT_STREQ(one[0].name, all[n - 1].name);
	if (!buffer_map(_metadata, &self->e, &bf, MIGRATE_BUF_ANON_4K, 1UL << 20))
		return;
	move_verify(_metadata, &self->e, &bf, 1, 0, &m);
	check_all_copied(_metadata, &m);
	buffer_unmap(&bf);
	ASSERT_EQ(read_channels(after, 16), 1);
	ASSERT_GE(after[0].descs - one[0].descs, (long long)m.nr_folios);

	ASSERT_EQ(unload("dma_migrate"), 0);
	ASSERT_NE(load_module("dma_migrate", "channels=nosuch0chan0", self->e.err,
			      sizeof(self->e.err)), 0)
		TH_LOG("dma_migrate loaded with no channel of that name");
	ASSERT_TRUE(migrator_is("none"));
	/* Back to every channel, for the teardown. */
	ASSERT_EQ(load_migrator(&self->e), 0) TH_LOG("%s", self->e.err);
	ASSERT_EQ(read_channels(after, 16), n);
}

/* timeout_ms takes 1 to 60000 ms: 0 (no bound) and more are refused. */
TEST_F(dma_migrate, timeout_ms_validated)
{
	char buf[16];

	ASSERT_NE(write_string(DM_TIMEOUT, "0"), 0);
	ASSERT_NE(write_string(DM_TIMEOUT, "60001"), 0);
	ASSERT_NE(write_string(DM_TIMEOUT, "-1"), 0);
	ASSERT_EQ(read_number(DM_TIMEOUT), self->e.timeout_ms);
	ASSERT_EQ(write_string(DM_TIMEOUT, "60000"), 0);
	ASSERT_EQ(read_number(DM_TIMEOUT), 60000);
	ASSERT_EQ(write_string(DM_TIMEOUT, "1"), 0);
	ASSERT_EQ(read_number(DM_TIMEOUT), 1);
	snprintf(buf, sizeof(buf), "%u", self->e.timeout_ms);
	ASSERT_EQ(write_string(DM_TIMEOUT, buf), 0);
	ASSERT_EQ(read_number(DM_TIMEOUT), self->e.timeout_ms);
}

/* Descriptors completed newest first, each after 200 us: all copied, data intact. */
TEST_F(dma_migrate, out_of_order)
{
	struct buffer bf;
	unsigned int pass;
	struct move m;

	if (!buffer_map(_metadata, &self->e, &bf, MIGRATE_BUF_ANON_4K, 2UL << 20))
		return;
	ASSERT_EQ(tdm_set("out_of_order", "1"), 0);
	ASSERT_EQ(tdm_set("delay_us", "200"), 0);
	for (pass = 1; pass <= NR_PASSES; pass++) {
		move_verify(_metadata, &self->e, &bf, pass, 0, &m);
		check_all_copied(_metadata, &m);
		ASSERT_EQ(m.d.tdm[TDM_COMPLETED], m.d.tdm[TDM_SUBMITTED])
			TH_LOG("the copy returned with descriptors outstanding");
	}
	buffer_unmap(&bf);
}

/*
 * Every 7th descriptor completes with DMA_TRANS_WRITE_FAILED and leaves 0xfa
 * in its destination: exactly those folios fall back (fallback_error), the
 * CPU copies them, and every byte is right.
 */
TEST_F(dma_migrate, descriptor_failures)
{
	struct buffer bf;
	unsigned int pass;
	struct move m;

	if (!buffer_map(_metadata, &self->e, &bf, MIGRATE_BUF_ANON_4K, 4UL << 20))
		return;
	ASSERT_EQ(tdm_set("fail_every", "7"), 0);
	for (pass = 1; pass <= NR_PASSES; pass++) {
		move_verify(_metadata, &self->e, &bf, pass, 0, &m);
		check_consistent(_metadata, &m);
		ASSERT_GT(m.d.tdm[TDM_FAILED], 0);
		ASSERT_EQ(m.d.dm[DM_FB_ERROR], m.d.tdm[TDM_FAILED])
			TH_LOG("4 KB folios, one descriptor each: one fallback per failure");
		ASSERT_GT(m.d.dm[DM_COPIED], 0);
	}
	buffer_unmap(&bf);
}

/*
 * dma_map fails 5 times: exactly 5 folios fall back (fallback_map), the
 * rest are copied, every byte is right; then mapping works again.
 */
TEST_F(dma_migrate, map_failure)
{
	struct buffer bf;
	struct move m;

	if (access(DM_FAIL_MAP "probability", W_OK))
		SKIP(return, "no " DM_FAIL_MAP ": CONFIG_FAULT_INJECTION_DEBUG_FS is off");
	if (!buffer_map(_metadata, &self->e, &bf, MIGRATE_BUF_ANON_4K, 2UL << 20))
		return;
	ASSERT_EQ(fail_map_set("verbose", "0"), 0);
	ASSERT_EQ(fail_map_set("interval", "1"), 0);
	ASSERT_EQ(fail_map_set("times", "5"), 0);
	ASSERT_EQ(fail_map_set("probability", "100"), 0);
	move_verify(_metadata, &self->e, &bf, 1, 0, &m);
	ASSERT_EQ(fail_map_set("probability", "0"), 0);
	check_consistent(_metadata, &m);
	ASSERT_EQ(m.d.dm[DM_FB_MAP], 5) TH_LOG("one folio left to the CPU per failed dma_map");
	ASSERT_GT(m.d.dm[DM_COPIED], 0);

	move_verify(_metadata, &self->e, &bf, 2, 0, &m);
	check_all_copied(_metadata, &m);
	buffer_unmap(&bf);
}

/* Every 5th prep returns NULL: those folios fall back (fallback_prep), no hang. */
TEST_F(dma_migrate, prep_refused)
{
	struct buffer bf;
	unsigned int pass;
	struct move m;

	if (!buffer_map(_metadata, &self->e, &bf, MIGRATE_BUF_ANON_4K, 2UL << 20))
		return;
	ASSERT_EQ(tdm_set("refuse_every", "5"), 0);
	for (pass = 1; pass <= NR_PASSES; pass++) {
		move_verify(_metadata, &self->e, &bf, pass, 0, &m);
		check_consistent(_metadata, &m);
		ASSERT_GT(m.d.tdm[TDM_REFUSED], 0);
		ASSERT_GT(m.d.dm[DM_FB_PREP], 0);
		ASSERT_GT(m.d.dm[DM_COPIED], 0);
	}
	buffer_unmap(&bf);
}

/*
 * With syscall migrations not among the admin's reasons the migrator is
 * never called; once they are again, it copies.
 */
TEST_F(dma_migrate, reasons_respected)
{
	struct buffer bf;
	unsigned int pass;
	struct move m;

	if (!buffer_map(_metadata, &self->e, &bf, MIGRATE_BUF_ANON_4K, 2UL << 20))
		return;
	ASSERT_EQ(write_string(REASONS, OTHER_REASON), 0);
	for (pass = 1; pass <= NR_PASSES; pass++) {
		move_verify(_metadata, &self->e, &bf, pass, 0, &m);
		check_not_offered(_metadata, &m, VM_SKIP_REASON);
	}
	ASSERT_EQ(write_string(REASONS, TEST_REASON), 0);
	move_verify(_metadata, &self->e, &bf, pass, 0, &m);
	check_all_copied(_metadata, &m);
	buffer_unmap(&bf);
}

/*
 * With min_batch_bytes above the whole buffer no batch reaches the
 * migrator; at 0 again, it copies.
 */
TEST_F(dma_migrate, threshold_respected)
{
	size_t size = 1UL << 20;
	struct buffer bf;
	unsigned int pass;
	char min[32];
	struct move m;

	if (!buffer_map(_metadata, &self->e, &bf, MIGRATE_BUF_ANON_4K, size))
		return;
	snprintf(min, sizeof(min), "%zu", size + self->e.page_size);
	ASSERT_EQ(write_string(MIN_BATCH, min), 0);
	for (pass = 1; pass <= NR_PASSES; pass++) {
		move_verify(_metadata, &self->e, &bf, pass, 0, &m);
		check_not_offered(_metadata, &m, VM_SKIP_SMALL);
	}
	ASSERT_EQ(write_string(MIN_BATCH, "0"), 0);
	move_verify(_metadata, &self->e, &bf, pass, 0, &m);
	check_all_copied(_metadata, &m);
	buffer_unmap(&bf);
}

/*
 * A buffer of base pages in which every pass meets hung descriptors with
 * hang_every at 64: 2 MB, and at least 128 pages (one descriptor each)
 * where pages are larger than 16 KB (arm64's 64 KB pages: 32 in 2 MB).
 */
static size_t hang_buffer_size(const struct dma_env *e)
{
	size_t size = 2UL << 20;

	if (size < 128 * e->page_size)
		size = 128 * e->page_size;
	return size;
}

/*
 * Every 64th descriptor hangs and would write 0x1a to its destination 1 s
 * later.  The migrator times out after 100 ms and terminates the channel:
 * the hung descriptors are dropped, the CPU copies their folios, and 1.5 s
 * later no late write has landed.
 */
TEST_F(dma_migrate_terminate, timeout_terminated)
{
	struct buffer bf;
	unsigned int pass;
	struct move m;

	if (!buffer_map(_metadata, &self->e, &bf, MIGRATE_BUF_ANON_4K,
			hang_buffer_size(&self->e)))
		return;
	ASSERT_EQ(tdm_set("hang_every", "64"), 0);
	ASSERT_EQ(tdm_set("late_write_ms", "1000"), 0);
	for (pass = 1; pass <= NR_PASSES; pass++) {
		/* Past late_write_ms, then every byte is checked. */
		move_verify(_metadata, &self->e, &bf, pass, 1500, &m);
		check_consistent(_metadata, &m);
		ASSERT_GT(m.d.tdm[TDM_HUNG], 0);
		ASSERT_EQ(m.d.tdm[TDM_LATE_WRITES], 0)
			TH_LOG("a terminated descriptor wrote late");
		ASSERT_GE(m.d.tdm[TDM_TERMINATED], m.d.tdm[TDM_HUNG])
			TH_LOG("hung descriptors were not terminated");
		ASSERT_GT(m.d.dm[DM_TIMEOUTS], 0);
		ASSERT_GE(m.d.dm[DM_FB_TIMEOUT], m.d.tdm[TDM_HUNG]);
		ASSERT_EQ(m.d.dm[DM_UNBOUNDED], 0);
	}
	buffer_unmap(&bf);
}

/*
 * The same hangs on channels that cannot be terminated, with the late
 * write after 300 ms: the migrator must wait for it (an unbounded wait),
 * and the CPU then copies over the 0x1a bytes.  Every late write has
 * landed when the move returns.
 */
TEST_F(dma_migrate_no_terminate, timeout_unstoppable)
{
	struct buffer bf;
	unsigned int pass;
	struct move m;

	if (!buffer_map(_metadata, &self->e, &bf, MIGRATE_BUF_ANON_4K,
			hang_buffer_size(&self->e)))
		return;
	ASSERT_EQ(tdm_set("hang_every", "64"), 0);
	ASSERT_EQ(tdm_set("late_write_ms", "300"), 0);
	for (pass = 1; pass <= NR_PASSES; pass++) {
		move_verify(_metadata, &self->e, &bf, pass, 0, &m);
		check_consistent(_metadata, &m);
		ASSERT_GT(m.d.tdm[TDM_HUNG], 0);
		ASSERT_EQ(m.d.tdm[TDM_LATE_WRITES], m.d.tdm[TDM_HUNG])
			TH_LOG("the copy returned before every late write landed");
		ASSERT_EQ(m.d.tdm[TDM_TERMINATED], 0);
		ASSERT_GT(m.d.dm[DM_TIMEOUTS], 0);
		ASSERT_GT(m.d.dm[DM_UNBOUNDED], 0);
		ASSERT_EQ(m.d.dm[DM_FB_TIMEOUT], 0)
			TH_LOG("a channel that cannot be terminated counted as terminated");
		ASSERT_GE(m.d.dm[DM_FB_ERROR], m.d.tdm[TDM_HUNG])
			TH_LOG("a descriptor that failed after the timeout must fall back");
		ASSERT_EQ(m.d.dm[DM_FB_ERROR], m.d.tdm[TDM_FAILED]);
	}
	buffer_unmap(&bf);
}

/* Public channels (no DMA_PRIVATE): the migrator takes them and copies. */
TEST_F(dma_migrate_public, public_provider)
{
	struct buffer bf;
	unsigned int pass;
	struct move m;

	if (!buffer_map(_metadata, &self->e, &bf, MIGRATE_BUF_ANON_4K, 2UL << 20))
		return;
	for (pass = 1; pass <= NR_PASSES; pass++) {
		move_verify(_metadata, &self->e, &bf, pass, 0, &m);
		check_all_copied(_metadata, &m);
		ASSERT_GT(m.d.dm[DM_COPIED], 0);
	}
	buffer_unmap(&bf);
}

/*
 * Unload and reload dma_migrate 50 times while another process migrates and
 * verifies: each instance is used before it is unloaded, each unload starts
 * as soon as a copy is in flight, and the process's data is verified at the
 * end.  The core logs how many copies each unregistration waited for: at
 * least one unload must have met one.
 */
TEST_F_TIMEOUT(dma_migrate, reload_migrator, RELOAD_BUDGET)
{
	struct dma_env *e = &self->e;
	unsigned long copied;
	int cycle, met, ret;
	bool marked;
	char marker[80];

	marked = !migrate_log_marker(marker, sizeof(marker), "dma_migrate reload test");
	copied = read_vmstat("pgmigrate_offload_copied");
	start_child(_metadata, e, 2UL << 20);
	for (cycle = 0; cycle < CHURN_CYCLES; cycle++) {
		ASSERT_EQ(wait_for_batches(PROGRESS_MS), 0)
			TH_LOG("cycle %d: dma_migrate was not called in %d s", cycle,
			       PROGRESS_MS / 1000);
		wait_for_copy_in_flight(IN_FLIGHT_MS);
		ret = unload("dma_migrate");
		ASSERT_EQ(ret, 0) TH_LOG("cycle %d: unloading dma_migrate failed: %s", cycle,
					 strerror(-ret));
		ASSERT_TRUE(migrator_is("none"));
		check_child_alive(_metadata, e, cycle);
		ASSERT_EQ(load_migrator(e), 0) TH_LOG("cycle %d: %s", cycle, e->err);
		check_child_alive(_metadata, e, cycle);
	}
	ASSERT_EQ(wait_for_batches(PROGRESS_MS), 0);
	stop_child(_metadata, e, cycle);
	copied = read_vmstat("pgmigrate_offload_copied") - copied;
	TH_LOG("%d reloads; the migrating process verified %lu passes", CHURN_CYCLES,
	       e->cs->passes);
	TH_LOG("%lu folios copied by the migrators", copied);
	ASSERT_GT(copied, 0UL);
	met = marked ? migrate_unloads_during_copies(marker, MIGRATOR_NAME) : -1;
	if (met < 0 || migrate_offload_in_flight() < 0) {
		TH_LOG("cannot tell from the kernel log whether an unload met a copy in flight");
		return;
	}
	TH_LOG("%d of %d unloads began while a copy was in flight", met, CHURN_CYCLES);
	ASSERT_GE(met, 1);
}

/*
 * 50 times: load the provider and the migrator, start a migrating process,
 * unbind every provider device while it migrates (queued descriptors are
 * aborted, prep fails from then on).  The provider cannot be unloaded
 * while the migrator holds its channels; migration goes on, on the CPU;
 * the process's data is verified; then both modules unload.
 */
TEST_F_TIMEOUT(dma_migrate, remove_provider, REMOVE_BUDGET)
{
	struct dma_env *e = &self->e;
	char names[8][NAME_MAX + 1];
	unsigned long passes;
	int cycle, n, ret;
	struct counts a, b, d;
	bool snapped;

	ASSERT_EQ(unload("dma_migrate"), 0);
	ASSERT_EQ(unload("test_dma_memcpy"), 0);
	for (cycle = 0; cycle < CHURN_CYCLES; cycle++) {
		ASSERT_EQ(load_provider(e), 0) TH_LOG("cycle %d: %s", cycle, e->err);
		ASSERT_EQ(load_migrator(e), 0) TH_LOG("cycle %d: %s", cycle, e->err);
		check_provider_pinned(_metadata, cycle, "before the unbind");
		start_child(_metadata, e, 1UL << 20);
		ASSERT_EQ(wait_for_batches(PROGRESS_MS), 0)
			TH_LOG("cycle %d: dma_migrate was not called in %d s", cycle,
			       PROGRESS_MS / 1000);
		wait_for_copy_in_flight(IN_FLIGHT_MS);
		snapped = !cycle && !snap(&a);
		n = unbind_providers(names, 8);
		ASSERT_EQ(n, NR_DEFAULT_DEVICES)
			TH_LOG("cycle %d: unbinding the provider's devices: %d (%s)", cycle, n,
			       n < 0 ? strerror(-n) : "devices unbound");
		check_child_alive(_metadata, e, cycle);
		check_provider_pinned(_metadata, cycle, "after the unbind");
		/* A whole pass after the unbind: migration goes on without the engine. */
		passes = child_passes(e);
		ASSERT_EQ(wait_for_passes(e, passes + 2, PROGRESS_MS), 0)
			TH_LOG("cycle %d: no progress after the unbind (%lu passes)", cycle,
			       child_passes(e));
		/* For the log only: what the unbind did to the counters. */
		if (snapped && !snap(&b)) {
			counts_delta(&d, &a, &b);
			log_counts(_metadata, "cycle 0, around the unbind", &d);
		}
		ASSERT_TRUE(migrator_is(MIGRATOR_NAME));
		stop_child(_metadata, e, cycle);
		ret = unload("dma_migrate");
		ASSERT_EQ(ret, 0) TH_LOG("cycle %d: unloading dma_migrate failed: %s", cycle,
					 strerror(-ret));
		ret = unload("test_dma_memcpy");
		ASSERT_EQ(ret, 0) TH_LOG("cycle %d: unloading test_dma_memcpy failed: %s", cycle,
					 strerror(-ret));
	}
	TH_LOG("%d cycles of load, unbind while migrating, unload", CHURN_CYCLES);
}

TEST_HARNESS_MAIN
