//! One moto server per test process, on 127.0.0.1 and a free port, plus SDK clients and a child-process
//! environment that can reach nothing but that server.
use super::venv::{ensure_venv, repo_root, venv_python};
use aws_config::{Region, SdkConfig};
use aws_credential_types::Credentials;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::Duration;

pub const REGION: &str = "us-east-1";
/// moto's fixed account id (STS GetCallerIdentity answers it).
pub const ACCOUNT: &str = "123456789012";
/// Any keys do for the open server; the S3-enforcing one checks them (its admin user's, below).
const ACCESS_KEY: &str = "testing";
const SECRET_KEY: &str = "testing";

/// A running moto server, shared by every test of the process.
pub struct Moto {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    pub port: u16,
    venv: PathBuf,
    /// moto's request log (stderr of the launcher), kept out of the test output.
    pub log: PathBuf,
    /// JSON lines, one per SNS -> Lambda delivery (see `tests/moto/launch.py`).
    lambda_deliveries: PathBuf,
    /// The keys of this harness's own calls: dummy ones, or on the S3-enforcing server those of an
    /// IAM user allowed `s3:*`.
    access_key: String,
    secret_key: String,
    /// Never waited for: the launcher exits by itself once this process is gone.
    _child: Mutex<Child>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();
static MOTO_S3_IAM: OnceLock<Moto> = OnceLock::new();

/// The process's moto server, started on first use (the venv is made first if it is missing).
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(|| Moto::start(false).unwrap_or_else(|e| panic!("cannot start moto: {e:#}")))
}

/// A second moto server that authorises every S3 request as AWS does, against the caller's IAM
/// policies (other services stay open: see `tests/moto/launch.py`). The harness's own calls run as an
/// admin user; the function's run as a user holding exactly its role's policy ([`Moto::iam_user`]).
pub fn moto_s3_iam() -> &'static Moto {
    MOTO_S3_IAM.get_or_init(|| {
        Moto::start(true).unwrap_or_else(|e| panic!("cannot start moto with S3 IAM: {e:#}"))
    })
}

