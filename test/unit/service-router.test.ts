import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GLOBAL_REACH } from '../../src/domain/access/scope.js';
import type { Service } from '../../src/domain/services/service.js';
import { createServiceRouter } from '../../src/services/routing.js';
import type { CatalogStore } from '../../src/storage/catalog-store.js';

const service = (id: string, tag: string): Service => ({
  id, teamId: 'T', name: id, description: '', apiFilter: { path: 'tag', op: 'equals', value: tag }, resolveFilter: null, fieldMapping: {},
  createdAt: new Date(0), updatedAt: new Date(0),
});

/** A catalogue whose reads take a turn of the event loop or more, as PostgreSQL's do, and may be made to fail. */
function slowCatalog(initial: Service[]) {
  const rows = new Map(initial.map((s) => [s.id, s]));
  const later = () => new Promise((resolve) => setTimeout(resolve, 5));
  const catalog = {
    failNext: false,
    rows,
    // Each read sees the rows as they are when it starts, and answers a while later.
    async allServices() {
      const read = [...rows.values()];
      await later();
      return read;
    },
    async findService(id: string) {
      const read = rows.get(id);
      const fail = catalog.failNext;
      catalog.failNext = false;
      await later();
      if (fail) throw new Error('database unavailable');
      return read;
    },
  };
  return catalog;
}

const routedTo = async (router: ReturnType<typeof createServiceRouter>, tag: string) =>
  (await router.route(GLOBAL_REACH, { tag })).map((e) => e.service.id);

describe('the service router', () => {
  test('requests arriving while a changed service reloads wait for it: none routes by the old state', async () => {
    const catalog = slowCatalog([service('S1', 'disk')]);
    const router = createServiceRouter({ catalog: catalog as unknown as CatalogStore });
    assert.deepEqual(await routedTo(router, 'disk'), ['S1']);
    catalog.rows.set('S2', service('S2', 'disk'));
    router.markStale('S2');
    const routed = await Promise.all(Array.from({ length: 10 }, () => routedTo(router, 'disk')));
    assert.deepEqual(routed.map((ids) => ids.sort()), Array.from({ length: 10 }, () => ['S1', 'S2']));
  });

  test('a change marked while the first full load runs is loaded after it', async () => {
    const catalog = slowCatalog([service('S1', 'disk')]);
    const router = createServiceRouter({ catalog: catalog as unknown as CatalogStore });
    const first = routedTo(router, 'disk');
    // The full load is in flight (its read may have happened before this change was made).
    catalog.rows.set('S1', service('S1', 'cpu'));
    router.markStale('S1');
    await first;
    assert.deepEqual(await routedTo(router, 'cpu'), ['S1']);
    assert.deepEqual(await routedTo(router, 'disk'), []);
  });

  test('a reload that fails fails its callers, and the next call loads the change', async () => {
    const catalog = slowCatalog([service('S1', 'disk')]);
    const router = createServiceRouter({ catalog: catalog as unknown as CatalogStore });
    await routedTo(router, 'disk');
    catalog.rows.set('S1', service('S1', 'cpu'));
    router.markStale('S1');
    catalog.failNext = true;
    await assert.rejects(routedTo(router, 'cpu'), /database unavailable/);
    assert.deepEqual(await routedTo(router, 'cpu'), ['S1']);
  });

  test('everything marked stale while the full load runs (a lost broadcast link): the load is redone, not trusted', async () => {
    const catalog = slowCatalog([service('S1', 'disk')]);
    const router = createServiceRouter({ catalog: catalog as unknown as CatalogStore });
    const first = routedTo(router, 'cpu');
    catalog.rows.set('S1', service('S1', 'cpu'));
    router.markAllStale();
    assert.deepEqual(await first, ['S1'], 'the caller waited for the load that saw the change');
    assert.deepEqual(await routedTo(router, 'disk'), []);
  });
});
