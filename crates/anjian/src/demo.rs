//! A year of synthetic history for `anjian serve --demo`, so that the portal,
//! the dashboard and the reports have something to show: the town's
//! inspections, hazards in its proportions (罗溪镇's 2021 summary: of 3,152
//! enterprises inspected, 108 problem enterprises, 92% of them rectified),
//! rectifications with generated after-photos, reviews, extensions, and a few
//! overdue and major hazards with their plans.
//!
//! Everything goes through the use cases real traffic takes — inspectors'
//! pushes, the lifecycle commands, photo ingest — each at the time the
//! generator's clock says, in time order, so history rows, audit entries and
//! feed versions are what a year of use would have left. The same roster and
//! the same `now` give the same history.
//!
//! The year: the 52 weeks before today. Key units (消防重点单位, the roster's
//! 230) are inspected every month; every enterprise on the roster is visited
//! once by the "危污乱散低" sweep, inside the current ISO week-year when it
//! has run long enough (else across the year). Hazards are found only at the
//! 108 problem enterprises — the demo accounts' ten among them — and every
//! one of those has at least one this year; at 99 of them (92%) every hazard
//! of this year is closed or cancelled by now, the other 9 keep one open:
//! overdue (some past the escalation line), just found, awaiting review,
//! waiting for an extension decision, or a major hazard with its plan.

use std::collections::{BTreeMap, HashMap};

use anjian_domain::hazard::Severity;
use anjian_domain::hazard::lifecycle::{Decision, Plan};
use anjian_domain::{Clock, FixedClock, RiskTag};
use anjian_evidence::imaging::{Scene, synthetic_photo};
use anjian_store::Db;
use anjian_store::entity::enterprise;
use anjian_store::repo::users::User;
use anjian_store::repo::{self, PageRequest};
use anjian_usecases::lifecycle::{self, Input, Target};
use anjian_usecases::photos::Photos;
use anjian_usecases::sync::{Mutation, PushSettings};
use anyhow::{Context, anyhow};
use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::rng::Rng;

/// The findings, comments, reasons and plan the history writes.
pub const BANK_YAML: &str = include_str!("../../../seeds/demo/findings.yaml");

/// How many enterprises have hazards this year, and how many of them keep one
/// open (the town's 108 and 92%: 99 rectified).
const PROBLEM_ENTERPRISES: usize = 108;
const UNRECTIFIED: usize = 9;
/// Of the problem enterprises, how many are key units (inspected monthly).
const PROBLEM_KEY_UNITS: usize = 60;
/// The job claim that marks the history as made (once per database).
const JOB: &str = "demo.history";

#[derive(Debug, Deserialize)]
struct Bank {
    findings: Vec<Finding>,
    reject_comments: Vec<String>,
    extension_reasons: Vec<String>,
    plan: Plan,
}

#[derive(Debug, Deserialize)]
struct Finding {
    item: String,
    weight: usize,
    title: String,
    description: String,
    measures: String,
    fix: String,
}

/// What the generator made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub inspections: u64,
    pub hazards: u64,
    pub rectifications: u64,
    pub reviews: u64,
    pub plans: u64,
    pub extensions: u64,
    pub cancellations: u64,
    pub photos: u64,
}

/// A checklist edition: its id, code and items (code, severity hint).
struct Checklist {
    id: Uuid,
    code: String,
    items: Vec<(String, bool)>,
}

/// Who runs a command.
#[derive(Debug, Clone, Copy)]
enum Who {
    Inspector(usize),
    Office,
    Enterprise(usize),
}

/// How a hazard's story ends (as of now).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Rectified (on time or late), perhaps rejected once first, closed.
    Closed { late: bool, rejected: bool },
    /// Cancelled by the office (a duplicate record).
    Cancelled,
    /// Open past its deadline, never rectified.
    Overdue,
    /// Open, found days ago.
    Fresh,
    /// Rectified, waiting for review.
    Submitted,
    /// Open, an extension asked for and not yet decided.
    Waiting,
}

struct HazardPlan {
    id: Uuid,
    enterprise: usize,
    finding: usize,
    major: bool,
    found_at: DateTime<Utc>,
    deadline: NaiveDate,
    fate: Fate,
}

struct Visit {
    id: Uuid,
    enterprise: usize,
    checklist: usize,
    campaign: Option<Uuid>,
    started_at: DateTime<Utc>,
    hazards: Vec<usize>,
}

