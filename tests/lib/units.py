#!/usr/bin/python3
"""tests/lib/units.py: what systemd would run for a unit under a root directory, without
systemd as PID 1 (systemd 252's `systemctl cat` and `systemctl show` need a running manager
and refuse --root=). Used by tests/integration/pkg_install.sh.

  units.py ROOT UNIT cat           the unit file and its drop-ins, as `systemctl cat` shows
                                   them ("# /path" before each)
  units.py ROOT UNIT exec KEY      each KEY= command line (ExecStart, ExecStartPre,
                                   ExecReload) with the environment expanded as systemd
                                   does: "$VAR" as a whole word splits at whitespace,
                                   "${VAR}" does not; one command per line

The search path and the drop-in order follow systemd.unit(5): /etc, /run, /usr/local/lib,
/usr/lib (/lib) unit directories, the first file of a name wins; drop-ins
(UNIT.d/*.conf and, for an instance, TEMPLATE@.service.d/*.conf) sorted by file name.
Environment= assignments apply in order; EnvironmentFile= values override them.
"""
import os
import re
import shlex
import sys

DIRS = ["etc/systemd/system", "run/systemd/system", "usr/local/lib/systemd/system",
        "lib/systemd/system", "usr/lib/systemd/system"]


def unit_files(root, unit):
    main = None
    for d in DIRS:
        p = os.path.join(root, d, unit)
        if os.path.isfile(p):
            main = p
            break
        if "@" in unit and not unit.split("@", 1)[1].startswith("."):
            tmpl = re.sub(r"@[^.]*\.", "@.", unit)
            p = os.path.join(root, d, tmpl)
            if os.path.isfile(p):
                main = p
                break
    if main is None:
        return None, []
    names = [unit + ".d"]
    if "@" in unit:
        names.insert(0, re.sub(r"@[^.]*\.", "@.", unit) + ".d")
    dropins = {}
    for d in DIRS:
        for n in names:
            dd = os.path.join(root, d, n)
            if not os.path.isdir(dd):
                continue
            for f in os.listdir(dd):
                if f.endswith(".conf") and f not in dropins:
                    dropins[f] = os.path.join(dd, f)
    return main, [dropins[k] for k in sorted(dropins)]


def lines(path):
    with open(path) as fh:
        text = fh.read().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if line and line[0] not in "#;[" and "=" in line:
            k, v = line.split("=", 1)
            yield k.strip(), v.strip()


def env_file(root, path):
    env = {}
    optional = path.startswith("-")
    path = os.path.join(root, path.lstrip("-").lstrip("/"))
    if not os.path.isfile(path):
        if not optional:
            sys.exit("missing EnvironmentFile " + path)
        return env
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if not line or line[0] in "#;" or "=" not in line:
                continue
            k, v = line.split("=", 1)
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                v = v[1:-1]
            env[k.strip()] = v
    return env


def expand(cmd, env):
    out = []
    for word in shlex.split(cmd):
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if m:
            out.extend(env.get(m.group(1), "").split())
            continue
        word = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda g: env.get(g.group(1), ""), word)
        word = re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", lambda g: env.get(g.group(1), ""), word)
        out.append(word)
    return " ".join(out)


def main():
    root, unit, what = sys.argv[1], sys.argv[2], sys.argv[3]
    main_file, dropins = unit_files(root, unit)
    if main_file is None:
        sys.exit("no unit file for " + unit)
    files = [main_file] + dropins
    if what == "cat":
        for i, f in enumerate(files):
            if i:
                print()
            print("# /" + os.path.relpath(f, root))
            with open(f) as fh:
                sys.stdout.write(fh.read())
        return
    key = sys.argv[4]
    env, env_files, cmds = {}, [], []
    for f in files:
        for k, v in lines(f):
            if k == "Environment":
                for a in shlex.split(v):
                    if "=" in a:
                        n, val = a.split("=", 1)
                        env[n] = val
            elif k == "EnvironmentFile":
                if v == "":
                    env_files = []
                else:
                    env_files.append(v)
            elif k == key:
                if v == "":
                    cmds = []
                else:
                    cmds.append(v.lstrip("-@+!:"))
    for ef in env_files:
        env.update(env_file(root, ef))
    for c in cmds:
        print(expand(c, env))


if __name__ == "__main__":
    main()
