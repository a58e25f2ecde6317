//! Domain → wire views (one `From` each, every field destructured so a new domain field
//! breaks the build here instead of silently missing on the wire).

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::openapi;
use crate::domain::collections::service::PersonDetails;
use crate::domain::folders::service::FolderDetails;
use crate::domain::identity::auth::TokenPair;
use crate::domain::model::account::{AnalysisPermissions, Company, User};
use crate::domain::model::analysis::{
    Analysis, AnalysisDetails, AnalysisError, AnalysisParams, AnalysisType, MediaResult, OutputImage,
};
use crate::domain::model::collection::{Collection, Person, PersonImage};
use crate::domain::model::media::{Folder, Media, MediaKind, StoredFile};
use crate::domain::store::Page;

/// Company (spec §4.2).
#[derive(Serialize, ToSchema)]
pub struct CompanyView {
    pub company_id: Uuid,
    pub name: String,
    #[schema(value_type = Object)]
    pub meta_data: Value,
    #[schema(value_type = Object)]
    pub technical_meta_data: Value,
}

impl From<Company> for CompanyView {
    fn from(c: Company) -> Self {
        let Company { company_id, name, meta_data, technical_meta_data, time_created: _, time_updated: _ } = c;
        CompanyView {
            company_id,
            name,
            meta_data: meta_data.into_value(),
            technical_meta_data: technical_meta_data.into_value(),
        }
    }
}

/// User (spec §4.3): the 6.0 permission flags and their pre-6.0 spellings, `is_admin` for
/// clients that predate the CLIENT ADMIN role. The password is never rendered.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub user_id: Uuid,
    #[schema(schema_with = openapi::user_type)]
    pub user_type: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub middle_name: Option<String>,
    pub company_id: Option<Uuid>,
    pub is_admin: bool,
    pub is_service: bool,
    /// False: blocked (issue #23).
    pub is_active: bool,
    pub can_start_analysis_biometry: bool,
    pub can_start_analysis_quality: bool,
    pub can_start_analysis_collection: bool,
    pub can_start_analysis_documents: bool,
    pub can_start_analyse_biometry: bool,
    pub can_start_analyse_quality: bool,
    #[schema(value_type = Object)]
    pub meta_data: Value,
    #[schema(value_type = Object)]
    pub technical_meta_data: Value,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        let is_service = u.is_service_account();
        let User {
            user_id,
            company_id,
            email,
            user_type,
            first_name,
            last_name,
            middle_name,
            is_service: _,
            is_active,
            can_start,
            meta_data,
            technical_meta_data,
            time_created: _,
            time_updated: _,
        } = u;
        let AnalysisPermissions { biometry, quality, collection, documents } = can_start;
        UserView {
            user_id,
            user_type: user_type.as_str().to_owned(),
            email,
            first_name,
            last_name,
            middle_name,
            company_id,
            is_admin: matches!(
                user_type,
                crate::domain::model::role::UserType::Admin | crate::domain::model::role::UserType::ClientAdmin
            ),
            is_service,
            is_active,
            can_start_analysis_biometry: biometry,
            can_start_analysis_quality: quality,
            can_start_analysis_collection: collection,
            can_start_analysis_documents: documents,
            can_start_analyse_biometry: biometry,
            can_start_analyse_quality: quality,
            meta_data: meta_data.into_value(),
            technical_meta_data: technical_meta_data.into_value(),
        }
    }
}

/// Login and refresh answer. `access_token` is the 4th key on purpose: an Oz bootstrap script
/// reads it as the 8th whitespace-separated field of the one-line response (spec §2.1).
#[derive(Serialize, ToSchema)]
pub struct AuthView {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub expire_date: f64,
    pub access_token: String,
    pub expire_token: String,
    pub user: UserView,
}

impl From<TokenPair> for AuthView {
    fn from(p: TokenPair) -> Self {
        let TokenPair { user, session_id, access_token, expire_token, expire_date } = p;
        AuthView { user_id: user.user_id, session_id, expire_date, access_token, expire_token, user: user.into() }
    }
}

