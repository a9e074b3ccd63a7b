//! The function's reserved concurrency: a cap on how many copies run at once, so that a bulk upload
//! or a runaway loop elsewhere cannot run up an unbounded bill. `[function] reserved_concurrency` sets
//! it. Without it, imgdeploy reserves [`DEFAULT_CAP`], or less when the account's unreserved pool is
//! small: AWS lets a function reserve only down to [`UNRESERVED_FLOOR`] unreserved executions. A new
//! account (10 concurrent executions) has no room at all: the function then runs unreserved, and the
//! plan says so and how to raise the quota.
use crate::aws::Explain;
use crate::resources::Stack;
use anyhow::Result;

/// The default cap: about 200 photos a second at ~0.25 s each, and at most about $4.80 an hour of
/// compute at 2048 MB on arm64, however many uploads arrive.
pub const DEFAULT_CAP: i32 = 50;

/// What AWS keeps unreserved for the account's other functions ("the unreserved account concurrency
/// minus 100" is what may be reserved).
pub const UNRESERVED_FLOOR: i32 = 100;

/// The account's Lambda concurrency, from `GetAccountSettings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub limit: i32,
    pub unreserved: i32,
}

/// The default reservation for an account, given what this function reserves now (it comes back to
/// the pool when changed); `None` when the account has no room to reserve anything. Pure.
pub fn default_cap(account: Account, ours_now: Option<i32>) -> Option<i32> {
    let room = account.unreserved + ours_now.unwrap_or(0) - UNRESERVED_FLOOR;
    (room >= 1).then(|| room.min(DEFAULT_CAP))
}

/// The plan's warning when the default cap cannot be reserved.
pub fn no_room_warning(account: Account) -> String {
    format!(
        "the account allows {} concurrent Lambda executions, {} unreserved; AWS keeps {UNRESERVED_FLOOR} \
         unreserved, so the function runs uncapped. Raise \"Concurrent executions\" in Service Quotas \
         (Lambda) to more than {}, or set [function] reserved_concurrency",
        account.limit,
        account.unreserved,
        UNRESERVED_FLOOR + DEFAULT_CAP
    )
}

/// The account's concurrency. `None` only on an emulator that does not answer `GetAccountSettings`
/// (moto): there is no pool to share, and no default cap is set.
pub async fn account(stack: &Stack<'_>) -> Result<Option<Account>> {
    match stack.aws.lambda.get_account_settings().send().await {
        Ok(out) => Ok(out.account_limit.map(|l| Account {
            limit: l.concurrent_executions,
            unreserved: l.unreserved_concurrent_executions.unwrap_or(0),
        })),
        Err(_) if stack.aws.endpoint.is_some() => Ok(None),
        Err(e) => Err(e).explain(stack.aws, "lambda:GetAccountSettings"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(limit: i32, unreserved: i32) -> Account {
        Account { limit, unreserved }
    }

    #[test]
    fn the_default_fits_the_accounts_room() {
        // A regular account: the full default.
        assert_eq!(default_cap(account(1000, 1000), None), Some(DEFAULT_CAP));
        // A small one: what is left above the floor.
        assert_eq!(default_cap(account(120, 120), None), Some(20));
        // Stable once reserved: our own reservation comes back to the pool when recomputed.
        assert_eq!(default_cap(account(120, 100), Some(20)), Some(20));
        // A new account (10 executions): nothing can be reserved.
        assert_eq!(default_cap(account(10, 10), None), None);
        assert!(no_room_warning(account(10, 10)).contains("Service Quotas"));
    }
}
