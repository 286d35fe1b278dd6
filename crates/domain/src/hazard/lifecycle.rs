//! The commands of a hazard's lifecycle (api.md "Inspections and hazards"),
//! who may run each, and what each does: one pure function, [`decide`].
//!
//! ```text
//! open --(submit rectification)--> submitted --(review: accept)--> closed
//!   ^                                   |
//!   +------(review: reject, comment)----+
//! open|submitted --(cancel, reason)--> cancelled
//! ```
//!
//! A plan may be set and an extension asked for or decided while the hazard is
//! neither closed nor cancelled; they change no status. Refusals come in the
//! order of api.md: the role (`forbidden`), then the command's own content
//! (`validation_failed`), then the hazard's state (`invalid_transition`,
//! `conflict`). Whether the hazard is in the caller's scope is decided before.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{HazardStatus, Severity};
use crate::text::{self, max};
use crate::{Error, FieldErrors, Role};

/// A review's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Accept,
    Reject,
}

impl Decision {
    pub fn parse(s: &str) -> Option<Decision> {
        match s {
            "accept" => Some(Decision::Accept),
            "reject" => Some(Decision::Reject),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Accept => "accept",
            Decision::Reject => "reject",
        }
    }
}

/// The six parts of the governance plan a major hazard (重大隐患) needs before
/// it can be closed: 治理目标和任务, 方法和措施, 经费和物资, 机构和人员,
/// 时限和要求, 安全措施和应急预案.
pub const PLAN_PARTS: [&str; 6] = [
    "objectives",
    "measures",
    "funding",
    "organisation",
    "timeline",
    "safety_measures",
];

/// A governance plan as stored: each part's text, possibly missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    #[serde(default)]
    pub objectives: String,
    #[serde(default)]
    pub measures: String,
    #[serde(default)]
    pub funding: String,
    #[serde(default)]
    pub organisation: String,
    #[serde(default)]
    pub timeline: String,
    #[serde(default)]
    pub safety_measures: String,
}

impl Plan {
    /// The parts, in [`PLAN_PARTS`] order.
    pub fn parts(&self) -> [&str; 6] {
        [
            &self.objectives,
            &self.measures,
            &self.funding,
            &self.organisation,
            &self.timeline,
            &self.safety_measures,
        ]
    }

    /// Every part written.
    pub fn is_complete(&self) -> bool {
        self.parts().iter().all(|p| !p.trim().is_empty())
    }

    /// Reads a stored plan; `None` for no plan. A stored plan that is not an
    /// object of texts counts as incomplete, never as complete.
    pub fn from_stored(v: Option<&serde_json::Value>) -> Option<Plan> {
        let v = v.filter(|v| !v.is_null())?;
        Some(serde_json::from_value(v.clone()).unwrap_or_default())
    }

    /// Checks the parts as texts and trims them; problems under `plan.<part>`.
    fn validated(self, f: &mut FieldErrors) -> Plan {
        let mut part =
            |name: &str, v: &str| text::field(f, &format!("plan.{name}"), v, false, max::LONG);
        Plan {
            objectives: part("objectives", &self.objectives),
            measures: part("measures", &self.measures),
            funding: part("funding", &self.funding),
            organisation: part("organisation", &self.organisation),
            timeline: part("timeline", &self.timeline),
            safety_measures: part("safety_measures", &self.safety_measures),
        }
    }
}

/// What the rules need to know of a hazard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HazardState {
    pub status: HazardStatus,
    pub severity: Severity,
    pub deadline: NaiveDate,
    pub plan: Option<Plan>,
    /// The requested date of the extension request waiting for a decision.
    pub pending_extension: Option<NaiveDate>,
}

/// Something done to a hazard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The rectification is done: by the enterprise in the portal, or recorded
    /// on site by an inspector.
    SubmitRectification { description: String },
    /// A rectification is reviewed; a rejection says why.
    Review { decision: Decision, comment: String },
    /// The office withdraws the hazard, saying why.
    Cancel { reason: String },
    /// The governance plan is written or rewritten.
    SetPlan(Plan),
    /// The enterprise asks for a later deadline.
    RequestExtension { until: NaiveDate, reason: String },
    /// The office approves or denies the pending request.
    DecideExtension { approve: bool, comment: String },
}

