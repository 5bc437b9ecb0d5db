# shellcheck shell=bash disable=SC2034
# (SC2034: the variables set here are read by the scripts that source this file)
# tests/lib/netns.sh: a tests/lib/cluster.sh cluster whose nodes each live in a network
# namespace of their own, with an address of their own on a bridge, and real network faults
# between them (nftables rules that drop packets silently, so a connect hangs as on a real
# network). Needs root, iproute2 (ip netns, veth, bridge) and nftables (nft); the daemons
# still run as postgres (runuser). Source it after cluster.sh (and haproxy.sh):
#
#   . "$top_srcdir/tests/lib/cluster.sh"
#   . "$top_srcdir/tests/lib/netns.sh"
#   netns_usable || skip_all "$NETNS_WHY"
#   netns_enter "$0" "$@"      # see below; from here on the script runs in the hub namespace
#   cluster_init 3 && primgr_start_all && ha_start     # as on loopback
#   isolate_from_peers 1; ...; heal
#
# Layout (P = a per-run prefix, "pgm<pid>", so that two runs never share a name):
#   ${P}h        the hub namespace: the bridge ${P}br with 198.18.0.2/24, and everything that is
#                not a node: the test script itself, haproxy, the writer, the poller, curl
#   ${P}n<i>     node i's namespace (i = 1..NETNS_NODES, default 4: three data nodes and a
#                witness): veth ${P}e<i> with 198.18.0.1<i>/24 (NODE_HOST[i]), whose peer
#                ${P}v<i> is a port of the bridge; its PostgreSQL, repmgr commands and primgr
# The addresses come from 198.18.0.0/24 (RFC 2544, benchmarking) and exist only inside these
# namespaces: nothing is created in the root namespace, so the host's own network (and other
# runs, whose namespaces hold the same addresses) is never touched.
#
# netns_enter SCRIPT ARGS... (the outer run): creates the namespaces, the bridge and the
# veths, runs `bash SCRIPT ARGS...` again inside the hub namespace, and when it ends (or on
# INT/TERM, which it passes on) ends whatever is left in the namespaces and deletes them,
# then exits with the inner run's status. In the inner run (PGM_NETNS is set) it returns at
# once, with NODE_HOST, NODE_NS and CT_HBA_NET set and every command of cluster.sh that names a
# node's directory (pg_ctl -D, repmgr -f, primgr -c, psql -h) run in that node's namespace
# (ct_prefix). Nodes are addressed by index as in cluster.sh; "hub" is the hub namespace.
#
# Faults (nftables, table inet pgm, chain "in" of the receiving namespace; each call replaces
# the rules of the namespaces it changes in one transaction, one `nft -f` per namespace;
# every drop is tagged with NETNS_TAG, default "fault", so that one cut can be healed while
# another stays). NETNS_CUT_MS is when the nft command that completes the cut had returned
# (the cut is in force from then on); it came into force at the earliest at
# NETNS_CUT_FROM_MS, when that command started (some 50-300 ms earlier on a loaded machine):
#   partition A B           nothing passes between A and B, either way
#   partition_oneway A B    packets from A to B are lost (B's replies to A still pass, but
#                           a TCP connection either way needs both, so it hangs)
#   isolate A               A is cut from every node and from the hub (haproxy, clients)
#   isolate_from_peers A    A is cut from every other node; the hub still reaches it
#   heal [TAG]              every drop gone (with TAG: only the drops made under that tag
#                           and under no other)
#   netns_rules             the drops in force, "receiver<-source" words (for diag)
#   node_exec I CMD...      CMD as root in node I's namespace (hub: the hub's)

NETNS_NODES=${NETNS_NODES:-4}
NETNS_NET=198.18.0
NETNS_HUB_HOST=$NETNS_NET.2
NETNS_WHY=
NETNS_CUT_MS=0
NETNS_CUT_FROM_MS=0
NETNS_T0=0 # the last netns_drop's nft command: started / returned
NETNS_T1=0
declare -a NODE_NS
NETNS_TAG=fault
declare -A NETNS_DROP # "receiver source" -> " tag tag "; source "*" = everything but lo

# netns_host I|hub: the address of node I (or of the hub).
netns_host() {
	if [ "$1" = hub ]; then echo "$NETNS_HUB_HOST"; else echo "$NETNS_NET.$((10 + $1))"; fi
}

