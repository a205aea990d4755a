// Services of a mesh, from the service insights, one page at a time.
import { getPage, seg } from '../api.js';
import { setQuery } from '../router.js';
import { h, link, table, badge, errorBox, fill, meshNav, crumbs } from '../ui.js';

export const name = 'services';

const PAGE_SIZE = 50;

const statusKind = (s) => (s === 'online' ? 'online' : s === 'offline' ? 'offline' : s ? 'partial' : '');

export function page({ params, query, signal }) {
  const mesh = params.mesh;
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const list = h('div', { id: 'svc-list' });
  const pager = h('div.pager');
  const summary = h('p.muted');
  const el = h('section', crumbs(link('/', 'Meshes'), link(`/meshes/${seg(mesh)}`, mesh), 'Services'),
    h('h1', 'Services'), meshNav(mesh, 'services'), summary, list, pager);

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
    fill(pager,
      h('button', { disabled: offset === 0, onclick: () => setQuery({ offset: Math.max(0, offset - PAGE_SIZE) || '' }) }, '← Previous'),
      h('button', { disabled: p.nextOffset === null, onclick: () => setQuery({ offset: p.nextOffset }) }, 'Next →'));
  }
  return { el, refresh };
}
