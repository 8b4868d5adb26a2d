#!/usr/bin/env bash
# End-to-end browser test of the citizens' pages:
#  1. headless Chromium (Debian package; skipped if /usr/bin/chromium exists) and the
#     Node test's dependencies (npm ci: playwright-core and axe-core, no browser download);
#  2. the web bundle (scripts/build-web.sh), `vox` and `vox-verify`;
#  3. the four roles' key files (`vox keys new`) and the log's genesis signed by all of
#     them (`vox genesis new`); a throw-away `vox serve --genesis … --operator-key …` on
#     127.0.0.1 (free port); the registrar (`vox authority --key registrar.key`) opens
#     electorate "district" for enrolment by code (`electorate open --letters`: the
#     letters CSV holds the codes, the board only their hashes);
#  4. tests/web/citizen.mjs, phase enrol: a citizen enrols in "district" in the browser
#     with the code of a letter (enrol.html: credential drawn in wasm, shown once and
#     downloaded, only the request with the code posted; leaf index shown; the key on
#     GET /electorates/district), the same code again is refused as already used, and the
#     in-person request flow makes a credential and a request file for electorate "town"
#     (English and French; nothing sent); no request of the page holds any credential;
#  5. through the `vox` CLI with each role's own key: "town" registered from requests
#     (the browser-made one among them; that credential signs the petition with the
#     CLI); a citizen proposes petition "trees" in the browser (phase propose:
#     propose.html, the proposal signed in wasm with the credential file, which names the
#     electorate; errors shown in the page; the board holds it as proposed with the
#     proposer as first sponsor), then the same path as a CLI proposal: a sponsor signs
#     with the CLI and the petitions office moderates and publishes it; two more citizens enrol in "district" with `vox voter enrol --code`, the
#     registrar freezes "district", `vox voter check-enrolment` checks the browser's
#     code-enrolled credential, and the page (phase enrol-closed) refuses an unused code
#     of the frozen electorate and an unknown electorate with their sentences; an open petition on "town" and an open referendum on
#     "district" (four question kinds, three trustees, threshold 2, key ceremony over
#     HTTP); in the browser a citizen signs the petition, then votes with the credential
#     enrolled by code in the browser (the page first runs the device check D1–D7 of
#     protocol-spec/04-ballots.md §4.7 in wasm: board key pinned per origin, every leaf
#     proved included, the manifest fingerprint shown; audits one ballot, casts a fresh
#     one) and checks the receipt; votes again (the ballot names the first as `previous`,
#     §4.8: no alarm in this browser; the first receipt is then superseded by its own
#     ballot, and an alarm once the browser's journal of cast ballots is cleared, and in
#     the CLI, another device); through two dishonest servers (tests/web/mitm.mjs: a
#     substituted election key, a ceremony message not in the signed tree) the page
#     refuses to encrypt and posts nothing; a pin naming another board key is an alarm;
#     an anonymous referendum "anon-2026" on "district" (04 §4.10, same trustees): the
#     browser votes in it (phase anon: device check, then vox_ring.wasm checks the whole
#     board, derives the rings, looks up the tag's latest ballot, encrypts and ring-signs;
#     progress, audit, cast, receipt with ring and tag, the board's ballot names no
#     credential, a re-vote names the tag's latest ballot and survives a simulated 409
#     rings-changed, a credential of "town" refused in French), the CLI votes in it too;
#     a citizen ring-signs petition "ring-trees" in the browser (phase ring: progress,
#     receipt with ring and tag, no credential key in what is posted or on the board,
#     signing again refused, a credential in no ring refused, English and French);
#     then the election authority closes, the tally is computed, two trustees decrypt,
#     the result is published and the results page is checked, with the in-browser
#     verifier's report in English and in French;
#     accessibility: axe-core (npm, tests/web/package.json) audits every page in English
#     and French once its dynamic content is shown (and the ballot form, a verified
#     receipt, a drawn credential, the verifier's report): any "serious" or "critical"
#     violation fails the test;
#  6. the records of town-2026 and anon-2026 are exported and checked by `vox-verify`,
#     with the browser's receipts and the parties' public keys pinned.
# Bundle and responsiveness (issue 15 §4): the test checks the gzipped sizes of
# vox_web.wasm, vox_verify.wasm, vox_ring.wasm and vox_receipt.wasm against their budgets and that they import nothing
# (no wasm-bindgen glue), and that no main-thread task exceeds 100 ms (Long Tasks API)
# while a ballot is encrypted, audited and re-encrypted, a ring signature proved, or the
# record verified: the wasm runs in a Web Worker.
# VOX_WEB_BENCH=1 also times a 1-of-10 ballot's encryption in the browser (a second
# referendum, ten-2026; not in CI); scripts/bench-web.sh times the in-browser verifier.
# Screenshots: target/web-screenshots/. Keep the work dir with KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET_DIR=$(cd "${CARGO_TARGET_DIR:-target}" 2>/dev/null && pwd || echo "$ROOT/target")
say() { printf '\n==> %s\n' "$*"; }

