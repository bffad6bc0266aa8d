//! The kind traits for shared and boxed implementations: `Arc<T>`, `Box<T>` and `&'static T`
//! implement a kind trait whenever `T` does (`T` may be a trait object, `Arc<dyn SecretFinder>`),
//! for Drone's kinds and for Woodpecker's three extensions.

use std::sync::Arc;

use async_trait::async_trait;

use crate::BoxError;
use crate::admission::{Admission, AdmissionRequest, Admitter};
use crate::config::{ConfigProvider, ConfigRequest};
use crate::convert::{ConvertRequest, Converter};
use crate::environ::{EnvironProvider, EnvironRequest};
use crate::global_secrets::{GlobalSecretsProvider, GlobalSecretsRequest};
use crate::models::{Config, LegacySecret, Registry, Secret, Variable};
use crate::registry::{RegistryProvider, RegistryRequest};
use crate::secret::{SecretFinder, SecretRequest};
use crate::validate::{ValidateRequest, Validation, Validator};
use crate::webhook::{WebhookReceiver, WebhookRequest};

/// `impl Trait for Wrapper<T>` forwarding the trait's one method to `T`, for each wrapper.
macro_rules! forward {
    ($($trait:ident :: $method:ident ($request:ty) -> $answer:ty;)*) => {$(
        forward!(@one Arc<T>, $trait, $method, $request, $answer);
        forward!(@one Box<T>, $trait, $method, $request, $answer);
        forward!(@one &'static T, $trait, $method, $request, $answer);
    )*};
    (@one $wrapper:ty, $trait:ident, $method:ident, $request:ty, $answer:ty) => {
        #[async_trait]
        impl<T: $trait + ?Sized> $trait for $wrapper {
            async fn $method(&self, request: $request) -> Result<$answer, BoxError> {
                T::$method(&**self, request).await
            }
        }
    };
}

forward! {
    Admitter::admit(AdmissionRequest) -> Admission;
    GlobalSecretsProvider::secrets(GlobalSecretsRequest) -> Vec<LegacySecret>;
    SecretFinder::find(SecretRequest) -> Option<Secret>;
    RegistryProvider::registries(RegistryRequest) -> Vec<Registry>;
    EnvironProvider::variables(EnvironRequest) -> Vec<Variable>;
    ConfigProvider::find(ConfigRequest) -> Option<Config>;
    Converter::convert(ConvertRequest) -> Option<Config>;
    Validator::validate(ValidateRequest) -> Validation;
    WebhookReceiver::receive(WebhookRequest) -> ();
}

#[cfg(feature = "woodpecker")]
mod woodpecker {
    use super::*;
    use crate::woodpecker::models::{
        ConfigRequest, Registry, RegistryRequest, Secret, SecretRequest,
    };
    use crate::woodpecker::{ConfigAnswer, ConfigExtension, RegistryExtension, SecretExtension};

    forward! {
        ConfigExtension::config(&ConfigRequest) -> ConfigAnswer;
        SecretExtension::secrets(SecretRequest) -> Vec<Secret>;
        RegistryExtension::registries(RegistryRequest) -> Vec<Registry>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Octocat;

    #[async_trait]
    impl SecretFinder for Octocat {
        async fn find(&self, request: SecretRequest) -> Result<Option<Secret>, BoxError> {
            Ok(Some(Secret {
                name: request.name,
                data: "octocat".into(),
                ..Default::default()
            }))
        }
    }

    async fn data(finder: impl SecretFinder) -> String {
        let request = SecretRequest {
            name: "username".into(),
            ..Default::default()
        };
        match finder.find(request).await {
            Ok(Some(secret)) => secret.data,
            other => format!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn wrappers_answer_as_the_wrapped_finder() {
        static SHARED: Octocat = Octocat;
        let object: Arc<dyn SecretFinder> = Arc::new(Octocat);
        assert_eq!(data(Arc::new(Octocat)).await, "octocat");
        assert_eq!(data(object.clone()).await, "octocat");
        assert_eq!(data(Box::new(Octocat)).await, "octocat");
        assert_eq!(data(&SHARED).await, "octocat");
        // A shared finder serves two routes.
        let _one = crate::secret::service(object.clone());
        let _two = crate::secret::service(object);
    }

    #[cfg(feature = "woodpecker")]
    mod woodpecker {
        use std::sync::Arc;

        use crate::BoxError;
        use crate::woodpecker::models::{
            ConfigFile, ConfigRequest, Registry, RegistryRequest, Secret, SecretRequest,
        };
        use crate::woodpecker::{
            ConfigAnswer, ConfigExtension, RegistryExtension, SecretExtension,
        };

        struct Repo;

        #[async_trait::async_trait]
        impl ConfigExtension for Repo {
            async fn config(&self, request: &ConfigRequest) -> Result<ConfigAnswer, BoxError> {
                Ok(ConfigAnswer::Files(vec![ConfigFile {
                    name: request.repo.full_name.clone(),
                    data: "steps: []".into(),
                }]))
            }
        }

        #[async_trait::async_trait]
        impl SecretExtension for Repo {
            async fn secrets(&self, request: SecretRequest) -> Result<Vec<Secret>, BoxError> {
                Ok(vec![Secret {
                    name: request.repo.full_name,
                    ..Default::default()
                }])
            }
        }

        #[async_trait::async_trait]
        impl RegistryExtension for Repo {
            async fn registries(
                &self,
                request: RegistryRequest,
            ) -> Result<Vec<Registry>, BoxError> {
                Ok(vec![Registry {
                    address: request.repo.full_name,
                    ..Default::default()
                }])
            }
        }

        fn named<T: Default>(name: &str, set: impl FnOnce(&mut T, String)) -> T {
            let mut request = T::default();
            set(&mut request, name.to_owned());
            request
        }

        async fn answers(
            extension: impl ConfigExtension + SecretExtension + RegistryExtension,
        ) -> (String, String, String) {
            let config: ConfigRequest =
                named("a/config", |r: &mut ConfigRequest, n| r.repo.full_name = n);
            let config = match extension.config(&config).await {
                Ok(ConfigAnswer::Files(files)) => files[0].name.clone(),
                other => format!("unexpected {other:?}"),
            };
            let secret = named("a/secret", |r: &mut SecretRequest, n| r.repo.full_name = n);
            let secret = match extension.secrets(secret).await {
                Ok(secrets) => secrets[0].name.clone(),
                Err(e) => format!("unexpected {e}"),
            };
            let registry = named("a/registry", |r: &mut RegistryRequest, n| {
                r.repo.full_name = n
            });
            let registry = match extension.registries(registry).await {
                Ok(registries) => registries[0].address.clone(),
                Err(e) => format!("unexpected {e}"),
            };
            (config, secret, registry)
        }

        #[tokio::test]
        async fn wrappers_answer_as_the_wrapped_woodpecker_extension() {
            static SHARED: Repo = Repo;
            let expected = ("a/config".into(), "a/secret".into(), "a/registry".into());
            assert_eq!(answers(Arc::new(Repo)).await, expected);
            assert_eq!(answers(Box::new(Repo)).await, expected);
            assert_eq!(answers(&SHARED).await, expected);
            // Trait objects, one per trait, shared by two services.
            let secrets: Arc<dyn SecretExtension> = Arc::new(Repo);
            let request = named("b/secret", |r: &mut SecretRequest, n| r.repo.full_name = n);
            let names: Vec<String> = secrets
                .secrets(request)
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.name)
                .collect();
            assert_eq!(names, ["b/secret"]);
            let _one = SecretExtension::into_service(secrets.clone());
            let _two = SecretExtension::into_service(secrets);
        }
    }
}
