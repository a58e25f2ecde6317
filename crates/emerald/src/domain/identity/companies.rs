//! Companies (spec §7.1): ADMIN manages them; everyone else reads only their own.

use uuid::Uuid;

use crate::domain::error::{Error, Result};
use crate::domain::model::account::Company;
use crate::domain::model::analysis::{ThresholdOverrides, ThresholdPatch, Thresholds, BAND_KEYS, THRESHOLD_KEYS};
use crate::domain::model::audit::ObjectChange;
use crate::domain::model::caller::Caller;
use crate::domain::model::metadata::{MetaChange, MetaData};
use crate::domain::model::role::UserType;
use crate::domain::store::{ListParams, Page};
use crate::domain::time::now;
use crate::domain::Domain;

pub const COMPANY_NAME_MAX_CHARS: usize = 256;

fn check_company_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > COMPANY_NAME_MAX_CHARS {
        return Err(Error::invalid_value(
            format!("Invalid name: it must have 1 to {COMPANY_NAME_MAX_CHARS} characters"),
            serde_json::json!({ "key_path": "name" }),
        ));
    }
    Ok(name.to_owned())
}

/// Where a threshold a company's analyses get comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdSource {
    /// The server's `--quality-threshold`, `--biometry-threshold`, `--collection-threshold`.
    Installation,
    /// The company's own (set by an ADMIN).
    Company,
}

impl ThresholdSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdSource::Installation => "installation",
            ThresholdSource::Company => "company",
        }
    }
}

/// A company's decision thresholds (GAP-14): what its new analyses get, its own overrides,
/// and the installation's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompanyThresholds {
    pub effective: Thresholds,
    pub overrides: ThresholdOverrides,
    pub installation: Thresholds,
}

impl CompanyThresholds {
    pub fn new(overrides: ThresholdOverrides, installation: Thresholds) -> Self {
        CompanyThresholds { effective: overrides.over(&installation), overrides, installation }
    }

    /// The source of one of [`THRESHOLD_KEYS`].
    pub fn source(&self, key: &str) -> ThresholdSource {
        match self.overrides.get(key) {
            Some(_) => ThresholdSource::Company,
            None => ThresholdSource::Installation,
        }
    }

    /// `company` when any threshold or band is the company's own, else `installation`.
    pub fn overall_source(&self) -> ThresholdSource {
        if THRESHOLD_KEYS.iter().chain(&BAND_KEYS).any(|k| self.source(k) == ThresholdSource::Company) {
            ThresholdSource::Company
        } else {
            ThresholdSource::Installation
        }
    }
}

/// `quality=0.4, biometry=installation, …` for the audit trail; a band's edge only when the
/// company has one (`biometry_min=0.6`).
fn describe_overrides(o: &ThresholdOverrides) -> String {
    let thresholds = THRESHOLD_KEYS.iter().map(|k| match o.get(k) {
        Some(v) => format!("{k}={v}"),
        None => format!("{k}=installation"),
    });
    let bands = BAND_KEYS.iter().filter_map(|k| o.get(k).map(|v| format!("{k}={v}")));
    thresholds.chain(bands).collect::<Vec<_>>().join(", ")
}

