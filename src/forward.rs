//! The kind traits for shared and boxed implementations: `Arc<T>`, `Box<T>` and `&'static T`
//! implement a kind trait whenever `T` does (`T` may be a trait object, `Arc<dyn SecretFinder>`).

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
}
