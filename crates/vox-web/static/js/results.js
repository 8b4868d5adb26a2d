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
