//! The claims contract on every channel that deploys it (the default network's `care` channel): a
//! HospitalA billing clerk submits a claim to the Insurer, whose adjuster queues it, adjudicates it partially
//! and pays it while the insurer's claims system follows the chaincode events; duplicates, bad totals, a
//! clinician billing, a hospital adjudicating and outsiders reading the details are refused; the insurer
//! pages through its paid claims. Claim ids and the patient pseudonym carry the run id, so the story can
//! be replayed. All data is synthetic.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use carechain::launcher::home::Home;
use carechain::launcher::spec::Topology;
use carechain_gateway::client::{ClientError, GatewayClient};
use serde_json::{Value, json};

use super::{Story, args, as_user, channels_with};

const HOSPITAL: &str = "HospitalA";
const OTHER_HOSPITAL: &str = "HospitalB";
const INSURER: &str = "Insurer";
const INSURER_MSP: &str = "InsurerMSP";
const DATE: &str = "2024-03-04";

/// One call on one channel.
struct Claims<'a> {
    t: &'a Topology,
    home: &'a Home,
    channel: &'a str,
}

impl Claims<'_> {
    async fn user(&self, org: &str, user: &str) -> anyhow::Result<GatewayClient> {
        as_user(self.t, self.home, org, user).await
    }

    async fn submit(
        &self,
        org: &str,
        user: &str,
        call: &[&str],
        transient: &BTreeMap<String, Vec<u8>>,
    ) -> anyhow::Result<(Value, u64)> {
        let gw = self.user(org, user).await?;
        let c = gw
            .submit_transaction(self.channel, "claims", &args(call), transient)
            .await?;
        Ok((serde_json::from_slice(&c.result)?, c.block))
    }

    async fn evaluate(&self, org: &str, user: &str, call: &[&str]) -> Result<Value, anyhow::Error> {
        let gw = self.user(org, user).await?;
        let v = gw
            .evaluate(self.channel, "claims", &args(call), &BTreeMap::new())
            .await?;
        Ok(serde_json::from_slice(&v)?)
    }
}

/// `Ok(message)` when `result` is a refusal whose message contains `expected`, an error otherwise.
fn refusal<T: std::fmt::Debug>(result: Result<T, ClientError>, expected: &str) -> anyhow::Result<String> {
    match result {
        Ok(v) => bail!("expected a refusal, but it succeeded: {v:?}"),
        Err(ClientError::Status(s)) if s.message().contains(expected) => {
            Ok(format!("refused as expected: {}", s.message()))
        }
        Err(e) => bail!("refused, but not with {expected:?}: {e}"),
    }
}

/// A JSON string's text ("?" when it is not a string).
fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("?")
}

fn transient(name: &str, value: &Value) -> BTreeMap<String, Vec<u8>> {
    BTreeMap::from([(name.to_string(), value.to_string().into_bytes())])
}

fn item(seq: u32, code: &str, quantity: u32, unit: &str, net: &str) -> Value {
    json!({
        "sequence": seq,
        "diagnosisSequence": [1],
        "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": code}]},
        "servicedDate": DATE,
        "quantity": {"value": quantity},
        "unitPrice": {"value": unit, "currency": "USD"},
        "net": {"value": net, "currency": "USD"}
    })
}

/// Two items: 2 × 617.28 + 765.44 = 2000.00 USD, a synthetic pneumonia admission.
fn claim_details(total: &str) -> Value {
    json!({
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J18.9"}]}}],
        "item": [item(1, "99223", 2, "617.28", "1234.56"), item(2, "71046", 1, "765.44", "765.44")],
        "total": {"value": total, "currency": "USD"}
    })
}

fn partial_adjudication() -> Value {
    let cat = |code: &str| json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/adjudication", "code": code}]});
    json!({
        "outcome": "partial",
        "disposition": "Item 2 pended for documentation (synthetic)",
        "item": [{"itemSequence": 1, "adjudication": [
            {"category": cat("submitted"), "amount": {"value": "1234.56", "currency": "USD"}},
            {"category": cat("benefit"), "amount": {"value": "987.65", "currency": "USD"}}
        ]}]
    })
}

