//! [`TaggingRoles`]: the [`Tags`] port over the Resource Groups Tagging API.
//!
//! Only a returned mapping whose `ResourceARN` ends with exactly `:instance/<id>` is accepted:
//! some emulators ignore `ResourceARNList` and answer with other instances' tags (DESIGN §7), and
//! matching the ARN is sound against any implementation.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, TagFilter};
use selfheal_core::silence::SILENCE_TAG;
use selfheal_core::InstanceId;
use selfheal_service::ports::{InstanceTags, PortError, Tags};

use crate::error::port_error;

/// Reads an instance's role tag.
#[derive(Debug, Clone)]
pub struct TaggingRoles {
    client: aws_sdk_resourcegroupstagging::Client,
    role_tag: String,
    account_id: Option<String>,
    region: String,
}

/// Pages read before giving up on finding the instance (a region-wide scan when the account is
/// unknown; 100 resources per page).
const MAX_PAGES: usize = 200;

impl TaggingRoles {
    /// `account_id`: when known, the request names the instance's ARN instead of scanning every
    /// instance carrying the role tag.
    pub fn new(
        client: aws_sdk_resourcegroupstagging::Client,
        role_tag: impl Into<String>,
        account_id: Option<String>,
        region: impl Into<String>,
    ) -> Self {
        Self {
            client,
            role_tag: role_tag.into(),
            account_id,
            region: region.into(),
        }
    }

    /// The ARN of `instance` in this account and region, when the account is known.
    pub fn instance_arn(&self, instance: &InstanceId) -> Option<String> {
        let account = self.account_id.as_deref()?;
        Some(format!(
            "arn:{}:ec2:{}:{}:instance/{}",
            partition_of(&self.region),
            self.region,
            account,
            instance
        ))
    }

    fn tags_in(&self, mapping: &ResourceTagMapping) -> InstanceTags {
        let value = |key: &str| {
            mapping
                .tags()
                .iter()
                .find(|t| t.key() == key)
                .map(|t| t.value())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        InstanceTags {
            role: value(&self.role_tag),
            silence: value(SILENCE_TAG),
        }
    }
}

/// Whether `arn` names exactly `instance` (`…:instance/<id>`, nothing after it).
pub fn arn_names_instance(arn: &str, instance: &InstanceId) -> bool {
    arn.strip_suffix(instance.as_str())
        .is_some_and(|head| head.ends_with(":instance/"))
}

/// The ARN partition of a region.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        "aws"
    }
}

#[async_trait]
impl Tags for TaggingRoles {
    async fn tags_of(&self, instance: &InstanceId) -> Result<InstanceTags, PortError> {
        // AWS rejects ResourceARNList together with ResourceTypeFilters, TagFilters or
        // pagination parameters, so the first request is either "this ARN" or "every instance
        // with the role tag"; later pages carry only the token.
        let first = self.client.get_resources();
        let mut request = match self.instance_arn(instance) {
            Some(arn) => first.resource_arn_list(arn),
            None => first
                .resource_type_filters("ec2:instance")
                .tag_filters(TagFilter::builder().key(&self.role_tag).build()),
        };
        for _ in 0..MAX_PAGES {
            let out = request
                .send()
                .await
                .map_err(|e| port_error("tagging:GetResources", &e))?;
            if let Some(mapping) = out.resource_tag_mapping_list().iter().find(|m| {
                m.resource_arn()
                    .is_some_and(|a| arn_names_instance(a, instance))
            }) {
                return Ok(self.tags_in(mapping));
            }
            match out.pagination_token().filter(|t| !t.is_empty()) {
                Some(token) => request = self.client.get_resources().pagination_token(token),
                None => return Ok(InstanceTags::default()),
            }
        }
        Err(PortError::Transient(format!(
            "tagging:GetResources: instance not found within {MAX_PAGES} pages"
        )))
    }

    /// One GetResources per 100 instances when the account is known (their ARNs listed), else
    /// one scan of the instances carrying the role tag for all of them.
    async fn tags_of_many(
        &self,
        instances: &[InstanceId],
    ) -> Result<HashMap<InstanceId, InstanceTags>, PortError> {
        let mut found = HashMap::new();
        let arns: Option<Vec<String>> = instances.iter().map(|i| self.instance_arn(i)).collect();
        match arns {
            Some(arns) => {
                for (chunk, arns) in instances
                    .chunks(ARNS_PER_CALL)
                    .zip(arns.chunks(ARNS_PER_CALL))
                {
                    let first = self
                        .client
                        .get_resources()
                        .set_resource_arn_list(Some(arns.to_vec()));
                    self.collect(first, chunk, &mut found).await?;
                }
            }
            None => {
                let first = self
                    .client
                    .get_resources()
                    .resource_type_filters("ec2:instance")
                    .tag_filters(TagFilter::builder().key(&self.role_tag).build());
                self.collect(first, instances, &mut found).await?;
            }
        }
        for i in instances {
            found.entry(i.clone()).or_default();
        }
        Ok(found)
    }
}

/// GetResources takes at most this many ARNs.
const ARNS_PER_CALL: usize = 100;

impl TaggingRoles {
    /// Follows `request`'s pages until every one of `wanted` is found or the pages end, keeping
    /// only mappings whose ARN names exactly a wanted instance.
    async fn collect(
        &self,
        mut request: aws_sdk_resourcegroupstagging::operation::get_resources::builders::GetResourcesFluentBuilder,
        wanted: &[InstanceId],
        found: &mut HashMap<InstanceId, InstanceTags>,
    ) -> Result<(), PortError> {
        for _ in 0..MAX_PAGES {
            let out = request
                .send()
                .await
                .map_err(|e| port_error("tagging:GetResources", &e))?;
            for m in out.resource_tag_mapping_list() {
                let Some(arn) = m.resource_arn() else {
                    continue;
                };
                if let Some(i) = wanted.iter().find(|i| arn_names_instance(arn, i)) {
                    found.insert(i.clone(), self.tags_in(m));
                }
            }
            if wanted.iter().all(|i| found.contains_key(i)) {
                return Ok(());
            }
            match out.pagination_token().filter(|t| !t.is_empty()) {
                Some(token) => request = self.client.get_resources().pagination_token(token),
                None => return Ok(()),
            }
        }
        Err(PortError::Transient(format!(
            "tagging:GetResources: instances not found within {MAX_PAGES} pages"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_matching_is_exact() {
        let id = InstanceId::parse("i-0123abcd").expect("valid");
        assert!(arn_names_instance(
            "arn:aws:ec2:us-east-1:123456789012:instance/i-0123abcd",
            &id
        ));
        assert!(!arn_names_instance(
            "arn:aws:ec2:us-east-1:123456789012:instance/i-0123abcde",
            &id
        ));
        assert!(!arn_names_instance(
            "arn:aws:ec2:us-east-1:123456789012:instance/xi-0123abcd",
            &id
        ));
        assert!(!arn_names_instance(
            "arn:aws:ec2:us-east-1:123456789012:volume/i-0123abcd",
            &id
        ));
        assert!(!arn_names_instance("i-0123abcd", &id));
    }

    #[test]
    fn partitions() {
        assert_eq!(partition_of("us-east-1"), "aws");
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
    }
}
