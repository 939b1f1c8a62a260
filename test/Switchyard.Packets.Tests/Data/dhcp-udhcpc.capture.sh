#!/bin/bash
# Regenerates dhcp-udhcpc.pcap: dnsmasq in one netns, busybox udhcpc (DISCOVER/REQUEST, then SIGUSR2 RELEASE) in another, tcpdump on the client veth.
# The udhcpc -s script adds $ip/$mask on bound and flushes on deconfig, so the unicast RELEASE can be sent.
# Run as root; everything (namespaces, veth, dnsmasq, tcpdump) is removed on exit. Output: $D/dhcp-udhcpc.pcap
set -u
S=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
SNS=sydsrv$S; CNS=sydcli$S; VS=vds$S; VC=vdc$S
D=${D:-/tmp/dhcpcap}
mkdir -p $D
cat > $D/script.sh <<'SCRIPT'
#!/bin/sh
case "$1" in
  bound|renew) ip addr add "$ip/${mask:-24}" dev "$interface" ;;
  deconfig) ip addr flush dev "$interface" ;;
esac
exit 0
SCRIPT
chmod +x $D/script.sh
cleanup() {
  [ -n "${TCPPID:-}" ] && kill $TCPPID 2>/dev/null; sleep 0.5
  [ -n "${DNSPID:-}" ] && kill $DNSPID 2>/dev/null
  ip netns del $SNS 2>/dev/null; ip netns del $CNS 2>/dev/null
}
trap cleanup EXIT
ip netns add $SNS; ip netns add $CNS
ip link add $VS type veth peer name $VC
ip link set $VS netns $SNS; ip link set $VC netns $CNS
ip -n $SNS link set $VS address 02:5e:ed:00:00:01
ip -n $CNS link set $VC address 02:5e:ed:00:00:02
ip -n $SNS addr add 10.237.42.1/24 dev $VS
ip -n $SNS link set lo up; ip -n $CNS link set lo up
ip -n $SNS link set $VS up; ip -n $CNS link set $VC up
sleep 1
ip netns exec $SNS dnsmasq --no-daemon --no-resolv --port=0 --interface=$VS --bind-interfaces \
  --dhcp-range=10.237.42.50,10.237.42.99,255.255.255.0,1h --dhcp-leasefile=$D/leases --pid-file=$D/dnsmasq.pid \
  --dhcp-option=option:router,10.237.42.1 --dhcp-option=option:dns-server,10.237.42.1 \
  --dhcp-option=option:domain-name,lab.internal \
  --dhcp-option=option:domain-search,a.internal,b.internal --dhcp-option=26,1400 --user=root --log-dhcp > $D/dnsmasq.log 2>&1 &
DNSPID=$!
ip netns exec $CNS tcpdump -i $VC -U -w $D/dhcp-udhcpc.pcap 'udp and (port 67 or port 68)' > $D/tcpdump.log 2>&1 &
TCPPID=$!
sleep 2
ip netns exec $CNS busybox udhcpc -f -R -n -i $VC -s $D/script.sh -x hostname:guest1 -O search -O mtu > $D/udhcpc.log 2>&1 &
UPID=$!
for i in $(seq 1 20); do grep -q obtained $D/udhcpc.log && break; sleep 0.5; done
sleep 0.5
kill -USR2 $UPID; sleep 1; kill $UPID; wait $UPID
echo "udhcpc rc=$?"
sleep 1
