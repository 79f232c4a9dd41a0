// The JSON API of the collector (/api/v1/), with the token from the login form. The token lives
// in sessionStorage (gone with the tab), never in a URL: URLs are shared, logged and kept in the
// history. A 401 forgets the token and sends the user back to the form.

const TOKEN_KEY = 'drosera.api-token';

export class AuthError extends Error {}
export class NotFound extends Error {}

export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(t) {
  sessionStorage.setItem(TOKEN_KEY, t);
}

export function forgetToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: nothing kept anyway
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

// GET /api/v1/<path> with `params` as the query; resolves to the parsed JSON. Rejects with
// AuthError (after calling the unauthorized handler), NotFound, or Error with the API's message.
export async function get(path, params, options = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  }
  const qs = q.toString();
  const url = '/api/v1/' + path + (qs ? '?' + qs : '');
  const t = options.token ?? token();
  const resp = await fetch(url, {
    headers: {Authorization: 'Bearer ' + t, Accept: 'application/json'},
    cache: 'no-store',
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
    signal: options.signal,
  });
  if (resp.status === 401) {
    if (!options.token) {
      forgetToken();
      onUnauthorized();
    }
    throw new AuthError('the token was refused');
  }
  if (resp.status === 404) throw new NotFound(path);
  if (options.raw) {
    if (!resp.ok) throw new Error('HTTP ' + resp.status);
    return resp.arrayBuffer();
  }
  let body = null;
  try {
    body = await resp.json();
  } catch {
    throw new Error('HTTP ' + resp.status + ': not JSON');
  }
  if (!resp.ok) throw new Error((body && body.error) || 'HTTP ' + resp.status);
  return body;
}

export function encodePath(s) {
  return encodeURIComponent(String(s));
}
