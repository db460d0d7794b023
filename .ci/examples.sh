#!/usr/bin/env bash
# Run the client examples (examples/python, examples/js) against the real
# binary: build it, start it on 127.0.0.1 with a fresh database on a port the
# kernel picks, wait for /readyz, run each example, and stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Python example needs requests; Debian's package serves /usr/bin/python3.
py=/usr/bin/python3
if ! "$py" -c 'import requests' 2>/dev/null; then
  echo "== installing python3-requests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-requests >/dev/null
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "examples: node $node_major is too old; the JavaScript example needs Node 20's fetch" >&2
  exit 1
fi

tmp=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    wait "$pid" || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== build"
CGO_ENABLED=0 go build -o "$tmp/restauth" ./cmd/restauth

# Port 0: the kernel picks a free port, and the startup line names it.
"$tmp/restauth" serve --addr 127.0.0.1:0 --db "$tmp/restauth.db" 2>"$tmp/server.log" &
pid=$!
url=""
for _ in $(seq 1 300); do
  url=$(sed -n 's/.*msg=listening .*url=\(http:\/\/[^ ]*\).*/\1/p' "$tmp/server.log" | head -n1)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/server.log" >&2; echo "examples: the server exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$tmp/server.log" >&2; echo "examples: no listening line within 30 s" >&2; exit 1; }
ready=""
for _ in $(seq 1 300); do
  if curl -fsS -o /dev/null "$url/readyz" 2>/dev/null; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || { cat "$tmp/server.log" >&2; echo "examples: $url/readyz not ready within 30 s" >&2; exit 1; }
echo "== server ready at $url"

echo "== examples/python/client.py"
"$py" examples/python/client.py "$url"
echo "== examples/js/client.mjs"
node examples/js/client.mjs "$url"

kill -TERM "$pid"
if ! wait "$pid"; then
  cat "$tmp/server.log" >&2
  echo "examples: the server did not stop cleanly" >&2
  exit 1
fi
pid=""
echo "== examples passed"
