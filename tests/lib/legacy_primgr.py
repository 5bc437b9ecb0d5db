#!/usr/bin/env python3
"""tests/lib/legacy_primgr.py: a stand-in of the original Python/FastAPI primgr, for the
migration test (tests/integration/migration.sh). Standard library only; the local database
is asked with psql (Python's stdlib has no libpq), run as the user this runs as (postgres).

It speaks the original's protocol, as its README (the seed documents) describes it:
  GET /primary  200 {"Primary": "<node_name>"}: the active primary in the LOCAL
                repmgr.nodes (no node_id, no answered_by: the form primgr's
                [consensus] legacy_peers accepts); when the database cannot be read,
                503 {"Primary": null} (the original raised; primgr reads it as no vote)
  GET /state    {"state": S} with the original's codes:
                  Down 503     the local database is unavailable
                  Standby 202  up, in recovery
                  Primary 200  up, not in recovery, and a majority of the nodes of its
                               location (itself included) name it on /primary
                  Unknown 509  up, not in recovery, short of that majority
Like the original, requests never wait for the database: the original answered /state from
a cache (up to 20 s old, its README's "Caching and connection pool"); here a background thread
recomputes both answers every --cache seconds (default 0.5, so that the test sees a failover
in about a second) and the handlers serve the last ones from memory. A request that ran psql
itself was slow to be accepted on a busy machine (a peer's 250 ms connect timeout lost its
vote), so the server is threaded with a listen backlog of 128 (http.server's default is 5). The original polled only the nodes in its own location,
by host names built from node names; here --peer NAME=URL gives each peer's base URL.

Usage: legacy_primgr.py --name NODE --listen PORT --conninfo CONNINFO [--psql PATH]
                        [--peer NAME=URL]... [--cache SECONDS]
"""
import argparse
import json
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None


def psql(sql):
    """Rows of sql as lists of fields, or None when the database cannot be read."""
    try:
        out = subprocess.run(
            [ARGS.psql, "-X", "-A", "-t", "-q", "-F", "\t", "-v", "ON_ERROR_STOP=1",
             "-d", ARGS.conninfo, "-c", sql],
            capture_output=True, text=True, timeout=3, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def local_primary():
    rows = psql("SELECT node_name FROM repmgr.nodes WHERE type = 'primary' AND active "
                "ORDER BY node_id LIMIT 1")
    if rows is None:
        return None, False
    return (rows[0][0] if rows else None), True


def node_reports_primary(url):
    """What a peer's /primary names (the original's http_node_reports_primary)."""
    try:
        with urllib.request.urlopen(url + "/primary", timeout=1) as r:
            return json.loads(r.read().decode()).get("Primary")
    except Exception:  # an unreachable or odd peer gives no vote, as in the original
        return None


def compute_state():
    rec = psql("SELECT pg_is_in_recovery()")
    if rec is None:
        return "Down", 503
    if rec[0][0] == "t":
        return "Standby", 202
    nodes = psql("SELECT node_name, location FROM repmgr.nodes "
                 "WHERE type IN ('primary', 'standby', 'witness')")
    if nodes is None:
        return "Down", 503
    site = dict((n[0], n[1]) for n in nodes)
    if ARGS.name not in site:
        return "Unknown", 509
    others = [n for n, loc in site.items() if loc == site[ARGS.name] and n != ARGS.name]
    needed = (len(others) + 1) // 2 + 1
    votes = 1
    for name in others:
        url = ARGS.peers.get(name)
        if url and node_reports_primary(url) == ARGS.name:
            votes += 1
    return ("Primary", 200) if votes >= needed else ("Unknown", 509)


class Answers:
    """The last computed answers, replaced whole by the refresher thread."""

    def __init__(self):
        self.primary = (503, {"Primary": None})
        self.state = (503, {"state": "Down"})


ANSWERS = Answers()


def refresh_once():
    name, ok = local_primary()
    primary = (200 if ok and name else 503, {"Primary": name})
    ANSWERS.primary = primary  # a peer's vote does not wait for our own peers' replies
    state, code = compute_state()
    ANSWERS.state = (code, {"state": state})


def refresher():
    while True:
        started = time.monotonic()
        try:
            refresh_once()
        except Exception as e:  # keep refreshing; a failed round keeps the last answers
            sys.stderr.write("%s refresh failed: %r\n" % (time.strftime("%H:%M:%S"), e))
        time.sleep(max(0.05, ARGS.cache - (time.monotonic() - started)))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/primary":
            self.reply(*ANSWERS.primary)
        elif path == "/state":
            self.reply(*ANSWERS.state)
        else:
            self.reply(404, {"detail": "Not Found"})

    do_HEAD = do_GET

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (time.strftime("%H:%M:%S"), fmt % args))


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--name", required=True)
    p.add_argument("--listen", type=int, required=True)
    p.add_argument("--conninfo", required=True)
    p.add_argument("--psql", default="psql")
    p.add_argument("--peer", action="append", default=[])
    p.add_argument("--cache", type=float, default=0.5)
    ARGS = p.parse_args()
    ARGS.peers = dict(x.split("=", 1) for x in ARGS.peer)
    refresh_once()  # the first answers before the port opens: never a made-up one
    threading.Thread(target=refresher, name="refresher", daemon=True).start()
    srv = Server(("127.0.0.1", ARGS.listen), Handler)
    sys.stderr.write("legacy primgr %s on 127.0.0.1:%d\n" % (ARGS.name, ARGS.listen))
    sys.stderr.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
