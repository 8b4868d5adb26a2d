#!/usr/bin/env bash
# End-to-end browser test of the citizens' pages:
#  1. headless Chromium (Debian package; skipped if /usr/bin/chromium exists) and the
#     Node test's dependencies (npm ci: playwright-core only, no browser download);
#  2. the web bundle (scripts/build-web.sh), `vox` and `vox-verify`;
#  3. the four roles' key files (`vox keys new`) and the log's genesis signed by all of
#     them (`vox genesis new`); a throw-away `vox serve --genesis … --operator-key …` on
#     127.0.0.1 (free port) and, through the `vox` CLI with each role's own key
#     (`vox authority --key …`), an electorate, an open petition and an open referendum
#     (four question kinds, three trustees, threshold 2, key ceremony over HTTP);
#  4. tests/web/citizen.mjs: a citizen makes a credential in the browser (enrol.html, in
#     English and French; nothing is sent), the registrar registers its enrolment
#     request with the others, and the CLI votes with that browser-made credential file;
#     a citizen signs, votes (audits one ballot, casts a fresh
#     one) and checks the receipt in the browser; then the election authority closes,
#     the tally is computed, two trustees decrypt, the result is published and the
#     results page is checked;
#  5. the record is exported and checked by `vox-verify`, with the browser's receipt and
#     the parties' public keys pinned.
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
if [ "$PROFILE" = release ]; then
  cargo build --release -p vox-cli --bin vox
  cargo build --release -p vox-verifier --bin vox-verify
else
  cargo build -p vox-cli --bin vox
  cargo build -p vox-verifier --bin vox-verify
fi
VOX="$TARGET_DIR/$PROFILE/vox"
VERIFY="$TARGET_DIR/$PROFILE/vox-verify"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vox-web-test.XXXXXX")
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

say "Browser: make a credential (enrol.html; the request goes to the registrar)"
mkdir -p "$TARGET_DIR/web-screenshots" "$WORK/requests"
VOX_URL="$PAGES" VOX_PHASE=enrol VOX_ELECTORATE=town VOX_REGION=north \
  VOX_ENROL_CREDENTIAL_OUT="$WORK/browser-credential.txt" VOX_ENROL_REQUEST_OUT="$WORK/requests/browser.json" \
  VOX_SCREENSHOTS="$TARGET_DIR/web-screenshots" node tests/web/citizen.mjs
chmod 600 "$WORK/browser-credential.txt"

# Each role's tool signs with its own key; tally, publish and export need none.
REGISTRAR=("$VOX" authority --server "$URL" --key "$WORK/keys/registrar.key")
OFFICE=("$VOX" authority --server "$URL" --key "$WORK/keys/petitions-office.key")
ELECTION=("$VOX" authority --server "$URL" --key "$WORK/keys/election-authority.key")
PUBLIC=("$VOX" authority --server "$URL")

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
  --sponsors 2 --response-threshold 3 --referendum-threshold 5 --days 30 --response-days 14 --region-min-group 1
"$VOX" voter --server "$URL" sign cycle-lane --credential "${CRED[5]}"   # a sponsor
"${OFFICE[@]}" petition moderate cycle-lane --publish --open-for 30d
"$VOX" voter --server "$URL" sign cycle-lane --credential "${CRED[2]}"

