//! Wire compatibility of `carechain-proto` with Hyperledger Fabric's own generated protobuf code.
//!
//! Every gateway client, peer and orderer that talks to carechain encodes with Fabric's `.proto` files, so a
//! field number, wire type, enum number or oneof member that differs in ours would silently corrupt
//! proposals, blocks or gateway replies. This test proves, for every message carechain exchanges
//! (Envelope/Payload/headers, Block and its metadata, proposals and proposal responses, transactions,
//! read/write sets, orderer and peer Deliver, every gateway message, `google.rpc.Status` carrying an
//! `ErrorDetail`), that:
//!
//! 1. bytes encoded by the npm package `@hyperledger/fabric-protos` (0.3.7) decode with our types to exactly
//!    the field values written in `tests/interop/protos/fixtures.json`, and our types keep every byte of
//!    them (prost, like google-protobuf, drops fields it does not know);
//! 2. bytes encoded by our types decode in fabric-protos, read field by field through its generated getters,
//!    to the same fixture values, again with no byte dropped;
//! 3. for messages without maps (both encoders are then canonical) our bytes equal fabric-protos' bytes.
//!
//! The Fabric side is `tests/interop/protos/compat.js`; it needs `npm ci --prefix tests/interop/protos`.
//! Two negative controls (a corrupted field tag fed to each side) prove that a mismatch fails the test.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use carechain_proto::prost_types::{Any, Timestamp};
use carechain_proto::{ERROR_DETAIL_TYPE_URL, common, gateway, google, kvrwset, msp, orderer, protos, rwset};
use prost::Message;
use prost::bytes::Bytes;
use serde_json::{Map, Value};

/// The fabric-protos release the fixture and `compat.js` were written against.
const FABRIC_PROTOS_VERSION: &str = "0.3.7";

/// Messages the Foundation issue requires to be covered as top-level fixture cases.
const REQUIRED_TYPES: &[&str] = &[
    "common.Envelope",
    "common.Payload",
    "common.Header",
    "common.ChannelHeader",
    "common.SignatureHeader",
    "common.Block",
    "common.Metadata",
    "common.MetadataSignature",
    "msp.SerializedIdentity",
    "protos.SignedProposal",
    "protos.Proposal",
    "protos.ChaincodeHeaderExtension",
    "protos.ChaincodeProposalPayload",
    "protos.ChaincodeInvocationSpec",
    "protos.ChaincodeSpec",
    "protos.ChaincodeInput",
    "protos.ChaincodeAction",
    "protos.ProposalResponse",
    "protos.ProposalResponsePayload",
    "protos.Response",
    "protos.Endorsement",
    "protos.Transaction",
    "protos.TransactionAction",
    "protos.ChaincodeActionPayload",
    "protos.ChaincodeEndorsedAction",
    "protos.ChaincodeEvent",
    "protos.DeliverResponse",
    "rwset.TxReadWriteSet",
    "rwset.NsReadWriteSet",
    "rwset.CollectionHashedReadWriteSet",
    "kvrwset.KVRWSet",
    "orderer.SeekInfo",
    "orderer.SeekPosition",
    "orderer.BroadcastResponse",
    "orderer.DeliverResponse",
    "gateway.EndorseRequest",
    "gateway.EndorseResponse",
    "gateway.SubmitRequest",
    "gateway.SubmitResponse",
    "gateway.SignedCommitStatusRequest",
    "gateway.CommitStatusRequest",
    "gateway.CommitStatusResponse",
    "gateway.EvaluateRequest",
    "gateway.EvaluateResponse",
    "gateway.SignedChaincodeEventsRequest",
    "gateway.ChaincodeEventsRequest",
    "gateway.ChaincodeEventsResponse",
    "gateway.ErrorDetail",
    "google.rpc.Status",
];

// ---- fixture <-> Rust values ------------------------------------------------------------------------------

/// A field value of a generated message with a JSON form in `fixtures.json`.
trait Fixture: Sized {
    fn from_fixture(v: &Value, at: &str) -> Self;
    fn to_fixture(&self) -> Value;
}

/// A generated oneof enum; in the fixture its one set member appears as an ordinary field.
trait FixtureOneof: Sized {
    const MEMBERS: &'static [&'static str];
    fn from_member(member: &str, v: &Value, at: &str) -> Self;
    fn to_member(&self) -> (&'static str, Value);
}

impl Fixture for String {
    fn from_fixture(v: &Value, at: &str) -> Self {
        v.as_str()
            .unwrap_or_else(|| panic!("{at}: fixture must be a JSON string"))
            .to_owned()
    }
    fn to_fixture(&self) -> Value {
        Value::from(self.as_str())
    }
}

