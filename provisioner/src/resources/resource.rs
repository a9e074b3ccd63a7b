//! The one shape every resource kind has: describe → pure diff → apply → destroy. A kind implements
//! [`Resource`] once; the stack's table (`table.rs`) lists its resources, and `up`, `--dry-run`,
//! `status` and `teardown` all walk that table through the type-erased [`Slot`].
//!
//! Promises every implementation keeps:
//! - `describe` makes read-only calls; a resource that does not exist is `Ok(None)`;
//! - `diff` is pure: no calls, so plans are unit-testable;
//! - `apply` changes only what `diff` reported, and treats "already exists" as success;
//! - `destroy` treats "already gone" as success (`Action::Absent`), so an interrupted teardown is
//!   finished by running it again.
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::owner::Owner;
use crate::resources::plan::Action;
use crate::resources::{cdn, function, Stack};
use anyhow::Result;
use std::future::Future;
use std::pin::Pin;

/// Facts one resource learns that a later one in the table needs, filled by `describe` and kept up to
/// date by `apply` (a created OAC's id, a created distribution's ARN).
#[derive(Debug, Default)]
pub struct Known {
    /// The origin access control's id: the distribution's origins read through it.
    pub oac_id: Option<String>,
    /// The custom domain's certificate and hosted zone.
    pub domain: crate::resources::domain::DomainKnown,
    /// The CloudFront Functions the distribution's behaviours may run, name -> ARN.
    pub cdn_functions: cdn::sdk::FunctionArns,
    /// The distribution: bucket policies name its ARN, `up` prints its domain, `status` its state.
    pub distribution: Option<cdn::Deployed>,
    /// The function as Lambda describes it: `status` prints its version, size and dates.
    pub function: Option<function::Current>,
    /// The OACs the stack's own distribution reads through: such an OAC is the stack's.
    pub distribution_oacs: Vec<String>,
    /// The account's Lambda concurrency, read when no `[function] reserved_concurrency` is set: the
    /// default cap must fit in it.
    pub account_concurrency: Option<function::concurrency::Account>,
}

/// How `teardown` was asked to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Teardown {
    /// Also empty and delete the buckets that hold the user's data.
    pub delete_data: bool,
}

/// One kind of AWS resource. `Self` is the desired state, built purely from the configuration.
#[allow(async_fn_in_trait)] // The provisioner is a binary; nothing outside it implements this.
pub trait Resource {
    /// What exists now, as `describe` reads it.
    type Current;
    const KIND: Kind;

    /// The resource's name in plans and progress lines.
    fn name(&self) -> &str;

    /// Whether the configuration wants it. `up` and `status` pass over an unwanted resource (an
    /// existing one is left alone); `teardown` still removes it.
    fn wanted(&self) -> bool {
        true
    }

