// Policies of a mesh: every policy type the control plane knows (`/_resources`, else `/policies`)
// and, for the chosen type, its policies one page at a time.
import { getJson, getPage, seg } from '../api.js';
import { h, link, table, badge, errorBox, fill, meshNav, crumbs, formatTime, offsetOf, pager } from '../ui.js';

export const name = 'policies';

const PAGE_SIZE = 50;

/** Policy types as [{name, path, targetRef}], sorted by name. */
export async function policyTypes(signal) {
  try {
    const r = await getJson('/_resources', { signal });
    return (r.resources || []).filter((t) => t.policy).map((t) => ({ name: t.name, path: t.path, targetRef: !!t.policy.isTargetRef }));
  } catch (e) {
    if (e.name === 'AbortError' || !e.missing) throw e;
    const p = await getJson('/policies', { signal });
    return (p.policies || []).map((t) => ({ name: t.name, path: t.path, targetRef: !!t.isTargetRefBased }));
  }
}

function describeTarget(spec) {
  const t = spec?.targetRef;
  if (!t) return spec?.selectors || spec?.sources ? 'selectors' : '—';
  return [t.kind, t.name, t.labels ? Object.entries(t.labels).map(([k, v]) => `${k}=${v}`).join(',') : '']
    .filter(Boolean).join(' ');
}

export function page({ params, query, signal }) {
  const mesh = params.mesh;
  const typePath = params.type || '';
  const offset = offsetOf(query);
  const typesEl = h('div', { id: 'policy-types' });
  const listEl = h('div', { id: 'policy-list' });
  const pagerEl = h('div.pager');
  const el = h('section', crumbs(link('/', 'Meshes'), link(`/meshes/${seg(mesh)}`, mesh), 'Policies'),
    h('h1', 'Policies'), meshNav(mesh, 'policies'), h('div.grid2', { style: 'grid-template-columns: 280px 1fr' },
      h('div', h('h2', 'Types'), typesEl), h('div', listEl, pagerEl)));
  let types = null;

  async function refresh() {
    if (!types) {
      try {
        types = await policyTypes(signal);
      } catch (e) {
        if (e.name === 'AbortError') throw e;
        fill(typesEl, errorBox(e, 'Could not list the policy types'));
        return;
      }
    }
    const counts = new Map();
    try {
      const ins = await getJson(`/mesh-insights/${seg(mesh)}`, { signal });
      for (const [t, p] of Object.entries(ins.policies || {})) counts.set(t, p?.total || 0);
    } catch (e) {
      if (e.name === 'AbortError') throw e;
    }
    fill(typesEl, table(['Type', ''], types.map((t) => {
      const a = link(`/meshes/${seg(mesh)}/policies/${seg(t.path)}`, t.name);
      if (t.path === typePath) a.style.fontWeight = '700';
      return [a, counts.has(t.name) ? String(counts.get(t.name)) : ''];
    }), { id: 'policy-types-table' }));
    const type = types.find((t) => t.path === typePath);
    if (!typePath) {
      fill(listEl, h('p.muted', 'Choose a policy type.'));
      return;
    }
    if (!type) {
      fill(listEl, h('div.notice', `This control plane has no policy type at “${typePath}”.`));
      return;
    }
    let p;
    try {
      p = await getPage(`/meshes/${seg(mesh)}/${seg(type.path)}`, { size: PAGE_SIZE, offset, signal });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      fill(listEl, errorBox(e, `Could not list ${type.name}`));
      return;
    }
    fill(listEl, h('h2', type.name, ' ', type.targetRef ? badge('targetRef') : badge('legacy')),
      table(['Name', 'Target', 'Modified'], p.items.map((r) => [
        link(`/meshes/${seg(mesh)}/policies/${seg(type.path)}/${seg(r.name)}`, r.name), describeTarget(r.spec || r), formatTime(r.modificationTime),
      ]), { empty: `No ${type.name} in this mesh.`, id: 'policy-table' }),
      h('p.muted', p.total ? `${offset + 1}–${offset + p.items.length} of ${p.total}` : ''));
    pager(pagerEl, offset, PAGE_SIZE, p.nextOffset);
  }
  return { el, refresh };
}
