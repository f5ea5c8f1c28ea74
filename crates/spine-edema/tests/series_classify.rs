//! Table-driven classification tests over vendor-style header examples.

use spine_edema::series::{AcquisitionParams, Contrast, Plane, classify, plane_of};

/// Sagittal ImageOrientationPatient (rows along −y … posterior→anterior, columns down −z).
const SAG: [f64; 6] = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0];
const AX: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

/// One header example.
struct Case {
    what: &'static str,
    description: &'static str,
    tr: Option<f64>,
    te: Option<f64>,
    ti: Option<f64>,
    seq: &'static [&'static str],
    options: &'static [&'static str],
    image_type: &'static [&'static str],
    seq_name: Option<&'static str>,
    field_t: Option<f64>,
    agent: Option<&'static str>,
    expect: Contrast,
    /// Inclusive confidence range.
    confidence: (f64, f64),
    /// Words the reason must contain.
    reason_has: &'static [&'static str],
}

const BASE: Case = Case {
    what: "",
    description: "",
    tr: None,
    te: None,
    ti: None,
    seq: &[],
    options: &[],
    image_type: &["ORIGINAL", "PRIMARY", "M", "ND"],
    seq_name: None,
    field_t: Some(1.5),
    agent: None,
    expect: Contrast::Other,
    confidence: (0.0, 1.0),
    reason_has: &[],
};

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn params(c: &Case) -> AcquisitionParams {
    AcquisitionParams {
        series_description: (!c.description.is_empty()).then(|| c.description.to_owned()),
        sequence_name: c.seq_name.map(str::to_owned),
        field_strength_t: c.field_t,
        repetition_time_ms: c.tr,
        echo_time_ms: c.te,
        inversion_time_ms: c.ti,
        scanning_sequence: strings(c.seq),
        scan_options: strings(c.options),
        image_type: strings(c.image_type),
        orientation: Some(SAG),
        contrast_agent: c.agent.map(str::to_owned),
        ..AcquisitionParams::default()
    }
}

