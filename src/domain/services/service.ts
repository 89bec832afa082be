import type { Filter } from '../filters/index.js';

/** Where a service reads an incident's fields in a payload: each a field path, e.g. `alert.title`. */
export type FieldMapping = {
  readonly title?: string;
  readonly description?: string;
  readonly severity?: string;
  readonly dedup_key?: string;
};

/** A platform service: it belongs to one team and receives the incidents its API filter accepts. */
export type Service = {
  readonly id: string;
  readonly teamId: string;
  readonly name: string;
  readonly description: string;
  /** null: accepts everything sent with a key scoped to this service, nothing routed by team or global keys. */
  readonly apiFilter: Filter | null;
  /** A payload matching this resolves the open incident with the same dedup key instead of opening one. */
  readonly resolveFilter: Filter | null;
  readonly fieldMapping: FieldMapping;
  readonly createdAt: Date;
  readonly updatedAt: Date;
};
