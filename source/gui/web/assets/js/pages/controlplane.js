// The control plane: version and identity (`/`), its effective configuration (`/config`), and
// leadership as far as the REST API tells it.
import { getJson } from '../api.js';
import { h, kv, badge, errorBox, fill, toYaml, code } from '../ui.js';

export const name = 'control-plane';

function leader(config, index) {
  const store = config?.store?.type;
  if (store === 'memory') return [badge('leader', 'ok'), ' this instance (memory store: a single instance always leads)'];
  if (config?.mode && config.mode !== 'zone' && config.mode !== 'global' && store !== 'postgres') return [badge('leader', 'ok'), ` ${index?.instanceId || ''}`];
  return `not reported by the REST API (store: ${store || 'unknown'}); see the kuma-cp “leader” metric`;
}

export function page({ signal }) {
  const info = h('div', { id: 'cp-info' });
  const cfg = h('div', { id: 'cp-config' });
  const el = h('section', h('h1', 'Control plane'), info, h('h2', 'Configuration'), cfg);
  let configShown = false;

  async function refresh() {
    const [index, config] = await Promise.allSettled([getJson('/', { signal }), getJson('/config', { signal })]);
    const i = index.status === 'fulfilled' ? index.value : null;
    const c = config.status === 'fulfilled' ? config.value : null;
    fill(info, index.status === 'rejected' ? errorBox(index.reason, 'Control plane') : kv([
      ['Product', i.product], ['Version', i.version], ['Hostname', i.hostname], ['Instance', i.instanceId],
      ['Cluster', i.clusterId], ['Mode', c?.mode], ['Store', c?.store?.type], ['Leader', leader(c, i)],
      ['Environment', c?.environment],
    ]));
    if (!configShown) {
      fill(cfg, config.status === 'rejected' ? errorBox(config.reason, 'Could not read the configuration') : code(toYaml(c)));
      configShown = config.status === 'fulfilled';
    }
  }
  return { el, refresh };
}
