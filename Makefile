# SPDX-License-Identifier: GPL-2.0
# Migration copy offload: build, boot and test the series on Debian's
# linux-source-6.12.  See README.md.
#
#   make               install what is missing, prepare the tree, build the
#                      small kernel, boot the NUMA guest, run the demo
#   make check         debug kernel, KUnit + selftests in the guest, static
#                      gates; last line 'N passed, N failed, N skipped'.
#                      Both architectures: x86_64 (as above, with the gates),
#                      then arm64 (cross-built, QEMU virt under TCG, MTE): a
#                      4 KB-page debug kernel and a 64 KB-page kernel, each
#                      with its KUnit suites and selftests; one summary per
#                      architecture, then the sum of all as the last line.
#                      ARCHES selects: make check ARCHES=x86_64 (x86 alone,
#                      its output as before), ARCHES=arm64 (both arm64
#                      kernels), ARCHES=arm64-4k or arm64-64k (one of them);
#                      the default is ARCHES="x86_64 arm64"
#   make check-x86_64  make check ARCHES=x86_64
#   make check-arm64   make check ARCHES=arm64
#   make series        git format-patch series + cover letter in build/series/patches,
#                      from and signed off by your git identity (user.name, user.email)
#   make check-series  every patch applies in order and builds (runs make series:
#                      needs a git identity)
#   make sizes         text/data of migrate.o and vmlinux: upstream, option off, on
#                      (runs make series: needs a git identity)
#   make bench         non-debug kernels with the option on and off, migrate_bench
#                      in the guest; build/bench/results.md and bench.png
#   make refresh       write edits made in the prepared tree back to patches/
#   make reset-tree    drop edits made in the prepared tree
#   make clean         remove guest artifacts; distclean removes all of build/

H := harness
.DEFAULT_GOAL := demo
.PHONY: demo check check-x86_64 check-arm64 bench series check-series sizes refresh reset-tree prepare deps clean distclean

# The architectures of make check; deps installs what they need (the arm64
# packages of harness/packages.arm64 only when arm64 is among them).
ARCHES ?= x86_64 arm64
DEPS_ARCHES = x86_64
check: DEPS_ARCHES = $(ARCHES)

deps:
	@$(H)/deps.sh $(DEPS_ARCHES)

prepare: deps
	@python3 $(H)/tree.py prepare

demo: prepare
	@$(H)/kbuild.sh demo
	@$(H)/initramfs.sh demo
	@$(H)/run-guest.sh demo demo

check: prepare
	@ARCHES="$(ARCHES)" $(H)/check.sh

check-x86_64:
	@$(MAKE) --no-print-directory check ARCHES=x86_64

check-arm64:
	@$(MAKE) --no-print-directory check ARCHES=arm64

bench: prepare
	@$(H)/bench.sh

series: prepare
	@python3 $(H)/series.py write

check-series: series
	@$(H)/check-series.sh

sizes: series
	@$(H)/sizes.sh

refresh:
	@python3 $(H)/tree.py refresh

reset-tree:
	@python3 $(H)/tree.py reset

clean:
	rm -rf build/demo build/check build/check-arm64 build/check-arm64-64k build/bench build/benchoff

distclean:
	rm -rf build