/// Runs the claims story on each channel with `claims` and the three orgs it needs.
pub async fn run(t: &Topology, home: &Home, story: &mut Story) {
    for ch in channels_with(t, "claims") {
        if ![HOSPITAL, INSURER].iter().all(|o| ch.orgs.iter().any(|x| x == o)) {
            println!(
                "channel {}: claims story skipped (needs {HOSPITAL} and {INSURER})\n",
                ch.name
            );
            continue;
        }
        println!(
            "channel {}: insurance claims (FHIR Claim / ClaimResponse)",
            ch.name
        );
        let c = Claims {
            t,
            home,
            channel: &ch.name,
        };
        let run_id = story.run_id.clone();
        let follower = follow_events(&c, &format!("CLM-{run_id}-1")).await;
        lifecycle(&c, story, &run_id).await;
        refusals(&c, story, &run_id, ch.orgs.iter().any(|o| o == OTHER_HOSPITAL)).await;
        payment_and_queries(&c, story, &run_id).await;
        story
            .step(
                "The insurer's claims system followed every transition on its event stream",
                async {
                    let seen = match follower {
                        Ok(handle) => tokio::time::timeout(Duration::from_secs(60), handle)
                            .await
                            .context("no events within 60 s")???,
                        Err(e) => return Err(e),
                    };
                    let want = ["ClaimSubmitted", "ClaimQueued", "ClaimAdjudicated", "ClaimPaid"];
                    if seen.iter().map(|(_, n)| n.as_str()).ne(want) {
                        bail!("events {seen:?}, expected {want:?}");
                    }
                    let trail: Vec<String> = seen.iter().map(|(b, n)| format!("{n} (block {b})")).collect();
                    Ok(trail.join(" → "))
                },
            )
            .await;
        println!();
    }
}

/// The insurer's claims system: a ChaincodeEvents stream from the next commit, collecting the events of
/// `claim` until it is paid.
async fn follow_events(
    c: &Claims<'_>,
    claim: &str,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<Vec<(u64, String)>>>> {
    let gw = c.user(INSURER, "adjuster").await?;
    let mut stream = gw.chaincode_events(c.channel, "claims", None, None).await?;
    let claim = claim.to_string();
    Ok(tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(resp) = stream.message().await? {
            for e in resp.events {
                let record: Value = serde_json::from_slice(&e.payload)?;
                if record["id"] == claim.as_str() {
                    seen.push((resp.block_number, e.event_name.clone()));
                    if e.event_name == "ClaimPaid" {
                        return Ok(seen);
                    }
                }
            }
        }
        bail!("event stream ended after {seen:?}")
    }))
}

async fn lifecycle(c: &Claims<'_>, story: &mut Story, run: &str) {
    let (patient, coverage, claim) = (
        format!("SYN-PSEUDO-{run}"),
        format!("COV-{run}"),
        format!("CLM-{run}-1"),
    );
    story
        .step(
            &format!("{INSURER} registers 2024 coverage {coverage} for patient {patient}"),
            async {
                let call = [
                    "RegisterCoverage",
                    &coverage,
                    &patient,
                    "2024-01-01",
                    "2024-12-31",
                ];
                let (v, block) = c.submit(INSURER, "claims", &call, &BTreeMap::new()).await?;
                Ok(format!(
                    "coverage {} {}, block {block}",
                    text(&v["id"]),
                    text(&v["status"])
                ))
            },
        )
        .await;
    story
        .step(&format!("{HOSPITAL} billing submits claim {claim}: 2 items, 2000.00 USD"), async {
            let call = ["SubmitClaim", &claim, INSURER_MSP, &coverage, &patient];
            let (v, block) = c
                .submit(HOSPITAL, "billing", &call, &transient("claim", &claim_details("2000.00")))
                .await?;
            if v["status"] != "submitted" {
                bail!("unexpected record {v}");
            }
            Ok(format!("status submitted in block {block}; diagnosis and amounts went to collection claims_HospitalAMSP_InsurerMSP only"))
        })
        .await;
    story
        .step(&format!("{INSURER} adjuster queues {claim}"), async {
            let (v, _) = c
                .submit(INSURER, "adjuster", &["QueueClaim", &claim], &BTreeMap::new())
                .await?;
            Ok(format!("status {}", text(&v["status"])))
        })
        .await;
}

