//! Who may press: the runbook's approvers and the default user group ([`AllowList`]).

use std::collections::BTreeMap;

use super::{is_group_id, is_user_id, ApprovalError};

/// Who may press: the runbook's `approvers` (user ids and user-group ids) and, when configured,
/// one default user group. Neither → nobody (fail closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowList<'a> {
    pub approvers: &'a [String],
    pub default_group: Option<&'a str>,
}

/// Why a user was allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedBy {
    /// Listed by user id in the runbook's approvers.
    User,
    /// A member of this user group.
    Group(String),
}

impl AllowedBy {
    /// `user` or `group:S…`, as recorded.
    pub fn describe(&self) -> String {
        match self {
            Self::User => "user".to_owned(),
            Self::Group(g) => format!("group:{g}"),
        }
    }
}

/// Precomputed user-group membership: group id → member user ids. A group that is missing is
/// treated as having no members (fail closed).
pub type GroupMembers = BTreeMap<String, Vec<String>>;

impl<'a> AllowList<'a> {
    pub fn new(approvers: &'a [String], default_group: Option<&'a str>) -> Self {
        Self {
            approvers,
            default_group,
        }
    }

    /// Whether `user_id` is listed by id (no group lookup needed).
    pub fn lists_user(&self, user_id: &str) -> bool {
        is_user_id(user_id) && self.approvers.iter().any(|a| a == user_id)
    }

    /// The user groups whose members may press, in order, without duplicates.
    pub fn groups(&self) -> Vec<&'a str> {
        let mut out: Vec<&'a str> = Vec::new();
        let listed = self.approvers.iter().map(String::as_str);
        for g in listed.chain(self.default_group) {
            if is_group_id(g) && !out.contains(&g) {
                out.push(g);
            }
        }
        out
    }

    /// Allows `user_id` when listed, or a member of one of [`AllowList::groups`] in `members`;
    /// otherwise 403 naming `key`.
    pub fn check(
        &self,
        user_id: &str,
        key: &str,
        members: &GroupMembers,
    ) -> Result<AllowedBy, ApprovalError> {
        if self.lists_user(user_id) {
            return Ok(AllowedBy::User);
        }
        if is_user_id(user_id) {
            for g in self.groups() {
                if members
                    .get(g)
                    .is_some_and(|m| m.iter().any(|u| u == user_id))
                {
                    return Ok(AllowedBy::Group(g.to_owned()));
                }
            }
        }
        Err(ApprovalError::NotAllowed {
            user_id: user_id.to_owned(),
            key: key.to_owned(),
        })
    }
}
