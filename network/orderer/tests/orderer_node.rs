//! Black-box tests of an ordering node: real TLS on 127.0.0.1, real RocksDB, identities from cryptogen,
//! channels from a configtx.yaml; driven only through the Admin, Broadcast and Deliver services.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use carechain_channel::block::header_hash;
use carechain_crypto::msp::SigningIdentity;
use carechain_proto::carechain::admin::admin_client::AdminClient;
use carechain_proto::carechain::admin::{ChannelInfoQuery, ListChannels, SetLogLevel, admin_request::Body};
use carechain_proto::carechain::cluster::ForwardRequest;
use carechain_proto::carechain::cluster::cluster_client::ClusterClient;
use carechain_proto::common::{HeaderType, Status};
use carechain_proto::orderer::seek_info::{SeekBehavior, SeekContentType};
use carechain_proto::orderer::{SeekInfo, SeekNewest, SeekNextCommit, deliver_response, seek_position};
use common::*;
use tonic::Code;

const SUCCESS: i32 = Status::Success as i32;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_joins_channels_only_for_admins_of_the_orderer_org() {
    let net = Net::new();
    let mut n = Node::start(&net, "data").await;
    let genesis = net.genesis("ByCount", "care");
    let join = |who: &SigningIdentity| admin_request(who, Body::JoinChannel(join_body(&genesis)), now());

    let list = n.admin.list_channels(admin_request(
        &net.orderer_admin(),
        Body::ListChannels(ListChannels {}),
        now(),
    ));
    assert!(list.await.unwrap().into_inner().channel_ids.is_empty());

    for (who, expect) in [
        (net.hospital_admin(), "unknown MSP id HospitalAMSP"),
        (net.client(), "admin of OrdererMSP"),
        (net.orderer_node(), "is not an admin"),
    ] {
        let err = n.admin.join_channel(join(&who)).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
        assert!(err.message().contains(expect), "{}", err.message());
    }
    let stale = admin_request(
        &net.orderer_admin(),
        Body::JoinChannel(join_body(&genesis)),
        minutes_ago(20),
    );
    let err = n.admin.join_channel(stale).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().contains("15 minutes"), "{}", err.message());
    let mut forged = join(&net.orderer_admin());
    forged.signature = net.client().sign(&forged.request).into();
    assert_eq!(
        n.admin.join_channel(forged).await.unwrap_err().code(),
        Code::PermissionDenied
    );

    let mut later = genesis.clone();
    later.header.as_mut().unwrap().number = 1;
    let err = n
        .admin
        .join_channel(admin_request(
            &net.orderer_admin(),
            Body::JoinChannel(join_body(&later)),
            now(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message()
            .contains("no other consenter to pull its blocks from"),
        "{}",
        err.message()
    );
    for (profile, code, expect) in [
        ("NotMine", Code::FailedPrecondition, "not a consenter"),
        ("SharedCert", Code::InvalidArgument, "share a TLS certificate"),
    ] {
        let other = net.genesis(profile, "other");
        let err = n
            .admin
            .join_channel(admin_request(
                &net.orderer_admin(),
                Body::JoinChannel(join_body(&other)),
                now(),
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), code, "{err:?}");
        assert!(err.message().contains(expect), "{}", err.message());
    }

    let joined = n
        .admin
        .join_channel(join(&net.orderer_admin()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((joined.channel_id.as_str(), joined.height), ("care", 1));
    assert_eq!(
        n.admin
            .join_channel(join(&net.orderer_admin()))
            .await
            .unwrap_err()
            .code(),
        Code::AlreadyExists
    );
    let list = n.admin.list_channels(admin_request(
        &net.orderer_admin(),
        Body::ListChannels(ListChannels {}),
        now(),
    ));
    assert_eq!(
        list.await.unwrap().into_inner().channel_ids,
        vec!["care".to_string()]
    );

    let query = |ch: &str| {
        Body::ChannelInfo(ChannelInfoQuery {
            channel_id: ch.into(),
        })
    };
    let info = n
        .admin
        .channel_info(admin_request(&net.orderer_admin(), query("care"), now()))
        .await
        .unwrap()
        .into_inner();
    let bc = info.info.unwrap();
    assert_eq!(bc.height, 1);
    assert_eq!(
        bc.current_block_hash.as_ref(),
        header_hash(genesis.header.as_ref().unwrap())
    );
    assert_eq!(
        info.member_msp_ids,
        vec!["HospitalAMSP".to_string(), "OrdererMSP".to_string()]
    );
    assert_eq!((info.config_sequence, info.role.as_str()), (0, "leader"));
    let err = n
        .admin
        .channel_info(admin_request(&net.orderer_admin(), query("nope"), now()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = n.admin.set_log_level(admin_request(
        &net.orderer_admin(),
        Body::SetLogLevel(SetLogLevel {
            filter: "debug".into(),
        }),
        now(),
    ));
    assert_eq!(err.await.unwrap_err().code(), Code::Unimplemented);
    n.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_ports_verify_client_certificates() {
    let net = Net::new();
    let mut n = Node::start(&net, "data").await;
    // The client port accepts the org admin's TLS client certificate (its CA is trusted from the start).
    let mut admin = AdminClient::new(net.connect_as_admin_lazy(n.node.client_address()));
    let list = admin.list_channels(admin_request(
        &net.orderer_admin(),
        Body::ListChannels(ListChannels {}),
        now(),
    ));
    assert!(list.await.is_ok());
    // The cluster port requires one: without it no call gets through; with it the call reaches the
    // cluster service (which has no Admin service, and takes no Raft traffic from non-consenters).
    let cluster = n.node.cluster_address().unwrap();
    let no_cert = match carechain_transport::connect_lazy(&cluster.to_string(), &carechain_transport::ClientTls {
        ca_pem: std::fs::read(net.path("crypto/ordererOrganizations/orderer.carechain.test/tlsca/tlsca.orderer.carechain.test-cert.pem")).unwrap(),
        identity: None,
        server_name: Some(ORDERER_HOST.into()),
        max_message_bytes: 1 << 20,
    }) {
        Ok(ch) => AdminClient::new(ch).list_channels(admin_request(&net.orderer_admin(), Body::ListChannels(ListChannels {}), now())).await.unwrap_err().code(),
        Err(_) => Code::Unavailable,
    };
    assert_ne!(no_cert, Code::Unimplemented);
    let mut with_cert = AdminClient::new(net.connect_as_admin_lazy(cluster));
    let err = with_cert
        .list_channels(admin_request(
            &net.orderer_admin(),
            Body::ListChannels(ListChannels {}),
            now(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    n.join(&net, "ByCount", "care").await;
    let mut raft = ClusterClient::new(net.connect_as_admin_lazy(cluster));
    let forward = |channel: &str| ForwardRequest {
        channel: channel.into(),
        envelope: Bytes::from_static(b"synthetic"),
        config_seq: 0,
    };
    let err = raft.forward(forward("care")).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(
        err.message()
            .contains("not the ClientTLSCert of a consenter of channel care"),
        "{}",
        err.message()
    );
    assert_eq!(
        raft.forward(forward("nope")).await.unwrap_err().code(),
        Code::NotFound
    );
    n.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_quorum_of_consenters_broadcast_answers_service_unavailable() {
    let net = Net::new();
    let mut n = Node::start(&net, "data").await;
    // This orderer is one of three consenters; the other two never start.
    n.join(&net, "ThreeConsenters", "care").await;
    let started = std::time::Instant::now();
    let r = n.broadcast(vec![tx(&net.client(), "care", 1)]).await;
    assert_eq!(r[0].status, Status::ServiceUnavailable as i32);
    assert!(
        r[0].info.contains("channel care has no Raft leader"),
        "{}",
        r[0].info
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered after {:?}",
        started.elapsed()
    );
    let info = n
        .admin
        .channel_info(admin_request(
            &net.orderer_admin(),
            Body::ChannelInfo(ChannelInfoQuery {
                channel_id: "care".into(),
            }),
            now(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((info.role.as_str(), info.info.unwrap().height), ("follower", 1));
    n.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_envelopes_come_back_in_order_in_signed_hash_chained_blocks() {
    let net = Net::new();
    let mut n = Node::start(&net, "data").await;
    let genesis = n.join(&net, "ByCount", "care").await;
    let client = net.client();
    let sent: Vec<_> = (0..6).map(|i| tx(&client, "care", i)).collect();
    let responses = n.broadcast(sent.clone()).await;
    assert!(responses.iter().all(|r| r.status == SUCCESS), "{responses:?}");

    // MaxMessageCount is 3 and the timeout 10 s: two full blocks, cut by count. Peers read as Readers.
    let (blocks, status) = n.deliver(seek_range(&net.peer(), "care", 0, 2)).await;
    assert_eq!(status, SUCCESS);
    assert_eq!(blocks.len(), 3);
    assert_eq!(blocks[0], genesis);
    assert_eq!(envelopes(&blocks[1]), sent[..3].to_vec());
    assert_eq!(envelopes(&blocks[2]), sent[3..].to_vec());
    check_blocks(&net.channel_config(&genesis), &blocks);
    n.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_timeout_cuts_a_partial_block() {
    let net = Net::new();
    let mut n = Node::start(&net, "data").await;
    let genesis = n.join(&net, "ByTimeout", "care").await;
    let sent = vec![tx(&net.client(), "care", 1), tx(&net.client(), "care", 2)];
    let started = std::time::Instant::now();
    assert!(
        n.broadcast(sent.clone())
            .await
            .iter()
            .all(|r| r.status == SUCCESS)
    );
    // MaxMessageCount is 100: only the 100 ms timer can cut this block.
    let (blocks, status) = n.deliver(seek_range(&net.client(), "care", 0, 1)).await;
    assert_eq!(status, SUCCESS);
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(envelopes(&blocks[1]), sent);
    check_blocks(&net.channel_config(&genesis), &blocks);
    n.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_envelopes_get_their_status_and_nothing_is_ordered() {
    let net = Net::new();
    let mut n = Node::start(&net, "data").await;
    n.join(&net, "ByTimeout", "care").await;
    let client = net.client();
    let mut malformed = tx(&client, "care", 0);
    malformed.payload = Bytes::from_static(&[0x0a, 0xff, 0x01]);
    let mut bad_signature = tx(&client, "care", 0);
    bad_signature.signature = client.sign(b"something else").into();
    let body = |n| Bytes::from(format!("Synthetic Patient {n:04}"));
    let oversized = envelope_at(
        &client,
        "care",
        HeaderType::EndorserTransaction,
        Bytes::from(vec![7u8; 40 * 1024]),
        now(),
    );
    let good = tx(&client, "care", 99);
    let cases = vec![
        (malformed, Status::BadRequest, "payload"),
        (tx(&client, "elsewhere", 0), Status::NotFound, "elsewhere"),
        (bad_signature, Status::Forbidden, "signature"),
        (
            tx(&net.rogue(), "care", 0),
            Status::Forbidden,
            "not a CA of MSP HospitalAMSP",
        ),
        (tx(&net.outsider(), "care", 0), Status::Forbidden, "OutsiderMSP"),
        (tx(&net.peer(), "care", 0), Status::Forbidden, "/Channel/Writers"),
        (oversized, Status::RequestEntityTooLarge, "AbsoluteMaxBytes"),
        (
            envelope_at(
                &client,
                "care",
                HeaderType::EndorserTransaction,
                body(1),
                minutes_ago(16),
            ),
            Status::BadRequest,
            "behind",
        ),
        (
            envelope_at(&client, "care", HeaderType::ConfigUpdate, body(2), now()),
            Status::BadRequest,
            "CONFIG_UPDATE data is not a common.ConfigUpdateEnvelope",
        ),
        (
            envelope_at(&client, "care", HeaderType::DeliverSeekInfo, body(3), now()),
            Status::BadRequest,
            "DELIVER_SEEK_INFO",
        ),
        (good.clone(), Status::Success, ""),
    ];
    let (envs, expected): (Vec<_>, Vec<_>) = cases.into_iter().map(|(e, s, m)| (e, (s, m))).unzip();
    let responses = n.broadcast(envs).await;
    for (r, (status, text)) in responses.iter().zip(&expected) {
        assert_eq!(r.status, *status as i32, "{r:?}");
        assert!(r.info.contains(text), "expected {text:?} in {:?}", r.info);
    }
    let (blocks, status) = n.deliver(seek_range(&client, "care", 1, 1)).await;
    assert_eq!(status, SUCCESS);
    assert_eq!(envelopes(&blocks[0]), vec![good]);
    n.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_checks_readers_and_serves_seeks_on_one_stream() {
    let net = Net::new();
    let mut n = Node::start(&net, "data").await;
    n.join(&net, "ByTimeout", "care").await;
    let (tx_req, rx_req) = tokio::sync::mpsc::channel(8);
    let mut responses =
        n.ab.deliver(tokio_stream::wrappers::ReceiverStream::new(rx_req))
            .await
            .unwrap()
            .into_inner();
    let peer = net.peer();
    let next_commit = || {
        Some(carechain_proto::orderer::SeekPosition {
            r#type: Some(seek_position::Type::NextCommit(SeekNextCommit {})),
        })
    };
    let fail_beyond = SeekInfo {
        behavior: SeekBehavior::FailIfNotReady as i32,
        ..seek_info(5, 5)
    };
    let headers_only = SeekInfo {
        content_type: SeekContentType::HeaderWithSig as i32,
        start: position(seek_position::Type::Newest(SeekNewest {})),
        stop: position(seek_position::Type::Newest(SeekNewest {})),
        ..Default::default()
    };
    let requests = vec![
        (
            seek(&net.outsider(), "care", seek_info(0, 0)),
            vec![],
            Status::Forbidden,
        ),
        (
            seek(&net.rogue(), "care", seek_info(0, 0)),
            vec![],
            Status::Forbidden,
        ),
        (
            seek(&peer, "elsewhere", seek_info(0, 0)),
            vec![],
            Status::NotFound,
        ),
        (seek(&peer, "care", fail_beyond), vec![], Status::NotFound),
        (tx(&peer, "care", 0), vec![], Status::BadRequest),
        (
            seek(&peer, "care", headers_only),
            vec![(0, false)],
            Status::Success,
        ),
        (
            seek(&net.orderer_node(), "care", seek_info(0, 0)),
            vec![(0, true)],
            Status::Success,
        ),
    ];
    for (request, want_blocks, want_status) in requests {
        tx_req.send(request).await.unwrap();
        for (number, with_data) in want_blocks {
            let block = next_block(&mut responses).await;
            assert_eq!(block.header.as_ref().unwrap().number, number);
            assert_eq!(block.data.is_some(), with_data);
        }
        assert_eq!(next_status(&mut responses).await, want_status as i32);
    }
    // BLOCK_UNTIL_READY from the next commit waits for the block the broadcast creates.
    let wait = SeekInfo {
        start: next_commit(),
        stop: next_commit(),
        ..Default::default()
    };
    tx_req.send(seek(&peer, "care", wait)).await.unwrap();
    // next_commit is the height when the request is served; give the session time to resolve it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = tx(&net.client(), "care", 7);
    assert_eq!(n.broadcast(vec![sent.clone()]).await[0].status, SUCCESS);
    let block = next_block(&mut responses).await;
    assert_eq!(block.header.as_ref().unwrap().number, 1);
    assert_eq!(envelopes(&block), vec![sent]);
    assert_eq!(next_status(&mut responses).await, SUCCESS);
    n.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_serves_the_same_chain_and_continues_it() {
    let net = Net::new();
    let mut n = Node::start(&net, "data").await;
    let genesis = n.join(&net, "ByCount", "care").await;
    n.join(&net, "ByTimeout", "second").await;
    let first: Vec<_> = (0..3).map(|i| tx(&net.client(), "care", i)).collect();
    assert!(n.broadcast(first).await.iter().all(|r| r.status == SUCCESS));
    let (before, status) = n.deliver(seek_range(&net.client(), "care", 0, 1)).await;
    assert_eq!(status, SUCCESS);
    // Acknowledged but not yet cut (count 3, timeout 10 s): shutdown orders it rather than losing it.
    let pending = tx(&net.client(), "care", 3);
    assert_eq!(n.broadcast(vec![pending.clone()]).await[0].status, SUCCESS);
    // A stream still waiting for blocks must not hold the node up.
    let waiting = n.ab.deliver(tokio_stream::iter(vec![seek_range(
        &net.client(),
        "care",
        0,
        100,
    )]));
    let mut waiting = waiting.await.unwrap().into_inner();
    n.node.shutdown().await.unwrap();
    while let Ok(Some(_)) = waiting.message().await {}

    let mut n = Node::start(&net, "data").await;
    // The restarted single-consenter group elects itself again before it orders anything; on a loaded
    // machine that can take longer than Broadcast's one-second wait for a leader.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !n.node.channels().iter().all(|c| c.role == "leader") {
        assert!(
            std::time::Instant::now() < deadline,
            "no leader after restart: {:?}",
            n.node.channels()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let heights: Vec<_> = n
        .node
        .channels()
        .into_iter()
        .map(|c| (c.channel_id, c.height))
        .collect();
    assert_eq!(heights, vec![("care".to_string(), 3), ("second".to_string(), 1)]);
    let (after, status) = n.deliver(seek_range(&net.client(), "care", 0, 2)).await;
    assert_eq!(status, SUCCESS);
    assert_eq!(after[..2], before[..]);
    assert_eq!(envelopes(&after[2]), vec![pending]);
    let more: Vec<_> = (4..7).map(|i| tx(&net.client(), "care", i)).collect();
    let responses = n.broadcast(more.clone()).await;
    assert!(responses.iter().all(|r| r.status == SUCCESS));
    let (all, status) = n.deliver(seek_range(&net.client(), "care", 0, 3)).await;
    assert_eq!(status, SUCCESS);
    assert_eq!(envelopes(&all[3]), more);
    check_blocks(&net.channel_config(&genesis), &all);
    n.node.shutdown().await.unwrap();
}

fn seek_info(start: u64, stop: u64) -> SeekInfo {
    SeekInfo {
        start: position(specified(start)),
        stop: position(specified(stop)),
        ..Default::default()
    }
}

async fn next_response(
    s: &mut tonic::Streaming<carechain_proto::orderer::DeliverResponse>,
) -> deliver_response::Type {
    tokio::time::timeout(Duration::from_secs(10), s.message())
        .await
        .expect("deliver answered in time")
        .unwrap()
        .unwrap()
        .r#type
        .unwrap()
}

async fn next_block(
    s: &mut tonic::Streaming<carechain_proto::orderer::DeliverResponse>,
) -> carechain_proto::common::Block {
    match next_response(s).await {
        deliver_response::Type::Block(b) => b,
        other => panic!("expected a block, got {other:?}"),
    }
}

async fn next_status(s: &mut tonic::Streaming<carechain_proto::orderer::DeliverResponse>) -> i32 {
    match next_response(s).await {
        deliver_response::Type::Status(st) => st,
        other => panic!("expected a status, got {other:?}"),
    }
}
