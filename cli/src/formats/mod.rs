//! Import from and export to other redirect services' formats (filled in below).
