//! `POST /api/folders/` (spec §6.1): a new folder with its media and, in single request mode
//! (spec §10), its analyses, planned against the media and queued in the same transaction;
//! and waiting for them. The folder side (probing, blobs, rows) is [`crate::domain::folders`].

use uuid::Uuid;

use crate::domain::analyses::webhooks;
use crate::domain::error::{Error, Result};
use crate::domain::folders::service::{FolderDetails, FolderWith};
use crate::domain::model::analysis::{AnalysisDetails, Resolution};
use crate::domain::model::audit::{analysis_created, media_created, ObjectChange};
use crate::domain::model::caller::Caller;
use crate::domain::model::media::{Folder, FolderStatus};
use crate::domain::model::metadata::MetaData;
use crate::domain::model::role::UserType;
use crate::domain::model::upload::Upload;
use crate::domain::time::now;
use crate::domain::Domain;

impl Domain {
    /// `POST /api/folders/` (spec §6.1): a folder with its media, and — single request mode
    /// (spec §10) — its analyses, queued in the same request.
    pub async fn create_folder(&self, caller: &Caller, mut upload: Upload) -> Result<FolderDetails> {
        match caller.user_type {
            UserType::Admin | UserType::Client | UserType::ClientAdmin | UserType::ClientService => {}
            UserType::Operator | UserType::ClientOperator => return Err(Error::Forbidden(None)),
        }
        let t = now();
        let mut technical = serde_json::Map::new();
        if let Some(info) = upload.payload.additional_info.clone() {
            technical.insert("additional_info".into(), info);
        }
        if let Some(url) = upload.payload.resolution_endpoint.take() {
            webhooks::check_endpoint(&url)?;
            technical.insert(webhooks::ENDPOINT_KEY.into(), url.into());
        }
        let requests = upload.payload.analyses.take();
        let folder = Folder {
            folder_id: Uuid::new_v4(),
            company_id: if caller.user_type.is_global() { None } else { caller.company_id },
            user_id: caller.user_id,
            resolution_status: FolderStatus::Initial,
            system_resolution: None,
            resolution_comment: None,
            is_archive: false,
            meta_data: std::mem::take(&mut upload.payload.folder_meta),
            technical_meta_data: MetaData::parse(serde_json::Value::Object(technical), "additional_info")?,
            time_created: t,
            time_updated: t,
        };
        let (media, analyses) = self
            .store_media(&folder, upload, t, |media| {
                let folder = folder.clone();
                async move {
                    // Validate the analyses against the media before anything is stored.
                    let analyses = match &requests {
                        Some(r) => self.plan_analyses(Some(caller), &folder, &media, r, t).await?,
                        None => Vec::new(),
                    };
                    // The folder and its media with their events in one transaction, the
                    // analyses with theirs in the next (as they are stored).
                    let changes = std::iter::once(ObjectChange::of("folder", folder.folder_id))
                        .chain(media.iter().map(media_created))
                        .collect();
                    let events = self.object_events_of(Some(caller), "create", "success", folder.company_id, changes);
                    self.store.insert_folder(&folder, &media, &events).await?;
                    self.audit_committed(&events);
                    if !analyses.is_empty() {
                        let changes = analyses.iter().map(analysis_created).collect();
                        let events =
                            self.object_events_of(Some(caller), "create", "success", folder.company_id, changes);
                        self.enqueue_analyses(folder.folder_id, &analyses, None, t, &events).await?;
                    }
                    Ok((media, analyses))
                }
            })
            .await?;
        let mut folder = folder;
        let analyses = (!analyses.is_empty()).then(|| {
            folder.resolution_status = FolderStatus::Processing;
            folder.system_resolution = Some(Resolution::Processing.as_str().to_owned());
            AnalysisDetails::attach(analyses, &media)
        });
        Ok(FolderDetails { folder, media: Some(media), analyses, user: None, company: None })
    }

    /// Single request mode (spec §10): create the folder with its analyses, then wait for
    /// them, at most `timeout`. Returns the folder with media and analyses as they are, and
    /// whether every analysis finished.
    pub async fn create_folder_and_wait(
        &self,
        caller: &Caller,
        upload: Upload,
        timeout: std::time::Duration,
    ) -> Result<(FolderDetails, bool)> {
        let created = self.create_folder(caller, upload).await?;
        let Some(group) = created.analyses.as_ref().and_then(|a| a.first()).map(|a| a.analysis.group_id) else {
            return Ok((created, true));
        };
        let done = self.wait_for_group(group, timeout).await?;
        let with = FolderWith { media: true, analyses: true, user: false, company: false };
        let mut details = self.with_related(vec![created.folder.clone()], with).await?;
        let mut fresh = details.pop().ok_or_else(|| Error::not_exist("Folder"))?;
        if let Some(f) = self.store.get_folder(created.folder.folder_id).await? {
            fresh.folder = f;
        }
        Ok((fresh, done))
    }
}
