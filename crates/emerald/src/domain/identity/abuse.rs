//! Abuse resistance (issue #23, docs/abuse.md): login throttling with exponential back-off in
//! the shared store, blocked users, the auth audit, and per-token / per-company request quotas.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::domain::error::{Error, Result};
use crate::domain::identity::credentials::EMAIL_MAX_CHARS;
use crate::domain::model::account::User;
use crate::domain::model::analysis::Analysis;
use crate::domain::model::audit::{AuthEvent, CompanyQuota, ObjectChange, StoredAuthEvent};
use crate::domain::model::caller::{Caller, Scope};
use crate::domain::model::role::UserType;
use crate::domain::store::{ListParams, Page};
use crate::domain::time::now;
use crate::domain::Domain;

/// Login throttling (all durations in seconds).
#[derive(Debug, Clone)]
pub struct ThrottleSettings {
    /// Failed logins of one account before its logins are refused for a while; 0 = off.
    pub max_failures: u32,
    /// Failed logins from one client address (an IPv6 address by its /64) before its logins
    /// are refused for a while; 0 = off.
    pub address_max_failures: u32,
    /// The first refusal period; each further failure doubles it.
    pub backoff: f64,
    /// The longest refusal period.
    pub backoff_max: f64,
    /// Failures older than this are forgotten (the count starts again).
    pub window: f64,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings { max_failures: 5, address_max_failures: 20, backoff: 2.0, backoff_max: 900.0, window: 3600.0 }
    }
}

impl ThrottleSettings {
    /// How long a key is refused after its `failures`-th failure with threshold `max`.
    fn lock_for(&self, failures: u32, max: u32) -> Option<f64> {
        if max == 0 || failures < max {
            return None;
        }
        let doublings = (failures - max).min(40) as i32;
        Some((self.backoff.max(0.0) * 2f64.powi(doublings)).min(self.backoff_max.max(0.0)))
    }
}

/// Requests per minute allowed; 0 = no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rates {
    pub requests: u32,
    pub expensive: u32,
}

