// The official Fabric Gateway client SDK for Node (@hyperledger/fabric-gateway 1.11), unmodified,
// against a running carechain network. Usage: node interop.js <settings.json>
// settings: { peerEndpoint, hostAlias, tlsCaPath, mspId, certPath, keyPath, channel, chaincode }
// Every check prints "PASS <name>"; the first failure exits non-zero with the reason.
'use strict';

const fs = require('node:fs');
const crypto = require('node:crypto');
const grpc = require('@grpc/grpc-js');
const { connect, hash, signers, CommitError, EndorseError, GatewayError, StatusCode } = require('@hyperledger/fabric-gateway');

const settings = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const utf8 = new TextDecoder();

function assert(cond, message) {
    if (!cond) {
        throw new Error(`assertion failed: ${message}`);
    }
}

async function check(name, fn) {
    try {
        await fn();
        console.log(`PASS ${name}`);
    } catch (err) {
        console.error(`FAIL ${name}: ${err.stack || err}`);
        if (err.details) {
            console.error(`  details: ${JSON.stringify(err.details)}`);
        }
        process.exit(1);
    }
}

async function main() {
    const client = new grpc.Client(
        settings.peerEndpoint,
        grpc.credentials.createSsl(fs.readFileSync(settings.tlsCaPath)),
        { 'grpc.ssl_target_name_override': settings.hostAlias },
    );
    const gateway = connect({
        client,
        identity: { mspId: settings.mspId, credentials: fs.readFileSync(settings.certPath) },
        signer: signers.newPrivateKeySigner(crypto.createPrivateKey(fs.readFileSync(settings.keyPath))),
        hash: hash.sha256,
        evaluateOptions: () => ({ deadline: Date.now() + 10000 }),
        endorseOptions: () => ({ deadline: Date.now() + 30000 }),
        submitOptions: () => ({ deadline: Date.now() + 10000 }),
        commitStatusOptions: () => ({ deadline: Date.now() + 60000 }),
    });
    const network = gateway.getNetwork(settings.channel);
    const contract = network.getContract(settings.chaincode);
    const id = `interop-${Date.now()}-${crypto.randomBytes(3).toString('hex')}`;
    let createdBlock;

    await check('evaluate GetAllAssets returns a JSON array', async () => {
        const result = await contract.evaluateTransaction('GetAllAssets');
        assert(Array.isArray(JSON.parse(utf8.decode(result))), 'GetAllAssets is not an array');
    });

    await check('submit CreateAsset commits VALID and is readable', async () => {
        const commit = await contract.submitAsync('CreateAsset', { arguments: [id, 'blue', '5', 'Synthetic Owner', '300'] });
        const status = await commit.getStatus();
        assert(status.successful && status.code === StatusCode.VALID, `status ${status.code}`);
        createdBlock = status.blockNumber;
        const asset = JSON.parse(utf8.decode(await contract.evaluateTransaction('ReadAsset', id)));
        assert(asset.ID === id && asset.Owner === 'Synthetic Owner' && asset.Size === 5, utf8.decode(Buffer.from(JSON.stringify(asset))));
    });

    await check('submitTransaction returns the chaincode result (TransferAsset old owner)', async () => {
        const result = await contract.submitTransaction('TransferAsset', id, 'Synthetic New Owner');
        assert(utf8.decode(result) === 'Synthetic Owner', `result ${utf8.decode(result)}`);
    });

    await check('submitAsync + getStatus', async () => {
        const commit = await contract.submitAsync('UpdateAsset', { arguments: [id, 'red', '6', 'Synthetic New Owner', '350'] });
        assert(commit.getTransactionId().length === 64, 'transaction id');
        const status = await commit.getStatus();
        assert(status.successful, `code ${status.code}`);
        assert(typeof status.blockNumber === 'bigint' && status.blockNumber >= createdBlock, 'block number');
    });

    await check('chaincode events from a start block', async () => {
        const events = await network.getChaincodeEvents(settings.chaincode, { startBlock: createdBlock });
        try {
            const seen = [];
            for await (const event of events) {
                seen.push(event.eventName);
                if (event.eventName === 'CreateAsset') {
                    const asset = JSON.parse(utf8.decode(event.payload));
                    if (asset.ID === id) {
                        assert(event.blockNumber === createdBlock, 'event block number');
                        assert(event.transactionId.length === 64, 'event tx id');
                        assert(event.chaincodeName === settings.chaincode, 'event chaincode');
                        break;
                    }
                }
                assert(seen.length < 1000, `CreateAsset of ${id} not among ${seen.length} events`);
            }
        } finally {
            events.close();
        }
    });

    await check('a failing chaincode call surfaces the chaincode error', async () => {
        try {
            await contract.evaluateTransaction('ReadAsset', `${id}-missing`);
            assert(false, 'expected an error');
        } catch (err) {
            assert(err instanceof GatewayError, `not a GatewayError: ${err}`);
            const text = `${err.message} ${JSON.stringify(err.details)}`;
            assert(text.includes('does not exist'), text);
        }
        try {
            await contract.submitTransaction('CreateAsset', id, 'blue', '5', 'X', '1');
            assert(false, 'expected an error');
        } catch (err) {
            assert(err instanceof EndorseError || err instanceof GatewayError, `wrong error type: ${err}`);
            const text = `${err.message} ${JSON.stringify(err.details)}`;
            assert(text.includes('already exists'), text);
        }
    });

    await check('ENDORSEMENT_POLICY_FAILURE is reported as a CommitError', async () => {
        try {
            await contract.submit('CreateAsset', {
                arguments: [`${id}-one-org`, 'green', '1', 'Synthetic Owner', '10'],
                endorsingOrganizations: [settings.mspId],
            });
            assert(false, 'expected a CommitError');
        } catch (err) {
            assert(err instanceof CommitError, `not a CommitError: ${err}`);
            assert(err.code === StatusCode.ENDORSEMENT_POLICY_FAILURE, `code ${err.code}`);
        }
    });

    await check('MVCC_READ_CONFLICT for two transactions endorsed on the same state', async () => {
        const first = await contract.newProposal('UpdateAsset', { arguments: [id, 'black', '7', 'A', '1'] }).endorse();
        const second = await contract.newProposal('UpdateAsset', { arguments: [id, 'white', '8', 'B', '2'] }).endorse();
        const s1 = await (await first.submit()).getStatus();
        const s2 = await (await second.submit()).getStatus();
        assert(s1.successful, `first ${s1.code}`);
        assert(s2.code === StatusCode.MVCC_READ_CONFLICT && !s2.successful, `second ${s2.code}`);
    });

    gateway.close();
    client.close();
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
