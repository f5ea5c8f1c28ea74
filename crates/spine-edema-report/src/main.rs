//! The `spine-edema` command-line tool.

fn main() {
    println!("spine-edema {}", env!("CARGO_PKG_VERSION"));
}
