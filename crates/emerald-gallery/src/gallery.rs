//! `Gallery`: the shard map, the template → shard index, the version, and the public operations.
//!
//! Locking: `state` (a `RwLock`) maps keys to shards; each shard has its own `RwLock`. A write
//! holds `state` for writing for its whole duration, so writes are serialised and a template id
//! can never be in two shards. A search holds `state` only to pick its shards, then reads them
//! under their own locks: searches run in parallel, and a search on one collection is not held up
//! by a long scan of another. Everything a write did is visible to any search that starts after
//! the write returned.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use uuid::Uuid;

use crate::codes::PreparedQuery;
use crate::error::GalleryError;
use crate::quant;
use crate::shard::{Shard, ShardQuery};
use crate::snapshot;
use crate::types::{Applied, Change, GalleryConfig, Hit, ModelId, Query, Template};

pub(crate) type ShardRef = Arc<RwLock<Shard>>;

#[derive(Default)]
pub(crate) struct State {
    /// Shards by (model, collection). Emptied shards stay until the next snapshot load.
    pub(crate) shards: Vec<ShardRef>,
    pub(crate) keys: HashMap<(ModelId, Uuid), u32>,
    /// Template id → index in `shards`.
    pub(crate) locations: HashMap<Uuid, u32>,
}

/// The in-memory 1:N gallery. `Send + Sync`; share it behind an `Arc`.
pub struct Gallery {
    pub(crate) cfg: GalleryConfig,
    pub(crate) state: RwLock<State>,
    pub(crate) version: AtomicU64,
}

/// Sizes for logs and the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GalleryStats {
    pub templates: usize,
    pub shards: usize,
    pub indexed_shards: usize,
    /// Heap bytes held by codes, ids, maps and graphs (an estimate from capacities).
    pub heap_bytes: usize,
}

impl Gallery {
    pub fn new(cfg: GalleryConfig) -> Self {
        Self { cfg, state: RwLock::new(State::default()), version: AtomicU64::new(0) }
    }

    pub fn config(&self) -> &GalleryConfig {
        &self.cfg
    }

    fn unit(&self, v: &[f32]) -> Result<Vec<f32>, GalleryError> {
        if v.len() != self.cfg.dim {
            return Err(GalleryError::DimensionMismatch { expected: self.cfg.dim, got: v.len() });
        }
        quant::normalized(v)
    }

    fn shard_for(st: &mut State, model: &str, collection: Uuid, dim: usize) -> u32 {
        let key = (ModelId::new(model), collection);
        if let Some(&i) = st.keys.get(&key) {
            return i;
        }
        let i = st.shards.len() as u32;
        st.shards.push(Arc::new(RwLock::new(Shard::new(key.0.clone(), collection, dim))));
        st.keys.insert(key, i);
        i
    }

    /// Adds a template, or replaces the one with the same `template_id` (wherever it was).
    /// Visible to every search that starts after this returns.
    pub fn insert(&self, t: Template<'_>) -> Result<(), GalleryError> {
        if t.template_id.is_nil() {
            return Err(GalleryError::NilTemplateId);
        }
        let unit = self.unit(t.vector)?;
        let mut st = self.state.write();
        self.insert_locked(&mut st, &t, &unit);
        Ok(())
    }

    fn insert_locked(&self, st: &mut State, t: &Template<'_>, unit: &[f32]) {
        let idx = Self::shard_for(st, t.model_id, t.collection_id, self.cfg.dim);
        if let Some(&old) = st.locations.get(&t.template_id) {
            if old != idx {
                st.shards[old as usize].write().remove(t.template_id, &self.cfg);
            }
        }
        st.shards[idx as usize].write().insert(t.template_id, t.person_id, unit, &self.cfg);
        st.locations.insert(t.template_id, idx);
    }

