//! Secrets stay out of logs, errors and recordings: RPC URLs are printed redacted, passwords and
//! keys are never formatted at all.

use std::fmt;

/// An RPC URL. `Display` and `Debug` print it redacted: the scheme, host and port stay, a
/// user-info part, any path segment or query value that looks like a key (eight characters or
/// more with a digit), and every query value, become `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct RpcUrl(String);

impl RpcUrl {
    /// Wraps a URL. Only `http://` and `https://` are accepted.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let rest = t
            .strip_prefix("http://")
            .or_else(|| t.strip_prefix("https://"))
            .ok_or_else(|| {
                format!(
                    "RPC URL {} must start with http:// or https://",
                    redact_url(t)
                )
            })?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if host.is_empty() || host.ends_with('@') {
            return Err(format!("RPC URL {} has no host", redact_url(t)));
        }
        Ok(Self(t.to_owned()))
    }

    /// The URL itself, for the HTTP client only. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The redacted form.
    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }
}

impl fmt::Display for RpcUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for RpcUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RpcUrl({})", self.redacted())
    }
}

fn looks_secret(segment: &str) -> bool {
    segment.len() >= 8 && segment.bytes().any(|b| b.is_ascii_digit())
        || segment.len() >= 20
        || segment.contains("key")
        || segment.contains("token")
}

/// Redacts a URL-shaped text (see [`RpcUrl`]). Works on any text: what is not a URL is redacted
/// as a path.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let (authority, tail) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let authority = match authority.rfind('@') {
        Some(i) => format!("***@{}", &authority[i + 1..]),
        None => authority.to_owned(),
    };
    let (path, query) = match tail.find('?') {
        Some(i) => (&tail[..i], Some(&tail[i + 1..])),
        None => (tail, None),
    };
    let path = path.split('#').next().unwrap_or_default();
    let path: Vec<&str> = path
        .split('/')
        .map(|s| if looks_secret(s) { "***" } else { s })
        .collect();
    let mut out = format!("{scheme}{authority}{}", path.join("/"));
    if let Some(q) = query {
        let q = q.split('#').next().unwrap_or_default();
        let parts: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) => format!("{k}=***"),
                None if looks_secret(kv) => "***".to_owned(),
                None => kv.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&parts.join("&"));
    }
    out
}

/// A password or token: never printed.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: String) -> Self {
        Self(s)
    }
    /// The secret itself. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_paths_queries_and_userinfo_are_redacted() {
        let cases = [
            (
                "https://eth-mainnet.g.alchemy.com/v2/AbCdEf1234567890xyz",
                "https://eth-mainnet.g.alchemy.com/v2/***",
            ),
            (
                "https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161",
                "https://mainnet.infura.io/v3/***",
            ),
            (
                "https://user:pass@node.example:8545/rpc",
                "https://***@node.example:8545/rpc",
            ),
            (
                "https://rpc.example/?apikey=s3cr3t&x=1",
                "https://rpc.example/?apikey=***&x=***",
            ),
            ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
            (
                "https://rpc.gnosischain.com/",
                "https://rpc.gnosischain.com/",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(url), want, "{url}");
            let u = RpcUrl::parse(url).unwrap();
            assert_eq!(u.to_string(), want);
            assert!(!format!("{u:?}").contains("1234567890"));
        }
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_secrets() {
        let e = RpcUrl::parse("ws://node.example/v3/9aa3d95b3bc440fa88ea12eaa4456161").unwrap_err();
        assert!(e.contains("http://"), "{e}");
        assert!(!e.contains("9aa3d95b"), "{e}");
        assert!(RpcUrl::parse("http://").is_err());
        assert!(RpcUrl::parse("http://user@").is_err());
    }

    #[test]
    fn secrets_never_format() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }
}
