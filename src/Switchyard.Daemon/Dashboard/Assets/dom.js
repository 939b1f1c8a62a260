// Small helpers: building DOM and SVG without innerHTML (every daemon string goes in as text),
// formatting numbers, and reading the daemon's JSON API.

const SVG_NS = 'http://www.w3.org/2000/svg';

function fill(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') node.textContent = v;
    else node.setAttribute(k === 'className' ? 'class' : k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

/** An HTML element: el('td', {class: 'num'}, '42'). */
export const el = (tag, attrs, ...children) => fill(document.createElement(tag), attrs, children);

/** An SVG element (the same, in the SVG namespace). */
export const svg = (tag, attrs, ...children) => fill(document.createElementNS(SVG_NS, tag), attrs, children);

export const enc = encodeURIComponent;

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 -> "1.5 KiB". */
export function bytes(n) {
  if (!Number.isFinite(n)) return '–';
  let i = 0;
  while (Math.abs(n) >= 1024 && i < UNITS.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? Math.round(n) : n.toFixed(n < 10 ? 1 : 0)} ${UNITS[i]}`;
}

export const rate = (n) => `${bytes(n)}/s`;

export const count = (n) => (Number.isFinite(n) ? n.toLocaleString('en-US') : '–');

/** Seconds -> "42s", "3m 05s", "2h 10m", "3d 4h". */
export function duration(s) {
  if (!Number.isFinite(s)) return '–';
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** An ISO time -> "14:03:07" in the browser's time zone. */
export function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString('en-GB', { hour12: false });
}

/** An error that carries the HTTP status, so callers can tell "no such route" from "daemon gone". */
export class HttpError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

/** GET a JSON route of the daemon (same origin). Problem details become an HttpError with their detail. */
export async function getJson(path) {
  const r = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (!r.ok) {
    let detail = `${r.status} ${r.statusText}`;
    try { detail = (await r.json()).detail ?? detail; } catch { /* not problem+json */ }
    throw new HttpError(r.status, detail);
  }
  return r.json();
}

/** Removes every child of a node. */
export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}
