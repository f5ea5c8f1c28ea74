//! Generation of a patient in memory: design → anatomy per exam → acquisition → rendered
//! series, label maps and truth.

use crate::acquisition::{ExamAcquisition, SeriesRole, SlabOverrides, plan_exam, scanner};
use crate::anatomy::Anatomy;
use crate::dicom_out::{Identity, Syntax};
use crate::error::Result;
use crate::plan::EdemaEvent;
use crate::plan::{self, LevelState};
use crate::render::render;
use crate::rng::Rng;
use crate::truth::{
    ChangesTruth, ExamTruth, IntervalTruth, LevelChangeTruth, MotionTruth, SeriesTruth,
    level_truths, marrow_change,
};
use crate::{PhantomOptions, Preset};
use spine_edema::Volume;

/// One rendered series: stored pixel values on their grid.
#[derive(Clone, Debug)]
pub struct SeriesImage {
    /// What the series is.
    pub role: SeriesRole,
    /// SeriesInstanceUID.
    pub series_instance_uid: String,
    /// Stored values (before RescaleSlope/Intercept), `[slice, row, column]`, with the
    /// index → LPS affine of the written DICOM.
    pub volume: Volume<u16>,
    /// (RescaleSlope, RescaleIntercept) applied by readers.
    pub rescale: (f64, f64),
}

/// Truth label maps on the T1 grid.
#[derive(Clone, Debug)]
pub struct LabelVolumes {
    /// Vertebral bodies, level codes (SPEC §4).
    pub bodies: Volume<u8>,
    /// Edematous marrow (0/1).
    pub edema: Volume<u8>,
    /// Cement (0/1).
    pub cement: Volume<u8>,
}

/// Everything the writer needs beyond images and truth.
#[derive(Clone, Debug)]
pub(crate) struct WritePlan {
    pub identity: Identity,
    pub acquisition: ExamAcquisition,
    pub syntaxes: Vec<Syntax>,
    /// Per series, per slice: (file name, SOPInstanceUID).
    pub files: Vec<Vec<(String, String)>>,
}

/// One exam in memory.
#[derive(Clone, Debug)]
pub struct ExamPhantom {
    /// Folder name of the exam (`<date>_baseline`, `<date>_fu1`, …).
    pub exam_id: String,
    /// Ground truth.
    pub truth: ExamTruth,
    /// All series, T1 first.
    pub series: Vec<SeriesImage>,
    /// Label maps on the T1 grid.
    pub labels: LabelVolumes,
    pub(crate) write: WritePlan,
}

/// One patient in memory: baseline and follow-ups with truth.
#[derive(Clone, Debug)]
pub struct PatientPhantom {
    /// PatientID.
    pub patient_id: String,
    /// Coverage.
    pub preset: Preset,
    /// Exams, oldest first.
    pub exams: Vec<ExamPhantom>,
    /// Changes between every ordered pair of exams.
    pub changes: ChangesTruth,
}

/// Days since 1970-01-01 → (year, month, day) (Hinnant's civil-from-days).
pub(crate) fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn da(days: i64) -> String {
    let (y, m, d) = civil(days);
    format!("{y:04}{m:02}{d:02}")
}

fn uid(rng: &mut Rng) -> String {
    let v = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
    format!("2.25.{}", v.max(1))
}

const FAMILY: [&str; 10] = [
    "MUSTERMANN",
    "DOE",
    "ROSSI",
    "NOVAK",
    "SILVA",
    "JANSEN",
    "KOWALSKI",
    "TANAKA",
    "MARTIN",
    "NIELSEN",
];
const GIVEN_F: [&str; 6] = ["ERIKA", "JANE", "MARIA", "ANNA", "GRETE", "SOFIA"];
const GIVEN_M: [&str; 6] = ["MAX", "JOHN", "MARIO", "PETR", "JAN", "HANS"];

