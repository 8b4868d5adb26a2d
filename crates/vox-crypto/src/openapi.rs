//! JSON schemas (feature `openapi`) of the types serialized by hand: lower-case hex
//! strings, exactly as `Serialize` writes them.

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// A hex string schema: `bytes` bytes (64 hex digits for 32), or any whole number of
/// bytes when `None`.
pub fn hex_string(bytes: Option<usize>, description: &str) -> RefOr<Schema> {
    let pattern = match bytes {
        Some(n) => format!("^[0-9a-f]{{{}}}$", n * 2),
        None => "^([0-9a-f]{2})+$".to_owned(),
    };
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .into()
}

/// `impl PartialSchema + ToSchema` for a type serialized as a hex string.
#[macro_export]
macro_rules! hex_schema {
    ($ty:ty, $name:literal, $bytes:expr, $description:literal) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::openapi::hex_string($bytes, $description)
            }
        }
        impl utoipa::ToSchema for $ty {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($name)
            }
        }
    };
}

hex_schema!(
    crate::group::Point,
    "Point",
    Some(32),
    "A Ristretto255 point: its 32-byte compressed encoding in lower-case hex."
);
hex_schema!(
    crate::group::Scalar,
    "Scalar",
    Some(32),
    "A canonical scalar modulo the Ristretto255 group order: 32 bytes little-endian, lower-case hex."
);
hex_schema!(
    crate::group::Hash32,
    "Hash32",
    Some(32),
    "A SHA-256 digest: 32 bytes in lower-case hex."
);
hex_schema!(
    crate::proofs::range::RangeProof,
    "RangeProof",
    None,
    "A Bulletproofs range proof: its byte encoding in lower-case hex."
);

hex_schema!(
    crate::ring::LinkingTag,
    "LinkingTag",
    Some(32),
    "A linking tag J = x⁻¹·U_p (protocol-spec/13 §13.1): a Ristretto255 point, 32 bytes in lower-case hex."
);
hex_schema!(
    crate::ring::RingSignature,
    "RingSignature",
    None,
    "A linkable ring signature (protocol-spec/13 §13.6): its bytes in lower-case hex."
);

/// `TrusteeIndex`: serialized as the bare integer, 1 to 255.
impl utoipa::PartialSchema for crate::threshold::TrusteeIndex {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(crate::threshold::MAX_TRUSTEES))
            .description(Some(
                "A trustee's index, 1 to 255 (protocol-spec/06-ceremony.md §6.1).",
            ))
            .into()
    }
}
impl utoipa::ToSchema for crate::threshold::TrusteeIndex {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("TrusteeIndex")
    }
}
