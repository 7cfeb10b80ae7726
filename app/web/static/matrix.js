// The 对比 matrix: sort by any column (click its header), only the rows that mention a topic,
// rows grouped by county with each group's count of townships listing a topic as a problem.
// The sort is kept on the table, so a new matrix starts in its own order.
const fzKey = (row, col) => {
  const cell = row.children[col];
  return cell.dataset.k !== undefined ? Number(cell.dataset.k) : cell.textContent.trim();
};
const fzArrange = (table) => {
  const root = table.closest('.fz-matrix');
  const body = table.tBodies[0];
  body.querySelectorAll('tr.fz-group-row').forEach((r) => r.remove());
  const rows = Array.from(body.rows);
  const only = root.querySelector('.fz-only-mentions')?.checked;
  const grouped = root.querySelector('.fz-by-county')?.checked;
  const col = table.dataset.col === undefined ? null : Number(table.dataset.col);
  const dir = Number(table.dataset.dir || 1);
  const collator = new Intl.Collator('zh-CN');
  const order = (a, b) => Number(a.dataset.order) - Number(b.dataset.order);
  const compare = (a, b) => {
    if (col === null) return order(a, b);
    const x = fzKey(a, col);
    const y = fzKey(b, col);
    const c = typeof x === 'number' ? x - y : collator.compare(x, y);
    return c * dir || order(a, b);
  };
  const byCounty = (a, b) => (grouped ? collator.compare(a.dataset.county, b.dataset.county) : 0);
  rows.sort((a, b) => byCounty(a, b) || compare(a, b));
  const width = table.tHead.rows[0].cells.length;
  let current = null;
  for (const row of rows) {
    row.hidden = Boolean(only) && row.dataset.mentions !== '1';
    if (grouped && row.dataset.county !== current) {
      current = row.dataset.county;
      const members = rows.filter((r) => r.dataset.county === current && !r.hidden);
      const head = document.createElement('tr');
      head.className = 'fz-group-row';
      head.hidden = members.length === 0;
      const name = document.createElement('th');
      name.colSpan = 3;
      name.textContent = `${current}（${members.length} 个乡镇）`;
      head.appendChild(name);
      for (let i = 3; i < width; i += 1) {
        const td = document.createElement('td');
        const n = members.filter((r) => r.children[i].dataset.p === '1').length;
        td.textContent = n ? `问题 ${n}` : '';
        head.appendChild(td);
      }
      body.appendChild(head);
    }
    body.appendChild(row);
  }
  table.tHead.querySelectorAll('.fz-sort').forEach((b) => {
    const active = col !== null && Number(b.dataset.col) === col;
    const sort = dir > 0 ? 'ascending' : 'descending';
    b.closest('th').setAttribute('aria-sort', active ? sort : 'none');
  });
};
element.addEventListener('click', (event) => {
  const button = event.target.closest('button.fz-sort');
  if (!button || !element.contains(button)) return;
  const table = button.closest('table');
  const col = button.dataset.col;
  // topics: most mentioned first; township, county and year: A→Z, oldest first
  const first = Number(col) >= 3 ? -1 : 1;
  table.dataset.dir = table.dataset.col === col ? String(-Number(table.dataset.dir)) : String(first);
  table.dataset.col = col;
  fzArrange(table);
});
element.addEventListener('change', (event) => {
  if (!event.target.matches('.fz-only-mentions, .fz-by-county')) return;
  const table = event.target.closest('.fz-matrix').querySelector('table');
  if (table) fzArrange(table);
});
