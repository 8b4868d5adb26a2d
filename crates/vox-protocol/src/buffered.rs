//! A JSON value held in memory and decoded a second time: the buffer behind the
//! hand-written decoder of the board's [`Payload`](crate::board::Payload) enum, and what
//! the browser client decodes its requests from.
//!
//! Why (issue 15 §4, size of the web bundle): serde's derived decoder of an internally
//! tagged enum buffers the object in serde's private `Content` form, then instantiates a
//! struct decoder per variant (a field-name visitor, a map visitor and a never-used
//! "struct as array" visitor each): for `Payload` that was ≈ 107 KB of the 1 MB wasm.
//! [`Buffered`] is the same buffer, public, so that `Payload` can read its `type` and
//! then decode each variant's fields with one shared loop ([`Fields`]), every field
//! type once. [`BufferedDeserializer`] hands a buffered value to any `Deserialize`
//! with the semantics of serde's `ContentDeserializer` (same values accepted, same
//! errors), so whatever was decoded inside a payload decodes as before, with two
//! exceptions, both for size and neither met by what vox writes: a struct written as the
//! array of its fields is read as the object it names (see `named`), and there are no
//! byte, option or newtype shapes (JSON has none; see [`Buffered`]).
//!
//! Strings the input holds unescaped stay borrowed from it, as in serde's buffer (the
//! verifier decodes millions of hex strings from a record without copying them).

use std::marker::PhantomData;

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, EnumAccess, Expected, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};

/// A decoded value of any shape, kept until its type is known: the shapes of JSON.
///
/// Unlike serde's buffer it has no bytes, options or newtypes (what other formats'
/// `deserialize_any` may produce, never JSON's or `serde_json::Value`'s): a value of those
/// is refused ("invalid type"). Every `visit_bytes`/`visit_some`/… of every type decoded
/// from it would otherwise be instantiated in the wasm for paths JSON never takes.
#[derive(Clone, Debug, PartialEq)]
pub enum Buffered<'de> {
    /// `null` (or a unit).
    Unit,
    /// A boolean.
    Bool(bool),
    /// A non-negative integer.
    U64(u64),
    /// A negative integer.
    I64(i64),
    /// Any other number.
    F64(f64),
    /// A string borrowed from the input.
    Str(&'de str),
    /// A string that had to be copied (it held escapes).
    String(String),
    /// An array.
    Seq(Vec<Buffered<'de>>),
    /// An object, its entries in input order, duplicates kept (the decoder that takes
    /// it refuses them, as it would from the text).
    Map(Vec<(Buffered<'de>, Buffered<'de>)>),
}

impl<'de> Buffered<'de> {
    /// What serde's errors call this value.
    pub fn unexpected(&self) -> Unexpected<'_> {
        match self {
            Buffered::Unit => Unexpected::Unit,
            Buffered::Bool(b) => Unexpected::Bool(*b),
            Buffered::U64(n) => Unexpected::Unsigned(*n),
            Buffered::I64(n) => Unexpected::Signed(*n),
            Buffered::F64(f) => Unexpected::Float(*f),
            Buffered::Str(s) => Unexpected::Str(s),
            Buffered::String(s) => Unexpected::Str(s),
            Buffered::Seq(_) => Unexpected::Seq,
            Buffered::Map(_) => Unexpected::Map,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Buffered::Str(s) => Some(s),
            Buffered::String(s) => Some(s),
            _ => None,
        }
    }
}

struct BufferedVisitor;

impl<'de> Visitor<'de> for BufferedVisitor {
    type Value = Buffered<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Buffered<'de>, E> {
        Ok(Buffered::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Buffered<'de>, E> {
        Ok(Buffered::I64(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Buffered<'de>, E> {
        Ok(Buffered::U64(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Buffered<'de>, E> {
        Ok(Buffered::F64(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Buffered<'de>, E> {
        Ok(Buffered::String(v.to_owned()))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Buffered<'de>, E> {
        Ok(Buffered::Str(v))
    }
    fn visit_string<E>(self, v: String) -> Result<Buffered<'de>, E> {
        Ok(Buffered::String(v))
    }
    fn visit_unit<E>(self) -> Result<Buffered<'de>, E> {
        Ok(Buffered::Unit)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Buffered<'de>, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(e) = seq.next_element()? {
            v.push(e);
        }
        Ok(Buffered::Seq(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Buffered<'de>, A::Error> {
        let mut v = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some(kv) = map.next_entry()? {
            v.push(kv);
        }
        Ok(Buffered::Map(v))
    }
}

impl<'de> Deserialize<'de> for Buffered<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BufferedVisitor)
    }
}

/// Decodes a [`Buffered`] value into any type, as serde's `ContentDeserializer` does
/// (the same hints honoured, the same values refused with the same errors).
pub struct BufferedDeserializer<'de, E> {
    value: Buffered<'de>,
    error: PhantomData<E>,
}

impl<'de, E> BufferedDeserializer<'de, E> {
    /// Wrap a buffered value.
    pub fn new(value: Buffered<'de>) -> Self {
        BufferedDeserializer {
            value,
            error: PhantomData,
        }
    }
}

/// Decode `T` from a buffered value.
///
/// # Errors
/// Whatever `T`'s decoder refuses.
pub fn decode<'de, T: Deserialize<'de>, E: de::Error>(value: Buffered<'de>) -> Result<T, E> {
    T::deserialize(BufferedDeserializer::<E>::new(value))
}

impl<'de, E: de::Error> BufferedDeserializer<'de, E> {
    fn invalid_type(&self, exp: &dyn Expected) -> E {
        E::invalid_type(self.value.unexpected(), exp)
    }

