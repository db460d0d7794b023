#!/usr/bin/env bash
# Build restauth's release binaries: static (CGO_ENABLED=0, pure-Go SQLite),
# -trimpath, the version stamped at link time, one per target, plus a
# SHA256SUMS file that "sha256sum -c SHA256SUMS" checks in the output folder.
#
#   scripts/release.sh [-o DIR] [-v VERSION] [GOOS/GOARCH ...]
#
# -o DIR      where the binaries go (default dist); SHA256SUMS there is rewritten
# -v VERSION  the version to stamp (default: git describe --tags --always --dirty)
# targets     default linux/amd64 linux/arm64 darwin/arm64 windows/amd64
#
# Binaries are named restauth-VERSION-GOOS-GOARCH (.exe on Windows). In a git
# checkout the commit is recorded too (with -dirty for uncommitted changes to
# tracked files); restauth version prints both.
set -euo pipefail
cd "$(dirname "$0")/.."

out=dist
version=""
while getopts "o:v:h" opt; do
  case "$opt" in
    o) out=$OPTARG ;;
    v) version=$OPTARG ;;
    h) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: scripts/release.sh [-o DIR] [-v VERSION] [GOOS/GOARCH ...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(linux/amd64 linux/arm64 darwin/arm64 windows/amd64)
fi

if [ -z "$version" ]; then
  version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
fi
# The version goes into -ldflags and into file names: keep it to a safe
# alphabet so it can neither split the flags nor make a path.
if ! [[ "$version" =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]]; then
  echo "release: version \"$version\" may hold only letters, digits and . _ + -" >&2
  exit 2
fi

if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$@"; }
else
  sha256() { shasum -a 256 "$@"; } # macOS
fi

# Record the commit even where GOFLAGS says -buildvcs=false; a tree that is
# not a git checkout (a source tarball) builds without it. The toolchain does
# not see a linked worktree (.git is a file there), so the commit is also
# stamped, and restauth version uses it when the build info has none.
vcs=-buildvcs=false
commit=""
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  vcs=-buildvcs=true
  commit=$(git rev-parse HEAD)
  if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    commit="$commit-dirty"
  fi
fi

mkdir -p "$out"
names=()
for target in "${targets[@]}"; do
  if ! [[ "$target" =~ ^[a-z0-9]+/[a-z0-9]+$ ]]; then
    echo "release: target \"$target\" is not GOOS/GOARCH" >&2
    exit 2
  fi
done
for target in "${targets[@]}"; do
  goos=${target%/*}
  goarch=${target#*/}
  name="restauth-$version-$goos-$goarch"
  [ "$goos" = windows ] && name="$name.exe"
  echo "release: building $name"
  CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath "$vcs" \
    -ldflags "-s -w -X main.buildVersion=$version -X main.buildCommit=$commit" \
    -o "$out/$name" ./cmd/restauth
  names+=("$name")
done

(cd "$out" && sha256 "${names[@]}" > SHA256SUMS)
echo "release: wrote $out/SHA256SUMS"
cat "$out/SHA256SUMS"
