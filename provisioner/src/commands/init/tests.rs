use super::*;
use clap::Parser;

/// The rendered template with every `# key = value` line made a setting (the keys without a fixed
/// default, and the variant keys' block, left out): what "a commented key shows its default" means.
fn uncommented(text: &str) -> String {
    let no_fixed_default = [
        "tags",
        "reserved_concurrency",
        "region",
        "domain",
        "certificate_arn",
    ];
    let mut out = String::new();
    let mut in_alerts = false;
    for line in text.lines() {
        in_alerts = (in_alerts || line == "# [alerts]") && !line.starts_with("[[variant]]");
        let setting = line
            .strip_prefix("# ")
            .filter(|rest| {
                rest.split_once(" = ")
                    .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            })
            .filter(|rest| !rest.contains("  ("));
        match setting {
            Some(rest)
                if !in_alerts
                    && !no_fixed_default
                        .iter()
                        .any(|k| rest.starts_with(&format!("{k} = "))) =>
            {
                out.push_str(rest)
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[test]
fn every_commented_key_shows_its_real_default() {
    let text = render("photos", Some("eu-west-1"));
    let plain = Config::parse(&text, "init").unwrap();
    let spelled = uncommented(&text);
    assert!(spelled.contains("\nmemory_mb = 2048\n"), "{spelled}");
    assert!(
        spelled.contains("\nprice_class = \"PriceClass_100\"\n"),
        "{spelled}"
    );
    let spelled = Config::parse(&spelled, "init uncommented").unwrap();
    assert_eq!(
        serde_json::to_value(&plain).unwrap(),
        serde_json::to_value(&spelled).unwrap()
    );
    // The variant keys' defaults, written as `# key = value  (...)` above the first variant.
    let mut variant = String::from("[[variant]]\nname = \"v\"\nwidth = 10\nheight = 10\n");
    for line in text.lines() {
        let Some((setting, _)) = line.strip_prefix("# ").and_then(|l| l.split_once("  (")) else {
            continue;
        };
        if setting.contains(" = ")
            && !setting.starts_with("background")
            && !setting.starts_with("region")
            // AVIF's alone: the other keys spell a JPEG variant.
            && !setting.starts_with("effort")
        {
            variant.push_str(setting);
            variant.push('\n');
        }
    }
    assert_eq!(variant.lines().count(), 10, "{variant}");
    let bare = Config::parse("[[variant]]\nname = \"v\"\nwidth = 10\nheight = 10\n", "v").unwrap();
    let spelled = Config::parse(&variant, "v").unwrap();
    // Quality's default depends on the format: compare what each variant is rendered at.
    let resolved = |c: &Config| {
        let mut v = c.variants[0].clone();
        v.quality = Some(v.quality());
        serde_json::to_value(v).unwrap()
    };
    assert_eq!(resolved(&bare), resolved(&spelled));
    let avif = Config::parse(
        "[[variant]]\nname = \"v\"\nwidth = 10\nheight = 10\nformat = \"avif\"\neffort = 3\n",
        "v",
    )
    .unwrap();
    assert_eq!(
        avif.variants[0].effort(),
        imgdeploy_function::spec::DEFAULT_AVIF_EFFORT
    );
    assert!(text.contains(&format!(
        "# effort = {}  (",
        imgdeploy_function::spec::DEFAULT_AVIF_EFFORT
    )));
}

#[test]
fn the_template_has_three_variants_and_the_stack() {
    let config = Config::parse(&render("photos", None), "init").unwrap();
    assert_eq!(config.stack().unwrap().name, "photos");
    assert_eq!(config.stack().unwrap().region, None);
    let names: Vec<&str> = config.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["thumb", "card", "web"]);
    let with_region = render("photos", Some("eu-west-1"));
    insta::assert_snapshot!("init_template", with_region);
}

#[test]
fn a_folder_name_becomes_a_valid_stack_name() {
    let name = |dir: &str| name_from_folder(Path::new(dir));
    assert_eq!(name("/home/me/My Photos").unwrap(), "my-photos");
    assert_eq!(name("/srv/shop_images_2024/").unwrap(), "shop-images-2024");
    assert_eq!(name("/x/--Weird..Name--").unwrap(), "weird-name");
    let long = format!("/x/{}", "a".repeat(80));
    assert_eq!(name(&long).unwrap().len(), 53);
    let err = name("/x/!!!").unwrap_err().to_string();
    assert!(err.contains("--name"), "{err}");
}

#[test]
fn a_bucket_name_of_another_account_is_reported() {
    assert_eq!(classify("p-originals", 404).unwrap(), "free");
    assert_eq!(classify("p-originals", 200).unwrap(), "yours");
    for status in [403, 301] {
        let err = classify("p-originals", status).unwrap_err().to_string();
        assert!(
            err.contains("p-originals is taken by another AWS account"),
            "{err}"
        );
        assert!(err.contains("--name"), "{err}");
    }
    assert!(classify("p-originals", 500).is_err());
}

#[test]
fn the_human_output_says_what_was_written_and_what_is_next() {
    let done = Initialised {
        path: "imgdeploy.toml".into(),
        stack: "photos".into(),
        region: Some("eu-west-1".into()),
        buckets: vec![
            BucketName {
                name: "photos-originals".into(),
                state: "free",
            },
            BucketName {
                name: "photos-processed".into(),
                state: "free",
            },
            BucketName {
                name: "photos-backup".into(),
                state: "yours",
            },
        ],
        unchecked: None,
        written: true,
        text: "[stack]\nname = \"photos\"\n".into(),
    };
    insta::assert_snapshot!("init_output", done.to_string());
    let unchecked = Initialised {
        region: None,
        buckets: Vec::new(),
        unchecked: Some("no AWS region is set".into()),
        ..done
    };
    insta::assert_snapshot!("init_output_unchecked", unchecked.to_string());
    let dry = Initialised {
        written: false,
        ..unchecked
    };
    let shown = dry.to_string();
    assert!(shown.starts_with("[stack]\nname = \"photos\"\n"), "{shown}");
    toml::from_str::<toml::Table>(&shown).expect("the dry run's output is TOML");
    assert!(
        shown.contains("dry run: imgdeploy.toml not written"),
        "{shown}"
    );
}

#[tokio::test]
async fn an_existing_file_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imgdeploy.toml");
    std::fs::write(&path, "# mine\n").unwrap();
    let cli = crate::cli::Cli::parse_from([
        "imgdeploy",
        "--config",
        path.to_str().unwrap(),
        "init",
        "--name",
        "photos",
    ]);
    let err = run(&cli.global, Some("photos"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
    let err = run(&cli.global, Some("Bad_Name"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("already exists"), "{err}");
    std::fs::remove_file(&path).unwrap();
    let err = run(&cli.global, Some("Bad_Name"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("--name \"Bad_Name\""), "{err}");
    assert!(!path.exists());
}
