import { el } from './dom.js';

/**
 * Shows a new secret once. It lives in this dialog's text only: when the dialog closes the
 * element is removed, so it is in no URL, no storage and no DOM afterwards.
 * Resolves when the dialog is closed.
 */
export function showSecretOnce(title, apiKey, secret) {
  return new Promise((resolve) => {
    const status = el('span', { class: 'hint', role: 'status' });
    const code = el('code', { class: 'secret', 'data-secret': '' }, secret);
    secret = null;
    const copy = async () => {
      try {
        await navigator.clipboard.writeText(code.textContent);
        status.textContent = 'Copied.';
      } catch {
        // Clipboard refused (not a secure context, or no permission): select it for Ctrl+C.
        const range = document.createRange();
        range.selectNodeContents(code);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        status.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
      }
    };
    const dialog = el('dialog', { class: 'secret-dialog', 'aria-labelledby': 'secret-title' },
      el('h2', { id: 'secret-title' }, title),
      el('p', {}, `${apiKey.name} (${apiKey.kind}, ${apiKey.scope}) — ${apiKey.token_hint}`),
      el('p', { class: 'warning' }, 'Copy this secret now: you will not see it again. Latchkey keeps only a digest of it.'),
      code,
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'primary', onclick: copy }, 'Copy'),
        status,
        el('button', { type: 'button', class: 'close', onclick: () => dialog.close() }, 'I have copied it — close')));
    dialog.addEventListener('close', () => {
      code.textContent = '';
      dialog.remove();
      resolve();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
