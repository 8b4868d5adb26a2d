-- vox server schema (PostgreSQL). The board (board_entries + merkle_nodes + tree_heads) is
-- the source of truth; the other tables are indexes the server maintains in the same
-- transaction as the entries they describe.

-- Server secrets created at first start: the board's Ed25519 signing key and the
-- SHA-256 of the authority token (the token itself is never stored).
CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY NOT NULL,
    value BYTEA NOT NULL
);

-- One row: the sequencer. Every write transaction locks it first (UPDATE), so log
-- appends are serialized by the database, whatever the number of server processes.
CREATE TABLE board_head (
    id                BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    size              BIGINT NOT NULL,
    last_timestamp_ms BIGINT NOT NULL,
    root_hash         BYTEA NOT NULL
);

-- The log: one row per leaf. `body` is the entry's JSON; `leaf_hash` is over its
-- canonical encoding.
CREATE TABLE board_entries (
    seq          BIGINT PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL,
    scope        TEXT,
    timestamp_ms BIGINT NOT NULL,
    leaf_hash    BYTEA NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX board_entries_scope ON board_entries (scope, seq);

-- Every perfect aligned subtree hash (level 0 = leaf hashes), written as leaves arrive.
CREATE TABLE merkle_nodes (
    level BIGINT NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Every signed tree head issued (one per write transaction).
CREATE TABLE tree_heads (
    tree_size    BIGINT PRIMARY KEY NOT NULL,
    root_hash    BYTEA NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    signature    BYTEA NOT NULL
);

CREATE TABLE cosignatures (
    tree_size BIGINT NOT NULL,
    witness   BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    PRIMARY KEY (tree_size, witness)
);

-- Accepted ballots. `ciphertexts` is the concatenation of every (a, b) pair (64 bytes
-- each, tally order) so the tally needs no JSON parsing; `receipt` is the signed
-- receipt returned when the ballot was accepted (re-posting returns it again).
CREATE TABLE ballots (
    ballot_hash   BYTEA PRIMARY KEY NOT NULL,
    referendum_id TEXT NOT NULL,
    credential    BYTEA NOT NULL,
    seq           BIGINT NOT NULL,
    ciphertexts   BYTEA NOT NULL,
    receipt       TEXT NOT NULL
);
CREATE INDEX ballots_referendum ON ballots (referendum_id, seq);

-- Last ballot per credential: the database enforces "one counted ballot per credential".
CREATE TABLE latest_ballot (
    referendum_id TEXT NOT NULL,
    credential    BYTEA NOT NULL,
    ballot_hash   BYTEA NOT NULL,
    seq           BIGINT NOT NULL,
    PRIMARY KEY (referendum_id, credential)
);

-- Benaloh-audited ballots: published, never counted, never castable.
CREATE TABLE audited_ballots (
    ballot_hash   BYTEA PRIMARY KEY NOT NULL,
    referendum_id TEXT NOT NULL,
    seq           BIGINT NOT NULL
);

-- Idempotency-Key records, written in the transaction of the state change they answer.
CREATE TABLE idempotency (
    key          TEXT PRIMARY KEY NOT NULL,
    request_hash BYTEA NOT NULL,
    status       BIGINT NOT NULL,
    body         TEXT NOT NULL,
    created_ms   BIGINT NOT NULL
);
