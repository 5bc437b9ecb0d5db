#!/bin/bash
# shellcheck disable=SC2016,SC2034 # single-quoted strings are eval-ed; NODE_PRIMGR_PID is the harness's
# Limits and exposure (issue 9) against a real primgr beside a one-node repmgr PostgreSQL 15:
#   [cap]      10,000 connection attempts with max_connections = 500: the rest closed at once,
#              counted in /metrics; /state answers quickly afterwards; no descriptor leak
#   [slow]     slowloris clients (a byte a second) are cut by client_timeout
#   [junk]     oversized heads get 431, garbage 400, and RSS does not grow
#   [peers]    fake peers (python3 on 127.0.0.1) sending 10 MB, invalid JSON, a byte a
#              second, a reset or HTTP 500 give no vote (/state votes, /cluster), no RSS growth
#   [nodes]    odd repmgr.nodes contents (edited with psql as superuser) give Unknown (509)
#              with a reason, never a crash
#   [tls]      https peers: peer_ca_file makes the vote count, a wrong CA gives none; a peer that
#              requires a client certificate votes only with peer_cert/peer_key
#   [soak]     an hour's worth of bad traffic sped up (see the comment there): VmRSS flat
#   [exposure] refuses root without allow_root/--allow-root (when run as root); no HTTP method
#              but GET/HEAD/OPTIONS (405); admin state only through `primgr ctl` (a file)
# Fake peers are rows inserted into repmgr.nodes (node2..node7) whose [peers] URLs point at
# the python server. Only processes started here are killed (by pid).
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh
. "$top_srcdir/tests/lib/cluster.sh"

cluster_require python3 openssl
primgr_require
PY=$(command -v python3)

cluster_init 1 || bail_out "cluster_init 1"
T0=$(now_ms)
section() { diag "--- $1 ($(($(now_ms) - T0)) ms)"; }

# ---------------------------------------------------------------------------------------------
# The python helper: fake peers and misbehaving clients (standard library only).
HELPER=$CT_DIR/helper.py
cat >"$HELPER" <<'PYEOF'
# limits.sh helper: fake peers and misbehaving clients (python3 standard library only).
#   helper.py peers PORTFILE CERTDIR        fake primgr peers, one port per behaviour
#   helper.py flood PORT N HOLD_S           open N connections, report how many the server closed
#   helper.py drip PORT N                   N slowloris clients; prints seconds until each was cut
#   helper.py junk PORT SECONDS THREADS     mixed bad HTTP traffic; prints the request count
import os, socket, ssl, sys, threading, time, select, random

def read_head(s, limit=65536):
    data = b""
    s.settimeout(5)
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data

# node2's vote for node1 (every fake peer plays node2 when it answers well)
GOOD = b'{"Primary":"node1","node_id":1,"answered_by":"node2","answered_by_id":2}'

def reply(s, body, code=b"200 OK"):
    s.sendall(b"HTTP/1.1 " + code + b"\r\nContent-Type: application/json\r\nContent-Length: "
              + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)

def b_good(s):
    read_head(s)
    reply(s, GOOD)

def b_big(s):  # 10 MB of JSON-looking bytes
    read_head(s)
    n = 10 * 1024 * 1024
    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
              + str(n).encode() + b"\r\nConnection: close\r\n\r\n")
    chunk = b'{"Primary":"node1","node_id":1,"pad":"' + b"x" * 65000
    sent = 0
    while sent < n:
        part = chunk[: min(len(chunk), n - sent)]
        s.sendall(part)
        sent += len(part)

def b_badjson(s):
    read_head(s)
    reply(s, b'{"Primary":"node1","node_id":1,,,}} \x00\xff garbage')

def b_drip(s):  # a byte a second, for ever
    read_head(s)
    msg = b"HTTP/1.1 200 OK\r\nContent-Length: " + str(len(GOOD)).encode() + b"\r\n\r\n" + GOOD
    for i in range(len(msg)):
        s.sendall(msg[i:i + 1])
        time.sleep(1)

def b_hangup(s):
    pass

def b_500(s):
    read_head(s)
    reply(s, GOOD, b"500 Internal Server Error")

class Server(threading.Thread):
    def __init__(self, fn, ctx=None):
        super().__init__(daemon=True)
        self.fn, self.ctx = fn, ctx
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(512)
        self.port = self.ls.getsockname()[1]

    def one(self, c):
        try:
            if self.ctx:
                c.settimeout(5)
                c = self.ctx.wrap_socket(c, server_side=True)
            self.fn(c)
        except Exception:
            pass
        finally:
            try:
                c.close()
            except Exception:
                pass

    def run(self):
        while True:
            c, _ = self.ls.accept()
            threading.Thread(target=self.one, args=(c,), daemon=True).start()

