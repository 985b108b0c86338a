//! Ordered maps and sets as sorted vectors.
//!
//! The core's maps are small (a service's wallets, a chain's assets, a sender's transactions in
//! flight) and read far more than written. A sorted `Vec` answers them with one binary search,
//! iterates a slice, and costs a fraction of `BTreeMap`'s code: each `BTreeMap<K, V>` the wasm
//! package used carried its own node, balancing and iterator code (180 KB for 35 key and value
//! types). [`Map`] and [`Set`] keep `BTreeMap`'s and `BTreeSet`'s semantics for what the core
//! uses (ordered iteration, `entry`, `range`, `retain`), and the same JSON form.

use std::borrow::Borrow;
use std::fmt;
use std::ops::{Bound, RangeBounds};

use tend_json::read::{Error, FromJson, FromKey, Reader};
use tend_json::write::{ToJson, ToJsonKey, Writer};

/// An ordered map in a sorted vector of pairs.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Map<K, V> {
    items: Vec<(K, V)>,
}

impl<K, V> Default for Map<K, V> {
    fn default() -> Self {
        Self { items: Vec::new() }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Map<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.items.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<K, V> Map<K, V> {
    /// An empty map.
    pub const fn new() -> Self {
        Self { items: Vec::new() }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator + Clone {
        self.items.iter().map(|(k, v)| (k, v))
    }

    /// The entries in key order, values mutable.
    pub fn iter_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = (&K, &mut V)> + ExactSizeIterator {
        self.items.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator + Clone {
        self.items.iter().map(|(k, _)| k)
    }

    /// The values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator + Clone {
        self.items.iter().map(|(_, v)| v)
    }

    /// The values in key order, mutable.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.items.iter_mut().map(|(_, v)| v)
    }

    /// The values in key order, owned.
    pub fn into_values(self) -> impl DoubleEndedIterator<Item = V> + ExactSizeIterator {
        self.items.into_iter().map(|(_, v)| v)
    }

    /// The entry with the smallest key.
    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        self.items.first().map(|(k, v)| (k, v))
    }

    /// The entry with the largest key.
    pub fn last_key_value(&self) -> Option<(&K, &V)> {
        self.items.last().map(|(k, v)| (k, v))
    }

    /// Keeps the entries for which `f` is true.
    pub fn retain(&mut self, mut f: impl FnMut(&K, &mut V) -> bool) {
        self.items.retain_mut(|(k, v)| f(k, v));
    }
}

impl<K: Ord, V> Map<K, V> {
    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.items.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    /// The value of `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &self.items[i].1)
    }

