//! Query strings: raw pairs for the list grammar, and the `with_*` style boolean flags.

use axum::extract::{FromRequestParts, RawQuery};
use axum::http::request::Parts;

use crate::domain::store::ListParams;
use crate::domain::Error;

/// All query pairs, URL-decoded, repeats kept (a bare trailing `?` gives none).
pub struct OzQuery(pub ListParams);

impl<S: Send + Sync> FromRequestParts<S> for OzQuery {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let RawQuery(raw) = RawQuery::from_request_parts(parts, state).await.map_err(Error::internal)?;
        let pairs =
            raw.as_deref().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
        Ok(OzQuery(ListParams(pairs)))
    }
}

impl OzQuery {
    /// A boolean flag such as `with_analyses=true` (also `1`, `yes`, any case).
    pub fn flag(&self, key: &str) -> Result<bool, Error> {
        match self.0.get(key) {
            None => Ok(false),
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" | "" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(Error::invalid_type(key)),
            },
        }
    }

    pub fn text(&self, key: &str) -> Option<&str> {
        self.0.get(key)
    }

    /// Every value of a repeated key (`?key=a&key=b`).
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0 .0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect()
    }
}
