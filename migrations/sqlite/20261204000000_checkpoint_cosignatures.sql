-- Tree heads are C2SP checkpoints and cosignatures are C2SP cosignature/v1 (protocol-spec
-- 08 §8.3–§8.4): a cosignature now carries the witness's key name and its time. Old
-- cosignatures (vox/v2/cosignature messages) verify under no current rule: dropped.
DELETE FROM cosignatures;
ALTER TABLE cosignatures ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE cosignatures ADD COLUMN cosigned_at INTEGER NOT NULL DEFAULT 0;