async fn refusals(c: &Claims<'_>, story: &mut Story, run: &str, other_hospital: bool) {
    let (patient, coverage, claim) = (
        format!("SYN-PSEUDO-{run}"),
        format!("COV-{run}"),
        format!("CLM-{run}-1"),
    );
    let submit = |id: String, who: &'static str, doc: Value| {
        let (patient, coverage) = (patient.clone(), coverage.clone());
        async move {
            let gw = c.user(HOSPITAL, who).await?;
            let call = ["SubmitClaim", &id, INSURER_MSP, &coverage, &patient];
            Ok::<_, anyhow::Error>(
                gw.submit_transaction(c.channel, "claims", &args(&call), &transient("claim", &doc))
                    .await,
            )
        }
    };
    story
        .step(
            "The same services billed again as another claim: refused",
            async {
                refusal(
                    submit(format!("CLM-{run}-2"), "billing", claim_details("2000.00")).await?,
                    "duplicate of claim",
                )
            },
        )
        .await;
    story
        .step(
            "A claim whose total is not the sum of its items: refused",
            async {
                refusal(
                    submit(format!("CLM-{run}-3"), "billing", claim_details("2000.01")).await?,
                    "does not equal the sum of item nets",
                )
            },
        )
        .await;
    story
        .step(
            &format!("{HOSPITAL} physician drsmith submits a claim: refused"),
            async {
                refusal(
                    submit(format!("CLM-{run}-4"), "drsmith", claim_details("2000.00")).await?,
                    "role=billing",
                )
            },
        )
        .await;
    story
        .step(
            &format!("{HOSPITAL} billing tries to adjudicate {claim}: refused"),
            async {
                let gw = c.user(HOSPITAL, "billing").await?;
                let call = ["AdjudicateClaim", claim.as_str()];
                refusal(
                    gw.submit_transaction(
                        c.channel,
                        "claims",
                        &args(&call),
                        &transient("adjudication", &partial_adjudication()),
                    )
                    .await,
                    "role=insurer or role=claims_adjuster",
                )
            },
        )
        .await;
    if other_hospital {
        story
            .step(
                &format!("{OTHER_HOSPITAL} billing reads the details of {claim}: refused"),
                async {
                    let gw = c.user(OTHER_HOSPITAL, "billing").await?;
                    let r = gw
                        .evaluate(
                            c.channel,
                            "claims",
                            &args(&["ReadClaimDetails", &claim]),
                            &BTreeMap::new(),
                        )
                        .await;
                    refusal(r, "shared only by HospitalAMSP and InsurerMSP")
                },
            )
            .await;
    }
}

async fn payment_and_queries(c: &Claims<'_>, story: &mut Story, run: &str) {
    let claim = format!("CLM-{run}-1");
    story
        .step(
            &format!("{INSURER} adjuster adjudicates {claim} partially"),
            async {
                let t = transient("adjudication", &partial_adjudication());
                let (v, _) = c
                    .submit(INSURER, "adjuster", &["AdjudicateClaim", &claim], &t)
                    .await?;
                Ok(format!(
                    "status {}, outcome {}",
                    text(&v["status"]),
                    text(&v["outcome"])
                ))
            },
        )
        .await;
    story
        .step(&format!("{INSURER} adjuster pays {claim}"), async {
            let t = transient(
                "payment",
                &json!({"identifier": {"value": format!("SYN-EFT-{run}")}}),
            );
            let (v, _) = c.submit(INSURER, "adjuster", &["PayClaim", &claim], &t).await?;
            Ok(format!("status {}", text(&v["status"])))
        })
        .await;
    story
        .step(
            &format!("{HOSPITAL} billing reads the ClaimResponse through its own peer"),
            async {
                let v = c
                    .evaluate(HOSPITAL, "billing", &["ReadClaimDetails", &claim])
                    .await?;
                let r = &v["claimResponse"];
                if r["payment"]["amount"]["value"] != "987.65" {
                    bail!("unexpected ClaimResponse {r}");
                }
                Ok(format!(
                    "outcome {}, submitted {} USD, benefit {} USD, paid {} USD",
                    text(&r["outcome"]),
                    text(&r["total"][0]["amount"]["value"]),
                    text(&r["total"][1]["amount"]["value"]),
                    text(&r["payment"]["amount"]["value"])
                ))
            },
        )
        .await;
    story
        .step(
            &format!("{INSURER} pages through its paid claims (5 per page, bookmarks)"),
            async {
                let (mut bookmark, mut pages, mut found, mut total) = (String::new(), 0, false, 0);
                loop {
                    let page = c
                        .evaluate(
                            INSURER,
                            "adjuster",
                            &["QueryClaims", r#"{"status":"paid"}"#, "5", &bookmark],
                        )
                        .await?;
                    pages += 1;
                    let claims = page["claims"].as_array().context("no claims array")?;
                    total += claims.len();
                    found |= claims.iter().any(|r| r["id"] == claim.as_str());
                    bookmark = page["bookmark"].as_str().unwrap_or_default().to_string();
                    if bookmark.is_empty() {
                        break;
                    }
                }
                if !found {
                    bail!("{claim} is not among {total} paid claims");
                }
                Ok(format!(
                    "{total} paid claim(s) in {pages} page(s), {claim} among them"
                ))
            },
        )
        .await;
}
