//! Integer fields of request bodies, as JSON Schema reads `type: integer`:
//! a number whose value is whole, however it is written. `1374`, `1374.0`
//! and `1.374e3` are the same integer; `1374.5` is not an integer at all.
//!
//! serde's integer types refuse `1374.0` outright, so the document (which
//! can only say `integer`) and the server disagreed. Use with
//! `#[serde(deserialize_with = "whole_number::i64")]`. A number written
//! with a fraction or exponent is read as a double, as every JSON parser in
//! a browser reads it, so it is taken only up to 2^53 (exactly representable).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

/// Largest whole double that is one integer only (2^53 - 1).
const MAX_EXACT: f64 = 9_007_199_254_740_991.0;

pub fn i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    deserializer.deserialize_any(WholeNumber)
}

pub fn i32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    narrow(i64(deserializer)?)
}

/// For an optional field: pair with `#[serde(default)]`.
pub fn option_i32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i32>, D::Error> {
    deserializer.deserialize_option(Optional)
}

fn narrow<E: de::Error>(value: i64) -> Result<i32, E> {
    i32::try_from(value).map_err(|_| {
        E::invalid_value(
            de::Unexpected::Signed(value),
            &"an integer between -2147483648 and 2147483647",
        )
    })
}

struct WholeNumber;

impl Visitor<'_> for WholeNumber {
    type Value = i64;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an integer")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &"a 64-bit integer"))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        if value.fract() == 0.0 && value.abs() <= MAX_EXACT {
            Ok(value as i64)
        } else {
            Err(E::invalid_value(
                de::Unexpected::Float(value),
                &"an integer (a fraction is allowed only if it is zero, up to 2^53)",
            ))
        }
    }
}

/// An integer path segment (`/events/{id}`), read by the same rule: the
/// document can only say `integer`, so `/events/7.0` names event 7
/// (Schemathesis sends such paths). A fraction, or anything that is not a
/// number, is refused like any bad id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WholeSegment(pub i64);

impl<'de> serde::Deserialize<'de> for WholeSegment {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if let Ok(value) = text.parse::<i64>() {
            return Ok(WholeSegment(value));
        }
        let value = text
            .parse::<f64>()
            .map_err(|_| de::Error::invalid_value(de::Unexpected::Str(&text), &"an integer"))?;
        WholeNumber.visit_f64(value).map(WholeSegment)
    }
}

struct Optional;

impl<'de> Visitor<'de> for Optional {
    type Value = Option<i32>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an integer or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        i32(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::i64")]
        id: i64,
        #[serde(default, deserialize_with = "super::option_i32")]
        capacity: Option<i32>,
    }

    fn read(body: serde_json::Value) -> Result<Body, serde_json::Error> {
        serde_json::from_value(body)
    }

    #[test]
    fn a_whole_number_is_an_integer_however_written() {
        for id in [json!(1374), json!(1374.0), json!(1.374e3)] {
            assert_eq!(read(json!({"id": id})).unwrap().id, 1374, "{id}");
        }
        assert_eq!(read(json!({"id": i64::MAX})).unwrap().id, i64::MAX);
        assert_eq!(read(json!({"id": -5.0})).unwrap().id, -5);
        // Parsed exactly from the text (serde_json's float_roundtrip): the
        // default parser reads this as ...792.8, a fraction.
        let text = r#"{"id": 1839240500779793.0}"#;
        let body: Body = serde_json::from_str(text).unwrap();
        assert_eq!(body.id, 1_839_240_500_779_793);
        let body = read(json!({"id": 1, "capacity": 2.0})).unwrap();
        assert_eq!(body.capacity, Some(2));
        assert_eq!(
            read(json!({"id": 1, "capacity": null})).unwrap().capacity,
            None
        );
        assert_eq!(read(json!({"id": 1})).unwrap().capacity, None);
    }

    #[test]
    fn a_path_segment_is_an_integer_when_its_value_is_whole() {
        use super::WholeSegment;
        use serde::de::value::{Error, StrDeserializer};
        use serde::de::IntoDeserializer;
        let read = |text: &str| {
            let segment: StrDeserializer<'_, Error> = text.into_deserializer();
            WholeSegment::deserialize(segment).ok()
        };
        for text in ["224", "224.0", "2.24e2"] {
            assert_eq!(read(text), Some(WholeSegment(224)), "{text}");
        }
        for text in ["224.5", "abc", "", "NaN", "inf", "1e300"] {
            assert_eq!(read(text), None, "{text}");
        }
    }

    #[test]
    fn fractions_strings_and_out_of_range_numbers_are_refused() {
        for id in [
            json!(1374.5),
            json!(1e300),
            json!(9007199254740994.0),
            json!(u64::MAX),
            json!("7"),
            json!(true),
        ] {
            assert!(read(json!({"id": id})).is_err(), "{id}");
        }
        for capacity in [json!(2147483648_i64), json!(0.5), json!("3")] {
            assert!(
                read(json!({"id": 1, "capacity": capacity})).is_err(),
                "{capacity}"
            );
        }
    }
}
