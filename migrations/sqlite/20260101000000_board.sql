-- vox server schema (SQLite). The board (board_entries + merkle_nodes + tree_heads) is
-- the source of truth; the other tables are indexes the server maintains in the same
-- transaction as the entries they describe.

-- Server secrets created at first start: the board's Ed25519 signing key and the
-- SHA-256 of the authority token (the token itself is never stored).
CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
);

-- One row: the sequencer. Every write transaction locks it first (UPDATE), so log
-- appends are serialized by the database, whatever the number of server processes.
CREATE TABLE board_head (
    id                INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    size              INTEGER NOT NULL,
    last_timestamp_ms INTEGER NOT NULL,
    root_hash         BLOB NOT NULL
);

-- The log: one row per leaf. `body` is the entry's JSON; `leaf_hash` is over its
-- canonical encoding.
CREATE TABLE board_entries (
    seq          INTEGER PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL,
    scope        TEXT,
    timestamp_ms INTEGER NOT NULL,
    leaf_hash    BLOB NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX board_entries_scope ON board_entries (scope, seq);

-- Every perfect aligned subtree hash (level 0 = leaf hashes), written as leaves arrive.
CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Every signed tree head issued (one per write transaction).
CREATE TABLE tree_heads (
    tree_size    INTEGER PRIMARY KEY NOT NULL,
    root_hash    BLOB NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    signature    BLOB NOT NULL
);

CREATE TABLE cosignatures (
    tree_size INTEGER NOT NULL,
    witness   BLOB NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (tree_size, witness)
);

-- Accepted ballots. `ciphertexts` is the concatenation of every (a, b) pair (64 bytes
-- each, tally order) so the tally needs no JSON parsing; `receipt` is the signed
-- receipt returned when the ballot was accepted (re-posting returns it again).
CREATE TABLE ballots (
    ballot_hash   BLOB PRIMARY KEY NOT NULL,
    referendum_id TEXT NOT NULL,
    credential    BLOB NOT NULL,
    seq           INTEGER NOT NULL,
    ciphertexts   BLOB NOT NULL,
    receipt       TEXT NOT NULL
);
CREATE INDEX ballots_referendum ON ballots (referendum_id, seq);

-- Last ballot per credential: the database enforces "one counted ballot per credential".
CREATE TABLE latest_ballot (
    referendum_id TEXT NOT NULL,
    credential    BLOB NOT NULL,
    ballot_hash   BLOB NOT NULL,
    seq           INTEGER NOT NULL,
    PRIMARY KEY (referendum_id, credential)
);

-- Benaloh-audited ballots: published, never counted, never castable.
CREATE TABLE audited_ballots (
    ballot_hash   BLOB PRIMARY KEY NOT NULL,
    referendum_id TEXT NOT NULL,
    seq           INTEGER NOT NULL
);

-- Idempotency-Key records, written in the transaction of the state change they answer.
CREATE TABLE idempotency (
    key          TEXT PRIMARY KEY NOT NULL,
    request_hash BLOB NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_ms   INTEGER NOT NULL
);
