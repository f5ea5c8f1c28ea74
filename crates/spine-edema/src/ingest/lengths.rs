//! Checking a file's declared element lengths and sequence nesting before the DICOM
//! parser sees it.
//!
//! dicom-parser 0.10 reserves and zero-fills an element's declared length before reading
//! its value, and dicom-object builds nested sequences by recursion. A 700-byte file that
//! declares a 3.7 GB element therefore makes the process touch 3.7 GB, and a file of a
//! few kilobytes nesting thousands of sequences overflows the thread's stack (an abort,
//! which no `catch_unwind` can turn into an error). Both were found by fuzzing the ingest
//! path (`docs/reliability.md`). This pass walks the element headers with a fixed amount
//! of memory and rejects a length that runs past the end of the data, or nesting deeper
//! than [`Limits::max_sequence_depth`], naming the file.
//!
//! The walk reads headers exactly as dicom-parser does (an unknown VR code is UN with a
//! 4-byte length; any undefined-length element other than Pixel Data opens a sequence
//! in the same encoding; an unexpected (FFFE,xxxx) tag is a UN element), so it sees the
//! lengths the parser would act on; where the two could read a header differently (a
//! delimiter with a length), the length is checked too. Contents overrunning their
//! container end the walk: the parser stops there with an error. A deflated data set is
//! inflated once to measure it, then walked like a plain one.

#![deny(clippy::indexing_slicing)]

use super::limits::Limits;
use crate::error::{Error, Result};
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::{StandardDataDictionary, tags, uids};
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

/// How a data set is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Encoding {
    /// VRs are written in element headers.
    pub explicit_vr: bool,
    /// Numbers are big endian.
    pub big_endian: bool,
    /// The data set is a raw deflate stream.
    pub deflated: bool,
}

impl Encoding {
    /// The encoding of transfer syntax `uid`, as the parser's own registry describes it
    /// (so a data set the parser inflates is inflated here too, whatever its UID). A UID
    /// the registry does not know is walked as explicit VR little endian, the encoding of
    /// every encapsulated syntax (PS3.5 §10, Annex A); the parser refuses to read it anyway.
    pub(crate) fn of(uid: &str) -> Self {
        use dicom_encoding::transfer_syntax::{Codec, Endianness, TransferSyntaxIndex};
        let uid = uid.trim_end_matches(['\0', ' ']);
        match dicom_transfer_syntax_registry::TransferSyntaxRegistry.get(uid) {
            Some(ts) => Encoding {
                // The registry keeps VR explicitness private; implicit VR little endian
                // is the one implicit syntax.
                explicit_vr: uid != uids::IMPLICIT_VR_LITTLE_ENDIAN,
                big_endian: ts.endianness() == Endianness::Big,
                deflated: matches!(ts.codec(), Codec::Dataset(_)),
            },
            None => Encoding {
                explicit_vr: true,
                big_endian: false,
                deflated: false,
            },
        }
    }

    const META: Encoding = Encoding {
        explicit_vr: true,
        big_endian: false,
        deflated: false,
    };
}

/// Where the data set starts in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// A meta group (explicit VR little endian) at this offset, then the data set in the
    /// transfer syntax it names.
    Meta(u64),
    /// A bare data set at offset 0 in this encoding.
    Bare(Encoding),
}