say "Chromium"
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium
fi
/usr/bin/chromium --version || true

say "Node dependencies"
(cd tests/web && npm ci --no-audit --no-fund)

say "Web bundle"
scripts/build-web.sh
export VOX_WEB_DIR="$TARGET_DIR/vox-web-dist"

say "vox and vox-verify"
# VOX_PROFILE=debug reuses the test build (scripts/test.sh does this); default release.
PROFILE=${VOX_PROFILE:-release}
# One cargo invocation for both: features unify across them (vox-server turns on the
# shared crates' `openapi` feature), so vox-crypto and vox-protocol are built once.
PROFILE_FLAG=()
[ "$PROFILE" = release ] && PROFILE_FLAG=(--release)
cargo build "${PROFILE_FLAG[@]}" -p vox-cli --bin vox -p vox-verifier --bin vox-verify
VOX="$TARGET_DIR/$PROFILE/vox"
VERIFY="$TARGET_DIR/$PROFILE/vox-verify"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vox-web-test.XXXXXX")
# The CLI pins each server's board key (known_boards): keep this run's pins in its own
# work dir, so that a later run on the same port with a new key is not an alarm.
export VOX_HOME="$WORK/vox-home"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

say "Role keys and the genesis"
for role in operator registrar petitions-office election-authority; do
  "$VOX" keys new --role "$role" --out "$WORK/keys/$role.key" > "$WORK/keys-$role.pub"
done
"$VOX" genesis new --log-name web-test.vox.invalid/town \
  --operator "$WORK/keys/operator.key" --registrar "$WORK/keys/registrar.key" \
  --petitions-office "$WORK/keys/petitions-office.key" \
  --election-authority "$WORK/keys/election-authority.key" --out "$WORK/genesis.json"
"$VOX" genesis show --check "$WORK/genesis.json"

say "Server"
"$VOX" serve --listen 127.0.0.1:0 --database-url "sqlite://$WORK/vox.db" \
  --genesis "$WORK/genesis.json" --operator-key "$WORK/keys/operator.key" \
  > "$WORK/server.log" 2>&1 &
PIDS+=($!)
URL=""
for _ in $(seq 1 100); do
  URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$WORK/server.log" | head -n1 || true)
  if [ -n "$URL" ] && curl -fsS "$URL/healthz" >/dev/null 2>&1; then break; fi
  URL=""
  sleep 0.2
done
if [ -z "$URL" ]; then cat "$WORK/server.log"; echo "server did not start"; exit 1; fi
echo "server: $URL"

