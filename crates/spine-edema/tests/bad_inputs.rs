//! The `bad/` corpus: hostile inputs written by the test itself into a temporary
//! `bad/<case>/` tree, each run through the public API (`ingest::index_paths`,
//! `ingest::decode_series`, `load::discover` + `load::load_exam`) and checked against the
//! outcome it must have: a typed error of the expected category that names the file (or,
//! for series-level geometry errors, the series and its folder), or an explicit
//! acceptance. Nothing may panic or hang.
//!
//! The table of outcomes is printed (`cargo test -p spine-edema --test bad_inputs --
//! --nocapture`) and kept in `docs/reliability.md`; the test checks that every row of the
//! doc agrees with what ran, and `SPINE_EDEMA_BLESS=1` rewrites the table there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad_support;
mod ingest_support;

use bad_support::{Expect, Observed, Stage, edit, pixel_data_offset, run_case};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use ingest_support::{Spec, write_hostile_header, write_series, write_slice};
use std::path::Path;

/// The six-slice synthetic STIR series every case starts from, files `IM0000`..`IM0005`.
fn valid_series(dir: &Path) {
    write_series(dir, &Spec::default(), &[3, 0, 5, 1, 4, 2]);
}

/// The bytes of the valid slice `IM0003` of [`valid_series`], and its pixel offset.
fn slice_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("IM0003")).unwrap()
}

/// One hostile input: how to build it and what must happen.
struct Case {
    name: String,
    build: Box<dyn Fn(&Path)>,
    expect: Expect,
}

fn case(name: impl Into<String>, expect: Expect, build: impl Fn(&Path) + 'static) -> Case {
    Case {
        name: name.into(),
        build: Box::new(build),
        expect,
    }
}

/// Truncations of slice `IM0003` of an otherwise valid series at offsets spread over the
/// preamble, the meta group, the data set header, the Pixel Data element header and the
/// pixel values. A cut in the header makes the file unreadable (skipped at indexing, the
/// series decodes without it); a cut in the pixels — or one that leaves only part of the
/// Pixel Data tag, which the parser takes for the end of the data set — fails the whole
/// series at decode, naming the file: a series is never scored with a slice missing
/// because its pixels were cut short.
fn truncations() -> Vec<Case> {
    let probe = tempfile::tempdir().unwrap();
    valid_series(probe.path());
    let bytes = slice_bytes(probe.path());
    let pixels = pixel_data_offset(&bytes);
    let len = bytes.len();
    let at = |offset: usize, where_: &str, expect: Expect| {
        case(
            format!("truncated at byte {offset} of {len} ({where_})"),
            expect,
            move |dir: &Path| {
                valid_series(dir);
                let path = dir.join("IM0003");
                let mut bytes = std::fs::read(&path).unwrap();
                bytes.truncate(offset);
                std::fs::write(&path, bytes).unwrap();
            },
        )
    };
    let header = || Expect::err(Stage::Index, "decoding", "IM0003").with_survivors(5);
    let pixel = || Expect::err(Stage::Decode, "decoding", "IM0003");
    vec![
        at(0, "empty file", header()),
        at(1, "inside the preamble", header()),
        at(100, "inside the preamble", header()),
        at(130, "inside the magic code", header()),
        at(132, "after the magic code", header()),
        at(140, "inside the meta group length", header()),
        at(200, "inside the meta group", header()),
        at(pixels / 2, "inside the data set", header()),
        at(pixels + 2, "inside the Pixel Data tag", pixel()),
        at(pixels + 10, "inside the Pixel Data length", header()),
        at(pixels + 12, "no pixel values", pixel()),
        at(pixels + 13, "one pixel byte", pixel()),
        at((pixels + len) / 2, "half the pixels", pixel()),
        at(len - 1, "last byte missing", pixel()),
    ]
}

