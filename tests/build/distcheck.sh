#!/bin/bash
# `make distcheck` from the build tree: the tarball holds everything needed to build and
# pass the unit tests out of tree with a read-only source dir (PRIMGR_TESTS=unit).
set -u
builddir=${top_builddir:-.}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

if [ ! -f "$builddir/Makefile" ]; then
	echo "not ok 1 - make distcheck (no Makefile in $builddir)"
	exit 1
fi
# the unit tests of the tarball all run, whatever filter chose this test
dist_ok=false
if env -u PRIMGR_TEST_FILTER -u PRIMGR_TEST_EXCLUDE make -C "$builddir" distcheck PRIMGR_TESTS=unit \
	>"$log" 2>&1; then
	dist_ok=true
	echo "ok 1 - make distcheck"
	grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 | sed 's/^/# distcheck unit tests: /'
else
	echo "not ok 1 - make distcheck"
	tail -40 "$log" | sed 's/^/# /'
fi

# A target below `all` in a fresh build tree (bench/run.sh makes src/primgr alone):
# BUILT_SOURCES are made for all/check/install only, so the generated header must be a
# prerequisite of its object.
version=$(sed -n 's/^PACKAGE_VERSION = //p' "$builddir/Makefile")
tarball=$builddir/primgr-$version.tar.xz
fresh=$(mktemp -d)
trap 'rm -f "$log"; rm -rf "$fresh"' EXIT
if ! $dist_ok; then
	echo "not ok 2 - a fresh VPATH build makes src/ui.o alone (no tarball: make distcheck failed)"
elif tar -xf "$tarball" -C "$fresh" && mkdir "$fresh/build" &&
	(cd "$fresh/build" && "../primgr-$version/configure" >"$log" 2>&1 &&
		make src/ui.o >>"$log" 2>&1); then
	echo "ok 2 - a fresh VPATH build makes src/ui.o alone (the /ui page is generated first)"
else
	echo "not ok 2 - a fresh VPATH build makes src/ui.o alone (the /ui page is generated first)"
	tail -20 "$log" | sed 's/^/# /'
fi
echo "1..2"
