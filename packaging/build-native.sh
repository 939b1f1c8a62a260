#!/usr/bin/env bash
# Builds `yard` ahead of time (NativeAOT) into .build/native/yard, and beside it the CNI plugin
# .build/native/switchyard (what `yard cni install` copies), when the sources are newer than the
# last build, and prints yard's path. This is the binary to install (/usr/local/bin/yard, used by
# packaging/switchyard.service) and the one bench/run.sh measures: no JIT, only the code it uses,
# about half the resident memory of the JIT build (docs/performance.md). Needs clang and zlib1g-dev.
#
#   packaging/build-native.sh          build if stale, print the binary's path
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/.build/native"
rid="linux-$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')"
stale() {
  [ ! -x "$out/yard" ] || [ ! -x "$out/switchyard" ] || [ -n "$(find "$root/src" "$root/Directory.Build.props" "$root/Directory.Packages.props" \
      \( -path '*/obj' -o -path '*/bin' \) -prune -o -newer "$out/yard" -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.script' \
      -o -path '*/Dashboard/Assets/*' \) -print -quit)" ]
}
if stale; then
  missing=()
  command -v clang >/dev/null || missing+=(clang)
  dpkg -s zlib1g-dev >/dev/null 2>&1 || missing+=(zlib1g-dev)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "build-native: installing ${missing[*]}" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  mkdir -p "$root/.build"
  exec 9>"$root/.build/native.lock"
  flock 9
  if stale; then
    echo "build-native: publishing yard and the CNI plugin with NativeAOT for $rid (a few minutes)..." >&2
    # The framework's OpenAPI/MVC metadata code carries trim warnings we do not use at run time
    # (the OpenAPI document is built from source-generated handlers); they stay warnings here.
    # The binary is dated when the build began, not when it ended: a source edited meanwhile is newer.
    touch "$root/.build/native.started"
    dotnet publish "$root/src/Switchyard.Cli/Switchyard.Cli.csproj" -c Release -r "$rid" -p:PublishAot=true \
      -p:TreatWarningsAsErrors=false -o "$out" -nologo -v quiet -clp:ErrorsOnly >&2
    # The CNI plugin: a runtime starts it once per container operation, so it must start fast.
    dotnet publish "$root/src/Switchyard.Cni/Switchyard.Cni.csproj" -c Release -r "$rid" -p:PublishAot=true \
      -o "$out" -nologo -v quiet -clp:ErrorsOnly >&2
    touch -r "$root/.build/native.started" "$out/yard" "$out/switchyard"
  fi
fi
echo "$out/yard"