impl Fixture for Bytes {
    fn from_fixture(v: &Value, at: &str) -> Self {
        let hex = v
            .as_str()
            .unwrap_or_else(|| panic!("{at}: bytes must be a hex string"));
        Bytes::from(hex::decode(hex).unwrap_or_else(|e| panic!("{at}: bad hex {hex:?}: {e}")))
    }
    fn to_fixture(&self) -> Value {
        Value::from(hex::encode(self))
    }
}

impl Fixture for bool {
    fn from_fixture(v: &Value, at: &str) -> Self {
        v.as_bool()
            .unwrap_or_else(|| panic!("{at}: fixture must be a JSON boolean"))
    }
    fn to_fixture(&self) -> Value {
        Value::from(*self)
    }
}

macro_rules! integer_fixture {
    ($($t:ty),*) => {$(
        impl Fixture for $t {
            fn from_fixture(v: &Value, at: &str) -> Self {
                let n = v.as_i64().map(i128::from).or_else(|| v.as_u64().map(i128::from));
                n.and_then(|n| <$t>::try_from(n).ok())
                    .unwrap_or_else(|| panic!("{at}: fixture must be a {} number, got {v}", stringify!($t)))
            }
            fn to_fixture(&self) -> Value {
                Value::from(*self)
            }
        }
    )*};
}
integer_fixture!(i32, u32, i64, u64);

impl<T: Fixture> Fixture for Vec<T> {
    fn from_fixture(v: &Value, at: &str) -> Self {
        let items = v
            .as_array()
            .unwrap_or_else(|| panic!("{at}: repeated field must be a JSON array"));
        items
            .iter()
            .enumerate()
            .map(|(i, x)| T::from_fixture(x, &format!("{at}[{i}]")))
            .collect()
    }
    fn to_fixture(&self) -> Value {
        Value::Array(self.iter().map(Fixture::to_fixture).collect())
    }
}

/// A singular message field: present in every fixture, so always `Some` when built.
impl<T: Fixture> Fixture for Option<T> {
    fn from_fixture(v: &Value, at: &str) -> Self {
        Some(T::from_fixture(v, at))
    }
    fn to_fixture(&self) -> Value {
        self.as_ref().map_or(Value::Null, Fixture::to_fixture)
    }
}

/// Map keys are JSON object keys, so always strings in the fixture.
trait MapKey: Sized + std::hash::Hash + Eq {
    fn parse(key: &str, at: &str) -> Self;
    fn render(&self) -> String;
}
impl MapKey for String {
    fn parse(key: &str, _at: &str) -> Self {
        key.to_owned()
    }
    fn render(&self) -> String {
        self.clone()
    }
}
impl MapKey for u64 {
    fn parse(key: &str, at: &str) -> Self {
        key.parse()
            .unwrap_or_else(|e| panic!("{at}: map key {key:?} is not a uint64: {e}"))
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

impl<K: MapKey, V: Fixture> Fixture for HashMap<K, V> {
    fn from_fixture(v: &Value, at: &str) -> Self {
        let obj = v
            .as_object()
            .unwrap_or_else(|| panic!("{at}: map field must be a JSON object"));
        obj.iter()
            .map(|(k, x)| (K::parse(k, at), V::from_fixture(x, &format!("{at}[{k}]"))))
            .collect()
    }
    fn to_fixture(&self) -> Value {
        Value::Object(self.iter().map(|(k, x)| (k.render(), x.to_fixture())).collect())
    }
}

/// `google.protobuf.Any`: the fixture writes the packed message as its own fixture object.
impl Fixture for Any {
    fn from_fixture(v: &Value, at: &str) -> Self {
        let mut obj = FixtureObject::new(v, at, "google.protobuf.Any");
        let type_url: String = obj.take("type_url");
        assert_eq!(
            type_url, ERROR_DETAIL_TYPE_URL,
            "{at}: the fixture packs only gateway.ErrorDetail into Any"
        );
        let detail: gateway::ErrorDetail = obj.take("value");
        obj.finish();
        Any {
            type_url,
            value: detail.encode_to_vec(),
        }
    }
    fn to_fixture(&self) -> Value {
        let value = match gateway::ErrorDetail::decode(self.value.as_slice()) {
            Ok(detail) if self.type_url == ERROR_DETAIL_TYPE_URL => detail.to_fixture(),
            _ => Value::from(hex::encode(&self.value)),
        };
        serde_json::json!({ "type_url": self.type_url, "value": value })
    }
}

/// One fixture object being turned into a message: hands out fields and insists all were used.
struct FixtureObject<'a> {
    map: &'a Map<String, Value>,
    at: String,
    type_name: &'static str,
    used: Vec<String>,
}

impl<'a> FixtureObject<'a> {
    fn new(v: &'a Value, at: &str, type_name: &'static str) -> Self {
        let map = v
            .as_object()
            .unwrap_or_else(|| panic!("{at}: fixture for {type_name} must be a JSON object"));
        Self {
            map,
            at: at.to_owned(),
            type_name,
            used: Vec::new(),
        }
    }

