#!/bin/bash
# shellcheck disable=SC2016,SC2034 # single-quoted strings are eval-ed; NODE_* are the harness's
# primgr under valgrind memcheck (--leak-check=full --error-exitcode=99) on a real two-node
# repmgr cluster: every HTTP endpoint and method, bad requests, keep-alive and pipelining,
# both agent roles, the TLS listener (mutual TLS, keep-alive, a client without a
# certificate, plain HTTP and garbage on it, a certificate reload and a bad one) and the
# allowlist, ctl drain/ready, a SIGHUP reload, a database stop/start, a failover and
# a rejoin (so node1 runs as Primary, Down and Standby), then SIGTERM. Asserts: a clean exit,
# no invalid reads/writes/frees, no uninitialised values, no definite leaks.
# node2's primgr runs natively (a real peer); only processes started here are killed.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
# valgrind slows primgr down some 20-50 times: give every step more time.
CT_REFRESH=1s CT_DB_TIMEOUT=2s CT_STALE_AFTER=8s CT_PEER_TIMEOUT=2s HTTP_TIMEOUT=10
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh
. "$top_srcdir/tests/lib/cluster.sh"

cluster_require valgrind
primgr_require

cluster_init 2 || bail_out "cluster_init 2"
d1=$(node_dir 1)
VG_LOG=$d1/valgrind.log

# node1's TLS listener: a CA, a server certificate for 127.0.0.1, a client certificate,
# and a second server certificate for the reload.
T=$CT_DIR/tls
mkdir -p "$T"
tls_make() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=vg ca" -keyout "$T/ca.key" -out "$T/ca.crt" || return 1
	for n in server server2 client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$n" \
			-keyout "$T/$n.key" -out "$T/$n.csr" &&
			echo "subjectAltName=IP:127.0.0.1" >"$T/$n.ext" &&
			openssl x509 -req -in "$T/$n.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" \
				-CAcreateserial -days 2 -extfile "$T/$n.ext" -out "$T/$n.crt" || return 1
	done
	cp "$T/server.crt" "$T/live.crt" && cp "$T/server.key" "$T/live.key"
} >>"$CT_DIR/commands.log" 2>&1
tls_make || bail_out "openssl: test certificates"
chown -R postgres:postgres "$T" 2>/dev/null
TLS_PORT=$(ct_free_port)
TLS_KEYS=("http.tls_listen=127.0.0.1:$TLS_PORT" "http.tls_cert_file=$T/live.crt"
	"http.tls_key_file=$T/live.key" "http.tls_client_ca_file=$T/ca.crt"
	"http.allow=127.0.0.1, ::1")

# vg_start: node1's primgr under valgrind, as postgres; VG_JOB is our child (runuser or
# valgrind), whose exit status is the daemon's; NODE_PRIMGR_PID[1] the daemon itself.
vg_start() {
	primgr_ini 1 consensus.peer_connect_timeout=1s log.level=debug "${TLS_KEYS[@]}"
	rm -f "$d1/primgr.pid"
	(
		cd "$CT_DIR" || exit 1
		unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
		set -- valgrind --leak-check=full --error-exitcode=99 --track-fds=no \
			--log-file="$VG_LOG" "$CT_DIR/bin/primgr" -f -c "$d1/primgr.ini" \
			--pidfile "$d1/primgr.pid"
		if $CT_IS_ROOT; then exec runuser -u postgres -- "$@"; else exec "$@"; fi
	) >>"$d1/primgr.log" 2>&1 </dev/null &
	VG_JOB=$!
	wait_for 60 test -s "$d1/primgr.pid" || return 1
	NODE_PRIMGR_PID[1]=$(cat "$d1/primgr.pid")
	ct_track "${NODE_PRIMGR_PID[1]}"
	wait_for 60 primgr_answers 1
}

primgr_start 2 || bail_out "primgr on node2"
vg_start || bail_out "primgr under valgrind on node1 (log: $(tail -n 3 "$d1/primgr.log"))"
is_eventually 120 200 "node1 under valgrind is Primary (200) after {ms} ms" http_code 1 /state

url=http://127.0.0.1:${NODE_HTTP[1]}
codes=
for p in /state /primary /realPrimary /replica /health /cluster /metrics /nope; do
	codes="$codes $(http_code 1 "$p")"
