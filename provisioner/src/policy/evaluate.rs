//! IAM's evaluation of one identity policy, for tests: is this action on this resource, in this
//! request context, allowed? An explicit `Deny` wins, then any `Allow` whose action, resource and
//! conditions all match; otherwise the implicit deny. Actions match case-insensitively, resources
//! case-sensitively, both with IAM's `*` and `?` wildcards. Conditions: `StringEquals`,
//! `StringLike` and `ArnLike`, each false when the request has no such key (as in IAM). Anything
//! else in a statement (`NotAction`, `NotResource`, another operator) panics: the evaluator must not
//! say "allowed" about a document it does not understand.
use serde_json::Value;
use std::collections::HashMap;

/// One request as IAM sees it: the action, the resource and the condition keys present.
pub struct Request<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub context: HashMap<&'a str, &'a str>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// No statement allows it.
    ImplicitDeny,
    ExplicitDeny,
}

pub fn evaluate(policy: &Value, request: &Request) -> Decision {
    let statements: Vec<&Value> = match &policy["Statement"] {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut allowed = false;
    for s in statements {
        for key in s.as_object().expect("a statement is an object").keys() {
            assert!(
                matches!(
                    key.as_str(),
                    "Sid" | "Effect" | "Action" | "Resource" | "Condition"
                ),
                "the evaluator does not understand {key:?} in {s}"
            );
        }
        let matches = strings(&s["Action"]).iter().any(|a| {
            glob(
                &a.to_ascii_lowercase(),
                &request.action.to_ascii_lowercase(),
            )
        }) && strings(&s["Resource"])
            .iter()
            .any(|r| glob(r, request.resource))
            && conditions_hold(&s["Condition"], &request.context);
        match (matches, s["Effect"].as_str()) {
            (true, Some("Deny")) => return Decision::ExplicitDeny,
            (true, Some("Allow")) => allowed = true,
            (false, _) => {}
            (true, other) => panic!("unknown effect {other:?}"),
        }
    }
    if allowed {
        Decision::Allowed
    } else {
        Decision::ImplicitDeny
    }
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        Value::Null => Vec::new(),
        other => panic!("expected a string or a list of strings, got {other}"),
    }
}

fn conditions_hold(condition: &Value, context: &HashMap<&str, &str>) -> bool {
    let Some(operators) = condition.as_object() else {
        return condition.is_null();
    };
    operators.iter().all(|(operator, keys)| {
        keys.as_object()
            .expect("an operator maps keys to values")
            .iter()
            .all(|(key, wanted)| {
                let Some(have) = context.get(key.as_str()) else {
                    return false;
                };
                strings(wanted).iter().any(|w| match operator.as_str() {
                    "StringEquals" => w == have,
                    "StringLike" | "ArnLike" => glob(w, have),
                    other => panic!("the evaluator does not understand the operator {other}"),
                })
            })
    })
}

/// IAM's wildcards: `*` any run of characters, `?` any one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut resume) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            resume = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            resume += 1;
            ti = resume;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wildcards() {
        assert!(glob(
            "arn:aws:s3:::b/originals/*",
            "arn:aws:s3:::b/originals/a/b.jpg"
        ));
        assert!(!glob(
            "arn:aws:s3:::b/originals/*",
            "arn:aws:s3:::b/other/a.jpg"
        ));
        assert!(glob("s3:get*", "s3:getobjecttagging"));
        assert!(glob("a?c", "abc") && !glob("a?c", "ac"));
        assert!(glob("*", "") && !glob("", "x"));
    }

    #[test]
    fn deny_wins_and_conditions_need_their_key() {
        let policy = json!({"Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
             "Condition": {"StringLike": {"s3:prefix": "originals/*"}}},
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::c/*"},
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::c/keep/*"}
        ]});
        let req = |action, resource, context: &[(&'static str, &'static str)]| Request {
            action,
            resource,
            context: context.iter().copied().collect(),
        };
        let list = |ctx| evaluate(&policy, &req("s3:ListBucket", "arn:aws:s3:::b", ctx));
        assert_eq!(list(&[("s3:prefix", "originals/a.jpg")]), Decision::Allowed);
        assert_eq!(list(&[("s3:prefix", "other/")]), Decision::ImplicitDeny);
        assert_eq!(list(&[]), Decision::ImplicitDeny);
        let delete = |resource| evaluate(&policy, &req("s3:DeleteObject", resource, &[]));
        assert_eq!(delete("arn:aws:s3:::c/x"), Decision::Allowed);
        assert_eq!(delete("arn:aws:s3:::c/keep/x"), Decision::ExplicitDeny);
    }
}
