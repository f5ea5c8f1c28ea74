//! Per-vertebra scoring on the definitions of the two reference studies
//! (SPEC §2): edema %, cement, rim, cleft, heights, Genant, and grading scales.
