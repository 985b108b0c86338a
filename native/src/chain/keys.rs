//! The funding key: decrypted from a standard Ethereum JSON keystore (password from the
//! environment or a file) or read from an environment variable. Errors never carry the password
//! or the key.

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;

use crate::config::{KeySource, PasswordSource};

/// Why the funding key cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The password's environment variable is not set.
    #[error("the keystore password is not set: export {0}")]
    PasswordEnvMissing(String),
    /// The password file cannot be read.
    #[error("cannot read the keystore password file {path}: {message}")]
    PasswordFile {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The keystore file is missing or not a keystore.
    #[error("cannot use keystore {path}: {message}")]
    Keystore {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Wrong password (the keystore's MAC does not match).
    #[error("wrong password for keystore {0}")]
    WrongPassword(PathBuf),
    /// The private key's environment variable is not set or not a key.
    #[error("the funding key in ${var} is {problem}")]
    EnvKey {
        /// The variable.
        var: String,
        /// "not set" or "not a 32-byte hex private key".
        problem: &'static str,
    },
    /// The key is not the configured address.
    #[error("the funding key is {actual}, but tend.toml says funder.address = {configured}")]
    AddressMismatch {
        /// From the config.
        configured: Address,
        /// From the key.
        actual: Address,
    },
}

/// Loads the funding key and checks it against the configured address.
pub fn load(source: &KeySource, expected: Address) -> Result<PrivateKeySigner, KeyError> {
    let signer = match source {
        KeySource::Keystore { path, password } => {
            let password = read_password(password)?;
            decrypt(path, &password)?
        }
        KeySource::Env { var } => load_env(var)?,
    };
    if signer.address() != expected {
        return Err(KeyError::AddressMismatch {
            configured: expected,
            actual: signer.address(),
        });
    }
    Ok(signer)
}

/// A hex private key from the environment variable `var` (its value never appears in an error).
pub fn load_env(var: &str) -> Result<PrivateKeySigner, KeyError> {
    let text = std::env::var(var).map_err(|_| KeyError::EnvKey {
        var: var.to_owned(),
        problem: "not set",
    })?;
    text.trim()
        .parse::<PrivateKeySigner>()
        .map_err(|_| KeyError::EnvKey {
            var: var.to_owned(),
            problem: "not a 32-byte hex private key",
        })
}

fn read_password(source: &PasswordSource) -> Result<String, KeyError> {
    match source {
        PasswordSource::Env(var) => {
            std::env::var(var).map_err(|_| KeyError::PasswordEnvMissing(var.clone()))
        }
        PasswordSource::File(path) => std::fs::read_to_string(path)
            .map(|t| t.lines().next().unwrap_or_default().to_owned())
            .map_err(|e| KeyError::PasswordFile {
                path: path.clone(),
                message: e.kind().to_string(),
            }),
    }
}

/// Decrypts a keystore file.
pub fn decrypt(path: &Path, password: &str) -> Result<PrivateKeySigner, KeyError> {
    if !path.is_file() {
        return Err(KeyError::Keystore {
            path: path.to_owned(),
            message: "no such file".into(),
        });
    }
    PrivateKeySigner::decrypt_keystore(path, password).map_err(|e| {
        let text = e.to_string();
        if text.to_ascii_lowercase().contains("mac mismatch") {
            KeyError::WrongPassword(path.to_owned())
        } else {
            KeyError::Keystore {
                path: path.to_owned(),
                message: text,
            }
        }
    })
}

/// Writes `key` as a standard JSON keystore at `path` (scrypt, eth-keystore's parameters), with
/// an `"address"` field so `tend.toml` may omit `funder.address`. Used by the demo and tests.
pub fn write_keystore(path: &Path, key: &PrivateKeySigner, password: &str) -> Result<(), KeyError> {
    let err = |message: String| KeyError::Keystore {
        path: path.to_owned(),
        message,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| err("not a file name".into()))?;
    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    let mut rng = rand::thread_rng();
    PrivateKeySigner::encrypt_keystore(dir, &mut rng, key.to_bytes(), password, Some(name))
        .map_err(|e| err(e.to_string()))?;
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let mut json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    if let Some(obj) = json.as_object_mut() {
        obj.insert(
            "address".into(),
            serde_json::Value::String(
                format!("{:x}", key.address())
                    .trim_start_matches("0x")
                    .to_owned(),
            ),
        );
    }
    std::fs::write(path, json.to_string()).map_err(|e| err(e.to_string()))
}