/// Reads `path` from `start` and fails when a declared length runs past the end of the
/// data or sequences nest deeper than the limit. With `stop_at_pixel_data`, the walk
/// ends where the index pass's parser stops (the first tag at or after Pixel Data).
pub(crate) fn check_lengths(
    path: &Path,
    start: Start,
    stop_at_pixel_data: bool,
    limits: &Limits,
) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut reader = BufReader::new(file);
    let (offset, encoding) = match start {
        Start::Bare(encoding) => (0, encoding),
        Start::Meta(offset) => {
            reader
                .seek(std::io::SeekFrom::Start(offset))
                .map_err(|e| Error::io(path, e))?;
            let mut meta = Walker::new(
                path,
                Cursor::Plain {
                    reader: &mut reader,
                    size,
                },
                offset,
                Encoding::META,
                limits,
            );
            // Without a transfer syntax the parser fails anyway; walk the rest as the
            // default (explicit VR little endian) so no length goes unchecked.
            let ts_uid = meta
                .meta_group()?
                .unwrap_or_else(|| uids::EXPLICIT_VR_LITTLE_ENDIAN.to_string());
            (meta.position, Encoding::of(&ts_uid))
        }
    };
    let cursor = if encoding.deflated {
        // First measure how many bytes the stream yields (to its end or to where it turns
        // corrupt), then walk it again: every length is checked against what follows,
        // exactly as in a plain file.
        let start = reader.stream_position().map_err(|e| Error::io(path, e))?;
        let cap = limits.max_file_bytes;
        let size = inflate_up_to(
            &mut flate2::bufread::DeflateDecoder::new(&mut reader),
            cap.saturating_add(1),
        );
        if size > cap {
            return Err(Error::limits(
                path,
                format!("deflated data set inflates to more than {cap} bytes (max_file_bytes)"),
            ));
        }
        reader
            .seek(std::io::SeekFrom::Start(start))
            .map_err(|e| Error::io(path, e))?;
        Cursor::Inflated {
            decoder: flate2::bufread::DeflateDecoder::new(&mut reader),
            size,
        }
    } else {
        Cursor::Plain {
            reader: &mut reader,
            size,
        }
    };
    let position = if encoding.deflated { 0 } else { offset };
    Walker::new(path, cursor, position, encoding, limits).data_set(stop_at_pixel_data)
}

/// The bytes being walked: the file itself (seekable) or the inflated stream of a
/// deflated data set (read through); `size` is how many bytes there are in all.
enum Cursor<'a> {
    Plain {
        reader: &'a mut BufReader<File>,
        size: u64,
    },
    Inflated {
        decoder: flate2::bufread::DeflateDecoder<&'a mut BufReader<File>>,
        size: u64,
    },
}

impl Cursor<'_> {
    fn size(&self) -> u64 {
        match self {
            Cursor::Plain { size, .. } | Cursor::Inflated { size, .. } => *size,
        }
    }
}

/// Why a walk ended without a verdict: the end of the data where an element could start.
struct End;

struct Walker<'a, 'p> {
    path: &'p Path,
    cursor: Cursor<'a>,
    /// Bytes consumed from the data.
    position: u64,
    /// Where the parser believes it is, which is what it compares container ends with.
    /// It runs ahead of `position` after a binary value whose length is not a multiple
    /// of its number size (see [`value_bytes_read`]).
    logical: u64,
    encoding: Encoding,
    max_depth: usize,
}

/// One open sequence, item or pixel-fragment list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Open {
    /// Logical offset just past its last byte, when its length is defined.
    end: Option<u64>,
    /// What it holds, which decides how the parser reads the next header.
    kind: Kind,
}

/// The parser's reading state inside an open container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A sequence: item headers are expected, anything else stops the parser.
    Sequence,
    /// An item: element headers are expected, as at the top level.
    Item,
    /// Encapsulated pixel data: its items are fragments of bytes, not data sets.
    Fragments,
}

const ITEM: Tag = Tag(0xFFFE, 0xE000);
const ITEM_END: Tag = Tag(0xFFFE, 0xE00D);
const SEQUENCE_END: Tag = Tag(0xFFFE, 0xE0DD);
const UNDEFINED: u32 = 0xFFFF_FFFF;

impl<'a, 'p> Walker<'a, 'p> {
    fn new(
        path: &'p Path,
        cursor: Cursor<'a>,
        position: u64,
        encoding: Encoding,
        limits: &Limits,
    ) -> Self {
        Walker {
            path,
            cursor,
            position,
            logical: position,
            encoding,
            max_depth: limits.max_sequence_depth,
        }
    }

