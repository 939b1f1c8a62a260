// The tables and facts of one network: what GET /networks, /endpoints and /flows say, as DOM.
import { el, clear, bytes, rate, count, duration } from './dom.js';
import { drawSparkline } from './charts.js';
import { linkState } from './topology.js';

/** The egress policy in one line. */
export function policyText(p) {
  if (!p) return 'none (all outside traffic allowed)';
  if (p.default === 'deny') return `allowlist: ${p.allow?.length ? p.allow.join(', ') : 'nothing'}`;
  return `denylist: ${p.deny?.length ? p.deny.join(', ') : 'nothing'}`;
}

/** The network's settings and gateway counters as a definition list. */
export function renderFacts(dl, net) {
  const rows = [
    ['Mode', net.mode + (net.bridgeInterface && !net.mode.includes(':') ? ` (${net.bridgeInterface})` : '')],
    ['Subnet', net.subnet],
    ['Gateway', `${net.gateway} (${net.gatewayMac})`],
    net.ipv6Prefix ? ['IPv6', `${net.ipv6Prefix}, gateway ${net.ipv6Gateway}`] : null,
    ['Domain', net.domain],
    ['DNS upstreams', (net.effectiveDnsUpstreams ?? net.dnsUpstreams).join(', ') || 'host resolvers'],
    ['Egress policy', policyText(net.egress)],
    ['Endpoints', count(net.endpoints)],
    net.nat ? ['NAT flows', `${count(net.nat.tcpFlows)} tcp, ${count(net.nat.udpFlows)} udp, ${count(net.nat.icmpFlows)} icmp`] : null,
    net.services ? ['DNS queries', `${count(net.services.dnsQueries)} (${count(net.services.dnsForwarded)} forwarded, ` +
      `${count(net.services.dnsUpstreamFailures)} upstream failures)`] : null,
  ];
  clear(dl);
  for (const row of rows) {
    if (!row) continue;
    dl.append(el('dt', {}, row[0]), el('dd', {}, row[1]));
  }
}

const td = (label, text, cls) => el('td', { 'data-label': label, class: cls ?? null }, text);

function dropsText(c) {
  if (!c || !c.dropped) return '0';
  const reasons = Object.entries(c.drops).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${count(v)}`);
  return `${count(c.dropped)} (${reasons.join(', ')})`;
}

function leaseText(l) {
  if (!l) return '–';
  if (l.expires && l.state === 'bound') return `${l.state}, ${duration((Date.parse(l.expires) - Date.now()) / 1000)} left`;
  return l.state;
}

function transportText(t) {
  let where = '';
  if (t.netns || t.netnsPath) where = `${t.ifname ?? 'eth0'}@${t.netns ?? t.netnsPath}`;
  else if (t.listen || t.connect) where = t.listen ?? t.connect;
  else if (t.ifname) where = t.ifname;
  return [t.kind, where, t.state ? `(${t.state})` : ''].filter(Boolean).join(' ');
}

/** One row per endpoint, with its traffic sparkline drawn from its rate history. */
export function renderEndpoints(tbody, endpoints, historyOf) {
  clear(tbody);
  if (endpoints.length === 0) {
    tbody.append(el('tr', {}, el('td', { colspan: 11, class: 'none' }, 'no endpoints: yard endpoint attach')));
    return;
  }
  const canvases = [];
  for (const ep of endpoints) {
    const c = ep.counters;
    const h = historyOf(ep);
    const state = linkState(ep);
    const canvas = el('canvas', {
      class: 'spark', role: 'img', width: 120, height: 28,
      'aria-label': `Traffic of ${ep.name} over the last 30 s, now ${rate(h.currentIn)} from the guest and ${rate(h.currentOut)} to it`,
    });
    canvases.push([canvas, h]);
    tbody.append(el('tr', { 'data-endpoint': ep.name },
      el('th', { scope: 'row', 'data-label': 'Endpoint', title: ep.fqdn }, ep.name),
      td('Transport', transportText(ep.transport)),
      td('IPv4', ep.ipv4, 'mono'),
      td('MAC', ep.mac, 'mono'),
      td('Lease', leaseText(ep.lease)),
      el('td', { 'data-label': 'State', class: `state-${state}`, title: ep.error ?? null }, ep.state + (ep.error ? ' ⚠' : '')),
      td('Frames in / out', c ? `${count(c.framesIn)} / ${count(c.framesOut)}` : '–', 'num'),
      td('Bytes in / out', c ? `${bytes(c.bytesIn)} / ${bytes(c.bytesOut)}` : '–', 'num'),
      el('td', { 'data-label': 'Traffic' }, canvas,
        el('span', { class: 'legend' }, el('span', { class: 'in' }, `▲ ${rate(h.currentIn)}`), ' ',
          el('span', { class: 'out' }, `▼ ${rate(h.currentOut)}`))),
      td('Drops', dropsText(c), 'num'),
      td('Published', ep.published?.length ? ep.published.join(', ') : '–', 'mono')));
  }
  // Drawn once in the document, where the canvas has its CSS size.
  for (const [canvas, h] of canvases) drawSparkline(canvas, h);
}

/** The NAT's flows, busiest first; null when the daemon does not report them. */
export function renderFlows(tbody, flows) {
  clear(tbody);
  if (!flows || flows.length === 0) {
    tbody.append(el('tr', {}, el('td', { colspan: 8, class: 'none' }, 'no flows')));
    return;
  }
  const sorted = [...flows].sort((a, b) => (b.bytesFromGuest + b.bytesToGuest) - (a.bytesFromGuest + a.bytesToGuest));
  for (const f of sorted.slice(0, 50)) {
    tbody.append(el('tr', { 'data-protocol': f.protocol, 'data-destination': f.destination },
      td('Protocol', f.protocol + (f.published ? ' (published)' : '')),
      td('Endpoint', f.endpoint ?? '–'),
      td('Guest', f.guest, 'mono'),
      td('Destination', f.destination, 'mono'),
      td('State', f.state),
      td('Age', duration(f.ageSeconds), 'num'),
      td('Idle', duration(f.idleSeconds), 'num'),
      td('Bytes out / in', `${bytes(f.bytesFromGuest)} / ${bytes(f.bytesToGuest)}`, 'num')));
  }
}
