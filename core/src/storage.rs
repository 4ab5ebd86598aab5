//! Where uploaded files (CVs) are kept: outside the database, behind a small interface.

use std::path::PathBuf;

use crate::{Error, Result};

#[async_trait::async_trait]
pub trait FileStore: Send + Sync {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<()>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    async fn delete(&self, key: &str) -> Result<()>;
}

/// Files in a local directory, one file per key.
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        let safe = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && !key.starts_with('.');
        if safe {
            Ok(self.root.join(key))
        } else {
            Err(Error::Invalid(format!("bad storage key {key:?}")))
        }
    }
}

#[async_trait::async_trait]
impl FileStore for LocalDir {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(key)?;
        tokio::fs::create_dir_all(&self.root).await?;
        let tmp = path.with_extension("partial");
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, &path).await?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Largest CV accepted.
pub const MAX_CV_BYTES: usize = 5 * 1024 * 1024;

/// A CV must be a PDF, judged by its content: the `%PDF-` signature within the first
/// kilobyte (as PDF readers accept) and an end-of-file marker near the end.
pub fn is_pdf(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let has_header = head.windows(5).any(|w| w == b"%PDF-");
    let tail = &bytes[bytes.len().saturating_sub(2048)..];
    let has_eof = tail.windows(5).any(|w| w == b"%%EOF");
    has_header && has_eof
}

/// A fresh, unguessable key for a CV.
pub fn new_cv_key() -> String {
    format!("cv-{}.pdf", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_pdfs_by_content() {
        assert!(is_pdf(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n"));
        assert!(!is_pdf(b"GIF89a not a pdf at all"));
        assert!(!is_pdf(b"%PDF-1.4 truncated"));
        assert!(!is_pdf(b""));
    }

    #[tokio::test]
    async fn local_dir_round_trip_and_rejects_traversal() {
        let root = std::env::temp_dir().join(format!("tp-store-{}", uuid::Uuid::new_v4()));
        let store = LocalDir::new(&root);
        store.put("cv-1.pdf", b"hello").await.expect("put");
        assert_eq!(
            store.get("cv-1.pdf").await.expect("get"),
            Some(b"hello".to_vec())
        );
        store.delete("cv-1.pdf").await.expect("delete");
        assert_eq!(store.get("cv-1.pdf").await.expect("get"), None);
        assert!(store.put("../escape", b"x").await.is_err());
        let _ = std::fs::remove_dir_all(root);
    }
}
