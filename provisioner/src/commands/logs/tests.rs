use super::*;

const PROCESSED: &str = r#"{"timestamp":"2026-12-04T03:51:29.120Z","level":"INFO","bucket":"p-originals","key":"originals/a.jpg","etag":"\"e1\"","outcome":"processed","bytes_in":5120000,"bytes_out":90000,"decoder":"parallel","variants":"[{\"name\":\"thumb\",\"millis\":12.0,\"bytes\":8000,\"width\":200,\"height\":200},{\"name\":\"web\",\"millis\":80.5,\"bytes\":82000,\"width\":1200,\"height\":900}]","millis":182.4,"render_millis":140.0,"message":"image"}"#;
const FAILED: &str = r#"{"timestamp":"2026-12-04T03:51:30Z","level":"WARN","bucket":"p-originals","key":"originals/b.png","etag":"\"e2\"","outcome":"failed","error_kind":"decode","message":"the PNG is truncated","newly_reported":true}"#;
const RETRY: &str = r#"{"level":"ERROR","bucket":"p-originals","key":"originals/c.jpg","outcome":"retry","error":"S3 GetObject: 503 SlowDown","message":"image"}"#;
const CDN: &str = r#"{"level":"ERROR","error":"AccessDenied","fix":"grant cloudfront:CreateInvalidation","message":"CDN invalidation failed"}"#;
const REPORT: &str = "REPORT RequestId: 1 Duration: 190.0 ms Billed Duration: 230 ms";
const T: i64 = 1_796_356_289_000; // 2026-12-04 03:51:29 UTC

#[test]
fn each_image_is_one_line_for_people() {
    let lines: Vec<String> = [
        PROCESSED,
        FAILED,
        RETRY,
        CDN,
        REPORT,
        r#"{"level":"INFO","message":"started"}"#,
    ]
    .iter()
    .filter_map(|m| render(T, m, None, false, false))
    .collect();
    insta::assert_snapshot!(lines.join("\n"), @r"
    2026-12-04 03:51:29  processed  originals/a.jpg  thumb,web  182 ms
    2026-12-04 03:51:29  failed     originals/b.png  decode: the PNG is truncated
    2026-12-04 03:51:29  retry      originals/c.jpg  S3 GetObject: 503 SlowDown
    2026-12-04 03:51:29  ERROR      CDN invalidation failed  AccessDenied; grant cloudfront:CreateInvalidation
    ");
}

#[test]
fn json_passes_the_function_lines_through() {
    assert_eq!(
        render(T, PROCESSED, None, false, true).as_deref(),
        Some(PROCESSED)
    );
    assert_eq!(
        render(T, REPORT, None, false, true).as_deref(),
        Some(REPORT)
    );
}

#[test]
fn key_and_failures_narrow_what_is_shown() {
    let shown = |key: Option<&str>, failures: bool| -> Vec<&str> {
        [PROCESSED, FAILED, RETRY, CDN, REPORT]
            .into_iter()
            .filter(|m| render(T, m, key, failures, true).is_some())
            .collect()
    };
    assert_eq!(shown(Some("originals/a.jpg"), false), [PROCESSED]);
    assert_eq!(shown(None, true), [FAILED, RETRY]);
    assert_eq!(shown(Some("originals/b.png"), true), [FAILED]);
    assert!(shown(Some("originals/a.jpg"), true).is_empty());
}

#[test]
fn the_filter_pattern_is_cloudwatchs_json_syntax() {
    assert_eq!(filter_pattern(None, false), None);
    assert_eq!(
        filter_pattern(Some("originals/a b.jpg"), false).as_deref(),
        Some(r#"{ $.key = "originals/a b.jpg" }"#)
    );
    assert_eq!(
        filter_pattern(None, true).as_deref(),
        Some(r#"{ ($.outcome = "failed" || $.outcome = "retry") }"#)
    );
    assert_eq!(
        filter_pattern(Some(r#"originals/say "hi"\.jpg"#), true).as_deref(),
        Some(
            r#"{ $.key = "originals/say \"hi\"\\.jpg" && ($.outcome = "failed" || $.outcome = "retry") }"#
        )
    );
}

#[test]
fn durations_read_as_people_write_them() {
    assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
    assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
    assert_eq!(parse_duration("15").unwrap(), Duration::from_secs(900));
    assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
    assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(604_800));
    for bad in ["", "0m", "h", "5w", "-3m", "1.5h"] {
        assert!(parse_duration(bad).is_err(), "{bad:?}");
    }
}
