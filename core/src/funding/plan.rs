//! tend's own funding planner (in progress).
