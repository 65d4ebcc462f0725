//! The standalone offsets file, in Kafka Connect's own format (see [`super::java`]).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::{java, OffsetStore, OffsetStoreError, OffsetWrite};

/// Offsets kept in memory and written to one file, atomically, on every change.
pub struct FileOffsetStore {
    path: PathBuf,
    data: Arc<Mutex<HashMap<Vec<u8>, Vec<u8>>>>,
    /// Serializes file writes so a later snapshot never lands before an earlier one.
    write_lock: tokio::sync::Mutex<()>,
}

impl FileOffsetStore {
    /// Loads the file (a missing file is an empty store).
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, OffsetStoreError> {
        let path = path.into();
        let data = match std::fs::read(&path) {
            Ok(bytes) => java::read_hash_map(&bytes)
                .map_err(|e| OffsetStoreError::Format {
                    path: path.clone(),
                    message: e.to_string(),
                })?
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            Err(source) => {
                return Err(OffsetStoreError::Io {
                    context: "cannot read offsets file",
                    path,
                    source,
                })
            }
        };
        Ok(FileOffsetStore {
            path,
            data: Arc::new(Mutex::new(data)),
            write_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of stored keys.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Vec<u8>, Vec<u8>>> {
        // A panic while holding the lock cannot leave the map half-updated (single inserts).
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl OffsetStore for FileOffsetStore {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.lock().get(key).cloned()
    }

    fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    async fn set(&self, writes: Vec<OffsetWrite>) -> Result<(), OffsetStoreError> {
        let _serial = self.write_lock.lock().await;
        let snapshot = {
            let mut data = self.lock();
            for (key, value) in writes {
                match value {
                    Some(v) => {
                        data.insert(key, v);
                    }
                    None => {
                        data.remove(&key);
                    }
                }
            }
            let mut entries: Vec<(&[u8], &[u8])> = data
                .iter()
                .map(|(k, v)| (k.as_slice(), v.as_slice()))
                .collect();
            entries.sort_unstable();
            java::write_hash_map(&entries)
        };
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &snapshot))
            .await
            .map_err(|e| OffsetStoreError::Io {
                context: "offsets file writer stopped while writing",
                path: self.path.clone(),
                source: std::io::Error::other(e),
            })?
    }
}

/// Writes to a temporary file beside `path`, syncs it, renames it over `path` and syncs the
/// directory, so a crash leaves either the old or the new file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), OffsetStoreError> {
    let io = |context: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| OffsetStoreError::Io {
            context,
            path: p,
            source,
        }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io("cannot create directory for offsets file", &dir))?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let mut file = std::fs::File::create(&tmp).map_err(io("cannot create offsets file", &tmp))?;
    file.write_all(bytes)
        .map_err(io("cannot write offsets file", &tmp))?;
    file.sync_all()
        .map_err(io("cannot sync offsets file", &tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io("cannot replace offsets file", path))?;
    // Make the rename durable; not every platform can open a directory, so failure is ignored.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn set_persists_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.dat");
        let store = FileOffsetStore::open(&path).unwrap();
        assert!(store.is_empty());
        store
            .set(vec![
                (b"k1".to_vec(), Some(b"v1".to_vec())),
                (b"k2".to_vec(), Some(b"v2".to_vec())),
            ])
            .await
            .unwrap();
        store.set(vec![(b"k1".to_vec(), None)]).await.unwrap();
        let reopened = FileOffsetStore::open(&path).unwrap();
        assert_eq!(reopened.get(b"k1"), None);
        assert_eq!(reopened.get(b"k2"), Some(b"v2".to_vec()));
        assert_eq!(reopened.len(), 1);
        assert!(!dir.path().join("offsets.dat.tmp").exists());
    }

    #[test]
    fn a_file_in_another_format_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.json");
        std::fs::write(&path, "{}").unwrap();
        let err = FileOffsetStore::open(&path).err().unwrap().to_string();
        assert!(err.contains("offsets.json"), "{err}");
        assert!(
            err.contains("not a Kafka Connect standalone offsets file"),
            "{err}"
        );
    }
}
