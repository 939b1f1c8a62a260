#!/usr/bin/env bash
# Coverage-guided fuzzing of every wire parser (docs/fuzzing.md): builds fuzz/Switchyard.Fuzz,
# instruments copies of Switchyard.Packets.dll and Switchyard.Network.dll with sharpfuzz, and
# runs AFL++ on each target in turn from its seeds in fuzz/corpus/TARGET, SECONDS each.
# Prints one row per target (execs, paths, crashes, hangs) and exits 1 when any target crashed
# or hung; the inputs are kept in fuzz/out/findings/TARGET/ and replayed with their stack traces.
#
#   fuzz/run.sh SECONDS [TARGET...]      e.g. fuzz/run.sh 5 (CI), fuzz/run.sh 300 dns tls
#
# Needs afl++ (Debian package) and the .NET SDK; installs the sharpfuzz tool (NuGet
# SharpFuzz.CommandLine) into fuzz/out/tools the first time. One target at a time: AFL++ keeps a
# core busy, and the machine may be shared.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-}
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: fuzz/run.sh SECONDS [TARGET...]" >&2
  exit 2
fi
shift

command -v afl-fuzz >/dev/null || { echo "fuzz/run.sh: afl-fuzz not found (apt-get install afl++)" >&2; exit 2; }
out=fuzz/out
tools=$out/tools
sharpfuzz_version=2.3.0
if [ ! -x "$tools/sharpfuzz" ]; then
  dotnet tool install SharpFuzz.CommandLine --version "$sharpfuzz_version" --tool-path "$tools" >/dev/null
fi

# Two copies of the build: plain (to replay findings with readable stack traces; instrumented code
# only runs under afl-fuzz) and instrumented (what AFL++ runs).
plain=$out/plain
instrumented=$out/instrumented
rm -rf "$plain" "$instrumented"
dotnet build fuzz/Switchyard.Fuzz -c Release -v quiet -clp:ErrorsOnly -nologo -o "$plain" | grep -v -e "^$" -e "Build succeeded" -e "Warning(s)" -e "Error(s)" -e "Time Elapsed" >&2 || true
test -f "$plain/Switchyard.Fuzz.dll" || { echo "fuzz/run.sh: the build failed" >&2; exit 2; }
cp -r "$plain" "$instrumented"
for dll in Switchyard.Packets.dll Switchyard.Network.dll; do "$tools/sharpfuzz" "$instrumented/$dll" >/dev/null; done

if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(dotnet "$plain/Switchyard.Fuzz.dll" --list); fi

# The seeds must pass before AFL++ starts: it refuses a corpus whose inputs crash.
for t in "${targets[@]}"; do
  [ -d "fuzz/corpus/$t" ] || { echo "fuzz/run.sh: no target $t, or no seeds in fuzz/corpus/$t" >&2; exit 2; }
done
if ! dotnet "$plain/Switchyard.Fuzz.dll" --check fuzz/corpus >"$out/seeds.log" 2>&1; then
  echo "fuzz/run.sh: a seed fails:" >&2; cat "$out/seeds.log" >&2; exit 1
fi

# dotnet is not instrumented itself (the assemblies are); no UI, no core pinning on a shared
# machine; a crash is an exception SharpFuzz reports, not a core dump.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_QUIET=1 DOTNET_TieredPGO=0 DOTNET_CLI_TELEMETRY_OPTOUT=1

stat() { awk -v k="$1" -F' *: *' '$1 == k { print $2 }' "$2" 2>/dev/null; }

failed=0
rows=()
for t in "${targets[@]}"; do
  work=$out/afl/$t
  # -t: a JIT-compiled first run and a busy machine need room; a parser that takes seconds is a hang.
  # -D: the deterministic stages (every bit flip, every interesting value at every byte) first, as
  # AFL did by default: the inputs are short and structured, and one flipped bit of a length or
  # offset field is what finds a bug (the reassembly hole took 850 inputs with -D, none in 600,000
  # without).
  # AFL++ now and then sees an empty map on its first run of a SharpFuzz target ("No instrumentation
  # detected") and gives up before fuzzing; starting it again gets past that.
  ok=0
  for attempt in 1 2 3; do
    rm -rf "$work" && mkdir -p "$work"
    if afl-fuzz -D -V "$seconds" -i "fuzz/corpus/$t" -o "$work" -t 10000 -m none -- \
        dotnet "$instrumented/Switchyard.Fuzz.dll" "$t" >"$work/afl.log" 2>&1; then ok=1; break; fi
    grep -q "No instrumentation detected" "$work/afl.log" || break
  done
  if [ "$ok" -ne 1 ]; then
    echo "fuzz/run.sh: afl-fuzz failed on $t:" >&2; tail -20 "$work/afl.log" >&2
    rows+=("$(printf '%-10s %10s %7s %8s %6s' "$t" - - error -)")
    failed=1
    continue
  fi
  stats=$work/default/fuzzer_stats
  execs=$(stat execs_done "$stats"); paths=$(stat corpus_count "$stats"); paths=${paths:-$(stat paths_total "$stats")}
  crashes=$(stat saved_crashes "$stats"); crashes=${crashes:-$(stat unique_crashes "$stats")}
  hangs=$(stat saved_hangs "$stats"); hangs=${hangs:-$(stat unique_hangs "$stats")}
  rows+=("$(printf '%-10s %10s %7s %8s %6s' "$t" "${execs:-0}" "${paths:-0}" "${crashes:-0}" "${hangs:-0}")")
  if [ "${crashes:-0}" != 0 ] || [ "${hangs:-0}" != 0 ]; then
    failed=1
    findings=$out/findings/$t
    mkdir -p "$findings"
    for f in "$work"/default/crashes/id:* "$work"/default/hangs/id:*; do
      [ -e "$f" ] || continue
      kept="$findings/$(sha1sum "$f" | cut -c1-16)"
      cp "$f" "$kept"
      echo "== $t: $kept" >&2
      timeout 60 dotnet "$plain/Switchyard.Fuzz.dll" "$t" "$kept" 2>&1 | head -15 >&2 || true
    done
  fi
done

printf '%-10s %10s %7s %8s %6s\n' target execs paths crashes hangs
printf '%s\n' "${rows[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz/run.sh: findings kept in $out/findings (replay: dotnet $plain/Switchyard.Fuzz.dll TARGET FILE)" >&2
  exit 1
fi
