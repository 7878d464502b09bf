//! The supply contract on every channel that deploys it (the default network's `supply` channel): the drug
//! story of `chaincode_supply::story` played by the manufacturer, the distributor and HospitalA's pharmacy
//! through their own gateways, then a third org (HospitalB) shown the public custody record but not the
//! price. A first run on a fresh ledger claims the company prefix and registers the product; later runs skip
//! those and use run-tagged serials, lots, cases and trade references. All data is synthetic.

use std::collections::BTreeMap;

use anyhow::bail;
use carechain::launcher::home::Home;
use carechain::launcher::spec::Topology;
use chaincode_supply::story::{self, Actor, Expect, Orgs, Run, Step};
use serde_json::Value;

use super::{Story, args, as_user, channels_with};

const ORGS: [&str; 3] = ["Manufacturer", "Distributor", "HospitalA"];
const THIRD: &str = "HospitalB";

/// Which org and user play `actor` in the default network (crypto-config/crypto-config.yaml).
fn player(actor: Actor) -> (&'static str, &'static str) {
    match actor {
        Actor::ManufacturerAdmin => ("Manufacturer", "Admin"),
        Actor::Manufacturer => ("Manufacturer", "User1"),
        Actor::Distributor => ("Distributor", "User1"),
        Actor::HospitalClerk => ("HospitalA", "User1"),
        Actor::Pharmacist => ("HospitalA", "pharmacist"),
        Actor::Certifier => ("Distributor", "inspector"),
    }
}

/// Runs the drug story on each channel with `supply` and the three trading orgs.
pub async fn run(t: &Topology, home: &Home, story: &mut Story) {
    for ch in channels_with(t, "supply") {
        if !ORGS.iter().all(|o| ch.orgs.iter().any(|x| x == o)) {
            println!("channel {}: supply story skipped (needs {ORGS:?})\n", ch.name);
            continue;
        }
        println!("channel {}: drug supply chain (GS1 / EPCIS)", ch.name);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let (run, registered) = match first_run(t, home, &ch.name).await {
            Ok(true) => (Run::FIRST, false),
            Ok(false) => (Run(u32::try_from(now % 9_999_999).unwrap_or(0) + 1), true),
            Err(e) => {
                story
                    .step("Read the product registry", async { Err::<String, _>(e) })
                    .await;
                continue;
            }
        };
        if registered {
            println!(
                "  (prefix and product registered by an earlier run; this is run {})",
                run.0
            );
        }
        let orgs = Orgs {
            manufacturer: "ManufacturerMSP".into(),
            distributor: "DistributorMSP".into(),
            hospital: "HospitalAMSP".into(),
        };
        let expiry = story::expiry_after(i64::try_from(now).unwrap_or_default());
        for step in story::drug_story_run(&orgs, &expiry, run) {
            if registered && story::is_registration(&step) {
                continue;
            }
            story.step(&step.title, play(t, home, &ch.name, &step)).await;
        }
        if ch.orgs.iter().any(|o| o == THIRD) {
            third_org(t, home, &ch.name, run, story).await;
        }
        println!();
    }
}

/// Whether the story's product is not registered yet on `channel` (a fresh ledger).
async fn first_run(t: &Topology, home: &Home, channel: &str) -> anyhow::Result<bool> {
    let gw = as_user(t, home, "Manufacturer", "User1").await?;
    let r = gw
        .evaluate(
            channel,
            "supply",
            &args(&["ReadProduct", &story::gtin()]),
            &BTreeMap::new(),
        )
        .await;
    match r {
        Ok(_) => Ok(false),
        Err(e) if e.to_string().contains("chaincode response 404") => Ok(true),
        Err(e) => Err(e.into()),
    }
}

/// Runs one step as its actor; `Ok` with a summary when the outcome is the expected one.
async fn play(t: &Topology, home: &Home, channel: &str, step: &Step) -> anyhow::Result<String> {
    let (org, user) = player(step.actor);
    let gw = as_user(t, home, org, user).await?;
    let call: Vec<&str> = step.args.iter().map(String::as_str).collect();
    let transient: BTreeMap<String, Vec<u8>> = step.transient.iter().cloned().collect();
    let outcome = if step.submit {
        gw.submit_transaction(channel, "supply", &args(&call), &transient)
            .await
            .map(|c| (c.result, Some(c.block)))
    } else {
        gw.evaluate(channel, "supply", &args(&call), &transient)
            .await
            .map(|r| (r, None))
    };
    match (step.expect, outcome) {
        (Expect::Ok, Ok((bytes, block))) => {
            let v: Value = serde_json::from_slice(&bytes)?;
            let who = format!("{user}@{org}");
            Ok(match block {
                Some(b) => format!("{who}: committed in block {b}; {}", summary(step, &v)),
                None => format!("{who}: {}", summary(step, &v)),
            })
        }
        (Expect::Refused(status), Err(e))
            if e.to_string().contains(&format!("chaincode response {status}")) =>
        {
            Ok(format!("refused as expected: {}", first_line(&e.to_string())))
        }
        (Expect::Refused(status), Ok(_)) => {
            bail!("expected a refusal with status {status}, but it succeeded")
        }
        (_, Err(e)) => bail!("{e}"),
    }
}

