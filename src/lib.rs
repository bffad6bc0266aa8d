//! Write [Drone CI](https://www.drone.io/) extensions in Rust.
//!
//! See the [`signature`] module for the verifier and signer, and [`layer`] for the tower layer.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod admission;
#[cfg(feature = "aesgcm")]
#[cfg_attr(docsrs, doc(cfg(feature = "aesgcm")))]
pub mod aesgcm;
pub mod global_secrets;
pub mod json;
pub mod kind;
pub mod layer;
pub mod models;
pub mod service;
pub mod signature;

pub use kind::ExtensionKind;

/// A boxed error, as returned by extension traits and used across the tower ecosystem.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