# Pages: served by the vox server itself once web.rs is mounted; until then, by a small
# same-origin proxy in front of it (tests/web/proxy.mjs).
PAGES="$URL"
if ! curl -fsS "$URL/index.html" 2>/dev/null | grep -q '<title'; then
  echo "NOTE: the server does not serve the pages yet (web_router not mounted); using tests/web/proxy.mjs"
  node tests/web/proxy.mjs "$VOX_WEB_DIR" "$URL" > "$WORK/proxy.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 50); do
    PAGES=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$WORK/proxy.log" | head -n1 || true)
    [ -n "$PAGES" ] && break
    sleep 0.1
  done
fi
echo "pages: $PAGES"

# Two dishonest servers in front of the real one, on 127.0.0.1 (tests/web/mitm.mjs): one
# shows another election key for town-2026, one serves a ceremony message that is not
# the one in its signed tree. The browser must refuse to encrypt through either.
# (Not in a $(…) subshell: the pid must reach PIDS for the cleanup.)
start_mitm() {
  node tests/web/mitm.mjs "$VOX_WEB_DIR" "$URL" "$1" town-2026 > "$WORK/mitm-$1.log" 2>&1 &
  PIDS+=($!)
  MITM_URL=""
  for _ in $(seq 1 50); do
    MITM_URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$WORK/mitm-$1.log" | head -n1 || true)
    [ -n "$MITM_URL" ] && break
    sleep 0.1
  done
  [ -n "$MITM_URL" ] || { cat "$WORK/mitm-$1.log"; echo "mitm.mjs ($1) did not start"; exit 1; }
}
start_mitm key
MITM_KEY=$MITM_URL
start_mitm leaf
MITM_LEAF=$MITM_URL
echo "dishonest servers: $MITM_KEY (key), $MITM_LEAF (leaf)"

# Each role's tool signs with its own key; tally, publish and export need none.
REGISTRAR=("$VOX" authority --server "$URL" --key "$WORK/keys/registrar.key")
OFFICE=("$VOX" authority --server "$URL" --key "$WORK/keys/petitions-office.key")
ELECTION=("$VOX" authority --server "$URL" --key "$WORK/keys/election-authority.key")
PUBLIC=("$VOX" authority --server "$URL")

say "Registrar: open electorate district for enrolment by code (letters)"
"${REGISTRAR[@]}" electorate open --id district --name "District of Vox" \
  --codes 4:north --codes 3:south --letters "$WORK/letters.csv" --public-url "$PAGES"
# The letters' codes by region (CSV: region,code,electorate,instructions; plain regions).
mapfile -t NORTH < <(awk -F, 'NR > 1 && $1 == "north" { print $2 }' "$WORK/letters.csv")
mapfile -t SOUTH < <(awk -F, 'NR > 1 && $1 == "south" { print $2 }' "$WORK/letters.csv")
[ "${#NORTH[@]}" = 4 ] && [ "${#SOUTH[@]}" = 3 ] || { cat "$WORK/letters.csv"; echo "unexpected letters file"; exit 1; }

say "Browser: enrol with a code (district), the same code again, an in-person request (town)"
mkdir -p "$TARGET_DIR/web-screenshots" "$WORK/requests"
# The browser uses the first north letter; the CLI citizens the next ones.
VOX_URL="$PAGES" VOX_PHASE=enrol VOX_LETTERS="$WORK/letters.csv" VOX_CODE_ELECTORATE=district \
  VOX_CODE_REGION=north VOX_WRONG_REGION=south VOX_ELECTORATE=town VOX_REGION=north \
  VOX_ENROL_CODE_CREDENTIAL_OUT="$WORK/browser-code-credential.txt" \
  VOX_ENROL_CREDENTIAL_OUT="$WORK/browser-credential.txt" VOX_ENROL_REQUEST_OUT="$WORK/requests/browser.json" \
  VOX_SCREENSHOTS="$TARGET_DIR/web-screenshots" node tests/web/citizen.mjs
chmod 600 "$WORK/browser-credential.txt" "$WORK/browser-code-credential.txt"

