// The live egress-decision feed of one network: the daemon's server-sent events
// (/networks/{n}/egress/events), seeded with the newest entries of its audit log. A browser opens
// at most six HTTP/1.1 connections to one origin and each stream holds one, so only a few feeds
// stream (app.js picks them); the others read the audit log on each poll instead.
import { el, clear, clock, enc, getJson } from './dom.js';

const KEEP = 100;

const keyOf = (e) => [e.time, e.endpoint, e.protocol, e.destination, e.name, e.verdict, e.reason].join('|');

export class EgressFeed {
  /** @param list the <ol> to fill, @param stateEl where the stream's state is shown */
  constructor(network, list, stateEl) {
    this.network = network;
    this.list = list;
    this.stateEl = stateEl;
    this.events = [];   // newest first
    this.seen = new Set();
    this.paused = false;
    this.source = null;
    this.mode = null;   // 'stream' or 'poll', set by app.js
    this.retry = 0;
  }

  /** Streams (true) or reads the log when poll() is called (false). */
  setStreaming(streaming) {
    const mode = streaming ? 'stream' : 'poll';
    if (mode === this.mode) return;
    this.mode = mode;
    if (streaming) this.start();
    else {
      this.close();
      this.setState('polled', 'polled every 2 s');
      this.loadLog();
    }
  }

  /** For a feed that does not stream: read the newest log entries. */
  poll() {
    if (this.mode === 'poll') this.loadLog();
  }

  start() {
    const source = new EventSource(`/networks/${enc(this.network)}/egress/events`);
    this.source = source;
    this.setState('connecting', 'connecting…');
    source.onopen = () => {
      // Subscribed now: the log read after this cannot miss what happened before it, and
      // anything both carry is shown once.
      this.setState('live', 'live');
      this.loadLog();
    };
    source.onmessage = (m) => {
      try { this.add(JSON.parse(m.data)); } catch { /* a line that is not JSON: ignore */ }
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (the network was deleted, or a non-200): try again later.
        this.setState('error', 'disconnected, retrying');
        clearTimeout(this.retry);
        this.retry = setTimeout(() => { if (this.source === source) this.start(); }, 5000);
      } else {
        this.setState('connecting', 'reconnecting…');
      }
    };
  }

  async loadLog() {
    try {
      for (const e of await getJson(`/networks/${enc(this.network)}/egress/log?limit=50`)) this.add(e, false);
      this.render();
    } catch { /* the stream still works without the backlog */ }
  }

  add(e, render = true) {
    const key = keyOf(e);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    // Keep newest first; a backlog entry arriving after live ones slots in by time.
    let i = 0;
    const t = Date.parse(e.time);
    while (i < this.events.length && Date.parse(this.events[i].time) > t) i++;
    this.events.splice(i, 0, e);
    while (this.events.length > KEEP) this.seen.delete(keyOf(this.events.pop()));
    if (render) this.render();
  }

  setState(state, text) {
    this.stateEl.dataset.state = state;
    this.stateEl.textContent = `(${text})`;
    this.list.dataset.stream = state;
  }

  setPaused(paused) {
    this.paused = paused;
    if (!paused) this.render();
  }

  render() {
    if (this.paused) return;
    clear(this.list);
    if (this.events.length === 0) {
      this.list.append(el('li', { class: 'none' }, 'no egress decisions yet'));
      return;
    }
    for (const e of this.events) {
      const what = e.destination ?? '';
      this.list.append(el('li', {
        'data-verdict': e.verdict, 'data-protocol': e.protocol, 'data-endpoint': e.endpoint,
        'data-destination': e.destination ?? null, 'data-name': e.name ?? null,
      },
      el('time', { datetime: e.time, class: 'mono' }, clock(e.time)),
      el('span', { class: 'verdict' }, e.verdict),
      el('span', { class: 'what' }, `${e.protocol} ${what}${e.name ? ` ${what ? `(${e.name})` : e.name}` : ''}`),
      el('span', { class: 'why' }, `${e.endpoint} · ${e.reason}`)));
    }
  }

  close() {
    clearTimeout(this.retry);
    this.source?.close();
    this.source = null;
  }
}
