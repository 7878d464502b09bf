//! The healthcare records story (`chaincode_records::story`) on every channel that deploys `records`:
//! hospital A registers a synthetic patient; a doctor of hospital B is denied, then allowed after the
//! patient's consent and reads the record; administrators, an insurer and an analyst are denied; a consent
//! whose period ended and a revoked one deny; the patient reviews every access; a lab report stays
//! preliminary until both signatures; the patient erases their data.
//!
//! Each step runs as the enrolled user the story names, endorsed on (or evaluated at) the orgs the step
//! names, and is checked against its promised outcome: a denial must be a committed transaction with
//! `"decision": "deny"`, a refusal must carry the expected chaincode status, a submit must set the
//! promised event. After a submit the demo waits until every peer of the channel has committed it, so
//! the next step may run anywhere. The pseudonym, ids and salts derive from the run id, so the story can
//! be replayed on the same network.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use carechain::launcher::home::Home;
use carechain::launcher::spec::{ChannelSpec, Topology};
use carechain_crypto::msp::SigningIdentity;
use carechain_gateway::client::{ClientError, GatewayClient};
use carechain_proto::common::{Envelope, Payload};
use carechain_proto::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEvent, ProposalResponsePayload, Transaction,
    TxValidationCode,
};
use carechain_transport::ClientTls;
use chaincode_records::story::{self, Actor, Expect, Orgs, People, Step};
use prost::Message;
use serde_json::Value;

use super::{Story, channels_with};

const CC: &str = chaincode_records::CHAINCODE_NAME;
/// How long a submit may take to commit on every peer.
const COMMIT_WAIT: Duration = Duration::from_secs(60);

/// The enrolled user (org, name) behind each actor (`crypto-config/crypto-config.yaml`).
fn user_of(actor: Actor) -> (&'static str, &'static str) {
    match actor {
        Actor::DoctorA => ("HospitalA", "drsmith"),
        Actor::DoctorB => ("HospitalB", "drpatel"),
        Actor::NurseB => ("HospitalB", "nurse.garcia"),
        Actor::Patient => ("HospitalA", "patient0001"),
        Actor::HospitalAAdmin => ("HospitalA", "Admin"),
        Actor::NetworkAdmin => ("Insurer", "Admin"),
        Actor::Insurer => ("Insurer", "claims"),
        Actor::Analyst => ("Research", "analyst1"),
        Actor::LabAdmin => ("Lab", "labadmin"),
        Actor::ComplianceB => ("HospitalB", "compliance"),
    }
}

/// The orgs the story needs on the channel.
const NEEDED: [&str; 5] = ["HospitalA", "HospitalB", "Lab", "Insurer", "Research"];

/// Runs the records story on each channel with `records` and the story's orgs.
pub async fn run(t: &Topology, home: &Home, story: &mut Story) {
    for ch in channels_with(t, CC) {
        println!("channel {}: the healthcare records contract", ch.name);
        if let Some(missing) = NEEDED.iter().find(|o| !ch.orgs.iter().any(|c| c == *o)) {
            println!("  (skipped: the story needs {missing} on the channel)\n");
            continue;
        }
        let demo = Demo { t, home, ch };
        let steps = match demo.steps(&story.run_id) {
            Ok(s) => s,
            Err(e) => {
                story.step("prepare the records story", async { Err(e) }).await;
                continue;
            }
        };
        let mut vars = BTreeMap::new();
        let mut accesses = 0;
        for step in &steps {
            let title = step.title.clone();
            story
                .step(&title, demo.run_step(step, &mut vars, &mut accesses))
                .await;
        }
        println!();
    }
}

/// One channel of one network.
struct Demo<'a> {
    t: &'a Topology,
    home: &'a Home,
    ch: &'a ChannelSpec,
}

