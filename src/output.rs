//! Output files: staged under a temporary name in the output directory and renamed into
//! place only when the whole run has succeeded, so a failed or killed run never leaves a
//! half-written file under a final name. Files are created readable by the owner only.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::Schema;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};

/// An output directory whose files become visible together at [`Staging::commit`].
pub struct Staging {
    dir: PathBuf,
    tmp: PathBuf,
    files: Mutex<Vec<PathBuf>>,
    mode: u32,
    committed: bool,
}

impl Staging {
    /// Prepare `dir` (created if needed) with a private staging folder inside it.
    pub fn new(dir: &Path, group_readable: bool) -> Result<Staging> {
        std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
        // A run killed before it finished leaves its staging folder: never a final file.
        // Remove such leftovers (one run writes into one output directory at a time).
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if e.file_name()
                    .to_string_lossy()
                    .starts_with(".lamsach-staging-")
                {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let tmp = dir.join(format!(".lamsach-staging-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).map_err(|e| Error::output(&tmp, e))?;
        Ok(Staging {
            dir: dir.to_path_buf(),
            tmp,
            files: Mutex::new(Vec::new()),
            mode: if group_readable { 0o640 } else { 0o600 },
            committed: false,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Create a staged file at `rel` (e.g. `fixlists/00004.csv`).
    pub fn create(&self, rel: &str) -> Result<(File, PathBuf)> {
        let path = self.tmp.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::output(parent, e))?;
        }
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(self.mode);
        }
        let file = opts
            .open(&path)
            .map_err(|e| Error::output(&self.dir.join(rel), e))?;
        self.files
            .lock()
            .expect("staging lock")
            .push(PathBuf::from(rel));
        Ok((file, path))
    }

    /// Write a whole file.
    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        let (file, _) = self.create(rel)?;
        let mut w = BufWriter::new(file);
        w.write_all(bytes)
            .map_err(|e| Error::output(&self.dir.join(rel), e))?;
        let f = w
            .into_inner()
            .map_err(|e| Error::output(&self.dir.join(rel), e.error()))?;
        f.sync_all()
            .map_err(|e| Error::output(&self.dir.join(rel), e))
    }

    /// Write one Parquet file from batches sharing `schema`.
    pub fn write_parquet(
        &self,
        rel: &str,
        schema: Arc<Schema>,
        batches: &[RecordBatch],
    ) -> Result<()> {
        let (file, _) = self.create(rel)?;
        let target = self.dir.join(rel);
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by("lamsach".to_string())
            .build();
        let mut w = ArrowWriter::try_new(file, schema, Some(props))
            .map_err(|e| Error::output(&target, e))?;
        for b in batches {
            w.write(b).map_err(|e| Error::output(&target, e))?;
        }
        let f = w.into_inner().map_err(|e| Error::output(&target, e))?;
        f.sync_all().map_err(|e| Error::output(&target, e))
    }

    /// Move every staged file to its final name.
    pub fn commit(mut self) -> Result<()> {
        let files = std::mem::take(&mut *self.files.lock().expect("staging lock"));
        for rel in &files {
            let to = self.dir.join(rel);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::output(parent, e))?;
            }
            std::fs::rename(self.tmp.join(rel), &to).map_err(|e| Error::output(&to, e))?;
        }
        let _ = std::fs::remove_dir_all(&self.tmp);
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// A batch from named columns.
pub fn batch(schema: &Arc<Schema>, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    RecordBatch::try_new(schema.clone(), columns).map_err(Error::internal)
}
