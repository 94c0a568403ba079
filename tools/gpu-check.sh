#!/usr/bin/env bash
# GPU check (issue 22): run on a GPU host, paste the report into an issue. Not verified on GPU
# hardware yet: this script is how it gets verified. Usage: tools/gpu-check.sh [model dir]
# (default: the packaged expression model; pass a seed model directory, e.g. one from
# `daemon models pull`, to check ONNX Runtime's CUDA provider on the CNN-RNN ensemble).
set -u
cd "$(dirname "$0")/.."
MODEL="${1:-config/models/default-expressions}"
INPUT="test/fixtures/media/single_face.mp4"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
D="node bin/daemon.js"
npm run -s build >/dev/null 2>&1 || npx tsc -p tsconfig.build.json

echo "## gpu-check $(date -u +%FT%TZ) on $(hostname)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu: /'

echo "### daemon doctor"
$D doctor --json >"$OUT/doctor.json" 2>"$OUT/doctor.err" || { echo "doctor failed:"; cat "$OUT/doctor.err"; }
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const p = (x) => (typeof x === "string" ? x : x.error ? `cannot be placed: ${x.error.message}` : `${x.engine} on ${x.provider} (${x.device}${x.deviceName ? ": " + x.deviceName : ""})`);
console.log(`node ${r.node}, FFmpeg ${r.ffmpeg.ffmpeg}, ONNX Runtime ${r.onnxRuntime.version}, TF.js ${r.tfjs.selected}${r.tfjs.gpuDevice ? " (GPU device)" : ""}`);
console.log(`CUDA provider: library ${r.onnxRuntime.cuda.library ?? "absent"}, session ${r.onnxRuntime.cuda.session}${r.onnxRuntime.cuda.error ? ": " + r.onnxRuntime.cuda.error : ""}`);
console.log(`GPUs: ${r.gpus.visible ? r.gpus.names.join(", ") : "none visible"}`);
console.log(`placement face models: ${p(r.placements["face-detector"])}`);
console.log(`placement affect model: ${p(r.placements.affect)}`);
' "$OUT/doctor.json"

echo "### bench model --device gpu (TF.js on tensorflow-gpu beside wasm; ONNX Runtime rows on CUDA)"
$D bench model --arch compact --batch 8 --seconds 5 --backend tensorflow-gpu,wasm --device gpu --json 2>&1 | tail -n 40

echo "### bench faces --device gpu (BlazeFace + FaceMesh on each engine)"
$D bench faces --engine onnx,tfjs --backend tensorflow-gpu --device gpu 2>&1 | tail -n 12

echo "### bench pipeline --device gpu"
$D bench pipeline --device gpu --arch compact,resnet50 --streams 1 --analysis-fps all,10 --seconds 20 2>&1 | tail -n 12

echo "### parity: predict --device gpu vs --device cpu on $INPUT ($MODEL)"
ok=1
$D predict --model "$MODEL" --input "$INPUT" --out "$OUT/gpu.csv" --device gpu 2>"$OUT/gpu.err" || { ok=0; echo "predict --device gpu failed:"; tail -n 3 "$OUT/gpu.err"; }
$D predict --model "$MODEL" --input "$INPUT" --out "$OUT/cpu.csv" --device cpu 2>"$OUT/cpu.err" || { ok=0; echo "predict --device cpu failed:"; tail -n 3 "$OUT/cpu.err"; }
grep -h '^placement' "$OUT/gpu.err" "$OUT/cpu.err" 2>/dev/null
if [ "$ok" = 1 ]; then
  node -e '
const fs = require("fs");
const read = (f) => fs.readFileSync(f, "utf8").trim().split("\n").map((l) => l.split(","));
const [g, c] = [read(process.argv[1]), read(process.argv[2])];
if (g.length !== c.length) { console.log(`FAIL: ${g.length - 1} rows on the GPU, ${c.length - 1} on the CPU`); process.exit(1); }
const cols = c[0].map((h, i) => [h, i]).filter(([h]) => /probs\.|^va\./.test(h));
let worst = 0, where = "";
for (let r = 1; r < c.length; r++) for (const [h, i] of cols) {
  const d = Math.abs(Number(g[r][i]) - Number(c[r][i]));
  if (d > worst) { worst = d; where = `row ${r}, ${h}`; }
}
console.log(`${worst <= 1e-3 ? "PASS" : "FAIL"}: ${c.length - 1} rows, ${cols.length} columns, max |GPU - CPU| = ${worst.toExponential(2)}${where ? " (" + where + ")" : ""} (tolerance 1e-3)`);
' "$OUT/gpu.csv" "$OUT/cpu.csv"
fi
