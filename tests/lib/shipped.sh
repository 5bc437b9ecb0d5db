# shipped.sh: for the tests whose figures are what a user gets (failover and outage times,
# restarts, check styles): primgr's own timing defaults (refresh_interval 1s, db_timeout 2s,
# stale_after 5s, peer_timeout 500ms; DESIGN.md, primgr.ini(5)) in place of the harness's
# shorter test values, then cluster.sh and haproxy.sh. A test sets a CT_* before sourcing
# this file to change one.
# shellcheck shell=bash source-path=SCRIPTDIR
CT_REFRESH=${CT_REFRESH:-1s}
CT_DB_TIMEOUT=${CT_DB_TIMEOUT:-2s}
CT_STALE_AFTER=${CT_STALE_AFTER:-5s}
CT_PEER_TIMEOUT=${CT_PEER_TIMEOUT:-500ms}
# shellcheck source=../lib/cluster.sh
. "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
# shellcheck source=../lib/haproxy.sh
. "$(dirname "${BASH_SOURCE[0]}")/haproxy.sh"
