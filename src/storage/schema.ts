import type { Generated } from 'kysely';

/**
 * Table shapes as both databases store them. Portable column types only: times are integer
 * epoch milliseconds, flags are 0/1 integers, lists and objects are JSON text.
 */
export interface Database {
  meta: { key: string; value: string };
  users: {
    id: string;
    email: string;
    name: string;
    password_hash: string;
    role: string;
    status: string;
    created_at: number;
    updated_at: number;
  };
  teams: { id: string; name: string; description: string; created_at: number; updated_at: number; deleted_at: number | null };
  services: {
    id: string;
    team_id: string;
    name: string;
    description: string;
    api_filter: string | null;
    resolve_filter: string | null;
    field_mapping: string | null;
    deleted_at: number | null;
    created_at: number;
    updated_at: number;
  };
  incidents: {
    id: string;
    service_id: string;
    team_id: string;
    title: string;
    description: string;
    severity: string;
    status: string;
    dedup_key: string | null;
    source: string;
    created_by: string;
    created_at: number;
    updated_at: number;
    acknowledged_at: number | null;
    acknowledged_by: string | null;
    resolved_at: number | null;
    resolved_by: string | null;
    alert_count: number;
    last_payload: string;
  };
  api_keys: {
    id: string;
    name: string;
    description: string;
    kind: string;
    scope: string;
    team_id: string | null;
    service_id: string | null;
    owner_user_id: string | null;
    roles: string;
    read_only: number;
    state: string;
    expires_at: number | null;
    created_at: number;
    created_by: string;
    updated_at: number;
    disabled_at: number | null;
    disabled_by: string | null;
    revoked_at: number | null;
    revoked_by: string | null;
    token_last_issued_at: number;
    last_used_at: number | null;
    last_used_ip: string | null;
    debug_enabled_at: number | null;
    debug_until: number | null;
    dedup_window_seconds: number;
    rate_limit_per_minute: number | null;
    allowed_cidrs: string;
  };
  /** Every token ever issued for a key: the current one has `retired_at` null. */
  api_key_tokens: {
    digest: string;
    api_key_id: string;
    hint: string;
    issued_at: number;
    retired_at: number | null;
    valid_until: number | null;
    last_used_at: number | null;
  };
  team_memberships: { team_id: string; user_id: string; role: string; created_at: number };
  sessions: {
    digest: string;
    user_id: string;
    created_at: number;
    expires_at: number;
    ip: string | null;
    user_agent: string | null;
  };
  workflows: {
    id: string;
    team_id: string | null;
    name: string;
    description: string;
    filter: string | null;
    actions: string;
    enabled: number;
    created_at: number;
    updated_at: number;
    /** Set when deleted: the record stays, for the runs that point at it. */
    deleted_at: Generated<number | null>;
  };
  automation_requests: {
    id: string;
    created_by: string;
    api_key_id: string | null;
    payload: string;
    status: string;
    created_at: number;
  };
  workflow_runs: {
    id: string;
    request_id: string;
    workflow_id: string;
    team_id: string | null;
    status: string;
    actions: string;
    started_at: number;
    finished_at: number;
  };
  dedup_claims: { api_key_id: string; fingerprint: string; first_seen_at: number; expires_at: number };
  /** SQLite only: the event writer thread's claims, in the order made (0011_dedup_claim_log.ts). */
  dedup_claim_log: { id: Generated<number>; api_key_id: string; fingerprint: string; first_seen_at: number; expires_at: number };
  api_logs: {
    id: string;
    api_key_id: string;
    team_id: string | null;
    service_id: string | null;
    at: number;
    method: string;
    path: string;
    status: number;
    error_code: string | null;
    duration_ms: number;
    ip: string | null;
    /** Headers, bodies and incidents created, as JSON: redacted and truncated before storing. */
    entry: string;
  };
  change_events: {
    id: string;
    service_id: string;
    team_id: string;
    api_key_id: string | null;
    summary: string;
    source: string | null;
    timestamp: number;
    event: string;
    created_at: number;
  };
  api_key_usage: { api_key_id: string; day: string; outcome: string; count: number };
  audit_events: {
    id: string;
    at: number;
    action: string;
    actor: string;
    actor_id: string | null;
    target_type: string;
    target_id: string;
    team_id: string | null;
    service_id: string | null;
    ip: string | null;
    request_id: string | null;
    details: string;
  };
}

export type Row<T extends keyof Database> = Database[T];