impl Command {
    /// Its name in a hazard's history (`review.accept`, `cancel`, …).
    pub fn action(&self) -> &'static str {
        match self {
            Command::SubmitRectification { .. } => "rectification",
            Command::Review {
                decision: Decision::Accept,
                ..
            } => "review.accept",
            Command::Review {
                decision: Decision::Reject,
                ..
            } => "review.reject",
            Command::Cancel { .. } => "cancel",
            Command::SetPlan(_) => "plan",
            Command::RequestExtension { .. } => "extension.request",
            Command::DecideExtension { approve: true, .. } => "extension.approve",
            Command::DecideExtension { approve: false, .. } => "extension.deny",
        }
    }

    /// What kind of command it is.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::SubmitRectification { .. } => CommandKind::SubmitRectification,
            Command::Review { .. } => CommandKind::Review,
            Command::Cancel { .. } => CommandKind::Cancel,
            Command::SetPlan(_) => CommandKind::SetPlan,
            Command::RequestExtension { .. } => CommandKind::RequestExtension,
            Command::DecideExtension { .. } => CommandKind::DecideExtension,
        }
    }

    /// Whether `role` may run this command on a hazard of `severity`. A major
    /// hazard is closed by the office (or an admin) only.
    pub fn permitted(&self, role: Role, severity: Severity) -> bool {
        match self {
            Command::Review {
                decision: Decision::Accept,
                ..
            } => role.is_staff() || (role == Role::Inspector && severity == Severity::General),
            c => c.kind().open_to(role),
        }
    }
}

/// The kinds of [`Command`], for the role check that comes before a command's
/// body is read (api.md orders refusals: scope, role, body, state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandKind {
    SubmitRectification,
    Review,
    Cancel,
    SetPlan,
    RequestExtension,
    DecideExtension,
}

impl CommandKind {
    /// Whether `role` may run some command of this kind (api.md "Roles and
    /// scope"): the enterprise submits its rectification and asks for more
    /// time; an inspector records on site a rectification it has seen and
    /// reviews; the office reviews, cancels, decides extensions and may write
    /// a plan; an admin may do everything. Whether a review may close the
    /// hazard also depends on its severity: [`Command::permitted`].
    pub fn open_to(self, role: Role) -> bool {
        use CommandKind as K;
        match self {
            K::SubmitRectification => {
                matches!(role, Role::Enterprise | Role::Inspector | Role::Admin)
            }
            K::Review => matches!(role, Role::Inspector | Role::Office | Role::Admin),
            K::Cancel | K::DecideExtension => role.is_staff(),
            K::SetPlan => matches!(role, Role::Enterprise | Role::Office | Role::Admin),
            K::RequestExtension => matches!(role, Role::Enterprise | Role::Admin),
        }
    }
}

/// What a command does to a hazard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: HazardStatus,
    pub to: HazardStatus,
    /// The new deadline, when it moves.
    pub deadline: Option<NaiveDate>,
    /// The new plan, when it is set.
    pub plan: Option<Plan>,
    /// The command's text (comment, reason, description), trimmed.
    pub comment: String,
    /// The extension request is opened (`Some(date)`) or settled.
    pub extension: Option<ExtensionChange>,
}

/// What happens to the hazard's extension request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionChange {
    Requested(NaiveDate),
    Approved(NaiveDate),
    Denied,
}

