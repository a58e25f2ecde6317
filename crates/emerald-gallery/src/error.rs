//! The gallery's error type: HTTP-free; the server maps it in one `From`.

use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum GalleryError {
    /// A template or query vector whose length is not the configured dimension.
    #[error("vector has {got} dimensions, the gallery expects {expected}")]
    DimensionMismatch { expected: usize, got: usize },
    /// A vector that cannot be normalised (zero, NaN or infinite components).
    #[error("vector is zero or not finite")]
    InvalidVector,
    /// The nil UUID is reserved (it marks removed slots).
    #[error("the nil UUID is not a valid template id")]
    NilTemplateId,
    /// A query names a collection whose templates all come from other models.
    #[error("collection {collection} holds no templates of model {model_id} (it holds {held})")]
    ModelMismatch { collection: Uuid, model_id: String, held: String },
    /// A snapshot that does not parse, fails its checksum or was written for another layout.
    #[error("corrupt snapshot: {0}")]
    CorruptSnapshot(String),
    /// A snapshot written with a different dimension than the configuration asks for.
    #[error("snapshot has dimension {found}, the configuration expects {expected}")]
    SnapshotDimension { expected: usize, found: usize },
    #[error("snapshot i/o: {0}")]
    Io(#[from] std::io::Error),
}