    /// Reads exactly `N` bytes; `None` at the end of the data.
    fn bytes<const N: usize>(&mut self) -> Result<Option<[u8; N]>> {
        let mut buf = [0u8; N];
        let read = match &mut self.cursor {
            Cursor::Plain { reader, .. } => reader.read_exact(&mut buf),
            Cursor::Inflated { decoder, .. } => decoder.read_exact(&mut buf),
        };
        match read {
            Ok(()) => {
                self.position += N as u64;
                self.logical += N as u64;
                Ok(Some(buf))
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            // A corrupt deflate stream: the parser reports it in its own words.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Ok(None),
            Err(e) => Err(Error::io(self.path, e)),
        }
    }

    fn u16(&mut self) -> Result<Option<u16>> {
        Ok(self.bytes::<2>()?.map(|b| {
            if self.encoding.big_endian {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            }
        }))
    }

    fn u32(&mut self) -> Result<Option<u32>> {
        Ok(self.bytes::<4>()?.map(|b| {
            if self.encoding.big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        }))
    }

    /// Skips a value of `len` bytes, failing when fewer remain.
    fn skip(&mut self, tag: Tag, len: u32) -> Result<()> {
        self.skip_read(tag, len, len)
    }

    /// Skips a value of declared length `len` of which the parser reads `read` bytes,
    /// failing when fewer than those remain.
    fn skip_read(&mut self, tag: Tag, len: u32, read: u32) -> Result<()> {
        self.fits(tag, read)?;
        self.logical += u64::from(len);
        let len = u64::from(read);
        match &mut self.cursor {
            Cursor::Plain { reader, .. } => {
                let step = i64::try_from(len).unwrap_or(i64::MAX);
                reader
                    .seek_relative(step)
                    .map_err(|e| Error::io(self.path, e))?;
            }
            Cursor::Inflated { decoder, .. } => {
                // Measured above, so this yields `len` bytes.
                inflate_up_to(decoder, len);
            }
        }
        self.position += len;
        Ok(())
    }

    /// Fails when a value or container of `len` bytes would run past the end of the data:
    /// the parser would allocate it whole before finding the data short.
    fn fits(&mut self, tag: Tag, len: u32) -> Result<()> {
        let remaining = self.cursor.size().saturating_sub(self.position);
        if u64::from(len) > remaining {
            return Err(self.too_long(tag, u64::from(len), remaining));
        }
        Ok(())
    }

    fn too_long(&self, tag: Tag, len: u64, remaining: u64) -> Error {
        Error::decoding(
            self.path,
            format!(
                "element ({:04X},{:04X}) declares {len} bytes at offset {} but only {remaining} \
                 follow (corrupt length or truncated file)",
                tag.0, tag.1, self.position
            ),
        )
    }

    /// Walks the meta group (elements of group 0002) and returns the transfer syntax UID,
    /// leaving the position at the first data set element; `None` when there is none.
    fn meta_group(&mut self) -> Result<Option<String>> {
        let mut transfer_syntax = None;
        // The parser reads the meta group up to the end its group length (0002,0000)
        // gives, whatever the groups of the elements inside; so does this walk.
        let mut group_end: Option<u64> = None;
        loop {
            let Some(group) = self.u16()? else {
                return Ok(transfer_syntax);
            };
            let inside = group_end.is_some_and(|end| self.position <= end);
            if group != 0x0002 && !inside {
                // The first data set element: step back to its start.
                if let Cursor::Plain { reader, .. } = &mut self.cursor {
                    reader
                        .seek_relative(-2)
                        .map_err(|e| Error::io(self.path, e))?;
                }
                self.position -= 2;
                self.logical -= 2;
                return Ok(transfer_syntax);
            }
            let Some(element) = self.u16()? else {
                return Ok(None);
            };
            let tag = Tag(group, element);
            let Some(vr) = self.bytes::<2>()?.map(unknown_as_un) else {
                return Ok(None);
            };
            let Some(len) = self.value_length(vr)? else {
                return Ok(None);
            };
            if len == UNDEFINED {
                return Ok(None);
            }
            if tag == tags::FILE_META_INFORMATION_GROUP_LENGTH && len == 4 {
                let Some(value) = self.u32()? else {
                    return Ok(None);
                };
                group_end = Some(self.position + u64::from(value));
            } else if tag == tags::TRANSFER_SYNTAX_UID && len <= 64 {
                let mut value = vec![0u8; len as usize];
                let read = match &mut self.cursor {
                    Cursor::Plain { reader, .. } => reader.read_exact(&mut value),
                    Cursor::Inflated { decoder, .. } => decoder.read_exact(&mut value),
                };
                if read.is_err() {
                    return Ok(None);
                }
                self.position += u64::from(len);
                self.logical += u64::from(len);
                transfer_syntax = Some(String::from_utf8_lossy(&value).into_owned());
            } else {
                self.skip(tag, len)?;
            }
        }
    }

    /// The length field after an explicit VR: 4 bytes (after 2 reserved) for the VRs of
    /// PS3.5 Table 7.1-1, else 2 bytes.
    fn value_length(&mut self, vr: VR) -> Result<Option<u32>> {
        use VR::*;
        if matches!(
            vr,
            OB | OD | OF | OL | OV | OW | SQ | SV | UC | UN | UR | UT | UV
        ) {
            if self.bytes::<2>()?.is_none() {
                return Ok(None);
            }
            self.u32()
        } else {
            Ok(self.u16()?.map(u32::from))
        }
    }

    /// Walks the data set to its end (or to Pixel Data when `stop_at_pixel_data`).
    fn data_set(&mut self, stop_at_pixel_data: bool) -> Result<()> {
        let mut open: Vec<Open> = Vec::new();
        loop {
            // Close the containers whose defined length has been walked.
            while let Some(&Open { end: Some(end), .. }) = open.last() {
                if self.logical < end {
                    break;
                }
                if self.logical > end {
                    // Contents overran their container: the parser stops here with an
                    // error, reading nothing more.
                    return Ok(());
                }
                open.pop();
            }
            match self.element(&mut open, stop_at_pixel_data)? {
                Ok(()) => {}
                Err(End) => return Ok(()),
            }
            if open.len() > self.max_depth {
                return Err(Error::limits(
                    self.path,
                    format!(
                        "sequences nested more than {} deep (at offset {})",
                        self.max_depth, self.position
                    ),
                ));
            }
        }
    }

    /// Opens a sequence or item of length `len` (checked to fit when defined).
    fn open_container(
        &mut self,
        open: &mut Vec<Open>,
        kind: Kind,
        tag: Tag,
        len: u32,
    ) -> Result<()> {
        let end = if len == UNDEFINED {
            None
        } else {
            self.fits(tag, len)?;
            Some(self.logical + u64::from(len))
        };
        open.push(Open { end, kind });
        Ok(())
    }

    /// Walks one element header (and skips its value, or opens it as a container).
    fn element(
        &mut self,
        open: &mut Vec<Open>,
        stop_at_pixel_data: bool,
    ) -> Result<std::result::Result<(), End>> {
        let (Some(group), Some(element)) = (self.u16()?, self.u16()?) else {
            return Ok(Err(End));
        };
        let tag = Tag(group, element);
        let state = open.last().map(|o| o.kind);
        if group == 0xFFFE {
            let Some(len) = self.u32()? else {
                return Ok(Err(End));
            };
            match (state, tag) {
                // Where the parser expects item headers.
                (Some(Kind::Sequence), ITEM) => self.open_container(open, Kind::Item, tag, len)?,
                // The parser pops its innermost container on either delimiter here,
                // whatever that container's length.
                (Some(Kind::Sequence | Kind::Fragments), ITEM_END | SEQUENCE_END) => {
                    open.pop();
                }
                (Some(Kind::Sequence), _) => return Ok(Err(End)), // the parser stops here
                (Some(Kind::Fragments), ITEM) => self.skip(tag, len)?,
                (Some(Kind::Fragments), _) => return Ok(Err(End)),
                // Between elements the parser takes an item end as closing the open item
                // (and ignores it at the top level); any other (FFFE,xxxx) header, items
                // included, is an element: a value of its length, or a sequence when
                // that is undefined.
                (_, ITEM_END) => {
                    open.pop();
                }
                (_, _) if len == UNDEFINED => {
                    self.open_container(open, Kind::Sequence, tag, len)?;
                }
                (_, _) => self.skip(tag, len)?,
            }
            return Ok(Ok(()));
        }
        if state == Some(Kind::Sequence) || state == Some(Kind::Fragments) {
            // An element header where an item header must be: the parser stops with an
            // error, allocating nothing more.
            return Ok(Err(End));
        }
        // The index pass's parser stops at Pixel Data only at the top level: inside an
        // item it leaves the item there but goes on reading the element's value.
        if stop_at_pixel_data && open.is_empty() && tag >= tags::PIXEL_DATA {
            return Ok(Err(End));
        }
        let (vr, len) = if self.encoding.explicit_vr {
            let Some(vr) = self.bytes::<2>()?.map(unknown_as_un) else {
                return Ok(Err(End));
            };
            let Some(len) = self.value_length(vr)? else {
                return Ok(Err(End));
            };
            (Some(vr), len)
        } else {
            let Some(len) = self.u32()? else {
                return Ok(Err(End));
            };
            (Some(implicit_vr(tag)), len)
        };
        if len == UNDEFINED {
            // Whatever its VR, the parser reads any undefined-length element other than
            // Pixel Data as a sequence in the same encoding (even UN, whose contents the
            // standard says are implicit VR), so the walk must follow it the same way.
            let kind = if tag == tags::PIXEL_DATA {
                Kind::Fragments
            } else {
                Kind::Sequence
            };
            self.open_container(open, kind, tag, len)?;
        } else if vr == Some(VR::SQ) {
            self.open_container(open, Kind::Sequence, tag, len)?;
        } else {
            self.skip_read(tag, len, value_bytes_read(vr, len))?;
        }
        Ok(Ok(()))
    }
}

/// Inflates and discards up to `len` bytes; returns how many the stream yielded before
/// its end or a corrupt block.
fn inflate_up_to(decoder: &mut impl Read, len: u64) -> u64 {
    let mut buf = [0u8; 8192];
    let mut copied = 0u64;
    while copied < len {
        let want = usize::try_from((len - copied).min(buf.len() as u64)).unwrap_or(buf.len());
        match decoder.read(buf.get_mut(..want).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => copied += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    copied
}

/// A VR field as the parser reads it: an unknown code is taken as UN (4-byte length).
fn unknown_as_un(code: [u8; 2]) -> VR {
    VR::from_binary(code).unwrap_or(VR::UN)
}

/// The VR an implicit-VR parser gives `tag`: the standard dictionary's, a choice of VRs
/// resolved to US or OW, OW for Pixel Data and overlay data, UN for an unknown tag.
fn implicit_vr(tag: Tag) -> VR {
    if tag == tags::PIXEL_DATA || (tag.0 >> 8 == 0x60 && tag.1 == 0x3000) {
        return VR::OW;
    }
    StandardDataDictionary
        .by_tag(tag)
        .map_or(VR::UN, |entry| entry.vr().relaxed())
}

/// How many bytes of a value of `len` bytes the parser reads: binary numbers are read
/// whole, `len` divided by the number size, so the odd bytes of a 2-byte SL or a 5-byte
/// US are left in the stream (found by fuzzing: the next header is then read from
/// there, off by those bytes, while the parser's position counts all `len`).
fn value_bytes_read(vr: Option<VR>, len: u32) -> u32 {
    use VR::*;
    let size = match vr {
        Some(US | OW | SS) => 2,
        Some(AT | FL | OF | SL | UL | OL) => 4,
        Some(FD | OD | SV | UV | OV) => 8,
        _ => 1,
    };
    len - len % size
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit_le() -> Encoding {
        Encoding::of(uids::EXPLICIT_VR_LITTLE_ENDIAN)
    }

    fn element(tag: Tag, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(tag.0.to_le_bytes());
        out.extend(tag.1.to_le_bytes());
        out.extend(vr);
        out.extend((value.len() as u16).to_le_bytes());
        out.extend(value);
        out
    }

    fn check(bytes: &[u8], encoding: Encoding, stop: bool) -> Result<()> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.dcm");
        std::fs::write(&path, bytes).unwrap();
        check_lengths(&path, Start::Bare(encoding), stop, &Limits::default())
    }

    #[test]
    fn encodings_follow_the_parser_registry() {
        let deflated = Encoding::of(uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN);
        assert!(deflated.deflated && deflated.explicit_vr && !deflated.big_endian);
        // JPIP HTJ2K Referenced Deflate: the parser inflates it, so must the walk.
        assert!(Encoding::of("1.2.840.10008.1.2.4.205\0").deflated);
        let implicit = Encoding::of(uids::IMPLICIT_VR_LITTLE_ENDIAN);
        assert!(!implicit.explicit_vr && !implicit.deflated);
        assert!(Encoding::of(super::super::open::EXPLICIT_VR_BIG_ENDIAN).big_endian);
        assert_eq!(Encoding::of(uids::JPEG2000_LOSSLESS), explicit_le());
        assert_eq!(Encoding::of("1.2.3.4.unknown"), explicit_le());
    }

    #[test]
    fn huge_length_before_a_corrupt_deflate_stream_is_rejected() {
        use std::io::Write;
        // An OB element declaring 2 GB, then a little data, deflated; the stream is then
        // cut and its tail overwritten, so inflating fails soon after the header. The
        // parser would zero-fill the 2 GB before finding out.
        let mut plain = element(tags::PATIENT_ID, b"LO", b"P1");
        plain.extend(tags::PIXEL_DATA.0.to_le_bytes());
        plain.extend(tags::PIXEL_DATA.1.to_le_bytes());
        plain.extend(b"OB\0\0");
        plain.extend(0x7FFF_FFF0u32.to_le_bytes());
        plain.extend((0..4000u32).map(|i| (i * 7919 % 251) as u8));
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&plain).unwrap();
        let mut deflated = encoder.finish().unwrap();
        let keep = deflated.len() / 2;
        deflated.truncate(keep);
        deflated.extend([0xFF; 64]);
        let encoding = Encoding::of(uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN);
        let err = check(&deflated, encoding, false).unwrap_err().to_string();
        assert!(err.contains("declares 2147483632 bytes"), "{err}");
    }

    /// An (FFFE,xxxx) header: tag and a 4-byte length, no VR.
    fn delimiter(element: u16, len: u32) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(0xFFFEu16.to_le_bytes());
        out.extend(element.to_le_bytes());
        out.extend(len.to_le_bytes());
        out
    }

