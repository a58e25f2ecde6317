//! Requesting and reading analyses (spec §8.2, §8.7): who may, which media each analysis
//! takes, the rows and their jobs in one transaction, waiting for a group (single request
//! mode, §10), and deleting.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, Notify};
use uuid::Uuid;

use crate::domain::analyses::webhooks;
use crate::domain::error::{Error, Result};
use crate::domain::folders::claims::held;
use crate::domain::folders::service::{access, clean_comment, visibility, Access};
use crate::domain::model::account::AnalysisPermissions;
use crate::domain::model::analysis::{
    assign_media, Analysis, AnalysisDetails, AnalysisRequest, AnalysisState, MediaFacts, Resolution,
    ANALYSES_PER_REQUEST_MAX,
};
use crate::domain::model::audit::{analysis_created, AuthEvent, ObjectChange, StoredAuthEvent};
use crate::domain::model::caller::Caller;
use crate::domain::model::media::{Folder, Media};
use crate::domain::model::metadata::MetaData;
use crate::domain::model::role::UserType;
use crate::domain::store::{Decision, DeliveryPolicy, JobKind, ListParams, NewJob, Page, Wakeup};
use crate::domain::time::now;
use crate::domain::Domain;

/// How analysis and webhook jobs are retried.
#[derive(Debug, Clone, Copy)]
pub struct QueueSettings {
    /// Claims of an analysis job before it is given up (a worker that died mid-job used one).
    pub analysis_max_attempts: u32,
    /// Delivery attempts of a webhook.
    pub webhook_max_attempts: u32,
    /// Longest wait of a single request (spec §10).
    pub single_request_timeout: Duration,
    /// How often idle workers look for due jobs, and waiting requests re-read their group,
    /// when no wake-up came (retries that came due, work of processes that cannot announce).
    pub poll: Duration,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            analysis_max_attempts: 3,
            webhook_max_attempts: 7,
            single_request_timeout: Duration::from_secs(120),
            poll: Duration::from_millis(250),
        }
    }
}

/// In-process wake-ups: new jobs for the workers, finished analyses for waiting requests.
/// Other processes on the same PostgreSQL database are told through the store
/// ([`Domain::jobs_queued`], [`Domain::group_finished`]) and relay what they hear here
/// (`jobs::relay_wakeups`); polling every `QueueSettings::poll` is the backstop (and the only
/// way between processes on one SQLite file).
#[derive(Clone)]
pub struct Signals {
    pub enqueued: Arc<Notify>,
    /// The group id of every analysis that finished in this process.
    pub finished: broadcast::Sender<Uuid>,
}

impl Default for Signals {
    fn default() -> Self {
        Signals { enqueued: Arc::new(Notify::new()), finished: broadcast::channel(1024).0 }
    }
}

/// What a decision may override (`PATCH /api/analyses/{id}`'s `force`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Decide a FINISHED analysis whatever its resolution (not only OPERATOR_REQUIRED).
    pub decided: bool,
    /// Decide a case another operator holds (an unexpired review claim).
    pub claim: bool,
}

