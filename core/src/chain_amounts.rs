//! `ChainAmounts`: chain → holder → asset → amount, the shape every Olas funding computation
//! reads and writes (`shared/domain/olas-middleware.md` §1.1).

use crate::map::Map;

use alloy_primitives::U256;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::address::{Asset, Holder};
use crate::chain::Chain;
use crate::json::{self, InputError, Node, Path};

/// Asset → amount, kept sorted by asset. A small sorted vector: funding maps hold a handful of
/// assets, and the report builds hundreds of them, so this avoids a tree node per map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetAmounts(Vec<(Asset, U256)>);

/// Holder → asset → amount.
pub type HolderAmounts = Map<Holder, AssetAmounts>;

/// Chain → holder → asset → amount. Amounts are written as decimal strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainAmounts(pub Map<Chain, HolderAmounts>);

impl AssetAmounts {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn find(&self, asset: &Asset) -> Result<usize, usize> {
        self.0.binary_search_by(|(a, _)| a.cmp(asset))
    }

    /// The amount of `asset`, 0 when absent.
    pub fn get(&self, asset: &Asset) -> U256 {
        self.find(asset).map_or(U256::ZERO, |i| self.0[i].1)
    }

    /// Whether `asset` has an entry (zero or not).
    pub fn contains(&self, asset: &Asset) -> bool {
        self.find(asset).is_ok()
    }

    /// The entry of `asset`, created at 0 when absent.
    pub fn entry(&mut self, asset: Asset) -> &mut U256 {
        // Maps are mostly built in asset order: appending needs no search.
        if self.0.last().is_none_or(|(last, _)| *last < asset) {
            self.0.push((asset, U256::ZERO));
            let i = self.0.len() - 1;
            return &mut self.0[i].1;
        }
        let i = match self.find(&asset) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (asset, U256::ZERO));
                i
            }
        };
        &mut self.0[i].1
    }

    /// The entry of `asset`, if present.
    pub fn get_mut(&mut self, asset: &Asset) -> Option<&mut U256> {
        match self.find(asset) {
            Ok(i) => Some(&mut self.0[i].1),
            Err(_) => None,
        }
    }

    /// Sets the amount of `asset` (an assignment).
    pub fn set(&mut self, asset: Asset, amount: U256) {
        *self.entry(asset) = amount;
    }

    /// Adds to the amount of `asset`, saturating at 2^256 − 1.
    pub fn add(&mut self, asset: Asset, amount: U256) {
        let e = self.entry(asset);
        *e = e.saturating_add(amount);
    }

    /// Iterates over the entries in asset order.
    pub fn iter(&self) -> impl Iterator<Item = (&Asset, &U256)> {
        self.0.iter().map(|(a, v)| (a, v))
    }

    /// The assets present, in order.
    pub fn assets(&self) -> impl Iterator<Item = &Asset> {
        self.0.iter().map(|(a, _)| a)
    }

    /// Every amount, mutably.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut U256> {
        self.0.iter_mut().map(|(_, v)| v)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether some amount is above zero.
    pub fn any_positive(&self) -> bool {
        self.0.iter().any(|(_, a)| !a.is_zero())
    }

    /// Reads `{"0x…asset": "123", …}`.
    pub fn from_json(v: Node<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let mut out = AssetAmounts::new();
        for (k, amount) in json::entries(v, path)? {
            let p = path.key(&k);
            let asset = json::asset_text(&k, &p)?;
            out.set(asset, json::amount(amount, &p)?);
        }
        Ok(out)
    }
}

impl FromIterator<(Asset, U256)> for AssetAmounts {
    fn from_iter<T: IntoIterator<Item = (Asset, U256)>>(iter: T) -> Self {
        let mut out = AssetAmounts::new();
        for (a, v) in iter {
            out.set(a, v);
        }
        out
    }
}

impl From<&Map<Asset, U256>> for AssetAmounts {
    fn from(m: &Map<Asset, U256>) -> Self {
        AssetAmounts(m.iter().map(|(a, v)| (*a, *v)).collect())
    }
}

impl From<AssetAmounts> for Map<Asset, U256> {
    fn from(m: AssetAmounts) -> Self {
        m.0.into_iter().collect()
    }
}