    #[test]
    fn huge_lengths_on_delimiters_and_unknown_item_tags_are_rejected() {
        // Between elements the parser reads these as values of their length (an item end
        // is the one it takes as a delimiter there).
        for element in [0xE0DD, 0xE000, 0x1234] {
            let mut bytes = element_bytes_ok();
            bytes.extend(delimiter(element, 0x7FFF_FFF0));
            bytes.extend([0u8; 16]);
            let err = check(&bytes, explicit_le(), false).unwrap_err().to_string();
            assert!(
                err.contains("declares 2147483632 bytes"),
                "{element:04X}: {err}"
            );
        }
        // A zero-length delimiter is harmless.
        let mut bytes = element_bytes_ok();
        bytes.extend(delimiter(0xE0DD, 0));
        bytes.extend(element(tags::PATIENT_ID, b"LO", b"P2"));
        check(&bytes, explicit_le(), false).unwrap();
    }

    fn element_bytes_ok() -> Vec<u8> {
        element(tags::PATIENT_ID, b"LO", b"P1")
    }

    #[test]
    fn an_item_between_elements_is_a_value_not_a_container() {
        // Found by fuzzing (a DICOMDIR record item nested directly in an item): the parser
        // reads such an "item" as a value of its length and the next header after it.
        let huge_header = |group: u16| {
            let mut h = Vec::new();
            h.extend(group.to_le_bytes());
            h.extend(0x0010u16.to_le_bytes());
            h.extend(b"UN\0\0");
            h.extend(0x7FFF_FFF0u32.to_le_bytes());
            h
        };
        let mut bytes = element_bytes_ok();
        bytes.extend(delimiter(0xE000, 12));
        bytes.extend(huge_header(0x0009)); // inside the value: never read as a header
        let mut ok = bytes.clone();
        ok.extend(element(Tag(0x0008, 0x0060), b"CS", b"MR"));
        check(&ok, explicit_le(), false).unwrap();
        bytes.extend(huge_header(0x0011)); // the next header the parser reads
        let err = check(&bytes, explicit_le(), false).unwrap_err().to_string();
        assert!(
            err.contains("(0011,0010) declares 2147483632 bytes"),
            "{err}"
        );
    }

