// Home: the control plane at a glance, every mesh with its proxies, services, policies and mTLS.
import { getJson, getPage } from '../api.js';
import { h, link, card, table, badge, errorBox, unsupported, fill } from '../ui.js';

export const name = 'home';

const MESH_PAGE = 100;

function sumPolicies(policies) {
  return Object.values(policies || {}).reduce((n, p) => n + (p?.total || 0), 0);
}

export function page({ signal }) {
  const cards = h('div.cards', { id: 'home-cards' });
  const meshes = h('div', { id: 'home-meshes' });
  const errors = h('div');
  const el = h('section', h('h1', 'Overview'), h('p.muted', { id: 'home-cp' }), errors, cards,
    h('h2', 'Meshes'), meshes);

  async function refresh() {
    const out = [];
    const [index, list, insights] = await Promise.allSettled([
      getJson('/', { signal }),
      getPage('/meshes', { size: MESH_PAGE, signal }),
      getPage('/mesh-insights', { size: MESH_PAGE, signal }),
    ]);
    if (index.status === 'fulfilled') {
      const i = index.value;
      el.querySelector('#home-cp').textContent = `${i.product || 'Kuma'} ${i.version || ''} · ${i.hostname || ''}`;
    } else out.push(errorBox(index.reason, 'Control plane'));
    if (list.status === 'rejected') {
      fill(errors, errorBox(list.reason, 'Could not list the meshes'), out);
      return;
    }
    const byMesh = new Map();
    if (insights.status === 'fulfilled') for (const i of insights.value.items) byMesh.set(i.name, i);
    else out.push(unsupported(insights.reason, 'Mesh insights (proxy, service and policy counts)'));
    fill(errors, out);

    let online = 0, offline = 0, total = 0, services = 0, policies = 0, mtls = 0;
    for (const m of list.value.items) {
      const i = byMesh.get(m.name);
      if (m.mtls?.enabledBackend) mtls++;
      if (!i) continue;
      total += i.dataplanes?.total || 0;
      online += i.dataplanes?.online || 0;
      offline += (i.dataplanes?.total || 0) - (i.dataplanes?.online || 0);
      services += i.services?.total || 0;
      policies += sumPolicies(i.policies);
    }
    const have = insights.status === 'fulfilled';
    fill(cards,
      card('Meshes', list.value.total, `${mtls} with mTLS`),
      card('Proxies online', have ? online : '—', have ? `of ${total}` : 'no insights'),
      card('Proxies offline', have ? offline : '—'),
      card('Services', have ? services : '—'),
      card('Policies', have ? policies : '—'));
    const rows = list.value.items.map((m) => {
      const i = byMesh.get(m.name);
      const dp = i?.dataplanes;
      const mesh = encodeURIComponent(m.name);
      return [
        link(`/meshes/${mesh}`, m.name),
        m.mtls?.enabledBackend ? badge(`mTLS: ${m.mtls.enabledBackend}`, 'ok') : badge('mTLS off'),
        dp ? link(`/meshes/${mesh}/data-planes`, `${dp.online || 0} online / ${dp.total || 0}`) : '—',
        dp ? String((dp.total || 0) - (dp.online || 0)) : '—',
        i ? link(`/meshes/${mesh}/services`, String(i.services?.total ?? 0)) : '—',
        i ? link(`/meshes/${mesh}/policies`, String(sumPolicies(i.policies))) : '—',
      ];
    });
    fill(meshes, table(['Mesh', 'mTLS', 'Proxies', 'Offline', 'Services', 'Policies'], rows,
      { empty: 'No meshes yet.', id: 'meshes-table' }),
    list.value.nextOffset !== null ? h('p.muted', `Showing the first ${MESH_PAGE} of ${list.value.total} meshes.`) : null);
  }
  return { el, refresh };
}
