element.addEventListener('click', async (event) => {
  const button = event.target.closest('[data-fz-open]');
  if (!button || !element.contains(button)) return;
  event.preventDefault();
  window.fzViewer.loading();
  try {
    window.fzViewer.show(await server.open_report(button.dataset.fzOpen));
  } catch (err) {
    window.fzViewer.show('<p class="fz-error">全文载入失败，请重试。</p>');
  }
});