for i in 1 2 3; do "$VOX" trustee keygen --out "$WORK/trustee$i.key" --name "Trustee $i" >/dev/null; done
curl -fsS "$URL/api/v1/electorates/town" > "$WORK/electorate-published.json"
node - "$WORK" > "$WORK/manifest.json" <<'JS'
const fs = require('fs');
const work = process.argv[2];
const el = JSON.parse(fs.readFileSync(work + '/electorate-published.json', 'utf8'));
const trustees = [1, 2, 3].map((i) => {
  const p = JSON.parse(fs.readFileSync(`${work}/trustee${i}.key.pub`, 'utf8'));
  return { index: i, name: p.name || `Trustee ${i}`, public_key: p.public_key };
});
const now = Date.now();
console.log(JSON.stringify({
  version: 2, referendum_id: 'town-2026', title: 'Town consultation 2026',
  description: 'An advisory referendum on the high street and the town budget.',
  questions: [
    { id: 'lane', text: 'Should the town build a protected cycle lane on the high street?', options: ['yes', 'no'], kind: { type: 'yes-no' } },
    { id: 'design', text: 'Which design do you prefer?', options: ['Painted lane', 'Kerb-separated lane', 'Shared street'], kind: { type: 'choose-one', blank_allowed: true } },
    { id: 'budget', text: 'Which projects should get money (one or two)?', options: ['Library', 'Parks', 'Bus shelters'], kind: { type: 'approve', min: 1, max: 2 } },
    { id: 'score', text: 'Rate each proposal from 0 to 5', options: ['Night buses', 'Market square'], kind: { type: 'score', max: 5 } },
  ],
  opens_at: now, closes_at: now + 7 * 24 * 3600 * 1000,
  electorate_hash: el.electorate_hash, trustees, threshold: 2,
}));
JS
"${ELECTION[@]}" referendum create --manifest "$WORK/manifest.json"
CEREMONY=()
for i in 1 2 3; do
  "$VOX" trustee ceremony --server "$URL" --referendum town-2026 --key "$WORK/trustee$i.key" \
    --state "$WORK/trustee$i.state" --wait --timeout 300 > "$WORK/ceremony$i.log" 2>&1 &
  CEREMONY+=($!)
done
for p in "${CEREMONY[@]}"; do
  if ! wait "$p"; then cat "$WORK"/ceremony*.log; echo "key ceremony failed"; exit 1; fi
done
"${ELECTION[@]}" referendum open town-2026
# Two citizens vote with the CLI so that the result is not a single ballot.
"$VOX" vote --server "$URL" town-2026 --credential "${CRED[3]}" --receipt-out "$WORK/cli-receipt-1.json" \
  --choice lane=yes --choice design=2 --choice budget=1,3 --choice score=4,2
"$VOX" vote --server "$URL" town-2026 --credential "${CRED[4]}" --receipt-out "$WORK/cli-receipt-2.json" \
  --choice lane=no --choice design= --choice budget=2 --choice score=1,5
# The credential drawn in the browser (enrol.html) works with the CLI: it is on the
# electorate (its request was registered) and its ballot is accepted and receipted.
"$VOX" vote --server "$URL" town-2026 --credential "$WORK/browser-credential.txt" --receipt-out "$WORK/cli-receipt-browser.json" \
  --choice lane=yes --choice design=1 --choice budget=3 --choice score=2,3
"$VOX" voter --server "$URL" check-receipt "$WORK/cli-receipt-browser.json"

say "Browser: sign, audit, vote, check the receipt"
export VOX_URL="$PAGES" VOX_PETITION=cycle-lane VOX_REFERENDUM=town-2026
VOX_PHASE=vote VOX_CREDENTIAL_FILE="${CRED[1]}" VOX_RECEIPT_OUT="$WORK/browser-receipt.json" \
  VOX_SCREENSHOTS="$TARGET_DIR/web-screenshots" node tests/web/citizen.mjs
"$VOX" voter --server "$URL" check-receipt "$WORK/browser-receipt.json"

say "Close, tally, decrypt (2 of 3), publish"
"${ELECTION[@]}" referendum close town-2026
"${PUBLIC[@]}" referendum tally town-2026
for i in 1 2; do
  "$VOX" trustee decrypt --server "$URL" --referendum town-2026 --key "$WORK/trustee$i.key" --state "$WORK/trustee$i.state"
done
"${PUBLIC[@]}" referendum publish town-2026

say "Browser: results"
VOX_PHASE=results VOX_SCREENSHOTS="$TARGET_DIR/web-screenshots" node tests/web/citizen.mjs

say "Verifier"
"${PUBLIC[@]}" export --referendum town-2026 --out "$WORK/record"
"$VERIFY" "$WORK/record" --receipt "$WORK/browser-receipt.json" --referendum town-2026 \
  --board-key "$(cat "$WORK/keys-operator.pub")" \
  --role-key "registrar=$(cat "$WORK/keys-registrar.pub")" \
  --role-key "petitions-office=$(cat "$WORK/keys-petitions-office.pub")" \
  --role-key "election-authority=$(cat "$WORK/keys-election-authority.pub")"

say "OK: screenshots in $TARGET_DIR/web-screenshots"
