#!/usr/bin/env node
// Fabric side of carechain's protobuf wire-compatibility test (driven by tests/tests/proto_compat.rs).
//
// Every message is built and read only through the accessors that @hyperledger/fabric-protos generates
// (setFoo / getFoo_asU8 / getFooList / getFooMap / getXCase), so field numbers, wire types, enum numbers
// and oneof membership come from Fabric's own generated code, never from carechain's .proto files.
//
//   node compat.js encode <fixtures.json> <out-dir>   write <case>.bin as fabric-protos encodes each fixture case
//   node compat.js check  <fixtures.json> <in-dir>    decode carechain's <case>.bin files with fabric-protos and
//                                                     compare every field, via getters, with the fixture
//
// Exit code 0 when everything matches; 1 with one line per mismatch on stderr otherwise.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const jspb = require('google-protobuf');
const { Timestamp } = require('google-protobuf/google/protobuf/timestamp_pb');
const { Any } = require('google-protobuf/google/protobuf/any_pb');
const { common, msp, peer, ledger, orderer, gateway, google } = require('@hyperledger/fabric-protos');

const { rwset } = ledger;
const { kvrwset } = rwset;

// ---- field kinds -------------------------------------------------------------------------------------
const string = { kind: 'string' };
const bytes = { kind: 'bytes' };
const bool = { kind: 'bool' };
const int32 = { kind: 'int32' };
const int64 = { kind: 'int64' };
const uint32 = { kind: 'uint32' };
const uint64 = { kind: 'uint64' };
const any = { kind: 'any' };
const message = (type) => ({ kind: 'message', type });
const enumOf = (values) => ({ kind: 'enum', values });
const repeated = (of) => ({ kind: 'repeated', of });
const map = (key, value) => ({ kind: 'map', key, value });
const oneof = (group, kind) => ({ ...kind, oneof: group });

