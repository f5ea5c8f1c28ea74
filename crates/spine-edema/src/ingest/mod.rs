//! Reading DICOM folder trees: a header-only index pass, grouping into
//! patient → study → series, and pixel decoding of the series that are used.
