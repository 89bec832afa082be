import { api, resumeSession, signIn, signOut, whenSignedOut } from './api.js';
import { attempt, el, errorBox, field, notice, replace } from './dom.js';
import { renderKeyList } from './keys.js';
import { renderKeyDetail } from './key-detail.js';
import { renderTokens } from './tokens.js';
import { renderAudit } from './audit.js';
import { renderCatalog } from './catalog.js';
import { renderService } from './service.js';
import { renderTeam } from './team.js';
import { renderIncidents } from './incidents.js';
import { renderIncident } from './incident.js';
import { renderUsers } from './users.js';
import { renderWorkflows } from './workflows.js';
import { renderWorkflow } from './workflow.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const whoami = document.getElementById('whoami');

/** Sections: hash, label, the permission that shows it (none: every signed-in user). */
const SECTIONS = [
  ['keys', 'API keys', 'api_keys:read', renderKeyList],
  ['tokens', 'Personal tokens', null, renderTokens],
  ['audit', 'Audit trail', 'audit:read', renderAudit],
  ['catalog', 'Teams & services', 'teams:read', renderCatalog],
  ['incidents', 'Incidents', 'incidents:read', renderIncidents],
  ['workflows', 'Workflows', 'workflows:read', renderWorkflows],
  ['users', 'Users', 'users:read', renderUsers],
];
const DETAIL = { keys: renderKeyDetail, services: renderService, teams: renderTeam, incidents: renderIncident, workflows: renderWorkflow };
/** Detail pages shown under another section's nav link. */
const PARENT = { services: 'catalog', teams: 'catalog' };

let ctx = null;

/**
 * What the signed-in user may do (from GET /identity); the server still decides every call.
 * `can(permission)`: held anywhere, for what is not one team's or one service's (a nav section, a list).
 * `canIn(permission, { teamId, serviceId })`: held where a resource lives. A global grant covers
 * everything; a team grant that team's resources, its services' included; a service grant that
 * service's. Neither id (a global key or workflow, a new team): a global grant only.
 * `mayGrantPrivilegedRoles`: whether the user may grant the roles GET /roles marks `privileged`
 * (a signed-in owner or admin); without it the API refuses them, and changes to a key holding one.
 */
function contextFor(session, identity) {
  const permissions = new Set(identity.permissions);
  const grants = identity.grants.map((g) => ({
    global: g.scope === 'global',
    teams: new Set(g.team_ids ?? []),
    services: new Set(g.service_ids ?? []),
    permissions: new Set(g.permissions),
  }));
  const covers = (g, { teamId, serviceId }) => g.global || (teamId != null && g.teams.has(teamId)) || (serviceId != null && g.services.has(serviceId));
  return {
    user: session.user,
    can: (permission) => permissions.has(permission),
    canIn: (permission, place = {}) => grants.some((g) => g.permissions.has(permission) && covers(g, place)),
    isAccountAdmin: session.user.role === 'owner' || session.user.role === 'admin',
    mayGrantPrivilegedRoles: identity.may_grant_privileged_roles === true,
    go: (hash) => {
      if (location.hash === hash) route();
      else location.hash = hash;
    },
  };
}

function showSignIn(message) {
  ctx = null;
  nav.replaceChildren();
  whoami.replaceChildren();
  const email = el('input', { name: 'email', type: 'email', autocomplete: 'username', required: true, autofocus: true });
  const password = el('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const errors = el('div', { class: 'slot' }, message ? errorBox(message) : null);
  const submit = el('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = el('form', { class: 'signin', id: 'signin' },
    el('h1', {}, 'Sign in to Latchkey'),
    field('Email', email), field('Password', password), errors, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const session = await attempt(errors, () => signIn(email.value, password.value), submit);
    if (session) await enter(session, true);
  });
  replace(main, form);
}

async function enter(session, fresh) {
  const identity = await attempt(main, () => api.get('/identity'));
  if (!identity) return;
  ctx = contextFor(session, identity);
  replace(whoami,
    el('span', { class: 'user', id: 'current-user' }, session.user.name || session.user.email),
    el('span', { class: 'badge badge-role', id: 'current-role' }, session.user.role),
    el('button', { type: 'button', id: 'signout', onclick: leave }, 'Sign out'));
  replace(nav, SECTIONS.filter(([, , permission]) => !permission || ctx.can(permission))
    .map(([hash, label]) => el('a', { href: `#/${hash}`, 'data-section': hash }, label)));
  const start = ctx.can('api_keys:read') ? '#/keys' : '#/tokens';
  if (fresh || !location.hash || location.hash === '#/') ctx.go(start);
  else route();
}

async function leave() {
  try {
    await signOut();
  } finally {
    history.replaceState(null, '', location.pathname);
    showSignIn();
  }
}

/** An id from the address bar; undefined when its percent-encoding is broken (`#/incidents/%E0`). */
function decodedOrUndefined(id) {
  try {
    return decodeURIComponent(id);
  } catch {
    return undefined;
  }
}

function route() {
  if (!ctx) return;
  const [section = 'keys', id] = location.hash.replace(/^#\/?/, '').split('/');
  for (const link of nav.querySelectorAll('a')) link.classList.toggle('active', link.dataset.section === (PARENT[section] ?? section));
  const view = el('section', { class: 'view' });
  replace(main, view);
  const render = id ? DETAIL[section] : SECTIONS.find(([hash]) => hash === section)?.[3];
  const decoded = id ? decodedOrUndefined(id) : id;
  if (!render || (id && decoded === undefined)) return replace(view, notice(`There is no page "${location.hash}".`));
  Promise.resolve(render(view, ctx, decoded)).catch((err) => replace(view, id && err && err.status === 404 ? notFound(section, err) : errorBox(err)));
}

/**
 * A detail page whose record the API does not find (deleted since, as an audit trail link may
 * lead to, or out of the user's sight: the API answers both alike): said plainly, with the way back.
 */
function notFound(section, err) {
  const [hash, label, permission] = SECTIONS.find(([h]) => h === (PARENT[section] ?? section)) ?? [];
  return [
    el('div', { class: 'toolbar' }, el('h1', { id: 'not-found' }, 'Not found'),
      hash && (!permission || ctx.can(permission)) ? el('a', { href: `#/${hash}` }, `← ${label}`) : null),
    errorBox(err),
    notice('Nothing to show here: it may have been deleted, or it is not yours to see.'),
  ];
}

whenSignedOut((err) => showSignIn(err));
window.addEventListener('hashchange', route);

(async () => {
  try {
    const session = await resumeSession();
    if (session) await enter(session, false);
    else showSignIn();
  } catch (err) {
    replace(main, errorBox(err));
  }
})();