impl ChainAmounts {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The amount at `(chain, holder, asset)`, 0 when absent.
    pub fn get(&self, chain: Chain, holder: &Holder, asset: &Asset) -> U256 {
        self.0
            .get(&chain)
            .and_then(|h| h.get(holder))
            .map(|a| a.get(asset))
            .unwrap_or_default()
    }

    /// The asset map of `(chain, holder)`, created empty when absent.
    pub fn entry(&mut self, chain: Chain, holder: Holder) -> &mut AssetAmounts {
        self.0.entry(chain).or_default().entry(holder).or_default()
    }

    /// The holder map of `chain`, created empty when absent.
    pub fn chain_entry(&mut self, chain: Chain) -> &mut HolderAmounts {
        self.0.entry(chain).or_default()
    }

    /// Element-wise sum over the union of keys (a missing key counts as 0).
    #[must_use]
    pub fn plus(mut self, other: &ChainAmounts) -> ChainAmounts {
        self.add_all(other);
        self
    }

    /// Adds `other` into `self`, element-wise over the union of keys.
    pub fn add_all(&mut self, other: &ChainAmounts) {
        for (chain, holders) in &other.0 {
            let oc = self.chain_entry(*chain);
            for (holder, assets) in holders {
                let oh = oc.entry(*holder).or_default();
                for (asset, amount) in assets.iter() {
                    oh.add(*asset, *amount);
                }
            }
        }
    }

    /// Every amount floor-divided by `d` (`d` > 0).
    #[must_use]
    pub fn div_floor(&self, d: u64) -> ChainAmounts {
        let d = U256::from(d.max(1));
        let mut out = self.clone();
        for holders in out.0.values_mut() {
            for assets in holders.values_mut() {
                for amount in assets.values_mut() {
                    *amount /= d;
                }
            }
        }
        out
    }

    /// Whether some amount is above zero.
    pub fn any_positive(&self) -> bool {
        self.0
            .values()
            .flat_map(Map::values)
            .any(AssetAmounts::any_positive)
    }

    /// Iterates over every `(chain, holder, asset, amount)` in key order.
    pub fn iter(&self) -> impl Iterator<Item = (Chain, &Holder, &Asset, &U256)> {
        self.0.iter().flat_map(|(c, hs)| {
            hs.iter()
                .flat_map(move |(h, as_)| as_.iter().map(move |(a, v)| (*c, h, a, v)))
        })
    }

    /// Reads `{"gnosis": {"0x…holder": {"0x…asset": "123"}}}`.
    pub fn from_json(v: Node<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let mut out = ChainAmounts::new();
        for (c, holders) in json::entries(v, path)? {
            let pc = path.key(&c);
            let chain = json::chain_text(&c, &pc)?;
            let hs = out.chain_entry(chain);
            for (h, assets) in json::entries(holders, &pc)? {
                let ph = pc.key(&h);
                let holder = json::holder_text(&h, &ph)?;
                hs.insert(holder, AssetAmounts::from_json(assets, &ph)?);
            }
        }
        Ok(out)
    }
}

/// The shortfall rule with hysteresis (§2.2) for one amount: `topup − balance` (at least 0) when
/// `balance < threshold`, else 0. A balance exactly at the threshold needs nothing.
pub fn shortfall_of(balance: U256, threshold: U256, topup: U256) -> U256 {
    if balance < threshold {
        topup.saturating_sub(balance)
    } else {
        U256::ZERO
    }
}

/// The shortfall rule with hysteresis (§2.2): for every key of `thresholds`, with balance `b` and
/// top-up `t` (each 0 when absent), `max(t − b, 0)` if `b < threshold`, else 0. The output has an
/// entry for every threshold key, zeros included.
pub fn shortfall(
    balances: &ChainAmounts,
    thresholds: &ChainAmounts,
    topups: &ChainAmounts,
) -> ChainAmounts {
    let mut out = ChainAmounts::new();
    for (chain, holders) in &thresholds.0 {
        let oc = out.chain_entry(*chain);
        for (holder, assets) in holders {
            let oh = oc.entry(*holder).or_default();
            for (asset, threshold) in assets.iter() {
                let b = balances.get(*chain, holder, asset);
                let t = topups.get(*chain, holder, asset);
                oh.set(*asset, shortfall_of(b, *threshold, t));
            }
        }
    }
    out
}

struct Decimal<'a>(&'a U256);

impl Serialize for Decimal<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

impl Serialize for AssetAmounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (asset, amount) in &self.0 {
            m.serialize_entry(asset, &Decimal(amount))?;
        }
        m.end()
    }
}

