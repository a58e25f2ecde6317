//! Instant mode (spec §13.1): the single-request pipeline on media held in memory. Nothing is
//! written anywhere — no row, no blob, no temporary file, no log line with biometric data —
//! and the answer carries a folder id that was never stored. Best shots come back inline.
//! COLLECTION analyses search the persistent collections read-only through the same
//! [`crate::domain::model::blacklist::Blacklist`].

use uuid::Uuid;

use crate::domain::analyses::evaluate::{MediaInput, Shared};
use crate::domain::error::{Error, Result};
use crate::domain::folders::service::{new_media, FolderDetails};
use crate::domain::folders::upload::{bad_file, check_file_keys, too_many_files};
use crate::domain::model::analysis::{folder_status, AnalysisDetails, AnalysisStatusRow};
use crate::domain::model::caller::Caller;
use crate::domain::model::media::{Folder, FolderStatus, Probed};
use crate::domain::model::metadata::MetaData;
use crate::domain::model::upload::{FileContent, Upload};
use crate::domain::time::now;
use crate::domain::Domain;

impl Domain {
    /// `POST /api/instant/folders/`: run the payload's analyses on the uploaded media and
    /// answer the folder with media and analyses in their final states. `caller` is None when
    /// authentication is left to the integrator (`--instant-auth none`).
    pub async fn instant(&self, caller: Option<&Caller>, upload: Upload) -> Result<FolderDetails> {
        let Upload { files, mut payload } = upload;
        let limits = self.upload_limits();
        if files.len() > limits.max_files {
            return Err(too_many_files(limits.max_files));
        }
        check_file_keys(&files, &payload)?;
        let probe = self
            .media
            .as_ref()
            .map(|m| m.probe.clone())
            .ok_or_else(|| Error::NotRealized("Media handling is not configured on this server".into()))?;
        let t = now();
        let folder = Folder {
            folder_id: Uuid::new_v4(),
            company_id: caller.and_then(|c| if c.user_type.is_global() { None } else { c.company_id }),
            user_id: caller.map(|c| c.user_id).unwrap_or_else(Uuid::nil),
            resolution_status: FolderStatus::Initial,
            system_resolution: None,
            resolution_comment: None,
            is_archive: false,
            meta_data: std::mem::take(&mut payload.folder_meta),
            technical_meta_data: MetaData::default(),
            time_created: t,
            time_updated: t,
        };
        let mut media = Vec::with_capacity(files.len());
        let mut bytes = Vec::with_capacity(files.len());
        for file in &files {
            let FileContent::Memory(content) = &file.content else {
                return Err(Error::internal(anyhow::anyhow!("Instant uploads are held in memory")));
            };
            let (kind, extension) = probe.sniff(content).map_err(|reason| bad_file(file, &reason))?;
            let probed = Probed { kind, extension, thumbnail: false, facts: serde_json::Map::new() };
            media.push(new_media(&folder, file, &payload, &probed, t));
            bytes.push(content.clone());
        }
        let Some(requests) = payload.analyses.take() else {
            return Ok(FolderDetails { folder, media: Some(media), analyses: None, user: None, company: None });
        };
        let mut analyses = self.plan_analyses(caller, &folder, &media, &requests, t).await?;
        // A media several analyses use goes through the engine once; nothing of it is kept
        // after this request.
        let shared: Vec<Option<Shared>> = media.iter().map(|m| Shared::of(&analyses, m.media_id)).collect();
        let _forget = ForgetGroup(self, analyses.first().map(|a| a.group_id));
        for a in &mut analyses {
            let inputs = a
                .source_media
                .iter()
                .filter_map(|id| media.iter().position(|m| m.media_id == *id))
                .map(|i| MediaInput {
                    media_id: media[i].media_id,
                    kind: media[i].kind,
                    tags: media[i].tags.clone(),
                    bytes: Ok(bytes[i].clone()),
                    shared: shared[i],
                })
                .collect();
            let outcome = self.evaluate(a, inputs).await;
            let done = now();
            a.state = outcome.state;
            a.resolution_status = outcome.resolution;
            a.results_data = outcome.results_data;
            a.results_media = outcome.results_media;
            a.error = outcome.error;
            a.collection_alias = outcome.collection_alias;
            a.time_updated = done;
            a.time_finished = Some(done);
        }
        let rows: Vec<AnalysisStatusRow> = analyses
            .iter()
            .map(|a| AnalysisStatusRow {
                group_id: a.group_id,
                state: a.state,
                resolution: a.resolution_status,
                time_created: a.time_created,
                time_finished: a.time_finished,
            })
            .collect();
        let (status, result) = folder_status(&rows);
        let mut folder = folder;
        folder.resolution_status = status;
        folder.system_resolution = result.map(|r| r.as_str().to_owned());
        folder.time_updated = now();
        let analyses = AnalysisDetails::attach(analyses, &media);
        Ok(FolderDetails { folder, media: Some(media), analyses: Some(analyses), user: None, company: None })
    }
}

/// Drops what the face cache kept for an Instant request's group, however the request ends.
struct ForgetGroup<'a>(&'a Domain, Option<Uuid>);

impl Drop for ForgetGroup<'_> {
    fn drop(&mut self) {
        if let Some(group_id) = self.1 {
            self.0.face_cache.forget_group(group_id);
        }
    }
}