say "Electorate, petition, referendum"
# Six citizens make their credentials on their own devices; the registrar gets requests only.
mkdir -p "$WORK/devices" "$WORK/requests"
for i in 1 2 3 4 5 6; do
  region=north; [ $((i % 2)) = 0 ] && region=south
  "$VOX" voter keygen --electorate town --region "$region" --out "$WORK/devices/voter-000$i.txt" \
    --request-out "$WORK/requests/voter-000$i.json" > /dev/null
done
"${REGISTRAR[@]}" electorate create --requests "$WORK/requests" --out "$WORK/electorate" --id town --name "Town of Vox"
# The browser-made request (requests/browser.json) is among them: its key is listed.
BROWSER_KEY=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).credential)' "$WORK/requests/browser.json")
grep -q "\"$BROWSER_KEY\"" "$WORK/electorate/electorate.json" || { echo "the browser-made request is not on the electorate"; exit 1; }
CRED=("$WORK"/devices/voter-000*)
"$VOX" voter --server "$URL" propose --credential "${CRED[0]}" --id cycle-lane \
  --action "Build a protected cycle lane on the high street" \
  --background "Cycling on the high street is dangerous; a protected lane would make it safe for children." \
  --sponsors 2 --response-threshold 3 --referendum-threshold 6 --days 30 --response-days 14 --region-min-group 1 \
  --public-signatures   # the browser signs it below, and the web client does not ring-sign yet (issue 12)
"$VOX" voter --server "$URL" sign cycle-lane --receipt-out "$WORK/signature-receipt-212.json" --credential "${CRED[5]}"   # a sponsor
# The election authority's standing trustee panel: a publication fixes the referendum its
# threshold obliges, which these trustees would run (07 §7.9).
for i in 1 2 3; do "$VOX" trustee keygen --out "$WORK/trustee$i.key" --name "Trustee $i" >/dev/null; done
"${ELECTION[@]}" panel --trustee "$WORK/trustee1.key.pub" --trustee "$WORK/trustee2.key.pub" \
  --trustee "$WORK/trustee3.key.pub" --threshold 2
"${OFFICE[@]}" petition moderate cycle-lane --publish --open-for 30d
"$VOX" voter --server "$URL" sign cycle-lane --receipt-out "$WORK/signature-receipt-219.json" --credential "${CRED[2]}"
# The credential drawn in the browser (enrol.html, in-person flow) works with the CLI:
# its request was registered, so it is on "town" and its signature is accepted.
"$VOX" voter --server "$URL" sign cycle-lane --receipt-out "$WORK/signature-receipt-222.json" --credential "$WORK/browser-credential.txt"

# A citizen proposes a petition in the browser (propose.html: signed in wasm with the
# credential file, which names the electorate); then the same path as a CLI proposal: a
# sponsor signs with the CLI, the petitions office moderates and publishes it.
say "Browser: propose a petition (town); a sponsor (CLI); the office moderates it"
VOX_URL="$PAGES" VOX_PHASE=propose VOX_PROPOSE_ID=trees VOX_ELECTORATE=town VOX_CREDENTIAL_FILE="${CRED[3]}" \
  VOX_SCREENSHOTS="$TARGET_DIR/web-screenshots" node tests/web/citizen.mjs
"$VOX" voter --server "$URL" sign trees --receipt-out "$WORK/signature-receipt-230.json" --credential "${CRED[4]}"   # a sponsor
"${OFFICE[@]}" petition moderate trees --publish --open-for 30d
curl -fsS "$URL/api/v1/petitions/trees" > "$WORK/trees.json"
node - "$WORK/trees.json" <<'JS'
const d = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
if (d.stage !== 'open' || d.count !== 2) { console.error(`trees: stage ${d.stage}, ${d.count} signatures (expected open, 2)`); process.exit(1); }
console.log(`the browser's proposal "trees" was sponsored and published: stage ${d.stage}, ${d.count} signatures`);
JS

