//! Collections (blacklists, "1:N" databases; spec §4.7, §12): the objects, who may do what
//! (spec §3.2 [I]: ADMIN everything; CLIENT ADMIN its company's; OPERATOR reads all; CLIENT,
//! CLIENT SERVICE and CLIENT OPERATOR read their company's), and the collection itself.
//! Persons and their photos are in [`super::persons`], the in-memory 1:N search in
//! [`super::gallery`].
//!
//! A collection always belongs to one company; another company's collection, person or photo
//! answers "not exist", never "forbidden".

use uuid::Uuid;

use crate::domain::error::{Error, Result};
use crate::domain::model::audit::{collection_change, ObjectChange};
use crate::domain::model::caller::Caller;
use crate::domain::model::collection::{Collection, CollectionMatchRecord, Person, PersonImage};
use crate::domain::model::metadata::MetaData;
use crate::domain::model::role::UserType;
use crate::domain::store::{ListParams, Page};
use crate::domain::time::now;
use crate::domain::Domain;

/// Longest alias, in characters.
pub const ALIAS_MAX_CHARS: usize = 256;

/// A person with its photos, oldest first.
#[derive(Debug, Clone)]
pub struct PersonDetails {
    pub person: Person,
    pub images: Vec<PersonImage>,
}

/// What a caller may do with one company's collections, persons and photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(in crate::domain) enum Access {
    Invisible,
    Read,
    /// Create, change and delete.
    Manage,
}

pub(in crate::domain) fn access(caller: &Caller, company_id: Uuid) -> Access {
    let same_company = caller.company_id == Some(company_id);
    match caller.user_type {
        UserType::Admin => Access::Manage,
        UserType::Operator => Access::Read,
        UserType::ClientAdmin if same_company => Access::Manage,
        UserType::Client | UserType::ClientService | UserType::ClientOperator if same_company => Access::Read,
        UserType::ClientAdmin | UserType::Client | UserType::ClientService | UserType::ClientOperator => {
            Access::Invisible
        }
    }
}

/// Whether the caller may create, change and delete collections, persons and photos of this
/// company (what the console shows its forms for; every action is checked again).
pub fn manages_collections_of(caller: &Caller, company_id: Uuid) -> bool {
    access(caller, company_id) == Access::Manage
}

/// Whether the caller may create collections at all: ADMIN (for any company), a CLIENT ADMIN
/// (for its own).
pub fn creates_collections(caller: &Caller) -> bool {
    manages_collections_of(caller, caller.company_id.unwrap_or(Uuid::nil()))
}

/// `POST /api/collections/` as the domain sees it.
#[derive(Debug, Clone)]
pub struct NewCollection {
    pub alias: String,
    /// Default: the caller's company (ADMIN, who has none, must name one).
    pub company_id: Option<Uuid>,
    pub meta_data: MetaData,
}

fn check_alias(alias: &str) -> Result<String> {
    let alias = alias.trim();
    if alias.is_empty() || alias.chars().count() > ALIAS_MAX_CHARS {
        return Err(Error::invalid_value(
            format!("Invalid alias: it must have 1 to {ALIAS_MAX_CHARS} characters"),
            serde_json::json!({ "key_path": "alias" }),
        ));
    }
    Ok(alias.to_owned())
}

impl Domain {
    pub(in crate::domain) async fn visible_collection(
        &self,
        caller: &Caller,
        id: Uuid,
    ) -> Result<(Collection, Access)> {
        let c = self.store.get_collection(id).await?.ok_or_else(|| Error::not_exist("Collection"))?;
        match access(caller, c.company_id) {
            Access::Invisible => Err(Error::not_exist("Collection")),
            a => Ok((c, a)),
        }
    }

    /// A collection the caller may change.
    pub(in crate::domain) async fn managed_collection(&self, caller: &Caller, id: Uuid) -> Result<Collection> {
        let (c, access) = self.visible_collection(caller, id).await?;
        if access < Access::Manage {
            return Err(Error::Forbidden(None));
        }
        Ok(c)
    }

    /// `POST /api/collections/` (spec §12 step 2): ADMIN for any company, CLIENT ADMIN for its own.
    pub async fn create_collection(&self, caller: &Caller, new: NewCollection) -> Result<Collection> {
        let NewCollection { alias, company_id, meta_data } = new;
        let company_id = match (company_id, caller.company_id) {
            (Some(c), _) => c,
            (None, Some(mine)) if !caller.user_type.is_global() => mine,
            (None, _) => return Err(Error::missing_field("company_id")),
        };
        // Another company's id (or an unknown one) is "not exist", like every other object.
        self.get_company(caller, company_id).await?;
        if access(caller, company_id) < Access::Manage {
            return Err(Error::Forbidden(None));
        }
        let t = now();
        let collection = Collection {
            collection_id: Uuid::new_v4(),
            company_id,
            alias: check_alias(&alias)?,
            meta_data,
            technical_meta_data: MetaData::default(),
            time_created: t,
            time_updated: t,
        };
        let change = collection_change(&collection);
        let events = self.object_events_of(Some(caller), "create", "success", Some(company_id), vec![change]);
        self.store.insert_collection(&collection, &events).await?;
        self.audit_committed(&events);
        Ok(collection)
    }

    /// `GET /api/collections/`: the caller's company's collections (all for ADMIN/OPERATOR).
    pub async fn list_collections(&self, caller: &Caller, params: &ListParams) -> Result<Page<Collection>> {
        self.store.list_collections(caller.scope(), params).await
    }