// ---- the messages under test, by full proto name: [fabric-protos class, { proto field name: kind }] ----
// Field names are the .proto names; accessor names are derived the way protoc-gen-js derives them.
const SCHEMA = {
  'google.protobuf.Timestamp': [Timestamp, { seconds: int64, nanos: int32 }],
  'msp.SerializedIdentity': [msp.SerializedIdentity, { mspid: string, id_bytes: bytes }],
  'common.MSPPrincipal': [
    msp.MSPPrincipal,
    { principal_classification: enumOf(msp.MSPPrincipal.Classification), principal: bytes },
  ],
  'common.SignaturePolicyEnvelope': [
    common.SignaturePolicyEnvelope,
    { version: int32, rule: message('common.SignaturePolicy'), identities: repeated(message('common.MSPPrincipal')) },
  ],
  'common.SignaturePolicy': [
    common.SignaturePolicy,
    { signed_by: oneof('Type', int32), n_out_of: oneof('Type', message('common.SignaturePolicy.NOutOf')) },
  ],
  'common.SignaturePolicy.NOutOf': [
    common.SignaturePolicy.NOutOf,
    { n: int32, rules: repeated(message('common.SignaturePolicy')) },
  ],
  'common.Envelope': [common.Envelope, { payload: bytes, signature: bytes }],
  'common.Payload': [common.Payload, { header: message('common.Header'), data: bytes }],
  'common.Header': [common.Header, { channel_header: bytes, signature_header: bytes }],
  'common.ChannelHeader': [
    common.ChannelHeader,
    {
      type: int32,
      version: int32,
      timestamp: message('google.protobuf.Timestamp'),
      channel_id: string,
      tx_id: string,
      epoch: uint64,
      extension: bytes,
      tls_cert_hash: bytes,
    },
  ],
  'common.SignatureHeader': [common.SignatureHeader, { creator: bytes, nonce: bytes }],
  'common.Block': [
    common.Block,
    { header: message('common.BlockHeader'), data: message('common.BlockData'), metadata: message('common.BlockMetadata') },
  ],
  'common.BlockHeader': [common.BlockHeader, { number: uint64, previous_hash: bytes, data_hash: bytes }],
  'common.BlockData': [common.BlockData, { data: repeated(bytes) }],
  'common.BlockMetadata': [common.BlockMetadata, { metadata: repeated(bytes) }],
  'common.Metadata': [common.Metadata, { value: bytes, signatures: repeated(message('common.MetadataSignature')) }],
  'common.MetadataSignature': [
    common.MetadataSignature,
    { signature_header: bytes, signature: bytes, identifier_header: bytes },
  ],
  'common.IdentifierHeader': [common.IdentifierHeader, { identifier: uint32, nonce: bytes }],
  'common.LastConfig': [common.LastConfig, { index: uint64 }],
  'common.OrdererBlockMetadata': [
    common.OrdererBlockMetadata,
    { last_config: message('common.LastConfig'), consenter_metadata: bytes },
  ],
  'protos.SignedProposal': [peer.SignedProposal, { proposal_bytes: bytes, signature: bytes }],
  'protos.Proposal': [peer.Proposal, { header: bytes, payload: bytes, extension: bytes }],
  'protos.ChaincodeHeaderExtension': [peer.ChaincodeHeaderExtension, { chaincode_id: message('protos.ChaincodeID') }],
  'protos.ChaincodeProposalPayload': [peer.ChaincodeProposalPayload, { input: bytes, TransientMap: map(string, bytes) }],
  'protos.ChaincodeID': [peer.ChaincodeID, { path: string, name: string, version: string }],
  'protos.ChaincodeInput': [peer.ChaincodeInput, { args: repeated(bytes), decorations: map(string, bytes), is_init: bool }],
  'protos.ChaincodeSpec': [
    peer.ChaincodeSpec,
    {
      type: enumOf(peer.ChaincodeSpec.Type),
      chaincode_id: message('protos.ChaincodeID'),
      input: message('protos.ChaincodeInput'),
      timeout: int32,
    },
  ],
  'protos.ChaincodeInvocationSpec': [peer.ChaincodeInvocationSpec, { chaincode_spec: message('protos.ChaincodeSpec') }],
  'protos.ChaincodeAction': [
    peer.ChaincodeAction,
    { results: bytes, events: bytes, response: message('protos.Response'), chaincode_id: message('protos.ChaincodeID') },
  ],
  'protos.ProposalResponse': [
    peer.ProposalResponse,
    {
      version: int32,
      timestamp: message('google.protobuf.Timestamp'),
      response: message('protos.Response'),
      payload: bytes,
      endorsement: message('protos.Endorsement'),
      interest: message('protos.ChaincodeInterest'),
    },
  ],
  'protos.Response': [peer.Response, { status: int32, message: string, payload: bytes }],
  'protos.ProposalResponsePayload': [peer.ProposalResponsePayload, { proposal_hash: bytes, extension: bytes }],
  'protos.Endorsement': [peer.Endorsement, { endorser: bytes, signature: bytes }],
  'protos.ChaincodeInterest': [peer.ChaincodeInterest, { chaincodes: repeated(message('protos.ChaincodeCall')) }],
  'protos.ChaincodeCall': [
    peer.ChaincodeCall,
    {
      name: string,
      collection_names: repeated(string),
      no_private_reads: bool,
      no_public_writes: bool,
      key_policies: repeated(message('common.SignaturePolicyEnvelope')),
      disregard_namespace_policy: bool,
    },
  ],
  'protos.Transaction': [peer.Transaction, { actions: repeated(message('protos.TransactionAction')) }],
  'protos.TransactionAction': [peer.TransactionAction, { header: bytes, payload: bytes }],
  'protos.ChaincodeActionPayload': [
    peer.ChaincodeActionPayload,
    { chaincode_proposal_payload: bytes, action: message('protos.ChaincodeEndorsedAction') },
  ],
  'protos.ChaincodeEndorsedAction': [
    peer.ChaincodeEndorsedAction,
    { proposal_response_payload: bytes, endorsements: repeated(message('protos.Endorsement')) },
  ],
  'protos.ChaincodeEvent': [peer.ChaincodeEvent, { chaincode_id: string, tx_id: string, event_name: string, payload: bytes }],
  'protos.DeliverResponse': [
    peer.DeliverResponse,
    {
      status: oneof('Type', enumOf(common.Status)),
      block: oneof('Type', message('common.Block')),
      filtered_block: oneof('Type', message('protos.FilteredBlock')),
      block_and_private_data: oneof('Type', message('protos.BlockAndPrivateData')),
    },
  ],
  'protos.FilteredBlock': [
    peer.FilteredBlock,
    { channel_id: string, number: uint64, filtered_transactions: repeated(message('protos.FilteredTransaction')) },
  ],
  'protos.FilteredTransaction': [
    peer.FilteredTransaction,
    {
      txid: string,
      type: enumOf(common.HeaderType),
      tx_validation_code: enumOf(peer.TxValidationCode),
      transaction_actions: oneof('Data', message('protos.FilteredTransactionActions')),
    },
  ],
  'protos.FilteredTransactionActions': [
    peer.FilteredTransactionActions,
    { chaincode_actions: repeated(message('protos.FilteredChaincodeAction')) },
  ],
  'protos.FilteredChaincodeAction': [peer.FilteredChaincodeAction, { chaincode_event: message('protos.ChaincodeEvent') }],
  'protos.BlockAndPrivateData': [
    peer.BlockAndPrivateData,
    { block: message('common.Block'), private_data_map: map(uint64, message('rwset.TxPvtReadWriteSet')) },
  ],
  'rwset.TxReadWriteSet': [
    rwset.TxReadWriteSet,
    { data_model: enumOf(rwset.TxReadWriteSet.DataModel), ns_rwset: repeated(message('rwset.NsReadWriteSet')) },
  ],
  'rwset.NsReadWriteSet': [
    rwset.NsReadWriteSet,
    { namespace: string, rwset: bytes, collection_hashed_rwset: repeated(message('rwset.CollectionHashedReadWriteSet')) },
  ],
  'rwset.CollectionHashedReadWriteSet': [
    rwset.CollectionHashedReadWriteSet,
    { collection_name: string, hashed_rwset: bytes, pvt_rwset_hash: bytes },
  ],
  'rwset.TxPvtReadWriteSet': [
    rwset.TxPvtReadWriteSet,
    { data_model: enumOf(rwset.TxReadWriteSet.DataModel), ns_pvt_rwset: repeated(message('rwset.NsPvtReadWriteSet')) },
  ],
  'rwset.NsPvtReadWriteSet': [
    rwset.NsPvtReadWriteSet,
    { namespace: string, collection_pvt_rwset: repeated(message('rwset.CollectionPvtReadWriteSet')) },
  ],
  'rwset.CollectionPvtReadWriteSet': [rwset.CollectionPvtReadWriteSet, { collection_name: string, rwset: bytes }],
  'kvrwset.KVRWSet': [
    kvrwset.KVRWSet,
    {
      reads: repeated(message('kvrwset.KVRead')),
      range_queries_info: repeated(message('kvrwset.RangeQueryInfo')),
      writes: repeated(message('kvrwset.KVWrite')),
      metadata_writes: repeated(message('kvrwset.KVMetadataWrite')),
    },
  ],
  'kvrwset.HashedRWSet': [
    kvrwset.HashedRWSet,
    {
      hashed_reads: repeated(message('kvrwset.KVReadHash')),
      hashed_writes: repeated(message('kvrwset.KVWriteHash')),
      metadata_writes: repeated(message('kvrwset.KVMetadataWriteHash')),
    },
  ],
  'kvrwset.KVRead': [kvrwset.KVRead, { key: string, version: message('kvrwset.Version') }],
  'kvrwset.KVWrite': [kvrwset.KVWrite, { key: string, is_delete: bool, value: bytes }],
  'kvrwset.KVMetadataWrite': [kvrwset.KVMetadataWrite, { key: string, entries: repeated(message('kvrwset.KVMetadataEntry')) }],
  'kvrwset.KVReadHash': [kvrwset.KVReadHash, { key_hash: bytes, version: message('kvrwset.Version') }],
  'kvrwset.KVWriteHash': [kvrwset.KVWriteHash, { key_hash: bytes, is_delete: bool, value_hash: bytes, is_purge: bool }],
  'kvrwset.KVMetadataWriteHash': [
    kvrwset.KVMetadataWriteHash,
    { key_hash: bytes, entries: repeated(message('kvrwset.KVMetadataEntry')) },
  ],
  'kvrwset.KVMetadataEntry': [kvrwset.KVMetadataEntry, { name: string, value: bytes }],
  'kvrwset.Version': [kvrwset.Version, { block_num: uint64, tx_num: uint64 }],
  'kvrwset.RangeQueryInfo': [
    kvrwset.RangeQueryInfo,
    {
      start_key: string,
      end_key: string,
      itr_exhausted: bool,
      raw_reads: oneof('reads_info', message('kvrwset.QueryReads')),
      reads_merkle_hashes: oneof('reads_info', message('kvrwset.QueryReadsMerkleSummary')),
    },
  ],
  'kvrwset.QueryReads': [kvrwset.QueryReads, { kv_reads: repeated(message('kvrwset.KVRead')) }],
  'kvrwset.QueryReadsMerkleSummary': [
    kvrwset.QueryReadsMerkleSummary,
    { max_degree: uint32, max_level: uint32, max_level_hashes: repeated(bytes) },
  ],
  'orderer.SeekNewest': [orderer.SeekNewest, {}],
  'orderer.SeekOldest': [orderer.SeekOldest, {}],
  'orderer.SeekNextCommit': [orderer.SeekNextCommit, {}],
  'orderer.SeekSpecified': [orderer.SeekSpecified, { number: uint64 }],
  'orderer.SeekPosition': [
    orderer.SeekPosition,
    {
      newest: oneof('Type', message('orderer.SeekNewest')),
      oldest: oneof('Type', message('orderer.SeekOldest')),
      specified: oneof('Type', message('orderer.SeekSpecified')),
      next_commit: oneof('Type', message('orderer.SeekNextCommit')),
    },
  ],
  'orderer.SeekInfo': [
    orderer.SeekInfo,
    {
      start: message('orderer.SeekPosition'),
      stop: message('orderer.SeekPosition'),
      behavior: enumOf(orderer.SeekInfo.SeekBehavior),
      error_response: enumOf(orderer.SeekInfo.SeekErrorResponse),
      content_type: enumOf(orderer.SeekInfo.SeekContentType),
    },
  ],
  'orderer.BroadcastResponse': [orderer.BroadcastResponse, { status: enumOf(common.Status), info: string }],
  'orderer.DeliverResponse': [
    orderer.DeliverResponse,
    { status: oneof('Type', enumOf(common.Status)), block: oneof('Type', message('common.Block')) },
  ],
  'gateway.EndorseRequest': [
    gateway.EndorseRequest,
    {
      transaction_id: string,
      channel_id: string,
      proposed_transaction: message('protos.SignedProposal'),
      endorsing_organizations: repeated(string),
    },
  ],
  'gateway.EndorseResponse': [gateway.EndorseResponse, { prepared_transaction: message('common.Envelope') }],
  'gateway.SubmitRequest': [
    gateway.SubmitRequest,
    { transaction_id: string, channel_id: string, prepared_transaction: message('common.Envelope') },
  ],
  'gateway.SubmitResponse': [gateway.SubmitResponse, {}],
  'gateway.SignedCommitStatusRequest': [gateway.SignedCommitStatusRequest, { request: bytes, signature: bytes }],
  'gateway.CommitStatusRequest': [gateway.CommitStatusRequest, { transaction_id: string, channel_id: string, identity: bytes }],
  'gateway.CommitStatusResponse': [
    gateway.CommitStatusResponse,
    { result: enumOf(peer.TxValidationCode), block_number: uint64 },
  ],
  'gateway.EvaluateRequest': [
    gateway.EvaluateRequest,
    {
      transaction_id: string,
      channel_id: string,
      proposed_transaction: message('protos.SignedProposal'),
      target_organizations: repeated(string),
    },
  ],
  'gateway.EvaluateResponse': [gateway.EvaluateResponse, { result: message('protos.Response') }],
  'gateway.SignedChaincodeEventsRequest': [gateway.SignedChaincodeEventsRequest, { request: bytes, signature: bytes }],
  'gateway.ChaincodeEventsRequest': [
    gateway.ChaincodeEventsRequest,
    {
      channel_id: string,
      chaincode_id: string,
      identity: bytes,
      start_position: message('orderer.SeekPosition'),
      after_transaction_id: string,
    },
  ],
  'gateway.ChaincodeEventsResponse': [
    gateway.ChaincodeEventsResponse,
    { events: repeated(message('protos.ChaincodeEvent')), block_number: uint64 },
  ],
  'gateway.ErrorDetail': [gateway.ErrorDetail, { address: string, msp_id: string, message: string }],
  'gateway.ProposedTransaction': [
    gateway.ProposedTransaction,
    { transaction_id: string, proposal: message('protos.SignedProposal'), endorsing_organizations: repeated(string) },
  ],
  'gateway.PreparedTransaction': [
    gateway.PreparedTransaction,
    { transaction_id: string, envelope: message('common.Envelope') },
  ],
  'google.rpc.Status': [google.rpc.Status, { code: int32, message: string, details: repeated(any) }],
};

