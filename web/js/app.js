// The dashboard: a router over the URL hash (#/overview?range=24h, #/events?ip=..., #/event/42,
// #/attacker/203.0.113.7, #/attackers), so that every view is a URL that can be shared; the
// login form; the pages' life cycle (a page's fetches and timers end when the route changes).
import * as api from './api.js';
import {h, clear, replace} from './dom.js';
import * as overview from './pages/overview.js';
import * as events from './pages/events.js';
import * as eventPage from './pages/event.js';
import * as attacker from './pages/attacker.js';
import * as attackers from './pages/attackers.js';

const PAGES = {
  overview: overview.render,
  events: events.render,
  event: eventPage.render,
  attacker: attacker.render,
  attackers: attackers.render,
};

const main = document.getElementById('main');
const live = document.getElementById('live');
let current = null;  // {controller, timers}

// "#/attacker/1.2.3.4?x=1" -> {page: 'attacker', args: ['1.2.3.4'], params: URLSearchParams}
export function parseRoute(hash) {
  const raw = (hash || '').replace(/^#\/?/, '');
  const qi = raw.indexOf('?');
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const params = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
  const parts = path.split('/').filter((p) => p !== '').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return {page: parts[0] || 'overview', args: parts.slice(1), params};
}

function stopCurrent() {
  if (!current) return;
  current.controller.abort();
  for (const t of current.timers) clearInterval(t);
  current = null;
}

function showLogin(message) {
  stopCurrent();
  clear(main);
  main.hidden = true;
  document.getElementById('logout').hidden = true;
  const login = document.getElementById('login');
  login.hidden = false;
  document.getElementById('login-error').textContent = message || '';
  document.getElementById('token').focus();
}

function hideLogin() {
  document.getElementById('login').hidden = true;
  document.getElementById('logout').hidden = false;
  main.hidden = false;
}

function setLive(state) {
  live.textContent = state;
  live.dataset.state = state ? 'on' : '';
}

async function route() {
  stopCurrent();
  if (!api.token()) {
    showLogin('');
    return;
  }
  hideLogin();
  const r = parseRoute(location.hash);
  const render = PAGES[r.page];
  for (const a of document.querySelectorAll('.nav a')) {
    const active = a.dataset.nav === r.page || (a.dataset.nav === 'events' && r.page === 'event') ||
        (a.dataset.nav === 'attackers' && r.page === 'attacker');
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  setLive('');
  const page = {controller: new AbortController(), timers: []};
  current = page;
  clear(main);
  if (!render) {
    replace(main, h('section', {class: 'panel'}, h('h1', null, 'Not found'),
                    h('p', null, 'No such page: ', r.page)));
    return;
  }
  const ctx = {
    main,
    args: r.args,
    params: r.params,
    signal: page.controller.signal,
    // Runs fn every `ms` while this page is shown and the tab is visible.
    every(ms, fn) {
      const t = setInterval(() => {
        if (!document.hidden && current === page) fn();
      }, ms);
      page.timers.push(t);
    },
    live: setLive,
    title(t) {
      document.title = t ? t + ' · drosera' : 'drosera';
    },
  };
  // data-ready says when a page has all its data (tests and timings wait for it).
  main.dataset.ready = 'no';
  try {
    await render(ctx);
  } catch (e) {
    if (e instanceof api.AuthError || page.controller.signal.aborted) return;
    showError(e);
  }
  if (current === page) main.dataset.ready = 'yes';
}

export function showError(e) {
  main.appendChild(h('p', {class: 'error', role: 'alert'},
                     'Could not load this page: ', String(e && e.message ? e.message : e)));
}

function quickSearch(value) {
  const v = value.trim();
  if (!v) return;
  if (/^\d+$/.test(v)) location.hash = '#/event/' + encodeURIComponent(v);
  else if (/^[0-9.]+$/.test(v) && v.split('.').length === 4) location.hash = '#/attacker/' + encodeURIComponent(v);
  else if (/^[0-9a-fA-F:]+$/.test(v) && v.includes(':')) location.hash = '#/attacker/' + encodeURIComponent(v);
  else location.hash = '#/events?' + new URLSearchParams({q: v}).toString();
}

function init() {
  api.setUnauthorizedHandler(() => showLogin('The token was refused (or has changed). Enter it again.'));
  document.getElementById('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = document.getElementById('token');
    const t = input.value.trim();
    const err = document.getElementById('login-error');
    err.textContent = '';
    try {
      await api.get('status', null, {token: t});
    } catch (x) {
      err.textContent = x instanceof api.AuthError ? 'This token is not the API token.'
                                                   : 'The collector did not answer: ' + x.message;
      return;
    }
    api.setToken(t);
    input.value = '';
    route();
  });
  document.getElementById('logout').addEventListener('click', () => {
    api.forgetToken();
    showLogin('Logged out.');
  });
  document.getElementById('quick-search').addEventListener('submit', (e) => {
    e.preventDefault();
    quickSearch(document.getElementById('quick').value);
  });
  window.addEventListener('hashchange', route);
  if (!location.hash) history.replaceState(null, '', '#/overview');
  route();
}

init();
