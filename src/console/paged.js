import { api } from './api.js';
import { appendRows, attempt, el, replace, table } from './dom.js';

/**
 * Runs a paged list of `GET path?…query` (the rows under `field` of each page): first page into
 * `slot`, a "More" button while next_cursor is set.
 */
export async function pagedList(slot, { path, query = {}, field, limit = 50, columns, empty }) {
  const load = async (cursor) => {
    const page = await api.get(path, { ...query, cursor, limit });
    return { items: page[field], next_cursor: page.next_cursor };
  };
  const errors = el('div', { class: 'slot' });
  const first = await attempt(errors, () => load(undefined));
  if (!first) return replace(slot, errors);
  const grid = table(columns, first.items, { empty });
  const more = el('button', { type: 'button', class: 'more' }, 'More');
  let cursor = first.next_cursor;
  more.hidden = !cursor;
  more.addEventListener('click', async () => {
    const page = await attempt(errors, () => load(cursor), more);
    if (!page) return;
    appendRows(grid, columns, page.items);
    cursor = page.next_cursor;
    more.hidden = !cursor;
  });
  replace(slot, grid, errors, more);
}