# District: two more citizens enrol with their letters' codes through the CLI (beside the
# one enrolled in the browser); the registrar freezes the list; the referendum uses it.
"$VOX" voter --server "$URL" enrol --electorate district --code "${NORTH[1]}" --region north --out "$WORK/devices/district-1.txt"
"$VOX" voter --server "$URL" enrol --electorate district --code "${SOUTH[0]}" --region south --out "$WORK/devices/district-2.txt"
# The browser's code was spent: the CLI is refused it too.
if "$VOX" voter --server "$URL" enrol --electorate district --code "${NORTH[0]}" --region north \
  --out "$WORK/devices/district-reuse.txt" > "$WORK/reuse.log" 2>&1; then
  cat "$WORK/reuse.log"; echo "a spent code was accepted"; exit 1
fi
"${REGISTRAR[@]}" electorate freeze --id district
curl -fsS "$URL/api/v1/electorates/district" > "$WORK/district.json"
node - "$WORK/district.json" <<'JS'
const d = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const n = d.electorate.entries.length;
if (d.state !== 'frozen' || n !== 3) { console.error(`district: state ${d.state}, ${n} credentials (expected frozen, 3)`); process.exit(1); }
console.log(`district frozen with ${n} credentials, hash ${d.electorate_hash}`);
JS
# The citizen who enrolled in the browser checks the enrolment from the file alone.
"$VOX" voter --server "$URL" check-enrolment --credential "$WORK/browser-code-credential.txt"
# After the freeze the page refuses an unused code with the "enrolment closed" sentence.
VOX_URL="$PAGES" VOX_PHASE=enrol-closed VOX_CODE_ELECTORATE=district VOX_CODE_REGION=north VOX_CODE="${NORTH[2]}" \
  VOX_SCREENSHOTS="$TARGET_DIR/web-screenshots" node tests/web/citizen.mjs

cp "$WORK/district.json" "$WORK/electorate-published.json"
node - "$WORK" > "$WORK/manifest.json" <<'JS'
const fs = require('fs');
const work = process.argv[2];
const el = JSON.parse(fs.readFileSync(work + '/electorate-published.json', 'utf8'));
const trustees = [1, 2, 3].map((i) => {
  const p = JSON.parse(fs.readFileSync(`${work}/trustee${i}.key.pub`, 'utf8'));
  return { index: i, name: p.name || `Trustee ${i}`, signing_key: p.signing_key, communication_key: p.communication_key };
});
const now = Date.now();
console.log(JSON.stringify({
  version: 5, referendum_id: 'town-2026', title: 'Town consultation 2026',
  description: 'An advisory referendum on the high street and the town budget.',
  questions: [
    { id: 'lane', text: 'Should the town build a protected cycle lane on the high street?', options: ['yes', 'no'], kind: { type: 'yes-no' } },
    { id: 'design', text: 'Which design do you prefer?', options: ['Painted lane', 'Kerb-separated lane', 'Shared street'], kind: { type: 'choose-one', blank_allowed: true } },
    { id: 'budget', text: 'Which projects should get money (one or two)?', options: ['Library', 'Parks', 'Bus shelters'], kind: { type: 'approve', min: 1, max: 2 } },
    { id: 'score', text: 'Rate each proposal from 0 to 5', options: ['Night buses', 'Market square'], kind: { type: 'score', max: 5 } },
  ],
  // Voting closes on schedule (nothing closes early): long enough for the browser phases.
  opens_at: now + 45 * 1000, closes_at: now + 400 * 1000,
  electorate_hash: el.electorate_hash, trustees, threshold: 2,
  answer_due_ms: 24 * 3600 * 1000, decryption_due_ms: 24 * 3600 * 1000,
}));
JS
"${ELECTION[@]}" referendum create --manifest "$WORK/manifest.json"
# An anonymous-participation referendum on "district" too (04 §4.10): one yes-no
# question, the same trustees and times; the browser votes in it (phase anon) with the
# credential it enrolled by code, and its record is verified at the end.
node - "$WORK" > "$WORK/manifest-anon.json" <<'JS'
const fs = require('fs');
const m = JSON.parse(fs.readFileSync(process.argv[2] + '/manifest.json', 'utf8'));
m.referendum_id = 'anon-2026';
m.title = 'Anonymous consultation 2026';
m.description = 'An advisory referendum with anonymous participation: the board shows that someone in a ring voted, never who.';
m.questions = [m.questions[0]];
m.participation = 'anonymous';
console.log(JSON.stringify(m));
JS
"${ELECTION[@]}" referendum create --manifest "$WORK/manifest-anon.json"
CEREMONY=()
for i in 1 2 3; do
  "$VOX" trustee ceremony --server "$URL" --referendum town-2026 --key "$WORK/trustee$i.key" \
    --state "$WORK/trustee$i.state" --wait --timeout 300 > "$WORK/ceremony$i.log" 2>&1 &
  CEREMONY+=($!)
  "$VOX" trustee ceremony --server "$URL" --referendum anon-2026 --key "$WORK/trustee$i.key" \
    --state "$WORK/trustee$i-anon.state" --wait --timeout 300 > "$WORK/ceremony-anon$i.log" 2>&1 &
  CEREMONY+=($!)
