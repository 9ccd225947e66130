//! The `Tags`, `Alarms` and `ModeSource` contracts: `FakeTags`, `FakeAlarms` and `FakeMode`
//! against `TaggingRoles`, `CloudWatchAlarms` and `ParameterMode` (on moto).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use selfheal_aws::{AwsClients, CloudWatchAlarms, ParameterMode, TaggingRoles};
use selfheal_core::silence::SILENCE_TAG;
use selfheal_core::{AlarmState, InstanceId};
use selfheal_service::fakes::{FakeAlarms, FakeMode, FakeTags};
use selfheal_service::ports::{Alarms, GlobalMode, InstanceTags, LiveAlarm, ModeSource, Tags};

use crate::harness::{self, Case};

// ---------------------------------------------------------------------------------------------
// Tags

#[async_trait]
pub trait TagKit: Send + Sync {
    fn tags(&self) -> Arc<dyn Tags>;
    /// The role tag's key.
    fn role_key(&self) -> String;
    /// A new instance with these tags.
    async fn instance(&self, tags: &[(&str, &str)]) -> InstanceId;
}

pub type TagKitRef = Arc<dyn TagKit>;

pub fn tag_cases() -> Vec<Case<TagKitRef>> {
    crate::cases![TagKitRef;
        tags_are_the_instances_own,
        tags_of_many_agree_with_tags_of,
    ]
}

/// The role and `selfheal:silence` tags of exactly the instance asked about: another instance's
/// tags never leak in (moto's GetResources answers with other instances too, DESIGN §7); an
/// instance without the tags, or that does not exist, has none; an empty value is no value.
async fn tags_are_the_instances_own(kit: TagKitRef) {
    let role = kit.role_key();
    let until = "2030-01-01T00:00:00Z";
    let web = kit
        .instance(&[(role.as_str(), "web"), (SILENCE_TAG, until)])
        .await;
    let db = kit.instance(&[(role.as_str(), "db")]).await;
    let silenced_only = kit.instance(&[(SILENCE_TAG, until)]).await;
    let untagged = kit.instance(&[]).await;
    let other_key = kit.instance(&[("Name", "web")]).await;
    let empty = kit.instance(&[(role.as_str(), "")]).await;
    let t = kit.tags();
    let tags = |role: Option<&str>, silence: Option<&str>| {
        Ok(InstanceTags {
            role: role.map(str::to_owned),
            silence: silence.map(str::to_owned),
        })
    };
    assert_eq!(t.tags_of(&web).await, tags(Some("web"), Some(until)));
    assert_eq!(t.tags_of(&db).await, tags(Some("db"), None));
    assert_eq!(t.tags_of(&untagged).await, tags(None, None));
    assert_eq!(t.tags_of(&other_key).await, tags(None, None));
    assert_eq!(t.tags_of(&empty).await, tags(None, None), "empty value");
    let never = InstanceId::parse("i-0feedfacefeedface").expect("valid id");
    assert_eq!(
        t.tags_of(&never).await,
        tags(None, None),
        "no such instance"
    );
    assert_eq!(t.role_of(&db).await, Ok(Some("db".to_owned())));
    // Last, so that an adapter failing only this still has the rest checked.
    assert_eq!(
        t.tags_of(&silenced_only).await,
        tags(None, Some(until)),
        "a silence tag on an instance without a role tag"
    );
}

/// One batch read answers for every instance asked about exactly what `tags_of` answers for
/// each (an unknown instance: no tags; never another instance's).
async fn tags_of_many_agree_with_tags_of(kit: TagKitRef) {
    let role = kit.role_key();
    let web = kit.instance(&[(role.as_str(), "web")]).await;
    let db = kit.instance(&[(role.as_str(), "db")]).await;
    let untagged = kit.instance(&[]).await;
    let never = InstanceId::parse("i-0feedfacefeedfac1").expect("valid id");
    let t = kit.tags();
    let asked = vec![web.clone(), db.clone(), untagged.clone(), never.clone()];
    let many = t.tags_of_many(&asked).await.expect("batch read");
    assert_eq!(many.len(), asked.len(), "every instance asked about");
    for i in &asked {
        assert_eq!(Ok(many[i].clone()), t.tags_of(i).await, "{i}");
    }
    assert_eq!(many[&web].role.as_deref(), Some("web"));
    assert_eq!(many[&db].role.as_deref(), Some("db"));
    assert_eq!(t.tags_of_many(&[]).await.map(|m| m.len()), Ok(0));
}

