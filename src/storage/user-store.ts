import type { Selectable, Transaction } from 'kysely';
import type { AccountRole, User, UserStatus } from '../domain/users/user.js';
import type { Db } from './connect.js';
import { fromMs, toMs } from './json.js';
import type { Database } from './schema.js';

export function rowToUser(row: Selectable<Database['users']>): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role as AccountRole,
    status: row.status as UserStatus,
    createdAt: fromMs(row.created_at),
    updatedAt: fromMs(row.updated_at),
  };
}

export type UserStore = ReturnType<typeof createUserStore>;

export function createUserStore(db: Db) {
  return {
    async insert(trx: Transaction<Database>, user: User, passwordHash: string): Promise<void> {
      await trx.insertInto('users').values({
        id: user.id,
        email: user.email,
        name: user.name,
        password_hash: passwordHash,
        role: user.role,
        status: user.status,
        created_at: toMs(user.createdAt),
        updated_at: toMs(user.updatedAt),
      }).execute();
    },

    async findById(id: string): Promise<User | undefined> {
      const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return row && rowToUser(row);
    },

    async count(trx: Transaction<Database> | Db = db): Promise<number> {
      const row = await trx.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