# netns_usable: root, ip and nft present, and a namespace with an nft table can be made here
# (sets NETNS_WHY when not).
netns_usable() {
	local t
	if [ "$(id -u)" -ne 0 ]; then
		NETNS_WHY="network namespaces need root"
		return 1
	fi
	if ! command -v ip >/dev/null 2>&1 || ! command -v nft >/dev/null 2>&1; then
		NETNS_WHY="missing program(s): ip (iproute2) and nft (nftables)"
		return 1
	fi
	[ -n "${PGM_NETNS:-}" ] && return 0
	t=pgm$$t
	if ! ip netns add "$t" 2>/dev/null; then
		NETNS_WHY="ip netns add does not work here"
		return 1
	fi
	if ! ip netns exec "$t" nft add table inet pgm 2>/dev/null; then
		ip netns del "$t" 2>/dev/null
		NETNS_WHY="nft does not work in a network namespace here"
		return 1
	fi
	ip netns del "$t"
}

# --- the outer run ---------------------------------------------------------------------------

NETNS_P=
NETNS_CREATED=()
NETNS_CHILD=

# netns_setup: the namespaces, the bridge, the veths and an empty nft table in each.
netns_setup() {
	local p=pgm$$ i ns
	# a leftover of a killed run with the same pid: another name
	ip netns list 2>/dev/null | grep -q "^${p}h\b" && p=pgm$((RANDOM % 90000 + 10000))x
	NETNS_P=$p
	for ns in "${p}h" $(for ((i = 1; i <= NETNS_NODES; i++)); do echo "${p}n$i"; done); do
		ip netns add "$ns" || return 1
		NETNS_CREATED+=("$ns")
		ip -n "$ns" link set lo up || return 1
		ip netns exec "$ns" nft -f - <<-EOF || return 1
			table inet pgm {
				chain in { type filter hook input priority 0; policy accept; }
			}
		EOF
	done
	ip -n "${p}h" link add "${p}br" type bridge forward_delay 0 &&
		ip -n "${p}h" addr add "$NETNS_HUB_HOST/24" dev "${p}br" &&
		ip -n "${p}h" link set "${p}br" up || return 1
	for ((i = 1; i <= NETNS_NODES; i++)); do
		ip -n "${p}h" link add "${p}v$i" type veth peer name "${p}e$i" netns "${p}n$i" &&
			ip -n "${p}h" link set "${p}v$i" master "${p}br" up &&
			ip -n "${p}n$i" addr add "$(netns_host "$i")/24" dev "${p}e$i" &&
			ip -n "${p}n$i" link set "${p}e$i" up || return 1
	done
}

