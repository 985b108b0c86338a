//! What tend keeps on disk: the `SQLite` journal (nonce records and signed raw transactions,
//! written before anything is broadcast, read back at start-up) and recordings of a run's
//! engine inputs for replay. Calls nothing else of tend's.

pub mod journal;
pub mod recording;