/// `TaggingRoles` without a known account asks for every instance carrying the role tag
/// (GetResources with a TagFilter on the role key), so an instance with a `selfheal:silence` tag
/// but no role tag is never in the answer and its silence reads as absent. Reported; harmless
/// for the engine today (the role check, which fails first for such an instance, comes before
/// the silence check), but the port promises both tags.
pub const SCAN_MISSES_SILENCE_WITHOUT_ROLE: (&str, &str) = (
    "tags_are_the_instances_own",
    "TaggingRoles without an account scans by the role tag: the silence tag of an instance \
     without a role tag is never seen",
);

pub struct FakeTagKit(pub Arc<FakeTags>, std::sync::atomic::AtomicU32);

impl FakeTagKit {
    pub fn new() -> Self {
        Self(
            Arc::new(FakeTags::default()),
            std::sync::atomic::AtomicU32::new(1),
        )
    }
}

#[async_trait]
impl TagKit for FakeTagKit {
    fn tags(&self) -> Arc<dyn Tags> {
        self.0.clone()
    }
    fn role_key(&self) -> String {
        "Role".to_owned()
    }
    async fn instance(&self, tags: &[(&str, &str)]) -> InstanceId {
        let n = self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let id = format!("i-{n:08x}");
        for (k, v) in tags {
            if *k == "Role" {
                self.0.set(&id, v);
            } else if *k == SILENCE_TAG {
                self.0.silence(&id, v);
            }
        }
        InstanceId::parse(&id).expect("valid id")
    }
}

/// `TaggingRoles` on moto, with the account known (GetResources by ARN) or not (a scan
/// filtered by the role tag).
pub struct TaggingKit {
    url: String,
    role_key: String,
    roles: Arc<TaggingRoles>,
}

impl TaggingKit {
    pub fn new(url: &str, clients: &AwsClients, account: Option<&str>) -> Self {
        let role_key = harness::unique("Role");
        Self {
            url: url.to_owned(),
            roles: Arc::new(TaggingRoles::new(
                clients.tagging.clone(),
                &role_key,
                account.map(str::to_owned),
                selfheal_aws::local::REGION,
            )),
            role_key,
        }
    }
}

#[async_trait]
impl TagKit for TaggingKit {
    fn tags(&self) -> Arc<dyn Tags> {
        self.roles.clone()
    }
    fn role_key(&self) -> String {
        self.role_key.clone()
    }
    async fn instance(&self, tags: &[(&str, &str)]) -> InstanceId {
        let url = self.url.clone();
        let tags: Vec<(String, String)> = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let id = tokio::task::spawn_blocking(move || {
            let tags: Vec<(&str, &str)> =
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            selfheal_aws::local::run_instance(&url, &tags)
        })
        .await
        .expect("joined")
        .expect("instance");
        InstanceId::parse(&id).expect("valid id")
    }
}

// ---------------------------------------------------------------------------------------------
// Alarms

#[async_trait]
pub trait AlarmKit: Send + Sync {
    fn alarms(&self) -> Arc<dyn Alarms>;
    /// A metric alarm whose metric has the dimension `InstanceId = instance`, in `state`.
    async fn metric_alarm(&self, name: &str, instance: &str, state: &str);
    /// A metric-math alarm one of whose metrics has `InstanceId = instance`, in `state`.
    async fn math_alarm(&self, name: &str, instance: &str, state: &str);
    /// A composite alarm (no dimensions of its own) in `state`.
    async fn composite_alarm(&self, name: &str, state: &str);
    /// SetAlarmState.
    async fn set_state(&self, name: &str, state: &str);
}

pub type AlarmKitRef = Arc<dyn AlarmKit>;

pub fn alarm_cases() -> Vec<Case<AlarmKitRef>> {
    crate::cases![AlarmKitRef;
        an_unknown_alarm_is_none,
        a_metric_alarm_watches_its_own_instance_only,
        a_metric_math_alarm_watches_the_instances_of_its_metrics,
        a_composite_alarm_watches_no_instance,
        live_alarms_agree_with_live_alarm,
    ]
}

const A: &str = "i-0123456789abcdef0";
const B: &str = "i-0fedcba9876543210";

