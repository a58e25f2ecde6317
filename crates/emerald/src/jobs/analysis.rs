//! The analysis job: read the analysis and its media's bytes, evaluate, store the best shots,
//! record the result (which may queue the folder's webhook), wake whoever waits.

use uuid::Uuid;

use crate::domain::analyses::evaluate::{MediaInput, Outcome, Shared};
use crate::domain::model::analysis::{best_shot_key, Analysis, AnalysisState, OutputImage};
use crate::domain::model::collection::CollectionMatchRecord;
use crate::domain::store::{AnalysisFinish, ClaimedJob, DeliveryPolicy};
use crate::domain::time::now;
use crate::domain::{Domain, Result};

pub async fn run(domain: &Domain, job: &ClaimedJob) -> Result<()> {
    let Some(analysis) = domain.store.get_analysis(job.ref_id).await? else {
        // Deleted meanwhile (with its folder, or alone).
        return domain.store.complete_job(job.job_id).await;
    };
    if analysis.state != AnalysisState::Processing {
        return domain.store.complete_job(job.job_id).await;
    }
    if job.attempts > job.max_attempts {
        let why = match &job.last_error {
            Some(e) => format!("processing was interrupted {} times; last error: {e}", job.attempts - 1),
            None => format!("processing was interrupted {} times (the worker stopped or crashed)", job.attempts - 1),
        };
        return finish(domain, Some(job.job_id), &analysis, Outcome::failed(0, why)).await;
    }
    let folder_media = domain.store.media_of(&[analysis.folder_id]).await?;
    // The analyses of the same request still to run: a media several of them use goes
    // through the engine once.
    let group: Vec<Analysis> = domain
        .store
        .analyses_of(&[analysis.folder_id])
        .await?
        .into_iter()
        .filter(|a| a.group_id == analysis.group_id && a.state == AnalysisState::Processing)
        .collect();
    let mut inputs = Vec::with_capacity(analysis.source_media.len());
    for id in &analysis.source_media {
        let input = match folder_media.iter().find(|m| m.media_id == *id) {
            Some(m) => MediaInput {
                media_id: m.media_id,
                kind: m.kind,
                tags: m.tags.clone(),
                bytes: domain.read_media_bytes(m).await?.ok_or_else(|| "the stored file is missing".to_owned()),
                shared: Shared::of(&group, m.media_id),
            },
            None => MediaInput {
                media_id: *id,
                kind: crate::domain::model::media::MediaKind::Image,
                tags: Vec::new(),
                bytes: Err("the media was deleted".into()),
                shared: None,
            },
        };
        inputs.push(input);
    }
    let outcome = domain.evaluate(&analysis, inputs).await;
    finish(domain, Some(job.job_id), &analysis, outcome).await
}

/// Record a given-up analysis as FAILED with `why`.
pub async fn give_up(domain: &Domain, job: &ClaimedJob, why: &str) -> Result<()> {
    match domain.store.get_analysis(job.ref_id).await? {
        Some(a) if a.state == AnalysisState::Processing => {
            finish(domain, Some(job.job_id), &a, Outcome::failed(0, why)).await
        }
        _ => domain.store.complete_job(job.job_id).await,
    }
}

/// Analyses expired per pass of [`expire`] (the next pass takes the rest).
const EXPIRE_BATCH: u32 = 500;

/// FAIL the analyses PROCESSING for longer than `timeout_secs` (spec §8.8: none stays
/// PROCESSING for ever, e.g. when no worker runs). Their jobs go with them; a worker still
/// running one finds it finished and drops its result. Returns how many were expired.
pub async fn expire(domain: &Domain, timeout_secs: f64) -> Result<usize> {
    let ids = domain.store.stale_analyses(now() - timeout_secs, EXPIRE_BATCH).await?;
    let mut n = 0;
    for id in ids {
        let Some(a) = domain.store.get_analysis(id).await? else { continue };
        if a.state != AnalysisState::Processing {
            continue;
        }
        let why =
            format!("the analysis expired: not finished within {timeout_secs} s (EMERALD_ANALYSIS_EXPIRE_TIMEOUT)");
        finish(domain, None, &a, Outcome::failed(0, why)).await?;
        n += 1;
    }
    Ok(n)
}

/// Store the best shots, record the outcome (removing the job), wake the waiters.
async fn finish(domain: &Domain, job_id: Option<Uuid>, a: &Analysis, mut outcome: Outcome) -> Result<()> {
    for r in &mut outcome.results_media {
        for image in &mut r.output_images {
            if let OutputImage::Inline(jpeg) = image {
                let key = best_shot_key(a.folder_id, a.analyse_id, r.source_media_id);
                *image = OutputImage::Stored(domain.store_best_shot(key, std::mem::take(jpeg)).await?);
            }
        }
    }
    let matches = outcome
        .matches
        .iter()
        .map(|h| CollectionMatchRecord {
            analyse_id: a.analyse_id,
            person_id: h.person_id,
            person_image_id: h.person_image_id,
            collection_id: h.collection_id,
        })
        .collect();
    let done = AnalysisFinish {
        analyse_id: a.analyse_id,
        state: outcome.state,
        resolution: outcome.resolution,
        results_data: outcome.results_data,
        results_media: outcome.results_media,
        error: outcome.error,
        collection_alias: outcome.collection_alias,
        matches,
        time: now(),
    };
    let effect =
        domain.store.finish_analysis(&done, DeliveryPolicy { max_attempts: domain.queue.webhook_max_attempts }).await?;
    tracing::info!(
        analyse_id = %a.analyse_id, folder_id = %a.folder_id, r#type = a.kind.as_str(),
        state = done.state.as_str(), resolution = done.resolution.as_str(), "analysis finished"
    );
    match effect {
        Some(e) => {
            domain.group_finished(e.group_id).await;
            if e.delivery.is_some() {
                domain.jobs_queued().await;
            }
        }
        None => {
            // Deleted or finished meanwhile: drop the images just written, and the job.
            let keys: Vec<String> = done
                .results_media
                .iter()
                .flat_map(|m| m.output_images.iter())
                .filter_map(|i| match i {
                    OutputImage::Stored(k) => Some(k.clone()),
                    OutputImage::Inline(_) => None,
                })
                .collect();
            domain.forget_keys(&keys).await;
            if let Some(job_id) = job_id {
                domain.store.complete_job(job_id).await?;
            }
        }
    }
    Ok(())
}
