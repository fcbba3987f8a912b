#!/usr/bin/env bash
# Glue for the Go genrules in BUILD.bazel: build the test binary of one
# package of Go's standard library from Debian's installed sources
# (golang-1.19-src, via golang-1.19-go). With --unfix=FILE:SED_EXPRESSION,
# the package's FILE is compiled as changed by the sed expression (a known
# fix taken out) through `go test -overlay`: the installed file stays as it
# is, and the changed copy lives only in this action's temporary directory.
# Usage: go_test_binary.sh OUT PACKAGE [--unfix=FILE:SED] [go test flags...]
set -euo pipefail
out=$1 package=$2
shift 2
goroot=/usr/lib/go-1.19
if [ ! -x "$goroot/bin/go" ] || [ ! -d "$goroot/src/$package" ]; then
  echo "bench/foreign: Debian's Go 1.19 is missing: run apt-get install golang-1.19-go" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
flags=()
for arg in "$@"; do
  case "$arg" in
    --unfix=*)
      spec=${arg#--unfix=}
      file=$goroot/src/$package/${spec%%:*}
      sed -e "${spec#*:}" "$file" >"$work/changed.go"
      if cmp -s "$file" "$work/changed.go"; then
        echo "bench/foreign: '${spec#*:}' changes nothing in $file: Debian's Go source is not the one this target was written for" >&2
        exit 1
      fi
      printf '{"Replace":{"%s":"%s"}}\n' "$file" "$work/changed.go" >"$work/overlay.json"
      flags+=("-overlay=$work/overlay.json") ;;
    *) flags+=("$arg") ;;
  esac
done
# No HOME in Bazel actions: keep go away from user configuration and caches.
export GOROOT=$goroot GOCACHE=$work/cache GOPATH=$work/gopath GOENV=off GOFLAGS= CGO_ENABLED=0
"$goroot/bin/go" test -c -o "$out" "${flags[@]}" "$package"