/// A band's lower edge above the threshold it lies under is refused (GAP-14): the band
/// `[min, threshold)` would be empty.
fn check_bands(t: &Thresholds) -> Result<()> {
    for (key, min, threshold, name) in [
        ("biometry_min", t.biometry_min, t.biometry, "biometry"),
        ("collection_min", t.collection_min, t.collection, "collection"),
    ] {
        if let Some(min) = min.filter(|m| *m > threshold) {
            return Err(Error::invalid_value(
                format!("Invalid value for {key}: {min} is above the {name} threshold ({threshold})"),
                serde_json::json!({ "key_path": key }),
            ));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct CompanyPatch {
    pub name: Option<String>,
    /// Merged into the stored metadata.
    pub meta_data: Option<MetaData>,
}

impl Domain {
    /// `POST /api/companies/`: ADMIN only.
    pub async fn create_company(&self, caller: &Caller, name: &str, meta_data: MetaData) -> Result<Company> {
        if caller.user_type != UserType::Admin {
            return Err(Error::Forbidden(None));
        }
        let t = now();
        let company = Company {
            company_id: Uuid::new_v4(),
            name: check_company_name(name)?,
            meta_data,
            technical_meta_data: MetaData::default(),
            time_created: t,
            time_updated: t,
        };
        let change = ObjectChange::of("company", company.company_id).comment(&company.name);
        let events = self.object_events_of(Some(caller), "create", "success", Some(company.company_id), vec![change]);
        self.store.insert_company(&company, &events).await?;
        self.audit_committed(&events);
        Ok(company)
    }

    /// `GET /api/companies/{id}`: another company's id answers 404.
    pub async fn get_company(&self, caller: &Caller, id: Uuid) -> Result<Company> {
        if !caller.sees_company(Some(id)) {
            return Err(Error::not_exist("Company"));
        }
        self.store.get_company(id).await?.ok_or_else(|| Error::not_exist("Company"))
    }

    /// `GET /api/companies/{id}/thresholds` (GAP-14 [I]): the decision thresholds the
    /// company's new analyses get, with the company's own overrides and the installation's
    /// settings they replace. Whoever sees the company.
    pub async fn company_thresholds(&self, caller: &Caller, id: Uuid) -> Result<CompanyThresholds> {
        self.get_company(caller, id).await?;
        let overrides = self.store.company_threshold_overrides(id).await?.ok_or_else(|| Error::not_exist("Company"))?;
        Ok(CompanyThresholds::new(overrides, self.thresholds))
    }

    /// `PATCH /api/companies/{id}/thresholds` (GAP-14 [I]): ADMIN only (a company's users
    /// read theirs, they do not set them); a value in [0, 1] sets the company's own, `Clear`
    /// returns to the installation's (for a band's edge: no band). A band's edge must not be
    /// above the threshold it lies under (as the company's thresholds then stand). Analyses created afterwards get them; existing ones keep
    /// the threshold they were created with.
    pub async fn set_company_thresholds(
        &self,
        caller: &Caller,
        id: Uuid,
        patch: ThresholdPatch,
    ) -> Result<CompanyThresholds> {
        self.get_company(caller, id).await?;
        if caller.user_type != UserType::Admin {
            return Err(Error::Forbidden(None));
        }
        patch.validate()?;
        let installation = self.thresholds;
        let edit = Box::new(move |before: ThresholdOverrides| {
            let after = patch.apply(before);
            check_bands(&after.over(&installation))?;
            let mut events = Vec::new();
            if after != before {
                let change = ObjectChange::of("company_thresholds", id)
                    .before(describe_overrides(&before))
                    .after(describe_overrides(&after));
                events = self.object_events_of(Some(caller), "update", "success", Some(id), vec![change]);
            }
            Ok((after, events))
        });
        let Some((after, events)) = self.store.update_company_threshold_overrides(id, now(), edit).await? else {
            return Err(Error::not_exist("Company"));
        };
        self.audit_committed(&events);
        Ok(CompanyThresholds::new(after, self.thresholds))
    }

    /// The rule of GAP-14: the thresholds an analysis of a folder of `company` gets (before
    /// its request's own `threshold_max` / `decision_threshold`, which win): the company's own
    /// where it has one, else the installation's. A folder without a company (an ADMIN's) and a
    /// company gone since get the installation's.
    pub(in crate::domain) async fn thresholds_for(&self, company: Option<Uuid>) -> Result<Thresholds> {
        let Some(id) = company else { return Ok(self.thresholds) };
        let overrides = self.store.company_threshold_overrides(id).await?.unwrap_or_default();
        Ok(overrides.over(&self.thresholds))
    }

    /// `GET /api/companies/?search_text=`.
    pub async fn list_companies(
        &self,
        caller: &Caller,
        search_text: Option<&str>,
        params: &ListParams,
    ) -> Result<Page<Company>> {
        self.store.list_companies(caller.scope(), search_text, params).await
    }

    /// ADMIN any company, a CLIENT ADMIN its own (rename, meta_data).
    pub fn may_edit_company(caller: &Caller, id: Uuid) -> bool {
        match caller.user_type {
            UserType::Admin => true,
            UserType::ClientAdmin => caller.company_id == Some(id),
            UserType::Operator | UserType::Client | UserType::ClientOperator | UserType::ClientService => false,
        }
    }

    /// `PATCH /api/companies/{id}`: ADMIN, or a CLIENT ADMIN for its own company. Audited
    /// (`event=update`, `object_type=company`, the changed `name` / `meta_data` as `key=value`)
    /// in the change's transaction when something changed.
    pub async fn update_company(&self, caller: &Caller, id: Uuid, patch: CompanyPatch) -> Result<Company> {
        let mut company = self.get_company(caller, id).await?;
        let was = company.clone();
        if !Self::may_edit_company(caller, id) {
            return Err(Error::Forbidden(None));
        }
        if let Some(name) = patch.name {
            company.name = check_company_name(&name)?;
        }
        if let Some(m) = patch.meta_data {
            company.meta_data = MetaChange::Merge(m).apply(std::mem::take(&mut company.meta_data))?;
        }
        company.time_updated = now();
        let mut events = Vec::new();
        let fields = |c: &Company| [("name", c.name.clone()), ("meta_data", c.meta_data.to_value().to_string())];
        let (mut before, mut after) = (Vec::new(), Vec::new());
        for ((key, old), (_, new)) in fields(&was).into_iter().zip(fields(&company)) {
            if old != new {
                before.push(format!("{key}={old}"));
                after.push(format!("{key}={new}"));
            }
        }
        if !before.is_empty() {
            let change = ObjectChange::of("company", id)
                .before(before.join("; "))
                .after(after.join("; "))
                .comment(&company.name);
            events = self.object_events_of(Some(caller), "update", "success", Some(id), vec![change]);
        }
        let Some(company) = self.store.update_company(&was, company, &events).await? else {
            return Err(Error::not_exist("Company"));
        };
        self.audit_committed(&events);
        Ok(company)
    }

    /// `DELETE /api/companies/{id}`: ADMIN only, and only a company without users, so that
    /// deleting a company never silently deletes anybody's data.
    pub async fn delete_company(&self, caller: &Caller, id: Uuid) -> Result<()> {
        let company = self.get_company(caller, id).await?;
        if caller.user_type != UserType::Admin {
            return Err(Error::Forbidden(None));
        }
        let users = self.store.count_company_users(id).await?;
        if users > 0 {
            return Err(Error::invalid_value(
                format!("Company has {users} users; delete them first"),
                serde_json::json!({ "key_path": "company_id", "users": users }),
            ));
        }
        // Not in the company's own list: its CLIENT ADMINs are gone with it.
        let change = ObjectChange::of("company", id).comment(&company.name);
        let events = self.object_events_of(Some(caller), "delete", "success", None, vec![change]);
        if !self.store.delete_company(id, &events).await? {
            return Err(Error::not_exist("Company"));
        }
        self.audit_committed(&events);
        Ok(())
    }

    pub(in crate::domain) async fn company_meta_access(
        &self,
        caller: &Caller,
        id: Uuid,
        write: bool,
    ) -> Result<(MetaData, Option<Uuid>)> {
        let company = self.get_company(caller, id).await?;
        if write && !Self::may_edit_company(caller, id) {
            return Err(Error::Forbidden(None));
        }
        Ok((company.meta_data, Some(id)))
    }
}