    /// Adds many templates at once: graphs are built once per collection at the end instead of
    /// node by node (the way to fill a gallery from the SQL store without a snapshot).
    pub fn insert_batch(&self, templates: &[Template<'_>]) -> Result<(), GalleryError> {
        // Validate everything before changing anything; normalise lazily below so a million
        // templates never exist as f32 copies all at once.
        for t in templates {
            if t.template_id.is_nil() {
                return Err(GalleryError::NilTemplateId);
            }
            self.unit(t.vector)?;
        }
        let mut st = self.state.write();
        let mut groups: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, t) in templates.iter().enumerate() {
            let idx = Self::shard_for(&mut st, t.model_id, t.collection_id, self.cfg.dim);
            if let Some(&old) = st.locations.get(&t.template_id) {
                if old != idx {
                    st.shards[old as usize].write().remove(t.template_id, &self.cfg);
                }
            }
            st.locations.insert(t.template_id, idx);
            groups.entry(idx).or_default().push(i);
        }
        for (idx, members) in groups {
            let items = members.iter().map(|&i| {
                let t = &templates[i];
                // Checked above; normalising the same vector again cannot fail.
                let unit = quant::normalized(t.vector).unwrap_or_default();
                (t.template_id, t.person_id, unit)
            });
            st.shards[idx as usize].write().extend(items, &self.cfg);
        }
        Ok(())
    }

    /// Removes one template; false if it was not there.
    pub fn remove_template(&self, id: Uuid) -> bool {
        let mut st = self.state.write();
        Self::remove_locked(&mut st, id, &self.cfg)
    }

    fn remove_locked(st: &mut State, id: Uuid, cfg: &GalleryConfig) -> bool {
        match st.locations.remove(&id) {
            Some(idx) => st.shards[idx as usize].write().remove(id, cfg),
            None => false,
        }
    }

    /// Removes every template of a person (all collections, all models); returns how many.
    pub fn remove_person(&self, person_id: Uuid) -> usize {
        let mut st = self.state.write();
        Self::remove_person_locked(&mut st, person_id, &self.cfg)
    }

    fn remove_person_locked(st: &mut State, person_id: Uuid, cfg: &GalleryConfig) -> usize {
        let mut removed = Vec::new();
        for shard in &st.shards {
            removed.extend(shard.write().remove_person(person_id, cfg));
        }
        for id in &removed {
            st.locations.remove(id);
        }
        removed.len()
    }

    /// Removes a collection's templates (all models); returns how many.
    pub fn remove_collection(&self, collection_id: Uuid) -> usize {
        let mut st = self.state.write();
        Self::remove_collection_locked(&mut st, collection_id, self.cfg.dim)
    }

    fn remove_collection_locked(st: &mut State, collection_id: Uuid, dim: usize) -> usize {
        let mut ids = Vec::new();
        for shard in &st.shards {
            let mut s = shard.write();
            if s.collection_id == collection_id {
                ids.extend(s.slots.keys().copied());
                *s = Shard::new(s.model_id.clone(), collection_id, dim);
            }
        }
        for id in &ids {
            st.locations.remove(id);
        }
        ids.len()
    }

