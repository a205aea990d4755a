// Small DOM helpers shared by the pages. Data from the API only ever goes into text nodes and
// attributes (never innerHTML), so names and configs cannot inject markup.
import { ApiError } from './api.js';
import { base, setQuery } from './router.js';

/** h('div.card', {title: 'x'}, child, 'text', [more]) */
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  // The second argument is attributes only when it is a plain object; anything else (text, a
  // number such as 0, a node, a list) is the first child.
  if (attrs === null || attrs === undefined || typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** A link inside the GUI (history routing): `to` is relative to the GUI's base, e.g. "/meshes". */
export const link = (to, ...children) => h('a', { href: base + to, 'data-link': true }, ...children);

export function table(columns, rows, { empty = 'Nothing here.', id } = {}) {
  if (!rows.length) return h('p.muted', { id }, empty);
  return h('table', { id },
    h('thead', h('tr', columns.map((c) => h('th', c)))),
    h('tbody', rows.map((r) => h('tr', r.map((cell) => h('td', cell))))));
}

export const kv = (pairs) =>
  h('dl.kv', pairs.filter(Boolean).flatMap(([k, v]) => [h('dt', k), h('dd', v ?? '—')]));

export const card = (label, value, sub) =>
  h('div.card', h('div.label', label), h('div.value', value), sub ? h('div.sub', sub) : null);

export const badge = (text, kind = '') => h(`span.badge${kind ? '.' + kind : ''}`, text);

export const tags = (obj) => Object.entries(obj || {}).map(([k, v]) => h('span.tag', `${k}=${v}`));

export const code = (text) => h('pre.code', text);

/** An API error as Kuma words it: title, details, which call. */
export function errorBox(err, what) {
  if (err instanceof ApiError) {
    return h('div.error', { role: 'alert' },
      h('div.title', `${what ? what + ': ' : ''}${err.message}`),
      err.details ? h('div', err.details) : null,
      h('div.muted', `GET ${err.path} → ${err.status || 'no answer'}`));
  }
  return h('div.error', { role: 'alert' }, h('div.title', what || 'Error'), h('div', String(err && err.message || err)));
}

/** What a page shows when this control plane does not have an endpoint it would use. */
export function unsupported(err, what) {
  if (err instanceof ApiError && err.missing) {
    return h('div.notice', `${what} is not available from this control plane (GET ${err.path} answered ${err.status}).`);
  }
  return errorBox(err, what);
}

export function formatTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** "in 3d 4h" / "2h ago" */
export function relative(iso) {
  if (!iso) return '';
  const ms = new Date(iso).getTime() - Date.now();
  if (Number.isNaN(ms)) return '';
  const abs = Math.abs(ms);
  const units = [['d', 86400e3], ['h', 3600e3], ['m', 60e3], ['s', 1e3]];
  const parts = [];
  let rest = abs;
  for (const [u, n] of units) {
    if (rest >= n && parts.length < 2) { parts.push(`${Math.floor(rest / n)}${u}`); rest %= n; }
  }
  const s = parts.join(' ') || '0s';
  return ms >= 0 ? `in ${s}` : `${s} ago`;
}

/** JSON → YAML (block style, keys in the API's order), for resources and config. */
export function toYaml(value, indent = 0) {
  const pad = '  '.repeat(indent);
  const scalar = (v) => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    const s = String(v);
    if (s === '' || /^[\s]|[\s]$|^[-?:,\[\]{}#&*!|>'"%@`]|: | #|^(true|false|null|yes|no|on|off|~)$|^[-+]?[\d.]+([eE][-+]?\d+)?$|\n/i.test(s)) {
      return JSON.stringify(s);
    }
    return s;
  };
  if (Array.isArray(value)) {
    if (!value.length) return '[]';
    return value.map((v) => {
      if (v && typeof v === 'object' && Object.keys(v).length) {
        const inner = toYaml(v, indent + 1).replace(/^\s+/, '');
        return `${pad}- ${inner}`;
      }
      return `${pad}- ${v && typeof v === 'object' ? (Array.isArray(v) ? '[]' : '{}') : scalar(v)}`;
    }).join('\n');
  }
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (!keys.length) return '{}';
    return keys.map((k) => {
      const v = value[k];
      const key = scalar(k);
      if (v && typeof v === 'object' && (Array.isArray(v) ? v.length : Object.keys(v).length)) {
        return `${pad}${key}:\n${toYaml(v, Array.isArray(v) ? indent : indent + 1)}`;
      }
      return `${pad}${key}: ${v && typeof v === 'object' ? (Array.isArray(v) ? '[]' : '{}') : scalar(v)}`;
    }).join('\n');
  }
  return pad + scalar(value);
}

/** Online per Kuma: the last subscription is connected (a connectTime and no disconnectTime). */
export function dataplaneStatus(overview) {
  const subs = overview?.dataplaneInsight?.subscriptions || [];
  const last = subs[subs.length - 1];
  if (!last) return 'offline';
  return last.connectTime && !last.disconnectTime ? 'online' : 'offline';
}

export const statusBadge = (s) => badge(s, s === 'online' ? 'online' : s === 'offline' ? 'offline' : 'partial');

/** The subnav of a mesh's pages. */
export function meshNav(mesh, active) {
  const m = encodeURIComponent(mesh);
  const items = [['overview', `/meshes/${m}`, 'Overview'], ['data-planes', `/meshes/${m}/data-planes`, 'Data plane proxies'],
    ['services', `/meshes/${m}/services`, 'Services'], ['policies', `/meshes/${m}/policies`, 'Policies']];
  return h('nav.subnav', items.map(([k, to, label]) => {
    const a = link(to, label);
    if (k === active) a.classList.add('active');
    return a;
  }));
}

export const crumbs = (...parts) => h('div.crumbs', parts.flatMap((p, i) => (i ? [' / ', p] : [p])));

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** The offset of a paged list, from the page's query (`?offset=`). */
export const offsetOf = (query) => Math.max(0, Number(query.get('offset')) || 0);

/** Previous/next buttons of a paged list: they change `?offset=` (the page re-reads). */
export function pager(el, offset, size, nextOffset, idPrefix) {
  return fill(el,
    h('button', { id: idPrefix && `${idPrefix}-prev`, disabled: offset === 0, onclick: () => setQuery({ offset: Math.max(0, offset - size) || '' }) }, '← Previous'),
    h('button', { id: idPrefix && `${idPrefix}-next`, disabled: nextOffset === null, onclick: () => setQuery({ offset: nextOffset }) }, 'Next →'));
}