fn first_line(text: &str) -> &str {
    text.split(" (Unknown)").next().unwrap_or(text)
}

/// One line about a step's answer.
fn summary(step: &Step, v: &Value) -> String {
    let s = |key: &str| v[key].as_str().unwrap_or("-").to_string();
    match step.args.first().map(String::as_str) {
        Some("Verify") => verdict(v),
        Some("Provenance") => {
            let steps: Vec<&str> = v["eventList"]
                .as_array()
                .map(|l| l.iter().filter_map(|e| e["bizStep"].as_str()).collect())
                .unwrap_or_default();
            format!("{} EPCIS events: {}", steps.len(), steps.join(" → "))
        }
        Some("GetTrade") => format!(
            "trade document {}: unit price {} {} (in the pair's private collection)",
            v[0]["tradeDocRef"].as_str().unwrap_or("-"),
            v[0]["document"]["unitPrice"].as_str().unwrap_or("-"),
            v[0]["document"]["currency"].as_str().unwrap_or("-")
        ),
        Some("RegisterCompanyPrefix") => format!("prefix {} owned by {}", s("prefix"), s("owner")),
        Some("RegisterProduct") => format!("GTIN {} registered", s("gtin")),
        Some("CommissionPacks") => format!(
            "{} packs commissioned in lot {}, expiry {}",
            v["commissioned"],
            s("lot"),
            s("expiry")
        ),
        Some("PackCase") => format!("case (00){} holds {} packs", s("sscc"), v["packs"]),
        Some("RecallLot") => format!("lot {} recalled ({} packs)", s("lot"), v["packs"]),
        Some("ReportScan") => format!("report recorded: {}", s("reason")),
        _ => {
            let mut line = format!("EPCIS {} {} → {}", s("type"), s("bizStep"), s("disposition"));
            if let Some(flags) = v["carechain:suspect"].as_array().filter(|f| !f.is_empty()) {
                line.push_str(&format!("; suspect: {}", flags[0].as_str().unwrap_or("?")));
            }
            line
        }
    }
}

/// A verification verdict in one line.
fn verdict(v: &Value) -> String {
    let mut reasons: Vec<String> = ["reasons", "counterfeitReasons", "suspectReasons"]
        .iter()
        .flat_map(|k| v[*k].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect();
    reasons.dedup();
    let state = format!(
        "holder {}, status {}",
        v["holder"].as_str().unwrap_or("-"),
        v["status"].as_str().unwrap_or("-")
    );
    if v["verified"] == true {
        format!("VERIFIED genuine ({state})")
    } else {
        format!("NOT VERIFIED ({state}): {}", reasons.join("; "))
    }
}

/// The third org sees the shipment's public record (reference, collection) but cannot get the price.
async fn third_org(t: &Topology, home: &Home, channel: &str, run: Run, story: &mut Story) {
    let reference = run.trade_ref(1);
    story
        .step(
            &format!("{THIRD} (not a party) reads the provenance of pack 1: reference, no price"),
            async {
                let gw = as_user(t, home, THIRD, "User1").await?;
                let v = gw
                    .evaluate(
                        channel,
                        "supply",
                        &args(&["Provenance", &run.pack(1)]),
                        &BTreeMap::new(),
                    )
                    .await?;
                let text = String::from_utf8(v)?;
                if !text.contains(&reference) || text.contains(&format!("\"{}\"", story::UNIT_PRICE)) {
                    bail!("expected the reference {reference} and no price in {text}");
                }
                Ok(format!(
                    "the shipment event names {reference}; the price is not on the public ledger"
                ))
            },
        )
        .await;
    story
        .step(
            &format!("{THIRD} asks for trade document {reference}: refused"),
            async {
                let gw = as_user(t, home, THIRD, "User1").await?;
                let r = gw
                    .evaluate(
                        channel,
                        "supply",
                        &args(&["GetTrade", &reference, "ManufacturerMSP"]),
                        &BTreeMap::new(),
                    )
                    .await;
                match r {
                    Ok(v) => bail!("{THIRD} read it: {}", String::from_utf8_lossy(&v)),
                    Err(e) if e.to_string().contains("chaincode response 404") => {
                        Ok(format!("refused as expected: {}", first_line(&e.to_string())))
                    }
                    Err(e) => bail!("{e}"),
                }
            },
        )
        .await;
}
