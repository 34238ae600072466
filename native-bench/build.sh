#!/bin/sh
# Builds the C baseline with the system compiler into native-bench/build/.
# No downloads. CC overrides the compiler (default: cc).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/build"
cc=${CC:-cc}
cflags="-O2 -Wall -Wextra -Werror -std=gnu11"
mkdir -p "$out"
# Temporary names per build: two builds at once (parallel tests) never write the same file.
tmp="$out/.tmp.$$"
trap 'rm -f "$tmp.hot_path" "$tmp.relay"' EXIT
"$cc" $cflags -o "$tmp.hot_path" "$here/hot_path.c" "$here/rtp_hot.c" -lm
"$cc" $cflags -pthread -o "$tmp.relay" "$here/relay.c" "$here/rtp_hot.c"
# Renamed into place only after both compiled (rename is atomic): a failed build
# never leaves a half-updated pair, and a running binary is never overwritten.
mv "$tmp.hot_path" "$out/hot_path"
mv "$tmp.relay" "$out/relay"
echo "built $out/hot_path $out/relay"
