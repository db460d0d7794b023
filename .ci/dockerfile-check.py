#!/usr/bin/env python3
"""Static checks of the Dockerfile, for machines without a container engine.

    dockerfile-check.py DOCKERFILE DOCKERIGNORE GO_MOD SERVE_HELP_FILE

It holds the image to what docs/deploying.md promises: a golang builder of
go.mod's release that builds with CGO_ENABLED=0, a distroless/static or
scratch final stage running as a numeric non-root user, the database on a
VOLUME, a HEALTHCHECK through restauth healthcheck, EXPOSE of the listen port,
exec-form ENTRYPOINT, .git kept out of the context, and only RESTAUTH_
variables that restauth serve -h lists. Each failure is one line; the exit
status is the number of failures.
"""
import re
import sys

dockerfile, dockerignore, gomod, serve_help = sys.argv[1:5]
failures = []


def fail(msg):
    failures.append(msg)
    print(f"Dockerfile: {msg}", file=sys.stderr)


text = open(dockerfile).read()
# Instructions: comments dropped, continuation lines joined.
lines, cur = [], ""
for raw in text.splitlines():
    if raw.lstrip().startswith("#") or not raw.strip():
        continue
    cur += raw.rstrip("\\").rstrip() + " " if raw.endswith("\\") else raw
    if not raw.endswith("\\"):
        lines.append(cur.strip())
        cur = ""
instrs = [(l.split(None, 1)[0].upper(), l.split(None, 1)[1] if " " in l else "") for l in lines]
known = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
         "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
for op, _ in instrs:
    if op not in known:
        fail(f"unknown instruction {op}")

stages = []  # [(from-args, [(op, args)])]
for op, args in instrs:
    if op == "FROM":
        stages.append((args, []))
    elif stages:
        stages[-1][1].append((op, args))
    elif op != "ARG":
        fail(f"{op} before the first FROM")
if len(stages) < 2:
    fail(f"{len(stages)} stage(s); want a builder and a final stage")
    sys.exit(len(failures))

builder_from, builder = stages[0]
final_from, final = stages[-1]
m = re.search(r"\bgolang:(\d+\.\d+)\S*\s+AS\s+(\w+)", builder_from, re.I)
want_go = re.search(r"^go (\d+\.\d+)", open(gomod).read(), re.M).group(1)
if not m:
    fail(f"the first stage is {builder_from!r}; want golang:X.Y AS NAME")
else:
    if m.group(1) != want_go:
        fail(f"the builder is golang:{m.group(1)}, go.mod wants {want_go}")
    builder_name = m.group(2)
runs = " ".join(a for op, a in builder if op == "RUN")
for need in ("CGO_ENABLED=0", "-trimpath", "main.buildVersion=", "./cmd/restauth"):
    if need not in runs:
        fail(f"the builder's go build lacks {need}")

if not re.match(r"(gcr\.io/distroless/static\S*|scratch)(\s|$)", final_from):
    fail(f"the final stage is {final_from!r}; want distroless/static or scratch")
ops = dict((op, a) for op, a in final)  # the last of each instruction
if any(op == "RUN" for op, _ in final):
    fail("the final stage RUNs commands; it has no shell")
user = ops.get("USER", "")
um = re.fullmatch(r"(\d+)(?::(\d+))?", user)
if not um or int(um.group(1)) == 0 or (um.group(2) is not None and int(um.group(2)) == 0):
    fail(f"USER is {user!r}; want a numeric non-root uid[:gid]")
copies = [a for op, a in final if op == "COPY"]
if not any(re.search(rf"--from={builder_name}\b.*\s/restauth$", c) for c in copies if m):
    fail("no COPY --from the builder puts the binary at /restauth")

env = dict(re.findall(r"(RESTAUTH_\w+)=(\S+)", ops.get("ENV", "")))
volumes = re.findall(r'"([^"]+)"', ops.get("VOLUME", "")) or ops.get("VOLUME", "").split()
db = env.get("RESTAUTH_DB", "")
if not volumes:
    fail("no VOLUME")
elif not any(db.startswith(v.rstrip("/") + "/") for v in volumes):
    fail(f"RESTAUTH_DB={db!r} is not on a VOLUME ({volumes})")
if not any(re.search(rf"--chown=\d+:\d+.*\s{re.escape(v)}$", c) for c in copies for v in volumes):
    fail("the volume's directory is not created owned by the non-root user")
addr_port = env.get("RESTAUTH_ADDR", ":").rsplit(":", 1)[1]
if ops.get("EXPOSE", "").split("/")[0] != addr_port or not addr_port:
    fail(f"EXPOSE {ops.get('EXPOSE')!r} is not RESTAUTH_ADDR's port {addr_port!r}")
hc = ops.get("HEALTHCHECK", "")
if not re.search(r'CMD \["/restauth",\s*"healthcheck"\]', hc):
    fail(f"HEALTHCHECK is {hc!r}; want CMD [\"/restauth\", \"healthcheck\"]")
if not re.fullmatch(r'\["/restauth"\]', ops.get("ENTRYPOINT", "")):
    fail(f"ENTRYPOINT is {ops.get('ENTRYPOINT')!r}; want the exec form [\"/restauth\"]")

ignored = {l.strip() for l in open(dockerignore) if l.strip() and not l.startswith("#")}
for need in (".git", "**/*.db"):
    if need not in ignored:
        fail(f".dockerignore does not leave out {need}")

helptext = open(serve_help).read()
for var in sorted(set(re.findall(r"RESTAUTH_[A-Z0-9_]+", text))):
    if var not in helptext:
        fail(f"{var} is not a variable restauth serve reads")

sys.exit(len(failures))
