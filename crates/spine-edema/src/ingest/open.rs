//! Opening one file as a DICOM object, whatever its framing: Part-10 with the 128-byte
//! preamble, Part-10 without it (meta group first), or a bare data set with no meta group
//! at all (implicit or explicit VR little endian, explicit VR big endian), as old
//! modalities and some PACS exports write.

#![deny(clippy::indexing_slicing)]

use super::lengths::{Encoding, Start, check_lengths};
use super::limits::Limits;
use crate::error::{Error, Result};
use dicom_core::VR;
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::file::ReadPreamble;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use std::io::Read;
use std::path::Path;

/// How much of the data set to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadMode {
    /// Stop before Pixel Data: the index pass.
    Header,
    /// Everything: the decode pass.
    Full,
}

/// How a file is framed, decided from its first 132 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// 128-byte preamble, "DICM", meta group.
    Part10,
    /// "DICM" at offset 0 (preamble stripped).
    MagicFirst,
    /// Meta group at offset 0 (preamble and magic code stripped).
    MetaFirst,
    /// A bare data set in the given transfer syntax.
    Bare(&'static str),
}

/// Explicit VR Big Endian: retired from the standard (hence no non-deprecated constant)
/// but still found in archives.
pub(crate) const EXPLICIT_VR_BIG_ENDIAN: &str = "1.2.840.10008.1.2.2";

/// Groups a bare data set plausibly starts with (command, identifying, patient,
/// acquisition, relationship, image pixel description).
const FIRST_GROUPS: [u16; 7] = [0x0000, 0x0008, 0x0010, 0x0018, 0x0020, 0x0028, 0x0002];

fn sniff(head: &[u8]) -> Option<Framing> {
    if head.get(128..132) == Some(b"DICM".as_slice()) {
        return Some(Framing::Part10);
    }
    if head.get(..4) == Some(b"DICM".as_slice()) {
        return Some(Framing::MagicFirst);
    }
    let b = |i: usize| head.get(i).copied().unwrap_or(0);
    let group_le = u16::from_le_bytes([b(0), b(1)]);
    let group_be = u16::from_be_bytes([b(0), b(1)]);
    let explicit = VR::from_binary([b(4), b(5)]).is_some();
    if group_le == 0x0002 && explicit {
        return Some(Framing::MetaFirst);
    }
    if head.len() < 8 {
        return None;
    }
    if group_le != 0 && FIRST_GROUPS.contains(&group_le) {
        return Some(Framing::Bare(if explicit {
            uids::EXPLICIT_VR_LITTLE_ENDIAN
        } else {
            uids::IMPLICIT_VR_LITTLE_ENDIAN
        }));
    }
    if group_be != 0 && FIRST_GROUPS.contains(&group_be) && explicit {
        return Some(Framing::Bare(EXPLICIT_VR_BIG_ENDIAN));
    }
    None
}

/// Opens `path` as a DICOM object. Bare data sets get a synthesised meta group naming
/// the transfer syntax they were read with, so later stages see one kind of object.
pub(crate) fn open(path: &Path, mode: ReadMode, limits: &Limits) -> Result<DefaultDicomObject> {
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if size > limits.max_file_bytes {
        return Err(Error::limits(
            path,
            format!("file of {size} bytes > {}", limits.max_file_bytes),
        ));
    }
    let mut head = Vec::with_capacity(132);
    std::fs::File::open(path)
        .and_then(|f| f.take(132).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    let framing = sniff(&head).ok_or_else(|| Error::decoding(path, "not a DICOM file"))?;
    // The parser trusts declared lengths and recurses into sequences; check both first.
    let start = match framing {
        Framing::Part10 => Start::Meta(132),
        Framing::MagicFirst => Start::Meta(4),
        Framing::MetaFirst => Start::Meta(0),
        Framing::Bare(ts_uid) => Start::Bare(Encoding::of(ts_uid)),
    };
    // A bare data set is parsed whole even for the index pass (see `open_bare`).
    let whole = mode == ReadMode::Full || matches!(framing, Framing::Bare(_));
    check_lengths(path, start, !whole, limits)?;
    let options = OpenFileOptions::new();
    let options = match mode {
        ReadMode::Header => options.read_until(tags::PIXEL_DATA),
        ReadMode::Full => options,
    };
    match framing {
        Framing::Part10 => options.read_preamble(ReadPreamble::Always).open_file(path),
        Framing::MagicFirst => options.read_preamble(ReadPreamble::Never).open_file(path),
        Framing::MetaFirst => {
            // dicom-rs expects the magic code before the meta group; put it back.
            let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            let source = std::io::Cursor::new(*b"DICM").chain(std::io::BufReader::new(file));
            options
                .read_preamble(ReadPreamble::Never)
                .from_reader(source)
        }
        Framing::Bare(ts_uid) => return open_bare(path, ts_uid),
    }
    .map_err(|e| Error::decoding(path, format!("cannot parse DICOM: {}", error_chain(&e))))
}

fn open_bare(path: &Path, ts_uid: &'static str) -> Result<DefaultDicomObject> {
    let ts = TransferSyntaxRegistry
        .get(ts_uid)
        .ok_or_else(|| Error::unsupported(path, format!("transfer syntax {ts_uid}")))?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let obj = InMemDicomObject::read_dataset_with_ts(bytes.as_slice(), ts).map_err(|e| {
        Error::decoding(
            path,
            format!(
                "cannot parse data set without meta group: {}",
                error_chain(&e)
            ),
        )
    })?;
    // `with_meta` copies SOP class/instance from the data set when present; these
    // defaults only stand in when a bare data set lacks them.
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(ts_uid)
        .media_storage_sop_class_uid(uids::SECONDARY_CAPTURE_IMAGE_STORAGE)
        .media_storage_sop_instance_uid("2.25.0")
        .implementation_class_uid("2.25.0");
    obj.with_meta(meta).map_err(|e| {
        Error::decoding(
            path,
            format!("cannot build meta group: {}", error_chain(&e)),
        )
    })
}

/// Runs `work` on one file, turning a panic inside a third-party parser or codec into a
/// decoding error naming the file: one hostile file must not end a batch.
pub(crate) fn guarded<T>(path: &Path, work: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("no message");
        Err(Error::decoding(path, format!("reader panicked: {message}")))
    })
}

/// An error and its sources in one line, so a skipped-file reason says what and where.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_framings() {
        let mut preamble = vec![0u8; 132];
        if let Some(magic) = preamble.get_mut(128..132) {
            magic.copy_from_slice(b"DICM");
        }
        assert_eq!(sniff(&preamble), Some(Framing::Part10));
        let meta_first = [0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0];
        assert_eq!(sniff(&meta_first), Some(Framing::MetaFirst));
        assert_eq!(sniff(b"DICM\x02\x00\x00\x00UL"), Some(Framing::MagicFirst));
        let implicit = [0x08, 0x00, 0x05, 0x00, 10, 0, 0, 0];
        assert_eq!(
            sniff(&implicit),
            Some(Framing::Bare(uids::IMPLICIT_VR_LITTLE_ENDIAN))
        );
        let big = [0x00, 0x08, 0x00, 0x05, b'C', b'S', 0, 10];
        assert_eq!(sniff(&big), Some(Framing::Bare(EXPLICIT_VR_BIG_ENDIAN)));
        assert_eq!(sniff(b"hello, world, this is text"), None);
    }
}