    fn field(&mut self, key: &str) -> (&'a Value, String) {
        let v = self.map.get(key).unwrap_or_else(|| {
            panic!(
                "{}: fixture leaves {}.{key} unset; every field must be populated",
                self.at, self.type_name
            )
        });
        self.used.push(key.to_owned());
        (v, format!("{}.{key}", self.at))
    }

    fn take<T: Fixture>(&mut self, key: &str) -> T {
        let (v, at) = self.field(key);
        T::from_fixture(v, &at)
    }

    fn take_enum(&mut self, key: &str, from_name: impl Fn(&str) -> Option<i32>) -> i32 {
        let (v, at) = self.field(key);
        let name = String::from_fixture(v, &at);
        from_name(&name).unwrap_or_else(|| panic!("{at}: carechain's enum has no value named {name}"))
    }

    fn take_oneof<E: FixtureOneof>(&mut self) -> Option<E> {
        let set: Vec<&str> = E::MEMBERS
            .iter()
            .copied()
            .filter(|m| self.map.contains_key(*m))
            .collect();
        let [member] = set.as_slice() else {
            panic!(
                "{}: a oneof of {} must have exactly one of {:?} set, has {set:?}",
                self.at,
                self.type_name,
                E::MEMBERS
            );
        };
        let (v, at) = self.field(member);
        Some(E::from_member(member, v, &at))
    }

    /// A fixture key no field consumed is a field Fabric has and carechain's type lacks.
    fn finish(self) {
        let extra: Vec<&String> = self.map.keys().filter(|k| !self.used.contains(k)).collect();
        assert!(
            extra.is_empty(),
            "{}: fixture sets {extra:?}, which carechain's {} does not have",
            self.at,
            self.type_name
        );
    }
}

fn enum_fixture(n: i32, name_of: impl Fn(i32) -> Option<&'static str>) -> Value {
    name_of(n).map_or_else(|| Value::from(n), Value::from)
}

/// JSON key of a field: the `.proto` name, which prost keeps apart from a leading `r#`.
fn key_of(ident: &str) -> &str {
    ident.trim_start_matches("r#")
}

// One arm per field spec: plain `field`, `field ["ProtoName"]`, `field [enum Path]`, `field [oneof]`.
macro_rules! field_from {
    ($obj:ident, $f:ident) => {
        $obj.take(key_of(stringify!($f)))
    };
    ($obj:ident, $f:ident [$json:literal]) => {
        $obj.take($json)
    };
    ($obj:ident, $f:ident [enum $e:path]) => {
        $obj.take_enum(key_of(stringify!($f)), |s| {
            <$e>::from_str_name(s).map(|e| e as i32)
        })
    };
    ($obj:ident, $f:ident [oneof]) => {
        $obj.take_oneof()
    };
}

macro_rules! field_to {
    ($map:ident, $m:ident, $f:ident) => {
        $map.insert(key_of(stringify!($f)).to_owned(), $m.$f.to_fixture());
    };
    ($map:ident, $m:ident, $f:ident [$json:literal]) => {
        $map.insert($json.to_owned(), $m.$f.to_fixture());
    };
    ($map:ident, $m:ident, $f:ident [enum $e:path]) => {
        $map.insert(
            key_of(stringify!($f)).to_owned(),
            enum_fixture($m.$f, |n| <$e>::try_from(n).ok().map(|e| e.as_str_name())),
        );
    };
    ($map:ident, $m:ident, $f:ident [oneof]) => {
        if let Some(member) = &$m.$f {
            let (k, v) = member.to_member();
            $map.insert(k.to_owned(), v);
        }
    };
}

/// Encodes one fixture case with carechain's type.
type EncodeFn = fn(&Value, &str) -> Vec<u8>;
/// Decodes fabric-protos' bytes with carechain's type; returns every disagreement with the fixture.
type CheckFn = fn(&[u8], &Value, &str) -> Vec<String>;

/// Implements [`Fixture`] for each message (the struct literal lists every field, so a field added to
/// carechain's `.proto` fails to compile here until the fixture covers it) and maps Fabric type names to
/// carechain types.
macro_rules! fixture_messages {
    ($($name:literal => $ty:path { $($f:ident $([$($spec:tt)*])?),* $(,)? }),* $(,)?) => {
        $(
            impl Fixture for $ty {
                #[allow(unused_mut)]
                fn from_fixture(v: &Value, at: &str) -> Self {
                    let mut obj = FixtureObject::new(v, at, $name);
                    let built = Self { $($f: field_from!(obj, $f $([$($spec)*])?)),* };
                    obj.finish();
                    built
                }
                #[allow(unused_mut)]
                fn to_fixture(&self) -> Value {
                    let mut map = Map::new();
                    $(field_to!(map, self, $f $([$($spec)*])?);)*
                    Value::Object(map)
                }
            }
        )*

        fn codec_for(type_name: &str) -> Option<(EncodeFn, CheckFn)> {
            match type_name {
                $($name => Some((encode_case::<$ty>, check_case::<$ty>)),)*
                _ => None,
            }
        }
    };
}

macro_rules! fixture_oneofs {
    ($($ty:path { $($variant:ident = $member:literal $([enum $e:path])?),* $(,)? }),* $(,)?) => {$(
        impl FixtureOneof for $ty {
            const MEMBERS: &'static [&'static str] = &[$($member),*];
            fn from_member(member: &str, v: &Value, at: &str) -> Self {
                match member {
                    $($member => Self::$variant(oneof_from!(v, at $(, $e)?)),)*
                    _ => unreachable!("{at}: {member} is not a member"),
                }
            }
            fn to_member(&self) -> (&'static str, Value) {
                match self {
                    $(Self::$variant(x) => ($member, oneof_to!(x $(, $e)?)),)*
                }
            }
        }
    )*};
}