/// `original_url` and `thumb_url` of a stored file, under the public base URL.
fn file_urls(stored: &dyn StoredFile, base: &str) -> (String, Option<String>) {
    let original = format!("{base}/static/{}", stored.original_key());
    (original, stored.has_thumb().then(|| format!("{base}/static/{}", stored.thumb_key())))
}

/// Media (spec §4.5 [I]), links under the public base URL.
#[derive(Serialize, ToSchema)]
pub struct MediaView {
    pub media_id: Uuid,
    pub folder_id: Uuid,
    #[schema(schema_with = openapi::media_type)]
    pub media_type: String,
    pub original_name: String,
    /// Null in Instant mode (nothing is stored).
    pub original_url: Option<String>,
    /// The original again for videos and shot sets; null for images.
    pub video_url: Option<String>,
    /// Always null: frame-sequence previews are not made.
    pub preview_url: Option<String>,
    /// JPEG thumbnail of an image; null otherwise.
    pub thumb_url: Option<String>,
    pub tags: Vec<String>,
    pub time_created: f64,
    pub time_updated: f64,
    #[schema(value_type = Object)]
    pub meta_data: Value,
    #[schema(value_type = Object)]
    pub technical_meta_data: Value,
}

impl MediaView {
    pub fn new(m: Media, base: &str) -> Self {
        Self::with_links(m, Some(base))
    }

    /// `base` None: no links (Instant mode).
    pub fn with_links(m: Media, base: Option<&str>) -> Self {
        let (original_url, thumb_url) = match base {
            Some(b) => {
                let (o, t) = file_urls(&m, b);
                (Some(o), t)
            }
            None => (None, None),
        };
        let Media {
            media_id,
            folder_id,
            company_id: _,
            user_id: _,
            kind,
            original_name,
            extension: _,
            has_thumb: _,
            size_bytes: _,
            sha256: _,
            tags,
            meta_data,
            technical_meta_data,
            time_created,
            time_updated,
        } = m;
        let video_url = match kind {
            MediaKind::Video | MediaKind::ShotsSet => original_url.clone(),
            MediaKind::Image => None,
        };
        MediaView {
            media_id,
            folder_id,
            media_type: kind.as_str().to_owned(),
            original_name,
            original_url,
            video_url,
            preview_url: None,
            thumb_url,
            tags,
            time_created,
            time_updated,
            meta_data: meta_data.into_value(),
            technical_meta_data: technical_meta_data.into_value(),
        }
    }

    pub fn list(media: Vec<Media>, base: &str) -> Vec<MediaView> {
        media.into_iter().map(|m| MediaView::new(m, base)).collect()
    }

    fn list_with_links(media: Vec<Media>, base: Option<&str>) -> Vec<MediaView> {
        media.into_iter().map(|m| MediaView::with_links(m, base)).collect()
    }
}

/// An image an analysis made for a media (the best shot).
#[derive(Serialize, ToSchema)]
pub struct OutputImageView {
    /// A link under `/static/`, or in Instant mode a `data:image/jpeg;base64,…` URI.
    pub original_url: String,
    pub thumb_url: Option<String>,
}

/// One media's result (`results_media[]`, spec §4.6, §8.4).
#[derive(Serialize, ToSchema)]
pub struct MediaResultView {
    pub analyse_id: Uuid,
    pub source_media_id: Uuid,
    /// COLLECTION only: the best matching person at or above the threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Uuid>)]
    pub person_id: Option<Option<Uuid>>,
    #[schema(value_type = Object)]
    pub results_data: Value,
    pub output_images: Vec<OutputImageView>,
}

/// COLLECTION analyses: the collection of the best hit (spec §8.4).
#[derive(Serialize, ToSchema)]
pub struct CollectionRefView {
    pub alias: Option<String>,
}

/// Why an analysis FAILED.
#[derive(Serialize, ToSchema)]
pub struct AnalysisErrorView {
    pub error_code: u16,
    pub error_message: String,
}

