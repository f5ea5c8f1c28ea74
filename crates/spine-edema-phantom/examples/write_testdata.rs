//! Regenerates the committed `testdata/` folder (2 patients × baseline + follow-up).
//!
//! `cargo run --release -p spine-edema-phantom --example write_testdata -- testdata`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "testdata".to_string());
    let out = std::path::Path::new(&out);
    if out.exists() {
        std::fs::remove_dir_all(out)?;
    }
    spine_edema_phantom::write_testdata(out)?;
    println!("wrote {}", out.display());
    Ok(())
}