macro_rules! oneof_from {
    ($v:ident, $at:ident) => {
        Fixture::from_fixture($v, $at)
    };
    ($v:ident, $at:ident, $e:path) => {{
        let name = String::from_fixture($v, $at);
        <$e>::from_str_name(&name)
            .unwrap_or_else(|| panic!("{}: carechain's enum has no value named {name}", $at)) as i32
    }};
}

macro_rules! oneof_to {
    ($x:ident) => {
        $x.to_fixture()
    };
    ($x:ident, $e:path) => {
        enum_fixture(*$x, |n| <$e>::try_from(n).ok().map(|e| e.as_str_name()))
    };
}

fixture_oneofs! {
    common::signature_policy::Type { SignedBy = "signed_by", NOutOf = "n_out_of" },
    protos::deliver_response::Type {
        Status = "status" [enum common::Status],
        Block = "block",
        FilteredBlock = "filtered_block",
        BlockAndPrivateData = "block_and_private_data",
    },
    protos::filtered_transaction::Data { TransactionActions = "transaction_actions" },
    kvrwset::range_query_info::ReadsInfo { RawReads = "raw_reads", ReadsMerkleHashes = "reads_merkle_hashes" },
    orderer::seek_position::Type {
        Newest = "newest",
        Oldest = "oldest",
        Specified = "specified",
        NextCommit = "next_commit",
    },
    orderer::deliver_response::Type { Status = "status" [enum common::Status], Block = "block" },
}

