//! Write [Drone CI](https://www.drone.io/) extensions in Rust.
//!
//! See the [`signature`] module for the verifier and signer, and [`layer`] for the tower layer.
//!
//! # Extension kinds
//!
//! Each kind has a module with a request type, an async trait to implement and a tower service
//! (the trait's `into_service`) that answers with the statuses Drone expects; each module's
//! documentation says what Drone sends, what to answer and what Drone does with the answer.
//!
//! | module | trait | caller | if the extension fails |
//! |---|---|---|---|
//! | [`admission`] | [`Admitter`](admission::Admitter) | server, at login | login refused |
//! | [`global_secrets`] | [`SecretProvider`](global_secrets::SecretProvider) | Drone 0.8 server | build runs without secrets |
//! | [`secret`] | [`SecretFinder`](secret::SecretFinder) | runners | step runs without the secret |
//! | [`registry`] | [`RegistryProvider`](registry::RegistryProvider) | runners | images pulled without credentials |
//! | [`environ`] | [`EnvironProvider`](environ::EnvironProvider) | runners | stage runs without the variables |
//! | [`config`] | [`ConfigProvider`](config::ConfigProvider) | server, before a build | no build |
//! | [`convert`] | [`Converter`](convert::Converter) | server, before a build | build in the error state |
//! | [`validate`] | [`Validator`](validate::Validator) | server, before a build | build in the error state |
//! | [`webhook`] | [`WebhookReceiver`](webhook::WebhookReceiver) | server, after events | ignored |
//!
//! The services share their plumbing ([`service::ExtensionService`]) and check no signature:
//! serve each behind [`VerifySignatureLayer::for_kind`](layer::VerifySignatureLayer::for_kind).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod admission;
#[cfg(feature = "aesgcm")]
#[cfg_attr(docsrs, doc(cfg(feature = "aesgcm")))]
pub mod aesgcm;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;
pub mod config;
pub mod convert;
pub mod environ;
pub mod global_secrets;
pub mod json;
pub mod kind;
pub mod layer;
pub mod models;
pub mod registry;
pub mod secret;
pub mod service;
pub mod signature;
pub mod validate;
pub mod webhook;

pub use kind::ExtensionKind;

/// A boxed error, as returned by extension traits and used across the tower ecosystem.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
