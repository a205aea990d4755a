// Entry point: routes → pages, the live refresh loop, the page lifecycle.
//
// A page module exports `page(ctx)` returning `{el, refresh}`: `el` is mounted once, `refresh()`
// (async) re-reads the API and updates the page in place; it runs on mount and then every
// REFRESH_MS while the page is shown and the tab is visible. `ctx` = {params, query, signal}.
import { route, start, current } from './router.js';
import { h, errorBox } from './ui.js';

const REFRESH_MS = 5000;

route('/', () => import('./pages/home.js'));
route('/meshes', () => import('./pages/home.js'));
route('/meshes/:mesh', () => import('./pages/mesh.js'));
route('/meshes/:mesh/data-planes', () => import('./pages/dataplanes.js'));
route('/meshes/:mesh/data-planes/:name', () => import('./pages/dataplane.js'));
route('/meshes/:mesh/services', () => import('./pages/services.js'));
route('/meshes/:mesh/policies', () => import('./pages/policies.js'));
route('/meshes/:mesh/policies/:type', () => import('./pages/policies.js'));
route('/meshes/:mesh/policies/:type/:name', () => import('./pages/policy.js'));
route('/control-plane', () => import('./pages/controlplane.js'));

const main = document.getElementById('main');
const state = document.getElementById('refresh-state');
let active = null; // {controller, timer}

function stopActive() {
  if (!active) return;
  active.controller.abort();
  clearTimeout(active.timer);
  active = null;
}

async function show() {
  stopActive();
  const r = current();
  if (!r) {
    main.replaceChildren(h('h1', 'Not found'), h('p.muted', `No page at ${location.pathname}.`));
    document.title = 'Not found · Kuma GUI';
    return;
  }
  const controller = new AbortController();
  const me = { controller, timer: 0 };
  active = me;
  let mod;
  try {
    mod = await r.load();
  } catch (e) {
    main.replaceChildren(errorBox(e, 'Could not load the page'));
    return;
  }
  if (active !== me) return;
  const p = mod.page({ params: r.params, query: r.query, signal: controller.signal });
  main.replaceChildren(p.el);
  main.dataset.page = mod.name || '';
  const tick = async () => {
    if (active !== me) return;
    if (document.visibilityState !== 'hidden') {
      try {
        await p.refresh();
        state.textContent = `live · updated ${new Date().toLocaleTimeString()}`;
        state.classList.remove('error');
      } catch (e) {
        if (e.name === 'AbortError') return;
        state.textContent = 'live · refresh failed';
        state.classList.add('error');
        console.error(e);
      }
    }
    if (active === me && p.live !== false) me.timer = setTimeout(tick, REFRESH_MS);
  };
  tick();
}

start(show);
