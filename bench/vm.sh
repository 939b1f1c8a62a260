# shellcheck shell=bash
# bench/run.sh's vm section (issue 15): the VM socket path. What a VM without offloads gets from each stack when its
# NIC is a socket: the bench's relay (bench/relay, switchyard-bench-relay) stands in for the VM's virtio-net, a TAP
# in a guest namespace without vnet headers (every frame at most MTU + 14 bytes, no TSO, no checksum offload)
# relayed to and from the stack's socket, batched. Behind the same relay:
#
#   passt    passt listening on a unix socket (QEMU's stream framing, a 4-byte length before each frame), the
#            guest's gateway mapped to the host's loopback (passt's default); the yardstick
#   stream   Switchyard: a nat network, the endpoint `--stream-listen PATH` (the same framing as passt's)
#   dgram    the endpoint `--dgram-listen PATH`: a frame per unix datagram
#   udp      the endpoint `--udp-listen 127.0.0.1:PORT`: a frame per UDP datagram (MTU 1500 only: a frame of
#            65534 bytes does not fit a datagram)
#
# at MTU 1500 and 65520 (VM_MTUS), the workloads of peers.sh (tx, rx, rr p50, crr) from the guest to the host's
# loopback servers through the stack's gateway, and the CPU-seconds the stack's own process (passt, or our daemon)
# spent per GB moved during tx and rx (utime + stime from /proc/PID/stat around the iperf3 run), with the relay's
# own next to it (so a relay that is the bottleneck shows). Then each of ours against passt at the same MTU.
#
# Sourced by run.sh, which defines id, tmp, nsn, SECS, yard(), bounded(), reachable(), daemon_pid, bg_pids and the
# servers (servers_up/servers_down). VM_STACKS="passt stream dgram udp" and VM_MTUS="1500 65520" pick rows. With
# BASELINE=DIR the baseline daemon's stream, dgram and udp rows follow (base_stream ...), compared with ours.
#
#   BENCH=vm timeout 1800 bench/run.sh 5
#   BENCH=vm BASELINE=../main-checkout VM_STACKS="passt stream base_stream" timeout 1800 bench/run.sh 5

VM_RELAY=""

# vm_build_relay: a Release build of the relay into $tmp/relay (outside the measurements).
vm_build_relay() {
  if dotnet build "$root/bench/relay/Switchyard.BenchRelay.csproj" -c Release -v quiet -clp:ErrorsOnly -nologo \
       -o "$tmp/relay" >"$tmp/relay-build.log" 2>&1; then
    VM_RELAY="$tmp/relay/switchyard-bench-relay"
  else
    cat "$tmp/relay-build.log" >>"$tmp/up.log"; return 1
  fi
}

# cpu_ticks PID -> utime + stime of the whole process (all threads), in clock ticks (fields 14 and 15 of
# /proc/PID/stat, counted after the ")" that ends the command name).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'; }

# vm_iperf NS GW [-R] -> "GBITS BYTES" (what the receiver got), "- -" when nothing passed. A server of its own for each
# run (iperf3 -s -1 on a port of its own): a client killed by its timeout can leave a shared server busy for the next rows.
vm_iperf() {
  local out port=$((5300 + nsn % 100))
  ( timeout $((SECS + 40)) iperf3 -s -1 -p "$port" >/dev/null 2>&1 & echo $! >"$tmp/vm-iperf.pid" )
  bg_pids+=("$(cat "$tmp/vm-iperf.pid")")
  sleep 0.3
  out=$(ip netns exec "$1" timeout -k 5 $((SECS + 30)) iperf3 -c "$2" -p "$port" -t "$SECS" -f g ${3:+"$3"} -J 2>/dev/null |
    awk -F'[:,]' '/"sum_received"/{f=1} f&&/"bytes"/{b=$2} f&&/bits_per_second/{printf "%.2f %d\n", $2/1e9, b; exit}')
  stop_pid "$(cat "$tmp/vm-iperf.pid")"
  echo "${out:-- -}"
}

