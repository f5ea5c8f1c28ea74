//! One module per subcommand: each resolves its flags into library settings, calls the
//! library, and presents the result.

pub mod bench;
pub mod compare;
pub mod config;
pub mod inspect;
pub mod score;