# netns_teardown: ends what still runs in our namespaces (the inner run stops what it
# started; this catches what a killed inner run left), then deletes them, and with them
# the bridge, the veths and the rules.
netns_teardown() {
	local ns pids=() p n alive
	for ns in "${NETNS_CREATED[@]}"; do
		mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$ns" 2>/dev/null)
	done
	if [ ${#pids[@]} -gt 0 ]; then
		echo "# netns: ${#pids[@]} process(es) left in the namespaces, ended:" \
			"$(for p in "${pids[@]}"; do printf '%s(%s) ' "$p" "$(cat "/proc/$p/comm" 2>/dev/null)"; done)" >&2
		for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
		for ((n = 0; n < 50; n++)); do
			alive=0
			for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
			[ "$alive" = 0 ] && break
			sleep 0.1
		done
		for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	fi
	for ns in "${NETNS_CREATED[@]}"; do ip netns del "$ns" 2>/dev/null; done
	NETNS_CREATED=()
}

# netns_signal SIG: passes INT/TERM on to the inner run and waits for it (it cleans up its
# cluster), then exits; the EXIT trap deletes the namespaces.
netns_signal() {
	local n
	if [ -n "$NETNS_CHILD" ]; then
		kill -"$1" "$NETNS_CHILD" 2>/dev/null
		for ((n = 0; n < 600; n++)); do
			kill -0 "$NETNS_CHILD" 2>/dev/null || break
			sleep 0.1
		done
	fi
	[ "$1" = INT ] && exit 130
	exit 143
}

netns_enter() {
	local script=$1 rc
	shift
	if [ -n "${PGM_NETNS:-}" ]; then
		netns_inner
		return 0
	fi
	netns_usable || { echo "netns: $NETNS_WHY" >&2; exit 77; }
	trap netns_teardown EXIT
	trap 'netns_signal INT' INT
	trap 'netns_signal TERM' TERM
	netns_setup || { echo "netns: the namespaces could not be set up" >&2; exit 1; }
	PGM_NETNS=$NETNS_P NETNS_NODES=$NETNS_NODES ip netns exec "${NETNS_P}h" bash "$script" "$@" &
	NETNS_CHILD=$!
	wait "$NETNS_CHILD"
	rc=$?
	NETNS_CHILD=
	exit "$rc"
}

# --- the inner run ---------------------------------------------------------------------------

netns_inner() {
	local i
	NETNS_P=$PGM_NETNS
	for ((i = 1; i <= NETNS_NODES; i++)); do
		NODE_NS[i]=${NETNS_P}n$i
		NODE_HOST[i]=$(netns_host "$i")
	done
	CT_HBA_NET=$NETNS_NET.0/24
}

# ct_prefix CMD... (replaces cluster.sh's): a command that names node i's directory runs in
# node i's namespace; any other in the hub's (where the script runs).
ct_prefix() {
	local a i
	CT_PREFIX=()
	[ -n "${PGM_NETNS:-}" ] && [ -n "$CT_DIR" ] || return 0
	for a in "$@"; do
		case "$a" in "$CT_DIR"/node[0-9]*) ;; *) continue ;; esac
		i=${a#"$CT_DIR"/node}
		i=${i%%/*}
		if ! [[ "$i" =~ ^[0-9]+$ ]] || [ -z "${NODE_NS[i]:-}" ]; then continue; fi
		CT_PREFIX=(ip netns exec "${NODE_NS[i]}")
		return 0
	done
}

# node_ns I|hub: the namespace's name.
node_ns() {
	if [ "$1" = hub ]; then echo "${NETNS_P}h"; else echo "${NODE_NS[$1]}"; fi
}

node_exec() {
	local ns
	ns=$(node_ns "$1")
	shift
	ip netns exec "$ns" "$@"
}

# netns_render RECEIVER...: replaces the "in" chain of each receiver's namespace with the
# drops of NETNS_DROP, in one nft transaction per namespace.
netns_render() {
	local r k rules
	for r in "$@"; do
		rules="flush chain inet pgm in"$'\n'"add rule inet pgm in iifname \"lo\" accept"
		for k in "${!NETNS_DROP[@]}"; do
			[ "${k%% *}" = "$r" ] || continue
			if [ "${k#* }" = "*" ]; then
				rules+=$'\n'"add rule inet pgm in drop"
			else
				rules+=$'\n'"add rule inet pgm in ip saddr $(netns_host "${k#* }") drop"
			fi
		done
		node_exec "$r" nft -f - <<<"$rules" || { diag "nft in $(node_ns "$r") failed"; return 1; }
	done
}

# netns_drop RECEIVER SOURCE...: adds drops (SOURCE "*": everything), renders RECEIVER
# (NETNS_T0 / NETNS_T1: when its nft command started / returned).
netns_drop() {
	local r=$1 s rc
	shift
	for s in "$@"; do
		case "${NETNS_DROP["$r $s"]:-}" in *" $NETNS_TAG "*) ;; *) NETNS_DROP["$r $s"]="${NETNS_DROP["$r $s"]:- }$NETNS_TAG " ;; esac
	done
	NETNS_T0=$(now_ms)
	netns_render "$r"
	rc=$?
	NETNS_T1=$(now_ms)
	return $rc
}

# netns_cut_done: the last netns_drop completed the cut.
netns_cut_done() { NETNS_CUT_FROM_MS=$NETNS_T0 NETNS_CUT_MS=$NETNS_T1; }

# The other nodes (all of the harness's, witness included).
netns_others() {
	local k
	for k in $(all_nodes); do [ "$k" = "$1" ] || echo "$k"; done
}

# (TCP needs both ways: once A hears nothing from B, no connection between them works)
partition() {
	netns_drop "$1" "$2" || return 1
	netns_cut_done
	netns_drop "$2" "$1"
}

partition_oneway() {
	netns_drop "$2" "$1" && netns_cut_done
}

isolate_from_peers() {
	local a=$1 k others
	mapfile -t others < <(netns_others "$a")
	# the node itself first: from then on none of its peers' packets reach it
	netns_drop "$a" "${others[@]}" || return 1
	netns_cut_done
	for k in $(netns_others "$a"); do netns_drop "$k" "$a" || return 1; done
}

isolate() {
	local a=$1 k
	netns_drop "$a" "*" || return 1
	netns_cut_done
	for k in $(netns_others "$a") hub; do netns_drop "$k" "$a" || return 1; done
}

# heal [TAG]
heal() {
	local k changed=() r v
	declare -A touched=()
	for k in "${!NETNS_DROP[@]}"; do
		v=${NETNS_DROP[$k]}
		if [ $# -eq 0 ]; then
			v=" "
		else
			v=${v/ $1 / }
			[ "$v" != "${NETNS_DROP[$k]}" ] || continue
		fi
		if [ "$v" = " " ]; then unset 'NETNS_DROP[$k]'; else NETNS_DROP[$k]=$v; fi
		r=${k%% *}
		[ -n "${touched[$r]:-}" ] || { touched[$r]=1; changed+=("$r"); }
	done
	[ ${#changed[@]} -eq 0 ] || netns_render "${changed[@]}"
}

netns_rules() {
	local k
	for k in "${!NETNS_DROP[@]}"; do echo "${k%% *}<-${k#* }"; done | sort | tr '\n' ' ' | sed 's/ $//'
}