done
for p in "${CEREMONY[@]}"; do
  if ! wait "$p"; then cat "$WORK"/ceremony*.log; echo "key ceremony failed"; exit 1; fi
done
"${PUBLIC[@]}" referendum wait town-2026 --until open --timeout 120
# The two citizens enrolled by code with the CLI vote with it, so that the result is not
# a single ballot.
"$VOX" vote --server "$URL" town-2026 --credential "$WORK/devices/district-1.txt" --receipt-out "$WORK/cli-receipt-1.json" \
  --choice lane=yes --choice design=2 --choice budget=1,3 --choice score=4,2
"$VOX" vote --server "$URL" town-2026 --credential "$WORK/devices/district-2.txt" --receipt-out "$WORK/cli-receipt-2.json" \
  --choice lane=no --choice design= --choice budget=2 --choice score=1,5
"$VOX" voter --server "$URL" check-receipt "$WORK/cli-receipt-2.json"

# A ring-signed petition (the CLI's default, 07 §7.10), signed once with the CLI and
# then in the browser (phase ring, below); three sponsors, so that it still takes
# signatures (stage proposed) when the browser signs it again and is refused.
"$VOX" voter --server "$URL" propose --credential "${CRED[0]}" --id ring-trees \
  --action "Plant trees along the canal" --background "Shade for walkers." \
  --sponsors 3 --response-threshold 3 --referendum-threshold 6 --region-min-group 1
"$VOX" voter --server "$URL" sign ring-trees --receipt-out "$WORK/signature-receipt-329.json" --credential "${CRED[0]}"

say "Browser: sign (town), audit, vote with the credential enrolled by code in the browser (district), check the receipt"
export VOX_URL="$PAGES" VOX_PETITION=cycle-lane VOX_REFERENDUM=town-2026 VOX_RING_PETITION=ring-trees
VOX_PHASE=vote VOX_CREDENTIAL_FILE="${CRED[1]}" VOX_VOTE_CREDENTIAL_FILE="$WORK/browser-code-credential.txt" \
  VOX_RECEIPT_OUT="$WORK/browser-first-receipt.json" VOX_REVOTE_RECEIPT_OUT="$WORK/browser-receipt.json" \
  VOX_MITM_KEY_URL="$MITM_KEY" VOX_MITM_LEAF_URL="$MITM_LEAF" \
  VOX_SCREENSHOTS="$TARGET_DIR/web-screenshots" node tests/web/citizen.mjs
# The browser re-voted: its last ballot is counted; its first one is superseded by a
# ballot this (CLI) device did not cast, an alarm here (04 §4.8, D8).
"$VOX" voter --server "$URL" check-receipt "$WORK/browser-receipt.json"
if "$VOX" voter --server "$URL" check-receipt "$WORK/browser-first-receipt.json" 2> "$WORK/alarm.txt"; then
  echo "the CLI accepted a receipt superseded by a ballot it did not cast" >&2; exit 1
