// One policy: its YAML and the proxies it selects (`…/{type}/{name}/_resources/dataplanes`).
import { getJson, getPage, seg } from '../api.js';
import { h, link, table, errorBox, unsupported, fill, meshNav, crumbs, toYaml, code, offsetOf, pager } from '../ui.js';

export const name = 'policy';

const PAGE_SIZE = 50;

export function page({ params, query, signal }) {
  const { mesh, type, name: policyName } = params;
  const offset = offsetOf(query);
  const yamlEl = h('div', { id: 'policy-yaml' });
  const dpsEl = h('div', { id: 'policy-dataplanes' });
  const pagerEl = h('div.pager');
  const el = h('section', crumbs(link('/', 'Meshes'), link(`/meshes/${seg(mesh)}`, mesh), link(`/meshes/${seg(mesh)}/policies`, 'Policies'),
    link(`/meshes/${seg(mesh)}/policies/${seg(type)}`, type), policyName),
  h('h1', policyName), meshNav(mesh, 'policies'),
  h('div.grid2', h('div', h('h2', 'YAML'), yamlEl), h('div', h('h2', 'Selected data plane proxies'), dpsEl, pagerEl)));
  const path = `/meshes/${seg(mesh)}/${seg(type)}/${seg(policyName)}`;

  async function refresh() {
    const [res, dps] = await Promise.allSettled([
      getJson(path, { signal }),
      getPage(`${path}/_resources/dataplanes`, { size: PAGE_SIZE, offset, signal }),
    ]);
    if (res.status === 'fulfilled') fill(yamlEl, code(toYaml(res.value)));
    else fill(yamlEl, errorBox(res.reason, `Could not read ${type} ${policyName}`));
    if (dps.status === 'fulfilled') {
      const p = dps.value;
      fill(dpsEl, table(['Proxy'], p.items.map((d) => [link(`/meshes/${seg(d.mesh || mesh)}/data-planes/${seg(d.name)}`, d.name)]),
        { empty: 'This policy selects no proxy.', id: 'policy-dp-table' }),
      h('p.muted', p.total ? `${offset + 1}–${offset + p.items.length} of ${p.total}` : ''));
      pager(pagerEl, offset, PAGE_SIZE, p.nextOffset);
    } else {
      fill(dpsEl, unsupported(dps.reason, 'The proxies this policy selects'));
    }
  }
  return { el, refresh };
}