fn id(s: &str) -> InstanceId {
    InstanceId::parse(s).expect("valid id")
}

fn live(state: AlarmState, watches_instance: bool) -> LiveAlarm {
    LiveAlarm {
        state,
        watches_instance,
    }
}

async fn an_unknown_alarm_is_none(kit: AlarmKitRef) {
    let name = harness::unique("web:never_created");
    assert_eq!(kit.alarms().live_alarm(&name, &id(A)).await, Ok(None));
    // A name that only starts like an existing alarm's is another alarm.
    let real = harness::unique("web:disk_full");
    kit.metric_alarm(&real, A, "ALARM").await;
    let prefix = &real[..real.len() - 1];
    assert_eq!(kit.alarms().live_alarm(prefix, &id(A)).await, Ok(None));
}

/// A metric alarm with `InstanceId = A` watches A and not B; its state follows SetAlarmState.
async fn a_metric_alarm_watches_its_own_instance_only(kit: AlarmKitRef) {
    let name = harness::unique("web:nginx_down");
    kit.metric_alarm(&name, A, "ALARM").await;
    let alarms = kit.alarms();
    assert_eq!(
        alarms.live_alarm(&name, &id(A)).await,
        Ok(Some(live(AlarmState::Alarm, true)))
    );
    assert_eq!(
        alarms.live_alarm(&name, &id(B)).await,
        Ok(Some(live(AlarmState::Alarm, false)))
    );
    kit.set_state(&name, "OK").await;
    assert_eq!(
        alarms.live_alarm(&name, &id(A)).await,
        Ok(Some(live(AlarmState::Ok, true)))
    );
    kit.set_state(&name, "INSUFFICIENT_DATA").await;
    assert_eq!(
        alarms.live_alarm(&name, &id(A)).await,
        Ok(Some(live(AlarmState::InsufficientData, true)))
    );
    kit.set_state(&name, "ALARM").await;
    assert_eq!(
        alarms.live_alarm(&name, &id(A)).await,
        Ok(Some(live(AlarmState::Alarm, true)))
    );
}

async fn a_metric_math_alarm_watches_the_instances_of_its_metrics(kit: AlarmKitRef) {
    let name = harness::unique("web:cpu_math");
    kit.math_alarm(&name, A, "ALARM").await;
    let alarms = kit.alarms();
    assert_eq!(
        alarms.live_alarm(&name, &id(A)).await,
        Ok(Some(live(AlarmState::Alarm, true)))
    );
    assert_eq!(
        alarms.live_alarm(&name, &id(B)).await,
        Ok(Some(live(AlarmState::Alarm, false)))
    );
}

async fn a_composite_alarm_watches_no_instance(kit: AlarmKitRef) {
    let name = harness::unique("web:composite");
    kit.composite_alarm(&name, "ALARM").await;
    assert_eq!(
        kit.alarms().live_alarm(&name, &id(A)).await,
        Ok(Some(live(AlarmState::Alarm, false)))
    );
}

/// One batch read answers for each (alarm, instance) pair exactly what `live_alarm` answers.
async fn live_alarms_agree_with_live_alarm(kit: AlarmKitRef) {
    let metric = harness::unique("web:batch_metric");
    let math = harness::unique("web:batch_math");
    let composite = harness::unique("web:batch_composite");
    let missing = harness::unique("web:batch_missing");
    kit.metric_alarm(&metric, A, "ALARM").await;
    kit.math_alarm(&math, B, "OK").await;
    kit.composite_alarm(&composite, "ALARM").await;
    let pairs: Vec<(String, InstanceId)> = vec![
        (metric.clone(), id(A)),
        (metric.clone(), id(B)),
        (math.clone(), id(B)),
        (composite.clone(), id(A)),
        (missing.clone(), id(A)),
    ];
    let alarms = kit.alarms();
    let many = alarms.live_alarms(&pairs).await.expect("batch read");
    assert_eq!(many.len(), pairs.len());
    for (name, instance) in &pairs {
        assert_eq!(
            Ok(many[&(name.clone(), instance.clone())].clone()),
            alarms.live_alarm(name, instance).await,
            "{name} {instance}"
        );
    }
    assert_eq!(many[&(metric, id(A))], Some(live(AlarmState::Alarm, true)));
    assert_eq!(many[&(missing, id(A))], None);
}

