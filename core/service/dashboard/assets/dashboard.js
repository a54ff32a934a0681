// The dashboard's few behaviours: action buttons post JSON to the service's API (same origin, so the
// session cookie goes along; JSON so no other site could send it), the login form, select-all and
// "retry selected", and the run chart (uPlot, served by the service). No framework, no build.
function flash(text, bad) {
  const box = document.getElementById('flash');
  if (!box) return;
  box.textContent = text;
  box.className = bad ? 'bad' : 'ok';
}

async function post(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await response.text();
  let answer = {};
  try {
    answer = text ? JSON.parse(text) : {};
  } catch {}
  if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
  return answer;
}

function describe(answer) {
  if (typeof answer.rows === 'number')
    return answer.rows === 0 ? 'No row matched; nothing was run.' : `${answer.rows} row(s) released; run ${answer.outcome}.`;
  if (answer.outcome) return `Run ${answer.outcome}.`;
  if (answer.state) return `${answer.sync}: ${answer.state}.`;
  return 'Done.';
}

async function act(button, url, body) {
  if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
  button.disabled = true;
  try {
    const answer = await post(url, body);
    flash(describe(answer), false);
    document.body.dataset.lastAction = JSON.stringify(answer);
    setTimeout(() => window.location.reload(), 600);
  } catch (error) {
    flash(error.message, true);
    button.disabled = false;
  }
}

document.addEventListener('click', (event) => {
  const button = event.target.closest('button');
  if (!button) return;
  if (button.dataset.url) act(button, button.dataset.url, JSON.parse(button.dataset.body || '{}'));
  else if (button.hasAttribute('data-retry-selected')) {
    const chosen = [...document.querySelectorAll('input.row-select:checked')];
    if (chosen.length === 0) return flash('Select rows first.', true);
    const bySync = new Map();
    for (const box of chosen) bySync.set(box.dataset.sync, [...(bySync.get(box.dataset.sync) || []), box.value]);
    if (bySync.size > 1) return flash('Select rows of one sync at a time.', true);
    const [[sync, keys]] = bySync;
    act(button, `/api/syncs/${encodeURIComponent(sync)}/retry`, { keys });
  }
});

document.addEventListener('change', (event) => {
  if (event.target.id === 'select-all') for (const box of document.querySelectorAll('input.row-select')) box.checked = event.target.checked;
});

document.addEventListener('submit', async (event) => {
  if (event.target.id !== 'login') return;
  event.preventDefault();
  try {
    await post('/login', { token: event.target.token.value });
    window.location.href = '/';
  } catch (error) {
    flash(error.message, true);
  }
});

function drawChart() {
  const box = document.getElementById('run-chart');
  const data = document.getElementById('run-data');
  if (!box || !data || typeof uPlot === 'undefined') return;
  const runs = JSON.parse(data.textContent);
  if (runs.length === 0) return;
  const series = [
    runs.map((r) => r.t),
    runs.map((r) => r.succeeded),
    runs.map((r) => r.failed),
    runs.map((r) => r.invalid),
    runs.map((r) => r.duration_s),
  ];
  const options = {
    width: Math.min(box.clientWidth || 900, 1100),
    height: 260,
    scales: { x: { time: true }, s: {} },
    series: [
      {},
      { label: 'succeeded', stroke: '#2e7d32', width: 2 },
      { label: 'failed', stroke: '#c62828', width: 2 },
      { label: 'invalid', stroke: '#ef6c00', width: 2 },
      { label: 'duration (s)', stroke: '#1565c0', dash: [5, 5], scale: 's' },
    ],
    axes: [{}, { label: 'rows' }, { side: 1, scale: 's', label: 'seconds', grid: { show: false } }],
  };
  new uPlot(options, series, box);
  box.dataset.drawn = String(runs.length);
}

document.addEventListener('DOMContentLoaded', drawChart);
