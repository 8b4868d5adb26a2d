// A citizen in headless Debian Chromium: browse, sign a petition, vote (audit one ballot,
// then cast a fresh one), check the receipt; screenshots under target/web-screenshots/.
//
// Phase "enrol": make a credential on enrol.html in English and in French (the citizen's
// device draws it; the page must send nothing), check both downloads, and save the
// English one for the registrar and the CLI (VOX_ENROL_CREDENTIAL_OUT, _REQUEST_OUT).
//
// Env: VOX_URL (pages + API, required), VOX_CREDENTIAL_FILE (a voter credential file),
// VOX_PETITION, VOX_REFERENDUM (ids), VOX_PHASE = "vote" (default), "results" or "enrol",
// VOX_SCREENSHOTS (dir, default ../../target/web-screenshots), VOX_RECEIPT_OUT (where
// to save the downloaded receipt), CHROMIUM (default /usr/bin/chromium); for "enrol":
// VOX_ELECTORATE (id, default "town"), VOX_REGION (default "north"),
// VOX_ENROL_CREDENTIAL_OUT and VOX_ENROL_REQUEST_OUT (where to save the English
// credential file and enrolment request).
// Starts no server: the caller (scripts/test-web.sh) does.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = (process.env.VOX_URL || '').replace(/\/$/, '');
if (!BASE) { console.error('VOX_URL is required'); process.exit(2); }
const SHOTS = process.env.VOX_SCREENSHOTS || path.join(here, '..', '..', 'target', 'web-screenshots');
const PHASE = process.env.VOX_PHASE || 'vote';
const PETITION = process.env.VOX_PETITION;
const REFERENDUM = process.env.VOX_REFERENDUM;
fs.mkdirSync(SHOTS, { recursive: true });

let failures = 0;
function check(cond, what) {
  if (cond) console.log('  ok  ' + what);
  else { failures += 1; console.log('  FAIL ' + what); }
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vox-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  acceptDownloads: true,
  viewport: { width: 1100, height: 900 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] || await context.newPage();
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));
page.setDefaultTimeout(30000);

async function shot(name, opts) {
  const file = path.join(SHOTS, name + '.png');
  await page.screenshot(Object.assign({ path: file, fullPage: true }, opts || {}));
  console.log('  screenshot ' + file);
}
async function statusText(id) { return (await page.locator('#' + id).textContent()) || ''; }

