// The REST API as the console uses it: the session cookie rides along by itself; the CSRF
// token lives only in this module's memory and goes out as x-csrf-token on every write.

let csrfToken = null;

export class ApiError extends Error {
  constructor(status, body) {
    const error = body && body.error;
    super(error && error.message ? error.message : `the server answered ${status}`);
    this.status = status;
    this.code = error ? error.code : 'http_' + status;
    this.details = error && error.details ? error.details : null;
    this.requestId = error ? error.request_id : null;
  }
}

/** Called when any call answers 401 (the session ended elsewhere): the app shows sign-in. */
let onSignedOut = () => {};
export function whenSignedOut(handler) {
  onSignedOut = handler;
}

function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function call(method, path, { query, body, quietAuth = false } = {}) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  // No Content-Type without a body: the API refuses an empty body declared as JSON.
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch('/api/v1' + withQuery(path, query), {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new ApiError(0, { error: { code: 'network', message: `could not reach the server (${err.message})` } });
  }
  const text = await res.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!res.ok) {
    const error = new ApiError(res.status, parsed);
    if (res.status === 401 && !quietAuth) onSignedOut(error);
    throw error;
  }
  return parsed;
}

export const api = {
  get: (path, query) => call('GET', path, { query }),
  post: (path, body) => call('POST', path, { body }),
  patch: (path, body) => call('PATCH', path, { body }),
  put: (path, body) => call('PUT', path, { body }),
  del: (path) => call('DELETE', path),
};

/** The live session behind the cookie, or null: after a reload this brings the CSRF token back. */
export async function resumeSession() {
  try {
    const session = await call('GET', '/session', { quietAuth: true });
    csrfToken = session.csrf_token;
    return session;
  } catch (err) {
    if (err.status === 401) return null;
    throw err;
  }
}

export async function signIn(email, password) {
  const session = await call('POST', '/session', { body: { email, password }, quietAuth: true });
  csrfToken = session.csrf_token;
  return session;
}

export async function signOut() {
  try {
    await call('DELETE', '/session', { quietAuth: true });
  } finally {
    csrfToken = null;
  }
}
