// Results: per-question SVG bar charts, turnout, the record and the vox-verify command.
'use strict';
(async () => {
  const { el, t, api, fmtDate, fmtNum } = Vox;
  await Vox.init();
  const id = Vox.param('id');
  const $ = (x) => document.getElementById(x);
  let detail = null;
  let result = null;
  let electorateSize = null;

  const SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function chart(q, counts, qi) {
    const labelW = 150;
    const barW = 300;
    const rowH = 30;
    const max = Math.max(1, ...counts);
    const total = counts.reduce((a, b) => a + b, 0);
    const h = rowH * counts.length + 10;
    const titleId = 'chart-title-' + qi;
    const s = svg('svg', { class: 'chart', viewBox: '0 0 ' + (labelW + barW + 120) + ' ' + h, role: 'img', 'aria-labelledby': titleId });
    s.append(svg('title', { id: titleId }, q.text + ': ' + q.options.map((o, i) => o + ' ' + counts[i]).join(', ')));
    counts.forEach((c, i) => {
      const y = 5 + i * rowH;
      const w = Math.round(barW * c / max);
      s.append(svg('text', { x: labelW - 8, y: y + 19, 'text-anchor': 'end' }, q.options[i].length > 22 ? q.options[i].slice(0, 21) + '…' : q.options[i]));
      s.append(svg('rect', { class: 'bar', x: labelW, y: y + 4, width: Math.max(w, 1), height: rowH - 10, rx: 2 }));
      const pct = total ? ' (' + (100 * c / total).toFixed(1) + '%)' : '';
      s.append(svg('text', { x: labelW + w + 6, y: y + 19 }, fmtNum(c) + pct));
    });
    return s;
  }

  function render() {
    if (!detail) return;
    const m = detail.manifest;
    $('title').textContent = t('results.heading', { title: m.title });
    document.title = m.title + ' · vox';
    const counted = result ? result.counted_ballots : detail.counted_ballots;
    const facts = [
      [t('ref.state'), t('state.' + detail.state)],
      [t('ref.window'), t('index.window', { from: fmtDate(m.opens_at), to: fmtDate(m.closes_at) })],
      [t('ref.ballots'), fmtNum(detail.ballots_cast)],
      [t('results.counted'), counted === undefined || counted === null ? '—' : fmtNum(counted)],
      [t('results.turnout'), electorateSize && counted !== undefined && counted !== null ? t('results.turnout_value', { n: fmtNum(counted), of: fmtNum(electorateSize), pct: (100 * counted / electorateSize).toFixed(1) }) : '—'],
      [t('results.audited'), fmtNum(detail.audited_ballots || 0)],
      [t('ref.manifest_hash'), el('span', { class: 'mono', text: detail.manifest_hash })],
    ];
    if (result) {
      const data = '/api/v1/referendums/' + encodeURIComponent(id) + '/result';
      facts.push([t('data.heading'), el('span', {},
        el('a', { href: data + '.csv', download: '', text: t('data.result_csv') }), ' · ',
        el('a', { href: data + '.json', text: t('data.result_json') }))]);
    }
    $('facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]));
    $('summary').hidden = false;
    const box = $('results');
    if (!result) {
      box.replaceChildren(el('p', { class: 'status warn', text: t('results.none', { state: t('state.' + detail.state) }) }));
    } else {
      box.replaceChildren(...m.questions.map((q, qi) => {
        const counts = result.counts[qi] || [];
        const table = el('table', {},
          el('caption', { class: 'visually-hidden', text: q.text }),
          el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: t('results.option') }), el('th', { scope: 'col', class: 'num', text: q.kind.type === 'score' ? t('results.points') : t('results.votes') }))),
          el('tbody', {}, ...q.options.map((o, i) => el('tr', {}, el('th', { scope: 'row', text: o }), el('td', { class: 'num', text: fmtNum(counts[i] || 0) })))));
        return el('section', { class: 'panel', 'aria-labelledby': 'q-' + qi }, el('h2', { id: 'q-' + qi, text: q.text }), chart(q, counts, qi), table,
          el('p', { class: 'meta', text: t('results.trustees', { list: result.trustees.join(', ') }) }));
      }));
    }
    const origin = location.origin;
    $('verify-command').textContent = 'vox-verify --server ' + origin + ' --referendum ' + id + ' --out ./record-' + id;
    $('record-link').href = '/api/v1/record?referendum=' + encodeURIComponent(id);
    $('verify-box').hidden = false;
  }

  // ---- Verify in this browser: the vox-verifier (wasm) on the public record ----
  // The worker (js/vox-worker.js) downloads the header, the tree heads and the entries
  // (pages of ≤ 1000) and verifies them off the main thread; this page only shows its
  // progress and the report, and stays responsive meanwhile.
  let lastReport = null;

  let lastProgress = null;
  function setProgress(phase, n, total, offset) {
    lastProgress = [phase, n, total, offset];
    $('verify-progress-box').hidden = false;
    $('verify-phase').textContent = t(phase, { n: fmtNum(n), total: fmtNum(total) });
    const bar = $('verify-progress');
    bar.max = Math.max(1, 2 * total);
    bar.value = offset + n;
  }

  // The verifier's report in the page's language. What vox-verifier reports as
  // structured data is translated here: the step (by its id V1…V15 → verify.step.*),
  // the status, the unit and count of what was checked, the number of faults, and where
  // a fault is (the location's kind and fields → verify.where.*). Its sentences (the
  // notes of a step, a fault's message, a reason for NOT-CHECKED) are free text that
  // interpolates values, and a finding does not carry the number of the rule it breaks
  // (protocol-spec/10-verifier.md V1.1…): translating them would mean copying the
  // verifier's format strings here, where they would drift from the code that checks.
  // So each is shown verbatim, marked lang="en" (screen readers pronounce it as
  // English), after a sentence in the page's language that says what the step found;
  // nothing is ever shown in a translation that could say something the verifier did
  // not. Missing keys fall back to the verifier's English.
  function tr(key, fallback, vars) {
    const s = t(key, vars);
    return s === key ? fallback : s;
  }

  function english(text) {
    if (Vox.lang === 'en') return el('span', { text });
    return el('span', {}, t('verify.original') + ' ', el('span', { lang: 'en', text }));
  }

  function renderReport(report) {
    lastReport = report;
    const kind = { pass: 'ok', fail: 'error', partial: 'warn' }[report.verdict] || 'warn';
    Vox.status('verify-status', t('verify.verdict.' + report.verdict), kind);
    const rows = report.steps.map((s) => {
      const unit = tr('verify.unit.' + s.unit, s.unit);
      const details = [];
      const lead = s.status === 'pass' ? t('verify.msg.pass', { n: fmtNum(s.checked), unit })
        : s.status === 'fail' ? t('verify.msg.fail', { n: fmtNum(s.failures_total) })
          : t('verify.msg.not_checked', { n: fmtNum((s.not_checked || []).length) });
      details.push(el('div', { class: 'verify-msg', text: lead }));
      if (s.detail) details.push(el('div', {}, english(s.detail)));
      const faults = (s.failures || []).map((f) => el('li', {}, describeFailure(f)));
      if (s.failures_total > faults.length) faults.push(el('li', { text: t('verify.failures_more', { n: fmtNum(s.failures_total - faults.length) }) }));
      if (faults.length) details.push(el('ul', {}, faults));
      return el('tr', { 'data-step': s.id, 'data-status': s.status },
        el('th', { scope: 'row', text: s.id }),
        el('td', { text: tr('verify.step.' + s.id, s.title) }),
        el('td', {}, el('span', { class: 'step-status ' + s.status, text: t('verify.status.' + s.status) })),
        el('td', { class: 'num', text: fmtNum(s.checked) + ' ' + unit }),
        el('td', { class: 'detail' }, details));
    });
    $('verify-steps').querySelector('tbody').replaceChildren(...rows);
    $('verify-steps').hidden = false;
  }

  // "Where: message": the place in the page's language, the verifier's message as is.
  function describeFailure(f) {
    const loc = f.location || {};
    const fields = Object.entries(loc).filter(([k, v]) => k !== 'kind' && v !== null)
      .map(([k, v]) => { const label = tr('verify.field.' + k, k); return label ? label + ' ' + v : String(v); });
    const where = [loc.kind ? tr('verify.where.' + loc.kind, loc.kind) : null].concat(fields).filter(Boolean).join(', ');
    return el('span', {}, where ? where + ' : '.slice(Vox.lang === 'fr' ? 0 : 1) : '', english(f.message));
  }

  async function verifyInBrowser() {
    const button = $('verify-run');
    button.disabled = true;
    $('verify-steps').hidden = true;
    Vox.status('verify-status', t('verify.running'), '');
    try {
      const report = await Vox.verifyRecord(id, (p) => setProgress(p.phase, p.n, p.total, p.offset));
      renderReport(report);
      $('verify-progress').value = $('verify-progress').max;
    } catch (e) {
      Vox.status('verify-status', t('verify.error') + ' ' + e.message, 'error');
    } finally {
      button.disabled = false;
    }
  }

  $('verify-run').addEventListener('click', verifyInBrowser);
  Vox.onLang(() => {
    if (lastProgress) $('verify-phase').textContent = t(lastProgress[0], { n: fmtNum(lastProgress[1]), total: fmtNum(lastProgress[2]) });
    if (lastReport) renderReport(lastReport);
  });

  Vox.onLang(render);
  try {
    if (!id) throw new Error(t('error.no_id'));
    detail = await api('/referendums/' + encodeURIComponent(id));
    result = detail.result || null;
    if (!result && (detail.state === 'published')) {
      try { result = await api('/referendums/' + encodeURIComponent(id) + '/result'); } catch (_) { result = null; }
    }
    try { electorateSize = (await api('/electorates/' + detail.manifest.electorate_hash)).electorate.entries.length; } catch (_) { electorateSize = null; }
    render();
  } catch (e) {
    Vox.status('load-status', t('error.load') + ' ' + e.message, 'error');
  }
})();
