// A network's topology as inline SVG: the gateway in the middle, its guests around it, the way
// out on top (the LAN's interface when bridged, the host's NAT for nat and host networks), and
// each link coloured by the endpoint's state.
import { svg, clear } from './dom.js';

const W = 420, H = 270, CX = W / 2, CY = 150;
const LABELLED = 12;   // guests drawn with their names

/** up, down or pending (a socket transport still waiting for its VM). */
export function linkState(ep) {
  if (ep.state === 'down') return 'down';
  switch (ep.transport?.state) {
    case 'closed': return 'down';
    case 'listening': case 'connecting': case 'waiting-for-peer': return 'pending';
    default: return 'up';
  }
}

function uplinkOf(net) {
  if (net.mode.startsWith('bridged')) return { label: `uplink ${net.bridgeInterface ?? 'LAN'}`, sub: 'bridged' };
  if (net.mode === 'nat') return { label: 'outside', sub: 'via NAT' };
  if (net.mode === 'host') return { label: 'host', sub: 'via NAT' };
  return null;   // internal: no way out
}

function short(s, max = 14) { return s.length > max ? `${s.slice(0, max - 1)}…` : s; }

/** Redraws svgEl for the network and its endpoints. */
export function drawTopology(svgEl, net, endpoints) {
  clear(svgEl);
  svgEl.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const up = endpoints.filter((e) => linkState(e) === 'up').length;
  const uplink = uplinkOf(net);
  svgEl.setAttribute('aria-label',
    `Topology of ${net.name}: gateway ${net.gateway}${uplink ? `, ${uplink.label} ${uplink.sub}` : ''}, ` +
    `${endpoints.length} endpoint${endpoints.length === 1 ? '' : 's'} (${up} up)`);
  const links = svg('g', {});
  const nodes = svg('g', {});
  svgEl.append(links, nodes);

  if (uplink) {
    links.append(svg('line', { class: 'link uplink', x1: CX, y1: CY, x2: CX, y2: 26 }));
    nodes.append(
      svg('rect', { class: 'node', x: CX - 55, y: 8, width: 110, height: 36, rx: 8 }),
      svg('text', { x: CX, y: 24 }, short(uplink.label, 18)),
      svg('text', { class: 'sub', x: CX, y: 37 }, uplink.sub));
  }

  const n = endpoints.length;
  endpoints.forEach((ep, i) => {
    // Evenly round an ellipse; with an uplink on top, the top slot stays free for it.
    const slots = uplink ? n + 1 : n;
    const angle = (-Math.PI / 2) + (2 * Math.PI * (uplink ? i + 1 : i)) / slots + (uplink ? 0 : Math.PI / Math.max(n, 1) / 2);
    const x = CX + 165 * Math.cos(angle);
    const y = CY + 92 * Math.sin(angle);
    const state = linkState(ep);
    const g = svg('g', { 'data-endpoint': ep.name },
      svg('title', {}, `${ep.name}: ${ep.ipv4}, ${state}`));
    links.append(svg('line', { class: `link ${state}`, x1: CX, y1: CY, x2: x, y2: y }));
    g.append(svg('circle', { class: `node ${state}`, cx: x, cy: y, r: n > LABELLED ? 8 : 13 }));
    // Labels below the guests under the gateway, above the others: away from the links. Past a
    // dozen guests they would overlap: then only the tooltip (and the table) names them.
    if (n <= LABELLED) {
      g.append(
        svg('text', { x, y: y + (y > CY ? 27 : -29) }, short(ep.name)),
        svg('text', { class: 'sub', x, y: y + (y > CY ? 39 : -17) }, ep.ipv4));
    }
    nodes.append(g);
  });

  nodes.append(
    svg('circle', { class: 'node gateway', cx: CX, cy: CY, r: 30 }),
    svg('text', { class: 'on-accent', x: CX, y: CY + 4 }, 'gateway'),
    svg('text', { class: 'sub', x: CX, y: CY + 45 }, net.gateway));
}
