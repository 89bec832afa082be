export const ACCOUNT_ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type AccountRole = (typeof ACCOUNT_ROLES)[number];
/** `deleted`: kept as a record for the audit trail; its email is free for a new account. */
export type UserStatus = 'active' | 'deactivated' | 'deleted';

export type User = {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly role: AccountRole;
  readonly status: UserStatus;
  readonly createdAt: Date;
  readonly updatedAt: Date;
};
