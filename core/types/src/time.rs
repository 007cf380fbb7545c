//! Timestamps as the API writes them: ISO 8601 UTC with milliseconds (`2025-01-20T10:30:00.000Z`).

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

pub type Timestamp = DateTime<Utc>;

/// Formats a timestamp the way every API response and webhook body does.
pub fn format(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Milliseconds since the Unix epoch, the SQLite storage form.
pub fn to_millis(t: &Timestamp) -> i64 {
    t.timestamp_millis()
}

/// Inverse of [`to_millis`]; out-of-range values clamp to the epoch rather than panic.
pub fn from_millis(ms: i64) -> Timestamp {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Truncates to whole milliseconds, the precision timestamps are stored and shown with.
pub fn truncate_millis(t: Timestamp) -> Timestamp {
    from_millis(to_millis(&t))
}

/// serde adapters for `Timestamp` and `Option<Timestamp>` in the API format.
pub mod serde_millis {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    /// Reads back what [`serialize`] wrote (any RFC 3339 time, normalised to UTC).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        parse::<D>(&String::deserialize(d)?)
    }

    fn parse<'de, D: Deserializer<'de>>(s: &str) -> Result<Timestamp, D::Error> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.to_utc())
            .map_err(|e| serde::de::Error::custom(format_args!("invalid timestamp {s:?}: {e}")))
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&format(t)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
            Option::<String>::deserialize(d)?.map(|s| parse::<D>(&s)).transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_milliseconds_and_z() {
        let t = Utc.with_ymd_and_hms(2025, 1, 20, 10, 30, 0).unwrap();
        assert_eq!(format(&t), "2025-01-20T10:30:00.000Z");
    }

    #[test]
    fn serde_millis_reads_back_what_it_writes() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct T {
            #[serde(with = "serde_millis")]
            at: Timestamp,
            #[serde(with = "serde_millis::option")]
            maybe: Option<Timestamp>,
        }
        let t = T {
            at: from_millis(1_737_369_000_123),
            maybe: None,
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"at":"2025-01-20T10:30:00.123Z","maybe":null}"#);
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), t);
        let err = serde_json::from_str::<T>(r#"{"at":"yesterday","maybe":null}"#).unwrap_err();
        assert!(err.to_string().contains("invalid timestamp"), "{err}");
    }

    #[test]
    fn millis_round_trip() {
        let t = from_millis(1_737_369_000_123);
        assert_eq!(to_millis(&t), 1_737_369_000_123);
        assert_eq!(format(&t), "2025-01-20T10:30:00.123Z");
    }
}
