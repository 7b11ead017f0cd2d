#!/usr/bin/env bash
# NEEDS A MAC. Checks, on real macOS, the parts of kdev that CI (Linux) cannot run:
#   1. host probes: sysctl kern.hv_support / sysctl.proc_translated, sw_vers, vfkit --version
#   2. the gvproxy forwarder integration test against macOS's gvproxy
#   3. QEMU on Hypervisor.framework (-accel hvf -cpu host; arm64 virt,highmem=on + Image)
#   4. QEMU on gvproxy (-netdev stream to -listen-qemu): static lease, SSH through the forward
#   5. vfkit: boot (Image, initrd, hvc0 console), disks found by serial, gvproxy over unixgram,
#      REST state, graceful Stop and forced stop, data kept across stop/start
#   6. vfkit --network vmnet: NAT device, the guest's DHCP lease found, forwards by kdev's forwarder
#   7. every listening port of the machine's helpers is on 127.0.0.1; the guest cannot reach
#      gvproxy's API on 192.168.127.1:80 (needs an image with /etc/kdev/guard.nft)
#
# Usage, from a clone of the repository (Apple silicon or Intel, macOS 13+):
#   brew install node qemu vfkit podman     # podman ships gvproxy
#   KDEV_IMAGE=/path/to/kdev-image bash scripts/verify-macos.sh
# KDEV_IMAGE is a folder with the guest image for this Mac's arch (Image or bzImage, initrd,
# cmdline, SHA256SUMS), built on Linux with `kdev iso build` (aarch64 for Apple silicon).
# Everything runs under a throwaway KDEV_HOME; nothing else of yours is touched. Paste the
# summary at the end into the issue.
set -uo pipefail

[[ $(uname -s) == Darwin ]] || { echo "this script needs macOS (found $(uname -s))" >&2; exit 2; }
[[ -n ${KDEV_IMAGE:-} && -d ${KDEV_IMAGE:-} ]] || {
  echo "set KDEV_IMAGE to a kdev guest image folder for $(uname -m) (built with: kdev iso build)" >&2
  exit 2
}
cd "$(dirname "$0")/.."

pass=0
fail=0
results=()
check() { # check NAME COMMAND...: runs it, records PASS/FAIL, never stops the script
  local name=$1
  shift
  local out
  if out=$("$@" 2>&1); then
    pass=$((pass + 1))
    results+=("PASS  $name")
  else
    fail=$((fail + 1))
    results+=("FAIL  $name")
    printf '%s\n' "--- $name failed:" "$out" | tail -n 20 >&2
  fi
}

KDEV_HOME=$(mktemp -d /tmp/kdev-mac.XXXXXX) # short: unix socket paths must stay < 104 bytes
export KDEV_HOME
gvproxy_bin=${KDEV_GVPROXY:-$(command -v gvproxy || ls /opt/homebrew/opt/podman/libexec/podman/gvproxy /usr/local/opt/podman/libexec/podman/gvproxy /opt/podman/bin/gvproxy 2>/dev/null | head -n 1)}
export KDEV_GVPROXY=$gvproxy_bin
kdev() { node bin/run.js "$@"; }
cleanup() { kdev delete --all >/dev/null 2>&1; rm -rf "$KDEV_HOME"; }
trap cleanup EXIT

echo "== host"
sw_vers
uname -m
echo "kern.hv_support=$(sysctl -n kern.hv_support 2>/dev/null) proc_translated=$(sysctl -n sysctl.proc_translated 2>/dev/null || echo absent)"
vfkit --version || true
echo "gvproxy: ${gvproxy_bin:-not found}"
echo "qemu edk2: $(ls "$(brew --prefix)"/share/qemu/edk2-aarch64-code.fd 2>/dev/null || echo none)"

echo "== build"
npm ci --no-audit --no-fund >/dev/null && npm run build >/dev/null || { echo "build failed" >&2; exit 1; }

echo "== unit and integration tests that matter on macOS"
check "unit: vfkit argv, host checks, gvproxy argv, hvf argv, accel, kernel image, dhcpd_leases" \
  env NODE_OPTIONS=--experimental-vm-modules npx jest test/unit/vm
check "integration: vfkit REST client" \
  env NODE_OPTIONS=--experimental-vm-modules npx jest test/integration/vm/vfkit-rest.test.ts
check "integration: gvproxy forwarder API (real gvproxy)" \
  env NODE_OPTIONS=--experimental-vm-modules npx jest test/integration/vm/gvproxy.test.ts