done
is "${codes# }" "200 200 200 503 200 200 200 404" "every endpoint answers (/state .. /metrics, 404)"
hc() { curl -s --noproxy '*' -m 10 -o /dev/null -w '%{http_code}' "$@"; }
is "$(hc -I "$url/state") $(hc -X OPTIONS "$url/") $(hc -X POST -d x "$url/state") $(hc -X DELETE "$url/cluster")" \
	"200 200 405 405" "HEAD, OPTIONS, POST and DELETE"
big=$(head -c 9000 /dev/zero | tr '\0' a)
is "$(hc -H "X-Big: $big" "$url/state") $(hc --http1.0 "$url/state") $(hc "$url/$(head -c 2000 /dev/zero | tr '\0' p)")" \
	"431 200 414" "an oversized head, HTTP/1.0, a long path"
raw() {
	timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; printf "$2" >&3; cat <&3' \
		_ "${NODE_HTTP[1]}" "$1" 2>/dev/null | grep -a -o 'HTTP/1\.[01] [0-9][0-9][0-9]' | wc -l
}
is "$(raw 'GARBAGE\r\n\r\n')" 1 "garbage gets one answer"
is "$(raw 'GET /state HTTP/1.1\r\n\r\nGET /cluster HTTP/1.1\r\n\r\nGET /realPrimary HTTP/1.1\r\n\r\nGET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n')" \
	4 "four pipelined requests (one /realPrimary) on one connection get four answers"
is "$(raw 'POST /state HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello')" 1 "a request with a body"
is "$(curl -s --noproxy '*' -m 20 -w '%{http_code}/%{num_connects} ' -o /dev/null "$url/state" \
	-o /dev/null "$url/primary" -o /dev/null "$url/realPrimary" -o /dev/null "$url/cluster")" \
	"200/1 200/0 200/0 200/0 " "keep-alive: four requests on one connection"
# TLS: mutual TLS with keep-alive, a client without a certificate, plain HTTP, garbage and
# a stalled handshake on the TLS port, a client outside the allowlist
turl=https://127.0.0.1:$TLS_PORT
tc() { curl -s --noproxy '*' -m 20 --cacert "$T/ca.crt" "$@"; }
is "$(tc --cert "$T/client.crt" --key "$T/client.key" -w '%{http_code}/%{num_connects} ' \
	-o /dev/null "$turl/state" -o /dev/null "$turl/cluster" -o /dev/null "$turl/realPrimary" \
	-o /dev/null "$turl/metrics")" "200/1 200/0 200/0 200/0 " "TLS: four requests on one connection"
is "$(tc -o /dev/null -w '%{http_code}' "$turl/state")" 000 "TLS: no client certificate, no answer"
tls_raw() {
	timeout 15 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; printf "$2" >&3; cat <&3' \
		_ "$TLS_PORT" "$1" 2>/dev/null | grep -a -c 'HTTP/1'
}
is "$(tls_raw 'GET /state HTTP/1.1\r\n\r\n') $(tls_raw '\x16\x03\x01\x00\x05garbage')" "0 0" \
	"TLS: plain HTTP and garbage get no HTTP answer"
( exec 3<>"/dev/tcp/127.0.0.1/$TLS_PORT" && printf '\x16\x03\x01\x02\x00\x01' >&3 && sleep 7 ) 2>/dev/null &
CT_BG_PIDS+=("$!")
is "$(curl -s --noproxy '*' -m 10 -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "$url/health")" \
	000 "allow: a client from 127.0.0.2 gets no answer"
cp "$T/server2.crt" "$T/live.crt" && cp "$T/server2.key" "$T/live.key"
kill -HUP "$(primgr_pid 1)"
fp() { openssl x509 -noout -fingerprint -sha256 2>/dev/null; }
served() {
	timeout 20 openssl s_client -connect "127.0.0.1:$TLS_PORT" -cert "$T/client.crt" \
		-key "$T/client.key" </dev/null 2>/dev/null | fp
}
is_eventually 60 "$(fp <"$T/server2.crt")" "TLS: SIGHUP loads the new certificate" served
echo garbage >"$T/live.crt"
kill -HUP "$(primgr_pid 1)"
eventually 60 "TLS: a bad certificate file is refused" grep -q "reload refused.*tls_cert_file" "$d1/primgr.log"
cp "$T/server2.crt" "$T/live.crt"

