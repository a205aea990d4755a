// Data plane proxies of a mesh: one page at a time from `_overview` (size/offset/next), filtered
// by name and tag on the server; the status filter applies to the page shown (the REST API has no
// status filter), which the page says.
import { getPage, seg } from '../api.js';
import { setQuery } from '../router.js';
import { h, link, table, tags, errorBox, fill, meshNav, crumbs, dataplaneStatus, statusBadge, formatTime, relative, offsetOf, pager } from '../ui.js';

export const name = 'data-planes';

export const PAGE_SIZE = 50;

/** What the proxies table shows of one DataplaneOverview. */
export function row(mesh, o) {
  const net = o.dataplane?.networking || {};
  const subs = o.dataplaneInsight?.subscriptions || [];
  const last = subs[subs.length - 1] || {};
  const ver = last.version || {};
  const cert = o.dataplaneInsight?.mTLS;
  const inboundTags = (net.inbound || []).map((i) => i.tags || {});
  const gw = net.gateway ? [net.gateway.tags || {}] : [];
  const services = [...new Set([...inboundTags, ...gw].map((t) => t['kuma.io/service']).filter(Boolean))];
  const status = dataplaneStatus(o);
  return {
    status,
    cells: [
      link(`/meshes/${seg(mesh)}/data-planes/${seg(o.name)}`, o.name),
      statusBadge(status),
      services.length ? services.map((s) => h('span.tag', s)) : (net.gateway ? 'gateway' : '—'),
      net.address || '—',
      ver.kumaDp?.version || '—',
      ver.envoy?.version || '—',
      cert?.certificateExpirationTime
        ? h('span', { title: formatTime(cert.certificateExpirationTime) }, relative(cert.certificateExpirationTime))
        : '—',
      last.connectTime ? h('span', { title: formatTime(last.connectTime) }, relative(last.connectTime)) : '—',
    ],
  };
}

export function page({ params, query, signal }) {
  const mesh = params.mesh;
  const f = { name: query.get('name') || '', tag: query.get('tag') || '', status: query.get('status') || '' };
  const offset = offsetOf(query);

  const nameIn = h('input', { id: 'filter-name', type: 'search', placeholder: 'web-1', value: f.name });
  const tagIn = h('input', { id: 'filter-tag', type: 'search', placeholder: 'kuma.io/service:web', value: f.tag });
  const statusIn = h('select', { id: 'filter-status' },
    ['', 'online', 'offline'].map((s) => h('option', { value: s, selected: s === f.status }, s || 'any')));
  const apply = (e) => {
    e.preventDefault();
    setQuery({ name: nameIn.value.trim(), tag: tagIn.value.trim(), status: statusIn.value, offset: '' });
  };
  const form = h('form.filters', { id: 'dp-filters', onsubmit: apply },
    h('label', 'Name contains', nameIn), h('label', 'Tag (key:value)', tagIn), h('label', 'Status', statusIn),
    h('button', { type: 'submit' }, 'Filter'));
  statusIn.addEventListener('change', apply);
  const summary = h('p.muted', { id: 'dp-summary' });
  const list = h('div', { id: 'dp-list' });
  const pagerEl = h('div.pager');
  const el = h('section', crumbs(link('/', 'Meshes'), link(`/meshes/${seg(mesh)}`, mesh), 'Data plane proxies'),
    h('h1', 'Data plane proxies'), meshNav(mesh, 'data-planes'), form, summary, list, pagerEl);

  async function refresh() {
    let p;
    try {
      p = await getPage(`/meshes/${seg(mesh)}/dataplanes/_overview`, {
        size: PAGE_SIZE, offset, params: { name: f.name, tag: f.tag }, signal,
      });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      fill(list, errorBox(e, 'Could not list the data plane proxies'));
      fill(summary);
      fill(pagerEl);
      return;
    }
    const rows = p.items.map((o) => row(mesh, o)).filter((r) => !f.status || r.status === f.status);
    const online = p.items.filter((o) => dataplaneStatus(o) === 'online').length;
    const end = offset + p.items.length;
    fill(summary, p.total ? `${offset + 1}–${end} of ${p.total} proxies` : 'No proxies match.',
      p.items.length ? ` · on this page ${online} online, ${p.items.length - online} offline` : '',
      f.status ? ` · status filter “${f.status}” applies to this page` : '');
    fill(list, table(['Name', 'Status', 'Services', 'Address', 'kuma-dp', 'Envoy', 'Certificate expires', 'Connected'],
      rows.map((r) => r.cells), { empty: 'No proxies on this page match.', id: 'dp-table' }));
    pager(pagerEl, offset, PAGE_SIZE, p.nextOffset, 'dp');
  }
  return { el, refresh };
}