impl Demo<'_> {
    fn msp(&self, org: &str) -> anyhow::Result<String> {
        Ok(self
            .t
            .org(org)
            .with_context(|| format!("no organization {org}"))?
            .msp_id
            .clone())
    }

    fn signer(&self, org: &str, user: &str) -> anyhow::Result<SigningIdentity> {
        let o = self
            .t
            .org(org)
            .with_context(|| format!("no organization {org}"))?;
        SigningIdentity::load(&o.user_msp(&self.home.crypto(), user), o.msp_id.clone())
            .with_context(|| format!("identity {user}@{}", o.domain))
    }

    /// The certificate id a contract sees (`Caller::id`: hex SHA-256 of the certificate DER).
    fn cert_id(&self, org: &str, user: &str) -> anyhow::Result<String> {
        Ok(hex::encode(carechain_crypto::sha256(
            self.signer(org, user)?.certificate_der(),
        )))
    }

    fn steps(&self, seed: &str) -> anyhow::Result<Vec<Step>> {
        let orgs = Orgs {
            hospital_a: self.msp("HospitalA")?,
            hospital_b: self.msp("HospitalB")?,
            lab: self.msp("Lab")?,
            research: self.msp("Research")?,
        };
        let people = People {
            patient: self.cert_id("HospitalA", "patient0001")?,
            doctor_b: self.cert_id("HospitalB", "drpatel")?,
        };
        Ok(story::records_story(&orgs, &people, seed))
    }

    /// `user` of `org` connected to the first peer of `peer_org`.
    async fn client(&self, org: &str, user: &str, peer_org: &str) -> anyhow::Result<GatewayClient> {
        let o = self
            .t
            .org(peer_org)
            .with_context(|| format!("no organization {peer_org}"))?;
        let n = self
            .t
            .peers_of(peer_org)
            .next()
            .with_context(|| format!("{peer_org} has no peer"))?;
        let tls = ClientTls {
            ca_pem: std::fs::read(o.tls_ca(&self.home.crypto()))?,
            identity: None,
            server_name: Some(n.name.clone()),
            max_message_bytes: 100 * 1024 * 1024,
        };
        let signer = Arc::new(self.signer(org, user)?);
        Ok(GatewayClient::connect(&self.t.address(n), &tls, signer).await?)
    }

    async fn run_step(
        &self,
        step: &Step,
        vars: &mut BTreeMap<String, String>,
        accesses: &mut usize,
    ) -> anyhow::Result<String> {
        let (org, user) = user_of(step.actor);
        let gw = self.client(org, user, org).await?;
        let args: Vec<Vec<u8>> = story::fill(&step.args, vars)
            .into_iter()
            .map(String::into_bytes)
            .collect();
        let transient: BTreeMap<String, Vec<u8>> = step.transient.iter().cloned().collect();
        let who = format!("{user}@{org}");
        let result = if step.submit {
            self.submit(&gw, &args, &transient, step, org, user).await
        } else {
            gw.evaluate_on(&self.ch.name, CC, &args, &transient, &step.orgs)
                .await
                .map(|r| (r, String::new()))
        };
        let summary = check(step, result, accesses)?;
        if let (Some(v), Some((var, field))) = (&summary.1, &step.capture) {
            let value = v[field.as_str()]
                .as_str()
                .with_context(|| format!("the response has no {field}"))?;
            vars.insert(var.clone(), value.to_string());
        }
        Ok(format!("{who}: {}", summary.0))
    }

    /// Endorses on the step's orgs, submits, checks the commit and the event, and waits until every peer
    /// of the channel has committed the transaction. Returns the result and a note on the commit.
    async fn submit(
        &self,
        gw: &GatewayClient,
        args: &[Vec<u8>],
        transient: &BTreeMap<String, Vec<u8>>,
        step: &Step,
        org: &str,
        user: &str,
    ) -> Result<(Vec<u8>, String), ClientError> {
        let channel = &self.ch.name;
        let p = gw.proposal(channel, CC, args, transient);
        let prepared = gw.endorse(channel, &p, &step.orgs).await?;
        let event = event_of(&prepared.envelope).map(|e| e.event_name);
        gw.submit(&prepared).await?;
        let (code, block) = gw.commit_status(channel, &prepared.tx_id).await?;
        if code != TxValidationCode::Valid {
            return Err(ClientError::Commit {
                tx_id: prepared.tx_id,
                code,
                block,
            });
        }
        if let Some(want) = &step.event
            && event.as_deref() != Some(want.as_str())
        {
            let got = event.unwrap_or_else(|| "no event".into());
            return Err(ClientError::Malformed(format!("event {got}, expected {want}")));
        }
        for peer_org in &self.ch.orgs {
            let waited = async {
                let c = self.client(org, user, peer_org).await?;
                tokio::time::timeout(COMMIT_WAIT, c.commit_status(channel, &prepared.tx_id))
                    .await
                    .context("timed out")??;
                anyhow::Ok(())
            };
            waited
                .await
                .map_err(|e| ClientError::Malformed(format!("{peer_org}'s peer did not commit it: {e:#}")))?;
        }
        let note = format!(
            "block {block}{}",
            event.map(|e| format!(", event {e}")).unwrap_or_default()
        );
        Ok((prepared.result, note))
    }
}

