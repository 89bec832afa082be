import { Type } from 'typebox';
import type { Membership } from '../../domain/users/access.js';
import { ACCOUNT_ROLES, type User } from '../../domain/users/user.js';
import { MIN_PASSWORD_LENGTH } from '../../services/users.js';
import { iso, Timestamp, Ulid } from './common.js';

export const TeamRoleSchema = Type.Enum(['manager', 'member']);
export const AccountRoleSchema = Type.Enum([...ACCOUNT_ROLES]);

export const UserSchema = Type.Object({
  id: Ulid,
  email: Type.String(),
  name: Type.String(),
  role: AccountRoleSchema,
  status: Type.Enum(['active', 'deactivated', 'deleted'], { description: 'deleted: kept as a record for the audit trail, its email suffixed with its id so the address is free again' }),
  teams: Type.Optional(Type.Array(Type.Object({ team_id: Type.String(), role: TeamRoleSchema }))),
  created_at: Timestamp,
  updated_at: Timestamp,
}, { $id: 'User' });

export const Email = Type.String({ format: 'email', maxLength: 254 });
export const Password = Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024 });
export const UserName = Type.String({ minLength: 1, maxLength: 200 });

export const UpdateUserBody = Type.Object({
  name: Type.Optional(UserName), role: Type.Optional(AccountRoleSchema), password: Type.Optional(Password),
  current_password: Type.Optional(Type.String({ maxLength: 1024, description: 'your present password, when changing your own' })),
}, { additionalProperties: false, minProperties: 1 });

export function presentUser(user: User, memberships?: readonly Membership[]) {
  return {
    id: user.id, email: user.email, name: user.name, role: user.role, status: user.status,
    ...(memberships && { teams: memberships.map((m) => ({ team_id: m.teamId, role: m.role })) }),
    created_at: iso(user.createdAt), updated_at: iso(user.updatedAt),
  };
}