/// Analysis (spec §4.6 [I]). `resolution` always equals `resolution_status`.
#[derive(Serialize, ToSchema)]
pub struct AnalysisView {
    pub analyse_id: Uuid,
    pub folder_id: Uuid,
    pub company_id: Option<Uuid>,
    pub group_id: Uuid,
    #[serde(rename = "type")]
    #[schema(schema_with = openapi::analysis_type)]
    pub analysis_type: String,
    #[schema(schema_with = openapi::analysis_state)]
    pub state: String,
    /// The outcome; mirrors `state` until the analysis has finished.
    #[schema(schema_with = openapi::resolution)]
    pub resolution_status: String,
    /// Always equal to `resolution_status` (older clients read this one).
    #[schema(schema_with = openapi::resolution)]
    pub resolution: String,
    pub resolution_comment: Option<String>,
    /// [I] The user who took the latest operator decision on it (GAP-3); null before one.
    pub decided_by: Option<Uuid>,
    /// [I] When that decision was taken.
    pub decided_at: Option<f64>,
    pub threshold: Option<f64>,
    /// [I] The operator band's lower edge (GAP-14; BIOMETRY and COLLECTION): a score in
    /// `[threshold_min, threshold)` is OPERATOR_REQUIRED. The request's `params.threshold_min`
    /// (BIOMETRY), else the company's band; absent when there is no band.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_min: Option<f64>,
    #[schema(value_type = Object)]
    pub params: Value,
    pub time_created: f64,
    pub time_updated: f64,
    pub source_media: Vec<MediaView>,
    /// Null until the analysis has finished.
    #[schema(value_type = Option<Object>)]
    pub results_data: Option<Value>,
    pub results_media: Vec<MediaResultView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection: Option<CollectionRefView>,
    pub error: Option<AnalysisErrorView>,
    #[schema(value_type = Object)]
    pub meta_data: Value,
    #[schema(value_type = Object)]
    pub technical_meta_data: Value,
}

fn image_view(image: OutputImage, base: Option<&str>) -> Option<OutputImageView> {
    use base64::Engine;
    match image {
        OutputImage::Stored(key) => {
            base.map(|b| OutputImageView { original_url: format!("{b}/static/{key}"), thumb_url: None })
        }
        OutputImage::Inline(jpeg) => Some(OutputImageView {
            original_url: format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(jpeg)),
            thumb_url: None,
        }),
    }
}

impl AnalysisView {
    pub fn new(d: AnalysisDetails, base: &str) -> Self {
        Self::with_links(d, Some(base))
    }

    /// `base` None: Instant mode (no links; best shots inline).
    pub fn with_links(d: AnalysisDetails, base: Option<&str>) -> Self {
        let AnalysisDetails { analysis, source_media } = d;
        let threshold_min = analysis.band_min();
        let Analysis {
            analyse_id,
            folder_id,
            company_id,
            user_id: _,
            group_id,
            kind,
            state,
            resolution_status,
            resolution_comment,
            threshold,
            threshold_min: _,
            params,
            source_media: _,
            results_data,
            results_media,
            error,
            collection_alias,
            meta_data,
            technical_meta_data,
            time_created,
            time_updated,
            time_finished: _,
            decided_by,
            decided_at,
        } = analysis;
        let AnalysisParams { raw, .. } = params;
        let is_collection = kind == AnalysisType::Collection;
        let results_media = results_media
            .into_iter()
            .map(|r| {
                let MediaResult { source_media_id, results_data, output_images, person_id } = r;
                MediaResultView {
                    analyse_id,
                    source_media_id,
                    person_id: is_collection.then_some(person_id),
                    results_data: Value::Object(results_data),
                    output_images: output_images.into_iter().filter_map(|i| image_view(i, base)).collect(),
                }
            })
            .collect();
        AnalysisView {
            analyse_id,
            folder_id,
            company_id,
            group_id,
            analysis_type: kind.as_str().to_owned(),
            state: state.as_str().to_owned(),
            resolution_status: resolution_status.as_str().to_owned(),
            resolution: resolution_status.as_str().to_owned(),
            resolution_comment,
            decided_by,
            decided_at,
            threshold,
            threshold_min,
            params: Value::Object(raw),
            time_created,
            time_updated,
            source_media: MediaView::list_with_links(source_media, base),
            results_data: results_data.map(Value::Object),
            results_media,
            collection: is_collection.then_some(CollectionRefView { alias: collection_alias }),
            error: error
                .map(|AnalysisError { code, message }| AnalysisErrorView { error_code: code, error_message: message }),
            meta_data: meta_data.into_value(),
            technical_meta_data: technical_meta_data.into_value(),
        }
    }