fixture_messages! {
    "google.protobuf.Timestamp" => Timestamp { seconds, nanos },
    "msp.SerializedIdentity" => msp::SerializedIdentity { mspid, id_bytes },
    "common.MSPPrincipal" => common::MspPrincipal {
        principal_classification [enum common::msp_principal::Classification],
        principal,
    },
    "common.SignaturePolicyEnvelope" => common::SignaturePolicyEnvelope { version, rule, identities },
    "common.SignaturePolicy" => common::SignaturePolicy { r#type [oneof] },
    "common.SignaturePolicy.NOutOf" => common::signature_policy::NOutOf { n, rules },
    "common.Envelope" => common::Envelope { payload, signature },
    "common.Payload" => common::Payload { header, data },
    "common.Header" => common::Header { channel_header, signature_header },
    "common.ChannelHeader" => common::ChannelHeader {
        r#type, version, timestamp, channel_id, tx_id, epoch, extension, tls_cert_hash,
    },
    "common.SignatureHeader" => common::SignatureHeader { creator, nonce },
    "common.Block" => common::Block { header, data, metadata },
    "common.BlockHeader" => common::BlockHeader { number, previous_hash, data_hash },
    "common.BlockData" => common::BlockData { data },
    "common.BlockMetadata" => common::BlockMetadata { metadata },
    "common.Metadata" => common::Metadata { value, signatures },
    "common.MetadataSignature" => common::MetadataSignature { signature_header, signature, identifier_header },
    "common.IdentifierHeader" => common::IdentifierHeader { identifier, nonce },
    "common.LastConfig" => common::LastConfig { index },
    "common.OrdererBlockMetadata" => common::OrdererBlockMetadata { last_config, consenter_metadata },
    "protos.SignedProposal" => protos::SignedProposal { proposal_bytes, signature },
    "protos.Proposal" => protos::Proposal { header, payload, extension },
    "protos.ChaincodeHeaderExtension" => protos::ChaincodeHeaderExtension { chaincode_id },
    "protos.ChaincodeProposalPayload" => protos::ChaincodeProposalPayload { input, transient_map ["TransientMap"] },
    "protos.ChaincodeID" => protos::ChaincodeId { path, name, version },
    "protos.ChaincodeInput" => protos::ChaincodeInput { args, decorations, is_init },
    "protos.ChaincodeSpec" => protos::ChaincodeSpec {
        r#type [enum protos::chaincode_spec::Type], chaincode_id, input, timeout,
    },
    "protos.ChaincodeInvocationSpec" => protos::ChaincodeInvocationSpec { chaincode_spec },
    "protos.ChaincodeAction" => protos::ChaincodeAction { results, events, response, chaincode_id },
    "protos.ProposalResponse" => protos::ProposalResponse {
        version, timestamp, response, payload, endorsement, interest,
    },
    "protos.Response" => protos::Response { status, message, payload },
    "protos.ProposalResponsePayload" => protos::ProposalResponsePayload { proposal_hash, extension },
    "protos.Endorsement" => protos::Endorsement { endorser, signature },
    "protos.ChaincodeInterest" => protos::ChaincodeInterest { chaincodes },
    "protos.ChaincodeCall" => protos::ChaincodeCall {
        name, collection_names, no_private_reads, no_public_writes, key_policies, disregard_namespace_policy,
    },
    "protos.Transaction" => protos::Transaction { actions },
    "protos.TransactionAction" => protos::TransactionAction { header, payload },
    "protos.ChaincodeActionPayload" => protos::ChaincodeActionPayload { chaincode_proposal_payload, action },
    "protos.ChaincodeEndorsedAction" => protos::ChaincodeEndorsedAction { proposal_response_payload, endorsements },
    "protos.ChaincodeEvent" => protos::ChaincodeEvent { chaincode_id, tx_id, event_name, payload },
    "protos.DeliverResponse" => protos::DeliverResponse { r#type [oneof] },
    "protos.FilteredBlock" => protos::FilteredBlock { channel_id, number, filtered_transactions },
    "protos.FilteredTransaction" => protos::FilteredTransaction {
        txid,
        r#type [enum common::HeaderType],
        tx_validation_code [enum protos::TxValidationCode],
        data [oneof],
    },
    "protos.FilteredTransactionActions" => protos::FilteredTransactionActions { chaincode_actions },
    "protos.FilteredChaincodeAction" => protos::FilteredChaincodeAction { chaincode_event },
    "protos.BlockAndPrivateData" => protos::BlockAndPrivateData { block, private_data_map },
    "rwset.TxReadWriteSet" => rwset::TxReadWriteSet {
        data_model [enum rwset::tx_read_write_set::DataModel], ns_rwset,
    },
    "rwset.NsReadWriteSet" => rwset::NsReadWriteSet { namespace, rwset, collection_hashed_rwset },
    "rwset.CollectionHashedReadWriteSet" => rwset::CollectionHashedReadWriteSet {
        collection_name, hashed_rwset, pvt_rwset_hash,
    },
    "rwset.TxPvtReadWriteSet" => rwset::TxPvtReadWriteSet {
        data_model [enum rwset::tx_read_write_set::DataModel], ns_pvt_rwset,
    },
    "rwset.NsPvtReadWriteSet" => rwset::NsPvtReadWriteSet { namespace, collection_pvt_rwset },
    "rwset.CollectionPvtReadWriteSet" => rwset::CollectionPvtReadWriteSet { collection_name, rwset },
    "kvrwset.KVRWSet" => kvrwset::KvrwSet { reads, range_queries_info, writes, metadata_writes },
    "kvrwset.HashedRWSet" => kvrwset::HashedRwSet { hashed_reads, hashed_writes, metadata_writes },
    "kvrwset.KVRead" => kvrwset::KvRead { key, version },
    "kvrwset.KVWrite" => kvrwset::KvWrite { key, is_delete, value },
    "kvrwset.KVMetadataWrite" => kvrwset::KvMetadataWrite { key, entries },
    "kvrwset.KVReadHash" => kvrwset::KvReadHash { key_hash, version },
    "kvrwset.KVWriteHash" => kvrwset::KvWriteHash { key_hash, is_delete, value_hash, is_purge },
    "kvrwset.KVMetadataWriteHash" => kvrwset::KvMetadataWriteHash { key_hash, entries },
    "kvrwset.KVMetadataEntry" => kvrwset::KvMetadataEntry { name, value },
    "kvrwset.Version" => kvrwset::Version { block_num, tx_num },
    "kvrwset.RangeQueryInfo" => kvrwset::RangeQueryInfo { start_key, end_key, itr_exhausted, reads_info [oneof] },
    "kvrwset.QueryReads" => kvrwset::QueryReads { kv_reads },
    "kvrwset.QueryReadsMerkleSummary" => kvrwset::QueryReadsMerkleSummary { max_degree, max_level, max_level_hashes },
    "orderer.SeekNewest" => orderer::SeekNewest {},
    "orderer.SeekOldest" => orderer::SeekOldest {},
    "orderer.SeekNextCommit" => orderer::SeekNextCommit {},
    "orderer.SeekSpecified" => orderer::SeekSpecified { number },
    "orderer.SeekPosition" => orderer::SeekPosition { r#type [oneof] },
    "orderer.SeekInfo" => orderer::SeekInfo {
        start,
        stop,
        behavior [enum orderer::seek_info::SeekBehavior],
        error_response [enum orderer::seek_info::SeekErrorResponse],
        content_type [enum orderer::seek_info::SeekContentType],
    },
    "orderer.BroadcastResponse" => orderer::BroadcastResponse { status [enum common::Status], info },
    "orderer.DeliverResponse" => orderer::DeliverResponse { r#type [oneof] },
    "gateway.EndorseRequest" => gateway::EndorseRequest {
        transaction_id, channel_id, proposed_transaction, endorsing_organizations,
    },
    "gateway.EndorseResponse" => gateway::EndorseResponse { prepared_transaction },
    "gateway.SubmitRequest" => gateway::SubmitRequest { transaction_id, channel_id, prepared_transaction },
    "gateway.SubmitResponse" => gateway::SubmitResponse {},
    "gateway.SignedCommitStatusRequest" => gateway::SignedCommitStatusRequest { request, signature },
    "gateway.CommitStatusRequest" => gateway::CommitStatusRequest { transaction_id, channel_id, identity },
    "gateway.CommitStatusResponse" => gateway::CommitStatusResponse {
        result [enum protos::TxValidationCode], block_number,
    },
    "gateway.EvaluateRequest" => gateway::EvaluateRequest {
        transaction_id, channel_id, proposed_transaction, target_organizations,
    },
    "gateway.EvaluateResponse" => gateway::EvaluateResponse { result },
    "gateway.SignedChaincodeEventsRequest" => gateway::SignedChaincodeEventsRequest { request, signature },
    "gateway.ChaincodeEventsRequest" => gateway::ChaincodeEventsRequest {
        channel_id, chaincode_id, identity, start_position, after_transaction_id,
    },
    "gateway.ChaincodeEventsResponse" => gateway::ChaincodeEventsResponse { events, block_number },
    "gateway.ErrorDetail" => gateway::ErrorDetail { address, msp_id, message },
    "gateway.ProposedTransaction" => gateway::ProposedTransaction { transaction_id, proposal, endorsing_organizations },
    "gateway.PreparedTransaction" => gateway::PreparedTransaction { transaction_id, envelope },
    "google.rpc.Status" => google::rpc::Status { code, message, details },
}

// ---- per-case checks --------------------------------------------------------------------------------------

fn encode_case<T: Message + Fixture>(fixture: &Value, label: &str) -> Vec<u8> {
    T::from_fixture(fixture, label).encode_to_vec()
}

fn check_case<T: Message + Default + Fixture + PartialEq>(
    fabric_bytes: &[u8],
    fixture: &Value,
    label: &str,
) -> Vec<String> {
    let decoded = match T::decode(fabric_bytes) {
        Ok(m) => m,
        Err(e) => {
            return vec![format!(
                "{label}: carechain cannot decode fabric-protos' bytes: {e}"
            )];
        }
    };
    let mut problems = Vec::new();
    diff(label, &decoded.to_fixture(), fixture, &mut problems);
    if problems.is_empty() && decoded != T::from_fixture(fixture, label) {
        problems.push(format!(
            "{label}: decoded message differs from the one built from the fixture"
        ));
    }
    // prost skips unknown fields: a field Fabric writes under a number we lack would vanish silently.
    if decoded.encoded_len() != fabric_bytes.len() {
        problems.push(format!(
            "{label}: carechain keeps {} of fabric-protos' {} bytes; fabric-protos wrote fields carechain does not know \
             (top-level numbers present: {:?})",
            decoded.encoded_len(),
            fabric_bytes.len(),
            top_level_field_numbers(fabric_bytes),
        ));
    }
    problems
}

/// Field-by-field comparison of JSON renderings, naming the path of each difference.
fn diff(at: &str, got: &Value, want: &Value, problems: &mut Vec<String>) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for k in g.keys().chain(w.keys().filter(|k| !g.contains_key(*k))) {
                let path = format!("{at}.{k}");
                match (g.get(k), w.get(k)) {
                    (Some(gv), Some(wv)) => diff(&path, gv, wv, problems),
                    (Some(gv), None) => problems.push(format!("{path}: decoded {gv}, absent from fixture")),
                    (None, Some(wv)) => {
                        problems.push(format!("{path}: missing after decoding, fixture has {wv}"))
                    }
                    (None, None) => {}
                }
            }
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => {
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                diff(&format!("{at}[{i}]"), gv, wv, problems);
            }
        }
        _ if got != want => problems.push(format!("{at}: decoded {got}, fixture has {want}")),
        _ => {}
    }
}

/// Field numbers of the top-level fields in an encoded message, for diagnostics only.
fn top_level_field_numbers(mut buf: &[u8]) -> Vec<u32> {
    use prost::encoding::{DecodeContext, decode_key, skip_field};
    let mut numbers = Vec::new();
    while !buf.is_empty() {
        let Ok((tag, wire_type)) = decode_key(&mut buf) else {
            break;
        };
        numbers.push(tag);
        if skip_field(wire_type, tag, &mut buf, DecodeContext::default()).is_err() {
            break;
        }
    }
    numbers
}

// ---- the Node side ----------------------------------------------------------------------------------------

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/protos")
}

