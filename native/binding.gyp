# Built by native/build.mjs (npm install, npm run build:addon) with node-gyp
# against the running Node's own headers (--nodedir): nothing is downloaded.
{
  "targets": [
    {
      "target_name": "udp_batch",
      "sources": ["src/udp_batch.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-fvisibility=hidden"],
      "cflags!": ["-fno-exceptions"],
    }
  ]
}