    fn integer<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.value {
            Buffered::U64(v) => visitor.visit_u64(v),
            Buffered::I64(v) => visitor.visit_i64(v),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn float<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.value {
            Buffered::F64(v) => visitor.visit_f64(v),
            Buffered::U64(v) => visitor.visit_u64(v),
            Buffered::I64(v) => visitor.visit_i64(v),
            _ => Err(self.invalid_type(&visitor)),
        }
    }
}

/// Visit an array's elements, then refuse any the visitor left (serde's rule).
fn visit_seq<'de, V: Visitor<'de>, E: de::Error>(
    v: Vec<Buffered<'de>>,
    visitor: V,
) -> Result<V::Value, E> {
    let mut seq = SeqDe::<E> {
        iter: v.into_iter(),
        count: 0,
        error: PhantomData,
    };
    let value = visitor.visit_seq(&mut seq)?;
    let remaining = seq.iter.len();
    if remaining == 0 {
        Ok(value)
    } else {
        Err(E::invalid_length(
            seq.count + remaining,
            &InSequence(seq.count),
        ))
    }
}

/// A struct written as the array of its field values (serde accepts that form), as the
/// object it stands for: the i-th element named by the i-th field name.
///
/// Why (issue 15 §4): serde's derive gives every struct a second visitor for the array
/// form, instantiated for every decoder that may meet an array (≈ 50 KB of the browser's
/// wasm, for a form no vox component writes). Naming the elements lets the struct's
/// object visitor read them, so the array visitors are never instantiated. Same values
/// accepted: an array of the fields in order decodes to what the object with those
/// fields decodes to; more elements than fields are refused as serde refuses them. The
/// error for too few elements is now "missing field" (serde said "invalid length"), and
/// an array that stops before a trailing `Option` field is read as the object that
/// omits it (the field is `None`), which serde's array visitor refused. `fields` is the
/// derive's list of field names: the positions agree as long as no field has a
/// `#[serde(alias)]` (none of the types this decodes has one).
fn named<'de, E: de::Error>(
    values: Vec<Buffered<'de>>,
    fields: &'static [&'static str],
) -> Result<Vec<(Buffered<'de>, Buffered<'de>)>, E> {
    if values.len() > fields.len() {
        return Err(E::invalid_length(values.len(), &InSequence(fields.len())));
    }
    Ok(fields
        .iter()
        .zip(values)
        .map(|(name, v)| (Buffered::Str(name), v))
        .collect())
}

/// Visit an object's entries, then refuse any the visitor left (serde's rule).
fn visit_map<'de, V: Visitor<'de>, E: de::Error>(
    v: Vec<(Buffered<'de>, Buffered<'de>)>,
    visitor: V,
) -> Result<V::Value, E> {
    let mut map = MapDe::<E> {
        iter: v.into_iter(),
        value: None,
        count: 0,
        error: PhantomData,
    };
    let value = visitor.visit_map(&mut map)?;
    let remaining = map.iter.len();
    if remaining == 0 {
        Ok(value)
    } else {
        Err(E::invalid_length(map.count + remaining, &InMap(map.count)))
    }
}

/// "N elements in sequence", as serde says it.
pub(crate) struct InSequence(pub(crate) usize);

impl Expected for InSequence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 == 1 {
            f.write_str("1 element in sequence")
        } else {
            write!(f, "{} elements in sequence", self.0)
        }
    }
}

struct InMap(usize);

impl Expected for InMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 == 1 {
            f.write_str("1 element in map")
        } else {
            write!(f, "{} elements in map", self.0)
        }
    }
}