/// Fails (never skips) when the Fabric side is not installed: CI installs it and so must a developer.
fn require_fabric_protos() {
    let package = interop_dir().join("node_modules/@hyperledger/fabric-protos/package.json");
    let text = std::fs::read_to_string(&package).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run `npm ci --prefix tests/interop/protos` from the repository root \
             (scripts/setup.sh does this in CI)",
            package.display()
        )
    });
    let json: Value = serde_json::from_str(&text).expect("fabric-protos package.json is JSON");
    assert_eq!(
        json["version"].as_str(),
        Some(FABRIC_PROTOS_VERSION),
        "installed @hyperledger/fabric-protos is not {FABRIC_PROTOS_VERSION}: run `npm ci --prefix tests/interop/protos`"
    );
}

fn run_node(command: &str, fixtures: &Path, dir: &Path, cwd: &Path) -> Output {
    Command::new("node")
        .arg(interop_dir().join("compat.js"))
        .arg(command)
        .arg(fixtures)
        .arg(dir)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `node` (Node.js 18+ must be on PATH): {e}"))
}

fn describe(output: &Output) -> String {
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

struct Case<'a> {
    name: &'a str,
    type_name: &'a str,
    value: &'a Value,
}

fn load_cases(fixture: &Value) -> Vec<Case<'_>> {
    let cases = fixture["cases"]
        .as_array()
        .expect("fixtures.json has a `cases` array");
    cases
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().expect("every case has a string `name`"),
            type_name: c["type"].as_str().expect("every case has a string `type`"),
            value: &c["value"],
        })
        .collect()
}