enum Step {
    Rectify,
    Review(Decision),
    Plan { complete: bool },
    Ask { id: Uuid, until: NaiveDate },
    Decide { id: Uuid, approve: bool },
    Cancel,
}

enum Act {
    /// An inspector's day, pushed at its end.
    Day {
        inspector: usize,
        visits: Vec<Visit>,
    },
    Command {
        hazard: usize,
        who: Who,
        step: Step,
    },
}

/// The generator's world: the roster, the people, the checklists.
struct World {
    enterprises: Vec<enterprise::Model>,
    inspectors: Vec<User>,
    /// The inspector of each village.
    inspector_of: HashMap<Uuid, usize>,
    office: User,
    /// Enterprise accounts, and the enterprise each belongs to.
    accounts: Vec<User>,
    account_of: HashMap<usize, usize>,
    checklists: Vec<Checklist>,
    campaigns: Vec<repo::campaigns::Campaign>,
    bank: Bank,
}

/// Makes the history unless this database has it (or has begun it): at the
/// first `--demo` start. The demo accounts must exist. `None` when there was
/// nothing to do.
pub async fn history(
    db: &Db,
    photos: &Photos,
    settings: PushSettings,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Report>> {
    // Never retaken: a history begun stays as it is (ids come from the
    // simulated time, so a second pass would collide with the first).
    let never = chrono::Duration::days(365 * 100);
    let Some(claim) = repo::jobs::claim(db, (JOB, "once"), "demo", (Utc::now(), never)).await?
    else {
        return Ok(None);
    };
    let world = World::load(db).await?;
    let mut g = Generator::new(world, settings, now);
    g.plan();
    let report = g.run(db, photos).await;
    let detail = match &report {
        Ok(r) => format!("{r:?}"),
        Err(e) => format!("{e:#}"),
    };
    let outcome = match report {
        Ok(_) => Ok(detail.as_str()),
        Err(_) => Err((detail.as_str(), Utc::now() + never)),
    };
    repo::jobs::finish(db, (claim.run, "demo"), outcome, Utc::now()).await?;
    report.map(Some)
}

impl World {
    async fn load(db: &Db) -> anyhow::Result<World> {
        let office = repo::users::find_by_username(db.conn(), "office")
            .await?
            .context("the demo history needs the demo accounts")?;
        let mut inspectors = Vec::new();
        let mut inspector_of = HashMap::new();
        for n in 1.. {
            let Some(u) =
                repo::users::find_by_username(db.conn(), &format!("inspector{n:02}")).await?
            else {
                break;
            };
            for v in &u.village_ids {
                inspector_of.insert(*v, inspectors.len());
            }
            inspectors.push(u);
        }
        let mut enterprises = Vec::new();
        let mut page = PageRequest {
            after: None,
            limit: 1000,
        };
        loop {
            let p =
                anjian_usecases::reference::enterprises(db, &office, &Default::default(), &page)
                    .await?;
            enterprises.extend(p.items);
            match p.next_after {
                Some(a) => page.after = Some(a),
                None => break,
            }
        }
        enterprises.sort_by(|a, b| a.credit_code.cmp(&b.credit_code));
        let index: HashMap<Uuid, usize> = enterprises
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id, i))
            .collect();
        let mut accounts = Vec::new();
        let mut account_of = HashMap::new();
        for n in 1.. {
            let Some(u) = repo::users::find_by_username(db.conn(), &format!("ent{n:02}")).await?
            else {
                break;
            };
            if let Some(e) = u.user.enterprise_id.and_then(|e| index.get(&e)) {
                account_of.insert(*e, accounts.len());
                accounts.push(u);
            }
        }
        let page = PageRequest {
            after: None,
            limit: 500,
        };
        let mut latest: BTreeMap<String, repo::templates::Template> = BTreeMap::new();
        for t in anjian_usecases::reference::templates(db, &page)
            .await?
            .items
        {
            if t.template.status == "published" {
                latest.insert(t.template.code.clone(), t);
            }
        }
        let checklists = latest
            .into_values()
            .map(|t| Checklist {
                id: t.template.id,
                code: t.template.code,
                items: t
                    .items
                    .into_iter()
                    .map(|i| (i.code, i.severity_hint == "major"))
                    .collect(),
            })
            .collect();
        let campaigns = anjian_usecases::reference::campaigns(db, &page)
            .await?
            .items;
        let bank: Bank = serde_yaml::from_str(BANK_YAML).context("seeds/demo/findings.yaml")?;
        Ok(World {
            enterprises,
            inspectors,
            inspector_of,
            office,
            accounts,
            account_of,
            checklists,
            campaigns,
            bank,
        })
    }

    fn checklist(&self, code: &str) -> Option<usize> {
        self.checklists.iter().position(|c| c.code == code)
    }

    /// The checklist an enterprise's sweep visit uses: its riskiest tag's, or
    /// the general one.
    fn sweep_checklist(&self, e: &enterprise::Model) -> usize {
        let tags = repo::enterprises::decode_tags(&e.risk_tags);
        let order = [
            (RiskTag::HazardousChemicals, "hazardous_chemicals"),
            (RiskTag::Dust, "dust"),
            (RiskTag::HazardousWaste, "hazardous_waste"),
            (RiskTag::Vocs, "vocs_electrical"),
            (RiskTag::ConfinedSpace, "confined_space"),
            (RiskTag::Gas, "gas"),
        ];
        order
            .iter()
            .filter(|(t, _)| tags.contains(t))
            .find_map(|(_, code)| self.checklist(code))
            .or_else(|| self.checklist("general"))
            .unwrap_or(0)
    }

    fn is_key_unit(&self, e: usize) -> bool {
        repo::enterprises::decode_tags(&self.enterprises[e].risk_tags)
            .contains(&RiskTag::FireKeyUnit)
    }

    /// The first campaign running on `day` that uses checklist `c`.
    fn campaign(&self, day: NaiveDate, c: usize) -> Option<Uuid> {
        let id = self.checklists[c].id;
        self.campaigns
            .iter()
            .find(|k| {
                k.row.starts_on <= day && day <= k.row.ends_on && k.template_ids.contains(&id)
            })
            .map(|k| k.row.id)
    }

    /// The findings of checklist `c`, with their weights.
    fn findings_of(&self, c: usize) -> Vec<(usize, usize)> {
        let items = &self.checklists[c].items;
        self.bank
            .findings
            .iter()
            .enumerate()
            .filter(|(_, f)| items.iter().any(|(code, _)| *code == f.item))
            .map(|(i, f)| (i, f.weight))
            .collect()
    }

    fn item_is_major(&self, c: usize, code: &str) -> bool {
        self.checklists[c]
            .items
            .iter()
            .any(|(i, major)| i == code && *major)
    }
}

