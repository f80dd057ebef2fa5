//! One module per subcommand.

pub mod python;
pub mod run;
