//! The models against the bodies Drone really sends, and their Go encoding.
//!
//! `fixtures/bodies/*.json` are the request bodies of protocol.md §7 (Examples 1, 1b, 2, 3),
//! stored without a trailing newline. They were produced by Go's `json.Marshal` of the drone-go
//! (or, for the webhook, the server's `core`) structs; `fixtures_are_the_exact_go_bodies` pins
//! them to the `Digest` values of the protocol, so "re-encodes to the fixture" means "encodes
//! like Go".

use std::collections::BTreeMap;
use std::fmt::Debug;

use base64::Engine as _;
use drone_extension::json;
use drone_extension::models::{
    Build, Config, DroneError, LegacyBuild, LegacyRepo, LegacySecret, Registry, Repo, Secret,
    Stage, Step, System, Token, User, Variable,
};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

const ADMISSION_LOGIN: &str = include_str!("fixtures/bodies/admission-login.json");
const ADMISSION_REGISTER: &str = include_str!("fixtures/bodies/admission-register.json");
const SECRET: &str = include_str!("fixtures/bodies/secret.json");
const WEBHOOK_USER_CREATED: &str = include_str!("fixtures/bodies/webhook-user-created.json");

fn encode<T: Serialize + ?Sized>(value: &T) -> String {
    json::to_string(value).expect("models always encode")
}

// ---------------------------------------------------------------------------------------------
// Request wrappers as the drone-go plugin packages declare them (test-local copies). Like Go,
// they default missing members; the models default missing and `null` fields themselves.

/// drone-go `admission.Request` at HEAD.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct AdmissionRequest {
    #[serde(skip_serializing_if = "String::is_empty")]
    event: String,
    user: User,
    token: Token,
}

/// drone-go `admission.Request` as built into Drone v2.0.4 (no `token`).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct AdmissionRequestV204 {
    #[serde(skip_serializing_if = "String::is_empty")]
    event: String,
    user: User,
}

/// drone-go `secret.Request`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct SecretRequest {
    path: String,
    name: String,
    repo: Repo,
    build: Build,
}

/// The server's webhook payload (`core.WebhookData`); members are pointers with `omitempty`.
#[derive(Debug, Deserialize)]
struct WebhookRequest {
    event: String,
    action: String,
    user: Option<User>,
    repo: Option<Repo>,
    build: Option<Build>,
    system: Option<System>,
}

/// The Drone 0.8 global secrets request.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GlobalSecretsRequest {
    action: String,
    repo: LegacyRepo,
    build: LegacyBuild,
}

// ---------------------------------------------------------------------------------------------
// The bodies of protocol.md §7.

#[test]
fn fixtures_are_the_exact_go_bodies() {
    let cases = [
        (
            ADMISSION_LOGIN,
            338,
            "Zdhyq4rAv3gYFbWXpolJ3LlxuU0bIqZRsJ5/SCXSJZo=",
        ),
        (
            ADMISSION_REGISTER,
            278,
            "D3FYeulWNPRGMqhRqXMnzGh4ZaTuVy/qdPsBy/b5PJk=",
        ),
        (SECRET, 1763, "E318beqf9DVQa23B/OK+VwW0sT8oCMTo+FPQA+O9yyc="),
        (
            WEBHOOK_USER_CREATED,
            403,
            "FazVG0CVAJoCM7hlgc5Hbsx5XMuhfhsmreHWm4DZKq4=",
        ),
    ];
    for (body, len, digest) in cases {
        assert_eq!(body.len(), len, "Content-Length of {body}");
        let actual = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body));
        assert_eq!(actual, digest, "Digest of {body}");
    }
}

#[test]
fn example_1_admission_login_reencodes_byte_for_byte() {
    let req: AdmissionRequest = serde_json::from_str(ADMISSION_LOGIN).unwrap();

    assert_eq!(req.event, "login");
    assert_eq!(
        req.user,
        User {
            id: 1,
            login: "octocat".into(),
            email: "octocat@github.com".into(),
            avatar_url: "https://avatars.githubusercontent.com/u/583231?v=4".into(),
            active: true,
            synced: 1_577_836_800,
            created: 1_577_836_800,
            updated: 1_577_836_800,
            last_login: 1_577_836_800,
            ..Default::default()
        }
    );
    assert_eq!(req.token, Token::default());
    assert_eq!(encode(&req), ADMISSION_LOGIN);
}

#[test]
fn example_1b_admission_register_reencodes_byte_for_byte() {
    // A v2.0.4 body has no `token`: the HEAD wrapper still decodes it…
    let head: AdmissionRequest = serde_json::from_str(ADMISSION_REGISTER).unwrap();
    assert_eq!(head.event, "register");
    assert_eq!(head.user.id, 0);
    assert_eq!(head.user.email, "");
    assert!(head.user.syncing);
    assert_eq!(head.token, Token::default());

    // …and the v2.0.4 wrapper re-encodes it exactly.
    let v204: AdmissionRequestV204 = serde_json::from_str(ADMISSION_REGISTER).unwrap();
    assert_eq!(v204.user, head.user);
    assert_eq!(encode(&v204), ADMISSION_REGISTER);
}

