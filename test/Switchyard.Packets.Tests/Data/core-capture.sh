#!/bin/bash
set -u
R=$((RANDOM % 250 + 2)); S=$RANDOM
NA=ctA$S; NB=ctB$S; VA=ctva$S; VB=ctvb$S
IPA=10.239.$R.1; IPB=10.239.$R.2
OUT=$1
TPID=""; HPID=""
cleanup() {
  [ -n "$HPID" ] && kill $HPID 2>/dev/null
  [ -n "$TPID" ] && kill $TPID 2>/dev/null
  sleep 0.3
  ip netns del $NA 2>/dev/null; ip netns del $NB 2>/dev/null
}
trap cleanup EXIT
ip netns add $NA; ip netns add $NB
for n in $NA $NB; do ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
ip link add $VA netns $NA type veth peer name $VB netns $NB
ip -n $NA addr add $IPA/24 dev $VA; ip -n $NB addr add $IPB/24 dev $VB
ip netns exec $NA ethtool -K $VA tx off rx off >/dev/null 2>&1; ip netns exec $NB ethtool -K $VB tx off rx off >/dev/null 2>&1
ip -n $NA link set $VA up; ip -n $NB link set $VB up
ip -n $NA link set lo up; ip -n $NB link set lo up
ip netns exec $NA python3 -m http.server 8080 --bind $IPA >/dev/null 2>&1 & HPID=$!
ip netns exec $NA tcpdump -U -i $VA -w $OUT >/tmp/codectests/tcpdump.log 2>&1 & TPID=$!
sleep 1.5
ip netns exec $NB ping -c 2 -i 0.3 -s 1000 $IPA
ip netns exec $NB bash -c "exec 3<>/dev/tcp/$IPA/8080; printf 'GET / HTTP/1.0\r\n\r\n' >&3; head -c 64 <&3; echo; exec 3>&-"
sleep 1
echo "ns $NA $NB ip $IPA $IPB"
