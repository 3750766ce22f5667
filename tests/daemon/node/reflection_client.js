// An independent headroomd client that knows only server reflection: no compiled stubs and
// no .proto files. It lists the services, describes FitService from the descriptors the
// daemon serves, and calls Estimate with a JSON request, as `grpcurl -d '{...}'` does.
// Usage: node reflection_client.js unix:/path/to/headroomd.sock
'use strict';

const assert = require('node:assert/strict');
const grpc = require('@grpc/grpc-js');
const { Client: ReflectionClient } = require('grpc-reflection-js');

const MODEL = 'deepseek-r1-distill-qwen-7b';

function unary(client, method, requestType, responseType, object) {
  const message = requestType.fromObject(object);
  const problem = requestType.verify(message);
  assert.equal(problem, null, `request does not match ${requestType.fullName}: ${problem}`);
  const bytes = Buffer.from(requestType.encode(message).finish());
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + 20000);
    client.makeUnaryRequest(method, (b) => b, (b) => responseType.decode(b), bytes,
      new grpc.Metadata(), { deadline }, (error, response) => (error ? reject(error) : resolve(
        responseType.toObject(response, { enums: String, longs: String, defaults: false }))));
  });
}

async function main() {
  const target = process.argv[2];
  assert.ok(target, 'usage: node reflection_client.js ENDPOINT');
  const credentials = grpc.credentials.createInsecure();
  const reflection = new ReflectionClient(target, credentials);

  // list
  const services = await reflection.listServices();
  console.log('services:', services.join(', '));
  for (const name of ['headroom.v1.FitService', 'headroom.v1.HardwareService',
    'headroom.v1.CatalogService', 'headroom.v1.RunReportService', 'grpc.health.v1.Health']) {
    assert.ok(services.includes(name), `list lacks ${name}`);
  }

  // describe headroom.v1.FitService
  const root = await reflection.fileContainingSymbol('headroom.v1.FitService');
  const fit = root.lookupService('headroom.v1.FitService');
  const methods = Object.values(fit.methods);
  for (const m of methods) {
    console.log(`  rpc ${m.name}(${m.requestType}) returns (${m.responseStream ? 'stream ' : ''}` +
      `${m.responseType})`);
  }
  assert.deepEqual(methods.map((m) => m.name).sort(), ['Estimate', 'Recommend', 'WatchFit']);
  assert.equal(fit.methods.WatchFit.responseStream, true);

  // Estimate with JSON, field names as in the .proto
  const requestType = root.lookupType('headroom.v1.EstimateRequest');
  const responseType = root.lookupType('headroom.v1.Estimate');
  assert.ok(requestType.fields.model, 'EstimateRequest has no field "model"');
  const client = new grpc.Client(target, credentials);
  const request = JSON.parse(`{"model": {"catalog_id": "${MODEL}"}, "llama_cpp": {"n_ctx": 8192}}`);
  const estimate = await unary(client, '/headroom.v1.FitService/Estimate', requestType,
    responseType, request);
  console.log(`Estimate ${MODEL}: ${estimate.verdict}, decode ${estimate.decode_tok_s} tok/s, ` +
    `${estimate.devices.length} GPU(s)`);
  assert.equal(estimate.model.id, MODEL);
  assert.equal(estimate.verdict, 'VERDICT_FITS');
  assert.ok(estimate.decode_tok_s > 0);

  // A bad request gets a real status code whose message names the field.
  await assert.rejects(
    unary(client, '/headroom.v1.FitService/Estimate', requestType, responseType,
      { model: { catalog_id: 'no-such-model' } }),
    (error) => error.code === grpc.status.NOT_FOUND && error.details.includes('model.catalog_id'));
  console.log('bad catalog id: NOT_FOUND naming model.catalog_id');

  client.close();
  reflection.grpcClient.close();
}

main().then(() => console.log('node reflection client: ok'), (error) => {
  console.error('node reflection client FAILED:', error);
  process.exit(1);
});