/// Checks a step's result against its promise; returns a one-line summary and the JSON answer.
fn check(
    step: &Step,
    result: Result<(Vec<u8>, String), ClientError>,
    accesses: &mut usize,
) -> anyhow::Result<(String, Option<Value>)> {
    let function = step.args.first().map(String::as_str).unwrap_or_default();
    match (step.expect, result) {
        (Expect::Refused(status), Err(e)) => {
            let got = chaincode_status(&e);
            if got != Some(status) {
                bail!("expected a refusal with status {status}, got: {e}");
            }
            Ok((format!("refused as expected ({status}): {}", short(&e)), None))
        }
        (Expect::Refused(status), Ok(_)) => {
            bail!("expected a refusal with status {status}, but it succeeded")
        }
        (_, Err(e)) => Err(e.into()),
        (expect, Ok((payload, note))) => {
            let v: Value = serde_json::from_slice(&payload).context("the response is not JSON")?;
            if function == "RequestAccess" {
                *accesses += 1;
                let want = if expect == Expect::Denied {
                    "deny"
                } else {
                    "permit"
                };
                if v["decision"] != want {
                    bail!("decision {}, expected {want}: {}", v["decision"], v["reason"]);
                }
            }
            let what = describe(function, &v, *accesses)?;
            let sep = if note.is_empty() { "" } else { "; " };
            Ok((format!("{what}{sep}{note}"), Some(v)))
        }
    }
}

/// What an answer shows, checking what the story promises about it.
fn describe(function: &str, v: &Value, accesses: usize) -> anyhow::Result<String> {
    let s = |x: &Value| x.as_str().unwrap_or("?").to_string();
    Ok(match function {
        "RequestAccess" => format!(
            "{} (AuditEvent outcome {}): {}",
            s(&v["decision"]),
            s(&v["outcome"]),
            s(&v["reason"])
        ),
        "ReadRecord" => {
            if v["hash"] != v["record"]["hash"] {
                bail!("the content does not match the record's public hash");
            }
            format!(
                "{} read under grant {}…, matching its public hash: {}",
                s(&v["resource"]["resourceType"]),
                s(&v["grant"]).chars().take(12).collect::<String>(),
                s(&v["resource"]["valueString"])
            )
        }
        "ListAccesses" => {
            let list = v["accesses"].as_array().context("no access list")?;
            if list.len() != accesses {
                bail!("{} accesses listed, {accesses} requested", list.len());
            }
            let outcomes: Vec<String> = list.iter().map(|a| s(&a["outcome"])).collect();
            format!("{} accesses, outcomes {}", list.len(), outcomes.join(" "))
        }
        "ListAccessesByOrg" => format!(
            "{} accesses by {}",
            v["accesses"].as_array().map_or(0, Vec::len),
            s(&v["organization"])
        ),
        "ConsentHistory" => format!("{} versions", v.as_array().map_or(0, Vec::len)),
        "RecordInfo" => {
            let lab = &v["labReport"];
            let signatures = lab["provenance"]["signature"].as_array().map_or(0, Vec::len);
            let status = s(&lab["status"]);
            if (signatures == 2) != (status == "final") {
                bail!("{status} with {signatures} signature(s)");
            }
            format!("lab report {status}, {signatures} signature(s)")
        }
        "ReadPatient" => format!(
            "registration {}, {} certificate commitment(s)",
            s(&v["status"]),
            v["controllers"].as_array().map_or(0, Vec::len)
        ),
        _ => "committed".to_string(),
    })
}

/// The chaincode status of a refusal (`chaincode response 403, …`).
fn chaincode_status(e: &ClientError) -> Option<i32> {
    let text = e.to_string();
    let rest = &text[text.find("chaincode response ")? + "chaincode response ".len()..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// The refusal's message without the gateway's framing.
fn short(e: &ClientError) -> String {
    let text = e.to_string();
    let start = text.find("chaincode response ").unwrap_or(0);
    let end = text[start..].find(" (Unknown)").map_or(text.len(), |i| start + i);
    text[start..end].to_string()
}

/// The chaincode event inside a prepared transaction.
fn event_of(env: &Envelope) -> Option<ChaincodeEvent> {
    let payload = Payload::decode(env.payload.as_ref()).ok()?;
    let tx = Transaction::decode(payload.data.as_ref()).ok()?;
    let cap = ChaincodeActionPayload::decode(tx.actions.first()?.payload.as_ref()).ok()?;
    let prp = ProposalResponsePayload::decode(cap.action?.proposal_response_payload.as_ref()).ok()?;
    let action = ChaincodeAction::decode(prp.extension.as_ref()).ok()?;
    let event = ChaincodeEvent::decode(action.events.as_ref()).ok()?;
    (!event.event_name.is_empty()).then_some(event)
}