fn codec(case: &Case<'_>) -> (EncodeFn, CheckFn) {
    codec_for(case.type_name).unwrap_or_else(|| {
        panic!(
            "case {}: no carechain type registered for {} in proto_compat.rs",
            case.name, case.type_name
        )
    })
}

/// Flips the tag of `ChannelHeader.type` (field 1, varint) to field 9, as if one side numbered it wrongly.
fn renumber_channel_header_type(bytes: &[u8]) -> Vec<u8> {
    assert_eq!(
        bytes.first(),
        Some(&0x08),
        "channel_header encoding starts with field 1 (type)"
    );
    let mut corrupted = bytes.to_vec();
    corrupted[0] = 0x48;
    corrupted
}

#[test]
fn carechain_and_fabric_protos_agree_on_every_field() {
    require_fabric_protos();
    let fixtures_path = interop_dir().join("fixtures.json");
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(&fixtures_path).expect("tests/interop/protos/fixtures.json is readable"),
    )
    .expect("fixtures.json is JSON");
    let cases = load_cases(&fixture);
    for required in REQUIRED_TYPES {
        assert!(
            cases.iter().any(|c| c.type_name == *required),
            "fixtures.json has no case of type {required}"
        );
    }

    let tmp = tempfile::tempdir().expect("temp dir");
    let (fabric_dir, carechain_dir) = (tmp.path().join("fabric"), tmp.path().join("carechain"));
    std::fs::create_dir_all(&carechain_dir).expect("create carechain output dir");

    // 1. fabric-protos encodes every case; carechain decodes and compares.
    let encoded = run_node("encode", &fixtures_path, &fabric_dir, tmp.path());
    assert!(
        encoded.status.success(),
        "compat.js encode failed:\n{}",
        describe(&encoded)
    );
    let mut problems = Vec::new();
    for case in &cases {
        let (encode, check) = codec(case);
        let label = format!("{} ({})", case.name, case.type_name);
        let file = fabric_dir.join(format!("{}.bin", case.name));
        match std::fs::read(&file) {
            Ok(fabric_bytes) => problems.extend(check(&fabric_bytes, case.value, &label)),
            Err(e) => problems.push(format!("{label}: compat.js wrote no {}: {e}", file.display())),
        }
        // 2. carechain encodes every case for the Fabric side to check.
        std::fs::write(
            carechain_dir.join(format!("{}.bin", case.name)),
            encode(case.value, &label),
        )
        .expect("write carechain encoding");
    }
    assert!(
        problems.is_empty(),
        "carechain decoding of fabric-protos bytes disagrees with fixtures.json:\n{}",
        problems.join("\n")
    );

    // 2 and 3. fabric-protos decodes carechain's bytes, reads every field through its getters, and compares
    // bytes with its own encoding wherever no map makes the order non-canonical.
    let checked = run_node("check", &fixtures_path, &carechain_dir, tmp.path());
    assert!(
        checked.status.success(),
        "fabric-protos decoding of carechain bytes disagrees with fixtures.json:\n{}",
        describe(&checked)
    );
    print!("{}", String::from_utf8_lossy(&checked.stdout));
    println!("carechain decode: {} cases checked; 0 problems", cases.len());
}