fn state(s: &str) -> AlarmState {
    AlarmState::parse(s).expect("a state")
}

/// `FakeAlarms::default()`: no alarm exists until a test creates it. (`FakeAlarms::all_in_alarm`,
/// which `FakeWorld` uses, is a convenience with no AWS counterpart: every name is an alarm in
/// ALARM, and an alarm never bound with `watch` watches every instance. It is not held to this
/// contract.)
pub struct FakeAlarmKit(pub Arc<FakeAlarms>);

#[async_trait]
impl AlarmKit for FakeAlarmKit {
    fn alarms(&self) -> Arc<dyn Alarms> {
        self.0.clone()
    }
    async fn metric_alarm(&self, name: &str, instance: &str, s: &str) {
        self.0.set(name, Some(state(s)));
        self.0.watch(name, &[instance]);
    }
    async fn math_alarm(&self, name: &str, instance: &str, s: &str) {
        self.metric_alarm(name, instance, s).await;
    }
    async fn composite_alarm(&self, name: &str, s: &str) {
        self.0.set(name, Some(state(s)));
        self.0.watch(name, &[]);
    }
    async fn set_state(&self, name: &str, s: &str) {
        self.0.set(name, Some(state(s)));
    }
}

pub struct CloudWatchKit {
    url: String,
    clients: AwsClients,
    alarms: Arc<CloudWatchAlarms>,
}

