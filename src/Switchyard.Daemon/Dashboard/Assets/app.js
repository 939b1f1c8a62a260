// Switchyard dashboard: polls the daemon's read-only JSON routes every second and keeps one
// section per network up to date (facts, topology, endpoints with traffic, NAT flows), with a
// live egress feed per network over server-sent events. No framework: the DOM, fetch, EventSource.
import { el, svg, enc, getJson, HttpError } from './dom.js';
import { RateHistory } from './charts.js';
import { drawTopology } from './topology.js';
import { EgressFeed } from './feed.js';
import { renderFacts, renderEndpoints, renderFlows } from './views.js';

const POLL_MS = 1000;
const FLOWS_EVERY = 2;   // polls: flows cost the daemon more than counters
// Server-sent event streams open at once: a browser allows six HTTP/1.1 connections per origin,
// and the polls need the rest. Networks with an egress policy get them first.
const MAX_STREAMS = 3;

const main = document.getElementById('networks');
const status = document.getElementById('status');
const pause = document.getElementById('pause');
const noNetworks = document.getElementById('no-networks');
const sections = new Map();    // network name -> { root, parts..., feed }
const histories = new Map();   // "network/endpoint" -> RateHistory
let paused = false;
let polls = 0;

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

let ids = 0;
function createSection(net) {
  const id = `net${++ids}`;
  const facts = el('dl', { class: 'kv' });
  const topo = svg('svg', { class: 'topo', role: 'img', 'aria-label': `Topology of ${net.name}` });
  const endpoints = el('tbody');
  const flows = el('tbody');
  const feedList = el('ol', { class: 'events', role: 'log', tabindex: 0, 'aria-label': `Egress decisions on ${net.name}, newest first` });
  const feedState = el('span', { class: 'feed-state' });
  const badges = el('span', { class: 'badges' });
  const th = (text, cls) => el('th', { scope: 'col', class: cls ?? null }, text);
  const root = el('article', { class: 'network', 'data-network': net.name, 'aria-labelledby': `${id}-h` },
    el('header', {}, el('h2', { id: `${id}-h` }, net.name), badges),
    el('section', { class: 'facts', 'aria-labelledby': `${id}-f` }, el('h3', { id: `${id}-f` }, 'Network'), facts),
    el('section', { class: 'topology', 'aria-labelledby': `${id}-t` }, el('h3', { id: `${id}-t` }, 'Topology'), topo),
    el('section', { class: 'endpoints' }, el('div', { class: 'scroll', role: 'region', tabindex: 0, 'aria-label': `Endpoints of ${net.name}` },
      el('table', { class: 'cards' },
        el('caption', {}, `Endpoints of ${net.name}`),
        el('thead', {}, el('tr', {}, th('Endpoint'), th('Transport'), th('IPv4'), th('MAC'), th('Lease'), th('State'),
          th('Frames in / out', 'num'), th('Bytes in / out', 'num'), th('Traffic (last 30 s)'), th('Drops', 'num'), th('Published'))),
        endpoints)),
    el('p', { class: 'legend' }, 'In: from the guest (', el('span', { class: 'in' }, '▲'), '), out: to the guest (',
      el('span', { class: 'out' }, '▼'), ').')),
    el('section', { class: 'flows' }, el('div', { class: 'scroll', role: 'region', tabindex: 0, 'aria-label': `NAT flows of ${net.name}` },
      el('table', { class: 'cards' },
        el('caption', {}, `NAT flows of ${net.name}`),
        el('thead', {}, el('tr', {}, th('Protocol'), th('Endpoint'), th('Guest'), th('Destination'), th('State'),
          th('Age', 'num'), th('Idle', 'num'), th('Bytes out / in', 'num'))),
        flows))),
    el('section', { class: 'feed', 'aria-labelledby': `${id}-e` },
      el('h3', { id: `${id}-e` }, 'Egress decisions ', feedState), feedList));
  const feed = new EgressFeed(net.name, feedList, feedState);
  feed.setPaused(paused);
  return { root, badges, facts, topo, endpoints, flows, feed, flowsData: null, shape: '' };
}

