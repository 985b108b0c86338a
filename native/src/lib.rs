//! tend library.