    #[test]
    fn the_odd_bytes_of_a_binary_number_stay_in_the_stream() {
        // Found by fuzzing: SamplesPerPixel re-typed SL with length 2. The parser reads
        // 2 / 4 = 0 numbers, so its next header starts at the 2 value bytes.
        let mut bytes = element(tags::SAMPLES_PER_PIXEL, b"SL", &[0x01, 0x00]);
        bytes.extend(0x0028u16.to_le_bytes()); // with the value's 01 00: tag (0001,0028)
        bytes.extend(b"\x04\x00CS"); // VR "\x04\x00" (unknown: UN), then 2 reserved bytes
        bytes.extend(0x4F4D_000Cu32.to_le_bytes()); // the length the parser then reads
        bytes.extend([0u8; 32]);
        let err = check(&bytes, explicit_le(), false).unwrap_err().to_string();
        assert!(
            err.contains("(0001,0028) declares 1330446348 bytes"),
            "{err}"
        );
        assert_eq!(value_bytes_read(Some(VR::SL), 2), 0);
        assert_eq!(value_bytes_read(Some(VR::US), 5), 4);
        assert_eq!(value_bytes_read(Some(VR::FD), 20), 16);
        assert_eq!(value_bytes_read(Some(VR::OB), 5), 5);
        assert_eq!(value_bytes_read(Some(VR::CS), 3), 3);
    }

