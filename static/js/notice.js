// Short messages to the user in one polite live region (#notice): saved,
// deleted, failed to load… They fade after a few seconds.

/** How long a message stays, in milliseconds. */
const SHOW_MS = 6000;

let timer = null;

/** Shows text; kind is "info" (default) or "error". */
export function notify(text, kind = 'info') {
  const box = document.getElementById('notice');
  if (!box) return;
  box.textContent = String(text);
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(timer);
  timer = setTimeout(() => {
    box.hidden = true;
  }, kind === 'error' ? SHOW_MS * 2 : SHOW_MS);
}