# a client that sends half a head and waits: cut by client_timeout (5s default)
( exec 3<>"/dev/tcp/127.0.0.1/${NODE_HTTP[1]}" && printf 'GET /sta' >&3 && sleep 7 ) 2>/dev/null &
slow=$!
CT_BG_PIDS+=("$slow")
# reset in the middle of a /realPrimary wait
curl -s --noproxy '*' -m 0.05 "$url/realPrimary" >/dev/null 2>&1
is "$(agent_get 1 primary) / $(agent_get 1 replica)" "up / down #primary" "agent: both roles"
ctl() { as_pg "$CT_DIR/bin/primgr" ctl "$1" -c "$d1/primgr.ini" >>"$CT_DIR/commands.log" 2>&1; }
ctl drain
is_eventually 60 drain "primgr ctl drain -> agent drain ({ms} ms)" agent_get 1
ctl ready
is_eventually 60 "up ready" "primgr ctl ready -> agent up ready" agent_get 1
primgr_ini 1 consensus.peer_connect_timeout=1s log.level=info replica.max_lag=40s "${TLS_KEYS[@]}"
kill -HUP "$(primgr_pid 1)"
eventually 60 "SIGHUP reload (logged the change)" grep -q max_lag "$d1/primgr.log"
wait "$slow" 2>/dev/null

node_stop 1 fast || bail_out "stop node1's database"
is_eventually 90 503 "database stopped: node1 Down (503) in {ms} ms" http_code 1 /state
codes=
for p in /state /primary /realPrimary /replica /cluster /metrics; do codes="$codes $(http_code 1 "$p")"; done
diag "while Down:$codes"
node_start 1 || bail_out "start node1's database"
is_eventually 90 200 "database started: node1 Primary (200) again in {ms} ms" http_code 1 /state

# Two nodes, quorum 2: with node1 down nobody is Primary; node1 asks node2 from the
# topology cache.
failover_to 2 || bail_out "failover to node2"
is_eventually 90 503 "after the failover node1 (database down) is Down (503)" http_code 1 /state
is "$(http_code 1 /realPrimary) $(http_json 1 /realPrimary '.candidates | length')" "503 0" \
	"... and its /realPrimary (from the topology cache) finds no agreed primary: 503"
node_rejoin 1 2 || bail_out "rejoin node1"
is_eventually 90 202 "rejoined: node1 Standby (202) in {ms} ms" http_code 1 /state
codes=
for p in /state /primary /realPrimary /replica /cluster /metrics; do codes="$codes $(http_code 1 "$p")"; done
diag "as Standby:$codes"
agent_get 1 replica >/dev/null

# SIGTERM and the verdict of valgrind
kill -TERM "$(primgr_pid 1)"
rc=
for _ in $(seq 1 600); do
	if ! kill -0 "$VG_JOB" 2>/dev/null; then
		wait "$VG_JOB"
		rc=$?
		break
	fi
	sleep 0.1
done
NODE_PRIMGR_PID[1]=
is "${rc:-still running}" 0 "SIGTERM: primgr under valgrind exits 0 (99 = valgrind found errors)"
summary=$(grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|All heap blocks' "$VG_LOG")
diag "$summary"
bad=$(grep -E -c 'Invalid (read|write|free)|uninitialised|Mismatched free|Syscall param|overlap' "$VG_LOG")
is "$bad" 0 "no invalid accesses, frees or uses of uninitialised values"
check "no definite leaks" \
	eval 'grep -q "All heap blocks were freed" "$VG_LOG" || grep -q "definitely lost: 0 bytes in 0 blocks" "$VG_LOG"'
check "valgrind: ERROR SUMMARY: 0 errors" grep -q 'ERROR SUMMARY: 0 errors' "$VG_LOG"
if [ "$TAP_FAILED" -gt 0 ]; then
	diag "valgrind log (head):"
	head -n 80 "$VG_LOG" | sed 's/^/  /' | while IFS= read -r l; do diag "$l"; done
fi
tap_done
