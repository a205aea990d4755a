// One mesh: mTLS, proxies (online/offline, versions), services, policies by type.
import { getJson, seg } from '../api.js';
import { h, link, card, table, kv, badge, errorBox, unsupported, fill, meshNav, crumbs, toYaml, code } from '../ui.js';

export const name = 'mesh';

export function page({ params, signal }) {
  const mesh = params.mesh;
  const body = h('div', { id: 'mesh-body' });
  const el = h('section', crumbs(link('/', 'Meshes'), mesh), h('h1', mesh), meshNav(mesh, 'overview'), body);

  async function refresh() {
    const [m, ins, types] = await Promise.allSettled([
      getJson(`/meshes/${seg(mesh)}`, { signal }),
      getJson(`/mesh-insights/${seg(mesh)}`, { signal }),
      getJson('/_resources', { signal }),
    ]);
    if (m.status === 'rejected') {
      fill(body, errorBox(m.reason, `Could not read mesh ${mesh}`));
      return;
    }
    const spec = m.value;
    const backends = spec.mtls?.backends || [];
    const enabled = spec.mtls?.enabledBackend;
    const parts = [];
    if (ins.status === 'fulfilled') {
      const i = ins.value;
      const dp = i.dataplanes || {};
      parts.push(h('div.cards',
        card('Proxies online', dp.online ?? 0, `of ${dp.total ?? 0}`),
        card('Proxies offline', (dp.total ?? 0) - (dp.online ?? 0)),
        card('Services', i.services?.total ?? 0, `${i.services?.internal ?? 0} internal, ${i.services?.external ?? 0} external`),
        card('Policies', Object.values(i.policies || {}).reduce((n, p) => n + (p?.total || 0), 0)),
        card('mTLS', enabled ? 'on' : 'off', enabled ? `backend ${enabled}` : 'no CA backend enabled')));
    } else {
      parts.push(unsupported(ins.reason, 'The mesh insight (counts)'));
    }
    parts.push(h('h2', 'mTLS'), kv([
      ['Enabled backend', enabled ? badge(enabled, 'ok') : badge('off')],
      ...backends.map((b) => [`Backend ${b.name}`, `${b.type}${b.dpCert?.rotation?.expiration ? `, certificates valid ${b.dpCert.rotation.expiration}` : ''}`]),
    ]));
    if (ins.status === 'fulfilled') {
      const i = ins.value;
      const versions = (kind) => Object.entries(i.dpVersions?.[kind] || {}).map(([v, c]) => [v, String(c.online ?? 0), String(c.total ?? 0)]);
      parts.push(h('div.grid2',
        h('div', h('h2', 'kuma-dp versions'), table(['Version', 'Online', 'Total'], versions('kumaDp'), { empty: 'No proxies.' })),
        h('div', h('h2', 'Envoy versions'), table(['Version', 'Online', 'Total'], versions('envoy'), { empty: 'No proxies.' }))));
      const paths = new Map();
      if (types.status === 'fulfilled') for (const t of types.value.resources || []) paths.set(t.name, t.path);
      const rows = Object.entries(i.policies || {}).filter(([, p]) => p?.total).map(([t, p]) => [
        paths.has(t) ? link(`/meshes/${seg(mesh)}/policies/${seg(paths.get(t))}`, t) : t, String(p.total)]);
      parts.push(h('h2', 'Policies'), table(['Type', 'Count'], rows, { empty: 'No policies in this mesh.' }));
    }
    parts.push(h('h2', 'Mesh resource'), code(toYaml(spec)));
    fill(body, parts);
  }
  return { el, refresh };
}