fn cases() -> Vec<Case> {
    let mut cases = truncations();
    cases.extend([
        case(
            "non-DICOM text file named .dcm",
            Expect::err(Stage::Index, "decoding", "notes.dcm").with_survivors(6),
            |dir| {
                valid_series(dir);
                std::fs::write(dir.join("notes.dcm"), "Patient called, will bring CD.\n").unwrap();
            },
        ),
        case(
            "random bytes named .dcm",
            Expect::err(Stage::Index, "decoding", "noise.dcm").with_survivors(6),
            |dir| {
                valid_series(dir);
                let noise: Vec<u8> = (0..4096u32)
                    .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                    .collect();
                std::fs::write(dir.join("noise.dcm"), noise).unwrap();
            },
        ),
        case("empty folder", Expect::Empty, |dir| {
            std::fs::create_dir_all(dir).unwrap();
        }),
        case(
            "symbolic link loop (link to its own folder)",
            Expect::err(Stage::Index, "unsupported", "loop").with_survivors(6),
            |dir| {
                valid_series(dir);
                std::os::unix::fs::symlink(".", dir.join("loop")).unwrap();
            },
        ),
        case(
            "dangling symbolic link",
            Expect::err(Stage::Index, "io", "dangling").with_survivors(6),
            |dir| {
                valid_series(dir);
                std::os::unix::fs::symlink("does-not-exist", dir.join("dangling")).unwrap();
            },
        ),
        case(
            "unreadable file (mode 000)",
            Expect::unreadable(Stage::Index, "IM0003"),
            |dir| {
                valid_series(dir);
                bad_support::set_mode(&dir.join("IM0003"), 0o000);
            },
        ),
        case(
            "unreadable subfolder (mode 000)",
            Expect::unreadable(Stage::Index, "locked"),
            |dir| {
                valid_series(dir);
                let locked = dir.join("locked");
                write_series(
                    &locked,
                    &Spec {
                        series_uid: "2.25.3003".into(),
                        ..Spec::default()
                    },
                    &[0, 1],
                );
                bad_support::set_mode(&locked, 0o000);
            },
        ),
        case(
            "header claims 65535 × 65535 × 10000 frames",
            Expect::err(Stage::Index, "limits", "huge.dcm").with_survivors(6),
            |dir| {
                valid_series(dir);
                write_hostile_header(&Spec::default(), &dir.join("huge.dcm"));
            },
        ),
        case(
            "Pixel Data length field inflated to 4 GB",
            Expect::err(Stage::Decode, "decoding", "IM0003"),
            |dir| {
                valid_series(dir);
                bad_support::inflate_pixel_length(&dir.join("IM0003"));
            },
        ),
        case(
            "implicit-VR element length inflated to 2 GB",
            Expect::err(Stage::Index, "decoding", "IM0003").with_survivors(5),
            |dir| {
                let spec = Spec {
                    framing: ingest_support::Framing::Bare,
                    ..Spec::default()
                };
                write_series(dir, &spec, &[3, 0, 5, 1, 4, 2]);
                bad_support::inflate_implicit_length(&dir.join("IM0003"));
            },
        ),
        case(
            "missing ImagePositionPatient",
            Expect::err(Stage::Decode, "geometry", "IM0003"),
            |dir| {
                valid_series(dir);
                edit(&dir.join("IM0003"), |obj| {
                    obj.remove_element(tags::IMAGE_POSITION_PATIENT);
                });
            },
        ),
        case(
            "missing ImageOrientationPatient",
            Expect::err(Stage::Decode, "geometry", "IM0003"),
            |dir| {
                valid_series(dir);
                edit(&dir.join("IM0003"), |obj| {
                    obj.remove_element(tags::IMAGE_ORIENTATION_PATIENT);
                });
            },
        ),
        case(
            "missing PixelSpacing",
            Expect::err(Stage::Decode, "geometry", "IM0003"),
            |dir| {
                valid_series(dir);
                edit(&dir.join("IM0003"), |obj| {
                    obj.remove_element(tags::PIXEL_SPACING);
                });
            },
        ),
        case(
            "zero PixelSpacing in every file",
            Expect::err(
                Stage::Decode,
                "geometry",
                "bad/zero-pixelspacing-in-every-file",
            ),
            |dir| {
                valid_series(dir);
                for_each_file(dir, |path| {
                    edit(path, |obj| {
                        put_text(obj, tags::PIXEL_SPACING, VR::DS, "0\\0")
                    });
                });
            },
        ),
        case(
            "zero slice spacing (every slice at one position)",
            Expect::err(Stage::Decode, "geometry", "bad/zero-slice-spacing"),
            |dir| {
                let spec = Spec {
                    spacing_mm: 0.0,
                    ..Spec::default()
                };
                write_series(dir, &spec, &[3, 0, 5, 1, 4, 2]);
            },
        ),
        case(
            "RescaleSlope \"NaN\"",
            Expect::err(Stage::Index, "decoding", "IM0003").with_survivors(5),
            |dir| {
                valid_series(dir);
                edit(&dir.join("IM0003"), |obj| {
                    put_text(obj, tags::RESCALE_SLOPE, VR::DS, "NaN");
                });
            },
        ),
        case(
            "RescaleSlope \"abc\" (not a number)",
            Expect::err(Stage::Index, "decoding", "IM0003").with_survivors(5),
            |dir| {
                valid_series(dir);
                edit(&dir.join("IM0003"), |obj| {
                    put_text(obj, tags::RESCALE_SLOPE, VR::DS, "abc");
                });
            },
        ),
        case(
            "RescaleIntercept \"inf\"",
            Expect::err(Stage::Index, "decoding", "IM0003").with_survivors(5),
            |dir| {
                valid_series(dir);
                edit(&dir.join("IM0003"), |obj| {
                    put_text(obj, tags::RESCALE_INTERCEPT, VR::DS, "inf");
                });
            },
        ),
        case(
            "ImagePositionPatient with a NaN component",
            Expect::err(Stage::Decode, "geometry", "IM0003"),
            |dir| {
                valid_series(dir);
                edit(&dir.join("IM0003"), |obj| {
                    put_text(obj, tags::IMAGE_POSITION_PATIENT, VR::DS, "0\\NaN\\0");
                });
            },
        ),
        case(
            "inconsistent Rows within the series",
            Expect::err(Stage::Decode, "geometry", "bad/inconsistent-rows"),
            |dir| {
                valid_series(dir);
                let spec = Spec {
                    rows: 7,
                    ..Spec::default()
                };
                write_slice(&spec, 3, 3, &dir.join("IM0000"));
            },
        ),
        case(
            "duplicate slice positions (two instances of one slice)",
            Expect::err(Stage::Decode, "geometry", "bad/duplicate-slice-positions"),
            |dir| {
                valid_series(dir);
                let spec = Spec {
                    sop_offset: 100,
                    ..Spec::default()
                };
                write_slice(&spec, 2, 7, &dir.join("IM0006"));
            },
        ),
        case(
            "duplicate SOPInstanceUID (same file copied)",
            Expect::err(Stage::Index, "unsupported", "IM0003-copy").with_survivors(6),
            |dir| {
                valid_series(dir);
                std::fs::copy(dir.join("IM0003"), dir.join("IM0003-copy")).unwrap();
            },
        ),
        case(
            "mixed orientations in one series",
            Expect::err(Stage::Decode, "geometry", "bad/mixed-orientations"),
            |dir| {
                valid_series(dir);
                edit(&dir.join("IM0003"), |obj| {
                    put_text(
                        obj,
                        tags::IMAGE_ORIENTATION_PATIENT,
                        VR::DS,
                        "1\\0\\0\\0\\1\\0",
                    );
                });
            },
        ),
        case(
            "ImageOrientationPatient not orthogonal",
            Expect::err(Stage::Decode, "geometry", "bad/imageorientationpatient"),
            |dir| {
                valid_series(dir);
                for_each_file(dir, |path| {
                    edit(path, |obj| {
                        put_text(
                            obj,
                            tags::IMAGE_ORIENTATION_PATIENT,
                            VR::DS,
                            "0\\1\\0\\0\\1\\0",
                        );
                    });
                });
            },
        ),
        case(
            "wrong VR: Rows as IS text \"4\" (tolerated)",
            Expect::ok(6),
            |dir| {
                valid_series(dir);
                for_each_file(dir, |path| {
                    edit(path, |obj| put_text(obj, tags::ROWS, VR::IS, "4"));
                });
            },
        ),
        case(
            "wrong VR: PixelSpacing as FD binary (tolerated)",
            Expect::ok(6),
            |dir| {
                valid_series(dir);
                for_each_file(dir, |path| {
                    edit(path, |obj| {
                        obj.put(DataElement::new(
                            tags::PIXEL_SPACING,
                            VR::FD,
                            PrimitiveValue::from([0.8f64, 0.7]),
                        ));
                    });
                });
            },
        ),
        case(
            "wrong VR: ImagePositionPatient as a sequence",
            Expect::err(Stage::Decode, "geometry", "IM0003"),
            |dir| {
                valid_series(dir);
                edit(&dir.join("IM0003"), |obj| {
                    obj.put(DataElement::new(
                        tags::IMAGE_POSITION_PATIENT,
                        VR::SQ,
                        DataSetSequence::from(Vec::<dicom_object::InMemDicomObject>::new()),
                    ));
                });
            },
        ),
        case(
            "wrong VR: Rows as UN of 3 bytes",
            Expect::err(Stage::Index, "unsupported", "IM0003").with_survivors(5),
            |dir| {
                valid_series(dir);
                edit(&dir.join("IM0003"), |obj| {
                    obj.put(DataElement::new(
                        tags::ROWS,
                        VR::UN,
                        PrimitiveValue::from(vec![4u8, 0, 0]),
                    ));
                });
            },
        ),
        case(
            "NumberOfFrames \"many\"",
            Expect::err(Stage::Index, "decoding", "IM0003").with_survivors(5),
            |dir| {
                valid_series(dir);
                edit(&dir.join("IM0003"), |obj| {
                    put_text(obj, tags::NUMBER_OF_FRAMES, VR::IS, "many");
                });
            },
        ),
        case(
            "Rows 0",
            Expect::err(Stage::Index, "decoding", "IM0003").with_survivors(5),
            |dir| {
                valid_series(dir);
                edit(&dir.join("IM0003"), |obj| {
                    obj.put(DataElement::new(
                        tags::ROWS,
                        VR::US,
                        PrimitiveValue::from(0u16),
                    ));
                });
            },
        ),
        case(
            "BitsStored greater than BitsAllocated",
            Expect::err(Stage::Decode, "decoding", "IM0003"),
            |dir| {
                valid_series(dir);
                edit(&dir.join("IM0003"), |obj| {
                    obj.put(DataElement::new(
                        tags::BITS_STORED,
                        VR::US,
                        PrimitiveValue::from(20u16),
                    ));
                });
            },
        ),
        case(
            "Pixel Data shorter than Rows × Columns",
            Expect::err(Stage::Decode, "decoding", "IM0003"),
            |dir| {
                valid_series(dir);
                edit(&dir.join("IM0003"), |obj| {
                    obj.put(DataElement::new(
                        tags::PIXEL_DATA,
                        VR::OW,
                        PrimitiveValue::U16(vec![1u16; 7].into()),
                    ));
                });
            },
        ),
        case(
            "no Pixel Data element",
            Expect::err(Stage::Decode, "decoding", "IM0003"),
            |dir| {
                valid_series(dir);
                edit(&dir.join("IM0003"), |obj| {
                    obj.remove_element(tags::PIXEL_DATA);
                });
            },
        ),
        case(
            "missing SeriesInstanceUID",
            Expect::err(Stage::Index, "decoding", "IM0003").with_survivors(5),
            |dir| {
                valid_series(dir);
                edit(&dir.join("IM0003"), |obj| {
                    obj.remove_element(tags::SERIES_INSTANCE_UID);
                });
            },
        ),
        case(
            "colour (RGB) image in the series",
            Expect::err(Stage::Decode, "unsupported", "IM0003"),
            |dir| {
                valid_series(dir);
                edit(&dir.join("IM0003"), |obj| {
                    obj.put(DataElement::new(
                        tags::SAMPLES_PER_PIXEL,
                        VR::US,
                        PrimitiveValue::from(3u16),
                    ));
                    put_text(obj, tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "RGB");
                });
            },
        ),
        case(
            "sequences nested 20 000 deep",
            Expect::err(Stage::Index, "limits", "nested.dcm").with_survivors(6),
            |dir| {
                valid_series(dir);
                bad_support::write_nested_sequences(&dir.join("nested.dcm"), 20_000);
            },
        ),
        fuzz_case(
            "fuzz: RLE segment decoding past the frame (dicom-rs panic)",
            "rle-segment-past-frame.dcm",
            Expect::err(Stage::Decode, "decoding", "rle-segment-past-frame.dcm").with_survivors(6),
        ),
        case(
            "fuzz: JPEG 2000 codestream larger than Rows × Columns (dicom-rs panic)",
            Expect::err(Stage::Decode, "decoding", "IM0003"),
            |dir| {
                valid_series(dir);
                // The fuzzer's input is gone with its run; this rebuilds the same
                // mismatch: a 4 × 5 slice whose one fragment is a 16 × 16 codestream.
                let codestream = std::fs::read(fuzz_file("codestream-16x16.j2k")).unwrap();
                bad_support::edit_file(&dir.join("IM0003"), |obj| {
                    obj.update_meta(|meta| {
                        meta.transfer_syntax = "1.2.840.10008.1.2.4.90".to_string();
                    });
                    obj.put(DataElement::new(
                        tags::PIXEL_DATA,
                        VR::OB,
                        dicom_core::value::PixelFragmentSequence::new_fragments(vec![codestream]),
                    ));
                });
            },
        ),
        case(
            "deflated data set: 2 GB element, then a corrupt deflate stream",
            Expect::err(Stage::Index, "decoding", "deflated.dcm").with_survivors(6),
            |dir| {
                valid_series(dir);
                bad_support::write_deflated_huge_length(&dir.join("deflated.dcm"));
            },
        ),
    ]);
    cases.extend(OUT_OF_STEP.map(|(name, file)| {
        fuzz_case(
            name,
            file,
            Expect::err(Stage::Index, "decoding", file).with_survivors(6),
        )
    }));
    cases.extend([
        fuzz_case(
            "fuzz: UN of undefined length, parsed as explicit VR (3.7 GB claim)",
            "un-sequence-3-7-gb.dcm",
            Expect::err(Stage::Index, "decoding", "un-sequence-3-7-gb.dcm").with_survivors(6),
        ),
        fuzz_case(
            "fuzz: mutated length field in a 1303-byte file",
            "mutated-length-1303-bytes.dcm",
            Expect::err(Stage::Index, "decoding", "mutated-length-1303-bytes.dcm")
                .with_survivors(6),
        ),
        fuzz_case(
            "fuzz: file that took 960 MB before the length check",
            "slow-960-mb.dcm",
            Expect::err(Stage::Index, "decoding", "slow-960-mb.dcm").with_survivors(6),
        ),
        fuzz_case(
            "fuzz: meta group element renumbered, data set claims 1.9 GB",
            "meta-group-element-renumbered.dcm",
            Expect::err(
                Stage::Index,
                "decoding",
                "meta-group-element-renumbered.dcm",
            )
            .with_survivors(6),
        ),
        fuzz_case(
            "fuzz: 1.4 GB element past the Pixel Data tag inside an item",
            "huge-element-after-pixel-tag-in-item.dcm",
            Expect::err(
                Stage::Index,
                "decoding",
                "huge-element-after-pixel-tag-in-item.dcm",
            )
            .with_survivors(6),
        ),
        case(
            "structured report among the images",
            Expect::err(Stage::Index, "unsupported", "report.dcm").with_survivors(6),
            |dir| {
                valid_series(dir);
                ingest_support::write_sr(&dir.join("report.dcm"));
            },
        ),
    ]);
    cases
}