impl Domain {
    /// Validate a request against the folder's media: types allowed to the caller, media
    /// assignment (§8.3), params. Returns the new analyses, all PROCESSING, one group.
    /// Without a caller (Instant mode with external authentication) every type is allowed.
    pub(in crate::domain) async fn plan_analyses(
        &self,
        caller: Option<&Caller>,
        folder: &Folder,
        media: &[Media],
        requests: &[AnalysisRequest],
        t: f64,
    ) -> Result<Vec<Analysis>> {
        if requests.is_empty() {
            return Err(Error::invalid_value(
                "analyses must list at least one analysis",
                serde_json::json!({ "key_path": "analyses" }),
            ));
        }
        if requests.len() > ANALYSES_PER_REQUEST_MAX {
            return Err(Error::invalid_value(
                format!("Too many analyses in one request: at most {ANALYSES_PER_REQUEST_MAX}"),
                serde_json::json!({ "key_path": "analyses", "limit": ANALYSES_PER_REQUEST_MAX }),
            ));
        }
        let can_start = match caller {
            Some(c) => self.store.get_user(c.user_id).await?.ok_or(Error::AuthInvalid(None))?.can_start,
            None => AnalysisPermissions::default(),
        };
        let facts: Vec<MediaFacts> =
            media.iter().map(|m| MediaFacts { media_id: m.media_id, kind: m.kind, tags: &m.tags }).collect();
        // GAP-14: the company's thresholds and bands, unless the request names its own.
        let thresholds = self.thresholds_for(folder.company_id).await?;
        let group_id = Uuid::new_v4();
        let mut out = Vec::with_capacity(requests.len());
        for (i, r) in requests.iter().enumerate() {
            let key_path = format!("analyses[{i}]");
            if !r.kind.permitted(&can_start) {
                return Err(Error::Forbidden(Some(format!("You may not start {} analyses", r.kind.as_str()))));
            }
            let source_media = assign_media(r.kind, r.source_media.as_deref(), &facts, &key_path)?;
            out.push(Analysis {
                analyse_id: Uuid::new_v4(),
                folder_id: folder.folder_id,
                company_id: folder.company_id,
                user_id: folder.user_id,
                group_id,
                kind: r.kind,
                state: AnalysisState::Processing,
                resolution_status: Resolution::Processing,
                resolution_comment: None,
                threshold: r.params.threshold(r.kind, &thresholds),
                threshold_min: r.params.threshold_min(r.kind, &thresholds),
                params: r.params.clone(),
                source_media,
                results_data: None,
                results_media: Vec::new(),
                error: None,
                collection_alias: None,
                meta_data: r.meta_data.clone(),
                technical_meta_data: MetaData::default(),
                time_created: t,
                time_updated: t,
                time_finished: None,
                decided_by: None,
                decided_at: None,
            });
        }
        Ok(out)
    }

    /// Rows, jobs, the folder status and the `audit` events recording the creations in one
    /// transaction; then wake the local workers.
    pub(in crate::domain) async fn enqueue_analyses(
        &self,
        folder_id: Uuid,
        analyses: &[Analysis],
        resolution_endpoint: Option<&str>,
        t: f64,
        audit: &[AuthEvent],
    ) -> Result<()> {
        let jobs: Vec<NewJob> = analyses
            .iter()
            .map(|a| NewJob {
                job_id: Uuid::new_v4(),
                kind: JobKind::Analysis,
                ref_id: a.analyse_id,
                max_attempts: self.queue.analysis_max_attempts,
                run_after: t,
                company_id: a.company_id,
            })
            .collect();
        if !self.store.insert_analyses(folder_id, analyses, &jobs, resolution_endpoint, t, audit).await? {
            return Err(Error::not_exist("Folder"));
        }
        self.audit_committed(audit);
        self.jobs_queued().await;
        Ok(())
    }

    /// `POST /api/folders/{id}/analyses/` (spec §8.2): the new analyses, PROCESSING.
    pub async fn request_analyses(
        &self,
        caller: &Caller,
        folder_id: Uuid,
        requests: Vec<AnalysisRequest>,
        resolution_endpoint: Option<String>,
    ) -> Result<Vec<AnalysisDetails>> {
        let (folder, access) = self.visible_folder(caller, folder_id).await?;
        if access < Access::Write {
            return Err(Error::Forbidden(None));
        }
        if let Some(url) = &resolution_endpoint {
            webhooks::check_endpoint(url)?;
        }
        let media = self.store.media_of(&[folder_id]).await?;
        let t = now();
        let analyses = self.plan_analyses(Some(caller), &folder, &media, &requests, t).await?;
        let changes = analyses.iter().map(analysis_created).collect();
        let events = self.object_events_of(Some(caller), "create", "success", folder.company_id, changes);
        self.enqueue_analyses(folder_id, &analyses, resolution_endpoint.as_deref(), t, &events).await?;
        Ok(AnalysisDetails::attach(analyses, &media))
    }

