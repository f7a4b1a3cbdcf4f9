// The UI's entry: routes `#/<page>?<params>` to a page module, keeps the
// time-range picker's state in the URL, and reports uncaught errors on the
// page (and in the console, where the browser tests look).
import { readFromUrl } from './timerange.js';
import * as query from './query.js';
import * as explore from './explore.js';
import * as anomaly from './anomaly.js';
import * as dashboards from './dashboards.js';

const PAGES = { query, explore, anomaly, dashboards };
let leave = null;

function route() {
  const [path, search] = location.hash.slice(1).split('?');
  const parts = (path || '/query').split('/').filter(Boolean);
  const name = PAGES[parts[0]] ? parts[0] : 'query';
  const params = new URLSearchParams(search || '');
  // Pages rewrite the hash with history.replaceState, which fires no
  // hashchange: every hashchange is a navigation, and renders.
  readFromUrl(params);
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === name);
  if (typeof leave === 'function') leave();
  const root = document.getElementById('page');
  root.replaceChildren();
  delete root.dataset.rendered;
  document.title = `pulsedb · ${name}`;
  leave = PAGES[name].render(root, params, parts.slice(1));
}

window.addEventListener('hashchange', route);
window.addEventListener('error', e => showError(e.message));
window.addEventListener('unhandledrejection', e => showError(String(e.reason?.message || e.reason)));

function showError(message) {
  const root = document.getElementById('page');
  const box = document.createElement('div');
  box.className = 'error';
  box.textContent = `Error: ${message}`;
  root?.prepend(box);
}

route();