/// Fuzz inputs (row name, file) on which dicom-parser and the length pre-check read the
/// file out of step, so the parser allocated a length the pre-check never saw
/// (`docs/reliability.md`). Each is a bad-input row and all are in the memory probe.
const OUT_OF_STEP: [(&str, &str); 10] = [
    (
        "fuzz: implicit VR, parser and pre-check out of step (4.2 GB claim)",
        "implicit-vr-misread-4-2-gb.dcm",
    ),
    (
        "fuzz: implicit VR, parser and pre-check out of step (1.2 GB claim)",
        "implicit-vr-misread-1-2-gb.dcm",
    ),
    (
        "fuzz: explicit VR, parser and pre-check out of step (1.3 GB claim)",
        "explicit-vr-misread-1-3-gb.dcm",
    ),
    (
        "fuzz: DICOMDIR record item directly inside an item (3.8 GB claim)",
        "dicomdir-item-in-item-3-8-gb.dcm",
    ),
    (
        "fuzz: SamplesPerPixel as a 2-byte SL (1.3 GB claim)",
        "sl-of-two-bytes-1-3-gb.dcm",
    ),
    (
        "fuzz: big endian, parser and pre-check out of step (1.4 GB claim)",
        "big-endian-misread-1-4-gb.dcm",
    ),
    (
        "fuzz: implicit VR, parser and pre-check out of step (second 1.2 GB claim)",
        "implicit-vr-misread-1-2-gb-b.dcm",
    ),
    (
        "fuzz: JPEG 2000 file, parser and pre-check out of step (1.2 GB claim)",
        "jpeg2000-file-misread-1-2-gb.dcm",
    ),
    (
        "fuzz: explicit VR, parser and pre-check out of step (1.9 GB claim)",
        "explicit-vr-misread-1-9-gb.dcm",
    ),
    (
        "fuzz: RLE file, parser and pre-check out of step (2.4 GB claim)",
        "rle-file-misread-2-4-gb.dcm",
    ),
];

