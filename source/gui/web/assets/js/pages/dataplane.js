// One data plane proxy: overview (status, inbounds, outbounds, versions, certificate), matched
// policies (`_policies`, `_rules`, legacy `policies`), the control plane's Envoy config (`_config`),
// and what the proxy's Envoy says (`xds`, `stats`, `clusters`).
import { getJson, getText, seg } from '../api.js';
import { setQuery } from '../router.js';
import { h, link, table, kv, tags, badge, errorBox, unsupported, fill, meshNav, crumbs, dataplaneStatus, statusBadge, formatTime, relative, toYaml, code } from '../ui.js';

export const name = 'data-plane';

const TABS = [
  ['overview', 'Overview'], ['policies', 'Policies'], ['config', 'Envoy config (control plane)'],
  ['xds', 'Envoy config (proxy)'], ['stats', 'Stats'], ['clusters', 'Clusters'],
];

function overview(o) {
  const dp = o.dataplane || {};
  const net = dp.networking || {};
  const insight = o.dataplaneInsight || {};
  const subs = insight.subscriptions || [];
  const last = subs[subs.length - 1] || {};
  const status = dataplaneStatus(o);
  const cert = insight.mTLS;
  const inbound = (net.inbound || []).map((i) => [
    String(i.port ?? '—'), String(i.servicePort ?? '—'), i.address || net.address || '—', tags(i.tags),
    i.health ? (i.health.ready ? badge('ready', 'ok') : badge('not ready', 'bad')) : '—',
  ]);
  const outbound = (net.outbound || []).map((x) => [
    `${x.address || '127.0.0.1'}:${x.port}`,
    x.backendRef ? `${x.backendRef.kind} ${x.backendRef.name}${x.backendRef.port ? ':' + x.backendRef.port : ''}` : tags(x.tags || { 'kuma.io/service': x.service }),
  ]);
  return [
    kv([
      ['Status', statusBadge(status)],
      ['Address', net.address],
      net.gateway ? ['Gateway', h('span', net.gateway.type || 'DELEGATED', ' ', tags(net.gateway.tags))] : null,
      ['kuma-dp', last.version?.kumaDp?.version],
      ['Envoy', last.version?.envoy?.version],
      ['Connected', last.connectTime ? `${formatTime(last.connectTime)} (${relative(last.connectTime)})` : null],
      last.disconnectTime ? ['Disconnected', formatTime(last.disconnectTime)] : null,
      ['Control plane instance', last.controlPlaneInstanceId],
      ['Certificate expires', cert?.certificateExpirationTime ? `${formatTime(cert.certificateExpirationTime)} (${relative(cert.certificateExpirationTime)})` : 'no certificate (mTLS off or not issued yet)'],
      cert ? ['Certificate backend', cert.issuedBackend] : null,
      cert ? ['Certificate regenerations', `${cert.certificateRegenerations ?? 0}, last ${formatTime(cert.lastCertificateRegeneration)}`] : null,
      o.labels ? ['Labels', tags(o.labels)] : null,
    ]),
    h('h2', 'Inbounds'), table(['Port', 'Service port', 'Address', 'Tags', 'Health'], inbound, { empty: 'No inbounds.', id: 'dp-inbounds' }),
    h('h2', 'Outbounds'), table(['Address', 'To'], outbound, { empty: 'No outbounds declared (transparent proxying or reachable services).', id: 'dp-outbounds' }),
    h('h2', 'xDS subscriptions'), table(['Control plane', 'Connected', 'Disconnected', 'Responses sent', 'Rejected'],
      subs.slice(-5).reverse().map((s) => [s.controlPlaneInstanceId || '—', formatTime(s.connectTime), formatTime(s.disconnectTime),
        String(s.status?.total?.responsesSent ?? (s.status ? 0 : '—')), String(s.status?.total?.responsesRejected ?? (s.status ? 0 : '—'))]), { empty: 'Never connected.' }),
  ];
}

