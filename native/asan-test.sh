#!/bin/sh
# Runs the addon's tests against an AddressSanitizer + UndefinedBehaviorSanitizer
# build of it: any out-of-bounds access, use-after-free or undefined behaviour
# in native/src aborts the test process with a report.
#
#   sh native/asan-test.sh            build native/build-asan/udp_batch.node, run the tests under it
#   sh native/asan-test.sh FILE...    the same, for other test files
#
# Node itself is not instrumented: the ASan runtime is preloaded (LD_PRELOAD) so
# it is initialised before anything else, and the engine loads this build
# instead of the regular one through TANDEM_NATIVE_IO_ADDON. Leak detection is
# off: V8 and Node keep memory at exit by design and would drown the report;
# the tests check the addon's own resources (fds, sockets) instead.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out="$here/build-asan"
cc=${CC:-gcc}

nodedir=${npm_config_nodedir:-$(cd "$(dirname "$(command -v node)")/.." && pwd)}
if [ ! -f "$nodedir/include/node/node_api.h" ]; then
  echo "asan-test: Node's headers not found under $nodedir (set npm_config_nodedir)" >&2
  exit 2
fi
libasan=$("$cc" -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
  echo "asan-test: $cc has no AddressSanitizer runtime (libasan.so)" >&2
  exit 2
fi

mkdir -p "$out"
"$cc" -shared -fPIC -std=gnu11 -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer \
  -fsanitize=address,undefined -fno-sanitize-recover=undefined \
  -DNAPI_VERSION=8 -I"$nodedir/include/node" \
  -o "$out/udp_batch.node.tmp" "$here/src/udp_batch.c"
mv "$out/udp_batch.node.tmp" "$out/udp_batch.node"
echo "asan-test: built $out/udp_batch.node"

if [ "$#" -eq 0 ]; then
  set -- test/engine/transport/udp-batch-addon.test.ts test/engine/transport/datagram-port.test.ts test/engine/transport/datagram-port-pressure.test.ts test/engine/transport/shared-rtp-port.test.ts
fi
cd "$root"
# A test that loads the regular build instead would prove nothing: the tests fail if the addon is not this one.
export TANDEM_NATIVE_IO_ADDON="$out/udp_batch.node"
export TANDEM_EXPECT_NATIVE_ADDON="$out/udp_batch.node"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=0:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
LD_PRELOAD="$libasan" exec node_modules/.bin/vitest run "$@"
