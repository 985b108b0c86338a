//! Stable sorting with one copy of the sort code.
//!
//! `slice::sort_by_key` is generic over the element and the key: every call site gets its own
//! copy of the sort (about 15–30 KB of wasm each). The few sorts off the hot paths go through
//! [`sorted_by`] instead, which sorts indices with a `dyn` comparison, so the sort itself exists
//! once in the binary; only the small permutation is per element type.

use std::cmp::Ordering;

/// The indices `0..n` in the stable order that `cmp` gives them.
fn sorted_indices(n: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| cmp(a, b));
    idx
}

/// `v` sorted by `cmp`, stably (equal elements keep their order), as `sort_by` would.
pub(crate) fn sorted_by<T>(v: Vec<T>, cmp: impl Fn(&T, &T) -> Ordering) -> Vec<T> {
    if v.len() < 2 {
        return v;
    }
    let idx = sorted_indices(v.len(), &|a, b| cmp(&v[a], &v[b]));
    let mut slots: Vec<Option<T>> = v.into_iter().map(Some).collect();
    // Each index appears once: every slot is taken exactly once.
    idx.into_iter().filter_map(|i| slots[i].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_stably_like_the_standard_sort() {
        // Pairs sorted by their first half only: equal keys keep their input order.
        let mut rng = crate::rng::Rng::new(7);
        for len in [0usize, 1, 2, 3, 17, 200] {
            let v: Vec<(u64, usize)> = (0..len).map(|i| (rng.below(5), i)).collect();
            let mut expected = v.clone();
            expected.sort_by_key(|p| p.0);
            assert_eq!(sorted_by(v, |a, b| a.0.cmp(&b.0)), expected, "len {len}");
        }
    }
}
