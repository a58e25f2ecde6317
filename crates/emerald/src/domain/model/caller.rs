//! Who is calling: produced by the auth extractor, passed into every domain function, which
//! scopes every query by it (spec §3).

use uuid::Uuid;

use crate::domain::model::role::UserType;

#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub user_type: UserType,
    /// None for ADMIN and OPERATOR.
    pub company_id: Option<Uuid>,
}

/// Which objects a caller may see: everything, or one company's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Company(Uuid),
}

impl Caller {
    pub fn scope(&self) -> Scope {
        match self.company_id {
            Some(c) if !self.user_type.is_global() => Scope::Company(c),
            _ => Scope::All,
        }
    }

    /// May see an object that belongs to `company_id` (None = global object such as an ADMIN).
    pub fn sees_company(&self, company_id: Option<Uuid>) -> bool {
        match self.scope() {
            Scope::All => true,
            Scope::Company(mine) => company_id == Some(mine),
        }
    }
}