impl Moto {
    fn start(enforce_s3_iam: bool) -> anyhow::Result<Moto> {
        let venv = ensure_venv()?;
        let launcher = repo_root().join("tests/moto/launch.py");
        let tag = if enforce_s3_iam { "-s3iam" } else { "" };
        let log =
            std::env::temp_dir().join(format!("imgdeploy-moto-{}{tag}.log", std::process::id()));
        let log_file = std::fs::File::create(&log)?;
        let lambda_deliveries = std::env::temp_dir().join(format!(
            "imgdeploy-moto-{}{tag}-lambda.jsonl",
            std::process::id()
        ));
        std::fs::write(&lambda_deliveries, "")?;
        let mut child = Command::new(venv_python(&venv))
            .arg(&launcher)
            .args(["--port", "0"])
            .args(enforce_s3_iam.then_some("--enforce-s3-iam"))
            .arg("--parent-pid")
            .arg(std::process::id().to_string())
            .arg("--lambda-deliveries")
            .arg(&lambda_deliveries)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|e| anyhow::anyhow!("spawning {}: {e}", launcher.display()))?;

        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(90)).map_err(|_| {
            anyhow::anyhow!(
                "moto printed no ready line within 90 s; see {}",
                log.display()
            )
        })?;
        let mut fields = line
            .trim()
            .strip_prefix("MOTO READY ")
            .unwrap_or("")
            .split(' ');
        let port: Option<u16> = fields
            .next()
            .and_then(|p| p.strip_prefix("port="))
            .and_then(|p| p.parse().ok());
        let admin = fields.next().and_then(|a| a.strip_prefix("admin="));
        let (access_key, secret_key) = match admin.and_then(|a| a.split_once(':')) {
            Some((key, secret)) => (key.to_string(), secret.to_string()),
            None => (ACCESS_KEY.to_string(), SECRET_KEY.to_string()),
        };
        let port = port
            .filter(|_| admin.is_some() == enforce_s3_iam)
            .ok_or_else(|| {
                let stderr = std::fs::read_to_string(&log).unwrap_or_default();
                anyhow::anyhow!("unexpected launcher output {line:?}; its log:\n{stderr}")
            })?;
        Ok(Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            venv,
            log,
            lambda_deliveries,
            access_key,
            secret_key,
            _child: Mutex::new(child),
        })
    }

    /// SDK configuration for moto: the harness's credentials, us-east-1, the explicit endpoint.
    pub async fn sdk_config(&self) -> SdkConfig {
        self.sdk_config_as(&self.access_key, &self.secret_key).await
    }

    /// SDK configuration with other credentials (an IAM user's, see [`Moto::iam_user`]).
    pub async fn sdk_config_as(&self, access_key: &str, secret_key: &str) -> SdkConfig {
        imgdeploy_function::https::sdk_defaults()
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new(access_key, secret_key, None, None, "moto"))
            .load()
            .await
    }

    /// An IAM user holding exactly `policy` as its one inline policy; returns its access key and
    /// secret. On [`moto_s3_iam`], S3 then allows that user what the policy allows and nothing else.
    pub async fn iam_user(&self, name: &str, policy: &serde_json::Value) -> (String, String) {
        let iam = aws_sdk_iam::Client::new(&self.sdk_config().await);
        iam.create_user().user_name(name).send().await.unwrap();
        iam.put_user_policy()
            .user_name(name)
            .policy_name("access")
            .policy_document(policy.to_string())
            .send()
            .await
            .unwrap();
        let key = iam
            .create_access_key()
            .user_name(name)
            .send()
            .await
            .unwrap()
            .access_key
            .expect("an access key");
        (key.access_key_id, key.secret_access_key)
    }

    /// What SNS delivered so far to `lambda` subscriptions whose endpoint is `function` (a name or an ARN),
    /// oldest first: `{"function_arn", "topic_arn", "subscription_arn", "event"}` each, where `event` is the
    /// SNS event Lambda would have received (feed it to the real `bootstrap` with `run_bootstrap`).
    /// moto itself cannot run functions; the launcher records these instead.
    pub fn sns_lambda_deliveries(&self, function: &str) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(&self.lambda_deliveries).unwrap_or_default();
        let by_name = format!(":function:{function}");
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|entry| entry["source"] != "invoke")
            .filter(|entry| {
                let arn = entry["function_arn"].as_str().unwrap_or_default();
                arn == function || arn.ends_with(&by_name)
            })
            .collect()
    }

    /// The direct `Invoke`s of `function` so far, oldest first: `{"function_arn", "invocation_type",
    /// "event"}` each (moto cannot run functions; the launcher records these instead).
    pub fn lambda_invocations(&self, function: &str) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(&self.lambda_deliveries).unwrap_or_default();
        let by_name = format!(":function:{function}");
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|entry| entry["source"] == "invoke")
            .filter(|entry| {
                entry["function_arn"]
                    .as_str()
                    .is_some_and(|arn| arn.ends_with(&by_name))
            })
            .collect()
    }

    /// S3 with path-style addressing (`*.127.0.0.1` does not resolve).
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    pub async fn sns(&self) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&self.sdk_config().await)
    }

    pub async fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config().await)
    }

    /// The venv's Python, which has boto3 and the AWS CLI, for independent checks.
    pub fn python(&self) -> PathBuf {
        venv_python(&self.venv)
    }

    /// The venv's `bin/` (holds `aws`, `cargo-zigbuild`, `python-zig`...).
    pub fn venv_bin(&self) -> PathBuf {
        self.venv.join("bin")
    }

    /// Environment for a child process (`imgdeploy`, `bootstrap`, boto3) that must talk to moto and only
    /// to moto: explicit endpoint, dummy keys, no profile files, no instance metadata.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", self.access_key.as_str()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.as_str()),
            ("AWS_REGION", REGION),
            ("AWS_DEFAULT_REGION", REGION),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Applies [`Moto::env`] to `cmd` and removes every inherited variable that could point the child
    /// elsewhere (profiles, session tokens, web identity, container credentials, per-service endpoints).
    /// Runs a Python snippet with the venv's boto3 against this moto (its environment from
    /// `configure`), and fails the test with the snippet's stderr when it fails.
    pub fn run_python(&self, code: &str) {
        let mut cmd = Command::new(self.python());
        let output = self
            .configure(&mut cmd)
            .args(["-c", code])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "python -c {code:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Runs a Python script with the venv's boto3 against this moto and returns what it prints, as
    /// JSON (`null` when it prints nothing); fails the test with the script's stderr when it fails.
    pub fn python_json(&self, script: &str) -> serde_json::Value {
        let mut cmd = Command::new(self.python());
        let out = self
            .configure(&mut cmd)
            .args(["-c", script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "python failed:\n{}\n{script}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(text.trim()).unwrap_or(serde_json::Value::Null)
    }

    pub fn configure<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        for (key, _) in std::env::vars_os() {
            let Some(key) = key.to_str() else { continue };
            if key.starts_with("AWS_") {
                cmd.env_remove(key);
            }
        }
        cmd.envs(self.env())
    }
}

/// A name that is valid for S3 buckets (lowercase letters, digits, hyphens) and unique per call, so that
/// tests running in parallel threads never share a stack. `prefix` is lowercased and sanitised.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut clean: String = prefix
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    clean.truncate(24);
    let clean = clean.trim_matches('-');
    let clean = if clean.is_empty() { "t" } else { clean };
    // The process id keeps names apart across test processes that share one server (never the case in
    // this harness, but cheap); the counter keeps them apart within the process.
    format!("{clean}-{:x}{n}", std::process::id() & 0xffff)
}