    #[test]
    fn well_formed_data_set_passes() {
        let mut bytes = element(tags::PATIENT_ID, b"LO", b"ABC ");
        bytes.extend(element(tags::ROWS, b"US", &4u16.to_le_bytes()));
        assert!(check(&bytes, explicit_le(), false).is_ok());
    }

    #[test]
    fn length_past_the_end_is_rejected_and_names_the_file() {
        let mut bytes = element(tags::PATIENT_ID, b"LO", b"ABC ");
        // OB with a 4-byte length of 3.7 GB and 2 bytes of value.
        bytes.extend([0x09, 0x00, 0x10, 0x00, b'O', b'B', 0, 0]);
        bytes.extend(0xE000_0000u32.to_le_bytes());
        bytes.extend([1, 2]);
        let err = check(&bytes, explicit_le(), false).unwrap_err();
        assert_eq!(err.category(), "decoding");
        assert!(err.to_string().contains("x.dcm"), "{err}");
        assert!(err.to_string().contains("3758096384 bytes"), "{err}");
    }

    #[test]
    fn header_walk_stops_at_pixel_data() {
        let mut bytes = element(tags::PATIENT_ID, b"LO", b"ABC ");
        bytes.extend([0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0]);
        bytes.extend(0xFFFF_FFF0u32.to_le_bytes());
        assert!(check(&bytes, explicit_le(), true).is_ok());
        assert!(check(&bytes, explicit_le(), false).is_err());
    }