    /// Jobs were queued: wake this process's workers, and tell the other processes.
    pub async fn jobs_queued(&self) {
        self.wake_everywhere(Wakeup::JobsQueued).await;
    }

    /// An analysis of `group_id` finished: wake the requests waiting for it, here and elsewhere.
    pub async fn group_finished(&self, group_id: Uuid) {
        self.wake_everywhere(Wakeup::GroupFinished(group_id)).await;
    }

    /// Wake this process, then announce to the others; a failed announcement only delays them
    /// until their next poll.
    async fn wake_everywhere(&self, wakeup: Wakeup) {
        self.wake(wakeup);
        if let Err(e) = self.store.announce(wakeup).await {
            tracing::warn!(error = %e, ?wakeup, "could not announce a wake-up to other processes (they poll)");
        }
    }

    /// Hand a wake-up another process announced to this process's workers and waiters.
    pub fn wake(&self, wakeup: Wakeup) {
        match wakeup {
            Wakeup::JobsQueued => self.signals.enqueued.notify_waiters(),
            Wakeup::GroupFinished(group_id) => {
                let _ = self.signals.finished.send(group_id);
            }
        }
    }

    /// Wait until no analysis of `group_id` is PROCESSING, at most `timeout`. True when done.
    pub async fn wait_for_group(&self, group_id: Uuid, timeout: Duration) -> Result<bool> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut finished = self.signals.finished.subscribe();
        loop {
            if self.store.group_pending(group_id).await? == 0 {
                return Ok(true);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            // Woken by a local worker finishing something, or re-read for remote workers.
            let _ = tokio::time::timeout(left.min(self.queue.poll), async {
                loop {
                    match finished.recv().await {
                        Ok(g) if g == group_id => return,
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Lagged(_)) => return,
                        Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                    }
                }
            })
            .await;
        }
    }

    async fn visible_analysis(&self, caller: &Caller, id: Uuid) -> Result<(Analysis, Access)> {
        let a = self.store.get_analysis(id).await?.ok_or_else(|| Error::not_exist("Analysis"))?;
        match access(caller, a.company_id, a.user_id) {
            Access::Invisible => Err(Error::not_exist("Analysis")),
            acc => Ok((a, acc)),
        }
    }

    async fn attach_media(&self, analyses: Vec<Analysis>) -> Result<Vec<AnalysisDetails>> {
        let mut folders: Vec<Uuid> = analyses.iter().map(|a| a.folder_id).collect();
        folders.sort();
        folders.dedup();
        let media = if folders.is_empty() { Vec::new() } else { self.store.media_of(&folders).await? };
        Ok(AnalysisDetails::attach(analyses, &media))
    }

    /// `GET /api/analyses/{id}` (spec §8.7).
    pub async fn get_analysis(&self, caller: &Caller, id: Uuid) -> Result<AnalysisDetails> {
        let (a, _) = self.visible_analysis(caller, id).await?;
        self.attach_media(vec![a]).await?.pop().ok_or_else(|| Error::not_exist("Analysis"))
    }

    /// `GET /api/analyses/` (envelope).
    pub async fn list_analyses(&self, caller: &Caller, params: &ListParams) -> Result<Page<AnalysisDetails>> {
        let page = self.store.list_analyses(visibility(caller), None, params).await?;
        let items = self.attach_media(page.items).await?;
        Ok(Page { total: page.total, offset: page.offset, limit: page.limit, items })
    }

    /// `GET /api/folders/{id}/analyses/` (bare array, spec §8.7).
    pub async fn folder_analyses(
        &self,
        caller: &Caller,
        folder_id: Uuid,
        params: &ListParams,
    ) -> Result<Vec<AnalysisDetails>> {
        self.visible_folder(caller, folder_id).await?;
        let mut params = params.clone();
        // A folder's analyses come whole unless the caller pages them.
        if params.get("limit").is_none() {
            params.0.push(("limit".into(), "-1".into()));
        }
        if params.get("sorting").is_none() {
            params.0.push(("sorting".into(), "time_created{asc}".into()));
        }
        let page = self.store.list_analyses(visibility(caller), Some(folder_id), &params).await?;
        self.attach_media(page.items).await
    }

    /// The roles that delete analyses (`DELETE /api/analyses/{id}`): ADMIN, and CLIENT ADMIN in
    /// its company (checked per analysis by [`Self::delete_analysis`]).
    pub fn deletes_analyses(caller: &Caller) -> bool {
        match caller.user_type {
            UserType::Admin | UserType::ClientAdmin => true,
            UserType::Operator | UserType::Client | UserType::ClientOperator | UserType::ClientService => false,
        }
    }

    /// Refuse as [`Self::delete_analysis`] would, without deleting: not visible (404) or not
    /// the caller's to delete (403).
    pub(in crate::domain) async fn check_analysis_deletable(&self, caller: &Caller, id: Uuid) -> Result<()> {
        let (_, access) = self.visible_analysis(caller, id).await?;
        if access < Access::Manage {
            return Err(Error::Forbidden(None));
        }
        Ok(())
    }

    /// `DELETE /api/analyses/{id}` (spec §12: frees the persons a COLLECTION analysis
    /// references): ADMIN, or CLIENT ADMIN in its company; the folder status is recomputed.
    pub async fn delete_analysis(&self, caller: &Caller, id: Uuid) -> Result<()> {
        let (a, access) = self.visible_analysis(caller, id).await?;
        if access < Access::Manage {
            return Err(Error::Forbidden(None));
        }
        // As read just before the deletion (the event goes in its transaction).
        let change = ObjectChange::of("analysis", id)
            .before(format!("{} {}", a.kind.as_str(), a.resolution_status.as_str()))
            .comment(format!("folder {}", a.folder_id));
        let events = self.object_events_of(Some(caller), "delete", "success", a.company_id, vec![change]);
        let gone = self.store.delete_analysis(id, &events).await?.ok_or_else(|| Error::not_exist("Analysis"))?;
        self.audit_committed(&events);
        self.forget_keys(&gone.stored_images()).await;
        Ok(())
    }

    /// `PATCH /api/analyses/{id}` (spec §8.9 [I], "Make Decision"; the console spec's GAP-3):
    /// an OPERATOR (any company) or a CLIENT OPERATOR (its company) sets the final result of a
    /// FINISHED analysis that awaits a decision (OPERATOR_REQUIRED) to SUCCESS or DECLINED, with
    /// an optional comment; `overrides.decided` overrules any FINISHED analysis. The check is made in the
    /// same UPDATE, so of two operators deciding one case at once the second is refused (code 4).
    /// `overrides.decided` overrules any FINISHED analysis (the API's `force`, absent or true).
    /// A case another operator holds (an unexpired review claim, GAP-10) is refused with code 4
    /// (HTTP 409, the holder in `error_details`) unless `overrides.claim` (the API's explicit
    /// `"force": true`); checked in that UPDATE too. The claimer, and anyone on an unclaimed
    /// case, decides as before.
    /// The folder's status is recomputed and the decision is recorded in the audit trail.
    /// Other roles: code 9.
    pub async fn decide_analysis(
        &self,
        caller: &Caller,
        id: Uuid,
        resolution: Resolution,
        comment: Option<String>,
        overrides: Overrides,
    ) -> Result<AnalysisDetails> {
        let Overrides { decided: force, claim: past_claim } = overrides;
        let (a, _) = self.visible_analysis(caller, id).await?;
        if !matches!(caller.user_type, UserType::Operator | UserType::ClientOperator) {
            return Err(Error::Forbidden(Some(
                "only an OPERATOR or CLIENT OPERATOR makes decisions on analyses".into(),
            )));
        }
        if !matches!(resolution, Resolution::Success | Resolution::Declined) {
            return Err(Error::invalid_value(
                format!("resolution_status must be SUCCESS or DECLINED, not {}", resolution.as_str()),
                serde_json::json!({ "key_path": "resolution_status" }),
            ));
        }
        let refused = |a: &Analysis| {
            if a.state != AnalysisState::Finished {
                Error::invalid_value(
                    format!("Only a FINISHED analysis can be decided; this one is {}", a.state.as_str()),
                    serde_json::json!({ "key_path": "state" }),
                )
            } else {
                Error::invalid_value(
                    format!(
                        "This analysis is not awaiting a decision: its resolution_status is {} (only OPERATOR_REQUIRED \
                         is decided; send \"force\": true to overrule it)",
                        a.resolution_status.as_str()
                    ),
                    serde_json::json!({ "key_path": "resolution_status" }),
                )
            }
        };
        if a.state != AnalysisState::Finished || (!force && a.resolution_status != Resolution::OperatorRequired) {
            return Err(refused(&a));
        }
        if !past_claim {
            if let Some(claim) = self.held_by_other(caller, a.folder_id).await? {
                return Err(held(&claim));
            }
        }
        let comment = clean_comment(comment)?;
        let policy = DeliveryPolicy { max_attempts: self.queue.webhook_max_attempts };
        let only_from = (!force).then_some(Resolution::OperatorRequired);
        let decision = Decision {
            resolution,
            comment: comment.as_deref(),
            only_from,
            unless_held: !past_claim,
            decided_by: caller.user_id,
            time: now(),
        };
        let email = self.store.get_user(caller.user_id).await.ok().flatten().map(|u| u.email);
        let event = self.decision_event(caller, email.as_deref(), &a, resolution.as_str(), comment.as_deref());
        let events = [event];
        let Some(effect) = self.store.decide_analysis(id, &decision, policy, &events).await? else {
            // Changed since it was read (another operator decided it, or it was re-run, or
            // another operator took the case meanwhile).
            if !past_claim {
                if let Some(claim) = self.held_by_other(caller, a.folder_id).await? {
                    return Err(held(&claim));
                }
            }
            let now_a = self.store.get_analysis(id).await?.ok_or_else(|| Error::not_exist("Analysis"))?;
            return Err(refused(&now_a));
        };
        self.audit_committed(&events);
        if effect.delivery.is_some() {
            self.jobs_queued().await;
        }
        self.get_analysis(caller, id).await
    }

    /// The decisions taken on a folder's analyses (the audit trail's `decision` events), oldest
    /// first; for whoever sees the folder.
    pub async fn folder_decisions(&self, caller: &Caller, folder_id: Uuid) -> Result<Vec<StoredAuthEvent>> {
        self.visible_folder(caller, folder_id).await?;
        let mut params = ListParams::default();
        params.0.push(("limit".into(), "-1".into()));
        let page = self.store.list_analyses(visibility(caller), Some(folder_id), &params).await?;
        let ids: Vec<Uuid> = page.items.iter().map(|a| a.analyse_id).collect();
        let events = self.object_events(&ids).await?;
        Ok(events.into_iter().filter(|e| e.event == "decision").collect())
    }

    pub(in crate::domain) async fn analysis_meta_access(
        &self,
        caller: &Caller,
        id: Uuid,
        write: bool,
    ) -> Result<(MetaData, Option<Uuid>)> {
        let (a, access) = self.visible_analysis(caller, id).await?;
        if write && access < Access::Write {
            return Err(Error::Forbidden(None));
        }
        // OPERATORs read analyses; only the owner side changes their metadata.
        if write && matches!(caller.user_type, UserType::Operator | UserType::ClientOperator) {
            return Err(Error::Forbidden(None));
        }
        Ok((a.meta_data, a.company_id))
    }
}