/// A committed file of `tests/bad/fuzz/`.
fn fuzz_file(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/bad/fuzz")
        .join(file)
}

/// A file the fuzzer found (`tests/bad/fuzz/`), placed next to a valid series.
fn fuzz_case(name: &str, file: &'static str, expect: Expect) -> Case {
    case(name, expect, move |dir| {
        valid_series(dir);
        std::fs::copy(fuzz_file(file), dir.join(file)).unwrap();
    })
}

fn put_text(obj: &mut dicom_object::InMemDicomObject, tag: dicom_core::Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

fn for_each_file(dir: &Path, mut f: impl FnMut(&Path)) {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for path in &files {
        f(path);
    }
}

#[test]
fn every_bad_input_gives_its_expected_typed_error() {
    let _serial = bad_support::serial();
    let root = tempfile::tempdir().unwrap();
    let privileged = bad_support::mode_bits_ignored(root.path());
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for case in cases() {
        let slug = bad_support::slug(&case.name);
        let dir = root.path().join("bad").join(&slug);
        std::fs::create_dir_all(&dir).unwrap();
        (case.build)(&dir);
        let observed: Observed = run_case(&dir);
        bad_support::restore_modes(&dir);
        let expect = case.expect.resolve(privileged);
        if let Err(why) = expect.check(&observed, &dir) {
            failures.push(format!("{}: {why}\n  observed: {observed:?}", case.name));
        }
        rows.push(bad_support::row(&case.name, &observed, root.path()));
    }
    let table = bad_support::table(&rows);
    println!("{table}");
    if privileged {
        println!(
            "note: running with privileges that ignore file mode bits (root); the mode-000 \
             cases were read normally, as root would in production"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    bad_support::check_doc(&rows, privileged);
}

/// A header claiming 65535 × 65535 × 10000 frames (≈ 86 TB), and length fields inflated
/// to gigabytes, are rejected while the process grows by less than 50 MB. Measured in a
/// fresh child process (this test binary, running only [`memory_probe_child`]) so that
/// memory freed by other tests and reused by the allocator cannot hide an allocation.
#[test]
fn hostile_sizes_are_rejected_using_little_memory() {
    let _serial = bad_support::serial();
    let report = bad_support::run_memory_child("memory_probe_child");
    println!("{report}");
}

/// Run by [`hostile_sizes_are_rejected_using_little_memory`] in its own process.
#[test]
#[ignore = "run in a fresh process by hostile_sizes_are_rejected_using_little_memory"]
fn memory_probe_child() {
    bad_support::memory_probe(&[
        (
            "header claims 65535 × 65535 × 10000 frames",
            &|dir: &Path| {
                write_hostile_header(&Spec::default(), &dir.join("huge.dcm"));
            },
        ),
        ("Pixel Data length field inflated to 4 GB", &|dir: &Path| {
            valid_series(dir);
            bad_support::inflate_pixel_length(&dir.join("IM0003"));
        }),
        (
            "implicit-VR element length inflated to 2 GB",
            &|dir: &Path| {
                let spec = Spec {
                    framing: ingest_support::Framing::Bare,
                    ..Spec::default()
                };
                write_series(dir, &spec, &[0, 1]);
                bad_support::inflate_implicit_length(&dir.join("IM0001"));
            },
        ),
        (
            "deflated data set: 2 GB element, then a corrupt stream",
            &|dir: &Path| {
                bad_support::write_deflated_huge_length(&dir.join("deflated.dcm"));
            },
        ),
        (
            "fuzz: ten inputs where the parser and the pre-check fell out of step",
            &|dir: &Path| {
                for (_, file) in OUT_OF_STEP {
                    std::fs::copy(fuzz_file(file), dir.join(file)).unwrap();
                }
            },
        ),
        (
            "fuzz: UN of undefined length (3.7 GB claim)",
            &|dir: &Path| {
                std::fs::copy(fuzz_file("un-sequence-3-7-gb.dcm"), dir.join("un.dcm")).unwrap();
            },
        ),
    ]);
}
