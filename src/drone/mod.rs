//! Drone's extension kinds: one module per kind (request type, async trait, `Endpoint`), the kind
//! enumeration, and the router that serves them all behind Drone's signature layer.
//!
//! Each kind is also at the crate's root (`drone_extension::admission`, …), where users find it.
//! Drone's signature scheme is [`signature`](crate::signature); Woodpecker's kinds and scheme are
//! in `woodpecker` (feature `woodpecker`); what both protocols share (the verifying layer, the
//! decoding service, the transport) is in [`layer`](crate::layer),
//! [`service`](crate::service) and `client`.

pub mod admission;
pub mod config;
pub mod convert;
pub mod environ;
pub mod global_secrets;
pub mod kind;
pub mod registry;
pub mod router;
pub mod secret;
pub mod validate;
pub mod webhook;