/// Runs `command`, by `role`, on a hazard in `state` (in the caller's scope):
/// what it changes, or why not.
pub fn decide(state: &HazardState, role: Role, command: Command) -> Result<Transition, Error> {
    if !command.permitted(role, state.severity) {
        return Err(Error::Forbidden);
    }
    let mut f = FieldErrors::new();
    let from = state.status;
    let stays = Transition {
        from,
        to: from,
        deadline: None,
        plan: None,
        comment: String::new(),
        extension: None,
    };
    let invalid = |missing: Option<&str>| Error::InvalidTransition {
        from: from.as_str().to_owned(),
        missing: missing.map(str::to_owned),
    };
    match command {
        Command::SubmitRectification { description } => {
            let comment = text::field(&mut f, "description", &description, true, max::LONG);
            f.into_result()?;
            let to = match from {
                HazardStatus::Open => HazardStatus::Submitted,
                _ => return Err(invalid(None)),
            };
            Ok(Transition {
                to,
                comment,
                ..stays
            })
        }
        Command::Review { decision, comment } => {
            let comment = text::field(&mut f, "comment", &comment, false, max::NOTE);
            if decision == Decision::Reject && comment.is_empty() && f.is_empty() {
                f.add("comment", "required");
            }
            f.into_result()?;
            if from != HazardStatus::Submitted {
                return Err(invalid(None));
            }
            let to = match decision {
                Decision::Reject => HazardStatus::Open,
                Decision::Accept => {
                    let planned = state.plan.as_ref().is_some_and(Plan::is_complete);
                    if state.severity == Severity::Major && !planned {
                        return Err(invalid(Some("plan")));
                    }
                    HazardStatus::Closed
                }
            };
            Ok(Transition {
                to,
                comment,
                ..stays
            })
        }
        Command::Cancel { reason } => {
            let comment = text::field(&mut f, "reason", &reason, true, max::NOTE);
            f.into_result()?;
            if from.is_final() {
                return Err(invalid(None));
            }
            Ok(Transition {
                to: HazardStatus::Cancelled,
                comment,
                ..stays
            })
        }
        Command::SetPlan(plan) => {
            let plan = plan.validated(&mut f);
            f.into_result()?;
            if from.is_final() {
                return Err(invalid(None));
            }
            Ok(Transition {
                plan: Some(plan),
                ..stays
            })
        }
        Command::RequestExtension { until, reason } => {
            let comment = text::field(&mut f, "reason", &reason, true, max::NOTE);
            if until <= state.deadline {
                f.add("requested_deadline", "not_after_deadline");
            }
            f.into_result()?;
            if from.is_final() {
                return Err(invalid(None));
            }
            if state.pending_extension.is_some() {
                return Err(Error::Conflict("extension_request".into()));
            }
            Ok(Transition {
                comment,
                extension: Some(ExtensionChange::Requested(until)),
                ..stays
            })
        }
        Command::DecideExtension { approve, comment } => {
            let comment = text::field(&mut f, "comment", &comment, false, max::NOTE);
            f.into_result()?;
            let Some(until) = state.pending_extension else {
                return Err(Error::Conflict("extension_request".into()));
            };
            if !approve {
                return Ok(Transition {
                    comment,
                    extension: Some(ExtensionChange::Denied),
                    ..stays
                });
            }
            if from.is_final() {
                return Err(invalid(None));
            }
            Ok(Transition {
                comment,
                deadline: Some(until),
                extension: Some(ExtensionChange::Approved(until)),
                ..stays
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1)
            .and_then(|x| x.checked_add_days(chrono::Days::new(u64::from(d))))
            .unwrap_or_default()
    }

    fn full_plan() -> Plan {
        Plan {
            objectives: "目标".into(),
            measures: "措施".into(),
            funding: "经费".into(),
            organisation: "机构".into(),
            timeline: "时限".into(),
            safety_measures: "预案".into(),
        }
    }

    fn role() -> impl Strategy<Value = Role> {
        proptest::sample::select(Role::ALL.to_vec())
    }

    fn text_() -> impl Strategy<Value = String> {
        proptest::sample::select(vec![String::new(), "  ".into(), "已整改".into()])
    }

    fn plan() -> impl Strategy<Value = Plan> {
        proptest::collection::vec(text_(), 6).prop_map(|p| Plan {
            objectives: p[0].clone(),
            measures: p[1].clone(),
            funding: p[2].clone(),
            organisation: p[3].clone(),
            timeline: p[4].clone(),
            safety_measures: p[5].clone(),
        })
    }

    fn command() -> impl Strategy<Value = Command> {
        prop_oneof![
            text_().prop_map(|description| Command::SubmitRectification { description }),
            (any::<bool>(), text_()).prop_map(|(a, comment)| Command::Review {
                decision: if a {
                    Decision::Accept
                } else {
                    Decision::Reject
                },
                comment
            }),
            text_().prop_map(|reason| Command::Cancel { reason }),
            prop_oneof![plan(), Just(full_plan())].prop_map(Command::SetPlan),
            (0u32..90, text_()).prop_map(|(d, reason)| Command::RequestExtension {
                until: day(d),
                reason
            }),
            (any::<bool>(), text_())
                .prop_map(|(approve, comment)| Command::DecideExtension { approve, comment }),
        ]
    }

    /// The edges of the diagram in api.md, and staying put.
    fn allowed_edge(from: HazardStatus, to: HazardStatus) -> bool {
        use HazardStatus as S;
        from == to
            || matches!(
                (from, to),
                (S::Open, S::Submitted)
                    | (S::Submitted, S::Closed)
                    | (S::Submitted, S::Open)
                    | (S::Open | S::Submitted, S::Cancelled)
            )
    }

    /// Applies a transition to a state as the store would.
    fn after(mut s: HazardState, t: &Transition) -> HazardState {
        s.status = t.to;
        if let Some(d) = t.deadline {
            s.deadline = d;
        }
        if let Some(p) = &t.plan {
            s.plan = Some(p.clone());
        }
        match t.extension {
            Some(ExtensionChange::Requested(d)) => s.pending_extension = Some(d),
            Some(ExtensionChange::Approved(_) | ExtensionChange::Denied) => {
                s.pending_extension = None
            }
            None => {}
        }
        s
    }

    proptest! {
        #[test]
        fn no_sequence_of_commands_leaves_the_diagram(
            major in any::<bool>(),
            steps in proptest::collection::vec((role(), command()), 0..40),
        ) {
            let mut s = HazardState {
                status: HazardStatus::Open,
                severity: if major { Severity::Major } else { Severity::General },
                deadline: day(15),
                plan: None,
                pending_extension: None,
            };
            for (role, cmd) in steps {
                let was_final = s.status.is_final();
                let plan_complete = s.plan.as_ref().is_some_and(Plan::is_complete);
                let deadline = s.deadline;
                match decide(&s, role, cmd.clone()) {
                    Ok(t) => {
                        prop_assert!(!was_final || (t.to == s.status && t.plan.is_none() && t.deadline.is_none()),
                            "a final hazard changed: {cmd:?}");
                        prop_assert!(allowed_edge(s.status, t.to), "{:?} -> {:?}", s.status, t.to);
                        if t.to == HazardStatus::Closed && t.from != HazardStatus::Closed {
                            let accepted = matches!(cmd, Command::Review { decision: Decision::Accept, .. });
                            prop_assert!(accepted, "closed by {:?}", cmd);
                            if major {
                                prop_assert!(role.is_staff(), "a major hazard closed by {role:?}");
                                prop_assert!(plan_complete, "a major hazard closed without a complete plan");
                            }
                        }
                        if let Some(d) = t.deadline {
                            prop_assert!(d > deadline, "the deadline moved earlier");
                            prop_assert!(role.is_staff());
                        }
                        s = after(s, &t);
                    }
                    Err(Error::Forbidden) => prop_assert!(!cmd.permitted(role, s.severity)),
                    Err(Error::Validation(_) | Error::InvalidTransition { .. } | Error::Conflict(_)) => {}
                    Err(e) => prop_assert!(false, "unexpected {e:?}"),
                }
            }
        }

        #[test]
        fn refusals_come_role_first_then_body_then_state(r in role(), cmd in command(), status in proptest::sample::select(HazardStatus::ALL.to_vec())) {
            let s = HazardState { status, severity: Severity::Major, deadline: day(15), plan: None, pending_extension: None };
            let out = decide(&s, r, cmd.clone());
            if !cmd.permitted(r, Severity::Major) {
                prop_assert!(matches!(out, Err(Error::Forbidden)));
            }
        }
    }

    #[test]
    fn who_may_run_what_follows_the_roles_of_api_md() {
        use CommandKind as K;
        use Role::{Admin, Enterprise, Inspector, Office};
        let table: [(K, &[Role]); 6] = [
            (K::SubmitRectification, &[Admin, Inspector, Enterprise]),
            (K::Review, &[Admin, Office, Inspector]),
            (K::Cancel, &[Admin, Office]),
            (K::SetPlan, &[Admin, Office, Enterprise]),
            (K::RequestExtension, &[Admin, Enterprise]),
            (K::DecideExtension, &[Admin, Office]),
        ];
        for (kind, allowed) in table {
            for role in Role::ALL {
                assert_eq!(
                    kind.open_to(role),
                    allowed.contains(&role),
                    "{kind:?} {role:?}"
                );
            }
        }
    }

    #[test]
    fn a_major_hazard_needs_the_office_and_a_complete_plan() {
        let mut s = HazardState {
            status: HazardStatus::Submitted,
            severity: Severity::Major,
            deadline: day(60),
            plan: None,
            pending_extension: None,
        };
        let accept = || Command::Review {
            decision: Decision::Accept,
            comment: String::new(),
        };
        assert!(matches!(
            decide(&s, Role::Inspector, accept()),
            Err(Error::Forbidden)
        ));
        match decide(&s, Role::Office, accept()) {
            Err(Error::InvalidTransition { missing, .. }) => {
                assert_eq!(missing.as_deref(), Some("plan"))
            }
            other => panic!("{other:?}"),
        }
        s.plan = Some(Plan {
            funding: " ".into(),
            ..full_plan()
        });
        assert!(decide(&s, Role::Office, accept()).is_err());
        s.plan = Some(full_plan());
        assert_eq!(
            decide(&s, Role::Office, accept()).map(|t| t.to).ok(),
            Some(HazardStatus::Closed)
        );
    }

    #[test]
    fn a_rejection_says_why_and_is_checked_before_the_state() {
        let s = HazardState {
            status: HazardStatus::Open,
            severity: Severity::General,
            deadline: day(15),
            plan: None,
            pending_extension: None,
        };
        let reject = |comment: &str| Command::Review {
            decision: Decision::Reject,
            comment: comment.into(),
        };
        assert!(matches!(
            decide(&s, Role::Inspector, reject(" ")),
            Err(Error::Validation(_))
        ));
        assert!(matches!(
            decide(&s, Role::Inspector, reject("照片不清楚")),
            Err(Error::InvalidTransition { .. })
        ));
    }

    #[test]
    fn one_extension_at_a_time_and_only_later() {
        let mut s = HazardState {
            status: HazardStatus::Open,
            severity: Severity::General,
            deadline: day(15),
            plan: None,
            pending_extension: None,
        };
        let ask = |d| Command::RequestExtension {
            until: day(d),
            reason: "设备到货延迟".into(),
        };
        assert!(matches!(
            decide(&s, Role::Enterprise, ask(15)),
            Err(Error::Validation(_))
        ));
        let t = decide(&s, Role::Enterprise, ask(30)).unwrap();
        s = super::tests::after(s, &t);
        assert!(matches!(
            decide(&s, Role::Enterprise, ask(40)),
            Err(Error::Conflict(_))
        ));
        let decision = Command::DecideExtension {
            approve: true,
            comment: String::new(),
        };
        assert!(matches!(
            decide(&s, Role::Inspector, decision.clone()),
            Err(Error::Forbidden)
        ));
        let t = decide(&s, Role::Office, decision).unwrap();
        assert_eq!(t.deadline, Some(day(30)));
    }
}