/// Generates a patient (baseline and follow-ups) in memory.
pub fn generate_patient(opts: &PhantomOptions) -> Result<PatientPhantom> {
    opts.validate()?;
    let mut rng = Rng::new(opts.seed, 0);
    let model = plan::patient(opts.preset, &mut rng.fork(1));
    let mut path_rng = rng.fork(2);
    let mut states: Vec<Vec<LevelState>> = vec![plan::baseline(&model, &mut path_rng)];
    let baseline_day = path_rng.int(16_071, 20_089); // 2014-01-01 … 2024-12-31
    let mut days = vec![baseline_day];
    for _ in 0..opts.followups {
        let interval = path_rng.weighted(&[
            ((14, 42), 0.2),
            ((43, 90), 0.25),
            ((91, 180), 0.25),
            ((181, 420), 0.3),
        ]);
        let d = path_rng.int(interval.0, interval.1);
        let Some(prev) = states.last() else { break };
        let next = plan::follow_up(&model, prev, d as u32, &mut path_rng);
        states.push(next);
        days.push(days[days.len() - 1] + d);
    }
    let mut acq_rng = rng.fork(3);
    let patient_id = format!("PHX{:06}", opts.seed);
    let female = model.female;
    let name = format!(
        "{}^{}",
        FAMILY[acq_rng.int(0, FAMILY.len() as i64 - 1) as usize],
        if female { GIVEN_F } else { GIVEN_M }[acq_rng.int(0, 5) as usize]
    );
    let birth_day = baseline_day - i64::from(model.age_years) * 365 - acq_rng.int(0, 364);
    let institution = format!(
        "{} SPINE CENTER",
        FAMILY[acq_rng.int(0, FAMILY.len() as i64 - 1) as usize]
    );
    let frame_and_scanner = scanner(&mut acq_rng);
    let mut exams: Vec<ExamPhantom> = Vec::new();
    let mut anatomies: Vec<Anatomy> = Vec::new();
    for (k, st) in states.iter().enumerate() {
        let scan = if k == 0 || acq_rng.chance(0.7) {
            frame_and_scanner
        } else {
            scanner(&mut acq_rng)
        };
        let anatomy = Anatomy::build(plan::spine_spec(&model, st));
        let focus = (model.anchor.0..=model.anchor.1)
            .find(|&i| st[i].fracture.is_some())
            .unwrap_or((model.anchor.0 + model.anchor.1) / 2);
        let fv = &anatomy.vertebrae[focus].frame;
        let mut uid_rng = acq_rng.fork(100 + k as u64);
        let mut next_uid = || uid(&mut uid_rng);
        let mut acquisition = plan_exam(
            &mut acq_rng,
            opts.preset,
            scan,
            SlabOverrides {
                matrix: opts.matrix,
                fluid_matrix: opts.fluid_matrix,
                slices: opts.slices,
            },
            (fv.centre, fv.sup),
            &mut next_uid,
        );
        if !opts.extra_series {
            acquisition
                .series
                .retain(|s| !matches!(s.role, SeriesRole::T2 | SeriesRole::AxialT2));
        }
        let study_uid = next_uid();
        let frame_uid = next_uid();
        let date = da(days[k]);
        let age_years = ((days[k] - birth_day) / 365) as u32;
        let identity = Identity {
            patient_id: patient_id.clone(),
            patient_name: name.clone(),
            birth_date: da(birth_day),
            sex: if female { "F" } else { "M" },
            age_years,
            study_uid: study_uid.clone(),
            frame_uid: frame_uid.clone(),
            study_date: date.clone(),
            study_time: format!(
                "{:02}{:02}{:02}",
                acq_rng.int(7, 19),
                acq_rng.int(0, 59),
                acq_rng.int(0, 59)
            ),
            accession: format!("{}", acq_rng.int(10_000_000, 99_999_999)),
            study_id: format!("{}", acq_rng.int(1000, 99_999)),
            body_part: match opts.preset {
                Preset::Thoracic => "TSPINE",
                _ => "LSPINE",
            },
            institution: institution.clone(),
        };
        let seeds: Vec<u64> = acquisition
            .series
            .iter()
            .map(|_| acq_rng.next_u64())
            .collect();
        let syntaxes: Vec<Syntax> = acquisition
            .series
            .iter()
            .map(|_| {
                if opts.compressed {
                    if acq_rng.chance(0.5) {
                        Syntax::RleLossless
                    } else {
                        Syntax::DeflatedExplicitLe
                    }
                } else if acq_rng.chance(0.2) {
                    Syntax::ImplicitLe
                } else {
                    Syntax::ExplicitLe
                }
            })
            .collect();
        let mut used = std::collections::HashSet::new();
        let files: Vec<Vec<(String, String)>> = acquisition
            .series
            .iter()
            .map(|plan| {
                (0..plan.n_slices)
                    .map(|_| {
                        let name = loop {
                            let ext = acq_rng.weighted(&[
                                ("", 0.4),
                                (".dcm", 0.4),
                                (".DCM", 0.1),
                                (".ima", 0.1),
                            ]);
                            let candidate = format!("{:016X}{ext}", acq_rng.next_u64());
                            if used.insert(candidate.clone()) {
                                break candidate;
                            }
                        };
                        (name, next_uid())
                    })
                    .collect()
            })
            .collect();
        let mut series = Vec::new();
        let mut labels = None;
        for (plan, seed) in acquisition.series.iter().zip(&seeds) {
            let want_labels = plan.role == SeriesRole::T1;
            let r = render(&anatomy, plan, acquisition.field_t, *seed, want_labels);
            let affine = plan.affine();
            if let Some(l) = r.labels {
                labels = Some(LabelVolumes {
                    bodies: Volume::new(l.bodies, affine),
                    edema: Volume::new(l.edema, affine),
                    cement: Volume::new(l.cement, affine),
                });
            }
            series.push(SeriesImage {
                role: plan.role,
                series_instance_uid: plan.series_uid.clone(),
                volume: Volume::new(r.pixels, affine),
                rescale: plan.rescale.unwrap_or((1.0, 0.0)),
            });
        }
        let t1 = &acquisition.series[0];
        let fluid = &acquisition.series[1];
        let labels = labels.unwrap_or_else(|| {
            let empty = ndarray::Array3::zeros((t1.n_slices, t1.rows, t1.cols));
            LabelVolumes {
                bodies: Volume::new(empty.clone(), t1.affine()),
                edema: Volume::new(empty.clone(), t1.affine()),
                cement: Volume::new(empty, t1.affine()),
            }
        });
        let motion = (fluid.pose * t1.pose.inverse()).to_homogeneous();
        let truth = ExamTruth {
            generator: format!("spine-edema-phantom {}", env!("CARGO_PKG_VERSION")),
            exam_id: format!(
                "{date}_{}",
                if k == 0 {
                    "baseline".to_string()
                } else {
                    format!("fu{k}")
                }
            ),
            patient_id: patient_id.clone(),
            study_instance_uid: study_uid,
            study_date: date,
            frame_of_reference_uid: frame_uid,
            t1_series_instance_uid: t1.series_uid.clone(),
            fluid_series_instance_uid: fluid.series_uid.clone(),
            fluid_contrast: fluid.role,
            series: acquisition
                .series
                .iter()
                .zip(&syntaxes)
                .map(|(p, s)| SeriesTruth {
                    series_instance_uid: p.series_uid.clone(),
                    series_number: p.series_number,
                    role: p.role,
                    series_description: p.words.series_description.clone(),
                    shape: [p.rows, p.cols, p.n_slices],
                    spacing_mm: [p.pixel_mm[0], p.pixel_mm[1], p.spacing_mm],
                    thickness_mm: p.thickness_mm,
                    transfer_syntax: s.uid().to_string(),
                })
                .collect(),
            preset: opts.preset.to_string(),
            field_strength_t: acquisition.field_t,
            vendor: acquisition.vendor,
            fluid_motion: MotionTruth {
                translation_mm: acquisition.motion_mm.into(),
                rotation_deg: acquisition.motion_deg.into(),
                lps_matrix: std::array::from_fn(|r| std::array::from_fn(|c| motion[(r, c)])),
            },
            patient_age_years: age_years,
            levels: level_truths(&anatomy, st, t1),
        };
        exams.push(ExamPhantom {
            exam_id: truth.exam_id.clone(),
            truth,
            series,
            labels,
            write: WritePlan {
                identity,
                acquisition,
                syntaxes,
                files,
            },
        });
        anatomies.push(anatomy);
    }
    let changes = changes(&patient_id, &exams, &anatomies, &states, &days);
    Ok(PatientPhantom {
        patient_id,
        preset: opts.preset,
        exams,
        changes,
    })
}

