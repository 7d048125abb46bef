// ort_run.js runs an ONNX model exported by netc in ONNX Runtime (onnxruntime-node, CPU).
//
// Usage: node ort_run.js model.onnx input.f32 N C H W out.f32 [probs.f32]
//
// input.f32 holds N×C×H×W raw little-endian float32 values, fed as the model's input
// "input" [N, C, H, W]. The output "scores" is written to out.f32 as raw little-endian
// float32, and "probs" to probs.f32 when that argument is given. One line describing the
// outputs' shapes is printed. Exits non-zero with a message on any failure.
//
// onnxruntime-node must be resolvable: NODE_PATH=/path/to/node_modules node ort_run.js ...
// Install it with ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0 (the
// variable stops its install script from fetching GPU libraries; the CPU one ships inside).
// ORT_THREADS sets the intra-op threads (default 1).
'use strict';
const fs = require('fs');

function fail(msg) {
  process.stderr.write(`ort_run: ${msg}\n`);
  process.exit(1);
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length !== 7 && args.length !== 8) {
    fail('usage: node ort_run.js model.onnx input.f32 N C H W out.f32 [probs.f32]');
  }
  const [modelPath, inputPath, ...rest] = args;
  const dims = rest.slice(0, 4).map((s) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 1) fail(`bad dimension ${JSON.stringify(s)}: want a positive integer`);
    return v;
  });
  const outPath = rest[4];
  const probsPath = rest[5];

  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    fail(`cannot load onnxruntime-node (set NODE_PATH to the node_modules holding it): ${e.message}`);
  }

  const raw = fs.readFileSync(inputPath);
  const want = dims.reduce((a, b) => a * b, 1);
  if (raw.byteLength !== 4 * want) {
    fail(`${inputPath} has ${raw.byteLength} bytes, want ${4 * want} for [${dims.join(', ')}] float32`);
  }
  const x = new Float32Array(want);
  for (let i = 0; i < want; i++) x[i] = raw.readFloatLE(4 * i);

  const threads = parseInt(process.env.ORT_THREADS || '1', 10);
  const sess = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
  });
  const names = [outPath && 'scores', probsPath && 'probs'].filter(Boolean);
  for (const n of names) {
    if (!sess.outputNames.includes(n)) fail(`${modelPath} has no output "${n}" (outputs: ${sess.outputNames.join(', ')})`);
  }
  const res = await sess.run({ input: new ort.Tensor('float32', x, dims) }, names);
  const shapes = [];
  for (const [n, p] of [['scores', outPath], ['probs', probsPath]]) {
    if (!p) continue;
    const t = res[n];
    if (t.type !== 'float32') fail(`output ${n} is ${t.type}, want float32`);
    const b = Buffer.alloc(4 * t.data.length);
    for (let i = 0; i < t.data.length; i++) b.writeFloatLE(t.data[i], 4 * i);
    fs.writeFileSync(p, b);
    shapes.push(`${n} [${t.dims.join(', ')}]`);
  }
  await sess.release();
  console.log(shapes.join(' '));
}

main().catch((e) => fail(e && e.message ? e.message : String(e)));