impl<'de, E: de::Error> Deserializer<'de> for BufferedDeserializer<'de, E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.value {
            Buffered::Unit => visitor.visit_unit(),
            Buffered::Bool(v) => visitor.visit_bool(v),
            Buffered::U64(v) => visitor.visit_u64(v),
            Buffered::I64(v) => visitor.visit_i64(v),
            Buffered::F64(v) => visitor.visit_f64(v),
            Buffered::Str(v) => visitor.visit_borrowed_str(v),
            Buffered::String(v) => visitor.visit_string(v),
            Buffered::Seq(v) => visit_seq(v, visitor),
            Buffered::Map(v) => visit_map(v, visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.value {
            Buffered::Bool(v) => visitor.visit_bool(v),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.integer(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.integer(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.integer(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.integer(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.integer(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.integer(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.integer(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.integer(visitor)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.float(visitor)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.float(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.value {
            Buffered::Str(v) => visitor.visit_borrowed_str(v),
            Buffered::String(v) => visitor.visit_string(v),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.value {
            Buffered::Str(v) => visitor.visit_borrowed_str(v),
            Buffered::String(v) => visitor.visit_string(v),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.deserialize_byte_buf(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.value {
            Buffered::Str(v) => visitor.visit_borrowed_str(v),
            Buffered::String(v) => visitor.visit_string(v),
            Buffered::Seq(v) => visit_seq(v, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.value {
            Buffered::Unit => visitor.visit_unit(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.value {
            Buffered::Unit => visitor.visit_unit(),
            Buffered::Map(ref v) if v.is_empty() => visitor.visit_unit(),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, E> {
        match self.value {
            Buffered::Map(ref v) if v.is_empty() => visitor.visit_unit(),
            Buffered::Seq(ref v) if v.is_empty() => visitor.visit_unit(),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, E> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.value {
            Buffered::Seq(v) => visit_seq(v, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, E> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, E> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.value {
            Buffered::Map(v) => visit_map(v, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        match self.value {
            Buffered::Seq(v) => visit_map(named(v, fields)?, visitor),
            Buffered::Map(v) => visit_map(v, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        let (variant, value) = match self.value {
            Buffered::Map(entries) => {
                let mut iter = entries.into_iter();
                let (variant, value) = match (iter.next(), iter.next()) {
                    (Some(only), None) => only,
                    _ => return Err(E::invalid_value(Unexpected::Map, &"map with a single key")),
                };
                (variant, Some(value))
            }
            s @ (Buffered::Str(_) | Buffered::String(_)) => (s, None),
            other => {
                return Err(E::invalid_type(other.unexpected(), &"string or map"));
            }
        };
        visitor.visit_enum(EnumDe::<E> {
            variant,
            value,
            error: PhantomData,
        })
    }

    /// Field and variant names: a string through `visit_str` (not the borrowed or owned
    /// forms: one path per name visitor), or an integer, which serde's buffer also takes
    /// as a variant's or field's index (e.g. `"type": 3` inside a buffered value).
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match &self.value {
            Buffered::Str(v) => visitor.visit_str(v),
            Buffered::String(v) => visitor.visit_str(v),
            Buffered::U64(v) => visitor.visit_u64(*v),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        drop(self);
        visitor.visit_unit()
    }
}

struct SeqDe<'de, E> {
    iter: std::vec::IntoIter<Buffered<'de>>,
    count: usize,
    error: PhantomData<E>,
}

impl<'de, E: de::Error> SeqAccess<'de> for SeqDe<'de, E> {
    type Error = E;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, E> {
        match self.iter.next() {
            Some(v) => {
                self.count += 1;
                seed.deserialize(BufferedDeserializer::new(v)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct MapDe<'de, E> {
    iter: std::vec::IntoIter<(Buffered<'de>, Buffered<'de>)>,
    value: Option<Buffered<'de>>,
    count: usize,
    error: PhantomData<E>,
}

impl<'de, E: de::Error> MapAccess<'de> for MapDe<'de, E> {
    type Error = E;

    fn next_key_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, E> {
        match self.iter.next() {
            Some((k, v)) => {
                self.count += 1;
                self.value = Some(v);
                seed.deserialize(BufferedDeserializer::new(k)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, E> {
        match self.value.take() {
            Some(v) => seed.deserialize(BufferedDeserializer::new(v)),
            None => Err(E::custom("value is missing")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct EnumDe<'de, E> {
    variant: Buffered<'de>,
    value: Option<Buffered<'de>>,
    error: PhantomData<E>,
}

impl<'de, E: de::Error> EnumAccess<'de> for EnumDe<'de, E> {
    type Error = E;
    type Variant = VariantDe<'de, E>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), E> {
        let v = seed.deserialize(BufferedDeserializer::<E>::new(self.variant))?;
        Ok((
            v,
            VariantDe {
                value: self.value,
                error: PhantomData,
            },
        ))
    }
}

struct VariantDe<'de, E> {
    value: Option<Buffered<'de>>,
    error: PhantomData<E>,
}

impl<'de, E: de::Error> VariantAccess<'de> for VariantDe<'de, E> {
    type Error = E;

    fn unit_variant(self) -> Result<(), E> {
        match self.value {
            Some(v) => decode(v),
            None => Ok(()),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, E> {
        match self.value {
            Some(v) => seed.deserialize(BufferedDeserializer::new(v)),
            None => Err(E::invalid_type(Unexpected::UnitVariant, &"newtype variant")),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, E> {
        match self.value {
            Some(Buffered::Seq(v)) => visit_seq(v, visitor),
            Some(other) => Err(E::invalid_type(other.unexpected(), &"tuple variant")),
            None => Err(E::invalid_type(Unexpected::UnitVariant, &"tuple variant")),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        match self.value {
            Some(Buffered::Map(v)) => visit_map(v, visitor),
            Some(Buffered::Seq(v)) => visit_map(named(v, fields)?, visitor),
            Some(other) => Err(E::invalid_type(other.unexpected(), &"struct variant")),
            None => Err(E::invalid_type(Unexpected::UnitVariant, &"struct variant")),
        }
    }
}

/// The fields of one struct-like value (a payload variant), read from a buffered object
/// or array by name, for a decoder written by hand: the loop serde derives for every
/// struct, shared by all of them.
///
/// From an object: [`Fields::next`] yields the known fields in input order (their
/// values still buffered); unknown keys are skipped; a key seen twice is refused with
/// serde's "duplicate field" error. From an array (serde also accepts a struct as the
/// array of its field values, in order): the elements, named in order.
pub(crate) struct Fields<'de, E> {
    names: &'static [&'static str],
    expecting: &'static str,
    entries: Entries<'de>,
    seen: u64,
    error: PhantomData<E>,
}

enum Entries<'de> {
    Map(std::vec::IntoIter<(Buffered<'de>, Buffered<'de>)>),
    Seq(std::vec::IntoIter<Buffered<'de>>, usize),
}

impl<'de, E: de::Error> Fields<'de, E> {
    /// The fields `names` (at most 64) of a value that serde calls `expecting`.
    pub(crate) fn new(
        value: Buffered<'de>,
        names: &'static [&'static str],
        expecting: &'static str,
    ) -> Result<Self, E> {
        // `seen` is a bit set of the fields' indices (the variants have at most five).
        debug_assert!(names.len() <= 64);
        let entries = match value {
            Buffered::Map(v) => Entries::Map(v.into_iter()),
            Buffered::Seq(v) => Entries::Seq(v.into_iter(), 0),
            other => return Err(E::invalid_type(other.unexpected(), &expecting)),
        };
        Ok(Fields {
            names,
            expecting,
            entries,
            seen: 0,
            error: PhantomData,
        })
    }

    /// The next known field: its index in `names` and its value.
    ///
    /// # Errors
    /// A duplicate field, a key that is neither a string nor an integer (serde's index
    /// of a field), or more array elements than fields.
    #[inline(never)]
    pub(crate) fn next(&mut self) -> Result<Option<(usize, Buffered<'de>)>, E> {
        loop {
            match &mut self.entries {
                Entries::Seq(iter, i) => {
                    let index = *i;
                    if index < self.names.len() {
                        return match iter.next() {
                            Some(v) => {
                                *i += 1;
                                self.seen |= 1 << index;
                                Ok(Some((index, v)))
                            }
                            None => Ok(None),
                        };
                    }
                    let extra = iter.len();
                    return if extra == 0 {
                        Ok(None)
                    } else {
                        Err(E::invalid_length(index + extra, &InSequence(index)))
                    };
                }
                Entries::Map(iter) => {
                    let Some((key, value)) = iter.next() else {
                        return Ok(None);
                    };
                    let index = match &key {
                        Buffered::Str(_) | Buffered::String(_) => {
                            let k = key.as_str().unwrap_or_default();
                            self.names.iter().position(|n| *n == k)
                        }
                        Buffered::U64(n) => {
                            usize::try_from(*n).ok().filter(|n| *n < self.names.len())
                        }
                        other => {
                            return Err(E::invalid_type(other.unexpected(), &"field identifier"))
                        }
                    };
                    let Some(index) = index else { continue };
                    if self.seen & (1 << index) != 0 {
                        return Err(E::duplicate_field(self.names.get(index).unwrap_or(&"")));
                    }
                    self.seen |= 1 << index;
                    return Ok(Some((index, value)));
                }
            }
        }
    }

    /// A required field that was absent: serde's "missing field" error, or for an array
    /// its "invalid length" (the field's position).
    #[cold]
    #[inline(never)]
    pub(crate) fn missing(&self, index: usize) -> E {
        match self.entries {
            Entries::Map(_) => E::missing_field(self.names.get(index).copied().unwrap_or_default()),
            Entries::Seq(..) => E::invalid_length(index, &self.expecting),
        }
    }
}

/// Decode a field value (serde's "duplicate field" check is done by [`Fields::next`]).
/// Never inlined: one copy per field type, called from every variant that has such a
/// field (inlined, each variant carried its own copy of the decoder).
#[inline(never)]
pub(crate) fn field<'de, T: Deserialize<'de>, E: de::Error>(
    slot: &mut Option<T>,
    value: Buffered<'de>,
) -> Result<(), E> {
    *slot = Some(decode(value)?);
    Ok(())
}

/// Reads an internally tagged enum's tag and buffers its other entries, as serde's
/// decoder of such an enum does: an object with the tag key once (anywhere), or an
/// array whose first element is the tag. `T` decodes the tag's value (a
/// `#[serde(variant_identifier)]` enum: serde's names and "unknown variant" error).
pub(crate) struct TaggedVisitor<T> {
    tag: &'static str,
    expecting: &'static str,
    marker: PhantomData<T>,
}

impl<T> TaggedVisitor<T> {
    /// The visitor of an enum tagged by the key `tag`, which serde calls `expecting`.
    pub(crate) fn new(tag: &'static str, expecting: &'static str) -> Self {
        TaggedVisitor {
            tag,
            expecting,
            marker: PhantomData,
        }
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for TaggedVisitor<T> {
    type Value = (T, Buffered<'de>);

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let Some(tag) = seq.next_element::<T>()? else {
            return Err(de::Error::missing_field(self.tag));
        };
        let mut rest = Vec::new();
        while let Some(v) = seq.next_element::<Buffered<'de>>()? {
            rest.push(v);
        }
        Ok((tag, Buffered::Seq(rest)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut tag = None;
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Buffered<'de>>()? {
            if key.as_str() == Some(self.tag) {
                if tag.is_some() {
                    return Err(de::Error::duplicate_field(self.tag));
                }
                tag = Some(map.next_value::<T>()?);
            } else {
                entries.push((key, map.next_value::<Buffered<'de>>()?));
            }
        }
        match tag {
            Some(tag) => Ok((tag, Buffered::Map(entries))),
            None => Err(de::Error::missing_field(self.tag)),
        }
    }
}

/// One struct variant of an internally tagged enum, decoded from its buffered entries
/// (what [`TaggedVisitor`] left) with the shared loop of [`Fields`]: `name: req` fields
/// must be present, `name: opt` ones (an `Option` with `#[serde(default)]`) may be
/// absent; unknown keys are ignored (for enums without `deny_unknown_fields`). Used in
/// a function generic over the error type `E`. Evaluates to the variant, or returns
/// serde's error from that function.
macro_rules! tagged_variant {
    ($enum:ident, $body:expr, $variant:ident { $($field:ident: $kind:ident),* $(,)? }) => {{
        /// The fields' indices in `NAMES`.
        #[allow(non_camel_case_types)]
        enum Index {
            $($field),*
        }
        const NAMES: &[&str] = &[$(stringify!($field)),*];
        let mut fields = $crate::buffered::Fields::<E>::new(
            $body,
            NAMES,
            concat!("struct variant ", stringify!($enum), "::", stringify!($variant)),
        )?;
        $(let mut $field = None;)*
        while let Some((index, value)) = fields.next()? {
            match index {
                $(i if i == Index::$field as usize => $crate::buffered::field(&mut $field, value)?,)*
                _ => {}
            }
        }
        $enum::$variant {
            $($field: tagged_variant!(@take $kind, fields, $field),)*
        }
    }};
    (@take req, $fields:ident, $field:ident) => {
        match $field {
            Some(v) => v,
            None => return Err($fields.missing(Index::$field as usize)),
        }
    };
    (@take opt, $fields:ident, $field:ident) => {
        $field
    };
}
pub(crate) use tagged_variant;
