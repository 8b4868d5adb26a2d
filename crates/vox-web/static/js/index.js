// Index: open petitions (counts, progress to thresholds, deadlines, responses) and referendums.
'use strict';
(async () => {
  const { el, t, api, fmtDate, fmtNum } = Vox;
  await Vox.init();
  let petitions = [];
  let referendums = [];
  const electorates = new Map();

  async function electorateSize(hash) {
    if (!electorates.has(hash)) {
      electorates.set(hash, api('/electorates/' + hash).then((e) => e.electorate.entries.length).catch(() => null));
    }
    return electorates.get(hash);
  }

  function bar(id, label, value, max) {
    const pid = 'p-' + id;
    return el('div', { class: 'progress' },
      el('label', { for: pid, text: label }),
      el('progress', { id: pid, max: String(max), value: String(Math.min(value, max)) }),
      el('span', { class: 'meta', text: t('index.of_threshold', { n: fmtNum(value), max: fmtNum(max) }) }));
  }

  function petitionCard(p) {
    const stage = p.stage;
    const card = el('li', { class: 'card' },
      el('h3', {}, el('a', { href: 'petition.html?id=' + encodeURIComponent(p.id), text: p.action })),
      el('p', {}, el('span', { class: 'badge ' + stage, text: t('stage.' + stage) }), ' ',
        p.response_overdue ? el('span', { class: 'badge overdue', text: t('petition.overdue') }) : null),
      el('p', { class: 'meta', text: t('index.signatures', { n: fmtNum(p.count) }) }),
      bar(p.id + '-resp', t('index.to_response'), p.count, p.thresholds.response),
      bar(p.id + '-ref', t('index.to_referendum'), p.count, p.thresholds.referendum),
      p.closes_at ? el('p', { class: 'meta', text: t('index.closes', { date: fmtDate(p.closes_at) }) }) : null,
      p.response_due_by ? el('p', { class: 'meta', text: t('index.response_due', { date: fmtDate(p.response_due_by) }) }) : null,
      p.referendum_id ? el('p', { class: 'meta' }, el('a', { href: 'referendum.html?id=' + encodeURIComponent(p.referendum_id), text: t('index.triggered') })) : null);
    return card;
  }

  function referendumCard(r) {
    const turnout = el('p', { class: 'meta', text: t('index.ballots', { n: fmtNum(r.ballots_cast) }) });
    const done = r.state === 'tallied' || r.state === 'published' || r.state === 'closed';
    const card = el('li', { class: 'card' },
      el('h3', {}, el('a', { href: (done ? 'results.html' : 'referendum.html') + '?id=' + encodeURIComponent(r.id), text: r.title })),
      el('p', {}, el('span', { class: 'badge ' + r.state, text: t('state.' + r.state) })),
      el('p', { class: 'meta', text: t('index.window', { from: fmtDate(r.opens_at), to: fmtDate(r.closes_at) }) }),
      turnout,
      r.state === 'open' ? el('p', {}, el('a', { class: 'button', href: 'referendum.html?id=' + encodeURIComponent(r.id), text: t('index.vote') })) : null,
      done ? el('p', {}, el('a', { href: 'results.html?id=' + encodeURIComponent(r.id), text: t('index.results') })) : null,
      r.source_petition ? el('p', { class: 'meta' }, el('a', { href: 'petition.html?id=' + encodeURIComponent(r.source_petition), text: t('index.from_petition') })) : null);
    // Turnout needs the electorate size (from the referendum's manifest).
    api('/referendums/' + encodeURIComponent(r.id)).then((d) => electorateSize(d.manifest.electorate_hash)).then((n) => {
      if (n) turnout.textContent = t('index.turnout', { n: fmtNum(r.ballots_cast), of: fmtNum(n), pct: (100 * r.ballots_cast / n).toFixed(1) });
    }).catch(() => {});
    return card;
  }

  function render() {
    const pl = document.getElementById('petitions');
    const rl = document.getElementById('referendums');
    pl.replaceChildren(...petitions.filter((p) => p.stage !== 'rejected').map(petitionCard));
    rl.replaceChildren(...referendums.map(referendumCard));
    document.getElementById('no-petitions').hidden = petitions.length > 0;
    document.getElementById('no-referendums').hidden = referendums.length > 0;
  }

  try {
    [petitions, referendums] = await Promise.all([api('/petitions'), api('/referendums')]);
    render();
    Vox.onLang(render);
  } catch (e) {
    Vox.status('load-status', t('error.load') + ' ' + e.message, 'error');
  }
})();
