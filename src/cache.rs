//! Rendered records, by type and id, with the version each renders.
//!
//! A record's JSON is a function of its version: every change to it, its links and children
//! included, goes through the write path and moves the version (`changes.rs`). So a GET that
//! finds the stored version here, after one indexed lookup of the live version, answers without
//! loading the record's links and children or serialising it again. Another instance's write
//! moves the version in the database, so nothing here can be served stale; a miss loads the
//! record on one snapshot as before. Bounded by bytes (S3-FIFO eviction, `quick_cache`).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use actix_web::web::Bytes;
use quick_cache::{sync::Cache, Weighter};

type Key = (&'static str, String);

#[derive(Clone)]
struct ByBytes;

impl Weighter<Key, (i64, Bytes)> for ByBytes {
    fn weight(&self, key: &Key, val: &(i64, Bytes)) -> u64 {
        // The body, the id and the entry's own bookkeeping, roughly.
        (val.1.len() + key.1.len() + 64) as u64
    }
}

pub struct Renders {
    cache: Option<Cache<Key, (i64, Bytes), ByBytes>>,
    /// Lookups that found the version asked for, and those that did not (`/metrics`).
    hits: AtomicU64,
    misses: AtomicU64,
}

/// A rendered record of the current version.
pub struct Rendered {
    pub version: i64,
    pub body: Bytes,
}

impl Renders {
    /// A cache of at most `bytes` (0: none). At about 1.5 KB a project, the default 2 MB holds
    /// a region's whole register; more only helps a service holding far more records.
    pub fn new(bytes: u64) -> Self {
        Renders {
            cache: (bytes > 0)
                .then(|| Cache::with_weighter((bytes / 1024).max(16) as usize, bytes, ByBytes)),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// (hits, misses) of `get` so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.hits.load(Relaxed), self.misses.load(Relaxed))
    }

    /// Whether anything is kept (`RENDER_CACHE_MB` above 0).
    pub fn enabled(&self) -> bool {
        self.cache.is_some()
    }

    /// The JSON of `id` at `version`, when it is here.
    pub fn get(&self, kind: &'static str, id: &str, version: i64) -> Option<Bytes> {
        let cache = self.cache.as_ref()?;
        match cache.get(&(kind, id.to_string())) {
            Some((v, body)) if v == version => {
                self.hits.fetch_add(1, Relaxed);
                Some(body)
            }
            _ => {
                self.misses.fetch_add(1, Relaxed);
                None
            }
        }
    }

    /// The JSON of `id` at `version` when it is here; otherwise the record `load` gives,
    /// rendered and kept. `version` is `None` when it is not known (or was looked for
    /// already).
    pub fn get_or_render<R: crate::changes::Resource>(
        &self,
        kind: &'static str,
        id: &str,
        version: Option<i64>,
        load: impl FnOnce() -> Result<R, crate::error::ApiError>,
    ) -> Result<Rendered, crate::error::ApiError> {
        if let Some(version) = version {
            if let Some(body) = self.get(kind, id, version) {
                return Ok(Rendered { version, body });
            }
        }
        self.render(&load()?)
    }

    /// Renders `record` and keeps it under its version (replacing any older one).
    pub fn render<R: crate::changes::Resource>(
        &self,
        record: &R,
    ) -> Result<Rendered, crate::error::ApiError> {
        let mut json = serde_json::to_vec(record).map_err(crate::error::ApiError::internal)?;
        // Kept while the record is unchanged: without the spare capacity the Vec grew by (up
        // to as much again, which the weigher would not count).
        json.shrink_to_fit();
        let body = Bytes::from(json);
        if let Some(cache) = &self.cache {
            cache.insert(
                (R::TYPE, record.id().to_string()),
                (record.version(), body.clone()),
            );
        }
        Ok(Rendered {
            version: record.version(),
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct R {
        id: String,
        version: i64,
    }

    impl crate::changes::Resource for R {
        const KIND: crate::model::ResourceType = crate::model::ResourceType::Document;
        fn id(&self) -> &str {
            &self.id
        }
        fn version(&self) -> i64 {
            self.version
        }
        fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
            chrono::DateTime::UNIX_EPOCH
        }
    }

    #[test]
    fn serves_only_the_version_it_rendered() {
        let c = Renders::new(1 << 20);
        let r = c
            .render(&R {
                id: "a".into(),
                version: 2,
            })
            .unwrap();
        assert_eq!(&r.body[..], br#"{"id":"a","version":2}"#);
        assert_eq!(c.get("document", "a", 2), Some(r.body));
        assert_eq!(c.get("document", "a", 3), None);
        assert_eq!(c.get("document", "a", 1), None);
        assert_eq!(c.get("other", "a", 2), None);
        assert_eq!(c.counts(), (1, 3));
        c.render(&R {
            id: "a".into(),
            version: 3,
        })
        .unwrap();
        assert_eq!(
            c.get("document", "a", 2),
            None,
            "the newer version replaced it"
        );
        assert!(c.get("document", "a", 3).is_some());
    }

    #[test]
    fn keeps_nothing_when_off_and_stays_within_its_bytes() {
        let off = Renders::new(0);
        off.render(&R {
            id: "a".into(),
            version: 1,
        })
        .unwrap();
        assert_eq!(off.get("document", "a", 1), None);
        let small = Renders::new(4096);
        for i in 0..1000 {
            small
                .render(&R {
                    id: format!("{i:04}"),
                    version: 1,
                })
                .unwrap();
        }
        let kept = (0..1000)
            .filter(|i| small.get("document", &format!("{i:04}"), 1).is_some())
            .count();
        assert!(kept > 0 && kept < 100, "kept {kept}");
    }
}
