import type { Db } from './connect.js';

/** Small facts about the installation itself (for instance, which secret its digests use). */
export function createMetaStore(db: Db) {
  return {
    async get(key: string): Promise<string | undefined> {
      return (await db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirst())?.value;
    },
    /** Sets the value only if none is stored; returns the value that is stored afterwards. */
    async setIfAbsent(key: string, value: string): Promise<string> {
      await db.insertInto('meta').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).execute();
      return (await this.get(key))!;
    },
  };
}
