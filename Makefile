# SPDX-License-Identifier: GPL-2.0
# Migration copy offload: build, boot and test the series on Debian's
# linux-source-6.12.  See README.md.
#
#   make               install what is missing, prepare the tree, build the
#                      small kernel, boot the NUMA guest, run the demo
#   make check         debug kernel, KUnit + selftests in the guest, static
#                      gates; last line 'N passed, N failed, N skipped'
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
.PHONY: demo check bench series check-series sizes refresh reset-tree prepare deps clean distclean

deps:
	@$(H)/deps.sh

prepare: deps
	@python3 $(H)/tree.py prepare

demo: prepare
	@$(H)/kbuild.sh demo
	@$(H)/initramfs.sh demo
	@$(H)/run-guest.sh demo demo

check: prepare
	@$(H)/check.sh

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
	rm -rf build/demo build/check build/bench build/benchoff

distclean:
	rm -rf build
