//! The extension itself: every kind's trait, implemented from the [policy](common::policy). Change
//! these to your own logic; the wiring in `main.rs` stays as it is.

use std::sync::Arc;

use drone_extension::BoxError;
use drone_extension::admission::{Admission, AdmissionEvent, AdmissionRequest, Admitter};
use drone_extension::config::{ConfigProvider, ConfigRequest};
use drone_extension::convert::{ConvertRequest, Converter};
use drone_extension::environ::{EnvironProvider, EnvironRequest};
use drone_extension::global_secrets::{GlobalSecretsProvider, GlobalSecretsRequest};
use drone_extension::models::{Config, LegacySecret, Registry, Secret, Variable};
use drone_extension::registry::{RegistryProvider, RegistryRequest};
use drone_extension::secret::{SecretFinder, SecretRequest};
use drone_extension::validate::{ValidateRequest, Validation, Validator};
use drone_extension::webhook::{WebhookReceiver, WebhookRequest};

use common::policy::Policy;

/// The extension: cheap to clone, one policy shared by every route.
#[derive(Clone)]
pub struct Starter(pub Arc<Policy>);

fn listed(list: &[String], login: &str) -> bool {
    list.iter().any(|l| l.eq_ignore_ascii_case(login))
}

#[drone_extension::async_trait]
impl Admitter for Starter {
    async fn admit(&self, request: AdmissionRequest) -> Result<Admission, BoxError> {
        let policy = &self.0.admission;
        let login = &request.user.login;
        Ok(if listed(&policy.deny, login) {
            Admission::deny("access denied")
        } else if listed(&policy.admins, login) {
            Admission::GrantAdmin
        } else if request.event == AdmissionEvent::Register && !policy.allow_registration {
            Admission::deny("registration is closed")
        } else {
            Admission::Allow
        })
    }
}

#[drone_extension::async_trait]
impl GlobalSecretsProvider for Starter {
    /// Drone 0.8: the secrets of the repository, with their event and image lists (the 0.8 server
    /// filters by those itself, and gives pull requests only secrets that list `pull_request`).
    async fn secrets(&self, request: GlobalSecretsRequest) -> Result<Vec<LegacySecret>, BoxError> {
        let repo = &request.repo.full_name;
        Ok(self
            .0
            .secrets
            .iter()
            .filter(|rule| rule.access.admits_repository(repo))
            .map(|rule| LegacySecret {
                name: rule.name.clone(),
                value: rule.value.clone(),
                event: rule.access.events(),
                image: rule.access.images(),
                ..Default::default()
            })
            .collect())
    }
}

#[drone_extension::async_trait]
impl SecretFinder for Starter {
    async fn find(&self, request: SecretRequest) -> Result<Option<Secret>, BoxError> {
        let (repo, build) = (&request.repo, &request.build);
        Ok(self
            .0
            .secrets
            .iter()
            .find(|rule| {
                rule.name == request.name
                    && (rule.path.is_empty() || rule.path == request.path)
                    && rule.access.admits(repo, build)
            })
            .map(|rule| Secret {
                name: rule.name.clone(),
                data: rule.value.clone(),
                pull: rule.access.forks(),
                pull_request: rule.access.forks(),
                ..Default::default()
            }))
    }
}

#[drone_extension::async_trait]
impl RegistryProvider for Starter {
    async fn registries(&self, request: RegistryRequest) -> Result<Vec<Registry>, BoxError> {
        let (repo, build) = (&request.repo, &request.build);
        Ok(self
            .0
            .registries
            .iter()
            .filter(|rule| rule.access.admits(repo, build))
            .map(|rule| Registry {
                address: rule.address.clone(),
                username: rule.username.clone(),
                password: rule.password.clone(),
                ..Default::default()
            })
            .collect())
    }
}

#[drone_extension::async_trait]
impl EnvironProvider for Starter {
    async fn variables(&self, request: EnvironRequest) -> Result<Vec<Variable>, BoxError> {
        let (repo, build) = (&request.repo, &request.build);
        Ok(self
            .0
            .environ
            .iter()
            .filter(|rule| rule.access.admits(repo, build))
            .map(|rule| Variable {
                name: rule.name.clone(),
                data: rule.value.clone(),
                mask: rule.mask,
            })
            .collect())
    }
}

#[drone_extension::async_trait]
impl ConfigProvider for Starter {
    async fn find(&self, _request: ConfigRequest) -> Result<Option<Config>, BoxError> {
        Ok(None) // 204: Drone uses the repository's own file.
    }
}

#[drone_extension::async_trait]
impl Converter for Starter {
    async fn convert(&self, _request: ConvertRequest) -> Result<Option<Config>, BoxError> {
        Ok(None) // 204: the configuration stays as it is.
    }
}

#[drone_extension::async_trait]
impl Validator for Starter {
    async fn validate(&self, request: ValidateRequest) -> Result<Validation, BoxError> {
        Ok(match self.0.validate.max_config_bytes {
            Some(max) if request.config.data.len() > max => Validation::Block,
            _ => Validation::Pass,
        })
    }
}

#[drone_extension::async_trait]
impl WebhookReceiver for Starter {
    async fn receive(&self, request: WebhookRequest) -> Result<(), BoxError> {
        let repo = request.repo.as_ref().map_or("-", |r| r.slug.as_str());
        // `?`: request-derived text is logged escaped (a newline or ESC cannot forge a log line).
        tracing::info!(event = ?request.event, action = ?request.action, repo = ?repo, "webhook");
        Ok(())
    }
}