start() { kdev start --no-kubernetes --memory 2g --cpus 2 --disk-size 8g --iso-url "$KDEV_IMAGE" "$@"; }
guest() { local p=$1; shift; kdev ssh -p "$p" -- sh -c "$*"; }
only_loopback() { # the machine's helpers listen on 127.0.0.1 only
  local pids
  pids=$(pgrep -f "$KDEV_HOME/machines/$1/" | tr '\n' ',')
  [[ -n $pids ]] || return 1
  ! lsof -nP -a -iTCP -sTCP:LISTEN -p "${pids%,}" | awk 'NR > 1 { print $9 }' | grep -v '^127\.0\.0\.1:'
}
accel_is_hvf() { grep -q '"accel": "hvf"' "$KDEV_HOME/machines/$1/machine.json"; }
persists() { # marker on the data disk survives a graceful stop and a start
  guest "$1" 'echo kept | sudo tee /var/lib/kdev/marker >/dev/null' &&
    kdev stop -p "$1" && start -p "$1" "${@:2}" && [[ $(guest "$1" 'cat /var/lib/kdev/marker') == kept ]]
}
api_blocked() { # a guest process must not reach gvproxy's API
  guest "$1" 'test -e /etc/kdev/guard.nft' || { echo "image has no /etc/kdev/guard.nft"; return 1; }
  ! guest "$1" 'printf "GET /services/forwarder/all HTTP/1.0\r\n\r\n" | socat -t5 - TCP:192.168.127.1:80,connect-timeout=5'
}

echo "== QEMU on Hypervisor.framework (user networking)"
check "qemu-hvf: start" start -p mq --driver qemu
check "qemu-hvf: accelerator is hvf" accel_is_hvf mq
check "qemu-hvf: ssh" guest mq 'uname -m'
check "qemu-hvf: data survives stop/start" persists mq --driver qemu
check "qemu-hvf: delete" kdev delete -p mq

echo "== QEMU on gvproxy"
check "qemu-gvproxy: start" start -p mg --driver qemu --network gvproxy
check "qemu-gvproxy: static lease 192.168.127.2" guest mg 'ip -4 -o addr show | grep -q "inet 192.168.127.2/"'
check "qemu-gvproxy: ports on 127.0.0.1 only" only_loopback mg
check "qemu-gvproxy: guest cannot use gvproxy's API" api_blocked mg
check "qemu-gvproxy: delete" kdev delete -p mg

echo "== vfkit (Virtualization.framework) on gvproxy"
check "vfkit: start" start -p vf --driver vfkit
check "vfkit: ssh, console on hvc0" guest vf 'uname -m && grep -q hvc0 /proc/cmdline'
check "vfkit: disks found by serial kdev-data/kdev-seed" guest vf 'ls /dev/disk/by-id/ | grep -q virtio-kdev-data && findmnt /mnt/kdev-data'
check "vfkit: static lease 192.168.127.2" guest vf 'ip -4 -o addr show | grep -q "inet 192.168.127.2/"'
check "vfkit: status Running via REST" sh -c "node bin/run.js status -p vf -o json | grep -q Running"
check "vfkit: ports on 127.0.0.1 only" only_loopback vf
check "vfkit: guest cannot use gvproxy's API" api_blocked vf
check "vfkit: data survives graceful Stop + start" persists vf --driver vfkit
check "vfkit: forced stop" kdev stop -p vf --force
check "vfkit: delete leaves nothing" sh -c "node bin/run.js delete -p vf && ! pgrep -f '$KDEV_HOME/machines/vf/'"

echo "== vfkit on macOS NAT (--network vmnet)"
lease_is_guest_ip() { local ip; ip=$(kdev ip -p "$1") && guest "$1" "ip -4 -o addr show | grep -q 'inet $ip/'"; }
check "vfkit-vmnet: start (lease found, forwarder up)" start -p vn --driver vfkit --network vmnet
check "vfkit-vmnet: kdev ip is the guest's own address" lease_is_guest_ip vn
check "vfkit-vmnet: ports on 127.0.0.1 only" only_loopback vn
check "vfkit-vmnet: stop + start finds the new lease" sh -c "node bin/run.js stop -p vn && node bin/run.js start -p vn"
check "vfkit-vmnet: delete leaves nothing" sh -c "node bin/run.js delete -p vn && ! pgrep -f '$KDEV_HOME/machines/vn/'"

echo
echo "== summary ($(sw_vers -productVersion), $(uname -m), $(vfkit --version 2>&1 | head -n 1))"
printf '%s\n' "${results[@]}"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
