-- Indexes for the integrity check every start runs (vox_server::integrity): the side
-- tables are matched against the log by position and kind using indexes only, never by
-- reading entry bodies. A ballot or an audit is one leaf, so its position is unique.
CREATE UNIQUE INDEX ballots_seq ON ballots (seq);
CREATE UNIQUE INDEX audited_ballots_seq ON audited_ballots (seq);
CREATE INDEX board_entries_kind ON board_entries (kind, seq);
