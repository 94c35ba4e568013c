//! Input columns held on disk: a source's Arrow buffers written once to a scratch file and
//! read back through a read-only memory map, so that the pages are the kernel's page cache
//! (dropped under memory pressure, read again when touched) rather than the process's own
//! memory. This is how `check --memory-gb` keeps the input columns — most of a large
//! province's memory — out of its budget; the results are the same bytes either way.
//!
//! The file is removed as soon as it is mapped: nothing is left behind, even when the run is
//! killed, and no other process can open it. It is created owner-only.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Arc;

use arrow_array::{make_array, Array, ArrayRef, RecordBatch};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer};
use arrow_data::ArrayData;

use crate::core::{Rows, Table};
use crate::error::{Error, Result};

/// Each buffer starts on a 64-byte boundary in the file (Arrow's alignment).
const ALIGN: usize = 64;

/// A read-only mapping of a scratch file, unmapped when the last buffer in it is dropped.
struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is read-only and never changed after it is made; it is unmapped once,
// in `drop`, when no buffer refers to it any more.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}
impl std::panic::RefUnwindSafe for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr` and `len` are those `mmap` returned; nothing refers to the pages now.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// Every byte range an array's data holds (validity, buffers, then children and a
/// dictionary's values), in the order [`rebuild`] takes them back.
fn ranges<'a>(data: &'a ArrayData, out: &mut Vec<&'a [u8]>) {
    if let Some(n) = data.nulls() {
        out.push(n.buffer().as_slice());
    }
    for b in data.buffers() {
        out.push(b.as_slice());
    }
    for c in data.child_data() {
        ranges(c, out);
    }
}

/// `data` again, its buffers taken in order from `next` (the same bytes, now in the mapping).
fn rebuild(data: &ArrayData, next: &mut impl FnMut() -> Buffer) -> ArrayData {
    let nulls = data.nulls().map(|n| {
        let inner = n.inner();
        let bits = BooleanBuffer::new(next(), inner.offset(), inner.len());
        // SAFETY: the same bits as before, so the same count of nulls.
        unsafe { NullBuffer::new_unchecked(bits, n.null_count()) }
    });
    let buffers: Vec<Buffer> = data.buffers().iter().map(|_| next()).collect();
    let children: Vec<ArrayData> = data.child_data().iter().map(|c| rebuild(c, next)).collect();
    let builder = data
        .clone()
        .into_builder()
        .nulls(nulls)
        .buffers(buffers)
        .child_data(children);
    // SAFETY: byte for byte the data of an array that was valid (validating it again would
    // read every string of the source once more).
    unsafe { builder.build_unchecked() }
}

/// Hold `table`'s columns on disk: written to a scratch file in `dir` (created owner-only,
/// removed once mapped) and read back through a memory map. Returns the bytes moved.
pub fn hold_on_disk(table: &mut Table, dir: &Path) -> Result<u64> {
    let columns: Vec<ArrayData> = table.batch.columns().iter().map(|c| c.to_data()).collect();
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in &columns {
        ranges(c, &mut parts);
    }
    let mut at = Vec::with_capacity(parts.len());
    let mut len = 0usize;
    for p in &parts {
        at.push(len);
        len = (len + p.len()).next_multiple_of(ALIGN);
    }
    if len == 0 {
        return Ok(0);
    }
    let path = dir.join(format!(
        ".lamsach-inputs-{}-{}",
        std::process::id(),
        crate::core::hash::h64(&table.name)
    ));
    let mapping = write_and_map(&path, &parts, len).map_err(|e| Error::output(&path, e))?;
    let mapping = Arc::new(mapping);
    let mut i = 0;
    let mut next = || {
        let (start, n) = (at[i], parts[i].len());
        i += 1;
        // SAFETY: `start + n` is within the mapping, which the buffer keeps alive.
        unsafe {
            let ptr = NonNull::new_unchecked(mapping.ptr.as_ptr().add(start));
            Buffer::from_custom_allocation(ptr, n, mapping.clone())
        }
    };
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|c| make_array(rebuild(c, &mut next)))
        .collect();
    drop(parts);
    table.batch = RecordBatch::try_new(table.batch.schema(), arrays)
        .expect("the same columns under the same schema");
    Ok(len as u64)
}

/// Write `parts` (each at the next 64-byte boundary) to a new owner-only file at `path`, map it
/// read-only and remove it.
fn write_and_map(path: &Path, parts: &[&[u8]], len: usize) -> std::io::Result<Mapping> {
    map_new_file(path, len, |file| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        let zeros = [0u8; ALIGN];
        let mut end = 0usize;
        for p in parts {
            w.write_all(p)?;
            end += p.len();
            let pad = end.next_multiple_of(ALIGN) - end;
            w.write_all(&zeros[..pad])?;
            end += pad;
        }
        w.flush()?;
        debug_assert_eq!(end, len);
        Ok(())
    })
}

/// A new owner-only file at `path`, `len` bytes written by `write`, mapped read-only and removed
/// (the mapping stays valid once the file is gone; on failure nothing is left either).
fn map_new_file(
    path: &Path,
    len: usize,
    write: impl FnOnce(&File) -> std::io::Result<()>,
) -> std::io::Result<Mapping> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;

    let file: File = std::fs::OpenOptions::new()
        .write(true)
        .read(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let mapped = write(&file).and_then(|()| {
        // SAFETY: a new mapping of the file just written, `len` bytes long, read-only.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Mapping {
            ptr: NonNull::new(ptr.cast()).expect("mmap succeeded"),
            len,
        })
    });
    let removed = std::fs::remove_file(path);
    let mapping = mapped?;
    removed?;
    Ok(mapping)
}

/// `rows` held on disk as [`hold_on_disk`] holds a table's columns (a scratch file in `dir`,
/// `name` telling it apart, removed once mapped): the same values, read through the mapping.
pub fn hold_rows<T: Copy + Sync + 'static>(
    rows: Rows<T>,
    dir: &Path,
    name: &str,
) -> Result<Rows<T>> {
    let Rows::Owned(v) = rows else {
        return Ok(rows);
    };
    let len = std::mem::size_of_val(v.as_slice());
    if len == 0 {
        return Ok(Rows::Owned(v));
    }
    let path = dir.join(format!(
        ".lamsach-rows-{}-{}",
        std::process::id(),
        crate::core::hash::h64(name)
    ));
    let mapping = map_new_file(&path, len, |file| {
        use std::os::fd::AsRawFd;
        // The values' bytes as they lie in memory (padding included), written without
        // viewing them as a `&[u8]`.
        let base = v.as_ptr().cast::<u8>();
        let mut done = 0usize;
        while done < len {
            // SAFETY: `base + done .. base + len` lies within the vector's allocation.
            let n = unsafe { libc::write(file.as_raw_fd(), base.add(done).cast(), len - done) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            done += n as usize;
        }
        Ok(())
    })
    .map_err(|e| Error::output(&path, e))?;
    let n = v.len();
    drop(v);
    // The mapping is page-aligned, so aligned for `T`; it holds `n` values of `T` copied
    // byte for byte from initialised ones.
    let ptr = mapping.ptr.cast::<T>();
    Ok(Rows::Held {
        ptr,
        len: n,
        _owner: Arc::new(mapping),
    })
}

#[cfg(test)]
mod tests {
    use arrow_array::{DictionaryArray, StringArray};

    use super::*;
    use crate::core::SourceKind;

    #[test]
    fn columns_held_on_disk_read_as_they_did_and_leave_no_file() {
        let dir = crate::scratch("on-disk");
        let names: ArrayRef = Arc::new(StringArray::from(vec![
            Some("Nguyễn Văn An"),
            None,
            Some("  Trần Thị Bình "),
            Some(""),
        ]));
        let dict: DictionaryArray<arrow_array::types::UInt32Type> =
            vec![Some("10001"), Some("10002"), None, Some("10001")]
                .into_iter()
                .collect();
        // A slice: its buffers begin inside a larger allocation.
        let whole = StringArray::from(vec!["x", "001085012345", "y", "z", "w"]);
        let sliced: ArrayRef = Arc::new(whole.slice(1, 4));
        let mut t = Table::from_columns(
            "residents",
            SourceKind::Residents,
            vec![
                ("full_name".into(), names),
                ("commune_code".into(), Arc::new(dict)),
                ("personal_id".into(), sliced),
            ],
        );
        let before = t.clone();
        let moved = hold_on_disk(&mut t, &dir).unwrap();
        assert!(moved > 0);
        assert_eq!(t.batch, before.batch, "the same values, nulls and types");
        use crate::core::Column::{CommuneCode, FullName, PersonalId};
        for c in [FullName, CommuneCode, PersonalId] {
            for r in 0..4 {
                assert_eq!(
                    t.column(c).cell(r),
                    before.column(c).cell(r),
                    "{c:?} row {r}"
                );
            }
        }
        assert_eq!(t.column(FullName).get(2), "Trần Thị Bình");
        assert_eq!(t.column(PersonalId).get(0), "001085012345");
        // The scratch file is gone once mapped; nobody else can open it.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn parsed_facts_held_on_disk_read_as_they_did() {
        let dir = crate::scratch("rows");
        let cells: Vec<Option<&str>> = vec![Some("001085012345"), None, Some("0912345678")];
        let t = Table::from_columns(
            "vaccination",
            SourceKind::Vaccination,
            vec![
                ("personal_id".into(), Arc::new(StringArray::from(cells))),
                (
                    "birth_date".into(),
                    Arc::new(StringArray::from(vec!["1985-03-07", "31/02/1990", ""])),
                ),
                (
                    "sex".into(),
                    Arc::new(StringArray::from(vec!["Nam", "x", "Nữ"])),
                ),
            ],
        );
        let before = crate::core::Prepared::new(&t);
        let held = hold_rows(crate::core::Prepared::new(&t).rows, &dir, "vaccination").unwrap();
        assert!(matches!(held, Rows::Held { .. }));
        assert_eq!(held.len(), 3);
        for (a, b) in held.iter().zip(before.rows.iter()) {
            assert_eq!(a.pid.personal_id(), b.pid.personal_id());
            assert_eq!(a.pid.is_valid(), b.pid.is_valid());
            assert_eq!(a.birth.valid(), b.birth.valid());
            assert_eq!(a.sex, b.sex);
        }
        assert_eq!(held[0].pid.personal_id(), Some(1085012345));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