# vm_cost TICKS BYTES -> CPU-seconds per GB (10^9 bytes)
vm_cost() {
  awk -v t="$1" -v b="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (t == "" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f\n", (t / hz) / (b / 1e9) }'
}

# vm_relay NS MTU MAC ADDRESS/24 GATEWAY LINK-OPTIONS...: starts the relay, waits for its "ready" line; its PID in $tmp/$NS.relay.pid.
vm_relay() {
  local ns=$1 mtu=$2 mac=$3 addr=$4 gw=$5; shift 5
  ( "$VM_RELAY" --netns "$ns" --mtu "$mtu" --mac "$mac" --address "$addr" --gateway "$gw" "$@" \
      >"$tmp/$ns.relay.out" 2>>"$tmp/up.log" & echo $! >"$tmp/$ns.relay.pid" )
  bg_pids+=("$(cat "$tmp/$ns.relay.pid")")
  for _ in $(seq 100); do grep -q '"ready"' "$tmp/$ns.relay.out" 2>/dev/null && return 0; sleep 0.1; done
  echo "relay for $ns did not come up: $(cat "$tmp/$ns.relay.out")" >>"$tmp/up.log"
  return 1
}

# stop_pid PID: SIGTERM by PID and wait up to 10 s.
stop_pid() {
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
}

# up_vm_STACK NS MTU -> prints "GATEWAY STACK-PID"; nothing when it did not come up.
up_vm_passt() {
  local ns=$1 mtu=$2 sock="$tmp/$1.passt.sock"
  ip netns add "$ns" || return 0
  # -1: one client, then exit; -f: in the foreground (its PID is ours to stop); the guest gets 10.207.0.2/24 and
  # reaches the host's loopback at its gateway 10.207.0.1 (passt maps the gateway to the host unless --no-map-gw).
  ( passt -f -q -1 --runas 0 -s "$sock" -m "$mtu" -a 10.207.0.2 -n 24 -g 10.207.0.1 -P "$tmp/$ns.passt.pid" \
      >"$tmp/$ns.passt.log" 2>&1 & echo $! >"$tmp/$ns.passt.bgpid" )
  bg_pids+=("$(cat "$tmp/$ns.passt.bgpid")")
  for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
  [ -S "$sock" ] || { echo "passt did not come up: $(grep -v syslog "$tmp/$ns.passt.log" | tail -n 3)" >>"$tmp/up.log"; return 0; }
  vm_relay "$ns" "$mtu" 02:52:4c:00:00:02 10.207.0.2/24 10.207.0.1 --stream-connect "$sock" || return 0
  echo "10.207.0.1 $(cat "$tmp/$ns.passt.bgpid")"
}
down_vm_passt() {
  stop_pid "$(cat "$tmp/$1.relay.pid" 2>/dev/null)"
  stop_pid "$(cat "$tmp/$1.passt.bgpid" 2>/dev/null)"
  ip netns del "$1" 2>/dev/null
  return 0
}

