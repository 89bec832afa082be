/** `/all/0` + `ignore_case` → `/all/0/ignore_case`, escaping as RFC 6901 says. */
export function pointerTo(parent: string, token: string | number): string {
  return `${parent}/${String(token).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/** "a string", "an array", … for messages about a value of the wrong type. */
export function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string': return 'a string';
    case 'number': return Number.isFinite(value) ? 'a number' : 'a non-finite number';
    case 'boolean': return 'a boolean';
    case 'object': return 'an object';
    default: return `a ${typeof value} (not JSON)`;
  }
}

/**
 * JSON text of `value`, cut at about `max` characters with "…". Stops early instead of
 * serialising everything, so a preview of a huge or deeply nested payload value stays cheap.
 */
export function previewJson(value: unknown, max = 200): string {
  const out: string[] = [];
  let length = 0;
  const emit = (text: string): boolean => {
    out.push(text);
    length += text.length;
    return length <= max;
  };
  const write = (item: unknown): boolean => {
    if (Array.isArray(item)) {
      if (!emit('[')) return false;
      for (let i = 0; i < item.length; i++) {
        if ((i > 0 && !emit(',')) || !write(item[i] ?? null)) return false;
      }
      return emit(']');
    }
    if (typeof item === 'object' && item !== null) {
      if (!emit('{')) return false;
      let first = true;
      for (const [key, member] of Object.entries(item)) {
        if (member === undefined) continue;
        if ((!first && !emit(',')) || !emit(`${JSON.stringify(key.length > max ? key.slice(0, max) : key)}:`) || !write(member)) return false;
        first = false;
      }
      return emit('}');
    }
    if (typeof item === 'string') return emit(JSON.stringify(item.length > max ? item.slice(0, max + 1) : item));
    return emit(JSON.stringify(item) ?? 'null');
  };
  const complete = write(value);
  const text = out.join('');
  return complete ? text : `${cutBeforeSurrogateSplit(text, max)}…`;
}

function cutBeforeSurrogateSplit(text: string, max: number): string {
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}