    /// Top-k templates by cosine similarity, best first, ties broken by slot order.
    pub fn search(&self, q: &Query<'_>) -> Result<Vec<Hit>, GalleryError> {
        let pq = PreparedQuery::new(self.unit(q.vector)?);
        let targets = self.targets(q)?;
        let sq = ShardQuery {
            pq: &pq,
            k: q.k,
            min_score: q.min_score,
            persons: &q.persons,
            mode: q.mode,
            ef_search: q.ef_search,
            walk: q.walk,
        };
        let mut hits: Vec<Hit> = Vec::new();
        for shard in targets {
            hits.extend(shard.read().search(&sq, &self.cfg));
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(q.k);
        Ok(hits)
    }

    /// The shards a query reads; a named collection that only holds other models is an error.
    fn targets(&self, q: &Query<'_>) -> Result<Vec<ShardRef>, GalleryError> {
        let st = self.state.read();
        let model = ModelId::new(q.model_id);
        let Some(collections) = &q.collections else {
            return Ok(st
                .keys
                .iter()
                .filter(|((m, _), _)| *m == model)
                .map(|(_, &i)| st.shards[i as usize].clone())
                .collect());
        };
        let mut out = Vec::with_capacity(collections.len());
        for c in collections {
            match st.keys.get(&(model.clone(), *c)) {
                Some(&i) if st.shards[i as usize].read().live() > 0 => out.push(st.shards[i as usize].clone()),
                _ => {
                    let held: Vec<String> = st
                        .keys
                        .iter()
                        .filter(|((m, cid), &i)| cid == c && *m != model && st.shards[i as usize].read().live() > 0)
                        .map(|((m, _), _)| m.to_string())
                        .collect();
                    if !held.is_empty() {
                        return Err(GalleryError::ModelMismatch {
                            collection: *c,
                            model_id: q.model_id.to_owned(),
                            held: held.join(", "),
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    /// The version of the last change batch applied (or set by the server after a rebuild).
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    pub fn set_version(&self, v: u64) {
        self.version.store(v, Ordering::SeqCst);
    }

    /// Applies one batch of changes from the server's change feed, atomically with respect to
    /// searches and snapshots, if `version` is newer than the gallery's; replays are skipped.
    /// All vectors are checked first: on error nothing is applied and the version is unchanged.
    pub fn apply(&self, version: u64, changes: &[Change<'_>]) -> Result<Applied, GalleryError> {
        let mut units: Vec<Option<Vec<f32>>> = Vec::with_capacity(changes.len());
        for c in changes {
            units.push(match c {
                Change::Insert(t) if t.template_id.is_nil() => return Err(GalleryError::NilTemplateId),
                Change::Insert(t) => Some(self.unit(t.vector)?),
                Change::RemoveTemplate(_) | Change::RemovePerson(_) | Change::RemoveCollection(_) => None,
            });
        }
        let mut st = self.state.write();
        let current = self.version();
        if version <= current {
            return Ok(Applied::Stale { current });
        }
        for (c, unit) in changes.iter().zip(&units) {
            match (c, unit) {
                (Change::Insert(t), Some(u)) => self.insert_locked(&mut st, t, u),
                (Change::Insert(_), None) => unreachable!("inserts were normalised above"),
                (Change::RemoveTemplate(id), _) => {
                    Self::remove_locked(&mut st, *id, &self.cfg);
                }
                (Change::RemovePerson(p), _) => {
                    Self::remove_person_locked(&mut st, *p, &self.cfg);
                }
                (Change::RemoveCollection(c), _) => {
                    Self::remove_collection_locked(&mut st, *c, self.cfg.dim);
                }
            }
        }
        self.version.store(version, Ordering::SeqCst);
        Ok(Applied::Applied { version })
    }

    /// Live templates of `model_id` in `collections` (None: in every collection): the size of
    /// the gallery a query of that model searches.
    pub fn count(&self, model_id: &str, collections: Option<&[Uuid]>) -> usize {
        let st = self.state.read();
        let model = ModelId::new(model_id);
        match collections {
            None => st
                .keys
                .iter()
                .filter(|((m, _), _)| *m == model)
                .map(|(_, &i)| st.shards[i as usize].read().live())
                .sum(),
            Some(cs) => cs
                .iter()
                .filter_map(|c| st.keys.get(&(model.clone(), *c)))
                .map(|&i| st.shards[i as usize].read().live())
                .sum(),
        }
    }

    /// Live templates.
    pub fn len(&self) -> usize {
        self.state.read().locations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn stats(&self) -> GalleryStats {
        let st = self.state.read();
        let mut s = GalleryStats {
            templates: st.locations.len(),
            shards: 0,
            indexed_shards: 0,
            heap_bytes: st.locations.capacity() * (16 + 4 + 1),
        };
        for shard in &st.shards {
            let sh = shard.read();
            if sh.live() > 0 {
                s.shards += 1;
            }
            if sh.graph.is_some() {
                s.indexed_shards += 1;
            }
            s.heap_bytes += sh.heap_bytes();
        }
        s
    }

    /// Writes a snapshot atomically (temporary file, fsync, rename). Removed templates are not in
    /// it. Writes wait while it runs; searches do not.
    pub fn save_snapshot(&self, path: &Path) -> Result<(), GalleryError> {
        let st = self.state.read();
        let shards: Vec<_> = st.shards.iter().map(|s| s.read()).collect();
        snapshot::save(path, self.version(), self.cfg.dim, shards.iter().map(|s| &**s))
    }

    /// Loads a snapshot written by `save_snapshot`; `version()` is the snapshot's, so the server
    /// can replay newer changes or decide to rebuild.
    pub fn load_snapshot(path: &Path, cfg: GalleryConfig) -> Result<Gallery, GalleryError> {
        let (version, shards) = snapshot::load(path, &cfg)?;
        let mut st = State::default();
        st.locations.reserve(shards.iter().map(|s| s.live()).sum());
        for shard in shards {
            let i = st.shards.len() as u32;
            for &t in shard.slots.keys() {
                if st.locations.insert(t, i).is_some() {
                    return Err(GalleryError::CorruptSnapshot(format!("template {t} in two collections")));
                }
            }
            st.keys.insert((shard.model_id.clone(), shard.collection_id), i);
            st.shards.push(Arc::new(RwLock::new(shard)));
        }
        Ok(Gallery { cfg, state: RwLock::new(st), version: AtomicU64::new(version) })
    }
}
