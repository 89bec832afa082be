import { Type, type Static, type TSchema } from 'typebox';
import { ERROR_CODES } from '../../domain/errors.js';

/**
 * `T | null`. A schema with one `type` becomes `type: [T, 'null']`, which the response serializer
 * handles with a null check; an `anyOf` would make it run a validator over every branch of every
 * such field on every response (a date-time format check per timestamp, per request).
 */
export const Nullable = <T extends TSchema>(schema: T) => {
  const { type } = schema as { type?: unknown };
  if (typeof type !== 'string') return Type.Union([schema, Type.Null()]);
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [type, 'null'] });
};

export const Ulid = Type.String({ pattern: '^[0-9A-HJKMNP-TV-Z]{26}$', description: 'ULID' });
export const Timestamp = Type.String({ format: 'date-time' });
export const NullableTimestamp = Nullable(Timestamp);

export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });

export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.Enum([...ERROR_CODES]),
    message: Type.String(),
    request_id: Type.String(),
    details: Type.Optional(Type.Object({}, { additionalProperties: true })),
  }),
}, { $id: 'Error' });

/**
 * The body of a write that takes no fields (a delete, acknowledge, deactivate, disable): a bare
 * request is validated as `{}` (bodyOrNoFields), and a body with fields is refused, not ignored.
 */
export const NoFields = Type.Object({}, { additionalProperties: false, description: 'no fields: send no body, or {}' });

/** preValidation for a route whose body is optional: no body (or JSON null) is validated as `{}`. */
export async function bodyOrNoFields(request: { body: unknown }): Promise<void> {
  request.body ??= {};
}

/** Error responses every authenticated route can give. */
export const AUTH_ERRORS = { 401: ErrorResponse, 403: ErrorResponse, 429: ErrorResponse } as const;

export const Limit = Type.String({ pattern: '^(?:[1-9]|[1-9][0-9]|1[0-9][0-9]|200)$', description: 'page size, 1–200 (default 50)' });
export const Cursor = Type.String({ pattern: '^[0-9A-HJKMNP-TV-Z]{26}$', description: 'next_cursor from the previous page' });

export const iso = (d: Date): string => d.toISOString();
export const isoOrNull = (d: Date | null): string | null => (d ? d.toISOString() : null);

export const ActorRefSchema = Type.Object({
  type: Type.Enum(['api_key', 'user', 'system']),
  id: Nullable(Type.String()),
  name: Type.String(),
});

export function pageSize(limit: string | undefined): number | undefined {
  return limit === undefined ? undefined : Number(limit);
}