#[test]
fn example_2_secret_request_reencodes_byte_for_byte() {
    let req: SecretRequest = serde_json::from_str(SECRET).unwrap();

    assert_eq!(req.path, "secret/data/docker");
    assert_eq!(req.name, "username");
    assert_eq!(req.repo.slug, "octocat/hello-world");
    assert_eq!(req.repo.uid, "1296269");
    assert_eq!(req.repo.timeout, 60);
    assert_eq!(req.repo.secret, "");
    assert_eq!(req.repo.build, Build::default());
    assert_eq!(req.build.number, 7);
    assert_eq!(req.build.r#ref, "refs/heads/master");
    assert_eq!(req.build.author_login, "octocat");
    assert!(!req.build.is_pull_request());
    assert!(!req.build.is_fork(&req.repo));

    assert_eq!(encode(&req), SECRET);
}

#[test]
fn example_3_server_webhook_decodes_core_types() {
    let req: WebhookRequest = serde_json::from_str(WEBHOOK_USER_CREATED).unwrap();

    assert_eq!(
        (req.event.as_str(), req.action.as_str()),
        ("user", "created")
    );
    assert!(req.repo.is_none() && req.build.is_none());
    let user = req.user.unwrap();
    assert_eq!(
        user,
        User {
            id: 1,
            login: "octocat".into(),
            email: "octocat@github.com".into(),
            // The server's `core.User` calls it `avatar`.
            avatar_url: "https://avatars.githubusercontent.com/u/583231?v=4".into(),
            active: true,
            syncing: true,
            created: 1_577_836_800,
            updated: 1_577_836_800,
            last_login: 1_577_836_800,
            ..Default::default()
        }
    );
    let system = req.system.unwrap();
    assert_eq!(
        system,
        System {
            proto: "https".into(),
            host: "drone.example.com".into(),
            link: "https://drone.example.com".into(),
            version: "2.0.4".into(),
        }
    );
    // `core.System` and `drone.System` encode identically.
    assert!(WEBHOOK_USER_CREATED.contains(&format!(r#""system":{}}}"#, encode(&system))));
}

#[test]
fn webhook_repo_with_permissions_and_pointer_build() {
    let body = r#"{"event":"build","action":"updated",
        "repo":{"id":42,"slug":"octocat/hello-world","throttle":0,
                "permissions":{"read":true,"write":true,"admin":false},
                "build":{"id":100,"number":7,"status":"success","debug":false}},
        "build":{"id":100,"number":7,"status":"success",
                 "stages":[{"id":1,"repo_id":42,"build_id":100,"number":1,"name":"default",
                            "steps":[{"id":1,"step_id":1,"number":1,"name":"clone","status":"success"}]}]}}"#;
    let req: WebhookRequest = serde_json::from_str(body).unwrap();

    let repo = req.repo.unwrap();
    assert_eq!(repo.slug, "octocat/hello-world");
    assert_eq!(repo.build.number, 7);
    let build = req.build.unwrap();
    assert_eq!(build.stages.len(), 1);
    assert_eq!(build.stages[0].name, "default");
    assert_eq!(build.stages[0].steps[0].step_id, 1);
    assert_eq!(build.stages[0].steps[0].name, "clone");
}

#[test]
fn global_secrets_request_decodes_legacy_models() {
    // protocol.md §2.2, with the commit the docs shorten written out.
    let body = r#"{"action":"created","repo":{"id":1,"owner":"octocat","name":"hello-world","full_name":"octocat/hello-world","clone_url":"https://github.com/octocat/hello-world.git","default_branch":"master"},"build":{"id":1,"number":1,"event":"push","status":"pending","commit":"2deb7e0d0cbac357eeb110c8a2f2f32ce037e0d5","branch":"master","ref":"refs/heads/master","author":"Spaceghost","author_email":"octocat@github.com"}}"#;
    let req: GlobalSecretsRequest = serde_json::from_str(body).unwrap();

    assert_eq!(req.action, "created");
    assert_eq!(
        req.repo,
        LegacyRepo {
            id: 1,
            owner: "octocat".into(),
            name: "hello-world".into(),
            full_name: "octocat/hello-world".into(),
            clone_url: "https://github.com/octocat/hello-world.git".into(),
            default_branch: "master".into(),
            ..Default::default()
        }
    );
    assert_eq!(
        req.build,
        LegacyBuild {
            id: 1,
            number: 1,
            event: "push".into(),
            status: "pending".into(),
            commit: "2deb7e0d0cbac357eeb110c8a2f2f32ce037e0d5".into(),
            branch: "master".into(),
            r#ref: "refs/heads/master".into(),
            author: "Spaceghost".into(),
            author_email: "octocat@github.com".into(),
            ..Default::default()
        }
    );
}

#[test]
fn missing_null_and_unknown_members_of_a_request() {
    // No `repo`, an unknown member, `null`s and an unknown key inside the build.
    let body = r#"{"path":"secrets/data/docker","build":{"params":null,"stages":null,"event":"tag","title":null,"x":{}},"extra":[1,{"a":null}]}"#;
    let req: SecretRequest = serde_json::from_str(body).unwrap();

    assert_eq!(req.path, "secrets/data/docker");
    assert_eq!(req.name, "");
    assert_eq!(req.repo, Repo::default());
    assert_eq!(
        req.build,
        Build {
            event: "tag".into(),
            ..Default::default()
        }
    );

    // A nested struct sent as `null` is a zero value too.
    let repo: Repo = serde_json::from_str(r#"{"slug":"a/b","build":null}"#).unwrap();
    assert_eq!(repo.build, Build::default());
    let stage: Stage =
        serde_json::from_str(r#"{"labels":null,"steps":null,"depends_on":null}"#).unwrap();
    assert_eq!(stage, Stage::default());
}

#[test]
fn user_accepts_both_avatar_spellings_and_encodes_avatar_url() {
    for key in ["avatar", "avatar_url"] {
        let user: User = serde_json::from_str(&format!(r#"{{"{key}":"https://a"}}"#)).unwrap();
        assert_eq!(user.avatar_url, "https://a");
        assert!(encode(&user).contains(r#""avatar_url":"https://a""#));
        assert!(!encode(&user).contains(r#""avatar":"#));
    }
}

#[test]
fn type_errors_are_still_errors() {
    // Lenient about presence, not about types: Go also fails on these.
    assert!(serde_json::from_str::<User>(r#"{"id":"1"}"#).is_err());
    assert!(serde_json::from_str::<Build>(r#"{"params":[]}"#).is_err());
    assert!(serde_json::from_str::<Repo>(r#"{"build":"x"}"#).is_err());
    assert!(serde_json::from_str::<User>(r#""octocat""#).is_err());
}

// ---------------------------------------------------------------------------------------------
// The Go shape of every model: exact encoding with every field set and with none set, and the
// lenient decoding of each key.

/// `value` encodes to exactly `golden` and `golden` decodes back to `value`, also with unknown
/// keys added.
#[track_caller]
fn assert_go_shape<T>(value: &T, golden: &str)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    assert_eq!(encode(value), golden, "encoding");
    assert_eq!(
        &serde_json::from_str::<T>(golden).unwrap(),
        value,
        "decoding"
    );

    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(golden).unwrap();
    object.insert(
        "x-unknown".into(),
        serde_json::json!({"nested": [1, null, "<"]}),
    );
    object.insert("Permissions".into(), serde_json::Value::Null);
    let with_unknown = serde_json::to_string(&object).unwrap();
    assert_eq!(
        &serde_json::from_str::<T>(&with_unknown).unwrap(),
        value,
        "decoding with unknown keys"
    );
}

/// Every key of `golden` set to `null` decodes to the default, and so does `{}`.
#[track_caller]
fn assert_nulls_decode_to_default<T>(golden: &str)
where
    T: DeserializeOwned + Default + PartialEq + Debug,
{
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(golden).unwrap();
    assert!(!object.is_empty());
    for value in object.values_mut() {
        *value = serde_json::Value::Null;
    }
    let nulls = serde_json::to_string(&object).unwrap();
    assert_eq!(
        serde_json::from_str::<T>(&nulls).unwrap(),
        T::default(),
        "{nulls}"
    );
    assert_eq!(
        serde_json::from_str::<T>("{}").unwrap(),
        T::default(),
        "{{}}"
    );
}

fn full_step() -> Step {
    Step {
        id: 18,
        step_id: 12,
        number: 1,
        name: "test".into(),
        status: "failure".into(),
        error: "exit 1".into(),
        errignore: true,
        exit_code: 1,
        started: 19,
        stopped: 20,
        version: 21,
        depends_on: vec!["clone".into()],
        image: "golang:1.22".into(),
        detached: true,
        schema: "https://example.com/card.json".into(),
    }
}

const FULL_STEP: &str = concat!(
    r#"{"id":18,"step_id":12,"number":1,"name":"test","status":"failure","error":"exit 1","#,
    r#""errignore":true,"exit_code":1,"started":19,"stopped":20,"version":21,"#,
    r#""depends_on":["clone"],"image":"golang:1.22","detached":true,"#,
    r#""schema":"https://example.com/card.json"}"#,
);

fn full_stage() -> Stage {
    Stage {
        id: 12,
        build_id: 1,
        number: 1,
        name: "default".into(),
        kind: "pipeline".into(),
        r#type: "docker".into(),
        status: "failure".into(),
        error: "exit 1".into(),
        errignore: true,
        exit_code: 1,
        machine: "runner-1".into(),
        os: "linux".into(),
        arch: "amd64".into(),
        variant: "v8".into(),
        kernel: "5.10".into(),
        limit: 2,
        throttle: 3,
        started: 13,
        stopped: 14,
        created: 15,
        updated: 16,
        version: 17,
        on_success: true,
        on_failure: true,
        depends_on: vec!["lint".into()],
        labels: BTreeMap::from([("os".into(), "linux".into())]),
        steps: vec![full_step()],
    }
}

fn full_stage_json() -> String {
    concat!(
        r#"{"id":12,"build_id":1,"number":1,"name":"default","kind":"pipeline","type":"docker","#,
        r#""status":"failure","error":"exit 1","errignore":true,"exit_code":1,"#,
        r#""machine":"runner-1","os":"linux","arch":"amd64","variant":"v8","kernel":"5.10","#,
        r#""limit":2,"throttle":3,"started":13,"stopped":14,"created":15,"updated":16,"#,
        r#""version":17,"on_success":true,"on_failure":true,"depends_on":["lint"],"#,
        r#""labels":{"os":"linux"},"steps":["#,
    )
    .to_owned()
        + FULL_STEP
        + "]}"
}

fn full_build() -> Build {
    Build {
        id: 1,
        repo_id: 2,
        trigger: "@hook".into(),
        number: 3,
        parent: 4,
        status: "failure".into(),
        error: "boom".into(),
        event: "pull_request".into(),
        action: "opened".into(),
        link: "https://github.com/octocat/hello-world/pull/5".into(),
        timestamp: 5,
        title: "Fix <b> & more".into(),
        message: "msg".into(),
        before: "b4".into(),
        after: "af".into(),
        r#ref: "refs/pull/5/head".into(),
        source_repo: "spacekitty/hello-world".into(),
        source: "feature".into(),
        target: "main".into(),
        author_login: "spacekitty".into(),
        author_name: "Space Kitty".into(),
        author_email: "kitty@example.com".into(),
        author_avatar: "https://example.com/k.png".into(),
        sender: "spacekitty".into(),
        params: BTreeMap::from([("b".into(), "2".into()), ("a".into(), "1".into())]),
        cron: "nightly".into(),
        deploy_to: "production".into(),
        deploy_id: 6,
        debug: true,
        started: 7,
        finished: 8,
        created: 9,
        updated: 10,
        version: 11,
        stages: vec![full_stage()],
    }
}

fn full_build_json() -> String {
    concat!(
        r#"{"id":1,"repo_id":2,"trigger":"@hook","number":3,"parent":4,"status":"failure","#,
        r#""error":"boom","event":"pull_request","action":"opened","#,
        r#""link":"https://github.com/octocat/hello-world/pull/5","timestamp":5,"#,
        r#""title":"Fix \u003cb\u003e \u0026 more","message":"msg","before":"b4","after":"af","#,
        r#""ref":"refs/pull/5/head","source_repo":"spacekitty/hello-world","source":"feature","#,
        r#""target":"main","author_login":"spacekitty","author_name":"Space Kitty","#,
        r#""author_email":"kitty@example.com","author_avatar":"https://example.com/k.png","#,
        r#""sender":"spacekitty","params":{"a":"1","b":"2"},"cron":"nightly","#,
        r#""deploy_to":"production","deploy_id":6,"debug":true,"started":7,"finished":8,"#,
        r#""created":9,"updated":10,"version":11,"stages":["#,
    )
    .to_owned()
        + &full_stage_json()
        + "]}"
}

/// A zero `drone.Build`, as Go encodes it (Example 2's `repo.build`).
const ZERO_BUILD: &str = concat!(
    r#"{"id":0,"repo_id":0,"trigger":"","number":0,"status":"","event":"","action":"","link":"","#,
    r#""timestamp":0,"message":"","before":"","after":"","ref":"","source_repo":"","source":"","#,
    r#""target":"","author_login":"","author_name":"","author_email":"","author_avatar":"","#,
    r#""sender":"","debug":false,"started":0,"finished":0,"created":0,"updated":0,"version":0}"#,
);

#[test]
fn build_stage_and_step_have_the_go_shape() {
    assert_go_shape(&full_step(), FULL_STEP);
    assert_go_shape(
        &Step::default(),
        r#"{"id":0,"step_id":0,"number":0,"name":"","status":"","exit_code":0,"version":0}"#,
    );
    assert_nulls_decode_to_default::<Step>(FULL_STEP);

    let stage = full_stage_json();
    assert_go_shape(&full_stage(), &stage);
    assert_go_shape(
        &Stage::default(),
        concat!(
            r#"{"id":0,"build_id":0,"number":0,"name":"","status":"","errignore":false,"#,
            r#""exit_code":0,"os":"","arch":"","started":0,"stopped":0,"created":0,"updated":0,"#,
            r#""version":0,"on_success":false,"on_failure":false}"#,
        ),
    );
    assert_nulls_decode_to_default::<Stage>(&stage);

    let build = full_build_json();
    assert_go_shape(&full_build(), &build);
    assert_go_shape(&Build::default(), ZERO_BUILD);
    assert_nulls_decode_to_default::<Build>(&build);
}

#[test]
fn repo_has_the_go_shape() {
    let mut repo = serde_json::from_str::<SecretRequest>(SECRET).unwrap().repo;
    let example =
        &SECRET[SECRET.find(r#"{"id":42"#).unwrap()..SECRET.find(r#","build":{"id":100"#).unwrap()];
    assert_go_shape(&repo, example);

    // `signer` and `secret` are omitempty and come just before the always-present `build`.
    repo.signer = "s1gn3r".into();
    repo.secret = "s3cr3t".into();
    repo.build = full_build();
    let (head, _) = example.split_once(r#","build":"#).unwrap();
    let full = format!(
        r#"{head},"signer":"s1gn3r","secret":"s3cr3t","build":{}}}"#,
        full_build_json()
    );
    assert_go_shape(&repo, &full);
    assert_nulls_decode_to_default::<Repo>(&full);

    assert!(encode(&Repo::default()).ends_with(&format!(r#","version":0,"build":{ZERO_BUILD}}}"#)));
}

#[test]
fn user_and_token_have_the_go_shape() {
    let user = serde_json::from_str::<AdmissionRequest>(ADMISSION_LOGIN)
        .unwrap()
        .user;
    let example = &ADMISSION_LOGIN[ADMISSION_LOGIN.find(r#"{"id":1"#).unwrap()
        ..ADMISSION_LOGIN.find(r#","token":{"#).unwrap()];
    assert_go_shape(&user, example);
    assert_go_shape(
        &User {
            token: "t0k3n".into(),
            ..User::default()
        },
        concat!(
            r#"{"id":0,"login":"","email":"","avatar_url":"","active":false,"admin":false,"#,
            r#""machine":false,"syncing":false,"synced":0,"created":0,"updated":0,"last_login":0,"#,
            r#""token":"t0k3n"}"#,
        ),
    );
    assert_nulls_decode_to_default::<User>(example);

    let token = Token {
        access: "a".into(),
        refresh: "r".into(),
    };
    assert_go_shape(&token, r#"{"access":"a","refresh":"r"}"#);
    assert_go_shape(&Token::default(), r#"{"access":"","refresh":""}"#);
    assert_nulls_decode_to_default::<Token>(r#"{"access":"a","refresh":"r"}"#);
}

#[test]
fn response_types_have_the_go_shape() {
    let full = r#"{"namespace":"octocat","name":"username","data":"octocat","pull_request":true,"pull_request_push":true,"pull":true,"fork":true}"#;
    assert_go_shape(
        &Secret {
            namespace: "octocat".into(),
            name: "username".into(),
            data: "octocat".into(),
            pull_request: true,
            pull_request_push: true,
            pull: true,
            fork: true,
        },
        full,
    );
    assert_go_shape(&Secret::default(), "{}");
    assert_nulls_decode_to_default::<Secret>(full);

    let full = r#"{"address":"index.docker.io","username":"octocat","password":"pw","email":"o@example.com","token":"tk","policy":"always"}"#;
    assert_go_shape(
        &Registry {
            address: "index.docker.io".into(),
            username: "octocat".into(),
            password: "pw".into(),
            email: "o@example.com".into(),
            token: "tk".into(),
            policy: "always".into(),
        },
        full,
    );
    assert_go_shape(
        &Registry::default(),
        r#"{"address":"","username":"","email":"","token":""}"#,
    );
    assert_nulls_decode_to_default::<Registry>(full);

    let full = r#"{"name":"TOKEN","data":"s3cr3t","mask":true}"#;
    assert_go_shape(
        &Variable {
            name: "TOKEN".into(),
            data: "s3cr3t".into(),
            mask: true,
        },
        full,
    );
    assert_go_shape(&Variable::default(), "{}");
    assert_nulls_decode_to_default::<Variable>(full);

    assert_go_shape(
        &Config {
            data: "d".into(),
            kind: "k".into(),
        },
        r#"{"data":"d","kind":"k"}"#,
    );
    assert_go_shape(&Config::default(), r#"{"data":"","kind":""}"#);
    assert_nulls_decode_to_default::<Config>(r#"{"data":"d","kind":"k"}"#);

    assert_go_shape(
        &DroneError::new(498, "skip"),
        r#"{"code":498,"message":"skip"}"#,
    );
    assert_go_shape(&DroneError::default(), r#"{"code":0,"message":""}"#);
    assert_nulls_decode_to_default::<DroneError>(r#"{"code":1,"message":"m"}"#);

    let full = r#"{"proto":"https","host":"drone.example.com","link":"https://drone.example.com","version":"2.0.4"}"#;
    assert_go_shape(&System::default(), "{}");
    assert_nulls_decode_to_default::<System>(full);
}

#[test]
fn legacy_models_have_the_go_shape() {
    let full_repo = concat!(
        r#"{"id":1,"owner":"octocat","name":"hello-world","full_name":"octocat/hello-world","#,
        r#""avatar_url":"https://example.com/o.png","link_url":"https://github.com/octocat/hello-world","#,
        r#""scm":"git","clone_url":"https://github.com/octocat/hello-world.git","#,
        r#""default_branch":"master","timeout":60,"visibility":"public","private":true,"#,
        r#""trusted":true,"starred":true,"gated":true,"active":true,"allow_pr":true,"#,
        r#""allow_push":true,"allow_deploys":true,"allow_tags":true,"last_build":7,"#,
        r#""config_file":".drone.yml"}"#,
    );
    assert_go_shape(
        &LegacyRepo {
            id: 1,
            owner: "octocat".into(),
            name: "hello-world".into(),
            full_name: "octocat/hello-world".into(),
            avatar_url: "https://example.com/o.png".into(),
            link_url: "https://github.com/octocat/hello-world".into(),
            scm: "git".into(),
            clone_url: "https://github.com/octocat/hello-world.git".into(),
            default_branch: "master".into(),
            timeout: 60,
            visibility: "public".into(),
            private: true,
            trusted: true,
            starred: true,
            gated: true,
            active: true,
            allow_pr: true,
            allow_push: true,
            allow_deploys: true,
            allow_tags: true,
            last_build: 7,
            config_file: ".drone.yml".into(),
        },
        full_repo,
    );
    assert_go_shape(
        &LegacyRepo::default(),
        concat!(
            r#"{"owner":"","name":"","full_name":"","visibility":"","private":false,"#,
            r#""trusted":false,"gated":false,"active":false,"allow_pr":false,"allow_push":false,"#,
            r#""allow_deploys":false,"allow_tags":false,"last_build":0,"config_file":""}"#,
        ),
    );
    assert_nulls_decode_to_default::<LegacyRepo>(full_repo);

    let full_build = concat!(
        r#"{"id":1,"number":2,"parent":3,"event":"push","status":"pending","error":"e","#,
        r#""enqueued_at":4,"created_at":5,"started_at":6,"finished_at":7,"deploy_to":"prod","#,
        r#""commit":"2deb7e0d0cbac357eeb110c8a2f2f32ce037e0d5","branch":"master","#,
        r#""ref":"refs/heads/master","refspec":"feature:master","#,
        r#""remote":"https://github.com/octocat/hello-world.git","title":"t","message":"m","#,
        r#""timestamp":8,"sender":"octocat","author":"Spaceghost","#,
        r#""author_avatar":"https://example.com/s.png","author_email":"octocat@github.com","#,
        r#""link_url":"https://github.com/octocat/hello-world/commit/2deb","signed":true,"#,
        r#""verified":true,"reviewed_by":"admin","reviewed_at":9,"procs":[{"pid":1}],"#,
        r#""files":[{"name":"junit.xml"}]}"#,
    );
    assert_go_shape(
        &LegacyBuild {
            id: 1,
            number: 2,
            parent: 3,
            event: "push".into(),
            status: "pending".into(),
            error: "e".into(),
            enqueued_at: 4,
            created_at: 5,
            started_at: 6,
            finished_at: 7,
            deploy_to: "prod".into(),
            commit: "2deb7e0d0cbac357eeb110c8a2f2f32ce037e0d5".into(),
            branch: "master".into(),
            r#ref: "refs/heads/master".into(),
            refspec: "feature:master".into(),
            remote: "https://github.com/octocat/hello-world.git".into(),
            title: "t".into(),
            message: "m".into(),
            timestamp: 8,
            sender: "octocat".into(),
            author: "Spaceghost".into(),
            author_avatar: "https://example.com/s.png".into(),
            author_email: "octocat@github.com".into(),
            link_url: "https://github.com/octocat/hello-world/commit/2deb".into(),
            signed: true,
            verified: true,
            reviewed_by: "admin".into(),
            reviewed_at: 9,
            procs: vec![serde_json::json!({"pid": 1})],
            files: vec![serde_json::json!({"name": "junit.xml"})],
        },
        full_build,
    );
    assert_go_shape(
        &LegacyBuild::default(),
        concat!(
            r#"{"id":0,"number":0,"parent":0,"event":"","status":"","error":"","enqueued_at":0,"#,
            r#""created_at":0,"started_at":0,"finished_at":0,"deploy_to":"","commit":"","#,
            r#""branch":"","ref":"","refspec":"","remote":"","title":"","message":"","#,
            r#""timestamp":0,"sender":"","author":"","author_avatar":"","author_email":"","#,
            r#""link_url":"","signed":false,"verified":false,"reviewed_by":"","reviewed_at":0}"#,
        ),
    );
    assert_nulls_decode_to_default::<LegacyBuild>(full_build);

    let full_secret = r#"{"id":1,"name":"docker_username","value":"octocat","image":["plugins/docker"],"event":["push","tag"]}"#;
    assert_go_shape(
        &LegacySecret {
            id: 1,
            name: "docker_username".into(),
            value: "octocat".into(),
            image: vec!["plugins/docker".into()],
            event: vec!["push".into(), "tag".into()],
        },
        full_secret,
    );
    // `id` and `image` are omitted when empty (see the type's docs); `event` never is.
    assert_go_shape(&LegacySecret::default(), r#"{"name":"","event":[]}"#);
    assert_nulls_decode_to_default::<LegacySecret>(full_secret);
}

// ---------------------------------------------------------------------------------------------
// Response bodies from protocol.md §2.

#[test]
fn documented_response_bodies() {
    let secret = Secret {
        name: "username".into(),
        data: "octocat".into(),
        pull: true,
        ..Default::default()
    };
    assert_eq!(
        encode(&secret),
        r#"{"name":"username","data":"octocat","pull":true}"#
    );

    let registries = [Registry {
        address: "index.docker.io".into(),
        username: "octocat".into(),
        password: "correct-horse-battery-staple".into(),
        ..Default::default()
    }];
    assert_eq!(
        encode(&registries),
        r#"[{"address":"index.docker.io","username":"octocat","password":"correct-horse-battery-staple","email":"","token":""}]"#
    );

    let variables = [
        Variable {
            name: "FOO".into(),
            data: "bar".into(),
            mask: false,
        },
        Variable {
            name: "TOKEN".into(),
            data: "s3cr3t".into(),
            mask: true,
        },
    ];
    assert_eq!(
        encode(&variables),
        r#"[{"name":"FOO","data":"bar"},{"name":"TOKEN","data":"s3cr3t","mask":true}]"#
    );

    let config = Config {
        data: "kind: pipeline\ntype: docker\nname: default\n".into(),
        kind: String::new(),
    };
    assert_eq!(
        encode(&config),
        r#"{"data":"kind: pipeline\ntype: docker\nname: default\n","kind":""}"#
    );

    let error = DroneError::new(400, "cannot use image from external registry");
    assert_eq!(
        encode(&error),
        r#"{"code":400,"message":"cannot use image from external registry"}"#
    );

    let secrets = [LegacySecret {
        name: "docker_username".into(),
        value: "octocat".into(),
        event: vec!["push".into(), "tag".into()],
        ..Default::default()
    }];
    assert_eq!(
        encode(&secrets),
        r#"[{"name":"docker_username","value":"octocat","event":["push","tag"]}]"#
    );
    assert_eq!(encode(&Vec::<LegacySecret>::new()), "[]");

    // The admission answer that keeps an admin an admin.
    let user = User {
        login: "octocat".into(),
        admin: true,
        ..Default::default()
    };
    assert!(encode(&user).contains(r#""admin":true"#));
}

// ---------------------------------------------------------------------------------------------
// Debug output never shows credentials.

#[track_caller]
fn assert_debug_hides<T: Debug>(value: &T, secrets: &[&str], visible: &[&str]) {
    let debug = format!("{value:?}");
    let pretty = format!("{value:#?}");
    for secret in secrets {
        assert!(!debug.contains(secret), "{secret:?} leaked in {debug}");
        assert!(!pretty.contains(secret), "{secret:?} leaked in {pretty}");
    }
    assert!(debug.contains("<redacted>"), "{debug}");
    for shown in visible {
        assert!(debug.contains(shown), "{shown:?} missing from {debug}");
    }
}

#[test]
fn debug_redacts_credentials() {
    assert_debug_hides(
        &User {
            login: "octocat".into(),
            token: "user-api-token".into(),
            ..Default::default()
        },
        &["user-api-token"],
        &["octocat"],
    );
    assert_debug_hides(
        &Repo {
            slug: "octocat/hello-world".into(),
            signer: "hook-signer".into(),
            secret: "repo-signing-secret".into(),
            ..Default::default()
        },
        &["hook-signer", "repo-signing-secret"],
        &["octocat/hello-world", "Build {"],
    );
    assert_debug_hides(
        &Token {
            access: "oauth-access".into(),
            refresh: "oauth-refresh".into(),
        },
        &["oauth-access", "oauth-refresh"],
        &["Token"],
    );
    assert_debug_hides(
        &Secret {
            name: "username".into(),
            data: "the-secret-value".into(),
            pull: true,
            ..Default::default()
        },
        &["the-secret-value"],
        &["username", "pull: true"],
    );
    assert_debug_hides(
        &Registry {
            address: "index.docker.io".into(),
            username: "octocat".into(),
            password: "registry-password".into(),
            token: "registry-token".into(),
            ..Default::default()
        },
        &["registry-password", "registry-token"],
        &["index.docker.io", "octocat"],
    );
    assert_debug_hides(
        &Variable {
            name: "TOKEN".into(),
            data: "masked-value".into(),
            mask: true,
        },
        &["masked-value"],
        &["TOKEN"],
    );
    assert_debug_hides(
        &LegacySecret {
            name: "docker_password".into(),
            value: "legacy-value".into(),
            ..Default::default()
        },
        &["legacy-value"],
        &["docker_password"],
    );
}

#[test]
fn debug_shows_what_is_not_secret() {
    // An unmasked variable is a plain environment variable.
    let plain = Variable {
        name: "FOO".into(),
        data: "bar".into(),
        mask: false,
    };
    assert_eq!(
        format!("{plain:?}"),
        r#"Variable { name: "FOO", data: "bar", mask: false }"#
    );
    // An empty credential shows as empty, so "not sent" stays visible.
    assert_eq!(
        format!("{:?}", Token::default()),
        r#"Token { access: "", refresh: "" }"#
    );
    assert_eq!(
        format!(
            "{:?}",
            Token {
                access: "x".into(),
                refresh: String::new()
            }
        ),
        r#"Token { access: <redacted>, refresh: "" }"#
    );
}

// ---------------------------------------------------------------------------------------------
// Helpers.

#[test]
fn pull_request_and_fork_helpers() {
    let repo = Repo {
        slug: "octocat/hello-world".into(),
        ..Default::default()
    };
    let push = Build {
        event: "push".into(),
        ..Default::default()
    };
    assert!(!push.is_pull_request());
    assert!(!push.is_fork(&repo), "no source_repo: not a fork");

    let same_repo_pr = Build {
        event: "pull_request".into(),
        source_repo: "octocat/hello-world".into(),
        ..Default::default()
    };
    assert!(same_repo_pr.is_pull_request());
    assert!(!same_repo_pr.is_fork(&repo));

    let fork_pr = Build {
        source_repo: "spacekitty/hello-world".into(),
        ..same_repo_pr.clone()
    };
    assert!(fork_pr.is_fork(&repo));

    let other_case = Build {
        source_repo: "OctoCat/hello-world".into(),
        ..same_repo_pr
    };
    assert!(
        other_case.is_fork(&repo),
        "exact comparison errs on the side of a fork"
    );
}

// ---------------------------------------------------------------------------------------------
// Properties.

/// Arbitrary strings, biased towards the characters Go escapes differently.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        r#"[a-z<>&"\\/\x00-\x1f\x7f\u2028\u2029é😀]{0,12}"#,
    ]
}

fn map() -> impl Strategy<Value = BTreeMap<String, String>> {
    proptest::collection::btree_map(text(), text(), 0..3)
}

fn strings() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(text(), 0..3)
}

fn user() -> impl Strategy<Value = User> {
    (
        proptest::array::uniform::<_, 4>(text()),
        proptest::array::uniform::<_, 5>(any::<i64>()),
        proptest::array::uniform::<_, 4>(any::<bool>()),
    )
        .prop_map(|(s, n, b)| {
            let [login, email, avatar_url, token] = s;
            let [id, synced, created, updated, last_login] = n;
            let [active, admin, machine, syncing] = b;
            User {
                id,
                login,
                email,
                avatar_url,
                active,
                admin,
                machine,
                syncing,
                synced,
                created,
                updated,
                last_login,
                token,
            }
        })
}

fn step() -> impl Strategy<Value = Step> {
    (
        proptest::array::uniform::<_, 5>(text()),
        proptest::array::uniform::<_, 7>(any::<i64>()),
        proptest::array::uniform::<_, 2>(any::<bool>()),
        strings(),
    )
        .prop_map(|(s, n, b, depends_on)| {
            let [name, status, error, image, schema] = s;
            let [id, step_id, number, exit_code, started, stopped, version] = n;
            let [errignore, detached] = b;
            Step {
                id,
                step_id,
                number,
                name,
                status,
                error,
                errignore,
                exit_code,
                started,
                stopped,
                version,
                depends_on,
                image,
                detached,
                schema,
            }
        })
}

fn stage() -> impl Strategy<Value = Stage> {
    (
        proptest::array::uniform::<_, 10>(text()),
        proptest::array::uniform::<_, 11>(any::<i64>()),
        proptest::array::uniform::<_, 3>(any::<bool>()),
        strings(),
        map(),
        proptest::collection::vec(step(), 0..2),
    )
        .prop_map(|(s, n, b, depends_on, labels, steps)| {
            let [
                name,
                kind,
                r#type,
                status,
                error,
                machine,
                os,
                arch,
                variant,
                kernel,
            ] = s;
            let [
                id,
                build_id,
                number,
                exit_code,
                limit,
                throttle,
                started,
                stopped,
                created,
                updated,
                version,
            ] = n;
            let [errignore, on_success, on_failure] = b;
            Stage {
                id,
                build_id,
                number,
                name,
                kind,
                r#type,
                status,
                error,
                errignore,
                exit_code,
                machine,
                os,
                arch,
                variant,
                kernel,
                limit,
                throttle,
                started,
                stopped,
                created,
                updated,
                version,
                on_success,
                on_failure,
                depends_on,
                labels,
                steps,
            }
        })
}

fn build() -> impl Strategy<Value = Build> {
    (
        proptest::array::uniform::<_, 21>(text()),
        proptest::array::uniform::<_, 11>(any::<i64>()),
        any::<bool>(),
        map(),
        proptest::collection::vec(stage(), 0..2),
    )
        .prop_map(|(s, n, debug, params, stages)| {
            let [
                trigger,
                status,
                error,
                event,
                action,
                link,
                title,
                message,
                before,
                after,
                r#ref,
                source_repo,
                source,
                target,
                author_login,
                author_name,
                author_email,
                author_avatar,
                sender,
                cron,
                deploy_to,
            ] = s;
            let [
                id,
                repo_id,
                number,
                parent,
                timestamp,
                deploy_id,
                started,
                finished,
                created,
                updated,
                version,
            ] = n;
            Build {
                id,
                repo_id,
                trigger,
                number,
                parent,
                status,
                error,
                event,
                action,
                link,
                timestamp,
                title,
                message,
                before,
                after,
                r#ref,
                source_repo,
                source,
                target,
                author_login,
                author_name,
                author_email,
                author_avatar,
                sender,
                params,
                cron,
                deploy_to,
                deploy_id,
                debug,
                started,
                finished,
                created,
                updated,
                version,
                stages,
            }
        })
}

fn repo() -> impl Strategy<Value = Repo> {
    (
        proptest::array::uniform::<_, 13>(text()),
        proptest::array::uniform::<_, 9>(any::<i64>()),
        proptest::array::uniform::<_, 9>(any::<bool>()),
        build(),
    )
        .prop_map(|(s, n, b, build)| {
            let [
                uid,
                namespace,
                name,
                slug,
                scm,
                git_http_url,
                git_ssh_url,
                link,
                default_branch,
                visibility,
                config_path,
                signer,
                secret,
            ] = s;
            let [
                id,
                user_id,
                throttle,
                timeout,
                counter,
                synced,
                created,
                updated,
                version,
            ] = n;
            let [
                private,
                active,
                trusted,
                protected,
                ignore_forks,
                ignore_pull_requests,
                auto_cancel_pull_requests,
                auto_cancel_pushes,
                auto_cancel_running,
            ] = b;
            Repo {
                id,
                uid,
                user_id,
                namespace,
                name,
                slug,
                scm,
                git_http_url,
                git_ssh_url,
                link,
                default_branch,
                private,
                visibility,
                active,
                config_path,
                trusted,
                protected,
                ignore_forks,
                ignore_pull_requests,
                auto_cancel_pull_requests,
                auto_cancel_pushes,
                auto_cancel_running,
                throttle,
                timeout,
                counter,
                synced,
                created,
                updated,
                version,
                signer,
                secret,
                build,
            }
        })
}

/// `value` survives `json::to_vec` + `serde_json::from_slice`, and the Go spelling is the same
/// JSON value as serde_json's own.
fn assert_round_trip<T>(value: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let go = json::to_vec(value).unwrap();
    prop_assert_eq!(&serde_json::from_slice::<T>(&go).unwrap(), value);
    let go_value: serde_json::Value = serde_json::from_slice(&go).unwrap();
    let serde_value: serde_json::Value =
        serde_json::from_slice(&serde_json::to_vec(value).unwrap()).unwrap();
    prop_assert_eq!(go_value, serde_value);
    Ok(())
}

proptest! {
    #[test]
    fn user_round_trips(user in user()) {
        assert_round_trip(&user)?;
    }

    #[test]
    fn build_round_trips(build in build()) {
        assert_round_trip(&build)?;
    }

    #[test]
    fn repo_round_trips(repo in repo()) {
        assert_round_trip(&repo)?;
    }
}
