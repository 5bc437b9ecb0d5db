#!/bin/bash
# Issue 17, "What it must show": primgr's own TLS listener, mutual TLS between the peers, the
# certificate reload and the allowlist, on one real 3-node cluster whose peers vote only
# over https:// (every [peers] URL is the node's tls_listen, client certificates required):
#   [a] healthy   [b] a peer with a certificate from another CA   [c] plain HTTP, a stalled
#   handshake and garbage on the TLS port   [d] certificate replaced + SIGHUP, and a bad one
#   [e] the allowlist   [f] haproxy check-ssl   [a] failover and split brain (the end: the
#   split primary is not rejoined)
# Certificates are made here with openssl, in the temp dir.
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh disable=SC2016,SC2119,SC2034
# (SC2016: single-quoted strings given to eval expand when evaluated; SC2034: variables read
# there or by the harness (HA_PID); SC2119: the harness
# functions take optional arguments, not the script's)
. "$(dirname "$0")/../lib/cluster.sh"

cluster_require openssl haproxy
primgr_require

CLIENT_TIMEOUT_MS=2000

# --- certificates ----------------------------------------------------------------------------
# A CA, one certificate per node (server and client, IP 127.0.0.1 as the peers' URLs name
# them), a second certificate for node1 (the rotation), and another CA with a node3
# certificate (the impostor). Each key is its own EC P-256 key.
TLS=
# mkca NAME: NAME.crt and NAME.key, a self-signed CA.
mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=primgr test $1" -keyout "$TLS/$1.key" -out "$TLS/$1.crt" 2>>"$TLS/openssl.log"
}
# mkcert NAME CA: NAME.crt and NAME.key signed by CA, for 127.0.0.1 and localhost.
mkcert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
		-keyout "$TLS/$1.key" -out "$TLS/$1.csr" 2>>"$TLS/openssl.log" &&
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' \
			>"$TLS/$1.ext" &&
		openssl x509 -req -in "$TLS/$1.csr" -CA "$TLS/$2.crt" -CAkey "$TLS/$2.key" \
			-CAcreateserial -days 2 -extfile "$TLS/$1.ext" -out "$TLS/$1.crt" 2>>"$TLS/openssl.log"
}
# fingerprint FILE: the SHA-256 fingerprint of a PEM certificate.
fingerprint() { openssl x509 -noout -fingerprint -sha256 -in "$1" 2>/dev/null | sed 's/.*=//'; }

# --- clients ---------------------------------------------------------------------------------
declare -a NODE_TLS
tls_url() { echo "https://127.0.0.1:${NODE_TLS[$1]}"; }
# https_code I PATH [CERT]: the status over TLS with CERT's certificate and key (default:
# client), 000 when the handshake or the request failed.
https_code() {
	curl -s --noproxy '*' -o /dev/null --connect-timeout 1 -m 2 -w '%{http_code}' \
		--cacert "$TLS/ca.crt" --cert "$TLS/${3:-client}.crt" --key "$TLS/${3:-client}.key" \
		"$(tls_url "$1")$2" 2>/dev/null
}
https_json() {
	curl -s --noproxy '*' --connect-timeout 1 -m 2 --cacert "$TLS/ca.crt" \
		--cert "$TLS/client.crt" --key "$TLS/client.key" "$(tls_url "$1")$2" 2>/dev/null |
		jq -r "$3" 2>/dev/null
}
# https_time_ms I PATH: "ANSWER HANDSHAKE" over a new TLS connection, in ms: from the request
# to the whole reply, and the handshake (its time is mostly the client's own crypto, which a
# loaded machine makes slow: shown, not judged).
https_time_ms() {
	curl -s --noproxy '*' -o /dev/null --connect-timeout 1 -m 2 \
		-w '%{time_total} %{time_appconnect} %{time_connect}' \
		--cacert "$TLS/ca.crt" --cert "$TLS/client.crt" --key "$TLS/client.key" \
		"$(tls_url "$1")$2" 2>/dev/null |
		awk 'NF == 3 { printf "%d %d", ($1 - $2) * 1000, ($2 - $3) * 1000 }'
}
# served_fingerprint I: the certificate node I's TLS listener shows a new connection.
served_fingerprint() {
	timeout 5 openssl s_client -connect "127.0.0.1:${NODE_TLS[$1]}" -cert "$TLS/client.crt" \
		-key "$TLS/client.key" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//'
}
metric() {
	curl -s --noproxy '*' -m 2 "http://127.0.0.1:${NODE_HTTP[$1]}/metrics" 2>/dev/null |
		awk -v m="primgr_$2" '$1 == m { print $2 }'
}