    pub fn list(items: Vec<AnalysisDetails>, base: &str) -> Vec<AnalysisView> {
        items.into_iter().map(|a| AnalysisView::new(a, base)).collect()
    }
}

/// Folder (spec §4.4 [I]); `media`, `analyses`, `user`, `company` only when asked for.
#[derive(Serialize, ToSchema)]
pub struct FolderView {
    pub folder_id: Uuid,
    pub company_id: Option<Uuid>,
    pub user_id: Uuid,
    pub time_created: f64,
    pub time_updated: f64,
    #[schema(schema_with = openapi::folder_status)]
    pub resolution_status: String,
    /// The result of the last finished group of analyses (spec §8.6); null before one.
    #[schema(schema_with = openapi::system_resolution)]
    pub system_resolution: Option<String>,
    pub resolution_comment: Option<String>,
    pub is_archive: bool,
    #[schema(value_type = Object)]
    pub meta_data: Value,
    #[schema(value_type = Object)]
    pub technical_meta_data: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<Vec<MediaView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analyses: Option<Vec<AnalysisView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Option<UserView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<Option<CompanyView>>,
}

impl FolderView {
    pub fn new(d: FolderDetails, base: &str) -> Self {
        Self::with_links(d, Some(base))
    }

    /// Instant mode: the folder was never stored, so nothing links to the server.
    pub fn instant(d: FolderDetails) -> Self {
        Self::with_links(d, None)
    }

    fn with_links(d: FolderDetails, base: Option<&str>) -> Self {
        let FolderDetails { folder, media, analyses, user, company } = d;
        let Folder {
            folder_id,
            company_id,
            user_id,
            resolution_status,
            system_resolution,
            resolution_comment,
            is_archive,
            meta_data,
            technical_meta_data,
            time_created,
            time_updated,
        } = folder;
        FolderView {
            folder_id,
            company_id,
            user_id,
            time_created,
            time_updated,
            resolution_status: resolution_status.as_str().to_owned(),
            system_resolution,
            resolution_comment,
            is_archive,
            meta_data: meta_data.into_value(),
            technical_meta_data: technical_meta_data.into_value(),
            media: media.map(|m| MediaView::list_with_links(m, base)),
            analyses: analyses.map(|a| a.into_iter().map(|x| AnalysisView::with_links(x, base)).collect()),
            user: user.map(|u| u.map(UserView::from)),
            company: company.map(|c| c.map(CompanyView::from)),
        }
    }
}

/// Collection (spec §4.7 [I]).
#[derive(Serialize, ToSchema)]
pub struct CollectionView {
    pub collection_id: Uuid,
    pub alias: String,
    pub company_id: Uuid,
    pub time_created: f64,
    pub time_updated: f64,
    #[schema(value_type = Object)]
    pub meta_data: Value,
    #[schema(value_type = Object)]
    pub technical_meta_data: Value,
    /// Persons in the collection (GAP-9).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persons_count: Option<u64>,
}

impl CollectionView {
    /// With `persons_count` from `(collection_id, persons)` pairs (absent = 0).
    pub fn counted(c: Collection, counts: &[(Uuid, u64)]) -> Self {
        let n = counts.iter().find(|(id, _)| *id == c.collection_id).map(|(_, n)| *n).unwrap_or(0);
        CollectionView { persons_count: Some(n), ..CollectionView::from(c) }
    }
}