# up_vm_ours NS MTU KIND: a nat network named NS, the endpoint on a socket of KIND, the relay on it.
up_vm_ours() {
  local ns=$1 mtu=$2 kind=$3 net=$((nsn % 200)) gw="" listen connect
  local mac=02:52:4c:00:01:02 addr="10.208.$net.2"
  ip netns add "$ns" || return 0
  case $kind in
    stream) listen=(--stream-listen "$tmp/$ns.sock"); connect=(--stream-connect "$tmp/$ns.sock") ;;
    dgram) listen=(--dgram-listen "$tmp/$ns.sock"); connect=(--dgram-connect "$tmp/$ns.sock") ;;
    udp) local port=$((30000 + RANDOM % 20000))
         listen=(--udp-listen "127.0.0.1:$port"); connect=(--udp-connect "127.0.0.1:$port") ;;
  esac
  yard network create "$ns" --mode nat --mtu "$mtu" --subnet "10.208.$net.0/24" --dns-upstream none >/dev/null 2>>"$tmp/up.log" || return 0
  yard endpoint attach "$ns" guest "${listen[@]}" --mac "$mac" --ip "$addr" >/dev/null 2>>"$tmp/up.log" || return 0
  gw=$(yard network inspect "$ns" | sed -n 's/^ *"gateway": "\([0-9.]*\)".*/\1/p')
  [ -n "$gw" ] || return 0
  vm_relay "$ns" "$mtu" "$mac" "$addr/24" "$gw" "${connect[@]}" || return 0
  echo "$gw $daemon_pid"
}
down_vm_ours() {
  stop_pid "$(cat "$tmp/$1.relay.pid" 2>/dev/null)"
  yard endpoint detach "$1" guest >/dev/null 2>&1
  yard network rm "$1" >/dev/null 2>&1
  ip netns del "$1" 2>/dev/null
  return 0
}
up_vm_stream() { up_vm_ours "$1" "$2" stream; }
up_vm_dgram() { up_vm_ours "$1" "$2" dgram; }
up_vm_udp() { up_vm_ours "$1" "$2" udp; }
down_vm_stream() { down_vm_ours "$1"; }
down_vm_dgram() { down_vm_ours "$1"; }
down_vm_udp() { down_vm_ours "$1"; }
# With BASELINE=DIR, the same three through the baseline daemon (run.sh's base.sock), to compare a change with main.
up_vm_base_stream() { YARD_SOCK="$tmp/base.sock" daemon_pid=$base_pid up_vm_ours "$1" "$2" stream; }
up_vm_base_dgram() { YARD_SOCK="$tmp/base.sock" daemon_pid=$base_pid up_vm_ours "$1" "$2" dgram; }
up_vm_base_udp() { YARD_SOCK="$tmp/base.sock" daemon_pid=$base_pid up_vm_ours "$1" "$2" udp; }
down_vm_base_stream() { YARD_SOCK="$tmp/base.sock" down_vm_ours "$1"; }
down_vm_base_dgram() { YARD_SOCK="$tmp/base.sock" down_vm_ours "$1"; }
down_vm_base_udp() { YARD_SOCK="$tmp/base.sock" down_vm_ours "$1"; }

vm_row() { printf '%-11s %6s %8s %8s %9s %8s %9s %9s %11s\n' "$@"; }