fn changes(
    patient_id: &str,
    exams: &[ExamPhantom],
    anatomies: &[Anatomy],
    states: &[Vec<LevelState>],
    days: &[i64],
) -> ChangesTruth {
    let mut intervals = Vec::new();
    for a in 0..exams.len() {
        for b in a + 1..exams.len() {
            let mut levels = Vec::new();
            for lb in &exams[b].truth.levels {
                let Some(la) = exams[a].truth.levels.iter().find(|l| l.level == lb.level) else {
                    continue;
                };
                let Some(i) = anatomies[b]
                    .vertebrae
                    .iter()
                    .position(|v| v.level == Some(lb.level))
                else {
                    continue;
                };
                let (new_e, new_n) =
                    marrow_change(&anatomies[a].vertebrae[i], &anatomies[b].vertebrae[i]);
                let before = [
                    la.height_anterior_mm,
                    la.height_middle_mm,
                    la.height_posterior_mm,
                ];
                let after = [
                    lb.height_anterior_mm,
                    lb.height_middle_mm,
                    lb.height_posterior_mm,
                ];
                let loss = [0, 1, 2].map(|k| before[k] - after[k]);
                let loss_pct = [0, 1, 2].map(|k| loss[k] / before[k] * 100.0);
                let (x, y) = (la.bme_percent, lb.bme_percent);
                let event = match (x > 0.0, y > 0.0) {
                    (false, false) => EdemaEvent::None,
                    (false, true) => EdemaEvent::New,
                    (true, false) => EdemaEvent::Resolved,
                    _ if y < x - 2.0 => EdemaEvent::Decreased,
                    _ if y > x + 2.0 => EdemaEvent::Increased,
                    _ => EdemaEvent::Persistent,
                };
                levels.push(LevelChangeTruth {
                    level: lb.level,
                    bme_percent_before: x,
                    bme_percent_after: y,
                    newly_edematous_percent: new_e,
                    newly_normal_percent: new_n,
                    height_loss_anterior_mm: loss[0],
                    height_loss_middle_mm: loss[1],
                    height_loss_posterior_mm: loss[2],
                    height_loss_max_mm: loss.iter().copied().fold(f64::MIN, f64::max),
                    height_loss_max_percent: loss_pct.iter().copied().fold(f64::MIN, f64::max),
                    event,
                    treated_in_interval: states[a][i].cement.is_none()
                        && states[b][i].cement.is_some(),
                });
            }
            intervals.push(IntervalTruth {
                from_exam_id: exams[a].exam_id.clone(),
                to_exam_id: exams[b].exam_id.clone(),
                from_date: exams[a].truth.study_date.clone(),
                to_date: exams[b].truth.study_date.clone(),
                interval_days: (days[b] - days[a]) as u32,
                levels,
            });
        }
    }
    ChangesTruth {
        patient_id: patient_id.to_string(),
        intervals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(16_071), (2014, 1, 1));
        assert_eq!(civil(19_782), (2024, 2, 29));
    }
}