function renderBadges(s, net) {
  s.badges.replaceChildren(el('span', { class: 'badge mode' }, net.mode),
    ...(net.egress ? [el('span', { class: 'badge' }, `egress ${net.egress.default === 'deny' ? 'allowlist' : 'denylist'}`)] : []),
    ...(net.warnings ?? []).map((w) => el('span', { class: 'badge warning', title: w }, `⚠ ${w}`)));
}

async function loadFlows(name) {
  try {
    return await getJson(`/networks/${enc(name)}/flows?limit=100`);
  } catch (e) {
    if (e instanceof HttpError && e.status === 404) return null;   // a daemon without /flows, or no NAT
    throw e;
  }
}

async function poll() {
  const [networks, endpoints] = await Promise.all([getJson('/networks'), getJson('/endpoints')]);
  const now = performance.now();
  const live = new Set();
  for (const ep of endpoints) {
    const key = `${ep.network}/${ep.name}`;
    live.add(key);
    if (!histories.has(key)) histories.set(key, new RateHistory());
    histories.get(key).add(ep.counters, now);
  }
  for (const key of histories.keys()) if (!live.has(key)) histories.delete(key);

  networks.sort((a, b) => a.name.localeCompare(b.name));
  const names = new Set(networks.map((n) => n.name));
  for (const [name, s] of sections) {
    if (!names.has(name)) { s.feed.close(); s.root.remove(); sections.delete(name); }
  }
  const withFlows = polls++ % FLOWS_EVERY === 0;
  const flows = withFlows ? await Promise.all(networks.map((n) => loadFlows(n.name).catch(() => null))) : [];
  let previous = noNetworks;   // the first child of <main>; the sections follow it in name order
  networks.forEach((net, i) => {
    let s = sections.get(net.name);
    if (!s) { s = createSection(net); sections.set(net.name, s); }
    // Moved only when out of place: a moved node loses its scroll position (the feed's) and focus.
    if (previous.nextElementSibling !== s.root) previous.after(s.root);
    previous = s.root;
    const mine = endpoints.filter((e) => e.network === net.name).sort((a, b) => a.name.localeCompare(b.name));
    renderBadges(s, net);
    renderFacts(s.facts, net);
    // The picture changes only when an endpoint comes, goes or changes state.
    const shape = JSON.stringify([net.mode, net.gateway, mine.map((e) => [e.name, e.ipv4, e.state, e.transport.state])]);
    if (shape !== s.shape) { drawTopology(s.topo, net, mine); s.shape = shape; }
    renderEndpoints(s.endpoints, mine, (ep) => histories.get(`${ep.network}/${ep.name}`));
    if (withFlows) renderFlows(s.flows, flows[i]);
  });
  const streamed = new Set([...networks].sort((a, b) => Number(!a.egress) - Number(!b.egress)).slice(0, MAX_STREAMS).map((n) => n.name));
  for (const [name, s] of sections) {
    s.feed.setStreaming(streamed.has(name));
    if (withFlows) s.feed.poll();
  }
  noNetworks.hidden = networks.length > 0;
}

async function loop() {
  if (!paused) {
    try {
      await poll();
      setStatus('live', `live, updated ${new Date().toLocaleTimeString('en-GB', { hour12: false })}`);
    } catch (e) {
      setStatus('error', `cannot reach the daemon (${e.message}); retrying`);
    }
  }
  setTimeout(loop, POLL_MS);
}

pause.addEventListener('click', () => {
  paused = !paused;
  pause.setAttribute('aria-pressed', String(paused));
  pause.textContent = paused ? 'Resume' : 'Pause';
  pause.setAttribute('aria-label', paused ? 'Resume live updates' : 'Pause live updates');
  for (const s of sections.values()) s.feed.setPaused(paused);
  if (paused) setStatus('paused', 'paused');
});

getJson('/version').then((v) => {
  document.getElementById('version').textContent = `Switchyard ${v.version}, API v${v.apiVersion}`;
}).catch(() => {});
loop();