fi
grep -q "superseded by a ballot this device did not cast" "$WORK/alarm.txt"

# A citizen votes in the anonymous referendum in the browser (issue 12 §3, 04 §4.10):
# the device check, then the worker fetches vox_ring.wasm, checks the board against its
# signed tree head, derives the referendum's rings, looks up the tag's latest ballot,
# encrypts and ring-signs; audit, cast, receipt, re-vote; a credential of "town" is in no
# ring of it.
say "Browser: vote in the anonymous referendum anon-2026 (district)"
"${PUBLIC[@]}" referendum wait anon-2026 --until open --timeout 120
VOX_PHASE=anon VOX_ANON_REFERENDUM=anon-2026 VOX_VOTE_CREDENTIAL_FILE="$WORK/browser-code-credential.txt" \
  VOX_OTHER_CREDENTIAL_FILE="${CRED[1]}" VOX_ANON_RECEIPT_OUT="$WORK/browser-anon-first-receipt.json" \
  VOX_ANON_REVOTE_RECEIPT_OUT="$WORK/browser-anon-receipt.json" \
  VOX_SCREENSHOTS="$TARGET_DIR/web-screenshots" node tests/web/citizen.mjs
# The CLI votes in it too (another ring member), deriving the rings on its own.
"$VOX" vote --server "$URL" anon-2026 --credential "$WORK/devices/district-1.txt" \
  --receipt-out "$WORK/cli-anon-receipt.json" --choice lane=no
"$VOX" voter --server "$URL" check-receipt "$WORK/browser-anon-receipt.json"

# A citizen signs the ring-signed petition in the browser (issue 12 §3): the worker
# fetches vox_ring.wasm, checks the board against its signed tree head under the pinned
# key, derives the rings, proves and posts; signing again is refused (same tag); a
# credential of another electorate (district) is in none of the rings. The page offers
# the receipt; check.html checks it (R1–R6, vox_receipt.wasm), and so does the CLI.
say "Browser: ring-sign petition ring-trees"
VOX_PHASE=ring VOX_CREDENTIAL_FILE="${CRED[1]}" VOX_OTHER_CREDENTIAL_FILE="$WORK/browser-code-credential.txt" \
  VOX_SIGNATURE_RECEIPT_OUT="$WORK/browser-signature-receipt.json" \
  VOX_SCREENSHOTS="$TARGET_DIR/web-screenshots" node tests/web/citizen.mjs
# The receipt the page saved is the CLI's format: vox voter check-receipt runs R1–R6 on it.
"$VOX" voter --server "$URL" check-receipt "$WORK/browser-signature-receipt.json"
# The CLI, deriving the rings on its own, sees the browser's signature on the board.
curl -fsS "$URL/api/v1/petitions/ring-trees" > "$WORK/ring-trees.json"
node - "$WORK/ring-trees.json" <<'JS'
const d = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
if (d.count !== 2) { console.error(`ring-trees: ${d.count} signatures (expected 2: the CLI's and the browser's)`); process.exit(1); }
console.log(`ring-trees: ${d.count} signatures (stage ${d.stage})`);
JS

# Benchmark only (VOX_WEB_BENCH=1; not in CI): a referendum with one choose-one question
# of 10 options on "district"; the browser encrypts and proves a ballot with the
# credential it enrolled, VOX_BENCH_RUNS times (default 5), and prints the time the
# worker took (BENCHMARKS.md "Web bundle and responsiveness").
if [ "${VOX_WEB_BENCH:-0}" = 1 ]; then
  say "Benchmark: encrypt and prove a 1-of-10 ballot in the browser"
  node - "$WORK" > "$WORK/manifest-ten.json" <<'JS'