    /// The value of `key`, mutable.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &mut self.items[i].1)
    }

    /// Whether `key` has a value.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`; the previous value, if any.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.items[i].1, value)),
            Err(i) => {
                self.items.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`; its value, if any.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| self.items.remove(i).1)
    }

    /// The place of `key`, to read or fill.
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        let at = self.find(&key);
        Entry {
            items: &mut self.items,
            at,
            key,
        }
    }

    /// The entries whose keys are in `range`, in order.
    pub fn range<Q: Ord + ?Sized, R: RangeBounds<Q>>(
        &self,
        range: R,
    ) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator + Clone
    where
        K: Borrow<Q>,
    {
        let start = match range.start_bound() {
            Bound::Included(q) => self.items.partition_point(|(k, _)| k.borrow() < q),
            Bound::Excluded(q) => self.items.partition_point(|(k, _)| k.borrow() <= q),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(q) => self.items.partition_point(|(k, _)| k.borrow() <= q),
            Bound::Excluded(q) => self.items.partition_point(|(k, _)| k.borrow() < q),
            Bound::Unbounded => self.items.len(),
        };
        self.items[start..end.max(start)]
            .iter()
            .map(|(k, v)| (k, v))
    }
}

/// A key's place in a [`Map`]: its value, or where it goes.
pub struct Entry<'a, K, V> {
    items: &'a mut Vec<(K, V)>,
    at: Result<usize, usize>,
    key: K,
}

impl<'a, K, V> Entry<'a, K, V> {
    /// The value, inserting `make()` when absent.
    pub fn or_insert_with(self, make: impl FnOnce() -> V) -> &'a mut V {
        let i = match self.at {
            Ok(i) => i,
            Err(i) => {
                self.items.insert(i, (self.key, make()));
                i
            }
        };
        &mut self.items[i].1
    }

    /// The value, inserting `value` when absent.
    pub fn or_insert(self, value: V) -> &'a mut V {
        self.or_insert_with(|| value)
    }

    /// The value, inserting the default when absent.
    pub fn or_default(self) -> &'a mut V
    where
        V: Default,
    {
        self.or_insert_with(V::default)
    }

    /// Changes the value when present.
    #[must_use]
    pub fn and_modify(self, f: impl FnOnce(&mut V)) -> Self {
        if let Ok(i) = self.at {
            f(&mut self.items[i].1);
        }
        self
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for Map<K, V> {
    /// Like repeated inserts: the last value of a key wins. Sorted input (another map's
    /// entries) appends; the rest is inserted in place (no sort code per key type).
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut out = Self::new();
        out.extend(iter);
        out
    }
}

impl<K: Ord, V> Extend<(K, V)> for Map<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            if self.items.last().is_none_or(|(last, _)| *last < k) {
                self.items.push((k, v));
            } else {
                self.insert(k, v);
            }
        }
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for Map<K, V> {
    fn from(pairs: [(K, V); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl<K, V> IntoIterator for Map<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a Map<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter().map(|(k, v)| (k, v))
    }
}

impl<'a, K, V> IntoIterator for &'a mut Map<K, V> {
    type Item = (&'a K, &'a mut V);
    type IntoIter =
        std::iter::Map<std::slice::IterMut<'a, (K, V)>, fn(&'a mut (K, V)) -> (&'a K, &'a mut V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter_mut().map(|(k, v)| (&*k, v))
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> std::ops::Index<&Q> for Map<K, V> {
    type Output = V;
    /// Panics when the key is absent, like `BTreeMap`'s index.
    fn index(&self, key: &Q) -> &V {
        #[allow(clippy::expect_used)]
        self.get(key).expect("key in map")
    }
}

impl<K: serde::Serialize, V: serde::Serialize> serde::Serialize for Map<K, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de, K: serde::Deserialize<'de> + Ord, V: serde::Deserialize<'de>> serde::Deserialize<'de>
    for Map<K, V>
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        std::collections::BTreeMap::<K, V>::deserialize(d).map(|m| Self {
            items: m.into_iter().collect(),
        })
    }
}

/// An ordered set in a sorted vector.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Set<T> {
    items: Vec<T>,
}

impl<T> Default for Set<T> {
    fn default() -> Self {
        Self { items: Vec::new() }
    }
}

impl<T: fmt::Debug> fmt::Debug for Set<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(&self.items).finish()
    }
}

impl<T> Set<T> {
    /// An empty set.
    pub const fn new() -> Self {
        Self { items: Vec::new() }
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is no member.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The members in order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// The smallest member.
    pub fn first(&self) -> Option<&T> {
        self.items.first()
    }

    /// The largest member.
    pub fn last(&self) -> Option<&T> {
        self.items.last()
    }

    /// Keeps the members for which `f` is true.
    pub fn retain(&mut self, f: impl FnMut(&T) -> bool) {
        self.items.retain(f);
    }

    /// Removes every member.
    pub fn clear(&mut self) {
        self.items.clear();
    }
}

impl<T: Ord> Set<T> {
    fn find<Q: Ord + ?Sized>(&self, value: &Q) -> Result<usize, usize>
    where
        T: Borrow<Q>,
    {
        self.items.binary_search_by(|t| t.borrow().cmp(value))
    }

    /// Adds `value`; false when it was there.
    pub fn insert(&mut self, value: T) -> bool {
        match self.find(&value) {
            Ok(_) => false,
            Err(i) => {
                self.items.insert(i, value);
                true
            }
        }
    }

    /// Removes `value`; false when it was not there.
    pub fn remove<Q: Ord + ?Sized>(&mut self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        self.find(value).map(|i| self.items.remove(i)).is_ok()
    }

    /// Whether `value` is a member.
    pub fn contains<Q: Ord + ?Sized>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        self.find(value).is_ok()
    }
}

impl<T: Ord> FromIterator<T> for Set<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut out = Self::new();
        out.extend(iter);
        out
    }
}

impl<T: Ord> Extend<T> for Set<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for t in iter {
            if self.items.last().is_none_or(|last| *last < t) {
                self.items.push(t);
            } else {
                self.insert(t);
            }
        }
    }
}

impl<'a, T: Ord + Copy + 'a> Extend<&'a T> for Set<T> {
    fn extend<I: IntoIterator<Item = &'a T>>(&mut self, iter: I) {
        self.extend(iter.into_iter().copied());
    }
}

impl<T> IntoIterator for Set<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Set<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<T: serde::Serialize> serde::Serialize for Set<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(&self.items)
    }
}

impl<'de, T: serde::Deserialize<'de> + Ord> serde::Deserialize<'de> for Set<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(d).map(|v| v.into_iter().collect())
    }
}

// JSON: a map is an object (keys in order), a set an array.

impl<K: FromKey + Ord, V: FromJson> FromJson for Map<K, V> {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let mut out = Map::new();
        r.object(&mut |r, key| {
            let k = K::from_key(key).map_err(|e| r.error(e))?;
            out.insert(k, V::read(r)?);
            Ok(())
        })?;
        Ok(out)
    }
}

impl<T: FromJson + Ord> FromJson for Set<T> {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Vec::<T>::read(r).map(|v| v.into_iter().collect())
    }
}

impl<K: ToJsonKey, V: ToJson> ToJson for Map<K, V> {
    fn write(&self, w: &mut Writer) {
        w.map(self.iter());
    }
}

impl<T: ToJson> ToJson for Set<T> {
    fn write(&self, w: &mut Writer) {
        w.seq(self.iter());
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u16),
        Remove(u8),
        Entry(u8, u16),
        Retain(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (any::<u8>(), any::<u16>()).prop_map(|(k, v)| Op::Insert(k, v)),
            any::<u8>().prop_map(Op::Remove),
            (any::<u8>(), any::<u16>()).prop_map(|(k, v)| Op::Entry(k, v)),
            any::<u8>().prop_map(Op::Retain),
        ]
    }

    proptest! {
        /// Any sequence of operations leaves Map and Set equal to BTreeMap and BTreeSet.
        #[test]
        fn behaves_like_the_btree(ops in proptest::collection::vec(op(), 0..200), lo: u8, hi: u8) {
            let mut m = Map::new();
            let mut b = BTreeMap::new();
            let mut s = Set::new();
            let mut bs = BTreeSet::new();
            for o in ops {
                match o {
                    Op::Insert(k, v) => {
                        prop_assert_eq!(m.insert(k, v), b.insert(k, v));
                        prop_assert_eq!(s.insert(k), bs.insert(k));
                    }
                    Op::Remove(k) => {
                        prop_assert_eq!(m.remove(&k), b.remove(&k));
                        prop_assert_eq!(s.remove(&k), bs.remove(&k));
                    }
                    Op::Entry(k, v) => {
                        let x = m.entry(k).and_modify(|x| *x ^= v).or_insert(v);
                        *x = x.wrapping_add(1);
                        let y = b.entry(k).and_modify(|x| *x ^= v).or_insert(v);
                        *y = y.wrapping_add(1);
                    }
                    Op::Retain(k) => {
                        m.retain(|x, _| *x % 7 != k % 7);
                        b.retain(|x, _| *x % 7 != k % 7);
                        s.retain(|x| *x % 5 != k % 5);
                        bs.retain(|x| *x % 5 != k % 5);
                    }
                }
                prop_assert!(m.iter().eq(b.iter()));
                prop_assert!(s.iter().eq(bs.iter()));
            }
            let (lo, hi) = (lo.min(hi), lo.max(hi));
            prop_assert!(m.range(lo..hi).eq(b.range(lo..hi)));
            prop_assert!(m.range(lo..=hi).eq(b.range(lo..=hi)));
            prop_assert!(m.range(lo..).eq(b.range(lo..)));
            prop_assert_eq!(m.first_key_value(), b.first_key_value());
            prop_assert_eq!(m.last_key_value(), b.last_key_value());
            prop_assert_eq!(m.get(&lo), b.get(&lo));
            prop_assert_eq!(format!("{m:?}"), format!("{b:?}"));
            prop_assert_eq!(serde_json::to_string(&m).unwrap(), serde_json::to_string(&b).unwrap());
            let pairs: Vec<(u8, u16)> = b.iter().rev().map(|(k, v)| (*k, *v)).collect();
            prop_assert!(pairs.into_iter().collect::<Map<_, _>>().iter().eq(b.iter()));
        }
    }

    #[test]
    fn collecting_keeps_the_last_value_of_a_key() {
        let m: Map<u8, u8> = [(2, 1), (1, 1), (2, 3)].into();
        assert_eq!(m.iter().collect::<Vec<_>>(), [(&1, &1), (&2, &3)]);
    }
}