def peers(portfile, certdir):
    servers = {"good": Server(b_good), "big": Server(b_big), "badjson": Server(b_badjson),
               "drip": Server(b_drip), "hangup": Server(b_hangup), "err500": Server(b_500)}
    if certdir:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(certdir, "server.pem"), os.path.join(certdir, "server.key"))
        servers["tls"] = Server(b_good, ctx)
        mctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        mctx.load_cert_chain(os.path.join(certdir, "server.pem"), os.path.join(certdir, "server.key"))
        mctx.load_verify_locations(os.path.join(certdir, "ca.pem"))
        mctx.verify_mode = ssl.CERT_REQUIRED
        servers["mtls"] = Server(b_good, mctx)
    for s in servers.values():
        s.start()
    with open(portfile + ".tmp", "w") as f:
        for k, s in servers.items():
            f.write("%s %d\n" % (k, s.port))
    os.rename(portfile + ".tmp", portfile)
    while True:
        time.sleep(3600)

def flood(port, n, hold, linger):
    socks, failed = [], 0
    for i in range(n):
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            socks.append(s)
        except OSError:
            failed += 1
            s.close()
    t_open = time.time()
    closed = set()
    deadline = time.time() + hold
    p = select.poll()
    fdmap = {}
    for s in socks:
        p.register(s, select.POLLIN)
        fdmap[s.fileno()] = s
    while time.time() < deadline:
        for fd, ev in p.poll(100):
            s = fdmap[fd]
            try:
                d = s.recv(1)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            if not d:
                closed.add(fd)
                p.unregister(fd)
    print("opened=%d connect_failed=%d closed_by_server=%d held=%d" %
          (len(socks), failed, len(closed), len(socks) - len(closed)))
    sys.stdout.flush()
    # keep the survivors open a while longer, for the caller to look at the daemon
    time.sleep(linger)
    for s in socks:
        s.close()

def drip(port, n):
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.setblocking(False)
        socks.append(s)
    msg = b"GET /state HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 100 + b"\r\n\r\n"
    t0 = time.time()
    cut = {}
    i = 0
    while len(cut) < n and time.time() - t0 < 60:
        for s in socks:
            if s in cut:
                continue
            try:
                d = s.recv(4096)
                if not d:
                    cut[s] = time.time() - t0
                    continue
            except BlockingIOError:
                pass
            except OSError:
                cut[s] = time.time() - t0
                continue
            try:
                if i < len(msg):
                    s.send(msg[i:i + 1])
            except OSError:
                cut[s] = time.time() - t0
        i += 1
        time.sleep(1)
    times = sorted(cut.values())
    print("cut=%d of %d min_s=%.1f max_s=%.1f bytes_sent_each=%d" %
          (len(cut), n, times[0] if times else -1, times[-1] if times else -1, min(i, len(msg))))

JUNK = [
    b"GET /state HTTP/1.1\r\nHost: x\r\nX-Big: " + b"A" * 9000 + b"\r\n\r\n",   # 431
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\r\n\r\n",  # TLS junk
    b"GARBAGE\r\n\r\n",
    b"GET /state HTTP/9.9\r\n\r\n",
    b"GET /" + b"p" * 2000 + b" HTTP/1.1\r\n\r\n",
    b"POST /state HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    b"DELETE /cluster HTTP/1.1\r\n\r\n",
    b"GET /state HTTP/1.1\r\nHost: x\r\n\r\nGET /cluster HTTP/1.1\r\n\r\nGET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n",
    b"GET /nope HTTP/1.0\r\n\r\n",
    b"GET /state HTTP/1.1\r\n",          # half a request, then close
    b"",                                 # connect and close
    b"\r\n" * 3000,
    b"GET /primary HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"OPTIONS / HTTP/1.0\r\n\r\n",
    b"GET /realPrimary HTTP/1.1\r\nConnection: close\r\n\r\n",
]

def junk(port, seconds, threads):
    count = [0] * threads
    stop = time.time() + seconds
    def worker(k):
        rnd = random.Random(k)
        while time.time() < stop:
            m = JUNK[rnd.randrange(len(JUNK))]
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=3)
                if m:
                    s.sendall(m)
                if rnd.random() < 0.2:
                    s.close()   # do not wait for the answer
                else:
                    s.shutdown(socket.SHUT_WR)
                    while s.recv(65536):
                        pass
                    s.close()
                count[k] += 1
            except OSError:
                count[k] += 1
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("requests=%d" % sum(count))

