//! The blob store: media files in a local directory (default: `<data-dir>/media`) or an
//! S3-compatible bucket (`--blob-url s3://bucket/prefix`; settings from the config file's
//! `[blob_options]` table and the usual `AWS_*` variables), through `object_store`. Files are
//! streamed in and out in chunks.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt;

use crate::domain::store::{BlobStream, Blobs};
use crate::domain::{Error, Result};

/// Size of the chunks a file is read and uploaded in.
const CHUNK_BYTES: usize = 1024 * 1024;

pub struct ObjectBlobs {
    store: Arc<dyn ObjectStore>,
    /// The same store when it is a local directory: a spooled upload on the same filesystem is
    /// then moved in by a rename instead of being copied (writing file data is most of an
    /// upload's CPU time; see docs/folders.md).
    local: Option<Arc<LocalFileSystem>>,
    prefix: ObjectPath,
}

impl ObjectBlobs {
    /// `url` None → `<data_dir>/media`; `file:///dir` or a plain path → that directory;
    /// `s3://bucket[/prefix]` → S3, set by `options` (`object_store` keys: `endpoint`,
    /// `region`, `access_key_id` …) over the `AWS_*` environment variables.
    pub fn open(url: Option<&str>, data_dir: &Path, options: &BTreeMap<String, String>) -> anyhow::Result<ObjectBlobs> {
        match url {
            Some(u) if u.starts_with("s3://") => {
                let mut builder = AmazonS3Builder::from_env().with_url(u);
                for (key, value) in options {
                    let key: AmazonS3ConfigKey =
                        key.parse().with_context(|| format!("blob_options: unknown S3 setting {key:?}"))?;
                    builder = builder.with_config(key, value);
                }
                let store = builder.build().context("configuring the S3 blob store")?;
                let prefix =
                    u.trim_start_matches("s3://").split_once('/').map(|(_, p)| p.trim_matches('/')).unwrap_or("");
                Ok(ObjectBlobs { store: Arc::new(store), local: None, prefix: ObjectPath::from(prefix) })
            }
            Some(u) => Self::local(Path::new(u.strip_prefix("file://").unwrap_or(u))),
            None => Self::local(&data_dir.join("media")),
        }
    }

    fn local(dir: &Path) -> anyhow::Result<ObjectBlobs> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the media dir {}", dir.display()))?;
        let store = Arc::new(
            LocalFileSystem::new_with_prefix(dir).context("opening the media dir")?.with_automatic_cleanup(true),
        );
        Ok(ObjectBlobs { store: store.clone(), local: Some(store), prefix: ObjectPath::default() })
    }

    fn path(&self, key: &str) -> ObjectPath {
        key.split('/').fold(self.prefix.clone(), |p, part| p.child(part))
    }
}

fn blob_error(e: impl Into<anyhow::Error>) -> Error {
    Error::Internal(e.into().context("blob store"))
}

#[async_trait]
impl Blobs for ObjectBlobs {
    async fn put_file(&self, key: &str, file: &Path) -> Result<()> {
        if let Some(local) = &self.local {
            let target = local.path_to_filesystem(&self.path(key)).map_err(blob_error)?;
            let spooled = file.to_path_buf();
            // One trip to the blocking pool for the three calls.
            let moved = tokio::task::spawn_blocking(move || {
                if let Some(dir) = target.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                if std::fs::rename(&spooled, &target).is_err() {
                    return Ok(false);
                }
                // A spool file is private to the server (0600); stored files get the usual mode.
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644));
                }
                Ok::<_, std::io::Error>(true)
            })
            .await
            .map_err(blob_error)?
            .map_err(blob_error)?;
            if moved {
                return Ok(());
            }
            // Another filesystem: copy, as for S3.
        }
        let upload = self.store.put_multipart(&self.path(key)).await.map_err(blob_error)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, CHUNK_BYTES);
        let mut f = tokio::fs::File::open(file).await.map_err(blob_error)?;
        let mut buf = vec![0u8; CHUNK_BYTES];
        loop {
            let n = match f.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(blob_error(e));
                }
            };
            if n == 0 {
                break;
            }
            writer.wait_for_capacity(4).await.map_err(blob_error)?;
            writer.write(&buf[..n]);
        }
        writer.finish().await.map_err(blob_error)?;
        Ok(())
    }

    async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.store.put(&self.path(key), PutPayload::from(bytes)).await.map_err(blob_error)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<(u64, BlobStream)>> {
        match self.store.get(&self.path(key)).await {
            Ok(r) => {
                let size = r.meta.size;
                let stream = r.into_stream().map_err(std::io::Error::other).boxed();
                Ok(Some((size, stream)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(blob_error(e)),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        match self.store.head(&self.path(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(blob_error(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(blob_error(e)),
        }
    }
}
