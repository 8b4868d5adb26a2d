//! JSON schemas (feature `openapi`) of this crate's types serialized by hand: lower-case
//! hex strings, exactly as `Serialize` writes them. The derived schemas follow the serde
//! attributes (`tag = "type"`, `rename_all`, `skip_serializing_if`, …).

vox_crypto::hex_schema!(
    crate::board::BoardPublicKey,
    "BoardPublicKey",
    Some(32),
    "An Ed25519 public key: 32 bytes in lower-case hex."
);
vox_crypto::hex_schema!(
    crate::board::Sig,
    "Signature",
    Some(64),
    "An Ed25519 signature: 64 bytes in lower-case hex."
);
vox_crypto::hex_schema!(
    crate::merkle::NodeHash,
    "NodeHash",
    Some(32),
    "An RFC 6962 Merkle tree node hash (SHA-256): 32 bytes in lower-case hex."
);
