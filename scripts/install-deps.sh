#!/bin/sh
# Installs everything primgr needs to build, run its demo and run every test on
# Debian 12 (as root). Safe to run again.
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: run as root (apt-get)" >&2
	exit 1
fi

BUILD="build-essential autoconf automake pkg-config libpq-dev libcurl4-openssl-dev libssl-dev libev-dev libjansson-dev"
RUN="postgresql-15 postgresql-15-repmgr haproxy curl"
TEST="mandoc jq netcat-openbsd shellcheck procps psmisc iproute2 nftables util-linux prometheus valgrind python3 openssl"
# tests/integration/monitoring.sh: yq reads the alert rules (promtool comes with prometheus)
TEST="$TEST yq"
# tests/integration/ui.sh: the status page in a headless browser; tests/chaos/plot.sh and
# bench/chart.sh: the timelines and the bench chart
TEST="$TEST chromium fonts-dejavu-core gnuplot-nox"
# tests/build/packaging.sh: rpmbuild, dpkg-buildpackage + dh, ansible-playbook, systemd-analyze
PACKAGING="rpm debhelper ansible-core systemd"
# tests/build/fuzz.sh: libFuzzer (clang with its runtime)
FUZZ="clang libclang-rt-14-dev"
# bench/run.sh and tests/build/bench_smoke.sh: load generator and the nginx baseline
BENCH="wrk nginx-light"

missing=""
for p in $BUILD $RUN $TEST $PACKAGING $FUZZ $BENCH ${PRIMGR_EXTRA_DEPS:-}; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps.sh: everything is installed"
	exit 0
fi
echo "install-deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
