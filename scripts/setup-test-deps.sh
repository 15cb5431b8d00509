#!/usr/bin/env bash
# Installs the system programs the test suite talks to (never mocked):
#   mdb_stat / mdb_dump (lmdb-utils)  - format proof against liblmdb's own tools
#   mosquitto                         - external-broker mode, started by tests on a free port
#   strace                            - durability proof: data syncs before acks, per system call;
#                                       the journal's one fdatasync per group commit
#   etcd / etcdctl (etcd-server, etcd-client) - cluster table and membership, started by tests
#   chromium                          - the dashboard tests drive Debian's headless Chromium
#   systemd-analyze (systemd)         - install-service: `systemd-analyze verify` checks the written unit
#   g++ / make / python3              - node-gyp builds the native addon
#   cc (gcc)                          - the power-cut harness compiles its LD_PRELOAD shim
#   openssl                           - the TLS tests make their CA, server and client certificates
# As root it uses apt-get; otherwise it checks and fails with a clear message.
set -euo pipefail
need=()
command -v mdb_stat >/dev/null 2>&1 || need+=(lmdb-utils)
command -v mdb_dump >/dev/null 2>&1 || need+=(lmdb-utils)
command -v mosquitto >/dev/null 2>&1 && [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v strace >/dev/null 2>&1 || need+=(strace)
[ -x /usr/bin/etcd ] || command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v make >/dev/null 2>&1 || need+=(make)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v file >/dev/null 2>&1 || need+=(file)
if [ "${#need[@]}" -eq 0 ]; then exit 0; fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup-test-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The Debian package starts a system mosquitto on :1883; tests start their own on free ports.
  # Same for etcd-server (a system etcd on :2379).
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now mosquitto etcd >/dev/null 2>&1 || true; fi
else
  echo "setup-test-deps: missing ${need[*]}; install them with: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
