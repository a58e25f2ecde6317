//! `meta_data`: the free-form JSON object every Oz object carries (spec §9), and the one set of
//! semantics for reading and changing it, shared by users, companies and every later object.

use serde_json::{Map, Value};

use crate::domain::error::{Error, Result};

/// Largest accepted `meta_data` object, serialised.
pub const META_DATA_MAX_BYTES: usize = 64 * 1024;

/// A validated metadata object: the top level is a JSON object, within the size limit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetaData(Map<String, Value>);

impl MetaData {
    /// Validate a client value given under `key_path` (for the error message).
    pub fn parse(value: Value, key_path: &str) -> Result<Self> {
        let Value::Object(map) = value else {
            return Err(Error::invalid_type(key_path));
        };
        let meta = MetaData(map);
        let size = meta.encoded_len();
        if size > META_DATA_MAX_BYTES {
            return Err(Error::invalid_value(
                format!("{key_path} is {size} bytes; the limit is {META_DATA_MAX_BYTES} bytes"),
                serde_json::json!({ "key_path": key_path, "limit": META_DATA_MAX_BYTES }),
            ));
        }
        Ok(meta)
    }

    /// Trusted value read back from our own store.
    pub fn from_stored(value: Value) -> Self {
        match value {
            Value::Object(map) => MetaData(map),
            _ => MetaData::default(),
        }
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }

    pub fn to_value(&self) -> Value {
        Value::Object(self.0.clone())
    }

    /// `mine` is `was` with an edit applied; `current` is what is stored now (another edit may
    /// have landed since `was` was read). The edit's own changes — the keys `mine` sets, changes
    /// or removes against `was` — applied to `current`; every other key stays as `current` has
    /// it. A key both edits changed takes `mine`'s value (the later write wins).
    pub fn rebase(was: &MetaData, mine: &MetaData, current: MetaData) -> MetaData {
        let mut out = current.0;
        for key in was.0.keys().chain(mine.0.keys()) {
            match (was.0.get(key), mine.0.get(key)) {
                (old, Some(new)) if old != Some(new) => {
                    out.insert(key.clone(), new.clone());
                }
                (Some(_), None) => {
                    out.remove(key);
                }
                _ => {}
            }
        }
        MetaData(out)
    }

    fn encoded_len(&self) -> usize {
        serde_json::to_vec(&self.0).map(|v| v.len()).unwrap_or(usize::MAX)
    }
}

/// One change to an object's metadata (spec §9 [I]).
#[derive(Debug, Clone)]
pub enum MetaChange {
    /// POST: replace the whole object.
    Replace(MetaData),
    /// PATCH: shallow merge; a key whose new value is `null` is removed.
    Merge(MetaData),
    /// DELETE without keys: the object becomes `{}`.
    Clear,
    /// DELETE with `?key=a&key=b`: remove just these top-level keys.
    RemoveKeys(Vec<String>),
}

impl MetaChange {
    pub fn apply(self, current: MetaData) -> Result<MetaData> {
        let next = match self {
            MetaChange::Replace(new) => new,
            MetaChange::Merge(patch) => {
                let mut map = current.0;
                for (k, v) in patch.0 {
                    if v.is_null() {
                        map.shift_remove(&k);
                    } else {
                        map.insert(k, v);
                    }
                }
                MetaData(map)
            }
            MetaChange::Clear => MetaData::default(),
            MetaChange::RemoveKeys(keys) => {
                let mut map = current.0;
                for k in keys {
                    map.shift_remove(&k);
                }
                MetaData(map)
            }
        };
        // A merge can grow past the limit.
        MetaData::parse(next.into_value(), "meta_data")
    }
}

/// The kinds of object that carry metadata; the store maps each to its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Company,
    User,
    Folder,
    Media,
    Analysis,
    Collection,
    Person,
}

impl ObjectKind {
    /// The name used in the metadata search index (`meta_index.object_kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Company => "company",
            ObjectKind::User => "user",
            ObjectKind::Folder => "folder",
            ObjectKind::Media => "media",
            ObjectKind::Analysis => "analysis",
            ObjectKind::Collection => "collection",
            ObjectKind::Person => "person",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            ObjectKind::Company => "Company",
            ObjectKind::User => "User",
            ObjectKind::Folder => "Folder",
            ObjectKind::Media => "Media",
            ObjectKind::Analysis => "Analysis",
            ObjectKind::Collection => "Collection",
            ObjectKind::Person => "Person",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rebase_applies_only_the_edits_own_changes() {
        let m = |v: Value| MetaData::from_stored(v);
        let was = m(json!({"a": 1, "b": 2, "gone": true}));
        // The edit: a changed, c added, gone removed, b untouched.
        let mine = m(json!({"a": 10, "b": 2, "c": 3}));
        // Meanwhile another edit changed b, added d and removed a.
        let current = m(json!({"b": 20, "gone": true, "d": 4}));
        assert_eq!(MetaData::rebase(&was, &mine, current), m(json!({"a": 10, "b": 20, "c": 3, "d": 4})));
        // Nothing concurrent: the edit as it is.
        assert_eq!(MetaData::rebase(&was, &mine, was.clone()), mine);
    }

    fn meta(v: Value) -> MetaData {
        MetaData::parse(v, "meta_data").unwrap()
    }

    #[test]
    fn merge_adds_overwrites_and_null_removes() {
        let cur = meta(json!({"a": 1, "b": {"x": 1}, "c": "keep"}));
        let next = MetaChange::Merge(meta(json!({"a": 2, "b": null, "d": [1]}))).apply(cur).unwrap();
        assert_eq!(next.into_value(), json!({"a": 2, "c": "keep", "d": [1]}));
    }

    #[test]
    fn remove_keys_and_clear() {
        let cur = meta(json!({"a": 1, "b": 2, "c": 3}));
        let next = MetaChange::RemoveKeys(vec!["a".into(), "zz".into()]).apply(cur.clone()).unwrap();
        assert_eq!(next.into_value(), json!({"b": 2, "c": 3}));
        assert_eq!(MetaChange::Clear.apply(cur).unwrap().into_value(), json!({}));
    }

    #[test]
    fn top_level_must_be_object_and_bounded() {
        assert!(matches!(MetaData::parse(json!([1]), "meta_data"), Err(Error::InvalidType { .. })));
        let big = "x".repeat(META_DATA_MAX_BYTES);
        assert!(matches!(MetaData::parse(json!({"k": big}), "meta_data"), Err(Error::InvalidValue { .. })));
    }

    #[test]
    fn merge_cannot_grow_past_limit() {
        let half = "x".repeat(META_DATA_MAX_BYTES / 2 + 10);
        let cur = meta(json!({"a": half.clone()}));
        let res = MetaChange::Merge(meta(json!({"b": half}))).apply(cur);
        assert!(matches!(res, Err(Error::InvalidValue { .. })));
    }
}