def burst(port, n):
    """n requests alternating an oversized head and garbage; prints the status codes seen."""
    codes = {}
    for i in range(n):
        m = JUNK[0] if i % 2 == 0 else JUNK[2]
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=3)
            s.sendall(m)
            s.shutdown(socket.SHUT_WR)
            d = b""
            while True:
                c = s.recv(65536)
                if not c:
                    break
                d += c
            s.close()
            code = d[9:12].decode("ascii", "replace") if d.startswith(b"HTTP/1.") else "none"
        except OSError:
            code = "error"
        key = ("big" if i % 2 == 0 else "garbage") + ":" + code
        codes[key] = codes.get(key, 0) + 1
    print(" ".join("%s=%d" % kv for kv in sorted(codes.items())))

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "peers":
        peers(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "")
    elif cmd == "flood":
        flood(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
    elif cmd == "drip":
        drip(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "junk":
        junk(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "burst":
        burst(int(sys.argv[2]), int(sys.argv[3]))
PYEOF

# helper CMD ARGS...: runs the helper in the foreground (as the test's user: it needs many
# descriptors, which root may raise).
helper() { "$PY" "$HELPER" "$@"; }

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$(primgr_pid 1)/status" 2>/dev/null; }
fd_count() { find "/proc/$(primgr_pid 1)/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
metric() {
	curl -s --noproxy '*' -m 3 "http://127.0.0.1:${NODE_HTTP[1]}/metrics" |
		awk -v k="primgr_$1" '$1 == k { print $2; exit }'
}
alive() { primgr_running 1; }
# raw_status BYTES: sends BYTES (printf format) to node1's HTTP port, prints the status code.
raw_status() {
	# shellcheck disable=SC2016 # expanded by that bash
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; printf "$2" >&3
		head -n 1 <&3' _ "${NODE_HTTP[1]}" "$1" 2>/dev/null | awk '{ print $2 }'
}
# within_kb A B SLACK: B - A <= SLACK
# Under ASan (scripts/test.sh's second pass) freed memory waits in ASan's quarantine, so RSS
# grows without a leak: the normal build's pass judges memory, this one only prints it.
SANITIZED=false
ldd "$PRIMGR" 2>/dev/null | grep -q libasan && SANITIZED=true
$SANITIZED && diag "ASan build: VmRSS figures are printed, not judged (the normal pass judges them)"
within_kb() { $SANITIZED || { [ -n "$1" ] && [ -n "$2" ] && [ $(($2 - $1)) -le "$3" ]; }; }

# Fake nodes: row I named nodeI in dc1 (standby of node1), reached at [peers] URL.
node_row_sql() {
	echo "INSERT INTO repmgr.nodes (node_id, upstream_node_id, active, node_name, type,
		location, priority, conninfo, repluser, config_file) VALUES ($1, 1, true, 'node$1',
		'standby', 'dc1', 100, 'host=127.0.0.1 port=1 dbname=repmgr', 'repmgr', '/dev/null');"
}
# rows I...: repmgr.nodes holds node1 (as registered) and fake nodes I..., changed in one
# transaction, so that no refresh sees node1 alone in between (Primary 1/1)
rows() {
	local i sql="BEGIN; DELETE FROM repmgr.nodes WHERE node_id <> 1;"
	for i in "$@"; do sql="$sql $(node_row_sql "$i")"; done
	node_psql 1 "$sql COMMIT;" >/dev/null
}
vote_of() { http_body 1 /cluster | jq -r --arg n "$1" '.nodes[] | select(.node_name == $n) | .vote.status + " " + (.vote.named_id | tostring) + " " + (.vote.detail // "")'; }
state_votes() { http_json 1 /state '"\(.state) \(.votes)/\(.quorum)"'; }

# ---------------------------------------------------------------------------------------------
# TLS material: a CA, a server certificate for 127.0.0.1, a client certificate, a wrong CA.
TLS=$CT_DIR/tls
mkdir -p "$TLS"
tls_make() {
	local d=$TLS
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=primgr-test-ca \
		-keyout "$d/ca.key" -out "$d/ca.pem" &&
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=wrong-ca \
			-keyout "$d/wrong.key" -out "$d/wrong.pem" &&
		openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
			-keyout "$d/server.key" -out "$d/server.csr" &&
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$d/server.ext" &&
		openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
			-CAcreateserial -days 2 -extfile "$d/server.ext" -out "$d/server.pem" &&
		openssl req -newkey rsa:2048 -nodes -subj /CN=node1 \
			-keyout "$d/client.key" -out "$d/client.csr" &&
		printf 'extendedKeyUsage=clientAuth\n' >"$d/client.ext" &&
		openssl x509 -req -in "$d/client.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
			-CAcreateserial -days 2 -extfile "$d/client.ext" -out "$d/client.pem"
}
tls_make >>"$CT_DIR/commands.log" 2>&1 || bail_out "openssl: test certificates"
chmod 755 "$TLS"
chmod 644 "$TLS"/*
ct_own "$TLS" "$TLS"/*

# The fake peers: one port per behaviour, written to $CT_DIR/ports.
"$PY" "$HELPER" peers "$CT_DIR/ports" "$TLS" >>"$CT_DIR/peers.log" 2>&1 &
CT_BG_PIDS+=("$!")
wait_for 10 test -s "$CT_DIR/ports" || bail_out "fake peers did not start"
port() { awk -v k="$1" '$1 == k { print $2 }' "$CT_DIR/ports"; }
for b in good big badjson drip hangup err500 tls mtls; do
	[ -n "$(port $b)" ] || bail_out "fake peer $b has no port"
done
PEERS=("peers.node2=http://127.0.0.1:$(port good)" "peers.node3=http://127.0.0.1:$(port big)"
	"peers.node4=http://127.0.0.1:$(port badjson)" "peers.node5=http://127.0.0.1:$(port drip)"
	"peers.node6=http://127.0.0.1:$(port hangup)" "peers.node7=http://127.0.0.1:$(port err500)")

# =============================================================================================
# [cap] 10,000 connection attempts against max_connections = 500
section cap
primgr_start 1 server.max_connections=500 server.client_timeout=30s server.idle_timeout=60s ||
	bail_out "primgr start"
wait_for 10 http_is 1 /state 200 || bail_out "node1 is not Primary (N = 1)"
sleep 1   # let the first refresh cycles settle the descriptors
fd0=$(fd_count)
rej0=$(metric connections_rejected_total)
acc0=$(metric connections_accepted_total)
rss0=$(rss_kb)
t=$(now_ms)
# the client side needs 10,000 descriptors at once
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 10100 ] ||
	bail_out "[cap] the client needs 10,100 open files, the limit is $(ulimit -n) (hard $(ulimit -Hn))"
helper flood "${NODE_HTTP[1]}" 10000 3 4 >"$CT_DIR/flood.out" 2>&1 &
flood=$!
CT_BG_PIDS+=("$flood")
wait_for 60 grep -q opened= "$CT_DIR/flood.out"
fl=$(cat "$CT_DIR/flood.out")
flood_ms=$(($(now_ms) - t))
diag "flood: $fl (${flood_ms} ms)"
held=$(echo "$fl" | sed -n 's/.*held=\([0-9]*\).*/\1/p')
closed=$(echo "$fl" | sed -n 's/.*closed_by_server=\([0-9]*\).*/\1/p')
opened=$(echo "$fl" | sed -n 's/.*opened=\([0-9]*\).*/\1/p')
is "$opened" 10000 "[cap] 10,000 connections opened to the HTTP port"
is "$held" 500 "[cap] exactly max_connections (500) are held open"
is "$closed" 9500 "[cap] the other 9,500 were closed by the daemon"
fd_mid=$(fd_count)
check "[cap] while 500 are held the daemon has $fd_mid descriptors (baseline $fd0 + 500)" \
	test "$fd_mid" -ge $((fd0 + 500)) -a "$fd_mid" -le $((fd0 + 510))
# over the cap a new client is closed at once, not left hanging
t=$(now_ms)
code=$(http_code 1 /state)
over_ms=$(($(now_ms) - t))
check "[cap] a client over the cap is closed at once (code '$code' in ${over_ms} ms, bound $(within 1000))" \
	test "$code" = 000 -a "$over_ms" -lt "$(within 1000)"
wait "$flood"
wait_for 20 eval '[ "$(fd_count)" -le "$fd0" ]'
fd1=$(fd_count)
check "[cap] descriptors back to baseline after the clients left: $fd1 (baseline $fd0, ${WAIT_MS} ms)" \
	test "$fd1" -le "$fd0"
t=$(now_ms)
code=$(http_code 1 /state)
ms=$(($(now_ms) - t))
check "[cap] /state answers 200 right afterwards, in ${ms} ms (bound $(within 1000))" \
	test "$code" = 200 -a "$ms" -lt "$(within 1000)"
rej=$(metric connections_rejected_total)
acc=$(metric connections_accepted_total)
check "[cap] /metrics counts the rejected connections: +$((rej - rej0)) rejected, +$((acc - acc0)) accepted" \
	test $((rej - rej0)) -ge 9500 -a $((rej - rej0)) -le 9510
diag "RSS around the flood: ${rss0} kB -> $(rss_kb) kB"

# =============================================================================================
# [slow] slowloris: 50 clients drip a request head at a byte a second; client_timeout 3s
section slow
primgr_restart 1 server.client_timeout=3s || bail_out "primgr restart"
wait_for 30 http_is 1 /state 200
to0=$(metric connections_timed_out_total)
helper drip "${NODE_HTTP[1]}" 50 >"$CT_DIR/drip.out" 2>&1 &
drip=$!
CT_BG_PIDS+=("$drip")
sleep 1.5
lat=0
for _ in 1 2 3 4 5; do
	ms=$(http_time_ms 1 /state)
	[ "${ms:-9999}" -gt "$lat" ] && lat=${ms:-9999}
	sleep 0.2
done
check "[slow] /state answers in ${lat} ms (max of 5, bound $(within 500)) while 50 slowloris clients hang" \
	test "$lat" -lt "$(within 500)"
wait "$drip"
dr=$(cat "$CT_DIR/drip.out")
diag "slowloris: $dr"
cut=$(echo "$dr" | sed -n 's/^cut=\([0-9]*\).*/\1/p')
maxs=$(echo "$dr" | sed -n 's/.*max_s=\([0-9.]*\).*/\1/p')
mins=$(echo "$dr" | sed -n 's/.*min_s=\([0-9.]*\).*/\1/p')
is "$cut" 50 "[slow] all 50 slowloris clients were cut"
check "[slow] ... between ${mins} s and ${maxs} s after connecting (client_timeout 3 s, head of 130 bytes)" \
	awk -v a="$mins" -v b="$maxs" 'BEGIN { exit !(a >= 2.5 && b <= 8) }'
to=$(metric connections_timed_out_total)
check "[slow] connections_timed_out_total grew by $((to - to0)) (>= 50)" test $((to - to0)) -ge 50

# =============================================================================================
# [junk] oversized heads and garbage
section junk
big=$(head -c 9000 /dev/zero | tr '\0' a)
is "$(curl -s --noproxy '*' -m 3 -o /dev/null -w '%{http_code}' -H "X-Big: $big" \
	"http://127.0.0.1:${NODE_HTTP[1]}/state")" 431 "[junk] a request head over 8 KiB gets 431"
is "$(raw_status 'GARBAGE\r\n\r\n')" 400 "[junk] a garbage request line gets 400"
is "$(raw_status '\x16\x03\x01\x00\x05hello\r\n\r\n')" 400 "[junk] a TLS ClientHello-like start gets 400"
helper burst "${NODE_HTTP[1]}" 400 >/dev/null   # warm-up
rss_a=$(rss_kb)
b=$(helper burst "${NODE_HTTP[1]}" 6000)
rss_b=$(rss_kb)
is "$b" "big:431=3000 garbage:400=3000" "[junk] 3,000 oversized heads all got 431, 3,000 garbage requests 400"
check "[junk] VmRSS ${rss_a} kB -> ${rss_b} kB over those 6,000 requests (slack 256 kB)" \
	within_kb "$rss_a" "$rss_b" 256
check "[junk] the daemon is alive and answers /state 200" http_is 1 /state 200

# =============================================================================================
# [exposure] no HTTP endpoint changes state; admin only through `primgr ctl` (a file)
section exposure
bad=
for m in POST PUT DELETE PATCH; do
	for p in /state /primary /realPrimary /replica /health /cluster /metrics /admin /ctl; do
		c=$(curl -s --noproxy '*' -m 3 -o /dev/null -w '%{http_code}' -X "$m" -d x=1 \
			"http://127.0.0.1:${NODE_HTTP[1]}$p")
		case "$p" in
		/admin | /ctl) [ "$c" = 405 ] || [ "$c" = 404 ] || bad="$bad $m $p=$c" ;;
		*) [ "$c" = 405 ] || bad="$bad $m $p=$c" ;;
		esac
	done
done
check "[exposure] POST/PUT/DELETE/PATCH on every endpoint get 405 (unknown paths 404)${bad:+:$bad}" \
	test -z "$bad"
is "$(http_json 1 /cluster .admin)" ready "[exposure] ... and the admin state is still ready"
is "$(agent_get 1)" "up" "[exposure] ... and the agent still says up (no ready word outside the window)"
ctl() { as_pg "$CT_DIR/bin/primgr" ctl "$1" -c "$(node_dir 1)/primgr.ini" >>"$CT_DIR/commands.log" 2>&1; }
ctl drain || not_ok "[exposure] primgr ctl drain failed"
is_eventually 15 drain "[exposure] primgr ctl drain (the state file) drains the agent in {ms} ms" \
	agent_get 1
ctl ready || not_ok "[exposure] primgr ctl ready failed"
wait_for 15 eval '[ "$(agent_get 1)" = "up ready" ]'

if $CT_IS_ROOT; then
	ini=$(node_dir 1)/primgr.ini
	out=$(timeout 10 "$CT_DIR/bin/primgr" -f -c "$ini" 2>&1)
	rc=$?
	check "[exposure] as root without allow_root: refuses to run (exit $rc: $(echo "$out" | tail -n 1))" \
		eval '[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && echo "$out" | grep -q "refusing to run as root"'
	# --check-config as root is harmless; --allow-root and allow_root = true start the daemon
	primgr_stop 1
	root_start() {
		"$CT_DIR/bin/primgr" -f "$@" >>"$(node_dir 1)/primgr-root.log" 2>&1 &
		NODE_PRIMGR_PID[1]=$!
		ct_track "$!"
		wait_for 10 primgr_answers 1
	}
	root_start -c "$ini" --allow-root
	check "[exposure] as root with --allow-root: runs (uid $(awk '/^Uid:/ { print $2 }' "/proc/$(primgr_pid 1)/status"))" \
		http_is 1 /health 200
	primgr_stop 1
	primgr_ini 1 server.allow_root=true
	root_start -c "$ini"
	check "[exposure] as root with [server] allow_root = true: runs" http_is 1 /health 200
	primgr_stop 1
else
	# not root: the refusal cannot be shown here; the daemon runs as this user
	ok "[exposure] not root (uid $(id -u)): the root refusal is exercised when the test runs as root"
fi

# =============================================================================================
# [peers] misbehaving peers give no vote
section peers
rows 2 3 4 5 6 7 || bail_out "insert the fake nodes"
primgr_start 1 "${PEERS[@]}" || bail_out "primgr start with fake peers"
wait_for 30 eval '[ "$(vote_of node2 | cut -d" " -f1)" = answered ]'
# a round in which every peer's transfer has ended (peer_timeout 500ms): no peer unpolled
all_polled() {
	local n
	for n in node3 node4 node5 node6 node7; do
		case "$(vote_of "$n" | cut -d' ' -f1)" in '' | unpolled) return 1 ;; esac
	done
}
wait_for 30 all_polled
cl=$(http_body 1 /cluster)
diag "$(echo "$cl" | jq -r '.nodes[] | "  \(.node_name): \(.vote.status) \(.vote.named_id) \(.vote.detail // "")"')"
is "$(vote_of node2)" "answered 1 " "[peers] the good fake peer node2 names node1: its vote counts"
for n in node3:big:"10 MB body" node4:badjson:"invalid JSON" node5:drip:"a byte a second" \
	node6:hangup:"closes at once" node7:err500:"HTTP 500"; do
	IFS=: read -r name _ what <<<"$n"
	v=$(vote_of "$name")
	check "[peers] $name ($what) gives no vote: $v" \
		eval '[ -n "$v" ] && [ "${v%% *}" != answered ] && [ "${v%% *}" != unpolled ]'
done
is_eventually 15 "Unknown 2/4" "[peers] /state: Unknown with 2 votes (self + node2) of quorum 4" \
	state_votes
is_eventually 15 2 "[peers] /cluster counts 2 votes" http_json 1 /cluster .votes
reason=$(http_json 1 /state .reason)
diag "reason: $reason"
rss_p0=$(rss_kb)
sleep 6
rss_p1=$(rss_kb)
cycles=$(metric refresh_duration_seconds_count)
check "[peers] VmRSS ${rss_p0} kB -> ${rss_p1} kB over 6 s of bad peers (~12 cycles; slack 256 kB)" \
	within_kb "$rss_p0" "$rss_p1" 256

# =============================================================================================
# [nodes] odd repmgr.nodes contents: Unknown with a reason, never a crash. Base: node1 + node2.
section nodes
node_psql 1 "ALTER TABLE repmgr.nodes ALTER location DROP NOT NULL" >/dev/null
rows 2 || bail_out "rows 2"
node_psql 1 "CREATE TABLE public.nodes_saved AS SELECT * FROM repmgr.nodes" >/dev/null
restore_rows() {
	node_psql 1 "SET session_replication_role = replica; DELETE FROM repmgr.nodes;
		INSERT INTO repmgr.nodes SELECT * FROM public.nodes_saved" >/dev/null
}
wait_for 30 http_is 1 /state 200
is_eventually 15 "Primary 2/2" "[nodes] baseline: node1 + node2 (fake, votes for node1): Primary 2/2" state_votes
odd_case() {
	local what=$1 sql=$2 r
	node_psql 1 "SET session_replication_role = replica; $sql" >/dev/null ||
		{ not_ok "[nodes] $what: the SQL failed"; return; }
	wait_for 15 http_is 1 /state 509
	r=$(http_json 1 /state .reason)
	check "[nodes] $what: Unknown (509) in ${WAIT_MS} ms, reason: $r" \
		eval 'http_is 1 /state 509 && [ -n "$r" ] && [ "$r" != null ]'
	check "[nodes] ... /cluster answers and the daemon runs" eval 'alive && http_is 1 /cluster 200'
	restore_rows
	wait_for 15 http_is 1 /state 200 || { not_ok "[nodes] $what: not Primary again after restore"; }
}
odd_case "no rows" "DELETE FROM repmgr.nodes"
odd_case "self missing" "DELETE FROM repmgr.nodes WHERE node_id = 1"
odd_case "duplicate names (node2 renamed node1)" "UPDATE repmgr.nodes SET node_name = 'node1' WHERE node_id = 2"
odd_case "self renamed (repmgr.conf says node1)" "UPDATE repmgr.nodes SET node_name = 'nodeX' WHERE node_id = 1"
odd_case "self location NULL" "UPDATE repmgr.nodes SET location = NULL WHERE node_id = 1"
odd_case "self location odd (control bytes, quotes)" "UPDATE repmgr.nodes SET location = E'dc1\\x01\"<>' WHERE node_id = 1"
odd_case "self location 5000 bytes" "UPDATE repmgr.nodes SET location = repeat('x', 5000) WHERE node_id = 1"
odd_case "self location empty" "UPDATE repmgr.nodes SET location = '' WHERE node_id = 1"
odd_case "two active primaries" "UPDATE repmgr.nodes SET type = 'primary', upstream_node_id = NULL WHERE node_id = 2"
odd_case "no active primary" "UPDATE repmgr.nodes SET active = false WHERE node_id = 1"
odd_case "self is a witness" "UPDATE repmgr.nodes SET type = 'witness' WHERE node_id = 1"
# a peer row with a NULL location: primgr reads it as repmgr's default location ("default"),
# i.e. another location: it is no voter (N = 1). No crash, and /cluster shows it.
node_psql 1 "UPDATE repmgr.nodes SET location = NULL WHERE node_id = 2" >/dev/null
wait_for 15 eval '[ "$(http_json 1 /cluster ".nodes[] | select(.node_id == 2) | .location")" = default ]'
check "[nodes] a peer's NULL location reads as \"default\" (out of scope): $(state_votes)" \
	eval '[ "$(http_json 1 /cluster ".nodes[] | select(.node_id == 2) | .in_scope")" = false ] && alive'
restore_rows
# it was Primary 1/1 just before (the peer out of scope): wait for the vote, not the code
is_eventually 30 "Primary 2/2" "[nodes] rows restored: Primary 2/2 again" state_votes

# =============================================================================================
# [tls] https peers: the CA decides whether a vote counts; client certificates are sent
section tls
tls_case() {
	local what=$1 want=$2
	shift 2
	primgr_restart 1 "$@" || { not_ok "[tls] $what: primgr start"; return; }
	wait_for 25 eval '[ "$(vote_of node2 | cut -d" " -f1)" = "${want%% *}" ] && [ "$(state_votes)" = "${want#* }" ]'
	check "[tls] $what: node2 $(vote_of node2 | cut -c1-90); node1 $(state_votes)" \
		eval '[ "$(vote_of node2 | cut -d" " -f1)" = "${want%% *}" ] && [ "$(state_votes)" = "${want#* }" ]'
}
rows 2 || bail_out "rows 2"
TLSURL=https://127.0.0.1:$(port tls)
MTLSURL=https://127.0.0.1:$(port mtls)
tls_case "https peer, peer_ca_file = the CA: the vote counts" "answered Primary 2/2" \
	peers.node2="$TLSURL" consensus.peer_ca_file="$TLS/ca.pem"
tls_case "https peer, peer_ca_file = a wrong CA: no vote" "unreachable Unknown 1/2" \
	peers.node2="$TLSURL" consensus.peer_ca_file="$TLS/wrong.pem"
is "$(vote_of node2 | grep -ci 'certificate\|SSL')" 1 "[tls] ... the vote's detail names the certificate problem"
tls_case "peer requires a client certificate, peer_cert/peer_key set: the vote counts" \
	"answered Primary 2/2" peers.node2="$MTLSURL" consensus.peer_ca_file="$TLS/ca.pem" \
	consensus.peer_cert="$TLS/client.pem" consensus.peer_key="$TLS/client.key"
tls_case "peer requires a client certificate, none configured: no vote" "unreachable Unknown 1/2" \
	peers.node2="$MTLSURL" consensus.peer_ca_file="$TLS/ca.pem"

# =============================================================================================
# [soak] An hour of bad traffic, sped up. At the defaults an hour is 3,600 refresh cycles
section soak
# (refresh_interval 1s) and, with haproxy's default inter 2s and four checks per node (write
# and read backend, httpchk and agent), about 7,200 requests. Here refresh_interval is 100ms
# (the minimum) with peer_timeout 80ms, so 60 s make about 600 cycles, each polling six fake
# peers (10 MB, invalid JSON, a byte a second, reset, HTTP 500, and one good): some 3,600 peer
# transfers, five in six of them bad. Meanwhile four client threads send mixed bad requests
# (oversized, garbage, bad versions, long paths, bodies, pipelines, half requests, hang-ups,
# each a new connection) as fast as they can, and slowloris clients keep coming: many hours'
# worth of requests. VmRSS is read after a 5 s warm-up and at the end.
SOAK_S=${SOAK_S:-60}
rows 2 3 4 5 6 7 || bail_out "insert the fake nodes"
primgr_restart 1 "${PEERS[@]}" database.refresh_interval=100ms consensus.peer_timeout=80ms \
	consensus.peer_connect_timeout=50ms server.client_timeout=1s log.level=notice ||
	bail_out "primgr restart for the soak"
wait_for 30 eval '[ "$(vote_of node2 | cut -d" " -f1)" = answered ]'
fd_s0=$(fd_count)
c0=$(metric refresh_duration_seconds_count)
w=$(helper junk "${NODE_HTTP[1]}" 5 4)
rss_w=$(rss_kb)
(
	trap 'exit 0' TERM
	while [ ! -e "$CT_DIR/soak.stop" ]; do helper drip "${NODE_HTTP[1]}" 20 >/dev/null 2>&1; done
) &
soak_drip=$!
CT_BG_PIDS+=("$soak_drip")
(
	trap 'exit 0' TERM
	while [ ! -e "$CT_DIR/soak.stop" ]; do
		echo "$(($(now_ms) / 1000)) $(rss_kb) $(fd_count)" >>"$CT_DIR/soak-rss.log"
		sleep 5
	done
) &
CT_BG_PIDS+=("$!")
t=$(now_ms)
j=$(helper junk "${NODE_HTTP[1]}" "$SOAK_S" 4)
touch "$CT_DIR/soak.stop"
wait "$soak_drip"
soak_ms=$(($(now_ms) - t))
rss_e=$(rss_kb)
c1=$(metric refresh_duration_seconds_count)
cycles=$((c1 - c0))
reqs=$(echo "$j" | sed -n 's/^requests=//p')
diag "soak: ${soak_ms} ms, warm-up $w, then ${j}, ${cycles} refresh cycles (x6 peers)" \
	"VmRSS kB / fds every 5 s: $(awk '{ printf "%s/%s ", $2, $3 }' "$CT_DIR/soak-rss.log")"
check "[soak] the daemon ran through it (alive, /state $(http_code 1 /state))" \
	eval 'alive && http_is 1 /state 509'
check "[soak] ${cycles} refresh cycles in ${soak_ms} ms (>= 300)" test "${cycles:-0}" -ge 300
check "[soak] ${reqs} bad requests (>= 7,200, an hour of haproxy checks)" test "${reqs:-0}" -ge 7200
check "[soak] VmRSS after warm-up ${rss_w} kB, at the end ${rss_e} kB (slack 512 kB)" \
	within_kb "$rss_w" "$rss_e" 512
# the 6 peers' transfers of the cycle in flight may hold a socket each; a leak over the
# soak's thousands of connections would be far more
wait_for 20 eval '[ "$(fd_count)" -le "$fd_s0" ]'
check "[soak] descriptors back to $(fd_count) (before: $fd_s0; the 6 peer transfers may be open)" \
	test "$(fd_count)" -le $((fd_s0 + 6))
# (the good peer answers within peer_timeout 80ms in most rounds, not every one on a loaded machine)
soak_votes() { echo "$(vote_of node2 | cut -d' ' -f1-2) $(state_votes)"; }
is_eventually 15 "answered 1 Unknown 2/4" \
	"[soak] votes still counted right: node2's counts, the bad peers' do not" soak_votes

primgr_stop 1
diag "limits.sh ran $(($(now_ms) - T0)) ms after the cluster was up"
tap_done
