#!/bin/sh
# Builds the C baseline and the native load generator core with the system
# compiler into native-bench/build/. No downloads. CC overrides the compiler
# (default: cc). Arguments name the programs to build (hot_path, relay,
# loadgen); none builds all three.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/build"
cc=${CC:-cc}
cflags="-O2 -Wall -Wextra -Werror -std=gnu11"
targets=${*:-hot_path relay loadgen}
mkdir -p "$out"
# Temporary names per build: two builds at once (parallel tests) never write the same file.
tmp="$out/.tmp.$$"
trap 'rm -f "$tmp.hot_path" "$tmp.relay" "$tmp.loadgen"' EXIT
for t in $targets; do
  case "$t" in
    hot_path) "$cc" $cflags -o "$tmp.hot_path" "$here/hot_path.c" "$here/rtp_hot.c" -lm ;;
    relay) "$cc" $cflags -pthread -o "$tmp.relay" "$here/relay.c" "$here/rtp_hot.c" ;;
    loadgen) "$cc" $cflags -o "$tmp.loadgen" "$here/loadgen.c" "$here/loadgen_lib.c" -lm ;;
    *) echo "build.sh: unknown program '$t' (hot_path, relay, loadgen)" >&2; exit 2 ;;
  esac
done
# Renamed into place only after every one compiled (rename is atomic): a failed
# build never leaves a half-updated set, and a running binary is never overwritten.
for t in $targets; do
  mv "$tmp.$t" "$out/$t"
done
echo "built $(for t in $targets; do printf '%s ' "$out/$t"; done)"
