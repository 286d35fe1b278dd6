//! The embedded store's file system, made durable: s3s-fs writes an object to
//! a temporary file and renames it into place without an fsync, so an
//! acknowledged PUT could vanish in a power cut. Here a PUT is answered only
//! after the object file and its directory are on disk, and a DELETE only
//! after its directory is. One instance serves both faces of the store (the
//! phones' presigned requests and the server's own), so their temporary file
//! names, counted per instance, never collide.
//!
//! Only the operations anjian uses are passed on; every other one answers
//! `NotImplemented`, as s3s does by default.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use s3s::dto::{
    DeleteObjectInput, DeleteObjectOutput, GetObjectInput, GetObjectOutput, HeadBucketInput,
    HeadBucketOutput, HeadObjectInput, HeadObjectOutput, ListObjectsV2Input, ListObjectsV2Output,
    PutObjectInput, PutObjectOutput,
};
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

/// s3s-fs over `root`, with PUT and DELETE made durable.
#[derive(Debug, Clone)]
pub(crate) struct Durable {
    fs: Arc<s3s_fs::FileSystem>,
    root: PathBuf,
}

impl Durable {
    pub(crate) fn new(root: &Path) -> std::io::Result<Durable> {
        let fs =
            s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        Ok(Durable {
            fs: Arc::new(fs),
            root: std::path::absolute(root)?,
        })
    }

    /// Where s3s-fs keeps `bucket/key` (it refuses keys that leave the root).
    fn path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }
}

/// Flushes a file or a directory to disk.
async fn sync(path: PathBuf) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || std::fs::File::open(&path)?.sync_all())
        .await
        .map_err(std::io::Error::other)?
}

/// Flushes `path` and the directory that names it.
async fn sync_file_and_dir(path: &Path) -> std::io::Result<()> {
    sync(path.to_path_buf()).await?;
    if let Some(dir) = path.parent() {
        sync(dir.to_path_buf()).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl S3 for Durable {
    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let path = self.path(&req.input.bucket, &req.input.key);
        let out = self.fs.put_object(req).await?;
        sync_file_and_dir(&path).await.map_err(|e| {
            tracing::error!(path = %path.display(), error = %e, "stored object not flushed");
            s3_error!(InternalError, "not flushed to disk")
        })?;
        Ok(out)
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let path = self.path(&req.input.bucket, &req.input.key);
        let out = self.fs.delete_object(req).await?;
        if let Some(dir) = path.parent().filter(|d| d.exists()) {
            sync(dir.to_path_buf()).await.map_err(|e| {
                tracing::error!(path = %dir.display(), error = %e, "deletion not flushed");
                s3_error!(InternalError, "not flushed to disk")
            })?;
        }
        Ok(out)
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        self.fs.get_object(req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        self.fs.head_object(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.fs.list_objects_v2(req).await
    }
}