fn cases() -> Vec<Case> {
    vec![
        // --- T1 -------------------------------------------------------------------
        Case {
            what: "Siemens t1_tse_sag, Dansie-like SE T1",
            description: "t1_tse_sag",
            tr: Some(450.0),
            te: Some(12.0),
            seq: &["SE"],
            seq_name: Some("*tse2d1_3"),
            expect: Contrast::T1,
            confidence: (0.9, 1.0),
            reason_has: &["TR 450 ms", "TE 12 ms", "T1", "agrees"],
            ..BASE
        },
        Case {
            what: "GE Sag T1 FSE, Voormolen TR 400 TE 13",
            description: "Sag T1 FSE",
            tr: Some(400.0),
            te: Some(13.0),
            seq: &["SE"],
            options: &["FAST_GEMS", "SAT_GEMS"],
            expect: Contrast::T1,
            confidence: (0.9, 1.0),
            ..BASE
        },
        Case {
            what: "Philips T1W_TSE",
            description: "T1W_TSE",
            tr: Some(535.0),
            te: Some(18.0),
            seq: &["SE"],
            expect: Contrast::T1,
            confidence: (0.9, 1.0),
            ..BASE
        },
        Case {
            what: "3 T T1 FSE with TR 750",
            description: "SAG T1",
            tr: Some(750.0),
            te: Some(9.5),
            seq: &["SE"],
            field_t: Some(3.0),
            expect: Contrast::T1,
            confidence: (0.9, 1.0),
            ..BASE
        },
        Case {
            what: "T1 FLAIR with TI 860: T1, not STIR",
            description: "Sag T1 FLAIR",
            tr: Some(2200.0),
            te: Some(9.0),
            ti: Some(860.0),
            seq: &["SE", "IR"],
            options: &["IR"],
            expect: Contrast::T1,
            confidence: (0.9, 1.0),
            reason_has: &["T1-FLAIR"],
            ..BASE
        },
        Case {
            what: "Siemens T1 FLAIR named tirm dark-fluid at 3 T, TI 1000",
            description: "t1_tirm_sag_dark-fluid",
            tr: Some(2000.0),
            te: Some(10.0),
            ti: Some(1000.0),
            seq: &["SE", "IR"],
            seq_name: Some("*tir2d1_5"),
            field_t: Some(3.0),
            expect: Contrast::T1,
            confidence: (0.9, 1.0),
            ..BASE
        },
        Case {
            what: "no description, parameters alone",
            tr: Some(500.0),
            te: Some(15.0),
            seq: &["SE"],
            expect: Contrast::T1,
            confidence: (0.8, 0.9),
            reason_has: &["no description"],
            ..BASE
        },
        // --- STIR -----------------------------------------------------------------
        Case {
            what: "GE SAG STIR",
            description: "SAG STIR",
            tr: Some(3500.0),
            te: Some(42.0),
            ti: Some(150.0),
            seq: &["IR"],
            options: &["FAST_GEMS", "IR_GEMS"],
            expect: Contrast::Stir,
            confidence: (0.9, 1.0),
            reason_has: &["TI 150 ms", "STIR", "typical for 1.5 T", "agrees"],
            ..BASE
        },
        Case {
            what: "Siemens t2_tirm_sag, Voormolen TR 2500 TE 70",
            description: "t2_tirm_sag",
            tr: Some(2500.0),
            te: Some(70.0),
            ti: Some(160.0),
            seq: &["SE", "IR"],
            options: &["IR"],
            seq_name: Some("*tir2d1_13"),
            expect: Contrast::Stir,
            confidence: (0.9, 1.0),
            ..BASE
        },
        Case {
            what: "Philips STIR_LongTE",
            description: "STIR_LongTE",
            tr: Some(4000.0),
            te: Some(60.0),
            ti: Some(165.0),
            seq: &["SE", "IR"],
            expect: Contrast::Stir,
            confidence: (0.9, 1.0),
            ..BASE
        },
        Case {
            what: "Siemens TIRM at 3 T, TI 230",
            reason_has: &["typical for 3 T"],
            description: "TIRM sag",
            tr: Some(4200.0),
            te: Some(38.0),
            ti: Some(230.0),
            seq: &["SE", "IR"],
            field_t: Some(3.0),
            expect: Contrast::Stir,
            confidence: (0.9, 1.0),
            ..BASE
        },
        Case {
            what: "1.0 T STIR with TI 120",
            description: "sag stir",
            tr: Some(2500.0),
            te: Some(70.0),
            ti: Some(120.0),
            seq: &["IR"],
            field_t: Some(1.0),
            expect: Contrast::Stir,
            confidence: (0.9, 1.0),
            ..BASE
        },
        Case {
            what: "IR with TI 150 named T2: parameters win, lower confidence",
            description: "sag T2",
            tr: Some(3000.0),
            te: Some(60.0),
            ti: Some(150.0),
            seq: &["SE", "IR"],
            expect: Contrast::Stir,
            confidence: (0.5, 0.7),
            reason_has: &["disagrees", "physically decisive"],
            ..BASE
        },
        Case {
            what: "STIR without TI recorded, description only",
            description: "SAG STIR",
            tr: Some(3000.0),
            te: Some(70.0),
            seq: &["SE"],
            expect: Contrast::Stir,
            confidence: (0.6, 0.85),
            ..BASE
        },
        Case {
            what: "IR flag with long TE but no TI and no description",
            tr: Some(3000.0),
            te: Some(50.0),
            seq: &["IR"],
            expect: Contrast::Stir,
            confidence: (0.4, 0.6),
            ..BASE
        },
        // --- T2 fat-suppressed ----------------------------------------------------
        Case {
            what: "T2 TR 3000 TE 100 with ScanOptions FS",
            description: "sag t2",
            tr: Some(3000.0),
            te: Some(100.0),
            seq: &["SE"],
            options: &["FS"],
            expect: Contrast::T2FatSat,
            confidence: (0.85, 1.0),
            reason_has: &["FS"],
            ..BASE
        },
        Case {
            what: "Siemens t2_tse_sag_fs, Dansie TR 3300 TE 102",
            description: "t2_tse_sag_fs",
            tr: Some(3300.0),
            te: Some(102.0),
            seq: &["SE"],
            options: &["SFS"],
            expect: Contrast::T2FatSat,
            confidence: (0.85, 1.0),
            ..BASE
        },
        Case {
            what: "Philips T2W_TSE_SPAIR, SPAIR only in the name",
            description: "T2W_TSE_SPAIR",
            tr: Some(3250.0),
            te: Some(105.0),
            seq: &["SE"],
            expect: Contrast::T2FatSat,
            confidence: (0.85, 1.0),
            reason_has: &["fat suppression"],
            ..BASE
        },
        Case {
            what: "GE sag T2 FS, FAT_SAT option",
            description: "sag T2 FS",
            tr: Some(3400.0),
            te: Some(85.0),
            seq: &["SE"],
            options: &["FAT_SAT"],
            expect: Contrast::T2FatSat,
            confidence: (0.85, 1.0),
            ..BASE
        },
        Case {
            what: "glued name SagT2FS",
            description: "SagT2FS",
            tr: Some(3400.0),
            te: Some(85.0),
            seq: &["SE"],
            expect: Contrast::T2FatSat,
            confidence: (0.85, 1.0),
            ..BASE
        },
        // --- T2 -------------------------------------------------------------------
        Case {
            what: "Siemens t2_tse_sag",
            description: "t2_tse_sag",
            tr: Some(3500.0),
            te: Some(96.0),
            seq: &["SE"],
            seq_name: Some("*tse2d1_15"),
            expect: Contrast::T2,
            confidence: (0.9, 1.0),
            ..BASE
        },
        Case {
            what: "T1 name but T2 parameters: parameters win",
            description: "sag t1",
            tr: Some(3300.0),
            te: Some(105.0),
            seq: &["SE"],
            expect: Contrast::T2,
            confidence: (0.5, 0.7),
            reason_has: &["physically decisive"],
            ..BASE
        },
        Case {
            what: "STIR name but TI 450 recorded: fat not nulled, not STIR",
            description: "stir",
            tr: Some(3000.0),
            te: Some(100.0),
            ti: Some(450.0),
            seq: &["SE", "IR"],
            expect: Contrast::Other,
            confidence: (0.4, 0.6),
            reason_has: &["neither fat-nulling", "does not null fat"],
            ..BASE
        },
        // --- Dixon ----------------------------------------------------------------
        Case {
            what: "Philips mDIXON W",
            description: "mDIXON W",
            tr: Some(3000.0),
            te: Some(80.0),
            seq: &["SE"],
            image_type: &["ORIGINAL", "PRIMARY", "W", "DIXON"],
            expect: Contrast::DixonWater,
            confidence: (0.9, 1.0),
            ..BASE
        },
        Case {
            what: "Siemens Dixon_W, ImageType WATER",
            description: "t2_tse_dixon_sag_W",
            tr: Some(3500.0),
            te: Some(95.0),
            seq: &["SE"],
            image_type: &["DERIVED", "PRIMARY", "DIXON", "WATER"],
            expect: Contrast::DixonWater,
            confidence: (0.9, 1.0),
            ..BASE
        },
        Case {
            what: "Dixon_W by description only",
            description: "Dixon_W",
            tr: Some(3500.0),
            te: Some(95.0),
            seq: &["SE"],
            expect: Contrast::DixonWater,
            confidence: (0.7, 0.9),
            ..BASE
        },
        Case {
            what: "Dixon fat image",
            description: "T2 Dixon F",
            image_type: &["DERIVED", "PRIMARY", "DIXON", "FAT"],
            tr: Some(3500.0),
            te: Some(95.0),
            expect: Contrast::DixonFat,
            confidence: (0.9, 1.0),
            ..BASE
        },
        Case {
            what: "T1 Dixon water is fat-suppressed T1, not fluid-sensitive",
            description: "t1_tse_dixon_sag_W",
            tr: Some(600.0),
            te: Some(11.0),
            seq: &["SE"],
            image_type: &["DERIVED", "PRIMARY", "DIXON", "WATER"],
            expect: Contrast::Other,
            reason_has: &["not fluid-sensitive"],
            ..BASE
        },
        Case {
            what: "Dixon opposed phase",
            description: "Dixon opp",
            image_type: &["DERIVED", "PRIMARY", "DIXON", "OUT_PHASE"],
            expect: Contrast::Other,
            ..BASE
        },
        // --- Other ----------------------------------------------------------------
        Case {
            what: "GE 3-plane localiser",
            description: "3-plane loc",
            tr: Some(5.0),
            te: Some(1.6),
            seq: &["GR"],
            expect: Contrast::Other,
            confidence: (0.8, 1.0),
            reason_has: &["localiser"],
            ..BASE
        },
        Case {
            what: "Siemens localizer image type",
            description: "AAHead_Scout",
            image_type: &["ORIGINAL", "PRIMARY", "M", "NORM", "LOCALIZER"],
            expect: Contrast::Other,
            confidence: (0.9, 1.0),
            ..BASE
        },
        Case {
            what: "Philips survey",
            description: "Survey",
            tr: Some(11.0),
            te: Some(4.6),
            expect: Contrast::Other,
            ..BASE
        },
        Case {
            what: "Siemens DWI by EP",
            description: "ep2d_diff_sag",
            tr: Some(4500.0),
            te: Some(80.0),
            seq: &["EP"],
            seq_name: Some("*ep_b800t"),
            expect: Contrast::Other,
            confidence: (0.9, 1.0),
            reason_has: &["echo-planar"],
            ..BASE
        },
        Case {
            what: "DWI with only a description",
            description: "SAG DWI b600",
            expect: Contrast::Other,
            reason_has: &["diffusion"],
            ..BASE
        },
        Case {
            what: "post-contrast T1 FS by agent",
            description: "Sag T1 FS +C",
            tr: Some(500.0),
            te: Some(12.0),
            seq: &["SE"],
            options: &["FS"],
            agent: Some("Gadovist"),
            expect: Contrast::Other,
            confidence: (0.9, 1.0),
            reason_has: &["post-contrast"],
            ..BASE
        },
        Case {
            what: "post-contrast T1 by description only",
            description: "SAG T1 POST GAD",
            tr: Some(500.0),
            te: Some(12.0),
            seq: &["SE"],
            expect: Contrast::Other,
            reason_has: &["post-contrast"],
            ..BASE
        },
        Case {
            what: "agent 'NONE' is not post-contrast",
            description: "t1_tse_sag",
            tr: Some(450.0),
            te: Some(12.0),
            seq: &["SE"],
            agent: Some("NONE"),
            expect: Contrast::T1,
            ..BASE
        },
        Case {
            what: "pre-contrast T1 with fat sat is not the marrow T1",
            description: "sag t1 fs",
            tr: Some(500.0),
            te: Some(12.0),
            seq: &["SE"],
            options: &["FS"],
            expect: Contrast::Other,
            reason_has: &["fat-suppressed T1"],
            ..BASE
        },
        Case {
            what: "T2 FLAIR (TI 2500) is not fluid-sensitive",
            description: "t2_tirm_sag_dark-fluid",
            tr: Some(9000.0),
            te: Some(90.0),
            ti: Some(2500.0),
            seq: &["SE", "IR"],
            expect: Contrast::Other,
            confidence: (0.9, 1.0),
            ..BASE
        },
        Case {
            what: "proton density",
            description: "sag PD",
            tr: Some(3000.0),
            te: Some(30.0),
            seq: &["SE"],
            expect: Contrast::Other,
            ..BASE
        },
        Case {
            what: "gradient echo T2*",
            description: "sag medic",
            tr: Some(600.0),
            te: Some(20.0),
            seq: &["GR"],
            expect: Contrast::Other,
            reason_has: &["gradient echo"],
            ..BASE
        },
        Case {
            what: "nothing known",
            expect: Contrast::Other,
            confidence: (0.0, 0.3),
            ..BASE
        },
        Case {
            what: "T12 is a level, not a weighting",
            description: "T12 level marker",
            expect: Contrast::Other,
            confidence: (0.0, 0.3),
            ..BASE
        },
    ]
}

