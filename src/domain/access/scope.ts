/** Where a key, or a resource, lives. */
export type Scope =
  | { readonly type: 'global' }
  | { readonly type: 'team'; readonly teamId: string }
  | { readonly type: 'service'; readonly teamId: string; readonly serviceId: string };

export type ScopeType = Scope['type'];

/**
 * The set of places an actor may act in. A global key reaches everything; a team key its team
 * (and the team's services); a service key its service. A user reaches the teams they manage.
 */
export type Reach =
  | { readonly global: true }
  | { readonly global: false; readonly teamIds: ReadonlySet<string>; readonly serviceIds: ReadonlySet<string> };

export const GLOBAL_REACH: Reach = { global: true };

export function reachOfScope(scope: Scope): Reach {
  switch (scope.type) {
    case 'global': return GLOBAL_REACH;
    case 'team': return { global: false, teamIds: new Set([scope.teamId]), serviceIds: new Set() };
    case 'service': return { global: false, teamIds: new Set(), serviceIds: new Set([scope.serviceId]) };
  }
}

/** Whether everything in `scope` lies inside `reach`. */
export function reachCovers(reach: Reach, scope: Scope): boolean {
  if (reach.global) return true;
  switch (scope.type) {
    case 'global': return false;
    case 'team': return reach.teamIds.has(scope.teamId);
    case 'service': return reach.teamIds.has(scope.teamId) || reach.serviceIds.has(scope.serviceId);
  }
}

export function scopeOf(teamId: string | null, serviceId: string | null): Scope {
  if (serviceId && teamId) return { type: 'service', teamId, serviceId };
  if (teamId) return { type: 'team', teamId };
  return { type: 'global' };
}
