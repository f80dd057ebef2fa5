//! The built-in `rote` module, importable in every rote process (children
//! started through `sys.executable` included). Later issues fill it in.

use pyo3::prelude::*;

#[pymodule]
pub(crate) mod rote {
    use pyo3::prelude::*;

    #[allow(non_upper_case_globals)]
    #[pymodule_export]
    const __version__: &str = env!("CARGO_PKG_VERSION");

    /// The sys.monitoring tool id rote holds in this process.
    #[pyfunction]
    fn _tool_id() -> i32 {
        crate::hooks::tool_id()
    }
}

pub(crate) fn register() {
    pyo3::append_to_inittab!(rote);
}
