//! The catalog compiled and indexed for deciding.

use crate::model::Catalog;

/// What deciding needs, prepared once per catalog.
#[derive(Debug, Clone, Default)]
pub(crate) struct Compiled {}

impl Compiled {
    pub(crate) fn new(_catalog: &Catalog) -> Compiled {
        Compiled {}
    }
}