impl CloudWatchKit {
    pub fn new(url: &str, clients: AwsClients) -> Self {
        Self {
            url: url.to_owned(),
            alarms: Arc::new(CloudWatchAlarms::new(clients.cloudwatch.clone())),
            clients,
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One AWS Query request to the emulator over plain HTTP (dummy signature); the answer's
/// status must be 200.
fn raw_query(url: &str, service: &str, body: &str) -> Result<(), String> {
    use std::io::{Read, Write};
    let hostport = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream =
        std::net::TcpStream::connect(hostport).map_err(|e| format!("emulator: {e}"))?;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20240101/{region}/{service}/aws4_request, \
         SignedHeaders=host, Signature=0\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n{body}",
        region = selfheal_aws::local::REGION,
        len = body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("emulator: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("emulator: {e}"))?;
    if response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200") {
        Ok(())
    } else {
        Err(response.chars().take(500).collect())
    }
}

#[async_trait]
impl AlarmKit for CloudWatchKit {
    fn alarms(&self) -> Arc<dyn Alarms> {
        self.alarms.clone()
    }
    async fn metric_alarm(&self, name: &str, instance: &str, state: &str) {
        selfheal_aws::local::alarm(&self.clients, name, instance, state)
            .await
            .expect("metric alarm");
    }
    async fn math_alarm(&self, name: &str, instance: &str, state: &str) {
        use aws_sdk_cloudwatch::types::{
            ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat,
        };
        let cpu = MetricDataQuery::builder()
            .id("m1")
            .return_data(false)
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace("AWS/EC2")
                            .metric_name("CPUUtilization")
                            .dimensions(
                                Dimension::builder()
                                    .name("InstanceId")
                                    .value(instance)
                                    .build(),
                            )
                            .build(),
                    )
                    .period(60)
                    .stat("Average")
                    .build(),
            )
            .build();
        let expr = MetricDataQuery::builder()
            .id("e1")
            .expression("m1 * 2")
            .label("double cpu")
            .return_data(true)
            .build();
        self.clients
            .cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .metrics(cpu)
            .metrics(expr)
            .evaluation_periods(1)
            .threshold(150.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .send()
            .await
            .expect("metric-math alarm");
        self.set_state(name, state).await;
    }
    async fn composite_alarm(&self, name: &str, state: &str) {
        // moto (5.2) has no PutCompositeAlarm (it answers 500); its PutMetricAlarm takes an
        // `AlarmRule` and stores a composite alarm, which DescribeAlarms lists as one. Sent as a
        // raw Query request because the SDK's PutMetricAlarm has no such parameter.
        let child = format!("{name}-child");
        self.metric_alarm(&child, A, "ALARM").await;
        let body = format!(
            "Action=PutMetricAlarm&Version=2010-08-01&AlarmName={}&AlarmRule={}",
            form_encode(name),
            form_encode(&format!("ALARM(\"{child}\")"))
        );
        let url = self.url.clone();
        tokio::task::spawn_blocking(move || raw_query(&url, "monitoring", &body))
            .await
            .expect("joined")
            .expect("composite alarm");
        self.set_state(name, state).await;
    }
    async fn set_state(&self, name: &str, state: &str) {
        self.clients
            .cloudwatch
            .set_alarm_state()
            .alarm_name(name)
            .state_value(aws_sdk_cloudwatch::types::StateValue::from(state))
            .state_reason("contract")
            .send()
            .await
            .expect("SetAlarmState");
    }
}

// ---------------------------------------------------------------------------------------------
// The kill switch

#[async_trait]
pub trait ModeKit: Send + Sync {
    /// Sets the parameter to `raw`, or makes it unreadable (`None`: deleted).
    async fn set(&self, raw: Option<&str>);
    /// A reader that has read nothing yet (no cached value).
    fn fresh_reader(&self) -> Arc<dyn ModeSource>;
}

pub type ModeKitRef = Arc<dyn ModeKit>;

pub fn mode_cases() -> Vec<Case<ModeKitRef>> {
    crate::cases![ModeKitRef;
        the_mode_is_the_parameter_and_anything_else_is_dry_run,
        a_changed_mode_is_seen_within_the_cache_time,
    ]
}

async fn the_mode_is_the_parameter_and_anything_else_is_dry_run(kit: ModeKitRef) {
    kit.set(None).await;
    assert_eq!(
        kit.fresh_reader().mode().await,
        GlobalMode::DryRun,
        "unreadable (no such parameter)"
    );
    for (raw, mode) in [
        ("enforce", GlobalMode::Enforce),
        ("off", GlobalMode::Off),
        ("dry-run", GlobalMode::DryRun),
        (" off\n", GlobalMode::Off),
        ("enforce", GlobalMode::Enforce),
        ("OFF", GlobalMode::DryRun),
        ("enforced", GlobalMode::DryRun),
        ("dry_run", GlobalMode::DryRun),
        ("{\"mode\":\"enforce\"}", GlobalMode::DryRun),
    ] {
        kit.set(Some(raw)).await;
        assert_eq!(kit.fresh_reader().mode().await, mode, "{raw:?}");
    }
    kit.set(None).await;
    assert_eq!(kit.fresh_reader().mode().await, GlobalMode::DryRun);
}

/// A reader sees a change within its cache time (2 s, `mode::CACHE_TTL`) plus one read (3 s of
/// slack for a loaded machine).
async fn a_changed_mode_is_seen_within_the_cache_time(kit: ModeKitRef) {
    kit.set(Some("enforce")).await;
    let reader = kit.fresh_reader();
    assert_eq!(reader.mode().await, GlobalMode::Enforce);
    kit.set(Some("off")).await;
    let changed = std::time::Instant::now();
    loop {
        if reader.mode().await == GlobalMode::Off {
            break;
        }
        assert!(
            changed.elapsed() < selfheal_aws::mode::CACHE_TTL + Duration::from_secs(3),
            "off not seen after {:?}",
            changed.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub struct FakeModeKit(pub Arc<FakeMode>);

#[async_trait]
impl ModeKit for FakeModeKit {
    async fn set(&self, raw: Option<&str>) {
        self.0.set_parameter(raw);
    }
    fn fresh_reader(&self) -> Arc<dyn ModeSource> {
        self.0.clone()
    }
}

pub struct ParameterKit {
    ssm: aws_sdk_ssm::Client,
    name: String,
}

impl ParameterKit {
    pub fn new(clients: &AwsClients) -> Self {
        Self {
            ssm: clients.ssm.clone(),
            name: harness::unique("/selfheal/contract/mode"),
        }
    }
}

#[async_trait]
impl ModeKit for ParameterKit {
    async fn set(&self, raw: Option<&str>) {
        match raw {
            Some(v) => self
                .ssm
                .put_parameter()
                .name(&self.name)
                .value(v)
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .overwrite(true)
                .send()
                .await
                .map(|_| ())
                .expect("PutParameter"),
            None => {
                let _ = self.ssm.delete_parameter().name(&self.name).send().await;
            }
        }
    }
    fn fresh_reader(&self) -> Arc<dyn ModeSource> {
        Arc::new(ParameterMode::new(self.ssm.clone(), &self.name))
    }
}
