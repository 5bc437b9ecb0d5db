#!/usr/bin/env python3
"""sockhold PIDFILE ADDR... -- CMD...: a stand-in for systemd's primgr.socket. Binds and
listens on each ADDR (host:port), then runs CMD with them as fds 3.. and LISTEN_FDS /
LISTEN_PID set (sd_listen_fds), writing CMD's pid to PIDFILE; when CMD exits it is started
again (Restart=always), so killing the pid in PIDFILE is a restart with the sockets held."""
import os, signal, socket, sys, time

pidfile = sys.argv[1]
sep = sys.argv.index("--")
addrs, cmd = sys.argv[2:sep], sys.argv[sep + 1:]
socks = []
for a in addrs:
    host, port = a.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    s.listen(4096)
    socks.append(s)
stop = False
pid = 0
def term(*_):
    global stop
    stop = True
    if pid:
        try: os.kill(pid, signal.SIGTERM)
        except ProcessLookupError: pass
signal.signal(signal.SIGTERM, term)
for s in socks:
    s.set_inheritable(False)
while not stop:
    pid = os.fork()
    if pid == 0:
        for i, s in enumerate(socks):
            os.dup2(s.fileno(), 3 + i)
            os.set_inheritable(3 + i, True)
        os.environ["LISTEN_FDS"] = str(len(socks))
        os.environ["LISTEN_PID"] = str(os.getpid())
        os.execvp(cmd[0], cmd)
    if stop:
        os.kill(pid, signal.SIGTERM)
    with open(pidfile + ".tmp", "w") as f:
        f.write("%d\n" % pid)
    os.rename(pidfile + ".tmp", pidfile)
    while True:
        try:
            os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            break