// ---- helpers ---------------------------------------------------------------------------------------------
class FixtureError extends Error {}

function schemaOf(type, where) {
  const entry = SCHEMA[type];
  if (!entry) throw new FixtureError(`${where}: message type ${type} is not in compat.js SCHEMA`);
  return entry;
}

/** protoc-gen-js accessor stem: lower-case the proto name, then upper-camel-case it on underscores. */
function stem(protoName) {
  return protoName
    .toLowerCase()
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

function method(msg, wanted, where) {
  // protoc-gen-js appends '$' where an accessor would shadow a jspb.Message method (getExtension, ...).
  const name = wanted in jspb.Message.prototype ? `${wanted}$` : wanted;
  const fn = msg[name];
  if (typeof fn !== 'function') {
    throw new FixtureError(`${where}: fabric-protos ${msg.constructor.name} has no ${name}() (no such field in Fabric)`);
  }
  return fn.bind(msg);
}

function hexToU8(hex, where) {
  if (typeof hex !== 'string' || !/^([0-9a-f]{2})*$/.test(hex)) {
    throw new FixtureError(`${where}: bytes must be lowercase hex, got ${JSON.stringify(hex)}`);
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

const u8ToHex = (u8) => Buffer.from(u8).toString('hex');

function enumName(values, number) {
  const name = Object.keys(values).find((k) => values[k] === number);
  return name === undefined ? number : name;
}

function isDefault(kind, v) {
  switch (kind.kind) {
    case 'string':
    case 'bytes':
      return v === '';
    case 'bool':
      return v === false;
    case 'enum':
      return kind.values[v] === 0 && Object.keys(kind.values).length > 1;
    case 'repeated':
    case 'map':
      return false; // sizes are checked separately
    default:
      return v === 0;
  }
}

// ---- fixture -> fabric-protos message (setters only) ---------------------------------------------------
function toJs(kind, v, where) {
  switch (kind.kind) {
    case 'bytes':
      return hexToU8(v, where);
    case 'enum':
      if (!(v in kind.values)) throw new FixtureError(`${where}: Fabric's enum has no value named ${JSON.stringify(v)}`);
      return kind.values[v];
    case 'message':
      return build(kind.type, v, where);
    case 'any': {
      const typeName = String(v.type_url).split('/').pop();
      const packed = new Any();
      packed.pack(build(typeName, v.value, `${where}.value`).serializeBinary(), typeName, v.type_url.slice(0, -typeName.length));
      return packed;
    }
    default:
      return v;
  }
}

function checkFixtureShape(type, fields, obj, where) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new FixtureError(`${where}: fixture for ${type} must be an object`);
  }
  for (const key of Object.keys(obj)) {
    if (!(key in fields)) throw new FixtureError(`${where}: ${type} has no field ${key} in compat.js SCHEMA`);
  }
  const groups = {};
  for (const [name, kind] of Object.entries(fields)) {
    if (kind.oneof) {
      groups[kind.oneof] = groups[kind.oneof] || [];
      if (name in obj) groups[kind.oneof].push(name);
    } else if (!(name in obj)) {
      throw new FixtureError(`${where}: fixture leaves ${type}.${name} unset; every field must be populated`);
    }
  }
  for (const [group, set] of Object.entries(groups)) {
    if (set.length !== 1) throw new FixtureError(`${where}: oneof ${type}.${group} must have exactly one member, has [${set}]`);
  }
}

function build(type, obj, where) {
  const [Cls, fields] = schemaOf(type, where);
  checkFixtureShape(type, fields, obj, where);
  const msg = new Cls();
  for (const [name, kind] of Object.entries(fields)) {
    if (!(name in obj)) continue;
    const v = obj[name];
    const at = `${where}.${name}`;
    if (kind.kind === 'repeated') {
      if (!Array.isArray(v)) throw new FixtureError(`${at}: repeated field must be a JSON array`);
      method(msg, `set${stem(name)}List`, at)(v.map((x, i) => toJs(kind.of, x, `${at}[${i}]`)));
    } else if (kind.kind === 'map') {
      const jsMap = method(msg, `get${stem(name)}Map`, at)();
      for (const [k, x] of Object.entries(v)) {
        jsMap.set(kind.key.kind === 'string' ? k : Number(k), toJs(kind.value, x, `${at}[${k}]`));
      }
    } else {
      method(msg, `set${stem(name)}`, at)(toJs(kind, v, at));
    }
  }
  return msg;
}

// ---- fabric-protos message -> fixture shape (getters only) -----------------------------------------------
function fromJs(kind, v, where, problems) {
  switch (kind.kind) {
    case 'bytes':
      return u8ToHex(jspb.Message.bytesAsU8(v));
    case 'enum':
      return enumName(kind.values, v);
    case 'message':
      return read(kind.type, v, where, problems);
    case 'any': {
      const typeName = v.getTypeName();
      if (!SCHEMA[typeName]) return { type_url: v.getTypeUrl(), value: u8ToHex(v.getValue_asU8()) };
      const [Cls] = SCHEMA[typeName];
      const inner = v.unpack(Cls.deserializeBinary, typeName);
      return { type_url: v.getTypeUrl(), value: read(typeName, inner, `${where}.value`, problems) };
    }
    default:
      return v;
  }
}

function read(type, msg, where, problems) {
  const [Cls, fields] = schemaOf(type, where);
  const out = {};
  const caseOf = {};
  for (const [name, kind] of Object.entries(fields)) {
    const s = stem(name);
    const at = `${where}.${name}`;
    if (kind.oneof && !method(msg, `has${s}`, at)()) continue;
    if (kind.oneof) caseOf[kind.oneof] = name;
    if (kind.kind === 'repeated') {
      const list = kind.of.kind === 'bytes' ? method(msg, `get${s}List_asU8`, at)() : method(msg, `get${s}List`, at)();
      out[name] = list.map((x, i) => fromJs(kind.of, x, `${at}[${i}]`, problems));
    } else if (kind.kind === 'map') {
      const obj = {};
      method(msg, `get${s}Map`, at)().forEach((x, k) => {
        obj[String(k)] = fromJs(kind.value, x, `${at}[${k}]`, problems);
      });
      out[name] = obj;
    } else if (kind.kind === 'message') {
      out[name] = method(msg, `has${s}`, at)() ? read(kind.type, method(msg, `get${s}`, at)(), at, problems) : null;
    } else if (kind.kind === 'bytes') {
      out[name] = u8ToHex(method(msg, `get${s}_asU8`, at)());
    } else {
      out[name] = fromJs(kind, method(msg, `get${s}`, at)(), at, problems);
    }
  }
  // The generated get<Group>Case() must agree with the member that has a value.
  const groups = new Set(Object.values(fields).filter((k) => k.oneof).map((k) => k.oneof));
  for (const group of groups) {
    const got = method(msg, `get${stem(group)}Case`, where)();
    const member = caseOf[group];
    const want = member === undefined ? 0 : Cls[`${stem(group)}Case`][member.toUpperCase()];
    if (got !== want) problems.push(`${where}: oneof ${group} case is ${got}, expected ${want} (${member})`);
  }
  return out;
}

// ---- comparison and fixture lint ------------------------------------------------------------------------
function diff(where, got, want, problems) {
  if (want !== null && typeof want === 'object') {
    if (got === null || typeof got !== 'object' || Array.isArray(got) !== Array.isArray(want)) {
      problems.push(`${where}: decoded ${JSON.stringify(got)}, fixture has ${JSON.stringify(want)}`);
      return;
    }
    if (Array.isArray(want) && got.length !== want.length) {
      problems.push(`${where}: decoded ${got.length} entries, fixture has ${want.length}`);
    }
    const keys = new Set([...Object.keys(got), ...Object.keys(want)]);
    for (const k of keys) {
      const at = Array.isArray(want) ? `${where}[${k}]` : `${where}.${k}`;
      if (!(k in want)) problems.push(`${at}: decoded ${JSON.stringify(got[k])}, absent from fixture`);
      else if (!(k in got)) problems.push(`${at}: missing after decoding, fixture has ${JSON.stringify(want[k])}`);
      else diff(at, got[k], want[k], problems);
    }
  } else if (got !== want) {
    problems.push(`${where}: decoded ${JSON.stringify(got)}, fixture has ${JSON.stringify(want)}`);
  }
}

/**
 * Fixture rules that make the comparison meaningful: every field non-default somewhere in the case, repeated
 * fields and maps with 2+ entries, and sibling scalars that share a wire type distinct (so a swapped field
 * number cannot hide behind equal values). Bools and enums are exempt from distinctness: the fixture varies
 * bools across repeated entries instead, and two-valued enums have only one non-default value.
 */
function lint(type, obj, where, seen, problems) {
  const [, fields] = schemaOf(type, where);
  const wireValues = { varint: new Map(), len: new Map() };
  for (const [name, kind] of Object.entries(fields)) {
    if (!(name in obj)) continue;
    const v = obj[name];
    const at = `${where}.${name}`;
    const key = `${type}.${name}`;
    if (!seen.has(key)) seen.set(key, false);
    if (kind.oneof || !isDefault(kind, v)) seen.set(key, true);
    if (kind.kind === 'repeated' || kind.kind === 'map') {
      const entries = kind.kind === 'map' ? Object.values(v) : v;
      if (entries.length < 2) problems.push(`${at}: fixture needs 2+ entries`);
      const of = kind.kind === 'map' ? kind.value : kind.of;
      entries.forEach((x, i) => lintValue(of, x, `${at}[${i}]`, seen, problems));
      continue;
    }
    lintValue(kind, v, at, seen, problems);
    const wire = ['string', 'bytes'].includes(kind.kind) ? 'len' : ['int32', 'int64', 'uint32', 'uint64'].includes(kind.kind) ? 'varint' : null;
    if (wire && !isDefault(kind, v)) {
      const norm = kind.kind === 'string' ? Buffer.from(v).toString('hex') : String(v);
      const other = wireValues[wire].get(norm);
      if (other) problems.push(`${at}: same value as sibling ${other}; use distinct values so swapped fields show`);
      wireValues[wire].set(norm, name);
    }
  }
}

function lintValue(kind, v, where, seen, problems) {
  if (kind.kind === 'message') lint(kind.type, v, where, seen, problems);
  if (kind.kind === 'any') lint(String(v.type_url).split('/').pop(), v.value, `${where}.value`, seen, problems);
}

function lintCase(c) {
  const problems = [];
  const seen = new Map();
  lint(c.type, c.value, c.name, seen, problems);
  for (const [field, nonDefault] of seen) {
    if (!nonDefault) problems.push(`${c.name}: ${field} is never set to a non-default value in this case`);
  }
  return problems;
}

/** True when this fixture value has a map field, so its encoding depends on map iteration order. */
function hasMap(type, value) {
  const [, fields] = SCHEMA[type];
  return Object.entries(fields).some(([name, kind]) => {
    if (!(name in value)) return false;
    const inner = kind.kind === 'repeated' ? kind.of : kind;
    const values = kind.kind === 'repeated' ? value[name] : [value[name]];
    if (inner.kind === 'map') return true;
    return inner.kind === 'message' && values.some((v) => hasMap(inner.type, v));
  });
}

function topLevelFieldNumbers(buf) {
  const reader = new jspb.BinaryReader(buf);
  const numbers = [];
  while (reader.nextField() && !reader.isEndGroup()) {
    numbers.push(reader.getFieldNumber());
    reader.skipField();
  }
  return numbers;
}

// ---- commands --------------------------------------------------------------------------------------------
function encode(cases, outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  const problems = [];
  for (const c of cases) {
    problems.push(...lintCase(c));
    const buf = build(c.type, c.value, c.name).serializeBinary();
    fs.writeFileSync(path.join(outDir, `${c.name}.bin`), buf);
  }
  return problems;
}

function checkCase(c, inDir) {
  const problems = [];
  const [Cls] = schemaOf(c.type, c.name);
  const file = path.join(inDir, `${c.name}.bin`);
  if (!fs.existsSync(file)) return [`${c.name} (${c.type}): carechain wrote no ${file}`];
  const theirs = new Uint8Array(fs.readFileSync(file));
  let msg;
  try {
    msg = Cls.deserializeBinary(theirs);
  } catch (e) {
    return [`${c.name} (${c.type}): fabric-protos cannot decode carechain's bytes: ${e.message}`];
  }
  diff(`${c.name} (${c.type})`, read(c.type, msg, c.type, problems), c.value, problems);

  // google-protobuf's generated readers skip fields they do not know, so a field carechain writes under a
  // number Fabric does not have would vanish silently: re-encoding must give back every byte.
  const again = msg.serializeBinary();
  if (again.length !== theirs.length) {
    const known = new Set(topLevelFieldNumbers(again));
    const unknown = [...new Set(topLevelFieldNumbers(theirs))].filter((n) => !known.has(n));
    problems.push(
      `${c.name} (${c.type}): fabric-protos keeps ${again.length} of carechain's ${theirs.length} bytes; ` +
        `fields it does not know (top-level numbers ${JSON.stringify(unknown)}, or inside nested messages)`,
    );
  }

  // Without maps both encoders are canonical (fields in number order), so the bytes must be identical.
  // prost iterates a HashMap in random order, so messages that contain a map are compared by value only.
  if (!hasMap(c.type, c.value)) {
    const ours = build(c.type, c.value, c.name).serializeBinary();
    const at = ours.findIndex((b, i) => b !== theirs[i]);
    if (ours.length !== theirs.length || at !== -1) {
      const i = at === -1 ? Math.min(ours.length, theirs.length) : at;
      problems.push(
        `${c.name} (${c.type}): carechain's bytes differ from fabric-protos' encoding of the same fixture at offset ${i} ` +
          `(carechain ${u8ToHex(theirs.slice(i, i + 8))}…, fabric-protos ${u8ToHex(ours.slice(i, i + 8))}…; lengths ${theirs.length} vs ${ours.length})`,
      );
    }
  }
  return problems;
}

function main(argv) {
  const [command, fixturePath, dir] = argv;
  if (!['encode', 'check'].includes(command) || !fixturePath || !dir) {
    console.error('usage: node compat.js encode|check <fixtures.json> <dir>');
    return 2;
  }
  const { cases } = JSON.parse(fs.readFileSync(fixturePath, 'utf8'));
  let problems;
  try {
    problems = command === 'encode' ? encode(cases, dir) : cases.flatMap((c) => checkCase(c, dir));
  } catch (e) {
    if (!(e instanceof FixtureError)) throw e;
    problems = [e.message];
  }
  for (const p of problems) console.error(`MISMATCH ${p}`);
  const canonical = cases.filter((c) => !hasMap(c.type, c.value)).length;
  const detail = command === 'check' ? ` checked, ${canonical} of them also byte-for-byte` : ' encoded';
  console.log(`fabric-protos ${command}: ${cases.length} cases${detail}; ${problems.length} problems`);
  return problems.length === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
