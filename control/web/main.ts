import { getJson, send, Unauthorized } from './api.js';
import { callPage } from './call-page.js';
import { callsPage } from './calls-page.js';
import { h } from './dom.js';
import { extensionsPage } from './extensions-page.js';
import { historyPage } from './history-page.js';
import { nodePage } from './node-page.js';

const main = document.getElementById('main')!;
const nav = document.getElementById('nav')!;
let leave: () => void = () => undefined;

/** The login form: the token goes in a POST body once, and comes back as nothing but an HttpOnly cookie. */
function loginPage(message = ''): void {
  nav.hidden = true;
  const token = h('input', { type: 'password', name: 'token', id: 'token', autocomplete: 'current-password', required: true });
  const error = h('p', { id: 'login-error', class: 'error' }, message);
  const form = h('form', { id: 'login' }, h('label', { for: 'token' }, 'API token '), token, h('button', { type: 'submit' }, 'Log in'), error);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void fetch('/console/login', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: token.value }) }).then((res) => {
      token.value = '';
      if (res.status === 204) void route();
      else error.textContent = res.status === 401 ? 'Wrong token.' : `Login failed (${res.status}).`;
    });
  });
  main.replaceChildren(h('h1', {}, 'Tandem console'), form);
  token.focus();
}

async function route(): Promise<void> {
  leave();
  leave = () => undefined;
  try {
    await getJson('/console/session');
  } catch (err) {
    if (err instanceof Unauthorized) return loginPage();
    main.replaceChildren(h('p', { class: 'error' }, String(err)));
    return;
  }
  nav.hidden = false;
  const [page, arg, recordId] = location.hash.replace(/^#\/?/, '').split('/');
  if (page === 'call' && arg) leave = callPage(main, decodeURIComponent(arg), recordId ? decodeURIComponent(recordId) : null);
  else if (page === 'extensions') leave = extensionsPage(main);
  else if (page === 'node') leave = nodePage(main);
  else if (page === 'history') leave = historyPage(main);
  else leave = callsPage(main);
}

document.getElementById('logout')!.addEventListener('click', () => {
  leave();
  leave = () => undefined;
  void send('POST', '/console/logout').finally(() => loginPage('Logged out.'));
});
window.addEventListener('hashchange', () => void route());
void route();