struct Holders<'a>(&'a HolderAmounts);

impl Serialize for Holders<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (holder, assets) in self.0 {
            m.serialize_entry(&holder.to_string(), assets)?;
        }
        m.end()
    }
}

impl Serialize for ChainAmounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (chain, holders) in &self.0 {
            m.serialize_entry(chain.name(), &Holders(holders))?;
        }
        m.end()
    }
}

impl tend_json::write::ToJson for AssetAmounts {
    fn write(&self, w: &mut tend_json::write::Writer) {
        let mut o = w.object();
        for (asset, amount) in &self.0 {
            crate::ser::dec::to_json(amount, o.key(&asset.to_string()));
        }
        o.end();
    }
}

impl tend_json::write::ToJson for ChainAmounts {
    fn write(&self, w: &mut tend_json::write::Writer) {
        let mut chains = w.object();
        for (chain, holders) in &self.0 {
            let mut o = chains.key(chain.name()).object();
            for (holder, assets) in holders {
                o.field(&holder.to_string(), assets);
            }
            o.end();
        }
        chains.end();
    }
}

#[cfg(test)]
#[allow(clippy::needless_pass_by_value)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Reads `v` (written as text first: values are read from a document).
    fn read(v: &serde_json::Value) -> Result<ChainAmounts, InputError> {
        let text = v.to_string();
        ChainAmounts::from_json(json::parse_document(&text)?, &Path::ROOT)
    }

    fn ca(v: serde_json::Value) -> ChainAmounts {
        read(&v).unwrap()
    }

    const N: &str = "0x0000000000000000000000000000000000000000";
    const T: &str = "0xcE11e14225575945b8E6Dc0D4F2dD4C570f79d9f";

    #[test]
    fn json_round_trip_uses_checksums_and_decimal_strings() {
        let v = json!({"gnosis": {"master_safe": {N: "12000000000000000002"},
                        "0xce11e14225575945b8e6dc0d4f2dd4c570f79d9f": {T.to_lowercase(): "1"}}});
        let a = ca(v);
        let out = serde_json::to_value(&a).unwrap();
        assert_eq!(
            out,
            json!({"gnosis": {"master_safe": {N: "12000000000000000002"}, T: {T: "1"}}})
        );
        assert_eq!(ca(out), a);
    }

    #[test]
    fn plus_is_a_union_sum() {
        let a = ca(json!({"gnosis": {"master_safe": {N: "1"}}}));
        let b =
            ca(json!({"gnosis": {"master_safe": {N: "2", T: "3"}}, "base": {"master_eoa": {}}}));
        let s = serde_json::to_value(a.plus(&b)).unwrap();
        assert_eq!(
            s,
            json!({"base": {"master_eoa": {}}, "gnosis": {"master_safe": {N: "3", T: "3"}}})
        );
    }

    #[test]
    fn shortfall_has_hysteresis_and_zero_entries() {
        let thresholds = ca(json!({"gnosis": {"master_eoa": {N: "375", T: "0"}}}));
        let topups = ca(json!({"gnosis": {"master_eoa": {N: "750", T: "0"}}}));
        let at = ca(json!({"gnosis": {"master_eoa": {N: "375"}}}));
        let below = ca(
            json!({"gnosis": {"master_eoa": {N: "374", "0x00000000000000000000000000000000000000aa": "9"}}}),
        );
        assert_eq!(
            serde_json::to_value(shortfall(&at, &thresholds, &topups)).unwrap(),
            json!({"gnosis": {"master_eoa": {N: "0", T: "0"}}})
        );
        assert_eq!(
            serde_json::to_value(shortfall(&below, &thresholds, &topups)).unwrap(),
            json!({"gnosis": {"master_eoa": {N: "376", T: "0"}}})
        );
    }

    #[test]
    fn bad_json_names_the_path() {
        let e = read(&json!({"gnosis": {"master_safe": {N: "-1"}}})).unwrap_err();
        assert_eq!(e.path, format!("$.gnosis.master_safe[\"{N}\"]"));
        let e = read(&json!({"gnosis": {"nobody": {}}})).unwrap_err();
        assert_eq!(e.path, "$.gnosis.nobody");
        let e = read(&json!({"solana": {}})).unwrap_err();
        assert_eq!(e.path, "$.solana");
    }
}
