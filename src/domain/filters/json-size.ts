import { Buffer } from 'node:buffer';

/**
 * Whether `value` written as JSON would take more than `limit` UTF-8 bytes. Walks without recursion
 * and stops as soon as the limit is passed, so a huge, deep or even cyclic input costs little.
 */
export function exceedsJsonBytes(value: unknown, limit: number): boolean {
  let total = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (Array.isArray(item)) {
      total += 2 + Math.max(0, item.length - 1);
      if (total > limit) return true;
      for (const element of item) pending.push(element);
    } else if (typeof item === 'object' && item !== null) {
      const keys = Object.keys(item);
      total += 2 + Math.max(0, keys.length - 1) + keys.length;
      if (total > limit) return true;
      for (const key of keys) {
        total += stringBytes(key, limit);
        if (total > limit) return true;
        pending.push((item as Record<string, unknown>)[key]);
      }
    } else if (typeof item === 'string') {
      total += stringBytes(item, limit);
    } else {
      total += typeof item === 'number' || typeof item === 'boolean' ? String(item).length : 4;
    }
    if (total > limit) return true;
  }
  return false;
}

// UTF-8 never takes fewer bytes than UTF-16 code units, so a long string is over without encoding it.
function stringBytes(text: string, limit: number): number {
  return text.length > limit ? text.length : Buffer.byteLength(JSON.stringify(text));
}