/// Request quotas: token buckets kept by each server process (per node).
#[derive(Debug, Clone, Copy)]
pub struct QuotaSettings {
    pub token: Rates,
    pub company: Rates,
    /// How long a company's override is cached by each node.
    pub override_ttl: Duration,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        QuotaSettings {
            token: Rates { requests: 1200, expensive: 120 },
            company: Rates { requests: 6000, expensive: 600 },
            override_ttl: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct AbuseSettings {
    pub throttle: ThrottleSettings,
    pub quotas: QuotaSettings,
    /// Audit events older than this many seconds are deleted by the periodic sweep; 0 = kept.
    pub audit_retention: f64,
}

/// The counter key of an account.
pub fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

/// The counter key of a client address: IPv4 as is, IPv6 by its /64 (one host gets a whole
/// /64), an IPv4-mapped IPv6 address as its IPv4.
pub fn address_key(ip: IpAddr) -> String {
    format!("address:{}", address_label(ip))
}

fn address_label(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

fn clip_email(email: &str) -> String {
    email.trim().to_lowercase().chars().take(EMAIL_MAX_CHARS).collect()
}

fn retry_after(until: f64, t: f64) -> u64 {
    (until - t).ceil().max(1.0) as u64
}

/// What a request costs against the quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestClass {
    Ordinary,
    /// Uploads, analyses, Instant calls, enrolment: engine work.
    Expensive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum BucketKey {
    Token(Uuid, bool),
    Company(Uuid, bool),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    per_minute: u32,
}

impl Bucket {
    /// The tokens now (refilled at `per_minute` a minute, up to a minute's worth).
    fn level(&self, t: Instant, per_minute: u32) -> f64 {
        let cap = per_minute as f64;
        let refill = t.saturating_duration_since(self.at).as_secs_f64() * cap / 60.0;
        (self.tokens + refill).min(cap)
    }
}

/// Buckets above which full (idle) ones are forgotten.
const BUCKETS_PRUNE_AT: usize = 20_000;

/// The in-process quota state of one node.
#[derive(Default)]
pub struct Quotas {
    buckets: Mutex<HashMap<BucketKey, Bucket>>,
    overrides: Mutex<HashMap<Uuid, (CompanyQuota, Instant)>>,
}

impl Quotas {
    /// Take one token from each bucket, or none when any is empty: then the seconds until the
    /// emptiest one has a token.
    fn take(&self, wanted: &[(BucketKey, u32)]) -> std::result::Result<(), u64> {
        let t = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait: f64 = 0.0;
        for &(key, per_minute) in wanted {
            let level = buckets.get(&key).map(|b| b.level(t, per_minute)).unwrap_or(per_minute as f64);
            if level < 1.0 {
                wait = wait.max((1.0 - level) * 60.0 / per_minute as f64);
            }
        }
        if wait > 0.0 {
            return Err(wait.ceil().max(1.0) as u64);
        }
        if buckets.len() >= BUCKETS_PRUNE_AT {
            buckets.retain(|_, b| b.level(t, b.per_minute) < b.per_minute as f64);
        }
        for &(key, per_minute) in wanted {
            let level = buckets.get(&key).map(|b| b.level(t, per_minute)).unwrap_or(per_minute as f64);
            buckets.insert(key, Bucket { tokens: level - 1.0, at: t, per_minute });
        }
        Ok(())
    }

    fn cached_override(&self, company: Uuid, ttl: Duration) -> Option<CompanyQuota> {
        let map = self.overrides.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&company).filter(|(_, at)| at.elapsed() < ttl).map(|(q, _)| *q)
    }

    fn remember_override(&self, company: Uuid, q: CompanyQuota) {
        let mut map = self.overrides.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= BUCKETS_PRUNE_AT {
            map.clear();
        }
        map.insert(company, (q, Instant::now()));
    }
}

/// Shared handle (cheap to clone with the domain).
pub type SharedQuotas = Arc<Quotas>;

impl Domain {
    /// Record an audit event; a failure to record is logged, never fails the request.
    pub(in crate::domain) async fn audit(&self, event: AuthEvent) {
        self.audit_all(vec![event]).await;
    }

    /// Record audit events in one transaction of their own; a failure to record is logged.
    async fn audit_all(&self, events: Vec<AuthEvent>) {
        self.audit_committed(&events);
        if events.is_empty() {
            return;
        }
        if let Err(e) = self.store.insert_auth_events(&events).await {
            tracing::warn!(error = %e, event = events[0].event, n = events.len(), "recording audit events failed");
        }
    }

    /// Count audit events (the metric) once they are stored: by [`Self::audit_all`], or by the
    /// store transaction of the change they describe (the caller passes them to the store).
    pub(in crate::domain) fn audit_committed(&self, events: &[AuthEvent]) {
        for e in events {
            metrics::counter!("emerald_auth_events_total", "event" => e.event, "outcome" => e.outcome).increment(1);
        }
    }

    fn event(&self, event: &'static str, outcome: &'static str) -> AuthEvent {
        AuthEvent {
            event_id: Uuid::new_v4(),
            time_created: now(),
            event,
            outcome,
            user_id: None,
            company_id: None,
            email: None,
            actor_id: None,
            client_addr: None,
            object: None,
        }
    }

    /// Refuse a login attempt while its account or address is locked out.
    pub(in crate::domain) async fn check_login_throttle(&self, email: &str, client: Option<IpAddr>) -> Result<()> {
        let s = &self.abuse.throttle;
        if s.max_failures == 0 && s.address_max_failures == 0 {
            return Ok(());
        }
        let mut keys = vec![account_key(email)];
        if let Some(ip) = client {
            keys.push(address_key(ip));
        }
        let t = now();
        let until = self.store.login_locked_until(&keys).await?;
        if until > t {
            metrics::counter!("emerald_login_throttled_total").increment(1);
            let mut e = self.event("login", "throttled");
            e.email = Some(clip_email(email));
            e.client_addr = client.map(address_label);
            self.audit(e).await;
            return Err(Error::Throttled { retry_after: retry_after(until, t) });
        }
        Ok(())
    }

    /// Count a failed login against its account and address; lock them once over the limit.
    pub(in crate::domain) async fn login_failed(
        &self,
        email: &str,
        user: Option<&User>,
        client: Option<IpAddr>,
    ) -> Result<()> {
        metrics::counter!("emerald_login_failures_total").increment(1);
        let s = self.abuse.throttle.clone();
        let t = now();
        let mut counters = vec![(account_key(email), s.max_failures)];
        if let Some(ip) = client {
            counters.push((address_key(ip), s.address_max_failures));
        }
        for (key, max) in counters {
            if max == 0 {
                continue;
            }
            let failures = self.store.record_login_failure(&key, t, t - s.window.max(0.0)).await?;
            if let Some(lock) = s.lock_for(failures, max) {
                self.store.lock_login(&key, t + lock).await?;
                metrics::counter!("emerald_login_lockouts_total").increment(1);
                tracing::info!(key = %key.split(':').next().unwrap_or(""), failures, lock_secs = lock, "login locked out");
            }
        }
        let mut e = self.event("login", "failure");
        e.email = Some(clip_email(email));
        e.user_id = user.map(|u| u.user_id);
        e.company_id = user.and_then(|u| u.company_id);
        e.client_addr = client.map(address_label);
        self.audit(e).await;
        Ok(())
    }

    /// A successful login forgets its account's failures (not its address's: one known
    /// account must not reset the count of a guessing address).
    pub(in crate::domain) async fn login_succeeded(&self, user: &User, client: Option<IpAddr>) -> Result<()> {
        self.store.clear_login_failures(Some(&[account_key(&user.email)])).await?;
        let mut e = self.event("login", "success");
        e.user_id = Some(user.user_id);
        e.company_id = user.company_id;
        e.email = Some(clip_email(&user.email));
        e.client_addr = client.map(address_label);
        self.audit(e).await;
        Ok(())
    }

    pub(in crate::domain) async fn login_blocked(&self, user: &User, client: Option<IpAddr>) {
        metrics::counter!("emerald_blocked_refusals_total").increment(1);
        let mut e = self.event("login", "blocked");
        e.user_id = Some(user.user_id);
        e.company_id = user.company_id;
        e.email = Some(clip_email(&user.email));
        e.client_addr = client.map(address_label);
        self.audit(e).await;
    }

    pub(in crate::domain) async fn refreshed(&self, caller: &Caller, client: Option<IpAddr>) {
        let mut e = self.event("refresh", "success");
        e.user_id = Some(caller.user_id);
        e.company_id = caller.company_id;
        e.client_addr = client.map(address_label);
        self.audit(e).await;
    }

    /// An operator's decision on an analysis (GAP-4): who, when, the resolution before and
    /// after, the comment. The event's company is the analysis's, so that company's CLIENT
    /// ADMIN reads it in `GET /api/audit`. Built for the decision's own store transaction.
    pub(in crate::domain) fn decision_event(
        &self,
        caller: &Caller,
        email: Option<&str>,
        analysis: &Analysis,
        after: &str,
        comment: Option<&str>,
    ) -> AuthEvent {
        let mut e = self.event("decision", "success");
        e.user_id = Some(caller.user_id);
        e.actor_id = Some(caller.user_id);
        e.company_id = analysis.company_id;
        e.email = email.map(clip_email);
        e.object = Some(ObjectChange {
            object_type: "analysis",
            object_id: analysis.analyse_id,
            before: Some(analysis.resolution_status.as_str().to_owned()),
            after: Some(after.to_owned()),
            comment: comment.map(str::to_owned),
        });
        e
    }

    /// A change to an object (GAP-4): `event` is `create`, `update`, `delete`, `redeliver` or
    /// `webhook`; `caller` None when the server did it (a webhook delivery). The event's company
    /// is the object's, so that company's CLIENT ADMIN reads it in `GET /api/audit`.
    pub(in crate::domain) async fn object_audited(
        &self,
        caller: Option<&Caller>,
        event: &'static str,
        outcome: &'static str,
        company_id: Option<Uuid>,
        change: ObjectChange,
    ) {
        self.objects_audited(caller, event, outcome, company_id, vec![change]).await;
    }

    /// Several objects changed by one request (a folder with its media and analyses), recorded
    /// together.
    pub(in crate::domain) async fn objects_audited(
        &self,
        caller: Option<&Caller>,
        event: &'static str,
        outcome: &'static str,
        company_id: Option<Uuid>,
        changes: Vec<ObjectChange>,
    ) {
        let events = self.object_events_of(caller, event, outcome, company_id, changes);
        self.audit_all(events).await;
    }

    /// The events [`Self::objects_audited`] records, built but not stored: for a store method
    /// that inserts them in the change's own transaction (then [`Self::audit_committed`]).
    pub(in crate::domain) fn object_events_of(
        &self,
        caller: Option<&Caller>,
        event: &'static str,
        outcome: &'static str,
        company_id: Option<Uuid>,
        changes: Vec<ObjectChange>,
    ) -> Vec<AuthEvent> {
        changes
            .into_iter()
            .map(|change| {
                let mut e = self.event(event, outcome);
                e.user_id = caller.map(|c| c.user_id);
                e.actor_id = caller.map(|c| c.user_id);
                e.company_id = company_id;
                e.object = Some(change);
                e
            })
            .collect()
    }

    /// The audited changes of these objects, oldest first, for a caller who may see them (the
    /// caller's visibility is checked by the caller of this function).
    pub(in crate::domain) async fn object_events(&self, ids: &[Uuid]) -> Result<Vec<StoredAuthEvent>> {
        let mut all = Vec::new();
        for id in ids {
            all.extend(self.store.object_events(*id).await?);
        }
        all.sort_by(|a, b| a.time_created.total_cmp(&b.time_created));
        Ok(all)
    }

    pub(in crate::domain) async fn logged_out(&self, caller: &Caller) {
        let mut e = self.event("logout", "success");
        e.user_id = Some(caller.user_id);
        e.company_id = caller.company_id;
        self.audit(e).await;
    }

    /// A block or unblock of `user` by `caller`, built for the change's own store transaction.
    pub(in crate::domain) fn user_block_event(&self, caller: &Caller, user: &User, active: bool) -> AuthEvent {
        let mut e = self.event(if active { "unblock" } else { "block" }, "success");
        e.user_id = Some(user.user_id);
        e.company_id = user.company_id;
        e.email = Some(clip_email(&user.email));
        e.actor_id = Some(caller.user_id);
        e
    }

    /// `DELETE /api/authorize/throttle`: forget the failures of one account, one address, or
    /// (neither given) all of them. ADMIN only.
    pub async fn clear_login_throttle(
        &self,
        caller: &Caller,
        email: Option<&str>,
        address: Option<IpAddr>,
    ) -> Result<u64> {
        if caller.user_type != UserType::Admin {
            return Err(Error::Forbidden(None));
        }
        let mut keys = Vec::new();
        if let Some(e) = email {
            keys.push(account_key(e));
        }
        if let Some(ip) = address {
            keys.push(address_key(ip));
        }
        let n = self.store.clear_login_failures(if keys.is_empty() { None } else { Some(&keys) }).await?;
        let mut e = self.event("throttle_clear", "success");
        e.actor_id = Some(caller.user_id);
        e.email = email.map(clip_email);
        e.client_addr = address.map(address_label);
        self.audit(e).await;
        Ok(n)
    }

    /// `GET /api/audit/`: every event for ADMIN, its company's for CLIENT ADMIN.
    pub async fn list_auth_events(&self, caller: &Caller, params: &ListParams) -> Result<Page<StoredAuthEvent>> {
        self.store.list_auth_events(audit_scope(caller)?, params).await
    }

    /// `GET /api/audit.csv` and the console's audit export: the next `limit` events the caller
    /// may read among `params`' filters and sorting, after `after` (the `time_created` and
    /// `event_id` of the last event of the previous chunk). Same permissions as the list.
    pub async fn audit_report_chunk(
        &self,
        caller: &Caller,
        params: &ListParams,
        after: Option<(f64, Uuid)>,
        limit: u64,
    ) -> Result<Vec<StoredAuthEvent>> {
        self.store.auth_events_after(audit_scope(caller)?, params, after, limit).await
    }

    /// Take this request from the caller's token and company quotas: code 101 with the seconds
    /// to wait when one is spent. Checked before the request does anything, so a refusal never
    /// undoes work accepted before.
    /// ADMIN and OPERATOR (no company) are not limited.
    pub async fn charge_quota(&self, caller: &Caller, class: RequestClass) -> Result<()> {
        if caller.user_type.is_global() {
            return Ok(());
        }
        let q = self.abuse.quotas;
        let expensive = class == RequestClass::Expensive;
        let company = match caller.company_id {
            Some(c) => Some((c, self.company_rates(c).await?)),
            None => None,
        };
        let mut wanted: Vec<(BucketKey, u32)> = Vec::with_capacity(4);
        let mut push = |key: BucketKey, rate: u32| {
            if rate > 0 {
                wanted.push((key, rate));
            }
        };
        push(BucketKey::Token(caller.session_id, false), q.token.requests);
        if expensive {
            push(BucketKey::Token(caller.session_id, true), q.token.expensive);
        }
        if let Some((c, rates)) = company {
            push(BucketKey::Company(c, false), rates.requests);
            if expensive {
                push(BucketKey::Company(c, true), rates.expensive);
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        self.quotas.take(&wanted).map_err(|retry_after| {
            metrics::counter!("emerald_quota_refusals_total", "class" => if expensive { "expensive" } else { "requests" })
                .increment(1);
            Error::Throttled { retry_after }
        })
    }

    /// A company's rates: its override where set, else the global ones.
    async fn company_rates(&self, company: Uuid) -> Result<Rates> {
        let q = self.abuse.quotas;
        let o = match self.quotas.cached_override(company, q.override_ttl) {
            Some(o) => o,
            None => {
                let o = self.store.company_quota(company).await?.unwrap_or_default();
                self.quotas.remember_override(company, o);
                o
            }
        };
        Ok(Rates {
            requests: o.requests_per_minute.unwrap_or(q.company.requests),
            expensive: o.expensive_per_minute.unwrap_or(q.company.expensive),
        })
    }

    /// `GET /api/companies/{id}/quotas`: the override and the rates in force (ADMIN, or the
    /// company's own users).
    pub async fn company_quota(&self, caller: &Caller, company: Uuid) -> Result<(CompanyQuota, Rates)> {
        if !caller.sees_company(Some(company)) || self.store.get_company(company).await?.is_none() {
            return Err(Error::not_exist("Company"));
        }
        let o = self.store.company_quota(company).await?.unwrap_or_default();
        let q = self.abuse.quotas.company;
        let rates = Rates {
            requests: o.requests_per_minute.unwrap_or(q.requests),
            expensive: o.expensive_per_minute.unwrap_or(q.expensive),
        };
        Ok((o, rates))
    }

    /// `PUT /api/companies/{id}/quotas` (ADMIN): set or (None) clear a company's override.
    /// Other nodes see it within their cache period. A change is audited (`event=update`,
    /// `object_type=company_quota`, the override before and after) in its transaction, under
    /// the company; the same override again records nothing.
    pub async fn set_company_quota(&self, caller: &Caller, company: Uuid, quota: CompanyQuota) -> Result<()> {
        if caller.user_type != UserType::Admin {
            return Err(Error::Forbidden(None));
        }
        let before = self.store.company_quota(company).await?.unwrap_or_default();
        let mut events = Vec::new();
        if before != quota {
            let change = ObjectChange::of("company_quota", company)
                .before(describe_quota(&before))
                .after(describe_quota(&quota));
            events = self.object_events_of(Some(caller), "update", "success", Some(company), vec![change]);
        }
        if !self.store.set_company_quota(company, &quota, &events).await? {
            return Err(Error::not_exist("Company"));
        }
        self.audit_committed(&events);
        self.quotas.remember_override(company, quota);
        Ok(())
    }
}

/// A quota override as audited: `requests_per_minute=N, expensive_per_minute=N`, `default`
/// for the global rate.
fn describe_quota(q: &CompanyQuota) -> String {
    let n = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_else(|| "default".into());
    format!("requests_per_minute={}, expensive_per_minute={}", n(q.requests_per_minute), n(q.expensive_per_minute))
}

/// Whose audit events a caller reads: ADMIN every event, CLIENT ADMIN its company's; others 403.
fn audit_scope(caller: &Caller) -> Result<Scope> {
    match caller.user_type {
        UserType::Admin => Ok(Scope::All),
        UserType::ClientAdmin => Ok(caller.scope()),
        _ => Err(Error::Forbidden(None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_threshold_and_caps() {
        let s = ThrottleSettings { max_failures: 3, backoff: 2.0, backoff_max: 10.0, ..Default::default() };
        assert_eq!(s.lock_for(2, 3), None);
        assert_eq!(s.lock_for(3, 3), Some(2.0));
        assert_eq!(s.lock_for(4, 3), Some(4.0));
        assert_eq!(s.lock_for(5, 3), Some(8.0));
        assert_eq!(s.lock_for(6, 3), Some(10.0));
        assert_eq!(s.lock_for(1000, 3), Some(10.0));
        assert_eq!(s.lock_for(1000, 0), None);
    }

    #[test]
    fn ipv6_hosts_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_eq!(address_key("::ffff:10.0.0.1".parse().unwrap()), "address:10.0.0.1");
    }

    #[test]
    fn buckets_refuse_when_spent_and_say_how_long_to_wait() {
        let q = Quotas::default();
        let k = BucketKey::Token(Uuid::new_v4(), false);
        for _ in 0..3 {
            q.take(&[(k, 3)]).unwrap();
        }
        let wait = q.take(&[(k, 3)]).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        // A refused take consumes nothing from the other buckets.
        let other = BucketKey::Company(Uuid::new_v4(), false);
        assert!(q.take(&[(other, 1), (k, 3)]).is_err());
        q.take(&[(other, 1)]).unwrap();
    }
}