/// The comparisons above must be able to fail: a field number that differs on either side is reported.
#[test]
fn a_renumbered_field_is_caught_on_both_sides() {
    require_fabric_protos();
    let fixtures_path = interop_dir().join("fixtures.json");
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(&fixtures_path).expect("fixtures.json is readable"))
            .expect("fixtures.json is JSON");
    let cases = load_cases(&fixture);
    let case = cases
        .iter()
        .find(|c| c.name == "channel_header")
        .expect("fixtures.json has the channel_header case");
    let (encode, check) = codec(case);

    // carechain side: fabric-protos' bytes with the field renumbered.
    let tmp = tempfile::tempdir().expect("temp dir");
    let fabric_dir = tmp.path().join("fabric");
    let encoded = run_node("encode", &fixtures_path, &fabric_dir, tmp.path());
    assert!(
        encoded.status.success(),
        "compat.js encode failed:\n{}",
        describe(&encoded)
    );
    let fabric_bytes = std::fs::read(fabric_dir.join("channel_header.bin")).expect("channel_header.bin");
    let problems = check(
        &renumber_channel_header_type(&fabric_bytes),
        case.value,
        "channel_header",
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("channel_header.type: decoded 0, fixture has 3")),
        "carechain side did not report the renumbered ChannelHeader.type: {problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("top-level numbers present: [9,")),
        "carechain side did not report the unknown field 9: {problems:?}"
    );

    // Fabric side: carechain's bytes with the field renumbered, among otherwise correct files.
    let carechain_dir = tmp.path().join("carechain");
    std::fs::create_dir_all(&carechain_dir).expect("create carechain output dir");
    for c in &cases {
        let (encode_c, _) = codec(c);
        std::fs::write(
            carechain_dir.join(format!("{}.bin", c.name)),
            encode_c(c.value, c.name),
        )
        .expect("write");
    }
    let ours = encode(case.value, "channel_header");
    std::fs::write(
        carechain_dir.join("channel_header.bin"),
        renumber_channel_header_type(&ours),
    )
    .expect("write");
    let checked = run_node("check", &fixtures_path, &carechain_dir, tmp.path());
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert!(
        !checked.status.success()
            && stderr.contains("channel_header (common.ChannelHeader).type: decoded 0, fixture has 3")
            && stderr.contains("top-level numbers [9]"),
        "Fabric side did not report the renumbered ChannelHeader.type:\n{}",
        describe(&checked)
    );
}