struct Generator {
    w: World,
    settings: PushSettings,
    rng: Rng,
    now: DateTime<Utc>,
    today: NaiveDate,
    hazards: Vec<HazardPlan>,
    /// Visits by (day, inspector).
    days: BTreeMap<(NaiveDate, usize), Vec<Visit>>,
    acts: Vec<(DateTime<Utc>, u64, Act)>,
}

impl Generator {
    fn new(w: World, settings: PushSettings, now: DateTime<Utc>) -> Generator {
        let today = settings.policy.office_date(now);
        Generator {
            w,
            settings,
            rng: Rng::new(0x6465_6D6F_2026_1130),
            now,
            today,
            hazards: Vec::new(),
            days: BTreeMap::new(),
            acts: Vec::new(),
        }
    }

    /// `t` o'clock (office time) on `day`.
    fn at(&self, day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
        let naive = day.and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or_default());
        self.settings
            .policy
            .tz
            .from_local_datetime(&naive)
            .earliest()
            .map_or_else(|| Utc.from_utc_datetime(&naive), |t| t.with_timezone(&Utc))
    }

    /// The workday on or before `day`.
    fn workday(day: NaiveDate) -> NaiveDate {
        let mut d = day;
        while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            d = d.pred_opt().unwrap_or(d);
        }
        d
    }

    fn uuid(&mut self, at: DateTime<Utc>) -> Uuid {
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&self.rng.next().to_le_bytes());
        random[8..].copy_from_slice(&self.rng.next().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis().max(0) as u64, &random)
            .into_uuid()
    }

    /// Chooses the problem enterprises, the visits, the hazards and what
    /// happens to each.
    fn plan(&mut self) {
        let n = self.w.enterprises.len();
        let start = self.today - Days::new(364);
        let year_start = anjian_domain::figures::year_start(self.today);
        // The sweep: inside this ISO year when it has had eight weeks, and
        // up to three weeks ago.
        let sweep_end = self.today - Days::new(21);
        let sweep_start = if sweep_end - year_start >= Duration::weeks(8) {
            year_start.max(start)
        } else {
            start
        };

        // Problem enterprises: the demo accounts' first, then key units, then
        // enterprises with hazardous tags.
        let mut problem: Vec<usize> = {
            let mut v: Vec<usize> = self.w.account_of.keys().copied().collect();
            v.sort_unstable();
            v
        };
        let key_units: Vec<usize> = (0..n).filter(|e| self.w.is_key_unit(*e)).collect();
        let mut shuffled = key_units.clone();
        self.shuffle(&mut shuffled);
        for e in shuffled {
            if problem.len() >= self.w.account_of.len() + PROBLEM_KEY_UNITS {
                break;
            }
            if !problem.contains(&e) && self.operating(e) {
                problem.push(e);
            }
        }
        let mut others: Vec<usize> = (0..n)
            .filter(|e| {
                !self.w.is_key_unit(*e)
                    && self.operating(*e)
                    && !self.w.enterprises[*e]
                        .risk_tags
                        .trim_matches(',')
                        .is_empty()
            })
            .collect();
        self.shuffle(&mut others);
        for e in others {
            if problem.len() >= PROBLEM_ENTERPRISES {
                break;
            }
            if !problem.contains(&e) {
                problem.push(e);
            }
        }
        // The unrectified: the first three demo accounts', three key units,
        // three others.
        let accounts_first: Vec<usize> = problem
            .iter()
            .copied()
            .filter(|e| self.w.account_of.contains_key(e))
            .take(3)
            .collect();
        let mut unrectified = accounts_first.clone();
        unrectified.extend(
            problem
                .iter()
                .copied()
                .filter(|e| !self.w.account_of.contains_key(e) && self.w.is_key_unit(*e))
                .take(3),
        );
        unrectified.extend(
            problem
                .iter()
                .copied()
                .filter(|e| !self.w.account_of.contains_key(e) && !self.w.is_key_unit(*e))
                .take(UNRECTIFIED - unrectified.len()),
        );

        // The sweep visits every enterprise once, in a shuffled order spread
        // over the sweep's workdays.
        let sweep_days: Vec<NaiveDate> = sweep_start
            .iter_days()
            .take_while(|d| *d <= sweep_end)
            .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        self.shuffle(&mut order);
        for (k, e) in order.into_iter().enumerate() {
            let day = sweep_days[k * sweep_days.len() / n.max(1)];
            let c = self.w.sweep_checklist(&self.w.enterprises[e]);
            let found = if problem.contains(&e) {
                self.rng.between(1, 3) as usize
            } else {
                0
            };
            self.visit(e, day, c, found);
        }

        // Key units every month, on a day of their own.
        let fire = self.w.checklist("fire").unwrap_or(0);
        let general = self.w.checklist("general").unwrap_or(0);
        for &e in &key_units {
            let offset = self.rng.between(0, 27) as u64;
            let is_problem = problem.contains(&e);
            for m in 0..12u64 {
                let Some(day) = start.checked_add_days(Days::new(m * 30 + offset)) else {
                    continue;
                };
                let day = Self::workday(day);
                if day >= self.today || day < start {
                    continue;
                }
                // What is found in the last days would not be closed yet.
                let recent = day >= self.today - Days::new(12);
                let c = match m % 3 {
                    0 => fire,
                    1 => general,
                    _ => self.w.sweep_checklist(&self.w.enterprises[e]),
                };
                let found = if is_problem && !recent && self.rng.chance(0.45) {
                    self.rng.between(1, 3) as usize
                } else {
                    0
                };
                self.visit(e, day, c, found);
            }
        }

        // The demo accounts' enterprises get a follow-up visit each quarter,
        // so that their portal has a history.
        // In enterprise order: a HashMap's order changes from run to run,
        // and each visit draws from the generator.
        let mut with_accounts: Vec<usize> = self.w.account_of.keys().copied().collect();
        with_accounts.sort_unstable();
        for e in with_accounts {
            for q in 0..3u64 {
                let day =
                    Self::workday(start + Days::new(60 + q * 90 + self.rng.between(0, 20) as u64));
                if day >= self.today - Days::new(40) {
                    continue;
                }
                let c = self.w.sweep_checklist(&self.w.enterprises[e]);
                let found = self.rng.between(1, 2) as usize;
                self.visit(e, day, c, found);
            }
        }

        // Fates: the unrectified keep their last hazards open; the rest close.
        self.fates(&unrectified);
        self.stories();
    }

    fn operating(&self, e: usize) -> bool {
        self.w.enterprises[e].status.as_str() == "operating"
    }

    fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.rng.below(i + 1);
            xs.swap(i, j);
        }
    }

    /// Plans a visit to enterprise `e` on `day` with checklist `c` that
    /// finds `found` hazards.
    fn visit(&mut self, e: usize, day: NaiveDate, c: usize, found: usize) -> Option<usize> {
        let village = self.w.enterprises[e].village_id;
        let inspector = *self.w.inspector_of.get(&village)?;
        let slot = self.days.get(&(day, inspector)).map_or(0, Vec::len) as u32;
        let minutes = 9 * 60 + slot * 70 + self.rng.between(0, 15) as u32;
        let started_at = self.at(day, (minutes / 60).min(22), minutes % 60);
        let id = self.uuid(started_at);
        let findings = self.w.findings_of(c);
        let mut hazards = Vec::new();
        let mut used = Vec::new();
        for _ in 0..found {
            if findings.is_empty() {
                break;
            }
            let f = *self.rng.weighted(&findings);
            if used.contains(&f) {
                continue;
            }
            used.push(f);
            let major =
                self.w.item_is_major(c, &self.w.bank.findings[f].item) && self.rng.chance(0.3);
            let found_at = started_at + Duration::minutes(40);
            let policy = self.settings.policy;
            let severity = if major {
                Severity::Major
            } else {
                Severity::General
            };
            let deadline = policy
                .deadline(found_at, severity, None)
                .unwrap_or(self.today);
            let hid = self.uuid(found_at);
            hazards.push(self.hazards.len());
            self.hazards.push(HazardPlan {
                id: hid,
                enterprise: e,
                finding: f,
                major,
                found_at,
                deadline,
                fate: Fate::Closed {
                    late: false,
                    rejected: false,
                },
            });
        }
        let campaign = self.w.campaign(day, c);
        self.days.entry((day, inspector)).or_default().push(Visit {
            id,
            enterprise: e,
            checklist: c,
            campaign,
            started_at,
            hazards,
        });
        Some(inspector)
    }

    /// Decides each hazard's fate. The unrectified get a visit a little
    /// before today that leaves one hazard in the state they are shown in.
    fn fates(&mut self, unrectified: &[usize]) {
        for h in 0..self.hazards.len() {
            let late = self.rng.chance(0.1);
            let rejected = self.rng.chance(0.08);
            self.hazards[h].fate = if self.rng.chance(0.01) {
                Fate::Cancelled
            } else {
                Fate::Closed { late, rejected }
            };
        }
        // (days ago it was found, major, fate) for each unrectified enterprise.
        let shown: [&[(u64, bool, Fate)]; UNRECTIFIED] = [
            &[
                (26, false, Fate::Overdue),
                (5, false, Fate::Fresh),
                (20, true, Fate::Fresh),
            ],
            &[(9, false, Fate::Submitted), (11, false, Fate::Waiting)],
            &[(41, false, Fate::Overdue)],
            &[(22, false, Fate::Overdue)],
            &[(52, false, Fate::Overdue)],
            &[(75, false, Fate::Overdue)],
            &[(30, false, Fate::Overdue)],
            &[(45, true, Fate::Submitted)],
            &[(18, false, Fate::Overdue)],
        ];
        for (e, wanted) in unrectified.iter().zip(shown) {
            for (ago, major, fate) in wanted {
                let day = Self::workday(self.today - Days::new(*ago));
                let c = self.w.sweep_checklist(&self.w.enterprises[*e]);
                let Some(inspector) = self.visit(*e, day, c, 1) else {
                    continue;
                };
                let Some(h) = self
                    .days
                    .get(&(day, inspector))
                    .and_then(|v| v.last())
                    .and_then(|v| v.hazards.first().copied())
                else {
                    continue;
                };
                let policy = self.settings.policy;
                let hp = &mut self.hazards[h];
                hp.fate = *fate;
                hp.major = *major;
                let severity = if *major {
                    Severity::Major
                } else {
                    Severity::General
                };
                hp.deadline = policy
                    .deadline(hp.found_at, severity, None)
                    .unwrap_or(self.today);
                // A general hazard shown overdue got a shorter deadline.
                if *fate == Fate::Overdue && !*major {
                    let given = (*ago / 3).clamp(3, 15);
                    hp.deadline = policy.office_date(hp.found_at) + Days::new(given);
                }
            }
        }
    }

    /// Turns each day into a push at its end, and each hazard's fate into
    /// the commands that make it: from the day after it was found, in office
    /// hours (a step `t` is day `t / 24` after, at 09:00 plus `t % 24` times
    /// 20 minutes), squeezed to end by yesterday.
    fn stories(&mut self) {
        let days = std::mem::take(&mut self.days);
        for ((day, inspector), visits) in days {
            let last = visits.iter().map(|v| v.started_at).max();
            let end = last.map_or_else(
                || self.at(day, 17, 30),
                |l| self.at(day, 17, 30).max(l + Duration::hours(1)),
            );
            self.acts.push((end, 0, Act::Day { inspector, visits }));
        }
        for h in 0..self.hazards.len() {
            let hp = &self.hazards[h];
            let (e, major, fate) = (hp.enterprise, hp.major, hp.fate);
            let found_day = self.settings.policy.office_date(hp.found_at);
            let deadline = hp.deadline;
            let account = self.w.account_of.get(&e).copied();
            let village = self.w.enterprises[e].village_id;
            let inspector = self.w.inspector_of.get(&village).copied().unwrap_or(0);
            let fixer = account.map_or(Who::Inspector(inspector), Who::Enterprise);
            let reviewer = if major {
                Who::Office
            } else {
                Who::Inspector(inspector)
            };
            let planner = account.map_or(Who::Office, Who::Enterprise);
            // The last step on time: the deadline's own day.
            let mut due = ((deadline - found_day).num_days().max(1) - 1) * 24 + 23;
            // Until yesterday's end.
            let span = ((self.today - found_day).num_days() - 1) * 24 - 1;
            let mut steps: Vec<(i64, Who, Step)> = Vec::new();
            let mut t = 0;
            if major {
                t = self.rng.between(0, 96);
                let complete = fate != Fate::Fresh;
                steps.push((t, planner, Step::Plan { complete }));
            }
            let ask = account.is_some()
                && match fate {
                    Fate::Waiting => true,
                    Fate::Closed { .. } => self.rng.chance(0.25),
                    _ => false,
                };
            if ask {
                t += self.rng.between(4, 72);
                let until = deadline + Days::new(self.rng.between(10, 30) as u64);
                let id = self.uuid(self.now);
                steps.push((t, fixer, Step::Ask { id, until }));
                if fate != Fate::Waiting {
                    t += self.rng.between(4, 60);
                    let approve = self.rng.chance(0.75);
                    steps.push((t, Who::Office, Step::Decide { id, approve }));
                    if approve {
                        due = ((until - found_day).num_days().max(1) - 1) * 24 + 23;
                    }
                }
            }
            match fate {
                Fate::Closed { late, rejected } => {
                    t = if late {
                        (t + 4).max(due + self.rng.between(1, 8) * 24)
                    } else {
                        self.rng.between(t + 4, (t + 4).max(due))
                    };
                    steps.push((t, fixer, Step::Rectify));
                    if rejected {
                        t += self.rng.between(4, 72);
                        steps.push((t, reviewer, Step::Review(Decision::Reject)));
                        t += self.rng.between(24, 120);
                        steps.push((t, fixer, Step::Rectify));
                    }
                    t += self.rng.between(4, 96);
                    steps.push((t, reviewer, Step::Review(Decision::Accept)));
                }
                Fate::Cancelled => {
                    t += self.rng.between(4, 96);
                    steps.push((t, Who::Office, Step::Cancel));
                }
                Fate::Submitted => {
                    t = (t + 4).max(span - self.rng.between(24, 48));
                    steps.push((t, fixer, Step::Rectify));
                }
                Fate::Overdue | Fate::Fresh | Fate::Waiting => {}
            }
            let last = steps.last().map_or(0, |(t, _, _)| *t);
            for (k, (t, who, step)) in steps.into_iter().enumerate() {
                let t = if last > span && last > 0 {
                    t * span.max(0) / last
                } else {
                    t
                };
                let minute = (t % 24) as u32 * 20 + k as u32;
                let day = found_day + Days::new(1 + (t / 24) as u64);
                let at = self.at(day, 9 + minute / 60, minute % 60);
                self.acts.push((
                    at,
                    k as u64 + 1,
                    Act::Command {
                        hazard: h,
                        who,
                        step,
                    },
                ));
            }
        }
        self.acts.sort_by_key(|(t, k, _)| (*t, *k));
    }

    fn user(&self, who: Who) -> &User {
        match who {
            Who::Inspector(i) => &self.w.inspectors[i],
            Who::Office => &self.w.office,
            Who::Enterprise(a) => &self.w.accounts[a],
        }
    }

    /// Runs the acts in time order.
    async fn run(&mut self, db: &Db, photos: &Photos) -> anyhow::Result<Report> {
        let mut report = Report::default();
        let clock = FixedClock::at(self.now);
        let mut seqs: HashMap<usize, i64> = HashMap::new();
        let acts = std::mem::take(&mut self.acts);
        for (at, _, act) in acts {
            clock.set(at);
            match act {
                Act::Day { inspector, visits } => {
                    self.day(
                        db,
                        photos,
                        &clock,
                        (inspector, &mut seqs),
                        visits,
                        &mut report,
                    )
                    .await?;
                }
                Act::Command { hazard, who, step } => {
                    self.command(db, photos, &clock, (hazard, who, step), &mut report)
                        .await?;
                }
            }
        }
        Ok(report)
    }

    async fn photo(
        &mut self,
        db: &Db,
        photos: &Photos,
        clock: &FixedClock,
        (who, scene): (Who, Scene),
    ) -> anyhow::Result<Uuid> {
        let seed = self.rng.next();
        let bytes = tokio::task::spawn_blocking(move || synthetic_photo(seed, scene))
            .await?
            .map_err(|e| anyhow!("generating a photo: {e}"))?;
        let user = self.user(who).clone();
        let actor = anjian_store::Actor::user(user.user.id, None);
        let tz = self.settings.policy.tz;
        let p = anjian_usecases::photos::ingest(
            photos,
            db,
            (
                actor,
                clock as &dyn Clock,
                self.settings.max_pending_photos,
                tz,
            ),
            &user,
            bytes::Bytes::from(bytes),
        )
        .await
        .map_err(|e| anyhow!("ingesting a photo: {e:?}"))?;
        Ok(p.id)
    }

    /// One inspector's day: a photo for each hazard, then one push with the
    /// inspections and their hazards.
    async fn day(
        &mut self,
        db: &Db,
        photos: &Photos,
        clock: &FixedClock,
        (inspector, seqs): (usize, &mut HashMap<usize, i64>),
        visits: Vec<Visit>,
        report: &mut Report,
    ) -> anyhow::Result<()> {
        let mut mutations = Vec::new();
        let seq = seqs.entry(inspector).or_insert(0);
        let mut next_seq = *seq;
        for v in &visits {
            let mut photo_of = HashMap::new();
            for &h in &v.hazards {
                let p = self
                    .photo(
                        db,
                        photos,
                        clock,
                        (Who::Inspector(inspector), Scene::Finding),
                    )
                    .await?;
                report.photos += 1;
                photo_of.insert(h, p);
            }
            let e = &self.w.enterprises[v.enterprise];
            let c = &self.w.checklists[v.checklist];
            let failed: HashMap<&str, usize> = v
                .hazards
                .iter()
                .map(|h| {
                    (
                        self.w.bank.findings[self.hazards[*h].finding].item.as_str(),
                        *h,
                    )
                })
                .collect();
            let results: Vec<serde_json::Value> = c
                .items
                .iter()
                .map(|(code, _)| match failed.get(code.as_str()) {
                    Some(h) => json!({
                        "item_code": code, "outcome": "fail",
                        "note": self.w.bank.findings[self.hazards[*h].finding].title,
                    }),
                    None => json!({"item_code": code, "outcome": "pass"}),
                })
                .collect();
            let summary = if v.hazards.is_empty() {
                "检查未发现隐患。".to_owned()
            } else {
                format!(
                    "发现隐患{}项，已当场告知企业并下达整改要求。",
                    v.hazards.len()
                )
            };
            next_seq += 1;
            mutations.push(Mutation {
                seq: next_seq,
                kind: "inspection.create".into(),
                base_version: None,
                client_time: None,
                payload: json!({
                    "id": v.id, "enterprise_id": e.id, "campaign_id": v.campaign,
                    "template_id": c.id, "started_at": v.started_at,
                    "finished_at": v.started_at + Duration::minutes(50),
                    "location": e.lat.zip(e.lon).map(|(lat, lon)| json!({"lat": lat, "lon": lon})),
                    "results": results, "summary": summary,
                }),
            });
            for &h in &v.hazards {
                let hp = &self.hazards[h];
                let f = &self.w.bank.findings[hp.finding];
                next_seq += 1;
                mutations.push(Mutation {
                    seq: next_seq,
                    kind: "hazard.create".into(),
                    base_version: None,
                    client_time: None,
                    payload: json!({
                        "id": hp.id, "enterprise_id": e.id, "inspection_id": v.id,
                        "item_code": f.item, "title": f.title, "description": f.description,
                        "severity": if hp.major { "major" } else { "general" },
                        "found_at": hp.found_at, "deadline": hp.deadline,
                        "responsible_person": e.contact_name, "measures": f.measures,
                        "photo_ids": photo_of.get(&h).map(|p| vec![*p]).unwrap_or_default(),
                    }),
                });
            }
        }
        let user = self.w.inspectors[inspector].clone();
        let device = Uuid::from_u64_pair(0x6465_6D6F, inspector as u64 + 1);
        let actor = anjian_store::Actor::user(user.user.id, None);
        let answer =
            anjian_usecases::sync::push(db, clock, actor, &user, device, mutations, &self.settings)
                .await?;
        for r in &answer.results {
            if r.outcome.status != "applied" {
                return Err(anyhow!("demo push refused: {:?}", r.outcome));
            }
            match r.outcome.entity_type.as_deref() {
                Some("inspection") => report.inspections += 1,
                Some("hazard") => report.hazards += 1,
                _ => {}
            }
        }
        *seq = answer.last_processed_seq;
        Ok(())
    }

    async fn command(
        &mut self,
        db: &Db,
        photos: &Photos,
        clock: &FixedClock,
        (h, who, step): (usize, Who, Step),
        report: &mut Report,
    ) -> anyhow::Result<()> {
        let hazard = self.hazards[h].id;
        let fix = self.w.bank.findings[self.hazards[h].finding].fix.clone();
        let (target, input) = match step {
            Step::Rectify => {
                let photo = self.photo(db, photos, clock, (who, Scene::Fixed)).await?;
                report.photos += 1;
                report.rectifications += 1;
                let id = self.uuid(clock.now());
                (
                    Target::Hazard(hazard),
                    Input::Rectify {
                        id,
                        description: fix,
                        photo_ids: vec![photo],
                    },
                )
            }
            Step::Review(decision) => {
                report.reviews += 1;
                let comment = match decision {
                    Decision::Accept => "现场复查，整改到位，同意销号。".to_owned(),
                    Decision::Reject => self.rng.pick(&self.w.bank.reject_comments).clone(),
                };
                (
                    Target::Hazard(hazard),
                    Input::Review {
                        decision,
                        comment,
                        photo_ids: Vec::new(),
                    },
                )
            }
            Step::Plan { complete } => {
                report.plans += 1;
                let mut plan = self.w.bank.plan.clone();
                if !complete {
                    plan.funding.clear();
                    plan.timeline.clear();
                    plan.safety_measures.clear();
                }
                (Target::Hazard(hazard), Input::Plan(plan))
            }
            Step::Ask { id, until } => {
                report.extensions += 1;
                let reason = self.rng.pick(&self.w.bank.extension_reasons).clone();
                (
                    Target::Hazard(hazard),
                    Input::RequestExtension { id, until, reason },
                )
            }
            Step::Decide { id, approve } => {
                let comment = if approve {
                    "同意延期，请按新的期限完成整改。"
                } else {
                    "理由不充分，请按原期限完成整改。"
                };
                (
                    Target::Extension(id),
                    Input::DecideExtension {
                        approve,
                        comment: comment.to_owned(),
                    },
                )
            }
            Step::Cancel => {
                report.cancellations += 1;
                (
                    Target::Hazard(hazard),
                    Input::Cancel {
                        reason: "与同日另一条记录重复登记，撤销本条。".to_owned(),
                    },
                )
            }
        };
        let user = self.user(who).clone();
        let actor = anjian_store::Actor::user(user.user.id, None);
        lifecycle::execute(db, actor, clock, &user, target, input)
            .await
            .with_context(|| format!("demo command on hazard {hazard}"))?;
        Ok(())
    }
}
