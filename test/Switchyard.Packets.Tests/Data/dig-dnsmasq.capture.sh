set -x
PORT=53535
ss -uln | grep -q ":$PORT " && { echo port busy; exit 1; }
dnsmasq -k --no-resolv --no-hosts --pid-file= --listen-address=127.0.0.1 --bind-interfaces --port=$PORT --local-ttl=300 \
  --address=/example.test/192.0.2.7 --local=/sy.test/ \
  --host-record=host.sy.test,192.0.2.10,2001:db8::10 \
  --txt-record=txt.sy.test,"hello world","second" \
  --srv-host=_sip._udp.sy.test,host.sy.test,5060,10,20 \
  --cname=alias.sy.test,host.sy.test \
  --ptr-record=7.2.0.192.in-addr.arpa,ptr.sy.test &
DPID=$!
sleep 1
tcpdump -i lo -U -w /tmp/dnscap/dig.pcap udp port $PORT &
TPID=$!
sleep 2
D="dig @127.0.0.1 -p $PORT +tries=1 +time=2"
$D www.example.test A
$D host.sy.test A +noedns
$D host.sy.test AAAA
$D -x 192.0.2.7
$D alias.sy.test A +noedns
$D _sip._udp.sy.test SRV
$D txt.sy.test TXT +noedns
$D missing.sy.test A
sleep 1
kill $TPID; sleep 1
kill $DPID
wait
