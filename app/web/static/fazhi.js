(() => {
  if (window.fzViewer) return;
  const overlay = () => {
    let o = document.getElementById('fz-viewer');
    if (o) return o;
    o = document.createElement('div');
    o.id = 'fz-viewer';
    o.className = 'fz-overlay';
    o.hidden = true;
    o.innerHTML = '<div class="fz-dialog" role="dialog" aria-modal="true" aria-label="报告全文">'
      + '<div class="fz-dialog-bar"><span>报告全文</span>'
      + '<button type="button" class="fz-close">关闭 ✕</button></div>'
      + '<div class="fz-dialog-body"></div></div>';
    o.addEventListener('click', (e) => {
      if (e.target === o || e.target.closest('.fz-close')) hide();
    });
    document.body.appendChild(o);
    return o;
  };
  const hide = () => {
    const o = document.getElementById('fz-viewer');
    if (o) o.hidden = true;
    document.body.classList.remove('fz-noscroll');
  };
  const show = (markup) => {
    const o = overlay();
    const body = o.querySelector('.fz-dialog-body');
    body.innerHTML = markup;
    // the bar names the report (its header's title), read as text: never markup
    const title = body.querySelector('.fz-report > header h3');
    o.querySelector('.fz-dialog-bar span').textContent =
      title ? `报告全文 · ${title.textContent}` : '报告全文';
    o.hidden = false;
    document.body.classList.add('fz-noscroll');
    const target = body.querySelector('mark.fz-cited');
    if (target) requestAnimationFrame(() => target.scrollIntoView({ block: 'center' }));
    o.querySelector('.fz-close').focus({ preventScroll: true });
  };
  window.fzViewer = { show, hide, loading: () => show('<p class="fz-empty">正在载入全文…</p>') };
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape') hide(); });
  document.addEventListener('click', (e) => {
    const link = e.target.closest && e.target.closest('a[href^="#fz-"]');
    if (!link) return;
    const target = document.getElementById(decodeURIComponent(link.getAttribute('href').slice(1)));
    e.preventDefault();
    e.stopPropagation();
    if (!target) return;
    const details = target.closest('details');
    if (details) details.open = true;
    target.scrollIntoView({ behavior: 'smooth', block: 'center' });
    target.classList.remove('fz-flash');
    void target.offsetWidth;
    target.classList.add('fz-flash');
  }, true);
})();