async function policies(base, signal) {
  const [p, r, legacy] = await Promise.allSettled([
    getJson(`${base}/_policies`, { signal }), getJson(`${base}/_rules`, { signal }), getJson(`${base}/policies`, { signal }),
  ]);
  const out = [];
  if (r.status === 'fulfilled') {
    const rules = r.value.rules || [];
    out.push(h('h2', 'Matched policies (_rules)'), table(['Type', 'Proxy rule', 'To rules', 'From rules', 'Inbound rules'],
      rules.map((x) => [x.type, x.proxyRule ? 'yes' : '—', String((x.toRules || []).length), String((x.fromRules || []).length),
        String((x.inboundRules || []).length)]), { empty: 'No targetRef policy selects this proxy.', id: 'dp-rules' }),
    h('details', h('summary', '_rules as YAML'), code(toYaml(r.value))));
  } else out.push(h('h2', '_rules'), unsupported(r.reason, 'Matched rules'));
  if (p.status === 'fulfilled') {
    out.push(h('h2', 'Policies (_policies)'), code(toYaml(p.value)));
  } else if (p.reason?.status === 400) {
    // Kuma answers 400 while the mesh does not use MeshServices (meshServices.mode Exclusive).
    out.push(h('h2', '_policies'), h('div.notice', `The per-inbound/outbound policy view (_policies) is not available: ${p.reason.details || p.reason.message}`));
  } else out.push(h('h2', '_policies'), unsupported(p.reason, 'The proxy’s policies'));
  if (legacy.status === 'fulfilled') {
    const items = legacy.value.items || [];
    if (items.length) out.push(h('h2', 'Legacy policies (policies)'), code(toYaml(legacy.value)));
  } else out.push(unsupported(legacy.reason, 'Legacy matched policies'));
  return out;
}

async function config(base, signal) {
  try {
    const c = await getJson(`${base}/_config`, { signal });
    const xds = c.xds || c;
    const summary = Object.entries(xds).filter(([, v]) => v && typeof v === 'object').map(([type, v]) => [type.split('.').pop(), String(Object.keys(v).length)]);
    return [h('p.muted', 'What the control plane computes for this proxy now (GET …/_config).'),
      table(['Resource type', 'Count'], summary, { id: 'dp-config-summary' }),
      h('h2', 'Resources'), h('pre.code', { id: 'dp-config' }, JSON.stringify(c, null, 2))];
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    return [unsupported(e, 'The control plane’s config for this proxy')];
  }
}

async function envoy(base, what, signal) {
  try {
    if (what === 'xds') {
      const dump = await getJson(`${base}/xds`, { signal });
      const configs = dump.configs || [];
      return [h('p.muted', 'Envoy’s config_dump, fetched by the control plane from the proxy’s admin API.'),
        table(['Section'], configs.map((c) => [String(c['@type'] || '').split('.').pop()]), { id: 'dp-xds-sections' }),
        h('pre.code', { id: 'dp-xds' }, JSON.stringify(dump, null, 2))];
    }
    const text = await getText(`${base}/${what}`, { signal });
    return [h('pre.code', { id: `dp-${what}` }, text)];
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    return [unsupported(e, `The proxy’s ${what}`)];
  }
}

export function page({ params, query, signal }) {
  const { mesh, name: dpName } = params;
  const tab = TABS.some(([k]) => k === query.get('tab')) ? query.get('tab') : 'overview';
  const base = `/meshes/${seg(mesh)}/dataplanes/${seg(dpName)}`;
  const body = h('div', { id: 'dp-body', dataset: { tab } });
  const tabs = h('nav.tabs', TABS.map(([k, label]) => {
    const a = h('a', { href: '#', dataset: { tab: k }, onclick: (e) => { e.preventDefault(); setQuery({ tab: k === 'overview' ? '' : k }); } }, label);
    if (k === tab) a.classList.add('active');
    return a;
  }));
  const el = h('section', crumbs(link('/', 'Meshes'), link(`/meshes/${seg(mesh)}`, mesh), link(`/meshes/${seg(mesh)}/data-planes`, 'Data plane proxies'), dpName),
    h('h1', dpName), meshNav(mesh, 'data-planes'), tabs, body);
  let loaded = false;

  async function refresh() {
    if (tab === 'overview') {
      try {
        const o = await getJson(`${base}/_overview`, { signal });
        fill(body, overview(o));
      } catch (e) {
        if (e.name === 'AbortError') throw e;
        fill(body, errorBox(e, `Could not read proxy ${dpName}`));
      }
      return;
    }
    // Big answers: read once per visit of the tab, and again on the next refresh after an error
    // (the proxy's admin may not answer yet).
    if (loaded) return;
    if (!body.firstChild) fill(body, h('p.muted', 'Loading…'));
    const parts = tab === 'policies' ? await policies(base, signal) : tab === 'config' ? await config(base, signal) : await envoy(base, tab, signal);
    fill(body, parts);
    loaded = !body.querySelector('.error');
  }
  return { el, refresh };
}
