//! The cache files under target/kiln_cache/: a magic line, the body
//! (postcard), then a checksum of the body. A file that is missing, from
//! another kiln, truncated or corrupt is ignored; a new one replaces it
//! atomically (written beside it, then renamed), so concurrent runs never
//! mix halves. The body is streamed to disk, never held whole in memory.

use std::io::Write;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;
use xxhash_rust::xxh3::{xxh3_128, Xxh3};

const MAGIC: &[u8] = b"kiln render cache 1\n";

/// The body of `path`, if the file is whole and was written by this format.
pub fn read<T: DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    let rest = bytes.strip_prefix(MAGIC)?;
    let (body, sum) = rest.split_at_checked(rest.len().checked_sub(16)?)?;
    if sum != xxh3_128(body).to_le_bytes() {
        crate::output::debug(&format!(
            "render cache: {} is corrupt; ignored",
            path.display()
        ));
        return None;
    }
    postcard::from_bytes(body).ok()
}

/// Passes bytes on to the file while hashing them.
struct Summing<W: Write> {
    out: W,
    sum: Xxh3,
}

impl<W: Write> Write for Summing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.sum.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Writes `body` to `path`. A cache that cannot be written only costs
/// speed next time, so failures are reported at debug level.
pub fn write<T: Serialize>(path: &Path, body: &T) {
    let result = (|| -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
            out.write_all(MAGIC)?;
            let mut summing = Summing {
                out,
                sum: Xxh3::new(),
            };
            postcard::to_io(body, &mut summing)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            let sum = summing.sum.digest128();
            summing.out.write_all(&sum.to_le_bytes())?;
            summing.out.flush()?;
        }
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    })();
    if let Err(e) = result {
        crate::output::debug(&format!(
            "render cache: could not write {}: {e}",
            path.display()
        ));
    }
}