#[test]
fn vendor_examples_classify_as_expected() {
    let mut failures = Vec::new();
    for case in cases() {
        let got = classify(&params(&case));
        let (lo, hi) = case.confidence;
        let ok = got.contrast == case.expect
            && got.confidence >= lo
            && got.confidence <= hi
            && (0.0..=1.0).contains(&got.confidence)
            && case.reason_has.iter().all(|w| got.reason.contains(w))
            && !got.reason.is_empty();
        if !ok {
            failures.push(format!(
                "{}: expected {:?} in [{lo}, {hi}], got {:?} {:.2}: {}",
                case.what, case.expect, got.contrast, got.confidence, got.reason
            ));
        }
        assert_eq!(got.plane, Plane::Sagittal, "{}", case.what);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn reason_reads_like_a_sentence() {
    let case = &cases()[0];
    let got = classify(&params(case));
    assert_eq!(
        got.reason,
        "TR 450 ms, TE 12 ms: short TR/TE spin echo → T1; description 't1_tse_sag' \
         ('t1' → T1) agrees"
    );
}

#[test]
fn planes_from_orientation() {
    assert_eq!(plane_of(&SAG), Plane::Sagittal);
    assert_eq!(plane_of(&AX), Plane::Axial);
    assert_eq!(plane_of(&[1.0, 0.0, 0.0, 0.0, 0.0, -1.0]), Plane::Coronal);
    // Sagittal slab obliqued 25° about the AP axis: still sagittal.
    let a = 25f64.to_radians();
    assert_eq!(
        plane_of(&[0.0, 1.0, 0.0, a.sin(), 0.0, -a.cos()]),
        Plane::Sagittal
    );
    // 40°: oblique.
    let a = 40f64.to_radians();
    assert_eq!(
        plane_of(&[0.0, 1.0, 0.0, a.sin(), 0.0, -a.cos()]),
        Plane::Oblique
    );
    // Degenerate orientation.
    assert_eq!(plane_of(&[0.0; 6]), Plane::Oblique);
    assert_eq!(plane_of(&[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]), Plane::Oblique);
}

#[test]
fn axial_series_keeps_its_contrast_but_not_sagittal() {
    let mut p = params(&cases()[0]);
    p.orientation = Some(AX);
    let got = classify(&p);
    assert_eq!(got.plane, Plane::Axial);
    assert_eq!(got.contrast, Contrast::T1);
}

#[test]
fn missing_orientation_is_said() {
    let mut p = params(&cases()[0]);
    p.orientation = None;
    let got = classify(&p);
    assert_eq!(got.plane, Plane::Oblique);
    assert!(got.reason.contains("no ImageOrientationPatient"));
}
