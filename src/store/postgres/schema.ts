/**
 * The PostgreSQL schema, as numbered migrations: each runs once, in order, recorded in
 * schema_migrations (see migrate.ts). Idempotency keys use the "C" collation: the store asks for
 * key ranges ("every key under <message key>/"), which need byte order, not the locale's.
 */
export const MIGRATIONS: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'outbox, delivery ledger, health, run locks, usage, API keys',
    sql: `
CREATE TABLE outbox (
  id BIGSERIAL PRIMARY KEY,
  idempotency_key TEXT COLLATE "C" NOT NULL,
  message_json TEXT NOT NULL,
  chain_json TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'ambiguous', 'delivered', 'rejected', 'dropped', 'expired')),
  reason TEXT,
  attempts_json TEXT NOT NULL DEFAULT '[]',
  tries INTEGER NOT NULL DEFAULT 0,
  provider TEXT,
  message_id TEXT,
  lease_owner TEXT,
  lease_until BIGINT,
  sending_since BIGINT,
  next_attempt_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_key ON outbox (idempotency_key);
CREATE UNIQUE INDEX outbox_open_key ON outbox (idempotency_key) WHERE status IN ('pending', 'ambiguous');

CREATE TABLE deliveries (
  idempotency_key TEXT COLLATE "C" PRIMARY KEY,
  provider TEXT NOT NULL,
  message_id TEXT NOT NULL,
  delivered_at BIGINT NOT NULL
);

-- One row per accepted bulk batch: recipient digests and message ids in order (one id when the
-- provider answered one for the whole call).
CREATE TABLE bulk_deliveries (
  id BIGSERIAL PRIMARY KEY,
  run_key TEXT COLLATE "C" NOT NULL,
  provider TEXT NOT NULL,
  digests TEXT[] NOT NULL,
  message_ids TEXT[] NOT NULL,
  delivered_at BIGINT NOT NULL
);
CREATE INDEX bulk_deliveries_run ON bulk_deliveries (run_key, delivered_at);

CREATE TABLE health (
  provider TEXT PRIMARY KEY,
  consecutive_failures INTEGER NOT NULL,
  open_until BIGINT,
  last_error TEXT,
  last_failure_at BIGINT,
  last_success_at BIGINT
);

CREATE TABLE bulk_in_flight (
  id BIGSERIAL PRIMARY KEY,
  run_key TEXT COLLATE "C" NOT NULL,
  owner TEXT NOT NULL,
  provider TEXT NOT NULL,
  digests TEXT[] NOT NULL,
  started_at BIGINT NOT NULL
);
CREATE INDEX bulk_in_flight_run ON bulk_in_flight (run_key);

CREATE TABLE run_locks (
  run_key TEXT COLLATE "C" PRIMARY KEY,
  owner TEXT NOT NULL,
  heartbeat_at BIGINT NOT NULL
);

CREATE TABLE usage (
  month TEXT NOT NULL,
  provider TEXT NOT NULL,
  type TEXT NOT NULL,
  emails BIGINT NOT NULL,
  PRIMARY KEY (month, provider, type)
);

CREATE TABLE api_keys (
  name TEXT PRIMARY KEY,
  key_hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT,
  last_used_at BIGINT
);
`,
  },
  {
    version: 2,
    name: 'delivery events and suppressions',
    sql: `
CREATE TABLE events (
  id BIGSERIAL PRIMARY KEY,
  event_key TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  bounce TEXT,
  provider TEXT NOT NULL,
  provider_message_id TEXT,
  idempotency_key TEXT,
  recipient TEXT NOT NULL,
  occurred_at BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  raw_json TEXT NOT NULL
);
CREATE INDEX events_recipient ON events (recipient, occurred_at);
CREATE INDEX events_occurred ON events (occurred_at);
CREATE INDEX events_received ON events (received_at);
CREATE TABLE suppressions (
  address TEXT NOT NULL,
  scope TEXT NOT NULL,
  reason TEXT NOT NULL,
  source TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (address, scope)
);
CREATE INDEX deliveries_message_id ON deliveries (message_id);
`,
  },
  {
    version: 3,
    name: 'usage counted in shards',
    // Every delivery adds to its month's usage row, and a row stays locked until its transaction
    // commits: with many senders that one row serialised them all (bench/store.ts saw most
    // connections waiting on it). Each delivery now adds to one of 16 rows; readers sum them.
    sql: `
ALTER TABLE usage ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE usage DROP CONSTRAINT usage_pkey;
ALTER TABLE usage ADD PRIMARY KEY (month, provider, type, shard);
`,
  },
  {
    version: 4,
    name: 'send-side rate limit windows',
    // One fixed-window counter per provider and window length (issue #22). A take is one call of
    // take_rate: it locks the provider's counters (shortest window first, as every caller does, so
    // two takes never deadlock), starts a counter again when its window has passed, and adds what
    // every window has room for — one round trip, atomic however many processes take at once.
    sql: `
CREATE TABLE rate_windows (
  provider TEXT NOT NULL,
  window_ms BIGINT NOT NULL,
  window_start BIGINT NOT NULL,
  used BIGINT NOT NULL,
  PRIMARY KEY (provider, window_ms)
);
CREATE FUNCTION take_rate(p_provider TEXT, p_window_ms BIGINT[], p_limits BIGINT[], p_now BIGINT, p_want BIGINT, p_at_least BIGINT,
                          OUT o_granted BIGINT, OUT o_starts BIGINT[], OUT o_used BIGINT[])
LANGUAGE plpgsql AS $take$
DECLARE
  i INT;
  v_start BIGINT;
  v_used BIGINT;
BEGIN
  o_granted := p_want;
  o_starts := '{}';
  o_used := '{}';
  FOR i IN 1 .. cardinality(p_window_ms) LOOP
    -- A counter of an earlier window starts again; one of a later window (a clock ahead) is kept.
    INSERT INTO rate_windows AS r (provider, window_ms, window_start, used)
      VALUES (p_provider, p_window_ms[i], p_now - p_now % p_window_ms[i], 0)
      ON CONFLICT (provider, window_ms) DO UPDATE
        SET window_start = GREATEST(r.window_start, excluded.window_start),
            used = CASE WHEN r.window_start < excluded.window_start THEN 0 ELSE r.used END
      RETURNING r.window_start, r.used INTO v_start, v_used;
    o_starts := o_starts || v_start;
    o_used := o_used || v_used;
    -- An empty window takes anything, charged at most its size; one in use, what it has left.
    IF v_used > 0 THEN
      o_granted := LEAST(o_granted, p_limits[i] - v_used);
    END IF;
  END LOOP;
  IF o_granted < GREATEST(p_at_least, 1) THEN
    o_granted := 0;
  ELSE
    FOR i IN 1 .. cardinality(p_window_ms) LOOP
      UPDATE rate_windows SET used = used + LEAST(o_granted, p_limits[i]) WHERE provider = p_provider AND window_ms = p_window_ms[i];
      o_used[i] := o_used[i] + LEAST(o_granted, p_limits[i]);
    END LOOP;
  END IF;
END
$take$;
`,
  },
  {
    version: 5,
    name: 'content key of explicit-key deliveries; webhook tokens; bulk jobs',
    // What a message under an explicit key said, so that the key reused for other content is
    // refused; webhook signature tokens used once (Mailgun), for every server sharing the database;
    // bulk runs accepted by serve, kept until they end (resumed after a stop).
    sql: `
ALTER TABLE deliveries ADD COLUMN content_key TEXT;
CREATE TABLE webhook_tokens (
  provider TEXT NOT NULL,
  token TEXT NOT NULL,
  body_digest TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (provider, token)
);
CREATE INDEX webhook_tokens_expiry ON webhook_tokens (expires_at);
CREATE TABLE bulk_jobs (
  id TEXT PRIMARY KEY,
  job_json TEXT NOT NULL,
  owner TEXT,
  lease_until BIGINT,
  created_at BIGINT NOT NULL
);
`,
  },
  {
    version: 6,
    name: 'content key of explicit-key bulk deliveries',
    // What a bulk message under an explicit key said, kept with each batch, so that the key reused
    // for another message is refused as a single send's is.
    sql: `
ALTER TABLE bulk_deliveries ADD COLUMN content_key TEXT;
`,
  },
];