const fs = require('fs');
const work = process.argv[2];
const m = JSON.parse(fs.readFileSync(work + '/manifest.json', 'utf8'));
m.referendum_id = 'ten-2026';
m.title = 'Benchmark: one of ten';
m.questions = [{ id: 'ten', text: 'Which of these ten projects first?',
  options: Array.from({ length: 10 }, (_, i) => 'Project ' + (i + 1)), kind: { type: 'choose-one', blank_allowed: false } }];
console.log(JSON.stringify(m));
JS
  "${ELECTION[@]}" referendum create --manifest "$WORK/manifest-ten.json"
  CEREMONY=()
  for i in 1 2 3; do
    "$VOX" trustee ceremony --server "$URL" --referendum ten-2026 --key "$WORK/trustee$i.key" \
      --state "$WORK/trustee$i-ten.state" --wait --timeout 300 > "$WORK/ceremony-ten$i.log" 2>&1 &
    CEREMONY+=($!)
  done
  for p in "${CEREMONY[@]}"; do
    if ! wait "$p"; then cat "$WORK"/ceremony-ten*.log; echo "key ceremony (ten-2026) failed"; exit 1; fi
  done
  "${PUBLIC[@]}" referendum wait ten-2026 --until open --timeout 120
  uptime
  VOX_PHASE=bench-encrypt VOX_REFERENDUM=ten-2026 VOX_VOTE_CREDENTIAL_FILE="$WORK/browser-code-credential.txt" \
    VOX_SCREENSHOTS="$TARGET_DIR/web-screenshots" node tests/web/citizen.mjs
fi

say "Close, tally, decrypt (2 of 3), publish"
# The board closes and tallies at closes_at by itself, and publishes once two shares are in.
"${PUBLIC[@]}" referendum wait town-2026 --until tallied --timeout 600
for i in 1 2; do
  "$VOX" trustee decrypt --server "$URL" --referendum town-2026 --key "$WORK/trustee$i.key" --state "$WORK/trustee$i.state"
done
"${PUBLIC[@]}" referendum wait town-2026 --until published --timeout 120

# The anonymous referendum: tallied at the same time; two trustees decrypt.
"${PUBLIC[@]}" referendum wait anon-2026 --until tallied --timeout 600
for i in 1 2; do
  "$VOX" trustee decrypt --server "$URL" --referendum anon-2026 --key "$WORK/trustee$i.key" --state "$WORK/trustee$i-anon.state"
done
"${PUBLIC[@]}" referendum wait anon-2026 --until published --timeout 120

say "Browser: results"
VOX_PHASE=results VOX_SCREENSHOTS="$TARGET_DIR/web-screenshots" node tests/web/citizen.mjs

say "Verifier"
"${PUBLIC[@]}" export --referendum town-2026 --out "$WORK/record"
"$VERIFY" "$WORK/record" --receipt "$WORK/browser-receipt.json" --referendum town-2026 \
  --board-key "$(cat "$WORK/keys-operator.pub")" \
  --role-key "registrar=$(cat "$WORK/keys-registrar.pub")" \
  --role-key "petitions-office=$(cat "$WORK/keys-petitions-office.pub")" \
  --role-key "election-authority=$(cat "$WORK/keys-election-authority.pub")"
# The anonymous referendum's record, with the browser's ring-signed ballots in it.
"${PUBLIC[@]}" export --referendum anon-2026 --out "$WORK/record-anon"
"$VERIFY" "$WORK/record-anon" --receipt "$WORK/browser-anon-receipt.json" --referendum anon-2026 \
  --board-key "$(cat "$WORK/keys-operator.pub")" \
  --role-key "registrar=$(cat "$WORK/keys-registrar.pub")" \
  --role-key "petitions-office=$(cat "$WORK/keys-petitions-office.pub")" \
  --role-key "election-authority=$(cat "$WORK/keys-election-authority.pub")"

say "OK: screenshots in $TARGET_DIR/web-screenshots"
