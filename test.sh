#!/usr/bin/env bash
# Installs what the test suite needs (Debian packages, NuGet restore) and runs all of it:
# unit, oracle, fuzz and integration tests with real namespace guests (needs root), plus a
# build for osx-arm64 so the macOS seam keeps compiling.
#
#   ./test.sh                 everything
#   ./test.sh --filter EXPR   only tests matching a dotnet test filter
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# Tools the tests drive as real peers: udhcpc (busybox-static: also what the test VM's initramfs
# is built from), dig, dnsmasq, ping, ip, tcpdump, python3, QEMU (socket transports and a real VM),
# the outside world's servers and their clients (nginx, iperf3, socat, curl), prometheus (promtool
# checks /metrics, and a real server scrapes it), chromium and chromium-driver (the dashboard in a
# real browser), tmux (a real terminal for `yard top`), and clang and zlib1g-dev for the NativeAOT
# build of the daemon (packaging/build-native.sh), and afl++ for the coverage-guided fuzzing of the
# wire parsers (fuzz/run.sh, which installs the sharpfuzz tool from NuGet itself), and the container
# runtimes our plugins plug into: podman (CNI backend) with runc, and dockerd (docker.io).
packages=(clang zlib1g-dev busybox-static dnsutils dnsmasq-base iputils-ping iproute2 tcpdump python3 procps qemu-system-x86 cpio xz-utils
  nginx-light iperf3 socat curl prometheus chromium chromium-driver tmux afl++
  podman runc docker.io)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then echo "test.sh: need root to install packages (and for the namespace tests)" >&2; exit 1; fi
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

dotnet restore Switchyard.slnx -v quiet
dotnet build Switchyard.slnx -c Release --no-restore -v quiet -clp:ErrorsOnly -nologo
# The platform analyzer (CA1416) fails this build if Linux-only interop leaks into shared code.
dotnet build src/Switchyard.Cli/Switchyard.Cli.csproj -c Release -r osx-arm64 -v quiet -clp:ErrorsOnly -nologo -o "$(mktemp -d)"
dotnet build src/Switchyard.Cni/Switchyard.Cni.csproj -c Release -r osx-arm64 -v quiet -clp:ErrorsOnly -nologo -o "$(mktemp -d)"

# The daemon as shipped: the NativeAOT build (clang, zlib1g-dev), exercised by NativeDaemonTests.
YARD_NATIVE=$(packaging/build-native.sh)
export YARD_NATIVE

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
# Every wire parser under AFL++ for a few seconds (docs/fuzzing.md); a full run only, not with --filter.
# FUZZ_SECONDS=0 skips it; a crash fails the run and its input is kept in fuzz/out/findings.
fuzz_rc=0
if [ $# -eq 0 ] && [ "${FUZZ_SECONDS:-2}" != 0 ]; then
  fuzz/run.sh "${FUZZ_SECONDS:-2}"
  fuzz_rc=$?
fi
dotnet test Switchyard.slnx -c Release --no-build "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] && rc=$fuzz_rc
set -e
# One closing line for the whole suite, summed over the test assemblies.
awk '/(Passed|Failed)!  - Failed:/ { gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$rc"
