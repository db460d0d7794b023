#!/bin/sh
# Regenerates common-passwords.txt and common-passwords.LICENSE from the
# MIT-licensed zxcvbn-ts common-password list (src/passwords.json, a JSON
# array ordered from most to least common), one password a line, in order.
#
# Usage: ./gen_common.sh [extracted-package-dir]
# Without an argument the package is fetched with npm pack; with one, an
# already extracted package (the directory holding src/ and LICENSE.txt)
# is used, so the list can be regenerated offline.
set -eu

version=4.1.3
cd "$(dirname "$0")"

if [ $# -ge 1 ]; then
	pkg=$1
else
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	tarball=$(cd "$tmp" && npm pack --silent "@zxcvbn-ts/language-common@$version")
	tar -xzf "$tmp/$tarball" -C "$tmp"
	pkg=$tmp/package
fi

node -e '
const list = require(process.argv[1]);
process.stdout.write(list.map((p) => p + "\n").join(""));
' "$(cd "$pkg" && pwd)/src/passwords.json" >common-passwords.txt

{
	cat "$pkg/LICENSE.txt"
	echo
	echo "common-passwords.txt is src/passwords.json of the npm package @zxcvbn-ts/language-common $version, one password a line."
} >common-passwords.LICENSE