# primgr_start_tls I [CERT] [KEY=VALUE...]: primgr on node I with its TLS listener (CERT's
# certificate for both sides; default nodeI) and every peer asked at its https:// URL.
primgr_start_tls() {
	local i=$1 cert=${2:-node$1} k peers=()
	shift
	[ $# -gt 0 ] && shift
	for k in $(all_nodes); do peers+=("peers.${NODE_NAME[k]}=$(tls_url "$k")"); done
	primgr_start "$i" "${peers[@]}" \
		"http.tls_listen=127.0.0.1:${NODE_TLS[i]}" \
		"http.tls_cert_file=$TLS/live$i.crt" "http.tls_key_file=$TLS/live$i.key" \
		"http.tls_client_ca_file=$TLS/ca.crt" \
		"consensus.peer_ca_file=$TLS/ca.crt" \
		"consensus.peer_cert=$TLS/$cert.crt" "consensus.peer_key=$TLS/$cert.key" \
		"server.client_timeout=${CLIENT_TIMEOUT_MS}ms" "$@"
}
# reload I [KEY=VALUE...]: node I's INI written again (as primgr_start_tls would) and SIGHUP.
reload() {
	local i=$1 k peers=()
	shift
	for k in $(all_nodes); do peers+=("peers.${NODE_NAME[k]}=$(tls_url "$k")"); done
	primgr_ini "$i" "${peers[@]}" \
		"http.tls_listen=127.0.0.1:${NODE_TLS[i]}" \
		"http.tls_cert_file=$TLS/live$i.crt" "http.tls_key_file=$TLS/live$i.key" \
		"http.tls_client_ca_file=$TLS/ca.crt" \
		"consensus.peer_ca_file=$TLS/ca.crt" \
		"consensus.peer_cert=$TLS/node$i.crt" "consensus.peer_key=$TLS/node$i.key" \
		"server.client_timeout=${CLIENT_TIMEOUT_MS}ms" "$@"
	kill -HUP "$(primgr_pid "$i")"
}
# install_cert I NAME: node I's listener files become NAME's certificate and key.
install_cert() {
	cp "$TLS/$2.key" "$TLS/live$1.key.tmp" && cp "$TLS/$2.crt" "$TLS/live$1.crt.tmp" &&
		ct_own "$TLS/live$1.key.tmp" "$TLS/live$1.crt.tmp" &&
		mv "$TLS/live$1.key.tmp" "$TLS/live$1.key" && mv "$TLS/live$1.crt.tmp" "$TLS/live$1.crt"
}
log_count() { grep -c -- "$2" "$(node_dir "$1")/primgr.log"; }

cluster_init 3 || bail_out "cluster_init 3"
TLS=$CT_DIR/tls
mkdir -p "$TLS"
{ mkca ca && mkca otherca && mkcert node1 ca && mkcert node2 ca && mkcert node3 ca &&
	mkcert node1b ca && mkcert client ca && mkcert impostor3 otherca; } ||
	bail_out "openssl: cannot make the test certificates ($(tail -n 3 "$TLS/openssl.log"))"
cat "$TLS/client.crt" "$TLS/client.key" >"$TLS/client.pem"
for i in 1 2 3; do install_cert "$i" "node$i" || bail_out "install node$i's certificate"; done
chown -R postgres:postgres "$TLS" 2>/dev/null
chmod 600 "$TLS"/*.key
for i in 1 2 3; do NODE_TLS[i]=$(ct_free_port); done
for i in 1 2 3; do primgr_start_tls "$i" || bail_out "primgr with TLS on node$i"; done
ok "primgr runs on node1..node3, peers asked over mutual TLS only"

# --- [a] healthy ------------------------------------------------------------------------------
is_eventually 30 "200 202 202" "[a] /state: node1 200, node2 and node3 202 ({ms} ms)" states 1 2 3
is "$(votes_quorum 1)" "3 2" "[a] node1 counts 3 votes, quorum 2: both peers answered over TLS"
is "$(https_code 1 /state) $(https_code 2 /state) $(https_code 3 /state)" "200 202 202" \
	"[a] the same codes over the TLS listeners"
is "$(https_json 1 /primary .Primary)" node1 "[a] node1's /primary over TLS names node1"
is "$(http_json 1 /cluster '[.nodes[] | .url] | sort | join(" ")')" \
	"$(printf '%s\n' "$(tls_url 1)" "$(tls_url 2)" "$(tls_url 3)" | LC_ALL=C sort | paste -sd ' ')" \
	"[a] node1 asks its peers at their https:// URLs"
is "$(curl -s -o /dev/null -m 2 -w '%{http_code}' --cacert "$TLS/ca.crt" "$(tls_url 1)/health")" \
	000 "[a] a client without a certificate fails the handshake"
is_eventually 10 "200" "[a] primgr status --host https:// with --cacert/--cert/--key exits 0" \
	eval 'as_pg "$CT_DIR/bin/primgr" status --host "$(tls_url 1)" --cacert "$TLS/ca.crt" \
		--cert "$TLS/client.crt" --key "$TLS/client.key" >"$CT_DIR/status.out" 2>&1 && echo 200'
grep -q "node1" "$CT_DIR/status.out" || diag "primgr status said: $(cat "$CT_DIR/status.out")"

# --- [b] a peer whose certificate comes from another CA --------------------------------------
fails0=$(metric 1 tls_handshake_failures_total)
primgr_stop 3
install_cert 3 impostor3 || bail_out "install the impostor certificate on node3"
primgr_start_tls 3 impostor3 || bail_out "primgr on node3 with another CA's certificate"
is_eventually 15 "2 2" "[b] node1 no longer counts node3's vote (2 votes, quorum 2; {ms} ms)" \
	votes_quorum 1
is "$(http_json 1 /cluster '.nodes[] | select(.node_name == "node3") | .reachable')" false \
	"[b] node1 sees node3 as unreachable"
node3_detail() { http_json 1 /cluster '.nodes[] | select(.node_name == "node3") | .vote.detail'; }
eventually 10 "[b] ... because its certificate does not verify ({ms} ms)" \
	eval 'node3_detail | grep -Ei "ssl|certificate"'
is "$(https_code 1 /health impostor3)" 000 \
	"[b] a client certificate from another CA fails the handshake on node1"
eventually 10 "[b] node1 counts the failed handshakes of node3's requests ({ms} ms)" \
	eval '[ "$(metric 1 tls_handshake_failures_total)" -gt "${fails0:-0}" ]'
primgr_stop 3
install_cert 3 node3 || bail_out "restore node3's certificate"
primgr_start_tls 3 || bail_out "primgr on node3 again"
is_eventually 15 "3 2" "[b] node3 with the right CA: its vote counts again ({ms} ms)" votes_quorum 1

# --- [c] plain HTTP, a stalled handshake and garbage on the TLS port --------------------------
# One process (python starts slowly on a loaded machine) opens a connection per bad
# client to node1's TLS port, sends its bytes and keeps its side open; it writes "ready"
# once all are sent, then "NAME MS" as primgr closes each (MS from its connect; 99999 when
# still open after 9 s).
cat >"$CT_DIR/bad_clients.py" <<'PY'
import os, select, socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
conns = {}
for arg in sys.argv[3:]:
    name, path = arg.split("=", 1)
    s = socket.create_connection(("127.0.0.1", port))
    t0 = time.monotonic()
    if path:
        s.sendall(open(path, "rb").read())
    s.setblocking(False)
    conns[s] = (name, t0)
with open(out + ".tmp", "w") as f:
    f.write("ready\n")
os.rename(out + ".tmp", out)
lines = []
deadline = time.monotonic() + 9
while conns and time.monotonic() < deadline:
    readable, _, _ = select.select(list(conns), [], [], 0.1)
    for s in readable:
        try:
            if s.recv(4096):
                continue
        except OSError:
            pass
        name, t0 = conns.pop(s)
        lines.append("%s %d" % (name, (time.monotonic() - t0) * 1000))
        s.close()
lines += ["%s 99999" % name for name, _ in conns.values()]
with open(out, "a") as f:
    f.write("\n".join(lines) + "\n")
PY
printf 'GET /state HTTP/1.1\r\nHost: primgr\r\n\r\n' >"$CT_DIR/plain.req"
head -c 4096 /dev/urandom >"$CT_DIR/random.bin"
# A ClientHello record header that promises more than it sends: the handshake stalls.
printf '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' >"$CT_DIR/stall.bin"
python3 "$CT_DIR/bad_clients.py" "${NODE_TLS[1]}" "$CT_DIR/bad.out" "plain=$CT_DIR/plain.req" \
	"random=$CT_DIR/random.bin" "silent=" "partial=$CT_DIR/stall.bin" &
CT_BG_PIDS+=("$!")
wait_for 15 test -s "$CT_DIR/bad.out" || diag "the bad clients did not start"
t_c=$(now_ms)
# Meanwhile other clients: a new TLS connection per request, and plain HTTP.
all='' hs=''
while [ $(($(now_ms) - t_c)) -lt 1500 ]; do
	r=$(https_time_ms 1 /state)
	all+="${r% *}"$'\n'"$(http_time_ms 1 /state)"$'\n'
	hs+="${r#* }"$'\n'
	sleep 0.05
done
p95max() {
	sort -n | awk '{ v[NR] = $1 } END { k = int(NR * 0.95); if (k < 1) k = 1; print v[k] + 0, v[NR] + 0 }'
}
lat=$(printf '%s' "$all" | p95max)
hs=$(printf '%s' "$hs" | p95max)
check "[c] other clients are answered meanwhile, over TLS and HTTP (p95 ${lat% *} ms < $(within 50), max ${lat#* } ms < $(within 250))" \
	answers_fast "$lat"
diag "their TLS handshakes meanwhile, client side included: p95 ${hs% *} ms, max ${hs#* } ms"
wait_for 12 eval '[ "$(wc -l <"$CT_DIR/bad.out")" -ge 5 ]'
for b in plain random silent partial; do
	ms=$(awk -v n="$b" '$1 == n { print $2 }' "$CT_DIR/bad.out")
	check "[c] $b: closed in ${ms:-?} ms (client_timeout ${CLIENT_TIMEOUT_MS} ms)" \
		test "${ms:-99999}" -le "$(within $((CLIENT_TIMEOUT_MS + 300)))"
done
is "$(https_code 1 /state)" 200 "[c] node1 answers over TLS afterwards"

# --- [d] certificate replaced, SIGHUP ---------------------------------------------------------
fp_old=$(fingerprint "$TLS/node1.crt")
fp_new=$(fingerprint "$TLS/node1b.crt")
is "$(served_fingerprint 1)" "$fp_old" "[d] node1 serves its first certificate"
install_cert 1 node1b || bail_out "install node1b"
reload 1
is_eventually 10 "$fp_new" "[d] after SIGHUP a new connection sees the new certificate ({ms} ms)" \
	served_fingerprint 1
is "$(https_code 1 /state)" 200 "[d] the new certificate verifies against the CA"
refused0=$(log_count 1 "reload refused")
echo "not a certificate" >"$TLS/live1.crt"
reload 1
is_eventually 10 1 "[d] a bad certificate file is refused with one log line" \
	eval 'echo $(($(log_count 1 "reload refused") - refused0))'
grep "reload refused" "$(node_dir 1)/primgr.log" | tail -n 1 | sed 's/^/# /'
check "[d] ... which names the file" grep -q "reload refused.*tls_cert_file: $TLS/live1.crt" \
	"$(node_dir 1)/primgr.log"
is "$(served_fingerprint 1) $(https_code 1 /state)" "$fp_new 200" \
	"[d] the old certificate keeps serving"
install_cert 1 node1b || bail_out "install node1b again"
reload 1

# --- [e] the allowlist ------------------------------------------------------------------------
denied0=$(metric 1 connections_denied_total)
reload 1 "http.allow=127.0.0.1, ::1"
wait_for 5 grep -q "reloaded.*changed.*\[http\] allow" "$(node_dir 1)/primgr.log"
outside() {
	curl -s --noproxy '*' -o /dev/null -m 2 -w '%{http_code}' --interface 127.0.0.2 \
		"http://127.0.0.1:${NODE_HTTP[1]}/health" 2>/dev/null
}
outside_tls() {
	curl -s --noproxy '*' -o /dev/null -m 2 -w '%{http_code}' --interface 127.0.0.2 \
		--cacert "$TLS/ca.crt" --cert "$TLS/client.crt" --key "$TLS/client.key" \
		"$(tls_url 1)/health" 2>/dev/null
}
is "$(outside) $(outside_tls)" "000 000" "[e] a client from 127.0.0.2 gets no answer (HTTP and TLS)"
is "$(http_code 1 /health) $(https_code 1 /health)" "200 200" \
	"[e] a client from 127.0.0.1 gets one (HTTP and TLS)"
is "$(($(metric 1 connections_denied_total) - ${denied0:-0}))" 2 \
	"[e] both refused connections are counted in /metrics"
is "$(votes_quorum 1)" "3 2" "[e] the peers (127.0.0.1) still vote"

# --- [f] haproxy checks over TLS --------------------------------------------------------------
HA_STATS=$(ct_free_port)
cat >"$CT_DIR/haproxy-tls.cfg" <<EOF
global
    maxconn 200

defaults
    mode tcp
    timeout connect 2s
    timeout client 1m
    timeout server 1m
    timeout check 1s

listen stats
    mode http
    bind 127.0.0.1:$HA_STATS
    stats enable
    stats uri /

backend pg_write
    option httpchk
    http-check send meth GET uri /state ver HTTP/1.1 hdr Host primgr
    http-check expect status 200
    default-server check check-ssl verify required ca-file $TLS/ca.crt crt $TLS/client.pem inter 300ms rise 1 fall 1
EOF
for i in 1 2 3; do
	echo "    server node$i 127.0.0.1:${NODE_PORT[i]} port ${NODE_TLS[i]}" >>"$CT_DIR/haproxy-tls.cfg"
done
ct_own "$CT_DIR/haproxy-tls.cfg"
ct_run "haproxy -c" haproxy -c -q -f "$CT_DIR/haproxy-tls.cfg" || bail_out "haproxy -c"
ct_spawn haproxy "$CT_DIR/haproxy.log" haproxy -db -f "$CT_DIR/haproxy-tls.cfg" ||
	bail_out "start haproxy"
HA_PID=$SPAWNED_PID
is_eventually 10 "node1" "[f] haproxy check-ssl (verify required, client certificate): only node1 UP ({ms} ms)" \
	haproxy_up pg_write
haproxy_servers pg_write | sed 's/^/#   /'
is "$(haproxy_servers pg_write | awk '$1 == "node2" { print $2 }')" DOWN \
	"[f] standby node2 is DOWN"
haproxy_stop

# --- [a] failover and split brain over TLS votes ----------------------------------------------
failover_to 2 || bail_out "failover to node2"
is_eventually 20 "503 200 202" "[a] failover: node1 503, node2 200, node3 202 ({ms} ms)" states 1 2 3
# node1's primgr still runs, but a node whose database is down does not vote (as over HTTP)
is_eventually 10 "2 2" "[a] node2 counts 2 votes: its own and node3's over TLS" votes_quorum 2
watch_start sb1 1
watch_start sb2 2
t_sb=$(now_ms)
start_as_primary 1 || bail_out "start old primary node1"
is "$(node_in_recovery 1)" f "[a] node1 runs as a primary again (split brain)"
is_eventually 15 509 "[a] split brain: node1 /state 509 Unknown ({ms} ms)" http_code 1 /state
never_for 4 "[a] split brain: node1 never says 200 over a 4 s window" http_is 1 /state 200
is "$(http_code 2 /state)" 200 "[a] node2 stays Primary"
watch_stop sb1
watch_stop sb2
c1=$(watch_codes sb1 "$t_sb")
c2=$(watch_codes sb2 "$t_sb")
check "[a] node1 never 200 since its start as a split primary (codes: $c1)" \
	eval '! echo " $c1 " | grep -q " 200 "'
is "$c2" 200 "[a] node2 said 200 all along"

tap_done