    async fn describe(&self, stack: &Stack<'_>, known: &mut Known)
        -> Result<Option<Self::Current>>;

    fn diff(&self, current: Option<&Self::Current>, known: &Known) -> Action;

    /// Whose what exists is (see `owner.rs`), for the stack named `stack`. `None` for a kind that is a
    /// part of another resource ([`Resource::part_of`]) and so belongs to that resource's owner.
    fn owner(&self, _current: &Self::Current, _stack: &str, _known: &Known) -> Option<Owner> {
        None
    }

    /// Why `--adopt` must refuse this untagged resource even so (a role with other policies).
    fn adoption_refused(&self, _current: &Self::Current) -> Option<String> {
        None
    }

    /// The resource (kind, name) this one is a part of: a bucket's policy or notification, the
    /// function's permission, the topic's subscription. Teardown leaves it alone with its owner.
    fn part_of(&self) -> Option<(Kind, String)> {
        None
    }

    /// Creates or updates what `diff` reported. Called only when the action mutates.
    async fn apply(
        &self,
        stack: &Stack<'_>,
        current: Option<&Self::Current>,
        known: &mut Known,
        task: &Task,
    ) -> Result<()>;

    /// What `teardown` would do (its dry run): delete what exists.
    async fn teardown_action(
        &self,
        _stack: &Stack<'_>,
        current: Option<&Self::Current>,
        _how: Teardown,
    ) -> Result<Action> {
        Ok(if current.is_some() {
            Action::Delete
        } else {
            Action::Absent
        })
    }

    async fn destroy(&self, stack: &Stack<'_>, how: Teardown, task: &Task) -> Result<Action>;

    /// False for a resource deleted with another one (a bucket's policy goes with its bucket): teardown
    /// then lists no step for it.
    fn torn_down_alone(&self) -> bool {
        true
    }
}

type Fut<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + 'a>>;

/// A resource with its described state, with the kind's types erased so that one table holds all.
pub trait Slot {
    fn kind(&self) -> Kind;
    fn name(&self) -> &str;
    fn wanted(&self) -> bool;
    fn torn_down_alone(&self) -> bool;
    fn describe<'a>(&'a mut self, stack: &'a Stack<'a>, known: &'a mut Known) -> Fut<'a, ()>;
    fn diff(&self, known: &Known) -> Action;
    /// Whose the described resource is; `None` when it does not exist or is a part of another.
    fn owner(&self, stack: &str, known: &Known) -> Option<Owner>;
    fn adoption_refused(&self) -> Option<String>;
    fn part_of(&self) -> Option<(Kind, String)>;
    fn apply<'a>(
        &'a self,
        stack: &'a Stack<'a>,
        known: &'a mut Known,
        task: &'a Task,
    ) -> Fut<'a, ()>;
    fn teardown_action<'a>(&'a self, stack: &'a Stack<'a>, how: Teardown) -> Fut<'a, Action>;
    fn destroy<'a>(
        &'a self,
        stack: &'a Stack<'a>,
        how: Teardown,
        task: &'a Task,
    ) -> Fut<'a, Action>;
}

/// A resource's desired state and, once described, its current one.
pub struct Entry<R: Resource> {
    desired: R,
    current: Option<R::Current>,
}

/// A table line: the desired state of one resource.
pub fn entry<R: Resource + 'static>(desired: R) -> Box<dyn Slot> {
    Box::new(Entry {
        desired,
        current: None,
    })
}

impl<R: Resource> Slot for Entry<R> {
    fn kind(&self) -> Kind {
        R::KIND
    }

    fn name(&self) -> &str {
        self.desired.name()
    }

    fn wanted(&self) -> bool {
        self.desired.wanted()
    }

    fn torn_down_alone(&self) -> bool {
        self.desired.torn_down_alone()
    }

    fn describe<'a>(&'a mut self, stack: &'a Stack<'a>, known: &'a mut Known) -> Fut<'a, ()> {
        Box::pin(async move {
            self.current = self.desired.describe(stack, known).await?;
            Ok(())
        })
    }

    fn diff(&self, known: &Known) -> Action {
        self.desired.diff(self.current.as_ref(), known)
    }

    fn owner(&self, stack: &str, known: &Known) -> Option<Owner> {
        let current = self.current.as_ref()?;
        self.desired.owner(current, stack, known)
    }

    fn adoption_refused(&self) -> Option<String> {
        self.desired.adoption_refused(self.current.as_ref()?)
    }

    fn part_of(&self) -> Option<(Kind, String)> {
        self.desired.part_of()
    }

    fn apply<'a>(
        &'a self,
        stack: &'a Stack<'a>,
        known: &'a mut Known,
        task: &'a Task,
    ) -> Fut<'a, ()> {
        Box::pin(
            self.desired
                .apply(stack, self.current.as_ref(), known, task),
        )
    }

    fn teardown_action<'a>(&'a self, stack: &'a Stack<'a>, how: Teardown) -> Fut<'a, Action> {
        Box::pin(
            self.desired
                .teardown_action(stack, self.current.as_ref(), how),
        )
    }

    fn destroy<'a>(
        &'a self,
        stack: &'a Stack<'a>,
        how: Teardown,
        task: &'a Task,
    ) -> Fut<'a, Action> {
        Box::pin(self.desired.destroy(stack, how, task))
    }
}
