// Services of a mesh, from the service insights, one page at a time.
import { getPage, seg } from '../api.js';
import { h, link, table, badge, errorBox, fill, meshNav, crumbs, offsetOf, pager } from '../ui.js';

export const name = 'services';

const PAGE_SIZE = 50;

const statusKind = (s) => (s === 'online' ? 'online' : s === 'offline' ? 'offline' : s ? 'partial' : '');

export function page({ params, query, signal }) {
  const mesh = params.mesh;
  const offset = offsetOf(query);
  const list = h('div', { id: 'svc-list' });
  const pagerEl = h('div.pager');
  const summary = h('p.muted');
  const el = h('section', crumbs(link('/', 'Meshes'), link(`/meshes/${seg(mesh)}`, mesh), 'Services'),
    h('h1', 'Services'), meshNav(mesh, 'services'), summary, list, pagerEl);

  async function refresh() {
    let p;
    try {
      p = await getPage(`/meshes/${seg(mesh)}/service-insights`, { size: PAGE_SIZE, offset, signal });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      fill(list, errorBox(e, 'Could not list the services'));
      return;
    }
    fill(summary, p.total ? `${offset + 1}–${offset + p.items.length} of ${p.total} services` : '');
    fill(list, table(['Service', 'Status', 'Proxies online', 'Type', 'Address'], p.items.map((s) => {
      const dp = s.dataplanes || {};
      return [
        link(`/meshes/${seg(mesh)}/data-planes?tag=${encodeURIComponent(`kuma.io/service:${s.name}`)}`, s.name),
        s.status ? badge(s.status, statusKind(s.status)) : '—',
        `${dp.online ?? 0} / ${dp.total ?? 0}`,
        s.serviceType || 'internal',
        s.addressPort || '—',
      ];
    }), { empty: 'No services in this mesh.', id: 'svc-table' }));
    pager(pagerEl, offset, PAGE_SIZE, p.nextOffset);
  }
  return { el, refresh };
}
