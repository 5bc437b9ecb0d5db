#!/bin/bash
# install-haproxy.sh: installs the example haproxy configuration without a package manager,
# as the primgr-haproxy package does: each haproxy/*.cfg of the source tree into
# SYSCONFDIR/haproxy/ (an existing file is kept; the shipped one goes beside it as .new).
# haproxy is not reloaded: merge the example into your haproxy.cfg first.
# See common.sh for the options.
INSTALL_NAME=install-haproxy.sh
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
install_parse_options "$@"

n=0
for f in "$srcdir"/haproxy/*.cfg; do
	[ -e "$f" ] || continue
	inst_config "$f" "$sysconfdir/haproxy/${f##*/}"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || die "no haproxy/*.cfg in $srcdir"
echo "$INSTALL_NAME: done; $n example(s) in $sysconfdir/haproxy" >&2