impl From<Collection> for CollectionView {
    fn from(c: Collection) -> Self {
        let Collection { collection_id, company_id, alias, meta_data, technical_meta_data, time_created, time_updated } =
            c;
        CollectionView {
            collection_id,
            alias,
            company_id,
            time_created,
            time_updated,
            meta_data: meta_data.into_value(),
            technical_meta_data: technical_meta_data.into_value(),
            persons_count: None,
        }
    }
}

/// A person's photo (spec §4.7 [I]): both its ids, its links and tags. The face template is
/// never rendered.
#[derive(Serialize, ToSchema)]
pub struct PersonImageView {
    pub person_image_id: Uuid,
    pub media_id: Uuid,
    pub person_id: Uuid,
    pub collection_id: Uuid,
    /// Always `IMAGE_FOLDER`: only photos are enrolled.
    #[schema(schema_with = openapi::media_type)]
    pub media_type: String,
    pub original_name: String,
    pub original_url: String,
    pub thumb_url: Option<String>,
    pub tags: Vec<String>,
    pub time_created: f64,
    pub time_updated: f64,
    #[schema(value_type = Object)]
    pub meta_data: Value,
    /// `size`, `sha256`, `width`, `height`, and the `model_id` of the template.
    #[schema(value_type = Object)]
    pub technical_meta_data: Value,
}

impl PersonImageView {
    pub fn new(i: PersonImage, base: &str) -> Self {
        let (original_url, thumb_url) = file_urls(&i, base);
        let PersonImage {
            person_image_id,
            media_id,
            person_id,
            collection_id,
            company_id: _,
            original_name,
            extension: _,
            has_thumb: _,
            size_bytes: _,
            sha256: _,
            tags,
            meta_data,
            technical_meta_data,
            model_id: _,
            time_created,
            time_updated,
        } = i;
        PersonImageView {
            person_image_id,
            media_id,
            person_id,
            collection_id,
            media_type: MediaKind::Image.as_str().to_owned(),
            original_name,
            original_url,
            thumb_url,
            tags,
            time_created,
            time_updated,
            meta_data: meta_data.into_value(),
            technical_meta_data: technical_meta_data.into_value(),
        }
    }

    pub fn list(images: Vec<PersonImage>, base: &str) -> Vec<PersonImageView> {
        images.into_iter().map(|i| PersonImageView::new(i, base)).collect()
    }
}

/// Person (spec §4.7 [I]) with its photos.
#[derive(Serialize, ToSchema)]
pub struct PersonView {
    pub person_id: Uuid,
    pub collection_id: Uuid,
    pub time_created: f64,
    pub time_updated: f64,
    #[schema(value_type = Object)]
    pub meta_data: Value,
    #[schema(value_type = Object)]
    pub technical_meta_data: Value,
    pub images: Vec<PersonImageView>,
}

impl PersonView {
    pub fn new(d: PersonDetails, base: &str) -> Self {
        let PersonDetails { person, images } = d;
        let Person {
            person_id,
            collection_id,
            company_id: _,
            meta_data,
            technical_meta_data,
            time_created,
            time_updated,
        } = person;
        PersonView {
            person_id,
            collection_id,
            time_created,
            time_updated,
            meta_data: meta_data.into_value(),
            technical_meta_data: technical_meta_data.into_value(),
            images: PersonImageView::list(images, base),
        }
    }

    pub fn list(persons: Vec<PersonDetails>, base: &str) -> Vec<PersonView> {
        persons.into_iter().map(|p| PersonView::new(p, base)).collect()
    }
}

/// Lamb's list envelope: exactly these four keys, in this order (spec §6.3).
#[derive(Serialize, ToSchema)]
pub struct PageView<T> {
    /// Null with `total_omit=true`.
    pub total_count: Option<u64>,
    pub offset: u64,
    /// Null with `limit=-1`.
    pub limit: Option<u64>,
    pub items: Vec<T>,
}

impl<T> PageView<T> {
    pub fn new<U>(page: Page<U>, f: impl FnMut(U) -> T) -> Self {
        let Page { total, offset, limit, items } = page;
        PageView { total_count: total, offset, limit, items: items.into_iter().map(f).collect() }
    }
}
