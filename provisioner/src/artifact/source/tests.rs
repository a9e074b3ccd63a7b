use super::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_embedded_source_is_the_function_crate_as_it_is_now() {
    let lib = FILES
        .iter()
        .find(|(n, _)| *n == "src/lib.rs")
        .expect("src/lib.rs");
    assert_eq!(
        lib.1,
        std::fs::read(repo().join("function/src/lib.rs")).unwrap()
    );
    let sources = FILES.iter().filter(|(n, _)| n.starts_with("src/")).count();
    let on_disk = walk(&repo().join("function/src"));
    assert_eq!(
        sources, on_disk,
        "every file under function/src is embedded"
    );
    for name in [
        "Cargo.toml",
        "build.rs",
        PROFILES,
        LOCK,
        WORKSPACE_MANIFEST,
        "src/bin/bootstrap.rs",
    ] {
        assert!(
            FILES.iter().any(|(n, _)| *n == name),
            "{name} is not embedded"
        );
    }
    assert!(!FILES.iter().any(|(n, _)| n.starts_with("tests/")));
    assert!(
        SOURCE_ID.starts_with(&format!("{}-", env!("CARGO_PKG_VERSION"))),
        "{}",
        *SOURCE_ID
    );
    assert_eq!(SOURCE_ID.len(), env!("CARGO_PKG_VERSION").len() + 13);
}

fn walk(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { walk(&p) } else { 1 })
        .sum()
}

#[test]
fn the_lambda_profiles_outside_the_repository_are_the_repositorys() {
    let root: toml::Table = toml::from_str(&read(repo().join("Cargo.toml"))).unwrap();
    let own: toml::Table = toml::from_str(&read(repo().join("function").join(PROFILES))).unwrap();
    let own = own["profile"].as_table().unwrap();
    assert_eq!(own.len(), 3, "{own:?}");
    for name in ["release", "lambda", "lambda-quick"] {
        assert_eq!(
            root["profile"][name], own[name],
            "[profile.{name}] differs between Cargo.toml and function/{PROFILES}"
        );
    }
}

#[test]
fn the_standalone_manifest_resolves_every_workspace_key() {
    let text = standalone_manifest(
        &read(repo().join("function/Cargo.toml")),
        Some(&read(repo().join("Cargo.toml"))),
    )
    .unwrap();
    assert!(!text.contains("workspace"), "{text}");
    let table: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(
        table["package"]["version"].as_str(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(table["package"]["edition"].as_str(), Some("2021"));
    let tokio = table["dependencies"]["tokio"].as_table().unwrap();
    assert_eq!(tokio["optional"].as_bool(), Some(true));
    let features: Vec<&str> = tokio["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    assert!(
        features.contains(&"macros") && features.contains(&"rt-multi-thread"),
        "{features:?}"
    );
    assert_eq!(
        table["dependencies"]["serde_json"]["version"].as_str(),
        Some("1")
    );
    assert!(!table.contains_key("dev-dependencies"));
    assert_eq!(table["package"]["autoexamples"].as_bool(), Some(false));
    // Merging adds the member's features to the workspace's, once each.
    let merged = merge_dependency(
        &toml::Value::Table(toml::from_str("version = \"1\"\nfeatures = [\"a\"]").unwrap()),
        &toml::Value::Table(
            toml::from_str("workspace = true\nfeatures = [\"a\", \"b\"]\noptional = true").unwrap(),
        ),
    );
    assert_eq!(
        merged.to_string(),
        toml::Value::Table(
            toml::from_str("version = \"1\"\nfeatures = [\"a\", \"b\"]\noptional = true").unwrap()
        )
        .to_string()
    );
}

#[test]
fn an_inherited_key_the_workspace_lacks_is_an_error() {
    let member = "[package]\nname = \"f\"\nversion.workspace = true\n[dependencies]\nserde.workspace = true\n";
    let err = standalone_manifest(member, None).unwrap_err().to_string();
    assert!(err.contains("package.version"), "{err}");
    let workspace = "[workspace.package]\nversion = \"1.0.0\"\n";
    let err = standalone_manifest(member, Some(workspace))
        .unwrap_err()
        .to_string();
    assert!(err.contains("dependency serde"), "{err}");
}

#[test]
fn the_extracted_workspace_is_one_cargo_reads_and_is_written_once() {
    let cache = tempfile::tempdir().unwrap();
    let root = extract(cache.path()).unwrap();
    assert_eq!(
        root,
        cache.path().join("function-src").join(SOURCE_ID.as_str())
    );
    assert_eq!(
        read(root.join("function/src/lib.rs")),
        read(repo().join("function/src/lib.rs"))
    );
    assert!(root.join("Cargo.lock").is_file());
    let manifest = read(root.join("Cargo.toml"));
    assert!(manifest.contains("[profile.lambda-quick]"), "{manifest}");
    // cargo itself accepts the workspace and finds the bootstrap binary (no dependency resolution).
    let out = std::process::Command::new("cargo")
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(root.join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let targets = metadata["packages"][0]["targets"].as_array().unwrap();
    assert!(
        targets.iter().any(|t| t["name"] == "bootstrap"),
        "{targets:?}"
    );
    // A second extraction reuses the first.
    let marker = root.join("function/src/lib.rs");
    std::fs::write(&marker, "// kept").unwrap();
    assert_eq!(extract(cache.path()).unwrap(), root);
    assert_eq!(read(marker), "// kept");
    let none = Features::default();
    assert!(
        cached_zip(cache.path(), Arch::Arm64, BuildProfile::Quick, none).ends_with(format!(
            "artifacts/{}/arm64-lambda-quick/bootstrap.zip",
            *SOURCE_ID
        ))
    );
    // A build with AVIF is another binary: it never reuses the zip of one without.
    let avif = Features { avif: true };
    assert!(
        cached_zip(cache.path(), Arch::Arm64, BuildProfile::Optimised, avif).ends_with(format!(
            "artifacts/{}/arm64-lambda-avif/bootstrap.zip",
            *SOURCE_ID
        ))
    );
}