try {
  if (PHASE === 'vote') {
    const credential = fs.readFileSync(process.env.VOX_CREDENTIAL_FILE, 'utf8');

    console.log('index');
    await page.goto(BASE + '/index.html');
    await page.waitForSelector('#petitions li');
    await page.waitForSelector('#referendums li');
    check(await page.locator('#petitions li').count() >= 1, 'index lists petitions');
    check(await page.locator('#referendums li').count() >= 1, 'index lists referendums');
    await page.waitForTimeout(300);
    await shot('01-index-en');
    await page.selectOption('#lang', 'fr');
    await page.waitForFunction(() => document.documentElement.lang === 'fr');
    check((await page.locator('h1').textContent()).includes('Pétitions'), 'French translation applies');
    await shot('02-index-fr');
    await page.selectOption('#lang', 'en');
    await page.waitForFunction(() => document.documentElement.lang === 'en');

    console.log('petition');
    await page.goto(BASE + '/petition.html?id=' + encodeURIComponent(PETITION));
    await page.waitForSelector('#sign-form:not([hidden])');
    const before = Number((await page.locator('#p-index\\.to_referendum').getAttribute('value')) || 0);
    // Load the credential from a file, as a citizen with a downloaded letter would.
    const credFile = path.join(profile, 'my-credential.txt');
    fs.writeFileSync(credFile, credential);
    await page.setInputFiles('#credential-file', credFile);
    let apiBodies = [];
    page.on('request', (r) => { if (r.method() === 'POST') apiBodies.push(r.postData() || ''); });
    await page.click('#sign-button');
    await page.waitForSelector('#confirmation:not([hidden])');
    check((await statusText('sign-status')).includes('recorded'), 'signature confirmed: ' + await statusText('sign-status'));
    const after = Number((await page.locator('#p-index\\.to_referendum').getAttribute('value')) || 0);
    check(after === before + 1, `count went from ${before} to ${after}`);
    const credText = credential.trim().match(/[0-9A-Z]{5}(-[0-9A-Z]{5}){4}/);
    check(credText && apiBodies.every((b) => !b.includes(credText[0]) && !b.replace(/-/g, '').includes(credText[0].replace(/-/g, ''))), 'the credential was never sent to the server');
    await shot('03-petition-signed');

    console.log('referendum');
    await page.goto(BASE + '/referendum.html?id=' + encodeURIComponent(REFERENDUM));
    await page.waitForSelector('#vote-form:not([hidden])');
    await shot('04-referendum-ballot');
    // Answer every question with the keyboard-accessible controls.
    const qs = await page.evaluate(() => Array.from(document.querySelectorAll('#questions fieldset')).map((f) => f.id));
    for (const fs_ of qs) {
      const radios = page.locator('#' + fs_ + ' input[type=radio]');
      const boxes = page.locator('#' + fs_ + ' input[type=checkbox]');
      const selects = page.locator('#' + fs_ + ' select');
      const numbers = page.locator('#' + fs_ + ' input[type=number]');
      if (await radios.count()) await radios.first().check();
      if (await boxes.count()) await boxes.first().check();
      for (let i = 0; i < await selects.count(); i++) await selects.nth(i).selectOption(String(Math.min(i + 1, 3)));
      for (let i = 0; i < await numbers.count(); i++) await numbers.nth(i).fill('1');
    }
    await page.fill('#credential', credential.trim().match(/[0-9A-Za-z]{5}(-?[0-9A-Za-z]{5}){4}/)[0].toLowerCase());
    await page.click('#encrypt-button');
    await page.waitForSelector('#prepared:not([hidden])');
    const code1 = (await page.locator('#tracking-code').textContent()).trim();
    check(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/.test(code1), 'tracking code shown: ' + code1);
    console.log('  ' + await statusText('vote-status'));
    await shot('05-referendum-encrypted');

    // Benaloh audit of this ballot, then a fresh encryption.
    await page.click('#audit-button');
    await page.waitForSelector('#audit-result:not([hidden])');
    await page.waitForFunction((c) => document.getElementById('tracking-code').textContent.trim() !== c, code1);
    const summary = await page.locator('#audit-summary').textContent();
    check(summary.includes(code1) && summary.includes('checked'), 'audit: ' + summary);
    const code2 = (await page.locator('#tracking-code').textContent()).trim();
    check(code2 !== code1, 'fresh ballot after the audit: ' + code2);
    await shot('06-referendum-audited');

    await page.click('#cast-button');
    await page.waitForSelector('#receipt-box:not([hidden])');
    check((await page.locator('#receipt-code').textContent()).trim() === code2, 'cast ballot is the fresh one');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-receipt')]);
    const receiptFile = process.env.VOX_RECEIPT_OUT || path.join(SHOTS, 'receipt.json');
    await download.saveAs(receiptFile);
    const receipt = JSON.parse(fs.readFileSync(receiptFile, 'utf8'));
    check(receipt.tracking_code === code2, 'receipt downloaded: ' + receiptFile);
    await shot('07-referendum-cast');

    console.log('check my ballot');
    await page.goto(BASE + '/check.html');
    await page.setInputFiles('#receipt-file', receiptFile);
    await page.click('#check-button');
    await page.waitForSelector('#check-result:not([hidden])');
    check((await statusText('check-status')).includes('on the public board'), 'receipt checks out: ' + await statusText('check-status'));
    const checks = await page.locator('#check-list li').allTextContents();
    check(checks.some((c) => c.includes('current board')), 'checked against the current signed tree head (' + checks.length + ' checks)');
    await shot('08-check-receipt');
    // A tampered receipt is refused.
    const bad = Object.assign({}, receipt, { leaf_index: receipt.leaf_index + 1 });
    await page.fill('#receipt-text', JSON.stringify(bad));
    await page.click('#check-button');
    await page.waitForFunction(() => document.getElementById('check-status').className.includes('error'));
    check((await statusText('check-status')).includes('FAILED'), 'tampered receipt refused: ' + await statusText('check-status'));

    // Phone-sized rendering of the ballot page.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(BASE + '/referendum.html?id=' + encodeURIComponent(REFERENDUM));
    await page.waitForSelector('#vote-form:not([hidden])');
    await shot('09-referendum-phone');
    // Keyboard: the first question's first control is reachable with Tab.
    await page.keyboard.press('Tab');
    check(await page.evaluate(() => document.activeElement && document.activeElement.classList.contains('skip')), 'skip link is the first Tab stop');
  } else if (PHASE === 'enrol') {
    const ELECTORATE = process.env.VOX_ELECTORATE || 'town';
    const REGION = process.env.VOX_REGION || 'north';
    const HEADINGS = { en: 'Make my credential', fr: 'Créer mon identifiant de vote' };
    // Every request the pages make from here on: URL, method, body.
    const requests = [];
    page.on('request', (r) => {
      let from = '';
      try { from = r.frame().url(); } catch (_) { from = ''; }
      requests.push({ url: r.url(), method: r.method(), body: r.postData() || '', from });
    });
    const made = [];

    console.log('enrol: the index links to the page');
    await page.goto(BASE + '/index.html', { waitUntil: 'networkidle' });
    const link = page.locator('nav a[href="enrol.html"]');
    check(await link.count() === 1, 'index navigation links to enrol.html');
    const start = requests.length;
    await Promise.all([page.waitForURL(/enrol\.html/), link.click()]);
    check(/enrol\.html$/.test(page.url()), 'the link opens enrol.html');

    for (const lang of ['en', 'fr']) {
      console.log('enrol (' + lang + ')');
      await page.goto(BASE + '/enrol.html?electorate=' + encodeURIComponent(ELECTORATE));
      await page.selectOption('#lang', lang);
      await page.waitForFunction((l) => document.documentElement.lang === l, lang);
      await page.waitForFunction((h) => document.querySelector('h1').textContent === h, HEADINGS[lang]);
      check((await page.locator('h1').textContent()) === HEADINGS[lang], lang + ': heading "' + HEADINGS[lang] + '"');
      check((await page.title()).startsWith(HEADINGS[lang]), lang + ': page title');
      check(await page.inputValue('#electorate') === ELECTORATE, lang + ': electorate prefilled from ?electorate=');
      // Accessible names: every field has its label; the result region is live.
      check(await page.locator('label[for=electorate]').count() === 1 && await page.locator('label[for=region]').count() === 1, lang + ': fields labelled');
      check(await page.getAttribute('#enrol-status', 'aria-live') === 'polite', lang + ': status is aria-live');
      // No electorate: an error, and nothing is drawn.
      await page.fill('#electorate', '');
      await page.click('#make-button');
      await page.waitForSelector('#enrol-status.error');
      check(await page.locator('#result').isHidden(), lang + ': no credential without an electorate');
      check(await page.evaluate(() => document.activeElement && document.activeElement.id === 'electorate'), lang + ': focus back on the electorate field');
      await page.fill('#electorate', ELECTORATE);
      await page.fill('#region', lang === 'en' ? REGION : '');
      // Keyboard: Tab from the electorate field reaches the region, then the button.
      await page.focus('#electorate');
      await page.keyboard.press('Tab');
      check(await page.evaluate(() => document.activeElement.id) === 'region', lang + ': Tab order electorate → region');
      await page.keyboard.press('Tab');
      check(await page.evaluate(() => document.activeElement.id) === 'make-button', lang + ': Tab order region → button');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#result:not([hidden])');
      await page.waitForSelector('#enrol-status.ok');
      const cred = ((await page.locator('#credential-text').textContent()) || '').trim();
      check(/^[0-9A-Z]{5}(-[0-9A-Z]{5}){4}$/.test(cred), lang + ': credential shown: ' + cred.slice(0, 5) + '-…');
      check(await page.evaluate(() => document.activeElement && document.activeElement.id === 'result'), lang + ': focus moved to the result');
      const pub = ((await page.locator('#public-key').textContent()) || '').trim();
      check(/^[0-9a-f]{64}$/.test(pub), lang + ': public key shown');
      await shot('00-enrol-' + lang);

      const [credDl] = await Promise.all([page.waitForEvent('download'), page.click('#download-credential')]);
      const credFile = path.join(profile, 'credential-' + lang + '.txt');
      await credDl.saveAs(credFile);
      const fileText = fs.readFileSync(credFile, 'utf8');
      check(credDl.suggestedFilename() === 'vox-credential-' + ELECTORATE + '.txt', lang + ': credential file name ' + credDl.suggestedFilename());
      const credLine = fileText.split('\n').map((l) => l.trim()).find((l) => l.startsWith('credential:'));
      const parsed = credLine && credLine.slice('credential:'.length).trim();
      check(parsed === cred && /^[0-9A-Z]{5}(-[0-9A-Z]{5}){4}$/.test(parsed), lang + ': the file\'s credential: line holds the credential shown');
      check(fileText.split('\n')[0].startsWith('# ') && fileText.includes('electorate: ' + ELECTORATE + '\n'), lang + ': file has the comment and electorate lines');
      check(lang === 'en' ? fileText.includes('region: ' + REGION + '\n') : !fileText.includes('region:'), lang + ': region line ' + (lang === 'en' ? 'present' : 'absent'));

      const [reqDl] = await Promise.all([page.waitForEvent('download'), page.click('#download-request')]);
      const reqFile = path.join(profile, 'request-' + lang + '.json');
      await reqDl.saveAs(reqFile);
      const reqText = fs.readFileSync(reqFile, 'utf8');
      const request = JSON.parse(reqText);
      check(request.credential === pub && request.electorate_id === ELECTORATE && request.signature && request.signature.t && request.signature.z, lang + ': request JSON holds the public key and a signature');
      check(lang === 'en' ? request.region === REGION : request.region === undefined, lang + ': request region');
      const bare = cred.replace(/-/g, '');
      const up = reqText.toUpperCase();
      check(!up.includes(cred) && !up.includes(bare), lang + ': the request does NOT hold the secret');
      made.push({ lang, cred, credFile, reqFile });

      // "Hide" wipes it from the page.
      await page.click('#forget-button');
      await page.waitForSelector('#result', { state: 'hidden' });
      const bodyText = (await page.evaluate(() => document.body.innerText)).toUpperCase();
      check(!bodyText.includes(cred) && !bodyText.includes(bare), lang + ': hidden: the credential is gone from the page');
    }
    check(made.length === 2 && made[0].cred !== made[1].cred, 'two different credentials drawn');

    // Nothing sent: no API call, no POST, and no URL or body holds a credential.
    // (Late requests of the index page itself, if any, are not the enrolment page's.)
    const mine = requests.slice(start).filter((r) => !/\/index\.html/.test(r.from));
    const leaks = requests.filter((r) => made.some(({ cred }) => {
      const hay = (r.url + '\n' + r.body).toUpperCase();
      const hayDecoded = (() => { try { return decodeURIComponent(hay); } catch (_) { return hay; } })();
      return [hay, hayDecoded].some((h) => h.includes(cred) || h.includes(cred.replace(/-/g, '')));
    }));
    check(leaks.length === 0, 'no request URL or body holds a credential (' + requests.length + ' requests recorded)' + (leaks.length ? ': ' + leaks.map((r) => r.url).join(' ') : ''));
    const sent = mine.filter((r) => r.method !== 'GET' || r.body || new URL(r.url, BASE).pathname.startsWith('/api/'));
    check(sent.length === 0, 'the page sent nothing to the server (only GETs of its own files)' + (sent.length ? ': ' + sent.map((r) => r.method + ' ' + r.url).join(' ') : ''));

    const en = made.find((m) => m.lang === 'en');
    if (process.env.VOX_ENROL_CREDENTIAL_OUT) fs.copyFileSync(en.credFile, process.env.VOX_ENROL_CREDENTIAL_OUT);
    if (process.env.VOX_ENROL_REQUEST_OUT) fs.copyFileSync(en.reqFile, process.env.VOX_ENROL_REQUEST_OUT);
  } else if (PHASE === 'results') {
    console.log('results');
    await page.goto(BASE + '/results.html?id=' + encodeURIComponent(REFERENDUM));
    await page.waitForSelector('svg.chart');
    check(await page.locator('svg.chart').count() >= 1, 'result bar chart(s) drawn');
    check((await page.locator('#verify-command').textContent()).startsWith('vox-verify'), 'vox-verify command shown');
    await shot('10-results');
    console.log('verify in the browser');
    await page.click('#verify-run');
    await page.waitForSelector('#verify-steps:not([hidden]) tbody tr', { timeout: 120000 });
    const steps = await page.$$eval('#verify-steps tbody tr', (rows) => rows.map((r) => [r.dataset.step, r.dataset.status]));
    check(steps.length === 14 && steps.every(([s], i) => s === 'V' + (i + 1)), 'verifier steps V1..V14 listed: ' + steps.map(([s]) => s).join(' '));
    // V14 (receipts) needs a receipt file: NOT-CHECKED in the page, like vox-verify without --receipt.
    const bad = steps.filter(([s, st]) => st !== 'pass' && !(s === 'V14' && st === 'not-checked'));
    check(bad.length === 0, 'every step PASS in the browser' + (bad.length ? ': ' + bad.map((x) => x.join('=')).join(', ') : ''));
    check(await page.locator('#verify-status.ok').count() === 1, 'verdict shown as a pass');
    check(await page.$eval('#verify-progress', (p) => p.value === p.max), 'progress bar full');
    await page.locator('#verify-box').scrollIntoViewIfNeeded();
    await shot('12-verify-in-browser');
    await page.goto(BASE + '/index.html');
    await page.waitForSelector('#referendums li');
    await shot('11-index-after-results');
  }
  check(consoleErrors.length === 0, 'no console errors' + (consoleErrors.length ? ': ' + consoleErrors.join(' | ') : ''));
} catch (e) {
  failures += 1;
  console.log('  FAIL ' + (e && e.stack || e));
  try { await shot('zz-failure-' + PHASE); } catch (_) { /* ignore */ }
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
console.log(failures ? `${failures} check(s) failed` : 'all browser checks passed');
process.exit(failures ? 1 : 0);