# vm_measure STACK MTU: one guest behind the relay through STACK; prints the row, appends it to $tmp/vm.
vm_measure() {
  local stack=$1 mtu=$2 ns up gw="" pid="" relay="" tx="- -" rx="- -" rr="" crr="" t0 r0 txc="-" rxc="-" rtx="-" rrx="-"
  nsn=$((nsn + 1)); ns="yb$id$nsn"
  up=$("up_vm_$stack" "$ns" "$mtu" 2>>"$tmp/up.log") || up=""
  gw=${up% *}; pid=${up#* }
  relay=$(cat "$tmp/$ns.relay.pid" 2>/dev/null || true)
  if [ -n "$up" ] && reachable "$ns" "$gw"; then
    t0=$(cpu_ticks "$pid"); r0=$(cpu_ticks "$relay")
    tx=$(vm_iperf "$ns" "$gw")
    txc=$(vm_cost "$(( $(cpu_ticks "$pid") - t0 ))" "${tx#* }"); rtx=$(vm_cost "$(( $(cpu_ticks "$relay") - r0 ))" "${tx#* }")
    t0=$(cpu_ticks "$pid"); r0=$(cpu_ticks "$relay")
    rx=$(vm_iperf "$ns" "$gw" -R)
    rxc=$(vm_cost "$(( $(cpu_ticks "$pid") - t0 ))" "${rx#* }"); rrx=$(vm_cost "$(( $(cpu_ticks "$relay") - r0 ))" "${rx#* }")
    rr=$(bounded tcp_rr "$ns" "$gw"); crr=$(bounded tcp_crr "$ns" "$gw")
  elif [ -n "$up" ]; then
    echo "vm $stack MTU $mtu: no traffic to the host through $gw" >>"$tmp/up.log"
  else
    echo "vm $stack MTU $mtu: did not come up" >>"$tmp/up.log"
  fi
  "down_vm_$stack" "$ns" >/dev/null 2>&1 || true
  vm_row "$stack" "$mtu" "${tx% *}" "${rx% *}" "${rr:--}" "${crr:--}" "$txc" "$rxc" "$rtx/$rrx"
  echo "$stack $mtu ${tx% *} ${rx% *} ${rr:--} ${crr:--} $txc $rxc" >>"$tmp/vm"
}

vm_section() {
  local mtu stack stacks=${VM_STACKS:-passt stream dgram udp${base_pid:+ base_stream base_dgram base_udp}}
  if ! vm_build_relay; then
    echo "vm: the relay did not build (see the notes)"; return 0
  fi
  servers_up; servers_started=1
  : >"$tmp/vm"
  echo "VM socket path: a TAP without offloads behind switchyard-bench-relay (batch 64), guest -> host loopback"
  vm_row stack mtu 'tx Gb/s' 'rx Gb/s' 'rr p50 us' 'crr/s' 'tx s/GB' 'rx s/GB' 'relay tx/rx'
  for mtu in ${VM_MTUS:-1500 65520}; do
    for stack in $stacks; do
      if [[ $stack == *udp ]] && [ "$mtu" -gt 65493 ]; then continue; fi
      vm_measure "$stack" "$mtu"
    done
  done
  # A server that died during the run (iperf3 -s can, after a client killed by its timeout) makes kill fail: not an error here.
  servers_down || true; servers_started=""
  echo
  # vcell STACK MTU COLUMN(3=tx 4=rx 5=rr 6=crr 7=tx s/GB 8=rx s/GB)
  vcell() { awk -v s="$1" -v m="$2" -v c="$3" '$1 == s && $2 == m { print $c; found = 1 } END { if (!found) print "-" }' "$tmp/vm"; }
  for mtu in ${VM_MTUS:-1500 65520}; do
    for stack in $stacks; do
      [ "$stack" = passt ] && continue
      if [[ $stack == *udp ]] && [ "$mtu" -gt 65493 ]; then continue; fi
      target "$stack/passt tx, MTU $mtu" "$(vcell "$stack" "$mtu" 3)" "$(vcell passt "$mtu" 3)" ">=" 1.0
      target "$stack/passt rx, MTU $mtu" "$(vcell "$stack" "$mtu" 4)" "$(vcell passt "$mtu" 4)" ">=" 1.0
      target "$stack/passt crr, MTU $mtu" "$(vcell "$stack" "$mtu" 6)" "$(vcell passt "$mtu" 6)" ">=" 1.0
      compare "$stack/passt rr p50, MTU $mtu" "$(vcell "$stack" "$mtu" 5)" "$(vcell passt "$mtu" 5)"
      compare "$stack/passt tx CPU s/GB, MTU $mtu" "$(vcell "$stack" "$mtu" 7)" "$(vcell passt "$mtu" 7)"
      compare "$stack/passt rx CPU s/GB, MTU $mtu" "$(vcell "$stack" "$mtu" 8)" "$(vcell passt "$mtu" 8)"
      if [[ $stack == base_* ]]; then
        local ours=${stack#base_} c
        for c in 3:tx 4:rx 5:"rr p50" 6:crr 7:"tx CPU s/GB" 8:"rx CPU s/GB"; do
          compare "$ours/$stack ${c#*:}, MTU $mtu" "$(vcell "$ours" "$mtu" "${c%%:*}")" "$(vcell "$stack" "$mtu" "${c%%:*}")"
        done
      fi
    done
  done
}
