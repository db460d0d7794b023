#!/usr/bin/env bash
# Packaging checks: the release script for one target (the binary runs,
# reports its version and commit, is static, and SHA256SUMS verifies), the
# systemd unit through systemd-analyze verify, and the Dockerfile statically
# (no container engine here; see .ci/dockerfile-check.py).
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== release script, linux/amd64"
version="ci-$(date -u +%Y%m%d%H%M%S)"
scripts/release.sh -o "$tmp/dist" -v "$version" linux/amd64
bin="$tmp/dist/restauth-$version-linux-amd64"
(cd "$tmp/dist" && sha256sum -c SHA256SUMS)
[ "$(wc -l < "$tmp/dist/SHA256SUMS")" -eq 1 ] || { echo "packaging: SHA256SUMS should list one binary" >&2; exit 1; }

# A version that could split -ldflags, and a target that is not GOOS/GOARCH,
# are refused before anything is built.
for bad in "-v|x -X main.buildCommit=forged" "-v|../x" "-t|linux"; do
  set +e
  if [ "${bad%%|*}" = -v ]; then
    scripts/release.sh -o "$tmp/refused" -v "${bad#*|}" linux/amd64 2>/dev/null
  else
    scripts/release.sh -o "$tmp/refused" -v ok "${bad#*|}" 2>/dev/null
  fi
  status=$?
  set -e
  if [ "$status" -ne 2 ] || [ -n "$(ls -A "$tmp/refused" 2>/dev/null)" ]; then
    echo "packaging: release.sh accepted ${bad#*|} (status $status)" >&2
    exit 1
  fi
done

out=$("$bin" version)
echo "$out"
first=$(sed -n 1p <<<"$out")
[ "$first" = "restauth $version" ] || { echo "packaging: version line is \"$first\", want \"restauth $version\"" >&2; exit 1; }
if head=$(git rev-parse HEAD 2>/dev/null); then
  grep -Eq "^commit +$head(-dirty)?\$" <<<"$out" || { echo "packaging: commit line does not name $head" >&2; exit 1; }
fi
gov=$(go env GOVERSION)
grep -Eq "^go +$gov linux/amd64\$" <<<"$out" || { echo "packaging: go line does not name $gov linux/amd64" >&2; exit 1; }
meta=$(go version -m "$bin")
for want in 'CGO_ENABLED=0' '-trimpath=true'; do
  grep -q -- "build	$want" <<<"$meta" || { echo "packaging: the binary was not built with $want" >&2; exit 1; }
done
if command -v file >/dev/null 2>&1; then
  file "$bin" | grep -q 'statically linked' || { file "$bin" >&2; echo "packaging: the binary is not static" >&2; exit 1; }
fi

echo "== systemd unit (systemd-analyze verify)"
unit=packaging/restauth.service
for want in DynamicUser=yes StateDirectory=restauth ProtectSystem=strict ProtectHome=yes \
  NoNewPrivileges=yes PrivateTmp=yes PrivateDevices=yes 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
  SystemCallFilter=@system-service CapabilityBoundingSet= MemoryDenyWriteExecute=yes LockPersonality=yes \
  Environment=RESTAUTH_DB=/var/lib/restauth/restauth.db 'ExecStart=/usr/local/bin/restauth serve'; do
  grep -qxF -- "$want" "$unit" || { echo "packaging: $unit lacks the line $want" >&2; exit 1; }
done
# verify wants ExecStart's binary to exist: check a copy that differs only
# in that path, pointing at the binary just built.
mkdir -p "$tmp/unit"
sed "s#^ExecStart=/usr/local/bin/restauth #ExecStart=$bin #" "$unit" > "$tmp/unit/restauth.service"
[ "$(diff "$unit" "$tmp/unit/restauth.service" | grep -c '^[<>]')" -eq 2 ] || { echo "packaging: rewriting ExecStart changed more than one line" >&2; exit 1; }
# verify prints its findings but does not always fail on them: any output is a failure.
if ! systemd-analyze verify "$tmp/unit/restauth.service" >"$tmp/verify.log" 2>&1 || [ -s "$tmp/verify.log" ]; then
  cat "$tmp/verify.log" >&2
  echo "packaging: systemd-analyze verify found problems in $unit" >&2
  exit 1
fi
exposure=$(systemd-analyze security --offline=yes "$tmp/unit/restauth.service" 2>/dev/null | sed -n 's/.*Overall exposure level for restauth.service: \([0-9.]*\).*/\1/p')
echo "systemd-analyze verify: clean; security exposure $exposure (0 best, 10 worst)"
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e + 0 <= 2.0) }' || { echo "packaging: exposure \"$exposure\" is above 2.0" >&2; exit 1; }
# Every RESTAUTH_ variable the unit names is one the server reads.
"$bin" serve -h > "$tmp/serve-help.txt"
for var in $(grep -o 'RESTAUTH_[A-Z0-9_]*' "$unit" | sort -u); do
  grep -q "$var" "$tmp/serve-help.txt" || { echo "packaging: $unit names $var, which restauth does not read" >&2; exit 1; }
done

echo "== Dockerfile (static checks; not built: no container engine on this machine)"
python3 .ci/dockerfile-check.py Dockerfile .dockerignore go.mod "$tmp/serve-help.txt"
"$bin" healthcheck -h >/dev/null
# The image's environment alone must refuse plain HTTP on its public port,
# as docs/deploying.md says, before it opens anything.
set +e
env -i RESTAUTH_DB="$tmp/refused.db" RESTAUTH_ADDR=0.0.0.0:5000 "$bin" serve 2>"$tmp/refusal.log"
status=$?
set -e
if [ "$status" -ne 2 ] || ! grep -q 'refusing plain HTTP' "$tmp/refusal.log" || [ -e "$tmp/refused.db" ]; then
  cat "$tmp/refusal.log" >&2
  echo "packaging: the image's settings without TLS or RESTAUTH_INSECURE_HTTP should be refused (status $status)" >&2
  exit 1
fi
echo "== packaging passed"
