import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import { asSession, client, createUser, expectStatus, signIn, type Json } from '../support/platform.js';

type As = ReturnType<typeof asSession>;

const ENDINGS: ReadonlyArray<readonly [string, (as: As, id: string) => ReturnType<As['get']>]> = [
  ['demote', (as, id) => as.patch(`/users/${id}`, { role: 'admin' })],
  ['deactivate', (as, id) => as.post(`/users/${id}/deactivate`)],
  ['delete', (as, id) => as.del(`/users/${id}`)],
];

for (const db of testDatabases()) {
  // Two owners ending each other at the same moment must not leave the system with none.
  describe(`the last owner under concurrent changes on ${db.name}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(db);
    });
    after(() => t.close());

    const owners = async () =>
      (expectStatus(await client(t).get('/users?limit=200'), 200).users as Json[]).filter((u) => u.role === 'owner' && u.status === 'active');

    /** Two fresh owners, signed in, and no other owner: each is the other's only fellow owner. */
    async function twoOwners(): Promise<[As, string, As, string]> {
      const [x, y] = [await createUser(t, 'owner'), await createUser(t, 'owner')];
      const asX = asSession(t, await signIn(t, x.email));
      for (const u of await owners()) if (u.id !== x.id && u.id !== y.id) expectStatus(await asX.patch(`/users/${u.id}`, { role: 'admin' }), 200);
      return [asX, x.id, asSession(t, await signIn(t, y.email)), y.id];
    }

    for (const [name, end] of ENDINGS) {
      test(`two owners ${name} each other at once: one is refused, one owner stays`, async () => {
        // Several rounds: without a lock the two changes interleave often, not always.
        for (let round = 0; round < 8; round++) {
          const [asX, x, asY, y] = await twoOwners();
          const codes = (await Promise.all([end(asX, y), end(asY, x)])).map((r) => r.statusCode);
          const left = await owners();
          assert.equal(left.length, 1, `round ${round}: ${left.length} active owners left (answers ${codes.join(' ')})`);
          // The other is refused: 409 (the last owner), or 403 when its caller is no owner by then.
          assert.deepEqual(codes.filter((c) => c < 300).length, 1, codes.join(' '));
        }
      });
    }
  });
}