    /// `persons_count` of collections the caller has read (GAP-9): `(collection_id, persons)`.
    pub async fn persons_per_collection(&self, collections: &[Collection]) -> Result<Vec<(Uuid, u64)>> {
        let ids: Vec<Uuid> = collections.iter().map(|c| c.collection_id).collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.store.persons_per_collection(&ids).await
    }

    /// `GET /api/collections/{id}/`.
    pub async fn get_collection(&self, caller: &Caller, id: Uuid) -> Result<Collection> {
        Ok(self.visible_collection(caller, id).await?.0)
    }

    /// `PATCH /api/collections/{id}/` ([I]): a new alias, with the permission, the validation
    /// and the per-company uniqueness of [`Self::create_collection`]; audited as an "update"
    /// with the old and the new alias. The same alias again changes nothing (no audit record).
    /// COLLECTION analyses keep the alias they matched under: it is stored with their result.
    pub async fn rename_collection(&self, caller: &Caller, id: Uuid, alias: &str) -> Result<Collection> {
        let mut collection = self.managed_collection(caller, id).await?;
        let alias = check_alias(alias)?;
        if alias == collection.alias {
            return Ok(collection);
        }
        let change = ObjectChange::of("collection", id).before(&collection.alias).after(&alias).comment(&alias);
        collection.alias = alias;
        collection.time_updated = now();
        let events =
            self.object_events_of(Some(caller), "update", "success", Some(collection.company_id), vec![change]);
        if !self.store.rename_collection(&collection, &events).await? {
            return Err(Error::not_exist("Collection"));
        }
        self.audit_committed(&events);
        Ok(collection)
    }

    /// `DELETE /api/collections/{id}/` (spec §12 step 8): only an empty collection.
    pub async fn delete_collection(&self, caller: &Caller, id: Uuid) -> Result<()> {
        let collection = self.managed_collection(caller, id).await?;
        let persons = self.store.count_collection_persons(id).await?;
        if persons > 0 {
            return Err(collection_not_empty(persons));
        }
        let change = collection_change(&collection);
        let events =
            self.object_events_of(Some(caller), "delete", "success", Some(collection.company_id), vec![change]);
        if !self.store.delete_collection(id, &events).await? {
            return Err(Error::not_exist("Collection"));
        }
        self.audit_committed(&events);
        Ok(())
    }

    pub(in crate::domain) async fn collection_meta_access(
        &self,
        caller: &Caller,
        id: Uuid,
        write: bool,
    ) -> Result<(MetaData, Option<Uuid>)> {
        let c =
            if write { self.managed_collection(caller, id).await? } else { self.get_collection(caller, id).await? };
        Ok((c.meta_data, Some(c.company_id)))
    }

    /// Record that a COLLECTION analysis matched a person (and photo). The analyses work calls
    /// this when it stores a result; tests use it to exercise the deletion rules.
    pub async fn record_collection_match(&self, record: &CollectionMatchRecord) -> Result<()> {
        self.store.insert_collection_match(record).await
    }
}

/// Code 4: the collection still has persons (spec §12 [I]).
pub fn collection_not_empty(persons: u64) -> Error {
    Error::invalid_value(
        format!("Collection is not empty: it has {persons} persons; delete them first"),
        serde_json::json!({ "key_path": "collection_id", "persons": persons }),
    )
}

/// Code 4: analyses matched this person or photo; they must be deleted first (spec §12).
pub fn has_related_analyses(what: &str, analyse_ids: &[Uuid]) -> Error {
    let list: Vec<String> = analyse_ids.iter().map(Uuid::to_string).collect();
    let message = if list.is_empty() {
        format!("{what} has related analyses; delete them first")
    } else {
        format!("{what} has related analyses; delete them first: {}", list.join(", "))
    };
    Error::invalid_value(message, serde_json::json!({ "analyse_ids": list }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(user_type: UserType, company: Option<Uuid>) -> Caller {
        Caller { user_id: Uuid::new_v4(), session_id: Uuid::new_v4(), user_type, company_id: company }
    }

    #[test]
    fn access_follows_the_matrix() {
        let (mine, other) = (Uuid::new_v4(), Uuid::new_v4());
        let cases = [
            (UserType::Admin, None, mine, Access::Manage),
            (UserType::Operator, None, mine, Access::Read),
            (UserType::ClientAdmin, Some(mine), mine, Access::Manage),
            (UserType::ClientAdmin, Some(mine), other, Access::Invisible),
            (UserType::Client, Some(mine), mine, Access::Read),
            (UserType::ClientService, Some(mine), mine, Access::Read),
            (UserType::ClientOperator, Some(mine), mine, Access::Read),
            (UserType::ClientOperator, Some(mine), other, Access::Invisible),
        ];
        for (t, c, target, want) in cases {
            assert_eq!(
                access(&caller(t, c), target),
                want,
                "{t} on {}",
                if Some(target) == c { "own" } else { "other" }
            );
        }
    }

    #[test]
    fn admin_and_client_admin_create_collections() {
        let mine = Uuid::new_v4();
        assert!(creates_collections(&caller(UserType::Admin, None)));
        assert!(creates_collections(&caller(UserType::ClientAdmin, Some(mine))));
        for t in [UserType::Operator, UserType::Client, UserType::ClientOperator, UserType::ClientService] {
            let company = (!t.is_global()).then_some(mine);
            assert!(!creates_collections(&caller(t, company)), "{t}");
        }
    }

    #[test]
    fn related_analyses_are_named() {
        let id = Uuid::new_v4();
        let e = has_related_analyses("Person", &[id]);
        assert_eq!(e.to_string(), format!("Person has related analyses; delete them first: {id}"));
    }
}
