// History routing under the GUI's base path (deep links work on reload because the server answers
// index.html for every non-asset path under the base).

/** The GUI's base path, e.g. "/gui" (from the server-filled meta tag). */
export const base = (document.querySelector('meta[name="kuma-gui-base"]')?.content || '/gui').replace(/\/+$/, '');

const routes = [];

/** route('/meshes/:mesh', loader): loader() resolves to the page module. */
export function route(pattern, load) {
  const names = [];
  const re = new RegExp('^' + pattern.replace(/:([a-zA-Z]+)/g, (_, n) => { names.push(n); return '([^/]+)'; }) + '/?$');
  routes.push({ re, names, load });
}

/** The route of the current location: {load, params, query} or null. */
export function current() {
  let path = location.pathname;
  if (path.startsWith(base)) path = path.slice(base.length);
  if (!path.startsWith('/')) path = '/' + path;
  for (const r of routes) {
    const m = r.re.exec(path);
    if (m) {
      const params = {};
      r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
      return { load: r.load, params, query: new URLSearchParams(location.search), path };
    }
  }
  return null;
}

let onChange = () => {};

export function start(handler) {
  onChange = handler;
  window.addEventListener('popstate', () => onChange());
  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a[data-link]');
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(a.getAttribute('href'));
  });
  onChange();
}

/** Goes to `href` (absolute path, including the base) without reloading. */
export function navigate(href, { replace = false } = {}) {
  if (href === location.pathname + location.search) return;
  history[replace ? 'replaceState' : 'pushState'](null, '', href);
  onChange();
}

/** Same page, other query (filters, paging, tabs): replaces the history entry's query. */
export function setQuery(params) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') q.delete(k);
    else q.set(k, String(v));
  }
  const s = q.toString();
  navigate(location.pathname + (s ? `?${s}` : ''));
}