    #[test]
    fn deep_nesting_is_a_limits_error() {
        let mut bytes = Vec::new();
        for _ in 0..1000 {
            // (0008,1115) SQ of undefined length, then an item of undefined length.
            bytes.extend([0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0]);
            bytes.extend(UNDEFINED.to_le_bytes());
            bytes.extend([0xFE, 0xFF, 0x00, 0xE0]);
            bytes.extend(UNDEFINED.to_le_bytes());
        }
        let err = check(&bytes, explicit_le(), false).unwrap_err();
        assert_eq!(err.category(), "limits", "{err}");
    }

    #[test]
    fn fragments_are_skipped_not_walked() {
        // Encapsulated pixel data whose fragment bytes look like a huge element header.
        let mut bytes = vec![0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0];
        bytes.extend(UNDEFINED.to_le_bytes());
        bytes.extend([0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]); // empty offset table
        bytes.extend([0xFE, 0xFF, 0x00, 0xE0, 12, 0, 0, 0]);
        bytes.extend([
            0x09, 0x00, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0x7F,
        ]);
        bytes.extend([0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        assert!(check(&bytes, explicit_le(), false).is_ok());
        // The same fragment claiming more bytes than follow is caught.
        let at = bytes.len() - 8 - 12 - 4;
        bytes.splice(at..at + 4, 200u32.to_le_bytes());
        assert!(check(&bytes, explicit_le(), false).is_err());
    }

    #[test]
    fn implicit_vr_sequences_are_walked_via_the_dictionary() {
        let mut bytes = Vec::new();
        // (0008,1115) ReferencedSeriesSequence, defined length 20: one item of 12 bytes
        // holding an element that claims 2 GB.
        bytes.extend([0x08, 0x00, 0x15, 0x11]);
        bytes.extend(20u32.to_le_bytes());
        bytes.extend([0xFE, 0xFF, 0x00, 0xE0]);
        bytes.extend(12u32.to_le_bytes());
        bytes.extend([0x08, 0x00, 0x3E, 0x10]);
        bytes.extend(0x7FFF_FFF0u32.to_le_bytes());
        bytes.extend([b'A', b'B', b'C', b'D']);
        let implicit = Encoding::of(uids::IMPLICIT_VR_LITTLE_ENDIAN);
        assert!(check(&bytes, implicit, false).is_err());
    }
}
